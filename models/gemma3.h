/* models/gemma3.h — Gemma 3 text (GGUF architecture "gemma3"): embeddings scaled by
   sqrt(n_embd), RMSNorm before and after attention and MLP (GGUF files carry Gemma's (1 + w)
   already folded into w), per-head q/k RMSNorm, GeGLU (tanh GELU), NeoX rotary embedding,
   and layers that alternate sliding-window attention (local rope base, `rope.freq_base_swa`,
   default 10000) with global ones (`rope.freq_base`). Which layers slide: the file's
   `attention.sliding_window_pattern`, either one bool per layer (true = sliding) or a period p
   (layer il slides when il % p < p - 1, i.e. every p-th layer is global; default 6), as
   llama.cpp reads it. The output is tied to the token embedding.
   Attention is scaled by query_pre_attn_scalar^-0.5, which GGUF does not store: head_dim for
   1B/4B/12B, n_embd / n_head (168) for 27B, told apart by size (62 layers) as llama.cpp does.
   The file's rope scaling (4B+: linear, factor 8) applies to the global layers only, as in HF
   (rotary_emb vs rotary_emb_local) and llama.cpp.
   Grammar: see models/llama.h. */
#define GEMMA3_ARCH "gemma3"

#define GEMMA3_HPARAMS(H)                                                             \
    H(n_embd,      "%s.embedding_length",                 REQUIRED)                   \
    H(n_layer,     "%s.block_count",                      REQUIRED)                   \
    H(n_ff,        "%s.feed_forward_length",              REQUIRED)                   \
    H(n_head,      "%s.attention.head_count",             REQUIRED)                   \
    H(n_head_kv,   "%s.attention.head_count_kv",          n_head)                     \
    H(head_dim,    "%s.attention.key_length",             n_embd / n_head)            \
    H(n_rot,       "",                                    head_dim)                   \
    H(rope_global, "%s.rope.freq_base",                   1000000)                    \
    H(rope_local,  "%s.rope.freq_base_swa",               10000)                      \
    H(sliding_window, "%s.attention.sliding_window",      512)                        \
    H(swa_pattern, "%s.attention.sliding_window_pattern", 6)                          \
    H(norm_eps,    "%s.attention.layer_norm_rms_epsilon", 1e-6)                       \
    H(n_ctx,       "%s.context_length",                   8192)                       \
    H(n_vocab,     "",                                    FROM_WEIGHTS)               \
    H(rope_scaling, "",                                 1) /* the file's rope scaling, as llama.cpp */ \
    H(rope_neox,   "",                                    1)                          \
    H(attn_scale,  "",                                    n_layer == 62 ? 1 / sqrt(n_embd / n_head) : 1 / sqrt(head_dim)) \
    H(embd_scale,  "",                                    sqrt(n_embd))

/* sliding layers: local window and rope base; the others attend to everything, global rope base */
#define GEMMA3_LAYER_PARAMS(L)                                                        \
    L(sliding,    isarr(swa_pattern) ? swa_pattern != 0 : il % swa_pattern < swa_pattern - 1) \
    L(window,     sliding ? sliding_window : 0)                                       \
    L(rope_base,  sliding ? rope_local : rope_global)                                 \
    L(rope_scaled, !sliding) /* rope scaling (4B+: linear x8) on the global layers only */

#define GEMMA3_GLOBALS(W)                                                             \
    W(token_embd,  "token_embd.weight",       n_embd, n_vocab, 0)                     \
    W(output_norm, "output_norm.weight",      n_embd, 1,       0)                     \
    W(output,      "output.weight",           n_embd, n_vocab, TIED(token_embd))

#define GEMMA3_LAYER(W)                                                               \
    W(attn_norm,      "blk.%d.attn_norm.weight",           n_embd,            1,                    0) \
    W(wq,             "blk.%d.attn_q.weight",              n_embd,            n_head * head_dim,    0) \
    W(wk,             "blk.%d.attn_k.weight",              n_embd,            n_head_kv * head_dim, 0) \
    W(wv,             "blk.%d.attn_v.weight",              n_embd,            n_head_kv * head_dim, 0) \
    W(attn_q_norm,    "blk.%d.attn_q_norm.weight",         head_dim,          1,                    0) \
    W(attn_k_norm,    "blk.%d.attn_k_norm.weight",         head_dim,          1,                    0) \
    W(wo,             "blk.%d.attn_output.weight",         n_head * head_dim, n_embd,               0) \
    W(post_attn_norm, "blk.%d.post_attention_norm.weight", n_embd,            1,                    0) \
    W(ffn_norm,       "blk.%d.ffn_norm.weight",            n_embd,            1,                    0) \
    W(w_gate,         "blk.%d.ffn_gate.weight",            n_embd,            n_ff,                 0) \
    W(w_up,           "blk.%d.ffn_up.weight",              n_embd,            n_ff,                 0) \
    W(w_down,         "blk.%d.ffn_down.weight",            n_ff,              n_embd,               0) \
    W(post_ffn_norm,  "blk.%d.post_ffw_norm.weight",       n_embd,            1,                    0)

#define GEMMA3_HEAD(OP)                                                               \
    OP(embedding, x,      tokens, token_embd, _)                                      \
    OP(scale,     x,      x,      embd_scale, _)

#define GEMMA3_BLOCK(OP)                                                              \
    OP(rmsnorm,   h,      x,      attn_norm,      _)                                  \
    OP(matmul,    q,      h,      wq,             _)                                  \
    OP(matmul,    k,      h,      wk,             _)                                  \
    OP(matmul,    v,      h,      wv,             _)                                  \
    OP(rmsnorm_heads, q,  q,      attn_q_norm,    _)                                  \
    OP(rmsnorm_heads, k,  k,      attn_k_norm,    _)                                  \
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

#define GEMMA3_FOOT(OP)                                                               \
    OP(rmsnorm,   h,      x,      output_norm, _)                                     \
    OP(matmul,    logits, h,      output,      _)
