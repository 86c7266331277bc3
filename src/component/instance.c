/*
 * src/component/instance.c — instantiating a component and calling its
 * exports, on the engine's public API.
 *
 * Instantiation replays the initializers decode.c recorded for the
 * outermost component, in order, building the runtime index spaces: core
 * modules are instantiated with a weft linker whose modules are the `with`
 * argument instances; `canon lower` becomes a host function of the store
 * (a trampoline that lifts the core arguments, calls the callee and lowers
 * its result); `canon lift` becomes a component function that lowers the
 * host's arguments into the guest, calls the core function, lifts the
 * result and runs post-return. Resource handles of resources the
 * component defines live in one handle table per instance (index 0 is
 * never a handle); a use after drop or of a handle of another type traps.
 *
 * An instance may not be re-entered while one of its lifted functions runs
 * (CanonicalABI.md, may_enter): such a call traps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/instance.h>

#include "priv.h"

/* ---- linker ------------------------------------------------------------------ */

typedef struct {
    char *instance; /* NULL: a top-level function import */
    char *name;
    weft_chost_fn_t fn;
    void *user;
    int borrowed; /* weft_clinker_define_static: the names are not ours */
} cdef_t;

struct weft_clinker {
    cdef_t *defs;
    size_t n, cap;
    int stub_missing;
    int (*keep)(void *user, const char *instance); /* weft_clinker_filter */
    void *keep_user;
};

weft_clinker_t *weft_clinker_new(void) { return calloc(1, sizeof(weft_clinker_t)); }

void weft_clinker_delete(weft_clinker_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->defs[i].borrowed)
            continue;
        free(l->defs[i].instance);
        free(l->defs[i].name);
    }
    free(l->defs);
    free(l);
}

void weft_clinker_stub_missing(weft_clinker_t *l, int on) { l->stub_missing = on; }

void weft_clinker_filter(weft_clinker_t *l, int (*keep)(void *user, const char *instance),
                         void *user)
{
    l->keep = keep;
    l->keep_user = user;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Does definition instance `def` serve import instance `imp`? Equal, or
 * `def` names the version up to its minor ("wasi:cli/stdout@0.2") and
 * `imp` a patch of it ("wasi:cli/stdout@0.2.3"): semver-compatible within
 * 0.2.x, as real components import 0.2.3 and 0.2.8 side by side. */
static int serves(const char *def, const char *imp)
{
    if (same(def, imp))
        return 1;
    if (!def || !imp)
        return 0;
    size_t n = strlen(def);
    const char *at = strrchr(def, '@');
    if (!at || strchr(at, '.') == strrchr(at, '.')) /* "@0.2": one dot */
        return strncmp(def, imp, n) == 0 && imp[n] == '.' && at && strchr(at, '.');
    return 0;
}

static const cdef_t *clinker_find(const weft_clinker_t *l, const char *instance, const char *name)
{
    if (l->keep && !l->keep(l->keep_user, instance))
        return NULL; /* filtered out: as if not defined */
    for (size_t i = l->n; i-- > 0;)
        if (same(l->defs[i].instance, instance) && strcmp(l->defs[i].name, name) == 0)
            return &l->defs[i];
    for (size_t i = l->n; i-- > 0;)
        if (serves(l->defs[i].instance, instance) && strcmp(l->defs[i].name, name) == 0)
            return &l->defs[i];
    return NULL;
}

int weft_clinker_has(const weft_clinker_t *l, const char *instance, const char *name)
{
    return clinker_find(l, instance, name) != NULL;
}

/* Room for one more definition. */
static int clinker_grow(weft_clinker_t *l)
{
    if (l->n < l->cap)
        return 0;
    size_t nc = l->cap ? l->cap * 2 : 64;
    cdef_t *nv = realloc(l->defs, nc * sizeof *nv);
    if (!nv)
        return WEFT_ENOMEM;
    l->defs = nv;
    l->cap = nc;
    return 0;
}

int weft_clinker_define_static(weft_clinker_t *l, const char *instance, const char *name,
                               weft_chost_fn_t fn, void *user)
{
    if (clinker_grow(l) != 0)
        return WEFT_ENOMEM;
    l->defs[l->n++] = (cdef_t){(char *)instance, (char *)name, fn, user, 1};
    return 0;
}

int weft_clinker_define_func(weft_clinker_t *l, const char *instance, const char *name,
                             weft_chost_fn_t fn, void *user)
{
    if (clinker_grow(l) != 0)
        return WEFT_ENOMEM;
    cdef_t d = {instance ? strdup(instance) : NULL, strdup(name), fn, user, 0};
    if ((instance && !d.instance) || !d.name) {
        free(d.instance);
        free(d.name);
        return WEFT_ENOMEM;
    }
    l->defs[l->n++] = d;
    return 0;
}

/* ---- runtime index spaces ---------------------------------------------------- */

typedef struct {
    const char *name;
    weft_extern_t ext;
} rcore_item_t;

typedef struct { /* a core instance: an engine instance or inline exports */
    weft_instance_t *wi;
    rcore_item_t *items;
    uint32_t n;
} rcore_inst_t;

enum { RF_LIFTED, RF_HOST, RF_STUB };

typedef struct rfunc {
    int kind;
    const weft_ctype_t *type;
    const char *name; /* for messages: the import's name */
    /* lifted */
    weft_func_t *core, *realloc, *post;
    weft_memory_t *memory;
    /* host */
    weft_chost_fn_t fn;
    void *user;
} rfunc_t;

typedef struct rinst rinst_t;

typedef struct { /* a component instance's item: a function, an instance, a component */
    const char *name;
    int sort;
    const rfunc_t *func;
    const rinst_t *inst;
    const weft_ctype_t *component;
} ritem_t;

struct rinst {
    ritem_t *items;
    uint32_t n;
};

typedef struct { /* user data of a lowering trampoline or a resource built-in */
    struct weft_cinstance *inst;
    const rfunc_t *callee; /* a resource.drop of a host resource: the host's drop, or NULL */
    weft_memory_t *memory;
    weft_func_t *realloc;
    const weft_ctype_t *resource;
} tramp_t;

typedef struct {
    uint32_t rep;
    const weft_ctype_t *resource;
    int live;
} handle_t;

#define RVEC(T) struct { T *v; uint32_t n, cap; }

struct weft_cinstance {
    weft_component_t *c;
    weft_store_t *store;
    /* a nested component's instance: its imports come from these
     * arguments, not the linker; it is freed with its parent */
    const ritem_t *args;
    uint32_t nargs;
    RVEC(struct weft_cinstance *) children;
    RVEC(const weft_ctype_t *) components;
    RVEC(weft_module_t *) core_modules;
    RVEC(rcore_inst_t *) core_insts;
    RVEC(weft_func_t *) core_funcs;
    RVEC(weft_memory_t *) core_mems;
    RVEC(weft_table_t *) core_tables;
    RVEC(weft_global_t *) core_globals;
    RVEC(rfunc_t *) funcs;
    RVEC(rinst_t *) insts;
    RVEC(ritem_t) exports; /* top-level exports (idx into their sort's space) */
    RVEC(void *) allocs;   /* everything to free with the instance */
    RVEC(handle_t) handles;
    RVEC(rfunc_t *) hosts; /* the imports bound to a linker's definitions */
    uint64_t objects;      /* weft_store_objects once made (weft_cinstance_reset) */
    int busy;              /* a lifted function of this instance is running */
    char msg[300];
};

static int grow(void **v, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    uint32_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, nc * elem);
    if (!nv)
        return WEFT_ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

#define RPUSH(vec, val)                                                                   \
    (grow((void **)&(vec).v, &(vec).cap, (vec).n, sizeof *(vec).v) ? WEFT_ENOMEM            \
                                                                   : ((vec).v[(vec).n++] = (val), 0))

__attribute__((format(printf, 3, 4))) static int err(struct weft_cinstance *in, int code,
                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->msg, sizeof in->msg, fmt, ap);
    va_end(ap);
    return code;
}

