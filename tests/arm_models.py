"""The generated model programs of every family on AArch64 under qemu-aarch64 (make test-arm).

Per family (tests/test_models.py's tiny models) and weight type (F32, Q8_0, Q4_0,
Q4_K, all made by build/mkmodel --type): ckgen on the host writes the C; examples/run.c is
compiled for x86 with -DCK_NO_SIMD (the scalar reference) and, per ARM target, with the AArch64 cross
compiler (NEON, with or without sdot); qemu runs the ARM programs. Asserted against the x86 scalar
build of the same program:
  greedy tokens (-n 8 --temp 0, the default program `ck build` makes) identical;
  prefill and decode logits: F32 models and the exact path within tests/test_models.py's TOL (1e-4);
  the default (fast) path within test_models.py's EMU_FLIP_BOUND of the logit scale per position.
  The NEON fp32 kernels (GEMM, norms, attention) sum in another order than the scalar ones, and a
  last-bit difference can move one activation across an 8-bit rounding boundary of the fast path
  (the flip test_models.py measures and bounds against its ggml emulation): measured here up to
  2.6e-1 absolute on qwen2 q4_K. The integer dot products themselves are held bit-identical to the
  scalar ones by tests/test_quant.c under qemu (where a +1 sdot error fails).
usage: arm_models.py BUILD_DIR NAME:CPU:FLAGS... (e.g. v8:cortex-a53:-march=armv8-a)
"""
import concurrent.futures
import os
import shlex
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_models import COMMON, EMU_FLIP_BOUND, FAMILIES, TOL, prompt  # noqa: E402  (one copy of the models and tolerances)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARM_CC = os.environ.get("ARM_CC", "aarch64-linux-gnu-gcc")
ARM_QEMU = shlex.split(os.environ.get("ARM_QEMU", "qemu-aarch64 -L /usr/aarch64-linux-gnu"))
HOST_CC = os.environ.get("CC", "cc")
QTYPES = ["q8_0", "q4_0", "q4_K"]
PATHS = {"fast": [], "exact": ["-DCK_QMATMUL_PATH=CK_Q_EXACT"]}
C99 = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2"]
GREEDY_N = 8


def must(args, env=None):
    e = dict(os.environ, OMP_NUM_THREADS="1")   # one thread: tiny models, 2 shared cores (as in test_models.py)
    e.update(env or {})
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, env=e)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


class Build:
    """one compiler + flags: the implementation object per matmul path, run.c per model"""

    def __init__(self, name, cc, flags, runner, work):
        self.name, self.cc, self.flags, self.runner = name, cc, flags, runner
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.impl = {p: os.path.join(self.dir, f"ckernel_{p}.o") for p in PATHS}

    def compile_impl(self, path):
        must([self.cc] + C99 + self.flags + PATHS[path] + ["-I", REPO, "-DCK_IMPLEMENTATION", "-c", "-x", "c",
                                                            os.path.join(REPO, "ckernel.h"), "-o", self.impl[path]])

    def compile_run(self, model_dir, path):
        prog = os.path.join(model_dir, f"run_{self.name}_{path}")
        must([self.cc] + C99 + self.flags + ["-I", REPO, "-I", model_dir, "-DCK_IMPLEMENTATION_DONE",
                                             '-DCK_MODEL_HEADER="m.h"', os.path.join(REPO, "examples", "run.c"),
                                             self.impl[path], "-o", prog, "-lm"])
        return prog

    def outputs(self, prog, gguf, tokens):
        """prefill logits, decode logits [T, vocab], greedy tokens"""
        got = []
        for opt in ("--logits", "--decode-logits"):
            out = f"{prog}.{opt.strip('-')}.f32"
            must(self.runner + [prog, "-m", gguf, "--tokens", ",".join(map(str, tokens)), opt, out])
            got.append(np.fromfile(out, dtype=np.float32).reshape(len(tokens), -1))
        r = must(self.runner + [prog, "-m", gguf, "--tokens", ",".join(map(str, tokens)), "-n", GREEDY_N, "--temp", "0"])
        greedy = [ln for ln in r.stdout.splitlines() if ln.startswith("output:")]
        if len(greedy) != 1 or len(greedy[0].split()) != GREEDY_N + 1:
            raise RuntimeError(f"{prog}: no 'output:' line of {GREEDY_N} tokens in\n{r.stdout}")
        return got[0], got[1], greedy[0]


