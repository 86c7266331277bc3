/*
 * src/cli/serve.c — `weft serve`: open a node on a data directory and serve
 * its HTTP API (weft/server.h, docs/http.md) until SIGINT or SIGTERM.
 *
 * Options come from the command line and from a JSON config file
 * (--config), the command line winning. Tokens live only in the config
 * file, never on the command line (where `ps` would show them). Signals
 * are blocked in every thread and taken by the main thread with sigwait,
 * so a shutdown runs in ordinary code: the server stops taking requests,
 * answers what is in flight, and the node commits what is queued before
 * the process exits 0.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "weft/http_out.h"
#include "weft/node.h"
#include "weft/server.h"

void cli_serve_usage(FILE *out)
{
    fprintf(out,
            "usage: weft serve [options]\n"
            "\n"
            "Starts a node: the data directory, its apps and contexts, and the HTTP API\n"
            "(docs/http.md). Stops cleanly on Ctrl-C or SIGTERM: calls in flight finish and\n"
            "are committed first.\n"
            "\n"
            "options:\n"
            "  --data-dir DIR       the node's data directory (default: $WEFT_DATA_DIR,\n"
            "                       else $XDG_DATA_HOME/weft, else ~/.local/share/weft)\n"
            "  --listen ADDR:PORT   where to listen (default 127.0.0.1:7373; port 0 picks a\n"
            "                       free one). A non-loopback address needs tokens.\n"
            "  --workers N          threads running read-only calls (default: the cores)\n"
            "  --config FILE        JSON settings: listen, workers, tokens, limits (below)\n"
            "  --port-file FILE     write the port listened on to FILE once ready\n"
            "  --fuel N             fuel limit of every call (default: none)\n"
            "  --tier interp|jit|auto  the tier of the apps' modules (default auto on\n"
            "                       x86-64 Linux, interp elsewhere; an app's manifest may\n"
            "                       name its own; docs/jit.md). The compiled tiers cache\n"
            "                       code in DIR/code-cache\n"
            "  --timeout DURATION   wall-clock limit of every call (default: 30s, so a call\n"
            "                       that never returns cannot hold the writer or a shutdown)\n"
            "  --no-sync            replication off: no node id is made, net_* give -5\n"
            "  --peer-listen ADDR:PORT  accept peer links (sync, docs/sync.md) there; port 0\n"
            "                       picks a free one\n"
            "  --peer ADDR:PORT     a peer to link to (repeat for more; more are learned)\n"
            "  --peer-port-file FILE  write the peer port listened on to FILE once ready\n"
            "  --sync nats://HOST:PORT[,nats://HOST:PORT]  replicate through NATS JetStream\n"
            "                       instead of peer links (docs/sync.md \"NATS transport\")\n"
            "  --nats-creds FILE    NATS credentials: a .creds file or an nkey seed file\n"
            "  --nats-ca FILE       TLS to NATS, the servers' certificates checked with these CAs\n"
            "  --nats-replicas N    replicas of each context's stream (default 1)\n"
            "  --state-redis redis://HOST:PORT  Faasm's global state tier on that Redis\n"
            "                       server (docs/faasm.md; default: in the node)\n"
            "  --log-level LEVEL    Cosmictron console.log lines kept: from trace, debug,\n"
            "                       info, warn or error (or 0-4) up (default trace: all;\n"
            "                       config key \"log_level\")\n"
            "  -h, --help           show this help\n"
            "\n"
            "config file:\n"
            "  {\"listen\": \"127.0.0.1:7373\", \"workers\": 2,\n"
            "   \"tokens\": [{\"token\": \"SECRET\", \"scopes\": [\"admin\", \"call\", \"read\"]}],\n"
            "   \"limits\": {\"fuel\": 0, \"timeout_ms\": 30000, \"max_memory_pages\": 4096,\n"
            "              \"max_input_bytes\": 1048576, \"max_output_bytes\": 16777216},\n"
            "   \"max_app_bytes\": 16777216, \"max_call_bytes\": 1048576, \"heartbeat_ms\": 15000,\n"
            "   \"idle_timeout_s\": 30, \"sse_buffer_bytes\": 1048576, \"tier\": \"auto\",\n"
            "   \"peer_listen\": \"0.0.0.0:7374\", \"peers\": [\"10.0.0.2:7374\"],\n"
            "   \"sync_compact_ms\": 10000, \"sync_compact_keep\": 1024,\n"
            "   \"state_redis\": \"redis://127.0.0.1:6379\",\n"
            "   \"outbound_http\": {\"allow\": [{\"app\": \"NAME|ID|*\", \"urls\":\n"
            "                     [\"https://api.example.com/v1/\"]}], \"timeout_ms\": 10000,\n"
            "                     \"max_response_bytes\": 1048576, \"max_request_bytes\": 1048576}}\n"
            "Guests may fetch only the URLs outbound_http allows (off by default;\n"
            "docs/http-client.md).\n"
            "With no token the node accepts loopback clients only.\n");
}

#define SERVE_MAX_PEERS 64

typedef struct {
    const char *data_dir, *listen, *config, *port_file;
    unsigned workers;
    uint64_t fuel, timeout_ns;
    int no_sync;
    const char *peer_listen, *peer_port_file;
    const char *sync_nats, *nats_creds, *nats_ca;
    unsigned nats_replicas;
    const char *state_redis;
    int log_level; /* 1 + --log-level's level; 0: not given */
    int tier;      /* 1 + --tier's WEFT_TIER_*; 0: not given */
    const char *peers[SERVE_MAX_PEERS];
    size_t npeers;
} serve_opts_t;

