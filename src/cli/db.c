/*
 * src/cli/db.c — `weft db DIR get|set|del|scan`: the nx key/value state of
 * a data directory, by hand; `weft db DIR node-id`: its node id; `crdt`
 * and `vv` (db_crdt.c): its replicated state, read-only; `contexts`: the
 * contexts it holds; `verify`: a check of the whole data file.
 *
 * It reads and writes the same space (WEFT_SPACE_KV) and context keys nx's
 * db_* functions use, through the public weft/db.h only. It is an operator's
 * tool: it shows and may change the reserved __nx/ keys a guest never sees.
 * Keys and values print with non-printable bytes escaped (\xx), or in hex
 * with --hex, which also makes KEY, VALUE and PREFIX arguments hex.
 * node-id only reads: it never creates the identity (weft run does, with
 * sync on), so looking at a directory does not change it. A --context that
 * the directory does not hold is an error for the commands that read, so a
 * typo does not look like an empty context.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "db_priv.h"
#include "weft/db.h"
#include "weft/identity.h"

void cli_db_usage(FILE *out)
{
    fprintf(out,
            "usage: weft db DIR get KEY --context NAME [--hex]\n"
            "       weft db DIR set KEY VALUE --context NAME [--hex]\n"
            "       weft db DIR del KEY --context NAME [--hex]\n"
            "       weft db DIR scan [PREFIX] --context NAME [--hex]\n"
            "       weft db DIR crdt [KEY] --context NAME [--hex]\n"
            "       weft db DIR vv --context NAME\n"
            "       weft db DIR contexts\n"
            "       weft db DIR node-id\n"
            "       weft db DIR verify\n"
            "\n"
            "Reads or changes the key/value state nx modules keep in the data directory\n"
            "DIR (see weft run --data-dir), in the context NAME (by default weft run\n"
            "names a module's context after its file name without .wasm), or prints\n"
            "DIR's node id.\n"
            "\n"
            "  get      print the value of KEY\n"
            "  set      set KEY to VALUE (creates DIR when absent)\n"
            "  del      delete KEY (no error when it is absent)\n"
            "  scan     print every key starting with PREFIX (all when absent) and its\n"
            "           value, in byte order, one \"KEY<TAB>VALUE\" line each; this also\n"
            "           shows the runtime's reserved __nx/ keys\n"
            "  crdt     without KEY, list the context's replicated (crdt_*) keys, one\n"
            "           \"KEY<TAB>TYPE\" line each; with KEY, print its value as one JSON\n"
            "           line: {\"type\": ..., \"value\": ...} (counters a number, lww a\n"
            "           string or null, lww_map [{\"field\", \"value\"}], orset and rga\n"
            "           arrays; bytes that are not UTF-8 as {\"hex\": ...}). Read-only\n"
            "  vv       print the context's version vector: one \"ORIGIN<TAB>SEQ\" line\n"
            "           per node whose ops this directory holds (SEQ: how many)\n"
            "  contexts list DIR's contexts, one \"NAME<TAB>KEYS<TAB>CRDT\" line each in\n"
            "           byte order: KEYS counts its key/value keys (reserved __nx/ keys\n"
            "           included), CRDT its replicated keys\n"
            "  node-id  print DIR's node id (its ed25519 public key, 64 hex digits): the\n"
            "           id nx net_node_id answers and weft run's JSON logs and events\n"
            "           carry. Only reads: an error when DIR has none yet (weft run\n"
            "           creates it when it first runs an nx module there with sync on)\n"
            "  verify   check the whole data file (both meta pages, every page, key and\n"
            "           value of every space, the free list) and print what is wrong,\n"
            "           then \"DIR: ok\" or \"DIR: damaged\"; read-only. LMDB keeps no\n"
            "           checksums: a changed byte inside a value cannot be seen\n"
            "\n"
            "options:\n"
            "  --context NAME   the context (required, except for contexts, node-id and\n"
            "                   verify); get, scan, crdt and vv fail when DIR has no\n"
            "                   key in it\n"
            "  --hex            KEY, VALUE and PREFIX are hex; output is printed in hex\n"
            "  -h, --help       show this help\n"
            "\n"
            "Without --hex, output escapes control characters, quotes, backslashes and\n"
            "non-ASCII bytes as \\xx.\n"
            "\n"
            "exit codes: 0 success, 1 key, context or node id not found, database error\n"
            "or damaged data directory (verify: 0 ok, 1 damaged), 2 usage error\n");
}

typedef struct {
    int hex;
    size_t rows;
} print_t;

void db_print_bytes(FILE *out, const uint8_t *p, size_t n, int hex)
{
    if (!hex) {
        cli_print_name(out, (const char *)p, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", p[i]);
}

static int print_row(void *user, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    print_t *pr = user;
    db_print_bytes(stdout, key, klen, pr->hex);
    fputc('\t', stdout);
    db_print_bytes(stdout, val, vlen, pr->hex);
    fputc('\n', stdout);
    pr->rows++;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* An argument as bytes: itself, or decoded from hex in place. Returns 0 or
 * -1 (reported). */
