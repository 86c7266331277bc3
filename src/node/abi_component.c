/*
 * abi_component.c — the component adapter (abi.h): apps that are
 * WebAssembly components (weft/component.h), Wippy's guests.
 *
 * A call instantiates the app's component in the call's store against
 * WASI preview 2 (weft/wasip2.h, on the call's memory files: stdin is the
 * input, stdout the output, stderr log lines, as for modules) and
 * `wippy:runtime/funcs` (weft/wippy.h), then calls the export the request
 * names ("name", or "interface#name" for a function of an exported
 * interface). The input becomes the arguments: a function of one `string`
 * or `list<u8>` gets the input itself, one of no parameters nothing, any
 * other a JSON array of its parameters converted by their WIT types. The
 * result is the output: a string or list<u8> as it is, anything else as
 * JSON; a `result` is its ok payload, and its err fails the call
 * (exit status 1), as `wasi:cli/run` does. docs/components.md, "Components
 * on a node".
 *
 * funcs targets are `context:function`, run as real calls of the node on
 * this thread, inside the caller's transaction (a nested one for a write,
 * the same read transaction for a view): no queue, so no writer can wait
 * for itself; the callee's writes commit or abort with the caller's.
 * Import profiles: the manifest's `imports` groups are the only ones
 * linked; an import outside them fails the deploy (node_component_check),
 * unless `stub_missing` binds it to a function that traps when called.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "weft/component.h"
#include "weft/error.h"
#include "weft/wasip2.h"
#include "weft/wippy.h"

/* The import groups a manifest may name (Wippy's document's list), and
 * the interface names each covers: "wasi:cli" is every wasi:cli/...
 * interface, "funcs" is wippy:runtime/funcs. */
static const char *const groups[] = {"funcs",      "wasi:cli",        "wasi:io",
                                     "wasi:clocks", "wasi:filesystem", "wasi:random",
                                     "wasi:sockets", "wasi:http"};
#define NGROUPS (sizeof groups / sizeof groups[0])

/* The group of an import's instance name, or NULL for one in no group. */
static const char *group_of(const char *instance)
{
    if (!instance)
        return NULL;
    if (strncmp(instance, "wippy:runtime/funcs@", 20) == 0)
        return groups[0];
    for (size_t i = 1; i < NGROUPS; i++) {
        size_t n = strlen(groups[i]);
        if (strncmp(instance, groups[i], n) == 0 && instance[n] == '/')
            return groups[i];
    }
    return NULL;
}

/* weft_clinker_filter: only the manifest's groups (every group without a
 * list). */
static int keep_group(void *user, const char *instance)
{
    const node_manifest_t *mf = user;
    const char *g = group_of(instance);
    if (!mf->imports)
        return 1;
    for (size_t i = 0; g && i < mf->nimports; i++)
        if (strcmp(mf->imports[i], g) == 0)
            return 1;
    return 0;
}

/* ---- values as JSON ------------------------------------------------------- */

static json_t *to_json(const weft_ctype_t *t, const weft_cval_t *v);

static json_t *float_json(double d)
{
    if (d != d)
        return json_string("nan");
    if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
        return json_string(d > 0 ? "inf" : "-inf");
    return json_real(d);
}

static json_t *char_json(uint32_t c)
{
    char b[4];
    size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (n == 1)
        b[0] = (char)c;
    else {
        static const uint8_t lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};
        for (size_t i = n - 1; i > 0; i--, c >>= 6)
            b[i] = (char)(0x80 | (c & 0x3f));
        b[0] = (char)(lead[n] | c);
    }
    return json_stringn(b, n);
}

static json_t *to_json(const weft_ctype_t *t, const weft_cval_t *v)
{
    json_t *o;
    switch (weft_ctype_kind(t)) {
    case WEFT_CT_BOOL: return json_boolean(v->of.u != 0);
    case WEFT_CT_S8: case WEFT_CT_S16: case WEFT_CT_S32: case WEFT_CT_S64:
        return json_integer((json_int_t)v->of.s);
    case WEFT_CT_U8: case WEFT_CT_U16: case WEFT_CT_U32: case WEFT_CT_U64:
    case WEFT_CT_OWN: case WEFT_CT_BORROW:
        return v->of.u > (uint64_t)INT64_MAX ? json_real((double)v->of.u)
                                              : json_integer((json_int_t)v->of.u);
    case WEFT_CT_F32: {
        float f;
        memcpy(&f, &v->of.f32_bits, 4);
        return float_json(f);
    }
    case WEFT_CT_F64: {
        double d;
        memcpy(&d, &v->of.f64_bits, 8);
        return float_json(d);
    }
    case WEFT_CT_CHAR: return char_json((uint32_t)v->of.u);
    case WEFT_CT_STRING: return json_stringn(v->str ? v->str : "", v->len);
    case WEFT_CT_LIST:
        o = json_array();
        if (weft_ctype_kind(weft_ctype_type(t, 0)) == WEFT_CT_U8) { /* held as bytes */
            for (size_t i = 0; i < v->len; i++)
                json_array_append_new(o, json_integer((uint8_t)v->str[i]));
            return o;
        }
        for (size_t i = 0; i < v->n; i++)
            json_array_append_new(o, to_json(weft_ctype_type(t, 0), &v->items[i]));
        return o;
    case WEFT_CT_TUPLE:
        o = json_array();
        for (size_t i = 0; i < v->n; i++)
            json_array_append_new(o, to_json(weft_ctype_type(t, i), &v->items[i]));
        return o;
    case WEFT_CT_RECORD:
        o = json_object();
        for (size_t i = 0; i < v->n; i++)
            json_object_set_new(o, weft_ctype_label(t, i), to_json(weft_ctype_type(t, i),
                                                                   &v->items[i]));
        return o;
    case WEFT_CT_FLAGS:
        o = json_array();
        for (size_t i = 0; i < weft_ctype_count(t); i++)
            if (v->of.u >> i & 1)
                json_array_append_new(o, json_string(weft_ctype_label(t, i)));
        return o;
    case WEFT_CT_ENUM: return json_string(weft_ctype_label(t, v->index));
    case WEFT_CT_VARIANT:
        if (!v->n)
            return json_string(weft_ctype_label(t, v->index));
        return json_pack("{s:o}", weft_ctype_label(t, v->index),
                         to_json(weft_ctype_type(t, v->index), &v->items[0]));
    case WEFT_CT_OPTION:
        return v->index ? to_json(weft_ctype_type(t, 0), &v->items[0]) : json_null();
    case WEFT_CT_RESULT:
        return json_pack("{s:o}", v->index ? "err" : "ok",
                         v->n ? to_json(weft_ctype_type(t, v->index), &v->items[0])
                              : json_null());
    default: return json_null();
    }
}

