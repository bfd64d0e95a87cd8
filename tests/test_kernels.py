"""PyTorch (float64) parity tests for every ckernel kernel, forward and backward.

Every test runs against both builds (fixture ``lib``: simd, scalar).  Backward kernels must
ACCUMULATE: gradient buffers are pre-filled with random values and the result must equal
prefill + true gradient (ck_rope_backward is the exception: it rotates dx in place).
Criterion: max|ck - ref| < 1e-5 on unit-scale inputs; large-magnitude inputs use
max|ck - ref| / max(1, max|ref|) < 1e-5 (``rel=True``).
"""
import math

import numpy as np
import pytest

from oracle import reference as ref

f32 = np.float32
TOL = 1e-5


def P(*vals, id):
    return pytest.param(*vals, id=id)


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(f32)


def prefill(rng, *shape):
    """Random nonzero gradient prefill (float32) used to check accumulate semantics."""
    return randn(rng, *shape)


SCALES = [P(1.0, id="unit"), P(1e3, id="large")]


# =========================================================================== embedding
EMB_SHAPES = [P(1, 1, 5, id="T1-C1-V5"), P(3, 7, 11, id="T3-C7-V11"), P(17, 64, 13, id="T17-C64-V13"),
              P(5, 33, 3, id="T5-C33-V3"), P(3, 129, 50, id="T3-C129-V50")]
POS0 = [P(0, id="pos0=0"), P(5, id="pos0=5")]
WPE = [P(True, id="wpe"), P(False, id="no_wpe")]


def _emb_inputs(rng, T, C, V, pos0, use_wpe):
    tokens = rng.integers(0, V, size=T).astype(np.int32)
    wte = randn(rng, V, C)
    wpe = randn(rng, pos0 + T + 3, C) if use_wpe else None
    return tokens, wte, wpe


@pytest.mark.parametrize("use_wpe", WPE)
@pytest.mark.parametrize("pos0", POS0)
@pytest.mark.parametrize("T,C,V", EMB_SHAPES)
def test_embedding_forward(lib, check, rng, T, C, V, pos0, use_wpe):
    tokens, wte, wpe = _emb_inputs(rng, T, C, V, pos0, use_wpe)
    out = lib.embedding_forward(tokens, wte, wpe, pos0)
    check("embedding_forward", out, ref.embedding_forward(tokens, wte, wpe, pos0))


@pytest.mark.parametrize("use_wpe", WPE)
@pytest.mark.parametrize("pos0", POS0)
@pytest.mark.parametrize("T,C,V", EMB_SHAPES)
def test_embedding_backward(lib, check, rng, T, C, V, pos0, use_wpe):
    tokens, wte, wpe = _emb_inputs(rng, T, C, V, pos0, use_wpe)
    dout = randn(rng, T, C)
    dwte0 = prefill(rng, *wte.shape)
    dwpe0 = prefill(rng, *wpe.shape) if use_wpe else None
    dwte = dwte0.copy()
    dwpe = None if dwpe0 is None else dwpe0.copy()
    lib.embedding_backward(dwte, dwpe, dout, tokens, pos0)
    g_wte, g_wpe = ref.embedding_backward(dout, tokens, wte, wpe, pos0)
    check("embedding_backward", dwte, dwte0 + g_wte, what="dwte")
    if use_wpe:
        check("embedding_backward", dwpe, dwpe0 + g_wpe, what="dwpe")


# =========================================================================== matmul
MM_SHAPES = [P(1, 1, 1, id="T1-C1-OC1"), P(3, 7, 5, id="T3-C7-OC5"), P(17, 8, 64, id="T17-C8-OC64"),
             P(3, 33, 97, id="T3-C33-OC97"), P(17, 64, 1, id="T17-C64-OC1"),
             P(1, 129, 97, id="T1-C129-OC97"), P(17, 129, 64, id="T17-C129-OC64"),
             P(4, 768, 97, id="T4-C768-OC97")]
BIAS = [P(True, id="bias"), P(False, id="no_bias")]


def _mm_inputs(rng, T, C, OC, use_bias):
    inp = randn(rng, T, C)
    weight = randn(rng, OC, C, scale=1.0 / math.sqrt(C))
    bias = randn(rng, OC) if use_bias else None
    return inp, weight, bias


