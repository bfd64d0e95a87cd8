/* examples/chat.c — a conversation with a model compiled by ckgen, one user turn per line of stdin.
       cc -O2 -march=native -fopenmp -I. -Ibuild/mymodel -DCK_MODEL_HEADER='"mymodel.h"' examples/chat.c -o chat -lm
   (`ck chat MODEL.gguf` builds and caches it as `ck run` does run.c).

   chat -m MODEL.gguf [-sys TEXT] [--chat-template NAME] [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [--verbose]

   Each line is a user turn (/reset starts over, /exit or end of input stops). The conversation is
   rendered with the chat template (ckernel.h section 16: the family of tokenizer.chat_template,
   or --chat-template NAME), and only what is new is fed to the model: the KV cache holds the
   tokens of the conversation so far, with the text each of them ends at, and a turn keeps every
   cached token whose text is still a prefix of the new rendering (normally all of them) and
   prefills the rest. The answer streams to stdout and ends at an end-of-turn token (eos, eot,
   or the template's end-of-turn text in the vocabulary), at -n tokens, or when the context is
   full (a message says so; nothing crashes). stderr gets one timing line per turn.
   Exit codes: 0 done; 1 the model or its tokenizer could not be opened or run; 2 the command line. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *model, *system, *template_name;
    int n_gen, top_k, verbose;   /* n_gen: answer tokens per turn, 0 = until the turn ends or the context is full */
    float temp, top_p;
    uint64_t seed;
} chat_options;

static int usage(void)
{
    printf("usage: chat -m MODEL.gguf [options] < turns.txt   (one user turn per line; /reset, /exit)\n"
           "  model %s (%s), vocab %d, context %d\n"
           "  -sys TEXT            the system message\n"
           "  --chat-template NAME the template family instead of the file's tokenizer.chat_template:\n"
           "                       %s\n"
           "  -n N                 at most N answer tokens per turn (default 0: until the turn ends)\n"
           "  --temp T             temperature, finite >= 0 (default 0.8; 0 = greedy)\n"
           "  --top-k K            default 40 (0 = all)      --top-p P   default 0.95 (1 = off)\n"
           "  --seed S             sampler seed (default 42)\n"
           "  --verbose            print the token ids prefilled each turn (stderr)\n",
           CKM_NAME, CKM_ARCH, CKM_N_VOCAB, CKM_MAX_CTX, ck_chat_names());
    return 0;
}

static int bad(const char *fmt, const char *a)
{
    fprintf(stderr, "chat: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, " (chat --help)\n");
    return -1;
}

/* whole values only; 1: --help */
static int parse_options(int argc, char **argv, chat_options *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->top_k = 40; o->temp = 0.8f; o->top_p = 0.95f; o->seed = 42;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        char *end;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        if (!strcmp(a, "--verbose")) { o->verbose = 1; continue; }
        if (strcmp(a, "-m") && strcmp(a, "-sys") && strcmp(a, "--chat-template") && strcmp(a, "-n") && strcmp(a, "--temp")
            && strcmp(a, "--top-k") && strcmp(a, "--top-p") && strcmp(a, "--seed"))
            return bad(a[0] == '-' ? "unknown option %s" : "unexpected argument '%s'", a);
        if (i + 1 >= argc) return bad("%s needs a value", a);
        v = argv[++i];
        errno = 0;
        if (!strcmp(a, "-m")) o->model = v;
        else if (!strcmp(a, "-sys")) o->system = v;
        else if (!strcmp(a, "--chat-template")) o->template_name = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--top-k")) {
            long n = *v >= '0' && *v <= '9' ? strtol(v, &end, 10) : -1;
            if (n < 0 || *end || errno || n > INT_MAX) return bad("%s: not a whole number >= 0", a);
            if (a[1] == 'n') o->n_gen = (int)n; else o->top_k = (int)n;
        } else if (!strcmp(a, "--seed")) {
            unsigned long long s = *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
            if (!(*v >= '0' && *v <= '9') || *end || errno) return bad("--seed %s: not a whole unsigned number", v);
            o->seed = (uint64_t)s;
        } else {
            double d = strtod(v, &end);
            if (end == v || *end || !(d - d == 0)) return bad("%s: not a finite number", a);
            if (a[2] == 't' && a[3] == 'e') { if (d < 0) return bad("--temp %s: must be >= 0", v); o->temp = (float)d; }
            else { if (!(d > 0 && d <= 1)) return bad("--top-p %s: must be in (0, 1]", v); o->top_p = (float)d; }
        }
    }
    if (!o->model) return bad("%s", "no model (-m MODEL.gguf)");
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* a growing byte string */
typedef struct { char *s; size_t len, cap; } text;
static void text_put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) cap *= 2;
        t->s = (char *)realloc(t->s, cap);
        if (!t->s) { fprintf(stderr, "chat: out of memory\n"); exit(1); }
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = 0;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = (char *)malloc(n + 1);
    if (!d) { fprintf(stderr, "chat: out of memory\n"); exit(1); }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static int special_text(const ck_tok *t, int32_t id)
{
    return id >= 0 && id < t->n_tokens && (t->type[id] == CK_TOKT_CONTROL || t->type[id] == CK_TOKT_USER);
}

