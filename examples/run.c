/* examples/run.c — generate with a model compiled by ckgen. One translation unit:
       cc -O2 -march=native -fopenmp -I. -Ibuild/mymodel -DCK_MODEL_HEADER='"mymodel.h"' examples/run.c -o run -lm
   (`ck build MODEL.gguf` and `make` do this for you). The weights are the GGUF file the program
   was generated from (checked tensor by tensor), or its weights.bump (checked by layout hash).

   run -m MODEL.gguf|weights.bump --tokens 1,2,3 [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S]
   run -m MODEL --tokens 1,2,3 --logits OUT.f32          float32 logits [T, n_vocab] of the prompt (prefill)
   run -m MODEL --tokens 1,2,3 --decode-logits OUT.f32   the same, one token at a time through the KV cache */
#define _POSIX_C_SOURCE 200809L
#define CK_IMPLEMENTATION
#include "ckernel.h"
#ifndef CK_MODEL_HEADER
#error "define CK_MODEL_HEADER as the generated header, e.g. -DCK_MODEL_HEADER='\"mymodel.h\"'"
#endif
#include CK_MODEL_HEADER

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the prompt from position 0, in calls of at most CKM_MAX_PROMPT tokens; all_logits: NULL (the
   last row's logits go to CKM_LOGITS) or [n, n_vocab] */
static void prefill(ck_model *m, const int32_t *ids, int n, float *all_logits)
{
    int pos;
    for (pos = 0; pos < n; pos += CKM_MAX_PROMPT) {
        int T = n - pos < CKM_MAX_PROMPT ? n - pos : CKM_MAX_PROMPT;
        CKM_PREFILL(m, ids + pos, T, pos, all_logits ? all_logits + (size_t)pos * CKM_N_VOCAB : NULL);
    }
}

static int usage(int rc)
{
    fprintf(rc ? stderr : stdout,
            "usage: run -m MODEL.gguf|weights.bump (--tokens ID,ID,... | -p PROMPT) [options]\n"
            "  model %s (%s), vocab %d, context %d, prompt chunks of %d tokens\n"
            "  -n N               tokens to generate (default 32)\n"
            "  --temp T           temperature (default 0.8; 0 = greedy)\n"
            "  --top-k K          keep the K most likely tokens (default 40; 0 = all)\n"
            "  --top-p P          nucleus sampling (default 0.95; 1 = off)\n"
            "  --seed S           sampler seed (default 42)\n"
            "  --logits FILE      write float32 logits [T, n_vocab] of every prompt position (prefill), then stop\n"
            "  --decode-logits FILE  the same, feeding the prompt one token at a time through the KV cache\n"
            "  --quiet            print only the generated token ids\n"
            "  --warmup           run the prompt once untimed first (page-faults the weights in: for benchmarks)\n",
            CKM_NAME, CKM_ARCH, CKM_N_VOCAB, CKM_MAX_CTX, CKM_MAX_PROMPT);
    return rc;
}

/* "1,2, 3" -> ids; every id is checked against the vocabulary */
static int parse_tokens(const char *s, int32_t **out)
{
    int n = 0, cap = 64;
    int32_t *ids = (int32_t *)malloc((size_t)cap * sizeof *ids);
    while (*s) {
        char *end;
        long v;
        while (*s == ',' || *s == ' ') s++;
        if (!*s) break;
        errno = 0;
        v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v >= CKM_N_VOCAB) {
            fprintf(stderr, "run: bad token id '%.*s' (ids are 0..%d)\n", (int)strcspn(s, ","), s, CKM_N_VOCAB - 1);
            free(ids);
            return -1;
        }
        if (n == cap) ids = (int32_t *)realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
        ids[n++] = (int32_t)v;
        s = end;
    }
    *out = ids;
    return n;
}

