/*
 * fuzz_crdt.c — libFuzzer target for the CRDT decoders.
 *
 * The first byte picks the decoder: even → weft_crdt_op_decode, odd →
 * weft_crdt_state_decode, on the rest of the input. Beyond crashes and
 * over-reads (the sanitizers' job) it aborts when the library breaks its
 * contract: a decode failing with anything but WEFT_EMALFORMED (or
 * ENOMEM), a decoded op that does not re-encode to the same bytes or does
 * not apply to a fresh state, or a decoded state whose encoding does not
 * decode back to itself. replay.c runs it over corpus/ without libFuzzer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/crdt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_crdt: %s\n", what);
        abort();
    }
}

static void fuzz_op(const uint8_t *p, size_t n)
{
    weft_crdt_op_t op;
    weft_crdt_state_t *st;
    uint8_t *enc;
    size_t len;
    int rc = weft_crdt_op_decode(p, n, &op);
    if (rc != 0) {
        check(rc == WEFT_EMALFORMED, "op decode: unexpected error code");
        return;
    }
    enc = malloc(n ? n : 1);
    check(enc != NULL, "malloc");
    check(weft_crdt_op_encode(&op, enc, n, &len) == 0 && len == n && memcmp(enc, p, n) == 0,
          "op does not re-encode to its bytes");
    free(enc);
    if (weft_crdt_state_new(op.type, &st) != 0)
        return;
    rc = weft_crdt_apply(st, &op);
    check(rc == 0 || rc == WEFT_ENOMEM, "decoded op does not apply");
    check(weft_crdt_apply(st, &op) == rc, "second apply differs");
    weft_crdt_state_delete(st);
}

static void fuzz_state(const uint8_t *p, size_t n)
{
    weft_crdt_state_t *st, *back;
    uint8_t *enc, *enc2, out[256];
    size_t len, len2, olen;
    int rc = weft_crdt_state_decode(p, n, &st);
    if (rc != 0) {
        check(rc == WEFT_EMALFORMED || rc == WEFT_ENOMEM, "state decode: unexpected error code");
        return;
    }
    if (weft_crdt_state_encode(st, &enc, &len) == 0) {
        check(weft_crdt_state_decode(enc, len, &back) == 0, "encoded state does not decode");
        check(weft_crdt_state_encode(back, &enc2, &len2) == 0 && len2 == len &&
                  memcmp(enc, enc2, len) == 0,
              "state encoding is not stable");
        weft_crdt_state_delete(back);
        free(enc);
        free(enc2);
    }
    /* the reads must hold up on any decodable state */
    switch (weft_crdt_state_type(st)) {
    case WEFT_CRDT_LWW_MAP: weft_crdt_map_entries(st, out, sizeof out, &olen); break;
    case WEFT_CRDT_ORSET: weft_crdt_orset_elements(st, out, sizeof out, &olen); break;
    case WEFT_CRDT_RGA: weft_crdt_rga_values(st, out, sizeof out, &olen); break;
    default: break;
    }
    weft_crdt_state_delete(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_state(data + 1, size - 1);
    else
        fuzz_op(data + 1, size - 1);
    return 0;
}
