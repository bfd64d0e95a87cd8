/* examples/run.c — generate with a model compiled by ckgen. One translation unit:
       cc -O2 -march=native -fopenmp -I. -Ibuild/mymodel -DCK_MODEL_HEADER='"mymodel.h"' examples/run.c -o run -lm
   (`ck build MODEL.gguf` and `make` do this for you). The weights are the GGUF file the program
   was generated from (checked tensor by tensor), or its weights.bump (checked by layout hash).

   run -m MODEL.gguf|weights.bump --tokens 1,2,3 [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S]
       [--stop STRING]... [--ignore-eos]       generation ends at an end-of-generation token or a stop string
       [-t N] [--repeat-penalty F] [--repeat-last-n N] [--min-p P]
   run -m MODEL.gguf -p TEXT | -f FILE | -f -        the prompt as text, from a file or from stdin
   run -m MODEL --tokens 1,2,3 --logits OUT.f32          float32 logits [T, n_vocab] of the prompt (prefill)
   run -m MODEL --tokens 1,2,3 --decode-logits OUT.f32   the same, one token at a time through the KV cache
   run -m MODEL ... --lora ADAPTER.gguf [--lora-scale S]  with a LoRA adapter applied after the matmuls
   run -m MODEL --tokens 1,2,3 --dump DIR [--dump-ops rmsnorm,matmul] [--dump-layers 0,5] [--dump-attn 0:1,5:0]
       [--logit-lens]                                     the prompt's activations, op by op, as .npy files;
                                                          the attention probabilities of chosen heads
   run -m MODEL --tokens 1,2,3 --profile FILE [-n N]     time, FLOPs and bytes per op: prefill, then N decode steps

   Exit codes: 0 done; 1 the model could not be opened or run (unreadable file, non-finite logits,
   a write error); 2 the command line (an option's value, a conflict, a prompt that does not fit).
   With -DRUN_OPTIONS_ONLY this file is only the option parser (no model, no main):
   tests/fuzz_run_options.c includes it that way. With RUN_HELP_ONLY it is only RUN_OPTIONS_HELP and run_opts. */
/* The options, as --help and 'ck run --help' list them (ck.c includes this file with RUN_HELP_ONLY
   for this text and the option table below). */
#define RUN_OPTIONS_HELP \
    "  -p PROMPT          the prompt as text (the GGUF's tokenizer; BOS if the model adds one)\n" \
    "  -f FILE, -f -      the prompt is FILE's bytes, or stdin's\n" \
    "  --tokens ID,...    the prompt as token ids (the output is then ids too)\n" \
    "  -n N               tokens to generate (default 32; prompt + N <= context; -1: to the end of the context)\n" \
    "  -t, --threads N    threads, 1..4096 (default: OMP_NUM_THREADS if set, else the physical cores less\n" \
    "                     those other processes keep busy, measured for 50 ms)\n" \
    "  --temp T           temperature, finite >= 0 (default 0.8; 0 = greedy)\n" \
    "  --top-k K          keep the K most likely tokens, K >= 0 (default 40; 0 = all)\n" \
    "  --top-p P          nucleus sampling, P in (0, 1] (default 0.95; 1 = off)\n" \
    "  --min-p P          drop tokens less likely than P x the most likely one, P in [0, 1] (default 0 = off)\n" \
    "  --repeat-penalty F divide the positive logits and multiply the negative ones of the tokens among the\n" \
    "                     last N (prompt included) by F, finite > 0 (default 1 = off; llama.cpp's penalty)\n" \
    "  --repeat-last-n N  the N of --repeat-penalty, >= 0 (default 64; 0 = off)\n" \
    "  --seed S           sampler seed, 0..2^64-1 (default 42)\n" \
    "  --stop STRING      end when the text contains STRING (not printed; text that could still become\n" \
    "                     one is held back until it cannot); up to 16 times, each 1..256 bytes\n" \
    "  --ignore-eos       go on past the end-of-generation tokens (by default generation ends at\n" \
    "                     tokenizer.ggml.eos/eot/eom_token_id and at tokens such as <|im_end|>,\n" \
    "                     <|eot_id|>, <end_of_turn>, <|end|> when the file has them)\n" \
    "  --logits FILE      write float32 logits [T, n_vocab] of every prompt position (prefill), then stop\n" \
    "  --decode-logits FILE  the same, feeding the prompt one token at a time through the KV cache\n" \
    "  --quiet            print only the generated text or token ids\n" \
    "  --json             stdout: one JSON object per generated token, {\"id\", \"text\", \"logprob\", \"top\"}, then a\n" \
    "                     summary {\"prompt_tokens\", \"generated_tokens\", \"prompt_tokens_per_s\",\n" \
    "                     \"generation_tokens_per_s\", \"stop\"}; logprobs are the model's (log-softmax of the raw\n" \
    "                     logits, before penalties and temperature); text is the token's bytes, JSON-escaped,\n" \
    "                     each byte that is not part of valid UTF-8 as \\ufffd (the id is exact)\n" \
    "  --n-probs K        with --json: the K most likely tokens of each step in \"top\", 0..100 (default 0)\n" \
    "  --warmup           run the prompt once untimed first (page-faults the weights in: for benchmarks)\n" \
    "  --no-repack        keep the matmul weights in their GGUF layout (default: rewritten at load into the\n" \
    "                     layout this build reads fastest, e.g. Q4_0 in groups of 16 rows on AVX-512: the same\n" \
    "                     results; F32/F16/BF16 decode differs within rounding: the sums run in another order)\n" \
    "  --lora FILE        apply a LoRA adapter (a GGUF as llama.cpp reads them: general.type adapter,\n" \
    "                     <weight>.lora_a/.lora_b): after each adapted matmul, out += scale * (x A^T) B^T\n" \
    "  --lora-scale S     the user scale of --lora, finite (default 1); applied: S * alpha / rank, as llama.cpp\n" \
    "  --keep-last        a prompt too long for the context loses its first tokens instead of being refused:\n" \
    "                     the last ones are kept, as many as leave room for -n (the dropped count is printed)\n" \
    "  A prompt that is not valid UTF-8 is tokenized as its bytes (said once on stderr).\n" \
    "  Each option at most once (--stop excepted); one of -p, -f, --tokens; --logits takes no generation option.\n" \
    "  The timing line on stderr ends with why generation stopped: eos, stop (a --stop string), length (-n)\n" \
    "  or context (-n -1 and the last position).\n"
/* the capture options, a second string (C99 compilers need support only 4095 bytes in one) */
#define RUN_CAPTURE_HELP \
    "  --dump DIR         write each op's output over the prompt (prefill), [T, cols] float32, as DIR/*.npy\n" \
    "                     with DIR/index.json (op, layer, DSL line, shape, file per entry); DIR is created if\n" \
    "                     missing and must be writable; then stop (as --logits, which may be given too)\n" \
    "  --dump-ops LIST    with --dump: only these ops, by kind (rmsnorm,matmul,attention,...; default all but\n" \
    "                     views); the head's and foot's ops are dumped when their kind is listed\n" \
    "  --dump-layers LIST with --dump: only these layers of the block (0,5; default all)\n" \
    "  --dump-attn L:H,...  with --dump: the softmax probabilities [T_query, T_key] of head H of layer L over\n" \
    "                     the prompt, as DIR/L<l>_attn_h<h>.npy (listed under \"attention\" in index.json)\n" \
    "  --logit-lens       print, per layer, the top tokens at the last prompt position of the residual stream\n" \
    "                     after that layer through the final norm and output matrix (the foot); then stop\n" \
    "  --profile FILE     after one untimed prefill, time each op of the prefill, then of -n N greedy decode\n" \
    "                     steps (default 16, at most the context left), per layer: from the previous op's end\n" \
    "                     to its end (matmuls fused into one pass count on the first); with each op's FLOPs\n" \
    "                     and bytes moved (ck_op_cost in ckernel.h) and the measured FMA peak and read\n" \
    "                     bandwidth (~0.3 s); FILE is JSON; then stop\n"
/* ---- options: every value parsed whole and range-checked before a model is opened ---------- */
/* (the table is outside RUN_HELP_ONLY too: ck run skips the values of these options when it looks for its own -c) */
enum { OPT_MODEL, OPT_PROMPT, OPT_TOKENS, OPT_N, OPT_TEMP, OPT_TOP_K, OPT_TOP_P, OPT_SEED, OPT_LOGITS, OPT_DECODE_LOGITS,
       OPT_QUIET, OPT_WARMUP, OPT_HELP, OPT_STOP, OPT_IGNORE_EOS, OPT_FILE, OPT_THREADS, OPT_REPEAT_PENALTY, OPT_REPEAT_LAST_N,
       OPT_MIN_P, OPT_JSON, OPT_N_PROBS, OPT_KEEP_LAST, OPT_LORA, OPT_LORA_SCALE, OPT_DUMP, OPT_DUMP_OPS, OPT_DUMP_LAYERS,
       OPT_LOGIT_LENS, OPT_PROFILE, OPT_DUMP_ATTN, OPT_NO_REPACK, OPT_COUNT };
