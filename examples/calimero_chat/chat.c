/*
 * chat.c — a shared chat room for the Calimero ABI (sdk/calimero.h), run
 * by `weft serve` on each member node of a context. The messages are one
 * vector collection (an RGA: pushes on any node merge into one order on
 * all); its id is kept in synced storage under "room", so every member
 * finds it. A message may carry an attachment, written as a blob in
 * chunks (blob_create/write/close), named in the message by its id and
 * announced to the room's context (blob_announce_to_context), so every
 * member node fetches it (docs/calimero.md "Blobs"). Members come from
 * the context (context_members, context_add_member). See README.md.
 */
#include "calimero.h"

#define MAX_INPUT (1024u * 1024u) /* a post's text and attachment together */
#define MAX_TEXT 4096u
#define MAX_OUTPUT (1024u * 1024u)
#define CHUNK (64u * 1024u) /* the attachment goes to blob_write in pieces this big */

/* A stored message: author key, attachment flag, then when the flag is 1
 * the blob id and the attachment's size (u64 LE), then the text. */
#define REC_MAX (32u + 1u + 32u + 8u + MAX_TEXT)

static uint8_t in[MAX_INPUT];
static char out[MAX_OUTPUT];
static uint8_t rec[REC_MAX];
static const char room_key[] = "room";
static const char hex[] = "0123456789abcdef";

static void fail(const char *msg)
{
    cal_return(CAL_ERR, msg, cal_strlen(msg));
}

/* The call's input in `in`; its length, or -1 (the call answered Err). */
static int64_t input(void)
{
    cal_input(0);
    int64_t n = cal_register_read(0, in, MAX_INPUT);
    if (n < 0) fail("input longer than 1 MiB");
    return n;
}

/* The room's vector id into id[32]: 1, or 0 (the call answered Err). */
static int room(uint8_t id[32])
{
    if (!cal_read(room_key, sizeof room_key - 1, 1) || cal_register_read(1, id, 32) != 32) {
        fail("no room here yet: call init first");
        return 0;
    }
    return 1;
}

static size_t put_hex(char *o, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = hex[b[i] >> 4];
        o[2 * i + 1] = hex[b[i] & 15];
    }
    return 2 * n;
}

