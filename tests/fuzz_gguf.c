/* libFuzzer target for the GGUF reader (make fuzz). For every input: parse it; if it parses,
   touch every key, value, string and tensor byte range the index points at, then copy every
   entry into a writer and parse the result again, which must succeed. */
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <stdlib.h>
#include <string.h>

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

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_gguf g, g2;
    size_t ib = ck_gguf_index_bytes(data, size);
    void *index = malloc(ib ? ib : 1);
    uint64_t i;
    if (ck_gguf_parse(&g, data, size, index, ib) != 0) {
        if (!g.error[0]) abort(); /* a failure must always say why */
        free(index);
        return 0;
    }
    for (i = 0; i < g.n_kv; i++) {
        const ck_gguf_kv *kv = &g.kv[i];
        char key[64];
        int64_t iv;
        double dv;
        const char *s;
        uint64_t n, j;
        size_t kl = (size_t)(kv->key_len < sizeof key - 1 ? kv->key_len : sizeof key - 1);
        memcpy(key, kv->key, kl);
        key[kl] = 0;
        if (ck_gguf_get_int(&g, key, &iv)) sink += (uint64_t)iv;
        if (ck_gguf_get_float(&g, key, &dv)) sink += (uint64_t)(dv == dv);
        if (ck_gguf_get_str(&g, key, &s, &n) && n) sink += (uint8_t)s[n - 1];
        if (kv->type == CK_GGUF_ARR) {
            ck_gguf_iter it;
            ck_gguf_iter_init(&it, kv);
            while (ck_gguf_iter_str(&it, &s, &n)) if (n) sink += (uint8_t)s[0] + (uint8_t)s[n - 1];
            for (j = 0; j < kv->arr_n && j < 64; j++) if (ck_gguf_arr_int(kv, j, &iv)) sink += (uint64_t)iv;
        }
    }
    for (i = 0; i < g.n_tensors; i++) {
        const ck_gguf_tensor *t = &g.tensors[i];
        if (t->n_bytes) sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->n_bytes - 1];
    }
    { /* as a LoRA adapter: the file alone, and against a table naming one of its bases */
        ck_lora_pair *pairs = (ck_lora_pair *)malloc((size_t)(g.n_tensors ? g.n_tensors : 1) * sizeof *pairs);
        ck_weight_info w = { "blk.0.attn_q.weight", CK_F32, 64, 64, 0, 16384 };
        unsigned char is_matmul = 1;
        char err[256];
        float alpha;
        int np = ck_lora_read(&g, NULL, NULL, NULL, 0, pairs, (int)g.n_tensors, &alpha, err, sizeof err), k;
        for (k = 0; k < np; k++) sink += (uint64_t)pairs[k].rank + pairs[k].base_len + (uint64_t)pairs[k].a->ne[0] + (uint64_t)pairs[k].b->ne[1];
        if (ck_lora_read(&g, "llama", &w, &is_matmul, 1, pairs, (int)g.n_tensors, &alpha, err, sizeof err) < 0 && !err[0]) abort();
        free(pairs);
    }
    {
        ck_gguf_builder b;
        membuf m = { 0, 0, 0 };
        ck_gguf_builder_init(&b);
        for (i = 0; i < g.n_kv; i++)
            if (g.kv[i].key_len < 255) ck_gguf_add_kv_copy(&b, &g, i);
        if (!b.failed && ck_gguf_write(&b, mem_write, &m) == 0) {
            size_t ib2 = ck_gguf_index_bytes(m.p, m.n);
            void *index2 = malloc(ib2 ? ib2 : 1);
            if (ck_gguf_parse(&g2, m.p, m.n, index2, ib2) != 0) abort(); /* what we write, we read */
            free(index2);
        }
        free(m.p);
        ck_gguf_builder_free(&b);
    }
    free(index);
    return 0;
}
