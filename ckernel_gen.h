/* ckernel_gen.h — the model DSL and ckgen, the generator that turns a model declaration plus
   a GGUF file into plain, readable C.

   HOW TO USE IT
     cc -DCK_GEN_MAIN -x c ckernel_gen.h -o build/ckgen -lm      (or: make build/ckgen)
     build/ckgen MODEL.gguf -o build/mymodel/ [--name mymodel] [--max-ctx N] [--max-prompt N]
   writes
     build/mymodel/mymodel.h        constants, weight and state offsets, prefill/decode functions
     build/mymodel/layout.json      every buffer: name, role, dtype, shape, offset, bytes
     build/mymodel/weights_manifest.json   every weight: name, GGUF name, type, shape, offset
   and the program (examples/run.c) is one translation unit: ckernel.h + mymodel.h + run.c.

   THE DSL
     A model family is a header in models/ of X-macro lists (see models/llama.h for the
     grammar): hyperparameters with their GGUF keys and defaults, global and per-layer
     weights with GGUF names and symbolic shapes, and the ops of the head, the repeated block
     and the foot. Preprocessor expansion turns each list into a table of strings; ckgen
     supplies what the preprocessor cannot: binding symbols to numbers (a tiny expression
     evaluator), choosing a kernel per op, mode and weight type, and planning one arena.
     A new architecture is a new header plus one line in CK_GEN_FAMILIES below.

   THE OP TABLE
     CK_OPS(X) lists every op a declaration may use: X(op, forward kernel, backward kernel).
     Expand it with your own X to get an enum, a name table or a switch (LLVM .def style). */
#ifndef CKERNEL_GEN_H
#define CKERNEL_GEN_H

/*      op             forward kernel              backward kernel            */
#define CK_OPS(X)                                                             \
    X(embedding,       ck_embedding_forward,       ck_embedding_backward)     \
    X(matmul,          ck_matmul_forward,          ck_matmul_backward)        \
    X(rmsnorm,         ck_rmsnorm_forward,         ck_rmsnorm_backward)       \
    X(rmsnorm_heads,   ck_rmsnorm_forward,         ck_rmsnorm_backward)       \
    X(layernorm,       ck_layernorm_forward,       ck_layernorm_backward)     \
    X(gelu,            ck_gelu_forward,            ck_gelu_backward)          \
    X(swiglu,          ck_swiglu_forward,          ck_swiglu_backward)        \
    X(geglu,           ck_geglu_forward,           ck_geglu_backward)         \
    X(rope,            ck_rope_forward_tm,         ck_rope_backward_tm)       \
    X(attention,       ck_attention_forward_tm,    ck_attention_backward_tm)  \
    X(add,             ck_add_forward,             ck_add_backward)           \
    X(scale,           ck_scale_forward,           ck_scale_backward)         \
    X(split3,          ck_view,                    ck_view)                   \
    X(cross_entropy,   ck_cross_entropy_forward,   ck_cross_entropy_backward)

#define CK__OP_ENUM(op, fwd, bwd) CK_OP_##op,
enum ck_op { CK_OPS(CK__OP_ENUM) CK_OP_COUNT };
#undef CK__OP_ENUM

/* The families ckgen knows: FAMILY(PREFIX, file). Each models/<file>.h defines
   <PREFIX>_ARCH, _HPARAMS, _LAYER_PARAMS, _GLOBALS, _LAYER, _HEAD, _BLOCK and _FOOT. */
#define CK_GEN_FAMILIES(FAMILY) \
    FAMILY(LLAMA, llama)            \
    FAMILY(GPT2, gpt2)              \
    FAMILY(QWEN2, qwen2)            \
    FAMILY(QWEN3, qwen3)            \
    FAMILY(GEMMA3, gemma3)

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
#include "models/gemma3.h"

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

static const char *ckg_input = "";
static void ckg_die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ckgen: %s: ", ckg_input);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- 3. symbols and the expression evaluator ---------------------------------------------
   Expressions are C-like over doubles: numbers, names, + - * / %, comparisons, && ||, ?:,
   parentheses, and sqrt() min() max(). Names are hyperparameters, layer params and `il`. */

#define CKG_MAX_SYMS 128
typedef struct { char name[48]; double value; int bound; } ckg_sym;
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

