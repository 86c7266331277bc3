/*
 * test_crdt.c — unit tests of weft_crdt: the op wire format, the HLC, and
 * each type's rules on small hand-made histories, including the cases the
 * property tests only meet by chance (ties, late adds, pending RGA ops).
 */
#include "../unit/test.h"
#include "crdt_test.h"

static void free_state(void *p)
{
    weft_crdt_state_delete(p);
}

static weft_crdt_state_t *new_state(uint8_t type)
{
    weft_crdt_state_t *st;
    ASSERT_EQ_INT(weft_crdt_state_new(type, &st), 0);
    test_defer(free_state, st);
    return st;
}

static replica_id_t node(uint8_t b)
{
    replica_id_t r;
    memset(&r, 0, sizeof r);
    memset(r.id, b, sizeof r.id);
    return r;
}

/* Encoding of st, checked to decode and re-encode to the same bytes. */
static size_t encoded(const weft_crdt_state_t *st, uint8_t *out, size_t cap)
{
    uint8_t *p, *q;
    size_t n, m;
    weft_crdt_state_t *back;
    ASSERT_EQ_INT(weft_crdt_state_encode(st, &p, &n), 0);
    ASSERT_EQ_INT(weft_crdt_state_decode(p, n, &back), 0);
    ASSERT_EQ_INT(weft_crdt_state_encode(back, &q, &m), 0);
    ASSERT_EQ_U64(n, m);
    ASSERT_EQ_MEM(p, q, n);
    for (size_t cut = 0; cut < n; cut++) { /* every truncation is rejected */
        weft_crdt_state_t *bad = NULL;
        if (weft_crdt_state_decode(p, cut, &bad) != WEFT_EMALFORMED)
            FAIL("truncated state of %zu/%zu bytes decoded", cut, n);
    }
    ASSERT_TRUE(n <= cap);
    memcpy(out, p, n);
    free(p);
    free(q);
    weft_crdt_state_delete(back);
    return n;
}

TEST(unit_op_roundtrip)
{
    replica_id_t r = node(7);
    uint8_t pl[64], enc[256];
    size_t pl_len, len, need;
    weft_crdt_id_t parent = {{1}, 5};
    weft_crdt_op_t op, back;
    ASSERT_EQ_INT(weft_crdt_payload_rga_insert(&parent, (const uint8_t *)"hello", 5, pl,
                                               sizeof pl, &pl_len), 0);
    op = op_make(&r, WEFT_CRDT_RGA, WEFT_CRDT_INSERT, 1700000000000ull, pl, pl_len);
    ASSERT_EQ_INT(weft_crdt_op_encode(&op, enc, 10, &need), WEFT_ELIMIT);
    ASSERT_EQ_INT(weft_crdt_op_encode(&op, enc, sizeof enc, &len), 0);
    ASSERT_EQ_U64(need, len);
    ASSERT_EQ_INT(weft_crdt_op_decode(enc, len, &back), 0);
    ASSERT_EQ_U64(back.seq, 1);
    ASSERT_EQ_U64(back.hlc, op.hlc);
    ASSERT_EQ_INT(back.type, WEFT_CRDT_RGA);
    ASSERT_EQ_INT(back.kind, WEFT_CRDT_INSERT);
    ASSERT_EQ_U64(back.payload_len, pl_len);
    ASSERT_EQ_MEM(back.payload, pl, pl_len);
    ASSERT_EQ_U64(back.key_len, 3);
    ASSERT_EQ_MEM(back.origin, r.id, 32);
    for (size_t cut = 0; cut < len; cut++)
        ASSERT_EQ_INT(weft_crdt_op_decode(enc, cut, &back), WEFT_EMALFORMED);
    enc[len] = 0; /* trailing byte */
    ASSERT_EQ_INT(weft_crdt_op_decode(enc, len + 1, &back), WEFT_EMALFORMED);
}

