"""PyTorch (float64) parity tests for every ckernel kernel, forward and backward.

Every test runs against both builds (fixture ``lib``: simd, scalar).  Backward kernels must
ACCUMULATE: gradient buffers are pre-filled with random values and the result must equal
prefill + true gradient (ck_rope_backward is the exception: it rotates dx in place).
Criterion: max|ck - ref| < 1e-5 on unit-scale inputs; large-magnitude inputs use
max|ck - ref| / max(1, max|ref|) < 1e-5 (``rel=True``).
"""
import math
import os
import subprocess

import numpy as np
import pytest
import torch

from oracle import models as OM
from oracle import reference as ref
from oracle import rope as R
from oracle.ckernel import RopeParams, build_dir

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


# =========================================================================== rope scaling
# ck_rope_cache_ext against oracle/rope.py's llama.cpp convention, and that convention against HF's
# definitions (test_hf_* below: equal where they agree, the exact difference where they do not).
ROPE_ORIG = 64          # the "original context" of the scaled cases; caches reach 8x beyond it
ROPE_EXT_T = 512


def _llama3_factors(n_rot, base=THETA, old_context_len=256):
    # Llama 3.1's constants (factor 8, low 1, high 4) over a small original context, so that the
    # factors vary over the pairs of a small n_rot: 1 (fast pairs), blended, 8 (slow pairs)
    return R.converter_llama3_rope_freqs(base, n_rot, old_context_len=old_context_len).numpy()


def _longrope_factors(n_rot):
    half = n_rot // 2
    return (1.0 + 3.0 * (np.arange(half) / max(1, half - 1)) ** 2).astype(f32)


ROPE_SCALINGS = {   # name -> kwargs of R.params / lib.rope_params (freq_factors: a function of n_rot)
    "none": dict(scaling="none"),
    "linear": dict(scaling="linear", factor=4.0),
    "llama3": dict(scaling="linear", freq_factors=_llama3_factors),
    "yarn": dict(scaling="yarn", factor=4.0, n_ctx_orig=ROPE_ORIG),
    "yarn-x16-theta1e6-attn": dict(scaling="yarn", freq_base=1e6, factor=16.0, n_ctx_orig=ROPE_ORIG, attn_factor=0.8),
    "yarn-x0.5": dict(scaling="yarn", factor=0.5, n_ctx_orig=ROPE_ORIG),
    "longrope": dict(scaling="longrope", n_ctx_orig=ROPE_ORIG, freq_factors=_longrope_factors,
                     attn_factor=R.converter_longrope_attn_factor(8 * ROPE_ORIG, ROPE_ORIG)),
}


def _scaling_kwargs(name, n_rot):
    kw = dict(ROPE_SCALINGS[name])
    if callable(kw.get("freq_factors")):
        kw["freq_factors"] = kw["freq_factors"](n_rot)
    return kw


def _scaled(name, n_rot):
    """(inv_freq, mscale) by llama.cpp's convention, and the float32 factors the C side gets"""
    kw = _scaling_kwargs(name, n_rot)
    return R.llamacpp(n_rot, R.params(**kw)), kw


@pytest.mark.parametrize("n_rot", [2, 6, 64, 96])
@pytest.mark.parametrize("name", list(ROPE_SCALINGS))
def test_rope_cache_ext(lib, check, name, n_rot):
    (inv_freq, mscale), kw = _scaled(name, n_rot)
    p = lib.rope_params(**kw)
    got = lib.rope_cache_ext(ROPE_EXT_T, n_rot, p)
    check("rope_cache_ext", got, R.cache(np.arange(ROPE_EXT_T), inv_freq, mscale).numpy(), what=name)
    if name in ("none", "llama3", "linear"):
        assert p.ext_factor == 0 and p.attn_factor == 1


def test_rope_cache_ext_unscaled_is_rope_cache(lib):
    for n_rot, theta in [(2, THETA), (6, 1e6), (128, 5e5)]:
        for kw in (dict(scaling="none"), dict(scaling="linear"), dict(scaling="none", factor=8.0)):
            got = lib.rope_cache_ext(2048, n_rot, lib.rope_params(freq_base=theta, **kw))
            np.testing.assert_array_equal(got, lib.rope_cache(2048, n_rot, theta), err_msg=repr(kw))