static int write_f32(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof(float), n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "run: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

#ifdef CK_CANARIES
static void check_canaries(ck_model *m, const char *phase)
{
    int bad = ck_canary_check(m->state, CKM_SECTIONS, CKM_N_SECTIONS);
    if (bad >= 0) {
        fprintf(stderr, "run: canary after section '%s' (offset 0x%llx) was overwritten during %s\n", CKM_SECTIONS[bad].name,
                (unsigned long long)(CKM_SECTIONS[bad].off + CKM_SECTIONS[bad].bytes), phase);
        exit(3);
    }
}
#else
#define check_canaries(m, phase) ((void)0)
#endif

int main(int argc, char **argv)
{
    const char *model = NULL, *tokens_arg = NULL, *logits_path = NULL, *prompt = NULL;
    int n_gen = 32, top_k = 40, decode_logits = 0, quiet = 0, warmup = 0, i, n_prompt, pos;
    float temp = 0.8f, top_p = 0.95f;
    uint64_t seed = 42;
    int32_t *prompt_ids = NULL, tok;
    ck_model m;
    ck_prob_id *scratch;
    double t0, t_prefill, t_decode;
    ck_tokenizer_file tf;
    int have_tok = 0;
    ck_tok_stream stream;
    char *piece = NULL;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(0);
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--warmup")) warmup = 1;
        else if (!v) { fprintf(stderr, "run: %s needs a value\n", a); return usage(2); }
        else if (!strcmp(a, "-m")) model = argv[++i];
        else if (!strcmp(a, "-p")) prompt = argv[++i];
        else if (!strcmp(a, "--tokens")) tokens_arg = argv[++i];
        else if (!strcmp(a, "-n")) n_gen = atoi(argv[++i]);
        else if (!strcmp(a, "--temp")) temp = (float)atof(argv[++i]);
        else if (!strcmp(a, "--top-k")) top_k = atoi(argv[++i]);
        else if (!strcmp(a, "--top-p")) top_p = (float)atof(argv[++i]);
        else if (!strcmp(a, "--seed")) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--logits")) logits_path = argv[++i];
        else if (!strcmp(a, "--decode-logits")) { logits_path = argv[++i]; decode_logits = 1; }
        else { fprintf(stderr, "run: unknown option %s\n", a); return usage(2); }
    }
    if (!model) { fprintf(stderr, "run: no model (-m)\n"); return usage(2); }
    if (prompt && !tokens_arg) { /* the GGUF's own tokenizer, with the special tokens the model adds (BOS) */
        char err[512];
        int64_t n;
        if (ck_tok_open(&tf, model, err, sizeof err)) {
            fprintf(stderr, "run: -p needs the tokenizer of a GGUF (tokenizer.ggml.*): %s; or give --tokens ID,ID,...\n", err);
            return 2;
        }
        have_tok = 1;
        n = ck_tok_encode_alloc(&tf.tok, prompt, strlen(prompt), CK_TOK_ADD_SPECIAL, &prompt_ids);
        if (n < 0 || n > 0x7fffffff) { fprintf(stderr, "run: cannot tokenize the prompt\n"); ck_tok_close(&tf); return 2; }
        n_prompt = (int)n;
    } else {
        if (!tokens_arg) { fprintf(stderr, "run: no prompt (--tokens)\n"); return usage(2); }
        n_prompt = parse_tokens(tokens_arg, &prompt_ids);
        if (n_prompt < 0) return 2;
    }
    if (n_prompt == 0) { fprintf(stderr, "run: the prompt is empty\n"); return 2; }
    if (n_prompt + (logits_path ? 0 : n_gen) > CKM_MAX_CTX) {
        fprintf(stderr, "run: %d prompt tokens + %d to generate exceed the context of %d positions this program was generated for "
                        "(ckgen --max-ctx)\n", n_prompt, logits_path ? 0 : n_gen, CKM_MAX_CTX);
        free(prompt_ids);
        return 2;
    }
    if (ck_model_open(&m, model, CKM_WEIGHTS, CKM_N_WEIGHTS, CKM_LAYOUT_HASH, CKM_WEIGHTS_BYTES, NULL, CKM_STATE_BYTES) != 0) {
        fprintf(stderr, "run: %s\n", m.error);
        free(prompt_ids);
        return 1;
    }
    CKM_INIT(&m);

    if (logits_path) { /* logits of every prompt position */
        float *all = (float *)malloc((size_t)n_prompt * CKM_N_VOCAB * sizeof(float));
        int rc;
        if (decode_logits) {
            for (pos = 0; pos < n_prompt; pos++) {
                CKM_DECODE(&m, prompt_ids[pos], pos);
                memcpy(all + (size_t)pos * CKM_N_VOCAB, CKM_LOGITS(&m), CKM_N_VOCAB * sizeof(float));
            }
            check_canaries(&m, "decode");
        } else {
            prefill(&m, prompt_ids, n_prompt, all);
            check_canaries(&m, "prefill");
        }
        rc = write_f32(logits_path, all, (size_t)n_prompt * CKM_N_VOCAB);
        free(all);
        free(prompt_ids);
        ck_model_close(&m);
        return rc ? 1 : 0;
    }

    scratch = (ck_prob_id *)malloc(CKM_N_VOCAB * sizeof *scratch);
    if (warmup) prefill(&m, prompt_ids, n_prompt, NULL); /* the same work, untimed: the KV cache is rewritten below */
    t0 = now();
    prefill(&m, prompt_ids, n_prompt, NULL);
    check_canaries(&m, "prefill");
    t_prefill = now() - t0;
    t0 = now();
    if (!quiet) {
        fprintf(stderr, "prompt: %d tokens:", n_prompt);
        for (i = 0; i < n_prompt; i++) fprintf(stderr, " %d", prompt_ids[i]);
        fprintf(stderr, "\n");
        if (have_tok && prompt) fputs(prompt, stdout); /* the text continues the prompt, as llama.cpp prints it */
        else printf("output:");
    }
    if (have_tok) { /* the text, streamed: whole UTF-8 characters only */
        ck_tok_stream_init(&stream);
        piece = (char *)malloc(tf.tok.max_token_len + 8);
        if (!quiet && !prompt) putchar(' ');
    }
    for (i = 0, pos = n_prompt; i < n_gen; i++, pos++) {
        tok = ck_sample(CKM_LOGITS(&m), CKM_N_VOCAB, temp, top_k, top_p, &seed, scratch);
        if (have_tok) fwrite(piece, 1, ck_tok_stream_next(&tf.tok, &stream, tok, 0, piece, tf.tok.max_token_len + 8), stdout);
        else printf(" %d", tok);
        fflush(stdout);
        if (i + 1 < n_gen) CKM_DECODE(&m, tok, pos);
    }
    if (have_tok) { fwrite(piece, 1, ck_tok_stream_flush(&stream, piece, 4), stdout); free(piece); ck_tok_close(&tf); }
    printf("\n");
    fflush(stdout); /* the text before the timing line on stderr */
    check_canaries(&m, "decode");
    t_decode = now() - t0;
    if (!quiet)
        fprintf(stderr, "prefill: %d tokens in %.3f s (%.1f tokens/s); decode: %d tokens in %.3f s (%.1f tokens/s)\n", n_prompt, t_prefill,
                n_prompt / (t_prefill > 0 ? t_prefill : 1e-9), n_gen, t_decode, n_gen / (t_decode > 0 ? t_decode : 1e-9));
    free(scratch);
    free(prompt_ids);
    ck_model_close(&m);
    return 0;
}