TEST(unit_op_rejects_corrupt)
{
    replica_id_t r = node(1);
    uint8_t pl[16], enc[128], bad[128];
    size_t pl_len, len;
    weft_crdt_op_t op, back;
    weft_crdt_state_t *st = new_state(WEFT_CRDT_GCOUNTER);
    ASSERT_EQ_INT(weft_crdt_payload_counter(st, r.id, WEFT_CRDT_INC, 3, pl, sizeof pl, &pl_len), 0);
    op = op_make(&r, WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1000, pl, pl_len);
    ASSERT_EQ_INT(weft_crdt_op_encode(&op, enc, sizeof enc, &len), 0);
    /* version */
    memcpy(bad, enc, len);
    bad[0] = 2;
    ASSERT_EQ_INT(weft_crdt_op_decode(bad, len, &back), WEFT_EMALFORMED);
    /* type 9, and a kind the type has not (type at 1+1+3+1+3) */
    memcpy(bad, enc, len);
    bad[9] = 9;
    ASSERT_EQ_INT(weft_crdt_op_decode(bad, len, &back), WEFT_EMALFORMED);
    memcpy(bad, enc, len);
    bad[10] = WEFT_CRDT_DEC;
    ASSERT_EQ_INT(weft_crdt_op_decode(bad, len, &back), WEFT_EMALFORMED);
    /* an overlong varint for the context length (0x83 0x00 for 3) */
    bad[0] = 1;
    bad[1] = 0x83;
    bad[2] = 0x00;
    memcpy(bad + 3, enc + 2, len - 2);
    ASSERT_EQ_INT(weft_crdt_op_decode(bad, len + 1, &back), WEFT_EMALFORMED);
    /* a context length past the bound */
    {
        uint8_t huge[] = {1, 0x80, 0x02};
        ASSERT_EQ_INT(weft_crdt_op_decode(huge, sizeof huge, &back), WEFT_EMALFORMED);
    }
    /* a counter payload whose total is below its delta */
    {
        uint8_t wrong[] = {5, 2};
        op.payload = wrong;
        op.payload_len = 2;
        ASSERT_EQ_INT(weft_crdt_op_encode(&op, enc, sizeof enc, &len), WEFT_EARG);
        ASSERT_EQ_INT(weft_crdt_apply(st, &op), WEFT_EMALFORMED);
    }
    /* seq 0 */
    op.payload = pl;
    op.payload_len = pl_len;
    op.seq = 0;
    ASSERT_EQ_INT(weft_crdt_op_encode(&op, enc, sizeof enc, &len), WEFT_EARG);
    ASSERT_EQ_INT(weft_crdt_apply(st, &op), WEFT_EARG);
}

TEST(unit_hlc)
{
    weft_hlc_t h;
    uint64_t a, b, c;
    weft_hlc_init(&h, 0);
    a = weft_hlc_now(&h, 1000);
    b = weft_hlc_now(&h, 1000);
    c = weft_hlc_now(&h, 999); /* wall clock went back */
    ASSERT_EQ_U64(a, WEFT_HLC_MAKE(1000, 0));
    ASSERT_EQ_U64(b, WEFT_HLC_MAKE(1000, 1));
    ASSERT_EQ_U64(c, WEFT_HLC_MAKE(1000, 2));
    /* a remote clock ahead pulls ours along */
    a = weft_hlc_observe(&h, WEFT_HLC_MAKE(5000, 7), 1001);
    ASSERT_EQ_U64(a, WEFT_HLC_MAKE(5000, 8));
    ASSERT_EQ_U64(weft_hlc_now(&h, 1002), WEFT_HLC_MAKE(5000, 9));
    ASSERT_EQ_U64(weft_hlc_now(&h, 6000), WEFT_HLC_MAKE(6000, 0));
    /* the logical counter carries into the next millisecond */
    weft_hlc_init(&h, WEFT_HLC_MAKE(10, 0xffff));
    ASSERT_EQ_U64(weft_hlc_now(&h, 10), WEFT_HLC_MAKE(11, 0));
    weft_hlc_init(&h, UINT64_MAX);
    ASSERT_EQ_U64(weft_hlc_observe(&h, UINT64_MAX, 0), UINT64_MAX);
}