static void *ialloc(struct weft_cinstance *in, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (p && RPUSH(in->allocs, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* ---- calling a lifted function ------------------------------------------------- */

static void param_types(const weft_ctype_t *ft, const weft_ctype_t **out)
{
    for (uint32_t i = 0; i < ft->n; i++)
        out[i] = ft->fields[i].type;
}

static int inst_borrow(void *user, const weft_ctype_t *r, uint32_t handle, uint32_t *out,
                       char *msg, size_t msg_size);

/* Parameter lists this long or shorter need no allocation per call. */
#define SMALL_PARAMS 16

/* call_func's result when a host function ended the call through its
 * caller (exit, interrupt): *raw is what the engine callback returns. */
#define CALL_RAW 1

/* Calls rf with host values; *result set when the type has one. */
static int call_func(struct weft_cinstance *in, weft_caller_t *caller, const rfunc_t *rf,
                     const weft_cval_t *args, size_t nargs, weft_cval_t *result, char *msg,
                     size_t msg_size, int *raw)
{
    const weft_ctype_t *ft = rf->type;
    int rc;
    if (nargs != ft->n) {
        snprintf(msg, msg_size, "%zu arguments for %u parameters", nargs, ft->n);
        return WEFT_EARG;
    }
    if (rf->kind == RF_STUB) {
        snprintf(msg, msg_size, "unlinked import %s called", rf->name);
        return WEFT_ETRAP;
    }
    if (rf->kind == RF_HOST) {
        weft_cval_t res = {0};
        char e[200] = "";
        int hrc = rf->fn(rf->user, caller, ft, args, nargs, &res, e, sizeof e);
        if (hrc != 0) {
            weft_cval_free(&res);
            if (!e[0] && caller) {
                *raw = hrc;
                return CALL_RAW;
            }
            snprintf(msg, msg_size, "%s", e[0] ? e : "host function failed");
            return WEFT_ETRAP;
        }
        if (ft->has_result)
            *result = res;
        else
            weft_cval_free(&res);
        return 0;
    }
    if (in->busy) {
        snprintf(msg, msg_size, "cannot re-enter a component instance");
        return WEFT_ETRAP;
    }
    /* the parameters' types side by side: on the stack for the usual few */
    const weft_ctype_t *small[SMALL_PARAMS] = {0}, **ptypes = small;
    if (ft->n > SMALL_PARAMS && !(ptypes = malloc(ft->n * sizeof *ptypes)))
        return WEFT_ENOMEM;
    param_types(ft, ptypes);
    weft_canon_cx_t cx = {.store = in->store, .memory = rf->memory, .realloc = rf->realloc,
                          .borrow = inst_borrow, .user = in};
    weft_val_t flat[WEFT_CANON_MAX_FLAT_PARAMS + 1], res[1];
    size_t nflat = 0, nres = weft_functype_nresults(weft_func_type(rf->core));
    in->busy = 1; /* realloc and the callee run guest code of this instance */
    rc = weft_canon_lower_values(&cx, ptypes, ft->n, args, WEFT_CANON_MAX_FLAT_PARAMS, NULL,
                                 flat, WEFT_CANON_MAX_FLAT_PARAMS + 1, &nflat);
    if (ptypes != small)
        free(ptypes);
    if (rc) {
        snprintf(msg, msg_size, "%s", cx.msg);
        goto out;
    }
    rc = weft_func_call(in->store, rf->core, flat, nflat, res, nres);
    if (rc == WEFT_ETRAP) {
        snprintf(msg, msg_size, "%s", weft_store_trap_message(in->store));
        goto out;
    }
    if (rc) {
        snprintf(msg, msg_size, "%s", weft_strerror(rc));
        goto out;
    }
    if (ft->has_result) {
        rc = weft_canon_lift_values(&cx, &ft->a, 1, res, nres, WEFT_CANON_MAX_FLAT_RESULTS,
                                    result);
        if (rc) {
            snprintf(msg, msg_size, "%s", cx.msg);
            goto out;
        }
    }
    if (rf->post) {
        rc = weft_func_call(in->store, rf->post, res, nres, NULL, 0);
        if (rc) {
            snprintf(msg, msg_size, "post-return: %s", rc == WEFT_ETRAP
                     ? weft_store_trap_message(in->store) : weft_strerror(rc));
            if (ft->has_result)
                weft_cval_free(result);
        }
    }
out:
    in->busy = 0;
    return rc;
}

/* canon lower: the core function the guest calls. */
static int lower_tramp(weft_caller_t *caller, void *user, const weft_val_t *args,
                       weft_val_t *results)
{
    tramp_t *t = user;
    struct weft_cinstance *in = t->inst;
    const weft_ctype_t *ft = t->callee->type;
    weft_canon_cx_t cx = {.store = in->store, .memory = t->memory, .realloc = t->realloc};
    size_t nparams = 0, total = 0;
    int rc, out_ptr = ft->has_result && ft->a->nflat > WEFT_CANON_MAX_FLAT_RESULTS;
    for (uint32_t i = 0; i < ft->n; i++)
        total += ft->fields[i].type->nflat;
    nparams = total > WEFT_CANON_MAX_FLAT_PARAMS ? 1 : total;
    const weft_ctype_t *small_t[SMALL_PARAMS] = {0}, **ptypes = small_t;
    weft_cval_t small_v[SMALL_PARAMS], *vals = small_v, result = {0};
    if (ft->n > SMALL_PARAMS && (!(ptypes = malloc(ft->n * sizeof *ptypes)) ||
                                 !(vals = calloc(ft->n, sizeof *vals)))) {
        if (ptypes != small_t)
            free(ptypes);
        return weft_caller_trap(caller, "out of memory");
    }
    param_types(ft, ptypes);
    char msg[300] = "";
    rc = weft_canon_lift_values(&cx, ptypes, ft->n, args, nparams, WEFT_CANON_MAX_FLAT_PARAMS,
                                vals);
    if (rc) {
        snprintf(msg, sizeof msg, "%s", cx.msg);
        goto done;
    }
    int raw = 0;
    rc = call_func(in, caller, t->callee, vals, ft->n, &result, msg, sizeof msg, &raw);
    for (uint32_t i = 0; i < ft->n; i++)
        weft_cval_free(&vals[i]);
    if (rc == CALL_RAW) {
        if (ptypes != small_t) {
            free(ptypes);
            free(vals);
        }
        return raw;
    }
    if (rc || !ft->has_result)
        goto done;
    size_t nflat;
    uint32_t ptr = out_ptr ? (uint32_t)args[nparams].of.i32 : 0;
    rc = weft_canon_lower_values(&cx, &ft->a, 1, &result, WEFT_CANON_MAX_FLAT_RESULTS,
                                 out_ptr ? &ptr : NULL, results, 1, &nflat);
    if (rc)
        snprintf(msg, sizeof msg, "%s", cx.msg);
    weft_cval_free(&result);
done:
    if (ptypes != small_t) {
        free(ptypes);
        free(vals);
    }
    if (rc)
        return weft_caller_trap(caller, "%s: %s", t->callee->name ? t->callee->name : "call",
                                msg[0] ? msg : weft_strerror(rc));
    return 0;
}

/* ---- resources ----------------------------------------------------------------- */

static int res_new(weft_caller_t *caller, void *user, const weft_val_t *args, weft_val_t *results)
{
    tramp_t *t = user;
    struct weft_cinstance *in = t->inst;
    handle_t h = {(uint32_t)args[0].of.i32, t->resource, 1};
    /* handle 0 is never given out: reserve it on first use */
    if (in->handles.n == 0 && RPUSH(in->handles, ((handle_t){0, NULL, 0})) != 0)
        return weft_caller_trap(caller, "out of memory");
    if (in->handles.n >= (1u << 28))
        return weft_caller_trap(caller, "resource.new: too many handles");
    if (RPUSH(in->handles, h) != 0)
        return weft_caller_trap(caller, "out of memory");
    results[0] = weft_val_i32((int32_t)(in->handles.n - 1));
    return 0;
}

static handle_t *find_handle(struct weft_cinstance *in, const weft_ctype_t *r, uint32_t i)
{
    if (i == 0 || i >= in->handles.n || !in->handles.v[i].live ||
        (r && in->handles.v[i].resource->id != r->id))
        return NULL;
    return &in->handles.v[i];
}

static handle_t *handle_get(tramp_t *t, uint32_t i) { return find_handle(t->inst, t->resource, i); }

/* weft_canon_cx_t.borrow: a borrow of a resource this instance implements
 * reaches it as the rep; of another (a host's), as the handle. */
static int inst_borrow(void *user, const weft_ctype_t *r, uint32_t handle, uint32_t *out,
                       char *msg, size_t msg_size)
{
    if (!r->local)
        return 0;
    handle_t *h = find_handle(user, r, handle);
    if (!h) {
        snprintf(msg, msg_size, "borrow of %u: not a live handle of resource %u", handle, r->id);
        return WEFT_ETRAP;
    }
    *out = h->rep;
    return 0;
}

static int run_dtor(struct weft_cinstance *in, handle_t *h)
{
    h->live = 0;
    int32_t d = h->resource->dtor;
    if (d < 0 || (uint32_t)d >= in->core_funcs.n)
        return 0;
    weft_val_t rep = weft_val_i32((int32_t)h->rep);
    return weft_func_call(in->store, in->core_funcs.v[d], &rep, 1, NULL, 0);
}

int weft_cinstance_drop(weft_cinstance_t *in, uint32_t handle)
{
    handle_t *h = find_handle(in, NULL, handle);
    in->msg[0] = '\0';
    if (!h)
        return err(in, WEFT_ENOTFOUND, "%u is not a live handle", handle);
    int rc = run_dtor(in, h);
    if (rc)
        err(in, rc, "resource destructor: %s",
            rc == WEFT_ETRAP ? weft_store_trap_message(in->store) : weft_strerror(rc));
    return rc;
}

static int res_rep(weft_caller_t *caller, void *user, const weft_val_t *args, weft_val_t *results)
{
    handle_t *h = handle_get(user, (uint32_t)args[0].of.i32);
    if (!h)
        return weft_caller_trap(caller, "resource.rep: %u is not a live handle of this resource",
                                (uint32_t)args[0].of.i32);
    results[0] = weft_val_i32((int32_t)h->rep);
    return 0;
}

static int res_drop(weft_caller_t *caller, void *user, const weft_val_t *args, weft_val_t *results)
{
    tramp_t *t = user;
    (void)results;
    if (!t->resource->local) {
        /* a host resource: its handles are the host's (docs/components.md),
         * told of the drop when it defined "[resource-drop]NAME" */
        if (!t->callee)
            return 0;
        weft_cval_t h = {.kind = WEFT_CT_OWN}, none = {0};
        char e[200] = "";
        h.of.u = (uint32_t)args[0].of.i32;
        int rc = t->callee->fn(t->callee->user, caller, t->resource, &h, 1, &none, e, sizeof e);
        weft_cval_free(&none);
        if (rc && !e[0])
            return rc; /* ended the call through its caller */
        return rc ? weft_caller_trap(caller, "%s: %s", t->callee->name, e) : 0;
    }
    handle_t *h = handle_get(t, (uint32_t)args[0].of.i32);
    if (!h)
        return weft_caller_trap(caller, "resource.drop: %u is not a live handle of this resource",
                                (uint32_t)args[0].of.i32);
    int rc = run_dtor(t->inst, h);
    if (rc)
        return weft_caller_trap(caller, "resource destructor: %s",
                                rc == WEFT_ETRAP ? weft_store_trap_message(t->inst->store)
                                                 : weft_strerror(rc));
    return 0;
}

/* ---- instantiation -------------------------------------------------------------- */

static int push_core_extern(struct weft_cinstance *in, const weft_extern_t *e)
{
    switch (e->kind) {
    case WEFT_EXTERN_FUNC: return RPUSH(in->core_funcs, e->of.func);
    case WEFT_EXTERN_TABLE: return RPUSH(in->core_tables, e->of.table);
    case WEFT_EXTERN_MEMORY: return RPUSH(in->core_mems, e->of.memory);
    case WEFT_EXTERN_GLOBAL: return RPUSH(in->core_globals, e->of.global);
    }
    return WEFT_EINVALID;
}

static int core_item(struct weft_cinstance *in, int core_sort, uint32_t idx, weft_extern_t *out)
{
    switch (core_sort) {
    case 0:
        if (idx >= in->core_funcs.n) break;
        out->kind = WEFT_EXTERN_FUNC;
        out->of.func = in->core_funcs.v[idx];
        return 0;
    case 1:
        if (idx >= in->core_tables.n) break;
        out->kind = WEFT_EXTERN_TABLE;
        out->of.table = in->core_tables.v[idx];
        return 0;
    case 2:
        if (idx >= in->core_mems.n) break;
        out->kind = WEFT_EXTERN_MEMORY;
        out->of.memory = in->core_mems.v[idx];
        return 0;
    case 3:
        if (idx >= in->core_globals.n) break;
        out->kind = WEFT_EXTERN_GLOBAL;
        out->of.global = in->core_globals.v[idx];
        return 0;
    }
    return err(in, WEFT_EINVALID, "core item %u of sort %d is not instantiable", idx, core_sort);
}

static int core_export(struct weft_cinstance *in, const rcore_inst_t *ci, const char *name,
                       weft_extern_t *out)
{
    if (ci->wi)
        return weft_instance_export(ci->wi, name, out) == 0
                   ? 0 : err(in, WEFT_EINVALID, "core instance has no export %s", name);
    for (uint32_t i = 0; i < ci->n; i++)
        if (strcmp(ci->items[i].name, name) == 0) {
            *out = ci->items[i].ext;
            return 0;
        }
    return err(in, WEFT_EINVALID, "core instance has no export %s", name);
}

static int core_instantiate(struct weft_cinstance *in, const cinit_t *it)
{
    weft_linker_t *l = weft_linker_new(in->store);
    weft_instance_t *wi = NULL;
    int rc = WEFT_ENOMEM;
    if (!l)
        return err(in, rc, "out of memory");
    for (uint32_t a = 0; a < it->nargs; a++) {
        const rcore_inst_t *ci = in->core_insts.v[it->args[a].idx];
        if (ci->wi) {
            rc = weft_linker_define_instance(l, it->args[a].name, ci->wi);
        } else {
            rc = 0;
            for (uint32_t k = 0; k < ci->n && rc == 0; k++)
                rc = weft_linker_define(l, it->args[a].name, ci->items[k].name, &ci->items[k].ext);
        }
        if (rc)
            goto fail;
    }
    rc = weft_linker_instantiate(l, in->core_modules.v[it->idx], &wi);
    if (rc) {
        err(in, rc, "core instance %u: %s", in->core_insts.n,
            rc == WEFT_ETRAP ? weft_store_trap_message(in->store) : weft_store_errmsg(in->store));
        goto fail;
    }
    rcore_inst_t *ci = ialloc(in, sizeof *ci);
    if (!ci) {
        rc = WEFT_ENOMEM;
        goto fail;
    }
    ci->wi = wi;
    rc = RPUSH(in->core_insts, ci);
fail:
    weft_linker_delete(l);
    if (rc && !in->msg[0])
        err(in, rc, "%s", weft_strerror(rc));
    return rc;
}

/* A host function (or stub) for import `name` of `instance`. */
static int import_func(struct weft_cinstance *in, const weft_clinker_t *l, const char *instance,
                       const char *name, const weft_ctype_t *type, rfunc_t **out)
{
    const cdef_t *d = clinker_find(l, instance, name);
    rfunc_t *rf = ialloc(in, sizeof *rf);
    char *full = ialloc(in, (instance ? strlen(instance) : 0) + strlen(name) + 2);
    if (!rf || !full)
        return err(in, WEFT_ENOMEM, "out of memory");
    sprintf(full, "%s%s%s", instance ? instance : "", instance ? "#" : "", name);
    rf->type = type;
    rf->name = full;
    if (d) {
        rf->kind = RF_HOST;
        rf->fn = d->fn;
        rf->user = d->user;
        if (RPUSH(in->hosts, rf) != 0)
            return err(in, WEFT_ENOMEM, "out of memory");
    } else if (l->stub_missing) {
        rf->kind = RF_STUB;
    } else {
        return err(in, WEFT_EUNLINKABLE, "unknown import %s", full);
    }
    *out = rf;
    return 0;
}

static int do_import(struct weft_cinstance *in, const weft_clinker_t *l, const cinit_t *it)
{
    rfunc_t *rf;
    int rc;
    if (in->args) { /* a nested instance: from its instantiation's arguments */
        for (uint32_t i = 0; i < in->nargs; i++) {
            const ritem_t *a = &in->args[i];
            if (strcmp(a->name, it->name) != 0)
                continue;
            switch (it->sort) {
            case WEFT_CSORT_FUNC: return RPUSH(in->funcs, (rfunc_t *)a->func);
            case WEFT_CSORT_INSTANCE: return RPUSH(in->insts, (rinst_t *)a->inst);
            case WEFT_CSORT_COMPONENT: return RPUSH(in->components, a->component);
            case WEFT_CSORT_TYPE: return 0;
            default: break;
            }
        }
        return err(in, WEFT_EINVALID, "nested import %s: no argument of that sort", it->name);
    }
    switch (it->sort) {
    case WEFT_CSORT_FUNC:
        if ((rc = import_func(in, l, NULL, it->name, it->type, &rf)))
            return rc;
        return RPUSH(in->funcs, rf);
    case WEFT_CSORT_TYPE:
        return 0; /* types are static */
    case WEFT_CSORT_INSTANCE: {
        const weft_ctype_t *t = it->type;
        rinst_t *ri = ialloc(in, sizeof *ri);
        if (!ri || !(ri->items = ialloc(in, (t->nexports + 1) * sizeof *ri->items)))
            return err(in, WEFT_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < t->nexports; i++) {
            const weft_cextern_t *e = &t->exports[i];
            ri->items[ri->n].name = e->name;
            ri->items[ri->n].sort = (int)e->sort;
            if (e->sort == WEFT_CSORT_FUNC) {
                /* not in the function index space: reached by alias */
                if ((rc = import_func(in, l, it->name, e->name, e->type, &rf)))
                    return rc;
                ri->items[ri->n].func = rf;
            } else if (e->sort != WEFT_CSORT_TYPE) {
                return err(in, WEFT_EINVALID, "import %s: a %s export of an imported instance is "
                           "not supported", it->name, weft_csort_name(e->sort));
            }
            ri->n++;
        }
        return RPUSH(in->insts, ri);
    }
    default:
        return err(in, WEFT_EINVALID, "import %s: importing a %s is not supported", it->name,
                   weft_csort_name((weft_csort_t)it->sort));
    }
}

static int new_host_func(struct weft_cinstance *in, const weft_functype_t *ft,
                         weft_host_fn_t fn, tramp_t *t)
{
    weft_func_t *f = weft_func_new_host(in->store, ft, fn, t, NULL);
    if (!f)
        return err(in, WEFT_ENOMEM, "out of memory");
    return RPUSH(in->core_funcs, f);
}

/* The flat core type of a lowered function, as decode.c computed it: the
 * engine gives a host function the type it is created with. */
static const weft_functype_t *lowered_type(const weft_ctype_t *ft, weft_functype_t **own)
{
    weft_valtype_t ps[WEFT_CANON_MAX_FLAT_PARAMS + 2], rs[1];
    size_t np = 0, nr = 0, total = 0;
    for (uint32_t i = 0; i < ft->n; i++)
        total += ft->fields[i].type->nflat;
    if (total > WEFT_CANON_MAX_FLAT_PARAMS) {
        ps[np++] = WEFT_I32;
    } else {
        for (uint32_t i = 0; i < ft->n; i++)
            np += weft_canon_flatten(ft->fields[i].type, ps + np, WEFT_CANON_MAX_FLAT_PARAMS - np);
    }
    if (ft->has_result) {
        if (ft->a->nflat > WEFT_CANON_MAX_FLAT_RESULTS)
            ps[np++] = WEFT_I32;
        else if (ft->a->nflat == 1)
            nr = weft_canon_flatten(ft->a, rs, 1);
    }
    return *own = weft_functype_new(ps, np, rs, nr);
}

static int run_inits(struct weft_cinstance *in, const weft_clinker_t *l, const cinit_t *inits,
                     size_t n);
void weft_cinstance_delete(weft_cinstance_t *in);

/* The host's "[resource-drop]NAME" for resource r of an imported instance
 * (NAME: the instance's type export naming r), when the linker defines
 * one: *out stays NULL otherwise (the drop is then not the host's concern). */
static int host_drop(struct weft_cinstance *in, const weft_clinker_t *l, const weft_ctype_t *r,
                     const rfunc_t **out)
{
    const weft_component_t *c = in->c;
    *out = NULL;
    for (size_t i = 0; i < c->nimports; i++) {
        const weft_cextern_t *im = &c->imports[i];
        if (im->sort != WEFT_CSORT_INSTANCE || !im->type)
            continue;
        for (uint32_t k = 0; k < im->type->nexports; k++) {
            const weft_cextern_t *e = &im->type->exports[k];
            if (e->sort != WEFT_CSORT_TYPE || !e->type || e->type->kind != WEFT_CT_RESOURCE ||
                (e->type != r && e->type->id != r->id))
                continue;
            char name[300];
            snprintf(name, sizeof name, "[resource-drop]%s", e->name);
            const cdef_t *d = clinker_find(l, im->name, name);
            if (!d)
                return 0;
            rfunc_t *rf = ialloc(in, sizeof *rf);
            char *full = ialloc(in, strlen(im->name) + strlen(name) + 2);
            if (!rf || !full)
                return err(in, WEFT_ENOMEM, "out of memory");
            sprintf(full, "%s#%s", im->name, name);
            rf->kind = RF_HOST;
            rf->name = full;
            rf->fn = d->fn;
            rf->user = d->user;
            *out = rf;
            /* bound to a definition like an import: weft_cinstance_rebind_host */
            return RPUSH(in->hosts, rf) != 0 ? err(in, WEFT_ENOMEM, "out of memory") : 0;
        }
    }
    return 0;
}

/* Sets r's item from index idx of its sort's runtime space. */
static int resolve_item(struct weft_cinstance *in, ritem_t *r, uint32_t idx)
{
    switch (r->sort) {
    case WEFT_CSORT_FUNC: r->func = in->funcs.v[idx]; return 0;
    case WEFT_CSORT_INSTANCE: r->inst = in->insts.v[idx]; return 0;
    case WEFT_CSORT_COMPONENT: r->component = in->components.v[idx]; return 0;
    case WEFT_CSORT_TYPE: return 0; /* types are static */
    default: return err(in, WEFT_EINVALID, "%s: this sort is not instantiable", r->name);
    }
}

/* instantiate of a nested component: a child instance (same store,
 * resources and busy flag of its own) whose exports become an instance of
 * the parent. */
static int instantiate_nested(struct weft_cinstance *in, const weft_clinker_t *l,
                              const cinit_t *it)
{
    const weft_ctype_t *ct = in->components.v[it->idx];
    struct weft_cinstance *child = calloc(1, sizeof *child);
    ritem_t *args = ialloc(in, ((size_t)it->nargs + 1) * sizeof *args);
    rinst_t *ri = ialloc(in, sizeof *ri);
    int rc;
    if (!child || !args || !ri || RPUSH(in->children, child)) {
        free(child);
        return err(in, WEFT_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < it->nargs; i++) {
        args[i] = (ritem_t){it->args[i].name, it->args[i].sort, NULL, NULL, NULL};
        if ((rc = resolve_item(in, &args[i], it->args[i].idx)))
            return rc;
    }
    child->c = in->c;
    child->store = in->store;
    child->args = args;
    child->nargs = it->nargs;
    if ((rc = run_inits(child, l, ct->inits, ct->ninits)))
        return err(in, rc, "nested instance: %s", child->msg);
    ri->items = child->exports.v;
    ri->n = child->exports.n;
    return RPUSH(in->insts, ri);
}

static int run_init(struct weft_cinstance *in, const weft_clinker_t *l, const cinit_t *it)
{
    weft_component_t *c = in->c;
    weft_extern_t e;
    int rc;
    switch (it->op) {
    case INIT_CORE_MODULE:
        return RPUSH(in->core_modules, c->modules[it->idx]);
    case INIT_CORE_INSTANTIATE:
        return core_instantiate(in, it);
    case INIT_CORE_INLINE: {
        rcore_inst_t *ci = ialloc(in, sizeof *ci);
        if (!ci || !(ci->items = ialloc(in, (it->nargs + 1) * sizeof *ci->items)))
            return err(in, WEFT_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < it->nargs; i++) {
            ci->items[i].name = it->args[i].name;
            if ((rc = core_item(in, it->args[i].sort - 0x100, it->args[i].idx, &ci->items[i].ext)))
                return rc;
        }
        ci->n = it->nargs;
        return RPUSH(in->core_insts, ci);
    }
    case INIT_ALIAS_CORE_EXPORT:
        if ((rc = core_export(in, in->core_insts.v[it->idx], it->name, &e)))
            return rc;
        return push_core_extern(in, &e);
    case INIT_ALIAS_EXPORT: {
        const rinst_t *ri = in->insts.v[it->idx];
        if (it->sort == WEFT_CSORT_TYPE)
            return 0;
        for (uint32_t i = 0; i < ri->n; i++)
            if (strcmp(ri->items[i].name, it->name) == 0 && ri->items[i].sort == it->sort) {
                if (it->sort == WEFT_CSORT_FUNC && ri->items[i].func)
                    return RPUSH(in->funcs, (rfunc_t *)ri->items[i].func);
                if (it->sort == WEFT_CSORT_INSTANCE && ri->items[i].inst)
                    return RPUSH(in->insts, (rinst_t *)ri->items[i].inst);
            }
        return err(in, WEFT_EINVALID, "alias of export %s: not instantiable", it->name);
    }
    case INIT_CANON_LIFT: {
        rfunc_t *rf = ialloc(in, sizeof *rf);
        if (!rf)
            return err(in, WEFT_ENOMEM, "out of memory");
        rf->kind = RF_LIFTED;
        rf->type = it->type;
        rf->core = in->core_funcs.v[it->idx];
        rf->memory = it->memory >= 0 ? in->core_mems.v[it->memory] : NULL;
        rf->realloc = it->realloc >= 0 ? in->core_funcs.v[it->realloc] : NULL;
        rf->post = it->post >= 0 ? in->core_funcs.v[it->post] : NULL;
        return RPUSH(in->funcs, rf);
    }
    case INIT_CANON_LOWER: {
        tramp_t *t = ialloc(in, sizeof *t);
        weft_functype_t *ft = NULL;
        if (!t || !lowered_type(it->type, &ft))
            return err(in, WEFT_ENOMEM, "out of memory");
        t->inst = in;
        t->callee = in->funcs.v[it->idx];
        t->memory = it->memory >= 0 ? in->core_mems.v[it->memory] : NULL;
        t->realloc = it->realloc >= 0 ? in->core_funcs.v[it->realloc] : NULL;
        rc = new_host_func(in, ft, lower_tramp, t);
        weft_functype_delete(ft);
        return rc;
    }
    case INIT_RESOURCE_NEW:
    case INIT_RESOURCE_DROP:
    case INIT_RESOURCE_REP: {
        tramp_t *t = ialloc(in, sizeof *t);
        weft_valtype_t i32 = WEFT_I32;
        int has_res = it->op != INIT_RESOURCE_DROP;
        weft_functype_t *ft = weft_functype_new(&i32, 1, &i32, has_res ? 1 : 0);
        if (!t || !ft) {
            weft_functype_delete(ft);
            return err(in, WEFT_ENOMEM, "out of memory");
        }
        t->inst = in;
        t->resource = it->type;
        if (it->op == INIT_RESOURCE_DROP && !it->type->local && !in->args &&
            (rc = host_drop(in, l, it->type, &t->callee))) {
            weft_functype_delete(ft);
            return rc;
        }
        rc = new_host_func(in, ft, it->op == INIT_RESOURCE_NEW ? res_new
                                   : it->op == INIT_RESOURCE_REP ? res_rep : res_drop, t);
        weft_functype_delete(ft);
        return rc;
    }
    case INIT_IMPORT:
        return do_import(in, l, it);
    case INIT_EXPORT: {
        ritem_t r = {it->name, it->sort == 0x111 ? WEFT_CSORT_CORE_MODULE : it->sort, NULL, NULL,
                     NULL};
        if (it->sort == WEFT_CSORT_FUNC)
            r.func = in->funcs.v[it->idx];
        if (it->sort == WEFT_CSORT_INSTANCE)
            r.inst = in->insts.v[it->idx];
        if ((rc = RPUSH(in->exports, r)))
            return err(in, rc, "out of memory");
        if (it->sort == WEFT_CSORT_FUNC)
            return RPUSH(in->funcs, in->funcs.v[it->idx]);
        if (it->sort == WEFT_CSORT_INSTANCE)
            return RPUSH(in->insts, in->insts.v[it->idx]);
        if (it->sort == WEFT_CSORT_COMPONENT)
            return RPUSH(in->components, in->components.v[it->idx]);
        if (it->sort == 0x111)
            return RPUSH(in->core_modules, in->core_modules.v[it->idx]);
        return 0;
    }
    case INIT_INSTANCE_INLINE: {
        rinst_t *ri = ialloc(in, sizeof *ri);
        if (!ri || !(ri->items = ialloc(in, (it->nargs + 1) * sizeof *ri->items)))
            return err(in, WEFT_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < it->nargs; i++) {
            ritem_t *r = &ri->items[i];
            *r = (ritem_t){it->args[i].name, it->args[i].sort, NULL, NULL, NULL};
            if ((rc = resolve_item(in, r, it->args[i].idx)))
                return rc;
        }
        ri->n = it->nargs;
        return RPUSH(in->insts, ri);
    }
    case INIT_COMPONENT:
    case INIT_ALIAS_COMPONENT:
        return RPUSH(in->components, it->type);
    case INIT_INSTANTIATE:
        return instantiate_nested(in, l, it);
    default:
        return err(in, WEFT_EINVALID, "an outer alias of a core module is not instantiable yet");
    }
}

static int run_inits(struct weft_cinstance *in, const weft_clinker_t *l, const cinit_t *inits,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        in->msg[0] = '\0';
        int rc = run_init(in, l, &inits[i]);
        if (rc) {
            if (!in->msg[0])
                err(in, rc, "%s", weft_strerror(rc));
            return rc;
        }
    }
    return 0;
}

void weft_cinstance_delete(weft_cinstance_t *in)
{
    if (!in)
        return;
    if (!in->args && in->c)
        weft_component_delete(in->c); /* the top-level instance's reference */
    for (uint32_t i = 0; i < in->allocs.n; i++)
        free(in->allocs.v[i]);
    free(in->allocs.v);
    free(in->core_modules.v);
    free(in->core_insts.v);
    free(in->core_funcs.v);
    free(in->core_mems.v);
    free(in->core_tables.v);
    free(in->core_globals.v);
    free(in->funcs.v);
    free(in->insts.v);
    free(in->exports.v);
    free(in->handles.v);
    free(in->hosts.v);
    for (uint32_t i = 0; i < in->children.n; i++)
        weft_cinstance_delete(in->children.v[i]);
    free(in->children.v);
    free(in->components.v);
    free(in);
}

int weft_cinstance_new(weft_component_t *c, weft_store_t *store, const weft_clinker_t *l,
                       weft_cinstance_t **out, char *msg, size_t msg_size)
{
    struct weft_cinstance *in = calloc(1, sizeof *in);
    int rc = WEFT_ENOMEM;
    *out = NULL;
    if (!in)
        goto fail;
    in->c = c;
    in->store = store;
    atomic_fetch_add(&c->refs, 1); /* dropped by weft_cinstance_delete */
    if ((rc = run_inits(in, l, c->inits, c->ninits)))
        goto fail;
    in->objects = weft_store_objects(store);
    *out = in;
    return 0;
fail:
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", in ? in->msg : "out of memory");
    weft_cinstance_delete(in);
    return rc;
}

/* "name" or "iface#name" */
static const rfunc_t *find_export(const weft_cinstance_t *in, const char *name)
{
    const char *hash = strchr(name, '#');
    size_t head = hash ? (size_t)(hash - name) : strlen(name);
    for (uint32_t i = 0; i < in->exports.n; i++) {
        const ritem_t *r = &in->exports.v[i];
        if (strlen(r->name) != head || memcmp(r->name, name, head) != 0)
            continue;
        if (!hash && r->sort == WEFT_CSORT_FUNC)
            return r->func;
        if (hash && r->sort == WEFT_CSORT_INSTANCE && r->inst) {
            const rinst_t *ri = r->inst;
            for (uint32_t k = 0; k < ri->n; k++)
                if (ri->items[k].sort == WEFT_CSORT_FUNC && strcmp(ri->items[k].name, hash + 1) == 0)
                    return ri->items[k].func;
        }
    }
    return NULL;
}

const weft_ctype_t *weft_cinstance_func_type(const weft_cinstance_t *in, const char *name)
{
    const rfunc_t *rf = find_export(in, name);
    return rf ? rf->type : NULL;
}

int weft_cinstance_call(weft_cinstance_t *in, const char *name, const weft_cval_t *args,
                        size_t nargs, weft_cval_t *result, int *has_result)
{
    const rfunc_t *rf = find_export(in, name);
    *has_result = 0;
    memset(result, 0, sizeof *result);
    in->msg[0] = '\0';
    if (!rf)
        return err(in, WEFT_ENOTFOUND, "no exported function %s", name);
    int raw;
    int rc = call_func(in, NULL, rf, args, nargs, result, in->msg, sizeof in->msg, &raw);
    if (rc == 0)
        *has_result = rf->type->has_result;
    else if (!in->msg[0])
        err(in, rc, "%s", weft_strerror(rc));
    return rc;
}

const char *weft_cinstance_errmsg(const weft_cinstance_t *in) { return in->msg; }

/* ---- kept instances ------------------------------------------------------------ */

/* 1 when `in` or a nested instance of it runs a lifted function. */
static int any_busy(const struct weft_cinstance *in)
{
    if (in->busy)
        return 1;
    for (uint32_t i = 0; i < in->children.n; i++)
        if (any_busy(in->children.v[i]))
            return 1;
    return 0;
}

/* Every resource handle of `in` and its nested instances gone, as after
 * instantiation (the table then was empty). */
static void drop_handles(struct weft_cinstance *in)
{
    in->handles.n = 0;
    for (uint32_t i = 0; i < in->children.n; i++)
        drop_handles(in->children.v[i]);
}

int weft_cinstance_can_reset(const weft_cinstance_t *in)
{
    if (any_busy(in))
        return err((struct weft_cinstance *)in, WEFT_EARG, "the instance is running");
    int rc = weft_store_can_reset(in->store, in->objects);
    if (rc)
        err((struct weft_cinstance *)in, rc, "%s", weft_store_errmsg(in->store));
    return rc;
}

int weft_cinstance_reset(weft_cinstance_t *in)
{
    in->msg[0] = '\0';
    int rc = weft_cinstance_can_reset(in);
    if (rc)
        return rc;
    /* The handles first: a start function run again may make new ones. */
    drop_handles(in);
    if ((rc = weft_store_reset(in->store, in->objects)) != 0)
        return err(in, rc, "reset: %s", rc == WEFT_ETRAP ? weft_store_trap_message(in->store)
                                                         : weft_store_errmsg(in->store));
    return 0;
}

size_t weft_cinstance_rebind_host(weft_cinstance_t *in, const void *old_user, void *new_user)
{
    size_t n = 0;
    for (uint32_t i = 0; i < in->hosts.n; i++) {
        if (in->hosts.v[i]->user == old_user) {
            in->hosts.v[i]->user = new_user;
            n++;
        }
    }
    return n;
}

size_t weft_cinstance_host_count(const weft_cinstance_t *in) { return in->hosts.n; }
