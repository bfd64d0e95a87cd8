/* ckernel.h — transformer kernels, forward and backward, for CPUs from servers to Cortex-M.
   Public domain-style single header (MIT licence at the end of the file).

   WHAT IT IS
     Every kernel a transformer language model needs to run and to train, each as a pair of
     plain C functions `ck_<op>_forward` / `ck_<op>_backward`, with a portable C99 scalar path
     that is the reference, and SIMD paths (AVX2+FMA today) tested against it. No allocation
     in any kernel, no dependency beyond libc and libm, no global state.

   HOW TO USE IT
     In exactly one C or C++ file:
         #define CK_IMPLEMENTATION
         #include "ckernel.h"
     Everywhere else, include it plainly for the declarations.

   OPTIONS (define before the #include that has CK_IMPLEMENTATION)
     CK_IMPLEMENTATION  Emit the function definitions in this translation unit.
     CK_NO_SIMD         Use only the portable scalar paths, even when the compiler targets
                        AVX2+FMA. (The scalar path of the SIMD kernels is always compiled and
                        callable as `ck_<op>_<dir>_scalar`, so tests can compare the two.)
     CK_NO_STDIO        Freestanding build: removes every use of stdio, stdlib allocation,
                        mmap and the file system (ck_gguf_open, the GGUF writer to a path,
                        ck_model_open from a path). What stays works on caller memory:
                        ck_gguf_parse over a buffer, every kernel, the sampler. (MCU builds.)
     CK_MALLOC(n), CK_REALLOC(p,n), CK_FREE(p)
                        The allocator of the host-side helpers (never called by a kernel);
                        default malloc/realloc/free.
     CK_CANARIES        Generated models write guard words between the sections of their
                        arena and check them after each phase (ck_canary_check).
     CK_ASSERT(x)       Internal consistency checks; default `assert(x)` from <assert.h>.
     CK_DEF             Linkage of every function; default `extern`. `#define CK_DEF static`
                        makes everything private to one translation unit.
     CK_QMATMUL_PATH    The path ck_matmul_forward_q takes: CK_Q_FAST (default; activations
                        quantized to 8 bits, integer dot products, as llama.cpp) or CK_Q_EXACT
                        (weights dequantized, fp32 dot products). ck_matmul_forward_qp takes
                        the path as an argument.
     CK_QSEG            Columns of C the quantized matmul handles per step (default 1024, a
                        multiple of 512); it bounds the kernels' stack: the exact path
                        dequantizes CK_QSEG values of one weight row (scalar, 4 KB) or 6 rows of
                        CK_QSEG/2 (AVX2, 12 KB); the fast path quantizes at most 8*CK_QSEG
                        activations (10 KB). Lower it for small stacks (Cortex-M).
     SIMD selection     At compile time from the compiler's own macros: __AVX2__ and __FMA__
                        (e.g. -mavx2 -mfma or -march=native) select the AVX2 paths; __F16C__
                        adds hardware fp16 conversion to them. __ARM_FEATURE_MVE with its
                        floating-point bit (e.g. -mcpu=cortex-m55) selects the Arm Helium paths
                        of the fp32 matmul and of the Q8_0/Q4_0 integer dot products.
     Threads            OpenMP pragmas sit on the outer loops; they are inert without -fopenmp.
                        Every output element is computed by exactly one thread in a fixed
                        order, so results are bit-identical for any thread count.
     Float contraction  The weight formats are bit-identical to ggml's reference code only if
                        each float operation is rounded as written. clang's default fusing of
                        a*b+c into an FMA is switched off inside those functions by a pragma;
                        gcc does not fuse in ISO mode (-std=c99, -std=c11) but does in its GNU
                        modes (its default -std=gnu17) on FMA targets: there, add
                        -ffp-contract=off. (-ffast-math voids every such promise.)

   CONVENTIONS (the contract)
     - Names: ck_<op>_<forward|backward>[_<dtype>]. Outputs first, then inputs, then sizes.
     - Row-major. A linear layer's weight is [out_features, in_features] (OC x C), as in GGUF
       and PyTorch. Head-major Q/K/V are [heads, T, head_size].
     - Backward kernels ACCUMULATE (+=) into every gradient they write. The one exception is
       ck_rope_backward, which rotates the gradient back in place.
     - Optional pointers (bias, wpe, their gradients, saved statistics) may be NULL.
     - Index arithmetic is size_t: T*V and OC*C may exceed 2^31.
     - Long reductions (norm statistics, softmax and cross-entropy sums) accumulate in double.
     - Quantized weights are GGUF tensors as they lie in the file: type ids, block layouts and
       row sizes are ggml's (section 5); a row of C values is ck_row_size(type, C) bytes.

   SECTIONS
     1. Configuration and declarations
     2. Implementation: helpers
     3. Embedding            ck_embedding_forward / _backward
     4. Matmul (linear)      ck_matmul_forward / _backward        scalar + AVX2 (+ Helium forward)
     5. Weight formats       GGUF types F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K..Q8_K:
                             ck_type_*, ck_row_size, ck_fp16/bf16 conversions,
                             ck_dequantize_row, ck_quantize_row (ggml's reference quantizers),
                             ck_matmul_forward_q / _qp            scalar + AVX2, exact and fast
                                                                  (+ Helium Q8_0/Q4_0 dot products)
     6. Normalisation        ck_rmsnorm_*, ck_layernorm_*
     7. Activations          ck_gelu_*, ck_gelu_erf_*, ck_swiglu_*, ck_geglu_*
     8. Softmax              ck_softmax_forward / _backward
     9. Rotary embedding     ck_rope_cache, ck_rope_forward / _backward
    10. Attention            ck_attention_forward / _backward     scalar + AVX2, flash-style
    11. Loss                 ck_cross_entropy_forward / _backward
    12. Optimiser            ck_adamw_update, ck_grad_norm
    13. GGUF files           ck_gguf_parse (caller memory) / ck_gguf_open (mmap), lookups by
                             key and tensor name, every check bounded by the file size;
                             ck_gguf_builder + ck_gguf_write_file (atomic: temp + rename)
    14. Model runtime        token-major RoPE/attention with KV cache, ck_model (weights from a
                             GGUF or a weights.bump, arena, canaries), sampler (temperature,
                             top-k, top-p)
*/
#ifndef CKERNEL_H
#define CKERNEL_H

/* ===================================================================================== */
/* 1. Configuration and declarations                                                     */
/* ===================================================================================== */

#include <stddef.h>
#include <stdint.h>

#define CK_VERSION_MAJOR 0
#define CK_VERSION_MINOR 1

#ifndef CK_DEF
#define CK_DEF extern
#endif

#if !defined(CK_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#define CK_HAVE_AVX2 1
#else
#define CK_HAVE_AVX2 0
#endif
/* Arm Helium: MVE with floating point (__ARM_FEATURE_MVE bit 1), e.g. -mcpu=cortex-m55 */
#if !defined(CK_NO_SIMD) && !CK_HAVE_AVX2 && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#define CK_HAVE_MVE 1
#else
#define CK_HAVE_MVE 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Which SIMD paths this build uses: "avx2+fma", "mve" (Arm Helium) or "scalar". */
CK_DEF const char *ck_simd_name(void);

/* ---- embedding ------------------------------------------------------------------------
   out[t,:] = wte[tokens[t],:] + wpe[pos0+t,:]          out [T,C], wte [V,C], wpe [maxT,C] or NULL */
CK_DEF void ck_embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int T, int C, int pos0);
CK_DEF void ck_embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int T, int C, int pos0);

/* ---- matmul: out = inp @ weight^T + bias -----------------------------------------------
   out [T,OC], inp [T,C], weight [OC,C], bias [OC] or NULL.
   backward: dinp [T,C] += dout @ weight; dweight [OC,C] += dout^T @ inp; dbias += sum_t dout.
   Any of dinp, dweight, dbias may be NULL (not wanted). */
CK_DEF void ck_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC);
CK_DEF void ck_matmul_forward_scalar(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_backward_scalar(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC);

/* ---- weight formats: GGUF / ggml tensor types ----------------------------------------------
   Type ids are GGUF's tensor type ids; names and block layouts are ggml's, byte for byte, so a
   tensor's bytes in a GGUF file are a valid `weight` here. Half floats are stored as uint16_t
   (IEEE binary16 bits); all multi-byte fields are little-endian (hosts are assumed to be).
   Every block struct has natural alignment 2 (Q8_K: 4); GGUF's 32-byte tensor alignment and
   the even row sizes keep every block of a tensor aligned, and the kernels assert it. */
enum ck_type {
    CK_F32 = 0, CK_F16 = 1, CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8, CK_Q8_1 = 9,
    CK_Q2_K = 10, CK_Q3_K = 11, CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14, CK_Q8_K = 15, CK_BF16 = 30
};
#define CK_QK   32   /* values per block of the legacy formats (Q4_0 .. Q8_1) */
#define CK_QK_K 256  /* values per super-block of the K-quants (Q2_K .. Q8_K) */

/* Q4_0, 4.5 bits/value: x = d * (q - 8), q in 0..15. qs[j] holds value j in its low nibble and
   value j + 16 in its high nibble. */
typedef struct { uint16_t d; uint8_t qs[CK_QK / 2]; } ck_block_q4_0;
/* Q4_1, 5 bits/value: x = d * q + m, q in 0..15, nibbles as Q4_0. */
typedef struct { uint16_t d, m; uint8_t qs[CK_QK / 2]; } ck_block_q4_1;
/* Q5_0, 5.5 bits/value: x = d * (q - 16), q in 0..31. The low 4 bits are nibbles as Q4_0; bit 4
   of value j is bit j of qh read as a little-endian uint32. */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[CK_QK / 2]; } ck_block_q5_0;
/* Q5_1, 6 bits/value: x = d * q + m, q in 0..31, bits as Q5_0. */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[CK_QK / 2]; } ck_block_q5_1;
/* Q8_0, 8.5 bits/value: x = d * q, q in -128..127 (the quantizer writes -127..127). */
typedef struct { uint16_t d; int8_t qs[CK_QK]; } ck_block_q8_0;
/* Q8_1, 9 bits/value: Q8_0 plus s = d * sum(q) (ggml's activation format for Q4_1 and Q5_1). */
typedef struct { uint16_t d, s; int8_t qs[CK_QK]; } ck_block_q8_1;
/* Q2_K, 2.625 bits/value: 16 sub-blocks of 16 values, q in 0..3,
   x = d * (scales[i/16] & 15) * q - dmin * (scales[i/16] >> 4).
   In each 128-value half h, byte qs[32h + l] holds values 128h + l + 32k in bits 2k..2k+1. */
typedef struct { uint8_t scales[CK_QK_K / 16]; uint8_t qs[CK_QK_K / 4]; uint16_t d, dmin; } ck_block_q2_K;
/* Q3_K, 3.4375 bits/value: 16 sub-blocks of 16, x = d * (s_j - 32) * (q - 4), q in 0..7.
   The low 2 bits of q are packed as Q2_K; bit 2 of value i is bit i/32 of hmask[i % 32].
   The 6-bit scale s_j: low 4 bits in scales[j % 8] (low nibble for j < 8, high for j >= 8),
   high 2 bits in bits 2(j/4)..2(j/4)+1 of scales[8 + j % 4]. */
typedef struct { uint8_t hmask[CK_QK_K / 8]; uint8_t qs[CK_QK_K / 4]; uint8_t scales[12]; uint16_t d; } ck_block_q3_K;
/* Q4_K, 4.5 bits/value: 8 sub-blocks of 32, x = d * sc_j * q - dmin * m_j, q in 0..15.
   6-bit sc_j, m_j in scales[12]: for j < 4, sc_j = scales[j] & 63, m_j = scales[j+4] & 63; for
   j >= 4, the low 4 bits are the nibbles of scales[j+4] (sc low, m high) and the high 2 bits
   are the top 2 bits of scales[j-4] (sc) and scales[j] (m).
   In each 64-value chunk c, qs[32c + l] holds value 64c + l (low nibble) and 64c + 32 + l (high). */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[CK_QK_K / 2]; } ck_block_q4_K;
/* Q5_K, 5.5 bits/value: Q4_K with q in 0..31; bit 4 of value 64c + l is bit 2c of qh[l], of
   value 64c + 32 + l bit 2c + 1 of qh[l]. */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[CK_QK_K / 8]; uint8_t qs[CK_QK_K / 2]; } ck_block_q5_K;
/* Q6_K, 6.5625 bits/value: 16 sub-blocks of 16, x = d * scales[i/16] * (q - 32), q in 0..63.
   In each 128-value half h: ql[64h + l] holds values 128h + l (low nibble) and 128h + 64 + l
   (high), ql[64h + 32 + l] values 128h + 32 + l and 128h + 96 + l; qh[32h + l] holds the top
   2 bits of values 128h + l + 32k in bits 2k..2k+1. */
typedef struct { uint8_t ql[CK_QK_K / 2]; uint8_t qh[CK_QK_K / 4]; int8_t scales[CK_QK_K / 16]; uint16_t d; } ck_block_q6_K;
/* Q8_K, 9.125 bits/value, ggml's activation format for the K-quants: x = d * q (d is fp32),
   bsums[g] = sum of the 16 quants of group g. */
typedef struct { float d; int8_t qs[CK_QK_K]; int16_t bsums[CK_QK_K / 16]; } ck_block_q8_K;

/* C99 has no _Static_assert: an array of size -1 fails to compile. */
typedef char ck__assert_q4_0[sizeof(ck_block_q4_0) == 18 ? 1 : -1];
typedef char ck__assert_q4_1[sizeof(ck_block_q4_1) == 20 ? 1 : -1];
typedef char ck__assert_q5_0[sizeof(ck_block_q5_0) == 22 ? 1 : -1];
typedef char ck__assert_q5_1[sizeof(ck_block_q5_1) == 24 ? 1 : -1];
typedef char ck__assert_q8_0[sizeof(ck_block_q8_0) == 34 ? 1 : -1];
typedef char ck__assert_q8_1[sizeof(ck_block_q8_1) == 36 ? 1 : -1];
typedef char ck__assert_q2_K[sizeof(ck_block_q2_K) == 84 ? 1 : -1];
typedef char ck__assert_q3_K[sizeof(ck_block_q3_K) == 110 ? 1 : -1];
typedef char ck__assert_q4_K[sizeof(ck_block_q4_K) == 144 ? 1 : -1];
typedef char ck__assert_q5_K[sizeof(ck_block_q5_K) == 176 ? 1 : -1];
typedef char ck__assert_q6_K[sizeof(ck_block_q6_K) == 210 ? 1 : -1];
typedef char ck__assert_q8_K[sizeof(ck_block_q8_K) == 292 ? 1 : -1];

CK_DEF const char *ck_type_name(int type);          /* ggml's name: "f32", "q4_0", "q4_K", "bf16"; NULL if unknown */
CK_DEF int     ck_type_from_name(const char *name); /* case-insensitive; -1 if unknown */
CK_DEF int64_t ck_type_block_size(int type);        /* values per block: 1 (f32, f16, bf16), 32 or 256; 0 if unknown */
CK_DEF size_t  ck_type_block_bytes(int type);       /* bytes per block; 0 if unknown */
CK_DEF size_t  ck_row_size(int type, int64_t n);    /* bytes of n values; 0 if unknown or n is not a multiple of the block size */

/* IEEE binary16 and bfloat16, bit-exact with ggml (and F16C): round to nearest even, subnormals
   kept, overflow to inf. A NaN becomes sign|0x7E00 (fp16, as ggml's portable conversion) or
   keeps its top bits with the quiet bit set (bf16); fp16 -> fp32 quiets a signalling NaN. */
CK_DEF float    ck_fp16_to_fp32(uint16_t h);
CK_DEF uint16_t ck_fp32_to_fp16(float f);
CK_DEF float    ck_bf16_to_fp32(uint16_t h);
CK_DEF uint16_t ck_fp32_to_bf16(float f);

/* n values (a multiple of the block size) from src in `type` to floats; bit-identical to ggml's
   dequantize_row_*. _scalar is the portable path (the public one uses AVX2 where it has one). */
CK_DEF void   ck_dequantize_row(int type, const void *src, float *dst, int64_t n);
CK_DEF void   ck_dequantize_row_scalar(int type, const void *src, float *dst, int64_t n);
/* n floats (a multiple of the block size) to `type` with ggml's reference quantizer
   (quantize_row_*_ref, no importance matrix). Returns the bytes written, 0 if `type` is unknown
   or n is not a multiple of the block size. */
CK_DEF size_t ck_quantize_row(int type, const float *src, void *dst, int64_t n);

/* ---- quantized matmul: out [T,OC] = inp [T,C] @ dequant(weight)^T + bias ------------------
   weight is OC rows of ck_row_size(type, C) bytes (row-major [OC, C], as in GGUF); C must be a
   multiple of the type's block size. bias [OC] or NULL. Every type above except Q8_K works.
   CK_Q_EXACT: dequantize each weight-row segment once, fp32 dot products (FMA) with every row.
   CK_Q_FAST:  as llama.cpp: quantize inp to Q8_0-like blocks (legacy types; fp32 scales) or
               Q8_K (K-quants) and take integer dot products. Types without an integer kernel
               (F32, F16, BF16, Q2_K, Q3_K, Q8_1) take the exact path. */
#define CK_Q_EXACT 0
#define CK_Q_FAST  1
#ifndef CK_QMATMUL_PATH
#define CK_QMATMUL_PATH CK_Q_FAST
#endif
CK_DEF void ck_matmul_forward_q(int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_forward_qp(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_forward_qp_scalar(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);

/* ---- normalisation ---------------------------------------------------------------------
   rmsnorm:   out = x * w / sqrt(mean(x^2) + eps);          rstd [T] (or NULL) = 1/sqrt(mean(x^2)+eps)
   layernorm: out = (x - mean) * rstd * w + b, biased var;  mean, rstd [T] (or NULL); bias may be NULL */
CK_DEF void ck_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int T, int C, float eps);
CK_DEF void ck_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight, const float *rstd, int T, int C);
CK_DEF void ck_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias, int T, int C, float eps);
CK_DEF void ck_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const float *mean, const float *rstd, int T, int C);

/* ---- activations (elementwise over N values) ------------------------------------------- */
CK_DEF void ck_gelu_forward(float *out, const float *inp, int N);          /* tanh approximation */
CK_DEF void ck_gelu_backward(float *dinp, const float *dout, const float *inp, int N);
CK_DEF void ck_gelu_erf_forward(float *out, const float *inp, int N);      /* exact, with erf */
CK_DEF void ck_gelu_erf_backward(float *dinp, const float *dout, const float *inp, int N);
CK_DEF void ck_swiglu_forward(float *out, const float *gate, const float *up, int N);   /* silu(gate)*up */
CK_DEF void ck_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, int N);
CK_DEF void ck_geglu_forward(float *out, const float *gate, const float *up, int N);    /* gelu_tanh(gate)*up */
CK_DEF void ck_geglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, int N);

/* ---- softmax over the last dimension of [rows, cols] ----------------------------------- */
CK_DEF void ck_softmax_forward(float *out, const float *inp, int rows, int cols);
CK_DEF void ck_softmax_backward(float *dinp, const float *dout, const float *out, int rows, int cols);

/* ---- rotary position embedding ----------------------------------------------------------
   cos_sin [max_T, n_rot/2, 2] holds (cos, sin) of pos * theta^(-2i/n_rot), computed in double.
   forward rotates x [NH,T,HS] in place; row t has position pos0+t; dims >= n_rot pass through.
   neox = 0 rotates the pairs (2i, 2i+1) (GPT-J / llama.cpp "normal"), neox = 1 the pairs
   (i, i + n_rot/2) (GPT-NeoX, Qwen, Gemma). backward rotates dx back in place (no accumulate). */
CK_DEF void ck_rope_cache(float *cos_sin, int max_T, int n_rot, float theta);
CK_DEF void ck_rope_forward(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox);
CK_DEF void ck_rope_backward(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox);

/* ---- causal self-attention, flash-style ---------------------------------------------------
   q, out [NH,T,HS]; k, v [NKV,Tk,HS]; lse [NH,T] (or NULL in forward).
   Query t (position pos0+t) sees keys j <= pos0+t; window > 0 also requires j > pos0+t-window
   (window = 1 sees only itself). GQA: head h uses kv head h / (NH/NKV). scores = scale * q.k.
   lse is the natural log-sum-exp of each row's scaled visible scores; the backward pass
   recomputes probabilities from it, so no [T,Tk] buffer exists in either direction.
   A row that sees no key gets out = 0 and lse = -inf. */
CK_DEF void ck_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                 int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);
CK_DEF void ck_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                  const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);
CK_DEF void ck_attention_forward_scalar(float *out, float *lse, const float *q, const float *k, const float *v,
                                        int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);
CK_DEF void ck_attention_backward_scalar(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                         const float *q, const float *k, const float *v,
                                         int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);

/* ---- cross-entropy over [T, V] logits ----------------------------------------------------
   forward: losses [T] (0 for rows whose target == ignore_index), probs [T,V] = softmax (or
   NULL); returns the mean loss over the rows that are not ignored (0 if all are).
   backward: dlogits += (probs - onehot(target)) * dloss / count over rows not ignored.
   Targets must be in [0, V) or equal ignore_index. */
CK_DEF float ck_cross_entropy_forward(float *losses, float *probs, const float *logits, const int32_t *targets, int T, int V, int ignore_index);
CK_DEF void  ck_cross_entropy_backward(float *dlogits, const float *probs, const int32_t *targets, int T, int V, int ignore_index, float dloss);

/* ---- optimiser ----------------------------------------------------------------------------
   AdamW exactly as torch.optim.AdamW: decoupled decay on the pre-update parameter, bias
   correction, eps added after the square root; step counts from 1. */
CK_DEF void  ck_adamw_update(float *param, const float *grad, float *m, float *v, size_t n, float lr,
                             float beta1, float beta2, float eps, float weight_decay, int step);
CK_DEF float ck_grad_norm(const float *grad, size_t n);   /* L2 norm, accumulated in double */

