/*
 * nx.c — the `nx` guest ABI (weft/nx.h): the context, the per-call event
 * and log collections, and every function but db_* (nx_db.c) and crdt_*
 * (nx_crdt.c): time, random_bytes, hashes, env_get, module_id,
 * host_capabilities, event_emit, abort, net_*, host_log and host_log_v2.
 *
 * Invariants: a guest pointer is used only after nx_guest() checked its
 * whole range (a bad one traps the call with a message naming the
 * function); every function but abort charges fuel for its work with
 * nx_charge() before doing it (nx_priv.h, docs/nx.md "Fuel"); a storage
 * error is recorded for the embedder, who then aborts the call's
 * transaction. nx holds no transaction between calls. What the
 * Numax document leaves open is decided in docs/nx.md.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostsig.h"
#include "nx_priv.h"
#include "weft/blake3.h"

/* Bytes of events and logs one call may leave for the embedder. */
#define MAX_COLLECTED (64u * 1024u * 1024u)
/* Event names are bounded like keys. */
#define MAX_EVENT_NAME 1024u
/* Bytes a hash function takes between two looks at the interrupt flag. */
#define HASH_CHUNK (1u << 20)

extern char **environ;

/* ---- helpers shared with nx_db.c --------------------------------------- */

uint8_t *nx_guest(weft_caller_t *caller, uint32_t ptr, uint32_t len, const char *fn, int *out_rc)
{
    static uint8_t empty; /* an empty range up to the end of memory touches no byte */
    weft_memory_t *mem = weft_caller_memory(caller, "memory");
    if (!mem) mem = weft_caller_memory(caller, NULL);
    if (len == 0 && mem && ptr <= weft_memory_size(mem)) return &empty;
    uint8_t *p = mem ? weft_memory_ptr(mem, ptr, len) : NULL;
    if (!p)
        *out_rc = weft_caller_trap(caller,
                                   "nx.%s: guest range [%u, +%u) is outside linear memory%s", fn,
                                   ptr, len, mem ? "" : " (the module has no memory)");
    return p;
}

int nx_reserved(const uint8_t *key, size_t len)
{
    size_t n = sizeof WEFT_NX_RESERVED_PREFIX - 1;
    return len >= n && memcmp(key, WEFT_NX_RESERVED_PREFIX, n) == 0;
}

int nx_store_error(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn, int rc)
{
    if (nx->call_error == 0) nx->call_error = rc;
    if (weft_db_retryable(rc))
        return weft_caller_trap(caller, "nx.%s: database map full; the call must be retried", fn);
    args[0].i32 = WEFT_NX_ERR_INTERNAL;
    return 0;
}

/* Writes a host-made result into (ptr, cap) and charges the call: the
 * base, and the bytes when they are written. */
static int write_out(weft_caller_t *caller, weft_raw_t *args, const char *fn, uint32_t ptr,
                     uint32_t cap, const void *data, size_t len)
{
    int rc;
    uint8_t *out = nx_guest(caller, ptr, cap, fn, &rc);
    if (!out) return rc;
    int fits = len <= cap && len <= WEFT_NX_MAX_OUTPUT;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + (fits ? NX_FUEL(len) : 0)))) return rc;
    if (!fits) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    if (len) memcpy(out, data, len);
    NX_RETURN((int32_t)len);
}

/* ---- time ---------------------------------------------------------------- */

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* time_monotonic counts from the first nx context of the process ("relative
 * to the runtime process"), so it starts near 0 and never goes back. Set
 * once, under pthread_once: two threads creating their first contexts at
 * once must not each write their own base (a reader could see it step
 * back), and the once gives every later reader a happens-before edge. */
static uint64_t monotonic_base;
static pthread_once_t monotonic_once = PTHREAD_ONCE_INIT;

static void set_monotonic_base(void)
{
    monotonic_base = clock_ms(CLOCK_MONOTONIC);
}

static int fn_time_now(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    int rc = nx_charge(caller, NX_FUEL_CALL);
    if (rc) return rc;
    args[0].i64 = (int64_t)clock_ms(CLOCK_REALTIME);
    return 0;
}

static int fn_time_monotonic(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    int rc = nx_charge(caller, NX_FUEL_CALL);
    if (rc) return rc;
    args[0].i64 = (int64_t)(clock_ms(CLOCK_MONOTONIC) - monotonic_base);
    return 0;
}

/* ---- crypto -------------------------------------------------------------- */

static int fn_random_bytes(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint32_t len = NX_ARG32(1);
    int rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(0), len, "random_bytes", &rc);
    if (!out) return rc;
    int fits = len <= WEFT_NX_MAX_RANDOM;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + (fits ? NX_FUEL(len) : 0)))) return rc;
    if (!fits) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (len) randombytes_buf(out, len);
    NX_RETURN((int32_t)len);
}

