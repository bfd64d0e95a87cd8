/* examples/train.c — train a model compiled by ckgen --train. One translation unit:
       build/ckgen MODEL.gguf -o DIR --train [--train-batch B] [--train-seq T]
       cc -O2 -march=native -fopenmp -I. -IDIR -DCK_MODEL_HEADER='"NAME.h"' -DCK_TRAIN_HEADER='"NAME_train.h"' \
          examples/train.c -o DIR/train -lm
   (`ck build MODEL.gguf --train` does this for you.)

   train --init MODEL.gguf --data FILE --out DIR [options]     (--help lists them)

   Data: llm.c token shards (.bin: 256 int32 header, magic 20240520, then uint16 tokens), or raw
   text, tokenized with the init file's own tokenizer (tokenizer.ggml.*; no BOS), or read as bytes
   when the file has no tokenizer and the vocabulary has 256 ids.
   Batches are read in order from the start, llm.c style: B*T+1 consecutive tokens per
   micro-batch, inputs the first B*T, targets the same shifted by one; at the end it wraps.
   Validation: --val FILE, or else the last 10% of the data (the first 90% is for training).
   Checkpoints: OUT/model.gguf (the weights, in the layout of the init file: readable by run and
   by llama.cpp) and OUT/train_state.bin (step, data position, AdamW m and v), each written to a
   temporary name and renamed; --resume continues from them bit-identically. */
#define _POSIX_C_SOURCE 200809L
#define CK_IMPLEMENTATION
#include "ckernel.h"
#ifndef CK_MODEL_HEADER
#error "define CK_MODEL_HEADER and CK_TRAIN_HEADER as the generated headers"
#endif
#include CK_MODEL_HEADER
#include CK_TRAIN_HEADER

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    const char *init, *data, *val, *out, *schedule;
    int B, T, accum, steps, warmup, eval_every, eval_batches, save_every, resume, quiet, stop_at, sample;
    double lr, min_lr_frac, wd, clip, beta1, beta2, eps;
    unsigned long long seed;
} opts;

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
           "  --min-lr-frac F   where the cosine ends, as a fraction of lr (default 0.1)\n"
           "  --wd W            AdamW weight decay, on matrices only (default 0.0)\n"
           "  --clip C          clip the global gradient norm to C; 0 = no clipping (default 1.0)\n"
           "  --beta1 B1 --beta2 B2 --eps E   AdamW (defaults 0.9, 0.999, 1e-8, as torch.optim.AdamW)\n"
           "  --val FILE        validation data (default: the last 10%% of --data)\n"
           "  --eval-every N    validation loss every N steps and at the end (default 0 = only at the end)\n"
           "  --eval-batches N  validation micro-batches per evaluation (default 8)\n"
           "  --save-every N    checkpoint every N steps (default 0 = only at the end)\n"
           "  --seed S          accepted for scripts; batches are read in order, so nothing is random\n"
           "  --resume          continue from OUT/model.gguf and OUT/train_state.bin\n"
           "  --stop-at N       stop after step N with a checkpoint, as if interrupted (then --resume)\n"
           "  --sample N        at the end, generate N tokens greedily after the first 16 validation tokens\n"
           "  --quiet           only the final line\n"
           "  Each step prints a line: step N/M | loss X | lr Y | norm Z | tok/s W | eta S.\n",
           CKM_NAME, CKM_ARCH, CKM_TRAIN_MAX_B, CKM_TRAIN_MAX_T, CKM_TRAIN_MAX_B, CKM_TRAIN_MAX_T);
    return rc;
}

/* ---- data ---------------------------------------------------------------------------------- */
typedef struct { int32_t *tok; size_t n; } tokens;

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
            fprintf(stderr, "train: %s: %ld bytes -> %zu tokens (tokenizer of %s)\n", path, size, t->n, tok_source);
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

