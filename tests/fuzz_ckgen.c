/* libFuzzer target for ckgen's binder, lowering, arena plan and emitters (make fuzz-ckgen) over
   GGUF metadata a fuzzer chooses. Each input builds one small model file in memory:

     byte 0          the family (an index into ckgen's families); the bit above it: --recompute
     byte 1          the weights' type (f32, f16, q8_0, q4_0, q4_K, iq4_nl, or per tensor)
     bytes 2..       records of 10 bytes: [key][value type][8 value bytes]: a metadata entry with
                     one of the keys any declaration reads (or that ckgen refuses), typed as the
                     fuzzer says (u32, i32, f32, f64, bool, string, u64, i64, bool array, f32 array);
                     a key may also drop a tensor or change one dimension

   The file has a small model's metadata and every weight of the family's declaration (n_embd 64,
   4 heads of 16, 2 kv heads, n_ff 128, vocab 64, 2 layers, context 64) before the records are
   applied, so most inputs reach the lowering and the emitters. Whatever the metadata says, ckgen
   must either write its C (here to /dev/null, with --train when the weights are f32) or stop with
   an error through ckg_die: never crash, hang or trip ASan/UBSan. */
#define CK_GEN_MAIN
#define CKG_FUZZ
#define main ckgen_main
#include "ckernel_gen.h"
#undef main

typedef struct { uint8_t *p; size_t n, cap; } membuf;
static size_t mem_write(void *ctx, const void *p, size_t n)
{
    membuf *m = (membuf *)ctx;
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->p = (uint8_t *)realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, p, n);
    m->n += n;
    return n;
}

/* the keys a record may set ("%s" = the architecture) */
static const char *const keys[] = {
    "%s.embedding_length", "%s.block_count", "%s.feed_forward_length", "%s.attention.head_count",
    "%s.attention.head_count_kv", "%s.attention.key_length", "%s.rope.dimension_count", "%s.rope.freq_base",
    "%s.attention.layer_norm_rms_epsilon", "%s.attention.layer_norm_epsilon", "%s.context_length", "%s.vocab_size",
    "%s.attention.sliding_window", "%s.attention.sliding_window_pattern", "%s.rope.freq_base_swa",
    "%s.attn_logit_softcapping", "%s.final_logit_softcapping", "%s.rope.scaling.type", "%s.rope.scaling.factor",
    "%s.rope.scaling.attn_factor", "%s.rope.scaling.original_context_length", "%s.expert_count",
    "general.architecture", "%s.rope.scale_linear", "%s.attention.clamp_kqv"
};
#define N_KEYS ((int)(sizeof keys / sizeof *keys))

