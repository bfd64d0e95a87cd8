/* ckernel_gen.h — the model DSL and ckgen, the generator that turns a model declaration plus
   a GGUF file into plain, readable C.

   HOW TO USE IT
     cc -DCK_GEN_MAIN -x c ckernel_gen.h -o build/ckgen -lm      (or: make build/ckgen)
     build/ckgen MODEL.gguf -o build/mymodel/ [--name mymodel] [--max-ctx N] [--max-prompt N] [--weights-c]
   writes
     build/mymodel/mymodel.h        constants, weight and state offsets, prefill/decode functions
     build/mymodel/layout.json      every buffer: name, role, dtype, shape, offset, bytes
     build/mymodel/weights_manifest.json   every weight: name, GGUF name, type, shape, offset
     build/mymodel/mymodel_weights.h       with --weights-c: the weights as a const C array, for
                                           firmware with no file system (examples/mcu/)
   and the program (examples/run.c) is one translation unit: ckernel.h + mymodel.h + run.c.
     --weights-c  also DIR/mymodel_weights.h: the weights as a const array (no file system: MCUs)
     --train      also DIR/mymodel_train.h: forward with saved activations, the backward pass
                  synthesised from the op list, AdamW (examples/train.c drives it)
     build/ckgen --init CONFIG.json OUT.gguf   a new model (family keys, initialised weights)

   THE DSL
     A model family is a header in models/ of X-macro lists (see models/llama.h for the
     grammar): hyperparameters with their GGUF keys and defaults, global and per-layer
     weights with GGUF names and symbolic shapes, and the ops of the head, the repeated block
     and the foot. Preprocessor expansion turns each list into a table of strings; ckgen
     supplies what the preprocessor cannot: binding symbols to numbers (a tiny expression
     evaluator), choosing a kernel per op, mode and weight type, and planning one arena.
     A new architecture is a new header plus one line in CK_GEN_FAMILIES below.

   THE OP TABLE
     CK_OPS(X) lists every op a declaration may use, X(op). Expand it with your own X to get an
     enum or a name table (LLVM .def style); ckgen expands it into its table of descriptors
     (section 5 of the generator: ckg_op_<op> holds the op's slots, shape rule, what its
     backward pass reads, its statistics and its call templates). A new op is one line here,
     one descriptor there, and its kernel pair in ckernel.h. */
#ifndef CKERNEL_GEN_H
#define CKERNEL_GEN_H

#define CK_OPS(X)                                                                       \
    X(embedding)      /* out = tok_embd[tokens] (+ position table c)                   */ \
    X(matmul)         /* out = a @ w^T (+ bias c)                                       */ \
    X(rmsnorm)        /* out = a / rms(a) * w                                           */ \
    X(rmsnorm_heads)  /* rmsnorm over each head of head_dim columns (q/k norms)         */ \
    X(layernorm)      /* out = (a - mean) / std * w + bias                              */ \
    X(gelu)           /* tanh GELU                                                      */ \
    X(swiglu)         /* out = silu(a) * b                                              */ \
    X(geglu)          /* out = gelu_tanh(a) * b                                         */ \
    X(rope)           /* rotary position embedding of a, in place                       */ \
    X(attention)      /* causal attention of queries a over keys b and values c         */ \
    X(add)            /* out = a + b                                                    */ \
    X(scale)          /* out = a * hyperparameter b                                     */ \
    X(softcap)        /* out = b * tanh(a / b): Gemma 2's final logit soft-capping      */ \
    X(view)           /* out = columns [b, b + c) of a, no copy (fused QKV, gate|up)    */

#define CK__OP_ENUM(op) CK_OP_##op,
enum ck_op { CK_OPS(CK__OP_ENUM) CK_OP_COUNT };
#undef CK__OP_ENUM

/* The families ckgen knows: FAMILY(PREFIX, file). Each models/<file>.h defines
   <PREFIX>_ARCH, _HPARAMS, _LAYER_PARAMS, _GLOBALS, _LAYER, _HEAD, _BLOCK and _FOOT. */
#define CK_GEN_FAMILIES(FAMILY) \
    FAMILY(LLAMA, llama)            \
    FAMILY(GPT2, gpt2)              \
    FAMILY(QWEN2, qwen2)            \
    FAMILY(QWEN3, qwen3)            \
    FAMILY(GEMMA2, gemma2)          \
    FAMILY(GEMMA3, gemma3)          \
    FAMILY(PHI3, phi3)

#endif /* CKERNEL_GEN_H */

/* ===================================================================================== */
/* ckgen: the generator program                                                          */
/* ===================================================================================== */
#ifdef CK_GEN_MAIN
#define _POSIX_C_SOURCE 200809L
#define CK_IMPLEMENTATION
#include "ckernel.h"
#include "models/llama.h" /* one include per line of CK_GEN_FAMILIES */
#include "models/gpt2.h"
#include "models/qwen2.h"
#include "models/qwen3.h"
#include "models/gemma2.h"
#include "models/gemma3.h"
#include "models/phi3.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- 1. the declarations as tables of strings ------------------------------------------ */

typedef struct { const char *name, *key, *def; } ckg_hp_decl;
typedef struct { const char *name, *expr; } ckg_lp_decl;
typedef struct { const char *name, *gguf, *ne0, *ne1, *flags; } ckg_w_decl;
typedef struct { const char *op, *out, *a, *b, *c; } ckg_op_decl;
typedef struct {
    const char *family, *arch;
    const ckg_hp_decl *hp;  int n_hp;
    const ckg_lp_decl *lp;  int n_lp;
    const ckg_w_decl *gw;   int n_gw;
    const ckg_w_decl *lw;   int n_lw;
    const ckg_op_decl *head; int n_head;
    const ckg_op_decl *block; int n_block;
    const ckg_op_decl *foot; int n_foot;
} ckg_family;

#define CKG_HP(name, key, def) { #name, key, #def },
#define CKG_LP(name, expr) { #name, #expr },
#define CKG_W(name, gguf, ne0, ne1, flags) { #name, gguf, #ne0, #ne1, #flags },
#define CKG_OP(op, out, a, b, c) { #op, #out, #a, #b, #c },
#define CKG_N(arr) ((int)(sizeof arr / sizeof *arr) - 1) /* each table ends with a NULL row */
#define CKG_TABLES(P, f)                                                                  \
    static const ckg_hp_decl f##_hp[] = { P##_HPARAMS(CKG_HP) { 0, 0, 0 } };             \
    static const ckg_lp_decl f##_lp[] = { P##_LAYER_PARAMS(CKG_LP) { 0, 0 } };           \
    static const ckg_w_decl f##_gw[] = { P##_GLOBALS(CKG_W) { 0, 0, 0, 0, 0 } };         \
    static const ckg_w_decl f##_lw[] = { P##_LAYER(CKG_W) { 0, 0, 0, 0, 0 } };           \
    static const ckg_op_decl f##_head[] = { P##_HEAD(CKG_OP) { 0, 0, 0, 0, 0 } };        \
    static const ckg_op_decl f##_block[] = { P##_BLOCK(CKG_OP) { 0, 0, 0, 0, 0 } };      \
    static const ckg_op_decl f##_foot[] = { P##_FOOT(CKG_OP) { 0, 0, 0, 0, 0 } };
CK_GEN_FAMILIES(CKG_TABLES)
#define CKG_ENTRY(P, f) { #f, P##_ARCH, f##_hp, CKG_N(f##_hp), f##_lp, CKG_N(f##_lp), f##_gw, CKG_N(f##_gw), \
                          f##_lw, CKG_N(f##_lw), f##_head, CKG_N(f##_head), f##_block, CKG_N(f##_block),      \
                          f##_foot, CKG_N(f##_foot) },
static const ckg_family ckg_families[] = { CK_GEN_FAMILIES(CKG_ENTRY) };
#define CKG_N_FAMILIES ((int)(sizeof ckg_families / sizeof *ckg_families))

/* ---- 2. errors --------------------------------------------------------------------------- */

/* Every error ends here: the message names the input file. CKG_FUZZ builds (tests/fuzz_ckgen.c)
   return to the fuzzer instead of exiting. */
static const char *ckg_input = "";
#ifdef CKG_FUZZ
#include <setjmp.h>
static jmp_buf ckg_fuzz_jmp;
#endif
/* list (a string in cap bytes) += "," (when not empty) and item, cut at cap: for error messages */
static void ckg_list_add(char *list, size_t cap, const char *item)
{
    size_t n = strlen(list);
    if (n && n + 1 < cap) list[n++] = ',', list[n] = '\0';
    if (n + 1 < cap) strncat(list, item, cap - n - 1);
}
static void ckg_die(const char *fmt, ...)
{
    va_list ap;
#ifdef CKG_FUZZ
    char msg[512];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); /* formatted (the arguments are touched) but not printed */
    va_end(ap);
    longjmp(ckg_fuzz_jmp, 1);
#else
    fprintf(stderr, "ckgen: %s: ", ckg_input);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
#endif
}

/* snprintf that stops ckgen instead of truncating (generated C must never be cut short) */
static void ckg_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) ckg_die("internal: an expression of %d characters does not fit %zu", n, cap);
}

/* ---- 3. symbols and the expression evaluator ---------------------------------------------
   Expressions are C-like over doubles: numbers, names, + - * / %, comparisons, && ||, ?:,
   parentheses, and sqrt() min() max() isarr(). Names are hyperparameters, layer params and
   `il`. A hyperparameter whose GGUF key holds an array (one value per layer, e.g. Gemma 3's
   sliding_window_pattern as bools) reads, in a layer's expression, as that layer's element;
   isarr(name) tells whether the file gave an array. */

#define CKG_MAX_SYMS 128
typedef struct { char name[48]; double value; int bound; double *arr; int64_t n_arr; } ckg_sym;
typedef struct {
    ckg_sym syms[CKG_MAX_SYMS];
    int n_syms;
    int il;                 /* the layer index for layer params; -1 outside layers */
    const ckg_family *fam;
} ckg_env;

static ckg_sym *ckg_sym_find(ckg_env *e, const char *name, size_t n)
{
    int i;
    for (i = 0; i < e->n_syms; i++)
        if (strlen(e->syms[i].name) == n && !strncmp(e->syms[i].name, name, n)) return &e->syms[i];
    return NULL;
}
static ckg_sym *ckg_sym_add(ckg_env *e, const char *name)
{
    ckg_sym *s = ckg_sym_find(e, name, strlen(name));
    if (s) return s;
    if (e->n_syms == CKG_MAX_SYMS) ckg_die("too many symbols");
    s = &e->syms[e->n_syms++];
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

typedef struct { const char *p, *src; ckg_env *e; const char *unbound; } ckg_ex;
static double ckg_ternary(ckg_ex *x);
static void ckg_ws(ckg_ex *x) { while (isspace((unsigned char)*x->p)) x->p++; }
static int ckg_eat(ckg_ex *x, const char *tok)
{
    size_t n = strlen(tok);
    ckg_ws(x);
    if (strncmp(x->p, tok, n)) return 0;
    x->p += n;
    return 1;
}
static double ckg_primary(ckg_ex *x)
{
    ckg_ws(x);
    if (ckg_eat(x, "(")) {
        double v = ckg_ternary(x);
        if (!ckg_eat(x, ")")) ckg_die("expression '%s': expected ')'", x->src);
        return v;
    }
    if (ckg_eat(x, "-")) return -ckg_primary(x);
    if (ckg_eat(x, "!")) return !ckg_primary(x);
    if (isdigit((unsigned char)*x->p) || *x->p == '.') {
        char *end;
        double v = strtod(x->p, &end);
        x->p = end;
        return v;
    }
    if (isalpha((unsigned char)*x->p) || *x->p == '_') {
        const char *s = x->p;
        size_t n;
        ckg_sym *sym;
        while (isalnum((unsigned char)*x->p) || *x->p == '_') x->p++;
        n = (size_t)(x->p - s);
        ckg_ws(x);
        if (*x->p == '(' && n == 5 && !strncmp(s, "isarr", 5)) { /* isarr(name): the file gave one value per layer */
            const char *q;
            x->p++;
            ckg_ws(x);
            q = x->p;
            while (isalnum((unsigned char)*x->p) || *x->p == '_') x->p++;
            sym = ckg_sym_find(x->e, q, (size_t)(x->p - q));
            if (!sym || !ckg_eat(x, ")")) ckg_die("expression '%s': isarr() takes the name of a hyperparameter", x->src);
            return sym->arr != NULL;
        }
        if (*x->p == '(') { /* functions */
            double a, b = 0;
            int two = 0;
            x->p++;
            a = ckg_ternary(x);
            if (ckg_eat(x, ",")) { b = ckg_ternary(x); two = 1; }
            if (!ckg_eat(x, ")")) ckg_die("expression '%s': expected ')'", x->src);
            if (n == 4 && !strncmp(s, "sqrt", 4) && !two) return sqrt(a);
            if (n == 3 && !strncmp(s, "min", 3) && two) return a < b ? a : b;
            if (n == 3 && !strncmp(s, "max", 3) && two) return a > b ? a : b;
            ckg_die("expression '%s': unknown function '%.*s'", x->src, (int)n, s);
        }
        if (n == 2 && !strncmp(s, "il", 2)) {
            if (x->e->il < 0) ckg_die("expression '%s': 'il' outside a layer", x->src);
            return x->e->il;
        }
        sym = ckg_sym_find(x->e, s, n);
        if (!sym) ckg_die("expression '%s': unknown name '%.*s'", x->src, (int)n, s);
        if (!sym->bound) { x->unbound = sym->name; return NAN; }
        if (sym->arr) {
            if (x->e->il < 0) ckg_die("expression '%s': '%s' holds one value per layer in the file: use it in LAYER_PARAMS", x->src, sym->name);
            if (x->e->il >= sym->n_arr) ckg_die("'%s' has %lld values, but there are more layers", sym->name, (long long)sym->n_arr);
            return sym->arr[x->e->il];
        }
        return sym->value;
    }
    ckg_die("expression '%s': unexpected '%s'", x->src, x->p);
    return 0;
}
static double ckg_mul(ckg_ex *x)
{
    double v = ckg_primary(x);
    for (;;) {
        if (ckg_eat(x, "*")) v *= ckg_primary(x);
        else if (ckg_eat(x, "/")) v /= ckg_primary(x);
        else if (ckg_eat(x, "%")) { double d = ckg_primary(x); v = fmod(v, d); }
        else return v;
    }
}
static double ckg_add(ckg_ex *x)
{
    double v = ckg_mul(x);
    for (;;) {
        if (ckg_eat(x, "+")) v += ckg_mul(x);
        else if (ckg_eat(x, "-")) v -= ckg_mul(x);
        else return v;
    }
}
static double ckg_cmp(ckg_ex *x)
{
    double v = ckg_add(x);
    for (;;) {
        if (ckg_eat(x, "==")) v = v == ckg_add(x);
        else if (ckg_eat(x, "!=")) v = v != ckg_add(x);
        else if (ckg_eat(x, "<=")) v = v <= ckg_add(x);
        else if (ckg_eat(x, ">=")) v = v >= ckg_add(x);
        else if (ckg_eat(x, "<")) v = v < ckg_add(x);
        else if (ckg_eat(x, ">")) v = v > ckg_add(x);
        else return v;
    }
}
static double ckg_logic(ckg_ex *x)
{
    double v = ckg_cmp(x);
    for (;;) {
        if (ckg_eat(x, "&&")) { double r = ckg_cmp(x); v = v && r; }
        else if (ckg_eat(x, "||")) { double r = ckg_cmp(x); v = v || r; }
        else return v;
    }
}
static double ckg_ternary(ckg_ex *x)
{
    double c = ckg_logic(x), a, b;
    if (!ckg_eat(x, "?")) return c;
    a = ckg_ternary(x);
    if (!ckg_eat(x, ":")) ckg_die("expression '%s': expected ':'", x->src);
    b = ckg_ternary(x);
    return c ? a : b;
}
/* evaluate; *unbound (if given) receives the name of an unbound symbol that was met */
static double ckg_eval(ckg_env *e, const char *src, const char **unbound)
{
    ckg_ex x;
    double v;
    x.p = x.src = src;
    x.e = e;
    x.unbound = NULL;
    v = ckg_ternary(&x);
    ckg_ws(&x);
    if (*x.p) ckg_die("expression '%s': unexpected '%s'", src, x.p);
    if (unbound) *unbound = x.unbound;
    else if (x.unbound) ckg_die("expression '%s': '%s' has no value yet", src, x.unbound);
    return v;
}
static int64_t ckg_eval_int(ckg_env *e, const char *src, const char *what)
{
    double v = ckg_eval(e, src, NULL);
    if (v != floor(v) || v < 0 || v > 9.0e15) ckg_die("%s: '%s' = %g is not a whole number", what, src, v);
    return (int64_t)v;
}
static double ckg_get(ckg_env *e, const char *name)
{
    ckg_sym *s = ckg_sym_find(e, name, strlen(name));
    if (!s || !s->bound) ckg_die("the declaration of %s has no value for '%s'", e->fam->family, name);
    return s->value;
}

/* ---- 4. binding: hyperparameters and weights from the GGUF file -------------------------- */

#define CKG_MAX_WEIGHTS 4096
typedef struct {
    const ckg_w_decl *decl;
    int layer;                  /* -1 for global weights */
    char gguf_name[160];
    const ck_gguf_tensor *t;    /* NULL: optional and absent */
    int64_t ne0, ne1;
} ckg_weight;

typedef struct {
    const ckg_family *fam;
    ck_gguf g;
    ckg_env env;
    int n_layer;
    ckg_weight w[CKG_MAX_WEIGHTS];
    int n_w;
    int n_global;               /* w[0 .. n_global) are the globals, then layer by layer */
    double *lp;                 /* layer params: lp[il * n_lp + j] */
} ckg_model;

static const char *ckg_flag_arg(const char *flags, const char *fn) /* "TIED(x)" -> "x" */
{
    static char buf[64];
    size_t n = strlen(fn);
    const char *p, *q;
    if (strncmp(flags, fn, n) || flags[n] != '(') return NULL;
    p = flags + n + 1;
    q = strchr(p, ')');
    if (!q || (size_t)(q - p) >= sizeof buf) return NULL;
    memcpy(buf, p, (size_t)(q - p));
    buf[q - p] = 0;
    return buf;
}

static const char *ckg_tensor_name(const ck_gguf_tensor *t)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)CK_MIN(t->name_len, 255), t->name);
    return buf;
}

/* check (and, for FROM_WEIGHTS names, bind) one declared dimension against the file */
static void ckg_bind_dim(ckg_model *M, const char *expr, int64_t actual, const ckg_weight *w, int which)
{
    const char *unbound;
    double v = ckg_eval(&M->env, expr, &unbound);
    if (unbound) {
        ckg_sym *s = ckg_sym_find(&M->env, expr, strlen(expr));
        if (!s || s != ckg_sym_find(&M->env, unbound, strlen(unbound)))
            ckg_die("%s: shape '%s' needs '%s', which has no value yet", w->gguf_name, expr, unbound);
        s->value = (double)actual;
        s->bound = 1;
        return;
    }
    if (v != (double)actual)
        ckg_die("tensor %s has ne[%d] = %lld, but models/%s.h declares %s = %lld", w->gguf_name, which, (long long)actual,
                M->fam->family, expr, (long long)v);
}

/* Metadata and tensors that change a model's math. A file that sets one to a value that is not
   neutral, for a declaration that does not read it, is refused with the key and value named:
   running it without the feature would give wrong text, not an error. */
static const struct { const char *name, *neutral; } ckg_feature_keys[] = {
    { "%s.rope.scaling.type", "none" },          { "%s.rope.scaling.factor", "0 1" },
    { "%s.rope.scaling.attn_factor", "0 1" },    { "%s.rope.scaling.yarn_log_multiplier", "0" },
    { "%s.attention.sliding_window", "0" },      { "%s.attention.sliding_window_pattern", "" },
    { "%s.rope.freq_base_swa", "" },             { "%s.attn_logit_softcapping", "0" },
    { "%s.final_logit_softcapping", "0" },       { "%s.attention.clamp_kqv", "0" },
    { "%s.expert_count", "0" },                  { "%s.rope.dimension_sections", "" },
    { "%s.attention.scale", "" },                { "%s.embedding_scale", "" },
    { "%s.residual_scale", "" },                 { "%s.logit_scale", "" }
};
static const char *const ckg_feature_tensors[] = { "rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight" };

static int ckg_reads_key(const ckg_family *F, const char *key, const char *arch)
{
    int j;
    char k[160];
    for (j = 0; j < F->n_hp; j++) {
        if (!F->hp[j].key[0]) continue;
        snprintf(k, sizeof k, F->hp[j].key, arch);
        if (!strcmp(k, key)) return 1;
    }
    return 0;
}
static int ckg_declares_tensor(const ckg_family *F, const char *name)
{
    int j;
    for (j = 0; j < F->n_gw; j++) if (!strcmp(F->gw[j].gguf, name)) return 1;
    return 0;
}
static void ckg_refuse_unmodelled(ckg_model *M, const char *arch)
{
    size_t i;
    ckg_sym *rs = ckg_sym_find(&M->env, "rope_scaling", 12);
    int scales = rs && rs->bound && rs->value != 0;
    for (i = 0; i < sizeof ckg_feature_keys / sizeof *ckg_feature_keys; i++) {
        char key[160], val[96];
        int64_t at = -1;
        const ck_gguf_kv *kv;
        const char *neutral = ckg_feature_keys[i].neutral, *p;
        snprintf(key, sizeof key, ckg_feature_keys[i].name, arch);
        if (scales && strstr(key, ".rope.scaling.")) continue; /* ck_rope_params_from_gguf reads them (or refuses) */
        if (ckg_reads_key(M->fam, key, arch) || (at = ck_gguf_find_kv(&M->g, key)) < 0) continue;
        kv = &M->g.kv[at];
        if (kv->type == CK_GGUF_STR) {
            const char *sv;
            uint64_t n;
            ck_gguf_get_str(&M->g, key, &sv, &n);
            snprintf(val, sizeof val, "'%.*s'", (int)CK_MIN(n, 64), sv);
            if (n == 0 || (strlen(neutral) == n && !memcmp(neutral, sv, n))) continue;
        } else if (kv->type == CK_GGUF_ARR) {
            snprintf(val, sizeof val, "an array");
        } else {
            double v = 0;
            int neutral_hit = 0;
            ck_gguf_get_float(&M->g, key, &v);
            snprintf(val, sizeof val, "%g", v);
            for (p = neutral; *p; p += strcspn(p, " "), p += *p == ' ')
                if (strtod(p, NULL) == v) neutral_hit = 1;
            if (neutral_hit) continue;
        }
        ckg_die("%s = %s is not modelled by models/%s.h; running without it would give wrong output", key, val, M->fam->family);
    }
    for (i = 0; i < sizeof ckg_feature_tensors / sizeof *ckg_feature_tensors; i++)
        if (!scales && ck_gguf_find_tensor(&M->g, ckg_feature_tensors[i]) && !ckg_declares_tensor(M->fam, ckg_feature_tensors[i]))
            ckg_die("tensor %s (rope scaling) is not modelled by models/%s.h; running without it would give wrong output", ckg_feature_tensors[i],
                    M->fam->family);
}

/* The ranges ckgen accepts for the hyperparameters it knows (a file's value outside them is an error
   naming the key and the value, never a crash or a C file with `nan` in it), and the relations the
   kernels need. Whole numbers are checked as such; names a declaration does not have are skipped. */
static const struct { const char *name; double lo, hi; int whole, open_lo; } ckg_hp_rules[] = {
    { "n_embd", 1, 1048576, 1, 0 },     { "n_layer", 1, 4096, 1, 0 },        { "n_ff", 1, 4194304, 1, 0 },
    { "n_head", 1, 4096, 1, 0 },        { "n_head_kv", 1, 4096, 1, 0 },      { "head_dim", 1, 65536, 1, 0 },
    { "n_rot", 0, 65536, 1, 0 },        { "n_ctx", 1, 16777216, 1, 0 },      { "n_vocab", 1, 16777216, 1, 0 },
    { "sliding_window", 0, 16777216, 1, 0 }, { "norm_eps", 0, 1, 0, 1 },    { "rope_base", 0, 1e12, 0, 1 },
    { "rope_local", 0, 1e12, 0, 1 },   { "rope_global", 0, 1e12, 0, 1 },    { "attn_scale", 0, 1e6, 0, 1 },
    { "attn_softcap", 0, 1e6, 0, 0 },   { "final_softcap", 0, 1e6, 0, 0 },   { "embd_scale", 0, 1e6, 0, 1 }
};
static void ckg_hp_where(const ckg_model *M, const char *name, const char *arch, char *buf, size_t cap)
{
    int j;
    for (j = 0; j < M->fam->n_hp; j++)
        if (!strcmp(M->fam->hp[j].name, name) && M->fam->hp[j].key[0]) {
            char key[160];
            double v;
            snprintf(key, sizeof key, M->fam->hp[j].key, arch);
            if (ck_gguf_find_kv(&M->g, key) >= 0 || ck_gguf_get_float(&M->g, key, &v)) { snprintf(buf, cap, "%s", key); return; }
        }
    snprintf(buf, cap, "%s (models/%s.h)", name, M->fam->family);
}
static void ckg_check_hparams(ckg_model *M, const char *arch, int final)
{
    size_t r;
    int j;
    char where[200];
    for (j = 0; j < M->env.n_syms; j++) {
        const ckg_sym *s = &M->env.syms[j];
        if (!s->bound || s->arr) continue;
        ckg_hp_where(M, s->name, arch, where, sizeof where);
        if (!isfinite(s->value)) ckg_die("%s = %g is not a finite number", where, s->value);
        for (r = 0; r < sizeof ckg_hp_rules / sizeof *ckg_hp_rules; r++) {
            if (strcmp(ckg_hp_rules[r].name, s->name)) continue;
            if (ckg_hp_rules[r].whole && s->value != floor(s->value)) ckg_die("%s = %.15g: %s must be a whole number", where, s->value, s->name);
            if (s->value > ckg_hp_rules[r].hi || s->value < ckg_hp_rules[r].lo || (ckg_hp_rules[r].open_lo && s->value == ckg_hp_rules[r].lo))
                ckg_die("%s = %.15g: %s must be in %s%.15g, %.15g]", where, s->value, s->name, ckg_hp_rules[r].open_lo ? "(" : "[", ckg_hp_rules[r].lo,
                        ckg_hp_rules[r].hi);
        }
    }
    if (!final) return;
    { /* relations the kernels rely on */
        ckg_sym *hd = ckg_sym_find(&M->env, "head_dim", 8), *nr = ckg_sym_find(&M->env, "n_rot", 5);
        ckg_sym *nh = ckg_sym_find(&M->env, "n_head", 6), *nkv = ckg_sym_find(&M->env, "n_head_kv", 9);
        if (hd && nr && hd->bound && nr->bound && ((int64_t)nr->value % 2 || nr->value > hd->value)) {
            ckg_hp_where(M, "n_rot", arch, where, sizeof where);
            ckg_die("%s = %g: the rotated dimensions must be even and at most the head size (head_dim %g)", where, nr->value, hd->value);
        }
        if (nh && nkv && nh->bound && nkv->bound && ((int64_t)nh->value % (int64_t)nkv->value)) {
            ckg_hp_where(M, "n_head_kv", arch, where, sizeof where);
            ckg_die("%s = %g does not divide n_head = %g (grouped-query attention shares each kv head among whole groups)", where, nkv->value,
                    nh->value);
        }
    }
}

