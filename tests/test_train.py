"""Training parity: the C trainer that ckgen generates (NAME_train.h + examples/train.c) against
the PyTorch trainer of oracle/train.py, step by step, for every family.

Per family: build/mkmodel (a random f32 GGUF) -> build/ckgen --train -> cc examples/train.c ->
`train` for 20 steps on bytes of tiny Shakespeare; the oracle trains the same GGUF on the same
batches with torch autograd and torch.optim.AdamW in float64. Every step's loss must agree within
1e-5 relative and every weight within 1e-4 after 20 steps. On failure the message names the first
step whose loss diverged and the tensors that differ most.

Also: --resume after an interruption is bit-identical with an uninterrupted run; --recompute
(activation recomputation) is bit-identical with keeping every activation and saves the planned
bytes; a CK_CANARIES build names the overwritten section and the op that ran last; bad options
are refused.
Checkpoint safety, state validation, signals and strict options: test_train_safety.py.
"""
import os
import re

import numpy as np
import pytest

from oracle import train as TR
from oracle.ckernel import build_dir
from test_models import must, sh  # one thread, output on failure: the same runner as the model tests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "examples", "demo", "tinyshakespeare.txt")
CC = os.environ.get("CC", "cc")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2", os.environ.get("CK_TEST_ARCH", "-march=native"), "-fopenmp"]
STEPS, B, T = 20, 2, 16
LOSS_TOL, WEIGHT_TOL = 1e-5, 1e-4

COMMON = ["--vocab", "256", "--embd", "64", "--ff", "128", "--ctx", "64"]
FAMILIES = {
    "gpt2": ["--heads", "4", "--layers", "2"],
    "llama": ["--heads", "4", "--kv-heads", "2", "--layers", "2"],
    "qwen2": ["--heads", "4", "--kv-heads", "2", "--layers", "2", "--tied"],
    "qwen3": ["--heads", "4", "--kv-heads", "2", "--head-dim", "32", "--layers", "2"],
    "gemma3": ["--heads", "4", "--kv-heads", "2", "--head-dim", "32", "--layers", "2", "--window", "8"],
    "gemma2": ["--heads", "4", "--kv-heads", "2", "--head-dim", "32", "--layers", "2", "--window", "8", "--attn-softcap", "3"],
    "phi3": ["--heads", "4", "--kv-heads", "2", "--layers", "2", "--window", "8"],
    # rope scaling in training: Llama 3 frequency factors, YaRN, LongRoPE (long factors, attn_factor)
    "llama3_freqs": ["--heads", "4", "--kv-heads", "2", "--layers", "2", "--rope-freqs", "--rope-orig-ctx", "256"],
    "qwen2_yarn": ["--heads", "4", "--kv-heads", "2", "--layers", "2", "--rope-scaling", "yarn", "--rope-factor", "4",
                   "--rope-orig-ctx", "32"],
    "phi3_longrope": ["--heads", "4", "--kv-heads", "2", "--layers", "2", "--rope-longrope", "--rope-orig-ctx", "32"],
}
ARCH = {"llama3_freqs": "llama", "qwen2_yarn": "qwen2", "phi3_longrope": "phi3"}   # cases that are not a family name
# every option of the trainer is exercised by some family
OPTIONS = {
    "gpt2": dict(lr=1e-3, schedule="constant", clip=0.0),
    "llama": dict(lr=1e-3, warmup=5, wd=0.1, clip=0.5, accum=2),
    "qwen2": dict(lr=2e-3, beta1=0.8, beta2=0.99, eps=1e-6),
    "qwen3": dict(lr=1e-3, min_lr_frac=0.0),
    "gemma3": dict(lr=1e-3, warmup=2),
    "gemma2": dict(lr=1e-3, wd=0.1),
    "phi3": dict(lr=1e-3, clip=0.5),
    "llama3_freqs": dict(lr=1e-3),
    "qwen2_yarn": dict(lr=1e-3),
    "phi3_longrope": dict(lr=1e-3),
}
# The key bias gets an identically zero true gradient (softmax is shift-invariant per query), so
# Adam turns rounding noise into steps of up to lr: it is compared with lr * steps instead.
KEY_BIAS = {"gpt2": ("attn_qkv.bias", slice(64, 128)), "qwen2": ("attn_k.bias", slice(None)), "qwen2_yarn": ("attn_k.bias", slice(None))}


def tool(name):
    p = os.path.join(build_dir(), name)
    if not os.path.exists(p):
        pytest.fail(f"{p} not found: run `make {os.path.relpath(p, REPO)}`", pytrace=False)
    return p


