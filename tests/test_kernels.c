/* C tests of ckernel.h that need no Python:
   - every SIMD path against the scalar reference (relative error: |simd - scalar| / |scalar| < 1e-5)
   - bit-identical results for 1, 2 and 3 OpenMP threads
   - edge cases of the attention contract
   - rope scaling: with a scaled cache (mscale != 1) backward is the transpose of forward (head-
     and token-major), and GGUF metadata becomes llama.cpp's parameters (ck_rope_params_from_gguf)
   - ck_matmul_backward_q (the input gradient of a frozen quantized layer, every weight type): the
     bits of dequantizing the whole weight and running ck_matmul_backward, at 1, 2 and 3 threads
   - examples/ck_peak.h's read-bandwidth loop reads every float once, as 1, 2, 4 and 8 streams
   Ends with the plain line "N passed, N failed". */
#define _POSIX_C_SOURCE 199309L /* clock_gettime, for ck_peak.h */
#define CK_IMPLEMENTATION
#include "ckernel.h"
#include "../examples/ck_peak.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* the training attention has a SIMD path to compare with the scalar one */
#define CK_TEST_SIMD_ATTENTION (CK_HAVE_AVX2 || CK_HAVE_MVE || CK_HAVE_NEON)

static int n_pass, n_fail;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
static float *rnd(size_t n, float scale)
{
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) p[i] = frand() * scale;
    return p;
}
static float *copy_of(const float *a, size_t n)
{
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    memcpy(p, a, n * sizeof(float));
    return p;
}
static void check(int ok, const char *what)
{
    if (ok) n_pass++;
    else { n_fail++; printf("FAIL: %s\n", what); }
}
#if CK_HAVE_AVX2 || CK_HAVE_MVE || CK_HAVE_NEON /* a scalar build has no second path to compare */
/* ||a - b|| / ||mag||, mag the same products over |operands| (sum |terms| per output): a dot product
   that cancels (T = 1, OC = 1) keeps no relative precision to compare in any summation order (the
   4-lane NEON chain is closer to the exact sum than the scalar loop there, and 1.25e-5 away from it) */
static double rel_err_terms(const float *a, const float *b, const float *mag, size_t n)
{
    double num = 0, den = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)mag[i] * mag[i];
    }
    if (num != num) return INFINITY;
    return sqrt(num) / (den > 1e-30 ? sqrt(den) : 1.0);
}
/* ||a - b|| / max(||b||, tiny) */
static double rel_err(const float *a, const float *b, size_t n) { return rel_err_terms(a, b, b, n); }
static void check_rel(const float *a, const float *b, size_t n, double tol, const char *what)
{
    double e = rel_err(a, b, n);
    char buf[256];
    snprintf(buf, sizeof buf, "%s: relative error %.3g >= %.3g", what, e, tol);
    check(e < tol, buf);
}

/* ---- SIMD vs scalar --------------------------------------------------------------------- */

static double worst_mm_fwd, worst_mm_bwd;
#if CK_TEST_SIMD_ATTENTION
static double worst_at_fwd, worst_at_bwd;
#endif

/* |x| elementwise (a copy) */
static float *abs_of(const float *a, size_t n)
{
    float *p = copy_of(a, n);
    size_t i;
    for (i = 0; i < n; i++) p[i] = fabsf(p[i]);
    return p;
}
static void check_rel_terms(const float *a, const float *b, const float *mag, size_t n, double tol, const char *what)
{
    double e = rel_err_terms(a, b, mag, n);
    char buf[256];
    snprintf(buf, sizeof buf, "%s: error relative to sum|terms| %.3g >= %.3g", what, e, tol);
    check(e < tol, buf);
}

static void test_matmul(int T, int C, int OC, int with_bias)
{
    size_t ni = (size_t)T * C, nw = (size_t)OC * C, no = (size_t)T * OC;
    float *inp = rnd(ni, 1.0f), *w = rnd(nw, 1.0f / (float)sqrt(C)), *b = with_bias ? rnd(OC, 1.0f) : NULL;
    float *o1 = rnd(no, 1.0f), *o2 = rnd(no, 1.0f), *dout = rnd(no, 1.0f);
    float *di1 = rnd(ni, 1.0f), *di2 = copy_of(di1, ni), *dw1 = rnd(nw, 1.0f), *dw2 = copy_of(dw1, nw);
    float *db1 = rnd(OC, 1.0f), *db2 = copy_of(db1, OC), *di0 = copy_of(di1, ni), *dw0 = copy_of(dw1, nw), *db0 = copy_of(db1, OC);
    float *ainp = abs_of(inp, ni), *aw = abs_of(w, nw), *ab = b ? abs_of(b, OC) : NULL, *adout = abs_of(dout, no);
    float *mo = (float *)calloc(no ? no : 1, sizeof(float)), *mdi = (float *)calloc(ni ? ni : 1, sizeof(float));
    float *mdw = (float *)calloc(nw ? nw : 1, sizeof(float));
    char what[128];
    double e;
    size_t i;
    ck_matmul_forward_scalar(mo, ainp, aw, ab, T, C, OC);
    ck_matmul_backward_scalar(mdi, mdw, NULL, adout, ainp, aw, T, C, OC);
    ck_matmul_forward_scalar(o1, inp, w, b, T, C, OC);
    ck_matmul_forward(o2, inp, w, b, T, C, OC);
    snprintf(what, sizeof what, "matmul_forward T=%d C=%d OC=%d bias=%d", T, C, OC, with_bias);
    e = rel_err_terms(o2, o1, mo, no); if (e > worst_mm_fwd) worst_mm_fwd = e;
    check_rel_terms(o2, o1, mo, no, 1e-5, what);

    ck_matmul_backward_scalar(di1, dw1, db1, dout, inp, w, T, C, OC);
    ck_matmul_backward(di2, dw2, db2, dout, inp, w, T, C, OC);
    /* compare the accumulated increments, not the prefilled values */
    for (i = 0; i < ni; i++) { di1[i] -= di0[i]; di2[i] -= di0[i]; }
    for (i = 0; i < nw; i++) { dw1[i] -= dw0[i]; dw2[i] -= dw0[i]; }
    for (i = 0; i < (size_t)OC; i++) { db1[i] -= db0[i]; db2[i] -= db0[i]; }
    snprintf(what, sizeof what, "matmul_backward dinp T=%d C=%d OC=%d", T, C, OC);
    e = rel_err_terms(di2, di1, mdi, ni); if (e > worst_mm_bwd) worst_mm_bwd = e;
    check_rel_terms(di2, di1, mdi, ni, 1e-5, what);
    snprintf(what, sizeof what, "matmul_backward dweight T=%d C=%d OC=%d", T, C, OC);
    e = rel_err_terms(dw2, dw1, mdw, nw); if (e > worst_mm_bwd) worst_mm_bwd = e;
    check_rel_terms(dw2, dw1, mdw, nw, 1e-5, what);
    snprintf(what, sizeof what, "matmul_backward dbias T=%d C=%d OC=%d", T, C, OC);
    check_rel(db2, db1, OC, 1e-5, what);
    free(inp); free(w); free(b); free(o1); free(o2); free(dout); free(di1); free(di2); free(dw1); free(dw2);
    free(db1); free(db2); free(di0); free(dw0); free(db0); free(ainp); free(aw); free(ab); free(adout); free(mo); free(mdi); free(mdw);
}

#if CK_TEST_SIMD_ATTENTION
static void test_attention(int NH, int NKV, int T, int pos0, int HS, int window, float softcap)
{
    int Tk = pos0 + T;
    size_t nq = (size_t)NH * T * HS, nk = (size_t)NKV * Tk * HS, nl = (size_t)NH * T;
    float *q = rnd(nq, 1.0f), *k = rnd(nk, 1.0f), *v = rnd(nk, 1.0f), *dout = rnd(nq, 1.0f);
    float *o1 = rnd(nq, 1.0f), *o2 = rnd(nq, 1.0f), *l1 = rnd(nl, 1.0f), *l2 = rnd(nl, 1.0f);
    float *dq1 = rnd(nq, 1.0f), *dq2 = copy_of(dq1, nq), *dk1 = rnd(nk, 1.0f), *dk2 = copy_of(dk1, nk), *dv1 = rnd(nk, 1.0f), *dv2 = copy_of(dv1, nk);
    float *dq0 = copy_of(dq1, nq), *dk0 = copy_of(dk1, nk), *dv0 = copy_of(dv1, nk);
    float scale = 1.0f / (float)sqrt(HS);
    char what[160];
    double e;
    size_t i;
    ck_attention_forward_scalar(o1, l1, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap);
    ck_attention_forward(o2, l2, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap);
    snprintf(what, sizeof what, "attention_forward NH=%d NKV=%d T=%d pos0=%d HS=%d window=%d softcap=%g", NH, NKV, T, pos0, HS, window, softcap);
    e = rel_err(o2, o1, nq); if (e > worst_at_fwd) worst_at_fwd = e;
    check_rel(o2, o1, nq, 1e-5, what);
    check_rel(l2, l1, nl, 1e-5, what);
    ck_attention_backward_scalar(dq1, dk1, dv1, dout, o1, l1, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap);
    ck_attention_backward(dq2, dk2, dv2, dout, o1, l1, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap);
    for (i = 0; i < nq; i++) { dq1[i] -= dq0[i]; dq2[i] -= dq0[i]; }
    for (i = 0; i < nk; i++) { dk1[i] -= dk0[i]; dk2[i] -= dk0[i]; dv1[i] -= dv0[i]; dv2[i] -= dv0[i]; }
    snprintf(what, sizeof what, "attention_backward NH=%d NKV=%d T=%d pos0=%d HS=%d window=%d softcap=%g", NH, NKV, T, pos0, HS, window, softcap);
    e = rel_err(dq2, dq1, nq); if (e > worst_at_bwd) worst_at_bwd = e;
    check_rel(dq2, dq1, nq, 1e-5, what);
    e = rel_err(dk2, dk1, nk); if (e > worst_at_bwd) worst_at_bwd = e;
    check_rel(dk2, dk1, nk, 1e-5, what);
    e = rel_err(dv2, dv1, nk); if (e > worst_at_bwd) worst_at_bwd = e;
    check_rel(dv2, dv1, nk, 1e-5, what);
    free(q); free(k); free(v); free(dout); free(o1); free(o2); free(l1); free(l2);
    free(dq1); free(dq2); free(dk1); free(dk2); free(dv1); free(dv2); free(dq0); free(dk0); free(dv0);
}
#endif /* CK_TEST_SIMD_ATTENTION */

#endif

/* the AVX2/NEON tanh (ck_softcap_forward/_backward) against libm's tanhf on a dense grid across the
   polynomial / exponential switch at |x| = 0.5 and the clamp at 9, plus 0, -0, tiny and huge */