/* bind the declaration named by the file's architecture to M->g, an opened or parsed GGUF */
static void ckg_bind_gguf(ckg_model *M, const char *path)
{
    const char *arch_s;
    uint64_t arch_n, i;
    char arch[64];
    int f, j, il;
    unsigned char *used;
    if (!ck_gguf_get_str(&M->g, "general.architecture", &arch_s, &arch_n)) ckg_die("no general.architecture key");
    snprintf(arch, sizeof arch, "%.*s", (int)CK_MIN(arch_n, 63), arch_s);
    for (f = 0; f < CKG_N_FAMILIES; f++)
        if (!strcmp(ckg_families[f].arch, arch)) M->fam = &ckg_families[f];
    if (!M->fam) {
        char known[256];
        size_t k = 0;
        for (f = 0; f < CKG_N_FAMILIES; f++) k += (size_t)snprintf(known + k, sizeof known - k, " %s", ckg_families[f].arch);
        ckg_die("architecture '%s' has no declaration in models/ (known:%s)", arch, known);
    }
    M->env.fam = M->fam;
    M->env.il = -1;
    /* hyperparameters, in declaration order */
    for (j = 0; j < M->fam->n_hp; j++) {
        const ckg_hp_decl *h = &M->fam->hp[j];
        ckg_sym *s = ckg_sym_add(&M->env, h->name);
        char key[160];
        double v;
        uint32_t et;
        uint64_t an;
        const ck_gguf_kv *akv;
        snprintf(key, sizeof key, h->key, arch);
        if (h->key[0] && ck_gguf_get_float(&M->g, key, &v)) {
            if (!isfinite(v)) ckg_die("%s = %g is not a finite number", key, v);
            s->value = v;
            s->bound = 1;
            continue;
        }
        if (h->key[0] && ck_gguf_get_arr(&M->g, key, &et, &an, &akv)) { /* one value per layer */
            uint64_t k;
            if (an == 0 || an > 65536) ckg_die("%s is an array of %llu values; expected one per layer", key, (unsigned long long)an);
            s->arr = (double *)calloc((size_t)an, sizeof(double));
            for (k = 0; k < an; k++)
                if (!ck_gguf_arr_float(akv, k, &s->arr[k]) || !isfinite(s->arr[k]))
                    ckg_die("%s: element %llu is not a number (type %s)", key, (unsigned long long)k, ck_gguf_vtype_name(et));
            s->n_arr = (int64_t)an;
            s->bound = 1;
            continue;
        }
        if (!strcmp(h->def, "REQUIRED")) ckg_die("models/%s.h needs the key %s, which the file does not have", M->fam->family, key);
        if (!strcmp(h->def, "FROM_WEIGHTS")) continue;
        s->value = ckg_eval(&M->env, h->def, NULL);
        s->bound = 1;
    }
    ckg_refuse_unmodelled(M, arch);
    ckg_check_hparams(M, arch, 0);
    M->n_layer = (int)ckg_eval_int(&M->env, "n_layer", "n_layer");
    /* weights: globals, then every layer's */
    for (il = -1; il < M->n_layer; il++) {
        const ckg_w_decl *decls = il < 0 ? M->fam->gw : M->fam->lw;
        int n = il < 0 ? M->fam->n_gw : M->fam->n_lw;
        M->env.il = il;
        for (j = 0; j < n; j++) {
            ckg_weight *w = &M->w[M->n_w++];
            const char *tied = ckg_flag_arg(decls[j].flags, "TIED");
            if (M->n_w > CKG_MAX_WEIGHTS) ckg_die("more than %d weights", CKG_MAX_WEIGHTS);
            w->decl = &decls[j];
            w->layer = il;
            snprintf(w->gguf_name, sizeof w->gguf_name, decls[j].gguf, il);
            w->t = ck_gguf_find_tensor(&M->g, w->gguf_name);
            if (!w->t && tied) { /* take the tensor of the weight it is tied to */
                int k;
                for (k = 0; k < M->n_w - 1; k++)
                    if (M->w[k].layer == il && !strcmp(M->w[k].decl->name, tied)) { w->t = M->w[k].t; break; }
                if (!w->t) ckg_die("tensor %s is missing and its tie '%s' has no tensor either", w->gguf_name, tied);
            }
            if (!w->t) {
                if (!strcmp(decls[j].flags, "OPTIONAL")) continue;
                ckg_die("tensor %s is missing (models/%s.h: W(%s, ...))", w->gguf_name, M->fam->family, decls[j].name);
            }
            if (w->t->n_dims > 2) ckg_die("tensor %s has %u dimensions; ckgen takes 1 or 2", w->gguf_name, w->t->n_dims);
            ckg_bind_dim(M, decls[j].ne0, w->t->ne[0], w, 0);
            ckg_bind_dim(M, decls[j].ne1, w->t->ne[1], w, 1);
            w->ne0 = w->t->ne[0];
            w->ne1 = w->t->ne[1];
            if (w->ne1 == 1 && w->t->type != CK_F32)
                ckg_die("tensor %s is %s; ckgen expects 1-D weights (norms, biases) in f32", w->gguf_name, ck_type_name((int)w->t->type));
        }
        if (il < 0) M->n_global = M->n_w;
    }
    M->env.il = -1;
    for (j = 0; j < M->fam->n_hp; j++)
        if (!M->env.syms[j].bound) ckg_die("'%s' (FROM_WEIGHTS) is not the shape of any weight", M->env.syms[j].name);
    ckg_check_hparams(M, arch, 1);
    /* per-layer parameters */
    M->lp = (double *)calloc((size_t)(M->n_layer * (M->fam->n_lp ? M->fam->n_lp : 1)), sizeof(double));
    for (il = 0; il < M->n_layer; il++) {
        M->env.il = il;
        for (j = 0; j < M->fam->n_lp; j++) { /* each one a symbol: later ones may use earlier ones */
            ckg_sym *s = ckg_sym_add(&M->env, M->fam->lp[j].name);
            s->value = M->lp[il * M->fam->n_lp + j] = ckg_eval(&M->env, M->fam->lp[j].expr, NULL);
            s->bound = 1;
        }
    }
    M->env.il = -1;
    /* a tensor the declaration does not use is reported, never dropped silently */
    used = (unsigned char *)calloc(M->g.n_tensors + 1, 1);
    for (j = 0; j < M->n_w; j++)
        if (M->w[j].t) used[M->w[j].t - M->g.tensors] = 1;
    for (i = 0; i < M->g.n_tensors; i++)
        if (!used[i]) fprintf(stderr, "ckgen: %s: note: tensor %s is not used by models/%s.h\n", path, ckg_tensor_name(&M->g.tensors[i]), M->fam->family);
    free(used);
}

static void ckg_bind(ckg_model *M, const char *path)
{
    if (ck_gguf_open(&M->g, path) != 0) ckg_die("%s", M->g.error);
    ckg_bind_gguf(M, path);
}

static const ckg_weight *ckg_find_weight(const ckg_model *M, const char *name, int layer)
{
    int j;
    for (j = 0; j < M->n_w; j++)
        if (M->w[j].layer == layer && !strcmp(M->w[j].decl->name, name)) return &M->w[j];
    return NULL;
}

/* ---- 5. the ops: one descriptor each ----------------------------------------------------------
   Everything ckgen knows about an op is its descriptor: which slots of OP(op, out, a, b, c) hold
   values, weights or hyperparameter expressions, the rule that gives the output's columns, what
   its backward kernel reads, the statistics it saves for training, the hyperparameters its calls
   use, and its calls as templates, for inference and for training (forward and backward).

   Template placeholders (expanded by ckg_expand):
     {out} {a} {b} {c}      the values' pointers        {da} {db} {dc} {dout}  their gradients
     {w} {w2}               the weights in slots b, c as const float * (NULL when absent)
     {wq} {wt}              slot b's weight as raw bytes, and its GGUF type
     {gw} {gw2}             the weights' gradients (training)
     {p} {p2}               slots b, c as hyperparameter expressions (C constants)
     {T}                    rows: T (prefill), n_out (prefill, foot), 1 (decode), BT or T (training)
     {C} {CA}               columns of out and of a, as named constants
     {LDO} {LDA} {LDB} {LDC} row strides of the values (a column view lives in a wider row)
     {HEADS}                C / HEAD_DIM            {POS}  position of row 0
     {tok}                  the token ids           {rope} this layer's rope cache
     {st} {st2}             saved statistics (norm rstd and mean, attention lse); NULL in inference
     {P}                    the model's prefix (PREFIX_N_EMBD ...)
     {hp?name}              the constant PREFIX_NAME if the family declares `name`, else 0.0f
   A template ends at its last ';'; several calls are separated by '\n'. */

enum { CKG_A = 1, CKG_B = 2, CKG_C = 4, CKG_OUT = 8 };   /* slot masks */
enum {
    CKG_SHAPE_SAME,      /* out has a's columns */
    CKG_SHAPE_HEADS,     /* out has a's columns, which are whole heads of head_dim */
    CKG_SHAPE_W_NE1,     /* out has the rows of the weight in b (a linear layer: out = a @ w^T) */
    CKG_SHAPE_W_NE0,     /* out has the row length of the weight in b (an embedding table) */
    CKG_SHAPE_VIEW       /* out is columns [b, b + c) of a: no copy, no kernel */
};
enum { CKG_STAT_NONE, CKG_STAT_ONE, CKG_STAT_TWO, CKG_STAT_HEADS, CKG_STAT_N_HEAD }; /* floats per row */
enum {
    CKG_F_INPLACE = 1,   /* out must be a (rope rotates in place, forward and backward) */
    CKG_F_PER_SEQ = 2,   /* positions matter: training calls it once per sequence of the batch */
    CKG_F_STRIDED = 4,   /* its kernels take row strides, so column views may be passed as they are */
    CKG_F_ROWWISE = 8,   /* elementwise over contiguous rows: with a column view it is called per row */
    CKG_F_KV = 16,       /* inference writes b, c into the KV cache and attends over it */
    CKG_F_TOKENS = 32,   /* slot a may be the input token ids, `tokens` */
    CKG_F_POSITIONS = 64 /* the weight in slot c is a table of positions: its rows bound the context */
};
typedef struct {
    const char *name;
    unsigned values, weights, params;   /* slot masks: inputs that are values / weights / expressions */
    int shape;
    unsigned saved;                     /* what the backward kernel reads: slot masks and CKG_OUT */
    int stat;                           /* statistics saved for the backward pass, per row */
    unsigned flags;
    const char *needs;                  /* hyperparameters its templates use, space separated */
    const char *infer, *infer_q;        /* inference (NULL: the training forward); infer_q: b not f32 */
    const char *fwd, *bwd;              /* training forward and backward */
    const char *fwd_q, *bwd_q;          /* LoRA training with a weight in b that is not f32 (frozen: no weight gradient) */
    int flops;                          /* FLOPs per output value (run --profile; a transcendental counts 1); matmul:
                                           per input column, attention: per head dimension and visible key (ckg_op_cost) */
} ckg_opdesc;

static const ckg_opdesc ckg_op_embedding = {
    "embedding", 0, CKG_B | CKG_C, 0, CKG_SHAPE_W_NE0, 0, CKG_STAT_NONE, CKG_F_PER_SEQ | CKG_F_TOKENS | CKG_F_POSITIONS, "",
    "ck_embedding_forward({out}, {tok}, {w}, {w2}, {T}, {C}, {POS});",
    "ck_embedding_forward_q({wt}, {out}, {tok}, {wq}, {w2}, {T}, {C}, {POS});",
    "ck_embedding_forward({out}, {tok}, {w}, {w2}, {T}, {C}, {POS});",
    "ck_embedding_backward({gw}, {gw2}, {dout}, {tok}, {T}, {C}, {POS});",
    "ck_embedding_forward_q({wt}, {out}, {tok}, {wq}, {w2}, {T}, {C}, {POS});",
    "" /* a frozen table has nothing to learn, and tokens have no gradient */, 0 };
static const ckg_opdesc ckg_op_matmul = {
    "matmul", CKG_A, CKG_B | CKG_C, 0, CKG_SHAPE_W_NE1, CKG_A, CKG_STAT_NONE, 0, "",
    "ck_matmul_forward({out}, {a}, {w}, {w2}, {T}, {CA}, {C});",
    "ck_matmul_forward_q({wt}, {out}, {a}, {wq}, {w2}, {T}, {CA}, {C});",
    "ck_matmul_forward({out}, {a}, {w}, {w2}, {T}, {CA}, {C});",
    "ck_matmul_backward({da}, {gw}, {gw2}, {dout}, {a}, {w}, {T}, {CA}, {C});",
    "ck_matmul_forward_qp(CK_Q_EXACT, {wt}, {out}, {a}, {wq}, {w2}, {T}, {CA}, {C});",
    "ck_matmul_backward_q({wt}, {da}, {dout}, {wq}, {T}, {CA}, {C}, {P}_TBQ(A));", 2 };
static const ckg_opdesc ckg_op_rmsnorm = {
    "rmsnorm", CKG_A, CKG_B, 0, CKG_SHAPE_SAME, CKG_A, CKG_STAT_ONE, 0, "norm_eps", NULL, NULL,
    "ck_rmsnorm_forward({out}, {st}, {a}, {w}, {T}, {C}, {P}_NORM_EPS);",
    "ck_rmsnorm_backward({da}, {gw}, {dout}, {a}, {w}, {st}, {T}, {C});", NULL, NULL, 3 };
static const ckg_opdesc ckg_op_rmsnorm_heads = {
    "rmsnorm_heads", CKG_A, CKG_B, 0, CKG_SHAPE_HEADS, CKG_A, CKG_STAT_HEADS, 0, "head_dim norm_eps", NULL, NULL,
    "ck_rmsnorm_forward({out}, {st}, {a}, {w}, {T} * {HEADS}, {P}_HEAD_DIM, {P}_NORM_EPS);",
    "ck_rmsnorm_backward({da}, {gw}, {dout}, {a}, {w}, {st}, {T} * {HEADS}, {P}_HEAD_DIM);", NULL, NULL, 3 };
static const ckg_opdesc ckg_op_layernorm = {
    "layernorm", CKG_A, CKG_B | CKG_C, 0, CKG_SHAPE_SAME, CKG_A, CKG_STAT_TWO, 0, "norm_eps", NULL, NULL,
    "ck_layernorm_forward({out}, {st}, {st2}, {a}, {w}, {w2}, {T}, {C}, {P}_NORM_EPS);",
    "ck_layernorm_backward({da}, {gw}, {gw2}, {dout}, {a}, {w}, {st}, {st2}, {T}, {C});", NULL, NULL, 7 };
static const ckg_opdesc ckg_op_gelu = {
    "gelu", CKG_A, 0, 0, CKG_SHAPE_SAME, CKG_A, CKG_STAT_NONE, CKG_F_ROWWISE, "", NULL, NULL,
    "ck_gelu_forward({out}, {a}, {T} * {C});",
    "ck_gelu_backward({da}, {dout}, {a}, {T} * {C});", NULL, NULL, 9 };
static const ckg_opdesc ckg_op_swiglu = {
    "swiglu", CKG_A | CKG_B, 0, 0, CKG_SHAPE_SAME, CKG_A | CKG_B, CKG_STAT_NONE, CKG_F_ROWWISE, "", NULL, NULL,
    "ck_swiglu_forward({out}, {a}, {b}, {T} * {C});",
    "ck_swiglu_backward({da}, {db}, {dout}, {a}, {b}, {T} * {C});", NULL, NULL, 5 };
static const ckg_opdesc ckg_op_geglu = {
    "geglu", CKG_A | CKG_B, 0, 0, CKG_SHAPE_SAME, CKG_A | CKG_B, CKG_STAT_NONE, CKG_F_ROWWISE, "", NULL, NULL,
    "ck_geglu_forward({out}, {a}, {b}, {T} * {C});",
    "ck_geglu_backward({da}, {db}, {dout}, {a}, {b}, {T} * {C});", NULL, NULL, 10 };
static const ckg_opdesc ckg_op_rope = {
    "rope", CKG_A, 0, 0, CKG_SHAPE_HEADS, 0, CKG_STAT_NONE, CKG_F_INPLACE | CKG_F_PER_SEQ | CKG_F_STRIDED,
    "head_dim n_rot rope_neox", NULL, NULL,
    "ck_rope_forward_tm({a}, {rope}, {HEADS}, {T}, {P}_HEAD_DIM, {P}_N_ROT, {POS}, {P}_ROPE_NEOX, {LDA});",
    "ck_rope_backward_tm({da}, {rope}, {HEADS}, {T}, {P}_HEAD_DIM, {P}_N_ROT, {POS}, {P}_ROPE_NEOX, {LDA});", NULL, NULL, 3 };
static const ckg_opdesc ckg_op_attention = {
    "attention", CKG_A | CKG_B | CKG_C, 0, 0, CKG_SHAPE_SAME, CKG_A | CKG_B | CKG_C | CKG_OUT, CKG_STAT_N_HEAD,
    CKG_F_PER_SEQ | CKG_F_STRIDED | CKG_F_KV, "n_head n_head_kv head_dim attn_scale",
    "{KVSTORE}(kc + (size_t){POS} * {P}_KV_DIM, {P}_KV_DIM, {b}, {LDB}, {T}, {P}_KV_DIM);\n"
    "{KVSTORE}(vc + (size_t){POS} * {P}_KV_DIM, {P}_KV_DIM, {c}, {LDC}, {T}, {P}_KV_DIM);\n"
    "{KVATTN}({out}, NULL, {a}, kc, vc, {P}_N_HEAD, {P}_N_HEAD_KV, {T}, {POS} + {T}, {P}_HEAD_DIM, {POS}, "
    "L->window, {P}_ATTN_SCALE, {hp?attn_softcap}, {LDA}, {P}_KV_DIM, {LDO});", NULL,
    "ck_attention_forward_tm({out}, {st}, {a}, {b}, {c}, {P}_N_HEAD, {P}_N_HEAD_KV, {T}, {T}, {P}_HEAD_DIM, 0, "
    "L->window, {P}_ATTN_SCALE, {hp?attn_softcap}, {LDA}, {LDB}, {LDO});",
    "ck_attention_backward_tm({da}, {db}, {dc}, {dout}, {out}, {st}, {a}, {b}, {c}, {P}_N_HEAD, {P}_N_HEAD_KV, {T}, {T}, "
    "{P}_HEAD_DIM, 0, L->window, {P}_ATTN_SCALE, {hp?attn_softcap}, {LDA}, {LDB}, {LDO});", NULL, NULL, 4 };
static const ckg_opdesc ckg_op_add = {
    "add", CKG_A | CKG_B, 0, 0, CKG_SHAPE_SAME, 0, CKG_STAT_NONE, 0, "", NULL, NULL,
    "ck_add_forward({out}, {a}, {b}, (size_t){T} * {C});",
    "ck_add_backward({da}, {db}, {dout}, (size_t){T} * {C});", NULL, NULL, 1 };
static const ckg_opdesc ckg_op_scale = {
    "scale", CKG_A, 0, CKG_B, CKG_SHAPE_SAME, 0, CKG_STAT_NONE, 0, "", NULL, NULL,
    "ck_scale_forward({out}, {a}, {p}, (size_t){T} * {C});",
    "ck_scale_backward({da}, {dout}, {p}, (size_t){T} * {C});", NULL, NULL, 1 };
static const ckg_opdesc ckg_op_softcap = {
    "softcap", CKG_A, 0, CKG_B, CKG_SHAPE_SAME, CKG_A, CKG_STAT_NONE, 0, "", NULL, NULL,
    "ck_softcap_forward({out}, {a}, {p}, (size_t){T} * {C});",
    "ck_softcap_backward({da}, {dout}, {a}, {p}, (size_t){T} * {C});", NULL, NULL, 3 };
static const ckg_opdesc ckg_op_view = { /* no call: readers of out take a pointer into a's rows */
    "view", CKG_A, 0, CKG_B | CKG_C, CKG_SHAPE_VIEW, 0, CKG_STAT_NONE, 0, "", NULL, NULL, "", "", NULL, NULL, 0 };

#define CKG_DESC(op) &ckg_op_##op,
static const ckg_opdesc *const ckg_ops[CK_OP_COUNT] = { CK_OPS(CKG_DESC) };
#undef CKG_DESC

/* ---- 6. lowering: values, ops, liveness ----------------------------------------------------
   Inference is planned by name: an op that writes a name that exists (x = x + o) writes the
   same buffer, as the declaration reads. Each value has one interval of op positions in the
   order head, block (once), foot; a value the block reads before writing it (the residual
   stream) is live across the whole block, because the block runs n_layer times. */

enum { CKG_HEAD = 0, CKG_BLOCK = 1, CKG_FOOT = 2 };
#define CKG_MAX_VALS 128
#define CKG_MAX_OPS 256
typedef struct {
    char name[32];
    int64_t cols;               /* floats per row */
    const char *cols_expr;      /* the same as the declaration writes it (n_head * head_dim) */
    int view;                   /* the value this is a column view of, or -1 */
    int64_t col_off;            /* view: first column in the base value */
    const char *col_off_expr;   /* the same as the declaration writes it, or NULL */
    int first, last;            /* op positions: first definition, last use */
    int section;                /* where it is first defined */
    uint64_t off[2];            /* planned offset in the state region: prefill, decode */
} ckg_val;
typedef struct {
    const ckg_op_decl *d;
    const ckg_opdesc *desc;
    int kind, section, pos;
    int out, a, b, c;           /* value indices, -1 if the slot is not a value */
    const char *wb, *wc;        /* weight names in slots b and c, NULL if not a weight */
    double pb, pc;              /* slots b and c as evaluated expressions (params) */
} ckg_op;
typedef struct {
    ckg_val v[CKG_MAX_VALS];
    int n_v;
    ckg_op op[CKG_MAX_OPS];
    int n_op;
    int block_start, block_end; /* op positions [start, end) of the block */
    int logits;                 /* value index of the model's output */
} ckg_ir;

static int ckg_op_kind(const char *name)
{
    int k;
    for (k = 0; k < CK_OP_COUNT; k++)
        if (!strcmp(ckg_ops[k]->name, name)) return k;
    return -1;
}
static int ckg_is_weight(const ckg_family *F, const char *name, int section)
{
    int j;
    for (j = 0; j < F->n_gw; j++)
        if (!strcmp(F->gw[j].name, name)) return 1;
    if (section == CKG_BLOCK)
        for (j = 0; j < F->n_lw; j++)
            if (!strcmp(F->lw[j].name, name)) return 1;
    return 0;
}
static const ckg_w_decl *ckg_wdecl(const ckg_family *F, const char *name)
{
    int j;
    for (j = 0; j < F->n_gw; j++)
        if (!strcmp(F->gw[j].name, name)) return &F->gw[j];
    for (j = 0; j < F->n_lw; j++)
        if (!strcmp(F->lw[j].name, name)) return &F->lw[j];
    return NULL;
}
static int ckg_val_find(ckg_ir *R, const char *name)
{
    int i;
    for (i = 0; i < R->n_v; i++)
        if (!strcmp(R->v[i].name, name)) return i;
    return -1;
}
static int ckg_val_def(ckg_ir *R, const ckg_model *M, const ckg_op_decl *d, int64_t cols, const char *expr, int pos, int section)
{
    int i = ckg_val_find(R, d->out);
    if (i < 0) {
        if (R->n_v == CKG_MAX_VALS) ckg_die("too many values");
        i = R->n_v++;
        memset(&R->v[i], 0, sizeof R->v[i]);
        snprintf(R->v[i].name, sizeof R->v[i].name, "%s", d->out);
        R->v[i].view = -1;
        R->v[i].first = pos;
        R->v[i].section = section;
        R->v[i].cols = cols;
        R->v[i].cols_expr = expr;
    } else if (R->v[i].cols != cols)
        ckg_die("models/%s.h: OP(%s, %s, ...) gives %s %lld columns, but it was defined with %lld", M->fam->family, d->op, d->out, d->out,
                (long long)cols, (long long)R->v[i].cols);
    if (pos > R->v[i].last) R->v[i].last = pos;
    return i;
}
static int ckg_val_use(ckg_ir *R, const ckg_model *M, const char *name, int pos, const ckg_op_decl *d)
{
    int i = ckg_val_find(R, name);
    if (i < 0)
        ckg_die("models/%s.h: OP(%s, %s, ...) reads '%s', which is neither a weight nor an earlier output", M->fam->family, d->op, d->out, name);
    if (pos > R->v[i].last) R->v[i].last = pos;
    if (R->v[i].view >= 0 && pos > R->v[R->v[i].view].last) R->v[R->v[i].view].last = pos;
    return i;
}
static int64_t ckg_wdim(const ckg_model *M, const char *w, int which)
{
    const ckg_weight *x = ckg_find_weight(M, w, -1);
    if (!x) x = ckg_find_weight(M, w, 0);
    if (!x) ckg_die("no weight '%s'", w);
    return which ? x->ne1 : x->ne0;
}
/* the hyperparameters an op's calls use must be declared: a family that leaves one out is told here */
static void ckg_check_needs(const ckg_model *M, const char *who, const char *needs)
{
    const char *p = needs;
    while (*p) {
        size_t n = strcspn(p, " ");
        ckg_sym *s = ckg_sym_find((ckg_env *)&M->env, p, n);
        if (!s || !s->bound)
            ckg_die("models/%s.h: %s needs the hyperparameter '%.*s', which the declaration does not have (see the grammar in models/llama.h)",
                    M->fam->family, who, (int)n, p);
        p += n;
        while (*p == ' ') p++;
    }
}