def make_model(work, tc_bins, family, qtype):
    mkmodel, ckgen = tc_bins
    d = os.path.join(work, f"{family}_{qtype}")
    os.makedirs(d, exist_ok=True)
    gguf = os.path.join(d, "model.gguf")
    # mkmodel --type, as test_models.py (`ck quantize` of the gpt2 F32 file quantizes position_embd,
    # and every build of that program, x86 scalar included, gives NaN logits: reported, not hidden here)
    must([mkmodel, family, gguf] + COMMON + FAMILIES[family] + ["--type", qtype])
    # quantized cases prefill in chunks of 8 tokens, as in test_models.py (later chunks read the KV cache)
    must([ckgen, gguf, "-o", d, "--name", "m"] + (["--max-prompt", "8"] if qtype != "f32" else []))
    return d, gguf


def compare(greedy, ref, got, flips=False):
    """ref, got: (prefill, decode, greedy) of the x86 scalar and the ARM build, one matmul path; flips: the fast
    path of a quantized model (8-bit activations: per position within EMU_FLIP_BOUND of the logit scale)"""
    problems, worst = [], 0.0
    for what, a, b in (("prefill", ref[0], got[0]), ("decode", ref[1], got[1])):
        diff = np.abs(a.astype(np.float64) - b)
        d = float(np.max(diff))
        worst = max(worst, d)
        if flips:
            scale = max(1.0, float(np.max(np.abs(a))))
            rel = float(np.max(diff)) / scale
            if not rel <= EMU_FLIP_BOUND:
                problems.append(f"{what} logits differ by {d:.3e} = {rel:.2e} of the scale {scale:.2f} (bound {EMU_FLIP_BOUND})")
        elif not d < TOL:
            problems.append(f"{what} logits differ by {d:.3e} (tolerance {TOL})")
    if greedy and ref[2] != got[2]:
        problems.append(f"greedy tokens differ: x86 scalar '{ref[2]}', arm '{got[2]}'")
    return worst, problems


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    t0 = time.time()
    bdir = os.path.abspath(sys.argv[1])
    work = os.path.join(bdir, "arm", "models")
    os.makedirs(work, exist_ok=True)
    bins = tuple(os.path.join(bdir, n) for n in ("mkmodel", "ckgen"))
    host_flags = shlex.split(os.environ.get("CK_TEST_ARCH", "-march=native")) + ["-DCK_NO_SIMD"]
    builds = [Build("x86scalar", HOST_CC, host_flags, [], work)]
    for spec in sys.argv[2:]:
        name, cpu, flags = spec.split(":", 2)
        builds.append(Build(name, ARM_CC, shlex.split(flags), ARM_QEMU + ["-cpu", cpu], work))
    pool = concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2))
    jobs = [pool.submit(b.compile_impl, p) for b in builds for p in PATHS]
    only = os.environ.get("ARM_MODELS_ONLY", "").split()   # e.g. "llama q4_K": a quick subset (families, types)
    cases = [(f, q) for f in FAMILIES for q in ["f32"] + QTYPES
             if not only or (f in only or not set(only) & set(FAMILIES)) and (q in only or not set(only) & {"f32", *QTYPES})]
    models = {}
    for f, q in cases:
        models[(f, q)] = pool.submit(make_model, work, bins, f, q)
    for j in jobs:
        j.result()
    t_impl = time.time() - t0

    def one(case, build, path):
        d, gguf = models[case].result()
        prog = build.compile_run(d, path)
        return build.outputs(prog, gguf, prompt())

    runs = {}
    for case in cases:
        for path in (["fast"] if case[1] == "f32" else ["fast", "exact"]):   # F32 never takes the quantized path
            for b in builds:
                runs[(case, path, b.name)] = pool.submit(one, case, b, path)
    failed, n = [], 0
    for case in cases:
        for path in (["fast"] if case[1] == "f32" else ["fast", "exact"]):
            ref = runs[(case, path, "x86scalar")].result()
            for b in builds[1:]:
                greedy = path == "fast"
                worst, problems = compare(greedy, ref, runs[(case, path, b.name)].result(), flips=path == "fast" and case[1] != "f32")
                n += 1
                tag = f"{case[0]} {case[1]} {path} {b.name}"
                print(f"arm models: {tag:32s} max abs logit diff vs x86 scalar {worst:.2e}"
                      + (f", greedy '{ref[2][8:]}' identical" if greedy and not problems else "")
                      + ("" if not problems else "  FAIL: " + "; ".join(problems)))
                if problems:
                    failed.append(tag)
    print(f"arm models: {n - len(failed)}/{n} passed ({len(cases)} models x paths x {len(builds) - 1} ARM targets vs the "
          f"x86 scalar build) in {time.time() - t0:.0f} s (implementation objects {t_impl:.0f} s)")
    if failed:
        sys.exit(f"arm models: FAILED: {', '.join(failed)}")


if __name__ == "__main__":
    main()