static void test_softcap_simd(void)
{
#if CK_HAVE_AVX2 || CK_HAVE_NEON
    enum { N = 200003 };
    static float x[N], y[N], d[N], ones[N];
    const float cap = 1.0f;
    double worst = 0, worst_d = 0;
    int i;
    char what[128];
    for (i = 0; i < N; i++) { x[i] = -12.0f + 24.0f * (float)i / (N - 1); ones[i] = 1.0f; d[i] = 0.0f; }
    x[0] = 0.0f; x[1] = -0.0f; x[2] = 1e-30f; x[3] = -3e-8f; x[4] = 1e30f; x[5] = -1e30f; x[6] = 0.5f; x[7] = -0.49999997f;
    ck_softcap_forward(y, x, cap, N);
    ck_softcap_backward(d, ones, x, cap, N);
    for (i = 0; i < N; i++) {
        double t = tanhf(x[i]), e = fabs(y[i] - t) / (fabs(t) > 1e-30 ? fabs(t) : 1e-30);
        double ed = fabs(d[i] - (1.0 - t * t));   /* 1 - t^2 loses relative precision near |t| = 1: absolute */
        if (e > worst) worst = e;
        if (ed > worst_d) worst_d = ed;
    }
    snprintf(what, sizeof what, "softcap SIMD tanh vs tanhf: worst relative error %.2e, derivative abs %.2e", worst, worst_d);
    check(worst < 1e-6 && worst_d < 1e-6, what);
    check(y[1] == 0.0f && signbit(y[1]) && y[4] == 1.0f && y[5] == -1.0f, "softcap SIMD tanh keeps -0 and saturates to +-1");
    printf("%s\n", what);
#else
    printf("softcap: the SIMD tanh is not applicable here (SIMD: %s)\n", ck_simd_name());
#endif
}

#if CK_HAVE_AVX2 || CK_HAVE_NEON
/* ---- the packed F32 GEMM of ck_matmul_forward/backward --------------------------------------
   Its contract (ckernel.h, "Packed F32 GEMM"): every output element is one FMA chain over k in
   increasing order from its init (bias, zero, or the gradient being accumulated into). So its
   bits must equal a C loop of fmaf, for every edge of the blocking (M, N, K not multiples of the
   MR x NR tile, K > KC, N > NC) and every thread count. Both it and the scalar reference must also
   lie within the summation-order bound of the exact sum: |s - exact| <= gamma(K+1) * (|init| +
   sum |a b|), gamma(n) = n u / (1 - n u), u = 2^-24 (plus the double oracle's own (K+1) 2^-53). */
static double gemm_gamma(int K) { double nu = (K + 1) * ldexp(1.0, -24); return nu / (1.0 - nu) + (K + 1) * ldexp(1.0, -53); }

/* c[i*N + j] against init[i*N + j] (or bias[j], or 0) + sum_k A(i,k) B(k,j): bits of the fmaf
   chain (want_chain) and the error bound (refs[0..nref-1]) */
static void check_gemm(const float *got, const float *const *refs, int nref, const float *init, const float *bias, const float *a, size_t rsa, size_t csa,
                       const float *b, size_t rsb, size_t csb, int M, int N, int K, int want_chain, const char *what)
{
    long chain_bad = 0, bound_bad = 0;
    double worst = 0;
    int i, j, k, r;
    char buf[200];
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            float s = init ? init[(size_t)i * N + j] : bias ? bias[j] : 0.0f;
            double exact = s, mag = fabs(s), tol;
            for (k = 0; k < K; k++) {
                float x = a[(size_t)i * rsa + (size_t)k * csa], y = b[(size_t)k * rsb + (size_t)j * csb];
                s = fmaf(x, y, s);
                exact += (double)x * y;
                mag += fabs((double)x * y);
            }
            if (want_chain && memcmp(&s, &got[(size_t)i * N + j], sizeof s) != 0) chain_bad++;
            tol = gemm_gamma(K) * mag;
            for (r = 0; r <= nref; r++) {
                double e = fabs((double)(r < nref ? refs[r] : got)[(size_t)i * N + j] - exact);
                if (!(e <= tol)) bound_bad++;
                if (mag > 0 && e / mag > worst) worst = e / mag;
            }
        }
    if (want_chain) {
        snprintf(buf, sizeof buf, "%s: bits of the fmaf chain in k order (%ld of %d elements differ)", what, chain_bad, M * N);
        check(chain_bad == 0, buf);
    }
    snprintf(buf, sizeof buf, "%s: within the summation-order bound gamma(K+1) sum|terms| (%ld outside; worst error/sum|terms| %.2e)",
             what, bound_bad, worst);
    check(bound_bad == 0, buf);
}

static void test_gemm_blocking(int T, int C, int OC)
{
    size_t ni = (size_t)T * C, nw = (size_t)OC * C, no = (size_t)T * OC;
    float *inp = rnd(ni, 1.0f), *w = rnd(nw, 1.0f), *b = rnd(OC, 1.0f), *dout = rnd(no, 1.0f);
    float *di0 = rnd(ni, 1.0f), *dw0 = rnd(nw, 1.0f), *db0 = rnd(OC, 1.0f); /* accumulated into: nonzero */
    float *o_ref = rnd(no, 1.0f), *di_ref = copy_of(di0, ni), *dw_ref = copy_of(dw0, nw), *db_ref = copy_of(db0, OC);
    float *o1 = NULL, *di1 = NULL, *dw1 = NULL, *db1 = NULL;
    const float *ref[1];
    char what[160];
    int nt, max_threads = 1;
#ifdef _OPENMP
    max_threads = 3;
#endif
    ck_matmul_forward_scalar(o_ref, inp, w, b, T, C, OC);
    ck_matmul_backward_scalar(di_ref, dw_ref, db_ref, dout, inp, w, T, C, OC);
    for (nt = 1; nt <= max_threads; nt++) {
        float *o = rnd(no, 1.0f), *di = copy_of(di0, ni), *dw = copy_of(dw0, nw), *db = copy_of(db0, OC);
#ifdef _OPENMP
        omp_set_num_threads(nt);
#endif
        ck_matmul_forward(o, inp, w, b, T, C, OC);
        ck_matmul_backward(di, dw, db, dout, inp, w, T, C, OC);
        if (nt == 1) { o1 = o; di1 = di; dw1 = dw; db1 = db; continue; }
        snprintf(what, sizeof what, "packed GEMM T=%d C=%d OC=%d: forward, dinp, dweight, dbias bit-identical with %d and 1 threads", T, C, OC, nt);
        check(!memcmp(o, o1, no * 4) && !memcmp(di, di1, ni * 4) && !memcmp(dw, dw1, nw * 4) && !memcmp(db, db1, (size_t)OC * 4), what);
        free(o); free(di); free(dw); free(db);
    }
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    /* forward out = inp W^T + bias: A = inp, B(c,o) = W[o][c]; the decode tiles below CK__GEMM_MIN_T rows sum in another order */
    snprintf(what, sizeof what, "packed GEMM T=%d C=%d OC=%d forward", T, C, OC);
    ref[0] = o_ref;
    check_gemm(o1, ref, 1, NULL, b, inp, (size_t)C, 1, w, 1, (size_t)C, T, OC, C, T >= CK__GEMM_MIN_T, what);
    /* dinp += dout W */
    snprintf(what, sizeof what, "packed GEMM T=%d C=%d OC=%d dinp (accumulated)", T, C, OC);
    ref[0] = di_ref;
    check_gemm(di1, ref, 1, di0, NULL, dout, (size_t)OC, 1, w, (size_t)C, 1, T, C, OC, 1, what);
    /* dweight += dout^T inp */
    snprintf(what, sizeof what, "packed GEMM T=%d C=%d OC=%d dweight (accumulated)", T, C, OC);
    ref[0] = dw_ref;
    check_gemm(dw1, ref, 1, dw0, NULL, dout, 1, (size_t)OC, inp, (size_t)C, 1, OC, C, T, 1, what);
    /* dbias: the same sums in the same order as the scalar path */
    snprintf(what, sizeof what, "packed GEMM T=%d C=%d OC=%d dbias bit-identical to the scalar path", T, C, OC);
    check(!memcmp(db1, db_ref, (size_t)OC * 4), what);
    free(inp); free(w); free(b); free(dout); free(di0); free(dw0); free(db0); free(o_ref); free(di_ref); free(dw_ref); free(db_ref);
    free(o1); free(di1); free(dw1); free(db1);
}

/* shapes from the blocking constants of this build (forward: M = T, N = OC, K = C; dinp: M = T,
   N = C, K = OC; dweight: M = OC, N = C, K = T) */
static void test_gemm_edges(void)
{
    const int MR = CK__GM_MR, NR = CK__GM_NR, KC = CK__GM_KC, NC = CK__GM_NC, T0 = CK__GEMM_MIN_T;
    const int T1 = (T0 + MR - 1) / MR * MR + 1; /* >= T0: a last tile of one row */
    printf("packed GEMM tile %dx%d, KC %d, NC %d, forward from T = %d\n", MR, NR, KC, NC, T0);
    test_gemm_blocking(T0, KC + 3, NC + NR + 5);       /* forward: K > KC, N > NC, N % NR != 0 */
    test_gemm_blocking(2 * KC + 7, NC + 1, KC + 1);    /* dweight: K > 2 KC, N > NC; dinp K > KC; M % MR != 0 */
    test_gemm_blocking(T1, 1, 1);                      /* K = 1 (forward), N = 1, a last tile of one row */
    test_gemm_blocking(T0 + 1, NR - 1, 2 * NC + 3);    /* forward: three NC blocks; backward: N < NR */
    test_gemm_blocking(KC, 2 * KC, 2 * NR);            /* exact multiples */
    test_gemm_blocking(T0 - 1, 33, 70);                /* below the forward's threshold: the backward still packs */
    test_gemm_blocking(1, 5, 3);                       /* one row */
}
#endif

#if CK_HAVE_AVX2 || CK_HAVE_NEON
/* the SIMD rope (AVX2: 8 NeoX pairs, 4 adjacent pairs a step; NEON: 4 pairs) against the scalar loop,
   for n_rot below, at and past a step (partial rotation: the rest of HS untouched), both pair
   layouts, both directions, head- and token-major strides, a scaled cache (mscale: M^T is not
   M^-1). exact: the same bits (AVX2: the same products and sums, unfused), else within 1e-6 */