static void ckg_lower(ckg_model *M, ckg_ir *R)
{
    const ckg_family *F = M->fam;
    int s, j, k, pos = 0;
    int64_t hd = 0;
    ckg_check_needs(M, "every model (KV cache, layers, context)", "n_layer n_head_kv head_dim n_ctx");
    hd = (int64_t)ckg_get(&M->env, "head_dim");
    memset(R, 0, sizeof *R);
    R->logits = -1;
    for (s = 0; s < 3; s++) {
        const ckg_op_decl *ops = s == CKG_HEAD ? F->head : s == CKG_BLOCK ? F->block : F->foot;
        int n = s == CKG_HEAD ? F->n_head : s == CKG_BLOCK ? F->n_block : F->n_foot;
        if (s == CKG_BLOCK) R->block_start = pos;
        for (j = 0; j < n; j++, pos++) {
            const ckg_op_decl *d = &ops[j];
            ckg_op *o = &R->op[R->n_op++];
            const ckg_opdesc *D;
            const char *slot[3];
            int *val[3];
            int64_t ca = 0, cols = 0;
            const char *expr = NULL;
            if (R->n_op > CKG_MAX_OPS) ckg_die("too many ops");
            memset(o, 0, sizeof *o);
            o->d = d;
            o->kind = ckg_op_kind(d->op);
            o->section = s;
            o->pos = pos;
            o->out = o->a = o->b = o->c = -1;
            if (o->kind < 0) ckg_die("models/%s.h: unknown op '%s'", F->family, d->op);
            o->desc = D = ckg_ops[o->kind];
            {
                char who[160];
                snprintf(who, sizeof who, "OP(%s, %s, ...)", d->op, d->out);
                ckg_check_needs(M, who, D->needs);
            }
            /* operands, by the descriptor's slot kinds */
            slot[0] = d->a; slot[1] = d->b; slot[2] = d->c;
            val[0] = &o->a; val[1] = &o->b; val[2] = &o->c;
            for (k = 0; k < 3; k++) {
                unsigned bit = 1u << k;
                const char *x = slot[k];
                if (!strcmp(x, "_")) {
                    if (D->values & bit) ckg_die("models/%s.h: OP(%s, %s, ...): slot %c needs a value", F->family, d->op, d->out, 'a' + k);
                    continue;
                }
                if (k == 0 && !strcmp(x, "tokens") && (D->flags & CKG_F_TOKENS)) continue;
                if ((D->weights & bit) && ckg_is_weight(F, x, s)) { if (k == 1) o->wb = x; else o->wc = x; }
                else if (D->params & bit) { double v = ckg_eval(&M->env, x, NULL); if (k == 1) o->pb = v; else o->pc = v; }
                else if (D->values & bit) *val[k] = ckg_val_use(R, M, x, pos, d);
                else ckg_die("models/%s.h: OP(%s, %s, ...): '%s' in slot %c is not what %s takes there%s", F->family, d->op, d->out, x, 'a' + k,
                             d->op, (D->weights & bit) ? " (a weight)" : "");
            }
            if ((D->weights & CKG_B) && !o->wb) ckg_die("models/%s.h: OP(%s, %s, %s, %s, ...): slot b must be a weight", F->family, d->op, d->out, d->a, d->b);
            if (o->a >= 0) ca = R->v[o->a].cols;
            switch (D->shape) {
            case CKG_SHAPE_W_NE0: cols = ckg_wdim(M, o->wb, 0); expr = ckg_wdecl(F, o->wb)->ne0; break;
            case CKG_SHAPE_W_NE1:
                if (ca != ckg_wdim(M, o->wb, 0))
                    ckg_die("models/%s.h: OP(%s, %s, %s, %s): input has %lld columns, the weight %lld", F->family, d->op, d->out, d->a, d->b,
                            (long long)ca, (long long)ckg_wdim(M, o->wb, 0));
                cols = ckg_wdim(M, o->wb, 1);
                expr = ckg_wdecl(F, o->wb)->ne1;
                break;
            case CKG_SHAPE_VIEW:
                if (o->pb < 0 || o->pc <= 0 || o->pb != floor(o->pb) || o->pc != floor(o->pc) || o->pb + o->pc > (double)ca)
                    ckg_die("models/%s.h: OP(view, %s, %s, %s, %s): columns [%g, %g) are not inside %s's %lld", F->family, d->out, d->a, d->b, d->c,
                            o->pb, o->pb + o->pc, d->a, (long long)ca);
                cols = (int64_t)o->pc;
                expr = d->c;
                break;
            case CKG_SHAPE_HEADS:
                if (ca % hd) ckg_die("OP(%s, %s, %s): %lld columns are not whole heads of %lld", d->op, d->out, d->a, (long long)ca, (long long)hd);
                /* fall through */
            default: cols = ca; expr = R->v[o->a].cols_expr;
            }
            if ((D->flags & CKG_F_INPLACE) && strcmp(d->out, d->a))
                ckg_die("OP(%s, %s, %s): %s works in place: out must be the input", d->op, d->out, d->a, d->op);
            if (D->shape == CKG_SHAPE_VIEW) { /* a view of a view is a view of the base */
                const ckg_val *a = &R->v[o->a];
                int base = a->view >= 0 ? a->view : o->a;
                int64_t off = (a->view >= 0 ? a->col_off : 0) + (int64_t)o->pb;
                if (ckg_val_find(R, d->out) >= 0) ckg_die("models/%s.h: OP(view, %s, ...): %s is already defined", F->family, d->out, d->out);
                o->out = ckg_val_def(R, M, d, cols, expr, pos, s);
                R->v[o->out].view = base;
                R->v[o->out].col_off = off;
                R->v[o->out].col_off_expr = a->view >= 0 ? NULL : d->b;
            } else {
                o->out = ckg_val_def(R, M, d, cols, expr, pos, s);
                if (R->v[o->out].view >= 0 && !(D->flags & CKG_F_INPLACE)) ckg_die("models/%s.h: OP(%s, %s, ...) writes into a view", F->family, d->op, d->out);
            }
            if (!(D->flags & (CKG_F_STRIDED | CKG_F_ROWWISE)) && D->shape != CKG_SHAPE_VIEW)
                for (k = 0; k < 3; k++) /* kernels without row strides need whole rows */
                    if (*val[k] >= 0 && R->v[*val[k]].view >= 0 && R->v[*val[k]].cols != R->v[R->v[*val[k]].view].cols)
                        ckg_die("models/%s.h: OP(%s, %s, ...) reads %s, a column view; %s takes whole rows", F->family, d->op, d->out, slot[k], d->op);
            if (s == CKG_FOOT && j == n - 1) R->logits = o->out;
        }
        if (s == CKG_BLOCK) R->block_end = pos;
    }
    if (R->logits < 0 || R->v[R->logits].view >= 0) ckg_die("models/%s.h: the foot must end with the op that writes the logits", F->family);
    /* values the block reads before (or without) writing them in the block live across it */
    for (j = R->block_start; j < R->block_end; j++) {
        const ckg_op *o = &R->op[j];
        int ins[3];
        ins[0] = o->a; ins[1] = o->b; ins[2] = o->c;
        for (k = 0; k < 3; k++) {
            ckg_val *v = ins[k] >= 0 ? &R->v[ins[k]] : NULL;
            if (v && v->view >= 0) v = &R->v[v->view];
            if (v && v->first >= j) ckg_die("internal: use before definition");
            if (v && (v->section != CKG_BLOCK)) {
                if (v->first > R->block_start) v->first = R->block_start;
                if (v->last < R->block_end) v->last = R->block_end;
            }
        }
    }
}

/* ---- 7. the arena plan ---------------------------------------------------------------------
   State region: rope caches | KV cache | prefill activations | decode activations, each
   section 64-byte aligned with a 64-byte canary after it. Activations of one mode share
   space when their intervals do not overlap (greedy, largest first, lowest offset that fits). */

#define CKG_ALIGN(x) (((x) + 63) & ~(uint64_t)63)
#define CKG_CANARY 64
typedef struct { char name[48]; uint64_t off, bytes; } ckg_section;
typedef struct {
    int max_ctx, max_prompt;
    int kv_f16;                 /* --kv-f16: the KV cache holds F16 values (else f32) */
    int n_rope;                 /* distinct rope caches */
    double rope_base[16];
    int rope_scaled[16];        /* the file's rope scaling applies (else plain rope of that base) */
    ck_rope_params rope_p[16];  /* each cache's parameters (freq_factors: the file's tensor) */
    const char *rope_factors;   /* name of the file's frequency-factor tensor, or NULL */
    int *layer_rope;            /* rope cache index per layer */
    uint64_t rope_off[16], rope_bytes;
    uint64_t kv_k, kv_v, kv_bytes;     /* each of K and V: n_layer * max_ctx * kv_dim values (4 or 2 bytes) */
    uint64_t act[2], act_bytes[2];     /* activation sections: prefill, decode */
    uint64_t logits, logits_bytes;     /* the last row's logits, shared by both modes */
    uint64_t state_bytes;
    ckg_section sec[8];
    int n_sec;
    uint64_t weights_bytes, layout_hash;
} ckg_plan;

static uint64_t ckg_val_bytes(const ckg_ir *R, int i, int mode, const ckg_plan *P)
{
    int rows = mode == 0 ? P->max_prompt : 1;
    if (i == R->logits) rows = 1; /* prefill writes all rows to the caller's buffer, or only the last here */
    return CKG_ALIGN((uint64_t)rows * (uint64_t)R->v[i].cols * 4);
}
static void ckg_plan_acts(ckg_ir *R, ckg_plan *P, int mode, uint64_t base)
{
    int order[CKG_MAX_VALS], n = 0, i, j, k;
    uint64_t top = 0;
    for (i = 0; i < R->n_v; i++)
        if (R->v[i].view < 0 && i != R->logits) order[n++] = i;
    for (i = 1; i < n; i++) /* largest first */
        for (j = i; j > 0 && ckg_val_bytes(R, order[j], mode, P) > ckg_val_bytes(R, order[j - 1], mode, P); j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    for (i = 0; i < n; i++) {
        ckg_val *v = &R->v[order[i]];
        uint64_t sz = ckg_val_bytes(R, order[i], mode, P), off = 0;
        int moved = 1;
        while (moved) { /* first fit: bump past every placed value that overlaps in time and space */
            moved = 0;
            for (k = 0; k < i; k++) {
                ckg_val *u = &R->v[order[k]];
                uint64_t usz = ckg_val_bytes(R, order[k], mode, P);
                if (u->last < v->first || v->last < u->first) continue;
                if (off < u->off[mode] + usz && u->off[mode] < off + sz) { off = u->off[mode] + usz; moved = 1; }
            }
        }
        v->off[mode] = off;
        if (off + sz > top) top = off + sz;
    }
    for (i = 0; i < R->n_v; i++)
        if (R->v[i].view < 0 && i != R->logits) R->v[i].off[mode] += base;
    for (i = 0; i < R->n_v; i++) /* a view shares its base's buffer; its column offset is applied at use */
        if (R->v[i].view >= 0) R->v[i].off[mode] = R->v[R->v[i].view].off[mode];
    P->act[mode] = base;
    P->act_bytes[mode] = top;
}
static void ckg_add_section(ckg_plan *P, const char *name, uint64_t off, uint64_t bytes)
{
    ckg_section *s = &P->sec[P->n_sec++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->off = off;
    s->bytes = bytes;
}
static double ckg_param(ckg_model *M, const char *name, int il, double dflt)
{
    int j;
    ckg_sym *s;
    for (j = 0; j < M->fam->n_lp; j++)
        if (!strcmp(M->fam->lp[j].name, name)) return M->lp[il * M->fam->n_lp + j];
    s = ckg_sym_find(&M->env, name, strlen(name));
    return s && s->bound ? s->value : dflt;
}

static void ckg_plan_all(ckg_model *M, ckg_ir *R, ckg_plan *P)
{
    uint64_t pos = 0, kv_dim = (uint64_t)(ckg_get(&M->env, "n_head_kv") * ckg_get(&M->env, "head_dim"));
    int il, r, n_rot = (int)ckg_get(&M->env, "n_rot");
    ck_rope_params file_p;
    int file_scaled = 0;
    if (ckg_param(M, "rope_scaling", 0, 0) != 0) { /* the declaration applies the file's rope scaling, as llama.cpp derives it */
        char err[256];
        if (ck_rope_params_from_gguf(&file_p, &P->rope_factors, &M->g, n_rot, P->max_ctx, err, sizeof err) != 0) ckg_die("%s", err);
        file_scaled = file_p.freq_scale != 1.0f || file_p.ext_factor != 0.0f || file_p.attn_factor != 1.0f || file_p.freq_factors;
    }
    P->layer_rope = (int *)calloc((size_t)M->n_layer, sizeof(int));
    for (il = 0; il < M->n_layer; il++) {
        double base = ckg_param(M, "rope_base", il, 10000);
        int scaled = file_scaled && ckg_param(M, "rope_scaled", il, 1) != 0;
        if (!isfinite(base) || base <= 1.0) ckg_die("layer %d: rope base %g must be a finite number > 1", il, base);
        for (r = 0; r < P->n_rope && !(P->rope_base[r] == base && P->rope_scaled[r] == scaled); r++) {}
        if (r == P->n_rope) {
            if (P->n_rope == 16) ckg_die("more than 16 rope bases");
            P->rope_base[r] = base;
            P->rope_scaled[r] = scaled;
            if (scaled) P->rope_p[r] = file_p;
            else ck_rope_params_init(&P->rope_p[r], CK_ROPE_SCALING_NONE, (float)base, 0.0f, 0, 1.0f, NULL);
            P->rope_p[r].freq_base = (float)base;
            P->n_rope++;
        }
        P->layer_rope[il] = r;
    }
    P->rope_bytes = CKG_ALIGN((uint64_t)P->max_ctx * (uint64_t)(n_rot / 2) * 2 * 4);
    for (r = 0; r < P->n_rope; r++) { P->rope_off[r] = pos; pos += P->rope_bytes; }
    ckg_add_section(P, "rope caches", 0, pos);
    pos += CKG_CANARY;
    P->kv_bytes = (uint64_t)M->n_layer * (uint64_t)P->max_ctx * kv_dim * (P->kv_f16 ? 2 : 4);
    P->kv_k = pos;
    P->kv_v = CKG_ALIGN(pos + P->kv_bytes);
    ckg_add_section(P, "kv cache", pos, CKG_ALIGN(P->kv_v + P->kv_bytes) - pos);
    pos = CKG_ALIGN(P->kv_v + P->kv_bytes) + CKG_CANARY;
    ckg_plan_acts(R, P, 0, pos);
    ckg_add_section(P, "prefill activations", pos, P->act_bytes[0]);
    pos += P->act_bytes[0] + CKG_CANARY;
    ckg_plan_acts(R, P, 1, pos);
    ckg_add_section(P, "decode activations", pos, P->act_bytes[1]);
    pos += CKG_ALIGN(P->act_bytes[1]) + CKG_CANARY;
    P->logits = pos;
    P->logits_bytes = CKG_ALIGN((uint64_t)R->v[R->logits].cols * 4);
    ckg_add_section(P, "logits", pos, P->logits_bytes);
    pos += P->logits_bytes + CKG_CANARY;
    P->state_bytes = pos;
}

/* ---- 8. emitting C ------------------------------------------------------------------------ */

/* a C float literal: "%.9g" plus what makes it one ("10000" -> "10000.0f") */
static const char *ckg_flt(double v)
{
    static char buf[8][48]; /* a ring: up to 8 results may be used in one call */
    static int k;
    char *b = buf[k = (k + 1) & 7];
    snprintf(b, 40, "%.9g", v);
    if (!strpbrk(b, ".eni")) strcat(b, ".0");
    strcat(b, "f");
    return b;
}

/* a file path as it may appear inside a C comment: printable ASCII only, no "*" + "/" that would
   end the comment nor "/" + "*" (a path is the only text from outside that ckgen writes into C) */
static const char *ckg_comment_path(const char *path)
{
    static char buf[512];
    size_t i, n = 0;
    for (i = 0; path[i] && n < sizeof buf - 4; i++) {
        unsigned char ch = (unsigned char)path[i];
        char c = ch < 0x20 || ch > 0x7e || (ch == '/' && n && buf[n - 1] == '*') || (ch == '*' && n && buf[n - 1] == '/') ? '?' : (char)ch;
        buf[n++] = c;
    }
    if (path[i]) { buf[n++] = '.'; buf[n++] = '.'; buf[n++] = '.'; }
    buf[n] = 0;
    return buf;
}

static const char *ckg_upper(const char *s)
{
    static char buf[4][96];
    static int k;
    char *b = buf[k = (k + 1) & 3];
    size_t i;
    for (i = 0; s[i] && i < sizeof buf[0] - 1; i++) b[i] = (char)toupper((unsigned char)s[i]);
    b[i] = 0;
    return b;
}

typedef struct {
    ckg_model *M;
    ckg_ir *R;
    ckg_plan *P;
    FILE *f;
    char name[64], NAME[64];
    const char *gguf_path;
    int n_info;                 /* entries of the weights table */
    int no_hooks;               /* emitting the logit lens: no capture hooks */
} ckg_out;

/* a declaration's expression as C over the model's constants: "n_head * head_dim" ->
   "PREFIX_N_HEAD * PREFIX_HEAD_DIM" (prefix NULL: "N_HEAD * HEAD_DIM", for comments); an
   expression with anything but names of hyperparameters, numbers and + - * / ( ) is its value */
static const char *ckg_cexpr(const ckg_out *O, const char *expr, int64_t value, int prefixed)
{
    static char buf[8][160];
    static int k;
    char *b = buf[k = (k + 1) & 7];
    const char *p = expr;
    size_t n = 0;
    int ok = expr != NULL;
    while (ok && *p) {
        if (isalpha((unsigned char)*p) || *p == '_') {
            const char *s = p;
            ckg_sym *sym;
            while (isalnum((unsigned char)*p) || *p == '_') p++;
            sym = ckg_sym_find(&O->M->env, s, (size_t)(p - s));
            if (!sym) { ok = 0; break; }
            n += (size_t)snprintf(b + n, sizeof buf[0] - n, "%s%s%s", prefixed ? O->NAME : "", prefixed ? "_" : "", ckg_upper(sym->name));
        } else if (isdigit((unsigned char)*p) || strchr("+-*/() ", *p)) {
            if (*p == ' ') { if (n && b[n - 1] != ' ') b[n++] = ' '; }
            else if (strchr("+-*/", *p)) { if (n && b[n - 1] != ' ') b[n++] = ' '; b[n++] = *p; b[n++] = ' '; }
            else b[n++] = *p;
            p++;
        } else ok = 0;
        if (n + 64 > sizeof buf[0]) ok = 0;
    }
    while (ok && n && b[n - 1] == ' ') n--;
    if (!ok) { snprintf(b, sizeof buf[0], "%lld", (long long)value); return b; }
    b[n] = 0;
    { /* "N_HEAD  *  HEAD_DIM" -> single spaces */
        char *r = b, *w = b;
        for (; *r; r++) if (!(*r == ' ' && (w == b || w[-1] == ' '))) *w++ = *r;
        *w = 0;
    }
    return b;
}

/* one C statement (or initializer), wrapped after the commas of its outermost call (braces) to stay
   within 120 columns */
static void ckg_put_stmt(FILE *f, const char *ind, const char *s)
{
    char line[1024];
    size_t len = strlen(ind), start = 0, i, n = strlen(s);
    int depth = 0, first = 1;
    if (len + n <= 120) { fprintf(f, "%s%s\n", ind, s); return; }
    snprintf(line, sizeof line, "%s", ind);
    for (i = 0; i <= n; i++) {
        if (s[i] == '(' || s[i] == '{') depth++;
        if (s[i] == ')' || s[i] == '}') depth--;
        if ((s[i] == ',' && depth == 1) || s[i] == 0) {
            size_t seg = i + (s[i] ? 1 : 0) - start;
            const char *p = s + start;
            if (!first) while (*p == ' ') { p++; seg--; }
            if (!first && strlen(line) + seg + 1 > 120) {
                fprintf(f, "%s\n", line);
                snprintf(line, sizeof line, "%s        ", ind);
            } else if (!first)
                strcat(line, " ");
            if (strlen(line) + seg < sizeof line) strncat(line, p, seg);
            start = i + 1;
            first = 0;
        }
    }
    fprintf(f, "%s\n", line);
}

/* the placeholders of one op's templates, filled in by the emitter of a mode */
#define CKG_PH(X) X(out) X(a) X(b) X(c) X(da) X(db) X(dc) X(dout) X(w) X(w2) X(wq) X(wt) X(gw) X(gw2) X(p) X(p2) \
    X(T) X(C) X(CA) X(LDO) X(LDA) X(LDB) X(LDC) X(HEADS) X(POS) X(tok) X(rope) X(st) X(st2) X(P) X(KVSTORE) X(KVATTN)
typedef struct {
#define CKG_PH_FIELD(n) char n[384];
    CKG_PH(CKG_PH_FIELD)
#undef CKG_PH_FIELD
} ckg_ctx;

/* the constant PREFIX_NAME of hyperparameter name[0, n) if the family declares it, else "0.0f" */
static const char *ckg_hp_or_zero(const ckg_out *O, const char *name, size_t n)
{
    static char hb[96];
    ckg_sym *s = ckg_sym_find(&O->M->env, name, n);
    if (s && s->bound) snprintf(hb, sizeof hb, "%s_%s", O->NAME, ckg_upper(s->name));
    else snprintf(hb, sizeof hb, "0.0f");
    return hb;
}

/* expand a template into statements (one per '\n'-separated call) */
static void ckg_expand(const ckg_out *O, const ckg_ctx *x, const char *tmpl, const char *ind)
{
    char buf[2048];
    size_t n = 0;
    const char *p = tmpl;
    for (;; p++) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            const char *v = NULL;
            size_t k = (size_t)(e - p - 1);
            if (!e) ckg_die("internal: template '%s'", tmpl);
#define CKG_PH_MATCH(nm) if (k == strlen(#nm) && !strncmp(p + 1, #nm, k)) v = x->nm;
            CKG_PH(CKG_PH_MATCH)
#undef CKG_PH_MATCH
            if (!v && k > 3 && !strncmp(p + 1, "hp?", 3)) v = ckg_hp_or_zero(O, p + 4, k - 3); /* {hp?name} */
            if (!v) ckg_die("internal: template placeholder '%.*s'", (int)k, p + 1);
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", v);
            p = e;
        } else if (*p == '\n' || !*p) {
            buf[n] = 0;
            if (n) ckg_put_stmt(O->f, ind, buf);
            n = 0;
            if (!*p) break;
        } else if (n + 1 < sizeof buf)
            buf[n++] = *p;
    }
}

/* the shape comment of a call: [rows, COLS] of the input -> of the output */
static void ckg_shape_note(const ckg_out *O, const ckg_op *o, int64_t ca, const char *ca_expr, int64_t c, const char *c_expr,
                           const char *rows, char *buf, size_t cap)
{
    if (o->desc->flags & CKG_F_TOKENS) snprintf(buf, cap, "tokens [%s] -> [%s, %s]", rows, rows, ckg_cexpr(O, c_expr, c, 0));
    else if (o->desc->shape == CKG_SHAPE_VIEW)
        snprintf(buf, cap, "columns [%s, +%s) of %s, a view: no copy", ckg_cexpr(O, o->d->b, (int64_t)o->pb, 0), ckg_cexpr(O, c_expr, c, 0), o->d->a);
    else {
        char in[96];
        snprintf(in, sizeof in, "%s", ckg_cexpr(O, ca_expr, ca, 0));
        snprintf(buf, cap, "[%s, %s] -> [%s, %s]", rows, in, rows, ckg_cexpr(O, c_expr, c, 0));
    }
}

/* heads of C columns: "PFX_N_HEAD * PFX_HEAD_DIM" -> "PFX_N_HEAD", else "(C / PFX_HEAD_DIM)" */
static void ckg_heads(const ckg_out *O, const char *C, char *buf, size_t cap)
{
    char tail[96];
    size_t n = strlen(C), k;
    snprintf(tail, sizeof tail, " * %s_HEAD_DIM", O->NAME);
    k = strlen(tail);
    if (n > k && !strcmp(C + n - k, tail) && !strpbrk(C, "+-/()")) snprintf(buf, cap, "%.*s", (int)(n - k), C);
    else snprintf(buf, cap, "(%s / %s_HEAD_DIM)", C, O->NAME);
}

/* ---- inference: the prefill and decode functions -------------------------------------------- */

/* a value's pointer expression, in a mode, as read by an op in `section`; row t of a per-row loop */
static void ckg_vptr(const ckg_out *O, int vi, int section, int mode, int rowloop, char *buf, size_t cap)
{
    const ckg_val *v = &O->R->v[vi];
    const ckg_val *base = v->view >= 0 ? &O->R->v[v->view] : v;
    const char *ld = ckg_cexpr(O, base->cols_expr, base->cols, 1);
    char b[160];
    if (vi == O->R->logits) snprintf(b, sizeof b, "logits");
    else if (v->view >= 0 && v->col_off == 0) snprintf(b, sizeof b, "%s", base->name);
    else if (v->view >= 0) snprintf(b, sizeof b, "(%s + %s)", base->name, ckg_cexpr(O, v->col_off_expr, v->col_off, 1));
    else snprintf(b, sizeof b, "%s", v->name);
    if (section == CKG_FOOT && base->section != CKG_FOOT && mode == 0)
        snprintf(buf, cap, "(%s + (size_t)(T - n_out) * %s)", b, ld);
    else if (rowloop)
        snprintf(buf, cap, "(%s + (size_t)t * %s)", b, ld);
    else
        snprintf(buf, cap, "%s", b);
}
static const char *ckg_ldexpr(const ckg_out *O, const ckg_val *vals, int vi)
{
    const ckg_val *v = &vals[vi];
    if (v->view >= 0) v = &vals[v->view];
    return ckg_cexpr(O, v->cols_expr, v->cols, 1);
}
/* a weight's pointer expression; layer weights come from the layer table L */
static void ckg_wptr(const ckg_out *O, const char *w, int section, int as_float, char *buf, size_t cap)
{
    const ckg_weight *x = w ? ckg_find_weight(O->M, w, section == CKG_BLOCK ? 0 : -1) : NULL;
    if (!x || !x->t) { snprintf(buf, cap, "NULL"); return; }
    if (section == CKG_BLOCK) { snprintf(buf, cap, "%s(m, L->%s)", as_float ? "CK_WREF_F" : "CK_WREF", w); return; }
    snprintf(buf, cap, "%s(m, %s_W_%s)", as_float ? "CK_WF" : "CK_WP", O->NAME, ckg_upper(w));
}
/* the type of a weight: a constant if every layer agrees, else the layer table's */
/* May ck_model_repack rewrite tensor t? Matmuls read it (as their weight, under any name), and
   nothing else but an embedding lookup (a tied output matrix is also the embedding table:
   ck_embedding_forward_q reads rows out of the repacked layouts), and its rows come in groups of
   16, as the repacked layouts need. A table only embeddings read stays as it is (nothing gained). */
static int ckg_repackable_tensor(const ckg_model *M, const ckg_ir *R, const ck_gguf_tensor *t)
{
    int k, il, s, mm = 0;
    if (!t || t->n_dims < 2 || t->ne[1] % 16) return 0;
    for (k = 0; k < R->n_op; k++) {
        const ckg_op *o = &R->op[k];
        for (s = 0; s < 2; s++) {
            const char *slot = s ? o->wc : o->wb;
            for (il = 0; slot && il < (o->section == CKG_BLOCK ? M->n_layer : 1); il++) {
                const ckg_weight *x = ckg_find_weight(M, slot, o->section == CKG_BLOCK ? il : -1);
                if (!x || x->t != t) continue;
                if ((o->desc != &ckg_op_matmul && o->desc != &ckg_op_embedding) || s) return 0;
                mm |= o->desc == &ckg_op_matmul;
            }
        }
    }
    return mm;
}

/* A matmul's (or tied embedding's) weight (every layer's tensor for a block weight) whose calls take CK_WTYPE(m, type):
   repackable, and of a type with a repacked layout (in some layer) */
static int ckg_repackable(const ckg_out *O, const char *w, int section)
{
    int il, any = 0;
    for (il = 0; il < (section == CKG_BLOCK ? O->M->n_layer : 1); il++) {
        const ckg_weight *x = ckg_find_weight(O->M, w, section == CKG_BLOCK ? il : -1);
        if (!x || !x->t || !ckg_repackable_tensor(O->M, O->R, x->t)) return 0;
        any |= ck_repack_layout((int)x->t->type) != (int)x->t->type;
    }
    return any;
}

static void ckg_wtype(const ckg_out *O, const char *w, int section, char *buf, size_t cap)
{
    const ckg_weight *x = ckg_find_weight(O->M, w, section == CKG_BLOCK ? 0 : -1);
    int il, same = 1;
    for (il = 1; section == CKG_BLOCK && il < O->M->n_layer; il++) {
        const ckg_weight *y = ckg_find_weight(O->M, w, il);
        if (!y || !y->t || y->t->type != x->t->type) same = 0;
    }
    if (same) snprintf(buf, cap, "CK_%s", ckg_upper(ck_type_name((int)x->t->type)));
    else snprintf(buf, cap, "L->%s.type", w);
}
/* does any value the op touches live in a wider row (a column view)? */
static int ckg_strided(const ckg_val *vals, const int *idx, int n)
{
    int k;
    for (k = 0; k < n; k++)
        if (idx[k] >= 0 && vals[idx[k]].view >= 0 && vals[idx[k]].cols != vals[vals[idx[k]].view].cols) return 1;
    return 0;
}

/* after a matmul: the LoRA adapter's update of its weight, if one is loaded (m->lora; a pointer
   test per matmul without one). x: the matmul's placeholders. */
static void ckg_emit_lora_hook(ckg_out *O, const ckg_op *o, const ckg_ctx *x, const char *ind)
{
    char off[160], call[2560];
    if (o->section == CKG_BLOCK) snprintf(off, sizeof off, "L->%s.off", o->wb);
    else snprintf(off, sizeof off, "%s_W_%s", O->NAME, ckg_upper(o->wb));
    snprintf(call, sizeof call, "if (m->lora) ck_lora_apply(m->lora, %s, %s, %s, %s, %s, %s);", x->out, x->a, off, x->T, x->CA, x->C);
    ckg_put_stmt(O->f, ind, call);
}

/* after an op: the capture hook, if one is set (m->capture: run --dump, --logit-lens, --profile,
   ck check). A pointer test per op of a prefill, as the LoRA hook, rather than a CK_CAPTURE build:
   `ck check` and `run --dump` then use the very program `ck run` built (the one whose numbers are
   in question), and the test costs nothing beside an op's kernel. Decode's hook is CK_DECODE_HOOK,
   which only a CK_PROFILE build compiles in (firmware decodes without it). Views have no call and
   no hook. The foot of a prefill computes the last n_out rows: positions pos0 + T - n_out on. */
static void ckg_emit_capture_hook(ckg_out *O, const ckg_op *o, const ckg_ctx *x, int mode, const char *ind)
{
    char out[160], call[2560];
    int foot = o->section == CKG_FOOT;
    if (o->desc->shape == CKG_SHAPE_VIEW || O->no_hooks) return;
    ckg_vptr(O, o->out, o->section, mode, 0, out, sizeof out); /* the first row, also for a per-row loop */
    if (mode)
        snprintf(call, sizeof call, "CK_DECODE_HOOK(m, %d, %s, %s, pos, %s, %s);", (int)(o - O->R->op), o->section == CKG_BLOCK ? "l" : "-1",
                 out, x->C, x->LDO);
    else
        snprintf(call, sizeof call, "if (m->capture) m->capture(m->capture_ctx, %d, %s, %s, %s, %s, %s, %s);", (int)(o - O->R->op),
                 o->section == CKG_BLOCK ? "l" : "-1", out, foot ? "pos0 + T - n_out" : "pos0", foot ? "n_out" : "T", x->C, x->LDO);
    ckg_put_stmt(O->f, ind, call);
}