#if CK_HAVE_AVX2
CK_DEF void ck_matmul_forward_avx2(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_backward_avx2(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC);
CK_DEF void ck_matmul_forward_qp_avx2(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_attention_forward_avx2(float *out, float *lse, const float *q, const float *k, const float *v,
                                      int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);
CK_DEF void ck_attention_backward_avx2(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                       const float *q, const float *k, const float *v,
                                       int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);
#endif
#if CK_HAVE_MVE
CK_DEF void ck_matmul_forward_mve(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_forward_qp_mve(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
#endif

/* ---- GGUF files ---------------------------------------------------------------------------
   Reader: ck_gguf_parse() indexes a GGUF v2/v3 file that is already in memory (mmapped, in
   flash, or read into a buffer) without copying it; the caller gives the memory for the index
   (ck_gguf_index_bytes() says how much). Every length, count, offset and dimension is checked
   against the file size with overflow-safe arithmetic; on error it returns -1 and g->error
   names the field, its value and its file offset. ck_gguf_open() (host builds) mmaps a path
   and allocates the index itself; ck_gguf_close() releases both.
   Strings in GGUF are not NUL-terminated: every name comes with its length.
   Writer: a builder collects key/values and tensors, then writes a file with every tensor
   at an aligned offset; ck_gguf_write_file() writes to PATH.tmp and renames it, so a crash
   never leaves a partial file under the real name. */
#define CK_GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define CK_GGUF_DEFAULT_ALIGNMENT 32
#define CK_GGUF_MAX_DIMS 4
enum ck_gguf_vtype {
    CK_GGUF_U8 = 0, CK_GGUF_I8 = 1, CK_GGUF_U16 = 2, CK_GGUF_I16 = 3, CK_GGUF_U32 = 4, CK_GGUF_I32 = 5,
    CK_GGUF_F32 = 6, CK_GGUF_BOOL = 7, CK_GGUF_STR = 8, CK_GGUF_ARR = 9, CK_GGUF_U64 = 10, CK_GGUF_I64 = 11,
    CK_GGUF_F64 = 12, CK_GGUF_VTYPE_COUNT = 13
};

typedef struct {
    const char *key;          /* not NUL-terminated */
    uint64_t key_len;
    uint32_t type;            /* enum ck_gguf_vtype */
    uint32_t arr_type;        /* element type, when type == CK_GGUF_ARR */
    uint64_t arr_n;           /* element count, when type == CK_GGUF_ARR */
    const uint8_t *value;     /* the value's bytes in the file (arrays: the first element) */
    uint64_t value_bytes;
    uint64_t file_offset;     /* where this entry (its key) starts in the file */
    uint64_t entry_bytes;     /* key + type + value, as stored: a raw copy of the entry */
} ck_gguf_kv;

typedef struct {
    const char *name;         /* not NUL-terminated */
    uint64_t name_len;
    uint32_t n_dims;
    uint32_t type;            /* enum ck_type (GGUF's tensor type ids) */
    int64_t ne[CK_GGUF_MAX_DIMS]; /* ne[0] is the contiguous row length; unused dims are 1 */
    uint64_t offset;          /* relative to the data section */
    const void *data;         /* file + data_offset + offset */
    uint64_t n_elements, n_bytes;
} ck_gguf_tensor;

typedef struct {
    const uint8_t *file;      /* the whole file */
    size_t size;
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors, data_offset;
    ck_gguf_kv *kv;
    ck_gguf_tensor *tensors;
    uint32_t *kv_hash, *tensor_hash; /* open addressing: index + 1, 0 = empty */
    uint32_t kv_mask, tensor_mask;
    char error[256];
    void *owned_index, *owned_file; /* set by ck_gguf_open */
    size_t owned_file_size;
    int owned_is_mapped;
} ck_gguf;

typedef struct { const uint8_t *p; uint64_t left; } ck_gguf_iter;

CK_DEF size_t ck_gguf_index_bytes(const void *file, size_t size);   /* 0: not a readable header */
CK_DEF int  ck_gguf_parse(ck_gguf *g, const void *file, size_t size, void *index, size_t index_bytes);
CK_DEF int64_t ck_gguf_find_kv(const ck_gguf *g, const char *key);  /* index or -1 */
CK_DEF const ck_gguf_tensor *ck_gguf_find_tensor(const ck_gguf *g, const char *name);
CK_DEF int  ck_gguf_get_int(const ck_gguf *g, const char *key, int64_t *v);     /* any integer or bool; 1 = found */
CK_DEF int  ck_gguf_get_float(const ck_gguf *g, const char *key, double *v);    /* f32, f64 or any integer */
CK_DEF int  ck_gguf_get_str(const ck_gguf *g, const char *key, const char **s, uint64_t *len);
CK_DEF int  ck_gguf_get_arr(const ck_gguf *g, const char *key, uint32_t *elem_type, uint64_t *n, const ck_gguf_kv **kv);
CK_DEF int  ck_gguf_arr_int(const ck_gguf_kv *kv, uint64_t i, int64_t *v);      /* element i of a numeric array */
CK_DEF int  ck_gguf_arr_float(const ck_gguf_kv *kv, uint64_t i, double *v);
CK_DEF void ck_gguf_iter_init(ck_gguf_iter *it, const ck_gguf_kv *kv);          /* strings of a string array, in order */
CK_DEF int  ck_gguf_iter_str(ck_gguf_iter *it, const char **s, uint64_t *len);  /* 1 while there is one */
CK_DEF const char *ck_gguf_vtype_name(uint32_t vtype);                          /* "u8", ..., "str", "arr"; "?" */
CK_DEF size_t ck_gguf_vtype_size(uint32_t vtype);                               /* fixed-size types; 0 for str/arr */

#ifndef CK_NO_STDIO
CK_DEF int  ck_gguf_open(ck_gguf *g, const char *path);   /* mmap + index; 0 ok, -1 with g->error */
CK_DEF void ck_gguf_close(ck_gguf *g);

typedef struct {
    char *name; uint64_t name_len; uint32_t n_dims, type; int64_t ne[CK_GGUF_MAX_DIMS];
    const void *data; uint64_t n_bytes, offset;
} ck_gguf_wtensor;
typedef struct {
    uint8_t *kv_buf; size_t kv_len, kv_cap; uint64_t n_kv;  /* the serialised key/value section */
    ck_gguf_wtensor *t; uint64_t n_t, t_cap;
    uint32_t alignment;
    int failed;
    char error[256];
} ck_gguf_builder;
typedef size_t (*ck_write_fn)(void *ctx, const void *p, size_t n);

CK_DEF void ck_gguf_builder_init(ck_gguf_builder *b);
CK_DEF void ck_gguf_builder_free(ck_gguf_builder *b);
CK_DEF int  ck_gguf_add_scalar(ck_gguf_builder *b, const char *key, uint32_t vtype, const void *value); /* value: host number of that type (bool: uint8_t) */
CK_DEF int  ck_gguf_add_u32(ck_gguf_builder *b, const char *key, uint32_t v);
CK_DEF int  ck_gguf_add_i32(ck_gguf_builder *b, const char *key, int32_t v);
CK_DEF int  ck_gguf_add_f32(ck_gguf_builder *b, const char *key, float v);
CK_DEF int  ck_gguf_add_bool(ck_gguf_builder *b, const char *key, int v);
CK_DEF int  ck_gguf_add_str(ck_gguf_builder *b, const char *key, const char *s);
CK_DEF int  ck_gguf_add_arr(ck_gguf_builder *b, const char *key, uint32_t elem_vtype, uint64_t n, const void *elems);
CK_DEF int  ck_gguf_add_arr_str(ck_gguf_builder *b, const char *key, uint64_t n, const char *const *strs);
CK_DEF int  ck_gguf_add_kv_copy(ck_gguf_builder *b, const ck_gguf *g, uint64_t i);   /* entry i of a reader, verbatim */
CK_DEF int  ck_gguf_add_tensor(ck_gguf_builder *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, const void *data);
CK_DEF uint64_t ck_gguf_builder_size(const ck_gguf_builder *b);        /* bytes ck_gguf_write will produce */
CK_DEF int  ck_gguf_write(ck_gguf_builder *b, ck_write_fn write, void *ctx);
CK_DEF int  ck_gguf_write_file(ck_gguf_builder *b, const char *path); /* PATH.tmp, then rename */
#endif

/* ---- kernels the generated models use ------------------------------------------------------
   Token-major ("_tm") attention and rope work on activations as the matmuls produce them:
   row t of q holds every head, head h at columns [h*HS, (h+1)*HS), rows ldq floats apart
   (likewise k/v with ldkv, out with ldo). So a fused QKV output or a KV cache is used in place. */
CK_DEF void ck_embedding_forward_q(int type, float *out, const int32_t *tokens, const void *wte, const float *wpe, int T, int C, int pos0);
CK_DEF void ck_copy_rows(float *dst, size_t ld_dst, const float *src, size_t ld_src, int rows, int cols);
CK_DEF void ck_add_forward(float *out, const float *a, const float *b, size_t n);           /* out = a + b (may alias) */
CK_DEF void ck_add_backward(float *da, float *db, const float *dout, size_t n);             /* da += dout; db += dout */
CK_DEF void ck_scale_forward(float *out, const float *a, float s, size_t n);                /* out = a * s (may alias) */
CK_DEF void ck_scale_backward(float *da, const float *dout, float s, size_t n);             /* da += dout * s */
CK_DEF void ck_rope_forward_tm(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, size_t ld);
CK_DEF void ck_rope_backward_tm(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, size_t ld);
CK_DEF void ck_attention_forward_tm(float *out, float *lse, const float *q, const float *k, const float *v,
                                    int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale,
                                    size_t ldq, size_t ldkv, size_t ldo);
CK_DEF void ck_attention_backward_tm(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                     const float *q, const float *k, const float *v,
                                     int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale,
                                     size_t ldq, size_t ldkv, size_t ldo);

/* ---- the model runtime: one arena, two regions ----------------------------------------------
   weights: read-only bytes laid out by ckgen (the GGUF data section, or weights.bump after its
   header, or a const array in flash). state: rope caches, KV cache, activations, logits, at
   offsets ckgen computed; CK_CANARIES builds put 64 guard bytes after every section. */
typedef struct { uint64_t off; int32_t type; } ck_wref;            /* a weight: offset and type */
#define CK_WREF_NONE UINT64_MAX                                   /* an absent optional weight */
typedef struct { const char *name; int32_t type; int64_t ne0, ne1; uint64_t off, bytes; } ck_weight_info;
typedef struct { const char *name; uint64_t off, bytes; } ck_section_info;
typedef struct {
    const uint8_t *weights;
    uint8_t *state;
    uint64_t weights_bytes, state_bytes;
    void *owned_state;          /* allocated by ck_model_open when no state buffer was given */
    void *bump_map;             /* a mapped weights.bump */
    size_t bump_size;
#ifndef CK_NO_STDIO
    ck_gguf gguf;               /* an opened GGUF, when the weights come from one */
#endif
    char error[320];
} ck_model;
#define CK_F(m, off)  ((float *)(void *)((m)->state + (off)))
#define CK_WP(m, off) ((const void *)((m)->weights + (off)))
#define CK_WF(m, off) ((const float *)(const void *)((m)->weights + (off)))
#define CK_WREF(m, r)   ((r).off == CK_WREF_NONE ? NULL : CK_WP(m, (r).off))
#define CK_WREF_F(m, r) ((const float *)CK_WREF(m, r))

#define CK_BUMP_MAGIC "CKWB"
#define CK_BUMP_VERSION 1
#define CK_BUMP_HEADER_BYTES 64   /* magic, version, layout hash, weights bytes; zero padded */
CK_DEF uint64_t ck_layout_hash(const ck_weight_info *w, int n);    /* FNV-1a over every field */
CK_DEF int  ck_canary_write(uint8_t *state, const ck_section_info *s, int n);
CK_DEF int  ck_canary_check(const uint8_t *state, const ck_section_info *s, int n); /* first bad section, or -1 */
/* Check that GGUF tensors match what a layout expects (name, type, shape, offset); 0 or -1 with err. */
CK_DEF int  ck_weights_check_gguf(const ck_gguf *g, const ck_weight_info *w, int n, char *err, size_t errlen);
#ifndef CK_NO_STDIO
CK_DEF int  ck_bump_write(const char *path, const void *weights, uint64_t bytes, uint64_t layout_hash);
/* Open weights (a .gguf, checked tensor by tensor, or a weights.bump, checked by hash) and set up
   the state region (state = NULL: allocated here). 0, or -1 with m->error naming the problem. */
CK_DEF int  ck_model_open(ck_model *m, const char *path, const ck_weight_info *w, int n, uint64_t layout_hash,
                          uint64_t weights_bytes, void *state, uint64_t state_bytes);
CK_DEF void ck_model_close(ck_model *m);
#endif

/* ---- sampler -------------------------------------------------------------------------------
   temp <= 0: greedy (argmax, lowest id on ties). Otherwise softmax(logits / temp), keep the top_k
   (0 = all), then the smallest prefix whose probability reaches top_p (1 = all), and draw.
   scratch: n entries; rng: any nonzero state (xorshift64*), advanced by each draw. */
typedef struct { float p; int32_t id; } ck_prob_id;
CK_DEF int32_t ck_sample(const float *logits, int n, float temp, int top_k, float top_p, uint64_t *rng, ck_prob_id *scratch);
CK_DEF int32_t ck_argmax(const float *x, int n);
CK_DEF float   ck_rand_f32(uint64_t *rng);   /* uniform in [0, 1) */

#ifdef __cplusplus
}
#endif
#endif /* CKERNEL_H */

/* ===================================================================================== */
/* 2. Implementation: helpers                                                            */
/* ===================================================================================== */
#if defined(CK_IMPLEMENTATION) && !defined(CK_IMPLEMENTATION_DONE)
#define CK_IMPLEMENTATION_DONE

#include <float.h>
#include <math.h>
#include <string.h>
#include <stdarg.h>
#ifndef CK_NO_STDIO /* host builds: files, mmap, allocation in the file and tool helpers (never in kernels) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#ifndef CK_MALLOC
#define CK_MALLOC(n) malloc(n)
#define CK_REALLOC(p, n) realloc(p, n)
#define CK_FREE(p) free(p)
#endif
#endif
#ifdef _OPENMP
#include <omp.h>
#endif
#ifndef CK_ASSERT
#include <assert.h>
#define CK_ASSERT(x) assert(x)
#endif
#if CK_HAVE_AVX2
#include <immintrin.h>
#endif
#if CK_HAVE_MVE
#include <arm_mve.h>
#endif

/* OpenMP without warnings when it is off: CK_OMP(omp parallel for) expands to nothing. */
#ifdef _OPENMP
#define CK_OMP(x) _Pragma(#x)
#else
#define CK_OMP(x)
#endif
/* Below this many multiply-adds a parallel region costs more than it saves. */
#ifndef CK_OMP_MIN_WORK
#define CK_OMP_MIN_WORK 32768
#endif

#define CK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CK_MAX(a, b) ((a) > (b) ? (a) : (b))

#ifdef __cplusplus
extern "C" {
#endif

CK_DEF const char *ck_simd_name(void) { return CK_HAVE_AVX2 ? "avx2+fma" : CK_HAVE_MVE ? "mve" : "scalar"; }

static float ck__dot_scalar(const float *a, const float *b, int n)
{
    float s = 0.0f;
    int i;
    for (i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
static void ck__axpy_scalar(float *y, float a, const float *x, int n) /* y += a*x */
{
    int i;
    for (i = 0; i < n; i++) y[i] += a * x[i];
}
static void ck__scale_scalar(float *y, float a, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] *= a;
}

#if CK_HAVE_AVX2
/* lane masks: loadu(ck__mask_tab + 8 - n) enables the first n of 8 lanes */
static const int32_t ck__mask_tab[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
static inline __m256i ck__mask(int n) { return _mm256_loadu_si256((const __m256i *)(const void *)(ck__mask_tab + 8 - n)); }
static inline float ck__hsum(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}
static inline float ck__dot_avx2(const float *a, const float *b, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    if (i < n) {
        __m256i m = ck__mask(n - i);
        s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
    }
    return ck__hsum(_mm256_add_ps(s0, s1));
}
static inline void ck__axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        __m256i m = ck__mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m)));
    }
}
static inline void ck__scale_avx2(float *y, float a, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(va, _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] *= a;
}
#endif

/* ===================================================================================== */
/* 3. Embedding                                                                          */
/* ===================================================================================== */

/* out [T,C] = wte[tokens[t]] + wpe[pos0+t] */
CK_DEF void ck_embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int T, int C, int pos0)
{
    int t, c;
    for (t = 0; t < T; t++) {
        float *o = out + (size_t)t * C;
        const float *e = wte + (size_t)tokens[t] * C;
        if (wpe) {
            const float *p = wpe + (size_t)(pos0 + t) * C;
            for (c = 0; c < C; c++) o[c] = e[c] + p[c];
        } else {
            memcpy(o, e, (size_t)C * sizeof(float));
        }
    }
}

/* dwte[tokens[t]] += dout[t]; dwpe[pos0+t] += dout[t]. Serial over t: a token may repeat. */
CK_DEF void ck_embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int T, int C, int pos0)
{
    int t;
    for (t = 0; t < T; t++) {
        const float *d = dout + (size_t)t * C;
        if (dwte) ck__axpy_scalar(dwte + (size_t)tokens[t] * C, 1.0f, d, C);
        if (dwpe) ck__axpy_scalar(dwpe + (size_t)(pos0 + t) * C, 1.0f, d, C);
    }
}

/* ===================================================================================== */
/* 4. Matmul (linear layer)                                                              */
/* ===================================================================================== */

/* Scalar reference. out [T,OC] = inp [T,C] @ weight[OC,C]^T + bias. */
CK_DEF void ck_matmul_forward_scalar(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC)
{
    int t, o;
    CK_OMP(omp parallel for collapse(2) schedule(static) if ((double)T * OC * C > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        for (o = 0; o < OC; o++) {
            float s = bias ? bias[o] : 0.0f;
            s += ck__dot_scalar(inp + (size_t)t * C, weight + (size_t)o * C, C);
            out[(size_t)t * OC + o] = s;
        }
    }
}

/* Scalar reference backward. Each gradient element is owned by one loop iteration. */
CK_DEF void ck_matmul_backward_scalar(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC)
{
    int t, o;
    if (dinp) {
        CK_OMP(omp parallel for schedule(static) if ((double)T * OC * C > CK_OMP_MIN_WORK))
        for (t = 0; t < T; t++) {
            float *di = dinp + (size_t)t * C;
            const float *d = dout + (size_t)t * OC;
            for (o = 0; o < OC; o++) ck__axpy_scalar(di, d[o], weight + (size_t)o * C, C);
        }
    }
    if (dweight || dbias) {
        CK_OMP(omp parallel for schedule(static) if ((double)T * OC * C > CK_OMP_MIN_WORK))
        for (o = 0; o < OC; o++) {
            float *dw = dweight ? dweight + (size_t)o * C : NULL;
            float db = 0.0f;
            for (t = 0; t < T; t++) {
                float d = dout[(size_t)t * OC + o];
                if (dw) ck__axpy_scalar(dw, d, inp + (size_t)t * C, C);
                db += d;
            }
            if (dbias) dbias[o] += db;
        }
    }
}

#if CK_HAVE_AVX2
/* out tile of nt (1..4) rows of inp (stride ldi) x 3 rows of w (stride ldw): 12 dot products
   of length C at once. Missing rows point at row 0 and are computed but not stored. out =
   dot + bias, or out += dot with accumulate (bias unused). Every output is one 8-lane FMA
   chain in c order and one ck__hsum, as in ck__mm_nt_1x4: the two give the same bits. */
static void ck__mm_nt_4x3(float *out, size_t ldo, const float *inp, size_t ldi, const float *w, size_t ldw, int C, int nt, int no,
                          const float *bias, int accumulate)
{
    const float *x0 = inp, *x1 = inp + (size_t)(nt > 1) * ldi, *x2 = inp + (size_t)(nt > 2 ? 2 : 0) * ldi, *x3 = inp + (size_t)(nt > 3 ? 3 : 0) * ldi;
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * ldw, *w2 = w + (size_t)(no > 2 ? 2 : 0) * ldw;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
    __m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
    __m256 v0, v1, v2, x;
    int c = 0;
#define CK__NT_ROW(r, LOAD)                                                           \
    x = LOAD(x##r + c);                                                               \
    a##r##0 = _mm256_fmadd_ps(x, v0, a##r##0);                                        \
    a##r##1 = _mm256_fmadd_ps(x, v1, a##r##1);                                        \
    a##r##2 = _mm256_fmadd_ps(x, v2, a##r##2);
#define CK__NT_STEP(LOAD)                                                             \
    v0 = LOAD(w0 + c); v1 = LOAD(w1 + c); v2 = LOAD(w2 + c);                          \
    CK__NT_ROW(0, LOAD) CK__NT_ROW(1, LOAD) CK__NT_ROW(2, LOAD) CK__NT_ROW(3, LOAD)
#define CK__LOADU(p) _mm256_loadu_ps(p)
    for (; c + 8 <= C; c += 8) { CK__NT_STEP(CK__LOADU) }
    if (c < C) {
        __m256i m = ck__mask(C - c);
#define CK__LOADM(p) _mm256_maskload_ps((p), m)
        CK__NT_STEP(CK__LOADM)
#undef CK__LOADM
    }
#undef CK__LOADU
#undef CK__NT_STEP
#undef CK__NT_ROW
    {
        float r[4][3];
        int i, j;
        r[0][0] = ck__hsum(a00); r[0][1] = ck__hsum(a01); r[0][2] = ck__hsum(a02);
        r[1][0] = ck__hsum(a10); r[1][1] = ck__hsum(a11); r[1][2] = ck__hsum(a12);
        r[2][0] = ck__hsum(a20); r[2][1] = ck__hsum(a21); r[2][2] = ck__hsum(a22);
        r[3][0] = ck__hsum(a30); r[3][1] = ck__hsum(a31); r[3][2] = ck__hsum(a32);
        for (i = 0; i < nt; i++)
            for (j = 0; j < no; j++) {
                float *o = out + (size_t)i * ldo + j;
                *o = accumulate ? *o + r[i][j] : r[i][j] + (bias ? bias[j] : 0.0f);
            }
    }
}

/* one row of inp against 4 rows of w (stride ldw) (decode, T = 1, and leftover rows) */
static void ck__mm_nt_1x4(float *out, const float *x, const float *w, size_t ldw, int C, int no, const float *bias, int accumulate)
{
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * ldw, *w2 = w + (size_t)(no > 2 ? 2 : 0) * ldw, *w3 = w + (size_t)(no > 3 ? 3 : 0) * ldw;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, xv;
    float r[4];
    int c = 0, j;
    for (; c + 8 <= C; c += 8) {
        xv = _mm256_loadu_ps(x + c);
        a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w0 + c), a0);
        a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w1 + c), a1);
        a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w2 + c), a2);
        a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w3 + c), a3);
    }
    if (c < C) {
        __m256i m = ck__mask(C - c);
        xv = _mm256_maskload_ps(x + c, m);
        a0 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w0 + c, m), a0);
        a1 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w1 + c, m), a1);
        a2 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w2 + c, m), a2);
        a3 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w3 + c, m), a3);
    }
    r[0] = ck__hsum(a0); r[1] = ck__hsum(a1); r[2] = ck__hsum(a2); r[3] = ck__hsum(a3);
    for (j = 0; j < no; j++) out[j] = accumulate ? out[j] + r[j] : r[j] + (bias ? bias[j] : 0.0f);
}

/* Blocks of OB weight rows (kept in L2) are swept by all rows of inp, 4 at a time. */
CK_DEF void ck_matmul_forward_avx2(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC)
{
    enum { OB = 24 };
    int nob = (OC + OB - 1) / OB, ob;
    CK_OMP(omp parallel for schedule(dynamic, 1) if ((double)T * OC * C > CK_OMP_MIN_WORK))
    for (ob = 0; ob < nob; ob++) {
        int o0 = ob * OB, o1 = CK_MIN(OC, o0 + OB), t = 0, o;
        for (; T - t >= 2; t += 4) { /* tiles of 2..4 rows; a last single row goes to 1x4 */
            int nt = CK_MIN(4, T - t);
            for (o = o0; o < o1; o += 3)
                ck__mm_nt_4x3(out + (size_t)t * OC + o, (size_t)OC, inp + (size_t)t * C, (size_t)C, weight + (size_t)o * C, (size_t)C, C, nt,
                              CK_MIN(3, o1 - o), bias ? bias + o : NULL, 0);
        }
        for (; t < T; t++)
            for (o = o0; o < o1; o += 4)
                ck__mm_nt_1x4(out + (size_t)t * OC + o, inp + (size_t)t * C, weight + (size_t)o * C, (size_t)C, C, CK_MIN(4, o1 - o),
                              bias ? bias + o : NULL, 0);
    }
}

/* C[i][j] += sum_k A(i,k) B[k][j] on an mr x nr tile (mr <= 6, nr <= 16), k < kc.
   A(i,k) = a[i*rsa + k*csa]; the classic 6x16 register tile: 12 accumulators. */
static void ck__gemm_6x16(float *c, size_t ldc, const float *a, size_t rsa, size_t csa, const float *b, size_t ldb, int mr, int nr, int kc)
{
    const float *p0 = a, *p1 = a + (mr > 1 ? 1 : 0) * rsa, *p2 = a + (mr > 2 ? 2 : 0) * rsa;
    const float *p3 = a + (mr > 3 ? 3 : 0) * rsa, *p4 = a + (mr > 4 ? 4 : 0) * rsa, *p5 = a + (mr > 5 ? 5 : 0) * rsa;
    __m256i m0 = ck__mask(CK_MIN(8, nr)), m1 = ck__mask(CK_MAX(0, nr - 8));
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, b0, b1, av;
    int k;
#define CK__GLOAD(r) c##r##0 = mr > r ? _mm256_maskload_ps(c + r * ldc, m0) : _mm256_setzero_ps(); \
                     c##r##1 = mr > r ? _mm256_maskload_ps(c + r * ldc + 8, m1) : _mm256_setzero_ps();
    CK__GLOAD(0) CK__GLOAD(1) CK__GLOAD(2) CK__GLOAD(3) CK__GLOAD(4) CK__GLOAD(5)
#undef CK__GLOAD
#define CK__GROW(r) av = _mm256_broadcast_ss(p##r); p##r += csa;       \
                    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);        \
                    c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);
    if (nr == 16) {
        for (k = 0; k < kc; k++, b += ldb) {
            b0 = _mm256_loadu_ps(b); b1 = _mm256_loadu_ps(b + 8);
            CK__GROW(0) CK__GROW(1) CK__GROW(2) CK__GROW(3) CK__GROW(4) CK__GROW(5)
        }
    } else {
        for (k = 0; k < kc; k++, b += ldb) {
            b0 = _mm256_maskload_ps(b, m0); b1 = _mm256_maskload_ps(b + 8, m1);
            CK__GROW(0) CK__GROW(1) CK__GROW(2) CK__GROW(3) CK__GROW(4) CK__GROW(5)
        }
    }
#undef CK__GROW
#define CK__GSTORE(r) if (mr > r) { _mm256_maskstore_ps(c + r * ldc, m0, c##r##0); _mm256_maskstore_ps(c + r * ldc + 8, m1, c##r##1); }
    CK__GSTORE(0) CK__GSTORE(1) CK__GSTORE(2) CK__GSTORE(3) CK__GSTORE(4) CK__GSTORE(5)
#undef CK__GSTORE
}

/* Cm[M,N] += A(M,K) @ B[K,N], blocked so a KB x NB panel of B stays in L2 while the
   6-row tiles of one MB-row block of A sweep it. k always runs in increasing order for
   every element, whatever the thread count. */
static void ck__gemm_acc_avx2(float *Cm, size_t ldc, const float *A, size_t rsa, size_t csa, const float *B, size_t ldb, int M, int N, int K)
{
    enum { MR = 6, NR = 16, MB = 48, NB = 256, KB = 256 };
    int nib = (M + MB - 1) / MB, ib;
    CK_OMP(omp parallel for schedule(dynamic, 1) if ((double)M * N * K > CK_OMP_MIN_WORK))
    for (ib = 0; ib < nib; ib++) {
        int i0 = ib * MB, i1 = CK_MIN(M, i0 + MB), j0, k0, i, j;
        for (j0 = 0; j0 < N; j0 += NB) {
            int j1 = CK_MIN(N, j0 + NB);
            for (k0 = 0; k0 < K; k0 += KB) {
                int kc = CK_MIN(K, k0 + KB) - k0;
                for (i = i0; i < i1; i += MR)
                    for (j = j0; j < j1; j += NR)
                        ck__gemm_6x16(Cm + (size_t)i * ldc + j, ldc, A + (size_t)i * rsa + (size_t)k0 * csa, rsa, csa,
                                      B + (size_t)k0 * ldb + j, ldb, CK_MIN(MR, i1 - i), CK_MIN(NR, j1 - j), kc);
            }
        }
    }
}

CK_DEF void ck_matmul_backward_avx2(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC)
{
    /* dinp[T,C] += dout[T,OC] @ weight[OC,C] */
    if (dinp) ck__gemm_acc_avx2(dinp, (size_t)C, dout, (size_t)OC, 1, weight, (size_t)C, T, C, OC);
    /* dweight[OC,C] += dout^T[OC,T] @ inp[T,C]: A(o,t) = dout[t*OC + o] */
    if (dweight) ck__gemm_acc_avx2(dweight, (size_t)C, dout, 1, (size_t)OC, inp, (size_t)C, OC, C, T);
    if (dbias) {
        int o, t;
        for (o = 0; o < OC; o++) {
            float db = 0.0f;
            for (t = 0; t < T; t++) db += dout[(size_t)t * OC + o];
            dbias[o] += db;
        }
    }
}
#endif /* CK_HAVE_AVX2 */

#if CK_HAVE_MVE
/* Helium: one row of inp against 4 weight rows at a time, 4 lanes each, the tail of C under a
   lane predicate (disabled lanes do not touch memory). Sums in a different order from the
   scalar path: equal to it within float rounding, not bit for bit. */
static float ck__hsum_mve(float32x4_t v) { return (vgetq_lane_f32(v, 0) + vgetq_lane_f32(v, 1)) + (vgetq_lane_f32(v, 2) + vgetq_lane_f32(v, 3)); }
CK_DEF void ck_matmul_forward_mve(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC)
{
    int t, o, i, k;
    for (t = 0; t < T; t++) {
        const float *x = inp + (size_t)t * C;
        for (o = 0; o < OC; o += 4) {
            int nr = CK_MIN(4, OC - o);
            const float *w[4];
            float32x4_t acc[4];
            for (k = 0; k < 4; k++) {
                w[k] = weight + (size_t)(o + CK_MIN(k, nr - 1)) * C;
                acc[k] = vdupq_n_f32(0.0f);
            }
            for (i = 0; i < C; i += 4) {
                mve_pred16_t p = vctp32q((uint32_t)(C - i));
                float32x4_t xv = vldrwq_z_f32(x + i, p);
                for (k = 0; k < 4; k++) acc[k] = vfmaq_m_f32(acc[k], xv, vldrwq_z_f32(w[k] + i, p), p);
            }
            for (k = 0; k < nr; k++) out[(size_t)t * OC + o + k] = (bias ? bias[o + k] : 0.0f) + ck__hsum_mve(acc[k]);
        }
    }
}
#endif /* CK_HAVE_MVE */

