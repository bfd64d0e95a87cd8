/* make bench-quant: the weight formats of ckernel.h.
   - GB/s of ck_dequantize_row per type (one thread; quantized bytes in, fp32 out)
   - GFLOP/s of ck_matmul_forward_qp, exact and fast path, per type, at T = 1 (decode) and
     T = 64 (prefill), for a [896 -> 4864] and a [4864 -> 896] weight, beside the FP32
     ck_matmul_forward; at T = 1 also the weight bytes streamed per second.
   The weights are cycled through enough copies to exceed 3x the last-level cache, so T = 1
   reads them from DRAM as a decoder does. K-quants need C % 256 == 0: 896 is 3.5 * 256, so
   they run only the C = 4864 shape. Prints numbers; asserts nothing. --help for options. */
#define _POSIX_C_SOURCE 199309L
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static float *rnd(size_t n, float scale)
{
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    uint32_t s = 12345u;
    for (i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; p[i] = ((s >> 8) * (1.0f / 16777216.0f) - 0.5f) * scale; }
    return p;
}

/* run stmt until at least min_time seconds have passed; secs = seconds per call */
#define TIME_IT(min_time, stmt)                                           \
    do {                                                                  \
        double t0_, el_;                                                  \
        long n_ = 0;                                                      \
        stmt; /* warm-up */                                               \
        t0_ = now();                                                      \
        do { stmt; n_++; el_ = now() - t0_; } while (el_ < (min_time));   \
        secs = el_ / n_;                                                  \
    } while (0)

#define COLD_BYTES ((size_t)100 << 20) /* > 3x a 32 MB L3 */