def train_args(o):
    a = ["--lr", o.get("lr", 3e-4), "--schedule", o.get("schedule", "cosine"), "--warmup", o.get("warmup", 0),
         "--wd", o.get("wd", 0.0), "--clip", o.get("clip", 1.0), "--beta1", o.get("beta1", 0.9), "--beta2", o.get("beta2", 0.999),
         "--eps", o.get("eps", 1e-8), "--accum", o.get("accum", 1), "--min-lr-frac", o.get("min_lr_frac", 0.1)]
    return [str(x) for x in a]


def losses(stdout):
    return [float(m.group(2)) for m in re.finditer(r"^step (\d+)/\d+ \| loss ([-+0-9.eE]+)", stdout, re.M)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    p = d / "shakespeare_64k.txt"
    p.write_bytes(open(DATA, "rb").read()[:65536])
    return p


def build_trainer(work, fam, extra_cflags=(), recompute=False, qtype="f32", lora=()):
    """mkmodel FAM (weights of type qtype) -> ckgen --train [--recompute] [lora: ckgen's LoRA options] -> cc train.c"""
    base = fam + ("" if qtype == "f32" else "_" + qtype)
    gguf = work / f"{base}.gguf"
    if not gguf.exists():
        must([tool("mkmodel"), ARCH.get(fam, fam), gguf] + COMMON + FAMILIES[fam] + ["--seed", "7"]
             + ([] if qtype == "f32" else ["--type", qtype]))
    rc = ("_recompute" if recompute else "") + "".join("_" + str(x).strip("-").replace(",", "") for x in lora)
    gen = work / f"gen_{base}{rc}"
    must([tool("ckgen"), gguf, "-o", gen, "--name", fam, "--train", "--train-batch", B, "--train-seq", T, "--no-bump"]
         + (["--recompute"] if recompute else []) + list(lora))
    exe = work / (f"train_{base}{rc}" + ("_canary" if extra_cflags else ""))
    must([CC] + CFLAGS + list(extra_cflags) + ["-I", REPO, "-I", gen, f'-DCK_MODEL_HEADER="{fam}.h"',
                                               f'-DCK_TRAIN_HEADER="{fam}_train.h"', os.path.join(REPO, "examples", "train.c"), "-o", exe, "-lm"])
    return gguf, gen, exe


@pytest.mark.parametrize("fam", list(FAMILIES))
def test_training_parity(fam, tmp_path, data):
    gguf, gen, exe = build_trainer(tmp_path, fam)
    o = OPTIONS[fam]
    r = must([exe, "--init", gguf, "--data", data, "--out", tmp_path / "out", "-b", B, "-t", T, "--steps", STEPS] + train_args(o))
    c_loss = losses(r.stdout)
    assert len(c_loss) == STEPS, f"expected {STEPS} progress lines 'step N/M | loss X', got:\n{r.stdout}"

    ref = TR.Trainer(str(gguf), steps=STEPS, **{k: v for k, v in o.items() if k != "accum"})
    tokens = TR.read_tokens(str(data))
    tokens = tokens[:len(tokens) - len(tokens) // 10]          # train.c keeps the last 10% for validation
    r_loss = [ref.step(s, tokens, B, T, accum=o.get("accum", 1))[0] for s in range(STEPS)]

    got = TR.read_weights(str(tmp_path / "out" / "model.gguf"))
    exp = ref.weights()
    diffs = {}
    for name, w in exp.items():
        d = np.abs(got[name].astype(np.float64) - w)
        kb = KEY_BIAS.get(fam)
        if kb and name.endswith(kb[0]):
            assert d[kb[1]].max() <= o["lr"] * STEPS * 1.01, f"{name} (key bias) moved beyond lr * steps"
            d[kb[1]] = 0
        diffs[name] = float(d.max())
    worst = sorted(diffs.items(), key=lambda kv: -kv[1])[:3]
    div = TR.first_divergence(c_loss, r_loss, LOSS_TOL)
    rel = max(abs(a - b) / abs(b) for a, b in zip(c_loss, r_loss))
    print(f"\n{fam}: {STEPS} steps, max loss rel diff {rel:.2e}, max weight diff {worst[0][1]:.2e} ({worst[0][0]}); "
          f"loss {c_loss[0]:.4f} -> {c_loss[-1]:.4f}")
    assert div is None, (f"{fam}: losses diverge first at step {div[0]}: C {div[1]:.8f} vs torch {div[2]:.8f} (rel {div[3]:.2e}); "
                         f"worst weights after {STEPS} steps: {worst}")
    assert worst[0][1] < WEIGHT_TOL, f"{fam}: weights differ after {STEPS} steps (losses agree within {rel:.1e}): {worst}"
    assert c_loss[-1] < c_loss[0] - 0.3, f"{fam}: the loss did not go down: {c_loss}"


def test_resume_is_bit_identical(tmp_path, data):
    gguf, gen, exe = build_trainer(tmp_path, "llama")
    args = ["--data", data, "-b", B, "-t", T, "--steps", 12, "--lr", "1e-3", "--warmup", "2", "--accum", "2"]
    full = must([exe, "--init", gguf, "--out", tmp_path / "full"] + args)
    part = must([exe, "--init", gguf, "--out", tmp_path / "part", "--stop-at", 5] + args)
    rest = must([exe, "--out", tmp_path / "part", "--resume"] + args)
    lines = lambda s: [re.sub(r"\| tok/s .*", "", l) for l in s.splitlines() if l.startswith("step ")]  # timing differs
    assert len(lines(part.stdout)) == 5 and len(lines(rest.stdout)) == 12 - 5 + 1    # 7 steps and the final val loss
    assert lines(part.stdout) == lines(full.stdout)[:5]
    assert lines(rest.stdout) == lines(full.stdout)[5:], "a resumed run prints other losses than an uninterrupted one"
    for f in ("model.gguf", "train_state.bin"):
        assert open(tmp_path / "full" / "ckpt" / f, "rb").read() == open(tmp_path / "part" / "ckpt" / f, "rb").read(), f"{f} differs after resume"
    assert sorted(os.listdir(tmp_path / "part")) == ["ckpt", "ckpt-00000012", "model.gguf"], "a checkpoint directory was left behind"


def train_plan(gen, fam):
    """the generated header's section table {name: bytes}, TRAIN_BYTES, TRAIN_LAYER_BYTES and N_LAYER"""
    h = open(os.path.join(gen, f"{fam}_train.h")).read()
    sections = {m.group(1): int(m.group(3)) for m in re.finditer(r'^    \{ "([a-z ]+)", (0x[0-9a-f]+), (\d+) \},$', h, re.M)}
    num = lambda name: int(re.search(rf"^#define {fam.upper()}_{name} (\d+)", h + open(os.path.join(gen, f"{fam}.h")).read(), re.M).group(1))
    return sections, num("TRAIN_BYTES"), num("TRAIN_LAYER_BYTES"), num("N_LAYER")


RECOMPUTE_FAMILIES = ["gpt2", "llama", "gemma2", "gemma3", "qwen3", "phi3"]


@pytest.mark.parametrize("fam", RECOMPUTE_FAMILIES)
def test_recompute_is_bit_identical(fam, tmp_path, data):
    """--recompute: the same losses and weights, bit for bit, as keeping every layer's activations, in an
    arena smaller by (N_LAYER - 1) x the bytes a layer no longer keeps (less the slab's canary)"""
    gguf, gen, exe = build_trainer(tmp_path, fam)
    _, gen_rc, exe_rc = build_trainer(tmp_path, fam, recompute=True)
    args = ["--init", gguf, "--data", data, "-b", B, "-t", T, "--steps", 6, "--lr", "1e-3", "--accum", 2, "--clip", "0.5"]
    full = must([exe, "--out", tmp_path / "full"] + args)
    rc = must([exe_rc, "--out", tmp_path / "rc"] + args)
    lines = lambda s: [re.sub(r"\| tok/s .*", "", l) for l in s.splitlines() if l.startswith("step ")]  # timing differs
    assert len(lines(full.stdout)) == 7 and lines(rc.stdout) == lines(full.stdout), f"{fam}: --recompute changes the losses"
    for f in ("model.gguf", "train_state.bin"):
        assert open(tmp_path / "full" / "ckpt" / f, "rb").read() == open(tmp_path / "rc" / "ckpt" / f, "rb").read(), f"{fam}: {f} differs"
    sec, total, per_layer, n_layer = train_plan(gen, fam)
    sec_rc, total_rc, per_layer_rc, n_layer_rc = train_plan(gen_rc, fam)
    assert "recompute slab" not in sec and sec_rc["recompute slab"] > 0 and n_layer == n_layer_rc == 2
    assert sum(sec.values()) + 64 * len(sec) == total and sum(sec_rc.values()) + 64 * len(sec_rc) == total_rc
    assert 0 < per_layer_rc < per_layer
    assert total - total_rc == (n_layer - 1) * (per_layer - per_layer_rc) - 64, (sec, sec_rc, per_layer, per_layer_rc)
    assert "| recompute slab" in rc.stderr and "(recompute: per layer only its input is kept)" in rc.stderr, rc.stderr
    assert "recompute slab" not in full.stderr and "| saved activations" in full.stderr, full.stderr


@pytest.mark.parametrize("recompute", [False, True], ids=["kept", "recompute"])
def test_canary_names_section_and_op(tmp_path, recompute):
    """a write past the end of a section (the gradients; with --recompute the slab) is caught after the op that ran and named"""
    gguf, gen, _ = build_trainer(tmp_path, "gpt2", recompute=recompute)
    sec = 5 if recompute else 1
    src = tmp_path / "overrun.c"
    src.write_text('#define CK_IMPLEMENTATION\n#include "ckernel.h"\n#include "gpt2.h"\n#include "gpt2_train.h"\n#include <stdlib.h>\n'
                   'int main(void) {\n'
                   '    uint8_t *A = (uint8_t *)calloc(1, (size_t)GPT2_TRAIN_BYTES);\n'
                   '    int32_t tok[GPT2_TRAIN_MAX_B * GPT2_TRAIN_MAX_T] = {0};\n'
                   '    gpt2_train_init(A);\n'
                   '    /* a kernel that writes one float too many at the end of the section */\n'
                   f'    ((float *)(void *)(A + gpt2_train_sections[{sec}].off + gpt2_train_sections[{sec}].bytes))[0] = 1.0f;\n'
                   '    gpt2_train_forward(A, tok, tok, 1, 4);\n'
                   '    return 0;\n}\n')
    exe = tmp_path / "overrun"
    must([CC, "-std=c99", "-O1", "-DCK_CANARIES", "-I", REPO, "-I", gen, src, "-o", exe, "-lm"])
    r = sh([exe])
    assert r.returncode != 0, "the overrun was not caught"
    name = "recompute slab" if recompute else "gradients"
    assert f"canary after section '{name}' overwritten" in r.stderr and "last op: forward OP(embedding" in r.stderr, r.stderr


def test_bad_options_are_refused(tmp_path, data):
    gguf, gen, exe = build_trainer(tmp_path, "qwen3")
    r = sh([exe, "--init", gguf, "--data", data, "--out", tmp_path / "o", "-b", B + 1])
    assert r.returncode == 2 and "generated for at most" in r.stderr, r.stderr
    r = sh([exe, "--init", gguf, "--data", tmp_path / "missing.txt", "--out", tmp_path / "o"])
    assert r.returncode == 1 and "missing.txt" in r.stderr, r.stderr
    r = sh([exe, "--data", data, "--out", tmp_path / "nothing_here", "--resume"])
    assert r.returncode == 1 and "no checkpoint in " + str(tmp_path / "nothing_here") in r.stderr, r.stderr
    q = tmp_path / "q8.gguf"
    must([tool("mkmodel"), "llama", q, "--type", "q8_0"] + COMMON + FAMILIES["llama"])
    r = sh([tool("ckgen"), q, "-o", tmp_path / "gq", "--train"])
    assert r.returncode != 0 and "needs f32 weights" in r.stderr and "ck dequantize" in r.stderr, r.stderr
    r = sh([tool("ckgen"), gguf, "-o", tmp_path / "gr", "--recompute"])
    assert r.returncode == 2 and "--recompute is an option of --train" in r.stderr, r.stderr
    r = sh([tool("ck"), "build", gguf, "-o", tmp_path / "br", "--recompute"])
    assert r.returncode == 2 and "--recompute is an option of --train" in r.stderr, r.stderr


def test_llmc_shard_reads_as_the_same_tokens(tmp_path, data):
    """an llm.c .bin shard (256 int32 header, magic 20240520, uint16 tokens) of the same bytes trains identically"""
    gguf, gen, exe = build_trainer(tmp_path, "qwen3")
    raw = np.frombuffer(open(data, "rb").read(), dtype=np.uint8).astype(np.uint16)
    hdr = np.zeros(256, dtype=np.int32)
    hdr[0], hdr[1], hdr[2] = 20240520, 1, len(raw)
    shard = tmp_path / "data.bin"
    shard.write_bytes(hdr.tobytes() + raw.tobytes())
    args = ["-b", B, "-t", T, "--steps", 3, "--lr", "1e-3"]
    a = must([exe, "--init", gguf, "--data", data, "--out", tmp_path / "a"] + args)
    b = must([exe, "--init", gguf, "--data", shard, "--out", tmp_path / "b"] + args)
    assert losses(a.stdout) == losses(b.stdout) and len(losses(a.stdout)) == 3
    hdr[1] = 2
    shard.write_bytes(hdr.tobytes() + raw.tobytes())
    r = sh([exe, "--init", gguf, "--data", shard, "--out", tmp_path / "c"] + args)
    assert r.returncode == 1 and "version 2" in r.stderr, r.stderr
