"""Quantized types: ckernel's type table, fp16/bf16 conversions, dequantizers, quantizers and the
quantized matmul, against the independent numpy references in oracle/quant.py (written from
ggml's block layouts and reference algorithms) and float64 PyTorch.

Every test runs against both builds (fixture ``lib``: simd, scalar).

* conversions and dequantization: BIT-exact (ggml computes in float32; so do the references).
* quantization: q8_0, q4_0, q4_1, q5_0, q5_1, q8_1 (ggml's *_ref algorithms) and iq4_nl (ggml's
  quantize_iq4_nl without an importance matrix) BYTE-identical;
  K-quants (q2_K .. q8_K): per row RMSE(ck) <= RMSE(reference port) * (1 + 1e-6) + tiny, with the
  number of byte-identical rows reported in the summary.
* activation blocks of the fast path (ck_quantize_act_row, SIMD and scalar): BYTE-identical to the
  numpy port of ggml's x86 activation quantizers (q8_0, q8_1, q8_K; f16 and bf16 rounding for
  F16 / BF16 weights) on random and edge-case rows.
* matmul: exact path (dequantized weights, fp32 math) max abs diff < 1e-4 vs float64 torch;
  fast path vs a float64 emulation of ggml's scheme (the activation blocks of the numpy port,
  ggml's per-block formula) within float-summation error of sum |products|, and its relative
  error vs float64.
"""
import math
import zlib

import numpy as np
import pytest
import torch

from oracle import quant as Q
from oracle.ckernel import Q_EXACT, Q_FAST

f32 = np.float32
P = pytest.param

ALL_TYPES = list(Q.TYPES)                       # every type ckernel knows (GGUF ids)
LEGACY = ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1"]   # byte-identical to ggml's *_ref
IDENTICAL = LEGACY + ["iq4_nl"]                     # byte-identical quantizers (iq4_nl: quantize_iq4_nl)
KQUANTS = ["q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K"]   # at least as accurate as ggml's *_ref
MATMUL_TYPES = ["f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "iq4_nl", "q4_K", "q5_K", "q6_K",
                "q2_K", "q3_K", "q8_1"]
NO_INT_KERNEL = ("f32", "q8_1")   # ckernel.h: CK_Q_FAST takes the exact path
UNKNOWN_IDS = [4, 5, 99]


def _bits(a):
    return np.asarray(a, dtype=f32).view(np.uint32)


def _first_mismatch(got, exp, block):
    """index of the first differing element/byte and the block it is in"""
    idx = int(np.flatnonzero(got != exp)[0])
    return idx, idx // block


# =========================================================================== type table
@pytest.mark.parametrize("t", ALL_TYPES)
def test_type_table(lib, t):
    info = Q.TYPES[t]
    assert lib.type_name(info.id) == t, f"ck_type_name({info.id})"
    assert lib.type_from_name(t) == info.id, f"ck_type_from_name({t!r})"
    assert lib.type_block_size(info.id) == info.block_size, f"ck_type_block_size({t})"
    assert lib.type_block_bytes(info.id) == info.block_bytes, f"ck_type_block_bytes({t})"
    for nblocks in (0, 1, 2, 3, 16, 1000):
        n = nblocks * info.block_size
        assert lib.row_size(info.id, n) == Q.row_size(t, n), f"ck_row_size({t}, {n})"


@pytest.mark.parametrize("tid", UNKNOWN_IDS)
def test_type_table_unknown(lib, tid):
    assert lib.type_name(tid) is None, f"ck_type_name({tid}) should be NULL"
    assert lib.type_block_size(tid) == 0, f"ck_type_block_size({tid})"
    assert lib.type_block_bytes(tid) == 0, f"ck_type_block_bytes({tid})"
    assert lib.row_size(tid, 256) == 0, f"ck_row_size({tid}, 256)"


@pytest.mark.parametrize("name", ["q4_2", "Q9_0", "", "f64", "q4_k ", "iq2_xxs"])
def test_type_from_name_unknown(lib, name):
    assert lib.type_from_name(name) == -1, f"ck_type_from_name({name!r})"


def test_type_from_name_case(lib):
    """documented as case-insensitive"""
    for t, info in Q.TYPES.items():
        for name in (t.upper(), t.lower(), t.capitalize()):
            assert lib.type_from_name(name) == info.id, f"ck_type_from_name({name!r})"