def test_rope_params_init(lib):
    """llama.cpp's derivation: freq_scale = 1/factor (factor 0 = absent; "none" never scales),
    ext_factor 1 only for yarn, attn_factor passed through, beta 32 / 1"""
    for name, factor, scale, ext in [("none", 8.0, 1.0, 0.0), ("linear", 8.0, 0.125, 0.0), ("linear", 0.0, 1.0, 0.0),
                                     ("yarn", 4.0, 0.25, 1.0), ("longrope", 0.0, 1.0, 0.0)]:
        p = lib.rope_params(name, 1e4, factor, 4096, 1.25)
        got = (p.freq_scale, p.ext_factor, p.attn_factor, p.beta_fast, p.beta_slow, p.n_ctx_orig, p.freq_factors)
        assert got == (scale, ext, 1.25, 32.0, 1.0, 4096, None), (name, got)
        assert R.params(name, 1e4, factor, 4096, 1.25) == {**p.as_dict(64), "freq_base": 1e4}
    assert [lib.rope_scaling_from_name(n) for n in ("none", "linear", "yarn", "longrope", "su", "")] == [0, 1, 2, 3, -1, -1]


@pytest.mark.parametrize("pos0", [P(0, id="pos0=0"), P(60, id="pos0=60"), P(500, id="pos0=500")])
@pytest.mark.parametrize("neox", NEOX)
@pytest.mark.parametrize("NH,T,HS,n_rot", [P(2, 5, 8, 6, id="NH2-T5-HS8-rot6"), P(3, 9, 64, 64, id="NH3-T9-HS64-rot64"),
                                           P(2, 4, 128, 96, id="NH2-T4-HS128-rot96")])
@pytest.mark.parametrize("name", ["linear", "llama3", "yarn", "yarn-x16-theta1e6-attn", "longrope"])
def test_rope_scaled_forward_backward(lib, check, rng, name, NH, T, HS, n_rot, neox, pos0):
    """forward and backward with a scaled cache vs torch autograd through the same rotation (the
    neox case is HF's apply_rotary_pos_emb). With mscale != 1 the map is mscale * R, not a
    rotation: the gradient is mscale R^T dy, and backward(forward(x)) = mscale^2 x."""
    (inv_freq, mscale), _ = _scaled(name, n_rot)
    cos_sin = R.cache(np.arange(ROPE_EXT_T), inv_freq, mscale).numpy().astype(f32)
    pos = pos0 + np.arange(T)
    fn = lambda x: R.rope(x, pos, inv_freq, mscale, n_rot, neox)
    x = randn(rng, NH, T, HS)
    y = lib.rope_forward(x, cos_sin, n_rot, pos0, neox)
    check("rope_forward", y, ref._np(fn(ref._t(x))), what=name)
    dy = randn(rng, NH, T, HS)
    dx = dy.copy()
    lib.rope_backward(dx, cos_sin, n_rot, pos0, neox)
    check("rope_backward", dx, ref.vjp(fn, [np.zeros_like(dy)], dy)[0], what=name)
    lib.rope_backward(y, cos_sin, n_rot, pos0, neox)
    ms2 = np.ones(HS)
    ms2[:n_rot] = mscale * mscale
    check("rope_backward", y, x * ms2, what=name + " backward(forward(x)) = mscale^2 x")


# --------------------------------------------------------------------------- HF's definitions vs llama.cpp's
def _rel(a, b):
    return float(((a - b).abs() / b.abs()).max())


@pytest.mark.parametrize("base,dim", [(1e4, 64), (5e5, 128), (1e6, 6)])
def test_hf_linear_is_llamacpp(base, dim):
    inv, att = R.hf_linear(base, dim, 8.0)
    inv2, ms = R.llamacpp(dim, R.params("linear", base, 8.0))
    assert _rel(inv2, inv) < 1e-15 and att == ms == 1.0


