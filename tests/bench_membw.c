/* Memory read bandwidth: every OpenMP thread sums its part of a 1 GB array of floats (far larger
   than any cache) as 1, 2, 4 and 8 concurrent streams, the best of 5 passes of each and the best
   count (ck_peak_read_gbps, which run --profile uses too). The decode floor of a model is this
   number over its bytes of weights. */
#define _DEFAULT_SOURCE /* clock_gettime; mmap, madvise and MADV_HUGEPAGE for ck_peak.h (glibc, musl) */
#include "ckernel.h" /* declarations only: CK_HAVE_* for ck_peak.h */
#include "../examples/ck_peak.h"

#include <stdio.h>

int main(void)
{
    double gbps = ck_peak_read_gbps((size_t)1 << 30, 5);
    if (gbps <= 0) { fprintf(stderr, "bench_membw: out of memory\n"); return 1; }
    printf("memory read bandwidth: %.2f GB/s (1 GB array, best of 5)\n", gbps);
    return 0;
}
