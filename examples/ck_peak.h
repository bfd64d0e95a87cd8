/* examples/ck_peak.h — the machine's measured peaks, in one place: the FMA peak (GFLOP/s) and the
   memory read bandwidth (GB/s), on the OpenMP threads of the caller. run --profile measures both
   beside its op times; tests/bench_kernels.c and tests/bench_membw.c print them. Include it after
   ckernel.h (its CK_HAVE_AVX2 / CK_HAVE_AVX512 choose the vector width); it is host code (clock_gettime,
   malloc), not for firmware. */
#ifndef CK_PEAK_H
#define CK_PEAK_H
#include <stdlib.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

static inline double ck_peak_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static volatile float ck_peak_sink; /* keeps the loops from being optimised away */

/* the loops are measured as an optimising build runs them even in an -O0 build (ck view's and the
   tests' quick programs): unoptimised, the FMA chains would go through memory and the "peak" would be
   a fraction of the machine's (GCC's optimize attribute; clang has none: build with -O1 or more there) */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE__)
#define CK_PEAK_OPT __attribute__((optimize("O2")))
#else
#define CK_PEAK_OPT
#endif

/* FMA peak: 12 independent FMA chains per thread, the pattern the matmul kernels approach, in the
   widest vectors the build uses (512-bit FMAs in an AVX-512 build: on CPUs with full-width 512-bit
   units, Zen 5 among them, they do twice the work of 256-bit ones per cycle). iters: 2e7 is about
   0.05 s on a 3 GHz core. */
#if CK_HAVE_AVX512
#define CK_PEAK_V __m512
#define CK_PEAK_LANES 16
#define CK_PEAK_SET1 _mm512_set1_ps
#define CK_PEAK_FMA _mm512_fmadd_ps
#define CK_PEAK_ADD _mm512_add_ps
#define CK_PEAK_SUM _mm512_reduce_add_ps
#elif CK_HAVE_AVX2
#define CK_PEAK_V __m256
#define CK_PEAK_LANES 8
#define CK_PEAK_SET1 _mm256_set1_ps
#define CK_PEAK_FMA _mm256_fmadd_ps
#define CK_PEAK_ADD _mm256_add_ps
#define CK_PEAK_SUM _mm256_cvtss_f32
#endif
#ifdef CK_PEAK_V
#include <immintrin.h>
#endif
CK_PEAK_OPT static inline double ck_peak_fma_gflops(long iters)
{
    double t0 = ck_peak_now(), flops;
    int nthreads = 1;
#ifdef _OPENMP
#pragma omp parallel
    {
#pragma omp single
        nthreads = omp_get_num_threads();
#endif
#ifdef CK_PEAK_V
        /* twelve named accumulators so they live in registers, not in an array in memory */
        CK_PEAK_V m = CK_PEAK_SET1(0.999999f), b = CK_PEAK_SET1(1e-7f);
        CK_PEAK_V a0 = CK_PEAK_SET1(0), a1 = CK_PEAK_SET1(1), a2 = CK_PEAK_SET1(2), a3 = CK_PEAK_SET1(3);
        CK_PEAK_V a4 = CK_PEAK_SET1(4), a5 = CK_PEAK_SET1(5), a6 = CK_PEAK_SET1(6), a7 = CK_PEAK_SET1(7);
        CK_PEAK_V a8 = CK_PEAK_SET1(8), a9 = CK_PEAK_SET1(9), a10 = CK_PEAK_SET1(10), a11 = CK_PEAK_SET1(11);
        long i;
        for (i = 0; i < iters; i++) {
            a0 = CK_PEAK_FMA(a0, m, b); a1 = CK_PEAK_FMA(a1, m, b); a2 = CK_PEAK_FMA(a2, m, b);
            a3 = CK_PEAK_FMA(a3, m, b); a4 = CK_PEAK_FMA(a4, m, b); a5 = CK_PEAK_FMA(a5, m, b);
            a6 = CK_PEAK_FMA(a6, m, b); a7 = CK_PEAK_FMA(a7, m, b); a8 = CK_PEAK_FMA(a8, m, b);
            a9 = CK_PEAK_FMA(a9, m, b); a10 = CK_PEAK_FMA(a10, m, b); a11 = CK_PEAK_FMA(a11, m, b);
        }
        a0 = CK_PEAK_ADD(CK_PEAK_ADD(CK_PEAK_ADD(a0, a1), CK_PEAK_ADD(a2, a3)), CK_PEAK_ADD(CK_PEAK_ADD(a4, a5), CK_PEAK_ADD(a6, a7)));
        a0 = CK_PEAK_ADD(a0, CK_PEAK_ADD(CK_PEAK_ADD(a8, a9), CK_PEAK_ADD(a10, a11)));
        ck_peak_sink += CK_PEAK_SUM(a0);
#else
        float m = 0.999999f, b = 1e-7f, a0 = 0, a1 = 1, a2 = 2, a3 = 3, a4 = 4, a5 = 5, a6 = 6, a7 = 7;
        long i;
        for (i = 0; i < iters; i++) {
            a0 = a0 * m + b; a1 = a1 * m + b; a2 = a2 * m + b; a3 = a3 * m + b;
            a4 = a4 * m + b; a5 = a5 * m + b; a6 = a6 * m + b; a7 = a7 * m + b;
        }
        ck_peak_sink += a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
#endif
#ifdef _OPENMP
    }
#endif
#ifdef CK_PEAK_V
    flops = 2.0 * iters * 12 * CK_PEAK_LANES * nthreads;
#else
    flops = 2.0 * iters * 8 * nthreads;
#endif
    return flops / (ck_peak_now() - t0) * 1e-9;
}

