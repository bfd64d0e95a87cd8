/* models/phi3.h — Phi-3 / Phi-3.5 / Phi-4-mini-style (GGUF architecture "phi3"): one fused QKV
   projection with GQA sizes (columns q | k | v), one fused up projection holding gate | up
   (SwiGLU: silu of the first half times the second), RMSNorm, NeoX rotary embedding with the
   file's LongRoPE factors (rope_factors_long/short.weight and rope.scaling.attn_factor, chosen
   by the context as llama.cpp does), and the sliding window of `phi3.attention.sliding_window`
   on every layer when it is > 0 (as HF's Phi3Attention; current llama.cpp ignores the key).
   The output is tied to the token embedding when the file has no output.weight.
   Grammar: see models/llama.h. */
#define PHI3_ARCH "phi3"

#define PHI3_HPARAMS(H)                                                               \
    H(n_embd,     "%s.embedding_length",                REQUIRED)                     \
    H(n_layer,    "%s.block_count",                     REQUIRED)                     \
    H(n_ff,       "%s.feed_forward_length",             REQUIRED)                     \
    H(n_head,     "%s.attention.head_count",            REQUIRED)                     \
    H(n_head_kv,  "%s.attention.head_count_kv",         n_head)                       \
    H(head_dim,   "%s.attention.key_length",            n_embd / n_head)              \
    H(n_rot,      "%s.rope.dimension_count",            head_dim)                     \
    H(rope_base,  "%s.rope.freq_base",                  10000)                        \
    H(sliding_window, "%s.attention.sliding_window",    0)                            \
    H(norm_eps,   "%s.attention.layer_norm_rms_epsilon", 1e-5)                        \
    H(n_ctx,      "%s.context_length",                  4096)                         \
    H(n_vocab,    "",                                   FROM_WEIGHTS)                 \
    H(rope_scaling, "",                                 1) /* LongRoPE, as llama.cpp */ \
    H(rope_neox,  "",                                   1)                            \
    H(attn_scale, "",                                   1 / sqrt(head_dim))

#define PHI3_LAYER_PARAMS(L)                                                          \
    L(window,     sliding_window)

#define PHI3_GLOBALS(W)                                                               \
    W(token_embd,  "token_embd.weight",       n_embd, n_vocab, 0)                     \
    W(output_norm, "output_norm.weight",      n_embd, 1,       0)                     \
    W(output,      "output.weight",           n_embd, n_vocab, TIED(token_embd))

#define PHI3_LAYER(W)                                                                 \
    W(attn_norm,   "blk.%d.attn_norm.weight",   n_embd,            1,                                    0) \
    W(wqkv,        "blk.%d.attn_qkv.weight",    n_embd,            (n_head + 2 * n_head_kv) * head_dim,  0) \
    W(wo,          "blk.%d.attn_output.weight", n_head * head_dim, n_embd,                               0) \
    W(ffn_norm,    "blk.%d.ffn_norm.weight",    n_embd,            1,                                    0) \
    W(w_gate_up,   "blk.%d.ffn_up.weight",      n_embd,            2 * n_ff,                             0) \
    W(w_down,      "blk.%d.ffn_down.weight",    n_ff,              n_embd,                               0)

#define PHI3_HEAD(OP)                                                                 \
    OP(embedding, x,      tokens, token_embd, _)

#define PHI3_BLOCK(OP)                                                                \
    OP(rmsnorm,   h,      x,      attn_norm,  _)                                      \
    OP(matmul,    qkv,    h,      wqkv,       _)                                      \
    OP(view,      q,      qkv,    0,                      n_head * head_dim)          \
    OP(view,      k,      qkv,    n_head * head_dim,      n_head_kv * head_dim)       \
    OP(view,      v,      qkv,    (n_head + n_head_kv) * head_dim, n_head_kv * head_dim) \
    OP(rope,      q,      q,      _,          _)                                      \
    OP(rope,      k,      k,      _,          _)                                      \
    OP(attention, att,    q,      k,          v)                                      \
    OP(matmul,    o,      att,    wo,         _)                                      \
    OP(add,       x,      x,      o,          _)                                      \
    OP(rmsnorm,   h,      x,      ffn_norm,   _)                                      \
    OP(matmul,    gate_up, h,     w_gate_up,  _)                                      \
    OP(view,      gate,   gate_up, 0,         n_ff)                                   \
    OP(view,      up,     gate_up, n_ff,      n_ff)                                   \
    OP(swiglu,    mlp,    gate,   up,         _)                                      \
    OP(matmul,    down,   mlp,    w_down,     _)                                      \
    OP(add,       x,      x,      down,       _)

#define PHI3_FOOT(OP)                                                                 \
    OP(rmsnorm,   h,      x,      output_norm, _)                                     \
    OP(matmul,    logits, h,      output,     _)
