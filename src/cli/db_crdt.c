/*
 * src/cli/db_crdt.c — the replicated side of `weft db`: `crdt` lists a
 * context's CRDT keys with their types or prints one key's value as JSON,
 * `vv` prints the context's version vector (what this node has of each
 * origin's ops). Read-only, through weft/crdt_store.h, inside the read
 * transaction cli_db opened.
 * The JSON is weft/crdt_json.h's (the HTTP API shows the same).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db_priv.h"
#include "weft/crdt_json.h"
#include "weft/crdt_store.h"


typedef struct {
    int hex, rc;
} list_t;

static int list_key(void *user, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    list_t *l = user;
    weft_crdt_state_t *st = NULL;
    int rc = weft_crdt_state_decode(val, vlen, &st);
    db_print_bytes(stdout, key, klen, l->hex);
    printf("\t%s\n", rc == 0 ? weft_crdt_type_name(weft_crdt_state_type(st)) : "corrupt");
    weft_crdt_state_delete(st);
    return 0;
}

int db_crdt(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
            size_t klen, int have_key, int hex)
{
    if (!have_key) {
        list_t l = {hex, 0};
        return weft_txn_scan(txn, WEFT_SPACE_CRDT, ctx, ctx_len, NULL, 0, NULL, 0, list_key, &l);
    }
    weft_crdt_state_t *st = NULL;
    char *text = NULL;
    int rc = weft_crdt_read(txn, ctx, ctx_len, key, klen, 0, &st);
    if (rc == 0)
        rc = weft_crdt_json(st, &text);
    if (rc == 0)
        puts(text);
    free(text);
    weft_crdt_state_delete(st);
    return rc;
}

static int vv_line(void *user, const uint8_t origin[WEFT_CRDT_ORIGIN_LEN], uint64_t seq)
{
    char hex[2 * WEFT_CRDT_ORIGIN_LEN + 1];
    (void)user;
    cli_hex(origin, WEFT_CRDT_ORIGIN_LEN, hex);
    printf("%s\t%llu\n", hex, (unsigned long long)seq);
    return 0;
}

int db_vv(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len)
{
    return weft_crdt_version_vector(txn, ctx, ctx_len, vv_line, NULL);
}