static const struct { const char *name, *alias; int takes_value; } run_opts[OPT_COUNT] = { /* alias 0: none (no <stddef.h> yet) */
    { "-m", 0, 1 }, { "-p", 0, 1 }, { "--tokens", 0, 1 }, { "-n", 0, 1 }, { "--temp", 0, 1 },
    { "--top-k", 0, 1 }, { "--top-p", 0, 1 }, { "--seed", 0, 1 }, { "--logits", 0, 1 },
    { "--decode-logits", 0, 1 }, { "--quiet", 0, 0 }, { "--warmup", 0, 0 }, { "--help", "-h", 0 },
    { "--stop", 0, 1 }, { "--ignore-eos", 0, 0 }, { "-f", 0, 1 }, { "-t", "--threads", 1 },
    { "--repeat-penalty", 0, 1 }, { "--repeat-last-n", 0, 1 }, { "--min-p", 0, 1 }, { "--json", 0, 0 },
    { "--n-probs", 0, 1 }, { "--keep-last", 0, 0 }, { "--lora", 0, 1 }, { "--lora-scale", 0, 1 },
    { "--dump", 0, 1 }, { "--dump-ops", 0, 1 }, { "--dump-layers", 0, 1 }, { "--logit-lens", 0, 0 },
    { "--profile", 0, 1 }, { "--dump-attn", 0, 1 }, { "--no-repack", 0, 0 },
};
#define RUN_MAX_N_PROBS 100     /* --n-probs at most */

#ifndef RUN_HELP_ONLY
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS and madvise (glibc, musl): ck_model_repack copies mapped weights into huge pages */
#define CK_IMPLEMENTATION
/* The "CK_PROFILE build" is this program as it is: the generated prefill always calls the
   capture hook after each op and CK_PROFILE compiles the same hook into decode (CK_DECODE_HOOK).
   With no --dump, --logit-lens or --profile, m.capture is NULL and each hook is one predictable
   pointer test beside an op's kernel, so `ck run` and `run --profile` are one program (the one
   whose numbers are in question). Firmware leaves CK_PROFILE out: its decode has no hook. */
#define CK_PROFILE
#include "ckernel.h"
#include "ck_peak.h" /* the measured FMA peak and read bandwidth (--profile) */
#ifndef RUN_OPTIONS_ONLY
#ifndef CK_MODEL_HEADER
#error "define CK_MODEL_HEADER as the generated header, e.g. -DCK_MODEL_HEADER='\"mymodel.h\"'"
#endif
#include CK_MODEL_HEADER
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h> /* -t: omp_set_num_threads (ckernel.h includes it only with CK_IMPLEMENTATION) */
#endif

#define RUN_MAX_STOPS 16        /* --stop given at most this often (RUN_OPTIONS_HELP says so) */
#define RUN_MAX_STOP_BYTES 256  /* and each string at most this long */

typedef struct {
    const char *model, *prompt, *tokens, *logits_path; /* NULL: not given */
    const char *prompt_file;                           /* -f: a path, or "-" for stdin (main reads it into prompt) */
    const char *lora;                                  /* --lora FILE, or NULL */
    const char *dump_dir, *dump_ops, *dump_layers;     /* --dump DIR and its lists (checked against the model in main) */
    const char *dump_attn;                             /* --dump-attn L:H,... (parsed in capture_setup) */
    int logit_lens;                                    /* --logit-lens */
    const char *profile_path;                          /* --profile FILE, or NULL */
    int prefill_only;                                  /* --logits, --decode-logits, --dump or --logit-lens: no generation */
    float lora_scale;                                  /* --lora-scale, finite (default 1) */
    int n_gen, top_k;                                  /* n_gen >= -1 (-1: to the end of the context), top_k >= 0 (0 = all) */
    float temp, top_p;                                 /* temp finite >= 0 (0 = greedy), top_p in (0, 1] */
    float repeat_penalty, min_p;                       /* finite > 0 (1 = off); in [0, 1] (0 = off) */
    int repeat_last_n, threads;                        /* >= 0 (0 = off); >= 1, 0 = not given */
    int json, n_probs;                                 /* --json: one object per token; --n-probs 0..RUN_MAX_N_PROBS */
    uint64_t seed;
    int decode_logits, quiet, warmup, help, ignore_eos, keep_last, no_repack;
    const char *stops[RUN_MAX_STOPS]; int n_stops;     /* --stop, in the order given; never empty */
    int given[OPT_COUNT];                              /* 1: the option was on the command line */
} run_options;

static int run_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
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

/* a whole number in [lo, hi]: no leading space, no trailing bytes */
static int parse_long(const char *opt, const char *s, long lo, long hi, const char *range, long *out, char *err, size_t cap)
{
    char *end, b[64];
    long v;
    errno = 0;
    v = *s && !isspace((unsigned char)*s) ? strtol(s, &end, 10) : 0;
    if (!*s || isspace((unsigned char)*s) || end == s || *end) return run_fail(err, cap, "%s %s: not a number", opt, shown(s, b, sizeof b));
    if (errno == ERANGE || v < lo || v > hi) return run_fail(err, cap, "%s %s: must be %s", opt, shown(s, b, sizeof b), range);
    *out = v;
    return 0;
}
/* a finite number, after rounding to float */
static int parse_float(const char *opt, const char *s, float *out, char *err, size_t cap)
{
    char *end, b[64];
    double v;
    v = *s && !isspace((unsigned char)*s) ? strtod(s, &end) : 0;
    if (!*s || isspace((unsigned char)*s) || end == s || *end) return run_fail(err, cap, "%s %s: not a number", opt, shown(s, b, sizeof b));
    *out = (float)v;
    return 0;
}
static int parse_seed(const char *s, uint64_t *out, char *err, size_t cap)
{
    char *end, b[64];
    unsigned long long v;
    errno = 0;
    v = *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0; /* strtoull would take "-1" and " 1" */
    if (!(*s >= '0' && *s <= '9') || *end || errno == ERANGE || (uint64_t)v != v)
        return run_fail(err, cap, "--seed %s: not a whole unsigned number (0..18446744073709551615)", shown(s, b, sizeof b));
    *out = (uint64_t)v;
    return 0;
}

/* argv[1..argc-1] -> o. 0: ready to run; 1: --help; -1: err (no "run: " prefix) says what is wrong.
   It reads no file and needs no model: what depends on the prompt's length is run_check_context. */
