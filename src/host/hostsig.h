/*
 * hostsig.h — a host function's type from the short signature its binding's
 * table writes (nx, Calimero, Cosmictron, Faasm): one letter per parameter,
 * 'I' for i64 and any other for i32, and a result letter the same way, or
 * 0 for none. Static inline: each binding is its own library.
 */
#ifndef WEFT_HOST_HOSTSIG_H
#define WEFT_HOST_HOSTSIG_H

#include <string.h>

#include "weft/types.h"

/* A new function type (owned by the caller), or NULL when out of memory
 * or given more than 8 parameters. */
static inline weft_functype_t *host_sig_type(const char *params, char result)
{
    weft_valtype_t p[8];
    size_t np = strlen(params);
    if (np > 8)
        return NULL;
    weft_valtype_t r = result == 'I' ? WEFT_I64 : WEFT_I32;
    for (size_t j = 0; j < np; j++)
        p[j] = params[j] == 'I' ? WEFT_I64 : WEFT_I32;
    return weft_functype_new(p, np, &r, result ? 1 : 0);
}

#endif
