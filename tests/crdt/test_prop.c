/*
 * test_prop.c — property tests: 3 to 5 simulated replicas make thousands of
 * random ops each run (seeded; the seed is printed on failure, CRDT_SEED=n
 * reruns it) and exchange them through the wire encoding with random
 * delivery order, duplication and delay; wall clocks are skewed and often
 * equal, so HLC ties happen. At the end every op is delivered once more in
 * a new random order, then all replicas must encode byte-identically, equal
 * a simple model computed from the whole op log (counters: sums; LWW: the
 * greatest (hlc, origin) write; ORSet: adds not removed; RGA: a naive tree
 * walk), and stay within their size bound. For the parted types (LWW-Map,
 * ORSet, RGA) the log is also applied part by part, as the store keeps them, and
 * the parts, encoded apart and assembled in random order, must give the
 * same bytes.
 */
#include <stdio.h>

#include "../unit/test.h"
#include "crdt_test.h"

#define MAX_REPLICAS 5
#define NFIELDS 8
#define NELEMS 10

typedef struct {
    uint8_t *bytes;
    size_t len;
    weft_crdt_op_t op; /* borrows bytes */
} logged_t;

typedef struct {
    replica_id_t rid;
    weft_crdt_state_t *st;
    size_t *inbox;
    size_t ninbox, capinbox;
    uint64_t skew;
} replica_t;

typedef struct {
    uint8_t type;
    uint64_t seed, rng;
    replica_t r[MAX_REPLICAS];
    size_t nr;
    logged_t *log;
    size_t nlog, caplog;
    uint64_t now;
} sim_t;

static void sim_free(void *p)
{
    sim_t *s = p;
    for (size_t i = 0; i < s->nr; i++) {
        weft_crdt_state_delete(s->r[i].st);
        free(s->r[i].inbox);
    }
    for (size_t i = 0; i < s->nlog; i++)
        free(s->log[i].bytes);
    free(s->log);
    free(s);
}

#define SFAIL(s, fmt, ...) FAIL("seed %llu type %d: " fmt, (unsigned long long)(s)->seed, \
                                (s)->type, __VA_ARGS__)

static void deliver(sim_t *s, replica_t *r, size_t li)
{
    const logged_t *l = &s->log[li];
    weft_crdt_op_t op;
    int rc = weft_crdt_op_decode(l->bytes, l->len, &op);
    if (rc != 0)
        SFAIL(s, "decode of op %zu: %d", li, rc);
    weft_hlc_observe(&r->rid.hlc, op.hlc, s->now + r->skew);
    if ((rc = weft_crdt_apply(r->st, &op)) != 0)
        SFAIL(s, "apply of op %zu: %d", li, rc);
}

static void inbox_push(replica_t *r, size_t li)
{
    if (r->ninbox == r->capinbox) {
        r->capinbox = r->capinbox ? r->capinbox * 2 : 64;
        r->inbox = realloc(r->inbox, r->capinbox * sizeof *r->inbox);
        if (r->inbox == NULL)
            abort();
    }
    r->inbox[r->ninbox++] = li;
}

/* Applies op locally, logs its encoding and sends it to every other replica. */
static void emit(sim_t *s, replica_t *r, const weft_crdt_op_t *op)
{
    size_t len, li;
    logged_t *l;
    int rc;
    if ((rc = weft_crdt_apply(r->st, op)) != 0)
        SFAIL(s, "local apply: %d", rc);
    if (s->nlog == s->caplog) {
        s->caplog = s->caplog ? s->caplog * 2 : 256;
        s->log = realloc(s->log, s->caplog * sizeof *s->log);
        if (s->log == NULL)
            abort();
    }
    li = s->nlog;
    l = &s->log[li];
    weft_crdt_op_encode(op, NULL, 0, &len);
    l->bytes = malloc(len);
    if (l->bytes == NULL || weft_crdt_op_encode(op, l->bytes, len, &l->len) != 0)
        SFAIL(s, "encode of op %zu", li);
    s->nlog++;
    if (weft_crdt_op_decode(l->bytes, l->len, &l->op) != 0)
        SFAIL(s, "decode of own op %zu", li);
    for (size_t i = 0; i < s->nr; i++)
        if (&s->r[i] != r)
            inbox_push(&s->r[i], li);
}