static int run_parse_options(int argc, char **argv, run_options *o, char *err, size_t cap)
{
    int i, k;
    long v;
    static const int generation[] = { OPT_N, OPT_TEMP, OPT_TOP_K, OPT_TOP_P, OPT_SEED, OPT_WARMUP, OPT_STOP, OPT_IGNORE_EOS,
                                      OPT_REPEAT_PENALTY, OPT_REPEAT_LAST_N, OPT_MIN_P, OPT_JSON, OPT_N_PROBS };
    memset(o, 0, sizeof *o);
    o->n_gen = 32; o->top_k = 40; o->temp = 0.8f; o->top_p = 0.95f; o->seed = 42;
    o->repeat_penalty = 1.0f; o->repeat_last_n = 64; o->min_p = 0.0f; o->lora_scale = 1.0f;
    err[0] = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        char b[64];
        for (k = 0; k < OPT_COUNT; k++)
            if (!strcmp(a, run_opts[k].name) || (run_opts[k].alias && !strcmp(a, run_opts[k].alias))) break;
        if (k == OPT_COUNT)
            return run_fail(err, cap, a[0] == '-' ? "unknown option %s" : "unexpected argument '%s' (options: run --help)", shown(a, b, sizeof b));
        if (k == OPT_HELP) { o->help = 1; return 1; }
        if (o->given[k] && k != OPT_STOP) return run_fail(err, cap, "%s given twice", a);
        o->given[k] = 1;
        if (!run_opts[k].takes_value) {
            if (k == OPT_QUIET) o->quiet = 1;
            else if (k == OPT_IGNORE_EOS) o->ignore_eos = 1;
            else if (k == OPT_JSON) o->json = 1;
            else if (k == OPT_KEEP_LAST) o->keep_last = 1;
            else if (k == OPT_LOGIT_LENS) o->logit_lens = 1;
            else if (k == OPT_NO_REPACK) o->no_repack = 1;
            else o->warmup = 1;
            continue;
        }
        if (i + 1 >= argc) return run_fail(err, cap, "%s needs a value", a);
        val = argv[++i];
        switch (k) {
        case OPT_MODEL: o->model = val; break;
        case OPT_PROMPT: o->prompt = val; break;
        case OPT_TOKENS: o->tokens = val; break;
        case OPT_LOGITS: o->logits_path = val; break;
        case OPT_DECODE_LOGITS: o->logits_path = val; o->decode_logits = 1; break;
        case OPT_FILE: o->prompt_file = val; break;
        case OPT_LORA: o->lora = val; break;
        case OPT_PROFILE:
            if (!*val) return run_fail(err, cap, "--profile '': needs a file");
            o->profile_path = val;
            break;
        case OPT_DUMP:
            if (!*val) return run_fail(err, cap, "--dump '': needs a directory");
            o->dump_dir = val;
            break;
        case OPT_DUMP_OPS:
        case OPT_DUMP_LAYERS:
        case OPT_DUMP_ATTN:
            if (!*val) return run_fail(err, cap, "%s '': needs a comma-separated list", a);
            *(k == OPT_DUMP_OPS ? &o->dump_ops : k == OPT_DUMP_LAYERS ? &o->dump_layers : &o->dump_attn) = val;
            break;
        case OPT_LORA_SCALE:
            if (parse_float("--lora-scale", val, &o->lora_scale, err, cap)) return -1;
            if (!(o->lora_scale - o->lora_scale == 0.0f)) return run_fail(err, cap, "--lora-scale %s: must be a finite number", shown(val, b, sizeof b));
            break;
        case OPT_N_PROBS:
            if (parse_long("--n-probs", val, 0, RUN_MAX_N_PROBS, "0..100", &v, err, cap)) return -1;
            o->n_probs = (int)v;
            break;
        case OPT_N:
            if (parse_long("-n", val, -1, INT_MAX, "-1 (to the end of the context) or 0 or more (at most 2147483647)", &v, err, cap))
                return -1;
            o->n_gen = (int)v;
            break;
        case OPT_THREADS:
            if (parse_long(a, val, 1, 4096, "1..4096", &v, err, cap)) return -1;
            o->threads = (int)v;
            break;
        case OPT_REPEAT_LAST_N:
            if (parse_long("--repeat-last-n", val, 0, INT_MAX, "0 or more (0 = off)", &v, err, cap)) return -1;
            o->repeat_last_n = (int)v;
            break;
        case OPT_REPEAT_PENALTY:
            if (parse_float("--repeat-penalty", val, &o->repeat_penalty, err, cap)) return -1;
            if (!(o->repeat_penalty > 0.0f && o->repeat_penalty - o->repeat_penalty == 0.0f))
                return run_fail(err, cap, "--repeat-penalty %s: must be a finite number > 0 (1 = off)", shown(val, b, sizeof b));
            break;
        case OPT_MIN_P:
            if (parse_float("--min-p", val, &o->min_p, err, cap)) return -1;
            if (!(o->min_p >= 0.0f && o->min_p <= 1.0f)) return run_fail(err, cap, "--min-p %s: must be in [0, 1] (0 = off)", shown(val, b, sizeof b));
            break;
        case OPT_TOP_K:
            if (parse_long("--top-k", val, 0, INT_MAX, "0 or more (0 = all)", &v, err, cap)) return -1;
            o->top_k = (int)v;
            break;
        case OPT_TEMP:
            if (parse_float("--temp", val, &o->temp, err, cap)) return -1;
            if (!(o->temp >= 0.0f && o->temp - o->temp == 0.0f)) /* NaN fails both */
                return run_fail(err, cap, "--temp %s: must be a finite number >= 0 (0 = greedy)", shown(val, b, sizeof b));
            break;
        case OPT_TOP_P:
            if (parse_float("--top-p", val, &o->top_p, err, cap)) return -1;
            if (!(o->top_p > 0.0f && o->top_p <= 1.0f)) return run_fail(err, cap, "--top-p %s: must be in (0, 1] (1 = off)", shown(val, b, sizeof b));
            break;
        case OPT_SEED:
            if (parse_seed(val, &o->seed, err, cap)) return -1;
            break;
        case OPT_STOP:
            if (!*val) return run_fail(err, cap, "--stop '': a stop string cannot be empty");
            if (strlen(val) > RUN_MAX_STOP_BYTES)
                return run_fail(err, cap, "--stop %s: longer than %d bytes", shown(val, b, sizeof b), RUN_MAX_STOP_BYTES);
            if (o->n_stops == RUN_MAX_STOPS) return run_fail(err, cap, "--stop given more than %d times", RUN_MAX_STOPS);
            o->stops[o->n_stops++] = val;
            break;
        }
    }
    if (o->given[OPT_PROMPT] + o->given[OPT_TOKENS] + o->given[OPT_FILE] > 1)
        return run_fail(err, cap, "%s and %s both give the prompt: use one", o->given[OPT_PROMPT] ? "-p" : "-f",
                        o->given[OPT_TOKENS] ? "--tokens" : "-f");
    if (o->given[OPT_LORA_SCALE] && !o->lora) return run_fail(err, cap, "--lora-scale needs --lora FILE (the adapter it scales)");
    if (o->given[OPT_N_PROBS] && !o->json) return run_fail(err, cap, "--n-probs needs --json (the alternatives are listed there)");
    if (o->given[OPT_LOGITS] && o->given[OPT_DECODE_LOGITS]) return run_fail(err, cap, "--logits and --decode-logits: use one");
    if ((o->dump_ops || o->dump_layers || o->dump_attn) && !o->dump_dir)
        return run_fail(err, cap, "%s needs --dump DIR (where the outputs go)", o->dump_ops ? "--dump-ops" : o->dump_layers ? "--dump-layers" : "--dump-attn");
    if (o->decode_logits && (o->dump_dir || o->logit_lens))
        return run_fail(err, cap, "%s captures the prefill: it does not apply with --decode-logits", o->dump_dir ? "--dump" : "--logit-lens");
    if (o->profile_path && (o->dump_dir || o->logit_lens || o->decode_logits))
        return run_fail(err, cap, "--profile times a run of its own: not with %s",
                        o->dump_dir ? "--dump" : o->logit_lens ? "--logit-lens" : "--decode-logits");
    o->prefill_only = o->logits_path || o->dump_dir || o->logit_lens || o->profile_path;
    if (o->prefill_only)
        for (k = 0; k < (int)(sizeof generation / sizeof generation[0]); k++)
            if (o->given[generation[k]] && !(generation[k] == OPT_N && o->profile_path)) /* --profile -n N: its decode steps */
                return run_fail(err, cap, "%s does not apply with %s (it %s and generates nothing)", run_opts[generation[k]].name,
                                o->decode_logits ? "--decode-logits" : o->logits_path ? "--logits" : o->dump_dir ? "--dump"
                                : o->profile_path ? "--profile" : "--logit-lens",
                                o->logits_path ? "writes the prompt's logits" : "runs the prompt");
    if (!o->model) return run_fail(err, cap, "no model (-m MODEL.gguf)");
    if (!o->prompt && !o->tokens && !o->prompt_file) return run_fail(err, cap, "no prompt (-p TEXT, -f FILE or --tokens ID,ID,...)");
    return 0;
}

/* the offset of the first byte of s[0, n) that is not part of valid UTF-8 (overlong forms,
   surrogates and code points past U+10FFFF included), or n */
static size_t run_utf8_bad(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0, k;
        unsigned long cp;
        if (!len || i + len > n) return i;
        cp = len == 1 ? c : c & (0x7Fu >> len);
        for (k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (p[i + k] & 0x3Fu);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

/* the prompt and the tokens to generate fit the max_ctx positions of the KV cache: 0, or -1 and err */
static int run_check_context(const run_options *o, int n_prompt, int max_ctx, char *err, size_t cap)
{
    if (n_prompt < 1) return run_fail(err, cap, "the prompt is empty");
    if (n_prompt > max_ctx)
        return run_fail(err, cap, "the prompt has %d tokens, more than the %d positions this program was generated for (ckgen --max-ctx)",
                        n_prompt, max_ctx);
    if ((!o->prefill_only || (o->profile_path && o->given[OPT_N])) && o->n_gen >= 0 && (long long)n_prompt + o->n_gen > max_ctx)
        return run_fail(err, cap, "-n %d: the prompt's %d tokens leave %d of the %d positions this program was generated for "
                                  "(ckgen --max-ctx)", o->n_gen, n_prompt, max_ctx - n_prompt, max_ctx);
    return 0;
}

/* "1,2, 3" -> ids; every id is checked against the vocabulary. The count, or -1 and err. */
static int parse_tokens(const char *s, int n_vocab, int32_t **out, char *err, size_t cap)
{
    int n = 0, n_cap = 64;
    int32_t *ids = (int32_t *)malloc((size_t)n_cap * sizeof *ids), *grown;
    if (!ids) return run_fail(err, cap, "out of memory");
    while (*s) {
        char *end, b[64];
        long v;
        while (*s == ',' || *s == ' ') s++;
        if (!*s) break;
        errno = 0;
        v = *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
        if (v < 0 || errno || v >= n_vocab || (*end && *end != ',' && *end != ' ')) {
            size_t len = strcspn(s, ", ");
            memcpy(b, s, len < 40 ? len : 40);
            b[len < 40 ? len : 40] = 0;
            free(ids);
            return run_fail(err, cap, "--tokens: '%s' is not a token id (ids are 0..%d)", shown(b, b, sizeof b), n_vocab - 1);
        }
        if (n == INT_MAX) { free(ids); return run_fail(err, cap, "--tokens: too many ids"); }
        if (n == n_cap) {
            if (n_cap > INT_MAX / 2 || !(grown = (int32_t *)realloc(ids, (size_t)(n_cap *= 2) * sizeof *ids))) {
                free(ids);
                return run_fail(err, cap, "out of memory");
            }
            ids = grown;
        }
        ids[n++] = (int32_t)v;
        s = end;
    }
    *out = ids;
    return n;
}

#ifndef RUN_OPTIONS_ONLY
static double now(void) { return ck_peak_now(); } /* seconds, CLOCK_MONOTONIC */

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

/* the whole of a file, or of stdin for "-": malloc'd, *len bytes (any bytes) plus a NUL; NULL and err */
static char *read_all(const char *path, size_t *len, char *err, size_t cap)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    size_t n = 0, size = 1 << 16, r;
    char *buf = NULL, *grown, b[64];
    if (!f) { run_fail(err, cap, "-f %s: %s", shown(path, b, sizeof b), strerror(errno)); return NULL; }
    for (;;) {
        if (!(grown = (char *)realloc(buf, size + 1))) { run_fail(err, cap, "-f %s: out of memory", shown(path, b, sizeof b)); break; }
        buf = grown;
        r = fread(buf + n, 1, size - n, f);
        n += r;
        if (n < size) {
            if (ferror(f)) { run_fail(err, cap, "-f %s: %s", shown(path, b, sizeof b), strerror(errno)); break; }
            if (f != stdin) fclose(f);
            buf[n] = 0;
            *len = n;
            return buf;
        }
        if (size > ((size_t)1 << 40)) { run_fail(err, cap, "-f %s: too large", shown(path, b, sizeof b)); break; }
        size *= 2;
    }
    free(buf);
    if (f != stdin) fclose(f);
    return NULL;
}

/* the threads the model's kernels run on */
static int n_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#ifdef _OPENMP
/* physical cores: distinct (package, core) pairs of the online CPUs in sysfs; else the online
   logical CPUs (sysconf); else 1. Hyperthreads share one core's FMA units: the matmuls gain
   nothing from them. */
static int physical_cores(void)
{
    static int seen[1024][2];
    int n_seen = 0, cpu, k;
    long online;
    for (cpu = 0; cpu < 4096; cpu++) {
        char path[96];
        int id[2], j;
        const char *file[2] = { "physical_package_id", "core_id" };
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d", cpu);
        if (access(path, F_OK) != 0) break; /* CPUs are numbered from 0 without gaps */
        for (j = 0; j < 2; j++) {
            FILE *f;
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu, file[j]);
            if (!(f = fopen(path, "r"))) break;
            if (fscanf(f, "%d", &id[j]) != 1) id[j] = -1;
            fclose(f);
        }
        if (j < 2) continue; /* an offline CPU has no topology */
        for (k = 0; k < n_seen; k++)
            if (seen[k][0] == id[0] && seen[k][1] == id[1]) break;
        if (k == n_seen && n_seen < 1024) { seen[n_seen][0] = id[0]; seen[n_seen][1] = id[1]; n_seen++; }
    }
    if (n_seen > 0) return n_seen;
    online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 && online < 4096 ? (int)online : 1;
}

