/* examples/perplexity.c — perplexity of a model on a text, computed as llama.cpp's
   llama-perplexity computes it. One translation unit with the model's generated header:
       cc -O2 -march=native -fopenmp -I. -Ibuild/mymodel -DCK_MODEL_HEADER='"mymodel.h"' examples/perplexity.c -o perplexity -lm
   (`ck perplexity MODEL.gguf -f TEXT` builds it once, cached, and runs it).

   perplexity -m MODEL.gguf -f TEXT [-c N] [-b N]

   The procedure (llama.cpp's, examples/perplexity/perplexity.cpp at c392e5094):
   - the whole text is tokenized once with the model's tokenizer, adding the special tokens the
     model adds (BOS at the start of the text when tokenizer.ggml.add_bos_token or its kind says
     so; a model that adds EOS is refused, as llama.cpp asserts). A GGUF without a tokenizer and
     with 256 ids reads the text as bytes, no BOS (as examples/train.c does);
   - the tokens are cut into n_chunk = n_tokens / N chunks of N = -c tokens (the rest is unused);
     at least 2 chunks are needed;
   - each chunk is evaluated from position 0 with an empty KV cache; when the model adds BOS its
     first token is replaced by BOS (the text's other tokens stay as they are);
   - only the second half is scored: the logits at positions first = N/2 .. N-2 predict the tokens
     at first+1 .. N-1 (N - N/2 - 1 tokens per chunk), each as -log softmax (in double);
   - after each chunk the running estimate exp(mean nll) is printed as "[k]PPL,"; at the end
     "Final estimate: PPL = P +/- E" with E = P * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)).
   -b N only cuts each chunk's prefill into calls of at most N tokens (and of at most this
   program's CKM_MAX_PROMPT; a call also ends at N/2, so that only the scored half writes logits):
   the values are the same up to float rounding.

   Exit codes: 0 done; 1 the model or the text could not be read or run; 2 the command line (an
   option's value, a text too short for two chunks). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS and madvise (glibc, musl): ck_model_repack copies mapped weights into huge pages */
#define CK_IMPLEMENTATION
#include "ckernel.h"
#ifndef CK_MODEL_HEADER
#error "define CK_MODEL_HEADER as the generated header, e.g. -DCK_MODEL_HEADER='\"mymodel.h\"'"
#endif
#include CK_MODEL_HEADER

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PPL_DEFAULT_CTX 512    /* llama-perplexity's n_ctx */
#define PPL_DEFAULT_BATCH 2048 /* llama.cpp's n_batch */

typedef struct {
    const char *model, *text;
    int n_ctx, n_batch;        /* 0: not given */
} ppl_options;

static int fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "perplexity: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    return 2;
}

/* a user's value for a message: at most 48 bytes, control bytes as '?' */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t i;
    for (i = 0; s[i] && i + 4 < cap && i < 48; i++) buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i] && i + 4 < cap) { memcpy(buf + i, "...", 3); i += 3; }
    buf[i] = 0;
    return buf;
}

/* a whole number >= lo, digits only */
static int parse_count(const char *opt, const char *s, int lo, int *out)
{
    char *end, b[64];
    long v;
    errno = 0;
    v = *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
    if (!(*s >= '0' && *s <= '9') || *end) return fail("%s %s: not a whole number", opt, shown(s, b, sizeof b));
    if (errno == ERANGE || v < lo || v > INT_MAX) return fail("%s %s: must be %d or more (at most %d)", opt, shown(s, b, sizeof b), lo, INT_MAX);
    *out = (int)v;
    return 0;
}

