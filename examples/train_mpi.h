/* examples/train_mpi.h — data-parallel training over MPI for examples/train.c: all of its MPI code.
   Built in with -DCK_MPI (compile train.c with mpicc; Debian: libopenmpi-dev, openmpi-bin); without
   it the same functions are the one-process versions below and <mpi.h> is not included.

   What train.c does with them (its header comment and the README's "Training over MPI" say more):
     mp_init/mp_finalize   MPI_Init/MPI_Finalize; mp_rank of mp_size ranks (0 of 1 without MPI)
     mp_check              start-up: every rank's model, data and options (as named fields) are
                           exchanged with MPI_Allgather; the first field where a rank differs from
                           rank 0 is named with both values and every rank refuses
     mp_agree_rc           a setup error on any rank ends every rank (no rank waits for a dead one)
     mp_step_agree         once per step: the global loss sum (rank order) and any rank's stop signal
     mp_sum                the gradient section summed over the ranks, in a fixed order
     mp_abort              a failure on one rank after the start (a checkpoint write): MPI_Abort

   The sum (mp_sum) does not use MPI_Allreduce, whose association order depends on the algorithm
   Open MPI or MPICH picks (message size, rank count, tuning): every element is summed as
   ((g_0 + g_1) + g_2) + ... + g_{N-1}, rank order, by the rank that owns it, so the result is a
   function of the N gradients alone and a run repeats bit for bit. It is a reduce-scatter and an
   allgather done by hand, bucket by bucket (MP_BUCKET floats; the receive buffer is one bucket):
   MPI_Alltoallv sends slice j of the bucket to rank j, rank j adds the N copies of its slice in
   rank order, and MPI_Allgatherv copies the summed slices back to every rank. Each rank sends and
   receives 2 (N-1)/N of the section, as a ring all-reduce does; the allgather copies bytes, so
   every rank holds the same sum and, applying the same AdamW step, the same weights. */
#ifndef CK_TRAIN_MPI_H
#define CK_TRAIN_MPI_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_state.h" /* ts_fmt, ts_bitsd: a real option printed as it was given */

static int mp_rank = 0, mp_size = 1;
static double mp_seconds; /* time spent in mp_sum, for the summary line */

/* a start-up field: what the ranks must agree on */
enum { MP_INT, MP_REAL, MP_HASH };
typedef struct {
    const char *name; /* the option or file it comes from, e.g. "--lr", "--data" */
    int kind;         /* MP_INT: v is the value; MP_REAL: v is a double's bits (ts_dbits); MP_HASH: v is a hash of a file or weights */
    uint64_t v;
} mp_field;

#ifdef CK_MPI
#include <mpi.h>

/* the message for field f, where rank r has v and rank 0 has v0 */
static void mp_say_diff(const mp_field *f, int r, uint64_t v, uint64_t v0)
{
    if (f->kind == MP_INT)
        fprintf(stderr, "train: rank %d has %s %llu, rank 0 has %llu", r, f->name, (unsigned long long)v, (unsigned long long)v0);
    else if (f->kind == MP_REAL) {
        char a[32], b[32];
        fprintf(stderr, "train: rank %d has %s %s, rank 0 has %s", r, f->name, ts_fmt(a, ts_bitsd(v)), ts_fmt(b, ts_bitsd(v0)));
    }
    else
        fprintf(stderr, "train: rank %d's %s differs from rank 0's (FNV-1a 0x%016llx, rank 0 0x%016llx)", r, f->name, (unsigned long long)v,
                (unsigned long long)v0);
    fprintf(stderr, ": every rank must be started with the same files and options\n");
}

#ifndef MP_BUCKET /* tests/test_mpi_sum.c sets a small one to cross many bucket edges */
#define MP_BUCKET ((size_t)1 << 22) /* floats per all-reduce bucket (16 MB): the receive buffer */
#endif

static int mp_init(int *argc, char ***argv)
{
    int level;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &level); /* OpenMP threads compute; only the main thread calls MPI */
    MPI_Comm_rank(MPI_COMM_WORLD, &mp_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mp_size);
    return 0;
}

/* a barrier first: a rank that exits non-zero (75 after a stop) makes mpirun end the others, so
   none leaves before rank 0 has written its checkpoint */
static void mp_finalize(void)
{
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
}

