"""make parity-long: 1,000 training steps of a small GPT-2 in C (ckgen --train + examples/train.c)
and in PyTorch (oracle/train.py, float64) on the same batches; prints the loss curve every 50
steps and fails if any step's losses differ by more than 1e-3 relative (naming the first).

usage: /usr/bin/python3 tests/parity_long.py [--steps N]"""
import argparse
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from oracle import train as TR  # noqa: E402

B_DIR = os.path.join(REPO, "build")
DATA = os.path.join(REPO, "examples", "demo", "tinyshakespeare.txt")


def run(args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"parity-long: {' '.join(map(str, args))} failed:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    a = ap.parse_args()
    B, T, lr = 4, 32, 1e-3
    work = os.path.join(B_DIR, "parity-long")
    os.makedirs(work, exist_ok=True)
    gguf = os.path.join(work, "gpt2.gguf")
    run([os.path.join(B_DIR, "mkmodel"), "gpt2", gguf, "--vocab", "256", "--embd", "64", "--layers", "2", "--heads", "4", "--ff", "256", "--ctx", "64", "--seed", "3"])
    run([os.path.join(B_DIR, "ck"), "build", gguf, "-o", work, "--train", f"{B}x{T}"])
    args = ["--lr", lr, "--warmup", 50, "--wd", 0.1, "--clip", 1.0, "--steps", a.steps]
    out = run([os.path.join(work, "train"), "--init", gguf, "--data", DATA, "--out", os.path.join(work, "out"), "-b", B, "-t", T] + args).stdout
    c = [float(x) for x in re.findall(r"^step \d+/\d+ \| loss ([-+0-9.eE]+)", out, re.M)]
    tokens = TR.read_tokens(DATA)
    tokens = tokens[:len(tokens) - len(tokens) // 10]
    ref = TR.Trainer(gguf, lr=lr, steps=a.steps, warmup=50, wd=0.1, clip=1.0)
    print(f"{'step':>6} {'C loss':>10} {'torch loss':>11} {'rel diff':>9}")
    worst, first = 0.0, None
    for s in range(a.steps):
        r = ref.step(s, tokens, B, T)[0]
        rel = abs(c[s] - r) / abs(r)
        worst = max(worst, rel)
        if rel > 1e-3 and first is None:
            first = (s + 1, c[s], r, rel)
        if (s + 1) % 50 == 0 or s == 0:
            print(f"{s + 1:>6} {c[s]:>10.6f} {r:>11.6f} {rel:>9.1e}", flush=True)
    print(f"max relative loss difference over {a.steps} steps: {worst:.2e} (limit 1e-3)")
    if first:
        sys.exit(f"parity-long: first divergence at step {first[0]}: C {first[1]:.6f} vs torch {first[2]:.6f} (rel {first[3]:.2e})")


if __name__ == "__main__":
    main()
