"""make bench: prefill (64 tokens) and decode tokens/s and peak RSS of generated models, for a
SmolLM-135M-shaped and a Qwen2-0.5B-shaped random GGUF per weight type, at 2 threads and at 1,
beside the machine's memory bandwidth measured with as many threads, at the start and at the end (the
higher of the two: decode reads every weight once per token, so bytes of weights / bandwidth is its
floor; one core alone reaches about half of two's). Numbers only, nothing asserted.

With LLAMA_BENCH=/path/to/llama-bench (or --llama-bench) the same files are also run by llama.cpp's
llama-bench (-p 64 -n 32 -r REPS -t N), in the same run, one engine after the other per file, and
each table gets llama.cpp's figures and the ratio ckernel / llama.cpp. This project never builds or
ships llama.cpp: a user who has it can compare.

The 1-thread runs of both engines, and the 1-thread bandwidth, are pinned to one CPU (the lowest this
process may use): a shared host's vCPUs differ by up to 20% in the same minute, and unpinned each run
would land where the scheduler puts it. --no-pin leaves them unpinned.

With --busy N, N other processes spin on the CPU during every measurement (both engines): how a
shared machine's load changes each engine's figures.

With --rounds N (default 1) every file is measured N times, round after round, both engines each
round (a shared machine's load moves between minutes, and one round's ratio can be 0.4 off the
next's): the table gives the medians over the rounds, and, comparing with llama.cpp, each row's
range of the per-round ratios (min-max), the figure to compare between runs.

usage: /usr/bin/python3 tests/bench_models.py [--models smollm,qwen2] [--types f32,f16,...]
                                              [--threads 2,1] [--reps 3] [--decode 32] [--llama-bench PATH] [--busy N]
                                              [--rounds N] [--no-pin]
Random weights are cached in build/bench/ (a few GB for all of them). ckernel's run is given the
prompt once untimed first (run --warmup), so prefill is not charged with page-faulting the mmapped
weights in; llama-bench warms up likewise. Figures are medians of REPS runs."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(REPO, "build")
sys.path.insert(0, REPO)
SHAPES = {  # mkmodel options with the public configs' dimensions
    "smollm": ("llama", "SmolLM-135M", ["--vocab", "49152", "--embd", "576", "--layers", "30", "--heads", "9", "--kv-heads", "3",
                                        "--ff", "1536", "--ctx", "2048", "--tied"]),
    "qwen2": ("qwen2", "Qwen2-0.5B", ["--vocab", "151936", "--embd", "896", "--layers", "24", "--heads", "14", "--kv-heads", "2",
                                      "--ff", "4864", "--ctx", "4096", "--tied", "--rope-base", "1000000"]),
}
# type name -> mkmodel options: float types for every matrix; quantized ones as llama-quantize's preset
# of that name types each tensor (so the files are what a user's quantized download holds)
TYPES = {"f32": ["--type", "f32"], "f16": ["--type", "f16"], "bf16": ["--type", "bf16"], "q8_0": ["--mix", "q8_0"],
         "q4_0": ["--mix", "q4_0"], "q4_K_M": ["--mix", "q4_k_m"], "q6_K": ["--mix", "q6_k"]}
PROMPT, CTX = 64, 256


def pinned(cpus):
    """subprocess's preexec_fn that pins the child (and the threads it starts) to the set cpus, or None"""
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def run(args, cpus=None, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, preexec_fn=pinned(cpus), **kw)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, args))} failed:\n{r.stderr[-2000:]}{r.stdout[-2000:]}")
    return r


def peak_rss(args, cpus=None):
    """run args (pinned to cpus if given), return (stdout+stderr, peak RSS in MB) of that child alone"""
    p = subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=pinned(cpus))
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, args))} failed:\n{out[-2000:]}")
    return out, ru.ru_maxrss / 1024.0


def llama_loadable(g):
    """a copy of mkmodel's file that llama.cpp loads: it wants tokenizer.ggml.model and ARCH.vocab_size
    (the tensors, their types and bytes are unchanged)"""
    out = g[:-5] + "-llama.gguf"
    if not os.path.exists(out):  # in a child: this process's memory would count in the next run's peak RSS (fork)
        run([sys.executable, os.path.abspath(__file__), "--llama-copy", g, out])
    return out


