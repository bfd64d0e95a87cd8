"""Rope scaling references: Hugging Face's definitions, and llama.cpp's conventions where they differ.

Every scaling is a pair (inv_freq [n_rot/2], mscale): pair i at position p is rotated by the angle
p * inv_freq[i], and cos and sin are multiplied by mscale (HF's `attention_scaling`, llama.cpp's
mscale). The rotation of q and k is then HF's apply_rotary_pos_emb. Everything is float64.

``hf_*`` are written from transformers' `modeling_rope_utils` (`_compute_default / linear /
llama3 / yarn / longrope_parameters`); ``llamacpp`` is ggml's rope (rope_yarn, ggml_rope_cache_init,
ggml_rope_yarn_corr_dims) fed with the parameters llama.cpp (commit c392e5094) derives from GGUF
metadata (``params``). Where the two conventions differ (tests/test_kernels.py tests each claim):

* linear: identical (inv_freq / factor).
* Llama 3 (rope_type "llama3"): HF rescales inv_freq with a smooth factor; llama.cpp divides by the
  `rope_freqs.weight` tensor that convert_hf_to_gguf.py computes as 1 / ((1 - smooth) / factor +
  smooth) (1 above the high-frequency cut, factor below the low one) in float32 -- equal to HF's
  inv_freq to float32 rounding. The converter reads `original_max_position_embeddings` from the
  top level of config.json (default 8192), not from `rope_scaling` where Llama 3.1 keeps it: equal
  for Llama 3.x (8192), different for a model whose rope_scaling says otherwise.
* YaRN: the same correction range (floor / ceil of the correction dims, clamped to [0, n_rot-1])
  and the same linear ramp over pair indices; HF separates equal bounds by +0.001, llama.cpp
  divides by max(0.001, hi - lo) (the same unless hi < lo). The magnitude: HF's attention_factor =
  0.1 ln(factor) + 1, or rope_scaling.attention_factor when set (which replaces it); llama.cpp
  multiplies 1 + 0.1 ln(1/freq_scale) into cos/sin whenever ext_factor != 0, times
  rope.scaling.attn_factor (1 unless the GGUF has it: it multiplies, it does not replace). Equal
  for factor > 1 without attention_factor; for factor < 1 HF gives 1, llama.cpp 1 + 0.1 ln(factor)
  < 1. HF's correction range uses `max_position_embeddings` (older transformers) or
  rope_scaling.original_max_position_embeddings; llama.cpp uses rope.scaling.original_context_length
  (else context_length). The yarn_log_multiplier / mscale_all_dim variant is DeepSeek-2's only.
* LongRoPE (Phi-3): the same inv_freq = base inv_freq / factors and the same attention factor
  sqrt(1 + ln(s) / ln(orig)), s = max_pos / orig (the converter writes it as
  rope.scaling.attn_factor). HF picks short or long factors per forward from the current sequence
  length (> original_max_position_embeddings: long); llama.cpp picks once per context: long when
  n_ctx (per sequence) > n_ctx_orig, so a short prompt in a long context uses the long factors.
"""
import math

import torch

DT = torch.float64
ROPE_SCALING_NAMES = {"none": 0, "linear": 1, "yarn": 2, "longrope": 3}   # llama_rope_scaling_type


def _pairs(n_rot):
    return torch.arange(0, n_rot, 2, dtype=DT)


# ------------------------------------------------------------------ HF transformers' definitions
def hf_default(base, dim):
    """_compute_default_rope_parameters: inv_freq = 1 / base^(2i/dim), attention_scaling 1"""
    return 1.0 / (float(base) ** (_pairs(dim) / dim)), 1.0


def hf_linear(base, dim, factor):
    """_compute_linear_scaling_rope_parameters: inv_freq / factor"""
    inv_freq, att = hf_default(base, dim)
    return inv_freq / factor, att


