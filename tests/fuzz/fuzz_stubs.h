/*
 * fuzz_stubs.h — what the engine's fuzz and differential tools share:
 * zero values, a stub for every kind of import, and reading a whole file.
 * Static functions, so each tool (fuzz_module.c, replay.c, diff_run.c)
 * gets its own copy without a library.
 */
#ifndef WEFT_TESTS_FUZZ_STUBS_H
#define WEFT_TESTS_FUZZ_STUBS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/weft.h>

static inline weft_val_t fz_zero_of(weft_valtype_t t)
{
    weft_val_t v;
    memset(&v, 0, sizeof v);
    v.type = t;
    return v;
}

/* All bits set (-1, a NaN); references stay null. The second argument set
 * of the fuzz targets: zeros alone leave every branch on a parameter half
 * explored. */
static inline weft_val_t fz_ones_of(weft_valtype_t t)
{
    weft_val_t v = fz_zero_of(t);
    if (t == WEFT_I32 || t == WEFT_F32)
        v.of.i32 = -1;
    else if (t == WEFT_I64 || t == WEFT_F64)
        v.of.i64 = -1;
    return v;
}

/* Host stub for any imported function: returns zeros of its result types.
 * `user` is the import's function type, borrowed from the module, which
 * outlives the store. */
static inline int fz_stub_func(weft_caller_t *caller, void *user, const weft_val_t *args,
                               weft_val_t *results)
{
    const weft_functype_t *ft = user;
    size_t n = weft_functype_nresults(ft);
    (void)caller;
    (void)args;
    for (size_t i = 0; i < n; i++)
        results[i] = fz_zero_of(weft_functype_result(ft, i));
    return 0;
}

/* Defines import `d` as a stub (zero-initialised memory, table or global,
 * or fz_stub_func). Returns 0; -1 when the store refuses the definition
 * (limits over its caps: instantiation then fails to link); -2 when `d`
 * itself breaks the API's contract (a function import without a type, an
 * unknown kind). */
static inline int fz_define_stub(weft_store_t *store, weft_linker_t *linker,
                                 const weft_externdesc_t *d)
{
    weft_extern_t ext;
    weft_val_t init;
    memset(&ext, 0, sizeof ext);
    ext.kind = d->kind;
    switch (d->kind) {
    case WEFT_EXTERN_FUNC:
        if (d->functype == NULL)
            return -2;
        return weft_linker_define_func(linker, d->module, d->name, d->functype, fz_stub_func,
                                       (void *)d->functype) == 0 ? 0 : -1;
    case WEFT_EXTERN_MEMORY:
        ext.of.memory = weft_memory_new(store, d->limits);
        if (ext.of.memory == NULL)
            return -1;
        break;
    case WEFT_EXTERN_TABLE:
        ext.of.table = weft_table_new(store, d->valtype, d->limits, NULL);
        if (ext.of.table == NULL)
            return -1;
        break;
    case WEFT_EXTERN_GLOBAL:
        init = fz_zero_of(d->valtype);
        ext.of.global = weft_global_new(store, d->valtype, d->mutable_, &init);
        if (ext.of.global == NULL)
            return -1;
        break;
    default:
        return -2;
    }
    return weft_linker_define(linker, d->module, d->name, &ext) == 0 ? 0 : -1;
}

/* A store with the fuzz targets' small limits (memories, tables, call
 * depth, value stack); NULL when out of memory, or -1 in *rc when the
 * store refuses the limits. */
static inline weft_store_t *fz_store_new(weft_engine_t *engine, int *rc)
{
    weft_store_t *store = weft_store_new(engine);
    weft_limits_config_t lim = weft_limits_default();
    *rc = 0;
    if (store == NULL)
        return NULL;
    lim.max_memory_pages = 16;
    lim.max_table_elems = 10000;
    lim.max_call_depth = 200;
    lim.max_stack_bytes = 64 * 1024;
    *rc = weft_store_set_limits(store, &lim);
    return store;
}

/* Reads a whole file into a malloc'ed buffer (one spare byte, so an empty
 * file gives a valid pointer); NULL when it cannot. */
static inline uint8_t *fz_read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto fail;
    fclose(f);
    *out_len = (size_t)n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

#endif
