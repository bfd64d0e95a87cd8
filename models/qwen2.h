/* models/qwen2.h — Qwen2 / Qwen2.5 (GGUF architecture "qwen2"): Llama's block with q/k/v biases and NeoX RoPE.
   Grammar: see models/llama.h. */
#define QWEN2_ARCH "qwen2"

#define QWEN2_HPARAMS(H)                                                              \
    H(n_embd,     "%s.embedding_length",                REQUIRED)                     \
    H(n_layer,    "%s.block_count",                     REQUIRED)                     \
    H(n_ff,       "%s.feed_forward_length",             REQUIRED)                     \
    H(n_head,     "%s.attention.head_count",            REQUIRED)                     \
    H(n_head_kv,  "%s.attention.head_count_kv",         n_head)                       \
    H(head_dim,   "%s.attention.key_length",            n_embd / n_head)              \
    H(n_rot,      "%s.rope.dimension_count",            head_dim)                     \
    H(rope_base,  "%s.rope.freq_base",                  1000000)                      \
    H(norm_eps,   "%s.attention.layer_norm_rms_epsilon", 1e-5)                        \
    H(n_ctx,      "%s.context_length",                  2048)                         \
    H(n_vocab,    "%s.vocab_size",                      FROM_WEIGHTS)                 \
    H(rope_scaling, "",                                 1) /* the file's rope scaling, as llama.cpp */ \
    H(rope_neox,  "",                                   1)                            \
    H(attn_scale, "",                                   1 / sqrt(head_dim))

#define QWEN2_LAYER_PARAMS(L) /* none */

#define QWEN2_GLOBALS(W)                                                              \
    W(token_embd,  "token_embd.weight",       n_embd, n_vocab, 0)                     \
    W(output_norm, "output_norm.weight",      n_embd, 1,       0)                     \
    W(output,      "output.weight",           n_embd, n_vocab, TIED(token_embd))

#define QWEN2_LAYER(W)                                                                \
    W(attn_norm,   "blk.%d.attn_norm.weight",   n_embd,              1,                   0) \
    W(wq,          "blk.%d.attn_q.weight",      n_embd,              n_head * head_dim,   0) \
    W(wk,          "blk.%d.attn_k.weight",      n_embd,              n_head_kv * head_dim, 0) \
    W(wv,          "blk.%d.attn_v.weight",      n_embd,              n_head_kv * head_dim, 0) \
    W(bq,          "blk.%d.attn_q.bias",        n_head * head_dim,   1,                   0) \
    W(bk,          "blk.%d.attn_k.bias",        n_head_kv * head_dim, 1,                  0) \
    W(bv,          "blk.%d.attn_v.bias",        n_head_kv * head_dim, 1,                  0) \
    W(wo,          "blk.%d.attn_output.weight", n_head * head_dim,   n_embd,              0) \
    W(ffn_norm,    "blk.%d.ffn_norm.weight",    n_embd,              1,                   0) \
    W(w_gate,      "blk.%d.ffn_gate.weight",    n_embd,              n_ff,                0) \
    W(w_up,        "blk.%d.ffn_up.weight",      n_embd,              n_ff,                0) \
    W(w_down,      "blk.%d.ffn_down.weight",    n_ff,                n_embd,              0)

#define QWEN2_HEAD(OP)                                                                \
    OP(embedding, x,      tokens, token_embd, _)

#define QWEN2_BLOCK(OP)                                                               \
    OP(rmsnorm,   h,      x,      attn_norm,  _)                                      \
    OP(matmul,    q,      h,      wq,         bq)                                     \
    OP(matmul,    k,      h,      wk,         bk)                                     \
    OP(matmul,    v,      h,      wv,         bv)                                     \
    OP(rope,      q,      q,      _,          _)                                      \
    OP(rope,      k,      k,      _,          _)                                      \
    OP(attention, att,    q,      k,          v)                                      \
    OP(matmul,    o,      att,    wo,         _)                                      \
    OP(add,       x,      x,      o,          _)                                      \
    OP(rmsnorm,   h,      x,      ffn_norm,   _)                                      \
    OP(matmul,    gate,   h,      w_gate,     _)                                      \
    OP(matmul,    up,     h,      w_up,       _)                                      \
    OP(swiglu,    mlp,    gate,   up,         _)                                      \
    OP(matmul,    down,   mlp,    w_down,     _)                                      \
    OP(add,       x,      x,      down,       _)

#define QWEN2_FOOT(OP)                                                                \
    OP(rmsnorm,   h,      x,      output_norm, _)                                     \
    OP(matmul,    logits, h,      output,     _)
