/*
 * poll.c — poll_oneoff: relative and absolute clocks, the earliest of two
 * clocks, errors reported as events, and readiness of stdio. The test
 * script pipes a line into stdin. Elapsed times are only checked from
 * below (a sleep lasts at least as long as asked), never from above.
 */
#include <string.h>
#include <time.h>

#include "check.h"

static __wasi_timestamp_t now(__wasi_clockid_t id)
{
    __wasi_timestamp_t t = 0;
    CHECK_EQ(__wasi_clock_time_get(id, 1, &t), 0);
    return t;
}

static void clock_sub(__wasi_subscription_t *s, uint64_t userdata, __wasi_clockid_t id,
                      __wasi_timestamp_t timeout, int abs)
{
    memset(s, 0, sizeof *s);
    s->userdata = userdata;
    s->u.tag = __WASI_EVENTTYPE_CLOCK;
    s->u.u.clock.id = id;
    s->u.u.clock.timeout = timeout;
    s->u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
}

static void fd_sub(__wasi_subscription_t *s, uint64_t userdata, __wasi_eventtype_t type,
                   __wasi_fd_t fd)
{
    memset(s, 0, sizeof *s);
    s->userdata = userdata;
    s->u.tag = type;
    s->u.u.fd_read.file_descriptor = fd;
}

int main(void)
{
    __wasi_subscription_t subs[4];
    __wasi_event_t evs[4];
    __wasi_size_t n = 0;
    const __wasi_timestamp_t ms = 1000000;

    /* relative clock */
    __wasi_timestamp_t t0 = now(__WASI_CLOCKID_MONOTONIC);
    clock_sub(&subs[0], 42, __WASI_CLOCKID_MONOTONIC, 50 * ms, 0);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 1, &n), 0);
    CHECK(now(__WASI_CLOCKID_MONOTONIC) - t0 >= 50 * ms);
    CHECK_EQ(n, 1);
    CHECK_EQ(evs[0].userdata, 42);
    CHECK_EQ(evs[0].error, 0);
    CHECK_EQ(evs[0].type, __WASI_EVENTTYPE_CLOCK);

    /* absolute, on the realtime clock and on the monotonic clock */
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    clock_sub(&subs[0], 7, __WASI_CLOCKID_REALTIME, now(__WASI_CLOCKID_REALTIME) + 30 * ms, 1);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 1, &n), 0);
    CHECK(now(__WASI_CLOCKID_MONOTONIC) - t0 >= 25 * ms); /* realtime may step a little */
    CHECK_EQ(n, 1);
    CHECK_EQ(evs[0].userdata, 7);
    __wasi_timestamp_t deadline = now(__WASI_CLOCKID_MONOTONIC) + 20 * ms;
    clock_sub(&subs[0], 8, __WASI_CLOCKID_MONOTONIC, deadline, 1);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 1, &n), 0);
    CHECK(now(__WASI_CLOCKID_MONOTONIC) >= deadline);
    CHECK_EQ(n, 1);
    /* an absolute time in the past fires at once */
    clock_sub(&subs[0], 9, __WASI_CLOCKID_MONOTONIC, 1, 1);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 1, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(evs[0].userdata, 9);

    /* the earlier of two clocks fires alone */
    clock_sub(&subs[0], 1, __WASI_CLOCKID_MONOTONIC, 60ull * 1000 * ms, 0);
    clock_sub(&subs[1], 2, __WASI_CLOCKID_MONOTONIC, 10 * ms, 0);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 2, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(evs[0].userdata, 2);

    /* errors come back as events: unknown clock, closed descriptor */
    clock_sub(&subs[0], 3, 17, 0, 0);
    fd_sub(&subs[1], 4, __WASI_EVENTTYPE_FD_READ, 99);
    clock_sub(&subs[2], 5, __WASI_CLOCKID_MONOTONIC, 60ull * 1000 * ms, 0);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 3, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(evs[0].userdata, 3);
    CHECK_EQ(evs[0].error, __WASI_ERRNO_INVAL);
    CHECK_EQ(evs[1].userdata, 4);
    CHECK_EQ(evs[1].error, __WASI_ERRNO_BADF);
    CHECK_EQ(evs[1].type, __WASI_EVENTTYPE_FD_READ);

    /* stdin has a line waiting, stdout can be written */
    fd_sub(&subs[0], 10, __WASI_EVENTTYPE_FD_READ, 0);
    clock_sub(&subs[1], 11, __WASI_CLOCKID_MONOTONIC, 60ull * 1000 * ms, 0);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 2, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(evs[0].userdata, 10);
    CHECK_EQ(evs[0].error, 0);
    CHECK_EQ(evs[0].type, __WASI_EVENTTYPE_FD_READ);
    CHECK(evs[0].fd_readwrite.nbytes >= 1);
    fd_sub(&subs[0], 12, __WASI_EVENTTYPE_FD_WRITE, 1);
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 1, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(evs[0].userdata, 12);
    CHECK_EQ(evs[0].type, __WASI_EVENTTYPE_FD_WRITE);

    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 0, &n), __WASI_ERRNO_INVAL);
    subs[0].u.tag = 9;
    CHECK_EQ(__wasi_poll_oneoff(subs, evs, 1, &n), __WASI_ERRNO_INVAL);

    /* libc's sleep goes through poll_oneoff */
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    struct timespec ts = {0, 20 * 1000 * 1000};
    CHECK_EQ(nanosleep(&ts, NULL), 0);
    CHECK(now(__WASI_CLOCKID_MONOTONIC) - t0 >= 20 * ms);
    return check_result("poll");
}
