/*
 * weft/types.h — value types, function types and values.
 *
 * A weft_functype_t is an immutable description of a function signature,
 * with one owner (no reference count): whoever got it from
 * weft_functype_new deletes it once; types borrowed from a module or a
 * function live as long as those. Values cross the API as weft_val_t, a tagged union.
 * Floats are carried as their IEEE-754 bit patterns (f32_bits/f64_bits) so a
 * NaN payload is never altered on the way in or out.
 */
#ifndef WEFT_TYPES_H
#define WEFT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Value types, numbered by their binary encoding. */
typedef enum {
    WEFT_I32 = 0x7f,
    WEFT_I64 = 0x7e,
    WEFT_F32 = 0x7d,
    WEFT_F64 = 0x7c,
    WEFT_V128 = 0x7b,
    WEFT_FUNCREF = 0x70,
    WEFT_EXTERNREF = 0x6f,
} weft_valtype_t;

/* Returns "i32", "f64", "funcref", ...; "?" for an unknown value. */
const char *weft_valtype_name(weft_valtype_t t);

struct weft_func;

/* A value. For FUNCREF, `func` is a function of the same store or NULL
 * (null reference). For EXTERNREF, `ref` is an opaque host pointer; NULL
 * is the null reference. */
typedef struct {
    weft_valtype_t type;
    union {
        int32_t i32;
        int64_t i64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        struct weft_func *func;
        void *ref;
        uint8_t v128[16]; /* V128: the 16 bytes as in linear memory (lane 0 first) */
    } of;
} weft_val_t;

/* Convenience constructors. */
weft_val_t weft_val_i32(int32_t v);
weft_val_t weft_val_i64(int64_t v);
weft_val_t weft_val_f32(float v);
weft_val_t weft_val_f64(double v);
float weft_val_get_f32(const weft_val_t *v);
double weft_val_get_f64(const weft_val_t *v);

/* Function types. weft_functype_new copies both arrays; the result is owned
 * by the caller and released with weft_functype_delete (once: there is no
 * reference count). Being immutable, one may be read by several threads.
 * Returns NULL on allocation failure or if a count exceeds 1000. */
typedef struct weft_functype weft_functype_t;

weft_functype_t *weft_functype_new(const weft_valtype_t *params, size_t nparams,
                                   const weft_valtype_t *results, size_t nresults);
void weft_functype_delete(weft_functype_t *ft);
size_t weft_functype_nparams(const weft_functype_t *ft);
size_t weft_functype_nresults(const weft_functype_t *ft);
weft_valtype_t weft_functype_param(const weft_functype_t *ft, size_t i);
weft_valtype_t weft_functype_result(const weft_functype_t *ft, size_t i);
/* 1 if both have the same parameter and result types, else 0. */
int weft_functype_equal(const weft_functype_t *a, const weft_functype_t *b);

/* Limits of a memory (in 64 KiB pages) or a table (in elements). */
typedef struct {
    uint32_t min;
    uint32_t max;
    int has_max;
} weft_limits_t;

/* Kinds of import and export. */
typedef enum {
    WEFT_EXTERN_FUNC = 0,
    WEFT_EXTERN_TABLE = 1,
    WEFT_EXTERN_MEMORY = 2,
    WEFT_EXTERN_GLOBAL = 3,
} weft_externkind_t;

/* Returns "func", "table", "memory" or "global". */
const char *weft_externkind_name(weft_externkind_t k);

#ifdef __cplusplus
}
#endif
#endif
