"""Independent numpy references for ggml's tensor types (GGUF tensor type ids).

Written from the block layouts and reference algorithms of ggml (ggml-common.h, ggml-quants.c),
as numpy code that reproduces ggml's float32 arithmetic operation by operation, so results are
bit-exact: every intermediate is a float32 rounded after each operation (C compiled with
-std=c99 has no FP contraction), sums are accumulated sequentially in ggml's order, and
ggml's ``nearest_int`` (the 1.5*2^23 magic-number trick) is emulated bit for bit.

* ``TYPES``                      name -> TypeInfo(id, block_size, block_bytes)
* ``row_size(type, n)``          bytes of a row of n elements
* ``dequantize(type, data, n)``  bytes -> float32[n]
* ``quantize(type, x)``          float32[n] -> bytes (every type: f32, f16, bf16, q4_0, q4_1, q5_0,
                                 q5_1, q8_0, q8_1, q2_K, q3_K, q4_K, q5_K, q6_K, q8_K, iq4_nl)
* ``quantize_act(type, x)``      the activation blocks ggml's x86 CPU backend pairs with weights of
                                 ``type`` (its vec_dot_type): (block type, bytes)
* ``fp16_to_fp32``, ``fp32_to_fp16``, ``bf16_to_fp32``, ``fp32_to_bf16`` on uint16 / float32 arrays

Quantizers vectorise over blocks; K-quant quantizers loop (in Python) over the elements of a
sub-block so that every float32 sum is accumulated in the same order as ggml's C loops.
"""
from collections import namedtuple

import numpy as np

f32 = np.float32
QK = 32
QK_K = 256
GROUP_MAX_EPS = f32(1e-15)

TypeInfo = namedtuple("TypeInfo", "id block_size block_bytes")

TYPES = {
    "f32": TypeInfo(0, 1, 4),
    "f16": TypeInfo(1, 1, 2),
    "q4_0": TypeInfo(2, 32, 18),     # d f16, qs[16]
    "q4_1": TypeInfo(3, 32, 20),     # d f16, m f16, qs[16]
    "q5_0": TypeInfo(6, 32, 22),     # d f16, qh[4], qs[16]
    "q5_1": TypeInfo(7, 32, 24),     # d f16, m f16, qh[4], qs[16]
    "q8_0": TypeInfo(8, 32, 34),     # d f16, qs[32] int8
    "q8_1": TypeInfo(9, 32, 36),     # d f16, s f16, qs[32] int8
    "q2_K": TypeInfo(10, 256, 84),   # scales[16], qs[64], d f16, dmin f16
    "q3_K": TypeInfo(11, 256, 110),  # hmask[32], qs[64], scales[12], d f16
    "q4_K": TypeInfo(12, 256, 144),  # d f16, dmin f16, scales[12], qs[128]
    "q5_K": TypeInfo(13, 256, 176),  # d f16, dmin f16, scales[12], qh[32], qs[128]
    "q6_K": TypeInfo(14, 256, 210),  # ql[128], qh[64], scales[16] int8, d f16
    "q8_K": TypeInfo(15, 256, 292),  # d f32, qs[256] int8, bsums[16] int16
    "iq4_nl": TypeInfo(20, 32, 18),  # d f16, qs[16]: 4-bit indices into KVALUES_IQ4NL
    "bf16": TypeInfo(30, 1, 2),
}
TYPE_BY_ID = {v.id: k for k, v in TYPES.items()}
QUANTIZABLE = ("f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q8_1",
               "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq4_nl")
# ggml's fixed non-linear levels of IQ4_NL (kvalues_iq4nl)
KVALUES_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=f32)


def type_name(t):
    return TYPE_BY_ID[t] if isinstance(t, (int, np.integer)) else t


def row_size(t, n):
    info = TYPES[type_name(t)]
    assert n % info.block_size == 0, f"{n} is not a multiple of {type_name(t)}'s block {info.block_size}"
    return n // info.block_size * info.block_bytes


# ============================================================================ scalar formats
def fp16_to_fp32(h):
    return np.asarray(h, dtype=np.uint16).view(np.float16).astype(f32)


def fp32_to_fp16(x):
    """IEEE binary16 round-to-nearest-even, as uint16 bits (numpy converts float32 -> half directly)."""
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=f32).astype(np.float16).view(np.uint16)


def bf16_to_fp32(h):
    return (np.asarray(h, dtype=np.uint16).astype(np.uint32) << 16).view(f32)


def fp32_to_bf16(x):
    """bfloat16 by definition: the top 16 bits of the float32, rounded to nearest even; NaN stays a
    (quiet) NaN. Overflow rounds to +-inf, subnormals round like any other value."""
    u = np.asarray(x, dtype=f32).view(np.uint32).astype(np.uint64)
    rne = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), rne).astype(np.uint16)


def bf16_is_nan(h):
    h = np.asarray(h, dtype=np.uint16)
    return ((h & 0x7F80) == 0x7F80) & ((h & 0x007F) != 0)


def f16_is_nan(h):
    h = np.asarray(h, dtype=np.uint16)
    return ((h & 0x7C00) == 0x7C00) & ((h & 0x03FF) != 0)


# ============================================================================ helpers
def _blocks(data, t, n):
    info = TYPES[t]
    assert n % info.block_size == 0
    nb = n // info.block_size
    raw = np.frombuffer(bytes(data) if not isinstance(data, np.ndarray) else data.tobytes(), dtype=np.uint8)
    assert raw.size >= nb * info.block_bytes, f"{t}: {raw.size} bytes < {nb * info.block_bytes} needed"
    return raw[: nb * info.block_bytes].reshape(nb, info.block_bytes)


def _half(b, off):
    """fp16 field at byte offset off of every block -> float32 [nb]"""
    return fp16_to_fp32(b[:, off:off + 2].copy().view(np.uint16)[:, 0])


def nearest_int(v):
    """ggml's nearest_int: (int bits of (v + 12582912.f)) & 0x7fffff) - 0x400000, in float32.
    Round-half-even for |v| <= 4194303; reproduced bit for bit outside that range too."""
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.asarray(v, dtype=f32) + f32(12582912.0)
    return (s.view(np.int32) & 0x007FFFFF) - 0x00400000


