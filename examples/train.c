/* examples/train.c — train a model compiled by ckgen --train. One translation unit:
       build/ckgen MODEL.gguf -o DIR --train [--train-batch B] [--train-seq T]
       cc -O2 -march=native -fopenmp -I. -IDIR -DCK_MODEL_HEADER='"NAME.h"' -DCK_TRAIN_HEADER='"NAME_train.h"' \
          examples/train.c -o DIR/train -lm
   (`ck build MODEL.gguf --train` does this for you; with --mpi through mpicc -DCK_MPI, see MPI below.)

   train --init MODEL.gguf --data FILE --out DIR [options]     (--help lists them)

   Data: llm.c token shards (.bin: 256 int32 header, magic 20240520, then uint16 tokens), or raw
   text, tokenized with the init file's own tokenizer (tokenizer.ggml.*; no BOS), or read as bytes
   when the file has no tokenizer and the vocabulary has 256 ids.
   Batches are read in order from the start, llm.c style: B*T+1 consecutive tokens per
   micro-batch, inputs the first B*T, targets the same shifted by one; at the end it wraps.
   Validation: --val FILE, or else the last 10% of the data (the first 90% is for training).

   Checkpoints (section "checkpoints" below): OUT/ckpt names the last complete one, a directory
   with model.gguf (the weights, in the layout of the init file: readable by run and llama.cpp)
   and train_state.bin (train_state.h: the run's settings, step, data position, AdamW m and v);
   OUT/model.gguf links to OUT/ckpt/model.gguf. A checkpoint is written whole into a new directory
   and switched in by one rename, so a crash or a full disk leaves the previous one intact.
   --resume continues bit-identically, and refuses other settings than the checkpoint's.
   SIGINT/SIGTERM/SIGUSR1: the step in progress ends, a checkpoint is written, the program says how to
   resume and exits with 75 (EX_TEMPFAIL); a second signal ends it at once.
   LoRA (a program generated with ckgen --train --lora RANK): the base weights of --init stay
   frozen in their GGUF types (a quantized base: QLoRA); rank-RANK adapters train beside the
   block's matmuls (A ~ N(0, 1/RANK^2) from --seed, B = 0; or --lora-init FILE), scaled by
   alpha / rank. Checkpoints hold adapter.gguf (a GGUF LoRA adapter: run --lora, ck lora-merge,
   llama.cpp) instead of model.gguf; OUT/adapter.gguf links to the last one; --resume needs the
   same --init base.
   MPI (compiled with mpicc -DCK_MPI; all of the MPI code is in train_mpi.h): mpirun -np N
   train ... trains data-parallel. --accum A is the number of micro-batches of the GLOBAL batch and
   a multiple of N: every rank steps the data position over all A micro-batches of the step and
   computes micro-batches r, r + N, r + 2N, ... (rank r), so the data of a step, the checkpoint and
   its data position do not depend on N, and --resume takes any N that divides A. The gradient
   section is summed over the ranks in rank order (train_mpi.h: mp_sum, not MPI_Allreduce, whose
   order varies with the algorithm), so a run repeats bit for bit with the same N; N ranks and
   1 rank agree to rounding (the micro-batches are added in another order). The loss printed, the
   gradient norm and clipping are global. Rank 0 prints, evaluates and writes checkpoints; the
   others are quiet. At the start the ranks exchange the model, data and options (mp_check) and
   refuse to run if any rank differs, naming the field. A stop signal to any rank (kill -USR1 on
   mpirun forwards one to each): every rank ends the same step (the flag rides on the step's loss
   exchange), rank 0 checkpoints, all exit 75.
   Built without CK_MPI the program has no MPI in it and refuses to start as one of several MPI
   processes. LoRA trainers work the same way (their gradient section is the adapters').
   Exit codes: 0 done, 1 error (files, data, checkpoint), 2 command line (options, --resume
   mismatch, ranks that differ), 75 interrupted with a checkpoint. */
#define _POSIX_C_SOURCE 200809L
#define CK_IMPLEMENTATION
#include "ckernel.h"
#ifndef CK_MODEL_HEADER
#error "define CK_MODEL_HEADER and CK_TRAIN_HEADER as the generated headers"
#endif
#include CK_MODEL_HEADER
#include CK_TRAIN_HEADER
#include "train_state.h"
#include "train_mpi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define EXIT_INTERRUPTED 75 /* sysexits.h EX_TEMPFAIL: stopped with a checkpoint, --resume continues */
#ifndef CKM_TRAIN_LORA /* a header from before LoRA training: every weight trains */
#define CKM_TRAIN_LORA 0
#define CKM_TRAIN_PARAM_BYTES CKM_WEIGHTS_BYTES
#define CKM_T_PARAMS CKM_T_WEIGHTS
#endif
/* what a checkpoint holds: the whole model, or with --lora the adapter */
#define OUT_FILE (CKM_TRAIN_LORA ? "adapter.gguf" : "model.gguf")

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- options --------------------------------------------------------------------------------- */
typedef struct {
    const char *init, *data, *val, *out, *schedule;
    int B, T, accum, steps, warmup, eval_every, eval_batches, save_every, resume, quiet, stop_at, sample;
    double lr, min_lr_frac, wd, clip, beta1, beta2, eps;
    const char *lora_init, *lora_targets; /* --lora-init FILE, --lora-targets LIST (must be the program's) */
    int lora_rank;                        /* --lora RANK (must be the program's) */
    double lora_alpha;                    /* --lora-alpha; < 0: the --lora-init adapter's, else the rank */
    unsigned long long seed;
} opts;

/* the arena's sections and their sizes, one line: what the memory goes to */
static void print_arena_plan(FILE *f, const char *prefix)
{
    int s;
    fprintf(f, "%sarena %.1f MB:", prefix, CKM_TRAIN_BYTES / 1e6);
    for (s = 0; s < CKM_TRAIN_N_SECTIONS; s++) fprintf(f, "%s %s %.1f MB", s ? " |" : "", CKM_TRAIN_SECTIONS[s].name, CKM_TRAIN_SECTIONS[s].bytes / 1e6);
    fputs(CKM_TRAIN_RECOMPUTE ? " (recompute: per layer only its input is kept)\n" : " (every layer's activations kept; ckgen --recompute keeps only their inputs)\n", f);
}

/* what the program trains, for --help and errors */
static const char *lora_desc(void)
{
#if CKM_TRAIN_LORA
    static char d[160];
    snprintf(d, sizeof d, "rank %d adapters of %s", CKM_TRAIN_LORA, CKM_TRAIN_LORA_TARGETS);
    return d;
#else
    return "every weight trains; ckgen --train --lora RANK generates a LoRA trainer";
#endif
}

static int usage(int rc)
{
    printf("usage: train --init MODEL.gguf --data FILE --out DIR [options]\n"
           "  model %s (%s), batches of up to %d x %d tokens (ckgen --train-batch/--train-seq)\n"
           "  -b B              sequences per micro-batch (default %d)\n"
           "  -t T              tokens per sequence (default %d)\n"
           "  --accum N         micro-batches per step: gradient accumulation (default 1)\n"
           "  --steps N         optimizer steps (default 100)\n"
           "  --lr LR           peak learning rate (default 3e-4)\n"
           "  --schedule S      cosine (warmup, then cosine down to min-lr-frac * lr) or constant (default cosine)\n"
           "  --warmup N        linear warmup steps (default 0)\n"
           "  --min-lr-frac F   where the cosine ends, as a fraction of lr, in [0, 1] (default 0.1)\n"
           "  --wd W            AdamW weight decay, on matrices only (default 0.0)\n"
           "  --clip C          clip the global gradient norm to C; 0 = no clipping (default 1.0)\n"
           "  --beta1 B1 --beta2 B2 --eps E   AdamW (defaults 0.9, 0.999, 1e-8, as torch.optim.AdamW)\n"
           "  --val FILE        validation data (default: the last 10%% of --data)\n"
           "  --eval-every N    validation loss every N steps and at the end (default 0 = only at the end)\n"
           "  --eval-batches N  validation micro-batches per evaluation (default 8)\n"
           "  --save-every N    checkpoint every N steps (default 0 = only at the end)\n"
           "  --seed S          accepted for scripts; batches are read in order, so nothing is random\n"
           "  --resume          continue from the checkpoint in OUT (OUT/ckpt); the settings above must be the same\n"
           "  --stop-at N       stop after step N with a checkpoint, as if interrupted (then --resume)\n"
           "  --sample N        at the end, generate N tokens greedily after the first 16 validation tokens\n"
           "  --quiet           only the final line\n"
           "  --lora RANK       LoRA: train rank-RANK adapters, the base frozen (this program: %s)\n"
           "  --lora-alpha A    the adapters' scale is A / RANK (default: --lora-init's alpha, else RANK)\n"
           "  --lora-init FILE  start from this GGUF LoRA adapter instead of A ~ N(0, 1/RANK^2), B = 0\n"
           "  --lora-targets L  the adapted matrices, as the program was generated (ckgen --lora-targets)\n"
           "  Each step prints a line: step N/M | loss X | lr Y | norm Z | tok/s W | eta S.\n"
           "  Ctrl-C (SIGINT), SIGTERM or SIGUSR1: the step ends, a checkpoint is written, exit %d; a second one aborts.\n"
           "  MPI (built with mpicc -DCK_MPI): mpirun -np N train ...; --accum counts the global batch, a multiple of N;\n"
           "  stop a run with kill -USR1 on mpirun (it forwards the signal to every rank).\n",
           CKM_NAME, CKM_ARCH, CKM_TRAIN_MAX_B, CKM_TRAIN_MAX_T, CKM_TRAIN_MAX_B, CKM_TRAIN_MAX_T, lora_desc(), EXIT_INTERRUPTED);
    print_arena_plan(stdout, "  ");
    return rc;
}

