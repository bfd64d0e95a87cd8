/* tests/test_mpi_sum.c — examples/train_mpi.h's gradient sum (mp_sum) under mpirun -np N: every
   element must come out as the left fold ((g_0 + g_1) + g_2) + ... in rank order, bit for bit, on
   every rank. The values are chosen so that the association order shows: rank r's element i is
   big (+-2^24 + small) on some ranks and small on others, so (a + b) + c and a + (b + c) round
   differently for most elements; a sum in any other order (MPI_Allreduce's tree, arrival order)
   fails. Each rank generates every rank's data, so it can compute the expected fold itself.
   The length is not a multiple of the bucket or of N; MP_BUCKET is small: many bucket edges.
   Run by tests/test_mpi.py: mpicc -DCK_MPI ... && mpirun -np N test_mpi_sum; prints "ok N ranks ..." */
#define MP_BUCKET ((size_t)1000)
#include "examples/train_mpi.h"

static float value(int r, size_t i)
{
    uint64_t h = ts_fnv(TS_FNV_INIT, &i, sizeof i) ^ (uint64_t)r * 0x9E3779B97F4A7C15ull;
    float small = (float)((h >> 11) % 1000003) / 1000003.0f;
    h = h * 6364136223846793005ull + 1442695040888963407ull;
    if ((h >> 60) < 6) return ((h >> 59) & 1 ? 16777216.0f : -16777216.0f) + small; /* big */
    return small * 3.0f;
}

int main(int argc, char **argv)
{
    const size_t n = 10 * MP_BUCKET + 7;
    float *g = (float *)malloc(n * sizeof *g);
    size_t i, bad = 0, order_matters = 0;
    int r;
    uint64_t h, *all;
    mp_init(&argc, &argv);
    all = (uint64_t *)malloc((size_t)mp_size * sizeof *all);
    if (!g || !all) return 1;
    for (i = 0; i < n; i++) g[i] = value(mp_rank, i);
    mp_sum(g, n);
    for (i = 0; i < n; i++) {
        float want = value(0, i), rev = value(mp_size - 1, i);
        for (r = 1; r < mp_size; r++) want += value(r, i);
        for (r = mp_size - 2; r >= 0; r--) rev += value(r, i);
        if (memcmp(&want, &g[i], sizeof want)) bad++;
        if (want != rev) order_matters++;
    }
    h = ts_fnv(TS_FNV_INIT, g, n * sizeof *g);
    MPI_Allgather(&h, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    for (r = 1; r < mp_size; r++)
        if (all[r] != all[0]) { if (mp_rank == 0) printf("FAIL: rank %d holds another sum than rank 0\n", r); bad++; }
    if (mp_rank == 0) {
        if (bad) printf("FAIL: %zu of %zu elements are not the rank-order sum on rank 0\n", bad, n);
        else printf("ok %d ranks: %zu elements equal the rank-order sum on every rank (the reverse order differs in %zu)\n", mp_size, n,
                    order_matters);
    }
    free(g);
    free(all);
    mp_finalize();
    return bad ? 1 : 0;
}
