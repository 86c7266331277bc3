/*
 * cal_basic.c — Calimero test guest for everything but storage and the
 * collections, written from the document: registers, context and
 * executor ids, input/value_return, panics, logs, events and their
 * VMLimits, utility functions, and calls that must trap with a named
 * error. Each export takes its arguments from `input` (little-endian).
 */
#include "guest.h"

static uint8_t big[20000];

CAL_EXPORT("echo") void echo(void)
{
    size_t n = read_input();
    ok(in_buf, n);
}

CAL_EXPORT("fail") void fail(void)
{
    size_t n = read_input();
    cal_return(CAL_ERR, in_buf, n);
}

CAL_EXPORT("twice") void twice(void)
{
    ok("first", 5);
    ok("second", 6);
}

CAL_EXPORT("nothing") void nothing(void) {}

CAL_EXPORT("ids") void ids(void)
{
    uint8_t out[64];
    cal_context_id(3);
    cal_executor_id(4);
    CHECK(cal_register_len(3) == 32 && cal_register_len(4) == 32);
    CHECK(cal_register_read(3, out, 32) == 32);
    CHECK(cal_register_read(4, out + 32, 32) == 32);
    ok(out, 64);
}

/* register_len of a missing register, read_register's 1 and 0, a
 * register replaced by a shorter value, an empty input. */
CAL_EXPORT("registers") void registers(void)
{
    uint8_t buf[16];
    CHECK(cal_register_len(77) == CAL_REGISTER_MISSING);
    CHECK(cal_register_len(UINT64_MAX) == CAL_REGISTER_MISSING);
    size_t n = read_input();
    CHECK(n == 5);
    CHECK(cal_register_len(0) == 5);
    cal_buf_t b = cal_buf(buf, 4);
    CHECK(cal_read_register(0, cal_ptr(&b)) == 0); /* length mismatch */
    b.len = 6;
    CHECK(cal_read_register(0, cal_ptr(&b)) == 0);
    b.len = 5;
    CHECK(cal_read_register(0, cal_ptr(&b)) == 1);
    CHECK(memcmp(buf, in_buf, 5) == 0);
    cal_context_id(0);
    CHECK(cal_register_len(0) == 32);
    cal_input(UINT64_MAX); /* any u64 is a register id */
    CHECK(cal_register_len(UINT64_MAX) == 5);
    ok("ok", 2);
}

CAL_EXPORT("read_missing") void read_missing(void)
{
    uint8_t buf[4];
    cal_buf_t b = cal_buf(buf, 4);
    cal_read_register(12345, cal_ptr(&b));
}

/* input: u32 n — fills registers 1000..1000+n-1 */
CAL_EXPORT("fill_registers") void fill_registers(void)
{
    read_input();
    uint32_t n = rd32(in_buf);
    cal_register_len(0);
    for (uint32_t i = 1; i < n; i++) cal_context_id(1000 + i);
    ok_u32(n);
}

/* input: u32 count, u32 size — count messages of size bytes */
CAL_EXPORT("logs") void logs(void)
{
    read_input();
    uint32_t count = rd32(in_buf), size = rd32(in_buf + 4);
    CHECK(size <= sizeof big);
    for (uint32_t i = 0; i < size; i++) big[i] = 'a' + i % 26;
    for (uint32_t i = 0; i < count; i++) {
        cal_buf_t b = cal_buf(big, size);
        cal_log_utf8(cal_ptr(&b));
    }
    ok_u32(count);
}

CAL_EXPORT("log_bad_utf8") void log_bad_utf8(void)
{
    static const uint8_t bad[] = {'o', 'k', 0xc3, 0x28};
    cal_buf_t b = cal_buf(bad, sizeof bad);
    cal_log_utf8(cal_ptr(&b));
}

CAL_EXPORT("print") void print(void)
{
    static const char msg[] = "from quickjs";
    CHECK(cal_js_std_d_print(0, cal_ptr(msg), sizeof msg - 1) == 0);
    ok("ok", 2);
}

/* input: u32 count, u32 kind_size, u32 data_size, u32 handler_size
 * (0: emit, else emit_with_handler with a handler of that size) */
CAL_EXPORT("events") void events(void)
{
    read_input();
    uint32_t count = rd32(in_buf), ks = rd32(in_buf + 4), ds = rd32(in_buf + 8),
             hs = rd32(in_buf + 12);
    CHECK(ks <= sizeof big && ds <= sizeof big && hs <= sizeof big);
    for (uint32_t i = 0; i < sizeof big; i++) big[i] = 'A' + i % 26;
    for (uint32_t i = 0; i < count; i++) {
        cal_event_t e;
        e.kind = cal_buf(big, ks);
        e.data = cal_buf(big, ds);
        if (hs) {
            cal_buf_t h = cal_buf(big, hs);
            cal_emit_with_handler(cal_ptr(&e), cal_ptr(&h));
        } else {
            cal_emit(cal_ptr(&e));
        }
    }
    ok_u32(count);
}

CAL_EXPORT("event_bad_kind") void event_bad_kind(void)
{
    static const uint8_t bad[] = {0xff};
    cal_event_t e;
    e.kind = cal_buf(bad, 1);
    e.data = cal_buf("x", 1);
    cal_emit(cal_ptr(&e));
}

CAL_EXPORT("panic_loc") void panic_loc(void)
{
    static const char file[] = "src/lib.rs";
    cal_location_t l;
    l.file = cal_buf(file, sizeof file - 1);
    l.line = 7;
    l.column = 9;
    cal_panic(cal_ptr(&l));
}

