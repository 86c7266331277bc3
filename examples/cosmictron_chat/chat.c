/*
 * chat.c — a chat on the Cosmictron ABI (sdk/cosmictron.h): users by
 * identity, messages in time order, a cleanup reducer that reschedules
 * itself, and clients that follow the message table live through its
 * subscription (README.md shows the whole session with curl).
 *
 * Tables (all public, so clients read and subscribe to them):
 *   user    {identity: bytes pk, name: String unique}
 *   message {id: u64 pk, sender: bytes, text: String, sent: i64}, index by_sent
 *   counter {name: String pk, value: u64}, index by_name (the primary key's:
 *           a point lookup), the next message id
 * Reducers: set_name(name), send(text), cleanup(max_age_us: i64, every_us: i64).
 */
#include <stdint.h>
#include <string.h>

#include "cosmictron.h"

enum { T_USER, T_MESSAGE, T_COUNTER };

static const cosm_column_t user_cols[] = {{"identity", COSM_T(COSM_BYTES)},
                                          {"name", COSM_T(COSM_STRING)}};
static const uint32_t user_unique[] = {1};
static const cosm_column_t message_cols[] = {
    {"id", COSM_T(COSM_U64)},
    {"sender", COSM_T(COSM_BYTES)},
    {"text", COSM_T(COSM_STRING)},
    {"sent", COSM_T(COSM_I64)},
};
static const cosm_index_t message_idx[] = {{"by_sent", {3}, 1}};
static const cosm_column_t counter_cols[] = {{"name", COSM_T(COSM_STRING)},
                                             {"value", COSM_T(COSM_U64)}};
static const cosm_index_t counter_idx[] = {{"by_name", {0}, 1}};
static const cosm_table_t tables[] = {
    [T_USER] = {"user", user_cols, 2, 0, user_unique, 1, NULL, 0, 1, -1, 0},
    [T_MESSAGE] = {"message", message_cols, 4, 0, NULL, 0, message_idx, 1, 1, -1, 0},
    [T_COUNTER] = {"counter", counter_cols, 2, 0, NULL, 0, counter_idx, 1, 1, -1, 0},
};
static const cosm_column_t name_args[] = {{"name", COSM_T(COSM_STRING)}};
static const cosm_column_t text_args[] = {{"text", COSM_T(COSM_STRING)}};
static const cosm_column_t cleanup_args[] = {{"max_age_us", COSM_T(COSM_I64)},
                                             {"every_us", COSM_T(COSM_I64)}};
static const cosm_reducer_t reducers[] = {
    {"set_name", name_args, 1},
    {"send", text_args, 1},
    {"cleanup", cleanup_args, 2},
};
COSM_MODULE(tables, 3, reducers, 3)

#define MAX_TEXT 1024

static uint8_t row[MAX_TEXT + 128], out[MAX_TEXT + 128];

/* set_name(name): the caller's user row, replaced */
COSM_REDUCER(set_name)
{
    uint32_t nl;
    const uint8_t *name = cosm_get_bytes(args, &nl);
    if (args->err || nl == 0 || nl > 64) return 1;
    uint8_t me[COSM_IDENTITY_LEN], pk[4 + COSM_IDENTITY_LEN];
    cosm_sender_identity(me, sizeof me);
    cosm_buf_t b;
    cosm_buf_init(&b, pk, sizeof pk);
    cosm_put_bytes(&b, me, sizeof me);
    datastore_delete_by_pk(T_USER, b.p, b.len); /* 1 (absent) is fine */
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_bytes(&b, me, sizeof me);
    cosm_put_bytes(&b, name, nl);
    int32_t rc = datastore_insert(T_USER, b.p, b.len);
    if (rc == COSM_ERR_UNIQUE) cosm_log(COSM_WARN, "that name is taken");
    return rc;
}

