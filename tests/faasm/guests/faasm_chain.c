/*
 * faasm_chain.c — a Faasm guest (sdk/faasm.h) for chaining through the
 * node (tests/faasm/test_faasm_node.c). Its input names the case:
 *
 *   ptr            chain_ptr a child that echoes its input; output
 *                  "rc=0 out=child:x"
 *   codes          the return codes await gives: a child returning 3, one
 *                  that traps, an id never chained, id 0
 *   name CTX       chain_name CTX with input "hi"; output its output
 *   fanout N       chain N children that each spin, await them all
 *   deep           a child that chains itself until the depth bound
 *   pi N           Faasm's pi estimate over N chained workers (append_state)
 *   counter N      N children adding 50 each to a counter under the lock
 *   readcounter    the counter's value
 *   hi             outputs "hello" (what "name CTX" chains)
 *   rt N           benchmark: N chained no-op calls one after the other
 *   fantime N      benchmark: N timed children at once; wall time against
 *                  the sum of theirs
 *   print          awaits three children, printing after each, and writes no
 *                  output (stdout is the output)
 *   scribble       outputs whether the data, the bss, a fresh heap block, the
 *                  memory's size and the constructors are as a fresh instance
 *                  has them ("pristine=1 pages=N ctors=1"), then changes them
 *                  all: a kept instance must not show the next call any of it
 *
 * Built with __wasm_call_ctors exported, as Faasm's toolchain does: the
 * node runs the constructors before main or a chained table entry, once
 * (`ctor_runs` counts them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faasm.h"

static int ctor_runs;
static int initialised = 42;  /* a data segment */
static char zeroed[3 << 16];  /* bss over three wasm pages */
__attribute__((constructor)) static void count_ctor(void)
{
    volatile int one = 1; /* not folded into ctor_runs's initial value */
    ctor_runs += one;
}

static char *input(void)
{
    size_t n;
    char *p = (char *)faasm_read_call_input(&n);
    return p ? p : strdup("");
}

static void out(const char *s)
{
    faasm_write_call_output(s, strlen(s));
}

static int child_echo(void)
{
    char *in = input(), buf[256];
    snprintf(buf, sizeof buf, "child:%s ctors=%d", in, ctor_runs);
    out(buf);
    return 0;
}

static int child_three(void)
{
    return 3;
}

static int child_trap(void)
{
    __builtin_trap();
}

static int child_spin(void)
{
    volatile uint32_t x = 1;
    for (int i = 0; i < 300000; i++) x = x * 1664525u + 1013904223u;
    out("spun");
    return 0;
}

