/* examples/train_state.h — the optimizer state file of examples/train.c (OUT/ckpt/train_state.bin):
   the run's settings that a --resume must repeat, where the run is, and AdamW's m and v.
   Included by train.c and by tests/fuzz_train_state.c (make fuzz-train-state); needs only stdio.

   Version 2, little-endian: a 168-byte header, then m and v (weights_bytes each, the arena's bytes).
       0 "CKTS"          4 version u32      8 header_bytes u32 (168)   12 schedule u32 (0 cosine, 1 constant)
      16 layout_hash    24 weights_bytes   32 step          40 steps   48 data_pos (tokens into the training split)
      56 train_tokens   64 data_bytes      72 data_hash     80 weights_hash                       (u64 each)
      88 B              92 T               96 accum        100 warmup                             (u32 each)
     104 lr            112 min_lr_frac    120 wd           128 clip   136 beta1  144 beta2  152 eps (f64 each)
     160 check: FNV-1a 64 of bytes 0..159, then m, then v
   data_hash is FNV-1a 64 of the --data file's bytes; weights_hash of the weights of the model.gguf
   beside it (the pair is one checkpoint). Version 1 (before the settings were recorded) is refused.

   ts_read() validates every field before it trusts one: a truncated, damaged or crafted file is an
   error message, never a read out of bounds; ts_match() compares a state with the run's settings. */
#ifndef CK_TRAIN_STATE_H
#define CK_TRAIN_STATE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_MAGIC "CKTS"
#define TS_VERSION 2u
#define TS_HEADER_BYTES 168u
#define TS_MAX_COUNT 1000000000u /* steps, warmup, B, T, accum: what an int holds with room to add */

typedef struct {
    uint32_t version, schedule;  /* schedule: 0 cosine, 1 constant */
    uint64_t layout_hash, weights_bytes, step, steps, data_pos, train_tokens, data_bytes, data_hash, weights_hash;
    uint32_t B, T, accum, warmup;
    double lr, min_lr_frac, wd, clip, beta1, beta2, eps;
} ts_state;

static uint64_t ts_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}
#define TS_FNV_INIT 1469598103934665603ull

static void ts_put(uint8_t *p, uint64_t v, int n) { int k; for (k = 0; k < n; k++) p[k] = (uint8_t)(v >> (8 * k)); }
static uint64_t ts_get(const uint8_t *p, int n) { uint64_t v = 0; int k; for (k = n - 1; k >= 0; k--) v = v << 8 | p[k]; return v; }
static uint64_t ts_dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double ts_bitsd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* the header, check included: FNV-1a of its first 160 bytes continued over m and v */
static void ts_encode(const ts_state *s, const void *m, const void *v, uint8_t h[TS_HEADER_BYTES])
{
    const double *d[7];
    int i;
    d[0] = &s->lr; d[1] = &s->min_lr_frac; d[2] = &s->wd; d[3] = &s->clip; d[4] = &s->beta1; d[5] = &s->beta2; d[6] = &s->eps;
    memset(h, 0, TS_HEADER_BYTES);
    memcpy(h, TS_MAGIC, 4);
    ts_put(h + 4, TS_VERSION, 4); ts_put(h + 8, TS_HEADER_BYTES, 4); ts_put(h + 12, s->schedule, 4);
    ts_put(h + 16, s->layout_hash, 8); ts_put(h + 24, s->weights_bytes, 8); ts_put(h + 32, s->step, 8); ts_put(h + 40, s->steps, 8);
    ts_put(h + 48, s->data_pos, 8); ts_put(h + 56, s->train_tokens, 8); ts_put(h + 64, s->data_bytes, 8);
    ts_put(h + 72, s->data_hash, 8); ts_put(h + 80, s->weights_hash, 8);
    ts_put(h + 88, s->B, 4); ts_put(h + 92, s->T, 4); ts_put(h + 96, s->accum, 4); ts_put(h + 100, s->warmup, 4);
    for (i = 0; i < 7; i++) ts_put(h + 104 + 8 * i, ts_dbits(*d[i]), 8);
    ts_put(h + 160, ts_fnv(ts_fnv(ts_fnv(TS_FNV_INIT, h, 160), m, (size_t)s->weights_bytes), v, (size_t)s->weights_bytes), 8);
}