/* One code point of UTF-8 text that is exactly one, or -1. */
static long one_char(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t k = n == 0 ? 0 : p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
             : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (k == 0 || k != n)
        return -1;
    long c = k == 1 ? p[0] : p[0] & (0x7f >> k);
    for (size_t i = 1; i < k; i++)
        c = c << 6 | (p[i] & 0x3f);
    return c;
}

static int bad(char *msg, size_t size, const char *path, const char *want)
{
    snprintf(msg, size, "%s must be %s", path, want);
    return -1;
}

/* A JSON value of type t into *v (zeroed by the caller); -1 with msg
 * saying which value (path) is wrong. */
static int from_json(const weft_ctype_t *t, json_t *j, weft_cval_t *v, const char *path,
                     char *msg, size_t size)
{
    static const struct { weft_ctype_kind_t k; int64_t lo; uint64_t hi; } ints[] = {
        {WEFT_CT_S8, -128, 127}, {WEFT_CT_S16, -32768, 32767},
        {WEFT_CT_S32, INT32_MIN, INT32_MAX}, {WEFT_CT_S64, INT64_MIN, INT64_MAX},
        {WEFT_CT_U8, 0, 255}, {WEFT_CT_U16, 0, 65535}, {WEFT_CT_U32, 0, UINT32_MAX},
        {WEFT_CT_U64, 0, INT64_MAX}};
    weft_ctype_kind_t k = weft_ctype_kind(t);
    char sub[200];
    v->kind = k;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (ints[i].k != k)
            continue;
        json_int_t x = json_integer_value(j);
        if (!json_is_integer(j) || x < ints[i].lo || (x > 0 && (uint64_t)x > ints[i].hi))
            return bad(msg, size, path, "an integer in the type's range");
        v->of.s = x;
        return 0;
    }
    switch (k) {
    case WEFT_CT_BOOL:
        if (!json_is_boolean(j))
            return bad(msg, size, path, "true or false");
        v->of.u = json_is_true(j);
        return 0;
    case WEFT_CT_OWN: case WEFT_CT_BORROW:
        if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > UINT32_MAX)
            return bad(msg, size, path, "a handle (a u32)");
        v->of.u = (uint64_t)json_integer_value(j);
        return 0;
    case WEFT_CT_F32: case WEFT_CT_F64: {
        double d;
        const char *s = json_string_value(j);
        if (json_is_number(j))
            d = json_number_value(j);
        else if (s && (strcmp(s, "nan") == 0 || strcmp(s, "inf") == 0 || strcmp(s, "-inf") == 0))
            d = s[0] == 'n' ? __builtin_nan("") : s[0] == '-' ? -__builtin_inf() : __builtin_inf();
        else
            return bad(msg, size, path, "a number (or \"nan\", \"inf\", \"-inf\")");
        if (k == WEFT_CT_F32) {
            float f = (float)d;
            memcpy(&v->of.f32_bits, &f, 4);
        } else {
            memcpy(&v->of.f64_bits, &d, 8);
        }
        return 0;
    }
    case WEFT_CT_CHAR: {
        long c = json_is_string(j) ? one_char(json_string_value(j), json_string_length(j)) : -1;
        if (c < 0)
            return bad(msg, size, path, "a string of one character");
        v->of.u = (uint64_t)c;
        return 0;
    }
    case WEFT_CT_STRING:
        if (!json_is_string(j))
            return bad(msg, size, path, "a string");
        v->len = json_string_length(j);
        if (!(v->str = malloc(v->len + 1)))
            return bad(msg, size, path, "smaller (out of memory)");
        memcpy(v->str, json_string_value(j), v->len + 1);
        return 0;
    case WEFT_CT_LIST: case WEFT_CT_TUPLE: {
        const weft_ctype_t *et = k == WEFT_CT_LIST ? weft_ctype_type(t, 0) : NULL;
        size_t n = json_array_size(j);
        if (!json_is_array(j) || (k == WEFT_CT_TUPLE && n != weft_ctype_count(t))) {
            snprintf(sub, sizeof sub, "an array%s", k == WEFT_CT_TUPLE ? " of the tuple's size" : "");
            return bad(msg, size, path, sub);
        }
        if (et && weft_ctype_kind(et) == WEFT_CT_U8) { /* list<u8> is held as bytes */
            if (!(v->str = malloc(n + 1)))
                return bad(msg, size, path, "smaller (out of memory)");
            v->len = n;
            for (size_t i = 0; i < n; i++) {
                json_int_t x = json_integer_value(json_array_get(j, i));
                if (!json_is_integer(json_array_get(j, i)) || x < 0 || x > 255) {
                    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
                    return bad(msg, size, sub, "a byte (0 to 255)");
                }
                v->str[i] = (char)x;
            }
            return 0;
        }
        if (n && !(v->items = calloc(n, sizeof *v->items)))
            return bad(msg, size, path, "smaller (out of memory)");
        for (size_t i = 0; i < n; i++, v->n++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (from_json(et ? et : weft_ctype_type(t, i), json_array_get(j, i), &v->items[i], sub,
                          msg, size) != 0)
                return -1;
        }
        return 0;
    }
    case WEFT_CT_RECORD: {
        size_t n = weft_ctype_count(t);
        if (!json_is_object(j) || json_object_size(j) != n)
            return bad(msg, size, path, "an object with exactly the record's fields");
        if (!(v->items = calloc(n, sizeof *v->items)))
            return bad(msg, size, path, "smaller (out of memory)");
        for (size_t i = 0; i < n; i++, v->n++) {
            json_t *f = json_object_get(j, weft_ctype_label(t, i));
            snprintf(sub, sizeof sub, "%s.%s", path, weft_ctype_label(t, i));
            if (!f)
                return bad(msg, size, sub, "given");
            if (from_json(weft_ctype_type(t, i), f, &v->items[i], sub, msg, size) != 0)
                return -1;
        }
        return 0;
    }
    case WEFT_CT_FLAGS: {
        size_t i;
        json_t *f;
        if (!json_is_array(j))
            return bad(msg, size, path, "an array of flag names");
        json_array_foreach(j, i, f) {
            size_t b = 0;
            while (b < weft_ctype_count(t) &&
                   (!json_is_string(f) || strcmp(weft_ctype_label(t, b), json_string_value(f))))
                b++;
            if (b == weft_ctype_count(t))
                return bad(msg, size, path, "an array of the type's flag names");
            v->of.u |= 1ull << b;
        }
        return 0;
    }
    case WEFT_CT_ENUM: case WEFT_CT_VARIANT: {
        /* a case name, or {"case": payload} for a variant case with one */
        const char *name = json_string_value(j);
        json_t *payload = NULL;
        if (k == WEFT_CT_VARIANT && json_is_object(j) && json_object_size(j) == 1) {
            name = json_object_iter_key(json_object_iter(j));
            payload = json_object_iter_value(json_object_iter(j));
        }
        size_t c = 0;
        while (name && c < weft_ctype_count(t) && strcmp(weft_ctype_label(t, c), name) != 0)
            c++;
        if (!name || c == weft_ctype_count(t))
            return bad(msg, size, path, k == WEFT_CT_ENUM ? "one of the enum's names"
                                                          : "a case name or {\"case\": payload}");
        v->index = (uint32_t)c;
        const weft_ctype_t *pt = k == WEFT_CT_VARIANT ? weft_ctype_type(t, c) : NULL;
        if (!pt != !payload)
            return bad(msg, size, path, pt ? "{\"case\": payload} for that case"
                                           : "the bare name of that case (it has no payload)");
        if (!pt)
            return 0;
        if (!(v->items = calloc(1, sizeof *v->items)))
            return bad(msg, size, path, "smaller (out of memory)");
        v->n = 1;
        snprintf(sub, sizeof sub, "%s.%s", path, name);
        return from_json(pt, payload, &v->items[0], sub, msg, size);
    }
    case WEFT_CT_OPTION: case WEFT_CT_RESULT: {
        /* option: null or the value; result: {"ok": v} or {"err": e} */
        json_t *payload = j;
        const weft_ctype_t *pt;
        if (k == WEFT_CT_OPTION) {
            if (json_is_null(j))
                return 0;
            v->index = 1;
            pt = weft_ctype_type(t, 0);
        } else {
            json_t *ok = json_object_get(j, "ok"), *er = json_object_get(j, "err");
            if (!json_is_object(j) || json_object_size(j) != 1 || (!ok && !er))
                return bad(msg, size, path, "{\"ok\": value} or {\"err\": value}");
            v->index = er ? 1 : 0;
            payload = er ? er : ok;
            pt = weft_ctype_type(t, v->index);
            if (!pt) {
                if (!json_is_null(payload))
                    return bad(msg, size, path, "a case without payload: null");
                return 0;
            }
        }
        if (!(v->items = calloc(1, sizeof *v->items)))
            return bad(msg, size, path, "smaller (out of memory)");
        v->n = 1;
        snprintf(sub, sizeof sub, "%s%s", path, k == WEFT_CT_OPTION ? "" : v->index ? ".err" : ".ok");
        return from_json(pt, payload, &v->items[0], sub, msg, size);
    }
    default:
        return bad(msg, size, path, "a value of a type calls cannot pass");
    }
}

