/*
 * faasm.c — the Faasm guest ABI (weft/faasm.h): `__faasm_*` in module
 * `env`, on the state service (weft/faasm_state.h) and the embedder's
 * chaining callbacks.
 *
 * Invariants: a guest range is used only after guest_ptr() checked it,
 * and no host pointer into guest memory is kept across a call into the
 * guest (malloc) or a state call that may block; keys are copied out of
 * guest memory first. __faasm_read_state_ptr gives the guest a copy of the
 * value in its own memory (allocated with its exported `malloc`, else with
 * memory.grow) and a shadow of what that copy held: the bytes that differ
 * from the shadow are what the guest wrote, and only those are written to
 * the state (at the next state call of the call on that key, at unlock,
 * push and call end), so two calls writing different bytes of one value
 * through pointers do not undo each other (docs/faasm.md).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hostsig.h"
#include "weft/error.h"
#include "weft/extern.h"
#include "weft/faasm.h"

#define ARG32(i) ((uint32_t)args[i].i32)
#define RETURN32(v)             \
    do {                        \
        args[0].i32 = (v);      \
        return 0;               \
    } while (0)

/* Fuel: per call about a hash lookup, per 16 bytes copied one unit, as
 * nx charges (docs/nx.md "Fuel"). */
#define FUEL_CALL 8u
#define FUEL(len) (((uint64_t)(len) + 15u) / 16u)

#define DEFAULT_MAX_OUTPUT (16u * 1024u * 1024u)
#define PAGE 65536u

typedef struct {
    weft_faasm_kv_t *kv;
    uint32_t addr; /* the copy in guest memory */
    size_t off, len;
    uint8_t *shadow; /* what the copy held when last synced */
} region_t;

typedef struct {
    weft_faasm_kv_t *kv; /* local lock; NULL: a global one, key in `key` */
    int write;
    char *key;
} held_t;

struct weft_faasm {
    weft_faasm_state_t *st;
    char *app;
    weft_faasm_chain_t chain;
    size_t max_output;
    uint64_t token; /* global locks' holder id: random, so unique across nodes; 0 until
                     * the first global lock (a getrandom per binding cost a chained
                     * call's round trip 3%) */

    const uint8_t *input;
    size_t input_len;
    uint8_t *output;
    size_t output_len, output_cap;
    weft_memory_t *mem; /* the guest's memory, seen at its first faasm call */
    region_t *regions;
    size_t nregions, regions_cap;
    held_t *held;
    size_t nheld, held_cap;
    int call_error;
};

/* ---- guest memory ------------------------------------------------------- */

static weft_memory_t *memory_of(weft_faasm_t *f, weft_caller_t *caller)
{
    weft_memory_t *mem = weft_caller_memory(caller, "memory");
    if (!mem) mem = weft_caller_memory(caller, NULL);
    if (mem) f->mem = mem;
    return mem;
}

static uint8_t *guest_ptr(weft_faasm_t *f, weft_caller_t *caller, uint32_t ptr, uint32_t len,
                          const char *fn, int *out_rc)
{
    weft_memory_t *mem = memory_of(f, caller);
    uint8_t *p = mem ? weft_memory_ptr(mem, ptr, len) : NULL;
    if (!p)
        *out_rc = weft_caller_trap(caller, "env.%s: guest range [%u, +%u) is outside linear memory",
                                   fn, ptr, len);
    return p;
}

/* Copies the NUL-terminated guest string at ptr into buf (cap bytes with
 * the NUL), or traps. */
static int guest_str(weft_faasm_t *f, weft_caller_t *caller, uint32_t ptr, const char *fn,
                     char *buf, size_t cap)
{
    weft_memory_t *mem = memory_of(f, caller);
    size_t size = mem ? weft_memory_size(mem) : 0;
    if (ptr >= size)
        return weft_caller_trap(caller, "env.%s: string pointer %u is outside linear memory", fn,
                                ptr);
    const uint8_t *p = weft_memory_ptr(mem, ptr, 0);
    size_t max = size - ptr < cap ? size - ptr : cap;
    const uint8_t *nul = memchr(p, 0, max);
    if (!nul)
        return weft_caller_trap(caller, "env.%s: string at %u is not NUL-terminated within %s", fn,
                                ptr, max == cap ? "its limit" : "linear memory");
    if (nul == p) return weft_caller_trap(caller, "env.%s: empty key", fn);
    memcpy(buf, p, (size_t)(nul - p) + 1);
    return 0;
}

/* Allocates len bytes in the guest: its exported malloc, else fresh pages
 * past the end of its memory. Traps on failure. */