/* A random local op of r for the sim's type. */
static void local_op(sim_t *s, replica_t *r)
{
    static uint8_t pl[1 << 16];
    size_t n = 0;
    uint8_t kind = 0;
    uint64_t wall = s->now + r->skew;
    char text[32];
    int rc = 0;
    switch (s->type) {
    case WEFT_CRDT_GCOUNTER:
    case WEFT_CRDT_PNCOUNTER:
        kind = s->type == WEFT_CRDT_PNCOUNTER && rng_below(&s->rng, 2) ? WEFT_CRDT_DEC
                                                                       : WEFT_CRDT_INC;
        rc = weft_crdt_payload_counter(r->st, r->rid.id, kind, 1 + rng_below(&s->rng, 100), pl,
                                       sizeof pl, &n);
        break;
    case WEFT_CRDT_LWW_REG:
        kind = WEFT_CRDT_SET;
        n = (size_t)snprintf((char *)pl, sizeof pl, "v%llu",
                             (unsigned long long)rng_below(&s->rng, 1000));
        break;
    case WEFT_CRDT_LWW_MAP: {
        int len = snprintf(text, sizeof text, "f%d", (int)rng_below(&s->rng, NFIELDS));
        if (rng_below(&s->rng, 10) < 7) {
            char v[16];
            int vl = snprintf(v, sizeof v, "%llu", (unsigned long long)rng_next(&s->rng) % 977);
            kind = WEFT_CRDT_MAP_SET;
            rc = weft_crdt_payload_map_set((uint8_t *)text, (size_t)len, (uint8_t *)v,
                                           (size_t)vl, pl, sizeof pl, &n);
        } else {
            kind = WEFT_CRDT_MAP_REMOVE;
            memcpy(pl, text, (size_t)len);
            n = (size_t)len;
        }
        break;
    }
    case WEFT_CRDT_ORSET: {
        int len = snprintf(text, sizeof text, "e%d", (int)rng_below(&s->rng, NELEMS));
        if (rng_below(&s->rng, 10) < 6) {
            kind = WEFT_CRDT_ADD;
            memcpy(pl, text, (size_t)len);
            n = (size_t)len;
        } else {
            kind = WEFT_CRDT_REMOVE;
            rc = weft_crdt_payload_orset_remove(r->st, (uint8_t *)text, (size_t)len, pl,
                                                sizeof pl, &n);
        }
        break;
    }
    case WEFT_CRDT_RGA: {
        /* a known element: a random logged insert this replica has */
        weft_crdt_id_t target;
        int have = 0;
        for (int tries = 0; tries < 8 && s->nlog > 0 && !have; tries++) {
            const logged_t *l = &s->log[rng_below(&s->rng, s->nlog)];
            if (l->op.kind != WEFT_CRDT_INSERT)
                continue;
            target = weft_crdt_op_id(&l->op);
            have = weft_crdt_rga_contains(r->st, &target) == 1;
        }
        if (have && rng_below(&s->rng, 10) < 3) {
            kind = WEFT_CRDT_DELETE;
            rc = weft_crdt_payload_rga_delete(&target, pl, sizeof pl, &n);
        } else {
            int vl = snprintf(text, sizeof text, "%llu", (unsigned long long)s->nlog);
            kind = WEFT_CRDT_INSERT;
            rc = weft_crdt_payload_rga_insert(have && rng_below(&s->rng, 10) < 8 ? &target
                                                                                  : NULL,
                                              (uint8_t *)text, (size_t)vl, pl, sizeof pl, &n);
        }
        break;
    }
    }
    if (rc != 0)
        SFAIL(s, "payload: %d", rc);
    weft_crdt_op_t op = op_make(&r->rid, s->type, kind, wall, pl, n);
    emit(s, r, &op);
}

/* ---- the models ---- */

static int stamp_cmp_ops(const weft_crdt_op_t *a, const weft_crdt_op_t *b)
{
    return weft_crdt_stamp_cmp(a->hlc, a->origin, a->seq, b->hlc, b->origin, b->seq);
}

static void put_u32(uint8_t **p, uint32_t v)
{
    memcpy(*p, &v, 4); /* the test hosts are little-endian */
    *p += 4;
}

