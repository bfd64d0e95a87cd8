"""LoRA training: the C trainer built with `ckgen --train --lora RANK` (examples/train.c; the base frozen,
only the adapters' A and B trained) against oracle/train.py's LoraTrainer (PyTorch autograd through
W + (alpha / rank) * B @ A on the float64-dequantized base, torch.optim.AdamW), step by step.

Per case: build/mkmodel (a random GGUF, matrices Q8_0 or Q4_0) -> ckgen --train --lora 4 -> cc train.c
(test_train.build_trainer); an initial adapter with random non-zero A and B (so A moves from step 1)
written by ck_lora_write_file (test_lora.write_adapter); `train --lora-init` for 20 steps on bytes of tiny
Shakespeare; the oracle trains the same adapter on the same batches. Every step's loss must agree within
1e-5 relative and A and B after 20 steps within 1e-4 (test_train's tolerances: float32 against float64
rounding only). Also: the oracle against oracle.train.Trainer by the chain rule; the default
initialisation (B = 0, A ~ N(0, 1/rank) from --seed); --stop-at/--resume bit-identical, and refused on
another base or alpha; the trained adapter merged by `ck lora-merge` against `run --lora`; the refusals of
LoRA options that cannot work. The whole file: ~45 s on 2 cores (four trainers, two run programs compiled).
"""
import os
import re

import numpy as np
import pytest
import torch

from oracle import gguf as G
from oracle import train as TR
from test_lora import lora_logits, reference, write_adapter
from test_lora import ALPHA as TEST_LORA_ALPHA
from test_models import Toolchain, diff, must, prompt, run_logits, sh
from test_train import B, COMMON, FAMILIES, T, LOSS_TOL, WEIGHT_TOL, build_trainer, losses, tool, train_args
from test_train import data  # noqa: F401 (the module's data fixture: 64 KiB of tiny Shakespeare)

RANK, ALPHA, STEPS = 4, 8.0, 20
# Tolerances LOSS_TOL 1e-5 relative, WEIGHT_TOL 1e-4 (test_train's): float32 against float64 rounding only. Adam
# turns a first-step gradient near zero (|g| ~ eps) into a step whose size follows g's rounding: perturbing the
# oracle's inputs by 1e-7 relative moves such an element by up to 3e-5 after 20 steps at lr 3e-3 (1e-4 at lr 1e-2),
# so the llama cases train at lr 3e-3, not more.
# --lora-targets name -> the GGUF weight (blk.N.<name>.weight)
TARGETS = {"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output", "gate": "ffn_gate", "up": "ffn_up",
           "down": "ffn_down", "qkv": "attn_qkv"}
