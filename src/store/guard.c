/*
 * guard.c — turns a fault inside LMDB's map, or an LMDB assertion, into an
 * error of the call that hit it (see guard.h for the contract and limits).
 *
 * One SIGBUS and one SIGSEGV handler per process, installed on the first
 * store_open and kept. The innermost guard of each thread is a thread-local
 * pointer; the handler jumps to it only when the faulting address lies in
 * that guard's range, or in the lowest STORE_NULL_PAGES bytes (a NULL
 * pointer LMDB followed: a damaged node flag, F_DUPDATA say, makes it use
 * a sub-cursor a weft database never has), and the fault came from the
 * hardware (si_code > 0).
 * Anything else is passed on to the handler that was installed before ours
 * (a sanitizer's, say), or, when that was the default, the default action
 * is restored and the faulting instruction runs again and kills the
 * process as before. LMDB's assertion callback jumps the same way, before
 * mdb_assert_fail would print and abort(); outside a guard it returns and
 * LMDB aborts as usual.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "guard.h"

static __thread store_guard_t *tls_guard;
static __thread struct {
    int sig;         /* 0 for an assertion */
    uintptr_t off;   /* offset of the faulting address from the map's start */
    char text[400];  /* the assertion message, or the formatted fault */
} tls_fault;

static struct sigaction old_bus, old_segv;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_err;

/* A fault that is not ours: what would have happened without us. */
static void pass_on(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* Default (an ignored fault kills too): restore it; a hardware fault
     * happens again on return, a sent signal is raised again. */
    signal(sig, SIG_DFL);
    if (si->si_code <= 0)
        raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    store_guard_t *g = tls_guard;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (g && si->si_code > 0 && ((a >= g->lo && a < g->hi) || a < STORE_NULL_PAGES)) {
        tls_guard = g->prev;
        tls_fault.sig = sig;
        tls_fault.off = a - g->lo;
        siglongjmp(g->jb, 1);
    }
    pass_on(sig, si, uc);
}

static void on_assert(MDB_env *env, const char *msg)
{
    store_guard_t *g = tls_guard;
    (void)env;
    if (!g)
        return; /* LMDB prints msg and aborts, as without us */
    tls_guard = g->prev;
    tls_fault.sig = 0;
    snprintf(tls_fault.text, sizeof tls_fault.text, "LMDB assertion failed: %s", msg);
    siglongjmp(g->jb, 1);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &old_bus) != 0 || sigaction(SIGSEGV, &sa, &old_segv) != 0)
        setup_err = errno;
}

int store_guard_setup(MDB_env *env)
{
    pthread_once(&setup_once, install);
    if (setup_err)
        return setup_err;
    return mdb_env_set_assert(env, on_assert);
}

void store_guard_enter(store_guard_t *g, const store_map_t *map)
{
    g->lo = map ? map->lo : 0;
    g->hi = map && map->hi > map->lo ? map->hi + STORE_MAP_SLACK : g->lo;
    g->prev = tls_guard;
    tls_guard = g;
}

void store_guard_leave(store_guard_t *g)
{
    tls_guard = g->prev;
}

const char *store_fault_text(void)
{
    if (tls_fault.sig)
        snprintf(tls_fault.text, sizeof tls_fault.text, "%s reading byte %ju of the map",
                 tls_fault.sig == SIGBUS ? "SIGBUS (past the end of data.mdb)" : "SIGSEGV",
                 (uintmax_t)tls_fault.off);
    return tls_fault.text;
}

void store_map_find(int fd, store_map_t *out)
{
    struct stat st;
    char line[512];
    FILE *f;
    out->lo = out->hi = 0;
    if (fstat(fd, &st) != 0 || (f = fopen("/proc/self/maps", "re")) == NULL)
        return;
    /* "lo-hi perms offset major:minor inode path"; a directory opened twice
     * in one process (which LMDB forbids) maps twice: take the union. */
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino;
        unsigned maj, min;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &maj, &min, &ino) != 7)
            continue;
        if (ino != (unsigned long)st.st_ino || maj != major(st.st_dev) || min != minor(st.st_dev))
            continue;
        if (out->lo == out->hi || lo < out->lo)
            out->lo = lo;
        if (hi > out->hi)
            out->hi = hi;
    }
    fclose(f);
}