static void counter_op(weft_crdt_state_t *st, replica_id_t *r, uint8_t kind, uint64_t delta,
                       weft_crdt_op_t *op, uint8_t *pl)
{
    size_t n;
    ASSERT_EQ_INT(weft_crdt_payload_counter(st, r->id, kind, delta, pl, 32, &n), 0);
    *op = op_make(r, weft_crdt_state_type(st), kind, 1000, pl, n);
}

TEST(unit_gcounter)
{
    weft_crdt_state_t *a = new_state(WEFT_CRDT_GCOUNTER), *b = new_state(WEFT_CRDT_GCOUNTER);
    replica_id_t x = node(1), y = node(2);
    uint8_t p1[32], p2[32], p3[32], ea[256], eb[256];
    weft_crdt_op_t o1, o2, o3;
    uint64_t v;
    counter_op(a, &x, WEFT_CRDT_INC, 5, &o1, p1);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o1), 0);
    counter_op(a, &x, WEFT_CRDT_INC, 2, &o2, p2);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o2), 0);
    counter_op(b, &y, WEFT_CRDT_INC, 10, &o3, p3);
    ASSERT_EQ_INT(weft_crdt_apply(b, &o3), 0);
    /* b gets x's ops late, reversed and twice */
    ASSERT_EQ_INT(weft_crdt_apply(b, &o2), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &o1), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &o2), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o3), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o3), 0);
    ASSERT_EQ_INT(weft_crdt_gcounter_value(a, &v), 0);
    ASSERT_EQ_U64(v, 17);
    ASSERT_EQ_INT(weft_crdt_gcounter_value(b, &v), 0);
    ASSERT_EQ_U64(v, 17);
    ASSERT_EQ_U64(weft_crdt_state_entries(a), 2);
    size_t na = encoded(a, ea, sizeof ea), nb = encoded(b, eb, sizeof eb);
    ASSERT_EQ_U64(na, nb);
    ASSERT_EQ_MEM(ea, eb, na);
    /* wrong type */
    {
        int64_t s;
        ASSERT_EQ_INT(weft_crdt_pncounter_value(a, &s), WEFT_EARG);
        ASSERT_EQ_INT(weft_crdt_payload_counter(a, x.id, WEFT_CRDT_DEC, 1, p1, 32, &na),
                      WEFT_EARG);
    }
}

TEST(unit_pncounter)
{
    weft_crdt_state_t *a = new_state(WEFT_CRDT_PNCOUNTER);
    replica_id_t x = node(1), y = node(2);
    uint8_t p[4][32], e[256];
    weft_crdt_op_t o[4];
    int64_t v;
    counter_op(a, &x, WEFT_CRDT_INC, 3, &o[0], p[0]);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o[0]), 0);
    counter_op(a, &x, WEFT_CRDT_DEC, 10, &o[1], p[1]);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o[1]), 0);
    counter_op(a, &y, WEFT_CRDT_DEC, 1, &o[2], p[2]);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o[2]), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &o[1]), 0);
    ASSERT_EQ_INT(weft_crdt_pncounter_value(a, &v), 0);
    ASSERT_EQ_INT(v, -8);
    encoded(a, e, sizeof e);
    /* totals near 2^64 cannot be produced */
    {
        size_t n;
        uint8_t pl[32];
        counter_op(a, &y, WEFT_CRDT_INC, UINT64_MAX, &o[3], p[3]);
        ASSERT_EQ_INT(weft_crdt_apply(a, &o[3]), 0);
        ASSERT_EQ_INT(weft_crdt_payload_counter(a, y.id, WEFT_CRDT_INC, 1, pl, 32, &n),
                      WEFT_ELIMIT);
    }
}