def llama_copy(g, out):
    from oracle import gguf
    f = gguf.read(g)
    kv = f.kv.copy()
    arch = kv["general.architecture"].value.decode()
    kv["tokenizer.ggml.model"] = gguf.Value(gguf.STR, b"none", None)
    kv[f"{arch}.vocab_size"] = gguf.Value(gguf.U32, int(f.tensor("token_embd.weight").ne[1]), None)
    gguf.write(out + ".tmp", kv, [(t.name.decode(), t.ne, t.type, t.data) for t in f.tensors])
    os.replace(out + ".tmp", out)


def llama_bench(exe, g, threads, reps, n_gen, pin):
    """{threads: (prefill tok/s, decode tok/s)}: medians of llama-bench's samples; one run per thread
    count, pinned to pin(threads) (ck_bench's CPUs for that count)"""
    res = {}
    for th in threads:
        r = run([exe, "-m", g, "-p", PROMPT, "-n", n_gen, "-r", reps, "-t", th, "-o", "json"], cpus=pin(th))
        for e in json.loads(r.stdout):
            med = statistics.median(e["samples_ts"])
            k = "prefill" if e["n_prompt"] > 0 else "decode"
            res.setdefault(e["n_threads"], {})[k] = med
    return {t: (res[t]["prefill"], res[t]["decode"]) for t in threads}


def ck_bench(run_exe, g, threads, reps, n_gen, cpus=None):
    """(prefill tok/s, decode tok/s, peak RSS MB): medians over reps runs (pinned to cpus if given)"""
    toks = ",".join(str((i * 7919) % 1000 + 1) for i in range(PROMPT))
    pf, dc, rss = [], [], []
    for _ in range(reps):
        out, r = peak_rss([run_exe, "-m", g, "--tokens", toks, "-n", n_gen, "--temp", "0", "--warmup", "-t", threads], cpus)
        pf.append(float(re.search(r"prefill: \d+ tokens in [0-9.]+ s \(([0-9.]+) tokens/s\)", out).group(1)))
        dc.append(float(re.search(r"decode: \d+ tokens in [0-9.]+ s \(([0-9.]+) tokens/s\)", out).group(1)))
        rss.append(r)
    return statistics.median(pf), statistics.median(dc), max(rss)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--llama-copy":
        return llama_copy(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="smollm,qwen2")
    ap.add_argument("--types", default="f32,f16,bf16,q8_0,q4_0,q4_K_M,q6_K")
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--decode", type=int, default=32)
    ap.add_argument("--llama-bench", default=os.environ.get("LLAMA_BENCH") or None)
    ap.add_argument("--busy", type=int, default=0, help="spinning processes running beside the measurements")
    ap.add_argument("--rounds", type=int, default=1, help="measure every file this many times, round after round (ratio ranges)")
    ap.add_argument("--no-pin", action="store_true", help="leave 1-thread runs to the scheduler (default: both engines on one CPU)")
    a = ap.parse_args()
    if a.rounds < 1 or a.reps < 1:
        sys.exit(f"bench: --rounds and --reps must be at least 1 (got --rounds {a.rounds}, --reps {a.reps})")
    threads = [int(t) for t in a.threads.split(",")]
    for t in a.types.split(","):
        if t not in TYPES:
            sys.exit(f"bench: unknown type '{t}' (known: {', '.join(TYPES)})")
    for m in a.models.split(","):
        if m not in SHAPES:
            sys.exit(f"bench: unknown model '{m}' (known: {', '.join(SHAPES)})")
    if a.llama_bench and not os.access(a.llama_bench, os.X_OK):
        sys.exit(f"bench: LLAMA_BENCH={a.llama_bench} is not an executable file")
    os.makedirs(os.path.join(B, "bench"), exist_ok=True)
    # 1-thread runs of both engines (and the 1-thread bandwidth) on one CPU: the vCPUs of a shared
    # host can differ by 20% in the same minute, and the scheduler would otherwise pick one per run
    one = None if a.no_pin else {min(os.sched_getaffinity(0))}
    a.pin = lambda th: one if th == 1 else None
    bw = bandwidth(threads, a.pin)  # one core cannot keep as many misses in flight as two
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (uptime) at start;"
          " memory read bandwidth (measured): " + bw_text(bw, threads))
    print(f"prefill: {PROMPT} tokens; decode: {a.decode} tokens; median of {a.reps} runs" +
          (f" in each of {a.rounds} rounds (the table: medians over the rounds)" if a.rounds > 1 else "") + "; " +
          (f"llama.cpp: {a.llama_bench}" if a.llama_bench else "llama.cpp: not compared (LLAMA_BENCH=/path/to/llama-bench to compare)") +
          (f"; 1-thread runs pinned to CPU {min(one)} (--no-pin: not)" if one else "; not pinned (--no-pin)"))
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.busy)]
    if a.busy:
        print(f"{a.busy} spinning process{'es' if a.busy > 1 else ''} run beside every measurement (--busy)")
    try:
        rows = measure(a, threads, bw)
    finally:
        for p in spinners:
            p.kill()
    end = bandwidth(threads, a.pin)
    print("memory read bandwidth at the end: " + bw_text(end, threads) +
          "; the floor is the higher of the start's and the end's (a busy host measures it low)")
    report(a, threads, floor_bw(bw, end), rows)