static int child_nop(void)
{
    return 0;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* child_spin, timing itself into the appended values of "times". */
static int child_timed(void)
{
    uint64_t t0 = now_us();
    child_spin();
    uint64_t d = now_us() - t0;
    faasm_append_state("times", &d, sizeof d);
    return 0;
}

static int child_deep(void)
{
    char *in = input(), buf[32];
    int depth = atoi(in);
    snprintf(buf, sizeof buf, "%d", depth + 1);
    uint32_t id = __faasm_chain_ptr(child_deep, (const uint8_t *)buf, (int32_t)strlen(buf));
    char *o = NULL;
    int32_t len = 0;
    if (id == 0 || __faasm_await_call_output(id, &o, &len) != 0) {
        out(in); /* the deepest level that ran */
        return 0;
    }
    faasm_write_call_output(o, (size_t)len);
    return 0;
}

static int child_pi(void)
{
    int count = 0;
    uint32_t s = 12345u + (uint32_t)(uintptr_t)&count;
    for (int i = 0; i < 20000; i++) {
        s = s * 1664525u + 1013904223u;
        float x = (float)(s >> 8) / 16777216.0f;
        s = s * 1664525u + 1013904223u;
        float y = (float)(s >> 8) / 16777216.0f;
        if (x * x + y * y <= 1.0f) count++;
    }
    faasm_append_state("pi", &count, sizeof count);
    return 0;
}

static int child_counter(void)
{
    for (int i = 0; i < 50; i++) {
        faasm_lock_state_write("counter");
        uint32_t c = 0;
        __faasm_read_state("counter", (uint8_t *)&c, 4);
        c++;
        faasm_set_state("counter", &c, 4);
        faasm_unlock_state_write("counter");
    }
    return 0;
}

int main(void)
{
    char *in = input(), buf[256];
    char *arg = strchr(in, ' ');
    int n = arg ? atoi(arg + 1) : 0;
    if (!strcmp(in, "ptr")) {
        uint32_t id = __faasm_chain_ptr(child_echo, (const uint8_t *)"x", 1);
        char *o = NULL;
        int32_t len = 0;
        int32_t rc = __faasm_await_call_output(id, &o, &len);
        snprintf(buf, sizeof buf, "rc=%d out=%.*s main_ctors=%d", rc, (int)len, o, ctor_runs);
        free(o);
        out(buf);
    } else if (!strcmp(in, "codes")) {
        uint32_t a = __faasm_chain_ptr(child_three, NULL, 0);
        uint32_t b = __faasm_chain_ptr(child_trap, NULL, 0);
        snprintf(buf, sizeof buf, "%d %d %d %d", faasm_await_call(a), faasm_await_call(b),
                 faasm_await_call(999), faasm_await_call(0));
        out(buf);
    } else if (!strncmp(in, "name ", 5)) {
        uint32_t id = faasm_chain_call(in + 5, "hi", 2);
        size_t len;
        int32_t rc;
        uint8_t *o = faasm_get_call_output(id, &len, &rc);
        snprintf(buf, sizeof buf, "rc=%d out=%.*s", rc, (int)len, o ? (char *)o : "");
        out(buf);
    } else if (!strncmp(in, "fanout ", 7)) {
        uint32_t ids[256];
        int bad = 0;
        for (int i = 0; i < n; i++) ids[i] = __faasm_chain_ptr(child_spin, NULL, 0);
        for (int i = 0; i < n; i++) bad += faasm_await_call(ids[i]) != 0;
        snprintf(buf, sizeof buf, "%d of %d failed", bad, n);
        out(buf);
    } else if (!strcmp(in, "deep")) {
        return child_deep();
    } else if (!strncmp(in, "pi ", 3)) {
        __faasm_clear_appended_state("pi");
        uint32_t ids[64];
        for (int i = 0; i < n; i++) ids[i] = __faasm_chain_ptr(child_pi, NULL, 0);
        for (int i = 0; i < n; i++) faasm_await_call(ids[i]);
        int counts[64], total = 0;
        __faasm_read_appended_state("pi", (uint8_t *)counts, (int32_t)(n * sizeof(int)), n);
        for (int i = 0; i < n; i++) total += counts[i];
        float pi = 4.0f * (float)total / (float)(n * 20000);
        snprintf(buf, sizeof buf, "pi %.2f", pi);
        out(buf);
    } else if (!strncmp(in, "counter ", 8)) {
        uint32_t zero = 0, ids[64], c = 0;
        faasm_set_state("counter", &zero, 4);
        for (int i = 0; i < n; i++) ids[i] = __faasm_chain_ptr(child_counter, NULL, 0);
        for (int i = 0; i < n; i++) faasm_await_call(ids[i]);
        __faasm_read_state("counter", (uint8_t *)&c, 4);
        snprintf(buf, sizeof buf, "counter %u", c);
        out(buf);
    } else if (!strncmp(in, "rt ", 3)) { /* benchmark: chain + await of a no-op */
        uint64_t t0 = now_us();
        for (int i = 0; i < n; i++) faasm_await_call(__faasm_chain_ptr(child_nop, NULL, 0));
        snprintf(buf, sizeof buf, "%.1f us per chained call", (double)(now_us() - t0) / n);
        out(buf);
    } else if (!strncmp(in, "fantime ", 8)) { /* benchmark: fan-out wall time vs work */
        uint32_t ids[256];
        __faasm_clear_appended_state("times");
        uint64_t t0 = now_us(), sum = 0, d[256];
        for (int i = 0; i < n; i++) ids[i] = __faasm_chain_ptr(child_timed, NULL, 0);
        for (int i = 0; i < n; i++) faasm_await_call(ids[i]);
        uint64_t wall = now_us() - t0;
        __faasm_read_appended_state("times", (uint8_t *)d, (int32_t)(n * sizeof d[0]), n);
        for (int i = 0; i < n; i++) sum += d[i];
        snprintf(buf, sizeof buf, "wall %llu us, children %llu us, speed-up %.2f",
                 (unsigned long long)wall, (unsigned long long)sum, (double)sum / (double)wall);
        out(buf);
    } else if (!strcmp(in, "readcounter")) {
        uint32_t c = 0;
        __faasm_read_state("counter", (uint8_t *)&c, 4);
        snprintf(buf, sizeof buf, "%u", c);
        out(buf);
    } else if (!strcmp(in, "hi")) { /* what "name CTX" sends */
        out("hello");
    } else if (!strcmp(in, "print")) {
        /* stdout across awaits: the children may run on this thread */
        uint32_t ids[3];
        for (int i = 0; i < 3; i++) ids[i] = __faasm_chain_ptr(child_spin, NULL, 0);
        for (int i = 0; i < 3; i++) printf("awaited %d\n", faasm_await_call(ids[i]));
        fflush(stdout); /* _start does not when __wasm_call_ctors is exported */
    } else if (!strcmp(in, "scribble")) {
        size_t pages = __builtin_wasm_memory_size(0);
        unsigned char *h = malloc(8192); /* fresh heap: zero in a fresh instance */
        int dirty = initialised != 42 || !h;
        for (size_t i = 0; i < sizeof zeroed; i++) dirty |= zeroed[i];
        for (size_t i = 0; h && i < 8192; i++) dirty |= h[i];
        snprintf(buf, sizeof buf, "pristine=%d pages=%zu ctors=%d", !dirty, pages, ctor_runs);
        out(buf);
        initialised = 7;
        memset(zeroed, 0xa5, sizeof zeroed);
        if (h) memset(h, 0x5a, 8192);
        if (__builtin_wasm_memory_grow(0, 2) != (size_t)-1)
            memset((char *)(pages << 16), 0x77, 2 << 16);
    } else {
        return 2;
    }
    return 0;
}