static void test_rope_simd(const char *isa, int exact)
{
    static const int rots[][2] = { { 64, 64 }, { 20, 16 }, { 8, 6 }, { 12, 10 }, { 128, 96 }, { 40, 34 }, { 80, 80 } }; /* HS, n_rot */
    char what[160];
    size_t a;
    int i;
    for (a = 0; a < sizeof rots / sizeof *rots; a++) {
        enum { NH = 3, T = 4, POS0 = 7 };
        const int HS = rots[a][0], n_rot = rots[a][1];
        const size_t n = (size_t)NH * T * HS;
        float *cs = (float *)malloc((size_t)(POS0 + T) * n_rot * sizeof(float)), *x = rnd(n, 1.0f);
        int neox, dir, tm;
        ck_rope_cache(cs, POS0 + T, n_rot, 10000.0f);
        for (i = 0; i < (POS0 + T) * n_rot; i++) cs[i] *= 1.1f;
        for (neox = 0; neox < 2; neox++)
            for (dir = -1; dir <= 1; dir += 2)
                for (tm = 0; tm < 2; tm++) {
                    float *y0 = copy_of(x, n), *y1 = copy_of(x, n);
                    const size_t sh = tm ? (size_t)HS : (size_t)T * HS, st = tm ? (size_t)NH * HS : (size_t)HS;
                    ck__rope_simd(y0, cs, NH, T, n_rot, POS0, neox, (float)dir, sh, st, 0);
                    ck__rope_simd(y1, cs, NH, T, n_rot, POS0, neox, (float)dir, sh, st, 1);
                    snprintf(what, sizeof what, "rope %s %s scalar (HS=%d n_rot=%d neox=%d dir=%d %s)", isa, exact ? "bit-identical to" : "vs", HS,
                             n_rot, neox, dir, tm ? "token-major" : "head-major");
                    if (exact) check(!memcmp(y0, y1, n * sizeof(float)) && memcmp(y0, x, n * sizeof(float)), what);
                    else check_rel(y1, y0, n, 1e-6, what);
                    free(y0); free(y1);
                }
        free(cs); free(x);
    }
    printf("rope: %s vs scalar checked\n", isa);
}
#endif

#if CK_HAVE_AVX2
/* AVX2 rmsnorm forward against its scalar loop: x^2 summed in 8 double lanes (each square exact, the
   lanes' sums in another order), the scaling the scalar products in order: within 1e-6 relative */
static void test_rmsnorm_avx2(void)
{
    static const int Cs[] = { 1, 3, 7, 8, 9, 64, 129, 576, 4864 };
    char what[160];
    size_t a;
    for (a = 0; a < sizeof Cs / sizeof *Cs; a++) {
        enum { T = 5 };
        const int C = Cs[a];
        const size_t n = (size_t)T * C;
        float *x = rnd(n, 2.0f), *w = rnd((size_t)C, 1.0f), *o0 = rnd(n, 1.0f), *o1 = rnd(n, 1.0f), r0[T], r1[T];
        ck__rmsnorm_forward(o0, r0, x, w, T, C, 1e-5f, 0);
        ck__rmsnorm_forward(o1, r1, x, w, T, C, 1e-5f, 1);
        snprintf(what, sizeof what, "rmsnorm forward AVX2 vs scalar (T=%d C=%d)", T, C);
        check_rel(o1, o0, n, 1e-6, what);
        check_rel(r1, r0, T, 1e-6, what);
        free(x); free(w); free(o0); free(o1);
    }
    printf("rmsnorm forward: AVX2 vs scalar checked\n");
}
#endif

#if CK_HAVE_NEON
/* NEON rmsnorm and layernorm (forward, backward) and rope (both pair layouts, both directions, head-major and token-
   major strides) against their scalar loops: the same products, the sums of x^2 and of g x_hat in
   another order (double), so within 1e-6 relative; dweight's (dbias') column sums over t keep the scalar order:
   the same bits */
static void test_norm_rope_neon(void)
{
    static const int Cs[] = { 1, 3, 4, 7, 64, 129, 576 };
    char what[160];
    size_t a;
    int i;
    for (a = 0; a < sizeof Cs / sizeof *Cs; a++) {
        enum { T = 5 };
        const int C = Cs[a];
        const size_t n = (size_t)T * C;
        float *x = rnd(n, 2.0f), *w = rnd((size_t)C, 1.0f), *d = rnd(n, 1.0f), *o0 = rnd(n, 1.0f), *o1 = rnd(n, 1.0f), r0[T], r1[T];
        float *di0 = rnd(n, 1.0f), *di1 = copy_of(di0, n), *dw0 = rnd((size_t)C, 1.0f), *dw1 = copy_of(dw0, (size_t)C);
        ck__rmsnorm_forward(o0, r0, x, w, T, C, 1e-5f, 0);
        ck__rmsnorm_forward(o1, r1, x, w, T, C, 1e-5f, 1);
        snprintf(what, sizeof what, "rmsnorm forward NEON vs scalar (T=%d C=%d)", T, C);
        check_rel(o1, o0, n, 1e-6, what);
        check_rel(r1, r0, T, 1e-6, what);
        ck__rmsnorm_backward(di0, dw0, d, x, w, r0, T, C, 0);
        ck__rmsnorm_backward(di1, dw1, d, x, w, r0, T, C, 1);
        snprintf(what, sizeof what, "rmsnorm backward dinp NEON vs scalar (T=%d C=%d)", T, C);
        check_rel(di1, di0, n, 1e-6, what);
        snprintf(what, sizeof what, "rmsnorm backward dweight NEON bit-identical to scalar (T=%d C=%d)", T, C);
        check(!memcmp(dw1, dw0, (size_t)C * sizeof(float)), what);
        {   /* layernorm, with a bias and an offset mean */
            float *bi = rnd((size_t)C, 1.0f), m0[T], m1[T], *db0 = rnd((size_t)C, 1.0f), *db1 = copy_of(db0, (size_t)C);
            for (i = 0; i < (int)n; i++) x[i] += 3.0f;
            ck__layernorm_forward(o0, m0, r0, x, w, bi, T, C, 1e-5f, 0);
            ck__layernorm_forward(o1, m1, r1, x, w, bi, T, C, 1e-5f, 1);
            snprintf(what, sizeof what, "layernorm forward NEON vs scalar (T=%d C=%d)", T, C);
            check_rel(o1, o0, n, 1e-6, what);
            check_rel(m1, m0, T, 1e-6, what);
            check_rel(r1, r0, T, 1e-6, what);
            ck__layernorm_backward(di0, dw0, db0, d, x, w, m0, r0, T, C, 0);
            ck__layernorm_backward(di1, dw1, db1, d, x, w, m0, r0, T, C, 1);
            snprintf(what, sizeof what, "layernorm backward dinp NEON vs scalar (T=%d C=%d)", T, C);
            check_rel(di1, di0, n, 1e-6, what);
            snprintf(what, sizeof what, "layernorm backward dweight, dbias NEON bit-identical to scalar (T=%d C=%d)", T, C);
            check(!memcmp(dw1, dw0, (size_t)C * sizeof(float)) && !memcmp(db1, db0, (size_t)C * sizeof(float)), what);
            free(bi); free(db0); free(db1);
        }
        free(x); free(w); free(d); free(o0); free(o1); free(di0); free(di1); free(dw0); free(dw1);
    }
    test_rope_simd("NEON", 0);
    printf("rmsnorm, layernorm and rope: NEON vs scalar checked\n");
}
#endif

/* ---- determinism over thread counts ------------------------------------------------------ */

#ifdef _OPENMP
static void test_threads(void)
{
    enum { T = 37, C = 200, OC = 150, NH = 6, NKV = 2, HS = 24 };
    float *inp = rnd((size_t)T * C, 1.0f), *w = rnd((size_t)OC * C, 0.1f), *dout = rnd((size_t)T * OC, 1.0f);
    float *q = rnd((size_t)NH * T * HS, 1.0f), *k = rnd((size_t)NKV * T * HS, 1.0f), *v = rnd((size_t)NKV * T * HS, 1.0f);
    float *ref[6] = { 0 };
    int nt, r;
    const int threads[3] = { 1, 2, 3 };
    for (r = 0; r < 3; r++) {
        float *o = (float *)calloc((size_t)T * OC, 4), *di = (float *)calloc((size_t)T * C, 4), *dw = (float *)calloc((size_t)OC * C, 4);
        float *ao = (float *)calloc((size_t)NH * T * HS, 4), *al = (float *)calloc((size_t)NH * T, 4);
        float *dq = (float *)calloc((size_t)NH * T * HS, 4), *dk = (float *)calloc((size_t)NKV * T * HS, 4);
        float *outs[6];
        size_t sizes[6] = { (size_t)T * OC, (size_t)T * C, (size_t)OC * C, (size_t)NH * T * HS, (size_t)NH * T * HS, (size_t)NKV * T * HS };
        int i;
        nt = threads[r];
        omp_set_num_threads(nt);
        ck_matmul_forward(o, inp, w, NULL, T, C, OC);
        ck_matmul_backward(di, dw, NULL, dout, inp, w, T, C, OC);
        ck_attention_forward(ao, al, q, k, v, NH, NKV, T, T, HS, 0, 0, 0.2f, 0.0f);
        ck_attention_backward(dq, dk, NULL, ao, ao, al, q, k, v, NH, NKV, T, T, HS, 0, 0, 0.2f, 0.0f);
        outs[0] = o; outs[1] = di; outs[2] = dw; outs[3] = ao; outs[4] = dq; outs[5] = dk;
        for (i = 0; i < 6; i++) {
            if (r == 0) ref[i] = outs[i];
            else {
                char what[96];
                snprintf(what, sizeof what, "bit-identical with %d threads (output %d)", nt, i);
                check(memcmp(ref[i], outs[i], sizes[i] * 4) == 0, what);
                free(outs[i]);
            }
        }
        free(al);
    }
    for (r = 0; r < 6; r++) free(ref[r]);
    free(inp); free(w); free(dout); free(q); free(k); free(v);
    omp_set_num_threads(2);
}
/* The tiled training attention (AVX2/AVX-512) in 1, 2 and 3 threads: forward (out, lse) and backward
   (dq, dk, dv onto prefilled values) bit for bit. The backward takes one pass when the KV heads
   spread evenly over the threads and two passes otherwise (NKV = 2, 4 at 3 threads; NKV = 3 at 2),
   so this also checks that both schemes give the same bits. Shapes cross the 16-query/16-key tiles
   and the 64-query work items, with GQA, a window, soft-capping, pos0 and HS up to 256. */
/* swiglu, tanh-GELU and add forward over more than CK_OMP_MIN_WORK values (the size where they split
   across threads; below it they open no parallel region): 2 and 3 threads give 1 thread's bits
   (add: each sum is a + b), a tail of 13 values past the last full chunk */