def _roundf(v):
    """C roundf (half away from zero) of float32 values, exactly (float64 holds |v|+0.5 exactly)."""
    v = np.asarray(v, dtype=f32).astype(np.float64)
    return (np.sign(v) * np.floor(np.abs(v) + 0.5))


def _trunc_int(v):
    """C float -> integer conversion (truncation toward zero)."""
    return np.trunc(np.asarray(v, dtype=f32)).astype(np.int64)


def _i8(v):
    """store an int into int8_t / uint8_t (two's complement wrap, as on every ggml target)"""
    return (np.asarray(v, dtype=np.int64) & 0xFF).astype(np.uint8)


def _seqsum(terms):
    """float32 sum of terms[..., i] accumulated left to right from 0.0f (ggml's loops)."""
    terms = np.asarray(terms, dtype=f32)
    acc = np.zeros(terms.shape[:-1], dtype=f32)
    for i in range(terms.shape[-1]):
        acc = acc + terms[..., i]
    return acc


def _first_absmax(x):
    """sequential `if (fabsf(x) > amax) { amax = fabsf(x); max = x; }` from amax = max = 0:
    the first element of greatest magnitude. Returns (amax, max) over the last axis."""
    ax = np.abs(x)
    idx = np.argmax(ax, axis=-1)
    mx = np.take_along_axis(x, idx[..., None], axis=-1)[..., 0]
    amax = np.take_along_axis(ax, idx[..., None], axis=-1)[..., 0]
    mx = np.where(amax > 0, mx, f32(0))
    return amax.astype(f32), mx.astype(f32)


def get_scale_min_k4(scales):
    """decode the 12 packed scale bytes of q4_K / q5_K -> (sc[nb, 8], m[nb, 8]) as uint8"""
    q = scales.astype(np.uint8)
    sc = np.empty(q.shape[:-1] + (8,), np.uint8)
    m = np.empty_like(sc)
    for j in range(8):
        if j < 4:
            sc[..., j] = q[..., j] & 63
            m[..., j] = q[..., j + 4] & 63
        else:
            sc[..., j] = (q[..., j + 4] & 0xF) | ((q[..., j - 4] >> 6) << 4)
            m[..., j] = (q[..., j + 4] >> 4) | ((q[..., j] >> 6) << 4)
    return sc, m