@pytest.mark.parametrize("t", ALL_TYPES)
def test_row_size_not_a_multiple(lib, t):
    """n not a multiple of the block: ck_row_size and ck_quantize_row return 0, nothing written"""
    import ctypes
    info = Q.TYPES[t]
    if info.block_size == 1:
        return
    for n in (1, info.block_size - 1, info.block_size + 16, 3 * info.block_size // 2):
        assert lib.row_size(info.id, n) == 0, f"ck_row_size({t}, {n})"
        x = np.ones(n, f32)
        dst = np.full(4 * info.block_bytes, 0xA5, np.uint8)
        w = lib.lib.ck_quantize_row(info.id, x.ctypes.data, dst.ctypes.data, ctypes.c_int64(n))
        assert w == 0 and np.all(dst == 0xA5), f"ck_quantize_row({t}, n={n}) returned {w} / wrote to dst"


def test_quantize_unknown_type(lib):
    """ck_quantize_row of an unknown type writes nothing and returns 0"""
    import ctypes
    x = np.ones(256, f32)
    dst = np.full(4096, 0xA5, np.uint8)
    for tid in UNKNOWN_IDS:
        w = lib.lib.ck_quantize_row(tid, x.ctypes.data, dst.ctypes.data, ctypes.c_int64(256))
        assert w == 0, f"ck_quantize_row({tid}) returned {w}"
        assert np.all(dst == 0xA5), f"ck_quantize_row({tid}) wrote to dst"


# =========================================================================== fp16 / bf16
def test_fp16_to_fp32_all(lib, check):
    h = np.arange(65536, dtype=np.uint16)
    exp = Q.fp16_to_fp32(h)
    got = np.array([lib.fp16_to_fp32(int(v)) for v in h], dtype=f32)
    nan = np.isnan(exp)
    assert np.array_equal(np.isnan(got), nan), \
        f"NaN mismatch at half 0x{int(h[np.flatnonzero(np.isnan(got) != nan)[0]]):04x}"
    bad = np.flatnonzero(_bits(got)[~nan] != _bits(exp)[~nan])
    assert bad.size == 0, (f"{bad.size} halves differ, first 0x{int(h[~nan][bad[0]]):04x}: "
                           f"got {got[~nan][bad[0]]!r} expected {exp[~nan][bad[0]]!r}")
    fin = np.isfinite(exp)
    check("fp16_to_fp32", got[fin], exp[fin], tol=1e-30)


def _f16_cases(rng):
    """float32 inputs for fp32 -> fp16: random bit patterns, exact ties between neighbouring
    halves (normal and subnormal), the overflow boundary, tiny values, signed zeros, inf, nan."""
    h = rng.integers(0, 0x7C00, 3000).astype(np.uint16)            # finite positive halves
    lo, hi = Q.fp16_to_fp32(h).astype(np.float64), Q.fp16_to_fp32(h + 1).astype(np.float64)
    ties = ((lo + hi) / 2).astype(f32)                               # exact in float32
    assert np.all((lo + hi) / 2 == ties.astype(np.float64))
    near = np.concatenate([np.nextafter(ties, f32(np.inf)), np.nextafter(ties, f32(0))])
    rnd_bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32).view(f32)
    rnd_bits = rnd_bits[~np.isnan(rnd_bits)]
    in_range = (rng.standard_normal(5000) * np.exp2(rng.uniform(-26, 17, 5000))).astype(f32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, 65504, 65519.996, 65520, 65536, 1e5, 3.4e38, -65520,
                        2.0**-24, 2.0**-25, 2.0**-25 * 1.0000001, 2.0**-26, -2.0**-25, 2.0**-14,
                        2.0**-14 - 2.0**-25, 6.1e-5, 1e-45, -1e-45, 1e-40, 1.0, -1.0, 0.1, 1 / 3],
                       dtype=f32)
    x = np.concatenate([ties, -ties, near, rnd_bits, in_range, special]).astype(f32)
    return x


def test_fp32_to_fp16(lib, rng):
    x = _f16_cases(rng)
    exp = Q.fp32_to_fp16(x)
    got = np.array([lib.fp32_to_fp16(v) for v in x], dtype=np.uint16)
    bad = np.flatnonzero(got != exp)
    assert bad.size == 0, (f"{bad.size}/{x.size} differ, first: f32 {x[bad[0]]!r} (0x{int(_bits(x[bad[0]])):08x}) "
                           f"-> got 0x{int(got[bad[0]]):04x}, expected 0x{int(exp[bad[0]]):04x}")
    for v in (np.nan, -np.nan):
        r = lib.fp32_to_fp16(f32(v))
        assert Q.f16_is_nan(r), f"fp32_to_fp16(nan) = 0x{r:04x} is not a NaN"


def test_bf16_to_fp32_all(lib):
    h = np.arange(65536, dtype=np.uint16)
    exp = Q.bf16_to_fp32(h)
    got = np.array([lib.bf16_to_fp32(int(v)) for v in h], dtype=f32)
    nan = np.isnan(exp)
    assert np.array_equal(np.isnan(got), nan)
    bad = np.flatnonzero(_bits(got)[~nan] != _bits(exp)[~nan])
    assert bad.size == 0, f"bf16 0x{int(h[~nan][bad[0]]):04x}: got {got[~nan][bad[0]]!r} expected {exp[~nan][bad[0]]!r}"


