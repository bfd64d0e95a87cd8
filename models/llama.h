/* models/llama.h — Llama 2/3, SmolLM, TinyLlama, Mistral (GGUF architecture "llama"). Mistral
   7B v0.1's sliding window (`llama.attention.sliding_window`, as HF's MistralAttention) is
   honoured when the file has it.
   A model is data: hyperparameters, weights and the ops of the head, the repeated block and
   the foot, as X-macro lists that ckgen (ckernel_gen.h) compiles into its tables.

   HPARAMS(H):  H(name, GGUF key ("%s" = architecture), default)
                default: an expression of earlier names, REQUIRED (the file must have it), or
                FROM_WEIGHTS (bound from the shape of the first weight that uses the name).
                A key holding an array binds one value per layer (read in LAYER_PARAMS).
                Names ckgen relies on (checked when the declaration is bound, naming what is
                missing): every model n_layer, n_head_kv, head_dim, n_ctx; rmsnorm and
                layernorm norm_eps; rmsnorm_heads head_dim; rope n_rot, rope_neox (0: pairs
                (2i, 2i+1), 1: (i, i + n_rot/2)); attention n_head, attn_scale; optional
                attn_softcap (attention logit soft-capping, 0 = none).
   LAYER_PARAMS(L): L(name, expression of hparams, earlier layer params and il, the layer
                index): per-layer values. ckgen reads `window` (sliding-window attention,
                0 = full causal) and `rope_base` (this layer's rope frequency base; default the
                hyperparameter rope_base).
   OPS: see CK_OPS in ckernel_gen.h (embedding, matmul, rmsnorm, rmsnorm_heads, layernorm,
                gelu, swiglu, geglu, rope, attention, add, scale, view).
   GLOBALS(W) / LAYER(W):  W(name, GGUF tensor name ("%d" = layer), ne0, ne1, flags)
                ne0 is the contiguous row length (GGUF order): a linear layer's weight is
                [out=ne1][in=ne0]. flags: 0, OPTIONAL (absent -> NULL), TIED(other) (absent -> other).
   HEAD(OP) / BLOCK(OP) / FOOT(OP):  OP(op, out, a, b, c) — unused slots are _.
                Names are weights, hparams, earlier outputs, or the inputs `tokens`; the
                residual stream may be updated in place (x = x + o): ckgen renames every
                assignment, so the backward pass sees each value it needs. */
#define LLAMA_ARCH "llama"

#define LLAMA_HPARAMS(H)                                                              \
    H(n_embd,     "%s.embedding_length",                REQUIRED)                     \
    H(n_layer,    "%s.block_count",                     REQUIRED)                     \
    H(n_ff,       "%s.feed_forward_length",             REQUIRED)                     \
    H(n_head,     "%s.attention.head_count",            REQUIRED)                     \
    H(n_head_kv,  "%s.attention.head_count_kv",         n_head)                       \
    H(head_dim,   "%s.attention.key_length",            n_embd / n_head)              \
    H(n_rot,      "%s.rope.dimension_count",            head_dim)                     \
    H(rope_base,  "%s.rope.freq_base",                  10000)                        \
    H(norm_eps,   "%s.attention.layer_norm_rms_epsilon", 1e-5)                        \
    H(n_ctx,      "%s.context_length",                  2048)                         \
    H(n_vocab,    "%s.vocab_size",                      FROM_WEIGHTS)                 \
    H(rope_scaling, "",                                 1) /* the file's rope scaling, as llama.cpp */ \
    H(sliding_window, "%s.attention.sliding_window",    0)                            \
    H(rope_neox,  "",                                   0)                            \
    H(attn_scale, "",                                   1 / sqrt(head_dim))

#define LLAMA_LAYER_PARAMS(L)                                                         \
    L(window,     sliding_window)

#define LLAMA_GLOBALS(W)                                                              \
    W(token_embd,  "token_embd.weight",       n_embd, n_vocab, 0)                     \
    W(output_norm, "output_norm.weight",      n_embd, 1,       0)                     \
    W(output,      "output.weight",           n_embd, n_vocab, TIED(token_embd))

#define LLAMA_LAYER(W)                                                                \
    W(attn_norm,   "blk.%d.attn_norm.weight",   n_embd,              1,                   0) \
    W(wq,          "blk.%d.attn_q.weight",      n_embd,              n_head * head_dim,   0) \
    W(wk,          "blk.%d.attn_k.weight",      n_embd,              n_head_kv * head_dim, 0) \
    W(wv,          "blk.%d.attn_v.weight",      n_embd,              n_head_kv * head_dim, 0) \
    W(wo,          "blk.%d.attn_output.weight", n_head * head_dim,   n_embd,              0) \
    W(ffn_norm,    "blk.%d.ffn_norm.weight",    n_embd,              1,                   0) \
    W(w_gate,      "blk.%d.ffn_gate.weight",    n_embd,              n_ff,                0) \
    W(w_up,        "blk.%d.ffn_up.weight",      n_embd,              n_ff,                0) \
    W(w_down,      "blk.%d.ffn_down.weight",    n_ff,                n_embd,              0)

#define LLAMA_HEAD(OP)                                                                \
    OP(embedding, x,      tokens, token_embd, _)

#define LLAMA_BLOCK(OP)                                                               \
    OP(rmsnorm,   h,      x,      attn_norm,  _)                                      \
    OP(matmul,    q,      h,      wq,         _)                                      \
    OP(matmul,    k,      h,      wk,         _)                                      \
    OP(matmul,    v,      h,      wv,         _)                                      \
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

#define LLAMA_FOOT(OP)                                                                \
    OP(rmsnorm,   h,      x,      output_norm, _)                                     \
    OP(matmul,    logits, h,      output,     _)