def _q3k_scales(s):
    """decode q3_K's 12 scale bytes -> int [nb, 16] in -32..31"""
    out = np.empty(s.shape[:-1] + (16,), np.int64)
    s = s.astype(np.int64)
    for j in range(16):
        lo = (s[..., j] & 0xF) if j < 8 else (s[..., j - 8] >> 4)
        hi = (s[..., 8 + j % 4] >> (2 * (j // 4))) & 3
        out[..., j] = (lo | (hi << 4)) - 32
    return out


# ============================================================================ dequantizers
def _dq_f32(b, n):
    return b.reshape(-1).copy().view(f32)[:n]


def _dq_f16(b, n):
    return fp16_to_fp32(b.reshape(-1).copy().view(np.uint16))[:n]


def _dq_bf16(b, n):
    return bf16_to_fp32(b.reshape(-1).copy().view(np.uint16))[:n]


def _nibbles(qs):
    """qs [nb, 16] -> int [nb, 32]: element j = low nibble of qs[j], element j+16 = high nibble"""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int64)


def _qh_bits(b, off):
    qh = b[:, off:off + 4].copy().view(np.uint32)[:, 0].astype(np.int64)
    return (qh[:, None] >> np.arange(32)[None, :]) & 1          # bit j = 5th bit of element j


def _dq_q4_0(b, n):
    d = _half(b, 0)
    q = (_nibbles(b[:, 2:18]) - 8).astype(f32)
    return (q * d[:, None]).reshape(-1)


def _dq_q4_1(b, n):
    d, m = _half(b, 0), _half(b, 2)
    q = _nibbles(b[:, 4:20]).astype(f32)
    return (q * d[:, None] + m[:, None]).reshape(-1)


def _dq_q5_0(b, n):
    d = _half(b, 0)
    q = ((_nibbles(b[:, 6:22]) | (_qh_bits(b, 2) << 4)) - 16).astype(f32)
    return (q * d[:, None]).reshape(-1)


def _dq_q5_1(b, n):
    d, m = _half(b, 0), _half(b, 2)
    q = (_nibbles(b[:, 8:24]) | (_qh_bits(b, 4) << 4)).astype(f32)
    return (q * d[:, None] + m[:, None]).reshape(-1)


def _dq_q8_0(b, n):
    d = _half(b, 0)
    q = b[:, 2:34].view(np.int8).astype(f32)
    return (q * d[:, None]).reshape(-1)


def _dq_q8_1(b, n):
    d = _half(b, 0)          # b[:, 2:4] holds s = d * sum(qs), not needed to dequantize
    q = b[:, 4:36].view(np.int8).astype(f32)
    return (q * d[:, None]).reshape(-1)


def _k_index():
    """for q2_K / q3_K: element e = 128*h + 32*j + 16*k + l  ->  (qs byte, shift, scale index,
    hmask byte, hmask bit)"""
    e = np.arange(QK_K)
    h, j, k, l = e // 128, (e // 32) % 4, (e // 16) % 2, e % 16
    return 32 * h + 16 * k + l, 2 * j, 8 * h + 2 * j + k, 16 * k + l, 4 * h + j


def _dq_q2_K(b, n):
    scales, qs = b[:, 0:16].astype(np.int64), b[:, 16:80].astype(np.int64)
    d, dmin = _half(b, 80), _half(b, 82)
    qb, sh, si, _, _ = _k_index()
    sc = scales[:, si]
    dl = d[:, None] * (sc & 0xF).astype(f32)
    ml = dmin[:, None] * (sc >> 4).astype(f32)
    q = ((qs[:, qb] >> sh) & 3).astype(f32)
    return (dl * q - ml).reshape(-1)


def _dq_q3_K(b, n):
    hmask, qs = b[:, 0:32].astype(np.int64), b[:, 32:96].astype(np.int64)
    sc = _q3k_scales(b[:, 96:108])
    d = _half(b, 108)
    qb, sh, si, hb, hbit = _k_index()
    dl = d[:, None] * sc[:, si].astype(f32)
    q = ((qs[:, qb] >> sh) & 3) - np.where((hmask[:, hb] >> hbit) & 1, 0, 4)
    return (dl * q.astype(f32)).reshape(-1)


def _k4_index():
    """for q4_K / q5_K: element e = 64*j + 32*hi + l -> (qs byte, high nibble?, sub-block, qh bit)"""
    e = np.arange(QK_K)
    j, hi, l = e // 64, (e // 32) % 2, e % 32
    return 32 * j + l, hi, 2 * j + hi, 2 * j + hi, l


def _dq_q4_K(b, n):
    d, dmin = _half(b, 0), _half(b, 2)
    sc, m = get_scale_min_k4(b[:, 4:16])
    qs = b[:, 16:144].astype(np.int64)
    qb, hi, sb, _, _ = _k4_index()
    q = np.where(hi == 1, qs[:, qb] >> 4, qs[:, qb] & 0xF).astype(f32)
    dl = d[:, None] * sc[:, sb].astype(f32)
    ml = dmin[:, None] * m[:, sb].astype(f32)
    return (dl * q - ml).reshape(-1)


def _dq_q5_K(b, n):
    d, dmin = _half(b, 0), _half(b, 2)
    sc, m = get_scale_min_k4(b[:, 4:16])
    qh, qs = b[:, 16:48].astype(np.int64), b[:, 48:176].astype(np.int64)
    qb, hi, sb, hbit, hb = _k4_index()
    q = np.where(hi == 1, qs[:, qb] >> 4, qs[:, qb] & 0xF) + 16 * ((qh[:, hb] >> hbit) & 1)
    dl = d[:, None] * sc[:, sb].astype(f32)
    ml = dmin[:, None] * m[:, sb].astype(f32)
    return (dl * q.astype(f32) - ml).reshape(-1)


def _dq_q6_K(b, n):
    ql, qh = b[:, 0:128].astype(np.int64), b[:, 128:192].astype(np.int64)
    sc = b[:, 192:208].view(np.int8).astype(f32)
    d = _half(b, 208)
    e = np.arange(QK_K)
    c, r, l = e // 128, (e // 32) % 4, e % 32      # chunk, quarter (q1..q4), lane
    qlb = 64 * c + 32 * (r % 2) + l
    low = np.where(r >= 2, ql[:, qlb] >> 4, ql[:, qlb] & 0xF)
    high = (qh[:, 32 * c + l] >> (2 * r)) & 3
    q = ((low | (high << 4)) - 32).astype(f32)
    s = sc[:, 8 * c + l // 16 + 2 * r]
    return ((d[:, None] * s) * q).reshape(-1)


def _dq_q8_K(b, n):
    d = b[:, 0:4].copy().view(f32)[:, 0]
    q = b[:, 4:260].view(np.int8).astype(f32)
    return (d[:, None] * q).reshape(-1)


def _dq_iq4_nl(b, n):
    d = _half(b, 0)
    return (d[:, None] * KVALUES_IQ4NL[_nibbles(b[:, 2:18])]).reshape(-1)


_DEQUANT = {"f32": _dq_f32, "f16": _dq_f16, "bf16": _dq_bf16, "q4_0": _dq_q4_0, "q4_1": _dq_q4_1,
            "q5_0": _dq_q5_0, "q5_1": _dq_q5_1, "q8_0": _dq_q8_0, "q8_1": _dq_q8_1,
            "q2_K": _dq_q2_K, "q3_K": _dq_q3_K, "q4_K": _dq_q4_K, "q5_K": _dq_q5_K,
            "q6_K": _dq_q6_K, "q8_K": _dq_q8_K, "iq4_nl": _dq_iq4_nl}


def dequantize(t, data, n):
    """bytes (or uint8 array) holding n elements of type t -> float32[n], as ggml computes it"""
    t = type_name(t)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(_DEQUANT[t](_blocks(data, t, n), n), dtype=f32)


def dequantize_rows(t, data, rows, n):
    rs = row_size(t, n)
    raw = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    return np.stack([dequantize(t, raw[r * rs:(r + 1) * rs], n) for r in range(rows)]) if rows else \
        np.zeros((0, n), f32)


# ============================================================================ legacy quantizers
def _xblocks(x, qk):
    x = np.ascontiguousarray(x, dtype=f32).reshape(-1)
    assert x.size % qk == 0, f"row length {x.size} is not a multiple of {qk}"
    return x.reshape(-1, qk)


def _inv(d):
    """const float id = d ? 1.0f/d : 0.0f;"""
    with np.errstate(divide="ignore"):
        return np.where(d != 0, f32(1) / np.where(d != 0, d, f32(1)), f32(0)).astype(f32)


def _pack_nibbles(lo, hi):
    return (_i8(lo) & 0x0F) | ((_i8(hi) & 0x0F) << 4)


def _u16bytes(h):
    return np.asarray(h, dtype=np.uint16).reshape(-1, 1).view(np.uint8)


def _q_q8_0(x):
    xb = _xblocks(x, 32)
    amax = np.max(np.abs(xb), axis=1)                  # MAX(amax, fabsf(v)) from 0
    d = (amax / f32(127)).astype(f32)
    idv = _inv(d)
    qs = _i8(_roundf(xb * idv[:, None]))
    return np.concatenate([_u16bytes(fp32_to_fp16(d)), qs], axis=1).tobytes()


def _q_q8_1(x):
    xb = _xblocks(x, 32)
    amax = np.max(np.abs(xb), axis=1)
    d = (amax / f32(127)).astype(f32)
    idv = _inv(d)
    q = _roundf(xb * idv[:, None]).astype(np.int64)
    s = (q.sum(axis=1).astype(f32) * d).astype(f32)    # GGML_FP32_TO_FP16(sum*d): int sum -> float
    return np.concatenate([_u16bytes(fp32_to_fp16(d)), _u16bytes(fp32_to_fp16(s)), _i8(q)], axis=1).tobytes()


def _absmax_signed(xb):
    """q4_0 / q5_0: `if (amax < fabsf(v)) { amax = fabsf(v); max = v; }` -> the first of greatest |v|"""
    return _first_absmax(xb)[1]


def _q_q4_0(x):
    xb = _xblocks(x, 32)
    mx = _absmax_signed(xb)
    d = (mx / f32(-8)).astype(f32)
    idv = _inv(d)
    xi = np.minimum(15, _trunc_int((xb * idv[:, None]) + f32(8.5)))
    return np.concatenate([_u16bytes(fp32_to_fp16(d)), _pack_nibbles(xi[:, :16], xi[:, 16:])], axis=1).tobytes()


def _minmax(xb):
    return np.min(xb, axis=1).astype(f32), np.max(xb, axis=1).astype(f32)


def _q_q4_1(x):
    xb = _xblocks(x, 32)
    mn, mx = _minmax(xb)
    d = ((mx - mn) / f32(15)).astype(f32)
    idv = _inv(d)
    xi = np.minimum(15, _trunc_int(((xb - mn[:, None]) * idv[:, None]) + f32(0.5)))
    return np.concatenate([_u16bytes(fp32_to_fp16(d)), _u16bytes(fp32_to_fp16(mn)),
                           _pack_nibbles(xi[:, :16], xi[:, 16:])], axis=1).tobytes()


def _qh_pack(xi):
    bits = ((_i8(xi).astype(np.uint32) & 0x10) >> 4)       # [nb, 32]: element j -> bit j
    qh = np.zeros(xi.shape[0], np.uint32)
    for j in range(32):
        qh |= bits[:, j] << np.uint32(j)
    return qh.reshape(-1, 1).view(np.uint8)


def _q_q5_0(x):
    xb = _xblocks(x, 32)
    mx = _absmax_signed(xb)
    d = (mx / f32(-16)).astype(f32)
    idv = _inv(d)
    xi = np.minimum(31, _trunc_int((xb * idv[:, None]) + f32(16.5)))
    return np.concatenate([_u16bytes(fp32_to_fp16(d)), _qh_pack(xi),
                           _pack_nibbles(xi[:, :16], xi[:, 16:])], axis=1).tobytes()


def _q_q5_1(x):
    xb = _xblocks(x, 32)
    mn, mx = _minmax(xb)
    d = ((mx - mn) / f32(31)).astype(f32)
    idv = _inv(d)
    xi = _trunc_int(((xb - mn[:, None]) * idv[:, None]) + f32(0.5))     # (uint8_t)(x0 + 0.5f), no clamp
    return np.concatenate([_u16bytes(fp32_to_fp16(d)), _u16bytes(fp32_to_fp16(mn)), _qh_pack(xi),
                           _pack_nibbles(xi[:, :16], xi[:, 16:])], axis=1).tobytes()


# ============================================================================ K-quant quantizers
def make_qkx2_quants(nmax, x, w, rmin, rdelta, nstep, use_mad=False):
    """ggml's make_qkx2_quants vectorised over sub-blocks: x, w float32 [B, n].
    Returns (scale[B], the_min[B] (= -min >= 0), L uint8 [B, n])."""
    x = np.asarray(x, f32)
    w = np.asarray(w, f32)
    B, n = x.shape
    mn = x[:, 0].copy()
    mx = x[:, 0].copy()
    sum_w = w[:, 0].copy()
    sum_x = sum_w * x[:, 0]
    for i in range(1, n):
        mn = np.where(x[:, i] < mn, x[:, i], mn)
        mx = np.where(x[:, i] > mx, x[:, i], mx)
        sum_w = sum_w + w[:, i]
        sum_x = sum_x + w[:, i] * x[:, i]
    mn = np.where(mn > 0, f32(0), mn).astype(f32)
    flat = mx == mn
    err = np.errstate(divide="ignore", invalid="ignore", over="ignore")
    with err:
        rng_ = np.where(flat, f32(1), mx - mn).astype(f32)
        iscale = (f32(nmax) / rng_).astype(f32)
        scale = (f32(1) / iscale).astype(f32)
        L = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, nmax)
        diff = (scale[:, None] * L.astype(f32) + mn[:, None]) - x
        diff = np.abs(diff) if use_mad else diff * diff
        best_error = _seqsum(w * diff)
        for is_ in range(nstep + 1):
            iscale = ((f32(rmin) + f32(rdelta) * f32(is_)) + f32(nmax)) / (mx - mn)
            la = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, nmax).astype(f32)
            wl = w * la
            sum_l = _seqsum(wl)
            sum_l2 = _seqsum(wl * la)
            sum_xl = _seqsum(wl * x)
            D = sum_w * sum_l2 - sum_l * sum_l
            this_scale = (sum_w * sum_xl - sum_x * sum_l) / D
            this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D
            pos = this_min > 0
            this_min = np.where(pos, f32(0), this_min).astype(f32)
            this_scale = np.where(pos, sum_xl / sum_l2, this_scale).astype(f32)
            diff = (this_scale[:, None] * la + this_min[:, None]) - x
            diff = np.abs(diff) if use_mad else diff * diff
            cur_error = _seqsum(w * diff)
            upd = (D > 0) & (cur_error < best_error) & ~flat
            L = np.where(upd[:, None], la.astype(L.dtype), L)
            best_error = np.where(upd, cur_error, best_error)
            scale = np.where(upd, this_scale, scale)
            mn = np.where(upd, this_min, mn)
    L = np.where(flat[:, None], 0, L).astype(np.uint8)
    scale = np.where(flat, f32(0), scale).astype(f32)
    return scale, (-mn).astype(f32), L


def make_qx_quants(nmax, x, rmse_type=1):
    """ggml's make_qx_quants(n, nmax, x, L, rmse_type=1, qw=NULL) vectorised over sub-blocks.
    Returns (scale[B], L uint8 [B, n] in 0..2*nmax-1)."""
    assert rmse_type == 1
    x = np.asarray(x, f32)
    B, n = x.shape
    amax, mx = _first_absmax(x)
    zero = amax < GROUP_MAX_EPS
    w = x * x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        safe_mx = np.where(zero, f32(1), mx).astype(f32)
        iscale = (f32(-nmax) / safe_mx).astype(f32)

        def sums(isc):
            l = np.clip(nearest_int(isc[:, None] * x), -nmax, nmax - 1)
            lf = l.astype(f32)
            return l, _seqsum((w * x) * lf), _seqsum((w * lf) * lf)

        l, sumlx, suml2 = sums(iscale)
        L = l + nmax
        scale = np.where(suml2 != 0, sumlx / np.where(suml2 != 0, suml2, f32(1)), f32(0)).astype(f32)
        best = scale * sumlx
        for is_ in range(-9, 10):
            if is_ == 0:
                continue
            isc = (-(f32(nmax) + f32(0.1) * f32(is_)) / safe_mx).astype(f32)
            l, slx, sl2 = sums(isc)
            upd = (sl2 > 0) & (slx * slx > best * sl2)
            L = np.where(upd[:, None], l + nmax, L)
            scale = np.where(upd, slx / np.where(upd, sl2, f32(1)), scale).astype(f32)
            best = np.where(upd, scale * slx, best).astype(f32)
    L = np.where(zero[:, None], 0, L).astype(np.uint8)
    scale = np.where(zero, f32(0), scale).astype(f32)
    return scale, L


def make_q3_quants(nmax, x):
    """ggml's make_q3_quants(n, nmax, x, L, do_rmse=true) vectorised over sub-blocks: x [B, n].
    The coordinate-descent passes are sequential over the elements, as in C.
    Returns (scale[B], L uint8 [B, n] in 0..2*nmax-1)."""
    x = np.asarray(x, f32)
    B, n = x.shape
    amax, mx = _first_absmax(x)
    zero = amax < GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        iscale = (f32(-nmax) / np.where(zero, f32(1), mx)).astype(f32)
        L = np.clip(nearest_int(iscale[:, None] * x), -nmax, nmax - 1).astype(np.int64)
        w = x * x
        wx = w * x
        sumlx = _seqsum(wx * L.astype(f32))
        suml2 = _seqsum((w * L.astype(f32)) * L.astype(f32))
        for _ in range(5):
            for i in range(n):
                li = L[:, i].astype(f32)
                slx = sumlx - wx[:, i] * li
                ok = slx > 0
                sl2 = suml2 - (w[:, i] * li) * li
                new_l = np.clip(nearest_int((x[:, i] * sl2) / np.where(ok, slx, f32(1))), -nmax, nmax - 1)
                ch = ok & (new_l != L[:, i])
                nl = new_l.astype(f32)
                slx2 = slx + wx[:, i] * nl
                sl22 = sl2 + (w[:, i] * nl) * nl
                acc = ch & (sl22 > 0) & ((slx2 * slx2) * suml2 > (sumlx * sumlx) * sl22)
                L[:, i] = np.where(acc, new_l, L[:, i])
                sumlx = np.where(acc, slx2, sumlx).astype(f32)
                suml2 = np.where(acc, sl22, suml2).astype(f32)
        scale = np.where(suml2 > 0, sumlx / np.where(suml2 > 0, suml2, f32(1)), f32(0)).astype(f32)
    L = np.where(zero[:, None], 0, L + nmax).astype(np.uint8)
    scale = np.where(zero, f32(0), scale).astype(f32)
    return scale, L


def _pack_2bit(L):
    """q2_K / q3_K: byte qs[32h + l] holds values 128h + l + 32k in bits 2k..2k+1"""
    nb = L.shape[0]
    qs = np.zeros((nb, 64), np.uint8)
    for h in range(2):
        b = 128 * h
        qs[:, 32 * h:32 * h + 32] = ((L[:, b:b + 32] & 3) | ((L[:, b + 32:b + 64] & 3) << 2) |
                                     ((L[:, b + 64:b + 96] & 3) << 4) | ((L[:, b + 96:b + 128] & 3) << 6)).astype(np.uint8)
    return qs


def _q_q2_K(x):
    xb = _xblocks(x, QK_K)
    nb = xb.shape[0]
    xs = xb.reshape(nb * 16, 16)
    scales, mins, L = make_qkx2_quants(3, xs, np.abs(xs), -0.5, 0.1, 15, use_mad=True)
    scales, mins, L = scales.reshape(nb, 16), mins.reshape(nb, 16), L.reshape(nb, QK_K).astype(np.int64)
    max_scale = np.zeros(nb, f32)
    max_min = np.zeros(nb, f32)
    for j in range(16):
        max_scale = np.where(scales[:, j] > max_scale, scales[:, j], max_scale)
        max_min = np.where(mins[:, j] > max_min, mins[:, j], max_min)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos_s, pos_m = max_scale > 0, max_min > 0
        isc = (f32(15) / np.where(pos_s, max_scale, f32(1))).astype(f32)
        ism = (f32(15) / np.where(pos_m, max_min, f32(1))).astype(f32)
        sc = np.where(pos_s[:, None], _i8(nearest_int(isc[:, None] * scales)), 0).astype(np.uint8)
        sc = np.where(pos_m[:, None], sc | _i8(nearest_int(ism[:, None] * mins) << 4), sc).astype(np.uint8)
        d16 = fp32_to_fp16(np.where(pos_s, max_scale / f32(15), f32(0)).astype(f32))
        dmin16 = fp32_to_fp16(np.where(pos_m, max_min / f32(15), f32(0)).astype(f32))
        d = fp16_to_fp32(d16)[:, None] * (sc & 0xF).astype(f32)
        dm = fp16_to_fp32(dmin16)[:, None] * (sc >> 4).astype(f32)
        lq = nearest_int((xb.reshape(nb, 16, 16) + dm[:, :, None]) / np.where(d != 0, d, f32(1))[:, :, None])
        lq = np.clip(lq, 0, 3).reshape(nb, QK_K)
        L = np.where(np.repeat(d == 0, 16, axis=1), L, lq)
    return np.concatenate([sc, _pack_2bit(L), _u16bytes(d16), _u16bytes(dmin16)], axis=1).tobytes()


def _q_q3_K(x):
    xb = _xblocks(x, QK_K)
    nb = xb.shape[0]
    scales, L = make_q3_quants(4, xb.reshape(nb * 16, 16))
    scales, L = scales.reshape(nb, 16), L.reshape(nb, QK_K).astype(np.int64)
    amax, max_scale = _first_absmax(scales)
    nz = max_scale != 0
    sb = np.zeros((nb, 12), np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        iscale = (f32(-32) / np.where(nz, max_scale, f32(1))).astype(f32)
        l8 = _i8(nearest_int(iscale[:, None] * scales)).view(np.int8).astype(np.int64)   # int8_t l = ...
        l = np.clip(l8, -32, 31) + 32
        for j in range(16):
            if j < 8:
                sb[:, j] = l[:, j] & 0xF
            else:
                sb[:, j - 8] |= (l[:, j] & 0xF) << 4
            sb[:, 8 + j % 4] |= (l[:, j] >> 4) << (2 * (j // 4))
        sb = np.where(nz[:, None], sb, 0)
        d16 = fp32_to_fp16(np.where(nz, f32(1) / iscale, f32(0)).astype(f32))
        sc = _q3k_scales(sb.astype(np.uint8))
        d = fp16_to_fp32(d16)[:, None] * sc.astype(f32)
        lq = np.clip(nearest_int(xb.reshape(nb, 16, 16) / np.where(d != 0, d, f32(1))[:, :, None]), -4, 3) + 4
        L = np.where(np.repeat(d == 0, 16, axis=1), L, lq.reshape(nb, QK_K))
    hmask = np.zeros((nb, 32), np.uint8)
    for j in range(8):
        hmask |= ((L[:, 32 * j:32 * j + 32] > 3).astype(np.uint8) << np.uint8(j))
    L = np.where(L > 3, L - 4, L)
    return np.concatenate([hmask, _pack_2bit(L), sb.astype(np.uint8), _u16bytes(d16)], axis=1).tobytes()


def _pack_k4_scales(ls, lm):
    """q4_K / q5_K: 8 six-bit scales + 8 six-bit mins -> 12 bytes (ggml's layout)"""
    nb = ls.shape[0]
    s = np.zeros((nb, 12), np.uint8)
    ls = ls.astype(np.uint8)
    lm = lm.astype(np.uint8)
    for j in range(8):
        if j < 4:
            s[:, j] = ls[:, j]
            s[:, j + 4] = lm[:, j]
        else:
            s[:, j + 4] = (ls[:, j] & 0xF) | ((lm[:, j] & 0xF) << 4)
            s[:, j - 4] |= ((ls[:, j] >> 4) << 6)
            s[:, j] |= ((lm[:, j] >> 4) << 6)
    return s


def _qk45(x, nmax, rmin, rdelta, nstep):
    """the common part of quantize_row_q4_K_ref / q5_K_ref -> (d16, dmin16, scales12, L[nb, 256])"""
    xb = _xblocks(x, QK_K)
    nb = xb.shape[0]
    xs = xb.reshape(nb * 8, 32)
    sum_x2 = _seqsum(xs * xs)
    av_x = np.sqrt((sum_x2 / f32(32)).astype(f32)).astype(f32)
    weights = (av_x[:, None] + np.abs(xs)).astype(f32)
    scales, mins, L = make_qkx2_quants(nmax, xs, weights, rmin, rdelta, nstep)
    scales, mins, L = scales.reshape(nb, 8), mins.reshape(nb, 8), L.reshape(nb, QK_K).astype(np.int64)
    max_scale = np.zeros(nb, f32)      # `if (scale > max_scale) max_scale = scale;` from 0 (keeps +0.0 over -0.0)
    max_min = np.zeros(nb, f32)
    for j in range(8):
        max_scale = np.where(scales[:, j] > max_scale, scales[:, j], max_scale)
        max_min = np.where(mins[:, j] > max_min, mins[:, j], max_min)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv_scale = np.where(max_scale > 0, f32(63) / np.where(max_scale > 0, max_scale, f32(1)), f32(0)).astype(f32)
        inv_min = np.where(max_min > 0, f32(63) / np.where(max_min > 0, max_min, f32(1)), f32(0)).astype(f32)
        ls = np.minimum(63, _i8(nearest_int(inv_scale[:, None] * scales)))
        lm = np.minimum(63, _i8(nearest_int(inv_min[:, None] * mins)))
        packed = _pack_k4_scales(ls, lm)
        d16 = fp32_to_fp16((max_scale / f32(63)).astype(f32))
        dmin16 = fp32_to_fp16((max_min / f32(63)).astype(f32))
        sc, m = get_scale_min_k4(packed)
        d = fp16_to_fp32(d16)[:, None] * sc.astype(f32)             # [nb, 8]
        dm = fp16_to_fp32(dmin16)[:, None] * m.astype(f32)
        xr = xb.reshape(nb, 8, 32)
        lq = nearest_int((xr + dm[:, :, None]) / np.where(d != 0, d, f32(1))[:, :, None])
        lq = np.clip(lq, 0, nmax).reshape(nb, QK_K)
        keep = np.repeat(d == 0, 32, axis=1)                          # `if (!d) continue;`
        L = np.where(keep, L, lq)
    return d16, dmin16, packed, L


def _q_q4_K(x):
    d16, dmin16, packed, L = _qk45(x, 15, -1.0, 0.1, 20)
    nb = L.shape[0]
    qs = np.zeros((nb, 128), np.uint8)
    for j in range(4):
        qs[:, 32 * j:32 * j + 32] = (L[:, 64 * j:64 * j + 32] | (L[:, 64 * j + 32:64 * j + 64] << 4)).astype(np.uint8)
    return np.concatenate([_u16bytes(d16), _u16bytes(dmin16), packed, qs], axis=1).tobytes()


def _q_q5_K(x):
    d16, dmin16, packed, L = _qk45(x, 31, -0.5, 0.1, 15)
    nb = L.shape[0]
    qh = np.zeros((nb, 32), np.uint8)
    ql = np.zeros((nb, 128), np.uint8)
    for c in range(4):
        l1 = L[:, 64 * c:64 * c + 32]
        l2 = L[:, 64 * c + 32:64 * c + 64]
        qh |= ((l1 > 15).astype(np.uint8) << np.uint8(2 * c))
        qh |= ((l2 > 15).astype(np.uint8) << np.uint8(2 * c + 1))
        ql[:, 32 * c:32 * c + 32] = ((l1 & 0xF) | ((l2 & 0xF) << 4)).astype(np.uint8)
    return np.concatenate([_u16bytes(d16), _u16bytes(dmin16), packed, qh, ql], axis=1).tobytes()


def _q_q6_K(x):
    xb = _xblocks(x, QK_K)
    nb = xb.shape[0]
    scales, L = make_qx_quants(32, xb.reshape(nb * 16, 16))
    scales = scales.reshape(nb, 16)
    L = L.reshape(nb, QK_K).astype(np.int64)
    max_abs, max_scale = _first_absmax(scales)
    zero = max_abs < GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        iscale = (f32(-128) / np.where(zero, f32(1), max_scale)).astype(f32)
        d16 = fp32_to_fp16((f32(1) / iscale).astype(f32))
        sc = _i8(np.minimum(127, nearest_int(iscale[:, None] * scales))).view(np.int8)
        d = fp16_to_fp32(d16)[:, None] * sc.astype(f32)
        lq = np.clip(nearest_int(xb.reshape(nb, 16, 16) / np.where(d != 0, d, f32(1))[:, :, None]), -32, 31) + 32
        keep = np.repeat(d == 0, 16, axis=1)
        L = np.where(keep, L, lq.reshape(nb, QK_K))
    ql = np.zeros((nb, 128), np.uint8)
    qh = np.zeros((nb, 64), np.uint8)
    for c in range(2):
        Lc = [L[:, 128 * c + 32 * r:128 * c + 32 * r + 32] for r in range(4)]
        ql[:, 64 * c:64 * c + 32] = ((Lc[0] & 0xF) | ((Lc[2] & 0xF) << 4)).astype(np.uint8)
        ql[:, 64 * c + 32:64 * c + 64] = ((Lc[1] & 0xF) | ((Lc[3] & 0xF) << 4)).astype(np.uint8)
        qh[:, 32 * c:32 * c + 32] = ((Lc[0] >> 4) | ((Lc[1] >> 4) << 2) | ((Lc[2] >> 4) << 4)
                                     | ((Lc[3] >> 4) << 6)).astype(np.uint8)
    out = np.concatenate([ql, qh, sc.view(np.uint8), _u16bytes(d16)], axis=1)
    out[zero] = 0                                                   # memset(&y[i], 0, ...); d = 0
    return out.tobytes()


def _q_q8_K(x):
    xb = _xblocks(x, QK_K)
    nb = xb.shape[0]
    amax, mx = _first_absmax(xb)
    zero = amax == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = (f32(-127) / np.where(zero, f32(1), mx)).astype(f32)
        q = np.minimum(127, nearest_int(iscale[:, None] * xb))
        d = (f32(1) / iscale).astype(f32)
    q = np.where(zero[:, None], 0, q)
    d = np.where(zero, f32(0), d).astype(f32)
    qs = _i8(q)                                                      # int -> int8_t: wraps
    bsums = qs.view(np.int8).astype(np.int64).reshape(nb, 16, 16).sum(axis=2).astype(np.int16)   # of the stored
    # int8 quants; ggml leaves them unset in an all-zero block, ckernel (and this port) writes 0
    return np.concatenate([d.reshape(-1, 1).view(np.uint8), qs, bsums.view(np.uint8)], axis=1).tobytes()


# ============================================================================ iq4_nl
def iq4nl_index(v):
    """ggml's best_index_int8(16, kvalues_iq4nl, v) on float32 values: the nearest level, ties
    to the upper one, everything below -127 / above 113 to the end levels"""
    v = np.asarray(v, dtype=f32)
    with np.errstate(invalid="ignore"):
        mu = np.clip(np.searchsorted(KVALUES_IQ4NL, v, side="right"), 1, 15)   # KV[mu-1] <= v < KV[mu]
        idx = np.where((v - KVALUES_IQ4NL[mu - 1]) < (KVALUES_IQ4NL[mu] - v), mu - 1, mu)
        idx = np.where(v <= KVALUES_IQ4NL[0], 0, np.where(v >= KVALUES_IQ4NL[15], 15, idx))
    return idx.astype(np.int64)


def _q_iq4_nl(x, ntry=7):
    """ggml's quantize_iq4_nl without importance weights (quantize_row_iq4_nl_impl with
    super_block_size = block_size = 32, ntry = 7: what llama-quantize writes). Per block: weights
    x^2, a first scale max/127 fitted by weighted least squares, 2*ntry+1 trial scales
    id = (itry - 127)/max likewise, the best kept (strictly better only); then every value takes
    its nearest level at the float32 scale. amax < 1e-15: d = 0 and every index is that of 0.0.
    (quantize_row_iq4_nl_ref is ntry = -1: no trials, no re-assignment; not ported.)"""
    xb = _xblocks(x, QK)
    w = (xb * xb).astype(f32)
    amax, mx = _first_absmax(xb)
    ok = amax >= GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        safe_mx = np.where(ok, mx, f32(1)).astype(f32)

        def fit(idv):
            q = KVALUES_IQ4NL[iq4nl_index(idv[:, None] * xb)]
            wq = w * q
            return _seqsum(wq * xb), _seqsum(wq * q)

        d = ((-safe_mx) / KVALUES_IQ4NL[0]).astype(f32)
        sumqx, sumq2 = fit((f32(1) / d).astype(f32))
        d = (sumqx / sumq2).astype(f32)
        best = (d * sumqx).astype(f32)
        for itry in range(-ntry, ntry + 1):
            idv = (f32(itry + int(KVALUES_IQ4NL[0])) / safe_mx).astype(f32)
            sqx, sq2 = fit(idv)
            upd = (sq2 > 0) & (sqx * sqx > best * sq2)
            d = np.where(upd, sqx / sq2, d).astype(f32)
            best = np.where(upd, d * sqx, best).astype(f32)
        d = np.where(ok, d, f32(0)).astype(f32)
        L = iq4nl_index(_inv(d)[:, None] * xb)
    return np.concatenate([_u16bytes(fp32_to_fp16(d)), _pack_nibbles(L[:, :16], L[:, 16:])], axis=1).tobytes()


# ============================================================================ activations (fast path)
# ggml's CPU backend quantizes the activations of a quantized matmul to the weight type's
# vec_dot_type (ggml-cpu.c, type_traits_cpu). On x86 with AVX or AVX2, quantize_row_q8_0 and
# quantize_row_q8_1 are SIMD code whose arithmetic differs from the portable *_ref ones: the
# multiplier is 127/amax (not 1/d), rounding is round-half-even (_mm256_round_ps, not roundf),
# and int32 -> int8 saturates (packs). quantize_row_q8_K is quantize_row_q8_K_ref there.
# F16 and BF16 weights pair with activations of their own type (ggml_fp32_to_fp16_row: F16C's
# cvtps_ph on x86; ggml_fp32_to_bf16_row), both round to nearest even.
ACT_TYPE = {"q4_0": "q8_0", "q5_0": "q8_0", "q8_0": "q8_0", "iq4_nl": "q8_0", "q4_1": "q8_1", "q5_1": "q8_1",
            "q2_K": "q8_K", "q3_K": "q8_K", "q4_K": "q8_K", "q5_K": "q8_K", "q6_K": "q8_K",
            "f16": "f16", "bf16": "bf16"}


def round_x86(v):
    """cvtps2dq after roundps(nearest) on float32 values: round half to even; NaN and
    |v| >= 2^31 give INT32_MIN (x86's "integer indefinite"). -> int64"""
    v = np.asarray(v, dtype=f32)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(v) < f32(2.0**31))
        return np.where(bad, -2**31, np.rint(np.where(bad, 0, v).astype(np.float64))).astype(np.int64)


def _act_q8_01(x, with_sum):
    xb = _xblocks(x, QK)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        amax = np.max(np.abs(xb), axis=1).astype(f32)
        d = (amax / f32(127)).astype(f32)
        idv = np.where(amax != 0, f32(127) / np.where(amax != 0, amax, f32(1)), f32(0)).astype(f32)
        q = round_x86(xb * idv[:, None])
    qs = _i8(np.clip(q, -128, 127))                                 # packs_epi32 + packs_epi16: saturate
    head = [_u16bytes(fp32_to_fp16(d))]
    if with_sum:
        s32 = ((q.sum(axis=1) + 2**31) % 2**32) - 2**31                 # _mm256_add_epi32: wraps
        head.append(_u16bytes(fp32_to_fp16((d * s32.astype(f32)).astype(f32))))
    return np.concatenate(head + [qs], axis=1).tobytes()


_ACT_QUANT = {"q8_0": lambda x: _act_q8_01(x, False), "q8_1": lambda x: _act_q8_01(x, True), "q8_K": _q_q8_K,
              "f16": lambda x: fp32_to_fp16(x).tobytes(), "bf16": lambda x: fp32_to_bf16(x).tobytes()}


def quantize_act(t, x):
    """float32 activations (rows concatenated, each a multiple of the block) -> (block type, bytes):
    the blocks ggml's x86 CPU backend builds before its vec_dot with weights of type t"""
    at = ACT_TYPE[type_name(t)]
    with np.errstate(over="ignore"):
        return at, _ACT_QUANT[at](np.ascontiguousarray(x, dtype=f32).reshape(-1))


def dequantize_act(at, data, n):
    """activation blocks of type at (quantize_act's) -> float64 [n] values d * q, exact (Q8_K's fp32
    d times an int8 need not be a float32); f16 / bf16: the rounded values"""
    if at in ("f16", "bf16"):
        h = np.frombuffer(data, np.uint16)[:n]
        return (fp16_to_fp32(h) if at == "f16" else bf16_to_fp32(h)).astype(np.float64)
    b = _blocks(data, at, n)
    if at == "q8_K":
        d = b[:, 0:4].copy().view(f32)[:, 0].astype(np.float64)
        q = b[:, 4:260].view(np.int8)
    else:
        d = _half(b, 0).astype(np.float64)
        q = b[:, (2 if at == "q8_0" else 4):].view(np.int8)
    return (q.astype(np.float64) * d[:, None]).reshape(-1)[:n]


def emulate_matmul(t, x, wdata, wdeq):
    """float64 of what ggml's x86 CPU backend computes for x @ W^T, x [T, C] float32 activations, W
    [OC, C] of type t (wdata: its GGUF bytes, wdeq: its dequantized values), up to the order of its
    float sums: x quantized by quantize_act (Q8_0 / Q8_1 / Q8_K blocks, or rounded to f16 / bf16),
    then per block (d_w * d_a) * (integer dot), plus m_w * s_a for Q4_1 / Q5_1 against Q8_1
    (s = fp16(d_a * sum q_a), so not m_w * d_a * sum q_a). Returns (out [T, OC], sum |products|
    [T, OC]: the scale of float-summation error)."""
    x = np.ascontiguousarray(x, dtype=f32)
    T, C = x.shape
    OC = wdeq.shape[0]
    at, act = quantize_act(t, x)
    a = dequantize_act(at, act, T * C).reshape(T, C)
    w = np.asarray(wdeq, dtype=np.float64)
    if at != "q8_1":
        return a @ w.T, np.abs(a) @ np.abs(w).T
    # Q4_1 / Q5_1: the weights as d*q (their float32 d*q + m rounds), the min term from the blocks
    wb = np.frombuffer(bytes(wdata), np.uint8)[:row_size(t, C) * OC].reshape(OC, C // QK, TYPES[type_name(t)].block_bytes)
    m = fp16_to_fp32(wb[:, :, 2:4].copy().view(np.uint16)[..., 0]).astype(np.float64)      # [OC, nb]
    w = w - np.repeat(m, QK, axis=1)
    ab = np.frombuffer(act, np.uint8).reshape(T, C // QK, TYPES["q8_1"].block_bytes)
    s16 = fp16_to_fp32(ab[:, :, 2:4].copy().view(np.uint16)[..., 0]).astype(np.float64)   # [T, nb]
    return a @ w.T + s16 @ m.T, np.abs(a) @ np.abs(w).T + np.abs(s16) @ np.abs(m).T


def _q_f32(x):
    return np.ascontiguousarray(x, dtype=f32).tobytes()


def _q_f16(x):
    return fp32_to_fp16(x).tobytes()


def _q_bf16(x):
    return fp32_to_bf16(x).tobytes()


_QUANT = {"f32": _q_f32, "f16": _q_f16, "bf16": _q_bf16, "q4_0": _q_q4_0, "q4_1": _q_q4_1,
          "q5_0": _q_q5_0, "q5_1": _q_q5_1, "q8_0": _q_q8_0, "q8_1": _q_q8_1, "q2_K": _q_q2_K,
          "q3_K": _q_q3_K, "q4_K": _q_q4_K,
          "q5_K": _q_q5_K, "q6_K": _q_q6_K, "q8_K": _q_q8_K, "iq4_nl": _q_iq4_nl}


def quantize(t, x):
    """float32 row(s) -> bytes of type t (ggml's reference quantizer), rows concatenated"""
    t = type_name(t)
    x = np.ascontiguousarray(x, dtype=f32)
    with np.errstate(over="ignore"):
        return _QUANT[t](x.reshape(-1))