def bw_text(bw, threads):
    """'X GB/s with N threads, ...' for each thread count"""
    return ", ".join(f"{bw[th]:.1f} GB/s with {th} thread{'s' if th > 1 else ''}" for th in threads)


def floor_bw(start, end):
    """the bandwidth the floor uses per thread count: the higher of the two readings"""
    return {th: max(start[th], end[th]) for th in start}


def bandwidth(threads, pin):
    """{threads: measured read bandwidth, GB/s} (build/bench_membw, pinned as pin(threads) says)"""
    bw = {}
    for th in threads:
        out = run([os.path.join(B, "bench_membw")], cpus=pin(th), env=dict(os.environ, OMP_NUM_THREADS=str(th))).stdout
        bw[th] = float(re.search(r"([0-9.]+) GB/s", out).group(1))
    return bw


def merge_rounds(rounds):
    """rounds: per round, the rows (label, type, weight bytes, KV bytes, prefill, decode, peak RSS,
    llama.cpp's (prefill, decode) or None) of one table, in the same order every round -> one row each:
    the medians of prefill, decode and llama.cpp's figures over the rounds, the largest peak RSS, and
    the per-round ratios' (min, max) for prefill and decode (None without llama.cpp)"""
    merged = []
    for rs in zip(*rounds):
        label, typ, wb, kvb = rs[0][:4]
        assert all(r[:4] == (label, typ, wb, kvb) for r in rs), "rounds disagree on the rows"
        pf, dc = statistics.median(r[4] for r in rs), statistics.median(r[5] for r in rs)
        lb = rng = None
        if rs[0][7] is not None:
            lb = (statistics.median(r[7][0] for r in rs), statistics.median(r[7][1] for r in rs))
            pr, dr = [r[4] / r[7][0] for r in rs], [r[5] / r[7][1] for r in rs]
            rng = ((min(pr), max(pr)), (min(dr), max(dr)))
        merged.append((label, typ, wb, kvb, pf, dc, max(r[6] for r in rs), lb, rng))
    return merged


def measure(a, threads, bw):
    files = []  # (label, type, gguf, generated program's directory, weight bytes, KV bytes)
    for m in a.models.split(","):
        fam, label, opts = SHAPES[m]
        for t in a.types.split(","):
            g = os.path.join(B, "bench", f"{m}-{t}.gguf")
            if not os.path.exists(g):
                run([os.path.join(B, "mkmodel"), fam, g + ".tmp"] + TYPES[t] + opts)
                os.replace(g + ".tmp", g)
            d = os.path.join(B, "bench", f"{m}-{t}")
            run([os.path.join(B, "ckgen"), g, "-o", d, "--name", "m", "--max-ctx", CTX, "--max-prompt", PROMPT, "--no-bump"])
            run(["cc", "-std=c99", "-O2", "-march=native", "-fopenmp", "-I", REPO, "-I", d, '-DCK_MODEL_HEADER="m.h"',
                 os.path.join(REPO, "examples", "run.c"), "-o", os.path.join(d, "run"), "-lm"])
            hdr = open(os.path.join(d, "m.h")).read()
            wbytes = int(re.search(r"#define M_WEIGHTS_BYTES (\d+)", hdr).group(1))
            kvbytes = 2 * 4 * int(re.search(r"#define M_N_LAYER (\d+)", hdr).group(1)) * CTX * int(re.search(r"#define M_KV_DIM (\d+)", hdr).group(1))
            files.append((label, t, g, d, wbytes, kvbytes))
    rounds = []  # per round: {threads: rows}
    for rnd in range(a.rounds):
        rows = {th: [] for th in threads}
        for label, t, g, d, wbytes, kvbytes in files:
            lb = llama_bench(a.llama_bench, llama_loadable(g), threads, a.reps, a.decode, a.pin) if a.llama_bench else {}
            for th in threads:
                pf, dc, rss = ck_bench(os.path.join(d, "run"), g, th, a.reps, a.decode, a.pin(th))
                rows[th].append((label, t, wbytes, kvbytes, pf, dc, rss, lb.get(th)))
                print(f"  {f'round {rnd + 1}: ' if a.rounds > 1 else ''}{label} {t} {th} thr: ckernel prefill {pf:.1f} decode {dc:.1f} tok/s" +
                      (f"; llama.cpp prefill {lb[th][0]:.1f} decode {lb[th][1]:.1f}" if th in lb else ""), file=sys.stderr, flush=True)
        rounds.append(rows)
    return {th: merge_rounds([r[th] for r in rounds]) for th in threads}


