/*
 * wasi_fd.c — the WASI descriptor table and the fd_* functions.
 *
 * Guest descriptors index w->fds: 0-2 are the embedder's standard streams
 * (never closed on the host: the table does not own them), preopened
 * directories follow from 3, and path_open takes the lowest free number
 * >= 3, so numbering is deterministic. Each slot keeps WASI rights, never
 * more than its type's (a directory has no seek, tell, read or write
 * rights: fd_seek on one is NOTCAPABLE); every
 * function checks the right it needs, and the host kernel decides the rest
 * (reading a directory gives EISDIR, writing a read-only file EBADF).
 *
 * Guest buffers are turned into host iovecs with weft_memory_ptr, all of
 * them checked before the first byte moves, so a bad pointer means FAULT
 * and no I/O at all. Those pointers live only during the call.
 *
 * Fuel (wasi_priv.h): reads and writes charge the iovec array and every
 * buffer at its requested length before the syscall; fd_readdir charges
 * each entry it steps over or writes; fd_allocate the bytes it reserves.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_priv.h"

/* ---- the table --------------------------------------------------------- */

/* Which standard streams (bit i for stream i) slot e holds, wherever
 * fd_renumber put them: none for a descriptor the table opened. */
static unsigned stdio_bits(const weft_wasi_t *w, const wasi_fd_t *e)
{
    unsigned bits = 0;
    if (e->mem) return 1u << (e->mem - w->mem);
    if (!e->owned)
        for (int i = 0; i < 3; i++)
            if (e->host == w->stdio_host[i]) bits |= 1u << i;
    return bits;
}

int wasi_fd_get(weft_wasi_t *w, uint32_t fd, uint64_t rights, wasi_fd_t **out)
{
    if (fd >= w->nfds || w->fds[fd].host == -1) return WASI_EBADF;
    if ((w->fds[fd].rights & rights) != rights) return WASI_ENOTCAPABLE;
    *out = &w->fds[fd];
    w->stdio_used |= stdio_bits(w, *out);
    return WASI_ESUCCESS;
}

int wasi_fd_add(weft_wasi_t *w, int host, uint8_t type, uint64_t rights, uint64_t inheriting,
                uint16_t sync_flags, uint32_t *out)
{
    uint32_t fd = 3;
    while (fd < w->nfds && w->fds[fd].host != -1) fd++;
    if (fd >= w->nfds) {
        if (w->nfds >= WASI_MAX_FDS) {
            close(host);
            return WASI_EMFILE;
        }
        uint32_t n = w->nfds * 2 < WASI_MAX_FDS ? w->nfds * 2 : WASI_MAX_FDS;
        wasi_fd_t *grown = realloc(w->fds, n * sizeof *grown);
        if (!grown) {
            close(host);
            return WASI_ENOMEM;
        }
        memset(grown + w->nfds, 0, (n - w->nfds) * sizeof *grown);
        for (uint32_t i = w->nfds; i < n; i++) grown[i].host = -1;
        w->fds = grown;
        w->nfds = n;
    }
    wasi_fd_t *e = &w->fds[fd];
    memset(e, 0, sizeof *e);
    e->host = host;
    e->owned = 1;
    e->type = type;
    e->rights = rights & wasi_rights_of(type);
    e->inheriting = type == WASI_FILETYPE_DIRECTORY ? inheriting : 0;
    e->sync_flags = sync_flags;
    *out = fd;
    return WASI_ESUCCESS;
}

void wasi_fd_release(wasi_fd_t *e)
{
    if (e->dir) closedir(e->dir);
    if (e->owned && e->host >= 0) close(e->host);
    free(e->preopen);
    memset(e, 0, sizeof *e);
    e->host = -1;
}

/* ---- encodings --------------------------------------------------------- */

