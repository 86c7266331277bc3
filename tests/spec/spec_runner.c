/*
 * spec_runner.c — runs the official WebAssembly spec tests (wast2json output)
 * against weft through its public API only.
 *
 * Each FILE.json gets one store and one linker holding the `spectest` host
 * module plus every `register`ed instance. Modules, actions and assertions
 * each count as one check, as wabt's spectest-interp counts them (a
 * `register` counts only when it fails); text-format modules are skipped.
 * Failures print one detail line, each file a summary line, and the last
 * line is the run's total. The JSON is untrusted: every field is checked.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, fileno */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <weft/weft.h>

#define MSG_SIZE 1024

/* A module name ("$M") bound by a `module` command; inst is NULL when that
 * module failed to load or instantiate. */
typedef struct {
    char *name;
    weft_instance_t *inst;
} binding_t;

typedef struct {
    const char *path;       /* the .json file */
    const char *source;     /* the .wast file it came from, for messages */
    char *dir;              /* folder of the .json file: module paths are relative to it */
    weft_engine_t *engine;
    weft_store_t *store;
    weft_linker_t *linker;
    weft_instance_t *current; /* instance of the last `module` command, NULL if it failed */
    binding_t *names;
    size_t nnames;
    const char *cmd_type;   /* command being run, for messages */
    long line;
    unsigned passed, failed, skipped;
} runner_t;

typedef enum { ACT_OK, ACT_TRAP, ACT_ERROR } act_status_t;

static int verbose;
/* --wasm2: load every module as WebAssembly 2.0 (the Wasm 3.0 features weft
 * supports turned off), for the core 2.0 suite whose assertions some of
 * them overturn. */
static weft_load_options_t load_opts;
/* --tier jit: the functions compiled and defined of every module loaded */
static uint64_t jit_compiled, jit_total;

/* ---- messages -------------------------------------------------------- */

static void pass(runner_t *r)
{
    r->passed++;
    if (verbose)
        printf("%s:%ld: %s: ok\n", r->source, r->line, r->cmd_type);
}

