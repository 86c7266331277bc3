/*
 * repl_app.c — a Cosmictron module with a replicated table, for
 * cosm_repl_e2e.py: user {id: u32 primary key, name: String unique,
 * age: i32}, public and replicated; put(id, name, age) replaces the row
 * of that id (delete, then insert: 2 when the name is another row's),
 * del(id) deletes it (1 when absent).
 */
#include "cosmictron.h"

static const cosm_column_t user[] = {{"id", COSM_T(COSM_U32)},
                                     {"name", COSM_T(COSM_STRING)},
                                     {"age", COSM_T(COSM_I32)}};
static const uint32_t user_unique[] = {1};
static const cosm_index_t user_idx[] = {{"by_age", {2}, 1}};
static const cosm_table_t tables[] = {
    {"user", user, 3, .pk = 0, .unique = user_unique, .nunique = 1, .indexes = user_idx,
     .nindexes = 1, .public_ = 1, .owner = -1, .replicated = 1},
};
static const cosm_column_t put_args[] = {
    {"id", COSM_T(COSM_U32)}, {"name", COSM_T(COSM_STRING)}, {"age", COSM_T(COSM_I32)}};
static const cosm_column_t del_args[] = {{"id", COSM_T(COSM_U32)}};
static const cosm_reducer_t reducers[] = {{"put", put_args, 3}, {"del", del_args, 1}};
COSM_MODULE(tables, 1, reducers, 2)

COSM_REDUCER(put)
{
    uint8_t row[512];
    uint32_t n, id = cosm_get_u32(args);
    const uint8_t *name = cosm_get_bytes(args, &n);
    int32_t age = cosm_get_i32(args);
    cosm_buf_t b;
    if (args->err) return 9;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_u32(&b, id);
    cosm_put_bytes(&b, name, n);
    cosm_put_i32(&b, age);
    if (b.over) return 9;
    datastore_delete_by_pk(0, row, 4); /* 1 when absent: fine */
    return datastore_insert(0, b.p, b.len);
}

COSM_REDUCER(del)
{
    uint8_t key[4];
    uint32_t id = cosm_get_u32(args);
    if (args->err) return 9;
    memcpy(key, &id, 4); /* u32 little-endian, as BSATN */
    return datastore_delete_by_pk(0, key, 4);
}