static int hash(weft_caller_t *caller, weft_raw_t *args, const char *fn, int blake3)
{
    uint32_t inlen = NX_ARG32(1), cap = NX_ARG32(3);
    int rc;
    const uint8_t *in = nx_guest(caller, NX_ARG32(0), inlen, fn, &rc);
    if (!in) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(2), cap, fn, &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(inlen) + (cap >= 32 ? NX_FUEL(32) : 0))))
        return rc;
    if (cap < 32) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    /* Hashed in chunks, with a look at the interrupt flag between them: a
     * hash of 4 GiB takes seconds, and --timeout or Ctrl-C must not wait
     * for it. One atomic load per MiB costs nothing next to the hashing. */
    uint8_t digest[32]; /* input and output may overlap */
    weft_blake3_t b3;
    crypto_hash_sha256_state sha;
    if (blake3)
        weft_blake3_init(&b3);
    else
        crypto_hash_sha256_init(&sha);
    for (uint32_t done = 0; done < inlen;) {
        uint32_t n = inlen - done < HASH_CHUNK ? inlen - done : HASH_CHUNK;
        if (blake3)
            weft_blake3_update(&b3, in + done, n);
        else
            crypto_hash_sha256_update(&sha, in + done, n);
        done += n;
        if (done < inlen && (rc = weft_caller_check_interrupt(caller))) return rc;
    }
    if (blake3)
        weft_blake3_finalize(&b3, digest, sizeof digest);
    else
        crypto_hash_sha256_final(&sha, digest);
    memcpy(out, digest, 32);
    NX_RETURN(32);
}

static int fn_hash_sha256(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return hash(caller, args, "hash_sha256", 0);
}

static int fn_hash_blake3(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return hash(caller, args, "hash_blake3", 1);
}

/* ---- system -------------------------------------------------------------- */

/* The document's policy: upper-case names starting with NX_ or NUMAX_.
 * "Upper-case" is read as A-Z, 0-9 and '_' only, so no lower-case or
 * other byte can slip through. */
static int env_allowed(const uint8_t *name, size_t len)
{
    if (!((len >= 3 && memcmp(name, "NX_", 3) == 0) || (len >= 6 && memcmp(name, "NUMAX_", 6) == 0)))
        return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}

static int fn_env_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), cap = NX_ARG32(3);
    int rc;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, "env_get", &rc);
    if (!key) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(2), cap, "env_get", &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    /* A name outside the policy is "not found": a guest cannot even learn
     * whether the host has it. */
    if (!env_allowed(key, kl)) NX_RETURN(WEFT_NX_ERR_NOT_FOUND);
    char *const *env = nx->env ? nx->env : environ;
    size_t n = nx->env ? nx->nenv : SIZE_MAX;
    for (size_t i = 0; i < n && env && env[i]; i++) {
        const char *e = env[i];
        if (strncmp(e, (const char *)key, kl) == 0 && e[kl] == '=') {
            const char *v = e + kl + 1;
            size_t vl = strlen(v);
            if (vl > cap) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
            if ((rc = nx_charge(caller, NX_FUEL(vl)))) return rc;
            memcpy(out, v, vl);
            NX_RETURN((int32_t)vl);
        }
    }
    NX_RETURN(WEFT_NX_ERR_NOT_FOUND);
}

static int fn_module_id(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    return write_out(caller, args, "module_id", NX_ARG32(0), NX_ARG32(1), nx->module_id,
                     strlen(nx->module_id));
}