CK_DEF void ck_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC)
{
#if CK_HAVE_AVX2
    ck_matmul_forward_avx2(out, inp, weight, bias, T, C, OC);
#elif CK_HAVE_MVE
    ck_matmul_forward_mve(out, inp, weight, bias, T, C, OC);
#else
    ck_matmul_forward_scalar(out, inp, weight, bias, T, C, OC);
#endif
}
CK_DEF void ck_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC)
{
#if CK_HAVE_AVX2
    ck_matmul_backward_avx2(dinp, dweight, dbias, dout, inp, weight, T, C, OC);
#else
    ck_matmul_backward_scalar(dinp, dweight, dbias, dout, inp, weight, T, C, OC);
#endif
}

/* ===================================================================================== */
/* 5. Weight formats                                                                     */
/* ===================================================================================== */
/* GGUF tensor types: names, sizes, fp16/bf16, ggml's block layouts and reference quantizers,
   and the quantized matmul. The scalar code is the documentation: every dequantizer and
   quantizer evaluates the same float operations in the same order as ggml's
   dequantize_row_* / quantize_row_*_ref (ggml-quants.c, 2025), so its output is bit-identical
   to ggml built without FP contraction (clang, MSVC, gcc -std=c11). One caveat: gcc in GNU
   mode on an FMA target fuses Q4_0's x*id + 8.5 (Q5_0's + 16.5) into one rounding, and
   gguf-py's numpy reference mimics that build ("Q4_0's reference rounding is cursed and
   depends on FMA"); the two differ in about 1 value in 5 million of N(0,1) data. Here the
   source's two roundings hold. Deliberate differences from ggml: an all-zero Q8_K block gets
   bsums = 0 (ggml leaves them unset); fp32 -> fp16 of a NaN is sign|0x7E00 like ggml's
   portable conversion (F16C would keep payload bits). */

/* Bit-identity needs each float operation rounded on its own, as written. clang fuses a*b + c
   into an FMA by default (-ffp-contract=on); this pragma, opening a function body, stops it
   there. gcc does not contract in ISO mode (-std=c99, what the Makefile uses). */
#if defined(__clang__)
#define CK__FP_EXACT _Pragma("STDC FP_CONTRACT OFF")
#else
#define CK__FP_EXACT
#endif

#ifndef CK_QSEG
#define CK_QSEG 1024
#endif
#if CK_QSEG % 512 != 0 || CK_QSEG < 512
#error "CK_QSEG must be a positive multiple of 512"
#endif

/* ---- type table -------------------------------------------------------------------------- */

typedef struct { const char *name; int blck; int bytes; int align; } ck__type_traits;