static void put_blob(uint8_t **p, const void *b, size_t n)
{
    put_u32(p, (uint32_t)n);
    memcpy(*p, b, n);
    *p += n;
}

/* The varint at p[*pos]; advances *pos. */
static uint64_t varint_at(const uint8_t *p, size_t *pos)
{
    uint64_t v = 0;
    int shift = 0;
    while (p[*pos] & 0x80) {
        v |= (uint64_t)(p[(*pos)++] & 0x7f) << shift;
        shift += 7;
    }
    return v | (uint64_t)p[(*pos)++] << shift;
}

/* Field or element of a MAP_SET / MAP_REMOVE / ADD / REMOVE payload. */
static size_t op_name(const weft_crdt_op_t *op, const uint8_t **out)
{
    if (op->kind == WEFT_CRDT_MAP_SET || op->kind == WEFT_CRDT_REMOVE) {
        *out = op->payload + 1; /* one-byte length: names are short */
        return op->payload[0];
    }
    *out = op->payload;
    return op->payload_len;
}

static int name_is(const weft_crdt_op_t *op, const char *name)
{
    const uint8_t *p;
    size_t n = op_name(op, &p);
    return n == strlen(name) && memcmp(p, name, n) == 0;
}

/* Whether add's tag appears in the tags of a logged REMOVE of its element. */
static int tag_removed(const sim_t *s, const weft_crdt_op_t *add)
{
    weft_crdt_id_t tag = weft_crdt_op_id(add);
    const uint8_t *elem;
    size_t elem_len = op_name(add, &elem);
    for (size_t i = 0; i < s->nlog; i++) {
        const weft_crdt_op_t *op = &s->log[i].op;
        const uint8_t *p;
        size_t pos, ntags;
        if (op->kind != WEFT_CRDT_REMOVE)
            continue;
        pos = 1 + op_name(op, &p);
        if (pos - 1 != elem_len || memcmp(p, elem, elem_len) != 0)
            continue;
        ntags = op->payload[pos++]; /* fewer than 128 tags here */
        for (size_t k = 0; k < ntags; k++) {
            int same = memcmp(op->payload + pos, tag.origin, 32) == 0;
            pos += 32;
            if (varint_at(op->payload, &pos) == tag.seq && same)
                return 1;
        }
    }
    return 0;
}

/* Appends the naive RGA walk under parent (NULL: head) to out. */
static void rga_walk(const sim_t *s, const weft_crdt_op_t *parent, uint8_t **out, uint32_t *count)
{
    const weft_crdt_op_t *last = NULL;
    for (;;) { /* children in descending stamp: the greatest below `last` */
        const weft_crdt_op_t *best = NULL;
        for (size_t i = 0; i < s->nlog; i++) {
            const weft_crdt_op_t *op = &s->log[i].op;
            weft_crdt_id_t pid, want;
            if (op->kind != WEFT_CRDT_INSERT)
                continue;
            if (parent == NULL ? op->payload[0] != 0 : op->payload[0] != 1)
                continue;
            if (parent) {
                memcpy(pid.origin, op->payload + 1, 32);
                want = weft_crdt_op_id(parent);
                if (memcmp(pid.origin, want.origin, 32) != 0)
                    continue;
                size_t pos = 33;
                if (varint_at(op->payload, &pos) != want.seq)
                    continue;
            }
            if (last && stamp_cmp_ops(op, last) >= 0)
                continue;
            if (best == NULL || stamp_cmp_ops(op, best) > 0)
                best = op;
        }
        if (best == NULL)
            return;
        int deleted = 0;
        for (size_t i = 0; i < s->nlog && !deleted; i++) {
            const weft_crdt_op_t *d = &s->log[i].op;
            size_t pos = 32;
            deleted = d->kind == WEFT_CRDT_DELETE && memcmp(d->payload, best->origin, 32) == 0 &&
                      varint_at(d->payload, &pos) == best->seq;
        }
        if (!deleted) {
            size_t vpos = 1 + 32;
            if (best->payload[0])
                varint_at(best->payload, &vpos);
            else
                vpos = 1;
            put_blob(out, best->payload + vpos, best->payload_len - vpos);
            (*count)++;
        }
        rga_walk(s, best, out, count);
        last = best;
    }
}

