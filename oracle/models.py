"""PyTorch reference forwards of the model families ckernel generates, loaded from a GGUF.

Written from the architectures' public definitions -- the Hugging Face `transformers` modeling
code (GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM,
Gemma2ForCausalLM, Gemma3ForCausalLM, Phi3ForCausalLM) -- and the conventions llama.cpp's
`convert_hf_to_gguf.py` uses to store those models in GGUF, undone here so that the math below
is the HF math:

* llama: attn_q / attn_k rows are permuted for llama.cpp's interleaved ("normal") RoPE
  (`LlamaModel.permute`); the oracle un-permutes them and applies HF's `rotate_half` RoPE.
  qwen2 / qwen3 / gemma3 are stored unpermuted and use split-half (NeoX) RoPE in both.
* gemma3: the converter stores every `*norm.weight` as (1 + w) (HF's Gemma3RMSNorm computes
  x * (1 + w)); the oracle recovers w = file - 1 and uses HF's (1 + w) form. Embeddings are
  scaled by sqrt(n_embd); sliding-window layers use rope base 10000 (`rope_local_base_freq`),
  every 6th layer (`sliding_window_pattern`) is global with `rope.freq_base`; attention scale
  query_pre_attn_scalar ** -0.5: head_dim for 1B/4B/12B, n_embd / n_head for 27B (62 layers).
* gemma2: `*norm.weight` holds (1 + w) as in gemma3 (Gemma2Model adds 1); embeddings scaled by
  sqrt(n_embd); no q/k norms; every layer uses rope base 10000 (the converter writes no
  rope.freq_base), NeoX RoPE. Even layers (0, 2, ...) use the sliding window
  (`gemma2.attention.sliding_window`, llama.cpp default 4096; HF layer_types "sliding_attention"
  for i % 2 == 0, llama.cpp set_swa_pattern(2)), odd layers are global. Attention logits are
  soft-capped after the scale and before the mask: s = cap tanh(s / cap) with
  `gemma2.attn_logit_softcapping` (default 50), and so are the final logits with
  `gemma2.final_logit_softcapping` (default 30); note these two keys have no "attention." part.
  Scale: query_pre_attn_scalar ** -0.5, which the GGUF does not hold; llama.cpp uses n_embd /
  n_head for 27B (46 layers: 4608 / 32 = 144) and head_dim otherwise (2B, 9B: 256), as here.
  The output matrix is always the token embedding (tied).
* phi3: fused `attn_qkv` [n_head*hd + 2*n_head_kv*hd, n_embd], rows q | k | v (HF qkv_proj as
  is); fused `ffn_up` [2*n_ff, n_embd] whose first n_ff rows are the gate and the last n_ff the
  up projection (HF gate_up_proj + chunk(2): silu(gate) * up; llama.cpp's LLM_FFN_SWIGLU takes
  silu of the first half). NeoX RoPE (unpermuted), rope base `phi3.rope.freq_base`, n_rot =
  `rope.dimension_count`. The converter always writes `phi3.attention.sliding_window` (0 =
  none, Phi-4); HF masks keys j <= i - window on every layer, which the oracle does when the
  key is > 0 (PHI3_APPLY_SLIDING_WINDOW). Current llama.cpp ignores the key (PR 13676: "Phi SWA
  is currently disabled"), so for windows smaller than the prompt the two differ.
  LongRoPE (128k models): `rope_factors_long.weight` / `rope_factors_short.weight` [n_rot/2]
  divide the inverse frequencies (HF: inv_freq = 1 / (factor * base^(2i/d))), long beyond the
  original context, short within it, with `rope.scaling.attn_factor` on cos and sin: all as
  llama.cpp picks them (rope_freqs_for).
* GGUF matrices are [ne1 = out][ne0 = in] (torch Linear layout), GPT-2's Conv1D included.
* weights: f32/f16 as stored, quantized types dequantized with oracle.quant (ggml's formulas).
* rope scaling: ``rope_freqs_for`` reads it from the GGUF as llama.cpp (c392e5094) does --
  rope.scaling.type / .factor / .attn_factor / .original_context_length, rope_freqs.weight (Llama
  3.1), rope_factors_long/short.weight (Phi-3 LongRoPE) -- and oracle.rope turns it into (inv_freq,
  mscale) by llama.cpp's convention, where it differs from HF's (see oracle/rope.py). llama.cpp
  reads the factor tensors only for the architectures that have them (llama: rope_freqs; phi3:
  LongRoPE) and refuses other files holding them; here they apply to every family.

Capture (ck check): ``Model.capture = []`` before ``forward`` records every op of the family's DSL
(models/<family>.h) as (layer, op, out, [T, cols] tensor), layer "head", 0..n_layer-1 or "foot",
in the order the generated program runs them, laid out as the program holds them (llama's q and k
columns in the GGUF's permuted order; heads merged token-major). Views record nothing.

Everything runs in float64. ``load(path)`` -> Model; ``Model.forward(tokens)`` -> logits [T, V]
of a causal prefill from position 0 (what ckernel's prefill and its token-by-token decode both
must produce).

``Model(path, emulate_ggml_acts=True)``: what llama.cpp's CPU backend (x86) and ckernel's default
fast path compute instead. Every linear layer whose weight is quantized, F16 or BF16 first rounds
its input rows to float32 and then as ggml does for that weight type (its vec_dot_type:
Q8_0 / Q8_1 / Q8_K blocks, or fp16 / bf16 values; oracle.quant.quantize_act) and multiplies the
rounded activations, in float64, with the dequantized weights (oracle.quant.emulate_matmul,
including Q8_1's stored fp16 sum for Q4_1 / Q5_1). Not differentiable; the default mode is.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from . import gguf as G
from . import quant as Q
from . import rope as R

DT = torch.float64


def _kv_opt(g, key):
    """the key's value, or None"""
    v = g.kv.get(key)
    if v is None:
        return None
    v = v.value
    return v.decode() if isinstance(v, bytes) else v