def test_fp32_to_bf16(lib, rng):
    up = rng.integers(0, 0x7F80, 3000).astype(np.uint32)             # finite positive bf16 (upper halves)
    ties = ((up << 16) | 0x8000).view(f32)                           # exactly halfway: round to even
    near = np.concatenate([((up << 16) | 0x7FFF).view(f32), ((up << 16) | 0x8001).view(f32)])
    rnd_bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32).view(f32)
    rnd_bits = rnd_bits[~np.isnan(rnd_bits)]
    special = np.array([0.0, -0.0, np.inf, -np.inf, 3.4028235e38, -3.4028235e38, 3.3961776e38, 1e-45, -1e-45,
                        1.1754942e-38, 1.1754944e-38, 9.18355e-41, 1.0, -1.0, 0.1, 1 / 3], dtype=f32)
    x = np.concatenate([ties, -ties, near, rnd_bits, special]).astype(f32)
    exp = Q.fp32_to_bf16(x)
    got = np.array([lib.fp32_to_bf16(v) for v in x], dtype=np.uint16)
    bad = np.flatnonzero(got != exp)
    assert bad.size == 0, (f"{bad.size}/{x.size} differ, first: f32 {x[bad[0]]!r} (0x{int(_bits(x[bad[0]])):08x}) "
                           f"-> got 0x{int(got[bad[0]]):04x}, expected 0x{int(exp[bad[0]]):04x}")
    for v in (np.nan, -np.nan):
        r = lib.fp32_to_bf16(f32(v))
        assert Q.bf16_is_nan(r), f"fp32_to_bf16(nan) = 0x{r:04x} is not a NaN"


# =========================================================================== dequantization
# byte offsets of the fp16 scale fields of each block (d, m / dmin, s); q8_K's d is a float32 at 0
HALF_FIELDS = {"q4_0": [0], "q4_1": [0, 2], "q5_0": [0], "q5_1": [0, 2], "q8_0": [0], "q8_1": [0, 2],
               "q2_K": [80, 82], "q3_K": [108], "q4_K": [0, 2], "q5_K": [0, 2], "q6_K": [208], "iq4_nl": [0]}
QUANT_TYPES = list(HALF_FIELDS) + ["q8_K"]


def _sane_halves(rng, k):
    """random fp16 bit patterns with magnitude 2^U(-14, 1) and random sign (normal, finite)"""
    v = (np.exp2(rng.uniform(-14, 1, k)) * rng.choice([-1.0, 1.0], k)).astype(f32)
    return Q.fp32_to_fp16(v)


def _scale_mask(t):
    """True at the bytes of a block that hold d / m / dmin (not quant codes or sub-block scales)"""
    info = Q.TYPES[t]
    m = np.zeros(info.block_bytes, bool)
    if t == "q8_K":
        m[0:4] = True
    for off in HALF_FIELDS.get(t, []):
        m[off:off + 2] = True
    return m


def _set_scales(blocks, t, halves):
    """write uint16 halves [nb, n_fields] (q8_K: float32 d [nb]) into the blocks"""
    if t == "q8_K":
        blocks[:, 0:4] = np.asarray(halves, f32).reshape(-1, 1).view(np.uint8)
        return
    for j, off in enumerate(HALF_FIELDS[t]):
        blocks[:, off:off + 2] = np.asarray(halves[:, j], np.uint16).reshape(-1, 1).view(np.uint8)


def _random_blocks(rng, t, nb):
    info = Q.TYPES[t]
    blocks = rng.integers(0, 256, (nb, info.block_bytes)).astype(np.uint8)
    if t == "q8_K":
        _set_scales(blocks, t, (np.exp2(rng.uniform(-20, 4, nb)) * rng.choice([-1.0, 1.0], nb)).astype(f32))
    else:
        _set_scales(blocks, t, _sane_halves(rng, nb * len(HALF_FIELDS[t])).reshape(nb, -1))
    return blocks


EDGE_KINDS = ["zero_block", "zero_scale", "neg_zero_scale", "max_codes", "min_codes", "subnormal_scale",
              "neg_subnormal_scale", "max_half_scale_max_codes", "mixed"]