TEST(unit_lww_register)
{
    weft_crdt_state_t *a = new_state(WEFT_CRDT_LWW_REG), *b = new_state(WEFT_CRDT_LWW_REG);
    replica_id_t x = node(1), y = node(2);
    weft_crdt_op_t ox, oy;
    const uint8_t *v;
    size_t n;
    uint8_t ea[256], eb[256];
    ASSERT_EQ_INT(weft_crdt_lww_get(a, &v, &n), WEFT_ENOTFOUND);
    /* same hlc on two nodes: the greater node id wins everywhere */
    ox = op_make(&x, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, 5000, (const uint8_t *)"x", 1);
    oy = op_make(&y, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, 5000, (const uint8_t *)"yy", 2);
    ASSERT_EQ_U64(ox.hlc, oy.hlc);
    ASSERT_EQ_INT(weft_crdt_apply(a, &ox), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &oy), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &oy), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &ox), 0);
    ASSERT_EQ_INT(weft_crdt_lww_get(a, &v, &n), 0);
    ASSERT_EQ_U64(n, 2);
    ASSERT_EQ_MEM(v, "yy", 2);
    size_t na = encoded(a, ea, sizeof ea), nb = encoded(b, eb, sizeof eb);
    ASSERT_EQ_U64(na, nb);
    ASSERT_EQ_MEM(ea, eb, na);
    /* a later write of the lower node wins */
    ox = op_make(&x, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, 5001, NULL, 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &ox), 0);
    ASSERT_EQ_INT(weft_crdt_lww_get(a, &v, &n), 0);
    ASSERT_EQ_U64(n, 0);
}

static weft_crdt_op_t map_op(replica_id_t *r, uint8_t kind, const char *f, const char *v,
                             uint64_t wall, uint8_t *pl)
{
    size_t n = strlen(f);
    if (kind == WEFT_CRDT_MAP_SET)
        ASSERT_EQ_INT(weft_crdt_payload_map_set((const uint8_t *)f, strlen(f),
                                                (const uint8_t *)v, strlen(v), pl, 64, &n), 0);
    else
        memcpy(pl, f, n);
    return op_make(r, WEFT_CRDT_LWW_MAP, kind, wall, pl, n);
}

TEST(unit_lww_map)
{
    weft_crdt_state_t *a = new_state(WEFT_CRDT_LWW_MAP);
    replica_id_t x = node(1), y = node(2);
    uint8_t p[5][64], out[256];
    const uint8_t *v;
    size_t n;
    weft_crdt_op_t old = map_op(&x, WEFT_CRDT_MAP_SET, "theme", "light", 100, p[0]);
    weft_crdt_op_t rm = map_op(&y, WEFT_CRDT_MAP_REMOVE, "theme", "", 200, p[1]);
    weft_crdt_op_t b = map_op(&y, WEFT_CRDT_MAP_SET, "b", "2", 210, p[2]);
    weft_crdt_op_t a2 = map_op(&x, WEFT_CRDT_MAP_SET, "a", "1", 220, p[3]);
    /* the remove arrives first; the older write must not resurrect it */
    ASSERT_EQ_INT(weft_crdt_apply(a, &rm), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &old), 0);
    ASSERT_EQ_INT(weft_crdt_map_contains(a, (const uint8_t *)"theme", 5), 0);
    ASSERT_EQ_INT(weft_crdt_map_get(a, (const uint8_t *)"theme", 5, &v, &n), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_crdt_apply(a, &b), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &a2), 0);
    ASSERT_EQ_INT(weft_crdt_map_contains(a, (const uint8_t *)"a", 1), 1);
    ASSERT_EQ_INT(weft_crdt_map_get(a, (const uint8_t *)"b", 1, &v, &n), 0);
    ASSERT_EQ_MEM(v, "2", 1);
    ASSERT_EQ_INT(weft_crdt_map_entries(a, out, 4, &n), WEFT_ELIMIT);
    ASSERT_EQ_U64(n, 4 + 2 * (4 + 1 + 4 + 1));
    ASSERT_EQ_INT(weft_crdt_map_entries(a, out, sizeof out, &n), 0);
    ASSERT_EQ_MEM(out, "\x02\0\0\0\x01\0\0\0a\x01\0\0\0" "1\x01\0\0\0b\x01\0\0\0" "2", n);
    ASSERT_EQ_U64(weft_crdt_state_entries(a), 3); /* a, b, the tombstone */
    /* a newer write brings the field back */
    {
        weft_crdt_op_t again = map_op(&x, WEFT_CRDT_MAP_SET, "theme", "dark", 300, p[4]);
        ASSERT_EQ_INT(weft_crdt_apply(a, &again), 0);
        ASSERT_EQ_INT(weft_crdt_map_contains(a, (const uint8_t *)"theme", 5), 1);
    }
    encoded(a, out, sizeof out);
}

