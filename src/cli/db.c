/*
 * src/cli/db.c — `weft db DIR get|set|del|scan`: the nx key/value state of
 * a data directory, by hand; `weft db DIR node-id`: its node id; `crdt`
 * and `vv` (db_crdt.c): its replicated state, read-only.
 *
 * It reads and writes the same space (WEFT_SPACE_KV) and context keys nx's
 * db_* functions use, through the public weft/db.h only. It is an operator's
 * tool: it shows and may change the reserved __nx/ keys a guest never sees.
 * Keys and values print with non-printable bytes escaped (\xx), or in hex
 * with --hex, which also makes KEY, VALUE and PREFIX arguments hex.
 * node-id only reads: it never creates the identity (weft run does, with
 * sync on), so looking at a directory does not change it.
 */
#include <errno.h>
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
            "       weft db DIR node-id\n"
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
            "  node-id  print DIR's node id (its ed25519 public key, 64 hex digits): the\n"
            "           id nx net_node_id answers and weft run's JSON logs and events\n"
            "           carry. Only reads: an error when DIR has none yet (weft run\n"
            "           creates it when it first runs an nx module there with sync on)\n"
            "\n"
            "options:\n"
            "  --context NAME   the context (required, except for node-id)\n"
            "  --hex            KEY, VALUE and PREFIX are hex; output is printed in hex\n"
            "  -h, --help       show this help\n"
            "\n"
            "Without --hex, output escapes control characters, quotes, backslashes and\n"
            "non-ASCII bytes as \\xx.\n"
            "\n"
            "exit codes: 0 success, 1 key (or node id) not found or database error,\n"
            "2 usage error\n");
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
        cli_error("db: cannot open %s: %s", dir, msg[0] ? msg : weft_strerror(rc));
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
    } else if (rc == WEFT_EIO) {
        cli_error("db: the node identity of %s is damaged (not a valid ed25519 key pair)", dir);
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
            cli_db_usage(stderr);
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
                  npos == 0 ? "DIR" : "command (get, set, del, scan, crdt, vv or node-id)");
        cli_db_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *dir = pos[0], *cmd = pos[1];
    int want = strcmp(cmd, "get") == 0 || strcmp(cmd, "del") == 0 ? 3
               : strcmp(cmd, "set") == 0                          ? 4
               : strcmp(cmd, "scan") == 0 || strcmp(cmd, "crdt") == 0 ? -1
               : strcmp(cmd, "node-id") == 0 || strcmp(cmd, "vv") == 0 ? 2
                                                                        : 0;
    if (want == 0) {
        cli_error("db: unknown command '%s' (get, set, del, scan, crdt, vv or node-id)", cmd);
        return CLI_EXIT_USAGE;
    }
    if ((want > 0 && npos != want) || (want < 0 && npos > 3)) {
        cli_error("db %s: wrong number of arguments", cmd);
        cli_db_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(cmd, "node-id") == 0) {
        if (context) {
            cli_error("db node-id: the node id belongs to the whole data directory; "
                      "it takes no --context");
            return CLI_EXIT_USAGE;
        }
        return print_node_id(dir);
    }
    if (!context || !*context || strlen(context) > 255) {
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
        cli_error("db: cannot open %s: %s", dir, msg[0] ? msg : weft_strerror(rc));
        return CLI_EXIT_ERROR;
    }
    const uint8_t *ctx = (const uint8_t *)context;
    size_t ctx_len = strlen(context);
    for (int tries = 0; tries < 2; tries++) {
        rc = weft_txn_begin(db, writing ? WEFT_TXN_WRITE : WEFT_TXN_READ, &txn);
        if (rc != 0) {
            txn = NULL;
            break;
        }
        if (strcmp(cmd, "get") == 0) {
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
    else if (rc == WEFT_ENOTFOUND)
        cli_error("db: key not found");
    else
        cli_error("db %s: %s", cmd, weft_db_errmsg(db));
    if (fflush(stdout) != 0)
        status = CLI_EXIT_ERROR;
    weft_db_close(db);
    return status;
}