/* the id of the token whose text is exactly s, or -1 */
static int32_t find_token(const ck_tok *t, const char *s)
{
    int32_t i;
    size_t n = strlen(s);
    for (i = 0; s && i < t->n_tokens; i++)
        if (t->text_len[i] == n && !memcmp(t->text[i], s, n)) return i;
    return -1;
}

/* The conversation and what the KV cache holds: the first n_cached positions are the tokens of
   cached.s, token i ending at byte end[i] (a prefilled chunk's tokens all end where the chunk
   does: it is kept or dropped whole). */
typedef struct {
    ck_chat_msg *msgs;
    int n_msgs, cap_msgs, n_sys;
    text cached;
    size_t end[CKM_MAX_CTX];
    int n_cached;
} conversation;

static void conv_add(conversation *c, const char *role, const char *content, size_t len)
{
    if (c->n_msgs == c->cap_msgs) {
        c->cap_msgs = c->cap_msgs ? 2 * c->cap_msgs : 16;
        c->msgs = (ck_chat_msg *)realloc(c->msgs, (size_t)c->cap_msgs * sizeof *c->msgs);
        if (!c->msgs) { fprintf(stderr, "chat: out of memory\n"); exit(1); }
    }
    c->msgs[c->n_msgs].role = role;
    c->msgs[c->n_msgs].content = dup_n(content, len);
    c->n_msgs++;
}
static void conv_reset(conversation *c)
{
    while (c->n_msgs > c->n_sys) free((char *)c->msgs[--c->n_msgs].content);
    c->cached.len = 0;
    c->n_cached = 0;
}

