/* ck — the ckernel command-line tool. One binary, one subcommand per job:
     ck info FILE.gguf               metadata and tensor table (like gguf-dump)
     ck quantize IN.gguf OUT.gguf TYPE
     ck dequantize IN.gguf OUT.gguf  (every tensor to f32)
     ck build MODEL.gguf [-o DIR]    generate the model's C with ckgen and compile examples/run.c
     ck run MODEL.gguf [RUN ARGS]    build once (cached by its inputs' hash), then run it (--lora ADAPTER.gguf)
     ck view MODEL.gguf [-o FILE.html] [--train BxT] [--profile]   one HTML page: arena map, weight types, op graph, op times
     ck check MODEL.gguf             run it with activation capture against the PyTorch reference: the first op that differs
     ck lora-merge BASE.gguf ADAPTER.gguf -o OUT.gguf [--lora-scale S]   W + scale * B @ A, written as a model
     ck perplexity MODEL.gguf -f TEXT [-c N] [-b N]    perplexity as llama-perplexity computes it
     ck chat MODEL.gguf [-sys TEXT] [--chat-template NAME]   a conversation on stdin (examples/chat.c)
     ck tokenize MODEL.gguf [-f FILE | TEXT] [--bos] [--special]    token ids
     ck detokenize MODEL.gguf IDS... the text of token ids
   `ck help` and `ck SUBCOMMAND --help` say more. Built by plain `make` as build/ck. */
#define _POSIX_C_SOURCE 200809L
#define CK_IMPLEMENTATION
#include "ckernel.h"
#define RUN_HELP_ONLY /* RUN_OPTIONS_HELP and run's option table (run_opts), for ck run */
#include "run.c"

#include <ctype.h>
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CK_SOURCE_DIR /* where ckernel.h and examples/run.c are: set by the Makefile */
#define CK_SOURCE_DIR "."
#endif
#ifndef CK_BUILD_CFLAGS
#define CK_BUILD_CFLAGS "-O2 -march=native -fopenmp"
#endif
static const char *self_path = "ck";

static const char *prog = "ck";

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "%s %s: %s (see '%s %s --help')\n", prog, cmd, msg, prog, cmd);
    return 2;
}
static int wants_help(int argc, char **argv)
{
    int i;
    for (i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

/* print n bytes as a quoted string, escaping control bytes, quotes and backslashes */
static void print_str(const char *s, uint64_t n, uint64_t max)
{
    uint64_t i;
    putchar('"');
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (n > max) printf("...(%llu bytes)", (unsigned long long)n);
}

static void print_scalar(uint32_t t, const uint8_t *p)
{
    ck_gguf_kv fake;
    int64_t iv;
    double dv;
    memset(&fake, 0, sizeof fake);
    fake.type = CK_GGUF_ARR;
    fake.arr_type = t;
    fake.arr_n = 1;
    fake.value = p;
    if (t == CK_GGUF_BOOL) printf("%s", p[0] ? "true" : "false");
    else if (t == CK_GGUF_U64) {
        uint64_t u = 0;
        int k;
        for (k = 7; k >= 0; k--) u = u << 8 | p[k];
        printf("%llu", (unsigned long long)u);
    } else if (t == CK_GGUF_F32 || t == CK_GGUF_F64) {
        ck_gguf_arr_float(&fake, 0, &dv);
        printf("%.9g", dv);
    } else if (ck_gguf_arr_int(&fake, 0, &iv)) printf("%lld", (long long)iv);
}

static void print_value(const ck_gguf_kv *kv, uint64_t max_items)
{
    if (kv->type == CK_GGUF_STR) {
        uint64_t n = 0;
        int k;
        for (k = 7; k >= 0; k--) n = n << 8 | kv->value[k];
        print_str((const char *)kv->value + 8, n, 200);
    } else if (kv->type == CK_GGUF_ARR) {
        uint64_t i;
        printf("[");
        if (kv->arr_type == CK_GGUF_STR) {
            ck_gguf_iter it;
            const char *s;
            uint64_t n;
            ck_gguf_iter_init(&it, kv);
            for (i = 0; i < max_items && ck_gguf_iter_str(&it, &s, &n); i++) {
                if (i) printf(", ");
                print_str(s, n, 40);
            }
        } else if (kv->arr_type == CK_GGUF_ARR) {
            printf("(nested arrays)");
            i = kv->arr_n;
        } else {
            size_t es = ck_gguf_vtype_size(kv->arr_type);
            for (i = 0; i < max_items && i < kv->arr_n; i++) {
                if (i) printf(", ");
                print_scalar(kv->arr_type, kv->value + i * es);
            }
        }
        if (i < kv->arr_n) printf(i ? ", ..." : "...");
        printf("]");
    } else {
        print_scalar(kv->type, kv->value);
    }
}

static void shape_str(char *buf, size_t cap, const int64_t *ne, uint32_t n_dims)
{
    size_t n = 0;
    uint32_t d;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (d = 0; d < n_dims && n < cap; d++) n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)ne[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    int show_kv = 1, show_tensors = 1, i;
    uint64_t max_items = 8, k, n_params = 0, n_bytes = 0;
    ck_gguf g;
    if (wants_help(argc, argv)) {
        printf("usage: %s info FILE.gguf [--no-kv] [--no-tensors] [-n N]\n"
               "  Prints the header, every key/value (arrays: the first N items, default 8) and a table\n"
               "  of tensors: name, type, shape, offset (in the data section) and bytes.\n", prog);
        return 0;
    }
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-kv")) show_kv = 0;
        else if (!strcmp(argv[i], "--no-tensors")) show_tensors = 0;
        else if (!strcmp(argv[i], "-n")) {
            char *end;
            if (++i >= argc) return usage_error("info", "-n needs a number");
            errno = 0;
            max_items = argv[i][0] >= '0' && argv[i][0] <= '9' ? strtoull(argv[i], &end, 10) : 0;
            if (!(argv[i][0] >= '0' && argv[i][0] <= '9') || *end || errno) return usage_error("info", "-n wants a whole number >= 0");
        }
        else if (argv[i][0] == '-') return usage_error("info", "unknown option");
        else if (!path) path = argv[i];
        else return usage_error("info", "one file at a time");
    }
    if (!path) return usage_error("info", "no file given");
    if (ck_gguf_open(&g, path) != 0) {
        fprintf(stderr, "%s info: %s\n", prog, g.error);
        return 1;
    }
    printf("%s: GGUF v%u, %llu bytes, %llu key/values, %llu tensors, alignment %u, data at offset %llu\n", path, g.version,
           (unsigned long long)g.size, (unsigned long long)g.n_kv, (unsigned long long)g.n_tensors, g.alignment,
           (unsigned long long)g.data_offset);
    if (show_kv) {
        printf("\nkey/values:\n");
        for (k = 0; k < g.n_kv; k++) {
            const ck_gguf_kv *kv = &g.kv[k];
            char type[32];
            if (kv->type == CK_GGUF_ARR) snprintf(type, sizeof type, "arr[%s,%llu]", ck_gguf_vtype_name(kv->arr_type), (unsigned long long)kv->arr_n);
            else snprintf(type, sizeof type, "%s", ck_gguf_vtype_name(kv->type));
            printf("  %4llu  %-44.*s %-16s = ", (unsigned long long)k, (int)kv->key_len, kv->key, type);
            print_value(kv, max_items);
            printf("\n");
        }
    }
    if (show_tensors && g.n_tensors) {
        printf("\ntensors:\n  %4s  %-40s %-6s %-22s %14s %14s\n", "#", "name", "type", "shape", "offset", "bytes");
        for (k = 0; k < g.n_tensors; k++) {
            const ck_gguf_tensor *t = &g.tensors[k];
            char shape[96];
            shape_str(shape, sizeof shape, t->ne, t->n_dims);
            printf("  %4llu  %-40.*s %-6s %-22s %14llu %14llu\n", (unsigned long long)k, (int)t->name_len, t->name,
                   ck_type_name((int)t->type), shape, (unsigned long long)t->offset, (unsigned long long)t->n_bytes);
        }
    }
    for (k = 0; k < g.n_tensors; k++) {
        n_params += g.tensors[k].n_elements;
        n_bytes += g.tensors[k].n_bytes;
    }
    printf("\n%llu tensors, %llu parameters, %llu bytes of tensor data (%.2f bits per parameter)\n", (unsigned long long)g.n_tensors,
           (unsigned long long)n_params, (unsigned long long)n_bytes, n_params ? 8.0 * (double)n_bytes / (double)n_params : 0.0);
    ck_gguf_close(&g);
    return 0;
}

/* llama.cpp's general.file_type ("mostly X") for a target type; -1 if it has none */
static int file_type_of(int type)
{
    switch (type) {
    case CK_F32: return 0;
    case CK_F16: return 1;
    case CK_Q4_0: return 2;
    case CK_Q4_1: return 3;
    case CK_Q8_0: return 7;
    case CK_Q5_0: return 8;
    case CK_Q5_1: return 9;
    case CK_Q4_K: return 14; /* Q4_K_S: every matrix q4_K */
    case CK_Q5_K: return 16; /* Q5_K_S */
    case CK_Q6_K: return 18;
    case CK_IQ4_NL: return 25;
    case CK_BF16: return 32;
    default: return -1;
    }
}

/* Re-encode every tensor: matrices (2+ dims, rows a multiple of the block) to `type`,
   everything else (norms, biases, 1-D, position tables) to f32 unless it already is. type = CK_F32
   dequantizes. */
static int convert(const char *cmd, const char *in, const char *out, int type, int quiet)
{
    ck_gguf g;
    ck_gguf_builder b;
    uint8_t **bufs;
    uint64_t k, bytes_in = 0, bytes_out = 0;
    int rc = 0, ft = file_type_of(type);
    if (!strcmp(in, out)) {
        fprintf(stderr, "%s %s: input and output are the same file (%s): refusing to overwrite the input\n", prog, cmd, in);
        return 2;
    }
    if (ck_gguf_open(&g, in) != 0) {
        fprintf(stderr, "%s %s: %s\n", prog, cmd, g.error);
        return 1;
    }
    bufs = (uint8_t **)calloc(g.n_tensors ? g.n_tensors : 1, sizeof *bufs);
    ck_gguf_builder_init(&b);
    for (k = 0; k < g.n_kv && !b.failed; k++) {
        const ck_gguf_kv *kv = &g.kv[k];
        if (kv->key_len == 17 && !memcmp(kv->key, "general.file_type", 17)) continue;
        if (kv->key_len == 28 && !memcmp(kv->key, "general.quantization_version", 28)) continue;
        ck_gguf_add_kv_copy(&b, &g, k);
    }
    if (ft >= 0) ck_gguf_add_u32(&b, "general.file_type", (uint32_t)ft);
    ck_gguf_add_u32(&b, "general.quantization_version", 2);
    for (k = 0; k < g.n_tensors && !b.failed; k++) {
        const ck_gguf_tensor *t = &g.tensors[k];
        int64_t rows = t->ne[0] ? (int64_t)(t->n_elements / (uint64_t)t->ne[0]) : 0, r;
        /* position tables stay f32, as llama.cpp's quantizer keeps them (the embedding kernels add them as f32) */
        int positions = (t->name_len == 20 && !memcmp(t->name, "position_embd.weight", 20)) ||
                        (t->name_len == 18 && !memcmp(t->name, "token_types.weight", 18));
        int matrix = t->n_dims >= 2 && t->ne[0] % ck_type_block_size(type) == 0 && !positions;
        int dst = matrix ? type : CK_F32;
        char name[512], shape[96];
        size_t row_in = ck_row_size((int)t->type, t->ne[0]), row_out = ck_row_size(dst, t->ne[0]);
        float *tmp;
        if (t->name_len >= sizeof name) { fprintf(stderr, "%s %s: tensor name too long\n", prog, cmd); rc = 1; break; }
        memcpy(name, t->name, (size_t)t->name_len);
        name[t->name_len] = 0;
        if (!matrix && t->type != CK_F32 && t->n_dims >= 2 && type != CK_F32)
            fprintf(stderr, "%s %s: note: %s has rows of %lld, not a multiple of %s's %lld: stored as f32\n", prog, cmd, name,
                    (long long)t->ne[0], ck_type_name(type), (long long)ck_type_block_size(type));
        if ((int)t->type == dst) {
            bufs[k] = NULL; /* unchanged: write the input bytes */
            ck_gguf_add_tensor(&b, name, t->n_dims, t->ne, t->type, t->data);
        } else {
            bufs[k] = (uint8_t *)malloc((size_t)(row_out * (size_t)rows) + 1);
            tmp = (float *)malloc((size_t)t->ne[0] * sizeof(float) + 1);
            if (!bufs[k] || !tmp) { fprintf(stderr, "%s %s: out of memory at %s\n", prog, cmd, name); free(tmp); rc = 1; break; }
            for (r = 0; r < rows; r++) {
                ck_dequantize_row((int)t->type, (const uint8_t *)t->data + (size_t)r * row_in, tmp, t->ne[0]);
                if (ck_quantize_row(dst, tmp, bufs[k] + (size_t)r * row_out, t->ne[0]) == 0) {
                    fprintf(stderr, "%s %s: %s row %lld holds NaN or Inf, which %s cannot store: nothing written\n", prog, cmd, name,
                            (long long)r, ck_type_name(dst));
                    rc = 1;
                    break;
                }
            }
            if (rc) { free(tmp); break; }
            free(tmp);
            ck_gguf_add_tensor(&b, name, t->n_dims, t->ne, (uint32_t)dst, bufs[k]);
        }
        bytes_in += t->n_bytes;
        bytes_out += row_out * (uint64_t)rows;
        if (!quiet) {
            shape_str(shape, sizeof shape, t->ne, t->n_dims);
            fprintf(stderr, "[%4llu/%4llu] %-40s %-6s -> %-6s %-20s %9.2f MB -> %9.2f MB\n", (unsigned long long)k + 1,
                    (unsigned long long)g.n_tensors, name, ck_type_name((int)t->type), ck_type_name(dst), shape,
                    (double)t->n_bytes / 1e6, (double)(row_out * (uint64_t)rows) / 1e6);
        }
    }
    if (!rc && b.failed) { fprintf(stderr, "%s %s: %s\n", prog, cmd, b.error); rc = 1; }
    if (!rc && ck_gguf_write_file(&b, out) != 0) { fprintf(stderr, "%s %s: %s\n", prog, cmd, b.error); rc = 1; }
    if (!rc && !quiet)
        fprintf(stderr, "%s: %llu tensors, %.2f MB -> %.2f MB, written to %s\n", cmd, (unsigned long long)g.n_tensors,
                (double)bytes_in / 1e6, (double)bytes_out / 1e6, out);
    for (k = 0; k < g.n_tensors; k++) free(bufs[k]);
    free(bufs);
    ck_gguf_builder_free(&b);
    ck_gguf_close(&g);
    return rc;
}

static int cmd_quantize(int argc, char **argv)
{
    const char *pos[3] = { 0 };
    int n = 0, quiet = 0, i, type;
    if (wants_help(argc, argv)) {
        printf("usage: %s quantize IN.gguf OUT.gguf TYPE [-q]\n"
               "  Re-encodes every matrix (2+ dimensions, rows a multiple of TYPE's block) to TYPE with\n"
               "  ggml's reference quantizers; other tensors (norms, biases, position tables) are stored as f32.\n"
               "  Metadata is copied; general.file_type is set. OUT is written to OUT.tmp and renamed.\n"
               "  TYPE: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_K q5_K q6_K iq4_nl.  -q: no progress lines.\n", prog);
        return 0;
    }
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-q")) quiet = 1;
        else if (argv[i][0] == '-') return usage_error("quantize", "unknown option");
        else if (n < 3) pos[n++] = argv[i];
        else return usage_error("quantize", "too many arguments");
    }
    if (n < 3) return usage_error("quantize", "needs IN.gguf OUT.gguf TYPE");
    type = ck_type_from_name(pos[2]);
    if (type < 0 || type == CK_Q8_K || type == CK_Q8_1 || type == CK_Q2_K || type == CK_Q3_K) {
        fprintf(stderr, "%s quantize: '%s' is not a type it can write (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_K q5_K q6_K iq4_nl)\n", prog, pos[2]);
        return 2;
    }
    return convert("quantize", pos[0], pos[1], type, quiet);
}