static int usage(void)
{
    printf("usage: perplexity -m MODEL.gguf -f TEXT [-c N] [-b N]\n"
           "  model %s (%s), vocab %d, context %d, prefill calls of at most %d tokens\n"
           "  -f TEXT   the text (a file), tokenized once with the model's tokenizer\n"
           "  -c N      tokens per chunk, 3..%d (default %d, llama-perplexity's, or the model's context if smaller);\n"
           "            the second half of each chunk is scored; the text needs at least 2 chunks\n"
           "  -b N      tokens per prefill call, >= 1 (default %d, llama.cpp's; at most N and %d are used)\n"
           "  Each option at most once. Prints [k]PPL after each chunk, then the estimate and its error.\n",
           CKM_NAME, CKM_ARCH, CKM_N_VOCAB, CKM_MAX_CTX, CKM_MAX_PROMPT, CKM_MAX_CTX, PPL_DEFAULT_CTX, PPL_DEFAULT_BATCH, CKM_MAX_PROMPT);
    return 0;
}

/* argv -> o: 0 ready, 1 --help, 2 a message was printed */
static int parse_options(int argc, char **argv, ppl_options *o)
{
    int i;
    char b[64];
    memset(o, 0, sizeof *o);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        if (strcmp(a, "-m") && strcmp(a, "-f") && strcmp(a, "-c") && strcmp(a, "-b"))
            return fail(a[0] == '-' ? "unknown option %s (options: -m -f -c -b)" : "unexpected argument '%s' (options: -m -f -c -b)",
                        shown(a, b, sizeof b));
        if (i + 1 >= argc) return fail("%s needs a value", a);
        if ((a[1] == 'm' && o->model) || (a[1] == 'f' && o->text) || (a[1] == 'c' && o->n_ctx) || (a[1] == 'b' && o->n_batch))
            return fail("%s given twice", a);
        i++;
        if (a[1] == 'm') o->model = argv[i];
        else if (a[1] == 'f') o->text = argv[i];
        else if (a[1] == 'c' && parse_count("-c", argv[i], 3, &o->n_ctx)) return 2;
        else if (a[1] == 'b' && parse_count("-b", argv[i], 1, &o->n_batch)) return 2;
    }
    if (!o->model) return fail("no model (-m MODEL.gguf)");
    if (!o->text) return fail("no text (-f TEXT)");
    if (o->n_ctx > CKM_MAX_CTX)
        return fail("-c %d: more than the %d positions of this program (the model's context; ckgen --max-ctx)", o->n_ctx, CKM_MAX_CTX);
    return 0;
}

/* the file's bytes (a NUL after them); NULL and a message */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, r;
    char *buf, *grown;
    *len = 0;
    if (!f) { fprintf(stderr, "perplexity: %s: %s\n", path, strerror(errno)); return NULL; }
    buf = (char *)malloc(cap + 1);
    while (buf && (r = fread(buf + *len, 1, cap - *len, f)) > 0) {
        *len += r;
        if (*len == cap) {
            grown = (char *)realloc(buf, (cap *= 2) + 1);
            if (!grown) { free(buf); buf = NULL; } else buf = grown;
        }
    }
    if (!buf || ferror(f)) { fprintf(stderr, "perplexity: cannot read %s\n", path); fclose(f); free(buf); return NULL; }
    fclose(f);
    buf[*len] = 0;
    return buf;
}

/* A GGUF with no tokenizer.ggml.* at all and 256 ids: its text is bytes (examples/train.c). 1, or 0
   with a message: why the text cannot be tokenized (tok_err: the tokenizer's own words). */
static int bytes_model(const char *model, const char *tok_err)
{
    ck_gguf g;
    int has_tokenizer;
    if (ck_gguf_open(&g, model) != 0) {
        fprintf(stderr, "perplexity: %s\n", g.error);
        return 0;
    }
    has_tokenizer = ck_gguf_find_kv(&g, "tokenizer.ggml.model") >= 0;
    ck_gguf_close(&g);
    if (has_tokenizer || CKM_N_VOCAB != 256) {
        fprintf(stderr, "perplexity: the text needs the model's tokenizer: %s\n", tok_err);
        return 0;
    }
    return 1;
}

/* The text's tokens as llama.cpp tokenizes it for perplexity (add_special on, parse_special off).
   *bos: the token each chunk starts with, or -1 when the model adds none. The count, or -1. */
