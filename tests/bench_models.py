"""make bench: prefill (64 tokens) and decode tokens/s and peak RSS of generated models, for a
SmolLM-135M-shaped and a Qwen2-0.5B-shaped random GGUF in F32, Q8_0, Q4_0 and Q4_K, beside the
machine's measured memory bandwidth (decode reads every weight once per token, so bytes of
weights / bandwidth is its floor). Numbers only, nothing asserted.

usage: /usr/bin/python3 tests/bench_models.py [--models smollm,qwen2] [--types f32,q8_0,q4_0,q4_K] [--decode N]
Random weights are cached in build/bench/ (a few GB for all of them). The prompt is run once untimed
first (run --warmup), so prefill is not charged with page-faulting the mmapped weights in."""
import argparse
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(REPO, "build")
SHAPES = {  # mkmodel options with the public configs' dimensions
    "smollm": ("llama", "SmolLM-135M", ["--vocab", "49152", "--embd", "576", "--layers", "30", "--heads", "9", "--kv-heads", "3",
                                        "--ff", "1536", "--ctx", "2048", "--tied"]),
    "qwen2": ("qwen2", "Qwen2-0.5B", ["--vocab", "151936", "--embd", "896", "--layers", "24", "--heads", "14", "--kv-heads", "2",
                                      "--ff", "4864", "--ctx", "4096", "--tied", "--rope-base", "1000000"]),
}


def run(args, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, args))} failed:\n{r.stderr[-2000:]}")
    return r


def peak_rss(args):
    """run args, return (stdout+stderr, peak RSS in MB) of that child alone"""
    p = subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, args))} failed:\n{out[-2000:]}")
    return out, ru.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="smollm,qwen2")
    ap.add_argument("--types", default="f32,q8_0,q4_0,q4_K")
    ap.add_argument("--decode", type=int, default=32)
    a = ap.parse_args()
    os.makedirs(os.path.join(B, "bench"), exist_ok=True)
    bw_out = run([os.path.join(B, "bench_membw")]).stdout
    bw = float(re.search(r"([0-9.]+) GB/s", bw_out).group(1))
    print(f"memory read bandwidth (measured, {os.cpu_count()} threads): {bw:.1f} GB/s;  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'all')}")
    print(f"{'model':<12} {'type':<5} {'weights MB':>10} {'prefill tok/s':>14} {'decode tok/s':>13} {'decode floor':>13} {'% of floor':>10} {'peak RSS MB':>11}")
    for m in a.models.split(","):
        fam, label, opts = SHAPES[m]
        for t in a.types.split(","):
            g = os.path.join(B, "bench", f"{m}-{t}.gguf")
            if not os.path.exists(g):
                run([os.path.join(B, "mkmodel"), fam, g, "--type", t] + opts)
            d = os.path.join(B, "bench", f"{m}-{t}")
            run([os.path.join(B, "ckgen"), g, "-o", d, "--name", "m", "--max-ctx", "256", "--max-prompt", "64", "--no-bump"])
            run(["cc", "-std=c99", "-O2", "-march=native", "-fopenmp", "-I", REPO, "-I", d, '-DCK_MODEL_HEADER="m.h"',
                 os.path.join(REPO, "examples", "run.c"), "-o", os.path.join(d, "run"), "-lm"])
            wbytes = int(re.search(r"#define M_WEIGHTS_BYTES (\d+)", open(os.path.join(d, "m.h")).read()).group(1))
            toks = ",".join(str((i * 7919) % 1000 + 1) for i in range(64))
            out, rss = peak_rss([os.path.join(d, "run"), "-m", g, "--tokens", toks, "-n", a.decode, "--temp", "0", "--warmup"])
            pf = float(re.search(r"prefill: \d+ tokens in [0-9.]+ s \(([0-9.]+) tokens/s\)", out).group(1))
            dc = float(re.search(r"decode: \d+ tokens in [0-9.]+ s \(([0-9.]+) tokens/s\)", out).group(1))
            floor = bw * 1e9 / wbytes
            print(f"{label:<12} {t:<5} {wbytes / 1e6:>10.1f} {pf:>14.1f} {dc:>13.1f} {floor:>13.1f} {100 * dc / floor:>9.0f}% {rss:>11.0f}", flush=True)
    print("decode floor = measured bandwidth / bytes of weights: the tokens/s if every weight byte is read once per token at that bandwidth")


if __name__ == "__main__":
    main()