@pytest.mark.parametrize("use_bias", BIAS)
@pytest.mark.parametrize("T,C,OC", MM_SHAPES)
def test_matmul_forward(lib, check, rng, T, C, OC, use_bias):
    inp, weight, bias = _mm_inputs(rng, T, C, OC, use_bias)
    check("matmul_forward", lib.matmul_forward(inp, weight, bias), ref.matmul_forward(inp, weight, bias))


@pytest.mark.parametrize("use_bias", BIAS)
@pytest.mark.parametrize("T,C,OC", MM_SHAPES)
def test_matmul_backward(lib, check, rng, T, C, OC, use_bias):
    inp, weight, bias = _mm_inputs(rng, T, C, OC, use_bias)
    dout = randn(rng, T, OC)
    dinp0, dw0 = prefill(rng, T, C), prefill(rng, OC, C)
    db0 = prefill(rng, OC) if use_bias else None
    dinp, dw, db = dinp0.copy(), dw0.copy(), (None if db0 is None else db0.copy())
    lib.matmul_backward(dinp, dw, db, dout, inp, weight)
    g_inp, g_w, g_b = ref.matmul_backward(dout, inp, weight, bias)
    check("matmul_backward", dinp, dinp0 + g_inp, what="dinp")
    check("matmul_backward", dw, dw0 + g_w, what="dweight")
    if use_bias:
        check("matmul_backward", db, db0 + g_b, what="dbias")


# =========================================================================== rmsnorm / layernorm
NORM_SHAPES = [P(1, 1, id="T1-C1"), P(3, 7, id="T3-C7"), P(17, 8, id="T17-C8"), P(3, 33, id="T3-C33"),
               P(17, 64, id="T17-C64"), P(1, 129, id="T1-C129"), P(5, 768, id="T5-C768"),
               P(64, 520, id="T64-C520")]   # T*C > CK_OMP_MIN_WORK (32768): exercises the OpenMP path
RMS_EPS = 1e-6
LN_EPS = 1e-5


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("T,C", NORM_SHAPES)
def test_rmsnorm_forward(lib, check, rng, T, C, scale):
    inp, weight = randn(rng, T, C, scale=scale), randn(rng, C)
    out, rstd = lib.rmsnorm_forward(inp, weight, RMS_EPS)
    r_out, r_rstd = ref.rmsnorm_forward(inp, weight, RMS_EPS)
    check("rmsnorm_forward", out, r_out, rel=scale != 1.0, what="out")
    # rstd = 1/rms can be >> 1 (tiny rows); float32 has ~6e-8 *relative* resolution -> relative criterion
    check("rmsnorm_forward", rstd, r_rstd, rel=True, what="rstd")


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("T,C", NORM_SHAPES)
def test_rmsnorm_backward(lib, check, rng, T, C, scale):
    inp, weight = randn(rng, T, C, scale=scale), randn(rng, C)
    dout = randn(rng, T, C)
    rstd = ref.rmsnorm_forward(inp, weight, RMS_EPS)[1].astype(f32)
    dinp0, dw0 = prefill(rng, T, C), prefill(rng, C)
    dinp, dw = dinp0.copy(), dw0.copy()
    lib.rmsnorm_backward(dinp, dw, dout, inp, weight, rstd)
    g_inp, g_w = ref.rmsnorm_backward(dout, inp, weight, RMS_EPS)
    check("rmsnorm_backward", dinp, dinp0 + g_inp, rel=scale != 1.0, what="dinp")
    check("rmsnorm_backward", dw, dw0 + g_w, rel=scale != 1.0, what="dweight")


@pytest.mark.parametrize("use_bias", BIAS)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("T,C", NORM_SHAPES)
def test_layernorm_forward(lib, check, rng, T, C, scale, use_bias):
    inp, weight = randn(rng, T, C, scale=scale), randn(rng, C)
    bias = randn(rng, C) if use_bias else None
    out, mean, rstd = lib.layernorm_forward(inp, weight, bias, LN_EPS)
    r_out, r_mean, r_rstd = ref.layernorm_forward(inp, weight, bias, LN_EPS)
    check("layernorm_forward", out, r_out, rel=scale != 1.0, what="out")
    check("layernorm_forward", mean, r_mean, rel=scale != 1.0, what="mean")
    # rstd is up to 1/sqrt(eps) ~ 316 (C=1: zero variance) where a float32 ulp is 3e-5 -> relative criterion
    check("layernorm_forward", rstd, r_rstd, rel=True, what="rstd")