static void test_elementwise_threads(void)
{
#ifdef _OPENMP
    const int N = 16 * CK_OMP_MIN_WORK * 2 + 13;
    float *g = rnd((size_t)N, 4.0f), *u = rnd((size_t)N, 2.0f), *o1 = (float *)malloc((size_t)N * sizeof(float)), *o2 = (float *)malloc((size_t)N * sizeof(float));
    char what[120];
    int nt;
    for (nt = 2; nt <= 3; nt++) {
        omp_set_num_threads(1);
        ck_swiglu_forward(o1, g, u, N);
        omp_set_num_threads(nt);
        memset(o2, 0xff, (size_t)N * sizeof(float)); /* NaNs wherever a thread leaves a value unwritten */
        ck_swiglu_forward(o2, g, u, N);
        snprintf(what, sizeof what, "swiglu forward, %d values: %d threads give 1 thread's bits", N, nt);
        check(!memcmp(o1, o2, (size_t)N * sizeof(float)), what);
        omp_set_num_threads(1);
        ck_gelu_forward(o1, g, N);
        omp_set_num_threads(nt);
        memset(o2, 0xff, (size_t)N * sizeof(float));
        ck_gelu_forward(o2, g, N);
        snprintf(what, sizeof what, "gelu forward, %d values: %d threads give 1 thread's bits", N, nt);
        check(!memcmp(o1, o2, (size_t)N * sizeof(float)), what);
        omp_set_num_threads(nt);
        memset(o2, 0xff, (size_t)N * sizeof(float));
        ck_add_forward(o2, g, u, (size_t)N);
        {
            int i, bad = 0;
            for (i = 0; i < N; i++) bad += o2[i] != g[i] + u[i]; /* (exact: one rounding in both) */
            snprintf(what, sizeof what, "add forward, %d values, %d threads: every sum is a + b", N, nt);
            check(!bad, what);
        }
    }
    omp_set_num_threads(2);
    free(g); free(u); free(o1); free(o2);
#endif
}

/* rmsnorm and rope split their rows over threads only above CK_OMP_MIN_WORK values (T * C, NH * T *
   n_rot); test_threads' shapes are below it, so these are over it: every split gives 1 thread's bits */
static void test_rows_threads(void)
{
#ifdef _OPENMP
    const int T = 300, C = 257, NH = 7, TR = 101, HS = 64, NR = 48, n = NH * TR * HS;
    float *x = rnd((size_t)T * C, 3.0f), *w = rnd((size_t)C, 1.0f), *o1 = (float *)malloc((size_t)T * C * 4), *o2 = (float *)malloc((size_t)T * C * 4);
    float r1[300], r2[300], *cs = (float *)malloc((size_t)(TR + 5) * NR * 4), *q = rnd((size_t)n, 2.0f);
    float *q1 = (float *)malloc((size_t)n * 4), *q2 = (float *)malloc((size_t)n * 4);
    char what[160];
    int nt, neox;
    check((double)T * C > CK_OMP_MIN_WORK && (double)NH * TR * NR > CK_OMP_MIN_WORK, "rows threads: the shapes are over the split threshold");
    ck_rope_cache(cs, TR + 5, NR, 10000.0f);
    for (nt = 2; nt <= 3; nt++) {
        omp_set_num_threads(1);
        ck_rmsnorm_forward(o1, r1, x, w, T, C, 1e-5f);
        omp_set_num_threads(nt);
        memset(o2, 0xff, (size_t)T * C * 4); /* NaNs wherever a thread leaves a value unwritten */
        memset(r2, 0xff, sizeof r2);
        ck_rmsnorm_forward(o2, r2, x, w, T, C, 1e-5f);
        snprintf(what, sizeof what, "rmsnorm forward, T=%d C=%d: %d threads give 1 thread's bits (out and rstd)", T, C, nt);
        check(!memcmp(o1, o2, (size_t)T * C * 4) && !memcmp(r1, r2, sizeof r1), what);
        for (neox = 0; neox <= 1; neox++) {
            omp_set_num_threads(1);
            memcpy(q1, q, (size_t)n * 4);
            ck_rope_forward(q1, cs, NH, TR, HS, NR, 5, neox);
            omp_set_num_threads(nt);
            memcpy(q2, q, (size_t)n * 4);
            ck_rope_forward(q2, cs, NH, TR, HS, NR, 5, neox);
            snprintf(what, sizeof what, "rope forward, NH=%d T=%d n_rot=%d neox=%d: %d threads give 1 thread's bits", NH, TR, NR, neox, nt);
            check(!memcmp(q1, q2, (size_t)n * 4) && memcmp(q1, q, (size_t)n * 4), what);
            omp_set_num_threads(1);
            ck_rope_backward(q1, cs, NH, TR, HS, NR, 5, neox);
            omp_set_num_threads(nt);
            ck_rope_backward(q2, cs, NH, TR, HS, NR, 5, neox);
            snprintf(what, sizeof what, "rope backward, NH=%d T=%d n_rot=%d neox=%d: %d threads give 1 thread's bits", NH, TR, NR, neox, nt);
            check(!memcmp(q1, q2, (size_t)n * 4), what);
        }
    }
    omp_set_num_threads(2);
    free(x); free(w); free(o1); free(o2); free(cs); free(q); free(q1); free(q2);
#endif
}

static void test_attention_threads(void)
{
    static const struct { int NH, NKV, T, pos0, HS, window; float softcap; } cfg[] = {
        { 6, 2, 37, 0, 24, 0, 0.0f }, { 4, 4, 130, 0, 64, 0, 0.0f }, { 6, 3, 90, 10, 256, 17, 5.0f },
        { 8, 1, 70, 0, 48, 0, 0.3f }, { 5, 5, 65, 3, 33, 0, 0.0f }, { 4, 2, 100, 0, 128, 40, 0.0f },
    };
    size_t c;
    for (c = 0; c < sizeof cfg / sizeof *cfg; c++) {
        const int NH = cfg[c].NH, NKV = cfg[c].NKV, T = cfg[c].T, Tk = cfg[c].pos0 + T, HS = cfg[c].HS;
        size_t nq = (size_t)NH * T * HS, nk = (size_t)NKV * Tk * HS, nl = (size_t)NH * T;
        float *q = rnd(nq, 1.0f), *k = rnd(nk, 1.0f), *v = rnd(nk, 1.0f), *dout = rnd(nq, 1.0f);
        float *dq0 = rnd(nq, 1.0f), *dk0 = rnd(nk, 1.0f), *dv0 = rnd(nk, 1.0f), *ref[5] = { 0 };
        size_t sizes[5];
        int r, i, same = 1;
        char what[160];
        sizes[0] = nq; sizes[1] = nl; sizes[2] = nq; sizes[3] = nk; sizes[4] = nk;
        for (r = 1; r <= 3; r++) {
            float *o = (float *)calloc(nq, 4), *l = (float *)calloc(nl, 4);
            float *dq = copy_of(dq0, nq), *dk = copy_of(dk0, nk), *dv = copy_of(dv0, nk), *outs[5];
            omp_set_num_threads(r);
            ck_attention_forward(o, l, q, k, v, NH, NKV, T, Tk, HS, cfg[c].pos0, cfg[c].window, 1.0f / (float)sqrt(HS), cfg[c].softcap);
            ck_attention_backward(dq, dk, dv, dout, o, l, q, k, v, NH, NKV, T, Tk, HS, cfg[c].pos0, cfg[c].window,
                                  1.0f / (float)sqrt(HS), cfg[c].softcap);
            outs[0] = o; outs[1] = l; outs[2] = dq; outs[3] = dk; outs[4] = dv;
            for (i = 0; i < 5; i++) {
                if (r == 1) ref[i] = outs[i];
                else {
                    same &= memcmp(ref[i], outs[i], sizes[i] * 4) == 0;
                    free(outs[i]);
                }
            }
        }
        snprintf(what, sizeof what, "attention forward+backward bit-identical in 1, 2, 3 threads (NH=%d NKV=%d T=%d pos0=%d HS=%d window=%d softcap=%g)",
                 NH, NKV, T, cfg[c].pos0, HS, cfg[c].window, cfg[c].softcap);
        check(same, what);
        for (i = 0; i < 5; i++) free(ref[i]);
        free(q); free(k); free(v); free(dout); free(dq0); free(dk0); free(dv0);
    }
    omp_set_num_threads(2);
}
#endif

/* ---- contract edge cases ------------------------------------------------------------------ */

/* the F16 KV cache (ckgen --kv-f16): ck_attention_forward_tm_f16kv over keys/values stored by
   ck_copy_rows_f16 equals ck_attention_forward_tm over the same values widened to f32, bit for bit
   (the cache changes only the stored precision), in token-major layout with strided rows */
static void test_attention_f16kv(int NH, int NKV, int T, int pos0, int HS, int window, float softcap)
{
    int Tk = pos0 + T, kvd = NKV * HS, i;
    size_t ldq = (size_t)NH * HS + 3, ldkv = (size_t)kvd, ldo = (size_t)NH * HS + 5, src_ld = (size_t)kvd + 2;
    size_t nq = (size_t)T * ldq, nk = (size_t)Tk * src_ld, nc = (size_t)Tk * ldkv, no = (size_t)T * ldo;
    float *q = rnd(nq, 1.0f), *k = rnd(nk, 2.0f), *v = rnd(nk, 2.0f), *kr = rnd(nc, 1.0f), *vr = rnd(nc, 1.0f);
    float *o1 = rnd(no, 1.0f), *o2 = copy_of(o1, no);
    uint16_t *k16 = (uint16_t *)malloc(nc * 2), *v16 = (uint16_t *)malloc(nc * 2);
    char what[160];
    ck_copy_rows_f16(k16, ldkv, k, src_ld, Tk, kvd);
    ck_copy_rows_f16(v16, ldkv, v, src_ld, Tk, kvd);
    for (i = 0; i < (int)nc; i++) { kr[i] = ck_fp16_to_fp32(k16[i]); vr[i] = ck_fp16_to_fp32(v16[i]); }
    check(k16[0] == ck_fp32_to_fp16(k[0]) && v16[nc - 1] == ck_fp32_to_fp16(v[(size_t)(Tk - 1) * src_ld + kvd - 1]),
          "ck_copy_rows_f16 stores ck_fp32_to_fp16 of each value, rows at their strides");
    ck_attention_forward_tm(o1, NULL, q, kr, vr, NH, NKV, T, Tk, HS, pos0, window, 1.0f / (float)sqrt(HS), softcap, ldq, ldkv, ldo);
    ck_attention_forward_tm_f16kv(o2, NULL, q, k16, v16, NH, NKV, T, Tk, HS, pos0, window, 1.0f / (float)sqrt(HS), softcap, ldq, ldkv, ldo);
    snprintf(what, sizeof what, "attention over an F16 KV cache == over its values in f32, bit for bit (NH=%d NKV=%d T=%d pos0=%d HS=%d window=%d softcap=%g)",
             NH, NKV, T, pos0, HS, window, softcap);
    check(memcmp(o1, o2, no * sizeof(float)) == 0, what);
    free(q); free(k); free(v); free(kr); free(vr); free(o1); free(o2); free(k16); free(v16);
}