uint8_t wasi_filetype(const struct stat *st)
{
    switch (st->st_mode & S_IFMT) {
    case S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
    case S_IFDIR: return WASI_FILETYPE_DIRECTORY;
    case S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
    default: return WASI_FILETYPE_UNKNOWN; /* FIFOs have no WASI type */
    }
}

static uint64_t timespec_ns(struct timespec ts)
{
    if (ts.tv_sec < 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void wasi_filestat_encode(const struct stat *st, uint8_t out[WASI_FILESTAT_SIZE])
{
    memset(out, 0, WASI_FILESTAT_SIZE);
    wasi_put_u64(out + 0, (uint64_t)st->st_dev);
    wasi_put_u64(out + 8, (uint64_t)st->st_ino);
    out[16] = wasi_filetype(st);
    wasi_put_u64(out + 24, (uint64_t)st->st_nlink);
    wasi_put_u64(out + 32, st->st_size < 0 ? 0 : (uint64_t)st->st_size);
    wasi_put_u64(out + 40, timespec_ns(st->st_atim));
    wasi_put_u64(out + 48, timespec_ns(st->st_mtim));
    wasi_put_u64(out + 56, timespec_ns(st->st_ctim));
}

int wasi_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
    if (fst & ~0xfu) return WASI_EINVAL;
    if ((fst & WASI_FST_ATIM) && (fst & WASI_FST_ATIM_NOW)) return WASI_EINVAL;
    if ((fst & WASI_FST_MTIM) && (fst & WASI_FST_MTIM_NOW)) return WASI_EINVAL;
    const uint64_t t[2] = {atim, mtim};
    const uint32_t set[2] = {WASI_FST_ATIM, WASI_FST_MTIM};
    const uint32_t now[2] = {WASI_FST_ATIM_NOW, WASI_FST_MTIM_NOW};
    for (int i = 0; i < 2; i++) {
        if (fst & now[i]) {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = UTIME_NOW;
        } else if (fst & set[i]) {
            ts[i].tv_sec = (time_t)(t[i] / 1000000000u);
            ts[i].tv_nsec = (long)(t[i] % 1000000000u);
        } else {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = UTIME_OMIT;
        }
    }
    return WASI_ESUCCESS;
}

/* Turns `n` guest iovecs at `ptr` into host iovecs (checked, every one),
 * adding their fuel (the array and each buffer) to *units. */
static int load_iovs(weft_memory_t *mem, uint32_t ptr, uint32_t n, struct iovec *iov,
                     uint64_t *units)
{
    if (!mem) return WASI_EFAULT;
    if (n > WASI_MAX_IOVS) return WASI_EINVAL;
    const uint8_t *raw = weft_memory_ptr(mem, ptr, (size_t)n * WASI_IOVEC_SIZE);
    if (!raw) return WASI_EFAULT;
    uint64_t u = WASI_FUEL((uint64_t)n * WASI_IOVEC_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = wasi_get_u32(raw + i * WASI_IOVEC_SIZE);
        uint32_t len = wasi_get_u32(raw + i * WASI_IOVEC_SIZE + 4);
        uint8_t *p = weft_memory_ptr(mem, buf, len);
        if (!p) return WASI_EFAULT;
        iov[i].iov_base = p;
        iov[i].iov_len = len;
        u += WASI_FUEL(len);
    }
    *units += u;
    return WASI_ESUCCESS;
}

/* ---- reading and writing ----------------------------------------------- */

enum { IO_READ, IO_PREAD, IO_WRITE, IO_PWRITE };

/* A write to a pipe or socket whose reader is gone must give the guest
 * EPIPE, not kill the host with SIGPIPE: block the signal in this thread
 * for the write and consume the one it raised, unless one was already
 * pending before (it belongs to someone else then). Three extra syscalls,
 * paid only off regular files. */
ssize_t wasi_write_nosigpipe(int fd, const struct iovec *iov, int n, int positioned,
                               off_t offset, int *out_err)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    const int was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t r = positioned ? pwritev(fd, iov, n, offset) : writev(fd, iov, n);
    *out_err = r < 0 ? errno : 0;
    if (r < 0 && *out_err == EPIPE && !was_pending) {
        const struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}

/* fd_read, fd_pread, fd_write, fd_pwrite: (fd, iovs, iovs_len, [offset,]
 * result). The result pointer is checked first, so that no byte moves
 * when its count could not be reported. Returns an errno, or a trap (< 0)
 * when the fuel for the transfer is not there. */
static int do_io(weft_caller_t *caller, weft_wasi_t *w, int kind, uint32_t fd, uint32_t iovs,
                 uint32_t niovs, uint64_t offset, uint32_t result)
{
    static const uint64_t need[] = {
        WASI_RIGHT_FD_READ, WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK, WASI_RIGHT_FD_WRITE,
        WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_SEEK};
    struct iovec iov[WASI_MAX_IOVS];
    weft_memory_t *mem = wasi_memory(caller);
    wasi_fd_t *e;
    int rc;
    if (!mem || !weft_memory_ptr(mem, result, 4)) return WASI_EFAULT;
    if ((rc = wasi_fd_get(w, fd, 0, &e))) return rc;
    /* what POSIX says of a directory, whatever its rights */
    if (e->type == WASI_FILETYPE_DIRECTORY)
        return kind == IO_READ || kind == IO_PREAD ? WASI_EISDIR : WASI_EBADF;
    if ((e->rights & need[kind]) != need[kind]) return WASI_ENOTCAPABLE;
    uint64_t units = WASI_FUEL_CALL;
    if ((rc = load_iovs(mem, iovs, niovs, iov, &units))) return rc;
    if ((kind == IO_PREAD || kind == IO_PWRITE) && offset > INT64_MAX) return WASI_EINVAL;
    if ((rc = wasi_charge(caller, units))) return rc;
    if (e->budget && (kind == IO_WRITE || kind == IO_PWRITE)) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < niovs; i++) total += iov[i].iov_len;
        if (total > e->budget - e->written)
            return weft_caller_trap(caller, "wasi: the call wrote more than %llu bytes to %s",
                                    (unsigned long long)e->budget,
                                    fd == 1 ? "stdout" : fd == 2 ? "stderr" : "a stream");
    }
    ssize_t n;
    int err;
    if (e->mem) { /* a stream in memory: no system call, nothing blocks */
        size_t moved;
        int write = kind == IO_WRITE || kind == IO_PWRITE;
        if ((rc = wasi_mem_io(e->mem, write, iov, niovs, kind == IO_PREAD || kind == IO_PWRITE,
                              offset, &moved)))
            return rc;
        if (write) e->written += moved;
        return wasi_store_u32(mem, result, (uint32_t)moved);
    }
    /* A read of an idle pipe or a write to a full one blocks: the embedder
     * cuts it short with weft_store_interrupt and then a signal whose
     * handler has no SA_RESTART (weft/wasi.h), so the syscall fails with
     * EINTR and the call traps INTERRUPTED. An EINTR of some other signal
     * is not the guest's business: the transfer is tried again. The flag
     * is read first too, so a Ctrl-C (one signal, no repeat) that came
     * just before is not lost. */
    for (;;) {
        if ((rc = weft_caller_check_interrupt(caller))) return rc;
        err = 0;
        switch (kind) {
        case IO_READ: n = readv(e->host, iov, (int)niovs); break;
        case IO_PREAD: n = preadv(e->host, iov, (int)niovs, (off_t)offset); break;
        default:
            if (e->type == WASI_FILETYPE_REGULAR_FILE)
                n = kind == IO_WRITE ? writev(e->host, iov, (int)niovs)
                                     : pwritev(e->host, iov, (int)niovs, (off_t)offset);
            else
                n = wasi_write_nosigpipe(e->host, iov, (int)niovs, kind == IO_PWRITE, (off_t)offset,
                                    &err);
            break;
        }
        if (n >= 0) break;
        if (!err) err = errno;
        if (err != EINTR) return wasi_errno(err);
    }
    if (kind == IO_WRITE || kind == IO_PWRITE) e->written += (uint64_t)n;
    return wasi_store_u32(mem, result, (uint32_t)n);
}