/* after a failure on this rank that the others cannot see coming: end the whole job */
static void mp_abort(int rc)
{
    if (mp_size > 1) {
        fprintf(stderr, "train: rank %d failed: aborting all %d ranks\n", mp_rank, mp_size);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
}

/* the largest exit code of any rank's setup (0: all ready); every rank calls it once */
static int mp_agree_rc(int rc)
{
    int all = rc;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (all && !rc && mp_rank == 0) fprintf(stderr, "train: another rank failed to start (its message is above)\n");
    return all;
}

/* 0 when every rank's fields equal rank 0's; else -1, the first difference said by rank 0 */
static int mp_check(const mp_field *f, int n)
{
    uint64_t *mine = (uint64_t *)malloc((size_t)n * sizeof *mine), *all = (uint64_t *)malloc((size_t)n * (size_t)mp_size * sizeof *all);
    int r, i, bad = 0;
    if (!mine || !all) { fprintf(stderr, "train: out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    for (i = 0; i < n; i++) mine[i] = f[i].v;
    MPI_Allgather(mine, n, MPI_UINT64_T, all, n, MPI_UINT64_T, MPI_COMM_WORLD);
    for (r = 1; r < mp_size && !bad; r++)
        for (i = 0; i < n && !bad; i++)
            if (all[(size_t)r * n + i] != all[i]) {
                if (mp_rank == 0) mp_say_diff(&f[i], r, all[(size_t)r * n + i], all[i]);
                bad = 1;
            }
    free(mine);
    free(all);
    return bad ? -1 : 0;
}

/* *loss: this rank's loss sum -> the sum over ranks (added in rank order); *stop: this rank's
   stop signal (0 or its number) -> the largest over ranks. Every rank gets the same values. */
static void mp_step_agree(double *loss, int *stop)
{
    double mine[2], *all;
    int r;
    if (mp_size == 1) return;
    all = (double *)malloc(2 * (size_t)mp_size * sizeof *all);
    if (!all) { fprintf(stderr, "train: out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    mine[0] = *loss; mine[1] = *stop;
    MPI_Allgather(mine, 2, MPI_DOUBLE, all, 2, MPI_DOUBLE, MPI_COMM_WORLD);
    *loss = 0;
    for (r = 0; r < mp_size; r++) {
        *loss += all[2 * r];
        if (all[2 * r + 1] > *stop) *stop = (int)all[2 * r + 1];
    }
    free(all);
}

/* g[0..n) := the sum over the ranks of their g, element by element in rank order (see the top) */
static void mp_sum(float *g, size_t n)
{
    static float *recv;
    static int *cnt, *dsp, *rcnt, *rdsp;
    double t0 = MPI_Wtime();
    size_t off;
    int r;
    if (mp_size == 1) return;
    if (!recv) {
        recv = (float *)malloc((MP_BUCKET + (size_t)mp_size) * sizeof *recv);
        cnt = (int *)malloc(4 * (size_t)mp_size * sizeof *cnt);
        if (!recv || !cnt) { fprintf(stderr, "train: out of memory (all-reduce buffer)\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
        dsp = cnt + mp_size; rcnt = dsp + mp_size; rdsp = rcnt + mp_size;
    }
    for (off = 0; off < n; off += MP_BUCKET) {
        size_t len = n - off < MP_BUCKET ? n - off : MP_BUCKET, slice = (len + (size_t)mp_size - 1) / (size_t)mp_size, k;
        float *b = g + off, *mine;
        int my_n;
        for (r = 0; r < mp_size; r++) { /* slice r of the bucket: [r * slice, min(len, (r + 1) * slice)) */
            size_t lo = (size_t)r * slice < len ? (size_t)r * slice : len, hi = lo + slice < len ? lo + slice : len;
            cnt[r] = (int)(hi - lo); dsp[r] = (int)lo;
        }
        my_n = cnt[mp_rank];
        for (r = 0; r < mp_size; r++) { rcnt[r] = my_n; rdsp[r] = r * my_n; } /* rank r's copy of my slice */
        MPI_Alltoallv(b, cnt, dsp, MPI_FLOAT, recv, rcnt, rdsp, MPI_FLOAT, MPI_COMM_WORLD);
        mine = b + dsp[mp_rank];
        for (k = 0; k < (size_t)my_n; k++) {
            float s = recv[k];
            for (r = 1; r < mp_size; r++) s += recv[(size_t)r * my_n + k];
            mine[k] = s;
        }
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, b, cnt, dsp, MPI_FLOAT, MPI_COMM_WORLD);
    }
    mp_seconds += MPI_Wtime() - t0;
}

#else /* one process: the same calls, nothing to exchange */

/* a program built without CK_MPI, started as one of several MPI processes, would train N
   independent copies writing the same --out: refused */
static int mp_init(int *argc, char ***argv)
{
    const char *n = getenv("OMPI_COMM_WORLD_SIZE"), *p = getenv("PMI_SIZE");
    (void)argc; (void)argv;
    if (!n) n = p;
    if (n && atoi(n) > 1) {
        fprintf(stderr, "train: started as one of %s MPI processes, but this program was built without MPI: compile examples/train.c "
                        "with mpicc -DCK_MPI (README: Training over MPI)\n", n);
        return 2;
    }
    return 0;
}
static void mp_finalize(void) {}
static void mp_abort(int rc) { (void)rc; }
static int mp_agree_rc(int rc) { return rc; }
static int mp_check(const mp_field *f, int n) { (void)f; (void)n; return 0; }
static void mp_step_agree(double *loss, int *stop) { (void)loss; (void)stop; }
static void mp_sum(float *g, size_t n) { (void)g; (void)n; }
#endif

#endif /* CK_TRAIN_MPI_H */
