/*
 * test_node_sched.c — the node's Cosmictron scheduler
 * (src/node/abi_cosmictron.c, "the scheduler"): it sleeps until the next
 * schedule is due, and a call that stores one wakes it, so a reducer
 * scheduled while it sleeps (toward a later one, or with none at all)
 * still runs at its time, and an idle node's scheduler does not look at
 * all. Nothing here times the scheduler: the test waits for the run and
 * checks it was not early, and that no look happened while nothing was
 * due. One CTest test `node.sched.NAME` per TEST(NAME).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/test.h"
#include "node_with.h"
#include "weft/bsatn.h"

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t looks(weft_node_t *n)
{
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    return st.cosm_schedule_looks;
}

/* later(delay_us): schedules `ran` delay_us from the call's time. */
static void later(weft_node_t *n, int64_t delay_us)
{
    weft_bsatn_buf_t a;
    weft_bsatn_buf_init(&a);
    weft_bsatn_put_u64(&a, (uint64_t)delay_us);
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = "s";
    req.function = "later";
    req.input = a.p;
    req.input_len = a.len;
    weft_call_result_t *res = NULL;
    int rc = weft_node_call(n, &req, &res);
    weft_bsatn_buf_fini(&a);
    ASSERT_EQ_INT(rc, 0);
    int ok = weft_call_result_outcome(res) == WEFT_CALL_OK;
    if (!ok) fprintf(stderr, "later: %s\n", weft_call_result_message(res));
    weft_call_result_delete(res);
    ASSERT_TRUE(ok);
}

/* How many rows table runs has; *early counts those of a run before its
 * time (ran_us < at_us). */
static size_t runs(weft_node_t *n, size_t *early)
{
    char *json = NULL, msg[256];
    uint8_t *next = NULL;
    size_t next_len, count = 0;
    if (weft_node_table_page(n, "s", "runs", NULL, NULL, NULL, NULL, 0, 100, &json, &next,
                             &next_len, msg, sizeof msg) != 0)
        FAIL("table page: %s", msg);
    *early = 0;
    for (const char *p = json; (p = strstr(p, "\"at_us\":")); p++) {
        long long at, ran;
        const char *r = strstr(p, "\"ran_us\":");
        if (!r || sscanf(p + 8, "%lld", &at) != 1 || sscanf(r + 9, "%lld", &ran) != 1) {
            fprintf(stderr, "runs: %s\n", json);
            free(json);
            FAIL("runs: unexpected JSON");
        }
        count++;
        if (ran < at) ++*early;
    }
    free(json);
    free(next);
    return count;
}

/* Waits (up to 60 s: far more than the run needs, and a sign of a
 * scheduler that never woke) for `want` rows in runs. */
static void wait_runs(weft_node_t *n, size_t want, size_t *early)
{
    for (int i = 0; i < 6000; i++) {
        if (runs(n, early) >= want) return;
        nap_ms(10);
    }
    FAIL("the scheduled reducer did not run (%llu looks)", (unsigned long long)looks(n));
}

TEST(a_reducer_scheduled_while_the_scheduler_sleeps_runs_at_its_time)
{
    weft_node_t *n = node_with(SCHED_COSM_WASM, "s"); /* threaded: it has the scheduler */
    size_t early;
    for (int i = 0; i < 6000 && looks(n) == 0; i++) nap_ms(10); /* its look at start */
    ASSERT_GT_U64(looks(n), 0);
    /* nothing scheduled: it sleeps until woken, so no look in the meantime */
    uint64_t idle = looks(n);
    nap_ms(300);
    ASSERT_EQ_U64(looks(n), idle);

    /* woken by the commit with nothing to sleep toward before it */
    later(n, 200000);
    wait_runs(n, 1, &early);
    ASSERT_EQ_U64(early, 0); /* not before its time */

    /* asleep toward a schedule an hour away: a nearer one stored now
     * runs first, and the far one not at all */
    later(n, 3600ll * 1000000);
    later(n, 250000);
    wait_runs(n, 2, &early);
    ASSERT_EQ_U64(early, 0);
    uint64_t after = looks(n);
    nap_ms(300); /* the next due is an hour away: no look meanwhile */
    ASSERT_EQ_U64(looks(n), after);
    ASSERT_EQ_U64(runs(n, &early), 2);
}
