/* C tests of the weight formats of ckernel.h (section 5):
   - the type table: names, ids, block sizes and bytes, unknown ids
   - fp16 and bf16: every one of the 65536 halves, round-to-nearest-even on chosen ties,
     overflow, subnormals, NaN (and, when the compiler targets F16C, random floats against it)
   - dequantization against a decoder written here from the layout comments, reading raw
     bytes at their offsets (so struct layout and bit positions are checked independently);
     the public (SIMD) and the _scalar dequantizer must give the same bits
   - quantization: known answers for Q8_0 and Q4_0, quantize(dequantize(q)) == q for the
     formats whose reference quantizer has that fixed point, and the error bound of every
     format over random and edge-case blocks (zero, -0.0, constant, one spike, all positive,
     scales that are fp16 subnormals)
   - quantized matmul: exact path against a double-precision product of the dequantized
     weights; fast path against a double-precision product of the dequantized weights and the
     activations quantized as the fast path defines them; AVX2 against scalar; fast against
     exact; bit-identical results for 1, 2 and 3 OpenMP threads
   Ends with the plain line "N passed, N failed". */
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if CK_HAVE_AVX2 && defined(__F16C__)
#include <immintrin.h>
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* the decoder below must round every operation, as the library does */
#endif

static int n_pass, n_fail;
#define HAS_SIMD (CK_HAVE_AVX2 || CK_HAVE_NEON || CK_HAVE_MVE) /* else the SIMD-vs-scalar checks are not applicable */
/* SIMD-vs-scalar comparisons that ran, and those skipped because this build has no SIMD path for
   that kernel (a comparison of the scalar code with itself proves nothing) */
