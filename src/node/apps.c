/*
 * apps.c — apps: modules stored by sha256 and compiled once per process.
 *
 * Deploying validates and compiles the module outside the writer (the
 * expensive part, on the caller's thread), then the writer stores its bytes
 * and record. The compiled module joins the cache, a list under apps_mu
 * that only grows until the node closes: apps are few (a lookup is
 * O(apps), fine below a few thousand) and a module is shared by every call
 * of its app, since compiled modules are immutable and thread-safe.
 * A component (told by its preamble) is an app the same way: validated and
 * compiled with weft_component_new, checked against its manifest's import
 * profile at deploy (abi_component.c), bound to the "component" ABI.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abi.h"
#include "node_priv.h"
#include "weft/component.h"
#include "weft/error.h"
#include "weft/profile.h"

#define APP_KEY_PREFIX "app/"
#define MANIFEST_KEY_PREFIX "manifest/" /* 9 bytes, then the id: the manifest's JSON */
#define CTX_KEY_PREFIX "ctx/"

/* The ABI of a module (`want`: the manifest's, else detected) and whether
 * it needs the data directory. 0, or WEFT_EUNLINKABLE with every import no
 * profile provides (the first few in the message) or why no ABI fits, or
 * WEFT_ENOMEM. */
static int bind_abi(const weft_module_t *m, const char *want, const node_abi_t **out_abi,
                    int *out_store, char *msg, size_t msg_size)
{
    weft_link_report_t rep;
    int rc = weft_profile_check(m, &rep);
    if (rc != 0)
        return rc;
    if (rep.nbad == 0) {
        int i = weft_abi_choose(m, &rep, want, msg, msg_size);
        const node_abi_t *abi = i >= 0 ? node_abi_find(weft_abi_name((size_t)i)) : NULL;
        if (i >= 0 && !abi)
            snprintf(msg, msg_size, "the %s ABI has no adapter in this node", weft_abi_name(i));
        if (out_abi)
            *out_abi = abi;
        if (out_store)
            *out_store = weft_profile_needs_store(&rep);
        weft_link_report_free(&rep);
        return abi ? 0 : WEFT_EUNLINKABLE;
    }
    size_t o = (size_t)snprintf(msg, msg_size, "%zu import%s no ABI profile of this node "
                                "provides:", rep.nbad, rep.nbad == 1 ? "" : "s");
    for (size_t i = 0; i < rep.nbad && i < 8 && o < msg_size; i++) {
        const weft_externdesc_t *d = &rep.bad[i].import;
        o += (size_t)snprintf(msg + o, msg_size - o, "%s %.*s.%.*s (%s)", i ? ";" : "",
                              (int)d->module_len, d->module, (int)d->name_len, d->name,
                              weft_link_problem_name(rep.bad[i].problem));
    }
    weft_link_report_free(&rep);
    return WEFT_EUNLINKABLE;
}

int weft_node_abi_bind(const struct weft_module *module, const char *want, const char **out_name,
                       char *out_msg, size_t msg_size)
{
    const node_abi_t *abi = NULL;
    NODE_OUT_MSG(out_msg, msg_size);
    int rc = bind_abi(module, want, &abi, NULL, out_msg, msg_size);
    if (out_name)
        *out_name = rc == 0 ? abi->name : NULL;
    return rc;
}

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Compiles a module within the node's load deadline; closing the node
 * stops it too. A component (weft_is_component) goes to *comp instead
 * (its core modules are compiled without the deadline: the component
 * library takes none), *out staying NULL. */