static int fn_host_capabilities(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    const char *caps = weft_nx_capabilities();
    return write_out(caller, args, "host_capabilities", NX_ARG32(0), NX_ARG32(1), caps,
                     strlen(caps));
}

static int event_name_ok(const uint8_t *name, size_t len)
{
    if (len == 0 || len > MAX_EVENT_NAME) return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

static int fn_event_emit(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t nl = NX_ARG32(1), pl = NX_ARG32(3);
    int rc;
    const uint8_t *name = nx_guest(caller, NX_ARG32(0), nl, "event_emit", &rc);
    if (!name) return rc;
    const uint8_t *payload = nx_guest(caller, NX_ARG32(2), pl, "event_emit", &rc);
    if (!payload) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(nl) + NX_FUEL(pl)))) return rc;
    if (!event_name_ok(name, nl) || pl > WEFT_NX_MAX_VALUE) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (nx->collected + nl + pl > MAX_COLLECTED) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (nx->nevents == nx->events_cap) {
        size_t cap = nx->events_cap ? nx->events_cap * 2 : 8;
        nx_event_t *ev = realloc(nx->events, cap * sizeof *ev);
        if (!ev) NX_RETURN(WEFT_NX_ERR_INTERNAL);
        nx->events = ev;
        nx->events_cap = cap;
    }
    nx_event_t *e = &nx->events[nx->nevents];
    e->name = malloc(nl + 1);
    e->payload = malloc(pl ? pl : 1);
    if (!e->name || !e->payload) {
        free(e->name);
        free(e->payload);
        NX_RETURN(WEFT_NX_ERR_INTERNAL);
    }
    memcpy(e->name, name, nl);
    e->name[nl] = '\0';
    e->name_len = nl;
    if (pl) memcpy(e->payload, payload, pl);
    e->payload_len = pl;
    nx->nevents++;
    nx->collected += nl + pl;
    NX_RETURN(WEFT_NX_OK);
}

/* Not charged: it ends the call anyway, and its work is bounded (the
 * message is cut at WEFT_NX_MAX_LOG), so a short budget cannot turn the
 * guest's own message into an out-of-fuel trap. */
static int fn_abort(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint32_t ml = NX_ARG32(1);
    int rc;
    const uint8_t *msg = nx_guest(caller, NX_ARG32(0), ml, "abort", &rc);
    if (!msg) return rc;
    if (ml > WEFT_NX_MAX_LOG) ml = WEFT_NX_MAX_LOG;
    return weft_caller_trap(caller, "nx.abort: %.*s", (int)ml, (const char *)msg);
}

/* ---- network --------------------------------------------------------------- */

/* A node id as guests see it: lowercase hex, as weft's logs print it and
 * as Numax's SDK expects (text, converted to a string). */