/* An integer option: the whole value, base 10, in [lo, hi]. */
static int opt_int(const char *name, const char *v, long lo, long hi, int *out)
{
    char *end;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (!(*v == '-' || (*v >= '0' && *v <= '9')) || *end || end == v) { fprintf(stderr, "train: %s %s: not an integer\n", name, v); return -1; }
    if (errno == ERANGE || x < lo || x > hi) { fprintf(stderr, "train: %s %s: must be an integer from %ld to %ld\n", name, v, lo, hi); return -1; }
    *out = (int)x;
    return 0;
}

/* A real option: the whole value, finite, in [lo, hi] or (lo, hi] / [lo, hi) where open says so. */
static int opt_real(const char *name, const char *v, double lo, int lo_open, double hi, int hi_open, double *out)
{
    char *end;
    double x;
    errno = 0;
    x = strtod(v, &end);
    if (*v == ' ' || (*v >= '\t' && *v <= '\r') || *end || end == v) {
        fprintf(stderr, "train: %s %s: not a number\n", name, v);
        return -1;
    }
    if (errno == ERANGE || !isfinite(x) || (lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi)) {
        if (hi == HUGE_VAL) fprintf(stderr, "train: %s %s: must be a finite number %s %g\n", name, v, lo_open ? ">" : ">=", lo);
        else fprintf(stderr, "train: %s %s: must be in %c%g, %g%c\n", name, v, lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
        return -1;
    }
    *out = x;
    return 0;
}

/* 0: go on; otherwise the exit code (usage printed, or the error said) */
static int parse_options(int argc, char **argv, opts *o)
{
    enum { MAXARGS = 64 };
    const char *seen[MAXARGS];
    int n_seen = 0, i, j, rc = 0;
    memset(o, 0, sizeof *o);
    o->B = CKM_TRAIN_MAX_B; o->T = CKM_TRAIN_MAX_T; o->accum = 1; o->steps = 100; o->lr = 3e-4; o->schedule = "cosine";
    o->min_lr_frac = 0.1; o->wd = 0.0; o->clip = 1.0; o->beta1 = 0.9; o->beta2 = 0.999; o->eps = 1e-8; o->eval_batches = 8;
    o->lora_alpha = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const long MAXC = (long)TS_MAX_COUNT;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(0); return 3; }
        if (a[0] != '-') { fprintf(stderr, "train: unexpected argument '%s' (options start with -; train --help)\n", a); return 2; }
        if (!strcmp(a, "-m")) a = "--init"; /* one name per option, for the checks below */
        for (j = 0; j < n_seen; j++)
            if (!strcmp(seen[j], a)) { fprintf(stderr, "train: %s is given twice\n", a); return 2; }
        if (n_seen < MAXARGS) seen[n_seen++] = a;
        if (!strcmp(a, "--resume")) { o->resume = 1; continue; }
        if (!strcmp(a, "--quiet")) { o->quiet = 1; continue; }
        if (!v || (v[0] == '-' && v[1] == '-')) { fprintf(stderr, "train: %s needs a value%s%s (train --help)\n", a, v ? ", not " : "", v ? v : ""); return 2; }
        i++;
        if (!strcmp(a, "--init")) o->init = v;
        else if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--val")) o->val = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "-b")) rc = opt_int(a, v, 1, MAXC, &o->B);
        else if (!strcmp(a, "-t")) rc = opt_int(a, v, 1, MAXC, &o->T);
        else if (!strcmp(a, "--accum")) rc = opt_int(a, v, 1, MAXC, &o->accum);
        else if (!strcmp(a, "--steps")) rc = opt_int(a, v, 1, MAXC, &o->steps);
        else if (!strcmp(a, "--warmup")) rc = opt_int(a, v, 0, MAXC, &o->warmup);
        else if (!strcmp(a, "--eval-every")) rc = opt_int(a, v, 0, MAXC, &o->eval_every);
        else if (!strcmp(a, "--eval-batches")) rc = opt_int(a, v, 1, MAXC, &o->eval_batches);
        else if (!strcmp(a, "--save-every")) rc = opt_int(a, v, 0, MAXC, &o->save_every);
        else if (!strcmp(a, "--stop-at")) rc = opt_int(a, v, 1, MAXC, &o->stop_at);
        else if (!strcmp(a, "--sample")) rc = opt_int(a, v, 0, MAXC, &o->sample);
        else if (!strcmp(a, "--lr")) rc = opt_real(a, v, 0, 1, HUGE_VAL, 0, &o->lr);
        else if (!strcmp(a, "--min-lr-frac")) rc = opt_real(a, v, 0, 0, 1, 0, &o->min_lr_frac);
        else if (!strcmp(a, "--wd")) rc = opt_real(a, v, 0, 0, HUGE_VAL, 0, &o->wd);
        else if (!strcmp(a, "--clip")) rc = opt_real(a, v, 0, 0, HUGE_VAL, 0, &o->clip);
        else if (!strcmp(a, "--beta1")) rc = opt_real(a, v, 0, 0, 1, 1, &o->beta1);
        else if (!strcmp(a, "--beta2")) rc = opt_real(a, v, 0, 0, 1, 1, &o->beta2);
        else if (!strcmp(a, "--eps")) rc = opt_real(a, v, 0, 1, HUGE_VAL, 0, &o->eps);
        else if (!strcmp(a, "--lora")) rc = opt_int(a, v, 1, 1 << 20, &o->lora_rank);
        else if (!strcmp(a, "--lora-alpha")) rc = opt_real(a, v, 0, 1, 1e9, 0, &o->lora_alpha);
        else if (!strcmp(a, "--lora-init")) o->lora_init = v;
        else if (!strcmp(a, "--lora-targets")) o->lora_targets = v;
        else if (!strcmp(a, "--schedule")) {
            o->schedule = v;
            if (strcmp(v, "cosine") && strcmp(v, "constant")) { fprintf(stderr, "train: --schedule %s: must be cosine or constant\n", v); return 2; }
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (!(*v >= '0' && *v <= '9') || *end || errno == ERANGE) { fprintf(stderr, "train: --seed %s: not an unsigned 64-bit integer\n", v); return 2; }
        } else if (!strcmp(a, "--config")) {
            fprintf(stderr, "train: --config: generate the initial model with 'ck init %s OUT.gguf', then train --init OUT.gguf\n", v);
            return 2;
        } else { fprintf(stderr, "train: unknown option %s (train --help)\n", a); return 2; }
        if (rc) return 2;
    }
    if (!o->data || !o->out || (!o->init && !o->resume)) { fprintf(stderr, "train: needs --data, --out and --init (or --resume)\n"); usage(2); return 2; }
#if CKM_TRAIN_LORA
    if (o->lora_rank && o->lora_rank != CKM_TRAIN_LORA) {
        fprintf(stderr, "train: --lora %d: this program trains rank %d adapters (generate another with ckgen --train --lora %d)\n", o->lora_rank,
                CKM_TRAIN_LORA, o->lora_rank);
        return 2;
    }
    if (o->lora_targets && strcmp(o->lora_targets, CKM_TRAIN_LORA_TARGETS)) {
        fprintf(stderr, "train: --lora-targets %s: this program adapts %s (generate another with ckgen --train --lora %d --lora-targets %s)\n",
                o->lora_targets, CKM_TRAIN_LORA_TARGETS, CKM_TRAIN_LORA, o->lora_targets);
        return 2;
    }
    if (o->sample) { fprintf(stderr, "train: --sample is not available with --lora: generate with run --lora OUT/adapter.gguf\n"); return 2; }
    if (o->resume && !o->init) { fprintf(stderr, "train: --resume with --lora needs --init: the frozen base the adapter was trained on\n"); return 2; }
    if (o->resume && o->lora_init) { fprintf(stderr, "train: --lora-init and --resume conflict: --resume continues from %s/ckpt/adapter.gguf\n", o->out); return 2; }
