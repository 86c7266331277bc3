/*
 * api.c — the engine object, loading modules (decode → validate → compile)
 * and the read-only accessors of modules and instances.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "priv.h"
#include "jit/jit.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

const char *weft_version(void) { return "0.1.0"; }

weft_engine_t *weft_engine_new(void)
{
    pthread_once(&init_once, interp_init);
    return calloc(1, sizeof(weft_engine_t));
}

void weft_engine_delete(weft_engine_t *engine) { free(engine); }

int weft_module_new(weft_engine_t *engine, const uint8_t *bytes, size_t len, weft_module_t **out,
                    char *out_msg, size_t msg_size)
{
    return weft_module_new_opts(engine, bytes, len, NULL, out, out_msg, msg_size);
}

int weft_module_new_opts(weft_engine_t *engine, const uint8_t *bytes, size_t len,
                         const weft_load_options_t *opts, weft_module_t **out, char *out_msg,
                         size_t msg_size)
{
    pthread_once(&init_once, interp_init);
    *out = NULL;
    if (out_msg && msg_size) out_msg[0] = 0;
    if (!bytes && len) return WEFT_EARG;
    weft_module_t *m = calloc(1, sizeof *m);
    if (!m) return WEFT_ENOMEM;
    atomic_init(&m->refs, 1);
    m->engine = engine;
    m->start = -1;
    m->bytes = malloc(len ? len : 1);
    if (!m->bytes) {
        free(m);
        return WEFT_ENOMEM;
    }
    if (len) memcpy(m->bytes, bytes, len);
    m->len = len;
    loaderr_t e = {0};
    e.msg = out_msg;
    e.msg_size = out_msg ? msg_size : 0;
    e.opts = opts;
    e.poll = POLL_EVERY;
    if (setjmp(e.jmp)) {
        compile_free_scratch(&e);
        module_free(m);
        return e.code;
    }
    decode_module(m, &e);
    compile_free_scratch(&e);
    if (opts) jit_load_tier(m, opts->tier, opts->code_cache_dir);
    *out = m;
    return 0;
}

int weft_tier_available(int tier)
{
    return tier == WEFT_TIER_INTERP ||
           ((tier == WEFT_TIER_JIT || tier == WEFT_TIER_AUTO) && jit_supported());
}

int weft_module_code_cache(const weft_module_t *m, const char **note)
{
    if (note) *note = m->jit_cache_note ? m->jit_cache_note : "";
    return m->jit_cache_status;
}

uint32_t weft_module_compiled_functions(const weft_module_t *m, uint32_t *total)
{
    if (total) *total = m->nfuncs - m->nfunc_imports;
    return atomic_load_explicit(&((weft_module_t *)m)->jit_funcs, memory_order_relaxed);
}

void weft_module_delete(weft_module_t *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) module_free(m);
}

size_t weft_module_import_count(const weft_module_t *m) { return m->nimports; }
size_t weft_module_export_count(const weft_module_t *m) { return m->nexports; }

static void describe(const weft_module_t *m, uint8_t kind, uint32_t index, weft_externdesc_t *d)
{
    d->kind = (weft_externkind_t)kind;
    switch (kind) {
    case WEFT_EXTERN_FUNC: d->functype = m->types[m->func_types[index]]; break;
    case WEFT_EXTERN_TABLE:
        d->valtype = (weft_valtype_t)m->tables[index].elem;
        d->limits = m->tables[index].limits;
        break;
    case WEFT_EXTERN_MEMORY: d->limits = m->mems[index]; break;
    case WEFT_EXTERN_GLOBAL:
        d->valtype = (weft_valtype_t)m->globals[index].type;
        d->mutable_ = m->globals[index].mut;
        break;
    }
}

int weft_module_import(const weft_module_t *m, size_t i, weft_externdesc_t *out)
{
    if (i >= m->nimports) return WEFT_ENOTFOUND;
    const importdef_t *im = &m->imports[i];
    memset(out, 0, sizeof *out);
    out->module = im->module;
    out->module_len = im->module_len;
    out->name = im->name;
    out->name_len = im->name_len;
    if (im->kind == WEFT_EXTERN_FUNC) {
        out->kind = WEFT_EXTERN_FUNC;
        out->functype = m->types[im->index];
    } else {
        describe(m, im->kind, im->index, out);
    }
    return 0;
}

int weft_module_export(const weft_module_t *m, size_t i, weft_externdesc_t *out)
{
    if (i >= m->nexports) return WEFT_ENOTFOUND;
    const exportdef_t *ex = &m->exports[i];
    memset(out, 0, sizeof *out);
    out->name = ex->name;
    out->name_len = ex->name_len;
    describe(m, ex->kind, ex->index, out);
    return 0;
}

size_t weft_module_memory_count(const weft_module_t *m) { return m->nmems; }
size_t weft_module_table_count(const weft_module_t *m) { return m->ntables; }
size_t weft_module_global_count(const weft_module_t *m) { return m->nglobals; }

int weft_module_memory(const weft_module_t *m, size_t i, weft_limits_t *out)
{
    if (i >= m->nmems) return WEFT_ENOTFOUND;
    if (out) *out = m->mems[i];
    return 0;
}

int weft_module_table(const weft_module_t *m, size_t i, weft_valtype_t *out_elem, weft_limits_t *out_limits)
{
    if (i >= m->ntables) return WEFT_ENOTFOUND;
    if (out_elem) *out_elem = (weft_valtype_t)m->tables[i].elem;
    if (out_limits) *out_limits = m->tables[i].limits;
    return 0;
}

int weft_module_global(const weft_module_t *m, size_t i, weft_valtype_t *out_type, int *out_mutable)
{
    if (i >= m->nglobals) return WEFT_ENOTFOUND;
    if (out_type) *out_type = (weft_valtype_t)m->globals[i].type;
    if (out_mutable) *out_mutable = m->globals[i].mut;
    return 0;
}

size_t weft_module_custom_count(const weft_module_t *m) { return m->ncustoms; }

int weft_module_custom(const weft_module_t *m, size_t i, const char **out_name, size_t *out_name_len,
                       const uint8_t **out_data, size_t *out_len)
{
    if (i >= m->ncustoms) return WEFT_ENOTFOUND;
    if (out_name) *out_name = m->customs[i].name;
    if (out_name_len) *out_name_len = m->customs[i].name_len;
    if (out_data) *out_data = m->customs[i].data;
    if (out_len) *out_len = m->customs[i].len;
    return 0;
}

const char *weft_module_func_name(const weft_module_t *m, uint32_t index)
{
    if (!m || !m->func_names || index >= m->nfuncs) return NULL;
    return m->func_names[index];
}

weft_module_t *weft_instance_module(const weft_instance_t *inst) { return inst->module; }

int weft_instance_table(const weft_instance_t *inst, uint32_t index, weft_table_t **out)
{
    if (index >= inst->module->ntables) return WEFT_ENOTFOUND;
    *out = inst->tables[index];
    return 0;
}

int weft_instance_memory(const weft_instance_t *inst, uint32_t index, weft_memory_t **out)
{
    if (index >= inst->module->nmems) return WEFT_ENOTFOUND;
    *out = inst->mems[index];
    return 0;
}

int weft_module_export_find(const weft_module_t *m, const char *name, size_t len,
                            weft_externdesc_t *out)
{
    const exportdef_t *ex = module_find_export(m, name, len);
    if (!ex) return WEFT_ENOTFOUND;
    memset(out, 0, sizeof *out);
    out->name = ex->name;
    out->name_len = ex->name_len;
    describe(m, ex->kind, ex->index, out);
    return 0;
}

const exportdef_t *module_find_export(const weft_module_t *m, const char *name, size_t len)
{
    uint32_t lo = 0, hi = m->nexports;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const exportdef_t *ex = &m->exports[m->export_order[mid]];
        int c = engine_name_cmp(ex->name, ex->name_len, name, len);
        if (c == 0) return ex;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int weft_instance_export_n(const weft_instance_t *inst, const char *name, size_t len,
                           weft_extern_t *out)
{
    const exportdef_t *ex = module_find_export(inst->module, name, len);
    if (ex) {
        out->kind = (weft_externkind_t)ex->kind;
        switch (ex->kind) {
        case WEFT_EXTERN_FUNC: out->of.func = inst->funcs[ex->index]; break;
        case WEFT_EXTERN_TABLE: out->of.table = inst->tables[ex->index]; break;
        case WEFT_EXTERN_MEMORY: out->of.memory = inst->mems[ex->index]; break;
        case WEFT_EXTERN_GLOBAL: out->of.global = inst->globals[ex->index]; break;
        }
        return 0;
    }
    return WEFT_ENOTFOUND;
}

int weft_instance_export(const weft_instance_t *inst, const char *name, weft_extern_t *out)
{
    return weft_instance_export_n(inst, name, strlen(name), out);
}
