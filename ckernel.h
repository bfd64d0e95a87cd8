/* ckernel.h — transformer kernels, forward and backward, for CPUs from servers to Cortex-M.
   Public domain-style single header (MIT licence at the end of the file).

   WHAT IT IS
     Every kernel a transformer language model needs to run and to train, each as a pair of
     plain C functions `ck_<op>_forward` / `ck_<op>_backward`, with a portable C99 scalar path
     that is the reference, and SIMD paths (AVX2+FMA, AVX-512, AArch64 NEON, Arm Helium) tested
     against it. No allocation in any kernel, no dependency beyond libc and libm, no global state.

   HOW TO USE IT
     In exactly one C or C++ file:
         #define CK_IMPLEMENTATION
         #include "ckernel.h"
     Everywhere else, include it plainly for the declarations.

   OPTIONS (define before the #include that has CK_IMPLEMENTATION)
     CK_IMPLEMENTATION  Emit the function definitions in this translation unit.
     CK_NO_AVX512       Use the AVX2 paths even where the compiler targets AVX-512.
     CK_NO_NEON         Use the scalar paths on AArch64 (NEON is on by default there).
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
     CK_NO_LORA         Generated models never apply a LoRA adapter: ck_lora_apply becomes a macro
                        that does nothing, so the hook after each matmul (`if (m->lora) ...`) and the
                        LoRA kernels leave the program (firmware that never loads one: less flash).
     CK_PROFILE         Generated models call the capture hook (m->capture) after each op of decode
                        too, not only of prefill (run --profile times decode steps with it; run.c
                        defines it). Without it decode has no hook: firmware keeps its size.
     CK_NO_REPACK       ck_repack_type keeps every GGUF type: ck_model_repack (CKM_REPACK) leaves the
                        weights as they are. Default: on AVX-512 builds Q4_0, Q5_0, Q8_0, F32, F16 and BF16 matmul weights
                        are rewritten once at load into groups of 16 rows (CK_Q4_0_X16, _Q5_0_X16, _Q8_0_X16: the same
                        results bit for bit, decode reads them at memory speed; CK_F32_X16, CK_F16_X16 and,
                        with AVX512_BF16, CK_BF16_X16: the GEMMs' panels, read in place, each output one
                        chain at every T).
     CK_CANARIES        Generated models write guard words between the sections of their
                        arena and check them after each phase (ck_canary_check).
     CK_ASSERT(x)       Internal consistency checks; default `assert(x)` from <assert.h>.
     CK_DEF             Linkage of every function; default `extern`. `#define CK_DEF static`
                        makes everything private to one translation unit.
     CK_QMATMUL_PATH    The path ck_matmul_forward_q takes: CK_Q_FAST (default; activations
                        quantized to 8 bits as llama.cpp on x86 does, byte for byte, integer dot
                        products; for F16 / BF16 weights rounded to fp16 / bf16 as there) or
                        CK_Q_EXACT (weights dequantized, fp32 activations and dot products).
                        ck_matmul_forward_qp takes the path as an argument.
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
                        __aarch64__ with __ARM_NEON (any -march=armv8-a or later) selects the
                        NEON paths of the quantized matmul's fast path: the integer dot products
                        of Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL Q2_K Q3_K Q4_K Q5_K Q6_K (with
                        __ARM_FEATURE_DOTPROD, e.g. -march=armv8.2-a+dotprod, through sdot; else
                        widening multiplies), the F16/BF16 dot products, the activation quantizers
                        (Q8_0, Q8_1, Q8_K, F16, BF16: the scalar path's bytes) and
                        ck_dequantize_row. Integer results are bit-identical to the scalar path.
                        NEON also runs the fp32 matmul (forward, dinp, dweight through the packed
                        GEMM with an 8x12 vfmaq_laneq tile, the same k-order FMA chains; 4x4 and
                        1x8 dot-product tiles for the forward below 48 rows; dbias), attention
                        (training forward/backward, inference over an f32 or F16 cache: 4-lane
                        dot/axpy/scale), rmsnorm and layernorm forward/backward, rope, swiglu, the tanh GELU,
                        soft-capping (4-lane exp and tanh) and the cross-entropy forward.
                        Not yet NEON on AArch64: softmax, geglu/gelu_erf, add/scale,
                        AdamW, the exact path's dot products (they run the scalar code).
     Threads            OpenMP pragmas sit on the outer loops; they are inert without -fopenmp.
                        Every output element is computed by exactly one thread in a fixed
                        order, so results are bit-identical for any thread count.
                        CK_OMP_MIN_WORK (multiply-adds, default 32768) and CK_OMP_MIN_DECODE_BYTES
                        (a one-token matmul's weight bytes, default 256 KB): below them a
                        kernel stays on one thread; with one thread, or little work, the ops a
                        decode step runs open no parallel region at all (one costs ~1-3 us).
                        ck_parallel_run(fn, arg): fn in one region, its matmuls and attention
                        handed to the other threads, which spin (CK_POOL_SPINS pauses, default
                        20000, then sched_yield) between them; OMP_WAIT_POLICY=passive: no pool.
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
     4. Matmul (linear)      ck_matmul_forward / _backward        scalar + AVX2/AVX-512/NEON packed GEMM
                                                                  (+ Helium forward)
                             ck_lora_forward / _backward (a rank-r update beside a matmul)
     5. Weight formats       GGUF types F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K..Q8_K
                             IQ4_NL: ck_type_*, ck_row_size, ck_fp16/bf16 conversions,
                             ck_dequantize_row, ck_quantize_row (ggml's reference quantizers),
                             ck_quantize_act_row (ggml's x86 activation blocks),
                             ck_matmul_forward_q / _qp            scalar + AVX2, exact and fast
                                                                  (+ Helium Q8_0/Q4_0 dot products;
                                                                  NEON fast path and dequantization)
                             ck_matmul_backward_q: the input gradient of a frozen quantized layer
                             (QLoRA), chunks of dequantized rows, the packed GEMM on AVX2/AVX-512/NEON
     6. Normalisation        ck_rmsnorm_*, ck_layernorm_* (+ NEON)
     7. Activations          ck_gelu_*, ck_gelu_erf_*, ck_swiglu_*, ck_geglu_*, ck_softcap_* (AVX2/NEON tanh)
     8. Softmax              ck_softmax_forward / _backward
     9. Rotary embedding     ck_rope_cache, ck_rope_forward / _backward; rope scaling as llama.cpp
                             computes it (linear, Llama 3 factors, YaRN, LongRoPE): ck_rope_params,
                             ck_rope_params_init, ck_rope_cache_ext (ck_rope_params_from_gguf: 14)
    10. Attention            ck_attention_forward / _backward     scalar + AVX2/AVX-512 tiles (NEON: 4-lane loops), flash-style,
                             sliding window, GQA, logit soft-capping
    11. Loss                 ck_cross_entropy_forward / _backward
    12. Optimiser            ck_adamw_update, ck_grad_norm
    13. GGUF files           ck_gguf_parse (caller memory) / ck_gguf_open (mmap), lookups by
                             key and tensor name, every check bounded by the file size;
                             ck_gguf_builder + ck_gguf_write_file (atomic: temp + rename)
    14. Model runtime        token-major RoPE/attention with KV cache, ck_model (weights from a
                             GGUF or a weights.bump, arena, canaries), sampler (temperature,
                             top-k, top-p), stop strings (ck_stop_*), LoRA adapters (ck_lora_read,
                             ck_lora_open, ck_lora_apply, ck_lora_write_file: GGUF, llama.cpp's layout)
    15. Tokenizer            ck_tok_* from tokenizer.ggml.*: byte-level BPE (gpt2; pre-tokenizers
                             default, gpt-2, llama3, qwen2, deepseek-llm/coder, falcon, starcoder,
                             refact, mpt), SentencePiece BPE (llama), WordPiece (bert); encode,
                             decode, streaming decode; Unicode tables generated into the header
    16. Chat templates       ck_chat_detect (the family of tokenizer.chat_template, by substrings as
                             llama.cpp), ck_chat_render (a conversation as that family's template
                             writes it, byte for byte; no Jinja engine, no allocation)
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
/* AVX-512 (F/BW/VL + VNNI, e.g. AMD Zen 4, Intel Ice Lake and later): paths beside the AVX2 ones,
   chosen at compile time like them (-march=native on such a CPU; CK_NO_AVX512 keeps AVX2 only).
   BF16 dot products (vdpbf16ps) additionally need AVX512_BF16. */
#if CK_HAVE_AVX2 && !defined(CK_NO_AVX512) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define CK_HAVE_AVX512 1
#else
#define CK_HAVE_AVX512 0
#endif
#if CK_HAVE_AVX512 && defined(__AVX512BF16__)
#define CK_HAVE_AVX512BF16 1
#else
#define CK_HAVE_AVX512BF16 0
#endif
/* Arm Helium: MVE with floating point (__ARM_FEATURE_MVE bit 1), e.g. -mcpu=cortex-m55 */
#if !defined(CK_NO_SIMD) && !CK_HAVE_AVX2 && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#define CK_HAVE_MVE 1
#else
#define CK_HAVE_MVE 0
#endif
/* AArch64 NEON (Advanced SIMD, every ARMv8-A application core: Graviton, Ampere, Apple, Cortex-A):
   always there with __aarch64__ and __ARM_NEON; the dot-product instructions (sdot, ARMv8.2's
   optional FEAT_DotProd, e.g. -march=armv8.2-a+dotprod or -mcpu=neoverse-n1, cortex-a76) speed up
   the integer kernels further. CK_NO_NEON keeps the scalar paths on such a target. */
#if !defined(CK_NO_SIMD) && !defined(CK_NO_NEON) && !CK_HAVE_AVX2 && defined(__aarch64__) && defined(__ARM_NEON)
#define CK_HAVE_NEON 1
#else
#define CK_HAVE_NEON 0
#endif
#if CK_HAVE_NEON && defined(__ARM_FEATURE_DOTPROD)
#define CK_HAVE_NEON_DOTPROD 1
#else
#define CK_HAVE_NEON_DOTPROD 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Which SIMD paths this build uses: "avx512 (...) + avx2+fma", "avx2+fma", "neon+dotprod",
   "neon" (AArch64), "mve" (Arm Helium) or "scalar". */
CK_DEF const char *ck_simd_name(void);

/* fn(arg) with every OpenMP thread ready for the kernels it calls: one parallel region for all of
   them (a generated model's decode step runs in one), its other threads waiting, spinning, for the
   work the matmuls and attention hand them (a region of their own costs ~2.5 us each, a spinning
   hand-off ~0.05 us). The same results as calling fn(arg). Outside OpenMP, with one thread, or inside
   a parallel region: fn(arg). Each calling thread leads a pool of its own. */
CK_DEF void ck_parallel_run(void (*fn)(void *), void *arg);

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

/* ---- LoRA: a low-rank update beside a linear layer ------------------------------------------
   out [T,OC] += scale * (inp [T,C] @ A^T) @ B^T, with A = a [rank,C] and B [OC,rank] given
   transposed as bt [rank,OC] (GGUF's lora_a is A as it is, lora_b is B: ck_lora_open transposes
   it once), so that both products are the fp32 matmul: scratch [T,rank] = inp @ A^T, times
   scale, then out += scratch @ bt (ck_matmul_backward's input-gradient product). The base
   matmul out = inp @ W^T is not touched: W may be of any type.
   backward (scratch [T,rank] from the forward is recomputed; dscratch [T,rank] caller memory):
   dinp [T,C] += dout @ (scale B A); da [rank,C] += scale (dout @ B)^T @ inp;
   dbt [rank,OC] += scale (inp @ A^T)^T @ dout. Any of dinp, da, dbt may be NULL. */
CK_DEF void ck_lora_forward(float *out, float *scratch, const float *inp, const float *a, const float *bt, float scale,
                            int T, int C, int OC, int rank);
CK_DEF void ck_lora_backward(float *dinp, float *da, float *dbt, float *scratch, float *dscratch, const float *dout, const float *inp,
                             const float *a, const float *bt, float scale, int T, int C, int OC, int rank);
CK_DEF void ck_lora_forward_scalar(float *out, float *scratch, const float *inp, const float *a, const float *bt, float scale,
                                   int T, int C, int OC, int rank);
CK_DEF void ck_lora_backward_scalar(float *dinp, float *da, float *dbt, float *scratch, float *dscratch, const float *dout, const float *inp,
                                    const float *a, const float *bt, float scale, int T, int C, int OC, int rank);

/* ---- weight formats: GGUF / ggml tensor types ----------------------------------------------
   Type ids are GGUF's tensor type ids; names and block layouts are ggml's, byte for byte, so a
   tensor's bytes in a GGUF file are a valid `weight` here. Half floats are stored as uint16_t
   (IEEE binary16 bits); all multi-byte fields are little-endian (hosts are assumed to be).
   Every block struct has natural alignment 2 (Q8_K: 4); GGUF's 32-byte tensor alignment and
   the even row sizes keep every block of a tensor aligned, and the kernels assert it. */
enum ck_type {
    CK_F32 = 0, CK_F16 = 1, CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8, CK_Q8_1 = 9,
    CK_Q2_K = 10, CK_Q3_K = 11, CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14, CK_Q8_K = 15, CK_IQ4_NL = 20,
    CK_BF16 = 30
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

/* IQ4_NL, 4.5 bits/value: x = d * kvalues_iq4nl[q], q in 0..15 an index into ggml's fixed
   non-linear table {-127,-104,-83,-65,-49,-35,-22,-10,1,13,25,38,53,69,89,113}; nibbles as Q4_0.
   (llama-quantize's fallback for Q2_K/Q3_K rows that are not whole 256-blocks.) */
typedef struct { uint16_t d; uint8_t qs[CK_QK / 2]; } ck_block_iq4_nl;

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
typedef char ck__assert_iq4_nl[sizeof(ck_block_iq4_nl) == 18 ? 1 : -1];

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
   (quantize_row_*_ref, no importance matrix; IQ4_NL: quantize_iq4_nl without one, the search
   llama-quantize runs). Returns the bytes written, 0 if `type` is unknown or n is not a
   multiple of the block size. The block formats (Q*, IQ4_NL) cannot hold NaN or Inf: a row with
   one is not quantized (returns 0, dst untouched; ggml's code has undefined behaviour there).
   F32, F16 and BF16 keep them (F16: NaN stays NaN, beyond +-65504 becomes +-Inf). */
CK_DEF size_t ck_quantize_row(int type, const float *src, void *dst, int64_t n);

/* The activation row the fast matmul path pairs with weights of `weight_type`: n floats (a
   multiple of 32, of 256 for the K-quants) quantized into dst exactly as ggml's x86 CPU backend
   builds its vec_dot_type blocks, byte for byte. Returns the block type written:
     CK_Q8_0 for Q4_0, Q5_0, Q8_0, IQ4_NL  (fp16 d; d = amax/127, q = round-half-even(x * 127/amax),
                                            as ggml's AVX2/AVX quantize_row_q8_0)
     CK_Q8_1 for Q4_1, Q5_1                (Q8_0's quants, fp16 d and s = fp16(d * sum q))
     CK_Q8_K for Q2_K .. Q6_K              (quantize_row_q8_K_ref: fp32 d, int16 bsums)
     CK_F16 for F16, CK_BF16 for BF16      (each value rounded to nearest even: fp32_to_fp16_row,
                                            F16C's cvtps_ph on x86; fp32_to_bf16_row; any n)
   or -1 (nothing written) for the other types or an n that does not fit. For finite
   inputs the scalar and SIMD builds write the same bytes (NaN: unspecified). ggml's own non-SIMD
   build (quantize_row_q8_0_ref: roundf, 1/d) and its Arm NEON code round some ties differently;
   x86 with AVX is the reference here. _scalar is the portable path. */
CK_DEF int ck_quantize_act_row(int weight_type, const float *src, void *dst, int64_t n);
CK_DEF int ck_quantize_act_row_scalar(int weight_type, const float *src, void *dst, int64_t n);

/* ---- quantized matmul: out [T,OC] = inp [T,C] @ dequant(weight)^T + bias ------------------
   weight is OC rows of ck_row_size(type, C) bytes (row-major [OC, C], as in GGUF); C must be a
   multiple of the type's block size. bias [OC] or NULL. Every type above except Q8_K works.
   CK_Q_EXACT: dequantize each weight-row segment once, fp32 dot products (FMA) with every row.
   CK_Q_FAST:  as llama.cpp's CPU backend on x86: quantize each inp row with
               ck_quantize_act_row (Q8_0, Q8_1 or Q8_K blocks, fp16 scales where ggml has them)
               and take integer dot products, one float multiply-add per block as ggml's
               vec_dot kernels (only the order of the float sums differs); F16 and BF16
               weights: the activations rounded to fp16 / bf16 (ggml's vec_dot_type for them),
               fp32 sums of the (exact) products. F32 weights take ck_matmul_forward, Q8_1
               (no ggml vec_dot on the CPU for it as weight) the exact path. */
#define CK_Q_EXACT 0
#define CK_Q_FAST  1
#ifndef CK_QMATMUL_PATH
#define CK_QMATMUL_PATH CK_Q_FAST
#endif
CK_DEF void ck_matmul_forward_q(int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
/* several matmuls of one input (q, k and v; gate and up): out_i = inp @ weight_i^T + bias_i for
   each entry, bit for bit as n separate ck_matmul_forward_q calls, in one pass of the threads */
typedef struct { int type; float *out; const void *weight; const float *bias; int OC; } ck_qmatmul;
CK_DEF void ck_matmul_forward_q_multi(const ck_qmatmul *mm, int n, const float *inp, int T, int C);

/* Repacked weight layouts: a matmul weight rewritten once, in place and at the same size, into
   the order this build's decode kernel reads fastest. Not GGUF types (never in a file): made in
   memory by ck_repack_rows (ck_model_repack for a generated model), read by ck_matmul_forward_q
   and _q_multi's fast path only.
   CK_Q4_0_X16: a Q4_0 matrix [OC, C], OC a multiple of 16, as groups of 16 rows; block b of group
   g at byte (g * C/32 + b) * 288: the 16 rows' d (fp16, 32 bytes), then 4 chunks j = 0..3 of
   [row 0..15][qs[4j .. 4j+3]] (64 bytes each: the nibbles of values 4j..4j+3 and 16+4j..16+4j+3).
   CK_Q8_0_X16: the same for Q8_0: 16 d, then 8 chunks j = 0..7 of [row 0..15][qs[4j .. 4j+3]]
   (544 bytes a block of 16 rows).
   CK_Q5_0_X16: the same for Q5_0: 16 d, then [row 0..15][qh] (64 bytes: the fifth bits), then
   Q4_0's 4 chunks of nibbles (352 bytes a block of 16 rows).
   One 512-bit vpdpbusd then takes 16 rows x 4 values with one broadcast activation dword, and no
   horizontal sums follow: AVX-512 decode reads the weights at memory speed. Results are
   bit-identical to the GGUF matrix's (the same integer block sums and float steps in the same
   order). */
#define CK_Q4_0_X16 1002
#define CK_Q8_0_X16 1008
#define CK_Q5_0_X16 1006
/* CK_F32_X16: an F32 matrix [OC, C], OC a multiple of 16, as groups of 16 rows stored column by
   column: value (16g + r, k) at float (g * C + k) * 16 + r. These are the 16-wide B panels the packed
   GEMM (ck_matmul_forward at T >= 48) otherwise copies W into for every call; the prefill GEMM's
   32 x 8 tiles (ck__gemm_h16_simd) read them in place, and decode reads each group front to back.
   Every output, at every T, is the
   GEMM's one FMA chain out = fma(W(o,k), x(k), out) over k = 0..C-1 from the bias (a C loop of
   fmaf gives the same bits): bit-identical to the GGUF matrix's result at T >= 48, and within
   the fp32 reference tolerance of its dot-product tiles below 48 rows (other summation order). */
#define CK_F32_X16 1000
/* CK_F16_X16: the same geometry for F16: value (16g + r, k) at half (g * C + k) * 16 + r. AVX-512
   reads it through the F16 GEMM (ck_matmul_forward_q's path at T >= 16), its fp32 panels
   converted straight from the groups (no transpose), at every T >= 2, and decode along each
   group: every output is that GEMM's one FMA chain over the activations rounded to F16, from the
   bias: bit-identical to the GGUF matrix's result at T >= 16, within the F16 tolerance of its
   tiles below 16 rows (other summation order). */
#define CK_F16_X16 1001
/* CK_BF16_X16: BF16 in 16-row groups of value pairs, the vdpbf16ps operand: values 2p, 2p+1 of
   the 16 rows at half (g * C + 2p) * 16, row r's pair at 2r, 2r+1 (an odd C's last value alone:
   (g * C + C-1) * 16 + r). Builds with AVX512_BF16 read it through the BF16 GEMM (panels copied
   straight from the groups) at every T >= 2 and decode along each group, one vdpbf16ps chain
   per row over the pairs: the GEMM's bits at every T (the GGUF matrix's from 16 rows). */
#define CK_BF16_X16 1030
/* the repacked layout ck_matmul_forward_q runs `type` fastest in on this build, or `type` itself
   (none: every type but Q4_0, Q5_0, Q8_0, F32, F16 and BF16 (with AVX512_BF16), builds without AVX-512, the exact path,
   CK_NO_REPACK) */
CK_DEF int ck_repack_type(int type);
/* the repacked layout some build runs `type` in (the generator's question), or `type` itself */
CK_DEF int ck_repack_layout(int type);
CK_DEF int ck_repack_base(int type);
#ifndef CK_NO_STDIO
/* rewrite w, OC rows of ck_row_size(ck_repack_base(to), C) bytes, into layout `to` in place;
   0, or -1 (OC not a multiple of 16, C not of 32 (F32, F16, BF16: C < 1), `to` not a repacked
   type, out of memory: w unchanged). ck_repack_base: the GGUF type a repacked layout holds (type itself otherwise). */
CK_DEF int ck_repack_rows(int to, void *w, int64_t OC, int64_t C);
#endif
CK_DEF void ck_matmul_forward_qp(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_forward_qp_scalar(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
/* backward, the input gradient of a frozen layer (LoRA / QLoRA training over a quantized base):
   dinp [T,C] += dout [T,OC] @ dequant(weight) [OC,C]. No weight gradient: the base is frozen, and it is
   never converted to f32 as a whole. Rows of the weight are dequantized (ck_dequantize_row, the rows
   split among threads) CK_MATMUL_BQ_ROWS at a time into scratch [min(OC, CK_MATMUL_BQ_ROWS), C] (caller
   memory), and each chunk's product is accumulated into dinp: on AVX2/AVX-512/NEON by the packed GEMM
   of ck_matmul_backward, elsewhere by the scalar reference's loop. Both compute each element as one chain
   over the rows o in increasing order from dinp's value, so the result has the bits of dequantizing the
   whole weight and calling ck_matmul_backward(dinp, NULL, NULL, dout, NULL, w_f32, T, C, OC) in the same
   build (_scalar: ck_dequantize_row_scalar and ck_matmul_backward_scalar), for any thread count and any
   CK_MATMUL_BQ_ROWS. Types: every one ck_dequantize_row reads (F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
   Q8_1 Q2_K..Q8_K IQ4_NL); C must be a multiple of the type's block size (32, or 256 for the K-quants),
   as for the forward. F32 weights go straight to ck_matmul_backward (scratch is not used, may be NULL).
   CK_MATMUL_BQ_ROWS (default 256) is the packed GEMM's own k block (256 rows of B per pass): a chunk is
   exactly one pass, so dinp's tiles are loaded and stored as often as in the whole-matrix product (a
   chunk of 128 would do it twice as often), and the two parallel regions per chunk (dequantization,
   product) are amortised over 256 rows. Measured (Q4_K, AVX-512, 2 threads, T 64..512, C 1536..4096),
   speed relative to dequantizing all of W then one GEMM: 64 rows 0.67-0.89x, 128 rows 0.80-0.89x, 256
   rows 0.93-1.02x, 512 rows 0.97-1.04x for twice the scratch (make bench-kernels times the default
   against that route). The scratch
   is 1 KB per column (4 MB at C = 4096); lower it (any value >= 1, the same bits) where memory is tight. */
#ifndef CK_MATMUL_BQ_ROWS
#define CK_MATMUL_BQ_ROWS 256
#endif
CK_DEF void ck_matmul_backward_q(int type, float *dinp, const float *dout, const void *weight, int T, int C, int OC, float *scratch);
CK_DEF void ck_matmul_backward_q_scalar(int type, float *dinp, const float *dout, const void *weight, int T, int C, int OC, float *scratch);

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
/* logit soft-capping (Gemma 2's final logits): out = cap * tanh(inp / cap), |out| < cap; backward
   dinp += dout * (1 - tanh^2(inp / cap)). cap <= 0 means no capping (out = inp). */
CK_DEF void ck_softcap_forward(float *out, const float *inp, float cap, size_t n);
CK_DEF void ck_softcap_backward(float *dinp, const float *dout, const float *inp, float cap, size_t n);

/* ---- softmax over the last dimension of [rows, cols] ----------------------------------- */
CK_DEF void ck_softmax_forward(float *out, const float *inp, int rows, int cols);
CK_DEF void ck_softmax_backward(float *dinp, const float *dout, const float *out, int rows, int cols);

/* ---- rotary position embedding ----------------------------------------------------------
   cos_sin [max_T, n_rot/2, 2] holds (cos, sin) of pos * theta^(-2i/n_rot), computed in double.
   forward rotates x [NH,T,HS] in place; row t has position pos0+t; dims >= n_rot pass through.
   neox = 0 rotates the pairs (2i, 2i+1) (GPT-J / llama.cpp "normal"), neox = 1 the pairs
   (i, i + n_rot/2) (GPT-NeoX, Qwen, Gemma). backward applies the transposed rotation to dx in
   place (no accumulate): the inverse rotation when |(cos, sin)| = 1, and still the gradient when
   a scaled cache (ck_rope_cache_ext, mscale != 1) makes the map (a, b) -> mscale * R (a, b). */
CK_DEF void ck_rope_cache(float *cos_sin, int max_T, int n_rot, float theta);
CK_DEF void ck_rope_forward(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox);
CK_DEF void ck_rope_backward(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox);

/* ---- rope scaling, as llama.cpp computes it ----------------------------------------------
   Every rope scaling llama.cpp (ggml's rope_yarn) supports changes only the cache's values; the
   rotation kernels are the same. For pair i at position p, with f_i = freq_base^(-2i/n_rot):
     extrap = p * f_i / freq_factors[i]               the angle without interpolation
     interp = freq_scale * extrap                      linearly interpolated positions
     angle  = interp                                   if ext_factor == 0, else (YaRN)
              interp * (1 - r) + extrap * r,           r = ext_factor * ramp(i)
     mscale = attn_factor, times 1 + 0.1 ln(1/freq_scale) if ext_factor != 0
     cos_sin[p, i] = (mscale cos(angle), mscale sin(angle))
   ramp(i) = 1 - clamp((i - lo) / max(0.001, hi - lo), 0, 1): 1 (extrapolate, the pair keeps its
   frequency) up to pair lo, 0 (interpolate) from pair hi on, where lo = max(0, floor(d(beta_fast))),
   hi = min(n_rot - 1, ceil(d(beta_slow))) and d(b) = n_rot ln(n_ctx_orig / (2 pi b)) / (2 ln
   freq_base) is the pair that turns b times in n_ctx_orig positions. Computed in double (ggml
   uses float: the angles agree to float rounding, the floor/ceil of d(b) unless d(b) is within
   float rounding of an integer). */
typedef struct {
    float freq_base;   /* pair i turns freq_base^(-2i/n_rot) rad per position: {arch}.rope.freq_base */
    float freq_scale;  /* multiplies every angle: 1 / {arch}.rope.scaling.factor (linear, yarn), else 1 */
    float ext_factor;  /* weight of YaRN's ramp, 0 = no YaRN; llama.cpp: 1 if rope.scaling.type = yarn, else 0 */
    float attn_factor; /* multiplies cos and sin: {arch}.rope.scaling.attn_factor (Phi-3 LongRoPE), else 1 */
    float beta_fast;   /* YaRN: pairs turning >= beta_fast times in n_ctx_orig keep their frequency (llama.cpp: 32) */
    float beta_slow;   /* YaRN: pairs turning <= beta_slow times are fully interpolated (llama.cpp: 1) */
    int n_ctx_orig;    /* YaRN: the pre-training context, {arch}.rope.scaling.original_context_length, else context_length */
    const float *freq_factors; /* n_rot/2 divisors of the pair frequencies, or NULL: rope_freqs.weight
                                  (Llama 3.1), rope_factors_long/short.weight (Phi-3 LongRoPE) */
} ck_rope_params;
/* {arch}.rope.scaling.type: llama.cpp's llama_rope_scaling_type values; an absent key is "linear". */
enum ck_rope_scaling { CK_ROPE_SCALING_NONE = 0, CK_ROPE_SCALING_LINEAR = 1, CK_ROPE_SCALING_YARN = 2, CK_ROPE_SCALING_LONGROPE = 3 };
CK_DEF int  ck_rope_scaling_from_name(const char *name, size_t len);   /* CK_ROPE_SCALING_*, or -1 */
/* Fill p as llama.cpp (c392e5094: its hparams and context defaults) derives it from GGUF metadata:
   scaling: CK_ROPE_SCALING_*; factor: {arch}.rope.scaling.factor, 0 = absent (freq_scale =
   1/factor, except NONE: 1); n_ctx_orig: see above; attn_factor: {arch}.rope.scaling.attn_factor
   (pass 1 when absent); freq_factors: see above. ext_factor = 1 for YARN, else 0; beta 32 / 1. */
CK_DEF void ck_rope_params_init(ck_rope_params *p, int scaling, float freq_base, float factor, int n_ctx_orig,
                                float attn_factor, const float *freq_factors);
/* cos_sin [max_T, n_rot/2, 2] of the scaled rotation above. With freq_scale 1, ext_factor 0,
   attn_factor 1 and no freq_factors it is ck_rope_cache(cos_sin, max_T, n_rot, freq_base), bit for bit. */
CK_DEF void ck_rope_cache_ext(float *cos_sin, int max_T, int n_rot, const ck_rope_params *p);

/* ---- causal self-attention, flash-style ---------------------------------------------------
   q, out [NH,T,HS]; k, v [NKV,Tk,HS]; lse [NH,T] (or NULL in forward).
   Query t (position pos0+t) sees keys j <= pos0+t; window > 0 also requires j > pos0+t-window
   (window = 1 sees only itself). GQA: head h uses kv head h / (NH/NKV). scores = scale * q.k,
   then, if softcap > 0, logit soft-capping (Gemma 2): scores = softcap * tanh(scores / softcap),
   before the mask and the softmax; softcap = 0 leaves the scores as they are.
   lse is the natural log-sum-exp of each row's (capped) visible scores; the backward pass
   recomputes probabilities from it, so no [T,Tk] buffer exists in either direction.
   A row that sees no key gets out = 0 and lse = -inf. */
CK_DEF void ck_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                 int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap);
CK_DEF void ck_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                  const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap);
CK_DEF void ck_attention_forward_scalar(float *out, float *lse, const float *q, const float *k, const float *v,
                                        int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap);
CK_DEF void ck_attention_backward_scalar(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                         const float *q, const float *k, const float *v,
                                         int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap);

/* ---- cross-entropy over [T, V] logits ----------------------------------------------------
   forward: losses [T] (0 for rows whose target == ignore_index), probs [T,V] = softmax (or
   NULL); returns the mean loss over the rows that are not ignored (0 if all are).
   backward: dlogits += (probs - onehot(target)) * dloss / count over rows not ignored.
   Targets must be in [0, V) or equal ignore_index.
   In place (one [T,V] buffer instead of three, as the generated trainer uses them): probs may be
   logits (the softmax overwrites the logits), and dlogits may be probs: then there is nothing to
   accumulate into, and the probabilities become their gradient, the same bits as accumulating
   into zeros (ignored rows become 0). */
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
                                      int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap);
CK_DEF void ck_attention_backward_avx2(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                       const float *q, const float *k, const float *v,
                                       int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap);
#endif
#if CK_HAVE_NEON
CK_DEF void ck_matmul_forward_neon(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC);
CK_DEF void ck_matmul_backward_neon(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC);
CK_DEF void ck_matmul_forward_qp_neon(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC);
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
CK_DEF void ck_copy_rows_f16(uint16_t *dst, size_t ld_dst, const float *src, size_t ld_src, int rows, int cols); /* rounded to F16 */
CK_DEF void ck_add_forward(float *out, const float *a, const float *b, size_t n);           /* out = a + b (may alias) */
CK_DEF void ck_add_backward(float *da, float *db, const float *dout, size_t n);             /* da += dout; db += dout */
CK_DEF void ck_scale_forward(float *out, const float *a, float s, size_t n);                /* out = a * s (may alias) */
CK_DEF void ck_scale_backward(float *da, const float *dout, float s, size_t n);             /* da += dout * s */
CK_DEF void ck_rope_forward_tm(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, size_t ld);
CK_DEF void ck_rope_backward_tm(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, size_t ld);
CK_DEF void ck_attention_forward_tm(float *out, float *lse, const float *q, const float *k, const float *v,
                                    int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                    size_t ldq, size_t ldkv, size_t ldo);
CK_DEF void ck_attention_backward_tm(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                     const float *q, const float *k, const float *v,
                                     int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                     size_t ldq, size_t ldkv, size_t ldo);
/* the same attention over a KV cache held in F16 (ck_copy_rows_f16 writes it): each key and value
   row is widened to f32 exactly and then used as ck_attention_forward_tm uses it. HS <= CK_ATTN_F16_MAX_HS (256: every head size in use; the row buffer is on the stack). */
#define CK_ATTN_F16_MAX_HS 256
CK_DEF void ck_attention_forward_tm_f16kv(float *out, float *lse, const float *q, const uint16_t *k, const uint16_t *v,
                                          int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                          size_t ldq, size_t ldkv, size_t ldo);

/* ---- the model runtime: one arena, two regions ----------------------------------------------
   weights: read-only bytes laid out by ckgen (the GGUF data section, or weights.bump after its
   header, or a const array in flash). state: rope caches, KV cache, activations, logits, at
   offsets ckgen computed; CK_CANARIES builds put 64 guard bytes after every section. */
typedef struct { uint64_t off; int32_t type; } ck_wref;            /* a weight: offset and type */
#define CK_WREF_NONE UINT64_MAX                                   /* an absent optional weight */
typedef struct { const char *name; int32_t type; int64_t ne0, ne1; uint64_t off, bytes; } ck_weight_info;
typedef struct { const char *name; uint64_t off, bytes; } ck_section_info;
/* one op of a generated model, in DSL order (head, block, foot): OP(op, out, a, b, c) of
   models/<family>.h, its section (0 head, 1 block, 2 foot) and its output's columns. A table of
   them (CKM_OPS) names what a capture hook receives. */
typedef struct { const char *op, *out, *a, *b, *c; int32_t section; int64_t cols; } ck_op_info;
/* what an op of a generated model costs (run --profile), one per row of CKM_OPS. A call over T rows
   at positions pos0..pos0+T-1 does
     FLOPs = flops_row * T + flops_key * (query, key) pairs    (attention: each query row p sees the
             keys max(0, p - window + 1)..p, all of 0..p when window is 0; flops_key = 4 n_head head_dim,
             the two dot products, softmax not counted)
     bytes = its weights' bytes (read once a call; CKM_OP_WBYTES per layer) + bytes_row * T
             + bytes_key * (the keys the call's queries see, each K and V row read once)
   bytes_row: the f32 rows it reads and writes (a matmul: in + out columns times 4; attention: q, k, v,
   out and the K and V rows it stores). A matmul's FLOPs are 2 in out per row whatever its weight type.
   call: the op whose call does this op's work (matmuls that read one input run as one call: the
   time of the pass lands on the first). */
typedef struct { int64_t flops_row, flops_key, bytes_row, bytes_key; int32_t call; } ck_op_cost;
/* Activation capture (run --dump, --logit-lens, ck check): when m->capture is set, the generated
   prefill calls it after every op but a view, with the op's index in CKM_OPS, the layer (-1 in
   the head and foot), and its output: `rows` rows of `cols` floats, `ld` floats apart, which are
   positions row0..row0+rows-1. One pointer test per op of a prefill when it is NULL, as m->lora
   (decode has a hook only in a CK_PROFILE build: CK_DECODE_HOOK). */
typedef void (*ck_capture_fn)(void *ctx, int op, int layer, const float *out, int row0, int rows, int64_t cols, int64_t ld);
/* the generated decode's hook after each op: the capture call in a CK_PROFILE build, nothing otherwise */
#ifdef CK_PROFILE
#define CK_DECODE_HOOK(m, op, layer, out, pos, cols, ld) \
    do { if ((m)->capture) (m)->capture((m)->capture_ctx, op, layer, out, pos, 1, cols, ld); } while (0)
#else
#define CK_DECODE_HOOK(m, op, layer, out, pos, cols, ld) ((void)0)
#endif
typedef struct {
    const uint8_t *weights;
    uint8_t *state;
    uint64_t weights_bytes, state_bytes;
    void *owned_state;          /* allocated by ck_model_open when no state buffer was given */
    void *bump_map;             /* a mapped weights.bump */
    size_t bump_size;
    void *owned_weights;        /* ck_model_repack's copy of mapped weights (m->weights points into it), or NULL */
    size_t owned_weights_size;
#ifndef CK_NO_STDIO
    ck_gguf gguf;               /* an opened GGUF, when the weights come from one */
#endif
    const struct ck_lora *lora; /* an adapter the generated code applies (ck_lora_apply), or NULL */
    ck_capture_fn capture;      /* called after each prefill op (and decode op: CK_PROFILE), or NULL */
    void *capture_ctx;          /* its first argument */
    int repacked;               /* ck_model_repack rewrote the weights: CK_WTYPE gives their layouts */
    char error[320];
} ck_model;
#define CK_F(m, off)  ((float *)(void *)((m)->state + (off)))
#define CK_WP(m, off) ((const void *)((m)->weights + (off)))
#define CK_WF(m, off) ((const float *)(const void *)((m)->weights + (off)))
#define CK_WREF(m, r)   ((r).off == CK_WREF_NONE ? NULL : CK_WP(m, (r).off))
#define CK_WREF_F(m, r) ((const float *)CK_WREF(m, r))
/* the layout a weight the generator marked repackable is in: its GGUF type, or after
   ck_model_repack the repacked layout of it on this build (ck_repack_type) */
#define CK_WTYPE(m, type) ((m)->repacked ? ck_repack_type(type) : (type))

#define CK_BUMP_MAGIC "CKWB"
#define CK_BUMP_VERSION 1
#define CK_BUMP_HEADER_BYTES 64   /* magic, version, layout hash, weights bytes; zero padded */
CK_DEF uint64_t ck_layout_hash(const ck_weight_info *w, int n);    /* FNV-1a over every field */
CK_DEF int  ck_canary_write(uint8_t *state, const ck_section_info *s, int n);
CK_DEF int  ck_canary_check(const uint8_t *state, const ck_section_info *s, int n); /* first bad section, or -1 */
/* Check that GGUF tensors match what a layout expects (name, type, shape, offset); 0 or -1 with err. */
CK_DEF int  ck_weights_check_gguf(const ck_gguf *g, const ck_weight_info *w, int n, char *err, size_t errlen);
/* The rope parameters llama.cpp (c392e5094) uses for GGUF g, n_rot rotated dims and a context of
   n_ctx positions (<= 0: {arch}.context_length). Keys: {arch}.rope.freq_base (default 10000),
   .rope.scaling.type (absent: linear), .rope.scaling.factor (or the older .rope.scale_linear),
   .rope.scaling.attn_factor (1), .rope.scaling.original_context_length (.context_length).
   Factors: rope_freqs.weight if present; else rope_factors_long.weight if n_ctx > n_ctx_orig;
   else rope_factors_short.weight; else none. p->freq_factors then points into the file and
   *factors_name (if not NULL) names the tensor, else is NULL. (.rope.scaling.yarn_log_multiplier
   is read by llama.cpp's DeepSeek-2 graph only, which moves the YaRN magnitude into the attention
   scale; it is not read here.) 0, or -1 with err: unknown scaling type, factors not f32 [n_rot/2]. */
CK_DEF int  ck_rope_params_from_gguf(ck_rope_params *p, const char **factors_name, const ck_gguf *g, int n_rot, int n_ctx,
                                     char *err, size_t errlen);
#ifndef CK_NO_STDIO
CK_DEF int  ck_bump_write(const char *path, const void *weights, uint64_t bytes, uint64_t layout_hash);
/* Open weights (a .gguf, checked tensor by tensor, or a weights.bump, checked by hash) and set up
   the state region (state = NULL: allocated here). 0, or -1 with m->error naming the problem. */
CK_DEF int  ck_model_open(ck_model *m, const char *path, const ck_weight_info *w, int n, uint64_t layout_hash,
                          uint64_t weights_bytes, void *state, uint64_t state_bytes);
CK_DEF void ck_model_close(ck_model *m);
/* Rewrite the weights w[ids[0..n-1]] (matmul weights only: the generator's list, CKM_REPACK) in
   place into the layouts this build reads fastest (ck_repack_type; a no-op where there are none)
   and set m->repacked. Weights ck_model_open mapped from a file are first copied into memory of
   the process's own (anonymous, transparent huge pages where the system offers them: fewer TLB
   misses on every token), a slice at a time, each slice's file pages released once copied, so
   the weights stay one copy in memory; the file is never written. Other weights must be
   writable memory and are rewritten where they are. 0, or -1 with m->error (the weights are then
   partly rewritten: close the model). */
CK_DEF int  ck_model_repack(ck_model *m, const ck_weight_info *w, const int *ids, int n);
#endif

/* ---- LoRA adapters in GGUF, as llama.cpp reads them -----------------------------------------
   Keys: general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32),
   general.architecture = the base model's. Tensors, per adapted base weight W (ggml ne = [in,
   out], i.e. rows of `in` values, [out, in] row-major): "<W's name>.lora_a" ne = [in, rank]
   (A [rank, in] row-major) and "<W's name>.lora_b" ne = [rank, out] (B [out, rank]), F32, F16 or
   BF16. The update is W + scale * B @ A with scale = user scale * alpha / rank (alpha 0: the
   user scale), llama.cpp's get_scale. Tensors named *_norm.weight are skipped, as llama.cpp
   skips them; adapters of token_embd.weight (llama.cpp applies them to the lookup, transposed)
   are refused.
   ck_lora_read (caller memory, any build) checks an adapter that is already parsed against a
   model's weight table: the keys and their types, every tensor's pairing, 2 dimensions, type,
   rank (a's ne[1] = b's ne[0] >= 1), base weight (present in the table, one of the weights a
   matmul reads when is_matmul is given) and dims; a refusal names the tensor and what differs.
   w = NULL checks the file alone. pairs: room for g->n_tensors entries; returns their count. */
typedef struct {
    const char *base; uint64_t base_len;   /* the base weight's name (into the file, not NUL-terminated) */
    const ck_gguf_tensor *a, *b;           /* lora_a ne = [in, rank], lora_b ne = [rank, out] */
    int rank;
    int w_index;                           /* the base weight's entry in the table; -1 when w = NULL */
} ck_lora_pair;
CK_DEF int  ck_lora_read(const ck_gguf *g, const char *arch, const ck_weight_info *w, const unsigned char *is_matmul, int n_w,
                         ck_lora_pair *pairs, int cap, float *alpha, char *err, size_t errlen);
/* the scale llama.cpp applies: user_scale * alpha / rank, or user_scale when alpha is 0 */
CK_DEF float ck_lora_scale(float alpha, int rank, float user_scale);

/* An adapter bound to a model, f32 in memory: the generated code calls ck_lora_apply after each
   matmul when m->lora is set (one pointer test per matmul without an adapter). */
typedef struct {
    uint64_t w_off;                        /* the base weight's offset in the weights region */
    int rank; int64_t n_in, n_out;
    float scale;                           /* ck_lora_scale(alpha, rank, user scale) */
    const float *a, *bt;                   /* A [rank, in], B^T [rank, out] */
} ck_lora_weight;
typedef struct ck_lora {
    ck_lora_weight *w; int n_w;            /* sorted by w_off */
    float *scratch; int scratch_rows;      /* [scratch_rows, max rank]: ck_lora_forward's scratch */
    float alpha;
    void *owned;                           /* one allocation: the table, the matrices, the scratch */
    char error[320];
} ck_lora;
/* out [T,OC] += the adapter's update of the weight at w_off (nothing if it has none); T rows in
   chunks of scratch_rows */
CK_DEF void ck_lora_apply(const ck_lora *lo, float *out, const float *inp, uint64_t w_off, int T, int C, int OC);
#ifdef CK_NO_LORA
#define ck_lora_apply(lo, out, inp, w_off, T, C, OC) ((void)0)
#endif

#ifndef CK_NO_STDIO
/* Open, check (ck_lora_read) and bind an adapter to a model: arch its general.architecture, w /
   is_matmul / n the generated program's tables (CKM_WEIGHTS, CKM_LORA_TARGETS), scale the user's,
   max_rows the most rows a matmul has (CKM_MAX_PROMPT). Matrices converted to f32 and checked
   finite. 0, or -1 with lo->error naming the file, the tensor and what is wrong. */
CK_DEF int  ck_lora_open(ck_lora *lo, const char *path, const char *arch, const ck_weight_info *w, const unsigned char *is_matmul, int n,
                         float scale, int max_rows);
CK_DEF void ck_lora_close(ck_lora *lo);
/* Writer (for the trainer, and tests): one entry per adapted weight, A [rank, n_in] and
   B [n_out, rank] row-major f32 (not copied: they must live until the file is written). */
typedef struct { const char *name; int rank; int64_t n_in, n_out; const float *a, *b; } ck_lora_tensor;
CK_DEF int  ck_lora_add(ck_gguf_builder *b, const char *arch, float alpha, const ck_lora_tensor *t, int n); /* keys + tensors */
CK_DEF int  ck_lora_write_file(const char *path, const char *arch, float alpha, const ck_lora_tensor *t, int n, char *err, size_t errlen);
#endif

/* ---- sampler -------------------------------------------------------------------------------
   temp <= 0: greedy (argmax, lowest id on ties). Otherwise softmax(logits / temp), keep the top_k
   (0 = all), then the smallest prefix whose probability reaches top_p (1 = all), and draw.
   scratch: n entries; rng: any nonzero state (xorshift64*), advanced by each draw.
   Returns a token id in [0, n), or -1 (nothing drawn, nothing read past logits[n - 1]) when a
   logit is NaN or infinite, temp or top_p is NaN, or n < 1: the caller names the position. */
typedef struct { float p; int32_t id; } ck_prob_id;
CK_DEF int32_t ck_sample(const float *logits, int n, float temp, int top_k, float top_p, uint64_t *rng, ck_prob_id *scratch);
CK_DEF int32_t ck_argmax(const float *x, int n);
CK_DEF float   ck_rand_f32(uint64_t *rng);   /* uniform in [0, 1) */
CK_DEF double  ck_rand_normal(uint64_t *rng); /* N(0, 1): two xorshift64* draws of 53 bits, Box-Muller (ckgen --init, LoRA init) */
/* Logit filters, applied before ck_sample (llama.cpp's order: penalties, then min-p; both before
   the temperature). ck_repeat_penalty: each distinct id among last[0..n_last) has its logit
   divided by penalty if positive, multiplied by it if not (llama.cpp's repetition penalty;
   penalty 1 = off; ids outside [0, n) are skipped). ck_min_p: logits of tokens whose probability
   (at temperature 1) is below min_p x the largest one become -FLT_MAX, which ck_sample never
   draws while any other token is left (min_p <= 0 = off; the largest always stays). */
CK_DEF void    ck_repeat_penalty(float *logits, int n, const int32_t *last, int n_last, float penalty);
CK_DEF void    ck_min_p(float *logits, int n, float min_p);

/* ---- stop strings ---------------------------------------------------------------------------
   Ends generation at any of n stop strings, matched on the decoded text, and holds back the
   text that could still become one, so that a stream never shows part of a stop string. Feed it
   the bytes a token decodes to (ck_tok_stream_next's whole UTF-8 characters); it writes to out
   the bytes that can no longer be part of a match and keeps the rest in `held` (caller memory of
   at least the longest stop string's length). On a match, s->hit is the stop string's index + 1
   and out ends just before it: the stop string and whatever followed it in that push are
   dropped. ck_stop_flush writes what is held at the end (no match came). No allocation.
   Matching is bytewise: when the stop strings and the text are valid UTF-8, a match can only
   start on a character boundary (a lead byte is never a continuation byte), so what is released
   before a match or held back never splits a character the stream wrote whole.
   How: after each byte, a stop string ending at it is a match (the earliest starting one wins);
   else held becomes the longest suffix of the text that is a proper prefix of some stop string
   (the earliest match still open), and everything before it is released.
   Cost per byte: at most 2 x (longest stop) x (number of stops) x (longest stop) byte compares. */
typedef struct {
    const char *const *strs; const size_t *lens; int n; /* the stop strings (not copied) */
    char *held; size_t n_held, cap;                     /* cap >= the longest length */
    int hit;                                            /* 0, or index + 1 of the stop string matched */
} ck_stop;
/* 0, or -1: a stop string is empty, or cap is below the longest length. n = 0 never stops. */
CK_DEF int    ck_stop_init(ck_stop *s, const char *const *strs, const size_t *lens, int n, char *held, size_t cap);
/* Push n bytes; returns how many bytes it wrote to out (out needs n + s->cap bytes). After a
   match (s->hit != 0) it writes nothing more. */
CK_DEF size_t ck_stop_push(ck_stop *s, const char *bytes, size_t n, char *out);
/* The bytes held back (none after a match); returns their count (out needs s->cap bytes). */
CK_DEF size_t ck_stop_flush(ck_stop *s, char *out);










/* ---- 15. Tokenizer ---------------------------------------------------------------------------
   The tokenizer of a GGUF file's `tokenizer.ggml.*` metadata, as llama.cpp runs it:
     model "gpt2"   byte-level BPE: a pre-tokenizer named by tokenizer.ggml.pre splits the text
                    (default, gpt-2, llama-bpe/llama3, qwen2, deepseek-llm, deepseek-coder, falcon,
                    starcoder, refact, mpt and their aliases; each written by hand after its
                    regexes), then each piece's bytes are merged by merge rank (a heap).
     model "llama"  SentencePiece BPE: spaces become U+2581, one is prefixed (Llama 2), pieces
                    merge by score (a heap), characters without a token fall back to <0xNN>.
     model "bert"   WordPiece: BERT's basic tokenizer (NFD first code point, lowercase, split on
                    whitespace, punctuation and CJK) then greedy longest match; llama.cpp's GGUF
                    spells word-initial pieces with a leading U+2581 and continuations bare.
   Memory: ck_tok_init() builds the tables (token hash, merge hash, byte tokens, special tokens)
   in caller memory, ck_tok_mem_bytes() says how much; token strings stay in the GGUF (keep it
   mapped). ck_tok_encode() works in a caller buffer of ck_tok_work_bytes() and never
   allocates; a ck_tok is read-only afterwards (one per process, any number of threads).
   Invalid UTF-8: each bad byte is kept as it is (byte-level BPE and SentencePiece stay
   lossless) and treated as a symbol character; llama.cpp instead substitutes U+FFFD.
   Not done: tokens' lstrip/rstrip attributes and llama.cpp's per-model extra pre-tokenizers
   beyond those listed (an unknown tokenizer.ggml.pre is an error, not a silent default). */
enum ck_tok_model { CK_TOK_BPE = 1, CK_TOK_SPM = 2, CK_TOK_WPM = 3 };
enum ck_tok_pre {
    CK_PRE_NONE = 0, CK_PRE_DEFAULT, CK_PRE_GPT2, CK_PRE_LLAMA3, CK_PRE_QWEN2, CK_PRE_DEEPSEEK_LLM,
    CK_PRE_DEEPSEEK_CODER, CK_PRE_FALCON, CK_PRE_STARCODER, CK_PRE_MPT
};
/* GGUF token types (tokenizer.ggml.token_type) */
enum { CK_TOKT_NORMAL = 1, CK_TOKT_UNKNOWN = 2, CK_TOKT_CONTROL = 3, CK_TOKT_USER = 4, CK_TOKT_UNUSED = 5, CK_TOKT_BYTE = 6 };
/* encode flags */
#define CK_TOK_ADD_SPECIAL   1  /* BOS if the model adds one (add_bos_token, or its kind's default), EOS likewise */
#define CK_TOK_PARSE_SPECIAL 2  /* control-token text in the input becomes the control token */
#define CK_TOK_NO_CACHE      4  /* BPE and SentencePiece without the per-call word cache (same ids, slower: for tests) */
/* decode flags */
#define CK_TOK_RENDER_SPECIAL 1 /* write control and unknown tokens' text (default: nothing) */

typedef struct { uint32_t l, r, rank, res; } ck_tok_merge;
typedef struct {
    int model, pre;
    int32_t n_tokens, bos, eos, unk, sep, pad;
    int add_bos, add_eos, add_space_prefix, ignore_merges;
    int spm_words;            /* SentencePiece: no token has U+2581 after other text, so words merge alone */
    const char **text;        /* token i's bytes (in the GGUF), text_len[i] of them */
    uint32_t *text_len;
    uint8_t *type;            /* CK_TOKT_* */
    float *score;             /* SentencePiece scores (NULL otherwise) */
    uint64_t *tok_hash; uint32_t tok_mask;        /* text -> id + 1, with its hash's top 32 bits above */
    ck_tok_merge *merge; uint32_t merge_mask;     /* (left id, right id) -> rank, result */
    uint32_t n_merges;
    int32_t byte_tok[256];    /* byte -> its token (BPE: the GPT-2 byte character; SPM: <0xNN>), -1 */
    int32_t *special; int32_t n_special;  /* control/user/unknown tokens, longest first */
    uint32_t max_token_len;   /* bytes; a decoded piece is at most max_token_len + 4 bytes */
    char error[256];
} ck_tok;

/* Bytes of caller memory ck_tok_init needs for this GGUF's tokenizer; 0 if it has none usable. */
CK_DEF size_t ck_tok_mem_bytes(const ck_gguf *g);
/* 0, or -1 with t->error naming the problem (unknown model or pre-tokenizer, bad arrays, ...). */
CK_DEF int    ck_tok_init(ck_tok *t, const ck_gguf *g, void *mem, size_t mem_bytes);
/* Work buffer ck_tok_encode needs for len bytes of text: byte-level BPE about 70 bytes per input
   byte (+ a word cache of at most 128 KB), SentencePiece about 155 (+ the cache), WordPiece 8. */
CK_DEF size_t ck_tok_work_bytes(const ck_tok *t, size_t len);
/* At most this many ids come from len bytes of text (len + 3; SentencePiece 3 * len + 6). */
CK_DEF size_t ck_tok_max_ids(const ck_tok *t, size_t len);
/* Encode len bytes (any bytes, NUL included). Returns the number of ids, writing the first
   max_ids of them, or -1 if work is too small or len >= 2^31 (t is not changed). */
CK_DEF int64_t ck_tok_encode(const ck_tok *t, const char *text, size_t len, int flags, int32_t *ids, size_t max_ids,
                             void *work, size_t work_bytes);
/* The bytes of one token (no leading-space rule); returns its length, writing up to cap. */
CK_DEF size_t ck_tok_piece(const ck_tok *t, int32_t id, int flags, char *out, size_t cap);
/* Decode ids to bytes: the inverse of encode for BPE and SentencePiece (the space encode
   prefixes is removed again). Returns the full length, writing up to cap; bad ids give nothing. */
CK_DEF size_t ck_tok_decode(const ck_tok *t, const int32_t *ids, size_t n, int flags, char *out, size_t cap);
/* Streaming decode: each call writes only whole UTF-8 characters and holds back a partial one
   (at most 3 bytes) until the next token completes it; bytes that can never form a character
   are written as they are. out needs t->max_token_len + 8 bytes. ck_tok_stream_flush writes
   what is held. Zero-initialise the stream (or call ck_tok_stream_init) before the first token. */
typedef struct { uint8_t pend[4]; int n_pend; int after_text; } ck_tok_stream;
CK_DEF void   ck_tok_stream_init(ck_tok_stream *s);
CK_DEF size_t ck_tok_stream_next(const ck_tok *t, ck_tok_stream *s, int32_t id, int flags, char *out, size_t cap);
CK_DEF size_t ck_tok_stream_flush(ck_tok_stream *s, char *out, size_t cap);
/* End-of-generation tokens: up to cap distinct ids, in this order: tokenizer.ggml.eos_token_id,
   .eot_token_id, .eom_token_id (each when the file has the key and the id is in the vocabulary;
   the defaults ck_tok_init assumes for a missing eos are not used: a file that names no EOS
   never stops on a guess), then every token whose text is exactly one of the end-of-turn
   markers chat models use, whatever its type: <|im_end|> (ChatML: Qwen, SmolLM), <|eot_id|>
   and <|eom_id|> (Llama 3), <end_of_turn> (Gemma), <|end|> (Phi-3), <|endoftext|> (GPT-2,
   Qwen, Phi), <|end_of_text|> (Llama 3 base), <EOT> (CodeLlama infill): llama.cpp's list.
   Returns how many ids it found (it writes the first cap). */
CK_DEF int    ck_tok_eog_ids(const ck_tok *t, const ck_gguf *g, int32_t *ids, int cap);
CK_DEF const char *ck_tok_pre_name(int pre);
CK_DEF const char *ck_unicode_version(void);
/* Unicode category flags of a code point, as the pre-tokenizers see them. */
enum { CK_U_LETTER = 1, CK_U_NUMBER = 2, CK_U_PUNCT = 4, CK_U_SYMBOL = 8, CK_U_MARK = 16, CK_U_SEP = 32,
       CK_U_CONTROL = 64, CK_U_SPACE = 128 };
CK_DEF int      ck_unicode_flags(uint32_t cp);
CK_DEF uint32_t ck_unicode_tolower(uint32_t cp);

#ifndef CK_NO_STDIO
/* Host convenience: open PATH (a .gguf), allocate and build its tokenizer. */
typedef struct { ck_gguf gguf; ck_tok tok; void *mem; } ck_tokenizer_file;
CK_DEF int  ck_tok_open(ck_tokenizer_file *f, const char *path, char *err, size_t errlen);
CK_DEF void ck_tok_close(ck_tokenizer_file *f);
/* Encode with an allocated work buffer and id array; *ids must be freed with CK_FREE. -1 on error. */
CK_DEF int64_t ck_tok_encode_alloc(const ck_tok *t, const char *text, size_t len, int flags, int32_t **ids);
#endif
/* ---- end of 15. Tokenizer (declarations) ---- */

/* ---- 16. Chat templates ----------------------------------------------------------------------
   A conversation (system / user / assistant messages) rendered as a model's chat template does,
   without a Jinja engine: the family is recognised in the GGUF's tokenizer.chat_template text by
   substrings, as llama.cpp's llm_chat_detect_template does, and each family is written out in C
   after its reference template (named below), byte for byte as HF's apply_chat_template renders
   that template with jinja2 (tests/test_chat.py checks it). What a template refuses (a system
   message Gemma has no place for, roles that do not alternate) is refused here too (-1 and why).
     name         reference template (tokenizer_config.json)       llama.cpp's name
     chatml       Qwen1.5-Chat, OpenHermes-2.5                     chatml
     qwen2.5      Qwen2.5-7B-Instruct (default system message)     chatml (without the default)
     smollm       SmolLM2-360M-Instruct (default system message)   chatml (without the default)
     llama2       Mistral-7B-Instruct-v0.2's first (pre-v1) one    llama2
     mistral-v0.1 Mistral-7B-Instruct-v0.1 (eos_token + ' ')       llama2
     llama2-sys   Llama-2-7b-chat-hf (<<SYS>> in the first turn)   llama2-sys-strip
     mistral-v1   Mistral-7B-Instruct-v0.2 (' [INST] ' + system)   mistral-v1
     llama3       Meta-Llama-3-8B-Instruct                         llama3
     gemma        gemma-2-2b-it                                    gemma
     phi3         Phi-3.5-mini-instruct                            phi3
     zephyr       zephyr-7b-beta (eos_token after each turn)       zephyr (llama.cpp: glmedge)
     deepseek     deepseek-coder-33b-instruct (### Instruction:)   deepseek
     deepseek2    DeepSeek-V2-Lite-Chat, deepseek-llm-chat (User:) deepseek2
   BOS: where the template writes bos_token, the rendering holds its text (<s>, <bos>,
   <|begin_of_text|>): tokenize it with CK_TOK_PARSE_SPECIAL and without CK_TOK_ADD_SPECIAL, so
   the BOS comes from the text once. No allocation: ck_chat_render writes into the caller's
   buffer and returns the length it needs (call it with cap 0 to size the buffer). */
enum ck_chat_family {
    CK_CHAT_UNKNOWN = 0, CK_CHAT_CHATML, CK_CHAT_QWEN25, CK_CHAT_SMOLLM, CK_CHAT_LLAMA2, CK_CHAT_MISTRAL_V01, CK_CHAT_LLAMA2_SYS, CK_CHAT_MISTRAL_V1,
    CK_CHAT_LLAMA3, CK_CHAT_GEMMA, CK_CHAT_PHI3, CK_CHAT_ZEPHYR, CK_CHAT_DEEPSEEK, CK_CHAT_DEEPSEEK2, CK_CHAT_COUNT
};
typedef struct { const char *role, *content; } ck_chat_msg; /* role "system", "user" or "assistant"; NUL-terminated */
/* The family of a template text (len bytes), or CK_CHAT_UNKNOWN. */
CK_DEF int ck_chat_detect(const char *tmpl, size_t len);
/* "chatml", ... for a family; "unknown" otherwise. ck_chat_from_name: the family, or CK_CHAT_UNKNOWN. */
CK_DEF const char *ck_chat_name(int family);
CK_DEF int ck_chat_from_name(const char *name);
/* The names, separated by ", " (for messages). */
CK_DEF const char *ck_chat_names(void);
/* The text of the turn end a family writes after an answer ("<|im_end|>", "<|eot_id|>", ...), or
   NULL when it is the eos token: look it up in the vocabulary to stop generation there. */
CK_DEF const char *ck_chat_end_of_turn(int family);
/* Render msgs[0..n) (add_gen: with the generation prompt). bos, eos: the texts of the model's BOS
   and EOS tokens (NULL: ""). Returns the length of the whole rendering (it writes the first
   cap - 1 bytes and a NUL when cap > 0), or -1 when the template refuses the conversation, with
   *why (if why) naming the reason in the template's own words. */
CK_DEF int64_t ck_chat_render(int family, const ck_chat_msg *msgs, int n, int add_gen, const char *bos, const char *eos,
                              char *out, size_t cap, const char **why);
/* ---- end of 16. Chat templates (declarations) ---- */

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
#if CK_HAVE_NEON
#include <arm_neon.h>
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
/* Whether the ops a token's decode runs many times open a parallel region: cond (enough work) and
   more than one thread to share it. Else they run their loop with no OpenMP construct at all:
   entering one costs ~1.2 us even when its if clause is false or its team is one thread (libgomp
   syncs the team through a futex syscall; measured on this project's 2-vCPU VMs), more than a
   one-token rmsnorm, and a one-token forward pass of a 30-layer model enters ~360. */
#ifdef _OPENMP
#define CK__PAR(cond) ((cond) && omp_get_max_threads() > 1)
#else
#define CK__PAR(cond) ((void)(cond), 0)
#endif
/* A one-token matmul (decode) that reads fewer weight bytes than this runs on one thread: splitting it
   saves less than a parallel region costs (~3 us with two threads on this project's VMs, where every
   libgomp barrier is a futex syscall). Measured there: 256 KB gave SmolLM Q4_0 two-thread decode
   +8% (its o projection, 187 KB, stops being split), Qwen2 and F16 unchanged; 512 KB and 1 MB lost. */
#ifndef CK_OMP_MIN_DECODE_BYTES
#define CK_OMP_MIN_DECODE_BYTES 262144
#endif
/* the call in a parallel region when CK__PAR(cond), else once on this thread (such functions take
   their share of the work through ck__thread_rows: outside a region, the whole of it). Inside
   ck_parallel_run the region is nested, so inactive: thread 0 runs the call alone, with the whole
   range. The ops of a decode step that split go through ck__par (below) instead. */
#define CK__PAR_CALL(cond, call) \
    do {                         \
        if (CK__PAR(cond)) {     \
            CK_OMP(omp parallel) \
            call;                \
        } else                   \
            call;                \
    } while (0)

/* ---- one parallel region for a whole forward pass (ck_parallel_run) ----------------------
   On this project's VMs (2 vCPUs, libgomp) opening a parallel region costs ~2.5 us and a libgomp
   barrier ~1.1 us, with any wait policy (its release is a futex syscall); a barrier that spins on
   one shared counter ~50 ns. A decode step splits ~5 ops a layer over the threads, so the regions
   cost ~0.4 ms of a 3 ms SmolLM token. ck_parallel_run(fn, arg) opens one region: thread 0 runs
   fn(arg), the others wait (spinning, then yielding) for the ops it hands them through ck__par:
   the op's function and its arguments (a job), run by every thread on its share (ck__thread_rows:
   the same ranges as in a region of their own, so the same bits), and a spinning wait for them.
   Ops that do not go through ck__par (CK__PAR_CALL, or an OpenMP loop) run on thread 0 alone
   there: a nested region is inactive, and ck__thread_rows gives thread 0 the whole range. */
#if defined(_OPENMP) && defined(__GNUC__) /* (the __atomic builtins: gcc and clang) */
#define CK__POOL 1
#else
#define CK__POOL 0
#endif
typedef void ck__job_fn(void *job);
#if CK__POOL
#if defined(__unix__) || defined(__APPLE__)
#include <sched.h>
#endif
typedef struct {
    ck__job_fn *fn;
    void *job;
    unsigned gen; /* thread 0 adds 1 to hand out fn(job), or the end (stop) */
    int stop, nth, done; /* done: the other threads that finished the current job */
} ck__pool;
static ck__pool *ck__pool_led;           /* the pool this thread runs fn in, NULL: none */
static int ck__share_ith, ck__share_nth; /* this thread's share in a pool (nth 0: not in one, OpenMP's team) */
static unsigned long ck__pool_handed;    /* jobs this thread has handed to its pools' threads (tests) */
CK_OMP(omp threadprivate(ck__pool_led, ck__share_ith, ck__share_nth, ck__pool_handed))
#ifndef CK_POOL_SPINS /* pauses a waiting thread spins before it yields the CPU on every further check */
#define CK_POOL_SPINS 20000
#endif
static void ck__pool_pause(unsigned *spins)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
    if (++*spins > CK_POOL_SPINS) {
#if defined(__unix__) || defined(__APPLE__)
        sched_yield();
#endif
        *spins = CK_POOL_SPINS;
    }
}
/* OMP_WAIT_POLICY=passive asks that waiting threads not spin: then no pool (each op its own region,
   whose threads sleep between them). Measured with another process spinning on one of the 2 vCPUs,
   Qwen2-0.5B Q4_0 decode with 2 threads: pool 29-54 tok/s, regions 27-42 (default waiting),
   regions with passive waiting 54-65. */
static int ck__wait_passive(void)
{
    static int known = -1; /* (the same answer in every thread: a benign race) */
    int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (v < 0) {
#ifndef CK_NO_STDIO
        const char *e = getenv("OMP_WAIT_POLICY");
        v = e && (e[0] == 'p' || e[0] == 'P');
#else
        v = 0;
#endif
        __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    }
    return v;
}
/* a waiting thread of the pool: each job handed out, until the end */
static void ck__pool_work(ck__pool *p)
{
    unsigned seen = 0, g;
    for (;;) {
        unsigned spins = 0;
        while ((g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE)) == seen) ck__pool_pause(&spins);
        seen = g;
        if (p->stop) return;
        p->fn(p->job);
        __atomic_fetch_add(&p->done, 1, __ATOMIC_RELEASE);
    }
}
#endif
/* fn(job) on every thread, each taking its share through ck__thread_rows, when cond (enough work):
   in the calling thread's pool (ck_parallel_run), else in a parallel region of its own (CK__PAR);
   otherwise once, on this thread, with the whole range */
static void ck__par(int cond, ck__job_fn *fn, void *job)
{
#if CK__POOL
    ck__pool *p = ck__pool_led;
    if (p && cond) { /* (without cond, the call below: CK__PAR is false) */
        unsigned spins = 0;
        p->fn = fn; /* (read by the others after the release below) */
        p->job = job;
        p->done = 0;
        ck__pool_handed++;
        __atomic_store_n(&p->gen, p->gen + 1, __ATOMIC_RELEASE);
        ck__share_nth = p->nth;
        fn(job);
        ck__share_nth = 1;
        while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != p->nth - 1) ck__pool_pause(&spins);
        return;
    }
#endif
    if (CK__PAR(cond)) {
        CK_OMP(omp parallel)
        fn(job);
    } else
        fn(job);
}
/* fn(job, i) for i in [0, n), the items shared as a dynamic schedule of chunk 1 does when cond: in
   the calling thread's pool, each thread taking the next item left, else in an OpenMP loop */
typedef void ck__item_fn(void *job, int item);
#if CK__POOL
typedef struct {
    ck__item_fn *fn;
    void *job;
    int n, next; /* next: the first item no thread has taken */
} ck__items;
static void ck__items_job(void *p)
{
    ck__items *I = (ck__items *)p;
    int i;
    while ((i = __atomic_fetch_add(&I->next, 1, __ATOMIC_RELAXED)) < I->n) I->fn(I->job, i);
}
#endif
static void ck__par_items(int cond, ck__item_fn *fn, void *job, int n)
{
    int i;
#if CK__POOL
    if (cond && ck__pool_led) {
        ck__items I;
        I.fn = fn, I.job = job, I.n = n, I.next = 0;
        ck__par(1, ck__items_job, &I);
        return;
    }
#endif
    if (CK__PAR(cond)) {
        CK_OMP(omp parallel for schedule(dynamic, 1))
        for (i = 0; i < n; i++) fn(job, i);
    } else
        for (i = 0; i < n; i++) fn(job, i);
}
/* ck_matmul_forward_avx2 / _neon below CK__GEMM_MIN_T rows: blocks of CK__MMF_OB weight rows, shared
   among the threads one block at a time */
enum { CK__MMF_OB = 24 };
typedef struct {
    float *out;
    const float *inp, *weight, *bias;
    int T, C, OC;
} ck__mmf_job;
/* a matmul's arguments, handed to the threads by ck__par (ck__matmul_q_fast) */
typedef struct {
    int simd, type;
    float *out;
    const float *inp;
    const void *w;
    const float *bias;
    int T, C, OC;
} ck__mm_job;

#define CK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CK_MAX(a, b) ((a) > (b) ? (a) : (b))

#ifdef __cplusplus
extern "C" {
#endif

CK_DEF void ck_parallel_run(void (*fn)(void *), void *arg)
{
#if CK__POOL
    ck__pool p;
    if (omp_in_parallel() || omp_get_max_threads() < 2 || ck__wait_passive()) {
        fn(arg);
        return;
    }
    memset(&p, 0, sizeof p);
    CK_OMP(omp parallel)
    {
        const int ith = omp_get_thread_num(), nth = omp_get_num_threads();
        if (ith == 0) {
            p.nth = nth;
            ck__pool_led = nth > 1 ? &p : NULL;
            ck__share_ith = 0;
            ck__share_nth = nth > 1 ? 1 : 0; /* what it runs alone: the whole range */
            fn(arg);
            ck__pool_led = NULL;
            p.stop = 1;
            __atomic_store_n(&p.gen, p.gen + 1, __ATOMIC_RELEASE);
        } else {
            ck__share_ith = ith;
            ck__share_nth = nth;
            ck__pool_work(&p);
        }
        ck__share_nth = 0;
    }
#else
    fn(arg);
#endif
}

CK_DEF const char *ck_simd_name(void)
{
    return CK_HAVE_AVX512BF16 ? "avx512 (f/bw/vl/vnni/bf16) + avx2+fma" : CK_HAVE_AVX512 ? "avx512 (f/bw/vl/vnni) + avx2+fma"
         : CK_HAVE_AVX2 ? "avx2+fma" : CK_HAVE_NEON_DOTPROD ? "neon+dotprod" : CK_HAVE_NEON ? "neon" : CK_HAVE_MVE ? "mve" : "scalar";
}

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

#if defined(__GNUC__)
#define CK__FORCE_INLINE static inline __attribute__((always_inline))
#else
#define CK__FORCE_INLINE static inline
#endif

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
/* 8 rows x 8 dwords -> r[c] = dword c of the 8 rows */
CK__FORCE_INLINE void ck__transpose8_dwords_avx2(__m256i r[8])
{
    __m256i t[8], u[8];
#define CK__T1(i) t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]); t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    CK__T1(0) CK__T1(2) CK__T1(4) CK__T1(6)
#undef CK__T1
#define CK__T2(i)                                                                                           \
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]); u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);         \
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]); u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    CK__T2(0) CK__T2(4)
#undef CK__T2
    /* u[k], lane L: rows 0..3 of dword 4L + k; u[4 + k]: rows 4..7 */
#define CK__T3(k) r[k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20); r[4 + k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
    CK__T3(0) CK__T3(1) CK__T3(2) CK__T3(3)
#undef CK__T3
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

#if CK_HAVE_NEON
/* the vector helpers of the attention and elementwise kernels, 4 lanes (AArch64 NEON) */
static inline float ck__dot_neon(const float *a, const float *b, int n)
{
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
    float s;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    if (i + 4 <= n) { s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i)); i += 4; }
    s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
static inline void ck__axpy_neon(float *y, float a, const float *x, int n) /* y += a*x */
{
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    for (; i < n; i++) y[i] += a * x[i];
}
static inline void ck__scale_neon(float *y, float a, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(y + i), a));
    for (; i < n; i++) y[i] *= a;
}
/* exp(x) for x <= 0, 4 lanes: the AVX2 path's method (ck__exp_neg_avx2, section 7): e^x = 2^n e^r,
   n = round(x / ln2), r = x - n ln2 (ln2 in two parts), e^r by Cephes' degree-6 polynomial; within
   2 ulp of expf; below -87 ~1e-38 instead of 0 */
/* e^y = 2^n e^r: returns 2^n (n = round(y / ln2), |n| <= 126) and sets *r = y - n ln2 */
static inline float32x4_t ck__exp_split_neon(float32x4_t y, float32x4_t *r)
{
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(y, 1.44269504088896341f));
    *r = vfmsq_f32(vfmsq_f32(y, n, vdupq_n_f32(0.693359375f)), n, vdupq_n_f32(-2.12194440e-4f));
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23));
}
static inline float32x4_t ck__exp_neg_neon(float32x4_t x)
{
    float32x4_t r, scale = ck__exp_split_neon(vmaxq_f32(x, vdupq_n_f32(-87.0f)), &r), p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), vdupq_n_f32(1.9875691500e-4f), r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), vmulq_f32(p, r), r);
    return vmulq_f32(p, scale);
}
/* sigmoid of 4 lanes from e = exp(-|g|): 1 / (1 + e), or e / (1 + e) for g < 0 (sign bit), as
   ck__sigmoid_avx2 (no overflow for any g) */
static inline float32x4_t ck__sigmoid_neon(float32x4_t g)
{
    const float32x4_t one = vdupq_n_f32(1.0f), e = ck__exp_neg_neon(vnegq_f32(vabsq_f32(g)));
    const uint32x4_t neg = vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(g), 31));
    return vdivq_f32(vbslq_f32(neg, e, one), vaddq_f32(one, e));
}
/* tanh of 4 floats: ck__tanh_avx2's method (section 7; within a few ulp of tanhf): |x| < 0.5 the
   odd Taylor series to x^17, else sign(x) (1 - 2 / (e^(2|x|) + 1)), |x| clamped at 10; -0 and NaN kept */
static inline float32x4_t ck__tanh_neon(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f), ax = vminq_f32(vabsq_f32(x), vdupq_n_f32(10.0f)), x2 = vmulq_f32(ax, ax);
    const uint32x4_t sign = vdupq_n_u32(0x80000000u);
    float32x4_t p, small, p2n, r, e, big, res;
    p = vdupq_n_f32((float)(6404582.0 / 10854718875.0));
    p = vfmaq_f32(vdupq_n_f32((float)(-929569.0 / 638512875.0)), p, x2);
    p = vfmaq_f32(vdupq_n_f32((float)(21844.0 / 6081075.0)), p, x2);
    p = vfmaq_f32(vdupq_n_f32((float)(-1382.0 / 155925.0)), p, x2);
    p = vfmaq_f32(vdupq_n_f32((float)(62.0 / 2835.0)), p, x2);
    p = vfmaq_f32(vdupq_n_f32((float)(-17.0 / 315.0)), p, x2);
    p = vfmaq_f32(vdupq_n_f32((float)(2.0 / 15.0)), p, x2);
    p = vfmaq_f32(vdupq_n_f32((float)(-1.0 / 3.0)), p, x2);
    small = vfmaq_f32(ax, vmulq_f32(p, x2), ax);
    p2n = ck__exp_split_neon(vaddq_f32(ax, ax), &r);
    e = vdupq_n_f32(1.0f / 5040.0f);
    e = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), e, r);
    e = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), e, r);
    e = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), e, r);
    e = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), e, r);
    e = vfmaq_f32(vdupq_n_f32(0.5f), e, r);
    e = vfmaq_f32(one, e, r);
    e = vfmaq_f32(one, e, r);
    e = vmulq_f32(e, p2n);
    big = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, one)));
    res = vbslq_f32(vcltq_f32(ax, vdupq_n_f32(0.5f)), small, big);
    res = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(res), vandq_u32(vreinterpretq_u32_f32(x), sign)));
    return vbslq_f32(vceqq_f32(x, x), res, x); /* NaN stays NaN */
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

/* dinp [T,C] += dout [T,K] (rows ldd apart) @ weight [K,C]: each element a chain over k in increasing
   order, one thread per row of dinp. The scalar reference's input gradient; ck_matmul_backward_q_scalar
   runs it on chunks of K (the columns of dout, the rows of weight), which continues the same chains. */
static void ck__matmul_dinp_scalar(float *dinp, const float *dout, size_t ldd, const float *weight, int T, int C, int K)
{
    int t, k;
    CK_OMP(omp parallel for schedule(static) if ((double)T * K * C > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        float *di = dinp + (size_t)t * C;
        const float *d = dout + (size_t)t * ldd;
        for (k = 0; k < K; k++) ck__axpy_scalar(di, d[k], weight + (size_t)k * C, C);
    }
}

/* Scalar reference backward. Each gradient element is owned by one loop iteration. */
CK_DEF void ck_matmul_backward_scalar(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC)
{
    int t, o;
    if (dinp) ck__matmul_dinp_scalar(dinp, dout, (size_t)OC, weight, T, C, OC);
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

#if CK_HAVE_AVX2 || CK_HAVE_NEON
/* a dot-product tile's sums r [nt][rw] (nt rows of inp x no <= rw weight rows) into out (row stride
   ldo): out += r (accumulate), else out = r + bias */
static void ck__store_tile(float *out, size_t ldo, const float *r, int rw, int nt, int no, const float *bias, int accumulate)
{
    int i, j;
    for (i = 0; i < nt; i++)
        for (j = 0; j < no; j++) {
            float *o = out + (size_t)i * ldo + j;
            const float v = r[i * rw + j];
            *o = accumulate ? *o + v : v + (bias ? bias[j] : 0.0f);
        }
}
#endif

#if CK_HAVE_AVX2
/* gcc folds a load used by several fmadds into each of them (a load per use): an empty asm
   keeps the vector in a register */
#if defined(__GNUC__)
#define CK__IN_REG(v) __asm__("" : "+v"(v))
#else
#define CK__IN_REG(v) (void)0
#endif

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
        r[0][0] = ck__hsum(a00); r[0][1] = ck__hsum(a01); r[0][2] = ck__hsum(a02);
        r[1][0] = ck__hsum(a10); r[1][1] = ck__hsum(a11); r[1][2] = ck__hsum(a12);
        r[2][0] = ck__hsum(a20); r[2][1] = ck__hsum(a21); r[2][2] = ck__hsum(a22);
        r[3][0] = ck__hsum(a30); r[3][1] = ck__hsum(a31); r[3][2] = ck__hsum(a32);
        ck__store_tile(out, ldo, &r[0][0], 3, nt, no, bias, accumulate);
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

#if CK_HAVE_AVX512
/* AVX-512 FP32 register tiles. Every output is one 16-lane FMA chain in c order (the tail of C
   under a lane mask: masked lanes load zeros) and one ck__hsum512, in the 4x6 tile and in the 1x8
   GEMV alike, so an output's bits do not depend on the tile it lands in. */
static inline float ck__hsum512(__m512 v)
{
    /* (maskz extracts with all lanes: g++ 12 warns on the undefined source of the unmasked
       intrinsics, _mm512_castps512_ps256 included) */
    __m512d d = _mm512_castps_pd(v);
    return ck__hsum(_mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd((__mmask8)0xff, d, 0)),
                                  _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd((__mmask8)0xff, d, 1))));
}
static inline __mmask16 ck__mask16(int n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1u); }

/* nt (1..4) rows of inp x no (1..6) rows of w: 24 accumulators (missing rows repeat row 0,
   computed, not stored); out = dot + bias, or out += dot with accumulate */
static void ck__mm512_nt_4x6(float *out, size_t ldo, const float *inp, size_t ldi, const float *w, size_t ldw, int C, int nt, int no,
                             const float *bias, int accumulate)
{
    const float *x0 = inp, *x1 = inp + (size_t)(nt > 1) * ldi, *x2 = inp + (size_t)(nt > 2 ? 2 : 0) * ldi, *x3 = inp + (size_t)(nt > 3 ? 3 : 0) * ldi;
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * ldw, *w2 = w + (size_t)(no > 2 ? 2 : 0) * ldw;
    const float *w3 = w + (size_t)(no > 3 ? 3 : 0) * ldw, *w4 = w + (size_t)(no > 4 ? 4 : 0) * ldw, *w5 = w + (size_t)(no > 5 ? 5 : 0) * ldw;
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00, a25 = a00;
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00, a35 = a00;
    __m512 x0v, x1v, x2v, x3v, v;
    __mmask16 m = 0xffff;
    int c = 0;
#define CK__NT_COL(j, LOAD)                                                                                          \
    v = LOAD(w##j + c); CK__IN_REG(v);                                                                               \
    a0##j = _mm512_fmadd_ps(x0v, v, a0##j); a1##j = _mm512_fmadd_ps(x1v, v, a1##j);                                  \
    a2##j = _mm512_fmadd_ps(x2v, v, a2##j); a3##j = _mm512_fmadd_ps(x3v, v, a3##j);
#define CK__NT_STEP(LOAD)                                                                                            \
    x0v = LOAD(x0 + c); x1v = LOAD(x1 + c); x2v = LOAD(x2 + c); x3v = LOAD(x3 + c);                                  \
    CK__NT_COL(0, LOAD) CK__NT_COL(1, LOAD) CK__NT_COL(2, LOAD) CK__NT_COL(3, LOAD) CK__NT_COL(4, LOAD) CK__NT_COL(5, LOAD)
#define CK__LOADU(p) _mm512_loadu_ps(p)
#define CK__LOADM(p) _mm512_maskz_loadu_ps(m, p)
    for (; c + 16 <= C; c += 16) { CK__NT_STEP(CK__LOADU) }
    if (c < C) {
        m = ck__mask16(C - c);
        CK__NT_STEP(CK__LOADM)
    }
#undef CK__LOADM
#undef CK__LOADU
#undef CK__NT_STEP
#undef CK__NT_COL
    {
        float r[4][6];
#define CK__NT_RES(i) r[i][0] = ck__hsum512(a##i##0); r[i][1] = ck__hsum512(a##i##1); r[i][2] = ck__hsum512(a##i##2); \
                      r[i][3] = ck__hsum512(a##i##3); r[i][4] = ck__hsum512(a##i##4); r[i][5] = ck__hsum512(a##i##5);
        CK__NT_RES(0) CK__NT_RES(1) CK__NT_RES(2) CK__NT_RES(3)
#undef CK__NT_RES
        ck__store_tile(out, ldo, &r[0][0], 6, nt, no, bias, accumulate);
    }
}

/* one row of inp against no (1..8) rows of w: 8 weight streams in flight (decode GEMV) */
static void ck__mm512_nt_1x8(float *out, const float *x, const float *w, size_t ldw, int C, int no, const float *bias, int accumulate)
{
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * ldw, *w2 = w + (size_t)(no > 2 ? 2 : 0) * ldw, *w3 = w + (size_t)(no > 3 ? 3 : 0) * ldw;
    const float *w4 = w + (size_t)(no > 4 ? 4 : 0) * ldw, *w5 = w + (size_t)(no > 5 ? 5 : 0) * ldw;
    const float *w6 = w + (size_t)(no > 6 ? 6 : 0) * ldw, *w7 = w + (size_t)(no > 7 ? 7 : 0) * ldw;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, xv;
    __mmask16 m = 0xffff;
    float r[8];
    int c = 0, j;
#define CK__GV_STEP(LOAD)                                                                                          \
    xv = LOAD(x + c); CK__IN_REG(xv);                                                                              \
    a0 = _mm512_fmadd_ps(xv, LOAD(w0 + c), a0); a1 = _mm512_fmadd_ps(xv, LOAD(w1 + c), a1);                        \
    a2 = _mm512_fmadd_ps(xv, LOAD(w2 + c), a2); a3 = _mm512_fmadd_ps(xv, LOAD(w3 + c), a3);                        \
    a4 = _mm512_fmadd_ps(xv, LOAD(w4 + c), a4); a5 = _mm512_fmadd_ps(xv, LOAD(w5 + c), a5);                        \
    a6 = _mm512_fmadd_ps(xv, LOAD(w6 + c), a6); a7 = _mm512_fmadd_ps(xv, LOAD(w7 + c), a7);
#define CK__LOADU(p) _mm512_loadu_ps(p)
#define CK__LOADM(p) _mm512_maskz_loadu_ps(m, p)
    for (; c + 16 <= C; c += 16) { CK__GV_STEP(CK__LOADU) } /* (a prefetch of the next rows made it slower) */
    if (c < C) {
        m = ck__mask16(C - c);
        CK__GV_STEP(CK__LOADM)
    }
#undef CK__LOADM
#undef CK__LOADU
#undef CK__GV_STEP
    r[0] = ck__hsum512(a0); r[1] = ck__hsum512(a1); r[2] = ck__hsum512(a2); r[3] = ck__hsum512(a3);
    r[4] = ck__hsum512(a4); r[5] = ck__hsum512(a5); r[6] = ck__hsum512(a6); r[7] = ck__hsum512(a7);
    for (j = 0; j < no; j++) out[j] = accumulate ? out[j] + r[j] : r[j] + (bias ? bias[j] : 0.0f);
}
#endif /* CK_HAVE_AVX512 */
#endif /* CK_HAVE_AVX2 */

#if CK_HAVE_NEON
/* NEON FP32 dot-product tiles for the forward below CK__GEMM_MIN_T rows: every output is one
   4-lane FMA chain in c order (the tail of C read through a zero-padded copy, zeros in the spare
   lanes) and one vaddvq_f32, in the 4x4 tile and the 1x8 GEMV alike: an output's bits do not
   depend on the tile it lands in. */
/* p[0..n-1] into 4 lanes, zeros after (n <= 4) */
static inline float32x4_t ck__load_tail_neon(const float *p, int n)
{
    float t[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int i;
    for (i = 0; i < n; i++) t[i] = p[i];
    return vld1q_f32(t);
}
/* nt (1..4) rows of inp x no (1..4) rows of w: 16 accumulators (missing rows repeat row 0,
   computed, not stored); out = dot + bias, or out += dot with accumulate */
static void ck__mm_nt_4x4_neon(float *out, size_t ldo, const float *inp, size_t ldi, const float *w, size_t ldw, int C, int nt, int no,
                               const float *bias, int accumulate)
{
    const float *x0 = inp, *x1 = inp + (size_t)(nt > 1) * ldi, *x2 = inp + (size_t)(nt > 2 ? 2 : 0) * ldi, *x3 = inp + (size_t)(nt > 3 ? 3 : 0) * ldi;
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * ldw, *w2 = w + (size_t)(no > 2 ? 2 : 0) * ldw, *w3 = w + (size_t)(no > 3 ? 3 : 0) * ldw;
    float32x4_t a00 = vdupq_n_f32(0.0f), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    float32x4_t a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    float32x4_t v0, v1, v2, v3, x;
    int c = 0, n = 4;
#define CK__NT_ROW(r, LOAD)                                                                                       \
    x = LOAD(x##r + c);                                                                                           \
    a##r##0 = vfmaq_f32(a##r##0, x, v0); a##r##1 = vfmaq_f32(a##r##1, x, v1);                                     \
    a##r##2 = vfmaq_f32(a##r##2, x, v2); a##r##3 = vfmaq_f32(a##r##3, x, v3);
#define CK__NT_STEP(LOAD)                                                                                         \
    v0 = LOAD(w0 + c); v1 = LOAD(w1 + c); v2 = LOAD(w2 + c); v3 = LOAD(w3 + c);                                   \
    CK__NT_ROW(0, LOAD) CK__NT_ROW(1, LOAD) CK__NT_ROW(2, LOAD) CK__NT_ROW(3, LOAD)
#define CK__LOADT(p) ck__load_tail_neon(p, n)
    for (; c + 4 <= C; c += 4) { CK__NT_STEP(vld1q_f32) }
    if (c < C) {
        n = C - c;
        CK__NT_STEP(CK__LOADT)
    }
#undef CK__LOADT
#undef CK__NT_STEP
#undef CK__NT_ROW
    {
        float r[4][4];
#define CK__NT_RES(i) r[i][0] = vaddvq_f32(a##i##0); r[i][1] = vaddvq_f32(a##i##1); r[i][2] = vaddvq_f32(a##i##2); r[i][3] = vaddvq_f32(a##i##3);
        CK__NT_RES(0) CK__NT_RES(1) CK__NT_RES(2) CK__NT_RES(3)
#undef CK__NT_RES
        ck__store_tile(out, ldo, &r[0][0], 4, nt, no, bias, accumulate);
    }
}

/* one row of inp against no (1..8) rows of w: 8 weight streams in flight (decode GEMV) */
static void ck__mm_nt_1x8_neon(float *out, const float *x, const float *w, size_t ldw, int C, int no, const float *bias, int accumulate)
{
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * ldw, *w2 = w + (size_t)(no > 2 ? 2 : 0) * ldw, *w3 = w + (size_t)(no > 3 ? 3 : 0) * ldw;
    const float *w4 = w + (size_t)(no > 4 ? 4 : 0) * ldw, *w5 = w + (size_t)(no > 5 ? 5 : 0) * ldw;
    const float *w6 = w + (size_t)(no > 6 ? 6 : 0) * ldw, *w7 = w + (size_t)(no > 7 ? 7 : 0) * ldw;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, xv;
    float r[8];
    int c = 0, j, n = 4;
#define CK__GV_STEP(LOAD)                                                                                         \
    xv = LOAD(x + c);                                                                                             \
    a0 = vfmaq_f32(a0, xv, LOAD(w0 + c)); a1 = vfmaq_f32(a1, xv, LOAD(w1 + c));                                   \
    a2 = vfmaq_f32(a2, xv, LOAD(w2 + c)); a3 = vfmaq_f32(a3, xv, LOAD(w3 + c));                                   \
    a4 = vfmaq_f32(a4, xv, LOAD(w4 + c)); a5 = vfmaq_f32(a5, xv, LOAD(w5 + c));                                   \
    a6 = vfmaq_f32(a6, xv, LOAD(w6 + c)); a7 = vfmaq_f32(a7, xv, LOAD(w7 + c));
#define CK__LOADT(p) ck__load_tail_neon(p, n)
    for (; c + 4 <= C; c += 4) { CK__GV_STEP(vld1q_f32) }
    if (c < C) {
        n = C - c;
        CK__GV_STEP(CK__LOADT)
    }
#undef CK__LOADT
#undef CK__GV_STEP
    r[0] = vaddvq_f32(a0); r[1] = vaddvq_f32(a1); r[2] = vaddvq_f32(a2); r[3] = vaddvq_f32(a3);
    r[4] = vaddvq_f32(a4); r[5] = vaddvq_f32(a5); r[6] = vaddvq_f32(a6); r[7] = vaddvq_f32(a7);
    for (j = 0; j < no; j++) out[j] = accumulate ? out[j] + r[j] : r[j] + (bias ? bias[j] : 0.0f);
}
#endif /* CK_HAVE_NEON */

#if CK_HAVE_AVX2 || CK_HAVE_NEON
/* ---- Packed F32 GEMM (Goto/BLIS blocking), shared by the forward and both backward products ----
   C[M,N] = init + A(M,K) B(K,N), with A(i,k) = a[i*rsa + k*csa] and B(k,j) = b[k*rsb + j*csb];
   init is C itself (accumulate), else the row vector bias[N] (or zeros). A linear layer's three
   products are this one GEMM with strides (rsa, csa; rsb, csb):
     forward   out[T,OC]      = inp[T,C] W^T + bias  A = inp (C, 1)               B(c,o) = W[o*C + c] (1, C)
     backward  dinp[T,C]     += dout[T,OC] W         A = dout (OC, 1)             B = W (C, 1)
               dweight[OC,C] += dout^T inp           A(o,t) = dout[t*OC + o] (1, OC)  B = inp (C, 1)
   Blocking: a task (a block of up to NC columns and a block of rows of C) packs a KC x NC block of
   B (it stays in L2), then packs one MR-row micro-panel of A after the other (MR x KC, in L1) and
   sweeps the B block with each through the MR x NR register tile: A broadcast, B in vectors,
   MR x NR accumulators. Threads share nothing but the tasks' queue: no barrier inside the GEMM.
   Every output element is one FMA chain c = fma(A(i,k), B(k,j), c) over k = 0..K-1 in increasing
   order, from its init: its bits depend neither on the blocking, nor on the tile it lands in, nor
   on the thread count (a C loop of fmaf gives the same bits). */
#if CK_HAVE_AVX512
enum { CK__GM_MR = 8, CK__GM_NR = 48, CK__GM_KC = 256, CK__GM_NC = 384 }; /* 24 zmm accumulators; B block 384 KB */
typedef __m512 ck__gm_vec;
#elif CK_HAVE_AVX2
enum { CK__GM_MR = 6, CK__GM_NR = 16, CK__GM_KC = 256, CK__GM_NC = 256 }; /* 12 ymm accumulators; B block 256 KB */
typedef __m256 ck__gm_vec;
#else /* NEON: 24 of the 32 q registers accumulate, 3 hold B, 2 A (broadcast by lane); B block 192 KB */
enum { CK__GM_MR = 8, CK__GM_NR = 12, CK__GM_KC = 256, CK__GM_NC = 192 };
typedef float32x4_t ck__gm_vec;
#endif
/* below this many rows of inp the forward keeps the dot-product tiles, which read W in place: the
   GEMM transposes all of W into its panels, which pays from about 48 rows (Zen 5, C 768, OC 2304) */
#ifndef CK__GEMM_MIN_T
#define CK__GEMM_MIN_T 48
#endif

/* dst[c*ldd + r] = src[r*lds + c] for r < rows (<= width <= 8), c < cols (<= 8); the width - rows
   entries after them are zeros: an 8 x 8 block transposed in registers */
static void ck__gemm_transpose8(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols, int width)
{
#if CK_HAVE_NEON /* (element by element: the packing is O(K N), the tiles O(M N K)) */
    int i, j;
    for (i = 0; i < cols; i++)
        for (j = 0; j < width; j++) dst[(size_t)i * ldd + j] = j < rows ? src[(size_t)j * lds + i] : 0.0f;
#else
    const __m256i mc = ck__mask(cols), mw = ck__mask(width);
    __m256i r[8];
    int i;
    for (i = 0; i < 8; i++) r[i] = i < rows ? _mm256_castps_si256(_mm256_maskload_ps(src + (size_t)i * lds, mc)) : _mm256_setzero_si256();
    ck__transpose8_dwords_avx2(r);
    for (i = 0; i < cols; i++) _mm256_maskstore_ps(dst + (size_t)i * ldd, mw, _mm256_castsi256_ps(r[i]));
#endif
}

/* ap[k*MR + i] = A(i, k) for i < mr, k < kc; rows mr..MR-1 zero */
static void ck__gemm_pack_a(float *ap, const float *a, size_t rsa, size_t csa, int mr, int kc)
{
    int i, k;
    if (csa == 1) /* rows of A are contiguous (forward, dinp): 8 x 8 transposes */
        for (k = 0; k < kc; k += 8) ck__gemm_transpose8(ap + (size_t)k * CK__GM_MR, CK__GM_MR, a + k, rsa, mr, CK_MIN(8, kc - k), CK__GM_MR);
    else /* (dweight: columns of A are contiguous) */
        for (k = 0; k < kc; k++)
            for (i = 0; i < CK__GM_MR; i++) ap[k * CK__GM_MR + i] = i < mr ? a[(size_t)i * rsa + (size_t)k * csa] : 0.0f;
}

/* bp[k*NR + j] = B(k, j) for k < kc, j < nr; columns nr..NR-1 zero. B has rows (csb == 1) or
   columns (rsb == 1) contiguous. */
static void ck__gemm_pack_b(float *bp, const float *b, size_t rsb, size_t csb, int kc, int nr)
{
    int j, k;
    CK_ASSERT((csb == 1 || rsb == 1) && "ck__gemm_pack_b: B has neither rows nor columns contiguous");
    if (csb == 1) { /* rows of B are contiguous */
        for (k = 0; k < kc; k++) {
            memcpy(bp + (size_t)k * CK__GM_NR, b + (size_t)k * rsb, (size_t)nr * sizeof(float));
            for (j = nr; j < CK__GM_NR; j++) bp[(size_t)k * CK__GM_NR + j] = 0.0f;
        }
    } else { /* columns of B are contiguous (forward: the rows of W; rsb == 1): 8 x 8 transposes */
        for (j = 0; j < CK__GM_NR; j += 8) {
            const int rows = CK_MAX(0, CK_MIN(8, nr - j));
            for (k = 0; k < kc; k += 8)
                ck__gemm_transpose8(bp + (size_t)k * CK__GM_NR + j, CK__GM_NR, rows ? b + (size_t)j * csb + k : b, csb, rows, CK_MIN(8, kc - k),
                                    CK_MIN(8, CK__GM_NR - j)); /* (NEON's NR of 12: a last block 4 wide) */
        }
    }
}

/* The register tile: c[mr x nr] (row stride ldc) = init + ap (kc x MR) . bp (kc x NR). init: c
   (load_c), else init_row[nr] (or zeros). Rows >= mr and columns >= nr are computed, not stored. */
#if CK_HAVE_AVX512
static void ck__gemm_tile(float *c, size_t ldc, const float *ap, const float *bp, int kc, int mr, int nr, const float *init_row, int load_c)
{
    const __mmask16 m0 = ck__mask16(nr), m1 = ck__mask16(CK_MAX(0, nr - 16)), m2 = ck__mask16(CK_MAX(0, nr - 32));
    const __m512 z = _mm512_setzero_ps();
    const __m512 i0 = init_row ? _mm512_maskz_loadu_ps(m0, init_row) : z, i1 = init_row ? _mm512_maskz_loadu_ps(m1, init_row + 16) : z;
    const __m512 i2 = init_row ? _mm512_maskz_loadu_ps(m2, init_row + 32) : z;
    __m512 c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32, c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72;
    __m512 b0, b1, b2;
    int k;
#define CK__GT_INIT(r)                                                                                                        \
    if (load_c && mr > r) {                                                                                                   \
        c##r##0 = _mm512_maskz_loadu_ps(m0, c + r * ldc); c##r##1 = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);              \
        c##r##2 = _mm512_maskz_loadu_ps(m2, c + r * ldc + 32);                                                                \
    } else { c##r##0 = i0; c##r##1 = i1; c##r##2 = i2; }
    CK__GT_INIT(0) CK__GT_INIT(1) CK__GT_INIT(2) CK__GT_INIT(3) CK__GT_INIT(4) CK__GT_INIT(5) CK__GT_INIT(6) CK__GT_INIT(7)
#undef CK__GT_INIT
#define CK__GT_ROW(r) { const __m512 a = _mm512_set1_ps(ap[r]);                                                               \
                        c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0); c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);                 \
                        c##r##2 = _mm512_fmadd_ps(a, b2, c##r##2); }
    for (k = 0; k < kc; k++, ap += CK__GM_MR, bp += CK__GM_NR) {
        b0 = _mm512_load_ps(bp); b1 = _mm512_load_ps(bp + 16); b2 = _mm512_load_ps(bp + 32);
        CK__GT_ROW(0) CK__GT_ROW(1) CK__GT_ROW(2) CK__GT_ROW(3) CK__GT_ROW(4) CK__GT_ROW(5) CK__GT_ROW(6) CK__GT_ROW(7)
    }
#undef CK__GT_ROW
#define CK__GT_STORE(r)                                                                                                       \
    if (mr > r) {                                                                                                             \
        _mm512_mask_storeu_ps(c + r * ldc, m0, c##r##0); _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c##r##1);                \
        _mm512_mask_storeu_ps(c + r * ldc + 32, m2, c##r##2);                                                                 \
    }
    CK__GT_STORE(0) CK__GT_STORE(1) CK__GT_STORE(2) CK__GT_STORE(3) CK__GT_STORE(4) CK__GT_STORE(5) CK__GT_STORE(6) CK__GT_STORE(7)
#undef CK__GT_STORE
}
#elif CK_HAVE_AVX2
static void ck__gemm_tile(float *c, size_t ldc, const float *ap, const float *bp, int kc, int mr, int nr, const float *init_row, int load_c)
{
    const __m256i m0 = ck__mask(CK_MIN(8, nr)), m1 = ck__mask(CK_MAX(0, nr - 8));
    const __m256 z = _mm256_setzero_ps();
    const __m256 i0 = init_row ? _mm256_maskload_ps(init_row, m0) : z, i1 = init_row ? _mm256_maskload_ps(init_row + 8, m1) : z;
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, b0, b1;
    int k;
#define CK__GT_INIT(r)                                                                                                        \
    if (load_c && mr > r) { c##r##0 = _mm256_maskload_ps(c + r * ldc, m0); c##r##1 = _mm256_maskload_ps(c + r * ldc + 8, m1); } \
    else { c##r##0 = i0; c##r##1 = i1; }
    CK__GT_INIT(0) CK__GT_INIT(1) CK__GT_INIT(2) CK__GT_INIT(3) CK__GT_INIT(4) CK__GT_INIT(5)
#undef CK__GT_INIT
#define CK__GT_ROW(r) { const __m256 a = _mm256_broadcast_ss(ap + r);                                                         \
                        c##r##0 = _mm256_fmadd_ps(a, b0, c##r##0); c##r##1 = _mm256_fmadd_ps(a, b1, c##r##1); }
    for (k = 0; k < kc; k++, ap += CK__GM_MR, bp += CK__GM_NR) {
        b0 = _mm256_load_ps(bp); b1 = _mm256_load_ps(bp + 8);
        CK__GT_ROW(0) CK__GT_ROW(1) CK__GT_ROW(2) CK__GT_ROW(3) CK__GT_ROW(4) CK__GT_ROW(5)
    }
#undef CK__GT_ROW
#define CK__GT_STORE(r) if (mr > r) { _mm256_maskstore_ps(c + r * ldc, m0, c##r##0); _mm256_maskstore_ps(c + r * ldc + 8, m1, c##r##1); }
    CK__GT_STORE(0) CK__GT_STORE(1) CK__GT_STORE(2) CK__GT_STORE(3) CK__GT_STORE(4) CK__GT_STORE(5)
#undef CK__GT_STORE
}
#else /* NEON 8 x 12: A's 8 rows in two q registers, c(r) += b * a[r] by lane (vfmaq_laneq_f32: one fused
         multiply-add, the bits of fmaf) */
/* row[0..n-1] (n <= 12) into 3 vectors, zeros after */
static inline void ck__gemm_load_row_neon(const float *row, int n, float32x4_t *v0, float32x4_t *v1, float32x4_t *v2)
{
    float t[12] = { 0.0f };
    if (n >= 12) { *v0 = vld1q_f32(row); *v1 = vld1q_f32(row + 4); *v2 = vld1q_f32(row + 8); return; }
    memcpy(t, row, (size_t)n * sizeof(float));
    *v0 = vld1q_f32(t); *v1 = vld1q_f32(t + 4); *v2 = vld1q_f32(t + 8);
}
static inline void ck__gemm_store_row_neon(float *row, int n, float32x4_t v0, float32x4_t v1, float32x4_t v2)
{
    float t[12];
    if (n >= 12) { vst1q_f32(row, v0); vst1q_f32(row + 4, v1); vst1q_f32(row + 8, v2); return; }
    vst1q_f32(t, v0); vst1q_f32(t + 4, v1); vst1q_f32(t + 8, v2);
    memcpy(row, t, (size_t)n * sizeof(float));
}
static void ck__gemm_tile(float *c, size_t ldc, const float *ap, const float *bp, int kc, int mr, int nr, const float *init_row, int load_c)
{
    float32x4_t i0 = vdupq_n_f32(0.0f), i1 = i0, i2 = i0;
    float32x4_t c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32, c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72;
    float32x4_t b0, b1, b2, a0, a1;
    int k;
    if (init_row) ck__gemm_load_row_neon(init_row, nr, &i0, &i1, &i2);
#define CK__GT_INIT(r)                                                                                                        \
    if (load_c && mr > r) ck__gemm_load_row_neon(c + r * ldc, nr, &c##r##0, &c##r##1, &c##r##2);                              \
    else { c##r##0 = i0; c##r##1 = i1; c##r##2 = i2; }
    CK__GT_INIT(0) CK__GT_INIT(1) CK__GT_INIT(2) CK__GT_INIT(3) CK__GT_INIT(4) CK__GT_INIT(5) CK__GT_INIT(6) CK__GT_INIT(7)
#undef CK__GT_INIT
#define CK__GT_ROW(r, a, l) c##r##0 = vfmaq_laneq_f32(c##r##0, b0, a, l); c##r##1 = vfmaq_laneq_f32(c##r##1, b1, a, l); \
                            c##r##2 = vfmaq_laneq_f32(c##r##2, b2, a, l);
    for (k = 0; k < kc; k++, ap += CK__GM_MR, bp += CK__GM_NR) {
        b0 = vld1q_f32(bp); b1 = vld1q_f32(bp + 4); b2 = vld1q_f32(bp + 8);
        a0 = vld1q_f32(ap); a1 = vld1q_f32(ap + 4);
        CK__GT_ROW(0, a0, 0) CK__GT_ROW(1, a0, 1) CK__GT_ROW(2, a0, 2) CK__GT_ROW(3, a0, 3)
        CK__GT_ROW(4, a1, 0) CK__GT_ROW(5, a1, 1) CK__GT_ROW(6, a1, 2) CK__GT_ROW(7, a1, 3)
    }
#undef CK__GT_ROW
#define CK__GT_STORE(r) if (mr > r) ck__gemm_store_row_neon(c + r * ldc, nr, c##r##0, c##r##1, c##r##2);
    CK__GT_STORE(0) CK__GT_STORE(1) CK__GT_STORE(2) CK__GT_STORE(3) CK__GT_STORE(4) CK__GT_STORE(5) CK__GT_STORE(6) CK__GT_STORE(7)
#undef CK__GT_STORE
}
#endif

static void ck__gemm_f32(float *c, size_t ldc, const float *a, size_t rsa, size_t csa, const float *b, size_t rsb, size_t csb, int M, int N, int K,
                         const float *bias, int accumulate)
{
    int ncb, nrb, mrows, ntask, task, nth = 1;
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* no product: the output is its init */
        int i, j;
        if (!accumulate)
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++) c[(size_t)i * ldc + j] = bias ? bias[j] : 0.0f;
        return;
    }
#ifdef _OPENMP
    nth = omp_get_max_threads();
#endif
    /* tasks: column blocks of up to NC x row blocks, at least 4 a thread where the rows allow (row
       blocks of >= 128 rows, each packs its own B block): a thread the OS deschedules (a shared
       machine) leaves its tasks to the others, and no barrier inside waits for it */
    ncb = (N + CK__GM_NC - 1) / CK__GM_NC;
    nrb = CK_MAX(1, CK_MIN((4 * nth + ncb - 1) / ncb, M / 128));
    mrows = ((M + nrb - 1) / nrb + CK__GM_MR - 1) / CK__GM_MR * CK__GM_MR;
    nrb = (M + mrows - 1) / mrows;
    ntask = ncb * nrb;
    CK_OMP(omp parallel for schedule(dynamic, 1) if ((double)M * N * K > CK_OMP_MIN_WORK))
    for (task = 0; task < ntask; task++) {
        union { ck__gm_vec v; float f[CK__GM_KC * CK__GM_NC]; } bpack; /* the task's B block (on the thread's stack) */
        union { ck__gm_vec v; float f[CK__GM_MR * CK__GM_KC]; } apack; /* a micro-panel of A */
        const int j0 = task % ncb * CK__GM_NC, nc = CK_MIN(CK__GM_NC, N - j0), njp = (nc + CK__GM_NR - 1) / CK__GM_NR;
        const int i0 = task / ncb * mrows, i1 = CK_MIN(M, i0 + mrows);
        int pc, jp, i;
        for (pc = 0; pc < K; pc += CK__GM_KC) {
            const int kc = CK_MIN(CK__GM_KC, K - pc), first = pc == 0 && !accumulate;
            for (jp = 0; jp < njp; jp++)
                ck__gemm_pack_b(bpack.f + (size_t)jp * CK__GM_NR * kc, b + (size_t)pc * rsb + (size_t)(j0 + jp * CK__GM_NR) * csb, rsb, csb, kc,
                                CK_MIN(CK__GM_NR, nc - jp * CK__GM_NR));
            for (i = i0; i < i1; i += CK__GM_MR) {
                const int mr = CK_MIN(CK__GM_MR, i1 - i);
                ck__gemm_pack_a(apack.f, a + (size_t)i * rsa + (size_t)pc * csa, rsa, csa, mr, kc);
                for (jp = 0; jp < njp; jp++) {
                    const int j = j0 + jp * CK__GM_NR;
                    ck__gemm_tile(c + (size_t)i * ldc + j, ldc, apack.f, bpack.f + (size_t)jp * CK__GM_NR * kc, kc, mr, CK_MIN(CK__GM_NR, N - j),
                                  first && bias ? bias + j : NULL, !first);
                }
            }
        }
    }
}

#endif /* CK_HAVE_AVX2 || CK_HAVE_NEON */

#if CK_HAVE_AVX2
/* dbias[OC] += sum over t of dout[t][o], t in increasing order as in the scalar path (the same bits) */
static void ck__bias_backward_avx2(float *dbias, const float *dout, int T, int OC)
{
    const int nob = (OC + 31) / 32;
    int ob;
    CK_OMP(omp parallel for schedule(static) if ((double)T * OC > CK_OMP_MIN_WORK))
    for (ob = 0; ob < nob; ob++) {
        const int o = ob * 32, n = OC - o;
        const __m256i m0 = ck__mask(CK_MIN(8, n)), m1 = ck__mask(CK_MAX(0, CK_MIN(8, n - 8)));
        const __m256i m2 = ck__mask(CK_MAX(0, CK_MIN(8, n - 16))), m3 = ck__mask(CK_MAX(0, CK_MIN(8, n - 24)));
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        const float *d = dout + o;
        int t;
        for (t = 0; t < T; t++, d += OC) {
            s0 = _mm256_add_ps(s0, _mm256_maskload_ps(d, m0)); s1 = _mm256_add_ps(s1, _mm256_maskload_ps(d + 8, m1));
            s2 = _mm256_add_ps(s2, _mm256_maskload_ps(d + 16, m2)); s3 = _mm256_add_ps(s3, _mm256_maskload_ps(d + 24, m3));
        }
        _mm256_maskstore_ps(dbias + o, m0, _mm256_add_ps(_mm256_maskload_ps(dbias + o, m0), s0));
        _mm256_maskstore_ps(dbias + o + 8, m1, _mm256_add_ps(_mm256_maskload_ps(dbias + o + 8, m1), s1));
        _mm256_maskstore_ps(dbias + o + 16, m2, _mm256_add_ps(_mm256_maskload_ps(dbias + o + 16, m2), s2));
        _mm256_maskstore_ps(dbias + o + 24, m3, _mm256_add_ps(_mm256_maskload_ps(dbias + o + 24, m3), s3));
    }
}

/* T >= CK__GEMM_MIN_T: the packed GEMM. Fewer rows (decode, short prompts): blocks of OB weight
   rows (kept in L2) are swept by all rows of inp, 4 at a time; AVX-512: 4x6 tiles, and the single
   rows (decode) 8 weight rows at a time. */
/* OB weight rows (block ob) of out [T,OC] = inp [T,C] W^T + bias, T < CK__GEMM_MIN_T */
static void ck__matmul_forward_avx2_block(void *p, int ob)
{
    const ck__mmf_job *J = (const ck__mmf_job *)p;
    float *out = J->out;
    const float *inp = J->inp, *weight = J->weight, *bias = J->bias;
    const int T = J->T, C = J->C, OC = J->OC, o0 = ob * CK__MMF_OB, o1 = CK_MIN(OC, o0 + CK__MMF_OB);
    int t = 0, o;
#if CK_HAVE_AVX512
    for (; T - t >= 2; t += 4) { /* tiles of 2..4 rows; a last single row goes to 1x8 */
        int nt = CK_MIN(4, T - t);
        for (o = o0; o < o1; o += 6)
            ck__mm512_nt_4x6(out + (size_t)t * OC + o, (size_t)OC, inp + (size_t)t * C, (size_t)C, weight + (size_t)o * C, (size_t)C, C, nt,
                             CK_MIN(6, o1 - o), bias ? bias + o : NULL, 0);
    }
    for (; t < T; t++)
        for (o = o0; o < o1; o += 8)
            ck__mm512_nt_1x8(out + (size_t)t * OC + o, inp + (size_t)t * C, weight + (size_t)o * C, (size_t)C, C, CK_MIN(8, o1 - o),
                             bias ? bias + o : NULL, 0);
#else
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
#endif
}
CK_DEF void ck_matmul_forward_avx2(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC)
{
    ck__mmf_job J;
    if (T >= CK__GEMM_MIN_T) { /* out[T,OC] = inp[T,C] W^T + bias through the packed GEMM */
        ck__gemm_f32(out, (size_t)OC, inp, (size_t)C, 1, weight, 1, (size_t)C, T, OC, C, bias, 0);
        return;
    }
    J.out = out, J.inp = inp, J.weight = weight, J.bias = bias, J.T = T, J.C = C, J.OC = OC;
    ck__par_items((double)T * OC * C > CK_OMP_MIN_WORK, ck__matmul_forward_avx2_block, &J, (OC + CK__MMF_OB - 1) / CK__MMF_OB);
}

CK_DEF void ck_matmul_backward_avx2(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC)
{
    /* dinp[T,C] += dout[T,OC] @ weight[OC,C] */
    if (dinp) ck__gemm_f32(dinp, (size_t)C, dout, (size_t)OC, 1, weight, (size_t)C, 1, T, C, OC, NULL, 1);
    /* dweight[OC,C] += dout^T[OC,T] @ inp[T,C]: A(o,t) = dout[t*OC + o] */
    if (dweight) ck__gemm_f32(dweight, (size_t)C, dout, 1, (size_t)OC, inp, (size_t)C, 1, OC, C, T, NULL, 1);
    if (dbias) ck__bias_backward_avx2(dbias, dout, T, OC);
}
#endif /* CK_HAVE_AVX2 */

#if CK_HAVE_NEON
/* The AVX2 pair's structure on NEON: T >= CK__GEMM_MIN_T (and both backward products) through the
   packed GEMM with the 8 x 12 tile; fewer rows: blocks of OB weight rows swept by 4x4 tiles, single
   rows (decode) by the 1x8 GEMV. */
/* OB weight rows (block ob) of out [T,OC] = inp [T,C] W^T + bias, T < CK__GEMM_MIN_T */
static void ck__matmul_forward_neon_block(void *p, int ob)
{
    const ck__mmf_job *J = (const ck__mmf_job *)p;
    float *out = J->out;
    const float *inp = J->inp, *weight = J->weight, *bias = J->bias;
    const int T = J->T, C = J->C, OC = J->OC, o0 = ob * CK__MMF_OB, o1 = CK_MIN(OC, o0 + CK__MMF_OB);
    int t = 0, o;
    for (; T - t >= 2; t += 4) { /* tiles of 2..4 rows; a last single row goes to 1x8 */
        int nt = CK_MIN(4, T - t);
        for (o = o0; o < o1; o += 4)
            ck__mm_nt_4x4_neon(out + (size_t)t * OC + o, (size_t)OC, inp + (size_t)t * C, (size_t)C, weight + (size_t)o * C, (size_t)C, C, nt,
                               CK_MIN(4, o1 - o), bias ? bias + o : NULL, 0);
    }
    for (; t < T; t++)
        for (o = o0; o < o1; o += 8)
            ck__mm_nt_1x8_neon(out + (size_t)t * OC + o, inp + (size_t)t * C, weight + (size_t)o * C, (size_t)C, C, CK_MIN(8, o1 - o),
                               bias ? bias + o : NULL, 0);
}
CK_DEF void ck_matmul_forward_neon(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC)
{
    ck__mmf_job J;
    if (T >= CK__GEMM_MIN_T) { /* out[T,OC] = inp[T,C] W^T + bias */
        ck__gemm_f32(out, (size_t)OC, inp, (size_t)C, 1, weight, 1, (size_t)C, T, OC, C, bias, 0);
        return;
    }
    J.out = out, J.inp = inp, J.weight = weight, J.bias = bias, J.T = T, J.C = C, J.OC = OC;
    ck__par_items((double)T * OC * C > CK_OMP_MIN_WORK, ck__matmul_forward_neon_block, &J, (OC + CK__MMF_OB - 1) / CK__MMF_OB);
}

/* dbias[OC] += sum over t of dout[t][o], t in increasing order as in the scalar path (the same bits) */
static void ck__bias_backward_neon(float *dbias, const float *dout, int T, int OC)
{
    const int nob = (OC + 15) / 16;
    int ob;
    CK_OMP(omp parallel for schedule(static) if ((double)T * OC > CK_OMP_MIN_WORK))
    for (ob = 0; ob < nob; ob++) {
        const int o = ob * 16, n = CK_MIN(16, OC - o);
        int t, j;
        if (n == 16) {
            float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
            const float *d = dout + o;
            for (t = 0; t < T; t++, d += OC) {
                s0 = vaddq_f32(s0, vld1q_f32(d)); s1 = vaddq_f32(s1, vld1q_f32(d + 4));
                s2 = vaddq_f32(s2, vld1q_f32(d + 8)); s3 = vaddq_f32(s3, vld1q_f32(d + 12));
            }
            vst1q_f32(dbias + o, vaddq_f32(vld1q_f32(dbias + o), s0)); vst1q_f32(dbias + o + 4, vaddq_f32(vld1q_f32(dbias + o + 4), s1));
            vst1q_f32(dbias + o + 8, vaddq_f32(vld1q_f32(dbias + o + 8), s2)); vst1q_f32(dbias + o + 12, vaddq_f32(vld1q_f32(dbias + o + 12), s3));
        } else
            for (j = o; j < o + n; j++) {
                float s = 0.0f;
                for (t = 0; t < T; t++) s += dout[(size_t)t * OC + j];
                dbias[j] += s;
            }
    }
}

CK_DEF void ck_matmul_backward_neon(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int T, int C, int OC)
{
    /* dinp[T,C] += dout[T,OC] @ weight[OC,C] */
    if (dinp) ck__gemm_f32(dinp, (size_t)C, dout, (size_t)OC, 1, weight, (size_t)C, 1, T, C, OC, NULL, 1);
    /* dweight[OC,C] += dout^T[OC,T] @ inp[T,C]: A(o,t) = dout[t*OC + o] */
    if (dweight) ck__gemm_f32(dweight, (size_t)C, dout, 1, (size_t)OC, inp, (size_t)C, 1, OC, C, T, NULL, 1);
    if (dbias) ck__bias_backward_neon(dbias, dout, T, OC);
}
#endif /* CK_HAVE_NEON */

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
#elif CK_HAVE_NEON
    ck_matmul_forward_neon(out, inp, weight, bias, T, C, OC);
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
#elif CK_HAVE_NEON
    ck_matmul_backward_neon(dinp, dweight, dbias, dout, inp, weight, T, C, OC);
#else
    ck_matmul_backward_scalar(dinp, dweight, dbias, dout, inp, weight, T, C, OC);
#endif
}

/* LoRA, forward and backward: the fp32 matmuls above in the shapes of a rank-r update.
   inp [T,C], a = A [rank,C], bt = B^T [rank,OC], out/dout [T,OC], scratch/dscratch [T,rank].
   The _scalar pair is the reference (the scalar matmuls); the other the dispatched matmuls. */
#define CK__LORA_FORWARD(MM_FWD, MM_BWD)                                                                         \
    MM_FWD(scratch, inp, a, NULL, T, C, rank);              /* scratch [T,rank] = inp @ A^T */                   \
    ck_scale_forward(scratch, scratch, scale, (size_t)T * (size_t)rank);                                         \
    MM_BWD(out, NULL, NULL, scratch, NULL, bt, T, OC, rank); /* out [T,OC] += scratch @ bt */
#define CK__LORA_BACKWARD(MM_FWD, MM_BWD)                                                                        \
    MM_FWD(dscratch, dout, bt, NULL, T, OC, rank);          /* dscratch [T,rank] = dout @ B */                   \
    ck_scale_forward(dscratch, dscratch, scale, (size_t)T * (size_t)rank);                                       \
    if (dinp || da) MM_BWD(dinp, da, NULL, dscratch, inp, a, T, C, rank); /* += dscratch @ A; dscratch^T @ inp */ \
    if (dbt) {                                                                                                   \
        MM_FWD(scratch, inp, a, NULL, T, C, rank);          /* the forward's scratch, recomputed */              \
        ck_scale_forward(scratch, scratch, scale, (size_t)T * (size_t)rank);                                     \
        MM_BWD(NULL, dbt, NULL, scratch, dout, NULL, T, OC, rank); /* dbt [rank,OC] += scratch^T @ dout */       \
    }
CK_DEF void ck_lora_forward_scalar(float *out, float *scratch, const float *inp, const float *a, const float *bt, float scale,
                                   int T, int C, int OC, int rank)
{
    CK__LORA_FORWARD(ck_matmul_forward_scalar, ck_matmul_backward_scalar)
}
CK_DEF void ck_lora_backward_scalar(float *dinp, float *da, float *dbt, float *scratch, float *dscratch, const float *dout, const float *inp,
                                    const float *a, const float *bt, float scale, int T, int C, int OC, int rank)
{
    CK__LORA_BACKWARD(ck_matmul_forward_scalar, ck_matmul_backward_scalar)
}
CK_DEF void ck_lora_forward(float *out, float *scratch, const float *inp, const float *a, const float *bt, float scale,
                            int T, int C, int OC, int rank)
{
#if CK_HAVE_AVX2
    if (T < 4) { /* decode: out row t += scratch[t,r] * bt row r, r in order: per element the same FMA chain as
                    the blocked GEMM (the same bits), bt's rows read whole instead of 16 columns at a time */
        int t, r;
        ck_matmul_forward(scratch, inp, a, NULL, T, C, rank);
        ck_scale_forward(scratch, scratch, scale, (size_t)T * (size_t)rank);
        for (t = 0; t < T; t++)
            for (r = 0; r < rank; r++) ck__axpy_avx2(out + (size_t)t * OC, scratch[(size_t)t * rank + r], bt + (size_t)r * OC, OC);
        return;
    }
#endif
    CK__LORA_FORWARD(ck_matmul_forward, ck_matmul_backward)
}
CK_DEF void ck_lora_backward(float *dinp, float *da, float *dbt, float *scratch, float *dscratch, const float *dout, const float *inp,
                             const float *a, const float *bt, float scale, int T, int C, int OC, int rank)
{
    CK__LORA_BACKWARD(ck_matmul_forward, ck_matmul_backward)
}
#undef CK__LORA_FORWARD
#undef CK__LORA_BACKWARD

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

/* One row per GGUF type id: ggml's name, values and bytes per block, the alignment of a block,
   and `act`, the activation block type ggml's CPU backend pairs with it (vec_dot_type in its
   type_traits_cpu; -1: none): Q8_0, Q8_1 or Q8_K blocks for the quantized types, the weight's own
   type for F16 and BF16. The fast matmul path uses it with ck__qdot_kernel. */
typedef struct { const char *name; int blck; int bytes; int align; int act; } ck__type_traits;

static const ck__type_traits *ck__traits(int type)
{
#define CK__NONE { NULL, 0, 0, 0, -1 }
    static const ck__type_traits tab[31] = {
        { "f32", 1, 4, 4, -1 }, { "f16", 1, 2, 2, CK_F16 },
        { "q4_0", CK_QK, 18, 2, CK_Q8_0 }, { "q4_1", CK_QK, 20, 2, CK_Q8_1 },
        CK__NONE, CK__NONE, /* 4, 5: Q4_2, Q4_3, removed from ggml */
        { "q5_0", CK_QK, 22, 2, CK_Q8_0 }, { "q5_1", CK_QK, 24, 2, CK_Q8_1 },
        { "q8_0", CK_QK, 34, 2, CK_Q8_0 }, { "q8_1", CK_QK, 36, 2, -1 },
        { "q2_K", CK_QK_K, 84, 2, CK_Q8_K }, { "q3_K", CK_QK_K, 110, 2, CK_Q8_K },
        { "q4_K", CK_QK_K, 144, 2, CK_Q8_K }, { "q5_K", CK_QK_K, 176, 2, CK_Q8_K },
        { "q6_K", CK_QK_K, 210, 2, CK_Q8_K }, { "q8_K", CK_QK_K, 292, 4, -1 },
        CK__NONE, CK__NONE, CK__NONE, CK__NONE,                          /* 16..19: IQ2_XXS .. IQ1_S */
        { "iq4_nl", CK_QK, 18, 2, CK_Q8_0 },
        CK__NONE, CK__NONE, CK__NONE, CK__NONE, CK__NONE, CK__NONE, CK__NONE, CK__NONE, CK__NONE, /* 21..29: */
        { "bf16", 1, 2, 2, CK_BF16 }                                     /* other IQ and int types */
    };
#undef CK__NONE
    if (type < 0 || type >= (int)(sizeof tab / sizeof tab[0]) || !tab[type].name) return NULL;
    return &tab[type];
}

CK_DEF const char *ck_type_name(int type) { const ck__type_traits *t = ck__traits(type); return t ? t->name : NULL; }

/* ---- repacked layouts (CK_Q4_0_X16 and the others; see their declaration) ------------------ */
CK_DEF int ck_repack_base(int type)
{
    return type == CK_Q4_0_X16 ? CK_Q4_0 : type == CK_Q5_0_X16 ? CK_Q5_0 : type == CK_Q8_0_X16 ? CK_Q8_0 : type == CK_F32_X16 ? CK_F32
         : type == CK_F16_X16 ? CK_F16 : type == CK_BF16_X16 ? CK_BF16 : type;
}

CK_DEF int ck_repack_layout(int type)
{
    return type == CK_Q4_0 ? CK_Q4_0_X16 : type == CK_Q5_0 ? CK_Q5_0_X16 : type == CK_Q8_0 ? CK_Q8_0_X16 : type == CK_F32 ? CK_F32_X16
         : type == CK_F16 ? CK_F16_X16 : type == CK_BF16 ? CK_BF16_X16 : type;
}

CK_DEF int ck_repack_type(int type)
{
#if CK_HAVE_AVX512 && !defined(CK_NO_REPACK)
    if (CK_QMATMUL_PATH == CK_Q_FAST && (type != CK_BF16 || CK_HAVE_AVX512BF16)) return ck_repack_layout(type);
#endif
    return type;
}

/* a float layout (CK_F32_X16, CK_F16_X16, CK_BF16_X16): 16-row groups stored column by column */
static int ck__is_x16f(int type) { return type == CK_F32_X16 || type == CK_F16_X16 || type == CK_BF16_X16; }
/* where value (r, k) of a 16-row group of a float layout (C values a row) is, in values from the
   group's start */
static size_t ck__x16f_at(int type, int64_t C, int r, int64_t k)
{
    if (type == CK_BF16_X16 && k < (C & ~(int64_t)1)) return (size_t)(k & ~(int64_t)1) * 16 + 2 * (size_t)r + (size_t)(k & 1);
    return (size_t)k * 16 + (size_t)r;
}

static int ck__is_x16(int type) { return type == CK_Q4_0_X16 || type == CK_Q5_0_X16 || type == CK_Q8_0_X16; }
/* a GGUF block of the layout's type: d (2 bytes), then 4-byte chunks (Q5_0: qh, then qs); 16 of them a group-block */
static size_t ck__x16_bsz(int type)
{
    return type == CK_Q8_0_X16 ? sizeof(ck_block_q8_0) : type == CK_Q5_0_X16 ? sizeof(ck_block_q5_0) : sizeof(ck_block_q4_0);
}
/* row r's GGUF block (bsz bytes) and its place in a group-block: d at 2r, the block's 4-byte
   chunk j (after d) at 32 + 64j + 4r. to_group: src is the block, dst the group-block; else src
   the group-block, dst the block */
static void ck__x16_copy(uint8_t *dst, const uint8_t *src, int r, size_t bsz, int to_group)
{
    size_t j;
    for (j = 0; j <= (bsz - 2) / 4; j++) {
        const size_t in_group = j ? 32 + 64 * (j - 1) + 4 * (size_t)r : 2 * (size_t)r, in_blk = j ? 2 + 4 * (j - 1) : 0;
        memcpy(dst + (to_group ? in_group : in_blk), src + (to_group ? in_blk : in_group), j ? 4 : 2);
    }
}

/* blocks b0 .. b0+nb-1 of row o of a repacked matrix of nbr blocks a row, as GGUF blocks of its base type */
static void ck__x16_blocks(int type, const void *w, int nbr, int o, int b0, int nb, void *dst)
{
    const size_t bsz = ck__x16_bsz(type);
    const uint8_t *g = (const uint8_t *)w + (size_t)(o / 16) * (size_t)nbr * 16 * bsz;
    uint8_t *y = (uint8_t *)dst;
    int b;
    for (b = 0; b < nb; b++, y += bsz) ck__x16_copy(y, g + (size_t)(b0 + b) * 16 * bsz, o % 16, bsz, 0);
}

#ifndef CK_NO_STDIO
CK_DEF int ck_repack_rows(int to, void *w, int64_t OC, int64_t C)
{
    const int64_t nbr = C / CK_QK;
    size_t gbytes, bsz;
    uint8_t *tmp, *g;
    int64_t i, b, r;
    if (ck__is_x16f(to)) { /* each group of 16 rows transposed in place */
        const size_t es = to == CK_F32_X16 ? 4 : 2, gb = (size_t)(16 * C) * es;
        if (OC < 0 || OC % 16 || C <= 0 || C > ((int64_t)1 << 30)) return -1;
        tmp = (uint8_t *)CK_MALLOC(gb);
        if (!tmp) return -1;
        for (i = 0; i < OC / 16; i++) {
            g = (uint8_t *)w + (size_t)i * gb;
            memcpy(tmp, g, gb);
            for (b = 0; b < C; b++)
                for (r = 0; r < 16; r++) {
                    if (es == 4) ((float *)(void *)g)[ck__x16f_at(to, C, (int)r, b)] = ((const float *)(void *)tmp)[r * C + b];
                    else ((uint16_t *)(void *)g)[ck__x16f_at(to, C, (int)r, b)] = ((const uint16_t *)(void *)tmp)[r * C + b];
                }
        }
        CK_FREE(tmp);
        return 0;
    }
    if (!ck__is_x16(to) || OC < 0 || OC % 16 || C <= 0 || C % CK_QK || nbr > ((int64_t)1 << 26)) return -1;
    bsz = ck__x16_bsz(to);
    gbytes = (size_t)(16 * nbr) * bsz;
    tmp = (uint8_t *)CK_MALLOC(gbytes);
    if (!tmp) return -1;
    for (i = 0; i < OC / 16; i++) { /* each group of 16 rows in place: the same bytes, reordered */
        g = (uint8_t *)w + (size_t)i * gbytes;
        memcpy(tmp, g, gbytes);
        for (b = 0; b < nbr; b++)
            for (r = 0; r < 16; r++) ck__x16_copy(g + (size_t)b * 16 * bsz, tmp + (size_t)(r * nbr + b) * bsz, (int)r, bsz, 1);
    }
    CK_FREE(tmp);
    return 0;
}
#endif
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

/* IQ4_NL's 16 levels (ggml's kvalues_iq4nl): a non-linear 4-bit grid, denser near zero */
static const int8_t ck__iq4nl_values[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };

static void ck__dequant_iq4_nl(const void *src, float *y, int64_t nb)
{
    const ck_block_iq4_nl *x = (const ck_block_iq4_nl *)src;
    int64_t i;
    int j;
    for (i = 0; i < nb; i++, y += CK_QK) {
        float d = ck_fp16_to_fp32(x[i].d);
        for (j = 0; j < CK_QK / 2; j++) {
            y[j] = d * (float)ck__iq4nl_values[x[i].qs[j] & 15];
            y[j + CK_QK / 2] = d * (float)ck__iq4nl_values[x[i].qs[j] >> 4];
        }
    }
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
    case CK_IQ4_NL: ck__dequant_iq4_nl(src, dst, n / CK_QK); break;
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

/* ggml's best_index_int8: the index of the level of ck__iq4nl_values nearest to x (ties go up) */
static int ck__iq4nl_index(float x)
{
    const int8_t *v = ck__iq4nl_values;
    int lo = 0, hi = 15;
    if (x <= v[0]) return 0;
    if (x >= v[15]) return 15;
    while (hi - lo > 1) { /* v[lo] <= x < v[hi] */
        int mid = (lo + hi) / 2;
        if (x < v[mid]) hi = mid;
        else lo = mid;
    }
    return x - v[hi - 1] < v[hi] - x ? hi - 1 : hi;
}

/* IQ4_NL as ggml's quantize_iq4_nl without an importance matrix (what llama-quantize writes;
   ggml's quantize_row_iq4_nl_ref is the same with ntry = -1, no search): per block, weights
   x^2, the scale max/127 and 15 trial scales (itry - 127)/max, each fitted by weighted least
   squares, the best kept; then every value's nearest level at that (fp32) scale. A block with
   amax < 1e-15 gets d = 0 and index 8 (level 1) everywhere, as ggml's code does. Like the other
   formats, bit-identical to ggml built without FP contraction; a gcc -std=gnu11 build on an FMA
   target fuses w*q*x into the sums and picks another scale in ~0.15% of N(0,1) blocks. */
static void ck__quant_iq4_nl(const float *x, void *dst, int64_t nb)
{
    CK__FP_EXACT
    const int ntry = 7;
    ck_block_iq4_nl *y = (ck_block_iq4_nl *)dst;
    float weight[CK_QK];
    uint8_t L[CK_QK];
    int64_t i;
    int j, itry;
    for (i = 0; i < nb; i++, x += CK_QK) {
        float amax = 0, max = 0, d = 0, id;
        for (j = 0; j < CK_QK; j++) {
            weight[j] = x[j] * x[j];
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        }
        if (amax >= 1e-15f) { /* ggml's GROUP_MAX_EPS */
            float sumqx = 0, sumq2 = 0, best;
            d = -max / (float)ck__iq4nl_values[0];
            id = 1 / d;
            for (j = 0; j < CK_QK; j++) {
                float q = (float)ck__iq4nl_values[ck__iq4nl_index(id * x[j])];
                sumqx += weight[j] * q * x[j];
                sumq2 += weight[j] * q * q;
            }
            d = sumqx / sumq2;
            best = d * sumqx;
            for (itry = -ntry; itry <= ntry; itry++) {
                id = (float)(itry + ck__iq4nl_values[0]) / max;
                sumqx = sumq2 = 0;
                for (j = 0; j < CK_QK; j++) {
                    float q = (float)ck__iq4nl_values[ck__iq4nl_index(id * x[j])];
                    sumqx += weight[j] * q * x[j];
                    sumq2 += weight[j] * q * q;
                }
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    d = sumqx / sumq2;
                    best = d * sumqx;
                }
            }
        }
        y[i].d = ck_fp32_to_fp16(d);
        id = d != 0.0f ? 1 / d : 0.0f;
        for (j = 0; j < CK_QK; j++) L[j] = (uint8_t)ck__iq4nl_index(id * x[j]);
        for (j = 0; j < CK_QK / 2; j++) y[i].qs[j] = (uint8_t)(L[j] | L[j + CK_QK / 2] << 4);
    }
}

CK_DEF size_t ck_quantize_row(int type, const float *src, void *dst, int64_t n)
{
    size_t bytes = ck_row_size(type, n);
    int64_t i;
    if (!bytes) return 0;
    if (ck_type_block_size(type) > 1)
        for (i = 0; i < n; i++)
            if (!(src[i] - src[i] == 0.0f)) return 0; /* NaN or +-Inf (x - x is NaN for both) */
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
    case CK_IQ4_NL: ck__quant_iq4_nl(src, dst, n / CK_QK); break;
    default: return 0;
    }
    return bytes;
}

/* ---- fast path: activation blocks and integer dot products (scalar reference) -------------- */

/* x86's cvtps2dq after roundps to nearest: ties to even; NaN and |v| >= 2^31 give INT32_MIN (the
   "integer indefinite"). Adding and removing 2^23 rounds |v| < 2^23 to an integer in the default
   rounding mode (no product here, nothing a compiler could fuse). */
static inline int32_t ck__round_x86(float v)
{
    CK__FP_EXACT
    const float big = 8388608.0f;
    if (!(fabsf(v) < 2147483648.0f)) return INT32_MIN;
    if (fabsf(v) >= big) return (int32_t)v;
    return (int32_t)(v < 0 ? (v - big) + big : (v + big) - big);
}

/* Activation blocks for the legacy formats and IQ4_NL, as ggml's x86 quantize_row_q8_0 and
   quantize_row_q8_1 (its AVX2 and AVX code; llama.cpp on any x86 with AVX runs them): d = amax/127
   stored as fp16, q = round-half-even(x * id) with id = 127/amax (not 1/d: the two differ in the
   last bit for some amax), saturated to int8 as the pack instructions do; Q8_1 adds
   s = fp16(d * sum q). (A block with amax < 127/FLT_MAX has id = inf: every q is -128 and d = 0,
   exactly as there.) The K-quants take ck__quant_q8_K, ggml's quantize_row_q8_K_ref, which its
   x86 backend also calls. */
static void ck__quant_act_q8_01_scalar(const float *x, void *dst, int n, int with_sum)
{
    CK__FP_EXACT
    int b, j;
    for (b = 0; b < n / CK_QK; b++, x += CK_QK) {
        ck_block_q8_0 *y0 = (ck_block_q8_0 *)dst + b;
        ck_block_q8_1 *y1 = (ck_block_q8_1 *)dst + b;
        int8_t *qs = with_sum ? y1->qs : y0->qs;
        float amax = 0.0f, d, id;
        uint32_t sum = 0; /* wraps like the int32 vector adds */
        for (j = 0; j < CK_QK; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        d = amax / 127.0f;
        id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (j = 0; j < CK_QK; j++) {
            int32_t q = ck__round_x86(x[j] * id);
            sum += (uint32_t)q;
            qs[j] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
        }
        if (with_sum) {
            y1->d = ck_fp32_to_fp16(d);
            y1->s = ck_fp32_to_fp16(d * (float)(int32_t)sum);
        } else {
            y0->d = ck_fp32_to_fp16(d);
        }
    }
}
static void ck__quant_act_q8_0_scalar(const float *x, void *dst, int n) { ck__quant_act_q8_01_scalar(x, dst, n, 0); }
static void ck__quant_act_q8_1_scalar(const float *x, void *dst, int n) { ck__quant_act_q8_01_scalar(x, dst, n, 1); }
static void ck__quant_act_q8_K_scalar(const float *x, void *dst, int n) { ck__quant_q8_K(x, dst, n / CK_QK_K); }
/* F16 and BF16 weights: the activations rounded to the weight's type, as ggml's fp32_to_fp16_row
   (F16C's cvtps_ph on x86, round to nearest even) and fp32_to_bf16_row (round to nearest even) */
static void ck__quant_act_f16_scalar(const float *x, void *dst, int n)
{
    int i;
    for (i = 0; i < n; i++) ((uint16_t *)dst)[i] = ck_fp32_to_fp16(x[i]);
}
static void ck__quant_act_bf16_scalar(const float *x, void *dst, int n)
{
    int i;
    for (i = 0; i < n; i++) ((uint16_t *)dst)[i] = ck_fp32_to_bf16(x[i]);
}

/* One weight row segment (nb blocks) against na activation rows a[k] (segment of the same
   columns): res[k] = sum over blocks of the block's dot product. Integer sums per block, then as
   ggml: (fp16 d_w * fp16 d_a) * sum, plus fp16 m_w * fp16 s_a with a min; the AVX2 kernels
   compute the same integers and products and add them in another order. */
typedef void (*ck__qdot_fn)(const void *w, const void *const *a, int nb, int na, float *res);
/* Tile kernels: nw (1..4) weight row segments w, w + ldw, ... (ldw in bytes) against na (1..4)
   activation rows a[0..3] (a[k] for k >= na repeats a row, so a kernel may compute it);
   res[4 * i + k] = weight row i . activation row k for i < nw, k < na. A kernel must not read
   weight rows at or beyond nw. Every (i, k) must be the same sequence of operations whatever nw
   and na are: which rows share a tile depends on the thread count, the result must not. */
typedef void (*ck__qtile_fn)(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res);
static ck__qtile_fn ck__qtile_kernel(int type, int simd);

static void ck__qdot_q4_0_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q4_0 *w = (const ck_block_q4_0 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck_block_q8_0 *a = (const ck_block_q8_0 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++)
                sumi += ((w[b].qs[j] & 15) - 8) * a[b].qs[j] + ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + CK_QK / 2];
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi;
        }
        res[k] = sum;
    }
}

static void ck__qdot_q4_1_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q4_1 *w = (const ck_block_q4_1 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck_block_q8_1 *a = (const ck_block_q8_1 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++) sumi += (w[b].qs[j] & 15) * a[b].qs[j] + (w[b].qs[j] >> 4) * a[b].qs[j + CK_QK / 2];
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi + ck_fp16_to_fp32(w[b].m) * ck_fp16_to_fp32(a[b].s);
        }
        res[k] = sum;
    }
}

static void ck__qdot_q5_0_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q5_0 *w = (const ck_block_q5_0 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck_block_q8_0 *a = (const ck_block_q8_0 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            uint32_t qh = ck__le32(w[b].qh);
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++) {
                int q0 = (int)((w[b].qs[j] & 15) | ((qh >> j) & 1) << 4), q1 = (int)((w[b].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
                sumi += (q0 - 16) * a[b].qs[j] + (q1 - 16) * a[b].qs[j + CK_QK / 2];
            }
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi;
        }
        res[k] = sum;
    }
}

static void ck__qdot_q5_1_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q5_1 *w = (const ck_block_q5_1 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck_block_q8_1 *a = (const ck_block_q8_1 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            uint32_t qh = ck__le32(w[b].qh);
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++) {
                int q0 = (int)((w[b].qs[j] & 15) | ((qh >> j) & 1) << 4), q1 = (int)((w[b].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
                sumi += q0 * a[b].qs[j] + q1 * a[b].qs[j + CK_QK / 2];
            }
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi + ck_fp16_to_fp32(w[b].m) * ck_fp16_to_fp32(a[b].s);
        }
        res[k] = sum;
    }
}

static void ck__qdot_q8_0_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q8_0 *w = (const ck_block_q8_0 *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck_block_q8_0 *a = (const ck_block_q8_0 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int sumi = 0;
            for (j = 0; j < CK_QK; j++) sumi += w[b].qs[j] * a[b].qs[j];
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi;
        }
        res[k] = sum;
    }
}

static void ck__qdot_iq4_nl_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_iq4_nl *w = (const ck_block_iq4_nl *)vw;
    int k, b, j;
    for (k = 0; k < na; k++) {
        const ck_block_q8_0 *a = (const ck_block_q8_0 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int sumi = 0;
            for (j = 0; j < CK_QK / 2; j++)
                sumi += ck__iq4nl_values[w[b].qs[j] & 15] * a[b].qs[j] + ck__iq4nl_values[w[b].qs[j] >> 4] * a[b].qs[j + CK_QK / 2];
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi;
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
        const ck_block_q8_0 *a = (const ck_block_q8_0 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int32_t sumi = vmladavq_s8(vld1q_s8(w[b].qs), vld1q_s8(a[b].qs));
            sumi = vmladavaq_s8(sumi, vld1q_s8(w[b].qs + 16), vld1q_s8(a[b].qs + 16));
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi;
        }
        res[k] = sum;
    }
}
static void ck__qdot_q4_0_mve(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q4_0 *w = (const ck_block_q4_0 *)vw;
    int k, b;
    for (k = 0; k < na; k++) {
        const ck_block_q8_0 *a = (const ck_block_q8_0 *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            uint8x16_t q = vld1q_u8(w[b].qs);
            int8x16_t lo = vsubq_n_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(15))), 8);
            int8x16_t hi = vsubq_n_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), 8);
            int32_t sumi = vmladavq_s8(lo, vld1q_s8(a[b].qs));
            sumi = vmladavaq_s8(sumi, hi, vld1q_s8(a[b].qs + 16));
            sum += ck_fp16_to_fp32(w[b].d) * ck_fp16_to_fp32(a[b].d) * (float)sumi;
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

/* Q2_K x Q8_K (ggml's vec_dot_q2_K_q8_K): d * ad * sum_g sc_g (q . a)_g  -  dmin * ad * sum_g m_g bsum_g
   over the 16 groups of 16 (q in 0..3, sc_g and m_g the low and high nibbles of scales[g]) */
static void ck__qdot_q2_K_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q2_K *w = (const ck_block_q2_K *)vw;
    int k, b, g, l;
    for (k = 0; k < na; k++) {
        const ck_block_q8_K *a = (const ck_block_q8_K *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int isum = 0, imin = 0;
            for (g = 0; g < 16; g++) { /* values 16g + l: qs[32 (g/8) + 16 (g%2) + l], bits 2 ((g%8)/2) */
                const uint8_t *qs = w[b].qs + 32 * (g / 8) + 16 * (g % 2);
                int shift = 2 * ((g % 8) / 2), dot = 0;
                for (l = 0; l < 16; l++) dot += ((qs[l] >> shift) & 3) * a[b].qs[16 * g + l];
                isum += (w[b].scales[g] & 15) * dot;
                imin += (w[b].scales[g] >> 4) * a[b].bsums[g];
            }
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)isum - ck_fp16_to_fp32(w[b].dmin) * a[b].d * (float)imin;
        }
        res[k] = sum;
    }
}

/* Q3_K x Q8_K (ggml's vec_dot_q3_K_q8_K): d * ad * sum_g s_g (q . a)_g over the 16 groups of 16,
   q = low 2 bits - (hmask bit ? 0 : 4) in -4..3, s_g = ck__scale_q3_K in -32..31 */
static void ck__qdot_q3_K_scalar(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q3_K *w = (const ck_block_q3_K *)vw;
    int k, b, g, l;
    for (k = 0; k < na; k++) {
        const ck_block_q8_K *a = (const ck_block_q8_K *)va[k];
        float sum = 0.0f;
        for (b = 0; b < nb; b++) {
            int isum = 0;
            for (g = 0; g < 16; g++) { /* value 16g + l: hmask[16 (g%2) + l], bit g/2 */
                const uint8_t *qs = w[b].qs + 32 * (g / 8) + 16 * (g % 2), *hm = w[b].hmask + 16 * (g % 2);
                int shift = 2 * ((g % 8) / 2), dot = 0;
                for (l = 0; l < 16; l++) dot += (((qs[l] >> shift) & 3) - (((hm[l] >> (g / 2)) & 1) ? 0 : 4)) * a[b].qs[16 * g + l];
                isum += ck__scale_q3_K(w[b].scales, g) * dot;
            }
            sum += ck_fp16_to_fp32(w[b].d) * a[b].d * (float)isum;
        }
        res[k] = sum;
    }
}

/* F16 x F16 and BF16 x BF16 (ggml's vec_dot_f16 / vec_dot_bf16, after the activations were rounded
   to the weight's type): the product of two halves (or two bf16) is exact in fp32, so only the
   order of the float sums differs from ggml's. nb counts values. */
static void ck__qdot_h16_scalar(const void *vw, const void *const *va, int nb, int na, float *res, int bf)
{
    const uint16_t *w = (const uint16_t *)vw;
    int k, i;
    for (k = 0; k < na; k++) {
        const uint16_t *a = (const uint16_t *)va[k];
        float sum = 0.0f;
        if (bf) for (i = 0; i < nb; i++) sum += ck_bf16_to_fp32(w[i]) * ck_bf16_to_fp32(a[i]);
        else    for (i = 0; i < nb; i++) sum += ck_fp16_to_fp32(w[i]) * ck_fp16_to_fp32(a[i]);
        res[k] = sum;
    }
}
static void ck__qdot_f16_scalar(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_h16_scalar(w, a, nb, na, res, 0); }
static void ck__qdot_bf16_scalar(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_h16_scalar(w, a, nb, na, res, 1); }

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

static void ck__dequant_iq4_nl_avx2(const void *src, float *y, int64_t nb)
{
    const ck_block_iq4_nl *x = (const ck_block_iq4_nl *)src;
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)ck__iq4nl_values));
    int64_t i;
    for (i = 0; i < nb; i++, y += CK_QK) {
        __m256 d = _mm256_set1_ps(ck__h2f(x[i].d));
        ck__i8x32_to_f32_avx2(y, _mm256_shuffle_epi8(levels, ck__nibbles_avx2(x[i].qs)), d, d);
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

/* returns 1 where it has its own path for type, 0 where it ran the scalar code (the tests report
   a comparison of the scalar code with itself as not applicable) */
static int ck__dequant_avx2(int type, const void *src, float *dst, int64_t n)
{
    switch (type) {
    case CK_F16: ck__dequant_f16_avx2(src, dst, n); break;
    case CK_BF16: ck__dequant_bf16_avx2(src, dst, n); break;
    case CK_Q4_0: ck__dequant_q4_0_avx2(src, dst, n / CK_QK); break;
    case CK_Q4_1: ck__dequant_q4_1_avx2(src, dst, n / CK_QK); break;
    case CK_Q5_0: ck__dequant_q5_0_avx2(src, dst, n / CK_QK); break;
    case CK_Q5_1: ck__dequant_q5_1_avx2(src, dst, n / CK_QK); break;
    case CK_Q8_0: ck__dequant_q8_0_avx2(src, dst, n / CK_QK); break;
    case CK_IQ4_NL: ck__dequant_iq4_nl_avx2(src, dst, n / CK_QK); break;
    case CK_Q4_K: ck__dequant_q45_K_avx2(src, dst, n / CK_QK_K, 0); break;
    case CK_Q5_K: ck__dequant_q45_K_avx2(src, dst, n / CK_QK_K, 1); break;
    case CK_Q6_K: ck__dequant_q6_K_avx2(src, dst, n / CK_QK_K); break;
    default: ck__dequant_scalar(type, src, dst, n);
        return 0;
    }
    return 1;
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

/* ck__quant_act_q8_01_scalar's bytes: ggml's AVX2 quantize_row_q8_0 / _q8_1 arithmetic */
static void ck__quant_act_q8_01_avx2(const float *x, void *dst, int n, int with_sum)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    int b;
    for (b = 0; b < n / CK_QK; b++, x += CK_QK) {
        ck_block_q8_0 *y0 = (ck_block_q8_0 *)dst + b;
        ck_block_q8_1 *y1 = (ck_block_q8_1 *)dst + b;
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24), vid;
        __m256i i0, i1, i2, i3;
        float amax = ck__hmax_avx2(_mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3))));
        float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
        vid = _mm256_set1_ps(id);
#define CK__RNE(v) _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v, vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
        i0 = CK__RNE(v0);
        i1 = CK__RNE(v1);
        i2 = CK__RNE(v2);
        i3 = CK__RNE(v3);
#undef CK__RNE
        if (with_sum) {
            y1->d = ck_fp32_to_fp16(d);
            y1->s = ck_fp32_to_fp16(d * (float)ck__hsum_i32_avx2(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3))));
        } else {
            y0->d = ck_fp32_to_fp16(d);
        }
        _mm256_storeu_si256((__m256i *)(void *)(with_sum ? y1->qs : y0->qs), ck__pack_i32x32_avx2(i0, i1, i2, i3));
    }
}
static void ck__quant_act_q8_0_avx2(const float *x, void *dst, int n) { ck__quant_act_q8_01_avx2(x, dst, n, 0); }
static void ck__quant_act_q8_1_avx2(const float *x, void *dst, int n) { ck__quant_act_q8_01_avx2(x, dst, n, 1); }

#if defined(__F16C__)
/* ck__quant_act_f16_scalar's bits for finite values (cvtps_ph, round to nearest even, as ggml's
   fp32_to_fp16_row; a NaN keeps its payload here) */
static void ck__quant_act_f16_avx2(const float *x, void *dst, int n)
{
    uint16_t *y = (uint16_t *)dst;
    int i;
    for (i = 0; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = ck_fp32_to_fp16(x[i]);
}
#endif

/* ck__quant_act_bf16_scalar's bits (ck_fp32_to_bf16: round to nearest even, a NaN kept and made
   quiet), 16 values per step in integer lanes */
static void ck__quant_act_bf16_avx2(const float *x, void *dst, int n)
{
    uint16_t *y = (uint16_t *)dst;
    const __m256i one = _mm256_set1_epi32(1), half = _mm256_set1_epi32(0x7fff), quiet = _mm256_set1_epi32(64);
    const __m256i absm = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    int i;
    for (i = 0; i + 16 <= n; i += 16) {
        __m256i r[2];
        int h;
        for (h = 0; h < 2; h++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(x + i + 8 * h));
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(v, absm), inf);
            __m256i rn = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(v, half), _mm256_and_si256(_mm256_srli_epi32(v, 16), one)), 16);
            r[h] = _mm256_blendv_epi8(rn, _mm256_or_si256(_mm256_srli_epi32(v, 16), quiet), nan);
        }
        /* packus works per 128-bit lane: 0..65535 fit; then put the quarters back in order */
        _mm256_storeu_si256((__m256i *)(void *)(y + i), _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xd8));
    }
    for (; i < n; i++) y[i] = ck_fp32_to_bf16(x[i]);
}

#if !CK_HAVE_AVX512 /* AVX-512 builds take ck__quant_act_q8_K_avx512 */
/* ck__quant_q8_K's bytes (ggml's reference): q = MIN(127, nearest(iscale * x)) stored as int8 by
   truncation (only the inf / NaN products of a block with |max| < 127/FLT_MAX leave -127..127;
   nearest_int and cvtps2dq both give them a zero low byte) */
static void ck__quant_act_q8_K_avx2(const float *x, void *dst, int n)
{
    ck_block_q8_K *y = (ck_block_q8_K *)dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i q127 = _mm256_set1_epi32(127), low = _mm256_set1_epi32(255);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
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
            __m256i i[4], p;
            for (l = 0; l < 4; l++) {
                __m256 v = _mm256_round_ps(_mm256_mul_ps(vis, _mm256_loadu_ps(x + j + 8 * l)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                i[l] = _mm256_and_si256(_mm256_min_epi32(q127, _mm256_cvtps_epi32(v)), low); /* the low byte, 0..255 */
            }
            p = _mm256_packus_epi16(_mm256_packus_epi32(i[0], i[1]), _mm256_packus_epi32(i[2], i[3]));
            _mm256_storeu_si256((__m256i *)(void *)(y[b].qs + j), _mm256_permutevar8x32_epi32(p, order));
        }
        for (j = 0; j < CK_QK_K / 16; j++) {
            int sum = 0;
            for (l = 0; l < 16; l++) sum += y[b].qs[16 * j + l];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}
#endif

/* ---- AVX2: integer dot products ----------------------------------------------------------
   Each kernel takes one weight row segment against 1 or 4 activation rows (na > 1 means 4:
   the caller repeats a row for the missing ones); the weight block is unpacked once for all.
   Every row k keeps its own 8-lane accumulator, updated in the same order whatever na is,
   so a row's result does not depend on how rows are grouped. */

#define CK__QDOT_ROWS(STEP) do { acc0 = STEP(acc0, 0); if (na > 1) { acc1 = STEP(acc1, 1); acc2 = STEP(acc2, 2); acc3 = STEP(acc3, 3); } } while (0)
#define CK__QDOT_RESULT() do { res[0] = ck__hsum(acc0); if (na > 1) { res[1] = ck__hsum(acc1); res[2] = ck__hsum(acc2); res[3] = ck__hsum(acc3); } } while (0)

/* signed weights w (|w| <= 128, wabs = |w|) . Q8_0 block: acc += (dw * a.d) * sum, lane-wise. The
   sign trick negates a where w < 0; an activation of -128 (only in a block with d = 0) would
   wrap there, as in ggml's AVX2 kernels. */
static inline __m256 ck__acc_q8s_avx2(__m256 acc, __m256i wabs, __m256i w, const ck_block_q8_0 *a, __m256 dw)
{
    __m256i p = _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(ck__load256(a->qs), w)); /* |w| * (a * sign w): pairs, exact */
    __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    return _mm256_fmadd_ps(s, _mm256_mul_ps(dw, _mm256_set1_ps(ck__h2f(a->d))), acc);
}

/* unsigned weights w (<= 31) with a min . Q8_1 block: acc += (dw * a.d) * sum + m * a.s (m0: the min in lane 0) */
static inline __m256 ck__acc_q8u_avx2(__m256 acc, __m256i w, __m256 m0, const ck_block_q8_1 *a, __m256 dw)
{
    __m256i p = _mm256_maddubs_epi16(w, ck__load256(a->qs));
    __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    acc = _mm256_fmadd_ps(s, _mm256_mul_ps(dw, _mm256_set1_ps(ck__h2f(a->d))), acc);
    return _mm256_fmadd_ps(m0, _mm256_set1_ps(ck__h2f(a->s)), acc);
}

#define CK__STEP_S(acc, k) ck__acc_q8s_avx2(acc, wabs, wq, (const ck_block_q8_0 *)a[k] + b, dw)
#define CK__STEP_U(acc, k) ck__acc_q8u_avx2(acc, wq, m0, (const ck_block_q8_1 *)a[k] + b, dw)

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
/* K-quant x Q8_K (AVX2): acc += d_w * d_a * isum - dmin_w * d_a * (mins . bsums), ggml's per-superblock formula */
#define CK__FINISH_DMIN(acc, s, ak)                                                                   \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * ak->d), acc);                 \
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(ck__load256(ak->bsums), mins)),   \
                               _mm256_set1_ps(dmin * ak->d), acc)
static void ck__qdot_iq4_nl_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_iq4_nl *w = (const ck_block_iq4_nl *)vw;
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)ck__iq4nl_values));
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b;
    for (b = 0; b < nb; b++) { /* the nibbles index the 16 levels: one byte shuffle */
        __m256i wq = _mm256_shuffle_epi8(levels, ck__nibbles_avx2(w[b].qs)), wabs = _mm256_sign_epi8(wq, wq);
        __m256 dw = _mm256_set1_ps(ck__h2f(w[b].d));
        CK__QDOT_ROWS(CK__STEP_S);
    }
    CK__QDOT_RESULT();
}
#undef CK__STEP_S
#undef CK__STEP_U

/* ---- tile kernels: Q4_0, Q5_0, Q8_0, IQ4_NL (x Q8_0) and Q4_1, Q5_1 (x Q8_1) ---------------
   4 weight rows x 1..4 activation rows per call. For each (weight row i, activation row k) and
   block: the exact integer dot product S of the block's 32 values, then, as ck__qdot_*_scalar,
   sum = sum + (d_w * d_a) * (float)S (Q4_1, Q5_1: (d_w * d_a) * S + m_w * s_a added to sum):
   the scalar kernels' float operations in their order, in one vector lane per (i, k), so a result
   does not depend on the tile it lands in (and equals the scalar kernel's wherever the compiler
   does not contract the scalar expression into an FMA). Since S is exact, how it is summed is
   free: the paths below differ in that only. Each weight block is unpacked once per tile.
   AVX2 (and the AVX-512 build's odd last block): the 32 products of one (i, k) leave the
   multiplier as 8 int32 lanes; two rounds of hadd fold the 4 weight rows into [rows 0..3: first
   16 values | rows 0..3: last 16], the halves are added, and one conversion, two multiplies and
   one add serve the 4 rows. |w| . (a signed like w) by maddubs + madd (ggml's sign trick; the
   unsigned Q4_1 / Q5_1 values go in directly); with VNNI, vpdpbusd (u8 x s8) on the weights made
   unsigned by an offset c (Q4_0 w + 8, Q5_0 w + 16, Q8_0 and IQ4_NL w + 128), the lanes starting
   at -c times the sums of the activation bytes. AVX-512: two blocks per register; decode (one
   activation row) as just said, then unpack/add folds of the 4 rows; 2..4 activation rows: the
   4 rows' blocks transposed (4 bytes of each row side by side), the activations + 128 (unsigned)
   broadcast 4 bytes at a time, lanes starting at -128 times the rows' byte sums (computed once
   per tile, not per activation row), so each lane ends with one (i, k) sum and nothing is folded;
   the float work then runs on two activation rows per 512-bit register. Software prefetch
   (CK__QTILE_PREFETCH) brings in the rows CK__QTILE_PF further on: decode reads 4 rows at once,
   which the hardware prefetchers follow worse than the one stream of the per-row kernels. */
#ifndef CK__QTILE_PF
#define CK__QTILE_PF 8
#endif
/* prefetch for the block(s) at byte offset o of the rows: where the tile's rows are whole and
   adjacent (decode: one segment per row), the next rows as one stream, 4 bytes per byte consumed
   (what the hardware prefetchers follow best); else each row's bytes CK__QTILE_PF rows further */
#define CK__QTILE_PREFETCH(o, step)                                                                   \
    do {                                                                                              \
        if (lin) {                                                                                    \
            const char *p_ = w0 + pf + 4 * (o);                                                       \
            size_t j_;                                                                                \
            for (j_ = 0; j_ < 4 * (step); j_ += 64) _mm_prefetch(p_ + j_, _MM_HINT_T0);               \
        } else {                                                                                      \
            _mm_prefetch(w0 + pf + (o), _MM_HINT_T0);                                                 \
            _mm_prefetch(w1 + pf + (o), _MM_HINT_T0);                                                 \
            _mm_prefetch(w2 + pf + (o), _MM_HINT_T0);                                                 \
            _mm_prefetch(w3 + pf + (o), _MM_HINT_T0);                                                 \
        }                                                                                             \
    } while (0)
#define CK__QTILE_BSZ(type) ((type) == CK_Q4_0 ? sizeof(ck_block_q4_0) : (type) == CK_Q5_0 ? sizeof(ck_block_q5_0) : (type) == CK_Q8_0 ? sizeof(ck_block_q8_0) \
                             : (type) == CK_IQ4_NL ? sizeof(ck_block_iq4_nl) : (type) == CK_Q4_1 ? sizeof(ck_block_q4_1) : sizeof(ck_block_q5_1))

static inline __m128 ck__h2f_x4(uint16_t a, uint16_t b, uint16_t c, uint16_t d)
{
#if defined(__F16C__)
    return _mm_cvtph_ps(_mm_setr_epi16((short)a, (short)b, (short)c, (short)d, 0, 0, 0, 0));
#else
    return _mm_setr_ps(ck__h2f(a), ck__h2f(b), ck__h2f(c), ck__h2f(d));
#endif
}

/* block b of a weight row as 32 bytes in the activations' order (values 0..15, then 16..31), and
   its d (and m): the signed values for Q4_0, Q5_0, Q8_0, IQ4_NL with sgn, else those plus the
   offset c (unsigned); Q4_1, Q5_1 are unsigned anyway. levels: IQ4_NL's table (+ 128 without sgn) */
CK__FORCE_INLINE __m256i ck__wblock_avx2(int type, int sgn, const char *blk, __m256i levels)
{
    switch (type) {
    case CK_Q4_0: {
        __m256i n = ck__nibbles_avx2(((const ck_block_q4_0 *)(const void *)blk)->qs);
        return sgn ? _mm256_sub_epi8(n, _mm256_set1_epi8(8)) : n;
    }
    case CK_Q5_0: { /* with sgn: q - 16 = nibble, or nibble | 0xF0 (nibble - 16) when bit 4 is clear */
        const ck_block_q5_0 *x = (const ck_block_q5_0 *)(const void *)blk;
        __m256i bits = ck__bits_to_bytes_avx2(ck__le32(x->qh)), n = ck__nibbles_avx2(x->qs);
        return sgn ? _mm256_or_si256(n, _mm256_andnot_si256(bits, _mm256_set1_epi8((char)0xF0))) : _mm256_or_si256(n, _mm256_and_si256(bits, _mm256_set1_epi8(16)));
    }
    case CK_Q8_0: {
        __m256i q = ck__load256(((const ck_block_q8_0 *)(const void *)blk)->qs);
        return sgn ? q : _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80));
    }
    case CK_IQ4_NL: return _mm256_shuffle_epi8(levels, ck__nibbles_avx2(((const ck_block_iq4_nl *)(const void *)blk)->qs));
    case CK_Q4_1: return ck__nibbles_avx2(((const ck_block_q4_1 *)(const void *)blk)->qs);
    default: { /* CK_Q5_1 */
        const ck_block_q5_1 *x = (const ck_block_q5_1 *)(const void *)blk;
        return _mm256_or_si256(ck__nibbles_avx2(x->qs), _mm256_and_si256(ck__bits_to_bytes_avx2(ck__le32(x->qh)), _mm256_set1_epi8(16)));
    }
    }
}

/* the 4 weight blocks . one activation block (32 int8 at aq): [S_0..S_3 over values 0..15 |
   S_0..S_3 over values 16..31] */
CK__FORCE_INLINE __m256i ck__qsum4_avx2(int sgn, int c, __m256i w0, __m256i w1, __m256i w2, __m256i w3, __m256i u0, __m256i u1, __m256i u2, __m256i u3,
                                        const int8_t *aq, __m256i cvec)
{
    __m256i av = ck__load256(aq), p0, p1, p2, p3;
#if CK_HAVE_AVX512
    __m256i c0 = _mm256_setzero_si256();
    (void)sgn; (void)u0; (void)u1; (void)u2; (void)u3;
    if (c) c0 = _mm256_sub_epi32(c0, _mm256_dpbusd_epi32(c0, cvec, av));
    p0 = _mm256_dpbusd_epi32(c0, w0, av);
    p1 = _mm256_dpbusd_epi32(c0, w1, av);
    p2 = _mm256_dpbusd_epi32(c0, w2, av);
    p3 = _mm256_dpbusd_epi32(c0, w3, av);
#else
    const __m256i ones = _mm256_set1_epi16(1);
    (void)cvec; (void)c;
    if (sgn) { /* u = |w| */
        p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(u0, _mm256_sign_epi8(av, w0)), ones);
        p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(u1, _mm256_sign_epi8(av, w1)), ones);
        p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(u2, _mm256_sign_epi8(av, w2)), ones);
        p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(u3, _mm256_sign_epi8(av, w3)), ones);
    } else {
        p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(w0, av), ones);
        p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(w1, av), ones);
        p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(w2, av), ones);
        p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(w3, av), ones);
    }
#endif
    return _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
}

/* the activation block's d (Q8_1: and s) */
#define CK__AD(k) (mn ? ((const ck_block_q8_1 *)a[k])[b].d : ((const ck_block_q8_0 *)a[k])[b].d)
#define CK__AQ(k) (mn ? ((const ck_block_q8_1 *)a[k])[b].qs : ((const ck_block_q8_0 *)a[k])[b].qs)
#define CK__AS(k) (((const ck_block_q8_1 *)a[k])[b].s)

static inline uint16_t ck__u16at(const char *p) { return *(const uint16_t *)(const void *)p; }

CK__FORCE_INLINE void ck__qtile_x86(int type, const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res)
{
    const int mn = type == CK_Q4_1 || type == CK_Q5_1; /* with a min, Q8_1 activations */
    const int sgn = !CK_HAVE_AVX512 && !mn;
    const int c = type == CK_Q4_0 ? 8 : type == CK_Q5_0 ? 16 : type == CK_Q8_0 || type == CK_IQ4_NL ? 128 : 0;
    const __m256i cvec = _mm256_set1_epi8((char)(c == 128 ? -128 : c));
    const size_t bsz = CK__QTILE_BSZ(type), pf = CK__QTILE_PF * ldw;
    const int lin = nw == 4 && (size_t)nb * bsz == ldw;
    /* rows >= nw: the last one again */
    const char *w0 = (const char *)w, *w1 = w0 + (nw > 1 ? ldw : 0), *w2 = w0 + (size_t)CK_MIN(2, nw - 1) * ldw, *w3 = w0 + (size_t)CK_MIN(3, nw - 1) * ldw;
    __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)ck__iq4nl_values));
    __m128 acc0 = _mm_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    float r[4];
    int b, i;
    if (!sgn) levels = _mm256_xor_si256(levels, _mm256_set1_epi8((char)0x80));
    for (b = 0; b < nb; b++) {
        const size_t o = (size_t)b * bsz;
        __m256i q0, q1, q2, q3, u0, u1, u2, u3, s;
        __m128 dwv, mwv = _mm_setzero_ps(), t;
        CK__QTILE_PREFETCH(o, bsz);
        q0 = ck__wblock_avx2(type, sgn, w0 + o, levels);
        q1 = ck__wblock_avx2(type, sgn, w1 + o, levels);
        q2 = ck__wblock_avx2(type, sgn, w2 + o, levels);
        q3 = ck__wblock_avx2(type, sgn, w3 + o, levels);
        u0 = sgn ? _mm256_sign_epi8(q0, q0) : q0;
        u1 = sgn ? _mm256_sign_epi8(q1, q1) : q1;
        u2 = sgn ? _mm256_sign_epi8(q2, q2) : q2;
        u3 = sgn ? _mm256_sign_epi8(q3, q3) : q3;
        dwv = ck__h2f_x4(ck__u16at(w0 + o), ck__u16at(w1 + o), ck__u16at(w2 + o), ck__u16at(w3 + o)); /* d: the first field */
        if (mn) mwv = ck__h2f_x4(ck__u16at(w0 + o + 2), ck__u16at(w1 + o + 2), ck__u16at(w2 + o + 2), ck__u16at(w3 + o + 2)); /* m: the second */
#define CK__TSTEP(acc, k)                                                                                                        \
        s = ck__qsum4_avx2(sgn, c, q0, q1, q2, q3, u0, u1, u2, u3, CK__AQ(k), cvec);                                                \
        t = _mm_mul_ps(_mm_mul_ps(dwv, _mm_set1_ps(ck__h2f(CK__AD(k)))), _mm_cvtepi32_ps(_mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)))); \
        if (mn) t = _mm_add_ps(t, _mm_mul_ps(mwv, _mm_set1_ps(ck__h2f(CK__AS(k)))));                                           \
        acc = _mm_add_ps(acc, t)
        CK__TSTEP(acc0, 0);
        if (na > 1) {
            CK__TSTEP(acc1, 1);
            CK__TSTEP(acc2, 2);
            CK__TSTEP(acc3, 3);
        }
#undef CK__TSTEP
    }
    _mm_storeu_ps(r, acc0);
    for (i = 0; i < 4; i++) res[4 * i] = r[i];
    if (na > 1) {
        _mm_storeu_ps(r, acc1);
        for (i = 0; i < 4; i++) res[4 * i + 1] = r[i];
        _mm_storeu_ps(r, acc2);
        for (i = 0; i < 4; i++) res[4 * i + 2] = r[i];
        _mm_storeu_ps(r, acc3);
        for (i = 0; i < 4; i++) res[4 * i + 3] = r[i];
    }
}
#undef CK__AD
#undef CK__AQ
#undef CK__AS

#if CK_HAVE_AVX512
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
/* g++ 12 reports the deliberately undefined upper bits of GCC's own AVX-512 casts, broadcasts
   and masked builtins as (maybe) uninitialized once they are inlined; up to the kernels' definitions */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
/* AVX-512 VNNI: two blocks per 512-bit register. A weight row's blocks b, b + 1 as one register
   in the order [b: values 0..15 | b + 1: 0..15 | b: 16..31 | b + 1: 16..31] (the nibbles' natural
   order; the activations are permuted to match), made unsigned by the offset c as above. */
/* 16 bytes at p and 16 at q -> [p | q | p >> 4 | q >> 4] & 15 */
static inline __m512i ck__nibbles2_avx512(const uint8_t *p, const uint8_t *q)
{
    __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p)), _mm_loadu_si128((const __m128i *)(const void *)q), 1);
    return _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(t), _mm256_srli_epi16(t, 4), 1), _mm512_set1_epi8(15));
}

/* the Q5 fifth bits of blocks x, y in the register order above */
static inline __mmask64 ck__bits2_avx512(const uint8_t *qhx, const uint8_t *qhy)
{
    uint64_t x = ck__le32(qhx), y = ck__le32(qhy);
    return (__mmask64)((x & 0xFFFF) | (y & 0xFFFF) << 16 | (x >> 16) << 32 | (y >> 16) << 48);
}

/* blocks x, y of a weight row (the tile kernel: consecutive ones) as one register in the order above */
CK__FORCE_INLINE __m512i ck__wblock2_avx512(int type, const char *vx, const char *vy, __m512i levels)
{
#define CK__WB(T) const T *x = (const T *)(const void *)vx, *y = (const T *)(const void *)vy
    switch (type) {
    case CK_Q4_0: {
        CK__WB(ck_block_q4_0);
        return ck__nibbles2_avx512(x->qs, y->qs);
    }
    case CK_Q5_0: {
        CK__WB(ck_block_q5_0);
        __m512i n = ck__nibbles2_avx512(x->qs, y->qs);
        return _mm512_mask_add_epi8(n, ck__bits2_avx512(x->qh, y->qh), n, _mm512_set1_epi8(16));
    }
    case CK_Q8_0: {
        CK__WB(ck_block_q8_0);
        __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(ck__load256(x->qs)), ck__load256(y->qs), 1);
        return _mm512_xor_si512(_mm512_shuffle_i64x2(q, q, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8((char)0x80));
    }
    case CK_IQ4_NL: {
        CK__WB(ck_block_iq4_nl);
        return _mm512_shuffle_epi8(levels, ck__nibbles2_avx512(x->qs, y->qs));
    }
    case CK_Q4_1: {
        CK__WB(ck_block_q4_1);
        return ck__nibbles2_avx512(x->qs, y->qs);
    }
    default: { /* CK_Q5_1 */
        CK__WB(ck_block_q5_1);
        __m512i n = ck__nibbles2_avx512(x->qs, y->qs);
        return _mm512_mask_add_epi8(n, ck__bits2_avx512(x->qh, y->qh), n, _mm512_set1_epi8(16));
    }
    }
#undef CK__WB
}

/* 4 weight rows (2 blocks each) . activation blocks b, b + 1 at ap (in the weights' order):
   [b: S_0..S_3 | b + 1: S_0..S_3], exact */
/* 4 weight rows (2 blocks each) . activation blocks b, b + 1 at ap0, ap1, exact: per 128-bit lane
   [S_0..S_3], the lanes holding b's first 16 values, b + 1's, b's last 16, b + 1's */
CK__FORCE_INLINE __m512i ck__qrows4x2_avx512(int c, __m512i w0, __m512i w1, __m512i w2, __m512i w3, const void *ap0, const void *ap1, __m512i cvec)
{
    __m512i av = _mm512_inserti64x4(_mm512_castsi256_si512(ck__load256(ap0)), ck__load256(ap1), 1), c0 = _mm512_setzero_si512(), p0, p1, p2, p3, t01, t23;
    av = _mm512_shuffle_i64x2(av, av, _MM_SHUFFLE(3, 1, 2, 0));
    if (c) c0 = _mm512_sub_epi32(c0, _mm512_dpbusd_epi32(c0, cvec, av));
    p0 = _mm512_dpbusd_epi32(c0, w0, av);
    p1 = _mm512_dpbusd_epi32(c0, w1, av);
    p2 = _mm512_dpbusd_epi32(c0, w2, av);
    p3 = _mm512_dpbusd_epi32(c0, w3, av);
    t01 = _mm512_add_epi32(_mm512_unpacklo_epi32(p0, p1), _mm512_unpackhi_epi32(p0, p1));
    t23 = _mm512_add_epi32(_mm512_unpacklo_epi32(p2, p3), _mm512_unpackhi_epi32(p2, p3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(t01, t23), _mm512_unpackhi_epi64(t01, t23));
}

/* The same sums from the weights transposed to [row 0..3 of dword j] per 128-bit lane (T0..T3,
   signed bytes) and the activation bytes + 128 (unsigned), each dword j broadcast in its lane:
   the lanes start at nc = -128 * (the row's byte sums), so no reduction follows and the
   correction is shared by the tile's activation rows. */
CK__FORCE_INLINE __m512i ck__qrowsT_avx512(__m512i t0, __m512i t1, __m512i t2, __m512i t3, __m512i nc, const void *ap0, const void *ap1)
{
    __m512i av = _mm512_inserti64x4(_mm512_castsi256_si512(ck__load256(ap0)), ck__load256(ap1), 1), v;
    av = _mm512_xor_si512(_mm512_shuffle_i64x2(av, av, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8((char)0x80));
    v = _mm512_dpbusd_epi32(nc, _mm512_shuffle_epi32(av, _MM_PERM_AAAA), t0);
    v = _mm512_dpbusd_epi32(v, _mm512_shuffle_epi32(av, _MM_PERM_BBBB), t1);
    v = _mm512_dpbusd_epi32(v, _mm512_shuffle_epi32(av, _MM_PERM_CCCC), t2);
    return _mm512_dpbusd_epi32(v, _mm512_shuffle_epi32(av, _MM_PERM_DDDD), t3);
}

/* 8 fp16 -> 8 floats (AVX512F's conversion: no F16C needed) */
static inline __m256 ck__h2f8_avx512(__m128i h) { return _mm512_castps512_ps256(_mm512_cvtph_ps(_mm256_castsi128_si256(h))); }

/* fp16 values x, y, z, u, each repeated in 4 lanes, as floats */
static inline __m512 ck__h2f_4x4_avx512(uint16_t x, uint16_t y, uint16_t z, uint16_t u)
{
    __m128 f = _mm512_castps512_ps128(_mm512_cvtph_ps(_mm256_castsi128_si256(_mm_setr_epi16((short)x, (short)y, (short)z, (short)u, 0, 0, 0, 0))));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), _mm512_castps128_ps512(f));
}

/* fp16 values x (lanes 0..3) and y (lanes 4..7) as floats */
static inline __m256 ck__h2f_2x4(uint16_t x, uint16_t y)
{
    return ck__h2f8_avx512(_mm_unpacklo_epi64(_mm_set1_epi16((short)x), _mm_set1_epi16((short)y)));
}
#define CK__ABLK(k, bb) (mn ? (const void *)((const ck_block_q8_1 *)a[k] + (bb)) : (const void *)((const ck_block_q8_0 *)a[k] + (bb)))
#define CK__AQ2(k, bb) (mn ? (const void *)((const ck_block_q8_1 *)a[k])[bb].qs : (const void *)((const ck_block_q8_0 *)a[k])[bb].qs)
#define CK__AD2(k, bb) (mn ? ((const ck_block_q8_1 *)a[k])[bb].d : ((const ck_block_q8_0 *)a[k])[bb].d)

CK__FORCE_INLINE void ck__qtile_avx512(int type, const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res)
{
    const int mn = type == CK_Q4_1 || type == CK_Q5_1;
    const int c = type == CK_Q4_0 ? 8 : type == CK_Q5_0 ? 16 : type == CK_Q8_0 || type == CK_IQ4_NL ? 128 : 0;
    const __m512i cvec = _mm512_set1_epi8((char)(c == 128 ? -128 : c));
    const __m512i levels = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)ck__iq4nl_values)), _mm512_set1_epi8((char)0x80));
    const size_t bsz = CK__QTILE_BSZ(type), pf = CK__QTILE_PF * ldw;
    const int lin = nw == 4 && (size_t)nb * bsz == ldw;
    const char *w0 = (const char *)w, *w1 = w0 + (nw > 1 ? ldw : 0), *w2 = w0 + (size_t)CK_MIN(2, nw - 1) * ldw, *w3 = w0 + (size_t)CK_MIN(3, nw - 1) * ldw;
    __m128 acc0 = _mm_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    __m512 acc01 = _mm512_setzero_ps(), acc23 = acc01;
    float r[16];
    int b, i, k, nk = na == 1 ? 1 : 4;
    for (b = 0; b + 2 <= nb; b += 2) {
        const size_t o = (size_t)b * bsz;
        __m512i q0, q1, q2, q3;
        __m256 dwv, mwv = _mm256_setzero_ps();
        CK__QTILE_PREFETCH(o, 2 * bsz);
        q0 = ck__wblock2_avx512(type, w0 + o, w0 + o + bsz, levels);
        q1 = ck__wblock2_avx512(type, w1 + o, w1 + o + bsz, levels);
        q2 = ck__wblock2_avx512(type, w2 + o, w2 + o + bsz, levels);
        q3 = ck__wblock2_avx512(type, w3 + o, w3 + o + bsz, levels);
        /* d (the first field) of [b: rows 0..3 | b + 1: rows 0..3]; m (the second) likewise */
        dwv = ck__h2f8_avx512(_mm_setr_epi16((short)ck__u16at(w0 + o), (short)ck__u16at(w1 + o), (short)ck__u16at(w2 + o), (short)ck__u16at(w3 + o),
                                             (short)ck__u16at(w0 + o + bsz), (short)ck__u16at(w1 + o + bsz), (short)ck__u16at(w2 + o + bsz), (short)ck__u16at(w3 + o + bsz)));
        if (mn)
            mwv = ck__h2f8_avx512(_mm_setr_epi16((short)ck__u16at(w0 + o + 2), (short)ck__u16at(w1 + o + 2), (short)ck__u16at(w2 + o + 2), (short)ck__u16at(w3 + o + 2),
                                                 (short)ck__u16at(w0 + o + bsz + 2), (short)ck__u16at(w1 + o + bsz + 2), (short)ck__u16at(w2 + o + bsz + 2), (short)ck__u16at(w3 + o + bsz + 2)));
        if (na == 1) {
            __m512i v = ck__qrows4x2_avx512(c, q0, q1, q2, q3, CK__AQ2(0, b), CK__AQ2(0, b + 1), cvec);
            __m256i s = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)); /* [b: rows | b + 1: rows] */
            __m256 t = _mm256_mul_ps(_mm256_mul_ps(dwv, ck__h2f_2x4(CK__AD2(0, b), CK__AD2(0, b + 1))), _mm256_cvtepi32_ps(s));
            if (mn) t = _mm256_add_ps(t, _mm256_mul_ps(mwv, ck__h2f_2x4(((const ck_block_q8_1 *)a[0])[b].s, ((const ck_block_q8_1 *)a[0])[b + 1].s)));
            acc0 = _mm_add_ps(_mm_add_ps(acc0, _mm256_castps256_ps128(t)), _mm256_extractf128_ps(t, 1));
        } else { /* two activation rows at a time: [k: b | k: b + 1 | k + 1: b | k + 1: b + 1] */
            const __m512 dw16 = _mm512_insertf32x8(_mm512_castps256_ps512(dwv), dwv, 1), mw16 = _mm512_insertf32x8(_mm512_castps256_ps512(mwv), mwv, 1);
            const __m512i x80 = _mm512_set1_epi8((char)0x80), cb = _mm512_set1_epi8((char)c);
            __m512i t0, t1, t2, t3, u0, u1, u2, u3, nc = _mm512_setzero_si512();
            if (c == 128) { /* the signed weights again */
                q0 = _mm512_xor_si512(q0, x80); q1 = _mm512_xor_si512(q1, x80); q2 = _mm512_xor_si512(q2, x80); q3 = _mm512_xor_si512(q3, x80);
            } else if (c) {
                q0 = _mm512_sub_epi8(q0, cb); q1 = _mm512_sub_epi8(q1, cb); q2 = _mm512_sub_epi8(q2, cb); q3 = _mm512_sub_epi8(q3, cb);
            }
            u0 = _mm512_unpacklo_epi32(q0, q1);
            u1 = _mm512_unpackhi_epi32(q0, q1);
            u2 = _mm512_unpacklo_epi32(q2, q3);
            u3 = _mm512_unpackhi_epi32(q2, q3);
            t0 = _mm512_unpacklo_epi64(u0, u2);
            t1 = _mm512_unpackhi_epi64(u0, u2);
            t2 = _mm512_unpacklo_epi64(u1, u3);
            t3 = _mm512_unpackhi_epi64(u1, u3);
            nc = _mm512_sub_epi32(nc, _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_dpbusd_epi32(nc, x80, t0), x80, t1), x80, t2), x80, t3));
#define CK__TSTEP2(acc, k)                                                                                                       \
            {                                                                                                                    \
                __m512i v0 = ck__qrowsT_avx512(t0, t1, t2, t3, nc, CK__AQ2(k, b), CK__AQ2(k, b + 1));                           \
                __m512i v1 = ck__qrowsT_avx512(t0, t1, t2, t3, nc, CK__AQ2(k + 1, b), CK__AQ2(k + 1, b + 1));                   \
                __m512i s = _mm512_add_epi32(_mm512_shuffle_i64x2(v0, v1, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_i64x2(v0, v1, _MM_SHUFFLE(3, 2, 3, 2))); \
                __m512 t = _mm512_mul_ps(_mm512_mul_ps(dw16, ck__h2f_4x4_avx512(CK__AD2(k, b), CK__AD2(k, b + 1), CK__AD2(k + 1, b), CK__AD2(k + 1, b + 1))), \
                                         _mm512_cvtepi32_ps(s));                                                                 \
                if (mn) {                                                                                                        \
                    const ck_block_q8_1 *x_ = (const ck_block_q8_1 *)a[k] + b, *y_ = (const ck_block_q8_1 *)a[k + 1] + b;       \
                    t = _mm512_add_ps(t, _mm512_mul_ps(mw16, ck__h2f_4x4_avx512(x_[0].s, x_[1].s, y_[0].s, y_[1].s)));           \
                }                                                                                                                \
                acc = _mm512_add_ps(_mm512_add_ps(acc, t), _mm512_shuffle_f32x4(t, t, _MM_SHUFFLE(3, 3, 1, 1)));                \
            }
            CK__TSTEP2(acc01, 0)
            CK__TSTEP2(acc23, 2)
#undef CK__TSTEP2
        }
    }
    if (na > 1) { /* lanes 0 and 2 of acc01, acc23 */
        acc0 = _mm512_castps512_ps128(acc01);
        acc1 = _mm512_extractf32x4_ps(acc01, 2);
        acc2 = _mm512_castps512_ps128(acc23);
        acc3 = _mm512_extractf32x4_ps(acc23, 2);
    }
    _mm_storeu_ps(r, acc0);
    _mm_storeu_ps(r + 4, acc1);
    _mm_storeu_ps(r + 8, acc2);
    _mm_storeu_ps(r + 12, acc3);
    for (i = 0; i < 4; i++)
        for (k = 0; k < nk; k++) res[4 * i + k] = r[4 * k + i];
    if (b < nb) { /* an odd last block: the one-block kernel gives its terms (0 + t = t), added in order */
        const void *al[4];
        for (k = 0; k < 4; k++) al[k] = CK__ABLK(k, b);
        ck__qtile_x86(type, (const char *)w + (size_t)b * bsz, ldw, nw, al, 1, na, r);
        for (i = 0; i < 4; i++)
            for (k = 0; k < nk; k++) res[4 * i + k] += r[4 * i + k];
    }
}
#undef CK__ABLK
#undef CK__AQ2
#undef CK__AD2
#endif

#if CK_HAVE_AVX512
#define CK__QTILE_NAME(t) ck__qtile_##t##_avx512
#define CK__QTILE_IMPL ck__qtile_avx512
#else
#define CK__QTILE_NAME(t) ck__qtile_##t##_avx2
#define CK__QTILE_IMPL ck__qtile_x86
#endif
#define CK__QTILE_DEF(t, TYPE)                                                                                    \
    static void CK__QTILE_NAME(t)(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) \
    { CK__QTILE_IMPL(TYPE, w, ldw, nw, a, nb, na, res); }
CK__QTILE_DEF(q4_0, CK_Q4_0)
CK__QTILE_DEF(q5_0, CK_Q5_0)
CK__QTILE_DEF(q8_0, CK_Q8_0)
CK__QTILE_DEF(iq4_nl, CK_IQ4_NL)
CK__QTILE_DEF(q4_1, CK_Q4_1)
CK__QTILE_DEF(q5_1, CK_Q5_1)
#undef CK__QTILE_DEF
#undef CK__QTILE_IMPL
#if CK_HAVE_AVX512 && defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic pop
#endif

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
        CK__FINISH_DMIN(acc0, s0, a0);
        if (na > 1) { CK__FINISH_DMIN(acc1, s1, a1); CK__FINISH_DMIN(acc2, s2, a2); CK__FINISH_DMIN(acc3, s3, a3); }
    }
    CK__QDOT_RESULT();
}
static void ck__qdot_q4_K_avx2(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_avx2(w, a, nb, na, res, 0); }
static void ck__qdot_q5_K_avx2(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_avx2(w, a, nb, na, res, 1); }

/* the 16 int8 group scales of a 256-value super-block as int16, even groups in the low 128-bit
   lane and odd ones in the high lane: shuffled with ck__bcast16[i] they give, lane by lane, the
   scales of groups 2i and 2i + 1, the two halves of the 32 values 32i .. 32i + 31 */
static inline __m256i ck__even_odd_epi16_avx2(__m128i sc8)
{
    const __m128i even_odd = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, even_odd));
}

/* Q6_K: per row, sum_g sc_g (q_u . a)_g - 32 sum_g sc_g bsum_g in 8 int32 lanes (q_u = q + 32,
   unsigned, for maddubs), then acc += (d * ad) * that */
static void ck__qdot_q6_K_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q6_K *w = (const ck_block_q6_K *)vw;
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b, h, k;
    for (b = 0; b < nb; b++) {
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0] + b, *a1 = (const ck_block_q8_K *)a[na > 1 ? 1 : 0] + b;
        const ck_block_q8_K *a2 = (const ck_block_q8_K *)a[na > 1 ? 2 : 0] + b, *a3 = (const ck_block_q8_K *)a[na > 1 ? 3 : 0] + b;
        __m128i sc8 = _mm_loadu_si128((const __m128i *)(const void *)w[b].scales);
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8);                                  /* sc_g, g = 0..15, for the bsums */
        __m256i sc_eo = ck__even_odd_epi16_avx2(sc8);                            /* even groups | odd groups */
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
/* Q2_K: per row, sum_g sc_g (q . a)_g in 8 int32 lanes (q in 0..3, unsigned for maddubs), then
   acc += (d * ad) * that - (dmin * ad) * (m_g . bsums), as ggml's AVX2 kernel */
static void ck__qdot_q2_K_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q2_K *w = (const ck_block_q2_K *)vw;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b, i;
    for (b = 0; b < nb; b++) {
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0] + b, *a1 = (const ck_block_q8_K *)a[na > 1 ? 1 : 0] + b;
        const ck_block_q8_K *a2 = (const ck_block_q8_K *)a[na > 1 ? 2 : 0] + b, *a3 = (const ck_block_q8_K *)a[na > 1 ? 3 : 0] + b;
        __m128i sm = _mm_loadu_si128((const __m128i *)(const void *)w[b].scales);
        __m256i sc_eo = ck__even_odd_epi16_avx2(_mm_and_si128(sm, m4));
        __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sm, 4), m4)); /* m_g, g = 0..15 */
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        float d = ck__h2f(w[b].d), dmin = ck__h2f(w[b].dmin);
        for (i = 0; i < 8; i++) { /* 32 values 32i + l: qs[32 (i/4) + l], bits 2 (i%4); groups 2i, 2i + 1 */
            __m256i q = _mm256_and_si256(_mm256_srli_epi16(ck__load256(w[b].qs + 32 * (i / 4)), 2 * (i % 4)), m3);
            __m256i scv = _mm256_shuffle_epi8(sc_eo, ck__load256(ck__bcast16[i]));
#define CK__STEP_2(s, ak) s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(q, ck__load256(ak->qs + 32 * i)), scv))
            CK__STEP_2(s0, a0);
            if (na > 1) { CK__STEP_2(s1, a1); CK__STEP_2(s2, a2); CK__STEP_2(s3, a3); }
#undef CK__STEP_2
        }
        CK__FINISH_DMIN(acc0, s0, a0);
        if (na > 1) { CK__FINISH_DMIN(acc1, s1, a1); CK__FINISH_DMIN(acc2, s2, a2); CK__FINISH_DMIN(acc3, s3, a3); }
    }
    CK__QDOT_RESULT();
}
#undef CK__FINISH_DMIN

/* Q3_K: per row, sum_g s_g (q . a)_g in 8 int32 lanes, q = low - high with low the 2 bits (0..3)
   and high = 4 where the hmask bit is clear (two unsigned maddubs, subtracted: exact in int16),
   then acc += (d * ad) * that, as ggml's AVX2 kernel. (The sign trick of the Q8_0 kernels would
   wrap on Q8_K's -128, which its quantizer produces.) */
static void ck__qdot_q3_K_avx2(const void *vw, const void *const *a, int nb, int na, float *res)
{
    const ck_block_q3_K *w = (const ck_block_q3_K *)vw;
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int b, i, g;
    for (b = 0; b < nb; b++) {
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0] + b, *a1 = (const ck_block_q8_K *)a[na > 1 ? 1 : 0] + b;
        const ck_block_q8_K *a2 = (const ck_block_q8_K *)a[na > 1 ? 2 : 0] + b, *a3 = (const ck_block_q8_K *)a[na > 1 ? 3 : 0] + b;
        int8_t sc8[16];
        __m256i sc_eo, hclear = _mm256_andnot_si256(ck__load256(w[b].hmask), _mm256_set1_epi8(-1));
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        float d = ck__h2f(w[b].d);
        for (g = 0; g < 16; g++) sc8[g] = (int8_t)ck__scale_q3_K(w[b].scales, g);
        sc_eo = ck__even_odd_epi16_avx2(_mm_loadu_si128((const __m128i *)(const void *)sc8));
        for (i = 0; i < 8; i++) { /* 32 values 32i + l: qs[32 (i/4) + l] bits 2 (i%4), hmask[l] bit i */
            __m256i lo = _mm256_and_si256(_mm256_srli_epi16(ck__load256(w[b].qs + 32 * (i / 4)), 2 * (i % 4)), m3);
            __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hclear, i), one), 2);
            __m256i scv = _mm256_shuffle_epi8(sc_eo, ck__load256(ck__bcast16[i]));
#define CK__STEP_3(s, ak) do { __m256i aq = ck__load256(ak->qs + 32 * i);                                        \
                s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(lo, aq),             \
                                                                           _mm256_maddubs_epi16(hi, aq)), scv)); } while (0)
            CK__STEP_3(s0, a0);
            if (na > 1) { CK__STEP_3(s1, a1); CK__STEP_3(s2, a2); CK__STEP_3(s3, a3); }
#undef CK__STEP_3
        }
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), _mm256_set1_ps(d * a0->d), acc0);
        if (na > 1) {
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), _mm256_set1_ps(d * a1->d), acc1);
            acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s2), _mm256_set1_ps(d * a2->d), acc2);
            acc3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s3), _mm256_set1_ps(d * a3->d), acc3);
        }
    }
    CK__QDOT_RESULT();
}

/* ---- K-quant tile kernels (ck__qtile_fn): 4 weight rows x 1..4 activation rows -------------
   Per super-block and per pair (weight row i, activation row k): an exact int32 isum (Q4_K /
   Q5_K also imin = sum_j m_j (bsums of sub-block j)); then, in lane 4i + k of a float
   accumulator, acc = fma(float(isum), d_i * ad_k, acc) [, then acc = fnma(float(imin),
   dmin_i * ad_k, acc)]. The integer sums are exact in any order and a pair's float operations
   are the same in a 4 x 4 tile (prefill) and in a 4 x 1 one (decode), whichever rows share the
   tile. Weight rows >= nw alias row 0 (computed, not returned). */
#if defined(__GNUC__) /* the type-generic tile kernels must be specialized per type */
#define CK__ALWAYS_INLINE inline __attribute__((always_inline))
#define CK__UNROLL _Pragma("GCC unroll 16") /* small loops over rows, activations and chunks: registers, not arrays */
#else
#define CK__UNROLL
#define CK__ALWAYS_INLINE inline
#endif
#define CK__TILE_ROWS(wr, vw, ldw, nw) do { int r_; for (r_ = 0; r_ < 4; r_++) (wr)[r_] = (const char *)(vw) + (size_t)(r_ < (nw) ? r_ : 0) * (ldw); } while (0)
/* decode streams the weights: prefetch ahead (a prefetch past the matrix is dropped, nothing is
   read): super-block b of the next tile's rows (4 rows further). Q6_K's decode reads instead a tile's
   rows one after the other with no software prefetch (ck__qtile_q6_K_avx512, ck__qtile_k16_avx2),
   after it had its 4 rows prefetched 2 tiles on as one stream (Zen 5, 1 thread, cold, alternated:
   896 x 4864, Qwen2-0.5B's down, 23 -> 25-33 GB/s against the per-row prefetch below; the rows one
   after the other: 1.15x that). Q4_K's rows as one stream: the same on SmolLM-135M's down, slower on
   Qwen2-0.5B's (19 against 24 GB/s), so the other K-quants keep the per-row form. */
#define CK__TILE_PREFETCH(wr, ldw, off, bytes)                                                                   \
    do {                                                                                                         \
        int p_, l_;                                                                                              \
        for (p_ = 0; p_ < 4; p_++)                                                                               \
            for (l_ = 0; l_ < (int)(bytes); l_ += 64) _mm_prefetch((wr)[p_] + 4 * (ldw) + (off) + l_, _MM_HINT_T0); \
    } while (0)
#define CK__TILE_STORE4(res, acc) do { float o_[4]; _mm_storeu_ps(o_, acc); res[0] = o_[0]; res[4] = o_[1]; res[8] = o_[2]; res[12] = o_[3]; } while (0)

#if CK_HAVE_AVX512
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
/* g++ (12) -Wall flags the self-initialized _mm512_undefined_* of its own AVX-512 intrinsics */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
/* lane j = the sum of the 16 int32 lanes of v[j], j = 0..15 */
static inline __m512i ck__hsum16_epi32_avx512(const __m512i *v)
{
    __m512i t[8], u[4], x01, x23;
    int m;
    CK__UNROLL
    for (m = 0; m < 8; m++) t[m] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * m], v[2 * m + 1]), _mm512_unpackhi_epi32(v[2 * m], v[2 * m + 1]));
    CK__UNROLL
    for (m = 0; m < 4; m++) u[m] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * m], t[2 * m + 1]), _mm512_unpackhi_epi64(t[2 * m], t[2 * m + 1]));
    /* u[m]: every 128-bit lane holds partial sums of v[4m .. 4m + 3] */
    x01 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88), _mm512_shuffle_i32x4(u[0], u[1], 0xdd));
    x23 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[2], u[3], 0x88), _mm512_shuffle_i32x4(u[2], u[3], 0xdd));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(x01, x23, 0x88), _mm512_shuffle_i32x4(x01, x23, 0xdd));
}
/* lane j = the sum of the 16 int32 lanes of v[j], j = 0..3 */
static inline __m128i ck__hsum4_epi32_avx512(const __m512i *v)
{
    __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
    __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
    __m512i u = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
    __m256i y = _mm256_add_epi32(_mm512_castsi512_si256(u), _mm512_extracti64x4_epi64(u, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}
/* lane 4i + k = dw[i] * da[k] */
static inline __m512 ck__rows_x_acts_avx512(const float *dw, const float *da)
{
    const __m512i rep = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return _mm512_mul_ps(_mm512_permutexvar_ps(rep, _mm512_castps128_ps512(_mm_loadu_ps(dw))), _mm512_broadcast_f32x4(_mm_loadu_ps(da)));
}
static inline __m512i ck__load512(const void *p) { return _mm512_loadu_si512(p); }
/* (the zero-masked forms: g++ 12 -Wall warns on the unmasked ones' _mm512_undefined) */
static inline __m512i ck__bcast256_avx512(const void *p) { return _mm512_maskz_broadcast_i64x4((__mmask8)0xff, _mm256_loadu_si256((const __m256i *)p)); }
static inline __m512i ck__zext256_avx512(__m256i v) { return _mm512_maskz_broadcast_i64x4((__mmask8)0x0f, v); }
/* acc + sum of 16-value (or 32-value) group dots x int16 scales: the two vpdpbusd sums of 4
   products each fit int16 (|.| <= 4 * 63 * 128), packed, then vpdpwssd with the scales laid out
   as the pack interleaves the two (per 128-bit lane: 4 dwords of w0's, 4 of w1's) */
static inline __m512i ck__vnni_pair_avx512(__m512i acc, __m512i w0, __m512i w1, const int8_t *a0, const int8_t *a1, __m512i sc)
{
    const __m512i z = _mm512_setzero_si512();
    return _mm512_dpwssd_epi32(acc, _mm512_packs_epi32(_mm512_dpbusd_epi32(z, w0, ck__load512(a0)), _mm512_dpbusd_epi32(z, w1, ck__load512(a1))), sc);
}

/* Q6_K: values 128h + 0..63 (lo) and 128h + 64..127 (hi) as u8 0..63 */
static inline void ck__q6_K_unpack_avx512(const ck_block_q6_K *x, int h, __m512i *lo, __m512i *hi)
{
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    __m512i ql = ck__load512(x->ql + 64 * h), qh = ck__bcast256_avx512(x->qh + 32 * h);
    qh = _mm512_mask_srli_epi16(qh, (__mmask32)0xffff0000u, qh, 2); /* bytes 32..63: the bits of values + 32 */
    *lo = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 4), m30));
    *hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(qh, m30));
}
/* Q6_K group scales for the pack layout (half h: groups 8h + L and 8h + 4 + L in 128-bit lane L)
   and -32 sc_g in the low 16 int16 for the bsums */
static const int16_t ck__q6_K_sc_idx[2][32] = {
    { 0, 0, 0, 0, 4, 4, 4, 4, 1, 1, 1, 1, 5, 5, 5, 5, 2, 2, 2, 2, 6, 6, 6, 6, 3, 3, 3, 3, 7, 7, 7, 7 },
    { 8, 8, 8, 8, 12, 12, 12, 12, 9, 9, 9, 9, 13, 13, 13, 13, 10, 10, 10, 10, 14, 14, 14, 14, 11, 11, 11, 11, 15, 15, 15, 15 } };
static inline void ck__q6_K_scales_avx512(const ck_block_q6_K *x, __m512i *s0, __m512i *s1, __m512i *n32)
{
    __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)x->scales));
    __m512i s = _mm512_castsi256_si512(sc16);
    *s0 = _mm512_permutexvar_epi16(ck__load512(ck__q6_K_sc_idx[0]), s);
    *s1 = _mm512_permutexvar_epi16(ck__load512(ck__q6_K_sc_idx[1]), s);
    *n32 = ck__zext256_avx512(_mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5)));
}
/* the exact int32 sum of a Q6_K super-block x by a Q8_K block ab, spread over 16 lanes */
static inline __m512i ck__q6_K_sb_avx512(const ck_block_q6_K *x, const ck_block_q8_K *ab)
{
    __m512i sc[2], n32, lo, hi, t;
    int h;
    ck__q6_K_scales_avx512(x, &sc[0], &sc[1], &n32);
    t = _mm512_dpwssd_epi32(_mm512_setzero_si512(), ck__bcast256_avx512(ab->bsums), n32);
    CK__UNROLL
    for (h = 0; h < 2; h++) {
        ck__q6_K_unpack_avx512(x, h, &lo, &hi);
        t = ck__vnni_pair_avx512(t, lo, hi, ab->qs + 128 * h, ab->qs + 128 * h + 64, sc[h]);
    }
    return t;
}
/* Decode (na = 1) reads the tile's rows one after the other, each super-block by super-block, so the
   matrix is read as one stream from start to end, which the hardware prefetcher follows (no software
   prefetch); per row acc = fma(S_b, d_w * d_a, acc) over its super-blocks b in order, S_b the exact
   sum: the bits of the 4-row form it replaced (4 rows a super-block side by side, hsum per super-
   block, the next tiles prefetched as one stream). Measured on Zen 5, cold (48 or 200 matrices in 2 MB
   pages), alternated, medians: Qwen2-0.5B's down (896 x 4864) 1 thread 24.6 -> 29.4 GB/s (paired
   1.15x), 2 threads 38.4 -> 46.9 (1.22x); SmolLM-135M's (576 x 1536) equal (1.00x at 1 and 2). */
static void ck__qtile_q6_K_avx512(const void *vw, size_t ldw, int nw, const void *const *a, int nb, int na, float *res)
{
    const char *wr[4];
    int b, i, k, h;
    CK__TILE_ROWS(wr, vw, ldw, nw);
    if (na == 1) { /* decode: one row after the other (see above) */
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0];
        for (i = 0; i < nw; i++) {
            const ck_block_q6_K *xr = (const ck_block_q6_K *)(const void *)wr[i];
            __m128 acc = _mm_setzero_ps();
            for (b = 0; b < nb;) {
                const int nu = nb - b >= 4 ? 4 : 1; /* 4 super-blocks' sums at once, the last ones one by one */
                __m512i s[4];
                float sf[4];
                int u;
                if (nu == 4) {
                    CK__UNROLL
                    for (u = 0; u < 4; u++) s[u] = ck__q6_K_sb_avx512(xr + b + u, a0 + b + u);
                } else {
                    s[0] = ck__q6_K_sb_avx512(xr + b, a0 + b);
                    s[1] = s[2] = s[3] = _mm512_setzero_si512();
                }
                _mm_storeu_ps(sf, _mm_cvtepi32_ps(ck__hsum4_epi32_avx512(s)));
                for (u = 0; u < nu; u++, b++) acc = _mm_fmadd_ss(_mm_set_ss(sf[u]), _mm_set_ss(ck__h2f(xr[b].d) * a0[b].d), acc);
            }
            res[4 * i] = _mm_cvtss_f32(acc);
        }
    } else {
        __m512 acc = _mm512_setzero_ps();
        for (b = 0; b < nb; b++) {
            const ck_block_q6_K *x[4];
            const ck_block_q8_K *ab[4];
            __m512i s[16], sc[4][2], n32[4];
            float dw[4], da[4];
            CK__UNROLL
            for (i = 0; i < 4; i++) {
                x[i] = (const ck_block_q6_K *)(const void *)wr[i] + b;
                ck__q6_K_scales_avx512(x[i], &sc[i][0], &sc[i][1], &n32[i]);
                dw[i] = ck__h2f(x[i]->d);
            }
            CK__UNROLL
            for (k = 0; k < 4; k++) {
                __m512i bs;
                ab[k] = (const ck_block_q8_K *)a[k] + b;
                bs = ck__bcast256_avx512(ab[k]->bsums);
                da[k] = ab[k]->d;
                CK__UNROLL
                for (i = 0; i < 4; i++) s[4 * i + k] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, n32[i]);
            }
            CK__UNROLL
            for (h = 0; h < 2; h++) {
                CK__UNROLL
                for (i = 0; i < 4; i++) {
                    __m512i w0, w1;
                    ck__q6_K_unpack_avx512(x[i], h, &w0, &w1);
                    CK__UNROLL
                    for (k = 0; k < 4; k++)
                        s[4 * i + k] = ck__vnni_pair_avx512(s[4 * i + k], w0, w1, ab[k]->qs + 128 * h, ab[k]->qs + 128 * h + 64, sc[i][h]);
                }
            }
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ck__hsum16_epi32_avx512(s)), ck__rows_x_acts_avx512(dw, da), acc);
        }
        _mm512_storeu_ps(res, acc);
    }
}

/* Q4_K / Q5_K: chunk c = values 64c .. 64c + 63 as u8 (qs[32c + l] low nibbles, then high
   nibbles; Q5_K: bit 4 from qh, qhs = qh with its upper 32 bytes shifted right by 1) */
static inline __m512i ck__q45_K_chunk_avx512(const uint8_t *qs, __m512i qhs, int c, int five)
{
    __m512i q = ck__bcast256_avx512(qs + 32 * c);
    q = _mm512_and_si512(_mm512_mask_srli_epi16(q, (__mmask32)0xffff0000u, q, 4), _mm512_set1_epi8(15));
    if (five) q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qhs, _mm512_set1_epi8((char)(1 << (2 * c)))), q, _mm512_set1_epi8(16));
    return q;
}
/* sub-block scales in the pack layout (chunks 2p, 2p + 1: sub-blocks 4p + L/2 and 4p + 2 + L/2
   in 128-bit lane L), and the mins as int16 pairs (m_j, m_j) in the low 256 bits */
static const int16_t ck__q45_K_sc_idx[3][32] = {
    { 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 3, 3, 3, 3 },
    { 4, 4, 4, 4, 6, 6, 6, 6, 4, 4, 4, 4, 6, 6, 6, 6, 5, 5, 5, 5, 7, 7, 7, 7, 5, 5, 5, 5, 7, 7, 7, 7 },
    { 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } };
static inline void ck__q45_K_scales_avx512(const uint8_t *scales, __m512i *s0, __m512i *s1, __m512i *mins)
{
    __m512i s = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(ck__scales_mins_k4_avx2(scales)));
    *s0 = _mm512_permutexvar_epi16(ck__load512(ck__q45_K_sc_idx[0]), s);
    *s1 = _mm512_permutexvar_epi16(ck__load512(ck__q45_K_sc_idx[1]), s);
    *mins = _mm512_maskz_permutexvar_epi16((__mmask32)0xffffu, ck__load512(ck__q45_K_sc_idx[2]), s);
}
static CK__ALWAYS_INLINE void ck__qtile_q45_K_avx512(const void *vw, size_t ldw, int nw, const void *const *a, int nb, int na, float *res, int five)
{
    const size_t bb = five ? sizeof(ck_block_q5_K) : sizeof(ck_block_q4_K);
    const char *wr[4];
    int b, i, k, p;
    CK__TILE_ROWS(wr, vw, ldw, nw);
    if (na == 1) {
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0];
        __m128 acc = _mm_setzero_ps();
        for (b = 0; b < nb; b++) {
            const ck_block_q8_K *ab = a0 + b;
            __m512i s[4], m[4], bs = ck__bcast256_avx512(ab->bsums);
            float dw[4], dm[4];
            __m128 da = _mm_set1_ps(ab->d);
            CK__TILE_PREFETCH(wr, ldw, b * bb, bb);
            CK__UNROLL
            for (i = 0; i < 4; i++) {
                const ck_block_q4_K *x4 = (const ck_block_q4_K *)(const void *)(wr[i] + b * bb);
                const ck_block_q5_K *x5 = (const ck_block_q5_K *)(const void *)(wr[i] + b * bb);
                const uint8_t *qs = five ? x5->qs : x4->qs;
                __m512i sc[2], mins, qhs = _mm512_setzero_si512();
                if (five) {
                    qhs = ck__bcast256_avx512(x5->qh);
                    qhs = _mm512_mask_srli_epi16(qhs, (__mmask32)0xffff0000u, qhs, 1);
                }
                ck__q45_K_scales_avx512(five ? x5->scales : x4->scales, &sc[0], &sc[1], &mins);
                m[i] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, mins);
                s[i] = _mm512_setzero_si512();
                CK__UNROLL
                for (p = 0; p < 2; p++)
                    s[i] = ck__vnni_pair_avx512(s[i], ck__q45_K_chunk_avx512(qs, qhs, 2 * p, five), ck__q45_K_chunk_avx512(qs, qhs, 2 * p + 1, five),
                                                ab->qs + 128 * p, ab->qs + 128 * p + 64, sc[p]);
                dw[i] = ck__h2f(five ? x5->d : x4->d);
                dm[i] = ck__h2f(five ? x5->dmin : x4->dmin);
            }
            acc = _mm_fmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx512(s)), _mm_mul_ps(_mm_loadu_ps(dw), da), acc);
            acc = _mm_fnmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx512(m)), _mm_mul_ps(_mm_loadu_ps(dm), da), acc);
        }
        CK__TILE_STORE4(res, acc);
    } else {
        __m512 acc = _mm512_setzero_ps();
        for (b = 0; b < nb; b++) {
            const uint8_t *qs[4];
            const ck_block_q8_K *ab[4];
            __m512i s[16], m[16], sc[4][2], mins[4], qhs[4];
            float dw[4], dm[4], da[4];
            CK__UNROLL
            for (i = 0; i < 4; i++) {
                const ck_block_q4_K *x4 = (const ck_block_q4_K *)(const void *)(wr[i] + b * bb);
                const ck_block_q5_K *x5 = (const ck_block_q5_K *)(const void *)(wr[i] + b * bb);
                qs[i] = five ? x5->qs : x4->qs;
                qhs[i] = _mm512_setzero_si512();
                if (five) {
                    qhs[i] = ck__bcast256_avx512(x5->qh);
                    qhs[i] = _mm512_mask_srli_epi16(qhs[i], (__mmask32)0xffff0000u, qhs[i], 1);
                }
                ck__q45_K_scales_avx512(five ? x5->scales : x4->scales, &sc[i][0], &sc[i][1], &mins[i]);
                dw[i] = ck__h2f(five ? x5->d : x4->d);
                dm[i] = ck__h2f(five ? x5->dmin : x4->dmin);
            }
            CK__UNROLL
            for (k = 0; k < 4; k++) {
                ab[k] = (const ck_block_q8_K *)a[k] + b;
                da[k] = ab[k]->d;
                CK__UNROLL
                for (i = 0; i < 4; i++) s[4 * i + k] = _mm512_setzero_si512();
            }
            CK__UNROLL
            for (p = 0; p < 2; p++) {
                CK__UNROLL
                for (i = 0; i < 4; i++) {
                    __m512i w0 = ck__q45_K_chunk_avx512(qs[i], qhs[i], 2 * p, five), w1 = ck__q45_K_chunk_avx512(qs[i], qhs[i], 2 * p + 1, five);
                    CK__UNROLL
                    for (k = 0; k < 4; k++)
                        s[4 * i + k] = ck__vnni_pair_avx512(s[4 * i + k], w0, w1, ab[k]->qs + 128 * p, ab[k]->qs + 128 * p + 64, sc[i][p]);
                }
            }
            CK__UNROLL
            for (k = 0; k < 4; k++) {
                __m512i bs = ck__bcast256_avx512(ab[k]->bsums);
                CK__UNROLL
                for (i = 0; i < 4; i++) m[4 * i + k] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, mins[i]);
            }
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ck__hsum16_epi32_avx512(s)), ck__rows_x_acts_avx512(dw, da), acc);
            acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ck__hsum16_epi32_avx512(m)), ck__rows_x_acts_avx512(dm, da), acc);
        }
        _mm512_storeu_ps(res, acc);
    }
}
static void ck__qtile_q4_K_avx512(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_q45_K_avx512(w, ldw, nw, a, nb, na, res, 0); }
static void ck__qtile_q5_K_avx512(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_q45_K_avx512(w, ldw, nw, a, nb, na, res, 1); }
/* Q2_K / Q3_K: 16 groups of 16 as Q6_K (the same pack layout of the scales). Chunk c = values
   64c .. 64c + 63 as u8: the 2-bit values of qs[32 (c/2) + l] at bits 4 (c%2) (bytes 0..31) and
   4 (c%2) + 2 (bytes 32..63); Q3_K adds 4 where the hmask bit is set (u = q + 4, 0..7; hms =
   hmask with its upper 32 bytes shifted right by 1). */
static inline __m512i ck__q23_K_chunk_avx512(const uint8_t *qs, __m512i hms, int c, int three)
{
    __m512i q = ck__bcast256_avx512(qs + 32 * (c / 2));
    q = _mm512_mask_srli_epi16(q, (__mmask32)0xffff0000u, q, 2);
    q = _mm512_and_si512(_mm512_srli_epi16(q, 4 * (c % 2)), _mm512_set1_epi8(3));
    if (three) q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(hms, _mm512_set1_epi8((char)(1 << (2 * c)))), q, _mm512_set1_epi8(4));
    return q;
}
/* per weight row: the scales in the pack layout (s0: chunks 0, 1; s1: chunks 2, 3) and, in the
   low 16 int16, the bsum coefficients: Q2_K its mins m_g (a separate sum), Q3_K -4 s_g */
static inline void ck__q23_K_scales_avx512(const void *vx, int three, __m512i *s0, __m512i *s1, __m512i *n, __m512i *hms, float *d, float *dmin)
{
    __m256i sc16, nv;
    if (three) {
        const ck_block_q3_K *x = (const ck_block_q3_K *)vx;
        uint32_t a0 = ck__le32(x->scales), a1 = ck__le32(x->scales + 4), w = ck__le32(x->scales + 8), r[4];
        r[0] = (a0 & 0x0f0f0f0fu) | (w & 0x03030303u) << 4;          /* s_0..s_3 + 32 */
        r[1] = (a1 & 0x0f0f0f0fu) | ((w >> 2) & 0x03030303u) << 4;   /* s_4..s_7 */
        r[2] = ((a0 >> 4) & 0x0f0f0f0fu) | ((w >> 4) & 0x03030303u) << 4;
        r[3] = ((a1 >> 4) & 0x0f0f0f0fu) | ((w >> 6) & 0x03030303u) << 4;
        sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)r)), _mm256_set1_epi16(32));
        nv = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 2));
        *hms = ck__bcast256_avx512(x->hmask);
        *hms = _mm512_mask_srli_epi16(*hms, (__mmask32)0xffff0000u, *hms, 1);
        *d = ck__h2f(x->d);
        *dmin = 0.0f;
    } else {
        const ck_block_q2_K *x = (const ck_block_q2_K *)vx;
        __m256i sm = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)x->scales));
        sc16 = _mm256_and_si256(sm, _mm256_set1_epi16(15));
        nv = _mm256_srli_epi16(sm, 4);
        *hms = _mm512_setzero_si512();
        *d = ck__h2f(x->d);
        *dmin = ck__h2f(x->dmin);
    }
    *s0 = _mm512_permutexvar_epi16(ck__load512(ck__q6_K_sc_idx[0]), _mm512_castsi256_si512(sc16));
    *s1 = _mm512_permutexvar_epi16(ck__load512(ck__q6_K_sc_idx[1]), _mm512_castsi256_si512(sc16));
    *n = ck__zext256_avx512(nv);
}
static CK__ALWAYS_INLINE void ck__qtile_q23_K_avx512(const void *vw, size_t ldw, int nw, const void *const *a, int nb, int na, float *res, int three)
{
    const size_t bb = three ? sizeof(ck_block_q3_K) : sizeof(ck_block_q2_K);
    const char *wr[4];
    int b, i, k, p;
    CK__TILE_ROWS(wr, vw, ldw, nw);
    if (na == 1) {
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0];
        __m128 acc = _mm_setzero_ps();
        for (b = 0; b < nb; b++) {
            const ck_block_q8_K *ab = a0 + b;
            __m512i s[4], m[4], bs = ck__bcast256_avx512(ab->bsums);
            float dw[4], dm[4];
            __m128 da = _mm_set1_ps(ab->d);
            CK__TILE_PREFETCH(wr, ldw, b * bb, bb);
            CK__UNROLL
            for (i = 0; i < 4; i++) {
                const char *x = wr[i] + b * bb;
                const uint8_t *qs = three ? ((const ck_block_q3_K *)(const void *)x)->qs : ((const ck_block_q2_K *)(const void *)x)->qs;
                __m512i sc[2], n, hms;
                ck__q23_K_scales_avx512(x, three, &sc[0], &sc[1], &n, &hms, &dw[i], &dm[i]);
                s[i] = _mm512_setzero_si512();
                if (three) s[i] = _mm512_dpwssd_epi32(s[i], bs, n);
                else m[i] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, n);
                CK__UNROLL
                for (p = 0; p < 2; p++)
                    s[i] = ck__vnni_pair_avx512(s[i], ck__q23_K_chunk_avx512(qs, hms, 2 * p, three), ck__q23_K_chunk_avx512(qs, hms, 2 * p + 1, three),
                                                ab->qs + 128 * p, ab->qs + 128 * p + 64, sc[p]);
            }
            acc = _mm_fmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx512(s)), _mm_mul_ps(_mm_loadu_ps(dw), da), acc);
            if (!three) acc = _mm_fnmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx512(m)), _mm_mul_ps(_mm_loadu_ps(dm), da), acc);
        }
        CK__TILE_STORE4(res, acc);
    } else {
        __m512 acc = _mm512_setzero_ps();
        for (b = 0; b < nb; b++) {
            const uint8_t *qs[4];
            const ck_block_q8_K *ab[4];
            __m512i s[16], m[16], sc[4][2], n[4], hms[4];
            float dw[4], dm[4], da[4];
            CK__UNROLL
            for (i = 0; i < 4; i++) {
                const char *x = wr[i] + b * bb;
                qs[i] = three ? ((const ck_block_q3_K *)(const void *)x)->qs : ((const ck_block_q2_K *)(const void *)x)->qs;
                ck__q23_K_scales_avx512(x, three, &sc[i][0], &sc[i][1], &n[i], &hms[i], &dw[i], &dm[i]);
            }
            CK__UNROLL
            for (k = 0; k < 4; k++) {
                __m512i bs;
                ab[k] = (const ck_block_q8_K *)a[k] + b;
                da[k] = ab[k]->d;
                bs = ck__bcast256_avx512(ab[k]->bsums);
                CK__UNROLL
                for (i = 0; i < 4; i++) s[4 * i + k] = three ? _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, n[i]) : _mm512_setzero_si512();
            }
            CK__UNROLL
            for (p = 0; p < 2; p++) {
                CK__UNROLL
                for (i = 0; i < 4; i++) {
                    __m512i w0 = ck__q23_K_chunk_avx512(qs[i], hms[i], 2 * p, three), w1 = ck__q23_K_chunk_avx512(qs[i], hms[i], 2 * p + 1, three);
                    CK__UNROLL
                    for (k = 0; k < 4; k++)
                        s[4 * i + k] = ck__vnni_pair_avx512(s[4 * i + k], w0, w1, ab[k]->qs + 128 * p, ab[k]->qs + 128 * p + 64, sc[i][p]);
                }
            }
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ck__hsum16_epi32_avx512(s)), ck__rows_x_acts_avx512(dw, da), acc);
            if (!three) {
                CK__UNROLL
                for (k = 0; k < 4; k++) {
                    __m512i bs = ck__bcast256_avx512(ab[k]->bsums);
                    CK__UNROLL
                    for (i = 0; i < 4; i++) m[4 * i + k] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, n[i]);
                }
                acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ck__hsum16_epi32_avx512(m)), ck__rows_x_acts_avx512(dm, da), acc);
            }
        }
        _mm512_storeu_ps(res, acc);
    }
}
static void ck__qtile_q2_K_avx512(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_q23_K_avx512(w, ldw, nw, a, nb, na, res, 0); }
static void ck__qtile_q3_K_avx512(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_q23_K_avx512(w, ldw, nw, a, nb, na, res, 1); }
/* ck__quant_q8_K's bytes, 16 values per step: as ck__quant_act_q8_K_avx2 (the low byte of
   MIN(127, round-half-even(iscale * x))); the bsums from the int8 values, one lane per group */
static void ck__quant_act_q8_K_avx512(const float *x, void *dst, int n)
{
    ck_block_q8_K *y = (ck_block_q8_K *)dst;
    const __m512i q127 = _mm512_set1_epi32(127);
    int b, j, l;
    for (b = 0; b < n / CK_QK_K; b++, x += CK_QK_K) {
        __m512 m = _mm512_setzero_ps(), vis;
        __m512i q[16];
        float amax, max = 0.0f, iscale;
        for (j = 0; j < CK_QK_K; j += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
        amax = _mm512_reduce_max_ps(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        for (j = 0; j < CK_QK_K; j += 16) /* the first value of largest magnitude, as the scalar loop finds it */
            if (_mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)), _mm512_set1_ps(amax), _CMP_EQ_OQ)) break;
        for (l = j; l < CK_QK_K; l++)
            if (fabsf(x[l]) == amax) { max = x[l]; break; }
        iscale = -127.0f / max;
        vis = _mm512_set1_ps(iscale);
        CK__UNROLL
        for (j = 0; j < 16; j++) {
            __m512i v = _mm512_min_epi32(q127, _mm512_cvt_roundps_epi32(_mm512_mul_ps(vis, _mm512_loadu_ps(x + 16 * j)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            _mm_storeu_si128((__m128i *)(void *)(y[b].qs + 16 * j), _mm512_cvtepi32_epi8(v));
            q[j] = _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24); /* the stored int8 */
        }
        _mm256_storeu_si256((__m256i *)(void *)y[b].bsums, _mm512_cvtepi32_epi16(ck__hsum16_epi32_avx512(q)));
        y[b].d = 1 / iscale;
    }
}
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif /* CK_HAVE_AVX512 */

#if !CK_HAVE_AVX512 /* the AVX2 tile kernels (AVX-512 builds take the ones above) */
/* lane j = the sum of the 8 int32 lanes of v[j], j = 0..3 */
static inline __m128i ck__hsum4_epi32_avx2(const __m256i *v)
{
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}
/* lane j = the sum of the 8 int32 lanes of v[j], j = 0..7 */
static inline __m256i ck__hsum8_epi32_avx2(const __m256i *v)
{
    __m256i g0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    __m256i g1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20), _mm256_permute2x128_si256(g0, g1, 0x31));
}
/* lane 4i + k = dw[i] * da[k], i = 0..1 */
static inline __m256 ck__rows2_x_acts_avx2(const float *dw, const float *da)
{
    return _mm256_mul_ps(_mm256_setr_ps(dw[0], dw[0], dw[0], dw[0], dw[1], dw[1], dw[1], dw[1]), _mm256_broadcast_ps((const __m128 *)(const void *)da));
}
#define CK__TILE_STORE8(res, acc0, acc1) do { _mm256_storeu_ps(res, acc0); _mm256_storeu_ps(res + 8, acc1); } while (0)

/* Q6_K values 32i .. 32i + 31 (i = 0..7) as u8 0..63, and their group scales (ck__qdot_q6_K_avx2's) */
static inline __m256i ck__q6_K_chunk_avx2(const ck_block_q6_K *x, int i)
{
    int h = i / 4, k = i % 4;
    __m256i ql = ck__load256(x->ql + 64 * h + 32 * (k & 1)), qh = ck__load256(x->qh + 32 * h);
    __m256i lo = _mm256_and_si256(k & 2 ? _mm256_srli_epi16(ql, 4) : ql, _mm256_set1_epi8(15));
    return _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), _mm256_set1_epi8(3)), 4));
}
/* Q6_K (t = 6), Q3_K (t = 3), Q2_K (t = 2): 16 groups of 16; per 32-value chunk i the values as
   u8 (Q6_K q in 0..63; Q3_K u = q + 4 in 0..7; Q2_K q in 0..3) and ck__bcast16[i] of the even/odd
   group scales. Q6_K and Q3_K subtract 32 (4) sum_g sc_g bsum_g; Q2_K's mins are a second sum. */
static inline __m256i ck__k16_chunk_avx2(const void *vx, int t, int i)
{
    if (t == 6) return ck__q6_K_chunk_avx2((const ck_block_q6_K *)vx, i);
    {
        const uint8_t *qs = t == 3 ? ((const ck_block_q3_K *)vx)->qs : ((const ck_block_q2_K *)vx)->qs;
        __m256i q = _mm256_and_si256(_mm256_srli_epi16(ck__load256(qs + 32 * (i / 4)), 2 * (i % 4)), _mm256_set1_epi8(3));
        if (t == 3) q = _mm256_or_si256(q, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(ck__load256(((const ck_block_q3_K *)vx)->hmask), i), _mm256_set1_epi8(1)), 2));
        return q;
    }
}
/* the 16 group scales as int8, the bsum coefficients as int16 (Q6_K -32 sc_g, Q3_K -4 s_g, Q2_K m_g), d, dmin */
static inline void ck__k16_scales_avx2(const void *vx, int t, __m128i *sc8, __m256i *n, float *d, float *dmin)
{
    if (t == 6) {
        const ck_block_q6_K *x = (const ck_block_q6_K *)vx;
        *sc8 = _mm_loadu_si128((const __m128i *)(const void *)x->scales);
        *n = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(*sc8), 5));
        *d = ck__h2f(x->d);
        *dmin = 0.0f;
    } else if (t == 3) {
        const ck_block_q3_K *x = (const ck_block_q3_K *)vx;
        uint32_t a0 = ck__le32(x->scales), a1 = ck__le32(x->scales + 4), w = ck__le32(x->scales + 8), r[4];
        r[0] = (a0 & 0x0f0f0f0fu) | (w & 0x03030303u) << 4;          /* s_g + 32, g = 0..3 */
        r[1] = (a1 & 0x0f0f0f0fu) | ((w >> 2) & 0x03030303u) << 4;   /* g = 4..7 */
        r[2] = ((a0 >> 4) & 0x0f0f0f0fu) | ((w >> 4) & 0x03030303u) << 4;
        r[3] = ((a1 >> 4) & 0x0f0f0f0fu) | ((w >> 6) & 0x03030303u) << 4;
        *sc8 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)r), _mm_set1_epi8(32));
        *n = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(*sc8), 2));
        *d = ck__h2f(x->d);
        *dmin = 0.0f;
    } else {
        const ck_block_q2_K *x = (const ck_block_q2_K *)vx;
        __m128i sm = _mm_loadu_si128((const __m128i *)(const void *)x->scales);
        *sc8 = _mm_and_si128(sm, _mm_set1_epi8(15));
        *n = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sm, 4), _mm_set1_epi8(15)));
        *d = ck__h2f(x->d);
        *dmin = ck__h2f(x->dmin);
    }
}
/* the exact int32 sum (8 lanes) of super-block x (Q6_K or Q3_K, t) by the Q8_K block ab; *dw its d */
static CK__ALWAYS_INLINE __m256i ck__k16_sb_avx2(const char *x, int t, const ck_block_q8_K *ab, float *dw)
{
    __m128i sc8;
    __m256i n, eo, s;
    float dm;
    int c;
    ck__k16_scales_avx2(x, t, &sc8, &n, dw, &dm);
    eo = ck__even_odd_epi16_avx2(sc8);
    s = _mm256_madd_epi16(ck__load256(ab->bsums), n);
    CK__UNROLL
    for (c = 0; c < 8; c++)
        s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(ck__k16_chunk_avx2(x, t, c), ck__load256(ab->qs + 32 * c)),
                                                  _mm256_shuffle_epi8(eo, ck__load256(ck__bcast16[c]))));
    return s;
}
static CK__ALWAYS_INLINE void ck__qtile_k16_avx2(const void *vw, size_t ldw, int nw, const void *const *a, int nb, int na, float *res, int t)
{
    const size_t bb = t == 6 ? sizeof(ck_block_q6_K) : t == 3 ? sizeof(ck_block_q3_K) : sizeof(ck_block_q2_K);
    const char *wr[4];
    int b, i, k, c, r;
    CK__TILE_ROWS(wr, vw, ldw, nw);
    if (na == 1 && t == 6) { /* Q6_K: the rows one after the other, as the AVX-512 kernel (see there) */
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0];
        for (i = 0; i < nw; i++) {
            __m128 acc = _mm_setzero_ps();
            for (b = 0; b < nb;) {
                const int nu = nb - b >= 4 ? 4 : 1; /* 4 super-blocks' sums at once, the last ones one by one */
                __m256i s[4];
                float sf[4], dw[4];
                int u;
                if (nu == 4) {
                    CK__UNROLL
                    for (u = 0; u < 4; u++) s[u] = ck__k16_sb_avx2(wr[i] + (size_t)(b + u) * bb, t, a0 + b + u, &dw[u]);
                } else {
                    s[0] = ck__k16_sb_avx2(wr[i] + (size_t)b * bb, t, a0 + b, &dw[0]);
                    s[1] = s[2] = s[3] = _mm256_setzero_si256();
                }
                _mm_storeu_ps(sf, _mm_cvtepi32_ps(ck__hsum4_epi32_avx2(s)));
                for (u = 0; u < nu; u++, b++) acc = _mm_fmadd_ss(_mm_set_ss(sf[u]), _mm_set_ss(dw[u] * a0[b].d), acc);
            }
            res[4 * i] = _mm_cvtss_f32(acc);
        }
    } else if (na == 1) { /* Q3_K, Q2_K: 4 weight rows, 4 independent chains */
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0];
        __m128 acc = _mm_setzero_ps();
        for (b = 0; b < nb; b++) {
            const ck_block_q8_K *ab = a0 + b;
            __m256i s[4], m[4], bs = ck__load256(ab->bsums);
            float dw[4], dm[4];
            __m128 da = _mm_set1_ps(ab->d);
            CK__TILE_PREFETCH(wr, ldw, b * bb, bb);
            CK__UNROLL
            for (i = 0; i < 4; i++) {
                const char *x = wr[i] + b * bb;
                __m128i sc8;
                __m256i n, eo;
                ck__k16_scales_avx2(x, t, &sc8, &n, &dw[i], &dm[i]);
                eo = ck__even_odd_epi16_avx2(sc8);
                if (t == 2) { m[i] = _mm256_madd_epi16(bs, n); s[i] = _mm256_setzero_si256(); }
                else s[i] = _mm256_madd_epi16(bs, n);
                CK__UNROLL
                for (c = 0; c < 8; c++)
                    s[i] = _mm256_add_epi32(s[i], _mm256_madd_epi16(_mm256_maddubs_epi16(ck__k16_chunk_avx2(x, t, c), ck__load256(ab->qs + 32 * c)),
                                                                    _mm256_shuffle_epi8(eo, ck__load256(ck__bcast16[c]))));
            }
            acc = _mm_fmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx2(s)), _mm_mul_ps(_mm_loadu_ps(dw), da), acc);
            if (t == 2) acc = _mm_fnmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx2(m)), _mm_mul_ps(_mm_loadu_ps(dm), da), acc);
        }
        CK__TILE_STORE4(res, acc);
    } else { /* two passes of 2 weight rows x 4 activation rows: 8 int32 accumulators */
        __m256 acc[2];
        acc[0] = acc[1] = _mm256_setzero_ps();
        for (b = 0; b < nb; b++) {
            const ck_block_q8_K *ab[4];
            float da[4];
            CK__UNROLL
            for (k = 0; k < 4; k++) { ab[k] = (const ck_block_q8_K *)a[k] + b; da[k] = ab[k]->d; }
            CK__UNROLL
            for (r = 0; r < 2; r++) {
                const char *x0 = wr[2 * r] + b * bb, *x1 = wr[2 * r + 1] + b * bb;
                __m128i sc80, sc81;
                __m256i n0, n1, eo0, eo1, s[8];
                float dw[2], dm[2];
                ck__k16_scales_avx2(x0, t, &sc80, &n0, &dw[0], &dm[0]);
                ck__k16_scales_avx2(x1, t, &sc81, &n1, &dw[1], &dm[1]);
                eo0 = ck__even_odd_epi16_avx2(sc80);
                eo1 = ck__even_odd_epi16_avx2(sc81);
                CK__UNROLL
                for (k = 0; k < 4; k++) {
                    __m256i bs = ck__load256(ab[k]->bsums);
                    s[k] = t == 2 ? _mm256_setzero_si256() : _mm256_madd_epi16(bs, n0);
                    s[4 + k] = t == 2 ? _mm256_setzero_si256() : _mm256_madd_epi16(bs, n1);
                }
                CK__UNROLL
                for (c = 0; c < 8; c++) {
                    __m256i q0 = ck__k16_chunk_avx2(x0, t, c), q1 = ck__k16_chunk_avx2(x1, t, c), bc = ck__load256(ck__bcast16[c]);
                    __m256i v0 = _mm256_shuffle_epi8(eo0, bc), v1 = _mm256_shuffle_epi8(eo1, bc);
                    CK__UNROLL
                    for (k = 0; k < 4; k++) {
                        __m256i aq = ck__load256(ab[k]->qs + 32 * c);
                        s[k] = _mm256_add_epi32(s[k], _mm256_madd_epi16(_mm256_maddubs_epi16(q0, aq), v0));
                        s[4 + k] = _mm256_add_epi32(s[4 + k], _mm256_madd_epi16(_mm256_maddubs_epi16(q1, aq), v1));
                    }
                }
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ck__hsum8_epi32_avx2(s)), ck__rows2_x_acts_avx2(dw, da), acc[r]);
                if (t == 2) {
                    CK__UNROLL
                    for (k = 0; k < 4; k++) {
                        __m256i bs = ck__load256(ab[k]->bsums);
                        s[k] = _mm256_madd_epi16(bs, n0);
                        s[4 + k] = _mm256_madd_epi16(bs, n1);
                    }
                    acc[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ck__hsum8_epi32_avx2(s)), ck__rows2_x_acts_avx2(dm, da), acc[r]);
                }
            }
        }
        CK__TILE_STORE8(res, acc[0], acc[1]);
    }
}
static void ck__qtile_q6_K_avx2(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_k16_avx2(w, ldw, nw, a, nb, na, res, 6); }
static void ck__qtile_q3_K_avx2(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_k16_avx2(w, ldw, nw, a, nb, na, res, 3); }
static void ck__qtile_q2_K_avx2(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_k16_avx2(w, ldw, nw, a, nb, na, res, 2); }

/* Q4_K / Q5_K values 64c .. 64c + 31 (*lo) and 64c + 32 .. 64c + 63 (*hi) as u8; qh as loaded,
   shifted right by 2c */
static inline void ck__q45_K_chunk_avx2(const uint8_t *qs, __m256i qh, int c, int five, __m256i *lo, __m256i *hi)
{
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256i q = ck__load256(qs + 32 * c);
    *lo = _mm256_and_si256(q, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    if (five) {
        qh = _mm256_srli_epi16(qh, 2 * c);
        *lo = _mm256_or_si256(*lo, _mm256_slli_epi16(_mm256_and_si256(qh, one), 4));
        *hi = _mm256_or_si256(*hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 1), one), 4));
    }
}
/* sc_0..sc_7 as int16 in both lanes, and (m_j, m_j) int16 pairs for madd with the bsums */
static inline void ck__q45_K_scales_avx2(const uint8_t *scales, __m256i *sc16, __m256i *mins)
{
    __m128i sm = ck__scales_mins_k4_avx2(scales);
    __m256i m = _mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8));
    *sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    *mins = _mm256_or_si256(m, _mm256_slli_epi32(m, 16));
}
static CK__ALWAYS_INLINE void ck__qtile_q45_K_avx2(const void *vw, size_t ldw, int nw, const void *const *a, int nb, int na, float *res, int five)
{
    const size_t bb = five ? sizeof(ck_block_q5_K) : sizeof(ck_block_q4_K);
    const char *wr[4];
    int b, i, k, c, r;
    CK__TILE_ROWS(wr, vw, ldw, nw);
#define CK__Q45_ROW(x4, x5, wp) const ck_block_q4_K *x4 = (const ck_block_q4_K *)(const void *)(wp); \
                                const ck_block_q5_K *x5 = (const ck_block_q5_K *)(const void *)(wp)
    if (na == 1) { /* 4 weight rows, 4 independent chains */
        const ck_block_q8_K *a0 = (const ck_block_q8_K *)a[0];
        __m128 acc = _mm_setzero_ps();
        for (b = 0; b < nb; b++) {
            const ck_block_q8_K *ab = a0 + b;
            __m256i s[4], m[4], bs = ck__load256(ab->bsums);
            float dw[4], dm[4];
            __m128 da = _mm_set1_ps(ab->d);
            CK__TILE_PREFETCH(wr, ldw, b * bb, bb);
            CK__UNROLL
            for (i = 0; i < 4; i++) {
                CK__Q45_ROW(x4, x5, wr[i] + b * bb);
                const uint8_t *qs = five ? x5->qs : x4->qs;
                __m256i sc16, mins, qh = five ? ck__load256(x5->qh) : _mm256_setzero_si256(), lo, hi;
                ck__q45_K_scales_avx2(five ? x5->scales : x4->scales, &sc16, &mins);
                m[i] = _mm256_madd_epi16(bs, mins);
                s[i] = _mm256_setzero_si256();
                CK__UNROLL
                for (c = 0; c < 4; c++) {
                    ck__q45_K_chunk_avx2(qs, qh, c, five, &lo, &hi);
                    s[i] = _mm256_add_epi32(s[i], _mm256_add_epi32(
                        _mm256_madd_epi16(_mm256_maddubs_epi16(lo, ck__load256(ab->qs + 64 * c)), _mm256_shuffle_epi8(sc16, ck__load256(ck__bcast16[2 * c]))),
                        _mm256_madd_epi16(_mm256_maddubs_epi16(hi, ck__load256(ab->qs + 64 * c + 32)), _mm256_shuffle_epi8(sc16, ck__load256(ck__bcast16[2 * c + 1])))));
                }
                dw[i] = ck__h2f(five ? x5->d : x4->d);
                dm[i] = ck__h2f(five ? x5->dmin : x4->dmin);
            }
            acc = _mm_fmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx2(s)), _mm_mul_ps(_mm_loadu_ps(dw), da), acc);
            acc = _mm_fnmadd_ps(_mm_cvtepi32_ps(ck__hsum4_epi32_avx2(m)), _mm_mul_ps(_mm_loadu_ps(dm), da), acc);
        }
        CK__TILE_STORE4(res, acc);
    } else { /* two passes of 2 weight rows x 4 activation rows: 8 int32 accumulators */
        __m256 acc[2];
        acc[0] = acc[1] = _mm256_setzero_ps();
        for (b = 0; b < nb; b++) {
            const ck_block_q8_K *ab[4];
            float da[4];
            CK__UNROLL
            for (k = 0; k < 4; k++) { ab[k] = (const ck_block_q8_K *)a[k] + b; da[k] = ab[k]->d; }
            CK__UNROLL
            for (r = 0; r < 2; r++) {
                CK__Q45_ROW(y4, y5, wr[2 * r] + b * bb);
                CK__Q45_ROW(z4, z5, wr[2 * r + 1] + b * bb);
                const uint8_t *qs0 = five ? y5->qs : y4->qs, *qs1 = five ? z5->qs : z4->qs;
                __m256i sc0, sc1, mins0, mins1, s[8], lo0, hi0, lo1, hi1;
                __m256i qh0 = five ? ck__load256(y5->qh) : _mm256_setzero_si256(), qh1 = five ? ck__load256(z5->qh) : _mm256_setzero_si256();
                float dw[2], dm[2];
                ck__q45_K_scales_avx2(five ? y5->scales : y4->scales, &sc0, &mins0);
                ck__q45_K_scales_avx2(five ? z5->scales : z4->scales, &sc1, &mins1);
                CK__UNROLL
                for (k = 0; k < 8; k++) s[k] = _mm256_setzero_si256();
                CK__UNROLL
                for (c = 0; c < 4; c++) {
                    __m256i bl = ck__load256(ck__bcast16[2 * c]), bh = ck__load256(ck__bcast16[2 * c + 1]);
                    __m256i vl0 = _mm256_shuffle_epi8(sc0, bl), vh0 = _mm256_shuffle_epi8(sc0, bh);
                    __m256i vl1 = _mm256_shuffle_epi8(sc1, bl), vh1 = _mm256_shuffle_epi8(sc1, bh);
                    ck__q45_K_chunk_avx2(qs0, qh0, c, five, &lo0, &hi0);
                    ck__q45_K_chunk_avx2(qs1, qh1, c, five, &lo1, &hi1);
                    CK__UNROLL
                    for (k = 0; k < 4; k++) {
                        __m256i al = ck__load256(ab[k]->qs + 64 * c), ah = ck__load256(ab[k]->qs + 64 * c + 32);
                        s[k] = _mm256_add_epi32(s[k], _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo0, al), vl0),
                                                                       _mm256_madd_epi16(_mm256_maddubs_epi16(hi0, ah), vh0)));
                        s[4 + k] = _mm256_add_epi32(s[4 + k], _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo1, al), vl1),
                                                                               _mm256_madd_epi16(_mm256_maddubs_epi16(hi1, ah), vh1)));
                    }
                }
                dw[0] = ck__h2f(five ? y5->d : y4->d); dw[1] = ck__h2f(five ? z5->d : z4->d);
                dm[0] = ck__h2f(five ? y5->dmin : y4->dmin); dm[1] = ck__h2f(five ? z5->dmin : z4->dmin);
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ck__hsum8_epi32_avx2(s)), ck__rows2_x_acts_avx2(dw, da), acc[r]);
                CK__UNROLL
                for (k = 0; k < 4; k++) {
                    __m256i bs = ck__load256(ab[k]->bsums);
                    s[k] = _mm256_madd_epi16(bs, mins0);
                    s[4 + k] = _mm256_madd_epi16(bs, mins1);
                }
                acc[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ck__hsum8_epi32_avx2(s)), ck__rows2_x_acts_avx2(dm, da), acc[r]);
            }
        }
        CK__TILE_STORE8(res, acc[0], acc[1]);
    }
#undef CK__Q45_ROW
}
static void ck__qtile_q4_K_avx2(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_q45_K_avx2(w, ldw, nw, a, nb, na, res, 0); }
static void ck__qtile_q5_K_avx2(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_q45_K_avx2(w, ldw, nw, a, nb, na, res, 1); }
#endif /* !CK_HAVE_AVX512 */

/* 8 halves (F16C) or 8 bf16 (a shift) to fp32 */
static inline __m256 ck__load_h16x8_avx2(const uint16_t *p, int bf)
{
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
#if defined(__F16C__)
    if (!bf) return _mm256_cvtph_ps(h);
#else
    (void)bf;
#endif
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* F16 x F16 (needs F16C) and BF16 x BF16: 8 lanes of exact products per row, then the tail of
   nb % 8 values in order after the lane sum */
static inline void ck__qdot_h16_avx2(const void *vw, const void *const *a, int nb, int na, float *res, int bf)
{
    const uint16_t *w = (const uint16_t *)vw;
    const uint16_t *a0 = (const uint16_t *)a[0], *a1 = (const uint16_t *)a[na > 1 ? 1 : 0];
    const uint16_t *a2 = (const uint16_t *)a[na > 1 ? 2 : 0], *a3 = (const uint16_t *)a[na > 1 ? 3 : 0];
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int i, k;
    for (i = 0; i + 8 <= nb; i += 8) {
        __m256 wv = ck__load_h16x8_avx2(w + i, bf);
        acc0 = _mm256_fmadd_ps(wv, ck__load_h16x8_avx2(a0 + i, bf), acc0);
        if (na > 1) {
            acc1 = _mm256_fmadd_ps(wv, ck__load_h16x8_avx2(a1 + i, bf), acc1);
            acc2 = _mm256_fmadd_ps(wv, ck__load_h16x8_avx2(a2 + i, bf), acc2);
            acc3 = _mm256_fmadd_ps(wv, ck__load_h16x8_avx2(a3 + i, bf), acc3);
        }
    }
    CK__QDOT_RESULT();
    for (k = 0; k < (na > 1 ? 4 : 1); k++) {
        const uint16_t *ak = (const uint16_t *)a[k];
        int j;
        for (j = i; j < nb; j++)
            res[k] += bf ? ck_bf16_to_fp32(w[j]) * ck_bf16_to_fp32(ak[j]) : ck__h2f(w[j]) * ck__h2f(ak[j]);
    }
}
#if defined(__F16C__)
static void ck__qdot_f16_avx2(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_h16_avx2(w, a, nb, na, res, 0); }
#endif
static void ck__qdot_bf16_avx2(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_h16_avx2(w, a, nb, na, res, 1); }

/* F16 / BF16 tile kernels (ck__qtile_fn): 4 weight rows x 4 activation rows, so a converted
   weight vector serves every activation row and an activation vector every weight row. Output
   (i, k) is one accumulator: 16 values per step (two fmadds: values c..c+7 and c+8..c+15 for F16,
   the even and the odd bf16 of a pair of lanes for BF16, widened by a shift and a mask), then
   ck__hsum and the tail of nb % 16 values in order: the same operations whatever nw and na. AVX2
   has 16 registers: activation rows are taken two per pass (8 accumulators), the weight rows
   converted again per pass. Weight rows >= nw repeat row nw - 1 (computed, not stored). */
#if !CK_HAVE_AVX512 /* (AVX-512 builds take the kernels below) */
static inline void ck__h16x16_avx2(const uint16_t *p, int bf, __m256 *lo, __m256 *hi)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
#if defined(__F16C__)
    if (!bf) {
        *lo = _mm256_cvtph_ps(_mm256_castsi256_si128(x));
        *hi = _mm256_cvtph_ps(_mm256_extracti128_si256(x, 1));
        return;
    }
#else
    (void)bf;
#endif
    *lo = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
    *hi = _mm256_castsi256_ps(_mm256_and_si256(x, _mm256_set1_epi32((int)0xffff0000u)));
}

static inline void ck__qtile_h16_avx2(const void *vw, size_t ldw, int nw, const void *const *a, int nb, int na, float *res, int bf)
{
    const uint16_t *w[4];
    int p, r, i, j;
    for (r = 0; r < 4; r++) w[r] = (const uint16_t *)(const void *)((const char *)vw + (size_t)CK_MIN(r, nw - 1) * ldw);
    for (p = 0; p < na; p += 2) {
        const uint16_t *x0 = (const uint16_t *)a[p], *x1 = (const uint16_t *)a[p + 1];
        __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        __m256 l0, h0, l1, h1, wl, wh;
        float s[4][2];
#define CK__H16_W(r, TWO)                                                                    \
        ck__h16x16_avx2(w[r] + i, bf, &wl, &wh);                                             \
        c##r##0 = _mm256_fmadd_ps(wh, h0, _mm256_fmadd_ps(wl, l0, c##r##0));                  \
        if (TWO) c##r##1 = _mm256_fmadd_ps(wh, h1, _mm256_fmadd_ps(wl, l1, c##r##1));
#define CK__H16_LOOP(TWO)                                                                    \
        for (i = 0; i + 16 <= nb; i += 16) {                                                 \
            ck__h16x16_avx2(x0 + i, bf, &l0, &h0);                                           \
            if (TWO) ck__h16x16_avx2(x1 + i, bf, &l1, &h1);                                  \
            CK__H16_W(0, TWO) CK__H16_W(1, TWO) CK__H16_W(2, TWO) CK__H16_W(3, TWO)          \
        }
        if (p + 1 < na) { CK__H16_LOOP(1) } else { l1 = h1 = _mm256_setzero_ps(); CK__H16_LOOP(0) }
#undef CK__H16_LOOP
#undef CK__H16_W
        s[0][0] = ck__hsum(c00); s[1][0] = ck__hsum(c10); s[2][0] = ck__hsum(c20); s[3][0] = ck__hsum(c30);
        s[0][1] = ck__hsum(c01); s[1][1] = ck__hsum(c11); s[2][1] = ck__hsum(c21); s[3][1] = ck__hsum(c31);
        for (r = 0; r < 4; r++)
            for (j = 0; j < 2 && p + j < na; j++) {
                const uint16_t *x = j ? x1 : x0;
                float t = s[r][j];
                int e;
                for (e = i; e < nb; e++) t += bf ? ck_bf16_to_fp32(w[r][e]) * ck_bf16_to_fp32(x[e]) : ck__h2f(w[r][e]) * ck__h2f(x[e]);
                res[4 * r + p + j] = t;
            }
    }
}
#if defined(__F16C__)
static void ck__qtile_f16_avx2(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_h16_avx2(w, ldw, nw, a, nb, na, res, 0); }
#endif
static void ck__qtile_bf16_avx2(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res) { ck__qtile_h16_avx2(w, ldw, nw, a, nb, na, res, 1); }
#endif /* !CK_HAVE_AVX512 */

#if CK_HAVE_AVX512
/* AVX-512: all 4 x 4 accumulators in registers (32 zmm), one pass. F16: 16 values per step
   (vcvtph2ps), one fmadd. BF16 with AVX512_BF16: 32 values per step, one vdpbf16ps (pairs of
   exact bf16 products added into fp32 lanes); without it the even / odd widening of the AVX2
   kernel, 32 values per step. The tail is a masked load (zeros, which add nothing). */
#define CK__Q16_KIND_F16 0
#define CK__Q16_KIND_BF16 1
#define CK__Q16_KIND_DPBF16 2
static inline void ck__qtile_h16_avx512(const void *vw, size_t ldw, int nw, const void *const *a, int nb, int na, float *res, int kind)
{
    const uint16_t *w0 = (const uint16_t *)vw, *w1, *w2, *w3;
    const uint16_t *x0 = (const uint16_t *)a[0], *x1 = (const uint16_t *)a[1], *x2 = (const uint16_t *)a[2], *x3 = (const uint16_t *)a[3];
    const int step = kind == CK__Q16_KIND_F16 ? 16 : 32;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    int i = 0;
    w1 = (const uint16_t *)(const void *)((const char *)vw + (size_t)CK_MIN(1, nw - 1) * ldw);
    w2 = (const uint16_t *)(const void *)((const char *)vw + (size_t)CK_MIN(2, nw - 1) * ldw);
    w3 = (const uint16_t *)(const void *)((const char *)vw + (size_t)CK_MIN(3, nw - 1) * ldw);
    /* Decode (one activation row) streams the weights from memory: each step prefetches the part of
       the next 4 rows (the next tile's, at w + 4 ldw: rows are contiguous) it will read at the same
       step, one tile ahead of the loads (a prefetch never faults, past the matrix's end neither). */
#define CK__Q16_PF(STEP) do { const char *pf_ = (const char *)vw + 4 * ldw + (size_t)i * 8; int l_;     \
                              for (l_ = 0; l_ < (STEP) * 8; l_ += 64) _mm_prefetch(pf_ + l_, _MM_HINT_T0); } while (0)
    /* V: a value vector (F16: 16 fp32; BF16: 32 bf16 in a __m512i); per kind: LOAD, and MAC(acc, w, x) */
#if CK_HAVE_AVX512BF16
#define CK__Q16_DP(acc, wv, xv) acc = _mm512_dpbf16_ps(acc, (__m512bh)(wv), (__m512bh)(xv))
#else
#define CK__Q16_DP(acc, wv, xv) (void)0
#endif
#define CK__Q16_BF(acc, wv, xv)                                                                                     \
    acc = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(wv, hmask)), _mm512_castsi512_ps(_mm512_and_si512(xv, hmask)), \
                          _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(wv, 16)), _mm512_castsi512_ps(_mm512_slli_epi32(xv, 16)), acc))
#define CK__Q16_F16(acc, wv, xv) acc = _mm512_fmadd_ps(wv, xv, acc)
#define CK__Q16_BODY(VT, LOAD, MAC, FOUR)                                                                           \
    {                                                                                                               \
        VT v0 = LOAD(x0 + i), v1, v2, v3, wv;                                                                       \
        CK__IN_REG(v0);                                                                                             \
        if (!FOUR) CK__Q16_PF(32);                                                                                  \
        if (FOUR) { v1 = LOAD(x1 + i); v2 = LOAD(x2 + i); v3 = LOAD(x3 + i); CK__IN_REG(v1); CK__IN_REG(v2); CK__IN_REG(v3); } \
        wv = LOAD(w0 + i); CK__IN_REG(wv); MAC(c00, wv, v0); if (FOUR) { MAC(c01, wv, v1); MAC(c02, wv, v2); MAC(c03, wv, v3); } \
        wv = LOAD(w1 + i); CK__IN_REG(wv); MAC(c10, wv, v0); if (FOUR) { MAC(c11, wv, v1); MAC(c12, wv, v2); MAC(c13, wv, v3); } \
        wv = LOAD(w2 + i); CK__IN_REG(wv); MAC(c20, wv, v0); if (FOUR) { MAC(c21, wv, v1); MAC(c22, wv, v2); MAC(c23, wv, v3); } \
        wv = LOAD(w3 + i); CK__IN_REG(wv); MAC(c30, wv, v0); if (FOUR) { MAC(c31, wv, v1); MAC(c32, wv, v2); MAC(c33, wv, v3); } \
    }
#define CK__Q16_RUN(VT, LOAD, LOADM, MAC, FOUR)                                                                     \
    for (; i + step <= nb; i += step) CK__Q16_BODY(VT, LOAD, MAC, FOUR)                                            \
    if (i < nb) { CK__Q16_BODY(VT, LOADM, MAC, FOUR) }
/* (maskz with all lanes: g++ 12 warns on _mm512_cvtph_ps's own undefined source) */
#define CK__Q16_LD_F16(p) _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)(p)))
#define CK__Q16_LDM_F16(p) _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_maskz_loadu_epi16((__mmask16)m, p))
#define CK__Q16_LD_I(p) _mm512_loadu_si512((const void *)(p))
#define CK__Q16_LDM_I(p) _mm512_maskz_loadu_epi16(m, p)
    {
        const __mmask32 m = (__mmask32)(nb % step ? (1u << (nb % step)) - 1u : 0);
        const __m512i hmask = _mm512_set1_epi32((int)0xffff0000u);
        (void)hmask;
        if (kind == CK__Q16_KIND_F16) {
            if (na > 1) { CK__Q16_RUN(__m512, CK__Q16_LD_F16, CK__Q16_LDM_F16, CK__Q16_F16, 1) }
            else { /* decode: the activation converted once per 512 values into the stack (exact), so a
                      step converts the 4 weight vectors only; the same fmadds in the same order */
                float xb[512];
                int i0;
                for (i0 = 0; i0 < nb; i0 += 512) {
                    int n = CK_MIN(512, nb - i0), j;
                    const uint16_t *xs = x0 + i0;
                    for (j = 0; j + 16 <= n; j += 16) _mm512_storeu_ps(xb + j, CK__Q16_LD_F16(xs + j));
                    if (j < n) _mm512_storeu_ps(xb + j, CK__Q16_LDM_F16(xs + j));
                    for (i = i0; i + 16 <= i0 + n; i += 16) {
                        __m512 v0 = _mm512_loadu_ps(xb + (i - i0));
                        CK__IN_REG(v0);
                        CK__Q16_PF(16);
                        c00 = _mm512_fmadd_ps(CK__Q16_LD_F16(w0 + i), v0, c00); c10 = _mm512_fmadd_ps(CK__Q16_LD_F16(w1 + i), v0, c10);
                        c20 = _mm512_fmadd_ps(CK__Q16_LD_F16(w2 + i), v0, c20); c30 = _mm512_fmadd_ps(CK__Q16_LD_F16(w3 + i), v0, c30);
                    }
                }
                if (i < nb) {
                    __m512 v0 = _mm512_loadu_ps(xb + (i - (nb - 1) / 512 * 512));
                    c00 = _mm512_fmadd_ps(CK__Q16_LDM_F16(w0 + i), v0, c00); c10 = _mm512_fmadd_ps(CK__Q16_LDM_F16(w1 + i), v0, c10);
                    c20 = _mm512_fmadd_ps(CK__Q16_LDM_F16(w2 + i), v0, c20); c30 = _mm512_fmadd_ps(CK__Q16_LDM_F16(w3 + i), v0, c30);
                }
            }
        } else if (kind == CK__Q16_KIND_BF16) {
            if (na > 1) { CK__Q16_RUN(__m512i, CK__Q16_LD_I, CK__Q16_LDM_I, CK__Q16_BF, 1) }
            else { CK__Q16_RUN(__m512i, CK__Q16_LD_I, CK__Q16_LDM_I, CK__Q16_BF, 0) }
        } else {
            if (na > 1) { CK__Q16_RUN(__m512i, CK__Q16_LD_I, CK__Q16_LDM_I, CK__Q16_DP, 1) }
            else { CK__Q16_RUN(__m512i, CK__Q16_LD_I, CK__Q16_LDM_I, CK__Q16_DP, 0) }
        }
    }
#undef CK__Q16_LD_F16
#undef CK__Q16_LDM_F16
#undef CK__Q16_LD_I
#undef CK__Q16_LDM_I
#undef CK__Q16_RUN
#undef CK__Q16_BODY
#undef CK__Q16_F16
#undef CK__Q16_BF
#undef CK__Q16_DP
#undef CK__Q16_PF
    res[0] = ck__hsum512(c00); res[4] = ck__hsum512(c10); res[8] = ck__hsum512(c20); res[12] = ck__hsum512(c30);
    if (na > 1) {
        res[1] = ck__hsum512(c01); res[2] = ck__hsum512(c02); res[3] = ck__hsum512(c03);
        res[5] = ck__hsum512(c11); res[6] = ck__hsum512(c12); res[7] = ck__hsum512(c13);
        res[9] = ck__hsum512(c21); res[10] = ck__hsum512(c22); res[11] = ck__hsum512(c23);
        res[13] = ck__hsum512(c31); res[14] = ck__hsum512(c32); res[15] = ck__hsum512(c33);
    }
}
static void ck__qtile_f16_avx512(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res)
{
    ck__qtile_h16_avx512(w, ldw, nw, a, nb, na, res, CK__Q16_KIND_F16);
}
static void ck__qtile_bf16_avx512(const void *w, size_t ldw, int nw, const void *const *a, int nb, int na, float *res)
{
    ck__qtile_h16_avx512(w, ldw, nw, a, nb, na, res, CK_HAVE_AVX512BF16 ? CK__Q16_KIND_DPBF16 : CK__Q16_KIND_BF16);
}
#endif /* CK_HAVE_AVX512 */
#undef CK__QDOT_ROWS
#undef CK__QDOT_RESULT
#endif /* CK_HAVE_AVX2 */

#if CK_HAVE_NEON
/* ---- NEON (AArch64): dequantization, activation blocks, integer dot products ----------------
   Every kernel here forms exactly the integers of its scalar twin and then performs the scalar
   twin's float operations in the same order, so its results are bit-identical to the scalar
   path; the F16 / BF16 dot products are the exception (8 lanes of sums: equal within the
   summation-order bound). The integer dot products take sdot where the target has FEAT_DotProd
   (CK_HAVE_NEON_DOTPROD) and widening multiplies with pairwise adds on plain ARMv8.0. There are
   no tile kernels yet: the fast path's driver calls the dot kernel once per weight row with up
   to 4 activation rows, and each kernel unpacks a weight block once for all of them. */

/* acc + the 16 products w[i] * a[i], summed in int32 lanes (an int8 product fits int16; two are
   only ever added in int32, so an activation of -128 is exact too) */
static inline int32x4_t ck__dot16_neon(int32x4_t acc, int8x16_t w, int8x16_t a)
{
#if CK_HAVE_NEON_DOTPROD
    return vdotq_s32(acc, w, a);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(w), vget_low_s8(a)));
    return vpadalq_s16(acc, vmull_high_s8(w, a));
#endif
}
/* the dot product of 32 int8 (w0: values 0..15, w1: 16..31) with the 32 int8 at a */
static inline int32_t ck__dot32_neon(int8x16_t w0, int8x16_t w1, const int8_t *a)
{
    return vaddvq_s32(ck__dot16_neon(ck__dot16_neon(vdupq_n_s32(0), w0, vld1q_s8(a)), w1, vld1q_s8(a + 16)));
}
static inline int32_t ck__dot16x1_neon(int8x16_t w, const int8_t *a) { return vaddvq_s32(ck__dot16_neon(vdupq_n_s32(0), w, vld1q_s8(a))); }

/* byte j of the result is 0xFF where bit j of the 16-bit little-endian word at p is set */
static inline uint8x16_t ck__bitmask16_neon(const uint8_t *p)
{
    static const uint8_t bit[16] = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
    return vtstq_u8(vcombine_u8(vdup_n_u8(p[0]), vdup_n_u8(p[1])), vld1q_u8(bit));
}

/* The 32 signed values of a block of the block-32 weight types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL),
   as the scalar kernels multiply them: w0 holds values 0..15, w1 values 16..31. */
static inline void ck__unpack32_neon(int type, const void *blk, int8x16_t *w0, int8x16_t *w1)
{
    const uint8x16_t low4 = vdupq_n_u8(15), bit4 = vdupq_n_u8(16);
    uint8x16_t q, lo, hi;
    switch (type) {
    case CK_Q8_0:
        *w0 = vld1q_s8(((const ck_block_q8_0 *)blk)->qs);
        *w1 = vld1q_s8(((const ck_block_q8_0 *)blk)->qs + 16);
        return;
    case CK_Q4_0: q = vld1q_u8(((const ck_block_q4_0 *)blk)->qs); break;
    case CK_Q4_1: q = vld1q_u8(((const ck_block_q4_1 *)blk)->qs); break;
    case CK_IQ4_NL: {
        const int8x16_t levels = vld1q_s8(ck__iq4nl_values);
        q = vld1q_u8(((const ck_block_iq4_nl *)blk)->qs);
        *w0 = vqtbl1q_s8(levels, vandq_u8(q, low4));
        *w1 = vqtbl1q_s8(levels, vshrq_n_u8(q, 4));
        return;
    }
    case CK_Q5_0: q = vld1q_u8(((const ck_block_q5_0 *)blk)->qs); break;
    default: q = vld1q_u8(((const ck_block_q5_1 *)blk)->qs); break; /* CK_Q5_1 */
    }
    lo = vandq_u8(q, low4);
    hi = vshrq_n_u8(q, 4);
    if (type == CK_Q5_0 || type == CK_Q5_1) { /* bit 4 of value j: bit j of qh */
        const uint8_t *qh = type == CK_Q5_0 ? ((const ck_block_q5_0 *)blk)->qh : ((const ck_block_q5_1 *)blk)->qh;
        lo = vorrq_u8(lo, vandq_u8(ck__bitmask16_neon(qh), bit4));
        hi = vorrq_u8(hi, vandq_u8(ck__bitmask16_neon(qh + 2), bit4));
    }
    *w0 = vreinterpretq_s8_u8(lo);
    *w1 = vreinterpretq_s8_u8(hi);
    if (type == CK_Q4_0 || type == CK_Q5_0) {
        const int8x16_t off = vdupq_n_s8(type == CK_Q4_0 ? 8 : 16);
        *w0 = vsubq_s8(*w0, off);
        *w1 = vsubq_s8(*w1, off);
    }
}

/* block-32 weights against Q8_0 (Q4_0 Q5_0 Q8_0 IQ4_NL) or Q8_1 (Q4_1 Q5_1, with the min term)
   activation rows: the scalar kernels' sums, block by block in the same order */
static inline void ck__qdot32_neon(int type, const void *vw, const void *const *va, int nb, int na, float *res)
{
    const size_t wbytes = ck_type_block_bytes(type);
    const int mn = type == CK_Q4_1 || type == CK_Q5_1;
    float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int b, k;
    for (b = 0; b < nb; b++) {
        const char *blk = (const char *)vw + (size_t)b * wbytes;
        uint16_t wd, wm = 0;
        int8x16_t w0, w1;
        memcpy(&wd, blk, 2);
        if (mn) memcpy(&wm, blk + 2, 2);
        ck__unpack32_neon(type, blk, &w0, &w1);
        for (k = 0; k < na; k++) {
            if (mn) {
                const ck_block_q8_1 *a = (const ck_block_q8_1 *)va[k] + b;
                int32_t sumi = ck__dot32_neon(w0, w1, a->qs);
                sum[k] += ck_fp16_to_fp32(wd) * ck_fp16_to_fp32(a->d) * (float)sumi + ck_fp16_to_fp32(wm) * ck_fp16_to_fp32(a->s);
            } else {
                const ck_block_q8_0 *a = (const ck_block_q8_0 *)va[k] + b;
                int32_t sumi = ck__dot32_neon(w0, w1, a->qs);
                sum[k] += ck_fp16_to_fp32(wd) * ck_fp16_to_fp32(a->d) * (float)sumi;
            }
        }
    }
    for (k = 0; k < na; k++) res[k] = sum[k];
}
static void ck__qdot_q4_0_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot32_neon(CK_Q4_0, w, a, nb, na, res); }
static void ck__qdot_q4_1_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot32_neon(CK_Q4_1, w, a, nb, na, res); }
static void ck__qdot_q5_0_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot32_neon(CK_Q5_0, w, a, nb, na, res); }
static void ck__qdot_q5_1_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot32_neon(CK_Q5_1, w, a, nb, na, res); }
static void ck__qdot_q8_0_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot32_neon(CK_Q8_0, w, a, nb, na, res); }
static void ck__qdot_iq4_nl_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot32_neon(CK_IQ4_NL, w, a, nb, na, res); }

/* Q4_K / Q5_K x Q8_K, as ck__qdot_q45_K_scalar: chunk c of 64 values is qs[32c .. 32c+31], low
   nibbles sub-block 2c, high nibbles 2c+1; Q5_K's bit 4 of sub-block j is bit j of qh[l] */
static inline void ck__qdot_q45_K_neon(const void *vw, const void *const *va, int nb, int na, float *res, int five)
{
    const uint8x16_t low4 = vdupq_n_u8(15), bit4 = vdupq_n_u8(16);
    float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int b, k, c, j;
    for (b = 0; b < nb; b++) {
        const ck_block_q4_K *w4 = (const ck_block_q4_K *)vw + b;
        const ck_block_q5_K *w5 = (const ck_block_q5_K *)vw + b;
        const uint8_t *scales = five ? w5->scales : w4->scales, *qs = five ? w5->qs : w4->qs;
        uint8_t sc[8], m[8];
        int isum[4] = { 0, 0, 0, 0 };
        uint8x16_t qh0 = vdupq_n_u8(0), qh1 = vdupq_n_u8(0);
        if (five) {
            qh0 = vld1q_u8(w5->qh);
            qh1 = vld1q_u8(w5->qh + 16);
        }
        for (j = 0; j < 8; j++) ck__scale_min_k4(j, scales, &sc[j], &m[j]);
        for (c = 0; c < 4; c++) {
            uint8x16_t q0 = vld1q_u8(qs + 32 * c), q1 = vld1q_u8(qs + 32 * c + 16);
            int8x16_t lo0 = vreinterpretq_s8_u8(vandq_u8(q0, low4)), lo1 = vreinterpretq_s8_u8(vandq_u8(q1, low4));
            int8x16_t hi0 = vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), hi1 = vreinterpretq_s8_u8(vshrq_n_u8(q1, 4));
            if (five) {
                const uint8x16_t blo = vdupq_n_u8((uint8_t)(1u << (2 * c))), bhi = vdupq_n_u8((uint8_t)(2u << (2 * c)));
                lo0 = vreinterpretq_s8_u8(vorrq_u8(vreinterpretq_u8_s8(lo0), vandq_u8(vtstq_u8(qh0, blo), bit4)));
                lo1 = vreinterpretq_s8_u8(vorrq_u8(vreinterpretq_u8_s8(lo1), vandq_u8(vtstq_u8(qh1, blo), bit4)));
                hi0 = vreinterpretq_s8_u8(vorrq_u8(vreinterpretq_u8_s8(hi0), vandq_u8(vtstq_u8(qh0, bhi), bit4)));
                hi1 = vreinterpretq_s8_u8(vorrq_u8(vreinterpretq_u8_s8(hi1), vandq_u8(vtstq_u8(qh1, bhi), bit4)));
            }
            for (k = 0; k < na; k++) {
                const int8_t *aq = ((const ck_block_q8_K *)va[k])[b].qs + 64 * c;
                isum[k] += sc[2 * c] * ck__dot32_neon(lo0, lo1, aq) + sc[2 * c + 1] * ck__dot32_neon(hi0, hi1, aq + 32);
            }
        }
        for (k = 0; k < na; k++) {
            const ck_block_q8_K *a = (const ck_block_q8_K *)va[k] + b;
            int imin = 0;
            for (j = 0; j < 8; j++) imin += m[j] * (a->bsums[2 * j] + a->bsums[2 * j + 1]);
            sum[k] += ck_fp16_to_fp32(five ? w5->d : w4->d) * a->d * (float)isum[k]
                    - ck_fp16_to_fp32(five ? w5->dmin : w4->dmin) * a->d * (float)imin;
        }
    }
    for (k = 0; k < na; k++) res[k] = sum[k];
}
static void ck__qdot_q4_K_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_neon(w, a, nb, na, res, 0); }
static void ck__qdot_q5_K_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_q45_K_neon(w, a, nb, na, res, 1); }

/* the 16 values q - 32 of group g (values 16g .. 16g+15) of a Q6_K block, as ck__q6_K_quant reads
   them: in half h = g/8, quarter k = (g%8)/2, the low nibbles come from ql[64h + 32 (k & 1) + l]
   (the high nibbles for k >= 2), the top 2 bits from qh[32h + l] >> 2k */
static inline int8x16_t ck__q6_K_group_neon(const ck_block_q6_K *w, int g)
{
    const int h = g / 8, k = (g % 8) / 2, i = g % 2;
    uint8x16_t lq = vld1q_u8(w->ql + 64 * h + 32 * (k & 1) + 16 * i), hq = vld1q_u8(w->qh + 32 * h + 16 * i), lo, hi;
    lo = k >= 2 ? vshrq_n_u8(lq, 4) : vandq_u8(lq, vdupq_n_u8(15));
    switch (k) { /* vshrq_n needs a constant */
    case 1: hq = vshrq_n_u8(hq, 2); break;
    case 2: hq = vshrq_n_u8(hq, 4); break;
    case 3: hq = vshrq_n_u8(hq, 6); break;
    default: break;
    }
    hi = vshlq_n_u8(vandq_u8(hq, vdupq_n_u8(3)), 4);
    return vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, hi)), vdupq_n_s8(32));
}
/* Q6_K x Q8_K, as ck__qdot_q6_K_scalar: groups of 16 take scales[g] */
static void ck__qdot_q6_K_neon(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q6_K *w = (const ck_block_q6_K *)vw;
    float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int b, g, k;
    for (b = 0; b < nb; b++) {
        int isum[4] = { 0, 0, 0, 0 };
        for (g = 0; g < 16; g++) {
            int8x16_t q = ck__q6_K_group_neon(&w[b], g);
            for (k = 0; k < na; k++) isum[k] += w[b].scales[g] * ck__dot16x1_neon(q, ((const ck_block_q8_K *)va[k])[b].qs + 16 * g);
        }
        for (k = 0; k < na; k++) sum[k] += ck_fp16_to_fp32(w[b].d) * ((const ck_block_q8_K *)va[k])[b].d * (float)isum[k];
    }
    for (k = 0; k < na; k++) res[k] = sum[k];
}

/* Q2_K and Q3_K x Q8_K, as their scalar kernels: value 16g + l of the low 2 bits is
   qs[32 (g/8) + 16 (g%2) + l] >> 2 ((g%8)/2); Q3_K subtracts 4 where bit g/2 of hmask[16 (g%2) + l]
   is clear */
static inline int8x16_t ck__q2_group_neon(const uint8_t *qs, int g)
{
    uint8x16_t q = vld1q_u8(qs + 32 * (g / 8) + 16 * (g % 2));
    switch ((g % 8) / 2) { /* vshrq_n needs a constant */
    case 1: q = vshrq_n_u8(q, 2); break;
    case 2: q = vshrq_n_u8(q, 4); break;
    case 3: q = vshrq_n_u8(q, 6); break;
    default: break;
    }
    return vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(3)));
}
static void ck__qdot_q2_K_neon(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q2_K *w = (const ck_block_q2_K *)vw;
    float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int b, g, k;
    for (b = 0; b < nb; b++) {
        int isum[4] = { 0, 0, 0, 0 };
        for (g = 0; g < 16; g++) {
            int8x16_t q = ck__q2_group_neon(w[b].qs, g);
            for (k = 0; k < na; k++) isum[k] += (w[b].scales[g] & 15) * ck__dot16x1_neon(q, ((const ck_block_q8_K *)va[k])[b].qs + 16 * g);
        }
        for (k = 0; k < na; k++) {
            const ck_block_q8_K *a = (const ck_block_q8_K *)va[k] + b;
            int imin = 0;
            for (g = 0; g < 16; g++) imin += (w[b].scales[g] >> 4) * a->bsums[g];
            sum[k] += ck_fp16_to_fp32(w[b].d) * a->d * (float)isum[k] - ck_fp16_to_fp32(w[b].dmin) * a->d * (float)imin;
        }
    }
    for (k = 0; k < na; k++) res[k] = sum[k];
}
static void ck__qdot_q3_K_neon(const void *vw, const void *const *va, int nb, int na, float *res)
{
    const ck_block_q3_K *w = (const ck_block_q3_K *)vw;
    float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int b, g, k;
    for (b = 0; b < nb; b++) {
        int isum[4] = { 0, 0, 0, 0 };
        for (g = 0; g < 16; g++) {
            uint8x16_t hm = vtstq_u8(vld1q_u8(w[b].hmask + 16 * (g % 2)), vdupq_n_u8((uint8_t)(1u << (g / 2))));
            int8x16_t q = vsubq_s8(ck__q2_group_neon(w[b].qs, g), vreinterpretq_s8_u8(vbicq_u8(vdupq_n_u8(4), hm)));
            int s = ck__scale_q3_K(w[b].scales, g);
            for (k = 0; k < na; k++) isum[k] += s * ck__dot16x1_neon(q, ((const ck_block_q8_K *)va[k])[b].qs + 16 * g);
        }
        for (k = 0; k < na; k++) sum[k] += ck_fp16_to_fp32(w[b].d) * ((const ck_block_q8_K *)va[k])[b].d * (float)isum[k];
    }
    for (k = 0; k < na; k++) res[k] = sum[k];
}

/* 4 halves (fp16 or bf16 bits) to fp32, exactly (a NaN made quiet, as ck_fp16_to_fp32 does) */
static inline float32x4_t ck__h16x4_to_f32_neon(const uint16_t *p, int bf)
{
    uint16x4_t h = vld1_u16(p);
    return bf ? vreinterpretq_f32_u32(vshll_n_u16(h, 16)) : vcvt_f32_f16(vreinterpret_f16_u16(h));
}
/* F16 x F16, BF16 x BF16 (nb values): the exact products summed in 8 lanes, then the tail in
   order; a row's sum does not depend on na */
static inline void ck__qdot_h16_neon(const void *vw, const void *const *va, int nb, int na, float *res, int bf)
{
    const uint16_t *w = (const uint16_t *)vw;
    int k, i;
    for (k = 0; k < na; k++) {
        const uint16_t *a = (const uint16_t *)va[k];
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
        float sum;
        for (i = 0; i + 8 <= nb; i += 8) {
            s0 = vfmaq_f32(s0, ck__h16x4_to_f32_neon(w + i, bf), ck__h16x4_to_f32_neon(a + i, bf));
            s1 = vfmaq_f32(s1, ck__h16x4_to_f32_neon(w + i + 4, bf), ck__h16x4_to_f32_neon(a + i + 4, bf));
        }
        sum = vaddvq_f32(vaddq_f32(s0, s1));
        if (bf) for (; i < nb; i++) sum += ck_bf16_to_fp32(w[i]) * ck_bf16_to_fp32(a[i]);
        else    for (; i < nb; i++) sum += ck_fp16_to_fp32(w[i]) * ck_fp16_to_fp32(a[i]);
        res[k] = sum;
    }
}
static void ck__qdot_f16_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_h16_neon(w, a, nb, na, res, 0); }
static void ck__qdot_bf16_neon(const void *w, const void *const *a, int nb, int na, float *res) { ck__qdot_h16_neon(w, a, nb, na, res, 1); }

/* ---- NEON: activation blocks (the scalar quantizers' bytes) ---- */

/* ck__quant_act_q8_01_scalar's bytes: fcvtns rounds to nearest even as ck__round_x86 does for
   |v| < 2^31; a block with id = inf (amax < 127/FLT_MAX: x86's "integer indefinite") takes the
   scalar code */
static void ck__quant_act_q8_01_neon(const float *x, void *dst, int n, int with_sum)
{
    int b, j;
    for (b = 0; b < n / CK_QK; b++, x += CK_QK) {
        ck_block_q8_0 *y0 = (ck_block_q8_0 *)dst + b;
        ck_block_q8_1 *y1 = (ck_block_q8_1 *)dst + b;
        float32x4_t v[8], m = vdupq_n_f32(0.0f);
        int32x4_t q[8];
        int16x8_t h[4];
        float amax, d, id;
        int32_t sum;
        for (j = 0; j < 8; j++) {
            v[j] = vld1q_f32(x + 4 * j);
            m = vmaxq_f32(m, vabsq_f32(v[j]));
        }
        amax = vmaxvq_f32(m);
        d = amax / 127.0f;
        id = amax != 0.0f ? 127.0f / amax : 0.0f;
        if (!(id <= 3.40282347e38f)) {
            ck__quant_act_q8_01_scalar(x, with_sum ? (void *)y1 : (void *)y0, CK_QK, with_sum);
            continue;
        }
        for (j = 0; j < 8; j++) q[j] = vcvtnq_s32_f32(vmulq_n_f32(v[j], id));
        sum = vaddvq_s32(vaddq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3])), vaddq_s32(vaddq_s32(q[4], q[5]), vaddq_s32(q[6], q[7]))));
        for (j = 0; j < 4; j++) h[j] = vcombine_s16(vqmovn_s32(q[2 * j]), vqmovn_s32(q[2 * j + 1]));
        vst1q_s8(with_sum ? y1->qs : y0->qs, vcombine_s8(vqmovn_s16(h[0]), vqmovn_s16(h[1])));
        vst1q_s8((with_sum ? y1->qs : y0->qs) + 16, vcombine_s8(vqmovn_s16(h[2]), vqmovn_s16(h[3])));
        if (with_sum) {
            y1->d = ck_fp32_to_fp16(d);
            y1->s = ck_fp32_to_fp16(d * (float)sum);
        } else {
            y0->d = ck_fp32_to_fp16(d);
        }
    }
}
static void ck__quant_act_q8_0_neon(const float *x, void *dst, int n) { ck__quant_act_q8_01_neon(x, dst, n, 0); }
static void ck__quant_act_q8_1_neon(const float *x, void *dst, int n) { ck__quant_act_q8_01_neon(x, dst, n, 1); }

/* ck__quant_q8_K's bytes: q = MIN(127, nearest(iscale * x)) (|iscale * x| <= 127 here); a block
   whose iscale is not finite (|max| < 127/FLT_MAX) takes the scalar code */
static void ck__quant_act_q8_K_neon(const float *x, void *dst, int n)
{
    ck_block_q8_K *y = (ck_block_q8_K *)dst;
    int b, j, l;
    for (b = 0; b < n / CK_QK_K; b++, x += CK_QK_K) {
        float32x4_t m = vdupq_n_f32(0.0f);
        float amax, max = 0.0f, iscale;
        for (j = 0; j < CK_QK_K; j += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + j)));
        amax = vmaxvq_f32(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        for (j = 0; j < CK_QK_K; j++) /* the first value of largest magnitude, as the scalar loop finds it */
            if (fabsf(x[j]) == amax) { max = x[j]; break; }
        iscale = -127.0f / max;
        if (!(fabsf(iscale) <= 3.40282347e38f)) {
            ck__quant_q8_K(x, &y[b], 1);
            continue;
        }
        for (j = 0; j < CK_QK_K; j += 16) {
            int32x4_t q[4];
            int8x16_t q8;
            for (l = 0; l < 4; l++) q[l] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j + 4 * l), iscale)), vdupq_n_s32(127));
            q8 = vcombine_s8(vqmovn_s16(vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]))), vqmovn_s16(vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]))));
            vst1q_s8(y[b].qs + j, q8);
            y[b].bsums[j / 16] = vaddlvq_s8(q8);
        }
        y[b].d = 1 / iscale;
    }
}

/* F16: fcvtn rounds to nearest even (FPCR's default mode), as ck_fp32_to_fp16 for every finite
   value (a NaN keeps its payload here) */
static void ck__quant_act_f16_neon(const float *x, void *dst, int n)
{
    uint16_t *y = (uint16_t *)dst;
    int i;
    for (i = 0; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) y[i] = ck_fp32_to_fp16(x[i]);
}
/* BF16: ck_fp32_to_bf16 in integer lanes (round to nearest even; a NaN kept and made quiet) */
static void ck__quant_act_bf16_neon(const float *x, void *dst, int n)
{
    uint16_t *y = (uint16_t *)dst;
    const uint32x4_t one = vdupq_n_u32(1), half = vdupq_n_u32(0x7fff), quiet = vdupq_n_u32(64);
    const uint32x4_t absm = vdupq_n_u32(0x7fffffff), inf = vdupq_n_u32(0x7f800000);
    int i;
    for (i = 0; i + 4 <= n; i += 4) {
        uint32x4_t v = vreinterpretq_u32_f32(vld1q_f32(x + i));
        uint32x4_t nan = vcgtq_u32(vandq_u32(v, absm), inf);
        uint32x4_t rn = vshrq_n_u32(vaddq_u32(vaddq_u32(v, half), vandq_u32(vshrq_n_u32(v, 16), one)), 16);
        vst1_u16(y + i, vmovn_u32(vbslq_u32(nan, vorrq_u32(vshrq_n_u32(v, 16), quiet), rn)));
    }
    for (; i < n; i++) y[i] = ck_fp32_to_bf16(x[i]);
}

/* ---- NEON: dequantization (the scalar code's roundings: exact conversions, the same products
   and sums, no FMA) ---- */

/* y[0..15] = (float)q[i] * d, then + add where the scalar code adds (with_add) */
static inline void ck__i8x16_to_f32_neon(float *y, int8x16_t q, float d, float add, int with_add)
{
    int16x8_t h[2];
    int i;
    h[0] = vmovl_s8(vget_low_s8(q));
    h[1] = vmovl_high_s8(q);
    for (i = 0; i < 4; i++) {
        int32x4_t v = i % 2 ? vmovl_high_s16(h[i / 2]) : vmovl_s16(vget_low_s16(h[i / 2]));
        float32x4_t f = vmulq_n_f32(vcvtq_f32_s32(v), d);
        if (with_add) f = vaddq_f32(f, vdupq_n_f32(add));
        vst1q_f32(y + 4 * i, f);
    }
}
/* returns 1 where it has its own path for type, 0 where it ran the scalar code (the tests report
   a comparison of the scalar code with itself as not applicable) */
static int ck__dequant_neon(int type, const void *src, float *y, int64_t n)
{
    int64_t i;
    switch (type) {
    case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: case CK_Q8_0: case CK_IQ4_NL: {
        const size_t bytes = ck_type_block_bytes(type);
        const int mn = type == CK_Q4_1 || type == CK_Q5_1;
        for (i = 0; i < n / CK_QK; i++, y += CK_QK) {
            const char *blk = (const char *)src + (size_t)i * bytes;
            uint16_t d, m = 0;
            int8x16_t w0, w1;
            memcpy(&d, blk, 2);
            if (mn) memcpy(&m, blk + 2, 2);
            ck__unpack32_neon(type, blk, &w0, &w1);
            ck__i8x16_to_f32_neon(y, w0, ck_fp16_to_fp32(d), ck_fp16_to_fp32(m), mn);
            ck__i8x16_to_f32_neon(y + 16, w1, ck_fp16_to_fp32(d), ck_fp16_to_fp32(m), mn);
        }
        break;
    }
    case CK_Q4_K: case CK_Q5_K: { /* d1 * q - m1, as d1 * q + (-m1) */
        const int five = type == CK_Q5_K;
        for (i = 0; i < n / CK_QK_K; i++) {
            const ck_block_q4_K *w4 = (const ck_block_q4_K *)src + i;
            const ck_block_q5_K *w5 = (const ck_block_q5_K *)src + i;
            const uint8_t *scales = five ? w5->scales : w4->scales, *qs = five ? w5->qs : w4->qs;
            float d = ck_fp16_to_fp32(five ? w5->d : w4->d), dmin = ck_fp16_to_fp32(five ? w5->dmin : w4->dmin);
            int j, half;
            for (j = 0; j < 8; j++, y += 32) {
                uint8_t sc, m;
                ck__scale_min_k4(j, scales, &sc, &m);
                for (half = 0; half < 2; half++) {
                    uint8x16_t q = vld1q_u8(qs + 32 * (j / 2) + 16 * half);
                    q = j % 2 ? vshrq_n_u8(q, 4) : vandq_u8(q, vdupq_n_u8(15));
                    if (five) q = vorrq_u8(q, vandq_u8(vtstq_u8(vld1q_u8(w5->qh + 16 * half), vdupq_n_u8((uint8_t)(1u << j))), vdupq_n_u8(16)));
                    ck__i8x16_to_f32_neon(y + 16 * half, vreinterpretq_s8_u8(q), d * (float)sc, -(dmin * (float)m), 1);
                }
            }
        }
        break;
    }
    case CK_Q6_K: {
        const ck_block_q6_K *w = (const ck_block_q6_K *)src;
        for (i = 0; i < n / CK_QK_K; i++, y += CK_QK_K) { /* d * sc * (q - 32), as (d * sc) * (q - 32) */
            float d = ck_fp16_to_fp32(w[i].d);
            int g;
            for (g = 0; g < 16; g++) ck__i8x16_to_f32_neon(y + 16 * g, ck__q6_K_group_neon(&w[i], g), d * (float)w[i].scales[g], 0.0f, 0);
        }
        break;
    }
    case CK_F16: case CK_BF16: {
        const uint16_t *h = (const uint16_t *)src;
        for (i = 0; i + 4 <= n; i += 4) vst1q_f32(y + i, ck__h16x4_to_f32_neon(h + i, type == CK_BF16));
        for (; i < n; i++) y[i] = type == CK_BF16 ? ck_bf16_to_fp32(h[i]) : ck_fp16_to_fp32(h[i]);
        break;
    }
    default: ck__dequant_scalar(type, src, y, n); /* F32, Q8_1, Q2_K, Q3_K, Q8_K: the scalar code */
        return 0;
    }
    return 1;
}
#endif /* CK_HAVE_NEON */

/* ---- quantized matmul drivers ------------------------------------------------------------- */

/* this thread's index and the number of threads sharing the work it is in (0 and 1 outside any) */
static void ck__thread_share(int *ith, int *nth)
{
    *ith = 0, *nth = 1;
#if CK__POOL
    if (ck__share_nth) { /* in a pool (ck_parallel_run): the share ck__par gave this thread */
        *ith = ck__share_ith;
        *nth = ck__share_nth;
        return;
    }
#endif
#ifdef _OPENMP
    *ith = omp_get_thread_num();
    *nth = omp_get_num_threads();
#endif
}
/* rows [*lo, *hi) of n that the calling thread of the enclosing parallel region owns */
static void ck__thread_rows(int n, int *lo, int *hi)
{
    int ith, nth;
    ck__thread_share(&ith, &nth);
    *lo = (int)((int64_t)n * ith / nth);
    *hi = (int)((int64_t)n * (ith + 1) / nth);
}

static void ck__init_out_rows(float *out, const float *bias, int T, int OC, int o_lo, int o_hi)
{
    int t, o;
    for (t = 0; t < T; t++)
        for (o = o_lo; o < o_hi; o++) out[(size_t)t * OC + o] = bias ? bias[o] : 0.0f;
}

/* ---- prefill GEMM, integer weight types (Q4_0, Q5_0, Q8_0, IQ4_NL, Q4_1, Q5_1) ----------- */
/* Rows [o_lo, o_hi) of out = inp . weight^T (+ bias) for T activation rows when this path serves
   the type and T; returns 0 (nothing written) when it does not.

   AVX-512 VNNI (block-32 types and the K-quants; AVX2 builds: the block-32 types, below). The tile path re-decodes and re-transposes each 4-row weight group for every 4
   activation rows; here each panel of 16 weight rows x one segment is decoded once per thread
   into a stack buffer and then run against all the activation rows of a chunk:
   - weights as unsigned bytes u = q + off (off: Q4_0 8, Q5_0 16, Q8_0 and IQ4_NL 128, Q4_1 and
     Q5_1 0, where q is the signed value the tile path multiplies), transposed to
     [block][4-value group j][row r][4 bytes]: one 64-byte vector per group holds the 16 rows;
     d (and m) per (block, row) as 16 floats;
   - activations quantized by the tile path's quantizer (same blocks, same bytes), regrouped as
     [block][activation row][32 signed bytes] with d (and s) as floats and -off * (the block's
     byte sum) as the int32 start of the block's dot product;
   - microkernel: 16 weight rows x 8 activation rows; per block an int32 vector per activation
     row starts at -off * sum(a), takes 8 vpdpbusd (the weights' group j, the activation's dword j
     broadcast) and is then the exact signed sum S of the tile path, lane r = weight row r; the
     float step is the tile path's, t = (d_w * d_a) * S (+ m_w * s_a), acc += t, block after
     block; acc starts at 0 per segment of CK_QSEG values and is added to out once per segment,
     as the tile path does for T >= 8 (its segment is CK_QSEG then). Every output is thus the same
     sequence of float operations as the tile path's: bit-identical to it, and for any thread
     count (a lane's arithmetic never depends on its neighbours; a partial panel repeats its last
     row in the unused lanes, which are not stored). */
#define CK__GI_MIN_T 8   /* the tile path's segment is CK_QSEG from T = 8 on */
#ifndef CK__GI_KS
#define CK__GI_KS CK_QSEG /* values per segment */
#endif
#ifndef CK__GI_TC
#define CK__GI_TC 64     /* activation rows quantized and run per weight panel */
#endif
#define CK__GI_NT 8      /* activation rows per microkernel call */
#if CK_HAVE_AVX2
static inline int32_t ck__ld32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* the sum of 32 signed bytes: sad of the biased bytes against 0, less 32 * 128 (the high dwords
   of sad's qwords are 0) */
static inline int ck__sum32_i8_avx2(const int8_t *q)
{
    return ck__hsum_i32_avx2(_mm256_sad_epu8(_mm256_xor_si256(ck__load256(q), _mm256_set1_epi8((char)0x80)), _mm256_setzero_si256())) - 32 * 128;
}

/* rows p + r * ld (r < nr), their first `bytes` bytes, into the cache (a prefetch never faults) */
static inline void ck__prefetch_rows(const char *p, size_t ld, int nr, size_t bytes)
{
    int r;
    size_t x;
    for (r = 0; r < nr; r++)
        for (x = 0; x < bytes; x += 64) _mm_prefetch(p + (size_t)r * ld + x, _MM_HINT_T0);
}

/* activation rows x[k * C] (k < nt), cs values -> aq[b][k][32], ad, as, ac[b][k] (stride tc) */
static void ck__gi_quant_act(int mn, int off, const float *x, size_t ldx, int nt, int cs, int tc, int8_t *aq, float *ad, float *as, int32_t *ac)
{
    union { ck_block_q8_0 b0[CK__GI_KS / CK_QK]; ck_block_q8_1 b1[CK__GI_KS / CK_QK]; } blk;
    const int nb = cs / CK_QK;
    int k, b;
    for (k = 0; k < nt; k++) {
        ck__quant_act_q8_01_avx2(x + (size_t)k * ldx, &blk, cs, mn);
        for (b = 0; b < nb; b++) {
            const int8_t *q = mn ? blk.b1[b].qs : blk.b0[b].qs;
            const size_t i = (size_t)b * tc + k;
            const int sum = ck__sum32_i8_avx2(q);
            _mm256_storeu_si256((__m256i *)(void *)(aq + i * 32), ck__load256(q));
            ad[i] = ck__h2f(mn ? blk.b1[b].d : blk.b0[b].d);
            as[i] = mn ? ck__h2f(blk.b1[b].s) : 0.0f;
            ac[i] = -off * sum;
        }
    }
}
#endif

#if CK_HAVE_AVX512
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
/* r[i] (16 dwords each) -> r[c] = (r[0][c], r[1][c], ..., r[15][c]): a 16 x 16 dword transpose,
   4 rounds of 16 two-source shuffles (unrolled by hand so that r stays in registers once inlined) */
CK__FORCE_INLINE void ck__transpose16_dwords_avx512(__m512i r[16])
{
    __m512i t[16], u[16];
    /* lane L of t[i], t[i + 1] (i even): r_i[4L], r_i+1[4L], r_i[4L+1], r_i+1[4L+1]; the same for 4L+2, 4L+3 */
#define CK__T1(i) t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]); t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    CK__T1(0) CK__T1(2) CK__T1(4) CK__T1(6) CK__T1(8) CK__T1(10) CK__T1(12) CK__T1(14)
#undef CK__T1
    /* lane L of u[i + k] (i = 0, 4, 8, 12): rows i..i+3 of column 4L + k */
#define CK__T2(i)                                                                                           \
    u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]); u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);         \
    u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]); u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    CK__T2(0) CK__T2(4) CK__T2(8) CK__T2(12)
#undef CK__T2
    /* column 4L + k: lane L of u[k], u[4 + k], u[8 + k], u[12 + k] */
#define CK__T3(k)                                                                                               \
    {                                                                                                           \
        const __m512i v0 = _mm512_shuffle_i32x4(u[k], u[4 + k], _MM_SHUFFLE(2, 0, 2, 0)), w0 = _mm512_shuffle_i32x4(u[k], u[4 + k], _MM_SHUFFLE(3, 1, 3, 1)); \
        const __m512i v1 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], _MM_SHUFFLE(2, 0, 2, 0)), w1 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], _MM_SHUFFLE(3, 1, 3, 1)); \
        r[k] = _mm512_shuffle_i32x4(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));                                           \
        r[8 + k] = _mm512_shuffle_i32x4(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));                                       \
        r[4 + k] = _mm512_shuffle_i32x4(w0, w1, _MM_SHUFFLE(2, 0, 2, 0));                                       \
        r[12 + k] = _mm512_shuffle_i32x4(w0, w1, _MM_SHUFFLE(3, 1, 3, 1));                                      \
    }
    CK__T3(0) CK__T3(1) CK__T3(2) CK__T3(3)
#undef CK__T3
}

/* rows of 8 dwords -> z[k] = dword k of rows 0..15, from a[i] = [row i | row i + 4] (i < 4) and
   a[4 + i] = [row 8 + i | row 12 + i]: three rounds of 8 shuffles */
CK__FORCE_INLINE void ck__transpose16x8_dwords_avx512(const __m512i a[8], __m512i z[8])
{
    __m512i t[8], u[8];
    /* lane L of u[4g + k]: a[4g..4g+3]'s dword 4L + k: rows 4g'.. of dword k (L = 0, 2) or 4 + k (L = 1, 3) */
#define CK__T1(i) t[i] = _mm512_unpacklo_epi32(a[i], a[i + 1]); t[i + 1] = _mm512_unpackhi_epi32(a[i], a[i + 1]);
    CK__T1(0) CK__T1(2) CK__T1(4) CK__T1(6)
#undef CK__T1
#define CK__T2(i)                                                                                           \
    u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]); u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);         \
    u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]); u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    CK__T2(0) CK__T2(4)
#undef CK__T2
#define CK__T3(k)                                                                                           \
    z[k] = _mm512_shuffle_i32x4(u[k], u[4 + k], _MM_SHUFFLE(2, 0, 2, 0));                                   \
    z[4 + k] = _mm512_shuffle_i32x4(u[k], u[4 + k], _MM_SHUFFLE(3, 1, 3, 1));
    CK__T3(0) CK__T3(1) CK__T3(2) CK__T3(3)
#undef CK__T3
}

/* the 16 rows of a panel, rows nr..15 repeating row nr - 1: row[i] = w + min(i, nr - 1) * ldw;
   returns the same offsets from w as int32 lanes (15 * ldw < 2^31) for the packers' gathers */
static inline __m512i ck__g16_rows(const char *w, size_t ldw, int nr, const char *row[16])
{
    int i;
    for (i = 0; i < 16; i++) row[i] = w + (size_t)CK_MIN(i, nr - 1) * ldw;
    return _mm512_mullo_epi32(_mm512_min_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(nr - 1)),
                              _mm512_set1_epi32((int)ldw));
}

/* Weight rows w + i * ldw (i < nr; rows nr..15 repeat row nr - 1), blocks 0..nb-1 -> wp
   (nb rounded up to even blocks of 512 bytes: [block][group j][row][4 bytes]), wd[block][row] = d,
   wm[block][row] = m (types with a min). 15 * ldw < 2^31 (the gather's offsets). */
CK__FORCE_INLINE void ck__gi_pack(int type, const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm)
{
    const int mn = type == CK_Q4_1 || type == CK_Q5_1;
    const size_t bsz = ck_type_block_bytes(type);
    const __m512i levels = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)ck__iq4nl_values)), _mm512_set1_epi8((char)0x80));
    const char *row[16];
    int b;
    const __m512i roff = ck__g16_rows(w, ldw, nr, row); /* the rows' offsets from w, for gathers */
    for (b = 0; b < nb; b += 2) {
        const size_t ox = (size_t)b * bsz, oy = b + 1 < nb ? ox + bsz : ox; /* an odd last block: itself twice */
        const __m512i gx = _mm512_i32gather_epi32(roff, (const void *)(w + ox), 1), gy = _mm512_i32gather_epi32(roff, (const void *)(w + oy), 1);
        if (type == CK_Q4_0 || type == CK_Q4_1 || type == CK_IQ4_NL) {
            /* 4-bit values: transposed while packed, two values a byte (half the data), then split.
               a[i] = [row i: x's 16 bytes, y's | row i + 4: the same] (i < 4), [rows 8 + i | 12 + i] (i >= 4) */
            const size_t qo = type == CK_Q4_1 ? 4 : 2; /* the nibbles after d (and m) */
            const __m512i m4 = _mm512_set1_epi8(15);
            __m512i a[8], z[8];
#define CK__GI_LD2(p) _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)((p) + ox + qo))), \
                                              _mm_loadu_si128((const __m128i *)(const void *)((p) + oy + qo)), 1)
#define CK__GI_A(i, r0, r1) a[i] = _mm512_inserti64x4(_mm512_castsi256_si512(CK__GI_LD2(row[r0])), CK__GI_LD2(row[r1]), 1);
            CK__GI_A(0, 0, 4) CK__GI_A(1, 1, 5) CK__GI_A(2, 2, 6) CK__GI_A(3, 3, 7) CK__GI_A(4, 8, 12) CK__GI_A(5, 9, 13) CK__GI_A(6, 10, 14) CK__GI_A(7, 11, 15)
#undef CK__GI_A
#undef CK__GI_LD2
            /* z[k]: the 16 rows' nibble bytes 4k..4k+3 of x (k < 4), of y (k >= 4): low nibbles = group k % 4, high = 4 + k % 4 */
            ck__transpose16x8_dwords_avx512(a, z);
#define CK__GI_SPLIT(zk, blk, k)                                                                                                    \
            {                                                                                                                       \
                __m512i lo_ = _mm512_and_si512(zk, m4), hi_ = _mm512_and_si512(_mm512_srli_epi16(zk, 4), m4);                      \
                if (type == CK_IQ4_NL) { lo_ = _mm512_shuffle_epi8(levels, lo_); hi_ = _mm512_shuffle_epi8(levels, hi_); }         \
                _mm512_store_si512((void *)(wp + (size_t)(blk) * 512 + (k) * 64), lo_);                                             \
                _mm512_store_si512((void *)(wp + (size_t)(blk) * 512 + (4 + (k)) * 64), hi_);                                       \
            }
            CK__GI_SPLIT(z[0], b, 0) CK__GI_SPLIT(z[1], b, 1) CK__GI_SPLIT(z[2], b, 2) CK__GI_SPLIT(z[3], b, 3)
            CK__GI_SPLIT(z[4], b + 1, 0) CK__GI_SPLIT(z[5], b + 1, 1) CK__GI_SPLIT(z[6], b + 1, 2) CK__GI_SPLIT(z[7], b + 1, 3)
#undef CK__GI_SPLIT
        } else { /* 8-bit values, or the Q5 fifth bits added: the 16 rows' bytes, then transposed */
            __m512i r[16];
/* the tile kernel's register (u = q + off: the same offsets), its 128-bit lanes 1 and 2 swapped
   to value order [x: 0..31 | y: 0..31] */
#define CK__GI_ROW(i) r[i] = ck__wblock2_avx512(type, row[i] + ox, row[i] + oy, levels); r[i] = _mm512_shuffle_i64x2(r[i], r[i], _MM_SHUFFLE(3, 1, 2, 0));
            CK__GI_ROW(0) CK__GI_ROW(1) CK__GI_ROW(2) CK__GI_ROW(3) CK__GI_ROW(4) CK__GI_ROW(5) CK__GI_ROW(6) CK__GI_ROW(7)
            CK__GI_ROW(8) CK__GI_ROW(9) CK__GI_ROW(10) CK__GI_ROW(11) CK__GI_ROW(12) CK__GI_ROW(13) CK__GI_ROW(14) CK__GI_ROW(15)
#undef CK__GI_ROW
            ck__transpose16_dwords_avx512(r); /* r[c]: dword c of the 16 rows; c = 8 * (block - b) + j */
#define CK__GI_ST(i) _mm512_store_si512((void *)(wp + (size_t)b * 512 + (i) * 64), r[i]);
            CK__GI_ST(0) CK__GI_ST(1) CK__GI_ST(2) CK__GI_ST(3) CK__GI_ST(4) CK__GI_ST(5) CK__GI_ST(6) CK__GI_ST(7)
            CK__GI_ST(8) CK__GI_ST(9) CK__GI_ST(10) CK__GI_ST(11) CK__GI_ST(12) CK__GI_ST(13) CK__GI_ST(14) CK__GI_ST(15)
#undef CK__GI_ST
        }
        _mm512_store_ps(wd + (size_t)b * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(gx))); /* d: the first field, m the second */
        _mm512_store_ps(wd + (size_t)(b + 1) * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(gy)));
        if (mn) {
            _mm512_store_ps(wm + (size_t)b * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(gx, 16))));
            _mm512_store_ps(wm + (size_t)(b + 1) * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(gy, 16))));
        }
    }
}

/* The microkernels' shared steps on 16 weight rows (the lanes) x 8 activation rows k (int32
   accumulators i0..i7, sums s0..s7, float accumulators f0..f7; w: a panel's groups, a: the
   activation bytes [k][32]):
   CK__G8_DPBUSD(j): i_k += the 16 rows' values 4j..4j+3 (unsigned) . activation row k's (signed)
   CK__G8_MULACC(sc): s_k += i_k * sc (the rows' integer scales)
   CK__G8_DPWSSD(acc, m, p, n, j): acc_k += m (int16 pairs per row) . the pair p[k * n + j]
   CK__G8_OUT(): out row k (k >= skip, lanes in mask) = (the first segment: bias or 0; else out) + f_k */
#define CK__G8_DPBUSD(j)                                                                                \
    {                                                                                                   \
        const __m512i wj_ = _mm512_load_si512((const void *)(w + 64 * (j)));                            \
        i0 = _mm512_dpbusd_epi32(i0, wj_, _mm512_set1_epi32(ck__ld32(a + 0 * 32 + 4 * (j))));           \
        i1 = _mm512_dpbusd_epi32(i1, wj_, _mm512_set1_epi32(ck__ld32(a + 1 * 32 + 4 * (j))));           \
        i2 = _mm512_dpbusd_epi32(i2, wj_, _mm512_set1_epi32(ck__ld32(a + 2 * 32 + 4 * (j))));           \
        i3 = _mm512_dpbusd_epi32(i3, wj_, _mm512_set1_epi32(ck__ld32(a + 3 * 32 + 4 * (j))));           \
        i4 = _mm512_dpbusd_epi32(i4, wj_, _mm512_set1_epi32(ck__ld32(a + 4 * 32 + 4 * (j))));           \
        i5 = _mm512_dpbusd_epi32(i5, wj_, _mm512_set1_epi32(ck__ld32(a + 5 * 32 + 4 * (j))));           \
        i6 = _mm512_dpbusd_epi32(i6, wj_, _mm512_set1_epi32(ck__ld32(a + 6 * 32 + 4 * (j))));           \
        i7 = _mm512_dpbusd_epi32(i7, wj_, _mm512_set1_epi32(ck__ld32(a + 7 * 32 + 4 * (j))));           \
    }
#define CK__G8_MULACC(sc)                                                                                                    \
    s0 = _mm512_add_epi32(s0, _mm512_mullo_epi32(i0, sc)); s1 = _mm512_add_epi32(s1, _mm512_mullo_epi32(i1, sc));            \
    s2 = _mm512_add_epi32(s2, _mm512_mullo_epi32(i2, sc)); s3 = _mm512_add_epi32(s3, _mm512_mullo_epi32(i3, sc));            \
    s4 = _mm512_add_epi32(s4, _mm512_mullo_epi32(i4, sc)); s5 = _mm512_add_epi32(s5, _mm512_mullo_epi32(i5, sc));            \
    s6 = _mm512_add_epi32(s6, _mm512_mullo_epi32(i6, sc)); s7 = _mm512_add_epi32(s7, _mm512_mullo_epi32(i7, sc));
#define CK__G8_DPWSSD(acc, m, p, n, j)                                                                                                   \
    acc##0 = _mm512_dpwssd_epi32(acc##0, m, _mm512_set1_epi32((p)[0 * (n) + (j)])); acc##1 = _mm512_dpwssd_epi32(acc##1, m, _mm512_set1_epi32((p)[1 * (n) + (j)])); \
    acc##2 = _mm512_dpwssd_epi32(acc##2, m, _mm512_set1_epi32((p)[2 * (n) + (j)])); acc##3 = _mm512_dpwssd_epi32(acc##3, m, _mm512_set1_epi32((p)[3 * (n) + (j)])); \
    acc##4 = _mm512_dpwssd_epi32(acc##4, m, _mm512_set1_epi32((p)[4 * (n) + (j)])); acc##5 = _mm512_dpwssd_epi32(acc##5, m, _mm512_set1_epi32((p)[5 * (n) + (j)])); \
    acc##6 = _mm512_dpwssd_epi32(acc##6, m, _mm512_set1_epi32((p)[6 * (n) + (j)])); acc##7 = _mm512_dpwssd_epi32(acc##7, m, _mm512_set1_epi32((p)[7 * (n) + (j)]));
#define CK__G8_OUT1(f, k)                                                                                                  \
    if (k >= skip) _mm512_mask_storeu_ps(out + (size_t)(k) * ldo, mask, _mm512_add_ps(first ? base_ : _mm512_maskz_loadu_ps(mask, out + (size_t)(k) * ldo), f));
#define CK__G8_OUT()                                                                                                       \
    {                                                                                                                      \
        const __m512 base_ = first && bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();                      \
        CK__G8_OUT1(f0, 0) CK__G8_OUT1(f1, 1) CK__G8_OUT1(f2, 2) CK__G8_OUT1(f3, 3)                                        \
        CK__G8_OUT1(f4, 4) CK__G8_OUT1(f5, 5) CK__G8_OUT1(f6, 6) CK__G8_OUT1(f7, 7)                                        \
    }

/* 16 weight rows (packed by ck__gi_pack) x activation rows 0..7: out[k * ldo + r] += the segment's
   sum for lanes r in mask and rows k >= skip (rows below were stored by the group before); in
   the first segment out[k * ldo + r] = (bias[r] or 0) + the sum. aq[b][k][32],
   ad/as/ac[b][k] with k < tc (the chunk's row stride). */
CK__FORCE_INLINE void ck__gi_kernel16x8(int mn, const uint8_t *wp, const float *wd, const float *wm, const int8_t *aq, const float *ad,
                                        const float *as, const int32_t *ac, int tc, int nb, float *out, size_t ldo, int skip, __mmask16 mask, int first,
                                        const float *bias)
{
    __m512 f0 = _mm512_setzero_ps(), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0;
    int b;
    for (b = 0; b < nb; b++) {
        const uint8_t *w = wp + (size_t)b * 512;
        const int8_t *a = aq + (size_t)b * tc * 32;
        const float *d = ad + (size_t)b * tc, *s = as + (size_t)b * tc;
        const int32_t *c = ac + (size_t)b * tc;
        const __m512 dw = _mm512_load_ps(wd + (size_t)b * 16);
        __m512i i0 = _mm512_set1_epi32(c[0]), i1 = _mm512_set1_epi32(c[1]), i2 = _mm512_set1_epi32(c[2]), i3 = _mm512_set1_epi32(c[3]);
        __m512i i4 = _mm512_set1_epi32(c[4]), i5 = _mm512_set1_epi32(c[5]), i6 = _mm512_set1_epi32(c[6]), i7 = _mm512_set1_epi32(c[7]);
        /* group j: the 16 rows' values 4j..4j+3 times each activation row's (unrolled: gcc copied
           the eight accumulators in and out of a rolled loop) */
        CK__G8_DPBUSD(0) CK__G8_DPBUSD(1) CK__G8_DPBUSD(2) CK__G8_DPBUSD(3) CK__G8_DPBUSD(4) CK__G8_DPBUSD(5) CK__G8_DPBUSD(6) CK__G8_DPBUSD(7)
        /* the tile path's float step: t = (d_w * d_a) * S (+ m_w * s_a); acc = acc + t */
#define CK__GI_STEP(f, ii, k)                                                                               \
        {                                                                                                   \
            __m512 t_ = _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(d[k])), _mm512_cvtepi32_ps(ii));     \
            if (mn) t_ = _mm512_add_ps(t_, _mm512_mul_ps(_mm512_load_ps(wm + (size_t)b * 16), _mm512_set1_ps(s[k]))); \
            f = _mm512_add_ps(f, t_);                                                                       \
        }
        CK__GI_STEP(f0, i0, 0) CK__GI_STEP(f1, i1, 1) CK__GI_STEP(f2, i2, 2) CK__GI_STEP(f3, i3, 3)
        CK__GI_STEP(f4, i4, 4) CK__GI_STEP(f5, i5, 5) CK__GI_STEP(f6, i6, 6) CK__GI_STEP(f7, i7, 7)
#undef CK__GI_STEP
    }
    CK__G8_OUT() /* the first segment: out = (bias or 0) + acc, as the tile path's initialised out + acc */
}

static void ck__gi_kernel16x8_q(const uint8_t *wp, const float *wd, const float *wm, const int8_t *aq, const float *ad, const float *as,
                                const int32_t *ac, int tc, int nb, float *out, size_t ldo, int skip, __mmask16 mask, int first,
                                const float *bias)
{
    ck__gi_kernel16x8(0, wp, wd, wm, aq, ad, as, ac, tc, nb, out, ldo, skip, mask, first, bias);
}
static void ck__gi_kernel16x8_qm(const uint8_t *wp, const float *wd, const float *wm, const int8_t *aq, const float *ad, const float *as,
                                 const int32_t *ac, int tc, int nb, float *out, size_t ldo, int skip, __mmask16 mask, int first,
                                 const float *bias)
{
    ck__gi_kernel16x8(1, wp, wd, wm, aq, ad, as, ac, tc, nb, out, ldo, skip, mask, first, bias);
}

static void ck__gi_pack_q4_0(const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm) { ck__gi_pack(CK_Q4_0, w, ldw, nr, nb, wp, wd, wm); }
static void ck__gi_pack_q5_0(const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm) { ck__gi_pack(CK_Q5_0, w, ldw, nr, nb, wp, wd, wm); }
static void ck__gi_pack_q8_0(const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm) { ck__gi_pack(CK_Q8_0, w, ldw, nr, nb, wp, wd, wm); }
static void ck__gi_pack_iq4_nl(const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm) { ck__gi_pack(CK_IQ4_NL, w, ldw, nr, nb, wp, wd, wm); }
static void ck__gi_pack_q4_1(const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm) { ck__gi_pack(CK_Q4_1, w, ldw, nr, nb, wp, wd, wm); }
static void ck__gi_pack_q5_1(const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm) { ck__gi_pack(CK_Q5_1, w, ldw, nr, nb, wp, wd, wm); }

/* (AVX-512 kernels) where a group-block's value chunks start: after the 16 d (and Q5_0's 16 qh) */
static size_t ck__x16_qs_off(int type) { return type == CK_Q5_0_X16 ? 96 : 32; }
/* CK_Q5_0_X16: the bytes q of group k (values 4k..4k+3 of the 16 rows, k = 0..7: chunk k's low
   nibbles, chunk k - 4's high ones) with their fifth bits added as 16; bits 4k..4k+3 of each row's
   qh dword: its byte k / 2 spread to the dword's 4 bytes, tested against 1 << (4 (k % 2) + byte) */
CK__FORCE_INLINE __m512i ck__q5x16_bits(__m512i q, __m512i qh, int k)
{
    const __m512i idx = _mm512_add_epi8(_mm512_set4_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0), _mm512_set1_epi8((char)(k / 2)));
    const __mmask64 m = _mm512_test_epi8_mask(_mm512_shuffle_epi8(qh, idx), _mm512_set1_epi32((int)(0x08040201u << (4 * (k % 2)))));
    return _mm512_mask_add_epi8(q, m, q, _mm512_set1_epi8(16));
}

/* ck__gi_pack's panel of 16 whole rows of a repacked matrix, blocks 0..nb-1 from p (the group's
   first block of the segment): the layout already holds [row][4 bytes] per chunk j, so Q4_0's
   group j is chunk j's low nibbles and group j + 4 its high ones (Q5_0: the fifth bits added), Q8_0's group j chunk j made
   unsigned (+ 128, the panel's offset); the same bytes and floats as ck__gi_pack of the GGUF
   rows (an odd last block again written twice) */
static void ck__gi_pack_x16(int type, const uint8_t *p, int nb, uint8_t *wp, float *wd)
{
    const __m512i m4 = _mm512_set1_epi8(15), x80 = _mm512_set1_epi8((char)0x80);
    const size_t gsz = 16 * ck__x16_bsz(type), qo = ck__x16_qs_off(type);
    int b, j;
    for (b = 0; b < nb + (nb & 1); b++) {
        const uint8_t *q = p + (size_t)CK_MIN(b, nb - 1) * gsz;
        const __m512i qh = type == CK_Q5_0_X16 ? _mm512_loadu_si512((const void *)(q + 32)) : _mm512_setzero_si512();
        _mm512_store_ps(wd + (size_t)b * 16, _mm512_cvtph_ps(ck__load256(q)));
        for (j = 0; j < 4; j++) {
            const __m512i c = _mm512_loadu_si512((const void *)(q + qo + 64 * j));
            if (type == CK_Q5_0_X16) {
                _mm512_store_si512((void *)(wp + (size_t)b * 512 + 64 * j), ck__q5x16_bits(_mm512_and_si512(c, m4), qh, j));
                _mm512_store_si512((void *)(wp + (size_t)b * 512 + 64 * (j + 4)), ck__q5x16_bits(_mm512_and_si512(_mm512_srli_epi16(c, 4), m4), qh, j + 4));
            } else if (type == CK_Q8_0_X16) {
                const __m512i c2 = _mm512_loadu_si512((const void *)(q + 32 + 64 * (j + 4)));
                _mm512_store_si512((void *)(wp + (size_t)b * 512 + 64 * j), _mm512_xor_si512(c, x80));
                _mm512_store_si512((void *)(wp + (size_t)b * 512 + 64 * (j + 4)), _mm512_xor_si512(c2, x80));
            } else {
                _mm512_store_si512((void *)(wp + (size_t)b * 512 + 64 * j), _mm512_and_si512(c, m4));
                _mm512_store_si512((void *)(wp + (size_t)b * 512 + 64 * (j + 4)), _mm512_and_si512(_mm512_srli_epi16(c, 4), m4));
            }
        }
    }
}


/* ---- the same for Q4_K and Q5_K: 32-value sub-blocks through the microkernel's int32 sums ----
   The tile path's arithmetic per super-block of 256, per (weight row, activation row):
   S = sum_j sc_j * S_j (S_j the exact dot product of sub-block j's unsigned values with the
   activation bytes), M = sum_j m_j * (the activation sub-block's sum, from Q8_K's bsums), then
   acc = fma(S, d_w * d_a, acc), acc = fnmadd(M, dmin_w * d_a, acc); acc from 0 per segment of
   CK_QSEG values, added to out per segment. Here S_j comes from 8 vpdpbusd as above, S from
   vpmulld with the per-(row, sub-block) scales, M from 4 vpdpwssd ((m_2k, m_2k+1) per row x the
   activation's sub-block sums in pairs), and the float steps are the same: bit-identical. */

/* the 32 bytes at row[r] + o for the 16 rows, transposed: z[k] = bytes 4k..4k+3 of each row */
CK__FORCE_INLINE void ck__gk_rows32(const char *const *row, size_t o, __m512i z[8])
{
    __m512i a[8];
#define CK__A(i, r0, r1) a[i] = _mm512_inserti64x4(_mm512_castsi256_si512(ck__load256(row[r0] + o)), ck__load256(row[r1] + o), 1);
    CK__A(0, 0, 4) CK__A(1, 1, 5) CK__A(2, 2, 6) CK__A(3, 3, 7) CK__A(4, 8, 12) CK__A(5, 9, 13) CK__A(6, 10, 14) CK__A(7, 11, 15)
#undef CK__A
    ck__transpose16x8_dwords_avx512(a, z);
}

/* Q4_K / Q5_K weight rows w + i * ldw (i < nr; the others repeat row nr - 1), super-blocks
   0..nsb-1 -> wp[sub-block][group][row][4] (unsigned values), wsc[sub-block][row] = sc (int32),
   wmn[super-block][k][row] = (m_2k, m_2k+1) (int16 pairs), wd / wdm[super-block][row] = d / dmin */
CK__FORCE_INLINE void ck__gk_pack(int five, const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wmn, float *wd, float *wdm)
{
    const size_t bsz = five ? sizeof(ck_block_q5_K) : sizeof(ck_block_q4_K), qso = five ? 48 : 16; /* qs after d, dmin, scales (qh) */
    const __m512i m4 = _mm512_set1_epi8(15), x3f = _mm512_set1_epi32(0x3f3f3f3f), x0f = _mm512_set1_epi32(0x0f0f0f0f), x03 = _mm512_set1_epi32(0x03030303);
    const __m512i xff = _mm512_set1_epi32(0xff), xff0000 = _mm512_set1_epi32(0xff0000);
    const char *row[16];
    int s, c, k;
    const __m512i roff = ck__g16_rows(w, ldw, nr, row); /* the rows' offsets from w, for gathers */
    for (s = 0; s < nsb; s++) {
        const size_t o = (size_t)s * bsz;
        /* d | dmin << 16, then the 12 scale bytes as three words, for the 16 rows */
        const __m512i g0 = _mm512_i32gather_epi32(roff, (const void *)(w + o), 1), w0 = _mm512_i32gather_epi32(roff, (const void *)(w + o + 4), 1);
        const __m512i w1 = _mm512_i32gather_epi32(roff, (const void *)(w + o + 8), 1), w2 = _mm512_i32gather_epi32(roff, (const void *)(w + o + 12), 1);
        /* ck__scales_mins_k4_avx2's words, per row: sc 0..3, sc 4..7, m 0..3, m 4..7 */
        const __m512i r0 = _mm512_and_si512(w0, x3f), r2 = _mm512_and_si512(w1, x3f);
        const __m512i r1 = _mm512_or_si512(_mm512_and_si512(w2, x0f), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w0, 6), x03), 4));
        const __m512i r3 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 4), x0f), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w1, 6), x03), 4));
        __m512i qh[8], z[8];
        _mm512_store_ps(wd + (size_t)s * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(g0)));
        _mm512_store_ps(wdm + (size_t)s * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(g0, 16))));
        for (k = 0; k < 4; k++) {
            _mm512_store_si512((void *)(wsc + (size_t)(8 * s + k) * 16), _mm512_and_si512(_mm512_srli_epi32(r0, 8 * k), xff));
            _mm512_store_si512((void *)(wsc + (size_t)(8 * s + 4 + k) * 16), _mm512_and_si512(_mm512_srli_epi32(r1, 8 * k), xff));
        }
        /* (m_2k, m_2k+1): bytes 2k', 2k'+1 of r2 (k < 2) or r3 as int16 */
        _mm512_store_si512((void *)(wmn + (size_t)(4 * s + 0) * 16), _mm512_or_si512(_mm512_and_si512(r2, xff), _mm512_and_si512(_mm512_slli_epi32(r2, 8), xff0000)));
        _mm512_store_si512((void *)(wmn + (size_t)(4 * s + 1) * 16), _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(r2, 16), xff), _mm512_and_si512(_mm512_srli_epi32(r2, 8), xff0000)));
        _mm512_store_si512((void *)(wmn + (size_t)(4 * s + 2) * 16), _mm512_or_si512(_mm512_and_si512(r3, xff), _mm512_and_si512(_mm512_slli_epi32(r3, 8), xff0000)));
        _mm512_store_si512((void *)(wmn + (size_t)(4 * s + 3) * 16), _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(r3, 16), xff), _mm512_and_si512(_mm512_srli_epi32(r3, 8), xff0000)));
        /* Q5_K: value l of sub-block j has its fifth bit at bit j of qh[l] */
        if (five) ck__gk_rows32(row, o + 16, qh);
        for (c = 0; c < 4; c++) { /* qs[32c + l]: value l of sub-block 2c (low nibble) and of 2c + 1 (high) */
            ck__gk_rows32(row, o + qso + 32 * (size_t)c, z);
            for (k = 0; k < 8; k++) {
                __m512i lo = _mm512_and_si512(z[k], m4), hi = _mm512_and_si512(_mm512_srli_epi16(z[k], 4), m4);
                if (five) {
                    lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh[k], _mm512_set1_epi8((char)(1 << (2 * c)))), lo, _mm512_set1_epi8(16));
                    hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh[k], _mm512_set1_epi8((char)(1 << (2 * c + 1)))), hi, _mm512_set1_epi8(16));
                }
                _mm512_store_si512((void *)(wp + (size_t)(8 * s + 2 * c) * 512 + (size_t)k * 64), lo);
                _mm512_store_si512((void *)(wp + (size_t)(8 * s + 2 * c + 1) * 512 + (size_t)k * 64), hi);
            }
        }
    }
}
static void ck__gk_pack_q4_K(const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wmn, float *wd, float *wdm)
{
    ck__gk_pack(0, w, ldw, nr, nsb, wp, wsc, wmn, wd, wdm);
}
static void ck__gk_pack_q5_K(const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wmn, float *wd, float *wdm)
{
    ck__gk_pack(1, w, ldw, nr, nsb, wp, wsc, wmn, wd, wdm);
}

/* 16 weight rows (ck__gk_pack) x activation rows 0..7, as ck__gi_kernel16x8: aq[sub-block][k][32],
   ad[super-block][k] = d, abp[super-block][k][4] = the sub-blocks' activation sums as int16 pairs */
static void ck__gk_kernel16x8(const uint8_t *wp, const int32_t *wsc, const int32_t *wmn, const float *wd, const float *wdm, const int8_t *aq,
                              const float *ad, const int32_t *abp, int tc, int nsb, float *out, size_t ldo, int skip, __mmask16 mask, int first,
                              const float *bias)
{
    __m512 f0 = _mm512_setzero_ps(), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0;
    int s, j;
    for (s = 0; s < nsb; s++) {
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        __m512i i0, i1, i2, i3, i4, i5, i6, i7;
        const float *d = ad + (size_t)s * tc;
        const int32_t *p = abp + (size_t)s * tc * 4;
        __m512 dw, dm;
        for (j = 0; j < 8; j++) {
            const uint8_t *w = wp + (size_t)(8 * s + j) * 512;
            const int8_t *a = aq + (size_t)(8 * s + j) * tc * 32;
            const __m512i sc = _mm512_load_si512((const void *)(wsc + (size_t)(8 * s + j) * 16));
            i0 = i1 = i2 = i3 = i4 = i5 = i6 = i7 = _mm512_setzero_si512();
            CK__G8_DPBUSD(0) CK__G8_DPBUSD(1) CK__G8_DPBUSD(2) CK__G8_DPBUSD(3) CK__G8_DPBUSD(4) CK__G8_DPBUSD(5) CK__G8_DPBUSD(6) CK__G8_DPBUSD(7)
            CK__G8_MULACC(sc)
        }
        /* M = sum_j m_j * (activation sum of sub-block j) */
        i0 = i1 = i2 = i3 = i4 = i5 = i6 = i7 = _mm512_setzero_si512();
        for (j = 0; j < 4; j++) {
            const __m512i mk = _mm512_load_si512((const void *)(wmn + (size_t)(4 * s + j) * 16));
            CK__G8_DPWSSD(i, mk, p, 4, j)
        }
        dw = _mm512_load_ps(wd + (size_t)s * 16);
        dm = _mm512_load_ps(wdm + (size_t)s * 16);
        /* the tile path's float steps */
#define CK__GK_STEP(f, ss, ii, k)                                                                               \
        f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ss), _mm512_mul_ps(dw, _mm512_set1_ps(d[k])), f);                \
        f = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ii), _mm512_mul_ps(dm, _mm512_set1_ps(d[k])), f);
        CK__GK_STEP(f0, s0, i0, 0) CK__GK_STEP(f1, s1, i1, 1) CK__GK_STEP(f2, s2, i2, 2) CK__GK_STEP(f3, s3, i3, 3)
        CK__GK_STEP(f4, s4, i4, 4) CK__GK_STEP(f5, s5, i5, 5) CK__GK_STEP(f6, s6, i6, 6) CK__GK_STEP(f7, s7, i7, 7)
#undef CK__GK_STEP
    }
    CK__G8_OUT()
}

/* Q6_K: 16 sub-blocks of 16 signed-scale values, u = q (0..63) with the -32 through the bsums:
   per super-block S = -32 sum_g sc_g bsum_g (8 vpdpwssd on int16 pairs) + sum_g sc_g S_g, then
   acc = fma(S, d_w * d_a, acc), as the tile path. wp as ck__gk_pack's (32-value units, group k =
   values 4k..4k+3: sub-block 2u is groups 0..3, 2u + 1 groups 4..7), wsc[sub-block of 16][row],
   wn[super-block][p][row] = (-32 sc_2p, -32 sc_2p+1) (int16 pairs), wd[super-block][row] */
CK__FORCE_INLINE void ck__gk6_pack(const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wn, float *wd)
{
    const size_t bsz = sizeof(ck_block_q6_K);
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30), lo16 = _mm512_set1_epi32(0xffff);
    const char *row[16];
    int s, h, c, k, g;
    const __m512i roff = ck__g16_rows(w, ldw, nr, row); /* the rows' offsets from w, for gathers */
    for (s = 0; s < nsb; s++) {
        const size_t o = (size_t)s * bsz;
        __m512i sc[16], za[8], zb[8], zq[8];
        /* scales[16] at 192, d at 208 (read as the dword at 206: the block ends at 210) */
        for (c = 0; c < 4; c++) {
            const __m512i g4 = _mm512_i32gather_epi32(roff, (const void *)(w + o + 192 + 4 * c), 1);
            for (k = 0; k < 4; k++) sc[4 * c + k] = _mm512_srai_epi32(_mm512_slli_epi32(g4, 24 - 8 * k), 24);
        }
        _mm512_store_ps(wd + (size_t)s * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_i32gather_epi32(roff, (const void *)(w + o + 206), 1), 16))));
        for (g = 0; g < 16; g++) _mm512_store_si512((void *)(wsc + (size_t)(16 * s + g) * 16), sc[g]);
        for (g = 0; g < 8; g++) {
            const __m512i n0 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sc[2 * g], 5));
            const __m512i n1 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sc[2 * g + 1], 5));
            _mm512_store_si512((void *)(wn + (size_t)(8 * s + g) * 16), _mm512_or_si512(_mm512_and_si512(n0, lo16), _mm512_slli_epi32(n1, 16)));
        }
        for (h = 0; h < 2; h++) { /* values 128h + 32m + l: ql[64h + l] (m = 0, 2: low, high nibble), ql[64h + 32 + l] (m = 1, 3), bits 2m of qh[32h + l] */
            ck__gk_rows32(row, o + 64 * (size_t)h, za);
            ck__gk_rows32(row, o + 64 * (size_t)h + 32, zb);
            ck__gk_rows32(row, o + 128 + 32 * (size_t)h, zq);
            for (k = 0; k < 8; k++) {
                uint8_t *p = wp + (size_t)(8 * s + 4 * h) * 512 + (size_t)k * 64;
                _mm512_store_si512((void *)p, _mm512_or_si512(_mm512_and_si512(za[k], m4), _mm512_and_si512(_mm512_slli_epi16(zq[k], 4), m30)));
                _mm512_store_si512((void *)(p + 512), _mm512_or_si512(_mm512_and_si512(zb[k], m4), _mm512_and_si512(_mm512_slli_epi16(zq[k], 2), m30)));
                _mm512_store_si512((void *)(p + 1024), _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(za[k], 4), m4), _mm512_and_si512(zq[k], m30)));
                _mm512_store_si512((void *)(p + 1536), _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(zb[k], 4), m4), _mm512_and_si512(_mm512_srli_epi16(zq[k], 2), m30)));
            }
        }
    }
}
static void ck__gk_pack_q6_K(const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wmn, float *wd, float *wdm)
{
    (void)wdm; /* no mins */
    ck__gk6_pack(w, ldw, nr, nsb, wp, wsc, wmn, wd);
}

/* Q2_K (q 0..3 with a 4-bit scale and min per 16 values) and Q3_K (u = q + 4 in 0..7, 6-bit
   signed scales, the -4 through the bsums) in ck__gk6_pack's layout: wn = (-4 sc) pairs (Q3_K) or
   (m_2p, m_2p+1) pairs (Q2_K: the mins, a separate sum as the tile path's), wdm = dmin (Q2_K).
   Value 32m + l of a super-block: bits 2 (m % 4) of qs[32 (m / 4) + l]; Q3_K: bit m of hmask[l]. */
CK__FORCE_INLINE void ck__gk23_pack(int three, const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wn, float *wd, float *wdm)
{
    const size_t bsz = three ? sizeof(ck_block_q3_K) : sizeof(ck_block_q2_K), qso = three ? 32 : 16;
    const __m512i m3 = _mm512_set1_epi8(3), lo16 = _mm512_set1_epi32(0xffff), xff = _mm512_set1_epi32(0xff), x0f = _mm512_set1_epi32(0x0f0f0f0f),
                  x03 = _mm512_set1_epi32(0x03030303);
    const char *row[16];
    int s, n, j, k, g;
    const __m512i roff = ck__g16_rows(w, ldw, nr, row); /* the rows' offsets from w, for gathers */
    for (s = 0; s < nsb; s++) {
        const size_t o = (size_t)s * bsz;
        __m512i sc[16], nv[16], zq[8], zh[8], r[4];
        if (three) { /* scales[12] at 96 (ck__q23_K_scales_avx512's words), d at 108 (the dword at 106) */
            const __m512i a0 = _mm512_i32gather_epi32(roff, (const void *)(w + o + 96), 1), a1 = _mm512_i32gather_epi32(roff, (const void *)(w + o + 100), 1);
            const __m512i ww = _mm512_i32gather_epi32(roff, (const void *)(w + o + 104), 1);
            r[0] = _mm512_or_si512(_mm512_and_si512(a0, x0f), _mm512_slli_epi32(_mm512_and_si512(ww, x03), 4));
            r[1] = _mm512_or_si512(_mm512_and_si512(a1, x0f), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(ww, 2), x03), 4));
            r[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(a0, 4), x0f), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(ww, 4), x03), 4));
            r[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(a1, 4), x0f), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(ww, 6), x03), 4));
            for (g = 0; g < 16; g++) {
                sc[g] = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(r[g / 4], 8 * (g % 4)), xff), _mm512_set1_epi32(32));
                nv[g] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sc[g], 2));
            }
            _mm512_store_ps(wd + (size_t)s * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_i32gather_epi32(roff, (const void *)(w + o + 106), 1), 16))));
            ck__gk_rows32(row, o, zh);
        } else { /* scales[16] at 0 (sc | m << 4), d | dmin << 16 at 80 */
            const __m512i g0 = _mm512_i32gather_epi32(roff, (const void *)(w + o + 80), 1);
            for (k = 0; k < 4; k++) r[k] = _mm512_i32gather_epi32(roff, (const void *)(w + o + 4 * k), 1);
            for (g = 0; g < 16; g++) {
                const __m512i b = _mm512_and_si512(_mm512_srli_epi32(r[g / 4], 8 * (g % 4)), xff);
                sc[g] = _mm512_and_si512(b, _mm512_set1_epi32(15));
                nv[g] = _mm512_srli_epi32(b, 4);
            }
            _mm512_store_ps(wd + (size_t)s * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(g0)));
            _mm512_store_ps(wdm + (size_t)s * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(g0, 16))));
        }
        for (g = 0; g < 16; g++) _mm512_store_si512((void *)(wsc + (size_t)(16 * s + g) * 16), sc[g]);
        for (g = 0; g < 8; g++)
            _mm512_store_si512((void *)(wn + (size_t)(8 * s + g) * 16), _mm512_or_si512(_mm512_and_si512(nv[2 * g], lo16), _mm512_slli_epi32(nv[2 * g + 1], 16)));
        for (n = 0; n < 2; n++) {
            ck__gk_rows32(row, o + qso + 32 * (size_t)n, zq);
            for (j = 0; j < 4; j++) { /* unit m = 4n + j */
                const int m = 4 * n + j;
                for (k = 0; k < 8; k++) {
                    __m512i u = _mm512_and_si512(_mm512_srli_epi16(zq[k], 2 * j), m3);
                    if (three) u = _mm512_mask_add_epi8(u, _mm512_test_epi8_mask(zh[k], _mm512_set1_epi8((char)(1 << m))), u, _mm512_set1_epi8(4));
                    _mm512_store_si512((void *)(wp + (size_t)(8 * s + m) * 512 + (size_t)k * 64), u);
                }
            }
        }
    }
}
static void ck__gk_pack_q2_K(const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wmn, float *wd, float *wdm)
{
    ck__gk23_pack(0, w, ldw, nr, nsb, wp, wsc, wmn, wd, wdm);
}
static void ck__gk_pack_q3_K(const char *w, size_t ldw, int nr, int nsb, uint8_t *wp, int32_t *wsc, int32_t *wmn, float *wd, float *wdm)
{
    ck__gk23_pack(1, w, ldw, nr, nsb, wp, wsc, wmn, wd, wdm);
}

/* as ck__gk_kernel16x8 for the types with 16-value sub-blocks (Q6_K, Q3_K: wn x bsums into S;
   Q2_K, mins: into M, a second float step): abp[super-block][k][8] = the 16 bsums as int16 pairs */
CK__FORCE_INLINE void ck__gk16_kernel16x8(int mins, const uint8_t *wp, const int32_t *wsc, const int32_t *wn, const float *wd, const float *wdm,
                                          const int8_t *aq, const float *ad, const int32_t *abp, int tc, int nsb, float *out, size_t ldo, int skip,
                                          __mmask16 mask, int first, const float *bias)
{
    __m512 f0 = _mm512_setzero_ps(), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0;
    int s, j;
    for (s = 0; s < nsb; s++) {
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        __m512i i0, i1, i2, i3, i4, i5, i6, i7;
        const float *d = ad + (size_t)s * tc;
        const int32_t *p = abp + (size_t)s * tc * 8;
        __m512 dw, dm;
        for (j = 0; j < 8 && !mins; j++) { /* Q6_K: -32 sum_g sc_g bsum_g; Q3_K: -4 */
            const __m512i nk = _mm512_load_si512((const void *)(wn + (size_t)(8 * s + j) * 16));
            CK__G8_DPWSSD(s, nk, p, 8, j)
        }
        for (j = 0; j < 16; j++) { /* sub-block j of 16: groups 4 (j % 2) .. + 3 of unit j / 2 */
            const uint8_t *w = wp + (size_t)(8 * s + j / 2) * 512 + (size_t)(j % 2) * 256;
            const int8_t *a = aq + (size_t)(8 * s + j / 2) * tc * 32 + (j % 2) * 16;
            const __m512i sc = _mm512_load_si512((const void *)(wsc + (size_t)(16 * s + j) * 16));
            i0 = i1 = i2 = i3 = i4 = i5 = i6 = i7 = _mm512_setzero_si512();
            CK__G8_DPBUSD(0) CK__G8_DPBUSD(1) CK__G8_DPBUSD(2) CK__G8_DPBUSD(3)
            CK__G8_MULACC(sc)
        }
        dw = _mm512_load_ps(wd + (size_t)s * 16);
#define CK__GK_STEP(f, ss, k) f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ss), _mm512_mul_ps(dw, _mm512_set1_ps(d[k])), f);
        CK__GK_STEP(f0, s0, 0) CK__GK_STEP(f1, s1, 1) CK__GK_STEP(f2, s2, 2) CK__GK_STEP(f3, s3, 3)
        CK__GK_STEP(f4, s4, 4) CK__GK_STEP(f5, s5, 5) CK__GK_STEP(f6, s6, 6) CK__GK_STEP(f7, s7, 7)
#undef CK__GK_STEP
        if (mins) { /* M = sum_g m_g bsum_g; acc = fnmadd(M, dmin_w * d_a, acc) */
            i0 = i1 = i2 = i3 = i4 = i5 = i6 = i7 = _mm512_setzero_si512();
            for (j = 0; j < 8; j++) {
                const __m512i mk = _mm512_load_si512((const void *)(wn + (size_t)(8 * s + j) * 16));
                CK__G8_DPWSSD(i, mk, p, 8, j)
            }
            dm = _mm512_load_ps(wdm + (size_t)s * 16);
#define CK__GK_STEP(f, ii, k) f = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ii), _mm512_mul_ps(dm, _mm512_set1_ps(d[k])), f);
            CK__GK_STEP(f0, i0, 0) CK__GK_STEP(f1, i1, 1) CK__GK_STEP(f2, i2, 2) CK__GK_STEP(f3, i3, 3)
            CK__GK_STEP(f4, i4, 4) CK__GK_STEP(f5, i5, 5) CK__GK_STEP(f6, i6, 6) CK__GK_STEP(f7, i7, 7)
#undef CK__GK_STEP
        }
    }
    CK__G8_OUT()
}

static void ck__gk6_kernel16x8(const uint8_t *wp, const int32_t *wsc, const int32_t *wn, const float *wd, const float *wdm, const int8_t *aq,
                               const float *ad, const int32_t *abp, int tc, int nsb, float *out, size_t ldo, int skip, __mmask16 mask, int first,
                               const float *bias)
{
    ck__gk16_kernel16x8(0, wp, wsc, wn, wd, wdm, aq, ad, abp, tc, nsb, out, ldo, skip, mask, first, bias);
}
static void ck__gk2_kernel16x8(const uint8_t *wp, const int32_t *wsc, const int32_t *wn, const float *wd, const float *wdm, const int8_t *aq,
                               const float *ad, const int32_t *abp, int tc, int nsb, float *out, size_t ldo, int skip, __mmask16 mask, int first,
                               const float *bias)
{
    ck__gk16_kernel16x8(1, wp, wsc, wn, wd, wdm, aq, ad, abp, tc, nsb, out, ldo, skip, mask, first, bias);
}

/* activation rows x[k * ldx] (k < nt), cs values -> Q8_K blocks (the tile path's bytes) regrouped:
   aq[unit of 32][k][32], ad[super-block][k] = d, abp[super-block][k][4] = (bsums 4p + 4p+1,
   4p+2 + 4p+3) as int16 pairs (six: abp[super-block][k][8] = the 16 bsums) */
static void ck__gk_quant_act(int six, const float *x, size_t ldx, int nt, int cs, int tc, int8_t *aq, float *ad, int32_t *abp)
{
    ck_block_q8_K blk[CK__GI_KS / CK_QK_K];
    const int nsb = cs / CK_QK_K;
    int k, s, j;
    for (k = 0; k < nt; k++) {
        ck__quant_act_q8_K_avx512(x + (size_t)k * ldx, blk, cs);
        for (s = 0; s < nsb; s++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)(const void *)blk[s].bsums);
            /* adjacent int16 pairs summed: 8 int32 (the sub-block sums), packed back to int16 */
            const __m256i sums = _mm256_madd_epi16(bs, _mm256_set1_epi16(1));
            const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
            for (j = 0; j < 8; j++)
                _mm256_storeu_si256((__m256i *)(void *)(aq + ((size_t)(8 * s + j) * tc + k) * 32), ck__load256(blk[s].qs + 32 * j));
            ad[(size_t)s * tc + k] = blk[s].d;
            if (six) _mm256_storeu_si256((__m256i *)(void *)(abp + ((size_t)s * tc + k) * 8), bs);
            else _mm_storeu_si128((__m128i *)(void *)(abp + ((size_t)s * tc + k) * 4), p16);
        }
    }
}

static void ck__gemm_k45_rows(int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC, int o_lo, int o_hi)
{
    const size_t row_bytes = ck_row_size(type, C), bsz = ck_type_block_bytes(type);
    const int six = type == CK_Q6_K || type == CK_Q3_K || type == CK_Q2_K, np = six ? 8 : 4; /* 16-value sub-blocks; int16 pairs of bsums per super-block */
    void (*pack)(const char *, size_t, int, int, uint8_t *, int32_t *, int32_t *, float *, float *) =
        type == CK_Q6_K ? ck__gk_pack_q6_K : type == CK_Q3_K ? ck__gk_pack_q3_K : type == CK_Q2_K ? ck__gk_pack_q2_K : type == CK_Q5_K ? ck__gk_pack_q5_K : ck__gk_pack_q4_K;
    void (*kern)(const uint8_t *, const int32_t *, const int32_t *, const float *, const float *, const int8_t *, const float *, const int32_t *, int, int,
                 float *, size_t, int, __mmask16, int, const float *) = type == CK_Q2_K ? ck__gk2_kernel16x8 : six ? ck__gk6_kernel16x8 : ck__gk_kernel16x8;
    union { __m512i v; uint8_t b[CK__GI_KS / CK_QK * 512]; } wp; /* the panel, 16 KB */
    union { __m512i v; int32_t i[CK__GI_KS / 16 * 16]; } wsc;    /* Q6_K: a scale per 16 values */
    union { __m512i v; int32_t i[CK__GI_KS / CK_QK_K * 8 * 16]; } wmn;
    union { __m512 v; float f[CK__GI_KS / CK_QK_K * 16]; } wd, wdm;
    int8_t aq[CK__GI_TC * CK__GI_KS]; /* the chunk's activations, 64 KB */
    float ad[CK__GI_TC * CK__GI_KS / CK_QK_K];
    int32_t abp[CK__GI_TC * CK__GI_KS / CK_QK_K * 8];
    const int nchunk = (T + CK__GI_TC - 1) / CK__GI_TC;
    int c0, ci, o, t;
    for (c0 = 0; c0 < C; c0 += CK__GI_KS) {
        const int cs = CK_MIN(CK__GI_KS, C - c0), nsb = cs / CK_QK_K;
        for (ci = 0; ci < nchunk; ci++) {
            const int t0 = (int)((int64_t)T * ci / nchunk), tc = (int)((int64_t)T * (ci + 1) / nchunk) - t0;
            ck__gk_quant_act(six, inp + (size_t)t0 * C + c0, (size_t)C, tc, cs, tc, aq, ad, abp);
            for (o = o_lo; o < o_hi; o += 16) {
                const int nr = CK_MIN(16, o_hi - o);
                const __mmask16 mask = (__mmask16)((1u << nr) - 1);
                const char *wpanel = (const char *)weight + (size_t)o * row_bytes + (size_t)(c0 / CK_QK_K) * bsz;
                pack(wpanel, row_bytes, nr, nsb, wp.b, wsc.i, wmn.i, wd.f, wdm.f);
                if (o + 16 < o_hi) /* the next panel's rows into the cache while this one runs */
                    ck__prefetch_rows(wpanel + 16 * row_bytes, row_bytes, CK_MIN(16, o_hi - o - 16), (size_t)nsb * bsz);
                for (t = 0; t < tc; t += CK__GI_NT) {
                    const int ts = CK_MIN(t, tc - CK__GI_NT);
                    kern(wp.b, wsc.i, wmn.i, wd.f, wdm.f, aq + (size_t)ts * 32, ad + ts, abp + (size_t)ts * np, tc, nsb,
                         out + (size_t)(t0 + ts) * OC + o, (size_t)OC, t - ts, mask, c0 == 0, bias ? bias + o : NULL);
                }
            }
        }
    }
}

#undef CK__G8_OUT
#undef CK__G8_OUT1
#undef CK__G8_DPWSSD
#undef CK__G8_MULACC
#undef CK__G8_DPBUSD
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic pop
#endif
#endif /* CK_HAVE_AVX512 */

#if CK_HAVE_AVX2 && !CK_HAVE_AVX512
/* AVX2 (no VNNI): the same design with 8-row panels (one dword lane per row) and 8 x 4 register
   tiles: group j of a block is vpmaddubsw (weights unsigned, the activation's dword j broadcast)
   then vpmaddwd by ones. Q4_0/Q5_0/Q4_1/Q5_1 (u <= 31): four groups summed in int16 first (|sum|
   <= 4 * 2 * 31 * 128 < 2^15); Q8_0/IQ4_NL: |w| times the activation signed by w (ggml's
   sign trick, no saturation: 2 * 127 * 128 < 2^15), group by group. Same exact block sums and float
   steps as the tile path: bit-identical to it. */
#define CK__GA_NT 4

/* one block's 32 values in order: u = q + off (Q4/Q5 types), or the signed value (Q8_0, IQ4_NL) */
CK__FORCE_INLINE __m256i ck__ga_unpack(int type, const char *x, __m256i levels)
{
    const __m256i m4 = _mm256_set1_epi8(15);
    if (type == CK_Q8_0) return ck__load256(((const ck_block_q8_0 *)(const void *)x)->qs);
    {
        const size_t qo = type == CK_Q4_0 || type == CK_IQ4_NL ? 2 : type == CK_Q4_1 ? 4 : type == CK_Q5_0 ? 6 : 8;
        const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(x + qo));
        __m256i n = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1), m4);
        if (type == CK_IQ4_NL) return _mm256_shuffle_epi8(levels, n);
        if (type == CK_Q5_0 || type == CK_Q5_1) { /* bit k of qh (at 2 or 4) -> + 16 on value k */
            const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)ck__le32((const uint8_t *)x + (type == CK_Q5_0 ? 2 : 4))),
                                                      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
            const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
            n = _mm256_add_epi8(n, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(16)));
        }
        return n;
    }
}

/* rows w + i * ldw (i < nr; the others repeat row nr - 1), blocks 0..nb-1 -> wp[block][group][row][4], wd, wm[block][row] */
CK__FORCE_INLINE void ck__ga_pack(int type, const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm)
{
    const int mn = type == CK_Q4_1 || type == CK_Q5_1;
    const size_t bsz = ck_type_block_bytes(type);
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)ck__iq4nl_values));
    const char *row[8];
    int i, b;
    for (i = 0; i < 8; i++) row[i] = w + (size_t)CK_MIN(i, nr - 1) * ldw;
    for (b = 0; b < nb; b++) {
        const size_t o = (size_t)b * bsz;
        __m256i r[8];
#define CK__GA_ROW(i) r[i] = ck__ga_unpack(type, row[i] + o, levels);
        CK__GA_ROW(0) CK__GA_ROW(1) CK__GA_ROW(2) CK__GA_ROW(3) CK__GA_ROW(4) CK__GA_ROW(5) CK__GA_ROW(6) CK__GA_ROW(7)
#undef CK__GA_ROW
        ck__transpose8_dwords_avx2(r);
#define CK__GA_ST(i) _mm256_store_si256((__m256i *)(void *)(wp + (size_t)b * 256 + (i) * 32), r[i]);
        CK__GA_ST(0) CK__GA_ST(1) CK__GA_ST(2) CK__GA_ST(3) CK__GA_ST(4) CK__GA_ST(5) CK__GA_ST(6) CK__GA_ST(7)
#undef CK__GA_ST
        for (i = 0; i < 8; i++) {
            wd[b * 8 + i] = ck__h2f(ck__u16at(row[i] + o));
            if (mn) wm[b * 8 + i] = ck__h2f(ck__u16at(row[i] + o + 2));
        }
    }
}

/* 8 weight rows x activation rows 0..3, as ck__gi_kernel16x8 (sgn: Q8_0 / IQ4_NL, signed weights) */
CK__FORCE_INLINE void ck__ga_kernel8x4(int mn, int sgn, const uint8_t *wp, const float *wd, const float *wm, const int8_t *aq, const float *ad,
                                       const float *as, const int32_t *ac, int tc, int nb, float *out, size_t ldo, int skip, int nr, int first,
                                       const float *bias)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    int b, k;
    for (b = 0; b < nb; b++) {
        const uint8_t *w = wp + (size_t)b * 256;
        const int8_t *a = aq + (size_t)b * tc * 32;
        const float *d = ad + (size_t)b * tc, *s = as + (size_t)b * tc;
        const int32_t *c = ac + (size_t)b * tc;
        const __m256 dw = _mm256_load_ps(wd + (size_t)b * 8);
        __m256i i0 = _mm256_set1_epi32(c[0]), i1 = _mm256_set1_epi32(c[1]), i2 = _mm256_set1_epi32(c[2]), i3 = _mm256_set1_epi32(c[3]);
#define CK__GA_A(t, j) _mm256_set1_epi32(ck__ld32(a + (t) * 32 + 4 * (j)))
        if (sgn) {
            int j;
            for (j = 0; j < 8; j++) {
                const __m256i wj = _mm256_load_si256((const __m256i *)(const void *)(w + 32 * j)), uj = _mm256_sign_epi8(wj, wj);
#define CK__GA_SG(ii, t) ii = _mm256_add_epi32(ii, _mm256_madd_epi16(_mm256_maddubs_epi16(uj, _mm256_sign_epi8(CK__GA_A(t, j), wj)), ones));
                CK__GA_SG(i0, 0) CK__GA_SG(i1, 1) CK__GA_SG(i2, 2) CK__GA_SG(i3, 3)
#undef CK__GA_SG
            }
        } else {
            int h;
            for (h = 0; h < 8; h += 4) {
                const __m256i w0 = _mm256_load_si256((const __m256i *)(const void *)(w + 32 * h)), w1 = _mm256_load_si256((const __m256i *)(const void *)(w + 32 * h + 32));
                const __m256i w2 = _mm256_load_si256((const __m256i *)(const void *)(w + 32 * h + 64)), w3 = _mm256_load_si256((const __m256i *)(const void *)(w + 32 * h + 96));
#define CK__GA_U(ii, t)                                                                                                    \
                ii = _mm256_add_epi32(ii, _mm256_madd_epi16(_mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(w0, CK__GA_A(t, h)), \
                                                                                              _mm256_maddubs_epi16(w1, CK__GA_A(t, h + 1))), \
                                                                             _mm256_add_epi16(_mm256_maddubs_epi16(w2, CK__GA_A(t, h + 2)), \
                                                                                              _mm256_maddubs_epi16(w3, CK__GA_A(t, h + 3)))), ones));
                CK__GA_U(i0, 0) CK__GA_U(i1, 1) CK__GA_U(i2, 2) CK__GA_U(i3, 3)
#undef CK__GA_U
            }
        }
#undef CK__GA_A
#define CK__GA_STEP(f, ii, t)                                                                               \
        {                                                                                                   \
            __m256 t_ = _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[t])), _mm256_cvtepi32_ps(ii));     \
            if (mn) t_ = _mm256_add_ps(t_, _mm256_mul_ps(_mm256_load_ps(wm + (size_t)b * 8), _mm256_set1_ps(s[t]))); \
            f = _mm256_add_ps(f, t_);                                                                       \
        }
        CK__GA_STEP(f0, i0, 0) CK__GA_STEP(f1, i1, 1) CK__GA_STEP(f2, i2, 2) CK__GA_STEP(f3, i3, 3)
#undef CK__GA_STEP
    }
    {
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256 base = first && bias ? _mm256_maskload_ps(bias, mask) : _mm256_setzero_ps();
        __m256 fs[4];
        fs[0] = f0; fs[1] = f1; fs[2] = f2; fs[3] = f3;
        for (k = skip; k < 4; k++) {
            float *p = out + (size_t)k * ldo;
            _mm256_maskstore_ps(p, mask, _mm256_add_ps(first ? base : _mm256_maskload_ps(p, mask), fs[k]));
        }
    }
}
#define CK__GA_DEF(name, TYPE, MN, SGN)                                                                                            \
    static void ck__ga_pack_##name(const char *w, size_t ldw, int nr, int nb, uint8_t *wp, float *wd, float *wm)                    \
    { ck__ga_pack(TYPE, w, ldw, nr, nb, wp, wd, wm); }
CK__GA_DEF(q4_0, CK_Q4_0, 0, 0)
CK__GA_DEF(q5_0, CK_Q5_0, 0, 0)
CK__GA_DEF(q8_0, CK_Q8_0, 0, 1)
CK__GA_DEF(iq4_nl, CK_IQ4_NL, 0, 1)
CK__GA_DEF(q4_1, CK_Q4_1, 1, 0)
CK__GA_DEF(q5_1, CK_Q5_1, 1, 0)
#undef CK__GA_DEF
typedef void (*ck__ga_kernel_fn)(const uint8_t *, const float *, const float *, const int8_t *, const float *, const float *, const int32_t *, int, int, float *,
                                 size_t, int, int, int, const float *);
#define CK__GA_KDEF(name, MN, SGN)                                                                                                   \
    static void ck__ga_kernel8x4_##name(const uint8_t *wp, const float *wd, const float *wm, const int8_t *aq, const float *ad, const float *as, \
                                        const int32_t *ac, int tc, int nb, float *out, size_t ldo, int skip, int nr, int first, const float *bias) \
    { ck__ga_kernel8x4(MN, SGN, wp, wd, wm, aq, ad, as, ac, tc, nb, out, ldo, skip, nr, first, bias); }
CK__GA_KDEF(u, 0, 0)
CK__GA_KDEF(um, 1, 0)
CK__GA_KDEF(s, 0, 1)
#undef CK__GA_KDEF

static void ck__gemm_int_rows_avx2(int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC, int o_lo, int o_hi)
{
    typedef void (*pack_fn)(const char *, size_t, int, int, uint8_t *, float *, float *);
    const int mn = type == CK_Q4_1 || type == CK_Q5_1, sgn = type == CK_Q8_0 || type == CK_IQ4_NL;
    const int off = type == CK_Q4_0 ? 8 : type == CK_Q5_0 ? 16 : 0; /* Q8_0, IQ4_NL: signed weights, no offset */
    const size_t row_bytes = ck_row_size(type, C), bsz = ck_type_block_bytes(type);
    const pack_fn pack = type == CK_Q4_0 ? ck__ga_pack_q4_0 : type == CK_Q5_0 ? ck__ga_pack_q5_0 : type == CK_Q8_0 ? ck__ga_pack_q8_0
                       : type == CK_IQ4_NL ? ck__ga_pack_iq4_nl : type == CK_Q4_1 ? ck__ga_pack_q4_1 : ck__ga_pack_q5_1;
    const ck__ga_kernel_fn kern = sgn ? ck__ga_kernel8x4_s : mn ? ck__ga_kernel8x4_um : ck__ga_kernel8x4_u;
    union { __m256i v; uint8_t b[CK__GI_KS / CK_QK * 256]; } wp;
    union { __m256 v; float f[CK__GI_KS / CK_QK * 8]; } wd, wm;
    int8_t aq[CK__GI_TC * CK__GI_KS];
    float ad[CK__GI_TC * CK__GI_KS / CK_QK], as[CK__GI_TC * CK__GI_KS / CK_QK];
    int32_t ac[CK__GI_TC * CK__GI_KS / CK_QK];
    const int nchunk = (T + CK__GI_TC - 1) / CK__GI_TC;
    int c0, ci, o, t;
    for (c0 = 0; c0 < C; c0 += CK__GI_KS) {
        const int cs = CK_MIN(CK__GI_KS, C - c0), nb = cs / CK_QK;
        for (ci = 0; ci < nchunk; ci++) {
            const int t0 = (int)((int64_t)T * ci / nchunk), tc = (int)((int64_t)T * (ci + 1) / nchunk) - t0;
            ck__gi_quant_act(mn, off, inp + (size_t)t0 * C + c0, (size_t)C, tc, cs, tc, aq, ad, as, ac);
            for (o = o_lo; o < o_hi; o += 8) {
                const int nr = CK_MIN(8, o_hi - o);
                const char *wpanel = (const char *)weight + (size_t)o * row_bytes + (size_t)(c0 / CK_QK) * bsz;
                pack(wpanel, row_bytes, nr, nb, wp.b, wd.f, wm.f);
                if (o + 8 < o_hi) /* the next panel's rows into the cache while this one runs */
                    ck__prefetch_rows(wpanel + 8 * row_bytes, row_bytes, CK_MIN(8, o_hi - o - 8), (size_t)nb * bsz);
                for (t = 0; t < tc; t += CK__GA_NT) {
                    const int ts = CK_MIN(t, tc - CK__GA_NT);
                    kern(wp.b, wd.f, wm.f, aq + (size_t)ts * 32, ad + ts, as + ts, ac + ts, tc, nb, out + (size_t)(t0 + ts) * OC + o, (size_t)OC, t - ts, nr,
                         c0 == 0, bias ? bias + o : NULL);
                }
            }
        }
    }
}
#endif /* CK_HAVE_AVX2 && !CK_HAVE_AVX512 */

static int ck__gemm_int_rows(int simd, int wtype, float *out, const float *inp, const void *weight, const float *bias, int T, int C,
                             int OC, int o_lo, int o_hi)
{
#if CK_HAVE_AVX512
    typedef void (*pack_fn)(const char *, size_t, int, int, uint8_t *, float *, float *);
    const int x16 = ck__is_x16(wtype), type = ck_repack_base(wtype); /* a repacked matrix: its panels straight from the groups */
    const int mn = type == CK_Q4_1 || type == CK_Q5_1;
    const int off = type == CK_Q4_0 ? 8 : type == CK_Q5_0 ? 16 : type == CK_Q8_0 || type == CK_IQ4_NL ? 128 : 0;
    const size_t row_bytes = ck_row_size(type, C), bsz = ck_type_block_bytes(type);
    pack_fn pack;
    void (*kern)(const uint8_t *, const float *, const float *, const int8_t *, const float *, const float *, const int32_t *, int, int, float *, size_t, int, __mmask16, int,
                 const float *) =
        mn ? ck__gi_kernel16x8_qm : ck__gi_kernel16x8_q;
    if ((type == CK_Q4_K || type == CK_Q5_K || type == CK_Q6_K || type == CK_Q3_K || type == CK_Q2_K) && simd && T >= CK__GI_MIN_T && C >= CK_QK_K && 15 * row_bytes <= 0x7fffffff) {
        ck__gemm_k45_rows(type, out, inp, weight, bias, T, C, OC, o_lo, o_hi);
        return 1;
    }
    switch (type) {
    case CK_Q4_0: pack = ck__gi_pack_q4_0; break;
    case CK_Q5_0: pack = ck__gi_pack_q5_0; break;
    case CK_Q8_0: pack = ck__gi_pack_q8_0; break;
    case CK_IQ4_NL: pack = ck__gi_pack_iq4_nl; break;
    case CK_Q4_1: pack = ck__gi_pack_q4_1; break;
    case CK_Q5_1: pack = ck__gi_pack_q5_1; break;
    default: return 0;
    }
    if (!simd || T < CK__GI_MIN_T || C < CK_QK || 15 * row_bytes > 0x7fffffff) return 0;
    {
        union { __m512i v; uint8_t b[CK__GI_KS / CK_QK * 512]; } wp; /* the panel, 16 KB */
        ck_block_q8_0 wx[16 * CK__GI_KS / CK_QK];                      /* a repacked panel's rows cut from two groups, <= 17 KB */
        union { __m512 v; float f[CK__GI_KS / CK_QK * 16]; } wd, wm;
        int8_t aq[CK__GI_TC * CK__GI_KS];                              /* the chunk's activations, 32 KB */
        float ad[CK__GI_TC * CK__GI_KS / CK_QK], as[CK__GI_TC * CK__GI_KS / CK_QK];
        int32_t ac[CK__GI_TC * CK__GI_KS / CK_QK];
        const int nchunk = (T + CK__GI_TC - 1) / CK__GI_TC; /* balanced: every chunk has >= CK__GI_NT rows */
        int c0, ci, o, t;
        for (c0 = 0; c0 < C; c0 += CK__GI_KS) { /* the first segment writes out (bias included), the others add */
            const int cs = CK_MIN(CK__GI_KS, C - c0), nb = cs / CK_QK;
            for (ci = 0; ci < nchunk; ci++) {
                const int t0 = (int)((int64_t)T * ci / nchunk), tc = (int)((int64_t)T * (ci + 1) / nchunk) - t0;
                ck__gi_quant_act(mn, off, inp + (size_t)t0 * C + c0, (size_t)C, tc, cs, tc, aq, ad, as, ac);
                for (o = o_lo; o < o_hi; o += 16) {
                    const int nr = CK_MIN(16, o_hi - o);
                    const __mmask16 mask = (__mmask16)((1u << nr) - 1);
                    const char *wpanel = (const char *)weight + (size_t)o * row_bytes + (size_t)(c0 / CK_QK) * bsz;
                    if (x16 && o % 16 == 0 && nr == 16) /* a whole group: its blocks are the panel's */
                        ck__gi_pack_x16(wtype, (const uint8_t *)weight + ((size_t)(o / 16) * (size_t)(C / CK_QK) + (size_t)(c0 / CK_QK)) * 16 * bsz, nb,
                                        wp.b, wd.f);
                    else if (x16) { /* rows that cut groups: as GGUF rows first */
                        int i;
                        for (i = 0; i < nr; i++) ck__x16_blocks(wtype, weight, C / CK_QK, o + i, c0 / CK_QK, nb, (char *)wx + (size_t)i * nb * bsz);
                        pack((const char *)wx, (size_t)nb * bsz, nr, nb, wp.b, wd.f, wm.f);
                    } else {
                        pack(wpanel, row_bytes, nr, nb, wp.b, wd.f, wm.f);
                        if (o + 16 < o_hi) /* the next panel's rows into the cache while this one runs */
                            ck__prefetch_rows(wpanel + 16 * row_bytes, row_bytes, CK_MIN(16, o_hi - o - 16), (size_t)nb * bsz);
                    }
                    for (t = 0; t < tc; t += CK__GI_NT) {
                        /* a last group of fewer rows runs the 8 rows that end the chunk and stores the new ones */
                        const int ts = CK_MIN(t, tc - CK__GI_NT);
                        kern(wp.b, wd.f, wm.f, aq + (size_t)ts * 32, ad + ts, as + ts, ac + ts, tc, nb, out + (size_t)(t0 + ts) * OC + o, (size_t)OC,
                             t - ts, mask, c0 == 0, bias ? bias + o : NULL);
                    }
                }
            }
        }
    }
    return 1;
#elif CK_HAVE_AVX2
    if (!simd || T < CK__GI_MIN_T || C < CK_QK) return 0;
    switch (wtype) { /* (no repacked layouts without AVX-512) */
    case CK_Q4_0: case CK_Q5_0: case CK_Q8_0: case CK_IQ4_NL: case CK_Q4_1: case CK_Q5_1:
        ck__gemm_int_rows_avx2(wtype, out, inp, weight, bias, T, C, OC, o_lo, o_hi);
        return 1;
    default: return 0;
    }
#else
    (void)simd; (void)wtype; (void)out; (void)inp; (void)weight; (void)bias; (void)T; (void)C; (void)OC; (void)o_lo; (void)o_hi;
    return 0;
#endif
}

/* The fast path's kernel for a weight type (NULL: none, the exact path serves it). Its
   activation blocks are of type ck__traits(type)->act. */
static ck__qdot_fn ck__qdot_kernel(int type, int simd)
{
#if CK_HAVE_AVX2
    if (simd) switch (type) {
        case CK_Q4_0: return ck__qdot_q4_0_avx2;
        case CK_Q4_1: return ck__qdot_q4_1_avx2;
        case CK_Q5_0: return ck__qdot_q5_0_avx2;
        case CK_Q5_1: return ck__qdot_q5_1_avx2;
        case CK_Q8_0: return ck__qdot_q8_0_avx2;
        case CK_IQ4_NL: return ck__qdot_iq4_nl_avx2;
        case CK_Q4_K: return ck__qdot_q4_K_avx2;
        case CK_Q5_K: return ck__qdot_q5_K_avx2;
        case CK_Q6_K: return ck__qdot_q6_K_avx2;
        case CK_Q2_K: return ck__qdot_q2_K_avx2;
        case CK_Q3_K: return ck__qdot_q3_K_avx2;
#if defined(__F16C__)
        case CK_F16: return ck__qdot_f16_avx2;
#endif
        case CK_BF16: return ck__qdot_bf16_avx2;
        default: break; /* F16 without F16C: the scalar kernel */
    }
#elif CK_HAVE_NEON
    if (simd) switch (type) {
        case CK_Q4_0: return ck__qdot_q4_0_neon;
        case CK_Q4_1: return ck__qdot_q4_1_neon;
        case CK_Q5_0: return ck__qdot_q5_0_neon;
        case CK_Q5_1: return ck__qdot_q5_1_neon;
        case CK_Q8_0: return ck__qdot_q8_0_neon;
        case CK_IQ4_NL: return ck__qdot_iq4_nl_neon;
        case CK_Q4_K: return ck__qdot_q4_K_neon;
        case CK_Q5_K: return ck__qdot_q5_K_neon;
        case CK_Q6_K: return ck__qdot_q6_K_neon;
        case CK_Q2_K: return ck__qdot_q2_K_neon;
        case CK_Q3_K: return ck__qdot_q3_K_neon;
        case CK_F16: return ck__qdot_f16_neon;
        case CK_BF16: return ck__qdot_bf16_neon;
        default: break;
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
    case CK_IQ4_NL: return ck__qdot_iq4_nl_scalar;
    case CK_Q4_K: return ck__qdot_q4_K_scalar;
    case CK_Q5_K: return ck__qdot_q5_K_scalar;
    case CK_Q6_K: return ck__qdot_q6_K_scalar;
    case CK_Q2_K: return ck__qdot_q2_K_scalar;
    case CK_Q3_K: return ck__qdot_q3_K_scalar;
    case CK_F16: return ck__qdot_f16_scalar;
    case CK_BF16: return ck__qdot_bf16_scalar;
    default: return NULL;
    }
}

/* The fast path's tile kernel for a weight type (NULL: none, the driver calls the dot kernel per
   weight row). Same activation blocks as ck__qdot_kernel's. */
static ck__qtile_fn ck__qtile_kernel(int type, int simd)
{
#if CK_HAVE_AVX2
    if (simd) switch (type) { /* CK__QTILE_NAME: the AVX-512 VNNI kernels where CK_HAVE_AVX512, else AVX2 */
        case CK_Q4_0: return CK__QTILE_NAME(q4_0);
        case CK_Q4_1: return CK__QTILE_NAME(q4_1);
        case CK_Q5_0: return CK__QTILE_NAME(q5_0);
        case CK_Q5_1: return CK__QTILE_NAME(q5_1);
        case CK_Q8_0: return CK__QTILE_NAME(q8_0);
        case CK_IQ4_NL: return CK__QTILE_NAME(iq4_nl);
#if CK_HAVE_AVX512
        case CK_Q4_K: return ck__qtile_q4_K_avx512;
        case CK_Q5_K: return ck__qtile_q5_K_avx512;
        case CK_Q6_K: return ck__qtile_q6_K_avx512;
        case CK_Q2_K: return ck__qtile_q2_K_avx512;
        case CK_Q3_K: return ck__qtile_q3_K_avx512;
        case CK_F16: return ck__qtile_f16_avx512;
        case CK_BF16: return ck__qtile_bf16_avx512;
#else
        case CK_Q4_K: return ck__qtile_q4_K_avx2;
        case CK_Q5_K: return ck__qtile_q5_K_avx2;
        case CK_Q6_K: return ck__qtile_q6_K_avx2;
        case CK_Q2_K: return ck__qtile_q2_K_avx2;
        case CK_Q3_K: return ck__qtile_q3_K_avx2;
#if defined(__F16C__)
        case CK_F16: return ck__qtile_f16_avx2;
#endif
        case CK_BF16: return ck__qtile_bf16_avx2;
#endif
        default: break;
    }
#endif
    (void)type; (void)simd;
    return NULL;
}

/* n floats (a multiple of the activation block) -> activation blocks of type act (Q8_0, Q8_1,
   Q8_K; F16, BF16: the values rounded). Helium builds take the scalar quantizers (so their blocks
   are the scalar ones); the NEON quantizers write the scalar ones' bytes. */
typedef void (*ck__qact_fn)(const float *x, void *dst, int n);

static ck__qact_fn ck__act_quantizer(int act, int simd)
{
#if CK_HAVE_AVX2
    if (simd) switch (act) {
        case CK_Q8_0: return ck__quant_act_q8_0_avx2;
        case CK_Q8_1: return ck__quant_act_q8_1_avx2;
#if CK_HAVE_AVX512
        case CK_Q8_K: return ck__quant_act_q8_K_avx512;
#else
        case CK_Q8_K: return ck__quant_act_q8_K_avx2;
#endif
#if defined(__F16C__)
        case CK_F16: return ck__quant_act_f16_avx2;
#endif
        case CK_BF16: return ck__quant_act_bf16_avx2;
        default: break; /* F16 without F16C: the scalar conversion */
    }
#elif CK_HAVE_NEON
    if (simd) switch (act) {
        case CK_Q8_0: return ck__quant_act_q8_0_neon;
        case CK_Q8_1: return ck__quant_act_q8_1_neon;
        case CK_Q8_K: return ck__quant_act_q8_K_neon;
        case CK_F16: return ck__quant_act_f16_neon;
        case CK_BF16: return ck__quant_act_bf16_neon;
        default: break;
    }
#else
    (void)simd;
#endif
    switch (act) {
    case CK_Q8_0: return ck__quant_act_q8_0_scalar;
    case CK_Q8_1: return ck__quant_act_q8_1_scalar;
    case CK_Q8_K: return ck__quant_act_q8_K_scalar;
    case CK_F16: return ck__quant_act_f16_scalar;
    case CK_BF16: return ck__quant_act_bf16_scalar;
    default: return NULL;
    }
}

/* ---- prefill GEMM, 16-bit float weight types (F16, BF16) ----------------------------------- */
/* As ck__gemm_int_rows, for F16 and BF16 weights (AVX-512 and AVX2 builds; AVX2 F16 needs F16C).
   Per thread, per block of CK__HG_OB weight rows and per segment of C: the activation rows (up to
   CK__HG_TB at a time) are rounded once, as the tile path rounds them (ck__act_quantizer: F16 or
   BF16), into the stack; then for each panel of CK__HG_PR weight rows (32 on AVX-512, 16 on AVX2)
   the panel is packed once, transposed so that one vector holds one column for 16 (8) rows, and
   swept by the activation rows CK__HG_NT at a time with a broadcast per activation value, the
   PR x NT outputs in registers across the segment:
   - BF16 with AVX512_BF16: panel [value pair p][row][2 bf16], vdpbf16ps acc, w, {pair p}{1to16}
   - otherwise: panel [value k][row] fp32 (vcvtph2ps, or a shift for BF16), activations rounded
     to F16 / BF16 and widened back (exact), vfmadd231ps acc, w, {x_k}{1to16} (AVX2: 8 lanes).
   Each output is one chain from its bias (or 0) through the values of C in order (a pair per step
   with vdpbf16ps, one value per step with the FMA), the same whichever thread, panel or
   activation group computes it (rows past the panel are zero lanes, activation rows past T
   compute on zeros and are not stored): bit-identical for any thread count. Against the tile
   path only the order of the fp32 sums of the (exact) products differs.
   A repacked matrix (CK_F16_X16, CK_BF16_X16, and CK_F32_X16 as kind F32X: activations as they
   are) has no panel: its groups are the panel's columns already, so the kernels read them in place
   (F16 converted inside the loop), the 8-row activation tiles of each panel prefetching the next
   panel's lines, a slice each (up to 8 tiles); the same products in the same order, the same bits.
   Spreading the prefetch (it was all in the first tile) measured on Zen 5, weights cold (24 pairs of
   Qwen2-0.5B gate/down-shaped matrices, T = 64): BF16 2 threads 672-716 -> 739-762 GFLOP/s (gate
   shape), 619-655 -> 674-702 (down); 1 thread 335-351 -> 358-380; F16 unchanged (it needs half the
   bytes a FLOP); Qwen2-0.5B BF16 64-token prefill, 5 runs alternated: 2 threads median 733 -> 783
   tok/s, 1 thread 437 -> 459. */
/* The fewest activation rows this path takes (fewer: the tile path), measured on Zen 5, one
   thread, against the tile kernels: AVX-512 at T = 8 the tiles win, at 12 even for BF16, from 16
   both lose; AVX2 F16 from 16, BF16 (fp32 panels against the tiles' bf16 widening) from 32.
   CK__HGEMM_MIN_T overrides it (benchmarks). */
#if CK_HAVE_AVX2
static int ck__hgemm_min_t(int type)
{
#ifdef CK__HGEMM_MIN_T
    (void)type;
    return CK__HGEMM_MIN_T;
#else
    return type == CK_BF16 && !CK_HAVE_AVX512 ? 32 : 16;
#endif
}
#endif
#if defined(__F16C__)
#define CK__HG_F16C 1
#else
#define CK__HG_F16C 0
#endif
#if CK_HAVE_AVX2 && !CK_HAVE_AVX512 /* (the AVX-512 tile kernels define them) */
#define CK__Q16_KIND_F16 0
#define CK__Q16_KIND_BF16 1
#define CK__Q16_KIND_DPBF16 2
#endif
#define CK__Q16_KIND_F32X 3 /* (ck__gemm_h16_simd only: a CK_F32_X16 matrix, read in place) */
#if CK_HAVE_AVX512
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
/* g++ (12) -Wall flags the self-initialized _mm512_undefined_* of its own AVX-512 intrinsics */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
/* NT: activation rows per register tile (x 32 weight rows: 2 NT accumulators); TB: activation
   rows rounded per pass; segments of C: KS values (fp32 panels), KSB values (bf16 pair panels);
   OB: weight rows per block (its T x OB outputs stay in L2 across the segments). 48 KB of stack. */
enum { CK__HG_PR = 32, CK__HG_NT = 8, CK__HG_NT2 = 2, CK__HG_TB = 64, CK__HG_KS = 128, CK__HG_KSB = 256, CK__HG_OB = 512 };

/* out[j][0..31] (rows j < nt, stride ldo; lanes < nr) = in[j][0..31] (stride ldi; in
   may be out; NULL: zeros) + weights (n steps of 2 x 16 lanes) . activation row j (stride CK__HG_KS floats / CK__HG_KSB bf16): NT = 8 or 2 rows in registers.
   The weights of step i (CK__HG_W*): from a panel (wa: fp32 [k][32], or bf16 pairs [p][32][2]), or
   in place from a CK_F16_X16 / CK_BF16_X16 matrix (wa: the first group at the segment's first
   value, wb the second's, or 16 pairs of zeros read with step sb = 0; F16 converted in the loop, no
   panel), a cache line of pf and of pf + pfs prefetched each step (the next panel's, or this one's) */
/* (kept out of line: inlined into the driver, gcc spilled an accumulator inside the loop) */
#if defined(__GNUC__)
#define CK__HG_NOINLINE __attribute__((noinline))
#else
#define CK__HG_NOINLINE
#endif
#define CK__HG_R2(X) X(0) X(1)
#define CK__HG_R8(X) CK__HG_R2(X) X(2) X(3) X(4) X(5) X(6) X(7)
#define CK__HG_LD(j) __m512 a##j = j < nt && in ? _mm512_maskz_loadu_ps(m0, in + (size_t)j * ldi) : _mm512_setzero_ps(); \
                     __m512 b##j = j < nt && in ? _mm512_maskz_loadu_ps(m1, in + (size_t)j * ldi + 16) : _mm512_setzero_ps();
#define CK__HG_ST(j) if (j < nt) { _mm512_mask_storeu_ps(out + (size_t)j * ldo, m0, a##j); _mm512_mask_storeu_ps(out + (size_t)j * ldo + 16, m1, b##j); }
#define CK__HG_WP_F32 w0 = _mm512_load_ps((const float *)wa + 32 * (size_t)i); w1 = _mm512_load_ps((const float *)wa + 32 * (size_t)i + 16);
#define CK__HG_WX_F16                                                                                                   \
    w0 = _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)wa + 16 * (size_t)i))); \
    w1 = _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)wb + sb * (size_t)i))); \
    _mm_prefetch(pf + ps * (size_t)i, _MM_HINT_T0); _mm_prefetch(pf + pfs + ps * (size_t)i, _MM_HINT_T0);
#define CK__HG_WX_F32                                                                                                   \
    w0 = _mm512_loadu_ps((const float *)wa + 16 * (size_t)i); w1 = _mm512_loadu_ps((const float *)wb + sb * (size_t)i);  \
    _mm_prefetch(pf + ps * (size_t)i, _MM_HINT_T0); _mm_prefetch(pf + pfs + ps * (size_t)i, _MM_HINT_T0);
#define CK__HG_FMA(j) xv = _mm512_set1_ps(x[j * CK__HG_KS]); a##j = _mm512_fmadd_ps(w0, xv, a##j); b##j = _mm512_fmadd_ps(w1, xv, b##j);
#define CK__HG_KERNEL(NAME, REP, XT, XSTEP, VT, WLOAD, STEP)                                                            \
    static CK__HG_NOINLINE void NAME(float *out, size_t ldo, const float *in, size_t ldi, const void *wa, const void *wb, size_t sb, \
                                     const char *pf, size_t pfs, size_t ps, const XT *x, int n, int nt, int nr)         \
    {                                                                                                                   \
        const __mmask16 m0 = ck__mask16(nr), m1 = ck__mask16(CK_MAX(0, nr - 16));                                       \
        int i;                                                                                                          \
        (void)wb; (void)sb; (void)pf; (void)pfs; (void)ps;                                                              \
        REP(CK__HG_LD)                                                                                                  \
        for (i = 0; i < n; i++, x += XSTEP) {                                                                           \
            VT w0, w1, xv;                                                                                              \
            WLOAD                                                                                                       \
            REP(STEP)                                                                                                   \
        }                                                                                                               \
        REP(CK__HG_ST)                                                                                                  \
    }
CK__HG_KERNEL(ck__hg_f32_32x8_avx512, CK__HG_R8, float, 1, __m512, CK__HG_WP_F32, CK__HG_FMA)
CK__HG_KERNEL(ck__hg_f32_32x2_avx512, CK__HG_R2, float, 1, __m512, CK__HG_WP_F32, CK__HG_FMA)
CK__HG_KERNEL(ck__hg_f16x_32x8_avx512, CK__HG_R8, float, 1, __m512, CK__HG_WX_F16, CK__HG_FMA)
CK__HG_KERNEL(ck__hg_f16x_32x2_avx512, CK__HG_R2, float, 1, __m512, CK__HG_WX_F16, CK__HG_FMA)
CK__HG_KERNEL(ck__hg_f32x_32x8_avx512, CK__HG_R8, float, 1, __m512, CK__HG_WX_F32, CK__HG_FMA)
CK__HG_KERNEL(ck__hg_f32x_32x2_avx512, CK__HG_R2, float, 1, __m512, CK__HG_WX_F32, CK__HG_FMA)
typedef void ck__hg_xkern(float *out, size_t ldo, const float *in, size_t ldi, const void *wa, const void *wb, size_t sb, const char *pf,
                          size_t pfs, size_t ps, const float *x, int n, int nt, int nr);
#undef CK__HG_FMA
#undef CK__HG_WX_F32
#undef CK__HG_WX_F16
#undef CK__HG_WP_F32
#if CK_HAVE_AVX512BF16
static inline int ck__hg_ld32(const uint16_t *p) { uint32_t u; memcpy(&u, p, sizeof u); return (int)u; }
#define CK__HG_DP(j) xv = (__m512bh)_mm512_set1_epi32(ck__hg_ld32(x + j * CK__HG_KSB));                              \
                     a##j = _mm512_dpbf16_ps(a##j, w0, xv); b##j = _mm512_dpbf16_ps(b##j, w1, xv);
#define CK__HG_WP_DP w0 = (__m512bh)_mm512_load_si512((const __m512i *)wa + 2 * (size_t)i); w1 = (__m512bh)_mm512_load_si512((const __m512i *)wa + 2 * (size_t)i + 1);
#define CK__HG_WX_DP                                                                                                    \
    w0 = (__m512bh)_mm512_loadu_si512((const void *)((const uint16_t *)wa + 32 * (size_t)i));                          \
    w1 = (__m512bh)_mm512_loadu_si512((const void *)((const uint16_t *)wb + sb * (size_t)i));                          \
    _mm_prefetch(pf + ps * (size_t)i, _MM_HINT_T0); _mm_prefetch(pf + pfs + ps * (size_t)i, _MM_HINT_T0);
CK__HG_KERNEL(ck__hg_dp_32x8_avx512, CK__HG_R8, uint16_t, 2, __m512bh, CK__HG_WP_DP, CK__HG_DP)
CK__HG_KERNEL(ck__hg_dp_32x2_avx512, CK__HG_R2, uint16_t, 2, __m512bh, CK__HG_WP_DP, CK__HG_DP)
CK__HG_KERNEL(ck__hg_dpx_32x8_avx512, CK__HG_R8, uint16_t, 2, __m512bh, CK__HG_WX_DP, CK__HG_DP)
CK__HG_KERNEL(ck__hg_dpx_32x2_avx512, CK__HG_R2, uint16_t, 2, __m512bh, CK__HG_WX_DP, CK__HG_DP)
#undef CK__HG_WX_DP
#undef CK__HG_WP_DP
#undef CK__HG_DP
#endif
#undef CK__HG_KERNEL
#undef CK__HG_ST
#undef CK__HG_LD
#undef CK__HG_R8
#undef CK__HG_R2
#undef CK__HG_NOINLINE

/* rows w[r * ldw + 0..cs-1] (r < nr <= 32) -> panel: fp32 [k][32] (kinds F16, BF16), or bf16
   pairs [p][32][2] (DPBF16; an odd last value paired with 0); missing rows and values are zeros
   (loads under an empty mask read nothing). The same columns of the next 32 rows are prefetched. */
static void ck__hg_pack_avx512(const uint16_t *w, size_t ldw, int nr, int cs, int kind, void *vpanel)
{
    __m512i *panel = (__m512i *)vpanel;
    const int step = kind == CK__Q16_KIND_DPBF16 ? 32 : 16;
    const char *pf = (const char *)w + 32 * ldw * sizeof *w;
    __m512i r[16];
    int v, i, h;
    for (v = 0; v < cs; v += step, panel += 32)
        for (h = 0; h < 2; h++) {
            const uint16_t *p = w + (size_t)16 * h * ldw + v;
            const __mmask32 m = (__mmask32)(cs - v >= 32 ? 0xffffffffu : (1u << (cs - v)) - 1u);
#define CK__HG_ROWM(i) (16 * h + (i) < nr ? m : 0)
#define CK__HG_LD_DP(i) r[i] = _mm512_maskz_loadu_epi16(CK__HG_ROWM(i), p + (i) * ldw);
#define CK__HG_LD_F16(i) r[i] = _mm512_castps_si512(_mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_maskz_loadu_epi16((__mmask16)CK__HG_ROWM(i), p + (i) * ldw)));
#define CK__HG_LD_BF16(i) r[i] = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16((__mmask16)CK__HG_ROWM(i), p + (i) * ldw)), 16);
#define CK__HG_R16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
            if (kind == CK__Q16_KIND_DPBF16) { CK__HG_R16(CK__HG_LD_DP) }
            else if (kind == CK__Q16_KIND_F16) { CK__HG_R16(CK__HG_LD_F16) } /* (maskz cvtph: see CK__Q16_LD_F16) */
            else { CK__HG_R16(CK__HG_LD_BF16) }
            if (v % 32 == 0)
                for (i = 0; i < 16; i++) _mm_prefetch(pf + ((size_t)(16 * h + i) * ldw + (size_t)v) * sizeof *w, _MM_HINT_T0);
            ck__transpose16_dwords_avx512(r);
#define CK__HG_ST(i) _mm512_store_si512((void *)(panel + 2 * (i) + h), r[i]);
            CK__HG_R16(CK__HG_ST)
#undef CK__HG_ST
#undef CK__HG_R16
#undef CK__HG_LD_BF16
#undef CK__HG_LD_F16
#undef CK__HG_LD_DP
#undef CK__HG_ROWM
        }
}

/* the DPBF16 panel ([pair][32 rows][2]) of a CK_BF16_X16 segment that ends in an odd C's lone
   last value (the other segments are read in place), w at the first group's value c0 (groups 16 C
   halves apart, nr 16 or 32): the groups' pairs as they are, the lone value zero-extended to the
   pair (w, 0) */
static void ck__hg_pack_bf16x16_avx512(const uint16_t *w, size_t C, int nr, int cs, void *vpanel)
{
    __m512 *panel = (__m512 *)vpanel;
    int k, h;
    for (k = 0; k < cs; k += 2, panel += 2)
        for (h = 0; h < 2; h++) {
            const uint16_t *g = w + (size_t)h * 16 * C + (size_t)k * 16;
            if (16 * h >= nr) panel[h] = _mm512_setzero_ps();
            else if (k + 1 < cs) panel[h] = _mm512_castsi512_ps(_mm512_loadu_si512((const void *)g));
            else panel[h] = _mm512_castsi512_ps(_mm512_maskz_cvtepu16_epi32((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)g)));
        }
}

#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#elif CK_HAVE_AVX2 /* AVX2: 16-row panels of fp32 (two ymm per column), 16 x 6 register tiles */
enum { CK__HG_PR = 16, CK__HG_NT = 6, CK__HG_NT2 = 2, CK__HG_TB = 64, CK__HG_KS = 128, CK__HG_KSB = 256, CK__HG_OB = 512 };

/* rows w[r * ldw + 0..cs-1] (r < nr <= 16) -> fp32 panel [k][16]; missing rows and values zeros */
static void ck__hg_pack_avx2(const uint16_t *w, size_t ldw, int nr, int cs, int kind, void *vpanel)
{
    __m256 *panel = (__m256 *)vpanel, r[8];
    int v, h, i;
    for (v = 0; v < cs; v += 8, panel += 16)
        for (h = 0; h < 2; h++) {
            for (i = 0; i < 8; i++) {
                const uint16_t *p = w + (size_t)(8 * h + i) * ldw + v;
                if (8 * h + i < nr && cs - v >= 8) r[i] = ck__load_h16x8_avx2(p, kind != CK__Q16_KIND_F16);
                else {
                    uint16_t z[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
                    if (8 * h + i < nr) memcpy(z, p, (size_t)(cs - v) * sizeof *p);
                    r[i] = ck__load_h16x8_avx2(z, kind != CK__Q16_KIND_F16);
                }
            }
            {
                __m256i ri[8];
                for (i = 0; i < 8; i++) ri[i] = _mm256_castps_si256(r[i]);
                ck__transpose8_dwords_avx2(ri);
                for (i = 0; i < 8; i++) _mm256_store_ps((float *)(void *)(panel + 2 * i + h), _mm256_castsi256_ps(ri[i]));
            }
        }
}

/* as the AVX-512 kernels, 16 weight rows (lanes < nr) x NT = 6 or 2 activation rows */
#define CK__HG_R2(X) X(0) X(1)
#define CK__HG_R6(X) CK__HG_R2(X) X(2) X(3) X(4) X(5)
#define CK__HG_LD(j) __m256 a##j = j < nt && in ? _mm256_maskload_ps(in + (size_t)j * ldi, m0) : _mm256_setzero_ps(); \
                     __m256 b##j = j < nt && in ? _mm256_maskload_ps(in + (size_t)j * ldi + 8, m1) : _mm256_setzero_ps();
#define CK__HG_ST(j) if (j < nt) { _mm256_maskstore_ps(out + (size_t)j * ldo, m0, a##j); _mm256_maskstore_ps(out + (size_t)j * ldo + 8, m1, b##j); }
#define CK__HG_FMA(j) xv = _mm256_broadcast_ss(x + j * CK__HG_KS); a##j = _mm256_fmadd_ps(w0, xv, a##j); b##j = _mm256_fmadd_ps(w1, xv, b##j);
#define CK__HG_F32_KERNEL(NAME, REP)                                                                                    \
    static void NAME(float *out, size_t ldo, const float *in, size_t ldi, const void *panel, const float *x, int n, int nt, int nr) \
    {                                                                                                                   \
        const __m256 *pw = (const __m256 *)panel;                                                                       \
        const __m256i m0 = ck__mask(CK_MIN(8, nr)), m1 = ck__mask(CK_MAX(0, nr - 8));                                 \
        int i;                                                                                                          \
        REP(CK__HG_LD)                                                                                                  \
        for (i = 0; i < n; i++, x++, pw += 2) {                                                                         \
            __m256 w0 = pw[0], w1 = pw[1], xv;                                                                          \
            REP(CK__HG_FMA)                                                                                             \
        }                                                                                                               \
        REP(CK__HG_ST)                                                                                                  \
    }
CK__HG_F32_KERNEL(ck__hg_f32_16x6_avx2, CK__HG_R6)
CK__HG_F32_KERNEL(ck__hg_f32_16x2_avx2, CK__HG_R2)
#undef CK__HG_F32_KERNEL
#undef CK__HG_FMA
#undef CK__HG_ST
#undef CK__HG_LD
#undef CK__HG_R6
#undef CK__HG_R2
#endif /* CK_HAVE_AVX2 */

#if CK_HAVE_AVX2
#if CK_HAVE_AVX512
#define CK__HG_PACK ck__hg_pack_avx512
#define CK__HG_F32_BIG ck__hg_f32_32x8_avx512
#define CK__HG_F32_SMALL ck__hg_f32_32x2_avx512
#define CK__HG_NOX , NULL, 0, NULL, 0, 0 /* (no in-place source: the panel's kernel) */
typedef __m512 ck__hg_vec;
static const uint16_t ck__hg_zeros[32] = { 0 }; /* the missing second group of a 16-row panel read in place */
#else
#define CK__HG_PACK ck__hg_pack_avx2
#define CK__HG_F32_BIG ck__hg_f32_16x6_avx2
#define CK__HG_F32_SMALL ck__hg_f32_16x2_avx2
#define CK__HG_NOX
typedef __m256 ck__hg_vec;
#endif
/* x16: weight is a CK_F16_X16 (kind F16), CK_BF16_X16 (kind DPBF16) or CK_F32_X16 (kind F32X)
   matrix (AVX-512; o_lo, o_hi multiples of 16), read in place */
static void ck__gemm_h16_simd(int kind, ck__qact_fn quant, float *out, const float *inp, const uint16_t *weight, const float *bias, int T,
                              int C, int OC, int o_lo, int o_hi, int x16)
{
    const int dp = kind == CK__Q16_KIND_DPBF16, ks = dp ? CK__HG_KSB : CK__HG_KS;
#if !CK_HAVE_AVX512
    (void)x16; /* (the layout is made on AVX-512 builds only) */
#endif
    union { uint16_t h[CK__HG_TB * CK__HG_KSB]; float f[CK__HG_TB * CK__HG_KS]; } act;
    ck__hg_vec panel[CK__HG_PR * CK__HG_KS * sizeof(float) / sizeof(ck__hg_vec)];
    uint16_t tmp[CK__HG_KS];
    int ob, c0, t0, t, o;
    for (ob = o_lo; ob < o_hi; ob += CK__HG_OB) {
        const int ob1 = CK_MIN(o_hi, ob + CK__HG_OB);
        for (c0 = 0; c0 < C; c0 += ks) {
            const int cs = CK_MIN(ks, C - c0), n = dp ? (cs + 1) / 2 : cs;
            for (t0 = 0; t0 < T; t0 += CK__HG_TB) {
                const int tb = CK_MIN(CK__HG_TB, T - t0);
                /* the rows, rounded; up to a multiple of NT2 rows of zeros (computed, unstored) */
                for (t = 0; t < (tb + CK__HG_NT2 - 1) / CK__HG_NT2 * CK__HG_NT2; t++) {
                    const float *x = inp + (size_t)(t0 + t) * C + c0;
                    if (dp) {
                        uint16_t *a = act.h + t * CK__HG_KSB;
                        if (t < tb) quant(x, a, cs);
                        else memset(a, 0, (size_t)cs * sizeof *a);
                        if (cs & 1) a[cs] = 0;
                    } else {
                        float *a = act.f + t * CK__HG_KS;
                        if (t >= tb) { memset(a, 0, (size_t)cs * sizeof *a); continue; }
                        if (kind == CK__Q16_KIND_F32X) { memcpy(a, x, (size_t)cs * sizeof *a); continue; }
                        quant(x, tmp, cs);
                        ck__dequant_avx2(kind == CK__Q16_KIND_F16 ? CK_F16 : CK_BF16, tmp, a, cs); /* widened back, exact */
                    }
                }
                for (o = ob; o < ob1; o += CK__HG_PR) {
                    const int nr = CK_MIN(CK__HG_PR, ob1 - o);
                    float *y = out + (size_t)t0 * OC + o;
                    /* the first segment starts from the bias (or zeros), the others from out */
                    const float *in = c0 ? y : bias ? bias + o : NULL;
                    const size_t ldi = c0 ? (size_t)OC : 0;
#if CK_HAVE_AVX512
                    if (x16 && !(dp && cs % 2)) { /* the groups read in place (a segment ending in an odd C's lone value: packed, below) */
                        const size_t es = kind == CK__Q16_KIND_F32X ? 4 : 2, gb = (size_t)16 * C * es; /* bytes: a value, a group */
                        /* the fp32 kernels (8 activation rows, 2): F32 loaded, F16 converted */
                        ck__hg_xkern *const fx[2] = { es == 4 ? ck__hg_f32x_32x8_avx512 : ck__hg_f16x_32x8_avx512,
                                                      es == 4 ? ck__hg_f32x_32x2_avx512 : ck__hg_f16x_32x2_avx512 };
                        const char *wa = (const char *)weight + ((size_t)o * C + (size_t)c0 * 16) * es;
                        const void *wb = nr > 16 ? (const void *)(wa + gb) : (const void *)ck__hg_zeros;
                        const size_t sb = nr > 16 ? (size_t)(dp ? 32 : 16) : 0;
                        /* the next panel (this segment's next 32 rows, or the next segment's first) is prefetched by the tiles */
                        const char *nx = o + CK__HG_PR < ob1 ? wa + 2 * gb
                                       : c0 + ks < C ? (const char *)weight + ((size_t)ob * C + (size_t)(c0 + ks) * 16) * es : wa;
                        const size_t nxs = nx != wa && (o + CK__HG_PR < ob1 ? o + 48 < ob1 : ob + 16 < ob1) ? gb : 0;
                        /* a step's bytes of a group; the next panel's prefetch spread over the first nsp 8-row tiles, a slice each */
                        const size_t stepb = dp || es == 4 ? 64 : 32;
                        const int nbig = tb / CK__HG_NT, nsp = nbig >= 8 ? 8 : nbig >= 4 ? 4 : nbig >= 2 ? 2 : 1;
                        for (t = 0; t < tb; t += t + CK__HG_NT <= tb ? CK__HG_NT : CK__HG_NT2) {
                            const int ti = t % CK__HG_NT ? nsp : t / CK__HG_NT; /* (nsp: no slice, this panel's own lines) */
                            const size_t ps = ti < nsp ? stepb / (size_t)nsp : stepb;
                            const char *pf = ti < nsp ? (const char *)nx + (size_t)ti * ps * (size_t)n : (const char *)wa;
                            const size_t pfs = ti < nsp ? nxs : 0;
                            float *yt = y + (size_t)t * OC;
                            const float *it = in ? in + t * ldi : NULL;
                            const int nt = t + CK__HG_NT <= tb ? CK__HG_NT : CK_MIN(CK__HG_NT2, tb - t); /* (8-row tiles, then 2-row ones) */
                            if (dp) (nt == CK__HG_NT ? ck__hg_dpx_32x8_avx512 : ck__hg_dpx_32x2_avx512)(yt, (size_t)OC, it, ldi, wa, wb, sb, pf, pfs, ps,
                                                                                                      act.h + t * CK__HG_KSB, n, nt, nr);
                            else (nt == CK__HG_NT ? fx[0] : fx[1])(yt, (size_t)OC, it, ldi, wa, wb, sb, pf, pfs, ps, act.f + t * CK__HG_KS, n, nt, nr);
                        }
                        continue;
                    }
                    if (x16) ck__hg_pack_bf16x16_avx512(weight + ((size_t)o * C + (size_t)c0 * 16), (size_t)C, nr, cs, panel);
                    else
#endif
                    CK__HG_PACK(weight + (size_t)o * C + c0, (size_t)C, nr, cs, kind, panel);
#if CK_HAVE_AVX512BF16
                    if (dp) {
                        for (t = 0; t + CK__HG_NT <= tb; t += CK__HG_NT)
                            ck__hg_dp_32x8_avx512(y + (size_t)t * OC, (size_t)OC, in ? in + t * ldi : NULL, ldi, panel, NULL, 0, NULL, 0, 0, act.h + t * CK__HG_KSB,
                                                  n, CK__HG_NT, nr);
                        for (; t < tb; t += CK__HG_NT2)
                            ck__hg_dp_32x2_avx512(y + (size_t)t * OC, (size_t)OC, in ? in + t * ldi : NULL, ldi, panel, NULL, 0, NULL, 0, 0, act.h + t * CK__HG_KSB,
                                                  n, CK_MIN(CK__HG_NT2, tb - t), nr);
                        continue;
                    }
#endif
                    for (t = 0; t + CK__HG_NT <= tb; t += CK__HG_NT)
                        CK__HG_F32_BIG(y + (size_t)t * OC, (size_t)OC, in ? in + t * ldi : NULL, ldi, panel CK__HG_NOX, act.f + t * CK__HG_KS, n, CK__HG_NT, nr);
                    for (; t < tb; t += CK__HG_NT2)
                        CK__HG_F32_SMALL(y + (size_t)t * OC, (size_t)OC, in ? in + t * ldi : NULL, ldi, panel CK__HG_NOX, act.f + t * CK__HG_KS, n,
                                         CK_MIN(CK__HG_NT2, tb - t), nr);
                }
            }
        }
    }
}
#undef CK__HG_NOX
#undef CK__HG_F32_SMALL
#undef CK__HG_F32_BIG
#undef CK__HG_PACK
#endif /* CK_HAVE_AVX2 */

static int ck__gemm_h16_rows(int simd, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C,
                             int OC, int o_lo, int o_hi)
{
#if CK_HAVE_AVX2
    if (simd && (type == CK_BF16 || (type == CK_F16 && (CK_HAVE_AVX512 || CK__HG_F16C))) && T >= ck__hgemm_min_t(type)) {
        int kind = type == CK_F16 ? CK__Q16_KIND_F16 : CK_HAVE_AVX512BF16 ? CK__Q16_KIND_DPBF16 : CK__Q16_KIND_BF16;
        ck__gemm_h16_simd(kind, ck__act_quantizer(type, simd), out, inp, (const uint16_t *)weight, bias, T, C, OC, o_lo, o_hi, 0);
        return 1;
    }
#endif
    (void)simd; (void)type; (void)out; (void)inp; (void)weight; (void)bias; (void)T; (void)C; (void)OC; (void)o_lo; (void)o_hi;
    return 0;
}

static int ck__quantize_act_row(int simd, int weight_type, const float *src, void *dst, int64_t n)
{
    const ck__type_traits *t = ck__traits(weight_type);
    int64_t blck;
    if (!t || t->act < 0) return -1;
    blck = ck_type_block_size(t->act);
    if (n < 0 || n % blck || n > 0x7fffffff / 2) return -1;
    if (n > 0) ck__act_quantizer(t->act, simd)(src, dst, (int)n);
    return t->act;
}

CK_DEF int ck_quantize_act_row_scalar(int weight_type, const float *src, void *dst, int64_t n)
{
    return ck__quantize_act_row(0, weight_type, src, dst, n);
}

CK_DEF int ck_quantize_act_row(int weight_type, const float *src, void *dst, int64_t n)
{
    return ck__quantize_act_row(1, weight_type, src, dst, n);
}


/* Fast path. Each thread owns a range of output columns (weight rows). Per C segment and per
   tile of at most 8 activation rows, the thread quantizes the tile into a stack buffer
   (<= 8*CK_QSEG values in blocks of ggml's vec_dot_type for the weight type; 16-bit values for
   F16 and BF16 weights) and runs every weight row of a panel against it, 4 weight rows x 4 activation rows per tile kernel call (or
   one weight row per dot kernel call for types without a tile kernel); the panel (OB rows x one
   segment) stays in L2 across the tiles. Segments are whole 256-value blocks, so the blocks
   are those of the whole row. Each output is the same sequence of operations whichever thread
   computes it: bit-identical for any thread count. */
static void ck__matmul_q_tile_rows(int simd, int wtype, float *out, const float *inp, const void *weight, const float *bias, int T, int C,
                                   int OC, int o_lo, int o_hi)
{
    const int x16 = ck__is_x16(wtype), type = ck_repack_base(wtype); /* a repacked matrix: its tiles' rows as GGUF blocks (wx) */
    int act = ck__traits(type)->act, qk = (int)ck_type_block_size(type);
    ck__qdot_fn dot = ck__qdot_kernel(type, simd);
    ck__qtile_fn tile = ck__qtile_kernel(type, simd);
    ck__qact_fn quant_act = ck__act_quantizer(act, simd);
    size_t row_bytes = ck_row_size(type, C), wblock_bytes = ck_type_block_bytes(type);
    size_t act_block_bytes = ck_type_block_bytes(act);
    int act_qk = (int)ck_type_block_size(act);
    int TB = CK_MIN(T, 8), S = 8 * CK_QSEG / CK_MAX(TB, 1) / CK_QK_K * CK_QK_K, OB;
    /* with one tile nothing is reused: a thread streams all its rows per segment */
    OB = T <= TB ? OC : (int)CK_MAX(4, (256 << 10) / ((size_t)S / (size_t)qk * wblock_bytes)) / 4 * 4;
    {
        union { ck_block_q8_K k[8 * CK_QSEG / CK_QK_K]; ck_block_q8_1 a[8 * CK_QSEG / CK_QK]; uint16_t h[8 * CK_QSEG]; } act_buf;
        char *act_bytes = (char *)&act_buf;
#if CK_HAVE_AVX512
        ck_block_q8_0 wx[4 * 8 * CK_QSEG / CK_QK]; /* (blocks of at most 34 bytes) */
#endif
        int ob, c0, t0, t, o, i, k;
        if (C == 0) ck__init_out_rows(out, bias, T, OC, o_lo, o_hi); /* no segment sets the output */
        for (ob = o_lo; ob < o_hi; ob += OB) {
            int ob1 = CK_MIN(o_hi, ob + OB);
            for (c0 = 0; c0 < C; c0 += S) {
                int cs = CK_MIN(S, C - c0), nb = cs / qk, nba = cs / act_qk;
                for (t0 = 0; t0 < T; t0 += TB) {
                    int nt = CK_MIN(TB, T - t0);
                    for (t = 0; t < nt; t++) quant_act(inp + (size_t)(t0 + t) * C + c0, act_bytes + (size_t)t * nba * act_block_bytes, cs);
                    for (o = ob; o < ob1; o += 4) {
                        const char *w = (const char *)weight + (size_t)o * row_bytes + (size_t)(c0 / qk) * wblock_bytes;
                        size_t ldw = row_bytes;
                        int nw = CK_MIN(4, ob1 - o);
#if CK_HAVE_AVX512
                        if (x16) {
                            for (i = 0; i < nw; i++) ck__x16_blocks(wtype, weight, C / CK_QK, o + i, c0 / CK_QK, nb, (char *)wx + (size_t)i * nb * wblock_bytes);
                            w = (const char *)wx;
                            ldw = (size_t)nb * wblock_bytes;
                        }
#else
                        (void)x16;
#endif
                        for (t = 0; t < nt; t += 4) {
                            const void *a[4];
                            float res[16];
                            int na = CK_MIN(4, nt - t);
                            for (k = 0; k < 4; k++) a[k] = act_bytes + (size_t)(t + CK_MIN(k, na - 1)) * nba * act_block_bytes;
                            if (tile) tile(w, ldw, nw, a, nb, na, res);
                            else
                                for (i = 0; i < nw; i++) dot(w + (size_t)i * ldw, a, nb, na, res + 4 * i);
                            if (c0) /* the first segment sets the output (bias + its sum), the others add theirs */
                                for (i = 0; i < nw; i++)
                                    for (k = 0; k < na; k++) out[(size_t)(t0 + t + k) * OC + o + i] += res[4 * i + k];
                            else
                                for (i = 0; i < nw; i++)
                                    for (k = 0; k < na; k++) out[(size_t)(t0 + t + k) * OC + o + i] = bias ? bias[o + i] + res[4 * i + k] : res[4 * i + k];
                        }
                    }
                }
            }
        }
    }
}

#if CK_HAVE_AVX512
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" /* g++ 12 on its own intrinsics' __Y = __Y */
#endif
/* Decode (T = 1) on a repacked matrix (CK_Q4_0_X16, CK_Q5_0_X16, CK_Q8_0_X16), rows o_lo..o_hi-1:
   per group of 16 rows and block, one int32 lane per row starts at -off * (the activation block's
   byte sum) and takes 8 vpdpbusd, the rows' values made unsigned (Q4_0: the chunk's low nibbles
   with activation dword j, its high ones with dword j + 4, off 8; Q5_0: the same with the fifth
   bits added, off 16; Q8_0: chunk j + 128 with dword j, off 128): the exact signed block sum S of the tile path. The float step is the tile path's,
   t = (d_w * d_a) * S, acc += t, block after block, over the tile path's segments for T = 1
   (8 * CK_QSEG values: the first sets out = bias + acc, the others add): bit-identical to the
   GGUF matrix's result, for any row range (a group cut by the range is computed whole and stored
   in part). */
/* Prefetch: short rows (C < CK__X16_LONG values) run one group after another with none, the
   hardware's stream prefetcher alone following the one stream (measured fastest there: Zen 5, 1
   thread, 4 builds alternated, against 4, 8, 16 KB ahead: Q8_0 1536 x 576 30.7 GB/s against 28.6,
   Qwen2-0.5B gate / up equal or better than any prefetch); a thread alone on the matrix runs its
   range's two halves side by side, groups g and g + H, two streams far apart (Zen 5, 1 thread
   pinned, 16 alternated pairs, medians: Qwen2-0.5B's 151936 x 896 Q8_0 output matrix 30.5 -> 35.3
   GB/s, paired ratio 1.15; gate shape 30.0 -> 30.1; with 2 threads each on its half: gate 0.94x,
   output 0.98x, so not there; 3 or 4 streams: slower). Long rows (Qwen2-0.5B's down, 4864
   values: 82 KB a group) read at 24 GB/s so: there 4 groups run side by side, each its own stream
   with each block's lines prefetched CK__X16_PFD bytes ahead (31 GB/s; no prefetch 4 streams 18,
   1 stream + prefetch 23). */
#ifndef CK__X16_LONG
#define CK__X16_LONG 2048
#endif
#ifndef CK__X16_PFD
#define CK__X16_PFD 2048
#endif
/* v = the exact sum S of block b of the group at p (its lines CK__X16_PFD bytes on prefetched
   when pf), acc += (d_w * d_a) * S */
#define CK__X16_BLOCK(p, acc, pf)                                                                               \
    do {                                                                                                        \
        const uint8_t *pb_ = (p) + (size_t)b * gsz;                                                             \
        __m512i v_ = _mm512_set1_epi32(corr[b]);                                                                \
        const __m512i qh_ = q5 ? _mm512_loadu_si512((const void *)(pb_ + 32)) : _mm512_setzero_si512();         \
        size_t j_;                                                                                              \
        if (pf)                                                                                                 \
            for (j_ = 0; j_ < gsz; j_ += 64) _mm_prefetch((const char *)pb_ + CK__X16_PFD + j_, _MM_HINT_T0);  \
        for (j_ = 0; j_ < 4; j_++) {                                                                            \
            const __m512i q_ = _mm512_loadu_si512((const void *)(pb_ + qo + 64 * j_));                          \
            if (q8) {                                                                                           \
                const __m512i q2_ = _mm512_loadu_si512((const void *)(pb_ + qo + 64 * (j_ + 4)));               \
                v_ = _mm512_dpbusd_epi32(v_, _mm512_xor_si512(q_, x80), _mm512_set1_epi32(ck__ld32(aq + 4 * j_))); \
                v_ = _mm512_dpbusd_epi32(v_, _mm512_xor_si512(q2_, x80), _mm512_set1_epi32(ck__ld32(aq + 4 * (j_ + 4)))); \
            } else {                                                                                            \
                __m512i lo_ = _mm512_and_si512(q_, m4), hi_ = _mm512_and_si512(_mm512_srli_epi16(q_, 4), m4);  \
                if (q5) {                                                                                       \
                    lo_ = ck__q5x16_bits(lo_, qh_, (int)j_);                                                    \
                    hi_ = ck__q5x16_bits(hi_, qh_, (int)j_ + 4);                                                \
                }                                                                                               \
                v_ = _mm512_dpbusd_epi32(v_, lo_, _mm512_set1_epi32(ck__ld32(aq + 4 * j_)));                    \
                v_ = _mm512_dpbusd_epi32(v_, hi_, _mm512_set1_epi32(ck__ld32(aq + 4 * (j_ + 4))));              \
            }                                                                                                   \
        }                                                                                                       \
        acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtph_ps(ck__load256(pb_)), _mm512_set1_ps(ad[b])), _mm512_cvtepi32_ps(v_))); \
    } while (0)
/* group g's accumulator into out (its rows within o_lo..o_hi-1): the first segment (c0 = 0) sets
   bias + acc, the others add */
static void ck__gemv_x16_store(float *out, const float *bias, __m512 acc, int g, int o_lo, int o_hi, int c0)
{
    const int r0 = CK_MAX(o_lo - g * 16, 0), r1 = CK_MIN(o_hi - g * 16, 16);
    float res[16];
    int r;
    _mm512_storeu_ps(res, acc);
    for (r = r0; r < r1; r++) {
        float *y = out + g * 16 + r;
        if (c0) *y += res[r];
        else *y = bias ? bias[g * 16 + r] + res[r] : res[r];
    }
}
CK__FORCE_INLINE void ck__gemv_x16_avx512(int type, float *out, const float *inp, const void *weight, const float *bias, int C, int o_lo, int o_hi)
{
    enum { S = 8 * CK_QSEG / CK_QK_K * CK_QK_K, SB = S / CK_QK };
    const int q8 = type == CK_Q8_0_X16, q5 = type == CK_Q5_0_X16, off = q8 ? 128 : q5 ? 16 : 8;
    const size_t gsz = 16 * ck__x16_bsz(type), qo = ck__x16_qs_off(type);
    ck_block_q8_0 a[SB];
    int32_t corr[SB];
    float ad[SB];
    const int nbr = C / CK_QK, g_hi = (o_hi + 15) / 16;
    const size_t gstr = (size_t)nbr * gsz; /* from a group's segment to the next group's */
    const __m512i m4 = _mm512_set1_epi8(15), x80 = _mm512_set1_epi8((char)0x80);
    int c0, b, g, ith, nth, half;
    ck__thread_share(&ith, &nth);
    half = C < CK__X16_LONG && nth == 1 ? (g_hi - o_lo / 16) / 2 : 0; /* the two halves' distance, groups (0: one stream) */
    if (C == 0) ck__init_out_rows(out, bias, 1, o_hi, o_lo, o_hi); /* no segment sets the output */
    for (c0 = 0; c0 < C; c0 += S) {
        const int cs = CK_MIN(S, C - c0), nb = cs / CK_QK;
        ck__act_quantizer(CK_Q8_0, 1)(inp + c0, a, cs);
        for (b = 0; b < nb; b++) {
            corr[b] = -off * ck__sum32_i8_avx2(a[b].qs);
            ad[b] = ck__h2f(a[b].d);
        }
        for (g = o_lo / 16; g < o_lo / 16 + half; g++) { /* groups g and g + half; the odd last one below */
            const uint8_t *p = (const uint8_t *)weight + ((size_t)g * nbr + c0 / CK_QK) * gsz, *p1 = p + gstr * (size_t)half;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0;
            for (b = 0; b < nb; b++) {
                const int8_t *aq = a[b].qs;
                CK__X16_BLOCK(p, a0, 0); CK__X16_BLOCK(p1, a1, 0);
            }
            ck__gemv_x16_store(out, bias, a0, g, o_lo, o_hi, c0);
            ck__gemv_x16_store(out, bias, a1, g + half, o_lo, o_hi, c0);
        }
        for (g += half; g < g_hi;) {
            const uint8_t *p = (const uint8_t *)weight + ((size_t)g * nbr + c0 / CK_QK) * gsz;
            if (C >= CK__X16_LONG) { /* 4 groups side by side (past g_hi: the last one again, not stored) */
                const int n = CK_MIN(4, g_hi - g);
                const uint8_t *p1 = p + gstr * (size_t)CK_MIN(1, n - 1), *p2 = p + gstr * (size_t)CK_MIN(2, n - 1), *p3 = p + gstr * (size_t)CK_MIN(3, n - 1);
                __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                for (b = 0; b < nb; b++) {
                    const int8_t *aq = a[b].qs; /* (2-byte aligned: dwords through ck__ld32) */
                    CK__X16_BLOCK(p, a0, 1); CK__X16_BLOCK(p1, a1, 1); CK__X16_BLOCK(p2, a2, 1); CK__X16_BLOCK(p3, a3, 1);
                }
                ck__gemv_x16_store(out, bias, a0, g, o_lo, o_hi, c0);
                if (n > 1) ck__gemv_x16_store(out, bias, a1, g + 1, o_lo, o_hi, c0);
                if (n > 2) ck__gemv_x16_store(out, bias, a2, g + 2, o_lo, o_hi, c0);
                if (n > 3) ck__gemv_x16_store(out, bias, a3, g + 3, o_lo, o_hi, c0);
                g += n;
            } else {
                __m512 a0 = _mm512_setzero_ps();
                for (b = 0; b < nb; b++) {
                    const int8_t *aq = a[b].qs;
                    CK__X16_BLOCK(p, a0, 0);
                }
                ck__gemv_x16_store(out, bias, a0, g, o_lo, o_hi, c0);
                g++;
            }
        }
    }
}
#undef CK__X16_BLOCK
static void ck__gemv_q4_0_x16_avx512(float *out, const float *inp, const void *w, const float *bias, int C, int lo, int hi)
{
    ck__gemv_x16_avx512(CK_Q4_0_X16, out, inp, w, bias, C, lo, hi);
}
static void ck__gemv_q8_0_x16_avx512(float *out, const float *inp, const void *w, const float *bias, int C, int lo, int hi)
{
    ck__gemv_x16_avx512(CK_Q8_0_X16, out, inp, w, bias, C, lo, hi);
}
static void ck__gemv_q5_0_x16_avx512(float *out, const float *inp, const void *w, const float *bias, int C, int lo, int hi)
{
    ck__gemv_x16_avx512(CK_Q5_0_X16, out, inp, w, bias, C, lo, hi);
}
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic pop
#endif
#endif

#if CK_HAVE_AVX512
/* Decode (T = 1) on F16 weights, and BF16 ones where the CPU has AVX512_BF16, rows o_lo..o_hi-1,
   8 rows at a time (ck__qtile_h16_avx512 takes 4 and converts the activation again for every 4):
   each output is the tile kernel's accumulator exactly — the activation rounded to the weight's
   16-bit type by the same quantizer, per step 16 values (F16: converted, one fmadd) or 32 (BF16:
   one vdpbf16ps), a masked tail with zeros in both operands, ck__hsum512, over the tile path's
   segments for T = 1 (the first sets out = bias + sum, the others add): bit-identical to it. */
static void ck__gemv_h16_avx512(int type, float *out, const float *inp, const void *weight, const float *bias, int C, int o_lo, int o_hi)
{
    enum { S = 8 * CK_QSEG / CK_QK_K * CK_QK_K };
    const int f16 = type == CK_F16, step = f16 ? 16 : 32;
    const size_t ldw = (size_t)C * 2;
    uint16_t xh[S];
    int c0, o, r, i;
    if (C == 0) ck__init_out_rows(out, bias, 1, o_hi, o_lo, o_hi); /* no segment sets the output */
    for (c0 = 0; c0 < C; c0 += S) {
        const int cs = CK_MIN(S, C - c0);
        const uint32_t tail = (uint32_t)(cs % step);
        ck__act_quantizer(ck__traits(type)->act, 1)(inp + c0, xh, cs);
        for (o = o_lo; o < o_hi; o += 8) {
            const int nw = CK_MIN(8, o_hi - o);
            const uint16_t *w[8];
            __m512 acc[8];
            float res[8];
            for (r = 0; r < 8; r++) {
                w[r] = (const uint16_t *)(const void *)((const char *)weight + (size_t)(o + CK_MIN(r, nw - 1)) * ldw) + c0;
                acc[r] = _mm512_setzero_ps();
            }
            for (i = 0; i + step <= cs; i += step) {
                const char *pf = (const char *)w[0] + 8 * ldw + (size_t)i * 16; /* the next 8 rows, at 8x the pace: one stream */
                int l;
                for (l = 0; l < step * 16; l += 64) _mm_prefetch(pf + l, _MM_HINT_T0);
                if (f16) {
                    const __m512 x = _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)(xh + i)));
                    for (r = 0; r < 8; r++)
                        acc[r] = _mm512_fmadd_ps(_mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)(w[r] + i))), x, acc[r]);
                }
#if CK_HAVE_AVX512BF16
                else {
                    const __m512i x = _mm512_loadu_si512((const void *)(xh + i));
                    for (r = 0; r < 8; r++) acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_loadu_si512((const void *)(w[r] + i)), (__m512bh)x);
                }
#endif
            }
            if (tail) {
                const __mmask32 m = (__mmask32)((1u << tail) - 1u);
                if (f16) {
                    const __m512 x = _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_maskz_loadu_epi16((__mmask16)m, xh + i));
                    for (r = 0; r < 8; r++)
                        acc[r] = _mm512_fmadd_ps(_mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_maskz_loadu_epi16((__mmask16)m, w[r] + i)), x, acc[r]);
                }
#if CK_HAVE_AVX512BF16
                else {
                    const __m512i x = _mm512_maskz_loadu_epi16(m, xh + i);
                    for (r = 0; r < 8; r++) acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_maskz_loadu_epi16(m, w[r] + i), (__m512bh)x);
                }
#endif
            }
            for (r = 0; r < nw; r++) {
                res[r] = ck__hsum512(acc[r]);
                if (c0) out[o + r] += res[r];
                else out[o + r] = bias ? bias[o + r] + res[r] : res[r];
            }
        }
    }
}
#endif

#if CK_HAVE_AVX512
static void ck__matmul_x16f_rows(int type, float *out, const float *inp, const void *w, const float *bias, int T, int C, int OC, int g_lo, int g_hi);
#endif
/* the prefill GEMMs where they serve the type and T, else the tile path (a CK_Q4_0_X16 decode:
   its own kernel); a float layout (CK_F32_X16, CK_F16_X16, CK_BF16_X16, AVX-512 builds only):
   ck__matmul_x16f_rows on the groups that start in [o_lo, o_hi), which are whole groups where the
   callers split them (ck__matmul_q_fast_part, and _multi_part over matrices of whole groups) */
static void ck__matmul_q_fast_rows(int simd, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C,
                                   int OC, int o_lo, int o_hi)
{
#if CK_HAVE_AVX512
    if (ck__is_x16f(type)) {
        ck__matmul_x16f_rows(type, out, inp, weight, bias, T, C, OC, o_lo / 16, o_hi / 16);
        return;
    }
    if (simd && T == 1 && (type == CK_F16 || (type == CK_BF16 && CK_HAVE_AVX512BF16))) {
        ck__gemv_h16_avx512(type, out, inp, weight, bias, C, o_lo, o_hi);
        return;
    }
    if (ck__is_x16(type) && simd && T == 1) {
        void (*gemv)(float *, const float *, const void *, const float *, int, int, int) =
            type == CK_Q4_0_X16 ? ck__gemv_q4_0_x16_avx512 : type == CK_Q5_0_X16 ? ck__gemv_q5_0_x16_avx512 : ck__gemv_q8_0_x16_avx512;
        gemv(out, inp, weight, bias, C, o_lo, o_hi);
        return;
    }
#endif
    if (ck__gemm_int_rows(simd, type, out, inp, weight, bias, T, C, OC, o_lo, o_hi) ||
        ck__gemm_h16_rows(simd, type, out, inp, weight, bias, T, C, OC, o_lo, o_hi))
        return;
    ck__matmul_q_tile_rows(simd, type, out, inp, weight, bias, T, C, OC, o_lo, o_hi);
}

#if CK_HAVE_AVX512
/* A float layout (CK_F32_X16, CK_F16_X16, CK_BF16_X16). T >= 2: ck__gemm_h16_simd reading the
   groups in place.
   Decode: per segment of up to 4096 values the activation as the GEMM takes it (F32 as is; F16
   rounded and widened back to fp32; BF16 rounded, in pairs, an odd count padded with 0), then per
   group of 16 rows one accumulator, from the bias (the first segment) or out, takes
   fma(x(k), W(16g.., k), acc) (F32, F16) or vdpbf16ps(acc, W pair p, x pair p) (BF16) over the
   segment, 4 groups at a time (4 chains, 4 streams): the GEMM's chain, its bits. */
/* the groups g_lo..g_hi-1 (rows 16 g_lo .. 16 g_hi - 1) of a float layout's output */
static void ck__matmul_x16f_rows(int type, float *out, const float *inp, const void *w, const float *bias, int T, int C, int OC, int g_lo, int g_hi)
{
    const int f32 = type == CK_F32_X16, bf = type == CK_BF16_X16;
    const size_t es = f32 ? 4 : 2; /* bytes a value */
    const ck__qact_fn quant = f32 ? NULL : ck__act_quantizer(ck_repack_base(type), 1);
    enum { S = 4096 };
    float xs[S];
    uint16_t xh[S + 2];
    int g, k, j, c0, ith, nth, split;
    ck__thread_share(&ith, &nth);
    /* a thread alone on the matrix: its first 2 H groups as pairs g, g + 1 beside g + H, g + H + 1 (two
       streams far apart, as the X16 decode's short rows), the rest 4 at a time */
    split = nth == 1 ? (g_hi - g_lo) / 4 * 2 : 0;
    if (T >= 2)
        ck__gemm_h16_simd(f32 ? CK__Q16_KIND_F32X : bf ? CK__Q16_KIND_DPBF16 : CK__Q16_KIND_F16, quant, out, inp, (const uint16_t *)w, bias, T, C, OC, g_lo * 16, g_hi * 16, 1);
    for (c0 = 0; c0 < C && T == 1; c0 += S) {
        const int cs = CK_MIN(S, C - c0);
        const float *x = f32 ? inp + c0 : xs;
        if (!f32) {
            quant(inp + c0, xh, cs);
            xh[cs] = 0;
            if (!bf) ck__dequant_avx2(CK_F16, xh, xs, cs);
        }
        /* F16 / BF16: the four streams are prefetched 2 KB ahead, and near a segment's end the
           next four groups' first lines (the hardware's stream prefetcher does not ramp up on 4
           streams of a few KB in time; measured on Zen 5, T = 1, 1 thread, against no prefetch:
           F16 +15-25% at 576 values (SmolLM's decode +15%), +5-15% at 896-4864; BF16 +10-28%;
           F32 (twice the bytes a step) gained nothing, so not there) */
        const int pfs = !f32;
        const size_t gs = (size_t)C * 16 * es, ss = (size_t)cs * 16 * es; /* a group's bytes; its segment's */
        for (g = g_lo; g < g_hi;) {
            /* groups g, g + 1 and their twins H on (split), or up to 4 from g; nx: groups to the next step's */
            const int sp = g < g_lo + split, n = sp ? 4 : CK_MIN(4, g_hi - g), nx = sp ? 2 : 4;
            int gi[4];
            const char *p[4];
            __m512 a[4];
            for (j = 0; j < 4; j++) { /* (past n: the last group again, not stored) */
                const int gj = gi[j] = sp ? g + j % 2 + j / 2 * split : g + CK_MIN(j, n - 1);
                p[j] = (const char *)w + ((size_t)gj * C + (size_t)c0) * 16 * es;
                a[j] = c0 ? _mm512_loadu_ps(out + (size_t)gj * 16) : bias ? _mm512_loadu_ps(bias + (size_t)gj * 16) : _mm512_setzero_ps();
            }
            g += sp ? (g + 2 == g_lo + split ? 2 + split : 2) : n;
#define CK__X16F_H16(j) _mm256_loadu_si256((const __m256i *)(const void *)(p[j] + (size_t)k * 32))
#define CK__X16F_PF                                                                                                     \
if (pfs && (size_t)k * 16 * es % 64 == 0) { /* (a line a stream, 2 KB ahead: past the segment's end, the next 4 groups') */ \
    size_t po = (size_t)k * 16 * es + 2048;                                                                         \
    if (po >= ss) po += (size_t)nx * gs - ss;                                                                       \
    _mm_prefetch(p[0] + po, _MM_HINT_T0); _mm_prefetch(p[1] + po, _MM_HINT_T0);                                     \
    _mm_prefetch(p[2] + po, _MM_HINT_T0); _mm_prefetch(p[3] + po, _MM_HINT_T0);                                     \
}
            if (f32)
                for (k = 0; k < cs; k++) {
                    const __m512 xv = _mm512_set1_ps(x[k]);
                    CK__X16F_PF
#define CK__X16F_F32(j) a[j] = _mm512_fmadd_ps(xv, _mm512_loadu_ps((const void *)(p[j] + (size_t)k * 64)), a[j]);
                    CK__X16F_F32(0) CK__X16F_F32(1) CK__X16F_F32(2) CK__X16F_F32(3)
#undef CK__X16F_F32
                }
            else if (!bf)
                for (k = 0; k < cs; k++) {
                    const __m512 xv = _mm512_set1_ps(x[k]);
                    CK__X16F_PF
#define CK__X16F_F16(j) a[j] = _mm512_fmadd_ps(xv, _mm512_maskz_cvtph_ps((__mmask16)0xffff, CK__X16F_H16(j)), a[j]);
                    CK__X16F_F16(0) CK__X16F_F16(1) CK__X16F_F16(2) CK__X16F_F16(3)
#undef CK__X16F_F16
                }
#if CK_HAVE_AVX512BF16
            else
                for (k = 0; k < cs; k += 2) {
                    uint32_t xp;
                    __m512bh xv;
                    memcpy(&xp, xh + k, sizeof xp);
                    xv = (__m512bh)_mm512_set1_epi32((int)xp);
                    CK__X16F_PF
                    if (k + 1 < cs) { /* a pair of the group: 64 bytes */
#define CK__X16F_DP(j) a[j] = _mm512_dpbf16_ps(a[j], (__m512bh)_mm512_loadu_si512((const void *)(p[j] + (size_t)k * 32)), xv);
                        CK__X16F_DP(0) CK__X16F_DP(1) CK__X16F_DP(2) CK__X16F_DP(3)
#undef CK__X16F_DP
                    } else { /* an odd C's last value: the pair (w, 0) */
#define CK__X16F_DP1(j) a[j] = _mm512_dpbf16_ps(a[j], (__m512bh)_mm512_maskz_cvtepu16_epi32((__mmask16)0xffff, CK__X16F_H16(j)), xv);
                        CK__X16F_DP1(0) CK__X16F_DP1(1) CK__X16F_DP1(2) CK__X16F_DP1(3)
#undef CK__X16F_DP1
                    }
                }
#endif
#undef CK__X16F_PF
#undef CK__X16F_H16
            for (j = 0; j < n; j++) _mm512_storeu_ps(out + (size_t)gi[j] * 16, a[j]);
        }
    }
}
#endif

static void ck__matmul_q_fast_part(int simd, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    const int g = ck__is_x16(type) || ck__is_x16f(type) ? 16 : 1; /* a repacked matrix: the threads take whole groups of rows */
    int o_lo, o_hi;
    ck__thread_rows(OC / g, &o_lo, &o_hi);
    ck__matmul_q_fast_rows(simd, type, out, inp, weight, bias, T, C, OC, o_lo * g, o_hi * g);
}
static void ck__matmul_q_fast_job(void *p)
{
    const ck__mm_job *j = (const ck__mm_job *)p;
    ck__matmul_q_fast_part(j->simd, j->type, j->out, j->inp, j->w, j->bias, j->T, j->C, j->OC);
}
static void ck__matmul_q_fast(int simd, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    ck__mm_job j;
    CK_ASSERT(OC % (ck__is_x16(type) || ck__is_x16f(type) ? 16 : 1) == 0 && "ck_matmul_forward_q: a repacked matrix has rows in groups of 16");
    j.simd = simd, j.type = type, j.out = out, j.inp = inp, j.w = weight, j.bias = bias, j.T = T, j.C = C, j.OC = OC;
    ck__par((double)T * OC * C > CK_OMP_MIN_WORK && (T > 1 || (double)OC * ck_row_size(ck_repack_base(type), C) > CK_OMP_MIN_DECODE_BYTES),
            ck__matmul_q_fast_job, &j);
}

/* the GGUF blocks of weight row o, values c0 .. c0+cs-1, of a weight of type wtype: a pointer
   into it, or (a repacked layout) the blocks copied into buf (room for cs / 32 Q8_0 blocks; for
   CK_F32_X16, CK_F16_X16 and CK_BF16_X16, cs values: only the embedding lookup reads these layouts' rows) */
static const char *ck__wrow_blocks(int wtype, const void *weight, int C, int o, int c0, int cs, void *buf)
{
    const int type = ck_repack_base(wtype);
    if (ck__is_x16f(wtype)) {
        const size_t g = (size_t)(o / 16) * C * 16;
        int k;
        for (k = 0; k < cs; k++) {
            const size_t i = g + ck__x16f_at(wtype, C, o % 16, c0 + k);
            if (wtype == CK_F32_X16) ((float *)buf)[k] = ((const float *)weight)[i];
            else ((uint16_t *)buf)[k] = ((const uint16_t *)weight)[i];
        }
        return (const char *)buf;
    }
    if (ck__is_x16(wtype)) {
        ck__x16_blocks(wtype, weight, C / CK_QK, o, c0 / CK_QK, cs / CK_QK, buf);
        return (const char *)buf;
    }
    return (const char *)weight + (size_t)o * ck_row_size(type, C) + (size_t)(c0 / ck_type_block_size(type)) * ck_type_block_bytes(type);
}

/* Exact path, scalar: each weight row segment is dequantized once into the stack and dotted
   with every activation row. */
static void ck__matmul_q_exact_scalar(int wtype, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    const int type = ck_repack_base(wtype);
    CK_OMP(omp parallel if ((double)T * OC * C > CK_OMP_MIN_WORK))
    {
        float wseg[CK_QSEG];
        ck_block_q8_0 wx[CK_QSEG / CK_QK]; /* a repacked row's segment */
        int o_lo, o_hi, o, c0, t;
        ck__thread_rows(OC, &o_lo, &o_hi);
        ck__init_out_rows(out, bias, T, OC, o_lo, o_hi);
        for (o = o_lo; o < o_hi; o++)
            for (c0 = 0; c0 < C; c0 += CK_QSEG) {
                int cs = CK_MIN(CK_QSEG, C - c0);
                ck__dequant_scalar(type, ck__wrow_blocks(wtype, weight, C, o, c0, cs, wx), wseg, cs);
                for (t = 0; t < T; t++) out[(size_t)t * OC + o] += ck__dot_scalar(inp + (size_t)t * C + c0, wseg, cs);
            }
    }
}

#if CK_HAVE_AVX2
/* Exact path, AVX2: 6 weight rows x CK_QSEG/2 values dequantized at a time (12 KB of stack),
   then the FP32 register tiles of ck_matmul_forward_avx2 accumulate them into out. */
static void ck__matmul_q_exact_avx2(int wtype, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    enum { RG = 6, SEG = CK_QSEG / 2 };
    const int type = ck_repack_base(wtype);
    CK_OMP(omp parallel if ((double)T * OC * C > CK_OMP_MIN_WORK))
    {
        float wseg[RG * SEG];
        ck_block_q8_0 wx[SEG / CK_QK]; /* a repacked row's segment */
        int o_lo, o_hi, o, c0, t, r;
        ck__thread_rows(OC, &o_lo, &o_hi);
        ck__init_out_rows(out, bias, T, OC, o_lo, o_hi);
        for (o = o_lo; o < o_hi; o += RG) {
            int nr = CK_MIN(RG, o_hi - o);
            for (c0 = 0; c0 < C; c0 += SEG) {
                int cs = CK_MIN(SEG, C - c0);
                for (r = 0; r < nr; r++) ck__dequant_avx2(type, ck__wrow_blocks(wtype, weight, C, o + r, c0, cs, wx), wseg + r * SEG, cs);
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
    const ck__type_traits *t = ck__traits(ck_repack_base(type));
    CK_ASSERT((ck_repack_base(type) == type || CK_HAVE_AVX512) && "ck_matmul_forward_q: the repacked layouts need an AVX-512 build (ck_repack_type)");
    CK_ASSERT((type != CK_BF16_X16 || CK_HAVE_AVX512BF16) && "ck_matmul_forward_q: CK_BF16_X16 needs an AVX512_BF16 build (ck_repack_type)");
    CK_ASSERT(t != NULL && "ck_matmul_forward_q / _backward_q: unknown type");
    CK_ASSERT(C % t->blck == 0 && "ck_matmul_forward_q / _backward_q: C must be a multiple of the block size");
    CK_ASSERT(((uintptr_t)weight % (uintptr_t)t->align) == 0 && "ck_matmul_forward_q / _backward_q: weight misaligned for its blocks");
    (void)t; (void)weight; (void)C;
}

/* CK_F32_X16, CK_F16_X16 and CK_BF16_X16, the scalar reference: each output one fmaf chain over k
   from its bias (F16 / BF16: the activations rounded to the type): the AVX-512 kernels' bits for
   F32 and F16; BF16's vdpbf16ps adds each pair's products in its own way (within rounding) */
static void ck__matmul_x16_float_scalar(int type, float *out, const float *inp, const void *w, const float *bias, int T, int C, int OC)
{
    int t, o, k;
    for (t = 0; t < T; t++)
        for (o = 0; o < OC; o++) {
            const size_t g = (size_t)(o / 16) * C * 16;
            const float *x = inp + (size_t)t * C;
            float s = bias ? bias[o] : 0.0f;
            for (k = 0; k < C; k++) {
                const size_t i = g + ck__x16f_at(type, C, o % 16, k);
                const uint16_t h = type == CK_F32_X16 ? 0 : ((const uint16_t *)w)[i];
                s = type == CK_F32_X16  ? fmaf(((const float *)w)[i], x[k], s)
                  : type == CK_F16_X16 ? fmaf(ck_fp16_to_fp32(h), ck_fp16_to_fp32(ck_fp32_to_fp16(x[k])), s)
                                       : fmaf(ck_bf16_to_fp32(h), ck_bf16_to_fp32(ck_fp32_to_bf16(x[k])), s);
            }
            out[(size_t)t * OC + o] = s;
        }
}

CK_DEF void ck_matmul_forward_qp_scalar(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    ck__check_qmatmul(type, weight, C);
    if (type == CK_F32) ck_matmul_forward_scalar(out, inp, (const float *)weight, bias, T, C, OC);
    else if (ck__is_x16f(type)) ck__matmul_x16_float_scalar(type, out, inp, weight, bias, T, C, OC);
    else if (path == CK_Q_FAST && ck__qdot_kernel(ck_repack_base(type), 0)) ck__matmul_q_fast(0, type, out, inp, weight, bias, T, C, OC);
    else ck__matmul_q_exact_scalar(type, out, inp, weight, bias, T, C, OC);
}

#if CK_HAVE_AVX2
CK_DEF void ck_matmul_forward_qp_avx2(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    ck__check_qmatmul(type, weight, C);
    if (type == CK_F32) ck_matmul_forward_avx2(out, inp, (const float *)weight, bias, T, C, OC);
#if CK_HAVE_AVX512
    else if (ck__is_x16f(type)) ck__matmul_q_fast(1, type, out, inp, weight, bias, T, C, OC); /* (on either path: its only kernels) */
#endif
    else if (path == CK_Q_FAST && ck__qdot_kernel(ck_repack_base(type), 1)) ck__matmul_q_fast(1, type, out, inp, weight, bias, T, C, OC);
    else ck__matmul_q_exact_avx2(type, out, inp, weight, bias, T, C, OC);
}
#endif

#if CK_HAVE_NEON
/* NEON: the fast path runs the NEON activation quantizers and dot products (bit-identical to the
   scalar path, F16/BF16 within the summation-order bound); fp32 weights take ck_matmul_forward_neon
   (what a generated model's F32 calls run, whether or not they go through ck_matmul_forward_q);
   the exact path runs the scalar code for now. */
CK_DEF void ck_matmul_forward_qp_neon(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    ck__check_qmatmul(type, weight, C);
    if (type == CK_F32) ck_matmul_forward_neon(out, inp, (const float *)weight, bias, T, C, OC);
    else if (path == CK_Q_FAST && ck__qdot_kernel(ck_repack_base(type), 1)) ck__matmul_q_fast(1, type, out, inp, weight, bias, T, C, OC);
    else ck__matmul_q_exact_scalar(type, out, inp, weight, bias, T, C, OC);
}
#endif

#if CK_HAVE_MVE
/* Helium: fp32 weights take ck_matmul_forward_mve; the fast path runs the Helium dot products
   on activations quantized by the scalar code (so Q8_0/Q4_0 results equal the scalar path's bit
   for bit); the exact path is the scalar one. */
CK_DEF void ck_matmul_forward_qp_mve(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
    ck__check_qmatmul(type, weight, C);
    if (type == CK_F32) ck_matmul_forward_mve(out, inp, (const float *)weight, bias, T, C, OC);
    else if (path == CK_Q_FAST && ck__qdot_kernel(ck_repack_base(type), 1)) ck__matmul_q_fast(1, type, out, inp, weight, bias, T, C, OC);
    else ck__matmul_q_exact_scalar(type, out, inp, weight, bias, T, C, OC);
}
#endif

CK_DEF void ck_matmul_forward_qp(int path, int type, float *out, const float *inp, const void *weight, const float *bias, int T, int C, int OC)
{
#if CK_HAVE_AVX2
    ck_matmul_forward_qp_avx2(path, type, out, inp, weight, bias, T, C, OC);
#elif CK_HAVE_NEON
    ck_matmul_forward_qp_neon(path, type, out, inp, weight, bias, T, C, OC);
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

/* On the fast path the threads split the rows of all n outputs as one: each thread's range may
   span several matrices, each row computed as ck_matmul_forward_q computes it (the tile kernels'
   results do not depend on the grouping of rows), the float layouts (CK_F16_X16, CK_BF16_X16,
   CK_F32_X16) too. Otherwise (F32 weights, the exact path for a quantized type) n calls. Measured
   (Qwen2-0.5B F16 / BF16, 64-token prefill, 2 threads): q/k/v as three calls ran at 241 / 452
   GFLOP/s against 307 / 532 for the down projection alone; k and v (128 rows) each paid the
   activations' rounding and a region for 64 rows a thread. */
typedef struct {
    int simd;
    const ck_qmatmul *mm;
    int n;
    const float *inp;
    int T, C, total, unit;
} ck__multi_job;
static void ck__matmul_q_multi_part(void *p)
{
    const ck__multi_job *J = (const ck__multi_job *)p;
    const int simd = J->simd, n = J->n, T = J->T, C = J->C;
    const ck_qmatmul *mm = J->mm;
    const float *inp = J->inp;
    int lo, hi, base = 0, j;
    ck__thread_rows(J->total / J->unit, &lo, &hi);
    lo *= J->unit, hi *= J->unit;
    for (j = 0; j < n; base += mm[j].OC, j++) {
        int a = CK_MAX(lo, base) - base, b = CK_MIN(hi, base + mm[j].OC) - base;
        /* (a float layout takes the groups that start in [a, b): its OC is whole groups, so each is computed once) */
        if (a < b) ck__matmul_q_fast_rows(simd, mm[j].type, mm[j].out, inp, mm[j].weight, mm[j].bias, T, C, mm[j].OC, a, b);
    }
}
CK_DEF void ck_matmul_forward_q_multi(const ck_qmatmul *mm, int n, const float *inp, int T, int C)
{
    int simd = CK_HAVE_AVX2 || CK_HAVE_NEON || CK_HAVE_MVE, i, total = 0, all16 = 1;
    double bytes = 0.0; /* the weights' */
    ck__multi_job J;
    for (i = 0; i < n; i++) {
        ck__check_qmatmul(mm[i].type, mm[i].weight, C);
        if (mm[i].type == CK_F32) break;
        if (ck__is_x16f(mm[i].type)) { /* AVX-512 builds (which make these layouts): ck__matmul_x16f_rows, on any path as alone */
            if (!CK_HAVE_AVX512) break;
        } else if (CK_QMATMUL_PATH != CK_Q_FAST || !ck__qdot_kernel(ck_repack_base(mm[i].type), simd))
            break;
        all16 &= mm[i].OC % 16 == 0;
        total += mm[i].OC;
        bytes += (double)mm[i].OC * ck_row_size(ck_repack_base(mm[i].type), C);
    }
    if (i < n) {
        for (i = 0; i < n; i++) ck_matmul_forward_q(mm[i].type, mm[i].out, inp, mm[i].weight, mm[i].bias, T, C, mm[i].OC);
        return;
    }
    /* the threads split whole groups of 16 rows where every matrix has them (a repacked matrix then
       computes no group twice) */
    J.unit = all16 ? 16 : 1;
    J.simd = simd, J.mm = mm, J.n = n, J.inp = inp, J.T = T, J.C = C, J.total = total;
    ck__par((double)T * total * C > CK_OMP_MIN_WORK && (T > 1 || bytes > CK_OMP_MIN_DECODE_BYTES), ck__matmul_q_multi_part, &J);
}

/* dinp [T,C] += dout [T,OC] @ dequant(weight) [OC,C], CK_MATMUL_BQ_ROWS weight rows at a time through
   scratch [CK_MATMUL_BQ_ROWS, C] (declaration: why the chunks give the whole-matrix bits). simd: the
   dispatched dequantizer and, on AVX2/AVX-512/NEON, the packed GEMM (A = the chunk's columns of dout, rows
   OC apart; B = the chunk); else ck_dequantize_row_scalar and the scalar reference's loop. */
static void ck__matmul_backward_q(int simd, int type, float *dinp, const float *dout, const void *weight, int T, int C, int OC, float *scratch)
{
    const size_t row_bytes = ck_row_size(type, C);
    int o0;
    if (T <= 0 || C <= 0) return; /* no gradient to accumulate into: nothing to dequantize */
    CK_ASSERT((scratch != NULL || OC <= 0) && "ck_matmul_backward_q: scratch [min(OC, CK_MATMUL_BQ_ROWS), C] is required");
    for (o0 = 0; o0 < OC; o0 += CK_MATMUL_BQ_ROWS) {
        const int n = CK_MIN(CK_MATMUL_BQ_ROWS, OC - o0);
        int r;
        CK_OMP(omp parallel for schedule(static) if ((double)n * C > CK_OMP_MIN_WORK))
        for (r = 0; r < n; r++) { /* scratch [n,C] = rows o0 .. o0+n-1 of the weight */
            const void *src = (const char *)weight + (size_t)(o0 + r) * row_bytes;
            if (simd) ck_dequantize_row(type, src, scratch + (size_t)r * C, C);
            else ck_dequantize_row_scalar(type, src, scratch + (size_t)r * C, C);
        }
#if CK_HAVE_AVX2 || CK_HAVE_NEON
        if (simd) { /* dinp [T,C] += dout[:, o0:o0+n] [T,n] @ scratch [n,C] */
            ck__gemm_f32(dinp, (size_t)C, dout + o0, (size_t)OC, 1, scratch, (size_t)C, 1, T, C, n, NULL, 1);
            continue;
        }
#endif
        ck__matmul_dinp_scalar(dinp, dout + o0, (size_t)OC, scratch, T, C, n);
    }
}

CK_DEF void ck_matmul_backward_q_scalar(int type, float *dinp, const float *dout, const void *weight, int T, int C, int OC, float *scratch)
{
    ck__check_qmatmul(type, weight, C);
    CK_ASSERT(ck_repack_base(type) == type && "ck_matmul_backward_q: training reads the GGUF layouts, not a repacked one");
    if (type == CK_F32) ck_matmul_backward_scalar(dinp, NULL, NULL, dout, NULL, (const float *)weight, T, C, OC);
    else ck__matmul_backward_q(0, type, dinp, dout, weight, T, C, OC, scratch);
}

CK_DEF void ck_matmul_backward_q(int type, float *dinp, const float *dout, const void *weight, int T, int C, int OC, float *scratch)
{
    ck__check_qmatmul(type, weight, C);
    CK_ASSERT(ck_repack_base(type) == type && "ck_matmul_backward_q: training reads the GGUF layouts, not a repacked one");
    if (type == CK_F32) ck_matmul_backward(dinp, NULL, NULL, dout, NULL, (const float *)weight, T, C, OC);
    else ck__matmul_backward_q(1, type, dinp, dout, weight, T, C, OC, scratch);
}

CK_DEF void ck_dequantize_row(int type, const void *src, float *dst, int64_t n)
{
    CK_ASSERT(ck_row_size(type, n) > 0 || n == 0);
#if CK_HAVE_AVX2
    ck__dequant_avx2(type, src, dst, n);
#elif CK_HAVE_NEON
    ck__dequant_neon(type, src, dst, n);
#else
    ck__dequant_scalar(type, src, dst, n);
#endif
}

/* ===================================================================================== */
/* 6. Normalisation                                                                      */
/* ===================================================================================== */

/* out [T,C] = x * w * rstd, rstd = 1/sqrt(mean(x^2) + eps). simd (NEON): x^2 summed in two double
   lanes (each square exact in double, as in the scalar loop; only the order of the sum differs), the
   scaling 4 lanes at a time with the scalar loop's products in its order */
static void ck__rmsnorm_row(float *o, float *rstd, const float *x, const float *weight, int C, float eps, int simd)
{
    double ss = 0.0;
    float r;
    int c = 0;
    (void)simd;
#if CK_HAVE_NEON
    if (simd) {
        float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
        for (; c + 4 <= C; c += 4) {
            const float32x4_t v = vld1q_f32(x + c);
            const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
            s0 = vfmaq_f64(s0, lo, lo);
            s1 = vfmaq_f64(s1, hi, hi);
        }
        s0 = vaddq_f64(s0, s1);
        ss = vgetq_lane_f64(s0, 0) + vgetq_lane_f64(s0, 1);
    }
#elif CK_HAVE_AVX2
    if (simd) { /* 8 double lanes (two registers), each square exact, each lane's sum in order */
        __m256d s0 = _mm256_setzero_pd(), s1 = s0;
        for (; c + 8 <= C; c += 8) {
            const __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + c)), hi = _mm256_cvtps_pd(_mm_loadu_ps(x + c + 4));
            s0 = _mm256_fmadd_pd(lo, lo, s0);
            s1 = _mm256_fmadd_pd(hi, hi, s1);
        }
        {
            double l[4];
            _mm256_storeu_pd(l, _mm256_add_pd(s0, s1));
            ss = (l[0] + l[1]) + (l[2] + l[3]);
        }
    }
#endif
    for (; c < C; c++) ss += (double)x[c] * x[c];
    r = (float)(1.0 / sqrt(ss / C + (double)eps));
    c = 0;
#if CK_HAVE_NEON
    if (simd)
        for (; c + 4 <= C; c += 4) vst1q_f32(o + c, vmulq_f32(vmulq_n_f32(vld1q_f32(x + c), r), vld1q_f32(weight + c)));
#elif CK_HAVE_AVX2
    if (simd) /* the scalar loop's products in its order: the same bits */
        for (; c + 8 <= C; c += 8) _mm256_storeu_ps(o + c, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + c), _mm256_set1_ps(r)), _mm256_loadu_ps(weight + c)));
#endif
    for (; c < C; c++) o[c] = x[c] * r * weight[c];
    if (rstd) *rstd = r;
}
static void ck__rmsnorm_rows(float *out, float *rstd, const float *inp, const float *weight, int T, int C, float eps, int simd)
{
    int t, t0, t1;
    ck__thread_rows(T, &t0, &t1);
    for (t = t0; t < t1; t++) ck__rmsnorm_row(out + (size_t)t * C, rstd ? rstd + t : NULL, inp + (size_t)t * C, weight, C, eps, simd);
}
static void ck__rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int T, int C, float eps, int simd)
{
    CK__PAR_CALL((double)T * C > CK_OMP_MIN_WORK, ck__rmsnorm_rows(out, rstd, inp, weight, T, C, eps, simd));
}
CK_DEF void ck_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int T, int C, float eps)
{
    ck__rmsnorm_forward(out, rstd, inp, weight, T, C, eps, CK_HAVE_NEON || CK_HAVE_AVX2);
}

/* x_hat = x*rstd, g = w*dout:  dinp += rstd * (g - x_hat * mean(g*x_hat));  dweight += dout*x_hat.
   simd (NEON): the float products of the scalar loops 4 lanes at a time, the sums in double lanes
   (dinp: two lanes, another order; dweight: per column over t in order, the same bits) */
static void ck__rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight, const float *rstd,
                                 int T, int C, int simd)
{
    int t, c;
    (void)simd;
    if (dinp) {
        CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
        for (t = 0; t < T; t++) {
            const float *x = inp + (size_t)t * C, *d = dout + (size_t)t * C;
            float *di = dinp + (size_t)t * C, r = rstd[t], m;
            double s = 0.0;
            int i = 0;
#if CK_HAVE_NEON
            if (simd) {
                float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
                for (; i + 4 <= C; i += 4) {
                    const float32x4_t g = vmulq_f32(vld1q_f32(weight + i), vld1q_f32(d + i)), xh = vmulq_n_f32(vld1q_f32(x + i), r);
                    s0 = vfmaq_f64(s0, vcvt_f64_f32(vget_low_f32(g)), vcvt_f64_f32(vget_low_f32(xh)));
                    s1 = vfmaq_f64(s1, vcvt_high_f64_f32(g), vcvt_high_f64_f32(xh));
                }
                s0 = vaddq_f64(s0, s1);
                s = vgetq_lane_f64(s0, 0) + vgetq_lane_f64(s0, 1);
            }
#endif
            for (; i < C; i++) s += (double)(weight[i] * d[i]) * (x[i] * r);
            m = (float)(s / C);
            i = 0;
#if CK_HAVE_NEON
            if (simd)
                for (; i + 4 <= C; i += 4) {
                    const float32x4_t g = vmulq_f32(vld1q_f32(weight + i), vld1q_f32(d + i)), xh = vmulq_n_f32(vld1q_f32(x + i), r);
                    vst1q_f32(di + i, vaddq_f32(vld1q_f32(di + i), vmulq_n_f32(vsubq_f32(g, vmulq_n_f32(xh, m)), r)));
                }
#endif
            for (; i < C; i++) di[i] += r * (weight[i] * d[i] - x[i] * r * m);
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
                c = c0;
#if CK_HAVE_NEON
                if (simd)
                    for (; c + 4 <= c1; c += 4) {
                        const float32x4_t p = vmulq_f32(vld1q_f32(d + c), vmulq_n_f32(vld1q_f32(x + c), r));
                        vst1q_f64(acc + c - c0, vaddq_f64(vld1q_f64(acc + c - c0), vcvt_f64_f32(vget_low_f32(p))));
                        vst1q_f64(acc + c - c0 + 2, vaddq_f64(vld1q_f64(acc + c - c0 + 2), vcvt_high_f64_f32(p)));
                    }
#endif
                for (; c < c1; c++) acc[c - c0] += d[c] * (x[c] * r);
            }
            for (c = c0; c < c1; c++) dweight[c] += (float)acc[c - c0];
        }
    }
}
CK_DEF void ck_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight, const float *rstd, int T, int C)
{
    ck__rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, T, C, CK_HAVE_NEON);
}

/* out = (x - mean) * rstd * w + b. simd (NEON): the sums in two double lanes (another order), the
   products of the scalar loops 4 lanes at a time in their order */
static void ck__layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias, int T, int C,
                                  float eps, int simd)
{
    int t;
    (void)simd;
    CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        const float *x = inp + (size_t)t * C;
        float *o = out + (size_t)t * C, mu, r;
        double s = 0.0, v = 0.0;
        int c = 0;
#if CK_HAVE_NEON
        if (simd) {
            float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
            for (; c + 4 <= C; c += 4) {
                const float32x4_t xv = vld1q_f32(x + c);
                s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(xv)));
                s1 = vaddq_f64(s1, vcvt_high_f64_f32(xv));
            }
            s0 = vaddq_f64(s0, s1);
            s = vgetq_lane_f64(s0, 0) + vgetq_lane_f64(s0, 1);
        }
#endif
        for (; c < C; c++) s += x[c];
        s /= C;
        c = 0;
#if CK_HAVE_NEON
        if (simd) {
            const float64x2_t vs = vdupq_n_f64(s);
            float64x2_t v0 = vdupq_n_f64(0.0), v1 = v0;
            for (; c + 4 <= C; c += 4) {
                const float32x4_t xv = vld1q_f32(x + c);
                const float64x2_t d0 = vsubq_f64(vcvt_f64_f32(vget_low_f32(xv)), vs), d1 = vsubq_f64(vcvt_high_f64_f32(xv), vs);
                v0 = vaddq_f64(v0, vmulq_f64(d0, d0));
                v1 = vaddq_f64(v1, vmulq_f64(d1, d1));
            }
            v0 = vaddq_f64(v0, v1);
            v = vgetq_lane_f64(v0, 0) + vgetq_lane_f64(v0, 1);
        }
#endif
        for (; c < C; c++) { double d = x[c] - s; v += d * d; }
        mu = (float)s;
        r = (float)(1.0 / sqrt(v / C + (double)eps));
        c = 0;
#if CK_HAVE_NEON
        if (simd)
            for (; c + 4 <= C; c += 4) {
                const float32x4_t y = vmulq_f32(vmulq_n_f32(vsubq_f32(vld1q_f32(x + c), vdupq_n_f32(mu)), r), vld1q_f32(weight + c));
                vst1q_f32(o + c, vaddq_f32(y, bias ? vld1q_f32(bias + c) : vdupq_n_f32(0.0f)));
            }
#endif
        for (; c < C; c++) o[c] = (x[c] - mu) * r * weight[c] + (bias ? bias[c] : 0.0f);
        if (mean) mean[t] = mu;
        if (rstd) rstd[t] = r;
    }
}
CK_DEF void ck_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias, int T, int C, float eps)
{
    ck__layernorm_forward(out, mean, rstd, inp, weight, bias, T, C, eps, CK_HAVE_NEON);
}

/* n = (x-mean)*rstd, g = w*dout:  dinp += rstd * (g - mean(g) - n * mean(g*n)). simd (NEON): as in
   the forward; dweight and dbias sum over t in the scalar order (the same bits) */
static void ck__layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight,
                                   const float *mean, const float *rstd, int T, int C, int simd)
{
    int t, c;
    (void)simd;
    if (dinp) {
        CK_OMP(omp parallel for schedule(static) if ((double)T * C > CK_OMP_MIN_WORK))
        for (t = 0; t < T; t++) {
            const float *x = inp + (size_t)t * C, *d = dout + (size_t)t * C;
            float *di = dinp + (size_t)t * C, mu = mean[t], r = rstd[t], mg, mgn;
            double sg = 0.0, sgn = 0.0;
            int i = 0;
#if CK_HAVE_NEON
            if (simd) {
                float64x2_t g0 = vdupq_n_f64(0.0), g1 = g0, n0 = g0, n1 = g0;
                for (; i + 4 <= C; i += 4) {
                    const float32x4_t g = vmulq_f32(vld1q_f32(weight + i), vld1q_f32(d + i));
                    const float32x4_t nv = vmulq_n_f32(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(mu)), r);
                    const float64x2_t gl = vcvt_f64_f32(vget_low_f32(g)), gh = vcvt_high_f64_f32(g);
                    g0 = vaddq_f64(g0, gl);
                    g1 = vaddq_f64(g1, gh);
                    n0 = vfmaq_f64(n0, gl, vcvt_f64_f32(vget_low_f32(nv))); /* (the product of two floats is exact in double) */
                    n1 = vfmaq_f64(n1, gh, vcvt_high_f64_f32(nv));
                }
                g0 = vaddq_f64(g0, g1);
                n0 = vaddq_f64(n0, n1);
                sg = vgetq_lane_f64(g0, 0) + vgetq_lane_f64(g0, 1);
                sgn = vgetq_lane_f64(n0, 0) + vgetq_lane_f64(n0, 1);
            }
#endif
            for (; i < C; i++) {
                float g = weight[i] * d[i];
                sg += g;
                sgn += (double)g * ((x[i] - mu) * r);
            }
            mg = (float)(sg / C);
            mgn = (float)(sgn / C);
            i = 0;
#if CK_HAVE_NEON
            if (simd)
                for (; i + 4 <= C; i += 4) {
                    const float32x4_t g = vmulq_f32(vld1q_f32(weight + i), vld1q_f32(d + i));
                    const float32x4_t nm = vmulq_n_f32(vmulq_n_f32(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(mu)), r), mgn);
                    vst1q_f32(di + i, vaddq_f32(vld1q_f32(di + i), vmulq_n_f32(vsubq_f32(vsubq_f32(g, vdupq_n_f32(mg)), nm), r)));
                }
#endif
            for (; i < C; i++) di[i] += r * (weight[i] * d[i] - mg - (x[i] - mu) * r * mgn);
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
                c = c0;
#if CK_HAVE_NEON
                if (simd)
                    for (; c + 4 <= c1; c += 4) {
                        const float32x4_t dv = vld1q_f32(d + c), p = vmulq_f32(dv, vmulq_n_f32(vsubq_f32(vld1q_f32(x + c), vdupq_n_f32(mu)), r));
                        double *w = aw + c - c0, *bb = ab + c - c0;
                        vst1q_f64(w, vaddq_f64(vld1q_f64(w), vcvt_f64_f32(vget_low_f32(p))));
                        vst1q_f64(w + 2, vaddq_f64(vld1q_f64(w + 2), vcvt_high_f64_f32(p)));
                        vst1q_f64(bb, vaddq_f64(vld1q_f64(bb), vcvt_f64_f32(vget_low_f32(dv))));
                        vst1q_f64(bb + 2, vaddq_f64(vld1q_f64(bb + 2), vcvt_high_f64_f32(dv)));
                    }
#endif
                for (; c < c1; c++) {
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
CK_DEF void ck_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const float *mean, const float *rstd, int T, int C)
{
    ck__layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, T, C, CK_HAVE_NEON);
}

/* ===================================================================================== */
/* 7. Activations                                                                        */
/* ===================================================================================== */

#if CK_HAVE_AVX2
/* exp(x), 8 lanes, for the x <= 0 of the softmax and the sigmoid (below -87: ~1e-38 instead of 0,
   nothing against the 1 of a softmax's maximum or a sigmoid's 1 + e): e^r by Cephes' degree-6
   polynomial; within 2 ulp of expf. */
/* e^y = 2^n e^r: returns 2^n (n = round(y / ln2), |n| <= 126) and sets *r = y - n ln2 in
   [-ln2/2, ln2/2] (ln2 in two parts, so n ln2 is exact); the callers' polynomials give e^r */
static inline __m256 ck__exp_split_avx2(__m256 y, __m256 *r)
{
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    *r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), y));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}

static inline __m256 ck__exp_neg_avx2(__m256 x)
{
    __m256 r, p, scale = ck__exp_split_avx2(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), &r);
    p = _mm256_fmadd_ps(_mm256_set1_ps(1.9875691500e-4f), r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    return _mm256_mul_ps(p, scale);
}

/* sigmoid of 8 lanes from e = exp(-|g|): 1 / (1 + e), or e / (1 + e) for g < 0 (sign bit), within
   2 ulp of expf's (no overflow for any g) */
static inline __m256 ck__sigmoid_avx2(__m256 g)
{
    const __m256 one = _mm256_set1_ps(1.0f), e = ck__exp_neg_avx2(_mm256_or_ps(g, _mm256_set1_ps(-0.0f)));
    return _mm256_div_ps(_mm256_blendv_ps(one, e, g), _mm256_add_ps(one, e));
}

#if CK_HAVE_AVX512
/* ck__exp_split_avx2, ck__exp_neg_avx2 and ck__sigmoid_avx2 in 16 lanes: the same operations in
   the same order, so each lane's bits are the 8-lane function's (the sign test a mask; maskz forms
   and an integer or: AVX512F only, and no g++ maybe-uninitialized on _mm512_undefined_ps) */
static inline __m512 ck__exp_split_avx512(__m512 y, __m512 *r)
{
    const __m512 n = _mm512_maskz_roundscale_ps((__mmask16)0xffff, _mm512_mul_ps(y, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    *r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), y));
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32((__mmask16)0xffff, _mm512_add_epi32(_mm512_maskz_cvtps_epi32((__mmask16)0xffff, n), _mm512_set1_epi32(127)), 23));
}
static inline __m512 ck__exp_neg_avx512(__m512 x)
{
    __m512 r, p, scale = ck__exp_split_avx512(_mm512_maskz_max_ps((__mmask16)0xffff, x, _mm512_set1_ps(-87.0f)), &r);
    p = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_mul_ps(p, scale);
}
static inline __m512 ck__sigmoid_avx512(__m512 g)
{
    const __m512 one = _mm512_set1_ps(1.0f), e = ck__exp_neg_avx512(_mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(g), _mm512_set1_epi32((int)0x80000000u))));
    return _mm512_div_ps(_mm512_mask_blend_ps(_mm512_cmplt_epi32_mask(_mm512_castps_si512(g), _mm512_setzero_si512()), one, e), _mm512_add_ps(one, e));
}
#endif

/* tanh of 8 floats, within a few ulp of tanhf. |x| < 0.5: the odd Taylor series to x^17 (the
   first omitted term is < 1e-9 relative there). Otherwise sign(x) (1 - 2 / (e^(2|x|) + 1)), with
   e^y = 2^n e^r (ck__exp_split_avx2) and e^r its Taylor polynomial to r^7 (error < 6e-9 relative). |x| is clamped at 10,
   where tanh rounds to 1 in float; NaN stays NaN. */
static inline __m256 ck__tanh_avx2(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_min_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(10.0f));
    __m256 x2 = _mm256_mul_ps(ax, ax), p, y, p2n, r, e, big, small, res;
    p = _mm256_set1_ps((float)(6404582.0 / 10854718875.0));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps((float)(-929569.0 / 638512875.0)));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps((float)(21844.0 / 6081075.0)));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps((float)(-1382.0 / 155925.0)));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps((float)(62.0 / 2835.0)));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps((float)(-17.0 / 315.0)));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps((float)(2.0 / 15.0)));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps((float)(-1.0 / 3.0)));
    small = _mm256_fmadd_ps(_mm256_mul_ps(p, x2), ax, ax);
    y = _mm256_add_ps(ax, ax);
    p2n = ck__exp_split_avx2(y, &r);
    e = _mm256_set1_ps(1.0f / 5040.0f);
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f / 720.0f));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f / 120.0f));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f / 24.0f));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f / 6.0f));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(0.5f));
    e = _mm256_fmadd_ps(e, r, one);
    e = _mm256_fmadd_ps(e, r, one);
    e = _mm256_mul_ps(e, p2n);
    big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    res = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
    res = _mm256_or_ps(res, _mm256_and_ps(x, sign));   /* odd: the sign of x (and -0 stays -0) */
    return _mm256_blendv_ps(res, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}
#endif

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
#if CK_HAVE_AVX2
/* the tanh GELU of 8 lanes and, if grad is not NULL, its derivative: the formulas above with the
   8-lane tanh (a few ulp of tanhf), the derivative 1 / 0 beyond x > 10 / x < -10 as there */
static inline __m256 ck__gelu_tanh_avx2(__m256 x, __m256 *grad)
{
    const __m256 k = _mm256_set1_ps(CK_GELU_K), ca = _mm256_set1_ps(CK_GELU_A), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 x2 = _mm256_mul_ps(x, x), th = ck__tanh_avx2(_mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(ca, x2), x, x)));
    const __m256 hx = _mm256_mul_ps(half, x);
    if (grad) {
        __m256 g = _mm256_mul_ps(_mm256_mul_ps(hx, _mm256_fnmadd_ps(th, th, one)), _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_set1_ps(3.0f * CK_GELU_A), x2, one)));
        g = _mm256_fmadd_ps(half, _mm256_add_ps(one, th), g);
        g = _mm256_blendv_ps(g, one, _mm256_cmp_ps(x, _mm256_set1_ps(10.0f), _CMP_GT_OQ));
        *grad = _mm256_blendv_ps(g, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-10.0f), _CMP_LT_OQ));
    }
    return _mm256_mul_ps(hx, _mm256_add_ps(one, th));
}
#endif

#if CK_HAVE_NEON
/* ck__gelu_tanh_avx2 in 4 lanes */
static inline float32x4_t ck__gelu_tanh_neon(float32x4_t x, float32x4_t *grad)
{
    const float32x4_t k = vdupq_n_f32(CK_GELU_K), half = vdupq_n_f32(0.5f), one = vdupq_n_f32(1.0f);
    const float32x4_t x2 = vmulq_f32(x, x), th = ck__tanh_neon(vmulq_f32(k, vfmaq_f32(x, vmulq_n_f32(x2, CK_GELU_A), x)));
    const float32x4_t hx = vmulq_f32(half, x);
    if (grad) {
        float32x4_t g = vmulq_f32(vmulq_f32(hx, vfmsq_f32(one, th, th)), vmulq_f32(k, vfmaq_f32(one, vdupq_n_f32(3.0f * CK_GELU_A), x2)));
        g = vfmaq_f32(g, half, vaddq_f32(one, th));
        g = vbslq_f32(vcgtq_f32(x, vdupq_n_f32(10.0f)), one, g);
        *grad = vbslq_f32(vcltq_f32(x, vdupq_n_f32(-10.0f)), vdupq_n_f32(0.0f), g);
    }
    return vmulq_f32(hx, vaddq_f32(one, th));
}
#endif

/* forward and backward: 8 lanes on AVX2, 4 on NEON (the rest scalar), threads split large N */
/* (the _chunks functions: this thread's share of the n vectors, through ck__thread_rows) */
#if CK_HAVE_AVX2
static void ck__gelu_chunks(float *out, const float *inp, int n)
{
    int c, c0, c1;
    ck__thread_rows(n, &c0, &c1);
    for (c = c0; c < c1; c++) _mm256_storeu_ps(out + 8 * c, ck__gelu_tanh_avx2(_mm256_loadu_ps(inp + 8 * c), NULL));
}
#elif CK_HAVE_NEON
static void ck__gelu_chunks(float *out, const float *inp, int n)
{
    int c, c0, c1;
    ck__thread_rows(n, &c0, &c1);
    for (c = c0; c < c1; c++) vst1q_f32(out + 4 * c, ck__gelu_tanh_neon(vld1q_f32(inp + 4 * c), NULL));
}
#endif
CK_DEF void ck_gelu_forward(float *out, const float *inp, int N)
{
    int i;
#if CK_HAVE_AVX2 || CK_HAVE_NEON
    const int W = CK_HAVE_AVX2 ? 8 : 4;
    CK__PAR_CALL(N > CK_OMP_MIN_WORK, ck__gelu_chunks(out, inp, N / W));
    i = N / W * W;
#else
    i = 0;
#endif
    for (; i < N; i++) out[i] = ck__gelu_tanh(inp[i]);
}
CK_DEF void ck_gelu_backward(float *dinp, const float *dout, const float *inp, int N)
{
    int i;
#if CK_HAVE_AVX2
    int c;
    CK_OMP(omp parallel for if (N > 16 * CK_OMP_MIN_WORK))
    for (c = 0; c < N / 8; c++) {
        __m256 g;
        (void)ck__gelu_tanh_avx2(_mm256_loadu_ps(inp + 8 * c), &g);
        _mm256_storeu_ps(dinp + 8 * c, _mm256_fmadd_ps(_mm256_loadu_ps(dout + 8 * c), g, _mm256_loadu_ps(dinp + 8 * c)));
    }
    i = N / 8 * 8;
#elif CK_HAVE_NEON
    int c;
    CK_OMP(omp parallel for if (N > 16 * CK_OMP_MIN_WORK))
    for (c = 0; c < N / 4; c++) {
        float32x4_t g;
        (void)ck__gelu_tanh_neon(vld1q_f32(inp + 4 * c), &g);
        vst1q_f32(dinp + 4 * c, vfmaq_f32(vld1q_f32(dinp + 4 * c), vld1q_f32(dout + 4 * c), g));
    }
    i = N / 4 * 4;
#else
    i = 0;
#endif
    for (; i < N; i++) dinp[i] += dout[i] * ck__gelu_tanh_grad(inp[i]);
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


/* silu(g) = g * sigmoid(g);  silu'(g) = s * (1 + g * (1 - s)). Forward and backward on AVX2: the
   sigmoid in 8 lanes (ck__sigmoid_avx2), on NEON in 4 (ck__sigmoid_neon); threads split the elements. */
#if CK_HAVE_AVX2
static void ck__swiglu_chunks(float *out, const float *gate, const float *up, int n)
{
    int c, c0, c1;
    ck__thread_rows(n, &c0, &c1);
    c = c0;
#if CK_HAVE_AVX512 /* two chunks at a time in 16 lanes: their bits (about 2x the rate on Zen 5) */
    for (; c + 2 <= c1; c += 2) {
        const __m512 g = _mm512_loadu_ps(gate + 8 * c);
        _mm512_storeu_ps(out + 8 * c, _mm512_mul_ps(_mm512_mul_ps(g, ck__sigmoid_avx512(g)), _mm512_loadu_ps(up + 8 * c)));
    }
#endif
    for (; c < c1; c++) {
        const __m256 g = _mm256_loadu_ps(gate + 8 * c), sg = ck__sigmoid_avx2(g);
        _mm256_storeu_ps(out + 8 * c, _mm256_mul_ps(_mm256_mul_ps(g, sg), _mm256_loadu_ps(up + 8 * c)));
    }
}
#elif CK_HAVE_NEON
static void ck__swiglu_chunks(float *out, const float *gate, const float *up, int n)
{
    int c, c0, c1;
    ck__thread_rows(n, &c0, &c1);
    for (c = c0; c < c1; c++) {
        const float32x4_t g = vld1q_f32(gate + 4 * c), sg = ck__sigmoid_neon(g);
        vst1q_f32(out + 4 * c, vmulq_f32(vmulq_f32(g, sg), vld1q_f32(up + 4 * c)));
    }
}
#endif
CK_DEF void ck_swiglu_forward(float *out, const float *gate, const float *up, int N)
{
    int i;
#if CK_HAVE_AVX2 || CK_HAVE_NEON
    const int W = CK_HAVE_AVX2 ? 8 : 4;
    CK__PAR_CALL(N > CK_OMP_MIN_WORK, ck__swiglu_chunks(out, gate, up, N / W));
    i = N / W * W;
#else
    i = 0;
#endif
    for (; i < N; i++) out[i] = gate[i] * ck__sigmoid(gate[i]) * up[i];
}
CK_DEF void ck_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, int N)
{
    int i;
#if CK_HAVE_AVX2
    int c;
    CK_OMP(omp parallel for if (N > 16 * CK_OMP_MIN_WORK))
    for (c = 0; c < N / 8; c++) {
        const __m256 g = _mm256_loadu_ps(gate + 8 * c), s = ck__sigmoid_avx2(g), d = _mm256_loadu_ps(dout + 8 * c);
        if (dgate) {
            const __m256 one = _mm256_set1_ps(1.0f), ds = _mm256_mul_ps(s, _mm256_add_ps(one, _mm256_mul_ps(g, _mm256_sub_ps(one, s))));
            _mm256_storeu_ps(dgate + 8 * c, _mm256_add_ps(_mm256_loadu_ps(dgate + 8 * c), _mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(up + 8 * c)), ds)));
        }
        if (dup) _mm256_storeu_ps(dup + 8 * c, _mm256_add_ps(_mm256_loadu_ps(dup + 8 * c), _mm256_mul_ps(_mm256_mul_ps(d, g), s)));
    }
    i = N / 8 * 8;
#elif CK_HAVE_NEON
    int c;
    CK_OMP(omp parallel for if (N > 16 * CK_OMP_MIN_WORK))
    for (c = 0; c < N / 4; c++) {
        const float32x4_t g = vld1q_f32(gate + 4 * c), s = ck__sigmoid_neon(g), d = vld1q_f32(dout + 4 * c);
        if (dgate) {
            const float32x4_t one = vdupq_n_f32(1.0f), ds = vmulq_f32(s, vaddq_f32(one, vmulq_f32(g, vsubq_f32(one, s))));
            vst1q_f32(dgate + 4 * c, vaddq_f32(vld1q_f32(dgate + 4 * c), vmulq_f32(vmulq_f32(d, vld1q_f32(up + 4 * c)), ds)));
        }
        if (dup) vst1q_f32(dup + 4 * c, vaddq_f32(vld1q_f32(dup + 4 * c), vmulq_f32(vmulq_f32(d, g), s)));
    }
    i = N / 4 * 4;
#else
    i = 0;
#endif
    for (; i < N; i++) {
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


/* out = cap * tanh(inp / cap) over n values (out may be inp) and, if dcap is not NULL, dcap =
   1 - tanh^2(inp / cap), its derivative. The attention kernels call this on each block of scores
   in both directions, so the backward pass recomputes exactly the scores the forward pass saw.
   Each value's result depends on that value alone (vector lanes and the masked tail agree). */
static void ck__softcap(float *out, float *dcap, const float *inp, float cap, size_t n, int simd)
{
    size_t i = 0;
#if CK_HAVE_AVX2
    if (simd) {
        const __m256 vc = _mm256_set1_ps(cap), one = _mm256_set1_ps(1.0f);
        for (; i < n; i += 8) {
            __m256i m = ck__mask(n - i < 8 ? (int)(n - i) : 8);
            __m256 t = ck__tanh_avx2(_mm256_div_ps(_mm256_maskload_ps(inp + i, m), vc));
            if (dcap) _mm256_maskstore_ps(dcap + i, m, _mm256_fnmadd_ps(t, t, one));
            _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(vc, t));
        }
        return;
    }
#elif CK_HAVE_NEON
    if (simd) {
        const float32x4_t vc = vdupq_n_f32(cap), one = vdupq_n_f32(1.0f);
        for (; i + 4 <= n; i += 4) {
            const float32x4_t t = ck__tanh_neon(vdivq_f32(vld1q_f32(inp + i), vc));
            if (dcap) vst1q_f32(dcap + i, vfmsq_f32(one, t, t));
            vst1q_f32(out + i, vmulq_f32(vc, t));
        }
        if (i < n) { /* the last 1..3 values through a padded copy: the same lanes, the same results */
            float t4[4], d4[4];
            const int m = (int)(n - i);
            const float32x4_t t = ck__tanh_neon(vdivq_f32(ck__load_tail_neon(inp + i, m), vc));
            vst1q_f32(d4, vfmsq_f32(one, t, t));
            vst1q_f32(t4, vmulq_f32(vc, t));
            if (dcap) memcpy(dcap + i, d4, (size_t)m * sizeof(float));
            memcpy(out + i, t4, (size_t)m * sizeof(float));
        }
        return;
    }
#else
    (void)simd;
#endif
    for (; i < n; i++) {
        float t = tanhf(inp[i] / cap);
        if (dcap) dcap[i] = 1.0f - t * t;
        out[i] = cap * t;
    }
}

/* One tanh per value (vectorised with AVX2 and NEON): on Gemma 2's final logits it runs next to the
   n_embd multiply-adds per value of the lm_head matmul that produced them. */
CK_DEF void ck_softcap_forward(float *out, const float *inp, float cap, size_t n)
{
    if (cap <= 0.0f) {
        if (out != inp) memmove(out, inp, n * sizeof(float));
        return;
    }
    ck__softcap(out, NULL, inp, cap, n, CK_HAVE_AVX2 || CK_HAVE_NEON);
}
/* d/dx cap * tanh(x / cap) = 1 - tanh^2(x / cap), in blocks of a small stack buffer */
CK_DEF void ck_softcap_backward(float *dinp, const float *dout, const float *inp, float cap, size_t n)
{
    enum { BLK = 256 };
    float tmp[BLK], d[BLK];
    size_t i, j, m;
    if (cap <= 0.0f) {
        for (i = 0; i < n; i++) dinp[i] += dout[i];
        return;
    }
    for (i = 0; i < n; i += m) {
        m = n - i < (size_t)BLK ? n - i : (size_t)BLK;
        ck__softcap(tmp, d, inp + i, cap, m, CK_HAVE_AVX2 || CK_HAVE_NEON);
        for (j = 0; j < m; j++) dinp[i + j] += dout[i + j] * d[j];
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
    ck_rope_params p;
    ck_rope_params_init(&p, CK_ROPE_SCALING_NONE, theta, 0.0f, 0, 1.0f, NULL);
    ck_rope_cache_ext(cos_sin, max_T, n_rot, &p);
}

CK_DEF int ck_rope_scaling_from_name(const char *name, size_t len)
{
    static const char *const names[] = { "none", "linear", "yarn", "longrope" };
    int i;
    for (i = 0; i < 4; i++)
        if (strlen(names[i]) == len && !memcmp(names[i], name, len)) return i;
    return -1;
}

CK_DEF void ck_rope_params_init(ck_rope_params *p, int scaling, float freq_base, float factor, int n_ctx_orig,
                                float attn_factor, const float *freq_factors)
{
    p->freq_base = freq_base;
    /* llama.cpp: rope_freq_scale_train = factor == 0 ? 1 : 1/factor; "none" never scales */
    p->freq_scale = scaling == CK_ROPE_SCALING_NONE || factor == 0.0f ? 1.0f : 1.0f / factor;
    p->ext_factor = scaling == CK_ROPE_SCALING_YARN ? 1.0f : 0.0f;   /* default yarn_ext_factor -1: "not set" */
    p->attn_factor = attn_factor;   /* yarn_attn_factor (1) * hparams.rope_attn_factor */
    p->beta_fast = 32.0f;           /* llama_context_default_params: yarn_beta_fast */
    p->beta_slow = 1.0f;            /* yarn_beta_slow */
    p->n_ctx_orig = n_ctx_orig;
    p->freq_factors = freq_factors;
}

/* floor without libm's floor (MCU builds link only the libm functions listed in the Makefile);
   exact for |x| < 2^53, the rest (huge, infinite, NaN) is returned as is */
static double ck__floor(double x)
{
    double t;
    if (!(x > -1e15 && x < 1e15)) return x;
    t = (double)(long long)x;
    return t > x ? t - 1.0 : t;
}

/* YaRN's d(b): the (fractional) pair index that turns b times in n_ctx_orig positions */
static double ck__yarn_corr_dim(int n_rot, int n_ctx_orig, double b, double base)
{
    return n_rot * log(n_ctx_orig / (b * 2.0 * 3.14159265358979323846)) / (2.0 * log(base));
}

CK_DEF void ck_rope_cache_ext(float *cos_sin, int max_T, int n_rot, const ck_rope_params *p)
{
    int t, i, half = n_rot / 2;
    double lo = 0.0, hi = 0.0, mscale = p->attn_factor;
    if (p->ext_factor != 0.0f) {
        lo = CK_MAX(0.0, ck__floor(ck__yarn_corr_dim(n_rot, p->n_ctx_orig, p->beta_fast, p->freq_base)));
        hi = CK_MIN((double)(n_rot - 1), -ck__floor(-ck__yarn_corr_dim(n_rot, p->n_ctx_orig, p->beta_slow, p->freq_base)));
        mscale *= 1.0 + 0.1 * log(1.0 / p->freq_scale);
    }
    for (i = 0; i < half; i++) {
        /* the angle is linear in the position, so YaRN's blend of the interpolated and the
           extrapolated angle is a blend of the two frequencies */
        double f = pow((double)p->freq_base, -2.0 * i / n_rot);
        if (p->freq_factors) f /= p->freq_factors[i];
        if (p->ext_factor != 0.0f) {
            double y = (i - lo) / CK_MAX(0.001, hi - lo);
            double r = (1.0 - CK_MIN(1.0, CK_MAX(0.0, y))) * p->ext_factor;
            f = f * p->freq_scale * (1.0 - r) + f * r;
        } else {
            f *= p->freq_scale;
        }
        for (t = 0; t < max_T; t++) {
            double ang = (double)t * f;
            cos_sin[((size_t)t * half + i) * 2 + 0] = (float)(cos(ang) * mscale);
            cos_sin[((size_t)t * half + i) * 2 + 1] = (float)(sin(ang) * mscale);
        }
    }
}

/* (a, b) -> (a cos - b sin, a sin + b cos); dir = -1 applies the transposed matrix.
   Row (h, t) starts at x + h*sh + t*st: head-major [NH,T,HS] has sh = T*HS, st = HS.
   simd (NEON): 4 pairs at a time, vld2q splitting the interleaved (cos, sin) and, for the adjacent-
   pair layout, the (a, b) pairs; (AVX2) 8 pairs at a time: NeoX with cos and sin unpacked from the
   cache, adjacent pairs in place (each pair's cos and sin duplicated, (a, b) swapped, one addsub:
   a c - b s and b c + a s). The same products and sums as the scalar loop (not fused): its bits. */
static void ck__rope_row(float *row, const float *cs, int half, int neox, float dir, int simd)
{
    CK__FP_EXACT /* (clang would fuse the scalar loop's a * c - b * s) */
    int i = 0;
    (void)simd;
#if CK_HAVE_AVX2
    if (simd) {
        const __m256 d = _mm256_set1_ps(dir);
        if (neox)
            for (; i + 8 <= half; i += 8) {
                const __m256 lo = _mm256_loadu_ps(cs + 2 * i), hi = _mm256_loadu_ps(cs + 2 * i + 8);
                /* per 128-bit lane (c0 c1 c4 c5 | c2 c3 c6 c7), then the 64-bit quarters in order */
                const __m256 c = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
                const __m256 sn = _mm256_mul_ps(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0))), d);
                const __m256 a = _mm256_loadu_ps(row + i), b = _mm256_loadu_ps(row + i + half);
                _mm256_storeu_ps(row + i, _mm256_sub_ps(_mm256_mul_ps(a, c), _mm256_mul_ps(b, sn)));
                _mm256_storeu_ps(row + i + half, _mm256_add_ps(_mm256_mul_ps(a, sn), _mm256_mul_ps(b, c)));
            }
        else
            for (; i + 4 <= half; i += 4) { /* 4 pairs (a, b), 8 floats */
                const __m256 w = _mm256_loadu_ps(cs + 2 * i), ab = _mm256_loadu_ps(row + 2 * i);
                const __m256 c = _mm256_moveldup_ps(w), sn = _mm256_mul_ps(_mm256_movehdup_ps(w), d);
                _mm256_storeu_ps(row + 2 * i, _mm256_addsub_ps(_mm256_mul_ps(ab, c), _mm256_mul_ps(_mm256_permute_ps(ab, _MM_SHUFFLE(2, 3, 0, 1)), sn)));
            }
    }
#elif CK_HAVE_NEON
    if (simd)
        for (; i + 4 <= half; i += 4) {
            const float32x4x2_t w = vld2q_f32(cs + 2 * i);
            const float32x4_t c = w.val[0], sn = vmulq_n_f32(w.val[1], dir);
            float32x4x2_t ab;
            float32x4_t a, b;
            if (neox) { a = vld1q_f32(row + i); b = vld1q_f32(row + i + half); }
            else { ab = vld2q_f32(row + 2 * i); a = ab.val[0]; b = ab.val[1]; }
            ab.val[0] = vsubq_f32(vmulq_f32(a, c), vmulq_f32(b, sn));
            ab.val[1] = vaddq_f32(vmulq_f32(a, sn), vmulq_f32(b, c));
            if (neox) { vst1q_f32(row + i, ab.val[0]); vst1q_f32(row + i + half, ab.val[1]); }
            else vst2q_f32(row + 2 * i, ab);
        }
#endif
    for (; i < half; i++) {
        int ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
        float a = row[ia], b = row[ib], c = cs[2 * i], s = dir * cs[2 * i + 1];
        row[ia] = a * c - b * s;
        row[ib] = a * s + b * c;
    }
}
/* this thread's share of the NH * T rows (h, t) */
static void ck__rope_rows(float *x, const float *cos_sin, int NH, int T, int half, int pos0, int neox, float dir, size_t sh, size_t st, int simd)
{
    int r, r0, r1;
    ck__thread_rows(NH * T, &r0, &r1);
    for (r = r0; r < r1; r++) {
        const int h = r / T, t = r % T;
        ck__rope_row(x + (size_t)h * sh + (size_t)t * st, cos_sin + (size_t)(pos0 + t) * half * 2, half, neox, dir, simd);
    }
}
static void ck__rope_simd(float *x, const float *cos_sin, int NH, int T, int n_rot, int pos0, int neox, float dir, size_t sh, size_t st,
                          int simd)
{
    CK__PAR_CALL((double)NH * T * n_rot > CK_OMP_MIN_WORK, ck__rope_rows(x, cos_sin, NH, T, n_rot / 2, pos0, neox, dir, sh, st, simd));
}
static void ck__rope(float *x, const float *cos_sin, int NH, int T, int n_rot, int pos0, int neox, float dir, size_t sh, size_t st)
{
    ck__rope_simd(x, cos_sin, NH, T, n_rot, pos0, neox, dir, sh, st, CK_HAVE_NEON || CK_HAVE_AVX2);
}
CK_DEF void ck_rope_forward(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox)
{
    CK_ASSERT(n_rot >= 0 && n_rot % 2 == 0 && n_rot <= HS && pos0 >= 0 && "rope: n_rot must be even and <= HS");
    ck__rope(x, cos_sin, NH, T, n_rot, pos0, neox, 1.0f, (size_t)T * HS, (size_t)HS);
}
/* forward maps (a, b) to M (a, b) with M = [c -s; s c]; the gradient is M^T dx = [c s; -s c] dx,
   the dir = -1 rotation. With |(c, s)| = 1 (ck_rope_cache) M^T is M's inverse; with a scaled cache
   (mscale != 1) it is still the gradient, not the inverse. */
CK_DEF void ck_rope_backward(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox)
{
    CK_ASSERT(n_rot >= 0 && n_rot % 2 == 0 && n_rot <= HS && pos0 >= 0 && "rope: n_rot must be even and <= HS");
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
   KBLK keys: scores of a block, one rescale of the running output per block. On NEON (AArch64) the
   loops below are the SIMD path for training and inference alike: 4-lane dot products, axpy and
   scale; the AVX2 builds take the tiled and grouped kernels instead. */
#define CK__ATTN_SIMD (CK_HAVE_AVX2 || CK_HAVE_NEON) /* the `simd` of the dispatching entry points */
#if CK_HAVE_AVX2
#define CK__DOT(s, a, b, n)    ((s) ? ck__dot_avx2(a, b, n) : ck__dot_scalar(a, b, n))
#define CK__AXPY(s, y, a, x, n) ((s) ? ck__axpy_avx2(y, a, x, n) : ck__axpy_scalar(y, a, x, n))
#define CK__SCALE(s, y, a, n)  ((s) ? ck__scale_avx2(y, a, n) : ck__scale_scalar(y, a, n))
#elif CK_HAVE_NEON
#define CK__DOT(s, a, b, n)    ((s) ? ck__dot_neon(a, b, n) : ck__dot_scalar(a, b, n))
#define CK__AXPY(s, y, a, x, n) ((s) ? ck__axpy_neon(y, a, x, n) : ck__axpy_scalar(y, a, x, n))
#define CK__SCALE(s, y, a, n)  ((s) ? ck__scale_neon(y, a, n) : ck__scale_scalar(y, a, n))
#else
#define CK__DOT(s, a, b, n)    ((void)(s), ck__dot_scalar(a, b, n))
#define CK__AXPY(s, y, a, x, n) ((void)(s), ck__axpy_scalar(y, a, x, n))
#define CK__SCALE(s, y, a, n)  ((void)(s), ck__scale_scalar(y, a, n))
#endif

/* element strides of the head and token dimensions of q (and dq), k/v (and dk/dv), out/dout */
typedef struct { size_t qh, qt, kh, kt, oh, ot; } ck__attn_layout;
/* an inference attention's arguments, handed to the threads by ck__par_items */
typedef struct {
    float *out, *lse;
    const float *q;
    const void *k, *v;
    int kv16, NH, NKV, T, Tk, HS, pos0, window;
    float scale, softcap;
    const ck__attn_layout *L;
    int gs, simd;
} ck__attn_job;
static void ck__attn_head_major(ck__attn_layout *L, int T, int Tk, int HS)
{
    L->qh = L->oh = (size_t)T * HS;
    L->kh = (size_t)Tk * HS;
    L->qt = L->kt = L->ot = (size_t)HS;
}

/* row `off` (in values) of a float or F16 KV array, as floats (F16: widened into buf) */
static const float *ck__kv_row(const void *base, int kv16, size_t off, float *buf, int n)
{
    if (!kv16) return (const float *)base + off;
    ck_dequantize_row(CK_F16, (const uint16_t *)base + off, buf, n);
    return buf;
}

#if CK_HAVE_AVX2
/* ---- training attention in tiles (flash-attention style), AVX-512 or AVX2 ----------------------
   The work is cut into tiles of CK__TQ queries x CK__TK keys of one head; a work item holds up to
   CK__TC queries (CK__TC / CK__TQ tiles share one transposed copy of each key block). Inside a tile
   every step is a small matrix product (ck__tile_mm) over vectors of CK__TW lanes (16 on AVX-512, 8
   on AVX2): S = Q K^T and dP = dO V^T against the key block transposed to [HS][CK__TK] (a vector
   holds one dimension of 16 keys), then O += P V, dQ += dS K, dK += dS^T Q, dV += P^T dO along HS.
   Every element of a product sums its terms in one fixed order onto its previous value, and every
   output is written by one work item, so the bits never depend on the thread count. */
enum { CK__TQ = 16, CK__TK = 16, CK__TC = 64, CK__THS = 256 }; /* CK__TK: the 16 x 16 (2 x 8 x 8) transposes */
#if CK_HAVE_AVX512
#define CK__TW 16
typedef __m512 ck__tv;
typedef __mmask16 ck__tmask;
#define CK__TMASK(n) ((__mmask16)((1u << (n)) - 1u)) /* the first n (0..16) lanes */
#define CK__TLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define CK__TSTORE(p, m, x) _mm512_mask_storeu_ps(p, m, x)
#define CK__TFMA _mm512_fmadd_ps
#define CK__TSET1 _mm512_set1_ps
#define CK__TZERO _mm512_setzero_ps
#else
#define CK__TW 8
typedef __m256 ck__tv;
typedef __m256i ck__tmask;
#define CK__TMASK(n) ck__mask(n)
#define CK__TLOAD(p, m) _mm256_maskload_ps(p, m)
#define CK__TSTORE(p, m, x) _mm256_maskstore_ps(p, m, x)
#define CK__TFMA _mm256_fmadd_ps
#define CK__TSET1 _mm256_set1_ps
#define CK__TZERO _mm256_setzero_ps
#endif

/* C[m][n] = (acc ? C[m][n] : 0) + sum over k = 0, 1, ..., K-1 (in that order, one fma each) of
   A[m*am + k*ak] * B[k*ldb + n], for m < M, n < N. Register tiles: 4 rows x 2 vectors, or 8 rows x
   1 vector where the columns left fit in one. Rows past M repeat row M-1 and are not stored. */
static void ck__tile_mm(float *C, size_t ldc, const float *A, size_t am, size_t ak, const float *B, size_t ldb,
                        int M, int K, int N, int acc)
{
    int n, m, k, r;
    for (n = 0; n < N; n += 2 * CK__TW) {
        const int w0 = CK_MIN(CK__TW, N - n), w1 = CK_MAX(0, CK_MIN(CK__TW, N - n - CK__TW));
        const ck__tmask m0 = CK__TMASK(w0), m1 = CK__TMASK(w1);
        if (w1 > 0) {
            for (m = 0; m < M; m += 4) {
                const float *a[4];
                float *c[4];
                ck__tv x00, x01, x10, x11, x20, x21, x30, x31;
                for (r = 0; r < 4; r++) {
                    a[r] = A + (size_t)CK_MIN(m + r, M - 1) * am;
                    c[r] = C + (size_t)CK_MIN(m + r, M - 1) * ldc + n;
                }
                if (acc) {
                    x00 = CK__TLOAD(c[0], m0); x01 = CK__TLOAD(c[0] + CK__TW, m1);
                    x10 = CK__TLOAD(c[1], m0); x11 = CK__TLOAD(c[1] + CK__TW, m1);
                    x20 = CK__TLOAD(c[2], m0); x21 = CK__TLOAD(c[2] + CK__TW, m1);
                    x30 = CK__TLOAD(c[3], m0); x31 = CK__TLOAD(c[3] + CK__TW, m1);
                } else {
                    x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = CK__TZERO();
                }
                for (k = 0; k < K; k++) {
                    const float *b = B + (size_t)k * ldb + n;
                    const size_t o = (size_t)k * ak;
                    const ck__tv b0 = CK__TLOAD(b, m0), b1 = CK__TLOAD(b + CK__TW, m1);
                    ck__tv t = CK__TSET1(a[0][o]);
                    x00 = CK__TFMA(t, b0, x00); x01 = CK__TFMA(t, b1, x01);
                    t = CK__TSET1(a[1][o]);
                    x10 = CK__TFMA(t, b0, x10); x11 = CK__TFMA(t, b1, x11);
                    t = CK__TSET1(a[2][o]);
                    x20 = CK__TFMA(t, b0, x20); x21 = CK__TFMA(t, b1, x21);
                    t = CK__TSET1(a[3][o]);
                    x30 = CK__TFMA(t, b0, x30); x31 = CK__TFMA(t, b1, x31);
                }
                CK__TSTORE(c[0], m0, x00); CK__TSTORE(c[0] + CK__TW, m1, x01);
                if (m + 1 < M) { CK__TSTORE(c[1], m0, x10); CK__TSTORE(c[1] + CK__TW, m1, x11); }
                if (m + 2 < M) { CK__TSTORE(c[2], m0, x20); CK__TSTORE(c[2] + CK__TW, m1, x21); }
                if (m + 3 < M) { CK__TSTORE(c[3], m0, x30); CK__TSTORE(c[3] + CK__TW, m1, x31); }
            }
        } else {
            for (m = 0; m < M; m += 8) {
                const float *a[8];
                float *c[8];
                ck__tv x[8];
                for (r = 0; r < 8; r++) {
                    a[r] = A + (size_t)CK_MIN(m + r, M - 1) * am;
                    c[r] = C + (size_t)CK_MIN(m + r, M - 1) * ldc + n;
                    x[r] = acc ? CK__TLOAD(c[r], m0) : CK__TZERO();
                }
                for (k = 0; k < K; k++) {
                    const ck__tv b0 = CK__TLOAD(B + (size_t)k * ldb + n, m0);
                    const size_t o = (size_t)k * ak;
                    x[0] = CK__TFMA(CK__TSET1(a[0][o]), b0, x[0]);
                    x[1] = CK__TFMA(CK__TSET1(a[1][o]), b0, x[1]);
                    x[2] = CK__TFMA(CK__TSET1(a[2][o]), b0, x[2]);
                    x[3] = CK__TFMA(CK__TSET1(a[3][o]), b0, x[3]);
                    x[4] = CK__TFMA(CK__TSET1(a[4][o]), b0, x[4]);
                    x[5] = CK__TFMA(CK__TSET1(a[5][o]), b0, x[5]);
                    x[6] = CK__TFMA(CK__TSET1(a[6][o]), b0, x[6]);
                    x[7] = CK__TFMA(CK__TSET1(a[7][o]), b0, x[7]);
                }
                for (r = 0; r < 8 && m + r < M; r++) CK__TSTORE(c[r], m0, x[r]);
            }
        }
    }
}

/* kt[i*CK__TK + j] = row j (src + j*ld) at dimension i, for i < HS, j < CK__TK (rows j >= nk: 0) */
static void ck__tile_transpose(float *kt, const float *src, size_t ld, int nk, int HS)
{
    int i, j;
#if CK_HAVE_AVX512
    for (i = 0; i < HS; i += 16) {
        const int w = CK_MIN(16, HS - i);
        __m512i r[16];
        for (j = 0; j < 16; j++)
            r[j] = j < nk ? _mm512_castps_si512(_mm512_maskz_loadu_ps(CK__TMASK(w), src + (size_t)j * ld + i)) : _mm512_setzero_si512();
        ck__transpose16_dwords_avx512(r);
        for (j = 0; j < w; j++) _mm512_storeu_ps(kt + (size_t)(i + j) * CK__TK, _mm512_castsi512_ps(r[j]));
    }
#else
    int half;
    for (i = 0; i < HS; i += 8) {
        const int w = CK_MIN(8, HS - i);
        for (half = 0; half < 2; half++) {
            __m256i r[8];
            for (j = 0; j < 8; j++)
                r[j] = half * 8 + j < nk ? _mm256_castps_si256(_mm256_maskload_ps(src + (size_t)(half * 8 + j) * ld + i, ck__mask(w)))
                                         : _mm256_setzero_si256();
            ck__transpose8_dwords_avx2(r);
            for (j = 0; j < w; j++) _mm256_storeu_ps(kt + (size_t)(i + j) * CK__TK + half * 8, _mm256_castsi256_ps(r[j]));
        }
    }
#endif
}

/* everything a tile reads and writes: the arguments of ck__attention_forward/backward */
typedef struct {
    float *out_w, *lse_w, *dq, *dk, *dv; /* written: out_w, lse_w by the forward; dq, dk, dv by the backward */
    const float *out, *lse, *dout, *q, *k, *v;
    const ck__attn_layout *L;
    int NH, NKV, T, Tk, HS, pos0, window;
    float scale, softcap;
} ck__attn_args;

static void ck__attn_args_set(ck__attn_args *a, const float *out, const float *lse, float *dq, float *dk, float *dv, const float *dout,
                              const float *q, const float *k, const float *v, const ck__attn_layout *L,
                              int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap)
{
    a->out_w = a->lse_w = NULL;
    a->out = out; a->lse = lse; a->dq = dq; a->dk = dk; a->dv = dv; a->dout = dout; a->q = q; a->k = k; a->v = v; a->L = L;
    a->NH = NH; a->NKV = NKV; a->T = T; a->Tk = Tk; a->HS = HS; a->pos0 = pos0; a->window = window;
    a->scale = scale; a->softcap = softcap;
}

/* does any query of t0..t0+nq-1 see a key of k0..k0+nk-1 (the visible ranges move forward with t) */
static int ck__tile_visible(const ck__attn_args *a, int t0, int nq, int k0, int nk)
{
    int f0, f1, l0, l1;
    ck__attn_range(t0, a->Tk, a->pos0, a->window, &f0, &f1);
    ck__attn_range(t0 + nq - 1, a->Tk, a->pos0, a->window, &l0, &l1);
    return l1 > k0 && f0 < k0 + nk;
}

/* s[r][j] (row stride CK__TK) = scale q_(t0+r) . k_(k0+j), soft-capped (dcap: its derivative, if
   not NULL), -inf where the key is not visible to the query */
static void ck__tile_scores(float *s, float *dcap, const ck__attn_args *a, const float *qrows, const float *kt,
                            int t0, int nq, int k0, int nk)
{
    int r, j, j0, j1;
    ck__tile_mm(s, CK__TK, qrows, a->L->qt, 1, kt, CK__TK, nq, a->HS, nk, 0);
    for (r = 0; r < nq; r++) {
        float *sr = s + r * CK__TK;
        for (j = 0; j < nk; j++) sr[j] *= a->scale;
        if (a->softcap > 0.0f) ck__softcap(sr, dcap ? dcap + r * CK__TK : NULL, sr, a->softcap, (size_t)nk, 1);
        ck__attn_range(t0 + r, a->Tk, a->pos0, a->window, &j0, &j1);
        for (j = 0; j < nk; j++)
            if (k0 + j < j0 || k0 + j >= j1) sr[j] = -INFINITY;
    }
}

/* p[j] = exp(s[j] - m) for j < n <= CK__TK, 0 where s[j] = -inf (p may be s); returns the sum */
static float ck__tile_exp_row(float *p, const float *s, float m, int n)
{
    const __m256 vm = _mm256_set1_ps(m), ninf = _mm256_set1_ps(-INFINITY);
    __m256 sum = _mm256_setzero_ps();
    int j;
    for (j = 0; j < n; j += 8) {
        const __m256i mk = ck__mask(CK_MIN(8, n - j));
        const __m256 x = _mm256_maskload_ps(s + j, mk);
        const __m256 vis = _mm256_and_ps(_mm256_castsi256_ps(mk), _mm256_cmp_ps(x, ninf, _CMP_NEQ_OQ));
        const __m256 e = _mm256_and_ps(ck__exp_neg_avx2(_mm256_sub_ps(x, vm)), vis);
        _mm256_maskstore_ps(p + j, mk, e);
        sum = _mm256_add_ps(sum, e);
    }
    return ck__hsum(sum);
}

/* training forward (lse wanted): one work item = head h, queries c0..c0+CK__TC-1; online softmax
   over the key blocks in order, per row: running max mx, sum l of exp(s - mx), out unnormalised */
static void ck__attention_forward_tiled(const ck__attn_args *a)
{
    const ck__attn_layout *L = a->L;
    const int nqc = (a->T + CK__TC - 1) / CK__TC, group = a->NH / a->NKV;
    int item;
    CK_OMP(omp parallel for schedule(dynamic, 1) if ((double)a->NH * a->T * a->Tk * a->HS > CK_OMP_MIN_WORK))
    for (item = 0; item < a->NH * nqc; item++) {
        const int h = item / nqc, c0 = item % nqc * CK__TC, nc = CK_MIN(CK__TC, a->T - c0);
        const float *kh = a->k + (size_t)(h / group) * L->kh, *vh = a->v + (size_t)(h / group) * L->kh;
        float kt[CK__THS * CK__TK], s[CK__TQ * CK__TK], mx[CK__TC];
        double l[CK__TC];
        int r, j, t0, k0, j0, j1, jlast;
        for (r = 0; r < nc; r++) {
            memset(a->out_w + (size_t)h * L->oh + (size_t)(c0 + r) * L->ot, 0, (size_t)a->HS * sizeof(float));
            mx[r] = -INFINITY;
            l[r] = 0.0;
        }
        ck__attn_range(c0, a->Tk, a->pos0, a->window, &j0, &j1);
        ck__attn_range(c0 + nc - 1, a->Tk, a->pos0, a->window, &j, &jlast);
        for (k0 = j0 / CK__TK * CK__TK; k0 < jlast; k0 += CK__TK) {
            const int nk = CK_MIN(CK__TK, a->Tk - k0);
            ck__tile_transpose(kt, kh + (size_t)k0 * L->kt, L->kt, nk, a->HS);
            for (t0 = c0; t0 < c0 + nc; t0 += CK__TQ) {
                const int nq = CK_MIN(CK__TQ, c0 + nc - t0);
                if (!ck__tile_visible(a, t0, nq, k0, nk)) continue;
                ck__tile_scores(s, NULL, a, a->q + (size_t)h * L->qh + (size_t)t0 * L->qt, kt, t0, nq, k0, nk);
                for (r = 0; r < nq; r++) {
                    float *sr = s + r * CK__TK, bm = -INFINITY, *o = a->out_w + (size_t)h * L->oh + (size_t)(t0 + r) * L->ot;
                    const int i = t0 - c0 + r;
                    for (j = 0; j < nk; j++) bm = sr[j] > bm ? sr[j] : bm;
                    if (bm == -INFINITY) { /* no visible key in this block: p = 0 */
                        memset(sr, 0, (size_t)nk * sizeof(float));
                        continue;
                    }
                    if (bm > mx[i]) {
                        if (l[i] > 0.0) {
                            const float c = expf(mx[i] - bm);
                            l[i] *= c;
                            ck__scale_avx2(o, c, a->HS);
                        }
                        mx[i] = bm;
                    }
                    l[i] += ck__tile_exp_row(sr, sr, mx[i], nk);
                }
                ck__tile_mm(a->out_w + (size_t)h * L->oh + (size_t)t0 * L->ot, L->ot, s, CK__TK, 1, vh + (size_t)k0 * L->kt, L->kt,
                            nq, nk, a->HS, 1);
            }
        }
        for (r = 0; r < nc; r++) {
            float *o = a->out_w + (size_t)h * L->oh + (size_t)(c0 + r) * L->ot;
            if (l[r] > 0.0) {
                ck__scale_avx2(o, (float)(1.0 / l[r]), a->HS);
                a->lse_w[(size_t)h * a->T + c0 + r] = mx[r] + (float)log(l[r]);
            } else {
                a->lse_w[(size_t)h * a->T + c0 + r] = -INFINITY;
            }
        }
    }
}

/* One backward tile: queries t0.. (nq) of head h x keys k0.. (nk), the key and value rows transposed
   in kt, vt. p = exp(s - lse), D = dout.out, ds = scale p (dout.v - D) (times the cap's derivative);
   kv: dv += p^T dout, dk += ds^T q; qq: dq += ds k. */
static void ck__attn_backward_tile(const ck__attn_args *a, int h, int t0, int nq, int k0, int nk, const float *kt, const float *vt,
                                   int kv, int qq)
{
    const ck__attn_layout *L = a->L;
    const size_t kvo = (size_t)(h / (a->NH / a->NKV)) * L->kh + (size_t)k0 * L->kt;
    const size_t qo = (size_t)h * L->qh + (size_t)t0 * L->qt, oo = (size_t)h * L->oh + (size_t)t0 * L->ot;
    float p[CK__TQ * CK__TK], ds[CK__TQ * CK__TK], dcap[CK__TQ * CK__TK];
    int r, j;
    ck__tile_scores(p, a->softcap > 0.0f ? dcap : NULL, a, a->q + qo, kt, t0, nq, k0, nk);
    ck__tile_mm(ds, CK__TK, a->dout + oo, L->ot, 1, vt, CK__TK, nq, a->HS, nk, 0); /* dP = dout v^T */
    for (r = 0; r < nq; r++) {
        const float lse = a->lse[(size_t)h * a->T + t0 + r];
        float *pr = p + r * CK__TK, *dr = ds + r * CK__TK, D;
        if (lse == -INFINITY) { /* the row saw no key */
            memset(pr, 0, (size_t)nk * sizeof(float));
            memset(dr, 0, (size_t)nk * sizeof(float));
            continue;
        }
        ck__tile_exp_row(pr, pr, lse, nk);
        D = ck__dot_avx2(a->dout + oo + (size_t)r * L->ot, a->out + oo + (size_t)r * L->ot, a->HS);
        for (j = 0; j < nk; j++) {
            float d = pr[j] * (dr[j] - D);
            if (a->softcap > 0.0f) d *= dcap[r * CK__TK + j];
            dr[j] = a->scale * d;
        }
    }
    if (kv && a->dv) ck__tile_mm(a->dv + kvo, L->kt, p, 1, CK__TK, a->dout + oo, L->ot, nk, nq, a->HS, 1);
    if (kv && a->dk) ck__tile_mm(a->dk + kvo, L->kt, ds, 1, CK__TK, a->q + qo, L->qt, nk, nq, a->HS, 1);
    if (qq && a->dq) ck__tile_mm(a->dq + qo, L->qt, ds, CK__TK, 1, a->k + kvo, L->kt, nq, nk, a->HS, 1);
}

/* Backward over the tiles. dk/dv of a key block sum its tiles over (query head of the group, query
   block) in order; dq of a query block sums its tiles over the key blocks in order. One pass (work
   item = KV head: it owns its dk/dv and its query heads' dq) when the KV heads spread evenly over the
   threads; otherwise two passes (items = (KV head, key block) for dk/dv, then (head, queries) for dq)
   that add the same tiles in the same order: the same bits either way. */
static void ck__attention_backward_tiled(const ck__attn_args *a)
{
    const ck__attn_layout *L = a->L;
    const int group = a->NH / a->NKV, nkb = (a->Tk + CK__TK - 1) / CK__TK, nqc = (a->T + CK__TC - 1) / CK__TC;
    const int par = (double)a->NH * a->T * a->Tk * a->HS > CK_OMP_MIN_WORK;
    int nth = 1, item;
#ifdef _OPENMP
    nth = omp_get_max_threads();
#endif
    (void)par; /* read by the OpenMP pragmas only */
    if (a->NKV % nth == 0 || a->NKV >= 4 * nth) {
        CK_OMP(omp parallel for schedule(dynamic, 1) if (par))
        for (item = 0; item < a->NKV; item++) {
            float kt[CK__THS * CK__TK], vt[CK__THS * CK__TK];
            int kb, h, t0;
            for (kb = 0; kb < nkb; kb++) {
                const int k0 = kb * CK__TK, nk = CK_MIN(CK__TK, a->Tk - k0);
                ck__tile_transpose(kt, a->k + (size_t)item * L->kh + (size_t)k0 * L->kt, L->kt, nk, a->HS);
                ck__tile_transpose(vt, a->v + (size_t)item * L->kh + (size_t)k0 * L->kt, L->kt, nk, a->HS);
                for (h = item * group; h < (item + 1) * group; h++)
                    for (t0 = 0; t0 < a->T; t0 += CK__TQ) {
                        const int nq = CK_MIN(CK__TQ, a->T - t0);
                        if (ck__tile_visible(a, t0, nq, k0, nk)) ck__attn_backward_tile(a, h, t0, nq, k0, nk, kt, vt, 1, 1);
                    }
            }
        }
        return;
    }
    if (a->dk || a->dv) {
        CK_OMP(omp parallel for schedule(dynamic, 1) if (par))
        for (item = 0; item < a->NKV * nkb; item++) {
            const int g = item / nkb, k0 = item % nkb * CK__TK, nk = CK_MIN(CK__TK, a->Tk - k0);
            float kt[CK__THS * CK__TK], vt[CK__THS * CK__TK];
            int h, t0;
            ck__tile_transpose(kt, a->k + (size_t)g * L->kh + (size_t)k0 * L->kt, L->kt, nk, a->HS);
            ck__tile_transpose(vt, a->v + (size_t)g * L->kh + (size_t)k0 * L->kt, L->kt, nk, a->HS);
            for (h = g * group; h < (g + 1) * group; h++)
                for (t0 = 0; t0 < a->T; t0 += CK__TQ) {
                    const int nq = CK_MIN(CK__TQ, a->T - t0);
                    if (ck__tile_visible(a, t0, nq, k0, nk)) ck__attn_backward_tile(a, h, t0, nq, k0, nk, kt, vt, 1, 0);
                }
        }
    }
    if (a->dq) {
        CK_OMP(omp parallel for schedule(dynamic, 1) if (par))
        for (item = 0; item < a->NH * nqc; item++) {
            const int h = item / nqc, c0 = item % nqc * CK__TC, nc = CK_MIN(CK__TC, a->T - c0), g = h / group;
            float kt[CK__THS * CK__TK], vt[CK__THS * CK__TK];
            int kb, t0;
            for (kb = 0; kb < nkb; kb++) {
                const int k0 = kb * CK__TK, nk = CK_MIN(CK__TK, a->Tk - k0);
                if (!ck__tile_visible(a, c0, nc, k0, nk)) continue;
                ck__tile_transpose(kt, a->k + (size_t)g * L->kh + (size_t)k0 * L->kt, L->kt, nk, a->HS);
                ck__tile_transpose(vt, a->v + (size_t)g * L->kh + (size_t)k0 * L->kt, L->kt, nk, a->HS);
                for (t0 = c0; t0 < c0 + nc; t0 += CK__TQ) {
                    const int nq = CK_MIN(CK__TQ, c0 + nc - t0);
                    if (ck__tile_visible(a, t0, nq, k0, nk)) ck__attn_backward_tile(a, h, t0, nq, k0, nk, kt, vt, 0, 1);
                }
            }
        }
    }
}
#endif

#if CK_HAVE_AVX2
/* Inference attention (no lse wanted), AVX2: the query heads of a KV group (up to CK__AG at a
   time) share every key and value row, widened from an F16 cache once for all of them; scores are
   4 keys per pass over a query head, go through the 8-lane exp per block of keys, and values are
   added 4 keys per pass over the outputs. Work items are (KV head, chunk of its query heads,
   query); the chunks are made smaller when there are too few items for the threads (decode).
   Each output is the same sequence of operations whichever thread computes it. */
#if CK_HAVE_AVX512 && defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
/* g++ (12) -Wall flags the self-initialized _mm256_undefined_* inside its own AVX-512 casts */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
enum { CK__AG = 8, CK__AKB = 64 };
#if CK_HAVE_AVX512
/* 16 keys' scores for one query head (rows off + kk * kt, kk < 16, of k; HS a multiple of 16), bit-identical
   to the 4-key passes below: each dot is 16-lane fma chains over the head in order, folded to 8 lanes
   (low + high half), then the pairwise tree ((f0+f1)+(f2+f3)) + ((f4+f5)+(f6+f7)) of _mm256_hadd_ps; here
   the 16 trees are taken at once by in-lane shuffles (the same adds of the same pairs), then scaled. */
static void ck__attn_scores16_avx512(float *s, const float *qr, const void *k, int kv16, size_t off, size_t kt, int HS, float scale)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m512 a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
    __m512 z0, z1, z2, z3, z4, z5, z6, z7, q0, q1;
    int i;
#define CK__S16_STEP(LD)                                                                                              \
    for (i = 0; i < HS; i += 16) {                                                                                    \
        const __m512 qv = _mm512_loadu_ps(qr + i);                                                                    \
        a0 = _mm512_fmadd_ps(qv, LD(0), a0); a1 = _mm512_fmadd_ps(qv, LD(1), a1);                                     \
        a2 = _mm512_fmadd_ps(qv, LD(2), a2); a3 = _mm512_fmadd_ps(qv, LD(3), a3);                                     \
        a4 = _mm512_fmadd_ps(qv, LD(4), a4); a5 = _mm512_fmadd_ps(qv, LD(5), a5);                                     \
        a6 = _mm512_fmadd_ps(qv, LD(6), a6); a7 = _mm512_fmadd_ps(qv, LD(7), a7);                                     \
        a8 = _mm512_fmadd_ps(qv, LD(8), a8); a9 = _mm512_fmadd_ps(qv, LD(9), a9);                                     \
        a10 = _mm512_fmadd_ps(qv, LD(10), a10); a11 = _mm512_fmadd_ps(qv, LD(11), a11);                               \
        a12 = _mm512_fmadd_ps(qv, LD(12), a12); a13 = _mm512_fmadd_ps(qv, LD(13), a13);                               \
        a14 = _mm512_fmadd_ps(qv, LD(14), a14); a15 = _mm512_fmadd_ps(qv, LD(15), a15);                               \
    }
#define CK__S16_F32(kk) _mm512_loadu_ps((const float *)k + off + (size_t)(kk) * kt + i)
#define CK__S16_F16(kk) _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)k + off + (size_t)(kk) * kt + i)))
    if (kv16) CK__S16_STEP(CK__S16_F16)
    else CK__S16_STEP(CK__S16_F32)
#undef CK__S16_STEP
#undef CK__S16_F32
#undef CK__S16_F16
/* keys kk and kk + 8 folded into one register: [low + high half of kk | the same of kk + 8] */
#define CK__S16_FOLD(x, y) _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x44), _mm512_shuffle_f32x4(x, y, 0xee))
/* _mm256_hadd_ps in every 128-bit lane: [x0+x1, x2+x3, y0+y1, y2+y3] */
#define CK__S16_HADD(x, y) _mm512_add_ps(_mm512_shuffle_ps(x, y, 0x88), _mm512_shuffle_ps(x, y, 0xdd))
    z0 = CK__S16_FOLD(a0, a8); z1 = CK__S16_FOLD(a1, a9); z2 = CK__S16_FOLD(a2, a10); z3 = CK__S16_FOLD(a3, a11);
    z4 = CK__S16_FOLD(a4, a12); z5 = CK__S16_FOLD(a5, a13); z6 = CK__S16_FOLD(a6, a14); z7 = CK__S16_FOLD(a7, a15);
    q0 = CK__S16_HADD(CK__S16_HADD(z0, z1), CK__S16_HADD(z2, z3)); /* lanes: keys 0-3 low / high halves' sums, 8-11 likewise */
    q1 = CK__S16_HADD(CK__S16_HADD(z4, z5), CK__S16_HADD(z6, z7)); /* keys 4-7, 12-15 */
#undef CK__S16_FOLD
#undef CK__S16_HADD
    /* low-half sums + high-half sums: keys 0-3, 8-11, 4-7, 12-15, then in order */
    q0 = _mm512_add_ps(_mm512_shuffle_f32x4(q0, q1, 0x88), _mm512_shuffle_f32x4(q0, q1, 0xdd));
    _mm512_storeu_ps(s, _mm512_mul_ps(_mm512_set1_ps(scale), _mm512_shuffle_f32x4(q0, q0, 0xd8)));
}
#endif

/* rows r0 .. r1-1 (HS values each, F16 or f32) of k at off + r * kt, into L1 */
static void ck__attn_prefetch_rows(const void *k, int kv16, size_t off, size_t kt, int r0, int r1, int HS)
{
    const size_t es = kv16 ? 2 : 4;
    int r, i;
    for (r = r0; r < r1; r++)
        for (i = 0; i < HS * (int)es; i += 64) _mm_prefetch((const char *)k + (off + (size_t)r * kt) * es + i, _MM_HINT_T0);
}

/* work items it0 .. it1-1: (KV head, chunk of gs of its query heads, query) */
static void ck__attention_infer_items(float *out, const float *q, const void *k, const void *v, int kv16, int NH, int NKV, int T, int Tk,
                                      int HS, int pos0, int window, float scale, float softcap, const ck__attn_layout *L, int gs, int it0,
                                      int it1)
{
    const int group = NH / NKV, ngc = (group + gs - 1) / gs;
    int item;
    for (item = it0; item < it1; item++) {
        const int t = item % T, kvi = item / T / ngc, h0 = kvi * group + (item / T % ngc) * gs, G = CK_MIN(gs, (kvi + 1) * group - h0);
        const size_t kvh = (size_t)kvi * L->kh;
        const float *qr[CK__AG];
        float *o[CK__AG], s[CK__AG][CK__AKB], mx[CK__AG], vbuf[4][CK_ATTN_F16_MAX_HS];
        double l[CK__AG];
        int h, j, jj, j0, j1, jb, n, i;
        ck__attn_range(t, Tk, pos0, window, &j0, &j1);
        memset(s, 0, sizeof s); /* lanes past a block's keys are read (and masked) by the 8-lane steps */
        for (h = 0; h < G; h++) {
            qr[h] = q + (size_t)(h0 + h) * L->qh + (size_t)t * L->qt;
            o[h] = out + (size_t)(h0 + h) * L->oh + (size_t)t * L->ot;
            memset(o[h], 0, (size_t)HS * sizeof(float));
            mx[h] = -INFINITY;
            l[h] = 0.0;
        }
        for (jb = j0; jb < j1; jb += CK__AKB) {
            n = CK_MIN(CK__AKB, j1 - jb);
            j = 0;
#if CK_HAVE_AVX512
            if (HS % 16 == 0) /* scores: 16 keys at a time per head, the same bits */
                for (; j + 16 <= n; j += 16) {
                    if (jb + j + 32 <= j1) ck__attn_prefetch_rows(k, kv16, kvh, L->kt, jb + j + 16, jb + j + 32, HS); /* the next 16 key rows */
                    for (h = 0; h < G; h++) ck__attn_scores16_avx512(s[h] + j, qr[h], k, kv16, kvh + (size_t)(jb + j) * L->kt, L->kt, HS, scale);
                }
#endif
            for (; j < n; j += 4) { /* scores: 4 keys at a time (widened once), each head's dots with them */
                const int nj = CK_MIN(4, n - j);
                const float *kr[4];
                for (jj = 0; jj < 4; jj++) kr[jj] = jj < nj ? ck__kv_row(k, kv16, kvh + (size_t)(jb + j + jj) * L->kt, vbuf[jj], HS) : kr[0];
                if (jb + j + 12 <= j1) /* the key rows two passes on (the cache holds them in L2 or further) */
                    ck__attn_prefetch_rows(k, kv16, kvh, L->kt, jb + j + 8, jb + j + 12, HS);
                for (h = 0; h < G; h++) {
                    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                    __m128 d4;
                    float d[4];
                    i = 0;
#if CK_HAVE_AVX512
                    if (HS >= 16) { /* 16 lanes, folded to 8 before the 8-lane steps */
                        __m512 b0 = _mm512_setzero_ps(), b1 = b0, b2 = b0, b3 = b0;
                        for (; i + 16 <= HS; i += 16) {
                            const __m512 qv = _mm512_loadu_ps(qr[h] + i);
                            b0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kr[0] + i), b0);
                            b1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kr[1] + i), b1);
                            b2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kr[2] + i), b2);
                            b3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kr[3] + i), b3);
                        }
/* the upper 8 lanes (AVX512F; the masked form: g++ flags the plain one's undefined source) */
#define CK__HI256(v) _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd((__mmask8)0x0f, _mm512_castps_pd(v), 1))
                        a0 = _mm256_add_ps(_mm512_castps512_ps256(b0), CK__HI256(b0));
                        a1 = _mm256_add_ps(_mm512_castps512_ps256(b1), CK__HI256(b1));
                        a2 = _mm256_add_ps(_mm512_castps512_ps256(b2), CK__HI256(b2));
                        a3 = _mm256_add_ps(_mm512_castps512_ps256(b3), CK__HI256(b3));
#undef CK__HI256
                    }
#endif
                    for (; i + 8 <= HS; i += 8) {
                        const __m256 qv = _mm256_loadu_ps(qr[h] + i);
                        a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kr[0] + i), a0);
                        a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kr[1] + i), a1);
                        a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kr[2] + i), a2);
                        a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kr[3] + i), a3);
                    }
                    a0 = _mm256_hadd_ps(a0, a1); /* [a0 a0 a1 a1 | a0 a0 a1 a1] pairs, then the four sums */
                    a2 = _mm256_hadd_ps(a2, a3);
                    a0 = _mm256_hadd_ps(a0, a2);
                    d4 = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
                    if (i == HS) { /* no scalar rest: the 4 scores at once (lanes past n: never used unmasked) */
                        _mm_storeu_ps(s[h] + j, _mm_mul_ps(_mm_set1_ps(scale), d4));
                        continue;
                    }
                    _mm_storeu_ps(d, d4);
                    for (jj = 0; jj < nj; jj++) {
                        int r;
                        for (r = i; r < HS; r++) d[jj] += qr[h][r] * kr[jj][r];
                        s[h][j + jj] = scale * d[jj];
                    }
                }
            }
            for (h = 0; h < G; h++) {
                float bm = -INFINITY;
                __m256 vs = _mm256_setzero_ps(), m8 = _mm256_set1_ps(-INFINITY);
                if (softcap > 0.0f) ck__softcap(s[h], NULL, s[h], softcap, (size_t)n, 1);
                for (j = 0; j + 8 <= n; j += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(s[h] + j));
                bm = ck__hmax_avx2(m8);
                for (; j < n; j++) bm = s[h][j] > bm ? s[h][j] : bm;
                if (bm > mx[h]) {
                    if (l[h] > 0.0) {
                        float c = expf(mx[h] - bm);
                        l[h] *= c;
                        ck__scale_avx2(o[h], c, HS);
                    }
                    mx[h] = bm;
                }
                m8 = _mm256_set1_ps(mx[h]);
                for (j = 0; j < n; j += 8) { /* past n (within the row: n <= CK__AKB, a multiple of 8): p = 0 */
                    __m256 p = ck__exp_neg_avx2(_mm256_sub_ps(_mm256_loadu_ps(s[h] + j), m8));
                    if (n - j < 8) p = _mm256_and_ps(p, _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n - j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
                    _mm256_storeu_ps(s[h] + j, p);
                    vs = _mm256_add_ps(vs, p);
                }
                l[h] += ck__hsum(vs);
            }
#if CK_HAVE_AVX512
            if (HS % 64 == 0) { /* values: up to 4 heads' 64 outputs (16 registers) at a time over the block's keys, each
                                   value row read once for them (each output: the same fmas in the same key order as
                                   the 4-key passes below, which also add 0 * v past n: an output is never -0, so
                                   that changes nothing) */
                int hb;
                for (hb = 0; hb < G; hb += 4)
                    for (i = 0; i < HS; i += 64) {
                        const int nh = CK_MIN(4, G - hb);
                        float *o0 = o[hb] + i, *o1 = o[hb + CK_MIN(1, nh - 1)] + i, *o2 = o[hb + CK_MIN(2, nh - 1)] + i, *o3 = o[hb + CK_MIN(3, nh - 1)] + i;
                        const float *s0 = s[hb], *s1 = s[hb + CK_MIN(1, nh - 1)], *s2 = s[hb + CK_MIN(2, nh - 1)], *s3 = s[hb + CK_MIN(3, nh - 1)];
#define CK__AV_LD(h) __m512 c##h##0 = _mm512_loadu_ps(o##h), c##h##1 = _mm512_loadu_ps(o##h + 16), c##h##2 = _mm512_loadu_ps(o##h + 32), c##h##3 = _mm512_loadu_ps(o##h + 48)
                        CK__AV_LD(0); CK__AV_LD(1); CK__AV_LD(2); CK__AV_LD(3);
#undef CK__AV_LD
                        for (j = 0; j < n; j++) { /* (past nh: the last head again, not stored) */
                            const size_t vo = kvh + (size_t)(jb + j) * L->kt + (size_t)i;
                            if (jb + j + 8 < j1) { /* the value row 8 keys on, into L1 */
                                const char *pr = (const char *)v + (vo + (size_t)8 * L->kt) * (kv16 ? 2 : 4);
                                _mm_prefetch(pr, _MM_HINT_T0); _mm_prefetch(pr + 64, _MM_HINT_T0);
                                if (!kv16) { _mm_prefetch(pr + 128, _MM_HINT_T0); _mm_prefetch(pr + 192, _MM_HINT_T0); }
                            }
                            __m512 v0, v1, v2, v3, p;
                            if (kv16) {
                                const uint16_t *vh = (const uint16_t *)v + vo;
#define CK__AV_CVT(x) _mm512_maskz_cvtph_ps((__mmask16)0xffff, _mm256_loadu_si256((const __m256i *)(const void *)(vh + x)))
                                v0 = CK__AV_CVT(0); v1 = CK__AV_CVT(16); v2 = CK__AV_CVT(32); v3 = CK__AV_CVT(48);
#undef CK__AV_CVT
                            } else {
                                const float *vf = (const float *)v + vo;
                                v0 = _mm512_loadu_ps(vf); v1 = _mm512_loadu_ps(vf + 16); v2 = _mm512_loadu_ps(vf + 32); v3 = _mm512_loadu_ps(vf + 48);
                            }
#define CK__AV_FMA(h) p = _mm512_set1_ps(s##h[j]); c##h##0 = _mm512_fmadd_ps(p, v0, c##h##0); c##h##1 = _mm512_fmadd_ps(p, v1, c##h##1); \
                      c##h##2 = _mm512_fmadd_ps(p, v2, c##h##2); c##h##3 = _mm512_fmadd_ps(p, v3, c##h##3)
                            CK__AV_FMA(0); CK__AV_FMA(1); CK__AV_FMA(2); CK__AV_FMA(3);
#undef CK__AV_FMA
                        }
#define CK__AV_ST(h) _mm512_storeu_ps(o##h, c##h##0); _mm512_storeu_ps(o##h + 16, c##h##1); _mm512_storeu_ps(o##h + 32, c##h##2); _mm512_storeu_ps(o##h + 48, c##h##3)
                        CK__AV_ST(3); CK__AV_ST(2); CK__AV_ST(1); CK__AV_ST(0); /* (a repeated head: the same values) */
#undef CK__AV_ST
                    }
                continue;
            }
#endif
            for (j = 0; j < n; j += 4) { /* values: 4 keys per pass over the G outputs */
                const int nj = CK_MIN(4, n - j);
                const float *vr[4];
                for (jj = 0; jj < 4; jj++) vr[jj] = jj < nj ? ck__kv_row(v, kv16, kvh + (size_t)(jb + j + jj) * L->kt, vbuf[jj], HS) : vr[0];
                for (h = 0; h < G; h++) { /* p past n is 0 (above) */
                    const float p0 = s[h][j], p1 = s[h][j + 1], p2 = s[h][j + 2], p3 = s[h][j + 3];
                    const __m256 a0 = _mm256_set1_ps(p0), a1 = _mm256_set1_ps(p1), a2 = _mm256_set1_ps(p2), a3 = _mm256_set1_ps(p3);
                    float *oh = o[h];
                    i = 0;
#if CK_HAVE_AVX512
                    {
                        const __m512 b0 = _mm512_set1_ps(p0), b1 = _mm512_set1_ps(p1), b2 = _mm512_set1_ps(p2), b3 = _mm512_set1_ps(p3);
                        for (; i + 16 <= HS; i += 16) {
                            __m512 acc = _mm512_fmadd_ps(b0, _mm512_loadu_ps(vr[0] + i), _mm512_loadu_ps(oh + i));
                            acc = _mm512_fmadd_ps(b1, _mm512_loadu_ps(vr[1] + i), acc);
                            acc = _mm512_fmadd_ps(b2, _mm512_loadu_ps(vr[2] + i), acc);
                            _mm512_storeu_ps(oh + i, _mm512_fmadd_ps(b3, _mm512_loadu_ps(vr[3] + i), acc));
                        }
                    }
#endif
                    for (; i + 8 <= HS; i += 8) {
                        __m256 acc = _mm256_fmadd_ps(a0, _mm256_loadu_ps(vr[0] + i), _mm256_loadu_ps(oh + i));
                        acc = _mm256_fmadd_ps(a1, _mm256_loadu_ps(vr[1] + i), acc);
                        acc = _mm256_fmadd_ps(a2, _mm256_loadu_ps(vr[2] + i), acc);
                        _mm256_storeu_ps(oh + i, _mm256_fmadd_ps(a3, _mm256_loadu_ps(vr[3] + i), acc));
                    }
                    for (; i < HS; i++) oh[i] = p3 * vr[3][i] + (p2 * vr[2][i] + (p1 * vr[1][i] + (p0 * vr[0][i] + oh[i])));
                }
            }
        }
        for (h = 0; h < G; h++)
            if (l[h] > 0.0) ck__scale_avx2(o[h], (float)(1.0 / l[h]), HS);
    }
}
static void ck__attention_infer_item(void *p, int item)
{
    const ck__attn_job *J = (const ck__attn_job *)p;
    ck__attention_infer_items(J->out, J->q, J->k, J->v, J->kv16, J->NH, J->NKV, J->T, J->Tk, J->HS, J->pos0, J->window, J->scale, J->softcap,
                              J->L, J->gs, item, item + 1);
}
static void ck__attention_infer_avx2(float *out, const float *q, const void *k, const void *v, int kv16, int NH, int NKV, int T, int Tk,
                                     int HS, int pos0, int window, float scale, float softcap, const ck__attn_layout *L)
{
    const int group = NH / NKV, par = CK__PAR((double)NH * T * Tk * HS > CK_OMP_MIN_WORK);
    int gs = CK_MIN(group, CK__AG), nth = 1, n;
    ck__attn_job J;
#ifdef _OPENMP
    nth = omp_get_max_threads();
#endif
    while (par && gs > 1 && NKV * T * ((group + gs - 1) / gs) < 4 * nth) gs = (gs + 1) / 2; /* enough items for the threads */
    n = NKV * ((group + gs - 1) / gs) * T;
    J.out = out, J.q = q, J.k = k, J.v = v, J.kv16 = kv16, J.NH = NH, J.NKV = NKV, J.T = T, J.Tk = Tk, J.HS = HS, J.pos0 = pos0;
    J.window = window, J.scale = scale, J.softcap = softcap, J.L = L, J.gs = gs, J.lse = NULL, J.simd = 1;
    if (par) ck__par_items(1, ck__attention_infer_item, &J, n);
    else ck__attention_infer_items(out, q, k, v, kv16, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, L, gs, 0, n);
}
#if CK_HAVE_AVX512 && defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic pop
#endif
#endif

/* query row t of head h (item h * T + t) of ck__attention_forward_kv's loop: online softmax over key
   blocks of 32 */
static void ck__attention_kv_item(void *job, int item)
{
    enum { KBLK = 32 };
    const ck__attn_job *J = (const ck__attn_job *)job;
    const int h = item / J->T, t = item % J->T, T = J->T, Tk = J->Tk, HS = J->HS, pos0 = J->pos0, window = J->window, simd = J->simd;
    const int kv16 = J->kv16, group = J->NH / J->NKV;
    const float scale = J->scale, softcap = J->softcap, *q = J->q;
    const void *k = J->k, *v = J->v;
    const ck__attn_layout *L = J->L;
    float *out = J->out, *lse = J->lse;
    const float *qr = q + (size_t)h * L->qh + (size_t)t * L->qt;
    size_t kvh = (size_t)(h / group) * L->kh;
    float *o = out + (size_t)h * L->oh + (size_t)t * L->ot, mx = -INFINITY, s[KBLK], row[CK_ATTN_F16_MAX_HS];
    double l = 0.0;
    int j0, j1, jb, j, n;
    ck__attn_range(t, Tk, pos0, window, &j0, &j1);
    memset(o, 0, (size_t)HS * sizeof(float));
    for (jb = j0; jb < j1; jb += KBLK) {
        float bm = -INFINITY;
        n = CK_MIN(KBLK, j1 - jb);
        for (j = 0; j < n; j++) {
            s[j] = scale * CK__DOT(simd, qr, ck__kv_row(k, kv16, kvh + (size_t)(jb + j) * L->kt, row, HS), HS);
        }
        if (softcap > 0.0f) ck__softcap(s, NULL, s, softcap, (size_t)n, simd);
        for (j = 0; j < n; j++) bm = s[j] > bm ? s[j] : bm;
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
            CK__AXPY(simd, o, p, ck__kv_row(v, kv16, kvh + (size_t)(jb + j) * L->kt, row, HS), HS);
        }
    }
    if (l > 0.0) {
        CK__SCALE(simd, o, (float)(1.0 / l), HS);
        if (lse) lse[(size_t)h * T + t] = mx + (float)log(l);
    } else if (lse) {
        lse[(size_t)h * T + t] = -INFINITY;
    }
}

/* k and v are float rows, or F16 rows when kv16 (widened into a row buffer before use) */
static void ck__attention_forward_kv(float *out, float *lse, const float *q, const void *k, const void *v, int kv16,
                                     int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                     const ck__attn_layout *L, int simd)
{
    ck__attn_job J;
    CK_ASSERT(NKV > 0 && NH % NKV == 0 && HS > 0 && pos0 >= 0 && Tk >= 0 && "attention: NH must be a multiple of NKV");
    CK_ASSERT((!kv16 || HS <= CK_ATTN_F16_MAX_HS) && "attention over an F16 KV cache: HS must be <= CK_ATTN_F16_MAX_HS");
#if CK_HAVE_AVX2
    if (simd && !lse && HS <= CK_ATTN_F16_MAX_HS) { /* inference: no lse for a backward pass */
        ck__attention_infer_avx2(out, q, k, v, kv16, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, L);
        return;
    }
    if (simd && !kv16 && HS <= CK__THS) { /* training: in tiles, lse saved */
        ck__attn_args a;
        ck__attn_args_set(&a, out, lse, NULL, NULL, NULL, NULL, q, (const float *)k, (const float *)v, L, NH, NKV, T, Tk, HS, pos0, window, scale, softcap);
        a.out_w = out;
        a.lse_w = lse;
        ck__attention_forward_tiled(&a);
        return;
    }
#endif
    J.out = out, J.lse = lse, J.q = q, J.k = k, J.v = v, J.kv16 = kv16, J.NH = NH, J.NKV = NKV, J.T = T, J.Tk = Tk, J.HS = HS;
    J.pos0 = pos0, J.window = window, J.scale = scale, J.softcap = softcap, J.L = L, J.gs = 0, J.simd = simd;
    ck__par_items((double)NH * T * Tk * HS > CK_OMP_MIN_WORK, ck__attention_kv_item, &J, NH * T);
}

static void ck__attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                  const ck__attn_layout *L, int simd)
{
    ck__attention_forward_kv(out, lse, q, k, v, 0, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, L, simd);
}

/* Flash-style backward from the saved lse: p = exp(s - lse), D = dout.out,
   ds = p (dout.v - D); dq += scale ds k; dk += scale ds q; dv += p dout.
   With soft-capping, s = cap tanh(r / cap) of the raw score r = scale q.k is recomputed the
   same way as in forward, and ds picks up ds/dr = 1 - tanh^2(r / cap).
   One thread per kv head, so the shared dk/dv of a GQA group have one owner. */
static void ck__attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                   const float *q, const float *k, const float *v,
                                   int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                   const ck__attn_layout *L, int simd)
{
    enum { KBLK = 32 };
    int group, g;
    CK_ASSERT(NKV > 0 && NH % NKV == 0 && HS > 0 && pos0 >= 0 && Tk >= 0 && "attention: NH must be a multiple of NKV");
#if CK_HAVE_AVX2
    if (simd && HS <= CK__THS) {
        ck__attn_args a;
        ck__attn_args_set(&a, out, lse, dq, dk, dv, dout, q, k, v, L, NH, NKV, T, Tk, HS, pos0, window, scale, softcap);
        ck__attention_backward_tiled(&a);
        return;
    }
#endif
    group = NH / NKV;
    CK_OMP(omp parallel for schedule(dynamic, 1) if ((double)NH * T * Tk * HS > CK_OMP_MIN_WORK))
    for (g = 0; g < NKV; g++) {
        const float *kh = k + (size_t)g * L->kh, *vh = v + (size_t)g * L->kh;
        float *dkh = dk ? dk + (size_t)g * L->kh : NULL, *dvh = dv ? dv + (size_t)g * L->kh : NULL;
        float s[KBLK], dcap[KBLK];
        int h, t, j, j0, j1, jb, n;
        for (h = g * group; h < (g + 1) * group; h++)
            for (t = 0; t < T; t++) {
                size_t row = (size_t)h * T + t, qo = (size_t)h * L->qh + (size_t)t * L->qt, oo = (size_t)h * L->oh + (size_t)t * L->ot;
                const float *qr = q + qo, *dor = dout + oo;
                float *dqr = dq ? dq + qo : NULL, lse_r = lse[row], D;
                if (lse_r == -INFINITY) continue;
                D = CK__DOT(simd, dor, out + oo, HS);
                ck__attn_range(t, Tk, pos0, window, &j0, &j1);
                for (jb = j0; jb < j1; jb += KBLK) {   /* the forward pass's blocks */
                    n = CK_MIN(KBLK, j1 - jb);
                    for (j = 0; j < n; j++) s[j] = scale * CK__DOT(simd, qr, kh + (size_t)(jb + j) * L->kt, HS);
                    if (softcap > 0.0f) ck__softcap(s, dcap, s, softcap, (size_t)n, simd);
                    for (j = 0; j < n; j++) {
                        const float *kj = kh + (size_t)(jb + j) * L->kt, *vj = vh + (size_t)(jb + j) * L->kt;
                        float p = expf(s[j] - lse_r);
                        float ds = p * (CK__DOT(simd, dor, vj, HS) - D);
                        if (softcap > 0.0f) ds *= dcap[j];
                        if (dqr) CK__AXPY(simd, dqr, scale * ds, kj, HS);
                        if (dkh) CK__AXPY(simd, dkh + (size_t)(jb + j) * L->kt, scale * ds, qr, HS);
                        if (dvh) CK__AXPY(simd, dvh + (size_t)(jb + j) * L->kt, p, dor, HS);
                    }
                }
            }
    }
}

CK_DEF void ck_attention_forward_scalar(float *out, float *lse, const float *q, const float *k, const float *v,
                                        int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, 0);
}
CK_DEF void ck_attention_backward_scalar(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                         const float *q, const float *k, const float *v,
                                         int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, 0);
}
#if CK_HAVE_AVX2
CK_DEF void ck_attention_forward_avx2(float *out, float *lse, const float *q, const float *k, const float *v,
                                      int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, 1);
}
CK_DEF void ck_attention_backward_avx2(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                       const float *q, const float *k, const float *v,
                                       int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, 1);
}
#endif
CK_DEF void ck_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                 int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, CK__ATTN_SIMD);
}
CK_DEF void ck_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                  const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap)
{
    ck__attn_layout L;
    ck__attn_head_major(&L, T, Tk, HS);
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, CK__ATTN_SIMD);
}

/* ===================================================================================== */
/* 11. Loss                                                                              */
/* ===================================================================================== */

#if CK_HAVE_AVX2
/* one row of V >= 8 logits: *mx = max, returns sum exp(x - max) (the 8-lane exp; every 64 values' 8
   partial sums go into double, as the rows may be vocabulary-sized) and, if p, stores p = exp(x - max) */
static double ck__ce_row_avx2(float *p, const float *x, int V, float *mx)
{
    __m256 m = _mm256_loadu_ps(x), vm;
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    int c, blk;
    for (c = 8; c + 8 <= V; c += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + c));
    m = _mm256_max_ps(m, _mm256_loadu_ps(x + V - 8));
    *mx = ck__hmax_avx2(m);
    vm = _mm256_set1_ps(*mx);
    for (c = 0; c < V; c = blk) {
        __m256 acc = _mm256_setzero_ps();
        blk = CK_MIN(V, c + 64);
        for (; c < blk; c += 8) {
            const __m256i mk = ck__mask(CK_MIN(8, blk - c));
            const __m256 e = _mm256_and_ps(ck__exp_neg_avx2(_mm256_sub_ps(_mm256_maskload_ps(x + c, mk), vm)), _mm256_castsi256_ps(mk));
            if (p) _mm256_maskstore_ps(p + c, mk, e);
            acc = _mm256_add_ps(acc, e);
        }
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(acc)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(acc, 1)));
    }
    {
        double d[4];
        _mm256_storeu_pd(d, _mm256_add_pd(s0, s1));
        return (d[0] + d[1]) + (d[2] + d[3]);
    }
}
#endif

#if CK_HAVE_NEON
/* ck__ce_row_avx2 in 4 lanes: one row of V >= 4 logits: *mx = max, returns sum exp(x - max) (every
   64 values' 4 partial sums go into double) and, if p, stores p = exp(x - max) */
static double ck__ce_row_neon(float *p, const float *x, int V, float *mx)
{
    float32x4_t m = vld1q_f32(x), vm;
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    int c, blk;
    for (c = 4; c + 4 <= V; c += 4) m = vmaxq_f32(m, vld1q_f32(x + c));
    m = vmaxq_f32(m, vld1q_f32(x + V - 4));
    *mx = vmaxvq_f32(m);
    vm = vdupq_n_f32(*mx);
    for (c = 0; c < V; c = blk) {
        float32x4_t acc = vdupq_n_f32(0.0f);
        blk = CK_MIN(V, c + 64);
        for (; c + 4 <= blk; c += 4) {
            const float32x4_t e = ck__exp_neg_neon(vsubq_f32(vld1q_f32(x + c), vm));
            if (p) vst1q_f32(p + c, e);
            acc = vaddq_f32(acc, e);
        }
        if (c < blk) { /* the last 1..3 values: their lanes, the others 0 */
            float t[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
            const int n = blk - c;
            int i;
            vst1q_f32(t, ck__exp_neg_neon(vsubq_f32(ck__load_tail_neon(x + c, n), vm)));
            for (i = n; i < 4; i++) t[i] = 0.0f;
            if (p) memcpy(p + c, t, (size_t)n * sizeof(float));
            acc = vaddq_f32(acc, vld1q_f32(t));
            c = blk;
        }
        s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(acc)));
        s1 = vaddq_f64(s1, vcvt_high_f64_f32(acc));
    }
    s0 = vaddq_f64(s0, s1);
    return vgetq_lane_f64(s0, 0) + vgetq_lane_f64(s0, 1);
}
#endif

/* forward: the max, the sum of exp(x - max) in double, loss = max - x[target] + log(sum) (AVX2/NEON:
   the 8-/4-lane exp, probs = exp(x - max) / sum; scalar: probs = exp(x - max - log(sum))) */
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
        /* x[target] read first: probs may overwrite x (in place) */
        const float xt = targets[t] == ignore_index ? 0.0f : x[targets[t]];
        float *p = probs ? probs + (size_t)t * V : NULL;
#if CK_HAVE_AVX2
        if (V >= 8) { /* 8 lanes: exp(x - max) once, kept in probs and scaled by 1 / sum (elementwise: in place is safe) */
            s = ck__ce_row_avx2(p, x, V, &mx);
            if (p) ck__scale_avx2(p, (float)(1.0 / s), V);
            p = NULL;
        } else
#elif CK_HAVE_NEON
        if (V >= 4) { /* 4 lanes, as the AVX2 branch */
            s = ck__ce_row_neon(p, x, V, &mx);
            if (p) ck__scale_neon(p, (float)(1.0 / s), V);
            p = NULL;
        } else
#endif
        {
            for (c = 0; c < V; c++) mx = x[c] > mx ? x[c] : mx;
            for (c = 0; c < V; c++) s += expf(x[c] - mx);
        }
        /* keep (x - max) and log(sum) apart: forming lse = max + log(sum) first would round
           it to the precision of max, which is poor for logits of 1e3 and more */
        log_s = (float)log(s);
        if (targets[t] == ignore_index) {
            if (losses) losses[t] = 0.0f;
        } else {
            float l = (float)((double)(mx - xt) + log(s));
            if (losses) losses[t] = l;
            total += l;
        }
        if (p)
            for (c = 0; c < V; c++) p[c] = expf((x[c] - mx) - log_s);
    }
    return count ? (float)(total / count) : 0.0f;
}

CK_DEF void ck_cross_entropy_backward(float *dlogits, const float *probs, const int32_t *targets, int T, int V, int ignore_index, float dloss)
{
    int t, c, count = 0, in_place = dlogits == probs;
    float g;
    for (t = 0; t < T; t++) count += targets[t] != ignore_index;
    if (!count && in_place) memset(dlogits, 0, (size_t)T * (size_t)V * sizeof(float));
    if (!count) return;
    g = dloss / (float)count;
    CK_OMP(omp parallel for schedule(static) if ((double)T * V > CK_OMP_MIN_WORK))
    for (t = 0; t < T; t++) {
        const float *p = probs + (size_t)t * V;
        float *d = dlogits + (size_t)t * V;
        if (targets[t] == ignore_index) {
            if (in_place) memset(d, 0, (size_t)V * sizeof(float));
            continue;
        }
        /* in place: 0 + g * p, what accumulating into zeros gives (a -0 product becomes +0) */
        if (in_place) for (c = 0; c < V; c++) d[c] = 0.0f + g * p[c];
        else for (c = 0; c < V; c++) d[c] += g * p[c];
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
    int t, c;
    for (t = 0; t < T; t++) {
        float *o = out + (size_t)t * C;
        float blk[CK_QK_K]; /* a repacked table's (tied to the output matmul) blocks, read out of their group (any type's 256 values fit) */
        for (c = 0; c < C; c += CK_QK_K) { /* 256 values at a time: whole blocks of every type */
            const int cs = CK_MIN(CK_QK_K, C - c);
            ck_dequantize_row(ck_repack_base(type), ck__wrow_blocks(type, wte, C, tokens[t], c, cs, blk), o + c, cs);
        }
        if (wpe)
            for (c = 0; c < C; c++) o[c] += wpe[(size_t)(pos0 + t) * C + c];
    }
}
CK_DEF void ck_copy_rows(float *dst, size_t ld_dst, const float *src, size_t ld_src, int rows, int cols)
{
    int r;
    for (r = 0; r < rows; r++) memmove(dst + (size_t)r * ld_dst, src + (size_t)r * ld_src, (size_t)cols * sizeof(float));
}
CK_DEF void ck_copy_rows_f16(uint16_t *dst, size_t ld_dst, const float *src, size_t ld_src, int rows, int cols)
{
    int r, c;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) dst[(size_t)r * ld_dst + c] = ck_fp32_to_fp16(src[(size_t)r * ld_src + c]);
}
/* this thread's share of ck_add_forward's chunks of 256 values (AVX2: 8 lanes, the same sums) */
static void ck__add_chunks(float *out, const float *a, const float *b, size_t n)
{
    int c0, c1;
    size_t i, e;
    ck__thread_rows((int)((n + 255) / 256), &c0, &c1);
    i = (size_t)c0 * 256;
    e = CK_MIN(n, (size_t)c1 * 256);
#if CK_HAVE_AVX2
    for (; i + 8 <= e; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
#endif
    for (; i < e; i++) out[i] = a[i] + b[i];
}
CK_DEF void ck_add_forward(float *out, const float *a, const float *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i += (size_t)1 << 30) /* (chunks counted in an int) */
        CK__PAR_CALL(n - i > CK_OMP_MIN_WORK, ck__add_chunks(out + i, a + i, b + i, CK_MIN(n - i, (size_t)1 << 30)));
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
    CK_ASSERT(n_rot >= 0 && n_rot % 2 == 0 && n_rot <= HS && pos0 >= 0 && "rope: n_rot must be even and <= HS");
    ck__rope(x, cos_sin, NH, T, n_rot, pos0, neox, 1.0f, (size_t)HS, ld);
}
CK_DEF void ck_rope_backward_tm(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, size_t ld)
{
    CK_ASSERT(n_rot >= 0 && n_rot % 2 == 0 && n_rot <= HS && pos0 >= 0 && "rope: n_rot must be even and <= HS");
    ck__rope(dx, cos_sin, NH, T, n_rot, pos0, neox, -1.0f, (size_t)HS, ld);
}
CK_DEF void ck_attention_forward_tm(float *out, float *lse, const float *q, const float *k, const float *v,
                                    int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                    size_t ldq, size_t ldkv, size_t ldo)
{
    ck__attn_layout L;
    L.qh = (size_t)HS; L.qt = ldq; L.kh = (size_t)HS; L.kt = ldkv; L.oh = (size_t)HS; L.ot = ldo;
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, CK__ATTN_SIMD);
}
CK_DEF void ck_attention_backward_tm(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                     const float *q, const float *k, const float *v,
                                     int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                     size_t ldq, size_t ldkv, size_t ldo)
{
    ck__attn_layout L;
    L.qh = (size_t)HS; L.qt = ldq; L.kh = (size_t)HS; L.kt = ldkv; L.oh = (size_t)HS; L.ot = ldo;
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, CK__ATTN_SIMD);
}

CK_DEF void ck_attention_forward_tm_f16kv(float *out, float *lse, const float *q, const uint16_t *k, const uint16_t *v,
                                          int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, float softcap,
                                          size_t ldq, size_t ldkv, size_t ldo)
{
    ck__attn_layout L;
    L.qh = (size_t)HS; L.qt = ldq; L.kh = (size_t)HS; L.kt = ldkv; L.oh = (size_t)HS; L.ot = ldo;
    ck__attention_forward_kv(out, lse, q, k, v, 1, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, &L, CK__ATTN_SIMD);
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

/* {arch}.<suffix> of g into key; 0 if g has no general.architecture */
static int ck__arch_key(char *key, size_t cap, const ck_gguf *g, const char *suffix)
{
    const char *arch;
    uint64_t n;
    if (!ck_gguf_get_str(g, "general.architecture", &arch, &n) || n > 100) return 0;
    ck__fmt(key, cap, "%.*s.%s", (int)n, arch, suffix);
    return 1;
}

CK_DEF int ck_rope_params_from_gguf(ck_rope_params *p, const char **factors_name, const ck_gguf *g, int n_rot, int n_ctx,
                                    char *err, size_t errlen)
{
    static const char *const tensors[] = { "rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight" };
    char key[160];
    const char *s;
    uint64_t n;
    double base = 10000.0, factor = 0.0, attn_factor = 1.0, v;
    int64_t n_ctx_train = 0, n_ctx_orig = 0;
    int scaling = CK_ROPE_SCALING_LINEAR, which = -1;
    const ck_gguf_tensor *t = NULL;
    if (factors_name) *factors_name = NULL;
    if (!ck__arch_key(key, sizeof key, g, "context_length")) { ck__fmt(err, errlen, "the file has no general.architecture"); return -1; }
    ck_gguf_get_int(g, key, &n_ctx_train);
    ck__arch_key(key, sizeof key, g, "rope.freq_base");
    if (ck_gguf_get_float(g, key, &v)) base = v;
    ck__arch_key(key, sizeof key, g, "rope.scaling.type");
    if (ck_gguf_get_str(g, key, &s, &n) && (scaling = ck_rope_scaling_from_name(s, (size_t)n)) < 0) {
        ck__fmt(err, errlen, "%s = '%.*s' is not a rope scaling llama.cpp knows (none, linear, yarn, longrope)", key, (int)CK_MIN(n, 64), s);
        return -1;
    }
    ck__arch_key(key, sizeof key, g, "rope.scale_linear");            /* the older key */
    if (ck_gguf_get_float(g, key, &v)) factor = v;
    ck__arch_key(key, sizeof key, g, "rope.scaling.factor");
    if (ck_gguf_get_float(g, key, &v)) factor = v;
    ck__arch_key(key, sizeof key, g, "rope.scaling.attn_factor");
    if (ck_gguf_get_float(g, key, &v)) attn_factor = v;
    ck__arch_key(key, sizeof key, g, "rope.scaling.original_context_length");
    if (!ck_gguf_get_int(g, key, &n_ctx_orig)) n_ctx_orig = n_ctx_train;
    if (n_ctx <= 0) n_ctx = (int)n_ctx_train;
    /* llama.cpp's build_rope_factors: rope_freqs if the model has it, else LongRoPE's long factors
       when the context (per sequence) exceeds the original one, else the short ones */
    if (ck_gguf_find_tensor(g, tensors[0])) which = 0;
    else if (n_ctx > n_ctx_orig && ck_gguf_find_tensor(g, tensors[1])) which = 1;
    else if (n_ctx <= n_ctx_orig && ck_gguf_find_tensor(g, tensors[2])) which = 2;
    if (which >= 0) {
        t = ck_gguf_find_tensor(g, tensors[which]);
        if (t->type != CK_F32 || t->n_elements != (uint64_t)(n_rot / 2)) {
            ck__fmt(err, errlen, "tensor %s is %s with %llu values; rope needs f32 with n_rot/2 = %d", tensors[which],
                    ck_type_name((int)t->type), (unsigned long long)t->n_elements, n_rot / 2);
            return -1;
        }
        if (factors_name) *factors_name = tensors[which];
    }
    ck_rope_params_init(p, scaling, (float)base, (float)factor, (int)n_ctx_orig, (float)attn_factor,
                        t ? (const float *)t->data : NULL);
    return 0;
}

/* ---- LoRA adapters: checking one against a model, applying it ------------------------------ */
CK_DEF float ck_lora_scale(float alpha, int rank, float user_scale)
{
    return alpha != 0.0f ? user_scale * alpha / (float)rank : user_scale; /* llama.cpp's get_scale */
}

static int ck__name_ends(const char *s, uint64_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

CK_DEF int ck_lora_read(const ck_gguf *g, const char *arch, const ck_weight_info *w, const unsigned char *is_matmul, int n_w,
                        ck_lora_pair *pairs, int cap, float *alpha, char *err, size_t errlen)
{
    static const char *const keys[3][2] = { { "general.type", "adapter" }, { "adapter.type", "lora" }, { "general.architecture", NULL } };
    const char *s;
    uint64_t n, i;
    int64_t ki;
    double v;
    int k, np = 0;
    for (k = 0; k < 3; k++) { /* the keys llama.cpp checks, in its order */
        const char *key = keys[k][0], *want = k == 2 ? arch : keys[k][1];
        if (k == 2 && !arch) break;
        ki = ck_gguf_find_kv(g, key);
        if (ki < 0) { ck__fmt(err, errlen, "key %s is missing: not a LoRA adapter (an adapter has %s = \"%s\")", key, key, want); return -1; }
        if (g->kv[ki].type != CK_GGUF_STR) { ck__fmt(err, errlen, "key %s is %s, not a string", key, ck_gguf_vtype_name(g->kv[ki].type)); return -1; }
        ck_gguf_get_str(g, key, &s, &n);
        if (n != strlen(want) || memcmp(s, want, (size_t)n)) {
            ck__fmt(err, errlen, "key %s is \"%.*s\", not \"%s\"%s", key, (int)CK_MIN(n, 64), s, want,
                    k == 2 ? ": an adapter for another architecture than the model's" : ": not a LoRA adapter");
            return -1;
        }
    }
    ki = ck_gguf_find_kv(g, "adapter.lora.alpha");
    if (ki < 0) { ck__fmt(err, errlen, "key adapter.lora.alpha is missing (f32; llama.cpp's scale is alpha / rank)"); return -1; }
    if (g->kv[ki].type != CK_GGUF_F32) { ck__fmt(err, errlen, "key adapter.lora.alpha is %s, not f32", ck_gguf_vtype_name(g->kv[ki].type)); return -1; }
    ck_gguf_get_float(g, "adapter.lora.alpha", &v);
    if (!(v - v == 0.0)) { ck__fmt(err, errlen, "key adapter.lora.alpha is %g, not a finite number", v); return -1; }
    *alpha = (float)v;
    for (i = 0; i < g->n_tensors; i++) {
        const ck_gguf_tensor *t = &g->tensors[i], *other, *ab[2];
        char name[300];
        int is_a = ck__name_ends(t->name, t->name_len, ".lora_a"), j;
        uint64_t bl = t->name_len - 7; /* the base weight's name: without ".lora_a" / ".lora_b" */
        int64_t rank;
        if (ck__name_ends(t->name, t->name_len, "_norm.weight")) continue; /* llama.cpp skips them too */
        if (!is_a && !ck__name_ends(t->name, t->name_len, ".lora_b")) {
            ck__fmt(err, errlen, "tensor %.*s: not a LoRA tensor (names end in .lora_a or .lora_b)", (int)CK_MIN(t->name_len, 200), t->name);
            return -1;
        }
        if (bl == 0 || bl + 8 > sizeof name) { ck__fmt(err, errlen, "tensor %.*s: no base weight name, or one too long", (int)CK_MIN(t->name_len, 200), t->name); return -1; }
        memcpy(name, t->name, (size_t)bl);
        memcpy(name + bl, is_a ? ".lora_b" : ".lora_a", 8);
        if (!(other = ck_gguf_find_tensor(g, name))) {
            ck__fmt(err, errlen, "tensor %.*s has no %s: each adapted weight needs both .lora_a and .lora_b", (int)t->name_len, t->name, name);
            return -1;
        }
        if (!is_a) continue; /* the pair is checked from its lora_a */
        ab[0] = t; ab[1] = other;
        for (j = 0; j < 2; j++) {
            if (ab[j]->n_dims != 2) {
                ck__fmt(err, errlen, "tensor %.*s has %u dimensions; a LoRA matrix has 2", (int)ab[j]->name_len, ab[j]->name, ab[j]->n_dims);
                return -1;
            }
            if (ab[j]->type != CK_F32 && ab[j]->type != CK_F16 && ab[j]->type != CK_BF16) {
                ck__fmt(err, errlen, "tensor %.*s is %s; LoRA matrices are read as f32, f16 or bf16", (int)ab[j]->name_len, ab[j]->name,
                        ck_type_name((int)ab[j]->type) ? ck_type_name((int)ab[j]->type) : "of an unknown type");
                return -1;
            }
        }
        rank = t->ne[1];
        if (other->ne[0] != rank) {
            ck__fmt(err, errlen, "tensor %.*s.lora_a has rank %lld (ne[1]) but %.*s.lora_b has rank %lld (ne[0])", (int)bl, name, (long long)rank,
                    (int)bl, name, (long long)other->ne[0]);
            return -1;
        }
        if (rank < 1 || rank > 65536) { ck__fmt(err, errlen, "tensor %.*s.lora_a: rank %lld is not in 1..65536", (int)bl, name, (long long)rank); return -1; }
        if (bl == 17 && !memcmp(name, "token_embd.weight", 17)) {
            ck__fmt(err, errlen, "tensor token_embd.weight.lora_a: adapters of the token embedding are not supported (only matmul weights)");
            return -1;
        }
        if (np >= cap) { ck__fmt(err, errlen, "more LoRA pairs than the %d the caller made room for", cap); return -1; }
        pairs[np].base = t->name; pairs[np].base_len = bl;
        pairs[np].a = t; pairs[np].b = other;
        pairs[np].rank = (int)rank;
        pairs[np].w_index = -1;
        if (w) {
            for (j = 0; j < n_w; j++)
                if (strlen(w[j].name) == bl && !memcmp(w[j].name, name, (size_t)bl)) break;
            if (j == n_w) {
                ck__fmt(err, errlen, "tensor %.*s.lora_a: the model has no weight %.*s (an adapter for another model?)", (int)bl, name, (int)bl, name);
                return -1;
            }
            if (is_matmul && !is_matmul[j]) {
                ck__fmt(err, errlen, "tensor %.*s.lora_a: %s is not a weight a matmul of this model reads (LoRA adapts matmul weights)", (int)bl,
                        name, w[j].name);
                return -1;
            }
            if (t->ne[0] != w[j].ne0 || other->ne[1] != w[j].ne1) {
                ck__fmt(err, errlen, "tensor %.*s.lora_a/.lora_b: the adapter's update is [in %lld, out %lld] (lora_a ne[0], lora_b ne[1]), "
                        "the model's %s is [%lld, %lld]", (int)bl, name, (long long)t->ne[0], (long long)other->ne[1], w[j].name,
                        (long long)w[j].ne0, (long long)w[j].ne1);
                return -1;
            }
            pairs[np].w_index = j;
        }
        np++;
    }
    return np;
}

#ifndef CK_NO_LORA
CK_DEF void ck_lora_apply(const ck_lora *lo, float *out, const float *inp, uint64_t w_off, int T, int C, int OC)
{
    int lo_i = 0, hi = lo->n_w, t;
    const ck_lora_weight *e;
    while (lo_i < hi) { /* binary search over the sorted offsets */
        int mid = lo_i + (hi - lo_i) / 2;
        if (lo->w[mid].w_off < w_off) lo_i = mid + 1;
        else hi = mid;
    }
    if (lo_i == lo->n_w || lo->w[lo_i].w_off != w_off) return; /* not adapted */
    e = &lo->w[lo_i];
    CK_ASSERT(e->n_in == C && e->n_out == OC);
    for (t = 0; t < T; t += lo->scratch_rows)
        ck_lora_forward(out + (size_t)t * OC, lo->scratch, inp + (size_t)t * C, e->a, e->bt, e->scale, CK_MIN(lo->scratch_rows, T - t), C, OC,
                        e->rank);
}
#endif

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
    if (m->owned_weights) munmap(m->owned_weights, m->owned_weights_size);
#endif
    m->owned_weights = NULL;
    CK_FREE(m->owned_state);
    m->bump_map = NULL;
    m->owned_state = NULL;
    m->weights = NULL;
    m->state = NULL;
}

CK_DEF int ck_model_repack(ck_model *m, const ck_weight_info *w, const int *ids, int n)
{
    int i, any = 0;
    for (i = 0; i < n; i++) any |= ck_repack_type(w[ids[i]].type) != w[ids[i]].type;
    if (!any) return 0;
#if (defined(__unix__) || defined(__APPLE__)) && (defined(MAP_ANONYMOUS) || defined(MAP_ANON)) && defined(MADV_DONTNEED)
#ifdef MAP_ANONYMOUS
#define CK__MAP_ANON MAP_ANONYMOUS
#else
#define CK__MAP_ANON MAP_ANON
#endif
    if ((m->bump_map || m->gguf.file) && !m->owned_weights) { /* mapped read-only: into anonymous memory, 2 MB aligned */
        const size_t huge = (size_t)2 << 20, n = (size_t)m->weights_bytes, slice = huge;
        const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        size_t off;
        uint8_t *base = (uint8_t *)mmap(NULL, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | CK__MAP_ANON, -1, 0), *buf;
        if (base == (uint8_t *)MAP_FAILED) {
            ck__fmt(m->error, sizeof m->error, "repacking the weights: no memory for %llu bytes: %s", (unsigned long long)n, strerror(errno));
            return -1;
        }
        buf = base + ((huge - (uintptr_t)base % huge) % huge);
#ifdef MADV_HUGEPAGE
        madvise(buf, n, MADV_HUGEPAGE); /* a hint: without it (or where refused) 4 KB pages */
#endif
        for (off = 0; off < n; off += slice) {
            const size_t len = CK_MIN(slice, n - off);
            const uintptr_t lo = ((uintptr_t)m->weights + off + pg - 1) / pg * pg, hi = ((uintptr_t)m->weights + off + len) / pg * pg;
            memcpy(buf + off, m->weights + off, len);
            if (hi > lo) madvise((void *)lo, (size_t)(hi - lo), MADV_DONTNEED); /* the file's pages of the slice leave this process */
        }
        m->owned_weights = base;
        m->owned_weights_size = n + huge;
        m->weights = buf;
    }
#undef CK__MAP_ANON
#elif defined(__unix__) || defined(__APPLE__)
    if (m->bump_map || m->gguf.file) { /* (no anonymous mappings declared: built strictly POSIX) the private mapping made
                                          writable: rewritten pages become the process's own copies, the file is never written */
        const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        const uintptr_t lo = (uintptr_t)m->weights / pg * pg, hi = (uintptr_t)m->weights + (uintptr_t)m->weights_bytes;
        if (mprotect((void *)lo, (size_t)(hi - lo), PROT_READ | PROT_WRITE) != 0) {
            ck__fmt(m->error, sizeof m->error, "repacking the weights: cannot make them writable: %s", strerror(errno));
            return -1;
        }
    }
#endif
    for (i = 0; i < n; i++) {
        const ck_weight_info *x = &w[ids[i]];
        const int to = ck_repack_type(x->type);
        if (to == x->type) continue;
        if (ck_repack_rows(to, (uint8_t *)(uintptr_t)m->weights + x->off, x->ne1, x->ne0) != 0) {
            ck__fmt(m->error, sizeof m->error, "repacking %s (%lld x %lld) failed: out of memory, or not a multiple of 16 rows", x->name,
                    (long long)x->ne1, (long long)x->ne0);
            return -1;
        }
    }
    m->repacked = 1;
    return 0;
}

/* a LoRA matrix's row r (n values, f32/f16/bf16) as f32; 0, or -1 at a value that is not finite */
static int ck__lora_row(const ck_gguf_tensor *t, int64_t r, float *dst, int64_t n, int64_t *bad)
{
    int64_t i;
    ck_dequantize_row((int)t->type, (const uint8_t *)t->data + (size_t)r * ck_row_size((int)t->type, n), dst, n);
    for (i = 0; i < n; i++)
        if (!(dst[i] - dst[i] == 0.0f)) { *bad = i; return -1; }
    return 0;
}

CK_DEF int ck_lora_open(ck_lora *lo, const char *path, const char *arch, const ck_weight_info *w, const unsigned char *is_matmul, int n,
                        float scale, int max_rows)
{
    ck_gguf g;
    ck_lora_pair *pairs;
    char err[256];
    int np, i, max_rank = 1;
    size_t floats = 0, head, bytes;
    float alpha = 0.0f, *f;
    uint8_t *mem = NULL;
    memset(lo, 0, sizeof *lo);
    if (!(scale - scale == 0.0f)) { ck__fmt(lo->error, sizeof lo->error, "%s: the LoRA scale %g is not finite", path, (double)scale); return -1; }
    if (ck_gguf_open(&g, path) != 0) { ck__fmt(lo->error, sizeof lo->error, "%s", g.error); return -1; }
    pairs = (ck_lora_pair *)CK_MALLOC((size_t)(g.n_tensors ? g.n_tensors : 1) * sizeof *pairs);
    np = !pairs ? -2 : ck_lora_read(&g, arch, w, is_matmul, n, pairs, (int)g.n_tensors, &alpha, err, sizeof err);
    if (np < 0) {
        ck__fmt(lo->error, sizeof lo->error, "%s: %s", path, np == -2 ? "out of memory" : err);
        CK_FREE(pairs);
        ck_gguf_close(&g);
        return -1;
    }
    for (i = 0; i < np; i++) {
        floats += (size_t)pairs[i].rank * (size_t)(pairs[i].a->ne[0] + pairs[i].b->ne[1]);
        max_rank = CK_MAX(max_rank, pairs[i].rank);
    }
    lo->scratch_rows = CK_MAX(1, CK_MIN(max_rows, (1 << 22) / max_rank)); /* at most 16 MB of scratch: longer prompts go in chunks */
    head = ((size_t)np * sizeof(ck_lora_weight) + 63) & ~(size_t)63;
    bytes = head + (floats + (size_t)lo->scratch_rows * (size_t)max_rank) * sizeof(float);
    if (!(mem = (uint8_t *)CK_MALLOC(bytes))) {
        ck__fmt(lo->error, sizeof lo->error, "%s: out of memory for %llu bytes of LoRA matrices", path, (unsigned long long)bytes);
        CK_FREE(pairs);
        ck_gguf_close(&g);
        return -1;
    }
    lo->w = (ck_lora_weight *)(void *)mem;
    f = (float *)(void *)(mem + head);
    lo->scratch = f + floats;
    err[0] = 0;
    for (i = 0; i < np && !err[0]; i++) {
        const ck_lora_pair *p = &pairs[i];
        ck_lora_weight *e = &lo->w[i];
        int64_t r, o, bad = 0, n_in = p->a->ne[0], n_out = p->b->ne[1];
        float *a = f, *bt = f + (size_t)p->rank * (size_t)n_in;
        f = bt + (size_t)p->rank * (size_t)n_out;
        e->w_off = w ? w[p->w_index].off : 0;
        e->rank = p->rank; e->n_in = n_in; e->n_out = n_out;
        e->scale = ck_lora_scale(alpha, p->rank, scale);
        e->a = a; e->bt = bt;
        for (r = 0; r < p->rank && !err[0]; r++)
            if (ck__lora_row(p->a, r, a + (size_t)r * (size_t)n_in, n_in, &bad))
                ck__fmt(err, sizeof err, "tensor %.*s.lora_a holds NaN or Inf (row %lld, column %lld)", (int)p->base_len, p->base, (long long)r,
                        (long long)bad);
        for (o = 0; o < n_out && !err[0]; o++) { /* B [out, rank] row o -> column o of B^T, through the scratch */
            if (ck__lora_row(p->b, o, lo->scratch, p->rank, &bad))
                ck__fmt(err, sizeof err, "tensor %.*s.lora_b holds NaN or Inf (row %lld, column %lld)", (int)p->base_len, p->base, (long long)o,
                        (long long)bad);
            for (r = 0; r < p->rank; r++) bt[(size_t)r * (size_t)n_out + (size_t)o] = lo->scratch[r];
        }
    }
    if (err[0]) {
        ck__fmt(lo->error, sizeof lo->error, "%s: %s", path, err);
        CK_FREE(mem); CK_FREE(pairs);
        ck_gguf_close(&g);
        lo->w = NULL;
        lo->scratch = NULL;
        return -1;
    }
    for (i = 1; i < np; i++) { /* insertion sort by offset: ck_lora_apply searches them */
        ck_lora_weight x = lo->w[i];
        int j = i;
        for (; j > 0 && lo->w[j - 1].w_off > x.w_off; j--) lo->w[j] = lo->w[j - 1];
        lo->w[j] = x;
    }
    lo->n_w = np;
    lo->alpha = alpha;
    lo->owned = mem;
    CK_FREE(pairs);
    ck_gguf_close(&g);
    return 0;
}
CK_DEF void ck_lora_close(ck_lora *lo)
{
    CK_FREE(lo->owned);
    memset(lo, 0, sizeof *lo);
}

CK_DEF int ck_lora_add(ck_gguf_builder *b, const char *arch, float alpha, const ck_lora_tensor *t, int n)
{
    char name[320];
    int i, k;
    ck_gguf_add_str(b, "general.architecture", arch);
    ck_gguf_add_str(b, "general.type", "adapter");
    ck_gguf_add_str(b, "adapter.type", "lora");
    ck_gguf_add_f32(b, "adapter.lora.alpha", alpha);
    for (i = 0; i < n && !b->failed; i++) {
        if (strlen(t[i].name) + 8 > sizeof name) return ck__bfail(b, "LoRA base weight name too long:", t[i].name);
        if (t[i].rank < 1 || t[i].n_in < 1 || t[i].n_out < 1 || !t[i].a || !t[i].b) return ck__bfail(b, "LoRA sizes or matrices missing for", t[i].name);
        for (k = 0; k < 2; k++) { /* lora_a ne = [in, rank]: A [rank, in]; lora_b ne = [rank, out]: B [out, rank] */
            int64_t ne[2];
            ne[0] = k ? t[i].rank : t[i].n_in;
            ne[1] = k ? t[i].n_out : t[i].rank;
            ck__fmt(name, sizeof name, "%s%s", t[i].name, k ? ".lora_b" : ".lora_a");
            ck_gguf_add_tensor(b, name, 2, ne, CK_F32, k ? t[i].b : t[i].a);
        }
    }
    return b->failed ? -1 : 0;
}
CK_DEF int ck_lora_write_file(const char *path, const char *arch, float alpha, const ck_lora_tensor *t, int n, char *err, size_t errlen)
{
    ck_gguf_builder b;
    int rc;
    ck_gguf_builder_init(&b);
    rc = ck_lora_add(&b, arch, alpha, t, n) || ck_gguf_write_file(&b, path) ? -1 : 0;
    if (rc) ck__fmt(err, errlen, "%s: %s", path, b.error);
    ck_gguf_builder_free(&b);
    return rc;
}
#endif /* CK_NO_STDIO */

/* ---- sampler ------------------------------------------------------------------------------- */
/* no NaN or +-Inf among x[0..n) */
static int ck__all_finite(const float *x, int n)
{
    int i = 0;
#if CK_HAVE_AVX2
    const __m256i e = _mm256_set1_epi32(0x7f800000);
    __m256i bad = _mm256_setzero_si256();
    for (; i + 8 <= n; i += 8) {
        __m256i b = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)(x + i)), e);
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(b, e)); /* exponent all ones */
    }
    if (!_mm256_testz_si256(bad, bad)) return 0;
#endif
    for (; i < n; i++)
        if (!(x[i] - x[i] == 0.0f)) return 0;
    return 1;
}
CK_DEF int32_t ck_argmax(const float *x, int n)
{
    int i = 1, best = 0;
#if CK_HAVE_AVX2
    if (n >= 16) { /* the largest value (8 lanes; any NaN: the scalar loop decides), then its first index */
        __m256 m = _mm256_loadu_ps(x), nan = _mm256_cmp_ps(m, m, _CMP_UNORD_Q);
        float mv;
        for (i = 8; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            m = _mm256_max_ps(m, v);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        }
        mv = ck__hmax_avx2(m);
        for (; i < n; i++) {
            if (x[i] != x[i]) nan = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
            mv = x[i] > mv ? x[i] : mv;
        }
        if (!_mm256_movemask_ps(nan)) {
            for (i = 0; x[i] != mv; i++) {}
            return i;
        }
        i = 1;
    }
#endif
    for (; i < n; i++)
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
CK_DEF double ck_rand_normal(uint64_t *s)
{
    double u1, u2;
    if (!*s) *s = 0x9E3779B97F4A7C15ull; /* xorshift stays at 0 */
    do { *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27; u1 = (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0; } while (u1 <= 0);
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27; u2 = (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
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
    /* a NaN would make the comparisons below inconsistent and the selection run off the array */
    if (n < 1 || temp != temp || top_p != top_p) return -1;
    if (!ck__all_finite(logits, n)) return -1;
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
CK_DEF void ck_repeat_penalty(float *logits, int n, const int32_t *last, int n_last, float penalty)
{
    int i, j;
    for (i = 0; i < n_last; i++) {
        int32_t id = last[i];
        if (id < 0 || id >= n) continue;
        for (j = 0; j < i; j++) /* once per distinct id: n_last is small (64 by default) */
            if (last[j] == id) break;
        if (j < i) continue;
        logits[id] = logits[id] > 0.0f ? logits[id] / penalty : logits[id] * penalty;
    }
}
CK_DEF void ck_min_p(float *logits, int n, float min_p)
{
    float cut;
    int i;
    if (!(min_p > 0.0f) || n < 1) return;
    cut = logits[ck_argmax(logits, n)] + logf(min_p); /* p_i / p_max = exp(l_i - l_max) */
    for (i = 0; i < n; i++)
        if (logits[i] < cut) logits[i] = -FLT_MAX;
}

/* ---- stop strings -------------------------------------------------------------------------- */
CK_DEF int ck_stop_init(ck_stop *s, const char *const *strs, const size_t *lens, int n, char *held, size_t cap)
{
    int k;
    memset(s, 0, sizeof *s);
    for (k = 0; k < n; k++)
        if (lens[k] == 0 || lens[k] > cap) return -1;
    s->strs = strs; s->lens = lens; s->n = n < 0 ? 0 : n; s->held = held; s->cap = cap;
    return 0;
}
/* held[from..n_held) against the stop strings: index + 1 of one it equals, -1 if it is a proper
   prefix of one (a match still open), 0 if neither */
static int ck__stop_match(const ck_stop *s, size_t from)
{
    size_t len = s->n_held - from;
    int k, open = 0;
    for (k = 0; k < s->n; k++)
        if (len <= s->lens[k] && !memcmp(s->held + from, s->strs[k], len)) {
            if (len == s->lens[k]) return k + 1;
            open = 1;
        }
    return open ? -1 : 0;
}
CK_DEF size_t ck_stop_push(ck_stop *s, const char *bytes, size_t n, char *out)
{
    size_t i, w = 0, from;
    if (s->hit) return 0;
    if (s->n == 0) { memcpy(out, bytes, n); return n; }
    for (i = 0; i < n; i++) {
        /* held is a proper prefix of a stop string here, so shorter than cap */
        s->held[s->n_held++] = bytes[i];
        for (from = 0; from < s->n_held; from++) { /* a stop string ending at this byte: the earliest */
            int k = ck__stop_match(s, from);
            if (k > 0) {
                memcpy(out + w, s->held, from);
                s->hit = k; s->n_held = 0;
                return w + from;
            }
        }
        for (from = 0; from < s->n_held; from++) /* no match can start before the earliest open one */
            if (ck__stop_match(s, from) < 0) break;
        memcpy(out + w, s->held, from);
        w += from;
        memmove(s->held, s->held + from, s->n_held - from);
        s->n_held -= from;
    }
    return w;
}
CK_DEF size_t ck_stop_flush(ck_stop *s, char *out)
{
    size_t n = s->n_held;
    memcpy(out, s->held, n);
    s->n_held = 0;
    return n;
}










/* ===================================================================================== */
/* 15. Tokenizer                                                                         */
/* ===================================================================================== */
/* Unicode tables: generated by oracle/gen_unicode_tables.py from Python's unicodedata (the
   version is in CK__UNICODE_VERSION; `python3 oracle/gen_unicode_tables.py --check ckernel.h`
   verifies this copy). llama.cpp generates its tables the same way, possibly from another
   Unicode version; the reference tokenizations in tests/data/vocab decide. */
/* ---- BEGIN generated unicode tables ---- */
/* generated by oracle/gen_unicode_tables.py from Python 3.11.2 unicodedata, Unicode 14.0.0: do not edit */
#define CK__UNICODE_VERSION "14.0.0"
static const uint8_t ck__uflags_ascii[128] = {
    64, 64, 64, 64, 64, 64, 64, 64, 64, 192, 192, 192, 192, 192, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    160, 4, 4, 4, 8, 4, 4, 4, 4, 4, 4, 8, 4, 4, 4, 4,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 4, 8, 8, 8, 4,
    4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 8, 4,
    8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 8, 4, 8, 64,
};
static const uint32_t ck__uflags[2240] = {
    0x00000040u, 0x000009c0u, 0x00000e40u, 0x000020a0u, 0x00002104u, 0x00002408u, 0x00002504u, 0x00002b08u,
    0x00002c04u, 0x00003002u, 0x00003a04u, 0x00003c08u, 0x00003f04u, 0x00004101u, 0x00005b04u, 0x00005e08u,
    0x00005f04u, 0x00006008u, 0x00006101u, 0x00007b04u, 0x00007c08u, 0x00007d04u, 0x00007e08u, 0x00007f40u,
    0x000085c0u, 0x00008640u, 0x0000a0a0u, 0x0000a104u, 0x0000a208u, 0x0000a704u, 0x0000a808u, 0x0000aa01u,
    0x0000ab04u, 0x0000ac08u, 0x0000ad40u, 0x0000ae08u, 0x0000b202u, 0x0000b408u, 0x0000b501u, 0x0000b604u,
    0x0000b808u, 0x0000b902u, 0x0000ba01u, 0x0000bb04u, 0x0000bc02u, 0x0000bf04u, 0x0000c001u, 0x0000d708u,
    0x0000d801u, 0x0000f708u, 0x0000f801u, 0x0002c208u, 0x0002c601u, 0x0002d208u, 0x0002e001u, 0x0002e508u,
    0x0002ec01u, 0x0002ed08u, 0x0002ee01u, 0x0002ef08u, 0x00030010u, 0x00037001u, 0x00037508u, 0x00037601u,
    0x00037800u, 0x00037a01u, 0x00037e04u, 0x00037f01u, 0x00038000u, 0x00038408u, 0x00038601u, 0x00038704u,
    0x00038801u, 0x00038b00u, 0x00038c01u, 0x00038d00u, 0x00038e01u, 0x0003a200u, 0x0003a301u, 0x0003f608u,
    0x0003f701u, 0x00048208u, 0x00048310u, 0x00048a01u, 0x00053000u, 0x00053101u, 0x00055700u, 0x00055901u,
    0x00055a04u, 0x00056001u, 0x00058904u, 0x00058b00u, 0x00058d08u, 0x00059000u, 0x00059110u, 0x0005be04u,
    0x0005bf10u, 0x0005c004u, 0x0005c110u, 0x0005c304u, 0x0005c410u, 0x0005c604u, 0x0005c710u, 0x0005c800u,
    0x0005d001u, 0x0005eb00u, 0x0005ef01u, 0x0005f304u, 0x0005f500u, 0x00060040u, 0x00060608u, 0x00060904u,
    0x00060b08u, 0x00060c04u, 0x00060e08u, 0x00061010u, 0x00061b04u, 0x00061c40u, 0x00061d04u, 0x00062001u,
    0x00064b10u, 0x00066002u, 0x00066a04u, 0x00066e01u, 0x00067010u, 0x00067101u, 0x0006d404u, 0x0006d501u,
    0x0006d610u, 0x0006dd40u, 0x0006de08u, 0x0006df10u, 0x0006e501u, 0x0006e710u, 0x0006e908u, 0x0006ea10u,
    0x0006ee01u, 0x0006f002u, 0x0006fa01u, 0x0006fd08u, 0x0006ff01u, 0x00070004u, 0x00070e00u, 0x00070f40u,
    0x00071001u, 0x00071110u, 0x00071201u, 0x00073010u, 0x00074b00u, 0x00074d01u, 0x0007a610u, 0x0007b101u,
    0x0007b200u, 0x0007c002u, 0x0007ca01u, 0x0007eb10u, 0x0007f401u, 0x0007f608u, 0x0007f704u, 0x0007fa01u,
    0x0007fb00u, 0x0007fd10u, 0x0007fe08u, 0x00080001u, 0x00081610u, 0x00081a01u, 0x00081b10u, 0x00082401u,
    0x00082510u, 0x00082801u, 0x00082910u, 0x00082e00u, 0x00083004u, 0x00083f00u, 0x00084001u, 0x00085910u,
    0x00085c00u, 0x00085e04u, 0x00085f00u, 0x00086001u, 0x00086b00u, 0x00087001u, 0x00088808u, 0x00088901u,
    0x00088f00u, 0x00089040u, 0x00089200u, 0x00089810u, 0x0008a001u, 0x0008ca10u, 0x0008e240u, 0x0008e310u,
    0x00090401u, 0x00093a10u, 0x00093d01u, 0x00093e10u, 0x00095001u, 0x00095110u, 0x00095801u, 0x00096210u,
    0x00096404u, 0x00096602u, 0x00097004u, 0x00097101u, 0x00098110u, 0x00098400u, 0x00098501u, 0x00098d00u,
    0x00098f01u, 0x00099100u, 0x00099301u, 0x0009a900u, 0x0009aa01u, 0x0009b100u, 0x0009b201u, 0x0009b300u,
    0x0009b601u, 0x0009ba00u, 0x0009bc10u, 0x0009bd01u, 0x0009be10u, 0x0009c500u, 0x0009c710u, 0x0009c900u,
    0x0009cb10u, 0x0009ce01u, 0x0009cf00u, 0x0009d710u, 0x0009d800u, 0x0009dc01u, 0x0009de00u, 0x0009df01u,
    0x0009e210u, 0x0009e400u, 0x0009e602u, 0x0009f001u, 0x0009f208u, 0x0009f402u, 0x0009fa08u, 0x0009fc01u,
    0x0009fd04u, 0x0009fe10u, 0x0009ff00u, 0x000a0110u, 0x000a0400u, 0x000a0501u, 0x000a0b00u, 0x000a0f01u,
    0x000a1100u, 0x000a1301u, 0x000a2900u, 0x000a2a01u, 0x000a3100u, 0x000a3201u, 0x000a3400u, 0x000a3501u,
    0x000a3700u, 0x000a3801u, 0x000a3a00u, 0x000a3c10u, 0x000a3d00u, 0x000a3e10u, 0x000a4300u, 0x000a4710u,
    0x000a4900u, 0x000a4b10u, 0x000a4e00u, 0x000a5110u, 0x000a5200u, 0x000a5901u, 0x000a5d00u, 0x000a5e01u,
    0x000a5f00u, 0x000a6602u, 0x000a7010u, 0x000a7201u, 0x000a7510u, 0x000a7604u, 0x000a7700u, 0x000a8110u,
    0x000a8400u, 0x000a8501u, 0x000a8e00u, 0x000a8f01u, 0x000a9200u, 0x000a9301u, 0x000aa900u, 0x000aaa01u,
    0x000ab100u, 0x000ab201u, 0x000ab400u, 0x000ab501u, 0x000aba00u, 0x000abc10u, 0x000abd01u, 0x000abe10u,
    0x000ac600u, 0x000ac710u, 0x000aca00u, 0x000acb10u, 0x000ace00u, 0x000ad001u, 0x000ad100u, 0x000ae001u,
    0x000ae210u, 0x000ae400u, 0x000ae602u, 0x000af004u, 0x000af108u, 0x000af200u, 0x000af901u, 0x000afa10u,
    0x000b0000u, 0x000b0110u, 0x000b0400u, 0x000b0501u, 0x000b0d00u, 0x000b0f01u, 0x000b1100u, 0x000b1301u,
    0x000b2900u, 0x000b2a01u, 0x000b3100u, 0x000b3201u, 0x000b3400u, 0x000b3501u, 0x000b3a00u, 0x000b3c10u,
    0x000b3d01u, 0x000b3e10u, 0x000b4500u, 0x000b4710u, 0x000b4900u, 0x000b4b10u, 0x000b4e00u, 0x000b5510u,
    0x000b5800u, 0x000b5c01u, 0x000b5e00u, 0x000b5f01u, 0x000b6210u, 0x000b6400u, 0x000b6602u, 0x000b7008u,
    0x000b7101u, 0x000b7202u, 0x000b7800u, 0x000b8210u, 0x000b8301u, 0x000b8400u, 0x000b8501u, 0x000b8b00u,
    0x000b8e01u, 0x000b9100u, 0x000b9201u, 0x000b9600u, 0x000b9901u, 0x000b9b00u, 0x000b9c01u, 0x000b9d00u,
    0x000b9e01u, 0x000ba000u, 0x000ba301u, 0x000ba500u, 0x000ba801u, 0x000bab00u, 0x000bae01u, 0x000bba00u,
    0x000bbe10u, 0x000bc300u, 0x000bc610u, 0x000bc900u, 0x000bca10u, 0x000bce00u, 0x000bd001u, 0x000bd100u,
    0x000bd710u, 0x000bd800u, 0x000be602u, 0x000bf308u, 0x000bfb00u, 0x000c0010u, 0x000c0501u, 0x000c0d00u,
    0x000c0e01u, 0x000c1100u, 0x000c1201u, 0x000c2900u, 0x000c2a01u, 0x000c3a00u, 0x000c3c10u, 0x000c3d01u,
    0x000c3e10u, 0x000c4500u, 0x000c4610u, 0x000c4900u, 0x000c4a10u, 0x000c4e00u, 0x000c5510u, 0x000c5700u,
    0x000c5801u, 0x000c5b00u, 0x000c5d01u, 0x000c5e00u, 0x000c6001u, 0x000c6210u, 0x000c6400u, 0x000c6602u,
    0x000c7000u, 0x000c7704u, 0x000c7802u, 0x000c7f08u, 0x000c8001u, 0x000c8110u, 0x000c8404u, 0x000c8501u,
    0x000c8d00u, 0x000c8e01u, 0x000c9100u, 0x000c9201u, 0x000ca900u, 0x000caa01u, 0x000cb400u, 0x000cb501u,
    0x000cba00u, 0x000cbc10u, 0x000cbd01u, 0x000cbe10u, 0x000cc500u, 0x000cc610u, 0x000cc900u, 0x000cca10u,
    0x000cce00u, 0x000cd510u, 0x000cd700u, 0x000cdd01u, 0x000cdf00u, 0x000ce001u, 0x000ce210u, 0x000ce400u,
    0x000ce602u, 0x000cf000u, 0x000cf101u, 0x000cf300u, 0x000d0010u, 0x000d0401u, 0x000d0d00u, 0x000d0e01u,
    0x000d1100u, 0x000d1201u, 0x000d3b10u, 0x000d3d01u, 0x000d3e10u, 0x000d4500u, 0x000d4610u, 0x000d4900u,
    0x000d4a10u, 0x000d4e01u, 0x000d4f08u, 0x000d5000u, 0x000d5401u, 0x000d5710u, 0x000d5802u, 0x000d5f01u,
    0x000d6210u, 0x000d6400u, 0x000d6602u, 0x000d7908u, 0x000d7a01u, 0x000d8000u, 0x000d8110u, 0x000d8400u,
    0x000d8501u, 0x000d9700u, 0x000d9a01u, 0x000db200u, 0x000db301u, 0x000dbc00u, 0x000dbd01u, 0x000dbe00u,
    0x000dc001u, 0x000dc700u, 0x000dca10u, 0x000dcb00u, 0x000dcf10u, 0x000dd500u, 0x000dd610u, 0x000dd700u,
    0x000dd810u, 0x000de000u, 0x000de602u, 0x000df000u, 0x000df210u, 0x000df404u, 0x000df500u, 0x000e0101u,
    0x000e3110u, 0x000e3201u, 0x000e3410u, 0x000e3b00u, 0x000e3f08u, 0x000e4001u, 0x000e4710u, 0x000e4f04u,
    0x000e5002u, 0x000e5a04u, 0x000e5c00u, 0x000e8101u, 0x000e8300u, 0x000e8401u, 0x000e8500u, 0x000e8601u,
    0x000e8b00u, 0x000e8c01u, 0x000ea400u, 0x000ea501u, 0x000ea600u, 0x000ea701u, 0x000eb110u, 0x000eb201u,
    0x000eb410u, 0x000ebd01u, 0x000ebe00u, 0x000ec001u, 0x000ec500u, 0x000ec601u, 0x000ec700u, 0x000ec810u,
    0x000ece00u, 0x000ed002u, 0x000eda00u, 0x000edc01u, 0x000ee000u, 0x000f0001u, 0x000f0108u, 0x000f0404u,
    0x000f1308u, 0x000f1404u, 0x000f1508u, 0x000f1810u, 0x000f1a08u, 0x000f2002u, 0x000f3408u, 0x000f3510u,
    0x000f3608u, 0x000f3710u, 0x000f3808u, 0x000f3910u, 0x000f3a04u, 0x000f3e10u, 0x000f4001u, 0x000f4800u,
    0x000f4901u, 0x000f6d00u, 0x000f7110u, 0x000f8504u, 0x000f8610u, 0x000f8801u, 0x000f8d10u, 0x000f9800u,
    0x000f9910u, 0x000fbd00u, 0x000fbe08u, 0x000fc610u, 0x000fc708u, 0x000fcd00u, 0x000fce08u, 0x000fd004u,
    0x000fd508u, 0x000fd904u, 0x000fdb00u, 0x00100001u, 0x00102b10u, 0x00103f01u, 0x00104002u, 0x00104a04u,
    0x00105001u, 0x00105610u, 0x00105a01u, 0x00105e10u, 0x00106101u, 0x00106210u, 0x00106501u, 0x00106710u,
    0x00106e01u, 0x00107110u, 0x00107501u, 0x00108210u, 0x00108e01u, 0x00108f10u, 0x00109002u, 0x00109a10u,
    0x00109e08u, 0x0010a001u, 0x0010c600u, 0x0010c701u, 0x0010c800u, 0x0010cd01u, 0x0010ce00u, 0x0010d001u,
    0x0010fb04u, 0x0010fc01u, 0x00124900u, 0x00124a01u, 0x00124e00u, 0x00125001u, 0x00125700u, 0x00125801u,
    0x00125900u, 0x00125a01u, 0x00125e00u, 0x00126001u, 0x00128900u, 0x00128a01u, 0x00128e00u, 0x00129001u,
    0x0012b100u, 0x0012b201u, 0x0012b600u, 0x0012b801u, 0x0012bf00u, 0x0012c001u, 0x0012c100u, 0x0012c201u,
    0x0012c600u, 0x0012c801u, 0x0012d700u, 0x0012d801u, 0x00131100u, 0x00131201u, 0x00131600u, 0x00131801u,
    0x00135b00u, 0x00135d10u, 0x00136004u, 0x00136902u, 0x00137d00u, 0x00138001u, 0x00139008u, 0x00139a00u,
    0x0013a001u, 0x0013f600u, 0x0013f801u, 0x0013fe00u, 0x00140004u, 0x00140101u, 0x00166d08u, 0x00166e04u,
    0x00166f01u, 0x001680a0u, 0x00168101u, 0x00169b04u, 0x00169d00u, 0x0016a001u, 0x0016eb04u, 0x0016ee02u,
    0x0016f101u, 0x0016f900u, 0x00170001u, 0x00171210u, 0x00171600u, 0x00171f01u, 0x00173210u, 0x00173504u,
    0x00173700u, 0x00174001u, 0x00175210u, 0x00175400u, 0x00176001u, 0x00176d00u, 0x00176e01u, 0x00177100u,
    0x00177210u, 0x00177400u, 0x00178001u, 0x0017b410u, 0x0017d404u, 0x0017d701u, 0x0017d804u, 0x0017db08u,
    0x0017dc01u, 0x0017dd10u, 0x0017de00u, 0x0017e002u, 0x0017ea00u, 0x0017f002u, 0x0017fa00u, 0x00180004u,
    0x00180b10u, 0x00180e40u, 0x00180f10u, 0x00181002u, 0x00181a00u, 0x00182001u, 0x00187900u, 0x00188001u,
    0x00188510u, 0x00188701u, 0x0018a910u, 0x0018aa01u, 0x0018ab00u, 0x0018b001u, 0x0018f600u, 0x00190001u,
    0x00191f00u, 0x00192010u, 0x00192c00u, 0x00193010u, 0x00193c00u, 0x00194008u, 0x00194100u, 0x00194404u,
    0x00194602u, 0x00195001u, 0x00196e00u, 0x00197001u, 0x00197500u, 0x00198001u, 0x0019ac00u, 0x0019b001u,
    0x0019ca00u, 0x0019d002u, 0x0019db00u, 0x0019de08u, 0x001a0001u, 0x001a1710u, 0x001a1c00u, 0x001a1e04u,
    0x001a2001u, 0x001a5510u, 0x001a5f00u, 0x001a6010u, 0x001a7d00u, 0x001a7f10u, 0x001a8002u, 0x001a8a00u,
    0x001a9002u, 0x001a9a00u, 0x001aa004u, 0x001aa701u, 0x001aa804u, 0x001aae00u, 0x001ab010u, 0x001acf00u,
    0x001b0010u, 0x001b0501u, 0x001b3410u, 0x001b4501u, 0x001b4d00u, 0x001b5002u, 0x001b5a04u, 0x001b6108u,
    0x001b6b10u, 0x001b7408u, 0x001b7d04u, 0x001b7f00u, 0x001b8010u, 0x001b8301u, 0x001ba110u, 0x001bae01u,
    0x001bb002u, 0x001bba01u, 0x001be610u, 0x001bf400u, 0x001bfc04u, 0x001c0001u, 0x001c2410u, 0x001c3800u,
    0x001c3b04u, 0x001c4002u, 0x001c4a00u, 0x001c4d01u, 0x001c5002u, 0x001c5a01u, 0x001c7e04u, 0x001c8001u,
    0x001c8900u, 0x001c9001u, 0x001cbb00u, 0x001cbd01u, 0x001cc004u, 0x001cc800u, 0x001cd010u, 0x001cd304u,
    0x001cd410u, 0x001ce901u, 0x001ced10u, 0x001cee01u, 0x001cf410u, 0x001cf501u, 0x001cf710u, 0x001cfa01u,
    0x001cfb00u, 0x001d0001u, 0x001dc010u, 0x001e0001u, 0x001f1600u, 0x001f1801u, 0x001f1e00u, 0x001f2001u,
    0x001f4600u, 0x001f4801u, 0x001f4e00u, 0x001f5001u, 0x001f5800u, 0x001f5901u, 0x001f5a00u, 0x001f5b01u,
    0x001f5c00u, 0x001f5d01u, 0x001f5e00u, 0x001f5f01u, 0x001f7e00u, 0x001f8001u, 0x001fb500u, 0x001fb601u,
    0x001fbd08u, 0x001fbe01u, 0x001fbf08u, 0x001fc201u, 0x001fc500u, 0x001fc601u, 0x001fcd08u, 0x001fd001u,
    0x001fd400u, 0x001fd601u, 0x001fdc00u, 0x001fdd08u, 0x001fe001u, 0x001fed08u, 0x001ff000u, 0x001ff201u,
    0x001ff500u, 0x001ff601u, 0x001ffd08u, 0x001fff00u, 0x002000a0u, 0x00200b40u, 0x00201004u, 0x002028a0u,
    0x00202a40u, 0x00202fa0u, 0x00203004u, 0x00204408u, 0x00204504u, 0x00205208u, 0x00205304u, 0x00205fa0u,
    0x00206040u, 0x00206500u, 0x00206640u, 0x00207002u, 0x00207101u, 0x00207200u, 0x00207402u, 0x00207a08u,
    0x00207d04u, 0x00207f01u, 0x00208002u, 0x00208a08u, 0x00208d04u, 0x00208f00u, 0x00209001u, 0x00209d00u,
    0x0020a008u, 0x0020c100u, 0x0020d010u, 0x0020f100u, 0x00210008u, 0x00210201u, 0x00210308u, 0x00210701u,
    0x00210808u, 0x00210a01u, 0x00211408u, 0x00211501u, 0x00211608u, 0x00211901u, 0x00211e08u, 0x00212401u,
    0x00212508u, 0x00212601u, 0x00212708u, 0x00212801u, 0x00212908u, 0x00212a01u, 0x00212e08u, 0x00212f01u,
    0x00213a08u, 0x00213c01u, 0x00214008u, 0x00214501u, 0x00214a08u, 0x00214e01u, 0x00214f08u, 0x00215002u,
    0x00218301u, 0x00218502u, 0x00218a08u, 0x00218c00u, 0x00219008u, 0x00230804u, 0x00230c08u, 0x00232904u,
    0x00232b08u, 0x00242700u, 0x00244008u, 0x00244b00u, 0x00246002u, 0x00249c08u, 0x0024ea02u, 0x00250008u,
    0x00276804u, 0x00277602u, 0x00279408u, 0x0027c504u, 0x0027c708u, 0x0027e604u, 0x0027f008u, 0x00298304u,
    0x00299908u, 0x0029d804u, 0x0029dc08u, 0x0029fc04u, 0x0029fe08u, 0x002b7400u, 0x002b7608u, 0x002b9600u,
    0x002b9708u, 0x002c0001u, 0x002ce508u, 0x002ceb01u, 0x002cef10u, 0x002cf201u, 0x002cf400u, 0x002cf904u,
    0x002cfd02u, 0x002cfe04u, 0x002d0001u, 0x002d2600u, 0x002d2701u, 0x002d2800u, 0x002d2d01u, 0x002d2e00u,
    0x002d3001u, 0x002d6800u, 0x002d6f01u, 0x002d7004u, 0x002d7100u, 0x002d7f10u, 0x002d8001u, 0x002d9700u,
    0x002da001u, 0x002da700u, 0x002da801u, 0x002daf00u, 0x002db001u, 0x002db700u, 0x002db801u, 0x002dbf00u,
    0x002dc001u, 0x002dc700u, 0x002dc801u, 0x002dcf00u, 0x002dd001u, 0x002dd700u, 0x002dd801u, 0x002ddf00u,
    0x002de010u, 0x002e0004u, 0x002e2f01u, 0x002e3004u, 0x002e5008u, 0x002e5204u, 0x002e5e00u, 0x002e8008u,
    0x002e9a00u, 0x002e9b08u, 0x002ef400u, 0x002f0008u, 0x002fd600u, 0x002ff008u, 0x002ffc00u, 0x003000a0u,
    0x00300104u, 0x00300408u, 0x00300501u, 0x00300702u, 0x00300804u, 0x00301208u, 0x00301404u, 0x00302008u,
    0x00302102u, 0x00302a10u, 0x00303004u, 0x00303101u, 0x00303608u, 0x00303802u, 0x00303b01u, 0x00303d04u,
    0x00303e08u, 0x00304000u, 0x00304101u, 0x00309700u, 0x00309910u, 0x00309b08u, 0x00309d01u, 0x0030a004u,
    0x0030a101u, 0x0030fb04u, 0x0030fc01u, 0x00310000u, 0x00310501u, 0x00313000u, 0x00313101u, 0x00318f00u,
    0x00319008u, 0x00319202u, 0x00319608u, 0x0031a001u, 0x0031c008u, 0x0031e400u, 0x0031f001u, 0x00320008u,
    0x00321f00u, 0x00322002u, 0x00322a08u, 0x00324802u, 0x00325008u, 0x00325102u, 0x00326008u, 0x00328002u,
    0x00328a08u, 0x0032b102u, 0x0032c008u, 0x00340001u, 0x004dc008u, 0x004e0001u, 0x00a48d00u, 0x00a49008u,
    0x00a4c700u, 0x00a4d001u, 0x00a4fe04u, 0x00a50001u, 0x00a60d04u, 0x00a61001u, 0x00a62002u, 0x00a62a01u,
    0x00a62c00u, 0x00a64001u, 0x00a66f10u, 0x00a67304u, 0x00a67410u, 0x00a67e04u, 0x00a67f01u, 0x00a69e10u,
    0x00a6a001u, 0x00a6e602u, 0x00a6f010u, 0x00a6f204u, 0x00a6f800u, 0x00a70008u, 0x00a71701u, 0x00a72008u,
    0x00a72201u, 0x00a78908u, 0x00a78b01u, 0x00a7cb00u, 0x00a7d001u, 0x00a7d200u, 0x00a7d301u, 0x00a7d400u,
    0x00a7d501u, 0x00a7da00u, 0x00a7f201u, 0x00a80210u, 0x00a80301u, 0x00a80610u, 0x00a80701u, 0x00a80b10u,
    0x00a80c01u, 0x00a82310u, 0x00a82808u, 0x00a82c10u, 0x00a82d00u, 0x00a83002u, 0x00a83608u, 0x00a83a00u,
    0x00a84001u, 0x00a87404u, 0x00a87800u, 0x00a88010u, 0x00a88201u, 0x00a8b410u, 0x00a8c600u, 0x00a8ce04u,
    0x00a8d002u, 0x00a8da00u, 0x00a8e010u, 0x00a8f201u, 0x00a8f804u, 0x00a8fb01u, 0x00a8fc04u, 0x00a8fd01u,
    0x00a8ff10u, 0x00a90002u, 0x00a90a01u, 0x00a92610u, 0x00a92e04u, 0x00a93001u, 0x00a94710u, 0x00a95400u,
    0x00a95f04u, 0x00a96001u, 0x00a97d00u, 0x00a98010u, 0x00a98401u, 0x00a9b310u, 0x00a9c104u, 0x00a9ce00u,
    0x00a9cf01u, 0x00a9d002u, 0x00a9da00u, 0x00a9de04u, 0x00a9e001u, 0x00a9e510u, 0x00a9e601u, 0x00a9f002u,
    0x00a9fa01u, 0x00a9ff00u, 0x00aa0001u, 0x00aa2910u, 0x00aa3700u, 0x00aa4001u, 0x00aa4310u, 0x00aa4401u,
    0x00aa4c10u, 0x00aa4e00u, 0x00aa5002u, 0x00aa5a00u, 0x00aa5c04u, 0x00aa6001u, 0x00aa7708u, 0x00aa7a01u,
    0x00aa7b10u, 0x00aa7e01u, 0x00aab010u, 0x00aab101u, 0x00aab210u, 0x00aab501u, 0x00aab710u, 0x00aab901u,
    0x00aabe10u, 0x00aac001u, 0x00aac110u, 0x00aac201u, 0x00aac300u, 0x00aadb01u, 0x00aade04u, 0x00aae001u,
    0x00aaeb10u, 0x00aaf004u, 0x00aaf201u, 0x00aaf510u, 0x00aaf700u, 0x00ab0101u, 0x00ab0700u, 0x00ab0901u,
    0x00ab0f00u, 0x00ab1101u, 0x00ab1700u, 0x00ab2001u, 0x00ab2700u, 0x00ab2801u, 0x00ab2f00u, 0x00ab3001u,
    0x00ab5b08u, 0x00ab5c01u, 0x00ab6a08u, 0x00ab6c00u, 0x00ab7001u, 0x00abe310u, 0x00abeb04u, 0x00abec10u,
    0x00abee00u, 0x00abf002u, 0x00abfa00u, 0x00ac0001u, 0x00d7a400u, 0x00d7b001u, 0x00d7c700u, 0x00d7cb01u,
    0x00d7fc00u, 0x00d80040u, 0x00f90001u, 0x00fa6e00u, 0x00fa7001u, 0x00fada00u, 0x00fb0001u, 0x00fb0700u,
    0x00fb1301u, 0x00fb1800u, 0x00fb1d01u, 0x00fb1e10u, 0x00fb1f01u, 0x00fb2908u, 0x00fb2a01u, 0x00fb3700u,
    0x00fb3801u, 0x00fb3d00u, 0x00fb3e01u, 0x00fb3f00u, 0x00fb4001u, 0x00fb4200u, 0x00fb4301u, 0x00fb4500u,
    0x00fb4601u, 0x00fbb208u, 0x00fbc300u, 0x00fbd301u, 0x00fd3e04u, 0x00fd4008u, 0x00fd5001u, 0x00fd9000u,
    0x00fd9201u, 0x00fdc800u, 0x00fdcf08u, 0x00fdd000u, 0x00fdf001u, 0x00fdfc08u, 0x00fe0010u, 0x00fe1004u,
    0x00fe1a00u, 0x00fe2010u, 0x00fe3004u, 0x00fe5300u, 0x00fe5404u, 0x00fe6208u, 0x00fe6304u, 0x00fe6408u,
    0x00fe6700u, 0x00fe6804u, 0x00fe6908u, 0x00fe6a04u, 0x00fe6c00u, 0x00fe7001u, 0x00fe7500u, 0x00fe7601u,
    0x00fefd00u, 0x00feff40u, 0x00ff0000u, 0x00ff0104u, 0x00ff0408u, 0x00ff0504u, 0x00ff0b08u, 0x00ff0c04u,
    0x00ff1002u, 0x00ff1a04u, 0x00ff1c08u, 0x00ff1f04u, 0x00ff2101u, 0x00ff3b04u, 0x00ff3e08u, 0x00ff3f04u,
    0x00ff4008u, 0x00ff4101u, 0x00ff5b04u, 0x00ff5c08u, 0x00ff5d04u, 0x00ff5e08u, 0x00ff5f04u, 0x00ff6601u,
    0x00ffbf00u, 0x00ffc201u, 0x00ffc800u, 0x00ffca01u, 0x00ffd000u, 0x00ffd201u, 0x00ffd800u, 0x00ffda01u,
    0x00ffdd00u, 0x00ffe008u, 0x00ffe700u, 0x00ffe808u, 0x00ffef00u, 0x00fff940u, 0x00fffc08u, 0x00fffe00u,
    0x01000001u, 0x01000c00u, 0x01000d01u, 0x01002700u, 0x01002801u, 0x01003b00u, 0x01003c01u, 0x01003e00u,
    0x01003f01u, 0x01004e00u, 0x01005001u, 0x01005e00u, 0x01008001u, 0x0100fb00u, 0x01010004u, 0x01010300u,
    0x01010702u, 0x01013400u, 0x01013708u, 0x01014002u, 0x01017908u, 0x01018a02u, 0x01018c08u, 0x01018f00u,
    0x01019008u, 0x01019d00u, 0x0101a008u, 0x0101a100u, 0x0101d008u, 0x0101fd10u, 0x0101fe00u, 0x01028001u,
    0x01029d00u, 0x0102a001u, 0x0102d100u, 0x0102e010u, 0x0102e102u, 0x0102fc00u, 0x01030001u, 0x01032002u,
    0x01032400u, 0x01032d01u, 0x01034102u, 0x01034201u, 0x01034a02u, 0x01034b00u, 0x01035001u, 0x01037610u,
    0x01037b00u, 0x01038001u, 0x01039e00u, 0x01039f04u, 0x0103a001u, 0x0103c400u, 0x0103c801u, 0x0103d004u,
    0x0103d102u, 0x0103d600u, 0x01040001u, 0x01049e00u, 0x0104a002u, 0x0104aa00u, 0x0104b001u, 0x0104d400u,
    0x0104d801u, 0x0104fc00u, 0x01050001u, 0x01052800u, 0x01053001u, 0x01056400u, 0x01056f04u, 0x01057001u,
    0x01057b00u, 0x01057c01u, 0x01058b00u, 0x01058c01u, 0x01059300u, 0x01059401u, 0x01059600u, 0x01059701u,
    0x0105a200u, 0x0105a301u, 0x0105b200u, 0x0105b301u, 0x0105ba00u, 0x0105bb01u, 0x0105bd00u, 0x01060001u,
    0x01073700u, 0x01074001u, 0x01075600u, 0x01076001u, 0x01076800u, 0x01078001u, 0x01078600u, 0x01078701u,
    0x0107b100u, 0x0107b201u, 0x0107bb00u, 0x01080001u, 0x01080600u, 0x01080801u, 0x01080900u, 0x01080a01u,
    0x01083600u, 0x01083701u, 0x01083900u, 0x01083c01u, 0x01083d00u, 0x01083f01u, 0x01085600u, 0x01085704u,
    0x01085802u, 0x01086001u, 0x01087708u, 0x01087902u, 0x01088001u, 0x01089f00u, 0x0108a702u, 0x0108b000u,
    0x0108e001u, 0x0108f300u, 0x0108f401u, 0x0108f600u, 0x0108fb02u, 0x01090001u, 0x01091602u, 0x01091c00u,
    0x01091f04u, 0x01092001u, 0x01093a00u, 0x01093f04u, 0x01094000u, 0x01098001u, 0x0109b800u, 0x0109bc02u,
    0x0109be01u, 0x0109c002u, 0x0109d000u, 0x0109d202u, 0x010a0001u, 0x010a0110u, 0x010a0400u, 0x010a0510u,
    0x010a0700u, 0x010a0c10u, 0x010a1001u, 0x010a1400u, 0x010a1501u, 0x010a1800u, 0x010a1901u, 0x010a3600u,
    0x010a3810u, 0x010a3b00u, 0x010a3f10u, 0x010a4002u, 0x010a4900u, 0x010a5004u, 0x010a5900u, 0x010a6001u,
    0x010a7d02u, 0x010a7f04u, 0x010a8001u, 0x010a9d02u, 0x010aa000u, 0x010ac001u, 0x010ac808u, 0x010ac901u,
    0x010ae510u, 0x010ae700u, 0x010aeb02u, 0x010af004u, 0x010af700u, 0x010b0001u, 0x010b3600u, 0x010b3904u,
    0x010b4001u, 0x010b5600u, 0x010b5802u, 0x010b6001u, 0x010b7300u, 0x010b7802u, 0x010b8001u, 0x010b9200u,
    0x010b9904u, 0x010b9d00u, 0x010ba902u, 0x010bb000u, 0x010c0001u, 0x010c4900u, 0x010c8001u, 0x010cb300u,
    0x010cc001u, 0x010cf300u, 0x010cfa02u, 0x010d0001u, 0x010d2410u, 0x010d2800u, 0x010d3002u, 0x010d3a00u,
    0x010e6002u, 0x010e7f00u, 0x010e8001u, 0x010eaa00u, 0x010eab10u, 0x010ead04u, 0x010eae00u, 0x010eb001u,
    0x010eb200u, 0x010f0001u, 0x010f1d02u, 0x010f2701u, 0x010f2800u, 0x010f3001u, 0x010f4610u, 0x010f5102u,
    0x010f5504u, 0x010f5a00u, 0x010f7001u, 0x010f8210u, 0x010f8604u, 0x010f8a00u, 0x010fb001u, 0x010fc502u,
    0x010fcc00u, 0x010fe001u, 0x010ff700u, 0x01100010u, 0x01100301u, 0x01103810u, 0x01104704u, 0x01104e00u,
    0x01105202u, 0x01107010u, 0x01107101u, 0x01107310u, 0x01107501u, 0x01107600u, 0x01107f10u, 0x01108301u,
    0x0110b010u, 0x0110bb04u, 0x0110bd40u, 0x0110be04u, 0x0110c210u, 0x0110c300u, 0x0110cd40u, 0x0110ce00u,
    0x0110d001u, 0x0110e900u, 0x0110f002u, 0x0110fa00u, 0x01110010u, 0x01110301u, 0x01112710u, 0x01113500u,
    0x01113602u, 0x01114004u, 0x01114401u, 0x01114510u, 0x01114701u, 0x01114800u, 0x01115001u, 0x01117310u,
    0x01117404u, 0x01117601u, 0x01117700u, 0x01118010u, 0x01118301u, 0x0111b310u, 0x0111c101u, 0x0111c504u,
    0x0111c910u, 0x0111cd04u, 0x0111ce10u, 0x0111d002u, 0x0111da01u, 0x0111db04u, 0x0111dc01u, 0x0111dd04u,
    0x0111e000u, 0x0111e102u, 0x0111f500u, 0x01120001u, 0x01121200u, 0x01121301u, 0x01122c10u, 0x01123804u,
    0x01123e10u, 0x01123f00u, 0x01128001u, 0x01128700u, 0x01128801u, 0x01128900u, 0x01128a01u, 0x01128e00u,
    0x01128f01u, 0x01129e00u, 0x01129f01u, 0x0112a904u, 0x0112aa00u, 0x0112b001u, 0x0112df10u, 0x0112eb00u,
    0x0112f002u, 0x0112fa00u, 0x01130010u, 0x01130400u, 0x01130501u, 0x01130d00u, 0x01130f01u, 0x01131100u,
    0x01131301u, 0x01132900u, 0x01132a01u, 0x01133100u, 0x01133201u, 0x01133400u, 0x01133501u, 0x01133a00u,
    0x01133b10u, 0x01133d01u, 0x01133e10u, 0x01134500u, 0x01134710u, 0x01134900u, 0x01134b10u, 0x01134e00u,
    0x01135001u, 0x01135100u, 0x01135710u, 0x01135800u, 0x01135d01u, 0x01136210u, 0x01136400u, 0x01136610u,
    0x01136d00u, 0x01137010u, 0x01137500u, 0x01140001u, 0x01143510u, 0x01144701u, 0x01144b04u, 0x01145002u,
    0x01145a04u, 0x01145c00u, 0x01145d04u, 0x01145e10u, 0x01145f01u, 0x01146200u, 0x01148001u, 0x0114b010u,
    0x0114c401u, 0x0114c604u, 0x0114c701u, 0x0114c800u, 0x0114d002u, 0x0114da00u, 0x01158001u, 0x0115af10u,
    0x0115b600u, 0x0115b810u, 0x0115c104u, 0x0115d801u, 0x0115dc10u, 0x0115de00u, 0x01160001u, 0x01163010u,
    0x01164104u, 0x01164401u, 0x01164500u, 0x01165002u, 0x01165a00u, 0x01166004u, 0x01166d00u, 0x01168001u,
    0x0116ab10u, 0x0116b801u, 0x0116b904u, 0x0116ba00u, 0x0116c002u, 0x0116ca00u, 0x01170001u, 0x01171b00u,
    0x01171d10u, 0x01172c00u, 0x01173002u, 0x01173c04u, 0x01173f08u, 0x01174001u, 0x01174700u, 0x01180001u,
    0x01182c10u, 0x01183b04u, 0x01183c00u, 0x0118a001u, 0x0118e002u, 0x0118f300u, 0x0118ff01u, 0x01190700u,
    0x01190901u, 0x01190a00u, 0x01190c01u, 0x01191400u, 0x01191501u, 0x01191700u, 0x01191801u, 0x01193010u,
    0x01193600u, 0x01193710u, 0x01193900u, 0x01193b10u, 0x01193f01u, 0x01194010u, 0x01194101u, 0x01194210u,
    0x01194404u, 0x01194700u, 0x01195002u, 0x01195a00u, 0x0119a001u, 0x0119a800u, 0x0119aa01u, 0x0119d110u,
    0x0119d800u, 0x0119da10u, 0x0119e101u, 0x0119e204u, 0x0119e301u, 0x0119e410u, 0x0119e500u, 0x011a0001u,
    0x011a0110u, 0x011a0b01u, 0x011a3310u, 0x011a3a01u, 0x011a3b10u, 0x011a3f04u, 0x011a4710u, 0x011a4800u,
    0x011a5001u, 0x011a5110u, 0x011a5c01u, 0x011a8a10u, 0x011a9a04u, 0x011a9d01u, 0x011a9e04u, 0x011aa300u,
    0x011ab001u, 0x011af900u, 0x011c0001u, 0x011c0900u, 0x011c0a01u, 0x011c2f10u, 0x011c3700u, 0x011c3810u,
    0x011c4001u, 0x011c4104u, 0x011c4600u, 0x011c5002u, 0x011c6d00u, 0x011c7004u, 0x011c7201u, 0x011c9000u,
    0x011c9210u, 0x011ca800u, 0x011ca910u, 0x011cb700u, 0x011d0001u, 0x011d0700u, 0x011d0801u, 0x011d0a00u,
    0x011d0b01u, 0x011d3110u, 0x011d3700u, 0x011d3a10u, 0x011d3b00u, 0x011d3c10u, 0x011d3e00u, 0x011d3f10u,
    0x011d4601u, 0x011d4710u, 0x011d4800u, 0x011d5002u, 0x011d5a00u, 0x011d6001u, 0x011d6600u, 0x011d6701u,
    0x011d6900u, 0x011d6a01u, 0x011d8a10u, 0x011d8f00u, 0x011d9010u, 0x011d9200u, 0x011d9310u, 0x011d9801u,
    0x011d9900u, 0x011da002u, 0x011daa00u, 0x011ee001u, 0x011ef310u, 0x011ef704u, 0x011ef900u, 0x011fb001u,
    0x011fb100u, 0x011fc002u, 0x011fd508u, 0x011ff200u, 0x011fff04u, 0x01200001u, 0x01239a00u, 0x01240002u,
    0x01246f00u, 0x01247004u, 0x01247500u, 0x01248001u, 0x01254400u, 0x012f9001u, 0x012ff104u, 0x012ff300u,
    0x01300001u, 0x01342f00u, 0x01343040u, 0x01343900u, 0x01440001u, 0x01464700u, 0x01680001u, 0x016a3900u,
    0x016a4001u, 0x016a5f00u, 0x016a6002u, 0x016a6a00u, 0x016a6e04u, 0x016a7001u, 0x016abf00u, 0x016ac002u,
    0x016aca00u, 0x016ad001u, 0x016aee00u, 0x016af010u, 0x016af504u, 0x016af600u, 0x016b0001u, 0x016b3010u,
    0x016b3704u, 0x016b3c08u, 0x016b4001u, 0x016b4404u, 0x016b4508u, 0x016b4600u, 0x016b5002u, 0x016b5a00u,
    0x016b5b02u, 0x016b6200u, 0x016b6301u, 0x016b7800u, 0x016b7d01u, 0x016b9000u, 0x016e4001u, 0x016e8002u,
    0x016e9704u, 0x016e9b00u, 0x016f0001u, 0x016f4b00u, 0x016f4f10u, 0x016f5001u, 0x016f5110u, 0x016f8800u,
    0x016f8f10u, 0x016f9301u, 0x016fa000u, 0x016fe001u, 0x016fe204u, 0x016fe301u, 0x016fe410u, 0x016fe500u,
    0x016ff010u, 0x016ff200u, 0x01700001u, 0x0187f800u, 0x01880001u, 0x018cd600u, 0x018d0001u, 0x018d0900u,
    0x01aff001u, 0x01aff400u, 0x01aff501u, 0x01affc00u, 0x01affd01u, 0x01afff00u, 0x01b00001u, 0x01b12300u,
    0x01b15001u, 0x01b15300u, 0x01b16401u, 0x01b16800u, 0x01b17001u, 0x01b2fc00u, 0x01bc0001u, 0x01bc6b00u,
    0x01bc7001u, 0x01bc7d00u, 0x01bc8001u, 0x01bc8900u, 0x01bc9001u, 0x01bc9a00u, 0x01bc9c08u, 0x01bc9d10u,
    0x01bc9f04u, 0x01bca040u, 0x01bca400u, 0x01cf0010u, 0x01cf2e00u, 0x01cf3010u, 0x01cf4700u, 0x01cf5008u,
    0x01cfc400u, 0x01d00008u, 0x01d0f600u, 0x01d10008u, 0x01d12700u, 0x01d12908u, 0x01d16510u, 0x01d16a08u,
    0x01d16d10u, 0x01d17340u, 0x01d17b10u, 0x01d18308u, 0x01d18510u, 0x01d18c08u, 0x01d1aa10u, 0x01d1ae08u,
    0x01d1eb00u, 0x01d20008u, 0x01d24210u, 0x01d24508u, 0x01d24600u, 0x01d2e002u, 0x01d2f400u, 0x01d30008u,
    0x01d35700u, 0x01d36002u, 0x01d37900u, 0x01d40001u, 0x01d45500u, 0x01d45601u, 0x01d49d00u, 0x01d49e01u,
    0x01d4a000u, 0x01d4a201u, 0x01d4a300u, 0x01d4a501u, 0x01d4a700u, 0x01d4a901u, 0x01d4ad00u, 0x01d4ae01u,
    0x01d4ba00u, 0x01d4bb01u, 0x01d4bc00u, 0x01d4bd01u, 0x01d4c400u, 0x01d4c501u, 0x01d50600u, 0x01d50701u,
    0x01d50b00u, 0x01d50d01u, 0x01d51500u, 0x01d51601u, 0x01d51d00u, 0x01d51e01u, 0x01d53a00u, 0x01d53b01u,
    0x01d53f00u, 0x01d54001u, 0x01d54500u, 0x01d54601u, 0x01d54700u, 0x01d54a01u, 0x01d55100u, 0x01d55201u,
    0x01d6a600u, 0x01d6a801u, 0x01d6c108u, 0x01d6c201u, 0x01d6db08u, 0x01d6dc01u, 0x01d6fb08u, 0x01d6fc01u,
    0x01d71508u, 0x01d71601u, 0x01d73508u, 0x01d73601u, 0x01d74f08u, 0x01d75001u, 0x01d76f08u, 0x01d77001u,
    0x01d78908u, 0x01d78a01u, 0x01d7a908u, 0x01d7aa01u, 0x01d7c308u, 0x01d7c401u, 0x01d7cc00u, 0x01d7ce02u,
    0x01d80008u, 0x01da0010u, 0x01da3708u, 0x01da3b10u, 0x01da6d08u, 0x01da7510u, 0x01da7608u, 0x01da8410u,
    0x01da8508u, 0x01da8704u, 0x01da8c00u, 0x01da9b10u, 0x01daa000u, 0x01daa110u, 0x01dab000u, 0x01df0001u,
    0x01df1f00u, 0x01e00010u, 0x01e00700u, 0x01e00810u, 0x01e01900u, 0x01e01b10u, 0x01e02200u, 0x01e02310u,
    0x01e02500u, 0x01e02610u, 0x01e02b00u, 0x01e10001u, 0x01e12d00u, 0x01e13010u, 0x01e13701u, 0x01e13e00u,
    0x01e14002u, 0x01e14a00u, 0x01e14e01u, 0x01e14f08u, 0x01e15000u, 0x01e29001u, 0x01e2ae10u, 0x01e2af00u,
    0x01e2c001u, 0x01e2ec10u, 0x01e2f002u, 0x01e2fa00u, 0x01e2ff08u, 0x01e30000u, 0x01e7e001u, 0x01e7e700u,
    0x01e7e801u, 0x01e7ec00u, 0x01e7ed01u, 0x01e7ef00u, 0x01e7f001u, 0x01e7ff00u, 0x01e80001u, 0x01e8c500u,
    0x01e8c702u, 0x01e8d010u, 0x01e8d700u, 0x01e90001u, 0x01e94410u, 0x01e94b01u, 0x01e94c00u, 0x01e95002u,
    0x01e95a00u, 0x01e95e04u, 0x01e96000u, 0x01ec7102u, 0x01ecac08u, 0x01ecad02u, 0x01ecb008u, 0x01ecb102u,
    0x01ecb500u, 0x01ed0102u, 0x01ed2e08u, 0x01ed2f02u, 0x01ed3e00u, 0x01ee0001u, 0x01ee0400u, 0x01ee0501u,
    0x01ee2000u, 0x01ee2101u, 0x01ee2300u, 0x01ee2401u, 0x01ee2500u, 0x01ee2701u, 0x01ee2800u, 0x01ee2901u,
    0x01ee3300u, 0x01ee3401u, 0x01ee3800u, 0x01ee3901u, 0x01ee3a00u, 0x01ee3b01u, 0x01ee3c00u, 0x01ee4201u,
    0x01ee4300u, 0x01ee4701u, 0x01ee4800u, 0x01ee4901u, 0x01ee4a00u, 0x01ee4b01u, 0x01ee4c00u, 0x01ee4d01u,
    0x01ee5000u, 0x01ee5101u, 0x01ee5300u, 0x01ee5401u, 0x01ee5500u, 0x01ee5701u, 0x01ee5800u, 0x01ee5901u,
    0x01ee5a00u, 0x01ee5b01u, 0x01ee5c00u, 0x01ee5d01u, 0x01ee5e00u, 0x01ee5f01u, 0x01ee6000u, 0x01ee6101u,
    0x01ee6300u, 0x01ee6401u, 0x01ee6500u, 0x01ee6701u, 0x01ee6b00u, 0x01ee6c01u, 0x01ee7300u, 0x01ee7401u,
    0x01ee7800u, 0x01ee7901u, 0x01ee7d00u, 0x01ee7e01u, 0x01ee7f00u, 0x01ee8001u, 0x01ee8a00u, 0x01ee8b01u,
    0x01ee9c00u, 0x01eea101u, 0x01eea400u, 0x01eea501u, 0x01eeaa00u, 0x01eeab01u, 0x01eebc00u, 0x01eef008u,
    0x01eef200u, 0x01f00008u, 0x01f02c00u, 0x01f03008u, 0x01f09400u, 0x01f0a008u, 0x01f0af00u, 0x01f0b108u,
    0x01f0c000u, 0x01f0c108u, 0x01f0d000u, 0x01f0d108u, 0x01f0f600u, 0x01f10002u, 0x01f10d08u, 0x01f1ae00u,
    0x01f1e608u, 0x01f20300u, 0x01f21008u, 0x01f23c00u, 0x01f24008u, 0x01f24900u, 0x01f25008u, 0x01f25200u,
    0x01f26008u, 0x01f26600u, 0x01f30008u, 0x01f6d800u, 0x01f6dd08u, 0x01f6ed00u, 0x01f6f008u, 0x01f6fd00u,
    0x01f70008u, 0x01f77400u, 0x01f78008u, 0x01f7d900u, 0x01f7e008u, 0x01f7ec00u, 0x01f7f008u, 0x01f7f100u,
    0x01f80008u, 0x01f80c00u, 0x01f81008u, 0x01f84800u, 0x01f85008u, 0x01f85a00u, 0x01f86008u, 0x01f88800u,
    0x01f89008u, 0x01f8ae00u, 0x01f8b008u, 0x01f8b200u, 0x01f90008u, 0x01fa5400u, 0x01fa6008u, 0x01fa6e00u,
    0x01fa7008u, 0x01fa7500u, 0x01fa7808u, 0x01fa7d00u, 0x01fa8008u, 0x01fa8700u, 0x01fa9008u, 0x01faad00u,
    0x01fab008u, 0x01fabb00u, 0x01fac008u, 0x01fac600u, 0x01fad008u, 0x01fada00u, 0x01fae008u, 0x01fae800u,
    0x01faf008u, 0x01faf700u, 0x01fb0008u, 0x01fb9300u, 0x01fb9408u, 0x01fbcb00u, 0x01fbf002u, 0x01fbfa00u,
    0x02000001u, 0x02a6e000u, 0x02a70001u, 0x02b73900u, 0x02b74001u, 0x02b81e00u, 0x02b82001u, 0x02cea200u,
    0x02ceb001u, 0x02ebe100u, 0x02f80001u, 0x02fa1e00u, 0x03000001u, 0x03134b00u, 0x0e000140u, 0x0e000200u,
    0x0e002040u, 0x0e008000u, 0x0e010010u, 0x0e01f000u, 0x0f000040u, 0x0ffffe00u, 0x10000040u, 0x10fffe00u,
};
static const uint32_t ck__ulower[182] = {
    0x06800041u, 0x05c000c0u, 0x01c000d8u, 0x06200100u, 0x00400130u, 0x00e00132u, 0x02200139u, 0x05e0014au,
    0x00400178u, 0x00e00179u, 0x00400181u, 0x00a00182u, 0x00400186u, 0x00400187u, 0x00800189u, 0x0040018bu,
    0x0040018eu, 0x0040018fu, 0x00400190u, 0x00400191u, 0x00400193u, 0x00400194u, 0x00400196u, 0x00400197u,
    0x00400198u, 0x0040019cu, 0x0040019du, 0x0040019fu, 0x00e001a0u, 0x004001a6u, 0x004001a7u, 0x004001a9u,
    0x004001acu, 0x004001aeu, 0x004001afu, 0x008001b1u, 0x00a001b3u, 0x004001b7u, 0x004001b8u, 0x004001bcu,
    0x004001c4u, 0x004001c5u, 0x004001c7u, 0x004001c8u, 0x004001cau, 0x026001cbu, 0x026001deu, 0x004001f1u,
    0x00a001f2u, 0x004001f6u, 0x004001f7u, 0x052001f8u, 0x00400220u, 0x02600222u, 0x0040023au, 0x0040023bu,
    0x0040023du, 0x0040023eu, 0x00400241u, 0x00400243u, 0x00400244u, 0x00400245u, 0x01600246u, 0x00a00370u,
    0x00400376u, 0x0040037fu, 0x00400386u, 0x00c00388u, 0x0040038cu, 0x0080038eu, 0x04400391u, 0x024003a3u,
    0x004003cfu, 0x032003d8u, 0x004003f4u, 0x004003f7u, 0x004003f9u, 0x004003fau, 0x00c003fdu, 0x04000400u,
    0x08000410u, 0x04600460u, 0x06e0048au, 0x004004c0u, 0x01e004c1u, 0x0c2004d0u, 0x09800531u, 0x098010a0u,
    0x004010c7u, 0x004010cdu, 0x140013a0u, 0x018013f0u, 0x0ac01c90u, 0x00c01cbdu, 0x12e01e00u, 0x00401e9eu,
    0x0c201ea0u, 0x02001f08u, 0x01801f18u, 0x02001f28u, 0x02001f38u, 0x01801f48u, 0x01201f59u, 0x02001f68u,
    0x02001f88u, 0x02001f98u, 0x02001fa8u, 0x00801fb8u, 0x00801fbau, 0x00401fbcu, 0x01001fc8u, 0x00401fccu,
    0x00801fd8u, 0x00801fdau, 0x00801fe8u, 0x00801feau, 0x00401fecu, 0x00801ff8u, 0x00801ffau, 0x00401ffcu,
    0x00402126u, 0x0040212au, 0x0040212bu, 0x00402132u, 0x04002160u, 0x00402183u, 0x068024b6u, 0x0c002c00u,
    0x00402c60u, 0x00402c62u, 0x00402c63u, 0x00402c64u, 0x00e02c67u, 0x00402c6du, 0x00402c6eu, 0x00402c6fu,
    0x00402c70u, 0x00402c72u, 0x00402c75u, 0x00802c7eu, 0x0ca02c80u, 0x00a02cebu, 0x00402cf2u, 0x05e0a640u,
    0x03a0a680u, 0x01e0a722u, 0x07e0a732u, 0x00a0a779u, 0x0040a77du, 0x0160a77eu, 0x0040a78bu, 0x0040a78du,
    0x00a0a790u, 0x02a0a796u, 0x0040a7aau, 0x0040a7abu, 0x0040a7acu, 0x0040a7adu, 0x0040a7aeu, 0x0040a7b0u,
    0x0040a7b1u, 0x0040a7b2u, 0x0040a7b3u, 0x0220a7b4u, 0x0040a7c4u, 0x0040a7c5u, 0x0040a7c6u, 0x00a0a7c7u,
    0x0040a7d0u, 0x00a0a7d6u, 0x0040a7f5u, 0x0680ff21u, 0x0a010400u, 0x090104b0u, 0x02c10570u, 0x03c1057cu,
    0x01c1058cu, 0x00810594u, 0x0cc10c80u, 0x080118a0u, 0x08016e40u, 0x0881e900u,
};
static const int32_t ck__ulower_delta[182] = {
    32, 32, 32, 1, -199, 1, 1, 1, -121, 1, 210, 1,
    206, 1, 205, 1, 79, 202, 203, 1, 205, 207, 211, 209,
    1, 211, 213, 214, 1, 218, 1, 218, 1, 218, 1, 217,
    1, 219, 1, 1, 2, 1, 2, 1, 2, 1, 1, 2,
    1, -97, -56, 1, -130, 1, 10795, 1, -163, 10792, 1, -195,
    69, 71, 1, 1, 1, 116, 38, 37, 64, 63, 32, 32,
    8, 1, -60, 1, -7, 1, -130, 80, 32, 1, 1, 15,
    1, 1, 48, 7264, 7264, 7264, 38864, 8, -3008, -3008, 1, -7615,
    1, -8, -8, -8, -8, -8, -8, -8, -8, -8, -8, -8,
    -74, -9, -86, -9, -8, -100, -8, -112, -7, -128, -126, -9,
    -7517, -8383, -8262, 28, 16, 1, 26, 48, 1, -10743, -3814, -10727,
    1, -10780, -10749, -10783, -10782, 1, 1, -10815, 1, 1, 1, 1,
    1, 1, 1, 1, -35332, 1, 1, -42280, 1, 1, -42308, -42319,
    -42315, -42305, -42308, -42258, -42282, -42261, 928, 1, -48, -42307, -35384, 1,
    1, 1, 1, 32, 40, 40, 39, 39, 39, 39, 64, 32,
    32, 34,
};
static const uint32_t ck__unfd[1827] = {
    0x00c000c0u, 0x002000c7u, 0x008000c8u, 0x008000ccu, 0x002000d1u, 0x00a000d2u, 0x008000d9u, 0x002000ddu,
    0x00c000e0u, 0x002000e7u, 0x008000e8u, 0x008000ecu, 0x002000f1u, 0x00a000f2u, 0x008000f9u, 0x002000fdu,
    0x002000ffu, 0x00200100u, 0x00200101u, 0x00200102u, 0x00200103u, 0x00200104u, 0x00200105u, 0x00200106u,
    0x00200107u, 0x00200108u, 0x00200109u, 0x0020010au, 0x0020010bu, 0x0020010cu, 0x0020010du, 0x0020010eu,
    0x0020010fu, 0x00200112u, 0x00200113u, 0x00200114u, 0x00200115u, 0x00200116u, 0x00200117u, 0x00200118u,
    0x00200119u, 0x0020011au, 0x0020011bu, 0x0020011cu, 0x0020011du, 0x0020011eu, 0x0020011fu, 0x00200120u,
    0x00200121u, 0x00200122u, 0x00200123u, 0x00200124u, 0x00200125u, 0x00200128u, 0x00200129u, 0x0020012au,
    0x0020012bu, 0x0020012cu, 0x0020012du, 0x0020012eu, 0x0020012fu, 0x00200130u, 0x00200134u, 0x00200135u,
    0x00200136u, 0x00200137u, 0x00200139u, 0x0020013au, 0x0020013bu, 0x0020013cu, 0x0020013du, 0x0020013eu,
    0x00200143u, 0x00200144u, 0x00200145u, 0x00200146u, 0x00200147u, 0x00200148u, 0x0020014cu, 0x0020014du,
    0x0020014eu, 0x0020014fu, 0x00200150u, 0x00200151u, 0x00200154u, 0x00200155u, 0x00200156u, 0x00200157u,
    0x00200158u, 0x00200159u, 0x0020015au, 0x0020015bu, 0x0020015cu, 0x0020015du, 0x0020015eu, 0x0020015fu,
    0x00200160u, 0x00200161u, 0x00200162u, 0x00200163u, 0x00200164u, 0x00200165u, 0x00200168u, 0x00200169u,
    0x0020016au, 0x0020016bu, 0x0020016cu, 0x0020016du, 0x0020016eu, 0x0020016fu, 0x00200170u, 0x00200171u,
    0x00200172u, 0x00200173u, 0x00200174u, 0x00200175u, 0x00200176u, 0x00200177u, 0x00200178u, 0x00200179u,
    0x0020017au, 0x0020017bu, 0x0020017cu, 0x0020017du, 0x0020017eu, 0x002001a0u, 0x002001a1u, 0x002001afu,
    0x002001b0u, 0x002001cdu, 0x002001ceu, 0x002001cfu, 0x002001d0u, 0x002001d1u, 0x002001d2u, 0x002001d3u,
    0x002001d4u, 0x002001d5u, 0x002001d6u, 0x002001d7u, 0x002001d8u, 0x002001d9u, 0x002001dau, 0x002001dbu,
    0x002001dcu, 0x002001deu, 0x002001dfu, 0x002001e0u, 0x002001e1u, 0x002001e2u, 0x002001e3u, 0x002001e6u,
    0x002001e7u, 0x002001e8u, 0x002001e9u, 0x002001eau, 0x002001ebu, 0x002001ecu, 0x002001edu, 0x002001eeu,
    0x002001efu, 0x002001f0u, 0x002001f4u, 0x002001f5u, 0x002001f8u, 0x002001f9u, 0x002001fau, 0x002001fbu,
    0x002001fcu, 0x002001fdu, 0x002001feu, 0x002001ffu, 0x00200200u, 0x00200201u, 0x00200202u, 0x00200203u,
    0x00200204u, 0x00200205u, 0x00200206u, 0x00200207u, 0x00200208u, 0x00200209u, 0x0020020au, 0x0020020bu,
    0x0020020cu, 0x0020020du, 0x0020020eu, 0x0020020fu, 0x00200210u, 0x00200211u, 0x00200212u, 0x00200213u,
    0x00200214u, 0x00200215u, 0x00200216u, 0x00200217u, 0x00200218u, 0x00200219u, 0x0020021au, 0x0020021bu,
    0x0020021eu, 0x0020021fu, 0x00200226u, 0x00200227u, 0x00200228u, 0x00200229u, 0x0020022au, 0x0020022bu,
    0x0020022cu, 0x0020022du, 0x0020022eu, 0x0020022fu, 0x00200230u, 0x00200231u, 0x00200232u, 0x00200233u,
    0x00200340u, 0x00200341u, 0x00200343u, 0x00200344u, 0x00200374u, 0x0020037eu, 0x00200385u, 0x00200386u,
    0x00200387u, 0x00200388u, 0x00200389u, 0x0020038au, 0x0020038cu, 0x0020038eu, 0x0020038fu, 0x00200390u,
    0x002003aau, 0x002003abu, 0x002003acu, 0x002003adu, 0x002003aeu, 0x002003afu, 0x002003b0u, 0x002003cau,
    0x002003cbu, 0x002003ccu, 0x002003cdu, 0x002003ceu, 0x004003d3u, 0x00400400u, 0x00200403u, 0x00200407u,
    0x0020040cu, 0x0020040du, 0x0020040eu, 0x00200419u, 0x00200439u, 0x00400450u, 0x00200453u, 0x00200457u,
    0x0020045cu, 0x0020045du, 0x0020045eu, 0x00200476u, 0x00200477u, 0x002004c1u, 0x002004c2u, 0x002004d0u,
    0x002004d1u, 0x002004d2u, 0x002004d3u, 0x002004d6u, 0x002004d7u, 0x002004dau, 0x002004dbu, 0x002004dcu,
    0x002004ddu, 0x002004deu, 0x002004dfu, 0x002004e2u, 0x002004e3u, 0x002004e4u, 0x002004e5u, 0x002004e6u,
    0x002004e7u, 0x002004eau, 0x002004ebu, 0x002004ecu, 0x002004edu, 0x002004eeu, 0x002004efu, 0x002004f0u,
    0x002004f1u, 0x002004f2u, 0x002004f3u, 0x002004f4u, 0x002004f5u, 0x002004f8u, 0x002004f9u, 0x00400622u,
    0x00200624u, 0x00200625u, 0x00200626u, 0x002006c0u, 0x002006c2u, 0x002006d3u, 0x00200929u, 0x00200931u,
    0x00200934u, 0x00200958u, 0x00200959u, 0x0020095au, 0x0020095bu, 0x0020095cu, 0x0020095du, 0x0020095eu,
    0x0020095fu, 0x004009cbu, 0x002009dcu, 0x002009ddu, 0x002009dfu, 0x00200a33u, 0x00200a36u, 0x00200a59u,
    0x00200a5au, 0x00200a5bu, 0x00200a5eu, 0x00200b48u, 0x00400b4bu, 0x00200b5cu, 0x00200b5du, 0x00200b94u,
    0x00200bcau, 0x00200bcbu, 0x00200bccu, 0x00200c48u, 0x00200cc0u, 0x00400cc7u, 0x00400ccau, 0x00200d4au,
    0x00200d4bu, 0x00200d4cu, 0x00200ddau, 0x00600ddcu, 0x00200f43u, 0x00200f4du, 0x00200f52u, 0x00200f57u,
    0x00200f5cu, 0x00200f69u, 0x00200f73u, 0x00200f75u, 0x00200f76u, 0x00200f78u, 0x00200f81u, 0x00200f93u,
    0x00200f9du, 0x00200fa2u, 0x00200fa7u, 0x00200facu, 0x00200fb9u, 0x00201026u, 0x00201b06u, 0x00201b08u,
    0x00201b0au, 0x00201b0cu, 0x00201b0eu, 0x00201b12u, 0x00201b3bu, 0x00201b3du, 0x00201b40u, 0x00201b41u,
    0x00201b43u, 0x00201e00u, 0x00201e01u, 0x00201e02u, 0x00201e03u, 0x00201e04u, 0x00201e05u, 0x00201e06u,
    0x00201e07u, 0x00201e08u, 0x00201e09u, 0x00201e0au, 0x00201e0bu, 0x00201e0cu, 0x00201e0du, 0x00201e0eu,
    0x00201e0fu, 0x00201e10u, 0x00201e11u, 0x00201e12u, 0x00201e13u, 0x00201e14u, 0x00201e15u, 0x00201e16u,
    0x00201e17u, 0x00201e18u, 0x00201e19u, 0x00201e1au, 0x00201e1bu, 0x00201e1cu, 0x00201e1du, 0x00201e1eu,
    0x00201e1fu, 0x00201e20u, 0x00201e21u, 0x00201e22u, 0x00201e23u, 0x00201e24u, 0x00201e25u, 0x00201e26u,
    0x00201e27u, 0x00201e28u, 0x00201e29u, 0x00201e2au, 0x00201e2bu, 0x00201e2cu, 0x00201e2du, 0x00201e2eu,
    0x00201e2fu, 0x00201e30u, 0x00201e31u, 0x00201e32u, 0x00201e33u, 0x00201e34u, 0x00201e35u, 0x00201e36u,
    0x00201e37u, 0x00201e38u, 0x00201e39u, 0x00201e3au, 0x00201e3bu, 0x00201e3cu, 0x00201e3du, 0x00201e3eu,
    0x00201e3fu, 0x00201e40u, 0x00201e41u, 0x00201e42u, 0x00201e43u, 0x00201e44u, 0x00201e45u, 0x00201e46u,
    0x00201e47u, 0x00201e48u, 0x00201e49u, 0x00201e4au, 0x00201e4bu, 0x00201e4cu, 0x00201e4du, 0x00201e4eu,
    0x00201e4fu, 0x00201e50u, 0x00201e51u, 0x00201e52u, 0x00201e53u, 0x00201e54u, 0x00201e55u, 0x00201e56u,
    0x00201e57u, 0x00201e58u, 0x00201e59u, 0x00201e5au, 0x00201e5bu, 0x00201e5cu, 0x00201e5du, 0x00201e5eu,
    0x00201e5fu, 0x00201e60u, 0x00201e61u, 0x00201e62u, 0x00201e63u, 0x00201e64u, 0x00201e65u, 0x00201e66u,
    0x00201e67u, 0x00201e68u, 0x00201e69u, 0x00201e6au, 0x00201e6bu, 0x00201e6cu, 0x00201e6du, 0x00201e6eu,
    0x00201e6fu, 0x00201e70u, 0x00201e71u, 0x00201e72u, 0x00201e73u, 0x00201e74u, 0x00201e75u, 0x00201e76u,
    0x00201e77u, 0x00201e78u, 0x00201e79u, 0x00201e7au, 0x00201e7bu, 0x00201e7cu, 0x00201e7du, 0x00201e7eu,
    0x00201e7fu, 0x00201e80u, 0x00201e81u, 0x00201e82u, 0x00201e83u, 0x00201e84u, 0x00201e85u, 0x00201e86u,
    0x00201e87u, 0x00201e88u, 0x00201e89u, 0x00201e8au, 0x00201e8bu, 0x00201e8cu, 0x00201e8du, 0x00201e8eu,
    0x00201e8fu, 0x00201e90u, 0x00201e91u, 0x00201e92u, 0x00201e93u, 0x00201e94u, 0x00201e95u, 0x00201e96u,
    0x00201e97u, 0x00201e98u, 0x00201e99u, 0x00201e9bu, 0x00201ea0u, 0x00201ea1u, 0x00201ea2u, 0x00201ea3u,
    0x00201ea4u, 0x00201ea5u, 0x00201ea6u, 0x00201ea7u, 0x00201ea8u, 0x00201ea9u, 0x00201eaau, 0x00201eabu,
    0x00201eacu, 0x00201eadu, 0x00201eaeu, 0x00201eafu, 0x00201eb0u, 0x00201eb1u, 0x00201eb2u, 0x00201eb3u,
    0x00201eb4u, 0x00201eb5u, 0x00201eb6u, 0x00201eb7u, 0x00201eb8u, 0x00201eb9u, 0x00201ebau, 0x00201ebbu,
    0x00201ebcu, 0x00201ebdu, 0x00201ebeu, 0x00201ebfu, 0x00201ec0u, 0x00201ec1u, 0x00201ec2u, 0x00201ec3u,
    0x00201ec4u, 0x00201ec5u, 0x00201ec6u, 0x00201ec7u, 0x00201ec8u, 0x00201ec9u, 0x00201ecau, 0x00201ecbu,
    0x00201eccu, 0x00201ecdu, 0x00201eceu, 0x00201ecfu, 0x00201ed0u, 0x00201ed1u, 0x00201ed2u, 0x00201ed3u,
    0x00201ed4u, 0x00201ed5u, 0x00201ed6u, 0x00201ed7u, 0x00201ed8u, 0x00201ed9u, 0x00201edau, 0x00201edbu,
    0x00201edcu, 0x00201eddu, 0x00201edeu, 0x00201edfu, 0x00201ee0u, 0x00201ee1u, 0x00201ee2u, 0x00201ee3u,
    0x00201ee4u, 0x00201ee5u, 0x00201ee6u, 0x00201ee7u, 0x00201ee8u, 0x00201ee9u, 0x00201eeau, 0x00201eebu,
    0x00201eecu, 0x00201eedu, 0x00201eeeu, 0x00201eefu, 0x00201ef0u, 0x00201ef1u, 0x00201ef2u, 0x00201ef3u,
    0x00201ef4u, 0x00201ef5u, 0x00201ef6u, 0x00201ef7u, 0x00201ef8u, 0x00201ef9u, 0x01001f00u, 0x01001f08u,
    0x00c01f10u, 0x00c01f18u, 0x01001f20u, 0x01001f28u, 0x01001f30u, 0x01001f38u, 0x00c01f40u, 0x00c01f48u,
    0x01001f50u, 0x00201f59u, 0x00201f5bu, 0x00201f5du, 0x00201f5fu, 0x01001f60u, 0x01001f68u, 0x00401f70u,
    0x00401f72u, 0x00401f74u, 0x00401f76u, 0x00401f78u, 0x00401f7au, 0x00401f7cu, 0x01001f80u, 0x01001f88u,
    0x01001f90u, 0x01001f98u, 0x01001fa0u, 0x01001fa8u, 0x00a01fb0u, 0x00401fb6u, 0x00a01fb8u, 0x00201fbeu,
    0x00201fc1u, 0x00601fc2u, 0x00401fc6u, 0x00401fc8u, 0x00601fcau, 0x00601fcdu, 0x00801fd0u, 0x00401fd6u,
    0x00801fd8u, 0x00601fddu, 0x00801fe0u, 0x00401fe4u, 0x00401fe6u, 0x00801fe8u, 0x00201fecu, 0x00401fedu,
    0x00201fefu, 0x00601ff2u, 0x00401ff6u, 0x00401ff8u, 0x00601ffau, 0x00201ffdu, 0x00202000u, 0x00202001u,
    0x00202126u, 0x0020212au, 0x0020212bu, 0x0020219au, 0x0020219bu, 0x002021aeu, 0x002021cdu, 0x002021ceu,
    0x002021cfu, 0x00202204u, 0x00202209u, 0x0020220cu, 0x00202224u, 0x00202226u, 0x00202241u, 0x00202244u,
    0x00202247u, 0x00202249u, 0x00202260u, 0x00202262u, 0x0020226du, 0x0020226eu, 0x0020226fu, 0x00202270u,
    0x00202271u, 0x00202274u, 0x00202275u, 0x00202278u, 0x00202279u, 0x00202280u, 0x00202281u, 0x00202284u,
    0x00202285u, 0x00202288u, 0x00202289u, 0x002022acu, 0x002022adu, 0x002022aeu, 0x002022afu, 0x002022e0u,
    0x002022e1u, 0x002022e2u, 0x002022e3u, 0x002022eau, 0x002022ebu, 0x002022ecu, 0x002022edu, 0x00202329u,
    0x0020232au, 0x00202adcu, 0x0020304cu, 0x0020304eu, 0x00203050u, 0x00203052u, 0x00203054u, 0x00203056u,
    0x00203058u, 0x0020305au, 0x0020305cu, 0x0020305eu, 0x00203060u, 0x00203062u, 0x00203065u, 0x00203067u,
    0x00203069u, 0x00403070u, 0x00403073u, 0x00403076u, 0x00403079u, 0x0040307cu, 0x00203094u, 0x0020309eu,
    0x002030acu, 0x002030aeu, 0x002030b0u, 0x002030b2u, 0x002030b4u, 0x002030b6u, 0x002030b8u, 0x002030bau,
    0x002030bcu, 0x002030beu, 0x002030c0u, 0x002030c2u, 0x002030c5u, 0x002030c7u, 0x002030c9u, 0x004030d0u,
    0x004030d3u, 0x004030d6u, 0x004030d9u, 0x004030dcu, 0x002030f4u, 0x002030f7u, 0x002030f8u, 0x002030f9u,
    0x002030fau, 0x002030feu, 0x4980ac00u, 0x4980ae4cu, 0x4980b098u, 0x4980b2e4u, 0x4980b530u, 0x4980b77cu,
    0x4980b9c8u, 0x4980bc14u, 0x4980be60u, 0x4980c0acu, 0x4980c2f8u, 0x4980c544u, 0x4980c790u, 0x4980c9dcu,
    0x4980cc28u, 0x4980ce74u, 0x4980d0c0u, 0x4980d30cu, 0x4980d558u, 0x0020f900u, 0x0020f901u, 0x0020f902u,
    0x0020f903u, 0x0020f904u, 0x0020f905u, 0x0020f906u, 0x0040f907u, 0x0020f909u, 0x0020f90au, 0x0020f90bu,
    0x0020f90cu, 0x0020f90du, 0x0020f90eu, 0x0020f90fu, 0x0020f910u, 0x0020f911u, 0x0020f912u, 0x0020f913u,
    0x0020f914u, 0x0020f915u, 0x0020f916u, 0x0020f917u, 0x0020f918u, 0x0020f919u, 0x0020f91au, 0x0020f91bu,
    0x0020f91cu, 0x0020f91du, 0x0020f91eu, 0x0020f91fu, 0x0020f920u, 0x0020f921u, 0x0020f922u, 0x0020f923u,
    0x0020f924u, 0x0020f925u, 0x0020f926u, 0x0020f927u, 0x0020f928u, 0x0020f929u, 0x0020f92au, 0x0020f92bu,
    0x0020f92cu, 0x0020f92du, 0x0020f92eu, 0x0020f92fu, 0x0020f930u, 0x0020f931u, 0x0020f932u, 0x0020f933u,
    0x0020f934u, 0x0020f935u, 0x0020f936u, 0x0020f937u, 0x0020f938u, 0x0020f939u, 0x0020f93au, 0x0020f93bu,
    0x0020f93cu, 0x0020f93du, 0x0020f93eu, 0x0020f93fu, 0x0020f940u, 0x0020f941u, 0x0020f942u, 0x0020f943u,
    0x0020f944u, 0x0020f945u, 0x0020f946u, 0x0020f947u, 0x0020f948u, 0x0020f949u, 0x0020f94au, 0x0020f94bu,
    0x0020f94cu, 0x0020f94du, 0x0020f94eu, 0x0020f94fu, 0x0020f950u, 0x0020f951u, 0x0020f952u, 0x0020f953u,
    0x0020f954u, 0x0020f955u, 0x0020f956u, 0x0020f957u, 0x0020f958u, 0x0020f959u, 0x0020f95au, 0x0020f95bu,
    0x0020f95cu, 0x0020f95du, 0x0020f95eu, 0x0020f95fu, 0x0020f960u, 0x0020f961u, 0x0020f962u, 0x0020f963u,
    0x0020f964u, 0x0020f965u, 0x0020f966u, 0x0020f967u, 0x0020f968u, 0x0020f969u, 0x0020f96au, 0x0020f96bu,
    0x0020f96cu, 0x0020f96du, 0x0020f96eu, 0x0020f96fu, 0x0020f970u, 0x0020f971u, 0x0020f972u, 0x0020f973u,
    0x0020f974u, 0x0020f975u, 0x0020f976u, 0x0020f977u, 0x0020f978u, 0x0020f979u, 0x0020f97au, 0x0020f97bu,
    0x0020f97cu, 0x0020f97du, 0x0020f97eu, 0x0020f97fu, 0x0020f980u, 0x0020f981u, 0x0020f982u, 0x0020f983u,
    0x0020f984u, 0x0020f985u, 0x0020f986u, 0x0020f987u, 0x0020f988u, 0x0020f989u, 0x0020f98au, 0x0020f98bu,
    0x0020f98cu, 0x0020f98du, 0x0020f98eu, 0x0020f98fu, 0x0020f990u, 0x0020f991u, 0x0020f992u, 0x0020f993u,
    0x0020f994u, 0x0020f995u, 0x0020f996u, 0x0020f997u, 0x0020f998u, 0x0020f999u, 0x0020f99au, 0x0020f99bu,
    0x0020f99cu, 0x0020f99du, 0x0020f99eu, 0x0020f99fu, 0x0020f9a0u, 0x0020f9a1u, 0x0020f9a2u, 0x0020f9a3u,
    0x0020f9a4u, 0x0020f9a5u, 0x0020f9a6u, 0x0020f9a7u, 0x0020f9a8u, 0x0020f9a9u, 0x0020f9aau, 0x0020f9abu,
    0x0020f9acu, 0x0020f9adu, 0x0020f9aeu, 0x0020f9afu, 0x0020f9b0u, 0x0020f9b1u, 0x0020f9b2u, 0x0020f9b3u,
    0x0020f9b4u, 0x0020f9b5u, 0x0020f9b6u, 0x0020f9b7u, 0x0020f9b8u, 0x0020f9b9u, 0x0020f9bau, 0x0020f9bbu,
    0x0020f9bcu, 0x0020f9bdu, 0x0020f9beu, 0x0020f9bfu, 0x0020f9c0u, 0x0020f9c1u, 0x0020f9c2u, 0x0020f9c3u,
    0x0020f9c4u, 0x0020f9c5u, 0x0020f9c6u, 0x0020f9c7u, 0x0020f9c8u, 0x0020f9c9u, 0x0020f9cau, 0x0020f9cbu,
    0x0020f9ccu, 0x0020f9cdu, 0x0020f9ceu, 0x0020f9cfu, 0x0020f9d0u, 0x0020f9d1u, 0x0020f9d2u, 0x0020f9d3u,
    0x0020f9d4u, 0x0020f9d5u, 0x0020f9d6u, 0x0020f9d7u, 0x0020f9d8u, 0x0020f9d9u, 0x0020f9dau, 0x0020f9dbu,
    0x0020f9dcu, 0x0020f9ddu, 0x0020f9deu, 0x0020f9dfu, 0x0020f9e0u, 0x0020f9e1u, 0x0020f9e2u, 0x0020f9e3u,
    0x0020f9e4u, 0x0020f9e5u, 0x0020f9e6u, 0x0020f9e7u, 0x0020f9e8u, 0x0020f9e9u, 0x0020f9eau, 0x0020f9ebu,
    0x0020f9ecu, 0x0020f9edu, 0x0020f9eeu, 0x0020f9efu, 0x0020f9f0u, 0x0020f9f1u, 0x0020f9f2u, 0x0020f9f3u,
    0x0020f9f4u, 0x0020f9f5u, 0x0020f9f6u, 0x0020f9f7u, 0x0020f9f8u, 0x0020f9f9u, 0x0020f9fau, 0x0020f9fbu,
    0x0020f9fcu, 0x0020f9fdu, 0x0020f9feu, 0x0020f9ffu, 0x0020fa00u, 0x0020fa01u, 0x0020fa02u, 0x0020fa03u,
    0x0020fa04u, 0x0020fa05u, 0x0020fa06u, 0x0020fa07u, 0x0020fa08u, 0x0020fa09u, 0x0020fa0au, 0x0020fa0bu,
    0x0020fa0cu, 0x0020fa0du, 0x0020fa10u, 0x0020fa12u, 0x0020fa15u, 0x0020fa16u, 0x0020fa17u, 0x0020fa18u,
    0x0020fa19u, 0x0020fa1au, 0x0020fa1bu, 0x0020fa1cu, 0x0020fa1du, 0x0020fa1eu, 0x0020fa20u, 0x0020fa22u,
    0x0020fa25u, 0x0020fa26u, 0x0020fa2au, 0x0020fa2bu, 0x0020fa2cu, 0x0020fa2du, 0x0020fa2eu, 0x0020fa2fu,
    0x0020fa30u, 0x0020fa31u, 0x0020fa32u, 0x0020fa33u, 0x0020fa34u, 0x0020fa35u, 0x0020fa36u, 0x0020fa37u,
    0x0020fa38u, 0x0020fa39u, 0x0020fa3au, 0x0020fa3bu, 0x0020fa3cu, 0x0020fa3du, 0x0020fa3eu, 0x0020fa3fu,
    0x0020fa40u, 0x0020fa41u, 0x0020fa42u, 0x0020fa43u, 0x0020fa44u, 0x0020fa45u, 0x0020fa46u, 0x0020fa47u,
    0x0020fa48u, 0x0020fa49u, 0x0020fa4au, 0x0020fa4bu, 0x0020fa4cu, 0x0020fa4du, 0x0020fa4eu, 0x0020fa4fu,
    0x0020fa50u, 0x0020fa51u, 0x0020fa52u, 0x0020fa53u, 0x0020fa54u, 0x0020fa55u, 0x0020fa56u, 0x0020fa57u,
    0x0020fa58u, 0x0020fa59u, 0x0020fa5au, 0x0020fa5bu, 0x0020fa5cu, 0x0040fa5du, 0x0020fa5fu, 0x0020fa60u,
    0x0020fa61u, 0x0020fa62u, 0x0020fa63u, 0x0020fa64u, 0x0020fa65u, 0x0020fa66u, 0x0020fa67u, 0x0020fa68u,
    0x0020fa69u, 0x0020fa6au, 0x0020fa6bu, 0x0020fa6cu, 0x0020fa6du, 0x0020fa70u, 0x0020fa71u, 0x0020fa72u,
    0x0020fa73u, 0x0020fa74u, 0x0020fa75u, 0x0020fa76u, 0x0020fa77u, 0x0020fa78u, 0x0020fa79u, 0x0020fa7au,
    0x0020fa7bu, 0x0020fa7cu, 0x0020fa7du, 0x0020fa7eu, 0x0020fa7fu, 0x0020fa80u, 0x0020fa81u, 0x0020fa82u,
    0x0020fa83u, 0x0020fa84u, 0x0020fa85u, 0x0020fa86u, 0x0020fa87u, 0x0020fa88u, 0x0020fa89u, 0x0020fa8au,
    0x0020fa8bu, 0x0020fa8cu, 0x0020fa8du, 0x0020fa8eu, 0x0020fa8fu, 0x0020fa90u, 0x0020fa91u, 0x0020fa92u,
    0x0020fa93u, 0x0020fa94u, 0x0020fa95u, 0x0020fa96u, 0x0020fa97u, 0x0020fa98u, 0x0020fa99u, 0x0020fa9au,
    0x0020fa9bu, 0x0020fa9cu, 0x0020fa9du, 0x0020fa9eu, 0x0020fa9fu, 0x0020faa0u, 0x0020faa1u, 0x0020faa2u,
    0x0020faa3u, 0x0020faa4u, 0x0020faa5u, 0x0020faa6u, 0x0020faa7u, 0x0020faa8u, 0x0020faa9u, 0x0020faaau,
    0x0020faabu, 0x0020faacu, 0x0020faadu, 0x0020faaeu, 0x0020faafu, 0x0020fab0u, 0x0020fab1u, 0x0020fab2u,
    0x0020fab3u, 0x0020fab4u, 0x0020fab5u, 0x0020fab6u, 0x0020fab7u, 0x0020fab8u, 0x0020fab9u, 0x0020fabau,
    0x0020fabbu, 0x0020fabcu, 0x0020fabdu, 0x0020fabeu, 0x0020fabfu, 0x0020fac0u, 0x0020fac1u, 0x0020fac2u,
    0x0020fac3u, 0x0020fac4u, 0x0020fac5u, 0x0020fac6u, 0x0020fac7u, 0x0020fac8u, 0x0020fac9u, 0x0020facau,
    0x0020facbu, 0x0020faccu, 0x0020facdu, 0x0020faceu, 0x0020facfu, 0x0020fad0u, 0x0020fad1u, 0x0020fad2u,
    0x0020fad3u, 0x0020fad4u, 0x0020fad5u, 0x0020fad6u, 0x0020fad7u, 0x0020fad8u, 0x0020fad9u, 0x0020fb1du,
    0x0020fb1fu, 0x0080fb2au, 0x0060fb2eu, 0x0020fb31u, 0x0020fb32u, 0x0020fb33u, 0x0020fb34u, 0x0020fb35u,
    0x0020fb36u, 0x0020fb38u, 0x0020fb39u, 0x0020fb3au, 0x0020fb3bu, 0x0020fb3cu, 0x0020fb3eu, 0x0020fb40u,
    0x0020fb41u, 0x0020fb43u, 0x0020fb44u, 0x0020fb46u, 0x0020fb47u, 0x0020fb48u, 0x0020fb49u, 0x0020fb4au,
    0x0020fb4bu, 0x0020fb4cu, 0x0020fb4du, 0x0020fb4eu, 0x0021109au, 0x0021109cu, 0x002110abu, 0x0021112eu,
    0x0021112fu, 0x0041134bu, 0x004114bbu, 0x002114beu, 0x002115bau, 0x002115bbu, 0x00211938u, 0x0021d15eu,
    0x00c1d15fu, 0x0021d1bbu, 0x0021d1bcu, 0x0021d1bdu, 0x0021d1beu, 0x0021d1bfu, 0x0021d1c0u, 0x0022f800u,
    0x0022f801u, 0x0022f802u, 0x0022f803u, 0x0022f804u, 0x0022f805u, 0x0022f806u, 0x0022f807u, 0x0022f808u,
    0x0022f809u, 0x0022f80au, 0x0022f80bu, 0x0022f80cu, 0x0022f80du, 0x0022f80eu, 0x0022f80fu, 0x0022f810u,
    0x0022f811u, 0x0022f812u, 0x0022f813u, 0x0022f814u, 0x0022f815u, 0x0022f816u, 0x0022f817u, 0x0022f818u,
    0x0022f819u, 0x0022f81au, 0x0022f81bu, 0x0022f81cu, 0x0022f81du, 0x0022f81eu, 0x0022f81fu, 0x0022f820u,
    0x0022f821u, 0x0022f822u, 0x0022f823u, 0x0022f824u, 0x0022f825u, 0x0022f826u, 0x0022f827u, 0x0022f828u,
    0x0022f829u, 0x0022f82au, 0x0022f82bu, 0x0022f82cu, 0x0022f82du, 0x0022f82eu, 0x0022f82fu, 0x0022f830u,
    0x0062f831u, 0x0022f834u, 0x0022f835u, 0x0022f836u, 0x0022f837u, 0x0022f838u, 0x0022f839u, 0x0022f83au,
    0x0022f83bu, 0x0022f83cu, 0x0022f83du, 0x0022f83eu, 0x0022f83fu, 0x0022f840u, 0x0022f841u, 0x0022f842u,
    0x0022f843u, 0x0022f844u, 0x0042f845u, 0x0022f847u, 0x0022f848u, 0x0022f849u, 0x0022f84au, 0x0022f84bu,
    0x0022f84cu, 0x0022f84du, 0x0022f84eu, 0x0022f84fu, 0x0022f850u, 0x0022f851u, 0x0022f852u, 0x0022f853u,
    0x0022f854u, 0x0022f855u, 0x0022f856u, 0x0022f857u, 0x0022f858u, 0x0022f859u, 0x0022f85au, 0x0022f85bu,
    0x0022f85cu, 0x0022f85du, 0x0022f85eu, 0x0022f85fu, 0x0022f860u, 0x0022f861u, 0x0022f862u, 0x0022f863u,
    0x0022f864u, 0x0022f865u, 0x0022f866u, 0x0022f867u, 0x0022f868u, 0x0022f869u, 0x0042f86au, 0x0022f86cu,
    0x0022f86du, 0x0022f86eu, 0x0022f86fu, 0x0022f870u, 0x0022f871u, 0x0022f872u, 0x0022f873u, 0x0022f874u,
    0x0022f875u, 0x0022f876u, 0x0022f877u, 0x0022f878u, 0x0022f879u, 0x0022f87au, 0x0022f87bu, 0x0022f87cu,
    0x0022f87du, 0x0022f87eu, 0x0022f87fu, 0x0022f880u, 0x0022f881u, 0x0022f882u, 0x0022f883u, 0x0022f884u,
    0x0022f885u, 0x0022f886u, 0x0022f887u, 0x0022f888u, 0x0022f889u, 0x0022f88au, 0x0022f88bu, 0x0022f88cu,
    0x0022f88du, 0x0022f88eu, 0x0022f88fu, 0x0022f890u, 0x0042f891u, 0x0022f893u, 0x0042f894u, 0x0022f896u,
    0x0022f897u, 0x0022f898u, 0x0022f899u, 0x0022f89au, 0x0022f89bu, 0x0022f89cu, 0x0022f89du, 0x0022f89eu,
    0x0022f89fu, 0x0022f8a0u, 0x0022f8a1u, 0x0022f8a2u, 0x0022f8a3u, 0x0022f8a4u, 0x0022f8a5u, 0x0022f8a6u,
    0x0022f8a7u, 0x0022f8a8u, 0x0022f8a9u, 0x0022f8aau, 0x0022f8abu, 0x0022f8acu, 0x0022f8adu, 0x0022f8aeu,
    0x0022f8afu, 0x0022f8b0u, 0x0022f8b1u, 0x0022f8b2u, 0x0022f8b3u, 0x0022f8b4u, 0x0022f8b5u, 0x0022f8b6u,
    0x0022f8b7u, 0x0022f8b8u, 0x0022f8b9u, 0x0022f8bau, 0x0022f8bbu, 0x0022f8bcu, 0x0022f8bdu, 0x0022f8beu,
    0x0022f8bfu, 0x0022f8c0u, 0x0022f8c1u, 0x0022f8c2u, 0x0022f8c3u, 0x0022f8c4u, 0x0022f8c5u, 0x0022f8c6u,
    0x0022f8c7u, 0x0022f8c8u, 0x0022f8c9u, 0x0022f8cau, 0x0022f8cbu, 0x0022f8ccu, 0x0022f8cdu, 0x0022f8ceu,
    0x0022f8cfu, 0x0022f8d0u, 0x0022f8d1u, 0x0022f8d2u, 0x0022f8d3u, 0x0022f8d4u, 0x0022f8d5u, 0x0022f8d6u,
    0x0022f8d7u, 0x0022f8d8u, 0x0022f8d9u, 0x0022f8dau, 0x0022f8dbu, 0x0022f8dcu, 0x0022f8ddu, 0x0022f8deu,
    0x0022f8dfu, 0x0022f8e0u, 0x0022f8e1u, 0x0022f8e2u, 0x0022f8e3u, 0x0022f8e4u, 0x0022f8e5u, 0x0022f8e6u,
    0x0022f8e7u, 0x0022f8e8u, 0x0022f8e9u, 0x0022f8eau, 0x0022f8ebu, 0x0022f8ecu, 0x0022f8edu, 0x0022f8eeu,
    0x0022f8efu, 0x0022f8f0u, 0x0022f8f1u, 0x0022f8f2u, 0x0022f8f3u, 0x0022f8f4u, 0x0022f8f5u, 0x0022f8f6u,
    0x0022f8f7u, 0x0022f8f8u, 0x0022f8f9u, 0x0022f8fau, 0x0022f8fbu, 0x0022f8fcu, 0x0022f8fdu, 0x0022f8feu,
    0x0022f8ffu, 0x0022f900u, 0x0022f901u, 0x0022f902u, 0x0022f903u, 0x0022f904u, 0x0022f905u, 0x0022f906u,
    0x0022f907u, 0x0022f908u, 0x0022f909u, 0x0022f90au, 0x0022f90bu, 0x0022f90cu, 0x0022f90du, 0x0022f90eu,
    0x0022f90fu, 0x0022f910u, 0x0022f911u, 0x0022f912u, 0x0022f913u, 0x0022f914u, 0x0022f915u, 0x0022f916u,
    0x0022f917u, 0x0022f918u, 0x0022f919u, 0x0022f91au, 0x0022f91bu, 0x0022f91cu, 0x0022f91du, 0x0022f91eu,
    0x0022f91fu, 0x0022f920u, 0x0022f921u, 0x0022f922u, 0x0022f923u, 0x0022f924u, 0x0022f925u, 0x0022f926u,
    0x0022f927u, 0x0022f928u, 0x0022f929u, 0x0022f92au, 0x0022f92bu, 0x0042f92cu, 0x0022f92eu, 0x0022f92fu,
    0x0022f930u, 0x0022f931u, 0x0022f932u, 0x0022f933u, 0x0022f934u, 0x0022f935u, 0x0022f936u, 0x0022f937u,
    0x0022f938u, 0x0022f939u, 0x0022f93au, 0x0022f93bu, 0x0022f93cu, 0x0022f93du, 0x0022f93eu, 0x0022f93fu,
    0x0022f940u, 0x0022f941u, 0x0022f942u, 0x0022f943u, 0x0022f944u, 0x0022f945u, 0x0042f946u, 0x0022f948u,
    0x0022f949u, 0x0022f94au, 0x0022f94bu, 0x0022f94cu, 0x0022f94du, 0x0022f94eu, 0x0022f94fu, 0x0022f950u,
    0x0022f951u, 0x0022f952u, 0x0022f953u, 0x0022f954u, 0x0022f955u, 0x0022f956u, 0x0022f957u, 0x0022f958u,
    0x0022f959u, 0x0022f95au, 0x0022f95bu, 0x0022f95cu, 0x0042f95du, 0x0022f95fu, 0x0022f960u, 0x0022f961u,
    0x0022f962u, 0x0022f963u, 0x0022f964u, 0x0022f965u, 0x0022f966u, 0x0022f967u, 0x0022f968u, 0x0022f969u,
    0x0022f96au, 0x0022f96bu, 0x0022f96cu, 0x0022f96du, 0x0022f96eu, 0x0022f96fu, 0x0022f970u, 0x0022f971u,
    0x0022f972u, 0x0022f973u, 0x0022f974u, 0x0022f975u, 0x0022f976u, 0x0022f977u, 0x0022f978u, 0x0022f979u,
    0x0022f97au, 0x0022f97bu, 0x0022f97cu, 0x0022f97du, 0x0022f97eu, 0x0022f97fu, 0x0022f980u, 0x0022f981u,
    0x0022f982u, 0x0022f983u, 0x0022f984u, 0x0022f985u, 0x0022f986u, 0x0022f987u, 0x0022f988u, 0x0022f989u,
    0x0022f98au, 0x0022f98bu, 0x0022f98cu, 0x0022f98du, 0x0022f98eu, 0x0022f98fu, 0x0022f990u, 0x0022f991u,
    0x0022f992u, 0x0022f993u, 0x0022f994u, 0x0022f995u, 0x0022f996u, 0x0022f997u, 0x0022f998u, 0x0022f999u,
    0x0022f99au, 0x0022f99bu, 0x0022f99cu, 0x0022f99du, 0x0022f99eu, 0x0022f99fu, 0x0022f9a0u, 0x0022f9a1u,
    0x0022f9a2u, 0x0022f9a3u, 0x0022f9a4u, 0x0022f9a5u, 0x0022f9a6u, 0x0022f9a7u, 0x0022f9a8u, 0x0022f9a9u,
    0x0022f9aau, 0x0022f9abu, 0x0022f9acu, 0x0022f9adu, 0x0022f9aeu, 0x0022f9afu, 0x0022f9b0u, 0x0022f9b1u,
    0x0022f9b2u, 0x0022f9b3u, 0x0022f9b4u, 0x0022f9b5u, 0x0022f9b6u, 0x0022f9b7u, 0x0022f9b8u, 0x0022f9b9u,
    0x0022f9bau, 0x0022f9bbu, 0x0022f9bcu, 0x0022f9bdu, 0x0022f9beu, 0x0022f9bfu, 0x0022f9c0u, 0x0022f9c1u,
    0x0022f9c2u, 0x0022f9c3u, 0x0022f9c4u, 0x0022f9c5u, 0x0022f9c6u, 0x0022f9c7u, 0x0022f9c8u, 0x0022f9c9u,
    0x0022f9cau, 0x0022f9cbu, 0x0022f9ccu, 0x0022f9cdu, 0x0022f9ceu, 0x0022f9cfu, 0x0022f9d0u, 0x0022f9d1u,
    0x0022f9d2u, 0x0022f9d3u, 0x0022f9d4u, 0x0022f9d5u, 0x0022f9d6u, 0x0022f9d7u, 0x0022f9d8u, 0x0022f9d9u,
    0x0022f9dau, 0x0022f9dbu, 0x0022f9dcu, 0x0022f9ddu, 0x0022f9deu, 0x0022f9dfu, 0x0022f9e0u, 0x0022f9e1u,
    0x0022f9e2u, 0x0022f9e3u, 0x0022f9e4u, 0x0022f9e5u, 0x0022f9e6u, 0x0022f9e7u, 0x0022f9e8u, 0x0022f9e9u,
    0x0022f9eau, 0x0022f9ebu, 0x0022f9ecu, 0x0022f9edu, 0x0022f9eeu, 0x0022f9efu, 0x0022f9f0u, 0x0022f9f1u,
    0x0022f9f2u, 0x0022f9f3u, 0x0022f9f4u, 0x0022f9f5u, 0x0022f9f6u, 0x0022f9f7u, 0x0022f9f8u, 0x0022f9f9u,
    0x0022f9fau, 0x0022f9fbu, 0x0022f9fcu, 0x0022f9fdu, 0x0042f9feu, 0x0022fa00u, 0x0022fa01u, 0x0022fa02u,
    0x0022fa03u, 0x0022fa04u, 0x0022fa05u, 0x0022fa06u, 0x0022fa07u, 0x0022fa08u, 0x0022fa09u, 0x0022fa0au,
    0x0022fa0bu, 0x0022fa0cu, 0x0022fa0du, 0x0022fa0eu, 0x0022fa0fu, 0x0022fa10u, 0x0022fa11u, 0x0022fa12u,
    0x0022fa13u, 0x0022fa14u, 0x0022fa15u, 0x0022fa16u, 0x0022fa17u, 0x0022fa18u, 0x0022fa19u, 0x0022fa1au,
    0x0022fa1bu, 0x0022fa1cu, 0x0022fa1du,
};
static const uint32_t ck__unfd_to[1827] = {
    0x00041, 0x00043, 0x00045, 0x00049, 0x0004e, 0x0004f, 0x00055, 0x00059,
    0x00061, 0x00063, 0x00065, 0x00069, 0x0006e, 0x0006f, 0x00075, 0x00079,
    0x00079, 0x00041, 0x00061, 0x00041, 0x00061, 0x00041, 0x00061, 0x00043,
    0x00063, 0x00043, 0x00063, 0x00043, 0x00063, 0x00043, 0x00063, 0x00044,
    0x00064, 0x00045, 0x00065, 0x00045, 0x00065, 0x00045, 0x00065, 0x00045,
    0x00065, 0x00045, 0x00065, 0x00047, 0x00067, 0x00047, 0x00067, 0x00047,
    0x00067, 0x00047, 0x00067, 0x00048, 0x00068, 0x00049, 0x00069, 0x00049,
    0x00069, 0x00049, 0x00069, 0x00049, 0x00069, 0x00049, 0x0004a, 0x0006a,
    0x0004b, 0x0006b, 0x0004c, 0x0006c, 0x0004c, 0x0006c, 0x0004c, 0x0006c,
    0x0004e, 0x0006e, 0x0004e, 0x0006e, 0x0004e, 0x0006e, 0x0004f, 0x0006f,
    0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x00052, 0x00072, 0x00052, 0x00072,
    0x00052, 0x00072, 0x00053, 0x00073, 0x00053, 0x00073, 0x00053, 0x00073,
    0x00053, 0x00073, 0x00054, 0x00074, 0x00054, 0x00074, 0x00055, 0x00075,
    0x00055, 0x00075, 0x00055, 0x00075, 0x00055, 0x00075, 0x00055, 0x00075,
    0x00055, 0x00075, 0x00057, 0x00077, 0x00059, 0x00079, 0x00059, 0x0005a,
    0x0007a, 0x0005a, 0x0007a, 0x0005a, 0x0007a, 0x0004f, 0x0006f, 0x00055,
    0x00075, 0x00041, 0x00061, 0x00049, 0x00069, 0x0004f, 0x0006f, 0x00055,
    0x00075, 0x00055, 0x00075, 0x00055, 0x00075, 0x00055, 0x00075, 0x00055,
    0x00075, 0x00041, 0x00061, 0x00041, 0x00061, 0x000c6, 0x000e6, 0x00047,
    0x00067, 0x0004b, 0x0006b, 0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x001b7,
    0x00292, 0x0006a, 0x00047, 0x00067, 0x0004e, 0x0006e, 0x00041, 0x00061,
    0x000c6, 0x000e6, 0x000d8, 0x000f8, 0x00041, 0x00061, 0x00041, 0x00061,
    0x00045, 0x00065, 0x00045, 0x00065, 0x00049, 0x00069, 0x00049, 0x00069,
    0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x00052, 0x00072, 0x00052, 0x00072,
    0x00055, 0x00075, 0x00055, 0x00075, 0x00053, 0x00073, 0x00054, 0x00074,
    0x00048, 0x00068, 0x00041, 0x00061, 0x00045, 0x00065, 0x0004f, 0x0006f,
    0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x00059, 0x00079,
    0x00300, 0x00301, 0x00313, 0x00308, 0x002b9, 0x0003b, 0x000a8, 0x00391,
    0x000b7, 0x00395, 0x00397, 0x00399, 0x0039f, 0x003a5, 0x003a9, 0x003b9,
    0x00399, 0x003a5, 0x003b1, 0x003b5, 0x003b7, 0x003b9, 0x003c5, 0x003b9,
    0x003c5, 0x003bf, 0x003c5, 0x003c9, 0x003d2, 0x00415, 0x00413, 0x00406,
    0x0041a, 0x00418, 0x00423, 0x00418, 0x00438, 0x00435, 0x00433, 0x00456,
    0x0043a, 0x00438, 0x00443, 0x00474, 0x00475, 0x00416, 0x00436, 0x00410,
    0x00430, 0x00410, 0x00430, 0x00415, 0x00435, 0x004d8, 0x004d9, 0x00416,
    0x00436, 0x00417, 0x00437, 0x00418, 0x00438, 0x00418, 0x00438, 0x0041e,
    0x0043e, 0x004e8, 0x004e9, 0x0042d, 0x0044d, 0x00423, 0x00443, 0x00423,
    0x00443, 0x00423, 0x00443, 0x00427, 0x00447, 0x0042b, 0x0044b, 0x00627,
    0x00648, 0x00627, 0x0064a, 0x006d5, 0x006c1, 0x006d2, 0x00928, 0x00930,
    0x00933, 0x00915, 0x00916, 0x00917, 0x0091c, 0x00921, 0x00922, 0x0092b,
    0x0092f, 0x009c7, 0x009a1, 0x009a2, 0x009af, 0x00a32, 0x00a38, 0x00a16,
    0x00a17, 0x00a1c, 0x00a2b, 0x00b47, 0x00b47, 0x00b21, 0x00b22, 0x00b92,
    0x00bc6, 0x00bc7, 0x00bc6, 0x00c46, 0x00cbf, 0x00cc6, 0x00cc6, 0x00d46,
    0x00d47, 0x00d46, 0x00dd9, 0x00dd9, 0x00f42, 0x00f4c, 0x00f51, 0x00f56,
    0x00f5b, 0x00f40, 0x00f71, 0x00f71, 0x00fb2, 0x00fb3, 0x00f71, 0x00f92,
    0x00f9c, 0x00fa1, 0x00fa6, 0x00fab, 0x00f90, 0x01025, 0x01b05, 0x01b07,
    0x01b09, 0x01b0b, 0x01b0d, 0x01b11, 0x01b3a, 0x01b3c, 0x01b3e, 0x01b3f,
    0x01b42, 0x00041, 0x00061, 0x00042, 0x00062, 0x00042, 0x00062, 0x00042,
    0x00062, 0x00043, 0x00063, 0x00044, 0x00064, 0x00044, 0x00064, 0x00044,
    0x00064, 0x00044, 0x00064, 0x00044, 0x00064, 0x00045, 0x00065, 0x00045,
    0x00065, 0x00045, 0x00065, 0x00045, 0x00065, 0x00045, 0x00065, 0x00046,
    0x00066, 0x00047, 0x00067, 0x00048, 0x00068, 0x00048, 0x00068, 0x00048,
    0x00068, 0x00048, 0x00068, 0x00048, 0x00068, 0x00049, 0x00069, 0x00049,
    0x00069, 0x0004b, 0x0006b, 0x0004b, 0x0006b, 0x0004b, 0x0006b, 0x0004c,
    0x0006c, 0x0004c, 0x0006c, 0x0004c, 0x0006c, 0x0004c, 0x0006c, 0x0004d,
    0x0006d, 0x0004d, 0x0006d, 0x0004d, 0x0006d, 0x0004e, 0x0006e, 0x0004e,
    0x0006e, 0x0004e, 0x0006e, 0x0004e, 0x0006e, 0x0004f, 0x0006f, 0x0004f,
    0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x00050, 0x00070, 0x00050,
    0x00070, 0x00052, 0x00072, 0x00052, 0x00072, 0x00052, 0x00072, 0x00052,
    0x00072, 0x00053, 0x00073, 0x00053, 0x00073, 0x00053, 0x00073, 0x00053,
    0x00073, 0x00053, 0x00073, 0x00054, 0x00074, 0x00054, 0x00074, 0x00054,
    0x00074, 0x00054, 0x00074, 0x00055, 0x00075, 0x00055, 0x00075, 0x00055,
    0x00075, 0x00055, 0x00075, 0x00055, 0x00075, 0x00056, 0x00076, 0x00056,
    0x00076, 0x00057, 0x00077, 0x00057, 0x00077, 0x00057, 0x00077, 0x00057,
    0x00077, 0x00057, 0x00077, 0x00058, 0x00078, 0x00058, 0x00078, 0x00059,
    0x00079, 0x0005a, 0x0007a, 0x0005a, 0x0007a, 0x0005a, 0x0007a, 0x00068,
    0x00074, 0x00077, 0x00079, 0x0017f, 0x00041, 0x00061, 0x00041, 0x00061,
    0x00041, 0x00061, 0x00041, 0x00061, 0x00041, 0x00061, 0x00041, 0x00061,
    0x00041, 0x00061, 0x00041, 0x00061, 0x00041, 0x00061, 0x00041, 0x00061,
    0x00041, 0x00061, 0x00041, 0x00061, 0x00045, 0x00065, 0x00045, 0x00065,
    0x00045, 0x00065, 0x00045, 0x00065, 0x00045, 0x00065, 0x00045, 0x00065,
    0x00045, 0x00065, 0x00045, 0x00065, 0x00049, 0x00069, 0x00049, 0x00069,
    0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f,
    0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f,
    0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f, 0x0004f, 0x0006f,
    0x00055, 0x00075, 0x00055, 0x00075, 0x00055, 0x00075, 0x00055, 0x00075,
    0x00055, 0x00075, 0x00055, 0x00075, 0x00055, 0x00075, 0x00059, 0x00079,
    0x00059, 0x00079, 0x00059, 0x00079, 0x00059, 0x00079, 0x003b1, 0x00391,
    0x003b5, 0x00395, 0x003b7, 0x00397, 0x003b9, 0x00399, 0x003bf, 0x0039f,
    0x003c5, 0x003a5, 0x003a5, 0x003a5, 0x003a5, 0x003c9, 0x003a9, 0x003b1,
    0x003b5, 0x003b7, 0x003b9, 0x003bf, 0x003c5, 0x003c9, 0x003b1, 0x00391,
    0x003b7, 0x00397, 0x003c9, 0x003a9, 0x003b1, 0x003b1, 0x00391, 0x003b9,
    0x000a8, 0x003b7, 0x003b7, 0x00395, 0x00397, 0x01fbf, 0x003b9, 0x003b9,
    0x00399, 0x01ffe, 0x003c5, 0x003c1, 0x003c5, 0x003a5, 0x003a1, 0x000a8,
    0x00060, 0x003c9, 0x003c9, 0x0039f, 0x003a9, 0x000b4, 0x02002, 0x02003,
    0x003a9, 0x0004b, 0x00041, 0x02190, 0x02192, 0x02194, 0x021d0, 0x021d4,
    0x021d2, 0x02203, 0x02208, 0x0220b, 0x02223, 0x02225, 0x0223c, 0x02243,
    0x02245, 0x02248, 0x0003d, 0x02261, 0x0224d, 0x0003c, 0x0003e, 0x02264,
    0x02265, 0x02272, 0x02273, 0x02276, 0x02277, 0x0227a, 0x0227b, 0x02282,
    0x02283, 0x02286, 0x02287, 0x022a2, 0x022a8, 0x022a9, 0x022ab, 0x0227c,
    0x0227d, 0x02291, 0x02292, 0x022b2, 0x022b3, 0x022b4, 0x022b5, 0x03008,
    0x03009, 0x02add, 0x0304b, 0x0304d, 0x0304f, 0x03051, 0x03053, 0x03055,
    0x03057, 0x03059, 0x0305b, 0x0305d, 0x0305f, 0x03061, 0x03064, 0x03066,
    0x03068, 0x0306f, 0x03072, 0x03075, 0x03078, 0x0307b, 0x03046, 0x0309d,
    0x030ab, 0x030ad, 0x030af, 0x030b1, 0x030b3, 0x030b5, 0x030b7, 0x030b9,
    0x030bb, 0x030bd, 0x030bf, 0x030c1, 0x030c4, 0x030c6, 0x030c8, 0x030cf,
    0x030d2, 0x030d5, 0x030d8, 0x030db, 0x030a6, 0x030ef, 0x030f0, 0x030f1,
    0x030f2, 0x030fd, 0x01100, 0x01101, 0x01102, 0x01103, 0x01104, 0x01105,
    0x01106, 0x01107, 0x01108, 0x01109, 0x0110a, 0x0110b, 0x0110c, 0x0110d,
    0x0110e, 0x0110f, 0x01110, 0x01111, 0x01112, 0x08c48, 0x066f4, 0x08eca,
    0x08cc8, 0x06ed1, 0x04e32, 0x053e5, 0x09f9c, 0x05951, 0x091d1, 0x05587,
    0x05948, 0x061f6, 0x07669, 0x07f85, 0x0863f, 0x087ba, 0x088f8, 0x0908f,
    0x06a02, 0x06d1b, 0x070d9, 0x073de, 0x0843d, 0x0916a, 0x099f1, 0x04e82,
    0x05375, 0x06b04, 0x0721b, 0x0862d, 0x09e1e, 0x05d50, 0x06feb, 0x085cd,
    0x08964, 0x062c9, 0x081d8, 0x0881f, 0x05eca, 0x06717, 0x06d6a, 0x072fc,
    0x090ce, 0x04f86, 0x051b7, 0x052de, 0x064c4, 0x06ad3, 0x07210, 0x076e7,
    0x08001, 0x08606, 0x0865c, 0x08def, 0x09732, 0x09b6f, 0x09dfa, 0x0788c,
    0x0797f, 0x07da0, 0x083c9, 0x09304, 0x09e7f, 0x08ad6, 0x058df, 0x05f04,
    0x07c60, 0x0807e, 0x07262, 0x078ca, 0x08cc2, 0x096f7, 0x058d8, 0x05c62,
    0x06a13, 0x06dda, 0x06f0f, 0x07d2f, 0x07e37, 0x0964b, 0x052d2, 0x0808b,
    0x051dc, 0x051cc, 0x07a1c, 0x07dbe, 0x083f1, 0x09675, 0x08b80, 0x062cf,
    0x06a02, 0x08afe, 0x04e39, 0x05be7, 0x06012, 0x07387, 0x07570, 0x05317,
    0x078fb, 0x04fbf, 0x05fa9, 0x04e0d, 0x06ccc, 0x06578, 0x07d22, 0x053c3,
    0x0585e, 0x07701, 0x08449, 0x08aaa, 0x06bba, 0x08fb0, 0x06c88, 0x062fe,
    0x082e5, 0x063a0, 0x07565, 0x04eae, 0x05169, 0x051c9, 0x06881, 0x07ce7,
    0x0826f, 0x08ad2, 0x091cf, 0x052f5, 0x05442, 0x05973, 0x05eec, 0x065c5,
    0x06ffe, 0x0792a, 0x095ad, 0x09a6a, 0x09e97, 0x09ece, 0x0529b, 0x066c6,
    0x06b77, 0x08f62, 0x05e74, 0x06190, 0x06200, 0x0649a, 0x06f23, 0x07149,
    0x07489, 0x079ca, 0x07df4, 0x0806f, 0x08f26, 0x084ee, 0x09023, 0x0934a,
    0x05217, 0x052a3, 0x054bd, 0x070c8, 0x088c2, 0x08aaa, 0x05ec9, 0x05ff5,
    0x0637b, 0x06bae, 0x07c3e, 0x07375, 0x04ee4, 0x056f9, 0x05be7, 0x05dba,
    0x0601c, 0x073b2, 0x07469, 0x07f9a, 0x08046, 0x09234, 0x096f6, 0x09748,
    0x09818, 0x04f8b, 0x079ae, 0x091b4, 0x096b8, 0x060e1, 0x04e86, 0x050da,
    0x05bee, 0x05c3f, 0x06599, 0x06a02, 0x071ce, 0x07642, 0x084fc, 0x0907c,
    0x09f8d, 0x06688, 0x0962e, 0x05289, 0x0677b, 0x067f3, 0x06d41, 0x06e9c,
    0x07409, 0x07559, 0x0786b, 0x07d10, 0x0985e, 0x0516d, 0x0622e, 0x09678,
    0x0502b, 0x05d19, 0x06dea, 0x08f2a, 0x05f8b, 0x06144, 0x06817, 0x07387,
    0x09686, 0x05229, 0x0540f, 0x05c65, 0x06613, 0x0674e, 0x068a8, 0x06ce5,
    0x07406, 0x075e2, 0x07f79, 0x088cf, 0x088e1, 0x091cc, 0x096e2, 0x0533f,
    0x06eba, 0x0541d, 0x071d0, 0x07498, 0x085fa, 0x096a3, 0x09c57, 0x09e9f,
    0x06797, 0x06dcb, 0x081e8, 0x07acb, 0x07b20, 0x07c92, 0x072c0, 0x07099,
    0x08b58, 0x04ec0, 0x08336, 0x0523a, 0x05207, 0x05ea6, 0x062d3, 0x07cd6,
    0x05b85, 0x06d1e, 0x066b4, 0x08f3b, 0x0884c, 0x0964d, 0x0898b, 0x05ed3,
    0x05140, 0x055c0, 0x0585a, 0x06674, 0x051de, 0x0732a, 0x076ca, 0x0793c,
    0x0795e, 0x07965, 0x0798f, 0x09756, 0x07cbe, 0x07fbd, 0x08612, 0x08af8,
    0x09038, 0x090fd, 0x098ef, 0x098fc, 0x09928, 0x09db4, 0x090de, 0x096b7,
    0x04fae, 0x050e7, 0x0514d, 0x052c9, 0x052e4, 0x05351, 0x0559d, 0x05606,
    0x05668, 0x05840, 0x058a8, 0x05c64, 0x05c6e, 0x06094, 0x06168, 0x0618e,
    0x061f2, 0x0654f, 0x065e2, 0x06691, 0x06885, 0x06d77, 0x06e1a, 0x06f22,
    0x0716e, 0x0722b, 0x07422, 0x07891, 0x0793e, 0x07949, 0x07948, 0x07950,
    0x07956, 0x0795d, 0x0798d, 0x0798e, 0x07a40, 0x07a81, 0x07bc0, 0x07df4,
    0x07e09, 0x07e41, 0x07f72, 0x08005, 0x081ed, 0x08279, 0x08457, 0x08910,
    0x08996, 0x08b01, 0x08b39, 0x08cd3, 0x08d08, 0x08fb6, 0x09038, 0x096e3,
    0x097ff, 0x0983b, 0x06075, 0x242ee, 0x08218, 0x04e26, 0x051b5, 0x05168,
    0x04f80, 0x05145, 0x05180, 0x052c7, 0x052fa, 0x0559d, 0x05555, 0x05599,
    0x055e2, 0x0585a, 0x058b3, 0x05944, 0x05954, 0x05a62, 0x05b28, 0x05ed2,
    0x05ed9, 0x05f69, 0x05fad, 0x060d8, 0x0614e, 0x06108, 0x0618e, 0x06160,
    0x061f2, 0x06234, 0x063c4, 0x0641c, 0x06452, 0x06556, 0x06674, 0x06717,
    0x0671b, 0x06756, 0x06b79, 0x06bba, 0x06d41, 0x06edb, 0x06ecb, 0x06f22,
    0x0701e, 0x0716e, 0x077a7, 0x07235, 0x072af, 0x0732a, 0x07471, 0x07506,
    0x0753b, 0x0761d, 0x0761f, 0x076ca, 0x076db, 0x076f4, 0x0774a, 0x07740,
    0x078cc, 0x07ab1, 0x07bc0, 0x07c7b, 0x07d5b, 0x07df4, 0x07f3e, 0x08005,
    0x08352, 0x083ef, 0x08779, 0x08941, 0x08986, 0x08996, 0x08abf, 0x08af8,
    0x08acb, 0x08b01, 0x08afe, 0x08aed, 0x08b39, 0x08b8a, 0x08d08, 0x08f38,
    0x09072, 0x09199, 0x09276, 0x0967c, 0x096e3, 0x09756, 0x097db, 0x097ff,
    0x0980b, 0x0983b, 0x09b12, 0x09f9c, 0x2284a, 0x22844, 0x233d5, 0x03b9d,
    0x04018, 0x04039, 0x25249, 0x25cd0, 0x27ed3, 0x09f43, 0x09f8e, 0x005d9,
    0x005f2, 0x005e9, 0x005d0, 0x005d1, 0x005d2, 0x005d3, 0x005d4, 0x005d5,
    0x005d6, 0x005d8, 0x005d9, 0x005da, 0x005db, 0x005dc, 0x005de, 0x005e0,
    0x005e1, 0x005e3, 0x005e4, 0x005e6, 0x005e7, 0x005e8, 0x005e9, 0x005ea,
    0x005d5, 0x005d1, 0x005db, 0x005e4, 0x11099, 0x1109b, 0x110a5, 0x11131,
    0x11132, 0x11347, 0x114b9, 0x114b9, 0x115b8, 0x115b9, 0x11935, 0x1d157,
    0x1d158, 0x1d1b9, 0x1d1ba, 0x1d1b9, 0x1d1ba, 0x1d1b9, 0x1d1ba, 0x04e3d,
    0x04e38, 0x04e41, 0x20122, 0x04f60, 0x04fae, 0x04fbb, 0x05002, 0x0507a,
    0x05099, 0x050e7, 0x050cf, 0x0349e, 0x2063a, 0x0514d, 0x05154, 0x05164,
    0x05177, 0x2051c, 0x034b9, 0x05167, 0x0518d, 0x2054b, 0x05197, 0x051a4,
    0x04ecc, 0x051ac, 0x051b5, 0x291df, 0x051f5, 0x05203, 0x034df, 0x0523b,
    0x05246, 0x05272, 0x05277, 0x03515, 0x052c7, 0x052c9, 0x052e4, 0x052fa,
    0x05305, 0x05306, 0x05317, 0x05349, 0x05351, 0x0535a, 0x05373, 0x0537d,
    0x0537f, 0x20a2c, 0x07070, 0x053ca, 0x053df, 0x20b63, 0x053eb, 0x053f1,
    0x05406, 0x0549e, 0x05438, 0x05448, 0x05468, 0x054a2, 0x054f6, 0x05510,
    0x05553, 0x05563, 0x05584, 0x05599, 0x055ab, 0x055b3, 0x055c2, 0x05716,
    0x05606, 0x05717, 0x05651, 0x05674, 0x05207, 0x058ee, 0x057ce, 0x057f4,
    0x0580d, 0x0578b, 0x05832, 0x05831, 0x058ac, 0x214e4, 0x058f2, 0x058f7,
    0x05906, 0x0591a, 0x05922, 0x05962, 0x216a8, 0x216ea, 0x059ec, 0x05a1b,
    0x05a27, 0x059d8, 0x05a66, 0x036ee, 0x036fc, 0x05b08, 0x05b3e, 0x219c8,
    0x05bc3, 0x05bd8, 0x05be7, 0x05bf3, 0x21b18, 0x05bff, 0x05c06, 0x05f53,
    0x05c22, 0x03781, 0x05c60, 0x05c6e, 0x05cc0, 0x05c8d, 0x21de4, 0x05d43,
    0x21de6, 0x05d6e, 0x05d6b, 0x05d7c, 0x05de1, 0x05de2, 0x0382f, 0x05dfd,
    0x05e28, 0x05e3d, 0x05e69, 0x03862, 0x22183, 0x0387c, 0x05eb0, 0x05eb3,
    0x05eb6, 0x05eca, 0x2a392, 0x05efe, 0x22331, 0x08201, 0x05f22, 0x038c7,
    0x232b8, 0x261da, 0x05f62, 0x05f6b, 0x038e3, 0x05f9a, 0x05fcd, 0x05fd7,
    0x05ff9, 0x06081, 0x0393a, 0x0391c, 0x06094, 0x226d4, 0x060c7, 0x06148,
    0x0614c, 0x0614e, 0x0614c, 0x0617a, 0x0618e, 0x061b2, 0x061a4, 0x061af,
    0x061de, 0x061f2, 0x061f6, 0x06210, 0x0621b, 0x0625d, 0x062b1, 0x062d4,
    0x06350, 0x22b0c, 0x0633d, 0x062fc, 0x06368, 0x06383, 0x063e4, 0x22bf1,
    0x06422, 0x063c5, 0x063a9, 0x03a2e, 0x06469, 0x0647e, 0x0649d, 0x06477,
    0x03a6c, 0x0654f, 0x0656c, 0x2300a, 0x065e3, 0x066f8, 0x06649, 0x03b19,
    0x06691, 0x03b08, 0x03ae4, 0x05192, 0x05195, 0x06700, 0x0669c, 0x080ad,
    0x043d9, 0x06717, 0x0671b, 0x06721, 0x0675e, 0x06753, 0x233c3, 0x03b49,
    0x067fa, 0x06785, 0x06852, 0x06885, 0x2346d, 0x0688e, 0x0681f, 0x06914,
    0x03b9d, 0x06942, 0x069a3, 0x069ea, 0x06aa8, 0x236a3, 0x06adb, 0x03c18,
    0x06b21, 0x238a7, 0x06b54, 0x03c4e, 0x06b72, 0x06b9f, 0x06bba, 0x06bbb,
    0x23a8d, 0x21d0b, 0x23afa, 0x06c4e, 0x23cbc, 0x06cbf, 0x06ccd, 0x06c67,
    0x06d16, 0x06d3e, 0x06d77, 0x06d41, 0x06d69, 0x06d78, 0x06d85, 0x23d1e,
    0x06d34, 0x06e2f, 0x06e6e, 0x03d33, 0x06ecb, 0x06ec7, 0x23ed1, 0x06df9,
    0x06f6e, 0x23f5e, 0x23f8e, 0x06fc6, 0x07039, 0x0701e, 0x0701b, 0x03d96,
    0x0704a, 0x0707d, 0x07077, 0x070ad, 0x20525, 0x07145, 0x24263, 0x0719c,
    0x243ab, 0x07228, 0x07235, 0x07250, 0x24608, 0x07280, 0x07295, 0x24735,
    0x24814, 0x0737a, 0x0738b, 0x03eac, 0x073a5, 0x03eb8, 0x07447, 0x0745c,
    0x07471, 0x07485, 0x074ca, 0x03f1b, 0x07524, 0x24c36, 0x0753e, 0x24c92,
    0x07570, 0x2219f, 0x07610, 0x24fa1, 0x24fb8, 0x25044, 0x03ffc, 0x04008,
    0x076f4, 0x250f3, 0x250f2, 0x25119, 0x25133, 0x0771e, 0x0771f, 0x0774a,
    0x04039, 0x0778b, 0x04046, 0x04096, 0x2541d, 0x0784e, 0x0788c, 0x078cc,
    0x040e3, 0x25626, 0x07956, 0x2569a, 0x256c5, 0x0798f, 0x079eb, 0x0412f,
    0x07a40, 0x07a4a, 0x07a4f, 0x2597c, 0x25aa7, 0x07aee, 0x04202, 0x25bab,
    0x07bc6, 0x07bc9, 0x04227, 0x25c80, 0x07cd2, 0x042a0, 0x07ce8, 0x07ce3,
    0x07d00, 0x25f86, 0x07d63, 0x04301, 0x07dc7, 0x07e02, 0x07e45, 0x04334,
    0x26228, 0x26247, 0x04359, 0x262d9, 0x07f7a, 0x2633e, 0x07f95, 0x07ffa,
    0x08005, 0x264da, 0x26523, 0x08060, 0x265a8, 0x08070, 0x2335f, 0x043d5,
    0x080b2, 0x08103, 0x0440b, 0x0813e, 0x05ab5, 0x267a7, 0x267b5, 0x23393,
    0x2339c, 0x08201, 0x08204, 0x08f9e, 0x0446b, 0x08291, 0x0828b, 0x0829d,
    0x052b3, 0x082b1, 0x082b3, 0x082bd, 0x082e6, 0x26b3c, 0x082e5, 0x0831d,
    0x08363, 0x083ad, 0x08323, 0x083bd, 0x083e7, 0x08457, 0x08353, 0x083ca,
    0x083cc, 0x083dc, 0x26c36, 0x26d6b, 0x26cd5, 0x0452b, 0x084f1, 0x084f3,
    0x08516, 0x273ca, 0x08564, 0x26f2c, 0x0455d, 0x04561, 0x26fb1, 0x270d2,
    0x0456b, 0x08650, 0x0865c, 0x08667, 0x08669, 0x086a9, 0x08688, 0x0870e,
    0x086e2, 0x08779, 0x08728, 0x0876b, 0x08786, 0x045d7, 0x087e1, 0x08801,
    0x045f9, 0x08860, 0x08863, 0x27667, 0x088d7, 0x088de, 0x04635, 0x088fa,
    0x034bb, 0x278ae, 0x27966, 0x046be, 0x046c7, 0x08aa0, 0x08aed, 0x08b8a,
    0x08c55, 0x27ca8, 0x08cab, 0x08cc1, 0x08d1b, 0x08d77, 0x27f2f, 0x20804,
    0x08dcb, 0x08dbc, 0x08df0, 0x208de, 0x08ed4, 0x08f38, 0x285d2, 0x285ed,
    0x09094, 0x090f1, 0x09111, 0x2872e, 0x0911b, 0x09238, 0x092d7, 0x092d8,
    0x0927c, 0x093f9, 0x09415, 0x28bfa, 0x0958b, 0x04995, 0x095b7, 0x28d77,
    0x049e6, 0x096c3, 0x05db2, 0x09723, 0x29145, 0x2921a, 0x04a6e, 0x04a76,
    0x097e0, 0x2940a, 0x04ab2, 0x29496, 0x0980b, 0x09829, 0x295b6, 0x098e2,
    0x04b33, 0x09929, 0x099a7, 0x099c2, 0x099fe, 0x04bce, 0x29b30, 0x09b12,
    0x09c40, 0x09cfd, 0x04cce, 0x04ced, 0x09d67, 0x2a0ce, 0x04cf8, 0x2a105,
    0x2a20e, 0x2a291, 0x09ebb, 0x04d56, 0x09ef9, 0x09efe, 0x09f05, 0x09f0f,
    0x09f16, 0x09f3b, 0x2a600,
};
static const uint32_t ck__ds_letter[174] = {
    0x00041, 0x0005a, 0x00061, 0x0007a, 0x000b5, 0x000b5, 0x000c0, 0x000d6,
    0x000d8, 0x000f6, 0x000f8, 0x001ba, 0x001bc, 0x001bf, 0x001c4, 0x00293,
    0x00295, 0x002af, 0x00370, 0x00373, 0x00376, 0x00376, 0x00377, 0x00377,
    0x0037b, 0x0037d, 0x0037f, 0x0037f, 0x00386, 0x00386, 0x00388, 0x0038a,
    0x0038c, 0x0038c, 0x0038e, 0x003a1, 0x003a3, 0x003f5, 0x003f7, 0x00481,
    0x0048a, 0x0052f, 0x00531, 0x00556, 0x010a0, 0x010c5, 0x013a0, 0x013f5,
    0x013f8, 0x013fd, 0x01c90, 0x01cba, 0x01cbd, 0x01cbf, 0x01d00, 0x01d2b,
    0x01d6b, 0x01d77, 0x01d79, 0x01d9a, 0x01e00, 0x01f15, 0x01f18, 0x01f1d,
    0x01f20, 0x01f45, 0x01f48, 0x01f4d, 0x01f50, 0x01f57, 0x01f59, 0x01f59,
    0x01f5b, 0x01f5b, 0x01f5d, 0x01f5d, 0x01f5f, 0x01f7d, 0x01f80, 0x01fb4,
    0x01fb6, 0x01fbc, 0x01fbe, 0x01fbe, 0x01fc2, 0x01fc4, 0x01fc6, 0x01fcc,
    0x01fd0, 0x01fd3, 0x01fd6, 0x01fdb, 0x01fe0, 0x01fec, 0x01ff2, 0x01ff4,
    0x01ff6, 0x01ffc, 0x02102, 0x02102, 0x02107, 0x02107, 0x0210a, 0x02113,
    0x02115, 0x02115, 0x02119, 0x0211d, 0x02124, 0x02124, 0x02126, 0x02126,
    0x02128, 0x02128, 0x0212a, 0x0212d, 0x0212f, 0x02134, 0x02139, 0x02139,
    0x0213c, 0x0213f, 0x02145, 0x02149, 0x0214e, 0x0214e, 0x02183, 0x02183,
    0x02184, 0x02184, 0x02c00, 0x02c7b, 0x02c7e, 0x02ce4, 0x02ceb, 0x02cee,
    0x02cf2, 0x02cf2, 0x02cf3, 0x02cf3, 0x0a640, 0x0a66d, 0x0a680, 0x0a69b,
    0x0a722, 0x0a76f, 0x0a771, 0x0a787, 0x0a78b, 0x0a78e, 0x0ab70, 0x0abbf,
    0x0fb00, 0x0fb06, 0x0fb13, 0x0fb17, 0x0ff21, 0x0ff3a, 0x0ff41, 0x0ff5a,
    0x10400, 0x1044f, 0x104b0, 0x104d3, 0x104d8, 0x104fb, 0x10c80, 0x10cb2,
    0x10cc0, 0x10cf2, 0x118a0, 0x118df, 0x1e900, 0x1e943,
};
static const uint32_t ck__ds_punct[12] = {
    0x00021, 0x0002f, 0x0003a, 0x0007e, 0x0ff01, 0x0ff0f, 0x0ff1a, 0x0ff5e,
    0x02018, 0x0201f, 0x03000, 0x03002,
};
static const uint32_t ck__cjk[6] = {
    0x04e00, 0x09fa5, 0x00800, 0x04e00, 0x0ac00, 0x0d7ff,
};
/* ---- END generated unicode tables ---- */

CK_DEF const char *ck_unicode_version(void) { return CK__UNICODE_VERSION; }

CK_DEF int ck_unicode_flags(uint32_t cp)
{
    size_t lo = 0, hi = sizeof ck__uflags / sizeof ck__uflags[0];
    if (cp < 128) return ck__uflags_ascii[cp];
    if (cp >= 0x110000) return CK_U_SYMBOL; /* an invalid byte: llama.cpp's U+FFFD is a symbol */
    while (hi - lo > 1) { /* last run starting at or before cp */
        size_t mid = (lo + hi) / 2;
        if ((ck__uflags[mid] >> 8) <= cp) lo = mid; else hi = mid;
    }
    return (int)(ck__uflags[lo] & 0xff);
}

/* index of the run containing cp in a table of (start | count << shift) runs, or -1 */
static long ck__urun(const uint32_t *tab, size_t n, uint32_t cp, int count_shift, uint32_t *start, uint32_t *count)
{
    size_t lo = 0, hi = n;
    uint32_t smask = (1u << 21) - 1;
    if (n == 0 || cp < (tab[0] & smask)) return -1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((tab[mid] & smask) <= cp) lo = mid; else hi = mid;
    }
    *start = tab[lo] & smask;
    *count = tab[lo] >> count_shift;
    return (long)lo;
}

CK_DEF uint32_t ck_unicode_tolower(uint32_t cp)
{
    uint32_t s, n, stride;
    long i;
    if (cp < 128) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    i = ck__urun(ck__ulower, sizeof ck__ulower / sizeof ck__ulower[0], cp, 22, &s, &n);
    if (i < 0) return cp;
    stride = ((ck__ulower[i] >> 21) & 1) + 1;
    if (cp < s + n * stride && (cp - s) % stride == 0) return (uint32_t)((int32_t)cp + ck__ulower_delta[i]);
    return cp;
}

static uint32_t ck__unfd_first(uint32_t cp)
{
    uint32_t s, n;
    long i;
    if (cp < 0xC0) return cp;
    i = ck__urun(ck__unfd, sizeof ck__unfd / sizeof ck__unfd[0], cp, 21, &s, &n);
    return (i >= 0 && cp < s + n) ? ck__unfd_to[i] : cp;
}

static int ck__in_ranges(const uint32_t *r, size_t n_pairs, uint32_t cp)
{
    size_t i;
    for (i = 0; i < n_pairs; i++)
        if (cp >= r[2 * i] && cp <= r[2 * i + 1]) return 1;
    return 0;
}

/* Decode one UTF-8 character of s[i..n): well-formed only (no overlong forms, surrogates or
   values past U+10FFFF). A byte that does not start one is returned as 0x110000 + byte, length 1. */
static uint32_t ck__utf8(const uint8_t *s, size_t n, size_t i, int *len)
{
    uint32_t c = s[i];
    *len = 1;
    if (c < 0x80) return c;
    if (c >= 0xC2 && c <= 0xDF) {
        if (i + 1 < n && (s[i + 1] & 0xC0) == 0x80) { *len = 2; return (c & 0x1F) << 6 | (s[i + 1] & 0x3F); }
    } else if (c >= 0xE0 && c <= 0xEF) {
        if (i + 2 < n && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80) {
            uint32_t cp = (c & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F);
            if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) { *len = 3; return cp; }
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        if (i + 3 < n && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80 && (s[i + 3] & 0xC0) == 0x80) {
            uint32_t cp = (c & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 | (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
            if (cp >= 0x10000 && cp <= 0x10FFFF) { *len = 4; return cp; }
        }
    }
    return 0x110000 + c;
}
static int ck__utf8_put(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) { o[0] = (uint8_t)(0xE0 | cp >> 12); o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)); o[2] = (uint8_t)(0x80 | (cp & 0x3F)); return 3; }
    if (cp < 0x110000) {
        o[0] = (uint8_t)(0xF0 | cp >> 18); o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)); o[3] = (uint8_t)(0x80 | (cp & 0x3F)); return 4;
    }
    o[0] = (uint8_t)(cp - 0x110000); /* an invalid byte, as it was */
    return 1;
}
/* length of a UTF-8 character from its first byte, as llama.cpp's SentencePiece splits text */
static int ck__utf8_len_lenient(uint8_t c) { static const uint8_t l[16] = {1,1,1,1,1,1,1,1,1,1,1,1,2,2,3,4}; return l[c >> 4]; }

/* GPT-2's byte <-> character map: printable Latin-1 bytes stand for themselves, the other 68
   bytes (0-32, 127-160, 173) for U+0100.. in order. */
static uint32_t ck__byte_to_cp(uint8_t b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    if (b <= 32) return 256u + b;
    if (b <= 160) return 256u + 33 + (b - 127u);
    return 256u + 67; /* 173 */
}
static int ck__cp_to_byte(uint32_t cp)
{
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return (int)cp;
    if (cp >= 256 && cp < 256 + 33) return (int)(cp - 256);
    if (cp >= 256 + 33 && cp < 256 + 67) return (int)(cp - 256 - 33 + 127);
    if (cp == 256 + 67) return 173;
    return -1;
}

static uint64_t ck__hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n, v;
    while (n >= 8) {
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    v = 0;
    if (n) memcpy(&v, p, n);
    h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}
static int32_t ck__tok_find(const ck_tok *t, const uint8_t *s, size_t n)
{
    uint64_t h = ck__hash_bytes(s, n);
    uint32_t i = (uint32_t)h & t->tok_mask, tag = (uint32_t)(h >> 32);
    for (;;) { /* the tag spares the token's text for all but (almost surely) the match */
        uint64_t v = t->tok_hash[i];
        uint32_t e = (uint32_t)v;
        if (e == 0) return -1;
        if ((uint32_t)(v >> 32) == tag && t->text_len[e - 1] == n && memcmp(t->text[e - 1], s, n) == 0) return (int32_t)(e - 1);
        i = (i + 1) & t->tok_mask;
    }
}
static const ck_tok_merge *ck__merge_find(const ck_tok *t, uint32_t l, uint32_t r)
{
    uint64_t k = (uint64_t)l << 32 | r;
    uint32_t i;
    if (l == UINT32_MAX || r == UINT32_MAX) return NULL; /* a byte without a token */
    i = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & t->merge_mask;
    for (;;) {
        const ck_tok_merge *m = &t->merge[i];
        if (m->l == l && m->r == r) return m;
        if (m->l == UINT32_MAX) return NULL;
        i = (i + 1) & t->merge_mask;
    }
}

static int ck__streq(const char *s, uint64_t n, const char *lit) { return strlen(lit) == n && memcmp(s, lit, n) == 0; }

/* tokenizer.ggml.pre names, as llama.cpp groups them */
static int ck__pre_from_name(const char *s, uint64_t n, int *ignore_merges)
{
    static const char *const gpt2[] = { "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es",
                                        "jina-v2-de", "jina-v2-code", "roberta-bpe", 0 };
    static const char *const llama3[] = { "llama3", "llama-v3", "llama-bpe", "falcon3", 0 };
    static const char *const llama3_merging[] = { "dbrx", "smaug-bpe", 0 };
    static const char *const star[] = { "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", 0 };
    static const char *const mpt[] = { "mpt", "olmo", "jais", 0 };
    static const char *const qwen[] = { "qwen2", "deepseek-r1-qwen", "stablelm2", 0 };
    int i;
    *ignore_merges = 0;
    if (n == 0 || ck__streq(s, n, "default")) return CK_PRE_DEFAULT;
    for (i = 0; gpt2[i]; i++) if (ck__streq(s, n, gpt2[i])) return CK_PRE_GPT2;
    for (i = 0; llama3[i]; i++) if (ck__streq(s, n, llama3[i])) { *ignore_merges = 1; return CK_PRE_LLAMA3; }
    for (i = 0; llama3_merging[i]; i++) if (ck__streq(s, n, llama3_merging[i])) return CK_PRE_LLAMA3;
    for (i = 0; star[i]; i++) if (ck__streq(s, n, star[i])) return CK_PRE_STARCODER;
    for (i = 0; mpt[i]; i++) if (ck__streq(s, n, mpt[i])) return CK_PRE_MPT;
    for (i = 0; qwen[i]; i++) if (ck__streq(s, n, qwen[i])) return CK_PRE_QWEN2;
    if (ck__streq(s, n, "deepseek-llm")) return CK_PRE_DEEPSEEK_LLM;
    if (ck__streq(s, n, "deepseek-coder")) return CK_PRE_DEEPSEEK_CODER;
    if (ck__streq(s, n, "falcon")) return CK_PRE_FALCON;
    return CK_PRE_NONE;
}
CK_DEF const char *ck_tok_pre_name(int pre)
{
    static const char *const names[] = { "none", "default", "gpt-2", "llama3", "qwen2", "deepseek-llm", "deepseek-coder",
                                         "falcon", "starcoder", "mpt" };
    return (pre >= 0 && pre <= CK_PRE_MPT) ? names[pre] : "?";
}

/* The memory layout of ck_tok_init, shared by ck_tok_mem_bytes: each array 16-byte aligned. */
typedef struct { size_t off_text, off_len, off_type, off_score, off_hash, off_merge, off_special, total; uint32_t hash_n, merge_n; } ck__tok_layout;
static size_t ck__align16(size_t x) { return (x + 15) & ~(size_t)15; }
static int ck__tok_plan(const ck_gguf *g, ck__tok_layout *L, uint64_t *n_tok, uint64_t *n_merges, int *model, char *err, size_t errlen)
{
    const char *s;
    uint64_t slen, n;
    uint32_t et;
    const ck_gguf_kv *kv;
    size_t o = 0;
    memset(L, 0, sizeof *L);
    if (!ck_gguf_get_str(g, "tokenizer.ggml.model", &s, &slen)) { ck__fmt(err, errlen, "no tokenizer.ggml.model in this GGUF"); return -1; }
    if (ck__streq(s, slen, "gpt2")) *model = CK_TOK_BPE;
    else if (ck__streq(s, slen, "llama")) *model = CK_TOK_SPM;
    else if (ck__streq(s, slen, "bert")) *model = CK_TOK_WPM;
    else { ck__fmt(err, errlen, "tokenizer.ggml.model \"%.*s\" is not supported (gpt2, llama, bert are)", (int)CK_MIN(slen, 64), s); return -1; }
    if (!ck_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &kv) || et != CK_GGUF_STR) { ck__fmt(err, errlen, "tokenizer.ggml.tokens: missing or not a string array"); return -1; }
    if (n == 0 || n >= 0x7fffffffu / 4) { ck__fmt(err, errlen, "tokenizer.ggml.tokens: %llu tokens", (unsigned long long)n); return -1; }
    *n_tok = n;
    *n_merges = 0;
    if (*model == CK_TOK_BPE) {
        if (!ck_gguf_get_arr(g, "tokenizer.ggml.merges", &et, n_merges, &kv) || et != CK_GGUF_STR) { ck__fmt(err, errlen, "tokenizer.ggml.merges: missing or not a string array (needed by a gpt2 tokenizer)"); return -1; }
        if (*n_merges >= 0x7fffffffu / 4) { ck__fmt(err, errlen, "tokenizer.ggml.merges: %llu merges", (unsigned long long)*n_merges); return -1; }
    }
    L->hash_n = ck__pow2_at_least(2 * n);
    L->merge_n = ck__pow2_at_least(2 * *n_merges);
    L->off_text = o; o = ck__align16(o + n * sizeof(const char *));
    L->off_len = o; o = ck__align16(o + n * 4);
    L->off_type = o; o = ck__align16(o + n);
    L->off_score = o; if (*model == CK_TOK_SPM) o = ck__align16(o + n * 4);
    L->off_hash = o; o = ck__align16(o + (size_t)L->hash_n * 8);
    L->off_merge = o; o = ck__align16(o + (size_t)L->merge_n * sizeof(ck_tok_merge));
    L->off_special = o; o = ck__align16(o + n * 4);
    L->total = o + 16; /* room to align the caller's pointer */
    return 0;
}

CK_DEF size_t ck_tok_mem_bytes(const ck_gguf *g)
{
    ck__tok_layout L;
    uint64_t nt, nm;
    int model;
    char err[8];
    return ck__tok_plan(g, &L, &nt, &nm, &model, err, sizeof err) ? 0 : L.total;
}


static int ck__tok_hash_insert(ck_tok *t, int32_t id)
{
    uint64_t h = ck__hash_bytes((const uint8_t *)t->text[id], t->text_len[id]), tag = h >> 32 << 32;
    uint32_t i = (uint32_t)h & t->tok_mask;
    for (;;) {
        uint32_t e = (uint32_t)t->tok_hash[i];
        if (e == 0) { t->tok_hash[i] = tag | ((uint32_t)id + 1); return 1; }
        if (t->text_len[e - 1] == t->text_len[id] && memcmp(t->text[e - 1], t->text[id], t->text_len[id]) == 0) {
            t->tok_hash[i] = tag | ((uint32_t)id + 1); /* the last of equal texts wins, as in llama.cpp */
            return 0;
        }
        i = (i + 1) & t->tok_mask;
    }
}

static int32_t ck__tok_special_id(const ck_gguf *g, const char *key, int32_t dflt, int32_t n)
{
    int64_t v;
    if (ck_gguf_get_int(g, key, &v)) return (v >= 0 && v < n) ? (int32_t)v : -1;
    return (dflt >= 0 && dflt < n) ? dflt : -1;
}

CK_DEF int ck_tok_init(ck_tok *t, const ck_gguf *g, void *mem, size_t mem_bytes)
{
    ck__tok_layout L;
    uint64_t n, nm, i;
    int model, ignore_merges = 0;
    uint8_t *base;
    const char *s;
    uint64_t slen;
    uint32_t et;
    uint64_t an;
    const ck_gguf_kv *kv;
    ck_gguf_iter it;
    int64_t iv;
    memset(t, 0, sizeof *t);
    if (ck__tok_plan(g, &L, &n, &nm, &model, t->error, sizeof t->error)) return -1;
    if (!mem || mem_bytes < L.total) {
        ck__fmt(t->error, sizeof t->error, "tokenizer: needs %llu bytes of memory, %llu given", (unsigned long long)L.total, (unsigned long long)mem_bytes);
        return -1;
    }
    base = (uint8_t *)mem + ((16 - ((uintptr_t)mem & 15)) & 15);
    t->model = model;
    t->n_tokens = (int32_t)n;
    t->text = (const char **)(void *)(base + L.off_text);
    t->text_len = (uint32_t *)(void *)(base + L.off_len);
    t->type = base + L.off_type;
    t->score = model == CK_TOK_SPM ? (float *)(void *)(base + L.off_score) : NULL;
    t->tok_hash = (uint64_t *)(void *)(base + L.off_hash);
    t->tok_mask = L.hash_n - 1;
    t->merge = (ck_tok_merge *)(void *)(base + L.off_merge);
    t->merge_mask = L.merge_n - 1;
    t->special = (int32_t *)(void *)(base + L.off_special);
    memset(t->tok_hash, 0, (size_t)L.hash_n * 8);
    memset(t->merge, 0xff, (size_t)L.merge_n * sizeof(ck_tok_merge));

    /* tokens */
    ck_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &an, &kv);
    ck_gguf_iter_init(&it, kv);
    for (i = 0; i < n; i++) {
        if (!ck_gguf_iter_str(&it, &s, &slen)) return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.tokens: string %llu unreadable", (unsigned long long)i), -1;
        if (slen > 0xffff) return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.tokens: token %llu is %llu bytes long", (unsigned long long)i, (unsigned long long)slen), -1;
        t->text[i] = s;
        t->text_len[i] = (uint32_t)slen;
        if (slen > t->max_token_len) t->max_token_len = (uint32_t)slen;
        t->type[i] = CK_TOKT_NORMAL;
        if (t->score) t->score[i] = 0.0f;
    }
    if (model == CK_TOK_SPM) {
        /* words (a U+2581 after anything else starts one) can be merged one at a time, with
           the same result as merging the whole text, if no token could span two of them: no
           token has U+2581 past its leading run of U+2581 */
        t->spm_words = 1;
        for (i = 0; i < n && t->spm_words; i++) {
            const uint8_t *tx = (const uint8_t *)t->text[i];
            uint32_t tl = t->text_len[i], k = 0;
            while (k + 3 <= tl && memcmp(tx + k, "\xe2\x96\x81", 3) == 0) k += 3;
            for (; k + 3 <= tl; k++)
                if (memcmp(tx + k, "\xe2\x96\x81", 3) == 0) { t->spm_words = 0; break; }
        }
    }
    if (ck_gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &an, &kv)) {
        if (an != n) return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.token_type has %llu entries for %llu tokens", (unsigned long long)an, (unsigned long long)n), -1;
        for (i = 0; i < n; i++)
            if (!ck_gguf_arr_int(kv, i, &iv)) return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.token_type: not an integer array"), -1;
            else t->type[i] = (uint8_t)((iv >= 1 && iv <= 6) ? (int)iv : (int)CK_TOKT_NORMAL);
    }
    if (t->score && ck_gguf_get_arr(g, "tokenizer.ggml.scores", &et, &an, &kv)) {
        double d;
        if (an != n) return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.scores has %llu entries for %llu tokens", (unsigned long long)an, (unsigned long long)n), -1;
        for (i = 0; i < n; i++)
            if (!ck_gguf_arr_float(kv, i, &d)) return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.scores: not a number array"), -1;
            else t->score[i] = (float)d;
    }
    for (i = 0; i < n; i++) ck__tok_hash_insert(t, (int32_t)i);

    /* merges "left right" -> (left id, right id) -> rank, result id; the first of duplicates wins */
    if (model == CK_TOK_BPE) {
        uint8_t buf[1024];
        ck_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &an, &kv);
        ck_gguf_iter_init(&it, kv);
        for (i = 0; i < nm; i++) {
            uint64_t sp;
            int32_t l, r, res;
            uint32_t h;
            if (!ck_gguf_iter_str(&it, &s, &slen)) return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.merges: string %llu unreadable", (unsigned long long)i), -1;
            for (sp = 1; sp < slen && s[sp] != ' '; sp++) {}
            if (sp >= slen || slen - 1 > sizeof buf)
                return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.merges: entry %llu \"%.*s\" is not \"left right\"", (unsigned long long)i, (int)CK_MIN(slen, 64), s), -1;
            l = ck__tok_find(t, (const uint8_t *)s, sp);
            r = ck__tok_find(t, (const uint8_t *)s + sp + 1, slen - sp - 1);
            memcpy(buf, s, sp);
            memcpy(buf + sp, s + sp + 1, slen - sp - 1);
            res = ck__tok_find(t, buf, slen - 1);
            if (l < 0 || r < 0 || res < 0) continue; /* can never apply: a side or the result is no token */
            h = (uint32_t)((((uint64_t)(uint32_t)l << 32 | (uint32_t)r) * 0x9E3779B97F4A7C15ull) >> 32) & t->merge_mask;
            while (t->merge[h].l != UINT32_MAX && !(t->merge[h].l == (uint32_t)l && t->merge[h].r == (uint32_t)r)) h = (h + 1) & t->merge_mask;
            if (t->merge[h].l == UINT32_MAX) {
                t->merge[h].l = (uint32_t)l; t->merge[h].r = (uint32_t)r; t->merge[h].rank = (uint32_t)i; t->merge[h].res = (uint32_t)res;
                t->n_merges++;
            }
        }
    }

    /* special ids and flags: llama.cpp's defaults per model, then the file's keys */
    if (model == CK_TOK_SPM) {
        t->bos = ck__tok_special_id(g, "tokenizer.ggml.bos_token_id", 1, t->n_tokens);
        t->eos = ck__tok_special_id(g, "tokenizer.ggml.eos_token_id", 2, t->n_tokens);
        t->unk = ck__tok_special_id(g, "tokenizer.ggml.unknown_token_id", 0, t->n_tokens);
        t->add_bos = 1;
        t->add_space_prefix = 1;
    } else if (model == CK_TOK_BPE) {
        t->bos = ck__tok_special_id(g, "tokenizer.ggml.bos_token_id", 11, t->n_tokens);
        t->eos = ck__tok_special_id(g, "tokenizer.ggml.eos_token_id", 11, t->n_tokens);
        t->unk = ck__tok_special_id(g, "tokenizer.ggml.unknown_token_id", -1, t->n_tokens);
    } else {
        t->bos = ck__tok_special_id(g, "tokenizer.ggml.cls_token_id", 101, t->n_tokens);
        t->bos = ck__tok_special_id(g, "tokenizer.ggml.bos_token_id", t->bos, t->n_tokens);
        t->eos = ck__tok_special_id(g, "tokenizer.ggml.eos_token_id", -1, t->n_tokens);
        t->unk = ck__tok_special_id(g, "tokenizer.ggml.unknown_token_id", 100, t->n_tokens);
        t->add_bos = 1;
    }
    t->sep = ck__tok_special_id(g, "tokenizer.ggml.seperator_token_id", model == CK_TOK_WPM ? 102 : -1, t->n_tokens);
    t->pad = ck__tok_special_id(g, "tokenizer.ggml.padding_token_id", -1, t->n_tokens);
    if (model == CK_TOK_BPE) {
        if (!ck_gguf_get_str(g, "tokenizer.ggml.pre", &s, &slen)) { s = ""; slen = 0; }
        t->pre = ck__pre_from_name(s, slen, &ignore_merges);
        if (t->pre == CK_PRE_NONE)
            return ck__fmt(t->error, sizeof t->error, "tokenizer.ggml.pre \"%.*s\" is not a pre-tokenizer this tokenizer knows", (int)CK_MIN(slen, 64), s), -1;
        t->ignore_merges = ignore_merges;
        if (t->pre == CK_PRE_LLAMA3 || t->pre == CK_PRE_QWEN2) t->add_bos = t->pre == CK_PRE_LLAMA3;
    }
    if (ck_gguf_get_int(g, "tokenizer.ggml.add_bos_token", &iv)) t->add_bos = iv != 0;
    if (ck_gguf_get_int(g, "tokenizer.ggml.add_eos_token", &iv)) t->add_eos = iv != 0;
    if (ck_gguf_get_int(g, "tokenizer.ggml.add_space_prefix", &iv)) t->add_space_prefix = iv != 0;

    /* byte tokens */
    for (i = 0; i < 256; i++) {
        uint8_t b[8];
        int k;
        t->byte_tok[i] = -1;
        if (model == CK_TOK_BPE) {
            k = ck__utf8_put(b, ck__byte_to_cp((uint8_t)i));
            t->byte_tok[i] = ck__tok_find(t, b, (size_t)k); /* -1: encodes as unk, or is dropped (llama.cpp throws) */
        } else if (model == CK_TOK_SPM) {
            static const char hex[] = "0123456789ABCDEF";
            b[0] = '<'; b[1] = '0'; b[2] = 'x'; b[3] = (uint8_t)hex[i >> 4]; b[4] = (uint8_t)hex[i & 15]; b[5] = '>';
            t->byte_tok[i] = ck__tok_find(t, b, 6);
        }
    }

    /* special tokens (control, user-defined, unknown), longest first, then by id (a shell sort) */
    for (i = 0; i < n; i++) {
        int ty = t->type[i];
        if ((ty == CK_TOKT_CONTROL || ty == CK_TOKT_USER || ty == CK_TOKT_UNKNOWN) && t->text_len[i] > 0) t->special[t->n_special++] = (int32_t)i;
    }
    {
        int32_t gap, a, b;
        for (gap = t->n_special / 2; gap > 0; gap /= 2)
            for (a = gap; a < t->n_special; a++) {
                int32_t v = t->special[a];
                for (b = a; b >= gap; b -= gap) {
                    int32_t u = t->special[b - gap];
                    if (t->text_len[u] > t->text_len[v] || (t->text_len[u] == t->text_len[v] && u < v)) break;
                    t->special[b] = u;
                }
                t->special[b] = v;
            }
    }
    return 0;
}

/* ---- encoding ---- */
typedef struct { uint64_t key; uint32_t aux, res; } ck__hent;   /* min-heap entry */
static void ck__hpush(ck__hent *h, size_t *n, uint64_t key, uint32_t aux, uint32_t res)
{
    size_t i = (*n)++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (h[p].key <= key) break;
        h[i] = h[p];
        i = p;
    }
    h[i].key = key;
    h[i].aux = aux;
    h[i].res = res;
}
static ck__hent ck__hpop(ck__hent *h, size_t *n)
{
    ck__hent top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1].key < h[c].key) c++;
        if (last.key <= h[c].key) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

typedef struct { uint64_t h; const uint8_t *p; uint32_t len, id0, nid, gen; } ck__wcache;
typedef struct {
    const ck_tok *t;
    int32_t *ids; size_t max, n;
    /* scratch, each sized for the whole text */
    int32_t *claim;                 /* special-token partition: id at a match's start, -2 inside */
    uint32_t *cp, *off, *fa, *fb;   /* code points, their byte offsets, fragment ends (ping-pong) */
    uint8_t *fl;                    /* code point flags */
    int32_t *sid, *sprev, *snext;   /* symbols: token id, previous, next */
    uint32_t *slen, *sstart;
    ck__hent *heap;
    uint8_t *buf;
    ck__wcache *cache;              /* words seen in this call */
    uint32_t cache_mask, cache_gen; /* gen: SentencePiece fragment (its words live in buf) */
} ck__enc;

static void ck__emit(ck__enc *e, int32_t id)
{
    if (e->n < e->max) e->ids[e->n] = id;
    e->n++;
}

/* byte-level BPE of one pre-tokenized word: symbols are indexed by byte position. A symbol's
   id is a function of the bytes it spans (a merge's result is the token of the concatenation),
   so a pair is unchanged exactly while both its symbols keep their lengths: a queued pair
   carries its total length and result, and is checked without looking the merge up again. */
#ifndef CK__BPE_SCAN
#define CK__BPE_SCAN 24 /* words up to this many bytes find their lowest-rank pair by a scan */
#endif
static void ck__bpe_pair(const ck_tok *t, const int32_t *id, uint32_t *rk, uint32_t *rs, uint32_t l, uint32_t r)
{
    const ck_tok_merge *m = ck__merge_find(t, (uint32_t)id[l], (uint32_t)id[r]);
    rk[l] = m ? m->rank : UINT32_MAX;
    rs[l] = m ? m->res : 0;
}
static void ck__bpe_word(ck__enc *e, const uint8_t *w, uint32_t n)
{
    const ck_tok *t = e->t;
    int32_t *id = e->sid, *prev = e->sprev;
    uint32_t *len = e->slen, i;
    size_t hn = 0;
    if (n == 1 && t->byte_tok[w[0]] >= 0) { ck__emit(e, t->byte_tok[w[0]]); return; }
    if (t->ignore_merges) { /* llama3: a word that is a token is that token */
        uint32_t k = 0;
        int32_t whole;
        for (i = 0; i < n; i++) k += (uint32_t)ck__utf8_put(e->buf + k, ck__byte_to_cp(w[i]));
        whole = ck__tok_find(t, e->buf, k);
        if (whole >= 0) { ck__emit(e, whole); return; }
    }
    for (i = 0; i < n; i++) { id[i] = t->byte_tok[w[i]]; len[i] = 1; prev[i] = (int32_t)i - 1; }
    if (n <= CK__BPE_SCAN) {
        /* short word: rank and result of the pair starting at each symbol, lowest rank (then
           leftmost) by a scan: at most CK__BPE_SCAN steps per merge, no heap */
        uint32_t *rk = (uint32_t *)e->snext, *rs = e->sstart;
        for (i = 0; i + 1 < n; i++) ck__bpe_pair(t, id, rk, rs, i, i + 1);
        rk[n - 1] = UINT32_MAX;
        for (;;) {
            uint32_t best = UINT32_MAX, L = 0, nx;
            for (i = 0; i < n; i += len[i])
                if (rk[i] < best) { best = rk[i]; L = i; }
            if (best == UINT32_MAX) break;
            id[L] = (int32_t)rs[L];
            len[L] += len[L + len[L]];
            nx = L + len[L];
            if (nx < n) { prev[nx] = (int32_t)L; ck__bpe_pair(t, id, rk, rs, L, nx); }
            else rk[L] = UINT32_MAX;
            if (prev[L] >= 0) ck__bpe_pair(t, id, rk, rs, (uint32_t)prev[L], L);
        }
    } else {
        for (i = 0; i + 1 < n; i++) {
            const ck_tok_merge *m = ck__merge_find(t, (uint32_t)id[i], (uint32_t)id[i + 1]);
            if (m) ck__hpush(e->heap, &hn, (uint64_t)m->rank << 32 | i, 2, m->res);
        }
        while (hn) { /* lowest rank first, then leftmost; stale entries are skipped */
            ck__hent b = ck__hpop(e->heap, &hn);
            uint32_t L = (uint32_t)b.key, R, nx;
            const ck_tok_merge *m;
            if (len[L] == 0) continue;
            R = L + len[L];
            if (R >= n || len[L] + len[R] != b.aux) continue;
            id[L] = (int32_t)b.res;
            len[L] += len[R];
            len[R] = 0;
            nx = L + len[L];
            if (nx < n) prev[nx] = (int32_t)L;
            if (prev[L] >= 0) {
                uint32_t P = (uint32_t)prev[L];
                m = ck__merge_find(t, (uint32_t)id[P], (uint32_t)id[L]);
                if (m) ck__hpush(e->heap, &hn, (uint64_t)m->rank << 32 | P, len[P] + len[L], m->res);
            }
            if (nx < n) {
                m = ck__merge_find(t, (uint32_t)id[L], (uint32_t)id[nx]);
                if (m) ck__hpush(e->heap, &hn, (uint64_t)m->rank << 32 | L, len[L] + len[nx], m->res);
            }
        }
    }
    for (i = 0; i < n; i += len[i])
        if (id[i] >= 0) ck__emit(e, id[i]);
        else if (t->unk >= 0) ck__emit(e, t->unk);
}

/* ---- pre-tokenizers: each pass splits every fragment [a, b) (code point indices) into the
   matches of one regex and the gaps between them, as llama.cpp's sequence of regexes does. ---- */
enum { CK__P_GPT2, CK__P_LLAMA3, CK__P_QWEN2, CK__P_CRLF, CK__P_DS_LETTER, CK__P_DS_PUNCT, CK__P_TRAIL_WS, CK__P_CJK,
       CK__P_NUMS, CK__P_NUM1, CK__P_LETTERS, CK__P_PUNCTS, CK__P_DIGIT3, CK__P_FALCON_PUNCT, CK__P_DEFAULT_PUNCT, CK__P_END };

#define CK__WS CK_U_SPACE
#define CK__LN (CK_U_LETTER | CK_U_NUMBER)
#define CK__WLN (CK_U_SPACE | CK_U_LETTER | CK_U_NUMBER)

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
   llama3 (digits = 3) and qwen2 (digits = 1):
   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,digits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static uint32_t *ck__split_words(const uint32_t *cp, const uint8_t *fl, uint32_t a, uint32_t b, uint32_t *o, int kind)
{
    uint32_t pos = a;
    int l3 = kind != CK__P_GPT2, digits = kind == CK__P_LLAMA3 ? 3 : 1;
    while (pos < b) {
        uint32_t c = cp[pos], p, k;
        int f = fl[pos];
        if (c == '\'' && pos + 1 < b) {
            uint32_t c1 = l3 ? ck_unicode_tolower(cp[pos + 1]) : cp[pos + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') { pos += 2; *o++ = pos; continue; }
            if (pos + 2 < b) {
                uint32_t c2 = l3 ? ck_unicode_tolower(cp[pos + 2]) : cp[pos + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) { pos += 3; *o++ = pos; continue; }
            }
        }
        if (!l3) {
            int f2 = c == ' ' ? (pos + 1 < b ? fl[pos + 1] : -1) : f;
            if (f2 >= 0 && (f2 & CK_U_LETTER)) {
                p = pos + (c == ' ');
                while (p < b && (fl[p] & CK_U_LETTER)) p++;
                *o++ = pos = p;
                continue;
            }
            if (f2 >= 0 && (f2 & CK_U_NUMBER)) {
                p = pos + (c == ' ');
                while (p < b && (fl[p] & CK_U_NUMBER)) p++;
                *o++ = pos = p;
                continue;
            }
            if (f2 >= 0 && !(f2 & CK__WLN)) {
                p = pos + (c == ' ');
                while (p < b && !(fl[p] & CK__WLN)) p++;
                *o++ = pos = p;
                continue;
            }
        } else {
            if (!(c == '\r' || c == '\n' || (f & CK_U_NUMBER)) && ((f & CK_U_LETTER) || (pos + 1 < b && (fl[pos + 1] & CK_U_LETTER)))) {
                p = pos + 1;
                while (p < b && (fl[p] & CK_U_LETTER)) p++;
                *o++ = pos = p;
                continue;
            }
            if (f & CK_U_NUMBER) {
                uint32_t ini = pos;
                while (pos < b && (fl[pos] & CK_U_NUMBER)) {
                    if (++pos - ini >= (uint32_t)digits) { *o++ = pos; ini = pos; }
                }
                if (pos > ini) *o++ = pos;
                continue;
            }
            if (c == ' ' ? (pos + 1 >= b || !(fl[pos + 1] & CK__WLN)) : !(f & CK__WLN)) {
                p = pos + (c == ' ');
                while (p < b && !(fl[p] & CK__WLN)) p++;
                while (p < b && (cp[p] == '\r' || cp[p] == '\n')) p++;
                *o++ = pos = p;
                continue;
            }
        }
        {
            uint32_t last_rn = 0;
            for (k = 0; pos + k < b && (fl[pos + k] & CK__WS); k++)
                if (l3 && (cp[pos + k] == '\r' || cp[pos + k] == '\n')) last_rn = pos + k + 1;
            if (last_rn) { *o++ = pos = last_rn; continue; }            /* \s*[\r\n]+ */
            if (k > 1 && pos + k < b) { pos += k - 1; *o++ = pos; continue; } /* \s+(?!\S) */
            if (k > 0) { pos += k; *o++ = pos; continue; }              /* \s+ */
        }
        *o++ = ++pos;
    }
    return o;
}

/* the code point a std::wregex sees: llama.cpp turns non-ASCII whitespace into \v first */
static uint32_t ck__wcp(uint32_t c, int f) { return (c > 0x7f && (f & CK__WS)) ? 0x0B : c; }

/* length of the match of a simple pass at pos (0: none) */
static uint32_t ck__match(int kind, const uint32_t *cp, const uint8_t *fl, uint32_t pos, uint32_t b)
{
    uint32_t p = pos, c = cp[pos];
    int f = fl[pos];
    switch (kind) {
    case CK__P_CRLF: return (c == '\r' || c == '\n') ? 1 : 0;
    case CK__P_DS_LETTER: case CK__P_DS_PUNCT: case CK__P_LETTERS: case CK__P_PUNCTS: {
        /* \s?CLASS+ */
        int k;
        for (k = 0; k < 2; k++) {
            uint32_t q = pos + (uint32_t)(k == 0);
            if (k == 0 && !(f & CK__WS)) continue;
            p = q;
            for (; p < b; p++) {
                uint32_t w = ck__wcp(cp[p], fl[p]);
                int in;
                if (kind == CK__P_DS_LETTER && w < 128) in = (w | 32) >= 'a' && (w | 32) <= 'z';
                else if (kind == CK__P_DS_PUNCT && w < 128) in = (w >= '!' && w <= '/') || (w >= ':' && w <= '~');
                else if (kind == CK__P_DS_LETTER) in = ck__in_ranges(ck__ds_letter, sizeof ck__ds_letter / sizeof ck__ds_letter[0] / 2, w);
                else if (kind == CK__P_DS_PUNCT) in = ck__in_ranges(ck__ds_punct, sizeof ck__ds_punct / sizeof ck__ds_punct[0] / 2, w);
                else if (kind == CK__P_LETTERS) in = (fl[p] & CK_U_LETTER) != 0;
                else in = (fl[p] & CK_U_PUNCT) != 0;
                if (!in) break;
            }
            if (p > q) return p - pos;
        }
        return 0;
    }
    case CK__P_TRAIL_WS: /* \s+$ */
        while (p < b && (fl[p] & CK__WS)) p++;
        return p == b ? b - pos : 0;
    case CK__P_CJK:
        while (p < b && ck__in_ranges(ck__cjk, sizeof ck__cjk / sizeof ck__cjk[0] / 2, ck__wcp(cp[p], fl[p]))) p++;
        return p - pos;
    case CK__P_NUMS:
        while (p < b && (fl[p] & CK_U_NUMBER)) p++;
        return p - pos;
    case CK__P_NUM1: return (f & CK_U_NUMBER) ? 1 : 0;
    case CK__P_DIGIT3:
        return (pos + 3 <= b && c >= '0' && c <= '9' && cp[pos + 1] >= '0' && cp[pos + 1] <= '9' && cp[pos + 2] >= '0' && cp[pos + 2] <= '9') ? 3 : 0;
    case CK__P_FALCON_PUNCT: case CK__P_DEFAULT_PUNCT: /* [\p{P}\$\+<=>\^~\|`]+, the default without ` */
        for (; p < b; p++) {
            uint32_t d = cp[p];
            if (!((fl[p] & CK_U_PUNCT) || d == '$' || d == '+' || d == '<' || d == '=' || d == '>' || d == '^' || d == '~' || d == '|' ||
                  (d == '`' && kind == CK__P_FALCON_PUNCT))) break;
        }
        return p - pos;
    default: return 0;
    }
}

static uint32_t *ck__split_pass(const uint32_t *cp, const uint8_t *fl, uint32_t a, uint32_t b, uint32_t *o, int kind)
{
    uint32_t pos = a, start = a;
    if (kind <= CK__P_QWEN2) return ck__split_words(cp, fl, a, b, o, kind);
    while (pos < b) {
        uint32_t m = ck__match(kind, cp, fl, pos, b);
        if (m == 0) { pos++; continue; }
        if (pos > start) *o++ = pos;
        pos += m;
        *o++ = start = pos;
    }
    if (b > start) *o++ = b;
    return o;
}

static const signed char *ck__pre_passes(int pre)
{
    static const signed char def[] = { CK__P_DEFAULT_PUNCT, CK__P_GPT2, CK__P_NUMS, CK__P_DIGIT3, -1 };
    static const signed char gpt2[] = { CK__P_GPT2, -1 };
    static const signed char llama3[] = { CK__P_LLAMA3, -1 };
    static const signed char qwen2[] = { CK__P_QWEN2, -1 };
    static const signed char dsl[] = { CK__P_CRLF, CK__P_DS_LETTER, CK__P_DS_PUNCT, CK__P_TRAIL_WS, CK__P_CJK, CK__P_NUMS, -1 };
    static const signed char dsc[] = { CK__P_CRLF, CK__P_LETTERS, CK__P_PUNCTS, CK__P_CJK, CK__P_NUM1, -1 };
    static const signed char falcon[] = { CK__P_FALCON_PUNCT, CK__P_GPT2, CK__P_DIGIT3, -1 };
    static const signed char star[] = { CK__P_NUM1, CK__P_GPT2, -1 };
    switch (pre) {
    case CK_PRE_GPT2: case CK_PRE_MPT: return gpt2;
    case CK_PRE_LLAMA3: return llama3;
    case CK_PRE_QWEN2: return qwen2;
    case CK_PRE_DEEPSEEK_LLM: return dsl;
    case CK_PRE_DEEPSEEK_CODER: return dsc;
    case CK_PRE_FALCON: return falcon;
    case CK_PRE_STARCODER: return star;
    default: return def;
    }
}

static uint32_t ck__decode_all(ck__enc *e, const uint8_t *s, uint32_t n)
{
    uint32_t i = 0, k = 0;
    while (i < n) {
        int l;
        uint32_t c;
        if (s[i] < 0x80) { /* ASCII */
            e->cp[k] = s[i];
            e->off[k] = i;
            e->fl[k] = ck__uflags_ascii[s[i]];
            k++;
            i++;
            continue;
        }
        c = ck__utf8(s, n, i, &l);
        e->cp[k] = c;
        e->off[k] = i;
        e->fl[k] = (uint8_t)ck_unicode_flags(c);
        k++;
        i += (uint32_t)l;
    }
    e->off[k] = n;
    return k;
}

static void ck__bpe_text(ck__enc *e, const uint8_t *s, uint32_t n)
{
    const signed char *pass = ck__pre_passes(e->t->pre);
    uint32_t ncp = ck__decode_all(e, s, n), nf = 1, *in = e->fa, *out = e->fb, i;
    in[0] = ncp;
    for (; *pass >= 0; pass++) {
        uint32_t a = 0, *o = out, *tmp;
        for (i = 0; i < nf; i++) { o = ck__split_pass(e->cp, e->fl, a, in[i], o, *pass); a = in[i]; }
        nf = (uint32_t)(o - out);
        tmp = in; in = out; out = tmp;
    }
    {
        uint32_t a = 0;
        for (i = 0; i < nf; i++) {
            const uint8_t *w = s + e->off[a];
            uint32_t wl = e->off[in[i]] - e->off[a];
            a = in[i];
            if (wl == 0) continue;
            if (wl >= 3 && wl <= 256 && e->cache) {
                /* a word seen earlier in this call: copy its ids (BPE of a word is a pure function) */
                uint64_t h = ck__hash_bytes(w, wl);
                ck__wcache *c = &e->cache[h & e->cache_mask];
                size_t before = e->n, k;
                if (c->h == h && c->len == wl && c->id0 + c->nid <= e->max && memcmp(c->p, w, wl) == 0) {
                    for (k = 0; k < c->nid; k++) ck__emit(e, e->ids[c->id0 + k]);
                    continue;
                }
                ck__bpe_word(e, w, wl);
                if (e->n <= e->max) { c->h = h; c->p = w; c->len = wl; c->id0 = (uint32_t)before; c->nid = (uint32_t)(e->n - before); }
                continue;
            }
            ck__bpe_word(e, w, wl);
        }
    }
}

/* SentencePiece BPE by score over one fragment: symbols are UTF-8 characters (lenient, as
   llama.cpp splits them); the best-scoring adjacent pair that is a token merges first. */
static uint64_t ck__score_key(float s)
{
    uint32_t u;
    memcpy(&u, &s, 4);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending with the float */
    return (uint64_t)(~u); /* highest score first */
}
static void ck__spm_try(ck__enc *e, size_t *hn, int32_t l, int32_t r)
{
    const ck_tok *t = e->t;
    int32_t id;
    uint32_t size;
    if (l < 0 || r < 0) return;
    size = e->slen[l] + e->slen[r];
    id = ck__tok_find(t, e->buf + e->sstart[l], size);
    if (id < 0) return;
    ck__hpush(e->heap, hn, ck__score_key(t->score[id]) << 32 | (uint32_t)l, size, (uint32_t)id);
}
static int ck__spm_is_space(const ck__enc *e, uint32_t k)
{
    return e->slen[k] == 3 && memcmp(e->buf + e->sstart[k], "\xe2\x96\x81", 3) == 0;
}
static void ck__spm_text(ck__enc *e, const uint8_t *s, uint32_t n, int prefix_space)
{
    const ck_tok *t = e->t;
    uint32_t bl = 0, i, j, seg, nsym = 0;
    size_t hn = 0;
    int32_t k;
    if (prefix_space) { memcpy(e->buf, "\xe2\x96\x81", 3); bl = 3; }
    for (i = 0; i < n; i++) {
        if (s[i] == ' ') { memcpy(e->buf + bl, "\xe2\x96\x81", 3); bl += 3; }
        else e->buf[bl++] = s[i];
    }
    for (i = 0; i < bl;) {
        uint32_t l = (uint32_t)ck__utf8_len_lenient(e->buf[i]);
        if (l > bl - i) l = bl - i;
        e->sstart[nsym] = i;
        e->slen[nsym] = l;
        e->sprev[nsym] = (int32_t)nsym - 1;
        i += l;
        e->snext[nsym] = i == bl ? -1 : (int32_t)nsym + 1;
        nsym++;
    }
    /* merge word by word when no token spans words (t->spm_words), else the whole text at once:
       the same merges in the same order within each word, with a heap the size of one word.
       Each word's ids go out when it is done; a word seen before in this fragment (the cache,
       tagged with the fragment: buf is rewritten for each) copies its ids. */
    e->cache_gen++;
    for (seg = 0, i = 1; i <= nsym; i++) {
        const uint8_t *w;
        uint32_t wl;
        uint64_t h = 0;
        ck__wcache *c = NULL;
        size_t before = e->n, m;
        if (i < nsym && !(t->spm_words && ck__spm_is_space(e, i) && !ck__spm_is_space(e, i - 1))) continue;
        w = e->buf + e->sstart[seg];
        wl = e->sstart[i - 1] + e->slen[i - 1] - e->sstart[seg];
        if (e->cache && wl <= 256) {
            h = ck__hash_bytes(w, wl);
            c = &e->cache[h & e->cache_mask];
            if (c->h == h && c->gen == e->cache_gen && c->len == wl && c->id0 + c->nid <= e->max && memcmp(c->p, w, wl) == 0) {
                for (m = 0; m < c->nid; m++) ck__emit(e, e->ids[c->id0 + m]);
                seg = i;
                continue;
            }
        }
        e->sprev[seg] = -1; /* the word [seg, i) alone */
        e->snext[i - 1] = -1;
        for (j = seg + 1; j < i; j++) ck__spm_try(e, &hn, (int32_t)j - 1, (int32_t)j);
        while (hn) {
            ck__hent b = ck__hpop(e->heap, &hn);
            int32_t L = (int32_t)(uint32_t)b.key, R = e->snext[L];
            if (e->slen[L] == 0 || R < 0 || e->slen[R] == 0 || e->slen[L] + e->slen[R] != b.aux) continue;
            e->slen[L] += e->slen[R];
            e->slen[R] = 0;
            e->snext[L] = e->snext[R];
            if (e->snext[R] >= 0) e->sprev[e->snext[R]] = L;
            ck__spm_try(e, &hn, e->sprev[L], L);
            ck__spm_try(e, &hn, L, e->snext[L]);
        }
        for (k = (int32_t)seg; k >= 0; k = e->snext[k]) {
            int32_t id = ck__tok_find(t, e->buf + e->sstart[k], e->slen[k]);
            if (id >= 0) ck__emit(e, id);
            else
                for (j = 0; j < e->slen[k]; j++) {
                    int32_t bt = t->byte_tok[e->buf[e->sstart[k] + j]];
                    ck__emit(e, bt >= 0 ? bt : t->unk);
                }
        }
        if (c && e->n <= e->max) { c->h = h; c->p = w; c->len = wl; c->id0 = (uint32_t)before; c->nid = (uint32_t)(e->n - before); c->gen = e->cache_gen; }
        seg = i;
    }
}

/* WordPiece: BERT's basic tokenizer, then greedy longest match (pieces after the first of a
   word are looked up bare, the first with U+2581 in front) */
static int ck__is_cjk_ideograph(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}
static void ck__wpm_word(ck__enc *e, uint32_t n)
{
    const ck_tok *t = e->t;
    size_t before = e->n;
    uint32_t i, j;
    if (n <= 3) return;
    for (i = 0; i < n;) {
        int found = 0;
        for (j = CK_MIN(n, i + t->max_token_len); j > i; j--) {
            int32_t id = ck__tok_find(t, e->buf + i, j - i);
            if (id >= 0) { ck__emit(e, id); found = 1; i = j; break; }
        }
        if (!found) { e->n = before; break; }
    }
    if (e->n == before) ck__emit(e, t->unk);
}
static void ck__wpm_text(ck__enc *e, const uint8_t *s, uint32_t n)
{
    uint32_t i = 0, wl = 3;
    memcpy(e->buf, "\xe2\x96\x81", 3);
    while (i < n) {
        int l, f;
        uint32_t c = ck__utf8(s, n, i, &l);
        i += (uint32_t)l;
        if (c >= 0x110000) continue; /* invalid byte: llama.cpp's U+FFFD, dropped */
        c = ck__unfd_first(c);
        f = ck_unicode_flags(c);
        if (f & CK__WS) { ck__wpm_word(e, wl); wl = 3; continue; }
        if (c == 0 || c == 0xFFFD || (f & CK_U_CONTROL)) continue;
        if ((f & CK_U_PUNCT) || (c < 0x7F && (f & CK_U_SYMBOL)) || ck__is_cjk_ideograph(c)) {
            ck__wpm_word(e, wl);
            wl = 3 + (uint32_t)ck__utf8_put(e->buf + 3, ck_unicode_tolower(c));
            ck__wpm_word(e, wl);
            wl = 3;
            continue;
        }
        wl += (uint32_t)ck__utf8_put(e->buf + wl, ck_unicode_tolower(c));
    }
    ck__wpm_word(e, wl);
}

CK_DEF size_t ck_tok_max_ids(const ck_tok *t, size_t len)
{
    /* SentencePiece: a space becomes 3 bytes of U+2581 and bytes without a token fall back one
       token per byte, so up to 3 per input byte (+ the prefix); the others: one per byte */
    return t->model == CK_TOK_SPM ? 3 * len + 6 : len + 3;
}

/* The work buffer, shared by ck_tok_work_bytes (e NULL: only the size) and ck_tok_encode; each
   array 16-byte aligned. N = len + 8 entries per text array. Byte-level BPE: code points, their
   offsets and flags, fragment ends (pre-tokenizer), symbols by byte (a word can be the whole
   text) and their heap, the word cache. SentencePiece: symbols can be 3 per input byte (a space
   is 3 bytes of U+2581, and a bad lead byte may swallow part of one), their heap, the escaped
   text, the word cache. WordPiece: only the special-token claims and one word's bytes. */
static size_t ck__work_layout(const ck_tok *t, size_t len, ck__enc *e, uint8_t *base)
{
    int bpe = t->model == CK_TOK_BPE, spm = t->model == CK_TOK_SPM;
    size_t N = len + 8, NS = spm ? 3 * N : bpe ? N : 0, o = 0, nc = 16;
    while (nc < 4096 && nc * 4 < N) nc *= 2; /* word cache entries: <= 32 bytes per 4 input bytes, <= 128 KB */
#define CK__CARVE(field, type, count) \
    do { if (e) e->field = (type *)(void *)(base + o); o += ((size_t)(count) * sizeof(type) + 15) & ~(size_t)15; } while (0)
    CK__CARVE(claim, int32_t, N);
    if (bpe) {
        CK__CARVE(cp, uint32_t, N);
        CK__CARVE(off, uint32_t, N);
        CK__CARVE(fa, uint32_t, N);
        CK__CARVE(fb, uint32_t, N);
        CK__CARVE(fl, uint8_t, N);
        CK__CARVE(sid, int32_t, NS);
    }
    if (bpe || spm) {
        CK__CARVE(sprev, int32_t, NS);
        CK__CARVE(slen, uint32_t, NS);
        CK__CARVE(snext, int32_t, spm ? NS : CK__BPE_SCAN); /* BPE: pair ranks and results of a short word */
        CK__CARVE(sstart, uint32_t, spm ? NS : CK__BPE_SCAN);
        CK__CARVE(heap, ck__hent, 2 * NS);
        CK__CARVE(cache, ck__wcache, nc);
        if (e) e->cache_mask = (uint32_t)nc - 1;
    }
    CK__CARVE(buf, uint8_t, 4 * N + 8); /* BPE: a word's GPT-2 characters; SentencePiece: the text with U+2581; WordPiece: a word */
#undef CK__CARVE
    return o + 16; /* room to align the caller's pointer */
}
/* memchr, which a freestanding build (CK_NO_STDIO) does without */
static const uint8_t *ck__find_byte(const uint8_t *p, uint8_t c, size_t n)
{
#ifndef CK_NO_STDIO
    return (const uint8_t *)memchr(p, c, n);
#else
    for (; n; n--, p++)
        if (*p == c) return p;
    return NULL;
#endif
}
CK_DEF size_t ck_tok_work_bytes(const ck_tok *t, size_t len)
{
    return ck__work_layout(t, len, NULL, NULL);
}

CK_DEF int64_t ck_tok_encode(const ck_tok *t, const char *text, size_t len, int flags, int32_t *ids, size_t max_ids,
                             void *work, size_t work_bytes)
{
    ck__enc e;
    size_t i, start;
    const uint8_t *s = (const uint8_t *)text;
    int prev_special = 1;
    if (len >= 0x7fffffffu || !work || work_bytes < ck_tok_work_bytes(t, len) || (len && !text)) return -1;
    memset(&e, 0, sizeof e);
    e.t = t;
    e.ids = ids;
    e.max = ids ? max_ids : 0;
    ck__work_layout(t, len, &e, (uint8_t *)work + ((16 - ((uintptr_t)work & 15)) & 15));
    if (e.cache && !(flags & CK_TOK_NO_CACHE)) memset(e.cache, 0, (e.cache_mask + 1) * sizeof(ck__wcache));
    else e.cache = NULL;

    if ((flags & CK_TOK_ADD_SPECIAL) && t->add_bos && t->bos >= 0) ck__emit(&e, t->bos);

    /* special tokens, longest first: each claims its leftmost non-overlapping occurrences in
       the text no longer token has claimed (llama.cpp's partition). User-defined tokens always,
       control and unknown ones only with CK_TOK_PARSE_SPECIAL. */
    if (t->n_special && len) {
        uint8_t present[256];
        int32_t k;
        int claimed = 0, have_present = 0;
        for (k = 0; k < t->n_special; k++) {
            int32_t id = t->special[k];
            const uint8_t *tx = (const uint8_t *)t->text[id];
            size_t tl = t->text_len[id];
            if (t->type[id] != CK_TOKT_USER && !(flags & CK_TOK_PARSE_SPECIAL)) continue;
            if (tl > len) continue;
            if (!have_present) { /* the bytes in the text, once a special token may be in it */
                memset(present, 0, sizeof present);
                for (i = 0; i < len; i++) present[s[i]] = 1;
                have_present = 1;
            }
            if (!present[tx[0]]) continue;
            for (i = 0; i + tl <= len;) {
                const uint8_t *hit = ck__find_byte(s + i, tx[0], len - tl + 1 - i);
                size_t j, at;
                if (!hit) break;
                at = (size_t)(hit - s);
                if (memcmp(s + at, tx, tl) != 0) { i = at + 1; continue; }
                if (!claimed) { for (j = 0; j < len; j++) e.claim[j] = -1; claimed = 1; }
                for (j = 0; j < tl && e.claim[at + j] == -1; j++) {}
                if (j < tl) { i = at + 1; continue; }
                e.claim[at] = id;
                for (j = 1; j < tl; j++) e.claim[at + j] = -2;
                i = at + tl;
            }
        }
        if (!claimed) e.claim = NULL;
    } else e.claim = NULL;
    for (start = 0, i = e.claim ? 0 : len; i <= len; i++) {
        if (i < len && e.claim[i] == -1) continue;
        if (i > start) { /* raw text [start, i) */
            const uint8_t *f = s + start;
            uint32_t fn = (uint32_t)(i - start);
            if (t->model == CK_TOK_BPE) ck__bpe_text(&e, f, fn);
            else if (t->model == CK_TOK_SPM) ck__spm_text(&e, f, fn, t->add_space_prefix && prev_special);
            else ck__wpm_text(&e, f, fn);
            prev_special = 0;
        }
        if (i < len && e.claim) { /* a special token */
            ck__emit(&e, e.claim[i]);
            prev_special = 1;
            i += t->text_len[e.claim[i]] - 1;
            start = i + 1;
        }
    }
    if (flags & CK_TOK_ADD_SPECIAL) {
        if (t->model == CK_TOK_WPM) { if (t->sep >= 0) ck__emit(&e, t->sep); }
        else if (t->add_eos && t->eos >= 0) ck__emit(&e, t->eos);
    }
    return (int64_t)e.n;
}

/* ---- decoding ---- */
static size_t ck__put(char *out, size_t cap, size_t n, const void *src, size_t k)
{
    if (n < cap) memcpy(out + n, src, CK_MIN(k, cap - n));
    return n + k;
}
CK_DEF size_t ck_tok_piece(const ck_tok *t, int32_t id, int flags, char *out, size_t cap)
{
    const uint8_t *s;
    size_t n = 0, i, L;
    int ty;
    if (id < 0 || id >= t->n_tokens) return 0;
    s = (const uint8_t *)t->text[id];
    L = t->text_len[id];
    ty = t->type[id];
    if (ty == CK_TOKT_CONTROL || ty == CK_TOKT_UNKNOWN) return (flags & CK_TOK_RENDER_SPECIAL) ? ck__put(out, cap, 0, s, L) : 0;
    if (ty == CK_TOKT_USER) return ck__put(out, cap, 0, s, L);
    if (t->model == CK_TOK_BPE) {
        if (ty != CK_TOKT_NORMAL) return 0;
        for (i = 0; i < L;) {
            int l, b;
            uint32_t c = ck__utf8(s, L, i, &l);
            b = ck__cp_to_byte(c);
            if (b >= 0) { uint8_t ch = (uint8_t)b; n = ck__put(out, cap, n, &ch, 1); }
            else n = ck__put(out, cap, n, s + i, (size_t)l); /* not a byte character: as it is */
            i += (size_t)l;
        }
        return n;
    }
    if (ty == CK_TOKT_BYTE) { /* <0xNN> */
        uint8_t ch = 0;
        for (i = 3; i < 5 && i < L; i++) ch = (uint8_t)(ch * 16 + (s[i] <= '9' ? s[i] - '0' : (s[i] | 32) - 'a' + 10));
        return ck__put(out, cap, 0, &ch, 1);
    }
    if (ty != CK_TOKT_NORMAL) return 0;
    for (i = 0; i < L;) {
        if (i + 3 <= L && s[i] == 0xE2 && s[i + 1] == 0x96 && s[i + 2] == 0x81) { n = ck__put(out, cap, n, " ", 1); i += 3; }
        else { n = ck__put(out, cap, n, s + i, 1); i++; }
    }
    return n;
}

/* SentencePiece and WordPiece text starts with a space encode added (at the start and after
   each special token): decoding drops it again */
static int ck__strips_space(const ck_tok *t) { return t->model == CK_TOK_WPM || (t->model == CK_TOK_SPM && t->add_space_prefix); }
static int ck__is_special_type(int ty) { return ty == CK_TOKT_CONTROL || ty == CK_TOKT_USER || ty == CK_TOKT_UNKNOWN; }

CK_DEF int ck_tok_eog_ids(const ck_tok *t, const ck_gguf *g, int32_t *ids, int cap)
{
    static const char *const keys[] = { "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id" };
    static const char *const markers[] = { "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>",
                                           "<|endoftext|>", "<|end_of_text|>", "<EOT>" };
    int n_keys = (int)(sizeof keys / sizeof keys[0]), n = 0, k, j;
    for (k = 0; k < n_keys + (int)(sizeof markers / sizeof markers[0]); k++) {
        int32_t id;
        if (k < n_keys) {
            int64_t v;
            if (!ck_gguf_get_int(g, keys[k], &v) || v < 0 || v >= t->n_tokens) continue;
            id = (int32_t)v;
        } else {
            const char *m = markers[k - n_keys];
            size_t len = strlen(m);
            for (id = 0; id < t->n_tokens; id++)
                if (t->text_len[id] == len && !memcmp(t->text[id], m, len)) break;
            if (id == t->n_tokens) continue;
        }
        for (j = 0; j < n && j < cap; j++)
            if (ids[j] == id) break;
        if (j < n && j < cap) continue; /* already listed */
        if (n < cap) ids[n] = id;
        n++;
    }
    return n;
}

CK_DEF void ck_tok_stream_init(ck_tok_stream *s) { memset(s, 0, sizeof *s); }

/* bytes at the end of p[0..n) that start a UTF-8 character still missing bytes */
static size_t ck__utf8_incomplete_tail(const uint8_t *p, size_t n)
{
    size_t k;
    for (k = 1; k <= 3 && k <= n; k++) {
        uint8_t c = p[n - k];
        if ((c & 0xC0) == 0x80) continue;           /* continuation: look further back */
        if (c >= 0xC2 && c <= 0xF4) {
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            return need > k ? k : 0;
        }
        return 0;
    }
    return 0;
}

CK_DEF size_t ck_tok_stream_next(const ck_tok *t, ck_tok_stream *st, int32_t id, int flags, char *out, size_t cap)
{
    size_t n, m, hold, skip = 0;
    uint8_t *o = (uint8_t *)out;
    if (cap < (size_t)t->max_token_len + 8 || id < 0 || id >= t->n_tokens) return 0;
    memcpy(o, st->pend, (size_t)st->n_pend);
    n = (size_t)st->n_pend;
    m = ck_tok_piece(t, id, flags, out + n, cap - n);
    if (ck__is_special_type(t->type[id])) st->after_text = 0;
    else if (m > 0) {
        if (!st->after_text && ck__strips_space(t) && o[n] == ' ') skip = 1;
        st->after_text = 1;
    }
    if (skip) { memmove(o + n, o + n + 1, m - 1); m--; }
    n += m;
    hold = ck__utf8_incomplete_tail(o, n);
    memcpy(st->pend, o + n - hold, hold);
    st->n_pend = (int)hold;
    return n - hold;
}
CK_DEF size_t ck_tok_stream_flush(ck_tok_stream *st, char *out, size_t cap)
{
    size_t n = CK_MIN((size_t)st->n_pend, cap);
    memcpy(out, st->pend, n);
    st->n_pend = 0;
    return n;
}

CK_DEF size_t ck_tok_decode(const ck_tok *t, const int32_t *ids, size_t n_ids, int flags, char *out, size_t cap)
{
    size_t n = 0, i;
    int after_text = 0;
    for (i = 0; i < n_ids; i++) {
        char tmp[64];
        int32_t id = ids[i];
        size_t m;
        if (id < 0 || id >= t->n_tokens) continue;
        if (ck__is_special_type(t->type[id])) { after_text = 0; n += ck_tok_piece(t, id, flags, n < cap ? out + n : NULL, n < cap ? cap - n : 0); continue; }
        m = ck_tok_piece(t, id, flags, tmp, sizeof tmp);
        if (m == 0) continue;
        if (!after_text && ck__strips_space(t) && tmp[0] == ' ') {
            /* write the piece without its first byte */
            if (m <= sizeof tmp) n = ck__put(out, cap, n, tmp + 1, m - 1);
            else {
                size_t w = ck_tok_piece(t, id, flags, n < cap ? out + n : NULL, n < cap ? cap - n : 0), k = n < cap ? CK_MIN(w, cap - n) : 0;
                if (k) memmove(out + n, out + n + 1, k - 1);
                n += w - 1;
            }
        } else {
            n += ck_tok_piece(t, id, flags, n < cap ? out + n : NULL, n < cap ? cap - n : 0);
        }
        after_text = 1;
    }
    return n;
}

#ifndef CK_NO_STDIO
CK_DEF int ck_tok_open(ck_tokenizer_file *f, const char *path, char *err, size_t errlen)
{
    size_t need;
    memset(f, 0, sizeof *f);
    if (ck_gguf_open(&f->gguf, path)) { ck__fmt(err, errlen, "%s", f->gguf.error); return -1; }
    need = ck_tok_mem_bytes(&f->gguf);
    if (need == 0) {
        ck_tok_init(&f->tok, &f->gguf, NULL, 0); /* for its error message */
        ck__fmt(err, errlen, "%s: %s", path, f->tok.error);
        ck_gguf_close(&f->gguf);
        return -1;
    }
    f->mem = CK_MALLOC(need);
    if (!f->mem) { ck__fmt(err, errlen, "%s: out of memory (%llu bytes)", path, (unsigned long long)need); ck_gguf_close(&f->gguf); return -1; }
    if (ck_tok_init(&f->tok, &f->gguf, f->mem, need)) {
        ck__fmt(err, errlen, "%s: %s", path, f->tok.error);
        ck_tok_close(f);
        return -1;
    }
    return 0;
}
CK_DEF void ck_tok_close(ck_tokenizer_file *f)
{
    if (f->mem) CK_FREE(f->mem);
    ck_gguf_close(&f->gguf);
    memset(f, 0, sizeof *f);
}
CK_DEF int64_t ck_tok_encode_alloc(const ck_tok *t, const char *text, size_t len, int flags, int32_t **ids)
{
    size_t wb = ck_tok_work_bytes(t, len), mx = ck_tok_max_ids(t, len);
    void *work = CK_MALLOC(wb);
    int64_t n = -1;
    *ids = (int32_t *)CK_MALLOC(mx * sizeof(int32_t));
    if (work && *ids) n = ck_tok_encode(t, text, len, flags, *ids, mx, work, wb);
    if (work) CK_FREE(work);
    if (n < 0 && *ids) { CK_FREE(*ids); *ids = NULL; }
    return n;
}
#endif
/* ---- end of 15. Tokenizer ---- */

/* ===================================================================================== */
/* 16. Chat templates                                                                    */
/* ===================================================================================== */
static const char *const ck__chat_name[CK_CHAT_COUNT] = {
    "unknown", "chatml", "qwen2.5", "smollm", "llama2", "mistral-v0.1", "llama2-sys", "mistral-v1", "llama3", "gemma", "phi3", "zephyr", "deepseek", "deepseek2"
};
CK_DEF const char *ck_chat_name(int family) { return family > 0 && family < CK_CHAT_COUNT ? ck__chat_name[family] : "unknown"; }
/* strcmp(a, b) == 0 with the functions a freestanding build has (CK_NO_STDIO links no strcmp) */
static int ck__cstr_eq(const char *a, const char *b) { size_t n = strlen(a); return n == strlen(b) && memcmp(a, b, n) == 0; }
CK_DEF int ck_chat_from_name(const char *name)
{
    int f;
    for (f = 1; name && f < CK_CHAT_COUNT; f++)
        if (ck__cstr_eq(name, ck__chat_name[f])) return f;
    return CK_CHAT_UNKNOWN;
}
CK_DEF const char *ck_chat_names(void)
{
    return "chatml, qwen2.5, smollm, llama2, mistral-v0.1, llama2-sys, mistral-v1, llama3, gemma, phi3, zephyr, deepseek, deepseek2";
}
CK_DEF const char *ck_chat_end_of_turn(int family)
{
    switch (family) {
    case CK_CHAT_CHATML: case CK_CHAT_QWEN25: case CK_CHAT_SMOLLM: return "<|im_end|>";
    case CK_CHAT_LLAMA3: return "<|eot_id|>";
    case CK_CHAT_GEMMA: return "<end_of_turn>";
    case CK_CHAT_PHI3: return "<|end|>";
    case CK_CHAT_DEEPSEEK: return "<|EOT|>";
    default: return NULL; /* the eos token closes the turn */
    }
}

static int ck__contains(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit), i;
    for (i = 0; m <= n && i <= n - m; i++)
        if (s[i] == lit[0] && !memcmp(s + i, lit, m)) return 1;
    return 0;
}

/* The order of llama.cpp's tests, so a template that holds two families' markers lands where it
   does there. Families ckernel does not render (phi4, mistral-v3/v7, the other <<SYS>> variants,
   Llama 3.1's dated system block, ...) are CK_CHAT_UNKNOWN rather than a near miss. */
CK_DEF int ck_chat_detect(const char *t, size_t n)
{
#define CK__HAS(lit) ck__contains(t, n, lit)
    if (!t) return CK_CHAT_UNKNOWN;
    if (CK__HAS("<|im_start|>")) {
        if (CK__HAS("<|im_sep|>")) return CK_CHAT_UNKNOWN; /* phi4 */
        if (CK__HAS("You are Qwen, created by Alibaba Cloud")) return CK_CHAT_QWEN25;
        return CK__HAS("named SmolLM, trained by Hugging Face") ? CK_CHAT_SMOLLM : CK_CHAT_CHATML;
    }
    if (CK__HAS("[INST]")) {
        if (CK__HAS("[SYSTEM_PROMPT]") || CK__HAS("[AVAILABLE_TOOLS]")) return CK_CHAT_UNKNOWN; /* mistral v3, v7 */
        if (CK__HAS("' [INST] ' + system_message")) return CK_CHAT_MISTRAL_V1;
        if (!CK__HAS("<<SYS>>")) return CK__HAS("eos_token + ' '") ? CK_CHAT_MISTRAL_V01 : CK_CHAT_LLAMA2;
        return CK__HAS("bos_token + '[INST]") && CK__HAS("content.strip()") ? CK_CHAT_LLAMA2_SYS : CK_CHAT_UNKNOWN;
    }
    if (CK__HAS("<|assistant|>") && CK__HAS("<|end|>")) return CK_CHAT_PHI3;
    if (CK__HAS("<|assistant|>") && CK__HAS("<|user|>")) /* zephyr's own template ends turns with eos_token */
        return CK__HAS("eos_token") && !CK__HAS("</s>") ? CK_CHAT_ZEPHYR : CK_CHAT_UNKNOWN;
    if (CK__HAS("<|user|>") && CK__HAS("<|endoftext|>")) return CK_CHAT_UNKNOWN; /* zephyr with a literal end: not done */
    if (CK__HAS("<start_of_turn>")) return CK_CHAT_GEMMA;
    if (CK__HAS("### Instruction:") && CK__HAS("<|EOT|>")) return CK_CHAT_DEEPSEEK;
    if (CK__HAS("<|start_header_id|>") && CK__HAS("<|end_header_id|>"))
        return CK__HAS("Cutting Knowledge Date") ? CK_CHAT_UNKNOWN : CK_CHAT_LLAMA3; /* 3.1+: dated system block */
    if (CK__HAS("'Assistant: ' + message['content'] + eos_token")) return CK_CHAT_DEEPSEEK2;
    return CK_CHAT_UNKNOWN;
#undef CK__HAS
}

/* output: the first cap - 1 bytes are written, len counts them all */
typedef struct { char *out; size_t cap, len; } ck__chat_out;
static void ck__chat_put(ck__chat_out *o, const char *s, size_t n)
{
    if (o->cap && o->len < o->cap - 1) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->out + o->len, s, n < room ? n : room);
    }
    o->len += n;
}
static void ck__chat_puts(ck__chat_out *o, const char *s) { if (s) ck__chat_put(o, s, strlen(s)); }
/* Python's str.strip() / jinja's trim for ASCII whitespace (incl. \x1c-\x1f); not Unicode spaces */
static int ck__chat_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }
static void ck__chat_put_trim(ck__chat_out *o, const char *s, int left)
{
    size_t a = 0, b = strlen(s);
    while (left && a < b && ck__chat_space(s[a])) a++;
    while (b > a && ck__chat_space(s[b - 1])) b--;
    ck__chat_put(o, s + a, b - a);
}
enum { CK__SYSTEM, CK__USER, CK__ASSISTANT };
static int ck__chat_role(const ck_chat_msg *m)
{
    if (!m->role || !m->content) return -1;
    if (ck__cstr_eq(m->role, "system")) return CK__SYSTEM;
    if (ck__cstr_eq(m->role, "user")) return CK__USER;
    if (ck__cstr_eq(m->role, "assistant")) return CK__ASSISTANT;
    return -1;
}

CK_DEF int64_t ck_chat_render(int family, const ck_chat_msg *msgs, int n, int add_gen, const char *bos, const char *eos,
                              char *out, size_t cap, const char **why)
{
    static const char *alternate = "Conversation roles must alternate user/assistant/user/assistant/...";
    ck__chat_out o;
    const char *err = NULL, *sys = NULL;
    int i, first = 0;
    o.out = out; o.cap = cap; o.len = 0;
    if (!bos) bos = "";
    if (!eos) eos = "";
    if (n < 1 || !msgs) err = "no messages";
    for (i = 0; !err && i < n; i++)
        if (ck__chat_role(&msgs[i]) < 0) err = "a message's role is not system, user or assistant";
    if (!err && (family == CK_CHAT_LLAMA2_SYS || family == CK_CHAT_MISTRAL_V1) && ck__chat_role(&msgs[0]) == CK__SYSTEM) {
        sys = msgs[0].content; /* the system message goes into the first user turn */
        first = 1;
    }
    for (i = first; !err && i < n; i++) { /* the templates that check alternation raise before they write */
        int user = ck__chat_role(&msgs[i]) == CK__USER, even = (i - first) % 2 == 0;
        if (family == CK_CHAT_GEMMA && i == 0 && !user && ck__chat_role(&msgs[0]) == CK__SYSTEM) err = "System role not supported";
        else if ((family == CK_CHAT_LLAMA2 || family == CK_CHAT_MISTRAL_V01 || family == CK_CHAT_LLAMA2_SYS || family == CK_CHAT_GEMMA)
                 && user != even) err = alternate;
        else if (family == CK_CHAT_MISTRAL_V1 && user != even)
            err = "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...";
        else if ((family == CK_CHAT_LLAMA2 || family == CK_CHAT_MISTRAL_V01) && ck__chat_role(&msgs[i]) == CK__SYSTEM)
            err = "Only user and assistant roles are supported!";
        else if (family == CK_CHAT_MISTRAL_V1 && ck__chat_role(&msgs[i]) == CK__SYSTEM)
            err = "Only user and assistant roles are supported, with the exception of an initial optional system message!";
    }
    if (!err && (family <= CK_CHAT_UNKNOWN || family >= CK_CHAT_COUNT)) err = "unknown chat template";
    if (err) {
        if (why) *why = err;
        if (cap) out[0] = 0;
        return -1;
    }
    switch (family) {
    case CK_CHAT_CHATML: case CK_CHAT_QWEN25: case CK_CHAT_SMOLLM:
        if (family != CK_CHAT_CHATML) { /* the default system message unless the first message is one */
            ck__chat_puts(&o, "<|im_start|>system\n");
            ck__chat_puts(&o, ck__chat_role(&msgs[0]) == CK__SYSTEM ? msgs[0].content
                              : family == CK_CHAT_QWEN25 ? "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
                                                         : "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
            ck__chat_puts(&o, "<|im_end|>\n");
            first = ck__chat_role(&msgs[0]) == CK__SYSTEM;
        }
        for (i = first; i < n; i++) {
            ck__chat_puts(&o, "<|im_start|>");
            ck__chat_puts(&o, msgs[i].role);
            ck__chat_puts(&o, "\n");
            ck__chat_puts(&o, msgs[i].content);
            ck__chat_puts(&o, "<|im_end|>\n");
        }
        if (add_gen) ck__chat_puts(&o, "<|im_start|>assistant\n");
        break;
    case CK_CHAT_LLAMA2: case CK_CHAT_MISTRAL_V01: /* no system, no generation prompt; v0.1: a space after eos */
        ck__chat_puts(&o, bos);
        for (i = 0; i < n; i++) {
            if (ck__chat_role(&msgs[i]) == CK__USER) {
                ck__chat_puts(&o, "[INST] ");
                ck__chat_puts(&o, msgs[i].content);
                ck__chat_puts(&o, " [/INST]");
            } else {
                ck__chat_puts(&o, msgs[i].content);
                ck__chat_puts(&o, eos);
                if (family == CK_CHAT_MISTRAL_V01) ck__chat_puts(&o, " ");
            }
        }
        break;
    case CK_CHAT_LLAMA2_SYS: /* Llama-2-chat: BOS before each user turn, contents stripped */
        for (i = first; i < n; i++) {
            int role = ck__chat_role(&msgs[i]);
            if (role == CK__SYSTEM) continue; /* a later system message at an odd place: the template writes nothing */
            ck__chat_puts(&o, role == CK__USER ? bos : " ");
            if (role == CK__USER) ck__chat_puts(&o, "[INST] ");
            if (i == first && sys) { /* ('<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content).strip() */
                size_t b = strlen(msgs[i].content);
                while (b > 0 && ck__chat_space(msgs[i].content[b - 1])) b--;
                ck__chat_puts(&o, "<<SYS>>\n");
                ck__chat_puts(&o, sys);
                ck__chat_puts(&o, "\n<</SYS>>");
                if (b) { ck__chat_puts(&o, "\n\n"); ck__chat_put(&o, msgs[i].content, b); }
            } else ck__chat_put_trim(&o, msgs[i].content, 1);
            ck__chat_puts(&o, role == CK__USER ? " [/INST]" : " ");
            if (role == CK__ASSISTANT) ck__chat_puts(&o, eos);
        }
        break;
    case CK_CHAT_MISTRAL_V1:
        ck__chat_puts(&o, bos);
        for (i = first; i < n; i++) {
            if (ck__chat_role(&msgs[i]) == CK__USER) {
                ck__chat_puts(&o, " [INST] ");
                if (i == first && sys) { ck__chat_puts(&o, sys); ck__chat_puts(&o, "\n\n"); }
                ck__chat_puts(&o, msgs[i].content);
                ck__chat_puts(&o, " [/INST]");
            } else {
                ck__chat_puts(&o, " ");
                ck__chat_puts(&o, msgs[i].content);
                ck__chat_puts(&o, eos);
            }
        }
        break;
    case CK_CHAT_LLAMA3:
        for (i = 0; i < n; i++) {
            if (i == 0) ck__chat_puts(&o, bos);
            ck__chat_puts(&o, "<|start_header_id|>");
            ck__chat_puts(&o, msgs[i].role);
            ck__chat_puts(&o, "<|end_header_id|>\n\n");
            ck__chat_put_trim(&o, msgs[i].content, 1);
            ck__chat_puts(&o, "<|eot_id|>");
        }
        if (add_gen) ck__chat_puts(&o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case CK_CHAT_GEMMA:
        ck__chat_puts(&o, bos);
        for (i = 0; i < n; i++) {
            ck__chat_puts(&o, "<start_of_turn>");
            ck__chat_puts(&o, ck__chat_role(&msgs[i]) == CK__ASSISTANT ? "model" : msgs[i].role);
            ck__chat_puts(&o, "\n");
            ck__chat_put_trim(&o, msgs[i].content, 1);
            ck__chat_puts(&o, "<end_of_turn>\n");
        }
        if (add_gen) ck__chat_puts(&o, "<start_of_turn>model\n");
        break;
    case CK_CHAT_PHI3:
        for (i = 0; i < n; i++) {
            if (ck__chat_role(&msgs[i]) == CK__SYSTEM && !msgs[i].content[0]) continue;
            ck__chat_puts(&o, "<|");
            ck__chat_puts(&o, msgs[i].role);
            ck__chat_puts(&o, "|>\n");
            ck__chat_puts(&o, msgs[i].content);
            ck__chat_puts(&o, "<|end|>\n");
        }
        ck__chat_puts(&o, add_gen ? "<|assistant|>\n" : eos);
        break;
    case CK_CHAT_ZEPHYR:
        for (i = 0; i < n; i++) {
            ck__chat_puts(&o, "<|");
            ck__chat_puts(&o, msgs[i].role);
            ck__chat_puts(&o, "|>\n");
            ck__chat_puts(&o, msgs[i].content);
            ck__chat_puts(&o, eos);
            ck__chat_puts(&o, "\n");
        }
        if (add_gen) ck__chat_puts(&o, "<|assistant|>\n");
        break;
    case CK_CHAT_DEEPSEEK:
        ck__chat_puts(&o, bos);
        for (i = 0; i < n && ck__chat_role(&msgs[i]) != CK__SYSTEM; i++) {}
        if (i == n)
            ck__chat_puts(&o, "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and "
                              "you only answer questions related to computer science. For politically sensitive questions, security and "
                              "privacy issues, and other non-computer science questions, you will refuse to answer\n");
        for (i = 0; i < n; i++) {
            int role = ck__chat_role(&msgs[i]);
            ck__chat_puts(&o, role == CK__USER ? "### Instruction:\n" : role == CK__ASSISTANT ? "### Response:\n" : "");
            ck__chat_puts(&o, msgs[i].content);
            ck__chat_puts(&o, role == CK__USER ? "\n" : role == CK__ASSISTANT ? "\n<|EOT|>\n" : "");
        }
        if (add_gen) ck__chat_puts(&o, "### Response:\n");
        break;
    case CK_CHAT_DEEPSEEK2:
        ck__chat_puts(&o, bos);
        for (i = 0; i < n; i++) {
            int role = ck__chat_role(&msgs[i]);
            ck__chat_puts(&o, role == CK__USER ? "User: " : role == CK__ASSISTANT ? "Assistant: " : "");
            ck__chat_puts(&o, msgs[i].content);
            ck__chat_puts(&o, role == CK__ASSISTANT ? eos : "\n\n");
        }
        if (add_gen) ck__chat_puts(&o, "Assistant:");
        break;
    }
    if (cap) out[o.len < cap ? o.len : cap - 1] = 0;
    return (int64_t)o.len;
}
/* ---- end of 16. Chat templates ---- */

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