/* CPUs' worth of time other processes are using now: the busy share of /proc/stat's counters over
   50 ms, times the logical CPUs (0 where /proc/stat cannot be read). OpenMP threads wait for each
   other hundreds of times per token; a thread that shares its core with another process makes
   every one of those waits long (measured on 2 cores with one other process spinning: SmolLM-135M
   Q8_0 decode 50 tokens/s with 2 threads, 135 with 1; on the quiet machine 240 with 2). */
static double busy_cpus(void)
{
    unsigned long long v[2][8];
    double busy, total;
    int r, k;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    for (r = 0; r < 2; r++) {
        FILE *f = fopen("/proc/stat", "r");
        int got = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[r][0], &v[r][1], &v[r][2], &v[r][3], &v[r][4], &v[r][5],
                             &v[r][6], &v[r][7]) : 0;
        if (f) fclose(f);
        if (got != 8) return 0.0;
        if (r == 0) {
            struct timespec ts = { 0, 50000000 };
            nanosleep(&ts, NULL);
        }
    }
    for (k = 0, total = 0.0; k < 8; k++) total += (double)(v[1][k] - v[0][k]);
    busy = total - (double)(v[1][3] - v[0][3]) - (double)(v[1][4] - v[0][4]); /* minus idle and iowait */
    return total > 0.0 && ncpu > 0 ? busy / total * (double)ncpu : 0.0;
}

/* the default thread count: the physical cores, less those other processes keep busy (rounded), at
   least 1 */
static int default_threads(void)
{
    int cores = physical_cores(), busy = (int)(busy_cpus() + 0.5);
    return cores - busy >= 1 ? cores - busy : 1;
}
#endif

/* ---- --json ------------------------------------------------------------------------------ */
/* bytes of the valid UTF-8 character at s[0..n), or 0 (RFC 3629: no overlong forms, surrogates or
   code points above U+10FFFF) */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0, k;
    unsigned char lo = 0x80, hi = 0xBF;
    if (len == 0 || len > n) return 0;
    if (s[0] == 0xE0) lo = 0xA0;
    if (s[0] == 0xED) hi = 0x9F;
    if (s[0] == 0xF0) lo = 0x90;
    if (s[0] == 0xF4) hi = 0x8F;
    for (k = 1; k < len; k++, lo = 0x80, hi = 0xBF)
        if (s[k] < lo || s[k] > hi) return 0;
    return len;
}
/* s[0..n) as a JSON string: '"', '\\' and control bytes escaped, valid UTF-8 as it is, every other
   byte as \ufffd */