static int load(weft_node_t *node, const uint8_t *bytes, size_t len, int tier,
                weft_module_t **out, weft_component_t **comp, char *msg, size_t msg_size)
{
    *comp = NULL;
    *out = NULL;
    if (weft_is_component(bytes, len))
        return weft_component_new(node->engine, bytes, len, comp, msg, msg_size);
    weft_load_options_t o;
    memset(&o, 0, sizeof o);
    o.interrupt = &node->stopping;
    uint64_t now = node_now_ns();
    o.deadline_ns = node->load_timeout_ns > UINT64_MAX - now ? UINT64_MAX
                                                             : now + node->load_timeout_ns;
    o.tier = tier < 0 ? node->tier : tier;
    /* The code cache lives in the data directory (docs/jit.md). */
    char dir[4096];
    if (node->data_dir && o.tier != WEFT_TIER_INTERP &&
        snprintf(dir, sizeof dir, "%s/code-cache", node->data_dir) < (int)sizeof dir &&
        (mkdir(dir, 0700) == 0 || errno == EEXIST))
        o.code_cache_dir = dir;
    int rc = weft_module_new_opts(node->engine, bytes, len, &o, out, msg, msg_size);
    if (rc == 0 && o.code_cache_dir) {
        const char *note;
        int cache = weft_module_code_cache(*out, &note);
        pthread_mutex_lock(&node->mu);
        node->stats.code_cache_hits += cache == WEFT_CODE_CACHE_HIT;
        node->stats.code_cache_rejected += cache == WEFT_CODE_CACHE_REJECTED;
        node->stats.modules_compiled += cache == WEFT_CODE_CACHE_STORED ||
                                        cache == WEFT_CODE_CACHE_FAILED ||
                                        (cache == WEFT_CODE_CACHE_REJECTED && o.tier == WEFT_TIER_JIT);
        pthread_mutex_unlock(&node->mu);
        if (cache == WEFT_CODE_CACHE_REJECTED || cache == WEFT_CODE_CACHE_FAILED)
            fprintf(stderr, "weft: %s\n", note);
    }
    return rc;
}

/* The cached app of id, or NULL. Caller holds apps_mu. */
static node_app_t *cached(weft_node_t *node, const char *id)
{
    for (node_app_t *a = node->apps; a; a = a->next)
        if (!a->stale && !a->opened && strcmp(a->id, id) == 0)
            return a;
    return NULL;
}

void node_apps_compiled(weft_node_t *node, uint64_t *compiled, uint64_t *total)
{
    *compiled = *total = 0;
    pthread_mutex_lock(&node->apps_mu);
    for (node_app_t *a = node->apps; a; a = a->next) {
        uint32_t n = 0;
        if (!a->stale && a->module) {
            *compiled += weft_module_compiled_functions(a->module, &n);
            *total += n;
        }
    }
    pthread_mutex_unlock(&node->apps_mu);
}

node_app_t *node_app_opened(weft_node_t *node, const char *id)
{
    pthread_mutex_lock(&node->apps_mu);
    node_app_t *a = node->apps;
    while (a && !(a->opened && strcmp(a->id, id) == 0))
        a = a->next;
    pthread_mutex_unlock(&node->apps_mu);
    return a;
}

/* Adds a compiled module to the cache and returns the cached app (the
 * one already there when another thread was first: `module` is then
 * released). NULL when out of memory (module released). */
static node_app_t *cache_add(weft_node_t *node, const char *id, const char *name,
                             weft_module_t *module, weft_component_t *comp, node_manifest_t *mf,
                             const node_abi_t *abi, int needs_store)
{
    pthread_mutex_lock(&node->apps_mu);
    node_app_t *a = cached(node, id);
    if (a) {
        pthread_mutex_unlock(&node->apps_mu);
        weft_module_delete(module);
        weft_component_delete(comp);
        node_manifest_free(mf);
        return a;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        pthread_mutex_unlock(&node->apps_mu);
        weft_module_delete(module);
        weft_component_delete(comp);
        node_manifest_free(mf);
        return NULL;
    }
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->module = module;
    a->component = comp;
    a->manifest = *mf; /* the cache owns it now */
    memset(mf, 0, sizeof *mf);
    a->abi = abi;
    a->needs_store = needs_store;
    a->next = node->apps;
    node->apps = a;
    pthread_mutex_unlock(&node->apps_mu);
    return a;
}

void node_apps_free(weft_node_t *node)
{
    node_app_t *a = node->apps;
    while (a) {
        node_app_t *next = a->next;
        weft_module_delete(a->module);
        weft_component_delete(a->component);
        node_manifest_free(&a->manifest);
        for (struct node_serial_fn *f = a->serial_fns, *fn; f; f = fn) {
            fn = f->next;
            free(f);
        }
        for (struct node_serial_fn *f = a->slow_fns, *fn; f; f = fn) {
            fn = f->next;
            free(f);
        }
        free(a);
        a = next;
    }
    node->apps = NULL;
}