static void fail(runner_t *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void fail(runner_t *r, const char *fmt, ...)
{
    va_list ap;

    r->failed++;
    printf("%s:%ld: %s: ", r->source, r->line, r->cmd_type);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* Appends printf-style text to the NUL-terminated buf; truncates silently. */
static void append(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* Appends a name that may hold NULs or control bytes, escaping them. */
static void append_name(char *buf, size_t size, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            append(buf, size, "\\x%02x", c);
        else
            append(buf, size, "%c", c);
    }
}

static void append_val(char *buf, size_t size, const weft_val_t *v)
{
    float f;
    double d;

    switch (v->type) {
    case WEFT_I32:
        append(buf, size, "i32:%" PRIu32, (uint32_t)v->of.i32);
        break;
    case WEFT_I64:
        append(buf, size, "i64:%" PRIu64, (uint64_t)v->of.i64);
        break;
    case WEFT_F32:
        memcpy(&f, &v->of.f32_bits, sizeof f);
        append(buf, size, "f32:0x%08" PRIx32 " (%.9g)", v->of.f32_bits, (double)f);
        break;
    case WEFT_F64:
        memcpy(&d, &v->of.f64_bits, sizeof d);
        append(buf, size, "f64:0x%016" PRIx64 " (%.17g)", v->of.f64_bits, d);
        break;
    case WEFT_FUNCREF:
        if (v->of.func)
            append(buf, size, "funcref:%p", (void *)v->of.func);
        else
            append(buf, size, "funcref:null");
        break;
    case WEFT_EXTERNREF:
        if (v->of.ref)
            append(buf, size, "externref:%" PRIuPTR, (uintptr_t)v->of.ref - 1);
        else
            append(buf, size, "externref:null");
        break;
    case WEFT_V128:
        append(buf, size, "v128:0x");
        for (int i = 15; i >= 0; i--)
            append(buf, size, "%02x", v->of.v128[i]);
        break;
    default:
        append(buf, size, "%s:?", weft_valtype_name(v->type));
        break;
    }
}

static void append_vals(char *buf, size_t size, const weft_val_t *vals, size_t n)
{
    append(buf, size, "(");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            append(buf, size, ", ");
        append_val(buf, size, &vals[i]);
    }
    append(buf, size, ")");
}

/* ---- JSON access ----------------------------------------------------- */

/* The string member `key` of obj, or NULL if obj is not an object or the
 * member is missing or not a string. */
static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Like jstr, with the length (names may contain NUL). */
static const char *jstr_n(const json_t *obj, const char *key, size_t *out_len)
{
    const json_t *s = json_object_get(obj, key);

    if (!json_is_string(s))
        return NULL;
    *out_len = json_string_length(s);
    return json_string_value(s);
}

/* Parses an unsigned decimal string no larger than max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static const struct {
    const char *name;
    weft_valtype_t type;
} valtypes[] = {
    {"i32", WEFT_I32},         {"i64", WEFT_I64},
    {"f32", WEFT_F32},         {"f64", WEFT_F64},
    {"v128", WEFT_V128},       {"funcref", WEFT_FUNCREF},
    {"externref", WEFT_EXTERNREF},
};

static int parse_valtype(const char *name, weft_valtype_t *out)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof valtypes / sizeof valtypes[0]; i++) {
        if (strcmp(valtypes[i].name, name) == 0) {
            *out = valtypes[i].type;
            return 0;
        }
    }
    return -1;
}

/* The lane shape of a v128 JSON value ("lane_type": "i8" ... "f64"): its
 * lane width in bytes, 0 if unknown. */
static unsigned lane_bytes(const json_t *j)
{
    const char *t = jstr(j, "lane_type");
    static const char *const names[] = {"i8", "i16", "i32", "i64", "f32", "f64"};
    static const unsigned bytes[] = {1, 2, 4, 8, 4, 8};
    for (size_t i = 0; t && i < 6; i++)
        if (strcmp(t, names[i]) == 0) return bytes[i];
    return 0;
}

/* A v128 as wast2json writes it: {"type": "v128", "lane_type": L,
 * "value": [lane 0, lane 1, ...]}, each lane a decimal string of its bits.
 * A lane that is a NaN pattern is written as zero and flagged in nan_lanes
 * (when not NULL), for val_matches. */
static int parse_v128(const json_t *j, weft_val_t *out, unsigned *nan_lanes, char *err, size_t err_size)
{
    const json_t *lanes = json_object_get(j, "value");
    unsigned w = lane_bytes(j);
    if (!w || !json_is_array(lanes) || json_array_size(lanes) != 16 / w) {
        snprintf(err, err_size, "bad v128 value");
        return -1;
    }
    out->type = WEFT_V128;
    for (unsigned i = 0; i < 16 / w; i++) {
        const char *lane = json_string_value(json_array_get(lanes, i));
        uint64_t u = 0;
        if (lane && strncmp(lane, "nan:", 4) == 0 && nan_lanes && (w == 4 || w == 8)) {
            *nan_lanes |= (strcmp(lane, "nan:canonical") == 0 ? 1u : 2u) << (2 * i);
        } else if (parse_uint(lane, w == 8 ? UINT64_MAX : (1ull << (8 * w)) - 1, &u) != 0) {
            snprintf(err, err_size, "bad v128 lane '%s'", lane ? lane : "(none)");
            return -1;
        }
        memcpy(out->of.v128 + i * w, &u, w); /* little-endian, as wasm */
    }
    return 0;
}

/* Converts a JSON value {"type": T, "value": V} to a weft value. Reference
 * values: "null" is the null reference, externref N is the host pointer
 * N+1 (so that 0 is not null); a non-null funcref cannot be written in
 * JSON. On error writes a reason into err and returns -1. */
static int parse_val(const json_t *j, weft_val_t *out, char *err, size_t err_size)
{
    const char *type = jstr(j, "type");
    const char *value = jstr(j, "value");
    uint64_t u;

    memset(out, 0, sizeof *out);
    if (parse_valtype(type, &out->type) != 0) {
        snprintf(err, err_size, "unknown value type '%s'", type ? type : "(none)");
        return -1;
    }
    if (out->type == WEFT_V128)
        return parse_v128(j, out, NULL, err, err_size);
    if (!value) {
        snprintf(err, err_size, "%s value without a \"value\"", type);
        return -1;
    }
    switch (out->type) {
    case WEFT_I32:
    case WEFT_F32:
        if (parse_uint(value, UINT32_MAX, &u) != 0)
            break;
        if (out->type == WEFT_I32)
            out->of.i32 = (int32_t)(uint32_t)u;
        else
            out->of.f32_bits = (uint32_t)u;
        return 0;
    case WEFT_I64:
    case WEFT_F64:
        if (parse_uint(value, UINT64_MAX, &u) != 0)
            break;
        if (out->type == WEFT_I64)
            out->of.i64 = (int64_t)u;
        else
            out->of.f64_bits = u;
        return 0;
    case WEFT_EXTERNREF:
        if (strcmp(value, "null") == 0)
            return 0;
        if (parse_uint(value, UINTPTR_MAX - 1, &u) != 0)
            break;
        out->of.ref = (void *)(uintptr_t)(u + 1);
        return 0;
    case WEFT_FUNCREF:
        if (strcmp(value, "null") == 0)
            return 0;
        snprintf(err, err_size, "a non-null funcref argument cannot be made");
        return -1;
    default:
        snprintf(err, err_size, "%s values are not supported", type);
        return -1;
    }
    snprintf(err, err_size, "bad %s value '%s'", type, value);
    return -1;
}

/* Appends an expected value as the JSON states it. */
static void append_expected(char *buf, size_t size, const json_t *e)
{
    const char *type = jstr(e, "type");
    const char *value = jstr(e, "value");
    weft_val_t v;
    char err[64];

    if (type && strcmp(type, "v128") == 0) {
        unsigned nans = 0;
        memset(&v, 0, sizeof v);
        if (parse_v128(e, &v, &nans, err, sizeof err) == 0)
            append_val(buf, size, &v);
        if (nans)
            append(buf, size, " with NaN lanes %#x", nans);
    } else if (value && strncmp(value, "nan:", 4) == 0)
        append(buf, size, "%s:%s", type ? type : "?", value);
    else if (type && strcmp(type, "funcref") == 0 && value && strcmp(value, "null") != 0)
        append(buf, size, "funcref:non-null");
    else if (parse_val(e, &v, err, sizeof err) == 0)
        append_val(buf, size, &v);
    else
        append(buf, size, "%s:%s", type ? type : "?", value ? value : "?");
}

static void append_expected_list(char *buf, size_t size, const json_t *list)
{
    size_t i;
    const json_t *e;

    append(buf, size, "(");
    json_array_foreach(list, i, e) {
        if (i > 0)
            append(buf, size, ", ");
        append_expected(buf, size, e);
    }
    append(buf, size, ")");
}

/* 1 if got matches the expected JSON value, which may be a NaN pattern
 * ("nan:canonical": quiet bit only, either sign; "nan:arithmetic": quiet
 * bit set) or, for funcref, just a null / non-null check. */
static int val_matches(const json_t *e, const weft_val_t *got)
{
    const char *value = jstr(e, "value");
    weft_val_t want;
    char err[64];

    if (parse_valtype(jstr(e, "type"), &want.type) == 0 && want.type == WEFT_V128 &&
        got->type == WEFT_V128) {
        unsigned nans = 0, w = lane_bytes(e);
        memset(&want, 0, sizeof want);
        if (parse_v128(e, &want, &nans, err, sizeof err) != 0)
            return 0;
        for (unsigned i = 0; i < 16 / w; i++) {
            uint64_t g = 0, mask = 0, quiet = w == 4 ? 0x7fc00000u : 0x7ff8000000000000u;
            unsigned nan = (nans >> (2 * i)) & 3;
            memcpy(&g, got->of.v128 + i * w, w);
            if (nan)
                mask = nan == 1 ? quiet | (w == 4 ? 0x003fffffu : 0x0007ffffffffffffu) : quiet;
            if (nan == 1 ? (g & (w == 4 ? 0x7fffffffu : 0x7fffffffffffffffu)) != quiet
                : nan == 2 ? (g & mask) != quiet
                : memcmp(got->of.v128 + i * w, want.of.v128 + i * w, w) != 0)
                return 0;
        }
        return 1;
    }
    if (!value || parse_valtype(jstr(e, "type"), &want.type) != 0 || want.type != got->type)
        return 0;
    if (want.type == WEFT_F32 && strcmp(value, "nan:canonical") == 0)
        return (got->of.f32_bits & 0x7fffffffu) == 0x7fc00000u;
    if (want.type == WEFT_F32 && strcmp(value, "nan:arithmetic") == 0)
        return (got->of.f32_bits & 0x7fc00000u) == 0x7fc00000u;
    if (want.type == WEFT_F64 && strcmp(value, "nan:canonical") == 0)
        return (got->of.f64_bits & 0x7fffffffffffffffu) == 0x7ff8000000000000u;
    if (want.type == WEFT_F64 && strcmp(value, "nan:arithmetic") == 0)
        return (got->of.f64_bits & 0x7ff8000000000000u) == 0x7ff8000000000000u;
    if (want.type == WEFT_FUNCREF)
        return (strcmp(value, "null") == 0) == (got->of.func == NULL);
    if (parse_val(e, &want, err, sizeof err) != 0)
        return 0;
    switch (want.type) {
    case WEFT_I32:
        return want.of.i32 == got->of.i32;
    case WEFT_I64:
        return want.of.i64 == got->of.i64;
    case WEFT_F32:
        return want.of.f32_bits == got->of.f32_bits;
    case WEFT_F64:
        return want.of.f64_bits == got->of.f64_bits;
    case WEFT_EXTERNREF:
        return want.of.ref == got->of.ref;
    default:
        return 0;
    }
}

/* ---- instances and modules ------------------------------------------- */

static int bind_name(runner_t *r, const char *name, weft_instance_t *inst)
{
    binding_t *grown;
    char *copy;

    for (size_t i = 0; i < r->nnames; i++) {
        if (strcmp(r->names[i].name, name) == 0) {
            r->names[i].inst = inst;
            return 0;
        }
    }
    copy = strdup(name);
    grown = realloc(r->names, (r->nnames + 1) * sizeof *grown);
    if (!copy || !grown) {
        free(copy);
        if (grown)
            r->names = grown;
        return -1;
    }
    r->names = grown;
    r->names[r->nnames].name = copy;
    r->names[r->nnames].inst = inst;
    r->nnames++;
    return 0;
}

/* The instance a command refers to: named, or else the current one. On
 * failure writes why into err and returns NULL. */
static weft_instance_t *resolve(runner_t *r, const char *name, char *err, size_t err_size)
{
    if (!name) {
        if (!r->current)
            snprintf(err, err_size, "no module instantiated (the last module command failed)");
        return r->current;
    }
    for (size_t i = 0; i < r->nnames; i++) {
        if (strcmp(r->names[i].name, name) == 0) {
            if (!r->names[i].inst)
                snprintf(err, err_size, "module %s failed to load", name);
            return r->names[i].inst;
        }
    }
    snprintf(err, err_size, "no module named %s", name);
    return NULL;
}

/* Reads and compiles the module file named by cmd's "filename". Returns 0,
 * a weft_module_new error, or WEFT_EIO / WEFT_EARG with the reason in msg. */
static int load_module(runner_t *r, const json_t *cmd, weft_module_t **out, char *msg,
                       size_t msg_size)
{
    const char *filename = jstr(cmd, "filename");
    char *path = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct stat st;
    FILE *f = NULL;
    int rc = WEFT_EIO;

    *out = NULL;
    msg[0] = '\0';
    if (!filename) {
        snprintf(msg, msg_size, "command has no \"filename\"");
        return WEFT_EARG;
    }
    len = strlen(r->dir) + strlen(filename) + 2;
    path = malloc(len);
    if (!path) {
        snprintf(msg, msg_size, "out of memory");
        return WEFT_ENOMEM;
    }
    snprintf(path, len, "%s/%s", r->dir, filename);
    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(msg, msg_size, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(msg, msg_size, "cannot read %s: not a regular file", path);
        goto done;
    }
    len = (size_t)st.st_size;
    bytes = malloc(len + 1);
    if (!bytes || fread(bytes, 1, len, f) != len) {
        snprintf(msg, msg_size, "cannot read %s", path);
        goto done;
    }
    rc = weft_module_new_opts(r->engine, bytes, len, &load_opts, out, msg, msg_size);
    if (rc == 0) {
        uint32_t total;
        jit_compiled += weft_module_compiled_functions(*out, &total);
        jit_total += total;
    }
done:
    if (f)
        fclose(f);
    free(bytes);
    free(path);
    return rc;
}

/* Why the last instantiation or call in the store failed. */
static void append_failure(char *buf, size_t size, runner_t *r, int rc)
{
    const char *detail;

    if (rc == WEFT_ETRAP) {
        detail = weft_store_trap_message(r->store);
        append(buf, size, "trap %s: %s", weft_trap_name(weft_store_trap(r->store)),
               detail ? detail : "");
    } else {
        detail = weft_store_errmsg(r->store);
        append(buf, size, "%s: %s", weft_errname(rc), detail ? detail : "");
    }
}

/* 1 if the store's last trap matches the expected text: its message or its
 * code's spec wording starts with the text (any trap matches no text). */
static int trap_matches(runner_t *r, const char *text)
{
    const char *msg = weft_store_trap_message(r->store);
    size_t n;

    if (!text)
        return 1;
    n = strlen(text);
    if (msg && strncmp(msg, text, n) == 0)
        return 1;
    return strncmp(weft_trap_string(weft_store_trap(r->store)), text, n) == 0;
}

/* ---- actions --------------------------------------------------------- */

/* "$M.field(args)" for messages. */
static void describe_action(char *buf, size_t size, const json_t *action)
{
    const char *module = jstr(action, "module");
    const char *field;
    size_t len = 0;
    const json_t *args = json_object_get(action, "args");

    buf[0] = '\0';
    if (module)
        append(buf, size, "%s.", module);
    field = jstr_n(action, "field", &len);
    if (field)
        append_name(buf, size, field, len);
    else
        append(buf, size, "?");
    if (json_is_array(args))
        append_expected_list(buf, size, args);
}

/* Runs an invoke or get action. On ACT_OK the results are in *out_vals
 * (caller frees) and *out_n; on ACT_TRAP the trap is in the store; on
 * ACT_ERROR err says why nothing ran. */
static act_status_t run_action(runner_t *r, const json_t *action, weft_val_t **out_vals,
                               size_t *out_n, char *err, size_t err_size)
{
    const char *type = jstr(action, "type");
    const char *field;
    size_t field_len = 0;
    const json_t *args, *arg;
    weft_instance_t *inst;
    weft_extern_t ext;
    const weft_functype_t *ft;
    weft_val_t *argv = NULL, *results = NULL;
    size_t nargs, nresults, i;
    act_status_t status = ACT_ERROR;
    int rc;

    *out_vals = NULL;
    *out_n = 0;
    err[0] = '\0';
    field = jstr_n(action, "field", &field_len);
    if (!type || !field) {
        snprintf(err, err_size, "action without \"type\" or \"field\"");
        return ACT_ERROR;
    }
    inst = resolve(r, jstr(action, "module"), err, err_size);
    if (!inst)
        return ACT_ERROR;
    if (weft_instance_export_n(inst, field, field_len, &ext) != 0) {
        snprintf(err, err_size, "no export named ");
        append_name(err, err_size, field, field_len);
        return ACT_ERROR;
    }
    if (strcmp(type, "get") == 0) {
        if (ext.kind != WEFT_EXTERN_GLOBAL) {
            snprintf(err, err_size, "get of a %s export", weft_externkind_name(ext.kind));
            return ACT_ERROR;
        }
        results = calloc(1, sizeof *results);
        if (!results) {
            snprintf(err, err_size, "out of memory");
            return ACT_ERROR;
        }
        weft_global_get(ext.of.global, results);
        *out_vals = results;
        *out_n = 1;
        return ACT_OK;
    }
    if (strcmp(type, "invoke") != 0) {
        snprintf(err, err_size, "unknown action type '%s'", type);
        return ACT_ERROR;
    }
    if (ext.kind != WEFT_EXTERN_FUNC) {
        snprintf(err, err_size, "invoke of a %s export", weft_externkind_name(ext.kind));
        return ACT_ERROR;
    }
    ft = weft_func_type(ext.of.func);
    args = json_object_get(action, "args");
    nargs = json_is_array(args) ? json_array_size(args) : 0;
    nresults = weft_functype_nresults(ft);
    if (nargs != weft_functype_nparams(ft)) {
        snprintf(err, err_size, "function takes %zu arguments, the test gives %zu",
                 weft_functype_nparams(ft), nargs);
        return ACT_ERROR;
    }
    argv = calloc(nargs + 1, sizeof *argv);
    results = calloc(nresults + 1, sizeof *results);
    if (!argv || !results) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    json_array_foreach(args, i, arg) {
        if (parse_val(arg, &argv[i], err, err_size) != 0)
            goto done;
    }
    for (i = 0; i < nresults; i++)
        results[i].type = weft_functype_result(ft, i);
    rc = weft_func_call(r->store, ext.of.func, argv, nargs, results, nresults);
    if (rc == 0) {
        *out_vals = results;
        *out_n = nresults;
        results = NULL;
        status = ACT_OK;
    } else if (rc == WEFT_ETRAP) {
        status = ACT_TRAP;
    } else {
        append_failure(err, err_size, r, rc);
    }
done:
    free(argv);
    free(results);
    return status;
}

/* ---- commands -------------------------------------------------------- */

static void cmd_module(runner_t *r, const json_t *cmd)
{
    const char *name = jstr(cmd, "name");
    weft_module_t *module;
    weft_instance_t *inst = NULL;
    char msg[MSG_SIZE];
    int rc;

    rc = load_module(r, cmd, &module, msg, sizeof msg);
    if (rc != 0) {
        fail(r, "load failed: %s: %s", weft_errname(rc), msg);
    } else {
        rc = weft_linker_instantiate(r->linker, module, &inst);
        weft_module_delete(module);
        if (rc != 0) {
            inst = NULL;
            msg[0] = '\0';
            append_failure(msg, sizeof msg, r, rc);
            fail(r, "instantiation failed: %s", msg);
        } else {
            pass(r);
        }
    }
    r->current = inst;
    if (name && bind_name(r, name, inst) != 0)
        fail(r, "out of memory");
}

static void cmd_register(runner_t *r, const json_t *cmd)
{
    const char *as = jstr(cmd, "as");
    weft_instance_t *inst;
    char err[MSG_SIZE];
    int rc;

    if (!as) {
        fail(r, "register without \"as\"");
        return;
    }
    inst = resolve(r, jstr(cmd, "name"), err, sizeof err);
    if (!inst) {
        fail(r, "cannot register as \"%s\": %s", as, err);
        return;
    }
    rc = weft_linker_define_instance(r->linker, as, inst);
    if (rc != 0)
        fail(r, "register as \"%s\": %s", as, weft_errname(rc));
    else if (verbose)
        printf("%s:%ld: registered as \"%s\"\n", r->source, r->line, as);
}

/* Runs the command's action; on ACT_OK returns the results, else reports
 * the failure (a trap fails unless trap_ok) and returns ACT_TRAP/ACT_ERROR. */
static act_status_t run_cmd_action(runner_t *r, const json_t *cmd, const char *what,
                                   weft_val_t **out_vals, size_t *out_n, int trap_ok)
{
    char err[MSG_SIZE];
    const json_t *action = json_object_get(cmd, "action");
    act_status_t status;

    if (!json_is_object(action)) {
        fail(r, "command without an \"action\"");
        return ACT_ERROR;
    }
    status = run_action(r, action, out_vals, out_n, err, sizeof err);
    if (status == ACT_ERROR) {
        fail(r, "%s: %s", what, err);
    } else if (status == ACT_TRAP && !trap_ok) {
        err[0] = '\0';
        append_failure(err, sizeof err, r, WEFT_ETRAP);
        fail(r, "%s: %s", what, err);
    }
    return status;
}

static void cmd_action(runner_t *r, const json_t *cmd)
{
    char what[MSG_SIZE];
    weft_val_t *vals;
    size_t n;

    describe_action(what, sizeof what, json_object_get(cmd, "action"));
    if (run_cmd_action(r, cmd, what, &vals, &n, 0) == ACT_OK) {
        free(vals);
        pass(r);
    }
}

static void cmd_assert_return(runner_t *r, const json_t *cmd)
{
    const json_t *expected = json_object_get(cmd, "expected");
    char what[MSG_SIZE], got[MSG_SIZE] = "", want[MSG_SIZE] = "";
    weft_val_t *vals;
    size_t n, i;
    int ok;

    describe_action(what, sizeof what, json_object_get(cmd, "action"));
    if (run_cmd_action(r, cmd, what, &vals, &n, 0) != ACT_OK)
        return;
    ok = json_is_array(expected) && json_array_size(expected) == n;
    for (i = 0; ok && i < n; i++)
        ok = val_matches(json_array_get(expected, i), &vals[i]);
    if (ok) {
        pass(r);
    } else {
        append_vals(got, sizeof got, vals, n);
        if (json_is_array(expected))
            append_expected_list(want, sizeof want, expected);
        else
            append(want, sizeof want, "(no \"expected\" list)");
        fail(r, "%s: expected %s, got %s", what, want, got);
    }
    free(vals);
}

/* The action must trap with the command's text, or with default_text when
 * the command has none. */
static void check_trap(runner_t *r, const json_t *cmd, const char *default_text)
{
    const char *text = jstr(cmd, "text") ? jstr(cmd, "text") : default_text;
    char what[MSG_SIZE], got[MSG_SIZE] = "";
    weft_val_t *vals;
    size_t n;

    describe_action(what, sizeof what, json_object_get(cmd, "action"));
    switch (run_cmd_action(r, cmd, what, &vals, &n, 1)) {
    case ACT_OK:
        append_vals(got, sizeof got, vals, n);
        free(vals);
        fail(r, "%s: expected trap \"%s\", returned %s", what, text ? text : "", got);
        break;
    case ACT_TRAP:
        if (trap_matches(r, text)) {
            pass(r);
        } else {
            append_failure(got, sizeof got, r, WEFT_ETRAP);
            fail(r, "%s: expected trap \"%s\", got %s", what, text, got);
        }
        break;
    case ACT_ERROR:
        break;
    }
}

static void cmd_assert_trap(runner_t *r, const json_t *cmd)
{
    check_trap(r, cmd, NULL);
}

static void cmd_assert_exhaustion(runner_t *r, const json_t *cmd)
{
    check_trap(r, cmd, weft_trap_string(WEFT_TRAP_STACK_EXHAUSTED));
}

static int is_text_module(runner_t *r, const json_t *cmd)
{
    const char *type = jstr(cmd, "module_type");

    if (type && strcmp(type, "text") == 0) {
        r->skipped++;
        return 1;
    }
    return 0;
}

/* assert_invalid and assert_malformed: weft_module_new must reject the
 * module. The spec's split between the two is fuzzy (many invalid modules
 * are caught while decoding), so either rejection passes. */
static void cmd_assert_rejected(runner_t *r, const json_t *cmd)
{
    const char *text = jstr(cmd, "text");
    weft_module_t *module;
    char msg[MSG_SIZE];
    int rc;

    if (is_text_module(r, cmd))
        return;
    rc = load_module(r, cmd, &module, msg, sizeof msg);
    if (rc == WEFT_EINVALID || rc == WEFT_EMALFORMED) {
        if (verbose)
            printf("%s:%ld: %s: expected \"%s\", got %s: %s\n", r->source, r->line, r->cmd_type,
                   text ? text : "", weft_errname(rc), msg);
        pass(r);
    } else if (rc == 0) {
        weft_module_delete(module);
        fail(r, "module loaded, expected \"%s\"", text ? text : "");
    } else {
        fail(r, "expected \"%s\", got %s: %s", text ? text : "", weft_errname(rc), msg);
    }
}

/* assert_unlinkable and assert_uninstantiable: the module loads, and
 * instantiating it fails with want_rc (for a trap, with the text). */
static void check_instantiation(runner_t *r, const json_t *cmd, int want_rc)
{
    const char *text = jstr(cmd, "text");
    weft_module_t *module;
    weft_instance_t *inst;
    char msg[MSG_SIZE];
    int rc;

    if (is_text_module(r, cmd))
        return;
    rc = load_module(r, cmd, &module, msg, sizeof msg);
    if (rc != 0) {
        fail(r, "load failed: %s: %s", weft_errname(rc), msg);
        return;
    }
    rc = weft_linker_instantiate(r->linker, module, &inst);
    weft_module_delete(module);
    msg[0] = '\0';
    if (rc == 0) {
        fail(r, "module instantiated, expected %s \"%s\"", weft_errname(want_rc),
             text ? text : "");
    } else if (rc != want_rc || (rc == WEFT_ETRAP && !trap_matches(r, text))) {
        append_failure(msg, sizeof msg, r, rc);
        fail(r, "expected %s \"%s\", got %s", weft_errname(want_rc), text ? text : "", msg);
    } else {
        if (verbose) {
            append_failure(msg, sizeof msg, r, rc);
            printf("%s:%ld: %s: expected \"%s\", got %s\n", r->source, r->line, r->cmd_type,
                   text ? text : "", msg);
        }
        pass(r);
    }
}

static void cmd_assert_unlinkable(runner_t *r, const json_t *cmd)
{
    check_instantiation(r, cmd, WEFT_EUNLINKABLE);
}

static void cmd_assert_uninstantiable(runner_t *r, const json_t *cmd)
{
    check_instantiation(r, cmd, WEFT_ETRAP);
}

static const struct {
    const char *type;
    void (*run)(runner_t *r, const json_t *cmd);
} command_table[] = {
    {"module", cmd_module},
    {"register", cmd_register},
    {"action", cmd_action},
    {"assert_return", cmd_assert_return},
    {"assert_trap", cmd_assert_trap},
    {"assert_exhaustion", cmd_assert_exhaustion},
    {"assert_invalid", cmd_assert_rejected},
    {"assert_malformed", cmd_assert_rejected},
    {"assert_unlinkable", cmd_assert_unlinkable},
    {"assert_uninstantiable", cmd_assert_uninstantiable},
};

static void run_command(runner_t *r, const json_t *cmd)
{
    const char *type = jstr(cmd, "type");
    const json_t *line = json_object_get(cmd, "line");

    r->line = json_is_integer(line) ? (long)json_integer_value(line) : 0;
    r->cmd_type = type ? type : "(no type)";
    for (size_t i = 0; type && i < sizeof command_table / sizeof command_table[0]; i++) {
        if (strcmp(command_table[i].type, type) == 0) {
            command_table[i].run(r, cmd);
            return;
        }
    }
    fail(r, "unknown command");
}

/* ---- the spectest module --------------------------------------------- */

typedef struct {
    const char *name;
    weft_valtype_t params[2];
    size_t nparams;
} print_def_t;

static print_def_t print_defs[] = {
    {"print", {WEFT_I32}, 0},
    {"print_i32", {WEFT_I32}, 1},
    {"print_i64", {WEFT_I64}, 1},
    {"print_f32", {WEFT_F32}, 1},
    {"print_f64", {WEFT_F64}, 1},
    {"print_i32_f32", {WEFT_I32, WEFT_F32}, 2},
    {"print_f64_f64", {WEFT_F64, WEFT_F64}, 2},
};

static int spectest_print(weft_caller_t *caller, void *user, const weft_val_t *args,
                          weft_val_t *results)
{
    const print_def_t *def = user;
    char buf[256] = "";

    if (verbose) {
        append_vals(buf, sizeof buf, args, def->nparams);
        printf("spectest.%s%s\n", def->name, buf);
    }
    return 0;
}

static int define_global(runner_t *r, const char *name, weft_val_t val)
{
    weft_extern_t ext = {.kind = WEFT_EXTERN_GLOBAL};

    ext.of.global = weft_global_new(r->store, val.type, 0, &val);
    if (!ext.of.global)
        return -1;
    return weft_linker_define(r->linker, "spectest", name, &ext);
}

static int define_spectest(runner_t *r)
{
    weft_limits_t table_limits = {.min = 10, .max = 20, .has_max = 1};
    weft_limits_t memory_limits = {.min = 1, .max = 2, .has_max = 1};
    weft_val_t f32 = {.type = WEFT_F32}, f64 = {.type = WEFT_F64};
    weft_extern_t ext;
    weft_functype_t *ft;
    float f = 666.6f;
    double d = 666.6;
    int rc;

    for (size_t i = 0; i < sizeof print_defs / sizeof print_defs[0]; i++) {
        ft = weft_functype_new(print_defs[i].params, print_defs[i].nparams, NULL, 0);
        if (!ft)
            return -1;
        rc = weft_linker_define_func(r->linker, "spectest", print_defs[i].name, ft,
                                     spectest_print, &print_defs[i]);
        weft_functype_delete(ft);
        if (rc != 0)
            return -1;
    }
    memcpy(&f32.of.f32_bits, &f, sizeof f);
    memcpy(&f64.of.f64_bits, &d, sizeof d);
    if (define_global(r, "global_i32", weft_val_i32(666)) != 0 ||
        define_global(r, "global_i64", weft_val_i64(666)) != 0 ||
        define_global(r, "global_f32", f32) != 0 || define_global(r, "global_f64", f64) != 0)
        return -1;
    ext.kind = WEFT_EXTERN_TABLE;
    ext.of.table = weft_table_new(r->store, WEFT_FUNCREF, table_limits, NULL);
    if (!ext.of.table || weft_linker_define(r->linker, "spectest", "table", &ext) != 0)
        return -1;
    ext.kind = WEFT_EXTERN_MEMORY;
    ext.of.memory = weft_memory_new(r->store, memory_limits);
    if (!ext.of.memory || weft_linker_define(r->linker, "spectest", "memory", &ext) != 0)
        return -1;
    return 0;
}

/* ---- files ----------------------------------------------------------- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;
    char *dir = malloc(len + 1);

    if (!dir)
        return NULL;
    if (slash)
        memcpy(dir, path, len);
    else
        dir[0] = '.';
    if (slash && len == 0)
        dir[len++] = '/';
    dir[len] = '\0';
    return dir;
}

static void run_file(weft_engine_t *engine, const char *path, unsigned *total_passed,
                     unsigned *total_failed)
{
    runner_t r = {.path = path, .source = path, .engine = engine, .cmd_type = "file"};
    json_error_t jerr;
    json_t *root;
    const json_t *commands, *cmd;
    size_t i;

    root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (jerr.line > 0)
            fail(&r, "cannot load JSON: %s (line %d)", jerr.text, jerr.line);
        else
            fail(&r, "cannot load JSON: %s", jerr.text);
        goto done;
    }
    if (jstr(root, "source_filename"))
        r.source = jstr(root, "source_filename");
    commands = json_object_get(root, "commands");
    if (!json_is_array(commands)) {
        fail(&r, "no \"commands\" list");
        goto done;
    }
    r.dir = dir_of(path);
    r.store = weft_store_new(engine);
    r.linker = r.store ? weft_linker_new(r.store) : NULL;
    if (!r.dir || !r.linker || define_spectest(&r) != 0) {
        fail(&r, "cannot set up the store and the spectest module");
        goto done;
    }
    json_array_foreach(commands, i, cmd) run_command(&r, cmd);
done:
    if (r.skipped > 0)
        printf("%s: %u passed, %u failed, %u skipped\n", path, r.passed, r.failed, r.skipped);
    else
        printf("%s: %u passed, %u failed\n", path, r.passed, r.failed);
    fflush(stdout);
    *total_passed += r.passed;
    *total_failed += r.failed;
    for (i = 0; i < r.nnames; i++)
        free(r.names[i].name);
    free(r.names);
    if (r.linker)
        weft_linker_delete(r.linker);
    if (r.store)
        weft_store_delete(r.store);
    free(r.dir);
    json_decref(root);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: spec_runner [-v] [--wasm2] [--tier jit] FILE.json...\n"
                 "Runs wast2json output against weft. -v prints every check; --wasm2\n"
                 "loads modules as WebAssembly 2.0 (no tail calls, extended constant\n"
                 "expressions or multi-memory), as the core 2.0 suite expects; --tier jit\n"
                 "loads them with the compiled tier and prints how many functions it\n"
                 "compiled.\n"
                 "Exit status 0 iff every check passed.\n");
}

int main(int argc, char **argv)
{
    unsigned passed = 0, failed = 0;
    weft_engine_t *engine;
    int first = 1;

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else if (strcmp(argv[first], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[first], "--wasm2") == 0) {
            load_opts.features_off = WEFT_FEATURE_TAIL_CALL | WEFT_FEATURE_EXTENDED_CONST |
                                     WEFT_FEATURE_MULTI_MEMORY;
        } else if (strcmp(argv[first], "--tier") == 0 && first + 1 < argc &&
                   (strcmp(argv[first + 1], "jit") == 0 || strcmp(argv[first + 1], "interp") == 0)) {
            load_opts.tier = strcmp(argv[++first], "jit") == 0 ? WEFT_TIER_JIT : WEFT_TIER_INTERP;
        } else if (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "spec_runner: unknown option %s\n", argv[first]);
            usage(stderr);
            return 2;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    engine = weft_engine_new();
    if (!engine) {
        fprintf(stderr, "spec_runner: cannot create an engine\n");
        return 2;
    }
    for (int i = first; i < argc; i++)
        run_file(engine, argv[i], &passed, &failed);
    printf("%u passed, %u failed\n", passed, failed);
    if (load_opts.tier == WEFT_TIER_JIT)
        printf("jit: %llu of %llu functions compiled\n", (unsigned long long)jit_compiled,
               (unsigned long long)jit_total);
    weft_engine_delete(engine);
    return failed == 0 ? 0 : 1;
}