static const ck__type_traits *ck__traits(int type)
{
    static const ck__type_traits tab[31] = {
        { "f32", 1, 4, 4 }, { "f16", 1, 2, 2 }, { "q4_0", CK_QK, 18, 2 }, { "q4_1", CK_QK, 20, 2 },
        { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, /* 4, 5: Q4_2, Q4_3, removed from ggml */
        { "q5_0", CK_QK, 22, 2 }, { "q5_1", CK_QK, 24, 2 }, { "q8_0", CK_QK, 34, 2 }, { "q8_1", CK_QK, 36, 2 },
        { "q2_K", CK_QK_K, 84, 2 }, { "q3_K", CK_QK_K, 110, 2 }, { "q4_K", CK_QK_K, 144, 2 },
        { "q5_K", CK_QK_K, 176, 2 }, { "q6_K", CK_QK_K, 210, 2 }, { "q8_K", CK_QK_K, 292, 4 },
        { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, /* 16..29: */
        { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, /* IQ formats */
        { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 },                    /* and int types */
        { "bf16", 1, 2, 2 }
    };
    if (type < 0 || type >= (int)(sizeof tab / sizeof tab[0]) || !tab[type].name) return NULL;
    return &tab[type];
}

CK_DEF const char *ck_type_name(int type) { const ck__type_traits *t = ck__traits(type); return t ? t->name : NULL; }
CK_DEF int64_t ck_type_block_size(int type) { const ck__type_traits *t = ck__traits(type); return t ? t->blck : 0; }
CK_DEF size_t ck_type_block_bytes(int type) { const ck__type_traits *t = ck__traits(type); return t ? (size_t)t->bytes : 0; }

CK_DEF size_t ck_row_size(int type, int64_t n)
{
    const ck__type_traits *t = ck__traits(type);
    if (!t || n < 0 || n % t->blck) return 0;
    return (size_t)(n / t->blck) * (size_t)t->bytes;
}

CK_DEF int ck_type_from_name(const char *name)
{
    int type;
    if (!name) return -1;
    for (type = 0; type <= CK_BF16; type++) {
        const ck__type_traits *t = ck__traits(type);
        const char *a = name, *b;
        if (!t) continue;
        for (b = t->name; *a && *b; a++, b++) { /* ASCII case folding, no locale */
            char ca = (char)(*a >= 'A' && *a <= 'Z' ? *a + 32 : *a), cb = (char)(*b >= 'A' && *b <= 'Z' ? *b + 32 : *b);
            if (ca != cb) break;
        }
        if (!*a && !*b) return type;
    }
    return -1;
}

/* ---- fp16 and bf16 ----------------------------------------------------------------------- */

static inline uint32_t ck__f2u(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline float ck__u2f(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

CK_DEF float ck_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return ck__u2f(sign | 0x7f800000u | (man << 13) | (man ? 0x00400000u : 0)); /* inf, quiet NaN */
    if (exp) return ck__u2f(sign | ((exp + 112) << 23) | (man << 13));                           /* normal */
    {
        float f = (float)man * 5.9604644775390625e-08f; /* zero or subnormal: man * 2^-24, exact */
        return sign ? -f : f;
    }
}

/* m >> s (1 <= s <= 24) rounded to nearest, ties to even */
static inline uint32_t ck__shift_rne(uint32_t m, uint32_t s)
{
    uint32_t q = m >> s, rem = m & ((1u << s) - 1), half = 1u << (s - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

CK_DEF uint16_t ck_fp32_to_fp16(float f)
{
    uint32_t x = ck__f2u(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu, e;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);                 /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                /* >= 65520 rounds to inf */
    if (ax >= 0x38800000u) return (uint16_t)(sign | (ck__shift_rne(ax, 13) - (112u << 10))); /* normal: rebias */
    e = ax >> 23;                                                              /* half subnormal or zero */
    if (e < 102) return (uint16_t)sign;                                        /* below 2^-25: rounds to 0 */
    return (uint16_t)(sign | ck__shift_rne((ax & 0x7fffffu) | 0x800000u, 126 - e)); /* |f| * 2^24, rounded */
}

CK_DEF float ck_bf16_to_fp32(uint16_t h) { return ck__u2f((uint32_t)h << 16); }

CK_DEF uint16_t ck_fp32_to_bf16(float f)
{
    uint32_t x = ck__f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 64u); /* NaN: keep it, make it quiet */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);               /* round to nearest even */
}

#if CK_HAVE_AVX2 && defined(__F16C__)
static inline float ck__h2f(uint16_t h) { return _cvtsh_ss(h); }
#else
static inline float ck__h2f(uint16_t h) { return ck_fp16_to_fp32(h); }
#endif

/* ---- dequantization (scalar reference) ---------------------------------------------------- */

static inline uint32_t ck__le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* the 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block */
static inline void ck__scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = (uint8_t)(q[j] & 63);
        *m = (uint8_t)(q[j + 4] & 63);
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* the signed scale s_j - 32 of sub-block j (0..15) of a Q3_K block */
static inline int ck__scale_q3_K(const uint8_t *s, int j)
{
    int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4, hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

static void ck__dequant_q4_0(const void *src, float *y, int64_t nb)
{
    const ck_block_q4_0 *x = (const ck_block_q4_0 *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK) {
        float d = ck_fp16_to_fp32(x[i].d);
        for (j = 0; j < CK_QK / 2; j++) {
            y[j] = (float)((x[i].qs[j] & 15) - 8) * d;
            y[j + CK_QK / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void ck__dequant_q4_1(const void *src, float *y, int64_t nb)
{
    CK__FP_EXACT
    const ck_block_q4_1 *x = (const ck_block_q4_1 *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK) {
        float d = ck_fp16_to_fp32(x[i].d), m = ck_fp16_to_fp32(x[i].m);
        for (j = 0; j < CK_QK / 2; j++) {
            y[j] = (float)(x[i].qs[j] & 15) * d + m;
            y[j + CK_QK / 2] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

static void ck__dequant_q5_0(const void *src, float *y, int64_t nb)
{
    const ck_block_q5_0 *x = (const ck_block_q5_0 *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK) {
        float d = ck_fp16_to_fp32(x[i].d);
        uint32_t qh = ck__le32(x[i].qh);
        for (j = 0; j < CK_QK / 2; j++) {
            int q0 = (int)((x[i].qs[j] & 15) | ((qh >> j) & 1) << 4), q1 = (int)((x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)(q0 - 16) * d;
            y[j + CK_QK / 2] = (float)(q1 - 16) * d;
        }
    }
}

static void ck__dequant_q5_1(const void *src, float *y, int64_t nb)
{
    CK__FP_EXACT
    const ck_block_q5_1 *x = (const ck_block_q5_1 *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK) {
        float d = ck_fp16_to_fp32(x[i].d), m = ck_fp16_to_fp32(x[i].m);
        uint32_t qh = ck__le32(x[i].qh);
        for (j = 0; j < CK_QK / 2; j++) {
            int q0 = (int)((x[i].qs[j] & 15) | ((qh >> j) & 1) << 4), q1 = (int)((x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)q0 * d + m;
            y[j + CK_QK / 2] = (float)q1 * d + m;
        }
    }
}

static void ck__dequant_q8_0(const void *src, float *y, int64_t nb)
{
    const ck_block_q8_0 *x = (const ck_block_q8_0 *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK) {
        float d = ck_fp16_to_fp32(x[i].d);
        for (j = 0; j < CK_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

static void ck__dequant_q8_1(const void *src, float *y, int64_t nb)
{
    const ck_block_q8_1 *x = (const ck_block_q8_1 *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK) {
        float d = ck_fp16_to_fp32(x[i].d);
        for (j = 0; j < CK_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

static void ck__dequant_q2_K(const void *src, float *y, int64_t nb)
{
    CK__FP_EXACT
    const ck_block_q2_K *x = (const ck_block_q2_K *)src;
    int64_t i;
    int v;
    for (i = 0; i < nb; i++, y += CK_QK_K) {
        float d = ck_fp16_to_fp32(x[i].d), dmin = ck_fp16_to_fp32(x[i].dmin);
        for (v = 0; v < CK_QK_K; v += 16) { /* sub-block v / 16 */
            int sc = x[i].scales[v / 16], l;
            float dl = d * (float)(sc & 15), ml = dmin * (float)(sc >> 4);
            const uint8_t *qs = x[i].qs + 32 * (v / 128) + v % 32;
            for (l = 0; l < 16; l++) y[v + l] = dl * (float)((qs[l] >> (2 * ((v % 128) / 32))) & 3) - ml;
        }
    }
}

static void ck__dequant_q3_K(const void *src, float *y, int64_t nb)
{
    const ck_block_q3_K *x = (const ck_block_q3_K *)src;
    int64_t i;
    int v;
    for (i = 0; i < nb; i++, y += CK_QK_K) {
        float d = ck_fp16_to_fp32(x[i].d);
        for (v = 0; v < CK_QK_K; v += 16) { /* sub-block v / 16: low 2 bits in qs, bit 2 in hmask */
            float dl = d * (float)ck__scale_q3_K(x[i].scales, v / 16);
            const uint8_t *qs = x[i].qs + 32 * (v / 128) + v % 32, *hm = x[i].hmask + v % 32;
            int l, shift = 2 * ((v % 128) / 32), bit = v / 32;
            for (l = 0; l < 16; l++) y[v + l] = dl * (float)(((qs[l] >> shift) & 3) - (((hm[l] >> bit) & 1) ? 0 : 4));
        }
    }
}

static void ck__dequant_q4_K(const void *src, float *y, int64_t nb)
{
    CK__FP_EXACT
    const ck_block_q4_K *x = (const ck_block_q4_K *)src;
    int64_t i;
    int j, l;
    for (i = 0; i < nb; i++) {
        float d = ck_fp16_to_fp32(x[i].d), dmin = ck_fp16_to_fp32(x[i].dmin);
        for (j = 0; j < 8; j++, y += 32) { /* sub-block j: nibble j % 2 of qs[32 (j / 2) + l] */
            uint8_t sc, m;
            float d1, m1;
            ck__scale_min_k4(j, x[i].scales, &sc, &m);
            d1 = d * (float)sc;
            m1 = dmin * (float)m;
            for (l = 0; l < 32; l++) y[l] = d1 * (float)((x[i].qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15) - m1;
        }
    }
}

static void ck__dequant_q5_K(const void *src, float *y, int64_t nb)
{
    CK__FP_EXACT
    const ck_block_q5_K *x = (const ck_block_q5_K *)src;
    int64_t i;
    int j, l;
    for (i = 0; i < nb; i++) {
        float d = ck_fp16_to_fp32(x[i].d), dmin = ck_fp16_to_fp32(x[i].dmin);
        for (j = 0; j < 8; j++, y += 32) { /* as Q4_K, bit 4 is bit j of qh[l] */
            uint8_t sc, m;
            float d1, m1;
            ck__scale_min_k4(j, x[i].scales, &sc, &m);
            d1 = d * (float)sc;
            m1 = dmin * (float)m;
            for (l = 0; l < 32; l++) {
                int q = ((x[i].qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15) | ((x[i].qh[l] >> j) & 1) << 4;
                y[l] = d1 * (float)q - m1;
            }
        }
    }
}

/* the 6-bit quant of value v (0..255) of a Q6_K block, 0..63 */
static inline int ck__q6_K_quant(const ck_block_q6_K *x, int v)
{
    int h = v / 128, k = (v % 128) / 32, l = v % 32;
    int low = (x->ql[64 * h + 32 * (k & 1) + l] >> (4 * (k >> 1))) & 15;
    return low | ((x->qh[32 * h + l] >> (2 * k)) & 3) << 4;
}

static void ck__dequant_q6_K(const void *src, float *y, int64_t nb)
{
    const ck_block_q6_K *x = (const ck_block_q6_K *)src;
    int64_t i;
    int v;
    for (i = 0; i < nb; i++, y += CK_QK_K) {
        float d = ck_fp16_to_fp32(x[i].d);
        for (v = 0; v < CK_QK_K; v++) y[v] = d * (float)x[i].scales[v / 16] * (float)(ck__q6_K_quant(&x[i], v) - 32);
    }
}

static void ck__dequant_q8_K(const void *src, float *y, int64_t nb)
{
    const ck_block_q8_K *x = (const ck_block_q8_K *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK_K)
        for (j = 0; j < CK_QK_K; j++) y[j] = (float)x[i].qs[j] * x[i].d;
}

static void ck__dequant_f16(const void *src, float *y, int64_t n)
{
    const uint16_t *x = (const uint16_t *)src;
    int64_t i;
    for (i = 0; i < n; i++) y[i] = ck_fp16_to_fp32(x[i]);
}

static void ck__dequant_bf16(const void *src, float *y, int64_t n)
{
    const uint16_t *x = (const uint16_t *)src;
    int64_t i;
    for (i = 0; i < n; i++) y[i] = ck_bf16_to_fp32(x[i]);
}

/* src holds n values of `type`, n a multiple of the block size */
static void ck__dequant_scalar(int type, const void *src, float *dst, int64_t n)
{
    switch (type) {
    case CK_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case CK_F16: ck__dequant_f16(src, dst, n); break;
    case CK_BF16: ck__dequant_bf16(src, dst, n); break;
    case CK_Q4_0: ck__dequant_q4_0(src, dst, n / CK_QK); break;
    case CK_Q4_1: ck__dequant_q4_1(src, dst, n / CK_QK); break;
    case CK_Q5_0: ck__dequant_q5_0(src, dst, n / CK_QK); break;
    case CK_Q5_1: ck__dequant_q5_1(src, dst, n / CK_QK); break;
    case CK_Q8_0: ck__dequant_q8_0(src, dst, n / CK_QK); break;
    case CK_Q8_1: ck__dequant_q8_1(src, dst, n / CK_QK); break;
    case CK_Q2_K: ck__dequant_q2_K(src, dst, n / CK_QK_K); break;
    case CK_Q3_K: ck__dequant_q3_K(src, dst, n / CK_QK_K); break;
    case CK_Q4_K: ck__dequant_q4_K(src, dst, n / CK_QK_K); break;
    case CK_Q5_K: ck__dequant_q5_K(src, dst, n / CK_QK_K); break;
    case CK_Q6_K: ck__dequant_q6_K(src, dst, n / CK_QK_K); break;
    case CK_Q8_K: ck__dequant_q8_K(src, dst, n / CK_QK_K); break;
    default: CK_ASSERT(0 && "ck_dequantize_row: unknown type");
    }
}

CK_DEF void ck_dequantize_row_scalar(int type, const void *src, float *dst, int64_t n)
{
    CK_ASSERT(ck_row_size(type, n) > 0 || n == 0);
    ck__dequant_scalar(type, src, dst, n);
}

/* ---- quantization: ggml's reference algorithms -------------------------------------------- */
/* The float expressions below are ggml's, operation for operation: reordering any of them
   (or letting the compiler fuse them) changes the bits of the output. */

/* ggml's nearest_int: round to nearest, ties to even, by adding 1.5 * 2^23 (valid for |v| < 2^22) */
static inline int ck__nearest_int(float v)
{
    float t = v + 12582912.0f;
    return (int)(ck__f2u(t) & 0x007fffffu) - 0x00400000;
}

static void ck__quant_q4_0(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q4_0 *y = (ck_block_q4_0 *)dst;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, x += CK_QK) {
        float amax = 0.0f, max = 0.0f, d, id; /* max: the value of largest magnitude, first one wins */
        for (j = 0; j < CK_QK; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        d = max / -8.0f; /* max maps to q = 0, i.e. -8 */
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ck_fp32_to_fp16(d);
        for (j = 0; j < CK_QK / 2; j++) {
            float v0 = x[j] * id, v1 = x[j + CK_QK / 2] * id;
            int q0 = (int)(v0 + 8.5f), q1 = (int)(v1 + 8.5f); /* truncation of a value >= 0: rounds half up */
            y[i].qs[j] = (uint8_t)(CK_MIN(15, q0) | CK_MIN(15, q1) << 4);
        }
    }
}

static void ck__quant_q4_1(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q4_1 *y = (ck_block_q4_1 *)dst;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, x += CK_QK) {
        float min = FLT_MAX, max = -FLT_MAX, d, id;
        for (j = 0; j < CK_QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        d = (max - min) / 15.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ck_fp32_to_fp16(d);
        y[i].m = ck_fp32_to_fp16(min);
        for (j = 0; j < CK_QK / 2; j++) {
            float v0 = (x[j] - min) * id, v1 = (x[j + CK_QK / 2] - min) * id;
            int q0 = (int)(v0 + 0.5f), q1 = (int)(v1 + 0.5f);
            y[i].qs[j] = (uint8_t)(CK_MIN(15, q0) | CK_MIN(15, q1) << 4);
        }
    }
}

static void ck__quant_q5_0(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q5_0 *y = (ck_block_q5_0 *)dst;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, x += CK_QK) {
        float amax = 0.0f, max = 0.0f, d, id;
        uint32_t qh = 0;
        for (j = 0; j < CK_QK; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        d = max / -16.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ck_fp32_to_fp16(d);
        for (j = 0; j < CK_QK / 2; j++) {
            float v0 = x[j] * id, v1 = x[j + CK_QK / 2] * id;
            int q0 = CK_MIN(31, (int)(v0 + 16.5f)), q1 = CK_MIN(31, (int)(v1 + 16.5f));
            y[i].qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
            qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + CK_QK / 2);
        }
        for (j = 0; j < 4; j++) y[i].qh[j] = (uint8_t)(qh >> (8 * j));
    }
}

static void ck__quant_q5_1(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q5_1 *y = (ck_block_q5_1 *)dst;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, x += CK_QK) {
        float min = FLT_MAX, max = -FLT_MAX, d, id;
        uint32_t qh = 0;
        for (j = 0; j < CK_QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        d = (max - min) / 31.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ck_fp32_to_fp16(d);
        y[i].m = ck_fp32_to_fp16(min);
        for (j = 0; j < CK_QK / 2; j++) {
            float v0 = (x[j] - min) * id, v1 = (x[j + CK_QK / 2] - min) * id;
            int q0 = (int)(v0 + 0.5f), q1 = (int)(v1 + 0.5f); /* at most 31: ggml does not clamp */
            y[i].qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
            qh |= (uint32_t)((q0 >> 4) & 1) << j | (uint32_t)((q1 >> 4) & 1) << (j + CK_QK / 2);
        }
        for (j = 0; j < 4; j++) y[i].qh[j] = (uint8_t)(qh >> (8 * j));
    }
}

/* Q8_0 and Q8_1: d = amax / 127, q = roundf(x / d) (half away from zero); Q8_1 adds s = sum(q) * d */
static void ck__quant_q8_01(const float *x, void *dst, int64_t nb, int with_sum)
{
    CK__FP_EXACT
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, x += CK_QK) {
        float amax = 0.0f, d, id;
        int8_t *qs = with_sum ? ((ck_block_q8_1 *)dst)[i].qs : ((ck_block_q8_0 *)dst)[i].qs;
        int sum = 0;
        for (j = 0; j < CK_QK; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        d = amax / 127.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        for (j = 0; j < CK_QK; j++) {
            qs[j] = (int8_t)roundf(x[j] * id);
            sum += qs[j];
        }
        if (with_sum) {
            ((ck_block_q8_1 *)dst)[i].d = ck_fp32_to_fp16(d);
            ((ck_block_q8_1 *)dst)[i].s = ck_fp32_to_fp16((float)sum * d);
        } else {
            ((ck_block_q8_0 *)dst)[i].d = ck_fp32_to_fp16(d);
        }
    }
}

/* ggml's make_qkx2_quants: a scale and a min (x ~ scale * L + min, min <= 0, L in 0..nmax) for n
   values, by weighted least squares over nstep+1 trial scales around nmax / (max - min).
   Returns the scale; *the_min = -min. */
static float ck__make_qkx2(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                           uint8_t *Laux, float rmin, float rdelta, int nstep, int use_mad)
{
    CK__FP_EXACT
    float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0], iscale, scale, best_error = 0;
    int i, is;
    for (i = 1; i < n; i++) {
        float w = weights[i];
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    iscale = (float)nmax / (max - min);
    scale = 1 / iscale;
    for (i = 0; i < n; i++) {
        int l = ck__nearest_int(iscale * (x[i] - min));
        float diff;
        L[i] = (uint8_t)CK_MAX(0, CK_MIN(nmax, l));
        diff = scale * (float)L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (is = 0; is <= nstep; is++) {
        float sum_l = 0, sum_l2 = 0, sum_xl = 0, D;
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        for (i = 0; i < n; i++) {
            int l = ck__nearest_int(iscale * (x[i] - min));
            float w = weights[i];
            l = CK_MAX(0, CK_MIN(nmax, l));
            Laux[i] = (uint8_t)l;
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D, this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            float cur_error = 0;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            for (i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                for (i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* ggml's make_qx_quants with rmse_type 1 and no importance weights (weights x^2): a signed
   scale, L in 0..2*nmax-1 (x ~ scale * (L - nmax)), best of 19 trial scales. */
static float ck__make_qx(int n, int nmax, const float *x, int8_t *L)
{
    CK__FP_EXACT
    float max = 0, amax = 0, iscale, sumlx = 0, suml2 = 0, scale, best;
    int i, is;
    for (i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    if (amax < 1e-15f) { /* ggml's GROUP_MAX_EPS: all zero */
        for (i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    iscale = (float)(-nmax) / max;
    for (i = 0; i < n; i++) {
        int l = ck__nearest_int(iscale * x[i]);
        float w = x[i] * x[i];
        l = CK_MAX(-nmax, CK_MIN(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    best = scale * sumlx;
    for (is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (i = 0; i < n; i++) {
            int l = ck__nearest_int(iscale * x[i]);
            float w = x[i] * x[i];
            l = CK_MAX(-nmax, CK_MIN(nmax - 1, l));
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (i = 0; i < n; i++) {
                int l = ck__nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + CK_MAX(-nmax, CK_MIN(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* ggml's make_q3_quants with do_rmse: signed scale, then up to 5 rounds of coordinate descent on
   the quants (weights x^2). L in 0..2*nmax-1. */
static float ck__make_q3(int n, int nmax, const float *x, int8_t *L)
{
    CK__FP_EXACT
    float max = 0, amax = 0, iscale, sumlx = 0, suml2 = 0;
    int i, itry;
    for (i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    if (amax < 1e-15f) {
        for (i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    iscale = (float)(-nmax) / max;
    for (i = 0; i < n; i++) {
        int l = ck__nearest_int(iscale * x[i]);
        float w = x[i] * x[i];
        l = CK_MAX(-nmax, CK_MIN(nmax - 1, l));
        L[i] = (int8_t)l;
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (i = 0; i < n; i++) {
            float w = x[i] * x[i], slx = sumlx - w * x[i] * (float)L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * (float)L[i] * (float)L[i];
                int new_l = ck__nearest_int(x[i] * sl2 / slx);
                new_l = CK_MAX(-nmax, CK_MIN(nmax - 1, new_l));
                if (new_l != L[i]) {
                    slx += w * x[i] * (float)new_l;
                    sl2 += w * (float)new_l * (float)new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* pack 256 2-bit quants as Q2_K / Q3_K: qs[32h + l] holds values 128h + l + 32k in bits 2k */
static void ck__pack_2bit(uint8_t *qs, const uint8_t *L)
{
    int h, l;
    for (h = 0; h < 2; h++)
        for (l = 0; l < 32; l++) {
            const uint8_t *p = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(p[0] | p[32] << 2 | p[64] << 4 | p[96] << 6);
        }
}

static void ck__quant_q2_K(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q2_K *y = (ck_block_q2_K *)dst;
    uint8_t L[CK_QK_K], Laux[16];
    float weights[16], mins[CK_QK_K / 16], scales[CK_QK_K / 16];
    const float q4scale = 15.0f;
    int64_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += CK_QK_K) {
        float max_scale = 0, max_min = 0; /* the min is subtracted, so scales are >= 0 */
        for (j = 0; j < CK_QK_K / 16; j++) {
            for (l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = ck__make_qkx2(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (j = 0; j < CK_QK_K / 16; j++) y[i].scales[j] = (uint8_t)ck__nearest_int(iscale * scales[j]);
            y[i].d = ck_fp32_to_fp16(max_scale / q4scale);
        } else {
            for (j = 0; j < CK_QK_K / 16; j++) y[i].scales[j] = 0;
            y[i].d = ck_fp32_to_fp16(0.0f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (j = 0; j < CK_QK_K / 16; j++) y[i].scales[j] = (uint8_t)(y[i].scales[j] | ck__nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = ck_fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = ck_fp32_to_fp16(0.0f);
        }
        for (j = 0; j < CK_QK_K / 16; j++) { /* requantize with the scales as stored */
            float d = ck_fp16_to_fp32(y[i].d) * (float)(y[i].scales[j] & 0xF), dm;
            if (d == 0.0f) continue;
            dm = ck_fp16_to_fp32(y[i].dmin) * (float)(y[i].scales[j] >> 4);
            for (l = 0; l < 16; l++) {
                int q = ck__nearest_int((x[16 * j + l] + dm) / d);
                L[16 * j + l] = (uint8_t)CK_MAX(0, CK_MIN(3, q));
            }
        }
        ck__pack_2bit(y[i].qs, L);
    }
}

static void ck__quant_q3_K(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q3_K *y = (ck_block_q3_K *)dst;
    int8_t L[CK_QK_K];
    float scales[CK_QK_K / 16];
    int64_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += CK_QK_K) {
        float max_scale = 0, amax = 0;
        for (j = 0; j < CK_QK_K / 16; j++) {
            scales[j] = ck__make_q3(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) { amax = fabsf(scales[j]); max_scale = scales[j]; }
        }
        memset(y[i].scales, 0, sizeof y[i].scales);
        if (max_scale != 0.0f) {
            float iscale = -32.0f / max_scale;
            for (j = 0; j < CK_QK_K / 16; j++) {
                int s = CK_MAX(-32, CK_MIN(31, ck__nearest_int(iscale * scales[j]))) + 32; /* 0..63 */
                if (j < 8) y[i].scales[j] = (uint8_t)(s & 0xF);
                else y[i].scales[j - 8] = (uint8_t)(y[i].scales[j - 8] | (s & 0xF) << 4);
                y[i].scales[8 + j % 4] = (uint8_t)(y[i].scales[8 + j % 4] | (s >> 4) << (2 * (j / 4)));
            }
            y[i].d = ck_fp32_to_fp16(1 / iscale);
        } else {
            y[i].d = ck_fp32_to_fp16(0.0f);
        }
        for (j = 0; j < CK_QK_K / 16; j++) {
            float d = ck_fp16_to_fp32(y[i].d) * (float)ck__scale_q3_K(y[i].scales, j);
            if (d == 0.0f) continue;
            for (l = 0; l < 16; l++) {
                int q = ck__nearest_int(x[16 * j + l] / d);
                L[16 * j + l] = (int8_t)(CK_MAX(-4, CK_MIN(3, q)) + 4);
            }
        }
        memset(y[i].hmask, 0, sizeof y[i].hmask);
        for (j = 0; j < CK_QK_K; j++) /* bit 2 of value j goes to bit j/32 of hmask[j % 32] */
            if (L[j] > 3) {
                y[i].hmask[j % 32] = (uint8_t)(y[i].hmask[j % 32] | 1 << (j / 32));
                L[j] = (int8_t)(L[j] - 4);
            }
        ck__pack_2bit(y[i].qs, (const uint8_t *)L);
    }
}

/* Q4_K and Q5_K share everything but nmax and the trial range of make_qkx2 */
static void ck__quant_q45_K(const float *x, void *dst, int64_t nb, int nmax)
{
    CK__FP_EXACT
    uint8_t L[CK_QK_K], Laux[32];
    float weights[32], mins[CK_QK_K / 32], scales[CK_QK_K / 32];
    int64_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += CK_QK_K) {
        ck_block_q4_K *y4 = nmax == 15 ? (ck_block_q4_K *)dst + i : NULL;
        ck_block_q5_K *y5 = nmax == 31 ? (ck_block_q5_K *)dst + i : NULL;
        uint8_t *ys = y4 ? y4->scales : y5->scales;
        uint16_t yd, ydmin;
        float max_scale = 0, max_min = 0, inv_scale, inv_min;
        for (j = 0; j < CK_QK_K / 32; j++) {
            float sum_x2 = 0, av_x;
            for (l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
            av_x = sqrtf(sum_x2 / 32);
            for (l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
            scales[j] = nmax == 15 ? ck__make_qkx2(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20, 0)
                                   : ck__make_qkx2(32, 31, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 0);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
        inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
        for (j = 0; j < CK_QK_K / 32; j++) {
            uint8_t ls = (uint8_t)ck__nearest_int(inv_scale * scales[j]), lm = (uint8_t)ck__nearest_int(inv_min * mins[j]);
            ls = CK_MIN(63, ls);
            lm = CK_MIN(63, lm);
            if (j < 4) {
                ys[j] = ls;
                ys[j + 4] = lm;
            } else {
                ys[j + 4] = (uint8_t)((ls & 0xF) | (lm & 0xF) << 4);
                ys[j - 4] = (uint8_t)(ys[j - 4] | (ls >> 4) << 6);
                ys[j] = (uint8_t)(ys[j] | (lm >> 4) << 6);
            }
        }
        yd = ck_fp32_to_fp16(max_scale / 63.0f);
        ydmin = ck_fp32_to_fp16(max_min / 63.0f);
        for (j = 0; j < CK_QK_K / 32; j++) { /* requantize with the scales as stored */
            uint8_t sc, m;
            float d, dm;
            ck__scale_min_k4(j, ys, &sc, &m);
            d = ck_fp16_to_fp32(yd) * (float)sc;
            if (d == 0.0f) continue;
            dm = ck_fp16_to_fp32(ydmin) * (float)m;
            for (l = 0; l < 32; l++) {
                int q = ck__nearest_int((x[32 * j + l] + dm) / d);
                L[32 * j + l] = (uint8_t)CK_MAX(0, CK_MIN(nmax, q));
            }
        }
        if (y4) {
            y4->d = yd;
            y4->dmin = ydmin;
            for (j = 0; j < 4; j++)
                for (l = 0; l < 32; l++) y4->qs[32 * j + l] = (uint8_t)(L[64 * j + l] | L[64 * j + 32 + l] << 4);
        } else {
            y5->d = yd;
            y5->dmin = ydmin;
            memset(y5->qh, 0, sizeof y5->qh);
            for (j = 0; j < 4; j++)
                for (l = 0; l < 32; l++) {
                    int l1 = L[64 * j + l], l2 = L[64 * j + 32 + l];
                    if (l1 > 15) { l1 -= 16; y5->qh[l] = (uint8_t)(y5->qh[l] | 1 << (2 * j)); }
                    if (l2 > 15) { l2 -= 16; y5->qh[l] = (uint8_t)(y5->qh[l] | 2 << (2 * j)); }
                    y5->qs[32 * j + l] = (uint8_t)(l1 | l2 << 4);
                }
        }
    }
}

static void ck__quant_q6_K(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q6_K *y = (ck_block_q6_K *)dst;
    int8_t L[CK_QK_K];
    float scales[CK_QK_K / 16];
    int64_t i;
    int j, l, h;
    for (i = 0; i < nb; i++, x += CK_QK_K) {
        float max_scale = 0, max_abs_scale = 0, iscale;
        for (j = 0; j < CK_QK_K / 16; j++) {
            scales[j] = ck__make_qx(16, 32, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > max_abs_scale) { max_abs_scale = fabsf(scales[j]); max_scale = scales[j]; }
        }
        if (max_abs_scale < 1e-15f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        iscale = -128.0f / max_scale;
        y[i].d = ck_fp32_to_fp16(1 / iscale);
        for (j = 0; j < CK_QK_K / 16; j++) y[i].scales[j] = (int8_t)CK_MIN(127, ck__nearest_int(iscale * scales[j]));
        for (j = 0; j < CK_QK_K / 16; j++) { /* requantize with the scales as stored */
            float d = ck_fp16_to_fp32(y[i].d) * (float)y[i].scales[j];
            if (d == 0.0f) continue;
            for (l = 0; l < 16; l++) {
                int q = ck__nearest_int(x[16 * j + l] / d);
                L[16 * j + l] = (int8_t)(CK_MAX(-32, CK_MIN(31, q)) + 32);
            }
        }
        for (h = 0; h < 2; h++)
            for (l = 0; l < 32; l++) {
                const int8_t *p = L + 128 * h + l;
                y[i].ql[64 * h + l] = (uint8_t)((p[0] & 0xF) | (p[64] & 0xF) << 4);
                y[i].ql[64 * h + 32 + l] = (uint8_t)((p[32] & 0xF) | (p[96] & 0xF) << 4);
                y[i].qh[32 * h + l] = (uint8_t)(p[0] >> 4 | (p[32] >> 4) << 2 | (p[64] >> 4) << 4 | (p[96] >> 4) << 6);
            }
    }
}

/* Q8_K: q = nearest_int(-127 / max * x), max the value of largest magnitude; d = 1 / iscale.
   (ggml leaves bsums unset in an all-zero block; here they are zero.) */
static void ck__quant_q8_K(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    ck_block_q8_K *y = (ck_block_q8_K *)dst;
    int64_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += CK_QK_K) {
        float max = 0, amax = 0, iscale;
        for (j = 0; j < CK_QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        iscale = -127.0f / max;
        for (j = 0; j < CK_QK_K; j++) y[i].qs[j] = (int8_t)CK_MIN(127, ck__nearest_int(iscale * x[j]));
        for (j = 0; j < CK_QK_K / 16; j++) {
            int sum = 0;
            for (l = 0; l < 16; l++) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

CK_DEF size_t ck_quantize_row(int type, const float *src, void *dst, int64_t n)
{
    size_t bytes = ck_row_size(type, n);
    int64_t i;
    if (!bytes) return 0;
    switch (type) {
    case CK_F32: memcpy(dst, src, bytes); break;
    case CK_F16: for (i = 0; i < n; i++) ((uint16_t *)dst)[i] = ck_fp32_to_fp16(src[i]); break;
    case CK_BF16: for (i = 0; i < n; i++) ((uint16_t *)dst)[i] = ck_fp32_to_bf16(src[i]); break;
    case CK_Q4_0: ck__quant_q4_0(src, dst, n / CK_QK); break;
    case CK_Q4_1: ck__quant_q4_1(src, dst, n / CK_QK); break;
    case CK_Q5_0: ck__quant_q5_0(src, dst, n / CK_QK); break;
    case CK_Q5_1: ck__quant_q5_1(src, dst, n / CK_QK); break;
    case CK_Q8_0: ck__quant_q8_01(src, dst, n / CK_QK, 0); break;
    case CK_Q8_1: ck__quant_q8_01(src, dst, n / CK_QK, 1); break;
    case CK_Q2_K: ck__quant_q2_K(src, dst, n / CK_QK_K); break;
    case CK_Q3_K: ck__quant_q3_K(src, dst, n / CK_QK_K); break;
    case CK_Q4_K: ck__quant_q45_K(src, dst, n / CK_QK_K, 15); break;
    case CK_Q5_K: ck__quant_q45_K(src, dst, n / CK_QK_K, 31); break;
    case CK_Q6_K: ck__quant_q6_K(src, dst, n / CK_QK_K); break;
    case CK_Q8_K: ck__quant_q8_K(src, dst, n / CK_QK_K); break;
    default: return 0;
    }
    return bytes;
}

/* ---- fast path: activation formats and integer dot products (scalar reference) ------------ */

/* Activations for the legacy formats: Q8_0's quants (d = amax / 127, q = round(x / d), ties to
   even as llama.cpp's SIMD quantizers) with d kept in fp32 (llama.cpp rounds it to fp16), and
   s = d * sum(q) as in Q8_1, for the formats with a min. The K-quants take Q8_K, ggml's.
   Both round with rintf (to nearest even, no addition a compiler could fuse into an FMA), the
   same bits as the AVX2 versions' cvtps2dq. */
typedef struct { float d, s; int8_t qs[CK_QK]; } ck__q8a;

static void ck__quant_act_q8a_scalar(const float *x, void *dst, int n)
{
    ck__q8a *y = (ck__q8a *)dst;
    int b, j;
    for (b = 0; b < n / CK_QK; b++, x += CK_QK) {
        float amax = 0.0f, d, id;
        int sum = 0;
        for (j = 0; j < CK_QK; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        d = amax / 127.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        for (j = 0; j < CK_QK; j++) {
            int q = (int)rintf(x[j] * id);
            y[b].qs[j] = (int8_t)q;
            sum += q;
        }
        y[b].d = d;
        y[b].s = d * (float)sum;
    }
}

/* ck__quant_q8_K's bits (ggml's Q8_K reference), rounding with rintf */
static void ck__quant_act_q8K_scalar(const float *x, void *dst, int n)
{
    ck_block_q8_K *y = (ck_block_q8_K *)dst;
    int b, j, l;
    for (b = 0; b < n / CK_QK_K; b++, x += CK_QK_K) {
        float max = 0, amax = 0, iscale;
        for (j = 0; j < CK_QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        iscale = -127.0f / max;
        for (j = 0; j < CK_QK_K; j++) y[b].qs[j] = (int8_t)CK_MIN(127, (int)rintf(iscale * x[j]));
        for (j = 0; j < CK_QK_K / 16; j++) {
            int sum = 0;
            for (l = 0; l < 16; l++) sum += y[b].qs[16 * j + l];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}

/* One weight row segment (nb blocks) against na activation rows a[k] (segment of the same
   columns): res[k] = sum over blocks of the block's dot product. Integer sums per block, one
   float multiply-add per block (two with a min); the AVX2 kernels compute the same integers. */
typedef void (*ck__qdot_fn)(const void *w, const void *const *a, int nb, int na, float *res);

static void ck__qdot_q4_0_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q4_0 *w = (const ck_block_q4_0 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck__q8a *a = (const ck__q8a *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++)
                sumi += ((w[b].qs[j] & 15) - 8) * a[b].qs[j] + ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + CK_QK / 2];
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)sumi;
        }
        res[k] = sum;
    }
}

static void ck__qdot_q4_1_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q4_1 *w = (const ck_block_q4_1 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck__q8a *a = (const ck__q8a *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++) sumi += (w[b].qs[j] & 15) * a[b].qs[j] + (w[b].qs[j] >> 4) * a[b].qs[j + CK_QK / 2];
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)sumi + ck_fp16_to_fp32(w[b].m) * a[b].s;
        }
        res[k] = sum;
    }
}

static void ck__qdot_q5_0_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q5_0 *w = (const ck_block_q5_0 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck__q8a *a = (const ck__q8a *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            uint32_t qh = ck__le32(w[b].qh);
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++) {
                int q0 = (int)((w[b].qs[j] & 15) | ((qh >> j) & 1) << 4), q1 = (int)((w[b].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
                sumi += (q0 - 16) * a[b].qs[j] + (q1 - 16) * a[b].qs[j + CK_QK / 2];
            }
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)sumi;
        }
        res[k] = sum;
    }
}

static void ck__qdot_q5_1_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q5_1 *w = (const ck_block_q5_1 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck__q8a *a = (const ck__q8a *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            uint32_t qh = ck__le32(w[b].qh);
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++) {
                int q0 = (int)((w[b].qs[j] & 15) | ((qh >> j) & 1) << 4), q1 = (int)((w[b].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
                sumi += q0 * a[b].qs[j] + q1 * a[b].qs[j + CK_QK / 2];
            }
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)sumi + ck_fp16_to_fp32(w[b].m) * a[b].s;
        }
        res[k] = sum;
    }
}

static void ck__qdot_q8_0_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q8_0 *w = (const ck_block_q8_0 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck__q8a *a = (const ck__q8a *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int sumi = 0;
            for (j = 0; j < CK_QK; j++) sumi += w[b].qs[j] * a[b].qs[j];
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)sumi;
        }
        res[k] = sum;
    }
}

#if CK_HAVE_MVE
/* Helium: the same integer sums as the scalar kernels (16 products per vmladav), the same float
   operations in the same order: bit-identical results. Byte loads need no alignment. */
static void ck__qdot_q8_0_mve(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q8_0 *w = (const ck_block_q8_0 *)vw;
    int k, b;
    for (k = 0; k < na; k++) {
        const ck__q8a *a = (const ck__q8a *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int32_t sumi = vmladavq_s8(vld1q_s8(w[b].qs), vld1q_s8(a[b].qs));
            sumi = vmladavaq_s8(sumi, vld1q_s8(w[b].qs + 16), vld1q_s8(a[b].qs + 16));
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)sumi;
        }
        res[k] = sum;
    }
}
static void ck__qdot_q4_0_mve(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q4_0 *w = (const ck_block_q4_0 *)vw;
    int k, b;
    for (k = 0; k < na; k++) {
        const ck__q8a *a = (const ck__q8a *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            uint8x16_t q = vld1q_u8(w[b].qs);
            int8x16_t lo = vsubq_n_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(15))), 8);
            int8x16_t hi = vsubq_n_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), 8);
            int32_t sumi = vmladavq_s8(lo, vld1q_s8(a[b].qs));
            sumi = vmladavaq_s8(sumi, hi, vld1q_s8(a[b].qs + 16));
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)sumi;
        }
        res[k] = sum;
    }
}
#endif

/* Q4_K / Q5_K x Q8_K: d * ad * sum_j sc_j (q . a)_j  -  dmin * ad * sum_j m_j (sum of a)_j */
static void ck__qdot_q45_K_scalar(const void *vw, const void *const *va, int nb, int na, float *res, int five)
{
    int k, b, j, l;
    for (k = 0; k < na; k++) {
        const ck_block_q8_K *a = (const ck_block_q8_K *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            const ck_block_q4_K *w4 = (const ck_block_q4_K *)vw + b;
            const ck_block_q5_K *w5 = (const ck_block_q5_K *)vw + b;
            const uint8_t *scales = five ? w5->scales : w4->scales, *qs = five ? w5->qs : w4->qs;
            int isum = 0, imin = 0;
            for (j = 0; j < 8; j++) {
                uint8_t sc, m;
                int dot = 0;
                ck__scale_min_k4(j, scales, &sc, &m);
                for (l = 0; l < 32; l++) {
                    int q = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15;
                    if (five) q |= ((w5->qh[l] >> j) & 1) << 4;
                    dot += q * a[b].qs[32 * j + l];
                }
                isum += sc * dot;
                imin += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            }
            sum += ck_fp16_to_fp32(five ? w5->d : w4->d) * a[b].d * (float)isum
                 - ck_fp16_to_fp32(five ? w5->dmin : w4->dmin) * a[b].d * (float)imin;
        }
        res[k] = sum;
    }
}
static void ck__qdot_q4_K_scalar(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_scalar(w, a, nb, na, res, 0); }
static void ck__qdot_q5_K_scalar(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_scalar(w, a, nb, na, res, 1); }

/* Q6_K x Q8_K: d * ad * sum_g sc_g (q - 32 . a)_g over the 16 groups of 16 */
static void ck__qdot_q6_K_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q6_K *w = (const ck_block_q6_K *)vw;
    int k, b, g, l;
    for (k = 0; k < na; k++) {
        const ck_block_q8_K *a = (const ck_block_q8_K *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int isum = 0;
            for (g = 0; g < 16; g++) {
                int dot = 0;
                for (l = 0; l < 16; l++) dot += (ck__q6_K_quant(&w[b], 16 * g + l) - 32) * a[b].qs[16 * g + l];
                isum += w[b].scales[g] * dot;
            }
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)isum;
        }
        res[k] = sum;
    }
}

#if CK_HAVE_AVX2
/* ---- AVX2: dequantization (bit-identical to the scalar code: the same roundings, no FMA) --- */

static inline __m256i ck__load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* 16 bytes of nibbles -> 32 bytes: the low nibbles (values 0..15), then the high ones (16..31) */
static inline __m256i ck__nibbles_avx2(const uint8_t *qs)
{
    __m128i t = _mm_loadu_si128((const __m128i *)(const void *)qs);
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(v, _mm256_set1_epi8(15));
}

/* y[0..31] = (float)q[i] * d8 for 32 signed bytes; y[0..15] use d0, y[16..31] use d1 */
static inline void ck__i8x32_to_f32_avx2(float *y, __m256i q, __m256 d0, __m256 d1)
{
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d0));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d0));
    _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d1));
    _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d1));
}

static void ck__dequant_q4_0_avx2(const void *src, float *y, int64_t nb)
{
    const ck_block_q4_0 *x = (const ck_block_q4_0 *)src;
    int64_t i;
    for (i = 0; i < nb; i++, y += CK_QK) {
        __m256 d = _mm256_set1_ps(ck__h2f(x[i].d));
        ck__i8x32_to_f32_avx2(y, _mm256_sub_epi8(ck__nibbles_avx2(x[i].qs), _mm256_set1_epi8(8)), d, d);
    }
}

static void ck__dequant_q8_0_avx2(const void *src, float *y, int64_t nb)
{
    const ck_block_q8_0 *x = (const ck_block_q8_0 *)src;
    int64_t i;
    for (i = 0; i < nb; i++, y += CK_QK) {
        __m256 d = _mm256_set1_ps(ck__h2f(x[i].d));
        ck__i8x32_to_f32_avx2(y, ck__load256(x[i].qs), d, d);
    }
}

/* y[0..31] = d * q[i] + m (sub: d * q[i] - m) for 32 unsigned bytes, two roundings as in C */
static inline void ck__u8x32_affine_avx2(float *y, __m256i q, __m256 d, __m256 m, int sub)
{
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m256 v0 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)));
    __m256 v1 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))));
    __m256 v2 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)));
    __m256 v3 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))));
    _mm256_storeu_ps(y, sub ? _mm256_sub_ps(v0, m) : _mm256_add_ps(v0, m));
    _mm256_storeu_ps(y + 8, sub ? _mm256_sub_ps(v1, m) : _mm256_add_ps(v1, m));
    _mm256_storeu_ps(y + 16, sub ? _mm256_sub_ps(v2, m) : _mm256_add_ps(v2, m));
    _mm256_storeu_ps(y + 24, sub ? _mm256_sub_ps(v3, m) : _mm256_add_ps(v3, m));
}

/* byte i = 0xFF if bit i of the 32-bit bits is set (the fifth bits of Q5_0 / Q5_1) */
static inline __m256i ck__bits_to_bytes_avx2(uint32_t bits)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128,
                                         1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

static void ck__dequant_q4_1_avx2(const void *src, float *y, int64_t nb)
{
    const ck_block_q4_1 *x = (const ck_block_q4_1 *)src;
    int64_t i;
    for (i = 0; i < nb; i++, y += CK_QK)
        ck__u8x32_affine_avx2(y, ck__nibbles_avx2(x[i].qs), _mm256_set1_ps(ck__h2f(x[i].d)), _mm256_set1_ps(ck__h2f(x[i].m)), 0);
}

static void ck__dequant_q5_0_avx2(const void *src, float *y, int64_t nb)
{
    const ck_block_q5_0 *x = (const ck_block_q5_0 *)src;
    int64_t i;
    for (i = 0; i < nb; i++, y += CK_QK) { /* q - 16: the nibble, or nibble | 0xF0 (nibble - 16) when bit 4 is clear */
        __m256i hi = _mm256_andnot_si256(ck__bits_to_bytes_avx2(ck__le32(x[i].qh)), _mm256_set1_epi8((char)0xF0));
        __m256 d = _mm256_set1_ps(ck__h2f(x[i].d));
        ck__i8x32_to_f32_avx2(y, _mm256_or_si256(ck__nibbles_avx2(x[i].qs), hi), d, d);
    }
}

static void ck__dequant_q5_1_avx2(const void *src, float *y, int64_t nb)
{
    const ck_block_q5_1 *x = (const ck_block_q5_1 *)src;
    int64_t i;
    for (i = 0; i < nb; i++, y += CK_QK) {
        __m256i hi = _mm256_and_si256(ck__bits_to_bytes_avx2(ck__le32(x[i].qh)), _mm256_set1_epi8(16));
        ck__u8x32_affine_avx2(y, _mm256_or_si256(ck__nibbles_avx2(x[i].qs), hi), _mm256_set1_ps(ck__h2f(x[i].d)),
                              _mm256_set1_ps(ck__h2f(x[i].m)), 0);
    }
}

/* Q4_K and Q5_K: sub-block j is nibble j % 2 of qs[32 (j / 2) + l], plus bit j of qh[l] for Q5_K */
static void ck__dequant_q45_K_avx2(const void *src, float *y, int64_t nb, int five)
{
    int64_t i;
    int j;
    for (i = 0; i < nb; i++) {
        const ck_block_q4_K *x4 = (const ck_block_q4_K *)src + i;
        const ck_block_q5_K *x5 = (const ck_block_q5_K *)src + i;
        const uint8_t *scales = five ? x5->scales : x4->scales, *qs = five ? x5->qs : x4->qs;
        float d = ck__h2f(five ? x5->d : x4->d), dmin = ck__h2f(five ? x5->dmin : x4->dmin);
        __m256i qh = five ? ck__load256(x5->qh) : _mm256_setzero_si256();
        for (j = 0; j < 8; j++, y += 32) {
            uint8_t sc, m;
            __m256i q = ck__load256(qs + 32 * (j / 2));
            ck__scale_min_k4(j, scales, &sc, &m);
            q = _mm256_and_si256(j & 1 ? _mm256_srli_epi16(q, 4) : q, _mm256_set1_epi8(15));
            if (five) { /* bit j of each qh byte, moved to bit 4 */
                q = _mm256_or_si256(q, _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(1)), 4));
                qh = _mm256_srli_epi16(qh, 1);
            }
            ck__u8x32_affine_avx2(y, q, _mm256_set1_ps(d * (float)sc), _mm256_set1_ps(dmin * (float)m), 1);
        }
    }
}

static void ck__dequant_q6_K_avx2(const void *src, float *y, int64_t nb)
{
    const ck_block_q6_K *x = (const ck_block_q6_K *)src;
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3), c32 = _mm256_set1_epi8(32);
    int64_t i;
    int h, k;
    for (i = 0; i < nb; i++) {
        float d = ck__h2f(x[i].d);
        for (h = 0; h < 2; h++) {
            __m256i ql0 = ck__load256(x[i].ql + 64 * h), ql1 = ck__load256(x[i].ql + 64 * h + 32), qh = ck__load256(x[i].qh + 32 * h);
            for (k = 0; k < 4; k++, y += 32) { /* values 128h + 32k + l */
                __m256i lo = _mm256_and_si256(k & 2 ? _mm256_srli_epi16(k & 1 ? ql1 : ql0, 4) : (k & 1 ? ql1 : ql0), m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
                __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), c32);
                int g = 8 * h + 2 * k;
                ck__i8x32_to_f32_avx2(y, q, _mm256_set1_ps(d * (float)x[i].scales[g]), _mm256_set1_ps(d * (float)x[i].scales[g + 1]));
            }
        }
    }
}

static void ck__dequant_f16_avx2(const void *src, float *y, int64_t n)
{
    const uint16_t *x = (const uint16_t *)src;
    int64_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(x + i))));
#endif
    for (; i < n; i++) y[i] = ck_fp16_to_fp32(x[i]);
}

static void ck__dequant_bf16_avx2(const void *src, float *y, int64_t n)
{
    const uint16_t *x = (const uint16_t *)src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
    }
    for (; i < n; i++) y[i] = ck_bf16_to_fp32(x[i]);
}

static void ck__dequant_avx2(int type, const void *src, float *dst, int64_t n)
{
    switch (type) {
    case CK_F16: ck__dequant_f16_avx2(src, dst, n); break;
    case CK_BF16: ck__dequant_bf16_avx2(src, dst, n); break;
    case CK_Q4_0: ck__dequant_q4_0_avx2(src, dst, n / CK_QK); break;
    case CK_Q4_1: ck__dequant_q4_1_avx2(src, dst, n / CK_QK); break;
    case CK_Q5_0: ck__dequant_q5_0_avx2(src, dst, n / CK_QK); break;
    case CK_Q5_1: ck__dequant_q5_1_avx2(src, dst, n / CK_QK); break;
    case CK_Q8_0: ck__dequant_q8_0_avx2(src, dst, n / CK_QK); break;
    case CK_Q4_K: ck__dequant_q45_K_avx2(src, dst, n / CK_QK_K, 0); break;
    case CK_Q5_K: ck__dequant_q45_K_avx2(src, dst, n / CK_QK_K, 1); break;
    case CK_Q6_K: ck__dequant_q6_K_avx2(src, dst, n / CK_QK_K); break;
    default: ck__dequant_scalar(type, src, dst, n);
    }
}

/* ---- AVX2: activation quantizers (the same bits as the scalar ones) ------------------------ */

static inline float ck__hmax_avx2(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline int ck__hsum_i32_avx2(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

/* 32 int32 (as 4 x 8) -> 32 int8 in order (values are within -127..127) */
static inline __m256i ck__pack_i32x32_avx2(__m256i i0, __m256i i1, __m256i i2, __m256i i3)
{
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void ck__quant_act_q8a_avx2(const float *x, void *dst, int n)
{
    ck__q8a *y = (ck__q8a *)dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    int b;
    for (b = 0; b < n / CK_QK; b++, x += CK_QK) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24), vid;
        __m256i i0, i1, i2, i3;
        float amax = ck__hmax_avx2(_mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3))));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        vid = _mm256_set1_ps(id);
        i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid)); /* round to nearest even, like ck__nearest_int */
        i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid));
        i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid));
        i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid));
        y[b].d = d;
        y[b].s = d * (float)ck__hsum_i32_avx2(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
        _mm256_storeu_si256((__m256i *)(void *)y[b].qs, ck__pack_i32x32_avx2(i0, i1, i2, i3));
    }
}