CAL_EXPORT("panic_msg") void panic_msg(void)
{
    static const char msg[] = "balance too low", file[] = "src/app.rs";
    cal_buf_t m = cal_buf(msg, sizeof msg - 1);
    cal_location_t l;
    l.file = cal_buf(file, sizeof file - 1);
    l.line = 12;
    l.column = 5;
    cal_panic_utf8(cal_ptr(&m), cal_ptr(&l));
}

/* input: u64 descriptor pointer — log_utf8 of whatever is there */
CAL_EXPORT("log_at") void log_at(void)
{
    read_input();
    cal_log_utf8(rd64(in_buf));
    ok("ok", 2);
}

/* input: u64 ptr, u64 len — a descriptor in bounds describing that range */
CAL_EXPORT("log_range") void log_range(void)
{
    read_input();
    cal_buf_t b;
    b.ptr = rd64(in_buf);
    b.len = rd64(in_buf + 8);
    cal_log_utf8(cal_ptr(&b));
    ok("ok", 2);
}

CAL_EXPORT("value_return_bad_tag") void value_return_bad_tag(void)
{
    cal_value_return_t v;
    v.tag = 2;
    v.value = cal_buf("x", 1);
    cal_value_return(cal_ptr(&v));
}

CAL_EXPORT("utility") void utility(void)
{
    uint8_t r[64] = {0}, t[8];
    cal_buf_t b = cal_buf(r, sizeof r);
    cal_random_bytes(cal_ptr(&b));
    int nonzero = 0;
    for (size_t i = 0; i < sizeof r; i++) nonzero |= r[i];
    CHECK(nonzero);
    b = cal_buf(t, 8);
    cal_time_now(cal_ptr(&b));
    CHECK(rd64(t) > 1600000000ull * 1000000000ull); /* after 2020, in ns */
    cal_buf_t u = cal_buf("http://x/", 9), m = cal_buf("GET", 3), h = cal_buf("", 0),
              d = cal_buf("", 0);
    CHECK(cal_fetch(cal_ptr(&u), cal_ptr(&m), cal_ptr(&h), cal_ptr(&d), 1) == 1);
    CHECK(cal_flush_delta() == 0);
    ok(t, 8);
}

CAL_EXPORT("time_bad") void time_bad(void)
{
    uint8_t t[4];
    cal_buf_t b = cal_buf(t, 4);
    cal_time_now(cal_ptr(&b));
}

/* input: pk[32] sig[64] msg... — returns ed25519_verify's u32 */
CAL_EXPORT("verify") void verify(void)
{
    size_t n = read_input();
    CHECK(n >= 96);
    cal_buf_t pk = cal_buf(in_buf, 32), sig = cal_buf(in_buf + 32, 64),
              msg = cal_buf(in_buf + 96, n - 96);
    ok_u32(cal_ed25519_verify(cal_ptr(&sig), cal_ptr(&pk), cal_ptr(&msg)));
}

CAL_EXPORT("verify_short_sig") void verify_short_sig(void)
{
    uint8_t z[64] = {0};
    cal_buf_t pk = cal_buf(z, 32), sig = cal_buf(z, 63), msg = cal_buf(z, 1);
    cal_ed25519_verify(cal_ptr(&sig), cal_ptr(&pk), cal_ptr(&msg));
}

CAL_EXPORT("unsupported") void unsupported(void)
{
    cal_buf_t a = cal_buf("", 0), id = cal_buf("", 0);
    cal_send_proposal(cal_ptr(&a), cal_ptr(&id));
}

/* input: context_id[32] u32 count u32 function_len u32 params_len — count
 * xcalls of a generated function name and params to that context */
CAL_EXPORT("xcalls") void xcalls(void)
{
    read_input();
    uint32_t count = rd32(in_buf + 32), fl = rd32(in_buf + 36), pl = rd32(in_buf + 40);
    CHECK(fl <= sizeof big && pl <= sizeof big);
    for (uint32_t i = 0; i < sizeof big; i++) big[i] = 'a' + i % 26;
    for (uint32_t i = 0; i < count; i++) {
        cal_xcall_t x;
        x.context_id = cal_buf(in_buf, 32);
        x.function = cal_buf(big, fl);
        x.params = cal_buf(big, pl);
        cal_xcall(cal_ptr(&x));
    }
    ok_u32(count);
}

/* input: context_id[32] u32 function_len function params — one xcall */
CAL_EXPORT("xcall_to") void xcall_to(void)
{
    size_t n = read_input();
    CHECK(n >= 36);
    uint32_t fl = rd32(in_buf + 32);
    CHECK(36 + fl <= n);
    cal_xcall_t x;
    x.context_id = cal_buf(in_buf, 32);
    x.function = cal_buf(in_buf + 36, fl);
    x.params = cal_buf(in_buf + 36 + fl, n - 36 - fl);
    cal_xcall(cal_ptr(&x));
    ok("queued", 6);
}

/* The same, then Err: the xcall must never run. */
CAL_EXPORT("xcall_then_fail") void xcall_then_fail(void)
{
    xcall_to();
    cal_return(CAL_ERR, "no", 2);
}

/* input: an alias — [u32 found][the context id] */
CAL_EXPORT("resolve") void resolve(void)
{
    static uint8_t o[36];
    size_t n = read_input();
    cal_buf_t a = cal_buf(in_buf, n);
    uint32_t r = cal_context_resolve_alias(cal_ptr(&a), 5);
    wr32(o, r);
    if (r) CHECK(cal_register_read(5, o + 4, 32) == 32);
    ok(o, r ? 36 : 4);
}