/* 2n hex digits at s into b[n]: 1, or 0 when they are not hex. */
static int get_hex(const uint8_t *s, uint8_t *b, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        uint8_t c = s[i], v;
        if (c >= '0' && c <= '9') v = (uint8_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = (uint8_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v = (uint8_t)(c - 'A' + 10);
        else return 0;
        b[i / 2] = (uint8_t)(i % 2 ? (b[i / 2] << 4) | v : v);
    }
    return 1;
}

static size_t put_u64(char *o, uint64_t v)
{
    char t[20];
    size_t n = 0, k = 0;
    do t[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n) o[k++] = t[--n];
    return k;
}

/* The input as 32 bytes written in hex, into b: 1, or 0 (the call
 * answered Err, saying what it wanted: `what`). */
static int hex_input(uint8_t b[32], const char *what)
{
    int64_t n = input();
    if (n < 0) return 0;
    if (n != 64 || !get_hex(in, b, 32)) {
        fail(what);
        return 0;
    }
    return 1;
}

/* init: makes the room (its vector) once; Ok "room created", or Ok
 * "room exists" when it is there already. Call it on one node. */
CAL_EXPORT("init") void init(void)
{
    uint8_t id[32];
    if (cal_read(room_key, sizeof room_key - 1, 1)) {
        static const char msg[] = "room exists";
        cal_return(CAL_OK, msg, sizeof msg - 1);
        return;
    }
    if (cal_js_crdt_vector_new(1) != 0 || cal_register_read(1, id, 32) != 32) {
        CAL_PANIC("js_crdt_vector_new failed");
        return;
    }
    cal_write(room_key, sizeof room_key - 1, id, 32, 2);
    static const char msg[] = "room created";
    cal_return(CAL_OK, msg, sizeof msg - 1);
}

/* post TEXT, or TEXT NUL ATTACHMENT: appends the message (by the
 * executor) to the room; the attachment becomes a blob whose id the
 * message carries. Ok: the blob id in hex, or empty. Event "posted" with
 * the text. */
CAL_EXPORT("post") void post(void)
{
    uint8_t vid[32], blob[32];
    int64_t n = input();
    if (n < 0 || !room(vid)) return;
    size_t tl = 0;
    while (tl < (size_t)n && in[tl] != 0) tl++;
    if (tl == 0 || tl > MAX_TEXT) {
        fail("the text is 1 to 4096 bytes (then NUL and the attachment, if any)");
        return;
    }
    for (size_t i = 0; i < tl; i++)
        if (in[i] == '\n') {
            fail("the text is one line");
            return;
        }
    size_t r = 0;
    cal_executor_id(1);
    if (cal_register_read(1, rec, 32) != 32) {
        CAL_PANIC("executor_id is not 32 bytes");
        return;
    }
    r = 32;
    size_t ol = 0;
    if (tl < (size_t)n) { /* an attachment: into a blob, a chunk at a time */
        const uint8_t *a = in + tl + 1;
        uint64_t al = (uint64_t)n - tl - 1, done = 0;
        uint64_t fd = cal_blob_create();
        while (done < al) {
            uint64_t piece = al - done < CHUNK ? al - done : CHUNK;
            cal_buf_t b = cal_buf(a + done, (size_t)piece);
            done += cal_blob_write(fd, cal_ptr(&b));
        }
        uint8_t ctx[32];
        cal_buf_t idb = cal_buf(blob, 32), cb = cal_buf(ctx, 32);
        cal_blob_close(fd, cal_ptr(&idb));
        cal_context_id(2); /* the room's members fetch it from this node */
        if (cal_register_read(2, ctx, 32) != 32 ||
            cal_blob_announce_to_context(cal_ptr(&idb), cal_ptr(&cb)) != 1) {
            CAL_PANIC("the attachment could not be announced");
            return;
        }
        rec[r++] = 1;
        for (int i = 0; i < 32; i++) rec[r++] = blob[i];
        for (int i = 0; i < 8; i++) rec[r++] = (uint8_t)(al >> (8 * i));
        ol = put_hex(out, blob, 32);
    } else {
        rec[r++] = 0;
    }
    for (size_t i = 0; i < tl; i++) rec[r++] = in[i];
    cal_buf_t vb = cal_buf(vid, 32), mb = cal_buf(rec, r);
    if (cal_js_crdt_vector_push(cal_ptr(&vb), cal_ptr(&mb)) != 1) {
        fail("the room's vector refused the message");
        return;
    }
    cal_emit_event("posted", in, tl);
    cal_return(CAL_OK, out, ol);
}

/* messages [FROM]: the messages from index FROM (decimal, default 0), one
 * line each: INDEX AUTHOR ATTACHMENT TEXT, AUTHOR the key in hex,
 * ATTACHMENT "-" or BLOBID:SIZE. */
CAL_EXPORT("messages") void messages(void)
{
    uint8_t vid[32], len8[8];
    int64_t n = input();
    if (n < 0 || !room(vid)) return;
    uint64_t from = 0;
    for (int64_t i = 0; i < n; i++) {
        if (in[i] < '0' || in[i] > '9' || from > UINT64_MAX / 10 - 1) {
            fail("input is a decimal index, or nothing");
            return;
        }
        from = from * 10 + (uint64_t)(in[i] - '0');
    }
    cal_buf_t vb = cal_buf(vid, 32);
    if (cal_js_crdt_vector_len(cal_ptr(&vb), 1) != 1 || cal_register_read(1, len8, 8) != 8) {
        fail("the room's vector has no length");
        return;
    }
    uint64_t count = 0;
    for (int i = 0; i < 8; i++) count |= (uint64_t)len8[i] << (8 * i);
    size_t o = 0;
    for (uint64_t i = from; i < count; i++) {
        if (cal_js_crdt_vector_get(cal_ptr(&vb), i, 1) != 1) break;
        int64_t rl = cal_register_read(1, rec, sizeof rec);
        if (rl < 33) continue; /* not a message of this app's */
        size_t p = 33;
        /* the longest line: index, key, blob id and size, text, separators */
        if (o + 20 + 64 + 64 + 21 + MAX_TEXT + 4 > MAX_OUTPUT) {
            fail("more than 1 MiB of messages: ask from a later index");
            return;
        }
        o += put_u64(out + o, i);
        out[o++] = ' ';
        o += put_hex(out + o, rec, 32);
        out[o++] = ' ';
        if (rec[32] == 1 && rl >= 73) {
            uint64_t size = 0;
            for (int k = 0; k < 8; k++) size |= (uint64_t)rec[65 + k] << (8 * k);
            o += put_hex(out + o, rec + 33, 32);
            out[o++] = ':';
            o += put_u64(out + o, size);
            p = 73;
        } else {
            out[o++] = '-';
        }
        out[o++] = ' ';
        for (size_t k = p; k < (size_t)rl; k++) out[o++] = (char)rec[k];
        out[o++] = '\n';
    }
    cal_return(CAL_OK, out, o);
}

/* attachment BLOBID (hex): the attachment's bytes, read back in chunks
 * through blob_open/blob_read, or Err when this node does not hold it
 * (not yet: it is still coming from the node it was posted on). */
CAL_EXPORT("attachment") void attachment(void)
{
    uint8_t id[32];
    if (!hex_input(id, "input is a blob id: 64 hex digits")) return;
    cal_buf_t idb = cal_buf(id, 32);
    uint64_t fd = cal_blob_open(cal_ptr(&idb));
    if (fd == 0) {
        fail("no such attachment on this node (yet)");
        return;
    }
    size_t o = 0;
    for (;;) {
        size_t room_left = MAX_OUTPUT - o;
        if (room_left == 0) {
            fail("attachment longer than 1 MiB");
            return;
        }
        cal_buf_t b = cal_buf(out + o, room_left < CHUNK ? room_left : CHUNK);
        uint64_t got = cal_blob_read(fd, cal_ptr(&b));
        if (got == 0) break;
        o += (size_t)got;
    }
    cal_return(CAL_OK, out, o);
}

/* members: the context's members (node keys), one hex key a line. */
CAL_EXPORT("members") void members(void)
{
    cal_context_members(1);
    int64_t rl = cal_register_read(1, in, MAX_INPUT);
    if (rl < 4) {
        fail("no member list");
        return;
    }
    uint32_t count = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                     (uint32_t)in[3] << 24;
    size_t o = 0;
    for (uint32_t i = 0; i < count && 4 + 32 * (size_t)(i + 1) <= (size_t)rl &&
                         o + 65 <= MAX_OUTPUT; i++) {
        o += put_hex(out + o, in + 4 + 32 * (size_t)i, 32);
        out[o++] = '\n';
    }
    cal_return(CAL_OK, out, o);
}

/* invite KEY (a node id in hex): adds the node to the context's members
 * when the call commits; the room then replicates to it. */
CAL_EXPORT("invite") void invite(void)
{
    uint8_t key[32];
    if (!hex_input(key, "input is a node id: 64 hex digits")) return;
    cal_buf_t kb = cal_buf(key, 32);
    if (cal_context_is_member(cal_ptr(&kb))) {
        fail("already a member");
        return;
    }
    cal_context_add_member(cal_ptr(&kb));
    static const char msg[] = "invited";
    cal_return(CAL_OK, msg, sizeof msg - 1);
}