static int guest_alloc(weft_faasm_t *f, weft_caller_t *caller, size_t len, const char *fn,
                       uint32_t *out)
{
    weft_extern_t ext;
    if (len > UINT32_MAX - PAGE)
        return weft_caller_trap(caller, "env.%s: %zu bytes do not fit in guest memory", fn, len);
    if (weft_caller_export(caller, "malloc", &ext) == 0 && ext.kind == WEFT_EXTERN_FUNC) {
        weft_val_t a = {.type = WEFT_I32, .of.i32 = (int32_t)(len ? len : 1)}, r;
        int rc = weft_func_call(weft_caller_store(caller), ext.of.func, &a, 1, &r, 1);
        if (rc == WEFT_ETRAP) return rc;
        if (rc != 0 || r.of.i32 == 0)
            return weft_caller_trap(caller, "env.%s: the guest's malloc(%zu) failed", fn, len);
        *out = (uint32_t)r.of.i32;
        return 0;
    }
    weft_memory_t *mem = memory_of(f, caller);
    uint32_t old;
    if (!mem || weft_memory_grow(mem, (uint32_t)((len + PAGE - 1) / PAGE), &old) != 0)
        return weft_caller_trap(caller, "env.%s: cannot grow guest memory by %zu bytes", fn, len);
    *out = old * PAGE;
    return 0;
}

/* A state service error: recorded for the embedder, and the guest traps
 * (Faasm's state calls have no error result). */
static int state_fail(weft_faasm_t *f, weft_caller_t *caller, const char *fn, int rc)
{
    if (rc == WEFT_ETRAP) return rc; /* a wait that ended in a trap */
    if (!f->call_error) f->call_error = rc;
    return weft_caller_trap(caller, "env.%s: %s state failed: %s", fn,
                            rc == WEFT_EIO ? weft_faasm_state_global_kind(f->st) : "faasm",
                            weft_strerror(rc));
}

static int wait_interrupt(void *user)
{
    return weft_caller_check_interrupt(user);
}

/* ---- mapped values (read_state_ptr) -------------------------------------- */