#if CK_HAVE_AVX2
#define EXP_NEG_LANES(y, x) _mm256_storeu_ps(y, ck__exp_neg_avx2(_mm256_loadu_ps(x)))
#elif CK_HAVE_NEON
#define EXP_NEG_LANES(y, x) (vst1q_f32(y, ck__exp_neg_neon(vld1q_f32(x))), vst1q_f32((y) + 4, ck__exp_neg_neon(vld1q_f32((x) + 4))))
#endif
#if CK_HAVE_AVX2 || CK_HAVE_NEON
/* the softmax's 8-lane exp (NEON: two 4-lane calls) against expf over [-87, 0] (within 2 ulp, the
   comment's claim: checked as < 3e-7 relative), and ~0 below */
static void test_exp_neg(void)
{
    double worst = 0;
    float x[8], y[8];
    int i, j, ok_low = 1;
    for (i = 0; i < 87000; i++) {
        for (j = 0; j < 8; j++) x[j] = -(float)(i * 8 + j) * (87.0f / 696000.0f);
        EXP_NEG_LANES(y, x);
        for (j = 0; j < 8; j++) {
            double e = fabs((double)y[j] - exp((double)x[j])) / exp((double)x[j]);
            if (e > worst) worst = e;
        }
    }
    for (j = 0; j < 8; j++) x[j] = -88.0f - 100.0f * (float)j;
    EXP_NEG_LANES(y, x);
    for (j = 0; j < 8; j++) ok_low &= y[j] >= 0.0f && y[j] < 1e-37f;
    printf("softmax exp (8 lanes) vs exp over [-87, 0]: worst relative error %.2e\n", worst);
    check(worst < 3e-7, "the softmax's 8-lane exp is within 3e-7 relative of exp over [-87, 0]");
    check(ok_low, "the softmax's 8-lane exp of x < -87 is below 1e-37");
}

#if CK_HAVE_AVX512
/* the 16-lane sigmoid (swiglu forward's two chunks at a time on AVX-512) against the 8-lane one: the
   same bits in every lane, over [-100, 100] and at 0, -0, the exp clamp (-87), huge values, inf, NaN */
static void test_sigmoid_avx512(void)
{
    enum { N = 200016 };
    static const float sp[16] = { 0.0f, -0.0f, -87.0f, 87.0f, -87.5f, 87.5f, -1e30f, 1e30f, 1e-40f, -1e-40f, 1.0f, -1.0f, 0.5f, -30.0f, 30.0f, 3.4e38f };
    float *g = (float *)malloc(N * sizeof(float)), a8[16], a16[16];
    int i, j, bad = 0;
    for (i = 0; i < N; i++) g[i] = i < 16 ? sp[i] : (float)(i - N / 2) * (200.0f / N) + 0.001f * frand();
    g[16] = INFINITY; g[17] = -INFINITY; g[18] = NAN;
    for (i = 0; i + 16 <= N; i += 16) {
        _mm256_storeu_ps(a8, ck__sigmoid_avx2(_mm256_loadu_ps(g + i)));
        _mm256_storeu_ps(a8 + 8, ck__sigmoid_avx2(_mm256_loadu_ps(g + i + 8)));
        _mm512_storeu_ps(a16, ck__sigmoid_avx512(_mm512_loadu_ps(g + i)));
        for (j = 0; j < 16; j++) bad += memcmp(a8 + j, a16 + j, sizeof(float)) != 0;
    }
    check(!bad, "sigmoid: 16 lanes (AVX-512) give the 8-lane function's bits for 200016 values, specials included");
    free(g);
}
#endif

/* swiglu forward (8 lanes on SIMD builds) against g * (1 / (1 + exp(-g))) * u in double: within
   6e-7 relative per element wherever that is a normal float (the 8-lane exp's 2 ulp, a division
   and two products) */
static void test_swiglu_simd(void)
{
    enum { N = 100003 };
    float *g = (float *)malloc(N * sizeof(float)), *u = rnd(N, 2.0f), *o = (float *)malloc(N * sizeof(float));
    double worst = 0;
    int i;
    for (i = 0; i < N; i++) g[i] = (float)(i - N / 2) * (60.0f / N) + 0.001f * frand();
    ck_swiglu_forward(o, g, u, N);
    for (i = 0; i < N; i++) {
        double want = (double)g[i] / (1.0 + exp(-(double)g[i])) * u[i], e;
        if (fabs(want) < 1e-30) continue;
        e = fabs(o[i] - want) / fabs(want);
        if (e > worst) worst = e;
    }
    printf("swiglu forward vs double: worst relative error %.2e (g in [-30, 30])\n", worst);
    check(worst < 6e-7, "swiglu forward within 6e-7 relative of the double-precision formula");
    /* backward, onto prefilled gradients: dgate += dout u s (1 + g (1 - s)), dup += dout g s. The bound
       is relative to the magnitudes the float steps round (silu' crosses 0 near g = -1.28, where a plain
       relative error means nothing): |dgate| + |dout u| (s + |g| s), the last for the error of s (a few
       ulp) carried through g (1 - s); 1e-6 of that is a few roundings of each */
    {
        float *d = rnd(N, 1.0f), *dg = rnd(N, 1.0f), *du = rnd(N, 1.0f), *dg0 = copy_of(dg, N), *du0 = copy_of(du, N);
        double wg = 0, wu = 0;
        ck_swiglu_backward(dg, du, d, g, u, N);
        for (i = 0; i < N; i++) {
            double gi = g[i], sg = 1.0 / (1.0 + exp(-gi)), du_ = (double)d[i] * u[i];
            double want_g = dg0[i] + du_ * sg * (1.0 + gi * (1.0 - sg)), want_u = du0[i] + d[i] * gi * sg;
            double size_g = fabs(dg0[i]) + fabs(du_) * (sg + fabs(gi) * sg), size_u = fabs(du0[i]) + fabs(d[i] * gi * sg);
            if (fabs(dg[i] - want_g) / size_g > wg) wg = fabs(dg[i] - want_g) / size_g;
            if (fabs(du[i] - want_u) / size_u > wu) wu = fabs(du[i] - want_u) / size_u;
        }
        printf("swiglu backward vs double: worst error / term size %.2e (dgate) %.2e (dup)\n", wg, wu);
        check(wg < 1e-6 && wu < 1e-6, "swiglu backward within 1e-6 of the double-precision formula (relative to its terms)");
        free(d); free(dg); free(du); free(dg0); free(du0);
    }
    free(g); free(u); free(o);
}

/* tanh GELU forward and backward (8 lanes on SIMD builds) against the formulas in double, over
   x in [-12, 12] (past the derivative's +-10 cut-offs) and a few huge values. Bounds: relative to the
   magnitudes the float steps round, |0.5 x| (1 + |tanh|) forward, |dinp| + |dout| (0.5 (1 + |tanh|) +
   |0.5 x K (1 + 3 A x^2)|) backward; 2e-6 is a few ulp of each (the 8-lane tanh: a few ulp of tanhf) */
static void test_gelu_simd(void)
{
    enum { N = 100003 };
    float *x = (float *)malloc(N * sizeof(float)), *o = (float *)malloc(N * sizeof(float)), *d = rnd(N, 1.0f), *di = rnd(N, 1.0f);
    float *di0 = copy_of(di, N);
    const double K = 0.7978845608028654, A = 0.044715;
    double wf = 0, wb = 0;
    int i, finite = 1;
    for (i = 0; i < N; i++) x[i] = (float)(i - N / 2) * (24.0f / N) + 0.001f * frand();
    x[0] = -3e30f; x[1] = 3e30f; x[2] = -1e19f; x[3] = 1e19f; x[N - 1] = 1e6f;
    ck_gelu_forward(o, x, N);
    ck_gelu_backward(di, d, x, N);
    for (i = 0; i < N; i++) {
        double xi = x[i], th = tanh(K * (xi + A * xi * xi * xi)), f = 0.5 * xi * (1.0 + th);
        double g = xi > 10 ? 1.0 : xi < -10 ? 0.0 : 0.5 * (1.0 + th) + 0.5 * xi * (1.0 - th * th) * K * (1.0 + 3.0 * A * xi * xi);
        double sf = fabs(0.5 * xi) * (1.0 + fabs(th)) + 1e-30;
        double sb = fabs(di0[i]) + fabs(d[i]) * (0.5 * (1.0 + fabs(th)) + (fabs(xi) > 10 ? 0.0 : fabs(0.5 * xi * K * (1.0 + 3.0 * A * xi * xi))));
        finite &= isfinite(di[i]) && (fabs(xi) > 1e30 || isfinite(o[i]));
        if (fabs(o[i] - f) / sf > wf) wf = fabs(o[i] - f) / sf;
        if (fabs(di[i] - (di0[i] + d[i] * g)) / sb > wb) wb = fabs(di[i] - (di0[i] + d[i] * g)) / sb;
    }
    printf("gelu (tanh) vs double: worst error / term size %.2e forward, %.2e backward (x in [-12, 12], +-1e19, +-3e30)\n", wf, wb);
    check(wf < 2e-6, "gelu forward within 2e-6 of the double-precision formula (relative to its terms)");
    check(wb < 2e-6, "gelu backward within 2e-6 of the double-precision formula (relative to its terms)");
    check(finite, "gelu backward finite for huge inputs (derivative 1 / 0 beyond +-10)");
    free(x); free(o); free(d); free(di); free(di0);
}
#endif /* CK_HAVE_AVX2 || CK_HAVE_NEON */

#if CK_HAVE_AVX2 || CK_HAVE_NEON
/* cross-entropy forward (8 lanes on AVX2, 4 on NEON) against the double-precision formulas, rows of V = (NEON: 5,) 8,
   13, 100 and 50257 (GPT-2's vocabulary), unit and large (1e3) logits, an ignored row. Bounds: the loss
   to 1e-6 relative (its sum is in double); probs to 6e-7 relative (a few ulp: the 8-lane exp, 2 ulp of
   expf, then one scale), or 1e-37 absolute (below exp(-87) the 8-lane exp stops at ~1e-38) */
