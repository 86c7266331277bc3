/*
 * members.c — a context's members as stored: the ORSet of node ids under
 * WEFT_SYNC_MEMBERS_KEY (weft/sync.h). On the store alone (no libuv), so
 * the node lists members with it too, also in the static `weft`.
 */
#include <stdlib.h>
#include <string.h>

#include "weft/crdt_store.h"
#include "weft/error.h"
#include "weft/sync.h"

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int weft_sync_members_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           void (*fn)(void *user, const uint8_t id[32]), void *user)
{
    const char *key = WEFT_SYNC_MEMBERS_KEY;
    weft_crdt_state_t *st = NULL;
    uint8_t *buf = NULL;
    int rc = weft_crdt_read(txn, ctx, ctx_len, (const uint8_t *)key, strlen(key),
                            WEFT_CRDT_ORSET, &st);
    if (rc == WEFT_ENOTFOUND) /* made without replication: no members */
        return 0;
    if (rc != 0)
        return rc;
    /* u32 LE count, then per element (bytewise order) u32 LE length, bytes */
    size_t need = 0;
    weft_crdt_orset_elements(st, NULL, 0, &need);
    if (need >= 4 && !(buf = malloc(need)))
        rc = WEFT_ENOMEM;
    else if (need >= 4 && (rc = weft_crdt_orset_elements(st, buf, need, &need)) == 0) {
        uint32_t count = get_le32(buf);
        size_t off = 4;
        for (uint32_t i = 0; i < count && off + 4 <= need; i++) {
            uint32_t len = get_le32(buf + off);
            off += 4;
            if (len > need - off)
                break;
            if (len == 32)
                fn(user, buf + off);
            off += len;
        }
    }
    free(buf);
    weft_crdt_state_delete(st);
    return rc;
}