static int64_t tokenize_text(const char *model, const char *text, size_t len, int32_t **ids, int32_t *bos)
{
    ck_tokenizer_file tf;
    char err[512];
    int64_t n, i;
    *bos = -1;
    if (ck_tok_open(&tf, model, err, sizeof err) == 0) {
        if (tf.tok.add_eos) { /* llama.cpp: GGML_ASSERT(!llama_vocab_get_add_eos(vocab)) */
            fprintf(stderr, "perplexity: %s adds EOS to a text (tokenizer.ggml.add_eos_token): llama.cpp's perplexity refuses such a model\n", model);
            ck_tok_close(&tf);
            return -1;
        }
        n = ck_tok_encode_alloc(&tf.tok, text, len, CK_TOK_ADD_SPECIAL, ids);
        if (tf.tok.add_bos && tf.tok.bos >= 0) *bos = tf.tok.bos;
        ck_tok_close(&tf);
        if (n < 0) fprintf(stderr, "perplexity: the tokenizer failed on the text (%llu bytes): out of memory or too long\n", (unsigned long long)len);
        return n;
    }
    if (!bytes_model(model, err)) return -1;
    *ids = (int32_t *)malloc((len ? len : 1) * sizeof(int32_t)); /* no tokenizer, 256 ids: bytes */
    if (!*ids) return -1;
    for (i = 0; i < (int64_t)len; i++) (*ids)[i] = (unsigned char)text[i];
    fprintf(stderr, "perplexity: %s has no tokenizer and 256 ids: the text is read as bytes\n", model);
    return (int64_t)len;
}

/* -log p(tok) from one row of logits, in double: log-sum-exp around the largest logit */
static double nll_of(const float *logits, int n_vocab, int tok)
{
    double max = logits[0], sum = 0.0;
    int i;
    for (i = 1; i < n_vocab; i++) if (logits[i] > max) max = logits[i];
    for (i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - max);
    return max + log(sum) - (double)logits[tok];
}

static int finite_row(const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) if (!(x[i] - x[i] == 0.0f)) return 0;
    return 1;
}

