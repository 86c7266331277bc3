/*
 * client_peers.c — `weft peers`: the node's peer links (GET /v1/peers).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"

void cli_peers_usage(FILE *out)
{
    fprintf(out,
            "usage: weft peers [options]\n"
            "\n"
            "Shows the node's peer links (replication, docs/sync.md): one line per link with\n"
            "the peer's node id (first 16 digits), its address, up or down, the ops it has\n"
            "not acknowledged yet (lag), bytes in and out, redials, and the last error.\n"
            "\n"
            "options:\n");
    client_print_opts(out);
}

int cli_peers(int argc, char **argv)
{
    client_opts_t o = {0};
    size_t npos;
    int rc = client_parse("peers", argc, argv, &o, NULL, 0, NULL, 0, &npos, cli_peers_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    client_t *c = client_new(&o, "peers", &rc);
    if (!c)
        return rc;
    client_resp_t r = {0};
    client_req_t req = {.method = "GET", .path = "/v1/peers"};
    rc = CLI_EXIT_ERROR;
    if (client_request(c, &req, &r) != 0)
        goto done;
    json_t *peers = json_object_get(r.doc, "peers");
    if (r.status != 200 || !json_is_array(peers)) {
        rc = client_fail(c, "peers", &r);
        goto done;
    }
    if (client_json(c)) {
        client_print_json(r.doc);
    } else {
        json_t *port = json_object_get(r.doc, "peer_port");
        if (!json_is_integer(port))
            printf("no peer links (start the node with --peer-listen or --peer)\n");
        size_t i;
        json_t *p;
        json_array_foreach(peers, i, p) {
            const char *id = json_string_value(json_object_get(p, "id"));
            const char *err = json_string_value(json_object_get(p, "last_error"));
            printf("%-16.16s  %-21s  %-4s  lag %lld  in %lld  out %lld  redials %lld%s%s\n",
                   id ? id : "-", json_string_value(json_object_get(p, "addr")) ?: "?",
                   json_string_value(json_object_get(p, "state")) ?: "?",
                   (long long)json_integer_value(json_object_get(p, "lag_ops")),
                   (long long)json_integer_value(json_object_get(p, "bytes_in")),
                   (long long)json_integer_value(json_object_get(p, "bytes_out")),
                   (long long)json_integer_value(json_object_get(p, "reconnects")),
                   err ? "  last error: " : "", err ? err : "");
        }
    }
    rc = CLI_EXIT_OK;
done:
    client_resp_fini(&r);
    client_delete(c);
    return rc;
}
