/*
 * test_node_kept.c — a Calimero and a Cosmictron app's calls in the
 * instance their thread kept from the last call (src/node/call.c, "Kept
 * instances"): each call of guests/kept_cal.c's and kept_cosm.c's
 * `scribble` changes the instance's globals, static data, heap and memory
 * size and leaves host state behind (a Calimero register, a Cosmictron
 * iterator never closed); every call after the first runs in the instance
 * the one before changed, and sees what a fresh one sees, with the same
 * fuel. One CTest test `node.kept.NAME` per TEST(NAME).
 */
#include <stdio.h>
#include <string.h>

#include "../unit/test.h"
#include "node_with.h"

/* A write call of `scribble` (the writer thread runs every one). */
static weft_call_result_t *scribble(weft_node_t *n)
{
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = "k";
    req.function = "scribble";
    weft_call_result_t *res = node_with_call(n, &req);
    if (weft_call_result_outcome(res) != WEFT_CALL_OK)
        FAIL("scribble: %s", weft_call_result_message(res));
    return res;
}

/* What the call said: its output, or its log lines. */
static const char *said(weft_call_result_t *res)
{
    static char buf[1024];
    size_t len, at = 0;
    const uint8_t *p = weft_call_result_output(res, &len);
    at = (size_t)snprintf(buf, sizeof buf, "%.*s", (int)len, p ? (const char *)p : "");
    for (size_t i = 0; i < weft_call_result_log_count(res) && at < sizeof buf; i++) {
        const char *l = weft_call_result_log(res, i, &len);
        at += (size_t)snprintf(buf + at, sizeof buf - at, "[%.*s]", (int)len, l);
    }
    return buf;
}

static uint64_t kept_calls(weft_node_t *n)
{
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    return st.kept_instance_calls;
}

/* The first call's words, then 4 calls that say the same with its fuel,
 * each in the kept instance. */
static void check_kept(weft_node_t *n, const char *first_has)
{
    weft_call_result_t *first = scribble(n);
    char want[1024];
    snprintf(want, sizeof want, "%s", said(first));
    if (!strstr(want, "calls=0 buf=0 pages=") || !strstr(want, first_has))
        FAIL("first call: %s", want);
    uint64_t kept0 = kept_calls(n);
    for (int i = 0; i < 4; i++) {
        weft_call_result_t *r = scribble(n);
        ASSERT_EQ_STR(said(r), want);
        ASSERT_EQ_INT(weft_call_result_fuel(r), weft_call_result_fuel(first));
    }
    ASSERT_EQ_INT(kept_calls(n) - kept0, 4);
}

TEST(a_calimero_instance_shows_no_call_what_the_last_one_left)
{
    check_kept(node_with(KEPT_CAL_WASM, "k"), " reg9=0");
}

TEST(a_cosmictron_instance_shows_no_call_what_the_last_one_left)
{
    check_kept(node_with(KEPT_COSM_WASM, "k"), " iter=");
}