static int cmd_dequantize(int argc, char **argv)
{
    const char *pos[2] = { 0 };
    int n = 0, quiet = 0, i;
    if (wants_help(argc, argv)) {
        printf("usage: %s dequantize IN.gguf OUT.gguf [-q]\n"
               "  Writes every tensor as f32; metadata is copied. OUT is written to OUT.tmp and renamed.\n", prog);
        return 0;
    }
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-q")) quiet = 1;
        else if (argv[i][0] == '-') return usage_error("dequantize", "unknown option");
        else if (n < 2) pos[n++] = argv[i];
        else return usage_error("dequantize", "too many arguments");
    }
    if (n < 2) return usage_error("dequantize", "needs IN.gguf OUT.gguf");
    return convert("dequantize", pos[0], pos[1], CK_F32, quiet);
}

/* ---- child processes: an argument vector and execvp, never a shell ----------------------------
   Every path goes to a child as one argv entry, so any byte in it is just a byte. */

/* malloc'd printf: paths have no length limit here */
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = (char *)malloc((size_t)n + 1))) { fprintf(stderr, "%s: out of memory\n", prog); exit(1); }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const char *signal_name(int sig, char *buf, size_t cap)
{
    static const struct { int sig; const char *name; } names[] = {
        { SIGSEGV, "SIGSEGV" }, { SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGILL, "SIGILL" },
        { SIGKILL, "SIGKILL" }, { SIGTERM, "SIGTERM" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" }, { SIGHUP, "SIGHUP" },
        { SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTRAP, "SIGTRAP" }, { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
        { SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" },
    };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig) return names[i].name;
    snprintf(buf, cap, "signal %d", sig);
    return buf;
}

/* Run args[0] (found on PATH as execvp does) with args; its stdout and stderr go to out_path
   (created, 0600) when it is not NULL. Returns the child's exit status: 0, or nonzero with a line
   naming the program ("run: exited with status 2"; "run: killed by SIGSEGV", then 128 + the
   signal, as a shell reports it); 127 when it could not be started. */
static int spawn_quiet; /* 1: a non-zero exit status is an answer (ck check's comparison), not said on stderr */
static int spawn(char *const *args, const char *out_path)
{
    pid_t pid;
    int status;
    char buf[32];
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) { fprintf(stderr, "%s: cannot start %s: %s\n", prog, args[0], strerror(errno)); return 127; }
    if (pid == 0) {
        if (out_path) {
            int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(127);
            close(fd);
        }
        execvp(args[0], args);
        fprintf(stderr, "%s: cannot run %s: %s\n", prog, args[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) { fprintf(stderr, "%s: waiting for %s: %s\n", prog, args[0], strerror(errno)); return 127; }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s: killed by %s\n", base_name(args[0]), signal_name(WTERMSIG(status), buf, sizeof buf));
        return 128 + WTERMSIG(status);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && !spawn_quiet) fprintf(stderr, "%s: exited with status %d\n", base_name(args[0]), WEXITSTATUS(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}

/* build/ckgen beside this binary */
static char *sibling(const char *name)
{
    const char *slash = strrchr(self_path, '/');
    if (slash) return str_printf("%.*s/%s", (int)(slash - self_path), self_path, name);
    return str_printf("%s/build/%s", CK_SOURCE_DIR, name);
}
/* the model name ckgen would pick: the file's base name as a C identifier */
static void model_name(char *buf, size_t cap, const char *path)
{
    const char *b = base_name(path);
    size_t k, n = 0;
    for (k = 0; b[k] && n + 3 < cap; k++) {
        if (b[k] == '.' && !strcmp(b + k, ".gguf")) break;
        buf[n++] = (char)((b[k] >= 'a' && b[k] <= 'z') || (b[k] >= '0' && b[k] <= '9') || b[k] == '_' ? b[k]
                          : (b[k] >= 'A' && b[k] <= 'Z') ? b[k] - 'A' + 'a' : '_');
    }
    buf[n] = 0;
    if (!n || (buf[0] >= '0' && buf[0] <= '9')) { memmove(buf + 2, buf, n + 1); buf[0] = 'm'; buf[1] = '_'; }
}

/* FNV-1a, 64 bits: the cache key (not a defence against a crafted collision; see README) */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}
/* a labelled field: its name, its length, its bytes (no two different inputs give one stream) */
static uint64_t hash_field(uint64_t h, const char *label, const void *p, size_t n)
{
    uint64_t len = n;
    h = fnv1a(h, label, strlen(label) + 1);
    h = fnv1a(h, &len, sizeof len);
    return fnv1a(h, p, n);
}
/* a whole file, NUL-terminated (text or not; *len without the NUL): malloc'd, or NULL after a message */
static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t cap = 1 << 16, n = 0, r;
    if (!f) { fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, strerror(errno)); return NULL; }
    buf = (char *)malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += r;
        if (n == cap - 1) { char *nb = (char *)realloc(buf, cap *= 2); if (!nb) { free(buf); buf = NULL; } else buf = nb; }
    }
    if (!buf || ferror(f)) { fprintf(stderr, "%s: cannot read %s\n", prog, path); fclose(f); free(buf); return NULL; }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}
