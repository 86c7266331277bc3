/*
 * types.c — value and function types, and weft_val_t helpers.
 *
 * A function type is one allocation: the header followed by the parameter
 * and result types. Types inside a module are owned by the module; types
 * made with weft_functype_new are owned by the caller.
 */
#include <stdlib.h>
#include <string.h>

#include "priv.h"

const char *weft_valtype_name(weft_valtype_t t)
{
    switch (t) {
    case WEFT_I32: return "i32";
    case WEFT_I64: return "i64";
    case WEFT_F32: return "f32";
    case WEFT_F64: return "f64";
    case WEFT_V128: return "v128";
    case WEFT_FUNCREF: return "funcref";
    case WEFT_EXTERNREF: return "externref";
    }
    return "?";
}

const char *weft_externkind_name(weft_externkind_t k)
{
    switch (k) {
    case WEFT_EXTERN_FUNC: return "func";
    case WEFT_EXTERN_TABLE: return "table";
    case WEFT_EXTERN_MEMORY: return "memory";
    case WEFT_EXTERN_GLOBAL: return "global";
    }
    return "?";
}

weft_functype_t *functype_alloc(uint32_t nparams, uint32_t nresults)
{
    weft_functype_t *ft = calloc(1, sizeof *ft + nparams + nresults + 1);
    if (!ft) return NULL;
    ft->nparams = nparams;
    ft->nresults = nresults;
    ft->types = (uint8_t *)(ft + 1);
    return ft;
}

const uint8_t *functype_params(const weft_functype_t *ft) { return ft->types; }
const uint8_t *functype_results(const weft_functype_t *ft) { return ft->types + ft->nparams; }

weft_functype_t *weft_functype_new(const weft_valtype_t *params, size_t nparams,
                                   const weft_valtype_t *results, size_t nresults)
{
    if (nparams > MAX_FUNC_PARAMS || nresults > MAX_FUNC_PARAMS) return NULL;
    weft_functype_t *ft = functype_alloc((uint32_t)nparams, (uint32_t)nresults);
    if (!ft) return NULL;
    for (size_t i = 0; i < nparams; i++) ft->types[i] = (uint8_t)params[i];
    for (size_t i = 0; i < nresults; i++) ft->types[nparams + i] = (uint8_t)results[i];
    return ft;
}

void weft_functype_delete(weft_functype_t *ft) { free(ft); }
size_t weft_functype_nparams(const weft_functype_t *ft) { return ft->nparams; }
size_t weft_functype_nresults(const weft_functype_t *ft) { return ft->nresults; }

weft_valtype_t weft_functype_param(const weft_functype_t *ft, size_t i)
{
    return i < ft->nparams ? (weft_valtype_t)ft->types[i] : (weft_valtype_t)0;
}

weft_valtype_t weft_functype_result(const weft_functype_t *ft, size_t i)
{
    return i < ft->nresults ? (weft_valtype_t)ft->types[ft->nparams + i] : (weft_valtype_t)0;
}

int weft_functype_equal(const weft_functype_t *a, const weft_functype_t *b)
{
    if (a == b) return 1;
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           memcmp(a->types, b->types, a->nparams + a->nresults) == 0;
}

weft_val_t weft_val_i32(int32_t v) { return (weft_val_t){.type = WEFT_I32, .of.i32 = v}; }
weft_val_t weft_val_i64(int64_t v) { return (weft_val_t){.type = WEFT_I64, .of.i64 = v}; }

weft_val_t weft_val_f32(float v)
{
    weft_val_t r = {.type = WEFT_F32};
    memcpy(&r.of.f32_bits, &v, 4);
    return r;
}

weft_val_t weft_val_f64(double v)
{
    weft_val_t r = {.type = WEFT_F64};
    memcpy(&r.of.f64_bits, &v, 8);
    return r;
}

float weft_val_get_f32(const weft_val_t *v)
{
    float f;
    memcpy(&f, &v->of.f32_bits, 4);
    return f;
}

double weft_val_get_f64(const weft_val_t *v)
{
    double f;
    memcpy(&f, &v->of.f64_bits, 8);
    return f;
}