/* ---- looking at a component ------------------------------------------------ */

/* The function type of export `name` ("f" or "iface#f") of c, or NULL. */
static const weft_ctype_t *export_func(const weft_component_t *c, const char *name)
{
    const char *hash = strchr(name, '#');
    size_t n = hash ? (size_t)(hash - name) : strlen(name);
    for (size_t i = 0; i < weft_component_export_count(c); i++) {
        weft_cextern_t e;
        if (weft_component_export(c, i, &e) != 0 || e.name_len != n ||
            memcmp(e.name, name, n) != 0)
            continue;
        if (!hash)
            return e.sort == WEFT_CSORT_FUNC ? e.type : NULL;
        if (e.sort != WEFT_CSORT_INSTANCE || !e.type)
            return NULL;
        for (size_t k = 0; k < weft_ctype_extern_count(e.type, 0); k++) {
            weft_cextern_t x;
            if (weft_ctype_extern(e.type, 0, k, &x) == 0 && x.sort == WEFT_CSORT_FUNC &&
                strcmp(x.name, hash + 1) == 0)
                return x.type;
        }
    }
    return NULL;
}

/* The default function: wasi:cli/run@0.2.x's run when exported, else "run". */
static void default_func(const weft_component_t *c, char *out, size_t size)
{
    snprintf(out, size, "run");
    for (size_t i = 0; i < weft_component_export_count(c); i++) {
        weft_cextern_t e;
        if (weft_component_export(c, i, &e) == 0 && e.sort == WEFT_CSORT_INSTANCE &&
            strncmp(e.name, "wasi:cli/run@0.2.", 17) == 0) {
            snprintf(out, size, "%s#run", e.name);
            return;
        }
    }
}

