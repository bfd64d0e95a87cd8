/* GGUF reader/writer tests (run under ASan+UBSan by `make test-asan`):
   - writer -> reader round trip of every metadata value type (nested and string arrays
     included) and every tensor type
   - hostile input: a small valid file truncated at every byte, wrong magic and version,
     impossible counts, string lengths past the end, bad tensor offsets, alignment, types,
     dimensions that overflow, deep nesting, duplicates: each a clean error, never a crash
   - the real vocabulary files in tests/data/vocab (written by llama.cpp's gguf-py)
   Usage: test_gguf [DATA_DIR]   (default tests/data). Ends with "N passed, N failed". */
#define CK_IMPLEMENTATION
#include "ckernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;
static void check(int ok, const char *what, const char *detail)
{
    if (ok) n_pass++;
    else { n_fail++; printf("FAIL: %s%s%s\n", what, detail ? ": " : "", detail ? detail : ""); }
}

/* ---- an in-memory sink for ck_gguf_write --------------------------------------------------- */
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

/* parse a private exact-size copy, so ASan sees any read past the end */
static int parse_copy(ck_gguf *g, const uint8_t *data, size_t size, void **keep_file, void **keep_index)
{
    uint8_t *copy = (uint8_t *)malloc(size ? size : 1);
    size_t ib;
    void *index;
    int rc;
    memcpy(copy, data, size);
    ib = ck_gguf_index_bytes(copy, size);
    index = malloc(ib ? ib : 1);
    rc = ck_gguf_parse(g, copy, size, index, ib);
    if (keep_file) *keep_file = copy; else free(copy);
    if (keep_index) *keep_index = index; else free(index);
    return rc;
}

static int streq(const char *s, uint64_t n, const char *z) { return n == strlen(z) && !memcmp(s, z, (size_t)n); }

/* ---- round trip --------------------------------------------------------------------------- */
static const int all_types[] = { CK_F32, CK_F16, CK_BF16, CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_Q8_0, CK_Q8_1,
                                 CK_Q2_K, CK_Q3_K, CK_Q4_K, CK_Q5_K, CK_Q6_K, CK_Q8_K };
#define N_TYPES ((int)(sizeof all_types / sizeof *all_types))

static membuf build_sample(uint8_t **tensor_data, int n_tensors)
{
    ck_gguf_builder b;
    membuf m = { 0, 0, 0 };
    uint8_t u8 = 200; int8_t i8 = -100; uint16_t u16 = 60000; int16_t i16 = -30000;
    uint64_t u64 = 0xFEDCBA9876543210ull; int64_t i64 = -1234567890123ll; double f64 = -2.5e-300;
    int32_t arr_i32[5] = { -1, 0, 1, 2147483647, -2147483647 - 1 };
    float arr_f32[3] = { 1.5f, -0.0f, 3.25e-20f };
    const char *strs[4] = { "", "hello", "\xc3\xa9t\xc3\xa9", "a b\tc" };
    int i;
    ck_gguf_builder_init(&b);
    ck_gguf_add_str(&b, "general.architecture", "llama");
    ck_gguf_add_u32(&b, "general.alignment", 64);
    ck_gguf_add_scalar(&b, "t.u8", CK_GGUF_U8, &u8);
    ck_gguf_add_scalar(&b, "t.i8", CK_GGUF_I8, &i8);
    ck_gguf_add_scalar(&b, "t.u16", CK_GGUF_U16, &u16);
    ck_gguf_add_scalar(&b, "t.i16", CK_GGUF_I16, &i16);
    ck_gguf_add_i32(&b, "t.i32", -7);
    ck_gguf_add_f32(&b, "t.f32", 0.1f);
    ck_gguf_add_bool(&b, "t.bool", 1);
    ck_gguf_add_scalar(&b, "t.u64", CK_GGUF_U64, &u64);
    ck_gguf_add_scalar(&b, "t.i64", CK_GGUF_I64, &i64);
    ck_gguf_add_scalar(&b, "t.f64", CK_GGUF_F64, &f64);
    ck_gguf_add_arr(&b, "t.arr_i32", CK_GGUF_I32, 5, arr_i32);
    ck_gguf_add_arr(&b, "t.arr_f32", CK_GGUF_F32, 3, arr_f32);
    ck_gguf_add_arr(&b, "t.arr_empty", CK_GGUF_U8, 0, NULL);
    ck_gguf_add_arr_str(&b, "t.arr_str", 4, strs);
    for (i = 0; i < n_tensors; i++) {
        int type = all_types[i % N_TYPES];
        int64_t ne[3] = { ck_type_block_size(type) * (1 + i % 3), 2 + i % 2, 1 + (i == 5) };
        uint64_t bytes = (uint64_t)(ne[0] / ck_type_block_size(type)) * ck_type_block_bytes(type) * ne[1] * ne[2];
        char name[64];
        uint64_t k;
        tensor_data[i] = (uint8_t *)malloc((size_t)bytes);
        for (k = 0; k < bytes; k++) tensor_data[i][k] = (uint8_t)(k * 7 + i);
        snprintf(name, sizeof name, "blk.%d.%s.weight", i, ck_type_name(type));
        ck_gguf_add_tensor(&b, name, i == 5 ? 3 : 2, ne, (uint32_t)type, tensor_data[i]);
    }
    check(!b.failed, "builder accepts the sample", b.error);
    check(ck_gguf_write(&b, mem_write, &m) == 0, "ck_gguf_write", b.error);
    check(ck_gguf_builder_size(&b) == m.n, "ck_gguf_builder_size equals the bytes written", NULL);
    ck_gguf_builder_free(&b);
    return m;
}