/* The app record: u64 created_ms, u64 size, u8 name_len, name. */
static int parse_record(const char *id, const uint8_t *v, size_t len, weft_app_info_t *out)
{
    if (len < 17 || len != 17u + v[16] || v[16] > 64)
        return WEFT_EIO;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", id);
    out->created_ms = node_get_u64(v);
    out->size = node_get_u64(v + 8);
    memcpy(out->name, v + 17, v[16]);
    out->name[v[16]] = '\0';
    return 0;
}

static void manifest_key(const char *id, uint8_t key[9 + WEFT_APP_ID_LEN])
{
    memcpy(key, MANIFEST_KEY_PREFIX, 9);
    memcpy(key + 9, id, WEFT_APP_ID_LEN);
}

static void app_key(const char *id, uint8_t *key, size_t *len)
{
    memcpy(key, APP_KEY_PREFIX, 4);
    memcpy(key + 4, id, WEFT_APP_ID_LEN);
    *len = 4 + WEFT_APP_ID_LEN;
}

node_app_t *node_app_load(weft_node_t *node, weft_txn_t *txn, const char *id, char *msg,
                          size_t msg_size)
{
    pthread_mutex_lock(&node->apps_mu);
    node_app_t *a = cached(node, id);
    pthread_mutex_unlock(&node->apps_mu);
    if (a)
        return a;
    uint8_t key[4 + WEFT_APP_ID_LEN];
    size_t klen;
    const uint8_t *v;
    size_t vlen;
    weft_app_info_t info;
    if (strlen(id) != WEFT_APP_ID_LEN) {
        snprintf(msg, msg_size, "no app %s", id);
        return NULL;
    }
    app_key(id, key, &klen);
    if (weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen) != 0 ||
        parse_record(id, v, vlen, &info) != 0) {
        snprintf(msg, msg_size, "no app %s in this data directory", id);
        return NULL;
    }
    if (weft_txn_get(txn, WEFT_SPACE_MODULES, NULL, 0, (const uint8_t *)id, WEFT_APP_ID_LEN, &v,
                     &vlen) != 0) {
        snprintf(msg, msg_size, "the module bytes of app %s are missing", id);
        return NULL;
    }
    const uint8_t *wasm = v;
    size_t wasm_len = vlen;
    /* Its manifest, if it was deployed with one: first, for its tier. */
    char why[512] = "";
    node_manifest_t mf = {0};
    uint8_t mkey[9 + WEFT_APP_ID_LEN];
    manifest_key(id, mkey);
    if (weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, mkey, sizeof mkey, &v, &vlen) == 0 &&
        node_manifest_parse((const char *)v, vlen, NULL, &mf, why, sizeof why) != 0) {
        snprintf(msg, msg_size, "the manifest of app %s does not parse: %s", id, why);
        return NULL;
    }
    weft_module_t *m = NULL;
    weft_component_t *comp = NULL;
    int rc = load(node, wasm, wasm_len, mf.tier - 1, &m, &comp, why, sizeof why);
    if (rc != 0) {
        node_manifest_free(&mf);
        snprintf(msg, msg_size, "app %s does not compile: %s", id, why);
        return NULL;
    }
    const node_abi_t *abi = &node_abi_component;
    int needs_store = 0;
    if (!comp && bind_abi(m, mf.abi, &abi, &needs_store, why, sizeof why) != 0) {
        weft_module_delete(m);
        node_manifest_free(&mf);
        snprintf(msg, msg_size, "app %s cannot be bound to a guest ABI: %s", id, why);
        return NULL;
    }
    a = cache_add(node, id, info.name, m, comp, &mf, abi, needs_store);
    if (!a)
        snprintf(msg, msg_size, "out of memory");
    return a;
}

/* ---- deploy --------------------------------------------------------------- */

typedef struct {
    const char *id;
    const char *name;
    const uint8_t *wasm;
    size_t len;
    const char *manifest; /* NULL: none */
    size_t manifest_len;
} deploy_t;