def columns(a, bw):
    """(heading, width, row -> text) of the table; a row is merge_rounds's (label, type, weight bytes,
    KV bytes, prefill, decode, peak RSS, llama.cpp's (prefill, decode) or None, ratio ranges or None)"""
    cols = [("model", -12, lambda r: f"{r[0]:<12}"), ("type", -6, lambda r: f"{r[1]:<6}"),
            ("weights MB", 10, lambda r: f"{r[2] / 1e6:>10.1f}")]
    for name, i in (("prefill tok/s", 4), ("decode tok/s", 5)):
        cols.append((name, 13 if i == 4 else 12, lambda r, i=i: f"{r[i]:>{13 if i == 4 else 12}.1f}"))
        if a.llama_bench:
            cols += [("llama.cpp", 9, lambda r, i=i: f"{r[7][i - 4]:>9.1f}"), ("ratio", 5, lambda r, i=i: f"{r[i] / r[7][i - 4]:>5.2f}")]
            if a.rounds > 1:
                cols.append(("rounds", 9, lambda r, i=i: f"{r[8][i - 4][0]:>4.2f}-{r[8][i - 4][1]:.2f}"))
    def floor(r):  # the floor's decode tok/s: the bandwidth / the bytes of weights
        return bw * 1e9 / r[2]
    cols.append(("% of floor", 10, lambda r: f"{100 * r[5] / floor(r):>9.0f}%"))
    if a.llama_bench:  # llama.cpp's decode against the same floor, and the floor's tok/s / llama.cpp's: the highest decode
        # ratio that an engine reading every weight once per token can show against that llama.cpp figure
        cols += [("llama.cpp %", 11, lambda r: f"{100 * r[7][1] / floor(r):>10.0f}%"),
                 ("ceiling", 7, lambda r: f"{floor(r) / r[7][1]:>7.2f}")]
    return cols + [("peak RSS MB", 11, lambda r: f"{r[6]:>11.0f}"), ("budget MB", 9, lambda r: f"{1.1 * (r[2] + r[3]) / 2**20:>9.0f}")]


def report(a, threads, bw, rows):
    for th in threads:
        print(f"\n{th} thread{'s' if th > 1 else ''}:")
        cols = columns(a, bw[th])
        print(" ".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w, _ in cols))
        for r in rows[th]:
            print(" ".join(f(r) for _, _, f in cols), flush=True)
    la = os.getloadavg()
    print(f"\nload average at end: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    if a.rounds > 1 and a.llama_bench:
        print(f"rounds = the lowest and highest of the {a.rounds} rounds' ratios; ratio = the medians' ratio")
    print("ratio = ckernel / llama.cpp on the same file; % of floor = decode tok/s x bytes of weights / the bandwidth measured with that many threads"
          + (" (ckernel's, then llama.cpp's);" if a.llama_bench else ";") + (" ceiling = the floor's tok/s / llama.cpp's decode tok/s, the highest decode ratio an engine that"
          " reads every weight once per token can reach against that figure;" if a.llama_bench else "") +
          " budget = (weights + KV cache of the run's context) x 1.1")


if __name__ == "__main__":
    main()