/* The config file's settings, owned by its json_t. */
typedef struct {
    json_t *root;
    weft_token_t *tokens;
    size_t ntokens;
    weft_http_out_t *http; /* "outbound_http" (docs/http-client.md); NULL: none */
} config_t;

static int scope_bits(json_t *scopes, unsigned *out)
{
    size_t i;
    json_t *v;
    *out = 0;
    if (!json_is_array(scopes))
        return -1;
    json_array_foreach(scopes, i, v) {
        const char *s = json_string_value(v);
        if (!s)
            return -1;
        if (strcmp(s, "read") == 0)
            *out |= WEFT_SCOPE_READ;
        else if (strcmp(s, "call") == 0)
            *out |= WEFT_SCOPE_CALL;
        else if (strcmp(s, "admin") == 0)
            *out |= WEFT_SCOPE_ADMIN;
        else
            return -1;
    }
    return 0;
}

/* A console.log level (docs/cosmictron.md): its name or 0-4; -1 if neither. */
static int parse_log_level(const char *s)
{
    static const char *const names[] = {"trace", "debug", "info", "warn", "error"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
            return i;
    return -1;
}


/* weft_name_lookup_fn: the system's resolver (getaddrinfo), for
 * components' wasi:sockets/ip-name-lookup; here, in weft-node, because
 * the static `weft` cannot use glibc's resolver. */
static int resolve_name(const char *name, struct sockaddr_storage *out, size_t max,
                        size_t *out_n)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(name, NULL, &hints, &ai);
    *out_n = 0;
    if (g != 0)
        return g;
    for (struct addrinfo *p = ai; p && *out_n < max; p = p->ai_next)
        if ((p->ai_family == AF_INET || p->ai_family == AF_INET6) &&
            p->ai_addrlen <= sizeof *out)
            memcpy(&out[(*out_n)++], p->ai_addr, p->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static int load_config(const char *path, config_t *c, weft_server_config_t *sc,
                       weft_node_config_t *nc, serve_opts_t *o)
{
    json_error_t je;
    memset(c, 0, sizeof *c);
    c->root = json_load_file(path, 0, &je);
    if (!c->root) {
        cli_error("%s: line %d, column %d: %s", path, je.line, je.column, je.text);
        return -1;
    }
    json_t *listen = NULL, *tokens = NULL, *limits = NULL, *peer_listen = NULL, *peers = NULL;
    json_t *log_level = NULL, *sync = NULL, *nats_creds = NULL, *state_redis = NULL;
    json_t *nats_ca = NULL, *tier = NULL;
    json_int_t workers = -1, max_app = 0, max_call = 0, heartbeat = 0, idle = 0, sse = 0;
    json_int_t compact_ms = 0, compact_keep = 0;
    json_t *http = NULL;
    if (json_unpack_ex(c->root, &je, JSON_STRICT,
                       "{s?o,s?o,s?I,s?o,s?o,s?I,s?I,s?I,s?I,s?I,s?o,s?o,s?o,s?o,s?o,s?I,s?I,s?o,s?o,s?o}",
                       "log_level", &log_level, "listen", &listen, "workers", &workers,
                       "tokens", &tokens, "limits", &limits,
                       "max_app_bytes", &max_app, "max_call_bytes", &max_call, "heartbeat_ms",
                       &heartbeat, "idle_timeout_s", &idle, "sse_buffer_bytes", &sse,
                       "peer_listen", &peer_listen, "peers", &peers, "sync", &sync,
                       "nats_creds", &nats_creds, "state_redis", &state_redis,
                       "sync_compact_ms", &compact_ms, "sync_compact_keep", &compact_keep,
                       "outbound_http", &http, "nats_ca", &nats_ca, "tier", &tier) != 0) {
        cli_error("%s: %s", path, je.text);
        return -1;
    }
    /* outbound HTTP for guests: the allowlist and its bounds */
    if (http) {
        char why[512], *text = json_dumps(http, JSON_COMPACT);
        int hrc = text ? weft_http_out_new(text, &c->http, why, sizeof why) : WEFT_ENOMEM;
        free(text);
        if (hrc != 0) {
            cli_error("%s: %s", path, hrc == WEFT_EARG ? why : weft_strerror(hrc));
            return -1;
        }
        nc->http_fetch = weft_http_out_fetch;
        nc->http_user = c->http;
    }
    nc->name_lookup = resolve_name; /* components' ip-name-lookup, when a manifest allows it */
    /* As --state-redis, which wins when both are given (as for every key). */
    if (state_redis && !json_is_string(state_redis)) {
        cli_error("%s: \"state_redis\" must be a string like \"redis://127.0.0.1:6379\"", path);
        return -1;
    }
    if (state_redis && !o->state_redis)
        o->state_redis = json_string_value(state_redis);
    /* "log_level": as --log-level, a name or 0-4 (a string or a number) */
    if (log_level && !o->log_level) {
        char num[2] = {0};
        const char *lv = json_string_value(log_level);
        if (json_is_integer(log_level) && json_integer_value(log_level) >= 0 &&
            json_integer_value(log_level) <= 4)
            lv = (num[0] = (char)('0' + json_integer_value(log_level)), num);
        int level = lv ? parse_log_level(lv) : -1;
        if (level < 0) {
            cli_error("%s: \"log_level\" must be trace, debug, info, warn, error or 0-4", path);
            return -1;
        }
        o->log_level = 1 + level;
    }
    /* "tier": as --tier */
    if (tier && !o->tier) {
        int t = json_is_string(tier) ? cli_parse_tier(json_string_value(tier)) : -1;
        if (t < 0) {
            cli_error("%s: \"tier\" must be \"interp\", \"jit\" or \"auto\"", path);
            return -1;
        }
        o->tier = 1 + t;
    }
    if ((sync && !json_is_string(sync)) || (nats_creds && !json_is_string(nats_creds)) ||
        (nats_ca && !json_is_string(nats_ca))) {
        cli_error("%s: \"sync\", \"nats_creds\" and \"nats_ca\" must be strings", path);
        return -1;
    }
    if (nats_ca && !o->nats_ca)
        o->nats_ca = json_string_value(nats_ca);
    if (sync && !o->sync_nats)
        o->sync_nats = json_string_value(sync);
    if (nats_creds && !o->nats_creds)
        o->nats_creds = json_string_value(nats_creds);
    if (peer_listen && !o->peer_listen) {
        if (!json_is_string(peer_listen)) {
            cli_error("%s: \"peer_listen\" must be a string like \"0.0.0.0:7374\"", path);
            return -1;
        }
        o->peer_listen = json_string_value(peer_listen);
    }
    if (peers) {
        size_t i;
        json_t *pv;
        if (!json_is_array(peers)) {
            cli_error("%s: \"peers\" must be a list of \"ADDR:PORT\" strings", path);
            return -1;
        }
        json_array_foreach(peers, i, pv) {
            if (!json_is_string(pv) || o->npeers == SERVE_MAX_PEERS) {
                cli_error("%s: peers: entry %zu must be a string (at most %d peers)", path,
                          i + 1, SERVE_MAX_PEERS);
                return -1;
            }
            o->peers[o->npeers++] = json_string_value(pv);
        }
    }
    if (listen && !o->listen) {
        if (!json_is_string(listen)) {
            cli_error("%s: \"listen\" must be a string like \"127.0.0.1:7373\"", path);
            return -1;
        }
        o->listen = json_string_value(listen);
    }
    if (workers >= 0 && !o->workers)
        o->workers = (unsigned)workers;
    if (max_app < 0 || max_call < 0 || heartbeat < 0 || idle < 0 || idle > 86400 || sse < 0 ||
        compact_ms < 0 || compact_keep < 0) {
        cli_error("%s: sizes and times must not be negative", path);
        return -1;
    }
    /* 0 keeps sync's defaults (10 s, 1,024 ops): small values are for tests */
    nc->sync_compact_ms = (uint64_t)compact_ms;
    nc->sync_compact_keep = (uint64_t)compact_keep;
    sc->max_app_bytes = (size_t)max_app;
    sc->max_call_bytes = (size_t)max_call;
    sc->heartbeat_ms = (unsigned)heartbeat;
    sc->idle_timeout_s = (unsigned)idle;
    sc->sse_buffer_bytes = (size_t)sse;
    if (tokens) {
        size_t i;
        json_t *t;
        if (!json_is_array(tokens) || !(c->tokens = calloc(json_array_size(tokens) + 1,
                                                            sizeof *c->tokens))) {
            cli_error("%s: \"tokens\" must be a list of {\"token\", \"scopes\"}", path);
            return -1;
        }
        json_array_foreach(tokens, i, t) {
            const char *tok = NULL;
            json_t *scopes = NULL;
            if (json_unpack_ex(t, &je, JSON_STRICT, "{s:s,s:o}", "token", &tok, "scopes",
                               &scopes) != 0 ||
                strlen(tok) < 16 || scope_bits(scopes, &c->tokens[i].scopes) != 0) {
                cli_error("%s: token %zu: needs \"token\" (16 characters or more) and "
                          "\"scopes\" (of \"admin\", \"call\", \"read\")",
                          path, i + 1);
                return -1;
            }
            c->tokens[i].token = tok;
            c->ntokens++;
        }
    }
    if (limits) {
        json_int_t fuel = 0, timeout_ms = 0, pages = 0, in = 0, out = 0;
        if (json_unpack_ex(limits, &je, JSON_STRICT, "{s?I,s?I,s?I,s?I,s?I}", "fuel", &fuel,
                           "timeout_ms", &timeout_ms, "max_memory_pages", &pages,
                           "max_input_bytes", &in, "max_output_bytes", &out) != 0 ||
            fuel < 0 || timeout_ms < 0 || pages < 0 || pages > 65536 || in < 0 || out < 0) {
            cli_error("%s: \"limits\": %s", path, je.text[0] ? je.text : "a value is out of range");
            return -1;
        }
        nc->limits.fuel = (uint64_t)fuel;
        nc->limits.timeout_ns = (uint64_t)timeout_ms * 1000000u;
        nc->limits.max_memory_pages = (uint32_t)pages;
        nc->limits.max_input = (size_t)in;
        nc->limits.max_output = (size_t)out;
    }
    sc->tokens = c->tokens;
    sc->ntokens = c->ntokens;
    return 0;
}

/* Returns 0, 1 (help printed) or -1 (usage error, reported). */
static int parse(int argc, char **argv, serve_opts_t *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_serve_usage(stdout);
            return 1;
        }
        if (strcmp(a, "--no-sync") == 0) {
            o->no_sync = 1;
            continue;
        }
        static const char *const with_value[] = {"--data-dir", "--listen",  "--workers",
                                                 "--config",   "--port-file", "--fuel",
                                                 "--timeout", "--peer-listen", "--peer",
                                                 "--peer-port-file", "--state-redis",
                                                 "--sync", "--nats-creds", "--nats-replicas",
                                                 "--log-level", "--nats-ca", "--tier"};
        int known = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            known |= strcmp(a, with_value[k]) == 0;
        if (!known) {
            cli_error("serve: unknown %s '%s'", a[0] == '-' ? "option" : "argument", a);
            return -1;
        }
        if (!val) {
            cli_error("serve: %s needs a value", a);
            return -1;
        }
        i++;
        uint64_t n;
        if (strcmp(a, "--data-dir") == 0)
            o->data_dir = val;
        else if (strcmp(a, "--listen") == 0)
            o->listen = val;
        else if (strcmp(a, "--config") == 0)
            o->config = val;
        else if (strcmp(a, "--port-file") == 0)
            o->port_file = val;
        else if (strcmp(a, "--peer-listen") == 0)
            o->peer_listen = val;
        else if (strcmp(a, "--peer-port-file") == 0)
            o->peer_port_file = val;
        else if (strcmp(a, "--state-redis") == 0)
            o->state_redis = val;
        else if (strcmp(a, "--sync") == 0)
            o->sync_nats = val;
        else if (strcmp(a, "--nats-creds") == 0)
            o->nats_creds = val;
        else if (strcmp(a, "--nats-ca") == 0)
            o->nats_ca = val;
        else if (strcmp(a, "--log-level") == 0) {
            int level = parse_log_level(val);
            if (level < 0) {
                cli_error("serve: --log-level must be trace, debug, info, warn, error or 0-4, "
                          "not '%s'", val);
                return -1;
            }
            o->log_level = 1 + level;
        }
        else if (strcmp(a, "--tier") == 0) {
            int tier = cli_parse_tier(val);
            if (tier < 0) {
                cli_error("serve: --tier must be interp, jit or auto, not '%s'", val);
                return -1;
            }
            o->tier = 1 + tier;
        }
        else if (strcmp(a, "--nats-replicas") == 0) {
            if (cli_parse_size(val, &n) != 0 || n == 0 || n > 5) {
                cli_error("serve: --nats-replicas must be 1 to 5, not '%s'", val);
                return -1;
            }
            o->nats_replicas = (unsigned)n;
        }
        else if (strcmp(a, "--peer") == 0) {
            if (o->npeers == SERVE_MAX_PEERS) {
                cli_error("serve: at most %d --peer (more are learned from them)",
                          SERVE_MAX_PEERS);
                return -1;
            }
            o->peers[o->npeers++] = val;
        }
        else if (strcmp(a, "--workers") == 0) {
            if (cli_parse_size(val, &n) != 0 || n == 0 || n > 256) {
                cli_error("serve: --workers must be 1 to 256, not '%s'", val);
                return -1;
            }
            o->workers = (unsigned)n;
        } else if (strcmp(a, "--fuel") == 0) {
            if (cli_parse_size(val, &o->fuel) != 0 || o->fuel == 0) {
                cli_error("serve: --fuel must be a positive count, not '%s'", val);
                return -1;
            }
        } else if (cli_parse_duration(val, &o->timeout_ns) != 0 || o->timeout_ns == 0) {
            cli_error("serve: --timeout must be a duration like 500ms or 2s, not '%s'", val);
            return -1;
        }
    }
    return 0;
}