/* The ranges the settings must lie in; train.c's options have the same ones. 0 or -1 + err. */
static int ts_check_settings(const ts_state *s, char *err, size_t errn)
{
#define TS_BAD(...) do { snprintf(err, errn, __VA_ARGS__); return -1; } while (0)
    if (s->B < 1 || s->B > TS_MAX_COUNT) TS_BAD("-b %u is out of range", (unsigned)s->B);
    if (s->T < 1 || s->T > TS_MAX_COUNT) TS_BAD("-t %u is out of range", (unsigned)s->T);
    if (s->accum < 1 || s->accum > TS_MAX_COUNT) TS_BAD("--accum %u is out of range", (unsigned)s->accum);
    if (s->steps < 1 || s->steps > TS_MAX_COUNT) TS_BAD("--steps %llu is out of range", (unsigned long long)s->steps);
    if (s->warmup > TS_MAX_COUNT) TS_BAD("--warmup %u is out of range", (unsigned)s->warmup);
    if (s->schedule > 1) TS_BAD("schedule %u is neither 0 (cosine) nor 1 (constant)", (unsigned)s->schedule);
    if (!(s->lr > 0 && s->lr < HUGE_VAL)) TS_BAD("--lr %g is not a finite number > 0", s->lr);
    if (!(s->min_lr_frac >= 0 && s->min_lr_frac <= 1)) TS_BAD("--min-lr-frac %g is not in [0, 1]", s->min_lr_frac);
    if (!(s->wd >= 0 && s->wd < HUGE_VAL)) TS_BAD("--wd %g is not a finite number >= 0", s->wd);
    if (!(s->clip >= 0 && s->clip < HUGE_VAL)) TS_BAD("--clip %g is not a finite number >= 0", s->clip);
    if (!(s->beta1 >= 0 && s->beta1 < 1)) TS_BAD("--beta1 %g is not in [0, 1)", s->beta1);
    if (!(s->beta2 >= 0 && s->beta2 < 1)) TS_BAD("--beta2 %g is not in [0, 1)", s->beta2);
    if (!(s->eps > 0 && s->eps < HUGE_VAL)) TS_BAD("--eps %g is not a finite number > 0", s->eps);
    return 0;
}

/* Decode and validate the header of a state file of file_bytes bytes (p holds its first n bytes)
   for a program of this layout: everything but the check, which needs m and v. 0 or -1 + err. */
static int ts_parse_header(const uint8_t *p, size_t n, uint64_t file_bytes, uint64_t layout_hash, uint64_t weights_bytes, ts_state *s,
                           char *err, size_t errn)
{
    double *d[7];
    int i;
    memset(s, 0, sizeof *s);
    if (n < 8 || memcmp(p, TS_MAGIC, 4) != 0) TS_BAD("not a ckernel training state (no CKTS magic)");
    s->version = (uint32_t)ts_get(p + 4, 4);
    if (s->version == 1)
        TS_BAD("written by an older train (state version 1) that did not record the run's settings: it cannot be resumed; "
               "train --init its model.gguf starts a new run from its weights");
    if (s->version != TS_VERSION) TS_BAD("state version %u, this train reads version %u", (unsigned)s->version, TS_VERSION);
    if (n < TS_HEADER_BYTES) TS_BAD("truncated: %llu bytes, the header alone is %u", (unsigned long long)file_bytes, TS_HEADER_BYTES);
    if (ts_get(p + 8, 4) != TS_HEADER_BYTES) TS_BAD("header size %u, expected %u", (unsigned)ts_get(p + 8, 4), TS_HEADER_BYTES);
    s->schedule = (uint32_t)ts_get(p + 12, 4);
    s->layout_hash = ts_get(p + 16, 8); s->weights_bytes = ts_get(p + 24, 8); s->step = ts_get(p + 32, 8); s->steps = ts_get(p + 40, 8);
    s->data_pos = ts_get(p + 48, 8); s->train_tokens = ts_get(p + 56, 8); s->data_bytes = ts_get(p + 64, 8);
    s->data_hash = ts_get(p + 72, 8); s->weights_hash = ts_get(p + 80, 8);
    s->B = (uint32_t)ts_get(p + 88, 4); s->T = (uint32_t)ts_get(p + 92, 4); s->accum = (uint32_t)ts_get(p + 96, 4); s->warmup = (uint32_t)ts_get(p + 100, 4);
    d[0] = &s->lr; d[1] = &s->min_lr_frac; d[2] = &s->wd; d[3] = &s->clip; d[4] = &s->beta1; d[5] = &s->beta2; d[6] = &s->eps;
    for (i = 0; i < 7; i++) *d[i] = ts_bitsd(ts_get(p + 104 + 8 * i, 8));
    if (s->layout_hash != layout_hash || s->weights_bytes != weights_bytes)
        TS_BAD("written for model layout 0x%016llx (%llu weight bytes); this program is 0x%016llx (%llu)", (unsigned long long)s->layout_hash,
               (unsigned long long)s->weights_bytes, (unsigned long long)layout_hash, (unsigned long long)weights_bytes);
    if (weights_bytes > (UINT64_MAX - TS_HEADER_BYTES) / 2 || file_bytes != TS_HEADER_BYTES + 2 * weights_bytes)
        TS_BAD("%llu bytes, a state of this model has %llu (truncated or damaged)", (unsigned long long)file_bytes,
               (unsigned long long)(TS_HEADER_BYTES + 2 * weights_bytes));
    if (ts_check_settings(s, err, errn) != 0) return -1;
    if (s->step > s->steps) TS_BAD("step %llu is past --steps %llu", (unsigned long long)s->step, (unsigned long long)s->steps);
    if (s->train_tokens < (uint64_t)s->B * s->T + 1)
        TS_BAD("%llu training tokens cannot hold a batch of -b %u x -t %u", (unsigned long long)s->train_tokens, (unsigned)s->B, (unsigned)s->T);
    if (s->data_pos >= s->train_tokens)
        TS_BAD("data position %llu is not inside the %llu training tokens", (unsigned long long)s->data_pos, (unsigned long long)s->train_tokens);
    return 0;
}