/* Writes the bytes the guest changed in region r to the state. */
static int sync_out(weft_faasm_t *f, region_t *r)
{
    uint8_t *p = f->mem ? weft_memory_ptr(f->mem, r->addr, r->len) : NULL;
    if (!p) return 0; /* cannot happen: memories do not shrink */
    for (size_t i = 0; i < r->len;) {
        if (p[i] == r->shadow[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < r->len && p[j] != r->shadow[j]) j++;
        int rc = weft_faasm_kv_write_range(r->kv, 0, r->off + i, p + i, j - i);
        if (rc) return rc;
        memcpy(r->shadow + i, p + i, j - i);
        i = j;
    }
    return 0;
}

static int sync_out_kv(weft_faasm_t *f, weft_faasm_kv_t *kv)
{
    for (size_t i = 0; i < f->nregions; i++) {
        if (f->regions[i].kv != kv) continue;
        int rc = sync_out(f, &f->regions[i]);
        if (rc) return rc;
    }
    return 0;
}

/* Refreshes the guest's copies of kv from the state (after its own
 * changes went out). */
static int sync_in_kv(weft_faasm_t *f, weft_faasm_kv_t *kv)
{
    for (size_t i = 0; i < f->nregions; i++) {
        region_t *r = &f->regions[i];
        if (r->kv != kv) continue;
        int rc = sync_out(f, r);
        if (!rc) rc = weft_faasm_kv_read(kv, r->off, r->shadow, r->len);
        if (rc) return rc;
        uint8_t *p = weft_memory_ptr(f->mem, r->addr, r->len);
        if (p) memcpy(p, r->shadow, r->len);
    }
    return 0;
}

/* The guest address of [off, off+len) of kv: inside a region the call
 * already has, or a new copy of just that range. */
static int map_range(weft_faasm_t *f, weft_caller_t *caller, weft_faasm_kv_t *kv, size_t off,
                     size_t len, const char *fn, uint32_t *out)
{
    for (size_t i = 0; i < f->nregions; i++) {
        region_t *r = &f->regions[i];
        if (r->kv == kv && off >= r->off && off - r->off + len <= r->len) {
            *out = r->addr + (uint32_t)(off - r->off);
            return 0;
        }
    }
    if (f->nregions == f->regions_cap) {
        size_t cap = f->regions_cap ? f->regions_cap * 2 : 4;
        region_t *n = realloc(f->regions, cap * sizeof *n);
        if (!n) return weft_caller_trap(caller, "env.%s: out of memory", fn);
        f->regions = n;
        f->regions_cap = cap;
    }
    region_t r = {kv, 0, off, len, malloc(len ? len : 1)};
    if (!r.shadow) return weft_caller_trap(caller, "env.%s: out of memory", fn);
    int rc = guest_alloc(f, caller, len, fn, &r.addr);
    if (!rc && (rc = weft_faasm_kv_read(kv, off, r.shadow, len))) rc = state_fail(f, caller, fn, rc);
    uint8_t *p = rc ? NULL : weft_memory_ptr(f->mem, r.addr, len);
    if (!rc && !p) rc = weft_caller_trap(caller, "env.%s: malloc gave a range outside memory", fn);
    if (rc) {
        free(r.shadow);
        return rc;
    }
    memcpy(p, r.shadow, len);
    f->regions[f->nregions++] = r;
    *out = r.addr;
    return 0;
}

/* ---- the functions -------------------------------------------------------- */

/* Looks up the key at guest pointer args[i] and writes the guest's
 * pointer changes of it out, so the call sees its own writes. */
static int key_kv(weft_faasm_t *f, weft_caller_t *caller, uint32_t ptr, const char *fn,
                  weft_faasm_kv_t **out, char *key)
{
    int rc = guest_str(f, caller, ptr, fn, key, WEFT_FAASM_MAX_KEY + 1);
    if (rc) return rc;
    if ((rc = weft_faasm_state_kv(f->st, f->app, key, out)))
        return weft_caller_trap(caller, "env.%s: bad key '%s' (%s)", fn, key, weft_strerror(rc));
    if ((rc = sync_out_kv(f, *out))) return state_fail(f, caller, fn, rc);
    return 0;
}

#define KEY(ptr, fn)                                         \
    weft_faasm_kv_t *kv;                                     \
    char key[WEFT_FAASM_MAX_KEY + 1];                        \
    int rc = key_kv(f, caller, (ptr), (fn), &kv, key);       \
    if (rc) return rc

static int charge(weft_caller_t *caller, uint64_t bytes)
{
    return weft_caller_consume_fuel(caller, FUEL_CALL + FUEL(bytes));
}

static int fn_read_input(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    uint32_t len = ARG32(1);
    int rc;
    uint8_t *p = guest_ptr(f, caller, ARG32(0), len, "__faasm_read_input", &rc);
    if (!p) return rc;
    if (len == 0) RETURN32((int32_t)f->input_len);
    size_t n = f->input_len < len ? f->input_len : len;
    if ((rc = charge(caller, n))) return rc;
    if (n) memcpy(p, f->input, n);
    RETURN32((int32_t)n);
}

static int fn_write_output(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    uint32_t len = ARG32(1);
    int rc;
    uint8_t *p = guest_ptr(f, caller, ARG32(0), len, "__faasm_write_output", &rc);
    if (!p) return rc;
    if ((rc = charge(caller, len))) return rc;
    if (len > f->max_output)
        return weft_caller_trap(caller, "env.__faasm_write_output: %u bytes pass the output limit "
                                        "of %zu", len, f->max_output);
    if (len > f->output_cap) {
        uint8_t *n = realloc(f->output, len);
        if (!n) return weft_caller_trap(caller, "env.__faasm_write_output: out of memory");
        f->output = n;
        f->output_cap = len;
    }
    if (len) memcpy(f->output, p, len);
    f->output_len = len;
    return 0;
}

static int fn_read_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_read_state";
    uint32_t buf = ARG32(1), len = ARG32(2);
    KEY(ARG32(0), fn);
    size_t size;
    if ((rc = weft_faasm_kv_size(kv, &size))) return state_fail(f, caller, fn, rc);
    if (len == 0) RETURN32((int32_t)size);
    if ((rc = charge(caller, len))) return rc;
    uint8_t *tmp = malloc(len);
    if (!tmp) return weft_caller_trap(caller, "env.%s: out of memory", fn);
    if ((rc = weft_faasm_kv_read(kv, 0, tmp, len))) {
        free(tmp);
        return state_fail(f, caller, fn, rc);
    }
    uint8_t *p = guest_ptr(f, caller, buf, len, fn, &rc);
    if (p) memcpy(p, tmp, len);
    free(tmp);
    if (!p) return rc;
    RETURN32((int32_t)size);
}