/* emit one op's call; with xo, only its comment: the caller emits the call from *xo */
static void ckg_emit_op(ckg_out *O, const ckg_op *o, int mode, ckg_ctx *xo)
{
    const ckg_opdesc *D = o->desc;
    const ckg_val *V = O->R->v;
    const char *ind = o->section == CKG_BLOCK ? "        " : "    ";
    const char *rows = o->section == CKG_FOOT ? (mode ? "1" : "n_out") : (mode ? "1" : "T");
    const char *tmpl = D->infer ? D->infer : D->fwd;
    int idx[4], rowloop;
    char note[256];
    ckg_ctx x;
    memset(&x, 0, sizeof x);
    idx[0] = o->out; idx[1] = o->a; idx[2] = o->b; idx[3] = o->c;
    rowloop = (D->flags & CKG_F_ROWWISE) && ckg_strided(V, idx, 4) && strcmp(rows, "1"); /* one row is contiguous */
    snprintf(x.P, sizeof x.P, "%s", O->NAME);
    snprintf(x.T, sizeof x.T, "%s", rowloop ? "1" : rows);
    snprintf(x.POS, sizeof x.POS, "%s", mode ? "pos" : "pos0");
    snprintf(x.tok, sizeof x.tok, "tokens");
    snprintf(x.rope, sizeof x.rope, "CK_F(m, L->rope)");
    snprintf(x.st, sizeof x.st, "NULL");
    snprintf(x.st2, sizeof x.st2, "NULL");
    snprintf(x.KVSTORE, sizeof x.KVSTORE, "%s", O->P->kv_f16 ? "ck_copy_rows_f16" : "ck_copy_rows");
    snprintf(x.KVATTN, sizeof x.KVATTN, "%s", O->P->kv_f16 ? "ck_attention_forward_tm_f16kv" : "ck_attention_forward_tm");
    if (o->out >= 0) {
        ckg_vptr(O, o->out, o->section, mode, rowloop, x.out, sizeof x.out);
        snprintf(x.C, sizeof x.C, "%s", ckg_cexpr(O, V[o->out].cols_expr, V[o->out].cols, 1));
        snprintf(x.LDO, sizeof x.LDO, "%s", ckg_ldexpr(O, V, o->out));
        ckg_heads(O, x.C, x.HEADS, sizeof x.HEADS);
    }
    if (o->a >= 0) {
        ckg_vptr(O, o->a, o->section, mode, rowloop, x.a, sizeof x.a);
        snprintf(x.CA, sizeof x.CA, "%s", ckg_cexpr(O, V[o->a].cols_expr, V[o->a].cols, 1));
        snprintf(x.LDA, sizeof x.LDA, "%s", ckg_ldexpr(O, V, o->a));
    }
    if (o->b >= 0) { ckg_vptr(O, o->b, o->section, mode, rowloop, x.b, sizeof x.b); snprintf(x.LDB, sizeof x.LDB, "%s", ckg_ldexpr(O, V, o->b)); }
    if (o->c >= 0) { ckg_vptr(O, o->c, o->section, mode, rowloop, x.c, sizeof x.c); snprintf(x.LDC, sizeof x.LDC, "%s", ckg_ldexpr(O, V, o->c)); }
    ckg_wptr(O, o->wb, o->section, 1, x.w, sizeof x.w);
    ckg_wptr(O, o->wc, o->section, 1, x.w2, sizeof x.w2);
    ckg_wptr(O, o->wb, o->section, 0, x.wq, sizeof x.wq);
    if (o->wb) {
        ckg_wtype(O, o->wb, o->section, x.wt, sizeof x.wt);
        if (D->infer_q && strcmp(x.wt, "CK_F32")) tmpl = D->infer_q;
        if ((D == &ckg_op_matmul || D == &ckg_op_embedding) && ckg_repackable(O, o->wb, o->section)) { /* ck_model_repack may have rewritten it */
            char t[sizeof x.wt];
            tmpl = D->infer_q; /* (an F32 weight too: CK_F32_X16) */
            snprintf(t, sizeof t, "%s", x.wt);
            snprintf(x.wt, sizeof x.wt, "CK_WTYPE(m, %.*s)", (int)sizeof x.wt - 16, t);
        }
    }
    if (D->params & CKG_B) snprintf(x.p, sizeof x.p, "%s", ckg_cexpr(O, o->d->b, (int64_t)o->pb, 1));
    if (D->params & CKG_C) snprintf(x.p2, sizeof x.p2, "%s", ckg_cexpr(O, o->d->c, (int64_t)o->pc, 1));
    if (o->a >= 0)
        ckg_shape_note(O, o, V[o->a].cols, V[o->a].cols_expr, V[o->out].cols, V[o->out].cols_expr, mode ? "1" : rows, note, sizeof note);
    else
        ckg_shape_note(O, o, 0, NULL, V[o->out].cols, V[o->out].cols_expr, mode ? "1" : rows, note, sizeof note);
    fprintf(O->f, "%s/* OP(%s, %s, %s, %s, %s): %s */\n", ind, o->d->op, o->d->out, o->d->a, o->d->b, o->d->c, note);
    if (xo) { *xo = x; return; }
    if (rowloop) {
        char ind2[32];
        fprintf(O->f, "%sfor (t = 0; t < %s; t++) { /* per row: %s reads a column view */\n", ind, rows, o->d->op);
        snprintf(ind2, sizeof ind2, "%s    ", ind);
        ckg_expand(O, &x, tmpl, ind2);
        fprintf(O->f, "%s}\n", ind);
    } else
        ckg_expand(O, &x, tmpl, ind);
    if (D == &ckg_op_matmul) ckg_emit_lora_hook(O, o, &x, ind);
    ckg_emit_capture_hook(O, o, &x, mode, ind);
}

/* Matmuls that read the same input one after another (q, k, v; gate, up) run as one call,
   ck_matmul_forward_q_multi: one pass of the threads over the input instead of one per matrix
   (the same results bit for bit). How many ops from op i on form such a group (1: none). */
#define CKG_MAX_GROUP 4
static int ckg_matmul_group(const ckg_ir *R, int i)
{
    const ckg_op *o = &R->op[i];
    int n = 1, k;
    if (o->desc != &ckg_op_matmul || o->section != CKG_BLOCK || o->out == o->a) return 1;
    while (i + n < R->n_op && n < CKG_MAX_GROUP) {
        const ckg_op *p = &R->op[i + n];
        if (p->desc != &ckg_op_matmul || p->section != o->section || p->a != o->a || p->out == o->a) break;
        for (k = 0; k < n; k++) /* no member reads or writes another's output */
            if (R->op[i + k].out == p->out || R->op[i + k].out == p->a) break;
        if (k < n) break;
        n++;
    }
    return n;
}

static void ckg_emit_matmul_group(ckg_out *O, const ckg_op *ops, int n, int mode)
{
    ckg_ctx x[CKG_MAX_GROUP];
    const char *ind = "        ";
    int k;
    for (k = 0; k < n; k++) ckg_emit_op(O, &ops[k], mode, &x[k]);
    fprintf(O->f, "%s{ /* the %d matmuls above in one pass over %s */\n%s    const ck_qmatmul mm[%d] = {\n", ind, n, x[0].a, ind, n);
    for (k = 0; k < n; k++)
        fprintf(O->f, "%s        { %s, %s, %s, %s, %s },\n", ind, x[k].wt, x[k].out, x[k].wq, x[k].w2, x[k].C);
    fprintf(O->f, "%s    };\n%s    ck_matmul_forward_q_multi(mm, %d, %s, %s, %s);\n", ind, ind, n, x[0].a, x[0].T, x[0].CA);
    for (k = 0; k < n; k++) ckg_emit_lora_hook(O, &ops[k], &x[k], "            ");
    for (k = 0; k < n; k++) ckg_emit_capture_hook(O, &ops[k], &x[k], mode, "            ");
    fprintf(O->f, "%s}\n", ind);
}

/* which values of a mode share bytes with value i (lifetimes that do not overlap) */
static void ckg_sharers(const ckg_ir *R, const ckg_plan *P, int i, int mode, char *buf, size_t cap)
{
    int j;
    size_t n = 0;
    uint64_t a0 = R->v[i].off[mode], a1 = a0 + ckg_val_bytes(R, i, mode, P);
    buf[0] = 0;
    for (j = 0; j < R->n_v; j++) {
        uint64_t b0 = R->v[j].off[mode], b1 = b0 + ckg_val_bytes(R, j, mode, P);
        if (j == i || R->v[j].view >= 0 || j == R->logits || b1 <= a0 || a1 <= b0) continue;
        n += (size_t)snprintf(buf + n, cap > n ? cap - n : 0, "%s%s", n ? ", " : "; shares bytes with ", R->v[j].name);
    }
}

static void ckg_emit_forward(ckg_out *O, int mode)
{
    FILE *f = O->f;
    ckg_ir *R = O->R;
    const char *N = O->NAME, *n = O->name;
    const char *KT = O->P->kv_f16 ? "uint16_t" : "float", *KC = O->P->kv_f16 ? "(uint16_t *)" : ""; /* KV cache type, cast */
    int i, s, rowloop = 0;
    if (mode == 0)
        fprintf(f, "/* Prefill T tokens (1 <= T <= %s_MAX_PROMPT) at positions pos0..pos0+T-1 (pos0 + T <= %s_MAX_CTX).\n"
                   "   all_logits: NULL (the last row's logits go to %s_logits(m)) or a buffer [T, %s_N_VOCAB]. */\n"
                   "static void %s_prefill(ck_model *m, const int32_t *tokens, int T, int pos0, float *all_logits)\n{\n",
                N, N, n, N, n);
    else
        fprintf(f, "/* One decode step, run by %s_decode below. */\n"
                   "static void %s_decode_step(ck_model *m, int32_t token, int pos)\n{\n", n, n);
    fprintf(f, "    /* activations: offsets in the state region; buffers whose lifetimes do not overlap share bytes */\n");
    for (i = 0; i < R->n_v; i++) {
        char share[256];
        if (R->v[i].view >= 0 || i == R->logits) continue;
        ckg_sharers(R, O->P, i, mode, share, sizeof share);
        fprintf(f, "    float *%s = CK_F(m, %s_S_%c_%s); /* [%s, %s]%s */\n", R->v[i].name, N, mode ? 'D' : 'P', ckg_upper(R->v[i].name),
                mode ? "1" : "T", ckg_cexpr(O, R->v[i].cols_expr, R->v[i].cols, 0), share);
    }
    if (mode == 0) fprintf(f, "    float *logits = all_logits ? all_logits : %s_logits(m);\n    const int n_out = all_logits ? T : 1;\n", n);
    else fprintf(f, "    const int32_t *tokens = &token;\n    float *logits = %s_logits(m);\n", n);
    for (i = 0; i < R->n_op; i++) {
        const ckg_op *o = &R->op[i];
        int idx[4];
        idx[0] = o->out; idx[1] = o->a; idx[2] = o->b; idx[3] = o->c;
        if ((o->desc->flags & CKG_F_ROWWISE) && ckg_strided(R->v, idx, 4) && mode == 0) rowloop = 1;
    }
    fprintf(f, "    int l%s;\n", rowloop ? ", t" : "");
    for (s = 0; s < 3; s++) {
        fprintf(f, s == CKG_HEAD ? "    /* head */\n" : s == CKG_BLOCK ? "    for (l = 0; l < %s_N_LAYER; l++) {\n" : "    }\n    /* foot%s */\n",
                s == CKG_BLOCK ? N : mode ? "" : ": the last n_out rows");
        if (s == CKG_BLOCK)
            fprintf(f, "        const %s_layer *L = &%s_layers[l];\n"
                       "        %s *kc = %sCK_F(m, %s_S_KV_K) + (size_t)l * %s_MAX_CTX * %s_KV_DIM; /* this layer's KV cache%s */\n"
                       "        %s *vc = %sCK_F(m, %s_S_KV_V) + (size_t)l * %s_MAX_CTX * %s_KV_DIM;\n", n, n,
                    KT, KC, N, N, N, O->P->kv_f16 ? ", F16" : "", KT, KC, N, N, N);
        for (i = 0; i < R->n_op; i++)
            if (R->op[i].section == s) {
                int n = ckg_matmul_group(R, i);
                if (n > 1) ckg_emit_matmul_group(O, &R->op[i], n, mode);
                else ckg_emit_op(O, &R->op[i], mode, NULL);
                i += n - 1;
            }
    }
    fprintf(f, "}\n\n");
    if (mode == 1)
        fprintf(f, "typedef struct { ck_model *m; int32_t token; int pos; } %s_decode_args;\n"
                   "static void %s_decode_run(void *p)\n{\n"
                   "    const %s_decode_args *a = (const %s_decode_args *)p;\n"
                   "    %s_decode_step(a->m, a->token, a->pos);\n}\n\n"
                   "/* Decode one token at position pos (< %s_MAX_CTX); its logits go to %s_logits(m). The step runs in one\n"
                   "   parallel region (ck_parallel_run): its matmuls and attention hand work to the waiting threads. */\n"
                   "static void %s_decode(ck_model *m, int32_t token, int pos)\n{\n"
                   "    %s_decode_args a;\n"
                   "    a.m = m;\n    a.token = token;\n    a.pos = pos;\n"
                   "    ck_parallel_run(%s_decode_run, &a);\n}\n\n",
                n, n, n, n, n, N, n, n, n, n);
}

/* the block op whose output is the residual stream after a layer: the last one to write the value
   the foot reads first (x after the second add), or -1 */
static int ckg_residual_op(const ckg_ir *R, int *foot0)
{
    int i, res = -1, op = -1;
    for (i = 0; i < R->n_op && R->op[i].section != CKG_FOOT; i++) {}
    *foot0 = i;
    if (i < R->n_op) res = R->op[i].a;
    for (i = 0; i < R->n_op && res >= 0; i++)
        if (R->op[i].section == CKG_BLOCK && R->op[i].out == res) op = i;
    return op;
}

/* bytes of a weight of layer il (-1: global) in slot w of an op, 0 when absent */
static uint64_t ckg_weight_bytes(const ckg_out *O, const char *w, int il)
{
    const ckg_weight *x = w ? ckg_find_weight(O->M, w, il) : NULL;
    return x && x->t ? (uint64_t)ck_row_size((int)x->t->type, x->ne0) * (uint64_t)x->ne1 : 0;
}

/* what op o costs, as ck_op_cost (ckernel.h) counts it: FLOPs and bytes per row and per attended
   key; *wbytes gets layer il's weights (-1: the head's or foot's) */
static ck_op_cost ckg_op_cost(const ckg_out *O, const ckg_op *o, int il, uint64_t *wbytes)
{
    const ckg_val *V = O->R->v;
    const ckg_opdesc *D = o->desc;
    ck_op_cost c;
    int64_t cols = V[o->out].cols, kv_row = 0;
    int k, kvb = O->P->kv_f16 ? 2 : 4;
    int idx[3];
    memset(&c, 0, sizeof c);
    c.call = (int32_t)(o - O->R->op);
    *wbytes = 0;
    if (D->shape == CKG_SHAPE_VIEW) return c;
    idx[0] = o->a; idx[1] = o->b; idx[2] = o->c;
    c.bytes_row = 4 * cols; /* the output row */
    for (k = 0; k < 3; k++) /* the input rows (a view reads its own columns) */
        if (idx[k] >= 0 && (D->values & (1u << k))) c.bytes_row += 4 * V[idx[k]].cols;
    c.flops_row = (int64_t)D->flops * cols;
    if (D->flags & CKG_F_TOKENS) { /* embedding: a token id and one row of the table (and of the positions) per row */
        const ckg_weight *w = ckg_find_weight(O->M, o->wb, -1);
        c.bytes_row += 4 + (w && w->t ? (int64_t)ck_row_size((int)w->t->type, w->ne0) : 0) + (o->wc ? 4 * cols : 0);
        return c;
    }
    if (D->shape == CKG_SHAPE_W_NE1) c.flops_row = (int64_t)D->flops * V[o->a].cols * cols + (o->wc ? cols : 0); /* + the bias */
    if (D->flags & CKG_F_KV) { /* attention: stores each row's K and V, reads the cached ones of the keys it sees */
        kv_row = (int64_t)ckg_get(&O->M->env, "n_head_kv") * (int64_t)ckg_get(&O->M->env, "head_dim");
        c.bytes_row += 2 * kv_row * kvb;
        c.bytes_key = 2 * kv_row * kvb;
        c.flops_row = 0;
        c.flops_key = (int64_t)D->flops * (int64_t)ckg_get(&O->M->env, "n_head") * (int64_t)ckg_get(&O->M->env, "head_dim");
    }
    *wbytes = ckg_weight_bytes(O, o->wb, il) + ckg_weight_bytes(O, o->wc, il);
    return c;
}

/* the cost tables (run --profile): one ck_op_cost per op, and each op's weight bytes per layer */
static void ckg_emit_costs(ckg_out *O)
{
    const ckg_ir *R = O->R;
    FILE *f = O->f;
    const char *N = O->NAME, *n = O->name;
    uint64_t wb;
    int i, il, g;
    fprintf(f, "/* what each op costs (run --profile; ck_op_cost in ckernel.h says how it is counted):\n"
               "   FLOPs and bytes per row, per attended key; call: the op whose call does the work */\n"
               "static const ck_op_cost %s_op_costs[%d] = {\n", n, R->n_op);
    for (i = 0; i < R->n_op; i += g) {
        int k;
        g = R->op[i].section == CKG_BLOCK ? ckg_matmul_group(R, i) : 1;
        for (k = i; k < i + g; k++) {
            ck_op_cost c = ckg_op_cost(O, &R->op[k], R->op[k].section == CKG_BLOCK ? 0 : -1, &wb);
            fprintf(f, "    { %lld, %lld, %lld, %lld, %d }, /* %s %s */\n", (long long)c.flops_row, (long long)c.flops_key,
                    (long long)c.bytes_row, (long long)c.bytes_key, i, R->op[k].d->op, R->op[k].d->out);
        }
    }
    fprintf(f, "};\n/* bytes of each op's weights: row 0 the head's and foot's ops, row 1 + l layer l's */\n"
               "static const uint64_t %s_op_wbytes[%s_N_LAYER + 1][%d] = {\n", n, N, R->n_op);
    for (il = -1; il < O->M->n_layer; il++) {
        char row[8192];
        size_t k = 0;
        for (i = 0; i < R->n_op && k < sizeof row - 32; i++) {
            uint64_t b = 0;
            if ((R->op[i].section == CKG_BLOCK) == (il >= 0)) ckg_op_cost(O, &R->op[i], il, &b);
            k += (size_t)snprintf(row + k, sizeof row - k, "%s%llu", i ? ", " : "{ ", (unsigned long long)b);
        }
        if (il < 0) fprintf(f, "    /* head, foot */\n");
        else fprintf(f, "    /* blk.%d */\n", il);
        snprintf(row + k, sizeof row - k, " },");
        ckg_put_stmt(f, "    ", row);
    }
    fprintf(f, "};\n\n");
}

/* the generic names run --profile and --dump-attn use: the cost tables, the layer table, the
   attention's shape and parameters, and where its queries are: the op after whose capture hook they
   are in the output (post-rope, as attention reads them) and at which column */
static void ckg_emit_attn_names(ckg_out *O)
{
    const ckg_ir *R = O->R;
    const ckg_val *V = R->v;
    FILE *f = O->f;
    const char *N = O->NAME, *n = O->name;
    int i, att = -1, q_op = -1, val;
    int64_t q_col = 0;
    for (i = 0; i < R->n_op; i++)
        if (R->op[i].section == CKG_BLOCK && (R->op[i].desc->flags & CKG_F_KV)) att = i;
    if (att >= 0) {
        val = R->op[att].a;
        if (V[val].view >= 0) {
            for (i = att - 1; i >= 0 && R->op[i].section == CKG_BLOCK && q_op < 0; i--) /* rope on the view itself */
                if (R->op[i].out == val && R->op[i].desc->shape != CKG_SHAPE_VIEW) q_op = i;
            if (q_op < 0) { q_col = V[val].col_off; val = V[val].view; }
        }
        for (i = att - 1; i >= 0 && R->op[i].section == CKG_BLOCK && q_op < 0; i--)
            if (R->op[i].out == val && R->op[i].desc->shape != CKG_SHAPE_VIEW) q_op = i;
    }
    fprintf(f, "#define CKM_OP_COSTS %s_op_costs\n#define CKM_OP_WBYTES %s_op_wbytes\n#define CKM_LAYERS %s_layers\n", n, n, n);
    fprintf(f, "#define CKM_ATTN_OP %d /* the block's attention op; its queries: op %d's output from column %lld */\n"
               "#define CKM_ATTN_Q_OP %d\n#define CKM_ATTN_Q_COL %lld\n", att, q_op, (long long)q_col, q_op, (long long)q_col);
    if (att >= 0)
        fprintf(f, "#define CKM_N_HEAD %s_N_HEAD\n#define CKM_N_HEAD_KV %s_N_HEAD_KV\n#define CKM_HEAD_DIM %s_HEAD_DIM\n#define CKM_KV_DIM %s_KV_DIM\n"
                   "#define CKM_KV_F16 %s_KV_F16\n#define CKM_S_KV_K %s_S_KV_K\n#define CKM_ATTN_SCALE %s_ATTN_SCALE\n#define CKM_ATTN_SOFTCAP %s\n",
                N, N, N, N, N, N, N, ckg_hp_or_zero(O, "attn_softcap", strlen("attn_softcap")));
}

/* the op table (ck_op_info, what a capture hook's op index means) and the logit lens: the foot
   ops in decode form on one row of the residual stream, written to the decode buffers */
static void ckg_emit_ops_and_lens(ckg_out *O)
{
    ckg_ir *R = O->R;
    FILE *f = O->f;
    const char *N = O->NAME, *n = O->name;
    int i, k, foot0, res_op = ckg_residual_op(R, &foot0), res = foot0 < R->n_op ? R->op[foot0].a : -1;
    char *used = (char *)calloc((size_t)R->n_v + 1, 1);
    static const char *sec[3] = { "head", "block", "foot" };
    if (!used) ckg_die("out of memory");
    fprintf(f, "/* the ops in DSL order: OP(op, out, a, b, c), section (0 head, 1 block, 2 foot), output columns;\n"
               "   a capture hook's op index is a row of this table */\nstatic const ck_op_info %s_ops[%d] = {\n", n, R->n_op);
    for (i = 0; i < R->n_op; i++) {
        const ckg_op *o = &R->op[i];
        fprintf(f, "    { \"%s\", \"%s\", \"%s\", \"%s\", \"%s\", %d, %lld }, /* %s */\n", o->d->op, o->d->out, o->d->a, o->d->b, o->d->c,
                o->section, (long long)R->v[o->out].cols, sec[o->section]);
    }
    fprintf(f, "};\n#define %s_N_OPS %d\n#define %s_RESIDUAL_OP %d /* the residual stream after each layer (logit lens) */\n\n", N, R->n_op,
            N, res_op);
    for (i = foot0; i < R->n_op; i++) {
        int idx[4];
        idx[0] = R->op[i].out; idx[1] = R->op[i].a; idx[2] = R->op[i].b; idx[3] = R->op[i].c;
        for (k = 0; k < 4; k++)
            if (idx[k] >= 0 && idx[k] != R->logits) used[R->v[idx[k]].view >= 0 ? R->v[idx[k]].view : idx[k]] = 1;
    }
    fprintf(f, "/* logit lens (run --logit-lens): the foot on one row of the residual stream, resid [%lld],\n"
               "   into %s_logits(m); it uses the decode buffers (call it between a prefill and a decode, not during one) */\n"
               "static inline void %s_lens(ck_model *m, const float *resid)\n{\n", res >= 0 ? (long long)R->v[res].cols : 0LL, n, n);
    for (i = 0; i < R->n_v; i++)
        if (used[i]) fprintf(f, "    float *%s = CK_F(m, %s_S_D_%s);\n", R->v[i].name, N, ckg_upper(R->v[i].name));
    fprintf(f, "    float *logits = %s_logits(m);\n", n);
    if (res >= 0) /* a loop, not memcpy: the header may be compiled without <string.h> (CK_IMPLEMENTATION_DONE) */
        fprintf(f, "    int col;\n    for (col = 0; col < %s; col++) %s[col] = resid[col];\n", ckg_cexpr(O, R->v[res].cols_expr, R->v[res].cols, 1), R->v[res].name);
    O->no_hooks = 1; /* the lens is not a decode step */
    for (i = foot0; i < R->n_op; i++) ckg_emit_op(O, &R->op[i], 1, NULL);
    O->no_hooks = 0;
    fprintf(f, "}\n\n");
    free(used);
    ckg_emit_costs(O);
}

/* the distinct tensors the model uses, in file order (a tied weight appears once) */
static int ckg_used_tensors(const ckg_model *M, const ck_gguf_tensor **out)
{
    uint64_t i;
    int n = 0, j;
    for (i = 0; i < M->g.n_tensors; i++)
        for (j = 0; j < M->n_w; j++)
            if (M->w[j].t == &M->g.tensors[i]) { out[n++] = &M->g.tensors[i]; break; }
    return n;
}

static void ckg_fill_info(const ckg_model *M, ck_weight_info *info, const ck_gguf_tensor **ts, int n, uint64_t *bytes)
{
    int i;
    *bytes = 0;
    for (i = 0; i < n; i++) {
        info[i].name = ckg_tensor_name(ts[i]);
        info[i].name = strdup(info[i].name);
        info[i].type = (int32_t)ts[i]->type;
        info[i].ne0 = ts[i]->ne[0];
        info[i].ne1 = ts[i]->ne[1];
        info[i].off = ts[i]->offset;
        info[i].bytes = ts[i]->n_bytes;
        if (ts[i]->offset + ts[i]->n_bytes > *bytes) *bytes = ts[i]->offset + ts[i]->n_bytes;
    }
    (void)M;
}

/* each rope cache's parameters as a table (the file's frequency factors copied into the program) */
static void ckg_emit_rope_params(ckg_out *O)
{
    const ckg_plan *P = O->P;
    FILE *f = O->f;
    int r, i, half = (int)ckg_get(&O->M->env, "n_rot") / 2;
    const float *ff = NULL;
    char line[4096];
    for (r = 0; r < P->n_rope; r++) if (P->rope_p[r].freq_factors) ff = P->rope_p[r].freq_factors;
    if (ff) {
        fprintf(f, "/* %s from the file: divisors of the rope pairs' frequencies */\nstatic const float %s_rope_factors[%d] = {\n", P->rope_factors,
                O->name, half);
        for (i = 0; i < half; i += 8) {
            size_t k = 0;
            int j;
            for (j = i; j < half && j < i + 8; j++) k += (size_t)snprintf(line + k, sizeof line - k, "%s%s", j > i ? ", " : "", ckg_flt(ff[j]));
            fprintf(f, "    %s%s\n", line, i + 8 < half ? "," : "");
        }
        fprintf(f, "};\n");
    }
    fprintf(f, "/* rope caches: base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow, n_ctx_orig, factors\n"
               "   (ck_rope_params: the file's rope scaling as llama.cpp derives it, or plain rope) */\n");
    fprintf(f, "static const ck_rope_params %s_rope_params[%d] = {\n", O->name, P->n_rope);
    for (r = 0; r < P->n_rope; r++) {
        const ck_rope_params *p = &P->rope_p[r];
        char fac[96];
        snprintf(fac, sizeof fac, "%s%s", p->freq_factors ? O->name : "NULL", p->freq_factors ? "_rope_factors" : "");
        fprintf(f, "    { %s, %s, %s, %s, %s, %s, %d, %s },%s\n", ckg_flt(p->freq_base), ckg_flt(p->freq_scale), ckg_flt(p->ext_factor),
                ckg_flt(p->attn_factor), ckg_flt(p->beta_fast), ckg_flt(p->beta_slow), p->n_ctx_orig, fac, P->rope_scaled[r] ? " /* scaled */" : "");
    }
    fprintf(f, "};\n\n");
}