static void test_cross_entropy_simd(void)
{
    static const int Vs[] = {
#if CK_HAVE_NEON
        5, /* NEON's 4-lane row from V = 4 (on AVX2 a row of 5 is the scalar loop) */
#endif
        8, 13, 100, 50257 };
    size_t vi;
    double wl = 0, wp = 0;
    int ok = 1;
    for (vi = 0; vi < sizeof Vs / sizeof *Vs; vi++) {
        enum { T = 3 };
        const int V = Vs[vi];
        float *x = rnd((size_t)T * V, 4.0f), *pr = (float *)malloc((size_t)T * V * sizeof(float)), losses[T], mean;
        int32_t tg[T];
        int t, c;
        for (c = 0; c < V; c++) x[(size_t)V + c] *= 250.0f; /* row 1: logits of ~1e3 */
        tg[0] = V - 1; tg[1] = V / 2; tg[2] = -100;
        mean = ck_cross_entropy_forward(losses, pr, x, tg, T, V, -100);
        for (t = 0; t < T; t++) {
            const float *xr = x + (size_t)t * V;
            double mx = -INFINITY, sum = 0, lse;
            for (c = 0; c < V; c++) mx = xr[c] > mx ? xr[c] : mx;
            for (c = 0; c < V; c++) sum += exp((double)xr[c] - mx);
            lse = mx + log(sum);
            for (c = 0; c < V; c++) {
                double want = exp((double)xr[c] - lse), e = fabs(pr[(size_t)t * V + c] - want);
                if (e > 1e-37 && e / want > wp) wp = e / want;
            }
            if (tg[t] >= 0) {
                double want = lse - xr[tg[t]];
                if (fabs(losses[t] - want) / fabs(want) > wl) wl = fabs(losses[t] - want) / fabs(want);
            } else {
                ok &= losses[t] == 0.0f;
            }
        }
        ok &= fabsf(mean - 0.5f * (losses[0] + losses[1])) <= 1e-6f * fabsf(mean);
        free(x); free(pr);
    }
    printf("cross-entropy forward vs double: worst relative error loss %.2e, probs %.2e\n", wl, wp);
    check(wl < 1e-6, "cross-entropy loss within 1e-6 relative of the double-precision formula");
    check(wp < 6e-7, "cross-entropy probs within 6e-7 relative of the double-precision formula");
    check(ok, "cross-entropy: the ignored row's loss is 0 and the mean is over the other rows");
}
#endif /* CK_HAVE_AVX2 || CK_HAVE_NEON */

#if CK_HAVE_AVX2 || CK_HAVE_NEON
/* Inference attention (ck_attention_forward_tm with lse == NULL; AVX2: the query heads of a KV group
   share each key/value row, an 8-lane exp; NEON: the general loop without lse) against the training route (lse wanted) on the same
   token-major strided data, with an F16 cache too; and bit-identical for 1, 2, 3 threads */
static void test_attention_infer(int NH, int NKV, int T, int pos0, int HS, int window, float softcap)
{
    int Tk = pos0 + T, kvd = NKV * HS;
    size_t ldq = (size_t)NH * HS + 3, ldkv = (size_t)kvd + 1, ldo = (size_t)NH * HS + 5;
    size_t nq = (size_t)T * ldq, nk = (size_t)Tk * ldkv, no = (size_t)T * ldo, nl = (size_t)NH * T, i;
    float *q = rnd(nq, 1.5f), *k = rnd(nk, 1.5f), *v = rnd(nk, 2.0f), *lse = rnd(nl, 1.0f);
    float *o1 = rnd(no, 1.0f), *o2 = copy_of(o1, no), *o3 = copy_of(o1, no), *kr = rnd(nk, 1.0f), *vr = rnd(nk, 1.0f);
    uint16_t *k16 = (uint16_t *)malloc(nk * 2), *v16 = (uint16_t *)malloc(nk * 2);
    const float scale = 1.0f / (float)sqrt(HS);
    char what[200];
    int nt, same = 1;
    ck_attention_forward_tm(o1, lse, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, ldq, ldkv, ldo);
    ck_attention_forward_tm(o2, NULL, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, ldq, ldkv, ldo);
    snprintf(what, sizeof what, "inference attention vs the training route (NH=%d NKV=%d T=%d pos0=%d HS=%d window=%d softcap=%g)",
             NH, NKV, T, pos0, HS, window, softcap);
    check_rel(o2, o1, no, 1e-5, what);
    for (i = 0; i < no; i++) same &= (i % ldo < (size_t)NH * HS) || o2[i] == o1[i]; /* the row padding is not written */
    check(same, "inference attention leaves the output rows' padding alone");
#ifdef _OPENMP
    for (nt = 1; nt <= 3; nt++) {
        omp_set_num_threads(nt);
        ck_attention_forward_tm(o3, NULL, q, k, v, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, ldq, ldkv, ldo);
        snprintf(what, sizeof what, "inference attention bit-identical with %d thread(s) (NH=%d NKV=%d T=%d pos0=%d HS=%d)", nt, NH, NKV, T, pos0, HS);
        check(memcmp(o3, o2, no * sizeof(float)) == 0, what);
    }
    omp_set_num_threads(2);
#else
    (void)nt; (void)o3;
#endif
    if (HS <= CK_ATTN_F16_MAX_HS) { /* the F16 cache: the widened rows give the f32 path's result exactly */
        ck_copy_rows_f16(k16, ldkv, k, ldkv, Tk, kvd);
        ck_copy_rows_f16(v16, ldkv, v, ldkv, Tk, kvd);
        for (i = 0; i < nk; i++) { kr[i] = ck_fp16_to_fp32(k16[i]); vr[i] = ck_fp16_to_fp32(v16[i]); }
        ck_attention_forward_tm(o2, NULL, q, kr, vr, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, ldq, ldkv, ldo);
        ck_attention_forward_tm_f16kv(o3, NULL, q, k16, v16, NH, NKV, T, Tk, HS, pos0, window, scale, softcap, ldq, ldkv, ldo);
        snprintf(what, sizeof what, "inference attention over an F16 cache == over its values in f32, bit for bit (NH=%d NKV=%d T=%d HS=%d)", NH, NKV, T, HS);
        check(memcmp(o3, o2, no * sizeof(float)) == 0, what);
    }
    free(q); free(k); free(v); free(lse); free(o1); free(o2); free(o3); free(kr); free(vr); free(k16); free(v16);
}
#endif

/* ck_argmax (8 lanes on SIMD builds) returns what the plain loop returns: the first index of the
   largest value, with ties, +-0, infinities and NaNs anywhere (a NaN is never larger: the scalar
   rule decides); ck_sample refuses logits with a NaN or an infinity wherever it is */
