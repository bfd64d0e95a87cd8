/* libFuzzer target for the tokenizer: the input's first byte picks a vocabulary and flags, the
   rest is text to encode; the ids are decoded whole and streamed, and (for the lossless ones on
   valid input) must give the text back. Vocabularies load from tests/data/vocab (or
   $CK_VOCAB_DIR). Build and run: make fuzz-tokenizer */
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = { "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-falcon.gguf",
                                     "ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf" };
#define NV (sizeof names / sizeof names[0])
static ck_tokenizer_file files[NV];
static int loaded;

static void load(void)
{
    const char *dir = getenv("CK_VOCAB_DIR");
    size_t i;
    char path[1024], err[512];
    if (!dir) dir = "tests/data/vocab";
    for (i = 0; i < NV; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (ck_tok_open(&files[i], path, err, sizeof err)) { fprintf(stderr, "fuzz_tokenizer: %s\n", err); abort(); }
    }
    loaded = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ck_tok *t;
    const char *text;
    size_t len, wb, mx, k, d, m = 0;
    int flags;
    void *work;
    int32_t *ids;
    int64_t n;
    char *out, *piece;
    ck_tok_stream st;
    if (!loaded) load();
    if (size < 1) return 0;
    t = &files[data[0] % NV].tok;
    flags = (data[0] / NV) & 3;
    text = (const char *)data + 1;
    len = size - 1;
    wb = ck_tok_work_bytes(t, len);
    mx = ck_tok_max_ids(t, len);
    work = malloc(wb);
    ids = (int32_t *)malloc(mx * sizeof *ids);
    n = ck_tok_encode(t, text, len, flags, ids, mx, work, wb);
    if (n < 0 || (size_t)n > mx) abort();
    for (k = 0; k < (size_t)n; k++) if (ids[k] < 0 || ids[k] >= t->n_tokens) abort();
    out = (char *)malloc((size_t)n * (t->max_token_len + 4) + 16);
    piece = (char *)malloc(t->max_token_len + 8);
    d = ck_tok_decode(t, ids, (size_t)n, 0, out, (size_t)n * (t->max_token_len + 4) + 16);
    ck_tok_stream_init(&st);
    for (k = 0; k < (size_t)n; k++) {
        size_t w = ck_tok_stream_next(t, &st, ids[k], 0, piece, t->max_token_len + 8);
        if (m + w > d || memcmp(out + m, piece, w) != 0) abort(); /* streaming = whole decode */
        m += w;
    }
    m += ck_tok_stream_flush(&st, piece, 4);
    if (m != d) abort();
    /* gpt-2 and falcon (every byte its own plain token, or none) are lossless without special parsing */
    if ((data[0] % NV == 0) && !(flags & CK_TOK_PARSE_SPECIAL) && (d != len || memcmp(out, text, len) != 0)) abort();
    free(out); free(piece); free(work); free(ids);
    return 0;
}