@pytest.mark.parametrize("use_bias", BIAS)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("T,C", NORM_SHAPES)
def test_layernorm_backward(lib, check, rng, T, C, scale, use_bias):
    inp, weight = randn(rng, T, C, scale=scale), randn(rng, C)
    bias = randn(rng, C) if use_bias else None
    dout = randn(rng, T, C)
    _, mean, rstd = ref.layernorm_forward(inp, weight, bias, LN_EPS)
    mean, rstd = mean.astype(f32), rstd.astype(f32)
    dinp0, dw0 = prefill(rng, T, C), prefill(rng, C)
    db0 = prefill(rng, C) if use_bias else None
    dinp, dw, db = dinp0.copy(), dw0.copy(), (None if db0 is None else db0.copy())
    lib.layernorm_backward(dinp, dw, db, dout, inp, weight, mean, rstd)
    g_inp, g_w, g_b = ref.layernorm_backward(dout, inp, weight, bias, LN_EPS)
    check("layernorm_backward", dinp, dinp0 + g_inp, rel=scale != 1.0, what="dinp")
    check("layernorm_backward", dw, dw0 + g_w, rel=scale != 1.0, what="dweight")
    if use_bias:
        check("layernorm_backward", db, db0 + g_b, rel=scale != 1.0, what="dbias")


# =========================================================================== pointwise activations
ACT_N = [P(n, id=f"N{n}") for n in (1, 7, 8, 33, 64, 129, 1000, 4099)]
# x8 exercises the tails (|x| up to ~30) where tanh/erf/exp approximations saturate; x1e3 = large magnitude
ACT_SCALES = [P(1.0, id="unit"), P(8.0, id="x8"), P(1e3, id="large")]
UNARY = ["gelu", "gelu_erf"]
GLU = ["swiglu", "geglu"]


@pytest.mark.parametrize("scale", ACT_SCALES)
@pytest.mark.parametrize("N", ACT_N)
@pytest.mark.parametrize("kind", UNARY)
def test_unary_forward(lib, check, rng, kind, N, scale):
    inp = randn(rng, N, scale=scale)
    out = getattr(lib, f"{kind}_forward")(inp)
    check(f"{kind}_forward", out, getattr(ref, f"{kind}_forward")(inp), rel=scale != 1.0)


@pytest.mark.parametrize("scale", ACT_SCALES)
@pytest.mark.parametrize("N", ACT_N)
@pytest.mark.parametrize("kind", UNARY)
def test_unary_backward(lib, check, rng, kind, N, scale):
    inp, dout = randn(rng, N, scale=scale), randn(rng, N)
    dinp0 = prefill(rng, N)
    dinp = dinp0.copy()
    getattr(lib, f"{kind}_backward")(dinp, dout, inp)
    check(f"{kind}_backward", dinp, dinp0 + getattr(ref, f"{kind}_backward")(dout, inp), rel=scale != 1.0)


@pytest.mark.parametrize("scale", ACT_SCALES)
@pytest.mark.parametrize("N", ACT_N)
@pytest.mark.parametrize("kind", GLU)
def test_glu_forward(lib, check, rng, kind, N, scale):
    gate, up = randn(rng, N, scale=scale), randn(rng, N)
    out = getattr(lib, f"{kind}_forward")(gate, up)
    check(f"{kind}_forward", out, getattr(ref, f"{kind}_forward")(gate, up), rel=scale != 1.0)


@pytest.mark.parametrize("scale", ACT_SCALES)
@pytest.mark.parametrize("N", ACT_N)
@pytest.mark.parametrize("kind", GLU)
def test_glu_backward(lib, check, rng, kind, N, scale):
    gate, up, dout = randn(rng, N, scale=scale), randn(rng, N), randn(rng, N)
    dg0, du0 = prefill(rng, N), prefill(rng, N)
    dg, du = dg0.copy(), du0.copy()
    getattr(lib, f"{kind}_backward")(dg, du, dout, gate, up)
    g_gate, g_up = getattr(ref, f"{kind}_backward")(dout, gate, up)
    check(f"{kind}_backward", dg, dg0 + g_gate, rel=scale != 1.0, what="dgate")
    check(f"{kind}_backward", du, du0 + g_up, rel=scale != 1.0, what="dup")