static void ck__quant_act_q8K_avx2(const float *x, void *dst, int n)
{
    ck_block_q8_K *y = (ck_block_q8_K *)dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i q127 = _mm256_set1_epi32(127);
    int b, j, l;
    for (b = 0; b < n / CK_QK_K; b++, x += CK_QK_K) {
        __m256 m = _mm256_setzero_ps(), vis;
        float amax, max = 0.0f, iscale;
        for (j = 0; j < CK_QK_K; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        amax = ck__hmax_avx2(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        for (j = 0; j < CK_QK_K; j++) /* the first value of largest magnitude, as the scalar loop finds it */
            if (fabsf(x[j]) == amax) { max = x[j]; break; }
        iscale = -127.0f / max;
        vis = _mm256_set1_ps(iscale);
        for (j = 0; j < CK_QK_K; j += 32) {
            __m256i i0 = _mm256_min_epi32(q127, _mm256_cvtps_epi32(_mm256_mul_ps(vis, _mm256_loadu_ps(x + j))));
            __m256i i1 = _mm256_min_epi32(q127, _mm256_cvtps_epi32(_mm256_mul_ps(vis, _mm256_loadu_ps(x + j + 8))));
            __m256i i2 = _mm256_min_epi32(q127, _mm256_cvtps_epi32(_mm256_mul_ps(vis, _mm256_loadu_ps(x + j + 16))));
            __m256i i3 = _mm256_min_epi32(q127, _mm256_cvtps_epi32(_mm256_mul_ps(vis, _mm256_loadu_ps(x + j + 24))));
            _mm256_storeu_si256((__m256i *)(void *)(y[b].qs + j), ck__pack_i32x32_avx2(i0, i1, i2, i3));
        }
        for (j = 0; j < CK_QK_K / 16; j++) {
            int sum = 0;
            for (l = 0; l < 16; l++) sum += y[b].qs[16 * j + l];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}

/* ---- AVX2: integer dot products ----------------------------------------------------------
   Each kernel takes one weight row segment against 1 or 4 activation rows (na > 1 means 4:
   the caller repeats a row for the missing ones); the weight block is unpacked once for all.
   Every row k keeps its own 8-lane accumulator, updated in the same order whatever na is,
   so a row's result does not depend on how rows are grouped. */

#define CK__QDOT_ROWS(STEP) do { acc0 = STEP(acc0, 0); if (na > 1) { acc1 = STEP(acc1, 1); acc2 = STEP(acc2, 2); acc3 = STEP(acc3, 3); } } while (0)
#define CK__QDOT_RESULT() do { res[0] = ck__hsum(acc0); if (na > 1) { res[1] = ck__hsum(acc1); res[2] = ck__hsum(acc2); res[3] = ck__hsum(acc3); } } while (0)

/* signed weights w (|w| <= 128, wabs = |w|) . activation block: acc += (dw * a.d) * sum, lane-wise */
static inline __m256 ck__acc_q8s_avx2(__m256 acc, __m256i wabs, __m256i w, const ck__q8a *a, __m256 dw)
{
    __m256i p = _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(ck__load256(a->qs), w)); /* |w| * (a * sign w): pairs, exact */
    __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    return _mm256_fmadd_ps(s, _mm256_mul_ps(dw, _mm256_broadcast_ss(&a->d)), acc);
}

/* unsigned weights w (<= 31) with a min: acc += (dw * a.d) * sum + m * a.s (m0: the min in lane 0) */
static inline __m256 ck__acc_q8u_avx2(__m256 acc, __m256i w, __m256 m0, const ck__q8a *a, __m256 dw)
{
    __m256i p = _mm256_maddubs_epi16(w, ck__load256(a->qs));
    __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    acc = _mm256_fmadd_ps(s, _mm256_mul_ps(dw, _mm256_broadcast_ss(&a->d)), acc);
    return _mm256_fmadd_ps(m0, _mm256_broadcast_ss(&a->s), acc);
}

#define CK__STEP_S(acc, k) ck__acc_q8s_avx2(acc, wabs, wq, (const ck__q8a *)a[k] + b, dw)
#define CK__STEP_U(acc, k) ck__acc_q8u_avx2(acc, wq, m0, (const ck__q8a *)a[k] + b, dw)

static void ck__qdot_q4_0_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q4_0 *w = (const ck_block_q4_0 *)vw;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b;
    for (b = 0; b < nb; b++) {
        __m256i wq = _mm256_sub_epi8(ck__nibbles_avx2(w[b].qs), _mm256_set1_epi8(8)), wabs = _mm256_sign_epi8(wq, wq);
        __m256 dw = _mm256_set1_ps(ck__h2f(w[b].d));
        CK__QDOT_ROWS(CK__STEP_S);
    }
    CK__QDOT_RESULT();
}

static void ck__qdot_q5_0_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q5_0 *w = (const ck_block_q5_0 *)vw;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b;
    for (b = 0; b < nb; b++) { /* q - 16 = nibble, or nibble | 0xF0 (nibble - 16) when bit 4 is clear */
        __m256i hi = _mm256_andnot_si256(ck__bits_to_bytes_avx2(ck__le32(w[b].qh)), _mm256_set1_epi8((char)0xF0));
        __m256i wq = _mm256_or_si256(ck__nibbles_avx2(w[b].qs), hi), wabs = _mm256_sign_epi8(wq, wq);
        __m256 dw = _mm256_set1_ps(ck__h2f(w[b].d));
        CK__QDOT_ROWS(CK__STEP_S);
    }
    CK__QDOT_RESULT();
}

static void ck__qdot_q8_0_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q8_0 *w = (const ck_block_q8_0 *)vw;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b;
    for (b = 0; b < nb; b++) {
        __m256i wq = ck__load256(w[b].qs), wabs = _mm256_sign_epi8(wq, wq);
        __m256 dw = _mm256_set1_ps(ck__h2f(w[b].d));
        CK__QDOT_ROWS(CK__STEP_S);
    }
    CK__QDOT_RESULT();
}

static void ck__qdot_q4_1_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q4_1 *w = (const ck_block_q4_1 *)vw;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b;
    for (b = 0; b < nb; b++) {
        __m256i wq = ck__nibbles_avx2(w[b].qs);
        __m256 m0 = _mm256_blend_ps(_mm256_setzero_ps(), _mm256_set1_ps(ck__h2f(w[b].m)), 1);
        __m256 dw = _mm256_set1_ps(ck__h2f(w[b].d));
        CK__QDOT_ROWS(CK__STEP_U);
    }
    CK__QDOT_RESULT();
}

static void ck__qdot_q5_1_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q5_1 *w = (const ck_block_q5_1 *)vw;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b;
    for (b = 0; b < nb; b++) {
        __m256i hi = _mm256_and_si256(ck__bits_to_bytes_avx2(ck__le32(w[b].qh)), _mm256_set1_epi8(16));
        __m256i wq = _mm256_or_si256(ck__nibbles_avx2(w[b].qs), hi);
        __m256 m0 = _mm256_blend_ps(_mm256_setzero_ps(), _mm256_set1_ps(ck__h2f(w[b].m)), 1);
        __m256 dw = _mm256_set1_ps(ck__h2f(w[b].d));
        CK__QDOT_ROWS(CK__STEP_U);
    }
    CK__QDOT_RESULT();
}
#undef CK__STEP_S
#undef CK__STEP_U

/* the 6-bit scales and mins of a Q4_K / Q5_K block as 16 bytes: sc_0..sc_7, m_0..m_7
   (ck__scale_min_k4 for all j at once, on 32-bit words of the little-endian scales[12]) */
static inline __m128i ck__scales_mins_k4_avx2(const uint8_t *s)
{
    uint32_t w0 = ck__le32(s), w1 = ck__le32(s + 4), w2 = ck__le32(s + 8), r[4];
    r[0] = w0 & 0x3f3f3f3fu;                                              /* sc 0..3 */
    r[1] = (w2 & 0x0f0f0f0fu) | ((w0 >> 6) & 0x03030303u) << 4;          /* sc 4..7 */
    r[2] = w1 & 0x3f3f3f3fu;                                              /* m 0..3 */
    r[3] = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 6) & 0x03030303u) << 4;   /* m 4..7 */
    return _mm_loadu_si128((const __m128i *)(const void *)r);
}

/* shuffle controls that broadcast int16 element k of each 128-bit lane to the whole lane */
static const uint16_t ck__bcast16[8][16] = {
#define CK__B16(k) { 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, \
                     0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, \
                     0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, \
                     0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k, 0x0100 + 0x0202 * k }
    CK__B16(0), CK__B16(1), CK__B16(2), CK__B16(3), CK__B16(4), CK__B16(5), CK__B16(6), CK__B16(7)
#undef CK__B16
};

/* Q4_K / Q5_K: per row, 8 int32 lanes of sum_j sc_j (q . a)_j over the super-block, then
   acc += (d * ad) * that - (dmin * ad) * (m_j . bsums) */
static inline void ck__qdot_q45_K_avx2(const void *vw, const void *const *a, int nb, int na, float *res, int five)
{
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1), two = _mm256_set1_epi8(2);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b, c;
    for (b = 0; b < nb; b++) {
        const ck_block_q4_K *w4 = (const ck_block_q4_K *)vw + b;
        const ck_block_q5_K *w5 = (const ck_block_q5_K *)vw + b;
        const uint8_t *scales = five ? w5->scales : w4->scales, *qs = five ? w5->qs : w4->qs;
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0] + b, *a1 = (const ck_block_q8_K *)a[na > 1 ? 1 : 0] + b;
        const ck_block_q8_K *a2 = (const ck_block_q8_K *)a[na > 1 ? 2 : 0] + b, *a3 = (const ck_block_q8_K *)a[na > 1 ? 3 : 0] + b;
        __m128i sm = ck__scales_mins_k4_avx2(scales);
        __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm)); /* sc_0..sc_7 as int16, in both lanes */
        __m256i mins = _mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8));
        float d = ck__h2f(five ? w5->d : w4->d), dmin = ck__h2f(five ? w5->dmin : w4->dmin);
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0, qh = five ? ck__load256(w5->qh) : s0;
        mins = _mm256_or_si256(mins, _mm256_slli_epi32(mins, 16)); /* int16 pairs (m_j, m_j) */
        for (c = 0; c < 4; c++) { /* sub-blocks 2c (low nibbles) and 2c + 1 (high nibbles) */
            __m256i q = ck__load256(qs + 32 * c);
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            __m256i slo = _mm256_shuffle_epi8(sc16, ck__load256(ck__bcast16[2 * c]));
            __m256i shi = _mm256_shuffle_epi8(sc16, ck__load256(ck__bcast16[2 * c + 1]));
            if (five) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(qh, one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(qh, two), 3));
                qh = _mm256_srli_epi16(qh, 2);
            }
#define CK__STEP_K(s, ak) s = _mm256_add_epi32(s, _mm256_add_epi32(                                   \
                  _mm256_madd_epi16(_mm256_maddubs_epi16(lo, ck__load256(ak->qs + 64 * c)), slo),      \
                  _mm256_madd_epi16(_mm256_maddubs_epi16(hi, ck__load256(ak->qs + 64 * c + 32)), shi)))
            CK__STEP_K(s0, a0);
            if (na > 1) { CK__STEP_K(s1, a1); CK__STEP_K(s2, a2); CK__STEP_K(s3, a3); }
#undef CK__STEP_K
        }
#define CK__FINISH_K(acc, s, ak)                                                                      \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * ak->d), acc);                 \
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(ck__load256(ak->bsums), mins)),   \
                               _mm256_set1_ps(dmin * ak->d), acc)
        CK__FINISH_K(acc0, s0, a0);
        if (na > 1) { CK__FINISH_K(acc1, s1, a1); CK__FINISH_K(acc2, s2, a2); CK__FINISH_K(acc3, s3, a3); }
#undef CK__FINISH_K
    }
    CK__QDOT_RESULT();
}
static void ck__qdot_q4_K_avx2(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_avx2(w, a, nb, na, res, 0); }
static void ck__qdot_q5_K_avx2(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_avx2(w, a, nb, na, res, 1); }

/* Q6_K: per row, sum_g sc_g (q_u . a)_g - 32 sum_g sc_g bsum_g in 8 int32 lanes (q_u = q + 32,
   unsigned, for maddubs), then acc += (d * ad) * that */
static void ck__qdot_q6_K_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q6_K *w = (const ck_block_q6_K *)vw;
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    const __m128i even_odd = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b, h, k;
    for (b = 0; b < nb; b++) {
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0] + b, *a1 = (const ck_block_q8_K *)a[na > 1 ? 1 : 0] + b;
        const ck_block_q8_K *a2 = (const ck_block_q8_K *)a[na > 1 ? 2 : 0] + b, *a3 = (const ck_block_q8_K *)a[na > 1 ? 3 : 0] + b;
        __m128i sc8 = _mm_loadu_si128((const __m128i *)(const void *)w[b].scales);
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8);                                  /* sc_g, g = 0..15, for the bsums */
        __m256i sc_eo = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, even_odd));   /* even groups | odd groups */
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        float d = ck__h2f(w[b].d);
        for (h = 0; h < 2; h++) {
            __m256i ql0 = ck__load256(w[b].ql + 64 * h), ql1 = ck__load256(w[b].ql + 64 * h + 32), qh = ck__load256(w[b].qh + 32 * h);
            for (k = 0; k < 4; k++) { /* 32 values 128h + 32k + l: groups 8h + 2k (lanes 0-7) and 8h + 2k + 1 (8-15) */
                int i = 4 * h + k;
                __m256i lo = _mm256_and_si256(k & 2 ? _mm256_srli_epi16(k & 1 ? ql1 : ql0, 4) : (k & 1 ? ql1 : ql0), m4);
                __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2), 4));
                __m256i scv = _mm256_shuffle_epi8(sc_eo, ck__load256(ck__bcast16[i]));
#define CK__STEP_6(s, ak) s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(q, ck__load256(ak->qs + 32 * i)), scv))
                CK__STEP_6(s0, a0);
                if (na > 1) { CK__STEP_6(s1, a1); CK__STEP_6(s2, a2); CK__STEP_6(s3, a3); }
#undef CK__STEP_6
            }
        }
#define CK__FINISH_6(acc, s, ak)                                                                            \
        s = _mm256_sub_epi32(s, _mm256_slli_epi32(_mm256_madd_epi16(ck__load256(ak->bsums), sc16), 5));    \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * ak->d), acc)
        CK__FINISH_6(acc0, s0, a0);
        if (na > 1) { CK__FINISH_6(acc1, s1, a1); CK__FINISH_6(acc2, s2, a2); CK__FINISH_6(acc3, s3, a3); }
#undef CK__FINISH_6
    }
    CK__QDOT_RESULT();
}
#undef CK__QDOT_ROWS
#undef CK__QDOT_RESULT
#endif /* CK_HAVE_AVX2 */

/* ---- quantized matmul drivers ------------------------------------------------------------- */

/* rows [*lo, *hi) of n that the calling thread of the enclosing parallel region owns */
static void ck__thread_rows(int n, int *lo, int *hi)
{
    int ith = 0, nth = 1;
#ifdef _OPENMP
    ith = omp_get_thread_num();
    nth = omp_get_num_threads();
#endif
    *lo = (int)((int64_t)n * ith / nth);
    *hi = (int)((int64_t)n * (ith + 1) / nth);
}

static void ck__init_out_rows(float *out, const float *bias, int T, int OC, int o_lo, int o_hi)
{
    int t, o;
    for (t = 0; t < T; t++)
        for (o = o_lo; o < o_hi; o++) out[(size_t)t * OC + o] = bias ? bias[o] : 0.0f;
}

/* The fast path's kernel for a weight type (NULL: none, the exact path serves it); *act_q8K
   tells the activation format: Q8_K for the K-quants, ck__q8a for the legacy formats. */
static ck__qdot_fn ck__qdot_kernel(int type, int simd, int *act_q8K)
{
    *act_q8K = type == CK_Q4_K || type == CK_Q5_K || type == CK_Q6_K;
#if CK_HAVE_AVX2
    if (simd) switch (type) {
        case CK_Q4_0: return ck__qdot_q4_0_avx2;
        case CK_Q4_1: return ck__qdot_q4_1_avx2;
        case CK_Q5_0: return ck__qdot_q5_0_avx2;
        case CK_Q5_1: return ck__qdot_q5_1_avx2;
        case CK_Q8_0: return ck__qdot_q8_0_avx2;
        case CK_Q4_K: return ck__qdot_q4_K_avx2;
        case CK_Q5_K: return ck__qdot_q5_K_avx2;
        case CK_Q6_K: return ck__qdot_q6_K_avx2;
        default: return NULL;
    }
#elif CK_HAVE_MVE
    if (simd) switch (type) { /* the other types take their scalar kernels */
        case CK_Q4_0: return ck__qdot_q4_0_mve;
        case CK_Q8_0: return ck__qdot_q8_0_mve;
        default: break;
    }
#else
    (void)simd;
#endif
    switch (type) {
    case CK_Q4_0: return ck__qdot_q4_0_scalar;
    case CK_Q4_1: return ck__qdot_q4_1_scalar;
    case CK_Q5_0: return ck__qdot_q5_0_scalar;
    case CK_Q5_1: return ck__qdot_q5_1_scalar;
    case CK_Q8_0: return ck__qdot_q8_0_scalar;
    case CK_Q4_K: return ck__qdot_q4_K_scalar;
    case CK_Q5_K: return ck__qdot_q5_K_scalar;
    case CK_Q6_K: return ck__qdot_q6_K_scalar;
    default: return NULL;
    }
}

/* Fast path. Each thread owns a range of output columns (weight rows). Per C segment and per
   tile of at most 8 activation rows, the thread quantizes the tile into a stack buffer
   (<= 8*CK_QSEG values) and runs every weight row of a panel against it, 4 activation rows
   per kernel call; the panel (OB rows x one segment) stays in L2 across the tiles. Each output
   is the same sequence of operations whichever thread computes it: bit-identical for any
   thread count. */
static void ck__matmul_q_fast(int simd, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    int act_q8K, qk = (int)ck_type_block_size(type);
    ck__qdot_fn dot = ck__qdot_kernel(type, simd, &act_q8K);
    void (*quant_act)(const float *, void *, int);
    size_t row_bytes = ck_row_size(type, C), wblock_bytes = ck_type_block_bytes(type);
    size_t act_block_bytes = act_q8K ? sizeof(ck_block_q8_K) : sizeof(ck__q8a);
    int act_qk = act_q8K ? CK_QK_K : CK_QK;
    int TB = CK_MIN(T, 8), S = 8 * CK_QSEG / CK_MAX(TB, 1) / CK_QK_K * CK_QK_K, OB;
    quant_act = act_q8K ? ck__quant_act_q8K_scalar : ck__quant_act_q8a_scalar;
#if CK_HAVE_AVX2
    if (simd) quant_act = act_q8K ? ck__quant_act_q8K_avx2 : ck__quant_act_q8a_avx2;
#endif
    /* with one tile nothing is reused: a thread streams all its rows per segment */
    OB = T <= TB ? OC : (int)CK_MAX(4, (256 << 10) / ((size_t)S / (size_t)qk * wblock_bytes));
    CK_OMP(omp parallel if ((double)T * OC * C > CK_OMP_MIN_WORK))
    {
        union { ck_block_q8_K k[8 * CK_QSEG / CK_QK_K]; ck__q8a a[8 * CK_QSEG / CK_QK]; } act;
        char *act_bytes = (char *)&act;
        int o_lo, o_hi, ob, c0, t0, t, o, k;
        ck__thread_rows(OC, &o_lo, &o_hi);
        ck__init_out_rows(out, bias, T, OC, o_lo, o_hi);
        for (ob = o_lo; ob < o_hi; ob += OB) {
            int ob1 = CK_MIN(o_hi, ob + OB);
            for (c0 = 0; c0 < C; c0 += S) {
                int cs = CK_MIN(S, C - c0), nb = cs / qk, nba = cs / act_qk;
                for (t0 = 0; t0 < T; t0 += TB) {
                    int nt = CK_MIN(TB, T - t0);
                    for (t = 0; t < nt; t++) quant_act(inp + (size_t)(t0 + t) * C + c0, act_bytes + (size_t)t * nba * act_block_bytes, cs);
                    for (o = ob; o < ob1; o++) {
                        const void *w = (const char *)weight + (size_t)o * row_bytes + (size_t)(c0 / qk) * wblock_bytes;
                        for (t = 0; t < nt; t += 4) {
                            const void *a[4];
                            float res[4];
                            int na = CK_MIN(4, nt - t);
                            for (k = 0; k < 4; k++) a[k] = act_bytes + (size_t)(t + CK_MIN(k, na - 1)) * nba * act_block_bytes;
                            dot(w, a, nb, na, res);
                            for (k = 0; k < na; k++) out[(size_t)(t0 + t + k) * OC + o] += res[k];
                        }
                    }
                }
            }
        }
    }
}

/* Exact path, scalar: each weight row segment is dequantized once into the stack and dotted
   with every activation row. */
static void ck__matmul_q_exact_scalar(int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    int qk = (int)ck_type_block_size(type);
    size_t row_bytes = ck_row_size(type, C), wblock_bytes = ck_type_block_bytes(type);
    CK_OMP(omp parallel if ((double)T * OC * C > CK_OMP_MIN_WORK))
    {
        float wseg[CK_QSEG];
        int o_lo, o_hi, o, c0, t;
        ck__thread_rows(OC, &o_lo, &o_hi);
        ck__init_out_rows(out, bias, T, OC, o_lo, o_hi);
        for (o = o_lo; o < o_hi; o++)
            for (c0 = 0; c0 < C; c0 += CK_QSEG) {
                int cs = CK_MIN(CK_QSEG, C - c0);
                ck__dequant_scalar(type, (const char *)weight + (size_t)o * row_bytes + (size_t)(c0 / qk) * wblock_bytes, wseg, cs);
                for (t = 0; t < T; t++) out[(size_t)t * OC + o] += ck__dot_scalar(inp + (size_t)t * C + c0, wseg, cs);
            }
    }
}

#if CK_HAVE_AVX2
/* Exact path, AVX2: 6 weight rows x CK_QSEG/2 values dequantized at a time (12 KB of stack),
   then the FP32 register tiles of ck_matmul_forward_avx2 accumulate them into out. */
static void ck__matmul_q_exact_avx2(int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    enum { RG = 6, SEG = CK_QSEG / 2 };
    int qk = (int)ck_type_block_size(type);
    size_t row_bytes = ck_row_size(type, C), wblock_bytes = ck_type_block_bytes(type);
    CK_OMP(omp parallel if ((double)T * OC * C > CK_OMP_MIN_WORK))
    {
        float wseg[RG * SEG];
        int o_lo, o_hi, o, c0, t, r;
        ck__thread_rows(OC, &o_lo, &o_hi);
        ck__init_out_rows(out, bias, T, OC, o_lo, o_hi);
        for (o = o_lo; o < o_hi; o += RG) {
            int nr = CK_MIN(RG, o_hi - o);
            for (c0 = 0; c0 < C; c0 += SEG) {
                int cs = CK_MIN(SEG, C - c0);
                for (r = 0; r < nr; r++)
                    ck__dequant_avx2(type, (const char *)weight + (size_t)(o + r) * row_bytes + (size_t)(c0 / qk) * wblock_bytes, wseg + r * SEG, cs);
                for (t = 0; T - t >= 2; t += 4) /* tiles of 2..4 rows; a last single row goes to 1x4 */
                    for (r = 0; r < nr; r += 3)
                        ck__mm_nt_4x3(out + (size_t)t * OC + o + r, (size_t)OC, inp + (size_t)t * C + c0, (size_t)C, wseg + r * SEG, SEG, cs,
                                      CK_MIN(4, T - t), CK_MIN(3, nr - r), NULL, 1);
                for (; t < T; t++)
                    for (r = 0; r < nr; r += 4)
                        ck__mm_nt_1x4(out + (size_t)t * OC + o + r, inp + (size_t)t * C + c0, wseg + r * SEG, SEG, cs, CK_MIN(4, nr - r), NULL, 1);
            }
        }
    }
}
#endif

static void ck__check_qmatmul(int type, const void *weight, int C)
{
    const ck__type_traits *t = ck__traits(type);
    CK_ASSERT(t != NULL && "ck_matmul_forward_q: unknown type");
    CK_ASSERT(C % t->blck == 0 && "ck_matmul_forward_q: C must be a multiple of the block size");
    CK_ASSERT(((uintptr_t)weight % (uintptr_t)t->align) == 0 && "ck_matmul_forward_q: weight misaligned for its blocks");
    (void)t; (void)weight; (void)C;
}

