/* models/gpt2.h — GPT-2 (GGUF architecture "gpt2"): learned positions, LayerNorm with biases,
   one fused QKV projection, tanh GELU, output tied to the token embedding unless the file
   has output.weight. Grammar: see models/llama.h. */
#define GPT2_ARCH "gpt2"

#define GPT2_HPARAMS(H)                                                               \
    H(n_embd,     "%s.embedding_length",                REQUIRED)                     \
    H(n_layer,    "%s.block_count",                     REQUIRED)                     \
    H(n_ff,       "%s.feed_forward_length",             REQUIRED)                     \
    H(n_head,     "%s.attention.head_count",            REQUIRED)                     \
    H(n_head_kv,  "",                                   n_head)                       \
    H(head_dim,   "",                                   n_embd / n_head)              \
    H(n_rot,      "",                                   0)                            \
    H(norm_eps,   "%s.attention.layer_norm_epsilon",    1e-5)                         \
    H(n_ctx,      "%s.context_length",                  REQUIRED)                     \
    H(n_vocab,    "",                                   FROM_WEIGHTS)                 \
    H(rope_neox,  "",                                   0)                            \
    H(attn_scale, "",                                   1 / sqrt(head_dim))

#define GPT2_LAYER_PARAMS(L) /* none */

#define GPT2_GLOBALS(W)                                                               \
    W(token_embd,    "token_embd.weight",     n_embd, n_vocab, 0)                     \
    W(position_embd, "position_embd.weight",  n_embd, n_ctx,   0)                     \
    W(output_norm,   "output_norm.weight",    n_embd, 1,       0)                     \
    W(output_norm_b, "output_norm.bias",      n_embd, 1,       0)                     \
    W(output,        "output.weight",         n_embd, n_vocab, TIED(token_embd))

#define GPT2_LAYER(W)                                                                 \
    W(attn_norm,     "blk.%d.attn_norm.weight",   n_embd,     1,          0)         \
    W(attn_norm_b,   "blk.%d.attn_norm.bias",     n_embd,     1,          0)         \
    W(attn_qkv,      "blk.%d.attn_qkv.weight",    n_embd,     3 * n_embd, 0)         \
    W(attn_qkv_b,    "blk.%d.attn_qkv.bias",      3 * n_embd, 1,          0)         \
    W(attn_output,   "blk.%d.attn_output.weight", n_embd,     n_embd,     0)         \
    W(attn_output_b, "blk.%d.attn_output.bias",   n_embd,     1,          0)         \
    W(ffn_norm,      "blk.%d.ffn_norm.weight",    n_embd,     1,          0)         \
    W(ffn_norm_b,    "blk.%d.ffn_norm.bias",      n_embd,     1,          0)         \
    W(ffn_up,        "blk.%d.ffn_up.weight",      n_embd,     n_ff,       0)         \
    W(ffn_up_b,      "blk.%d.ffn_up.bias",        n_ff,       1,          0)         \
    W(ffn_down,      "blk.%d.ffn_down.weight",    n_ff,       n_embd,     0)         \
    W(ffn_down_b,    "blk.%d.ffn_down.bias",      n_embd,     1,          0)

#define GPT2_HEAD(OP)                                                                 \
    OP(embedding, x,      tokens, token_embd,  position_embd)

#define GPT2_BLOCK(OP)                                                                \
    OP(layernorm, h,      x,      attn_norm,   attn_norm_b)                           \
    OP(matmul,    qkv,    h,      attn_qkv,    attn_qkv_b)                            \
    OP(view,      q,      qkv,    0,           n_embd)                                \
    OP(view,      k,      qkv,    n_embd,      n_embd)                                \
    OP(view,      v,      qkv,    2 * n_embd,  n_embd)                                \
    OP(attention, att,    q,      k,           v)                                     \
    OP(matmul,    o,      att,    attn_output, attn_output_b)                         \
    OP(add,       x,      x,      o,           _)                                     \
    OP(layernorm, h,      x,      ffn_norm,    ffn_norm_b)                            \
    OP(matmul,    up,     h,      ffn_up,      ffn_up_b)                              \
    OP(gelu,      mlp,    up,     _,           _)                                     \
    OP(matmul,    down,   mlp,    ffn_down,    ffn_down_b)                            \
    OP(add,       x,      x,      down,        _)

#define GPT2_FOOT(OP)                                                                 \
    OP(layernorm, h,      x,      output_norm, output_norm_b)                         \
    OP(matmul,    logits, h,      output,      _)