static int hash_file(uint64_t *h, const char *label, const char *path)
{
    size_t n;
    char *buf = read_whole(path, &n);
    if (!buf) return -1;
    *h = hash_field(*h, label, buf, n);
    free(buf);
    return 0;
}

/* a directory ckgen or the compiler filled: its files, then itself (it holds no subdirectory) */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d) {
        while ((e = readdir(d)) != NULL) {
            char *p;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            p = str_printf("%s/%s", dir, e->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The model path as ckgen gets it. ckgen copies it into a C comment of the generated header, so a
   path with bytes that could end that comment or splice lines ('*', '?', '\', control bytes, non-ASCII)
   is given as a symlink build/models/.paths/HASH.gguf to it instead (stable: the header, hence the
   cache key, stays the same); a path starting with '-' gets "./" so that it is not an option. */
static char *ckgen_path(const char *gguf)
{
    const unsigned char *s = (const unsigned char *)gguf;
    size_t i;
    int safe = 1;
    char *abs, *dir, *link, *tmp, cwd[4096];
    for (i = 0; s[i]; i++)
        if (!(isalnum(s[i]) || strchr(" ._/+,=@%:~-", s[i]))) safe = 0;
    if (safe) return gguf[0] == '-' ? str_printf("./%s", gguf) : str_printf("%s", gguf);
    if (gguf[0] == '/') abs = str_printf("%s", gguf);
    else if (getcwd(cwd, sizeof cwd)) abs = str_printf("%s/%s", cwd, gguf);
    else { fprintf(stderr, "%s: cannot read the current directory: %s\n", prog, strerror(errno)); return NULL; }
    dir = str_printf("%s/build/models/.paths", CK_SOURCE_DIR);
    mkdir(dir, 0777);
    link = str_printf("%s/%016llx.gguf", dir, (unsigned long long)fnv1a(0xcbf29ce484222325ull, abs, strlen(abs)));
    tmp = str_printf("%s.%ld.tmp", link, (long)getpid());
    unlink(tmp);
    if (symlink(abs, tmp) != 0 || rename(tmp, link) != 0) {
        fprintf(stderr, "%s: cannot create the link %s: %s\n", prog, link, strerror(errno));
        unlink(tmp);
        free(link);
        link = NULL;
    }
    free(tmp);
    free(dir);
    free(abs);
    return link;
}

/* ckgen GGUF -o DIR --name NAME [--no-bump] [training sizes]. log: where its output goes (NULL: the
   terminal); shown when it fails. 0 or -1. */
static int ckgen_max_ctx; /* > 0: ckgen --max-ctx (ck run -c N) */
static int ckgen_kv_f16;  /* ckgen --kv-f16 (ck run --kv-f16) */
static int ckgen_recompute; /* ckgen --recompute (ck build --train ... --recompute) */
static const char *ckgen_lora, *ckgen_lora_targets; /* ckgen --lora RANK [--lora-targets LIST] (ck build --train ... --lora RANK) */

static int run_ckgen(const char *who, const char *gguf, const char *dir, const char *name, int bump, int train_b, int train_t,
                     const char *log)
{
    char *ckgen = sibling("ckgen"), *path = ckgen_path(gguf), tb[32], tt[32], tc[32];
    char *args[24];
    int n = 0, rc;
    if (!path) { free(ckgen); return -1; }
    args[n++] = ckgen;
    args[n++] = path;
    args[n++] = (char *)"-o";
    args[n++] = (char *)dir;
    args[n++] = (char *)"--name";
    args[n++] = (char *)name;
    if (!bump) args[n++] = (char *)"--no-bump";
    if (train_b > 0) {
        snprintf(tb, sizeof tb, "%d", train_b);
        snprintf(tt, sizeof tt, "%d", train_t);
        args[n++] = (char *)"--train";
        args[n++] = (char *)"--train-batch";
        args[n++] = tb;
        if (train_t > 0) { args[n++] = (char *)"--train-seq"; args[n++] = tt; }
        if (ckgen_recompute) args[n++] = (char *)"--recompute";
        if (ckgen_lora) { args[n++] = (char *)"--lora"; args[n++] = (char *)ckgen_lora; }
        if (ckgen_lora_targets) { args[n++] = (char *)"--lora-targets"; args[n++] = (char *)ckgen_lora_targets; }
    }
    if (ckgen_max_ctx > 0) {
        snprintf(tc, sizeof tc, "%d", ckgen_max_ctx);
        args[n++] = (char *)"--max-ctx";
        args[n++] = tc;
    }
    if (ckgen_kv_f16) args[n++] = (char *)"--kv-f16";
    args[n] = NULL;
    if (!log) fprintf(stderr, "%s: %s %s -o %s --name %s%s\n", who, ckgen, path, dir, name, bump ? "" : " --no-bump");
    rc = spawn(args, log);
    if (rc != 0) {
        if (log) { /* its own words first */
            FILE *f = fopen(log, "rb");
            char line[1024];
            while (f && fgets(line, sizeof line, f)) fputs(line, stderr);
            if (f) fclose(f);
        }
        fprintf(stderr, "%s: ckgen failed on %s\n", who, gguf);
    }
    free(ckgen);
    free(path);
    return rc ? -1 : 0;
}

/* the compiler and its flags: CC (default cc) and CK_CFLAGS (default CK_BUILD_CFLAGS), split at
   spaces. A NULL-terminated vector with room for `extra` more entries; *n is its length. */
static char **compiler_args(int extra, int *n, char **flags_copy)
{
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    const char *fl = getenv("CK_CFLAGS") ? getenv("CK_CFLAGS") : CK_BUILD_CFLAGS;
    size_t words = 2, i;
    char **args, *tok, *save = NULL;
    for (i = 0; fl[i]; i++) words += fl[i] == ' ' || fl[i] == '\t';
    args = (char **)calloc(words + 2 + (size_t)extra, sizeof *args);
    *flags_copy = str_printf("%s", fl);
    if (!args) { fprintf(stderr, "%s: out of memory\n", prog); exit(1); }
    *n = 0;
    args[(*n)++] = (char *)cc;
    args[(*n)++] = (char *)"-std=c99";
    for (tok = strtok_r(*flags_copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) args[(*n)++] = tok;
    args[*n] = NULL;
    return args;
}

static int build_mpi; /* ck build --train --mpi: train.c through MPICC (default mpicc) with -DCK_MPI (examples/train_mpi.h) */

/* cc -std=c99 FLAGS -I<sources> -I<dir> -DCK_MODEL_HEADER="NAME.h" [-DCK_TRAIN_HEADER=...] examples/SRC.c -o DIR/OUT -lm */
static int compile_program(const char *who, const char *dir, const char *name, const char *src_name, const char *out_name, int verbose)
{
    char *flags, *inc_src = str_printf("-I%s", CK_SOURCE_DIR), *inc_dir = str_printf("-I%s", dir);
    char *define = str_printf("-DCK_MODEL_HEADER=\"%s.h\"", name), *tdefine = str_printf("-DCK_TRAIN_HEADER=\"%s_train.h\"", name);
    char *src = str_printf("%s/examples/%s", CK_SOURCE_DIR, src_name), *out = str_printf("%s/%s", dir, out_name);
    int n, i, rc;
    char **args = compiler_args(10, &n, &flags);
    args[n++] = inc_src;
    args[n++] = inc_dir;
    args[n++] = define;
    if (!strcmp(src_name, "train.c")) args[n++] = tdefine;
    if (!strcmp(src_name, "train.c") && build_mpi) {
        args[0] = getenv("MPICC") && *getenv("MPICC") ? getenv("MPICC") : (char *)"mpicc";
        args[n++] = (char *)"-DCK_MPI";
    }
    args[n++] = src;
    args[n++] = (char *)"-o";
    args[n++] = out;
    args[n++] = (char *)"-lm";
    args[n] = NULL;
    if (verbose) {
        fprintf(stderr, "%s:", who);
        for (i = 0; i < n; i++) fprintf(stderr, " %s", args[i]);
        fprintf(stderr, "\n");
    }
    rc = spawn(args, NULL);
    if (rc != 0)
        fprintf(stderr, "%s: the C compiler failed on examples/%s (%s)%s\n", who, src_name, args[0],
                build_mpi && !strcmp(src_name, "train.c") ? "; --mpi needs an MPI compiler wrapper (Debian: libopenmpi-dev; MPICC names another)" : "");
    free(args); free(flags); free(inc_src); free(inc_dir); free(define); free(tdefine); free(src); free(out);
    return rc ? -1 : 0;
}

/* "B" or "BxT", both whole positive numbers: 0, or -1 */
static int parse_train_size(const char *s, int *b, int *t)
{
    char *end;
    long v;
    errno = 0;
    v = *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : 0;
    if (v < 1 || v > 1 << 20 || errno) return -1;
    *b = (int)v;
    *t = 0;
    if (!*end) return 0;
    if (*end != 'x' || !(end[1] >= '0' && end[1] <= '9')) return -1;
    s = end + 1;
    v = strtol(s, &end, 10);
    if (v < 1 || v > 1 << 20 || errno || *end) return -1;
    *t = (int)v;
    return 0;
}

static int cmd_build(int argc, char **argv)
{
    const char *gguf = NULL, *dir = NULL;
    char name[128], *defdir = NULL;
    int i, bump = 0, train_b = 0, train_t = 0;
    if (wants_help(argc, argv)) {
        printf("usage: %s build MODEL.gguf [-o DIR] [--bump] [--train [B[xT]] [--recompute] [--lora RANK [--lora-targets LIST]] [--mpi]]\n"
               "  Runs ckgen (the declaration in models/ named by the file's architecture, bound to the file)\n"
               "  and compiles examples/run.c with the generated header as one translation unit.\n"
               "  DIR defaults to build/models/NAME. --bump also writes DIR/weights.bump.\n"
               "  --train [B[xT]] also generates NAME_train.h and compiles examples/train.c as DIR/train, for\n"
               "  batches of up to B sequences (default 4) of T tokens (default the model's context, at most 1024).\n"
               "  --recompute (with --train) keeps only each layer's input for the backward pass and reruns the\n"
               "  layer's forward before its backward: far less memory, about one more forward pass of compute,\n"
               "  bit-identical losses and weights.\n"
               "  --lora RANK (with --train) makes DIR/train a LoRA trainer: the base stays frozen in its GGUF types\n"
               "  (quantized matmuls and embeddings too: QLoRA), rank-RANK adapters train beside the block's matmuls,\n"
               "  the result is a GGUF LoRA adapter (run --lora FILE). --lora-targets q,k,v,o,gate,up,down (or qkv)\n"
               "  picks the matrices (default: all the family has).\n"
               "  --mpi (with --train) compiles DIR/train with MPICC (default mpicc) and -DCK_MPI: data-parallel\n"
               "  training under mpirun -np N (README: Training over MPI).\n"
               "  CC and CK_CFLAGS (default \"%s\") choose the compiler and flags.\n", prog, CK_BUILD_CFLAGS);
        return 0;
    }
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o")) { if (++i >= argc) return usage_error("build", "-o needs a directory"); dir = argv[i]; }
        else if (!strcmp(argv[i], "--bump")) bump = 1;
        else if (!strcmp(argv[i], "--recompute")) ckgen_recompute = 1;
        else if (!strcmp(argv[i], "--mpi")) build_mpi = 1;
        else if (!strcmp(argv[i], "--lora")) { if (++i >= argc) return usage_error("build", "--lora needs a rank"); ckgen_lora = argv[i]; }
        else if (!strcmp(argv[i], "--lora-targets")) {
            if (++i >= argc) return usage_error("build", "--lora-targets needs a list, e.g. q,v");
            ckgen_lora_targets = argv[i];
        }
        else if (!strcmp(argv[i], "--train")) {
            train_b = 4;
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9' && parse_train_size(argv[++i], &train_b, &train_t))
                return usage_error("build", "--train wants B or BxT, whole numbers from 1, e.g. 8x256");
        }
        else if (argv[i][0] == '-') return usage_error("build", "unknown option");
        else if (!gguf) gguf = argv[i];
        else return usage_error("build", "one model at a time");
    }
    if (!gguf) return usage_error("build", "no model given");
    if (ckgen_recompute && !train_b) return usage_error("build", "--recompute is an option of --train (the training arena)");
    if ((ckgen_lora || ckgen_lora_targets) && !train_b) return usage_error("build", "--lora and --lora-targets are options of --train (a LoRA trainer)");
    if (build_mpi && !train_b) return usage_error("build", "--mpi is an option of --train (an MPI trainer)");
    model_name(name, sizeof name, gguf);
    if (!dir) {
        char *models = str_printf("%s/build/models", CK_SOURCE_DIR);
        mkdir(models, 0777);
        free(models);
        dir = defdir = str_printf("%s/build/models/%s", CK_SOURCE_DIR, name);
    }
    if (run_ckgen("ck build", gguf, dir, name, bump, train_b, train_t, NULL) || compile_program("ck build", dir, name, "run.c", "run", 1)
        || (train_b && compile_program("ck build", dir, name, "train.c", "train", 1))) {
        free(defdir);
        return 1;
    }
    fprintf(stderr, "%s build: the generated C is %s/%s.h; the program is %s/run\n", prog, dir, name, dir);
    printf("%s/run\n", dir);
    free(defdir);
    return 0;
}

/* The cache key of `ck run` (and `ck chat`, `ck perplexity`): everything the compiled program is made of. The
   generated header (it holds every hyperparameter, offset and the layout hash; the weights are
   read at run time), ckernel.h, the program's source (examples/run.c, chat.c, perplexity.c) and
   examples/ck_peak.h (run.c's measured peaks), the compiler's name, its --version text and the flags. */
static int run_cache_key(const char *tmp, const char *name, const char *src_name, uint64_t *key)
{
    char *header = str_printf("%s/%s.h", tmp, name), *src = str_printf("%s/ckernel.h", CK_SOURCE_DIR);
    char *run_c = str_printf("%s/examples/%s", CK_SOURCE_DIR, src_name), *ver = str_printf("%s/cc-version.txt", tmp), *flags;
    char *peak = str_printf("%s/examples/ck_peak.h", CK_SOURCE_DIR);
    int n, rc = -1;
    char **cc = compiler_args(2, &n, &flags), *vargs[3];
    uint64_t h = 0xcbf29ce484222325ull;
    int i;
    /* v2: programs whose generated matmuls call the LoRA hook (ck_lora_apply) and take --lora; the
       header and run.c hashed below differ too, so no v1 program is ever served for a v2 key */
    h = hash_field(h, "ck run cache v2", "", 0);
    if (strcmp(src_name, "run.c")) h = hash_field(h, "program", src_name, strlen(src_name)); /* run's keys stay as they were */
    for (i = 0; i < n; i++) h = hash_field(h, "compiler argument", cc[i], strlen(cc[i]));
    vargs[0] = cc[0];
    vargs[1] = (char *)"--version";
    vargs[2] = NULL;
    if (spawn(vargs, ver) != 0) fprintf(stderr, "%s run: '%s --version' failed\n", prog, cc[0]);
    else if (!hash_file(&h, "compiler version", ver) && !hash_file(&h, "generated header", header) && !hash_file(&h, "ckernel.h", src)
             && !hash_file(&h, src_name, run_c) && !hash_file(&h, "ck_peak.h", peak)) rc = 0;
    unlink(ver);
    *key = h;
    free(cc); free(flags); free(header); free(src); free(run_c); free(ver); free(peak);
    return rc;
}

/* ckgen the model (every time: it is fast), then compile examples/SRC_NAME as OUT_NAME unless
   build/models/NAME-KEY/OUT_NAME exists. The program's path (to free), or NULL after a message. */
static char *cached_program(const char *who, const char *gguf, const char *src_name, const char *out_name)
{
    char name[128], *models, *tmp, *dir = NULL, *run = NULL, *log;
    uint64_t key;
    int rc;
    model_name(name, sizeof name, gguf);
    models = str_printf("%s/build", CK_SOURCE_DIR);
    mkdir(models, 0777);
    free(models);
    models = str_printf("%s/build/models", CK_SOURCE_DIR);
    mkdir(models, 0777);
    tmp = str_printf("%s/.tmp-%s-XXXXXX", models, name);
    if (!mkdtemp(tmp)) { fprintf(stderr, "%s: cannot create a directory in %s: %s\n", who, models, strerror(errno)); free(tmp); free(models); return NULL; }
    log = str_printf("%s/ckgen.log", tmp);
    rc = run_ckgen(who, gguf, tmp, name, 0, 0, 0, log) || run_cache_key(tmp, name, src_name, &key) ? 1 : 0;
    unlink(log);
    free(log);
    if (!rc) {
        struct stat st;
        dir = str_printf("%s/%s-%016llx", models, name, (unsigned long long)key);
        run = str_printf("%s/%s", dir, out_name);
        if (access(run, X_OK) == 0) remove_dir(tmp); /* built before from the same inputs */
        else {
            fprintf(stderr, "%s: building %s (once; cached in %s)\n", who, gguf, dir);
            if (compile_program(who, tmp, name, src_name, out_name, 0)) rc = 1;
            else if (access(run, X_OK) == 0) remove_dir(tmp); /* another ck installed it meanwhile */
            else { /* installed whole or not at all */
                chmod(tmp, 0755); /* mkdtemp made it private */
                if (stat(dir, &st) == 0) remove_dir(dir); /* an entry without its program: not made by rename */
                if (rename(tmp, dir) != 0) {
                    if (access(run, X_OK) != 0) { fprintf(stderr, "%s: cannot install %s: %s\n", who, dir, strerror(errno)); rc = 1; }
                    remove_dir(tmp); /* another ck installed the same program first */
                }
            }
        }
    }
    if (rc) { remove_dir(tmp); free(run); run = NULL; }
    free(tmp); free(dir); free(models);
    return run;
}

/* run PROGRAM -m MODEL ARGS... */
static int run_program(char *program, int argc, char **argv)
{
    char **args = (char **)calloc((size_t)argc + 4, sizeof *args);
    int i, rc;
    args[0] = program;
    args[1] = (char *)"-m";
    args[2] = argv[0];
    for (i = 1; i < argc; i++) args[2 + i] = argv[i];
    rc = spawn(args, NULL);
    free(args);
    free(program);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    char *run;
    int i, n_args;
    if (argc < 1 || wants_help(1, argv)) {
        printf("usage: %s run MODEL.gguf [-c N] [--kv-f16] [RUN OPTIONS]\n"
               "  Generates the model's C with ckgen (every time: it is fast), and compiles examples/run.c with it\n"
               "  unless build/models/NAME-KEY/run exists, KEY being a hash of the generated header, ckernel.h,\n"
               "  examples/run.c, the compiler and its flags (CC, CK_CFLAGS); then runs that program with\n"
               "  -m MODEL.gguf and the run options given ('%s run MODEL.gguf --help' adds the model's sizes).\n"
               "  -c, --ctx N        KV cache positions the program is generated for (ckgen --max-ctx), 1..16777216;\n"
               "                     default: the model's context length, capped at 4096 (raise it with -c)\n"
               "  --kv-f16           keep the KV cache in F16 (ckgen --kv-f16): half its memory, keys and values\n"
               "                     rounded to F16 (logits move by ~0.01-0.05%% of their range)\n"
               "run options:\n%s%s", prog, prog, RUN_OPTIONS_HELP, RUN_CAPTURE_HELP);
        return argc < 1 ? 2 : 0;
    }
    for (i = 1, n_args = 1; i < argc; i++) { /* -c N and --kv-f16 are ck's (ckgen's); the rest is the program's */
        int k;
        for (k = 0; k < OPT_COUNT; k++) /* a run option's value is never ck's -c (--stop -c) */
            if (run_opts[k].takes_value && (!strcmp(argv[i], run_opts[k].name) || (run_opts[k].alias && !strcmp(argv[i], run_opts[k].alias))))
                break;
        if (k < OPT_COUNT && i + 1 < argc) { argv[n_args++] = argv[i++]; argv[n_args++] = argv[i]; continue; }
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--ctx")) {
            char *end;
            long v;
            if (ckgen_max_ctx) return usage_error("run", "-c given twice");
            if (++i >= argc) return usage_error("run", "-c needs a number of positions");
            errno = 0;
            if (!(argv[i][0] >= '0' && argv[i][0] <= '9') || (v = strtol(argv[i], &end, 10)) < 1 || v > 16777216 || *end || errno)
                return usage_error("run", "-c wants a whole number of positions, 1..16777216");
            ckgen_max_ctx = (int)v;
        } else if (!strcmp(argv[i], "--kv-f16")) ckgen_kv_f16 = 1;
        else argv[n_args++] = argv[i];
    }
    argc = n_args;
    if (!(run = cached_program("ck run", argv[0], "run.c", "run"))) return 1;
    return run_program(run, argc, argv);
}

/* ---- check: the program's activations against the PyTorch reference, op by op ------------- */
#define CHECK_N_TOKENS 16 /* the fixed prompt: ids spread over the vocabulary */

/* CHECK_N_TOKENS ids spread over the vocabulary (the rows of token_embd.weight), "a,b,..." in ids: 0 or -1 */
static int spread_tokens(const char *who, const char *gguf, char *ids, size_t cap)
{
    ck_gguf g;
    const ck_gguf_tensor *emb;
    int i, n = 0;
    if (ck_gguf_open(&g, gguf) != 0) { fprintf(stderr, "%s: %s\n", who, g.error); return -1; }
    emb = ck_gguf_find_tensor(&g, "token_embd.weight");
    if (!emb || emb->ne[1] < 1) { fprintf(stderr, "%s: %s has no token_embd.weight\n", who, gguf); ck_gguf_close(&g); return -1; }
    for (i = 0; i < CHECK_N_TOKENS; i++)
        n += snprintf(ids + n, cap - (size_t)n, "%s%lld", i ? "," : "", (long long)((7919LL * i + 11) % emb->ne[1]));
    ck_gguf_close(&g);
    return 0;
}

/* ck check MODEL.gguf: the program `ck run` builds (cached) runs a fixed prompt with --dump, then
   oracle/check.py runs the family's reference forward (oracle/models.py) on the same tokens and
   names the first op that differs beyond the tolerance */
static int cmd_check(int argc, char **argv)
{
    const char *gguf, *keep = NULL, *tol = NULL, *tokens = NULL, *ref = NULL, *python = getenv("CK_PYTHON") ? getenv("CK_PYTHON") : "/usr/bin/python3";
    char ids[CHECK_N_TOKENS * 12], *run, *dir, *script, *rargs[8], *pargs[12];
    int i, n = 0, rc;
    if (argc < 1 || wants_help(argc, argv)) {
        printf("usage: %s check MODEL.gguf [--tokens ID,...] [--tol X] [--reference REF.gguf] [--keep DIR]\n"
               "  Builds the model's program as '%s run' does (cached), runs a fixed prompt of %d tokens with\n"
               "  --dump (every op's output), runs the family's PyTorch reference forward (oracle/models.py, with\n"
               "  %s) on the same tokens, and prints the first op (layer, DSL line, tensor, position) whose output\n"
               "  differs beyond the tolerance, with the max difference, or 'all N ops agree to X'.\n"
               "  --tokens ID,...  the prompt instead of the fixed one\n"
               "  --tol X          max |diff| / max(1, max|reference|) allowed per op (default 1e-4 for f32 weights,\n"
               "                   5e-2 for quantized ones, where the reference emulates ggml's activation rounding)\n"
               "  --reference REF  the reference forward reads REF.gguf (the file MODEL.gguf should equal: one\n"
               "                   converted, edited or suspect), not MODEL.gguf\n"
               "  --keep DIR       dump into DIR and keep it (default: a temporary directory, removed)\n"
               "  Exit status: 0 agree, 1 an op diverges (or the run failed), 2 the command line or nothing to compare.\n"
               "  CK_PYTHON names the Python with torch and numpy (default /usr/bin/python3).\n", prog, prog, CHECK_N_TOKENS, python);
        return argc < 1 ? 2 : 0;
    }
    gguf = argv[0];
    for (i = 1; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--keep") ? &keep : !strcmp(argv[i], "--tol") ? &tol : !strcmp(argv[i], "--tokens") ? &tokens
                         : !strcmp(argv[i], "--reference") ? &ref : NULL;
        if (!dst) { fprintf(stderr, "%s check: unknown option '%s'\n", prog, argv[i]); return 2; }
        if (*dst) { fprintf(stderr, "%s check: %s given twice\n", prog, argv[i]); return 2; }
        if (i + 1 >= argc) { fprintf(stderr, "%s check: %s needs a value\n", prog, argv[i]); return 2; }
        *dst = argv[++i];
    }
    if (tol) {
        char *end;
        double v = strtod(tol, &end);
        if (end == tol || *end || !(v > 0 && v < 1e30)) { fprintf(stderr, "%s check: --tol %s: must be a number > 0\n", prog, tol); return 2; }
    }
    if (!tokens) {
        if (spread_tokens("ck check", gguf, ids, sizeof ids)) return 1;
        tokens = ids;
    }
    if (!(run = cached_program("ck check", gguf, "run.c", "run"))) return 1;
    if (keep) dir = str_printf("%s", keep);
    else {
        dir = str_printf("%s/ck-check-XXXXXX", getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir)) { fprintf(stderr, "%s check: cannot create %s: %s\n", prog, dir, strerror(errno)); free(dir); free(run); return 1; }
    }
    rargs[0] = run; rargs[1] = (char *)"-m"; rargs[2] = (char *)gguf; rargs[3] = (char *)"--tokens"; rargs[4] = (char *)tokens;
    rargs[5] = (char *)"--dump"; rargs[6] = dir; rargs[7] = NULL;
    rc = spawn(rargs, NULL);
    if (rc == 0) { /* python -c: oracle/ is found from the sources, whatever the working directory */
        script = str_printf("import sys; sys.path.insert(0, sys.argv[1]); from oracle.check import main; sys.exit(main(sys.argv[2:]))");
        pargs[0] = (char *)python; pargs[1] = (char *)"-c"; pargs[2] = script; pargs[3] = (char *)CK_SOURCE_DIR; pargs[4] = dir;
        pargs[5] = (char *)gguf; n = 6;
        if (tol) { pargs[n++] = (char *)"--tol"; pargs[n++] = (char *)tol; }
        if (ref) { pargs[n++] = (char *)"--reference"; pargs[n++] = (char *)ref; }
        pargs[n] = NULL;
        spawn_quiet = 1;
        rc = spawn(pargs, NULL);
        spawn_quiet = 0;
        free(script);
    } else rc = 1;
    if (!keep) remove_dir(dir);
    free(dir);
    free(run);
    return rc;
}

/* ---- lora-merge: W + scale * B @ A for every adapted weight -------------------------------- */
static int cmd_lora_merge(int argc, char **argv)
{
    const char *pos[2] = { 0 }, *out = NULL;
    int n = 0, i, quiet = 0, merged_type = -1, rc = 0;
    float user_scale = 1.0f;
    ck_gguf base;
    ck_gguf_builder b;
    ck_lora lo;
    ck_weight_info *w = NULL;
    uint8_t **bufs = NULL;
    char arch[128];
    const char *s;
    uint64_t k, len;
    if (wants_help(argc, argv)) {
        printf("usage: %s lora-merge BASE.gguf ADAPTER.gguf -o OUT.gguf [--lora-scale S] [--merged-type TYPE] [-q]\n"
               "  Writes BASE with every weight the LoRA adapter adapts replaced by W + scale * B @ A, where\n"
               "  scale = S * alpha / rank (S default 1; alpha 0: S), as llama.cpp applies the adapter at run time;\n"
               "  `%s run OUT.gguf` then gives what `%s run BASE.gguf --lora ADAPTER.gguf` gives (to float rounding).\n"
               "  The merged weights keep their type when it is f32, f16 or bf16 (rounded to it); a quantized\n"
               "  weight is written as f32 (quantizing the update away would undo it), unless --merged-type TYPE\n"
               "  (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_K q5_K q6_K iq4_nl; ggml's reference quantizers) says\n"
               "  otherwise. Every other tensor and every key/value is copied byte for byte.\n"
               "  The adapter is checked against BASE first (keys, architecture, names, shapes, ranks); a refusal\n"
               "  names the tensor. OUT is written to OUT.tmp and renamed.  -q: no progress lines.\n", prog, prog, prog);
        return 0;
    }
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-q")) quiet = 1;
        else if (!strcmp(argv[i], "-o")) { if (++i >= argc) return usage_error("lora-merge", "-o needs a file"); out = argv[i]; }
        else if (!strcmp(argv[i], "--lora-scale")) {
            char *end;
            double v;
            if (++i >= argc) return usage_error("lora-merge", "--lora-scale needs a number");
            v = strtod(argv[i], &end);
            if (end == argv[i] || *end || !((float)v - (float)v == 0.0f)) return usage_error("lora-merge", "--lora-scale wants a finite number");
            user_scale = (float)v;
        } else if (!strcmp(argv[i], "--merged-type")) {
            if (++i >= argc) return usage_error("lora-merge", "--merged-type needs a type");
            merged_type = ck_type_from_name(argv[i]);
            if (merged_type < 0 || merged_type == CK_Q8_K || merged_type == CK_Q8_1 || merged_type == CK_Q2_K || merged_type == CK_Q3_K) {
                fprintf(stderr, "%s lora-merge: --merged-type '%s' is not a type it can write (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_K q5_K "
                        "q6_K iq4_nl)\n", prog, argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') return usage_error("lora-merge", "unknown option");
        else if (n < 2) pos[n++] = argv[i];
        else return usage_error("lora-merge", "too many arguments");
    }
    if (n < 2 || !out) return usage_error("lora-merge", "needs BASE.gguf ADAPTER.gguf -o OUT.gguf");
    if (!strcmp(out, pos[0]) || !strcmp(out, pos[1])) {
        fprintf(stderr, "%s lora-merge: the output %s is an input: refusing to overwrite it\n", prog, out);
        return 2;
    }
    if (ck_gguf_open(&base, pos[0]) != 0) { fprintf(stderr, "%s lora-merge: %s\n", prog, base.error); return 1; }
    memset(&lo, 0, sizeof lo);
    ck_gguf_builder_init(&b);
    if (!ck_gguf_get_str(&base, "general.architecture", &s, &len) || len >= sizeof arch) {
        fprintf(stderr, "%s lora-merge: %s has no general.architecture (a model has one)\n", prog, pos[0]);
        rc = 1;
        goto done;
    }
    memcpy(arch, s, (size_t)len);
    arch[len] = 0;
    /* the base's tensors as a weight table (matrices only: a 1-D tensor is never adapted) */
    w = (ck_weight_info *)calloc(base.n_tensors + 1, sizeof *w);
    bufs = (uint8_t **)calloc(base.n_tensors + 1, sizeof *bufs);
    if (!w || !bufs) { fprintf(stderr, "%s lora-merge: out of memory\n", prog); rc = 1; goto done; }
    for (k = 0; k < base.n_tensors; k++) {
        const ck_gguf_tensor *t = &base.tensors[k];
        char *name = str_printf("%.*s", (int)t->name_len, t->name);
        w[k].name = name;
        w[k].type = (int32_t)t->type;
        w[k].ne0 = t->ne[0];
        w[k].ne1 = t->n_dims == 2 ? t->ne[1] : -1; /* never matches an adapter's out */
        w[k].off = t->offset;
        w[k].bytes = t->n_bytes;
    }
    /* the adapter checked against that table, as f32 A and B^T with each weight's scale */
    if (ck_lora_open(&lo, pos[1], arch, w, NULL, (int)base.n_tensors, user_scale, 1) != 0) {
        fprintf(stderr, "%s lora-merge: %s\n", prog, lo.error);
        rc = 1;
        goto done;
    }
    for (k = 0; k < base.n_kv && !b.failed; k++) ck_gguf_add_kv_copy(&b, &base, k);
    for (k = 0; k < base.n_tensors && !b.failed && !rc; k++) {
        const ck_gguf_tensor *t = &base.tensors[k];
        const ck_lora_weight *p = NULL;
        int dst, j;
        int64_t o, r, c, in = t->ne[0], n_out = t->n_dims == 2 ? t->ne[1] : 1;
        float *row;
        size_t row_out;
        for (j = 0; j < lo.n_w; j++)
            if (lo.w[j].w_off == w[k].off) p = &lo.w[j];
        if (!p) { ck_gguf_add_tensor(&b, w[k].name, t->n_dims, t->ne, t->type, t->data); continue; } /* as it is */
        dst = merged_type >= 0 ? merged_type : t->type == CK_F32 || t->type == CK_F16 || t->type == CK_BF16 ? (int)t->type : CK_F32;
        if (!(row_out = ck_row_size(dst, in))) {
            fprintf(stderr, "%s lora-merge: %s has rows of %lld values, not a multiple of %s's block\n", prog, w[k].name, (long long)in, ck_type_name(dst));
            rc = 2;
            break;
        }
        row = (float *)malloc((size_t)in * sizeof *row);
        bufs[k] = (uint8_t *)malloc(row_out * (size_t)n_out + 1);
        if (!row || !bufs[k]) { fprintf(stderr, "%s lora-merge: out of memory at %s\n", prog, w[k].name); rc = 1; }
        for (o = 0; !rc && o < n_out; o++) { /* row o: W[o,:] + scale * sum_r B[o,r] A[r,:] */
            ck_dequantize_row((int)t->type, (const uint8_t *)t->data + (size_t)o * ck_row_size((int)t->type, in), row, in);
            for (r = 0; r < p->rank; r++) {
                float br = p->scale * p->bt[r * n_out + o];
                const float *ar = p->a + r * in;
                for (c = 0; c < in; c++) row[c] += br * ar[c];
            }
            for (c = 0; c < in; c++)
                if (!(row[c] - row[c] == 0.0f)) break;
            if (c < in || ck_quantize_row(dst, row, bufs[k] + (size_t)o * row_out, in) == 0) {
                fprintf(stderr, "%s lora-merge: %s row %lld is not finite after the merge (NaN or Inf in the base)\n", prog,
                        w[k].name, (long long)o);
                rc = 1;
            }
        }
        free(row);
        if (rc) break;
        ck_gguf_add_tensor(&b, w[k].name, t->n_dims, t->ne, (uint32_t)dst, bufs[k]);
        if (!quiet)
            fprintf(stderr, "lora-merge: %-36s %-5s -> %-5s rank %d, scale %g\n", w[k].name, ck_type_name((int)t->type), ck_type_name(dst),
                    p->rank, (double)p->scale);
    }
    if (!rc && b.failed) { fprintf(stderr, "%s lora-merge: %s\n", prog, b.error); rc = 1; }
    if (!rc && ck_gguf_write_file(&b, out) != 0) { fprintf(stderr, "%s lora-merge: %s\n", prog, b.error); rc = 1; }
    if (!rc && !quiet) fprintf(stderr, "lora-merge: %d weights merged (alpha %g), written to %s\n", lo.n_w, (double)lo.alpha, out);
done:
    for (k = 0; w && k < base.n_tensors; k++) free((char *)w[k].name);
    for (k = 0; bufs && k < base.n_tensors; k++) free(bufs[k]);
    free(w); free(bufs);
    ck_lora_close(&lo);
    ck_gguf_builder_free(&b);
    ck_gguf_close(&base);
    return rc;
}

static int cmd_perplexity(int argc, char **argv)
{
    char *ppl;
    if (argc < 1 || wants_help(argc, argv)) {
        printf("usage: %s perplexity MODEL.gguf -f TEXT [-c N] [-b N]\n"
               "  Perplexity of the model on TEXT as llama-perplexity computes it: the text tokenized once (BOS\n"
               "  first where the model adds one), cut into chunks of N tokens (-c, default 512 or the model's\n"
               "  context if smaller), each evaluated from position 0 with its first token replaced by BOS (where\n"
               "  the model adds one), the second half of each scored. Prints [k]PPL after each chunk, then\n"
               "  \"Final estimate: PPL = P +/- E\". -b N: tokens per prefill call (the same value up to rounding).\n"
               "  Compiles examples/perplexity.c with the model's generated C once, cached like `%s run`'s program\n"
               "  (build/models/NAME-KEY/perplexity). A training checkpoint (OUT/model.gguf) works the same way.\n",
               prog, prog);
        return argc < 1 ? usage_error("perplexity", "no model given") : 0;
    }
    if (argv[0][0] == '-') return usage_error("perplexity", "the model comes first: perplexity MODEL.gguf -f TEXT");
    if (!(ppl = cached_program("ck perplexity", argv[0], "perplexity.c", "perplexity"))) return 1;
    return run_program(ppl, argc, argv);
}

static int cmd_chat(int argc, char **argv)
{
    char *chat;
    if (argc < 1 || wants_help(1, argv)) {
        printf("usage: %s chat MODEL.gguf [-sys TEXT] [--chat-template NAME] [CHAT OPTIONS] < turns\n"
               "  A conversation, one user turn per line of stdin (/reset starts over, /exit stops), in the\n"
               "  model's chat template (tokenizer.chat_template, or --chat-template NAME); the KV cache is kept\n"
               "  across turns, so each turn prefills only its new tokens. Built and cached as `ck run` builds\n"
               "  run.c (examples/chat.c, build/models/NAME-KEY/chat); the program's --help lists its options.\n", prog);
        return argc < 1 ? 2 : 0;
    }
    if (!(chat = cached_program("ck chat", argv[0], "chat.c", "chat"))) return 1;
    return run_program(chat, argc, argv);
}

/* ---- tokenize / detokenize ---------------------------------------------------------------- */
static int cmd_tokenize(int argc, char **argv)
{
    const char *file = NULL, *text = NULL;
    int flags = 0, i;
    ck_tokenizer_file tf;
    char err[512];
    char *buf = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    int64_t n;
    if (argc < 1 || wants_help(argc, argv)) {
        printf("usage: %s tokenize MODEL.gguf [-f FILE | TEXT] [--bos] [--special]\n"
               "  Prints the token ids of TEXT (or of FILE's bytes), separated by spaces, as llama.cpp's\n"
               "  tokenizer gives them for the GGUF's tokenizer.ggml.* vocabulary.\n"
               "  --bos      add the special tokens the model adds (BOS, and EOS/SEP where it adds them)\n"
               "  --special  special-token text in the input (e.g. <|endoftext|>) becomes that token;\n"
               "             without it, it is tokenized as plain text\n", prog);
        return argc < 1 ? usage_error("tokenize", "no model given") : 0;
    }
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bos")) flags |= CK_TOK_ADD_SPECIAL;
        else if (!strcmp(argv[i], "--special")) flags |= CK_TOK_PARSE_SPECIAL;
        else if (!strcmp(argv[i], "-f")) { if (++i >= argc) return usage_error("tokenize", "-f needs a file"); file = argv[i]; }
        else if (!text) text = argv[i];
        else return usage_error("tokenize", "more than one TEXT (quote it)");
    }
    if (file && text) return usage_error("tokenize", "give TEXT or -f FILE, not both");
    if (!file && !text) return usage_error("tokenize", "no TEXT and no -f FILE");
    if (file) {
        FILE *f = fopen(file, "rb");
        size_t cap = 1 << 16, r;
        if (!f) { fprintf(stderr, "%s tokenize: %s: %s\n", prog, file, strerror(errno)); return 1; }
        buf = (char *)malloc(cap);
        while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
            len += r;
            if (len == cap) { char *nb = (char *)realloc(buf, cap *= 2); if (!nb) { free(buf); buf = NULL; } else buf = nb; }
        }
        if (!buf || ferror(f)) { fprintf(stderr, "%s tokenize: cannot read %s\n", prog, file); fclose(f); free(buf); return 1; }
        fclose(f);
    } else len = strlen(text);
    if (ck_tok_open(&tf, argv[0], err, sizeof err)) { fprintf(stderr, "%s tokenize: %s\n", prog, err); free(buf); return 1; }
    n = ck_tok_encode_alloc(&tf.tok, file ? buf : text, len, flags, &ids);
    if (n < 0) { fprintf(stderr, "%s tokenize: out of memory or input too long (%llu bytes)\n", prog, (unsigned long long)len); ck_tok_close(&tf); free(buf); return 1; }
    for (i = 0; i < (int)n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    free(ids);
    free(buf);
    ck_tok_close(&tf);
    return 0;
}

static int cmd_detokenize(int argc, char **argv)
{
    ck_tokenizer_file tf;
    char err[512], *out, *end;
    int32_t *ids;
    int i, n = 0, flags = 0;
    size_t cap, len;
    if (argc < 1 || wants_help(argc, argv)) {
        printf("usage: %s detokenize MODEL.gguf [--special] ID...\n"
               "  Writes the bytes of the token ids (as they are: no newline is added). Control tokens\n"
               "  (BOS, EOS, ...) write nothing unless --special is given.\n", prog);
        return argc < 1 ? usage_error("detokenize", "no model given") : 0;
    }
    if (ck_tok_open(&tf, argv[0], err, sizeof err)) { fprintf(stderr, "%s detokenize: %s\n", prog, err); return 1; }
    ids = (int32_t *)malloc((size_t)argc * sizeof *ids);
    for (i = 1; i < argc; i++) {
        long v;
        if (!strcmp(argv[i], "--special")) { flags |= CK_TOK_RENDER_SPECIAL; continue; }
        errno = 0;
        v = strtol(argv[i], &end, 10);
        if (errno || end == argv[i] || *end || v < 0 || v >= tf.tok.n_tokens) {
            fprintf(stderr, "%s detokenize: '%s' is not a token id (0..%d)\n", prog, argv[i], tf.tok.n_tokens - 1);
            free(ids);
            ck_tok_close(&tf);
            return 2;
        }
        ids[n++] = (int32_t)v;
    }
    cap = (size_t)n * (tf.tok.max_token_len + 4) + 1;
    out = (char *)malloc(cap);
    len = ck_tok_decode(&tf.tok, ids, (size_t)n, flags, out, cap);
    fwrite(out, 1, len < cap ? len : cap, stdout);
    free(out);
    free(ids);
    ck_tok_close(&tf);
    return 0;
}

/* ---- view: one self-contained HTML page of a model's layout and op graph ------------------ */

/* text as HTML character data: & < > " escaped, other bytes as they are */
static void html_text(FILE *f, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(s[i], f);
        }
    }
}
/* a source the page's script reads: <pre id=ID hidden>TEXT</pre> (absent file: empty, data-missing) */
static void html_source(FILE *f, const char *id, const char *path)
{
    size_t n = 0;
    char *text = path && access(path, R_OK) == 0 ? read_whole(path, &n) : NULL;
    fprintf(f, "<pre id=\"%s\" hidden%s data-path=\"", id, text ? "" : " data-missing");
    if (path) html_text(f, path, strlen(path));
    fputs("\">", f);
    if (text) html_text(f, text, n);
    fputs("</pre>\n", f);
    free(text);
}

/* ck view MODEL.gguf [-o FILE] [--train BxT [--lora RANK] [--recompute]] [--profile]: ckgen into a
   temporary directory; the page is layout.json, weights_manifest.json, NAME.h, NAME_train.h,
   models/FAMILY.h and (--profile) the JSON of `run --profile` verbatim (HTML-escaped, hidden) plus
   examples/ck_view.js, which draws the arena maps, the weight types, the op lists and the op times from
   them in the browser. When ckgen refuses the file, the page shows its words and ck exits 1. */
static int cmd_view(int argc, char **argv)
{
    const char *gguf = NULL, *out = "view.html", *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char name[256], ids[CHECK_N_TOKENS * 12], *dir, *log, *p_profile = NULL, *p_layout, *p_manifest, *p_header, *p_train, *p_js, *js, *header, *family = NULL;
    int i, train_b = 0, train_t = 0, refused, profile = 0;
    FILE *f;
    if (wants_help(argc, argv)) {
        printf("usage: %s view MODEL.gguf [-o FILE.html] [--train B[xT] [--lora RANK] [--recompute]] [--profile]\n"
               "  Writes one self-contained HTML page (no network): the arena map (every section and buffer of\n"
               "  layout.json to scale: offset, size, dtype, role, which buffers share bytes), the weight types per\n"
               "  tensor and layer, and the op graph of prefill and decode, each op beside its line in the generated\n"
               "  C and in models/FAMILY.h. --train adds the training arena and the forward and backward ops.\n"
               "  --profile builds the run program as 'ck run' does (cached), times each op of a %d-token prefill and\n"
               "  of 16 decode steps (run --profile) and adds time, GFLOP/s, GB/s and %% of the measured FMA peak\n"
               "  and read bandwidth per op and layer.\n"
               "  FILE defaults to view.html. A model ckgen refuses gives a page with the refusal and exit status 1.\n",
               prog, CHECK_N_TOKENS);
        return 0;
    }
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o")) { if (++i >= argc) return usage_error("view", "-o needs a file"); out = argv[i]; }
        else if (!strcmp(argv[i], "--train")) {
            if (++i >= argc || parse_train_size(argv[i], &train_b, &train_t))
                return usage_error("view", "--train wants B or BxT, whole numbers from 1, e.g. 8x256");
        }
        else if (!strcmp(argv[i], "--lora")) { if (++i >= argc) return usage_error("view", "--lora needs a rank"); ckgen_lora = argv[i]; }
        else if (!strcmp(argv[i], "--recompute")) ckgen_recompute = 1;
        else if (!strcmp(argv[i], "--profile")) profile = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return usage_error("view", "unknown option");
        else if (!gguf) gguf = argv[i];
        else return usage_error("view", "one model at a time");
    }
    if (!gguf) return usage_error("view", "no model given");
    if ((ckgen_lora || ckgen_recompute) && !train_b) return usage_error("view", "--lora and --recompute are options of --train");
    if (!(f = fopen(out, "wb"))) { fprintf(stderr, "%s view: cannot write %s: %s\n", prog, out, strerror(errno)); return 1; }
    model_name(name, sizeof name, gguf);
    dir = str_printf("%s/ck-view-XXXXXX", tmpdir);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "%s view: cannot create %s: %s\n", prog, dir, strerror(errno));
        fclose(f); unlink(out); free(dir); return 1;
    }
    log = str_printf("%s/ckgen.log", dir);
    refused = run_ckgen("ck view", gguf, dir, name, 0, train_b, train_t, log) != 0;
    p_layout = str_printf("%s/layout.json", dir);
    p_manifest = str_printf("%s/weights_manifest.json", dir);
    p_header = str_printf("%s/%s.h", dir, name);
    p_train = train_b ? str_printf("%s/%s_train.h", dir, name) : NULL;
    p_js = str_printf("%s/examples/ck_view.js", CK_SOURCE_DIR);
    js = read_whole(p_js, NULL);
    header = refused ? NULL : read_whole(p_header, NULL);
    if (header && profile) { /* the program ck run builds, on a fixed prompt: run --profile FILE */
        char *run = NULL, *rargs[8];
        p_profile = str_printf("%s/profile.json", dir);
        if (spread_tokens("ck view", gguf, ids, sizeof ids) || !(run = cached_program("ck view", gguf, "run.c", "run"))) refused = 1;
        else {
            rargs[0] = run; rargs[1] = (char *)"-m"; rargs[2] = (char *)gguf; rargs[3] = (char *)"--tokens"; rargs[4] = ids;
            rargs[5] = (char *)"--profile"; rargs[6] = p_profile; rargs[7] = NULL;
            if (spawn(rargs, NULL) != 0) { fprintf(stderr, "%s view: the profile run failed\n", prog); refused = 1; }
        }
        free(run);
        if (refused) { free(header); header = NULL; }
    }
    if (header) { /* "generated by ckgen from models/FAMILY.h": the declaration the ops come from */
        const char *m = strstr(header, "from models/"), *e = m ? strchr(m + 12, ' ') : NULL;
        if (m && e) family = str_printf("%s/models/%.*s", CK_SOURCE_DIR, (int)(e - m - 12), m + 12);
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>ck view: ", f);
    html_text(f, gguf, strlen(gguf));
    fputs("</title>\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n</head><body>\n", f);
    if (refused || !js) {
        size_t n = 0;
        char *words = refused && !p_profile ? read_whole(log, &n) : NULL;
        fputs("<h1 id=\"refused\" style=\"color:#a00\">ck view: ", f);
        fputs(p_profile ? "the profile run failed on " : refused ? "ckgen refused " : "cannot read examples/ck_view.js for ", f);
        html_text(f, gguf, strlen(gguf));
        fputs("</h1>\n<pre id=\"refusal\" style=\"white-space:pre-wrap;font-size:16px\">", f);
        if (words) html_text(f, words, n);
        fputs("</pre>\n", f);
        free(words);
    } else {
        html_source(f, "src_layout", p_layout);
        html_source(f, "src_manifest", p_manifest);
        html_source(f, "src_header", p_header);
        html_source(f, "src_train", p_train);
        html_source(f, "src_family", family);
        html_source(f, "src_profile", p_profile);
        fputs("<div id=\"page\"></div>\n<script>\n", f);
        fputs(js, f); /* ours, from the sources: not escaped, and it holds no "</script" */
        fputs("\n</script>\n", f);
    }
    fputs("</body></html>\n", f);
    if (fclose(f) != 0) { fprintf(stderr, "%s view: cannot write %s: %s\n", prog, out, strerror(errno)); refused = 1; }
    else fprintf(stderr, "%s view: %s%s\n", prog, out, refused ? " (the refusal)" : "");
    free(header); free(js); free(family); free(p_js); free(p_train); free(p_header); free(p_manifest); free(p_layout); free(p_profile);
    remove_dir(dir);
    free(log); free(dir);
    return refused || !js ? 1 : 0;
}