static void check_model(sim_t *s, const weft_crdt_state_t *st)
{
    static uint8_t want[1 << 20], got[1 << 20];
    uint8_t *p = want;
    size_t got_len = 0;
    switch (s->type) {
    case WEFT_CRDT_GCOUNTER:
    case WEFT_CRDT_PNCOUNTER: {
        uint64_t sum = 0, v;
        int64_t sv;
        for (size_t i = 0; i < s->nlog; i++) {
            const weft_crdt_op_t *op = &s->log[i].op;
            uint64_t delta = op->payload[0]; /* deltas are < 128 */
            sum += op->kind == WEFT_CRDT_INC ? delta : -delta;
        }
        if (s->type == WEFT_CRDT_GCOUNTER) {
            weft_crdt_gcounter_value(st, &v);
            if (v != sum)
                SFAIL(s, "gcounter %llu, model %llu", (unsigned long long)v,
                      (unsigned long long)sum);
        } else {
            weft_crdt_pncounter_value(st, &sv);
            if (sv != (int64_t)sum)
                SFAIL(s, "pncounter %lld, model %lld", (long long)sv, (long long)sum);
        }
        if (weft_crdt_state_entries(st) > s->nr)
            SFAIL(s, "%zu counter slots for %zu origins", weft_crdt_state_entries(st), s->nr);
        return;
    }
    case WEFT_CRDT_LWW_REG: {
        const weft_crdt_op_t *best = NULL;
        const uint8_t *v;
        size_t n;
        for (size_t i = 0; i < s->nlog; i++)
            if (best == NULL || stamp_cmp_ops(&s->log[i].op, best) > 0)
                best = &s->log[i].op;
        if (weft_crdt_lww_get(st, &v, &n) != 0 || n != best->payload_len ||
            memcmp(v, best->payload, n) != 0)
            SFAIL(s, "lww value differs from the model (%zu bytes)", n);
        return;
    }
    case WEFT_CRDT_LWW_MAP: {
        uint32_t count = 0;
        p += 4;
        for (int f = 0; f < NFIELDS; f++) { /* "f0".."f7" sort as their digits */
            char name[8];
            const weft_crdt_op_t *best = NULL;
            snprintf(name, sizeof name, "f%d", f);
            for (size_t i = 0; i < s->nlog; i++)
                if (name_is(&s->log[i].op, name) &&
                    (best == NULL || stamp_cmp_ops(&s->log[i].op, best) > 0))
                    best = &s->log[i].op;
            if (best && best->kind == WEFT_CRDT_MAP_SET) {
                put_blob(&p, name, strlen(name));
                put_blob(&p, best->payload + 1 + best->payload[0],
                         best->payload_len - 1 - best->payload[0]);
                count++;
            }
        }
        memcpy(want, &count, 4);
        if (weft_crdt_map_entries(st, got, sizeof got, &got_len) != 0)
            SFAIL(s, "%s", "map entries");
        if (weft_crdt_state_entries(st) > NFIELDS)
            SFAIL(s, "%zu map entries", weft_crdt_state_entries(st));
        break;
    }
    case WEFT_CRDT_ORSET: {
        uint32_t count = 0;
        p += 4;
        for (int e = 0; e < NELEMS; e++) {
            char name[8];
            int live = 0;
            snprintf(name, sizeof name, "e%d", e);
            for (size_t i = 0; i < s->nlog && !live; i++)
                live = s->log[i].op.kind == WEFT_CRDT_ADD && name_is(&s->log[i].op, name) &&
                       !tag_removed(s, &s->log[i].op);
            if (live) {
                put_blob(&p, name, strlen(name));
                count++;
            }
        }
        memcpy(want, &count, 4);
        if (weft_crdt_orset_elements(st, got, sizeof got, &got_len) != 0)
            SFAIL(s, "%s", "orset elements");
        break;
    }
    case WEFT_CRDT_RGA: {
        uint32_t count = 0;
        size_t inserts = 0;
        p += 4;
        rga_walk(s, NULL, &p, &count);
        memcpy(want, &count, 4);
        if (weft_crdt_rga_values(st, got, sizeof got, &got_len) != 0)
            SFAIL(s, "%s", "rga values");
        for (size_t i = 0; i < s->nlog; i++)
            inserts += s->log[i].op.kind == WEFT_CRDT_INSERT;
        if (weft_crdt_state_entries(st) != inserts) /* nothing left pending */
            SFAIL(s, "%zu rga entries for %zu inserts", weft_crdt_state_entries(st), inserts);
        break;
    }
    }
    if ((size_t)(p - want) != got_len || memcmp(want, got, got_len) != 0)
        SFAIL(s, "read output differs from the model (%zu vs %zu bytes)", got_len,
              (size_t)(p - want));
}

