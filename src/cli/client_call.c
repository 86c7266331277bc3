/*
 * src/cli/client_call.c — `weft call CONTEXT FUNCTION [INPUT | -]`: one
 * call on a node (POST, or GET for --view), with weft run's contract.
 *
 * The guest's output bytes go to stdout exactly as it wrote them (the node
 * sends them as text, or base64 when they are not UTF-8), its log lines to
 * stderr as `CONTEXT: line`. Exit codes as `weft run`: 0, the status the
 * guest exited with when it exited non-zero (its writes rolled back), 3 for
 * a trap, 1 when the call was refused or failed around the guest or the
 * node answered another error, 2 for a usage error. With --json the whole
 * answer (also an error's) is printed on stdout, and the exit code is the
 * same.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

void cli_call_usage(FILE *out)
{
    fprintf(out,
            "usage: weft call [options] CONTEXT FUNCTION [INPUT | -]\n"
            "\n"
            "Calls FUNCTION, an export of the context's app, on the node. INPUT is the\n"
            "guest's stdin (- reads it from weft's stdin; none: empty). What the guest writes\n"
            "to stdout is printed on stdout as it is; its log lines go to stderr. A write\n"
            "call is answered once its changes are durable.\n"
            "\n"
            "options:\n"
            "  --view              a read-only call (GET): runs beside writers, and any\n"
            "                      write traps; INPUT must not hold a zero byte\n"
            "  --args JSON         numeric arguments for an export that takes numbers, as a\n"
            "                      JSON array ('[40, 2]'); its results are printed one a line\n"
            "  --arg ARG           a WASI argument (argv[1], argv[2], ... in the order given;\n"
            "                      repeatable): weft call CTX _start --arg show --arg sku-1\n"
            "                      runs a command as weft run APP show sku-1 would\n"
            "  --sign-key FILE     sign the call with the ed25519 key in FILE (weft keygen\n"
            "                      makes one): the node runs it as that key's identity\n");
    client_print_opts(out);
    fprintf(out,
            "\n"
            "exit codes:\n"
            "  0    the call succeeded\n"
            "  1    the node refused or could not run the call (unknown context or function,\n"
            "       bad arguments, limits), or cannot be reached\n"
            "  2    usage error\n"
            "  3    the guest trapped: kind and message on stderr; its writes were rolled back\n"
            "  N    the guest exited with status N (as weft run); its writes were rolled back\n");
}

/* Writes the log lines of an answer (or of its error) to stderr. */
static void print_logs(const char *ctx, json_t *logs)
{
    size_t i;
    json_t *line;
    json_array_foreach(logs, i, line) {
        /* A line is a string, or {"line_base64"} when it is not UTF-8. */
        size_t n = 0;
        uint8_t *p = NULL;
        const char *text = json_string_value(line);
        if (text)
            n = json_string_length(line);
        else if (!(p = client_bytes(line, "line", &n, NULL)))
            continue;
        fprintf(stderr, "%s: ", ctx);
        fwrite(text ? (const void *)text : p, 1, n, stderr);
        if (n == 0 || (text ? text[n - 1] : (char)p[n - 1]) != '\n')
            fputc('\n', stderr);
        free(p);
    }
}

static void print_output(json_t *obj)
{
    size_t n;
    uint8_t *out = client_bytes(obj, "output", &n, NULL);
    if (out)
        fwrite(out, 1, n, stdout);
    free(out);
}