# logit soft-capping: cap 0 = identity; 5 and 30 (Gemma 2's final cap) bend the x8 and large inputs
SOFTCAPS = [P(0.0, id="cap0"), P(5.0, id="cap5"), P(30.0, id="cap30")]


@pytest.mark.parametrize("cap", SOFTCAPS)
@pytest.mark.parametrize("scale", ACT_SCALES)
@pytest.mark.parametrize("N", ACT_N)
def test_softcap_forward(lib, check, rng, N, scale, cap):
    inp = randn(rng, N, scale=scale)
    check("softcap_forward", lib.softcap_forward(inp, cap), ref.softcap_forward(inp, cap), rel=scale != 1.0)


@pytest.mark.parametrize("cap", SOFTCAPS)
@pytest.mark.parametrize("scale", ACT_SCALES)
@pytest.mark.parametrize("N", ACT_N)
def test_softcap_backward(lib, check, rng, N, scale, cap):
    inp, dout = randn(rng, N, scale=scale), randn(rng, N)
    dinp0 = prefill(rng, N)
    dinp = dinp0.copy()
    lib.softcap_backward(dinp, dout, inp, cap)
    check("softcap_backward", dinp, dinp0 + ref.softcap_backward(dout, inp, cap))


# =========================================================================== softmax
SM_SHAPES = [P(1, 1, id="R1-C1"), P(3, 1, id="R3-C1"), P(2, 7, id="R2-C7"), P(5, 8, id="R5-C8"),
             P(3, 33, id="R3-C33"), P(4, 129, id="R4-C129"), P(2, 1000, id="R2-C1000"),
             P(37, 1000, id="R37-C1000"), P(1, 50257, id="R1-C50257")]


def _softmax_extreme_inputs():
    """Rows with huge values (1e4) and a cols=1 case, for stability (no nan/inf)."""
    rng = np.random.default_rng(1234)
    x = np.zeros((5, 7), dtype=f32)
    x[0] = rng.standard_normal(7) * 1e4
    x[1] = 1e4                              # all equal, huge
    x[2] = -1e4                             # all equal, hugely negative
    x[3] = [1e4, -1e4, 0, 1e4, 5, -3, 1e4 - 1]
    x[4] = rng.standard_normal(7)
    return [P(x, id="huge-R5-C7"), P(np.array([[1e4], [-1e4], [0.5]], dtype=f32), id="huge-R3-C1")]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("rows,cols", SM_SHAPES)
def test_softmax_forward(lib, check, rng, rows, cols, scale):
    inp = randn(rng, rows, cols, scale=scale)
    check("softmax_forward", lib.softmax_forward(inp), ref.softmax_forward(inp), rel=scale != 1.0)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("rows,cols", SM_SHAPES)
def test_softmax_backward(lib, check, rng, rows, cols, scale):
    inp, dout = randn(rng, rows, cols, scale=scale), randn(rng, rows, cols)
    out = ref.softmax_forward(inp).astype(f32)
    dinp0 = prefill(rng, rows, cols)
    dinp = dinp0.copy()
    lib.softmax_backward(dinp, dout, out)
    check("softmax_backward", dinp, dinp0 + ref.softmax_backward(dout, inp), rel=scale != 1.0)


@pytest.mark.parametrize("inp", _softmax_extreme_inputs())
def test_softmax_stability(lib, check, rng, inp):
    out = lib.softmax_forward(inp)
    check("softmax_forward", out, ref.softmax_forward(inp), what="huge")
    dout = randn(rng, *inp.shape)
    dinp0 = prefill(rng, *inp.shape)
    dinp = dinp0.copy()
    lib.softmax_backward(dinp, dout, ref.softmax_forward(inp).astype(f32))
    check("softmax_backward", dinp, dinp0 + ref.softmax_backward(dout, inp), what="huge")


# =========================================================================== rope
ROPE_SHAPES = [P(1, 1, 2, 2, id="NH1-T1-HS2-rot2"), P(2, 3, 8, 8, id="NH2-T3-HS8-rot8"),
               P(3, 17, 64, 64, id="NH3-T17-HS64-rot64"), P(2, 5, 64, 32, id="NH2-T5-HS64-rot32"),
               P(4, 3, 7, 6, id="NH4-T3-HS7-rot6"), P(1, 4, 33, 16, id="NH1-T4-HS33-rot16"),
               P(2, 17, 128, 64, id="NH2-T17-HS128-rot64"),
               P(8, 48, 128, 96, id="NH8-T48-HS128-rot96")]   # NH*T*n_rot > CK_OMP_MIN_WORK: OpenMP path