int main(int argc, char **argv)
{
    chat_options o;
    ck_tokenizer_file tf;
    ck_model m;
    ck_prob_id *scratch;
    conversation conv;
    char err[512], *line = NULL, *piece, *bos, *eos;
    size_t line_cap = 0, piece_cap;
    ssize_t got;
    int family, rc, turn = 0, i;
    int32_t stop[17];
    int n_stop = 0;
    const char *s, *eot;
    uint64_t slen;

    rc = parse_options(argc, argv, &o);
    if (rc > 0) return usage();
    if (rc < 0) return 2;
    if (ck_tok_open(&tf, o.model, err, sizeof err)) { fprintf(stderr, "chat: the model's tokenizer: %s\n", err); return 1; }
    if (o.template_name) {
        family = ck_chat_from_name(o.template_name);
        if (!family) {
            fprintf(stderr, "chat: --chat-template %s: not a template ckernel knows (%s)\n", o.template_name, ck_chat_names());
            ck_tok_close(&tf);
            return 2;
        }
    } else if (!ck_gguf_get_str(&tf.gguf, "tokenizer.chat_template", &s, &slen)) {
        fprintf(stderr, "chat: %s has no tokenizer.chat_template: give --chat-template NAME (%s)\n", o.model, ck_chat_names());
        ck_tok_close(&tf);
        return 2;
    } else if (!(family = ck_chat_detect(s, (size_t)slen))) {
        fprintf(stderr, "chat: the file's tokenizer.chat_template is not a family ckernel knows: give --chat-template NAME (%s)\n",
                ck_chat_names());
        ck_tok_close(&tf);
        return 2;
    }
    /* The texts the template writes for bos_token / eos_token: the rendering is tokenized with
       CK_TOK_PARSE_SPECIAL and without CK_TOK_ADD_SPECIAL, so the BOS comes once, from the text,
       where the template puts it. Only a control (or user-defined) token's text parses back to
       the token: a BOS or EOS that is an ordinary piece (a byte-level toy vocabulary) is "". */
    bos = dup_n("", 0);
    eos = dup_n("", 0);
    if (special_text(&tf.tok, tf.tok.bos)) { free(bos); bos = dup_n(tf.tok.text[tf.tok.bos], tf.tok.text_len[tf.tok.bos]); }
    if (special_text(&tf.tok, tf.tok.eos)) { free(eos); eos = dup_n(tf.tok.text[tf.tok.eos], tf.tok.text_len[tf.tok.eos]); }
    /* the answer ends at the file's end-of-generation ids, as run's (ck_tok_eog_ids: eos/eot/eom
       keys when present, end-of-turn marker tokens), and at the template's end-of-turn token */
    n_stop = ck_tok_eog_ids(&tf.tok, &tf.gguf, stop, 16);
    if (n_stop > 16) n_stop = 16;
    eot = ck_chat_end_of_turn(family);
    if (eot && find_token(&tf.tok, eot) >= 0) {
        int32_t id = find_token(&tf.tok, eot);
        for (i = 0; i < n_stop && stop[i] != id; i++) {}
        if (i == n_stop) stop[n_stop++] = id;
    }
    if (ck_model_open(&m, o.model, CKM_WEIGHTS, CKM_N_WEIGHTS, CKM_LAYOUT_HASH, CKM_WEIGHTS_BYTES, NULL, CKM_STATE_BYTES) != 0) {
        fprintf(stderr, "chat: %s\n", m.error);
        ck_tok_close(&tf);
        return 1;
    }
#ifdef CKM_REPACK /* the matmul weights into this build's fastest layouts (quantized: the same bits; F32/F16/BF16: within rounding) */
    if (CKM_REPACK(&m) != 0) {
        fprintf(stderr, "chat: %s: %s\n", o.model, m.error);
        ck_model_close(&m);
        ck_tok_close(&tf);
        return 1;
    }
#endif
    CKM_INIT(&m);
    scratch = (ck_prob_id *)malloc(CKM_N_VOCAB * sizeof *scratch);
    piece_cap = tf.tok.max_token_len + 8;
    piece = (char *)malloc(piece_cap);
    memset(&conv, 0, sizeof conv);
    if (o.system) conv_add(&conv, "system", o.system, strlen(o.system));
    conv.n_sys = conv.n_msgs;
    fprintf(stderr, "chat: template %s, context %d tokens, stop tokens:", ck_chat_name(family), CKM_MAX_CTX);
    for (i = 0; i < n_stop; i++) fprintf(stderr, " %d", stop[i]);
    fprintf(stderr, "%s\n", n_stop ? "" : " none (answers end at -n or a full context)");

    while ((got = getline(&line, &line_cap, stdin)) >= 0) {
        int64_t need, n_new;
        size_t common = 0, from;
        int32_t *ids = NULL;
        int keep, pos, n_out = 0, j, reason = 0; /* reason: 0 -n reached, 1 end of turn, 2 context full */
        char *rendered;
        const char *why = NULL;
        text answer = { 0, 0, 0 };
        ck_tok_stream stream;
        double t0, t_prefill, t_decode;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        if (!strcmp(line, "/exit")) break;
        if (!strcmp(line, "/reset")) {
            conv_reset(&conv);
            printf("[conversation reset]\n");
            fflush(stdout);
            continue;
        }
        if (got == 0) continue;
        turn++;
        conv_add(&conv, "user", line, (size_t)got);
        need = ck_chat_render(family, conv.msgs, conv.n_msgs, 1, bos, eos, NULL, 0, &why);
        if (need < 0) {
            printf("[the %s template refuses this conversation: %s]\n", ck_chat_name(family), why);
            fflush(stdout);
            free((char *)conv.msgs[--conv.n_msgs].content);
            continue;
        }
        rendered = (char *)malloc((size_t)need + 1);
        ck_chat_render(family, conv.msgs, conv.n_msgs, 1, bos, eos, rendered, (size_t)need + 1, NULL);
        /* keep the cached tokens whose text the new rendering still begins with */
        while (common < conv.cached.len && common < (size_t)need && conv.cached.s[common] == rendered[common]) common++;
        for (keep = conv.n_cached; keep > 0 && conv.end[keep - 1] > common; keep--) {}
        from = keep ? conv.end[keep - 1] : 0;
        n_new = ck_tok_encode_alloc(&tf.tok, rendered + from, (size_t)need - from, CK_TOK_PARSE_SPECIAL, &ids);
        if (n_new < 0) { fprintf(stderr, "chat: cannot tokenize the turn\n"); return 1; }
        if (keep + n_new >= CKM_MAX_CTX) { /* and one position at least for the answer */
            printf("[context full: this turn needs %lld more tokens, %d of the %d positions are used; /reset starts over]\n",
                   (long long)n_new, keep, CKM_MAX_CTX);
            fflush(stdout);
            free((char *)conv.msgs[--conv.n_msgs].content);
            free(ids);
            free(rendered);
            continue;
        }
        if (o.verbose) {
            fprintf(stderr, "[prefill %lld tokens at position %d:", (long long)n_new, keep);
            for (j = 0; j < n_new; j++) fprintf(stderr, " %d", ids[j]);
            fprintf(stderr, "]\n");
        }
        t0 = now();
        for (pos = keep; pos < keep + n_new; pos += CKM_MAX_PROMPT) {
            int T = keep + (int)n_new - pos < CKM_MAX_PROMPT ? keep + (int)n_new - pos : CKM_MAX_PROMPT;
            CKM_PREFILL(&m, ids + (pos - keep), T, pos, NULL);
        }
        t_prefill = now() - t0;
        conv.cached.len = 0;
        text_put(&conv.cached, rendered, (size_t)need);
        for (j = keep; j < keep + n_new; j++) conv.end[j] = (size_t)need;
        conv.n_cached = keep + (int)n_new;
        free(ids);
        free(rendered);

        /* the answer */
        t0 = now();
        ck_tok_stream_init(&stream);
        pos = conv.n_cached;
        for (;;) {
            int32_t tok;
            size_t n;
            if (o.n_gen && n_out == o.n_gen) break;
            tok = ck_sample(CKM_LOGITS(&m), CKM_N_VOCAB, o.temp, o.top_k, o.top_p, &o.seed, scratch);
            if (tok < 0) { fprintf(stderr, "\nchat: logits at position %d are not finite\n", pos - 1); return 1; }
            for (j = 0; j < n_stop && stop[j] != tok; j++) {}
            if (j == n_stop && pos >= CKM_MAX_CTX) { reason = 2; break; }
            if (pos < CKM_MAX_CTX) { /* into the cache, the end-of-turn token too: the template writes it next */
                CKM_DECODE(&m, tok, pos);
                n = ck_tok_piece(&tf.tok, tok, CK_TOK_RENDER_SPECIAL, piece, piece_cap);
                text_put(&conv.cached, piece, n < piece_cap ? n : piece_cap);
                conv.end[pos++] = conv.cached.len;
                conv.n_cached = pos;
            }
            if (j < n_stop) { reason = 1; break; }
            n = ck_tok_piece(&tf.tok, tok, 0, piece, piece_cap);
            text_put(&answer, piece, n < piece_cap ? n : piece_cap);
            n = ck_tok_stream_next(&tf.tok, &stream, tok, 0, piece, piece_cap);
            fwrite(piece, 1, n, stdout);
            fflush(stdout);
            n_out++;
        }
        fwrite(piece, 1, ck_tok_stream_flush(&stream, piece, piece_cap), stdout);
        if (reason == 2) printf("\n[context full: the answer stops at %d tokens, all %d positions are used; /reset starts over]", n_out, CKM_MAX_CTX);
        printf("\n");
        fflush(stdout);
        t_decode = now() - t0;
        conv_add(&conv, "assistant", answer.s ? answer.s : "", answer.len);
#ifdef CK_CANARIES
        if ((j = ck_canary_check(m.state, CKM_SECTIONS, CKM_N_SECTIONS)) >= 0) {
            fprintf(stderr, "chat: canary after section '%s' was overwritten during turn %d\n", CKM_SECTIONS[j].name, turn);
            return 3;
        }
#endif
        free(answer.s);
        fprintf(stderr, "[turn %d: prefill %lld new tokens (%d kept in the cache) in %.3f s; answer %d tokens in %.3f s (%.1f tokens/s); "
                        "context %d/%d]\n", turn, (long long)n_new, keep, t_prefill, n_out, t_decode, n_out / (t_decode > 0 ? t_decode : 1e-9),
                conv.n_cached, CKM_MAX_CTX);
    }
    conv_reset(&conv);
    while (conv.n_msgs > 0) free((char *)conv.msgs[--conv.n_msgs].content);
    free(conv.msgs);
    free(conv.cached.s);
    free(line);
    free(piece);
    free(scratch);
    free(bos);
    free(eos);
    ck_model_close(&m);
    ck_tok_close(&tf);
    return 0;
}
