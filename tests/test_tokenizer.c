/* test_tokenizer: every reference string of tests/data/vocab/<vocab>.gguf.inp must encode to
   exactly the ids of its .out (llama.cpp's tokenizer, no BOS, special text as plain text) and,
   for the lossless kinds (byte-level BPE, SentencePiece), decode back to its bytes, whole and
   streamed token by token. Then hostile inputs (invalid UTF-8, NUL bytes, 1 MB of one
   character, empty input, special-token text, truncated work buffers) on every vocabulary.
   Usage: test_tokenizer [DATA_DIR]   (default tests/data). Exit status 1 on any failure. */
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long sz;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) { fclose(f); free(buf); return NULL; }
    buf[sz] = 0;
    fclose(f);
    *n = (size_t)sz;
    return buf;
}

static int64_t encode(const ck_tok *t, const char *s, size_t n, int flags, int32_t *ids, size_t max)
{
    size_t wb = ck_tok_work_bytes(t, n);
    void *w = malloc(wb);
    int64_t r = ck_tok_encode(t, s, n, flags, ids, max, w, wb);
    free(w);
    return r;
}

static void print_escaped(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') printf("\\n"); else if (c == '\t') printf("\\t"); else if (c < 32) printf("\\x%02x", c); else putchar(c);
    }
}

/* decode whole and streamed; both must give back s (lossless kinds) */
static int roundtrip(const ck_tok *t, const int32_t *ids, size_t n, const char *s, size_t len)
{
    size_t cap = len + 64, k, m = 0;
    char *out = (char *)malloc(cap), *piece = (char *)malloc(t->max_token_len + 8), *streamed = (char *)malloc(cap + t->max_token_len + 8);
    ck_tok_stream st;
    int ok;
    size_t d = ck_tok_decode(t, ids, n, 0, out, cap);
    ok = d == len && memcmp(out, s, len) == 0;
    ck_tok_stream_init(&st);
    for (k = 0; k < n; k++) {
        size_t w = ck_tok_stream_next(t, &st, ids[k], 0, piece, t->max_token_len + 8), j;
        /* what is written is never a partial character */
        int incomplete = 0;
        for (j = 1; j <= 3 && j <= w; j++) {
            unsigned char c = (unsigned char)piece[w - j];
            if ((c & 0xC0) == 0x80) continue;
            if (c >= 0xC2 && c <= 0xF4 && (size_t)(c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2) > j) incomplete = 1;
            break;
        }
        if (incomplete) ok = 0;
        if (m + w <= cap) memcpy(streamed + m, piece, w);
        m += w;
    }
    m += ck_tok_stream_flush(&st, streamed + (m <= cap ? m : 0), 4);
    ok = ok && m == len && memcmp(streamed, s, len) == 0;
    free(out); free(piece); free(streamed);
    return ok;
}