/* does a matmul (of any layer) read the tensor of this name? */
static int ckg_matmul_reads(const ckg_model *M, const ckg_ir *R, const char *tensor)
{
    int k, il;
    for (k = 0; k < R->n_op; k++) {
        const ckg_op *o = &R->op[k];
        int n_layer = o->section == CKG_BLOCK ? M->n_layer : 1;
        for (il = 0; o->desc == &ckg_op_matmul && il < n_layer; il++) {
            const ckg_weight *x = ckg_find_weight(M, o->wb, o->section == CKG_BLOCK ? il : -1);
            if (x && x->t && !strcmp(ckg_tensor_name(x->t), tensor)) return 1;
        }
    }
    return 0;
}

/* CKM_REPACK: the tensors whose calls take CK_WTYPE (ckg_repackable) and have a repacked layout,
   as rows of the weights table, for ck_model_repack */
static void ckg_emit_repack(ckg_out *O, const ck_weight_info *info, int n_info)
{
    FILE *f = O->f;
    int i, j, n = 0;
    char *pick = (char *)calloc((size_t)n_info + 1, 1);
    if (!pick) ckg_die("out of memory");
    for (j = 0; j < O->M->n_w; j++) {
        const ckg_weight *w = &O->M->w[j];
        if (!w->t || ck_repack_layout((int)w->t->type) == (int)w->t->type || !ckg_repackable(O, w->decl->name, w->layer >= 0 ? CKG_BLOCK : CKG_HEAD))
            continue;
        for (i = 0; i < n_info; i++)
            if (!strcmp(info[i].name, ckg_tensor_name(w->t))) pick[i] = 1;
    }
    for (i = 0; i < n_info; i++) n += pick[i];
    fprintf(f, "#ifndef CK_NO_STDIO\n/* the weights (rows of %s_weights) only matmuls (and a tied embedding) read, in groups of 16 rows: ck_model_repack rewrites them in place\n"
               "   into the layouts this build's kernels read fastest, if it has any (ck_repack_type); their calls take CK_WTYPE */\n"
               "static const int %s_repack_ids[%d] = {", O->name, O->name, n ? n : 1);
    for (i = 0, j = 0; i < n_info; i++)
        if (pick[i]) fprintf(f, "%s%s%d", j ? "," : "", j % 16 ? " " : "\n    ", i), j++;
    fprintf(f, "%s\n};\nstatic inline int %s_repack(ck_model *m) { return ck_model_repack(m, %s_weights, %s_repack_ids, %d); }\n"
               "#define CKM_REPACK %s_repack\n#endif\n\n", n ? "" : "\n    -1 /* none */", O->name, O->name, O->name, n, O->name);
    free(pick);
}

static void ckg_emit_header(ckg_out *O, const ck_weight_info *info, int n_info)
{
    ckg_model *M = O->M;
    ckg_ir *R = O->R;
    ckg_plan *P = O->P;
    FILE *f = O->f;
    const char *N = O->NAME, *n = O->name;
    int j, il, i, r;
    fprintf(f, "/* %s.h — generated by ckgen from models/%s.h and %s; do not edit.\n"
               "   %d layers; weights %.2f MB (layout 0x%016llx), state %.2f MB (KV cache for %d positions).\n"
               "   Build one translation unit: #define CK_IMPLEMENTATION, #include \"ckernel.h\", then this file. */\n",
            n, M->fam->family, ckg_comment_path(O->gguf_path), M->n_layer, (double)P->weights_bytes / 1e6, (unsigned long long)P->layout_hash,
            (double)P->state_bytes / 1e6, P->max_ctx);
    fprintf(f, "#ifndef %s_H\n#define %s_H\n#include \"ckernel.h\"\n\n", N, N);
    fprintf(f, "/* hyperparameters: models/%s.h, bound from the file */\n", M->fam->family);
    fprintf(f, "#define %s_ARCH \"%s\"\n", N, M->fam->arch);
    for (j = 0; j < M->fam->n_hp; j++) {
        double v = M->env.syms[j].value;
        if (M->env.syms[j].arr) fprintf(f, "/* %s_%s: one value per layer in the file (the layer table has what it decides) */\n", N,
                                        ckg_upper(M->env.syms[j].name));
        else if (v == floor(v) && fabs(v) < 2e9) fprintf(f, "#define %s_%s %lld\n", N, ckg_upper(M->env.syms[j].name), (long long)v);
        else fprintf(f, "#define %s_%s %s\n", N, ckg_upper(M->env.syms[j].name), ckg_flt(v));
    }
    fprintf(f, "#define %s_KV_DIM %lld /* n_head_kv * head_dim */\n", N, (long long)(ckg_get(&M->env, "n_head_kv") * ckg_get(&M->env, "head_dim")));
    fprintf(f, "#define %s_MAX_CTX %d\n#define %s_MAX_PROMPT %d\n", N, P->max_ctx, N, P->max_prompt);
    fprintf(f, "#define %s_LAYOUT_HASH 0x%016llxull\n#define %s_WEIGHTS_BYTES %lluull\n#define %s_STATE_BYTES %lluull\n\n", N,
            (unsigned long long)P->layout_hash, N, (unsigned long long)P->weights_bytes, N, (unsigned long long)P->state_bytes);

    fprintf(f, "/* weights region: byte offsets in the GGUF data section (= weights.bump after its header) */\n");
    for (j = 0; j < M->n_global; j++) {
        const ckg_weight *w = &M->w[j];
        if (!w->t) { fprintf(f, "/* %s (%s): absent, optional */\n", w->decl->name, w->gguf_name); continue; }
        fprintf(f, "#define %s_W_%-14s 0x%09llxull /* %-5s [%lld, %lld] %s */\n", N, ckg_upper(w->decl->name), (unsigned long long)w->t->offset,
                ck_type_name((int)w->t->type), (long long)w->ne0, (long long)w->ne1, ckg_tensor_name(w->t));
    }
    fprintf(f, "\n/* per layer: each weight's offset and type, and the layer's parameters */\ntypedef struct {\n    ck_wref");
    for (j = 0; j < M->fam->n_lw; j++) fprintf(f, "%s %s", j ? "," : "", M->fam->lw[j].name);
    fprintf(f, ";\n    int32_t window;  /* sliding window, 0 = full causal */\n    uint64_t rope;   /* offset of this layer's rope cache */\n} %s_layer;\n", n);
    fprintf(f, "static const %s_layer %s_layers[%d] = {\n", n, n, M->n_layer);
    for (il = 0; il < M->n_layer; il++) {
        char row[8192];
        size_t k = 0;
        fprintf(f, "    /* blk.%d */\n", il);
        k += (size_t)snprintf(row + k, sizeof row - k, "{ ");
        for (j = 0; j < M->fam->n_lw && k < sizeof row - 64; j++) {
            const ckg_weight *w = ckg_find_weight(M, M->fam->lw[j].name, il);
            if (w && w->t) k += (size_t)snprintf(row + k, sizeof row - k, "{ 0x%llx, CK_%s }, ", (unsigned long long)w->t->offset,
                                                 ckg_upper(ck_type_name((int)w->t->type)));
            else k += (size_t)snprintf(row + k, sizeof row - k, "{ CK_WREF_NONE, 0 }, ");
        }
        snprintf(row + k, sizeof row - k, "%d, 0x%llx },", (int)ckg_param(M, "window", il, 0), (unsigned long long)P->rope_off[P->layer_rope[il]]);
        ckg_put_stmt(f, "    ", row);
    }
    fprintf(f, "};\n\n/* the tensors this layout expects, checked against a file before it is used */\n");
    fprintf(f, "static const ck_weight_info %s_weights[%d] = {\n", n, n_info);
    for (i = 0; i < n_info; i++)
        fprintf(f, "    { \"%s\", CK_%s, %lld, %lld, 0x%llx, %llu },\n", info[i].name, ckg_upper(ck_type_name(info[i].type)), (long long)info[i].ne0,
                (long long)info[i].ne1, (unsigned long long)info[i].off, (unsigned long long)info[i].bytes);
    fprintf(f, "};\n\n/* 1: a matmul reads this weight (a LoRA adapter may adapt it: ck_lora_read's is_matmul) */\n");
    fprintf(f, "static const unsigned char %s_lora_targets[%d] = {", n, n_info);
    for (i = 0; i < n_info; i++) fprintf(f, "%s%s%d", i ? "," : "", i % 32 ? " " : "\n    ", ckg_matmul_reads(M, R, info[i].name));
    fprintf(f, "\n};\n\n");
    ckg_emit_repack(O, info, n_info);
    fprintf(f, "/* state region */\n");
    for (r = 0; r < P->n_rope; r++)
        fprintf(f, "#define %s_S_ROPE%d 0x%09llxull /* f32 [%d, %d, 2] rope cos/sin, base %g */\n", N, r, (unsigned long long)P->rope_off[r], P->max_ctx,
                (int)ckg_get(&M->env, "n_rot") / 2, P->rope_base[r]);
    fprintf(f, "#define %s_S_KV_K   0x%09llxull /* %s [%d, %d, %s_KV_DIM] */\n", N, (unsigned long long)P->kv_k, P->kv_f16 ? "f16" : "f32", M->n_layer, P->max_ctx, N);
    fprintf(f, "#define %s_S_KV_V   0x%09llxull /* %s [%d, %d, %s_KV_DIM] */\n", N, (unsigned long long)P->kv_v, P->kv_f16 ? "f16" : "f32", M->n_layer, P->max_ctx, N);
    fprintf(f, "#define %s_KV_F16 %d /* the KV cache holds %s values */\n", N, P->kv_f16, P->kv_f16 ? "F16" : "f32");
    fprintf(f, "#define %s_S_LOGITS 0x%09llxull /* f32 [%lld] */\n", N, (unsigned long long)P->logits, (long long)R->v[R->logits].cols);
    for (r = 0; r < 2; r++) {
        fprintf(f, "/* %s activations (buffers whose lifetimes do not overlap share bytes) */\n", r ? "decode" : "prefill");
        for (i = 0; i < R->n_v; i++) {
            const ckg_val *v = &R->v[i];
            if (v->view >= 0 || i == R->logits) continue;
            fprintf(f, "#define %s_S_%c_%-8s 0x%09llxull /* f32 [%d, %lld] */\n", N, r ? 'D' : 'P', ckg_upper(v->name), (unsigned long long)v->off[r],
                    r ? 1 : P->max_prompt, (long long)v->cols);
        }
    }
    fprintf(f, "static const ck_section_info %s_sections[%d] = {\n", n, P->n_sec);
    for (i = 0; i < P->n_sec; i++)
        fprintf(f, "    { \"%s\", 0x%llx, %llu },\n", P->sec[i].name, (unsigned long long)P->sec[i].off, (unsigned long long)P->sec[i].bytes);
    fprintf(f, "};\n\n");
    fprintf(f, "static float *%s_logits(ck_model *m) { return CK_F(m, %s_S_LOGITS); }\n\n", n, N);
    ckg_emit_rope_params(O);
    fprintf(f, "/* fill the rope caches; with CK_CANARIES, write the guard bytes after each section */\nstatic void %s_init(ck_model *m)\n{\n", n);
    for (r = 0; r < P->n_rope; r++)
        fprintf(f, "    ck_rope_cache_ext(CK_F(m, %s_S_ROPE%d), %s_MAX_CTX, %s_N_ROT, &%s_rope_params[%d]);\n", N, r, N, N, n, r);
    fprintf(f, "#ifdef CK_CANARIES\n    ck_canary_write(m->state, %s_sections, %d);\n#endif\n}\n\n", n, P->n_sec);
    ckg_emit_forward(O, 0);
    ckg_emit_forward(O, 1);
    ckg_emit_ops_and_lens(O);
    fprintf(f, "/* generic names, for programs written once for every model (examples/run.c) */\n");
    fprintf(f, "#define CKM_N_LAYER %s_N_LAYER\n#define CKM_OPS %s_ops\n#define CKM_N_OPS %s_N_OPS\n#define CKM_RESIDUAL_OP %s_RESIDUAL_OP\n"
               "#define CKM_LENS %s_lens\n", N, n, N, N, n);
    fprintf(f, "#define CKM_NAME \"%s\"\n#define CKM_ARCH %s_ARCH\n#define CKM_INIT %s_init\n#define CKM_PREFILL %s_prefill\n#define CKM_DECODE %s_decode\n"
               "#define CKM_LOGITS %s_logits\n#define CKM_WEIGHTS %s_weights\n#define CKM_LORA_TARGETS %s_lora_targets\n#define CKM_N_WEIGHTS %d\n#define CKM_SECTIONS %s_sections\n#define CKM_N_SECTIONS %d\n",
            n, N, n, n, n, n, n, n, n_info, n, P->n_sec);
    ckg_emit_attn_names(O);
    fprintf(f, "#define CKM_LAYOUT_HASH %s_LAYOUT_HASH\n#define CKM_WEIGHTS_BYTES %s_WEIGHTS_BYTES\n#define CKM_STATE_BYTES %s_STATE_BYTES\n"
               "#define CKM_N_VOCAB %s_N_VOCAB\n#define CKM_MAX_CTX %s_MAX_CTX\n#define CKM_MAX_PROMPT %s_MAX_PROMPT\n\n", N, N, N, N, N, N);
    fprintf(f, "#endif /* %s_H */\n", N);
}

static void ckg_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void ckg_emit_layout_json(ckg_out *O, FILE *f)
{
    ckg_model *M = O->M;
    ckg_ir *R = O->R;
    ckg_plan *P = O->P;
    int j, i, r, first = 1;
    fprintf(f, "{\n  \"model\": \"%s\",\n  \"family\": \"%s\",\n  \"source\": ", O->name, M->fam->family);
    ckg_json_str(f, O->gguf_path);
    fprintf(f, ",\n  \"layout_hash\": \"0x%016llx\",\n  \"weights_bytes\": %llu,\n  \"state_bytes\": %llu,\n  \"buffers\": [\n",
            (unsigned long long)P->layout_hash, (unsigned long long)P->weights_bytes, (unsigned long long)P->state_bytes);
    for (j = 0; j < M->n_w; j++) {
        const ckg_weight *w = &M->w[j];
        if (!w->t) continue;
        if (w->layer >= 0) fprintf(f, "%s    {\"name\": \"blk.%d.%s\"", first ? "" : ",\n", w->layer, w->decl->name);
        else fprintf(f, "%s    {\"name\": \"%s\"", first ? "" : ",\n", w->decl->name);
        fprintf(f, ", \"role\": \"weight\", \"region\": \"weights\", \"tensor\": ");
        ckg_json_str(f, ckg_tensor_name(w->t));
        fprintf(f, ", \"layer\": %d, \"dtype\": \"%s\", \"shape\": [%lld, %lld], \"offset\": %llu, \"bytes\": %llu}", w->layer,
                ck_type_name((int)w->t->type), (long long)w->ne1, (long long)w->ne0, (unsigned long long)w->t->offset, (unsigned long long)w->t->n_bytes);
        first = 0;
    }
    for (r = 0; r < P->n_rope; r++)
        fprintf(f, ",\n    {\"name\": \"rope%d\", \"role\": \"rope_cache\", \"region\": \"state\", \"dtype\": \"f32\", \"shape\": [%d, %d, 2], \"offset\": %llu, \"bytes\": %llu, \"base\": %g}",
                r, P->max_ctx, (int)ckg_get(&M->env, "n_rot") / 2, (unsigned long long)P->rope_off[r], (unsigned long long)P->rope_bytes, P->rope_base[r]);
    for (r = 0; r < 2; r++)
        fprintf(f, ",\n    {\"name\": \"kv_%c\", \"role\": \"kv_cache\", \"region\": \"state\", \"dtype\": \"%s\", \"shape\": [%d, %d, %lld], \"offset\": %llu, \"bytes\": %llu}",
                r ? 'v' : 'k', P->kv_f16 ? "f16" : "f32", M->n_layer, P->max_ctx, (long long)(ckg_get(&M->env, "n_head_kv") * ckg_get(&M->env, "head_dim")),
                (unsigned long long)(r ? P->kv_v : P->kv_k), (unsigned long long)P->kv_bytes);
    fprintf(f, ",\n    {\"name\": \"logits\", \"role\": \"output\", \"region\": \"state\", \"dtype\": \"f32\", \"shape\": [%lld], \"offset\": %llu, \"bytes\": %llu}",
            (long long)R->v[R->logits].cols, (unsigned long long)P->logits, (unsigned long long)P->logits_bytes);
    for (r = 0; r < 2; r++)
        for (i = 0; i < R->n_v; i++) {
            const ckg_val *v = &R->v[i];
            int rows = r ? 1 : P->max_prompt;
            if (v->view >= 0 || i == R->logits) continue;
            fprintf(f, ",\n    {\"name\": \"%s\", \"role\": \"%s_activation\", \"region\": \"state\", \"dtype\": \"f32\", \"shape\": [%d, %lld], \"offset\": %llu, \"bytes\": %llu, \"live_ops\": [%d, %d]}",
                    v->name, r ? "decode" : "prefill", rows, (long long)v->cols, (unsigned long long)v->off[r], (unsigned long long)rows * (unsigned long long)v->cols * 4,
                    v->first, v->last);
        }
    fprintf(f, "\n  ],\n  \"sections\": [\n");
    for (i = 0; i < P->n_sec; i++)
        fprintf(f, "    {\"name\": \"%s\", \"offset\": %llu, \"bytes\": %llu, \"canary_at\": %llu}%s\n", P->sec[i].name, (unsigned long long)P->sec[i].off,
                (unsigned long long)P->sec[i].bytes, (unsigned long long)(P->sec[i].off + P->sec[i].bytes), i + 1 < P->n_sec ? "," : "");
    fprintf(f, "  ]\n}\n");
}

