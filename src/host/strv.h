/*
 * strv.h — copying a vector of strings (argv, environment, allow lists) for
 * the component host bindings (wasip2.c, wippy.c), which keep what their
 * configuration pointed to. Static inline: each binding is its own library.
 */
#ifndef WEFT_HOST_STRV_H
#define WEFT_HOST_STRV_H

#include <stdlib.h>
#include <string.h>

/* A malloc'ed copy of v[0..n) (NULL-terminated), or NULL when out of memory. */
static inline char **strv_copy(const char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            while (i--)
                free(out[i]);
            free(out);
            return NULL;
        }
    return out;
}

static inline void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

#endif
