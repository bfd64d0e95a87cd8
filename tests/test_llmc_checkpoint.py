"""make bench-train's llm.c checkpoint writer (tests/bench_train.py: write_llmc_checkpoint), which
hands llm.c the same weights as ckernel: a tiny random GPT-2 GGUF written as llm.c's checkpoint and
read back by this file's own reader of the format (train_gpt2.c's gpt2_build_from_checkpoint:
int32 header[256], then 16 tensors, layers stacked). Every tensor must equal the array the GGUF
was made from, the padded vocabulary rows must be zero, and a forward pass that reads the
checkpoint as llm.c does (matmul_forward: out[o] = sum_i w[o*C + i] x[i]; q, k, v at offsets 0, C,
2C of the fused qkv) must give the oracle's logits of the GGUF. Models llm.c cannot hold are refused
naming the tensor. Also the bench's step-1 loss check. No llm.c needed."""
import math

import numpy as np
import pytest
import torch

from bench_train import llmc_padded_vocab, loss_check, write_llmc_checkpoint
from oracle import gguf as G
from oracle import models as OM

V, C, NH, L, MAX_T = 300, 32, 4, 2, 16   # V not a multiple of 128: 84 padding rows


def gpt2_arrays(rng, n_ff=4 * C):
    """GGUF name -> float32 array in GGUF's row-major [out][in] layout (shape = ne reversed)"""
    w = lambda *shape: rng.standard_normal(shape).astype(np.float32) * 0.1
    a = {"token_embd.weight": w(V, C), "position_embd.weight": w(MAX_T, C),
         "output_norm.weight": 1 + w(C), "output_norm.bias": w(C)}
    for il in range(L):
        p = f"blk.{il}."
        a.update({p + "attn_norm.weight": 1 + w(C), p + "attn_norm.bias": w(C),
                  p + "attn_qkv.weight": w(3 * C, C), p + "attn_qkv.bias": w(3 * C),
                  p + "attn_output.weight": w(C, C), p + "attn_output.bias": w(C),
                  p + "ffn_norm.weight": 1 + w(C), p + "ffn_norm.bias": w(C),
                  p + "ffn_up.weight": w(n_ff, C), p + "ffn_up.bias": w(n_ff),
                  p + "ffn_down.weight": w(C, n_ff), p + "ffn_down.bias": w(C)})
    return a


def write_gguf(path, arrays, arch="gpt2", n_ff=4 * C):
    kv = {"general.architecture": arch, f"{arch}.context_length": MAX_T, f"{arch}.embedding_length": C,
          f"{arch}.block_count": L, f"{arch}.feed_forward_length": n_ff, f"{arch}.attention.head_count": NH,
          f"{arch}.attention.layer_norm_epsilon": 1e-5}
    G.write(str(path), kv, [G.f32_tensor(n, a) for n, a in arrays.items()])


def read_llmc(path):
    """train_gpt2.c's reader: (header dims, llm.c name -> array of its documented shape)"""
    raw = np.fromfile(path, dtype="<i4", count=256)
    assert raw[0] == 20240326 and raw[1] == 3, f"magic {raw[0]}, version {raw[1]}"
    max_t, v, n_layer, n_head, c, vp = (int(x) for x in raw[2:8])
    shapes = [("wte", (vp, c)), ("wpe", (max_t, c)), ("ln1w", (n_layer, c)), ("ln1b", (n_layer, c)),
              ("qkvw", (n_layer, 3 * c, c)), ("qkvb", (n_layer, 3 * c)), ("attprojw", (n_layer, c, c)),
              ("attprojb", (n_layer, c)), ("ln2w", (n_layer, c)), ("ln2b", (n_layer, c)),
              ("fcw", (n_layer, 4 * c, c)), ("fcb", (n_layer, 4 * c)), ("fcprojw", (n_layer, c, 4 * c)),
              ("fcprojb", (n_layer, c)), ("lnfw", (c,)), ("lnfb", (c,))]
    flat = np.fromfile(path, dtype="<f4", offset=256 * 4)
    assert flat.size == sum(math.prod(s) for _, s in shapes), f"{flat.size} floats after the header"
    p, off = {}, 0
    for name, s in shapes:
        p[name] = flat[off:off + math.prod(s)].reshape(s)
        off += math.prod(s)
    return dict(maxT=max_t, V=v, L=n_layer, NH=n_head, C=c, Vp=vp), p


