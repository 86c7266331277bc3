/*
 * schema_v.c — one Cosmictron module in three versions (-DV=1, 2, 3) for
 * redeploys (cosm_upgrade_e2e.py): V=2 adds a nullable column at the end of
 * item and a table tag, a compatible change; V=3 removes item's column
 * name, which a node must refuse naming the table and the column.
 */
#include "cosmictron.h"

#ifndef V
#define V 1
#endif

#if V == 3
static const cosm_column_t item[] = {{"id", COSM_T(COSM_U32)}};
#define ITEM_COLS 1
#elif V == 2
static const cosm_column_t item[] = {{"id", COSM_T(COSM_U32)},
                                     {"name", COSM_T(COSM_STRING)},
                                     {"note", COSM_T(COSM_OPTION COSM_STRING)}};
#define ITEM_COLS 3
#else
static const cosm_column_t item[] = {{"id", COSM_T(COSM_U32)}, {"name", COSM_T(COSM_STRING)}};
#define ITEM_COLS 2
#endif
static const cosm_column_t tag[] = {{"k", COSM_T(COSM_STRING)}};
static const cosm_table_t tables[] = {
    {"item", item, ITEM_COLS, .pk = 0, .public_ = 1, .owner = -1},
    {"tag", tag, 1, .pk = 0, .public_ = 1, .owner = -1},
};
static const cosm_column_t add_args[] = {{"id", COSM_T(COSM_U32)}, {"name", COSM_T(COSM_STRING)}};
static const cosm_reducer_t reducers[] = {{"add", add_args, 2}};
COSM_MODULE(tables, V == 2 ? 2 : 1, reducers, 1)

/* add(id, name): an item (version 2: with the name as its note too) */
COSM_REDUCER(add)
{
    uint8_t row[256];
    uint32_t n;
    uint32_t id = cosm_get_u32(args);
    const uint8_t *name = cosm_get_bytes(args, &n);
    cosm_buf_t b;
    if (args->err) return 1;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_u32(&b, id);
#if V >= 3
    (void)name;
#else
    cosm_put_bytes(&b, name, n);
#endif
#if V == 2
    cosm_put_some(&b); /* the note: the name again */
    cosm_put_bytes(&b, name, n);
#endif
    int32_t t = datastore_table_id_from_name("item", 4);
    if (b.over || t < 0) return 2;
    return datastore_insert((uint32_t)t, b.p, b.len) == COSM_OK ? 0 : 3;
}