/* Applies the whole log (shuffled, with duplicates) to one state per part,
 * as a store that keeps parts apart does; round-trips each part through its
 * own encoding, assembles them in random order and compares with `want`. */
typedef struct {
    uint8_t name[WEFT_CRDT_ID_LEN > 16 ? WEFT_CRDT_ID_LEN : 16];
    size_t len;
    weft_crdt_state_t *st;
} part_t;

static void check_parts(sim_t *s, const uint8_t *want, size_t want_len)
{
    part_t *part = calloc(s->nlog + 1, sizeof *part);
    weft_crdt_state_t *whole = NULL;
    size_t nparts = 0, len;
    uint8_t *enc;
    ASSERT_NOT_NULL(part);
    test_defer(free, part);
    for (size_t k = 0; k < 2 * s->nlog; k++) {
        const weft_crdt_op_t *op = &s->log[rng_below(&s->rng, s->nlog)].op;
        uint8_t scratch[WEFT_CRDT_ID_LEN];
        const uint8_t *pn;
        size_t pl, j;
        if (k >= s->nlog) /* then every op once more, in order, so none is missed */
            op = &s->log[k - s->nlog].op;
        if (weft_crdt_op_part(op, scratch, &pn, &pl) != 1 || pl > sizeof part[0].name)
            SFAIL(s, "%s", "op_part");
        for (j = 0; j < nparts; j++)
            if (part[j].len == pl && memcmp(part[j].name, pn, pl) == 0)
                break;
        if (j == nparts) {
            if (weft_crdt_state_new(s->type, &part[j].st) != 0)
                SFAIL(s, "%s", "state_new");
            memcpy(part[j].name, pn, pl);
            part[j].len = pl;
            nparts++;
        }
        if (weft_crdt_apply(part[j].st, op) != 0)
            SFAIL(s, "%s", "apply to a part");
    }
    ASSERT_EQ_INT(weft_crdt_state_new(s->type, &whole), 0);
    while (nparts > 0) {
        size_t j = rng_below(&s->rng, nparts);
        weft_crdt_state_t *back = NULL;
        const uint8_t *pn;
        size_t pl;
        ASSERT_EQ_INT(weft_crdt_state_encode(part[j].st, &enc, &len), 0);
        ASSERT_EQ_INT(weft_crdt_state_decode(enc, len, &back), 0);
        free(enc);
        weft_crdt_state_delete(part[j].st);
        if (weft_crdt_parts(back) == 1) {
            ASSERT_EQ_INT(weft_crdt_part_name(back, 0, &pn, &pl), 0);
            ASSERT_EQ_U64(pl, part[j].len);
            ASSERT_EQ_MEM(pn, part[j].name, pl);
        } else if (weft_crdt_parts(back) != 0) {
            SFAIL(s, "a part's state holds %zu parts", weft_crdt_parts(back));
        }
        ASSERT_EQ_INT(weft_crdt_state_absorb(whole, back), 0);
        ASSERT_EQ_U64(weft_crdt_parts(back), 0);
        weft_crdt_state_delete(back);
        part[j] = part[--nparts];
    }
    ASSERT_EQ_INT(weft_crdt_state_encode(whole, &enc, &len), 0);
    weft_crdt_state_delete(whole);
    int same = len == want_len && memcmp(enc, want, len) == 0;
    free(enc);
    if (!same)
        SFAIL(s, "%s", "the parts assembled differ from the whole state");
}

