/*
 * profiles.c — weft/profile.h: the ABI profiles a node provides and the
 * check of a module's imports against them.
 *
 * A profile is one import namespace and the list of its functions with
 * their types, read from the host library itself (weft_wasi_func,
 * weft_nx_func), so the check can never disagree with what the linker is
 * given. The check reports every bad import at once, where the linker
 * stops at the first: a namespace no profile has, a name its namespace
 * lacks, something other than a function, a function of the wrong type
 * (with the type the profile expects). `weft run`, `weft inspect` and a
 * node's deploy all use it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/calimero.h"
#include "weft/cosmictron.h"
#include "weft/error.h"
#include "weft/faasm.h"
#include "weft/nx.h"
#include "weft/profile.h"
#include "weft/wasi.h"

typedef struct {
    const char *ns;    /* the import module name */
    const char *title; /* what it is, for humans */
    size_t (*count)(void);
    int (*func)(size_t i, const char **out_name, weft_functype_t **out_type);
    int store; /* its functions need the node's data directory */
} profile_t;

/* The table of namespace rows: a host library is one line here. Rows may
 * share a namespace; an import then belongs to the row that has its name. */
enum { ROW_WASI, ROW_NX, ROW_FAASM, ROW_CALIMERO, ROW_DATASTORE, ROW_COSM, ROW_CONSOLE };
static const profile_t profiles[] = {
    [ROW_WASI] = {"wasi_snapshot_preview1", "WASI preview 1", weft_wasi_func_count, weft_wasi_func,
                  0},
    [ROW_NX] = {"nx", "the Numax host API", weft_nx_func_count, weft_nx_func, 1},
    [ROW_FAASM] = {"env", "Faasm's __faasm_* host interface", weft_faasm_func_count, weft_faasm_func,
                   0},
    [ROW_CALIMERO] = {"env", "the Calimero host functions", weft_calimero_func_count,
                      weft_calimero_func, 1},
    [ROW_DATASTORE] = {"datastore", "Cosmictron tables", weft_cosmictron_datastore_func_count,
                       weft_cosmictron_datastore_func, 1},
    [ROW_COSM] = {"cosm", "Cosmictron context: identity, time, schedules",
                  weft_cosmictron_cosm_func_count, weft_cosmictron_cosm_func, 1},
    [ROW_CONSOLE] = {"console", "Cosmictron logs", weft_cosmictron_console_func_count,
                     weft_cosmictron_console_func, 1},
};
#define NPROFILES (sizeof profiles / sizeof profiles[0])

/* The guest ABIs, in the order detection tries them, each the rows it
 * provides (bit i: row i). A module importing only WASI is an nx module. */
typedef struct {
    const char *name;
    const char *title;
    unsigned rows;
} abi_t;

static const abi_t abis[] = {
    {"nx", "nx and WASI preview 1 (stdin in, stdout out)", 1u << ROW_WASI | 1u << ROW_NX},
    {"faasm", "Faasm: __faasm_* and WASI preview 1 (main per call, read_input/write_output)",
     1u << ROW_WASI | 1u << ROW_FAASM},
    {"calimero", "Calimero: env (input/value_return, registers, synced storage) and WASI preview 1",
     1u << ROW_WASI | 1u << ROW_CALIMERO},
    {"cosmictron", "Cosmictron: datastore, cosm, console and WASI preview 1 (reducers, BSATN)",
     1u << ROW_WASI | 1u << ROW_DATASTORE | 1u << ROW_COSM | 1u << ROW_CONSOLE},
};
#define NABIS (sizeof abis / sizeof abis[0])

size_t weft_profile_count(void)
{
    return NPROFILES;
}

const char *weft_profile_name(size_t i)
{
    return i < NPROFILES ? profiles[i].ns : NULL;
}

const char *weft_profile_title(size_t i)
{
    return i < NPROFILES ? profiles[i].title : NULL;
}

static int name_is(const char *s, const char *name, size_t len)
{
    return strlen(s) == len && memcmp(s, name, len) == 0;
}

/* A row's functions with their types, built the first time a module
 * imports from the row's namespace and kept for the process's life: a
 * check is then look-ups only (`weft run` checks a module more than once
 * on its way to a call, and a node checks every deploy). Built under a
 * lock, published with a release store, read without one. */
typedef struct {
    const char **names;
    weft_functype_t **types;
    size_t n;
} funcs_t;