static void ckg_emit_manifest(ckg_out *O, FILE *f, const ck_weight_info *info, int n)
{
    int i;
    fprintf(f, "{\n  \"layout_hash\": \"0x%016llx\",\n  \"weights_bytes\": %llu,\n  \"bump_header_bytes\": %d,\n  \"source\": ",
            (unsigned long long)O->P->layout_hash, (unsigned long long)O->P->weights_bytes, CK_BUMP_HEADER_BYTES);
    ckg_json_str(f, O->gguf_path);
    fprintf(f, ",\n  \"tensors\": [\n");
    for (i = 0; i < n; i++) {
        fprintf(f, "    {\"name\": ");
        ckg_json_str(f, info[i].name);
        fprintf(f, ", \"type\": \"%s\", \"ne\": [%lld, %lld], \"offset\": %llu, \"bytes\": %llu}%s\n", ck_type_name(info[i].type), (long long)info[i].ne0,
                (long long)info[i].ne1, (unsigned long long)info[i].off, (unsigned long long)info[i].bytes, i + 1 < n ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
}

static FILE *ckg_create(const char *dir, const char *file, char *path, size_t cap)
{
    FILE *f;
    snprintf(path, cap, "%s/%s", dir, file);
    f = fopen(path, "wb");
    if (!f) ckg_die("cannot create %s: %s", path, strerror(errno));
    return f;
}
static void ckg_close(FILE *f, const char *path)
{
    if (fflush(f) != 0 || ferror(f) || fclose(f) != 0) ckg_die("writing %s failed: %s", path, strerror(errno));
}

/* ---- 9. training: values in SSA form, saved activations, the backward pass -----------------
   Inference reuses buffers by name (x = x + o writes x); training cannot, because the backward
   pass needs every value an op read. So the op list is renamed into single assignments
   (x, x_1, x_2, ...), each block value gets one buffer per layer (the saved activations), and
   the backward pass walks the ops in reverse, calling each op's backward kernel, which
   accumulates (+=) into the gradients of its inputs: a value used twice gets both gradients.
   rope works in place in both directions (its backward needs no saved input). A name that the
   head defines and the block redefines (the residual stream x) is carried: layer l reads the
   final version of layer l-1 (layer 0 the head's), and its gradient travels the other way.
   --recompute (activation recomputation): per layer only the carried final versions are kept
   (layer l's output is layer l+1's input); the block's other values and statistics live in one
   layer-sized slab that every layer overwrites. Before layer l's backward, the block's forward
   ops run again from layer l's kept input into the slab (the same kernels on the same inputs:
   the same bits), so losses and weights are bit-identical with and without it, for about one
   more forward pass of compute. The loss needs one [B*T, n_vocab] buffer, not three: the softmax
   overwrites the logits, and the backward pass overwrites the softmax with the logits' gradient
   (when no backward kernel reads the logits, as in every family). */

#define CKG_MAX_TV 256
typedef struct {
    char name[40];
    int64_t cols;
    const char *cols_expr;      /* the declaration's expression for cols */
    int section;
    int view;                   /* the value this is a column view of, or -1 */
    int64_t col_off;
    const char *col_off_expr;   /* as the declaration writes it, or NULL */
    int carry_in;               /* block value standing for the previous layer's final version of a carried name */
    int from;                   /* carry_in: the head value layer 0 reads; the block's final version is `last` */
    int last;                   /* carry_in: the block's final version of the name */
    int saved;                  /* kept per layer for the backward pass (otherwise one buffer, overwritten) */
    int bread;                  /* read by a backward kernel */
} ckg_tval;
typedef struct {
    const ckg_op *o;
    int out, a, b, c;
    int stat;                   /* index of the op's saved statistics (norm rstd/mean, attention lse), or -1 */
    int lora;                   /* --lora: the adapter of this block matmul (index into ckg_tir's targets), or -1 */
} ckg_top;
/* --lora: one adapted matrix of every layer, A [rank, n_in] and B^T [rank, n_out] (the layout
   ck_lora_forward/_backward take) at these offsets in each layer's share of the adapters */
#define CKG_MAX_LORA 16
typedef struct {
    const char *target;         /* q, k, v, o, qkv, gate, up, down */
    const char *w;              /* the declaration's weight (wq), the GGUF name's pattern (blk.%d.attn_q.weight) */
    const char *gguf;
    int64_t n_in, n_out;
    uint64_t a_off, bt_off;
} ckg_tlora;
typedef struct {
    ckg_tval v[CKG_MAX_TV];
    int n_v;
    ckg_top op[CKG_MAX_OPS];
    int n_op;
    int logits;
    int probs_in_logits;        /* the softmax and then the logits' gradient overwrite the logits */
    int max_b, max_t;
    int recompute;              /* --recompute: keep each layer's input, recompute the rest into one slab */
    int lora_rank;              /* --lora: frozen base (any GGUF types), trained low-rank adapters; 0 without */
    ckg_tlora lora[CKG_MAX_LORA];
    int n_lora;
    uint64_t lora_layer_bytes;  /* one layer's adapters; the adapters section is N_LAYER of them */
    uint64_t lora_scr_off, lora_dscr_off, bq_off; /* scratch: ck_lora_* [B*T, rank] twice; ck_matmul_backward_q's rows */
    int64_t bq_cols;            /* the widest input of a matmul whose weight is not f32 (0: none) */
    uint64_t weights_bytes;
    uint64_t params_bytes;      /* the trained parameters: the weights, or with --lora the adapters */
    uint64_t sec_off[8], sec_bytes[8];  /* CKG_TS_*; the slab only with recompute, the adapters only with --lora */
    uint64_t act_off[CKG_MAX_TV], grad_off[CKG_MAX_TV], stat_off[CKG_MAX_OPS], stat_bytes[CKG_MAX_OPS];
    uint64_t probs_off, losses_off, rope_off[16], bytes;
    uint64_t layer_bytes;       /* saved activations kept per layer (values and statistics) */
} ckg_tir;

enum { CKG_TS_ACTS = 4, CKG_TS_SLAB = 5, CKG_TS_SCRATCH = 6, CKG_TS_LORA = 7, CKG_TS_N = 8 };
static const char *ckg_tsec_names[CKG_TS_N] = { "weights", "gradients", "adam m", "adam v", "saved activations", "recompute slab",
                                                "scratch", "lora adapters" };
static const char *ckg_tsec_macros[CKG_TS_N] = { "WEIGHTS", "GRADS", "ADAM_M", "ADAM_V", "ACTS", "SLAB", "SCRATCH", "LORA" };
static const int ckg_tsec_order[CKG_TS_N] = { 0, CKG_TS_LORA, 1, 2, 3, CKG_TS_ACTS, CKG_TS_SLAB, CKG_TS_SCRATCH }; /* in the arena */
/* the sections a trainer has: the slab only with recompute, the adapters only with --lora */
#define CKG_TSEC_PRESENT(X, s) (((s) != CKG_TS_SLAB || (X)->recompute) && ((s) != CKG_TS_LORA || (X)->lora_rank))
static int ckg_tsec_count(const ckg_tir *X)
{
    int s, n = 0;
    for (s = 0; s < CKG_TS_N; s++) n += CKG_TSEC_PRESENT(X, s);
    return n;
}

/* bytes of one [max B*T, cols] buffer: a value's slab (block values have one per layer) */
static uint64_t ckg_tslab(const ckg_tir *X, int64_t cols)
{
    return CKG_ALIGN((uint64_t)X->max_b * (uint64_t)X->max_t * (uint64_t)cols * 4);
}

static int ckg_tnew(ckg_tir *X, const char *name, int version, int64_t cols, const char *cols_expr, int section)
{
    ckg_tval *v;
    if (X->n_v == CKG_MAX_TV) ckg_die("too many training values");
    v = &X->v[X->n_v];
    memset(v, 0, sizeof *v);
    if (version) snprintf(v->name, sizeof v->name, "%s_%d", name, version);
    else snprintf(v->name, sizeof v->name, "%s", name);
    v->cols = cols;
    v->cols_expr = cols_expr;
    v->section = section;
    v->view = -1;
    v->from = v->last = -1;
    return X->n_v++;
}

/* rename the inference IR's ops into single assignments */
static void ckg_tlower(const ckg_model *M, const ckg_ir *R, ckg_tir *X)
{
    /* cur[i]: the current version of inference value i; ver[i]: versions so far */
    int cur[CKG_MAX_VALS], ver[CKG_MAX_VALS], carried[CKG_MAX_VALS], i, k;
    memset(X, 0, sizeof *X);
    X->logits = -1;
    for (i = 0; i < R->n_v; i++) { cur[i] = -1; ver[i] = 0; carried[i] = -1; }
    for (i = 0; i < R->n_op; i++) {
        const ckg_op *o = &R->op[i];
        ckg_top *t = &X->op[X->n_op++];
        int *ins[3], srcs[3];
        t->o = o;
        t->stat = -1;
        t->lora = -1;
        ins[0] = &t->a; ins[1] = &t->b; ins[2] = &t->c;
        srcs[0] = o->a; srcs[1] = o->b; srcs[2] = o->c;
        for (k = 0; k < 3; k++) {
            int s = srcs[k];
            *ins[k] = -1;
            if (s < 0) continue;
            if (cur[s] < 0) ckg_die("internal: %s read before it is written", R->v[s].name);
            /* the block reads a head value that it also writes: carried from layer to layer */
            if (o->section == CKG_BLOCK && X->v[cur[s]].section == CKG_HEAD) {
                int j, redefined = 0;
                for (j = R->block_start; j < R->block_end; j++)
                    if (R->op[j].out == s && !(R->op[j].desc->flags & CKG_F_INPLACE)) redefined = 1;
                if (redefined) {
                    if (carried[s] < 0) {
                        int ci = ckg_tnew(X, R->v[s].name, 0, X->v[cur[s]].cols, X->v[cur[s]].cols_expr, CKG_BLOCK);
                        snprintf(X->v[ci].name, sizeof X->v[ci].name, "%s_in", R->v[s].name);
                        X->v[ci].carry_in = 1;
                        X->v[ci].from = cur[s];
                        carried[s] = ci;
                    }
                    cur[s] = carried[s];
                }
            }
            *ins[k] = cur[s];
        }
        if (o->desc->flags & CKG_F_INPLACE) {
            int s = o->a, j;
            /* in place: nothing between the definition of the input and the rope may read it */
            for (j = X->v[cur[s]].section == o->section ? 0 : X->n_op - 1; j < X->n_op - 1; j++) {
                const ckg_top *u = &X->op[j];
                if (u->o->section == o->section && (u->a == cur[s] || u->b == cur[s] || u->c == cur[s]) && !(u->o->desc->flags & CKG_F_INPLACE))
                    ckg_die("models/%s.h: OP(%s, %s, ...): %s is also read by OP(%s, %s, ...); %s works in place, so training cannot keep both",
                            M->fam->family, o->d->op, o->d->out, o->d->a, u->o->d->op, u->o->d->out, o->d->op);
            }
            t->out = cur[s];
            continue;
        }
        t->out = ckg_tnew(X, R->v[o->out].name, ver[o->out]++, R->v[o->out].cols, R->v[o->out].cols_expr, o->section);
        cur[o->out] = t->out;
        if (o->desc->shape == CKG_SHAPE_VIEW) { /* a view of the current version of the base, at the same columns */
            X->v[t->out].view = X->v[t->a].view >= 0 ? X->v[t->a].view : t->a;
            X->v[t->out].col_off = R->v[o->out].col_off;
            X->v[t->out].col_off_expr = R->v[o->out].col_off_expr;
        }
        if (o->desc->stat != CKG_STAT_NONE) t->stat = X->n_op - 1;
        if (i == R->n_op - 1) X->logits = t->out;
        /* the end of the block: the carried names' final versions feed the next layer */
        if (i == R->block_end - 1)
            for (k = 0; k < R->n_v; k++)
                if (carried[k] >= 0) { X->v[carried[k]].last = cur[k]; }
    }
    for (i = 0; i < X->n_v; i++)
        if (X->v[i].view >= 0 && X->v[X->v[i].view].view >= 0) ckg_die("internal: a view of a view");
    (void)M;
}

/* rows of an op's statistics per token: norms 1 (layernorm: mean and rstd), per-head norms and attention n_head */
static int64_t ckg_tstat_per_row(const ckg_model *M, const ckg_tir *X, const ckg_top *t)
{
    int64_t hd = (int64_t)ckg_get((ckg_env *)&M->env, "head_dim");
    switch (t->o->desc->stat) {
    case CKG_STAT_ONE: return 1;
    case CKG_STAT_TWO: return 2;
    case CKG_STAT_HEADS: return X->v[t->out].cols / hd;
    case CKG_STAT_N_HEAD: return (int64_t)ckg_get((ckg_env *)&M->env, "n_head");
    default: return 0;
    }
}

/* --lora: a matmul without an adapter passes the gradient on through its frozen weight and reads
   nothing else (its input is not kept for it) */
static int ckg_tfrozen_matmul(const ckg_tir *X, const ckg_top *t)
{
    return X->lora_rank && t->lora < 0 && !strcmp(t->o->desc->name, "matmul");
}

/* which values the backward kernels read: matmul/norm/activation inputs, attention q, k, v, out */
static void ckg_tsaved(ckg_tir *X)
{
    int i, k, changed = 1;
    for (i = 0; i < X->n_op; i++) {
        const ckg_top *t = &X->op[i];
        unsigned sv = t->o->desc->saved;
        int ins[4];
        if (ckg_tfrozen_matmul(X, t)) sv &= ~(unsigned)CKG_A; /* its input only fed the weight's gradient */
        ins[0] = sv & CKG_A ? t->a : -1;
        ins[1] = sv & CKG_B ? t->b : -1;
        ins[2] = sv & CKG_C ? t->c : -1;
        ins[3] = sv & CKG_OUT ? t->out : -1;
        for (k = 0; k < 4; k++) {
            int v = ins[k];
            if (v < 0) continue;
            if (X->v[v].view >= 0) v = X->v[v].view;
            X->v[v].saved = X->v[v].bread = 1;
        }
    }
    while (changed) { /* a saved carried input needs the previous layer's final version */
        changed = 0;
        for (i = 0; i < X->n_v; i++)
            if (X->v[i].carry_in && X->v[i].saved && !X->v[X->v[i].last].saved) X->v[X->v[i].last].saved = changed = 1;
    }
    for (i = 0; i < X->n_v; i++) /* the foot reads the last layer's final versions */
        if (X->v[i].carry_in) X->v[X->v[i].last].saved = X->v[X->v[i].from].saved = X->v[X->v[i].from].bread = 1;
}

static int ckg_tis_final(const ckg_tir *X, int vi)
{
    int k;
    for (k = 0; k < X->n_v; k++) if (X->v[k].carry_in && X->v[k].last == vi) return 1;
    return 0;
}
/* a carried final version that no block op reads: with recompute its op is not rerun (the result is
   kept: the next layer's input) */
static int ckg_tkept_final(const ckg_tir *X, int vi)
{
    int i;
    if (!ckg_tis_final(X, vi)) return 0;
    for (i = 0; i < X->n_op; i++) {
        const ckg_top *t = &X->op[i];
        int k, in[3];
        in[0] = t->a; in[1] = t->b; in[2] = t->c;
        if (t->o->section != CKG_BLOCK) continue;
        for (k = 0; k < 3; k++)
            if (in[k] >= 0 && (in[k] == vi || X->v[in[k]].view == vi)) return 0;
    }
    return 1;
}
/* a block value with one slab per layer: one the backward pass reads, or with recompute only the
   carried final versions (each layer's output, the next one's input) */
static int ckg_tper_layer(const ckg_tir *X, int vi)
{
    const ckg_tval *v = &X->v[vi];
    return v->section == CKG_BLOCK && v->view < 0 && !v->carry_in && v->saved && (!X->recompute || ckg_tis_final(X, vi));
}
/* in the recompute slab: a block value (or a block op's statistics) rewritten by every layer */
static int ckg_tin_slab(const ckg_tir *X, int vi)
{
    const ckg_tval *v = &X->v[vi];
    return X->recompute && v->section == CKG_BLOCK && v->view < 0 && !v->carry_in && !ckg_tper_layer(X, vi);
}

/* --lora RANK [--lora-targets LIST]: which block matmuls get an adapter (by the GGUF name of their
   weight: attn_q is q, attn_k k, attn_v v, attn_qkv qkv, attn_output o, ffn_gate gate, ffn_up up
   (phi3's fused gate and up too), ffn_down down; no list: every one the family has), where each
   layer's A and B^T live, and what the frozen base needs: weights other than a matmul's or an
   embedding's must be f32 (the norms' kernels take f32), and the widest input of a quantized
   matmul sizes ck_matmul_backward_q's scratch. */
static void ckg_tlora_plan(const ckg_model *M, ckg_tir *X, int rank, const char *targets)
{
    static const char *const map[][2] = { { "q", "attn_q" }, { "k", "attn_k" }, { "v", "attn_v" }, { "qkv", "attn_qkv" },
                                          { "o", "attn_output" }, { "gate", "ffn_gate" }, { "up", "ffn_up" }, { "down", "ffn_down" } };
    const int n_map = (int)(sizeof map / sizeof *map);
    char have[256] = "";
    int i, k, j;
    uint64_t off = 0;
    X->lora_rank = rank;
    for (k = 0; k < n_map; k++) { /* the family's adaptable matrices, in the table's order */
        for (i = 0; i < X->n_op; i++) {
            const ckg_op *o = X->op[i].o;
            const ckg_weight *w;
            char pat[64];
            if (o->section != CKG_BLOCK || strcmp(o->desc->name, "matmul") || !o->wb) continue;
            w = ckg_find_weight(M, o->wb, 0);
            snprintf(pat, sizeof pat, "blk.%%d.%s.weight", map[k][1]);
            if (!w || strcmp(w->decl->gguf, pat)) continue;
            if (targets) { /* listed? */
                const char *p = targets;
                size_t n = strlen(map[k][0]);
                int listed = 0;
                while (*p) {
                    size_t m = strcspn(p, ",");
                    if (m == n && !strncmp(p, map[k][0], n)) listed = 1;
                    p += m + (p[m] == ',');
                }
                if (!listed) { snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? "," : "", map[k][0]); continue; }
            }
            if (X->n_lora == CKG_MAX_LORA) ckg_die("--lora: too many adapted matrices");
            X->op[i].lora = X->n_lora;
            X->lora[X->n_lora].target = map[k][0];
            X->lora[X->n_lora].w = o->wb;
            X->lora[X->n_lora].gguf = w->decl->gguf;
            X->lora[X->n_lora].n_in = w->ne0;
            X->lora[X->n_lora].n_out = w->ne1;
            for (j = 1; j < M->n_layer; j++) {
                const ckg_weight *y = ckg_find_weight(M, o->wb, j);
                if (!y || !y->t || y->ne0 != w->ne0 || y->ne1 != w->ne1)
                    ckg_die("--lora: %s has other dimensions in layer %d than in layer 0 (one adapter shape per target)", o->wb, j);
            }
            X->lora[X->n_lora].a_off = off; off += CKG_ALIGN((uint64_t)rank * (uint64_t)w->ne0 * 4);
            X->lora[X->n_lora].bt_off = off; off += CKG_ALIGN((uint64_t)rank * (uint64_t)w->ne1 * 4);
            X->n_lora++;
        }
    }
    if (targets) { /* every listed name must be one the family has */
        const char *p = targets;
        while (*p) {
            size_t m = strcspn(p, ",");
            int found = 0;
            for (k = 0; k < X->n_lora; k++) if (strlen(X->lora[k].target) == m && !strncmp(p, X->lora[k].target, m)) found = 1;
            if (!found) {
                char all[256] = "";
                for (k = 0; k < X->n_lora; k++) ckg_list_add(all, sizeof all, X->lora[k].target);
                if (have[0]) ckg_list_add(all, sizeof all, have);
                ckg_die("--lora-targets %s: '%.*s' is not a matrix models/%s.h has (it has: %s)", targets, (int)m, p, M->fam->family, all);
            }
            p += m + (p[m] == ',');
        }
    }
    if (!X->n_lora) ckg_die("--lora: models/%s.h has no block matmul to adapt", M->fam->family);
    X->lora_layer_bytes = off;
    /* the frozen base: norms (and biases) f32; quantized matmul inputs size the backward's scratch */
    for (i = 0; i < M->n_w; i++) {
        const ckg_weight *w = &M->w[i];
        int quantizable = 0;
        if (!w->t || w->t->type == CK_F32) continue;
        if (w->ne0 > X->bq_cols) X->bq_cols = w->ne0;
        for (j = 0; j < X->n_op; j++) {
            const ckg_op *o = X->op[j].o;
            if (!o->wb || strcmp(o->wb, w->decl->name) || (o->section == CKG_BLOCK) != (w->layer >= 0)) continue;
            if (o->desc->fwd_q) quantizable = 1;
        }
        if (!quantizable)
            ckg_die("--lora: %s is %s, but only a matmul's or an embedding's weight may be quantized (the kernels of the other ops take f32)",
                    w->gguf_name, ck_type_name((int)w->t->type));
    }
}

static void ckg_tplan(ckg_model *M, ckg_tir *X, const ckg_plan *P)
{
    uint64_t pos = 0, bt = (uint64_t)X->max_b * (uint64_t)X->max_t, L = (uint64_t)M->n_layer, a;
    int i, s;
    ckg_tsaved(X);
    X->weights_bytes = CKG_ALIGN(P->weights_bytes);
    X->params_bytes = X->lora_rank ? (uint64_t)M->n_layer * X->lora_layer_bytes : X->weights_bytes;
    /* weights | (adapters) | gradients | AdamW m | v: the last three laid out like the trained parameters */
    X->sec_off[0] = pos; X->sec_bytes[0] = X->weights_bytes; pos += X->weights_bytes + CKG_CANARY;
    if (X->lora_rank) { X->sec_off[CKG_TS_LORA] = pos; X->sec_bytes[CKG_TS_LORA] = X->params_bytes; pos += X->params_bytes + CKG_CANARY; }
    for (s = 1; s < 4; s++) { X->sec_off[s] = pos; X->sec_bytes[s] = X->params_bytes; pos += X->params_bytes + CKG_CANARY; }
    /* the loss's softmax and gradient in the logits' buffer, unless a backward kernel reads the logits */
    X->probs_in_logits = X->v[X->logits].view < 0 && !X->v[X->logits].bread;
    /* saved activations: head and foot values once, block values once per layer (with recompute:
       only the layers' outputs, the rest goes to the slab) */
    X->sec_off[CKG_TS_ACTS] = a = pos;
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i];
        if (v->view >= 0 || v->carry_in || ckg_tin_slab(X, i)) continue;
        X->act_off[i] = a;
        a += ckg_tslab(X, v->cols) * (ckg_tper_layer(X, i) ? L : 1);
        if (ckg_tper_layer(X, i)) X->layer_bytes += ckg_tslab(X, v->cols);
    }
    for (i = 0; i < X->n_op; i++) {
        const ckg_top *t = &X->op[i];
        int64_t k = ckg_tstat_per_row(M, X, t);
        if (!k || (X->recompute && t->o->section == CKG_BLOCK)) continue;
        X->stat_off[i] = a;
        X->stat_bytes[i] = ckg_tslab(X, k);
        a += X->stat_bytes[i] * (t->o->section == CKG_BLOCK ? L : 1);
        if (t->o->section == CKG_BLOCK) X->layer_bytes += X->stat_bytes[i];
    }
    if (!X->probs_in_logits) { X->probs_off = a; a += ckg_tslab(X, X->v[X->logits].cols); }
    X->losses_off = a; a += CKG_ALIGN(bt * 4);
    X->sec_bytes[CKG_TS_ACTS] = a - X->sec_off[CKG_TS_ACTS];
    pos = a + CKG_CANARY;
    /* the recompute slab: one layer's values and statistics */
    X->sec_off[CKG_TS_SLAB] = a = pos;
    if (X->recompute) {
        for (i = 0; i < X->n_v; i++) {
            if (!ckg_tin_slab(X, i)) continue;
            X->act_off[i] = a;
            a += ckg_tslab(X, X->v[i].cols);
        }
        for (i = 0; i < X->n_op; i++) {
            const ckg_top *t = &X->op[i];
            int64_t k = ckg_tstat_per_row(M, X, t);
            if (!k || t->o->section != CKG_BLOCK) continue;
            X->stat_off[i] = a;
            X->stat_bytes[i] = ckg_tslab(X, k);
            a += X->stat_bytes[i];
        }
        X->sec_bytes[CKG_TS_SLAB] = a - X->sec_off[CKG_TS_SLAB];
        pos = a + CKG_CANARY;
    }
    /* scratch: one gradient buffer per value (block values' are reused by every layer; the logits'
       is the logits' own buffer when probs_in_logits), rope caches */
    X->sec_off[CKG_TS_SCRATCH] = a = pos;
    for (i = 0; i < X->n_v; i++) {
        if (X->v[i].view >= 0 || (X->probs_in_logits && i == X->logits)) continue;
        X->grad_off[i] = a;
        a += ckg_tslab(X, X->v[i].cols);
    }
    for (i = 0; i < P->n_rope; i++) { X->rope_off[i] = a; a += CKG_ALIGN((uint64_t)X->max_t * (uint64_t)((int)ckg_get(&M->env, "n_rot") / 2) * 2 * 4); }
    if (X->lora_rank) { /* ck_lora_forward/_backward's [B*T, rank] products; ck_matmul_backward_q's dequantized rows */
        X->lora_scr_off = a; a += CKG_ALIGN(bt * (uint64_t)X->lora_rank * 4);
        X->lora_dscr_off = a; a += CKG_ALIGN(bt * (uint64_t)X->lora_rank * 4);
        X->bq_off = a; a += CKG_ALIGN((uint64_t)CK_MATMUL_BQ_ROWS * (uint64_t)X->bq_cols * 4);
    }
    X->sec_bytes[CKG_TS_SCRATCH] = a - X->sec_off[CKG_TS_SCRATCH];
    X->bytes = a + CKG_CANARY;
}

/* pointer expressions in the emitted training code: a value (v_), its gradient (d_), for the
   whole batch, for sequence b (per-sequence ops), or for row t (a per-row loop over a view) */
static void ckg_tptr(const ckg_out *O, const ckg_tir *X, int vi, int grad, int per_seq, int rowloop, char *buf, size_t cap)
{
    const ckg_tval *v, *base;
    const char *ld;
    char b[128];
    if (vi < 0) { snprintf(buf, cap, "NULL"); return; }
    v = &X->v[vi];
    base = v->view >= 0 ? &X->v[v->view] : v;
    ld = ckg_cexpr(O, base->cols_expr, base->cols, 1);
    if (v->view >= 0 && v->col_off == 0) snprintf(b, sizeof b, "%c_%s", grad ? 'd' : 'v', base->name);
    else if (v->view >= 0) snprintf(b, sizeof b, "(%c_%s + %s)", grad ? 'd' : 'v', base->name, ckg_cexpr(O, v->col_off_expr, v->col_off, 1));
    else snprintf(b, sizeof b, "%c_%s", grad ? 'd' : 'v', v->name);
    if (per_seq) snprintf(buf, cap, "%s + (size_t)b * T * %s", b, ld);
    else if (rowloop) snprintf(buf, cap, "%s + (size_t)t * %s", b, ld);
    else snprintf(buf, cap, "%s", b);
}
static const char *ckg_tld(const ckg_out *O, const ckg_tir *X, int vi)
{
    const ckg_tval *v = &X->v[vi];
    if (v->view >= 0) v = &X->v[v->view];
    return ckg_cexpr(O, v->cols_expr, v->cols, 1);
}
/* a weight (or its gradient) as a float pointer in the training arena: NULL when absent */
static void ckg_tw(const ckg_out *O, const char *w, int section, int grad, char *buf, size_t cap)
{
    const ckg_weight *x = w ? ckg_find_weight(O->M, w, section == CKG_BLOCK ? 0 : -1) : NULL;
    const char *N = O->NAME;
    if (!x || !x->t) { snprintf(buf, cap, "NULL"); return; }
    if (section == CKG_BLOCK) snprintf(buf, cap, "%s_TW(A, %s, L->%s)", N, grad ? "GRADS" : "WEIGHTS", w);
    else snprintf(buf, cap, "%s_TG(A, %s, %s_W_%s)", N, grad ? "GRADS" : "WEIGHTS", N, ckg_upper(w));
}

/* one op of the training code: its forward (bwd 0), backward (1), or its forward rerun before the
   layer's backward (2, recompute) */
static void ckg_temit_op(ckg_out *O, const ckg_tir *X, const ckg_top *t, int bwd)
{
    FILE *f = O->f;
    const ckg_op *o = t->o;
    const ckg_opdesc *D = o->desc;
    const char *N = O->NAME, *ind = o->section == CKG_BLOCK ? "        " : "    ";
    int per_seq = (D->flags & CKG_F_PER_SEQ) != 0, rowloop = 0, k, idx[4];
    const char *tmpl = bwd == 1 ? D->bwd : D->fwd, *what = bwd == 1 ? "backward" : bwd == 2 ? "recompute" : "forward";
    char note[256], pre[48];
    ckg_ctx x;
    if (bwd == 1 && X->lora_rank && !D->values) return; /* reads only frozen weights (an embedding): no gradient to pass on */
    memset(&x, 0, sizeof x);
    idx[0] = t->out; idx[1] = t->a; idx[2] = t->b; idx[3] = t->c;
    for (k = 0; k < 4; k++) /* a column view in a wider row */
        if ((D->flags & CKG_F_ROWWISE) && idx[k] >= 0 && X->v[idx[k]].view >= 0 && X->v[idx[k]].cols != X->v[X->v[idx[k]].view].cols) rowloop = 1;
    snprintf(x.P, sizeof x.P, "%s", N);
    snprintf(x.T, sizeof x.T, "%s", per_seq ? "T" : rowloop ? "1" : "BT");
    snprintf(x.POS, sizeof x.POS, "0");
    snprintf(x.tok, sizeof x.tok, "%s", per_seq ? "tokens + (size_t)b * T" : "tokens");
    snprintf(x.rope, sizeof x.rope, "%s_TROPE(A, L->rope)", N);
    ckg_tptr(O, X, t->out, 0, per_seq, rowloop, x.out, sizeof x.out);
    ckg_tptr(O, X, t->out, 1, per_seq, rowloop, x.dout, sizeof x.dout);
    snprintf(x.C, sizeof x.C, "%s", ckg_cexpr(O, X->v[t->out].cols_expr, X->v[t->out].cols, 1));
    snprintf(x.LDO, sizeof x.LDO, "%s", ckg_tld(O, X, t->out));
    ckg_heads(O, x.C, x.HEADS, sizeof x.HEADS);
    if (t->a >= 0) {
        ckg_tptr(O, X, t->a, 0, per_seq, rowloop, x.a, sizeof x.a);
        ckg_tptr(O, X, t->a, 1, per_seq, rowloop, x.da, sizeof x.da);
        snprintf(x.CA, sizeof x.CA, "%s", ckg_cexpr(O, X->v[t->a].cols_expr, X->v[t->a].cols, 1));
        snprintf(x.LDA, sizeof x.LDA, "%s", ckg_tld(O, X, t->a));
    } else snprintf(x.da, sizeof x.da, "NULL");
    if (t->b >= 0) {
        ckg_tptr(O, X, t->b, 0, per_seq, rowloop, x.b, sizeof x.b);
        ckg_tptr(O, X, t->b, 1, per_seq, rowloop, x.db, sizeof x.db);
        snprintf(x.LDB, sizeof x.LDB, "%s", ckg_tld(O, X, t->b));
    } else snprintf(x.db, sizeof x.db, "NULL");
    if (t->c >= 0) {
        ckg_tptr(O, X, t->c, 0, per_seq, rowloop, x.c, sizeof x.c);
        ckg_tptr(O, X, t->c, 1, per_seq, rowloop, x.dc, sizeof x.dc);
        snprintf(x.LDC, sizeof x.LDC, "%s", ckg_tld(O, X, t->c));
    } else snprintf(x.dc, sizeof x.dc, "NULL");
    if ((D->flags & CKG_F_KV) && strcmp(x.LDB, x.LDC))
        ckg_die("OP(%s, %s, ...): k and v must have the same row stride for training (%s, %s)", o->d->op, o->d->out, x.LDB, x.LDC);
    ckg_tw(O, o->wb, o->section, 0, x.w, sizeof x.w);
    ckg_tw(O, o->wb, o->section, 1, x.gw, sizeof x.gw);
    ckg_tw(O, o->wc, o->section, 0, x.w2, sizeof x.w2);
    ckg_tw(O, o->wc, o->section, 1, x.gw2, sizeof x.gw2);
    if (X->lora_rank) { /* the base is frozen and keeps its GGUF types: a matmul or embedding weight may be quantized */
        if (bwd == 1 && ckg_tfrozen_matmul(X, t)) snprintf(x.a, sizeof x.a, "NULL");
        snprintf(x.gw, sizeof x.gw, "NULL");
        snprintf(x.gw2, sizeof x.gw2, "NULL");
        if (o->wb && ckg_find_weight(O->M, o->wb, o->section == CKG_BLOCK ? 0 : -1)->t) {
            ckg_fmt(x.wq, sizeof x.wq, "(const void *)%s", x.w);
            ckg_wtype(O, o->wb, o->section, x.wt, sizeof x.wt);
            if (strcmp(x.wt, "CK_F32") && D->fwd_q) tmpl = bwd == 1 ? D->bwd_q : D->fwd_q;
        }
    }
    if (D->params & CKG_B) snprintf(x.p, sizeof x.p, "%s", ckg_cexpr(O, o->d->b, (int64_t)o->pb, 1));
    if (D->params & CKG_C) snprintf(x.p2, sizeof x.p2, "%s", ckg_cexpr(O, o->d->c, (int64_t)o->pc, 1));
    snprintf(x.st, sizeof x.st, "NULL");
    snprintf(x.st2, sizeof x.st2, "NULL");
    if (t->stat >= 0) {
        char sb[1024], k[384];
        if (D->stat == CKG_STAT_N_HEAD) snprintf(k, sizeof k, "%s_N_HEAD", N);
        else if (D->stat == CKG_STAT_HEADS) ckg_fmt(k, sizeof k, "%s", x.HEADS);
        else snprintf(k, sizeof k, "%d", D->stat == CKG_STAT_TWO ? 2 : 1);
        ckg_fmt(sb, sizeof sb, "%s_TACT(A, %s_TSTAT_%s, %s, %s)", N, N, ckg_upper(X->v[t->out].name),
                o->section == CKG_BLOCK && !X->recompute ? "l" : "0", k);
        if (per_seq && D->stat == CKG_STAT_N_HEAD) ckg_fmt(x.st, sizeof x.st, "%s + (size_t)b * %s_N_HEAD * T", sb, N);
        else if (per_seq) ckg_die("internal: per-sequence statistics of %s", o->d->op);
        else ckg_fmt(x.st, sizeof x.st, "%s", sb);
        if (D->stat == CKG_STAT_TWO) ckg_fmt(x.st2, sizeof x.st2, "%s + BT", sb);
    }
    ckg_shape_note(O, o, t->a >= 0 ? X->v[t->a].cols : 0, t->a >= 0 ? X->v[t->a].cols_expr : NULL, X->v[t->out].cols, X->v[t->out].cols_expr, "B*T",
                   note, sizeof note);
    fprintf(f, "%s/* %sOP(%s, %s, %s, %s, %s): %s */\n", ind, bwd == 1 ? "backward of " : bwd == 2 ? "recompute " : "", o->d->op, o->d->out,
            o->d->a, o->d->b, o->d->c, note);
    pre[0] = 0;
    if (per_seq) {
        fprintf(f, "%sfor (b = 0; b < B; b++) /* per sequence: positions start at 0 */\n", ind);
        snprintf(pre, sizeof pre, "%s    ", ind);
    } else if (rowloop) {
        fprintf(f, "%sfor (t = 0; t < BT; t++) /* per row: %s reads a column view */\n", ind, o->d->op);
        snprintf(pre, sizeof pre, "%s    ", ind);
    } else
        snprintf(pre, sizeof pre, "%s", ind);
    ckg_expand(O, &x, tmpl, pre);
    if (t->lora >= 0) { /* the adapter beside the frozen matmul: out += scale * (a @ A^T) @ B^T, and its backward */
        const ckg_tlora *lo = &X->lora[t->lora];
        char call[2048];
        if (bwd == 1)
            ckg_fmt(call, sizeof call, "ck_lora_backward(%s, %s_TLA(A, GRADS, l, %d), %s_TLB(A, GRADS, l, %d), %s_TLSCR(A), %s_TLDSCR(A), %s, %s, "
                    "%s_TLA(A, LORA, l, %d), %s_TLB(A, LORA, l, %d), %s_lora_scale, %s, %s, %s, %s_TRAIN_LORA);",
                    x.da, N, t->lora, N, t->lora, N, N, x.dout, x.a, N, t->lora, N, t->lora, O->name, x.T, x.CA, x.C, N);
        else
            ckg_fmt(call, sizeof call, "ck_lora_forward(%s, %s_TLSCR(A), %s, %s_TLA(A, LORA, l, %d), %s_TLB(A, LORA, l, %d), %s_lora_scale, %s, %s, %s, "
                    "%s_TRAIN_LORA); /* adapter %s */", x.out, N, x.a, N, t->lora, N, t->lora, O->name, x.T, x.CA, x.C, N, lo->target);
        ckg_put_stmt(f, ind, call);
    }
    if (D->shape != CKG_SHAPE_VIEW)
        fprintf(f, "%s%s_TCHECK(A, \"%s OP(%s, %s, %s, %s, %s)\", %s);\n", ind, N, what, o->d->op, o->d->out, o->d->a, o->d->b,
                o->d->c, o->section == CKG_BLOCK ? "l" : "-1");
}

/* declare the value pointers of one section (block values at layer l; a carried input points
   at the previous layer's final version, or the head's for layer 0). grads: 0 the forward pass's
   values; 1 the backward pass's (the values its kernels read, and every gradient); 2 the backward
   pass's with recompute (every value the rerun forward writes, and every gradient) */
