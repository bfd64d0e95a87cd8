/* tests/test_simd_mcu.c — the build's SIMD matmul paths against the scalar reference, small
   enough for a microcontroller (static buffers, no malloc, printf only for the verdict).
   On Cortex-M55 (make test-mcu builds it with -DCK_EXPECT_SIMD='"mve"') it checks the Helium
   paths: ck_matmul_forward vs ck_matmul_forward_scalar (fp32, within float rounding of the sum
   of |products|), and ck_matmul_forward_qp vs ck_matmul_forward_qp_scalar for Q8_0 and Q4_0,
   fast and exact paths (bit-identical: the integer sums and the float operations are the same).
   Shapes are awkward on purpose: C not a multiple of 4 (fp32), OC not a multiple of 4, T = 1. The
   quantized weights start 2 bytes past a 4-byte boundary (blocks are 2-byte aligned in GGUF). */
#define CK_NO_STDIO
#define CK_IMPLEMENTATION
#define CK_QSEG 512
#include "ckernel.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#ifndef CK_EXPECT_SIMD
#define CK_EXPECT_SIMD "" /* any */
#endif
/* Helium (and scalar vs scalar) must agree bit for bit on Q8_0/Q4_0; AVX2 sums floats in
   another order (tests/test_quant.c checks it): there, within float rounding. */
#define EXACT_Q (!CK_HAVE_AVX2)

enum { MAX_T = 9, MAX_C = 160, MAX_OC = 19 };
static float inp[MAX_T * MAX_C], wf[MAX_OC * MAX_C], bias[MAX_OC], out_a[MAX_T * MAX_OC], out_b[MAX_T * MAX_OC];
static union { uint8_t b[2 + MAX_OC * MAX_C * 2]; uint32_t align; } wq;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float rnd(void) { return ck_rand_f32(&rng) * 2.0f - 1.0f; }

int main(void)
{
    static const int Ts[] = { 1, 2, 5, 9 }, Cf[] = { 1, 3, 4, 7, 33, 130 }, Cq[] = { 32, 64, 160 }, OCs[] = { 1, 3, 4, 5, 19 };
    static const int qtypes[] = { CK_Q8_0, CK_Q4_0 };
    int ti, ci, oi, qi, path, t, c, o, n_cases = 0, n_fail = 0;
    double max_rel = 0.0;
    const char *simd = ck_simd_name();
    if (CK_EXPECT_SIMD[0] && strcmp(simd, CK_EXPECT_SIMD) != 0) {
        printf("FAIL: this build's SIMD is '%s', expected '%s'\n", simd, CK_EXPECT_SIMD);
        return 1;
    }
    for (ti = 0; ti < 4; ti++)
        for (oi = 0; oi < 5; oi++) {
            int T = Ts[ti], OC = OCs[oi];
            for (ci = 0; ci < 6; ci++) { /* fp32 */
                int C = Cf[ci], use_bias = (ci + oi) & 1;
                for (c = 0; c < T * C; c++) inp[c] = rnd();
                for (c = 0; c < OC * C; c++) wf[c] = rnd();
                for (o = 0; o < OC; o++) bias[o] = rnd();
                ck_matmul_forward(out_a, inp, wf, use_bias ? bias : NULL, T, C, OC);
                ck_matmul_forward_scalar(out_b, inp, wf, use_bias ? bias : NULL, T, C, OC);
                for (t = 0; t < T; t++)
                    for (o = 0; o < OC; o++) {
                        double mag = use_bias ? fabs(bias[o]) : 0.0, d = fabs((double)out_a[t * OC + o] - out_b[t * OC + o]);
                        for (c = 0; c < C; c++) mag += fabs((double)inp[t * C + c] * wf[o * C + c]);
                        if (d / (mag + 1e-30) > max_rel) max_rel = d / (mag + 1e-30);
                        if (!(d <= 1e-6 * mag + 1e-30)) {
                            if (n_fail++ < 5) printf("FAIL f32 T=%d C=%d OC=%d [%d,%d]: %.9g vs scalar %.9g\n", T, C, OC, t, o, (double)out_a[t * OC + o], (double)out_b[t * OC + o]);
                        }
                    }
                n_cases++;
            }
            for (ci = 0; ci < 3; ci++) /* quantized */
                for (qi = 0; qi < 2; qi++)
                    for (path = 0; path < 2; path++) {
                        int C = Cq[ci], type = qtypes[qi];
                        size_t row = ck_row_size(type, C);
                        uint8_t *w = wq.b + 2;
                        for (c = 0; c < T * C; c++) inp[c] = rnd() * (c % 7 == 0 ? 4.0f : 1.0f);
                        for (c = 0; c < OC * C; c++) wf[c] = rnd();
                        for (o = 0; o < OC; o++) ck_quantize_row(type, wf + o * C, w + o * row, C);
                        for (o = 0; o < OC; o++) bias[o] = rnd();
                        ck_matmul_forward_qp(path, type, out_a, inp, w, (ci & 1) ? bias : NULL, T, C, OC);
                        ck_matmul_forward_qp_scalar(path, type, out_b, inp, w, (ci & 1) ? bias : NULL, T, C, OC);
                        int differs = memcmp(out_a, out_b, (size_t)T * OC * sizeof(float)) != 0;
                        if (!EXACT_Q)
                            for (differs = 0, c = 0; c < T * OC; c++) differs |= !(fabsf(out_a[c] - out_b[c]) <= 1e-5f * (1.0f + fabsf(out_b[c])));
                        if (differs) {
                            if (n_fail++ < 5) printf("FAIL %s %s T=%d C=%d OC=%d: differs from the scalar path (first: %.9g vs %.9g)\n",
                                                     ck_type_name(type), path == CK_Q_FAST ? "fast" : "exact", T, C, OC, (double)out_a[0], (double)out_b[0]);
                        }
                        n_cases++;
                    }
        }
    printf("simd %s vs scalar: %d matmul cases, fp32 max error %.3g of sum|products| (limit 1e-6), q8_0/q4_0 %s\n", simd, n_cases, max_rel,
           n_fail ? "FAILED" : EXACT_Q ? "bit-identical" : "within 1e-5");
    return n_fail ? 1 : 0;
}
