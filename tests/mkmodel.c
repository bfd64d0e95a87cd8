/* mkmodel — write a random-weight GGUF file with a family's exact llama.cpp tensor names and
   metadata keys, for tests and benchmarks. The names here are written from llama.cpp's
   conventions, independently of the declarations in models/, so a wrong name in a declaration is caught.
   usage: mkmodel FAMILY OUT.gguf [options]   (mkmodel --help) */
#define _POSIX_C_SOURCE 200809L
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *family;
    int vocab, embd, layers, heads, kv_heads, head_dim, ff, ctx, tied, window, seed;
    int type;
    const struct mix_preset *mix; /* --mix: per-tensor types as llama-quantize picks them (below) */
    int list;                     /* --list: print each tensor's name, shape and type; write nothing */
    float rope_base, attn_softcap, final_softcap; /* gemma2's logit soft-caps */
    const char *rope_scaling; /* {arch}.rope.scaling.type, or NULL */
    float rope_factor;        /* {arch}.rope.scaling.factor, 0 = not written */
    int rope_orig_ctx;        /* {arch}.rope.scaling.original_context_length, 0 = not written */
    int rope_freqs, rope_longrope;
} opts;

static uint64_t rng = 88172645463325252ull;
static float gauss(void)
{
    double u1, u2;
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    u1 = ((rng >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    u2 = (rng >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- --mix PRESET: the per-tensor types of llama.cpp's `llama-quantize IN OUT PRESET` --------------
   Observed by quantizing f32 files from this tool with llama-quantize (llama.cpp c392e5094, Feb 2025,
   no importance matrix) and reading the output types; restated here as a table. Scope: dense models
   (no experts), not Falcon, not the 70B special case; layer i of n. The steps, in order:
     1. role rule: the preset's base type, or the per-role override below;
     2. output.weight, or token_embd.weight when there is no output.weight (tied): Q8_0 if the row
        length is not a multiple of the base type's block, else Q8_0 if the base is Q8_0, else Q6_K;
        an untied token_embd.weight keeps the base type;
     3. row fallback: a type whose block does not divide the row length is replaced once
        (Q2_K, Q3_K -> IQ4_NL; Q4_K -> Q5_0; Q5_K -> Q5_1; Q6_K -> Q8_0; others: no file),
        and by F16 if that block does not divide it either.
   "more bits" layers: i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2 (integer division). */
#define MIX_IQ4_NL 20 /* ggml's id; written only once ckernel.h knows the format (as CK_IQ4_NL) */

enum { R_EMBD, R_OUTPUT, R_Q, R_K, R_V, R_QKV, R_O, R_GATE, R_UP, R_DOWN };
enum { BASE = 0, ALL, FIRST, FRAC, MORE_BITS, GQA4 }; /* how a role rule picks between hi and lo */
typedef struct {
    unsigned char when;  /* ALL: hi; FIRST: i < k; FRAC: i < n/k; MORE_BITS: "more bits" layer; GQA4: n_head/n_head_kv >= 4 */
    signed char hi, lo;  /* lo = -1: the base type */
    unsigned char k;
} mix_rule;
struct mix_preset {
    const char *name;
    int base;
    mix_rule v, down, o, qkv; /* attn_v, ffn_down, attn_output, attn_qkv (fused, GPT-2); every other role: base */
};
#define R_(w, hi, lo, k) { w, hi, lo, k }
static const struct mix_preset mixes[] = {
    /*  name      base      attn_v                               ffn_down                             attn_output             attn_qkv */
    { "q2_k",   CK_Q2_K, R_(GQA4, CK_Q4_K, CK_Q3_K, 0),      R_(ALL, CK_Q3_K, -1, 0),             R_(ALL, CK_Q3_K, -1, 0), R_(BASE, 0, -1, 0) },
    { "q3_k_s", CK_Q3_K, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q3_k_m", CK_Q3_K, R_(FIRST, CK_Q5_K, CK_Q4_K, 2),     R_(FRAC, CK_Q5_K, CK_Q4_K, 16),      R_(ALL, CK_Q4_K, -1, 0), R_(ALL, CK_Q4_K, -1, 0) },
    { "q3_k_l", CK_Q3_K, R_(ALL, CK_Q5_K, -1, 0),            R_(ALL, CK_Q5_K, -1, 0),             R_(ALL, CK_Q5_K, -1, 0), R_(ALL, CK_Q4_K, -1, 0) },
    { "q4_k_s", CK_Q4_K, R_(FIRST, CK_Q5_K, -1, 4),          R_(FRAC, CK_Q5_K, -1, 8),            R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q4_k_m", CK_Q4_K, R_(MORE_BITS, CK_Q6_K, -1, 0),      R_(MORE_BITS, CK_Q6_K, -1, 0),       R_(BASE, 0, -1, 0),      R_(ALL, CK_Q5_K, -1, 0) },
    { "q5_k_s", CK_Q5_K, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q5_k_m", CK_Q5_K, R_(MORE_BITS, CK_Q6_K, -1, 0),      R_(MORE_BITS, CK_Q6_K, -1, 0),       R_(BASE, 0, -1, 0),      R_(ALL, CK_Q6_K, -1, 0) },
    { "q6_k",   CK_Q6_K, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q8_0",   CK_Q8_0, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q4_0",   CK_Q4_0, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q4_1",   CK_Q4_1, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q5_0",   CK_Q5_0, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
    { "q5_1",   CK_Q5_1, R_(BASE, 0, -1, 0),                 R_(BASE, 0, -1, 0),                  R_(BASE, 0, -1, 0),      R_(BASE, 0, -1, 0) },
};
#undef R_

static int64_t mix_block(int type) { return type == MIX_IQ4_NL ? 32 : ck_type_block_size(type); }

static int more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* the type of the matrix of `role` in layer i (of o->layers; -1 outside layers), rows of ne0 values */
static int mix_type(const opts *o, int role, int i, int64_t ne0, const char *name)
{
    const struct mix_preset *m = o->mix;
    const mix_rule *r = role == R_V ? &m->v : role == R_DOWN ? &m->down : role == R_O ? &m->o : role == R_QKV ? &m->qkv : NULL;
    int t = m->base, n = o->layers, hi = 0;
    if (r) { /* step 1 */
        switch (r->when) {
        case ALL: hi = 1; break;
        case FIRST: hi = i < r->k; break;
        case FRAC: hi = i < n / r->k; break;
        case MORE_BITS: hi = more_bits(i, n); break;
        case GQA4: hi = o->heads / o->kv_heads >= 4; break;
        default: break;
        }
        if (r->when != BASE) t = hi ? r->hi : r->lo < 0 ? m->base : r->lo;
    }
    if (role == R_OUTPUT) /* step 2 (the caller passes R_OUTPUT for a tied token_embd) */
        t = ne0 % ck_type_block_size(m->base) || m->base == CK_Q8_0 ? CK_Q8_0 : CK_Q6_K;
    if (ne0 % mix_block(t)) { /* step 3 */
        int f = t == CK_Q2_K || t == CK_Q3_K ? MIX_IQ4_NL : t == CK_Q4_K ? CK_Q5_0 : t == CK_Q5_K ? CK_Q5_1 : t == CK_Q6_K ? CK_Q8_0 : -1;
        if (f < 0) {
            fprintf(stderr, "mkmodel: --mix %s: %s has rows of %lld values, not a multiple of %s's block (llama-quantize refuses this too)\n",
                    m->name, name, (long long)ne0, ck_type_name(t));
            exit(1);
        }
        t = ne0 % mix_block(f) ? CK_F16 : f;
    }
    if (t == MIX_IQ4_NL && ck_type_block_size(MIX_IQ4_NL) != 32 && !o->list) {
        fprintf(stderr, "mkmodel: --mix %s: llama-quantize writes %s (rows of %lld values) as IQ4_NL, which this ckernel.h cannot write yet\n",
                m->name, name, (long long)ne0);
        exit(1);
    }
    return t;
}

static ck_gguf_builder B;
static void **bufs;
static int n_bufs;

#define ROLE(r) (1000 + (r)) /* for add(): the matrix's type is --type's, or --mix's for this role */

/* a tensor [ne1][ne0] of N(mean, std) values, stored as `type` (1-D tensors always f32) */
static void add(const opts *o, const char *name, int64_t ne0, int64_t ne1, float mean, float std, int type)
{
    int64_t ne[2], r, i;
    float *row;
    uint8_t *data;
    size_t row_bytes;
    if (type >= ROLE(0)) {
        int layer = -1;
        if (o->mix && ne1 > 1) {
            if (sscanf(name, "blk.%d.", &layer) != 1) layer = -1;
            type = mix_type(o, type - ROLE(0), layer, ne0, name);
        } else {
            type = o->type;
        }
    }
    if (type != MIX_IQ4_NL && (ne1 == 1 || ne0 % ck_type_block_size(type))) type = CK_F32;
    if (o->list) {
        printf("%s %lld %lld %s\n", name, (long long)ne0, (long long)ne1, type == MIX_IQ4_NL ? "iq4_nl" : ck_type_name(type));
        return;
    }
    row = (float *)malloc((size_t)ne0 * sizeof(float));
    row_bytes = ck_row_size(type, ne0);
    data = (uint8_t *)malloc(row_bytes * (size_t)ne1);
    for (r = 0; r < ne1; r++) {
        for (i = 0; i < ne0; i++) row[i] = mean + std * gauss();
        ck_quantize_row(type, row, data + (size_t)r * row_bytes, ne0);
    }
    free(row);
    bufs = (void **)realloc(bufs, (size_t)(n_bufs + 1) * sizeof *bufs);
    bufs[n_bufs++] = data;
    ne[0] = ne0;
    ne[1] = ne1;
    ck_gguf_add_tensor(&B, name, ne1 == 1 ? 1 : 2, ne, (uint32_t)type, data);
}
static void add_f32(const opts *o, const char *name, const float *v, int64_t n) /* a 1-D f32 tensor of given values */
{
    float *data = (float *)malloc((size_t)n * sizeof(float));
    memcpy(data, v, (size_t)n * sizeof(float));
    bufs = (void **)realloc(bufs, (size_t)(n_bufs + 1) * sizeof *bufs);
    bufs[n_bufs++] = data;
    ck_gguf_add_tensor(&B, name, 1, &n, CK_F32, data);
    (void)o;
}
static void key_u32(const char *arch, const char *key, uint32_t v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    ck_gguf_add_u32(&B, k, v);
}
static void key_f32(const char *arch, const char *key, float v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    ck_gguf_add_f32(&B, k, v);
}

/* rope scaling metadata and tensors, as convert_hf_to_gguf.py writes them (n_rot = head_dim):
   --rope-freqs: rope_freqs.weight, Llama 3.1's per-pair divisors (its rope_type "llama3": factor 8,
   low_freq_factor 1, high_freq_factor 4) over an original context of --rope-orig-ctx (default 8192,
   Llama 3.1's): 1 for pairs whose wavelength 2 pi base^(2i/n_rot) is under orig/4, 8 over orig,
   1 / ((1 - t)/8 + t), t = (orig / wavelength - 1) / 3, between. With base 1e4 and n_rot 64 the
   Llama 3.1 constants already vary across pairs (1 to pair 20, blended 21-24, 8 from pair 25), but
   those slow pairs turn by < 0.02 rad in a test's few dozen positions, so the change would be
   invisible; tests pass a smaller --rope-orig-ctx to move the cuts to pairs that turn visibly:
   256 gives 1 to pair 8, 1.38 / 1.99 / 2.99 / 4.78 for pairs 9-12, 8 from pair 13. (mkmodel
   computes in double; the converter in float32: the factors differ by float32 rounding.)
   --rope-longrope: Phi-3's rope_factors_long.weight / rope_factors_short.weight (long: 1 rising to
   --rope-factor or 4 quadratically over the pairs; short: 1 + 0.1 i/half) and rope.scaling.attn_factor
   = sqrt(1 + ln(ctx / orig) / ln(orig)), orig = --rope-orig-ctx. llama.cpp loads rope_freqs.weight for
   llama-like archs and the LongRoPE pair for phi3 only: a file of another family with them is one
   llama.cpp would refuse (unused tensors); ckernel and the oracle apply them for every family. */
static void add_rope_scaling(const opts *o, const char *A)
{
    int i, half = o->head_dim / 2;
    double orig = o->rope_orig_ctx ? o->rope_orig_ctx : 8192.0;
    float v[512];
    char k[128];
    if (o->rope_scaling) { snprintf(k, sizeof k, "%s.rope.scaling.type", A); ck_gguf_add_str(&B, k, o->rope_scaling); }
    if (o->rope_factor != 0.0f) key_f32(A, "rope.scaling.factor", o->rope_factor);
    if (o->rope_orig_ctx) key_u32(A, "rope.scaling.original_context_length", (uint32_t)o->rope_orig_ctx);
    if (half > 512) { fprintf(stderr, "mkmodel: head_dim too large for rope factors\n"); exit(2); }
    if (o->rope_freqs) {
        for (i = 0; i < half; i++) {
            double wavelength = 2.0 * 3.14159265358979323846 * pow((double)o->rope_base, 2.0 * i / o->head_dim);
            double t = (orig / wavelength - 1.0) / (4.0 - 1.0);
            v[i] = wavelength < orig / 4.0 ? 1.0f : wavelength > orig / 1.0 ? 8.0f : (float)(1.0 / ((1.0 - t) / 8.0 + t));
        }
        add_f32(o, "rope_freqs.weight", v, half);
    }
    if (o->rope_longrope) {
        double top = o->rope_factor != 0.0f ? o->rope_factor : 4.0, s = (double)o->ctx / orig;
        for (i = 0; i < half; i++) v[i] = (float)(1.0 + (top - 1.0) * ((double)i / (half > 1 ? half - 1 : 1)) * ((double)i / (half > 1 ? half - 1 : 1)));
        add_f32(o, "rope_factors_long.weight", v, half);
        for (i = 0; i < half; i++) v[i] = (float)(1.0 + 0.1 * i / half);
        add_f32(o, "rope_factors_short.weight", v, half);
        key_f32(A, "rope.scaling.attn_factor", s > 1.0 ? (float)sqrt(1.0 + log(s) / log(orig)) : 1.0f);
    }
}

static int usage(int rc)
{
    printf("usage: mkmodel FAMILY OUT.gguf [--vocab V] [--embd C] [--layers L] [--heads H] [--kv-heads K]\n"
           "                [--head-dim D] [--ff F] [--ctx N] [--type T | --mix PRESET] [--tied] [--window W]\n"
           "                [--rope-base B] [--seed S] [--list] [--attn-softcap A] [--final-softcap F]\n"
           "                [--rope-scaling none|linear|yarn|longrope] [--rope-factor F] [--rope-orig-ctx N]\n"
           "                [--rope-freqs] [--rope-longrope]\n"
           "  FAMILY: gpt2 llama qwen2 qwen3 gemma2 gemma3 phi3. Writes random weights (matrices\n"
           "  ~N(0, 1/fan_in), norms ~1) in TYPE (default f32; 1-D tensors stay f32) and the family's metadata.\n"
           "  --mix PRESET: each matrix in the type llama.cpp's llama-quantize gives it for PRESET:\n"
           "  q2_k q3_k_s q3_k_m q3_k_l q4_k_s q4_k_m q5_k_s q5_k_m q6_k q8_0 q4_0 q4_1 q5_0 q5_1.\n"
           "  --list: print each tensor's name, row length, rows and type instead of writing OUT.gguf.\n"
           "  gemma2: --attn-softcap / --final-softcap (default 50 / 30, llama.cpp's and HF's);\n"
           "  --window W: gemma2, gemma3 (default 4), phi3 (default 0 = none), llama (default: no key).\n"
           "  Rope scaling (not gpt2): --rope-scaling, --rope-factor, --rope-orig-ctx write rope.scaling.type,\n"
           "  .factor, .original_context_length; --rope-freqs writes rope_freqs.weight (Llama 3.1's factors,\n"
           "  original context --rope-orig-ctx or 8192); --rope-longrope writes Phi-3's rope_factors_long/short\n"
           "  and rope.scaling.attn_factor (needs --rope-orig-ctx).\n");
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    const char *out;
    int i, l;
    char n[128];
    memset(&o, 0, sizeof o);
    o.vocab = 256; o.embd = 64; o.layers = 2; o.heads = 4; o.ff = 0; o.ctx = 128; o.seed = 1; o.type = CK_F32; o.rope_base = 10000.0f;
    o.attn_softcap = 50.0f; o.final_softcap = 30.0f;
    if (argc < 3 || argv[1][0] == '-') return usage(argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2);
    o.family = argv[1];
    out = argv[2];
    for (i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(flag, field) if (!strcmp(a, flag) && v) { o.field = atoi(v); i++; continue; }
        OPT("--vocab", vocab) OPT("--embd", embd) OPT("--layers", layers) OPT("--heads", heads) OPT("--kv-heads", kv_heads)
        OPT("--head-dim", head_dim) OPT("--ff", ff) OPT("--ctx", ctx) OPT("--window", window) OPT("--seed", seed)
#undef OPT
        if (!strcmp(a, "--rope-base") && v) { o.rope_base = (float)atof(v); i++; continue; }
        if (!strcmp(a, "--rope-scaling") && v) { o.rope_scaling = v; i++; continue; }
        if (!strcmp(a, "--rope-factor") && v) { o.rope_factor = (float)atof(v); i++; continue; }
        if (!strcmp(a, "--rope-orig-ctx") && v) { o.rope_orig_ctx = atoi(v); i++; continue; }
        if (!strcmp(a, "--rope-freqs")) { o.rope_freqs = 1; continue; }
        if (!strcmp(a, "--rope-longrope")) { o.rope_longrope = 1; continue; }
        if (!strcmp(a, "--attn-softcap") && v) { o.attn_softcap = (float)atof(v); i++; continue; }
        if (!strcmp(a, "--final-softcap") && v) { o.final_softcap = (float)atof(v); i++; continue; }
        if (!strcmp(a, "--type") && v) {
            o.type = ck_type_from_name(v);
            if (o.type < 0) { fprintf(stderr, "mkmodel: unknown type %s\n", v); return 2; }
            i++;
            continue;
        }
        if (!strcmp(a, "--mix") && v) {
            size_t k;
            for (k = 0; k < sizeof mixes / sizeof mixes[0]; k++)
                if (!strcmp(v, mixes[k].name)) o.mix = &mixes[k];
            if (!o.mix) { fprintf(stderr, "mkmodel: unknown --mix preset %s (mkmodel --help lists them)\n", v); return 2; }
            i++;
            continue;
        }
        if (!strcmp(a, "--tied")) { o.tied = 1; continue; }
        if (!strcmp(a, "--list")) { o.list = 1; continue; }
        fprintf(stderr, "mkmodel: unknown option %s\n", a);
        return usage(2);
    }
    if (!o.kv_heads) o.kv_heads = o.heads;
    if (!o.head_dim) o.head_dim = o.embd / o.heads;
    if (!o.ff) o.ff = 4 * o.embd;
    if (o.rope_longrope && !o.rope_orig_ctx) { fprintf(stderr, "mkmodel: --rope-longrope needs --rope-orig-ctx\n"); return 2; }
    if (!strcmp(o.family, "gpt2") && (o.rope_scaling || o.rope_factor != 0.0f || o.rope_orig_ctx || o.rope_freqs || o.rope_longrope)) {
        fprintf(stderr, "mkmodel: gpt2 has no rope\n");
        return 2;
    }
    if (!strcmp(o.family, "phi3") && o.head_dim * o.heads != o.embd) {
        /* Phi3MiniModel writes no key_length: head_dim is n_embd / n_head (llama.cpp's wo is [n_embd, n_embd]) */
        fprintf(stderr, "mkmodel: phi3 needs head_dim * heads == embd (%d * %d != %d)\n", o.head_dim, o.heads, o.embd);
        return 2;
    }
    rng ^= (uint64_t)o.seed * 0x9E3779B97F4A7C15ull;
    ck_gguf_builder_init(&B);
    ck_gguf_add_str(&B, "general.architecture", o.family);
    ck_gguf_add_str(&B, "general.name", "random test model");
    {
        const char *A = o.family;
        int q = o.heads * o.head_dim, kv = o.kv_heads * o.head_dim;
        float s_e = 1.0f / sqrtf((float)o.embd), s_q = 1.0f / sqrtf((float)q), s_f = 1.0f / sqrtf((float)o.ff);
        key_u32(A, "context_length", (uint32_t)o.ctx);
        key_u32(A, "embedding_length", (uint32_t)o.embd);
        key_u32(A, "block_count", (uint32_t)o.layers);
        key_u32(A, "feed_forward_length", (uint32_t)o.ff);
        key_u32(A, "attention.head_count", (uint32_t)o.heads);
        if (!strcmp(A, "gpt2")) {
            key_f32(A, "attention.layer_norm_epsilon", 1e-5f);
            add(&o, "token_embd.weight", o.embd, o.vocab, 0, 0.5f, ROLE(o.tied ? R_OUTPUT : R_EMBD));
            add(&o, "position_embd.weight", o.embd, o.ctx, 0, 0.1f, CK_F32);
            for (l = 0; l < o.layers; l++) {
#define L(s) (snprintf(n, sizeof n, "blk.%d." s, l), n)
                add(&o, L("attn_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
                add(&o, L("attn_norm.bias"), o.embd, 1, 0, 0.1f, CK_F32);
                add(&o, L("attn_qkv.weight"), o.embd, 3 * o.embd, 0, s_e, ROLE(R_QKV));
                add(&o, L("attn_qkv.bias"), 3 * o.embd, 1, 0, 0.1f, CK_F32);
                add(&o, L("attn_output.weight"), o.embd, o.embd, 0, s_e, ROLE(R_O));
                add(&o, L("attn_output.bias"), o.embd, 1, 0, 0.1f, CK_F32);
                add(&o, L("ffn_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
                add(&o, L("ffn_norm.bias"), o.embd, 1, 0, 0.1f, CK_F32);
                add(&o, L("ffn_up.weight"), o.embd, o.ff, 0, s_e, ROLE(R_UP));
                add(&o, L("ffn_up.bias"), o.ff, 1, 0, 0.1f, CK_F32);
                add(&o, L("ffn_down.weight"), o.ff, o.embd, 0, s_f, ROLE(R_DOWN));
                add(&o, L("ffn_down.bias"), o.embd, 1, 0, 0.1f, CK_F32);
            }
            add(&o, "output_norm.weight", o.embd, 1, 1, 0.1f, CK_F32);
            add(&o, "output_norm.bias", o.embd, 1, 0, 0.1f, CK_F32);
            if (!o.tied) add(&o, "output.weight", o.embd, o.vocab, 0, s_e, ROLE(R_OUTPUT));
        } else if (!strcmp(A, "phi3")) {
            /* convert_hf_to_gguf's Phi3MiniModel: HF's fused qkv_proj as attn_qkv (rows q | k | v) and
               gate_up_proj as ffn_up (rows gate | up); the sliding window key is always written (0 = none,
               as for Phi-4). LongRoPE factors (--rope-longrope): see add_rope_scaling. */
            key_u32(A, "attention.head_count_kv", (uint32_t)o.kv_heads);
            key_f32(A, "attention.layer_norm_rms_epsilon", 1e-5f);
            key_u32(A, "rope.dimension_count", (uint32_t)o.head_dim);
            key_f32(A, "rope.freq_base", o.rope_base);
            if (!o.rope_orig_ctx) key_u32(A, "rope.scaling.original_context_length", (uint32_t)o.ctx);
            key_u32(A, "attention.sliding_window", (uint32_t)o.window);
            add_rope_scaling(&o, A);
            add(&o, "token_embd.weight", o.embd, o.vocab, 0, 0.5f, ROLE(o.tied ? R_OUTPUT : R_EMBD));
            for (l = 0; l < o.layers; l++) {
                add(&o, L("attn_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
                add(&o, L("attn_qkv.weight"), o.embd, q + 2 * kv, 0, s_e, ROLE(R_QKV));
                add(&o, L("attn_output.weight"), q, o.embd, 0, s_q, ROLE(R_O));
                add(&o, L("ffn_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
                add(&o, L("ffn_up.weight"), o.embd, 2 * o.ff, 0, s_e, ROLE(R_UP));
                add(&o, L("ffn_down.weight"), o.ff, o.embd, 0, s_f, ROLE(R_DOWN));
            }
            add(&o, "output_norm.weight", o.embd, 1, 1, 0.1f, CK_F32);
            if (!o.tied) add(&o, "output.weight", o.embd, o.vocab, 0, s_e, ROLE(R_OUTPUT));
        } else {
            /* gemma2/gemma3: norms hold 1 + w (the converter adds 1), the output is the token embedding.
               gemma2: no rope.freq_base (10000), no q/k norms, the two soft-caps (no "attention." part). */
            int qwen3 = !strcmp(A, "qwen3"), qwen2 = !strcmp(A, "qwen2");
            int gemma2 = !strcmp(A, "gemma2"), gemma3 = !strcmp(A, "gemma3"), gemma = gemma2 || gemma3;
            key_u32(A, "attention.head_count_kv", (uint32_t)o.kv_heads);
            key_f32(A, "attention.layer_norm_rms_epsilon", 1e-6f);
            if (!gemma2) key_f32(A, "rope.freq_base", o.rope_base);
            if (gemma2) {
                key_f32(A, "attn_logit_softcapping", o.attn_softcap);
                key_f32(A, "final_logit_softcapping", o.final_softcap);
            }
            if (qwen3 || gemma) {
                key_u32(A, "attention.key_length", (uint32_t)o.head_dim);
                key_u32(A, "attention.value_length", (uint32_t)o.head_dim);
            } else {
                key_u32(A, "rope.dimension_count", (uint32_t)o.head_dim);
            }
            if (gemma) key_u32(A, "attention.sliding_window", (uint32_t)(o.window ? o.window : 4));
            else if (o.window) key_u32(A, "attention.sliding_window", (uint32_t)o.window); /* Mistral v0.1 */
            add_rope_scaling(&o, A);
            /* gemma2/gemma3 never have output.weight: their token_embd is always tied */
            add(&o, "token_embd.weight", o.embd, o.vocab, 0, gemma ? 0.1f : 0.5f, ROLE(o.tied || gemma ? R_OUTPUT : R_EMBD));
            for (l = 0; l < o.layers; l++) {
                add(&o, L("attn_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
                add(&o, L("attn_q.weight"), o.embd, q, 0, s_e, ROLE(R_Q));
                add(&o, L("attn_k.weight"), o.embd, kv, 0, s_e, ROLE(R_K));
                add(&o, L("attn_v.weight"), o.embd, kv, 0, s_e, ROLE(R_V));
                if (qwen2) {
                    add(&o, L("attn_q.bias"), q, 1, 0, 0.2f, CK_F32);
                    add(&o, L("attn_k.bias"), kv, 1, 0, 0.2f, CK_F32);
                    add(&o, L("attn_v.bias"), kv, 1, 0, 0.2f, CK_F32);
                }
                if (qwen3 || gemma3) {
                    add(&o, L("attn_q_norm.weight"), o.head_dim, 1, 1, 0.1f, CK_F32);
                    add(&o, L("attn_k_norm.weight"), o.head_dim, 1, 1, 0.1f, CK_F32);
                }
                add(&o, L("attn_output.weight"), q, o.embd, 0, s_q, ROLE(R_O));
                if (gemma) add(&o, L("post_attention_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
                add(&o, L("ffn_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
                add(&o, L("ffn_gate.weight"), o.embd, o.ff, 0, s_e, ROLE(R_GATE));
                add(&o, L("ffn_up.weight"), o.embd, o.ff, 0, s_e, ROLE(R_UP));
                add(&o, L("ffn_down.weight"), o.ff, o.embd, 0, s_f, ROLE(R_DOWN));
                if (gemma) add(&o, L("post_ffw_norm.weight"), o.embd, 1, 1, 0.1f, CK_F32);
#undef L
            }
            add(&o, "output_norm.weight", o.embd, 1, 1, 0.1f, CK_F32);
            if (!o.tied && !gemma) add(&o, "output.weight", o.embd, o.vocab, 0, s_e, ROLE(R_OUTPUT));
        }
    }
    if (o.list) {
        ck_gguf_builder_free(&B);
        return 0;
    }
    if (B.failed) { fprintf(stderr, "mkmodel: %s\n", B.error); return 1; }
    if (ck_gguf_write_file(&B, out) != 0) { fprintf(stderr, "mkmodel: %s\n", B.error); return 1; }
    fprintf(stderr, "mkmodel: %s: %s, %d layers, embd %d, %d heads (%d kv, dim %d), ff %d, vocab %d, %s, %.2f MB\n", out, o.family, o.layers, o.embd,
            o.heads, o.kv_heads, o.head_dim, o.ff, o.vocab, o.mix ? o.mix->name : ck_type_name(o.type), (double)ck_gguf_builder_size(&B) / 1e6);
    for (i = 0; i < n_bufs; i++) free(bufs[i]);
    free(bufs);
    ck_gguf_builder_free(&B);
    return 0;
}