static int deploy_write(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    deploy_t *d = arg;
    uint8_t key[4 + WEFT_APP_ID_LEN];
    size_t klen;
    const uint8_t *v;
    size_t vlen;
    app_key(d->id, key, &klen);
    int rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen);
    if (rc == 0)
        return 0; /* deployed before: same bytes, same id */
    if (rc != WEFT_ENOTFOUND)
        return rc;
    size_t nl = strlen(d->name);
    uint8_t rec[17 + 64];
    node_put_u64(rec, node_unix_ms());
    node_put_u64(rec + 8, d->len);
    rec[16] = (uint8_t)nl;
    memcpy(rec + 17, d->name, nl);
    rc = weft_txn_put(txn, WEFT_SPACE_MODULES, NULL, 0, (const uint8_t *)d->id, WEFT_APP_ID_LEN,
                      d->wasm, d->len);
    if (rc == 0)
        rc = weft_txn_put(txn, WEFT_SPACE_META, NULL, 0, key, klen, rec, 17 + nl);
    if (rc == 0 && d->manifest) {
        uint8_t mkey[9 + WEFT_APP_ID_LEN];
        manifest_key(d->id, mkey);
        rc = weft_txn_put(txn, WEFT_SPACE_META, NULL, 0, mkey, sizeof mkey,
                          (const uint8_t *)d->manifest, d->manifest_len);
    }
    return rc;
}

int weft_node_app_deploy(weft_node_t *node, const uint8_t *wasm, size_t len, const char *name,
                         char out_id[WEFT_APP_ID_LEN + 1], char *out_msg, size_t msg_size)
{
    return weft_node_app_deploy_manifest(node, wasm, len, name, NULL, 0, out_id, out_msg,
                                         msg_size);
}

int weft_node_app_deploy_manifest(weft_node_t *node, const uint8_t *wasm, size_t len,
                                  const char *name, const char *manifest, size_t manifest_len,
                                  char out_id[WEFT_APP_ID_LEN + 1], char *out_msg,
                                  size_t msg_size)
{
    char dummy[8];
    if (!out_msg || !msg_size) {
        out_msg = dummy;
        msg_size = sizeof dummy;
    }
    out_msg[0] = '\0';
    out_id[0] = '\0';
    if (name && !valid_name(name)) {
        snprintf(out_msg, msg_size,
                 "app name '%s' must be 1 to 64 characters of letters, digits, '_', '.', '-'",
                 name);
        return WEFT_EARG;
    }
    uint8_t sum[crypto_hash_sha256_BYTES];
    char id[WEFT_APP_ID_LEN + 1], defname[13];
    crypto_hash_sha256(sum, wasm, len);
    hex(sum, sizeof sum, id);
    memcpy(defname, id, 12);
    defname[12] = '\0';

    weft_module_t *m = NULL;
    weft_component_t *comp = NULL;
    node_manifest_t mf = {0};
    int rc;
    /* The manifest's tier is the module's: read first (its exports are
     * checked below, once the module is loaded). */
    if (manifest && (rc = node_manifest_parse(manifest, manifest_len, NULL, &mf, out_msg,
                                              msg_size)) != 0)
        return rc;
    int tier = mf.tier - 1;
    node_manifest_free(&mf);
    rc = load(node, wasm, len, tier, &m, &comp, out_msg, msg_size);
    if (rc != 0)
        return rc;
    if (manifest &&
        (rc = node_manifest_parse(manifest, manifest_len, m, &mf, out_msg, msg_size)) != 0) {
        weft_module_delete(m);
        weft_component_delete(comp);
        return rc;
    }
    const node_abi_t *deploy_abi = NULL;
    if (comp) {
        rc = node_component_check(comp, &mf, out_msg, msg_size);
    } else if (mf.imports || mf.stub_missing || mf.allow || mf.max_depth || mf.net_allow ||
               mf.net_listen) {
        snprintf(out_msg, msg_size, "manifest: \"imports\", \"stub_missing\", \"funcs\" and \"sockets\" "
                 "are for components");
        rc = WEFT_EARG;
    } else if ((rc = bind_abi(m, mf.abi, &deploy_abi, NULL, out_msg, msg_size)) == 0 &&
               deploy_abi == &node_abi_cosmictron) {
        rc = node_cosm_deploy(node, id, m, out_msg, msg_size);
    }
    if (rc != 0) {
        weft_module_delete(m);
        weft_component_delete(comp);
        node_manifest_free(&mf);
        return rc;
    }
    deploy_t d = {id, name ? name : defname, wasm, len, manifest, manifest_len};
    rc = node_write_fn(node, deploy_write, &d);
    if (rc != 0) {
        weft_module_delete(m);
        weft_component_delete(comp);
        snprintf(out_msg, msg_size, "cannot store the module: %s", weft_db_errmsg(node->db));
        return rc;
    }
    /* The stored name wins (a second deploy of the same bytes keeps the
     * first one's name). */
    weft_app_info_t info;
    if (weft_node_app_get(node, id, &info) != 0)
        snprintf(info.name, sizeof info.name, "%s", d.name);
    /* The stored manifest wins too: the cache loads it on first use. */
    node_manifest_free(&mf);
    weft_txn_t *txn;
    const uint8_t *mv;
    size_t ml;
    uint8_t mkey[9 + WEFT_APP_ID_LEN];
    manifest_key(id, mkey);
    if (weft_txn_begin(node->db, WEFT_TXN_READ, &txn) == 0) {
        if (weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, mkey, sizeof mkey, &mv, &ml) == 0)
            node_manifest_parse((const char *)mv, ml, NULL, &mf, out_msg, msg_size);
        weft_txn_abort(txn);
    }
    out_msg[0] = '\0';
    if (m && mf.tier - 1 != tier) { /* an earlier deploy's manifest, another tier: loaded again */
        weft_module_t *again = NULL;
        weft_component_t *none = NULL;
        if ((rc = load(node, wasm, len, mf.tier - 1, &again, &none, out_msg, msg_size)) != 0) {
            weft_module_delete(m);
            node_manifest_free(&mf);
            return rc;
        }
        weft_module_delete(m);
        m = again;
    }
    const node_abi_t *abi = &node_abi_component;
    int needs_store = 0;
    if (!comp && (rc = bind_abi(m, mf.abi, &abi, &needs_store, out_msg, msg_size)) != 0) {
        weft_module_delete(m);
        node_manifest_free(&mf);
        return rc;
    }
    if (!cache_add(node, id, info.name, m, comp, &mf, abi, needs_store))
        return WEFT_ENOMEM;
    memcpy(out_id, id, WEFT_APP_ID_LEN + 1);
    return 0;
}