static int fn_read_state_offset(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_read_state_offset";
    uint32_t total = ARG32(1), off = ARG32(2), buf = ARG32(3), len = ARG32(4);
    KEY(ARG32(0), fn);
    if (!guest_ptr(f, caller, buf, len, fn, &rc)) return rc;
    if ((rc = charge(caller, len))) return rc;
    if ((rc = weft_faasm_kv_reserve(kv, total))) return state_fail(f, caller, fn, rc);
    /* The state copies straight into guest memory: nothing in between can
     * grow it or re-enter the guest. */
    if ((rc = weft_faasm_kv_read(kv, off, weft_memory_ptr(f->mem, buf, len), len)))
        return state_fail(f, caller, fn, rc);
    return 0;
}

static int state_ptr(weft_caller_t *caller, weft_faasm_t *f, weft_raw_t *args, const char *fn,
                     uint32_t keyp, uint32_t total, uint32_t off, uint32_t len)
{
    KEY(keyp, fn);
    if ((rc = charge(caller, len))) return rc;
    if ((rc = weft_faasm_kv_reserve(kv, total))) return state_fail(f, caller, fn, rc);
    uint32_t addr = 0;
    if ((rc = map_range(f, caller, kv, off, len, fn, &addr))) return rc;
    RETURN32((int32_t)addr);
}

static int fn_read_state_ptr(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return state_ptr(caller, user, args, "__faasm_read_state_ptr", ARG32(0), ARG32(1), 0,
                     ARG32(1));
}

static int fn_read_state_offset_ptr(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return state_ptr(caller, user, args, "__faasm_read_state_offset_ptr", ARG32(0), ARG32(1),
                     ARG32(2), ARG32(3));
}

static int fn_write_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_write_state";
    uint32_t data = ARG32(1), len = ARG32(2);
    KEY(ARG32(0), fn);
    uint8_t *p = guest_ptr(f, caller, data, len, fn, &rc);
    if (!p) return rc;
    if ((rc = charge(caller, len))) return rc;
    if ((rc = weft_faasm_kv_write(kv, p, len)) || (rc = sync_in_kv(f, kv)))
        return state_fail(f, caller, fn, rc);
    return 0;
}

static int fn_write_state_offset(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_write_state_offset";
    uint32_t total = ARG32(1), off = ARG32(2), data = ARG32(3), len = ARG32(4);
    KEY(ARG32(0), fn);
    uint8_t *p = guest_ptr(f, caller, data, len, fn, &rc);
    if (!p) return rc;
    if ((rc = charge(caller, len))) return rc;
    if ((rc = weft_faasm_kv_write_range(kv, total, off, p, len)) || (rc = sync_in_kv(f, kv)))
        return state_fail(f, caller, fn, rc);
    return 0;
}

static int fn_append_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_append_state";
    char key[WEFT_FAASM_MAX_KEY + 1];
    uint32_t data = ARG32(1), len = ARG32(2);
    int rc = guest_str(f, caller, ARG32(0), fn, key, sizeof key);
    if (rc) return rc;
    uint8_t *p = guest_ptr(f, caller, data, len, fn, &rc);
    if (!p) return rc;
    if ((rc = charge(caller, len))) return rc;
    if ((rc = weft_faasm_state_append(f->st, f->app, key, p, len)))
        return state_fail(f, caller, fn, rc);
    return 0;
}

static int fn_read_appended_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_read_appended_state";
    char key[WEFT_FAASM_MAX_KEY + 1];
    uint32_t buf = ARG32(1), len = ARG32(2), n = ARG32(3);
    int rc = guest_str(f, caller, ARG32(0), fn, key, sizeof key);
    if (rc) return rc;
    uint8_t *p = guest_ptr(f, caller, buf, len, fn, &rc);
    if (!p) return rc;
    if ((rc = charge(caller, len))) return rc;
    rc = weft_faasm_state_read_appended(f->st, f->app, key, p, len, n);
    if (rc == WEFT_ENOTFOUND)
        return weft_caller_trap(caller, "env.%s: '%s' has fewer than %u appended values", fn, key,
                                n);
    if (rc == WEFT_ELIMIT)
        return weft_caller_trap(caller, "env.%s: %u appended values of '%s' pass %u bytes", fn, n,
                                key, len);
    return rc ? state_fail(f, caller, fn, rc) : 0;
}

static int fn_clear_appended_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_clear_appended_state";
    char key[WEFT_FAASM_MAX_KEY + 1];
    int rc = guest_str(f, caller, ARG32(0), fn, key, sizeof key);
    if (rc) return rc;
    if ((rc = charge(caller, 0))) return rc;
    if ((rc = weft_faasm_state_clear_appended(f->st, f->app, key)))
        return state_fail(f, caller, fn, rc);
    return 0;
}