int node_component_check(const weft_component_t *c, const node_manifest_t *mf, char *msg,
                         size_t msg_size)
{
    int rc = WEFT_ENOMEM;
    for (size_t i = 0; i < mf->nimports; i++) {
        size_t g = 0;
        while (g < NGROUPS && strcmp(groups[g], mf->imports[i]) != 0)
            g++;
        if (g == NGROUPS) {
            snprintf(msg, msg_size, "manifest: unknown import group '%s' (funcs, wasi:cli, "
                     "wasi:io, wasi:clocks, wasi:filesystem, wasi:random, wasi:sockets, wasi:http)",
                     mf->imports[i]);
            return WEFT_EARG;
        }
    }
    if (mf->abi && strcmp(mf->abi, "component") != 0) {
        snprintf(msg, msg_size, "manifest: a component's ABI is \"component\", not \"%s\"",
                 mf->abi);
        return WEFT_EARG;
    }
    for (size_t i = 0; i < mf->nviews; i++)
        if (!export_func(c, mf->views[i])) {
            snprintf(msg, msg_size, "manifest: view %zu is not a function the component "
                     "exports: %s", i + 1, mf->views[i]);
            return WEFT_EARG;
        }
    if (mf->stub_missing)
        return 0;
    weft_wasip2_config_t pc = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    weft_wippy_config_t wc = {0};
    weft_wasip2_t *p2 = weft_wasip2_new(&pc);
    weft_wippy_t *w = weft_wippy_new(&wc);
    weft_clinker_t *l = weft_clinker_new();
    if (!p2 || !w || !l || weft_wasip2_define(p2, l) != 0 || weft_wippy_define(w, l) != 0)
        goto done;
    weft_clinker_filter(l, keep_group, (void *)mf);
    rc = 0;
    for (size_t i = 0; rc == 0 && i < weft_component_import_count(c); i++) {
        weft_cextern_t e;
        if (weft_component_import(c, i, &e) != 0)
            continue;
        const char *inst = e.sort == WEFT_CSORT_INSTANCE ? e.name : NULL;
        size_t n = inst && e.type ? weft_ctype_extern_count(e.type, 0) : 1;
        for (size_t k = 0; rc == 0 && k < n; k++) {
            weft_cextern_t x = e;
            if (inst && (weft_ctype_extern(e.type, 0, k, &x) != 0 || x.sort != WEFT_CSORT_FUNC))
                continue;
            if (!inst && e.sort != WEFT_CSORT_FUNC)
                break;
            if (weft_clinker_has(l, inst, x.name))
                continue;
            const char *g = group_of(inst);
            rc = WEFT_EUNLINKABLE;
            snprintf(msg, msg_size, "the component imports %s%s%s, %s (or set \"stub_missing\": "
                     "true in the manifest: it then traps when called)", inst ? inst : "",
                     inst ? "#" : "", x.name,
                     !g || keep_group((void *)mf, inst)
                         ? "which this node does not provide"
                         : "whose group the manifest's \"imports\" do not list");
        }
    }
done:
    weft_clinker_delete(l);
    weft_wippy_delete(w);
    weft_wasip2_delete(p2);
    return rc;
}