/* ---- look-ups ------------------------------------------------------------- */

int weft_node_app_get(weft_node_t *node, const char *id, weft_app_info_t *out)
{
    if (!id || strlen(id) != WEFT_APP_ID_LEN)
        return WEFT_ENOTFOUND;
    weft_txn_t *txn;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    uint8_t key[4 + WEFT_APP_ID_LEN];
    size_t klen;
    const uint8_t *v;
    size_t vlen;
    app_key(id, key, &klen);
    rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen);
    if (rc == 0)
        rc = parse_record(id, v, vlen, out);
    weft_txn_abort(txn);
    return rc;
}

typedef struct {
    int (*fn)(void *user, const weft_app_info_t *app);
    void *user;
    int rc;
} list_t;

static int list_one(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    list_t *l = user;
    char id[WEFT_APP_ID_LEN + 1];
    weft_app_info_t info;
    if (key_len != 4 + WEFT_APP_ID_LEN)
        return 0;
    memcpy(id, key + 4, WEFT_APP_ID_LEN);
    id[WEFT_APP_ID_LEN] = '\0';
    if (parse_record(id, val, val_len, &info) != 0)
        return 0;
    return l->fn(l->user, &info);
}

int weft_node_app_list(weft_node_t *node, int (*fn)(void *user, const weft_app_info_t *app),
                       void *user)
{
    weft_txn_t *txn;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    list_t l = {fn, user, 0};
    rc = weft_txn_scan(txn, WEFT_SPACE_META, NULL, 0, (const uint8_t *)APP_KEY_PREFIX, 4, NULL, 0,
                       list_one, &l);
    weft_txn_abort(txn);
    return rc;
}

/* ---- delete ----------------------------------------------------------------- */

typedef struct {
    const char *id;
    char user[WEFT_CONTEXT_MAX + 1]; /* a context using the app, if any */
} app_del_t;