/* the next micro-batch at *pos: x = B*T tokens, y = the same shifted by one; wraps to 0 at the end */
static void next_batch(const tokens *d, size_t *pos, int B, int T, int32_t *x, int32_t *y)
{
    size_t need = (size_t)B * T + 1;
    if (*pos + need > d->n) *pos = 0;
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

/* ---- checkpoints ----------------------------------------------------------------------------- */
#define STATE_MAGIC "CKTS"
typedef struct { char magic[4]; uint32_t version; uint64_t step, data_pos, layout_hash, weights_bytes, check; uint8_t pad[16]; } state_header;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

/* OUT/train_state.bin, atomically: header, m, v */
static int save_state(const char *dir, const uint8_t *A, uint64_t step, uint64_t data_pos)
{
    char path[1100], tmp[1110];
    state_header h;
    FILE *f;
    int rc = 0;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, STATE_MAGIC, 4);
    h.version = 1;
    h.step = step;
    h.data_pos = data_pos;
    h.layout_hash = CKM_LAYOUT_HASH;
    h.weights_bytes = CKM_WEIGHTS_BYTES;
    h.check = fnv(fnv(1469598103934665603ull, A + CKM_T_ADAM_M, CKM_WEIGHTS_BYTES), A + CKM_T_ADAM_V, CKM_WEIGHTS_BYTES);
    snprintf(path, sizeof path, "%s/train_state.bin", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f) { fprintf(stderr, "train: cannot create %s: %s\n", tmp, strerror(errno)); return -1; }
    rc |= write_all(f, &h, sizeof h);
    rc |= write_all(f, A + CKM_T_ADAM_M, CKM_WEIGHTS_BYTES);
    rc |= write_all(f, A + CKM_T_ADAM_V, CKM_WEIGHTS_BYTES);
    rc |= fflush(f) != 0 ? -1 : 0;
    rc |= fclose(f) != 0 ? -1 : 0;
    if (rc || rename(tmp, path) != 0) { fprintf(stderr, "train: writing %s failed: %s\n", path, strerror(errno)); remove(tmp); return -1; }
    return 0;
}

static int load_state(const char *dir, uint8_t *A, uint64_t *step, uint64_t *data_pos)
{
    char path[1100];
    state_header h;
    FILE *f;
    snprintf(path, sizeof path, "%s/train_state.bin", dir);
    f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "train: --resume: cannot open %s: %s\n", path, strerror(errno)); return -1; }
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, STATE_MAGIC, 4) || h.version != 1) {
        fprintf(stderr, "train: %s is not a ckernel training state (bad magic or version)\n", path); fclose(f); return -1;
    }
    if (h.layout_hash != CKM_LAYOUT_HASH || h.weights_bytes != CKM_WEIGHTS_BYTES) {
        fprintf(stderr, "train: %s was written for layout 0x%016llx, this program is 0x%016llx\n", path, (unsigned long long)h.layout_hash,
                (unsigned long long)CKM_LAYOUT_HASH);
        fclose(f); return -1;
    }
    if (fread(A + CKM_T_ADAM_M, 1, CKM_WEIGHTS_BYTES, f) != CKM_WEIGHTS_BYTES || fread(A + CKM_T_ADAM_V, 1, CKM_WEIGHTS_BYTES, f) != CKM_WEIGHTS_BYTES) {
        fprintf(stderr, "train: %s is truncated\n", path); fclose(f); return -1;
    }
    fclose(f);
    if (fnv(fnv(1469598103934665603ull, A + CKM_T_ADAM_M, CKM_WEIGHTS_BYTES), A + CKM_T_ADAM_V, CKM_WEIGHTS_BYTES) != h.check) {
        fprintf(stderr, "train: %s: checksum mismatch (the file is damaged)\n", path); return -1;
    }
    *step = h.step;
    *data_pos = h.data_pos;
    return 0;
}

/* OUT/model.gguf: the init file's key/values and tensors, in its order and alignment (so the same
   layout), with the trained weights and training.step */
static int save_model(const ck_gguf *init, const char *dir, const uint8_t *A, uint64_t step)
{
    ck_gguf_builder b;
    char path[1100];
    uint64_t i;
    int rc;
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
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    rc = ck_gguf_write_file(&b, path);
    if (rc != 0) fprintf(stderr, "train: writing %s failed: %s\n", path, b.error);
    ck_gguf_builder_free(&b);
    return rc;
}

/* ---- main ------------------------------------------------------------------------------------ */
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