static int fn_fd_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    RETURN_ERRNO_OR_TRAP(do_io(caller, user, IO_READ, ARG32(0), ARG32(1), ARG32(2), 0, ARG32(3)));
}

static int fn_fd_pread(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    RETURN_ERRNO_OR_TRAP(
        do_io(caller, user, IO_PREAD, ARG32(0), ARG32(1), ARG32(2), ARG64(3), ARG32(4)));
}

static int fn_fd_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    RETURN_ERRNO_OR_TRAP(do_io(caller, user, IO_WRITE, ARG32(0), ARG32(1), ARG32(2), 0, ARG32(3)));
}

static int fn_fd_pwrite(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    RETURN_ERRNO_OR_TRAP(
        do_io(caller, user, IO_PWRITE, ARG32(0), ARG32(1), ARG32(2), ARG64(3), ARG32(4)));
}

static int fn_fd_seek(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_memory_t *mem = wasi_memory(caller);
    int64_t delta = (int64_t)ARG64(1);
    uint32_t whence = ARG32(2), out = ARG32(3);
    wasi_fd_t *e;
    int rc, how;
    if (!mem || !weft_memory_ptr(mem, out, 8)) RETURN_ERRNO(WASI_EFAULT);
    switch (whence) {
    case 0: how = SEEK_SET; break;
    case 1: how = SEEK_CUR; break;
    case 2: how = SEEK_END; break;
    default: RETURN_ERRNO(WASI_EINVAL);
    }
    uint64_t right = (delta == 0 && how == SEEK_CUR) ? WASI_RIGHT_FD_TELL : WASI_RIGHT_FD_SEEK;
    if ((rc = wasi_fd_get(user, ARG32(0), right, &e))) RETURN_ERRNO(rc);
    if (e->mem) {
        uint64_t at;
        if ((rc = wasi_mem_seek(e->mem, delta, (int)whence, &at))) RETURN_ERRNO(rc);
        RETURN_ERRNO(wasi_store_u64(mem, out, at));
    }
    off_t pos = lseek(e->host, (off_t)delta, how);
    if (pos < 0) RETURN_ERRNO(wasi_errno(errno));
    RETURN_ERRNO(wasi_store_u64(mem, out, (uint64_t)pos));
}

