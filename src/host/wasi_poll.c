/*
 * wasi_poll.c — poll_oneoff: waiting on clocks and descriptor readiness.
 *
 * Clock subscriptions (relative or absolute, on any of the four clocks)
 * become one deadline measured on the monotonic clock; descriptor
 * subscriptions become a pollfd each; one ppoll(2) waits for the first of
 * them. A subscription that cannot be waited on (unknown clock, closed
 * descriptor) is reported at once as an event carrying its errno, as the
 * witx says, rather than failing the whole call.
 *
 * The wait is cut into 50 ms slices with a look at the interrupt flag
 * between them, and a signal (weft/wasi.h) ends a slice at once, so
 * weft_store_interrupt stops a guest that sleeps or waits for input.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "wasi_priv.h"

#define SUBCLOCK_ABSTIME 0x1u
#define EVENTTYPE_CLOCK 0
#define EVENTTYPE_FD_READ 1
#define EVENTTYPE_FD_WRITE 2
#define EVENT_HANGUP 0x1u

typedef struct {
    uint64_t userdata;
    uint8_t type;
    uint16_t error;     /* nonzero: reported at once with this errno */
    int pfd;            /* index in the pollfd array, or -1 */
    uint64_t remaining; /* clock: ns from the start of the call */
    int mem;            /* a stream in memory: ready at once, with nbytes to read */
    uint64_t nbytes;
} sub_t;

static void put_event(uint8_t *ev, const sub_t *s, uint16_t error, uint64_t nbytes,
                      uint16_t flags)
{
    memset(ev, 0, WASI_EVENT_SIZE);
    wasi_put_u64(ev + 0, s->userdata);
    wasi_put_u16(ev + 8, error);
    ev[10] = s->type;
    wasi_put_u64(ev + 16, nbytes);
    wasi_put_u16(ev + 24, flags);
}