/* Read a whole state file (file_bytes from fstat) into *s, m and v (weights_bytes each).
   0, or -1 with err; m and v may be overwritten on failure. */
static int ts_read(FILE *f, uint64_t file_bytes, uint64_t layout_hash, uint64_t weights_bytes, ts_state *s, void *m, void *v, char *err,
                   size_t errn)
{
    uint8_t h[TS_HEADER_BYTES];
    size_t n = (size_t)(file_bytes < TS_HEADER_BYTES ? file_bytes : TS_HEADER_BYTES);
    if (fread(h, 1, n, f) != n) TS_BAD("read failed after %llu bytes of %llu", (unsigned long long)n, (unsigned long long)file_bytes);
    if (ts_parse_header(h, n, file_bytes, layout_hash, weights_bytes, s, err, errn) != 0) return -1;
    if (fread(m, 1, (size_t)weights_bytes, f) != (size_t)weights_bytes || fread(v, 1, (size_t)weights_bytes, f) != (size_t)weights_bytes)
        TS_BAD("read failed (the file shrank while it was read?)");
    if (ts_fnv(ts_fnv(ts_fnv(TS_FNV_INIT, h, 160), m, (size_t)weights_bytes), v, (size_t)weights_bytes) != ts_get(h + 160, 8))
        TS_BAD("checksum mismatch: the file is damaged");
    return 0;
}

/* the shortest %g that reads back as x: 0.1, not 0.10000000000000001 */
static const char *ts_fmt(char buf[32], double x)
{
    int prec;
    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return buf;
    }
    snprintf(buf, 32, "%.17g", x);
    return buf;
}

/* Does the checkpoint's state (got) continue this run (want)? The settings that shape the
   trajectory must be equal; the first difference is named with both values. */
static int ts_match(const ts_state *got, const ts_state *want, const char *data_path, char *err, size_t errn)
{
    static const char *const dname[7] = { "--lr", "--min-lr-frac", "--wd", "--clip", "--beta1", "--beta2", "--eps" };
    const double gd[7] = { got->lr, got->min_lr_frac, got->wd, got->clip, got->beta1, got->beta2, got->eps };
    const double wd[7] = { want->lr, want->min_lr_frac, want->wd, want->clip, want->beta1, want->beta2, want->eps };
    static const char *const sched[2] = { "cosine", "constant" };
    char b1[32], b2[32];
    int i;
#define TS_DIFF_U(field, name) \
    if (got->field != want->field) TS_BAD(name " is %llu here, the checkpoint was written with " name " %llu", \
                                          (unsigned long long)want->field, (unsigned long long)got->field)
    TS_DIFF_U(B, "-b");
    TS_DIFF_U(T, "-t");
    TS_DIFF_U(accum, "--accum");
    TS_DIFF_U(steps, "--steps");
    TS_DIFF_U(warmup, "--warmup");
#undef TS_DIFF_U
    if (got->schedule != want->schedule)
        TS_BAD("--schedule is %s here, the checkpoint was written with --schedule %s", sched[want->schedule & 1], sched[got->schedule & 1]);
    for (i = 0; i < 7; i++)
        if (ts_dbits(gd[i]) != ts_dbits(wd[i]))
            TS_BAD("%s is %s here, the checkpoint was written with %s %s", dname[i], ts_fmt(b1, wd[i]), dname[i], ts_fmt(b2, gd[i]));
    if (got->data_bytes != want->data_bytes || got->data_hash != want->data_hash)
        TS_BAD("--data %s has %llu bytes (FNV-1a 0x%016llx), the checkpoint was trained on %llu bytes (0x%016llx): not the same file",
               data_path, (unsigned long long)want->data_bytes, (unsigned long long)want->data_hash, (unsigned long long)got->data_bytes,
               (unsigned long long)got->data_hash);
    if (got->train_tokens != want->train_tokens)
        TS_BAD("the training split has %llu tokens here, %llu in the checkpoint (--val given in one run and not in the other?)",
               (unsigned long long)want->train_tokens, (unsigned long long)got->train_tokens);
    return 0;
}
#undef TS_BAD

#endif /* CK_TRAIN_STATE_H */
