/* bench_tokenizer: single-thread encode speed (MB/s of input, tokens/s) per vocabulary, for
   English text of 200, 3,000 and 15,000 characters (tests/data/shakespeare-15k.txt, the start
   of tiny Shakespeare) and for multilingual text (below), plus decode speed. Numbers only.
   Usage: bench_tokenizer [DATA_DIR] */
#define _POSIX_C_SOURCE 199309L
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *multilingual =
    "The quick brown fox jumps over the lazy dog. "
    "Der schnelle braune Fuchs springt über den faulen Hund. "
    "Быстрая коричневая лиса прыгает через ленивую собаку. "
    "敏捷的棕色狐狸跳过了懒狗。我们今天去公园散步吧！ "
    "素早い茶色の狐がのろまな犬を飛び越える。 "
    "빠른 갈색 여우가 게으른 개를 뛰어넘는다. "
    "الثعلب البني السريع يقفز فوق الكلب الكسول. "
    "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। "
    "Ο γρήγορος καφέ αλεπού πηδά πάνω από το τεμπέλικο σκυλί. "
    "🦊🐶 3.14159 x² + y² = r² — «ça va?» 12,345,678\n";

static void bench(const ck_tok *t, const char *label, const char *text, size_t len)
{
    size_t wb = ck_tok_work_bytes(t, len), mx = ck_tok_max_ids(t, len);
    void *work = malloc(wb);
    int32_t *ids = (int32_t *)malloc(mx * sizeof *ids);
    char *out = (char *)malloc(len + 64);
    double t0, el = 0, best = 1e9, dbest = 1e9;
    int64_t n = 0;
    int reps = 0, r;
    while (el < 0.3 || reps < 3) {
        t0 = now();
        n = ck_tok_encode(t, text, len, 0, ids, mx, work, wb);
        t0 = now() - t0;
        if (t0 < best) best = t0;
        el += t0;
        reps++;
    }
    for (r = 0; r < 20; r++) {
        t0 = now();
        ck_tok_decode(t, ids, (size_t)n, 0, out, len + 64);
        t0 = now() - t0;
        if (t0 < dbest) dbest = t0;
    }
    printf("  %-16s %6zu bytes %6lld tokens  encode %8.1f MB/s %7.2f Mtok/s   decode %8.1f MB/s\n", label, len, (long long)n,
           (double)len / best / 1e6, (double)n / best / 1e6, (double)len / dbest / 1e6);
    free(work); free(ids); free(out);
}

/* the first n characters (code points) of s */
static size_t prefix_chars(const char *s, size_t len, size_t n)
{
    size_t i = 0, c = 0;
    while (i < len && c < n) { i++; while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++; c++; }
    return i;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data";
    static const char *const vocabs[] = { "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-falcon.gguf",
                                          "ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf" };
    char path[1024], *eng, *multi;
    size_t neng = 0, nmulti, i, k;
    FILE *f;
    snprintf(path, sizeof path, "%s/shakespeare-15k.txt", dir);
    f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "bench_tokenizer: cannot open %s\n", path); return 1; }
    eng = (char *)malloc(1 << 16);
    neng = fread(eng, 1, 1 << 16, f);
    fclose(f);
    nmulti = 15000 / strlen(multilingual) * strlen(multilingual);
    multi = (char *)malloc(nmulti + 1);
    for (k = 0; k < nmulti; k += strlen(multilingual)) memcpy(multi + k, multilingual, strlen(multilingual));
    printf("bench_tokenizer: single thread, best of repeated runs (ckernel %s, Unicode %s)\n", ck_simd_name(), ck_unicode_version());
    for (i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
        ck_tokenizer_file tf;
        char err[512];
        double t0;
        snprintf(path, sizeof path, "%s/vocab/%s", dir, vocabs[i]);
        t0 = now();
        if (ck_tok_open(&tf, path, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        t0 = now() - t0;
        printf("%s (%s, pre %s, %d tokens; load %.1f ms)\n", vocabs[i],
               tf.tok.model == CK_TOK_BPE ? "byte-level BPE" : tf.tok.model == CK_TOK_SPM ? "SentencePiece BPE" : "WordPiece",
               ck_tok_pre_name(tf.tok.pre), tf.tok.n_tokens, t0 * 1e3);
        bench(&tf.tok, "english 200", eng, prefix_chars(eng, neng, 200));
        bench(&tf.tok, "english 3000", eng, prefix_chars(eng, neng, 3000));
        bench(&tf.tok, "english 15000", eng, prefix_chars(eng, neng, 15000));
        bench(&tf.tok, "multilingual", multi, nmulti);
        ck_tok_close(&tf);
    }
    free(eng);
    free(multi);
    return 0;
}
