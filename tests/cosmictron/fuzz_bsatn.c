/*
 * fuzz_bsatn.c — libFuzzer target for the BSATN codec and the schema
 * parser (src/store/bsatn.c, tables_schema.c): corrupt rows and
 * descriptions never crash the host or read past their bytes.
 *
 * Byte 0 is the length of a type taken from the bytes after it; the rest
 * is a value of that type. Whatever the type checker accepts, the value
 * goes through check, key and JSON, which must agree: all accept it with
 * the same length, or all refuse it. The whole input is also parsed as a
 * module description. replay.c runs it over corpus_bsatn/ without
 * libFuzzer (CTest fuzz.cosmictron.bsatn_replay).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/bsatn.h"
#include "weft/error.h"
#include "weft/tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_bsatn: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_schema_t *s = NULL;
    char msg[256];
    if (weft_schema_parse(data, size, &s, msg, sizeof msg) == 0) {
        weft_bsatn_buf_t d;
        weft_bsatn_buf_init(&d);
        check(weft_schema_describe(s, &d) == 0, "describe failed on a parsed schema");
        weft_bsatn_buf_fini(&d);
        weft_schema_delete(s);
    }
    if (size == 0) return 0;
    size_t tl = data[0];
    if (tl > size - 1) tl = size - 1;
    /* exact-size copies, so the sanitizer sees any over-read */
    uint8_t *t = malloc(tl ? tl : 1), *v = malloc(size - 1 - tl ? size - 1 - tl : 1);
    check(t && v, "malloc");
    memcpy(t, data + 1, tl);
    memcpy(v, data + 1 + tl, size - 1 - tl);
    size_t vl = size - 1 - tl, used_c = 0, used_k = 0, used_j = 0, tused = 0;
    if (weft_bsatn_type_check(t, tl, &tused) == 0) {
        weft_bsatn_buf_t k, j, n;
        weft_bsatn_buf_init(&k);
        weft_bsatn_buf_init(&j);
        weft_bsatn_buf_init(&n);
        check(weft_bsatn_type_name(t, tused, &n) == 0, "type name of a checked type");
        int rc = weft_bsatn_check(t, tused, v, vl, &used_c);
        int rk = weft_bsatn_key(t, tused, v, vl, &k, &used_k);
        int rj = weft_bsatn_json(t, tused, v, vl, &j, &used_j);
        check((rc == 0) == (rk == 0) && (rc == 0) == (rj == 0), "check, key and json disagree");
        check(rc != 0 || (used_c == used_k && used_c == used_j && used_c <= vl),
              "lengths disagree");
        check(rc == 0 || rc == WEFT_EMALFORMED, "unexpected error");
        weft_bsatn_buf_fini(&k);
        weft_bsatn_buf_fini(&j);
        weft_bsatn_buf_fini(&n);
    }
    free(t);
    free(v);
    return 0;
}