static void test_round_trip(void)
{
    enum { NT = 2 * N_TYPES };
    uint8_t *tdata[NT];
    membuf m = build_sample(tdata, NT);
    ck_gguf g;
    void *file, *index;
    int64_t iv;
    double dv;
    const char *s;
    uint64_t n, sl;
    uint32_t et;
    const ck_gguf_kv *kv;
    int i, ok;
    ck_gguf_iter it;
    if (parse_copy(&g, m.p, m.n, &file, &index) != 0) { check(0, "parse the sample", g.error); return; }
    check(g.version == 3 && g.n_kv == 16 && g.n_tensors == NT && g.alignment == 64, "header of the sample", NULL);
    check(g.data_offset % 64 == 0, "data section aligned to general.alignment", NULL);
    check(ck_gguf_get_str(&g, "general.architecture", &s, &sl) && streq(s, sl, "llama"), "string value", NULL);
    check(ck_gguf_get_int(&g, "t.u8", &iv) && iv == 200, "u8", NULL);
    check(ck_gguf_get_int(&g, "t.i8", &iv) && iv == -100, "i8", NULL);
    check(ck_gguf_get_int(&g, "t.u16", &iv) && iv == 60000, "u16", NULL);
    check(ck_gguf_get_int(&g, "t.i16", &iv) && iv == -30000, "i16", NULL);
    check(ck_gguf_get_int(&g, "t.i32", &iv) && iv == -7, "i32", NULL);
    check(ck_gguf_get_float(&g, "t.f32", &dv) && (float)dv == 0.1f, "f32", NULL);
    check(ck_gguf_get_int(&g, "t.bool", &iv) && iv == 1, "bool", NULL);
    check(!ck_gguf_get_int(&g, "t.u64", &iv), "u64 above INT64_MAX is not returned as int64", NULL);
    check(g.kv[ck_gguf_find_kv(&g, "t.u64")].type == CK_GGUF_U64, "u64 type kept", NULL);
    check(ck_gguf_get_int(&g, "t.i64", &iv) && iv == -1234567890123ll, "i64", NULL);
    check(ck_gguf_get_float(&g, "t.f64", &dv) && dv == -2.5e-300, "f64", NULL);
    check(!ck_gguf_get_int(&g, "t.f32", &iv), "a float is not an int", NULL);
    check(!ck_gguf_get_int(&g, "no.such.key", &iv) && ck_gguf_find_kv(&g, "no.such.key") == -1, "missing key", NULL);
    ok = ck_gguf_get_arr(&g, "t.arr_i32", &et, &n, &kv) && et == CK_GGUF_I32 && n == 5;
    for (i = 0; ok && i < 5; i++) ok = ck_gguf_arr_int(kv, (uint64_t)i, &iv) && iv == (i == 3 ? 2147483647 : i == 4 ? -2147483647 - 1 : i - 1);
    check(ok && !ck_gguf_arr_int(kv, 5, &iv), "i32 array, bounds", NULL);
    ok = ck_gguf_get_arr(&g, "t.arr_f32", &et, &n, &kv) && et == CK_GGUF_F32 && n == 3 &&
         ck_gguf_arr_float(kv, 0, &dv) && dv == 1.5 && ck_gguf_arr_float(kv, 2, &dv) && (float)dv == 3.25e-20f;
    check(ok, "f32 array", NULL);
    check(ck_gguf_get_arr(&g, "t.arr_empty", &et, &n, &kv) && n == 0 && et == CK_GGUF_U8, "empty array", NULL);
    ok = ck_gguf_get_arr(&g, "t.arr_str", &et, &n, &kv) && et == CK_GGUF_STR && n == 4;
    ck_gguf_iter_init(&it, kv);
    ok = ok && ck_gguf_iter_str(&it, &s, &sl) && sl == 0;
    ok = ok && ck_gguf_iter_str(&it, &s, &sl) && streq(s, sl, "hello");
    ok = ok && ck_gguf_iter_str(&it, &s, &sl) && streq(s, sl, "\xc3\xa9t\xc3\xa9");
    ok = ok && ck_gguf_iter_str(&it, &s, &sl) && streq(s, sl, "a b\tc");
    check(ok && !ck_gguf_iter_str(&it, &s, &sl), "string array in order, then the end", NULL);
    for (i = 0; i < NT; i++) {
        int type = all_types[i % N_TYPES];
        char name[64];
        const ck_gguf_tensor *t;
        snprintf(name, sizeof name, "blk.%d.%s.weight", i, ck_type_name(type));
        t = ck_gguf_find_tensor(&g, name);
        ok = t && t->type == (uint32_t)type && t->ne[0] == ck_type_block_size(type) * (1 + i % 3) && t->ne[1] == 2 + i % 2 &&
             t->n_dims == (i == 5 ? 3u : 2u) && t->offset % 64 == 0 && !memcmp(t->data, tdata[i], (size_t)t->n_bytes);
        check(ok, "tensor round trip (type, shape, aligned offset, bytes)", name);
        free(tdata[i]);
    }
    check(ck_gguf_find_tensor(&g, "nope") == NULL, "missing tensor", NULL);

    /* copy every entry verbatim into a new file: the key/value section is byte-identical */
    {
        ck_gguf_builder b;
        membuf m2 = { 0, 0, 0 };
        uint64_t k;
        ck_gguf_builder_init(&b);
        for (k = 0; k < g.n_kv; k++) ck_gguf_add_kv_copy(&b, &g, k);
        ck_gguf_write(&b, mem_write, &m2);
        check(m2.n == g.kv[g.n_kv - 1].file_offset + g.kv[g.n_kv - 1].entry_bytes &&
              !memcmp(m2.p + 24, m.p + 24, m2.n - 24) && b.alignment == 64, "ck_gguf_add_kv_copy reproduces the entries", NULL);
        ck_gguf_builder_free(&b);
        free(m2.p);
    }
    /* builder refuses duplicates and bad tensors with a message */
    {
        ck_gguf_builder b;
        int64_t ne[2] = { 33, 2 };
        ck_gguf_builder_init(&b);
        ck_gguf_add_u32(&b, "a", 1);
        check(ck_gguf_add_u32(&b, "a", 2) != 0 && strstr(b.error, "duplicate key") != NULL, "builder: duplicate key refused", b.error);
        ck_gguf_builder_free(&b);
        ck_gguf_builder_init(&b);
        check(ck_gguf_add_tensor(&b, "w", 2, ne, CK_Q8_0, tdata) != 0 && strstr(b.error, "block size") != NULL,
              "builder: row length not a multiple of the block refused", b.error);
        ck_gguf_builder_free(&b);
    }
    free(file); free(index); free(m.p);
}