def llmc_logits(hdr, p, tokens):
    """logits [T, Vp] of one sequence, in float64, computed from the checkpoint as train_gpt2.c's
    gpt2_forward does: layernorm eps 1e-5, tanh GELU, causal attention per head, wte as lm head"""
    c, nh = hdr["C"], hdr["NH"]
    hs, t = c // nh, len(tokens)
    p = {k: v.astype(np.float64) for k, v in p.items()}

    def layernorm(x, w, b):
        m = x.mean(-1, keepdims=True)
        return (x - m) / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + 1e-5) * w + b

    def matmul(x, w, b):   # w (OC, C): out[o] = b[o] + sum_i w[o*C + i] x[i]
        return x @ w.T + b

    x = p["wte"][tokens] + p["wpe"][:t]
    for il in range(hdr["L"]):
        qkv = matmul(layernorm(x, p["ln1w"][il], p["ln1b"][il]), p["qkvw"][il], p["qkvb"][il])
        atty = np.zeros((t, c))
        for h in range(nh):
            q, k, v = (qkv[:, part * c + h * hs: part * c + (h + 1) * hs] for part in range(3))
            s = q @ k.T / math.sqrt(hs) + np.triu(np.full((t, t), -np.inf), 1)
            e = np.exp(s - s.max(-1, keepdims=True))
            atty[:, h * hs:(h + 1) * hs] = (e / e.sum(-1, keepdims=True)) @ v
        x = x + matmul(atty, p["attprojw"][il], p["attprojb"][il])
        u = matmul(layernorm(x, p["ln2w"][il], p["ln2b"][il]), p["fcw"][il], p["fcb"][il])
        u = 0.5 * u * (1 + np.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))
        x = x + matmul(u, p["fcprojw"][il], p["fcprojb"][il])
    return layernorm(x, p["lnfw"], p["lnfb"]) @ p["wte"].T


def test_llmc_checkpoint_holds_the_gguf_tensors(tmp_path):
    arrays = gpt2_arrays(np.random.default_rng(16))
    write_gguf(tmp_path / "m.gguf", arrays)
    dims = write_llmc_checkpoint(str(tmp_path / "m.gguf"), str(tmp_path / "m.bin"))
    hdr, p = read_llmc(tmp_path / "m.bin")
    assert hdr == dims == dict(maxT=MAX_T, V=V, L=L, NH=NH, C=C, Vp=384)
    assert llmc_padded_vocab(50257) == 50304   # llm.c's GPT-2 124M checkpoint
    np.testing.assert_array_equal(p["wte"][:V], arrays["token_embd.weight"])
    assert not p["wte"][V:].any(), "the padded vocabulary rows must be zero"
    np.testing.assert_array_equal(p["wpe"], arrays["position_embd.weight"])
    np.testing.assert_array_equal(p["lnfw"], arrays["output_norm.weight"])
    np.testing.assert_array_equal(p["lnfb"], arrays["output_norm.bias"])
    per_layer = {"ln1w": "attn_norm.weight", "ln1b": "attn_norm.bias", "qkvw": "attn_qkv.weight", "qkvb": "attn_qkv.bias",
                 "attprojw": "attn_output.weight", "attprojb": "attn_output.bias", "ln2w": "ffn_norm.weight",
                 "ln2b": "ffn_norm.bias", "fcw": "ffn_up.weight", "fcb": "ffn_up.bias", "fcprojw": "ffn_down.weight",
                 "fcprojb": "ffn_down.bias"}
    for llmc_name, gguf_name in per_layer.items():
        for il in range(L):
            np.testing.assert_array_equal(p[llmc_name][il], arrays[f"blk.{il}.{gguf_name}"], err_msg=f"{llmc_name}[{il}]")


def test_llmc_checkpoint_computes_the_gguf_model(tmp_path):
    """layout, not just values: a forward reading the checkpoint as llm.c does gives the oracle's logits"""
    write_gguf(tmp_path / "m.gguf", gpt2_arrays(np.random.default_rng(17)))
    write_llmc_checkpoint(str(tmp_path / "m.gguf"), str(tmp_path / "m.bin"))
    hdr, p = read_llmc(tmp_path / "m.bin")
    tokens = np.random.default_rng(18).integers(0, V, MAX_T)
    got = llmc_logits(hdr, p, tokens)
    with torch.no_grad():
        want = OM.load(str(tmp_path / "m.gguf")).forward(tokens).numpy()
    assert not got[:, V:].any(), "padded vocabulary logits must be zero"
    np.testing.assert_allclose(got[:, :V], want, rtol=0, atol=1e-10)   # both float64 from the same float32 weights


@pytest.mark.parametrize("case, message", [
    ("untied", "output.weight"),
    ("llama", "architecture 'llama'"),
    ("n_ff", "blk.0.ffn_up.weight has shape [96, 32]"),
    ("extra", "tensor blk.0.extra.weight has no place"),
    ("missing", "no tensor blk.1.ffn_down.bias"),
])
def test_llmc_checkpoint_refuses_what_llmc_cannot_hold(tmp_path, case, message):
    rng = np.random.default_rng(19)
    arrays = gpt2_arrays(rng, n_ff=96 if case == "n_ff" else 4 * C)
    if case == "untied":
        arrays["output.weight"] = arrays["token_embd.weight"].copy()
    if case == "extra":
        arrays["blk.0.extra.weight"] = np.ones(C, dtype=np.float32)
    if case == "missing":
        del arrays["blk.1.ffn_down.bias"]
    write_gguf(tmp_path / "m.gguf", arrays, arch="llama" if case == "llama" else "gpt2", n_ff=96 if case == "n_ff" else 4 * C)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        write_llmc_checkpoint(str(tmp_path / "m.gguf"), str(tmp_path / "m.bin"))


def test_bench_says_when_the_step1_losses_disagree():
    """the bench's sanity line: engines on the same weights and batch agree, else it says invalid"""
    same = loss_check({"ckernel": [10.935330, 8.2], "llm.c": [10.935329, 8.2]})
    assert "agree within" in same and "INVALID" not in same
    assert "COMPARISON INVALID" in loss_check({"ckernel": [10.935330, 8.2], "llm.c": [10.94, 8.2]})
