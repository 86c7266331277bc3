/* clock_random.c — clocks and random_get.
 * argv[1] is the host's time in seconds (date +%s): the realtime clock
 * must agree within a minute. Monotonic time never goes back; every clock
 * has a resolution; an unknown clock is INVAL; random_get fills buffers
 * with bytes that differ between calls. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv)
{
    __wasi_timestamp_t t = 0, prev = 0, res = 0;
    for (uint32_t id = 0; id < 4; id++) {
        CHECK_EQ(__wasi_clock_res_get(id, &res), 0);
        CHECK(res > 0);
        CHECK_EQ(__wasi_clock_time_get(id, 1, &t), 0);
    }
    CHECK_EQ(__wasi_clock_res_get(4, &res), __WASI_ERRNO_INVAL);
    CHECK_EQ(__wasi_clock_time_get(99, 1, &t), __WASI_ERRNO_INVAL);

    if (argc > 1) {
        long long host = atoll(argv[1]);
        CHECK_EQ(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t), 0);
        long long guest = (long long)(t / 1000000000u);
        CHECK(guest >= host - 60 && guest <= host + 60);
    }

    CHECK_EQ(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &prev), 0);
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t), 0);
        CHECK(t >= prev);
        prev = t;
    }
    __wasi_timestamp_t c0, c1;
    CHECK_EQ(__wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &c0), 0);
    volatile uint64_t spin = 0;
    for (int i = 0; i < 2000000; i++) spin = spin + (uint64_t)i;
    CHECK(spin > 0);
    CHECK_EQ(__wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &c1), 0);
    CHECK(c1 >= c0);

    static uint8_t a[4096], b[4096];
    CHECK_EQ(__wasi_random_get(a, sizeof a), 0);
    CHECK_EQ(__wasi_random_get(b, sizeof b), 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    size_t zeros = 0;
    for (size_t i = 0; i < sizeof a; i++) zeros += a[i] == 0;
    CHECK(zeros < 100); /* expected 16 */
    CHECK_EQ(__wasi_random_get(a, 0), 0);
    CHECK_EQ(__wasi_random_get(AT(MEM_END - 8), 16), __WASI_ERRNO_FAULT);
    CHECK_EQ(__wasi_sched_yield(), 0);
    return check_result("clock_random");
}