static int argmax_ref(const float *x, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
static void test_argmax(void)
{
    static const int ns[] = { 1, 7, 8, 15, 16, 17, 33, 100, 49152 };
    float *x = (float *)malloc(49152 * sizeof(float));
    ck_prob_id *scratch = (ck_prob_id *)malloc(49152 * sizeof(ck_prob_id));
    uint64_t rng = 7;
    int a, c, i, ok = 1, refused = 1;
    for (a = 0; a < (int)(sizeof ns / sizeof *ns); a++) {
        int n = ns[a];
        for (c = 0; c < 8; c++) {
            int pos = (int)((unsigned)(c * 2654435761u) % (unsigned)n), got, want;
            for (i = 0; i < n; i++) x[i] = c == 1 ? (float)(i % 3) : frand(); /* c = 1: many ties */
            if (c == 2) x[pos] = NAN;
            if (c == 3) { x[0] = NAN; }
            if (c == 4) x[pos] = INFINITY;
            if (c == 5) x[pos] = -INFINITY;
            if (c == 6) { for (i = 0; i < n; i++) x[i] = i % 2 ? 0.0f : -0.0f; }
            if (c == 7) x[n - 1] = 5.0f; /* the largest in the scalar tail */
            got = ck_argmax(x, n);
            want = argmax_ref(x, n);
            if (got != want) { ok = 0; printf("  ck_argmax n=%d case %d: %d, the plain loop %d\n", n, c, got, want); }
            if (c >= 2 && c <= 4) refused &= ck_sample(x, n, 0.0f, 0, 1.0f, &rng, scratch) == -1;
        }
    }
    check(ok, "ck_argmax equals the plain loop (ties, +-0, NaN, infinities, tails; n = 1 .. 49152)");
    check(refused, "ck_sample refuses logits with a NaN or an infinity at any position");
    free(x); free(scratch);
}

static void test_attention_edges(void)
{
    /* Tk = 0: no key visible: out = 0, lse = -inf, backward adds nothing */
    float q[4] = { 1, 2, 3, 4 }, out[4] = { 9, 9, 9, 9 }, lse[1] = { 0 }, dq[4] = { 1, 1, 1, 1 };
    float k[4] = { 1, 0, 0, 0 }, v[4] = { 5, 6, 7, 8 }, one_out[4], one_lse[1];
    ck_attention_forward(out, lse, q, k, v, 1, 1, 1, 0, 4, 0, 0, 0.5f, 0.0f);
    check(out[0] == 0 && out[3] == 0 && isinf(lse[0]) && lse[0] < 0, "attention with no visible key gives out=0, lse=-inf");
    ck_attention_backward(dq, NULL, NULL, q, out, lse, q, k, v, 1, 1, 1, 0, 4, 0, 0, 0.5f, 0.0f);
    check(dq[0] == 1 && dq[3] == 1, "attention backward with no visible key adds nothing");
    /* one key: output is exactly v, lse the single score */
    ck_attention_forward(one_out, one_lse, q, k, v, 1, 1, 1, 1, 4, 0, 0, 0.5f, 0.0f);
    check(fabsf(one_out[0] - 5) < 1e-6f && fabsf(one_out[3] - 8) < 1e-6f && fabsf(one_lse[0] - 0.5f) < 1e-6f,
          "attention over a single key returns v and lse = score");
}

/* <M x, y> = <x, M^T y> for the map M = ck_rope_forward with a YaRN cache (mscale = 1.1386 * 1.2):
   ck_rope_backward must apply M^T (not M^-1, which differs by mscale^2) */
static void test_rope_scaled_adjoint(int neox, int token_major)
{
    enum { NH = 3, T = 7, HS = 20, N_ROT = 16, POS0 = 90, MAX_T = 100 };
    float *cs = (float *)malloc((size_t)MAX_T * N_ROT * sizeof(float));
    float *x = rnd((size_t)NH * T * HS, 1.0f), *y = rnd((size_t)NH * T * HS, 1.0f);
    float *mx = copy_of(x, (size_t)NH * T * HS), *mty = copy_of(y, (size_t)NH * T * HS);
    double lhs = 0, rhs = 0, ms2, worst = 0;
    ck_rope_params p;
    size_t i;
    char what[160];
    ck_rope_params_init(&p, CK_ROPE_SCALING_YARN, 10000.0f, 4.0f, 32, 1.2f, NULL);
    ck_rope_cache_ext(cs, MAX_T, N_ROT, &p);
    ms2 = pow(1.2 * (1.0 + 0.1 * log(4.0)), 2.0);
    if (token_major) { /* [T, NH*HS]: the same numbers read as token-major rows */
        ck_rope_forward_tm(mx, cs, NH, T, HS, N_ROT, POS0, neox, (size_t)NH * HS);
        ck_rope_backward_tm(mty, cs, NH, T, HS, N_ROT, POS0, neox, (size_t)NH * HS);
    } else {
        ck_rope_forward(mx, cs, NH, T, HS, N_ROT, POS0, neox);
        ck_rope_backward(mty, cs, NH, T, HS, N_ROT, POS0, neox);
    }
    for (i = 0; i < (size_t)NH * T * HS; i++) { lhs += (double)mx[i] * y[i]; rhs += (double)x[i] * mty[i]; }
    snprintf(what, sizeof what, "rope %s neox=%d: <Mx,y> = %.9g != <x,M^T y> = %.9g", token_major ? "tm" : "head-major", neox, lhs, rhs);
    check(fabs(lhs - rhs) < 1e-5 * (fabs(lhs) + 1.0), what);
    if (token_major) ck_rope_backward_tm(mx, cs, NH, T, HS, N_ROT, POS0, neox, (size_t)NH * HS);
    else ck_rope_backward(mx, cs, NH, T, HS, N_ROT, POS0, neox);
    for (i = 0; i < (size_t)NH * T * HS; i++) {
        int rotated = (int)(token_major ? i % ((size_t)NH * HS) % HS : i % HS) < N_ROT;
        worst = fmax(worst, fabs(mx[i] - (rotated ? ms2 : 1.0) * x[i]));
    }
    snprintf(what, sizeof what, "rope %s neox=%d: backward(forward(x)) != mscale^2 x on the rotated dims (max diff %.3g)",
             token_major ? "tm" : "head-major", neox, worst);
    check(worst < 1e-5, what);
    free(cs); free(x); free(y); free(mx); free(mty);
}

static size_t write_mem(void *ctx, const void *p, size_t n)
{
    uint8_t **dst = (uint8_t **)ctx;
    memcpy(*dst, p, n);
    *dst += n;
    return n;
}
/* a GGUF in memory with the given rope metadata; ck_rope_params_from_gguf on it */
static int rope_from_gguf(ck_rope_params *p, const char **name, int n_ctx, const char *type, float factor, int orig,
                          float attn, const char *tensor, uint8_t *file, size_t cap)
{
    static float factors[8] = { 1, 1, 1.5f, 2, 4, 8, 8, 8 };
    static uint8_t index[1 << 14];
    static ck_gguf g;
    ck_gguf_builder b;
    int64_t ne = 8;
    uint8_t *end = file;
    char err[256];
    ck_gguf_builder_init(&b);
    ck_gguf_add_str(&b, "general.architecture", "llama");
    ck_gguf_add_u32(&b, "llama.context_length", 4096);
    ck_gguf_add_f32(&b, "llama.rope.freq_base", 500000.0f);
    if (type) ck_gguf_add_str(&b, "llama.rope.scaling.type", type);
    if (factor != 0.0f) ck_gguf_add_f32(&b, "llama.rope.scaling.factor", factor);
    if (orig) ck_gguf_add_u32(&b, "llama.rope.scaling.original_context_length", (uint32_t)orig);
    if (attn != 0.0f) ck_gguf_add_f32(&b, "llama.rope.scaling.attn_factor", attn);
    if (tensor) ck_gguf_add_tensor(&b, tensor, 1, &ne, CK_F32, factors);
    if (ck_gguf_builder_size(&b) > cap || ck_gguf_write(&b, write_mem, &end) != 0) { ck_gguf_builder_free(&b); return -2; }
    ck_gguf_builder_free(&b);
    if (ck_gguf_parse(&g, file, (size_t)(end - file), index, sizeof index) != 0) return -3;
    return ck_rope_params_from_gguf(p, name, &g, 16, n_ctx, err, sizeof err);
}

static void test_rope_params_from_gguf(void)
{
    static uint8_t file[1 << 14];
    ck_rope_params p;
    const char *name;
    check(rope_from_gguf(&p, &name, 0, NULL, 0, 0, 0, NULL, file, sizeof file) == 0 && p.freq_base == 500000.0f && p.freq_scale == 1.0f &&
          p.ext_factor == 0.0f && p.attn_factor == 1.0f && p.n_ctx_orig == 4096 && !p.freq_factors && !name, "rope from gguf: no scaling keys");
    check(rope_from_gguf(&p, &name, 0, "linear", 8.0f, 0, 0, NULL, file, sizeof file) == 0 && p.freq_scale == 0.125f && p.ext_factor == 0.0f,
          "rope from gguf: linear x8");
    check(rope_from_gguf(&p, &name, 0, "none", 8.0f, 0, 0, NULL, file, sizeof file) == 0 && p.freq_scale == 1.0f, "rope from gguf: none never scales");
    check(rope_from_gguf(&p, &name, 0, "yarn", 4.0f, 32768, 0, NULL, file, sizeof file) == 0 && p.freq_scale == 0.25f && p.ext_factor == 1.0f &&
          p.attn_factor == 1.0f && p.beta_fast == 32.0f && p.beta_slow == 1.0f && p.n_ctx_orig == 32768, "rope from gguf: yarn");
    check(rope_from_gguf(&p, &name, 0, NULL, 0, 0, 0, "rope_freqs.weight", file, sizeof file) == 0 && p.freq_factors && p.freq_factors[4] == 4.0f &&
          name && !strcmp(name, "rope_freqs.weight"), "rope from gguf: Llama 3 rope_freqs");
    check(rope_from_gguf(&p, &name, 8192, NULL, 0, 2048, 1.19f, "rope_factors_long.weight", file, sizeof file) == 0 && p.freq_factors &&
          p.attn_factor == 1.19f && p.freq_scale == 1.0f, "rope from gguf: LongRoPE, n_ctx > orig: long factors");
    check(rope_from_gguf(&p, &name, 2048, NULL, 0, 2048, 1.19f, "rope_factors_long.weight", file, sizeof file) == 0 && !p.freq_factors && !name,
          "rope from gguf: LongRoPE, n_ctx <= orig: not the long factors");
    check(rope_from_gguf(&p, &name, 2048, NULL, 0, 2048, 0, "rope_factors_short.weight", file, sizeof file) == 0 && p.freq_factors &&
          name && !strcmp(name, "rope_factors_short.weight"), "rope from gguf: LongRoPE, n_ctx <= orig: short factors");
    check(rope_from_gguf(&p, &name, 0, "dynamic", 2.0f, 0, 0, NULL, file, sizeof file) == -1, "rope from gguf: unknown scaling type is an error");
}

/* ---- ck_matmul_backward_q: the input gradient of a frozen quantized layer (QLoRA) ------------
   dinp (prefilled: it accumulates) += dout @ dequant(W), the weight dequantized CK_MATMUL_BQ_ROWS rows at
   a time, must have the bits of dequantizing all of W and running the fp32 backward of the same build:
   ck_matmul_backward_q vs ck_dequantize_row + ck_matmul_backward (the packed GEMM on AVX2/AVX-512 builds),
   _scalar vs ck_dequantize_row_scalar + ck_matmul_backward_scalar, at 1, 2 and 3 threads. OC crosses the
   chunks (1, 5, 130, 300, 2 chunks + 3 rows). The reference itself lies within the summation-order bound
   of a double oracle (so that both cannot be wrong alike): |s - exact| <= gamma(OC+1) (|init| + sum |d w|). */
static int bq_case(int type, int T, int C, int OC, double *worst)
{
    const size_t row_bytes = ck_row_size(type, C), ni = (size_t)T * C;
    float *wf = rnd((size_t)OC * C, 1.0f / (float)sqrt(C)), *dout = rnd((size_t)T * OC, 1.0f), *init = rnd(ni, 1.0f);
    float *wd = (float *)malloc((size_t)OC * C * sizeof(float)), *wds = (float *)malloc((size_t)OC * C * sizeof(float));
    float *scratch = (float *)malloc((size_t)CK_MIN(OC, CK_MATMUL_BQ_ROWS) * C * sizeof(float)); /* exactly what it may use */
    float *ref = copy_of(init, ni), *ref_s = copy_of(init, ni), *got = (float *)malloc(ni * sizeof(float));
    uint8_t *wq = (uint8_t *)malloc((size_t)OC * row_bytes);
    int o, t, c, k, nt, ok = 1, bound_ok = 1, max_nt = 1;
    char what[200];
    for (o = 0; o < OC; o++)
        if (ck_quantize_row(type, wf + (size_t)o * C, wq + (size_t)o * row_bytes, C) != row_bytes) { ok = 0; printf("  %s: row not quantized\n", ck_type_name(type)); }
    for (o = 0; o < OC; o++) {
        ck_dequantize_row(type, wq + (size_t)o * row_bytes, wd + (size_t)o * C, C);
        ck_dequantize_row_scalar(type, wq + (size_t)o * row_bytes, wds + (size_t)o * C, C);
    }
    ck_matmul_backward(ref, NULL, NULL, dout, NULL, wd, T, C, OC);
    ck_matmul_backward_scalar(ref_s, NULL, NULL, dout, NULL, wds, T, C, OC);
    for (t = 0; t < T; t++)
        for (c = 0; c < C; c++) {
            const size_t i = (size_t)t * C + c;
            double exact = init[i], mag = fabs(init[i]), nu = (OC + 1) * ldexp(1.0, -24), tol, e;
            for (k = 0; k < OC; k++) {
                double p = (double)dout[(size_t)t * OC + k] * wd[(size_t)k * C + c];
                exact += p; mag += fabs(p);
            }
            tol = (nu / (1.0 - nu) + (OC + 1) * ldexp(1.0, -53)) * mag;
            e = fabs(ref[i] - exact);
            if (!(e <= tol)) bound_ok = 0;
            if (mag > 0 && e / mag > *worst) *worst = e / mag;
        }
#ifdef _OPENMP
    max_nt = 3;
#endif
    for (nt = 1; nt <= max_nt; nt++) {
#ifdef _OPENMP
        omp_set_num_threads(nt);
#endif
        memcpy(got, init, ni * sizeof(float));
        ck_matmul_backward_q(type, got, dout, wq, T, C, OC, scratch);
        if (memcmp(got, ref, ni * sizeof(float)) != 0) { ok = 0; printf("  ck_matmul_backward_q differs at %d thread(s)\n", nt); }
        memcpy(got, init, ni * sizeof(float));
        ck_matmul_backward_q_scalar(type, got, dout, wq, T, C, OC, scratch);
        if (memcmp(got, ref_s, ni * sizeof(float)) != 0) { ok = 0; printf("  ck_matmul_backward_q_scalar differs at %d thread(s)\n", nt); }
    }
    snprintf(what, sizeof what, "matmul_backward_q %s T=%d C=%d OC=%d: bit-identical to the whole-matrix backward (both paths, 1..%d threads)",
             ck_type_name(type), T, C, OC, max_nt);
    check(ok, what);
    snprintf(what, sizeof what, "matmul_backward_q %s T=%d C=%d OC=%d: reference within the summation bound of the double oracle",
             ck_type_name(type), T, C, OC);
    check(bound_ok, what);
    free(wf); free(dout); free(init); free(wd); free(wds); free(scratch); free(ref); free(ref_s); free(got); free(wq);
    return ok && bound_ok;
}
static void test_matmul_backward_q(void)
{
    static const int types[] = { CK_F32, CK_F16, CK_BF16, CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_Q8_0, CK_Q8_1,
                                 CK_Q2_K, CK_Q3_K, CK_Q4_K, CK_Q5_K, CK_Q6_K, CK_Q8_K, CK_IQ4_NL };
    static const int Ts[] = { 1, 7, 64 }, OCs[] = { 1, 5, 130, 300, 2 * CK_MATMUL_BQ_ROWS + 3 };
    double worst = 0;
    int ty, a, b, n_ok = 0, n_cases = 0;
#ifdef _OPENMP
    const int threads0 = omp_get_max_threads();
#endif
    for (ty = 0; ty < (int)(sizeof types / sizeof *types); ty++) {
        const int blck = (int)ck_type_block_size(types[ty]);
        /* C: a block multiple; two for the 32-blocks (one block, three), odd for the per-value types */
        const int Cs[2] = { blck == 1 ? 33 : blck, blck == 32 ? 96 : 0 };
        int ci;
        for (ci = 0; ci < 2 && Cs[ci]; ci++)
            for (a = 0; a < (int)(sizeof Ts / sizeof *Ts); a++)
                for (b = 0; b < (int)(sizeof OCs / sizeof *OCs); b++, n_cases++) n_ok += bq_case(types[ty], Ts[a], Cs[ci], OCs[b], &worst);
    }
#ifdef _OPENMP
    omp_set_num_threads(threads0);
#endif
    printf("matmul_backward_q: %d of %d cases (%d types, T 1/7/64, OC 1/5/130/300/%d, chunks of %d rows) bit-identical to the "
           "whole-matrix backward; worst error vs double %.2e of sum |d w|\n", n_ok, n_cases, (int)(sizeof types / sizeof *types),
           2 * CK_MATMUL_BQ_ROWS + 3, CK_MATMUL_BQ_ROWS, worst);
}

static void test_simd_vs_scalar(void)
{
#if CK_HAVE_AVX2 || CK_HAVE_MVE || CK_HAVE_NEON
    static const int Ts[] = { 1, 2, 3, 4, 5, 7, 13, 64 };
    static const int Cs[] = { 1, 7, 8, 9, 16, 33, 100, 257 };
    static const int OCs[] = { 1, 2, 3, 5, 24, 25, 49, 300 };
    size_t a, b, c;
    for (a = 0; a < sizeof Ts / sizeof *Ts; a++)
        for (b = 0; b < sizeof Cs / sizeof *Cs; b++)
            for (c = 0; c < sizeof OCs / sizeof *OCs; c++) test_matmul(Ts[a], Cs[b], OCs[c], (int)((a + b + c) & 1));
    test_matmul(300, 520, 70, 1); /* crosses the 256-wide blocks of the backward GEMM */
#if CK_TEST_SIMD_ATTENTION
    {
        static const int cfg[][6] = { /* NH NKV T pos0 HS window */
            { 1, 1, 1, 0, 1, 0 }, { 2, 1, 5, 0, 7, 0 }, { 4, 2, 17, 0, 8, 0 }, { 7, 1, 9, 3, 33, 0 }, { 14, 2, 40, 0, 64, 0 },
            { 4, 4, 70, 0, 64, 5 }, { 2, 2, 1, 100, 64, 0 }, { 2, 1, 3, 50, 128, 16 }, { 3, 3, 33, 0, 9, 1 }, { 2, 2, 65, 7, 17, 1000 },
            /* the tiles (16 queries x 16 keys, 64 queries a work item) and HS up to 256 */
            { 4, 2, 100, 0, 256, 0 }, { 6, 3, 150, 20, 40, 33 }, { 3, 1, 129, 0, 200, 0 }, { 2, 2, 80, 0, 16, 0 },
        };
        size_t i;
        for (i = 0; i < sizeof cfg / sizeof *cfg; i++) test_attention(cfg[i][0], cfg[i][1], cfg[i][2], cfg[i][3], cfg[i][4], cfg[i][5], 0.0f);
        /* logit soft-capping: a cap below the score range (0.3) bends most scores, 5 a few */
        for (i = 0; i < sizeof cfg / sizeof *cfg; i += 2) test_attention(cfg[i][0], cfg[i][1], cfg[i][2], cfg[i][3], cfg[i][4], cfg[i][5], i % 4 ? 5.0f : 0.3f);
    }
    printf("worst relative error SIMD vs scalar: attention fwd %.2e bwd %.2e\n", worst_at_fwd, worst_at_bwd);
#else
    printf("SIMD vs scalar attention: not applicable (this build, %s, has no SIMD attention)\n", ck_simd_name());
#endif
    printf("worst error SIMD vs scalar relative to sum|terms|: matmul fwd %.2e bwd %.2e\n", worst_mm_fwd, worst_mm_bwd);
#else
    /* here ck_matmul_forward is ck_matmul_forward_scalar (scalar builds; NEON has no fp32 matmul or
       attention path yet): comparing them proves nothing */
    printf("SIMD vs scalar (matmul, attention): not applicable (this build, %s, has no SIMD path for them)\n", ck_simd_name());
#endif
}

/* the memory floor of run --profile and bench-membw is bytes / time of ck_peak_sum_streams: every
   float of the range read exactly once by each stream count, the whole lines of the runs and the
   floats after them (values 1..len: a run that overlaps another or a float left out changes the sum,
   and every partial sum is an integer below 2^24, exact in float) */
static void test_peak_streams(void)
{
    static const size_t lens[] = { 0, 1, 15, 16, 17, 31, 32, 33, 127, 128, 129, 255, 256, 257, 1000, 4096 + 48 + 5 };
    float *a = (float *)malloc(4200 * sizeof(float));
    size_t i, l;
    int streams, ok = 1;
    for (i = 0; i < 4200; i++) a[i] = (float)(i + 1);
    for (l = 0; l < sizeof lens / sizeof lens[0]; l++)
        for (streams = 1; streams <= 8; streams *= 2) {
            double got = ck_peak_sum_streams(a, lens[l], streams), want = (double)lens[l] * (double)(lens[l] + 1) / 2;
            if (got != want) { printf("  ck_peak_sum_streams: %zu floats as %d streams: sum %.0f, want %.0f\n", lens[l], streams, got, want); ok = 0; }
        }
    check(ok, "ck_peak_sum_streams reads every float once as 1, 2, 4 and 8 streams (ck_peak.h)");
    free(a);
}

int main(void)
{
    printf("ckernel C tests, SIMD: %s\n", ck_simd_name());
#ifdef CK_EXPECT_SIMD /* the Makefile's cross builds: the paths the flags must select, not silently scalar */
    check(strcmp(ck_simd_name(), CK_EXPECT_SIMD) == 0, "this build selected the SIMD paths its flags ask for (CK_EXPECT_SIMD)");
#endif
    test_simd_vs_scalar();
#if CK_HAVE_AVX2 || CK_HAVE_NEON
    test_gemm_edges();
#else
    printf("packed GEMM: not applicable in a scalar build (ck_matmul_forward/backward are the scalar reference)\n");
#endif
#if CK_HAVE_NEON
    test_norm_rope_neon();
#endif
#if CK_HAVE_AVX2
    test_rmsnorm_avx2();
    test_rope_simd("AVX2", 1);
#endif
    test_attention_f16kv(4, 2, 1, 37, 64, 0, 0.0f);    /* decode over a cache */
    test_attention_f16kv(8, 2, 9, 8, 64, 4, 2.0f);     /* a prefill chunk after one, window, soft-cap */
    test_attention_f16kv(3, 1, 5, 0, 256, 0, 0.0f);    /* the largest head size the F16 cache takes */
#if CK_HAVE_AVX2 || CK_HAVE_NEON
    test_exp_neg();
    test_swiglu_simd();
#if CK_HAVE_AVX512
    test_sigmoid_avx512();
#endif
    test_gelu_simd();
#endif
#if CK_HAVE_AVX2 || CK_HAVE_NEON
    test_cross_entropy_simd();
#endif
#if CK_HAVE_AVX2 || CK_HAVE_NEON
    test_attention_infer(9, 3, 1, 80, 64, 0, 0.0f);     /* decode, SmolLM's groups of 3 */
    test_attention_infer(14, 2, 1, 200, 64, 0, 0.0f);   /* decode, Qwen2's groups of 7, 4 key blocks */
    test_attention_infer(9, 3, 64, 0, 64, 0, 0.0f);     /* a prefill chunk */
    test_attention_infer(18, 2, 7, 70, 33, 0, 0.0f);    /* groups of 9 (> 8 per pass), HS not a multiple of 8 */
    test_attention_infer(4, 4, 20, 45, 9, 16, 0.0f);    /* no grouping, a window, odd key counts */
    test_attention_infer(8, 2, 3, 100, 128, 0, 0.3f);   /* soft-capping below the score range */
    test_attention_infer(2, 1, 2, 300, 256, 0, 5.0f);   /* the largest F16 head size, many blocks */
    test_attention_infer(2, 1, 3, 5, 300, 0, 0.0f);     /* HS > 256: the general kernel */
    test_attention_infer(1, 1, 1, 0, 4, 0, 0.0f);      /* one key */
#endif
#ifdef _OPENMP
    test_threads();
    test_attention_threads();
    test_elementwise_threads();
    test_rows_threads();
#else
    printf("built without OpenMP: thread-count determinism not exercised in this binary\n");
#endif
    test_attention_edges();
    test_argmax();
    test_rope_scaled_adjoint(0, 0);
    test_rope_scaled_adjoint(1, 0);
    test_rope_scaled_adjoint(0, 1);
    test_rope_scaled_adjoint(1, 1);
    test_rope_params_from_gguf();
    test_softcap_simd();
    test_matmul_backward_q();
    test_peak_streams();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