static int fn_fd_tell(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_memory_t *mem = wasi_memory(caller);
    wasi_fd_t *e;
    int rc;
    if (!mem || !weft_memory_ptr(mem, ARG32(1), 8)) RETURN_ERRNO(WASI_EFAULT);
    if ((rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_TELL, &e))) RETURN_ERRNO(rc);
    if (e->mem) RETURN_ERRNO(wasi_store_u64(mem, ARG32(1), e->mem->pos));
    off_t pos = lseek(e->host, 0, SEEK_CUR);
    if (pos < 0) RETURN_ERRNO(wasi_errno(errno));
    RETURN_ERRNO(wasi_store_u64(mem, ARG32(1), (uint64_t)pos));
}

/* ---- descriptor state -------------------------------------------------- */

static int fn_fd_close(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), 0, &e);
    if (rc) RETURN_ERRNO(rc);
    wasi_fd_release(e);
    RETURN_ERRNO(WASI_ESUCCESS);
}

/* Moves `from` onto `to`, closing what `to` held. Both must be open, as
 * in other runtimes: a guest cannot grow the table to an arbitrary size. */
static int fn_fd_renumber(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    wasi_fd_t *from, *to;
    int rc;
    if ((rc = wasi_fd_get(w, ARG32(0), 0, &from))) RETURN_ERRNO(rc);
    if ((rc = wasi_fd_get(w, ARG32(1), 0, &to))) RETURN_ERRNO(rc);
    if (from == to) RETURN_ERRNO(WASI_ESUCCESS);
    wasi_fd_release(to);
    *to = *from;
    memset(from, 0, sizeof *from);
    from->host = -1;
    RETURN_ERRNO(WASI_ESUCCESS);
}