int main(int argc, char **argv)
{
    ppl_options o;
    ck_model m;
    char *text;
    size_t text_len;
    int32_t *tokens = NULL, *chunk, bos;
    int64_t n_tokens, k;
    int rc, n_ctx, n_batch, n_chunk, first, i, j, pos, T;
    float *logits;
    double nll = 0.0, nll2 = 0.0, ppl, err;
    long long count = 0;

    rc = parse_options(argc, argv, &o);
    if (rc == 1) return usage();
    if (rc) return 2;
    n_ctx = o.n_ctx ? o.n_ctx : PPL_DEFAULT_CTX < CKM_MAX_CTX ? PPL_DEFAULT_CTX : CKM_MAX_CTX;
    if (!o.n_ctx && n_ctx < PPL_DEFAULT_CTX)
        fprintf(stderr, "perplexity: -c defaults to %d (llama-perplexity's); this program has %d positions (the model's context): -c %d\n",
                PPL_DEFAULT_CTX, CKM_MAX_CTX, n_ctx);
    n_batch = o.n_batch ? o.n_batch : PPL_DEFAULT_BATCH;
    if (n_batch > n_ctx) n_batch = n_ctx;
    if (n_batch > CKM_MAX_PROMPT) n_batch = CKM_MAX_PROMPT;

    if (!(text = read_file(o.text, &text_len))) return 1;
    n_tokens = tokenize_text(o.model, text, text_len, &tokens, &bos);
    free(text);
    if (n_tokens < 0) return 1;
    for (k = 0; k < n_tokens; k++)
        if (tokens[k] < 0 || tokens[k] >= CKM_N_VOCAB) {
            fprintf(stderr, "perplexity: token %d at position %lld is outside the model's vocabulary of %d\n", tokens[k], (long long)k,
                    CKM_N_VOCAB);
            free(tokens);
            return 1;
        }
    if (n_tokens < 2 * (int64_t)n_ctx) {
        fprintf(stderr, "perplexity: %s tokenizes to only %lld tokens; a context of %d needs at least %d (two chunks): "
                        "give a longer text or a smaller -c\n", o.text, (long long)n_tokens, n_ctx, 2 * n_ctx);
        free(tokens);
        return 2;
    }
    n_chunk = (int)(n_tokens / n_ctx);
    first = n_ctx / 2;

    if (ck_model_open(&m, o.model, CKM_WEIGHTS, CKM_N_WEIGHTS, CKM_LAYOUT_HASH, CKM_WEIGHTS_BYTES, NULL, CKM_STATE_BYTES) != 0) {
        fprintf(stderr, "perplexity: %s\n", m.error);
        free(tokens);
        return 1;
    }
#ifdef CKM_REPACK /* the matmul weights into this build's fastest layouts (quantized: the same bits; F32/F16/BF16: within rounding) */
    if (CKM_REPACK(&m) != 0) {
        fprintf(stderr, "perplexity: %s: %s\n", o.model, m.error);
        ck_model_close(&m);
        free(tokens);
        return 1;
    }
#endif
    CKM_INIT(&m);
    logits = (float *)malloc((size_t)(n_ctx - first) * CKM_N_VOCAB * sizeof(float)); /* [n_ctx - first, n_vocab] */
    chunk = (int32_t *)malloc((size_t)n_ctx * sizeof(int32_t));
    if (!logits || !chunk) {
        fprintf(stderr, "perplexity: out of memory for %d x %d logits\n", n_ctx - first, CKM_N_VOCAB);
        free(logits); free(chunk); free(tokens); ck_model_close(&m);
        return 1;
    }
    fprintf(stderr, "perplexity: %lld tokens%s, %d chunks of %d (scoring positions %d..%d of each), prefill calls of %d\n",
            (long long)n_tokens, bos >= 0 ? " (BOS at the start of each chunk)" : "", n_chunk, n_ctx, first + 1, n_ctx - 1, n_batch);

    rc = 0;
    for (i = 0; i < n_chunk && !rc; i++) {
        memcpy(chunk, tokens + (size_t)i * n_ctx, (size_t)n_ctx * sizeof(int32_t));
        if (bos >= 0) chunk[0] = bos;
        /* from position 0 (the KV cache holds nothing of the last chunk); a call ends at `first`, so
           that the rows before it (context only) write no logits, and the rows from it write them all */
        for (pos = 0; pos < n_ctx; pos += T) {
            T = (pos < first ? first : n_ctx) - pos;
            if (T > n_batch) T = n_batch;
            CKM_PREFILL(&m, chunk + pos, T, pos, pos < first ? NULL : logits + (size_t)(pos - first) * CKM_N_VOCAB);
        }
        for (j = first; j < n_ctx - 1; j++) { /* the logits at j predict the token at j + 1 */
            const float *row = logits + (size_t)(j - first) * CKM_N_VOCAB;
            double v;
            if (!finite_row(row, CKM_N_VOCAB)) {
                fflush(stdout);
                fprintf(stderr, "\nperplexity: logits at position %d of chunk %d are not finite (NaN or Inf)\n", j, i + 1);
                rc = 1;
                break;
            }
            v = nll_of(row, CKM_N_VOCAB, chunk[j + 1]);
            nll += v;
            nll2 += v * v;
            count++;
        }
        if (!rc) {
            printf("[%d]%.4f,", i + 1, exp(nll / (double)count));
            fflush(stdout);
        }
    }
    if (!rc) {
        nll /= (double)count;
        nll2 = nll2 / (double)count - nll * nll;
        ppl = exp(nll);
        err = nll2 > 0.0 ? ppl * sqrt(nll2 / (double)(count - 1)) : 0.0;
        printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl, err);
        fflush(stdout); /* before the summary on stderr */
        fprintf(stderr, "perplexity: %lld tokens scored in %d chunks\n", count, n_chunk);
    }
    free(logits); free(chunk); free(tokens);
    ck_model_close(&m);
    return rc;
}
