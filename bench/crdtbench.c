/*
 * crdtbench.c — nx guest benchmark of local CRDT writes (bench/crdtbench.sh).
 *
 * `crdtbench TYPE N` does N ops of TYPE in one call (one transaction, the
 * op-log on, as in any sync-enabled run): gcounter (crdt_gcounter_inc of 1
 * on one key), pncounter (inc/dec alternating), lww (crdt_lww_set of a
 * 16-byte value on one key), map (crdt_lww_map_set over 64 fields),
 * bigmap (over 10,000 fields), set (crdt_orset_add over 10,000 elements),
 * setrm (add, then remove, of 10,000 elements in turn), mapget
 * (crdt_lww_map_get of one of 10,000 fields, after setting them all, not
 * timed) or rga (crdt_rga_insert, each after the one before). It prints
 * "TYPE N MS" with MS the guest-measured time of the ops alone
 * (time_monotonic, so commit and start-up are not in it) and reads the
 * result back as a check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: crdtbench gcounter|pncounter|lww|map|bigmap|set|setrm|mapget|rga N\n");
        return 2;
    }
    const char *type = argv[1];
    long n = atol(argv[2]);
    char val[17] = "value-0000000000";
    uint8_t out[64];
    uint8_t id[NX_CRDT_ID_LEN];
    int bad = 0, have_id = 0;
    if (strcmp(type, "mapget") == 0)
        for (long i = 0; i < 10000 && !bad; i++) {
            char field[8];
            int fl = snprintf(field, sizeof field, "f%04ld", i);
            bad = nx_crdt_lww_map_set("bench:mg", 8, field, (uint32_t)fl, val, 16) != 0;
        }
    uint64_t t0 = nx_time_monotonic();
    for (long i = 0; i < n && !bad; i++) {
        int32_t rc;
        if (strcmp(type, "gcounter") == 0) {
            rc = nx_crdt_gcounter_inc("bench:g", 7, 1);
        } else if (strcmp(type, "pncounter") == 0) {
            rc = i & 1 ? nx_crdt_pncounter_dec("bench:pn", 8, 1) : nx_crdt_pncounter_inc("bench:pn", 8, 2);
        } else if (strcmp(type, "lww") == 0) {
            val[15] = (char)('0' + i % 10);
            rc = nx_crdt_lww_set("bench:r", 7, val, 16);
        } else if (strcmp(type, "map") == 0) {
            char field[8];
            int fl = snprintf(field, sizeof field, "f%02ld", i % 64);
            rc = nx_crdt_lww_map_set("bench:m", 7, field, (uint32_t)fl, val, 16);
        } else if (strcmp(type, "bigmap") == 0) {
            char field[8];
            int fl = snprintf(field, sizeof field, "f%04ld", i % 10000);
            rc = nx_crdt_lww_map_set("bench:bm", 8, field, (uint32_t)fl, val, 16);
        } else if (strcmp(type, "mapget") == 0) {
            char field[8];
            int fl = snprintf(field, sizeof field, "f%04ld", (i * 7919) % 10000);
            rc = nx_crdt_lww_map_get("bench:mg", 8, field, (uint32_t)fl, out, sizeof out);
            rc = rc == 16 ? 0 : rc;
        } else if (strcmp(type, "set") == 0 || strcmp(type, "setrm") == 0) {
            char elem[8];
            int rm = type[3] == 'r' && (i & 1);
            int el = snprintf(elem, sizeof elem, "e%04ld", (type[3] ? i / 2 : i) % 10000);
            rc = rm ? nx_crdt_orset_remove("bench:s", 7, elem, (uint32_t)el)
                    : nx_crdt_orset_add("bench:s", 7, elem, (uint32_t)el);
        } else if (strcmp(type, "rga") == 0) {
            rc = nx_crdt_rga_insert("bench:rga", 9, id, have_id ? NX_CRDT_ID_LEN : 0, val, 16, id,
                                    NX_CRDT_ID_LEN);
            rc = rc == (int32_t)NX_CRDT_ID_LEN ? 0 : rc;
            have_id = 1;
        } else {
            fprintf(stderr, "crdtbench: unknown type %s\n", type);
            return 2;
        }
        if (rc != 0) {
            fprintf(stderr, "crdtbench: op %ld failed: %d\n", i, rc);
            bad = 1;
        }
    }
    uint64_t ms = nx_time_monotonic() - t0;
    if (strcmp(type, "gcounter") == 0) {
        if (nx_crdt_gcounter_value("bench:g", 7, out, 8) != 8 || (long)nx_read_u32(out) != n) bad = 1;
    } else if (strcmp(type, "lww") == 0 && n > 0) {
        if (nx_crdt_lww_get("bench:r", 7, out, sizeof out) != 16) bad = 1;
    }
    printf("%s %ld %llu\n", type, n, (unsigned long long)ms);
    return bad;
}