NEOX = [P(0, id="gptj"), P(1, id="neox")]
ROPE_POS0 = [P(0, id="pos0=0"), P(5, id="pos0=5"), P(40, id="pos0=40")]
THETA = 10000.0
ROPE_MAX_T = 128


@pytest.mark.parametrize("max_T,n_rot,theta", [
    P(1, 2, THETA, id="maxT1-rot2"), P(17, 8, THETA, id="maxT17-rot8"),
    P(64, 64, THETA, id="maxT64-rot64"), P(64, 6, 1e6, id="maxT64-rot6-theta1e6"),
    P(4096, 128, THETA, id="maxT4096-rot128"), P(4096, 128, 5e5, id="maxT4096-rot128-theta5e5")])
def test_rope_cache(lib, check, max_T, n_rot, theta):
    # strict 1e-5 even at positions ~4095: the table is O(1) and reachable to ~6e-8 by evaluating the angle in
    # double; a float32 angle (error ~ pos * ln(theta) * 6e-8, ~3e-3 at pos 4095) is a precision bug, not rounding
    check("rope_cache", lib.rope_cache(max_T, n_rot, theta), ref.rope_cache(max_T, n_rot, theta))


def _rope_case(rng, NH, T, HS, n_rot, pos0, max_T=ROPE_MAX_T):
    x = randn(rng, NH, T, HS)
    # the kernel gets the float32-rounded exact cache, so rope_forward/backward are tested independently of rope_cache
    cos_sin = ref.rope_cache(max_T, n_rot, THETA).astype(f32)
    return x, cos_sin


@pytest.mark.parametrize("pos0", ROPE_POS0)
@pytest.mark.parametrize("neox", NEOX)
@pytest.mark.parametrize("NH,T,HS,n_rot", ROPE_SHAPES)
def test_rope_forward(lib, check, rng, NH, T, HS, n_rot, neox, pos0):
    x, cos_sin = _rope_case(rng, NH, T, HS, n_rot, pos0)
    y = lib.rope_forward(x, cos_sin, n_rot, pos0, neox)
    check("rope_forward", y, ref.rope_forward(x, n_rot, pos0, neox, THETA))
    # the pass-through dims must be bit-identical
    np.testing.assert_array_equal(y[..., n_rot:], x[..., n_rot:])


@pytest.mark.parametrize("pos0", ROPE_POS0)
@pytest.mark.parametrize("neox", NEOX)
@pytest.mark.parametrize("NH,T,HS,n_rot", ROPE_SHAPES)
def test_rope_backward(lib, check, rng, NH, T, HS, n_rot, neox, pos0):
    dout, cos_sin = _rope_case(rng, NH, T, HS, n_rot, pos0)
    dx = dout.copy()
    lib.rope_backward(dx, cos_sin, n_rot, pos0, neox)      # in place, NOT accumulating
    check("rope_backward", dx, ref.rope_backward(dout, n_rot, pos0, neox, THETA))
    # backward(forward(x)) == x
    x = randn(rng, NH, T, HS)
    y = lib.rope_forward(x, cos_sin, n_rot, pos0, neox)
    lib.rope_backward(y, cos_sin, n_rot, pos0, neox)
    check("rope_backward", y, x, what="inverse-of-forward")


@pytest.mark.parametrize("neox", NEOX)
def test_rope_long_context(lib, check, rng, neox):
    NH, T, HS, n_rot, pos0 = 2, 3, 64, 64, 4090
    x, cos_sin = _rope_case(rng, NH, T, HS, n_rot, pos0, max_T=4096)
    check("rope_forward", lib.rope_forward(x, cos_sin, n_rot, pos0, neox),
          ref.rope_forward(x, n_rot, pos0, neox, THETA), what="pos~4090")
    dx = x.copy()
    lib.rope_backward(dx, cos_sin, n_rot, pos0, neox)
    check("rope_backward", dx, ref.rope_backward(x, n_rot, pos0, neox, THETA), what="pos~4090")


