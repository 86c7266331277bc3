/*
 * test_faasm_node.c — Faasm calls through the node (src/node/abi_faasm.c):
 * guests/faasm_chain.c deployed on a node with few workers, chaining by
 * pointer and by name, await's return codes, the depth bound, a fan-out
 * far wider than the worker pool, Faasm's pi estimate and a shared counter
 * over chained calls, and the same on a one-call inline node (`weft run`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../store/tmpdir.h"
#include "../node/node_with.h"
#include "weft/error.h"
#include "weft/node.h"

/* A node of `workers` threads with the chain app as contexts "f", "g",
 * and "u/f", "u/g" (functions f and g of Faasm user u). */
static weft_node_t *faasm_node(unsigned workers)
{
    static const char *const contexts[] = {"f", "g", "u/f", "u/g", NULL};
    size_t len;
    const uint8_t *chain = node_with_read(FAASM_CHAIN_WASM, &len);
    weft_node_t *n = node_with_open("faasm", workers);
    node_with_deploy(n, chain, len, "faasm_chain", contexts, NULL);
    return n;
}

/* A view call of context ctx (or of opened app `app`) with input; the
 * result is freed when the test ends. */
static weft_call_result_t *fcall(weft_node_t *n, const char *ctx, const char *app, const char *in)
{
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = ctx;
    req.app = app;
    req.input = (const uint8_t *)in;
    req.input_len = strlen(in);
    req.view = 1;
    return node_with_call(n, &req);
}

static const char *output(weft_call_result_t *res)
{
    size_t len;
    const uint8_t *p = weft_call_result_output(res, &len);
    static char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)len, p ? (const char *)p : "");
    if (weft_call_result_outcome(res) != WEFT_CALL_OK)
        fprintf(stderr, "call: %s\n", weft_call_result_message(res));
    if (getenv("FAASM_TEST_VERBOSE"))
        fprintf(stderr, "output: [%s]\n", buf);
    return buf;
}

static int has_log(weft_call_result_t *res, const char *needle)
{
    for (size_t i = 0, n = weft_call_result_log_count(res); i < n; i++) {
        size_t len;
        const char *l = weft_call_result_log(res, i, &len);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        if (strstr(line, needle))
            return 1;
    }
    return 0;
}

TEST(chain_ptr_runs_a_table_entry_once_after_the_constructors)
{
    weft_node_t *n = faasm_node(2);
    weft_call_result_t *res = fcall(n, "f", NULL, "ptr");
    ASSERT_TRUE(strcmp(output(res), "rc=0 out=child:x ctors=1 main_ctors=1") == 0);
    /* the outcome shows the chain: the child's call id */
    ASSERT_TRUE(has_log(res, "faasm: chained call 1 is call "));
}

TEST(await_gives_exit_codes_one_for_a_trap_and_minus_one_for_unknown_ids)
{
    weft_node_t *n = faasm_node(2);
    ASSERT_TRUE(strcmp(output(fcall(n, "f", NULL, "codes")), "3 1 -1 -1") == 0);
}

TEST(chain_name_calls_another_context)
{
    weft_node_t *n = faasm_node(2);
    ASSERT_TRUE(strcmp(output(fcall(n, "f", NULL, "name g")), "rc=0 out=hello") == 0);
    /* a context that does not exist: the chained call fails, not the caller */
    ASSERT_TRUE(strcmp(output(fcall(n, "f", NULL, "name nope")), "rc=1 out=") == 0);
}

TEST(a_fan_out_wider_than_the_worker_pool_does_not_deadlock)
{
    weft_node_t *n = faasm_node(1);
    ASSERT_TRUE(strcmp(output(fcall(n, "f", NULL, "fanout 100")), "0 of 100 failed") == 0);
}

TEST(a_chain_deeper_than_the_bound_is_refused_cleanly)
{
    weft_node_t *n = faasm_node(2);
    ASSERT_TRUE(strcmp(output(fcall(n, "f", NULL, "deep")), "16") == 0);
}

TEST(pi_over_chained_workers_and_appended_state)
{
    weft_node_t *n = faasm_node(2);
    ASSERT_TRUE(strncmp(output(fcall(n, "f", NULL, "pi 8")), "pi 3.1", 6) == 0);
}

TEST(chained_writers_under_the_write_lock_lose_no_update)
{
    weft_node_t *n = faasm_node(3);
    ASSERT_TRUE(strcmp(output(fcall(n, "f", NULL, "counter 8")), "counter 400") == 0);
}

TEST(stdout_is_the_output_when_the_function_writes_none)
{
    weft_node_t *n = faasm_node(1);
    ASSERT_TRUE(strcmp(output(fcall(n, "f", NULL, "print")), "awaited 0\nawaited 0\nawaited 0\n") == 0);
}

TEST(an_inline_node_runs_chained_calls_when_awaited)
{
    size_t len;
    const uint8_t *chain = node_with_read(FAASM_CHAIN_WASM, &len);
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = WEFT_NODE_INLINE | WEFT_NODE_NO_SYNC;
    weft_node_t *n = NULL;
    char msg[256], id[WEFT_APP_ID_LEN + 1];
    ASSERT_EQ_INT(weft_node_open(&cfg, &n, msg, sizeof msg), 0);
    test_defer(node_with_close, n);
    ASSERT_EQ_INT(weft_node_app_open(n, chain, len, "faasm_chain", id, msg, sizeof msg), 0);
    ASSERT_TRUE(strcmp(output(fcall(n, "faasm_chain", id, "ptr")),
                       "rc=0 out=child:x ctors=1 main_ctors=1") == 0);
    ASSERT_TRUE(strcmp(output(fcall(n, "faasm_chain", id, "fanout 5")), "0 of 5 failed") == 0);
    ASSERT_TRUE(strcmp(output(fcall(n, "faasm_chain", id, "counter 3")), "counter 150") == 0);
}

