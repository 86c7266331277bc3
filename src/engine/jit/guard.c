/*
 * guard.c — out-of-bounds accesses of compiled code as faults
 * (docs/jit.md "Memory accesses: guard regions"). A module compiled while
 * a reservation could be had (weft_module.jit_guarded) does no bounds
 * checks: memory 0 is a reservation of MEM_RESERVE bytes (mempool.c) with
 * exactly its size accessible, so base + zero-extended i32 + u32 offset
 * past the size lands on PROT_NONE pages and faults.
 *
 * The handler (SIGSEGV and SIGBUS, installed once, before any such code
 * runs) takes a fault only when all of these hold, on the faulting thread:
 * compiled code is running (jit_running, the innermost jit_invoke's
 * context), the faulting instruction lies in that context's module code,
 * the module was compiled for guards, and the address lies in the
 * reservation of the context's memory 0, which is guarded. Then it resumes
 * the thread at the module's trap stub (weft_module.jit_oob), which raises
 * `out of bounds memory access` exactly as an explicit check's jump to its
 * trap stub does: same registers (r14 ctx, r13 fuel, rsp as in the body),
 * so the same fuel and backtrace; the handler gives it the faulting
 * function's index in edx (functions lie in the code in index order, each
 * starting at its entry). Every other fault goes to the handler
 * that was there before (ASan's, a host program's) or to the default
 * action, so a crash in weft's own C code still crashes loudly.
 */
#define _GNU_SOURCE /* REG_RIP */
#include "jit.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

__thread jit_ctx_t *jit_running;

#if defined(__x86_64__) && defined(__linux__)

static struct sigaction prev_segv, prev_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static bool installed;

/* Whether the fault at pc on addr is an out-of-bounds access of the
 * compiled code ctx runs. Reads only what the running call keeps alive. */
static bool is_guest_oob(const jit_ctx_t *ctx, uintptr_t pc, uintptr_t addr)
{
    const weft_module_t *m = ctx->inst->module;
    if (!m->jit_guarded || !m->jit_code || pc - (uintptr_t)m->jit_code >= m->jit_size) return false;
    const weft_memory_t *mem = ctx->inst->mems ? ctx->inst->mems[0] : NULL;
    return mem && mem->guarded && ctx->mem == mem->data && addr - (uintptr_t)mem->data < MEM_RESERVE;
}

/* The previous disposition of sig, as the kernel would have applied it. */
static void chain(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *prev = sig == SIGBUS ? &prev_bus : &prev_segv;
    if (prev->sa_flags & SA_SIGINFO) {
        prev->sa_sigaction(sig, si, uc);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        /* The default action: returning re-runs the faulting instruction,
         * which now kills the process with sig (an ignored fault would
         * only repeat forever). */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
    }
}

/* The index of the function of m whose code holds pc (in m->jit_code):
 * the one with the highest entry at or below it. O(functions), on a trap. */
static uint32_t func_at(const weft_module_t *m, uintptr_t pc)
{
    uintptr_t best = 0;
    uint32_t index = 0;
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) {
        uintptr_t e = (uintptr_t)atomic_load_explicit(&m->funcs[i].jit, memory_order_relaxed);
        if (e >= (uintptr_t)m->jit_code && e <= pc && e > best) best = e, index = m->nfunc_imports + i;
    }
    return index;
}

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    const jit_ctx_t *ctx = jit_running;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (ctx && is_guest_oob(ctx, pc, (uintptr_t)si->si_addr)) {
        const weft_module_t *m = ctx->inst->module;
        uc->uc_mcontext.gregs[REG_RDX] = (greg_t)func_at(m, pc);
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)m->jit_oob;
        return;
    }
    chain(sig, si, uc_);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    installed = sigaction(SIGSEGV, &sa, &prev_segv) == 0;
    if (installed && sigaction(SIGBUS, &sa, &prev_bus) != 0) {
        sigaction(SIGSEGV, &prev_segv, NULL);
        installed = false;
    }
}

bool jit_guard_install(void)
{
    pthread_once(&install_once, install);
    return installed;
}

#else /* no compiled tier: nothing to install */

bool jit_guard_install(void)
{
    return false;
}

#endif