static const struct { const char *name; int (*fn)(int, char **); const char *what; } commands[] = {
    { "info", cmd_info, "metadata and tensor table of a GGUF file" },
    { "quantize", cmd_quantize, "re-encode a GGUF file's matrices to another type" },
    { "dequantize", cmd_dequantize, "write every tensor of a GGUF file as f32" },
    { "build", cmd_build, "generate a model's C with ckgen and compile its run program" },
    { "run", cmd_run, "build once (cached by what the program is made of) and run a model (--lora ADAPTER)" },
    { "view", cmd_view, "one self-contained HTML page of a model: arena map, weight types, op graph beside its C and DSL lines" },
    { "check", cmd_check, "a model's activations op by op against the PyTorch reference: the first op that differs" },
    { "lora-merge", cmd_lora_merge, "merge a LoRA adapter into a model: W + scale * B @ A, written as a GGUF" },
    { "perplexity", cmd_perplexity, "perplexity of a model on a text, as llama-perplexity computes it" },
    { "chat", cmd_chat, "a conversation in the model's chat template, the KV cache kept across turns" },
    { "tokenize", cmd_tokenize, "token ids of a text with a GGUF's tokenizer" },
    { "detokenize", cmd_detokenize, "the text of token ids" },
};

static int help(void)
{
    size_t i;
    printf("usage: %s COMMAND [ARGS]   (ckernel %d.%d, SIMD: %s)\n\ncommands:\n", prog, CK_VERSION_MAJOR, CK_VERSION_MINOR, ck_simd_name());
    for (i = 0; i < sizeof commands / sizeof *commands; i++) printf("  %-12s %s\n", commands[i].name, commands[i].what);
    printf("\n'%s COMMAND --help' describes one; '%s --version' the version.\n", prog, prog);
    return 0;
}

int main(int argc, char **argv)
{
    size_t i;
    self_path = argv[0];
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return help();
    if (!strcmp(argv[1], "--version")) {
        printf("ck (ckernel %d.%d), SIMD: %s, run programs built with %s\n", CK_VERSION_MAJOR, CK_VERSION_MINOR, ck_simd_name(),
               getenv("CK_CFLAGS") ? getenv("CK_CFLAGS") : CK_BUILD_CFLAGS);
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "%s: unknown command '%s' (try '%s help')\n", prog, argv[1], prog);
    return 2;
}
