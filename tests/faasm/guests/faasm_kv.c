/*
 * faasm_kv.c — a Faasm guest (sdk/faasm.h) for the two-node Redis test
 * (tests/faasm/redis_test.py). Its input is a command:
 *
 *   set VALUE      write_state("k", VALUE) and push it to the global tier
 *   get            pull "k" from the global tier; the output is its value
 *   append VALUE   append VALUE to "list" (global)
 *   list N         the first N appended values, concatenated
 *   lock           take and release the global write lock of "k"
 *   hold           take the global lock of "k" and exit holding it
 *   tput N         benchmark: N local writes and reads of a 64-byte value,
 *                  then N pushes and pulls of it; operations per second
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faasm.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    size_t n;
    char *in = (char *)faasm_read_call_input(&n);
    if (!in) return 2;
    if (!strncmp(in, "set ", 4)) {
        faasm_set_state("k", in + 4, strlen(in + 4));
        faasm_push_state("k");
    } else if (!strcmp(in, "get")) {
        faasm_pull_state("k", 0);
        int32_t size = __faasm_read_state("k", NULL, 0);
        uint8_t *v = malloc(size + 1);
        __faasm_read_state("k", v, size);
        faasm_write_call_output(v, (size_t)size);
    } else if (!strncmp(in, "append ", 7)) {
        faasm_append_state("list", in + 7, strlen(in + 7));
    } else if (!strncmp(in, "list ", 5)) {
        int count = atoi(in + 5);
        uint8_t buf[4096];
        memset(buf, 0, sizeof buf);
        __faasm_read_appended_state("list", buf, sizeof buf, count);
        faasm_write_call_output(buf, strlen((char *)buf));
    } else if (!strcmp(in, "lock")) {
        faasm_lock_state_global_write("k");
        faasm_unlock_state_global_write("k");
        faasm_write_call_output("locked", 6);
    } else if (!strncmp(in, "tput ", 5)) {
        int count = atoi(in + 5);
        uint8_t v[64] = {1}, r[64];
        double t0 = now_s();
        for (int i = 0; i < count; i++) {
            v[0] = (uint8_t)i;
            faasm_set_state("t", v, sizeof v);
            __faasm_read_state("t", r, sizeof r);
        }
        double t1 = now_s();
        for (int i = 0; i < count; i++) {
            faasm_push_state("t");
            faasm_pull_state("t", sizeof v);
        }
        double t2 = now_s();
        char buf[160];
        snprintf(buf, sizeof buf, "local %.0f write+read/s, global %.0f push+pull/s",
                 count / (t1 - t0), count / (t2 - t1));
        faasm_write_call_output(buf, strlen(buf));
    } else if (!strcmp(in, "hold")) {
        faasm_lock_state_global_write("k");
    } else {
        return 2;
    }
    return 0;
}
