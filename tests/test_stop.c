/* tests/test_stop.c — the stop-string detector (ckernel.h section 14, ck_stop_*) against a plain
   reference, over random texts, stop sets and chunkings, plus named cases.
       cc -std=c99 -I. tests/test_stop.c -o build/test_stop && build/test_stop
   The reference sees the whole text so far: the first match is the stop string occurrence that
   ends first (the earliest start among those); before a match, what may be shown is the text
   minus its longest suffix that is a proper prefix of a stop string. The detector, fed in
   chunks, must have shown exactly that after every chunk, and stop exactly there. */
#define CK_IMPLEMENTATION
#include "ckernel.h"
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL line %d: ", __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* the reference on text[0..n): -1 and *shown = bytes that may be shown; or the stop index and
   *shown = the match's start */
static int reference(const char *text, size_t n, const char *const *strs, const size_t *lens, int ns, size_t *shown)
{
    size_t end, keep;
    int k;
    for (end = 1; end <= n; end++) {
        size_t best = (size_t)-1; int bk = -1;
        for (k = 0; k < ns; k++)
            if (lens[k] <= end && !memcmp(text + end - lens[k], strs[k], lens[k]) && end - lens[k] < best) { best = end - lens[k]; bk = k; }
        if (bk >= 0) { *shown = best; return bk; }
    }
    for (keep = n; keep > 0; keep--) { /* the longest suffix that is a proper prefix of a stop */
        for (k = 0; k < ns; k++)
            if (keep < lens[k] && !memcmp(text + n - keep, strs[k], keep)) break;
        if (k < ns) break;
    }
    *shown = n - keep;
    return -1;
}

static uint64_t rng = 88172645463325252ull;
static unsigned rnd(unsigned m) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (unsigned)(rng % m); }

/* feed text in the given chunk sizes; compare with the reference after every chunk */
static void run_case(const char *text, size_t n, const char *const *strs, const size_t *lens, int ns, const size_t *chunks, int nc,
                     const char *name)
{
    char held[64], out[256], shown[256];
    size_t n_shown = 0, fed = 0, ref_shown;
    int c, ref, max_len = 0, k;
    ck_stop s;
    for (k = 0; k < ns; k++) if ((int)lens[k] > max_len) max_len = (int)lens[k];
    CHECK(ck_stop_init(&s, strs, lens, ns, held, (size_t)max_len) == 0, "%s: init", name);
    for (c = 0; c < nc && fed < n; c++) {
        size_t len = chunks[c] < n - fed ? chunks[c] : n - fed, w;
        w = ck_stop_push(&s, text + fed, len, out);
        memcpy(shown + n_shown, out, w);
        n_shown += w;
        fed += len;
        ref = reference(text, fed, strs, lens, ns, &ref_shown);
        CHECK(n_shown == ref_shown && !memcmp(shown, text, n_shown), "%s: after %zu bytes shown %zu, expected %zu", name, fed, n_shown, ref_shown);
        CHECK(s.hit == ref + 1, "%s: after %zu bytes hit %d, expected %d", name, fed, s.hit, ref + 1);
        if (s.hit) break;
    }
    if (!s.hit) {
        size_t w = ck_stop_flush(&s, out);
        CHECK(n_shown + w == fed && !memcmp(out, text + n_shown, w), "%s: flush", name);
    } else {
        CHECK(ck_stop_push(&s, "x", 1, out) == 0 && ck_stop_flush(&s, out) == 0, "%s: nothing after a match", name);
    }
}

int main(void)
{
    /* named cases: "é" is C3 A9; "<|im_end|>"; overlapping stops */
    {
        const char *strs[] = { "\xc3\xa9t\xc3\xa9", "<|im_end|>" };
        size_t lens[] = { 5, 10 };
        const char *text = "un \xc3\xa9t\xc3\xa8 puis un \xc3\xa9t\xc3\xa9 fini";
        size_t ones[64], i;
        for (i = 0; i < 64; i++) ones[i] = 1;
        run_case(text, strlen(text), strs, lens, 2, ones, 64, "utf8 bytewise");
        { size_t ch[] = { 2, 1, 2, 4, 3, 2, 9, 9, 9 }; run_case(text, strlen(text), strs, lens, 2, ch, 9, "utf8 chunks"); }
        { const char *t2 = "Hello<|im_e"; run_case(t2, strlen(t2), strs, lens, 2, ones, 64, "open at the end"); }
        { const char *t2 = "Hi<|im_end|>more"; size_t ch[] = { 16 }; run_case(t2, strlen(t2), strs, lens, 2, ch, 1, "one push"); }
    }
    {
        const char *strs[] = { "abcd", "bc" }; /* "bc" inside an open "abcd" ends first */
        size_t lens[] = { 4, 2 }, ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
        run_case("xabcx", 5, strs, lens, 2, ones, 8, "shorter inside longer");
    }
    {
        char held[4], out[16];
        const char *strs[] = { "" , "abc" };
        size_t lens[] = { 0, 3 };
        ck_stop s;
        CHECK(ck_stop_init(&s, strs, lens, 2, held, 4) == -1, "an empty stop string is refused");
        CHECK(ck_stop_init(&s, strs + 1, lens + 1, 1, held, 2) == -1, "cap below the longest is refused");
        CHECK(ck_stop_init(&s, strs, lens, 0, held, 0) == 0 && ck_stop_push(&s, "abc", 3, out) == 3, "no stops: all passes");
    }
    /* random: alphabet a, b and the bytes of "é", 1..3 stop strings of 1..6 bytes */
    {
        static const char alpha[] = { 'a', 'b', (char)0xc3, (char)0xa9 };
        int it;
        for (it = 0; it < 20000; it++) {
            char sb[3][8], text[64];
            const char *strs[3];
            size_t lens[3], chunks[64], n = 1 + rnd(40), i;
            int ns = 1 + (int)rnd(3), k, nc = 0;
            for (k = 0; k < ns; k++) {
                lens[k] = 1 + rnd(6);
                for (i = 0; i < lens[k]; i++) sb[k][i] = alpha[rnd(it % 2 ? 2 : 4)];
                strs[k] = sb[k];
            }
            for (i = 0; i < n; i++) text[i] = alpha[rnd(it % 2 ? 2 : 4)];
            for (i = 0; i < n; nc++) { chunks[nc] = 1 + rnd(5); i += chunks[nc]; }
            run_case(text, n, strs, lens, ns, chunks, nc, "random");
            if (failures > 10) break;
        }
    }
    printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}
