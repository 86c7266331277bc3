/*
 * test_node_memory.c — what a node thread reuses between calls leaks
 * nothing from one call to the next, through weft_node_call: the bytes of
 * linear memories (the engine's memory pool, docs/engine.md "Linear
 * memories", and a thread's kept instance reset for its next call of the
 * same app, weft_instance_reset), for the same app and another app of
 * another size, and the
 * standard streams, which are each call's own (in memory,
 * weft_wasi_config_t.stdio_memory) and behave as files; views on the one
 * worker and writes on the writer.
 *
 * The app is made here: tests/unit/wat/memzero.wat's bytes with the memory's
 * initial pages patched in. smear(grow, byte) grows the memory and writes
 * byte over all of it; nonzero() counts the 8-byte words that are not zero
 * (a fresh instance has one: its data segment "data" at offset 100).
 * The streams' app is wat/stdio_echo.wat.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../store/tmpdir.h"
#include "weft/node.h"

/* wat2wasm tests/unit/wat/memzero.wat; byte MIN_AT is the memory's minimum. */
static const uint8_t memzero[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x02, 0x60, 0x02, 0x7f, 0x7f,
    0x00, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x03, 0x02, 0x00, 0x01, 0x05, 0x03, 0x01, 0x00, 0x03,
    0x07, 0x1c, 0x03, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x05, 0x73, 0x6d,
    0x65, 0x61, 0x72, 0x00, 0x00, 0x07, 0x6e, 0x6f, 0x6e, 0x7a, 0x65, 0x72, 0x6f, 0x00, 0x01,
    0x0a, 0x4f, 0x02, 0x15, 0x00, 0x20, 0x00, 0x40, 0x00, 0x1a, 0x41, 0x00, 0x20, 0x01, 0x3f,
    0x00, 0x41, 0x80, 0x80, 0x04, 0x6c, 0xfc, 0x0b, 0x00, 0x0b, 0x37, 0x01, 0x03, 0x7f, 0x3f,
    0x00, 0x41, 0x80, 0x80, 0x04, 0x6c, 0x21, 0x01, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x20,
    0x01, 0x4f, 0x0d, 0x01, 0x20, 0x00, 0x29, 0x03, 0x00, 0x42, 0x00, 0x52, 0x04, 0x40, 0x20,
    0x02, 0x41, 0x01, 0x6a, 0x21, 0x02, 0x0b, 0x20, 0x00, 0x41, 0x08, 0x6a, 0x21, 0x00, 0x0c,
    0x00, 0x0b, 0x0b, 0x20, 0x02, 0x0b, 0x0b, 0x0b, 0x01, 0x00, 0x41, 0xe4, 0x00, 0x0b, 0x04,
    0x64, 0x61, 0x74, 0x61,
};
enum { MIN_AT = 29 };

static weft_node_t *node;

/* A node with one worker (every view on one thread) in a fresh directory. */
static void open_node(void)
{
    char *dir = tmpdir_new("node-memory");
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = WEFT_NODE_DB_NOSYNC;
    cfg.workers = 1;
    char msg[256];
    if (weft_node_open(&cfg, &node, msg, sizeof msg) != 0)
        FAIL("weft_node_open: %s", msg);
}

static void close_node(void *arg)
{
    (void)arg;
    weft_node_close(node);
    node = NULL;
}

/* Deploys (wasm, len) as app `ctx` and creates context `ctx`. */
static void deploy_bytes(const char *ctx, const uint8_t *wasm, size_t len)
{
    char id[WEFT_APP_ID_LEN + 1], msg[512];
    if (weft_node_app_deploy(node, wasm, len, ctx, id, msg, sizeof msg) != 0)
        FAIL("deploy: %s", msg);
    if (weft_node_context_create(node, ctx, id, msg, sizeof msg) != 0)
        FAIL("context: %s", msg);
}

/* Deploys memzero with `pages` initial pages and creates context `ctx`. */
static void deploy(const char *ctx, uint8_t pages)
{
    uint8_t wasm[sizeof memzero];
    memcpy(wasm, memzero, sizeof wasm);
    wasm[MIN_AT] = pages; /* one LEB128 byte: pages < 128 */
    deploy_bytes(ctx, wasm, sizeof wasm);
}

/* Calls fn of ctx with up to two i32 arguments; returns its i32 result (or
 * 0 when it has none). */
static int32_t call_at(const char *file, int line, const char *ctx, const char *fn, int nargs,
                       int32_t a, int32_t b, int view)
{
    weft_val_t args[2] = {weft_val_i32(a), weft_val_i32(b)};
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = ctx;
    req.function = fn;
    req.args = args;
    req.nargs = (size_t)nargs;
    req.view = view;
    weft_call_result_t *res = NULL;
    if (weft_node_call(node, &req, &res) != 0 || !res)
        test_fail(file, line, "weft_node_call %s.%s failed", ctx, fn);
    if (weft_call_result_outcome(res) != WEFT_CALL_OK) {
        char m[512];
        snprintf(m, sizeof m, "%s", weft_call_result_message(res));
        weft_call_result_delete(res);
        test_fail(file, line, "%s.%s: %s", ctx, fn, m);
    }
    const weft_val_t *v;
    int32_t r = weft_call_result_values(res, &v) == 1 ? v[0].of.i32 : 0;
    weft_call_result_delete(res);
    return r;
}
#define NONZERO(ctx, view) call_at(__FILE__, __LINE__, ctx, "nonzero", 0, 0, 0, view)
#define SMEAR(ctx, grow, byte, view) call_at(__FILE__, __LINE__, ctx, "smear", 2, grow, byte, view)