static ckg_model M;
static ckg_ir R;
static ckg_plan P;
static ckg_tir X;
static ck_weight_info info[CKG_MAX_WEIGHTS];
static const ck_gguf_tensor *ts[CKG_MAX_WEIGHTS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float zeros[1 << 16];
    static uint8_t qbuf[1 << 18];
    static const int types[] = { CK_F32, CK_F16, CK_Q8_0, CK_Q4_0, CK_Q4_K, CK_IQ4_NL };
    const ckg_family *F;
    ck_gguf_builder b;
    membuf mb = { NULL, 0, 0 };
    ckg_env env;
    char name[160], key[160], strv[64];
    void *index = NULL;
    size_t ib, pos;
    int j, il, wtype, drop = -1, redim = -1, n_info;
    int64_t redim_to = 0;
    double f64s[64];
    uint8_t bools[64];
    float f32s[64];
    FILE *devnull;
    if (size < 2) return 0;
    F = &ckg_families[data[0] % CKG_N_FAMILIES];
    wtype = data[1] % 7; /* 6: a type per tensor, from the tensor's index */
    ck_gguf_builder_init(&b);
    ck_gguf_add_str(&b, "general.architecture", F->arch);
    /* a small model's metadata, through the declaration's own keys */
    memset(&env, 0, sizeof env);
    env.fam = F;
    env.il = -1;
    {
        static const struct { const char *n; double v; } base[] = {
            { "n_embd", 64 }, { "n_layer", 2 }, { "n_ff", 128 }, { "n_head", 4 }, { "n_head_kv", 2 }, { "head_dim", 16 }, { "n_ctx", 64 }
        };
        size_t k;
        for (k = 0; k < sizeof base / sizeof *base; k++) {
            for (j = 0; j < F->n_hp; j++)
                if (!strcmp(F->hp[j].name, base[k].n) && F->hp[j].key[0]) {
                    snprintf(key, sizeof key, F->hp[j].key, F->arch);
                    ck_gguf_add_u32(&b, key, (uint32_t)base[k].v);
                }
            ckg_sym_add(&env, base[k].n)->value = base[k].v;
            ckg_sym_find(&env, base[k].n, strlen(base[k].n))->bound = 1;
        }
        ckg_sym_add(&env, "n_vocab")->value = 64;
        ckg_sym_find(&env, "n_vocab", 7)->bound = 1;
    }
    /* the records */
    for (pos = 2; pos + 10 <= size; pos += 10) {
        const uint8_t *r = data + pos;
        uint64_t raw;
        int k = r[0] % (N_KEYS + 2), t = r[1] % 10;
        memcpy(&raw, r + 2, 8);
        if (k == N_KEYS) { drop = (int)(raw % 64); continue; }
        if (k == N_KEYS + 1) { redim = (int)(raw % 128); redim_to = (int64_t)((raw >> 8) % 70000); continue; }
        snprintf(key, sizeof key, keys[k], F->arch);
        switch (t) {
        case 0: ck_gguf_add_u32(&b, key, (uint32_t)raw); break;
        case 1: ck_gguf_add_i32(&b, key, (int32_t)raw); break;
        case 2: { float v; uint32_t u = (uint32_t)raw; memcpy(&v, &u, 4); ck_gguf_add_f32(&b, key, v); break; }
        case 3: { double v; memcpy(&v, &raw, 8); ck_gguf_add_scalar(&b, key, CK_GGUF_F64, &v); break; }
        case 4: ck_gguf_add_bool(&b, key, (int)(raw & 1)); break;
        case 5: {
            static const char *const strs[] = { "none", "linear", "yarn", "longrope", "", "llama3", "ntk" };
            snprintf(strv, sizeof strv, "%s", strs[raw % 7]);
            ck_gguf_add_str(&b, key, strv);
            break;
        }
        case 6: ck_gguf_add_scalar(&b, key, CK_GGUF_U64, &raw); break;
        case 7: { int64_t v = (int64_t)raw; ck_gguf_add_scalar(&b, key, CK_GGUF_I64, &v); break; }
        case 8: {
            uint64_t n = raw % 9, i;
            for (i = 0; i < n; i++) bools[i] = (uint8_t)((raw >> (8 + i)) & 1);
            ck_gguf_add_arr(&b, key, CK_GGUF_BOOL, n, bools);
            break;
        }
        default: {
            uint64_t n = raw % 9, i;
            for (i = 0; i < n; i++) f32s[i] = (float)((raw >> (4 * i)) & 15) - 3.0f;
            ck_gguf_add_arr(&b, key, CK_GGUF_F32, n, f32s);
            break;
        }
        }
    }
    (void)f64s;
    /* every weight of the declaration, shaped by the small model */
    {
        int nt = 0;
        for (il = -1; il < 2; il++) {
            const ckg_w_decl *d = il < 0 ? F->gw : F->lw;
            int n = il < 0 ? F->n_gw : F->n_lw;
            env.il = il;
            for (j = 0; j < n; j++, nt++) {
                int64_t ne[2];
                int ty = wtype == 6 ? types[nt % 6] : types[wtype];
                if (strstr(d[j].flags, "OPTIONAL") || (strstr(d[j].flags, "TIED") && nt % 2)) continue;
                if (nt == drop) continue;
                snprintf(name, sizeof name, d[j].gguf, il);
                ne[0] = (int64_t)ckg_eval(&env, d[j].ne0, NULL);
                ne[1] = (int64_t)ckg_eval(&env, d[j].ne1, NULL);
                if (nt == redim) ne[nt & 1] = redim_to;
                if (ne[0] <= 0 || ne[1] <= 0 || ne[0] * ne[1] > (int64_t)(sizeof zeros / sizeof *zeros)) continue;
                if (ne[1] == 1 || ne[0] % ck_type_block_size(ty)) ty = CK_F32;
                if (ty == CK_F32) ck_gguf_add_tensor(&b, name, ne[1] == 1 ? 1 : 2, ne, CK_F32, zeros);
                else {
                    memset(qbuf, 0, ck_row_size(ty, ne[0]) * (size_t)ne[1]);
                    ck_gguf_add_tensor(&b, name, 2, ne, (uint32_t)ty, qbuf);
                }
            }
        }
    }
    if (ck_gguf_write(&b, mem_write, &mb) != 0) { ck_gguf_builder_free(&b); free(mb.p); return 0; }
    ck_gguf_builder_free(&b);
    /* ckgen, as main() runs it, with errors returning here */
    memset(&M, 0, sizeof M);
    memset(&R, 0, sizeof R);
    memset(&P, 0, sizeof P);
    devnull = fopen("/dev/null", "w");
    ib = ck_gguf_index_bytes(mb.p, mb.n);
    index = malloc(ib ? ib : 1);
    if (setjmp(ckg_fuzz_jmp) == 0) {
        ckg_out O;
        if (ck_gguf_parse(&M.g, mb.p, mb.n, index, ib) != 0) longjmp(ckg_fuzz_jmp, 1);
        ckg_bind_gguf(&M, "fuzz.gguf");
        {
            int n_ctx = (int)ckg_param(&M, "n_ctx", 0, 2048);
            P.max_ctx = n_ctx < 4096 ? n_ctx : 4096;
            P.max_prompt = P.max_ctx < 512 ? P.max_ctx : 512;
        }
        ckg_lower(&M, &R);
        ckg_plan_all(&M, &R, &P);
        n_info = ckg_used_tensors(&M, ts);
        ckg_fill_info(&M, info, ts, n_info, &P.weights_bytes);
        P.layout_hash = ck_layout_hash(info, n_info);
        memset(&O, 0, sizeof O);
        O.M = &M; O.R = &R; O.P = &P; O.gguf_path = "fuzz.gguf"; O.n_info = n_info; O.f = devnull;
        snprintf(O.name, sizeof O.name, "m");
        snprintf(O.NAME, sizeof O.NAME, "M");
        ckg_emit_header(&O, info, n_info);
        ckg_emit_layout_json(&O, devnull);
        for (j = 0; j < n_info && info[j].type == CK_F32; j++) {}
        if (j == n_info) { /* --train */
            ckg_tlower(&M, &R, &X);
            X.max_b = 2;
            X.max_t = P.max_ctx < 16 ? P.max_ctx : 16;
            X.recompute = (data[0] / CKG_N_FAMILIES) & 1;
            ckg_tplan(&M, &X, &P);
            ckg_temit(&O, &X);
        }
        for (j = 0; j < n_info; j++) free((char *)(uintptr_t)info[j].name);
        if (getenv("FUZZ_CKGEN_TRACE")) fprintf(stderr, "fuzz_ckgen: %s: generated\n", F->arch);
    }
    /* an error leaves ckgen's own allocations (layer params, arrays) behind, as exit() would: the
       fuzzer runs with leak detection off (make fuzz-ckgen) */
    free(M.lp);
    free(P.layer_rope);
    fclose(devnull);
    free(index);
    free(mb.p);
    return 0;
}
