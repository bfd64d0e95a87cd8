/* ckernel_gen.h — the model DSL and (later) the generator that turns a model declaration
   plus hyperparameters into plain C.

   STATUS
     This version holds the op table only. The generator program (`CK_GEN_MAIN`: bind, lower,
     backward, plan, emit), the model declarations in models/ and layout.json /
     weights.bump arrive with the generator issue. Nothing here is used by ckernel.h.

   HOW IT WILL BE USED
     cc -DCK_GEN_MAIN -x c ckernel_gen.h -o build/ckgen
     build/ckgen models/llama.h model.gguf -o build/<name>/

   THE OP TABLE
     CK_OPS(X) lists every op a model declaration may use, with the forward and backward
     kernels of ckernel.h it lowers to. Expand it with your own X to get an enum, a name
     table, or a switch (the LLVM .def-file pattern):
         #define X(op, fwd, bwd) CK_OP_##op,
         enum ck_op { CK_OPS(X) CK_OP_COUNT };
         #undef X
*/
#ifndef CKERNEL_GEN_H
#define CKERNEL_GEN_H

/*      op            forward kernel             backward kernel            */
#define CK_OPS(X)                                                            \
    X(embedding,      ck_embedding_forward,      ck_embedding_backward)      \
    X(matmul,         ck_matmul_forward,         ck_matmul_backward)         \
    X(rmsnorm,        ck_rmsnorm_forward,        ck_rmsnorm_backward)        \
    X(layernorm,      ck_layernorm_forward,      ck_layernorm_backward)      \
    X(gelu,           ck_gelu_forward,           ck_gelu_backward)           \
    X(gelu_erf,       ck_gelu_erf_forward,       ck_gelu_erf_backward)       \
    X(swiglu,         ck_swiglu_forward,         ck_swiglu_backward)         \
    X(geglu,          ck_geglu_forward,          ck_geglu_backward)          \
    X(softmax,        ck_softmax_forward,        ck_softmax_backward)        \
    X(rope,           ck_rope_forward,           ck_rope_backward)           \
    X(attention,      ck_attention_forward,      ck_attention_backward)      \
    X(cross_entropy,  ck_cross_entropy_forward,  ck_cross_entropy_backward)

#define CK__OP_ENUM(op, fwd, bwd) CK_OP_##op,
enum ck_op { CK_OPS(CK__OP_ENUM) CK_OP_COUNT };
#undef CK__OP_ENUM

#endif /* CKERNEL_GEN_H */
