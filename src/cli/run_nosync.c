/*
 * src/cli/run_nosync.c — `weft` has no peer links: the sync thread of
 * weft/sync.h (libuv, and the resolver code of libc it pulls in) belongs
 * to `weft serve`, in weft-node. weft run is a client of the node layer,
 * whose sync hooks call these functions; defined here, they keep libuv
 * out of the static `weft`, which it made 0.3 MB larger, and its start-up
 * RSS with it (bench/RESULTS.md, "start-up"). A node of weft run is never
 * given peers, so weft_sync_start is never reached; the others then get
 * no weft_sync_t to work on.
 */
#include <stdio.h>
#include <string.h>

#include "weft/error.h"
#include "weft/sync.h"

int weft_sync_start(const weft_sync_config_t *cfg, weft_sync_t **out, char *msg, size_t msg_size)
{
    (void)cfg;
    *out = NULL;
    if (msg && msg_size)
        snprintf(msg, msg_size, "peer links are in weft serve, not in weft");
    return WEFT_EARG;
}

void weft_sync_stop(weft_sync_t *s)
{
    (void)s;
}

int weft_sync_port(const weft_sync_t *s)
{
    (void)s;
    return 0;
}

void weft_sync_notify(weft_sync_t *s, const char *ctx)
{
    (void)s;
    (void)ctx;
}

void weft_sync_peers(weft_sync_t *s, void (*fn)(void *user, const weft_sync_peer_t *p),
                     void *user)
{
    (void)s;
    (void)fn;
    (void)user;
}

int weft_sync_peers_nx(weft_sync_t *s, uint8_t **out, size_t *out_len)
{
    (void)s;
    *out = NULL;
    *out_len = 0;
    return WEFT_EARG;
}

void weft_sync_stats(weft_sync_t *s, weft_sync_stats_t *out)
{
    (void)s;
    memset(out, 0, sizeof *out);
}