/* ---- hostile input ------------------------------------------------------------------------ */
static void put64(uint8_t *p, uint64_t v) { int i; for (i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put32(uint8_t *p, uint32_t v) { int i; for (i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void expect_error(const uint8_t *data, size_t size, const char *what, const char *needle)
{
    ck_gguf g;
    char detail[400];
    int rc = parse_copy(&g, data, size, NULL, NULL);
    snprintf(detail, sizeof detail, "rc=%d error='%s' (wanted '%s')", rc, g.error, needle);
    check(rc == -1 && g.error[0] && strstr(g.error, needle) != NULL, what, detail);
}

static void test_hostile(void)
{
    uint8_t *t0[4];
    membuf m;
    size_t cut, tensor_info_at;
    uint8_t *bad;
    ck_gguf g;
    int all_clean = 1;
    char detail[300];
    /* a small valid file: four kvs, four tensors */
    {
        ck_gguf_builder b;
        int64_t ne[2] = { 32, 2 };
        int i;
        ck_gguf_builder_init(&b);
        ck_gguf_add_str(&b, "general.architecture", "gpt2");
        ck_gguf_add_u32(&b, "gpt2.block_count", 2);
        {
            const char *toks[3] = { "a", "bc", "def" };
            ck_gguf_add_arr_str(&b, "tokenizer.ggml.tokens", 3, toks);
        }
        ck_gguf_add_f32(&b, "x", 1.0f);
        for (i = 0; i < 4; i++) {
            char name[16];
            int type = i == 0 ? CK_F32 : i == 1 ? CK_Q8_0 : i == 2 ? CK_F16 : CK_Q4_0;
            size_t bytes = (size_t)ck_type_block_bytes(type) * (size_t)(32 / ck_type_block_size(type)) * 2;
            t0[i] = (uint8_t *)calloc(bytes, 1);
            snprintf(name, sizeof name, "t%d", i);
            ck_gguf_add_tensor(&b, name, 2, ne, (uint32_t)type, t0[i]);
        }
        m.p = NULL; m.n = m.cap = 0;
        ck_gguf_write(&b, mem_write, &m);
        ck_gguf_builder_free(&b);
        for (i = 0; i < 4; i++) free(t0[i]);
    }
    check(parse_copy(&g, m.p, m.n, NULL, NULL) == 0, "the hostile-test base file parses", g.error);
    /* every proper prefix must be refused with a message, never read past its end */
    for (cut = 0; cut < m.n; cut++) {
        int rc = parse_copy(&g, m.p, cut, NULL, NULL);
        if (rc != -1 || !g.error[0]) {
            all_clean = 0;
            snprintf(detail, sizeof detail, "prefix of %llu of %llu bytes: rc=%d", (unsigned long long)cut, (unsigned long long)m.n, rc);
            check(0, "truncated file refused", detail);
            break;
        }
    }
    snprintf(detail, sizeof detail, "%llu prefixes", (unsigned long long)m.n);
    check(all_clean, "every truncation refused with an error", detail);
    expect_error(m.p, 10, "short file", "shorter than the 24-byte");

    bad = (uint8_t *)malloc(m.n);
#define MUTATE(stmt, what, needle) do { memcpy(bad, m.p, m.n); stmt; expect_error(bad, m.n, what, needle); } while (0)
    MUTATE(bad[0] = 'X', "wrong magic", "bad magic");
    MUTATE(put32(bad + 4, 1), "version 1", "version 1 ");
    MUTATE(put32(bad + 4, 4), "version 4", "version 4 ");
    MUTATE(put32(bad + 4, 0x03000000u), "byte-swapped version", "big-endian");
    MUTATE(put64(bad + 8, 1ull << 63), "tensor count 2^63", "tensor count");
    MUTATE(put64(bad + 16, 1ull << 63), "kv count 2^63", "key/value count");
    MUTATE(put64(bad + 16, 0xFFFFFFFFFFFFFFFFull), "kv count 2^64-1", "key/value count");
    MUTATE(put64(bad + 24, 1ull << 62), "key length past the end", "past the end");
    MUTATE(put64(bad + 24, 0xFFFFFFFFFFFFFFFFull), "key length 2^64-1", "past the end");
    /* first kv: key "general.architecture" (20), type at 24+8+20 = 52, string length at 56 */
    MUTATE(put32(bad + 52, 13), "unknown value type", "unknown value type 13");
    MUTATE(put32(bad + 52, 0xFFFFFFFFu), "value type 2^32-1", "unknown value type");
    MUTATE(put64(bad + 56, 1ull << 63), "string value length 2^63", "past the end");
    /* the string array: find it by its key */
    {
        size_t at = 0, k;
        for (k = 0; k + 21 < m.n; k++)
            if (!memcmp(m.p + k, "tokenizer.ggml.tokens", 21)) { at = k + 21; break; }
        /* at: value type (4), elem type (4), count (8), then strings */
        MUTATE(put64(bad + at + 8, 1ull << 62), "string array count 2^62", "cannot fit");
        MUTATE(put32(bad + at + 4, 99), "unknown array element type", "unknown array element type 99");
        MUTATE((put32(bad + at + 4, CK_GGUF_U64), put64(bad + at + 8, 1ull << 61)), "u64 array count 2^61", "runs past the end");
        MUTATE(put64(bad + at + 16, 1ull << 40), "string in an array past the end", "past the end");
    }
    /* tensor infos follow the kvs: find "t0" info (name length 2, "t0") */
    {
        size_t k;
        tensor_info_at = 0;
        for (k = 24; k + 10 < m.n; k++)
            if (m.p[k] == 2 && !memcmp(m.p + k + 1, "\0\0\0\0\0\0\0t0", 9)) { tensor_info_at = k; break; }
    }
    check(tensor_info_at > 0, "found the tensor info of the base file", NULL);
    if (tensor_info_at) {
        size_t nd = tensor_info_at + 10, ne0 = nd + 4, ne1 = ne0 + 8, type = ne1 + 8, off = type + 4;
        MUTATE(put32(bad + nd, 0), "0 dimensions", "has 0 dimensions");
        MUTATE(put32(bad + nd, 5), "5 dimensions", "has 5 dimensions");
        MUTATE(put64(bad + ne1, 1ull << 62), "dimension product overflow", "overflow");
        MUTATE((put64(bad + ne0, 1ull << 40), put64(bad + ne1, 1ull << 40)), "dims 2^40 x 2^40", "overflow");
        MUTATE(put64(bad + ne1, 1ull << 63), "dimension 2^63", "overflow");
        MUTATE(put32(bad + type, 4), "removed type 4", "unknown type 4");
        MUTATE(put32(bad + type, 99), "unknown type 99", "unknown type 99");
        MUTATE((put32(bad + type, CK_Q8_0), put64(bad + ne0, 48)), "row not a multiple of the block", "not a multiple");
        MUTATE(put64(bad + off, 1ull << 62), "tensor offset far past the end", "past the end");
        MUTATE(put64(bad + off, 0xFFFFFFFFFFFFFFC0ull), "tensor offset wraps around", "past the end");
        MUTATE(put64(bad + off, 7), "misaligned tensor offset", "not a multiple of the alignment");
        MUTATE(put64(bad + ne1, 100000), "tensor data past the end", "past the end");
        MUTATE(memcpy(bad + tensor_info_at + 8, "t1", 2), "duplicate tensor name", "appears twice");
    }
    free(bad);
    free(m.p);
#undef MUTATE
}

/* Deep nesting, bad alignment, duplicate keys: files written by hand */
static void test_handmade(void)
{
    uint8_t f[4096];
    size_t n = 0;
    int d;
#define B64(v) (put64(f + n, (uint64_t)(v)), n += 8)
#define B32(v) (put32(f + n, (uint32_t)(v)), n += 4)
#define BSTR(s) (B64(strlen(s)), memcpy(f + n, s, strlen(s)), n += strlen(s))
#define HDR(nt, nkv) (n = 0, memcpy(f, "GGUF", 4), n = 4, B32(3), B64(nt), B64(nkv))
    HDR(0, 1); BSTR("deep"); B32(CK_GGUF_ARR);
    for (d = 0; d < 20; d++) { B32(CK_GGUF_ARR); B64(1); }
    B32(CK_GGUF_U8); B64(1); f[n++] = 1;
    expect_error(f, n, "arrays nested 20 deep", "nested deeper");

    HDR(0, 1); BSTR("ok"); B32(CK_GGUF_ARR); B32(CK_GGUF_ARR); B64(2);
    B32(CK_GGUF_U16); B64(1); f[n++] = 1; f[n++] = 2;
    B32(CK_GGUF_STR); B64(1); BSTR("x");
    {
        ck_gguf g;
        void *file, *index;
        int rc = parse_copy(&g, f, n, &file, &index);
        check(rc == 0 && g.kv[0].arr_type == CK_GGUF_ARR && g.kv[0].arr_n == 2, "array of arrays parses", g.error);
        free(file);
        free(index);
    }
    HDR(0, 1); BSTR("general.alignment"); B32(CK_GGUF_U32); B32(3);
    expect_error(f, n, "alignment 3", "power of two");
    HDR(0, 1); BSTR("general.alignment"); B32(CK_GGUF_U32); B32(0);
    expect_error(f, n, "alignment 0", "power of two");
    HDR(0, 1); BSTR("general.alignment"); B32(CK_GGUF_U64); B64(32);
    expect_error(f, n, "alignment of type u64", "u32 power of two");
    HDR(0, 2); BSTR("k"); B32(CK_GGUF_U8); f[n++] = 1; BSTR("k"); B32(CK_GGUF_U8); f[n++] = 2;
    expect_error(f, n, "duplicate key", "appears twice");
    { /* found by make fuzz: an error message longer than the error buffer ending in a number
         (the formatter once looped forever once the buffer was full) */
        char key[251];
        memset(key, 'k', 250);
        key[250] = 0;
        HDR(0, 1); BSTR(key); B32(1245920309);
        expect_error(f, n, "200-byte key printed in an error that fills the buffer", "gguf: key 'kkkk");
    }
    HDR(0, 0);
    {
        ck_gguf g;
        check(parse_copy(&g, f, n, NULL, NULL) == 0 && g.n_kv == 0 && g.n_tensors == 0, "empty GGUF (header only) parses", g.error);
    }
    /* too little index memory is an error, not an overflow */
    {
        ck_gguf g;
        uint8_t idx[8];
        HDR(0, 1); BSTR("k"); B32(CK_GGUF_U8); f[n++] = 1;
        check(ck_gguf_parse(&g, f, n, idx, sizeof idx) == -1 && strstr(g.error, "index needs") != NULL, "small index buffer refused", g.error);
    }
#undef B64
#undef B32
#undef BSTR
#undef HDR
}

/* ---- the real vocabulary files ------------------------------------------------------------ */
static void test_vocab(const char *dir)
{
    static const struct { const char *file, *model, *arch; uint64_t n_kv, n_tokens, n_merges; } v[] = {
        { "ggml-vocab-gpt-2.gguf", "gpt2", "gpt2", 0, 50257, 50000 },
        { "ggml-vocab-llama-spm.gguf", "llama", "llama", 0, 32000, 0 },
        { "ggml-vocab-bert-bge.gguf", "bert", "bert", 20, 30522, 0 },
        { "ggml-vocab-falcon.gguf", "gpt2", "falcon", 18, 65024, 64784 },
        { "ggml-vocab-deepseek-llm.gguf", "gpt2", "llama", 23, 102400, 99757 },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof *v; i++) {
        char path[1024], detail[256];
        ck_gguf g;
        const char *s;
        uint64_t sl, n = 0, count = 0, bytes = 0;
        const ck_gguf_kv *kv;
        ck_gguf_iter it;
        int ok;
        snprintf(path, sizeof path, "%s/vocab/%s", dir, v[i].file);
        if (ck_gguf_open(&g, path) != 0) { check(0, "open vocab file", g.error); continue; }
        ok = g.version == 3 && g.n_tensors == 0 && (!v[i].n_kv || g.n_kv == v[i].n_kv);
        ok = ok && ck_gguf_get_str(&g, "tokenizer.ggml.model", &s, &sl) && streq(s, sl, v[i].model);
        ok = ok && ck_gguf_get_str(&g, "general.architecture", &s, &sl) && streq(s, sl, v[i].arch);
        ok = ok && ck_gguf_get_arr(&g, "tokenizer.ggml.tokens", NULL, &n, &kv) && n == v[i].n_tokens;
        /* walk every token string: the count matches and the walk ends inside the file */
        ck_gguf_iter_init(&it, kv);
        while (ck_gguf_iter_str(&it, &s, &sl)) { count++; bytes += sl; }
        ok = ok && count == n && it.p <= g.file + g.size;
        if (v[i].n_merges) ok = ok && ck_gguf_get_arr(&g, "tokenizer.ggml.merges", NULL, &n, NULL) && n == v[i].n_merges;
        snprintf(detail, sizeof detail, "%s: n_kv=%llu tokens=%llu (%llu bytes of text)", v[i].file, (unsigned long long)g.n_kv,
                 (unsigned long long)count, (unsigned long long)bytes);
        check(ok, "vocab file metadata", detail);
        ck_gguf_close(&g);
    }
    {
        ck_gguf g;
        check(ck_gguf_open(&g, "/nonexistent/x.gguf") == -1 && strstr(g.error, "/nonexistent/x.gguf: cannot open") != NULL,
              "a missing path is named in the error", g.error);
    }
}

/* test_gguf --seeds DIR: write small valid files as the fuzzer's starting corpus */
static int write_seeds(const char *dir)
{
    enum { NT = 2 * N_TYPES };
    uint8_t *tdata[NT];
    membuf m = build_sample(tdata, NT);
    char path[1024];
    FILE *f;
    int i;
    snprintf(path, sizeof path, "%s/sample.gguf", dir);
    f = fopen(path, "wb");
    if (!f || fwrite(m.p, 1, m.n, f) != m.n) { printf("cannot write %s\n", path); return 1; }
    fclose(f);
    for (i = 0; i < NT; i++) free(tdata[i]);
    free(m.p);
    m = build_sample(tdata, 0);
    snprintf(path, sizeof path, "%s/kv_only.gguf", dir);
    f = fopen(path, "wb");
    if (!f || fwrite(m.p, 1, m.n, f) != m.n) { printf("cannot write %s\n", path); return 1; }
    fclose(f);
    free(m.p);
    { /* a LoRA adapter: one pair, rank 2, for blk.0.attn_q.weight [64, 64] (fuzz_gguf reads it as one) */
        static float a[2 * 64], b[64 * 2];
        const ck_lora_tensor lt = { "blk.0.attn_q.weight", 2, 64, 64, a, b };
        ck_gguf_builder gb;
        membuf lm = { NULL, 0, 0 };
        for (i = 0; i < 128; i++) { a[i] = (float)i / 128.0f; b[i] = 1.0f - (float)i / 64.0f; }
        ck_gguf_builder_init(&gb);
        if (ck_lora_add(&gb, "llama", 8.0f, &lt, 1) || ck_gguf_write(&gb, mem_write, &lm)) { printf("cannot build the LoRA seed\n"); return 1; }
        ck_gguf_builder_free(&gb);
        snprintf(path, sizeof path, "%s/lora.gguf", dir);
        f = fopen(path, "wb");
        if (!f || fwrite(lm.p, 1, lm.n, f) != lm.n) { printf("cannot write %s\n", path); return 1; }
        fclose(f);
        free(lm.p);
    }
    return 0;
}

/* ---- LoRA adapters: the writer's file read back over caller memory, checked against a table ---- */
static void test_lora(void)
{
    float a0[2 * 8], b0[6 * 2], a1[3 * 6], b1[8 * 3], x[3 * 8], out[3 * 6], want[3 * 6], scratch[4 * 3];
    const ck_lora_tensor lt[2] = { { "blk.0.attn_q.weight", 2, 8, 6, a0, b0 }, { "blk.0.ffn_down.weight", 3, 6, 8, a1, b1 } };
    ck_weight_info w[3] = { { "token_embd.weight", CK_F32, 8, 10, 0, 320 }, { "blk.0.attn_q.weight", CK_Q8_0, 8, 6, 320, 0 },
                            { "blk.0.ffn_down.weight", CK_F32, 6, 8, 640, 192 } };
    const unsigned char matmul[3] = { 0, 1, 1 }, not_q[3] = { 0, 0, 1 };
    ck_gguf_builder b;
    membuf m = { NULL, 0, 0 };
    ck_gguf g;
    ck_lora_pair pairs[4];
    void *file = NULL, *index = NULL;
    char err[256];
    float alpha = 0.0f;
    int i, n, t, o, r, c;
    for (i = 0; i < (int)(sizeof a0 / sizeof *a0); i++) a0[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    for (i = 0; i < (int)(sizeof b0 / sizeof *b0); i++) b0[i] = (float)((i * 5) % 7) / 7.0f - 0.4f;
    for (i = 0; i < (int)(sizeof a1 / sizeof *a1); i++) a1[i] = (float)((i * 3) % 13) / 13.0f - 0.5f;
    for (i = 0; i < (int)(sizeof b1 / sizeof *b1); i++) b1[i] = (float)((i * 11) % 9) / 9.0f - 0.5f;
    ck_gguf_builder_init(&b);
    check(ck_lora_add(&b, "llama", 4.0f, lt, 2) == 0, "lora: ck_lora_add", b.error);
    check(ck_gguf_write(&b, mem_write, &m) == 0, "lora: write", b.error);
    ck_gguf_builder_free(&b);
    check(parse_copy(&g, m.p, m.n, &file, &index) == 0, "lora: parse", g.error);
    n = ck_lora_read(&g, "llama", w, matmul, 3, pairs, 4, &alpha, err, sizeof err);
    check(n == 2 && alpha == 4.0f, "lora: two pairs, alpha 4", err);
    check(n == 2 && streq(pairs[0].base, pairs[0].base_len, "blk.0.attn_q.weight") && pairs[0].rank == 2 && pairs[0].w_index == 1 &&
          pairs[1].rank == 3 && pairs[1].w_index == 2 && pairs[0].a->ne[0] == 8 && pairs[0].a->ne[1] == 2 && pairs[0].b->ne[0] == 2 &&
          pairs[0].b->ne[1] == 6, "lora: names, ranks, shapes (lora_a ne = [in, rank], lora_b ne = [rank, out])", NULL);
    check(ck_lora_read(&g, NULL, NULL, NULL, 0, pairs, 4, &alpha, err, sizeof err) == 2, "lora: the file alone", err);
    check(ck_lora_read(&g, "qwen2", w, matmul, 3, pairs, 4, &alpha, err, sizeof err) < 0 && strstr(err, "general.architecture"),
          "lora: another architecture refused", err);
    check(ck_lora_read(&g, "llama", w, not_q, 3, pairs, 4, &alpha, err, sizeof err) < 0 && strstr(err, "blk.0.attn_q.weight is not a weight a matmul"),
          "lora: a weight no matmul reads refused", err);
    w[2].ne0 = 7;
    check(ck_lora_read(&g, "llama", w, matmul, 3, pairs, 4, &alpha, err, sizeof err) < 0 && strstr(err, "blk.0.ffn_down.weight.lora_a/.lora_b") &&
          strstr(err, "[7, 8]"), "lora: another in dimension refused, naming the tensor and both shapes", err);
    w[2].ne0 = 6;
    check(ck_lora_read(&g, "llama", w, matmul, 3, pairs, 1, &alpha, err, sizeof err) < 0, "lora: no room for the pairs refused", err);
    free(file); free(index); free(m.p);
    { /* ck_lora_apply: out += scale (x A^T) B^T for the weight at its offset, nothing for another */
        float bt0[2 * 6];
        ck_lora_weight lw = { 320, 2, 8, 6, 0.0f, a0, bt0 };
        ck_lora lo;
        for (r = 0; r < 2; r++)
            for (o = 0; o < 6; o++) bt0[r * 6 + o] = b0[o * 2 + r];
        lw.scale = ck_lora_scale(4.0f, 2, 0.5f);
        check(lw.scale == 1.0f && ck_lora_scale(0.0f, 2, 0.5f) == 0.5f, "lora: scale = S * alpha / rank (alpha 0: S)", NULL);
        memset(&lo, 0, sizeof lo);
        lo.w = &lw; lo.n_w = 1; lo.scratch = scratch; lo.scratch_rows = 2; /* 3 rows: two chunks */
        for (i = 0; i < 3 * 8; i++) x[i] = (float)((i * 13) % 17) / 17.0f - 0.5f;
        for (i = 0; i < 3 * 6; i++) out[i] = want[i] = (float)i;
        for (t = 0; t < 3; t++)
            for (o = 0; o < 6; o++) {
                double acc = 0.0;
                for (r = 0; r < 2; r++) {
                    double xa = 0.0;
                    for (c = 0; c < 8; c++) xa += (double)x[t * 8 + c] * a0[r * 8 + c];
                    acc += xa * b0[o * 2 + r];
                }
                want[t * 6 + o] += (float)acc;
            }
        ck_lora_apply(&lo, out, x, 640, 3, 6, 8); /* not adapted: out unchanged */
        for (i = 0; i < 3 * 6 && out[i] == (float)i; i++) {}
        check(i == 3 * 6, "lora: an unadapted weight leaves out as it was", NULL);
        ck_lora_apply(&lo, out, x, 320, 3, 8, 6);
        for (i = 0; i < 3 * 6 && fabs(out[i] - want[i]) < 1e-5; i++) {}
        check(i == 3 * 6, "lora: ck_lora_apply in chunks of scratch_rows == the double formula", NULL);
    }
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data";
    if (argc > 2 && !strcmp(argv[1], "--seeds")) return write_seeds(argv[2]);
    test_round_trip();
    test_hostile();
    test_handmade();
    test_lora();
    test_vocab(dir);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