@pytest.mark.parametrize("base,dim,old_ctx", [(5e5, 128, 8192), (1e4, 64, 8192), (1e4, 64, 256), (1e4, 96, 64)])
def test_hf_llama3_is_base_over_rope_freqs(base, dim, old_ctx):
    """HF's llama3 inv_freq = the unscaled inv_freq / rope_freqs.weight as the converter writes it
    (its float32 arithmetic: within 3e-7 relative); and the factors do vary over the pairs."""
    inv, att = R.hf_llama3(base, dim, old_context_len=old_ctx)
    ff = R.converter_llama3_rope_freqs(base, dim, old_context_len=old_ctx)
    inv2, ms = R.llamacpp(dim, R.params("none", base, freq_factors=ff))
    assert _rel(inv2, inv) < 3e-7 and att == ms == 1.0
    assert float(ff.min()) == 1.0 and float(ff.max()) == 8.0 and ((ff > 1) & (ff < 8)).any()


@pytest.mark.parametrize("base,dim,factor,orig", [(1e4, 64, 4.0, 4096), (1e6, 128, 4.0, 32768), (1e4, 96, 16.0, 64),
                                                  (1e4, 6, 8.0, 2048), (1e4, 64, 4.0, 64)])
def test_hf_yarn_is_llamacpp(base, dim, factor, orig):
    """Same frequencies (same floor/ceil correction range, same ramp over pair indices) and, for
    factor > 1, the same magnitude: HF attention_factor = llama.cpp's 1 + 0.1 ln(1/freq_scale)."""
    inv, att = R.hf_yarn(base, dim, factor, orig)
    inv2, ms = R.llamacpp(dim, R.params("yarn", base, factor, orig))
    assert _rel(inv2, inv) < 1e-14 and abs(ms - att) < 1e-15
    # the blend is real: fast pairs keep their frequency, slow pairs are divided by factor
    base_inv, _ = R.hf_default(base, dim)
    assert _rel(inv[:1], base_inv[:1]) < 1e-15 and _rel(inv[-1:], base_inv[-1:] / factor) < 1e-15


def test_hf_yarn_magnitude_differs_from_llamacpp():
    """Where the two conventions part: (1) factor < 1: HF's attention factor is 1, llama.cpp's
    mscale 1 + 0.1 ln(factor); (2) rope_scaling.attention_factor A replaces HF's default, while
    llama.cpp's rope.scaling.attn_factor A multiplies its own 1 + 0.1 ln(factor). Frequencies agree."""
    inv, att = R.hf_yarn(1e4, 64, 0.5, 4096)
    inv2, ms = R.llamacpp(64, R.params("yarn", 1e4, 0.5, 4096))
    assert _rel(inv2, inv) < 1e-14 and att == 1.0 and abs(ms - (1 + 0.1 * math.log(0.5))) < 1e-15
    _, att = R.hf_yarn(1e4, 64, 4.0, 4096, attention_factor=1.5)
    _, ms = R.llamacpp(64, R.params("yarn", 1e4, 4.0, 4096, attn_factor=1.5))
    assert att == 1.5 and abs(ms - 1.5 * (1 + 0.1 * math.log(4.0))) < 1e-15


