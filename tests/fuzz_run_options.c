/* libFuzzer target for examples/run.c's command line (make fuzz-run-options). The input is split
   at NUL bytes into argv[1..] (at most 32 arguments). For every input:
     - run_parse_options either refuses with a message or returns options that are all in range
       (temp finite >= 0, top_p in (0, 1], top_k >= 0, n_gen >= -1, repeat penalty finite > 0, min_p in
       [0, 1], repeat_last_n >= 0, exactly one of -p, -f and --tokens, a model
       and a prompt given, --logits without a generation option);
     - run_check_context, for a prompt length and a context taken from the input, accepts only what
       fits: prompt + n_gen <= context (prompt <= context with --logits; n_gen -1 fills it);
     - parse_tokens on --tokens gives ids in [0, vocab) or refuses with a message;
     - ck_sample with the parsed temp, top_k, top_p over logits from the input's bytes (NaN and
       Inf included) returns an id in [0, n) or -1, and -1 exactly when a logit is not finite.
   ASan catches any read or write out of bounds on the way. */
#define RUN_OPTIONS_ONLY
#include "examples/run.c"

#include <math.h>

#define MAX_ARGS 32

static float logit_from(unsigned char c)
{
    static const float special[] = { 0.0f, -0.0f, 1e30f, -1e30f, 3.0e38f, -3.0e38f, 1e-40f };
    if (c == 0xff) return NAN;
    if (c == 0xfe) return INFINITY;
    if (c == 0xfd) return -INFINITY;
    if (c >= 0xf0) return special[(c - 0xf0) % 7];
    return ((int)c - 120) * 0.125f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = (char *)malloc(size + 1), *argv[MAX_ARGS + 2], err[512];
    int argc = 1, rc, i;
    size_t k;
    run_options o;
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    argv[0] = (char *)"run";
    argv[argc++] = buf;
    for (k = 0; k < size && argc <= MAX_ARGS; k++)
        if (!buf[k]) argv[argc++] = buf + k + 1;
    argv[argc] = NULL;
    rc = run_parse_options(argc, argv, &o, err, sizeof err);
    if (rc < 0 && !err[0]) abort(); /* a refusal always says why */
    if (rc == 0) {
        int n_vocab = 1 + (int)(size % 300), max_ctx = 1 + (int)(size * 7 % 64), n_prompt = (int)(size % 80);
        int32_t *ids = NULL;
        if (!(o.temp >= 0.0f && isfinite(o.temp)) || !(o.top_p > 0.0f && o.top_p <= 1.0f) || o.top_k < 0 || o.n_gen < -1) abort();
        if (o.prompt && o.tokens) abort();
        if (!o.model || (!o.prompt && !o.tokens && !o.prompt_file)) abort();
        if (!!o.prompt + !!o.tokens + !!o.prompt_file != 1) abort();
        if (o.n_probs < 0 || o.n_probs > RUN_MAX_N_PROBS || (o.n_probs && !o.json)) abort();
        if (!(o.repeat_penalty > 0.0f && isfinite(o.repeat_penalty)) || !(o.min_p >= 0.0f && o.min_p <= 1.0f) || o.repeat_last_n < 0) abort();
        if (o.prefill_only && (o.given[OPT_N] || o.given[OPT_TEMP] || o.given[OPT_TOP_K] || o.given[OPT_TOP_P] || o.given[OPT_SEED])) abort();
        if ((o.dump_ops || o.dump_layers) && !o.dump_dir) abort();
        if (o.decode_logits && (o.dump_dir || o.logit_lens)) abort();
        if (o.tokens) {
            int n = parse_tokens(o.tokens, n_vocab, &ids, err, sizeof err);
            if (n < 0 && !err[0]) abort();
            for (i = 0; i < n; i++)
                if (ids[i] < 0 || ids[i] >= n_vocab) abort();
            if (n >= 0) n_prompt = n;
            free(ids);
        }
        if (run_check_context(&o, n_prompt, max_ctx, err, sizeof err) == 0) {
            if (n_prompt < 1 || n_prompt > max_ctx) abort();
            if (!o.prefill_only && o.n_gen >= 0 && (long long)n_prompt + o.n_gen > max_ctx) abort();
        } else if (!err[0]) abort();
        { /* the sampler with these options, over logits made of the input's last bytes */
            int n = 1 + (int)(size % 97), finite = 1;
            float *logits = (float *)malloc((size_t)n * sizeof *logits);
            ck_prob_id *scratch = (ck_prob_id *)malloc((size_t)n * sizeof *scratch);
            int32_t tok;
            for (i = 0; i < n; i++) {
                logits[i] = logit_from(size ? data[(size_t)i % size] : 0);
                if (!isfinite(logits[i])) finite = 0;
            }
            tok = ck_sample(logits, n, o.temp, o.top_k, o.top_p, &o.seed, scratch);
            if (finite ? tok < 0 || tok >= n : tok != -1) abort();
            free(logits);
            free(scratch);
        }
    }
    free(buf);
    return 0;
}
