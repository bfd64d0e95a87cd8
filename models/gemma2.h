/* models/gemma2.h — Gemma 2 (GGUF architecture "gemma2"): embeddings scaled by sqrt(n_embd),
   RMSNorm before and after attention and MLP (the GGUF holds Gemma's 1 + w), GeGLU (tanh GELU),
   NeoX rotary embedding with base 10000 on every layer, attention logit soft-capping
   (`attn_logit_softcapping`, default 50) and final logit soft-capping (`final_logit_softcapping`,
   default 30), and sliding-window attention on the even layers (0, 2, ...; HF and llama.cpp).
   The attention scale is query_pre_attn_scalar^-0.5, which GGUF does not store: head_dim for
   2B/9B, n_embd / n_head for 27B (46 layers), told apart by size as llama.cpp does. The output
   is tied to the token embedding. Grammar: see models/llama.h. */
#define GEMMA2_ARCH "gemma2"

#define GEMMA2_HPARAMS(H)                                                             \
    H(n_embd,      "%s.embedding_length",                 REQUIRED)                   \
    H(n_layer,     "%s.block_count",                      REQUIRED)                   \
    H(n_ff,        "%s.feed_forward_length",              REQUIRED)                   \
    H(n_head,      "%s.attention.head_count",             REQUIRED)                   \
    H(n_head_kv,   "%s.attention.head_count_kv",          n_head)                     \
    H(head_dim,    "%s.attention.key_length",             n_embd / n_head)            \
    H(n_rot,       "%s.rope.dimension_count",             head_dim)                   \
    H(rope_base,   "%s.rope.freq_base",                   10000)                      \
    H(sliding_window, "%s.attention.sliding_window",      4096)                       \
    H(norm_eps,    "%s.attention.layer_norm_rms_epsilon", 1e-6)                       \
    H(n_ctx,       "%s.context_length",                   8192)                       \
    H(n_vocab,     "",                                    FROM_WEIGHTS)               \
    H(rope_neox,   "",                                    1)                          \
    H(attn_scale,  "",                                    n_layer == 46 ? 1 / sqrt(n_embd / n_head) : 1 / sqrt(head_dim)) \
    H(attn_softcap, "%s.attn_logit_softcapping",          50)                         \
    H(final_softcap, "%s.final_logit_softcapping",        30)                         \
    H(embd_scale,  "",                                    sqrt(n_embd))

/* even layers slide, odd layers attend to everything */
#define GEMMA2_LAYER_PARAMS(L)                                                        \
    L(window,     il % 2 == 0 ? sliding_window : 0)

#define GEMMA2_GLOBALS(W)                                                             \
    W(token_embd,  "token_embd.weight",       n_embd, n_vocab, 0)                     \
    W(output_norm, "output_norm.weight",      n_embd, 1,       0)                     \
    W(output,      "output.weight",           n_embd, n_vocab, TIED(token_embd))

#define GEMMA2_LAYER(W)                                                               \
    W(attn_norm,      "blk.%d.attn_norm.weight",           n_embd,            1,                    0) \
    W(wq,             "blk.%d.attn_q.weight",              n_embd,            n_head * head_dim,    0) \
    W(wk,             "blk.%d.attn_k.weight",              n_embd,            n_head_kv * head_dim, 0) \
    W(wv,             "blk.%d.attn_v.weight",              n_embd,            n_head_kv * head_dim, 0) \
    W(wo,             "blk.%d.attn_output.weight",         n_head * head_dim, n_embd,               0) \
    W(post_attn_norm, "blk.%d.post_attention_norm.weight", n_embd,            1,                    0) \
    W(ffn_norm,       "blk.%d.ffn_norm.weight",            n_embd,            1,                    0) \
    W(w_gate,         "blk.%d.ffn_gate.weight",            n_embd,            n_ff,                 0) \
    W(w_up,           "blk.%d.ffn_up.weight",              n_embd,            n_ff,                 0) \
    W(w_down,         "blk.%d.ffn_down.weight",            n_ff,              n_embd,               0) \
    W(post_ffn_norm,  "blk.%d.post_ffw_norm.weight",       n_embd,            1,                    0)

#define GEMMA2_HEAD(OP)                                                               \
    OP(embedding, x,      tokens, token_embd, _)                                      \
    OP(scale,     x,      x,      embd_scale, _)

#define GEMMA2_BLOCK(OP)                                                              \
    OP(rmsnorm,   h,      x,      attn_norm,      _)                                  \
    OP(matmul,    q,      h,      wq,             _)                                  \
    OP(matmul,    k,      h,      wk,             _)                                  \
    OP(matmul,    v,      h,      wv,             _)                                  \
    OP(rope,      q,      q,      _,              _)                                  \
    OP(rope,      k,      k,      _,              _)                                  \
    OP(attention, att,    q,      k,              v)                                  \
    OP(matmul,    o,      att,    wo,             _)                                  \
    OP(rmsnorm,   o,      o,      post_attn_norm, _)                                  \
    OP(add,       x,      x,      o,              _)                                  \
    OP(rmsnorm,   h,      x,      ffn_norm,       _)                                  \
    OP(matmul,    gate,   h,      w_gate,         _)                                  \
    OP(matmul,    up,     h,      w_up,           _)                                  \
    OP(geglu,     mlp,    gate,   up,             _)                                  \
    OP(matmul,    down,   mlp,    w_down,         _)                                  \
    OP(rmsnorm,   down,   down,   post_ffn_norm,  _)                                  \
    OP(add,       x,      x,      down,           _)

#define GEMMA2_FOOT(OP)                                                               \
    OP(rmsnorm,   h,      x,      output_norm,    _)                                  \
    OP(matmul,    logits, h,      output,         _)                                  \
    OP(softcap,   logits, logits, final_softcap,  _)