#else
    if (o->lora_rank || o->lora_init || o->lora_targets || o->lora_alpha >= 0) {
        fprintf(stderr, "train: %s: this program trains every weight; for LoRA generate a LoRA trainer: ck build MODEL.gguf --train --lora RANK "
                        "(ckgen --train --lora RANK)\n", o->lora_rank ? "--lora" : o->lora_init ? "--lora-init" : o->lora_targets ? "--lora-targets" : "--lora-alpha");
        return 2;
    }
#endif
    if (o->init && o->resume && !CKM_TRAIN_LORA) {
        fprintf(stderr, "train: --init and --resume conflict: --resume continues from the checkpoint in %s (its model.gguf); "
                        "give one of them\n", o->out);
        return 2;
    }
    if (o->B > CKM_TRAIN_MAX_B || o->T > CKM_TRAIN_MAX_T) {
        fprintf(stderr, "train: -b %d -t %d: this program was generated for at most %d x %d (ckgen --train-batch/--train-seq)\n", o->B, o->T,
                CKM_TRAIN_MAX_B, CKM_TRAIN_MAX_T);
        return 2;
    }
    if (o->stop_at > o->steps) { fprintf(stderr, "train: --stop-at %d is after the last step (--steps %d)\n", o->stop_at, o->steps); return 2; }
    if (o->accum % mp_size) {
        fprintf(stderr, "train: --accum %d is not a multiple of the %d MPI ranks: the %d micro-batches of a step are dealt to the ranks in turn "
                        "(give --accum %d, %d, ... or a number of ranks that divides %d)\n", o->accum, mp_size, o->accum, mp_size, 2 * mp_size, o->accum);
        return 2;
    }
    if (mp_rank != 0) o->quiet = 1; /* rank 0 speaks for all */
    return 0;
}

/* the command that continues this run: argv without --init/-m, --stop-at, --resume, then --resume,
   each word quoted for a POSIX shell where it needs it */
static void print_resume_command(FILE *f, int argc, char **argv)
{
    int i;
    fprintf(f, " ");
    for (i = 0; i < argc; i++) {
        const char *a = argv[i], *c;
        int plain = *a != 0;
        if (i > 0 && (((!strcmp(a, "--init") || !strcmp(a, "-m")) && !CKM_TRAIN_LORA) || !strcmp(a, "--stop-at") || !strcmp(a, "--lora-init"))) {
            i++; /* --lora keeps --init: the frozen base is not in the checkpoint */
            continue;
        }
        if (!strcmp(a, "--resume")) continue;
        for (c = a; *c; c++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./,:@%", *c)) plain = 0;
        if (plain) fprintf(f, " %s", a);
        else {
            fprintf(f, " '");
            for (c = a; *c; c++) { if (*c == '\'') fprintf(f, "'\\''"); else fputc(*c, f); }
            fprintf(f, "'");
        }
    }
    fprintf(f, " --resume\n");
}

/* ---- data ---------------------------------------------------------------------------------- */
typedef struct { int32_t *tok; size_t n; uint64_t file_bytes, file_hash; } tokens; /* file_*: of the file read (train_state.h) */

/* raw text: the model's own tokenizer (tokenizer.ggml.* of the init file, no BOS), or bytes when
   the file has none and the vocabulary has 256 ids */
static const char *tok_source;
static int load_tokens(const char *path, tokens *t)
{
    FILE *f = fopen(path, "rb");
    long size;
    unsigned char *buf;
    size_t i;
    if (!f) { fprintf(stderr, "train: cannot open %s: %s\n", path, strerror(errno)); return -1; }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "train: cannot read %s\n", path); fclose(f); return -1;
    }
    buf = (unsigned char *)malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) { fprintf(stderr, "train: cannot read %s\n", path); fclose(f); free(buf); return -1; }
    fclose(f);
    t->file_bytes = (uint64_t)size;
    t->file_hash = ts_fnv(TS_FNV_INIT, buf, (size_t)size);
    if (size >= 1024 && (buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24) == 20240520u) { /* an llm.c shard */
        int32_t hdr[256];
        for (i = 0; i < 256; i++) hdr[i] = (int32_t)(buf[4 * i] | buf[4 * i + 1] << 8 | buf[4 * i + 2] << 16 | (uint32_t)buf[4 * i + 3] << 24);
        if (hdr[1] != 1) { fprintf(stderr, "train: %s: llm.c shard version %d, expected 1\n", path, hdr[1]); free(buf); return -1; }
        if (hdr[2] < 0 || (uint64_t)hdr[2] * 2 + 1024 > (uint64_t)size) {
            fprintf(stderr, "train: %s: header says %d tokens, the file holds %ld\n", path, hdr[2], (size - 1024) / 2); free(buf); return -1;
        }
        t->n = (size_t)hdr[2];
        t->tok = (int32_t *)malloc((t->n ? t->n : 1) * sizeof(int32_t));
        for (i = 0; i < t->n; i++) t->tok[i] = (int32_t)(buf[1024 + 2 * i] | (buf[1024 + 2 * i + 1] << 8));
    } else {
        ck_tokenizer_file tf;
        char err[400];
        if (tok_source && ck_tok_open(&tf, tok_source, err, sizeof err) == 0) {
            int32_t *ids = NULL;
            int64_t n = ck_tok_encode_alloc(&tf.tok, (const char *)buf, (size_t)size, 0, &ids);
            ck_tok_close(&tf);
            free(buf);
            if (n < 0) { fprintf(stderr, "train: %s: the tokenizer of %s failed on it\n", path, tok_source); return -1; }
            t->n = (size_t)n;
            t->tok = (int32_t *)malloc((t->n ? t->n : 1) * sizeof(int32_t));
            if (n) memcpy(t->tok, ids, (size_t)n * sizeof(int32_t));
            CK_FREE(ids);
            if (mp_rank == 0) fprintf(stderr, "train: %s: %ld bytes -> %zu tokens (tokenizer of %s)\n", path, size, t->n, tok_source);
            goto check;
        }
        if (CKM_N_VOCAB != 256) {
            fprintf(stderr, "train: %s: raw text needs a tokenizer, and %s has none (%s); give llm.c .bin shards\n", path,
                    tok_source ? tok_source : "the model", tok_source ? err : "no init file");
            free(buf);
            return -1;
        }
        t->n = (size_t)size;
        t->tok = (int32_t *)malloc((t->n ? t->n : 1) * sizeof(int32_t));
        for (i = 0; i < t->n; i++) t->tok[i] = buf[i];
    }
    free(buf);
check:
    for (i = 0; i < t->n; i++)
        if (t->tok[i] < 0 || t->tok[i] >= CKM_N_VOCAB) {
            fprintf(stderr, "train: %s: token %d at position %zu is outside the vocabulary of %d\n", path, t->tok[i], i, CKM_N_VOCAB);
            free(t->tok); return -1;
        }
    return 0;
}

/* the next micro-batch at *pos: x = B*T tokens, y = the same shifted by one; wraps to 0 at the end
   (and for any *pos that does not leave room for a batch: never a read past the tokens) */
static void next_batch(const tokens *d, size_t *pos, int B, int T, int32_t *x, int32_t *y)
{
    size_t need = (size_t)B * T + 1;
    if (*pos > d->n || d->n - *pos < need) *pos = 0;
    memcpy(x, d->tok + *pos, (need - 1) * sizeof(int32_t));
    memcpy(y, d->tok + *pos + 1, (need - 1) * sizeof(int32_t));
    *pos += need - 1;
}

/* ---- schedule ------------------------------------------------------------------------------ */
static float lr_at(const opts *o, int step) /* step counts from 0 */
{
    double lr = o->lr, lo = o->lr * o->min_lr_frac;
    if (o->warmup > 0 && step < o->warmup) return (float)(lr * (step + 1) / o->warmup);
    if (!strcmp(o->schedule, "constant")) return (float)lr;
    {
        double span = o->steps - o->warmup > 1 ? o->steps - o->warmup - 1 : 1, p = (step - o->warmup) / span;
        if (p > 1) p = 1;
        return (float)(lo + 0.5 * (1.0 + cos(3.14159265358979323846 * p)) * (lr - lo));
    }
}

/* ---- checkpoints ------------------------------------------------------------------------------
   OUT/ckpt            a symbolic link to the last complete checkpoint directory, e.g. ckpt-00000012
   OUT/ckpt-00000012/  model.gguf (the init file's key/values and tensors, in its order and alignment,
                       with the trained weights and training.step) and train_state.bin (train_state.h)
   OUT/model.gguf      a symbolic link to ckpt/model.gguf: always the last complete checkpoint
   Writing one: both files go into OUT/.ckpt-new, each fsynced, then the directory; it is renamed
   to ckpt-STEP (a "b" appended if that is the current one: a new run over an old OUT) and OUT is
   fsynced; a new link OUT/.ckpt-link -> ckpt-STEP is renamed over OUT/ckpt (atomic) and OUT is
   fsynced again. Until that rename OUT/ckpt names the previous pair, untouched; after it, the new
   one. Then the other ckpt-* directories (the previous one, any a crash left behind) are removed. */