/* ---- a call ------------------------------------------------------------------ */

/* What a nested funcs call's callee learns from its caller. */
typedef struct {
    const char *const *chain; /* the calls in progress, the callee's own target last */
    size_t nchain;
} funcs_link_t;

typedef struct {
    node_call_t *c;
    weft_clinker_t *l;
    weft_wasip2_t *p2;
    weft_wippy_t *w;
    weft_cinstance_t *inst;
    int inst_owned; /* made by this call and not given to the pool (else the pool's) */
    const weft_ctype_t *ft;
    weft_cval_t result;
    int has_result;
    int retry; /* a nested call needs the map grown: run the whole call again */
    char msg[512]; /* the adapter's own failure message */
} comp_call_t;

static void add_log(weft_call_result_t *res, const char *prefix, const char *p, size_t len)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s%.*s", prefix, (int)len, p);
    if (n > 0)
        node_result_add_log(res, NODE_LOG_NX, line, (size_t)n < sizeof line ? (size_t)n
                                                                             : sizeof line - 1);
}

/* funcs' call of `ns:entry`: the function `entry` of context `ns`, as a
 * call of the node on this thread (see the top). */
static int funcs_call(void *user, const char *ns, const char *entry, const uint8_t *input,
                      size_t len, int bytes, const char *const *chain, size_t nchain,
                      uint8_t **out, size_t *out_len)
{
    comp_call_t *cc = user;
    node_call_t *c = cc->c;
    weft_node_t *node = c->node;
    char err[600];
    (void)bytes;
    *out = NULL;
    *out_len = 0;
    if (!c->txn) {
        snprintf(err, sizeof err, "unknown target %s:%s (the node has no contexts)", ns, entry);
        *out = (uint8_t *)strdup(err);
        return -1;
    }
    funcs_link_t link = {chain, nchain};
    node_job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_CALL;
    j.req.context = ns;
    j.req.function = entry;
    j.req.input = input;
    j.req.input_len = len;
    j.req.view = c->view;
    j.funcs_link = &link;
    if (!(j.res = node_result_new())) {
        *out = (uint8_t *)strdup("out of memory");
        return -1;
    }
    weft_txn_t *txn = c->txn;
    int rc = c->view ? 0 : weft_txn_begin_nested(c->txn, &txn);
    if (rc != 0) {
        weft_call_result_delete(j.res);
        snprintf(err, sizeof err, "%s:%s: cannot begin its transaction: %s", ns, entry,
                 weft_strerror(rc));
        *out = (uint8_t *)strdup(err);
        return -1;
    }
    /* The slot's store and deadline are the caller's again after it. */
    node_slot_t *s = &node->slots[c->slot];
    pthread_mutex_lock(&node->mu);
    weft_store_t *outer = s->store;
    uint64_t deadline = s->deadline_ns;
    pthread_mutex_unlock(&node->mu);
    void *streams = node_call_streams_save();
    int verdict = node_run_call(node, &j, txn, c->slot);
    node_call_streams_restore(streams);
    node_slot_set(node, c->slot, outer, deadline);
    weft_call_result_t *res = j.res;
    if (verdict == 1 && !c->view && (rc = node_events_append(txn, ns, res)) != 0)
        verdict = weft_db_retryable(rc) ? -1 : 0;
    if (!c->view) {
        if (verdict == 1)
            rc = weft_txn_commit(txn);
        else
            weft_txn_abort(txn);
        if (verdict == 1 && rc != 0)
            verdict = weft_db_retryable(rc) ? -1 : 0;
    }
    /* Its events (and its own nested calls') are published with the
     * caller's once the batch is durable (node_events_publish); out of
     * memory they are only in the context's event log, for readers that
     * resume from it. */
    if (verdict == 1 && !c->view)
        node_result_take_events(c->res, ns, res);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "[%s:%s] ", ns, entry);
    for (size_t i = 0; i < res->nlogs; i++)
        add_log(c->res, prefix, res->logs[i], res->log_lens[i]);
    if (verdict < 0)
        cc->retry = 1;
    rc = res->outcome == WEFT_CALL_OK && verdict >= 0 ? 0 : -1;
    if (rc == 0) {
        *out = res->output; /* handed over */
        *out_len = res->output_len;
        res->output = NULL;
        res->output_len = 0;
    } else {
        snprintf(err, sizeof err, "%s:%s: %s", ns, entry,
                 verdict < 0 ? "the store's map is full (the call runs again)"
                 : res->message ? res->message : "failed");
        *out = (uint8_t *)strdup(err);
    }
    weft_call_result_delete(res);
    return rc;
}