static int fn_fd_datasync(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_DATASYNC, &e);
    if (rc) RETURN_ERRNO(rc);
    if (e->mem) RETURN_ERRNO(WASI_ESUCCESS); /* nothing to make durable */
    RETURN_ERRNO(fdatasync(e->host) == 0 ? WASI_ESUCCESS : wasi_errno(errno));
}

static int fn_fd_sync(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_SYNC, &e);
    if (rc) RETURN_ERRNO(rc);
    if (e->mem) RETURN_ERRNO(WASI_ESUCCESS);
    RETURN_ERRNO(fsync(e->host) == 0 ? WASI_ESUCCESS : wasi_errno(errno));
}

static int fn_fd_fdstat_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint8_t b[WASI_FDSTAT_SIZE] = {0};
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), 0, &e);
    if (rc) RETURN_ERRNO(rc);
    int fl = e->mem ? 0 : fcntl(e->host, F_GETFL);
    uint16_t flags = e->sync_flags | (e->mem ? e->mem->flags : 0);
    if (fl >= 0 && (fl & O_APPEND)) flags |= WASI_FDFLAG_APPEND;
    if (fl >= 0 && (fl & O_NONBLOCK)) flags |= WASI_FDFLAG_NONBLOCK;
    b[0] = e->type;
    wasi_put_u16(b + 2, flags);
    wasi_put_u64(b + 8, e->rights);
    wasi_put_u64(b + 16, e->inheriting);
    weft_memory_t *mem = wasi_memory(caller);
    RETURN_ERRNO(mem && weft_memory_write(mem, ARG32(1), b, sizeof b) == 0 ? WASI_ESUCCESS
                                                                          : WASI_EFAULT);
}

/* Linux can change O_APPEND and O_NONBLOCK of an open file, not its sync
 * mode, so asking for another sync mode is NOTSUP rather than a silent
 * no-op. */
static int fn_fd_fdstat_set_flags(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint32_t flags = ARG32(1);
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &e);
    if (rc) RETURN_ERRNO(rc);
    if (flags & ~WASI_FDFLAG_ALL) RETURN_ERRNO(WASI_EINVAL);
    if ((flags & WASI_FDFLAG_SYNCS) != e->sync_flags) RETURN_ERRNO(WASI_ENOTSUP);
    ((weft_wasi_t *)user)->stdio_flagged |= stdio_bits(user, e);
    if (e->mem) {
        e->mem->flags = (uint16_t)(flags & (WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK));
        RETURN_ERRNO(WASI_ESUCCESS);
    }
    int fl = fcntl(e->host, F_GETFL);
    if (fl < 0) RETURN_ERRNO(wasi_errno(errno));
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & WASI_FDFLAG_APPEND) fl |= O_APPEND;
    if (flags & WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    RETURN_ERRNO(fcntl(e->host, F_SETFL, fl) == 0 ? WASI_ESUCCESS : wasi_errno(errno));
}

/* Rights can only shrink. */
static int fn_fd_fdstat_set_rights(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint64_t base = ARG64(1), inheriting = ARG64(2);
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), 0, &e);
    if (rc) RETURN_ERRNO(rc);
    if ((base & ~e->rights) || (inheriting & ~e->inheriting)) RETURN_ERRNO(WASI_ENOTCAPABLE);
    e->rights = base;
    e->inheriting = inheriting;
    RETURN_ERRNO(WASI_ESUCCESS);
}

