/*
 * weft/wasi.h — WASI preview 1 (`wasi_snapshot_preview1`) for guests.
 *
 * A weft_wasi_t holds one guest's view of the system: its arguments, its
 * environment (only what the embedder passes: no host variable leaks in),
 * its standard streams and its preopened directories, with the table of
 * file descriptors the guest opens under them. A guest can reach files only
 * beneath its preopens: `..`, absolute paths and symlinks that would leave
 * a preopen fail with the proper errno and never touch the host file.
 *
 * Every function checks guest pointers and lengths against the guest's
 * memory; a bad one returns ERRNO_FAULT. proc_exit ends the call with
 * WEFT_TRAP_EXIT (weft_store_exit_status gives the status).
 *
 * Interrupting a blocked call: poll_oneoff waits in slices and sees
 * weft_store_interrupt by itself; a read, write or path_open that blocks in
 * the kernel (an idle pipe, a FIFO with no other end) cannot look. An
 * embedder stops it by calling weft_store_interrupt and then sending the
 * calling thread a signal whose handler was installed without SA_RESTART,
 * again every few milliseconds until the call returns (a signal that lands
 * just before the syscall starts is lost): the syscall fails with EINTR and
 * the call traps WEFT_TRAP_INTERRUPTED. An EINTR with the flag clear is
 * retried, never reported to the guest.
 *
 * Thread safety: one weft_wasi_t serves one store at a time.
 */
#ifndef WEFT_WASI_H
#define WEFT_WASI_H

#include <stddef.h>

#include "instance.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_wasi weft_wasi_t;

typedef struct {
    const char *host_path;  /* directory on the host */
    const char *guest_path; /* name the guest sees (e.g. "." or "/data") */
} weft_wasi_preopen_t;

typedef struct {
    const char *const *argv; /* argv[0] is the program name the guest sees */
    size_t argc;
    const char *const *env;  /* "NAME=VALUE" strings */
    size_t nenv;
    const weft_wasi_preopen_t *preopens;
    size_t npreopens;
    int stdin_fd, stdout_fd, stderr_fd; /* host descriptors; -1 = closed */
    /* Bytes the guest may write to stdout and to stderr (0: no bound). A
     * write that would pass its bound traps the call ("... more than N
     * bytes to stdout"), so an embedder that keeps the streams in memory
     * (a node) bounds that memory while the guest runs, not after. */
    uint64_t stdout_limit, stderr_limit;
    /* Non-zero: the three standard descriptors are open regular files (a
     * node's memory files), so weft_wasi_new need not fstat each to learn
     * its type (three system calls a call). */
    int stdio_regular;
    /* Non-zero: the standard streams are memory the context keeps instead
     * (stdin_fd, stdout_fd, stderr_fd are not used): a node's calls, which
     * then pay no system call for their input and output. Each is a regular
     * file to the guest, with every fd_* function and poll_oneoff as on a
     * file. stdin holds the stdin_len bytes at stdin_data (borrowed: they
     * must outlive the context) and is read-only, as a file opened O_RDONLY
     * (a write is BADF); stdout and stderr start empty and hold at most
     * stdout_limit / stderr_limit bytes (4 GiB with no limit): past it a
     * write traps as above, or is FBIG when a seek beyond the end made
     * the file larger than what was written. weft_wasi_stdio_data and
     * weft_wasi_stdio_take give what they hold. */
    int stdio_memory;
    const void *stdin_data;
    size_t stdin_len;
} weft_wasi_config_t;

/* A config with no arguments, environment or preopens, and the process's
 * own standard streams (0, 1, 2). */
weft_wasi_config_t weft_wasi_config_default(void);

/* Creates a WASI context, copying everything in `cfg` and opening every
 * preopen directory now. On failure returns WEFT_EIO (a preopen cannot be
 * opened: the message names it) or WEFT_ENOMEM, with a NUL-terminated
 * message in out_msg when not NULL. The result is owned by the caller; free
 * it with weft_wasi_delete after the stores that use it. */
int weft_wasi_new(const weft_wasi_config_t *cfg, weft_wasi_t **out, char *out_msg, size_t msg_size);
void weft_wasi_delete(weft_wasi_t *wasi);
/* With stdio_memory: the bytes standard stream i (1 stdout, 2 stderr)
 * holds, and their count in *len; borrowed until the context is deleted
 * or the stream taken. NULL with *len 0 when it is empty (or i is not 1
 * or 2, or the streams are not in memory). */
const uint8_t *weft_wasi_stdio_data(const weft_wasi_t *wasi, int i, size_t *len);
/* The same, handed over: a malloc'ed buffer the caller frees, with room
 * for one byte more than *len (a NUL); the stream is empty after. NULL
 * with *len 0 when it is empty. */
uint8_t *weft_wasi_stdio_take(weft_wasi_t *wasi, int i, size_t *len);
/* Which standard streams the guest reached through any WASI call (by any
 * descriptor number, renumbered ones too): bit 0 stdin, 1 stdout, 2
 * stderr. A stream whose bit is clear was not read, written, seeked or
 * given flags by the guest, so an embedder that reuses its files between
 * calls (a node) need not reset it. */
unsigned weft_wasi_stdio_used(const weft_wasi_t *wasi);
/* Which standard streams the guest asked to change the status flags of
 * (fd_fdstat_set_flags: APPEND, NONBLOCK), by the same bits: only those
 * can have other flags than the embedder gave, so an embedder resetting
 * its files need not reset the flags of the others. */
unsigned weft_wasi_stdio_flagged(const weft_wasi_t *wasi);

/* Defines every wasi_snapshot_preview1 function in `linker`, bound to
 * `wasi`. Returns 0 or WEFT_ENOMEM. */
int weft_wasi_define(weft_wasi_t *wasi, weft_linker_t *linker);
/* The same for only the functions `module` imports from
 * wasi_snapshot_preview1: what instantiating it needs, without creating
 * the other host functions (a call that instantiates once pays for the
 * few it uses, not for all of them). An import WASI has no function of
 * that name for is left undefined, so instantiation reports it as for
 * weft_wasi_define. Returns 0, WEFT_EARG or WEFT_ENOMEM. */
int weft_wasi_define_imports(weft_wasi_t *wasi, weft_linker_t *linker,
                             const weft_module_t *module);

/* The functions weft_wasi_define defines, so an embedder can check a
 * module's imports without a weft_wasi_t (`weft inspect` does): there are
 * weft_wasi_func_count() of them; weft_wasi_func gives the i-th one's name
 * (static storage) and type (a new function type owned by the caller: free
 * it with weft_functype_delete). Returns 0, WEFT_ENOTFOUND for i out of
 * range, or WEFT_ENOMEM. */
size_t weft_wasi_func_count(void);
int weft_wasi_func(size_t i, const char **out_name, weft_functype_t **out_type);

#ifdef __cplusplus
}
#endif
#endif
