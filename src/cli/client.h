/*
 * src/cli/client.h — the client commands of weft-node (deploy, context,
 * call, events, logs, state, status), which talk to a node over its HTTP
 * API (docs/http.md) with libcurl. client.c holds the shared part: the
 * common options (--node, --token-file, --json), one request at a time on
 * a kept-alive connection, errors the user can act on, and small JSON and
 * base64 helpers. Exit codes are weft's: 0 ok, 1 error (the node answered
 * an error, or cannot be reached), 2 usage, 3 the call trapped.
 */
#ifndef WEFT_CLIENT_H
#define WEFT_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

/* The node weft talks to when neither --node nor $WEFT_NODE says. */
#define CLIENT_DEFAULT_NODE "http://127.0.0.1:7373"

typedef struct client client_t;

/* The options every client command takes. */
typedef struct {
    const char *node;       /* --node URL, else $WEFT_NODE, else the default */
    const char *token_file; /* --token-file FILE, else $WEFT_TOKEN */
    const char *config;     /* --config FILE (the node's), else $WEFT_CONFIG: its address and a
                               token with the command's scope, when the two above say nothing */
    int json;               /* --json: print the node's JSON answers */
} client_opts_t;

/* One exchange with the node. The answer's body is buffered (NUL-terminated)
 * unless on_data is set: then a 2xx body goes to on_data as it arrives
 * (return 0 to go on, non-zero to stop the transfer) and only an error body
 * is buffered. */
typedef struct {
    const char *method;
    const char *path; /* from the root, already escaped, with any query */
    const void *body;
    size_t body_len;
    const char *content_type, *accept;
    const char *last_event_id;
    const char *const *headers; /* more "Name: value" lines (nheaders of them) */
    size_t nheaders;
    int progress; /* show upload progress on stderr when it is a terminal */
    FILE *upload;       /* PUT: the body is read from here as it goes, not from body */
    int64_t upload_len; /* its size, or -1 when unknown (sent chunked) */
    int (*on_data)(void *user, const char *p, size_t n);
    void *user;
} client_req_t;

typedef struct {
    long status;     /* the HTTP status */
    char *body;      /* malloc'ed, NUL-terminated */
    size_t len;
    json_t *doc;     /* the body parsed as JSON, or NULL */
    int stopped;     /* the transfer was stopped: by on_data or by Ctrl-C */
} client_resp_t;

/* Set by the SIGINT/SIGTERM handler of client_catch_signals: a following
 * command (events, logs -f) ends its transfer and exits 0. */
extern volatile sig_atomic_t client_interrupted;
void client_catch_signals(void);

/* Parses one common option at argv[*i] (taking its value, *i advanced).
 * Returns 1 when it was one, 0 when not, -1 on a usage error (reported). */
int client_parse_opt(client_opts_t *o, const char *cmd, int argc, char **argv, int *i);
/* A command's own option: a flag (*flag set to 1) or one with a value
 * (*value set). */
typedef struct {
    const char *name;
    const char **value;
    int *flag;
} client_flag_t;

/* Parses a command line: common options, the command's own (flags), and
 * up to maxpos positional arguments into pos[] (*npos of them); "--" ends
 * the options and "-" is an argument. Returns 0, 1 when the help was
 * printed (usage to stdout), or -1 after a usage error (reported, with the
 * hint to --help). */
int client_parse(const char *cmd, int argc, char **argv, client_opts_t *o,
                 const client_flag_t *flags, size_t nflags, const char **pos, size_t maxpos,
                 size_t *npos, void (*usage)(FILE *));
/* The help lines of the common options. */
void client_print_opts(FILE *out);

/* Makes a client for the options (reads the token file). Returns NULL
 * after reporting why; *exit_code says which exit code to use. */
client_t *client_new(const client_opts_t *o, const char *cmd, int *exit_code);
void client_delete(client_t *c);
int client_json(const client_t *c);

/* Performs the request. Returns 0 when the node answered (any status; *out
 * filled, free it with client_resp_fini) or -1 when it could not be reached
 * or the transfer failed (reported: "cannot reach the node at URL: ..."). */
int client_request(client_t *c, const client_req_t *req, client_resp_t *out);
void client_resp_fini(client_resp_t *r);

/* Reports a non-2xx answer: "weft: CMD: message (CODE)" on stderr, a hint
 * for 401/403, and with --json the answer itself on stdout. Returns the
 * exit code (CLI_EXIT_ERROR). */
int client_fail(client_t *c, const char *cmd, const client_resp_t *r);
/* After a 404 from a route the node may not serve yet (logs, crdt): when
 * the context (ctx, escaped) exists, reports "this node does not serve
 * WHAT yet", else the context's own error. Returns the exit code. */
int client_missing_route(client_t *c, const char *cmd, const char *ctx, const char *what,
                         const client_resp_t *r);
/* The error code of an error answer ("NOT_FOUND"), or "". */
const char *client_error_code(const client_resp_t *r);

/* A path segment percent-encoded (malloc'ed), or NULL when out of memory. */
char *client_escape(client_t *c, const char *s, size_t len);

/* Prints a JSON value as the answer of --json (indented, a newline). */
void client_print_json(json_t *v);

/* The bytes of member `key` of obj: the string itself, or the decoded
 * `key_base64` that the node sends for bytes that are not UTF-8. Returns a
 * malloc'ed buffer (NUL-terminated, *len its length) or NULL when obj has
 * neither. *is_text (may be NULL): 1 when the node sent them as text. */
uint8_t *client_bytes(json_t *obj, const char *key, size_t *len, int *is_text);
/* Writes bytes for a one-line human listing: printable text as it is,
 * newlines, tabs, backslashes and control characters as \n, \t, \\ and
 * \xNN, and bytes over 0x7f too unless is_text (the node checked UTF-8). */
void client_print_line_bytes(FILE *out, const uint8_t *p, size_t len, int is_text);

/* Sleeps ms milliseconds or until Ctrl-C. */
void client_sleep_ms(unsigned ms);

/* The commands (argv[0] is the command name) and their help. */
int cli_deploy(int argc, char **argv);
int cli_context(int argc, char **argv);
int cli_call(int argc, char **argv);
int cli_events(int argc, char **argv);
int cli_logs(int argc, char **argv);
int cli_state(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_peers(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_blob(int argc, char **argv);
void cli_blob_usage(FILE *out);
void cli_deploy_usage(FILE *out);
void cli_context_usage(FILE *out);
void cli_call_usage(FILE *out);
void cli_events_usage(FILE *out);
void cli_logs_usage(FILE *out);
void cli_state_usage(FILE *out);
void cli_status_usage(FILE *out);
void cli_peers_usage(FILE *out);
void cli_keygen_usage(FILE *out);
/* The three headers of a signed call (docs/http.md "Signed calls") for
 * METHOD PATH (escaped, no query) and the call's input, signed with the key
 * in key_file, as "Name: value" lines. Returns 0, or -1 (reported). */
int client_sign(const char *key_file, const char *method, const char *path, const uint8_t *input,
                size_t input_len, char out[3][192]);

#endif