static int comp_bind(node_call_t *c, void **state)
{
    const node_app_t *app = c->app;
    comp_call_t *cc = calloc(1, sizeof *cc);
    *state = cc;
    if (!cc)
        goto oom;
    cc->c = c;
    /* get-arguments: argv[0] is the app's name (or the request's), then
     * the request's arguments (weft run's) */
    const char **argv = calloc(c->req->argc + 1, sizeof *argv);
    if (!argv)
        goto oom;
    argv[0] = c->req->argv0 ? c->req->argv0 : app->name;
    for (size_t i = 0; i < c->req->argc; i++)
        argv[i + 1] = c->req->argv[i];
    weft_wasip2_config_t pc = {.argv = argv, .argc = c->req->argc + 1,
                               .env = (const char *const *)c->node->env, .nenv = c->node->nenv,
                               .stdin_fd = c->fd[0], .stdout_fd = c->fd[1], .stderr_fd = c->fd[2]};
    if (!c->req->stdio) { /* memory files: bounded while the guest writes, as for modules */
        pc.stdout_limit = c->lim->max_output;
        pc.stderr_limit = NODE_MAX_STDERR_WRITE;
    }
    /* wasi:http through the node's outbound HTTP (its allowlist per app),
     * wasi:sockets to the manifest's addresses and listeners */
    pc.http_fetch = node_http_fetch;
    pc.http_user = c;
    pc.net_allow = (const char *const *)app->manifest.net_allow;
    pc.nnet_allow = app->manifest.nnet_allow;
    pc.net_listen = (const char *const *)app->manifest.net_listen;
    pc.nnet_listen = app->manifest.nnet_listen;
    pc.lookup = c->node->name_lookup;
    cc->p2 = weft_wasip2_new(&pc); /* copies the strings */
    free(argv);
    /* the request's directories (weft run --dir); a node's HTTP calls give
     * none, so a deployed component sees no file system */
    for (size_t i = 0; cc->p2 && i < c->req->ndirs; i++) {
        char msg[300];
        int rc = weft_wasip2_preopen(cc->p2, c->req->dirs[i].host_path,
                                     c->req->dirs[i].guest_path, msg, sizeof msg);
        if (rc == WEFT_ENOMEM)
            goto oom;
        if (rc) {
            node_result_fail(c->res, WEFT_CALL_ERROR, "%s", msg);
            return WEFT_EARG;
        }
    }
    /* The chain of funcs calls: the caller's, or this call's own target. */
    const funcs_link_t *link = c->funcs_link;
    char self[WEFT_CONTEXT_MAX + 300], fn[300];
    const char *selfp = self;
    if (c->function)
        snprintf(fn, sizeof fn, "%s", c->function);
    else
        default_func(app->component, fn, sizeof fn);
    snprintf(self, sizeof self, "%s:%s", c->req->context, fn);
    weft_wippy_config_t wc = {funcs_call, cc, (const char *const *)app->manifest.allow,
                              app->manifest.nallow, link ? link->chain : &selfp,
                              link ? link->nchain : 1, app->manifest.max_depth};
    if (!cc->p2 || !(cc->w = weft_wippy_new(&wc)))
        goto oom;
    if (c->kept)
        return 0; /* a kept instance has its imports: comp_invoke binds them to p2 and w */
    if (!(cc->l = weft_clinker_new()) || weft_wasip2_define(cc->p2, cc->l) != 0 ||
        weft_wippy_define(cc->w, cc->l) != 0)
        goto oom;
    weft_clinker_filter(cc->l, keep_group, (void *)&app->manifest);
    /* an opened app (weft run) has no manifest: what is missing traps, as before */
    weft_clinker_stub_missing(cc->l, app->manifest.stub_missing || app->opened);
    return 0;
oom:
    node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
    return WEFT_ENOMEM;
}

/* The request's input as the function's arguments (the top). */
static int input_args(comp_call_t *cc, weft_cval_t **out, size_t *out_n)
{
    const weft_call_req_t *req = cc->c->req;
    size_t np = weft_ctype_count(cc->ft);
    const weft_ctype_t *p0 = np ? weft_ctype_type(cc->ft, 0) : NULL;
    weft_ctype_kind_t k0 = p0 ? weft_ctype_kind(p0) : 0;
    *out = NULL;
    *out_n = 0;
    if (np == 0)
        return 0;
    weft_cval_t *v = calloc(np, sizeof *v);
    if (!v)
        return WEFT_ENOMEM;
    *out = v;
    if (np == 1 && (k0 == WEFT_CT_STRING ||
                    (k0 == WEFT_CT_LIST && weft_ctype_kind(weft_ctype_type(p0, 0)) == WEFT_CT_U8))) {
        *out_n = 1;
        v->kind = k0;
        v->len = req->input_len;
        if (!(v->str = malloc(req->input_len + 1)))
            return WEFT_ENOMEM;
        if (req->input_len)
            memcpy(v->str, req->input, req->input_len);
        v->str[req->input_len] = '\0';
        /* a string that is not UTF-8 traps in the canonical ABI's lowering */
        return 0;
    }
    json_error_t je;
    json_t *a = json_loadb((const char *)(req->input ? req->input : (const uint8_t *)""),
                           req->input_len, JSON_DECODE_ANY, &je);
    if (!a || !json_is_array(a) || json_array_size(a) != np) {
        snprintf(cc->msg, sizeof cc->msg, "'%s' takes %zu parameter%s: the input must be a JSON "
                 "array of them%s%s", cc->c->function, np, np == 1 ? "" : "s", a ? "" : " (",
                 a ? "" : je.text);
        if (!a)
            strncat(cc->msg, ")", sizeof cc->msg - strlen(cc->msg) - 1);
        json_decref(a);
        return WEFT_EARG;
    }
    for (size_t i = 0; i < np; i++, (*out_n)++) {
        char path[300];
        const char *label = weft_ctype_label(cc->ft, i);
        snprintf(path, sizeof path, "parameter %zu (%s)", i + 1, label ? label : "?");
        if (from_json(weft_ctype_type(cc->ft, i), json_array_get(a, i), &v[i], path, cc->msg,
                      sizeof cc->msg) != 0) {
            (*out_n)++;
            json_decref(a);
            return WEFT_EARG;
        }
    }
    json_decref(a);
    return 0;
}