static weft_crdt_op_t orset_add(replica_id_t *r, const char *e)
{
    return op_make(r, WEFT_CRDT_ORSET, WEFT_CRDT_ADD, 100, (const uint8_t *)e, strlen(e));
}

static weft_crdt_op_t orset_rm(weft_crdt_state_t *st, replica_id_t *r, const char *e,
                               uint8_t *pl)
{
    size_t n;
    ASSERT_EQ_INT(weft_crdt_payload_orset_remove(st, (const uint8_t *)e, strlen(e), pl, 256, &n),
                  0);
    return op_make(r, WEFT_CRDT_ORSET, WEFT_CRDT_REMOVE, 100, pl, n);
}

TEST(unit_orset)
{
    weft_crdt_state_t *a = new_state(WEFT_CRDT_ORSET), *b = new_state(WEFT_CRDT_ORSET);
    replica_id_t x = node(1), y = node(2);
    uint8_t pl[256], out[256];
    size_t n;
    weft_crdt_op_t ax = orset_add(&x, "blue"), ay, rm;
    ASSERT_EQ_INT(weft_crdt_apply(a, &ax), 0);
    ay = orset_add(&y, "blue"); /* concurrent, unseen by the remove */
    rm = orset_rm(a, &x, "blue", pl);
    ASSERT_EQ_INT(weft_crdt_apply(a, &rm), 0);
    ASSERT_EQ_INT(weft_crdt_orset_contains(a, (const uint8_t *)"blue", 4), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &ay), 0);
    ASSERT_EQ_INT(weft_crdt_orset_contains(a, (const uint8_t *)"blue", 4), 1); /* add wins */
    /* b: the remove first, then the add it removed arrives late */
    ASSERT_EQ_INT(weft_crdt_apply(b, &rm), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &ax), 0);
    ASSERT_EQ_INT(weft_crdt_orset_contains(b, (const uint8_t *)"blue", 4), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &ay), 0);
    {
        weft_crdt_op_t red = orset_add(&y, "red");
        ASSERT_EQ_INT(weft_crdt_apply(a, &red), 0);
        ASSERT_EQ_INT(weft_crdt_apply(b, &red), 0);
    }
    ASSERT_EQ_INT(weft_crdt_orset_elements(b, out, sizeof out, &n), 0);
    ASSERT_EQ_MEM(out, "\x02\0\0\0\x04\0\0\0" "blue\x03\0\0\0red", n);
    {
        uint8_t ea[512], eb[512];
        size_t na = encoded(a, ea, sizeof ea), nb = encoded(b, eb, sizeof eb);
        ASSERT_EQ_U64(na, nb);
        ASSERT_EQ_MEM(ea, eb, na);
    }
    /* removing an absent element is a no-op */
    rm = orset_rm(a, &x, "green", pl);
    ASSERT_EQ_INT(weft_crdt_apply(a, &rm), 0);
}

