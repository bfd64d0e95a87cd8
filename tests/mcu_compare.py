#!/usr/bin/python3
"""Compare examples/mcu/firmware.c's output on a target with the host build's output of the same
run (make test-mcu writes both). Greedy tokens must be identical; every logit printed (after the
prompt and after the last step) must agree within TOL. Exits 1 on any difference or a missing line.

usage: mcu_compare.py HOST_OUTPUT TARGET_OUTPUT NAME [NAME_OUTPUT ...]"""
import sys

TOL = 1e-4


def parse(path):
    lines = {}
    with open(path, errors="replace") as f:
        for line in f:
            key, sep, rest = line.partition(":")
            if sep and key in ("prompt", "tokens", "logits_prefill", "logits_last", "sizes"):
                lines[key] = rest.split()
    missing = [k for k in ("prompt", "tokens", "logits_prefill", "logits_last") if k not in lines]
    if missing:
        sys.exit(f"mcu_compare: {path}: no {', '.join(missing)} line (did the program crash?)")
    return lines


def main():
    if len(sys.argv) < 4 or len(sys.argv) % 2:
        sys.exit(__doc__)
    host = parse(sys.argv[1])
    if not host["tokens"] or not host["logits_last"]:
        sys.exit("mcu_compare: the host output has no tokens or logits")
    ok = True
    for path, name in zip(sys.argv[2::2], sys.argv[3::2]):
        t = parse(path)
        same_tokens = t["prompt"] == host["prompt"] and t["tokens"] == host["tokens"]
        diff = 0.0
        for key in ("logits_prefill", "logits_last"):
            a, b = [float(x) for x in host[key]], [float(x) for x in t[key]]
            if len(a) != len(b):
                print(f"{name}: {key} has {len(b)} values, the host's {len(a)}")
                ok = False
                continue
            diff = max([diff] + [abs(x - y) for x, y in zip(a, b)])
        good = same_tokens and diff <= TOL
        ok = ok and good
        print(f"{name:5s} tokens {' '.join(t['tokens'])} {'==' if same_tokens else '!='} host; "
              f"max |logit - host| {diff:.3g} (limit {TOL:g})  {'ok' if good else 'FAIL'}"
              + (f"   [{' '.join(t.get('sizes', []))}]" if "sizes" in t else ""))
        if not same_tokens:
            print(f"      host  {' '.join(host['tokens'])}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