static int n_simd_cmp, n_simd_na;
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t rnd_u32(void)
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}
static float frand(void) { return (float)((rnd_u32() >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f; } /* [-1, 1) */
static float grand(void) /* ~N(0,1), Box-Muller */
{
    double u1 = ((rnd_u32() >> 8) + 1.0) / 16777217.0, u2 = (rnd_u32() >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
static void check(int ok, const char *what)
{
    if (ok) n_pass++;
    else { n_fail++; printf("FAIL: %s\n", what); }
}

/* every type, and the ones the matmul is specified for */
static const int all_types[] = { CK_F32, CK_F16, CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_Q8_0, CK_Q8_1,
                                 CK_Q2_K, CK_Q3_K, CK_Q4_K, CK_Q5_K, CK_Q6_K, CK_Q8_K, CK_IQ4_NL, CK_BF16 };
#define N_ALL_TYPES ((int)(sizeof all_types / sizeof all_types[0]))
static const int mm_types[] = { CK_F32, CK_F16, CK_BF16, CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_Q8_0, CK_IQ4_NL, CK_Q2_K, CK_Q3_K,
                                CK_Q4_K, CK_Q5_K, CK_Q6_K };
#define N_MM_TYPES ((int)(sizeof mm_types / sizeof mm_types[0]))

/* ---- type table -------------------------------------------------------------------------- */

static void test_type_table(void)
{
    static const struct { int type; const char *name, *upper; int blck, bytes; } want[] = {
        { CK_F32, "f32", "F32", 1, 4 }, { CK_F16, "f16", "F16", 1, 2 }, { CK_Q4_0, "q4_0", "Q4_0", 32, 18 },
        { CK_Q4_1, "q4_1", "Q4_1", 32, 20 }, { CK_Q5_0, "q5_0", "Q5_0", 32, 22 }, { CK_Q5_1, "q5_1", "Q5_1", 32, 24 },
        { CK_Q8_0, "q8_0", "Q8_0", 32, 34 }, { CK_Q8_1, "q8_1", "Q8_1", 32, 36 }, { CK_Q2_K, "q2_K", "Q2_K", 256, 84 },
        { CK_Q3_K, "q3_K", "Q3_K", 256, 110 }, { CK_Q4_K, "q4_K", "Q4_K", 256, 144 }, { CK_Q5_K, "q5_K", "q5_k", 256, 176 },
        { CK_Q6_K, "q6_K", "Q6_K", 256, 210 }, { CK_Q8_K, "q8_K", "Q8_K", 256, 292 }, { CK_IQ4_NL, "iq4_nl", "IQ4_NL", 32, 18 },
        { CK_BF16, "bf16", "BF16", 1, 2 }
    };
    static const int gguf_ids[] = { 0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 30 };
    static const int unknown[] = { 4, 5, 16, 17, 19, 21, 29, 31, 99, -1, 1000000 };
    int i, ok = 1;
    char what[160];
    for (i = 0; i < (int)(sizeof want / sizeof want[0]); i++) {
        int t = want[i].type;
        snprintf(what, sizeof what, "type table: %s", want[i].name);
        check(t == gguf_ids[i] && ck_type_name(t) && strcmp(ck_type_name(t), want[i].name) == 0 &&
              ck_type_from_name(want[i].name) == t && ck_type_from_name(want[i].upper) == t &&
              ck_type_block_size(t) == want[i].blck && ck_type_block_bytes(t) == (size_t)want[i].bytes &&
              ck_row_size(t, 3 * want[i].blck) == (size_t)(3 * want[i].bytes) && ck_row_size(t, 0) == 0 &&
              (want[i].blck == 1 || ck_row_size(t, want[i].blck + 1) == 0) && ck_row_size(t, -want[i].blck) == 0, what);
    }
    for (i = 0; i < (int)(sizeof unknown / sizeof unknown[0]); i++)
        ok &= ck_type_name(unknown[i]) == NULL && ck_type_block_size(unknown[i]) == 0 && ck_type_block_bytes(unknown[i]) == 0 &&
              ck_row_size(unknown[i], 256) == 0;
    check(ok, "type table: unknown ids (4, 5, 16, 17, 19, 21, 29, 31, 99, -1, 1e6) give NULL / 0");
    check(ck_type_from_name("q4_2") == -1 && ck_type_from_name("") == -1 && ck_type_from_name(NULL) == -1 &&
          ck_type_from_name("q4_k_m") == -1 && ck_type_from_name("q4") == -1 && ck_type_from_name("F32 ") == -1,
          "type table: unknown names give -1");
    {   /* sizes of the block structs match the table */
        size_t sz[] = { sizeof(ck_block_q4_0), sizeof(ck_block_q4_1), sizeof(ck_block_q5_0), sizeof(ck_block_q5_1),
                        sizeof(ck_block_q8_0), sizeof(ck_block_q8_1), sizeof(ck_block_q2_K), sizeof(ck_block_q3_K),
                        sizeof(ck_block_q4_K), sizeof(ck_block_q5_K), sizeof(ck_block_q6_K), sizeof(ck_block_q8_K),
                        sizeof(ck_block_iq4_nl) };
        int ty[] = { CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_Q8_0, CK_Q8_1, CK_Q2_K, CK_Q3_K, CK_Q4_K, CK_Q5_K, CK_Q6_K, CK_Q8_K, CK_IQ4_NL };
        ok = 1;
        for (i = 0; i < 13; i++) ok &= sz[i] == ck_type_block_bytes(ty[i]);
        check(ok, "type table: sizeof(ck_block_*) equals ck_type_block_bytes");
    }
    {
        float x[64];
        unsigned char buf[256];
        for (i = 0; i < 64; i++) x[i] = frand();
        check(ck_quantize_row(CK_Q4_0, x, buf, 48) == 0 && ck_quantize_row(99, x, buf, 32) == 0 && ck_quantize_row(CK_Q4_0, x, buf, 64) == 36 &&
              ck_quantize_row(CK_F16, x, buf, 3) == 6, "ck_quantize_row: bytes written, 0 for a bad type or length");
    { /* NaN and Inf: the block formats refuse the row (ggml's code is undefined there), F16 keeps them */
        static const int blocks[] = { CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_Q8_0, CK_Q8_1, CK_Q2_K, CK_Q3_K, CK_Q4_K, CK_Q5_K, CK_Q6_K, CK_Q8_K, CK_IQ4_NL };
        static float row[256];
        static unsigned char qb[512];
        size_t ti;
        int k, ok = 1;
        for (ti = 0; ti < sizeof blocks / sizeof *blocks; ti++)
            for (k = 0; k < 3; k++) {
                int j;
                for (j = 0; j < 256; j++) row[j] = (float)j / 256.0f - 0.5f;
                row[k * 100 + 3] = k == 0 ? NAN : k == 1 ? INFINITY : -INFINITY;
                memset(qb, 0xA5, sizeof qb);
                ok &= ck_quantize_row(blocks[ti], row, qb, 256) == 0 && qb[0] == 0xA5;
            }
        row[3] = NAN;
        ok &= ck_quantize_row(CK_F16, row, qb, 256) == 512 && ck_fp16_to_fp32(((uint16_t *)(void *)qb)[3]) != ck_fp16_to_fp32(((uint16_t *)(void *)qb)[3]);
        check(ok, "ck_quantize_row: a NaN/Inf row is refused by every block format (0, dst untouched); f16 keeps NaN");
    }
    }
}

/* ---- fp16 / bf16 ---------------------------------------------------------------------------- */

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static void test_fp16(void)
{
    uint32_t h;
    int ok_value = 1, ok_trip = 1, ok_nan = 1, ok_tie = 1, ok_near = 1;
    char what[160];
    for (h = 0; h < 65536; h++) {
        int e = (int)(h >> 10) & 31, m = (int)h & 1023, s = (int)(h >> 15);
        float f = ck_fp16_to_fp32((uint16_t)h);
        if (e == 31 && m) { /* NaN: stays NaN, quiet, sign kept; back to fp16 as sign|0x7E00 */
            ok_nan &= f != f && (f2u(f) & 0x00400000u) && (f2u(f) >> 31) == (uint32_t)s &&
                      ck_fp32_to_fp16(f) == (uint16_t)(s << 15 | 0x7e00);
            continue;
        }
        {   /* the value from its definition, in double */
            double v = e == 31 ? INFINITY : e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp((double)m, -24);
            if (s) v = -v;
            ok_value &= (double)f == v && (signbit(f) != 0) == (s != 0);
        }
        ok_trip &= ck_fp32_to_fp16(f) == (uint16_t)h;
        if (e < 31 && (h & 0x7fff) != 0x7bff) { /* the midpoint to the next half up (in magnitude) rounds to the even one */
            float lo = ck_fp16_to_fp32((uint16_t)h), hi = ck_fp16_to_fp32((uint16_t)(h + 1));
            float mid = (float)(((double)lo + (double)hi) / 2); /* 12 significant bits: exact in float */
            uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            ok_tie &= ck_fp32_to_fp16(mid) == even;
            /* one float ulp either side of the midpoint rounds to the nearer half */
            ok_near &= ck_fp32_to_fp16(u2f(f2u(mid) - 1)) == (uint16_t)h && ck_fp32_to_fp16(u2f(f2u(mid) + 1)) == (uint16_t)(h + 1);
        }
    }
    check(ok_value, "fp16 -> fp32: all 65536 halves equal their definition (normal, subnormal, zero, inf)");
    check(ok_trip, "fp16 -> fp32 -> fp16 round trip exact for every non-NaN half");
    check(ok_nan, "fp16 NaN: quiet, sign kept, back to sign|0x7E00");
    check(ok_tie, "fp32 -> fp16: every midpoint between adjacent halves rounds to even (subnormals included)");
    check(ok_near, "fp32 -> fp16: one ulp off a midpoint rounds to the nearer half");
    check(ck_fp32_to_fp16(65504.0f) == 0x7bff && ck_fp32_to_fp16(65519.99f) == 0x7bff && ck_fp32_to_fp16(65520.0f) == 0x7c00 &&
          ck_fp32_to_fp16(-65520.0f) == 0xfc00 && ck_fp32_to_fp16(1e10f) == 0x7c00 && ck_fp32_to_fp16(INFINITY) == 0x7c00 &&
          ck_fp32_to_fp16(-INFINITY) == 0xfc00 && ck_fp32_to_fp16(-0.0f) == 0x8000 && ck_fp32_to_fp16(0.0f) == 0 &&
          ck_fp32_to_fp16(ldexpf(1.0f, -25)) == 0 && ck_fp32_to_fp16(ldexpf(1.5f, -25)) == 1 &&
          ck_fp32_to_fp16(-ldexpf(1.0f, -26)) == 0x8000 && ck_fp32_to_fp16(u2f(0x00000001u)) == 0 &&
          ck_fp32_to_fp16(ldexpf(1023.5f, -24)) == 0x400 && ck_fp32_to_fp16(1.0f + ldexpf(1.0f, -11)) == 0x3c00 &&
          ck_fp32_to_fp16(1.0f + ldexpf(3.0f, -11)) == 0x3c02 && ck_fp32_to_fp16(u2f(0x7fc00000u)) == 0x7e00 &&
          ck_fp32_to_fp16(u2f(0xff800001u)) == 0xfe00, "fp32 -> fp16: overflow, inf, signed zero, subnormal ties, NaN");
#if CK_HAVE_AVX2 && defined(__F16C__)
    {   /* random bit patterns against the hardware (F16C rounds to nearest even); NaN payloads differ by design */
        int i, ok = 1;
        for (i = 0; i < 4000000; i++) {
            uint32_t u = rnd_u32();
            float f = u2f(i & 1 ? u : (u & 0x87ffffffu) | 0x30000000u); /* half the draws in the fp16 range */
            if (f == f) ok &= ck_fp32_to_fp16(f) == _cvtss_sh(f, 0);
        }
        snprintf(what, sizeof what, "fp32 -> fp16 equals F16C on 4M random non-NaN floats");
        check(ok, what);
    }
#else
    (void)what;
#endif
}

static void test_bf16(void)
{
    uint32_t h;
    int ok_trip = 1, ok_tie = 1;
    for (h = 0; h < 65536; h++) {
        float f = ck_bf16_to_fp32((uint16_t)h);
        int nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        ok_trip &= f2u(f) == h << 16;
        if (!nan) ok_trip &= ck_fp32_to_bf16(f) == (uint16_t)h;
        else ok_trip &= ck_fp32_to_bf16(f) == (uint16_t)(h | 0x40);
        if ((h & 0x7f80) != 0x7f80) { /* ties (exactly half an ulp) go to even; anything above rounds up */
            uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            ok_tie &= ck_fp32_to_bf16(u2f(h << 16 | 0x8000u)) == even && ck_fp32_to_bf16(u2f(h << 16 | 0x8001u)) == (uint16_t)(h + 1) &&
                      ck_fp32_to_bf16(u2f(h << 16 | 0x7fffu)) == (uint16_t)h;
        }
    }
    check(ok_trip, "bf16: all 65536 values to fp32 and back (NaN made quiet)");
    check(ok_tie, "bf16: round to nearest even on ties, up above, down below");
    check(ck_fp32_to_bf16(u2f(0x7f800001u)) == 0x7fc0 && ck_fp32_to_bf16(u2f(0xff800001u)) == 0xffc0 &&
          ck_fp32_to_bf16(u2f(0x7f7fffffu)) == 0x7f80 && ck_fp32_to_bf16(-0.0f) == 0x8000,
          "bf16: signalling NaN made quiet, FLT_MAX rounds to inf, -0");
}

/* ---- a decoder written from the layout comments ---------------------------------------------
   Reads raw bytes at their offsets (not through the structs). The float expressions are the
   contract (ggml's): (d * sc) * q - (dmin * m), each operation rounded to float. */

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static float h2f(const unsigned char *p) { return ck_fp16_to_fp32(le16(p)); }

static void spec_dequant_block(int type, const unsigned char *b, float *y)
{
    int i;
    volatile float t; /* forces each product to be rounded to float on its own */
    switch (type) {
    case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: {
        int has_m = type == CK_Q4_1 || type == CK_Q5_1, has_h = type == CK_Q5_0 || type == CK_Q5_1;
        float d = h2f(b), m = has_m ? h2f(b + 2) : 0.0f;
        const unsigned char *qh = b + (has_m ? 4 : 2), *qs = qh + (has_h ? 4 : 0);
        for (i = 0; i < 32; i++) {
            int q = (qs[i % 16] >> (i < 16 ? 0 : 4)) & 15;
            if (has_h) q |= ((qh[i / 8] >> (i % 8)) & 1) << 4;
            if (has_m) { t = (float)q * d; y[i] = t + m; }
            else y[i] = (float)(q - (type == CK_Q4_0 ? 8 : 16)) * d;
        }
        break;
    }
    case CK_Q8_0: case CK_Q8_1:
        for (i = 0; i < 32; i++) y[i] = (float)(signed char)b[(type == CK_Q8_0 ? 2 : 4) + i] * h2f(b);
        break;
    case CK_IQ4_NL: { /* d 0, qs 2..17: nibbles as Q4_0, indices into the 16 levels */
        static const int levels[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
        for (i = 0; i < 32; i++) y[i] = h2f(b) * (float)levels[(b[2 + i % 16] >> (i < 16 ? 0 : 4)) & 15];
        break;
    }
    case CK_Q2_K: { /* scales 0..15, qs 16..79, d 80, dmin 82 */
        float d = h2f(b + 80), dmin = h2f(b + 82);
        for (i = 0; i < 256; i++) {
            int sc = b[i / 16], q = (b[16 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
            float dl = d * (float)(sc & 15), ml = dmin * (float)(sc >> 4);
            t = dl * (float)q;
            y[i] = t - ml;
        }
        break;
    }
    case CK_Q3_K: { /* hmask 0..31, qs 32..95, scales 96..107, d 108 */
        float d = h2f(b + 108);
        for (i = 0; i < 256; i++) {
            int j = i / 16, lo = j < 8 ? b[96 + j] & 15 : b[96 + j - 8] >> 4, hi = (b[96 + 8 + j % 4] >> (2 * (j / 4))) & 3;
            int q = ((b[32 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3) | ((b[i % 32] >> (i / 32)) & 1) << 2;
            y[i] = d * (float)((lo | hi << 4) - 32) * (float)(q - 4);
        }
        break;
    }
    case CK_Q4_K: case CK_Q5_K: { /* d 0, dmin 2, scales 4..15, [qh 16..47], qs */
        float d = h2f(b), dmin = h2f(b + 2);
        const unsigned char *s = b + 4, *qh = b + 16, *qs = b + (type == CK_Q5_K ? 48 : 16);
        for (i = 0; i < 256; i++) {
            int j = i / 32, sc, m, q;
            if (j < 4) { sc = s[j] & 63; m = s[j + 4] & 63; }
            else { sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4; m = (s[j + 4] >> 4) | (s[j] >> 6) << 4; }
            q = (qs[32 * (i / 64) + i % 32] >> (i % 64 < 32 ? 0 : 4)) & 15;
            if (type == CK_Q5_K) q |= ((qh[i % 32] >> (2 * (i / 64) + (i % 64 >= 32))) & 1) << 4;
            t = d * (float)sc * (float)q;
            y[i] = t - dmin * (float)m;
        }
        break;
    }
    case CK_Q6_K: { /* ql 0..127, qh 128..191, scales 192..207, d 208 */
        float d = h2f(b + 208);
        for (i = 0; i < 256; i++) {
            int h = i / 128, k = (i % 128) / 32, l = i % 32;
            int q = ((b[64 * h + (k & 1 ? 32 : 0) + l] >> (k >= 2 ? 4 : 0)) & 15) | ((b[128 + 32 * h + l] >> (2 * k)) & 3) << 4;
            y[i] = d * (float)(signed char)b[192 + i / 16] * (float)(q - 32);
        }
        break;
    }
    case CK_Q8_K: { /* d (fp32) 0..3, qs 4..259, bsums 260..291 */
        float d;
        memcpy(&d, b, 4);
        for (i = 0; i < 256; i++) y[i] = (float)(signed char)b[4 + i] * d;
        break;
    }
    case CK_F16: y[0] = h2f(b); break;
    case CK_BF16: y[0] = u2f((uint32_t)le16(b) << 16); break;
    case CK_F32: memcpy(y, b, 4); break;
    }
}

/* random block bytes, with every fp16 scale field finite (normal or subnormal) */
static void random_block(int type, unsigned char *b)
{
    int nbytes = (int)ck_type_block_bytes(type), i;
    static const int q4_0[] = { 0, -1 }, q4_1[] = { 0, 2, -1 }, q5_0[] = { 0, -1 }, q5_1[] = { 0, 2, -1 }, q8_0[] = { 0, -1 },
                     q8_1[] = { 0, 2, -1 }, q2_K[] = { 80, 82, -1 }, q3_K[] = { 108, -1 }, q4_K[] = { 0, 2, -1 },
                     q5_K[] = { 0, 2, -1 }, q6_K[] = { 208, -1 }, none[] = { -1 };
    const int *half = none;
    for (i = 0; i < nbytes; i++) b[i] = (unsigned char)rnd_u32();
    switch (type) {
    case CK_Q4_0: half = q4_0; break; case CK_Q4_1: half = q4_1; break; case CK_Q5_0: half = q5_0; break;
    case CK_Q5_1: half = q5_1; break; case CK_Q8_0: half = q8_0; break; case CK_Q8_1: half = q8_1; break;
    case CK_Q2_K: half = q2_K; break; case CK_Q3_K: half = q3_K; break; case CK_Q4_K: half = q4_K; break;
    case CK_Q5_K: half = q5_K; break; case CK_Q6_K: half = q6_K; break; case CK_IQ4_NL: half = q4_0; break;
    case CK_Q8_K: { float d = grand() * 0.01f; memcpy(b, &d, 4); break; }
    case CK_F16: if ((b[1] & 0x7c) == 0x7c) b[1] &= 0xbf; break;
    case CK_BF16: if ((b[1] & 0x7f) == 0x7f && (b[0] & 0x80)) b[1] &= 0xbf; break;
    case CK_F32: { float f = grand(); memcpy(b, &f, 4); break; }
    }
    for (i = 0; half[i] >= 0; i++) {
        uint16_t h = (uint16_t)(rnd_u32() & 0xbfff);           /* exponent < 31: finite */
        if (rnd_u32() % 4 == 0) h = (uint16_t)(h & 0x83ff);    /* a quarter of them subnormal */
        b[half[i]] = (unsigned char)h;
        b[half[i] + 1] = (unsigned char)(h >> 8);
    }
}

/* whether ck_dequantize_row has a SIMD path for type in this build (it writes n values to scratch) */
static int dequant_has_simd(int type, const void *src, float *scratch, int n)
{
#if CK_HAVE_AVX2
    return ck__dequant_avx2(type, src, scratch, n);
#elif CK_HAVE_NEON
    return ck__dequant_neon(type, src, scratch, n);
#else
    (void)type; (void)src; (void)scratch; (void)n;
    return 0;
#endif
}

static void test_dequant_layout(void)
{
    enum { NB = 64 };
    int ti;
    for (ti = 0; ti < N_ALL_TYPES; ti++) {
        int type = all_types[ti], blck = (int)ck_type_block_size(type), nbytes = (int)ck_type_block_bytes(type), b;
        int n = NB * (blck == 1 ? 32 : blck), nblocks = n / blck;
        unsigned char *src = (unsigned char *)malloc((size_t)nblocks * nbytes);
        float *want = (float *)malloc((size_t)n * sizeof(float)), *got = (float *)malloc((size_t)n * sizeof(float));
        float *got_scalar = (float *)malloc((size_t)n * sizeof(float));
        char what[160];
        for (b = 0; b < nblocks; b++) {
            random_block(type, src + (size_t)b * nbytes);
            spec_dequant_block(type, src + (size_t)b * nbytes, want + (size_t)b * blck);
        }
        ck_dequantize_row(type, src, got, n);
        ck_dequantize_row_scalar(type, src, got_scalar, n);
        snprintf(what, sizeof what, "dequantize %s: bit-identical to the layout decoder (%d values, random bytes)", ck_type_name(type), n);
        check(memcmp(got_scalar, want, (size_t)n * sizeof(float)) == 0, what);
        snprintf(what, sizeof what, "dequantize %s: %s path bit-identical to the scalar path", ck_type_name(type), ck_simd_name());
        if (dequant_has_simd(type, src, got, n)) {
            check(memcmp(got, got_scalar, (size_t)n * sizeof(float)) == 0, what);
            n_simd_cmp++;
        } else {
            printf("  dequantize %s, SIMD vs scalar: not applicable (no %s path for it)\n", ck_type_name(type), ck_simd_name());
            n_simd_na++;
        }
        free(src); free(want); free(got); free(got_scalar);
    }
}

/* ---- quantization ----------------------------------------------------------------------------- */

static void test_known_answers(void)
{
    float x[32];
    ck_block_q8_0 q8;
    ck_block_q4_0 q4;
    int j, ok8 = 1, ok4 = 1;
    for (j = 0; j < 32; j++) x[j] = (float)(j - 16); /* -16 .. 15 */
    /* Q8_0: d = 16/127 -> fp16 0x3008; q = roundf(x * 127/16), halves away from zero (x = -8: -63.5 -> -64) */
    ck_quantize_row(CK_Q8_0, x, &q8, 32);
    for (j = 0; j < 32; j++) {
        double v = (j - 16) * 7.9375, r = v < 0 ? -floor(-v + 0.5) : floor(v + 0.5);
        ok8 &= q8.qs[j] == (int)r;
    }
    check(ok8 && q8.d == 0x3008 && q8.qs[8] == -64 && q8.qs[0] == -127, "Q8_0 known answer: x = j - 16");
    /* Q4_0: max = -16 (first of largest magnitude) -> d = 2 (fp16 0x4000), q = trunc(x/2 + 8.5) clamped to 15 */
    ck_quantize_row(CK_Q4_0, x, &q4, 32);
    for (j = 0; j < 16; j++) {
        int q0 = (j + 1) / 2, q1 = CK_MIN(15, (j + 16 + 1) / 2);
        ok4 &= q4.qs[j] == (q0 | q1 << 4);
    }
    check(ok4 && q4.d == 0x4000, "Q4_0 known answer: x = j - 16");
    /* the sign of d follows the first value of largest magnitude: +16 first gives d = -2 */
    x[0] = 16.0f;
    x[31] = -16.0f;
    ck_quantize_row(CK_Q4_0, x, &q4, 32);
    check(q4.d == 0xc000 && (q4.qs[0] & 15) == 0 && (q4.qs[15] >> 4) == 15, "Q4_0: d takes the sign of the first largest value");
}

/* Codes and an fp16 scale -> values -> the reference quantizer gives back the same bytes, for the
   formats whose quantizer recovers d exactly from the extreme code (Q8_0: +-127; Q4_0 / Q5_0:
   the most negative code). */
static void test_fixed_points(void)
{
    static const int types[] = { CK_Q8_0, CK_Q8_1, CK_Q4_0, CK_Q5_0 };
    int ti, it;
    for (ti = 0; ti < 4; ti++) {
        int type = types[ti], ok = 1, nbytes = (int)ck_type_block_bytes(type);
        char what[128];
        for (it = 0; it < 2000; it++) {
            unsigned char blk[36], back[36];
            float x[32];
            int j;
            uint16_t d = (uint16_t)(0x0400 + rnd_u32() % (0x7000 - 0x0400)); /* normal, positive: |x| stays finite */
            memset(blk, 0, sizeof blk);
            if (type == CK_Q8_0 || type == CK_Q8_1) {
                int8_t *qs = (int8_t *)(blk + (type == CK_Q8_0 ? 2 : 4));
                for (j = 0; j < 32; j++) qs[j] = (int8_t)((int)(rnd_u32() % 255) - 127);
                qs[rnd_u32() % 32] = (int8_t)(rnd_u32() & 1 ? 127 : -127);
                blk[0] = (unsigned char)d; blk[1] = (unsigned char)(d >> 8);
                if (type == CK_Q8_1) { /* s = fp16(sum * d) */
                    int sum = 0;
                    uint16_t s;
                    for (j = 0; j < 32; j++) sum += qs[j];
                    s = ck_fp32_to_fp16((float)sum * ck_fp16_to_fp32(d));
                    blk[2] = (unsigned char)s; blk[3] = (unsigned char)(s >> 8);
                }
            } else {
                int five = type == CK_Q5_0, lo = five ? 16 : 8;
                uint32_t qh = 0;
                int q[32];
                if (rnd_u32() & 1) d |= 0x8000; /* either sign: d = max / -lo with max = -lo * d */
                for (j = 0; j < 32; j++) q[j] = (int)(rnd_u32() % (uint32_t)(2 * lo));
                q[rnd_u32() % 32] = 0; /* the extreme code: the value of largest magnitude */
                blk[0] = (unsigned char)d; blk[1] = (unsigned char)(d >> 8);
                for (j = 0; j < 16; j++) blk[(five ? 6 : 2) + j] = (unsigned char)((q[j] & 15) | (q[j + 16] & 15) << 4);
                for (j = 0; j < 32; j++) qh |= (uint32_t)(q[j] >> 4) << j;
                if (five) { blk[2] = (unsigned char)qh; blk[3] = (unsigned char)(qh >> 8); blk[4] = (unsigned char)(qh >> 16); blk[5] = (unsigned char)(qh >> 24); }
            }
            ck_dequantize_row(type, blk, x, 32);
            ck_quantize_row(type, x, back, 32);
            ok &= memcmp(blk, back, (size_t)nbytes) == 0;
        }
        snprintf(what, sizeof what, "%s: quantize(dequantize(q)) == q on 2000 random blocks", ck_type_name(type));
        check(ok, what);
    }
}

/* Documented error bound: |x - dequant(quant(x))| <= rel * amax + floor per block, amax the
   block's largest |x|. rel comes from the format (half a step, and a whole step where the
   reference clamps: Q4_0 / Q5_0 map +amax to q = 15 / 31, one step short; half an ulp for
   f16 / bf16); the K-quants' rel is the worst seen over 36000 blocks of these distributions
   (q2_K .433, q3_K .276, q4_K .122, q5_K .066, q6_K .028) plus about 15%: their scales are
   searched by ggml's make_qkx2 / make_qx, which trade a clamped outlier for a finer step, so
   no closed form bounds them. floor covers fp16 scales that are subnormal or zero: blocks whose amax is below
   ~1e-4 lose relative precision in every ggml format. */
static const struct { int type; double rel, floor; } qbounds[] = {
    { CK_F16, 4.9e-4, 3.0e-8 }, { CK_BF16, 3.91e-3, 1e-38 }, { CK_F32, 0, 0 },
    { CK_Q8_0, 0.0045, 4e-6 }, { CK_Q8_1, 0.0045, 4e-6 }, { CK_Q4_0, 0.126, 3e-7 }, { CK_Q5_0, 0.0632, 6e-7 },
    { CK_Q4_1, 0.0685, 6e-7 }, { CK_Q5_1, 0.0340, 1e-6 }, { CK_Q8_K, 0.0040, 0 },
    { CK_Q2_K, 0.50, 3e-6 }, { CK_Q3_K, 0.32, 5e-6 }, { CK_Q4_K, 0.14, 4e-5 }, { CK_Q5_K, 0.075, 7e-5 }, { CK_Q6_K, 0.032, 1.5e-4 },
    { CK_IQ4_NL, 0.12, 4e-6 }  /* floor: level 127 times half an fp16 subnormal step (2^-25) */
};

static void fill_block(float *x, int n, int kind)
{
    int i;
    switch (kind) {
    case 0: for (i = 0; i < n; i++) x[i] = grand(); break;                                    /* N(0,1) */
    case 1: for (i = 0; i < n; i++) x[i] = frand(); break;                                    /* uniform */
    case 2: for (i = 0; i < n; i++) x[i] = grand(); x[rnd_u32() % n] *= 30.0f; break;         /* one outlier */
    case 3: for (i = 0; i < n; i++) x[i] = 1.0f + 0.5f * (frand() + 1.0f); break;            /* all positive */
    case 4: for (i = 0; i < n; i++) x[i] = -3.0f; break;                                      /* constant */
    case 5: for (i = 0; i < n; i++) x[i] = 0.0f; break;                                       /* zero */
    case 6: for (i = 0; i < n; i++) x[i] = -0.0f; break;                                      /* negative zero */
    case 7: for (i = 0; i < n; i++) x[i] = 0.0f; x[rnd_u32() % n] = grand(); break;           /* one spike */
    case 8: for (i = 0; i < n; i++) x[i] = grand() * 2e-6f; break;                            /* subnormal fp16 scales */
    case 9: for (i = 0; i < n; i++) x[i] = grand() * 1000.0f; break;                          /* large */
    case 10: for (i = 0; i < n; i++) x[i] = (i & 1) ? 1.0f : -1.0f; break;                    /* +-amax */
    default: for (i = 0; i < n; i++) x[i] = grand() * (float)exp(3.0 * frand()); break;      /* mixed magnitudes */
    }
}

static void test_quant_error(void)
{
    enum { KINDS = 12, REPS = 40 };
    int bi;
    for (bi = 0; bi < (int)(sizeof qbounds / sizeof qbounds[0]); bi++) {
        int type = qbounds[bi].type, blk = (int)(ck_type_block_size(type) == 1 ? 256 : ck_type_block_size(type));
        int kind, rep, i, ok = 1, ok_zero = 1;
        double worst = 0;
        unsigned char q[300 * 4];
        float x[256], y[256];
        char what[200];
        for (kind = 0; kind < KINDS; kind++)
            for (rep = 0; rep < REPS; rep++) {
                double amax = 0, err = 0;
                fill_block(x, blk, kind);
                if (ck_quantize_row(type, x, q, blk) != ck_row_size(type, blk)) { ok = 0; continue; }
                ck_dequantize_row(type, q, y, blk);
                for (i = 0; i < blk; i++) {
                    amax = fmax(amax, fabs(x[i]));
                    err = fmax(err, fabs((double)x[i] - y[i]));
                }
                if (amax > 1e-3 && err / amax > worst) worst = err / amax;
                if (!(err <= qbounds[bi].rel * amax + qbounds[bi].floor)) {
                    if (ok) printf("  %s kind %d: max error %.3g, amax %.3g\n", ck_type_name(type), kind, err, amax);
                    ok = 0;
                }
                if (kind == 5 || kind == 6)
                    for (i = 0; i < blk; i++) ok_zero &= y[i] == 0.0f;
            }
        printf("  %-5s quantize -> dequantize: worst error %.4f * amax (bound %.3g * amax + %.0e)\n", ck_type_name(type), worst,
               qbounds[bi].rel, qbounds[bi].floor);
        snprintf(what, sizeof what, "%s: quantize -> dequantize error <= %.3g * amax + %.0e over %d blocks (worst seen %.4f * amax)",
                 ck_type_name(type), qbounds[bi].rel, qbounds[bi].floor, KINDS * REPS, worst);
        check(ok, what);
        snprintf(what, sizeof what, "%s: zero and -0.0 blocks dequantize to 0", ck_type_name(type));
        check(ok_zero, what);
    }
}

/* ---- quantized matmul ------------------------------------------------------------------------ */

/* ||a - b|| / max(||b||, floor). With one to a few outputs ||b|| can be tiny by cancellation;
   floor is the root-sum-square of all the products w*x and biases that make the outputs, the
   norm the outputs have on average. */
static double rel_err(const float *a, const double *b, size_t n, double floor)
{
    double num = 0, den = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    if (num != num) return INFINITY;
    return sqrt(num) / fmax(fmax(sqrt(den), floor), 1e-30);
}
static double rel_errf(const float *a, const float *b, size_t n, double floor)
{
    double num = 0, den = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    if (num != num) return INFINITY;
    return sqrt(num) / fmax(fmax(sqrt(den), floor), 1e-30);
}

/* The activations as the fast path sees them: the blocks of ck_quantize_act_row_scalar (checked
   byte for byte against a numpy port of ggml's quantizers in tests/test_quant.py, and against the
   SIMD quantizer in test_act_blocks), dequantized in double (Q8_K's fp32 d times an int8 is not
   always a float). *act gets the blocks (Q8_1: their d and s are needed for the min term). F16 and
   BF16 weights: the values rounded to the weight's type. Types without a fast kernel (F32, Q8_1):
   the floats themselves (the fast path is the exact one). */
static void fast_activations(int type, const float *x, double *xq, unsigned char *act, int n)
{
    int i, j, at = ck_quantize_act_row_scalar(type, x, act, n);
    if (at < 0) {
        for (i = 0; i < n; i++) xq[i] = x[i];
        return;
    }
    if (at == CK_F16 || at == CK_BF16) {
        const uint16_t *h = (const uint16_t *)(const void *)act;
        for (i = 0; i < n; i++) xq[i] = at == CK_F16 ? ck_fp16_to_fp32(h[i]) : ck_bf16_to_fp32(h[i]);
        return;
    }
    for (i = 0; i < n; i += (int)ck_type_block_size(at)) {
        const unsigned char *b = act + (size_t)(i / ck_type_block_size(at)) * ck_type_block_bytes(at);
        if (at == CK_Q8_K) {
            float d;
            memcpy(&d, b, 4);
            for (j = 0; j < 256; j++) xq[i + j] = (double)d * (signed char)b[4 + j];
        } else {
            for (j = 0; j < 32; j++) xq[i + j] = (double)h2f(b) * (signed char)b[(at == CK_Q8_0 ? 2 : 4) + j];
        }
    }
}

/* Q4_1 / Q5_1 against Q8_1 (ggml's formula): sum_j (d q_j + m)(da a_j) with the min term taken as
   m * s, s = fp16(da * sum_j a_j) stored in the block, not m * da * sum_j a_j: the difference,
   summed over the blocks of one weight row and one activation row */
static double min_term_correction(int type, const unsigned char *wrow, const unsigned char *act, int C)
{
    double corr = 0;
    int b, j;
    if (type != CK_Q4_1 && type != CK_Q5_1) return 0;
    for (b = 0; b < C / 32; b++) {
        const unsigned char *w = wrow + (size_t)b * ck_type_block_bytes(type), *a = act + (size_t)b * sizeof(ck_block_q8_1);
        double suma = 0;
        for (j = 0; j < 32; j++) suma += (signed char)a[4 + j];
        corr += (double)h2f(w + 2) * ((double)h2f(a + 2) - (double)h2f(a) * suma);
    }
    return corr;
}

/* ck_quantize_act_row: the block type per weight type (ggml's vec_dot_type), bad lengths, and
   the SIMD quantizer's bytes equal to the scalar one's on random rows and edge cases: zeros,
   -0.0, one huge value, exact .5 ties, values whose d overflows or underflows fp16, subnormals,
   amax below 127/FLT_MAX (id = inf), an odd number of blocks, a source 4 bytes off alignment. */
static void test_act_blocks(void)
{
    static const struct { int type, act; } want[] = {
        { CK_Q4_0, CK_Q8_0 }, { CK_Q5_0, CK_Q8_0 }, { CK_Q8_0, CK_Q8_0 }, { CK_IQ4_NL, CK_Q8_0 }, { CK_Q4_1, CK_Q8_1 },
        { CK_Q5_1, CK_Q8_1 }, { CK_Q2_K, CK_Q8_K }, { CK_Q3_K, CK_Q8_K }, { CK_Q4_K, CK_Q8_K }, { CK_Q5_K, CK_Q8_K },
        { CK_Q6_K, CK_Q8_K }, { CK_F16, CK_F16 }, { CK_BF16, CK_BF16 }, { CK_F32, -1 }, { CK_Q8_1, -1 }, { CK_Q8_K, -1 }, { 99, -1 }
    };
    enum { N = 768 + 1 };
    static float xbuf[N];
    static unsigned char a_simd[2000], a_scalar[2000];
    float *x = xbuf + 1; /* 4 bytes off the array's alignment */
    int i, k, kind, ok_types = 1, ok_bytes = 1, cases = 0;
    char what[200];
    for (i = 0; i < (int)(sizeof want / sizeof want[0]); i++) {
        int blk = (int)ck_type_block_size(want[i].act < 0 ? CK_Q8_0 : want[i].act);
        ok_types &= ck_quantize_act_row(want[i].type, x, a_simd, 2 * blk) == want[i].act;
        ok_types &= ck_quantize_act_row_scalar(want[i].type, x, a_simd, 2 * blk) == want[i].act;
        if (want[i].act >= 0 && blk > 1) ok_types &= ck_quantize_act_row(want[i].type, x, a_simd, blk + 16) == -1;
    }
    check(ok_types, "ck_quantize_act_row: Q8_0 for q4_0 q5_0 q8_0 iq4_nl, Q8_1 for q4_1 q5_1, Q8_K for the K-quants, F16 and BF16 for themselves, -1 otherwise");
    for (kind = 0; kind < 12; kind++)
        for (k = 0; k < 5; k++) { /* k: the activation format (via a weight type that uses it) */
            static const int wt[5] = { CK_Q8_0, CK_Q4_1, CK_Q4_K, CK_F16, CK_BF16 };
            int n = k == 2 ? 768 : k >= 3 ? 101 : 96, at; /* F16, BF16: 8-value steps and a tail */
            size_t bytes;
            int act = ck__traits(wt[k])->act;
            if (ck__act_quantizer(act, 1) == ck__act_quantizer(act, 0)) { /* no SIMD quantizer for this format here */
                if (kind == 0) {
                    printf("  %s activation blocks, SIMD vs scalar: not applicable (no %s quantizer for them)\n", ck_type_name(act), ck_simd_name());
                    n_simd_na++;
                }
                continue;
            }
            for (i = 0; i < n; i++) {
                switch (kind) {
                case 0: x[i] = grand(); break;
                case 1: x[i] = 0.0f; break;
                case 2: x[i] = -0.0f; break;
                case 3: x[i] = i % 37 == 5 ? 3e4f : grand(); break;                          /* one huge value per block */
                case 4: x[i] = (float)((int)(rnd_u32() % 253) - 126) + 0.5f; if (i % 32 == 3) x[i] = 127.0f; break; /* ties */
                case 5: x[i] = (float)((int)(rnd_u32() % 253) - 126) + 0.5f; if (i % 32 == 3) x[i] = -127.0f; break;
                case 6: x[i] = grand() * 1e7f; break;                                        /* d = amax/127 > 65504: fp16 inf */
                case 7: x[i] = grand() * 1e-6f; break;                                       /* d an fp16 subnormal */
                case 8: x[i] = grand() * 1e-12f; break;                                      /* d rounds to 0 in fp16 */
                case 9: x[i] = grand() * 1e-39f; break;                                      /* float subnormals: id = inf */
                case 10: x[i] = i % 2 ? 1e-45f : -1e-45f; break;                             /* the smallest subnormal */
                default: x[i] = grand() * (float)exp(6.0 * frand()); break;
                }
            }
            at = ck_quantize_act_row(wt[k], x, a_simd, n);
            ck_quantize_act_row_scalar(wt[k], x, a_scalar, n);
            bytes = ck_row_size(at, n);
            if (memcmp(a_simd, a_scalar, bytes) != 0) {
                if (ok_bytes) printf("  %s activation blocks, input kind %d: SIMD and scalar bytes differ\n", ck_type_name(at), kind);
                ok_bytes = 0;
            }
            cases++;
        }
    if (cases == 0) return;
    snprintf(what, sizeof what, "activation blocks: %s bytes identical to the scalar quantizer's (%d rows, 12 input kinds)",
             ck_simd_name(), cases);
    check(ok_bytes, what);
    n_simd_cmp++;
}

static double worst_exact, worst_fast, worst_simd_exact, worst_simd_fast;

/* whether this build has a SIMD path (kernel, activation quantizer or tile kernel) for the fast
   matmul of type, and for the exact one (F32 weights: the fp32 matmul on both) */
static int fast_has_simd(int type)
{
    const ck__type_traits *t = ck__traits(type);
    if (type == CK_F32) return CK_HAVE_AVX2 || CK_HAVE_MVE || CK_HAVE_NEON;
    if (!t || t->act < 0) return CK_HAVE_AVX2; /* the exact path serves it */
    return ck__qdot_kernel(type, 1) != ck__qdot_kernel(type, 0) || ck__act_quantizer(t->act, 1) != ck__act_quantizer(t->act, 0) ||
           ck__qtile_kernel(type, 1) != NULL;
}
static int exact_has_simd(int type) { return type == CK_F32 ? CK_HAVE_AVX2 || CK_HAVE_MVE || CK_HAVE_NEON : CK_HAVE_AVX2; }
static double fve_num[31], fve_den[31]; /* fast vs exact, summed over all shapes of a type */

static void test_qmatmul(int type, int T, int C, int OC, int with_bias)
{
    size_t nw = (size_t)OC * C, no = (size_t)T * OC, wbytes = (size_t)OC * ck_row_size(type, C), rb = ck_row_size(type, C);
    size_t abytes = (size_t)C / 32 * sizeof(ck_block_q8_1) + (size_t)C / 256 * sizeof(ck_block_q8_K); /* room for any activation row */
    float *inp = (float *)malloc((size_t)T * C * sizeof(float));
    double *xq = (double *)malloc((size_t)T * C * sizeof(double));
    unsigned char *act = (unsigned char *)malloc((size_t)T * abytes);
    float *w = (float *)malloc(nw * sizeof(float)), *wd = (float *)malloc(nw * sizeof(float));
    float *bias = with_bias ? (float *)malloc((size_t)OC * sizeof(float)) : NULL;
    float *o_es = (float *)malloc(no * sizeof(float)), *o_fs = (float *)malloc(no * sizeof(float));
    float *o_e = (float *)malloc(no * sizeof(float)), *o_f = (float *)malloc(no * sizeof(float));
    double *ref_e = (double *)malloc(no * sizeof(double)), *ref_f = (double *)malloc(no * sizeof(double));
    unsigned char *wq = (unsigned char *)malloc(wbytes);
    size_t i;
    int t, o, c;
    double e, rss = 0;
    char what[200];
    for (i = 0; i < (size_t)T * C; i++) inp[i] = grand();
    for (i = 0; i < nw; i++) w[i] = grand() / (float)sqrt((double)C);
    for (o = 0; o < OC && bias; o++) bias[o] = grand();
    for (o = 0; o < OC; o++) ck_quantize_row(type, w + (size_t)o * C, wq + (size_t)o * rb, C);
    ck_dequantize_row(type, wq, wd, (int64_t)nw); /* rows are contiguous: one long row */
    for (t = 0; t < T; t++) fast_activations(type, inp + (size_t)t * C, xq + (size_t)t * C, act + (size_t)t * abytes, C);
    for (t = 0; t < T; t++)
        for (o = 0; o < OC; o++) {
            double se = bias ? bias[o] : 0, sf = se;
            for (c = 0; c < C; c++) {
                double p = (double)wd[(size_t)o * C + c] * inp[(size_t)t * C + c];
                se += p;
                sf += (double)wd[(size_t)o * C + c] * xq[(size_t)t * C + c];
                rss += p * p;
            }
            if (bias) rss += (double)bias[o] * bias[o];
            ref_e[(size_t)t * OC + o] = se;
            ref_f[(size_t)t * OC + o] = sf + min_term_correction(type, wq + (size_t)o * rb, act + (size_t)t * abytes, C);
        }
    ck_matmul_forward_qp_scalar(CK_Q_EXACT, type, o_es, inp, wq, bias, T, C, OC);
    ck_matmul_forward_qp_scalar(CK_Q_FAST, type, o_fs, inp, wq, bias, T, C, OC);
    ck_matmul_forward_qp(CK_Q_EXACT, type, o_e, inp, wq, bias, T, C, OC);
    ck_matmul_forward_qp(CK_Q_FAST, type, o_f, inp, wq, bias, T, C, OC);

#define QCHECK(val, tol, worst, fmt)                                                                         \
    e = (val); if (e > worst) worst = e;                                                                       \
    snprintf(what, sizeof what, fmt " %s T=%d C=%d OC=%d bias=%d: relative error %.3g >= %.3g", ck_type_name(type), T, C, OC, with_bias, e, tol); \
    check(e < (tol), what)
    rss = sqrt(rss);
    QCHECK(rel_err(o_es, ref_e, no, rss), 1e-5, worst_exact, "matmul_q exact (scalar) vs fp64 on dequantized weights");
    QCHECK(rel_err(o_fs, ref_f, no, rss), 1e-5, worst_fast, "matmul_q fast (scalar) vs fp64 on dequantized weights and activations");
    /* where this build has no SIMD path, ck_matmul_forward_qp runs the scalar code: nothing to compare */
    if (exact_has_simd(type)) {
        QCHECK(rel_errf(o_e, o_es, no, rss), 1e-5, worst_simd_exact, "matmul_q exact: SIMD vs scalar");
        n_simd_cmp++;
    } else n_simd_na++;
    if (fast_has_simd(type)) {
        QCHECK(rel_errf(o_f, o_fs, no, rss), 1e-5, worst_simd_fast, "matmul_q fast: SIMD vs scalar");
        n_simd_cmp++;
        if (!CK_HAVE_AVX2 && type != CK_F16 && type != CK_BF16 && !(type == CK_F32 && CK_HAVE_NEON)) { /* NEON, Helium: the scalar kernels'
                                                 integers and float steps (NEON F32: ck_matmul_forward_neon's packed GEMM and tiles) */
            snprintf(what, sizeof what, "matmul_q fast %s T=%d C=%d OC=%d: %s bit-identical to the scalar path", ck_type_name(type), T, C, OC, ck_simd_name());
            check(memcmp(o_f, o_fs, no * sizeof(float)) == 0, what);
        }
    } else n_simd_na++;
#undef QCHECK
    for (i = 0; i < no; i++) {
        fve_num[type] += ((double)o_f[i] - o_e[i]) * ((double)o_f[i] - o_e[i]);
        fve_den[type] += (double)o_e[i] * o_e[i];
    }
    free(inp); free(xq); free(act); free(w); free(wd); free(bias); free(o_es); free(o_fs); free(o_e); free(o_f); free(ref_e); free(ref_f); free(wq);
}

/* one case of ck_matmul_forward_q_multi against one ck_matmul_forward_q per matrix, bit for bit,
   with OpenMP 1, 2 and 3 threads: three matrices of types base[] (random rows, quantized; repacked
   (types[] says to what) where `repack` and the rows are whole groups of 16), OCs[] rows, the
   second with a bias, T activation rows of C values */
static int multi_case(const int base[3], const int OCs[3], int T, int C, int repack, int types[3])
{
    float *inp = (float *)malloc((size_t)T * C * sizeof(float)), *row = (float *)malloc((size_t)C * sizeof(float));
    float *bias = (float *)malloc((size_t)OCs[1] * sizeof(float)), *ref[3], *got[3];
    char *w[3];
    ck_qmatmul mm[3];
    int ok = 1, j, r, o;
    size_t i;
    for (i = 0; i < (size_t)T * C; i++) inp[i] = grand();
    for (i = 0; i < (size_t)OCs[1]; i++) bias[i] = grand();
    for (j = 0; j < 3; j++) {
        size_t rb = ck_row_size(base[j], C);
        w[j] = (char *)malloc((size_t)OCs[j] * rb);
        for (o = 0; o < OCs[j]; o++) {
            for (i = 0; i < (size_t)C; i++) row[i] = grand() * 0.05f;
            if (base[j] == CK_F32) memcpy(w[j] + (size_t)o * rb, row, (size_t)C * sizeof(float));
            else ck_quantize_row(base[j], row, w[j] + (size_t)o * rb, C);
        }
        types[j] = base[j];
        if (repack && OCs[j] % 16 == 0 && ck_repack_type(base[j]) != base[j]) {
            types[j] = ck_repack_type(base[j]);
            ok &= ck_repack_rows(types[j], w[j], OCs[j], C) == 0;
        }
        ref[j] = (float *)malloc((size_t)T * OCs[j] * sizeof(float));
        got[j] = (float *)malloc((size_t)T * OCs[j] * sizeof(float));
        ck_matmul_forward_q(types[j], ref[j], inp, w[j], j == 1 ? bias : NULL, T, C, OCs[j]);
        mm[j].type = types[j]; mm[j].out = got[j]; mm[j].weight = w[j]; mm[j].bias = j == 1 ? bias : NULL; mm[j].OC = OCs[j];
    }
    for (r = 1; r <= 3; r++) {
#ifdef _OPENMP
        omp_set_num_threads(r);
#else
        if (r > 1) break;
#endif
        for (j = 0; j < 3; j++) memset(got[j], 0xff, (size_t)T * OCs[j] * sizeof(float));
        ck_matmul_forward_q_multi(mm, 3, inp, T, C);
        for (j = 0; j < 3; j++) ok &= memcmp(got[j], ref[j], (size_t)T * OCs[j] * sizeof(float)) == 0;
    }
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    for (j = 0; j < 3; j++) { free(w[j]); free(ref[j]); free(got[j]); }
    free(inp); free(row); free(bias);
    return ok;
}

/* ck_matmul_forward_q_multi (generated models: q/k/v, gate/up in one pass) == one
   ck_matmul_forward_q call per matrix, bit for bit: mixed types (as llama-quantize's mixes give
   them), biases, decode and prefill rows, and with OpenMP 1, 2 and 3 threads (a thread's rows
   then span two matrices); F32 entries take the per-matrix fallback */
static void test_qmatmul_multi(void)
{
    static const int sets[][3] = { { CK_Q5_0, CK_Q5_0, CK_Q8_0 }, { CK_Q4_K, CK_Q4_K, CK_Q6_K }, { CK_Q8_0, CK_F16, CK_Q4_0 }, { CK_F32, CK_Q8_0, CK_Q8_0 } };
    static const int OCs[3] = { 96, 32, 40 }, Ts[] = { 1, 7 };
    int si, ti, types[3];
    char what[200];
    for (si = 0; si < (int)(sizeof sets / sizeof sets[0]); si++)
        for (ti = 0; ti < 2; ti++) {
            int ok = multi_case(sets[si], OCs, Ts[ti], 512, 0, types);
            snprintf(what, sizeof what, "ck_matmul_forward_q_multi %s+%s+%s T=%d == one ck_matmul_forward_q per matrix, bit for bit, 1-3 threads",
                     ck_type_name(sets[si][0]), ck_type_name(sets[si][1]), ck_type_name(sets[si][2]), Ts[ti]);
            check(ok, what);
        }
}

/* ck_matmul_forward_q_multi over the float layouts (CK_F16_X16, CK_BF16_X16, CK_F32_X16: one
   pass whose threads split whole 16-row groups across the matrices) == one ck_matmul_forward_q per
   matrix, bit for bit: each layout alone and mixed, with a repacked Q8_0 and a Q4_1, biases, decode,
   a few rows and more rows than one GEMM pass takes (70), C with tails (odd for the float layouts),
   1-3 threads; and a set whose rows are not all whole groups (the threads split single rows: a
   float layout takes the groups that start in its share) */
static void test_qmatmul_multi_x16f(void)
{
    static const int sets[][3] = { { CK_F16, CK_F16, CK_F16 }, { CK_BF16, CK_BF16, CK_BF16 }, { CK_F32, CK_F16, CK_BF16 },
                                   { CK_F16, CK_Q8_0, CK_Q4_1 }, { CK_BF16, CK_Q8_0, CK_Q4_1 } };
    static const int Ts[] = { 1, 7, 70 };
    int si, ti, types[3];
    char what[240];
    if (!ck__is_x16f(ck_repack_type(CK_F16))) {
        printf("ck_matmul_forward_q_multi on float layouts: not run (no AVX-512 in this build: ck_repack_type keeps f16)\n");
        return;
    }
    for (si = 0; si < (int)(sizeof sets / sizeof sets[0]); si++)
        for (ti = 0; ti < 3; ti++) {
            /* C: tails in every segment and pair (the float layouts alone), 17 blocks of 32 (mixed); 40 rows in one mixed case: not whole groups */
            const int C = si < 3 ? 521 : 544, OCs[3] = { 96, 32, si < 3 || (si == 3 && ti != 1) ? 48 : 40 };
            int ok = multi_case(sets[si], OCs, Ts[ti], C, 1, types);
            snprintf(what, sizeof what, "ck_matmul_forward_q_multi %s%s+%s%s+%s%s (%d+%d+%d rows) T=%d C=%d == one ck_matmul_forward_q per matrix, bit for bit, 1-3 threads",
                     ck_type_name(sets[si][0]), types[0] != sets[si][0] ? "_X16" : "", ck_type_name(sets[si][1]), types[1] != sets[si][1] ? "_X16" : "",
                     ck_type_name(sets[si][2]), types[2] != sets[si][2] ? "_X16" : "", OCs[0], OCs[1], OCs[2], Ts[ti], C);
            check(ok, what);
        }
}

/* Repacked layouts (CK_Q4_0_X16, CK_Q5_0_X16, CK_Q8_0_X16, ck_repack_rows), for each:
   - the layout: every block of every row read back through ck__x16_blocks equals the GGUF bytes;
     refusals (rows not a multiple of 16, C not of 32, a GGUF type as target) leave w untouched
   - AVX-512 builds: ck_repack_type of the base type is the layout, and a repacked matrix gives
     the GGUF matrix's results bit for bit on every path: decode (its own kernel; C over two
     segments, odd block counts), 2..7 rows (tile path), prefill (GEMM, panels from whole groups),
     the exact path, the scalar API, row sub-ranges that cut a 16-row group (the other rows
     untouched), in _q_multi, and with 1, 2 and 3 threads */
static void test_repack(void)
{
    static const int layouts[3][2] = { { CK_Q4_0, CK_Q4_0_X16 }, { CK_Q5_0, CK_Q5_0_X16 }, { CK_Q8_0, CK_Q8_0_X16 } };
    static const struct { int OC, C; } lay[] = { { 16, 32 }, { 48, 96 }, { 32, 4864 } };
    int li, ki;
    for (ki = 0; ki < 3; ki++) {
        const int base = layouts[ki][0], to = layouts[ki][1];
        const size_t bsz = ck_type_block_bytes(base);
        char what[200];
        int ok = 1;
        for (li = 0; li < 3; li++) {
            const int OC = lay[li].OC, C = lay[li].C, nbr = C / CK_QK;
            size_t rb = ck_row_size(base, C), i;
            char *w = (char *)malloc((size_t)OC * rb), *orig = (char *)malloc((size_t)OC * rb);
            float *row = (float *)malloc((size_t)C * sizeof(float));
            ck_block_q8_0 blk;
            int o, b;
            for (o = 0; o < OC; o++) {
                for (i = 0; i < (size_t)C; i++) row[i] = grand();
                ck_quantize_row(base, row, w + (size_t)o * rb, C);
            }
            memcpy(orig, w, (size_t)OC * rb);
            ok &= ck_repack_rows(to, w, OC, C) == 0;
            for (o = 0; o < OC; o++)
                for (b = 0; b < nbr; b++) {
                    ck__x16_blocks(to, w, nbr, o, b, 1, &blk);
                    ok &= memcmp(&blk, orig + (size_t)o * rb + (size_t)b * bsz, bsz) == 0;
                }
            free(w); free(orig); free(row);
        }
        snprintf(what, sizeof what, "ck_repack_rows %s -> its X16 layout: every block of every row reads back as its GGUF bytes", ck_type_name(base));
        check(ok, what);
        check(ck_repack_base(to) == base && ck_repack_layout(base) == to, "ck_repack_base and ck_repack_layout pair the GGUF type and its layout");
    }
    {
        char w[40 * 34 * 4], orig[sizeof w];
        size_t i;
        for (i = 0; i < sizeof w; i++) w[i] = orig[i] = (char)(i * 7);
        check(ck_repack_rows(CK_Q4_0_X16, w, 40, 64) == -1 && ck_repack_rows(CK_Q8_0_X16, w, 16, 48) == -1 && ck_repack_rows(CK_Q5_0_X16, w, 8, 32) == -1 &&
              ck_repack_rows(CK_Q4_0, w, 16, 64) == -1 && ck_repack_rows(CK_Q8_0, w, 16, 32) == -1 && memcmp(w, orig, sizeof w) == 0,
              "ck_repack_rows refuses 40 rows, 8 rows, C = 48 and a GGUF type as target, and leaves w untouched");
    }
    check(ck_repack_base(CK_Q6_K) == CK_Q6_K && ck_repack_type(CK_Q6_K) == CK_Q6_K && ck_repack_layout(CK_Q4_K) == CK_Q4_K,
          "ck_repack_base / _type / _layout of the other types: themselves");
#if CK_HAVE_AVX512
    for (ki = 0; ki < 3; ki++) {
        static const int Ts[] = { 1, 2, 5, 8, 33, 70 }, Cs[] = { 96, 576, 4864, 9216 }, OCs[] = { 16, 48, 64 };
        const int base = layouts[ki][0], to = layouts[ki][1];
        int ti, ci, oi, r, worst_ok = 1, n = 0;
        check(ck_repack_type(base) == to, "AVX-512 build: ck_repack_type gives the X16 layout");
        for (ti = 0; ti < 6; ti++)
            for (ci = 0; ci < 4; ci++)
                for (oi = 0; oi < 3; oi++) {
                    const int T = Ts[ti], C = Cs[ci], OC = OCs[oi];
                    size_t rb = ck_row_size(base, C), no = (size_t)T * OC, i;
                    float *inp, *bias, *ref, *got, *row;
                    char *w, *wx, what[200];
                    int o, path, good = 1;
                    if (C >= 4864 && T > 8) continue; /* keep the big C to small products */
                    inp = (float *)malloc((size_t)T * C * sizeof(float)); bias = (float *)malloc((size_t)OC * sizeof(float));
                    ref = (float *)malloc(no * sizeof(float)); got = (float *)malloc(no * sizeof(float)); row = (float *)malloc((size_t)C * sizeof(float));
                    w = (char *)malloc((size_t)OC * rb); wx = (char *)malloc((size_t)OC * rb);
                    for (i = 0; i < (size_t)T * C; i++) inp[i] = grand() * (i % 7 == 0 ? 4.0f : 1.0f);
                    for (o = 0; o < OC; o++) {
                        for (i = 0; i < (size_t)C; i++) row[i] = grand() * 0.05f;
                        ck_quantize_row(base, row, w + (size_t)o * rb, C);
                        bias[o] = grand();
                    }
                    memcpy(wx, w, (size_t)OC * rb);
                    ck_repack_rows(to, wx, OC, C);
                    for (path = 0; path < 2; path++)
                        for (r = 1; r <= 3; r++) {
#ifdef _OPENMP
                            omp_set_num_threads(r);
#else
                            if (r > 1) break;
#endif
                            ck_matmul_forward_qp(path, base, ref, inp, w, (oi & 1) ? bias : NULL, T, C, OC);
                            memset(got, 0xff, no * sizeof(float));
                            ck_matmul_forward_qp(path, to, got, inp, wx, (oi & 1) ? bias : NULL, T, C, OC);
                            good &= memcmp(got, ref, no * sizeof(float)) == 0;
                        }
                    /* the scalar API, and rows [3, OC - 5) of the fast path: a cut group, the rest untouched */
                    ck_matmul_forward_qp_scalar(CK_Q_FAST, base, ref, inp, w, bias, T, C, OC);
                    ck_matmul_forward_qp_scalar(CK_Q_FAST, to, got, inp, wx, bias, T, C, OC);
                    good &= memcmp(got, ref, no * sizeof(float)) == 0;
                    for (i = 0; i < no; i++) ref[i] = got[i] = 12345.0f;
                    ck__matmul_q_fast_rows(1, base, ref, inp, w, bias, T, C, OC, 3, OC - 5);
                    ck__matmul_q_fast_rows(1, to, got, inp, wx, bias, T, C, OC, 3, OC - 5);
                    good &= memcmp(got, ref, no * sizeof(float)) == 0;
                    if (T <= 8) { /* in one pass of the threads with a Q5_0 matrix */
                        ck_qmatmul mm[2];
                        float *ref2 = (float *)malloc(no * sizeof(float)), *got2 = (float *)malloc((size_t)T * 16 * sizeof(float));
                        char *w5 = (char *)malloc(16 * ck_row_size(CK_Q5_0, C));
                        for (o = 0; o < 16; o++) {
                            for (i = 0; i < (size_t)C; i++) row[i] = grand() * 0.05f;
                            ck_quantize_row(CK_Q5_0, row, w5 + (size_t)o * ck_row_size(CK_Q5_0, C), C);
                        }
                        mm[0].type = CK_Q5_0; mm[0].out = got2; mm[0].weight = w5; mm[0].bias = NULL; mm[0].OC = 16;
                        mm[1].type = to; mm[1].out = ref2; mm[1].weight = wx; mm[1].bias = bias; mm[1].OC = OC;
                        ck_matmul_forward_q(base, ref, inp, w, bias, T, C, OC);
                        ck_matmul_forward_q_multi(mm, 2, inp, T, C);
                        good &= memcmp(ref2, ref, no * sizeof(float)) == 0;
                        free(ref2); free(got2); free(w5);
                    }
                    snprintf(what, sizeof what, "%s_X16 T=%d C=%d OC=%d: fast, exact, scalar API, rows [3, %d), _q_multi, 1-3 threads == %s, bit for bit",
                             ck_type_name(base), T, C, OC, OC - 5, ck_type_name(base));
                    check(good, what);
                    worst_ok &= good;
                    n++;
                    free(inp); free(bias); free(ref); free(got); free(row); free(w); free(wx);
                }
#ifdef _OPENMP
        omp_set_num_threads(2);
#endif
        printf("%s_X16 (repacked) vs %s: %d shapes, %s\n", ck_type_name(base), ck_type_name(base), n, worst_ok ? "bit-identical on every path" : "DIFFERS");
    }
#else
    check(ck_repack_type(CK_Q4_0) == CK_Q4_0 && ck_repack_type(CK_Q5_0) == CK_Q5_0 && ck_repack_type(CK_Q8_0) == CK_Q8_0,
          "no AVX-512 in this build: nothing is repacked (ck_repack_type)");
    printf("Q4_0_X16, Q5_0_X16, Q8_0_X16 matmul: not applicable (no AVX-512 in this build: ck_repack_type keeps the GGUF types)\n");
#endif
}

/* CK_F32_X16, CK_F16_X16, CK_BF16_X16 (F32 / F16 / BF16 matrices as 16-row groups stored column by
   column; BF16 as value pairs, the vdpbf16ps operand):
   - ck_repack_rows: every value at (g C + k) 16 + r; the embedding lookup reads every row back
     (a tied output matrix is also the embedding table); refusals leave w untouched
   - AVX-512 builds: ck_repack_type gives the layout, and every output of a repacked matrix, at
     every T (decode: its own kernel; from 2 rows: the F32 packed GEMM / the F16 GEMM reading the
     groups), on both paths, the scalar API and _q_multi, with 1-3 threads, is this test's own
     fmaf chain over the GGUF rows from the bias (F16: over the activations rounded to F16), bit
     for bit; where the GGUF matrix takes that same GEMM (F32: T >= 48, F16: T >= 16) it is also
     the GGUF matrix's result. BF16 (AVX512_BF16 builds): the GGUF matrix's BF16 GEMM (T padded
     to 16 rows: each row's chain is its own) bit for bit at every T; the scalar API is the fmaf
     chain, and the two within 1e-5 of the largest output (vdpbf16ps rounds each pair its own way) */
#if CK_HAVE_AVX512
static float *x16_ref(int type, const float *inp, const void *w, const float *bias, int T, int C, int OC)
{
    float *r = (float *)malloc((size_t)T * OC * sizeof(float));
    int t, o, k;
    for (t = 0; t < T; t++)
        for (o = 0; o < OC; o++) {
            float s = bias ? bias[o] : 0.0f;
            for (k = 0; k < C; k++) {
                const size_t i = (size_t)o * C + k;
                const float x = inp[(size_t)t * C + k];
                s = type == CK_F32 ? fmaf(((const float *)w)[i], x, s)
                  : type == CK_F16 ? fmaf(ck_fp16_to_fp32(((const uint16_t *)w)[i]), ck_fp16_to_fp32(ck_fp32_to_fp16(x)), s)
                                   : fmaf(ck_bf16_to_fp32(((const uint16_t *)w)[i]), ck_bf16_to_fp32(ck_fp32_to_bf16(x)), s);
            }
            r[(size_t)t * OC + o] = s;
        }
    return r;
}
#endif

static void test_repack_float(void)
{
    static const struct { int OC, C; } lay[] = { { 16, 1 }, { 48, 96 }, { 32, 4864 }, { 64, 37 } };
    static const int kinds[3][2] = { { CK_F32, CK_F32_X16 }, { CK_F16, CK_F16_X16 }, { CK_BF16, CK_BF16_X16 } };
    int li, ki;
    for (ki = 0; ki < 3; ki++) {
        const int base = kinds[ki][0], to = kinds[ki][1];
        const size_t es = base == CK_F32 ? 4 : 2;
        const char *nm = base == CK_F32 ? "f32" : base == CK_F16 ? "f16" : "bf16";
        int ok = 1, ok_emb = 1;
        char what[220];
        for (li = 0; li < 4; li++) {
            const int OC = lay[li].OC, C = lay[li].C;
            unsigned char *w = (unsigned char *)malloc((size_t)OC * C * es), *orig = (unsigned char *)malloc((size_t)OC * C * es);
            float *emb = (float *)malloc((size_t)OC * C * sizeof(float)), *row = (float *)malloc((size_t)C * sizeof(float));
            int32_t *tok = (int32_t *)malloc((size_t)OC * sizeof(int32_t));
            int o, k;
            for (o = 0; o < OC; o++) {
                for (k = 0; k < C; k++) row[k] = grand();
                ck_quantize_row(base, row, orig + (size_t)o * C * es, C);
            }
            memcpy(w, orig, (size_t)OC * C * es);
            ok &= ck_repack_rows(to, w, OC, C) == 0;
            for (o = 0; o < OC; o++)
                for (k = 0; k < C; k++) { /* BF16: pairs 2p, 2p+1 of row r at (g C + 2p) 16 + 2r (+1); an odd C's last alone */
                    const size_t at = base == CK_BF16 && k < (C & ~1) ? (size_t)(k & ~1) * 16 + 2 * (size_t)(o % 16) + (size_t)(k & 1) : (size_t)k * 16 + o % 16;
                    ok &= memcmp(w + ((size_t)(o / 16) * C * 16 + at) * es, orig + ((size_t)o * C + k) * es, es) == 0;
                }
            for (o = 0; o < OC; o++) tok[o] = (o * 7 + 3) % OC; /* every row, out of order */
            ck_embedding_forward_q(to, emb, tok, w, NULL, OC, C, 0);
            for (o = 0; o < OC; o++) {
                ck_dequantize_row(base, orig + (size_t)tok[o] * C * es, row, C);
                ok_emb &= memcmp(emb + (size_t)o * C, row, (size_t)C * sizeof(float)) == 0;
            }
            free(w); free(orig); free(emb); free(row); free(tok);
        }
        snprintf(what, sizeof what, "ck_repack_rows %s -> %s_X16: value (16g + r, k) in its place (4 shapes, C = 1 .. 4864)", nm, nm);
        check(ok, what);
        snprintf(what, sizeof what, "ck_embedding_forward_q(%s_X16): every row of a repacked table reads back as its row", nm);
        check(ok_emb, what);
        check(ck_repack_base(to) == base && ck_repack_layout(base) == to, "ck_repack_base and ck_repack_layout pair F32 / F16 and their X16 layouts");
        {
            float w[40 * 8], orig[40 * 8];
            size_t i;
            for (i = 0; i < 40 * 8; i++) w[i] = orig[i] = (float)i;
            check(ck_repack_rows(to, w, 40, 8) == -1 && ck_repack_rows(to, w, 16, 0) == -1 && ck_repack_rows(base, w, 16, 8) == -1 &&
                  memcmp(w, orig, sizeof w) == 0, "ck_repack_rows refuses 40 rows, C = 0, and the GGUF type as target, and leaves w untouched");
        }
#if CK_HAVE_AVX512
        if (base == CK_BF16 && !CK_HAVE_AVX512BF16) {
            check(ck_repack_type(base) == base, "AVX-512 without AVX512_BF16: BF16 is not repacked (ck_repack_type)");
            printf("bf16_X16 matmul: not run (no AVX512_BF16 in this build: ck_repack_type keeps bf16)\n");
        } else {
            static const int Ts[] = { 1, 2, 3, 5, 8, 9, 15, 16, 33, 47, 48, 49, 64, 70 }, Cs[] = { 1, 17, 96, 896, 4864, 9000 }, OCs[] = { 16, 48, 64, 112, 400 };
            const int same_t = base == CK_F32 ? 48 : 16; /* from here the GGUF matrix takes the same GEMM (BF16: every T, padded) */
            int ti, ci, oi, r, n = 0, all = 1;
            snprintf(what, sizeof what, "AVX-512 build: ck_repack_type(%s) gives its X16 layout", nm);
            check(ck_repack_type(base) == to, what);
            for (ti = 0; ti < 14; ti++)
                for (ci = 0; ci < 6; ci++)
                    for (oi = 0; oi < 5; oi++) {
                        const int T = Ts[ti], C = Cs[ci], OC = OCs[oi];
                        const size_t no = (size_t)T * OC;
                        size_t i;
                        float *inp, *bias, *ref, *got, *fwd, *row;
                        unsigned char *w, *wx;
                        int path, good = 1, o;
                        if ((size_t)T * C * OC > 4000000 || (oi + ti + ci) % 2) continue; /* half the grid, small products */
                        inp = (float *)malloc((size_t)T * C * sizeof(float)); bias = (float *)malloc((size_t)OC * sizeof(float));
                        w = (unsigned char *)malloc((size_t)OC * C * es); wx = (unsigned char *)malloc((size_t)OC * C * es);
                        got = (float *)malloc(no * sizeof(float)); fwd = (float *)malloc(no * sizeof(float)); row = (float *)malloc((size_t)C * sizeof(float));
                        for (i = 0; i < (size_t)T * C; i++) inp[i] = grand() * (i % 7 == 0 ? 4.0f : 1.0f);
                        for (o = 0; o < OC; o++) {
                            for (i = 0; i < (size_t)C; i++) row[i] = grand() * 0.05f;
                            ck_quantize_row(base, row, w + (size_t)o * C * es, C);
                        }
                        for (i = 0; i < (size_t)OC; i++) bias[i] = grand();
                        memcpy(wx, w, (size_t)OC * C * es);
                        ck_repack_rows(to, wx, OC, C);
                        ref = x16_ref(base, inp, w, (oi & 1) ? bias : NULL, T, C, OC);
                        if (base == CK_BF16) { /* the GGUF matrix's BF16 GEMM, rows padded to 16 */
                            const int Tp = T < 16 ? 16 : T;
                            float *inp16 = (float *)calloc((size_t)Tp * C, sizeof(float)), *o16 = (float *)malloc((size_t)Tp * OC * sizeof(float));
                            double m = 1.0, d = 0.0;
                            memcpy(inp16, inp, (size_t)T * C * sizeof(float));
                            ck_matmul_forward_q(base, o16, inp16, w, (oi & 1) ? bias : NULL, Tp, C, OC);
                            for (i = 0; i < no; i++) {
                                m = fabs(ref[i]) > m ? fabs(ref[i]) : m;
                                d = fabs((double)o16[i] - ref[i]) > d ? fabs((double)o16[i] - ref[i]) : d;
                            }
                            good &= d <= 1e-5 * m; /* vdpbf16ps vs the fmaf chain: rounding only */
                            memcpy(fwd, ref, no * sizeof(float)); /* the scalar API's reference */
                            memcpy(ref, o16, no * sizeof(float));
                            free(inp16); free(o16);
                        }
                        for (path = 0; path < 2; path++)
                            for (r = 1; r <= 3; r++) {
#ifdef _OPENMP
                                omp_set_num_threads(r);
#else
                                if (r > 1) break;
#endif
                                memset(got, 0xff, no * sizeof(float));
                                ck_matmul_forward_qp(path, to, got, inp, wx, (oi & 1) ? bias : NULL, T, C, OC);
                                good &= memcmp(got, ref, no * sizeof(float)) == 0;
                            }
                        memset(got, 0xff, no * sizeof(float));
                        ck_matmul_forward_qp_scalar(CK_Q_FAST, to, got, inp, wx, (oi & 1) ? bias : NULL, T, C, OC);
                        good &= memcmp(got, base == CK_BF16 ? fwd : ref, no * sizeof(float)) == 0;
                        { /* in _q_multi (beside a Q8_0 matrix where C allows one) */
                            ck_qmatmul mm[2];
                            char *w8 = (char *)calloc(16, ck_row_size(CK_Q8_0, C % 32 ? 32 : C));
                            float *o8 = (float *)malloc((size_t)T * 16 * sizeof(float));
                            mm[0].type = to; mm[0].out = got; mm[0].weight = wx; mm[0].bias = (oi & 1) ? bias : NULL; mm[0].OC = OC;
                            mm[1].type = CK_Q8_0; mm[1].out = o8; mm[1].weight = w8; mm[1].bias = NULL; mm[1].OC = 16;
                            memset(got, 0xff, no * sizeof(float));
                            ck_matmul_forward_q_multi(mm, C % 32 ? 1 : 2, inp, T, C);
                            good &= memcmp(got, ref, no * sizeof(float)) == 0;
                            free(w8); free(o8);
                        }
                        if (T >= same_t && base != CK_BF16) {
                            ck_matmul_forward_q(base, fwd, inp, w, (oi & 1) ? bias : NULL, T, C, OC);
                            good &= memcmp(fwd, ref, no * sizeof(float)) == 0;
                        }
                        snprintf(what, sizeof what, "%s_X16 T=%d C=%d OC=%d bias=%d: both paths, scalar API, _q_multi, 1-3 threads == fmaf chain%s, bit for bit",
                                 nm, T, C, OC, oi & 1, T >= same_t ? " == the GGUF matrix's" : "");
                        check(good, what);
                        all &= good;
                        n++;
                        free(inp); free(bias); free(w); free(wx); free(ref); free(got); free(fwd); free(row);
                    }
#ifdef _OPENMP
            omp_set_num_threads(2);
#endif
            printf("%s_X16 (repacked) vs %s: %d shapes, %s\n", nm, base == CK_BF16 ? "the bf16 GEMM's chain" : "an fmaf chain over the rows", n,
                   all ? "bit-identical on every path" : "DIFFERS");
        }
#else
        check(ck_repack_type(base) == base, "no AVX-512 in this build: F32, F16 and BF16 are not repacked (ck_repack_type)");
        printf("%s_X16 matmul: not run (no AVX-512 in this build: ck_repack_type keeps %s)\n", nm, nm);
#endif
    }
}

/* The F16 / BF16 decode kernel (ck__gemv_h16_avx512: T = 1, 8 weight rows at a time; BF16 where
   the build has AVX512_BF16) == the 4-row tile path it replaces (ck__matmul_q_tile_rows), bit for
   bit: C around the 16/32-value steps and tails, two segments (C > 8192), OC not a multiple of 8,
   biases, a row sub-range (the other rows untouched), and the public call at 1-3 threads. */
static void test_gemv_h16(void)
{
#if CK_HAVE_AVX512
    static const int types[] = { CK_F16, CK_BF16 }, Cs[] = { 1, 15, 16, 17, 31, 33, 576, 4864, 9000 }, OCs[] = { 1, 5, 8, 9, 20 };
    int ti, ci, oi;
    for (ti = 0; ti < 2; ti++) {
        const int type = types[ti];
        int n = 0, all = 1;
        if (type == CK_BF16 && !CK_HAVE_AVX512BF16) {
            printf("bf16 decode kernel: not applicable (no AVX512_BF16 in this build: the tile path runs)\n");
            continue;
        }
        for (ci = 0; ci < 9; ci++)
            for (oi = 0; oi < 5; oi++) {
                const int C = Cs[ci], OC = OCs[oi], lo = OC > 4 ? 1 : 0, hi = OC > 4 ? OC - 2 : OC;
                const size_t rb = ck_row_size(type, C);
                float *inp = (float *)malloc((size_t)C * sizeof(float)), *bias = (float *)malloc((size_t)OC * sizeof(float));
                float *ref = (float *)malloc((size_t)OC * sizeof(float)), *got = (float *)malloc((size_t)OC * sizeof(float));
                float *row = (float *)malloc((size_t)C * sizeof(float));
                char *w = (char *)malloc((size_t)OC * rb), what[160];
                int o, r, good = 1;
                size_t i;
                for (i = 0; i < (size_t)C; i++) inp[i] = grand() * (i % 5 == 0 ? 8.0f : 1.0f);
                for (o = 0; o < OC; o++) {
                    for (i = 0; i < (size_t)C; i++) row[i] = grand() * 0.05f;
                    ck_quantize_row(type, row, w + (size_t)o * rb, C);
                    bias[o] = grand();
                }
                for (r = 0; r < 2; r++) { /* with and without bias, rows [lo, hi) */
                    for (o = 0; o < OC; o++) ref[o] = got[o] = 12345.0f;
                    ck__matmul_q_tile_rows(1, type, ref, inp, w, r ? bias : NULL, 1, C, OC, lo, hi);
                    ck__matmul_q_fast_rows(1, type, got, inp, w, r ? bias : NULL, 1, C, OC, lo, hi);
                    good &= memcmp(got, ref, (size_t)OC * sizeof(float)) == 0;
                }
                for (r = 1; r <= 3; r++) {
#ifdef _OPENMP
                    omp_set_num_threads(r);
#else
                    if (r > 1) break;
#endif
                    memset(got, 0xff, (size_t)OC * sizeof(float));
                    ck__matmul_q_tile_rows(1, type, ref, inp, w, bias, 1, C, OC, 0, OC);
                    ck_matmul_forward_qp(CK_Q_FAST, type, got, inp, w, bias, 1, C, OC);
                    good &= memcmp(got, ref, (size_t)OC * sizeof(float)) == 0;
                }
#ifdef _OPENMP
                omp_set_num_threads(2);
#endif
                snprintf(what, sizeof what, "%s decode kernel C=%d OC=%d: == the tile path, bit for bit (rows [%d, %d), bias, 1-3 threads)", ck_type_name(type), C, OC,
                         lo, hi);
                check(good, what);
                all &= good;
                n++;
                free(inp); free(bias); free(ref); free(got); free(row); free(w);
            }
        printf("%s decode kernel (8 rows) vs the tile path: %d shapes, %s\n", ck_type_name(type), n, all ? "bit-identical" : "DIFFERS");
    }
#else
    printf("f16/bf16 decode kernel: not applicable (no AVX-512 in this build)\n");
#endif
}

/* The prefill GEMM of the block-32 integer types and the K-quants (ck__gemm_int_rows: AVX-512 VNNI, T >= 8) ==
   the tile path it replaces (ck__matmul_q_tile_rows), bit for bit: both form each output from the
   same exact integer block sums S and the same float operations in the same order (per block
   t = (d_w * d_a) * S (+ m_w * s_a), accumulated from 0 block by block over a segment of CK_QSEG
   values, added to out once per segment); only the way S is formed differs. Shapes: T at the
   threshold and across the activation-chunk boundaries (33, 70), OC not a multiple of the
   16-row panel, odd block counts, a partial second segment, a sub-range of rows (the other rows
   untouched), biases; below the threshold the path declines. */
static void test_gemm_int(void)
{
#if CK_HAVE_AVX2
#if CK_HAVE_AVX512
    static const int types[] = { CK_Q4_0, CK_Q5_0, CK_Q8_0, CK_IQ4_NL, CK_Q4_1, CK_Q5_1, CK_Q4_K, CK_Q5_K, CK_Q6_K, CK_Q3_K, CK_Q2_K };
#else /* AVX2: the block-32 types */
    static const int types[] = { CK_Q4_0, CK_Q5_0, CK_Q8_0, CK_IQ4_NL, CK_Q4_1, CK_Q5_1 };
#endif
    /* C: blocks of 32; CK: super-blocks of 256 (K-quants) */
    static const struct { int T, C, CK, OC, lo, hi; } shapes[] = {
        { 8, 96, 256, 37, 0, 37 }, { 9, 1120, 1280, 16, 0, 16 }, { 33, 2080, 2304, 50, 3, 47 }, { 64, 576, 768, 21, 0, 21 }, { 70, 160, 256, 3, 1, 3 },
        { 16, 4864, 4864, 40, 8, 40 } };
    const int ntypes = (int)(sizeof types / sizeof types[0]);
    int ti, si, declined = 0, ok_all = 1;
    for (ti = 0; ti < ntypes; ti++)
        for (si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++) {
            int type = types[ti], T = shapes[si].T, OC = shapes[si].OC, lo = shapes[si].lo, hi = shapes[si].hi, served, o;
            int C = ck_type_block_size(type) == 32 ? shapes[si].C : shapes[si].CK;
            size_t no = (size_t)T * OC, rb = ck_row_size(type, C), i;
            float *inp = (float *)malloc((size_t)T * C * sizeof(float)), *row = (float *)malloc((size_t)C * sizeof(float));
            float *bias = (float *)malloc((size_t)OC * sizeof(float)), *got = (float *)malloc(no * sizeof(float)), *ref = (float *)malloc(no * sizeof(float));
            char *wq = (char *)malloc((size_t)OC * rb);
            char what[200];
            for (i = 0; i < (size_t)T * C; i++) inp[i] = grand() * (i % 7 == 0 ? 4.0f : 1.0f);
            for (o = 0; o < OC; o++) {
                for (i = 0; i < (size_t)C; i++) row[i] = grand() * 0.05f;
                ck_quantize_row(type, row, wq + (size_t)o * rb, C);
                bias[o] = grand();
            }
            for (i = 0; i < no; i++) got[i] = ref[i] = 12345.0f; /* rows outside [lo, hi) stay so */
            served = ck__gemm_int_rows(1, type, got, inp, wq, si & 1 ? bias : NULL, T, C, OC, lo, hi);
            ck__matmul_q_tile_rows(1, type, ref, inp, wq, si & 1 ? bias : NULL, T, C, OC, lo, hi);
            snprintf(what, sizeof what, "prefill GEMM %s T=%d C=%d OC=%d rows [%d, %d): served and bit-identical to the tile path",
                     ck_type_name(type) ? ck_type_name(type) : "?", T, C, OC, lo, hi);
            check(served && memcmp(got, ref, no * sizeof(float)) == 0, what);
            ok_all &= served && memcmp(got, ref, no * sizeof(float)) == 0;
            declined += !ck__gemm_int_rows(1, type, got, inp, wq, NULL, CK__GI_MIN_T - 1, C, OC, lo, hi);
            free(inp); free(row); free(bias); free(got); free(ref); free(wq);
        }
    check(declined == ntypes * (int)(sizeof shapes / sizeof shapes[0]), "prefill GEMM declines below its threshold of T");
    check(!ck__gemm_int_rows(1, CK_F16, NULL, NULL, NULL, NULL, 64, 256, 1, 0, 1) && !ck__gemm_int_rows(0, CK_Q4_0, NULL, NULL, NULL, NULL, 64, 256, 1, 0, 1) &&
          !ck__gemm_int_rows(0, CK_Q4_K, NULL, NULL, NULL, NULL, 64, 256, 1, 0, 1),
          "prefill GEMM declines other types and the scalar API");
    printf("prefill GEMM (integer types, %s) vs the tile path: %s\n", CK_HAVE_AVX512 ? "AVX-512" : "AVX2", ok_all ? "bit-identical on every shape" : "DIFFERS");
#else
    printf("prefill GEMM (integer types): not applicable (no AVX2 in this build; the tile path serves)\n");
#endif
}

/* The prefill GEMM for F16 and BF16 weights (ck__gemm_h16_rows, AVX-512 and AVX2 builds, T >= ck__hgemm_min_t(type)):
   - it serves T = ck__hgemm_min_t(type) and declines one row less (which the tile path then takes)
   - against the tile path (one activation row per call: T = 1 is below the threshold) on the same
     rounded activations: both sum the same exact products (an F16 x F16 or BF16 x BF16 product
     fits fp32), only in another order, so they differ by at most the two recursive-summation
     bounds, 2 (C + 2) u sum |w x| (u = 2^-24, the bias one more term); a wrong pair, row, lane
     or segment is off by O(|w x|)
   - F16 (and BF16 without AVX512_BF16): bit for bit the FMA chain from the bias through c = 0..C-1
     in order, fmaf(w, x, acc), which is what makes a row independent of its panel and thread
   - rows [o_lo, o_hi) alone (panels that start anywhere): the same bits, rows outside untouched
   - 1, 2 and 3 OpenMP threads: the same bits
   Shapes: OC not a multiple of the 32-row (AVX2: 16-row) panel, odd C (a bf16 pair half padding), C over several
   segments, T over two 64-row passes with an odd remainder. */
static void test_hgemm(void)
{
#if CK_HAVE_AVX2
    static const int types[2] = { CK_F16, CK_BF16 };
    static const char *const names[2] = { "f16", "bf16" }; /* (gcc 12 sees a NULL from ck_type_name) */
    static const struct { int T, C, OC, bias; } shapes[] = { { 0 /* the threshold */, 301, 37, 1 }, { 70, 4864, 45, 0 }, { 133, 517, 100, 1 } };
    double worst_all = 0;
    int ti, si;
    for (ti = 0; ti < 2; ti++)
        for (si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++) {
            const int type = types[ti], T = shapes[si].T ? shapes[si].T : ck__hgemm_min_t(type), C = shapes[si].C, OC = shapes[si].OC;
            const int chain = type == CK_F16 || !CK_HAVE_AVX512BF16;
            size_t rb = ck_row_size(type, C), no = (size_t)T * OC, i;
            float *inp = (float *)malloc((size_t)T * C * sizeof(float)), *w = (float *)malloc((size_t)OC * C * sizeof(float));
            float *wd = (float *)malloc((size_t)OC * C * sizeof(float)), *bias = shapes[si].bias ? (float *)malloc((size_t)OC * sizeof(float)) : NULL;
            float *out = (float *)malloc(no * sizeof(float)), *tile = (float *)malloc(no * sizeof(float)), *part = (float *)malloc(no * sizeof(float));
            double *xq = (double *)malloc((size_t)C * sizeof(double));
            unsigned char *wq = (unsigned char *)malloc((size_t)OC * rb), *act = (unsigned char *)malloc((size_t)C * 2);
            float one[1];
            int t, o, c, served, ok_bound = 1, ok_chain = 1, ok_part = 1, ok_thr = 1;
            double worst = 0;
            char what[200];
            if (type == CK_F16 && !CK_HAVE_AVX512 && !CK__HG_F16C) { /* AVX2 without F16C: the tile path's scalar F16 */
                check(ck__gemm_h16_rows(1, type, one, inp, wq, bias, T, C, 1, 0, 1) == 0, "prefill GEMM f16 without F16C: declined");
                free(inp); free(w); free(wd); free(bias); free(out); free(tile); free(part); free(xq); free(wq); free(act);
                continue;
            }
            for (i = 0; i < (size_t)T * C; i++) inp[i] = grand();
            for (i = 0; i < (size_t)OC * C; i++) w[i] = grand() / (float)sqrt((double)C);
            for (o = 0; o < OC && bias; o++) bias[o] = grand();
            for (o = 0; o < OC; o++) ck_quantize_row(type, w + (size_t)o * C, wq + (size_t)o * rb, C);
            ck_dequantize_row(type, wq, wd, (int64_t)OC * C);
            served = ck__gemm_h16_rows(1, type, out, inp, wq, bias, T, C, OC, 0, OC) == 1 &&
                     ck__gemm_h16_rows(1, type, one, inp, wq, bias, ck__hgemm_min_t(type) - 1, C, 1, 0, 1) == 0;
            snprintf(what, sizeof what, "prefill GEMM %s: serves T=%d (T >= %d), declines T=%d", names[ti], T, ck__hgemm_min_t(type), ck__hgemm_min_t(type) - 1);
            check(served, what);
            for (t = 0; t < T; t++) ck_matmul_forward_qp(CK_Q_FAST, type, tile + (size_t)t * OC, inp + (size_t)t * C, wq, bias, 1, C, OC);
            for (t = 0; t < T; t++) {
                fast_activations(type, inp + (size_t)t * C, xq, act, C);
                for (o = 0; o < OC; o++) {
                    double sabs = bias ? fabs(bias[o]) : 0, bound, d;
                    float acc = bias ? bias[o] : 0.0f;
                    for (c = 0; c < C; c++) {
                        sabs += fabs((double)wd[(size_t)o * C + c] * xq[c]);
                        acc = fmaf(wd[(size_t)o * C + c], (float)xq[c], acc);
                    }
                    bound = 2.0 * (C + 2) * ldexp(1.0, -24) * sabs;
                    d = fabs((double)out[(size_t)t * OC + o] - tile[(size_t)t * OC + o]);
                    if (d / bound > worst) worst = d / bound;
                    ok_bound &= d <= bound;
                    ok_chain &= !chain || memcmp(&acc, &out[(size_t)t * OC + o], sizeof acc) == 0;
                }
            }
            snprintf(what, sizeof what, "prefill GEMM %s T=%d C=%d OC=%d vs the tile path: within 2 (C+2) u sum|w x| (worst %.2f of it)",
                     names[ti], T, C, OC, worst);
            check(ok_bound, what);
            if (worst > worst_all) worst_all = worst;
            if (chain) {
                snprintf(what, sizeof what, "prefill GEMM %s T=%d C=%d OC=%d: bit for bit the fmaf chain from the bias in c order", names[ti], T, C, OC);
                check(ok_chain, what);
            }
            memset(part, 0xff, no * sizeof(float));
            ck__gemm_h16_rows(1, type, part, inp, wq, bias, T, C, OC, 5, OC - 3);
            for (i = 0; i < no; i++) {
                int in = (int)(i % (size_t)OC) >= 5 && (int)(i % (size_t)OC) < OC - 3;
                uint32_t u;
                memcpy(&u, &part[i], sizeof u);
                ok_part &= in ? memcmp(&part[i], &out[i], sizeof u) == 0 : u == 0xffffffffu;
            }
            snprintf(what, sizeof what, "prefill GEMM %s T=%d C=%d OC=%d: rows [5, OC-3) alone give the same bits, the others untouched",
                     names[ti], T, C, OC);
            check(ok_part, what);
#ifdef _OPENMP
            {
                int r;
                for (r = 1; r <= 3; r++) {
                    omp_set_num_threads(r);
                    ck_matmul_forward_qp(CK_Q_FAST, type, part, inp, wq, bias, T, C, OC);
                    ok_thr &= memcmp(part, out, no * sizeof(float)) == 0;
                }
                omp_set_num_threads(2);
            }
            snprintf(what, sizeof what, "prefill GEMM %s T=%d C=%d OC=%d: the same bits with 1, 2 and 3 threads", names[ti], T, C, OC);
            check(ok_thr, what);
#else
            (void)ok_thr;
#endif
            free(inp); free(w); free(wd); free(bias); free(out); free(tile); free(part); free(xq); free(wq); free(act);
        }
    printf("prefill GEMM (F16, BF16) vs the tile path: worst difference %.3f of the summation-order bound\n", worst_all);
#else
    printf("prefill GEMM for F16 / BF16 weights: not applicable (AVX-512 and AVX2 builds only; the tile path serves this build)\n");
#endif
}

#ifdef _OPENMP
/* The ops of a decode step inside ck_parallel_run (one parallel region, the pool's threads handed
   the matmuls and attention) give the bits they give outside it on one thread: the quantized
   matmuls (repacked where the build repacks), the multi-matmul, F16, F32, attention over a cache,
   and ops that stay on thread 0 there (a one-row rmsnorm; a CK__PAR_CALL op, rmsnorm of 64 rows
   and a long add, whose nested region is inactive). */
typedef struct {
    int C, OC, NH, NKV, HS, Tk;
    const void *wq8, *wq4k, *wf16;
    int tq8, tf16;
    const float *wf32, *x, *xs, *k, *v, *g, *ab;
    float *out; /* every op's output, one after the other */
} pr_case;
enum { PR_T = 64, PR_N = 100000 };
static size_t pr_size(const pr_case *c)
{
    return (size_t)c->OC * 6 + (size_t)c->NH * c->HS + (size_t)c->C * 2 + (size_t)PR_T * c->C + PR_N; /* the outputs of pr_ops */
}
static void pr_ops(void *p)
{
    const pr_case *c = (const pr_case *)p;
    float *o = c->out;
    ck_qmatmul mm[2];
    ck_rmsnorm_forward(o, NULL, c->x, c->g, 1, c->C, 1e-5f), o += c->C; /* (first: before any job, as a decode step's) */
    ck_matmul_forward_q(c->tq8, o, c->x, c->wq8, NULL, 1, c->C, c->OC), o += c->OC;
    ck_matmul_forward_q(CK_Q4_K, o, c->x, c->wq4k, c->g, 1, c->C, c->OC), o += c->OC;
    mm[0].type = c->tq8, mm[0].out = o, mm[0].weight = c->wq8, mm[0].bias = NULL, mm[0].OC = c->OC;
    mm[1].type = CK_Q4_K, mm[1].out = o + c->OC, mm[1].weight = c->wq4k, mm[1].bias = NULL, mm[1].OC = c->OC;
    ck_matmul_forward_q_multi(mm, 2, c->x, 1, c->C), o += 2 * c->OC;
    ck_matmul_forward_q(c->tf16, o, c->x, c->wf16, NULL, 1, c->C, c->OC), o += c->OC;
    ck_matmul_forward(o, c->x, c->wf32, c->g, 1, c->C, c->OC), o += c->OC;
    ck_attention_forward_tm(o, NULL, c->x, c->k, c->v, c->NH, c->NKV, 1, c->Tk, c->HS, c->Tk - 1, 0, 0.125f, 0.0f, (size_t)c->NH * c->HS,
                            (size_t)c->NKV * c->HS, (size_t)c->NH * c->HS), o += c->NH * c->HS;
    ck_rmsnorm_forward(o, NULL, c->xs, c->g, PR_T, c->C, 1e-5f), o += (size_t)PR_T * c->C;
    ck_add_forward(o, c->ab, c->ab + PR_N, PR_N), o += PR_N;
    ck_rmsnorm_forward(o, NULL, c->ab, c->g, 1, c->C, 1e-5f); /* (and one after the jobs) */
}
static void *pr_weight(int type, int OC, int C, int *layout)
{
    const size_t rb = ck_row_size(type, C);
    char *w = (char *)malloc((size_t)OC * rb);
    float *row = (float *)malloc((size_t)C * sizeof(float));
    int o, i;
    for (o = 0; o < OC; o++) {
        for (i = 0; i < C; i++) row[i] = grand() * 0.05f;
        ck_quantize_row(type, row, w + (size_t)o * rb, C);
    }
    *layout = ck_repack_type(type);
    if (*layout != type && ck_repack_rows(*layout, w, OC, C) != 0) *layout = type;
    free(row);
    return w;
}
static void test_parallel_run(void)
{
    pr_case c;
    float *ref, *got, *buf;
    size_t n, i;
    int nt, t4;
    char what[240];
    c.C = 1024, c.OC = 512, c.NH = 8, c.NKV = 2, c.HS = 128, c.Tk = 300;
    c.wq8 = pr_weight(CK_Q8_0, c.OC, c.C, &c.tq8);
    c.wq4k = pr_weight(CK_Q4_K, c.OC, c.C, &t4);
    c.wf16 = pr_weight(CK_F16, c.OC, c.C, &c.tf16);
    buf = (float *)malloc(((size_t)c.OC * c.C + (size_t)PR_T * c.C + 2 * (size_t)c.NKV * c.Tk * c.HS + c.C + 2 * PR_N) * sizeof(float));
    for (i = 0, n = (size_t)c.OC * c.C + (size_t)PR_T * c.C + 2 * (size_t)c.NKV * c.Tk * c.HS + c.C + 2 * PR_N; i < n; i++) buf[i] = grand();
    c.wf32 = buf, c.xs = buf + (size_t)c.OC * c.C, c.x = c.xs, c.k = c.xs + (size_t)PR_T * c.C, c.v = c.k + (size_t)c.NKV * c.Tk * c.HS;
    c.g = c.v + (size_t)c.NKV * c.Tk * c.HS, c.ab = c.g + c.C;
    n = pr_size(&c);
    check(t4 == CK_Q4_K && (double)c.OC * ck_row_size(CK_Q4_K, c.C) > CK_OMP_MIN_DECODE_BYTES && (double)PR_T * c.C > CK_OMP_MIN_WORK &&
              (double)c.NH * c.Tk * c.HS > CK_OMP_MIN_WORK && PR_N > CK_OMP_MIN_WORK,
          "parallel run: the shapes are over the split thresholds");
    ref = (float *)malloc(n * sizeof(float));
    got = (float *)malloc(n * sizeof(float));
    omp_set_num_threads(1);
    c.out = ref;
    pr_ops(&c);
    for (nt = 1; nt <= 3; nt++) {
        unsigned long h0 = ck__pool_handed;
        omp_set_num_threads(nt);
        memset(got, 0xff, n * sizeof(float)); /* NaNs wherever a thread leaves a value unwritten */
        c.out = got;
        ck_parallel_run(pr_ops, &c);
        snprintf(what, sizeof what, "ck_parallel_run, %d thread(s): rmsnorm of 1 row, Q8_0 (%s), Q4_K, multi, F16 (%s), F32 matmuls, attention, rmsnorm of %d rows, add, rmsnorm of 1 row: "
                 "the bits of one thread outside it; %lu jobs handed out", nt, c.tq8 == CK_Q8_0 ? "GGUF layout" : "repacked",
                 c.tf16 == CK_F16 ? "GGUF layout" : "repacked", PR_T, ck__pool_handed - h0);
        check(!memcmp(ref, got, n * sizeof(float)), what);
        /* the matmuls of Q8_0, Q4_K, the multi pair, F16 and attention, and F32 but in a scalar build
           (the scalar reference matmul keeps its OpenMP loop: in a pool, thread 0 runs it alone) */
        if (ck__wait_passive()) { /* OMP_WAIT_POLICY=passive: no pool, no spinning thread */
            snprintf(what, sizeof what, "ck_parallel_run, %d thread(s), OMP_WAIT_POLICY=passive: no jobs handed (%lu)", nt, ck__pool_handed - h0);
            check(ck__pool_handed == h0, what);
            continue;
        }
        snprintf(what, sizeof what, "ck_parallel_run, %d thread(s): the matmuls%s and attention went to the pool (%lu jobs)", nt,
                 HAS_SIMD ? " (F32 too)" : " (not the scalar F32)", ck__pool_handed - h0);
        check(nt == 1 ? ck__pool_handed == h0 : ck__pool_handed - h0 == (HAS_SIMD ? 6u : 5u), what);
    }
    omp_set_num_threads(2);
    free((void *)c.wq8); free((void *)c.wq4k); free((void *)c.wf16); free(buf); free(ref); free(got);
}

static void test_qthreads(void)
{
    static const int types[] = { CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_Q8_0, CK_IQ4_NL, CK_Q2_K, CK_Q3_K, CK_Q4_K, CK_Q5_K, CK_Q6_K, CK_F16, CK_BF16 };
    /* the last shape: the block-32 types' prefill GEMM (T >= 8; OC not a multiple of 16, threads splitting panels) */
    static const struct { int T, C, OC; } shapes[] = { { 1, 512, 300 }, { 5, 512, 37 }, { 20, 2048, 1100 }, { 40, 1120, 77 } };
    int ti, si, path, r, simd;
    for (ti = 0; ti < (int)(sizeof types / sizeof types[0]); ti++)
        for (si = 0; si < 4; si++) {
            int type = types[ti], T = shapes[si].T, C = shapes[si].C, OC = shapes[si].OC, ok = 1;
            size_t no = (size_t)T * OC, rb = ck_row_size(type, C);
            float *inp = (float *)malloc((size_t)T * C * sizeof(float)), *row = (float *)malloc((size_t)C * sizeof(float));
            float *out[3];
            char *wq = (char *)malloc((size_t)OC * rb);
            char what[160];
            int o;
            size_t i;
            if ((si == 2 && type != CK_Q8_0 && type != CK_Q4_K) || (si == 3 && ck_type_block_size(type) != 32)) { /* the big shape: two types */
                free(inp); free(row); free(wq);
                continue;
            }
            for (i = 0; i < (size_t)T * C; i++) inp[i] = grand();
            for (o = 0; o < OC; o++) {
                for (i = 0; i < (size_t)C; i++) row[i] = grand() * 0.05f;
                ck_quantize_row(type, row, wq + (size_t)o * rb, C);
            }
            for (simd = 0; simd < 2; simd++)
                for (path = CK_Q_EXACT; path <= CK_Q_FAST; path++) {
                    for (r = 0; r < 3; r++) {
                        out[r] = (float *)malloc(no * sizeof(float));
                        omp_set_num_threads(r + 1);
                        if (simd) ck_matmul_forward_qp(path, type, out[r], inp, wq, NULL, T, C, OC);
                        else ck_matmul_forward_qp_scalar(path, type, out[r], inp, wq, NULL, T, C, OC);
                    }
                    ok &= memcmp(out[0], out[1], no * sizeof(float)) == 0 && memcmp(out[0], out[2], no * sizeof(float)) == 0;
                    for (r = 0; r < 3; r++) free(out[r]);
                }
            snprintf(what, sizeof what, "matmul_q %s T=%d C=%d OC=%d: bit-identical with 1, 2 and 3 threads (exact and fast, scalar and SIMD)",
                     ck_type_name(type), T, C, OC);
            check(ok, what);
            free(inp); free(row); free(wq);
        }
    omp_set_num_threads(2);
}
#endif

int main(void)
{
    static const int Ts[] = { 1, 2, 3, 5, 64 }, Cs[] = { 256, 512, 4864 }, OCs[] = { 1, 3, 7, 64 };
    int ti, a, b, c;
    printf("ckernel weight-format tests, SIMD: %s\n", ck_simd_name());
#ifdef CK_EXPECT_SIMD /* the Makefile's cross builds: the paths the flags must select, not silently scalar */
    check(strcmp(ck_simd_name(), CK_EXPECT_SIMD) == 0, "this build selected the SIMD paths its flags ask for (CK_EXPECT_SIMD)");
#endif
    test_type_table();
    test_fp16();
    test_bf16();
    test_dequant_layout();
    test_known_answers();
    test_fixed_points();
    test_quant_error();
    test_act_blocks();
    for (ti = 0; ti < N_MM_TYPES; ti++)
        for (a = 0; a < 5; a++)
            for (b = 0; b < 3; b++)
                for (c = 0; c < 4; c++) {
                    if (Cs[b] == 4864 && Ts[a] * OCs[c] > 64) continue; /* keep the big C to small products */
                    test_qmatmul(mm_types[ti], Ts[a], Cs[b], OCs[c], (a + c) & 1);
                }
    test_qmatmul(CK_Q8_1, 2, 256, 5, 1); /* not required for the matmul, but served by the exact path */
    if (HAS_SIMD) {
        char na_exact[200] = "", na_fast[200] = "";
        int any_exact = 0;
        for (ti = 0; ti < N_MM_TYPES; ti++) {
            const char *name = ck_type_name(mm_types[ti]);
            if (!exact_has_simd(mm_types[ti])) snprintf(na_exact + strlen(na_exact), sizeof na_exact - strlen(na_exact), " %s", name);
            else any_exact = 1;
            if (!fast_has_simd(mm_types[ti])) snprintf(na_fast + strlen(na_fast), sizeof na_fast - strlen(na_fast), " %s", name);
        }
        printf("matmul_q worst relative errors: exact vs fp64 %.2e, fast vs fp64 (quantized activations) %.2e; SIMD vs scalar: exact ",
               worst_exact, worst_fast);
        if (any_exact) printf("%.2e", worst_simd_exact);
        else printf("not applicable");
        printf(", fast %.2e (over the types with a SIMD path)\n", worst_simd_fast);
        printf("matmul_q SIMD vs scalar not applicable (no %s path for them): exact:%s; fast:%s\n", ck_simd_name(),
               na_exact[0] ? na_exact : " none", na_fast[0] ? na_fast : " none");
    }
    else
        printf("matmul_q worst relative errors: exact vs fp64 %.2e, fast vs fp64 (quantized activations) %.2e; "
               "SIMD vs scalar (matmul, dequantize): not applicable in a scalar build\n", worst_exact, worst_fast);
    /* Fast vs exact, over all the shapes of a type (inp ~ N(0,1), w ~ N(0,1)/sqrt(C)): the 8-bit
       activations are off by up to d/2, d = amax/127, which is ~5e-3 relative for blocks of 32
       (amax ~2.3) and ~7e-3 for Q8_K's 256 (amax ~3); llama.cpp's fast path has the same. */
    printf("matmul_q fast vs exact (relative, all shapes):");
    for (ti = 0; ti < N_MM_TYPES; ti++) {
        int type = mm_types[ti];
        double e = sqrt(fve_num[type]) / sqrt(fve_den[type]);
        char what[128];
        printf(" %s %.1e", ck_type_name(type), e);
        snprintf(what, sizeof what, "matmul_q fast vs exact %s: relative error %.3g >= 1e-2", ck_type_name(type), e);
        check(e < 1e-2, what);
    }
    printf("\n");
    test_qmatmul_multi();
    test_qmatmul_multi_x16f();
    test_repack();
    test_repack_float();
    test_gemv_h16();
    test_gemm_int();
    test_hgemm();
#ifdef _OPENMP
    test_qthreads();
    test_parallel_run();
#else
    printf("built without OpenMP: thread-count determinism not exercised in this binary\n");
#endif
    printf("SIMD (%s) vs scalar: %d comparisons ran (each one or more checks above), %d not applicable\n", ck_simd_name(), n_simd_cmp, n_simd_na);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