# =========================================================================== attention
HEADS = [P(2, 2, id="NH2-NKV2"), P(4, 2, id="NH4-NKV2"), P(7, 1, id="NH7-NKV1")]
HEAD_SIZES = [P(1, id="HS1"), P(7, id="HS7"), P(64, id="HS64")]
WINDOWS = [P(0, id="w0"), P(1, id="w1"), P(3, id="w3"), P(100, id="w100")]
SEQ = [P(17, 17, 0, id="prefill-T17"), P(3, 17, 14, id="kvcache-T3-Tk17-pos14"),
       P(1, 10, 9, id="decode-T1-Tk10-pos9")]


def _attn_inputs(rng, NH, NKV, T, Tk, HS):
    return randn(rng, NH, T, HS), randn(rng, NKV, Tk, HS), randn(rng, NKV, Tk, HS)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("T,Tk,pos0", SEQ)
@pytest.mark.parametrize("HS", HEAD_SIZES)
@pytest.mark.parametrize("NH,NKV", HEADS)
def test_attention_forward(lib, check, rng, NH, NKV, HS, T, Tk, pos0, window):
    q, k, v = _attn_inputs(rng, NH, NKV, T, Tk, HS)
    scale = 1.0 / math.sqrt(HS)
    out, lse = lib.attention_forward(q, k, v, pos0, window, scale)
    r_out, r_lse = ref.attention_forward(q, k, v, pos0, window, scale)
    check("attention_forward", out, r_out, what="out")
    check("attention_forward", lse, r_lse, what="lse")


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("T,Tk,pos0", SEQ)
@pytest.mark.parametrize("HS", HEAD_SIZES)
@pytest.mark.parametrize("NH,NKV", HEADS)
def test_attention_backward(lib, check, rng, NH, NKV, HS, T, Tk, pos0, window):
    q, k, v = _attn_inputs(rng, NH, NKV, T, Tk, HS)
    dout = randn(rng, NH, T, HS)
    scale = 1.0 / math.sqrt(HS)
    out, lse = (a.astype(f32) for a in ref.attention_forward(q, k, v, pos0, window, scale))
    dq0, dk0, dv0 = prefill(rng, *q.shape), prefill(rng, *k.shape), prefill(rng, *v.shape)
    dq, dk, dv = dq0.copy(), dk0.copy(), dv0.copy()
    lib.attention_backward(dq, dk, dv, dout, out, lse, q, k, v, pos0, window, scale)
    g_q, g_k, g_v = ref.attention_backward(dout, q, k, v, pos0, window, scale)
    check("attention_backward", dq, dq0 + g_q, what="dq")
    check("attention_backward", dk, dk0 + g_k, what="dk")
    check("attention_backward", dv, dv0 + g_v, what="dv")


# Soft-capped attention (Gemma 2): with a cap, q is scaled by 4 so the scaled scores reach |s| ~ 4-15,
# where a cap of 5 bends them hard (and keeps |s| < 5, so the abs criterion holds); cap 0 is plain
# attention on unit inputs (uncapped scores of 15 would need the relative criterion).
ATTN_SOFTCAPS = [P(0.0, id="cap0"), P(5.0, id="cap5")]


@pytest.mark.parametrize("softcap", ATTN_SOFTCAPS)
@pytest.mark.parametrize("window", [P(0, id="w0"), P(3, id="w3")])
@pytest.mark.parametrize("T,Tk,pos0", SEQ)
@pytest.mark.parametrize("HS", [P(7, id="HS7"), P(64, id="HS64")])
@pytest.mark.parametrize("NH,NKV", HEADS)
def test_attention_softcap_forward(lib, check, rng, NH, NKV, HS, T, Tk, pos0, window, softcap):
    q, k, v = _attn_inputs(rng, NH, NKV, T, Tk, HS)
    if softcap:
        q *= 4
    scale = 1.0 / math.sqrt(HS)
    out, lse = lib.attention_forward(q, k, v, pos0, window, scale, softcap)
    r_out, r_lse = ref.attention_forward(q, k, v, pos0, window, scale, softcap)
    check("attention_softcap_forward", out, r_out, what="out")
    check("attention_softcap_forward", lse, r_lse, what="lse")


