/* tests/bench_allreduce.c — the cost of examples/train_mpi.h's gradient sum (mp_sum: rank order,
   reduce-scatter by MPI_Alltoallv + allgather, bucketed) beside a plain MPI_Allreduce(MPI_SUM) of the
   same buffer, which is faster where its algorithm is but does not fix the order of the additions.
       mpirun -np N build/bench_allreduce FLOATS [REPS]     (tests/bench_train.py, row mpi)
   FLOATS: the gradient section, e.g. 124439808 for the GPT-2 124M shape (498 MB). Prints per method
   the median ms, the algorithm bandwidth (bytes / time) and the bus bandwidth (2 (N-1)/N x bytes /
   time: what each rank sends, as in nccl-tests), and whether the two sums are bit-identical. */
#include "examples/train_mpi.h"

static int cmp_double(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv)
{
    size_t n, i;
    int reps, k, method, same;
    float *g, *h;
    double t[2][32], med[2];
    mp_init(&argc, &argv);
    if (argc < 2 || (n = (size_t)strtoull(argv[1], NULL, 10)) == 0 || n > ((size_t)1 << 31) - 1) {
        if (mp_rank == 0) fprintf(stderr, "usage: mpirun -np N bench_allreduce FLOATS [REPS]: FLOATS from 1 to 2^31 - 1\n");
        mp_finalize();
        return 2;
    }
    reps = argc > 2 ? atoi(argv[2]) : 5;
    if (reps < 1 || reps > 32) reps = 5;
    g = (float *)malloc(n * sizeof *g);
    h = (float *)malloc(n * sizeof *h);
    if (!g || !h) { fprintf(stderr, "bench_allreduce: out of memory for 2 x %zu floats\n", n); MPI_Abort(MPI_COMM_WORLD, 1); }
    for (method = 0; method < 2; method++)
        for (k = 0; k < reps; k++) {
            double t0;
            for (i = 0; i < n; i++) g[i] = (float)((i * 2654435761u + (size_t)mp_rank * 40503u) % 1000003) * 1e-6f;
            MPI_Barrier(MPI_COMM_WORLD);
            t0 = MPI_Wtime();
            if (method == 0) mp_sum(g, n);
            else MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            t[method][k] = MPI_Wtime() - t0;
            if (method == 0 && k == 0) memcpy(h, g, n * sizeof *g);
        }
    same = memcmp(g, h, n * sizeof *g) == 0;
    MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    for (method = 0; method < 2; method++) {
        double mx[32];
        MPI_Allreduce(t[method], mx, reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); /* a sum ends when its slowest rank has it */
        qsort(mx, (size_t)reps, sizeof *mx, cmp_double);
        med[method] = mx[reps / 2];
    }
    if (mp_rank == 0) {
        double bytes = (double)n * sizeof(float), bus = 2.0 * (mp_size - 1) / mp_size;
        const char *name[2] = { "mp_sum (rank order)", "MPI_Allreduce" };
        printf("all-reduce of %zu floats (%.0f MB), %d ranks, median of %d:\n", n, bytes / 1e6, mp_size, reps);
        for (method = 0; method < 2; method++)
            printf("  %-20s %8.1f ms  %6.2f GB/s algorithm  %6.2f GB/s bus\n", name[method], med[method] * 1e3, bytes / med[method] / 1e9,
                   bus * bytes / med[method] / 1e9);
        printf("  mp_sum / MPI_Allreduce time: %.2f; results %s\n", med[0] / med[1],
               same ? "bit-identical" : "differ (MPI_Allreduce adds in another order)");
    }
    free(g);
    free(h);
    mp_finalize();
    return 0;
}