TEST(regress_orset_forged_remove_names_other_element)
{
    /* A remove naming "y" but carrying x's tag: both orders converge, and
     * it removes nothing of "x" (removes act on the element they name). */
    weft_crdt_state_t *a = new_state(WEFT_CRDT_ORSET), *b = new_state(WEFT_CRDT_ORSET);
    replica_id_t x = node(1), z = node(3);
    uint8_t pl[256], ea[256], eb[256];
    size_t n;
    weft_crdt_op_t ax = orset_add(&x, "x"), rm;
    weft_crdt_id_t tag = weft_crdt_op_id(&ax);
    memcpy(pl, "\x01y\x01", 3);
    memcpy(pl + 3, tag.origin, 32);
    pl[35] = (uint8_t)tag.seq;
    rm = op_make(&z, WEFT_CRDT_ORSET, WEFT_CRDT_REMOVE, 1, pl, 36);
    ASSERT_EQ_INT(weft_crdt_apply(a, &ax), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &rm), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &rm), 0);
    ASSERT_EQ_INT(weft_crdt_apply(b, &ax), 0);
    size_t na = encoded(a, ea, sizeof ea);
    n = encoded(b, eb, sizeof eb);
    ASSERT_EQ_U64(na, n);
    ASSERT_EQ_MEM(ea, eb, n);
    ASSERT_EQ_INT(weft_crdt_orset_contains(a, (const uint8_t *)"x", 1), 1);
    ASSERT_EQ_INT(weft_crdt_orset_contains(b, (const uint8_t *)"x", 1), 1);
    ASSERT_EQ_INT(weft_crdt_orset_contains(b, (const uint8_t *)"y", 1), 0);
}

static weft_crdt_op_t rga_ins(replica_id_t *r, const weft_crdt_op_t *after, const char *v,
                              uint64_t wall, uint8_t *pl)
{
    size_t n;
    weft_crdt_id_t p;
    if (after)
        p = weft_crdt_op_id(after);
    ASSERT_EQ_INT(weft_crdt_payload_rga_insert(after ? &p : NULL, (const uint8_t *)v, strlen(v),
                                               pl, 64, &n), 0);
    return op_make(r, WEFT_CRDT_RGA, WEFT_CRDT_INSERT, wall, pl, n);
}

static weft_crdt_op_t rga_del(replica_id_t *r, const weft_crdt_op_t *target, uint8_t *pl)
{
    size_t n;
    weft_crdt_id_t id = weft_crdt_op_id(target);
    ASSERT_EQ_INT(weft_crdt_payload_rga_delete(&id, pl, 64, &n), 0);
    return op_make(r, WEFT_CRDT_RGA, WEFT_CRDT_DELETE, 1, pl, n);
}

/* The visible values joined into a string. */
static const char *rga_text(const weft_crdt_state_t *st, char *out)
{
    uint8_t buf[512];
    size_t n, pos = 4, o = 0;
    uint32_t count;
    ASSERT_EQ_INT(weft_crdt_rga_values(st, buf, sizeof buf, &n), 0);
    memcpy(&count, buf, 4);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len;
        memcpy(&len, buf + pos, 4);
        memcpy(out + o, buf + pos + 4, len);
        pos += 4 + len;
        o += len;
    }
    ASSERT_EQ_U64(pos, n);
    out[o] = 0;
    return out;
}