static void run_sim(uint8_t type, uint64_t seed, size_t steps)
{
    sim_t *s = calloc(1, sizeof *s);
    uint8_t *first = NULL;
    size_t first_len = 0;
    ASSERT_NOT_NULL(s);
    test_defer(sim_free, s);
    s->type = type;
    s->seed = seed;
    s->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    s->nr = 3 + (size_t)(seed % 3);
    s->now = 1700000000000ull;
    for (size_t i = 0; i < s->nr; i++) {
        replica_t *r = &s->r[i];
        for (int b = 0; b < WEFT_CRDT_ORIGIN_LEN; b++) /* shared prefixes test bytewise ties */
            r->rid.id[b] = b < 30 ? 0xAA : (uint8_t)rng_next(&s->rng);
        r->skew = rng_below(&s->rng, 5);
        if (weft_crdt_state_new(type, &r->st) != 0)
            SFAIL(s, "%s", "state_new");
    }
    for (size_t step = 0; step < steps; step++) {
        replica_t *r = &s->r[rng_below(&s->rng, s->nr)];
        if (rng_below(&s->rng, 4) == 0)
            s->now += rng_below(&s->rng, 3); /* many ops share a millisecond */
        if (rng_below(&s->rng, 100) < 45) {
            local_op(s, r);
        } else if (r->ninbox > 0) {
            size_t k = rng_below(&s->rng, r->ninbox), li = r->inbox[k];
            if (rng_below(&s->rng, 5) != 0) /* else: a duplicate will come again */
                r->inbox[k] = r->inbox[--r->ninbox];
            deliver(s, r, li);
        }
    }
    for (size_t i = 0; i < s->nr; i++) {
        replica_t *r = &s->r[i];
        while (r->ninbox > 0) {
            size_t k = rng_below(&s->rng, r->ninbox), li = r->inbox[k];
            r->inbox[k] = r->inbox[--r->ninbox];
            deliver(s, r, li);
        }
        /* anti-entropy replay: everything again, shuffled */
        size_t *order = malloc(s->nlog * sizeof *order + 1);
        ASSERT_NOT_NULL(order);
        for (size_t j = 0; j < s->nlog; j++)
            order[j] = j;
        for (size_t j = s->nlog; j > 1; j--) {
            size_t t = rng_below(&s->rng, j), tmp = order[j - 1];
            order[j - 1] = order[t];
            order[t] = tmp;
        }
        for (size_t j = 0; j < s->nlog; j++)
            deliver(s, r, order[j]);
        free(order);
    }
    for (size_t i = 0; i < s->nr; i++) {
        uint8_t *enc, *enc2;
        size_t len, len2;
        weft_crdt_state_t *back;
        if (weft_crdt_state_encode(s->r[i].st, &enc, &len) != 0)
            SFAIL(s, "%s", "encode");
        if (weft_crdt_state_decode(enc, len, &back) != 0 ||
            weft_crdt_state_encode(back, &enc2, &len2) != 0 || len2 != len ||
            memcmp(enc, enc2, len) != 0)
            SFAIL(s, "replica %zu: state does not round-trip", i);
        weft_crdt_state_delete(back);
        free(enc2);
        check_model(s, s->r[i].st);
        if (i == 0) {
            first = enc;
            first_len = len;
            if (weft_crdt_type_parted(s->type))
                check_parts(s, first, first_len);
            continue;
        }
        int same = len == first_len && memcmp(enc, first, len) == 0;
        free(enc);
        if (!same) {
            free(first);
            SFAIL(s, "replica %zu diverged from replica 0", i);
        }
    }
    free(first);
}

static void run_seeds(uint8_t type, size_t steps)
{
    const char *env = getenv("CRDT_SEED");
    if (env) {
        run_sim(type, strtoull(env, NULL, 0), steps);
        return;
    }
    for (uint64_t seed = 1; seed <= 25; seed++)
        run_sim(type, seed * 1000 + type, steps);
}

TEST(prop_gcounter) { run_seeds(WEFT_CRDT_GCOUNTER, 4000); }
TEST(prop_pncounter) { run_seeds(WEFT_CRDT_PNCOUNTER, 4000); }
TEST(prop_lww_register) { run_seeds(WEFT_CRDT_LWW_REG, 4000); }
TEST(prop_lww_map) { run_seeds(WEFT_CRDT_LWW_MAP, 4000); }
TEST(prop_orset) { run_seeds(WEFT_CRDT_ORSET, 3000); }
TEST(prop_rga) { run_seeds(WEFT_CRDT_RGA, 2500); }