def hf_llama3(base, dim, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, old_context_len=8192):
    """HF "llama3" (Llama 3.1): a pair whose wavelength 2 pi / inv_freq is longer than
    old_context_len / low_freq_factor turns factor times slower, one shorter than old_context_len /
    high_freq_factor is kept, and in between inv_freq is blended linearly in old_context_len /
    wavelength: (1 - t) inv_freq / factor + t inv_freq, t = (old_context_len / wavelength -
    low_freq_factor) / (high_freq_factor - low_freq_factor)."""
    inv, att = hf_default(base, dim)
    wavelength = 2 * math.pi / inv
    t = (old_context_len / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor)
    blended = (1 - t) * inv / factor + t * inv
    slow = torch.where(wavelength > old_context_len / low_freq_factor, inv / factor, blended)
    return torch.where(wavelength < old_context_len / high_freq_factor, inv, slow), att


def hf_yarn(base, dim, factor, original_max_position_embeddings, beta_fast=32, beta_slow=1, attention_factor=None):
    """HF "yarn": pair i's inverse frequency goes from base^(-2i/dim) (extrapolation: the fast pairs
    keep it) to base^(-2i/dim) / factor (interpolation) along a linear ramp over pair indices, from
    the pair that turns beta_fast times in the original context (floor) to the one that turns
    beta_slow times (ceil), clamped to [0, dim - 1]; equal ends are moved 0.001 apart.
    attention_factor defaults to 0.1 ln(factor) + 1 for factor > 1, else 1 (transformers' get_mscale;
    versions before it used 0.1 ln(factor) + 1 for any factor)."""
    if attention_factor is None:
        attention_factor = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0

    def pair_turning(turns):   # fractional pair index that turns `turns` times in the original context
        return dim * math.log(original_max_position_embeddings / (2 * math.pi * turns)) / (2 * math.log(base))

    lo = max(math.floor(pair_turning(beta_fast)), 0)
    hi = min(math.ceil(pair_turning(beta_slow)), dim - 1)
    if hi == lo:
        hi += 0.001
    t = ((torch.arange(dim // 2, dtype=DT) - lo) / (hi - lo)).clamp(0, 1)   # 0: extrapolate, 1: interpolate
    inv, _ = hf_default(base, dim)
    return inv * (1 - t) + inv / factor * t, attention_factor


def hf_longrope(base, dim, short_factor, long_factor, original_max_position_embeddings, max_position_embeddings,
                seq_len, attention_factor=None):
    """HF "longrope" (Phi-3): inv_freq = base^(-2i/dim) / ext[i], ext = the long factors when the
    current sequence (seq_len) is longer than the original context, else the short ones (chosen per
    forward); attention_factor defaults to sqrt(1 + ln(s) / ln(original)), s = max / original."""
    s = max_position_embeddings / original_max_position_embeddings
    if attention_factor is None:
        attention_factor = math.sqrt(1 + math.log(s) / math.log(original_max_position_embeddings)) if s > 1 else 1.0
    ext = torch.as_tensor(long_factor if seq_len > original_max_position_embeddings else short_factor, dtype=DT)
    return hf_default(base, dim)[0] / ext, attention_factor


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rotary_pos_emb(x, positions, inv_freq, attention_scaling, n_rot):
    """HF's rotary embedding + apply_rotary_pos_emb on the first n_rot dims of x [..., T, D]
    (split-half pairs (i, i + n_rot/2)); cos and sin carry attention_scaling; the rest passes."""
    freqs = torch.outer(torch.as_tensor(positions, dtype=DT), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos() * attention_scaling, emb.sin() * attention_scaling
    xr, xp = x[..., :n_rot], x[..., n_rot:]
    return torch.cat((xr * cos + rotate_half(xr) * sin, xp), dim=-1)


# ------------------------------------------------------------------ llama.cpp's convention
def params(scaling="none", freq_base=10000.0, factor=0.0, n_ctx_orig=0, attn_factor=1.0, freq_factors=None):
    """ck_rope_params as llama.cpp derives them from GGUF metadata (ck_rope_params_init):
    factor = rope.scaling.factor (0 = absent); attn_factor = rope.scaling.attn_factor."""
    s = ROPE_SCALING_NAMES[scaling] if isinstance(scaling, str) else int(scaling)
    return dict(freq_base=float(freq_base),
                freq_scale=1.0 if s == 0 or factor == 0 else 1.0 / factor,
                ext_factor=1.0 if s == 2 else 0.0,
                attn_factor=float(attn_factor), beta_fast=32.0, beta_slow=1.0, n_ctx_orig=int(n_ctx_orig),
                freq_factors=None if freq_factors is None else [float(f) for f in freq_factors])


def llamacpp(n_rot, p):
    """(inv_freq, mscale) of ggml's rope for params p: theta_extrap = pos * base^(-2i/n_rot) /
    freq_factors[i], theta_interp = freq_scale * theta_extrap, YaRN's ramp between them (when
    ext_factor != 0) and mscale = attn_factor * (1 + 0.1 ln(1/freq_scale)) (idem)."""
    f = 1.0 / (p["freq_base"] ** (_pairs(n_rot) / n_rot))
    if p.get("freq_factors") is not None:
        f = f / torch.as_tensor(p["freq_factors"], dtype=DT)
    mscale = p["attn_factor"]
    if p["ext_factor"] == 0:
        return f * p["freq_scale"], mscale

    def corr_dim(n_rotations):
        return n_rot * math.log(p["n_ctx_orig"] / (n_rotations * 2 * math.pi)) / (2 * math.log(p["freq_base"]))

    lo = max(0.0, math.floor(corr_dim(p["beta_fast"])))
    hi = min(n_rot - 1.0, math.ceil(corr_dim(p["beta_slow"])))
    y = (torch.arange(n_rot // 2, dtype=DT) - lo) / max(0.001, hi - lo)
    ramp_mix = (1 - torch.clamp(y, 0, 1)) * p["ext_factor"]
    inv_freq = f * p["freq_scale"] * (1 - ramp_mix) + f * ramp_mix
    return inv_freq, mscale * (1.0 + 0.1 * math.log(1.0 / p["freq_scale"]))


def cache(positions, inv_freq, mscale):
    """[len(positions), n_rot/2, 2] of mscale * (cos, sin)(pos * inv_freq)"""
    ang = torch.outer(torch.as_tensor(positions, dtype=DT), inv_freq)
    return torch.stack([ang.cos() * mscale, ang.sin() * mscale], dim=-1)


def rope(x, positions, inv_freq, mscale, n_rot, neox):
    """ckernel's rope on x [NH, T, HS] (torch, differentiable): pairs (2i, 2i+1) (neox = 0) or
    (i, i + n_rot/2) (neox = 1, HF's apply_rotary_pos_emb) rotated by scaled cos/sin."""
    if neox:
        return apply_rotary_pos_emb(x, positions, inv_freq, mscale, n_rot)
    cs = cache(positions, inv_freq, mscale)
    c, s = cs[..., 0], cs[..., 1]
    rot, rest = x[..., :n_rot], x[..., n_rot:]
    a, b = rot[..., 0::2], rot[..., 1::2]
    y = torch.stack([a * c - b * s, a * s + b * c], dim=-1).reshape(rot.shape)
    return torch.cat([y, rest], dim=-1)


# ------------------------------------------------------------------ what convert_hf_to_gguf.py writes
def converter_llama3_rope_freqs(base, dim, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, old_context_len=8192):
    """rope_freqs.weight as convert_hf_to_gguf.py computes it for rope_type "llama3", in float32 as
    it does: per pair, 1 below the high-frequency wavelength cut, factor above the low one, else
    1 / ((1 - t) / factor + t) with hf_llama3's t -- the divisor that turns the base inv_freq into
    HF's (old_context_len: config.json's top-level original_max_position_embeddings, default 8192)."""
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    wavelength = 2 * math.pi / inv
    t = (old_context_len / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor)
    mid = 1 / ((1 - t) / factor + t)
    div = torch.where(wavelength > old_context_len / low_freq_factor, torch.full_like(inv, factor), mid)
    return torch.where(wavelength < old_context_len / high_freq_factor, torch.ones_like(inv), div).to(torch.float32)


def converter_longrope_attn_factor(max_position_embeddings, original_max_position_embeddings):
    """rope.scaling.attn_factor as convert_hf_to_gguf.py's Phi3MiniModel writes it (longrope)"""
    s = max_position_embeddings / original_max_position_embeddings
    return math.sqrt(1 + math.log(s) / math.log(original_max_position_embeddings)) if s > 1 else 1.0