def _kv(g, key, default=None):
    v = g.kv.get(key)
    if v is None:
        if default is None:
            raise KeyError(f"GGUF has no key {key}")
        return default
    v = v.value
    return v.decode() if isinstance(v, bytes) else v


class Model:
    def __init__(self, path, emulate_ggml_acts=False, kv_f16=False):
        self.path = path
        self.kv_f16 = kv_f16   # keys and values rounded to F16 before attention (ckgen --kv-f16)
        self.emulate_ggml_acts = emulate_ggml_acts
        self.g = G.read(path)
        self.arch = _kv(self.g, "general.architecture")
        self.names = {t.name.decode() for t in self.g.tensors}
        self.types = {t.name.decode(): t.type for t in self.g.tensors}
        self._w = {}
        a = self.arch
        hp = {}
        hp["n_embd"] = int(_kv(self.g, f"{a}.embedding_length"))
        hp["n_layer"] = int(_kv(self.g, f"{a}.block_count"))
        hp["n_ff"] = int(_kv(self.g, f"{a}.feed_forward_length"))
        hp["n_head"] = int(_kv(self.g, f"{a}.attention.head_count"))
        hp["n_head_kv"] = int(_kv(self.g, f"{a}.attention.head_count_kv", hp["n_head"]))
        hp["head_dim"] = int(_kv(self.g, f"{a}.attention.key_length", hp["n_embd"] // hp["n_head"]))
        hp["n_rot"] = int(_kv(self.g, f"{a}.rope.dimension_count", hp["head_dim"]))
        self.hp = hp
        self.capture = None   # a list: forward appends (layer, op, out, tensor [T, cols]) per DSL op (see cap)
        self.attn_probs = None   # a list: forward appends each layer's softmax probabilities [H, T, T] (run --dump-attn)
        self.n_ctx = None   # llama.cpp's n_ctx (LongRoPE picks its factors by it); None: context_length
        if a not in FAMILIES:
            raise ValueError(f"oracle: no reference model for architecture {a!r}")

    def w(self, name):
        """float64 torch tensor of shape ne[::-1] (dequantized with oracle.quant)"""
        if name not in self._w:
            self._w[name] = torch.from_numpy(self.g.array(name).astype(np.float64))
        return self._w[name]

    def has(self, name):
        return name in self.names

    def ggml_matmul(self, x, name):
        """x [T, C] @ W^T [T, OC] as ggml's CPU backend computes it for the GGUF matrix `name`
        (float64, see emulate_ggml_acts), or None when W's type has no activation rounding (f32)"""
        t = Q.type_name(self.types[name])
        if t not in Q.ACT_TYPE:
            return None
        tensor = self.g.tensor(name)
        x32 = x.detach().numpy().astype(np.float32)
        out, _ = Q.emulate_matmul(t, x32, bytes(tensor.data), self.g.array(name))
        return torch.from_numpy(out)

    def forward(self, tokens):
        global _KV_F16, _ATTN_PROBS
        _KV_F16 = self.kv_f16
        _ATTN_PROBS = self.attn_probs
        try:
            return FAMILIES[self.arch](self, torch.as_tensor(np.asarray(tokens, dtype=np.int64)))
        finally:
            _KV_F16 = False
            _ATTN_PROBS = None


def load(path, emulate_ggml_acts=False, kv_f16=False):
    return Model(path, emulate_ggml_acts, kv_f16)


_KV_F16 = False   # set by Model.forward for the duration of one forward pass
_ATTN_PROBS = None   # Model.attn_probs during its forward: attention() appends its probabilities, layer by layer


# ---------------------------------------------------------------------------- building blocks
def cap(m, layer, op, out, x):
    """record the output [T, cols] of the DSL op OP(op, out, ...) of `layer` when m.capture is a list"""
    if m.capture is not None:
        m.capture.append((layer, op, out, x.detach().reshape(x.shape[0], -1).clone()))
    return x


def permute_cols(x, n_head):
    """convert_hf_to_gguf's LlamaModel.permute on the columns of x [T, n_head*hd]: the layout the
    program's q/k have (GGUF rows) from the HF layout"""
    T, n = x.shape
    return x.reshape(T, n_head, 2, n // n_head // 2).transpose(2, 3).reshape(T, n)


def rms_norm(x, w, eps):
    """HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * w"""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def gemma_rms_norm(x, w_hf, eps):
    """HF Gemma3RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w)"""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + w_hf)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_freqs_for(m, base, local=False):
    """(inv_freq [n_rot/2] float64, mscale) of m's rope as llama.cpp computes it from the GGUF:
    {arch}.rope.scaling.type (absent: linear), .factor (or the older .rope.scale_linear; 0 = none),
    .attn_factor (1), .original_context_length (else context_length); per-pair divisors from
    rope_freqs.weight, else rope_factors_long.weight when n_ctx > n_ctx_orig, else
    rope_factors_short.weight (llama.cpp's build_rope_factors). base: the layer's freq_base.
    local: a sliding-window layer of gemma3, which llama.cpp (and HF's rotary_emb_local) rotates
    unscaled: freq_scale 1 and no factors."""
    a, g = m.arch, m.g
    n_ctx_train = int(_kv_opt(g, f"{a}.context_length") or 0)
    scaling = _kv_opt(g, f"{a}.rope.scaling.type") or "linear"
    factor = _kv_opt(g, f"{a}.rope.scaling.factor")
    if factor is None:
        factor = _kv_opt(g, f"{a}.rope.scale_linear") or 0.0
    attn_factor = _kv_opt(g, f"{a}.rope.scaling.attn_factor")
    n_ctx_orig = int(_kv_opt(g, f"{a}.rope.scaling.original_context_length") or n_ctx_train)
    n_ctx = m.n_ctx or n_ctx_train
    factors = None
    if m.has("rope_freqs.weight"):
        factors = m.w("rope_freqs.weight")
    elif n_ctx > n_ctx_orig and m.has("rope_factors_long.weight"):
        factors = m.w("rope_factors_long.weight")
    elif n_ctx <= n_ctx_orig and m.has("rope_factors_short.weight"):
        factors = m.w("rope_factors_short.weight")
    if local:
        factor, factors = 0.0, None
    p = R.params(scaling, base, float(factor), n_ctx_orig, 1.0 if attn_factor is None else float(attn_factor),
                 None if factors is None else factors.reshape(-1).tolist())
    return R.llamacpp(m.hp["n_rot"], p)


def rope_hf(x, rope, n_rot):
    """HF apply_rotary_pos_emb (rotate_half form) on the first n_rot dims of x [H, T, D],
    positions 0..T-1, with rope = (inv_freq, mscale) from rope_freqs_for; the rest pass through
    (partial rotary, as GPT-NeoX / llama.cpp NeoX)."""
    inv_freq, mscale = rope
    return R.apply_rotary_pos_emb(x, torch.arange(x.shape[-2], dtype=DT), inv_freq, mscale, n_rot)


def unpermute_llama(w, n_head):
    """inverse of convert_hf_to_gguf's LlamaModel.permute: rows [n_head, 2, hd/2] <- [n_head, hd/2, 2]"""
    out_dim = w.shape[0]
    return w.reshape(n_head, out_dim // n_head // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def attention(q, k, v, scale, window=0, softcap=0.0):
    """q [H, T, D], k/v [HKV, T, D]; causal (and sliding window: key j visible to query i when
    i - j < window, HF's sliding_window / llama.cpp's n_swa); GQA by repeating kv heads.
    softcap > 0: Gemma 2's logit soft-capping of the scaled scores, before the mask."""
    H, T, _ = q.shape
    if _KV_F16:   # the cache stores the f32 values rounded to F16
        k = k.to(torch.float32).to(torch.float16).to(q.dtype)
        v = v.to(torch.float32).to(torch.float16).to(q.dtype)
    rep = H // k.shape[0]
    k = k.repeat_interleave(rep, dim=0)
    v = v.repeat_interleave(rep, dim=0)
    s = (q @ k.transpose(-1, -2)) * scale
    if softcap > 0:
        s = softcap * torch.tanh(s / softcap)
    i = torch.arange(T).unsqueeze(1)
    j = torch.arange(T).unsqueeze(0)
    mask = j > i
    if window > 0:
        mask = mask | (i - j >= window)
    s = s.masked_fill(mask, float("-inf"))
    p = torch.softmax(s, dim=-1)
    if _ATTN_PROBS is not None:
        _ATTN_PROBS.append(p.detach().clone())
    return p @ v


def heads(x, n):
    """[T, n*D] -> [n, T, D]"""
    T = x.shape[0]
    return x.reshape(T, n, -1).transpose(0, 1)


def merge(x):
    """[H, T, D] -> [T, H*D]"""
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def linear(m, x, name, b=None, rows=None):
    """x @ W^T + b for the GGUF matrix `name`; rows: a function of W's rows applied after loading
    (llama's un-permutation), i.e. of the output's columns. With m.emulate_ggml_acts, x is first
    rounded as ggml rounds activations for W's type (Model.ggml_matmul)."""
    out = m.ggml_matmul(x, name) if m.emulate_ggml_acts else None
    if out is None:
        return F.linear(x, m.w(name) if rows is None else rows(m.w(name)), b)
    if rows is not None:
        out = rows(out.T).T
    return out if b is None else out + b


def lm_head(m, h):
    return linear(m, h, "output.weight" if m.has("output.weight") else "token_embd.weight")


# ---------------------------------------------------------------------------- families
def gpt2(m, tokens):
    """GPT2LMHeadModel: wte + wpe, pre-LayerNorm blocks, fused c_attn, gelu_new, tied lm_head"""
    a, hp = m.arch, m.hp
    eps = float(_kv(m.g, f"{a}.attention.layer_norm_epsilon", 1e-5))
    C, H = hp["n_embd"], hp["n_head"]
    T = tokens.shape[0]
    x = cap(m, "head", "embedding", "x", m.w("token_embd.weight")[tokens] + m.w("position_embd.weight")[:T])
    for il in range(hp["n_layer"]):
        p = f"blk.{il}."
        h = cap(m, il, "layernorm", "h", F.layer_norm(x, (C,), m.w(p + "attn_norm.weight"), m.w(p + "attn_norm.bias"), eps))
        qkv = cap(m, il, "matmul", "qkv", linear(m, h, p + "attn_qkv.weight", m.w(p + "attn_qkv.bias")))
        q, k, v = qkv.split(C, dim=-1)
        att = attention(heads(q, H), heads(k, H), heads(v, H), 1.0 / math.sqrt(C // H))
        cap(m, il, "attention", "att", merge(att))
        o = cap(m, il, "matmul", "o", linear(m, merge(att), p + "attn_output.weight", m.w(p + "attn_output.bias")))
        x = cap(m, il, "add", "x", x + o)
        h = cap(m, il, "layernorm", "h", F.layer_norm(x, (C,), m.w(p + "ffn_norm.weight"), m.w(p + "ffn_norm.bias"), eps))
        up = cap(m, il, "matmul", "up", linear(m, h, p + "ffn_up.weight", m.w(p + "ffn_up.bias")))
        u = cap(m, il, "gelu", "mlp", F.gelu(up, approximate="tanh"))
        down = cap(m, il, "matmul", "down", linear(m, u, p + "ffn_down.weight", m.w(p + "ffn_down.bias")))
        x = cap(m, il, "add", "x", x + down)
    x = cap(m, "foot", "layernorm", "h", F.layer_norm(x, (C,), m.w("output_norm.weight"), m.w("output_norm.bias"), eps))
    return cap(m, "foot", "matmul", "logits", lm_head(m, x))


def _llama_like(m, tokens, *, permuted, biases, qk_norm, rope_default):
    """LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM"""
    a, hp = m.arch, m.hp
    eps = float(_kv(m.g, f"{a}.attention.layer_norm_rms_epsilon", 1e-5 if a != "qwen3" else 1e-6))
    rope = rope_freqs_for(m, float(_kv(m.g, f"{a}.rope.freq_base", rope_default)))
    # Mistral v0.1's window (HF MistralAttention); qwen2/3's sliding_window is unused by HF (use_sliding_window false)
    window = int(_kv(m.g, f"{a}.attention.sliding_window", 0)) if a == "llama" else 0
    H, HKV, D, n_rot = hp["n_head"], hp["n_head_kv"], hp["head_dim"], hp["n_rot"]
    if permuted:
        assert n_rot == D, "llama's GGUF permutation is over whole heads"
    x = cap(m, "head", "embedding", "x", m.w("token_embd.weight")[tokens])
    # captured q/k in the program's layout: llama's GGUF rows are permuted for interleaved RoPE
    pq = (lambda t: permute_cols(t, H)) if permuted else (lambda t: t)
    pk = (lambda t: permute_cols(t, HKV)) if permuted else (lambda t: t)
    for il in range(hp["n_layer"]):
        p = f"blk.{il}."
        h = cap(m, il, "rmsnorm", "h", rms_norm(x, m.w(p + "attn_norm.weight"), eps))
        rows_q = (lambda w: unpermute_llama(w, H)) if permuted else None
        rows_k = (lambda w: unpermute_llama(w, HKV)) if permuted else None
        b = (lambda n: m.w(p + n)) if biases else (lambda n: None)
        q = linear(m, h, p + "attn_q.weight", b("attn_q.bias"), rows_q)
        k = linear(m, h, p + "attn_k.weight", b("attn_k.bias"), rows_k)
        v = cap(m, il, "matmul", "v", linear(m, h, p + "attn_v.weight", b("attn_v.bias")))
        cap(m, il, "matmul", "q", pq(q))
        cap(m, il, "matmul", "k", pk(k))
        q, k, v = heads(q, H), heads(k, HKV), heads(v, HKV)
        if qk_norm:  # Qwen3Attention: q_norm / k_norm (RMSNorm over head_dim) before RoPE
            q = rms_norm(q, m.w(p + "attn_q_norm.weight"), eps)
            k = rms_norm(k, m.w(p + "attn_k_norm.weight"), eps)
            cap(m, il, "rmsnorm_heads", "q", merge(q))
            cap(m, il, "rmsnorm_heads", "k", merge(k))
        q, k = rope_hf(q, rope, n_rot), rope_hf(k, rope, n_rot)
        cap(m, il, "rope", "q", pq(merge(q)))
        cap(m, il, "rope", "k", pk(merge(k)))
        att = attention(q, k, v, 1.0 / math.sqrt(D), window)
        cap(m, il, "attention", "att", merge(att))
        o = cap(m, il, "matmul", "o", linear(m, merge(att), p + "attn_output.weight"))
        x = cap(m, il, "add", "x", x + o)
        h = cap(m, il, "rmsnorm", "h", rms_norm(x, m.w(p + "ffn_norm.weight"), eps))
        gate = cap(m, il, "matmul", "gate", linear(m, h, p + "ffn_gate.weight"))
        up = cap(m, il, "matmul", "up", linear(m, h, p + "ffn_up.weight"))
        g = cap(m, il, "swiglu", "mlp", F.silu(gate) * up)
        down = cap(m, il, "matmul", "down", linear(m, g, p + "ffn_down.weight"))
        x = cap(m, il, "add", "x", x + down)
    h = cap(m, "foot", "rmsnorm", "h", rms_norm(x, m.w("output_norm.weight"), eps))
    return cap(m, "foot", "matmul", "logits", lm_head(m, h))


def llama(m, tokens):
    return _llama_like(m, tokens, permuted=True, biases=False, qk_norm=False, rope_default=10000.0)


def qwen2(m, tokens):
    return _llama_like(m, tokens, permuted=False, biases=True, qk_norm=False, rope_default=1e6)


def qwen3(m, tokens):
    return _llama_like(m, tokens, permuted=False, biases=False, qk_norm=True, rope_default=1e6)


GEMMA3_ROPE_LOCAL_BASE = 10000.0      # Gemma3TextConfig.rope_local_base_freq (llama.cpp: freq_base_train_swa)
GEMMA3_SLIDING_WINDOW_PATTERN = 6     # Gemma3TextConfig.sliding_window_pattern (llama.cpp: set_swa_pattern(6))


def sliding_layers(m, n_layer, default_period):
    """which layers use the sliding window: `{arch}.attention.sliding_window_pattern` as one bool
    per layer (true = sliding), or a period p (layer il slides when il % p < p - 1: HF's
    `layer_types` / sliding_window_pattern, llama.cpp's set_swa_pattern)"""
    v = m.g.kv.get(f"{m.arch}.attention.sliding_window_pattern")
    if v is not None and isinstance(v.value, list):
        assert len(v.value) >= n_layer, "sliding_window_pattern has fewer values than layers"
        return [bool(x) for x in v.value[:n_layer]]
    p = int(v.value) if v is not None else default_period
    return [il % p < p - 1 for il in range(n_layer)]


def gemma_post_attention(m, p, x, att, eps, norm_w, il):
    """Gemma 2/3 after attention: output projection, post-norm, residual; (1 + w) RMSNorm, GeGLU
    (gelu_pytorch_tanh) MLP, post-norm, residual"""
    cap(m, il, "attention", "att", merge(att))
    o = cap(m, il, "matmul", "o", linear(m, merge(att), p + "attn_output.weight"))
    o = cap(m, il, "rmsnorm", "o", gemma_rms_norm(o, norm_w(p + "post_attention_norm.weight"), eps))
    x = cap(m, il, "add", "x", x + o)
    h = cap(m, il, "rmsnorm", "h", gemma_rms_norm(x, norm_w(p + "ffn_norm.weight"), eps))
    gate = cap(m, il, "matmul", "gate", linear(m, h, p + "ffn_gate.weight"))
    up = cap(m, il, "matmul", "up", linear(m, h, p + "ffn_up.weight"))
    g = cap(m, il, "geglu", "mlp", F.gelu(gate, approximate="tanh") * up)
    d = cap(m, il, "matmul", "down", linear(m, g, p + "ffn_down.weight"))
    d = cap(m, il, "rmsnorm", "down", gemma_rms_norm(d, norm_w(p + "post_ffw_norm.weight"), eps))
    return cap(m, il, "add", "x", x + d)


def gemma3(m, tokens):
    """Gemma3ForCausalLM (text): scaled embeddings, (1 + w) RMSNorms before and after attention
    and MLP, q/k norms, GeGLU (gelu_pytorch_tanh), 5 sliding-window layers then 1 global."""
    a, hp = m.arch, m.hp
    eps = float(_kv(m.g, f"{a}.attention.layer_norm_rms_epsilon", 1e-6))
    base_global = float(_kv(m.g, f"{a}.rope.freq_base", 1e6))
    window = int(_kv(m.g, f"{a}.attention.sliding_window"))
    sliding_at = sliding_layers(m, hp["n_layer"], GEMMA3_SLIDING_WINDOW_PATTERN)
    base_local = float(_kv(m.g, f"{a}.rope.freq_base_swa", GEMMA3_ROPE_LOCAL_BASE))
    C, H, HKV, D = hp["n_embd"], hp["n_head"], hp["n_head_kv"], hp["head_dim"]
    # query_pre_attn_scalar ** -0.5: the GGUF has no key for it; the HF configs have head_dim
    # (1B/4B/12B) and n_embd / n_head = 168 (27B), the rule llama.cpp applies by size (62 layers = 27B)
    scale = (C // H if hp["n_layer"] == 62 else D) ** -0.5
    norm_w = lambda n: m.w(n) - 1.0       # the file holds 1 + w (convert_hf_to_gguf, Gemma3Model)
    # sliding-window layers: base 10000, unscaled; global layers: rope.freq_base and the file's
    # scaling (Gemma 3 4B+: linear x8), as llama.cpp's gemma3 and HF's two rotary embeddings
    rope_local = rope_freqs_for(m, base_local, local=True)
    rope_global = rope_freqs_for(m, base_global)
    x = cap(m, "head", "embedding", "x", m.w("token_embd.weight")[tokens])
    x = cap(m, "head", "scale", "x", x * torch.tensor(C ** 0.5, dtype=DT))
    for il in range(hp["n_layer"]):
        p = f"blk.{il}."
        sliding = sliding_at[il]
        h = cap(m, il, "rmsnorm", "h", gemma_rms_norm(x, norm_w(p + "attn_norm.weight"), eps))
        q = heads(cap(m, il, "matmul", "q", linear(m, h, p + "attn_q.weight")), H)
        k = heads(cap(m, il, "matmul", "k", linear(m, h, p + "attn_k.weight")), HKV)
        v = heads(cap(m, il, "matmul", "v", linear(m, h, p + "attn_v.weight")), HKV)
        q = gemma_rms_norm(q, norm_w(p + "attn_q_norm.weight"), eps)
        k = gemma_rms_norm(k, norm_w(p + "attn_k_norm.weight"), eps)
        cap(m, il, "rmsnorm_heads", "q", merge(q))
        cap(m, il, "rmsnorm_heads", "k", merge(k))
        rope = rope_local if sliding else rope_global
        q, k = rope_hf(q, rope, D), rope_hf(k, rope, D)
        cap(m, il, "rope", "q", merge(q))
        cap(m, il, "rope", "k", merge(k))
        att = attention(q, k, v, scale, window if sliding else 0)
        x = gemma_post_attention(m, p, x, att, eps, norm_w, il)
    x = cap(m, "foot", "rmsnorm", "h", gemma_rms_norm(x, norm_w("output_norm.weight"), eps))
    return cap(m, "foot", "matmul", "logits", lm_head(m, x))


GEMMA2_SLIDING_WINDOW = 4096          # llama.cpp's default when the GGUF has no sliding_window key
GEMMA2_ATTN_SOFTCAP = 50.0            # llama.cpp's defaults (llama-hparams.h), = HF Gemma2Config's
GEMMA2_FINAL_SOFTCAP = 30.0
GEMMA2_27B_LAYERS = 46                # llama.cpp's LLM_TYPE_27B for gemma2


def gemma2(m, tokens):
    """Gemma2ForCausalLM: scaled embeddings, (1 + w) RMSNorms before and after attention and MLP,
    GeGLU (gelu_pytorch_tanh), attention and final logit soft-capping, sliding window on even
    layers, rope base 10000 everywhere."""
    a, hp = m.arch, m.hp
    eps = float(_kv(m.g, f"{a}.attention.layer_norm_rms_epsilon", 1e-6))
    rope = rope_freqs_for(m, float(_kv(m.g, f"{a}.rope.freq_base", 10000.0)))
    window = int(_kv(m.g, f"{a}.attention.sliding_window", GEMMA2_SLIDING_WINDOW))
    attn_cap = float(_kv(m.g, f"{a}.attn_logit_softcapping", GEMMA2_ATTN_SOFTCAP))
    final_cap = float(_kv(m.g, f"{a}.final_logit_softcapping", GEMMA2_FINAL_SOFTCAP))
    C, H, HKV, D, n_rot = hp["n_embd"], hp["n_head"], hp["n_head_kv"], hp["head_dim"], hp["n_rot"]
    # query_pre_attn_scalar ** -0.5 (no GGUF key): n_embd / n_head for 27B, head_dim otherwise
    scale = (C // H if hp["n_layer"] == GEMMA2_27B_LAYERS else D) ** -0.5
    norm_w = lambda n: m.w(n) - 1.0       # the file holds 1 + w (convert_hf_to_gguf, Gemma2Model)
    x = cap(m, "head", "embedding", "x", m.w("token_embd.weight")[tokens])
    x = cap(m, "head", "scale", "x", x * torch.tensor(C ** 0.5, dtype=DT))
    for il in range(hp["n_layer"]):
        p = f"blk.{il}."
        sliding = il % 2 == 0
        h = cap(m, il, "rmsnorm", "h", gemma_rms_norm(x, norm_w(p + "attn_norm.weight"), eps))
        q = cap(m, il, "matmul", "q", linear(m, h, p + "attn_q.weight"))
        k = cap(m, il, "matmul", "k", linear(m, h, p + "attn_k.weight"))
        v = cap(m, il, "matmul", "v", linear(m, h, p + "attn_v.weight"))
        q = rope_hf(heads(q, H), rope, n_rot)
        k = rope_hf(heads(k, HKV), rope, n_rot)
        cap(m, il, "rope", "q", merge(q))
        cap(m, il, "rope", "k", merge(k))
        att = attention(q, k, heads(v, HKV), scale, window if sliding else 0, softcap=attn_cap)
        x = gemma_post_attention(m, p, x, att, eps, norm_w, il)
    x = cap(m, "foot", "rmsnorm", "h", gemma_rms_norm(x, norm_w("output_norm.weight"), eps))
    logits = cap(m, "foot", "matmul", "logits", linear(m, x, "token_embd.weight"))
    return cap(m, "foot", "softcap", "logits", final_cap * torch.tanh(logits / final_cap) if final_cap > 0 else logits)


PHI3_APPLY_SLIDING_WINDOW = True      # HF's behaviour; current llama.cpp ignores the window (PR 13676)


def phi3(m, tokens):
    """Phi3ForCausalLM: fused qkv_proj and gate_up_proj, RMSNorm, SwiGLU, NeoX RoPE (LongRoPE
    factors if present), optional sliding window on every layer."""
    a, hp = m.arch, m.hp
    eps = float(_kv(m.g, f"{a}.attention.layer_norm_rms_epsilon", 1e-5))
    # LongRoPE (rope_factors_long/short.weight, rope.scaling.attn_factor) as llama.cpp picks it
    rope = rope_freqs_for(m, float(_kv(m.g, f"{a}.rope.freq_base", 10000.0)))
    window = int(_kv(m.g, f"{a}.attention.sliding_window", 0)) if PHI3_APPLY_SLIDING_WINDOW else 0
    H, HKV, D, n_rot, n_ff = hp["n_head"], hp["n_head_kv"], hp["head_dim"], hp["n_rot"], hp["n_ff"]
    x = cap(m, "head", "embedding", "x", m.w("token_embd.weight")[tokens])
    for il in range(hp["n_layer"]):
        p = f"blk.{il}."
        h = cap(m, il, "rmsnorm", "h", rms_norm(x, m.w(p + "attn_norm.weight"), eps))
        qkv = cap(m, il, "matmul", "qkv", linear(m, h, p + "attn_qkv.weight"))
        q, k, v = qkv.split([H * D, HKV * D, HKV * D], dim=-1)
        q = rope_hf(heads(q, H), rope, n_rot)
        k = rope_hf(heads(k, HKV), rope, n_rot)
        cap(m, il, "rope", "q", merge(q))
        cap(m, il, "rope", "k", merge(k))
        att = cap(m, il, "attention", "att", merge(attention(q, k, heads(v, HKV), 1.0 / math.sqrt(D), window)))
        o = cap(m, il, "matmul", "o", linear(m, att, p + "attn_output.weight"))
        x = cap(m, il, "add", "x", x + o)
        h = cap(m, il, "rmsnorm", "h", rms_norm(x, m.w(p + "ffn_norm.weight"), eps))
        gate_up = cap(m, il, "matmul", "gate_up", linear(m, h, p + "ffn_up.weight"))
        gate, up = gate_up.split([n_ff, n_ff], dim=-1)
        mlp = cap(m, il, "swiglu", "mlp", F.silu(gate) * up)
        down = cap(m, il, "matmul", "down", linear(m, mlp, p + "ffn_down.weight"))
        x = cap(m, il, "add", "x", x + down)
    h = cap(m, "foot", "rmsnorm", "h", rms_norm(x, m.w("output_norm.weight"), eps))
    return cap(m, "foot", "matmul", "logits", lm_head(m, h))


FAMILIES = {"gpt2": gpt2, "llama": llama, "qwen2": qwen2, "qwen3": qwen3, "gemma2": gemma2, "gemma3": gemma3,
            "phi3": phi3}