static int write_port(const char *path, unsigned port)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
        cli_error("serve: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Sync's log lines (from its thread): one line each on stderr. */
static void sync_log(void *user, const char *line)
{
    fprintf(stderr, "weft: %s\n", line);
}

int cli_serve(int argc, char **argv)
{
    serve_opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc != 0) {
        if (rc < 0)
            cli_usage_hint("serve");
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    weft_server_config_t sc;
    weft_node_config_t nc;
    config_t cfg = {0};
    memset(&sc, 0, sizeof sc);
    memset(&nc, 0, sizeof nc);
    int status = CLI_EXIT_USAGE;
    char *dir = NULL;
    weft_node_t *node = NULL;
    weft_server_t *server = NULL;
    char msg[1024];
    if (o.config && load_config(o.config, &cfg, &sc, &nc, &o) != 0)
        goto done;
    if (!(dir = cli_data_dir(o.data_dir))) {
        cli_error("serve: no data directory: give --data-dir DIR or set WEFT_DATA_DIR");
        goto done;
    }
    if (o.fuel)
        nc.limits.fuel = o.fuel;
    if (o.timeout_ns)
        nc.limits.timeout_ns = o.timeout_ns;
    if (!nc.limits.timeout_ns)
        nc.limits.timeout_ns = 30000000000ull; /* a call may not hold the writer for ever */
    if (!nc.limits.max_memory_pages)
        nc.limits.max_memory_pages = 4096; /* 256 MiB a memory: calls run side by side */
    nc.data_dir = dir;
    nc.workers = o.workers;
    nc.tier = o.tier ? o.tier - 1 : cli_default_tier();
    nc.flags = o.no_sync ? WEFT_NODE_NO_SYNC : 0;
    nc.peer_listen = o.peer_listen;
    nc.peers = o.peers;
    nc.npeers = o.npeers;
    nc.sync_log = sync_log;
    nc.faasm_state_redis = o.state_redis;
    nc.cosm_log_level = o.log_level ? o.log_level - 1 : 0;
    nc.sync_nats = o.sync_nats;
    nc.nats_creds = o.nats_creds;
    nc.nats_ca = o.nats_ca;
    nc.nats_replicas = (int)o.nats_replicas;
#ifdef WEFT_HAVE_NATS
    nc.sync_nats_transport = weft_sync_nats_transport();
#endif
    if (o.sync_nats && (o.peer_listen || o.npeers)) {
        cli_error("serve: --sync nats:// replaces peer links: no --peer-listen or --peer");
        goto done;
    }
    if (o.no_sync && (o.peer_listen || o.npeers || o.sync_nats)) {
        cli_error("serve: --no-sync and peer links exclude each other");
        goto done;
    }
    sc.listen = o.listen;

    /* Every thread made from here on inherits the blocked signals. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    status = CLI_EXIT_ERROR;
    if ((rc = weft_node_open(&nc, &node, msg, sizeof msg)) != 0) {
        cli_error("serve: cannot open the node: %s", msg);
        goto done;
    }
    if ((rc = weft_server_start(node, &sc, &server, msg, sizeof msg)) != 0) {
        cli_error("serve: %s", msg);
        status = rc == WEFT_EARG ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
        goto done;
    }
    uint16_t port = weft_server_port(server);
    if ((o.port_file && write_port(o.port_file, port) != 0) ||
        (o.peer_port_file && write_port(o.peer_port_file, weft_node_peer_port(node)) != 0))
        goto done;
    char id[65] = "none (--no-sync)";
    if (weft_node_id(node))
        cli_hex(weft_node_id(node), 32, id);
    const char *addr = o.listen ? o.listen : "127.0.0.1:7373";
    const char *colon = strrchr(addr, ':');
    int host_len = colon ? (int)(colon - addr) : 0;
    fprintf(stderr, "weft: node %s\nweft: serving http://%.*s:%u (data directory %s)\n", id,
            host_len, host_len ? addr : "127.0.0.1", port, dir);
    if (weft_node_peer_port(node))
        fprintf(stderr, "weft: peer links on port %d\n", weft_node_peer_port(node));
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "weft: %s: stopping (finishing the calls in flight)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = CLI_EXIT_OK;
done:
    weft_server_stop(server);
    weft_node_close(node);
    if (status == CLI_EXIT_OK)
        fprintf(stderr, "weft: stopped\n");
    free(dir);
    free(cfg.tokens);
    weft_http_out_delete(cfg.http);
    json_decref(cfg.root);
    return status;
}