CK_DEF void ck_matmul_forward_qp_scalar(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    int act_q8K;
    ck__check_qmatmul(type, weight, C);
    if (type == CK_F32) ck_matmul_forward_scalar(out, inp, (const float *)weight, bias, T, C, OC);
    else if (path == CK_Q_FAST && ck__qdot_kernel(type, 0, &act_q8K)) ck__matmul_q_fast(0, type, out, inp, weight, bias, T, C, OC);
    else ck__matmul_q_exact_scalar(type, out, inp, weight, bias, T, C, OC);
}

#if CK_HAVE_AVX2
CK_DEF void ck_matmul_forward_qp_avx2(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    int act_q8K;
    ck__check_qmatmul(type, weight, C);
    if (type == CK_F32) ck_matmul_forward_avx2(out, inp, (const float *)weight, bias, T, C, OC);
    else if (path == CK_Q_FAST && ck__qdot_kernel(type, 1, &act_q8K)) ck__matmul_q_fast(1, type, out, inp, weight, bias, T, C, OC);
    else ck__matmul_q_exact_avx2(type, out, inp, weight, bias, T, C, OC);
}
#endif

#if CK_HAVE_MVE
/* Helium: fp32 weights take ck_matmul_forward_mve; the fast path runs the Helium dot products
   on activations quantized by the scalar code (so Q8_0/Q4_0 results equal the scalar path's bit
   for bit); the exact path is the scalar one. */
CK_DEF void ck_matmul_forward_qp_mve(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    int act_q8K;
    ck__check_qmatmul(type, weight, C);
    if (type == CK_F32) ck_matmul_forward_mve(out, inp, (const float *)weight, bias, T, C, OC);
    else if (path == CK_Q_FAST && ck__qdot_kernel(type, 1, &act_q8K)) ck__matmul_q_fast(1, type, out, inp, weight, bias, T, C, OC);
    else ck__matmul_q_exact_scalar(type, out, inp, weight, bias, T, C, OC);
}
#endif

CK_DEF void ck_matmul_forward_qp(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
#if CK_HAVE_AVX2
    ck_matmul_forward_qp_avx2(path, type, out, inp, weight, bias, T, C, OC);
#elif CK_HAVE_MVE
    ck_matmul_forward_qp_mve(path, type, out, inp, weight, bias, T, C, OC);
#else
    ck_matmul_forward_qp_scalar(path, type, out, inp, weight, bias, T, C, OC);
#endif
}

CK_DEF void ck_matmul_forward_q(int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    ck_matmul_forward_qp(CK_QMATMUL_PATH, type, out, inp, weight, bias, T, C, OC);
}

CK_DEF void ck_dequantize_row(int type, const void *src, float *dst, int64_t n)
{
    CK_ASSERT(ck_row_size(type, n) > 0 || n == 0);
#if CK_HAVE_AVX2
    ck__dequant_avx2(type, src, dst, n);
#else
    ck__dequant_scalar(type, src, dst, n);
#endif
}

/* ===================================================================================== */
/* 6. Normalisation                                                                      */
/* ===================================================================================== */

/* out [T,C] = x * w * rstd, rstd = 1/sqrt(mean(x^2) + eps) */
CK_DEF void ck_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int T, int C, float eps)
{
    int t, c;
    CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        const float *x = inp + (size_t)t * C;
        float *o = out + (size_t)t * C;
        double ss = 0.0;
        float r;
        for (c = 0; c < C; c++) ss += (double)x[c] * x[c];
        r = (float)(1.0 / sqrt(ss / C + (double)eps));
        for (c = 0; c < C; c++) o[c] = x[c] * r * weight[c];
        if (rstd) rstd[t] = r;
    }
}

/* x_hat = x*rstd, g = w*dout:  dinp += rstd * (g - x_hat * mean(g*x_hat));  dweight += dout*x_hat */
CK_DEF void ck_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight, const float *rstd, int T, int C)
{
    int t, c;
    if (dinp) {
        CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
        for (t = 0; t < T; t++) {
            const float *x = inp + (size_t)t * C, *d = dout + (size_t)t * C;
            float *di = dinp + (size_t)t * C, r = rstd[t], m;
            double s = 0.0;
            for (c = 0; c < C; c++) s += (double)(weight[c] * d[c]) * (x[c] * r);
            m = (float)(s / C);
            for (c = 0; c < C; c++) di[c] += r * (weight[c] * d[c] - x[c] * r * m);
        }
    }
    if (dweight) {
        enum { CB = 64 };
        int nb = (C + CB - 1) / CB, b;
        CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
        for (b = 0; b < nb; b++) {
            int c0 = b * CB, c1 = CK_MIN(C, c0 + CB);
            double acc[CB] = { 0 }; /* sums over T rows in double, added once */
            for (t = 0; t < T; t++) {
                const float *x = inp + (size_t)t * C, *d = dout + (size_t)t * C;
                float r = rstd[t];
                for (c = c0; c < c1; c++) acc[c - c0] += d[c] * (x[c] * r);
            }
            for (c = c0; c < c1; c++) dweight[c] += (float)acc[c - c0];
        }
    }
}

CK_DEF void ck_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias, int T, int C, float eps)
{
    int t, c;
    CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        const float *x = inp + (size_t)t * C;
        float *o = out + (size_t)t * C, mu, r;
        double s = 0.0, v = 0.0;
        for (c = 0; c < C; c++) s += x[c];
        s /= C;
        for (c = 0; c < C; c++) { double d = x[c] - s; v += d * d; }
        mu = (float)s;
        r = (float)(1.0 / sqrt(v / C + (double)eps));
        for (c = 0; c < C; c++) o[c] = (x[c] - mu) * r * weight[c] + (bias ? bias[c] : 0.0f);
        if (mean) mean[t] = mu;
        if (rstd) rstd[t] = r;
    }
}

/* n = (x-mean)*rstd, g = w*dout:  dinp += rstd * (g - mean(g) - n * mean(g*n)) */
CK_DEF void ck_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const float *mean, const float *rstd, int T, int C)
{
    int t, c;
    if (dinp) {
        CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
        for (t = 0; t < T; t++) {
            const float *x = inp + (size_t)t * C, *d = dout + (size_t)t * C;
            float *di = dinp + (size_t)t * C, mu = mean[t], r = rstd[t], mg, mgn;
            double sg = 0.0, sgn = 0.0;
            for (c = 0; c < C; c++) {
                float g = weight[c] * d[c];
                sg += g;
                sgn += (double)g * ((x[c] - mu) * r);
            }
            mg = (float)(sg / C);
            mgn = (float)(sgn / C);
            for (c = 0; c < C; c++) di[c] += r * (weight[c] * d[c] - mg - (x[c] - mu) * r * mgn);
        }
    }
    if (dweight || dbias) {
        enum { CB = 64 };
        int nb = (C + CB - 1) / CB, b;
        CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
        for (b = 0; b < nb; b++) {
            int c0 = b * CB, c1 = CK_MIN(C, c0 + CB);
            double aw[CB] = { 0 }, ab[CB] = { 0 }; /* sums over T rows in double, added once */
            for (t = 0; t < T; t++) {
                const float *x = inp + (size_t)t * C, *d = dout + (size_t)t * C;
                float mu = mean[t], r = rstd[t];
                for (c = c0; c < c1; c++) {
                    aw[c - c0] += d[c] * ((x[c] - mu) * r);
                    ab[c - c0] += d[c];
                }
            }
            for (c = c0; c < c1; c++) {
                if (dweight) dweight[c] += (float)aw[c - c0];
                if (dbias) dbias[c] += (float)ab[c - c0];
            }
        }
    }
}

/* ===================================================================================== */
/* 7. Activations                                                                        */
/* ===================================================================================== */

#define CK_GELU_K 0.7978845608028654f   /* sqrt(2/pi) */
#define CK_GELU_A 0.044715f

static float ck__gelu_tanh(float x)
{
    return 0.5f * x * (1.0f + tanhf(CK_GELU_K * (x + CK_GELU_A * x * x * x)));
}
/* d/dx of the tanh GELU. Beyond |x| > 10, tanh is +-1 in float and the second term is 0
   (computing it would give 0 * inf for |x| > 1e19). */
static float ck__gelu_tanh_grad(float x)
{
    float th;
    if (x > 10.0f) return 1.0f;
    if (x < -10.0f) return 0.0f;
    th = tanhf(CK_GELU_K * (x + CK_GELU_A * x * x * x));
    return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * CK_GELU_K * (1.0f + 3.0f * CK_GELU_A * x * x);
}
static float ck__sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

CK_DEF void ck_gelu_forward(float *out, const float *inp, int N)
{
    int i;
    for (i = 0; i < N; i++) out[i] = ck__gelu_tanh(inp[i]);
}
CK_DEF void ck_gelu_backward(float *dinp, const float *dout, const float *inp, int N)
{
    int i;
    for (i = 0; i < N; i++) dinp[i] += dout[i] * ck__gelu_tanh_grad(inp[i]);
}

/* gelu(x) = x * Phi(x) = 0.5 x (1 + erf(x/sqrt2));  gelu'(x) = Phi(x) + x * phi(x) */
CK_DEF void ck_gelu_erf_forward(float *out, const float *inp, int N)
{
    int i;
    for (i = 0; i < N; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * 0.70710678118654752f));
}
CK_DEF void ck_gelu_erf_backward(float *dinp, const float *dout, const float *inp, int N)
{
    int i;
    for (i = 0; i < N; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
        float pdf = fabsf(x) > 40.0f ? 0.0f : 0.3989422804014327f * expf(-0.5f * x * x);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}

/* silu(g) = g * sigmoid(g);  silu'(g) = s * (1 + g * (1 - s)) */
CK_DEF void ck_swiglu_forward(float *out, const float *gate, const float *up, int N)
{
    int i;
    for (i = 0; i < N; i++) out[i] = gate[i] * ck__sigmoid(gate[i]) * up[i];
}
CK_DEF void ck_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, int N)
{
    int i;
    for (i = 0; i < N; i++) {
        float g = gate[i], s = ck__sigmoid(g);
        if (dgate) dgate[i] += dout[i] * up[i] * (s * (1.0f + g * (1.0f - s)));
        if (dup) dup[i] += dout[i] * g * s;
    }
}

CK_DEF void ck_geglu_forward(float *out, const float *gate, const float *up, int N)
{
    int i;
    for (i = 0; i < N; i++) out[i] = ck__gelu_tanh(gate[i]) * up[i];
}
CK_DEF void ck_geglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, int N)
{
    int i;
    for (i = 0; i < N; i++) {
        if (dgate) dgate[i] += dout[i] * up[i] * ck__gelu_tanh_grad(gate[i]);
        if (dup) dup[i] += dout[i] * ck__gelu_tanh(gate[i]);
    }
}

/* ===================================================================================== */
/* 8. Softmax                                                                            */
/* ===================================================================================== */

/* Numerically stable: subtract the row max; the sum of exponentials is kept in double
   because rows may be vocabulary-sized (150k terms). */
CK_DEF void ck_softmax_forward(float *out, const float *inp, int rows, int cols)
{
    int r, c;
    CK_OMP(omp parallel for schedule(static) if ((double)rows * cols > CK_OMP_MIN_WORK))
    for (r = 0; r < rows; r++) {
        const float *x = inp + (size_t)r * cols;
        float *o = out + (size_t)r * cols, mx = -INFINITY, inv;
        double s = 0.0;
        for (c = 0; c < cols; c++) mx = x[c] > mx ? x[c] : mx;
        for (c = 0; c < cols; c++) { o[c] = expf(x[c] - mx); s += o[c]; }
        inv = (float)(1.0 / s);
        for (c = 0; c < cols; c++) o[c] *= inv;
    }
}

/* dinp += out * (dout - sum(dout * out)) */
CK_DEF void ck_softmax_backward(float *dinp, const float *dout, const float *out, int rows, int cols)
{
    int r, c;
    CK_OMP(omp parallel for schedule(static) if ((double)rows * cols > CK_OMP_MIN_WORK))
    for (r = 0; r < rows; r++) {
        const float *d = dout + (size_t)r * cols, *y = out + (size_t)r * cols;
        float *di = dinp + (size_t)r * cols, dot;
        double s = 0.0;
        for (c = 0; c < cols; c++) s += (double)d[c] * y[c];
        dot = (float)s;
        for (c = 0; c < cols; c++) di[c] += y[c] * (d[c] - dot);
    }
}

/* ===================================================================================== */
/* 9. Rotary position embedding                                                          */
/* ===================================================================================== */

CK_DEF void ck_rope_cache(float *cos_sin, int max_T, int n_rot, float theta)
{
    int p, i, half = n_rot / 2;
    for (p = 0; p < max_T; p++)
        for (i = 0; i < half; i++) {
            double ang = (double)p * pow((double)theta, -2.0 * i / n_rot);
            cos_sin[((size_t)p * half + i) * 2 + 0] = (float)cos(ang);
            cos_sin[((size_t)p * half + i) * 2 + 1] = (float)sin(ang);
        }
}

/* (a, b) -> (a cos - b sin, a sin + b cos); dir = -1 applies the inverse rotation.
   Row (h, t) starts at x + h*sh + t*st: head-major [NH,T,HS] has sh = T*HS, st = HS. */
static void ck__rope(float *x, const float *cos_sin, int NH, int T, int n_rot, int pos0, int neox, float dir, size_t sh, size_t st)
{
    int h, t, i, half = n_rot / 2;
    CK_OMP(omp parallel for collapse(2) schedule(static) if ((double)NH * T * n_rot > CK_OMP_MIN_WORK))
    for (h = 0; h < NH; h++)
        for (t = 0; t < T; t++) {
            float *row = x + (size_t)h * sh + (size_t)t * st;
            const float *cs = cos_sin + (size_t)(pos0 + t) * half * 2;
            for (i = 0; i < half; i++) {
                int ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
                float a = row[ia], b = row[ib], c = cs[2 * i], s = dir * cs[2 * i + 1];
                row[ia] = a * c - b * s;
                row[ib] = a * s + b * c;
            }
        }
}
CK_DEF void ck_rope_forward(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox)
{
    ck__rope(x, cos_sin, NH, T, n_rot, pos0, neox, 1.0f, (size_t)T * HS, (size_t)HS);
}
/* The rotation is orthogonal, so the gradient is the inverse rotation of dx, in place. */
CK_DEF void ck_rope_backward(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox)
{
    ck__rope(dx, cos_sin, NH, T, n_rot, pos0, neox, -1.0f, (size_t)T * HS, (size_t)HS);
}

/* ===================================================================================== */
/* 10. Attention                                                                         */
/* ===================================================================================== */

/* keys visible to query t: [*j0, *j1) */
static void ck__attn_range(int t, int Tk, int pos0, int window, int *j0, int *j1)
{
    int p = pos0 + t;
    *j1 = CK_MIN(p + 1, Tk);
    *j0 = window > 0 ? CK_MAX(0, p - window + 1) : 0;
    if (*j0 > *j1) *j0 = *j1;
}

/* The body is written once; `simd` picks the vector helpers. Online softmax over blocks of
   KBLK keys: scores of a block, one rescale of the running output per block. */
#if CK_HAVE_AVX2
#define CK__DOT(s, a, b, n)    ((s) ? ck__dot_avx2(a, b, n) : ck__dot_scalar(a, b, n))
#define CK__AXPY(s, y, a, x, n) ((s) ? ck__axpy_avx2(y, a, x, n) : ck__axpy_scalar(y, a, x, n))
#define CK__SCALE(s, y, a, n)  ((s) ? ck__scale_avx2(y, a, n) : ck__scale_scalar(y, a, n))
#else
#define CK__DOT(s, a, b, n)    ((void)(s), ck__dot_scalar(a, b, n))
#define CK__AXPY(s, y, a, x, n) ((void)(s), ck__axpy_scalar(y, a, x, n))
#define CK__SCALE(s, y, a, n)  ((void)(s), ck__scale_scalar(y, a, n))
#endif

/* element strides of the head and token dimensions of q (and dq), k/v (and dk/dv), out/dout */
typedef struct { size_t qh, qt, kh, kt, oh, ot; } ck__attn_layout;
static void ck__attn_head_major(ck__attn_layout *L, int T, int Tk, int HS)
{
    L->qh = L->oh = (size_t)T * HS;
    L->kh = (size_t)Tk * HS;
    L->qt = L->kt = L->ot = (size_t)HS;
}

static void ck__attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale,
                                  const ck__attn_layout *L, int simd)
{
    enum { KBLK = 32 };
    int group = NH / NKV, h, t;
    CK_OMP(omp parallel for collapse(2) schedule(dynamic, 4) if ((double)NH * T * Tk * HS > CK_OMP_MIN_WORK))
    for (h = 0; h < NH; h++)
        for (t = 0; t < T; t++) {
            const float *qr = q + (size_t)h * L->qh + (size_t)t * L->qt;
            const float *kh = k + (size_t)(h / group) * L->kh, *vh = v + (size_t)(h / group) * L->kh;
            float *o = out + (size_t)h * L->oh + (size_t)t * L->ot, mx = -INFINITY, s[KBLK];
            double l = 0.0;
            int j0, j1, jb, j, n;
            ck__attn_range(t, Tk, pos0, window, &j0, &j1);
            memset(o, 0, (size_t)HS * sizeof(float));
            for (jb = j0; jb < j1; jb += KBLK) {
                float bm = -INFINITY;
                n = CK_MIN(KBLK, j1 - jb);
                for (j = 0; j < n; j++) {
                    s[j] = scale * CK__DOT(simd, qr, kh + (size_t)(jb + j) * L->kt, HS);
                    bm = s[j] > bm ? s[j] : bm;
                }
                if (bm > mx) {
                    if (l > 0.0) {
                        float c = expf(mx - bm);
                        l *= c;
                        CK__SCALE(simd, o, c, HS);
                    }
                    mx = bm;
                }
                for (j = 0; j < n; j++) {
                    float p = expf(s[j] - mx);
                    l += p;
                    CK__AXPY(simd, o, p, vh + (size_t)(jb + j) * L->kt, HS);
                }
            }
            if (l > 0.0) {
                CK__SCALE(simd, o, (float)(1.0 / l), HS);
                if (lse) lse[(size_t)h * T + t] = mx + (float)log(l);
            } else if (lse) {
                lse[(size_t)h * T + t] = -INFINITY;
            }
        }
}

/* Flash-style backward from the saved lse: p = exp(s - lse), D = dout.out,
   ds = p (dout.v - D); dq += scale ds k; dk += scale ds q; dv += p dout.
   One thread per kv head, so the shared dk/dv of a GQA group have one owner. */
static void ck__attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                   const float *q, const float *k, const float *v,
                                   int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale,
                                   const ck__attn_layout *L, int simd)
{
    int group = NH / NKV, g;
    CK_OMP(omp parallel for schedule(dynamic, 1) if ((double)NH * T * Tk * HS > CK_OMP_MIN_WORK))
    for (g = 0; g < NKV; g++) {
        const float *kh = k + (size_t)g * L->kh, *vh = v + (size_t)g * L->kh;
        float *dkh = dk ? dk + (size_t)g * L->kh : NULL, *dvh = dv ? dv + (size_t)g * L->kh : NULL;
        int h, t, j, j0, j1;
        for (h = g * group; h < (g + 1) * group; h++)
            for (t = 0; t < T; t++) {
                size_t row = (size_t)h * T + t, qo = (size_t)h * L->qh + (size_t)t * L->qt, oo = (size_t)h * L->oh + (size_t)t * L->ot;
                const float *qr = q + qo, *dor = dout + oo;
                float *dqr = dq ? dq + qo : NULL, lse_r = lse[row], D;
                if (lse_r == -INFINITY) continue;
                D = CK__DOT(simd, dor, out + oo, HS);
                ck__attn_range(t, Tk, pos0, window, &j0, &j1);
                for (j = j0; j < j1; j++) {
                    const float *kj = kh + (size_t)j * L->kt, *vj = vh + (size_t)j * L->kt;
                    float p = expf(scale * CK__DOT(simd, qr, kj, HS) - lse_r);
                    float ds = p * (CK__DOT(simd, dor, vj, HS) - D);
                    if (dqr) CK__AXPY(simd, dqr, scale * ds, kj, HS);
                    if (dkh) CK__AXPY(simd, dkh + (size_t)j * L->kt, scale * ds, qr, HS);
                    if (dvh) CK__AXPY(simd, dvh + (size_t)j * L->kt, p, dor, HS);
                }
            }
    }
}

CK_DEF void ck_attention_forward_scalar(float *out, float *lse, const float *q, const float *k, const float *v,
                                        int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, 0);
}
CK_DEF void ck_attention_backward_scalar(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                         const float *q, const float *k, const float *v,
                                         int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, 0);
}
#if CK_HAVE_AVX2
CK_DEF void ck_attention_forward_avx2(float *out, float *lse, const float *q, const float *k, const float *v,
                                      int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, 1);
}
CK_DEF void ck_attention_backward_avx2(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                       const float *q, const float *k, const float *v,
                                       int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, 1);
}
#endif
CK_DEF void ck_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                 int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, CK_HAVE_AVX2);
}
CK_DEF void ck_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                  const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, CK_HAVE_AVX2);
}

/* ===================================================================================== */
/* 11. Loss                                                                              */
/* ===================================================================================== */

CK_DEF float ck_cross_entropy_forward(float *losses, float *probs, const float *logits, const int32_t *targets, int T, int V, int ignore_index)
{
    double total = 0.0;
    int t, c, count = 0;
    for (t = 0; t < T; t++) count += targets[t] != ignore_index;
    CK_OMP(omp parallel for schedule(static) reduction(+ : total) if ((double)T * V > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        const float *x = logits + (size_t)t * V;
        float mx = -INFINITY, log_s;
        double s = 0.0;
        for (c = 0; c < V; c++) mx = x[c] > mx ? x[c] : mx;
        for (c = 0; c < V; c++) s += expf(x[c] - mx);
        /* keep (x - max) and log(sum) apart: forming lse = max + log(sum) first would round
           it to the precision of max, which is poor for logits of 1e3 and more */
        log_s = (float)log(s);
        if (probs) {
            float *p = probs + (size_t)t * V;
            for (c = 0; c < V; c++) p[c] = expf((x[c] - mx) - log_s);
        }
        if (targets[t] == ignore_index) {
            if (losses) losses[t] = 0.0f;
        } else {
            float l = (float)((double)(mx - x[targets[t]]) + log(s));
            if (losses) losses[t] = l;
            total += l;
        }
    }
    return count ? (float)(total / count) : 0.0f;
}

CK_DEF void ck_cross_entropy_backward(float *dlogits, const float *probs, const int32_t *targets, int T, int V, int ignore_index, float dloss)
{
    int t, c, count = 0;
    float g;
    for (t = 0; t < T; t++) count += targets[t] != ignore_index;
    if (!count) return;
    g = dloss / (float)count;
    CK_OMP(omp parallel for schedule(static) if ((double)T * V > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        const float *p = probs + (size_t)t * V;
        float *d = dlogits + (size_t)t * V;
        if (targets[t] == ignore_index) continue;
        for (c = 0; c < V; c++) d[c] += g * p[c];
        d[targets[t]] -= g;
    }
}

/* ===================================================================================== */
/* 12. Optimiser                                                                         */
/* ===================================================================================== */

CK_DEF void ck_adamw_update(float *param, const float *grad, float *m, float *v, size_t n, float lr,
                            float beta1, float beta2, float eps, float weight_decay, int step)
{
    /* the scalars exactly as torch computes them (in double on the host) */
    double bc1 = 1.0 - pow((double)beta1, step), bc2 = 1.0 - pow((double)beta2, step);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2), decay = 1.0f - lr * weight_decay;
    size_t i;
    for (i = 0; i < n; i++) {
        float g = grad[i], p = param[i] * decay;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = p - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

CK_DEF float ck_grad_norm(const float *grad, size_t n)
{
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)grad[i] * grad[i];
    return (float)sqrt(s);
}

/* ===================================================================================== */
/* 13. GGUF files                                                                        */
/* ===================================================================================== */

/* A small formatter for error messages, so they exist in CK_NO_STDIO builds too.
   Supports %s %.*s %d %u %lld %llu %llx and %%. */
static void ck__fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    size_t n = 0;
    if (!cap) return;
    va_start(ap, fmt);
#define CK__PUT(ch) do { if (n + 1 < cap) buf[n++] = (char)(ch); } while (0)
    for (; *fmt; fmt++) {
        const char *s = NULL;
        int prec = -1, base = 10, neg = 0;
        unsigned long long u = 0;
        char num[24];
        int k = 0;
        if (*fmt != '%') { CK__PUT(*fmt); continue; }
        fmt++;
        if (fmt[0] == '.' && fmt[1] == '*') { prec = va_arg(ap, int); fmt += 2; }
        if (*fmt == 's') {
            s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            for (; *s && prec != 0; s++, prec--) CK__PUT(*s);
            continue;
        } else if (*fmt == 'd') { long long v = va_arg(ap, int); neg = v < 0; u = neg ? 0ull - (unsigned long long)v : (unsigned long long)v; }
        else if (*fmt == 'u') u = va_arg(ap, unsigned);
        else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'd') { long long v = va_arg(ap, long long); neg = v < 0; u = neg ? 0ull - (unsigned long long)v : (unsigned long long)v; fmt += 2; }
        else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'u') { u = va_arg(ap, unsigned long long); fmt += 2; }
        else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'x') { u = va_arg(ap, unsigned long long); base = 16; fmt += 2; }
        else { CK__PUT('%'); if (*fmt) CK__PUT(*fmt); else break; continue; }
        do { num[k++] = "0123456789abcdef"[u % (unsigned)base]; u /= (unsigned)base; } while (u);
        if (base == 16) { CK__PUT('0'); CK__PUT('x'); }
        if (neg) CK__PUT('-');
        while (k) { k--; CK__PUT(num[k]); } /* not CK__PUT(num[--k]): the macro skips its argument once the buffer is full */
    }
#undef CK__PUT
    buf[n] = 0;
    va_end(ap);
}

/* little-endian reads that are safe on any alignment and any host byte order */
static uint32_t ck__rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t ck__rd64(const uint8_t *p) { return (uint64_t)ck__rd32(p) | (uint64_t)ck__rd32(p + 4) << 32; }