static int fn_flag_state_dirty(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    KEY(ARG32(0), "__faasm_flag_state_dirty");
    if ((rc = charge(caller, 0))) return rc;
    weft_faasm_kv_flag_dirty(kv, 0, ARG32(1));
    return 0;
}

static int fn_flag_state_offset_dirty(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    KEY(ARG32(0), "__faasm_flag_state_offset_dirty");
    if ((rc = charge(caller, 0))) return rc;
    weft_faasm_kv_flag_dirty(kv, ARG32(2), ARG32(3));
    return 0;
}

static int fn_push_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    KEY(ARG32(0), "__faasm_push_state");
    if ((rc = charge(caller, 0))) return rc;
    if ((rc = weft_faasm_kv_push(kv))) return state_fail(f, caller, "__faasm_push_state", rc);
    return 0;
}

static int fn_push_state_partial(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    KEY(ARG32(0), "__faasm_push_state_partial");
    if ((rc = charge(caller, 0))) return rc;
    if ((rc = weft_faasm_kv_push_partial(kv)))
        return state_fail(f, caller, "__faasm_push_state_partial", rc);
    return 0;
}

static int fn_push_state_partial_mask(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_push_state_partial_mask";
    weft_faasm_kv_t *mask;
    char mkey[WEFT_FAASM_MAX_KEY + 1];
    int mrc = key_kv(f, caller, ARG32(1), fn, &mask, mkey);
    if (mrc) return mrc;
    KEY(ARG32(0), fn);
    if ((rc = charge(caller, 0))) return rc;
    if ((rc = weft_faasm_kv_push_mask(kv, mask))) return state_fail(f, caller, fn, rc);
    return 0;
}

static int fn_pull_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_pull_state";
    KEY(ARG32(0), fn);
    if ((rc = charge(caller, ARG32(1)))) return rc;
    if ((rc = weft_faasm_kv_pull(kv, ARG32(1))) || (rc = sync_in_kv(f, kv)))
        return state_fail(f, caller, fn, rc);
    return 0;
}

static int hold(weft_faasm_t *f, weft_faasm_kv_t *kv, int write, const char *key)
{
    if (f->nheld == f->held_cap) {
        size_t cap = f->held_cap ? f->held_cap * 2 : 4;
        held_t *n = realloc(f->held, cap * sizeof *n);
        if (!n) return WEFT_ENOMEM;
        f->held = n;
        f->held_cap = cap;
    }
    held_t h = {kv, write, NULL};
    if (!kv && !(h.key = strdup(key))) return WEFT_ENOMEM;
    f->held[f->nheld++] = h;
    return 0;
}

/* Forgets the newest matching hold; 0 if there was none. */
static int unhold(weft_faasm_t *f, weft_faasm_kv_t *kv, int write, const char *key)
{
    for (size_t i = f->nheld; i-- > 0;) {
        held_t *h = &f->held[i];
        if (h->kv != kv || h->write != write || (!kv && strcmp(h->key, key) != 0)) continue;
        free(h->key);
        f->held[i] = f->held[--f->nheld];
        return 1;
    }
    return 0;
}

static int lock_local(weft_caller_t *caller, weft_faasm_t *f, weft_raw_t *args, int write,
                      const char *fn)
{
    KEY(ARG32(0), fn);
    if ((rc = charge(caller, 0))) return rc;
    if ((rc = weft_faasm_kv_lock(kv, write, wait_interrupt, caller))) return state_fail(f, caller, fn, rc);
    if (hold(f, kv, write, NULL)) {
        weft_faasm_kv_unlock(kv, write);
        return weft_caller_trap(caller, "env.%s: out of memory", fn);
    }
    /* Taking the lock is when the guest's pointers see the others' writes. */
    if ((rc = sync_in_kv(f, kv))) return state_fail(f, caller, fn, rc);
    return 0;
}

static int unlock_local(weft_caller_t *caller, weft_faasm_t *f, weft_raw_t *args, int write,
                        const char *fn)
{
    KEY(ARG32(0), fn); /* its pointer writes went out: they are published before the unlock */
    if ((rc = charge(caller, 0))) return rc;
    if (!unhold(f, kv, write, NULL))
        return weft_caller_trap(caller, "env.%s: '%s' is not %s-locked by this call", fn, key,
                                write ? "write" : "read");
    weft_faasm_kv_unlock(kv, write);
    return 0;
}

static int fn_lock_state_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return lock_local(caller, user, args, 0, "__faasm_lock_state_read");
}