/* A 422 answer: the guest trapped, exited, or the call failed. */
static int call_failed(client_t *c, const char *ctx, const client_resp_t *r)
{
    json_t *err = json_object_get(r->doc, "error");
    const char *code = client_error_code(r);
    const char *msg = json_string_value(json_object_get(err, "message"));
    int rolled = json_is_true(json_object_get(err, "rolled_back"));
    if (client_json(c)) {
        client_print_json(r->doc);
    } else {
        print_output(err);
        fflush(stdout);
        print_logs(ctx, json_object_get(err, "logs"));
    }
    if (strcmp(code, "TRAP") == 0) {
        /* As weft run: "trap: message (KIND)", unless the message names it. */
        const char *kind = json_string_value(json_object_get(err, "trap")) ?: "?";
        if (!msg)
            msg = "the call trapped";
        if (strstr(msg, kind))
            fprintf(stderr, "weft: trap: %s\n", msg);
        else
            fprintf(stderr, "weft: trap: %s (%s)\n", msg, kind);
        if (rolled)
            cli_error("trap: this call's writes were rolled back");
        return CLI_EXIT_TRAP;
    }
    if (strcmp(code, "EXIT") == 0) {
        int status = (int)(json_integer_value(json_object_get(err, "status")) & 0xff);
        if (status == 0)
            status = CLI_EXIT_ERROR; /* never 0 for a failed call */
        if (rolled)
            cli_error("exit status %d: this call's writes were rolled back", status);
        else
            cli_error("exit status %d", status);
        return status;
    }
    cli_error("call: %s", msg ? msg : "the call failed");
    return CLI_EXIT_ERROR;
}

/* Takes every `--arg VALUE` out of argv (before a "--"), in order, into
 * *out (malloc'ed, *nout of them): client_parse keeps one value per
 * option, and --arg repeats. Returns 0, or -1 after a usage error. */
static int take_args(int *argc, char **argv, const char ***out, size_t *nout)
{
    int n = 0;
    *nout = 0;
    if (!(*out = malloc((size_t)*argc * sizeof **out)))
        return -1;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[n++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--arg") != 0) {
            argv[n++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            cli_error("call: --arg needs a value");
            cli_usage_hint("call");
            return -1;
        }
        (*out)[(*nout)++] = argv[++i];
    }
    *argc = n;
    return 0;
}

static int cli_call_args(int argc, char **argv, const char **wargs, size_t nwargs);

int cli_call(int argc, char **argv)
{
    const char **wargs = NULL;
    size_t nwargs = 0;
    if (take_args(&argc, argv, &wargs, &nwargs) != 0) {
        free(wargs);
        return CLI_EXIT_USAGE;
    }
    int rc = cli_call_args(argc, argv, wargs, nwargs);
    free(wargs);
    return rc;
}