TEST(unit_rga_order)
{
    weft_crdt_state_t *a = new_state(WEFT_CRDT_RGA), *b = new_state(WEFT_CRDT_RGA);
    replica_id_t x = node(1), y = node(2);
    uint8_t p[10][64];
    char text[128];
    weft_crdt_op_t h = rga_ins(&x, NULL, "H", 10, p[0]);
    /* two concurrent runs after H: x types "ab", y types "12" later */
    weft_crdt_op_t a1 = rga_ins(&x, &h, "a", 20, p[1]);
    weft_crdt_op_t a2 = rga_ins(&x, &a1, "b", 21, p[2]);
    weft_crdt_op_t b1 = rga_ins(&y, &h, "1", 30, p[3]);
    weft_crdt_op_t b2 = rga_ins(&y, &b1, "2", 31, p[4]);
    const weft_crdt_op_t *in_a[] = {&h, &a1, &a2, &b1, &b2};
    const weft_crdt_op_t *in_b[] = {&b2, &a2, &b1, &h, &a1, &b2}; /* children before parents */
    for (size_t i = 0; i < 5; i++)
        ASSERT_EQ_INT(weft_crdt_apply(a, in_a[i]), 0);
    for (size_t i = 0; i < 6; i++)
        ASSERT_EQ_INT(weft_crdt_apply(b, in_b[i]), 0);
    /* the later run first, each run whole */
    ASSERT_EQ_STR(rga_text(a, text), "H12ab");
    ASSERT_EQ_STR(rga_text(b, text), "H12ab");
    ASSERT_EQ_U64(weft_crdt_state_entries(b), 5);
    /* deleting "1" keeps "2" after where it was */
    {
        weft_crdt_op_t d = rga_del(&x, &b1, p[5]);
        ASSERT_EQ_INT(weft_crdt_apply(a, &d), 0);
        ASSERT_EQ_INT(weft_crdt_apply(a, &d), 0);
        ASSERT_EQ_STR(rga_text(a, text), "H2ab");
        weft_crdt_op_t c = rga_ins(&y, &b1, "c", 40, p[6]); /* after the deleted one */
        ASSERT_EQ_INT(weft_crdt_apply(a, &c), 0);
        ASSERT_EQ_STR(rga_text(a, text), "Hc2ab");
    }
    {
        uint8_t e[1024];
        encoded(a, e, sizeof e);
        encoded(b, e, sizeof e);
    }
}

TEST(unit_rga_pending)
{
    weft_crdt_state_t *a = new_state(WEFT_CRDT_RGA);
    replica_id_t x = node(1);
    uint8_t p[4][64], e[1024];
    char text[64];
    weft_crdt_op_t h = rga_ins(&x, NULL, "H", 10, p[0]);
    weft_crdt_op_t c = rga_ins(&x, &h, "i", 11, p[1]);
    weft_crdt_op_t d = rga_del(&x, &c, p[2]);
    weft_crdt_op_t g = rga_ins(&x, &c, "!", 12, p[3]);
    weft_crdt_id_t cid = weft_crdt_op_id(&c);
    ASSERT_EQ_INT(weft_crdt_apply(a, &d), 0); /* delete of an unknown id: a record */
    ASSERT_EQ_INT(weft_crdt_rga_contains(a, &cid), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &g), 0); /* its parent c unknown: waits */
    ASSERT_EQ_INT(weft_crdt_apply(a, &c), 0); /* c's parent h unknown: waits, g with it */
    ASSERT_EQ_STR(rga_text(a, text), "");
    ASSERT_EQ_U64(weft_crdt_state_entries(a), 2); /* c (inserted, deleted), g */
    encoded(a, e, sizeof e);
    ASSERT_EQ_INT(weft_crdt_rga_contains(a, &cid), 1); /* known, not yet shown */
    ASSERT_EQ_INT(weft_crdt_apply(a, &h), 0);
    ASSERT_EQ_STR(rga_text(a, text), "H!"); /* c deleted, its child kept */
    ASSERT_EQ_U64(weft_crdt_state_entries(a), 3);
    encoded(a, e, sizeof e);
    /* element ids as the guest sees them */
    {
        uint8_t idb[WEFT_CRDT_ID_LEN];
        weft_crdt_id_t back;
        weft_crdt_id_to_bytes(&cid, idb);
        ASSERT_EQ_INT(weft_crdt_id_from_bytes(idb, sizeof idb, &back), 0);
        ASSERT_EQ_U64(back.seq, cid.seq);
        ASSERT_EQ_INT(weft_crdt_id_from_bytes(idb, 39, &back), WEFT_EMALFORMED);
    }
}

