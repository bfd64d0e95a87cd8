/* Memory read bandwidth: sum a 1 GB array of floats (far larger than any cache), best of 5, with
   every OpenMP thread. The decode floor of a model is this number over its bytes of weights. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
#pragma omp parallel for schedule(static) reduction(+ : s)
        for (i = 0; i < n; i += 64) { /* 16 independent sums: the loop waits on memory, not on adds */
            float acc[16] = { 0 };
            size_t j;
            for (j = 0; j < 64; j++) acc[j & 15] += a[i + j];
            for (j = 0; j < 16; j++) s += acc[j];
        }
        t0 = now() - t0;
        sink += s;
        if (t0 < best) best = t0;
    }
    printf("memory read bandwidth: %.2f GB/s (1 GB array, best of 5; checksum %g)\n", n * sizeof(float) / best / 1e9, sink);
    free(a);
    return 0;
}