static int fn_fd_filestat_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint8_t b[WASI_FILESTAT_SIZE];
    struct stat st;
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_FILESTAT_GET, &e);
    if (rc) RETURN_ERRNO(rc);
    if (e->mem) {
        wasi_mem_filestat(e->mem, (int)(e->mem - ((weft_wasi_t *)user)->mem), b);
    } else {
        if (fstat(e->host, &st) != 0) RETURN_ERRNO(wasi_errno(errno));
        wasi_filestat_encode(&st, b);
    }
    weft_memory_t *mem = wasi_memory(caller);
    RETURN_ERRNO(mem && weft_memory_write(mem, ARG32(1), b, sizeof b) == 0 ? WASI_ESUCCESS
                                                                          : WASI_EFAULT);
}

static int fn_fd_filestat_set_size(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_FILESTAT_SET_SIZE, &e);
    if (rc) RETURN_ERRNO(rc);
    if (ARG64(1) > INT64_MAX) RETURN_ERRNO(WASI_EINVAL);
    if (e->mem) RETURN_ERRNO(wasi_mem_resize(e->mem, ARG64(1), 0));
    RETURN_ERRNO(ftruncate(e->host, (off_t)ARG64(1)) == 0 ? WASI_ESUCCESS : wasi_errno(errno));
}

/* utimensat with AT_EMPTY_PATH works on any descriptor, including the
 * O_PATH ones path_open makes for files opened without read or write. */
static int fn_fd_filestat_set_times(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    struct timespec ts[2];
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_FILESTAT_SET_TIMES, &e);
    if (rc) RETURN_ERRNO(rc);
    if ((rc = wasi_times(ARG64(1), ARG64(2), ARG32(3), ts))) RETURN_ERRNO(rc);
    if (e->mem) {
        wasi_mem_set_times(e->mem, ts);
        RETURN_ERRNO(WASI_ESUCCESS);
    }
    if (utimensat(e->host, "", ts, AT_EMPTY_PATH) == 0) RETURN_ERRNO(WASI_ESUCCESS);
    /* kernels before AT_EMPTY_PATH support here: fine for non-O_PATH fds */
    if (errno == EINVAL && futimens(e->host, ts) == 0) RETURN_ERRNO(WASI_ESUCCESS);
    RETURN_ERRNO(wasi_errno(errno));
}

static int fn_fd_advise(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const int advice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                 POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
    uint64_t off = ARG64(1), len = ARG64(2);
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_ADVISE, &e);
    if (rc) RETURN_ERRNO(rc);
    if (ARG32(3) > 5 || off > INT64_MAX || len > INT64_MAX) RETURN_ERRNO(WASI_EINVAL);
    if (e->mem) RETURN_ERRNO(WASI_ESUCCESS); /* advice only */
    rc = posix_fadvise(e->host, (off_t)off, (off_t)len, advice[ARG32(3)]);
    RETURN_ERRNO(rc == 0 ? WASI_ESUCCESS : wasi_errno(rc));
}

static int fn_fd_allocate(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint64_t off = ARG64(1), len = ARG64(2);
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), WASI_RIGHT_FD_ALLOCATE, &e);
    if (rc) RETURN_ERRNO(rc);
    if (off > INT64_MAX || len > INT64_MAX || off + len > INT64_MAX) RETURN_ERRNO(WASI_EFBIG);
    /* by the bytes asked for: where the file system cannot reserve space
     * cheaply (tmpfs, or glibc's fallback writing every block) the work
     * grows with them */
    if ((rc = wasi_charge(caller, WASI_FUEL_CALL + WASI_FUEL(len)))) return rc;
    if (e->mem) RETURN_ERRNO(wasi_mem_resize(e->mem, off + len, 1));
    rc = posix_fallocate(e->host, (off_t)off, (off_t)len);
    RETURN_ERRNO(rc == 0 ? WASI_ESUCCESS : wasi_errno(rc));
}