CK_DEF size_t ck_gguf_vtype_size(uint32_t t)
{
    static const unsigned char sz[CK_GGUF_VTYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    return t < CK_GGUF_VTYPE_COUNT ? sz[t] : 0;
}
CK_DEF const char *ck_gguf_vtype_name(uint32_t t)
{
    static const char *const names[CK_GGUF_VTYPE_COUNT] = { "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64" };
    return t < CK_GGUF_VTYPE_COUNT ? names[t] : "?";
}

static uint32_t ck__hash(const char *s, uint64_t n) /* FNV-1a */
{
    uint32_t h = 2166136261u;
    uint64_t i;
    for (i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}
static uint32_t ck__pow2_at_least(uint64_t n)
{
    uint32_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* Limits that no real file reaches; they bound the index a hostile header can ask for. */
#define CK_GGUF_MAX_KV      (1u << 20)
#define CK_GGUF_MAX_TENSORS (1u << 20)
#define CK_GGUF_MAX_NEST    8

static size_t ck__gguf_index_size(uint64_t n_kv, uint64_t n_t)
{
    return (size_t)n_kv * sizeof(ck_gguf_kv) + (size_t)n_t * sizeof(ck_gguf_tensor) +
           ((size_t)ck__pow2_at_least(2 * n_kv) + ck__pow2_at_least(2 * n_t)) * sizeof(uint32_t) + 16;
}

CK_DEF size_t ck_gguf_index_bytes(const void *file, size_t size)
{
    const uint8_t *p = (const uint8_t *)file;
    uint64_t n_t, n_kv;
    if (!p || size < 24 || ck__rd32(p) != CK_GGUF_MAGIC) return 0;
    n_t = ck__rd64(p + 8);
    n_kv = ck__rd64(p + 16);
    if (n_t > CK_GGUF_MAX_TENSORS || n_kv > CK_GGUF_MAX_KV) return 0;
    return ck__gguf_index_size(n_kv, n_t);
}

/* Cursor over the file: every read checks the bytes that are left first. */
typedef struct { const uint8_t *base; uint64_t pos, size; ck_gguf *g; } ck__cur;

static int ck__need(ck__cur *c, uint64_t n, const char *what)
{
    if (n <= c->size - c->pos) return 1;
    ck__fmt(c->g->error, sizeof c->g->error, "gguf: %s at offset %llu needs %llu bytes, but the file ends at %llu (truncated?)",
            what, (unsigned long long)c->pos, (unsigned long long)n, (unsigned long long)c->size);
    return 0;
}
static int ck__u32(ck__cur *c, uint32_t *v, const char *what)
{
    if (!ck__need(c, 4, what)) return 0;
    *v = ck__rd32(c->base + c->pos);
    c->pos += 4;
    return 1;
}
static int ck__u64(ck__cur *c, uint64_t *v, const char *what)
{
    if (!ck__need(c, 8, what)) return 0;
    *v = ck__rd64(c->base + c->pos);
    c->pos += 8;
    return 1;
}
static int ck__str(ck__cur *c, const char **s, uint64_t *len, const char *what)
{
    uint64_t at = c->pos;
    if (!ck__u64(c, len, what)) return 0;
    if (*len > c->size - c->pos) {
        ck__fmt(c->g->error, sizeof c->g->error, "gguf: %s at offset %llu has length %llu, past the end of the file (%llu bytes)",
                what, (unsigned long long)at, (unsigned long long)*len, (unsigned long long)c->size);
        return 0;
    }
    *s = (const char *)(c->base + c->pos);
    c->pos += *len;
    return 1;
}
/* skip one value of type t (arrays recursively, to a bounded depth) */
static int ck__skip_value(ck__cur *c, uint32_t t, int depth, const char *key, uint64_t key_len)
{
    uint64_t at = c->pos;
    if (t == CK_GGUF_STR) {
        const char *s;
        uint64_t n;
        return ck__str(c, &s, &n, "string value");
    }
    if (t == CK_GGUF_ARR) {
        uint32_t et;
        uint64_t n, i;
        size_t es;
        if (depth >= CK_GGUF_MAX_NEST) {
            ck__fmt(c->g->error, sizeof c->g->error, "gguf: key '%.*s': arrays nested deeper than %d at offset %llu",
                    (int)CK_MIN(key_len, 200), key, CK_GGUF_MAX_NEST, (unsigned long long)at);
            return 0;
        }
        if (!ck__u32(c, &et, "array element type") || !ck__u64(c, &n, "array length")) return 0;
        if (et >= CK_GGUF_VTYPE_COUNT) {
            ck__fmt(c->g->error, sizeof c->g->error, "gguf: key '%.*s': unknown array element type %u at offset %llu",
                    (int)CK_MIN(key_len, 200), key, et, (unsigned long long)at);
            return 0;
        }
        es = ck_gguf_vtype_size(et);
        if (es) {
            if (n > (c->size - c->pos) / es) {
                ck__fmt(c->g->error, sizeof c->g->error, "gguf: key '%.*s': array of %llu %s at offset %llu runs past the end of the file (%llu bytes)",
                        (int)CK_MIN(key_len, 200), key, (unsigned long long)n, ck_gguf_vtype_name(et), (unsigned long long)at, (unsigned long long)c->size);
                return 0;
            }
            c->pos += n * es;
            return 1;
        }
        /* strings and arrays take at least 8 bytes each: bound n before walking it */
        if (n > (c->size - c->pos) / 8) {
            ck__fmt(c->g->error, sizeof c->g->error, "gguf: key '%.*s': array of %llu %s at offset %llu cannot fit in the file (%llu bytes)",
                    (int)CK_MIN(key_len, 200), key, (unsigned long long)n, ck_gguf_vtype_name(et), (unsigned long long)at, (unsigned long long)c->size);
            return 0;
        }
        for (i = 0; i < n; i++)
            if (!ck__skip_value(c, et, depth + 1, key, key_len)) return 0;
        return 1;
    }
    if (t >= CK_GGUF_VTYPE_COUNT) {
        ck__fmt(c->g->error, sizeof c->g->error, "gguf: key '%.*s': unknown value type %u at offset %llu",
                (int)CK_MIN(key_len, 200), key, t, (unsigned long long)at - 4);
        return 0;
    }
    return ck__need(c, ck_gguf_vtype_size(t), "value");
}

/* the name of kv i or tensor i */
static const char *ck__gguf_name(const ck_gguf *g, int tensors, uint32_t i, uint64_t *len)
{
    if (tensors) { *len = g->tensors[i].name_len; return g->tensors[i].name; }
    *len = g->kv[i].key_len;
    return g->kv[i].key;
}
static int64_t ck__hash_find(const ck_gguf *g, int tensors, const char *name, uint64_t len)
{
    const uint32_t *tab = tensors ? g->tensor_hash : g->kv_hash;
    uint32_t mask = tensors ? g->tensor_mask : g->kv_mask, h = ck__hash(name, len) & mask;
    for (;; h = (h + 1) & mask) {
        uint64_t nl;
        const char *nm;
        if (!tab[h]) return -1;
        nm = ck__gguf_name(g, tensors, tab[h] - 1, &nl);
        if (nl == len && !memcmp(nm, name, (size_t)len)) return (int64_t)tab[h] - 1;
    }
}
/* insert entry i under its name; 0 if the name is already there */
static int ck__hash_insert(ck_gguf *g, int tensors, uint32_t i)
{
    uint32_t *tab = tensors ? g->tensor_hash : g->kv_hash;
    uint32_t mask = tensors ? g->tensor_mask : g->kv_mask, h;
    uint64_t len;
    const char *name = ck__gguf_name(g, tensors, i, &len);
    if (ck__hash_find(g, tensors, name, len) >= 0) return 0;
    for (h = ck__hash(name, len) & mask; tab[h]; h = (h + 1) & mask) {}
    tab[h] = i + 1;
    return 1;
}

CK_DEF int ck_gguf_parse(ck_gguf *g, const void *file, size_t size, void *index, size_t index_bytes)
{
    ck__cur c;
    uint32_t magic, kcap, tcap;
    uint64_t i, need;
    uint8_t *mem;
    memset(g, 0, sizeof *g);
    g->file = (const uint8_t *)file;
    g->size = size;
    g->alignment = CK_GGUF_DEFAULT_ALIGNMENT;
    c.base = g->file; c.pos = 0; c.size = size; c.g = g;
    if (!file) { ck__fmt(g->error, sizeof g->error, "gguf: no data"); return -1; }
    if (size < 24) {
        ck__fmt(g->error, sizeof g->error, "gguf: file is %llu bytes, shorter than the 24-byte GGUF header", (unsigned long long)size);
        return -1;
    }
    ck__u32(&c, &magic, "magic");
    if (magic != CK_GGUF_MAGIC) {
        ck__fmt(g->error, sizeof g->error, "gguf: bad magic %llx at offset 0 (expected 'GGUF'): not a GGUF file", (unsigned long long)magic);
        return -1;
    }
    ck__u32(&c, &g->version, "version");
    if (g->version != 2 && g->version != 3) {
        if (g->version >= 0x10000u)
            ck__fmt(g->error, sizeof g->error, "gguf: version field %u at offset 4 looks byte-swapped: big-endian GGUF is not supported", g->version);
        else
            ck__fmt(g->error, sizeof g->error, "gguf: version %u at offset 4 is not supported (only 2 and 3)", g->version);
        return -1;
    }
    ck__u64(&c, &g->n_tensors, "tensor count");
    ck__u64(&c, &g->n_kv, "key/value count");
    if (g->n_tensors > CK_GGUF_MAX_TENSORS || g->n_tensors > size / 32) {
        ck__fmt(g->error, sizeof g->error, "gguf: tensor count %llu at offset 8 is impossible for a file of %llu bytes", (unsigned long long)g->n_tensors, (unsigned long long)size);
        return -1;
    }
    if (g->n_kv > CK_GGUF_MAX_KV || g->n_kv > size / 13) {
        ck__fmt(g->error, sizeof g->error, "gguf: key/value count %llu at offset 16 is impossible for a file of %llu bytes", (unsigned long long)g->n_kv, (unsigned long long)size);
        return -1;
    }
    need = ck__gguf_index_size(g->n_kv, g->n_tensors);
    if (!index || index_bytes < need) {
        ck__fmt(g->error, sizeof g->error, "gguf: the index needs %llu bytes, %llu were given", (unsigned long long)need, (unsigned long long)index_bytes);
        return -1;
    }
    /* carve the index: pointer-aligned arrays first, then the two hash tables */
    mem = (uint8_t *)index;
    mem += (8 - ((uintptr_t)mem & 7)) & 7;
    g->kv = (ck_gguf_kv *)(void *)mem;           mem += (size_t)g->n_kv * sizeof(ck_gguf_kv);
    g->tensors = (ck_gguf_tensor *)(void *)mem;  mem += (size_t)g->n_tensors * sizeof(ck_gguf_tensor);
    kcap = ck__pow2_at_least(2 * g->n_kv);
    tcap = ck__pow2_at_least(2 * g->n_tensors);
    g->kv_hash = (uint32_t *)(void *)mem;        mem += (size_t)kcap * sizeof(uint32_t);
    g->tensor_hash = (uint32_t *)(void *)mem;
    g->kv_mask = kcap - 1;
    g->tensor_mask = tcap - 1;
    memset(g->kv_hash, 0, (size_t)kcap * sizeof(uint32_t));
    memset(g->tensor_hash, 0, (size_t)tcap * sizeof(uint32_t));

    for (i = 0; i < g->n_kv; i++) {
        ck_gguf_kv *kv = &g->kv[i];
        uint64_t vstart;
        memset(kv, 0, sizeof *kv);
        kv->file_offset = c.pos;
        if (!ck__str(&c, &kv->key, &kv->key_len, "key")) return -1;
        if (!ck__u32(&c, &kv->type, "value type")) return -1;
        if (kv->type >= CK_GGUF_VTYPE_COUNT) {
            ck__fmt(g->error, sizeof g->error, "gguf: key '%.*s': unknown value type %u at offset %llu",
                    (int)CK_MIN(kv->key_len, 200), kv->key, kv->type, (unsigned long long)c.pos - 4);
            return -1;
        }
        vstart = c.pos;
        if (kv->type == CK_GGUF_ARR) {
            uint64_t save = c.pos;
            if (!ck__u32(&c, &kv->arr_type, "array element type") || !ck__u64(&c, &kv->arr_n, "array length")) return -1;
            c.pos = save;
            vstart = save + 12;
        }
        if (!ck__skip_value(&c, kv->type, 0, kv->key, kv->key_len)) return -1;
        if (kv->type != CK_GGUF_ARR && kv->type != CK_GGUF_STR) c.pos += ck_gguf_vtype_size(kv->type);
        kv->value = g->file + vstart;
        kv->value_bytes = c.pos - vstart;
        kv->entry_bytes = c.pos - kv->file_offset;
        if (!ck__hash_insert(g, 0, (uint32_t)i)) {
            ck__fmt(g->error, sizeof g->error, "gguf: key '%.*s' at offset %llu appears twice",
                    (int)CK_MIN(kv->key_len, 200), kv->key, (unsigned long long)kv->file_offset);
            return -1;
        }
        if (kv->key_len == 17 && !memcmp(kv->key, "general.alignment", 17)) {
            uint32_t a = kv->type == CK_GGUF_U32 ? ck__rd32(kv->value) : 0;
            if (!a || (a & (a - 1))) {
                ck__fmt(g->error, sizeof g->error, "gguf: general.alignment at offset %llu must be a u32 power of two (type %s, value %u)",
                        (unsigned long long)kv->file_offset, ck_gguf_vtype_name(kv->type), a);
                return -1;
            }
            g->alignment = a;
        }
    }

    for (i = 0; i < g->n_tensors; i++) {
        ck_gguf_tensor *t = &g->tensors[i];
        uint64_t at = c.pos, d, blck, row_bytes;
        int64_t bs;
        memset(t, 0, sizeof *t);
        if (!ck__str(&c, &t->name, &t->name_len, "tensor name")) return -1;
        if (!ck__u32(&c, &t->n_dims, "tensor dimension count")) return -1;
        if (t->n_dims < 1 || t->n_dims > CK_GGUF_MAX_DIMS) {
            ck__fmt(g->error, sizeof g->error, "gguf: tensor '%.*s' at offset %llu has %u dimensions (1 to %d allowed)",
                    (int)CK_MIN(t->name_len, 200), t->name, (unsigned long long)at, t->n_dims, CK_GGUF_MAX_DIMS);
            return -1;
        }
        t->n_elements = 1;
        for (d = 0; d < CK_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (d = 0; d < t->n_dims; d++) {
            uint64_t ne;
            if (!ck__u64(&c, &ne, "tensor dimension")) return -1;
            if (ne > (uint64_t)INT64_MAX || (ne && t->n_elements > (uint64_t)INT64_MAX / ne)) {
                ck__fmt(g->error, sizeof g->error, "gguf: tensor '%.*s' at offset %llu: dimension %llu = %llu makes the element count overflow",
                        (int)CK_MIN(t->name_len, 200), t->name, (unsigned long long)at, (unsigned long long)d, (unsigned long long)ne);
                return -1;
            }
            t->ne[d] = (int64_t)ne;
            t->n_elements *= ne;
        }
        if (!ck__u32(&c, &t->type, "tensor type") || !ck__u64(&c, &t->offset, "tensor data offset")) return -1;
        bs = ck_type_block_size((int)t->type);
        if (bs <= 0) {
            ck__fmt(g->error, sizeof g->error, "gguf: tensor '%.*s' at offset %llu has unknown type %u",
                    (int)CK_MIN(t->name_len, 200), t->name, (unsigned long long)at, t->type);
            return -1;
        }
        blck = (uint64_t)bs;
        if (t->ne[0] % (int64_t)blck) {
            ck__fmt(g->error, sizeof g->error, "gguf: tensor '%.*s': row length %lld is not a multiple of the %s block size %llu",
                    (int)CK_MIN(t->name_len, 200), t->name, (long long)t->ne[0], ck_type_name((int)t->type), (unsigned long long)blck);
            return -1;
        }
        row_bytes = (uint64_t)t->ne[0] / blck * ck_type_block_bytes((int)t->type);
        if (t->ne[0] && t->n_elements / (uint64_t)t->ne[0] > UINT64_MAX / (row_bytes ? row_bytes : 1)) {
            ck__fmt(g->error, sizeof g->error, "gguf: tensor '%.*s': its byte size overflows", (int)CK_MIN(t->name_len, 200), t->name);
            return -1;
        }
        t->n_bytes = t->ne[0] ? t->n_elements / (uint64_t)t->ne[0] * row_bytes : 0;
        if (!ck__hash_insert(g, 1, (uint32_t)i)) {
            ck__fmt(g->error, sizeof g->error, "gguf: tensor name '%.*s' at offset %llu appears twice",
                    (int)CK_MIN(t->name_len, 200), t->name, (unsigned long long)at);
            return -1;
        }
    }
    g->data_offset = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    for (i = 0; i < g->n_tensors; i++) {
        ck_gguf_tensor *t = &g->tensors[i];
        uint64_t room = g->data_offset <= size ? size - g->data_offset : 0;
        if (t->offset % g->alignment) {
            ck__fmt(g->error, sizeof g->error, "gguf: tensor '%.*s': data offset %llu is not a multiple of the alignment %u",
                    (int)CK_MIN(t->name_len, 200), t->name, (unsigned long long)t->offset, g->alignment);
            return -1;
        }
        if (t->offset > room || t->n_bytes > room - t->offset) {
            ck__fmt(g->error, sizeof g->error, "gguf: tensor '%.*s': data at %llu + %llu bytes is past the end of the file (%llu bytes; truncated?)",
                    (int)CK_MIN(t->name_len, 200), t->name, (unsigned long long)(g->data_offset + t->offset),
                    (unsigned long long)t->n_bytes, (unsigned long long)size);
            return -1;
        }
        t->data = g->file + g->data_offset + t->offset;
    }
    return 0;
}

CK_DEF int64_t ck_gguf_find_kv(const ck_gguf *g, const char *key)
{
    if (!g->kv_hash) return -1;
    return ck__hash_find(g, 0, key, strlen(key));
}
CK_DEF const ck_gguf_tensor *ck_gguf_find_tensor(const ck_gguf *g, const char *name)
{
    int64_t i;
    if (!g->tensor_hash) return NULL;
    i = ck__hash_find(g, 1, name, strlen(name));
    return i < 0 ? NULL : &g->tensors[i];
}

/* a fixed-size value of type t at p, as int64 (0 if not an integer type) */
static int ck__val_int(uint32_t t, const uint8_t *p, int64_t *v)
{
    switch (t) {
    case CK_GGUF_U8: case CK_GGUF_BOOL: *v = p[0]; return 1;
    case CK_GGUF_I8: *v = (int8_t)p[0]; return 1;
    case CK_GGUF_U16: *v = (uint16_t)(p[0] | p[1] << 8); return 1;
    case CK_GGUF_I16: *v = (int16_t)(uint16_t)(p[0] | p[1] << 8); return 1;
    case CK_GGUF_U32: *v = ck__rd32(p); return 1;
    case CK_GGUF_I32: *v = (int32_t)ck__rd32(p); return 1;
    case CK_GGUF_U64: { uint64_t u = ck__rd64(p); if (u > (uint64_t)INT64_MAX) return 0; *v = (int64_t)u; return 1; }
    case CK_GGUF_I64: *v = (int64_t)ck__rd64(p); return 1;
    default: return 0;
    }
}
static int ck__val_float(uint32_t t, const uint8_t *p, double *v)
{
    int64_t i;
    if (t == CK_GGUF_F32) { uint32_t u = ck__rd32(p); float f; memcpy(&f, &u, 4); *v = f; return 1; }
    if (t == CK_GGUF_F64) { uint64_t u = ck__rd64(p); memcpy(v, &u, 8); return 1; }
    if (ck__val_int(t, p, &i)) { *v = (double)i; return 1; }
    return 0;
}
CK_DEF int ck_gguf_get_int(const ck_gguf *g, const char *key, int64_t *v)
{
    int64_t i = ck_gguf_find_kv(g, key);
    return i >= 0 && ck__val_int(g->kv[i].type, g->kv[i].value, v);
}
CK_DEF int ck_gguf_get_float(const ck_gguf *g, const char *key, double *v)
{
    int64_t i = ck_gguf_find_kv(g, key);
    return i >= 0 && ck__val_float(g->kv[i].type, g->kv[i].value, v);
}
CK_DEF int ck_gguf_get_str(const ck_gguf *g, const char *key, const char **s, uint64_t *len)
{
    int64_t i = ck_gguf_find_kv(g, key);
    if (i < 0 || g->kv[i].type != CK_GGUF_STR) return 0;
    *len = ck__rd64(g->kv[i].value);
    *s = (const char *)g->kv[i].value + 8;
    return 1;
}
CK_DEF int ck_gguf_get_arr(const ck_gguf *g, const char *key, uint32_t *elem_type, uint64_t *n, const ck_gguf_kv **kv)
{
    int64_t i = ck_gguf_find_kv(g, key);
    if (i < 0 || g->kv[i].type != CK_GGUF_ARR) return 0;
    if (elem_type) *elem_type = g->kv[i].arr_type;
    if (n) *n = g->kv[i].arr_n;
    if (kv) *kv = &g->kv[i];
    return 1;
}
CK_DEF int ck_gguf_arr_int(const ck_gguf_kv *kv, uint64_t i, int64_t *v)
{
    size_t es = ck_gguf_vtype_size(kv->arr_type);
    return kv->type == CK_GGUF_ARR && es && i < kv->arr_n && ck__val_int(kv->arr_type, kv->value + i * es, v);
}
CK_DEF int ck_gguf_arr_float(const ck_gguf_kv *kv, uint64_t i, double *v)
{
    size_t es = ck_gguf_vtype_size(kv->arr_type);
    return kv->type == CK_GGUF_ARR && es && i < kv->arr_n && ck__val_float(kv->arr_type, kv->value + i * es, v);
}
CK_DEF void ck_gguf_iter_init(ck_gguf_iter *it, const ck_gguf_kv *kv)
{
    int ok = kv->type == CK_GGUF_ARR && kv->arr_type == CK_GGUF_STR;
    it->p = kv->value;
    it->left = ok ? kv->arr_n : 0;
}
/* the parser has validated every length, so this walk stays inside the file */
CK_DEF int ck_gguf_iter_str(ck_gguf_iter *it, const char **s, uint64_t *len)
{
    if (!it->left) return 0;
    *len = ck__rd64(it->p);
    *s = (const char *)it->p + 8;
    it->p += 8 + *len;
    it->left--;
    return 1;
}

#ifndef CK_NO_STDIO
/* ---- host side: open a path (mmap where there is POSIX), build and write files -------- */

CK_DEF int ck_gguf_open(ck_gguf *g, const char *path)
{
    void *data = NULL, *index;
    size_t size = 0, ib;
    int mapped = 0;
    char err[sizeof g->error];
#if defined(__unix__) || defined(__APPLE__)
    {
        int fd = open(path, O_RDONLY);
        struct stat st;
        if (fd < 0) { memset(g, 0, sizeof *g); ck__fmt(g->error, sizeof g->error, "%s: cannot open: %s", path, strerror(errno)); return -1; }
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd); memset(g, 0, sizeof *g);
            ck__fmt(g->error, sizeof g->error, "%s: not a regular file", path);
            return -1;
        }
        size = (size_t)st.st_size;
        if (size) {
            data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (data == MAP_FAILED) data = NULL;
            else mapped = 1;
        }
        close(fd);
    }
#endif
    if (!mapped) { /* read it instead */
        FILE *f = fopen(path, "rb");
        long n;
        if (!f) { memset(g, 0, sizeof *g); ck__fmt(g->error, sizeof g->error, "%s: cannot open: %s", path, strerror(errno)); return -1; }
        if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
            fclose(f); memset(g, 0, sizeof *g);
            ck__fmt(g->error, sizeof g->error, "%s: cannot determine the file size", path);
            return -1;
        }
        size = (size_t)n;
        data = CK_MALLOC(size ? size : 1);
        if (!data || fread(data, 1, size, f) != size) {
            fclose(f); CK_FREE(data); memset(g, 0, sizeof *g);
            ck__fmt(g->error, sizeof g->error, "%s: cannot read %llu bytes", path, (unsigned long long)size);
            return -1;
        }
        fclose(f);
    }
    ib = ck_gguf_index_bytes(data, size);
    index = CK_MALLOC(ib ? ib : 1);
    if (!index || ck_gguf_parse(g, data, size, index, ib) != 0) {
        if (!index) ck__fmt(g->error, sizeof g->error, "gguf: out of memory for the index");
        ck__fmt(err, sizeof err, "%s: %s", path, g->error);
        CK_FREE(index);
#if defined(__unix__) || defined(__APPLE__)
        if (mapped) munmap(data, size);
        else
#endif
            CK_FREE(data);
        memset(g, 0, sizeof *g);
        memcpy(g->error, err, sizeof err);
        return -1;
    }
    g->owned_index = index;
    g->owned_file = data;
    g->owned_file_size = size;
    g->owned_is_mapped = mapped;
    return 0;
}

CK_DEF void ck_gguf_close(ck_gguf *g)
{
    CK_FREE(g->owned_index);
#if defined(__unix__) || defined(__APPLE__)
    if (g->owned_is_mapped) munmap(g->owned_file, g->owned_file_size);
    else
#endif
        CK_FREE(g->owned_file);
    memset(g, 0, sizeof *g);
}

CK_DEF void ck_gguf_builder_init(ck_gguf_builder *b)
{
    memset(b, 0, sizeof *b);
    b->alignment = CK_GGUF_DEFAULT_ALIGNMENT;
}
CK_DEF void ck_gguf_builder_free(ck_gguf_builder *b)
{
    uint64_t i;
    for (i = 0; i < b->n_t; i++) CK_FREE(b->t[i].name);
    CK_FREE(b->t);
    CK_FREE(b->kv_buf);
    memset(b, 0, sizeof *b);
}
static int ck__bfail(ck_gguf_builder *b, const char *what, const char *name)
{
    if (!b->failed) ck__fmt(b->error, sizeof b->error, "gguf writer: %s '%s'", what, name);
    b->failed = 1;
    return -1;
}
static int ck__bput(ck_gguf_builder *b, const void *p, size_t n)
{
    if (b->kv_len + n > b->kv_cap) {
        size_t cap = b->kv_cap ? b->kv_cap : 256;
        uint8_t *nb;
        while (cap < b->kv_len + n) cap *= 2;
        nb = (uint8_t *)CK_REALLOC(b->kv_buf, cap);
        if (!nb) return ck__bfail(b, "out of memory at", "key/value section");
        b->kv_buf = nb;
        b->kv_cap = cap;
    }
    memcpy(b->kv_buf + b->kv_len, p, n);
    b->kv_len += n;
    return 0;
}
static int ck__bput_le(ck_gguf_builder *b, uint64_t v, int bytes)
{
    uint8_t le[8];
    int i;
    for (i = 0; i < bytes; i++) le[i] = (uint8_t)(v >> (8 * i));
    return ck__bput(b, le, (size_t)bytes);
}
static int ck__bput_str(ck_gguf_builder *b, const char *s, uint64_t n)
{
    return ck__bput_le(b, n, 8) || ck__bput(b, s, (size_t)n) ? -1 : 0;
}
/* keys must be unique: a linear scan of the serialised section is fine for ~100 keys */
static int ck__bkey(ck_gguf_builder *b, const char *key, uint32_t vtype)
{
    size_t klen = strlen(key), pos = 0;
    uint64_t i;
    if (b->failed) return -1;
    for (i = 0; i < b->n_kv; i++) {
        uint64_t kl = ck__rd64(b->kv_buf + pos);
        ck_gguf tmp;
        ck__cur c;
        uint32_t t;
        if (kl == klen && !memcmp(b->kv_buf + pos + 8, key, klen)) return ck__bfail(b, "duplicate key", key);
        /* step over this entry with the reader's own walker */
        memset(&tmp, 0, sizeof tmp);
        c.base = b->kv_buf; c.size = b->kv_len; c.g = &tmp; c.pos = pos + 8 + kl;
        t = ck__rd32(b->kv_buf + c.pos);
        c.pos += 4;
        ck__skip_value(&c, t, 0, key, klen);
        if (t != CK_GGUF_ARR && t != CK_GGUF_STR) c.pos += ck_gguf_vtype_size(t);
        pos = (size_t)c.pos;
    }
    if (ck__bput_str(b, key, klen) || ck__bput_le(b, vtype, 4)) return -1;
    b->n_kv++;
    return 0;
}
static int ck__bnum(ck_gguf_builder *b, uint32_t vtype, const void *value)
{
    size_t es = ck_gguf_vtype_size(vtype);
    uint64_t u = 0;
    switch (es) {
    case 1: u = *(const uint8_t *)value; break;
    case 2: u = *(const uint16_t *)value; break;
    case 4: u = *(const uint32_t *)value; break;
    case 8: u = *(const uint64_t *)value; break;
    default: return -1;
    }
    return ck__bput_le(b, u, (int)es);
}
CK_DEF int ck_gguf_add_scalar(ck_gguf_builder *b, const char *key, uint32_t vtype, const void *value)
{
    if (!ck_gguf_vtype_size(vtype)) return ck__bfail(b, "not a fixed-size value type for key", key);
    if (!strcmp(key, "general.alignment")) {
        uint32_t a = vtype == CK_GGUF_U32 ? *(const uint32_t *)value : 0;
        if (!a || (a & (a - 1))) return ck__bfail(b, "general.alignment must be a u32 power of two:", key);
        b->alignment = a;
    }
    if (ck__bkey(b, key, vtype)) return -1;
    return ck__bnum(b, vtype, value);
}
CK_DEF int ck_gguf_add_u32(ck_gguf_builder *b, const char *key, uint32_t v) { return ck_gguf_add_scalar(b, key, CK_GGUF_U32, &v); }
CK_DEF int ck_gguf_add_i32(ck_gguf_builder *b, const char *key, int32_t v) { return ck_gguf_add_scalar(b, key, CK_GGUF_I32, &v); }
CK_DEF int ck_gguf_add_f32(ck_gguf_builder *b, const char *key, float v) { return ck_gguf_add_scalar(b, key, CK_GGUF_F32, &v); }
CK_DEF int ck_gguf_add_bool(ck_gguf_builder *b, const char *key, int v) { uint8_t u = v != 0; return ck_gguf_add_scalar(b, key, CK_GGUF_BOOL, &u); }
CK_DEF int ck_gguf_add_str(ck_gguf_builder *b, const char *key, const char *s)
{
    if (ck__bkey(b, key, CK_GGUF_STR)) return -1;
    return ck__bput_str(b, s, strlen(s));
}
CK_DEF int ck_gguf_add_arr(ck_gguf_builder *b, const char *key, uint32_t elem_vtype, uint64_t n, const void *elems)
{
    size_t es = ck_gguf_vtype_size(elem_vtype);
    uint64_t i;
    if (!es) return ck__bfail(b, "ck_gguf_add_arr takes fixed-size elements (use ck_gguf_add_arr_str) for key", key);
    if (ck__bkey(b, key, CK_GGUF_ARR) || ck__bput_le(b, elem_vtype, 4) || ck__bput_le(b, n, 8)) return -1;
    for (i = 0; i < n; i++)
        if (ck__bnum(b, elem_vtype, (const uint8_t *)elems + i * es)) return -1;
    return 0;
}
CK_DEF int ck_gguf_add_arr_str(ck_gguf_builder *b, const char *key, uint64_t n, const char *const *strs)
{
    uint64_t i;
    if (ck__bkey(b, key, CK_GGUF_ARR) || ck__bput_le(b, CK_GGUF_STR, 4) || ck__bput_le(b, n, 8)) return -1;
    for (i = 0; i < n; i++)
        if (ck__bput_str(b, strs[i], strlen(strs[i]))) return -1;
    return 0;
}
CK_DEF int ck_gguf_add_kv_copy(ck_gguf_builder *b, const ck_gguf *g, uint64_t i)
{
    const ck_gguf_kv *kv;
    char key[256];
    if (i >= g->n_kv) return ck__bfail(b, "no such key index in", "source file");
    kv = &g->kv[i];
    if (kv->key_len >= sizeof key) return ck__bfail(b, "key too long to copy:", "(long key)");
    memcpy(key, kv->key, (size_t)kv->key_len);
    key[kv->key_len] = 0;
    if (kv->key_len == 17 && !memcmp(kv->key, "general.alignment", 17)) b->alignment = g->alignment;
    if (ck__bkey(b, key, kv->type)) return -1;
    /* the entry minus the key and type we just wrote: the value bytes as stored */
    return ck__bput(b, g->file + kv->file_offset + 8 + kv->key_len + 4, (size_t)(kv->entry_bytes - 8 - kv->key_len - 4));
}
CK_DEF int ck_gguf_add_tensor(ck_gguf_builder *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, const void *data)
{
    ck_gguf_wtensor *t;
    uint64_t i, n_el = 1, rows;
    int64_t bs = ck_type_block_size((int)type);
    size_t nl = strlen(name);
    if (b->failed) return -1;
    if (bs <= 0) return ck__bfail(b, "unknown tensor type for", name);
    if (n_dims < 1 || n_dims > CK_GGUF_MAX_DIMS) return ck__bfail(b, "tensor needs 1 to 4 dimensions:", name);
    for (i = 0; i < b->n_t; i++)
        if (b->t[i].name_len == nl && !memcmp(b->t[i].name, name, nl)) return ck__bfail(b, "duplicate tensor name", name);
    for (i = 0; i < n_dims; i++) {
        if (ne[i] < 0 || (ne[i] && n_el > (uint64_t)INT64_MAX / (uint64_t)ne[i])) return ck__bfail(b, "bad dimensions for tensor", name);
        n_el *= (uint64_t)ne[i];
    }
    if (ne[0] % bs) return ck__bfail(b, "row length is not a multiple of the block size for tensor", name);
    if (b->n_t == b->t_cap) {
        uint64_t cap = b->t_cap ? 2 * b->t_cap : 16;
        ck_gguf_wtensor *nt = (ck_gguf_wtensor *)CK_REALLOC(b->t, (size_t)cap * sizeof *nt);
        if (!nt) return ck__bfail(b, "out of memory adding tensor", name);
        b->t = nt;
        b->t_cap = cap;
    }
    t = &b->t[b->n_t];
    memset(t, 0, sizeof *t);
    t->name = (char *)CK_MALLOC(nl + 1);
    if (!t->name) return ck__bfail(b, "out of memory adding tensor", name);
    memcpy(t->name, name, nl + 1);
    t->name_len = nl;
    t->n_dims = n_dims;
    t->type = type;
    for (i = 0; i < CK_GGUF_MAX_DIMS; i++) t->ne[i] = i < n_dims ? ne[i] : 1;
    rows = ne[0] ? n_el / (uint64_t)ne[0] : 0;
    t->n_bytes = rows * (uint64_t)(ne[0] / bs) * ck_type_block_bytes((int)type);
    t->data = data;
    b->n_t++;
    return 0;
}
static uint64_t ck__align_up(uint64_t x, uint32_t a) { return (x + a - 1) / a * a; }
/* header + kv + tensor infos; assigns each tensor its offset */
static uint64_t ck__gguf_layout(ck_gguf_builder *b, uint64_t *data_start)
{
    uint64_t pos = 24 + b->kv_len, off = 0, i;
    for (i = 0; i < b->n_t; i++) {
        pos += 8 + b->t[i].name_len + 4 + 8ull * b->t[i].n_dims + 4 + 8;
        b->t[i].offset = off;
        off = ck__align_up(off + b->t[i].n_bytes, b->alignment);
    }
    *data_start = ck__align_up(pos, b->alignment);
    return b->n_t ? *data_start + b->t[b->n_t - 1].offset + b->t[b->n_t - 1].n_bytes : pos;
}
CK_DEF uint64_t ck_gguf_builder_size(const ck_gguf_builder *b)
{
    uint64_t ds;
    return ck__gguf_layout((ck_gguf_builder *)b, &ds);
}
CK_DEF int ck_gguf_write(ck_gguf_builder *b, ck_write_fn write, void *ctx)
{
    static const uint8_t zeros[64] = { 0 };
    uint8_t hdr[24], le[8];
    uint64_t data_start, pos, i, d;
    int k;
#define CK__W(p, n) do { if ((n) && write(ctx, (p), (size_t)(n)) != (size_t)(n)) return ck__bfail(b, "write failed", "output"); pos += (n); } while (0)
#define CK__WLE(v, nb) do { for (k = 0; k < (nb); k++) le[k] = (uint8_t)((uint64_t)(v) >> (8 * k)); CK__W(le, (nb)); } while (0)
#define CK__PAD(to) do { while (pos < (to)) { uint64_t n_ = CK_MIN((to) - pos, (uint64_t)sizeof zeros); CK__W(zeros, n_); } } while (0)
    if (b->failed) return -1;
    ck__gguf_layout(b, &data_start);
    pos = 0;
    for (k = 0; k < 4; k++) hdr[k] = (uint8_t)("GGUF"[k]);
    for (k = 0; k < 4; k++) hdr[4 + k] = (uint8_t)(3 >> (8 * k));
    for (k = 0; k < 8; k++) hdr[8 + k] = (uint8_t)(b->n_t >> (8 * k));
    for (k = 0; k < 8; k++) hdr[16 + k] = (uint8_t)(b->n_kv >> (8 * k));
    CK__W(hdr, 24);
    CK__W(b->kv_buf, b->kv_len);
    for (i = 0; i < b->n_t; i++) {
        const ck_gguf_wtensor *t = &b->t[i];
        CK__WLE(t->name_len, 8);
        CK__W(t->name, t->name_len);
        CK__WLE(t->n_dims, 4);
        for (d = 0; d < t->n_dims; d++) CK__WLE(t->ne[d], 8);
        CK__WLE(t->type, 4);
        CK__WLE(t->offset, 8);
    }
    if (b->n_t) CK__PAD(data_start);
    for (i = 0; i < b->n_t; i++) {
        CK__PAD(data_start + b->t[i].offset);
        CK__W(b->t[i].data, b->t[i].n_bytes);
    }
#undef CK__W
#undef CK__WLE
#undef CK__PAD
    return 0;
}
static size_t ck__fwrite_fn(void *ctx, const void *p, size_t n) { return fwrite(p, 1, n, (FILE *)ctx); }
CK_DEF int ck_gguf_write_file(ck_gguf_builder *b, const char *path)
{
    char tmp[4096];
    FILE *f;
    int rc;
    size_t n = strlen(path);
    if (n + 5 > sizeof tmp) return ck__bfail(b, "path too long:", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    f = fopen(tmp, "wb");
    if (!f) { ck__fmt(b->error, sizeof b->error, "%s: cannot create: %s", tmp, strerror(errno)); return -1; }
    rc = ck_gguf_write(b, ck__fwrite_fn, f);
    if (fflush(f) != 0) rc = -1;
    if (fclose(f) != 0) rc = -1;
    if (rc != 0) {
        if (!b->failed) ck__fmt(b->error, sizeof b->error, "%s: write failed: %s", tmp, strerror(errno));
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        ck__fmt(b->error, sizeof b->error, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}
#endif /* CK_NO_STDIO */

/* ===================================================================================== */
/* 14. Model runtime: kernels for generated models, weights, arena, sampler             */
/* ===================================================================================== */

CK_DEF void ck_embedding_forward_q(int type, float *out, const int32_t *tokens, const void *wte, const float *wpe, int T, int C, int pos0)
{
    size_t row = ck_row_size(type, C);
    int t, c;
    for (t = 0; t < T; t++) {
        float *o = out + (size_t)t * C;
        ck_dequantize_row(type, (const uint8_t *)wte + (size_t)tokens[t] * row, o, C);
        if (wpe)
            for (c = 0; c < C; c++) o[c] += wpe[(size_t)(pos0 + t) * C + c];
    }
}
CK_DEF void ck_copy_rows(float *dst, size_t ld_dst, const float *src, size_t ld_src, int rows, int cols)
{
    int r;
    for (r = 0; r < rows; r++) memmove(dst + (size_t)r * ld_dst, src + (size_t)r * ld_src, (size_t)cols * sizeof(float));
}
CK_DEF void ck_add_forward(float *out, const float *a, const float *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) out[i] = a[i] + b[i];
}
CK_DEF void ck_add_backward(float *da, float *db, const float *dout, size_t n)
{
    size_t i;
    if (da) for (i = 0; i < n; i++) da[i] += dout[i];
    if (db) for (i = 0; i < n; i++) db[i] += dout[i];
}
CK_DEF void ck_scale_forward(float *out, const float *a, float s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) out[i] = a[i] * s;
}
CK_DEF void ck_scale_backward(float *da, const float *dout, float s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) da[i] += dout[i] * s;
}
CK_DEF void ck_rope_forward_tm(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, size_t ld)
{
    ck__rope(x, cos_sin, NH, T, n_rot, pos0, neox, 1.0f, (size_t)HS, ld);
}
CK_DEF void ck_rope_backward_tm(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, size_t ld)
{
    ck__rope(dx, cos_sin, NH, T, n_rot, pos0, neox, -1.0f, (size_t)HS, ld);
}
CK_DEF void ck_attention_forward_tm(float *out, float *lse, const float *q, const float *k, const float *v,
                                    int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale,
                                    size_t ldq, size_t ldkv, size_t ldo)
{
    ck__attn_layout L;
    L.qh = (size_t)HS; L.qt = ldq; L.kh = (size_t)HS; L.kt = ldkv; L.oh = (size_t)HS; L.ot = ldo;
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, CK_HAVE_AVX2);
}
CK_DEF void ck_attention_backward_tm(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                     const float *q, const float *k, const float *v,
                                     int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale,
                                     size_t ldq, size_t ldkv, size_t ldo)
{
    ck__attn_layout L;
    L.qh = (size_t)HS; L.qt = ldq; L.kh = (size_t)HS; L.kt = ldkv; L.oh = (size_t)HS; L.ot = ldo;
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, &L, CK_HAVE_AVX2);
}