static int arg_bytes(char *s, int hex, const uint8_t **out, size_t *out_len)
{
    size_t n = strlen(s);
    if (!hex) {
        *out = (const uint8_t *)s;
        *out_len = n;
        return 0;
    }
    if (n % 2) {
        cli_error("db: '%s' is not hex (odd length)", s);
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            cli_error("db: '%s' is not hex", s);
            return -1;
        }
        s[i] = (char)(hi * 16 + lo);
    }
    *out = (const uint8_t *)s;
    *out_len = n / 2;
    return 0;
}

/* Reports a failed weft_db_open: a damaged directory's message names it. */
static void open_error(const char *dir, int rc, const char *msg)
{
    if (rc == WEFT_EDAMAGED)
        cli_error("db: %s", msg);
    else
        cli_error("db: cannot open %s: %s", dir, msg[0] ? msg : weft_strerror(rc));
}

static void verify_line(void *user, int problem, const char *line)
{
    (void)user;
    printf("%s%s\n", problem ? "damaged: " : "", line);
}

/* verify: checks DIR read-only. Returns 0 (ok) or 1 (damaged, or the check
 * could not run). */
static int verify(const char *dir)
{
    struct stat st;
    weft_db_t *db = NULL;
    char msg[512] = "";
    if (stat(dir, &st) != 0) {
        cli_error("db: cannot open %s: %s", dir, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    int rc = weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg);
    if (rc == WEFT_EDAMAGED) {
        printf("damaged: %s\n%s: damaged\n", msg, dir);
        fflush(stdout);
        return CLI_EXIT_ERROR;
    }
    if (rc != 0) {
        open_error(dir, rc, msg);
        return CLI_EXIT_ERROR;
    }
    rc = weft_db_verify(db, verify_line, NULL);
    if (rc == 0 || rc == WEFT_EDAMAGED)
        printf("%s: %s\n", dir, rc == 0 ? "ok" : "damaged");
    else
        cli_error("db verify: %s", weft_db_errmsg(db));
    weft_db_close(db);
    if (fflush(stdout) != 0)
        rc = WEFT_EIO;
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

/* contexts: the union of the contexts of every space that has them, with
 * the key/value and CRDT key counts. */
typedef struct {
    uint8_t name[255];
    size_t len;
    uint64_t kv, crdt;
} ctx_row_t;

typedef struct {
    ctx_row_t *rows;
    size_t n, cap;
    weft_space_t space;
    int oom;
} ctx_list_t;

static int add_ctx(void *user, const uint8_t *ctx, size_t ctx_len, uint64_t keys)
{
    ctx_list_t *l = user;
    size_t lo = 0, hi = l->n;
    while (lo < hi) { /* rows stay sorted: binary search for ctx */
        size_t mid = (lo + hi) / 2;
        const ctx_row_t *r = &l->rows[mid];
        int c = memcmp(r->name, ctx, r->len < ctx_len ? r->len : ctx_len);
        if (c == 0)
            c = r->len < ctx_len ? -1 : r->len > ctx_len;
        if (c == 0) {
            lo = mid;
            goto found;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        ctx_row_t *rows = realloc(l->rows, cap * sizeof *rows);
        if (!rows) {
            l->oom = 1;
            return 1;
        }
        l->rows = rows;
        l->cap = cap;
    }
    memmove(&l->rows[lo + 1], &l->rows[lo], (l->n - lo) * sizeof *l->rows);
    memset(&l->rows[lo], 0, sizeof *l->rows);
    memcpy(l->rows[lo].name, ctx, ctx_len);
    l->rows[lo].len = ctx_len;
    l->n++;
found:
    if (l->space == WEFT_SPACE_KV)
        l->rows[lo].kv = keys;
    else if (l->space == WEFT_SPACE_CRDT)
        l->rows[lo].crdt = keys;
    return 0;
}

static const weft_space_t ctx_spaces[] = {WEFT_SPACE_KV,     WEFT_SPACE_CRDT,
                                          WEFT_SPACE_OPLOG,  WEFT_SPACE_TABLES,
                                          WEFT_SPACE_BLOBS,  WEFT_SPACE_CRDT_PARTS,
                                          WEFT_SPACE_EVENTS};

static int list_contexts(weft_txn_t *txn, int hex)
{
    ctx_list_t l = {NULL, 0, 0, WEFT_SPACE_KV, 0};
    int rc = 0;
    for (size_t i = 0; i < sizeof ctx_spaces / sizeof ctx_spaces[0] && rc == 0; i++) {
        l.space = ctx_spaces[i];
        rc = weft_txn_contexts(txn, l.space, add_ctx, &l);
        if (rc == 0 && l.oom)
            rc = WEFT_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        db_print_bytes(stdout, l.rows[i].name, l.rows[i].len, hex);
        printf("\t%llu\t%llu\n", (unsigned long long)l.rows[i].kv,
               (unsigned long long)l.rows[i].crdt);
    }
    free(l.rows);
    return rc;
}

static int stop_at_first(void *user, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    *(int *)user = 1;
    return 1;
}

/* 1 when ctx has a key in some space, 0 when none, or an error. */
static int context_exists(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len)
{
    int found = 0;
    for (size_t i = 0; i < sizeof ctx_spaces / sizeof ctx_spaces[0] && !found; i++) {
        int rc = weft_txn_scan(txn, ctx_spaces[i], ctx, ctx_len, NULL, 0, NULL, 0, stop_at_first,
                               &found);
        if (rc != 0)
            return rc;
    }
    return found;
}

/* node-id: prints DIR's node id, read-only. Returns the exit status. */
static int print_node_id(const char *dir)
{
    struct stat st;
    weft_db_t *db = NULL;
    char msg[512] = "";
    uint8_t id[WEFT_IDENTITY_PUBLIC_LEN];
    if (stat(dir, &st) != 0) {
        cli_error("db: cannot open %s: %s", dir, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    int rc = weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg);
    if (rc != 0) {
        open_error(dir, rc, msg);
        return CLI_EXIT_ERROR;
    }
    /* On a read-only database an absent key pair is WEFT_EARG: it is
     * neither created nor an error of the storage. */
    rc = weft_identity_load(db, id, NULL);
    int status = CLI_EXIT_ERROR;
    if (rc == 0) {
        for (size_t i = 0; i < sizeof id; i++)
            printf("%02x", id[i]);
        putchar('\n');
        status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    } else if (rc == WEFT_EARG) {
        cli_error("db: %s has no node id yet (weft run creates it when it first runs an nx "
                  "module there without --no-sync)",
                  dir);
    } else if (rc == WEFT_EDAMAGED) {
        cli_error("db: %s", weft_db_errmsg(db));
    } else {
        cli_error("db node-id: %s", weft_db_errmsg(db));
    }
    weft_db_close(db);
    return status;
}

int cli_db(int argc, char **argv)
{
    const char *context = NULL;
    char *pos[4];
    int npos = 0, hex = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_db_usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--hex") == 0) {
            hex = 1;
        } else if (strcmp(a, "--context") == 0 && i + 1 < argc) {
            context = argv[++i];
        } else if (strncmp(a, "--context=", 10) == 0) {
            context = a + 10;
        } else if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            cli_error("db: unknown option '%s'", a);
            cli_usage_hint("db");
            return CLI_EXIT_USAGE;
        } else if (npos < 4) {
            pos[npos++] = argv[i];
        } else {
            cli_error("db: too many arguments");
            return CLI_EXIT_USAGE;
        }
    }
    if (npos < 2) {
        cli_error("db: missing %s",
                  npos == 0 ? "DIR"
                            : "command (get, set, del, scan, crdt, vv, contexts, node-id or verify)");
        cli_usage_hint("db");
        return CLI_EXIT_USAGE;
    }
    const char *dir = pos[0], *cmd = pos[1];
    int want = strcmp(cmd, "get") == 0 || strcmp(cmd, "del") == 0 ? 3
               : strcmp(cmd, "set") == 0                          ? 4
               : strcmp(cmd, "scan") == 0 || strcmp(cmd, "crdt") == 0 ? -1
               : strcmp(cmd, "node-id") == 0 || strcmp(cmd, "vv") == 0 ||
                       strcmp(cmd, "contexts") == 0 || strcmp(cmd, "verify") == 0
                   ? 2
                   : 0;
    if (want == 0) {
        cli_error("db: unknown command '%s' (get, set, del, scan, crdt, vv, contexts, node-id "
                  "or verify)", cmd);
        return CLI_EXIT_USAGE;
    }
    if ((want > 0 && npos != want) || (want < 0 && npos > 3)) {
        cli_error("db %s: wrong number of arguments", cmd);
        cli_usage_hint("db");
        return CLI_EXIT_USAGE;
    }
    int whole = strcmp(cmd, "node-id") == 0 || strcmp(cmd, "verify") == 0 ||
                strcmp(cmd, "contexts") == 0;
    if (whole && context) {
        cli_error("db %s: it is about the whole data directory; it takes no --context", cmd);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(cmd, "node-id") == 0)
        return print_node_id(dir);
    if (strcmp(cmd, "verify") == 0)
        return verify(dir);
    int listing = strcmp(cmd, "contexts") == 0; /* the one command without a context */
    if (!listing && (!context || !*context || strlen(context) > 255)) {
        cli_error("db: --context NAME (1 to 255 bytes) is required");
        return CLI_EXIT_USAGE;
    }
    const uint8_t *key = (const uint8_t *)"", *val = (const uint8_t *)"";
    size_t klen = 0, vlen = 0;
    if (npos >= 3 && arg_bytes(pos[2], hex, &key, &klen) != 0)
        return CLI_EXIT_USAGE;
    if (npos >= 4 && arg_bytes(pos[3], hex, &val, &vlen) != 0)
        return CLI_EXIT_USAGE;

    int writing = strcmp(cmd, "set") == 0 || strcmp(cmd, "del") == 0;
    struct stat st;
    if (!writing && stat(dir, &st) != 0) {
        cli_error("db: cannot open %s: %s", dir, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    weft_db_t *db = NULL;
    weft_txn_t *txn = NULL;
    char msg[512] = "";
    int status = CLI_EXIT_ERROR;
    int rc = weft_db_open(dir, writing ? 0 : WEFT_DB_READONLY, &db, msg, sizeof msg);
    if (rc != 0) {
        open_error(dir, rc, msg);
        return CLI_EXIT_ERROR;
    }
    int no_context = 0;
    const uint8_t *ctx = (const uint8_t *)(listing ? "" : context);
    size_t ctx_len = listing ? 0 : strlen(context);
    for (int tries = 0; tries < 2; tries++) {
        rc = weft_txn_begin(db, writing ? WEFT_TXN_WRITE : WEFT_TXN_READ, &txn);
        if (rc != 0) {
            txn = NULL;
            break;
        }
        if (!writing && !listing && (rc = context_exists(txn, ctx, ctx_len)) <= 0) {
            no_context = rc == 0;
            rc = rc == 0 ? WEFT_ENOTFOUND : rc;
        } else if (listing) {
            rc = list_contexts(txn, hex);
        } else if (strcmp(cmd, "get") == 0) {
            const uint8_t *v;
            size_t n;
            rc = weft_txn_get(txn, WEFT_SPACE_KV, ctx, ctx_len, key, klen, &v, &n);
            if (rc == 0) {
                db_print_bytes(stdout, v, n, hex);
                fputc('\n', stdout);
            }
        } else if (strcmp(cmd, "crdt") == 0) {
            rc = db_crdt(txn, ctx, ctx_len, key, klen, npos == 3, hex);
        } else if (strcmp(cmd, "vv") == 0) {
            rc = db_vv(txn, ctx, ctx_len);
        } else if (strcmp(cmd, "scan") == 0) {
            print_t pr = {hex, 0};
            rc = weft_txn_scan(txn, WEFT_SPACE_KV, ctx, ctx_len, key, klen, NULL, 0, print_row, &pr);
        } else if (strcmp(cmd, "set") == 0) {
            rc = weft_txn_put(txn, WEFT_SPACE_KV, ctx, ctx_len, key, klen, val, vlen);
        } else {
            rc = weft_txn_del(txn, WEFT_SPACE_KV, ctx, ctx_len, key, klen);
        }
        if (rc == 0) {
            weft_txn_t *t = txn;
            txn = NULL;
            rc = weft_txn_commit(t);
        }
        if (txn) {
            weft_txn_abort(txn);
            txn = NULL;
        }
        if (!weft_db_retryable(rc))
            break;
    }
    if (rc == 0)
        status = CLI_EXIT_OK;
    else if (no_context)
        cli_error("db: no context %s in %s; `weft db %s contexts` lists them", context, dir, dir);
    else if (rc == WEFT_ENOTFOUND)
        cli_error("db: key not found");
    else
        cli_error("db %s: %s", cmd, weft_db_errmsg(db));
    if (fflush(stdout) != 0)
        status = CLI_EXIT_ERROR;
    weft_db_close(db);
    return status;
}