TEST(unit_rga_forged_parent_cycle_stays_hidden)
{
    /* Two inserts, each naming the other as parent (no honest node can make
     * them): they never reach the head, so they are never shown, and the
     * walk ends. */
    weft_crdt_state_t *a = new_state(WEFT_CRDT_RGA);
    replica_id_t x = node(1), y = node(2);
    uint8_t p[3][64];
    char text[64];
    size_t n;
    weft_crdt_op_t h = rga_ins(&x, NULL, "H", 10, p[0]);
    weft_crdt_id_t ix = {{0}, 0}, iy = {{0}, 0};
    memcpy(ix.origin, x.id, WEFT_CRDT_ORIGIN_LEN);
    memcpy(iy.origin, y.id, WEFT_CRDT_ORIGIN_LEN);
    ix.seq = x.seq + 1; /* the next op of x */
    iy.seq = y.seq + 1;
    ASSERT_EQ_INT(weft_crdt_payload_rga_insert(&iy, (const uint8_t *)"x", 1, p[1], 64, &n), 0);
    weft_crdt_op_t ox = op_make(&x, WEFT_CRDT_RGA, WEFT_CRDT_INSERT, 11, p[1], n);
    ASSERT_EQ_INT(weft_crdt_payload_rga_insert(&ix, (const uint8_t *)"y", 1, p[2], 64, &n), 0);
    weft_crdt_op_t oy = op_make(&y, WEFT_CRDT_RGA, WEFT_CRDT_INSERT, 11, p[2], n);
    ASSERT_EQ_U64(weft_crdt_op_id(&ox).seq, ix.seq);
    ASSERT_EQ_INT(weft_crdt_apply(a, &h), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &ox), 0);
    ASSERT_EQ_INT(weft_crdt_apply(a, &oy), 0);
    ASSERT_EQ_STR(rga_text(a, text), "H");
}

TEST(unit_rga_deep_chain)
{
    /* 200,000 elements each typed after the one before: a tree 200,000
     * deep, walked without recursion. */
    enum { N = 200000 };
    weft_crdt_state_t *a = new_state(WEFT_CRDT_RGA);
    replica_id_t x = node(1);
    weft_crdt_op_t prev;
    uint8_t pl[64];
    static uint8_t out[N * 6 + 4];
    size_t n;
    for (int i = 0; i < N; i++) {
        weft_crdt_op_t op = rga_ins(&x, i ? &prev : NULL, i == N - 1 ? "z" : "a", 10, pl);
        ASSERT_EQ_INT(weft_crdt_apply(a, &op), 0);
        prev = op;
        prev.payload = NULL; /* only its id is used */
        prev.payload_len = 0;
    }
    ASSERT_EQ_INT(weft_crdt_rga_values(a, out, sizeof out, &n), 0);
    ASSERT_EQ_U64(n, 4 + (size_t)N * 5);
    ASSERT_EQ_U64(out[0] | out[1] << 8 | (uint32_t)out[2] << 16, N);
    ASSERT_EQ_MEM(out + n - 1, "z", 1);
}

TEST(unit_state_decode_rejects)
{
    weft_crdt_state_t *st;
    static const uint8_t cases[][8] = {
        {0},                      /* version 0 */
        {1, 1, 0},                /* version 1 (ORSet removed tags were per key) */
        {2, 0},                   /* type 0 */
        {2, 7},                   /* type 7 */
        {2, 1, 0, 0},             /* trailing byte */
        {2, 3, 2},                /* LWW has = 2 */
        {2, 1, 0x80, 0x80, 0x80}, /* truncated varint */
        {2, 1, 5},                /* count past the input */
    };
    static const size_t lens[] = {1, 3, 2, 2, 4, 3, 5, 3};
    static const uint8_t ok[] = {2, 1, 0}; /* an empty GCounter, to show the cases' form */
    ASSERT_EQ_INT(weft_crdt_state_decode(ok, sizeof ok, &st), 0);
    weft_crdt_state_delete(st);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        if (weft_crdt_state_decode(cases[i], lens[i], &st) != WEFT_EMALFORMED)
            FAIL("case %zu decoded", i);
    ASSERT_EQ_INT(weft_crdt_state_decode(cases[0], 0, &st), WEFT_EMALFORMED);
}