static void ckg_tdecl(ckg_out *O, const ckg_tir *X, int section, int grads)
{
    FILE *f = O->f;
    const char *ind = section == CKG_BLOCK ? "        " : "    ", *N = O->NAME;
    int i;
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i];
        const char *cols = ckg_cexpr(O, v->cols_expr, v->cols, 1), *shape = ckg_cexpr(O, v->cols_expr, v->cols, 0);
        if (v->section != section || v->view >= 0) continue;
        if (v->carry_in) {
            fprintf(f, "%sfloat *v_%s = l ? %s_TACT(A, %s_TA_%s, l - 1, %s) : v_%s; /* the previous layer's %s */\n", ind, v->name, N, N,
                    ckg_upper(X->v[v->last].name), cols, X->v[v->from].name, X->v[v->last].name);
        } else if (grads == 1 && (!v->bread || (section == CKG_BLOCK && ckg_tis_final(X, i)))) {
            /* not read by the backward pass: only its gradient */
        } else if (grads == 2 && ckg_tkept_final(X, i)) {
            /* kept, not rerun: only its gradient */
        } else if (ckg_tper_layer(X, i))
            fprintf(f, "%sfloat *v_%s = %s_TACT(A, %s_TA_%s, l, %s); /* [N_LAYER][B*T, %s] */\n", ind, v->name, N, N, ckg_upper(v->name), cols, shape);
        else if (ckg_tin_slab(X, i))
            fprintf(f, "%sfloat *v_%s = %s_TACT(A, %s_TA_%s, 0, %s); /* [B*T, %s], recompute slab: every layer writes it */\n", ind,
                    v->name, N, N, ckg_upper(v->name), cols, shape);
        else if (section == CKG_BLOCK)
            fprintf(f, "%sfloat *v_%s = %s_TACT(A, %s_TA_%s, 0, %s); /* [B*T, %s], not kept per layer: no backward kernel reads it */\n", ind,
                    v->name, N, N, ckg_upper(v->name), cols, shape);
        else
            fprintf(f, "%sfloat *v_%s = %s_TACT(A, %s_TA_%s, 0, %s); /* [B*T, %s] */\n", ind, v->name, N, N, ckg_upper(v->name), cols, shape);
        if (grads && X->probs_in_logits && i == X->logits)
            fprintf(f, "%sfloat *d_%s = %s_TACT(A, %s_TA_%s, 0, %s); /* the softmax in the logits' buffer, overwritten by their gradient */\n",
                    ind, v->name, N, N, ckg_upper(v->name), cols);
        else if (grads) fprintf(f, "%sfloat *d_%s = %s_TACT(A, %s_TD_%s, 0, %s);\n", ind, v->name, N, N, ckg_upper(v->name), cols);
    }
}
/* the foot reads the block's final versions of the last layer */
static void ckg_tdecl_finals(ckg_out *O, const ckg_tir *X, int grads)
{
    int i;
    const char *N = O->NAME;
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i], *last;
        const char *cols;
        if (!v->carry_in) continue;
        last = &X->v[v->last];
        cols = ckg_cexpr(O, last->cols_expr, last->cols, 1);
        fprintf(O->f, "    float *v_%s = %s_TACT(A, %s_TA_%s, %s_N_LAYER - 1, %s);\n", last->name, N, N, ckg_upper(last->name), N, cols);
        if (grads) fprintf(O->f, "    float *d_%s = %s_TACT(A, %s_TD_%s, 0, %s);\n", last->name, N, N, ckg_upper(last->name), cols);
    }
}

/* the training arena's offsets, named: saved activations (TA_), statistics (TSTAT_), gradients of the
   activations (TD_); a block value kept per layer has one slab of TSLAB(cols) bytes per layer */
static void ckg_temit_offsets(ckg_out *O, const ckg_tir *X)
{
    FILE *f = O->f;
    const char *N = O->NAME;
    int i;
    fprintf(f, "#define %s_TSLAB(cols) (((size_t)%s_TRAIN_MAX_B * %s_TRAIN_MAX_T * (size_t)(cols) * 4u + 63u) & ~(size_t)63u)\n", N, N, N);
    fprintf(f, "#define %s_TACT(A, off, l, cols) ((float *)(void *)((A) + (off) + (size_t)(l) * %s_TSLAB(cols)))\n", N, N);
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i];
        if (v->view >= 0 || v->carry_in) continue;
        fprintf(f, "#define %s_TA_%-12s 0x%09llxull /* %s[B*T, %s]%s */\n", N, ckg_upper(v->name), (unsigned long long)X->act_off[i],
                ckg_tper_layer(X, i) ? "[N_LAYER]" : "", ckg_cexpr(O, v->cols_expr, v->cols, 0), ckg_tin_slab(X, i) ? " recompute slab" : "");
    }
    for (i = 0; i < X->n_op; i++) {
        const ckg_top *t = &X->op[i];
        if (t->stat < 0) continue;
        fprintf(f, "#define %s_TSTAT_%-10s 0x%09llxull /* %s[B*T, %lld] %s of OP(%s, %s, ...) */\n", N, ckg_upper(X->v[t->out].name),
                (unsigned long long)X->stat_off[i], t->o->section == CKG_BLOCK && !X->recompute ? "[N_LAYER]" : "",
                (long long)ckg_tstat_per_row(O->M, X, t),
                t->o->desc->stat == CKG_STAT_N_HEAD ? "log-sum-exp per head" : t->o->desc->stat == CKG_STAT_TWO ? "mean, rstd" : "rstd",
                t->o->d->op, t->o->d->out);
    }
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i];
        if (v->view >= 0 || (X->probs_in_logits && i == X->logits)) continue;
        fprintf(f, "#define %s_TD_%-12s 0x%09llxull /* gradient [B*T, %s] */\n", N, ckg_upper(v->name), (unsigned long long)X->grad_off[i],
                ckg_cexpr(O, v->cols_expr, v->cols, 0));
    }
    if (X->probs_in_logits)
        fprintf(f, "#define %s_T_PROBS  %s_TA_%s /* [B*T, N_VOCAB] softmax of the logits, in their buffer; then their gradient */\n",
                N, N, ckg_upper(X->v[X->logits].name));
    else fprintf(f, "#define %s_T_PROBS  0x%09llxull /* [B*T, N_VOCAB] softmax of the logits */\n", N, (unsigned long long)X->probs_off);
    fprintf(f, "#define %s_T_LOSSES 0x%09llxull /* [B*T] */\n", N, (unsigned long long)X->losses_off);
}

static void ckg_temit(ckg_out *O, ckg_tir *X)
{
    FILE *f = O->f;
    const char *N = O->NAME, *n = O->name;
    int i, s;
    char lo[64] = "";
    if (X->lora_rank) snprintf(lo, sizeof lo, " --lora %d", X->lora_rank);
    fprintf(f, "/* %s_train.h — generated by ckgen (--train%s%s) from models/%s.h; do not edit.\n"
               "   Training for batches of up to %d sequences of up to %d tokens. One arena of %s_TRAIN_BYTES:\n",
            n, X->recompute ? " --recompute" : "", lo, O->M->fam->family, X->max_b, X->max_t, N);
    if (X->lora_rank)
        fprintf(f, "   weights (the frozen base, in the GGUF file's types) | lora adapters (the trained parameters) |\n"
                   "   gradients | AdamW m | AdamW v (each laid out like the adapters) |\n");
    else fprintf(f, "   weights | gradients | AdamW m | AdamW v (each laid out like the weights region) |\n");
    if (X->recompute)
        fprintf(f, "   saved activations (head and foot values; of the block only each layer's output, the next layer's input) |\n"
                   "   recompute slab (one layer's other values and statistics, written by every layer: before layer l's\n"
                   "   backward its forward reruns from its kept input into the slab) |\n");
    else fprintf(f, "   saved activations (block values once per layer) |\n");
    fprintf(f, "   scratch (gradients of the activations, rope caches), each followed by a 64-byte canary.\n"
               "   The loss's softmax%s. Include after %s.h. */\n",
            X->probs_in_logits ? " overwrites the logits, and its gradient the softmax" : " has its own buffer (a backward kernel reads the logits)", n);
    fprintf(f, "#ifndef %s_TRAIN_H\n#define %s_TRAIN_H\n#include <string.h>\n\n", N, N);
    fprintf(f, "#define %s_TRAIN_MAX_B %d\n#define %s_TRAIN_MAX_T %d\n", N, X->max_b, N, X->max_t);
    fprintf(f, "#define %s_TRAIN_RECOMPUTE %d\n#define %s_TRAIN_N_SECTIONS %d\n", N, X->recompute, N, ckg_tsec_count(X));
    fprintf(f, "#define %s_TRAIN_LORA %d /* --lora: the adapters' rank (0: every weight trains) */\n", N, X->lora_rank);
    for (i = 0; i < CKG_TS_N; i++)
        if (CKG_TSEC_PRESENT(X, (s = ckg_tsec_order[i])))
            fprintf(f, "#define %s_T_%-8s 0x%09llxull /* %.2f MB */\n", N, ckg_tsec_macros[s], (unsigned long long)X->sec_off[s],
                    (double)X->sec_bytes[s] / 1e6);
    fprintf(f, "#define %s_TRAIN_PARAM_BYTES %lluull /* the trained parameters (%s): the gradients' and AdamW moments' layout */\n", N,
            (unsigned long long)X->params_bytes, X->lora_rank ? "the adapters" : "the weights");
    fprintf(f, "#define %s_TRAIN_BYTES %lluull\n", N, (unsigned long long)X->bytes);
    fprintf(f, "#define %s_TRAIN_LAYER_BYTES %lluull /* saved activations kept per layer:", N, (unsigned long long)X->layer_bytes);
    for (i = 0; i < X->n_v; i++) if (ckg_tper_layer(X, i)) fprintf(f, " %s", X->v[i].name);
    for (i = 0; i < X->n_op; i++)
        if (!X->recompute && X->op[i].stat >= 0 && X->op[i].o->section == CKG_BLOCK) fprintf(f, " stat(%s)", X->v[X->op[i].out].name);
    fprintf(f, " */\n");
    ckg_temit_offsets(O, X);
    fprintf(f, "/* a layer's weight (or its gradient, AdamW moment) in section sec; a global one */\n");
    fprintf(f, "#define %s_TW(A, sec, r) ((r).off == CK_WREF_NONE ? NULL : (float *)(void *)((A) + %s_T_##sec + (r).off))\n", N, N);
    fprintf(f, "#define %s_TG(A, sec, off) ((float *)(void *)((A) + %s_T_##sec + (off)))\n", N, N);
    fprintf(f, "#define %s_TROPE(A, off) ((const float *)(const void *)((A) + %s_train_rope(off)))\n", N, n);
    fprintf(f, "static const ck_section_info %s_train_sections[%s_TRAIN_N_SECTIONS] = {\n", n, N);
    for (i = 0; i < CKG_TS_N; i++)
        if (CKG_TSEC_PRESENT(X, (s = ckg_tsec_order[i])))
            fprintf(f, "    { \"%s\", 0x%llx, %llu },\n", ckg_tsec_names[s], (unsigned long long)X->sec_off[s], (unsigned long long)X->sec_bytes[s]);
    fprintf(f, "};\n");
    if (X->lora_rank) {
        int k, l;
        fprintf(f, "/* --lora %d: each layer's adapters take %s_TRAIN_LORA_LAYER_BYTES of the adapters section (and of the gradients and\n"
                   "   moments): A [rank, n_in] and B^T [rank, n_out] of each adapted matrix, at these offsets */\n", X->lora_rank, N);
        fprintf(f, "#define %s_TRAIN_LORA_LAYER_BYTES %lluull\n", N, (unsigned long long)X->lora_layer_bytes);
        fprintf(f, "static const uint64_t %s_lora_a_off[%d] = {", n, X->n_lora);
        for (k = 0; k < X->n_lora; k++) fprintf(f, "%s0x%llx", k ? ", " : " ", (unsigned long long)X->lora[k].a_off);
        fprintf(f, " };\nstatic const uint64_t %s_lora_bt_off[%d] = {", n, X->n_lora);
        for (k = 0; k < X->n_lora; k++) fprintf(f, "%s0x%llx", k ? ", " : " ", (unsigned long long)X->lora[k].bt_off);
        fprintf(f, " };\n");
        fprintf(f, "#define %s_TLA(A, sec, l, k) ((float *)(void *)((A) + %s_T_##sec + (size_t)(l) * %s_TRAIN_LORA_LAYER_BYTES + %s_lora_a_off[k]))\n", N, N, N, n);
        fprintf(f, "#define %s_TLB(A, sec, l, k) ((float *)(void *)((A) + %s_T_##sec + (size_t)(l) * %s_TRAIN_LORA_LAYER_BYTES + %s_lora_bt_off[k]))\n", N, N, N, n);
        fprintf(f, "#define %s_TLSCR(A)  ((float *)(void *)((A) + 0x%llxull)) /* [B*T, rank] */\n", N, (unsigned long long)X->lora_scr_off);
        fprintf(f, "#define %s_TLDSCR(A) ((float *)(void *)((A) + 0x%llxull)) /* [B*T, rank] */\n", N, (unsigned long long)X->lora_dscr_off);
        fprintf(f, "#define %s_TBQ(A)    ((float *)(void *)((A) + 0x%llxull)) /* [CK_MATMUL_BQ_ROWS, %lld]: ck_matmul_backward_q's rows */\n", N,
                (unsigned long long)X->bq_off, (long long)X->bq_cols);
        fprintf(f, "#if CK_MATMUL_BQ_ROWS > %d\n#error \"CK_MATMUL_BQ_ROWS is larger than when ckgen planned this arena's scratch (%d rows)\"\n#endif\n",
                CK_MATMUL_BQ_ROWS, CK_MATMUL_BQ_ROWS);
        fprintf(f, "static float %s_lora_scale = 1.0f; /* alpha / rank: the trainer sets it */\n", n);
        fprintf(f, "/* every adapter, layer by layer: the base weight's name, its offset in the weights, rank, n_in, n_out, A and B^T\n"
                   "   in the adapters section (and at the same offsets in the gradients and moments) */\n"
                   "typedef struct { const char *name; uint64_t w_off; int rank; int64_t n_in, n_out; uint64_t a_off, bt_off; } %s_lora_tensor;\n", n);
        fprintf(f, "#define %s_TRAIN_LORA_TARGETS \"", N);
        for (k = 0; k < X->n_lora; k++) fprintf(f, "%s%s", k ? "," : "", X->lora[k].target);
        fprintf(f, "\"\n#define %s_TRAIN_N_LORA_TENSORS %d\nstatic const %s_lora_tensor %s_train_lora_tensors[%d] = {\n", N, X->n_lora * O->M->n_layer, n,
                n, X->n_lora * O->M->n_layer);
        for (l = 0; l < O->M->n_layer; l++)
            for (k = 0; k < X->n_lora; k++) {
                char name[160];
                const ckg_weight *w = ckg_find_weight(O->M, X->lora[k].w, l);
                snprintf(name, sizeof name, X->lora[k].gguf, l);
                fprintf(f, "    { \"%s\", 0x%llxull, %d, %lld, %lld, 0x%llxull, 0x%llxull },\n", name, (unsigned long long)w->t->offset,
                        X->lora_rank, (long long)X->lora[k].n_in, (long long)X->lora[k].n_out,
                        (unsigned long long)(l * X->lora_layer_bytes + X->lora[k].a_off), (unsigned long long)(l * X->lora_layer_bytes + X->lora[k].bt_off));
            }
        fprintf(f, "};\n");
    }
    /* the layer table's rope offsets are the inference ones: map them to the training copies */
    for (i = 0, s = 0; i < X->n_op; i++) s |= strstr(X->op[i].o->desc->fwd, "{rope}") != NULL;
    if (s) {
        fprintf(f, "static uint64_t %s_train_rope(uint64_t inference_off)\n{\n", n);
        for (i = 0; i < O->P->n_rope; i++)
            fprintf(f, "    if (inference_off == 0x%llxull) return 0x%llxull;\n", (unsigned long long)O->P->rope_off[i], (unsigned long long)X->rope_off[i]);
        fprintf(f, "    return 0x%llxull;\n}\n", (unsigned long long)X->rope_off[0]);
    }
    fprintf(f, "#ifdef CK_CANARIES\n#include <stdio.h>\n#include <stdlib.h>\n"
               "/* a guard word was overwritten: name the section and the op that ran last, and stop */\n"
               "static void %s_TCHECK(const uint8_t *A, const char *op, int layer)\n{\n"
               "    int s = ck_canary_check(A, %s_train_sections, %s_TRAIN_N_SECTIONS);\n"
               "    if (s < 0) return;\n"
               "    fprintf(stderr, \"%s: canary after section '%%s' overwritten; last op: %%s (layer %%d)\\n\", %s_train_sections[s].name, op, layer);\n"
               "    abort();\n}\n#else\n#define %s_TCHECK(A, op, layer) ((void)0)\n#endif\n\n", N, n, N, n, n, N);
    /* init */
    fprintf(f, "/* once, after the weights are in place: rope caches, zero optimizer state, canaries */\nstatic void %s_train_init(uint8_t *A)\n{\n", n);
    for (i = 0; i < O->P->n_rope; i++)
        fprintf(f, "    ck_rope_cache_ext((float *)(void *)(A + 0x%llxull), %s_TRAIN_MAX_T, %s_N_ROT, &%s_rope_params[%d]);\n",
                (unsigned long long)X->rope_off[i], N, N, n, i);
    fprintf(f, "    memset(A + %s_T_ADAM_M, 0, %lluu);\n    memset(A + %s_T_ADAM_V, 0, %lluu);\n    memset(A + %s_T_GRADS, 0, %lluu);\n", N,
            (unsigned long long)X->params_bytes, N, (unsigned long long)X->params_bytes, N, (unsigned long long)X->params_bytes);
    fprintf(f, "#ifdef CK_CANARIES\n    ck_canary_write(A, %s_train_sections, %s_TRAIN_N_SECTIONS);\n#endif\n}\n\n", n, N);

    /* forward */
    fprintf(f, "/* forward over B sequences of T tokens (positions 0..T-1 each), keeping what the backward pass needs;\n"
               "   returns the mean cross-entropy over the B*T targets (ignore_index -1) */\n"
               "static float %s_train_forward(uint8_t *A, const int32_t *tokens, const int32_t *targets, int B, int T)\n{\n", n);
    fprintf(f, "    const int BT = B * T;\n    int b, l, t;\n");
    ckg_tdecl(O, X, CKG_HEAD, 0);
    fprintf(f, "    /* head */\n");
    for (i = 0; i < X->n_op; i++) if (X->op[i].o->section == CKG_HEAD) ckg_temit_op(O, X, &X->op[i], 0);
    fprintf(f, "    for (l = 0; l < %s_N_LAYER; l++) {\n        const %s_layer *L = &%s_layers[l];\n", N, n, n);
    ckg_tdecl(O, X, CKG_BLOCK, 0);
    for (i = 0; i < X->n_op; i++) if (X->op[i].o->section == CKG_BLOCK) ckg_temit_op(O, X, &X->op[i], 0);
    fprintf(f, "        (void)L;\n    }\n    {\n        const %s_layer *L = &%s_layers[0];\n", n, n);
    ckg_tdecl_finals(O, X, 0);
    ckg_tdecl(O, X, CKG_FOOT, 0);
    fprintf(f, "    /* foot */\n");
    for (i = 0; i < X->n_op; i++) if (X->op[i].o->section == CKG_FOOT) ckg_temit_op(O, X, &X->op[i], 0);
    fprintf(f, "    (void)L; (void)b; (void)t;\n    return ck_cross_entropy_forward((float *)(void *)(A + %s_T_LOSSES), %s%s%s, v_%s,\n"
               "                                    targets, BT, %s_N_VOCAB, -1);%s\n    }\n}\n\n", N,
            X->probs_in_logits ? "v_" : "(float *)(void *)(A + ", X->probs_in_logits ? X->v[X->logits].name : N,
            X->probs_in_logits ? "" : "_T_PROBS)", X->v[X->logits].name, N, X->probs_in_logits ? " /* the softmax overwrites the logits */" : "");

    /* backward */
    fprintf(f, "/* backward of the last %s_train_forward: accumulates (+=) dloss * d(mean loss)/d(weight) into the gradients */\n"
               "static void %s_train_backward(uint8_t *A, const int32_t *tokens, const int32_t *targets, int B, int T, float dloss)\n{\n", n, n);
    fprintf(f, "    const int BT = B * T;\n    int b, l, t;\n");
    ckg_tdecl(O, X, CKG_HEAD, 1);
    ckg_tdecl_finals(O, X, 1);
    ckg_tdecl(O, X, CKG_FOOT, 1);
    fprintf(f, "    /* the activations' gradients start at zero: head, foot and the carried ones here, the block's per layer */\n");
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i];
        if (v->view >= 0) continue;
        if (X->probs_in_logits && i == X->logits) continue; /* the loss's backward writes it whole */
        if (v->section != CKG_BLOCK) fprintf(f, "    memset(d_%s, 0, (size_t)BT * %lld * sizeof(float));\n", v->name, (long long)v->cols);
        else if (v->carry_in) fprintf(f, "    memset(d_%s, 0, (size_t)BT * %lld * sizeof(float));\n", X->v[v->last].name, (long long)v->cols);
    }
    fprintf(f, "    {\n        const %s_layer *L = &%s_layers[0];\n", n, n);
    if (X->probs_in_logits)
        fprintf(f, "    ck_cross_entropy_backward(d_%s, d_%s, targets, BT, %s_N_VOCAB, -1, dloss); /* in place: softmax -> gradient */\n",
                X->v[X->logits].name, X->v[X->logits].name, N);
    else
        fprintf(f, "    ck_cross_entropy_backward(d_%s, (const float *)(const void *)(A + %s_T_PROBS), targets, BT, %s_N_VOCAB, -1, dloss);\n",
                X->v[X->logits].name, N, N);
    fprintf(f, "    /* foot, in reverse */\n");
    for (i = X->n_op - 1; i >= 0; i--) if (X->op[i].o->section == CKG_FOOT) ckg_temit_op(O, X, &X->op[i], 1);
    fprintf(f, "    (void)L;\n    }\n    for (l = %s_N_LAYER - 1; l >= 0; l--) {\n        const %s_layer *L = &%s_layers[l];\n", N, n, n);
    ckg_tdecl(O, X, CKG_BLOCK, X->recompute ? 2 : 1);
    if (X->recompute) {
        fprintf(f, "        /* recompute: layer l's forward again from its kept input, into the slab */\n");
        for (i = 0; i < X->n_op; i++)
            if (X->op[i].o->section == CKG_BLOCK && !ckg_tkept_final(X, X->op[i].out)) ckg_temit_op(O, X, &X->op[i], 2);
    }
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i];
        if (v->section == CKG_BLOCK && v->view < 0 && !ckg_tis_final(X, i)) fprintf(f, "        memset(d_%s, 0, (size_t)BT * %lld * sizeof(float));\n", v->name, (long long)v->cols);
    }
    for (i = X->n_op - 1; i >= 0; i--) if (X->op[i].o->section == CKG_BLOCK) ckg_temit_op(O, X, &X->op[i], 1);
    fprintf(f, "        /* the carried gradients go down a layer (layer 0: into the head's value) */\n");
    for (i = 0; i < X->n_v; i++) {
        const ckg_tval *v = &X->v[i];
        if (!v->carry_in) continue;
        fprintf(f, "        if (l) memcpy(d_%s, d_%s, (size_t)BT * %lld * sizeof(float));\n", X->v[v->last].name, v->name, (long long)v->cols);
        fprintf(f, "        else ck_add_backward(d_%s, NULL, d_%s, (size_t)BT * %lld);\n", X->v[v->from].name, v->name, (long long)v->cols);
    }
    fprintf(f, "        (void)L;\n    }\n    /* head, in reverse */\n    {\n        const %s_layer *L = &%s_layers[0];\n", n, n);
    for (i = X->n_op - 1; i >= 0; i--) if (X->op[i].o->section == CKG_HEAD) ckg_temit_op(O, X, &X->op[i], 1);
    fprintf(f, "    (void)L; (void)b; (void)t; (void)tokens;\n    }\n}\n\n");

    if (X->lora_rank) { /* the optimizer over the adapters: one run of floats (the alignment gaps stay 0) */
        fprintf(f, "/* gradient L2 norm over every adapter (accumulated in double) */\nstatic float %s_train_grad_norm(const uint8_t *A)\n{\n"
                   "    const float *g = (const float *)(const void *)(A + %s_T_GRADS);\n    double s = 0;\n    size_t j;\n"
                   "    for (j = 0; j < %s_TRAIN_PARAM_BYTES / 4; j++) s += (double)g[j] * g[j];\n    return (float)sqrt(s);\n}\n\n", n, N, N);
        fprintf(f, "/* one AdamW step on every adapter (A and B: weight decay on both); the base is frozen.\n"
                   "   grad_scale multiplies every gradient first (clipping) */\n"
                   "static void %s_train_adamw(uint8_t *A, float lr, float beta1, float beta2, float eps, float wd, int step, float grad_scale)\n{\n"
                   "    float *p = (float *)(void *)(A + %s_T_LORA), *g = (float *)(void *)(A + %s_T_GRADS);\n"
                   "    float *m = (float *)(void *)(A + %s_T_ADAM_M), *v = (float *)(void *)(A + %s_T_ADAM_V);\n"
                   "    size_t j, n = %s_TRAIN_PARAM_BYTES / 4;\n"
                   "    if (grad_scale != 1.0f) for (j = 0; j < n; j++) g[j] *= grad_scale;\n"
                   "    ck_adamw_update(p, g, m, v, n, lr, beta1, beta2, eps, wd, step);\n"
                   "    %s_TCHECK(A, \"adamw\", -1);\n}\n\n", n, N, N, N, N, N, N);
    } else {
    /* the optimizer over the weights table */
    fprintf(f, "/* gradient L2 norm over every weight (accumulated in double) */\nstatic float %s_train_grad_norm(const uint8_t *A)\n{\n"
               "    double s = 0;\n    int i;\n    for (i = 0; i < %d; i++) {\n"
               "        const float *g = (const float *)(const void *)(A + %s_T_GRADS + %s_weights[i].off);\n"
               "        size_t j, n = %s_weights[i].bytes / 4;\n        for (j = 0; j < n; j++) s += (double)g[j] * g[j];\n    }\n"
               "    return (float)sqrt(s);\n}\n\n", n, O->n_info, N, n, n);
    fprintf(f, "/* one AdamW step on every weight; weight decay on matrices only (ne1 > 1), as nanoGPT and llm.c;\n"
               "   grad_scale multiplies every gradient first (clipping) */\n"
               "static void %s_train_adamw(uint8_t *A, float lr, float beta1, float beta2, float eps, float wd, int step, float grad_scale)\n{\n"
               "    int i;\n    for (i = 0; i < %d; i++) {\n        const ck_weight_info *w = &%s_weights[i];\n"
               "        float *p = (float *)(void *)(A + %s_T_WEIGHTS + w->off), *g = (float *)(void *)(A + %s_T_GRADS + w->off);\n"
               "        float *m = (float *)(void *)(A + %s_T_ADAM_M + w->off), *v = (float *)(void *)(A + %s_T_ADAM_V + w->off);\n"
               "        size_t j, n = w->bytes / 4;\n"
               "        if (grad_scale != 1.0f) for (j = 0; j < n; j++) g[j] *= grad_scale;\n"
               "        ck_adamw_update(p, g, m, v, n, lr, beta1, beta2, eps, w->ne1 > 1 ? wd : 0.0f, step);\n    }\n"
               "    %s_TCHECK(A, \"adamw\", -1);\n}\n\n", n, O->n_info, n, N, N, N, N, N);
    }
    fprintf(f, "#define CKM_TRAIN_MAX_B %s_TRAIN_MAX_B\n#define CKM_TRAIN_MAX_T %s_TRAIN_MAX_T\n#define CKM_TRAIN_BYTES %s_TRAIN_BYTES\n"
               "#define CKM_TRAIN_INIT %s_train_init\n#define CKM_TRAIN_FORWARD %s_train_forward\n#define CKM_TRAIN_BACKWARD %s_train_backward\n"
               "#define CKM_TRAIN_GRAD_NORM %s_train_grad_norm\n#define CKM_TRAIN_ADAMW %s_train_adamw\n#define CKM_TRAIN_SECTIONS %s_train_sections\n"
               "#define CKM_TRAIN_N_SECTIONS %s_TRAIN_N_SECTIONS\n#define CKM_TRAIN_RECOMPUTE %s_TRAIN_RECOMPUTE\n"
               "#define CKM_T_WEIGHTS %s_T_WEIGHTS\n#define CKM_T_GRADS %s_T_GRADS\n#define CKM_T_ADAM_M %s_T_ADAM_M\n#define CKM_T_ADAM_V %s_T_ADAM_V\n",
            N, N, N, n, n, n, n, n, n, N, N, N, N, N, N);
    fprintf(f, "#define CKM_TRAIN_LORA %s_TRAIN_LORA\n#define CKM_TRAIN_PARAM_BYTES %s_TRAIN_PARAM_BYTES\n#define CKM_T_PARAMS %s_T_%s\n", N, N, N,
            X->lora_rank ? "LORA" : "WEIGHTS");
    if (X->lora_rank)
        fprintf(f, "#define CKM_TRAIN_LORA_TARGETS %s_TRAIN_LORA_TARGETS\n#define CKM_TRAIN_N_LORA_TENSORS %s_TRAIN_N_LORA_TENSORS\n"
                   "#define CKM_TRAIN_LORA_TENSORS %s_train_lora_tensors\n#define CKM_TRAIN_LORA_TENSOR %s_lora_tensor\n"
                   "#define CKM_TRAIN_LORA_SCALE %s_lora_scale\n", N, N, n, n, n);
    fprintf(f, "\n#endif /* %s_TRAIN_H */\n", N);
}