# Every train option is exercised by some case; the Q4_0 case's file says alpha 5 and --lora-alpha 8 overrides
# it; the GPT-2 case (fused q|k|v) adapts only the targets it names.
CASES = {
    "llama_q8_0": dict(fam="llama", qtype="q8_0", file_alpha=ALPHA, lora_alpha=None, targets=None,
                       opts=dict(lr=3e-3, warmup=2, wd=0.1, clip=0.5)),
    "llama_q4_0": dict(fam="llama", qtype="q4_0", file_alpha=5.0, lora_alpha=ALPHA, targets=None,
                       opts=dict(lr=3e-3, schedule="constant", clip=0.0, accum=2, beta1=0.8, beta2=0.99, eps=1e-6)),
    "gpt2_q8_0": dict(fam="gpt2", qtype="q8_0", file_alpha=ALPHA, lora_alpha=None, targets="qkv,down",
                      opts=dict(lr=1e-2, min_lr_frac=0.0, wd=0.05)),
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("lora_train")


@pytest.fixture(scope="module")
def tc(work):
    """run programs against ckernel.h's implementation compiled once (test_models.Toolchain)"""
    return Toolchain(str(work))


_built = {}


def trainer(work, fam, qtype, targets=None):
    """(base GGUF, train program) of `ckgen --train --lora RANK [--lora-targets]`, built once per module"""
    key = (fam, qtype, targets)
    if key not in _built:
        lora = ["--lora", RANK] + (["--lora-targets", targets] if targets else [])
        try:
            gguf, _, exe = build_trainer(work, fam, qtype=qtype, lora=lora)
            _built[key] = gguf, exe
        except AssertionError as e:    # a failed build fails every test that needs it, without building it again
            _built[key] = e
    if isinstance(_built[key], AssertionError):
        raise _built[key]
    return _built[key]


def adapted_weights(gguf, targets=None):
    """{weight name: (n_in, n_out)} of the matrices the trainer adapts: the named targets, or every one the family has"""
    want = {TARGETS[t] for t in (targets.split(",") if targets else TARGETS)}
    out = {}
    for t in G.read(str(gguf)).tensors:
        name = t.name.decode()
        part = name.split(".")
        if len(part) == 4 and part[0] == "blk" and part[2] in want and part[3] == "weight":
            out[name] = tuple(t.ne)
    return out


def initial_adapter(path, gguf, targets, alpha, seed=3):
    """A ~ N(0, 1/rank), B ~ N(0, 0.05): the update 2 B @ A (~0.05) is ~40% of the base matrices (~N(0, 1/64)),
    and B != 0 so A's gradient is not zero at the first step"""
    rng = np.random.default_rng(seed)
    mats = {n: (rng.normal(0, 1 / RANK, (RANK, n_in)), rng.normal(0, 0.05, (n_out, RANK)))
            for n, (n_in, n_out) in adapted_weights(gguf, targets).items()}
    arch = G.read(str(gguf)).kv["general.architecture"].value.decode()
    return write_adapter(str(path), arch, mats, alpha)


def read_adapter(path):
    """(alpha, {weight name: (A [rank, n_in], B [n_out, rank])}) of a GGUF LoRA adapter, by oracle/gguf.py"""
    g = G.read(str(path))
    assert g.kv["general.type"].value == b"adapter" and g.kv["adapter.type"].value == b"lora", f"{path} is not a LoRA adapter"
    names = [t.name.decode() for t in g.tensors]
    mats = {n[:-7]: (g.array(n).astype(np.float64), g.array(n[:-7] + ".lora_b").astype(np.float64))
            for n in names if n.endswith(".lora_a")}
    assert len(names) == 2 * len(mats), f"{path}: tensors {names} are not pairs .lora_a/.lora_b"
    return float(g.kv["adapter.lora.alpha"].value), mats


def tokens_for_training(data):
    tokens = TR.read_tokens(str(data))
    return tokens[:len(tokens) - len(tokens) // 10]          # train.c keeps the last 10% for validation


_trained = {}


def train_case(work, data, name):
    """run the C trainer and the oracle on CASES[name] once per module: (case, gguf, out dir, C losses, oracle)"""
    if name in _trained:
        return _trained[name]
    c = CASES[name]
    gguf, exe = trainer(work, c["fam"], c["qtype"], c["targets"])
    init = initial_adapter(work / f"init_{name}.gguf", gguf, c["targets"], c["file_alpha"])
    out = work / f"out_{name}"
    o = c["opts"]
    args = ([exe, "--init", gguf, "--data", data, "--out", out, "-b", B, "-t", T, "--steps", STEPS, "--lora-init", init]
            + train_args(o) + (["--lora-alpha", c["lora_alpha"]] if c["lora_alpha"] else []))
    r = must(args)
    c_loss = losses(r.stdout)
    assert len(c_loss) == STEPS, f"expected {STEPS} progress lines 'step N/M | loss X', got:\n{r.stdout}"
    ref = TR.LoraTrainer(str(gguf), init, alpha=c["lora_alpha"], steps=STEPS, **{k: v for k, v in o.items() if k != "accum"})
    tokens = tokens_for_training(data)
    r_loss = [ref.step(s, tokens, B, T, accum=o.get("accum", 1))[0] for s in range(STEPS)]
    _trained[name] = c, gguf, out, c_loss, r_loss, ref, init
    return _trained[name]


# ============================================================================ parity with the oracle
@pytest.mark.parametrize("name", list(CASES))
def test_lora_training_parity(work, data, name):
    """per-step losses within 1e-5 relative and the final A and B within 1e-4 of PyTorch's (float32 vs
    float64 rounding only); A and B both move far more than that; the loss goes down; the output
    adapter holds exactly the adapted weights, with the alpha used"""
    c, gguf, out, c_loss, r_loss, ref, init = train_case(work, data, name)
    alpha, got = read_adapter(out / "adapter.gguf")
    _, start = read_adapter(init)
    exp = ref.adapter()
    assert alpha == ALPHA, f"{name}: the adapter says alpha {alpha}, training used {ALPHA}"
    assert sorted(got) == sorted(exp) == sorted(adapted_weights(gguf, c["targets"])), (sorted(got), sorted(exp))
    diffs, moved = {}, {}
    for w, (a, b) in exp.items():
        assert got[w][0].shape == a.shape and got[w][1].shape == b.shape, f"{w}: A {got[w][0].shape}, B {got[w][1].shape}"
        diffs[w + ".lora_a"], diffs[w + ".lora_b"] = float(np.abs(got[w][0] - a).max()), float(np.abs(got[w][1] - b).max())
        moved[w + ".lora_a"], moved[w + ".lora_b"] = float(np.abs(a - start[w][0]).max()), float(np.abs(b - start[w][1]).max())
    worst = sorted(diffs.items(), key=lambda kv: -kv[1])[:3]
    least = min(moved.items(), key=lambda kv: kv[1])
    div = TR.first_divergence(c_loss, r_loss, LOSS_TOL)
    rel = max(abs(a - b) / abs(b) for a, b in zip(c_loss, r_loss))
    print(f"\n{name}: {STEPS} steps, max loss rel diff {rel:.2e}, max adapter diff {worst[0][1]:.2e} ({worst[0][0]}); "
          f"least moved tensor {least[1]:.2e} ({least[0]}); loss {c_loss[0]:.4f} -> {c_loss[-1]:.4f}")
    assert div is None, (f"{name}: losses diverge first at step {div[0]}: C {div[1]:.8f} vs torch {div[2]:.8f} (rel {div[3]:.2e}); "
                         f"worst adapter tensors after {STEPS} steps: {worst}")
    assert worst[0][1] < WEIGHT_TOL, f"{name}: adapters differ after {STEPS} steps (losses agree within {rel:.1e}): {worst}"
    assert least[1] > 100 * WEIGHT_TOL, f"{name}: {least[0]} hardly moved ({least[1]:.2e}): the comparison would not see it"
    assert np.mean(c_loss[-5:]) < np.mean(c_loss[:5]) - 0.1, f"{name}: the loss did not go down: {c_loss}"


def test_oracle_lora_is_the_chain_rule_of_full_training(work, data):
    """the oracle itself (no C code): LoraTrainer's loss is Trainer's on the merged weights W + s B @ A, and its
    gradients are the chain rule of Trainer's dW: dA = s B^T dW, dB = s dW A^T (float64, to 1e-12 relative)"""
    gguf = work / "oracle_llama_q8_0.gguf"
    must([tool("mkmodel"), "llama", gguf] + COMMON + FAMILIES["llama"] + ["--type", "q8_0"])
    init = initial_adapter(work / "init_oracle.gguf", gguf, None, ALPHA)
    lora, full = TR.LoraTrainer(str(gguf), init), TR.Trainer(str(gguf))
    s = ALPHA / RANK
    _, mats = read_adapter(init)
    with torch.no_grad():
        for w, (a, b) in mats.items():
            full.params[w] += s * torch.from_numpy(b @ a)
    x, y = lora.next_batch(tokens_for_training(data), B, T)
    l_lora, l_full = lora.loss(x, y), full.loss(x, y)
    l_lora.backward()
    l_full.backward()
    assert abs(float(l_lora) - float(l_full)) < 1e-12 * float(l_full), (float(l_lora), float(l_full))
    worst = 0.0
    for w, (a, b) in mats.items():
        dw = full.params[w].grad.numpy()
        for got, want in ((lora.params[w + ".lora_a"].grad.numpy(), s * b.T @ dw), (lora.params[w + ".lora_b"].grad.numpy(), s * dw @ a.T)):
            worst = max(worst, float(np.abs(got - want).max() / np.abs(want).max()))
    assert worst < 1e-12, f"LoRA gradients differ from the chain rule by {worst:.2e} relative"
    assert all(not p.requires_grad for p in lora.base.values()), "the base is not frozen"


# ============================================================================ default initialisation
def test_default_init(work, data):
    """no --lora-init: B = 0 and A ~ N(0, std 1/rank) from --seed, alpha = rank. One step at lr 1e-30
    moves nothing measurable: |B| <= lr (an Adam step is at most lr per element). Same seed, same A bit
    for bit; another seed, another A. The first loss is the base model's (B = 0), as in the oracle."""
    gguf, exe = trainer(work, "llama", "q8_0")

    def run(tag, seed):
        out = work / f"init_{tag}"
        r = must([exe, "--init", gguf, "--data", data, "--out", out, "-b", B, "-t", T, "--steps", 1, "--lr", "1e-30",
                  "--lora", RANK, "--seed", seed])
        return out / "adapter.gguf", losses(r.stdout)
    path, loss1 = run("s1", 1)
    alpha, mats = read_adapter(path)
    assert alpha == RANK, f"default alpha is {alpha}, not the rank {RANK}"
    shapes = adapted_weights(gguf)
    assert sorted(mats) == sorted(shapes), f"adapted {sorted(mats)}, the family has {sorted(shapes)}"
    for w, (n_in, n_out) in shapes.items():
        assert mats[w][0].shape == (RANK, n_in) and mats[w][1].shape == (n_out, RANK), w
    a = np.concatenate([m[0].ravel() for m in mats.values()])
    b_max = max(float(np.abs(m[1]).max()) for m in mats.values())
    n = a.size
    # sampling tolerances, 5 standard errors: of the std (1/sqrt(2n)), of the mean (std/sqrt(n)), of the
    # fraction within one std (0.683 for a normal; 0.577 for a uniform of the same std)
    std, mean, within = float(a.std()), float(a.mean()), float(np.mean(np.abs(a) < 1 / RANK))
    print(f"\ndefault init: {n} values of A: std {std:.4f} (want {1 / RANK}), mean {mean:.2e}, "
          f"within 1 std {within:.3f} (normal 0.683); max|B| {b_max:.2e}")
    assert abs(std * RANK - 1) < 5 / np.sqrt(2 * n), f"A's std is {std:.4f}, not 1/rank = {1 / RANK}"
    assert abs(mean) < 5 / RANK / np.sqrt(n), f"A's mean is {mean:.3e}"
    assert abs(within - 0.6827) < 5 * np.sqrt(0.6827 * 0.3173 / n), f"A is not normal: {within:.3f} within one std"
    assert b_max <= 1.01e-30, f"B is not zero after a step of lr 1e-30: max|B| {b_max:.3e}"

    again, _ = run("s1_again", 1)
    other, _ = run("s2", 2)
    _, mats_again = read_adapter(again)
    _, mats_other = read_adapter(other)
    assert all(np.array_equal(mats[w][0], mats_again[w][0]) for w in mats), "the same --seed gave another A"
    same = np.mean(np.concatenate([(mats[w][0] == mats_other[w][0]).ravel() for w in mats]))
    assert same < 0.01, f"--seed 1 and --seed 2 give the same A in {same:.1%} of its values"

    ref = TR.LoraTrainer(str(gguf), str(path), steps=1, lr=1e-30)
    r_loss = ref.step(0, tokens_for_training(data), B, T)[0]
    assert len(loss1) == 1 and abs(loss1[0] - r_loss) / r_loss < LOSS_TOL, f"first loss {loss1} vs the oracle's {r_loss}"


# ============================================================================ checkpoints
def test_lora_resume_is_bit_identical(work, data):
    """--stop-at then --resume (with --init: the frozen base) prints the losses of an uninterrupted run and
    leaves the same adapter.gguf and train_state.bin, byte for byte"""
    gguf, exe = trainer(work, "llama", "q8_0")
    init = initial_adapter(work / "init_resume.gguf", gguf, None, ALPHA)
    args = ["--data", data, "-b", B, "-t", T, "--steps", 8, "--lr", "3e-3", "--warmup", "2", "--accum", "2", "--wd", "0.1"]
    full = must([exe, "--init", gguf, "--lora-init", init, "--out", work / "full"] + args)
    part = must([exe, "--init", gguf, "--lora-init", init, "--out", work / "part", "--stop-at", 3] + args)
    rest = must([exe, "--init", gguf, "--out", work / "part", "--resume"] + args)
    lines = lambda s: [re.sub(r"\| tok/s .*", "", l) for l in s.splitlines() if l.startswith("step ")]  # timing differs
    assert len(lines(part.stdout)) == 3 and len(lines(rest.stdout)) == 8 - 3 + 1    # 5 steps and the final val loss
    assert lines(part.stdout) + lines(rest.stdout) == lines(full.stdout), "a resumed run prints other losses than an uninterrupted one"
    for f in ("adapter.gguf", "train_state.bin"):
        assert open(work / "full" / "ckpt" / f, "rb").read() == open(work / "part" / "ckpt" / f, "rb").read(), f"{f} differs after resume"



@pytest.mark.parametrize("what", ["base", "alpha"])
def test_lora_resume_refuses_other_settings(work, data, what):
    """--resume on another base (same layout, other weights), or with another --lora-alpha than the
    checkpoint's adapter: refused naming the file or option (it would silently train something else)"""
    gguf, exe = trainer(work, "llama", "q8_0")
    init = initial_adapter(work / "init_resume.gguf", gguf, None, ALPHA)
    args = ["--data", data, "-b", B, "-t", T, "--steps", 8, "--lr", "3e-3"]
    out = work / f"stopped_{what}"
    must([exe, "--init", gguf, "--lora-init", init, "--out", out, "--stop-at", 3, "--quiet"] + args)
    if what == "base":
        other = work / "other_base_q8_0.gguf"     # another mkmodel seed
        must([tool("mkmodel"), "llama", other] + COMMON + FAMILIES["llama"] + ["--seed", "8", "--type", "q8_0"])
        r, says = sh([exe, "--init", other, "--out", out, "--resume"] + args), str(other)
    else:
        r, says = sh([exe, "--init", gguf, "--out", out, "--resume", "--lora-alpha", 16] + args), "--lora-alpha"
    assert r.returncode != 0 and says in r.stderr, f"--resume with another {what}: exit {r.returncode}\n{r.stderr}"


# ============================================================================ merged == run time
def exact_run_program(tc, gguf, out):
    """run.c on the exact matmul path (dequantized weights, fp32 products: what the oracle computes)"""
    out.mkdir(exist_ok=True)
    r = tc.ckgen(str(gguf), str(out))
    assert r.returncode == 0, r.stderr
    return tc.compile(str(out), "exact", exe="run")


def test_merged_equals_run_time(work, tc, data):
    """the trained adapter (Q8_0 base): `ck lora-merge` (adapted weights written as f32) gives the logits of
    `run --lora` within 1e-4, and both those of the float64 reference W + alpha/rank B @ A (test_lora's
    tolerances: the same sums in another order, f32 roundings of ~1e-6 relative per layer)"""
    c, gguf, out, *_ = train_case(work, data, "llama_q8_0")
    adapter = str(out / "adapter.gguf")
    merged = work / "merged" / "merged.gguf"
    merged.parent.mkdir()
    must([tool("ck"), "lora-merge", gguf, adapter, "-o", merged, "-q"])
    tokens = prompt(16)
    base_run = exact_run_program(tc, gguf, work / "run_base")
    merged_run = exact_run_program(tc, merged, merged.parent)
    runtime = lora_logits(base_run, str(gguf), tokens, adapter, scale=1.0)
    got = run_logits(merged_run, str(merged), tokens)
    _, mats = read_adapter(adapter)
    ref = reference(str(gguf), tokens, mats, ALPHA / TEST_LORA_ALPHA)   # test_lora's reference scales by its ALPHA
    base = run_logits(base_run, str(gguf), tokens)
    d, dr, moved = diff(got, runtime), diff(runtime, ref), diff(base, ref)
    print(f"\nmerged vs run --lora: max abs diff {d:.3e}; run --lora vs float64 reference {dr:.3e}; "
          f"the adapter moves the logits by {moved:.3f}")
    assert moved > 1e-2, f"the trained adapter moves the logits by only {moved:.3e}: the test would not see a lost update"
    assert d < 1e-4 and dr < 1e-4 and diff(got, ref) < 1e-4


# ============================================================================ refusals
def test_lora_option_without_lora_build(work, data):
    """--lora (and --lora-init, --lora-alpha) given to a trainer generated without --lora: refused, naming the option"""
    gguf, _, exe = build_trainer(work, "llama")
    init = initial_adapter(work / "init_f32.gguf", gguf, None, ALPHA)
    for opt in (["--lora", RANK], ["--lora-init", init], ["--lora-alpha", 8]):
        r = sh([exe, "--init", gguf, "--data", data, "--out", work / "never", "--steps", 1] + opt)
        assert r.returncode != 0 and opt[0] in r.stderr, (opt, r.returncode, r.stderr)
        assert not os.path.exists(work / "never" / "adapter.gguf")


def test_lora_rank_mismatch_is_refused(work, data):
    """--lora 8 to a program generated for rank 4: refused, naming the option and the rank it was built for"""
    gguf, exe = trainer(work, "llama", "q8_0")
    r = sh([exe, "--init", gguf, "--data", data, "--out", work / "never", "--steps", 1, "--lora", 8])
    assert r.returncode != 0 and "--lora" in r.stderr and "8" in r.stderr and "4" in r.stderr, (r.returncode, r.stderr)


@pytest.mark.parametrize("fam,targets,missing", [("llama", "q,qkv", "qkv"), ("gpt2", "qkv,q", "q"), ("gpt2", "gate,down", "gate"),
                                                 ("llama", "q,nope", "nope")])
def test_lora_targets_the_family_lacks_are_refused(work, fam, targets, missing):
    """at build time (ckgen and `ck build`): a target the family does not have is refused and named"""
    base = work / f"targets_{fam}.gguf"
    if not base.exists():
        must([tool("mkmodel"), fam, base] + COMMON + FAMILIES[fam] + ["--type", "q8_0"])
    names = re.compile(rf"\b{missing}\b")
    r = sh([tool("ckgen"), base, "-o", work / "never_gen", "--name", fam, "--train", "--train-batch", B, "--train-seq", T,
            "--lora", RANK, "--lora-targets", targets])
    assert r.returncode != 0 and names.search(r.stderr), (r.returncode, r.stderr)
    r = sh([tool("ck"), "build", base, "-o", work / "never_build", "--train", f"{B}x{T}", "--lora", RANK, "--lora-targets", targets])
    assert r.returncode != 0 and names.search(r.stderr), (r.returncode, r.stderr)
    assert not os.path.exists(work / "never_build" / "train")


def test_lora_init_with_wrong_shapes_is_refused(work, data):
    """--lora-init adapters that do not fit the program: one tensor's n_in, or another rank; refused naming the tensor"""
    gguf, exe = trainer(work, "llama", "q8_0")
    good = initial_adapter(work / "init_good.gguf", gguf, None, ALPHA)
    _, mats = read_adapter(good)
    w = "blk.1.ffn_down.weight"
    for what, change in (("n_in", lambda a, b: (a[:, :-2], b)), ("rank", lambda a, b: (a[:3], b[:, :3]))):
        bad = dict(mats)
        bad[w] = change(*mats[w])
        path = write_adapter(str(work / f"init_bad_{what}.gguf"), "llama", bad, ALPHA)
        r = sh([exe, "--init", gguf, "--data", data, "--out", work / "never", "--steps", 1, "--lora-init", path])
        assert r.returncode != 0 and w in r.stderr, (what, r.returncode, r.stderr)