static int fn_lock_state_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return lock_local(caller, user, args, 1, "__faasm_lock_state_write");
}

static int fn_unlock_state_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return unlock_local(caller, user, args, 0, "__faasm_unlock_state_read");
}

static int fn_unlock_state_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return unlock_local(caller, user, args, 1, "__faasm_unlock_state_write");
}

static int lock_global(weft_caller_t *caller, weft_faasm_t *f, weft_raw_t *args, const char *fn)
{
    char key[WEFT_FAASM_MAX_KEY + 1];
    int rc = guest_str(f, caller, ARG32(0), fn, key, sizeof key);
    if (rc) return rc;
    if ((rc = charge(caller, 0))) return rc;
    if (!f->token &&
        (getrandom(&f->token, sizeof f->token, 0) != (ssize_t)sizeof f->token || f->token == 0))
        f->token = (uint64_t)(uintptr_t)f ^ 0x9e3779b97f4a7c15ull;
    if ((rc = weft_faasm_state_lock_global(f->st, f->app, key, f->token, wait_interrupt, caller)))
        return state_fail(f, caller, fn, rc);
    if (hold(f, NULL, 1, key)) {
        weft_faasm_state_unlock_global(f->st, f->app, key, f->token);
        return weft_caller_trap(caller, "env.%s: out of memory", fn);
    }
    return 0;
}

static int unlock_global(weft_caller_t *caller, weft_faasm_t *f, weft_raw_t *args, const char *fn)
{
    char key[WEFT_FAASM_MAX_KEY + 1];
    int rc = guest_str(f, caller, ARG32(0), fn, key, sizeof key);
    if (rc) return rc;
    if ((rc = charge(caller, 0))) return rc;
    if (!unhold(f, NULL, 1, key))
        return weft_caller_trap(caller, "env.%s: '%s' is not globally locked by this call", fn,
                                key);
    rc = weft_faasm_state_unlock_global(f->st, f->app, key, f->token);
    if (rc == WEFT_EARG)
        return weft_caller_trap(caller, "env.%s: the global lock of '%s' expired before its "
                                        "unlock", fn, key);
    return rc ? state_fail(f, caller, fn, rc) : 0;
}

static int fn_lock_state_global_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return lock_global(caller, user, args, "__faasm_lock_state_global_read");
}

static int fn_lock_state_global_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return lock_global(caller, user, args, "__faasm_lock_state_global_write");
}

static int fn_unlock_state_global_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return unlock_global(caller, user, args, "__faasm_unlock_state_global_read");
}

static int fn_unlock_state_global_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return unlock_global(caller, user, args, "__faasm_unlock_state_global_write");
}

/* ---- chaining -------------------------------------------------------------- */

static int chain(weft_caller_t *caller, weft_faasm_t *f, weft_raw_t *args, const char *fn,
                 const char *name, uint32_t index)
{
    uint32_t inp = ARG32(1), len = ARG32(2);
    int rc;
    if (!f->chain.chain)
        return weft_caller_trap(caller, "env.%s: this embedder does not chain calls", fn);
    uint8_t *p = guest_ptr(f, caller, inp, len, fn, &rc);
    if (!p) return rc;
    if ((rc = charge(caller, len))) return rc;
    uint32_t id = 0;
    char msg[256] = "";
    if (f->chain.chain(f->chain.user, name, index, p, len, &id, msg, sizeof msg) != 0) id = 0;
    RETURN32((int32_t)id);
}

static int fn_chain_name(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    char name[WEFT_FAASM_MAX_KEY + 1];
    int rc = guest_str(f, caller, ARG32(0), "__faasm_chain_name", name, sizeof name);
    if (rc) return rc;
    return chain(caller, f, args, "__faasm_chain_name", name, 0);
}

static int fn_chain_ptr(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return chain(caller, user, args, "__faasm_chain_ptr", NULL, ARG32(0));
}

/* Waits for call `id`; the code the guest sees, or a trap's rc in *out_rc. */
static int await(weft_caller_t *caller, weft_faasm_t *f, uint32_t id, const char *fn,
                 int32_t *code, uint8_t **out, size_t *out_len, int *trap)
{
    *trap = 0;
    *code = WEFT_FAASM_AWAIT_FAILED;
    if (!f->chain.await)
        return *trap = weft_caller_trap(caller, "env.%s: this embedder does not chain calls", fn);
    if (id == 0) return 0;
    int rc = f->chain.await(f->chain.user, id, code, out, out_len, wait_interrupt, caller);
    if (rc == WEFT_ETRAP) return *trap = rc; /* interrupted: the call's deadline */
    if (rc) *code = WEFT_FAASM_AWAIT_FAILED;
    return 0;
}