/* The next message id: the counter row "message", read and written back. */
static uint64_t next_id(void)
{
    uint8_t range[32];
    cosm_buf_t b;
    cosm_buf_init(&b, range, sizeof range);
    cosm_put_u8(&b, COSM_BOUND_INCLUDED);
    cosm_put_str(&b, "message");
    cosm_put_u8(&b, COSM_BOUND_INCLUDED);
    cosm_put_str(&b, "message");
    int64_t it = datastore_index_scan(T_COUNTER, 0, b.p, b.len);
    int32_t n = datastore_iter_next(it, out, sizeof out);
    datastore_iter_close(it);
    uint64_t id = 1;
    if (n > 0) {
        cosm_rd_t r;
        cosm_rd_init(&r, out, (uint32_t)n);
        uint32_t l;
        cosm_get_bytes(&r, &l);
        id = cosm_get_u64(&r) + 1;
        uint8_t pk[16];
        cosm_buf_init(&b, pk, sizeof pk);
        cosm_put_str(&b, "message");
        datastore_delete_by_pk(T_COUNTER, b.p, b.len);
    }
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_str(&b, "message");
    cosm_put_u64(&b, id);
    datastore_insert(T_COUNTER, b.p, b.len);
    return id;
}

/* send(text): a message from the caller, who must have a name */
COSM_REDUCER(send)
{
    uint32_t tl;
    const uint8_t *text = cosm_get_bytes(args, &tl);
    if (args->err || tl == 0 || tl > MAX_TEXT) return 1;
    uint8_t me[COSM_IDENTITY_LEN];
    cosm_sender_identity(me, sizeof me);
    /* the user table's primary key has no declared index: scan for the
     * caller (users are few next to messages) */
    int64_t it = datastore_scan(T_USER);
    int known = 0;
    for (int32_t n; !known && (n = datastore_iter_next(it, out, sizeof out)) > 0;)
        known = memcmp(out + 4, me, sizeof me) == 0;
    datastore_iter_close(it);
    if (!known) {
        cosm_log(COSM_WARN, "set a name first");
        return 2;
    }
    cosm_buf_t b;
    uint64_t id = next_id();
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_u64(&b, id);
    cosm_put_bytes(&b, me, sizeof me);
    cosm_put_bytes(&b, text, tl);
    cosm_put_i64(&b, cosm_timestamp());
    return datastore_insert(T_MESSAGE, b.p, b.len);
}

/* cleanup(max_age_us, every_us): deletes the messages older than max_age,
 * reading only that range of the by_sent index; then, when every_us > 0,
 * schedules itself again. */
COSM_REDUCER(cleanup)
{
    int64_t max_age = cosm_get_i64(args), every = cosm_get_i64(args);
    if (args->err || max_age < 0 || every < 0) return 1;
    uint8_t range[16];
    cosm_buf_t b;
    cosm_buf_init(&b, range, sizeof range);
    cosm_put_u8(&b, COSM_BOUND_UNBOUNDED);
    cosm_put_u8(&b, COSM_BOUND_EXCLUDED);
    cosm_put_i64(&b, cosm_timestamp() - max_age);
    /* collect first: deleting while the iterator walks would be seen */
    static uint64_t ids[4096];
    uint32_t n = 0;
    int64_t it = datastore_index_scan(T_MESSAGE, 0, b.p, b.len);
    for (int32_t r; n < 4096 && (r = datastore_iter_next(it, out, sizeof out)) > 0;)
        memcpy(&ids[n++], out, 8);
    datastore_iter_close(it);
    for (uint32_t i = 0; i < n; i++) datastore_delete_by_pk(T_MESSAGE, &ids[i], 8);
    if (every > 0) {
        uint8_t again[16];
        cosm_buf_init(&b, again, sizeof again);
        cosm_put_i64(&b, max_age);
        cosm_put_i64(&b, every);
        if (cosm_schedule_reducer("cleanup", 7, b.p, b.len, every) <= 0) return 3;
    }
    return 0;
}