static int cli_call_args(int argc, char **argv, const char **wargs, size_t nwargs)
{
    client_opts_t o = {0};
    const char *pos[3], *args = NULL;
    int view = 0;
    size_t npos;
    const char *sign_key = NULL;
    client_flag_t flags[] = {{"--view", NULL, &view}, {"--args", &args, NULL},
                             {"--sign-key", &sign_key, NULL}};
    int rc = client_parse("call", argc, argv, &o, flags, 3, pos, 3, &npos, cli_call_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    const char *why = npos < 2                ? "give the context and the function"
                      : args && npos == 3     ? "give either INPUT or --args, not both"
                                              : NULL;
    json_t *jargs = NULL;
    if (!why && args) {
        json_error_t je;
        jargs = json_loads(args, JSON_DECODE_ANY, &je);
        if (!json_is_array(jargs))
            why = "--args must be a JSON array of numbers, like '[40, 2]'";
    }
    if (why) {
        cli_error("call: %s", why);
        cli_usage_hint("call");
        json_decref(jargs);
        return CLI_EXIT_USAGE;
    }
    json_decref(jargs);
    const char *ctx = pos[0], *fn = pos[1];
    uint8_t *input = NULL;
    size_t input_len = 0;
    char *cesc = NULL, *fesc = NULL, *iesc = NULL, *path = NULL, *aq = NULL;
    client_resp_t r = {0};
    client_t *c = client_new(&o, "call", &rc);
    if (!c)
        return rc;
    rc = CLI_EXIT_ERROR;
    if (npos == 3 && strcmp(pos[2], "-") == 0) {
        if (cli_read_file("-", &input, &input_len) != 0) {
            cli_error("call: cannot read the input from stdin: %m");
            goto done;
        }
    } else if (npos == 3) {
        input_len = strlen(pos[2]);
        if (!(input = (uint8_t *)strdup(pos[2])))
            goto oom;
    } else if (args) {
        input_len = strlen(args);
        if (!(input = (uint8_t *)strdup(args)))
            goto oom;
    }
    if (strlen(ctx) == 0 || strlen(ctx) > 255 || strlen(fn) == 0) {
        cli_error("call: a context name is 1 to 255 bytes, and a function name not empty");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (view && input && memchr(input, 0, input_len)) {
        cli_error("call: a view's input cannot hold a zero byte (it travels in the URL)");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!(cesc = client_escape(c, ctx, strlen(ctx))) || !(fesc = client_escape(c, fn, strlen(fn))))
        goto oom;
    if (view && input_len && !(iesc = client_escape(c, (const char *)input, input_len)))
        goto oom;
    /* The WASI arguments, "?arg=A&arg=B" (escaped), first in the query: a
     * signature covers the path and them (docs/http.md). */
    size_t aq_len = 0;
    for (size_t i = 0; i < nwargs; i++) {
        char *e = client_escape(c, wargs[i], strlen(wargs[i]));
        char *grown = e ? realloc(aq, aq_len + strlen(e) + 6) : NULL;
        if (!grown) {
            free(e);
            goto oom;
        }
        aq = grown;
        aq_len += (size_t)sprintf(aq + aq_len, "%carg=%s", i ? '&' : '?', e);
        free(e);
    }
    size_t cap = strlen(cesc) + strlen(fesc) + (iesc ? strlen(iesc) : 0) + aq_len + 64;
    if (!(path = malloc(cap)))
        goto oom;
    /* A view takes its input, or its JSON arguments, in the query. */
    snprintf(path, cap, "/v1/contexts/%s/call/%s%s%s%s", cesc, fesc, aq ? aq : "",
             !iesc ? "" : aq ? (args ? "&args=" : "&input=") : args ? "?args=" : "?input=",
             iesc ? iesc : "");
    client_req_t req = {.method = view ? "GET" : "POST", .path = path,
                        .body = view ? NULL : input, .body_len = view ? 0 : input_len,
                        .content_type = args ? "application/json" : "application/octet-stream",
                        .accept = "application/json"};
    char sig_lines[3][192];
    const char *sig_hdrs[3] = {sig_lines[0], sig_lines[1], sig_lines[2]};
    if (sign_key) {
        char *unsigned_path = malloc(cap);
        if (!unsigned_path)
            goto oom;
        snprintf(unsigned_path, cap, "/v1/contexts/%s/call/%s%s", cesc, fesc, aq ? aq : "");
        int bad = client_sign(sign_key, req.method, unsigned_path, input, input_len, sig_lines);
        free(unsigned_path);
        if (bad) {
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        req.headers = sig_hdrs;
        req.nheaders = 3;
    }
    if (client_request(c, &req, &r) != 0)
        goto done;
    if (r.status == 422 && r.doc) {
        rc = call_failed(c, ctx, &r);
        goto done;
    }
    if (r.status != 200 || !json_is_object(r.doc)) {
        rc = client_fail(c, "call", &r);
        goto done;
    }
    if (client_json(c)) {
        client_print_json(r.doc);
    } else {
        print_output(r.doc);
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(r.doc, "values"), i, v) {
            /* As weft run --invoke prints results: one a line. */
            if (json_is_string(v))
                printf("%s\n", json_string_value(v));
            else {
                json_dumpf(v, stdout, JSON_ENCODE_ANY);
                fputc('\n', stdout);
            }
        }
        fflush(stdout);
        print_logs(ctx, json_object_get(r.doc, "logs"));
    }
    rc = CLI_EXIT_OK;
    goto done;
oom:
    cli_error("call: out of memory");
done:
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        cli_error("call: cannot write the output: %m");
        rc = CLI_EXIT_ERROR;
    }
    client_resp_fini(&r);
    free(aq);
    free(path);
    free(iesc);
    free(fesc);
    free(cesc);
    free(input);
    client_delete(c);
    return rc;
}

/* ---- signed calls ---------------------------------------------------------- */

/* Reads the 32-byte seed of an ed25519 key from FILE (64 hex digits). */
static int read_seed(const char *file, uint8_t seed[32])
{
    uint8_t *text = NULL;
    size_t len = 0, got = 0;
    if (cli_read_file(file, &text, &len) != 0) {
        cli_error("call: cannot read the key %s: %m", file);
        return -1;
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    int rc = len == 64 && sodium_hex2bin(seed, 32, (const char *)text, len, NULL, &got, NULL) == 0 &&
                     got == 32
                 ? 0
                 : -1;
    sodium_memzero(text, len);
    free(text);
    if (rc != 0)
        cli_error("call: %s is not a key (64 hex digits, as weft keygen writes)", file);
    return rc;
}

int client_sign(const char *key_file, const char *method, const char *path, const uint8_t *input,
                size_t input_len, char out[3][192])
{
    uint8_t seed[32], pk[32], sk[64], sig[64], sum[32];
    if (sodium_init() < 0 || read_seed(key_file, seed) != 0)
        return -1;
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[24], sum_hex[65], pk_hex[65], sig_hex[129];
    snprintf(when, sizeof when, "%llu",
             (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000u);
    crypto_hash_sha256(sum, input ? input : (const uint8_t *)"", input_len);
    sodium_bin2hex(sum_hex, sizeof sum_hex, sum, sizeof sum);
    /* docs/http.md "Signed calls": the message signed */
    size_t mlen = strlen(method) + strlen(path) + strlen(when) + 100;
    char *m = malloc(mlen);
    if (!m) {
        sodium_memzero(sk, sizeof sk);
        cli_error("out of memory");
        return -1;
    }
    int n = snprintf(m, mlen, "weft-call-v1\n%s\n%s\n%s\n%s", method, path, when, sum_hex);
    crypto_sign_detached(sig, NULL, (const uint8_t *)m, (size_t)n, sk);
    sodium_memzero(sk, sizeof sk);
    free(m);
    sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    snprintf(out[0], 192, "Weft-Signer: %s", pk_hex);
    snprintf(out[1], 192, "Weft-Timestamp: %s", when);
    snprintf(out[2], 192, "Weft-Signature: %s", sig_hex);
    return 0;
}

/* ---- weft keygen ------------------------------------------------------------ */

void cli_keygen_usage(FILE *out)
{
    fprintf(out,
            "usage: weft keygen FILE\n"
            "\n"
            "Makes an ed25519 key for signing calls (weft call --sign-key FILE): FILE gets\n"
            "its 32-byte seed as 64 hex digits, readable by you alone (mode 0600); the\n"
            "public key, the identity the node will see, is printed. FILE must not exist.\n");
}

int cli_keygen(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        cli_keygen_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        cli_error("keygen: give the file to write the key to: weft keygen FILE");
        cli_usage_hint("keygen");
        return CLI_EXIT_USAGE;
    }
    uint8_t seed[32], pk[32], sk[64];
    char hex[65], pk_hex[65];
    if (sodium_init() < 0) {
        cli_error("keygen: libsodium failed to initialise");
        return CLI_EXIT_ERROR;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        cli_error("keygen: cannot create %s: %m%s", argv[1],
                  errno == EEXIST ? " (it would replace a key: remove it first)" : "");
        return CLI_EXIT_ERROR;
    }
    randombytes_buf(seed, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_bin2hex(hex, sizeof hex, seed, sizeof seed);
    hex[64] = '\n';
    int bad = write(fd, hex, 65) != 65;
    bad |= close(fd) != 0;
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(hex, sizeof hex);
    if (bad) {
        cli_error("keygen: cannot write %s: %m", argv[1]);
        unlink(argv[1]);
        return CLI_EXIT_ERROR;
    }
    sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
    printf("%s\n", pk_hex);
    return CLI_EXIT_OK;
}