def test_hf_longrope_is_llamacpp_but_for_the_choice():
    """Same inv_freq for the same factors and the same attention factor (the converter's
    rope.scaling.attn_factor); HF picks the factors by the sequence length, llama.cpp by n_ctx."""
    dim, orig, max_pos = 64, 4096, 131072
    short, long = 1 + 0.01 * np.arange(dim // 2), 1 + 0.5 * np.arange(dim // 2)
    attn = R.converter_longrope_attn_factor(max_pos, orig)
    for seq_len, factors in [(100, short), (5000, long)]:
        inv, att = R.hf_longrope(1e4, dim, short, long, orig, max_pos, seq_len)
        inv2, ms = R.llamacpp(dim, R.params("linear", 1e4, 0.0, orig, attn, factors))
        assert _rel(inv2, inv) < 1e-15 and abs(ms - att) < 1e-15
    # llama.cpp with n_ctx = 131072 > 4096 uses the long factors even for a 100-token prompt
    inv_hf, _ = R.hf_longrope(1e4, dim, short, long, orig, max_pos, 100)
    inv_cpp, _ = R.llamacpp(dim, R.params("linear", 1e4, 0.0, orig, attn, long))
    assert _rel(inv_cpp, inv_hf) > 0.5


# --------------------------------------------------------------------------- the GGUF metadata path
def _mkmodel(tmp_path, name, *args):
    exe = os.path.join(build_dir(), "mkmodel")
    if not os.path.exists(exe):
        pytest.fail(f"{exe} not found: run `make build/mkmodel`", pytrace=False)
    path = str(tmp_path / f"{name}.gguf")
    r = subprocess.run([exe, args[0], path, "--embd", "128", "--heads", "2", "--ctx", "256", *args[1:]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return path


ROPE_FILES = {   # name -> mkmodel args, n_ctx asked for, expected (scaling-derived fields, factors tensor)
    "plain": (["llama"], 0, dict(freq_scale=1.0, ext_factor=0.0, attn_factor=1.0), None),
    "linear": (["qwen2", "--rope-scaling", "linear", "--rope-factor", "4"], 0, dict(freq_scale=0.25, ext_factor=0.0), None),
    "llama3": (["llama", "--rope-freqs", "--rope-orig-ctx", "256"], 0, dict(freq_scale=1.0, ext_factor=0.0), "rope_freqs.weight"),
    "yarn": (["qwen3", "--rope-scaling", "yarn", "--rope-factor", "4", "--rope-orig-ctx", "64", "--rope-base", "1000000"], 0,
             dict(freq_scale=0.25, ext_factor=1.0, n_ctx_orig=64), None),
    "yarn-no-orig": (["llama", "--rope-scaling", "yarn", "--rope-factor", "2"], 0, dict(freq_scale=0.5, ext_factor=1.0, n_ctx_orig=256), None),
    "longrope-long": (["llama", "--rope-longrope", "--rope-orig-ctx", "64"], 0, dict(freq_scale=1.0, n_ctx_orig=64), "rope_factors_long.weight"),
    "longrope-short": (["llama", "--rope-longrope", "--rope-orig-ctx", "64"], 64, dict(freq_scale=1.0), "rope_factors_short.weight"),
    "gemma3-linear": (["gemma3", "--rope-scaling", "linear", "--rope-factor", "8", "--layers", "6", "--head-dim", "64"], 0,
                      dict(freq_scale=0.125), None),
}


@pytest.mark.parametrize("name", list(ROPE_FILES))
def test_rope_params_from_gguf(lib, check, tmp_path, name):
    """ck_rope_params_from_gguf (C) and oracle.models.rope_freqs_for (Python) read the same file
    independently; their caches must agree, and the C params must be what llama.cpp derives."""
    args, n_ctx, expect, tensor = ROPE_FILES[name]
    path = _mkmodel(tmp_path, name, *args)
    m = OM.load(path)
    n_rot = m.hp["n_rot"]
    d, got_tensor = lib.rope_params_from_gguf(path, n_rot, n_ctx)
    assert got_tensor == tensor
    for k, v in expect.items():
        assert d[k] == pytest.approx(v, rel=1e-7), (k, d)
    if tensor:
        np.testing.assert_array_equal(np.asarray(d["freq_factors"], dtype=f32), m.g.array(tensor).astype(f32))
    if name.startswith("longrope"):
        assert d["attn_factor"] == pytest.approx(R.converter_longrope_attn_factor(256, 64), rel=1e-7)
    m.n_ctx = n_ctx or None
    base = float(m.g.kv[f"{m.arch}.rope.freq_base"].value)
    inv_freq, mscale = OM.rope_freqs_for(m, base)
    got = lib.rope_cache_ext(1024, n_rot, RopeParams.from_dict(d))
    check("rope_cache_ext", got, R.cache(np.arange(1024), inv_freq, mscale).numpy(), what="from gguf " + name)


@pytest.mark.parametrize("family,args", [
    P("llama", ["--rope-freqs", "--rope-orig-ctx", "256"], id="llama-rope_freqs"),
    P("qwen2", ["--rope-scaling", "yarn", "--rope-factor", "4", "--rope-orig-ctx", "16"], id="qwen2-yarn"),
    P("qwen3", ["--rope-scaling", "linear", "--rope-factor", "4"], id="qwen3-linear"),
    P("gemma3", ["--rope-scaling", "linear", "--rope-factor", "8"], id="gemma3-linear"),
    P("llama", ["--rope-longrope", "--rope-orig-ctx", "16"], id="llama-longrope")])
def test_oracle_models_apply_rope_scaling(tmp_path, family, args):
    """oracle.models forwards a file's rope scaling: logits differ from the same weights without
    it. gemma3 scales only its global layers (every 6th): with 6 layers the logits differ, with
    2 (both sliding-window) they are identical."""
    common = ["--layers", "6" if family == "gemma3" else "2", "--head-dim", "64", "--vocab", "64"]
    tokens = np.arange(24) % 64
    plain = OM.load(_mkmodel(tmp_path, "plain", family, *common)).forward(tokens)
    scaled = OM.load(_mkmodel(tmp_path, "scaled", family, *common, *args)).forward(tokens)
    assert float((scaled - plain).abs().max()) > 1e-3
    if family == "gemma3":
        common[1] = "2"
        plain = OM.load(_mkmodel(tmp_path, "plain2", family, *common)).forward(tokens)
        scaled = OM.load(_mkmodel(tmp_path, "scaled2", family, *common, *args)).forward(tokens)
        assert torch.equal(scaled, plain)


def test_rope_params_from_gguf_errors(lib, tmp_path):
    path = _mkmodel(tmp_path, "bad-type", "llama", "--rope-scaling", "dynamic")
    with pytest.raises(ValueError, match="rope.scaling.type = 'dynamic' is not a rope scaling llama.cpp knows"):
        lib.rope_params_from_gguf(path, 64)
    path = _mkmodel(tmp_path, "freqs", "llama", "--rope-freqs")
    with pytest.raises(ValueError, match=r"tensor rope_freqs.weight is f32 with 32 values; rope needs f32 with n_rot/2 = 16"):
        lib.rope_params_from_gguf(path, 32)


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


@pytest.mark.parametrize("dloss", [P(1.0, id="dloss+"), P(-0.75, id="dloss-")])
@pytest.mark.parametrize("pattern", IGNORE + [P("all", id="ign-all")])
@pytest.mark.parametrize("T,V", CE_SHAPES)
def test_cross_entropy_in_place(lib, rng, T, V, pattern, dloss):
    """the trainer's one [T,V] buffer: the softmax over the logits, then the gradient over the softmax,
    bit for bit what three buffers give (the gradient as accumulated into zeros)"""
    logits, targets = _ce_inputs(rng, T, V, "none" if pattern == "all" else pattern, 1.0)
    if pattern == "all":
        targets[:] = IGNORE_INDEX
    mean, losses, probs = lib.cross_entropy_forward(logits, targets, IGNORE_INDEX)
    d = np.zeros_like(probs)
    lib.cross_entropy_backward(d, probs, targets, IGNORE_INDEX, dloss)
    buf, losses2 = logits.copy(), np.full(T, np.nan, dtype=f32)
    mean2 = lib.lib.ck_cross_entropy_forward(losses2.ctypes.data, buf.ctypes.data, buf.ctypes.data, targets.ctypes.data, T, V, IGNORE_INDEX)
    bits = lambda a: np.asarray(a, dtype=f32).view(np.uint32)
    assert bits(mean2) == bits(mean), f"in-place mean loss {mean2!r} != {mean!r}"
    np.testing.assert_array_equal(bits(losses2), bits(losses), err_msg="in-place losses differ")
    np.testing.assert_array_equal(bits(buf), bits(probs), err_msg="in-place softmax differs")
    lib.lib.ck_cross_entropy_backward(buf.ctypes.data, buf.ctypes.data, targets.ctypes.data, T, V, IGNORE_INDEX, dloss)
    np.testing.assert_array_equal(bits(buf), bits(d), err_msg="in-place gradient differs from accumulating into zeros")
    assert not np.any(buf[targets == IGNORE_INDEX]), "ignored rows must be zero after the in-place backward"


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