/* ---- preopens ---------------------------------------------------------- */

static int fn_fd_prestat_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint8_t b[WASI_PRESTAT_SIZE] = {0}; /* tag 0 = dir, then u32 name length at 4 */
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), 0, &e);
    if (rc) RETURN_ERRNO(rc);
    if (!e->preopen) RETURN_ERRNO(WASI_EBADF);
    wasi_put_u32(b + 4, (uint32_t)strlen(e->preopen));
    weft_memory_t *mem = wasi_memory(caller);
    RETURN_ERRNO(mem && weft_memory_write(mem, ARG32(1), b, sizeof b) == 0 ? WASI_ESUCCESS
                                                                          : WASI_EFAULT);
}

/* Writes the name without a NUL; a buffer shorter than the name is
 * NAMETOOLONG (the guest asks for the length with fd_prestat_get). */
static int fn_fd_prestat_dir_name(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), 0, &e);
    if (rc) RETURN_ERRNO(rc);
    if (!e->preopen) RETURN_ERRNO(WASI_EBADF);
    size_t len = strlen(e->preopen);
    weft_memory_t *mem = wasi_memory(caller);
    if (!mem || !weft_memory_ptr(mem, ARG32(1), ARG32(2))) RETURN_ERRNO(WASI_EFAULT);
    if (ARG32(2) < len) RETURN_ERRNO(WASI_ENAMETOOLONG);
    if ((rc = wasi_charge(caller, WASI_FUEL_CALL + WASI_FUEL(len)))) return rc;
    weft_memory_write(mem, ARG32(1), e->preopen, len);
    RETURN_ERRNO(WASI_ESUCCESS);
}

/* ---- directories ------------------------------------------------------- */