static void ckg_bind(ckg_model *M, const char *path)
{
    const char *arch_s;
    uint64_t arch_n, i;
    char arch[64];
    int f, j, il;
    unsigned char *used;
    if (ck_gguf_open(&M->g, path) != 0) ckg_die("%s", M->g.error);
    if (!ck_gguf_get_str(&M->g, "general.architecture", &arch_s, &arch_n)) ckg_die("no general.architecture key");
    snprintf(arch, sizeof arch, "%.*s", (int)CK_MIN(arch_n, 63), arch_s);
    for (f = 0; f < CKG_N_FAMILIES; f++)
        if (!strcmp(ckg_families[f].arch, arch)) M->fam = &ckg_families[f];
    if (!M->fam) {
        fprintf(stderr, "ckgen: %s: architecture '%s' has no declaration in models/ (known:", path, arch);
        for (f = 0; f < CKG_N_FAMILIES; f++) fprintf(stderr, " %s", ckg_families[f].arch);
        fprintf(stderr, ")\n");
        exit(1);
    }
    M->env.fam = M->fam;
    M->env.il = -1;
    /* hyperparameters, in declaration order */
    for (j = 0; j < M->fam->n_hp; j++) {
        const ckg_hp_decl *h = &M->fam->hp[j];
        ckg_sym *s = ckg_sym_add(&M->env, h->name);
        char key[160];
        double v;
        snprintf(key, sizeof key, h->key, arch);
        if (h->key[0] && ck_gguf_get_float(&M->g, key, &v)) { s->value = v; s->bound = 1; continue; }
        if (!strcmp(h->def, "REQUIRED")) ckg_die("models/%s.h needs the key %s, which the file does not have", M->fam->family, key);
        if (!strcmp(h->def, "FROM_WEIGHTS")) continue;
        s->value = ckg_eval(&M->env, h->def, NULL);
        s->bound = 1;
    }
    { /* rope scaling no declaration models yet (linear, yarn, ...) is reported, never ignored silently */
        char key[160];
        const char *s;
        uint64_t n;
        double v;
        snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
        if (ck_gguf_get_str(&M->g, key, &s, &n) && !(n == 4 && !memcmp(s, "none", 4)))
            fprintf(stderr, "ckgen: %s: warning: %s = '%.*s' is not modelled by models/%s.h: positions are rotated without it\n", path, key,
                    (int)CK_MIN(n, 64), s, M->fam->family);
        snprintf(key, sizeof key, "%s.rope.scaling.factor", arch);
        if (ck_gguf_get_float(&M->g, key, &v) && v != 0.0 && v != 1.0)
            fprintf(stderr, "ckgen: %s: warning: %s = %g is not modelled by models/%s.h: positions are rotated without it\n", path, key, v,
                    M->fam->family);
    }
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
    /* per-layer parameters */
    M->lp = (double *)calloc((size_t)(M->n_layer * (M->fam->n_lp ? M->fam->n_lp : 1)), sizeof(double));
    for (il = 0; il < M->n_layer; il++) {
        M->env.il = il;
        for (j = 0; j < M->fam->n_lp; j++) M->lp[il * M->fam->n_lp + j] = ckg_eval(&M->env, M->fam->lp[j].expr, NULL);
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

static const ckg_weight *ckg_find_weight(const ckg_model *M, const char *name, int layer)
{
    int j;
    for (j = 0; j < M->n_w; j++)
        if (M->w[j].layer == layer && !strcmp(M->w[j].decl->name, name)) return &M->w[j];
    return NULL;
}

/* ---- 5. lowering: values, ops, liveness ----------------------------------------------------
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
    int view;                   /* the value this is a column view of, or -1 */
    int64_t col_off;            /* view: first column in the base value */
    int first, last;            /* op positions: first definition, last use */
    int section;                /* where it is first defined */
    uint64_t off[2];            /* planned offset in the state region: prefill, decode */
} ckg_val;
typedef struct {
    const ckg_op_decl *d;
    int kind, section, pos;
    int out, a, b, c;           /* value indices, -1 if the slot is not a value */
    const char *wa, *wb, *wc;   /* weight names in the slots, NULL if not a weight */
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
#define CKG_OPNAME(op, fwd, bwd) if (!strcmp(name, #op)) return CK_OP_##op;
    CK_OPS(CKG_OPNAME)
#undef CKG_OPNAME
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
static int ckg_val_find(ckg_ir *R, const char *name)
{
    int i;
    for (i = 0; i < R->n_v; i++)
        if (!strcmp(R->v[i].name, name)) return i;
    return -1;
}
static int ckg_val_def(ckg_ir *R, const char *name, int64_t cols, int pos, int section)
{
    int i = ckg_val_find(R, name);
    if (i < 0) {
        if (R->n_v == CKG_MAX_VALS) ckg_die("too many values");
        i = R->n_v++;
        memset(&R->v[i], 0, sizeof R->v[i]);
        snprintf(R->v[i].name, sizeof R->v[i].name, "%s", name);
        R->v[i].view = -1;
        R->v[i].first = pos;
        R->v[i].section = section;
    }
    if (cols > R->v[i].cols) R->v[i].cols = cols;
    if (pos > R->v[i].last) R->v[i].last = pos;
    return i;
}
static int ckg_val_use(ckg_ir *R, const ckg_model *M, const char *name, int pos, const ckg_op_decl *d)
{
    int i = ckg_val_find(R, name);
    if (i < 0) ckg_die("models/%s.h: OP(%s, %s, ...) reads '%s', which is neither a weight nor an earlier output", M->fam->family, d->op, d->out, name);
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
static int ckg_present(const ckg_model *M, const char *w, int section)
{
    const ckg_weight *x = ckg_find_weight(M, w, section == CKG_BLOCK ? 0 : -1);
    return x && x->t;
}

static void ckg_lower(ckg_model *M, ckg_ir *R)
{
    const ckg_family *F = M->fam;
    int s, j, pos = 0;
    int64_t hd = (int64_t)ckg_get(&M->env, "head_dim");
    memset(R, 0, sizeof *R);
    R->logits = -1;
    for (s = 0; s < 3; s++) {
        const ckg_op_decl *ops = s == CKG_HEAD ? F->head : s == CKG_BLOCK ? F->block : F->foot;
        int n = s == CKG_HEAD ? F->n_head : s == CKG_BLOCK ? F->n_block : F->n_foot;
        if (s == CKG_BLOCK) R->block_start = pos;
        for (j = 0; j < n; j++, pos++) {
            const ckg_op_decl *d = &ops[j];
            ckg_op *o = &R->op[R->n_op++];
            int64_t ca = 0, cols = 0;
            if (R->n_op > CKG_MAX_OPS) ckg_die("too many ops");
            memset(o, 0, sizeof *o);
            o->d = d;
            o->kind = ckg_op_kind(d->op);
            o->section = s;
            o->pos = pos;
            o->out = o->a = o->b = o->c = -1;
            if (o->kind < 0) ckg_die("models/%s.h: unknown op '%s'", F->family, d->op);
            /* operands: weights by name, the input tokens, or values */
#define CKG_SLOT(slot, field, wfield)                                                      \
            if (strcmp(d->slot, "_") && strcmp(d->slot, "tokens")) {                       \
                if (ckg_is_weight(F, d->slot, s)) o->wfield = d->slot;                    \
                else if (!ckg_sym_find(&M->env, d->slot, strlen(d->slot)))                 \
                    o->field = ckg_val_use(R, M, d->slot, pos, d);                        \
            }
            if (o->kind == CK_OP_split3) { /* out, b, c are the three views of a */
                o->a = ckg_val_use(R, M, d->a, pos, d);
            } else {
                CKG_SLOT(a, a, wa)
                CKG_SLOT(b, b, wb)
                CKG_SLOT(c, c, wc)
            }
#undef CKG_SLOT
            if (o->a >= 0) ca = R->v[o->a].cols;
            switch (o->kind) {
            case CK_OP_embedding: cols = ckg_wdim(M, o->wb, 0); break;
            case CK_OP_matmul:
                if (ca != ckg_wdim(M, o->wb, 0))
                    ckg_die("models/%s.h: OP(matmul, %s, %s, %s): input has %lld columns, the weight %lld", F->family, d->out, d->a, d->b,
                            (long long)ca, (long long)ckg_wdim(M, o->wb, 0));
                cols = ckg_wdim(M, o->wb, 1);
                break;
            case CK_OP_attention: cols = R->v[o->a].cols; break;
            case CK_OP_split3:
                if (ca % 3) ckg_die("split3 of %s: %lld columns are not divisible by 3", d->a, (long long)ca);
                cols = ca / 3;
                break;
            case CK_OP_rope: case CK_OP_rmsnorm_heads:
                if (ca % hd) ckg_die("OP(%s, %s, %s): %lld columns are not whole heads of %lld", d->op, d->out, d->a, (long long)ca, (long long)hd);
                cols = ca;
                break;
            default: cols = ca;
            }
            if (o->kind == CK_OP_rope && strcmp(d->out, d->a)) ckg_die("OP(rope, %s, %s): rope works in place: out must be the input", d->out, d->a);
            o->out = ckg_val_def(R, d->out, cols, pos, s);
            if (o->kind == CK_OP_split3) {
                int k, outs[3];
                outs[0] = o->out;
                outs[1] = o->b = ckg_val_def(R, d->b, cols, pos, s);
                outs[2] = o->c = ckg_val_def(R, d->c, cols, pos, s);
                for (k = 0; k < 3; k++) { R->v[outs[k]].view = o->a; R->v[outs[k]].col_off = k * cols; }
            }
            if (s == CKG_FOOT && j == n - 1) R->logits = o->out;
        }
        if (s == CKG_BLOCK) R->block_end = pos;
    }
    /* values the block reads before (or without) writing them in the block live across it */
    for (j = R->block_start; j < R->block_end; j++) {
        const ckg_op *o = &R->op[j];
        int ins[3], k;
        ins[0] = o->a; ins[1] = o->b; ins[2] = o->c;
        if (o->kind == CK_OP_split3) ins[1] = ins[2] = -1;
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
    (void)ckg_present;
}

/* ---- 6. the arena plan ---------------------------------------------------------------------
   State region: rope caches | KV cache | prefill activations | decode activations, each
   section 64-byte aligned with a 64-byte canary after it. Activations of one mode share
   space when their intervals do not overlap (greedy, largest first, lowest offset that fits). */

#define CKG_ALIGN(x) (((x) + 63) & ~(uint64_t)63)
#define CKG_CANARY 64
typedef struct { char name[48]; uint64_t off, bytes; } ckg_section;
typedef struct {
    int max_ctx, max_prompt;
    int n_rope;                 /* distinct rope caches */
    double rope_base[16];
    int *layer_rope;            /* rope cache index per layer */
    uint64_t rope_off[16], rope_bytes;
    uint64_t kv_k, kv_v, kv_bytes;     /* each of K and V: n_layer * max_ctx * kv_dim floats */
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
    P->layer_rope = (int *)calloc((size_t)M->n_layer, sizeof(int));
    for (il = 0; il < M->n_layer; il++) {
        double base = ckg_param(M, "rope_base", il, 10000);
        for (r = 0; r < P->n_rope && P->rope_base[r] != base; r++) {}
        if (r == P->n_rope) {
            if (P->n_rope == 16) ckg_die("more than 16 rope bases");
            P->rope_base[P->n_rope++] = base;
        }
        P->layer_rope[il] = r;
    }
    P->rope_bytes = CKG_ALIGN((uint64_t)P->max_ctx * (uint64_t)(n_rot / 2) * 2 * 4);
    for (r = 0; r < P->n_rope; r++) { P->rope_off[r] = pos; pos += P->rope_bytes; }
    ckg_add_section(P, "rope caches", 0, pos);
    pos += CKG_CANARY;
    P->kv_bytes = (uint64_t)M->n_layer * (uint64_t)P->max_ctx * kv_dim * 4;
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

/* ---- 7. emitting C ------------------------------------------------------------------------ */

/* a C float literal: "%.9g" plus what makes it one ("10000" -> "10000.0f") */
static const char *ckg_flt(double v)
{
    static char buf[4][48];
    static int k;
    char *b = buf[k = (k + 1) & 3];
    snprintf(b, 40, "%.9g", v);
    if (!strpbrk(b, ".eni")) strcat(b, ".0");
    strcat(b, "f");
    return b;
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
} ckg_out;

/* a value's pointer expression, in a mode, as read by an op in `section` */
static void ckg_vptr(const ckg_out *O, int vi, int section, int mode, char *buf, size_t cap)
{
    const ckg_val *v = &O->R->v[vi];
    const ckg_val *base = v->view >= 0 ? &O->R->v[v->view] : v;
    char b[96];
    if (vi == O->R->logits) { snprintf(buf, cap, "logits"); return; }
    if (v->view >= 0) snprintf(b, sizeof b, "(%s + %lld)", base->name, (long long)v->col_off);
    else snprintf(b, sizeof b, "%s", v->name);
    if (section == CKG_FOOT && base->section != CKG_FOOT && mode == 0)
        snprintf(buf, cap, "(%s + (size_t)(T - n_out) * %lld)", b, (long long)base->cols);
    else
        snprintf(buf, cap, "%s", b);
}
static int64_t ckg_ld(const ckg_out *O, int vi)
{
    const ckg_val *v = &O->R->v[vi];
    return v->view >= 0 ? O->R->v[v->view].cols : v->cols;
}
/* a weight's pointer expression; layer weights come from the layer table L */
static void ckg_wptr(const ckg_out *O, const char *w, int section, int as_float, char *buf, size_t cap)
{
    const ckg_weight *x = ckg_find_weight(O->M, w, section == CKG_BLOCK ? 0 : -1);
    char up[64];
    size_t i;
    if (!x || !x->t) { snprintf(buf, cap, "NULL"); return; }
    if (section == CKG_BLOCK) { snprintf(buf, cap, "%s(m, L->%s)", as_float ? "CK_WREF_F" : "CK_WREF", w); return; }
    for (i = 0; w[i] && i < sizeof up - 1; i++) up[i] = (char)toupper((unsigned char)w[i]);
    up[i] = 0;
    snprintf(buf, cap, "%s(m, %s_W_%s)", as_float ? "CK_WF" : "CK_WP", O->NAME, up);
}
/* the type of a weight: a constant if every layer agrees, else the layer table's */
static void ckg_wtype(const ckg_out *O, const char *w, int section, char *buf, size_t cap)
{
    const ckg_weight *x = ckg_find_weight(O->M, w, section == CKG_BLOCK ? 0 : -1);
    int il, same = 1;
    for (il = 1; section == CKG_BLOCK && il < O->M->n_layer; il++) {
        const ckg_weight *y = ckg_find_weight(O->M, w, il);
        if (!y || !y->t || y->t->type != x->t->type) same = 0;
    }
    if (same) snprintf(buf, cap, "CK_%s", ck_type_name((int)x->t->type));
    else snprintf(buf, cap, "L->%s.type", w);
    for (; *buf; buf++) *buf = (char)toupper((unsigned char)*buf);
}

static void ckg_emit_op(ckg_out *O, const ckg_op *o, int mode)
{
    FILE *f = O->f;
    const char *T = o->section == CKG_FOOT ? (mode ? "1" : "n_out") : (mode ? "1" : "T");
    const char *POS = mode ? "pos" : "pos0";
    char out[160], a[160], b[160], c[160], wb[160], wc[160], ty[48];
    int64_t cols = o->out >= 0 ? O->R->v[o->out].cols : 0;
    const char *N = O->NAME, *ind = o->section == CKG_BLOCK ? "        " : "    ";
    out[0] = a[0] = b[0] = c[0] = 0;
    if (o->out >= 0) ckg_vptr(O, o->out, o->section, mode, out, sizeof out);
    if (o->a >= 0) ckg_vptr(O, o->a, o->section, mode, a, sizeof a);
    if (o->b >= 0) ckg_vptr(O, o->b, o->section, mode, b, sizeof b);
    if (o->c >= 0) ckg_vptr(O, o->c, o->section, mode, c, sizeof c);
    fprintf(f, "%s", ind);
    switch (o->kind) {
    case CK_OP_embedding:
        ckg_wptr(O, o->wb, o->section, 0, wb, sizeof wb);
        ckg_wtype(O, o->wb, o->section, ty, sizeof ty);
        if (o->wc) ckg_wptr(O, o->wc, o->section, 1, wc, sizeof wc); else snprintf(wc, sizeof wc, "NULL");
        if (!strcmp(ty, "CK_F32")) fprintf(f, "ck_embedding_forward(%s, tokens, (const float *)%s, %s, %s, %lld, %s);", out, wb, wc, T, (long long)cols, POS);
        else fprintf(f, "ck_embedding_forward_q(%s, %s, tokens, %s, %s, %s, %lld, %s);", ty, out, wb, wc, T, (long long)cols, POS);
        break;
    case CK_OP_rmsnorm:
        ckg_wptr(O, o->wb, o->section, 1, wb, sizeof wb);
        fprintf(f, "ck_rmsnorm_forward(%s, NULL, %s, %s, %s, %lld, %s_NORM_EPS);", out, a, wb, T, (long long)cols, N);
        break;
    case CK_OP_rmsnorm_heads:
        ckg_wptr(O, o->wb, o->section, 1, wb, sizeof wb);
        fprintf(f, "ck_rmsnorm_forward(%s, NULL, %s, %s, %s * %lld, %s_HEAD_DIM, %s_NORM_EPS);", out, a, wb, T,
                (long long)(cols / (int64_t)ckg_get(&O->M->env, "head_dim")), N, N);
        break;
    case CK_OP_layernorm:
        ckg_wptr(O, o->wb, o->section, 1, wb, sizeof wb);
        if (o->wc) ckg_wptr(O, o->wc, o->section, 1, wc, sizeof wc); else snprintf(wc, sizeof wc, "NULL");
        fprintf(f, "ck_layernorm_forward(%s, NULL, NULL, %s, %s, %s, %s, %lld, %s_NORM_EPS);", out, a, wb, wc, T, (long long)cols, N);
        break;
    case CK_OP_matmul:
        ckg_wptr(O, o->wb, o->section, 0, wb, sizeof wb);
        ckg_wtype(O, o->wb, o->section, ty, sizeof ty);
        if (o->wc) ckg_wptr(O, o->wc, o->section, 1, wc, sizeof wc); else snprintf(wc, sizeof wc, "NULL");
        if (!strcmp(ty, "CK_F32"))
            fprintf(f, "ck_matmul_forward(%s, %s, (const float *)%s, %s, %s, %lld, %lld);", out, a, wb, wc, T, (long long)O->R->v[o->a].cols, (long long)cols);
        else
            fprintf(f, "ck_matmul_forward_q(%s, %s, %s, %s, %s, %s, %lld, %lld);", ty, out, a, wb, wc, T, (long long)O->R->v[o->a].cols, (long long)cols);
        break;
    case CK_OP_rope:
        fprintf(f, "ck_rope_forward_tm(%s, CK_F(m, L->rope), %lld, %s, %s_HEAD_DIM, %s_N_ROT, %s, %s_ROPE_NEOX, %lld);", a,
                (long long)(cols / (int64_t)ckg_get(&O->M->env, "head_dim")), T, N, N, POS, N, (long long)ckg_ld(O, o->a));
        break;
    case CK_OP_attention:
        fprintf(f, "ck_copy_rows(kc + (size_t)%s * %s_KV_DIM, %s_KV_DIM, %s, %lld, %s, %s_KV_DIM);\n", POS, N, N, b, (long long)ckg_ld(O, o->b), T, N);
        fprintf(f, "%sck_copy_rows(vc + (size_t)%s * %s_KV_DIM, %s_KV_DIM, %s, %lld, %s, %s_KV_DIM);\n", ind, POS, N, N, c, (long long)ckg_ld(O, o->c), T, N);
        fprintf(f, "%sck_attention_forward_tm(%s, NULL, %s, kc, vc, %s_N_HEAD, %s_N_HEAD_KV, %s, %s + %s, %s_HEAD_DIM, %s, L->window, %s_ATTN_SCALE, %lld, %s_KV_DIM, %lld);",
                ind, out, a, N, N, T, POS, T, N, POS, N, (long long)ckg_ld(O, o->a), N, (long long)cols);
        break;
    case CK_OP_add:
        fprintf(f, "ck_add_forward(%s, %s, %s, (size_t)%s * %lld);", out, a, b, T, (long long)cols);
        break;
    case CK_OP_scale: {
        char up[64];
        size_t i;
        for (i = 0; o->d->b[i] && i < sizeof up - 1; i++) up[i] = (char)toupper((unsigned char)o->d->b[i]);
        up[i] = 0;
        fprintf(f, "ck_scale_forward(%s, %s, %s_%s, (size_t)%s * %lld);", out, a, N, up, T, (long long)cols);
        break;
    }
    case CK_OP_swiglu: fprintf(f, "ck_swiglu_forward(%s, %s, %s, %s * %lld);", out, a, b, T, (long long)cols); break;
    case CK_OP_geglu: fprintf(f, "ck_geglu_forward(%s, %s, %s, %s * %lld);", out, a, b, T, (long long)cols); break;
    case CK_OP_gelu: fprintf(f, "ck_gelu_forward(%s, %s, %s * %lld);", out, a, T, (long long)cols); break;
    case CK_OP_split3: fprintf(f, "/* %s, %s, %s: column views of %s */", o->d->out, o->d->b, o->d->c, o->d->a); break;
    default: ckg_die("op '%s' has no inference lowering yet", o->d->op);
    }
    fprintf(f, " /* OP(%s, %s, %s, %s, %s) */\n", o->d->op, o->d->out, o->d->a, o->d->b, o->d->c);
}

static void ckg_emit_forward(ckg_out *O, int mode)
{
    FILE *f = O->f;
    ckg_ir *R = O->R;
    const char *N = O->NAME, *n = O->name;
    int i, first = 1, s;
    if (mode == 0)
        fprintf(f, "/* Prefill T tokens (1 <= T <= %s_MAX_PROMPT) at positions pos0..pos0+T-1 (pos0 + T <= %s_MAX_CTX).\n"
                   "   all_logits: NULL (the last row's logits go to %s_logits(m)) or a buffer [T, %s_N_VOCAB]. */\n"
                   "static void %s_prefill(ck_model *m, const int32_t *tokens, int T, int pos0, float *all_logits)\n{\n",
                N, N, n, N, n);
    else
        fprintf(f, "/* Decode one token at position pos (< %s_MAX_CTX); its logits go to %s_logits(m). */\n"
                   "static void %s_decode(ck_model *m, int32_t token, int pos)\n{\n", N, n, n);
    fprintf(f, "    float ");
    for (i = 0; i < R->n_v; i++) {
        if (R->v[i].view >= 0 || i == R->logits) continue;
        fprintf(f, "%s*%s = CK_F(m, %s_S_%c_%s)", first ? "" : ",\n          ", R->v[i].name, N, mode ? 'D' : 'P', ckg_upper(R->v[i].name));
        first = 0;
    }
    fprintf(f, ";\n");
    if (mode == 0) fprintf(f, "    float *logits = all_logits ? all_logits : %s_logits(m);\n    const int n_out = all_logits ? T : 1;\n", n);
    else fprintf(f, "    const int32_t *tokens = &token;\n    float *logits = %s_logits(m);\n", n);
    fprintf(f, "    int l;\n");
    for (s = 0; s < 3; s++) {
        fprintf(f, s == CKG_HEAD ? "    /* head */\n" : s == CKG_BLOCK ? "    for (l = 0; l < %s_N_LAYER; l++) {\n" : "    }\n    /* foot%s */\n",
                s == CKG_BLOCK ? N : mode ? "" : ": the last n_out rows");
        if (s == CKG_BLOCK)
            fprintf(f, "        const %s_layer *L = &%s_layers[l];\n"
                       "        float *kc = CK_F(m, %s_S_KV_K) + (size_t)l * %s_MAX_CTX * %s_KV_DIM;\n"
                       "        float *vc = CK_F(m, %s_S_KV_V) + (size_t)l * %s_MAX_CTX * %s_KV_DIM;\n", n, n, N, N, N, N, N, N);
        for (i = 0; i < R->n_op; i++)
            if (R->op[i].section == s) ckg_emit_op(O, &R->op[i], mode);
    }
    fprintf(f, "}\n\n");
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
            n, M->fam->family, O->gguf_path, M->n_layer, (double)P->weights_bytes / 1e6, (unsigned long long)P->layout_hash,
            (double)P->state_bytes / 1e6, P->max_ctx);
    fprintf(f, "#ifndef %s_H\n#define %s_H\n#include \"ckernel.h\"\n\n", N, N);
    fprintf(f, "/* hyperparameters: models/%s.h, bound from the file */\n", M->fam->family);
    fprintf(f, "#define %s_ARCH \"%s\"\n", N, M->fam->arch);
    for (j = 0; j < M->fam->n_hp; j++) {
        double v = M->env.syms[j].value;
        if (v == floor(v) && fabs(v) < 2e9) fprintf(f, "#define %s_%s %lld\n", N, ckg_upper(M->env.syms[j].name), (long long)v);
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
        fprintf(f, "    { ");
        for (j = 0; j < M->fam->n_lw; j++) {
            const ckg_weight *w = ckg_find_weight(M, M->fam->lw[j].name, il);
            if (w && w->t) fprintf(f, "{ 0x%llx, CK_%s }, ", (unsigned long long)w->t->offset, ckg_upper(ck_type_name((int)w->t->type)));
            else fprintf(f, "{ CK_WREF_NONE, 0 }, ");
        }
        fprintf(f, "%d, 0x%llx }, /* blk.%d */\n", (int)ckg_param(M, "window", il, 0), (unsigned long long)P->rope_off[P->layer_rope[il]], il);
    }
    fprintf(f, "};\n\n/* the tensors this layout expects, checked against a file before it is used */\n");
    fprintf(f, "static const ck_weight_info %s_weights[%d] = {\n", n, n_info);
    for (i = 0; i < n_info; i++)
        fprintf(f, "    { \"%s\", CK_%s, %lld, %lld, 0x%llx, %llu },\n", info[i].name, ckg_upper(ck_type_name(info[i].type)), (long long)info[i].ne0,
                (long long)info[i].ne1, (unsigned long long)info[i].off, (unsigned long long)info[i].bytes);
    fprintf(f, "};\n\n/* state region */\n");
    for (r = 0; r < P->n_rope; r++)
        fprintf(f, "#define %s_S_ROPE%d 0x%09llxull /* f32 [%d, %d, 2] rope cos/sin, base %g */\n", N, r, (unsigned long long)P->rope_off[r], P->max_ctx,
                (int)ckg_get(&M->env, "n_rot") / 2, P->rope_base[r]);
    fprintf(f, "#define %s_S_KV_K   0x%09llxull /* f32 [%d, %d, %s_KV_DIM] */\n", N, (unsigned long long)P->kv_k, M->n_layer, P->max_ctx, N);
    fprintf(f, "#define %s_S_KV_V   0x%09llxull /* f32 [%d, %d, %s_KV_DIM] */\n", N, (unsigned long long)P->kv_v, M->n_layer, P->max_ctx, N);
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
    fprintf(f, "/* fill the rope caches; with CK_CANARIES, write the guard bytes after each section */\nstatic void %s_init(ck_model *m)\n{\n", n);
    for (r = 0; r < P->n_rope; r++)
        fprintf(f, "    ck_rope_cache(CK_F(m, %s_S_ROPE%d), %s_MAX_CTX, %s_N_ROT, %s);\n", N, r, N, N, ckg_flt(P->rope_base[r]));
    fprintf(f, "#ifdef CK_CANARIES\n    ck_canary_write(m->state, %s_sections, %d);\n#endif\n}\n\n", n, P->n_sec);
    ckg_emit_forward(O, 0);
    ckg_emit_forward(O, 1);
    fprintf(f, "/* generic names, for programs written once for every model (examples/run.c) */\n");
    fprintf(f, "#define CKM_NAME \"%s\"\n#define CKM_ARCH %s_ARCH\n#define CKM_INIT %s_init\n#define CKM_PREFILL %s_prefill\n#define CKM_DECODE %s_decode\n"
               "#define CKM_LOGITS %s_logits\n#define CKM_WEIGHTS %s_weights\n#define CKM_N_WEIGHTS %d\n#define CKM_SECTIONS %s_sections\n#define CKM_N_SECTIONS %d\n",
            n, N, n, n, n, n, n, n_info, n, P->n_sec);
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
        fprintf(f, ",\n    {\"name\": \"kv_%c\", \"role\": \"kv_cache\", \"region\": \"state\", \"dtype\": \"f32\", \"shape\": [%d, %d, %lld], \"offset\": %llu, \"bytes\": %llu}",
                r ? 'v' : 'k', M->n_layer, P->max_ctx, (long long)(ckg_get(&M->env, "n_head_kv") * ckg_get(&M->env, "head_dim")),
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

static int ckg_usage(int rc)
{
    printf("usage: ckgen MODEL.gguf -o DIR [--name NAME] [--max-ctx N] [--max-prompt N] [--no-bump]\n"
           "       ckgen MODEL.gguf --hash-only   (print the layout hash and stop)\n"
           "  Binds the declaration in models/ named by the file's general.architecture to the file's\n"
           "  hyperparameters and tensors, plans one arena and writes plain C:\n"
           "    DIR/NAME.h                 constants, offsets, NAME_init/NAME_prefill/NAME_decode\n"
           "    DIR/layout.json            every buffer: name, role, dtype, shape, offset, bytes\n"
           "    DIR/weights_manifest.json  every tensor: name, type, shape, offset, bytes\n"
           "    DIR/weights.bump           the weights region with a header (unless --no-bump)\n"
           "  --max-ctx N     KV cache positions (default: the model's context length, at most 4096)\n"
           "  --max-prompt N  tokens per prefill call (default 512, at most max-ctx)\n"
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
    int i, n_info, bump = 1, hash_only = 0;
    FILE *f;
    memset(&P, 0, sizeof P);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return ckg_usage(0);
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--max-ctx") && i + 1 < argc) P.max_ctx = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-prompt") && i + 1 < argc) P.max_prompt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-bump")) bump = 0;
        else if (!strcmp(argv[i], "--hash-only")) hash_only = 1;
        else if (argv[i][0] == '-') { fprintf(stderr, "ckgen: unknown option %s\n", argv[i]); return ckg_usage(2); }
        else if (!in) in = argv[i];
        else { fprintf(stderr, "ckgen: one model at a time\n"); return ckg_usage(2); }
    }
    if (!in || (!dir && !hash_only)) return ckg_usage(2);
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
    for (i = 0; i < R.n_op; i++) /* a learned position table (GPT-2) bounds the context: never read past its rows */
        if (R.op[i].kind == CK_OP_embedding && R.op[i].wc && P.max_ctx > ckg_wdim(&M, R.op[i].wc, 1))
            ckg_die("--max-ctx %d exceeds the %lld positions of %s (%s)", P.max_ctx, (long long)ckg_wdim(&M, R.op[i].wc, 1), R.op[i].wc,
                    ckg_find_weight(&M, R.op[i].wc, -1)->gguf_name);
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
    O.M = &M; O.R = &R; O.P = &P; O.gguf_path = in;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) ckg_die("cannot create %s: %s", dir, strerror(errno));
    {
        char file[80];
        snprintf(file, sizeof file, "%s.h", O.name);
        O.f = f = ckg_create(dir, file, path, sizeof path);
    }
    ckg_emit_header(&O, info, n_info);
    ckg_close(f, path);
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
    fprintf(stderr, "ckgen: %s (%s, %d layers) -> %s/%s.h  weights %.2f MB, state %.2f MB, layout 0x%016llx\n", in, M.fam->arch, M.n_layer, dir, O.name,
            (double)P.weights_bytes / 1e6, (double)P.state_bytes / 1e6, (unsigned long long)P.layout_hash);
    for (i = 0; i < n_info; i++) free((char *)(uintptr_t)info[i].name);
    free(M.lp);
    free(P.layer_rope);
    ck_gguf_close(&M.g);
    return 0;
}
#endif /* CK_GEN_MAIN */
