/*
 * src/cli/db_priv.h — what the files of `weft db` share: db.c (the
 * key/value commands and the dispatch) and db_crdt.c (crdt, vv).
 */
#ifndef WEFT_CLI_DB_PRIV_H
#define WEFT_CLI_DB_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/db.h"

/* Prints bytes escaped (cli_print_name) or, with hex, as hex digits. */
void db_print_bytes(FILE *out, const uint8_t *p, size_t n, int hex);

/* `crdt`: without a key, one "KEY<TAB>TYPE" line per CRDT key of the
 * context; with one, its value as a JSON line {"type", "value"}.
 * WEFT_ENOTFOUND when the key has no CRDT state; other weft/db.h errors. */
int db_crdt(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
            size_t klen, int have_key, int hex);

/* `vv`: one "ORIGIN<TAB>MARK" line per origin in the context's op-log. */
int db_vv(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len);

#endif