uint8_t wasi_dirent_type(DIR *dir, const struct dirent *ent)
{
    struct stat st;
    switch (ent->d_type) {
    case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR: return WASI_FILETYPE_DIRECTORY;
    case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
    case DT_UNKNOWN:
        if (fstatat(dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return wasi_filetype(&st);
        return WASI_FILETYPE_UNKNOWN;
    default: return WASI_FILETYPE_UNKNOWN;
    }
}

/* fd_readdir(fd, buf, buf_len, cookie, bufused). A cookie is the index of
 * an entry in the stream; the slot remembers the stream's position, so
 * reading on from the last cookie costs nothing and going back rewinds
 * (O(entries), only when a guest seeks back). Cookie 0 always rewinds, so
 * a new listing sees the directory as it is now. An entry that does not fit
 * is written truncated to fill the buffer (bufused == buf_len tells the
 * guest to come back) and the stream steps back before it. */
static int fn_fd_readdir(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_memory_t *mem = wasi_memory(caller);
    uint32_t buf_len = ARG32(2), used_ptr = ARG32(4);
    uint64_t cookie = ARG64(3);
    wasi_fd_t *e;
    int rc;
    if (!mem) RETURN_ERRNO(WASI_EFAULT);
    uint8_t *buf = weft_memory_ptr(mem, ARG32(1), buf_len);
    if (!buf || !weft_memory_ptr(mem, used_ptr, 4)) RETURN_ERRNO(WASI_EFAULT);
    if ((rc = wasi_fd_get(user, ARG32(0), 0, &e))) RETURN_ERRNO(rc);
    if (e->type != WASI_FILETYPE_DIRECTORY) RETURN_ERRNO(WASI_ENOTDIR);
    if (!(e->rights & WASI_RIGHT_FD_READDIR)) RETURN_ERRNO(WASI_ENOTCAPABLE);
    if ((rc = wasi_charge(caller, WASI_FUEL_CALL))) return rc;
    if (!e->dir) {
        int d = openat(e->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) RETURN_ERRNO(wasi_errno(errno));
        e->dir = fdopendir(d);
        if (!e->dir) {
            int err = errno;
            close(d);
            RETURN_ERRNO(wasi_errno(err));
        }
        e->dir_pos = 0;
    }
    if (cookie == 0 || cookie < e->dir_pos) {
        rewinddir(e->dir);
        e->dir_pos = 0;
    }
    while (e->dir_pos < cookie) {
        if ((rc = wasi_charge(caller, WASI_FUEL_ENTRY))) return rc;
        errno = 0;
        if (!readdir(e->dir)) {
            if (errno) RETURN_ERRNO(wasi_errno(errno));
            RETURN_ERRNO(wasi_store_u32(mem, used_ptr, 0)); /* cookie past the end */
        }
        e->dir_pos++;
    }

    uint32_t used = 0;
    while (used < buf_len) {
        long before = telldir(e->dir);
        errno = 0;
        struct dirent *ent = readdir(e->dir);
        if (!ent) {
            if (errno) RETURN_ERRNO(wasi_errno(errno));
            break;
        }
        e->dir_pos++;
        uint8_t head[WASI_DIRENT_SIZE] = {0};
        size_t namlen = strlen(ent->d_name);
        wasi_put_u64(head + 0, e->dir_pos);
        wasi_put_u64(head + 8, (uint64_t)ent->d_ino);
        wasi_put_u32(head + 16, (uint32_t)namlen);
        head[20] = wasi_dirent_type(e->dir, ent);
        size_t room = buf_len - used;
        size_t n = room < sizeof head ? room : sizeof head;
        size_t whole = sizeof head + namlen;
        if ((rc = wasi_charge(caller, WASI_FUEL_ENTRY + WASI_FUEL(whole < room ? whole : room))))
            return rc;
        memcpy(buf + used, head, n);
        if (room > sizeof head)
            memcpy(buf + used + n, ent->d_name, room - n < namlen ? room - n : namlen);
        if (sizeof head + namlen > room) {
            seekdir(e->dir, before); /* truncated: deliver it again next time */
            e->dir_pos--;
            used = buf_len;
            break;
        }
        used += (uint32_t)(sizeof head + namlen);
    }
    wasi_store_u32(mem, used_ptr, used);
    RETURN_ERRNO(WASI_ESUCCESS);
}

const wasi_func_t wasi_fd_funcs[] = {
    {"fd_advise", "iIIi", 1, fn_fd_advise},
    {"fd_allocate", "iII", 1, fn_fd_allocate},
    {"fd_close", "i", 1, fn_fd_close},
    {"fd_datasync", "i", 1, fn_fd_datasync},
    {"fd_fdstat_get", "ii", 1, fn_fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii", 1, fn_fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", "iII", 1, fn_fd_fdstat_set_rights},
    {"fd_filestat_get", "ii", 1, fn_fd_filestat_get},
    {"fd_filestat_set_size", "iI", 1, fn_fd_filestat_set_size},
    {"fd_filestat_set_times", "iIIi", 1, fn_fd_filestat_set_times},
    {"fd_pread", "iiiIi", 1, fn_fd_pread},
    {"fd_prestat_get", "ii", 1, fn_fd_prestat_get},
    {"fd_prestat_dir_name", "iii", 1, fn_fd_prestat_dir_name},
    {"fd_pwrite", "iiiIi", 1, fn_fd_pwrite},
    {"fd_read", "iiii", 1, fn_fd_read},
    {"fd_readdir", "iiiIi", 1, fn_fd_readdir},
    {"fd_renumber", "ii", 1, fn_fd_renumber},
    {"fd_seek", "iIii", 1, fn_fd_seek},
    {"fd_sync", "i", 1, fn_fd_sync},
    {"fd_tell", "ii", 1, fn_fd_tell},
    {"fd_write", "iiii", 1, fn_fd_write},
};
const size_t wasi_fd_nfuncs = sizeof wasi_fd_funcs / sizeof wasi_fd_funcs[0];
