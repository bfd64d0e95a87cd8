"""make bench-train: ms per step, tokens/s and model FLOPs utilisation of the generated trainer,
for a GPT-2 124M-shaped model at B=4, T=64 and for the demo config (examples/demo/config.json)
at B=16, T=256, against the measured FMA peak (build/bench_kernels --peak-only). Printed, not
asserted. FLOPs per token: 6 x parameters (forward 2, backward 4) + attention 12 x layers x T/2 x
n_embd (causal half of QK^T and AV, forward and backward), as in the PaLM appendix and llm.c.

usage: /usr/bin/python3 tests/bench_train.py [--steps N]"""
import argparse
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(REPO, "build")
DATA = os.path.join(REPO, "examples", "demo", "tinyshakespeare.txt")
GPT2_124M = {"architecture": "gpt2", "name": "gpt2-124M-shaped", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_ff": 3072,
             "n_ctx": 1024, "n_vocab": 50257, "seed": 1}


def run(args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench-train: {' '.join(map(str, args))} failed:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
    return r


def shard():
    """the text's bytes as an llm.c token shard (valid ids for any vocabulary of >= 256)"""
    import numpy as np
    p = os.path.join(B, "bench", "shakespeare-bytes.bin")
    if not os.path.exists(p):
        tok = np.frombuffer(open(DATA, "rb").read(), dtype=np.uint8).astype(np.uint16)
        hdr = np.zeros(256, dtype=np.int32)
        hdr[0], hdr[1], hdr[2] = 20240520, 1, len(tok)
        with open(p, "wb") as f:
            f.write(hdr.tobytes())
            f.write(tok.tobytes())
    return p


def bench(label, cfg_path, b, t, steps):
    work = os.path.join(B, "bench", "train-" + re.sub(r"\W", "_", label))
    os.makedirs(work, exist_ok=True)
    init = os.path.join(work, "init.gguf")
    if not os.path.exists(init):
        run([os.path.join(B, "ckgen"), "--init", cfg_path, init])
    run([os.path.join(B, "ck"), "build", init, "-o", work, "--train", f"{b}x{t}"])
    cfg = json.load(open(cfg_path))
    hdr = open(os.path.join(work, "init.h")).read()
    n_params = int(re.search(r"#define INIT_WEIGHTS_BYTES (\d+)", hdr).group(1)) / 4
    out = run([os.path.join(work, "train"), "--init", init, "--data", shard(), "--out", os.path.join(work, "out"), "-b", b, "-t", t,
               "--steps", steps, "--eval-batches", 1, "--lr", "1e-4"]).stdout
    tok_s = [float(x) for x in re.findall(r"tok/s (\d+)", out)][1:]  # the first step warms caches and page-faults the arena
    tps = sorted(tok_s)[len(tok_s) // 2]
    flops_tok = 6 * n_params + 12 * cfg["n_layer"] * (t / 2) * cfg["n_embd"]
    return n_params, b * t / tps * 1e3, tps, flops_tok * tps / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=4)
    a = ap.parse_args()
    os.makedirs(os.path.join(B, "bench"), exist_ok=True)
    peak = float(re.search(r"([0-9.]+) GFLOP/s", run([os.path.join(B, "bench_kernels"), "--peak-only"]).stdout).group(1))
    cfg124 = os.path.join(B, "bench", "gpt2-124M.json")
    json.dump(GPT2_124M, open(cfg124, "w"))
    print(f"measured FMA peak: {peak:.1f} GFLOP/s;  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'all')}")
    print(f"{'config':<26} {'params':>8} {'B x T':>9} {'ms/step':>9} {'tokens/s':>9} {'GFLOP/s':>8} {'MFU':>6}")
    for label, cfg, b, t in (("GPT-2 124M-shaped", cfg124, 4, 64), ("demo (examples/demo)", os.path.join(REPO, "examples", "demo", "config.json"), 16, 256)):
        n, ms, tps, gf = bench(label, cfg, b, t, a.steps)
        print(f"{label:<26} {n / 1e6:>7.1f}M {f'{b}x{t}':>9} {ms:>9.0f} {tps:>9.0f} {gf:>8.1f} {100 * gf / peak:>5.0f}%", flush=True)
    print("MFU = (6 x params + attention) FLOPs per token x tokens/s / measured peak (median step after the first)")


if __name__ == "__main__":
    main()