static int find_user(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                     size_t val_len)
{
    app_del_t *d = user;
    if (val_len != 8 + WEFT_APP_ID_LEN || memcmp(val + 8, d->id, WEFT_APP_ID_LEN) != 0)
        return 0;
    size_t n = key_len - 4 < WEFT_CONTEXT_MAX ? key_len - 4 : WEFT_CONTEXT_MAX;
    memcpy(d->user, key + 4, n);
    d->user[n] = '\0';
    return 1;
}

static int delete_write(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    app_del_t *d = arg;
    uint8_t key[4 + WEFT_APP_ID_LEN];
    size_t klen;
    const uint8_t *v;
    size_t vlen;
    app_key(d->id, key, &klen);
    int rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen);
    if (rc != 0)
        return rc;
    rc = weft_txn_scan(txn, WEFT_SPACE_META, NULL, 0, (const uint8_t *)CTX_KEY_PREFIX, 4, NULL, 0,
                       find_user, d);
    if (rc != 0)
        return rc;
    if (d->user[0])
        return WEFT_ELIMIT;
    rc = weft_txn_del(txn, WEFT_SPACE_META, NULL, 0, key, klen);
    if (rc == 0)
        rc = weft_txn_del(txn, WEFT_SPACE_MODULES, NULL, 0, (const uint8_t *)d->id,
                          WEFT_APP_ID_LEN);
    if (rc == 0) {
        uint8_t mkey[9 + WEFT_APP_ID_LEN];
        manifest_key(d->id, mkey);
        rc = weft_txn_del(txn, WEFT_SPACE_META, NULL, 0, mkey, sizeof mkey);
    }
    return rc;
}

int weft_node_app_delete(weft_node_t *node, const char *id, char *out_msg, size_t msg_size)
{
    char dummy[8];
    if (!out_msg || !msg_size) {
        out_msg = dummy;
        msg_size = sizeof dummy;
    }
    out_msg[0] = '\0';
    if (!id || strlen(id) != WEFT_APP_ID_LEN) {
        snprintf(out_msg, msg_size, "no app %s", id ? id : "(null)");
        return WEFT_ENOTFOUND;
    }
    app_del_t d = {id, ""};
    int rc = node_write_fn(node, delete_write, &d);
    if (rc == WEFT_ENOTFOUND)
        snprintf(out_msg, msg_size, "no app %s", id);
    else if (rc == WEFT_ELIMIT)
        snprintf(out_msg, msg_size, "app %s is used by context '%s': delete its contexts first",
                 id, d.user);
    else if (rc != 0)
        snprintf(out_msg, msg_size, "cannot delete app %s: %s", id, weft_db_errmsg(node->db));
    /* The compiled module stays allocated until the node closes (a call
     * that found it before the delete may still be running), but a new
     * deploy of the same bytes makes a new entry, with its own manifest. */
    if (rc == 0) {
        pthread_mutex_lock(&node->apps_mu);
        node_app_t *a = cached(node, id);
        if (a)
            a->stale = 1;
        pthread_mutex_unlock(&node->apps_mu);
    }
    return rc;
}

int weft_node_app_open(weft_node_t *node, const uint8_t *wasm, size_t len, const char *name,
                       char out_id[WEFT_APP_ID_LEN + 1], char *out_msg, size_t msg_size)
{
    NODE_OUT_MSG(out_msg, msg_size);
    out_id[0] = '\0';
    if (!name || !*name || strlen(name) > 255) {
        snprintf(out_msg, msg_size, "an app's name is 1 to 255 bytes");
        return WEFT_EARG;
    }
    /* A number, not the sha256: the app is never stored, and hashing the
     * module would cost every `weft run` its start-up. */
    static uint64_t opened;
    snprintf(out_id, WEFT_APP_ID_LEN + 1, "%064llx",
             (unsigned long long)__atomic_add_fetch(&opened, 1, __ATOMIC_RELAXED));
    weft_module_t *m = NULL;
    weft_component_t *comp = NULL;
    int rc = load(node, wasm, len, -1, &m, &comp, out_msg, msg_size);
    if (rc != 0)
        return rc;
    node_app_t *a = calloc(1, sizeof *a);
    if (!a) {
        weft_module_delete(m);
        weft_component_delete(comp);
        return WEFT_ENOMEM;
    }
    snprintf(a->id, sizeof a->id, "%s", out_id);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->module = m;
    a->component = comp;
    a->opened = 1;
    a->abi = &node_abi_component;
    /* Imports are not checked at open (the embedder lists them): an
     * unlinkable module gets the nx adapter, and its call fails to link;
     * an opened component's missing imports trap when called. */
    if (!comp && bind_abi(m, NULL, &a->abi, &a->needs_store, out_msg, msg_size) != 0) {
        a->abi = &node_abi_nx;
        a->needs_store = weft_profile_imported(m, "nx");
        out_msg[0] = '\0';
    }
    pthread_mutex_lock(&node->apps_mu);
    a->next = node->apps;
    node->apps = a;
    pthread_mutex_unlock(&node->apps_mu);
    return 0;
}