static void test_vocab(const char *dir, const char *name)
{
    char path[1024];
    ck_tokenizer_file tf;
    char err[512];
    char *inp, *outs;
    size_t ninp, nout, pos = 0, opos = 0;
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t seplen = strlen(sep);
    int n_cases = 0, n_ok = 0, n_rt = 0, n_rt_ok = 0, lossless, bytes_lossless, k;
    snprintf(path, sizeof path, "%s/vocab/%s", dir, name);
    if (ck_tok_open(&tf, path, err, sizeof err)) { CHECK(0, "open %s: %s", path, err); return; }
    lossless = tf.tok.model != CK_TOK_WPM;
    bytes_lossless = tf.tok.model == CK_TOK_BPE;
    for (k = 0; k < 256; k++)
        if (tf.tok.byte_tok[k] < 0 || tf.tok.type[tf.tok.byte_tok[k]] != CK_TOKT_NORMAL) bytes_lossless = 0;
    snprintf(path, sizeof path, "%s/vocab/%s.inp", dir, name);
    inp = read_all(path, &ninp);
    snprintf(path, sizeof path, "%s/vocab/%s.out", dir, name);
    outs = read_all(path, &nout);
    CHECK(inp && outs, "%s: cannot read .inp/.out", name);
    if (!inp || !outs) { ck_tok_close(&tf); free(inp); free(outs); return; }
    while (pos < ninp) {
        char *end = strstr(inp + pos, sep), *oend;
        size_t len, k;
        int32_t *ids, want[4096];
        int nwant = 0, match;
        int64_t n;
        if (!end) break;
        len = (size_t)(end - (inp + pos));
        oend = strchr(outs + opos, '\n');
        CHECK(oend != NULL, "%s: .out has fewer lines than .inp has strings", name);
        if (!oend) break;
        *oend = 0;
        {
            char *q = outs + opos, *e2;
            for (;;) {
                long v = strtol(q, &e2, 10);
                if (e2 == q) break;
                if (nwant < 4096) want[nwant++] = (int32_t)v;
                q = e2;
            }
        }
        ids = (int32_t *)malloc(ck_tok_max_ids(&tf.tok, len) * sizeof(int32_t));
        n = encode(&tf.tok, inp + pos, len, 0, ids, ck_tok_max_ids(&tf.tok, len));
        match = n == nwant;
        for (k = 0; match && k < (size_t)n; k++) match = ids[k] == want[k];
        n_cases++;
        if (match) n_ok++;
        else {
            failures++;
            printf("FAIL %s case %d \"", name, n_cases);
            print_escaped(inp + pos, len);
            printf("\"\n  want:");
            for (k = 0; k < (size_t)nwant; k++) printf(" %d", want[k]);
            printf("\n  got: ");
            for (k = 0; k < (size_t)(n > 0 ? n : 0); k++) printf(" %d", ids[k]);
            printf("\n");
        }
        if (lossless && n >= 0) {
            n_rt++;
            if (roundtrip(&tf.tok, ids, (size_t)n, inp + pos, len)) n_rt_ok++;
            else { failures++; printf("FAIL %s case %d: decode does not give the input back\n", name, n_cases); }
        }
        free(ids);
        pos += len + seplen;
        opos = (size_t)(oend - outs) + 1;
    }
    CHECK(n_cases > 0, "%s: no test strings", name);
    CHECK(opos == nout, "%s: .out has more lines than .inp has strings", name);
    printf("%-32s %-5s pre=%-14s %3d/%d reference strings match", name,
           tf.tok.model == CK_TOK_BPE ? "bpe" : tf.tok.model == CK_TOK_SPM ? "spm" : "wpm", ck_tok_pre_name(tf.tok.pre), n_ok, n_cases);
    if (lossless) printf(", %d/%d decode back exactly\n", n_rt_ok, n_rt); else printf(" (WordPiece is lossy: no round trip)\n");

    /* hostile and edge inputs */
    {
        static const char bad[] = "\xff\xfe abc \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 z\x80";
        static const char nul[] = "a\0b\0\0 c \0";
        int32_t ids[256];
        int64_t n;
        size_t big = 1 << 20, i;
        char *mb;
        int32_t *bids;
        const char *chars[] = { "a", " ", "\n", "\xe4\xb8\xad", "1", "\xff" };
        n = encode(&tf.tok, "", 0, 0, ids, 256);
        CHECK(n == 0, "%s: empty input gave %lld ids", name, (long long)n);
        n = encode(&tf.tok, "", 0, CK_TOK_ADD_SPECIAL, ids, 256);
        CHECK(n >= 0 && n <= 2, "%s: empty input with BOS gave %lld ids", name, (long long)n);
        if (tf.tok.add_bos && tf.tok.bos >= 0) CHECK(n >= 1 && ids[0] == tf.tok.bos, "%s: BOS not first", name);
        n = encode(&tf.tok, bad, sizeof bad - 1, 0, ids, 256);
        CHECK(n > 0, "%s: invalid UTF-8 gave %lld", name, (long long)n);
        /* invalid UTF-8 round-trips where every byte has its own plain token: not in SentencePiece
           (llama.cpp groups a bad lead byte with what follows, a U+2581 too) nor where a byte's
           character is a user-defined token (deepseek-llm: the bytes that never occur in UTF-8) */
        if (bytes_lossless && n > 0) CHECK(roundtrip(&tf.tok, ids, (size_t)n, bad, sizeof bad - 1), "%s: invalid UTF-8 does not round-trip", name);
        n = encode(&tf.tok, nul, sizeof nul - 1, 0, ids, 256);
        CHECK(n > 0, "%s: NUL bytes gave %lld", name, (long long)n);
        if (lossless && n > 0) CHECK(roundtrip(&tf.tok, ids, (size_t)n, nul, sizeof nul - 1), "%s: NUL bytes do not round-trip", name);
        /* max_ids smaller than needed: the count is still the full one, nothing written past max */
        {
            int32_t few[3] = { -7, -7, -7 };
            int64_t full = encode(&tf.tok, "Hello world, hello again", 24, 0, NULL, 0);
            n = encode(&tf.tok, "Hello world, hello again", 24, 0, few, 2);
            CHECK(n == full && full > 2 && few[2] == -7, "%s: max_ids not respected (%lld vs %lld)", name, (long long)n, (long long)full);
        }
        /* too little work memory is an error, not a crash */
        {
            char w[64];
            n = ck_tok_encode(&tf.tok, "Hello", 5, 0, ids, 256, w, sizeof w);
            CHECK(n == -1, "%s: a too small work buffer was accepted", name);
        }
        /* special-token text: plain text without the flag, the token with it */
        if (tf.tok.eos >= 0 && tf.tok.text_len[tf.tok.eos] > 0 && tf.tok.type[tf.tok.eos] == CK_TOKT_CONTROL) {
            char s[300];
            size_t L = tf.tok.text_len[tf.tok.eos];
            if (L < 200) {
                memcpy(s, "x ", 2);
                memcpy(s + 2, tf.tok.text[tf.tok.eos], L);
                memcpy(s + 2 + L, " y", 2);
                n = encode(&tf.tok, s, L + 4, CK_TOK_PARSE_SPECIAL, ids, 256);
                for (i = 0; i < (size_t)(n > 0 ? n : 0) && ids[i] != tf.tok.eos; i++) {}
                CHECK(n > 0 && i < (size_t)n, "%s: --special did not find the EOS text", name);
                n = encode(&tf.tok, s, L + 4, 0, ids, 256);
                for (i = 0; i < (size_t)(n > 0 ? n : 0) && ids[i] != tf.tok.eos; i++) {}
                CHECK(n > 0 && i == (size_t)n, "%s: EOS text became EOS without --special", name);
                if (lossless) {
                    n = encode(&tf.tok, s, L + 4, CK_TOK_PARSE_SPECIAL, ids, 256);
                    {
                        char o[400];
                        size_t d = ck_tok_decode(&tf.tok, ids, (size_t)n, CK_TOK_RENDER_SPECIAL, o, sizeof o);
                        CHECK(d == L + 4 && memcmp(o, s, d) == 0, "%s: special token does not round-trip", name);
                    }
                }
            }
        }
        /* 1 MB of one character */
        mb = (char *)malloc(big);
        bids = (int32_t *)malloc(ck_tok_max_ids(&tf.tok, big) * sizeof(int32_t));
        for (i = 0; i < sizeof chars / sizeof chars[0]; i++) {
            size_t cl = strlen(chars[i]), k, L = big / cl * cl;
            for (k = 0; k < L; k += cl) memcpy(mb + k, chars[i], cl);
            n = encode(&tf.tok, mb, L, 0, bids, ck_tok_max_ids(&tf.tok, L));
            /* WordPiece gives nothing for whitespace and invalid bytes, as llama.cpp */
            int empty_ok = (tf.tok.model == CK_TOK_WPM && (chars[i][0] == ' ' || chars[i][0] == '\n' || chars[i][0] == '\xff'))
                           || (chars[i][0] == '\xff' && tf.tok.byte_tok[0xff] < 0 && tf.tok.unk < 0); /* falcon: byte 0xff has no token, dropped */
            CHECK(n >= (empty_ok ? 0 : 1) && (size_t)n <= ck_tok_max_ids(&tf.tok, L), "%s: 1 MB of '%s' gave %lld ids", name, chars[i], (long long)n);
            if ((chars[i][0] == '\xff' ? bytes_lossless : lossless) && n > 0) CHECK(roundtrip(&tf.tok, bids, (size_t)n, mb, L), "%s: 1 MB of one character does not round-trip", name);
        }
        /* every byte value, and bad ids to decode */
        for (i = 0; i < 256; i++) mb[i] = (char)i;
        n = encode(&tf.tok, mb, 256, CK_TOK_ADD_SPECIAL | CK_TOK_PARSE_SPECIAL, bids, ck_tok_max_ids(&tf.tok, 256));
        CHECK(n > 0, "%s: all bytes gave %lld", name, (long long)n);
        {
            int32_t badids[4] = { -1, tf.tok.n_tokens, 0x7fffffff, 0 };
            char o[64];
            size_t d = ck_tok_decode(&tf.tok, badids, 3, 0, o, sizeof o);
            CHECK(d == 0, "%s: bad ids decoded to %zu bytes", name, d);
        }
        free(mb);
        free(bids);
    }
    ck_tok_close(&tf);
    free(inp);
    free(outs);
}