typedef struct {
    const char *out;
    const ck_gguf *init;
    int argc;
    char **argv;
    char ckpt_name[256]; /* the directory OUT/ckpt names ("" if none) */
    int own;            /* written by this run (or the one --resume continues) */
    uint64_t ckpt_step; /* its step, when own */
} ckpt_ctx;

static int join(char *buf, size_t n, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n) { fprintf(stderr, "train: the path %s/%s is too long\n", dir, name); return -1; }
    return 0;
}

static int write_all_fd(int fd, const void *p, size_t n)
{
    const char *c = (const char *)p;
    while (n) {
        ssize_t k = write(fd, c, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { if (k == 0) errno = EIO; return -1; }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}
typedef struct { int fd, err; } fd_sink;
static size_t fd_sink_write(void *ctx, const void *p, size_t n)
{
    fd_sink *s = (fd_sink *)ctx;
    if (write_all_fd(s->fd, p, n) != 0) { s->err = errno; return 0; }
    return n;
}

static int fsync_fd(int fd) { int rc; while ((rc = fsync(fd)) != 0 && errno == EINTR) {} return rc; }

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY), rc, e;
    if (fd < 0) return -1;
    rc = fsync_fd(fd);
    e = errno;
    close(fd);
    errno = e;
    /* some file systems cannot fsync a directory (EINVAL): their renames are what they are */
    return rc != 0 && errno != EINVAL ? -1 : 0;
}

static int io_error(const char *what, const char *path)
{
    int e = errno;
    fprintf(stderr, "train: %s %s: %s (errno %d)\n", what, path, strerror(e), e);
    errno = e;
    return -1;
}

/* a built GGUF into a new file at path, fsynced; the builder is freed either way */
static int write_gguf_file(const char *path, ck_gguf_builder *b)
{
    fd_sink s;
    int rc;
    if (b->failed) { fprintf(stderr, "train: building %s failed: %s\n", path, b->error); ck_gguf_builder_free(b); return -1; }
    s.err = 0;
    s.fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (s.fd < 0) { ck_gguf_builder_free(b); return io_error("cannot create", path); }
    rc = ck_gguf_write(b, fd_sink_write, &s);
    ck_gguf_builder_free(b);
    if (rc != 0) { errno = s.err ? s.err : EIO; io_error("writing", path); close(s.fd); return -1; }
    if (fsync_fd(s.fd) != 0) { io_error("fsync of", path); close(s.fd); return -1; }
    if (close(s.fd) != 0) return io_error("closing", path);
    return 0;
}

#if !CKM_TRAIN_LORA
/* model.gguf (via the GGUF writer) into dir, fsynced */
static int write_model(const char *path, const ck_gguf *init, const uint8_t *A, uint64_t step)
{
    ck_gguf_builder b;
    uint64_t i;
    ck_gguf_builder_init(&b);
    b.alignment = init->alignment;
    for (i = 0; i < init->n_kv; i++) {
        const ck_gguf_kv *kv = &init->kv[i];
        if (kv->key_len == 13 && !memcmp(kv->key, "training.step", 13)) continue;
        ck_gguf_add_kv_copy(&b, init, i);
    }
    ck_gguf_add_scalar(&b, "training.step", CK_GGUF_U64, &step);
    for (i = 0; i < init->n_tensors; i++) {
        const ck_gguf_tensor *t = &init->tensors[i];
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(t->name_len < 255 ? t->name_len : 255), t->name);
        /* a tensor the model does not use (e.g. rope factors, baked into the program) may lie past
           the weights region: it is unchanged, so it comes from the init file */
        ck_gguf_add_tensor(&b, name, t->n_dims, t->ne, t->type,
                           t->offset + t->n_bytes <= CKM_WEIGHTS_BYTES ? (const void *)(A + CKM_T_WEIGHTS + t->offset)
                                                                       : (const void *)(init->file + init->data_offset + t->offset));
    }
    return write_gguf_file(path, &b);
}
#endif

#if CKM_TRAIN_LORA
/* ---- LoRA adapters: the arena's A and B^T <-> a GGUF LoRA adapter ---------------------------- */
static float lora_alpha;          /* the adapters' alpha: the scale is alpha / rank */
static uint64_t lora_base_hash;   /* FNV-1a of the frozen base's weights: an adapter records what it was trained on */

/* A ~ N(0, 1/rank^2) (the Gaussian init of LoRA, PEFT's "gaussian"), B = 0; deterministic in seed */
static void lora_init_random(uint8_t *A, unsigned long long seed)
{
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    int i;
    size_t j;
    memset(A + CKM_T_PARAMS, 0, (size_t)CKM_TRAIN_PARAM_BYTES);
    for (i = 0; i < CKM_TRAIN_N_LORA_TENSORS; i++) {
        const CKM_TRAIN_LORA_TENSOR *t = &CKM_TRAIN_LORA_TENSORS[i];
        float *a = (float *)(void *)(A + CKM_T_PARAMS + t->a_off);
        for (j = 0; j < (size_t)t->rank * (size_t)t->n_in; j++) a[j] = (float)(ck_rand_normal(&rng) / t->rank);
    }
}

/* an adapter file into the arena: the same adapted weights (ck_lora_open checks the file against
   the model: names, shapes, types), the program's rank; 0, or -1 with the error said */
static int lora_load(uint8_t *A, const char *path, float *alpha)
{
    ck_lora lo;
    int i, j, *used;
    if (ck_lora_open(&lo, path, CKM_ARCH, CKM_WEIGHTS, CKM_LORA_TARGETS, CKM_N_WEIGHTS, 1.0f, 1) != 0) {
        fprintf(stderr, "train: %s\n", lo.error);
        return -1;
    }
    used = (int *)calloc((size_t)lo.n_w + 1, sizeof(int));
    if (!used) { ck_lora_close(&lo); fprintf(stderr, "train: out of memory\n"); return -1; }
    for (i = 0; i < CKM_TRAIN_N_LORA_TENSORS; i++) {
        const CKM_TRAIN_LORA_TENSOR *t = &CKM_TRAIN_LORA_TENSORS[i];
        for (j = 0; j < lo.n_w && lo.w[j].w_off != t->w_off; j++) {}
        if (j == lo.n_w) {
            fprintf(stderr, "train: %s has no adapter for %s (%s.lora_a/.lora_b); this program adapts %s in every layer\n", path, t->name, t->name,
                    CKM_TRAIN_LORA_TARGETS);
            goto fail;
        }
        if (lo.w[j].rank != t->rank) {
            fprintf(stderr, "train: %s: %s.lora_a has rank %d; this program trains rank %d\n", path, t->name, lo.w[j].rank, t->rank);
            goto fail;
        }
        used[j] = 1;
        memcpy(A + CKM_T_PARAMS + t->a_off, lo.w[j].a, (size_t)t->rank * (size_t)t->n_in * sizeof(float));
        memcpy(A + CKM_T_PARAMS + t->bt_off, lo.w[j].bt, (size_t)t->rank * (size_t)t->n_out * sizeof(float));
    }
    for (j = 0; j < lo.n_w; j++)
        if (!used[j]) {
            const char *name = "?";
            for (i = 0; i < CKM_N_WEIGHTS; i++) if (CKM_WEIGHTS[i].off == lo.w[j].w_off) name = CKM_WEIGHTS[i].name;
            fprintf(stderr, "train: %s adapts %s, which this program does not train (it adapts %s)\n", path, name, CKM_TRAIN_LORA_TARGETS);
            goto fail;
        }
    *alpha = lo.alpha;
    free(used);
    ck_lora_close(&lo);
    return 0;
fail:
    free(used);
    ck_lora_close(&lo);
    return -1;
}

/* the arena's adapters as a GGUF LoRA adapter (B^T turned back into B [n_out, rank]) with
   training.step, fsynced */