/* poll_oneoff(in, out, nsubscriptions, nevents). */
static int fn_poll_oneoff(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    weft_memory_t *mem = wasi_memory(caller);
    const uint32_t in = ARG32(0), out = ARG32(1), n = ARG32(2), nevents = ARG32(3);
    sub_t *subs = NULL;
    struct pollfd *pfds = NULL;
    int rc = WASI_ESUCCESS;
    if (!mem) RETURN_ERRNO(WASI_EFAULT);
    if (n == 0 || n > WASI_MAX_SUBSCRIPTIONS) RETURN_ERRNO(WASI_EINVAL);
    const uint8_t *raw = weft_memory_ptr(mem, in, (size_t)n * WASI_SUBSCRIPTION_SIZE);
    if (!raw || !weft_memory_ptr(mem, out, (size_t)n * WASI_EVENT_SIZE) ||
        !weft_memory_ptr(mem, nevents, 4))
        RETURN_ERRNO(WASI_EFAULT);
    /* fuel (wasi_priv.h): the subscriptions; the events written back are
     * at most one per subscription and come with them */
    const uint64_t units = WASI_FUEL_CALL + WASI_FUEL((uint64_t)n * WASI_SUBSCRIPTION_SIZE);
    if ((rc = wasi_charge(caller, units))) return rc;
    subs = calloc(n, sizeof *subs);
    pfds = calloc(n, sizeof *pfds);
    if (!subs || !pfds) {
        rc = WASI_ENOMEM;
        goto done;
    }

    const uint64_t start = wasi_clock_now(CLOCK_MONOTONIC);
    nfds_t npfds = 0;
    int now_ready = 0, have_clock = 0;
    uint64_t min_remaining = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = raw + (size_t)i * WASI_SUBSCRIPTION_SIZE;
        sub_t *sub = &subs[i];
        sub->userdata = wasi_get_u64(s);
        sub->type = s[8];
        sub->pfd = -1;
        if (sub->type == EVENTTYPE_CLOCK) {
            int clk = wasi_clock_host(wasi_get_u32(s + 16));
            uint64_t timeout = wasi_get_u64(s + 24);
            if (clk < 0) {
                sub->error = WASI_EINVAL;
                now_ready = 1;
                continue;
            }
            if (wasi_get_u16(s + 40) & SUBCLOCK_ABSTIME) {
                uint64_t now = wasi_clock_now(clk);
                sub->remaining = timeout > now ? timeout - now : 0;
            } else {
                sub->remaining = timeout;
            }
            have_clock = 1;
            if (sub->remaining < min_remaining) min_remaining = sub->remaining;
        } else if (sub->type == EVENTTYPE_FD_READ || sub->type == EVENTTYPE_FD_WRITE) {
            wasi_fd_t *e;
            int err = wasi_fd_get(w, wasi_get_u32(s + 16), WASI_RIGHT_POLL_FD_READWRITE, &e);
            if (err) {
                sub->error = (uint16_t)err;
                now_ready = 1;
                continue;
            }
            if (e->mem) { /* as a regular file: always ready */
                sub->mem = 1;
                if (sub->type == EVENTTYPE_FD_READ && e->mem->pos < e->mem->len)
                    sub->nbytes = e->mem->len - e->mem->pos;
                now_ready = 1;
                continue;
            }
            sub->pfd = (int)npfds;
            pfds[npfds].fd = e->host;
            pfds[npfds].events = sub->type == EVENTTYPE_FD_READ ? POLLIN : POLLOUT;
            npfds++;
        } else {
            rc = WASI_EINVAL;
            goto done;
        }
    }

    /* Long or unbounded waits are cut into slices so that an interrupt
     * (a --timeout, say) ends a guest that sleeps or waits for input. */
    const uint64_t slice = 50000000u; /* 50 ms */
    int ready;
    for (;;) {
        struct timespec ts;
        uint64_t wait = slice;
        bool sliced = true;
        if (now_ready) {
            wait = 0;
            sliced = false;
        } else if (have_clock) {
            uint64_t elapsed = wasi_clock_now(CLOCK_MONOTONIC) - start;
            wait = min_remaining > elapsed ? min_remaining - elapsed : 0;
            sliced = wait > slice;
            if (sliced) wait = slice;
        }
        ts.tv_sec = (time_t)(wait / 1000000000u);
        ts.tv_nsec = (long)(wait % 1000000000u);
        ready = ppoll(pfds, npfds, &ts, NULL);
        if (ready > 0 || (ready == 0 && !sliced)) break;
        if (ready < 0 && errno != EINTR) {
            rc = wasi_errno(errno);
            goto done;
        }
        if (weft_caller_check_interrupt(caller)) {
            free(subs);
            free(pfds);
            return WEFT_ETRAP;
        }
    }

    const uint64_t elapsed = wasi_clock_now(CLOCK_MONOTONIC) - start;
    uint8_t *evs = weft_memory_ptr(mem, out, (size_t)n * WASI_EVENT_SIZE);
    uint32_t count = 0;
    for (int pass = 0; pass < 2 && count == 0; pass++) {
        for (uint32_t i = 0; i < n; i++) {
            sub_t *sub = &subs[i];
            uint8_t *ev = evs + (size_t)count * WASI_EVENT_SIZE;
            if (sub->error) {
                put_event(ev, sub, sub->error, 0, 0);
                count++;
            } else if (sub->mem) {
                put_event(ev, sub, 0, sub->nbytes, 0);
                count++;
            } else if (sub->pfd >= 0) {
                short re = pfds[sub->pfd].revents;
                if (!re) continue;
                int avail = 0;
                if (sub->type == EVENTTYPE_FD_READ && ioctl(pfds[sub->pfd].fd, FIONREAD, &avail) != 0)
                    avail = 0;
                put_event(ev, sub, (re & POLLNVAL) ? WASI_EBADF : 0,
                          avail > 0 ? (uint64_t)avail : 0,
                          (re & (POLLHUP | POLLERR)) ? EVENT_HANGUP : 0);
                count++;
            } else if (sub->type == EVENTTYPE_CLOCK &&
                       (sub->remaining <= elapsed || (pass == 1 && sub->remaining == min_remaining))) {
                /* pass 1: ppoll timed out a hair before the clock agreed */
                put_event(ev, sub, 0, 0, 0);
                count++;
            }
        }
        if (ready > 0 || !have_clock) break;
    }
    wasi_store_u32(mem, nevents, count);
done:
    free(subs);
    free(pfds);
    RETURN_ERRNO(rc);
}

const wasi_func_t wasi_poll_funcs[] = {
    {"poll_oneoff", "iiii", 1, fn_poll_oneoff},
};
const size_t wasi_poll_nfuncs = sizeof wasi_poll_funcs / sizeof wasi_poll_funcs[0];
