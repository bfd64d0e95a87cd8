"""make bench-train: ms per step of the generated trainer beside llm.c's and PyTorch's, and its
model FLOPs utilisation. Printed, not asserted (the machine is shared: compare within one run).

Rows:
  side   GPT-2 124M-shaped, B=4 T=64, at each --threads count: ckernel, llm.c (LLMC=/path/to/llm.c,
         a checkout of github.com/karpathy/llm.c) and PyTorch, and the ratios ckernel/llm.c and
         ckernel/PyTorch of the step time (issue 16's goals: <= 0.5 and <= 0.67).
  mfu    GPT-2 124M-shaped, B=8 T=256, ckernel: tokens/s and MFU against the measured FMA peak
         (goal >= 60%).
  demo   the demo config (examples/demo/config.json) at B=16 T=256, ckernel.
  lora   LoRA fine-tuning (rank 8) on the 124M shape quantized to Q8_0 and Q4_0, B=4 T=64: ms/step and
         arena bytes beside full f32 training of the same shape.
  mpi    data-parallel training over MPI (issue 19; needs Open MPI: make deps-mpi): the 124M shape,
         B=4 T=64, --accum 2 (the global batch), 1 thread per rank: tokens/s of 1 process and of
         mpirun -np 2 (train built by ck build --train --mpi), the all-reduce's
         share of the 2-rank run (its summary line), and build/bench_allreduce: train_mpi.h's rank-order
         sum beside MPI_Allreduce on the 124M gradient section (498 MB).

The side-by-side: every engine starts from the same weights and trains on the same batch.
- Weights: ckgen --init of the GPT-2 124M config (N(0, 0.02) as GPT-2/llm.c, tied output); llm.c
  gets them as its checkpoint (write_llmc_checkpoint), PyTorch through oracle/train.py.
- Data: one llm.c shard of B*T+1 tokens (the first bytes of tiny Shakespeare). llm.c's
  train_gpt2.c hard-codes B=4 T=64 and shuffles its training batches; a shard holding exactly one
  batch makes the shuffle the identity, so all three read tokens [0, B*T+1) at every step.
- Step: forward, backward, AdamW (lr 1e-4 constant, no weight decay, no clipping: train_gpt2.c's
  settings), float32 everywhere. ckernel also computes the gradient norm it prints.
- Sanity: the step-1 losses (same weights, same batch) must agree to 1e-4 relative (float32
  sums in different orders differ by ~1e-6); otherwise the comparison is said to be invalid.
- llm.c: compiled from LLMC/train_gpt2.c as its Makefile does (-Ofast -march=native -fopenmp
  -DOMP) into build/bench/, run in a work directory with the file names it hard-codes
  (gpt2_124M.bin, dev/data/tinyshakespeare/tiny_shakespeare_{train,val}.bin), its "step N: train
  loss X (took Y ms)" lines read as they come, stopped after --steps + 1 steps (its validation
  and sampling between steps are outside its timer).
- PyTorch: oracle/train.py's model and torch.optim.AdamW in float32, torch.set_num_threads and
  OMP/OPENBLAS_NUM_THREADS per thread count; the oracle's one-sequence forward is batched over
  the B sequences by functorch.vmap. The BLAS library torch has loaded is printed (Debian's
  torch calls libblas.so.3: OpenBLAS when libopenblas0-pthread is installed, else the reference
  BLAS, ~20x slower; make bench-train installs OpenBLAS).
Each engine's ms/step is the median over --steps steps after a first step that warms caches and
allocates (ckernel's from its tok/s line: B*T / tok/s).

MFU: FLOPs per token = 6 x parameters (forward 2, backward 4) + attention 12 x layers x T/2 x
n_embd (causal half of QK^T and AV, forward and backward), as in the PaLM appendix and llm.c.

usage: /usr/bin/python3 tests/bench_train.py [--steps N] [--rows side,mfu,demo,lora,mpi]
       [--threads 2,1] [--engines ckernel,llmc,torch] [--llmc PATH]   (make bench-train
       BENCH_TRAIN_ARGS="--steps 1 --rows side" LLMC=/tmp/llm.c)"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(REPO, "build")
BENCH = os.path.join(B, "bench")
DATA = os.path.join(REPO, "examples", "demo", "tinyshakespeare.txt")
GPT2_124M = {"architecture": "gpt2", "name": "gpt2-124M-shaped", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_ff": 3072,
             "n_ctx": 1024, "n_vocab": 50257, "seed": 1}
SIDE_B, SIDE_T = 4, 64            # train_gpt2.c's hard-coded batch
SIDE_LR = 1e-4                    # train_gpt2.c's gpt2_update(&model, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, step+1)
LLMC_MAX_STEP = 40                # train_gpt2.c runs steps 0..40
LOSS_AGREE = 1e-4                 # step-1 losses, relative: float32 sums in different orders differ by ~1e-6
GOAL_LLMC, GOAL_TORCH, GOAL_MFU = 0.5, 0.67, 0.60


def run(args, env=None, cwd=None):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd)
    if r.returncode != 0:
        sys.exit(f"bench-train: {' '.join(map(str, args))} failed:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
    return r


def threads_env(n):
    """the environment for a run on n threads (OpenMP for ckernel and llm.c, OpenBLAS for torch)"""
    return dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n))


def shard(n_tokens=None):
    """the text's bytes as an llm.c token shard (valid ids for any vocabulary of >= 256); with
    n_tokens, only the first n_tokens of them"""
    tok = np.frombuffer(open(DATA, "rb").read(), dtype=np.uint8).astype(np.uint16)[:n_tokens]
    p = os.path.join(BENCH, f"shakespeare-bytes{'' if n_tokens is None else '-' + str(len(tok))}.bin")
    if not os.path.exists(p):
        hdr = np.zeros(256, dtype=np.int32)
        hdr[0], hdr[1], hdr[2] = 20240520, 1, len(tok)
        with open(p, "wb") as f:
            f.write(hdr.tobytes())
            f.write(tok.tobytes())
    return p


def median_after_first(xs):
    """the median of every value but the first (the first step warms caches and allocates)"""
    return statistics.median(xs[1:] if len(xs) > 1 else xs)


# ---- llm.c's checkpoint format (train_gpt2.c: gpt2_build_from_checkpoint) ----------------------
# int32 header[256]: magic 20240326, version 3 (float32), maxT, V, L, NH, C, Vp (V padded to a
# multiple of 128; the padding rows of wte are zero), then the 16 tensors below in this order,
# each layer's tensors stacked over the L layers. Matrices are [out][in] row-major in both llm.c
# (matmul_forward reads weight[o*C + i]) and GGUF (ne0 = in), so none is transposed; the fused
# qkv is q, k, v row blocks of C rows each, heads contiguous within a block, in both (llm.c's
# attention_forward reads query at h*hs, key at C + h*hs, value at 2C + h*hs).
LLMC_MAGIC, LLMC_VERSION_F32, LLMC_VOCAB_MULTIPLE = 20240326, 3, 128
LLMC_TENSORS = (  # (llm.c name, GGUF name, per layer, shape in terms of V/Vp/maxT/C)
    ("wte", "token_embd.weight", False, ("V", "C")),     # written as Vp x C: zero rows after V
    ("wpe", "position_embd.weight", False, ("maxT", "C")),
    ("ln1w", "blk.%d.attn_norm.weight", True, ("C",)),
    ("ln1b", "blk.%d.attn_norm.bias", True, ("C",)),
    ("qkvw", "blk.%d.attn_qkv.weight", True, ("3C", "C")),
    ("qkvb", "blk.%d.attn_qkv.bias", True, ("3C",)),
    ("attprojw", "blk.%d.attn_output.weight", True, ("C", "C")),
    ("attprojb", "blk.%d.attn_output.bias", True, ("C",)),
    ("ln2w", "blk.%d.ffn_norm.weight", True, ("C",)),
    ("ln2b", "blk.%d.ffn_norm.bias", True, ("C",)),
    ("fcw", "blk.%d.ffn_up.weight", True, ("4C", "C")),
    ("fcb", "blk.%d.ffn_up.bias", True, ("4C",)),
    ("fcprojw", "blk.%d.ffn_down.weight", True, ("C", "4C")),
    ("fcprojb", "blk.%d.ffn_down.bias", True, ("C",)),
    ("lnfw", "output_norm.weight", False, ("C",)),
    ("lnfb", "output_norm.bias", False, ("C",)),
)


def llmc_padded_vocab(n_vocab):
    return (n_vocab + LLMC_VOCAB_MULTIPLE - 1) // LLMC_VOCAB_MULTIPLE * LLMC_VOCAB_MULTIPLE


def write_llmc_checkpoint(gguf_path, out_path):
    """write a GPT-2 GGUF as an llm.c float32 checkpoint; returns the header's dims as a dict.
    Raises ValueError naming the file and tensor when the model is not one llm.c can hold
    (another architecture, an untied output.weight, n_ff != 4 n_embd, a tensor it has no slot for)."""
    sys.path.insert(0, REPO)
    from oracle import gguf as G
    g = G.read(gguf_path)
    arch = g.kv["general.architecture"].value if "general.architecture" in g.kv else b"?"
    if arch != b"gpt2":
        raise ValueError(f"{gguf_path}: architecture {arch.decode(errors='replace')!r}: llm.c's train_gpt2.c holds GPT-2 only")
    names = [t.name.decode() for t in g.tensors]
    if "output.weight" in names:
        raise ValueError(f"{gguf_path}: has output.weight: llm.c ties the output to token_embd.weight and has no slot for it")
    for need in ("gpt2.block_count", "gpt2.attention.head_count", "token_embd.weight", "position_embd.weight"):
        if need not in g.kv and need not in names:
            raise ValueError(f"{gguf_path}: no {need} (llm.c's checkpoint needs it)")
    n_layer = int(g.kv["gpt2.block_count"].value)
    n_head = int(g.kv["gpt2.attention.head_count"].value)
    vocab, c = g.tensor("token_embd.weight").ne[1], g.tensor("token_embd.weight").ne[0]
    max_t = g.tensor("position_embd.weight").ne[1]
    dims = {"maxT": max_t, "V": vocab, "L": n_layer, "NH": n_head, "C": c, "Vp": llmc_padded_vocab(vocab)}
    size = {"V": vocab, "maxT": max_t, "C": c, "3C": 3 * c, "4C": 4 * c}
    order = []   # GGUF names in the checkpoint's order, every shape checked before a byte is written
    for _, gguf_name, per_layer, shape in LLMC_TENSORS:
        want = [size[s] for s in shape]
        for name in [gguf_name % il for il in range(n_layer)] if per_layer else [gguf_name]:
            if name not in names:
                raise ValueError(f"{gguf_path}: no tensor {name} (llm.c's checkpoint needs it)")
            got = list(reversed(g.tensor(name).ne))
            if got != want:
                raise ValueError(f"{gguf_path}: {name} has shape {got}, llm.c's checkpoint needs {want} "
                                 f"({' x '.join(shape)}{'; n_ff must be 4 x n_embd' if '4C' in shape else ''})")
            order.append(name)
    extra = [n for n in names if n not in order]
    if extra:
        raise ValueError(f"{gguf_path}: tensor {extra[0]} has no place in llm.c's checkpoint ({len(extra)} such tensors)")
    hdr = np.zeros(256, dtype="<i4")
    hdr[:8] = LLMC_MAGIC, LLMC_VERSION_F32, max_t, vocab, n_layer, n_head, c, dims["Vp"]
    with open(out_path + ".tmp", "wb") as f:   # renamed when whole: a stopped run leaves no half checkpoint
        f.write(hdr.tobytes())
        for name in order:
            f.write(np.ascontiguousarray(g.array(name), dtype="<f4").tobytes())
            if name == "token_embd.weight":   # [V, C] -> [Vp, C]: zero rows after V
                f.write(np.zeros((dims["Vp"] - vocab) * c, dtype="<f4").tobytes())
    os.replace(out_path + ".tmp", out_path)
    return dims


# ---- the engines -----------------------------------------------------------------------------
def ckernel_build(label, cfg_path, b, t):
    """the init GGUF of the config and the trainer compiled for b x t: (work dir, init path)"""
    work = os.path.join(BENCH, "train-" + re.sub(r"\W", "_", label))
    os.makedirs(work, exist_ok=True)
    init = os.path.join(work, "init.gguf")
    if not os.path.exists(init):
        run([os.path.join(B, "ckgen"), "--init", cfg_path, init])
    run([os.path.join(B, "ck"), "build", init, "-o", work, "--train", f"{b}x{t}"])
    return work, init


def ckernel_run(work, init, b, t, steps, threads, data, extra=()):
    """(ms per step list, loss per step list) of `train` over steps + 1 steps"""
    out = run([os.path.join(work, "train"), "--init", init, "--data", data, "--out", os.path.join(work, "out"), "-b", b, "-t", t,
               "--steps", steps + 1, "--eval-batches", 1, *extra], env=threads_env(threads)).stdout
    rows = re.findall(r"step \d+/\d+ \| loss ([0-9.]+) \|.*\| tok/s (\d+)", out)
    return [b * t / float(tps) * 1e3 for _, tps in rows], [float(loss) for loss, _ in rows]


def llmc_build(llmc):
    """LLMC/train_gpt2.c compiled as llm.c's Makefile does (OpenMP on), into build/bench/"""
    src = os.path.join(llmc, "train_gpt2.c")
    exe = os.path.join(BENCH, "llmc_train_gpt2")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        run([os.environ.get("CC", "cc"), "-Ofast", "-Wno-unused-result", "-Wno-ignored-pragmas", "-Wno-unknown-attributes",
             "-march=native", "-fopenmp", "-DOMP", src, "-lm", "-o", exe])
    return exe


