/*
 * test_component_node.c — components as apps of a node (weft/node.h),
 * here what a thread's kept instance of a component must not show the next
 * call (src/node/call.c, "Kept instances"; abi_component.c). One CTest test
 * `component.node.NAME` per TEST(NAME); they exit 77 when jco is missing
 * (the components are built with it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/node.h>

#include "../unit/test.h"
#include "jco_inputs.h"

static void close_node(void *n) { weft_node_close(n); }
static void free_result(void *r) { weft_call_result_delete(r); }

/* An inline node (calls on this thread, so one pool of kept instances)
 * with component `file` of WEFT_COMPONENT_DIR opened as an app; its id in
 * id. */
static weft_node_t *node_with(const char *file, char *id)
{
    char path[512], msg[512];
    snprintf(path, sizeof path, "%s/%s", WEFT_COMPONENT_DIR, file);
    size_t len;
    uint8_t *bytes = jco_read_or_skip(path, &len);
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = WEFT_NODE_INLINE | WEFT_NODE_NO_SYNC;
    weft_node_t *n = NULL;
    if (weft_node_open(&cfg, &n, msg, sizeof msg) != 0)
        FAIL("open: %s", msg);
    test_defer(close_node, n);
    if (weft_node_app_open(n, bytes, len, file, id, msg, sizeof msg) != 0)
        FAIL("app open: %s", msg);
    free(bytes);
    return n;
}

static weft_call_result_t *call(weft_node_t *n, const char *app, const char *fn, const char *in)
{
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = "c";
    req.app = app;
    req.function = fn;
    req.input = (const uint8_t *)in;
    req.input_len = strlen(in);
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
    test_defer(free_result, res);
    return res;
}

static const char *output(weft_call_result_t *res)
{
    static char buf[600];
    size_t len;
    const uint8_t *p = weft_call_result_output(res, &len);
    snprintf(buf, sizeof buf, "%.*s", (int)len, p ? (const char *)p : "");
    if (weft_call_result_outcome(res) != WEFT_CALL_OK)
        fprintf(stderr, "call: %s\n", weft_call_result_message(res));
    return buf;
}

static uint64_t kept_calls(weft_node_t *n)
{
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    return st.kept_instance_calls;
}

/* Every call of `scribble` after the first runs in the instance the one
 * before changed (a counter, a buffer, a grown memory, leaked heap blocks,
 * a resource handle never dropped, the argument's realloc'd copy) and sees
 * what the fresh one saw, with the same fuel. */
TEST(a_kept_instance_shows_no_call_what_the_last_one_left)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = node_with("kept.wasm", id);
    weft_call_result_t *first = call(n, id, "scribble", "hello");
    char want[600];
    snprintf(want, sizeof want, "%s", output(first));
    ASSERT_TRUE(strncmp(want, "calls=0 buf=0 pages=", 20) == 0);
    ASSERT_TRUE(strstr(want, " handle=1 ") != NULL);
    ASSERT_TRUE(strstr(want, "=hello") != NULL);
    ASSERT_EQ_INT(kept_calls(n), 0);
    for (int i = 0; i < 4; i++) {
        weft_call_result_t *r = call(n, id, "scribble", "hello");
        ASSERT_EQ_STR(output(r), want);
        ASSERT_EQ_INT(weft_call_result_fuel(r), weft_call_result_fuel(first));
    }
    ASSERT_EQ_INT(kept_calls(n), 4); /* each of them in the kept instance */
}

/* A trap leaves the instance mid-call (its stack pointer, a half-written
 * return area): the next call in it is as a fresh instance's. */
TEST(a_kept_instance_after_a_trap_is_as_new)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = node_with("svc.wasm", id);
    weft_call_result_t *first = call(n, id, "echo", "hi there");
    ASSERT_EQ_STR(output(first), "echo: hi there");
    ASSERT_EQ_INT(weft_call_result_outcome(call(n, id, "fail", "")), WEFT_CALL_TRAP);
    weft_call_result_t *again = call(n, id, "echo", "hi there");
    ASSERT_EQ_STR(output(again), "echo: hi there");
    ASSERT_EQ_INT(weft_call_result_fuel(again), weft_call_result_fuel(first));
    ASSERT_EQ_STR(output(call(n, id, "weft:test/text@0.1.0#upper", "quiet")), "QUIET");
    ASSERT_EQ_INT(kept_calls(n), 3);
}

/* A preview 1 command wrapped with the adapter (hello_command.wasm): core
 * instances that import the main module's memory and fill a shim's table
 * from a fixup module, all reset in the order they were made
 * (weft_store_reset). Its default function is wasi:cli/run's run. */
TEST(a_kept_command_with_the_preview1_adapter_runs_as_new)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = node_with("hello_command.wasm", id);
    weft_call_result_t *first = call(n, id, NULL, "");
    ASSERT_EQ_STR(output(first), "hello from a component\n");
    for (int i = 0; i < 3; i++) {
        weft_call_result_t *r = call(n, id, NULL, "");
        ASSERT_EQ_STR(output(r), "hello from a component\n");
        ASSERT_EQ_INT(weft_call_result_fuel(r), weft_call_result_fuel(first));
    }
    ASSERT_EQ_INT(kept_calls(n), 3);
}

/* A deadline that passes while the kept instance is reset still stops
 * the call: the watchdog interrupts a deadline once, and a reset clearing
 * the store's flag let a spin run for ever (CTest's timeout is the
 * failure then: 6 of 6 runs hung). Each spin follows a call that left
 * 4 MiB of grown memory for its reset to clear, and its deadline of
 * 1-20 us passes before or during that reset or soon after. The interrupt
 * that stopped a spin does not stop the fill after it in the same kept
 * store. */
TEST(a_deadline_passing_while_a_kept_instance_is_reset_still_stops_the_call)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = node_with("kept.wasm", id);
    for (int i = 0; i < 400; i++) {
        weft_call_req_t req;
        memset(&req, 0, sizeof req);
        req.context = "c";
        req.app = id;
        req.function = i % 2 ? "spin" : "fill";
        req.input = (const uint8_t *)(i % 2 ? "" : "[4096]");
        req.input_len = strlen((const char *)req.input);
        req.limits.timeout_ns = i % 2 ? 1000u + 1000u * (unsigned)(i % 20) : 0; /* 1-20 us */
        weft_call_result_t *r = NULL;
        ASSERT_EQ_INT(weft_node_call(n, &req, &r), 0);
        weft_call_outcome_t outcome = weft_call_result_outcome(r);
        weft_trap_code_t trap = weft_call_result_trap(r);
        if (outcome != (i % 2 ? WEFT_CALL_TRAP : WEFT_CALL_OK))
            fprintf(stderr, "call %d: %s\n", i, weft_call_result_message(r));
        weft_call_result_delete(r);
        ASSERT_EQ_INT(outcome, i % 2 ? WEFT_CALL_TRAP : WEFT_CALL_OK);
        if (i % 2)
            ASSERT_EQ_INT(trap, WEFT_TRAP_INTERRUPTED);
    }
    ASSERT_TRUE(kept_calls(n) > 0);
}