def _edge_blocks(rng, t, kind, nb=8):
    blocks = _random_blocks(rng, t, nb)
    scale = _scale_mask(t)
    nf = 1 if t == "q8_K" else len(HALF_FIELDS[t])

    def halves(v):
        if t == "q8_K":
            return np.full(nb, {0x0000: 0.0, 0x8000: -0.0, 0x0001: 1e-45, 0x03FF: 1e-39, 0x8001: -1e-45,
                                0x7BFF: 65504.0}[v], f32)
        return np.full((nb, nf), v, np.uint16)
    if kind == "zero_block":
        blocks[:] = 0
    elif kind == "zero_scale":
        _set_scales(blocks, t, halves(0x0000))
    elif kind == "neg_zero_scale":
        _set_scales(blocks, t, halves(0x8000))
    elif kind == "max_codes":
        blocks[:, ~scale] = 0xFF
    elif kind == "min_codes":
        blocks[:, ~scale] = 0x00
    elif kind == "subnormal_scale":
        _set_scales(blocks, t, halves(0x0001))
        blocks[nb // 2:, ~scale] = 0xFF
        if t != "q8_K":
            b = blocks[: nb // 2]
            _set_scales(b, t, halves(0x03FF)[: nb // 2])
            blocks[: nb // 2] = b
    elif kind == "neg_subnormal_scale":
        _set_scales(blocks, t, halves(0x8001))
    elif kind == "max_half_scale_max_codes":
        _set_scales(blocks, t, halves(0x7BFF))
        blocks[:, ~scale] = 0xFF
    elif kind == "mixed":   # one field zero / -0 / subnormal per block, others sane
        if t == "q8_K":
            _set_scales(blocks, t, np.array([0.0, -0.0, 1e-45, 1.0, -2.5, 3e-39, 0.5, -1e-3][:nb], f32))
        else:
            h = _sane_halves(rng, nb * nf).reshape(nb, nf)
            special = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF], np.uint16)
            h[np.arange(nb), rng.integers(0, nf, nb)] = special[:nb]
            _set_scales(blocks, t, h)
    return blocks


def _compare_dequant(lib, check, t, blocks, what):
    info = Q.TYPES[t]
    n = blocks.shape[0] * info.block_size
    data = blocks.tobytes()
    exp = Q.dequantize(t, data, n)
    got = lib.dequantize_row(info.id, data, n)
    nan = np.isnan(exp)
    assert np.array_equal(np.isnan(got), nan), f"dequant {t} {what}: NaN pattern differs"
    g, e = _bits(got)[~nan], _bits(exp)[~nan]
    if not np.array_equal(g, e):
        i, b = _first_mismatch(g, e, info.block_size)
        raise AssertionError(f"dequant {t} {what}: {int(np.sum(g != e))}/{g.size} values not bit-exact; first at "
                             f"element {i} (block {b}: {blocks[b].tobytes().hex()}): got {got[~nan][i]!r}, "
                             f"expected {exp[~nan][i]!r}")
    fin = np.isfinite(exp)
    check(f"dequant {t}", got[fin], exp[fin], tol=1e-30, what=what)


@pytest.mark.parametrize("t", QUANT_TYPES)
def test_dequantize_random(lib, check, rng, t):
    for nb in (1, 2, 7, 64):
        _compare_dequant(lib, check, t, _random_blocks(rng, t, nb), f"random nb={nb}")


@pytest.mark.parametrize("kind", EDGE_KINDS)
@pytest.mark.parametrize("t", QUANT_TYPES)
def test_dequantize_edge(lib, check, rng, t, kind):
    _compare_dequant(lib, check, t, _edge_blocks(rng, t, kind), kind)


@pytest.mark.parametrize("t", ["f16", "bf16"])
def test_dequantize_half_all(lib, check, t):
    """f16 / bf16 rows holding every one of the 65536 bit patterns (inf and NaN included)"""
    h = np.arange(65536, dtype=np.uint16)
    _compare_dequant(lib, check, t, h.view(np.uint8).reshape(-1, 2), "all 65536 patterns")


def test_dequantize_f32(lib, check, rng):
    x = rng.integers(0, 2**32, 4096, dtype=np.uint64).astype(np.uint32)
    got = lib.dequantize_row(0, x.tobytes(), x.size)
    assert np.array_equal(_bits(got), x), "f32 dequantize must copy the bits"


# =========================================================================== quantization
ROW_KINDS = ["normal", "small", "large", "tiny", "zeros", "one_huge", "one_huge_neg", "const_pos", "const_neg",
             "neg_max", "positive", "grid_q4", "ties_q8", "sparse"]


def make_row(rng, kind, n):
    x = rng.standard_normal(n).astype(f32)
    if kind == "small":
        x = (x * 1e-3).astype(f32)
    elif kind == "large":
        x = (x * 1e3).astype(f32)
    elif kind == "tiny":          # scales are fp16 subnormals
        x = (x * 1e-6).astype(f32)
    elif kind == "zeros":
        x = np.zeros(n, f32)
    elif kind == "one_huge":
        x[rng.integers(n)] = 3e4
    elif kind == "one_huge_neg":
        x[rng.integers(n)] = -3e4
    elif kind == "const_pos":
        x = np.full(n, 0.7, f32)
    elif kind == "const_neg":
        x = np.full(n, -0.7, f32)
    elif kind == "neg_max":       # every block's largest magnitude is negative
        x = x.reshape(-1, 32)
        x[:, rng.integers(32)] = -8.0
        x = x.reshape(-1)
    elif kind == "positive":      # min > 0: q4_1 / K-quant minimum handling
        x = (np.abs(x) + 1).astype(f32)
    elif kind == "grid_q4":       # integers -8..7 with a -8 per block: q4_0 ties (x*id + 8.5 exact)
        x = rng.integers(-8, 8, n).astype(f32)
        x.reshape(-1, 32)[:, 0] = -8
    elif kind == "ties_q8":       # k + 0.5 with amax 127 per block: q8_0 roundf ties
        x = (rng.integers(-126, 126, n) + 0.5).astype(f32)
        x.reshape(-1, 32)[:, 3] = 127
    elif kind == "sparse":        # mostly zeros, a few values: all-zero sub-blocks next to non-zero ones
        x = np.where(rng.random(n) < 0.03, x, f32(0)).astype(f32)
    return np.ascontiguousarray(x, dtype=f32)


LEGACY_NS = [32, 64, 96, 256, 1024, 4096]
K_NS = [256, 512, 1024, 4096]


@pytest.mark.parametrize("kind", ROW_KINDS)
@pytest.mark.parametrize("t", IDENTICAL)
def test_quantize_legacy_identical(lib, qstat, rng, t, kind):
    info = Q.TYPES[t]
    for n in LEGACY_NS:
        x = make_row(rng, kind, n)
        exp = Q.quantize(t, x)
        got, written = lib.quantize_row(info.id, x)
        assert written == len(exp), f"ck_quantize_row({t}, n={n}) returned {written}, row size {len(exp)}"
        if got != exp:
            g, e = np.frombuffer(got, np.uint8), np.frombuffer(exp, np.uint8)
            i, b = _first_mismatch(g, e, info.block_bytes)
            bs = info.block_bytes
            raise AssertionError(
                f"quantize {t} {kind} n={n}: {int(np.sum(g != e))} bytes differ; first byte {i} (block {b})\n"
                f"  x[block] = {x[b * 32:(b + 1) * 32].tolist()}\n  got      {g[b * bs:(b + 1) * bs].tobytes().hex()}\n"
                f"  expected {e[b * bs:(b + 1) * bs].tobytes().hex()}")
        qstat("quantize: rows byte-identical to ggml reference", t, "identical", 1, how="sum")


def _rmse(t, data, x):
    y = Q.dequantize(t, data, x.size).astype(np.float64)
    return float(np.sqrt(np.mean((y - x.astype(np.float64)) ** 2)))


@pytest.mark.parametrize("kind", ROW_KINDS)
@pytest.mark.parametrize("t", KQUANTS)
def test_quantize_kquant_rmse(lib, qstat, rng, t, kind):
    info = Q.TYPES[t]
    for n in K_NS:
        x = make_row(rng, kind, n)
        exp = Q.quantize(t, x)
        got, written = lib.quantize_row(info.id, x)
        assert written == len(exp), f"ck_quantize_row({t}, n={n}) returned {written}, row size {len(exp)}"
        got_y = Q.dequantize(t, got, n)
        assert np.all(np.isfinite(got_y)), f"quantize {t} {kind} n={n}: ck's row dequantizes to non-finite values"
        r_ck, r_ref = _rmse(t, got, x), _rmse(t, exp, x)
        tiny = 1e-12 * max(1.0, float(np.max(np.abs(x))))
        ratio = r_ck / r_ref if r_ref > 0 else (1.0 if r_ck == 0 else math.inf)
        qstat("quantize K: RMSE(ck) / RMSE(ggml reference), worst row", t, "max ratio", ratio)
        qstat("quantize K: RMSE(ck) / RMSE(ggml reference), worst row", t, "min ratio", ratio, how="min")
        qstat("quantize K: rows byte-identical to ggml reference", t, "identical", int(got == exp), how="sum")
        qstat("quantize K: rows byte-identical to ggml reference", t, "rows", 1, how="sum")
        assert r_ck <= r_ref * (1 + 1e-6) + tiny, \
            f"quantize {t} {kind} n={n}: RMSE(ck) {r_ck:.9g} > RMSE(ggml reference) {r_ref:.9g} (ratio {ratio:.6f})"


@pytest.mark.parametrize("kind", ROW_KINDS)
def test_quantize_q8_1_identical(lib, rng, kind):
    """q8_1 (d, s = d * sum(q), quants): byte-identical to ggml's quantize_row_q8_1_ref"""
    for n in LEGACY_NS:
        x = make_row(rng, kind, n)
        got, written = lib.quantize_row(Q.TYPES["q8_1"].id, x)
        assert written == len(got)
        assert got == Q.quantize("q8_1", x), f"q8_1 {kind} n={n} differs from ggml's quantize_row_q8_1_ref"


# ---------------------------------------------------------------- quantize -> dequantize error bound
def _legacy_bound(t, x, data):
    """per element bound on |dequant(quant(x)) - x| for the legacy types, from the stored scales:
    q8_0: half a step d=amax/127 + 127*|d - fp16(d)|
    q4_0 / q5_0: one full step |d| = amax/8 (/16) (the code of +amax clamps to 7 / 15) + 8 (16) * |d - fp16(d)|
    q4_1 / q5_1: half a step d=(max-min)/15 (/31) + 15 (31) * |d - fp16(d)| + |min - fp16(min)|"""
    xb = x.reshape(-1, 32).astype(np.float64)
    b = np.frombuffer(data, np.uint8).reshape(xb.shape[0], -1)
    d16 = Q.fp16_to_fp32(b[:, 0:2].copy().view(np.uint16)[:, 0]).astype(np.float64)
    if t in ("q8_0", "q4_0", "q5_0"):
        amax = np.abs(xb).max(axis=1)
        div, qmax, steps = {"q8_0": (127, 127, 0.5), "q4_0": (8, 8, 1.0), "q5_0": (16, 16, 1.0)}[t]
        d = amax / div
        bound = steps * d + qmax * np.abs(d - np.abs(d16))
    else:
        mn, mx = xb.min(axis=1), xb.max(axis=1)
        m16 = Q.fp16_to_fp32(b[:, 2:4].copy().view(np.uint16)[:, 0]).astype(np.float64)
        qmax = 15 if t == "q4_1" else 31
        d = (mx - mn) / qmax
        bound = 0.5 * d + qmax * np.abs(d - d16) + np.abs(mn - m16)
    return np.repeat(bound, 32)


K_BOUND = {   # max |error| <= frac * (absolute max of the 256-element super-block)
    "q2_K": 1 / 2,     # 2-bit codes, 4 levels over [min, max] fitted by least |error| weighted by |x|: extremes may clip
    "q3_K": 0.3,       # signed 3-bit steps of ~amax/4; +amax clamps to code 3, and the rmse fit may shrink the step
    "q4_K": 2 / 15,    # one step of a 4-bit grid spanning [-amax, amax] (the widest sub-block grid; min offset + 6-bit scales/mins)
    "q5_K": 2 / 31,    # same with 5-bit codes
    "q6_K": 2 / 32,    # two 6-bit steps of amax/32: +amax clamps to code 31 and the weighted fit may shrink the scale
    "q8_K": 0.5 / 127 * (1 + 1e-5),   # half a step of amax/127 (float32 d, no fp16 rounding)
}


@pytest.mark.parametrize("kind", ["normal", "large", "one_huge", "const_neg", "neg_max", "positive", "sparse"])
@pytest.mark.parametrize("t", ["f16", "bf16"] + LEGACY + KQUANTS + ["iq4_nl"])
def test_quantize_roundtrip_bound(lib, check, rng, t, kind):
    info = Q.TYPES[t]
    n = 4096
    x = make_row(rng, kind, n)
    got, _ = lib.quantize_row(info.id, x)
    y = lib.dequantize_row(info.id, got, n).astype(np.float64)
    err = np.abs(y - x.astype(np.float64))
    ax = np.abs(x.astype(np.float64))
    if t == "f16":     # round to nearest: half an ulp, 2^-11 relative (2^-25 absolute in the subnormal range)
        bound = np.maximum(ax * 2.0**-11, 2.0**-25)
    elif t == "bf16":  # round to nearest: half an ulp, 2^-8 relative
        bound = ax * 2.0**-8
    elif t in LEGACY:
        bound = _legacy_bound(t, x, got)
    elif t == "iq4_nl":   # half the widest level gap (89..113: 12/127) plus one clamped end level (113 vs 127:
        # 14/127), ~0.11 amax; the least-squares scale may stretch it: 0.12 amax, + 127 half fp16 subnormal steps
        bound = np.repeat(np.abs(x.reshape(-1, 32)).max(axis=1) * 0.12 + 127 * 2.0**-25, 32)
    else:
        bound = np.repeat(np.abs(x.reshape(-1, 256)).max(axis=1) * K_BOUND[t], 256)
    bound = bound * (1 + 1e-4) + 1e-30   # 1e-4: float32 rounding of x*id (+ offset) before the integer conversion
    bad = np.flatnonzero(err > bound)
    assert bad.size == 0, (f"{t} {kind}: {bad.size} elements exceed the bound, first {bad[0]}: x={x[bad[0]]!r} "
                           f"y={y[bad[0]]!r} err={err[bad[0]]:.6g} bound={bound[bad[0]]:.6g}")
    check(f"quant->dequant {t} err/bound", err / bound, np.zeros_like(err), tol=1.0 + 1e-12, what=kind)


# =========================================================================== activation blocks
ACT_KINDS = ["normal", "zeros", "neg_zero", "one_huge", "ties_pos", "ties_neg", "d_fp16_inf", "d_fp16_subnormal",
             "d_fp16_zero", "float_subnormal", "min_subnormal", "mixed", "block_scales"]


def make_act_row(rng, kind, n, blk):
    """activation rows for the fast path's quantizers; blk = 32 (Q8_0 / Q8_1) or 256 (Q8_K)"""
    x = rng.standard_normal(n).astype(f32)
    if kind == "zeros":
        x[:] = 0
    elif kind == "neg_zero":
        x[:] = -0.0
    elif kind == "one_huge":        # one value per block far above the rest
        x.reshape(-1, blk)[:, rng.integers(blk)] = 3e4
    elif kind in ("ties_pos", "ties_neg"):   # k + 0.5 with +-127 the block's largest: x * (127/amax) is a tie
        x = (rng.integers(-126, 126, n) + 0.5).astype(f32)
        x.reshape(-1, blk)[:, 3] = 127 if kind == "ties_pos" else -127
    elif kind == "d_fp16_inf":      # amax/127 > 65504: d is inf in fp16
        x = (x * 1e7).astype(f32)
    elif kind == "d_fp16_subnormal":
        x = (x * 1e-6).astype(f32)
    elif kind == "d_fp16_zero":     # amax/127 < 2^-25: d rounds to 0 in fp16
        x = (x * 1e-12).astype(f32)
    elif kind == "float_subnormal":  # amax < 127/FLT_MAX: 127/amax (and -127/max) overflow to inf
        x = (x * 1e-39).astype(f32)
    elif kind == "min_subnormal":
        x = np.where(rng.random(n) < 0.5, f32(1e-45), f32(-1e-45)).astype(f32)
    elif kind == "mixed":           # zeros, -0.0, subnormals and normal values in one row
        x = np.where(rng.random(n) < 0.3, f32(-0.0), x * np.exp2(rng.uniform(-140, 20, n))).astype(f32)
    elif kind == "block_scales":    # every block its own magnitude, 2^-30 .. 2^30
        x = (x.reshape(-1, blk) * np.exp2(rng.uniform(-30, 30, (n // blk, 1)))).reshape(-1).astype(f32)
    return np.ascontiguousarray(x, dtype=f32)


ACT_NS = {"q8_0": [32, 96, 288, 4096], "q8_1": [32, 96, 288, 4096], "q8_K": [256, 768, 2304],   # odd block counts too
          "f16": [1, 7, 101, 4096], "bf16": [1, 7, 101, 4096]}                                  # tails of the 8-value steps


@pytest.mark.parametrize("kind", ACT_KINDS)
@pytest.mark.parametrize("at", ["q8_0", "q8_1", "q8_K", "f16", "bf16"])
def test_act_blocks_identical(lib, qstat, rng, at, kind):
    """ck_quantize_act_row (SIMD where the build has it) and its _scalar path write, for every
    weight type that pairs with `at`, the bytes of the numpy port of ggml's x86 quantizer"""
    blk = Q.TYPES[at].block_size
    for n in ACT_NS[at]:
        buf = np.zeros(n + 1, f32)
        gb = max(blk, 32)                              # f16 / bf16: rows made in 32-value blocks, cut to n
        buf[1:] = make_act_row(rng, kind, -(-n // gb) * gb, gb)[:n]
        x = buf[1:]                                    # 4 bytes past the allocation's alignment
        for t in [w for w, a in Q.ACT_TYPE.items() if a == at]:
            exp_type, exp = Q.quantize_act(t, x)
            for scalar in (False, True):
                got_id, got = lib.quantize_act_row(t, x, scalar=scalar)
                what = f"ck_quantize_act_row{'_scalar' if scalar else ''}({t}) {kind} n={n}"
                assert got_id == Q.TYPES[exp_type].id, f"{what}: returned {got_id}, expected {exp_type}"
                if got != exp:
                    g, e = np.frombuffer(got, np.uint8), np.frombuffer(exp, np.uint8)
                    i, b = _first_mismatch(g, e, Q.TYPES[at].block_bytes)
                    bs = Q.TYPES[at].block_bytes
                    raise AssertionError(
                        f"{what}: {int(np.sum(g != e))} bytes differ from ggml's; first byte {i} (block {b})\n"
                        f"  x[block] = {x[b * blk:(b + 1) * blk][:32].tolist()}\n"
                        f"  got      {g[b * bs:(b + 1) * bs].tobytes().hex()}\n  expected {e[b * bs:(b + 1) * bs].tobytes().hex()}")
        qstat("activation blocks byte-identical to ggml's x86 quantizers (rows x weight types)", at, "rows", 1, how="sum")


@pytest.mark.parametrize("t", ["f32", "q8_1", "q8_K"])
def test_act_blocks_none(lib, t):
    """types without an activation format: -1, nothing written"""
    at, got = lib.quantize_act_row(t, np.ones(256, f32))
    assert at == -1 and got == b"", f"ck_quantize_act_row({t}) returned {at}"


def test_act_blocks_bad_length(lib):
    for t, n in (("q8_0", 48), ("q4_1", 16), ("q4_K", 32), ("q6_K", 300)):
        at, got = lib.quantize_act_row(t, np.ones(n, f32))
        assert at == -1 and got == b"", f"ck_quantize_act_row({t}, n={n}) returned {at}"


def test_act_blocks_differ_from_portable_ref(lib):
    """the x86 blocks are not ggml's portable quantize_row_q8_0_ref (roundf, 1/d): on exact ties they
    differ, so the byte-identity tests above can tell the two apart"""
    x = (np.arange(-126, 130, dtype=f32) + 0.5)[:256]
    x[3::32] = 127
    _, got = lib.quantize_act_row("q8_0", x)
    assert got == Q.quantize_act("q8_0", x)[1] and got != Q.quantize("q8_0", x)


# =========================================================================== matmul
_WCACHE = {}


def _weights(t, C, OC):
    """weights ~ N(0,1)/sqrt(C), quantized by the numpy reference; (bytes, dequantized float32 [OC, C])"""
    key = (t, C, OC)
    if key not in _WCACHE:
        rng = np.random.default_rng(zlib.crc32(repr(key).encode()))
        w = (rng.standard_normal((OC, C)) / math.sqrt(C)).astype(f32)
        data = Q.quantize(t, w)
        deq = Q.dequantize(t, data, OC * C).reshape(OC, C)
        _WCACHE[key] = (data, deq)
    return _WCACHE[key]


def _ref_matmul(inp, w, bias):
    out = torch.from_numpy(inp.astype(np.float64)) @ torch.from_numpy(w.astype(np.float64)).T
    if bias is not None:
        out = out + torch.from_numpy(bias.astype(np.float64))
    return out.numpy()


def _fast_emulation(t, inp, wdata, wdeq, bias):
    """float64 of what ggml's CPU backend computes for out = inp @ w^T + bias with weights of type t,
    up to the order of its float sums (oracle.quant.emulate_matmul: activations quantized by the
    numpy port of ggml's x86 quantizer, ggml's per-block formula).
    Returns (emulated out, sum |products| per output: the scale of float-summation error)."""
    out, mag = Q.emulate_matmul(t, inp, wdata, wdeq)
    if bias is not None:
        out, mag = out + bias.astype(np.float64), mag + np.abs(bias.astype(np.float64))
    return out, mag


MM_T = [1, 2, 5, 64]
MM_C = [256, 512, 768]
MM_OC = [1, 7, 64]
FAST_REL_TOL = 2e-3
FAST_EMU_TOL = 1e-6   # float32 summation noise relative to sum |products| (measured worst 1.2e-7, q5_K)


@pytest.mark.parametrize("use_bias", [P(True, id="bias"), P(False, id="no_bias")])
@pytest.mark.parametrize("OC", MM_OC, ids=lambda v: f"OC{v}")
@pytest.mark.parametrize("C", MM_C, ids=lambda v: f"C{v}")
@pytest.mark.parametrize("T", MM_T, ids=lambda v: f"T{v}")
@pytest.mark.parametrize("t", MATMUL_TYPES)
def test_matmul_q(lib, check, qstat, rng, t, T, C, OC, use_bias):
    wdata, wdeq = _weights(t, C, OC)
    inp = rng.standard_normal((T, C)).astype(f32)
    bias = rng.standard_normal(OC).astype(f32) if use_bias else None
    ref = _ref_matmul(inp, wdeq, bias)
    tid = Q.TYPES[t].id

    exact = lib.matmul_forward_qp(Q_EXACT, tid, inp, wdata, bias, OC)
    check(f"matmul_q exact {t}", exact, ref, tol=1e-4)

    fast = lib.matmul_forward_qp(Q_FAST, tid, inp, wdata, bias, OC)
    assert np.all(np.isfinite(fast)), f"matmul_q fast {t}: non-finite output"
    # outputs are ~N(0,1): the floor sqrt(T*OC) (their expected norm) keeps a lone output near 0
    # (T = OC = 1) from inflating the ratio
    rel = float(np.linalg.norm(fast - ref) / max(np.linalg.norm(ref), math.sqrt(T * OC)))
    qstat("matmul fast path: ||fast - exact|| / ||exact|| (exact = float64)", t, "max", rel)
    if t in NO_INT_KERNEL:
        check(f"matmul_q fast {t} (exact path)", fast, ref, tol=1e-4)
        assert rel < FAST_REL_TOL, f"matmul_q fast {t}: relative error {rel:.3e} >= {FAST_REL_TOL}"
    else:
        # the fast path computes ggml's scheme: against its float64 emulation only the float32
        # roundings and summation order differ, a few ulps of sum |products| (C <= 768 terms)
        emu, mag = _fast_emulation(t, inp, wdata, wdeq, bias)
        err = float(np.max(np.abs(fast.astype(np.float64) - emu) / mag))
        qstat("matmul fast path vs float64 emulation of ggml: max |fast - emu| / sum|products|", t, "max", err)
        check(f"matmul_q fast {t} vs ggml emulation / sum|products|", np.abs(fast - emu) / mag, np.zeros_like(emu),
              tol=FAST_EMU_TOL)
        # Q8 rounding of N(0,1) activations alone costs ~amax/(127*sqrt(12)) ~ 0.55% (Q8_0) to 0.7% (Q8_K)
        # relative (measured: the emulation above), so 2e-3 is below the scheme's own error: allow 1e-2,
        # widened by 4/sqrt(T*OC) because a norm over few outputs is a noisy estimate (k=1: 5 sigma)
        tol = 1e-2 * (1 + 4 / math.sqrt(T * OC))
        assert rel < tol, f"matmul_q fast {t}: relative error {rel:.3e} >= {tol:.3e}"

    default = lib.matmul_forward_q(tid, inp, wdata, bias, OC)
    assert np.array_equal(_bits(default), _bits(exact)) or np.array_equal(_bits(default), _bits(fast)), \
        f"ck_matmul_forward_q({t}) equals neither the exact nor the fast path"


@pytest.mark.parametrize("OC", [7, 300], ids=lambda v: f"OC{v}")   # 300: two chunks of CK_MATMUL_BQ_ROWS (256) rows
@pytest.mark.parametrize("T", [1, 64], ids=lambda v: f"T{v}")
@pytest.mark.parametrize("t", MATMUL_TYPES)
def test_matmul_backward_q(lib, check, rng, t, T, OC):
    """ck_matmul_backward_q (and _scalar): dinp += dout @ dequant(W) against float64 torch on the numpy
    oracle's dequantized weights; dinp prefilled (the kernel accumulates). Bit-exactness against the
    whole-matrix fp32 backward is tests/test_kernels.c's."""
    C = 256
    wdata, wdeq = _weights(t, C, OC)
    dout = rng.standard_normal((T, OC)).astype(f32)
    dinp0 = rng.standard_normal((T, C)).astype(f32)
    ref = dinp0.astype(np.float64) + (torch.from_numpy(dout.astype(np.float64)) @ torch.from_numpy(wdeq.astype(np.float64))).numpy()
    for scalar in (False, True):
        dinp = dinp0.copy()
        lib.matmul_backward_q(Q.TYPES[t].id, dinp, dout, wdata, scalar=scalar)
        check(f"matmul_backward_q {t}{' _scalar' if scalar else ''}", dinp, ref)