/* Kept instances (abi.h, drop_kept). Between calls a kept instance's
 * imports point to these instead of a freed WASI context or funcs binding
 * (bound again to the next call's, or not kept when one of its imports has
 * another user: a binding this file does not know of). */
static const char p2_between_calls, wippy_between_calls;

/* comp_invoke with the thread's kept instance (c->kept, the pool's): bound
 * to this call's p2 and w, then reset to what instantiation left. A
 * failure drops it (c->kept NULL). */
static int reuse_kept(comp_call_t *cc)
{
    weft_cinstance_t *inst = cc->c->kept;
    cc->inst = inst;
    size_t n = weft_cinstance_rebind_host(inst, &p2_between_calls, cc->p2) +
               weft_cinstance_rebind_host(inst, &wippy_between_calls, cc->w);
    int rc = n == weft_cinstance_host_count(inst) ? weft_cinstance_reset(inst) : WEFT_EARG;
    if (rc != 0) {
        snprintf(cc->msg, sizeof cc->msg, "%s", n == weft_cinstance_host_count(inst)
                 ? weft_cinstance_errmsg(inst) : "a kept instance's imports were not all unbound");
        cc->c->kept = NULL;
        cc->inst = NULL;
    }
    return rc;
}

/* At the call's end: offers the instance to the pool (c->kept), its
 * imports bound to nothing of this call, when all are and it can be
 * reset; else c->kept is NULL (a kept one is dropped, a new one freed with
 * the state). */
static void offer_kept(comp_call_t *cc)
{
    weft_cinstance_t *inst = cc->inst;
    node_call_t *c = cc->c;
    if (!inst)
        return; /* none made, or a kept one dropped: c->kept says */
    size_t n = weft_cinstance_rebind_host(inst, cc->p2, (void *)&p2_between_calls) +
               weft_cinstance_rebind_host(inst, cc->w, (void *)&wippy_between_calls);
    if (n == weft_cinstance_host_count(inst) && weft_cinstance_can_reset(inst) == 0) {
        c->kept = inst;
        cc->inst_owned = 0; /* the pool's now */
    } else {
        c->kept = NULL;
    }
}

static int comp_invoke(node_call_t *c, void *state, weft_instance_t *unused)
{
    comp_call_t *cc = state;
    const node_app_t *app = c->app;
    char fn[300];
    (void)unused;
    if (c->function)
        snprintf(fn, sizeof fn, "%s", c->function);
    else
        default_func(app->component, fn, sizeof fn);
    c->function = NULL; /* c->function is the request's; the message names fn */
    int rc = c->kept ? reuse_kept(cc) : weft_cinstance_new(app->component, c->store, cc->l,
                                                           &cc->inst, cc->msg, sizeof cc->msg);
    cc->inst_owned = !c->kept && cc->inst;
    if (rc != 0) {
        c->what = "cannot instantiate";
        if (rc != WEFT_ETRAP) {
            char m[sizeof cc->msg];
            snprintf(m, sizeof m, "%s", cc->msg);
            snprintf(cc->msg, sizeof cc->msg, "cannot instantiate: %.480s", m);
        }
        return rc;
    }
    if (!(cc->ft = weft_cinstance_func_type(cc->inst, fn))) {
        snprintf(cc->msg, sizeof cc->msg, "app %.200s has no exported function '%.250s'",
                 app->name, fn);
        return WEFT_ENOTFOUND;
    }
    c->function = fn; /* for input_args' messages; reset below */
    weft_cval_t *args;
    size_t nargs;
    rc = input_args(cc, &args, &nargs);
    c->function = NULL;
    if (rc == 0) {
        rc = weft_cinstance_call(cc->inst, fn, args, nargs, &cc->result, &cc->has_result);
        if (rc != 0 && rc != WEFT_ETRAP)
            snprintf(cc->msg, sizeof cc->msg, "%s: %s", fn, weft_cinstance_errmsg(cc->inst));
    } else if (rc == WEFT_ENOMEM) {
        snprintf(cc->msg, sizeof cc->msg, "out of memory");
    }
    for (size_t i = 0; i < nargs; i++)
        weft_cval_free(&args[i]);
    free(args);
    if (rc == 0 && cc->has_result)
        weft_ctype_func_result(cc->ft, &cc->ft); /* from here on, the result's type */
    else
        cc->ft = NULL;
    return rc;
}

/* The value as the call's output: a string or list<u8> as it is, the rest
 * as JSON. */