static void node_to_text(const uint8_t id[WEFT_NX_NODE_ID_LEN], char out[WEFT_NX_NODE_ID_TEXT_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < WEFT_NX_NODE_ID_LEN; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
}

static int fn_net_node_id(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    int rc;
    if (!nx_guest(caller, NX_ARG32(0), NX_ARG32(1), "net_node_id", &rc)) return rc;
    if (!(nx->flags & WEFT_NX_SYNC)) {
        if ((rc = nx_charge(caller, NX_FUEL_CALL))) return rc;
        NX_RETURN(WEFT_NX_ERR_SYNC_DISABLED);
    }
    return write_out(caller, args, "net_node_id", NX_ARG32(0), NX_ARG32(1), nx->node_text,
                     sizeof nx->node_text);
}

/* The embedder's list of connected peers (weft_nx_config_t.peers), or an
 * empty one (u32 count 0) without links. Each peer's node id is text like
 * net_node_id's (docs/nx.md). */
static int fn_net_peers(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    static const uint8_t none[4];
    int rc;
    if (!nx_guest(caller, NX_ARG32(0), NX_ARG32(1), "net_peers", &rc)) return rc;
    if (!(nx->flags & WEFT_NX_SYNC)) {
        if ((rc = nx_charge(caller, NX_FUEL_CALL))) return rc;
        NX_RETURN(WEFT_NX_ERR_SYNC_DISABLED);
    }
    uint8_t *list = NULL;
    size_t len = 0;
    if (!nx->peers || nx->peers(nx->peers_user, &list, &len) != 0 || !list)
        return write_out(caller, args, "net_peers", NX_ARG32(0), NX_ARG32(1), none, sizeof none);
    rc = write_out(caller, args, "net_peers", NX_ARG32(0), NX_ARG32(1), list, len);
    free(list);
    return rc;
}

/* ---- logging ------------------------------------------------------------- */

/* Keeps a message (cut at WEFT_NX_MAX_LOG bytes) for the embedder. */
static void collect_log(weft_nx_t *nx, const uint8_t *msg, size_t len)
{
    if (len > WEFT_NX_MAX_LOG) len = WEFT_NX_MAX_LOG;
    if (nx->collected + len > MAX_COLLECTED) goto drop;
    if (nx->nlogs == nx->logs_cap) {
        size_t cap = nx->logs_cap ? nx->logs_cap * 2 : 8;
        nx_log_t *l = realloc(nx->logs, cap * sizeof *l);
        if (!l) goto drop;
        nx->logs = l;
        nx->logs_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) goto drop;
    if (len) memcpy(copy, msg, len);
    copy[len] = '\0';
    nx->logs[nx->nlogs].msg = copy;
    nx->logs[nx->nlogs].len = len;
    nx->nlogs++;
    nx->collected += len;
    return;
drop:
    nx->logs_dropped++;
}

/* host_log_v2: the document asks for ERR_INTERNAL, not a trap, when the
 * message cannot be read from guest memory. */
static int fn_host_log_v2(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t ptr = NX_ARG32(0), len = NX_ARG32(1);
    weft_memory_t *mem = weft_caller_memory(caller, "memory");
    if (!mem) mem = weft_caller_memory(caller, NULL);
    const uint8_t *msg = len == 0 ? (const uint8_t *)"" : mem ? weft_memory_ptr(mem, ptr, len) : NULL;
    int rc = nx_charge(caller, NX_FUEL_CALL + (msg ? NX_FUEL(len) : 0));
    if (rc) return rc;
    if (!msg) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    collect_log(nx, msg, len);
    NX_RETURN(WEFT_NX_OK);
}

/* host_log: the legacy form, with no result to report a bad range in, so a
 * bad range traps. */
static int fn_host_log(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t len = NX_ARG32(1);
    int rc;
    const uint8_t *msg = nx_guest(caller, NX_ARG32(0), len, "host_log", &rc);
    if (!msg) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(len)))) return rc;
    collect_log(nx, msg, len);
    return 0;
}

static const nx_func_t base_funcs[] = {
    {"time_now", "", 'I', fn_time_now},
    {"time_monotonic", "", 'I', fn_time_monotonic},
    {"random_bytes", "ii", 'i', fn_random_bytes},
    {"hash_sha256", "iiii", 'i', fn_hash_sha256},
    {"hash_blake3", "iiii", 'i', fn_hash_blake3},
    {"env_get", "iiii", 'i', fn_env_get},
    {"module_id", "ii", 'i', fn_module_id},
    {"host_capabilities", "ii", 'i', fn_host_capabilities},
    {"event_emit", "iiii", 'i', fn_event_emit},
    {"abort", "ii", 0, fn_abort},
    {"net_node_id", "ii", 'i', fn_net_node_id},
    {"net_peers", "ii", 'i', fn_net_peers},
    {"host_log_v2", "ii", 'i', fn_host_log_v2},
    {"host_log", "ii", 0, fn_host_log},
};
#define NBASE (sizeof base_funcs / sizeof base_funcs[0])

/* ---- capabilities ---------------------------------------------------------- */

/* Every function, in definition (and host_capabilities) order. */
typedef struct {
    const nx_func_t *funcs;
    const size_t *n;
} nx_table_t;

