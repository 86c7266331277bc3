/*
 * kv.c — a key-value app for the Calimero ABI (sdk/calimero.h), run by
 * `weft serve` or `weft run --invoke METHOD`. Each method takes its
 * arguments as the call's input and answers with value_return; values
 * live in synced storage, so every member node of the context sees them,
 * and each change emits an event. See README.md.
 */
#include "calimero.h"

#define MAX_INPUT (64u * 1024u)
static char in[MAX_INPUT + 1];
static char val[MAX_INPUT];

/* The call's input in `in`; its length. */
static size_t input(void)
{
    cal_input(0);
    int64_t n = cal_register_read(0, in, MAX_INPUT);
    if (n < 0) {
        static const char msg[] = "input longer than 64 KiB";
        cal_return(CAL_ERR, msg, sizeof msg - 1);
        return (size_t)-1;
    }
    return (size_t)n;
}

static void fail(const char *msg)
{
    cal_return(CAL_ERR, msg, cal_strlen(msg));
}

/* set KEY=VALUE: the old value (empty when new); event "set" with KEY. */
CAL_EXPORT("set") void set(void)
{
    size_t n = input(), k = 0;
    if (n == (size_t)-1) return;
    while (k < n && in[k] != '=') k++;
    if (k == n || k == 0) {
        fail("input is KEY=VALUE");
        return;
    }
    uint32_t existed = cal_write(in, k, in + k + 1, n - k - 1, 1);
    int64_t old = existed ? cal_register_read(1, val, sizeof val) : 0;
    cal_emit_event("set", in, k);
    cal_return(CAL_OK, val, old > 0 ? (size_t)old : 0);
}

/* get KEY: the value, or Err "not found". */
CAL_EXPORT("get") void get(void)
{
    size_t n = input();
    if (n == (size_t)-1) return;
    if (!cal_read(in, n, 1)) {
        fail("not found");
        return;
    }
    int64_t len = cal_register_read(1, val, sizeof val);
    if (len < 0) {
        fail("value longer than 64 KiB");
        return;
    }
    cal_return(CAL_OK, val, (size_t)len);
}

/* remove KEY: the removed value, or Err "not found"; event "removed". */
CAL_EXPORT("remove") void remove_key(void)
{
    size_t n = input();
    if (n == (size_t)-1) return;
    if (!cal_remove(in, n, 1)) {
        fail("not found");
        return;
    }
    int64_t len = cal_register_read(1, val, sizeof val);
    cal_emit_event("removed", in, n);
    cal_return(CAL_OK, val, len > 0 ? (size_t)len : 0);
}

/* whoami: the executor's key, in hex. */
CAL_EXPORT("whoami") void whoami(void)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t id[32];
    char out[64];
    cal_executor_id(2);
    cal_register_read(2, id, sizeof id);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    cal_return(CAL_OK, out, sizeof out);
}
