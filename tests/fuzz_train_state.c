/* libFuzzer target for the training state reader of examples/train.c (make fuzz-train-state).
   For every input: ts_read() as train.c reads a file (through fmemopen, with the input's size as
   the file's size), and ts_parse_header() alone with the size a state of this layout has (so the
   checks after the size are reached by any header); a failure must say why, a success must hold
   the invariants train.c relies on (step <= steps, data_pos < train_tokens, a batch fits), and
   ts_match() must accept the state against itself and say why it refuses another run.
   Built with -DFUZZ_SEEDS_MAIN (any C compiler) it is a program instead:
       fuzz_train_state_seeds DIR         writes seeds: valid states of the tiny layout below and variants
       fuzz_train_state_seeds --run F...  runs files through the target (regressions, without libFuzzer) */
#define _POSIX_C_SOURCE 200809L
#include "examples/train_state.h"

#include <stdlib.h>

#define FZ_LAYOUT 0x0123456789abcdefull /* the "program" the states are read for */
#define FZ_WEIGHTS 64u

static ts_state fz_run(void)
{
    ts_state r;
    memset(&r, 0, sizeof r);
    r.layout_hash = FZ_LAYOUT; r.weights_bytes = FZ_WEIGHTS;
    r.steps = 100; r.train_tokens = 1000; r.data_bytes = 1111; r.data_hash = 0x5eed;
    r.B = 2; r.T = 16; r.accum = 1; r.warmup = 0;
    r.lr = 3e-4; r.min_lr_frac = 0.1; r.wd = 0; r.clip = 1; r.beta1 = 0.9; r.beta2 = 0.999; r.eps = 1e-8;
    return r;
}

static void fz_valid(const ts_state *s, const char *err)
{
    char e2[400];
    if (err[0]) abort();                                               /* success leaves no message */
    if (s->step > s->steps || s->data_pos >= s->train_tokens) abort(); /* what train.c relies on */
    if ((uint64_t)s->B * s->T + 1 > s->train_tokens || s->B < 1 || s->T < 1 || s->accum < 1) abort();
    if (s->weights_bytes != FZ_WEIGHTS || s->layout_hash != FZ_LAYOUT) abort();
    if (ts_match(s, s, "data", e2, sizeof e2) != 0) abort();          /* a state continues itself */
    {
        ts_state want = fz_run();
        e2[0] = 0;
        if (ts_match(s, &want, "data", e2, sizeof e2) != 0 && !e2[0]) abort(); /* a refusal says why */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_state s;
    uint8_t m[FZ_WEIGHTS], v[FZ_WEIGHTS];
    char err[400];
    if (size) { /* fmemopen refuses an empty buffer */
        FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
        if (f) {
            int rc;
            err[0] = 0;
            rc = ts_read(f, size, FZ_LAYOUT, FZ_WEIGHTS, &s, m, v, err, sizeof err);
            fclose(f);
            if (rc != 0 && !err[0]) abort();
            if (rc == 0) fz_valid(&s, err);
        }
    }
    err[0] = 0;
    if (ts_parse_header(data, size, TS_HEADER_BYTES + 2 * FZ_WEIGHTS, FZ_LAYOUT, FZ_WEIGHTS, &s, err, sizeof err) == 0) fz_valid(&s, err);
    else if (!err[0]) abort();
    return 0;
}

#ifdef FUZZ_SEEDS_MAIN
static int fz_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) { fprintf(stderr, "cannot write %s\n", path); return -1; }
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t file[TS_HEADER_BYTES + 2 * FZ_WEIGHTS];
    ts_state s = fz_run();
    unsigned i;
    int rc = 0;
    if (argc >= 2 && !strcmp(argv[1], "--run")) {
        for (i = 2; i < (unsigned)argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            static uint8_t buf[1 << 20];
            size_t n;
            if (!f) { fprintf(stderr, "cannot open %s\n", argv[i]); return 1; }
            n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
            { /* and what train.c would say */
                ts_state st;
                uint8_t m[FZ_WEIGHTS], v[FZ_WEIGHTS];
                char err[400] = "";
                FILE *g = n ? fmemopen(buf, n, "rb") : NULL;
                int r = g ? ts_read(g, n, FZ_LAYOUT, FZ_WEIGHTS, &st, m, v, err, sizeof err) : -1;
                if (g) fclose(g);
                printf("%s: %s\n", argv[i], r == 0 ? "valid" : g ? err : "empty");
            }
        }
        printf("%d inputs: no crash\n", argc - 2);
        return 0;
    }
    if (argc != 2) { fprintf(stderr, "usage: %s DIR | --run FILE...\n", argv[0]); return 2; }
    for (i = 0; i < 2 * FZ_WEIGHTS; i++) file[TS_HEADER_BYTES + i] = (uint8_t)(i * 37 + 11);
    /* valid: fresh, mid-run, at the end, constant schedule, other settings */
    s.step = 0; s.data_pos = 0;
    ts_encode(&s, file + TS_HEADER_BYTES, file + TS_HEADER_BYTES + FZ_WEIGHTS, file);
    rc |= fz_write(argv[1], "valid_step0", file, sizeof file);
    s.step = 37; s.data_pos = 999; s.weights_hash = 0xabcdef;
    ts_encode(&s, file + TS_HEADER_BYTES, file + TS_HEADER_BYTES + FZ_WEIGHTS, file);
    rc |= fz_write(argv[1], "valid_mid", file, sizeof file);
    rc |= fz_write(argv[1], "truncated_header", file, 100);
    rc |= fz_write(argv[1], "truncated_moments", file, sizeof file - 5);
    s.step = 100; s.schedule = 1; s.B = 1; s.T = 1; s.accum = 7; s.warmup = 1000000000u; s.lr = 1e300; s.min_lr_frac = 1; s.beta2 = 0;
    ts_encode(&s, file + TS_HEADER_BYTES, file + TS_HEADER_BYTES + FZ_WEIGHTS, file);
    rc |= fz_write(argv[1], "valid_end", file, sizeof file);
    file[4] = 1; /* version 1 */
    rc |= fz_write(argv[1], "version1", file, sizeof file);
    return rc ? 1 : 0;
}
#endif