static funcs_t row_funcs[NPROFILES];
static int row_ready[NPROFILES];
static pthread_mutex_t row_mu = PTHREAD_MUTEX_INITIALIZER;

static void funcs_free(funcs_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        weft_functype_delete(f->types[i]);
    free(f->names);
    free(f->types);
    memset(f, 0, sizeof *f);
}

static int funcs_build(const profile_t *p, funcs_t *f)
{
    size_t n = p->count();
    f->names = calloc(n + 1, sizeof *f->names);
    f->types = calloc(n + 1, sizeof *f->types);
    if (!f->names || !f->types)
        goto fail;
    for (; f->n < n; f->n++)
        if (p->func(f->n, &f->names[f->n], &f->types[f->n]) != 0)
            goto fail;
    return 0;
fail:
    funcs_free(f);
    return -1;
}

/* Row q's functions (owned by this file), or NULL when out of memory. */
static const funcs_t *funcs_of(size_t q)
{
    if (__atomic_load_n(&row_ready[q], __ATOMIC_ACQUIRE))
        return &row_funcs[q];
    const funcs_t *f = NULL;
    pthread_mutex_lock(&row_mu);
    if (row_ready[q] || funcs_build(&profiles[q], &row_funcs[q]) == 0) {
        __atomic_store_n(&row_ready[q], 1, __ATOMIC_RELEASE);
        f = &row_funcs[q];
    }
    pthread_mutex_unlock(&row_mu);
    return f;
}

/* The type of `name` in f (borrowed), or NULL. O(functions of the profile),
 * a few dozen: fine even for a module with many imports. */
static const weft_functype_t *lookup(const funcs_t *f, const char *name, size_t len)
{
    for (size_t i = 0; i < f->n; i++)
        if (name_is(f->names[i], name, len))
            return f->types[i];
    return NULL;
}

static weft_functype_t *copy_type(const weft_functype_t *ft)
{
    weft_valtype_t params[32], results[32];
    size_t np = weft_functype_nparams(ft), nr = weft_functype_nresults(ft);
    if (np > 32 || nr > 32)
        return NULL; /* host functions have a handful */
    for (size_t i = 0; i < np; i++)
        params[i] = weft_functype_param(ft, i);
    for (size_t i = 0; i < nr; i++)
        results[i] = weft_functype_result(ft, i);
    return weft_functype_new(params, np, results, nr);
}

static int add_bad(weft_link_report_t *l, const weft_externdesc_t *d, weft_link_problem_t problem,
                   weft_functype_t *expected)
{
    if (l->nbad % 16 == 0) {
        weft_bad_import_t *bigger = realloc(l->bad, (l->nbad + 16) * sizeof *bigger);
        if (!bigger) {
            weft_functype_delete(expected);
            return -1;
        }
        l->bad = bigger;
    }
    l->bad[l->nbad].import = *d;
    l->bad[l->nbad].problem = problem;
    l->bad[l->nbad].expected = expected;
    l->nbad++;
    return 0;
}

int weft_profile_check(const weft_module_t *module, weft_link_report_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n = weft_module_import_count(module);
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0)
            continue;
        /* The first row of the namespace that has the name decides; when
         * none has it, the first row of the namespace reports it. */
        size_t p = NPROFILES, first = NPROFILES;
        const weft_functype_t *want = NULL;
        for (size_t q = 0; q < NPROFILES && !want; q++) {
            if (!name_is(profiles[q].ns, d.module, d.module_len))
                continue;
            if (first == NPROFILES)
                first = q;
            if (d.kind != WEFT_EXTERN_FUNC)
                continue;
            const funcs_t *f = funcs_of(q);
            if (!f)
                goto fail;
            if ((want = lookup(f, d.name, d.name_len)))
                p = q;
        }
        if (first == NPROFILES) {
            if (add_bad(out, &d, WEFT_LINK_UNKNOWN_NAMESPACE, NULL) != 0)
                goto fail;
            continue;
        }
        out->used |= 1u << (p < NPROFILES ? p : first);
        if (d.kind != WEFT_EXTERN_FUNC) {
            if (add_bad(out, &d, WEFT_LINK_NOT_A_FUNCTION, NULL) != 0)
                goto fail;
            continue;
        }
        if (!want) {
            if (add_bad(out, &d, WEFT_LINK_UNKNOWN_NAME, NULL) != 0)
                goto fail;
            continue;
        }
        if (d.functype && weft_functype_equal(want, d.functype))
            continue;
        /* the bad import keeps its own copy of the expected type */
        weft_functype_t *copy = copy_type(want);
        if (!copy || add_bad(out, &d, WEFT_LINK_WRONG_TYPE, copy) != 0)
            goto fail;
    }
    return 0;
