/* make bench-kernels: GFLOP/s of matmul forward/backward and attention at LLM shapes,
   beside the machine's measured peak (a plain loop of independent FMAs).
   Prints numbers; asserts nothing. --help for options. */
#define _POSIX_C_SOURCE 199309L
#define CK_IMPLEMENTATION
#include "ckernel.h"
#include "../examples/ck_peak.h" /* ck_peak_fma_gflops: the measured FMA peak */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static float *rnd(size_t n, float scale)
{
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    uint32_t s = 12345u;
    for (i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; p[i] = ((s >> 8) * (1.0f / 16777216.0f) - 0.5f) * scale; }
    return p;
}

/* run fn until at least min_time seconds have passed; return seconds per call */
#define TIME_IT(min_time, stmt)                                                 \
    do {                                                                        \
        double t0_ = ck_peak_now(), el_;                                        \
        long n_ = 0;                                                            \
        stmt; /* warm-up */                                                     \
        t0_ = ck_peak_now();                                                    \
        do { stmt; n_++; el_ = ck_peak_now() - t0_; } while (el_ < (min_time)); \
        secs = el_ / n_;                                                        \
    } while (0)

int main(int argc, char **argv)
{
    static const int shapes[][3] = { /* T, C, OC */
        { 64, 576, 576 }, { 64, 576, 1536 }, { 128, 1536, 576 }, { 256, 2048, 2048 }, { 512, 576, 1536 }, { 512, 2048, 2048 },
        /* GPT-2 124M training (T = B*T rows): attn qkv, attn proj, fc, fc proj, lm head */
        { 256, 768, 2304 }, { 256, 768, 768 }, { 256, 768, 3072 }, { 256, 3072, 768 }, { 2048, 768, 2304 }, { 2048, 3072, 768 },
        { 256, 768, 50257 },
        /* small T: where the forward's packed GEMM starts to pay; decode */
        { 8, 768, 2304 }, { 16, 768, 2304 }, { 32, 768, 2304 }, { 1, 576, 1536 }, { 1, 2048, 2048 },
    };
    static const int att[][5] = { /* NH, NKV, T, HS, window */
        { 9, 3, 256, 64, 0 }, { 14, 2, 512, 64, 0 }, { 16, 8, 512, 128, 0 }, { 8, 4, 512, 128, 128 },
    };
    static const int qshapes[][4] = { /* type, T, C, OC: SmolLM-135M (C 576: not K-quants), GPT-2 fc and fc proj, 1.7B-sized */
        { CK_Q8_0, 256, 576, 1536 }, { CK_Q8_0, 256, 1536, 576 }, { CK_Q4_K, 256, 768, 3072 }, { CK_Q6_K, 256, 3072, 768 },
        { CK_Q4_0, 512, 2048, 2048 }, { CK_Q4_K, 512, 8192, 2048 },
    };
    /* --smoke: one tiny shape of each, one timed call (a run under emulation: the code paths, not speed) */
    static const int smoke_shapes[][3] = { { 8, 64, 96 } };
    static const int smoke_att[][5] = { { 2, 1, 16, 16, 0 } };
    int smoke = argc > 1 && !strcmp(argv[1], "--smoke");
    const int (*mm)[3] = smoke ? smoke_shapes : shapes;
    const int (*at)[5] = smoke ? smoke_att : att;
    size_t n_mm = smoke ? 1 : sizeof shapes / sizeof *shapes, n_at = smoke ? 1 : sizeof att / sizeof *att;
    double peak, secs, min_time = smoke ? 0 : 0.3;
    size_t i;
    int threads = 1;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: %s [--quick | --peak-only | --smoke]\n  GFLOP/s of ck_matmul_forward/backward, ck_attention_forward/backward and ck_matmul_backward_q\n"
               "  beside the measured FMA peak. OMP_NUM_THREADS sets the thread count. --quick: shorter timings.\n"
               "  --smoke: one tiny matmul and attention, one call each (runs the code, e.g. under qemu; not speed).\n", argv[0]);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--quick")) min_time = 0.05;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    peak = ck_peak_fma_gflops(smoke ? 100000 : 20000000);
    if (argc > 1 && !strcmp(argv[1], "--peak-only")) { printf("measured FMA peak: %.1f GFLOP/s (%d threads)\n", peak, threads); return 0; }
    printf("ckernel bench-kernels  SIMD=%s  threads=%d\n", ck_simd_name(), threads);
    if (smoke) printf("--smoke: tiny sizes, one call each; the numbers below are not speed (under emulation they never are)\n");
    printf("measured FMA peak: %.1f GFLOP/s (%d thread%s, %d-bit FMAs)\n\n", peak, threads, threads > 1 ? "s" : "", CK_HAVE_AVX512 ? 512 : CK_HAVE_AVX2 ? 256 : 32);
    printf("%-28s %10s %10s %8s %10s %8s\n", "matmul [T x C] @ [OC x C]^T", "fwd ms", "fwd GF/s", "of peak", "bwd GF/s", "of peak");
    for (i = 0; i < n_mm; i++) {
        int T = mm[i][0], C = mm[i][1], OC = mm[i][2];
        float *inp = rnd((size_t)T * C, 1), *w = rnd((size_t)OC * C, 0.05f), *out = rnd((size_t)T * OC, 1);
        float *dinp = rnd((size_t)T * C, 0), *dw = rnd((size_t)OC * C, 0);
        double fl = 2.0 * T * C * OC, fwd_s, gf, gb;
        char name[64];
        TIME_IT(min_time, ck_matmul_forward(out, inp, w, NULL, T, C, OC));
        fwd_s = secs;
        gf = fl / fwd_s * 1e-9;
        TIME_IT(min_time, ck_matmul_backward(dinp, dw, NULL, out, inp, w, T, C, OC));
        gb = 2.0 * fl / secs * 1e-9;
        snprintf(name, sizeof name, "T=%d C=%d OC=%d", T, C, OC);
        printf("%-28s %10.3f %10.1f %7.0f%% %10.1f %7.0f%%\n", name, fwd_s * 1e3, gf, 100 * gf / peak, gb, 100 * gb / peak);
        free(inp); free(w); free(out); free(dinp); free(dw);
    }
    printf("\n%-28s %10s %10s %8s %10s %8s\n", "attention (causal)", "fwd ms", "fwd GF/s", "of peak", "bwd GF/s", "of peak");
    for (i = 0; i < n_at; i++) {
        int NH = at[i][0], NKV = at[i][1], T = at[i][2], HS = at[i][3], W = at[i][4];
        size_t nq = (size_t)NH * T * HS, nk = (size_t)NKV * T * HS;
        float *q = rnd(nq, 1), *k = rnd(nk, 1), *v = rnd(nk, 1), *o = rnd(nq, 1), *l = rnd((size_t)NH * T, 1);
        float *dq = rnd(nq, 0), *dk = rnd(nk, 0), *dv = rnd(nk, 0);
        double pairs = 0, fl, fwd_s, gf, gb;
        int t;
        char name[64];
        for (t = 0; t < T; t++) pairs += W > 0 && W < t + 1 ? W : t + 1;
        fl = 4.0 * NH * pairs * HS; /* q.k and p*v */
        TIME_IT(min_time, ck_attention_forward(o, l, q, k, v, NH, NKV, T, T, HS, 0, W, 0.125f, 0.0f));
        fwd_s = secs;
        gf = fl / fwd_s * 1e-9;
        TIME_IT(min_time, ck_attention_backward(dq, dk, dv, o, o, l, q, k, v, NH, NKV, T, T, HS, 0, W, 0.125f, 0.0f));
        gb = 2.0 * fl / secs * 1e-9; /* backward: 4 HS-length products per pair = 2x the forward */
        snprintf(name, sizeof name, "NH=%d/%d T=%d HS=%d w=%d", NH, NKV, T, HS, W);
        printf("%-28s %10.3f %10.1f %7.0f%% %10.1f %7.0f%%\n", name, fwd_s * 1e3, gf, 100 * gf / peak, gb, 100 * gb / peak);
        free(q); free(k); free(v); free(o); free(l); free(dq); free(dk); free(dv);
    }
    /* the input gradient of a frozen quantized layer (QLoRA): chunks of CK_MATMUL_BQ_ROWS dequantized rows
       against dequantizing all of W into [OC, C] floats first (what the chunks save: that buffer) */
    printf("\n%-28s %10s %10s %8s %10s %8s\n", "matmul_backward_q (dinp)", "chunk ms", "GF/s", "of peak", "whole ms", "ratio");
    for (i = 0; i < (smoke ? 1 : sizeof qshapes / sizeof *qshapes); i++) {
        static const int smoke_q[4] = { CK_Q8_0, 8, 64, 96 };
        const int *qs = smoke ? smoke_q : qshapes[i];
        int type = qs[0], T = qs[1], C = qs[2], OC = qs[3], o;
        size_t rb = ck_row_size(type, C);
        float *w = rnd((size_t)OC * C, 0.05f), *dout = rnd((size_t)T * OC, 1), *dinp = rnd((size_t)T * C, 0);
        float *scratch = rnd((size_t)CK_MATMUL_BQ_ROWS * C, 0), *wf = rnd((size_t)OC * C, 0);
        unsigned char *wq = (unsigned char *)malloc((size_t)OC * rb);
        double fl = 2.0 * T * C * OC, chunk_s, gf;
        char name[64];
        for (o = 0; o < OC; o++) ck_quantize_row(type, w + (size_t)o * C, wq + (size_t)o * rb, C);
        TIME_IT(min_time, ck_matmul_backward_q(type, dinp, dout, wq, T, C, OC, scratch));
        chunk_s = secs;
        gf = fl / chunk_s * 1e-9;
        TIME_IT(min_time, { for (o = 0; o < OC; o++) ck_dequantize_row(type, wq + (size_t)o * rb, wf + (size_t)o * C, C);
                            ck_matmul_backward(dinp, NULL, NULL, dout, NULL, wf, T, C, OC); });
        snprintf(name, sizeof name, "%s T=%d C=%d OC=%d", ck_type_name(type), T, C, OC);
        printf("%-28s %10.3f %10.1f %7.0f%% %10.3f %8.2f\n", name, chunk_s * 1e3, gf, 100 * gf / peak, secs * 1e3, secs / chunk_s);
        free(w); free(dout); free(dinp); free(scratch); free(wf); free(wq);
    }
    printf("(chunks of %d rows; ratio = whole / chunk time, > 1: the chunks are faster)\n", CK_MATMUL_BQ_ROWS);
    return 0;
}