static int write_adapter(const char *path, const uint8_t *A, uint64_t step)
{
    ck_lora_tensor lt[CKM_TRAIN_N_LORA_TENSORS];
    ck_gguf_builder b;
    size_t nb = 0, k;
    float *bbuf;
    int i, rc;
    for (i = 0; i < CKM_TRAIN_N_LORA_TENSORS; i++) nb += (size_t)CKM_TRAIN_LORA_TENSORS[i].rank * (size_t)CKM_TRAIN_LORA_TENSORS[i].n_out;
    bbuf = (float *)malloc(nb * sizeof(float));
    if (!bbuf) { fprintf(stderr, "train: out of memory writing %s\n", path); return -1; }
    for (i = 0, k = 0; i < CKM_TRAIN_N_LORA_TENSORS; i++) {
        const CKM_TRAIN_LORA_TENSOR *t = &CKM_TRAIN_LORA_TENSORS[i];
        const float *bt = (const float *)(const void *)(A + CKM_T_PARAMS + t->bt_off);
        int64_t o;
        int r;
        for (o = 0; o < t->n_out; o++)
            for (r = 0; r < t->rank; r++) bbuf[k + (size_t)o * t->rank + r] = bt[(size_t)r * (size_t)t->n_out + (size_t)o];
        lt[i].name = t->name; lt[i].rank = t->rank; lt[i].n_in = t->n_in; lt[i].n_out = t->n_out;
        lt[i].a = (const float *)(const void *)(A + CKM_T_PARAMS + t->a_off);
        lt[i].b = bbuf + k;
        k += (size_t)t->rank * (size_t)t->n_out;
    }
    ck_gguf_builder_init(&b);
    ck_lora_add(&b, CKM_ARCH, lora_alpha, lt, CKM_TRAIN_N_LORA_TENSORS);
    ck_gguf_add_scalar(&b, "training.step", CK_GGUF_U64, &step);
    ck_gguf_add_scalar(&b, "training.base_hash", CK_GGUF_U64, &lora_base_hash);
    rc = write_gguf_file(path, &b);
    free(bbuf);
    return rc;
}
#endif

static int write_state(const char *path, const ts_state *st, const uint8_t *A)
{
    uint8_t h[TS_HEADER_BYTES];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) return io_error("cannot create", path);
    ts_encode(st, A + CKM_T_ADAM_M, A + CKM_T_ADAM_V, h);
    if (write_all_fd(fd, h, sizeof h) != 0 || write_all_fd(fd, A + CKM_T_ADAM_M, CKM_TRAIN_PARAM_BYTES) != 0 ||
        write_all_fd(fd, A + CKM_T_ADAM_V, CKM_TRAIN_PARAM_BYTES) != 0) {
        io_error("writing", path); close(fd); return -1;
    }
    if (fsync_fd(fd) != 0) { io_error("fsync of", path); close(fd); return -1; }
    if (close(fd) != 0) return io_error("closing", path);
    return 0;
}

/* "ckpt-" 8 digits, "b" or nothing: the only names train removes or follows */
static int is_ckpt_name(const char *s)
{
    int i;
    if (strncmp(s, "ckpt-", 5)) return 0;
    for (i = 5; i < 13; i++) if (s[i] < '0' || s[i] > '9') return 0;
    return !s[13] || (s[13] == 'b' && !s[14]);
}

/* remove a checkpoint directory train wrote (its two files, then itself); quiet: best effort */
static void remove_ckpt_dir(const char *out, const char *name)
{
    char dir[4096], p[4200];
    if (join(dir, sizeof dir, out, name)) return;
    snprintf(p, sizeof p, "%s/%s", dir, OUT_FILE); unlink(p);
    snprintf(p, sizeof p, "%s/train_state.bin", dir); unlink(p);
    rmdir(dir);
}

/* the directory OUT/ckpt names ("" if none); -1 if it is something train did not write */
static int current_ckpt(const char *out, char *name, size_t n)
{
    char link[4096];
    ssize_t k;
    if (join(link, sizeof link, out, "ckpt")) return -1;
    k = readlink(link, name, n - 1);
    if (k < 0) {
        name[0] = 0;
        if (errno == ENOENT) return 0;
        if (errno == EINVAL) { fprintf(stderr, "train: %s is not a symbolic link to a checkpoint (train did not write it)\n", link); return -1; }
        return io_error("cannot read", link);
    }
    name[k] = 0;
    if (!is_ckpt_name(name)) { fprintf(stderr, "train: %s points to '%s', not a checkpoint directory train writes\n", link, name); return -1; }
    return 0;
}

/* replace OUT/NAME by a symbolic link to TARGET, atomically (a new link renamed over it) */
static int swap_link(const char *out, const char *name, const char *target)
{
    char tmp[4096], dst[4096];
    if (join(tmp, sizeof tmp, out, ".ckpt-link") || join(dst, sizeof dst, out, name)) return -1;
    unlink(tmp);
    if (symlink(target, tmp) != 0) return io_error("cannot create the symbolic link", tmp);
    if (rename(tmp, dst) != 0) { io_error("cannot rename a new link over", dst); unlink(tmp); return -1; }
    return 0;
}

static int write_checkpoint(ckpt_ctx *c, const uint8_t *A, const ts_state *st)
{
    char tmp[4096], p[4200], cur[256], name[32], final[4096];
    struct dirent *e;
    DIR *d;
    if (join(tmp, sizeof tmp, c->out, ".ckpt-new") || current_ckpt(c->out, cur, sizeof cur)) return -1;
    remove_ckpt_dir(c->out, ".ckpt-new"); /* a crash's leftovers */
    if (mkdir(tmp, 0777) != 0) return io_error("cannot create", tmp);
    snprintf(p, sizeof p, "%s/%s", tmp, OUT_FILE);
#if CKM_TRAIN_LORA
    if (write_adapter(p, A, st->step) != 0) return -1;
#else
    if (write_model(p, c->init, A, st->step) != 0) return -1;
#endif
    snprintf(p, sizeof p, "%s/train_state.bin", tmp);
    if (write_state(p, st, A) != 0) return -1;
    if (fsync_dir(tmp) != 0) return io_error("fsync of", tmp);
    snprintf(name, sizeof name, "ckpt-%08llu", (unsigned long long)st->step);
    if (!strcmp(name, cur)) strcat(name, "b");
    remove_ckpt_dir(c->out, name); /* a crash's leftovers, never the current one */
    if (join(final, sizeof final, c->out, name)) return -1;
    if (rename(tmp, final) != 0) return io_error("cannot rename the new checkpoint to", final);
    if (fsync_dir(c->out) != 0) return io_error("fsync of", c->out);
    if (swap_link(c->out, "ckpt", name) != 0) return -1;
    snprintf(c->ckpt_name, sizeof c->ckpt_name, "%s", name);
    c->own = 1;
    c->ckpt_step = st->step;
    if (fsync_dir(c->out) != 0) return io_error("fsync of", c->out);
    /* the new pair is in place: OUT/model.gguf (adapter.gguf) follows OUT/ckpt; the older directories go */
    snprintf(p, sizeof p, "%s/%s", c->out, OUT_FILE);
    {
        char l[64], want[64];
        ssize_t k = readlink(p, l, sizeof l - 1);
        snprintf(want, sizeof want, "ckpt/%s", OUT_FILE);
        if (k < 0 || (l[k] = 0, strcmp(l, want))) {
            if (swap_link(c->out, OUT_FILE, want) != 0) return -1;
            fsync_dir(c->out);
        }
    }
    if ((d = opendir(c->out)) != NULL) {
        while ((e = readdir(d)) != NULL)
            if (is_ckpt_name(e->d_name) && strcmp(e->d_name, name)) remove_ckpt_dir(c->out, e->d_name);
        closedir(d);
    }
    return 0;
}

/* after a failed checkpoint: what is left, and how to go on */
static void checkpoint_failed(const ckpt_ctx *c, uint64_t step)
{
    char tmp[4096];
    if (!join(tmp, sizeof tmp, c->out, ".ckpt-new")) remove_ckpt_dir(c->out, ".ckpt-new"); /* give the space back */
    if (c->own) {
        fprintf(stderr, "train: the checkpoint of step %llu failed; %s/ckpt still holds the one of step %llu, intact. Resume with\n",
                (unsigned long long)step, c->out, (unsigned long long)c->ckpt_step);
        print_resume_command(stderr, c->argc, c->argv);
    } else if (c->ckpt_name[0])
        fprintf(stderr, "train: the checkpoint of step %llu failed; %s/ckpt still names %s (an earlier run's), intact\n", (unsigned long long)step,
                c->out, c->ckpt_name);
    else
        fprintf(stderr, "train: the checkpoint of step %llu failed, and there is no earlier one in %s\n", (unsigned long long)step, c->out);
}

/* --out: created if missing (not for --resume), a directory where a file and a symbolic link can
   be created and fsynced, with room for a checkpoint: found before the first step, not after the last */