@pytest.mark.parametrize("softcap", ATTN_SOFTCAPS)
@pytest.mark.parametrize("window", [P(0, id="w0"), P(3, id="w3")])
@pytest.mark.parametrize("T,Tk,pos0", SEQ)
@pytest.mark.parametrize("HS", [P(7, id="HS7"), P(64, id="HS64")])
@pytest.mark.parametrize("NH,NKV", HEADS)
def test_attention_softcap_backward(lib, check, rng, NH, NKV, HS, T, Tk, pos0, window, softcap):
    q, k, v = _attn_inputs(rng, NH, NKV, T, Tk, HS)
    if softcap:
        q *= 4
    dout = randn(rng, NH, T, HS)
    scale = 1.0 / math.sqrt(HS)
    out, lse = (a.astype(f32) for a in ref.attention_forward(q, k, v, pos0, window, scale, softcap))
    dq0, dk0, dv0 = prefill(rng, *q.shape), prefill(rng, *k.shape), prefill(rng, *v.shape)
    dq, dk, dv = dq0.copy(), dk0.copy(), dv0.copy()
    lib.attention_backward(dq, dk, dv, dout, out, lse, q, k, v, pos0, window, scale, softcap)
    g_q, g_k, g_v = ref.attention_backward(dout, q, k, v, pos0, window, scale, softcap)
    check("attention_softcap_backward", dq, dq0 + g_q, what="dq")
    check("attention_softcap_backward", dk, dk0 + g_k, what="dk")
    check("attention_softcap_backward", dv, dv0 + g_v, what="dv")


def test_attention_softcap_matters(rng):
    """the cap-5 cases above are not vacuous: capping changes the output by far more than the tolerance"""
    q, k, v = _attn_inputs(rng, 2, 2, 17, 17, 64)
    q *= 4
    a, _ = ref.attention_forward(q, k, v, 0, 0, 0.125, 0.0)
    b, _ = ref.attention_forward(q, k, v, 0, 0, 0.125, 5.0)
    assert np.max(np.abs(a - b)) > 1e-2


# =========================================================================== cross entropy
CE_SHAPES = [P(1, 1, id="T1-V1"), P(3, 7, id="T3-V7"), P(17, 64, id="T17-V64"), P(4, 1000, id="T4-V1000"),
             P(2, 50257, id="T2-V50257")]
IGNORE = [P("none", id="ign-none"), P("some", id="ign-some"), P("all_but_one", id="ign-all_but_one")]
IGNORE_INDEX = -100


def _ce_inputs(rng, T, V, pattern, scale, ignore_index=IGNORE_INDEX):
    logits = randn(rng, T, V, scale=scale)
    targets = rng.integers(0, V, size=T).astype(np.int32)
    if pattern == "some":
        mask = rng.random(T) < 0.5
        mask[rng.integers(0, T)] = False          # keep at least one row
        targets[mask] = ignore_index
    elif pattern == "all_but_one":
        keep = rng.integers(0, T)
        targets[np.arange(T) != keep] = ignore_index
    return logits, targets


def _check_ce_forward(lib, check, logits, targets, rel, what="", ignore_index=IGNORE_INDEX):
    mean, losses, probs = lib.cross_entropy_forward(logits, targets, ignore_index)
    r_mean, r_losses, r_probs = ref.cross_entropy_forward(logits, targets, ignore_index)
    check("cross_entropy_forward", losses, r_losses, rel=rel, what="losses " + what)
    assert np.all(losses[targets == ignore_index] == 0.0), "ignored rows must have loss exactly 0"
    check("cross_entropy_forward", np.array(mean), np.array(r_mean), rel=rel, what="mean " + what)
    check("cross_entropy_forward", probs, r_probs, rel=rel, what="probs " + what)


def _check_ce_backward(lib, check, rng, logits, targets, rel, what="", ignore_index=IGNORE_INDEX):
    dloss = float(rng.uniform(0.5, 2.0))
    probs = ref.cross_entropy_forward(logits, targets, ignore_index)[2].astype(f32)
    d0 = prefill(rng, *logits.shape)
    d = d0.copy()
    lib.cross_entropy_backward(d, probs, targets, ignore_index, dloss)
    g = ref.cross_entropy_backward(logits, targets, ignore_index, dloss)
    check("cross_entropy_backward", d, d0 + g, rel=rel, what=what)
    ign = targets == ignore_index
    np.testing.assert_array_equal(d[ign], d0[ign], err_msg="ignored rows must receive no gradient")


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("pattern", IGNORE)
@pytest.mark.parametrize("T,V", CE_SHAPES)
def test_cross_entropy_forward(lib, check, rng, T, V, pattern, scale):
    logits, targets = _ce_inputs(rng, T, V, pattern, scale)
    _check_ce_forward(lib, check, logits, targets, rel=scale != 1.0)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("pattern", IGNORE)