static int fn_await_call(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    int32_t code;
    uint8_t *out = NULL;
    size_t len = 0;
    int trap, rc = charge(caller, 0);
    if (rc) return rc;
    await(caller, f, ARG32(0), "__faasm_await_call", &code, &out, &len, &trap);
    free(out);
    if (trap) return trap;
    RETURN32(code);
}

static int fn_await_call_output(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_faasm_t *f = user;
    const char *fn = "__faasm_await_call_output";
    uint32_t id = ARG32(0), bufp = ARG32(1), lenp = ARG32(2);
    int32_t code;
    uint8_t *out = NULL;
    size_t len = 0;
    int trap, rc;
    if (!guest_ptr(f, caller, bufp, 4, fn, &rc) || !guest_ptr(f, caller, lenp, 4, fn, &rc))
        return rc;
    if ((rc = charge(caller, 0))) return rc;
    await(caller, f, id, fn, &code, &out, &len, &trap);
    if (trap) {
        free(out);
        return trap;
    }
    uint32_t addr = 0;
    if ((rc = charge(caller, len)) || (rc = guest_alloc(f, caller, len, fn, &addr))) {
        free(out);
        return rc;
    }
    uint8_t *p = weft_memory_ptr(f->mem, addr, len);
    uint8_t *bp = weft_memory_ptr(f->mem, bufp, 4), *lp = weft_memory_ptr(f->mem, lenp, 4);
    if (!p || !bp || !lp) {
        free(out);
        return weft_caller_trap(caller, "env.%s: malloc gave a range outside memory", fn);
    }
    if (len) memcpy(p, out, len);
    free(out);
    uint32_t l32 = (uint32_t)len; /* wasm32 is little-endian, as is every host weft runs on */
    memcpy(bp, &addr, 4);
    memcpy(lp, &l32, 4);
    RETURN32(code);
}

/* ---- the table --------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *params; /* 'i' i32 each */
    char result;        /* 'i' or 0 */
    weft_host_raw_fn_t fn;
} faasm_func_t;

static const faasm_func_t funcs[] = {
    {"__faasm_read_input", "ii", 'i', fn_read_input},
    {"__faasm_write_output", "ii", 0, fn_write_output},
    {"__faasm_read_state", "iii", 'i', fn_read_state},
    {"__faasm_read_state_ptr", "ii", 'i', fn_read_state_ptr},
    {"__faasm_read_state_offset", "iiiii", 0, fn_read_state_offset},
    {"__faasm_read_state_offset_ptr", "iiii", 'i', fn_read_state_offset_ptr},
    {"__faasm_write_state", "iii", 0, fn_write_state},
    {"__faasm_write_state_offset", "iiiii", 0, fn_write_state_offset},
    {"__faasm_append_state", "iii", 0, fn_append_state},
    {"__faasm_read_appended_state", "iiii", 0, fn_read_appended_state},
    {"__faasm_clear_appended_state", "i", 0, fn_clear_appended_state},
    {"__faasm_flag_state_dirty", "ii", 0, fn_flag_state_dirty},
    {"__faasm_flag_state_offset_dirty", "iiii", 0, fn_flag_state_offset_dirty},
    {"__faasm_push_state", "i", 0, fn_push_state},
    {"__faasm_push_state_partial", "i", 0, fn_push_state_partial},
    {"__faasm_push_state_partial_mask", "ii", 0, fn_push_state_partial_mask},
    {"__faasm_pull_state", "ii", 0, fn_pull_state},
    {"__faasm_lock_state_read", "i", 0, fn_lock_state_read},
    {"__faasm_unlock_state_read", "i", 0, fn_unlock_state_read},
    {"__faasm_lock_state_write", "i", 0, fn_lock_state_write},
    {"__faasm_unlock_state_write", "i", 0, fn_unlock_state_write},
    {"__faasm_lock_state_global_read", "i", 0, fn_lock_state_global_read},
    {"__faasm_unlock_state_global_read", "i", 0, fn_unlock_state_global_read},
    {"__faasm_lock_state_global_write", "i", 0, fn_lock_state_global_write},
    {"__faasm_unlock_state_global_write", "i", 0, fn_unlock_state_global_write},
    {"__faasm_chain_name", "iii", 'i', fn_chain_name},
    {"__faasm_chain_ptr", "iii", 'i', fn_chain_ptr},
    {"__faasm_await_call", "i", 'i', fn_await_call},
    {"__faasm_await_call_output", "iii", 'i', fn_await_call_output},
};
#define NFUNCS (sizeof funcs / sizeof funcs[0])