static void set_output(weft_call_result_t *res, const weft_ctype_t *t, const weft_cval_t *v)
{
    weft_ctype_kind_t k = weft_ctype_kind(t);
    free(res->output);
    res->output = NULL;
    res->output_len = 0;
    if (k == WEFT_CT_STRING ||
        (k == WEFT_CT_LIST && weft_ctype_kind(weft_ctype_type(t, 0)) == WEFT_CT_U8)) {
        if ((res->output = malloc(v->len + 1))) {
            if (v->len)
                memcpy(res->output, v->str, v->len);
            res->output_len = v->len;
        }
        return;
    }
    json_t *j = to_json(t, v);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(j);
    if (text) {
        res->output = (uint8_t *)text;
        res->output_len = strlen(text);
    }
}

static int comp_finish(node_call_t *c, void *state, int verdict)
{
    comp_call_t *cc = state;
    weft_call_result_t *res = c->res;
    if (!cc)
        return verdict;
    /* Only the streams it reached are read back and emptied (call.c). */
    c->stdio_used = cc->p2 ? weft_wasip2_stdio_used(cc->p2) : 7u;
    offer_kept(cc);
    if (cc->retry)
        return -1;
    if (res->outcome == WEFT_CALL_TRAP && cc->inst) {
        /* the instance's message says more than the store's (a canonical
         * ABI trap leaves none there) */
        const char *m = weft_cinstance_errmsg(cc->inst);
        free(res->trap_message);
        res->trap_message = strdup(m);
        node_result_fail(res, WEFT_CALL_TRAP, "%s: %s", weft_trap_name(res->trap), m);
    } else if (res->outcome == WEFT_CALL_TRAP && cc->msg[0]) {
        node_result_fail(res, WEFT_CALL_TRAP, "%s", cc->msg); /* a start function's trap */
    } else if (res->outcome == WEFT_CALL_ERROR && cc->msg[0]) {
        node_result_fail(res, WEFT_CALL_ERROR, "%s", cc->msg);
    }
    if (verdict != 1 || !cc->ft)
        return verdict;
    const weft_ctype_t *t = cc->ft;
    const weft_cval_t *v = &cc->result;
    if (weft_ctype_kind(t) == WEFT_CT_RESULT) {
        const weft_ctype_t *pt = weft_ctype_type(t, v->index);
        if (v->index == 1) { /* err: the call fails, as wasi:cli/run's err does */
            res->exit_status = 1;
            if (pt && v->n)
                set_output(res, pt, &v->items[0]);
            node_result_fail(res, WEFT_CALL_EXIT, "exit status 1: the function returned err%s%.*s",
                             res->output_len ? ": " : "",
                             (int)(res->output_len > 400 ? 400 : res->output_len),
                             res->output ? (const char *)res->output : "");
            return 0;
        }
        if (pt && v->n)
            set_output(res, pt, &v->items[0]);
        return verdict; /* ok without payload: stdout is the output */
    }
    set_output(res, t, v);
    return verdict;
}

static void comp_free(void *state)
{
    comp_call_t *cc = state;
    if (!cc)
        return;
    weft_cval_free(&cc->result);
    if (cc->inst_owned)
        weft_cinstance_delete(cc->inst);
    weft_clinker_delete(cc->l);
    weft_wippy_delete(cc->w);
    weft_wasip2_delete(cc->p2);
    free(cc);
}

static void comp_drop_kept(void *kept) { weft_cinstance_delete(kept); }

const node_abi_t node_abi_component = {"component", comp_bind, comp_invoke, comp_finish,
                                       comp_free, 1, comp_drop_kept, 1};

/* ---- description ------------------------------------------------------------ */

static json_t *ctype_json(const weft_ctype_t *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return json_null();
    weft_ctype_print(t, f);
    json_t *s = fclose(f) == 0 ? json_stringn(text, len) : NULL;
    free(text);
    return s ? s : json_null();
}

/* {"name", "sort", "type"}, and an instance's "exports" the same way (as
 * weft inspect --json shows them). */
static json_t *cextern_json(const weft_cextern_t *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_stringn(e->name, e->name_len));
    json_object_set_new(o, "sort", json_string(weft_csort_name(e->sort)));
    if (e->type && e->sort == WEFT_CSORT_INSTANCE) {
        json_t *a = json_array();
        for (size_t i = 0, n = weft_ctype_extern_count(e->type, 0); i < n; i++) {
            weft_cextern_t x;
            if (weft_ctype_extern(e->type, 0, i, &x) == 0)
                json_array_append_new(a, cextern_json(&x));
        }
        json_object_set_new(o, "exports", a);
    } else if (e->type) {
        json_object_set_new(o, "type", ctype_json(e->type));
    }
    return o;
}

char *weft_node_component_describe(const struct weft_component *c)
{
    json_t *im = json_array(), *ex = json_array();
    for (size_t i = 0; i < weft_component_import_count(c); i++) {
        weft_cextern_t e;
        if (weft_component_import(c, i, &e) == 0)
            json_array_append_new(im, cextern_json(&e));
    }
    for (size_t i = 0; i < weft_component_export_count(c); i++) {
        weft_cextern_t e;
        if (weft_component_export(c, i, &e) == 0)
            json_array_append_new(ex, cextern_json(&e));
    }
    json_t *o = json_pack("{s:o,s:o}", "imports", im, "exports", ex);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}