static void json_string(FILE *f, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, len;
    fputc('"', f);
    while (i < n) {
        if (!(len = utf8_char_len(s + i, n - i))) { fputs("\\ufffd", f); i++; continue; }
        if (s[i] == '"' || s[i] == '\\') fprintf(f, "\\%c", s[i]);
        else if (s[i] < 0x20 || s[i] == 0x7f) fprintf(f, "\\u%04x", s[i]);
        else fwrite(s + i, 1, len, f);
        i += len;
    }
    fputc('"', f);
}
/* one token as {"id", "text"?, "logprob"}: text when there is a tokenizer */
static void json_token(FILE *f, const ck_tok *tok, int32_t id, double logprob, char *piece, size_t cap)
{
    fprintf(f, "{\"id\":%d,", (int)id);
    if (tok) {
        size_t n = ck_tok_piece(tok, id, CK_TOK_RENDER_SPECIAL, piece, cap); /* <|im_end|> as its text */
        fputs("\"text\":", f);
        json_string(f, piece, n < cap ? n : cap);
        fputc(',', f);
    }
    fprintf(f, "\"logprob\":%.9g", logprob);
}
/* log(sum(exp(x))) over n finite values, in double */
static double log_sum_exp(const float *x, int n)
{
    double mx = x[ck_argmax(x, n)], sum = 0.0;
    int i;
    for (i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    return mx + log(sum);
}
/* the k largest of x[0..n) into top[0..k), largest first (the lower id first on ties); the count */
static int top_ids(const float *x, int n, int k, int32_t *top)
{
    int i, m = 0, j;
    if (k <= 0) return 0;
    for (i = 0; i < n; i++) {
        if (m == k && !(x[i] > x[top[m - 1]])) continue;
        j = m < k ? m++ : m - 1;
        for (; j > 0 && x[i] > x[top[j - 1]]; j--) top[j] = top[j - 1];
        top[j] = i;
    }
    return m;
}

#define RUN_MAX_EOG 16 /* end-of-generation ids kept (ck_tok_eog_ids): a file has a handful */

/* tok ends generation: one of the n end-of-generation ids */
static int is_eog(const int32_t *eog, int n, int32_t tok)
{
    int k;
    for (k = 0; k < n; k++)
        if (eog[k] == tok) return 1;
    return 0;
}

static int usage(void)
{
    printf("usage: run -m MODEL.gguf|weights.bump (--tokens ID,ID,... | -p PROMPT | -f FILE | -f -) [options]\n"
           "  model %s (%s), vocab %d, context %d (the most -n can reach), prompt chunks of %d tokens\n%s%s",
           CKM_NAME, CKM_ARCH, CKM_N_VOCAB, CKM_MAX_CTX, CKM_MAX_PROMPT, RUN_OPTIONS_HELP, RUN_CAPTURE_HELP);
    return 0;
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

/* ---- activation capture: --dump DIR, --logit-lens (the generated prefill calls capture_hook) ---- */
#define RUN_LENS_TOP 5 /* --logit-lens: tokens shown per layer */

typedef struct { int layer, head; } run_attn_head; /* --dump-attn L:H */

typedef struct {
    const char *dir;        /* --dump DIR, or NULL */
    int n_prompt;
    unsigned char *sel;     /* [CKM_N_OPS][CKM_N_LAYER + 1]: 1 = dumped; slot 0 is the head/foot (layer -1) */
    float *lens;            /* --logit-lens: [CKM_N_LAYER, cols] the residual stream at the last position, or NULL */
    int failed;             /* a dump write failed: err says which */
    double *seconds;        /* --profile: [2][CKM_N_OPS][CKM_N_LAYER + 1] time per phase (prefill, decode), op and layer
                               (slot 0: head/foot), or NULL; then flops and bytes, the same shape */
    double *flops, *bytes;
    int phase;              /* --profile: 0 prefill, 1 decode */
    double last;            /* --profile: when the previous op ended (or the prefill started) */
    float *attn_q[CKM_N_LAYER]; /* --dump-attn: a chosen layer's queries [n_prompt, CKM_N_HEAD * CKM_HEAD_DIM], or NULL */
    run_attn_head *attn;    /* --dump-attn: [n_attn] the heads in the order listed (one listed twice is dumped twice), or NULL */
    int n_attn;
    char err[4200];         /* a path (4096) and why */
} run_capture;

static void op_cost(int op, int layer, int row0, int rows, double *flops, double *bytes);
static unsigned char *capture_sel(run_capture *c, int op, int layer) { return &c->sel[(size_t)op * (CKM_N_LAYER + 1) + (size_t)(layer + 1)]; }

/* DIR/<name> of an op's dump: L<layer>_<op index>_<op>_<out>.npy, head_/foot_ for the others */
static void capture_path(const run_capture *c, int op, int layer, char *buf, size_t cap, int with_dir)
{
    const ck_op_info *x = &CKM_OPS[op];
    char where[32];
    if (layer >= 0) snprintf(where, sizeof where, "L%03d", layer);
    else snprintf(where, sizeof where, "%s", x->section == 0 ? "head" : "foot");
    snprintf(buf, cap, "%s%s%s_%02d_%s_%s.npy", with_dir ? c->dir : "", with_dir ? "/" : "", where, op, x->op, x->out);
}

/* a .npy version 1.0 header for float32 [rows, cols], C order, padded to 64 bytes; its length */
static size_t npy_header(char *buf, int rows, long long cols)
{
    int n = snprintf(buf + 10, 118, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %lld), }", rows, cols);
    size_t total = (size_t)(10 + n + 1 + 63) / 64 * 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    memset(buf + 10 + n, ' ', total - 10 - (size_t)n - 1);
    buf[total - 1] = '\n';
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    return total;
}

/* the hook: rows row0.. of op's output into its .npy (each file written at its rows' offset, so the
   prompt's chunks land in place and no file stays open); the residual's last row for the lens */
static void capture_hook(void *ctx, int op, int layer, const float *out, int row0, int rows, int64_t cols, int64_t ld)
{
    run_capture *c = (run_capture *)ctx;
    char path[4096], hdr[128];
    FILE *f;
    int r;
    if (c->seconds) { /* the op ran from the previous op's end to now */
        double t = now(), fl, by;
        size_t at = ((size_t)c->phase * CKM_N_OPS + (size_t)op) * (CKM_N_LAYER + 1) + (size_t)(layer + 1);
        op_cost(op, layer, row0, rows, &fl, &by);
        c->seconds[at] += t - c->last;
        c->flops[at] += fl;
        c->bytes[at] += by;
        c->last = now(); /* the bookkeeping is nobody's time */
        return;
    }
#if CKM_ATTN_OP >= 0
    if (layer >= 0 && op == CKM_ATTN_Q_OP && c->attn_q[layer]) /* the queries as attention reads them */
        for (r = 0; r < rows; r++)
            memcpy(c->attn_q[layer] + (size_t)(row0 + r) * CKM_N_HEAD * CKM_HEAD_DIM, out + (size_t)r * (size_t)ld + CKM_ATTN_Q_COL,
                   (size_t)CKM_N_HEAD * CKM_HEAD_DIM * sizeof(float));
#endif
    if (c->lens && op == CKM_RESIDUAL_OP && row0 + rows == c->n_prompt)
        memcpy(c->lens + (size_t)layer * (size_t)cols, out + (size_t)(rows - 1) * (size_t)ld, (size_t)cols * sizeof(float));
    if (!c->dir || c->failed || !*capture_sel(c, op, layer)) return;
    capture_path(c, op, layer, path, sizeof path, 1);
    f = fopen(path, "r+b");
    if (!f || fseeko(f, (off_t)(npy_header(hdr, c->n_prompt, (long long)cols) + (size_t)row0 * (size_t)cols * sizeof(float)), SEEK_SET) != 0) {
        c->failed = 1;
        snprintf(c->err, sizeof c->err, "--dump: cannot write %s: %s", path, strerror(errno));
        if (f) fclose(f);
        return;
    }
    for (r = 0; r < rows && !c->failed; r++)
        if (fwrite(out + (size_t)r * (size_t)ld, sizeof(float), (size_t)cols, f) != (size_t)cols) c->failed = 1;
    if (fclose(f) != 0) c->failed = 1;
    if (c->failed) snprintf(c->err, sizeof c->err, "--dump: cannot write %s: %s", path, strerror(errno));
}

/* does the comma-separated list hold the word? */
static int list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p = list;
    while (*p) {
        size_t k = strcspn(p, ",");
        if (k == n && !strncmp(p, word, n)) return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

/* --dump-ops and --dump-layers against this model, --dump DIR made and checked writable, each
   selected op's .npy created with its header: 0, or -1 and err (nothing has run yet) */
/* FLOPs and bytes of op's call over positions row0..row0+rows-1 of a layer (-1: the head or foot),
   as ck_op_cost (ckernel.h) counts them; attention's keys from the layer's window */
static void op_cost(int op, int layer, int row0, int rows, double *flops, double *bytes)
{
    const ck_op_cost *c = &CKM_OP_COSTS[op];
    double pairs = 0, keys = 0;
    int p, window = layer >= 0 ? CKM_LAYERS[layer].window : 0;
    if (c->flops_key || c->bytes_key) {
        for (p = row0; p < row0 + rows; p++) pairs += window > 0 && p + 1 > window ? window : p + 1;
        keys = row0 + rows - (window > 0 && row0 - window + 1 > 0 ? row0 - window + 1 : 0);
    }
    *flops = (double)c->flops_row * rows + (double)c->flops_key * pairs;
    *bytes = (double)CKM_OP_WBYTES[layer + 1][op] + (double)c->bytes_row * rows + (double)c->bytes_key * keys;
}

/* --profile FILE: {"tokens", "prefill_seconds", "decode_tokens", "decode_seconds", "threads", "peak_gflops",
   "peak_gbps", "ops": [{"index", "op", "out", "layer", "call", "seconds", "flops", "bytes", "decode_seconds",
   "decode_flops", "decode_bytes"}]} in program order (head, each layer's block, foot); views are not timed
   (no code); "call": the op whose call did the work (ck_op_cost). 0, or -1 after a message */
static int write_profile(const char *path, const run_capture *c, int n_prompt, double t_prefill, int n_decode, double t_decode,
                         double peak_gflops, double peak_gbps)
{
    FILE *f = fopen(path, "wb");
    int op, l, first = 1, sec;
    size_t per = (size_t)CKM_N_OPS * (CKM_N_LAYER + 1);
    if (!f) { fprintf(stderr, "run: --profile %s: cannot write it: %s\n", path, strerror(errno)); return -1; }
    fprintf(f, "{\"tokens\": %d, \"prefill_seconds\": %.9f, \"decode_tokens\": %d, \"decode_seconds\": %.9f, \"threads\": %d,\n"
               " \"peak_gflops\": %.3f, \"peak_gbps\": %.3f, \"ops\": [", n_prompt, t_prefill, n_decode, t_decode, n_threads(), peak_gflops, peak_gbps);
    for (sec = 0; sec < 3; sec++)
        for (l = sec == 1 ? 0 : -1; l < (sec == 1 ? CKM_N_LAYER : 0); l++)
            for (op = 0; op < CKM_N_OPS; op++) {
                size_t at = (size_t)op * (CKM_N_LAYER + 1) + (size_t)(l + 1);
                if (CKM_OPS[op].section != sec || !strcmp(CKM_OPS[op].op, "view")) continue;
                fprintf(f, "%s\n  {\"index\": %d, \"op\": \"%s\", \"out\": \"%s\", \"layer\": %d, \"call\": %d, \"seconds\": %.9f, "
                           "\"flops\": %.0f, \"bytes\": %.0f, \"decode_seconds\": %.9f, \"decode_flops\": %.0f, \"decode_bytes\": %.0f}",
                        first ? "" : ",", op, CKM_OPS[op].op, CKM_OPS[op].out, l, (int)CKM_OP_COSTS[op].call, c->seconds[at], c->flops[at],
                        c->bytes[at], c->seconds[per + at], c->flops[per + at], c->bytes[per + at]);
                first = 0;
            }
    fprintf(f, "\n]}\n");
    if (fclose(f) != 0) { fprintf(stderr, "run: --profile %s: cannot write it\n", path); return -1; }
    return 0;
}

static int capture_setup(run_capture *c, const run_options *o, int n_prompt, char *err, size_t cap)
{
    int op, l, k;
    char b[64], path[4096], hdr[128];
    const char *p;
    FILE *f;
    memset(c, 0, sizeof *c);
    c->n_prompt = n_prompt;
    if (o->logit_lens) {
        if (CKM_RESIDUAL_OP < 0) return run_fail(err, cap, "--logit-lens: this model's foot reads no residual stream of the block");
        if (!(c->lens = (float *)calloc((size_t)CKM_N_LAYER * (size_t)CKM_OPS[CKM_RESIDUAL_OP > 0 ? CKM_RESIDUAL_OP : 0].cols, sizeof(float))))
            return run_fail(err, cap, "out of memory");
    }
    if (o->profile_path) { /* writable before the run, as --dump */
        FILE *f = fopen(o->profile_path, "wb");
        if (!f) return run_fail(err, cap, "--profile %s: cannot write it: %s", o->profile_path, strerror(errno));
        fclose(f);
        if (!(c->seconds = (double *)calloc((size_t)6 * CKM_N_OPS * (CKM_N_LAYER + 1), sizeof(double))))
            return run_fail(err, cap, "out of memory");
        c->flops = c->seconds + (size_t)2 * CKM_N_OPS * (CKM_N_LAYER + 1);
        c->bytes = c->flops + (size_t)2 * CKM_N_OPS * (CKM_N_LAYER + 1);
    }
    if (!o->dump_dir) return 0;
    c->dir = o->dump_dir;
    for (p = o->dump_ops; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) { /* each listed kind is an op of this model */
        size_t n = strcspn(p, ",");
        for (op = 0; op < CKM_N_OPS; op++)
            if (strlen(CKM_OPS[op].op) == n && !strncmp(p, CKM_OPS[op].op, n) && strcmp(CKM_OPS[op].op, "view")) break;
        if (op == CKM_N_OPS) {
            char all[512] = "";
            for (op = 0; op < CKM_N_OPS; op++)
                if (strcmp(CKM_OPS[op].op, "view") && !list_has(all, CKM_OPS[op].op))
                    snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", all[0] ? "," : "", CKM_OPS[op].op);
            snprintf(b, sizeof b, "%.*s", (int)(n < 48 ? n : 48), p);
            return run_fail(err, cap, "--dump-ops: '%s' is not an op of this model (its ops: %s)", b, all);
        }
    }
    for (p = o->dump_layers; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        size_t n = strcspn(p, ",");
        char *end;
        long v;
        snprintf(b, sizeof b, "%.*s", (int)(n < 48 ? n : 48), p);
        v = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : -1;
        if (v < 0 || end != p + n) return run_fail(err, cap, "--dump-layers: '%s' is not a layer number", b);
        if (v >= CKM_N_LAYER) return run_fail(err, cap, "--dump-layers: layer %s is out of range (the model has %d layers: 0..%d)", b, CKM_N_LAYER, CKM_N_LAYER - 1);
    }
    if (o->dump_attn) { /* at most one head per comma-separated item */
        size_t items = 1;
        for (p = o->dump_attn; *p; p++) items += *p == ',';
        if (!(c->attn = (run_attn_head *)calloc(items, sizeof *c->attn))) return run_fail(err, cap, "out of memory");
    }
    for (p = o->dump_attn; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) { /* L:H, each in range */
        size_t n = strcspn(p, ",");
        char *end;
        long lv = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : -1, hv = -1;
        snprintf(b, sizeof b, "%.*s", (int)(n < 48 ? n : 48), p);
        if (lv >= 0 && *end == ':' && end[1] >= '0' && end[1] <= '9') hv = strtol(end + 1, &end, 10);
        if (lv < 0 || hv < 0 || end != p + n) return run_fail(err, cap, "--dump-attn: '%s' is not LAYER:HEAD (e.g. 0:1)", b);
#if CKM_ATTN_OP >= 0 && CKM_ATTN_Q_OP >= 0
        if (lv >= CKM_N_LAYER)
            return run_fail(err, cap, "--dump-attn %s: layer %ld is out of range (the model has %d layers: 0..%d)", b, lv, CKM_N_LAYER, CKM_N_LAYER - 1);
        if (hv >= CKM_N_HEAD)
            return run_fail(err, cap, "--dump-attn %s: head %ld is out of range (the model has %d heads: 0..%d)", b, hv, CKM_N_HEAD, CKM_N_HEAD - 1);
        if (!c->attn_q[lv] && !(c->attn_q[lv] = (float *)calloc((size_t)n_prompt * CKM_N_HEAD * CKM_HEAD_DIM, sizeof(float))))
            return run_fail(err, cap, "out of memory");
        c->attn[c->n_attn].layer = (int)lv;
        c->attn[c->n_attn++].head = (int)hv;
#else
        return run_fail(err, cap, "--dump-attn: this model's block has no attention whose queries the capture sees");
#endif
    }
    if (!(c->sel = (unsigned char *)calloc((size_t)CKM_N_OPS * (CKM_N_LAYER + 1), 1))) return run_fail(err, cap, "out of memory");
    for (op = 0; op < CKM_N_OPS; op++) {
        if (!strcmp(CKM_OPS[op].op, "view") || (o->dump_ops && !list_has(o->dump_ops, CKM_OPS[op].op))) continue;
        for (l = -1; l < CKM_N_LAYER; l++) {
            if ((l < 0) != (CKM_OPS[op].section != 1)) continue;
            if (l >= 0 && o->dump_layers) {
                for (k = 0, p = o->dump_layers; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
                    if (strtol(p, NULL, 10) == l) k = 1;
                if (!k) continue;
            }
            *capture_sel(c, op, l) = 1;
        }
    }
    if (mkdir(c->dir, 0777) != 0 && errno != EEXIST) return run_fail(err, cap, "--dump %s: cannot create it: %s", c->dir, strerror(errno));
    snprintf(path, sizeof path, "%s/index.json", c->dir); /* written at the end; made now so that an unwritable DIR stops us here */
    if (!(f = fopen(path, "w")) || fclose(f) != 0) return run_fail(err, cap, "--dump %s: cannot write in it: %s", c->dir, strerror(errno));
    for (op = 0; op < CKM_N_OPS; op++)
        for (l = -1; l < CKM_N_LAYER; l++) {
            size_t n;
            if (!*capture_sel(c, op, l)) continue;
            capture_path(c, op, l, path, sizeof path, 1);
            n = npy_header(hdr, n_prompt, (long long)CKM_OPS[op].cols);
            if (!(f = fopen(path, "wb")) || fwrite(hdr, 1, n, f) != n || fclose(f) != 0)
                return run_fail(err, cap, "--dump: cannot write %s: %s", path, strerror(errno));
        }
    return 0;
}

/* DIR/index.json: the model, the prompt's tokens and one entry per file, in the order the ops ran */
static int capture_index(run_capture *c, const int32_t *ids)
{
    char path[4096], name[256];
    FILE *f;
    int op, l, i, first = 1;
    snprintf(path, sizeof path, "%s/index.json", c->dir);
    if (!(f = fopen(path, "w"))) { fprintf(stderr, "run: --dump: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fprintf(f, "{\"model\": \"%s\", \"arch\": \"%s\", \"n_layer\": %d, \"n_prompt\": %d, \"tokens\": [", CKM_NAME, CKM_ARCH, CKM_N_LAYER, c->n_prompt);
    for (i = 0; i < c->n_prompt; i++) fprintf(f, "%s%d", i ? ", " : "", (int)ids[i]);
    fprintf(f, "],\n \"entries\": [\n");
    for (i = 0; i < 3; i++) /* head, the layers, foot: the order of the computation */
        for (l = i == 1 ? 0 : -1; l < (i == 1 ? CKM_N_LAYER : 0); l++)
            for (op = 0; op < CKM_N_OPS; op++) {
                const ck_op_info *x = &CKM_OPS[op];
                if (x->section != i || !*capture_sel(c, op, l)) continue;
                capture_path(c, op, l, name, sizeof name, 0);
                fprintf(f, "%s  {\"index\": %d, \"op\": \"%s\", \"out\": \"%s\", \"dsl\": \"OP(%s, %s, %s, %s, %s)\", \"section\": \"%s\", "
                           "\"layer\": %d, \"shape\": [%d, %lld], \"file\": \"%s\"}", first ? "" : ",\n", op, x->op, x->out, x->op, x->out, x->a, x->b,
                        x->c, i == 0 ? "head" : i == 1 ? "block" : "foot", l, c->n_prompt, (long long)x->cols, name);
                first = 0;
            }
    fprintf(f, "\n],\n \"attention\": [");
    for (i = 0; i < c->n_attn; i++) {
        const run_attn_head *a = &c->attn[i];
        fprintf(f, "%s\n  {\"layer\": %d, \"head\": %d, \"shape\": [%d, %d], \"file\": \"L%03d_attn_h%02d.npy\"}", i ? "," : "", a->layer,
                a->head, c->n_prompt, c->n_prompt, a->layer, a->head);
    }
    fprintf(f, "\n]}\n");
    if (fclose(f) != 0) { fprintf(stderr, "run: --dump: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    return 0;
}

#if CKM_ATTN_OP >= 0 && CKM_ATTN_Q_OP >= 0
/* --dump-attn: the softmax probabilities of head h of layer l over the prompt, [n, n] (0 above the
   diagonal and outside the window), computed by the model's own attention kernel (its scale,
   soft-cap, window, causal mask and GQA head, the K cache's type) on the captured queries and the
   cached keys, with one-hot values: the output of values e_j0..e_j0+HS-1 is P[:, j0..j0+HS). */
static int attn_probs(ck_model *m, const run_capture *c, int l, int h, float *probs)
{
    const int n = c->n_prompt, HS = CKM_HEAD_DIM;
    const size_t kv = (size_t)l * CKM_MAX_CTX * CKM_KV_DIM + (size_t)(h / (CKM_N_HEAD / CKM_N_HEAD_KV)) * (size_t)HS;
    const float *q = c->attn_q[l] + (size_t)h * (size_t)HS;
    float *out = (float *)malloc((size_t)n * (size_t)HS * sizeof(float));
    int j0, j, t;
#if CKM_KV_F16
    const uint16_t one = 0x3C00, *k = (const uint16_t *)(const void *)(m->state + CKM_S_KV_K) + kv; /* 1.0 in F16 */
#else
    const float one = 1.0f, *k = CK_F(m, CKM_S_KV_K) + kv;
#endif
    void *vals = calloc((size_t)n * CKM_KV_DIM, sizeof one); /* one-hot value rows, the K cache's row stride */
    if (!out || !vals) { free(out); free(vals); return -1; }
    for (j0 = 0; j0 < n; j0 += HS) {
        int j1 = n - j0 < HS ? n : j0 + HS;
        for (j = j0; j < j1; j++) memcpy((char *)vals + ((size_t)j * CKM_KV_DIM + (size_t)(j - j0)) * sizeof one, &one, sizeof one);
#if CKM_KV_F16
        ck_attention_forward_tm_f16kv(out, NULL, q, k, (const uint16_t *)vals, 1, 1, n, n, HS, 0, CKM_LAYERS[l].window, CKM_ATTN_SCALE,
                                      CKM_ATTN_SOFTCAP, (size_t)CKM_N_HEAD * HS, CKM_KV_DIM, (size_t)HS);
#else
        ck_attention_forward_tm(out, NULL, q, k, (const float *)vals, 1, 1, n, n, HS, 0, CKM_LAYERS[l].window, CKM_ATTN_SCALE,
                                CKM_ATTN_SOFTCAP, (size_t)CKM_N_HEAD * HS, CKM_KV_DIM, (size_t)HS);
#endif
        for (t = 0; t < n; t++)
            for (j = j0; j < j1; j++) probs[(size_t)t * n + j] = out[(size_t)t * HS + (j - j0)];
        memset(vals, 0, (size_t)n * CKM_KV_DIM * sizeof one);
    }
    free(out);
    free(vals);
    return 0;
}
#endif

/* --dump-attn L:H,...: each head's probabilities as DIR/L<l>_attn_h<h>.npy, float32 [n, n] */
static int dump_attn(ck_model *m, const run_capture *c)
{
    char path[4200], hdr[128];
    float *probs = (float *)malloc((size_t)c->n_prompt * (size_t)c->n_prompt * sizeof(float));
    int rc = 0, i;
    if (!probs) { fprintf(stderr, "run: --dump-attn: out of memory for %d x %d probabilities\n", c->n_prompt, c->n_prompt); return -1; }
    for (i = 0; i < c->n_attn && !rc; i++) {
        const int l = c->attn[i].layer, h = c->attn[i].head;
        size_t n = (size_t)c->n_prompt * (size_t)c->n_prompt, hn = npy_header(hdr, c->n_prompt, c->n_prompt);
        FILE *f;
#if CKM_ATTN_OP >= 0 && CKM_ATTN_Q_OP >= 0
        if (attn_probs(m, c, l, h, probs)) { fprintf(stderr, "run: --dump-attn: out of memory\n"); rc = -1; break; }
#else
        (void)m;
#endif
        snprintf(path, sizeof path, "%s/L%03d_attn_h%02d.npy", c->dir, l, h);
        if (!(f = fopen(path, "wb")) || fwrite(hdr, 1, hn, f) != hn || fwrite(probs, sizeof(float), n, f) != n) rc = -1;
        if (f && fclose(f) != 0) rc = -1;
        if (rc) fprintf(stderr, "run: --dump-attn: cannot write %s: %s\n", path, strerror(errno));
    }
    free(probs);
    return rc;
}

/* --logit-lens: per layer, the top tokens of the residual stream after it through the foot */
static void logit_lens(ck_model *m, const run_capture *c, const ck_tok *tok, int32_t last)
{
    int l, k, n_top;
    int64_t cols = CKM_OPS[CKM_RESIDUAL_OP > 0 ? CKM_RESIDUAL_OP : 0].cols; /* capture_setup: >= 0 */
    int32_t top[RUN_LENS_TOP];
    char piece[256];
    printf("logit lens: position %d (token %d); per layer, the top %d tokens of the residual stream through the foot, with probabilities\n",
           c->n_prompt - 1, (int)last, RUN_LENS_TOP);
    for (l = 0; l < CKM_N_LAYER; l++) {
        const float *logits;
        double lse;
        CKM_LENS(m, c->lens + (size_t)l * (size_t)cols);
        logits = CKM_LOGITS(m);
        lse = log_sum_exp(logits, CKM_N_VOCAB);
        n_top = top_ids(logits, CKM_N_VOCAB, RUN_LENS_TOP, top);
        printf("layer %3d:", l);
        for (k = 0; k < n_top; k++) {
            printf("%s %d", k ? "," : "", (int)top[k]);
            if (tok) {
                size_t n = ck_tok_piece(tok, top[k], CK_TOK_RENDER_SPECIAL, piece, sizeof piece);
                putchar(' ');
                json_string(stdout, piece, n < sizeof piece ? n : sizeof piece);
            }
            printf(" %.4f", exp((double)logits[top[k]] - lse));
        }
        printf("\n");
    }
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
    run_options o;
    char err[512];
    int i, n_prompt, pos, rc;
    int32_t *prompt_ids = NULL, tok;
    ck_model m;
    ck_lora lora;
    run_capture capture;
    ck_prob_id *scratch;
    double t0, t_prefill = 0, t_decode;
    ck_tokenizer_file tf;
    int have_tok = 0, text_out, n_eog = 0, n_done = 0;
    int32_t eog[RUN_MAX_EOG];
    const char *stop_reason = "length";
    ck_tok_stream stream;
    ck_stop stop;
    size_t stop_lens[RUN_MAX_STOPS];
    char *piece = NULL, *shown_text = NULL, stop_held[RUN_MAX_STOP_BYTES], *file_text = NULL;
    size_t prompt_len = 0;
    int32_t *recent = NULL; /* the last repeat_last_n tokens (prompt and generated), a ring */
    int n_recent = 0, n_gen;
    float *raw = NULL;      /* --json: the step's logits before penalties and min-p */
    int32_t top[RUN_MAX_N_PROBS];
    char *json_piece = NULL;
    size_t json_cap = 0;
    rc = run_parse_options(argc, argv, &o, err, sizeof err);
    if (rc > 0) return usage();
    if (rc < 0) { fprintf(stderr, "run: %s\n", err); return 2; }
    /* the GGUF's own tokenizer: it encodes -p, decodes the text, and names the end-of-generation
       tokens; with --tokens and a file without one (or a weights.bump), ids only and no EOS */
    if (o.prompt_file) {
        if (!(file_text = read_all(o.prompt_file, &prompt_len, err, sizeof err))) { fprintf(stderr, "run: %s\n", err); return 2; }
        o.prompt = file_text;
    } else if (o.prompt) prompt_len = strlen(o.prompt);
#ifdef _OPENMP
    /* -t N; else OMP_NUM_THREADS when set (OpenMP's own setting); else the idle physical cores */
    if (o.threads || !getenv("OMP_NUM_THREADS")) omp_set_num_threads(o.threads ? o.threads : default_threads());
#endif
    text_out = o.prompt != NULL && !o.json;
    memset(&stop, 0, sizeof stop); /* no stop string until ck_stop_init */
    if (ck_tok_open(&tf, o.model, err, sizeof err) == 0) have_tok = 1;
    else if (o.prompt || o.n_stops) {
        fprintf(stderr, "run: %s needs the tokenizer of a GGUF (tokenizer.ggml.*): %s%s\n",
                o.prompt ? (o.prompt_file ? "-f" : "-p") : "--stop", err, o.prompt ? "; or give --tokens ID,ID,..." : "");
        free(file_text);
        return 2;
    }
    if (have_tok && !o.ignore_eos) {
        n_eog = ck_tok_eog_ids(&tf.tok, &tf.gguf, eog, RUN_MAX_EOG);
        if (n_eog > RUN_MAX_EOG) n_eog = RUN_MAX_EOG;
    }
    if (o.prompt) { /* with the special tokens the model adds (BOS) */
        int64_t n;
        n = ck_tok_encode_alloc(&tf.tok, o.prompt, prompt_len, CK_TOK_ADD_SPECIAL, &prompt_ids);
        if (n < 0 || n > 0x7fffffff) { fprintf(stderr, "run: cannot tokenize the prompt\n"); ck_tok_close(&tf); return 2; }
        n_prompt = (int)n;
    } else {
        n_prompt = parse_tokens(o.tokens, CKM_N_VOCAB, &prompt_ids, err, sizeof err);
        if (n_prompt < 0) { fprintf(stderr, "run: %s\n", err); return 2; }
    }
    if (o.prompt && !o.quiet) { /* invalid UTF-8 is tokenized as bytes: said once */
        size_t bad = run_utf8_bad(o.prompt, prompt_len);
        if (bad < prompt_len) fprintf(stderr, "run: the prompt is not valid UTF-8 (byte %zu): its bytes are tokenized as they are\n", bad);
    }
    if (o.keep_last) { /* keep the prompt's last tokens: as many as leave room for what is generated */
        int room = CKM_MAX_CTX - (o.prefill_only ? 0 : o.n_gen > 0 ? o.n_gen : 1);
        if (room < 1) { fprintf(stderr, "run: --keep-last: -n %d leaves no room for a prompt in %d positions\n", o.n_gen, CKM_MAX_CTX); return 2; }
        if (n_prompt > room) {
            fprintf(stderr, "run: --keep-last: the prompt's first %d tokens dropped, its last %d kept (%d positions)\n", n_prompt - room, room,
                    CKM_MAX_CTX);
            memmove(prompt_ids, prompt_ids + (n_prompt - room), (size_t)room * sizeof *prompt_ids);
            n_prompt = room;
        }
    }
    if (run_check_context(&o, n_prompt, CKM_MAX_CTX, err, sizeof err)) {
        fprintf(stderr, "run: %s\n", err);
        free(prompt_ids);
        if (have_tok) ck_tok_close(&tf);
        return 2;
    }
    if (ck_model_open(&m, o.model, CKM_WEIGHTS, CKM_N_WEIGHTS, CKM_LAYOUT_HASH, CKM_WEIGHTS_BYTES, NULL, CKM_STATE_BYTES) != 0) {
        fprintf(stderr, "run: %s\n", m.error);
        free(prompt_ids);
        if (have_tok) ck_tok_close(&tf);
        return 1;
    }
#ifdef CKM_REPACK
    if (!o.no_repack && CKM_REPACK(&m) != 0) {
        fprintf(stderr, "run: %s: %s\n", o.model, m.error);
        ck_model_close(&m);
        free(prompt_ids);
        if (have_tok) ck_tok_close(&tf);
        return 1;
    }
#endif
    CKM_INIT(&m);
    memset(&lora, 0, sizeof lora);
    if (o.lora) { /* checked against this program's weight table: names, shapes, matmul weights */
        if (ck_lora_open(&lora, o.lora, CKM_ARCH, CKM_WEIGHTS, CKM_LORA_TARGETS, CKM_N_WEIGHTS, o.lora_scale, CKM_MAX_PROMPT) != 0) {
            fprintf(stderr, "run: --lora %s\n", lora.error);
            free(prompt_ids);
            if (have_tok) ck_tok_close(&tf);
            ck_model_close(&m);
            return 1;
        }
        m.lora = &lora;
        if (!o.quiet) fprintf(stderr, "run: LoRA adapter %s: %d weights adapted, alpha %g, scale %g\n", o.lora, lora.n_w, (double)lora.alpha,
                              (double)o.lora_scale);
    }

    if (capture_setup(&capture, &o, n_prompt, err, sizeof err)) { /* before the run: a bad --dump stops nothing half-done */
        fprintf(stderr, "run: %s\n", err);
        free(capture.sel);
        free(capture.lens);
        free(capture.attn);
        free(prompt_ids);
        free(file_text);
        if (have_tok) ck_tok_close(&tf);
        ck_lora_close(&lora);
        ck_model_close(&m);
        return 2;
    }
    if (o.prefill_only) { /* logits of every prompt position; activations (--dump, --logit-lens) */
        float *all = (float *)malloc((size_t)n_prompt * CKM_N_VOCAB * sizeof(float));
        free(file_text); /* o.prompt is not read after tokenizing */
        if (!all) { fprintf(stderr, "run: out of memory for %d x %d logits\n", n_prompt, CKM_N_VOCAB); return 1; }
        if (o.profile_path) prefill(&m, prompt_ids, n_prompt, NULL); /* untimed: the weights and arena paged in, the threads up */
        if (o.dump_dir || o.logit_lens || o.profile_path) { m.capture = capture_hook; m.capture_ctx = &capture; }
        capture.last = now();
        if (o.decode_logits) {
            for (pos = 0; pos < n_prompt; pos++) {
                CKM_DECODE(&m, prompt_ids[pos], pos);
                memcpy(all + (size_t)pos * CKM_N_VOCAB, CKM_LOGITS(&m), CKM_N_VOCAB * sizeof(float));
            }
            check_canaries(&m, "decode");
        } else {
            t0 = now();
            capture.last = t0;
            prefill(&m, prompt_ids, n_prompt, o.profile_path && !o.logits_path ? NULL : all); /* --profile: as a run does it */
            t_prefill = now() - t0;
            check_canaries(&m, "prefill");
        }
        rc = 0;
        if (capture.failed) { fprintf(stderr, "run: %s\n", capture.err); rc = -1; }
        if (!rc && o.profile_path) { /* then decode steps, greedy, each op timed; then the machine's peaks */
            int room = CKM_MAX_CTX - n_prompt, n_dec = o.given[OPT_N] ? (o.n_gen < 0 ? room : o.n_gen) : room < 16 ? room : 16;
            double peak_gflops, peak_gbps;
            tok = ck_argmax(o.logits_path ? all + (size_t)(n_prompt - 1) * CKM_N_VOCAB : CKM_LOGITS(&m), CKM_N_VOCAB);
            capture.phase = 1;
            t_decode = 0;
            for (i = 0; i < n_dec; i++) { /* run_check_context: n_prompt + n_dec <= CKM_MAX_CTX */
                t0 = capture.last = now();
                CKM_DECODE(&m, tok, n_prompt + i);
                t_decode += now() - t0;
                tok = ck_argmax(CKM_LOGITS(&m), CKM_N_VOCAB);
            }
            check_canaries(&m, "decode");
            m.capture = NULL;
            for (i = 0, peak_gflops = 0; i < 3; i++) { /* the best of 3 short loops (~0.05 s each): a shared machine's noise is slowness */
                double g = ck_peak_fma_gflops(20000000L);
                if (g > peak_gflops) peak_gflops = g;
            }
            peak_gbps = ck_peak_read_gbps((size_t)256 << 20, 3);
            rc = write_profile(o.profile_path, &capture, n_prompt, t_prefill, n_dec, t_decode, peak_gflops, peak_gbps);
        }
        if (!rc && o.dump_dir && o.dump_attn) rc = dump_attn(&m, &capture);
        if (!rc && o.dump_dir) rc = capture_index(&capture, prompt_ids);
        if (!rc && o.logit_lens) logit_lens(&m, &capture, have_tok ? &tf.tok : NULL, prompt_ids[n_prompt - 1]);
        if (!rc && o.logits_path) rc = write_f32(o.logits_path, all, (size_t)n_prompt * CKM_N_VOCAB);
        free(capture.seconds);
        for (i = 0; i < CKM_N_LAYER; i++) free(capture.attn_q[i]);
        free(capture.sel);
        free(capture.lens);
        free(capture.attn);
        free(all);
        free(prompt_ids);
        if (have_tok) ck_tok_close(&tf);
        ck_lora_close(&lora);
        ck_model_close(&m);
        return rc ? 1 : 0;
    }

    scratch = (ck_prob_id *)malloc(CKM_N_VOCAB * sizeof *scratch);
    if (o.warmup) prefill(&m, prompt_ids, n_prompt, NULL); /* the same work, untimed: the KV cache is rewritten below */
    t0 = now();
    prefill(&m, prompt_ids, n_prompt, NULL);
    check_canaries(&m, "prefill");
    t_prefill = now() - t0;
    t0 = now();
    if (!o.quiet) {
        fprintf(stderr, "prompt: %d tokens:", n_prompt);
        for (i = 0; i < n_prompt; i++) fprintf(stderr, " %d", prompt_ids[i]);
        fprintf(stderr, "\n");
        if (text_out) fwrite(o.prompt, 1, prompt_len, stdout); /* the text continues the prompt, as llama.cpp prints it */
        else if (!o.json) printf("output:");
    }
    if (have_tok) { /* the text, streamed: whole UTF-8 characters only, then past the stop strings */
        size_t cap = tf.tok.max_token_len + 8;
        for (i = 0; i < o.n_stops; i++) stop_lens[i] = strlen(o.stops[i]);
        ck_stop_init(&stop, o.stops, stop_lens, o.n_stops, stop_held, sizeof stop_held); /* run_parse_options: 1..256 bytes */
        ck_tok_stream_init(&stream);
        piece = (char *)malloc(cap);
        shown_text = (char *)malloc(cap + sizeof stop_held);
    }
    n_gen = o.n_gen >= 0 ? o.n_gen : CKM_MAX_CTX - n_prompt; /* -n -1: to the end of the context */
    if (o.repeat_last_n > 0 && o.repeat_penalty != 1.0f) {
        recent = (int32_t *)malloc((size_t)o.repeat_last_n * sizeof *recent);
        for (i = 0; i < n_prompt; i++) recent[n_recent++ % o.repeat_last_n] = prompt_ids[i];
    }
    if (o.json) {
        raw = (float *)malloc(CKM_N_VOCAB * sizeof *raw);
        if (have_tok) json_piece = (char *)malloc(json_cap = tf.tok.max_token_len + 8);
    }
    rc = 0;
    for (i = 0, pos = n_prompt; i < n_gen; i++, pos++) { /* run_check_context: pos < CKM_MAX_CTX */
        float *logits = CKM_LOGITS(&m);
        if (raw) memcpy(raw, logits, CKM_N_VOCAB * sizeof *raw);
        if (recent) ck_repeat_penalty(logits, CKM_N_VOCAB, recent, n_recent < o.repeat_last_n ? n_recent : o.repeat_last_n, o.repeat_penalty);
        ck_min_p(logits, CKM_N_VOCAB, o.min_p);
        tok = ck_sample(logits, CKM_N_VOCAB, o.temp, o.top_k, o.top_p, &o.seed, scratch);
        if (tok < 0) { /* the logits of the last token fed, at position pos - 1 */
            fflush(stdout);
            fprintf(stderr, "\nrun: logits at position %d are not finite (NaN or Inf): nothing to sample\n", pos - 1);
            rc = 1;
            break;
        }
        if (is_eog(eog, n_eog, tok)) { stop_reason = "eos"; break; } /* neither printed nor counted */
        n_done++;
        if (recent) recent[n_recent++ % o.repeat_last_n] = tok;
        if (n_recent == 2 * o.repeat_last_n) n_recent = o.repeat_last_n; /* stays full, never overflows */
        if (o.json) { /* logits were checked finite by ck_sample */
            double lse = log_sum_exp(raw, CKM_N_VOCAB);
            int k, n_top = top_ids(raw, CKM_N_VOCAB, o.n_probs, top);
            json_token(stdout, have_tok ? &tf.tok : NULL, tok, raw[tok] - lse, json_piece, json_cap);
            fputs(",\"top\":[", stdout);
            for (k = 0; k < n_top; k++) {
                if (k) fputc(',', stdout);
                json_token(stdout, have_tok ? &tf.tok : NULL, top[k], raw[top[k]] - lse, json_piece, json_cap);
                fputc('}', stdout);
            }
            fputs("]}\n", stdout);
        } else if (!text_out) printf(" %d", tok); /* ids as they come, those that make a stop string too */
        if (have_tok && (text_out || o.n_stops)) {
            size_t n = ck_tok_stream_next(&tf.tok, &stream, tok, 0, piece, tf.tok.max_token_len + 8);
            n = ck_stop_push(&stop, piece, n, shown_text);
            if (text_out) fwrite(shown_text, 1, n, stdout);
        }
        fflush(stdout);
        if (stop.hit) { stop_reason = "stop"; break; }
        if (i + 1 < n_gen) CKM_DECODE(&m, tok, pos);
        else if (o.n_gen < 0) stop_reason = "context";
    }
    if (have_tok) {
        if (!stop.hit) { /* a character left incomplete, then what was held back for a stop string */
            size_t n = ck_stop_push(&stop, piece, ck_tok_stream_flush(&stream, piece, 4), shown_text);
            if (text_out) fwrite(shown_text, 1, n, stdout);
            if (!stop.hit && text_out) fwrite(shown_text, 1, ck_stop_flush(&stop, shown_text), stdout);
            if (stop.hit) stop_reason = "stop";
        }
        free(piece); free(shown_text); ck_tok_close(&tf);
    }
    check_canaries(&m, "decode");
    t_decode = now() - t0;
    if (o.json) {
        if (!rc)
            printf("{\"prompt_tokens\":%d,\"generated_tokens\":%d,\"prompt_tokens_per_s\":%.3f,\"generation_tokens_per_s\":%.3f,"
                   "\"stop\":\"%s\"}\n", n_prompt, n_done, n_prompt / (t_prefill > 0 ? t_prefill : 1e-9),
                   n_done / (t_decode > 0 ? t_decode : 1e-9), stop_reason);
    } else printf("\n");
    fflush(stdout); /* the text before the timing line on stderr */
    if (!o.quiet && !rc) {
        const char *wait = getenv("OMP_WAIT_POLICY"); /* the user's, when set: it changes what threads cost */
        fprintf(stderr, "prefill: %d tokens in %.3f s (%.1f tokens/s); decode: %d tokens in %.3f s (%.1f tokens/s); threads: %d%s%s%s%s; stop: %s\n",
                n_prompt, t_prefill, n_prompt / (t_prefill > 0 ? t_prefill : 1e-9), n_done, t_decode,
                n_done / (t_decode > 0 ? t_decode : 1e-9), n_threads(), wait ? " (OMP_WAIT_POLICY=" : "", wait ? wait : "", wait ? ")" : "",
                m.repacked ? "; weights repacked" : "", stop_reason);
    }
    free(scratch);
    free(prompt_ids);
    free(recent);
    free(file_text);
    free(raw);
    free(json_piece);
    ck_lora_close(&lora);
    ck_model_close(&m);
    return rc;
}
#endif /* RUN_OPTIONS_ONLY */
#endif /* RUN_HELP_ONLY */
