/*
 * bench_crdt.c — prints ops/s applied per CRDT type (not a test).
 *
 *   crdt_bench [N]     N ops per type (default 200000; RGA 50000)
 *   crdt_bench --corpus DIR   writes fuzz seeds (ops and states) to DIR
 *
 * Four origins write to one state; every op is built, wire-encoded,
 * decoded and applied, as a replica receiving a batch would. A second
 * line per type times the apply alone. Numbers depend on the machine.
 */
#include <stdio.h>
#include <time.h>

#include "crdt_test.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    uint8_t *bytes;
    size_t len;
} enc_t;

static const char *corpus_dir;

/* A fuzz seed: selector byte (0 op, 1 state) then the bytes. */
static void seed_write(uint8_t type, const char *what, size_t i, uint8_t sel, const uint8_t *p,
                       size_t n)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%d-%s-%zu", corpus_dir, type, what, i);
    if ((f = fopen(path, "wb")) == NULL)
        abort();
    fputc(sel, f);
    fwrite(p, 1, n, f);
    fclose(f);
}

static const char *names[] = {"", "gcounter", "pncounter", "lww_register", "lww_map", "orset", "rga"};

static void bench(uint8_t type, size_t n)
{
    replica_id_t r[4];
    weft_crdt_state_t *gen, *st;
    enc_t *ops = malloc(n * sizeof *ops);
    uint64_t rng = 42 + type;
    static uint8_t pl[1 << 16];
    double t0, t1, t2;
    if (ops == NULL || weft_crdt_state_new(type, &gen) != 0)
        abort();
    memset(r, 0, sizeof r);
    for (int i = 0; i < 4; i++)
        memset(r[i].id, 0x10 * (i + 1), WEFT_CRDT_ORIGIN_LEN);
    for (size_t i = 0; i < n; i++) { /* generate (the local path) */
        replica_id_t *o = &r[rng_below(&rng, 4)];
        char text[32];
        size_t plen = 0, len;
        uint8_t kind = WEFT_CRDT_INC;
        int tl = snprintf(text, sizeof text, "k%u", (unsigned)rng_below(&rng, 64));
        switch (type) {
        case WEFT_CRDT_GCOUNTER:
        case WEFT_CRDT_PNCOUNTER:
            kind = type == WEFT_CRDT_PNCOUNTER && (i & 1) ? WEFT_CRDT_DEC : WEFT_CRDT_INC;
            weft_crdt_payload_counter(gen, o->id, kind, 3, pl, sizeof pl, &plen);
            break;
        case WEFT_CRDT_LWW_REG:
            kind = WEFT_CRDT_SET;
            memcpy(pl, "value-of-16bytes", 16);
            plen = 16;
            break;
        case WEFT_CRDT_LWW_MAP:
            kind = i % 5 ? WEFT_CRDT_MAP_SET : WEFT_CRDT_MAP_REMOVE;
            if (kind == WEFT_CRDT_MAP_SET)
                weft_crdt_payload_map_set((uint8_t *)text, (size_t)tl,
                                          (const uint8_t *)"value-of-16bytes", 16, pl, sizeof pl,
                                          &plen);
            else
                memcpy(pl, text, plen = (size_t)tl);
            break;
        case WEFT_CRDT_ORSET:
            kind = i % 3 ? WEFT_CRDT_ADD : WEFT_CRDT_REMOVE;
            if (kind == WEFT_CRDT_ADD)
                memcpy(pl, text, plen = (size_t)tl);
            else
                weft_crdt_payload_orset_remove(gen, (uint8_t *)text, (size_t)tl, pl, sizeof pl,
                                               &plen);
            break;
        case WEFT_CRDT_RGA: {
            /* typing: mostly after the previous insert, sometimes elsewhere */
            weft_crdt_id_t parent;
            int has = 0;
            kind = WEFT_CRDT_INSERT;
            if (i > 0) {
                size_t back = rng_below(&rng, 10) < 8 ? 1 : 1 + rng_below(&rng, i);
                weft_crdt_op_t prev;
                weft_crdt_op_decode(ops[i - back].bytes, ops[i - back].len, &prev);
                parent = weft_crdt_op_id(&prev);
                has = prev.kind == WEFT_CRDT_INSERT;
                if (has && i % 10 == 0)
                    kind = WEFT_CRDT_DELETE;
            }
            if (kind == WEFT_CRDT_DELETE)
                weft_crdt_payload_rga_delete(&parent, pl, sizeof pl, &plen);
            else
                weft_crdt_payload_rga_insert(has ? &parent : NULL, (const uint8_t *)"c", 1, pl,
                                             sizeof pl, &plen);
            break;
        }
        }
        weft_crdt_op_t op = op_make(o, type, kind, 1700000000000ull + i / 16, pl, plen);
        if (weft_crdt_apply(gen, &op) != 0)
            abort();
        weft_crdt_op_encode(&op, NULL, 0, &len);
        ops[i].bytes = malloc(len);
        weft_crdt_op_encode(&op, ops[i].bytes, len, &ops[i].len);
    }
    weft_crdt_state_delete(gen);

    if (weft_crdt_state_new(type, &st) != 0)
        abort();
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        weft_crdt_op_t op;
        if (weft_crdt_op_decode(ops[i].bytes, ops[i].len, &op) != 0 || weft_crdt_apply(st, &op))
            abort();
    }
    t1 = now_s();
    weft_crdt_state_delete(st);
    {
        weft_crdt_op_t *dec = malloc(n * sizeof *dec);
        if (dec == NULL || weft_crdt_state_new(type, &st) != 0)
            abort();
        for (size_t i = 0; i < n; i++)
            weft_crdt_op_decode(ops[i].bytes, ops[i].len, &dec[i]);
        t2 = now_s();
        for (size_t i = 0; i < n; i++)
            weft_crdt_apply(st, &dec[i]);
        t2 = now_s() - t2;
        uint8_t *enc;
        size_t len;
        weft_crdt_state_encode(st, &enc, &len);
        if (corpus_dir) {
            for (size_t i = 0; i < n && i < 6; i++)
                seed_write(type, "op", i, 0, ops[i].bytes, ops[i].len);
            seed_write(type, "state", 0, 1, enc, len);
        } else {
            printf("%-13s %8zu ops  decode+apply %10.0f ops/s  apply %10.0f ops/s  state %zu bytes\n",
                   names[type], n, (double)n / (t1 - t0), (double)n / t2, len);
        }
        free(enc);
        weft_crdt_state_delete(st);
        free(dec);
    }
    for (size_t i = 0; i < n; i++)
        free(ops[i].bytes);
    free(ops);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200000;
    if (argc > 2 && strcmp(argv[1], "--corpus") == 0) {
        corpus_dir = argv[2];
        n = 48;
    }
    for (uint8_t t = WEFT_CRDT_GCOUNTER; t <= WEFT_CRDT_RGA; t++)
        bench(t, t == WEFT_CRDT_RGA ? n / 4 : n);
    return 0;
}