int main(int argc, char **argv)
{
    static const int types[] = { CK_F16, CK_BF16, CK_Q8_0, CK_Q5_1, CK_Q5_0, CK_Q4_1, CK_Q4_0, CK_Q6_K, CK_Q5_K, CK_Q4_K, CK_Q3_K, CK_Q2_K };
    static const int mm_types[] = { CK_F16, CK_BF16, CK_Q8_0, CK_Q5_1, CK_Q5_0, CK_Q4_1, CK_Q4_0, CK_Q6_K, CK_Q5_K, CK_Q4_K };
    static const int shapes[][2] = { { 896, 4864 }, { 4864, 896 } }; /* C, OC */
    static const int smoke_shapes[][2] = { { 256, 64 } };
    static const int Ts[] = { 1, 64 };
    /* --smoke: tiny sizes, one timed call each, no DRAM-sized copies (runs the code, e.g. under qemu; not speed) */
    int smoke = argc > 1 && !strcmp(argv[1], "--smoke");
    const int (*mm)[2] = smoke ? smoke_shapes : shapes;
    int n_mm = smoke ? 1 : 2, dq_c = smoke ? 256 : 4864, dq_rows = smoke ? 4 : 896;
    size_t cold_bytes = smoke ? 0 : COLD_BYTES;
    double secs, min_time = smoke ? 0 : 0.3;
    int threads = 1, ti, si, k;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: %s [--quick | --smoke]\n  GB/s of ck_dequantize_row and GFLOP/s of ck_matmul_forward_qp (exact, fast) per GGUF type,\n"
               "  beside FP32 ck_matmul_forward. OMP_NUM_THREADS sets the thread count. --quick: shorter timings.\n"
               "  --smoke: a [256 -> 64] weight and 4 rows to dequantize, one call each (runs the code, e.g. under qemu; not speed).\n", argv[0]);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--quick")) min_time = 0.05;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("ckernel bench-quant  SIMD=%s  threads=%d (dequantize: 1 thread)\n\n", ck_simd_name(), threads);
    if (smoke) printf("--smoke: tiny sizes, one call each, weights in cache; the numbers below are not speed (under emulation they never are)\n\n");

    /* ---- dequantize ---- */
    {
        const int C = dq_c, ROWS = dq_rows;
        float *x = rnd((size_t)C * ROWS, 2.0f), *y = (float *)malloc((size_t)C * ROWS * sizeof(float));
        printf("%-6s %12s %12s %12s\n", "dequant", "in GB/s", "out GB/s", "Gvalues/s");
        for (ti = 0; ti < (int)(sizeof types / sizeof types[0]); ti++) {
            int type = types[ti], r;
            size_t rb = ck_row_size(type, C);
            char *q = (char *)malloc(rb * ROWS);
            for (r = 0; r < ROWS; r++) ck_quantize_row(type, x + (size_t)r * C, q + (size_t)r * rb, C);
            TIME_IT(min_time, for (r = 0; r < ROWS; r++) ck_dequantize_row(type, q + (size_t)r * rb, y + (size_t)r * C, C));
            printf("%-6s %12.2f %12.2f %12.2f\n", ck_type_name(type), rb * ROWS / secs * 1e-9, (double)C * ROWS * 4 / secs * 1e-9,
                   (double)C * ROWS / secs * 1e-9);
            free(q);
        }
        free(x); free(y);
    }

    /* ---- matmul ---- */
    for (si = 0; si < n_mm; si++) {
        int C = mm[si][0], OC = mm[si][1];
        printf("\nmatmul [T x %d] @ [%d x %d]^T   GFLOP/s (T=1: and weight GB/s from DRAM)\n", C, OC, C);
        printf("%-6s %8s | %17s %17s | %17s %17s\n", "", "bytes/w", "T=1 exact", "T=1 fast", "T=64 exact", "T=64 fast");
        for (ti = -1; ti < (int)(sizeof mm_types / sizeof mm_types[0]); ti++) {
            int type = ti < 0 ? CK_F32 : mm_types[ti], ncopies, c, r, n, ti2;
            size_t rb = ck_row_size(type, C), wbytes = rb * OC;
            float *w = rnd((size_t)OC * C, 0.1f), *inp = rnd((size_t)64 * C, 1.0f), *out = (float *)malloc((size_t)64 * OC * sizeof(float));
            char **copies;
            double res[4][2];
            if (C % ck_type_block_size(type)) {
                printf("%-6s %8s | %s\n", ck_type_name(type), "-", "n/a: C = 896 is not a multiple of 256 (K-quant super-blocks)");
                free(w); free(inp); free(out);
                continue;
            }
            ncopies = (int)(cold_bytes / wbytes) + 1;
            copies = (char **)malloc(sizeof(char *) * ncopies);
            for (c = 0; c < ncopies; c++) {
                copies[c] = (char *)malloc(wbytes);
                if (c == 0) for (r = 0; r < OC; r++) ck_quantize_row(type, w + (size_t)r * C, copies[0] + (size_t)r * rb, C);
                else memcpy(copies[c], copies[0], wbytes);
            }
            for (k = 0; k < 2; k++)         /* T */
                for (ti2 = 0; ti2 < 2; ti2++) { /* path */
                    int T = Ts[k], path = ti2 ? CK_Q_FAST : CK_Q_EXACT;
                    n = 0;
                    if (type == CK_F32) TIME_IT(min_time, (ck_matmul_forward(out, inp, (const float *)(const void *)copies[n], NULL, T, C, OC), n = (n + 1) % ncopies));
                    else TIME_IT(min_time, (ck_matmul_forward_qp(path, type, out, inp, copies[n], NULL, T, C, OC), n = (n + 1) % ncopies));
                    res[2 * k + ti2][0] = 2.0 * T * C * OC / secs * 1e-9;
                    res[2 * k + ti2][1] = wbytes / secs * 1e-9;
                }
            printf("%-6s %8.4f | %7.1f (%5.1f) %7.1f (%5.1f) | %17.1f %17.1f\n", ck_type_name(type), (double)rb / C,
                   res[0][0], res[0][1], res[1][0], res[1][1], res[2][0], res[3][0]);
            for (c = 0; c < ncopies; c++) free(copies[c]);
            free(copies); free(w); free(inp); free(out);
        }
    }
    printf("\nf32 rows are ck_matmul_forward (exact = fast). Types without an integer kernel (f16, bf16) run exact for fast.\n");
    if (!smoke) printf("T=1 numbers in brackets: GB/s of weights read; the weights cycle through > %d MB of copies (DRAM, not cache).\n",
                       (int)(COLD_BYTES >> 20));
    return 0;
}
