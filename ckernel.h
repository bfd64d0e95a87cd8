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
     CK_NO_STDIO        Reserved for the file and printing helpers: removes every stdio use.
                        (The kernels in this version use no stdio at all.)
     CK_CANARIES        Reserved for the arena: write and check guard bytes between sections.
     CK_ASSERT(x)       Internal consistency checks; default `assert(x)` from <assert.h>.
     CK_DEF             Linkage of every function; default `extern`. `#define CK_DEF static`
                        makes everything private to one translation unit.
     SIMD selection     At compile time from the compiler's own macros: __AVX2__ and __FMA__
                        (e.g. -mavx2 -mfma or -march=native) select the AVX2 paths.
     Threads            OpenMP pragmas sit on the outer loops; they are inert without -fopenmp.
                        Every output element is computed by exactly one thread in a fixed
                        order, so results are bit-identical for any thread count.

   CONVENTIONS (the contract)
     - Names: ck_<op>_<forward|backward>[_<dtype>]. Outputs first, then inputs, then sizes.
     - Row-major. A linear layer's weight is [out_features, in_features] (OC x C), as in GGUF
       and PyTorch. Head-major Q/K/V are [heads, T, head_size].
     - Backward kernels ACCUMULATE (+=) into every gradient they write. The one exception is
       ck_rope_backward, which rotates the gradient back in place.
     - Optional pointers (bias, wpe, their gradients, saved statistics) may be NULL.
     - Index arithmetic is size_t: T*V and OC*C may exceed 2^31.
     - Long reductions (norm statistics, softmax and cross-entropy sums) accumulate in double.

   SECTIONS
     1. Configuration and declarations
     2. Implementation: helpers
     3. Embedding            ck_embedding_forward / _backward
     4. Matmul (linear)      ck_matmul_forward / _backward        scalar + AVX2
     5. Normalisation        ck_rmsnorm_*, ck_layernorm_*
     6. Activations          ck_gelu_*, ck_gelu_erf_*, ck_swiglu_*, ck_geglu_*
     7. Softmax              ck_softmax_forward / _backward
     8. Rotary embedding     ck_rope_cache, ck_rope_forward / _backward
     9. Attention            ck_attention_forward / _backward     scalar + AVX2, flash-style
    10. Loss                 ck_cross_entropy_forward / _backward
    11. Optimiser            ck_adamw_update, ck_grad_norm
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

#ifdef __cplusplus
extern "C" {
#endif

/* Which SIMD paths this build uses: "avx2+fma" or "scalar". */
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
CK_DEF void ck_attention_forward_avx2(float *out, float *lse, const float *q, const float *k, const float *v,
                                      int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);
CK_DEF void ck_attention_backward_avx2(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                       const float *q, const float *k, const float *v,
                                       int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale);
#endif

#ifdef __cplusplus
}
#endif
#endif /* CKERNEL_H */

/* ===================================================================================== */
/* 2. Implementation: helpers                                                            */
/* ===================================================================================== */
#if defined(CK_IMPLEMENTATION) && !defined(CK_IMPLEMENTATION_DONE)
#define CK_IMPLEMENTATION_DONE

#include <math.h>
#include <string.h>
#ifndef CK_ASSERT
#include <assert.h>
#define CK_ASSERT(x) assert(x)
#endif
#if CK_HAVE_AVX2
#include <immintrin.h>
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

CK_DEF const char *ck_simd_name(void) { return CK_HAVE_AVX2 ? "avx2+fma" : "scalar"; }

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
/* out tile of nt (1..4) rows of inp x 3 rows of weight: 12 dot products of length C at once.
   Missing rows point at row 0 and are computed but not stored. */
static void ck__mm_nt_4x3(float *out, size_t ldo, const float *inp, const float *w, int C, int nt, int no, const float *bias)
{
    const float *x0 = inp, *x1 = inp + (size_t)(nt > 1) * C, *x2 = inp + (size_t)(nt > 2 ? 2 : 0) * C, *x3 = inp + (size_t)(nt > 3 ? 3 : 0) * C;
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * C, *w2 = w + (size_t)(no > 2 ? 2 : 0) * C;
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
            for (j = 0; j < no; j++) out[(size_t)i * ldo + j] = r[i][j] + (bias ? bias[j] : 0.0f);
    }
}

/* one row of inp against 4 rows of weight (decode, T = 1, and leftover rows) */
static void ck__mm_nt_1x4(float *out, const float *x, const float *w, int C, int no, const float *bias)
{
    const float *w0 = w, *w1 = w + (size_t)(no > 1) * C, *w2 = w + (size_t)(no > 2 ? 2 : 0) * C, *w3 = w + (size_t)(no > 3 ? 3 : 0) * C;
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
    for (j = 0; j < no; j++) out[j] = r[j] + (bias ? bias[j] : 0.0f);
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
                ck__mm_nt_4x3(out + (size_t)t * OC + o, (size_t)OC, inp + (size_t)t * C, weight + (size_t)o * C, C, nt,
                              CK_MIN(3, o1 - o), bias ? bias + o : NULL);
        }
        for (; t < T; t++)
            for (o = o0; o < o1; o += 4)
                ck__mm_nt_1x4(out + (size_t)t * OC + o, inp + (size_t)t * C, weight + (size_t)o * C, C, CK_MIN(4, o1 - o),
                              bias ? bias + o : NULL);
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