int main(int argc, char **argv)
{
    opts o;
    tokens data, train, val;
    ck_gguf init;
    uint8_t *A;
    int32_t *x, *y;
    char err[320], init_path[1100];
    uint64_t step0 = 0, pos64 = 0;
    size_t data_pos = 0;
    int i, step;
    double t_start, tokens_done = 0;
    memset(&o, 0, sizeof o);
    o.B = CKM_TRAIN_MAX_B; o.T = CKM_TRAIN_MAX_T; o.accum = 1; o.steps = 100; o.lr = 3e-4; o.schedule = "cosine";
    o.min_lr_frac = 0.1; o.wd = 0.0; o.clip = 1.0; o.beta1 = 0.9; o.beta2 = 0.999; o.eps = 1e-8; o.eval_batches = 8;
    memset(&data, 0, sizeof data);
    memset(&val, 0, sizeof val);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(0);
        else if (!strcmp(a, "--resume")) { o.resume = 1; continue; }
        else if (!strcmp(a, "--quiet")) { o.quiet = 1; continue; }
        if (!v) { fprintf(stderr, "train: %s needs a value (train --help)\n", a); return 2; }
        i++;
        if (!strcmp(a, "--init") || !strcmp(a, "-m")) o.init = v;
        else if (!strcmp(a, "--data")) o.data = v;
        else if (!strcmp(a, "--val")) o.val = v;
        else if (!strcmp(a, "--out")) o.out = v;
        else if (!strcmp(a, "-b")) o.B = atoi(v);
        else if (!strcmp(a, "-t")) o.T = atoi(v);
        else if (!strcmp(a, "--accum")) o.accum = atoi(v);
        else if (!strcmp(a, "--steps")) o.steps = atoi(v);
        else if (!strcmp(a, "--lr")) o.lr = atof(v);
        else if (!strcmp(a, "--schedule")) o.schedule = v;
        else if (!strcmp(a, "--warmup")) o.warmup = atoi(v);
        else if (!strcmp(a, "--min-lr-frac")) o.min_lr_frac = atof(v);
        else if (!strcmp(a, "--wd")) o.wd = atof(v);
        else if (!strcmp(a, "--clip")) o.clip = atof(v);
        else if (!strcmp(a, "--beta1")) o.beta1 = atof(v);
        else if (!strcmp(a, "--beta2")) o.beta2 = atof(v);
        else if (!strcmp(a, "--eps")) o.eps = atof(v);
        else if (!strcmp(a, "--eval-every")) o.eval_every = atoi(v);
        else if (!strcmp(a, "--eval-batches")) o.eval_batches = atoi(v);
        else if (!strcmp(a, "--save-every")) o.save_every = atoi(v);
        else if (!strcmp(a, "--stop-at")) o.stop_at = atoi(v);
        else if (!strcmp(a, "--sample")) o.sample = atoi(v);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--config")) { fprintf(stderr, "train: --config: generate the initial model with 'ck init %s OUT.gguf', then train --init OUT.gguf\n", v); return 2; }
        else { fprintf(stderr, "train: unknown option %s (train --help)\n", a); return 2; }
    }
    if (!o.data || !o.out || (!o.init && !o.resume)) { fprintf(stderr, "train: needs --data, --out and --init (or --resume)\n"); return usage(2); }
    if (o.B < 1 || o.B > CKM_TRAIN_MAX_B || o.T < 1 || o.T > CKM_TRAIN_MAX_T) {
        fprintf(stderr, "train: -b %d -t %d: this program was generated for at most %d x %d (ckgen --train-batch/--train-seq)\n", o.B, o.T,
                CKM_TRAIN_MAX_B, CKM_TRAIN_MAX_T);
        return 2;
    }
    if (o.accum < 1 || o.steps < 1 || o.warmup < 0 || !(o.lr > 0) || o.clip < 0 || (strcmp(o.schedule, "cosine") && strcmp(o.schedule, "constant"))) {
        fprintf(stderr, "train: bad option value: --accum %d --steps %d --warmup %d --lr %g --clip %g --schedule %s\n", o.accum, o.steps, o.warmup, o.lr,
                o.clip, o.schedule);
        return 2;
    }
    if (mkdir(o.out, 0777) != 0 && errno != EEXIST) { fprintf(stderr, "train: cannot create %s: %s\n", o.out, strerror(errno)); return 1; }
    /* data */
    if (o.resume) snprintf(init_path, sizeof init_path, "%s/model.gguf", o.out);
    else snprintf(init_path, sizeof init_path, "%s", o.init);
    tok_source = init_path;
    if (load_tokens(o.data, &data) != 0) return 1;
    train = data;
    if (o.val) { if (load_tokens(o.val, &val) != 0) return 1; }
    else { size_t cut = data.n - data.n / 10; val.tok = data.tok + cut; val.n = data.n - cut; train.n = cut; }
    if (train.n < (size_t)o.B * o.T + 1) {
        fprintf(stderr, "train: %s: %zu training tokens, a batch needs %d\n", o.data, train.n, o.B * o.T + 1);
        return 1;
    }
    /* the arena, the weights */
    A = (uint8_t *)malloc((size_t)CKM_TRAIN_BYTES);
    x = (int32_t *)malloc((size_t)o.B * o.T * sizeof(int32_t));
    y = (int32_t *)malloc((size_t)o.B * o.T * sizeof(int32_t));
    if (!A || !x || !y) { fprintf(stderr, "train: out of memory (%llu bytes for the arena)\n", (unsigned long long)CKM_TRAIN_BYTES); return 1; }
    memset(A, 0, (size_t)CKM_TRAIN_BYTES);
    if (ck_gguf_open(&init, init_path) != 0) { fprintf(stderr, "train: %s\n", init.error); return 1; }
    if (ck_weights_check_gguf(&init, CKM_WEIGHTS, CKM_N_WEIGHTS, err, sizeof err) != 0) {
        fprintf(stderr, "train: %s does not match the layout this program was generated for: %s\n", init_path, err);
        return 1;
    }
    if (init.size - init.data_offset < CKM_WEIGHTS_BYTES) { fprintf(stderr, "train: %s: the data section is shorter than the weights\n", init_path); return 1; }
    memcpy(A + CKM_T_WEIGHTS, init.file + init.data_offset, CKM_WEIGHTS_BYTES);
    CKM_TRAIN_INIT(A);
    if (o.resume) {
        int64_t s;
        if (load_state(o.out, A, &step0, &pos64) != 0) return 1;
        data_pos = (size_t)pos64;
        if (!ck_gguf_get_int(&init, "training.step", &s) || (uint64_t)s != step0) {
            fprintf(stderr, "train: %s (step %lld) and %s/train_state.bin (step %llu) are not from the same checkpoint\n", init_path, (long long)s, o.out,
                    (unsigned long long)step0);
            return 1;
        }
        if (!o.quiet) fprintf(stderr, "train: resuming at step %llu from %s\n", (unsigned long long)step0, o.out);
    }
    if (!o.quiet)
        fprintf(stderr, "train: %s, %.2f M parameters; arena %.1f MB; %zu training / %zu validation tokens; %d x %d x %d tokens per step\n",
                CKM_ARCH, CKM_WEIGHTS_BYTES / 4e6, CKM_TRAIN_BYTES / 1e6, train.n, val.n, o.B, o.T, o.accum);
    t_start = now();
    for (step = (int)step0; step < o.steps; step++) {
        double t0 = now(), loss = 0;
        float norm, scale = 1.0f, lr = lr_at(&o, step);
        int k;
        memset(A + CKM_T_GRADS, 0, CKM_WEIGHTS_BYTES);
        for (k = 0; k < o.accum; k++) {
            next_batch(&train, &data_pos, o.B, o.T, x, y);
            loss += CKM_TRAIN_FORWARD(A, x, y, o.B, o.T);
            CKM_TRAIN_BACKWARD(A, x, y, o.B, o.T, 1.0f / (float)o.accum);
        }
        loss /= o.accum;
        if (!isfinite(loss)) { fprintf(stderr, "train: step %d: the loss is %f; stopping (lower --lr?)\n", step + 1, loss); return 1; }
        norm = CKM_TRAIN_GRAD_NORM(A);
        if (o.clip > 0) { /* as torch.nn.utils.clip_grad_norm_ */
            float coef = (float)o.clip / (norm + 1e-6f);
            if (coef < 1.0f) scale = coef;
        }
        CKM_TRAIN_ADAMW(A, lr, (float)o.beta1, (float)o.beta2, (float)o.eps, (float)o.wd, step + 1, scale);
        tokens_done += (double)o.B * o.T * o.accum;
        if (!o.quiet) {
            double dt = now() - t0, el = now() - t_start, eta = el / (step + 1 - (int)step0) * (o.steps - step - 1);
            printf("step %d/%d | loss %.6f | lr %.3e | norm %.4f | tok/s %.0f | eta %.0fs\n", step + 1, o.steps, loss, lr, norm,
                   o.B * o.T * o.accum / (dt > 0 ? dt : 1e-9), eta);
            fflush(stdout);
        }
        if ((o.eval_every && (step + 1) % o.eval_every == 0) || step + 1 == o.steps) {
            double vl = evaluate(A, &val, &o, x, y);
            printf("step %d/%d | val loss %.6f\n", step + 1, o.steps, vl);
            fflush(stdout);
        }
        if ((o.save_every && (step + 1) % o.save_every == 0) || step + 1 == o.steps || step + 1 == o.stop_at) {
            /* state first, then the weights: a crash between them leaves the old model.gguf, and
               --resume refuses the pair because their steps differ */
            if (save_state(o.out, A, (uint64_t)step + 1, (uint64_t)data_pos) != 0 || save_model(&init, o.out, A, (uint64_t)step + 1) != 0) return 1;
            if (!o.quiet) fprintf(stderr, "train: checkpoint at step %d: %s/model.gguf\n", step + 1, o.out);
        }
        if (step + 1 == o.stop_at) { step++; break; }
    }
    if (o.sample > 0) sample(A, &val, o.sample);
    if (!o.quiet) fprintf(stderr, "train: %d steps, %.0f tokens in %.1f s (%.0f tok/s)\n", step - (int)step0, tokens_done, now() - t_start,
                          tokens_done / (now() - t_start + 1e-9));
    ck_gguf_close(&init);
    if (!o.val) val.tok = NULL;
    free(data.tok); free(val.tok); free(A); free(x); free(y);
    return 0;
}