def llmc_workdir(init, data):
    """a directory laid out with the file names train_gpt2.c hard-codes: the init weights as
    gpt2_124M.bin and the shard as both its training and validation data"""
    work = os.path.join(BENCH, "llmc-124M")
    ddir = os.path.join(work, "dev", "data", "tinyshakespeare")
    os.makedirs(ddir, exist_ok=True)
    ckpt = os.path.join(work, "gpt2_124M.bin")
    if not os.path.exists(ckpt) or os.path.getmtime(ckpt) < os.path.getmtime(init):
        try:
            write_llmc_checkpoint(init, ckpt)
        except ValueError as e:
            sys.exit(f"bench-train: {e}")
    for split in ("train", "val"):
        shutil.copyfile(data, os.path.join(ddir, f"tiny_shakespeare_{split}.bin"))
    return work


def llmc_run(exe, work, steps, threads):
    """(ms list, loss list) of llm.c's steps 0..steps, read from its output as it prints them"""
    line_buffered = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []   # its printf to a pipe is block-buffered
    p = subprocess.Popen(line_buffered + [exe], cwd=work, env=threads_env(threads), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    ms, losses, tail = [], [], []
    for line in p.stdout:
        tail = (tail + [line])[-20:]
        m = re.match(r"step (\d+): train loss ([-+0-9.eEnaif]+) \(took ([0-9.]+) ms\)", line)
        if m:
            losses.append(float(m.group(2)))
            ms.append(float(m.group(3)))
            if len(ms) == steps + 1:
                break
    p.terminate()
    p.wait()
    if len(ms) < steps + 1:
        sys.exit(f"bench-train: llm.c ({exe} in {work}) stopped after {len(ms)} steps:\n{''.join(tail)}")
    return ms, losses


def torch_worker(init, data, b, t, steps, threads):
    """(in a child process) oracle/train.py's model and AdamW in float32, timed per step. The
    oracle's reference forward takes one sequence; functorch.vmap runs it on the B sequences at
    once (batched matmuls, one gradient per weight: 2x faster than a loop over the sequences)."""
    import time
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    sys.path.insert(0, REPO)
    from oracle import models as OM
    from oracle import train as TR
    try:
        from functorch import vmap
    except ImportError:
        vmap = None
    tr = TR.Trainer(init, lr=SIDE_LR, schedule="constant", wd=0.0, clip=0.0, dtype=torch.float32)
    forward = vmap(lambda seq: OM.FAMILIES[tr.m.arch](tr.m, seq)) if vmap else None
    tokens = TR.read_tokens(data)
    torch.ones(64, 64) @ torch.ones(64, 64)   # loads the BLAS library, for blas_loaded()
    built = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    print("blas", blas_loaded(), f"(torch {torch.__version__}, built with BLAS_INFO={built.group(1) if built else '?'}; "
          f"{'B sequences batched by functorch.vmap' if vmap else 'one sequence at a time: no functorch'})", flush=True)
    for step in range(steps + 1):
        t0 = time.perf_counter()
        tr.opt.zero_grad(set_to_none=False)
        x, y = tr.next_batch(tokens, b, t)
        if forward:
            logits = forward(torch.as_tensor(x))
            loss = F.cross_entropy(logits.reshape(b * t, -1), torch.as_tensor(y).reshape(b * t))
        else:
            loss = tr.loss(x, y)
        loss.backward()
        tr.opt.step()
        print(f"step {step + 1} loss {float(loss):.6f} ms {(time.perf_counter() - t0) * 1e3:.1f}", flush=True)


def blas_loaded():
    """the BLAS libraries this process has mapped (after torch did a matmul), by their real paths"""
    libs = sorted({os.path.realpath(line.split()[-1]) for line in open("/proc/self/maps")
                   if "blas" in line.rsplit("/", 1)[-1] and line.split()[-1].startswith("/")})
    return ", ".join(libs) or "none mapped"


def torch_run(init, data, b, t, steps, threads):
    """(ms list, loss list, BLAS) of the PyTorch worker on `threads` threads"""
    out = run([sys.executable, os.path.abspath(__file__), "--torch-worker", init, data, b, t, steps, threads],
              env=threads_env(threads)).stdout
    rows = re.findall(r"step \d+ loss ([-+0-9.eEnaif]+) ms ([0-9.]+)", out)
    return [float(x) for _, x in rows], [float(x) for x, _ in rows], re.search(r"blas (.*)", out).group(1)


def torch_blas_note(blas):
    kind = ("OpenBLAS" if "openblas" in blas.lower() else "the reference BLAS, ~20x slower: apt-get install libopenblas0-pthread"
            if "/blas/" in blas else "unknown")
    return f"PyTorch's BLAS: {blas}: {kind}"


# ---- rows ------------------------------------------------------------------------------------
def side_row(a, cfg124):
    """GPT-2 124M-shaped, B=4 T=64, per thread count: ckernel, llm.c, PyTorch on the same weights and batch"""
    b, t = SIDE_B, SIDE_T
    data = shard(b * t + 1)
    work, init = ckernel_build("GPT-2 124M-shaped", cfg124, b, t)
    llmc_exe = llmc_build(a.llmc) if "llmc" in a.engines and a.llmc else None
    llmc_work = llmc_workdir(init, data) if llmc_exe else None
    same = ["--val", data, "--lr", SIDE_LR, "--schedule", "constant", "--wd", 0, "--clip", 0]
    print(f"\nGPT-2 124M-shaped, B={b} T={t}, ms/step (median of {a.steps} steps after the first): same init weights,\n"
          f"one batch (tokens 0..{b * t} of {os.path.basename(data)}) at every step; AdamW lr {SIDE_LR:g}, "
          "no decay, no clipping, float32")
    if not llmc_exe:
        print("llm.c: not compared (LLMC=/path/to/llm.c, a checkout of github.com/karpathy/llm.c)")
    print(f"{'threads':>7} {'ckernel':>9} {'llm.c':>9} {'PyTorch':>9} {'ck/llm.c':>9} {'ck/PyTorch':>11}")
    blas = None
    for n in a.threads:
        ms, losses = {}, {}   # engine -> median ms/step, loss per step
        if "ckernel" in a.engines:
            steps_ms, losses["ckernel"] = ckernel_run(work, init, b, t, a.steps, n, data, same)
            ms["ckernel"] = median_after_first(steps_ms)
        if llmc_exe:
            steps_ms, losses["llm.c"] = llmc_run(llmc_exe, llmc_work, a.steps, n)
            ms["llm.c"] = median_after_first(steps_ms)
        if "torch" in a.engines:
            steps_ms, losses["PyTorch"], blas = torch_run(init, data, b, t, a.steps, n)
            ms["PyTorch"] = median_after_first(steps_ms)
        cell = lambda k: f"{ms[k]:>9.0f}" if k in ms else f"{'-':>9}"
        ratio = lambda k, w: f"{ms['ckernel'] / ms[k]:>{w}.2f}" if k in ms and "ckernel" in ms else f"{'-':>{w}}"
        print(f"{n:>7} {cell('ckernel')} {cell('llm.c')} {cell('PyTorch')} {ratio('llm.c', 9)} {ratio('PyTorch', 11)}",
              flush=True)
        print(loss_check(losses), flush=True)
    print(f"goals (issue 16): ck/llm.c <= {GOAL_LLMC}, ck/PyTorch <= {GOAL_TORCH}")
    if blas:
        print(torch_blas_note(blas))


def loss_check(losses):
    """the step-1 losses (same weights, same batch: they must agree) and the last step's"""
    first = {k: v[0] for k, v in losses.items()}
    say = "        step-1 loss " + ", ".join(f"{k} {v:.6f}" for k, v in first.items())
    say += f"; after {len(next(iter(losses.values()))) - 1} updates " + ", ".join(f"{k} {v[-1]:.6f}" for k, v in losses.items())
    if len(first) < 2:
        return say
    rel = (max(first.values()) - min(first.values())) / abs(min(first.values()))
    if rel > LOSS_AGREE:
        return say + (f"\n        COMPARISON INVALID: step-1 losses differ by {rel:.1e} relative (> {LOSS_AGREE:g}): "
                      "not the same weights or batch")
    return say + f"\n        step-1 losses agree within {rel:.1e} relative (<= {LOSS_AGREE:g}): same weights and batch"


def mfu_rows(a, rows, cfg124, peak):
    """ckernel alone: tokens/s, GFLOP/s and MFU of the 124M shape at B=8 T=256 and of the demo"""
    n = a.threads[0]
    print(f"\nckernel alone, {n} threads, against the measured FMA peak ({peak:.1f} GFLOP/s):")
    print(f"{'config':<26} {'params':>8} {'B x T':>9} {'ms/step':>9} {'tokens/s':>9} {'GFLOP/s':>8} {'MFU':>6}")
    demo = os.path.join(REPO, "examples", "demo", "config.json")
    configs = (("mfu", "GPT-2 124M-shaped", cfg124, 8, 256), ("demo", "demo (examples/demo)", demo, 16, 256))
    for row, label, cfg_path, b, t in configs:
        if row not in rows:
            continue
        work, init = ckernel_build(f"{label} {b}x{t}", cfg_path, b, t)
        cfg = json.load(open(cfg_path))
        hdr = open(os.path.join(work, "init.h")).read()
        n_params = int(re.search(r"#define INIT_WEIGHTS_BYTES (\d+)", hdr).group(1)) / 4
        steps_ms, _ = ckernel_run(work, init, b, t, a.steps, n, shard(), ["--lr", SIDE_LR])
        ms = median_after_first(steps_ms)
        tps = b * t / ms * 1e3
        gf = (6 * n_params + 12 * cfg["n_layer"] * (t / 2) * cfg["n_embd"]) * tps / 1e9
        goal = f"   (goal >= {GOAL_MFU:.0%})" if row == "mfu" else ""
        print(f"{label:<26} {n_params / 1e6:>7.1f}M {f'{b}x{t}':>9} {ms:>9.0f} {tps:>9.0f} {gf:>8.1f} "
              f"{100 * gf / peak:>5.0f}%{goal}", flush=True)
    print("MFU = (6 x params + attention) FLOPs per token x tokens/s / measured peak")


def lora_row(a, cfg124):
    """LoRA fine-tuning (issue 16 item 3): the GPT-2 124M-shaped init quantized to Q8_0 and Q4_0 by
    ck quantize, a trainer generated with --lora 8 (every matrix of the block adapted), B=4 T=64 on
    the side-by-side's batch; beside it full f32 training of the same shape: ms/step and arena."""
    n = a.threads[0]
    b, t = 4, 64
    work, init = ckernel_build(f"GPT-2 124M-shaped {b}x{t}", cfg124, b, t)
    full_arena = int(re.search(r"#define INIT_TRAIN_BYTES (\d+)", open(os.path.join(work, "init_train.h")).read()).group(1))
    full_ms = median_after_first(ckernel_run(work, init, b, t, a.steps, n, shard(), ["--lr", SIDE_LR])[0])
    print(f"\nLoRA fine-tuning, GPT-2 124M-shaped, B={b} T={t}, {n} threads (rank 8 on qkv, o, up, down of every layer; "
          f"the base frozen in its type):")
    print(f"{'base':<8} {'trained':>12} {'ms/step':>9} {'arena MB':>9} {'file MB':>8}")
    print(f"{'f32':<8} {'all weights':>12} {full_ms:>9.0f} {full_arena / 1e6:>9.1f} {os.path.getsize(init) / 1e6:>8.1f}   (full training)")
    for qt in ("q8_0", "q4_0"):
        lw = os.path.join(BENCH, f"train-lora-{qt}")
        os.makedirs(lw, exist_ok=True)
        base = os.path.join(lw, f"base-{qt}.gguf")
        if not os.path.exists(base):
            run([os.path.join(B, "ck"), "quantize", init, base, qt, "-q"])
        run([os.path.join(B, "ck"), "build", base, "-o", lw, "--train", f"{b}x{t}", "--lora", 8])
        name = re.sub(r"\W", "_", f"base-{qt}")
        hdr = open(os.path.join(lw, f"{name}_train.h")).read()
        arena = int(re.search(r"#define \w+_TRAIN_BYTES (\d+)", hdr).group(1))
        params = int(re.search(r"#define \w+_TRAIN_PARAM_BYTES (\d+)", hdr).group(1)) // 4
        ms = median_after_first(ckernel_run(lw, base, b, t, a.steps, n, shard(), ["--lr", SIDE_LR])[0])
        print(f"{qt:<8} {f'{params / 1e6:.2f}M LoRA':>12} {ms:>9.0f} {arena / 1e6:>9.1f} {os.path.getsize(base) / 1e6:>8.1f}"
              f"   ({ms / full_ms:.2f}x the full step, {arena / full_arena:.2f}x its arena)", flush=True)


MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader"}


def mpi_row(a, cfg124):
    """1 process vs mpirun -np 2 on the same global batch (--accum 2), 1 thread per rank; then the sum alone"""
    b, t, accum = 4, 64, 2
    work, init = ckernel_build(f"GPT-2 124M-shaped {b}x{t}", cfg124, b, t)
    mw = os.path.join(BENCH, "train-mpi")
    os.makedirs(mw, exist_ok=True)
    run([os.path.join(B, "ck"), "build", init, "-o", mw, "--train", f"{b}x{t}", "--mpi"])
    n_params = int(re.search(r"#define INIT_WEIGHTS_BYTES (\d+)", open(os.path.join(work, "init.h")).read()).group(1)) // 4
    args = ["--init", init, "--data", shard(), "-b", b, "-t", t, "--accum", accum, "--steps", a.steps + 1, "--eval-batches", 1,
            "--lr", SIDE_LR]
    env = dict(threads_env(1), **MPI_ENV)
    one = run([os.path.join(work, "train"), "--out", os.path.join(work, "out")] + args, env=env)
    two = run(["mpirun", "--bind-to", "none", "-x", "OMP_NUM_THREADS", "-np", 2, os.path.join(mw, "train"),
               "--out", os.path.join(mw, "out")] + args, env=env)
    tps = lambda out: median_after_first([float(x) for x in re.findall(r"\| tok/s (\d+)", out)])
    share = re.search(r"all-reduce ([0-9.]+) s \(([0-9.]+)% of the time\)", two.stderr)
    print(f"\ndata-parallel over MPI, GPT-2 124M-shaped, B={b} T={t} --accum {accum} (the global batch), 1 thread per rank, "
          f"median of {a.steps} steps after the first:")
    print(f"{'ranks':>5} {'tokens/s':>9} {'speed-up':>9}")
    t1, t2 = tps(one.stdout), tps(two.stdout)
    print(f"{1:>5} {t1:>9.0f} {1:>9.2f}   (one process, built without MPI)")
    print(f"{2:>5} {t2:>9.0f} {t2 / t1:>9.2f}   (mpirun -np 2; all-reduce {share.group(1)} s = {share.group(2)}% of the run's time)")
    print(f"losses of the last step: 1 process {losses_of(one.stdout)[-1]:.6f}, 2 ranks {losses_of(two.stdout)[-1]:.6f}")
    exe = os.path.join(B, "bench_allreduce")
    print(run(["mpirun", "--bind-to", "none", "-np", 2, exe, n_params, 3], env=env).stdout.rstrip(), flush=True)


def losses_of(out):
    return [float(x) for x in re.findall(r"^step \d+/\d+ \| loss ([0-9.]+)", out, re.M)]


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        init, data, b, t, steps, threads = sys.argv[2:8]
        return torch_worker(init, data, int(b), int(t), int(steps), int(threads))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5, help="steps timed after the first (default 5)")
    ap.add_argument("--rows", default="side,mfu,demo,lora,mpi", help="side, mfu, demo, lora, mpi (default all)")
    ap.add_argument("--threads", default="2,1", help="thread counts of the side-by-side; the first also runs mfu and demo")
    ap.add_argument("--engines", default="ckernel,llmc,torch", help="of the side-by-side (llm.c also needs --llmc)")
    ap.add_argument("--llmc", default=os.environ.get("LLMC") or None, help="a checkout of llm.c (default $LLMC)")
    a = ap.parse_args()
    rows = a.rows.split(",")
    a.engines = a.engines.split(",")
    for bad in [r for r in rows if r not in ("side", "mfu", "demo", "lora", "mpi")]:
        sys.exit(f"bench-train: --rows: unknown row {bad!r} (side, mfu, demo, lora, mpi)")
    for bad in [e for e in a.engines if e not in ("ckernel", "llmc", "torch")]:
        sys.exit(f"bench-train: --engines: unknown engine {bad!r} (ckernel, llmc, torch)")
    if not re.fullmatch(r"[1-9]\d*(,[1-9]\d*)*", a.threads):
        sys.exit(f"bench-train: --threads {a.threads}: expected a comma-separated list of positive integers")
    a.threads = [int(x) for x in a.threads.split(",")]
    if not 1 <= a.steps < LLMC_MAX_STEP:
        sys.exit(f"bench-train: --steps {a.steps}: from 1 to {LLMC_MAX_STEP - 1} (train_gpt2.c runs steps 0..{LLMC_MAX_STEP})")
    if a.llmc and not os.path.isfile(os.path.join(a.llmc, "train_gpt2.c")):
        sys.exit(f"bench-train: LLMC={a.llmc}: no train_gpt2.c there (LLMC is a checkout of github.com/karpathy/llm.c)")
    os.makedirs(BENCH, exist_ok=True)
    cfg124 = os.path.join(BENCH, "gpt2-124M.json")
    json.dump(GPT2_124M, open(cfg124, "w"))
    print(f"bench-train, start: {uptime()}", flush=True)
    if "side" in rows:
        side_row(a, cfg124)
    if "mfu" in rows or "demo" in rows:
        out = run([os.path.join(B, "bench_kernels"), "--peak-only"], env=threads_env(a.threads[0])).stdout
        mfu_rows(a, rows, cfg124, float(re.search(r"([0-9.]+) GFLOP/s", out).group(1)))
    if "lora" in rows:
        lora_row(a, cfg124)
    if "mpi" in rows:
        mpi_row(a, cfg124)
    print(f"\nbench-train, end: {uptime()}")


if __name__ == "__main__":
    main()
