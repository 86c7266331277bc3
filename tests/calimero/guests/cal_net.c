/*
 * cal_net.c — Calimero test guest for `fetch` (the node's outbound HTTP,
 * docs/http-client.md), written from the document: the request comes in
 * `input` as u32 LE length and bytes of the url, of the method and of the
 * headers (already Borsh Vec<(String, String)>), then the body (the rest);
 * the output is fetch's u32 result, then the register's length (u32, or
 * u32::MAX when fetch left it missing) and its bytes.
 */
#include "guest.h"

static uint8_t reg[2u << 20]; /* what the register may hold: up to 2 MiB */

CAL_EXPORT("fetch") void fetch(void)
{
    size_t n = read_input(), off = 0;
    cal_buf_t part[3];
    for (int i = 0; i < 3; i++) {
        CHECK(n - off >= 4);
        uint32_t l = rd32(in_buf + off);
        CHECK(l <= n - off - 4);
        part[i] = cal_buf(in_buf + off + 4, l);
        off += 4 + l;
    }
    cal_buf_t body = cal_buf(in_buf + off, n - off);
    cal_register_len(7); /* nothing in register 7 before */
    uint32_t r = cal_fetch(cal_ptr(&part[0]), cal_ptr(&part[1]), cal_ptr(&part[2]),
                           cal_ptr(&body), 7);
    uint64_t len = cal_register_len(7);
    wr32(reg, r);
    if (len == CAL_REGISTER_MISSING) {
        wr32(reg + 4, UINT32_MAX);
        ok(reg, 8);
        return;
    }
    CHECK(len <= sizeof reg - 8);
    wr32(reg + 4, (uint32_t)len);
    CHECK(cal_register_read(7, reg + 8, (size_t)len) == (int64_t)len);
    ok(reg, 8 + (size_t)len);
}