static const size_t nbase = NBASE;
static const nx_table_t tables[] = {
    {nx_db_funcs, &nx_db_nfuncs},
    {base_funcs, &nbase},
    {nx_crdt_funcs, &nx_crdt_nfuncs},
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* Built once from the tables, under pthread_once: a thread reading the
 * list while another builds it could see half of it. */
static char capabilities[2048];
static pthread_once_t capabilities_once = PTHREAD_ONCE_INIT;

static void build_capabilities(void)
{
    size_t used = 0;
    for (size_t t = 0; t < NTABLES; t++) {
        const nx_func_t *f = tables[t].funcs;
        size_t n = *tables[t].n;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(f[i].name);
            if (used + l + 2 > sizeof capabilities) return; /* cannot happen: sized for it */
            if (used) capabilities[used++] = '\n';
            memcpy(capabilities + used, f[i].name, l);
            used += l;
        }
    }
    capabilities[used] = '\0';
}

const char *weft_nx_capabilities(void)
{
    pthread_once(&capabilities_once, build_capabilities);
    return capabilities;
}

/* ---- context --------------------------------------------------------------- */

static void clear_call(weft_nx_t *nx)
{
    for (size_t i = 0; i < nx->nevents; i++) {
        free(nx->events[i].name);
        free(nx->events[i].payload);
    }
    for (size_t i = 0; i < nx->nlogs; i++) free(nx->logs[i].msg);
    nx->nevents = nx->nlogs = nx->logs_dropped = nx->collected = 0;
    nx->call_error = 0;
}

int weft_nx_new(const weft_nx_config_t *cfg, weft_nx_t **out)
{
    if (!out) return WEFT_EARG;
    *out = NULL;
    if (!cfg || !cfg->db || !cfg->context || (cfg->nenv && !cfg->env)) return WEFT_EARG;
    size_t cl = strlen(cfg->context);
    if (cl == 0 || cl > 255 || (cfg->node_id_len != 0 && cfg->node_id_len != WEFT_NX_NODE_ID_LEN) ||
        (cfg->node_id_len && !cfg->node_id))
        return WEFT_EARG;
    if (sodium_init() < 0) return WEFT_EIO;
    (void)weft_nx_capabilities();
    pthread_once(&monotonic_once, set_monotonic_base);

    weft_nx_t *nx = calloc(1, sizeof *nx);
    if (!nx) return WEFT_ENOMEM;
    nx->db = cfg->db;
    memcpy(nx->ctx, cfg->context, cl);
    nx->ctx_len = cl;
    nx->module_id = strdup(cfg->module_id ? cfg->module_id : cfg->context);
    if (!nx->module_id) goto fail;
    if (cfg->node_id_len) memcpy(nx->node_id, cfg->node_id, cfg->node_id_len);
    nx->node_id_len = cfg->node_id_len;
    /* Without an id, 64 zero digits: 32 zero bytes are no valid ed25519
     * public key, so this placeholder is never a real node's. */
    node_to_text(nx->node_id, nx->node_text);
    nx->flags = cfg->flags;
    nx->peers = cfg->peers;
    nx->peers_user = cfg->peers_user;
    if (cfg->env) {
        nx->env = calloc(cfg->nenv + 1, sizeof *nx->env);
        if (!nx->env) goto fail;
        for (size_t i = 0; i < cfg->nenv; i++) {
            nx->env[i] = strdup(cfg->env[i] ? cfg->env[i] : "");
            if (!nx->env[i]) goto fail;
            nx->nenv = i + 1;
        }
    }
    *out = nx;
    return 0;
fail:
    weft_nx_delete(nx);
    return WEFT_ENOMEM;
}

void weft_nx_delete(weft_nx_t *nx)
{
    if (!nx) return;
    clear_call(nx);
    free(nx->events);
    free(nx->logs);
    if (nx->env) {
        for (size_t i = 0; i < nx->nenv; i++) free(nx->env[i]);
        free(nx->env);
    }
    free(nx->module_id);
    free(nx);
}

static int define_one(weft_nx_t *nx, weft_linker_t *linker, const nx_func_t *f)
{
    weft_functype_t *ft = host_sig_type(f->params, f->result);
    if (!ft) return WEFT_ENOMEM;
    int rc = weft_linker_define_func_raw(linker, "nx", f->name, ft, f->fn, nx);
    weft_functype_delete(ft);
    return rc;
}