/* the per-call word cache gives the ids the plain merge loop gives, on long real text */
static void test_cache(const char *dir)
{
    char path[1024], err[512], *txt;
    size_t n = 0;
    ck_tokenizer_file tf;
    FILE *f;
    snprintf(path, sizeof path, "%s/shakespeare-15k.txt", dir);
    f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return;
    txt = (char *)malloc(1 << 16);
    n = fread(txt, 1, 1 << 16, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-2.gguf", dir);
    if (ck_tok_open(&tf, path, err, sizeof err) == 0) {
        int32_t *a = (int32_t *)malloc(ck_tok_max_ids(&tf.tok, n) * 4), *b = (int32_t *)malloc(ck_tok_max_ids(&tf.tok, n) * 4);
        int64_t na = encode(&tf.tok, txt, n, 0, a, ck_tok_max_ids(&tf.tok, n)), nb = encode(&tf.tok, txt, n, CK_TOK_NO_CACHE, b, ck_tok_max_ids(&tf.tok, n));
        CHECK(na > 1000 && na == nb && memcmp(a, b, (size_t)na * 4) == 0, "word cache changes the ids (%lld vs %lld)", (long long)na, (long long)nb);
        CHECK(roundtrip(&tf.tok, a, (size_t)na, txt, n), "15k of English does not round-trip");
        free(a); free(b);
        ck_tok_close(&tf);
    } else CHECK(0, "%s", err);
    free(txt);
}

/* SentencePiece merging word by word (ck_tok.spm_words) gives the ids merging the whole text
   at once gives, with and without the word cache: long real text, then spaces, byte fallback
   and invalid bytes next to U+2581, then words repeated across control tokens (the cache must
   not carry a word from one fragment to the next) */
static void test_spm_words(const char *dir)
{
    static const char odd[] = "  a  b\xf0 \xe2\x96\x81x\xe2\x96 \xe2\x96\x81\xe2\x96\x81 y\xff  \xe2\x96\x81  z \xf0\x9f\xa6\x8a  \xe2 ";
    static const char frags[] = " the cat</s> the cat sat<s>the dog the cat</s> dog dog</s>the cat the";
    char path[1024], err[512], *txt;
    size_t n = 0, k;
    ck_tokenizer_file tf;
    FILE *f;
    snprintf(path, sizeof path, "%s/shakespeare-15k.txt", dir);
    f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return;
    txt = (char *)malloc(1 << 16);
    n = fread(txt, 1, 1 << 16, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-llama-spm.gguf", dir);
    if (ck_tok_open(&tf, path, err, sizeof err) == 0) {
        ck_tok whole = tf.tok;
        const char *ins[3];
        size_t lens[3];
        whole.spm_words = 0;
        CHECK(tf.tok.spm_words == 1, "llama-spm: spm_words %d, expected 1", tf.tok.spm_words);
        ins[0] = txt; lens[0] = n; ins[1] = odd; lens[1] = sizeof odd - 1; ins[2] = frags; lens[2] = sizeof frags - 1;
        for (k = 0; k < 3; k++) {
            const int fl = CK_TOK_ADD_SPECIAL | CK_TOK_PARSE_SPECIAL;
            size_t mx = ck_tok_max_ids(&tf.tok, lens[k]);
            int32_t *a = (int32_t *)malloc(mx * 4), *b = (int32_t *)malloc(mx * 4), *c = (int32_t *)malloc(mx * 4);
            int64_t na = encode(&tf.tok, ins[k], lens[k], fl, a, mx), nb = encode(&whole, ins[k], lens[k], fl | CK_TOK_NO_CACHE, b, mx),
                    nc = encode(&tf.tok, ins[k], lens[k], fl | CK_TOK_NO_CACHE, c, mx);
            CHECK(na > 10 && na == nb && memcmp(a, b, (size_t)na * 4) == 0, "spm word by word changes the ids of input %d (%lld vs %lld)", (int)k, (long long)na, (long long)nb);
            CHECK(na == nc && memcmp(a, c, (size_t)na * 4) == 0, "spm word cache changes the ids of input %d (%lld vs %lld)", (int)k, (long long)na, (long long)nc);
            free(a); free(b); free(c);
        }
        ck_tok_close(&tf);
    } else CHECK(0, "%s", err);
    free(txt);
}

static void test_unicode(void)
{
    CHECK(ck_unicode_flags('a') == CK_U_LETTER, "flags a");
    CHECK(ck_unicode_flags(' ') == (CK_U_SEP | CK_U_SPACE), "flags space");
    CHECK(ck_unicode_flags(0x4E2D) == CK_U_LETTER, "flags CJK");
    CHECK(ck_unicode_flags(0x3000) & CK_U_SPACE, "flags ideographic space");
    CHECK(ck_unicode_flags(0x0301) == CK_U_MARK, "flags combining acute");
    CHECK(ck_unicode_flags(0x0660) == CK_U_NUMBER, "flags arabic-indic zero");
    CHECK(ck_unicode_flags(0x10FFFF) == 0, "flags unassigned");
    CHECK(ck_unicode_tolower('A') == 'a' && ck_unicode_tolower(0xC9) == 0xE9 && ck_unicode_tolower(0x0410) == 0x0430, "tolower");
    CHECK(ck_unicode_tolower(0x0100) == 0x0101 && ck_unicode_tolower(0x0101) == 0x0101, "tolower stride 2");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data";
    static const char *const vocabs[] = { "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-falcon.gguf",
                                          "ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf" };
    size_t i;
    printf("tokenizer: Unicode %s tables\n", ck_unicode_version());
    test_unicode();
    for (i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) test_vocab(dir, vocabs[i]);
    test_cache(dir);
    test_spm_words(dir);
    if (failures) { printf("test_tokenizer: %d FAILURES\n", failures); return 1; }
    printf("test_tokenizer: all passed\n");
    return 0;
}
