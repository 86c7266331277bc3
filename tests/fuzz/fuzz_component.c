/*
 * fuzz_component.c — libFuzzer target: arbitrary bytes through the
 * component decoder and validator (weft_component_new), then everything a
 * loaded component describes: its imports and exports, their types printed,
 * and the canonical ABI flattening of every exported function.
 *
 * Beyond crashes and leaks (the sanitizers' job) it aborts when the API
 * breaks its contract: an undocumented error code, a failure without a
 * message, a message without the byte offset. replay.c runs it over
 * corpus_component/ without libFuzzer (CTest fuzz.component_replay).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/component.h>
#include <weft/weft.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void contract_broken(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "fuzz_component: API contract broken: %s (rc %d %s) %s\n", what, rc,
            weft_errname(rc), msg ? msg : "");
    abort();
}

static void walk(const weft_cextern_t *e, FILE *sink)
{
    fprintf(sink, "%s %s ", weft_csort_name(e->sort), e->name);
    if (!e->type)
        return;
    weft_ctype_print(e->type, sink);
    if (e->sort == WEFT_CSORT_FUNC) {
        weft_valtype_t flat[32];
        for (size_t i = 0; i < weft_ctype_count(e->type); i++)
            weft_canon_flatten(weft_ctype_type(e->type, i), flat, 32);
    }
    for (int imports = 0; imports < 2; imports++)
        for (size_t i = 0; i < weft_ctype_extern_count(e->type, imports); i++) {
            weft_cextern_t x;
            if (weft_ctype_extern(e->type, imports, i, &x) != 0)
                contract_broken("extern in range not found", 0, NULL);
            if (x.sort == WEFT_CSORT_FUNC && x.type) {
                weft_valtype_t flat[32];
                for (size_t k = 0; k < weft_ctype_count(x.type); k++)
                    weft_canon_flatten(weft_ctype_type(x.type, k), flat, 32);
            }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static weft_engine_t *engine;
    if (!engine && !(engine = weft_engine_new()))
        abort();
    weft_component_t *c = NULL;
    char msg[512];
    msg[0] = '\0';
    int rc = weft_component_new(engine, data, size, &c, msg, sizeof msg);
    if (rc != 0) {
        if (rc != WEFT_EMALFORMED && rc != WEFT_EINVALID && rc != WEFT_ELIMIT && rc != WEFT_ENOMEM)
            contract_broken("undocumented error code", rc, msg);
        if (!msg[0])
            contract_broken("failure without a message", rc, msg);
        if (rc != WEFT_ENOMEM && !strstr(msg, "offset 0x"))
            contract_broken("message without an offset", rc, msg);
        if (c)
            contract_broken("component set on failure", rc, msg);
        return 0;
    }
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    for (size_t i = 0; i < weft_component_import_count(c); i++) {
        weft_cextern_t e;
        if (weft_component_import(c, i, &e) != 0)
            contract_broken("import in range not found", 0, NULL);
        walk(&e, sink);
    }
    for (size_t i = 0; i < weft_component_export_count(c); i++) {
        weft_cextern_t e;
        if (weft_component_export(c, i, &e) != 0)
            contract_broken("export in range not found", 0, NULL);
        walk(&e, sink);
    }
    fclose(sink);
    weft_component_delete(c);
    return 0;
}