/* ---- the model runtime ---------------------------------------------------------------------- */

static uint64_t ck__fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}
static uint64_t ck__fnv_u64(uint64_t h, uint64_t v)
{
    uint8_t le[8];
    int i;
    for (i = 0; i < 8; i++) le[i] = (uint8_t)(v >> (8 * i));
    return ck__fnv(h, le, 8);
}
CK_DEF uint64_t ck_layout_hash(const ck_weight_info *w, int n)
{
    uint64_t h = 14695981039346656037ull;
    int i;
    for (i = 0; i < n; i++) {
        h = ck__fnv(h, w[i].name, strlen(w[i].name) + 1);
        h = ck__fnv_u64(h, (uint64_t)(uint32_t)w[i].type);
        h = ck__fnv_u64(h, (uint64_t)w[i].ne0);
        h = ck__fnv_u64(h, (uint64_t)w[i].ne1);
        h = ck__fnv_u64(h, w[i].off);
        h = ck__fnv_u64(h, w[i].bytes);
    }
    return h;
}

static uint8_t ck__canary_byte(int section, int k) { return (uint8_t)(0xA5 ^ (k * 37) ^ (section * 101)); }
CK_DEF int ck_canary_write(uint8_t *state, const ck_section_info *s, int n)
{
    int i, k;
    for (i = 0; i < n; i++)
        for (k = 0; k < 64; k++) state[s[i].off + s[i].bytes + (uint64_t)k] = ck__canary_byte(i, k);
    return 0;
}
CK_DEF int ck_canary_check(const uint8_t *state, const ck_section_info *s, int n)
{
    int i, k;
    for (i = 0; i < n; i++)
        for (k = 0; k < 64; k++)
            if (state[s[i].off + s[i].bytes + (uint64_t)k] != ck__canary_byte(i, k)) return i;
    return -1;
}

CK_DEF int ck_weights_check_gguf(const ck_gguf *g, const ck_weight_info *w, int n, char *err, size_t errlen)
{
    int i;
    for (i = 0; i < n; i++) {
        const ck_gguf_tensor *t = ck_gguf_find_tensor(g, w[i].name);
        if (!t) { ck__fmt(err, errlen, "tensor %s is missing from the file", w[i].name); return -1; }
        if ((int32_t)t->type != w[i].type) {
            ck__fmt(err, errlen, "tensor %s is %s in the file, but this program was generated for %s: run ckgen on this file",
                    w[i].name, ck_type_name((int)t->type), ck_type_name(w[i].type));
            return -1;
        }
        if (t->ne[0] != w[i].ne0 || t->ne[1] != w[i].ne1 || t->n_bytes != w[i].bytes) {
            ck__fmt(err, errlen, "tensor %s has shape [%lld, %lld] in the file, but this program was generated for [%lld, %lld]: run ckgen on this file",
                    w[i].name, (long long)t->ne[0], (long long)t->ne[1], (long long)w[i].ne0, (long long)w[i].ne1);
            return -1;
        }
        if (t->offset != w[i].off) {
            ck__fmt(err, errlen, "tensor %s is at data offset %llu in the file, but this program was generated for %llu: run ckgen on this file",
                    w[i].name, (unsigned long long)t->offset, (unsigned long long)w[i].off);
            return -1;
        }
    }
    return 0;
}

#ifndef CK_NO_STDIO
CK_DEF int ck_bump_write(const char *path, const void *weights, uint64_t bytes, uint64_t layout_hash)
{
    uint8_t hdr[CK_BUMP_HEADER_BYTES];
    char tmp[4096];
    size_t n = strlen(path);
    FILE *f;
    int i, ok;
    if (n + 5 > sizeof tmp) return -1;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, CK_BUMP_MAGIC, 4);
    for (i = 0; i < 4; i++) hdr[4 + i] = (uint8_t)(CK_BUMP_VERSION >> (8 * i));
    for (i = 0; i < 8; i++) hdr[8 + i] = (uint8_t)(layout_hash >> (8 * i));
    for (i = 0; i < 8; i++) hdr[16 + i] = (uint8_t)(bytes >> (8 * i));
    f = fopen(tmp, "wb");
    if (!f) return -1;
    ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr && fwrite(weights, 1, (size_t)bytes, f) == (size_t)bytes;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) { remove(tmp); return -1; }
    return 0;
}

CK_DEF int ck_model_open(ck_model *m, const char *path, const ck_weight_info *w, int n, uint64_t layout_hash,
                         uint64_t weights_bytes, void *state, uint64_t state_bytes)
{
    unsigned char magic[4] = { 0, 0, 0, 0 };
    FILE *f = fopen(path, "rb");
    char err[256];
    memset(m, 0, sizeof *m);
    if (!f) { ck__fmt(m->error, sizeof m->error, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    if (fread(magic, 1, 4, f) != 4) magic[0] = 0;
    fclose(f);
    if (!memcmp(magic, "GGUF", 4)) {
        if (ck_gguf_open(&m->gguf, path) != 0) { ck__fmt(m->error, sizeof m->error, "%s", m->gguf.error); return -1; }
        if (ck_weights_check_gguf(&m->gguf, w, n, err, sizeof err) != 0) {
            ck__fmt(m->error, sizeof m->error, "%s: %s", path, err);
            ck_gguf_close(&m->gguf);
            return -1;
        }
        m->weights = m->gguf.file + m->gguf.data_offset;
    } else if (!memcmp(magic, CK_BUMP_MAGIC, 4)) {
#if defined(__unix__) || defined(__APPLE__)
        {
            int fd = open(path, O_RDONLY);
            struct stat st;
            const uint8_t *b;
            uint64_t hash = 0, bytes = 0;
            int i;
            if (fd < 0 || fstat(fd, &st) != 0) { if (fd >= 0) close(fd); ck__fmt(m->error, sizeof m->error, "%s: cannot open", path); return -1; }
            m->bump_size = (size_t)st.st_size;
            m->bump_map = m->bump_size >= CK_BUMP_HEADER_BYTES ? mmap(NULL, m->bump_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
            close(fd);
            if (m->bump_map == MAP_FAILED) { m->bump_map = NULL; ck__fmt(m->error, sizeof m->error, "%s: too short or cannot be mapped", path); return -1; }
            b = (const uint8_t *)m->bump_map;
            for (i = 7; i >= 0; i--) hash = hash << 8 | b[8 + i];
            for (i = 7; i >= 0; i--) bytes = bytes << 8 | b[16 + i];
            if (ck__rd32(b + 4) != CK_BUMP_VERSION || hash != layout_hash || bytes != weights_bytes) {
                ck__fmt(m->error, sizeof m->error, "%s: layout hash 0x%llx (version %u, %llu bytes) does not match this program's 0x%llx (%llu bytes): "
                        "regenerate the program and the bump together", path, (unsigned long long)hash, ck__rd32(b + 4), (unsigned long long)bytes,
                        (unsigned long long)layout_hash, (unsigned long long)weights_bytes);
                ck_model_close(m);
                return -1;
            }
            if (m->bump_size - CK_BUMP_HEADER_BYTES < bytes) {
                ck__fmt(m->error, sizeof m->error, "%s: %llu bytes of weights expected, the file holds %llu (truncated?)", path,
                        (unsigned long long)bytes, (unsigned long long)(m->bump_size - CK_BUMP_HEADER_BYTES));
                ck_model_close(m);
                return -1;
            }
            m->weights = b + CK_BUMP_HEADER_BYTES;
        }
#else
        ck__fmt(m->error, sizeof m->error, "%s: reading a weights.bump needs mmap on this platform", path);
        return -1;
#endif
    } else {
        ck__fmt(m->error, sizeof m->error, "%s: neither a GGUF file nor a weights.bump (magic bytes %u %u %u %u)", path, magic[0], magic[1], magic[2], magic[3]);
        return -1;
    }
    m->weights_bytes = weights_bytes;
    m->state_bytes = state_bytes;
    if (state) m->state = (uint8_t *)state;
    else {
        m->owned_state = CK_MALLOC((size_t)state_bytes ? (size_t)state_bytes : 1);
        if (!m->owned_state) {
            ck__fmt(m->error, sizeof m->error, "out of memory for the %llu-byte state region", (unsigned long long)state_bytes);
            ck_model_close(m);
            return -1;
        }
        memset(m->owned_state, 0, (size_t)state_bytes);
        m->state = (uint8_t *)m->owned_state;
    }
    return 0;
}
CK_DEF void ck_model_close(ck_model *m)
{
    if (m->gguf.owned_index) ck_gguf_close(&m->gguf);
#if defined(__unix__) || defined(__APPLE__)
    if (m->bump_map) munmap(m->bump_map, m->bump_size);
#endif
    CK_FREE(m->owned_state);
    m->bump_map = NULL;
    m->owned_state = NULL;
    m->weights = NULL;
    m->state = NULL;
}
#endif /* CK_NO_STDIO */

/* ---- sampler ------------------------------------------------------------------------------- */
CK_DEF int32_t ck_argmax(const float *x, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
CK_DEF float ck_rand_f32(uint64_t *rng)
{
    uint64_t x = *rng ? *rng : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *rng = x;
    return (float)((x * 2685821657736338717ull) >> 40) * (1.0f / 16777216.0f);
}
static int ck__prob_desc(const void *a, const void *b)
{
    const ck_prob_id *x = (const ck_prob_id *)a, *y = (const ck_prob_id *)b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}
/* move the k largest entries to the front (unordered): quickselect, deterministic pivots */
static void ck__select_top(ck_prob_id *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        ck_prob_id pivot = a[lo + (hi - lo) / 2], t;
        int i = lo, j = hi;
        while (i <= j) {
            while (ck__prob_desc(&a[i], &pivot) < 0) i++;
            while (ck__prob_desc(&a[j], &pivot) > 0) j--;
            if (i <= j) { t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else return;
    }
}
/* heapsort by ck__prob_desc (no libc qsort: the sampler runs on microcontrollers too) */
static void ck__sift(ck_prob_id *a, int root, int n)
{
    for (;;) {
        int c = 2 * root + 1;
        ck_prob_id t;
        if (c >= n) return;
        if (c + 1 < n && ck__prob_desc(&a[c + 1], &a[c]) > 0) c++;
        if (ck__prob_desc(&a[c], &a[root]) <= 0) return;
        t = a[c]; a[c] = a[root]; a[root] = t;
        root = c;
    }
}
static void ck__sort_desc(ck_prob_id *a, int n)
{
    int i;
    for (i = n / 2 - 1; i >= 0; i--) ck__sift(a, i, n);
    for (i = n - 1; i > 0; i--) {
        ck_prob_id t = a[0];
        a[0] = a[i]; a[i] = t;
        ck__sift(a, 0, i);
    }
}
CK_DEF int32_t ck_sample(const float *logits, int n, float temp, int top_k, float top_p, uint64_t *rng, ck_prob_id *scratch)
{
    float mx, acc;
    double sum = 0.0, cut;
    int i, m;
    if (temp <= 0.0f || top_k == 1) return ck_argmax(logits, n);
    mx = logits[ck_argmax(logits, n)];
    for (i = 0; i < n; i++) {
        scratch[i].p = expf((logits[i] - mx) / temp);
        scratch[i].id = i;
    }
    m = top_k > 0 && top_k < n ? top_k : n;
    if (m < n) ck__select_top(scratch, n, m);
    ck__sort_desc(scratch, m);
    for (i = 0; i < m; i++) sum += scratch[i].p;
    if (top_p > 0.0f && top_p < 1.0f) { /* the nucleus: smallest prefix reaching top_p */
        double c = 0.0;
        for (i = 0; i < m; i++) {
            c += scratch[i].p;
            if (c >= top_p * sum) { m = i + 1; break; }
        }
        sum = c;
    }
    cut = (double)ck_rand_f32(rng) * sum;
    acc = 0.0f;
    for (i = 0; i < m; i++) {
        acc += scratch[i].p;
        if (acc > cut) return scratch[i].id;
    }
    return scratch[m - 1].id;
}

#ifdef __cplusplus
}
#endif
#endif /* CK_IMPLEMENTATION */

/*
MIT License. Copyright (c) 2026 the ckernel authors.
Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions: The above copyright notice
and this permission notice shall be included in all copies or substantial portions of the
Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
*/