int weft_node_app_bind(weft_node_t *node, const char *id, const char *abi, int *out_store,
                       char *out_msg, size_t msg_size)
{
    NODE_OUT_MSG(out_msg, msg_size);
    node_app_t *a = id ? node_app_opened(node, id) : NULL;
    if (!a) {
        snprintf(out_msg, msg_size, "no app %s opened in this node", id ? id : "(null)");
        return WEFT_ENOTFOUND;
    }
    const node_abi_t *bound = &node_abi_component;
    int store = 0;
    if (a->component && abi && strcmp(abi, "component") != 0) {
        snprintf(out_msg, msg_size, "a component's ABI is \"component\", not \"%s\"", abi);
        return WEFT_EUNLINKABLE;
    }
    int rc = a->component ? 0 : bind_abi(a->module, abi, &bound, &store, out_msg, msg_size);
    if (rc != 0)
        return rc;
    a->abi = bound;
    a->needs_store = store;
    if (out_store)
        *out_store = store;
    return 0;
}

/* The app of id, opened or stored (compiled now if not yet), or NULL. */
static node_app_t *find_app(weft_node_t *node, const char *id)
{
    char msg[256];
    weft_txn_t *txn;
    if (!id || strlen(id) != WEFT_APP_ID_LEN)
        return NULL;
    node_app_t *a = node_app_opened(node, id);
    if (!a && node->db && weft_txn_begin(node->db, WEFT_TXN_READ, &txn) == 0) {
        a = node_app_load(node, txn, id, msg, sizeof msg);
        weft_txn_abort(txn);
    }
    return a;
}

int weft_node_app_module(weft_node_t *node, const char *id, const struct weft_module **out)
{
    node_app_t *a = find_app(node, id);
    *out = a ? a->module : NULL;
    return *out ? 0 : WEFT_ENOTFOUND;
}

int weft_node_app_component(weft_node_t *node, const char *id, const struct weft_component **out)
{
    node_app_t *a = find_app(node, id);
    *out = a ? a->component : NULL;
    return *out ? 0 : WEFT_ENOTFOUND;
}

const char *weft_node_abi(const struct weft_module *module)
{
    const char *name = NULL;
    if (weft_node_abi_bind(module, NULL, &name, NULL, 0) != 0)
        return weft_profile_imported(module, "nx") ? "nx" : "wasi";
    /* an nx-ABI module that imports only WASI is shown as "wasi" */
    if (strcmp(name, "nx") == 0 && !weft_profile_imported(module, "nx"))
        return "wasi";
    return name;
}

int weft_node_app_manifest(weft_node_t *node, const char *id, char **out)
{
    weft_txn_t *txn;
    const uint8_t *v;
    size_t vlen;
    *out = NULL;
    if (!id || strlen(id) != WEFT_APP_ID_LEN)
        return WEFT_ENOTFOUND;
    uint8_t mkey[9 + WEFT_APP_ID_LEN];
    manifest_key(id, mkey);
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, mkey, sizeof mkey, &v, &vlen);
    if (rc == 0 && !(*out = malloc(vlen + 1)))
        rc = WEFT_ENOMEM;
    if (rc == 0) {
        memcpy(*out, v, vlen);
        (*out)[vlen] = '\0';
    }
    weft_txn_abort(txn);
    return rc;
}