TEST(functions_of_one_user_share_state_and_chain_by_bare_name)
{
    weft_node_t *n = faasm_node(2);
    ASSERT_TRUE(strcmp(output(fcall(n, "u/f", NULL, "counter 2")), "counter 100") == 0);
    ASSERT_TRUE(strcmp(output(fcall(n, "u/g", NULL, "readcounter")), "100") == 0);
    ASSERT_TRUE(strcmp(output(fcall(n, "g", NULL, "readcounter")), "0") == 0); /* user g */
    /* "g" from u/f is u/g: output hello either way, and u/g's log names its parent */
    ASSERT_TRUE(strcmp(output(fcall(n, "u/f", NULL, "name g")), "rc=0 out=hello") == 0);
    ASSERT_TRUE(strcmp(output(fcall(n, "u/f", NULL, "name u/g")), "rc=0 out=hello") == 0);
}

/* A thread keeps a Faasm call's instance for its next call and resets it
 * (src/node/call.c, "Kept instances"): on one worker every call after the
 * first runs in the instance the one before scribbled over (its data, bss,
 * heap, a grown memory), and each sees what a fresh instance has, with the
 * fuel of the first, fresh, call. Chained children (a second kept instance,
 * taken while the parent's is busy) likewise. */
TEST(a_kept_instance_shows_no_call_what_the_last_one_left)
{
    weft_node_t *n = faasm_node(1);
    weft_call_result_t *first = fcall(n, "f", NULL, "scribble");
    char want[128];
    snprintf(want, sizeof want, "%s", output(first));
    ASSERT_TRUE(strncmp(want, "pristine=1 pages=", 17) == 0);
    ASSERT_TRUE(strstr(want, " ctors=1") != NULL);
    for (int i = 0; i < 4; i++) {
        weft_call_result_t *r = fcall(n, "f", NULL, "scribble");
        ASSERT_EQ_STR(output(r), want);
        ASSERT_EQ_INT(weft_call_result_fuel(r), weft_call_result_fuel(first));
    }
    for (int i = 0; i < 3; i++) /* parent and child each in a kept instance */
        ASSERT_EQ_STR(output(fcall(n, "f", NULL, "ptr")), "rc=0 out=child:x ctors=1 main_ctors=1");
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    ASSERT_TRUE(st.kept_instance_calls >= 4 + 3 * 2 - 1); /* all but the first parent and child */
}

/* The embedded global tier is kept in the data directory (its "faasm"
 * folder): what was pushed, appended, and pushed again, a node on the same
 * directory pulls after a restart; a value cleared before is gone. */
TEST(the_embedded_global_tier_survives_a_node_restart)
{
    size_t len;
    const uint8_t *kv = node_with_read(FAASM_KV_WASM, &len);
    const char *dir = tmpdir_new("faasm-persist");
    weft_node_t *n = node_with_open_on(dir, 2);
    node_with_deploy(n, kv, len, "faasm_kv", (const char *const[]){"s", NULL}, NULL);
    const char *steps[] = {"set first", "append one", "append two", "set kept-value"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        weft_call_result_t *r = fcall(n, "s", NULL, steps[i]);
        ASSERT_EQ_INT(weft_call_result_outcome(r), WEFT_CALL_OK);
    }
    ASSERT_EQ_STR(output(fcall(n, "s", NULL, "get")), "kept-value");
    weft_node_close(n);

    n = node_with_open_on(dir, 2);
    test_defer(node_with_close, n);
    ASSERT_EQ_STR(output(fcall(n, "s", NULL, "get")), "kept-value");
    ASSERT_EQ_STR(output(fcall(n, "s", NULL, "list 2")), "onetwo");
    /* and what changes after the restart is kept again */
    ASSERT_EQ_INT(weft_call_result_outcome(fcall(n, "s", NULL, "append three")), WEFT_CALL_OK);
    ASSERT_EQ_STR(output(fcall(n, "s", NULL, "list 3")), "onetwothree");
}

TEST(example_wordcount_maps_and_reduces_over_chained_calls)
{
    weft_node_t *n = faasm_node(2);
    size_t len;
    const uint8_t *wasm = node_with_read(FAASM_WORDCOUNT_WASM, &len);
    node_with_deploy(n, wasm, len, "wordcount", (const char *const[]){"demo/wordcount", NULL},
                     NULL);
    ASSERT_TRUE(strcmp(output(fcall(n, "demo/wordcount", NULL,
                                    "The cat and the hat, and THE bat.\nthe end")),
                       "the 4\nand 2\nbat 1\ncat 1\nend 1\nhat 1\n") == 0);
    ASSERT_TRUE(strncmp(output(fcall(n, "demo/wordcount", NULL, "")),
                        "it 8\nof 8\nthe 8\nwas 8\nage 2\n", 27) == 0); /* the generated text */
}

TEST(example_sgd_learns_over_shared_state)
{
    weft_node_t *n = faasm_node(2);
    size_t len;
    const uint8_t *wasm = node_with_read(FAASM_SGD_WASM, &len);
    node_with_deploy(n, wasm, len, "sgd", (const char *const[]){"demo/sgd", NULL}, NULL);
    const char *out = output(fcall(n, "demo/sgd", NULL, "3"));
    double mse = 1;
    ASSERT_EQ_INT(sscanf(out, "mse %lf", &mse), 1);
    ASSERT_TRUE(mse < 0.01); /* about 4 with zero weights; the workers' order varies */
}