@pytest.mark.parametrize("T,V", CE_SHAPES)
def test_cross_entropy_backward(lib, check, rng, T, V, pattern, scale):
    logits, targets = _ce_inputs(rng, T, V, pattern, scale)
    _check_ce_backward(lib, check, rng, logits, targets, rel=scale != 1.0)


def test_cross_entropy_stability(lib, check, rng):
    """Huge logits (1e4) must not produce nan/inf; loss values are O(1e4) -> relative criterion."""
    logits = np.array([[1e4, -1e4, 0, 1e4 - 2, 3, -7, 1e4],
                       [-1e4] * 7,
                       [1e4] * 7,
                       list(np.random.default_rng(7).standard_normal(7) * 1e4)], dtype=f32)
    targets = np.array([1, 3, IGNORE_INDEX, 0], dtype=np.int32)
    _check_ce_forward(lib, check, logits, targets, rel=True, what="huge")
    _check_ce_backward(lib, check, rng, logits, targets, rel=True, what="huge")


def test_cross_entropy_single_class(lib, check, rng):
    logits = np.array([[1e4], [-3.0], [0.25]], dtype=f32)   # V=1: p=1, loss=0
    targets = np.array([0, 0, IGNORE_INDEX], dtype=np.int32)
    _check_ce_forward(lib, check, logits, targets, rel=False, what="V=1")
    _check_ce_backward(lib, check, rng, logits, targets, rel=False, what="V=1")


def test_cross_entropy_ignore_index_is_valid_class(lib, check, rng):
    """ignore_index may be an in-vocabulary id (0 here): rows targeting it are ignored."""
    logits = randn(rng, 6, 9)
    targets = np.array([0, 3, 0, 8, 5, 0], dtype=np.int32)
    _check_ce_forward(lib, check, logits, targets, rel=False, what="ignore_index=0", ignore_index=0)
    _check_ce_backward(lib, check, rng, logits, targets, rel=False, what="ignore_index=0", ignore_index=0)


# =========================================================================== AdamW
ADAM_N = [P(n, id=f"n{n}") for n in (1, 7, 8, 33, 1000, 4099)]
ADAM_HP = [P(1e-3, 0.9, 0.999, 1e-8, 0.0, id="lr1e-3-wd0"),
           P(1e-3, 0.9, 0.999, 1e-8, 0.1, id="lr1e-3-wd0.1"),
           P(3e-2, 0.8, 0.95, 1e-6, 0.01, id="lr3e-2-b0.8-0.95-eps1e-6-wd0.01")]
ADAM_STEPS = 10
ADAM_TOL = 2e-6


@pytest.mark.parametrize("lr,beta1,beta2,eps,wd", ADAM_HP)
@pytest.mark.parametrize("n", ADAM_N)
def test_adamw_update(lib, check, rng, n, lr, beta1, beta2, eps, wd):
    param0 = randn(rng, n)
    grads = [randn(rng, n) for _ in range(ADAM_STEPS)]
    p, m, v = param0.copy(), np.zeros(n, f32), np.zeros(n, f32)
    for step, g in enumerate(grads, start=1):
        lib.adamw_update(p, g, m, v, lr, beta1, beta2, eps, wd, step)
    r_p, r_m, r_v = ref.adamw(param0, grads, lr, beta1, beta2, eps, wd)
    check("adamw_update", p, r_p, tol=ADAM_TOL, what="param")
    check("adamw_update", m, r_m, tol=ADAM_TOL, what="exp_avg")
    check("adamw_update", v, r_v, tol=ADAM_TOL, what="exp_avg_sq")


# =========================================================================== grad norm
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("n", [P(n, id=f"n{n}") for n in (1, 7, 8, 33, 1000, 4099, 100003)])
def test_grad_norm(lib, check, rng, n, scale):
    g = randn(rng, n, scale=scale)
    # the norm is ~sqrt(n)*scale >> 1 where float32 resolution is relative -> relative criterion
    check("grad_norm", np.array(lib.grad_norm(g)), np.array(ref.grad_norm(g)), rel=True)


def test_grad_norm_zero(lib):
    assert lib.grad_norm(np.zeros(37, f32)) == 0.0