fail:
    weft_link_report_free(out);
    return WEFT_ENOMEM;
}

void weft_link_report_free(weft_link_report_t *l)
{
    for (size_t i = 0; i < l->nbad; i++)
        weft_functype_delete(l->bad[i].expected);
    free(l->bad);
    memset(l, 0, sizeof *l);
}

const char *weft_link_problem_name(weft_link_problem_t p)
{
    switch (p) {
    case WEFT_LINK_UNKNOWN_NAMESPACE: return "unknown_namespace";
    case WEFT_LINK_UNKNOWN_NAME: return "unknown_name";
    case WEFT_LINK_NOT_A_FUNCTION: return "not_a_function";
    case WEFT_LINK_WRONG_TYPE: return "wrong_type";
    }
    return "?";
}

int weft_profile_imported(const weft_module_t *module, const char *ns)
{
    size_t n = weft_module_import_count(module);
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) == 0 && name_is(ns, d.module, d.module_len))
            return 1;
    }
    return 0;
}

int weft_profile_needs_store(const weft_link_report_t *rep)
{
    for (size_t p = 0; p < NPROFILES; p++)
        if ((rep->used & (1u << p)) && profiles[p].store)
            return 1;
    return 0;
}

size_t weft_abi_count(void)
{
    return NABIS;
}

const char *weft_abi_name(size_t i)
{
    return i < NABIS ? abis[i].name : NULL;
}

const char *weft_abi_title(size_t i)
{
    return i < NABIS ? abis[i].title : NULL;
}

int weft_abi_find(const char *name)
{
    for (size_t i = 0; name && i < NABIS; i++)
        if (strcmp(abis[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The first import of the module from row p, as "ns.name". */
static int row_import(const weft_module_t *m, size_t p, char *out, size_t size)
{
    size_t n = weft_module_import_count(m);
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(m, i, &d) != 0 || !name_is(profiles[p].ns, d.module, d.module_len))
            continue;
        /* rows sharing a namespace: the one that has the name */
        const funcs_t *f = funcs_of(p);
        if (!f || !lookup(f, d.name, d.name_len))
            continue;
        snprintf(out, size, "%.*s.%.*s", (int)d.module_len, d.module, (int)d.name_len, d.name);
        return 0;
    }
    snprintf(out, size, "%s.*", profiles[p].ns);
    return 0;
}

int weft_abi_choose(const weft_module_t *module, const weft_link_report_t *rep, const char *want,
                    char *msg, size_t msg_size)
{
    char imp[160];
    if (want) {
        int a = weft_abi_find(want);
        if (a < 0) {
            size_t o = (size_t)snprintf(msg, msg_size, "no ABI called '%s' (there are", want);
            for (size_t i = 0; i < NABIS && o < msg_size; i++)
                o += (size_t)snprintf(msg + o, msg_size - o, "%s %s", i ? "," : "", abis[i].name);
            if (o < msg_size)
                snprintf(msg + o, msg_size - o, ")");
            return -1;
        }
        unsigned extra = rep->used & ~abis[a].rows;
        for (size_t p = 0; p < NPROFILES; p++) {
            if (!(extra & (1u << p)))
                continue;
            row_import(module, p, imp, sizeof imp);
            snprintf(msg, msg_size, "the %s ABI does not provide %s (%s)", abis[a].name, imp,
                     profiles[p].title);
            return -1;
        }
        return a;
    }
    for (size_t i = 0; i < NABIS; i++)
        if ((rep->used & ~abis[i].rows) == 0)
            return (int)i;
    /* Rows of several ABIs: name an import of each row no first ABI has. */
    size_t o = (size_t)snprintf(msg, msg_size, "the module's imports fit no single ABI:");
    for (size_t p = 0, k = 0; p < NPROFILES && o < msg_size; p++) {
        if (!(rep->used & (1u << p)) || p == ROW_WASI)
            continue;
        row_import(module, p, imp, sizeof imp);
        o += (size_t)snprintf(msg + o, msg_size - o, "%s %s is %s", k++ ? ";" : "", imp,
                              profiles[p].title);
    }
    return -1;
}
