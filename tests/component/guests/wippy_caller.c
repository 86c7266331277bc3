/*
 * wippy_caller.c — the core module of the `caller` test component
 * (wippy_caller.wit): run(target, input) returns funcs.call-string(target,
 * input), run-bytes the same with call-bytes. Canonical ABI by hand: the
 * imports write their result<..., string> (a u8 case, then pointer and
 * length) through a return pointer; the exports return a pointer to the
 * same layout, freed by their post-return.
 */
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint8_t is_err;
    uint32_t ptr, len;
} ret_t;

#define FUNCS "wippy:runtime/funcs@0.1.0"

__attribute__((import_module(FUNCS), import_name("call-string")))
void funcs_call_string(const char *t, size_t tl, const char *in, size_t il, ret_t *ret);
__attribute__((import_module(FUNCS), import_name("call-bytes")))
void funcs_call_bytes(const char *t, size_t tl, const uint8_t *in, size_t il, ret_t *ret);

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    (void)old_size;
    (void)align;
    return realloc(old, new_size ? new_size : 1);
}

static ret_t out;

__attribute__((export_name("run"))) ret_t *run(char *t, size_t tl, char *in, size_t il)
{
    funcs_call_string(t, tl, in, il, &out);
    free(t);
    free(in);
    return &out;
}

__attribute__((export_name("run-bytes"))) ret_t *run_bytes(char *t, size_t tl, uint8_t *in,
                                                           size_t il)
{
    funcs_call_bytes(t, tl, in, il, &out);
    free(t);
    free(in);
    return &out;
}

__attribute__((export_name("cabi_post_run"))) void post_run(ret_t *r)
{
    free((void *)(uintptr_t)r->ptr);
}

__attribute__((export_name("cabi_post_run-bytes"))) void post_run_bytes(ret_t *r)
{
    free((void *)(uintptr_t)r->ptr);
}