TEST(a_call_never_sees_what_an_earlier_call_left_in_memory)
{
    open_node();
    test_defer(close_node, NULL);
    deploy("small", 3);  /* cleared whole */
    deploy("large", 20); /* cleared where mapped */
    deploy("big", 40);   /* more than 1 MiB written: dropped */
    static const char *const ctxs[] = {"small", "large", "big"};
    for (int view = 1; view >= 0; view--) { /* the worker, then the writer */
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 3; i++) {
                const char *c = ctxs[(i + round) % 3];
                ASSERT_EQ_INT(NONZERO(c, view), 1);
                SMEAR(c, 7 * round, 0xA5 + round, view);
                ASSERT_EQ_INT(NONZERO(c, view), 1);
            }
        }
    }
}

/* Calls fn of context "s" with `input`; returns its output (freed when the
 * test ends). */
static const char *echo_at(const char *file, int line, const char *fn, const char *input,
                           int view)
{
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = "s";
    req.function = fn;
    req.input = (const uint8_t *)input;
    req.input_len = strlen(input);
    req.view = view;
    weft_call_result_t *res = NULL;
    if (weft_node_call(node, &req, &res) != 0 || !res)
        test_fail(file, line, "weft_node_call %s failed", fn);
    test_defer((void (*)(void *))weft_call_result_delete, res);
    if (weft_call_result_outcome(res) != WEFT_CALL_OK)
        test_fail(file, line, "%s: %s", fn, weft_call_result_message(res));
    size_t len;
    const uint8_t *p = weft_call_result_output(res, &len);
    char *out = malloc(len + 1);
    if (!out)
        test_fail(file, line, "out of memory");
    memcpy(out, p, len);
    out[len] = '\0';
    test_defer(free, out);
    return out;
}
#define ECHO(fn, input, view) echo_at(__FILE__, __LINE__, fn, input, view)

/* Opens the node with wat/stdio_echo.wat deployed in context "s". */
static void open_stdio_echo(void)
{
    open_node();
    test_defer(close_node, NULL);
    FILE *f = fopen(WEFT_UNIT_WASM_DIR "/stdio_echo.wasm", "rb");
    ASSERT_NOT_NULL(f);
    uint8_t wasm[16384];
    size_t n = fread(wasm, 1, sizeof wasm, f);
    fclose(f);
    ASSERT_TRUE(n < sizeof wasm);
    deploy_bytes("s", wasm, n);
}

TEST(a_call_never_sees_the_streams_an_earlier_call_left)
{
    open_stdio_echo();
    for (int view = 1; view >= 0; view--) {
        ASSERT_EQ_STR(ECHO("ignore", "secret", view), ""); /* stdin written, never read */
        ASSERT_EQ_STR(ECHO("echo", "", view), "");
        ASSERT_EQ_STR(ECHO("echo", "abc", view), "abc");
        ASSERT_EQ_STR(ECHO("flags", "", view), "0");
        ASSERT_EQ_STR(ECHO("append", "xyz", view), ""); /* stdin at its end, stdout APPEND */
        ASSERT_EQ_STR(ECHO("flags", "", view), "0"); /* its flag was reset */
        ASSERT_EQ_STR(ECHO("echo", "def", view), "def");
        ASSERT_EQ_STR(ECHO("ignore", "", view), "");
        ASSERT_EQ_STR(ECHO("echo", "g", view), "g");
    }
}

/* A module's standard streams are in memory (weft_wasi_config_t
 * .stdio_memory), and each is a file to the guest as a memory file was:
 * sizes, pread and pwrite, seeks (a write past the end leaves zeros), tell,
 * poll_oneoff with the bytes left to read, set_size. stdin is read-only
 * (a write is BADF), and stdout cannot grow past max_output by a seek or
 * fd_allocate (FBIG). wat/stdio_echo.wat's probe reports each step. */
TEST(the_standard_streams_are_files)
{
    open_stdio_echo();
    static const uint8_t want[] = {
        'a', 'Z', 'c', 'd', 'e', 'f', 0, /* stdout as probe left it */
        0, 5,       /* stdin's filestat: size */
        0, 3,       /* pread of 3 at 1 */
        0, 2,       /* seek to 2 */
        0, 3,       /* read: the 3 bytes left */
        0, 5,       /* tell */
        8,          /* writing stdin: BADF */
        0, 1, 0, 4, /* poll_oneoff: one event, no error, 4 bytes to read */
        0,          /* pwrite of Q at 8 */
        0, 9, 4,    /* stdout's filestat: size 9, a regular file */
        0,          /* set_size 7 */
        22, 22,     /* a write at 100 and fd_allocate of 1000: FBIG */
        'e', 'l', 'l', 'l', 'l', 'o'};
    for (int view = 1; view >= 0; view--) {
        weft_call_req_t req;
        memset(&req, 0, sizeof req);
        req.context = "s";
        req.function = "probe";
        req.input = (const uint8_t *)"hello";
        req.input_len = 5;
        req.view = view;
        req.limits.max_output = 64;
        weft_call_result_t *res = NULL;
        ASSERT_EQ_INT(weft_node_call(node, &req, &res), 0);
        test_defer((void (*)(void *))weft_call_result_delete, res);
        ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
        size_t len;
        const uint8_t *out = weft_call_result_output(res, &len);
        ASSERT_EQ_INT(len, sizeof want);
        for (size_t i = 0; i < sizeof want; i++)
            ASSERT_EQ_INT(out[i], want[i]);
        ASSERT_EQ_STR(ECHO("echo", "abc", view), "abc"); /* and the next call starts afresh */
    }
}
