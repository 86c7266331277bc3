/*
 * sched_cosm.c — a Cosmictron module for the scheduler test
 * (tests/node/test_node_sched.c): `later(delay_us)` schedules `ran` for
 * delay_us after its call's timestamp, with that time as the argument;
 * `ran(at_us)` keeps a row {at_us, ran_us} with its own call's timestamp,
 * so the test can tell a run from before its time.
 */
#include "cosmictron.h"

static const cosm_column_t run_cols[] = {{"at_us", COSM_T(COSM_I64)},
                                         {"ran_us", COSM_T(COSM_I64)}};
static const cosm_table_t tables[] = {{"runs", run_cols, 2, .pk = -1, .public_ = 1, .owner = -1}};
static const cosm_column_t later_args[] = {{"delay_us", COSM_T(COSM_I64)}};
static const cosm_column_t ran_args[] = {{"at_us", COSM_T(COSM_I64)}};
static const cosm_reducer_t reducers[] = {{"later", later_args, 1}, {"ran", ran_args, 1}};
COSM_MODULE(tables, 1, reducers, 2)

COSM_REDUCER(later)
{
    int64_t delay = cosm_get_i64(args);
    uint8_t a[8];
    cosm_buf_t b;
    cosm_buf_init(&b, a, sizeof a);
    cosm_put_i64(&b, cosm_timestamp() + delay); /* the host's at: the same timestamp */
    return args->err || cosm_schedule_reducer("ran", 3, a, sizeof a, delay) <= 0;
}

COSM_REDUCER(ran)
{
    uint8_t row[16];
    cosm_buf_t b;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_i64(&b, cosm_get_i64(args));
    cosm_put_i64(&b, cosm_timestamp());
    return args->err || datastore_insert(0, b.p, b.len) != COSM_OK;
}