/* Memory read bandwidth: every OpenMP thread sums its part of an array of `bytes` (far larger than
   any cache: 1 GB for bench-membw, 256 MB for run --profile) as S concurrent streams (S equal runs
   read in one loop, 64 bytes of each a step), for S = 1, 2, 4 and 8; the best of `reps` passes of
   each S, and the best S is returned. Why streams: a core's read rate depends on how many lines it
   has in flight, and one sequential stream leaves it short of what the decode kernels reach reading
   several weight rows at once (a GEMV does). The floor is the best read rate the core achieves, not
   that of one pattern: on one Zen 4 core (a shared 2-vCPU VM) one stream read 22-27 GB/s, 2 to 8
   streams 29-35, and the best S varies with the run. It costs 4 x `reps` passes where one stream
   cost `reps`, but the allocation and first touch of the array dominate: run --profile's 256 MB
   measurement takes ~1.1x the time it did with one stream. The decode floor of a model is this
   number over its bytes of weights. 0 when the array cannot be allocated. */
/* the sum of a[0..len) read as `streams` (1, 2, 4 or 8) concurrent streams: equal runs of whole
   64-byte lines, each step adding 16 floats of every run into 16 accumulators; then the floats
   after the last run. One plain loop per count: with a loop over the streams inside (an
   accumulator row per stream) GCC -O3 emitted shuffles and clang -O2 scalar code, 4-20 GB/s where
   this form reads 30-36 with GCC -O2, -O3 and clang -O2 alike. */
CK_PEAK_OPT static inline double ck_peak_sum_streams(const float *a, size_t len, int streams)
{
    float acc[16] = { 0 };
    size_t per = len / (16 * (size_t)streams) * 16, j, k;
    double sum = 0;
    if (streams == 1) {
        for (j = 0; j < per; j += 16)
            for (k = 0; k < 16; k++) acc[k] += a[j + k];
    } else if (streams == 2) {
        const float *b = a + per;
        for (j = 0; j < per; j += 16)
            for (k = 0; k < 16; k++) acc[k] += a[j + k] + b[j + k];
    } else if (streams == 4) {
        const float *b = a + per, *c = a + 2 * per, *d = a + 3 * per;
        for (j = 0; j < per; j += 16)
            for (k = 0; k < 16; k++) acc[k] += (a[j + k] + b[j + k]) + (c[j + k] + d[j + k]);
    } else {
        const float *b = a + per, *c = a + 2 * per, *d = a + 3 * per, *e = a + 4 * per, *f = a + 5 * per, *g = a + 6 * per, *h = a + 7 * per;
        for (j = 0; j < per; j += 16)
            for (k = 0; k < 16; k++) acc[k] += ((a[j + k] + b[j + k]) + (c[j + k] + d[j + k])) + ((e[j + k] + f[j + k]) + (g[j + k] + h[j + k]));
    }
    for (j = (size_t)streams * per; j < len; j++) sum += a[j];
    for (k = 0; k < 16; k++) sum += acc[k];
    return sum;
}
/* The array is in 2 MB pages where the system gives them (Linux with the includer's _DEFAULT_SOURCE or
   _GNU_SOURCE: mmap + madvise(MADV_HUGEPAGE), as ck_model_repack places the weights), else malloc's:
   on Zen 5 one core read 38-45 GB/s from 2 MB pages against 33-38 from 4 KB ones (the TLB misses). */
#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MAP_ANONYMOUS)
#define CK_PEAK_HUGE 1
#else
#define CK_PEAK_HUGE 0
#endif
CK_PEAK_OPT static inline double ck_peak_read_gbps(size_t bytes, int reps)
{
    size_t n = bytes / sizeof(float) / 16 * 16, i;
    double best = 1e30, sink = 0;
    int r, streams;
#if CK_PEAK_HUGE
    void *m = n ? mmap(NULL, n * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    float *a = m == MAP_FAILED ? NULL : (float *)m;
    if (a) madvise(m, n * sizeof(float), MADV_HUGEPAGE); /* a hint: refused, 4 KB pages */
#else
    float *a = n ? (float *)malloc(n * sizeof(float)) : NULL;
#endif
    if (!a) return 0.0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (i = 0; i < n; i++) a[i] = (float)(i & 255);
    for (r = 0; r < reps; r++)
        for (streams = 1; streams <= 8; streams *= 2) {
            double t0 = ck_peak_now(), s = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(+ : s)
#endif
            {
                int nt = 1, id = 0;
                size_t lo, hi;
#ifdef _OPENMP
                nt = omp_get_num_threads();
                id = omp_get_thread_num();
#endif
                lo = n / 16 / (size_t)nt * (size_t)id * 16; /* whole 64-byte lines */
                hi = id == nt - 1 ? n : n / 16 / (size_t)nt * (size_t)(id + 1) * 16;
                s += ck_peak_sum_streams(a + lo, hi - lo, streams);
            }
            t0 = ck_peak_now() - t0;
            sink += s;
            if (t0 < best) best = t0;
        }
    ck_peak_sink += (float)sink;
#if CK_PEAK_HUGE
    munmap(m, n * sizeof(float));
#else
    free(a);
#endif
    return (double)n * sizeof(float) / best / 1e9;
}
#endif /* CK_PEAK_H */
