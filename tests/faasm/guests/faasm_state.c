/*
 * faasm_state.c — a Faasm guest (sdk/faasm.h) for the state and I/O
 * tests of tests/faasm/test_faasm.c; argv[1] picks the case, argv[2] an
 * iteration count. Exits 0 when every check held (check.h prints the
 * others on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "faasm.h"

#define BIG 10000 /* three chunks of 4096: two inner edges */

/* Input to output, reversed; the size query first. */
static void io(void)
{
    int32_t n = __faasm_read_input((uint8_t *)"", 0);
    uint8_t *p = malloc(n + 1);
    CHECK_EQ(__faasm_read_input(p, n + 1), n); /* a larger buffer gets the input's bytes */
    for (int32_t i = 0; i < n / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
    __faasm_write_output((const uint8_t *)"first", 5); /* the last output wins */
    __faasm_write_output(p, n);
}

/* Offsets at the value's edges and across chunk boundaries. */
static void edges(void)
{
    const char *k = "edges";
    uint8_t *v = calloc(BIG, 1), b[16];
    for (int i = 0; i < BIG; i++) v[i] = (uint8_t)(i * 7);
    __faasm_write_state(k, v, BIG);
    CHECK_EQ(__faasm_read_state(k, NULL, 0), BIG);
    /* first and last byte */
    __faasm_write_state_offset(k, BIG, 0, (const uint8_t *)"A", 1);
    __faasm_write_state_offset(k, BIG, BIG - 1, (const uint8_t *)"Z", 1);
    /* across the first chunk edge: 4094..4097 */
    __faasm_write_state_offset(k, BIG, 4094, (const uint8_t *)"wxyz", 4);
    __faasm_read_state_offset(k, BIG, 0, b, 2);
    CHECK_EQ(b[0], 'A');
    CHECK_EQ(b[1], (uint8_t)7);
    __faasm_read_state_offset(k, BIG, BIG - 2, b, 2);
    CHECK_EQ(b[0], (uint8_t)((BIG - 2) * 7));
    CHECK_EQ(b[1], 'Z');
    __faasm_read_state_offset(k, BIG, 4093, b, 6);
    CHECK_EQ(b[0], (uint8_t)(4093 * 7));
    CHECK(memcmp(b + 1, "wxyz", 4) == 0);
    CHECK_EQ(b[5], (uint8_t)(4098 * 7));
    /* a read running past the end reads zeros there */
    memset(b, 0xee, sizeof b);
    __faasm_read_state_offset(k, BIG, BIG - 1, b, 4);
    CHECK_EQ(b[0], 'Z');
    CHECK_EQ(b[1], 0);
    CHECK_EQ(b[3], 0);
    /* a pointer to the last 3 bytes and one to the whole value: writes
     * through the small one are seen by the state and the big one */
    uint8_t *tail = __faasm_read_state_offset_ptr(k, BIG, BIG - 3, 3);
    CHECK_EQ(tail[2], 'Z');
    tail[0] = 'T';
    __faasm_read_state_offset(k, BIG, BIG - 3, b, 1); /* a state call on the key: tail goes out */
    CHECK_EQ(b[0], 'T');
    uint8_t *all = __faasm_read_state_ptr(k, BIG);
    CHECK_EQ(all[BIG - 3], 'T');
    CHECK(__faasm_read_state_offset_ptr(k, BIG, 100, 10) == all + 100); /* inside the mapping */
    all[4096] = '!';
    /* writing at offset past the end grows the value */
    __faasm_write_state_offset(k, BIG + 10, BIG + 5, (const uint8_t *)"G", 1);
    CHECK_EQ(__faasm_read_state(k, NULL, 0), BIG + 10);
    __faasm_read_state_offset(k, BIG + 10, 4096, b, 1);
    CHECK_EQ(b[0], '!');
    __faasm_push_state(k);
    free(v);
}

/* Two pointers to one value are one copy; writes reach read_state. */
static void ptr_shared(void)
{
    const char *k = "shared";
    uint8_t zero[7] = {0};
    __faasm_write_state(k, zero, 7);
    uint8_t *a = __faasm_read_state_ptr(k, 7), *b = __faasm_read_state_ptr(k, 7), r[7];
    CHECK(a == b);
    for (int i = 0; i < 7; i++) a[i] = 5;
    CHECK_EQ(b[6], 5);
    CHECK_EQ(__faasm_read_state(k, r, 7), 7);
    CHECK_EQ(r[0], 5);
    CHECK_EQ(r[6], 5);
    /* and a write_state is seen through the pointer */
    __faasm_write_state(k, (const uint8_t *)"abcdefg", 7);
    CHECK_EQ(a[0], 'a');
    a[1] = 'B'; /* left for the end of the call to write back */
}

/* A shared counter: n increments, under the write lock or not. */
static void counter(int n, int locked, int via_ptr)
{
    const char *k = "counter";
    for (int i = 0; i < n; i++) {
        if (locked) __faasm_lock_state_write(k);
        if (via_ptr) {
            uint32_t *c = (uint32_t *)__faasm_read_state_ptr(k, 8);
            c[0]++;
            c[1] = c[0];
        } else {
            uint32_t c[2];
            __faasm_read_state(k, (uint8_t *)c, 8);
            CHECK_EQ(c[0], c[1]); /* never half of another writer's value */
            c[0]++;
            c[1] = c[0];
            __faasm_write_state(k, (const uint8_t *)c, 8);
        }
        if (locked) __faasm_unlock_state_write(k);
    }
}

/* Appended values, read back in order. */
static void append(void)
{
    const char *k = "list";
    __faasm_clear_appended_state(k);
    for (int32_t i = 0; i < 5; i++) __faasm_append_state(k, (const uint8_t *)&i, 4);
    int32_t got[5];
    __faasm_read_appended_state(k, (uint8_t *)got, sizeof got, 5);
    for (int i = 0; i < 5; i++) CHECK_EQ(got[i], i);
    __faasm_clear_appended_state(k);
    __faasm_append_state(k, (const uint8_t *)"xy", 2);
    char two[2];
    __faasm_read_appended_state(k, (uint8_t *)two, 2, 1);
    CHECK(memcmp(two, "xy", 2) == 0);
}

/* Push, change locally, pull: the pushed value is back. Partial push
 * sends only the dirty bytes. */
static void push_pull(void)
{
    const char *k = "pp";
    uint8_t v[6000], b[6000];
    memset(v, 1, sizeof v);
    __faasm_write_state(k, v, sizeof v);
    __faasm_push_state(k);
    __faasm_write_state_offset(k, sizeof v, 10, (const uint8_t *)"\2", 1);
    __faasm_pull_state(k, sizeof v);
    __faasm_read_state(k, b, sizeof b);
    CHECK_EQ(b[10], 1);
    __faasm_write_state_offset(k, sizeof v, 5000, (const uint8_t *)"\3", 1);
    __faasm_push_state_partial(k);
    __faasm_write_state_offset(k, sizeof v, 5001, (const uint8_t *)"\4", 1); /* not pushed */
    __faasm_pull_state(k, sizeof v);
    __faasm_read_state(k, b, sizeof b);
    CHECK_EQ(b[5000], 3);
    CHECK_EQ(b[5001], 1);
    CHECK_EQ(b[0], 1);
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    int n = argc > 2 ? atoi(argv[2]) : 1;
    if (!strcmp(m, "io")) io();
    else if (!strcmp(m, "edges")) edges();
    else if (!strcmp(m, "ptr_shared")) ptr_shared();
    else if (!strcmp(m, "counter_locked")) counter(n, 1, 0);
    else if (!strcmp(m, "counter_unlocked")) counter(n, 0, 0);
    else if (!strcmp(m, "ptr_counter_locked")) counter(n, 1, 1);
    else if (!strcmp(m, "append")) append();
    else if (!strcmp(m, "push_pull")) push_pull();
    else if (!strcmp(m, "lock_and_exit")) __faasm_lock_state_write("counter"); /* left held */
    else if (!strcmp(m, "bad_key")) __faasm_read_state((const char *)0xfffffff0u, NULL, 0);
    else return 99;
    return check_result(m);
}