static int define_table(weft_nx_t *nx, weft_linker_t *linker, const nx_func_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = define_one(nx, linker, &t[i]);
        if (rc) return rc;
    }
    return 0;
}

int weft_nx_define(weft_nx_t *nx, weft_linker_t *linker)
{
    int rc;
    if (!nx || !linker) return WEFT_EARG;
    for (size_t t = 0; t < NTABLES; t++)
        if ((rc = define_table(nx, linker, tables[t].funcs, *tables[t].n))) return rc;
    return 0;
}

int weft_nx_define_imports(weft_nx_t *nx, weft_linker_t *linker, const weft_module_t *module)
{
    if (!nx || !linker || !module) return WEFT_EARG;
    for (size_t i = 0, n = weft_module_import_count(module); i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0 || d.kind != WEFT_EXTERN_FUNC ||
            d.module_len != 2 || memcmp(d.module, "nx", 2) != 0)
            continue;
        for (size_t t = 0; t < NTABLES; t++) {
            const nx_func_t *f = tables[t].funcs;
            size_t k = 0, nf = *tables[t].n;
            while (k < nf && (strlen(f[k].name) != d.name_len ||
                              memcmp(f[k].name, d.name, d.name_len) != 0))
                k++;
            if (k == nf) continue;
            int rc = define_one(nx, linker, &f[k]);
            if (rc) return rc;
            break;
        }
    }
    return 0;
}

size_t weft_nx_func_count(void)
{
    size_t n = 0;
    for (size_t t = 0; t < NTABLES; t++) n += *tables[t].n;
    return n;
}

int weft_nx_func(size_t i, const char **out_name, weft_functype_t **out_type)
{
    for (size_t t = 0; t < NTABLES; t++) {
        if (i >= *tables[t].n) {
            i -= *tables[t].n;
            continue;
        }
        const nx_func_t *f = &tables[t].funcs[i];
        weft_functype_t *ft = host_sig_type(f->params, f->result);
        if (!ft) return WEFT_ENOMEM;
        *out_name = f->name;
        *out_type = ft;
        return 0;
    }
    return WEFT_ENOTFOUND;
}

void weft_nx_begin_call(weft_nx_t *nx, weft_txn_t *txn)
{
    clear_call(nx);
    nx->txn = txn;
    nx->view = 0;
}

void weft_nx_begin_view(weft_nx_t *nx, weft_txn_t *txn)
{
    weft_nx_begin_call(nx, txn);
    nx->view = 1;
}

int nx_view_write(weft_caller_t *caller, const char *fn)
{
    return weft_caller_trap(caller, "nx.%s: a view cannot write (it runs on a read-only "
                                    "snapshot; call the function as a write instead)", fn);
}

void weft_nx_end_call(weft_nx_t *nx)
{
    nx->txn = NULL;
}

int weft_nx_call_error(const weft_nx_t *nx)
{
    return nx->call_error;
}

size_t weft_nx_event_count(const weft_nx_t *nx)
{
    return nx->nevents;
}

int weft_nx_event(const weft_nx_t *nx, size_t i, const char **out_name, size_t *out_name_len,
                  const uint8_t **out_payload, size_t *out_payload_len)
{
    if (i >= nx->nevents) return WEFT_ENOTFOUND;
    *out_name = nx->events[i].name;
    *out_name_len = nx->events[i].name_len;
    *out_payload = nx->events[i].payload;
    *out_payload_len = nx->events[i].payload_len;
    return 0;
}

size_t weft_nx_log_count(const weft_nx_t *nx)
{
    return nx->nlogs;
}

int weft_nx_log(const weft_nx_t *nx, size_t i, const char **out_msg, size_t *out_len)
{
    if (i >= nx->nlogs) return WEFT_ENOTFOUND;
    *out_msg = nx->logs[i].msg;
    *out_len = nx->logs[i].len;
    return 0;
}

size_t weft_nx_logs_dropped(const weft_nx_t *nx)
{
    return nx->logs_dropped;
}

const char *weft_nx_module_id(const weft_nx_t *nx)
{
    return nx->module_id;
}