CK_DEF void ck_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int T, int C, int OC)
{
#if CK_HAVE_AVX2
    ck_matmul_forward_avx2(out, inp, weight, bias, T, C, OC);
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
/* 5. Normalisation                                                                      */
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
/* 6. Activations                                                                        */
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
/* 7. Softmax                                                                            */
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
/* 8. Rotary position embedding                                                          */
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

/* (a, b) -> (a cos - b sin, a sin + b cos); dir = -1 applies the inverse rotation. */
static void ck__rope(float *x, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox, float dir)
{
    int h, t, i, half = n_rot / 2;
    CK_OMP(omp parallel for collapse(2) schedule(static) if ((double)NH * T * n_rot > CK_OMP_MIN_WORK))
    for (h = 0; h < NH; h++)
        for (t = 0; t < T; t++) {
            float *row = x + ((size_t)h * T + t) * HS;
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
    ck__rope(x, cos_sin, NH, T, HS, n_rot, pos0, neox, 1.0f);
}
/* The rotation is orthogonal, so the gradient is the inverse rotation of dx, in place. */
CK_DEF void ck_rope_backward(float *dx, const float *cos_sin, int NH, int T, int HS, int n_rot, int pos0, int neox)
{
    ck__rope(dx, cos_sin, NH, T, HS, n_rot, pos0, neox, -1.0f);
}

/* ===================================================================================== */
/* 9. Attention                                                                          */
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

static void ck__attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, int simd)
{
    enum { KBLK = 32 };
    int group = NH / NKV, h, t;
    CK_OMP(omp parallel for collapse(2) schedule(dynamic, 4) if ((double)NH * T * Tk * HS > CK_OMP_MIN_WORK))
    for (h = 0; h < NH; h++)
        for (t = 0; t < T; t++) {
            const float *qr = q + ((size_t)h * T + t) * HS;
            const float *kh = k + (size_t)(h / group) * Tk * HS, *vh = v + (size_t)(h / group) * Tk * HS;
            float *o = out + ((size_t)h * T + t) * HS, mx = -INFINITY, s[KBLK];
            double l = 0.0;
            int j0, j1, jb, j, n;
            ck__attn_range(t, Tk, pos0, window, &j0, &j1);
            memset(o, 0, (size_t)HS * sizeof(float));
            for (jb = j0; jb < j1; jb += KBLK) {
                float bm = -INFINITY;
                n = CK_MIN(KBLK, j1 - jb);
                for (j = 0; j < n; j++) {
                    s[j] = scale * CK__DOT(simd, qr, kh + (size_t)(jb + j) * HS, HS);
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
                    CK__AXPY(simd, o, p, vh + (size_t)(jb + j) * HS, HS);
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
                                   int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale, int simd)
{
    int group = NH / NKV, g;
    CK_OMP(omp parallel for schedule(dynamic, 1) if ((double)NH * T * Tk * HS > CK_OMP_MIN_WORK))
    for (g = 0; g < NKV; g++) {
        const float *kh = k + (size_t)g * Tk * HS, *vh = v + (size_t)g * Tk * HS;
        float *dkh = dk ? dk + (size_t)g * Tk * HS : NULL, *dvh = dv ? dv + (size_t)g * Tk * HS : NULL;
        int h, t, j, j0, j1;
        for (h = g * group; h < (g + 1) * group; h++)
            for (t = 0; t < T; t++) {
                size_t row = (size_t)h * T + t;
                const float *qr = q + row * HS, *dor = dout + row * HS;
                float *dqr = dq ? dq + row * HS : NULL, L = lse[row], D;
                if (L == -INFINITY) continue;
                D = CK__DOT(simd, dor, out + row * HS, HS);
                ck__attn_range(t, Tk, pos0, window, &j0, &j1);
                for (j = j0; j < j1; j++) {
                    const float *kj = kh + (size_t)j * HS, *vj = vh + (size_t)j * HS;
                    float p = expf(scale * CK__DOT(simd, qr, kj, HS) - L);
                    float ds = p * (CK__DOT(simd, dor, vj, HS) - D);
                    if (dqr) CK__AXPY(simd, dqr, scale * ds, kj, HS);
                    if (dkh) CK__AXPY(simd, dkh + (size_t)j * HS, scale * ds, qr, HS);
                    if (dvh) CK__AXPY(simd, dvh + (size_t)j * HS, p, dor, HS);
                }
            }
    }
}

CK_DEF void ck_attention_forward_scalar(float *out, float *lse, const float *q, const float *k, const float *v,
                                        int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, 0);
}
CK_DEF void ck_attention_backward_scalar(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                         const float *q, const float *k, const float *v,
                                         int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, 0);
}
#if CK_HAVE_AVX2
CK_DEF void ck_attention_forward_avx2(float *out, float *lse, const float *q, const float *k, const float *v,
                                      int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, 1);
}
CK_DEF void ck_attention_backward_avx2(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                       const float *q, const float *k, const float *v,
                                       int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, 1);
}
#endif
CK_DEF void ck_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                 int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attention_forward(out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, CK_HAVE_AVX2);
}
CK_DEF void ck_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                  const float *q, const float *k, const float *v,
                                  int NH, int NKV, int T, int Tk, int HS, int pos0, int window, float scale)
{
    ck__attention_backward(dq, dk, dv, dout, out, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, CK_HAVE_AVX2);
}

/* ===================================================================================== */
/* 10. Loss                                                                              */
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
/* 11. Optimiser                                                                         */
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