/* Every Faasm import is i32-only: the signatures are lowercase. */
static weft_functype_t *type_of(const faasm_func_t *d)
{
    return host_sig_type(d->params, d->result);
}

static int define_one(weft_faasm_t *f, weft_linker_t *linker, const faasm_func_t *d)
{
    weft_functype_t *ft = type_of(d);
    if (!ft) return WEFT_ENOMEM;
    int rc = weft_linker_define_func_raw(linker, "env", d->name, ft, d->fn, f);
    weft_functype_delete(ft);
    return rc;
}

int weft_faasm_define(weft_faasm_t *f, weft_linker_t *linker)
{
    if (!f || !linker) return WEFT_EARG;
    for (size_t i = 0; i < NFUNCS; i++) {
        int rc = define_one(f, linker, &funcs[i]);
        if (rc) return rc;
    }
    return 0;
}

int weft_faasm_define_imports(weft_faasm_t *f, weft_linker_t *linker, const weft_module_t *module)
{
    if (!f || !linker || !module) return WEFT_EARG;
    for (size_t i = 0, n = weft_module_import_count(module); i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0 || d.kind != WEFT_EXTERN_FUNC ||
            d.module_len != 3 || memcmp(d.module, "env", 3) != 0)
            continue;
        for (size_t k = 0; k < NFUNCS; k++) {
            if (strlen(funcs[k].name) != d.name_len || memcmp(funcs[k].name, d.name, d.name_len))
                continue;
            int rc = define_one(f, linker, &funcs[k]);
            if (rc) return rc;
            break;
        }
    }
    return 0;
}

size_t weft_faasm_func_count(void)
{
    return NFUNCS;
}

int weft_faasm_func(size_t i, const char **out_name, weft_functype_t **out_type)
{
    if (i >= NFUNCS) return WEFT_ENOTFOUND;
    weft_functype_t *ft = type_of(&funcs[i]);
    if (!ft) return WEFT_ENOMEM;
    *out_name = funcs[i].name;
    *out_type = ft;
    return 0;
}

/* ---- the binding ---------------------------------------------------------------- */

int weft_faasm_new(const weft_faasm_config_t *cfg, weft_faasm_t **out)
{
    if (!out) return WEFT_EARG;
    *out = NULL;
    size_t al = cfg && cfg->app ? strlen(cfg->app) : 0;
    if (!cfg || !cfg->state || al == 0 || al > 255) return WEFT_EARG;
    weft_faasm_t *f = calloc(1, sizeof *f);
    if (!f || !(f->app = strdup(cfg->app))) {
        free(f);
        return WEFT_ENOMEM;
    }
    f->st = cfg->state;
    f->chain = cfg->chain;
    f->max_output = cfg->max_output ? cfg->max_output : DEFAULT_MAX_OUTPUT;
    *out = f;
    return 0;
}

static void drop_call(weft_faasm_t *f)
{
    for (size_t i = 0; i < f->nregions; i++) free(f->regions[i].shadow);
    f->nregions = 0;
    for (size_t i = 0; i < f->nheld; i++) {
        held_t *h = &f->held[i];
        if (h->kv)
            weft_faasm_kv_unlock(h->kv, h->write);
        else
            weft_faasm_state_unlock_global(f->st, f->app, h->key, f->token);
        free(h->key);
    }
    f->nheld = 0;
}

void weft_faasm_delete(weft_faasm_t *f)
{
    if (!f) return;
    drop_call(f);
    free(f->regions);
    free(f->held);
    free(f->output);
    free(f->app);
    free(f);
}

void weft_faasm_begin_call(weft_faasm_t *f, const uint8_t *input, size_t len)
{
    drop_call(f);
    f->input = input;
    f->input_len = len;
    f->output_len = 0;
    f->mem = NULL;
    f->call_error = 0;
}

int weft_faasm_end_call(weft_faasm_t *f)
{
    for (size_t i = 0; i < f->nregions; i++) {
        int rc = sync_out(f, &f->regions[i]);
        if (rc && !f->call_error) f->call_error = rc;
    }
    drop_call(f);
    f->input = NULL;
    f->input_len = 0;
    return f->call_error;
}

int weft_faasm_call_error(const weft_faasm_t *f)
{
    return f->call_error;
}

void weft_faasm_output(const weft_faasm_t *f, const uint8_t **out, size_t *out_len)
{
    *out = f->output;
    *out_len = f->output_len;
}