/* ---- 10. a new model from a config.json: ckgen --init CONFIG.json OUT.gguf ------------------
   For training from scratch. The config is a flat JSON object: "architecture" (a family's
   GGUF name, or HF's "model_type"), the declaration's hyperparameter names or their Hugging
   Face spellings (hidden_size, num_hidden_layers, ...), optional "tie_word_embeddings",
   "tokenizer": "bytes" (a byte-level vocabulary of 256 tokens, GPT-2 style, so llama.cpp and
   the tokenizer read it) and "seed". The file gets the family's metadata keys (from the
   declaration's HPARAMS) and every declared weight, initialised as GPT-2 / llm.c do: matrices
   and embeddings N(0, 0.02), the residual projections (attn_output, ffn_down) scaled by
   1/sqrt(2 n_layer), norm weights 1, biases 0. */

typedef struct { char key[64]; char str[64]; double num; int is_str; } ckg_jkv;

/* a flat JSON object of numbers, strings and booleans; anything else is an error naming the place */
static int ckg_json_flat(const char *path, ckg_jkv *out, int cap)
{
    FILE *f = fopen(path, "rb");
    char buf[65536], *p;
    size_t n;
    int k = 0;
    if (!f) ckg_die("cannot open %s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    p = buf;
#define CKG_WS() while (*p && isspace((unsigned char)*p)) p++
    CKG_WS();
    if (*p++ != '{') ckg_die("%s: not a JSON object", path);
    for (;;) {
        char *e;
        CKG_WS();
        if (*p == '}') break;
        if (*p != '"') ckg_die("%s: expected a key at byte %ld", path, (long)(p - buf));
        if (k == cap) ckg_die("%s: too many keys", path);
        e = strchr(p + 1, '"');
        if (!e || e - p - 1 >= (long)sizeof out[k].key) ckg_die("%s: bad key at byte %ld", path, (long)(p - buf));
        memcpy(out[k].key, p + 1, (size_t)(e - p - 1));
        out[k].key[e - p - 1] = 0;
        p = e + 1;
        CKG_WS();
        if (*p++ != ':') ckg_die("%s: expected ':' after \"%s\"", path, out[k].key);
        CKG_WS();
        if (*p == '"') {
            e = strchr(p + 1, '"');
            if (!e || e - p - 1 >= (long)sizeof out[k].str) ckg_die("%s: bad string for \"%s\"", path, out[k].key);
            memcpy(out[k].str, p + 1, (size_t)(e - p - 1));
            out[k].str[e - p - 1] = 0;
            out[k].is_str = 1;
            p = e + 1;
        } else if (!strncmp(p, "true", 4)) { out[k].num = 1; p += 4; }
        else if (!strncmp(p, "false", 5)) { out[k].num = 0; p += 5; }
        else if (!strncmp(p, "null", 4)) { out[k].is_str = 2; p += 4; }
        else {
            out[k].num = strtod(p, &e);
            if (e == p) ckg_die("%s: \"%s\": expected a number, a string or a boolean (nested values are not supported)", path, out[k].key);
            p = e;
        }
        k++;
        CKG_WS();
        if (*p == ',') { p++; continue; }
        if (*p == '}') break;
        ckg_die("%s: expected ',' or '}' at byte %ld", path, (long)(p - buf));
    }
#undef CKG_WS
    return k;
}

static const ckg_jkv *ckg_jget(const ckg_jkv *kv, int n, const char *key)
{
    int i;
    for (i = 0; i < n; i++) if (!strcmp(kv[i].key, key) && kv[i].is_str != 2) return &kv[i];
    return NULL;
}

static int ckg_init_from_config(const char *cfg, const char *out)
{
    static const char *hf[][2] = { /* Hugging Face config names -> declaration names */
        { "hidden_size", "n_embd" }, { "num_hidden_layers", "n_layer" }, { "intermediate_size", "n_ff" },
        { "num_attention_heads", "n_head" }, { "num_key_value_heads", "n_head_kv" }, { "head_dim", "head_dim" },
        { "rope_theta", "rope_base" }, { "rms_norm_eps", "norm_eps" }, { "layer_norm_epsilon", "norm_eps" },
        { "max_position_embeddings", "n_ctx" }, { "n_positions", "n_ctx" }, { "vocab_size", "n_vocab" },
        { "n_inner", "n_ff" }, { "sliding_window", "sliding_window" } };
    ckg_jkv kv[128];
    int nkv = ckg_json_flat(cfg, kv, 128), f, j, il, tied = 1, bytes_tok = 0;
    const ckg_family *F = NULL;
    const ckg_jkv *a = ckg_jget(kv, nkv, "architecture");
    ckg_env env;
    ck_gguf_builder b;
    uint64_t seed = 1234;
    char arch[64];
    memset(&env, 0, sizeof env);
    if (!a) a = ckg_jget(kv, nkv, "model_type");
    if (!a || a->is_str != 1) ckg_die("%s: no \"architecture\" (or \"model_type\")", cfg);
    snprintf(arch, sizeof arch, "%s", !strcmp(a->str, "gemma3_text") ? "gemma3" : a->str);
    for (f = 0; f < CKG_N_FAMILIES; f++) if (!strcmp(ckg_families[f].arch, arch)) F = &ckg_families[f];
    if (!F) ckg_die("%s: architecture '%s' has no declaration in models/", cfg, arch);
    if (ckg_jget(kv, nkv, "tie_word_embeddings")) tied = ckg_jget(kv, nkv, "tie_word_embeddings")->num != 0;
    if (ckg_jget(kv, nkv, "seed")) seed = (uint64_t)ckg_jget(kv, nkv, "seed")->num;
    if (!seed) seed = 1;
    if (ckg_jget(kv, nkv, "tokenizer")) {
        if (strcmp(ckg_jget(kv, nkv, "tokenizer")->str, "bytes")) ckg_die("%s: \"tokenizer\": only \"bytes\" is known", cfg);
        bytes_tok = 1;
    }
    env.fam = F;
    env.il = -1;
    for (j = 0; j < F->n_hp; j++) {
        const ckg_hp_decl *h = &F->hp[j];
        ckg_sym *s = ckg_sym_add(&env, h->name);
        const ckg_jkv *v = ckg_jget(kv, nkv, h->name);
        size_t k;
        for (k = 0; !v && k < sizeof hf / sizeof hf[0]; k++)
            if (!strcmp(hf[k][1], h->name)) v = ckg_jget(kv, nkv, hf[k][0]);
        if (v && v->is_str) ckg_die("%s: \"%s\" must be a number", cfg, v->key);
        if (!v && !strcmp(h->name, "n_vocab") && bytes_tok) { s->value = 256; s->bound = 1; continue; }
        if (v) { s->value = v->num; s->bound = 1; continue; }
        if (!strcmp(h->def, "REQUIRED") || !strcmp(h->def, "FROM_WEIGHTS")) ckg_die("%s: needs \"%s\" (models/%s.h)", cfg, h->name, F->family);
        s->value = ckg_eval(&env, h->def, NULL);
        s->bound = 1;
    }
    ck_gguf_builder_init(&b);
    ck_gguf_add_str(&b, "general.architecture", F->arch);
    ck_gguf_add_str(&b, "general.name", ckg_jget(kv, nkv, "name") ? ckg_jget(kv, nkv, "name")->str : "ckernel-init");
    for (j = 0; j < F->n_hp; j++) {
        const ckg_hp_decl *h = &F->hp[j];
        char key[160];
        double v = env.syms[j].value;
        if (!h->key[0]) continue;
        snprintf(key, sizeof key, h->key, F->arch);
        if (v == floor(v) && v >= 0 && v < 4294967296.0 && !strstr(h->key, "epsilon") && !strstr(h->key, "freq_base")) ck_gguf_add_u32(&b, key, (uint32_t)v);
        else ck_gguf_add_f32(&b, key, (float)v);
    }
    if (bytes_tok) { /* GPT-2's byte-level alphabet: printable bytes as themselves, the rest from U+0100 on */
        static char store[256][5];
        const char *toks[256];
        int32_t types[256];
        int i;
        if ((int)ckg_get(&env, "n_vocab") != 256) ckg_die("%s: \"tokenizer\": \"bytes\" needs a vocabulary of 256", cfg);
        for (i = 0; i < 256; i++) { /* the tokenizer's own byte <-> character map (ckernel.h section 15) */
            store[i][ck__utf8_put((uint8_t *)store[i], ck__byte_to_cp((uint8_t)i))] = 0;
            toks[i] = store[i];
            types[i] = 1;
        }
        ck_gguf_add_str(&b, "tokenizer.ggml.model", "gpt2");
        ck_gguf_add_str(&b, "tokenizer.ggml.pre", "default");
        ck_gguf_add_arr_str(&b, "tokenizer.ggml.tokens", 256, toks);
        ck_gguf_add_arr(&b, "tokenizer.ggml.token_type", CK_GGUF_I32, 256, types);
        ck_gguf_add_arr_str(&b, "tokenizer.ggml.merges", 0, toks);
        ck_gguf_add_bool(&b, "tokenizer.ggml.add_bos_token", 0);
    }
    {
        int n_layer = (int)ckg_get(&env, "n_layer");
        float **bufs = (float **)calloc((size_t)(F->n_gw + n_layer * F->n_lw) + 1, sizeof(float *));
        int nb = 0;
        for (il = -1; il < n_layer; il++) {
            const ckg_w_decl *d = il < 0 ? F->gw : F->lw;
            int n = il < 0 ? F->n_gw : F->n_lw;
            env.il = il;
            for (j = 0; j < n; j++) {
                char name[160];
                int64_t ne[2];
                size_t i, cnt;
                double sd = 0.02;
                float *w;
                if (!strcmp(d[j].flags, "OPTIONAL")) continue;
                if (ckg_flag_arg(d[j].flags, "TIED") && tied) continue;
                snprintf(name, sizeof name, d[j].gguf, il);
                ne[0] = ckg_eval_int(&env, d[j].ne0, name);
                ne[1] = ckg_eval_int(&env, d[j].ne1, name);
                cnt = (size_t)ne[0] * (size_t)ne[1];
                w = bufs[nb++] = (float *)malloc(cnt * sizeof(float));
                if (strstr(name, "norm")) for (i = 0; i < cnt; i++) w[i] = strstr(name, ".bias") ? 0.0f : 1.0f;
                else if (ne[1] == 1) for (i = 0; i < cnt; i++) w[i] = 0.0f; /* biases */
                else {
                    if (strstr(name, "attn_output.weight")) sd = 0.02 / sqrt(2.0 * n_layer);
                    if (strstr(name, "ffn_down")) sd = 0.02 / sqrt(2.0 * n_layer);
                    for (i = 0; i < cnt; i++) w[i] = (float)(sd * ck_rand_normal(&seed));
                }
                ck_gguf_add_tensor(&b, name, ne[1] == 1 ? 1 : 2, ne, CK_F32, w);
            }
        }
        if (ck_gguf_write_file(&b, out) != 0) ckg_die("writing %s: %s", out, b.error);
        fprintf(stderr, "ckgen: %s (%s, %d layers, %.2f M parameters) -> %s\n", cfg, F->arch, n_layer, (double)(ck_gguf_builder_size(&b)) / 4e6, out);
        while (nb) free(bufs[--nb]);
        free(bufs);
    }
    ck_gguf_builder_free(&b);
    return 0;
}

/* --weights-c: the weights region as a const C array (DIR/NAME_weights.h), for targets with no
   file system: the model is then one translation unit and its weights sit in flash. The array
   holds exactly the bytes of weights.bump after its header; NAME_WEIGHTS_LAYOUT_HASH lets the
   program check at compile time that the data and the generated code belong together. The
   union gives the array 8-byte alignment (every tensor offset is a multiple of 32, so each
   tensor is then aligned for its blocks); a firmware may define CK_WEIGHTS_ATTR (e.g. a
   section attribute) before including it to place the array. */
static void ckg_emit_weights_c(const ckg_out *O, FILE *f)
{
    const uint8_t *w = O->M->g.file + O->M->g.data_offset;
    uint64_t i, n = O->P->weights_bytes;
    const char *N = O->NAME;
    fprintf(f, "/* %s_weights.h — generated by ckgen --weights-c from %s (%s, %d layers); do not edit.\n"
               "   The weights region of %s.h as a const array (%llu bytes, layout 0x%016llx): the bytes of\n"
               "   weights.bump after its header. Include it after %s.h in the one translation unit. */\n",
            O->name, ckg_comment_path(O->gguf_path), O->M->fam->arch, O->M->n_layer, O->name, (unsigned long long)n, (unsigned long long)O->P->layout_hash, O->name);
    fprintf(f, "#ifndef %s_WEIGHTS_H\n#define %s_WEIGHTS_H\n#include <stdint.h>\n\n", N, N);
    fprintf(f, "#define %s_WEIGHTS_LAYOUT_HASH 0x%016llxull\n", N, (unsigned long long)O->P->layout_hash);
    fprintf(f, "#if defined(%s_LAYOUT_HASH) && %s_LAYOUT_HASH != %s_WEIGHTS_LAYOUT_HASH\n#error \"%s_weights.h was generated for another layout than %s.h: run ckgen on both together\"\n#endif\n",
            N, N, N, O->name, O->name);
    fprintf(f, "#ifndef CK_WEIGHTS_ATTR\n#define CK_WEIGHTS_ATTR\n#endif\n\n");
    fprintf(f, "static const union { uint8_t bytes[%llu]; uint64_t align; } %s_weights_data CK_WEIGHTS_ATTR = { {\n",
            (unsigned long long)(n ? n : 1), O->name);
    for (i = 0; i < n; i++) fprintf(f, "%u%s", w[i], i + 1 == n ? "\n" : (i % 32 == 31 ? ",\n" : ","));
    if (!n) fprintf(f, "0\n");
    fprintf(f, "} };\n\n");
    fprintf(f, "#define CKM_WEIGHTS_DATA (%s_weights_data.bytes)\n#define CKM_WEIGHTS_DATA_BYTES %lluull\n\n#endif /* %s_WEIGHTS_H */\n",
            O->name, (unsigned long long)n, N);
}

/* a whole number option in [lo, hi], or a message naming the option and the value */
static int ckg_opt_int(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (end == v || *end || errno == ERANGE || x < lo || x > hi) {
        fprintf(stderr, "ckgen: %s %s: expected a whole number in [%ld, %ld]\n", opt, v, lo, hi);
        exit(2);
    }
    return (int)x;
}

static int ckg_usage(int rc)
{
    printf("usage: ckgen MODEL.gguf -o DIR [--name NAME] [--max-ctx N] [--max-prompt N] [--kv-f16] [--no-bump] [--weights-c]\n"
           "                           [--train [--train-batch B] [--train-seq T] [--recompute] [--lora RANK [--lora-targets LIST]]]\n"
           "       ckgen MODEL.gguf --hash-only   (print the layout hash and stop)\n"
           "       ckgen --init CONFIG.json OUT.gguf   (a new model: the family's keys, weights initialised for training)\n"
           "  Binds the declaration in models/ named by the file's general.architecture to the file's\n"
           "  hyperparameters and tensors, plans one arena and writes plain C:\n"
           "    DIR/NAME.h                 constants, offsets, NAME_init/NAME_prefill/NAME_decode\n"
           "    DIR/layout.json            every buffer: name, role, dtype, shape, offset, bytes\n"
           "    DIR/weights_manifest.json  every tensor: name, type, shape, offset, bytes\n"
           "    DIR/weights.bump           the weights region with a header (unless --no-bump)\n"
           "    DIR/NAME_weights.h         with --weights-c: the weights region as a const C array (MCUs)\n"
           "  --max-ctx N     KV cache positions (default: the model's context length, at most 4096)\n"
           "  --max-prompt N  tokens per prefill call (default 512, at most max-ctx)\n"
           "  --kv-f16        keep the KV cache in F16 (half the memory; keys and values rounded to F16,\n"
           "                  as llama.cpp's default cache; head_dim <= 256; inference only)\n"
           "  --train         also write DIR/NAME_train.h: forward with saved activations, backward,\n"
           "                  AdamW, for batches of up to B (default 4) sequences of up to T tokens\n"
           "                  (default: the model's context, at most 1024); every weight must be f32\n"
           "  --recompute     with --train: keep only each layer's input for the backward pass and rerun\n"
           "                  the layer's forward before its backward (activation recomputation: the\n"
           "                  saved activations shrink about N_LAYER times, for about one more forward\n"
           "                  pass of compute; losses and weights are bit-identical)\n"
           "  --lora RANK     with --train: LoRA (QLoRA with a quantized base): the base weights stay frozen\n"
           "                  in their GGUF types (matmuls and embeddings may be quantized; no f32 copy),\n"
           "                  rank-RANK adapters train beside the block's matmuls\n"
           "  --lora-targets LIST  which: q,k,v,o,qkv,gate,up,down (comma-separated; default every one\n"
           "                  the family has; phi3's fused gate and up matrix is up)\n"
           "  NAME defaults to the file name, made a C identifier. Families:");
    {
        int f;
        for (f = 0; f < CKG_N_FAMILIES; f++) printf(" %s", ckg_families[f].arch);
    }
    printf("\n");
    return rc;
}

int main(int argc, char **argv)
{
    static ckg_model M;
    static ckg_ir R;
    static ckg_plan P;
    ckg_out O;
    const char *in = NULL, *dir = NULL, *name = NULL;
    const ck_gguf_tensor *ts[CKG_MAX_WEIGHTS];
    ck_weight_info info[CKG_MAX_WEIGHTS];
    char path[1200];
    int i, n_info, bump = 1, hash_only = 0, weights_c = 0, train = 0, train_b = 4, train_t = 0, recompute = 0, lora_rank = 0;
    const char *lora_targets = NULL;
    FILE *f;
    memset(&P, 0, sizeof P);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return ckg_usage(0);
        else if (!strcmp(argv[i], "--init")) {
            if (i + 2 >= argc) return ckg_usage(2);
            ckg_input = argv[i + 1];
            return ckg_init_from_config(argv[i + 1], argv[i + 2]);
        }
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--max-ctx") && i + 1 < argc) { P.max_ctx = ckg_opt_int(argv[i], argv[i + 1], 1, 16777216); i++; }
        else if (!strcmp(argv[i], "--max-prompt") && i + 1 < argc) { P.max_prompt = ckg_opt_int(argv[i], argv[i + 1], 1, 16777216); i++; }
        else if (!strcmp(argv[i], "--no-bump")) bump = 0;
        else if (!strcmp(argv[i], "--kv-f16")) P.kv_f16 = 1;
        else if (!strcmp(argv[i], "--train")) train = 1;
        else if (!strcmp(argv[i], "--recompute")) recompute = 1;
        else if (!strcmp(argv[i], "--lora") && i + 1 < argc) { lora_rank = ckg_opt_int(argv[i], argv[i + 1], 1, 4096); i++; }
        else if (!strcmp(argv[i], "--lora-targets") && i + 1 < argc) lora_targets = argv[++i];
        else if (!strcmp(argv[i], "--train-batch") && i + 1 < argc) { train_b = ckg_opt_int(argv[i], argv[i + 1], 1, 65536); i++; }
        else if (!strcmp(argv[i], "--train-seq") && i + 1 < argc) { train_t = ckg_opt_int(argv[i], argv[i + 1], 1, 1048576); i++; }
        else if (!strcmp(argv[i], "--weights-c")) weights_c = 1;
        else if (!strcmp(argv[i], "--hash-only")) hash_only = 1;
        else if (argv[i][0] == '-') { fprintf(stderr, "ckgen: unknown option %s\n", argv[i]); return ckg_usage(2); }
        else if (!in) in = argv[i];
        else { fprintf(stderr, "ckgen: one model at a time\n"); return ckg_usage(2); }
    }
    if (!in || (!dir && !hash_only)) return ckg_usage(2);
    if (recompute && !train) { fprintf(stderr, "ckgen: --recompute is an option of --train (the training arena); add --train\n"); return 2; }
    if ((lora_rank || lora_targets) && !train) { fprintf(stderr, "ckgen: --lora and --lora-targets are options of --train (a LoRA trainer); add --train\n"); return 2; }
    if (lora_targets && !lora_rank) { fprintf(stderr, "ckgen: --lora-targets needs --lora RANK\n"); return 2; }
    ckg_input = in;
    memset(&O, 0, sizeof O);
    { /* the name: given, or the file's base name as a C identifier */
        const char *b = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
        size_t k, n = 0;
        if (name) b = name;
        for (k = 0; b[k] && n < sizeof O.name - 2; k++) {
            char ch = b[k];
            if (!name && ch == '.' && !strcmp(b + k, ".gguf")) break;
            O.name[n++] = isalnum((unsigned char)ch) ? (char)tolower((unsigned char)ch) : '_';
        }
        O.name[n] = 0;
        if (!n || isdigit((unsigned char)O.name[0])) { memmove(O.name + 2, O.name, n + 1); O.name[0] = 'm'; O.name[1] = '_'; }
        snprintf(O.NAME, sizeof O.NAME, "%s", ckg_upper(O.name));
    }
    ckg_bind(&M, in);
    {
        int n_ctx = (int)ckg_param(&M, "n_ctx", 0, 2048);
        if (P.max_ctx <= 0) P.max_ctx = n_ctx < 4096 ? n_ctx : 4096;
        if (P.max_prompt <= 0) P.max_prompt = 512;
        if (P.max_prompt > P.max_ctx) P.max_prompt = P.max_ctx;
    }
    ckg_lower(&M, &R);
    if (P.kv_f16 && ckg_get(&M.env, "head_dim") > CK_ATTN_F16_MAX_HS)
        ckg_die("--kv-f16: head_dim %g is larger than the F16 cache's attention supports (%d); drop --kv-f16", ckg_get(&M.env, "head_dim"),
                CK_ATTN_F16_MAX_HS);
    for (i = 0; i < R.n_op; i++) { /* a learned position table (GPT-2) bounds the context: never read past its rows */
        const ckg_weight *pw = R.op[i].wc && (R.op[i].desc->flags & CKG_F_POSITIONS) ? ckg_find_weight(&M, R.op[i].wc, -1) : NULL;
        if (pw && P.max_ctx > ckg_wdim(&M, R.op[i].wc, 1))
            ckg_die("--max-ctx %d exceeds the %lld positions of %s (%s)", P.max_ctx, (long long)ckg_wdim(&M, R.op[i].wc, 1), R.op[i].wc,
                    pw->gguf_name);
        if (pw && pw->t && pw->t->type != CK_F32) /* the embedding kernels add it as f32 rows */
            ckg_die("%s is %s; a position table must be f32 (ck quantize keeps it f32, as llama.cpp's quantizer does)", pw->gguf_name,
                    ck_type_name((int)pw->t->type));
    }
    ckg_plan_all(&M, &R, &P);
    n_info = ckg_used_tensors(&M, ts);
    ckg_fill_info(&M, info, ts, n_info, &P.weights_bytes);
    P.layout_hash = ck_layout_hash(info, n_info);
    if (hash_only) { /* for caches: same layout, same program */
        printf("%016llx\n", (unsigned long long)P.layout_hash);
        for (i = 0; i < n_info; i++) free((char *)(uintptr_t)info[i].name);
        free(M.lp);
        free(P.layer_rope);
        ck_gguf_close(&M.g);
        return 0;
    }
    O.M = &M; O.R = &R; O.P = &P; O.gguf_path = in; O.n_info = n_info;
    if (train) {
        for (i = 0; i < n_info && !lora_rank; i++) /* --lora: the frozen base keeps its types (ckg_tlora_plan checks them) */
            if (info[i].type != CK_F32)
                ckg_die("--train needs f32 weights (master weights), but %s is %s: convert with 'ck dequantize %s OUT.gguf', or train LoRA adapters on the quantized base (--lora RANK)", info[i].name, ck_type_name(info[i].type), in);
        if (train_b < 1 || train_t < 0) ckg_die("--train-batch and --train-seq must be positive");
        if (!train_t) { int n_ctx = (int)ckg_param(&M, "n_ctx", 0, 1024); train_t = n_ctx < 1024 ? n_ctx : 1024; }
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) ckg_die("cannot create %s: %s", dir, strerror(errno));
    {
        char file[80];
        snprintf(file, sizeof file, "%s.h", O.name);
        O.f = f = ckg_create(dir, file, path, sizeof path);
    }
    ckg_emit_header(&O, info, n_info);
    ckg_close(f, path);
    if (train) {
        static ckg_tir X;
        char file[96];
        ckg_tlower(&M, &R, &X);
        X.max_b = train_b;
        X.max_t = train_t;
        X.recompute = recompute;
        if (lora_rank) ckg_tlora_plan(&M, &X, lora_rank, lora_targets);
        ckg_tplan(&M, &X, &P);
        snprintf(file, sizeof file, "%s_train.h", O.name);
        O.f = f = ckg_create(dir, file, path, sizeof path);
        ckg_temit(&O, &X);
        ckg_close(f, path);
        {
            char slab[64] = "";
            if (recompute) snprintf(slab, sizeof slab, ", recompute slab %.2f MB", (double)X.sec_bytes[CKG_TS_SLAB] / 1e6);
            fprintf(stderr, "ckgen: training arena %.2f MB (batch %d x %d; saved activations %.2f MB%s) -> %s\n", (double)X.bytes / 1e6,
                    train_b, train_t, (double)X.sec_bytes[CKG_TS_ACTS] / 1e6, slab, path);
        }
    }
    f = ckg_create(dir, "layout.json", path, sizeof path);
    ckg_emit_layout_json(&O, f);
    ckg_close(f, path);
    f = ckg_create(dir, "weights_manifest.json", path, sizeof path);
    ckg_emit_manifest(&O, f, info, n_info);
    ckg_close(f, path);
    if (bump) {
        snprintf(path, sizeof path, "%s/weights.bump", dir);
        if (ck_bump_write(path, M.g.file + M.g.data_offset, P.weights_bytes, P.layout_hash) != 0) ckg_die("cannot write %s: %s", path, strerror(errno));
    }
    if (weights_c) {
        char file[80];
        snprintf(file, sizeof file, "%s_weights.h", O.name);
        f = ckg_create(dir, file, path, sizeof path);
        ckg_emit_weights_c(&O, f);
        ckg_close(f, path);
    }
    fprintf(stderr, "ckgen: %s (%s, %d layers) -> %s/%s.h  weights %.2f MB, state %.2f MB, layout 0x%016llx\n", in, M.fam->arch, M.n_layer, dir, O.name,
            (double)P.weights_bytes / 1e6, (double)P.state_bytes / 1e6, (unsigned long long)P.layout_hash);
    for (i = 0; i < n_info; i++) free((char *)(uintptr_t)info[i].name);
    free(M.lp);
    free(P.layer_rope);
    ck_gguf_close(&M.g);
    return 0;
}
#endif /* CK_GEN_MAIN */