static int check_out(const opts *o, uint64_t need)
{
    char f[4096], l[4096];
    struct statvfs vfs;
    int fd;
    if (!o->resume && mkdir(o->out, 0777) != 0 && errno != EEXIST) return io_error("--out: cannot create the directory", o->out);
    snprintf(f, sizeof f, "%s/.train-probe-%ld", o->out, (long)getpid());
    snprintf(l, sizeof l, "%s/.train-probe-%ld.link", o->out, (long)getpid());
    if ((size_t)snprintf(NULL, 0, "%s/.train-probe-%ld.link", o->out, (long)getpid()) >= sizeof l) { fprintf(stderr, "train: --out %s: path too long\n", o->out); return -1; }
    fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) return io_error("--out: cannot create a file in", o->out);
    if (write_all_fd(fd, "x", 1) != 0 || fsync_fd(fd) != 0) { io_error("--out: cannot write a file in", o->out); close(fd); unlink(f); return -1; }
    close(fd);
    if (symlink(".train-probe", l) != 0) { io_error("--out: cannot create a symbolic link in", o->out); unlink(f); return -1; }
    unlink(l);
    unlink(f);
    if (statvfs(o->out, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < need) {
        fprintf(stderr, "train: --out %s: %llu bytes free, a checkpoint needs %llu\n", o->out, (unsigned long long)vfs.f_bavail * vfs.f_frsize,
                (unsigned long long)need);
        return -1;
    }
    return 0;
}

/* OUT/ckpt's model.gguf and train_state.bin, for --resume */
static int checkpoint_paths(const char *out, char *model, char *state, size_t n)
{
    char cur[256], old[4096];
    struct stat sb;
    if (current_ckpt(out, cur, sizeof cur) != 0) return -1;
    if (!cur[0]) {
        if (!join(old, sizeof old, out, "train_state.bin") && stat(old, &sb) == 0)
            fprintf(stderr, "train: --resume: %s has a checkpoint of an older train (%s) that did not record the run's settings: it cannot be "
                            "resumed; train --init %s/model.gguf starts a new run from its weights\n", out, old, out);
        else fprintf(stderr, "train: --resume: no checkpoint in %s (%s/ckpt: %s)\n", out, out, strerror(ENOENT));
        return -1;
    }
    if ((size_t)snprintf(model, n, "%s/%s/%s", out, cur, OUT_FILE) >= n || (size_t)snprintf(state, n, "%s/%s/train_state.bin", out, cur) >= n) {
        fprintf(stderr, "train: --out %s: path too long\n", out);
        return -1;
    }
    return 0;
}

/* the layout a checkpoint belongs to: the model's, and with --lora also the adapters' rank and targets */
static uint64_t train_layout_hash(void)
{
#if CKM_TRAIN_LORA
    char d[160];
    snprintf(d, sizeof d, "lora %d %s", CKM_TRAIN_LORA, CKM_TRAIN_LORA_TARGETS);
    return ts_fnv(CKM_LAYOUT_HASH, d, strlen(d));
#else
    return CKM_LAYOUT_HASH;
#endif
}

/* train_state.bin into *st and the arena's m and v; the caller compares the settings */
static int load_state(const char *path, uint8_t *A, ts_state *st)
{
    char err[400];
    struct stat sb;
    FILE *f = fopen(path, "rb");
    int rc;
    if (!f) return io_error("--resume: cannot open", path);
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) { fprintf(stderr, "train: --resume: %s is not a regular file\n", path); fclose(f); return -1; }
    rc = ts_read(f, (uint64_t)sb.st_size, train_layout_hash(), CKM_TRAIN_PARAM_BYTES, st, A + CKM_T_ADAM_M, A + CKM_T_ADAM_V, err, sizeof err);
    fclose(f);
    if (rc != 0) { fprintf(stderr, "train: --resume: %s: %s\n", path, err); return -1; }
    return 0;
}

/* ---- signals ------------------------------------------------------------------------------------
   The first SIGINT/SIGTERM/SIGUSR1 is noted; the loop ends its step, writes a checkpoint and exits.
   A second one restores the default action and raises itself: the program ends at once (a
   checkpoint being written is then left as OUT/.ckpt-new, and OUT/ckpt still names the previous
   one). SIGUSR1 is there for MPI: mpirun forwards it to every rank as it is, while on SIGTERM or
   SIGINT it starts ending the job itself (it may kill the ranks before the checkpoint is out). */
static volatile sig_atomic_t stop_signal;
static char signal_first[160]; /* the first signal's message, with the rank under MPI (install_signals) */

static const char *signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGUSR1"; }

static void on_signal(int sig)
{
    static const char again[] = "\ntrain: interrupted again: aborting without a checkpoint\n";
    int e = errno;
    if (stop_signal) {
        ssize_t k = write(2, again, sizeof again - 1);
        (void)k;
        signal(sig, SIG_DFL);
        raise(sig); /* blocked until this handler returns: then the default action ends the program */
    } else {
        ssize_t k;
        stop_signal = sig;
        k = write(2, signal_first, strlen(signal_first));
        (void)k;
    }
    errno = e;
}

static void install_signals(void)
{
    struct sigaction sa;
    char rank[32] = "";
    if (mp_size > 1) snprintf(rank, sizeof rank, "rank %d: ", mp_rank);
    snprintf(signal_first, sizeof signal_first, "\ntrain: %sinterrupted: the step in progress ends%s, then a checkpoint is written (again to abort)\n",
             rank, mp_size > 1 ? " on every rank" : "");
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask); /* one handler at a time: a second signal finds the first one noted */
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* a file size limit (ulimit -f) is then a write error with a message, not a core dump */
    signal(SIGXFSZ, SIG_IGN);
}

static double evaluate(uint8_t *A, const tokens *val, const opts *o, int32_t *x, int32_t *y)
{
    size_t pos = 0;
    double s = 0;
    int i, n = 0;
    for (i = 0; i < o->eval_batches; i++) {
        if ((size_t)o->B * o->T + 1 > val->n) break;
        next_batch(val, &pos, o->B, o->T, x, y);
        s += CKM_TRAIN_FORWARD(A, x, y, o->B, o->T);
        n++;
        if (pos + (size_t)o->B * o->T + 1 > val->n) break;
    }
    return n ? s / n : NAN;
}

/* greedy continuation of the first 16 validation tokens with the inference code of the same
   model (its prefill and decode), on the weights in the training arena */
static void sample(uint8_t *A, const tokens *val, int n)
{
    ck_model m;
    int32_t prompt[16], tok;
    int np = val->n < 16 ? (int)val->n : 16, i, pos;
    if (np < 1) return;
    if (np + n > CKM_MAX_CTX) n = CKM_MAX_CTX - np;
    memset(&m, 0, sizeof m);
    m.weights = A + CKM_T_WEIGHTS;
    m.weights_bytes = CKM_WEIGHTS_BYTES;
    m.state = (uint8_t *)malloc((size_t)CKM_STATE_BYTES);
    m.state_bytes = CKM_STATE_BYTES;
    if (!m.state) return;
    for (i = 0; i < np; i++) prompt[i] = val->tok[i];
    CKM_INIT(&m);
    CKM_PREFILL(&m, prompt, np, 0, NULL);
    printf("sample:");
    for (i = 0; i < np; i++) printf(" %d", prompt[i]);
    printf(" |");
    for (i = 0, pos = np; i < n; i++, pos++) {
        tok = ck_argmax(CKM_LOGITS(&m), CKM_N_VOCAB);
        printf(" %d", tok);
        if (i + 1 < n) CKM_DECODE(&m, tok, pos);
    }
    printf("\n");
    free(m.state);
}

/* ---- main ------------------------------------------------------------------------------------ */
typedef struct {
    opts o;
    tokens data, train, val;
    ck_gguf init;
    char init_path[4096], state_path[4096], ckpt_path[4096]; /* ckpt_path: the checkpoint's model.gguf or adapter.gguf (--resume) */
    uint8_t *A;
    int32_t *x, *y;
    ts_state run;     /* this run's settings and position: what a checkpoint records */
    ckpt_ctx ck;
} trainer;

