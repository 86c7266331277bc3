/*
 * orchestrator.c — the orchestrator component (world `orchestrator` of
 * orchestrator.wit): run(text) calls two other functions of the node
 * through Wippy's funcs.call-string, a component (`text:stats`, textstats.c)
 * and an nx module (`journal:append`, journal.c), and returns both answers
 * on one line, or the err of the step that failed.
 *
 * Canonical ABI by hand (no bindings generator), as wit-component expects
 * it: call-string lowers its result<string, string> through a return
 * pointer (a u8 case, then pointer and length); run returns a pointer to
 * the same layout, which cabi_post_run frees. No stdio (it would pull in
 * WASI preview 1 imports): strings are joined by hand.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t is_err;
    char *ptr;
    size_t len;
} ret_t;

__attribute__((import_module("wippy:runtime/funcs@0.1.0"), import_name("call-string")))
void funcs_call_string(const char *t, size_t tl, const char *in, size_t il, ret_t *ret);

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    (void)old_size;
    (void)align; /* malloc's 16 covers every canonical ABI type */
    return realloc(old, new_size ? new_size : 1);
}

static ret_t out;

/* out = ok(the pieces a[0..n) joined); frees nothing. */
static void set_ok(const char *const *a, const size_t *len, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += len[i];
    char *p = malloc(total + 1);
    out.ptr = p;
    out.len = total;
    out.is_err = 0;
    for (int i = 0; i < n; i++) {
        memcpy(p, a[i], len[i]);
        p += len[i];
    }
}

/* Calls target with text: 0 and its answer in *r, or -1 with out set to
 * its err (the node's message names the target: "journal:append: ..."). */
static int step(const char *target, const char *text, size_t len, ret_t *r)
{
    funcs_call_string(target, strlen(target), text, len, r);
    if (!r->is_err)
        return 0;
    out = *r; /* handed on: cabi_post_run frees it */
    return -1;
}

__attribute__((export_name("run"))) ret_t *run(char *text, size_t len)
{
    ret_t stats, entry;
    memset(&out, 0, sizeof out);
    if (step("text:stats", text, len, &stats) == 0) {
        if (step("journal:append", text, len, &entry) == 0) {
            const char *a[3] = {stats.ptr, "; journal ", entry.ptr};
            size_t l[3] = {stats.len, 10, entry.len};
            set_ok(a, l, 3);
            free(entry.ptr);
        }
        free(stats.ptr);
    }
    free(text); /* the host allocated it through cabi_realloc */
    return &out;
}

__attribute__((export_name("cabi_post_run"))) void post_run(ret_t *r)
{
    free(r->ptr);
}
