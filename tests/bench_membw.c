/* Memory read bandwidth: every OpenMP thread sums its part of a 1 GB array of floats (far larger
   than any cache) into 32 independent accumulators, best of 5. The decode floor of a model is
   this number over its bytes of weights. */
#include <stdio.h>
#include <stdlib.h>
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

int main(void)
{
    size_t n = (size_t)1 << 28, i; /* 1 GB of floats */
    float *a = (float *)malloc(n * sizeof(float));
    double best = 1e30, sink = 0;
    int r;
    if (!a) { fprintf(stderr, "bench_membw: out of memory\n"); return 1; }
#pragma omp parallel for schedule(static)
    for (i = 0; i < n; i++) a[i] = (float)(i & 255);
    for (r = 0; r < 5; r++) {
        double t0 = now(), s = 0;
#pragma omp parallel reduction(+ : s)
        {
            int nt = 1, id = 0;
            size_t lo, hi, k, j;
            float acc[32] = { 0 };
#ifdef _OPENMP
            nt = omp_get_num_threads();
            id = omp_get_thread_num();
#endif
            lo = n / 32 / (size_t)nt * (size_t)id * 32;
            hi = id == nt - 1 ? n : n / 32 / (size_t)nt * (size_t)(id + 1) * 32;
            for (j = lo; j < hi; j += 32)
                for (k = 0; k < 32; k++) acc[k] += a[j + k];
            for (k = 0; k < 32; k++) s += acc[k];
        }
        t0 = now() - t0;
        sink += s;
        if (t0 < best) best = t0;
    }
    printf("memory read bandwidth: %.2f GB/s (1 GB array, best of 5; checksum %g)\n", n * sizeof(float) / best / 1e9, sink);
    free(a);
    return 0;
}