/* data, arena, weights, and for --resume the state: 0, or the exit code */
static int setup(trainer *t, int argc, char **argv)
{
    opts *o = &t->o;
    char err[320];
    int rc = parse_options(argc, argv, o);
    if (rc) return rc; /* 3: --help */
    t->ck.out = o->out; t->ck.init = &t->init; t->ck.argc = argc; t->ck.argv = argv;
    if (o->resume) {
        if (checkpoint_paths(o->out, t->ckpt_path, t->state_path, sizeof t->ckpt_path) != 0) return 1;
        if (!CKM_TRAIN_LORA) snprintf(t->init_path, sizeof t->init_path, "%s", t->ckpt_path);
    }
    if (!o->resume || CKM_TRAIN_LORA != 0) snprintf(t->init_path, sizeof t->init_path, "%s", o->init); /* --lora: the base is --init */
    /* the output directory first: a wrong --out is found now, not after the last step */
    {
        struct stat sb;
        uint64_t need = (CKM_TRAIN_LORA ? CKM_TRAIN_PARAM_BYTES : stat(t->init_path, &sb) == 0 ? (uint64_t)sb.st_size : CKM_WEIGHTS_BYTES) + 65536 +
                        TS_HEADER_BYTES + 2ull * CKM_TRAIN_PARAM_BYTES;
        if (mp_rank == 0 && check_out(o, need) != 0) return 1; /* only rank 0 writes there */
    }
    /* data */
    tok_source = t->init_path;
    if (load_tokens(o->data, &t->data) != 0) return 1;
    t->train = t->data;
    if (o->val) { if (load_tokens(o->val, &t->val) != 0) return 1; }
    else { size_t cut = t->data.n - t->data.n / 10; t->val.tok = t->data.tok + cut; t->val.n = t->data.n - cut; t->train.n = cut; }
    if (t->train.n < (size_t)o->B * o->T + 1) {
        fprintf(stderr, "train: %s: %zu training tokens, a batch needs %d\n", o->data, t->train.n, o->B * o->T + 1);
        return 1;
    }
    /* the arena, the weights */
    t->A = (uint8_t *)malloc((size_t)CKM_TRAIN_BYTES);
    t->x = (int32_t *)malloc((size_t)o->B * o->T * sizeof(int32_t));
    t->y = (int32_t *)malloc((size_t)o->B * o->T * sizeof(int32_t));
    if (!t->A || !t->x || !t->y) { fprintf(stderr, "train: out of memory (%llu bytes for the arena)\n", (unsigned long long)CKM_TRAIN_BYTES); return 1; }
    memset(t->A, 0, (size_t)CKM_TRAIN_BYTES);
    if (ck_gguf_open(&t->init, t->init_path) != 0) { fprintf(stderr, "train: %s\n", t->init.error); return 1; }
    if (ck_weights_check_gguf(&t->init, CKM_WEIGHTS, CKM_N_WEIGHTS, err, sizeof err) != 0) {
        fprintf(stderr, "train: %s does not match the layout this program was generated for: %s\n", t->init_path, err);
        return 1;
    }
    if (t->init.size - t->init.data_offset < CKM_WEIGHTS_BYTES) { fprintf(stderr, "train: %s: the data section is shorter than the weights\n", t->init_path); return 1; }
    memcpy(t->A + CKM_T_WEIGHTS, t->init.file + t->init.data_offset, CKM_WEIGHTS_BYTES);
    CKM_TRAIN_INIT(t->A);
#if CKM_TRAIN_LORA
    /* the adapters: from the checkpoint (--resume), --lora-init, or the random init */
    lora_alpha = (float)CKM_TRAIN_LORA;
    lora_base_hash = ts_fnv(TS_FNV_INIT, t->A + CKM_T_WEIGHTS, CKM_WEIGHTS_BYTES) >> 1; /* 63 bits: ck_gguf_get_int reads it back */
    if (o->resume || o->lora_init) {
        if (lora_load(t->A, o->resume ? t->ckpt_path : o->lora_init, &lora_alpha) != 0) return 1;
        if (lora_alpha == 0) lora_alpha = (float)CKM_TRAIN_LORA; /* no alpha in the file: scale 1, as llama.cpp reads it */
    } else lora_init_random(t->A, o->seed);
    if (o->resume) { /* a resumed run trains the same adapter on the same base */
        ck_gguf ck;
        int64_t h = 0;
        int have = ck_gguf_open(&ck, t->ckpt_path) == 0 && ck_gguf_get_int(&ck, "training.base_hash", &h);
        ck_gguf_close(&ck);
        if (!have || (uint64_t)h != lora_base_hash) {
            fprintf(stderr, "train: --resume: %s was trained on another base than --init %s (base hash %016llx, this one %016llx)\n",
                    t->ckpt_path, t->init_path, (unsigned long long)(uint64_t)h, (unsigned long long)lora_base_hash);
            return 1;
        }
        if (o->lora_alpha >= 0 && (float)o->lora_alpha != lora_alpha) {
            fprintf(stderr, "train: --resume: --lora-alpha %g, but the checkpoint's alpha is %g; a resumed run takes the same settings (%s)\n",
                    o->lora_alpha, (double)lora_alpha, t->ckpt_path);
            return 2;
        }
    }
    if (o->lora_alpha >= 0) lora_alpha = (float)o->lora_alpha;
    CKM_TRAIN_LORA_SCALE = lora_alpha / (float)CKM_TRAIN_LORA;
    if (!o->quiet)
        fprintf(stderr, "train: LoRA rank %d on %s (%d matrices, %.2f M parameters), alpha %g (scale %g); base %s frozen\n", CKM_TRAIN_LORA,
                CKM_TRAIN_LORA_TARGETS, CKM_TRAIN_N_LORA_TENSORS, CKM_TRAIN_PARAM_BYTES / 4e6, (double)lora_alpha, (double)CKM_TRAIN_LORA_SCALE,
                t->init_path);
#endif
    /* what a checkpoint of this run records */
    {
        ts_state *r = &t->run;
        memset(r, 0, sizeof *r);
        r->schedule = strcmp(o->schedule, "constant") == 0;
        r->layout_hash = train_layout_hash(); r->weights_bytes = CKM_TRAIN_PARAM_BYTES;
        r->steps = (uint64_t)o->steps; r->train_tokens = t->train.n; r->data_bytes = t->data.file_bytes; r->data_hash = t->data.file_hash;
        r->B = (uint32_t)o->B; r->T = (uint32_t)o->T; r->accum = (uint32_t)o->accum; r->warmup = (uint32_t)o->warmup;
        r->lr = o->lr; r->min_lr_frac = o->min_lr_frac; r->wd = o->wd; r->clip = o->clip; r->beta1 = o->beta1; r->beta2 = o->beta2; r->eps = o->eps;
    }
    {
        char cur[256];
        if (current_ckpt(o->out, cur, sizeof cur) != 0) return 1;
        snprintf(t->ck.ckpt_name, sizeof t->ck.ckpt_name, "%s", cur); /* a new run replaces it at its first checkpoint */
        if (cur[0] && !o->resume && !o->quiet)
            fprintf(stderr, "train: note: %s/ckpt (%s) is replaced at this run's first checkpoint (--resume continues it instead)\n", o->out, cur);
    }
    if (o->resume) {
        ts_state got;
        int64_t s;
        if (load_state(t->state_path, t->A, &got) != 0) return 1;
        if (ts_match(&got, &t->run, o->data, err, sizeof err) != 0) {
            fprintf(stderr, "train: --resume: %s; a resumed run takes the same settings (%s)\n", err, t->state_path);
            return 2;
        }
        s = -1;
        {
            ck_gguf ck;
            int have = ck_gguf_open(&ck, t->ckpt_path) == 0 && ck_gguf_get_int(&ck, "training.step", &s);
            ck_gguf_close(&ck);
            if (!have || (uint64_t)s != got.step || ts_fnv(TS_FNV_INIT, t->A + CKM_T_PARAMS, CKM_TRAIN_PARAM_BYTES) != got.weights_hash) {
                fprintf(stderr, "train: --resume: %s and %s are not from the same checkpoint (steps %lld and %llu, or the weights differ)\n",
                        t->ckpt_path, t->state_path, (long long)s, (unsigned long long)got.step);
                return 1;
            }
        }
        if (o->stop_at && (uint64_t)o->stop_at <= got.step) {
            fprintf(stderr, "train: --stop-at %d: the checkpoint is already at step %llu\n", o->stop_at, (unsigned long long)got.step);
            return 2;
        }
        t->run.step = got.step;
        t->run.data_pos = got.data_pos;
        t->ck.own = 1;
        t->ck.ckpt_step = got.step;
        if (!o->quiet) fprintf(stderr, "train: resuming at step %llu from %s\n", (unsigned long long)got.step, t->state_path);
    }
    return 0;
}

/* one checkpoint of the arena at the current step: 0, or the error said */
static int checkpoint(trainer *t)
{
    t->run.weights_hash = ts_fnv(TS_FNV_INIT, t->A + CKM_T_PARAMS, CKM_TRAIN_PARAM_BYTES);
    if (write_checkpoint(&t->ck, t->A, &t->run) != 0) { checkpoint_failed(&t->ck, t->run.step); return -1; }
    if (!t->o.quiet) fprintf(stderr, "train: checkpoint at step %llu: %s/%s\n", (unsigned long long)t->run.step, t->o.out, OUT_FILE);
    return 0;
}

/* what every rank must share, as named fields (train_mpi.h: mp_check): the program, the weights
   it starts from, the data, the options and, resumed, the optimizer state and position */
static int check_ranks(const trainer *t)
{
    const opts *o = &t->o;
    mp_field f[40];
    int n = 0;
#define FIELD(nm, kd, val) (f[n].name = (nm), f[n].kind = (kd), f[n].v = (uint64_t)(val), n++)
#define REAL(nm, val) FIELD(nm, MP_REAL, ts_dbits(val))
    if (mp_size == 1) return 0;
    FIELD("program's model layout (ckgen)", MP_HASH, train_layout_hash());
    FIELD("training arena bytes (ckgen --train-batch, --train-seq, --recompute)", MP_INT, CKM_TRAIN_BYTES);
    FIELD("--resume", MP_INT, o->resume);
    FIELD(o->resume && !CKM_TRAIN_LORA ? "checkpoint weights (--out DIR/ckpt)" : "--init weights", MP_HASH,
          ts_fnv(TS_FNV_INIT, t->A + CKM_T_WEIGHTS, CKM_WEIGHTS_BYTES));
    /* the same fields on every rank, whatever it runs (MPI_Allgather needs equal counts): 0 where unused */
    FIELD(o->resume ? "checkpoint adapters (--out DIR/ckpt)" : "initial adapters (--lora-init or --seed)", MP_HASH,
          CKM_TRAIN_LORA ? ts_fnv(TS_FNV_INIT, t->A + CKM_T_PARAMS, CKM_TRAIN_PARAM_BYTES) : 0);
    FIELD("checkpoint optimizer state (--out DIR/ckpt/train_state.bin)", MP_HASH,
          o->resume ? ts_fnv(ts_fnv(TS_FNV_INIT, t->A + CKM_T_ADAM_M, CKM_TRAIN_PARAM_BYTES), t->A + CKM_T_ADAM_V, CKM_TRAIN_PARAM_BYTES) : 0);
    FIELD("checkpoint step", MP_INT, t->run.step);
    FIELD("checkpoint data position", MP_INT, t->run.data_pos);
    FIELD("--data", MP_HASH, t->data.file_hash);
    FIELD("--val", MP_HASH, o->val ? t->val.file_hash : 0);
    FIELD("-b", MP_INT, o->B); FIELD("-t", MP_INT, o->T); FIELD("--accum", MP_INT, o->accum); FIELD("--steps", MP_INT, o->steps);
    FIELD("--warmup", MP_INT, o->warmup); FIELD("--eval-every", MP_INT, o->eval_every); FIELD("--eval-batches", MP_INT, o->eval_batches);
    FIELD("--save-every", MP_INT, o->save_every); FIELD("--stop-at", MP_INT, o->stop_at); FIELD("--sample", MP_INT, o->sample);
    FIELD("--seed", MP_INT, o->seed); FIELD("--schedule (0 cosine, 1 constant)", MP_INT, t->run.schedule);
    REAL("--lr", o->lr); REAL("--min-lr-frac", o->min_lr_frac); REAL("--wd", o->wd); REAL("--clip", o->clip);
    REAL("--beta1", o->beta1); REAL("--beta2", o->beta2); REAL("--eps", o->eps);
#if CKM_TRAIN_LORA
    REAL("--lora-alpha", (double)lora_alpha);
#else
    REAL("--lora-alpha", 0.0);
#endif
#undef REAL
#undef FIELD
    return mp_check(f, n);
}

/* the steps from the checkpoint's (or 0) to --steps or --stop-at: 0, or the exit code */
static int train_loop(trainer *t, int argc, char **argv)
{
    const opts *o = &t->o;
    size_t data_pos = (size_t)t->run.data_pos;
    int step, step0 = (int)t->run.step;
    double t_start, tokens_done = 0;
    if (!o->quiet) {
        fprintf(stderr, "train: %s, %.2f M trained parameters (%s); arena %.1f MB; %zu training / %zu validation tokens; %d x %d x %d tokens per step\n",
                CKM_ARCH, CKM_TRAIN_PARAM_BYTES / 4e6, CKM_TRAIN_LORA ? "adapters" : "every weight", CKM_TRAIN_BYTES / 1e6, t->train.n, t->val.n,
                o->B, o->T, o->accum);
        if (mp_size > 1)
            fprintf(stderr, "train: %d MPI ranks, %d micro-batch%s each per step\n", mp_size, o->accum / mp_size, o->accum == mp_size ? "" : "es");
        print_arena_plan(stderr, "train: ");
    }
    t_start = now();
    for (step = step0; step < o->steps; step++) {
        double t0 = now(), loss = 0;
        float norm, scale = 1.0f, lr = lr_at(o, step);
        int k, stop, last = step + 1 == o->steps;
        memset(t->A + CKM_T_GRADS, 0, CKM_TRAIN_PARAM_BYTES);
        for (k = 0; k < o->accum; k++) {
            next_batch(&t->train, &data_pos, o->B, o->T, t->x, t->y); /* every rank steps over the whole global batch */
            if (k % mp_size != mp_rank) continue;                    /* and computes micro-batches rank, rank + N, ... */
            loss += CKM_TRAIN_FORWARD(t->A, t->x, t->y, o->B, o->T);
            CKM_TRAIN_BACKWARD(t->A, t->x, t->y, o->B, o->T, 1.0f / (float)o->accum);
        }
        stop = stop_signal;
        mp_step_agree(&loss, &stop); /* the global loss sum; a stop signal on any rank stops all after this step */
        mp_sum((float *)(void *)(t->A + CKM_T_GRADS), CKM_TRAIN_PARAM_BYTES / sizeof(float)); /* the global gradient */
        loss /= o->accum;
        if (!isfinite(loss)) {
            if (mp_rank == 0) fprintf(stderr, "train: step %d: the loss is %f; stopping (lower --lr?)\n", step + 1, loss);
            return 1;
        }
        norm = CKM_TRAIN_GRAD_NORM(t->A);
        if (o->clip > 0) { /* as torch.nn.utils.clip_grad_norm_ */
            float coef = (float)o->clip / (norm + 1e-6f);
            if (coef < 1.0f) scale = coef;
        }
        CKM_TRAIN_ADAMW(t->A, lr, (float)o->beta1, (float)o->beta2, (float)o->eps, (float)o->wd, step + 1, scale);
        tokens_done += (double)o->B * o->T * o->accum;
        t->run.step = (uint64_t)step + 1;
        t->run.data_pos = data_pos;
        if (!o->quiet) {
            double dt = now() - t0, el = now() - t_start, eta = el / (step + 1 - step0) * (o->steps - step - 1);
            printf("step %d/%d | loss %.6f | lr %.3e | norm %.4f | tok/s %.0f | eta %.0fs\n", step + 1, o->steps, loss, lr, norm,
                   o->B * o->T * o->accum / (dt > 0 ? dt : 1e-9), eta);
            fflush(stdout);
        }
        if (mp_rank == 0 && ((o->eval_every && (step + 1) % o->eval_every == 0) || last)) {
            double vl = evaluate(t->A, &t->val, o, t->x, t->y);
            printf("step %d/%d | val loss %.6f\n", step + 1, o->steps, vl);
            fflush(stdout);
        }
        if (mp_rank == 0 && ((o->save_every && (step + 1) % o->save_every == 0) || last || step + 1 == o->stop_at || stop))
            if (checkpoint(t) != 0) { mp_abort(1); return 1; }
        if (stop && !last) {
            if (mp_rank == 0) {
                fprintf(stderr, "train: stopped by %s after step %d of %d; the checkpoint is in %s/ckpt. Resume with%s\n",
                        signal_name(stop), step + 1, o->steps, o->out,
                        mp_size > 1 ? " (under mpirun, with any -np that divides --accum)" : "");
                print_resume_command(stderr, argc, argv);
            }
            return EXIT_INTERRUPTED;
        }
        if (step + 1 == o->stop_at) { step++; break; }
    }
    if (o->sample > 0 && mp_rank == 0) sample(t->A, &t->val, o->sample);
    if (!o->quiet) {
        double el = now() - t_start;
        fprintf(stderr, "train: %d steps, %.0f tokens in %.1f s (%.0f tok/s)", step - step0, tokens_done, el, tokens_done / (el + 1e-9));
        if (mp_size > 1) fprintf(stderr, "; %d ranks, all-reduce %.2f s (%.1f%% of the time)", mp_size, mp_seconds, 100 * mp_seconds / (el + 1e-9));
        fputc('\n', stderr);
    }
    ck_gguf_close(&t->init);
    if (!o->val) t->val.tok = NULL;
    free(t->data.tok); free(t->val.tok); free(t->A); free(t->x); free(t->y);
    return 0;
}

int main(int argc, char **argv)
{
    static trainer tr;
    int rc = mp_init(&argc, &argv);
    if (rc) return rc;
    install_signals();
    rc = mp_agree_rc(setup(&tr, argc, argv)); /* a rank that cannot start stops them all */
    if (rc == 0 && check_ranks(&tr) != 0) rc = 2;
    if (rc == 0) rc = train_loop(&tr, argc, argv);
    if (rc) { /* mpirun ends the ranks still exiting when one exits non-zero: quietly, the work is done */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGUSR1, SIG_DFL);
    }
    mp_finalize(); /* MPI: after rank 0's last checkpoint (a barrier) */
    return rc == 3 ? 0 : rc; /* 3: --help */
}
