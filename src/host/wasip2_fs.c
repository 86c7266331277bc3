/*
 * src/host/wasip2_fs.c — wasi:filesystem/{types, preopens} (0.2.x) for
 * components: descriptors, their streams, directory listings, and the
 * preopened directories the embedder gives (weft_wasip2_preopen).
 *
 * Confinement is preview 1's: every path goes through the resolver and the
 * operations of wasi_path.c (openat2 RESOLVE_BENEATH, or the walk), so
 * `..`, absolute paths and symlinks that would leave a preopen fail as
 * they do under preview 1 and touch nothing; their WASI errno becomes the
 * error-code of the same name, an escape (NOTCAPABLE, which preview 2 has
 * no code for) `not-permitted`, as the WASI filesystem spec asks.
 *
 * Permissions are the descriptor-flags: read and write decide the host
 * access mode of an open-at (neither: an O_PATH descriptor, good for stat,
 * times and as a directory); read (listing) and mutate-directory are held
 * by the preopens and inherited by directories opened beneath them; every function that
 * changes a directory, or opens a file for writing, creating or truncating
 * in it, needs it (`not-permitted` without). The kernel decides the rest:
 * reading a write-only file is `bad-descriptor`, a directory `is-directory`.
 *
 * Streams over a file hold their own duplicate of its descriptor and an
 * offset: reads and writes are pread/pwrite there (read and write on a
 * FIFO or device, which have no offset); an append stream writes at the
 * file's end as it is at each write (not atomically against another writer
 * of the same file). Files are always ready for poll. A stream's failure
 * is an error whose filesystem-error-code says which.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_priv.h"
#include "wasip2_priv.h"

#define HOST P2_HOST
#define UNUSED P2_UNUSED

/* wasi:filesystem/types descriptor-type, descriptor-flags, open-flags */
enum {
    DT_P2_UNKNOWN, DT_P2_BLOCK, DT_P2_CHAR, DT_P2_DIR, DT_P2_FIFO, DT_P2_SYMLINK, DT_P2_FILE,
    DT_P2_SOCKET,
};
#define DF_READ 0x1u
#define DF_WRITE 0x2u
#define DF_FILE_SYNC 0x4u
#define DF_DATA_SYNC 0x8u
#define DF_REQ_SYNC 0x10u
#define DF_MUTATE 0x20u
#define OF_CREATE 0x1u
#define OF_DIRECTORY 0x2u
#define OF_EXCLUSIVE 0x4u
#define OF_TRUNCATE 0x8u

/* error-code, by case */
enum {
    FE_ACCESS, FE_WOULD_BLOCK, FE_ALREADY, FE_BAD_DESCRIPTOR, FE_BUSY, FE_DEADLOCK, FE_QUOTA,
    FE_EXIST, FE_FILE_TOO_LARGE, FE_ILLEGAL_BYTE_SEQUENCE, FE_IN_PROGRESS, FE_INTERRUPTED,
    FE_INVALID, FE_IO, FE_IS_DIRECTORY, FE_LOOP, FE_TOO_MANY_LINKS, FE_MESSAGE_SIZE,
    FE_NAME_TOO_LONG, FE_NO_DEVICE, FE_NO_ENTRY, FE_NO_LOCK, FE_INSUFFICIENT_MEMORY,
    FE_INSUFFICIENT_SPACE, FE_NOT_DIRECTORY, FE_NOT_EMPTY, FE_NOT_RECOVERABLE, FE_UNSUPPORTED,
    FE_NO_TTY, FE_NO_SUCH_DEVICE, FE_OVERFLOW, FE_NOT_PERMITTED, FE_PIPE, FE_READ_ONLY,
    FE_INVALID_SEEK, FE_TEXT_FILE_BUSY, FE_CROSS_DEVICE,
};

/* The error-code of a WASI errno (wasi_path.c's results): the case of the
 * same name; NOTCAPABLE (an escape) is not-permitted; what has no case is
 * io. */
static int fs_code(int e)
{
    switch (e) {
    case WASI_EACCES: return FE_ACCESS;
    case WASI_EAGAIN: return FE_WOULD_BLOCK;
    case WASI_EALREADY: return FE_ALREADY;
    case WASI_EBADF: return FE_BAD_DESCRIPTOR;
    case WASI_EBUSY: return FE_BUSY;
    case WASI_EDEADLK: return FE_DEADLOCK;
    case WASI_EDQUOT: return FE_QUOTA;
    case WASI_EEXIST: return FE_EXIST;
    case WASI_EFBIG: return FE_FILE_TOO_LARGE;
    case WASI_EILSEQ: return FE_ILLEGAL_BYTE_SEQUENCE;
    case WASI_EINPROGRESS: return FE_IN_PROGRESS;
    case WASI_EINTR: return FE_INTERRUPTED;
    case WASI_EINVAL: return FE_INVALID;
    case WASI_EISDIR: return FE_IS_DIRECTORY;
    case WASI_ELOOP: return FE_LOOP;
    case WASI_EMLINK: return FE_TOO_MANY_LINKS;
    case WASI_EMSGSIZE: return FE_MESSAGE_SIZE;
    case WASI_ENAMETOOLONG: return FE_NAME_TOO_LONG;
    case WASI_ENODEV: return FE_NO_DEVICE;
    case WASI_ENOENT: return FE_NO_ENTRY;
    case WASI_ENOLCK: return FE_NO_LOCK;
    case WASI_ENOMEM: return FE_INSUFFICIENT_MEMORY;
    case WASI_ENOSPC: return FE_INSUFFICIENT_SPACE;
    case WASI_ENOTDIR: return FE_NOT_DIRECTORY;
    case WASI_ENOTEMPTY: return FE_NOT_EMPTY;
    case WASI_ENOTRECOVERABLE: return FE_NOT_RECOVERABLE;
    case WASI_ENOTSUP: case WASI_ENOSYS: return FE_UNSUPPORTED;
    case WASI_ENOTTY: return FE_NO_TTY;
    case WASI_ENXIO: return FE_NO_SUCH_DEVICE;
    case WASI_EOVERFLOW: return FE_OVERFLOW;
    case WASI_EPERM: case WASI_ENOTCAPABLE: return FE_NOT_PERMITTED;
    case WASI_EPIPE: return FE_PIPE;
    case WASI_EROFS: return FE_READ_ONLY;
    case WASI_ESPIPE: return FE_INVALID_SEEK;
    case WASI_ETXTBSY: return FE_TEXT_FILE_BUSY;
    case WASI_EXDEV: return FE_CROSS_DEVICE;
    default: return FE_IO;
    }
}

/* result<_, error-code> err for WASI errno e (> 0); a negative e is the
 * caller's value ending the call (an interrupt), returned as it is. */
static int fs_err(weft_cval_t *result, int e, char *err, size_t err_size)
{
    if (e < 0)
        return e;
    weft_cval_t c = p2_scalar(WEFT_CT_ENUM, 0);
    c.index = (uint32_t)fs_code(e);
    return p2_case(result, WEFT_CT_RESULT, 1, &c) ? p2_oom(err, err_size) : 0;
}

/* ok(payload) or err for e: the common end of a function. */
static int fs_done(weft_cval_t *result, int e, weft_cval_t *payload, char *err, size_t err_size)
{
    if (e) {
        weft_cval_free(payload);
        return fs_err(result, e, err, err_size);
    }
    return p2_ok(result, payload, err, err_size);
}

static int host_err(void) { return wasi_errno(errno); }

static uint8_t type_of(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return DT_P2_FILE;
    case S_IFDIR: return DT_P2_DIR;
    case S_IFCHR: return DT_P2_CHAR;
    case S_IFBLK: return DT_P2_BLOCK;
    case S_IFLNK: return DT_P2_SYMLINK;
    case S_IFIFO: return DT_P2_FIFO;
    case S_IFSOCK: return DT_P2_SOCKET;
    default: return DT_P2_UNKNOWN;
    }
}

/* ---- descriptors ---------------------------------------------------------------- */

typedef struct {
    int fd;
    uint8_t type;  /* descriptor-type */
    uint8_t flags; /* descriptor-flags */
} p2_desc_t;

struct p2_preopen {
    int fd; /* O_RDONLY | O_DIRECTORY: each get-directories hands out a duplicate */
    char *name;
};

static void desc_free(weft_wasip2_t *w, void *obj)
{
    p2_desc_t *d = obj;
    (void)w;
    if (d && d->fd >= 0)
        close(d->fd);
    free(d);
}

static const p2_ops_t desc_ops = {desc_free, NULL, NULL, NULL, NULL};

/* A new descriptor handle over host fd (owned from now on, closed on
 * failure too) as an own value in *out. */
static int new_desc(weft_wasip2_t *w, int fd, uint8_t type, uint8_t flags, weft_cval_t *out,
                    char *err, size_t err_size)
{
    p2_desc_t *d = malloc(sizeof *d);
    if (!d) {
        close(fd);
        return p2_oom(err, err_size);
    }
    *d = (p2_desc_t){fd, type, flags};
    return p2_own(w, P2_DESCRIPTOR, d, &desc_ops, out, err, err_size);
}

static p2_desc_t *desc(weft_wasip2_t *w, const weft_cval_t *v, char *err, size_t err_size)
{
    return p2_need(w, v, P2_DESCRIPTOR, "descriptor", err, err_size);
}

/* DESC_HOST(NAME, PARAMS): a HOST function whose first argument is a
 * descriptor; its body has it as `d` (an unknown one fails the call first)
 * and `user`, `args`, `result`, `err`, `err_size` as in HOST. */
#define DESC_HOST(name, params)                                                                \
    static int name##_desc(weft_wasip2_t *user, p2_desc_t *d, const weft_cval_t *args,         \
                           weft_cval_t *result, char *err, size_t err_size);                   \
    HOST(name, params)                                                                         \
    {                                                                                          \
        UNUSED;                                                                                \
        p2_desc_t *d = desc(user, &args[0], err, err_size);                                    \
        return d ? name##_desc(user, d, args, result, err, err_size) : -1;                     \
    }                                                                                          \
    static int name##_desc(weft_wasip2_t *user, p2_desc_t *d, const weft_cval_t *args,         \
                           weft_cval_t *result, char *err, size_t err_size)

/* The directory a *-at function works in: NOTDIR unless d is one, PERM
 * when the function changes it (mutate) and d may not. */
static int at_dir(const p2_desc_t *d, int mutate)
{
    if (d->type != DT_P2_DIR)
        return WASI_ENOTDIR;
    return mutate && !(d->flags & DF_MUTATE) ? WASI_EPERM : WASI_ESUCCESS;
}

/* A path argument, checked as preview 1 checks guest paths, copied into
 * buf (WASI_MAX_PATH + 1 bytes). */
static int arg_path(const weft_cval_t *v, char *buf)
{
    int rc = wasi_path_check(v->str, v->len);
    if (!rc)
        memcpy(buf, v->str, v->len + 1);
    return rc;
}

/* ---- streams over files ------------------------------------------------------------ */

typedef struct {
    int fd;       /* a duplicate of the descriptor's */
    int seekable; /* a regular file or block device: pread/pwrite at off */
    int append;
    uint64_t off;
} p2_fstream_t;

static void fstream_free(weft_wasip2_t *w, void *obj)
{
    p2_fstream_t *s = obj;
    (void)w;
    if (s)
        close(s->fd);
    free(s);
}

/* A stream's failure: the error's filesystem-error-code (w->fail_fs) and
 * message. */
static int fstream_fail(weft_wasip2_t *w, int host_errno, char *why, size_t why_size)
{
    w->fail_fs = fs_code(wasi_errno(host_errno));
    snprintf(why, why_size, "%s", strerror(host_errno));
    return P2_FAILED;
}

static int fstream_read(weft_wasip2_t *w, void *obj, weft_caller_t *caller, uint64_t max,
                        int blocking, weft_cval_t *bytes, char *why, size_t why_size)
{
    p2_fstream_t *s = obj;
    size_t want = max > (1u << 20) ? (1u << 20) : (size_t)max;
    (void)blocking;
    if (p2_bytes(bytes, WEFT_CT_LIST, "", 0) != 0 || !(bytes->str = realloc(bytes->str, want + 1)))
        return -1;
    if (s->seekable && s->off > INT64_MAX)
        return P2_CLOSED;
    ssize_t k;
    for (;;) {
        k = s->seekable ? pread(s->fd, bytes->str, want, (off_t)s->off)
                        : read(s->fd, bytes->str, want);
        if (k >= 0 || errno != EINTR)
            break;
        int rc = caller ? weft_caller_check_interrupt(caller) : 0;
        if (rc)
            return rc;
    }
    if (k < 0)
        return fstream_fail(w, errno, why, why_size);
    if (k == 0 && want)
        return P2_CLOSED;
    bytes->len = (size_t)k;
    s->off += (uint64_t)k;
    return P2_OK;
}

static int fstream_check_write(weft_wasip2_t *w, void *obj, uint64_t *out, char *why,
                               size_t why_size)
{
    (void)w, (void)obj, (void)why, (void)why_size;
    *out = 1u << 20;
    return P2_OK;
}

static int fstream_write(weft_wasip2_t *w, void *obj, weft_caller_t *caller, const uint8_t *p,
                         size_t n, int blocking, char *why, size_t why_size)
{
    p2_fstream_t *s = obj;
    struct stat st;
    (void)blocking;
    if (s->append) {
        if (fstat(s->fd, &st) != 0)
            return fstream_fail(w, errno, why, why_size);
        s->off = (uint64_t)st.st_size;
    }
    while (n) {
        struct iovec iov = {(void *)p, n};
        int e = 0;
        ssize_t k;
        if (s->seekable) {
            k = s->off > INT64_MAX ? (errno = EFBIG, -1) : pwrite(s->fd, p, n, (off_t)s->off);
            e = k < 0 ? errno : 0;
        } else {
            k = wasi_write_nosigpipe(s->fd, &iov, 1, 0, 0, &e);
        }
        if (k < 0 && e == EINTR) {
            int rc = caller ? weft_caller_check_interrupt(caller) : 0;
            if (rc)
                return rc;
            continue;
        }
        if (k < 0)
            return fstream_fail(w, e, why, why_size);
        p += k;
        n -= (size_t)k;
        s->off += (uint64_t)k;
    }
    return P2_OK;
}

static const p2_ops_t fstream_ops = {fstream_free, NULL, fstream_read, fstream_check_write,
                                     fstream_write};

/* read-via-stream, write-via-stream, append-via-stream */
static int open_stream(weft_wasip2_t *w, const weft_cval_t *args, p2_kind_t kind, int append,
                       weft_cval_t *result, char *err, size_t err_size)
{
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    if (d->type == DT_P2_DIR)
        return fs_err(result, WASI_EISDIR, err, err_size);
    if (!(d->flags & (kind == P2_INPUT ? DF_READ : DF_WRITE)))
        return fs_err(result, WASI_EBADF, err, err_size);
    p2_fstream_t *s = calloc(1, sizeof *s);
    if (!s)
        return p2_oom(err, err_size);
    if ((s->fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        free(s);
        return fs_err(result, host_err(), err, err_size);
    }
    s->seekable = d->type == DT_P2_FILE || d->type == DT_P2_BLOCK;
    s->append = append;
    s->off = append ? 0 : args[1].of.u;
    uint32_t h;
    if (p2_stream(w, kind, s, &fstream_ops, &h) != 0) {
        snprintf(err, err_size, "too many live resources (at most %u, or out of memory)",
                 P2_MAX_LIVE);
        return -1;
    }
    weft_cval_t v = p2_scalar(WEFT_CT_OWN, h);
    return p2_ok(result, &v, err, err_size);
}

HOST(read_via_stream, "bn") { UNUSED; return open_stream(user, args, P2_INPUT, 0, result, err, err_size); }
HOST(write_via_stream, "bn") { UNUSED; return open_stream(user, args, P2_OUTPUT, 0, result, err, err_size); }
HOST(append_via_stream, "b") { UNUSED; return open_stream(user, args, P2_OUTPUT, 1, result, err, err_size); }

/* ---- descriptor methods ------------------------------------------------------------ */

DESC_HOST(advise, "bnnn")
{
    static const int advice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                 POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
    uint64_t off = args[1].of.u, len = args[2].of.u;
    int e = WASI_EINVAL;
    if (off <= INT64_MAX && len <= INT64_MAX && args[3].index < 6) {
        int r = posix_fadvise(d->fd, (off_t)off, (off_t)len, advice[args[3].index]);
        e = r ? wasi_errno(r) : 0;
    }
    return fs_done(result, e, NULL, err, err_size);
}

static int sync_desc(weft_wasip2_t *w, const weft_cval_t *args, int data, weft_cval_t *result,
                     char *err, size_t err_size)
{
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    int r = data ? fdatasync(d->fd) : fsync(d->fd);
    return fs_done(result, r ? host_err() : 0, NULL, err, err_size);
}

HOST(sync_data, "b") { UNUSED; return sync_desc(user, args, 1, result, err, err_size); }
HOST(sync_all, "b") { UNUSED; return sync_desc(user, args, 0, result, err, err_size); }

DESC_HOST(get_flags, "b")
{
    weft_cval_t v = p2_scalar(WEFT_CT_FLAGS, d->flags);
    return p2_ok(result, &v, err, err_size);
}

DESC_HOST(get_type, "b")
{
    weft_cval_t v = p2_scalar(WEFT_CT_ENUM, 0);
    v.index = d->type;
    return p2_ok(result, &v, err, err_size);
}

DESC_HOST(set_size, "bn")
{
    int e = args[1].of.u > INT64_MAX ? WASI_EINVAL
            : d->type == DT_P2_DIR  ? WASI_EISDIR
            : ftruncate(d->fd, (off_t)args[1].of.u) ? host_err()
                                                     : 0;
    return fs_done(result, e, NULL, err, err_size);
}

/* A new-timestamp into a utimensat() time: INVAL for nanoseconds past a
 * second. */
static int new_time(const weft_cval_t *v, struct timespec *ts)
{
    ts->tv_sec = 0;
    ts->tv_nsec = v->index == 0 ? UTIME_OMIT : UTIME_NOW;
    if (v->index != 2)
        return 0;
    uint64_t s = v->items[0].items[0].of.u, ns = v->items[0].items[1].of.u;
    if (ns >= 1000000000u || s > INT64_MAX)
        return WASI_EINVAL;
    ts->tv_sec = (time_t)s;
    ts->tv_nsec = (long)ns;
    return 0;
}

#define NEW_TS "<--{nn}>"

DESC_HOST(set_times, "b" NEW_TS NEW_TS)
{
    struct timespec ts[2];
    int e = new_time(&args[1], &ts[0]);
    if (!e)
        e = new_time(&args[2], &ts[1]);
    /* AT_EMPTY_PATH works on any descriptor, O_PATH ones too */
    if (!e && utimensat(d->fd, "", ts, AT_EMPTY_PATH) != 0)
        e = errno == EINVAL && futimens(d->fd, ts) == 0 ? 0 : host_err();
    return fs_done(result, e, NULL, err, err_size);
}

/* read(length, offset) -> tuple<list<u8>, bool>: at most 1 MiB a call; the
 * bool says the end of the file was reached. */
DESC_HOST(read_at, "bnn")
{
    uint64_t len = args[1].of.u, off = args[2].of.u;
    size_t want = len > (1u << 20) ? (1u << 20) : (size_t)len;
    weft_cval_t t;
    if (p2_items(&t, WEFT_CT_TUPLE, 2) != 0 ||
        p2_bytes(&t.items[0], WEFT_CT_LIST, "", 0) != 0 ||
        !(t.items[0].str = realloc(t.items[0].str, want + 1))) {
        weft_cval_free(&t);
        return p2_oom(err, err_size);
    }
    int e = 0;
    ssize_t k = -1;
    if (off > INT64_MAX)
        e = WASI_EINVAL;
    else if (!(d->flags & DF_READ))
        e = d->type == DT_P2_DIR ? WASI_EISDIR : WASI_EBADF;
    else if ((k = pread(d->fd, t.items[0].str, want, (off_t)off)) < 0)
        e = host_err();
    if (!e) {
        t.items[0].len = (size_t)k;
        t.items[1] = p2_scalar(WEFT_CT_BOOL, (size_t)k < want || want == 0);
    }
    return fs_done(result, e, &t, err, err_size);
}

/* write(buffer, offset) -> filesize */
DESC_HOST(write_at, "byn")
{
    uint64_t off = args[2].of.u;
    int e = 0;
    ssize_t k = 0;
    if (off > INT64_MAX)
        e = WASI_EINVAL;
    else if (!(d->flags & DF_WRITE))
        e = d->type == DT_P2_DIR ? WASI_EISDIR : WASI_EBADF;
    else
        while ((k = pwrite(d->fd, args[1].str, args[1].len, (off_t)off)) < 0 && errno == EINTR) {
        }
    if (!e && k < 0)
        e = host_err();
    weft_cval_t n = p2_scalar(WEFT_CT_U64, k < 0 ? 0 : (uint64_t)k);
    return fs_done(result, e, &n, err, err_size);
}

static weft_cval_t datetime(const struct timespec *ts)
{
    weft_cval_t v = {0};
    if (p2_items(&v, WEFT_CT_RECORD, 2) == 0) {
        v.items[0] = p2_scalar(WEFT_CT_U64, ts->tv_sec < 0 ? 0 : (uint64_t)ts->tv_sec);
        v.items[1] = p2_scalar(WEFT_CT_U32, (uint64_t)ts->tv_nsec);
    }
    return v;
}

/* A descriptor-stat of st into *out. */
static int stat_value(const struct stat *st, weft_cval_t *out)
{
    if (p2_items(out, WEFT_CT_RECORD, 6) != 0)
        return -1;
    out->items[0] = p2_scalar(WEFT_CT_ENUM, 0);
    out->items[0].index = type_of(st->st_mode);
    out->items[1] = p2_scalar(WEFT_CT_U64, (uint64_t)st->st_nlink);
    out->items[2] = p2_scalar(WEFT_CT_U64, st->st_size < 0 ? 0 : (uint64_t)st->st_size);
    const struct timespec *t[3] = {&st->st_atim, &st->st_mtim, &st->st_ctim};
    for (int i = 0; i < 3; i++) {
        weft_cval_t dt = datetime(t[i]);
        if (!dt.items || p2_case(&out->items[3 + i], WEFT_CT_OPTION, 1, &dt) != 0) {
            weft_cval_free(&dt);
            return -1;
        }
    }
    return 0;
}

static int stat_result(const struct stat *st, int e, weft_cval_t *result, char *err,
                       size_t err_size)
{
    weft_cval_t v = {0};
    if (!e && stat_value(st, &v) != 0) {
        weft_cval_free(&v);
        return p2_oom(err, err_size);
    }
    return fs_done(result, e, e ? NULL : &v, err, err_size);
}

/* The stat of descriptor args[0] (at = 0) or of path args[2] beneath it
 * with path-flags args[1] (at = 1): -1 (a bad handle, err written), or 0
 * with the WASI errno in *e. */
static int stat_of(weft_wasip2_t *w, const weft_cval_t *args, int at, struct stat *st, int *e,
                   char *err, size_t err_size)
{
    char path[WASI_MAX_PATH + 1];
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    if (!at) {
        *e = fstat(d->fd, st) ? host_err() : 0;
        return 0;
    }
    *e = at_dir(d, 0);
    if (!*e)
        *e = arg_path(&args[2], path);
    if (!*e)
        *e = wasi_op_stat(&w->walk, d->fd, (int)(args[1].of.u & 1), path, st);
    return 0;
}

/* metadata-hash-value {lower, upper}: the inode and the device, which name
 * the object exactly (the same values iff is-same-object). */
static int hash_result(const struct stat *st, int e, weft_cval_t *result, char *err,
                       size_t err_size)
{
    weft_cval_t v = {0};
    if (!e) {
        if (p2_items(&v, WEFT_CT_RECORD, 2) != 0)
            return p2_oom(err, err_size);
        v.items[0] = p2_scalar(WEFT_CT_U64, (uint64_t)st->st_ino);
        v.items[1] = p2_scalar(WEFT_CT_U64, (uint64_t)st->st_dev);
    }
    return fs_done(result, e, e ? NULL : &v, err, err_size);
}

/* stat, stat-at, metadata-hash, metadata-hash-at: stat_of, made a value
 * by make (stat_result, hash_result). */
static int stat_host(weft_wasip2_t *w, const weft_cval_t *args, int at,
                     int (*make)(const struct stat *, int, weft_cval_t *, char *, size_t),
                     weft_cval_t *result, char *err, size_t err_size)
{
    struct stat st;
    int e;
    if (stat_of(w, args, at, &st, &e, err, err_size))
        return -1;
    return make(&st, e, result, err, err_size);
}

HOST(stat_desc, "b") { UNUSED; return stat_host(user, args, 0, stat_result, result, err, err_size); }
HOST(stat_at, "bns") { UNUSED; return stat_host(user, args, 1, stat_result, result, err, err_size); }
HOST(metadata_hash, "b") { UNUSED; return stat_host(user, args, 0, hash_result, result, err, err_size); }
HOST(metadata_hash_at, "bns") { UNUSED; return stat_host(user, args, 1, hash_result, result, err, err_size); }

HOST(set_times_at, "bns" NEW_TS NEW_TS)
{
    weft_wasip2_t *w = user;
    char path[WASI_MAX_PATH + 1];
    struct timespec ts[2];
    UNUSED;
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    int e = at_dir(d, 0);
    if (!e)
        e = arg_path(&args[2], path);
    if (!e)
        e = new_time(&args[3], &ts[0]);
    if (!e)
        e = new_time(&args[4], &ts[1]);
    if (!e)
        e = wasi_op_set_times(&w->walk, d->fd, (int)(args[1].of.u & 1), path, ts);
    return fs_done(result, e, NULL, err, err_size);
}

/* The one-path functions that change a directory. */
typedef int (*path_op_fn)(int *walk, int dirfd, char *path);

static int path_op(weft_wasip2_t *w, const weft_cval_t *args, path_op_fn op, weft_cval_t *result,
                   char *err, size_t err_size)
{
    char path[WASI_MAX_PATH + 1];
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    int e = at_dir(d, 1);
    if (!e)
        e = arg_path(&args[1], path);
    if (!e)
        e = op(&w->walk, d->fd, path);
    return fs_done(result, e, NULL, err, err_size);
}

HOST(create_directory_at, "bs") { UNUSED; return path_op(user, args, wasi_op_mkdir, result, err, err_size); }
HOST(remove_directory_at, "bs") { UNUSED; return path_op(user, args, wasi_op_rmdir, result, err, err_size); }
HOST(unlink_file_at, "bs") { UNUSED; return path_op(user, args, wasi_op_unlink, result, err, err_size); }

/* Two directories, two paths: link-at(old-path-flags, old-path, new-dir,
 * new-path) and rename-at(old-path, new-dir, new-path). */
static int two_op(weft_wasip2_t *w, const weft_cval_t *args, int link, weft_cval_t *result,
                  char *err, size_t err_size)
{
    char from[WASI_MAX_PATH + 1], to[WASI_MAX_PATH + 1];
    const weft_cval_t *a = link ? args + 1 : args; /* a[1] old path, a[2] new dir, a[3] new */
    p2_desc_t *od = desc(w, &args[0], err, err_size), *nd = od ? desc(w, &a[2], err, err_size)
                                                                : NULL;
    if (!nd)
        return -1;
    int e = at_dir(od, !link);
    if (!e)
        e = at_dir(nd, 1);
    if (!e)
        e = arg_path(&a[1], from);
    if (!e)
        e = arg_path(&a[3], to);
    if (!e)
        e = link ? wasi_op_link(&w->walk, od->fd, (int)(args[1].of.u & 1), from, nd->fd, to)
                 : wasi_op_rename(&w->walk, od->fd, from, nd->fd, to);
    return fs_done(result, e, NULL, err, err_size);
}

HOST(link_at, "bnsbs") { UNUSED; return two_op(user, args, 1, result, err, err_size); }
HOST(rename_at, "bsbs") { UNUSED; return two_op(user, args, 0, result, err, err_size); }

HOST(symlink_at, "bss")
{
    weft_wasip2_t *w = user;
    char target[WASI_MAX_PATH + 1], path[WASI_MAX_PATH + 1];
    UNUSED;
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    int e = at_dir(d, 1);
    if (!e)
        e = arg_path(&args[1], target);
    if (!e)
        e = arg_path(&args[2], path);
    if (!e)
        e = wasi_op_symlink(&w->walk, d->fd, target, path);
    return fs_done(result, e, NULL, err, err_size);
}

HOST(readlink_at, "bs")
{
    weft_wasip2_t *w = user;
    char path[WASI_MAX_PATH + 1], content[WASI_MAX_PATH];
    size_t n = 0;
    UNUSED;
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    int e = at_dir(d, 0);
    if (!e)
        e = arg_path(&args[1], path);
    if (!e)
        e = wasi_op_readlink(&w->walk, d->fd, path, content, &n);
    if (!e && !weft_cval_utf8_ok(content, n))
        e = WASI_EILSEQ;
    weft_cval_t s = {0};
    if (!e && p2_bytes(&s, WEFT_CT_STRING, content, n) != 0)
        return p2_oom(err, err_size);
    return fs_done(result, e, e ? NULL : &s, err, err_size);
}

/* open-at(path-flags, path, open-flags, descriptor-flags). The access
 * mode follows read and write as path_open's follows rights; a directory
 * may be listed and changed as the one it was opened from (read and
 * mutate-directory are inherited, as wasmtime's directories inherit their
 * permissions). */
HOST(open_at, "bnsnn")
{
    weft_wasip2_t *w = user;
    char path[WASI_MAX_PATH + 1];
    struct stat st;
    UNUSED;
    p2_desc_t *d = desc(w, &args[0], err, err_size);
    if (!d)
        return -1;
    const unsigned oflags = (unsigned)args[3].of.u, dflags = (unsigned)args[4].of.u;
    const int rd = (dflags & DF_READ) != 0, wr = (dflags & DF_WRITE) != 0;
    int e = at_dir(d, wr || (oflags & (OF_CREATE | OF_TRUNCATE)) || (dflags & DF_MUTATE));
    if (!e)
        e = arg_path(&args[2], path);
    if (e)
        return fs_err(result, e, err, err_size);
    int flags = wasi_open_mode(rd, wr, (oflags & (OF_CREATE | OF_TRUNCATE | OF_DIRECTORY)) != 0);
    if (oflags & OF_DIRECTORY) flags |= O_DIRECTORY;
    if (oflags & OF_CREATE) flags |= O_CREAT;
    if (oflags & OF_EXCLUSIVE) flags |= O_EXCL;
    if (oflags & OF_TRUNCATE) flags |= O_TRUNC;
    if (!(args[1].of.u & 1)) flags |= O_NOFOLLOW;
    if (!(flags & O_PATH)) {
        if (dflags & DF_DATA_SYNC) flags |= O_DSYNC;
        if (dflags & (DF_FILE_SYNC | DF_REQ_SYNC)) flags |= O_SYNC;
    }
    int fd = -1;
    if ((e = wasi_op_open(caller, &w->walk, d->fd, path, flags, &fd, &st)))
        return fs_err(result, e, err, err_size);
    uint8_t dtype = type_of(st.st_mode);
    uint8_t keep = (uint8_t)(dflags & ~DF_MUTATE);
    if (dtype == DT_P2_DIR) /* listing and changing it, as its parent */
        keep |= d->flags & (DF_READ | DF_MUTATE);
    weft_cval_t v;
    if (new_desc(w, fd, dtype, keep, &v, err, err_size) != 0)
        return -1;
    return p2_ok(result, &v, err, err_size);
}

HOST(is_same_object, "bb")
{
    struct stat a, b;
    UNUSED;
    p2_desc_t *x = desc(user, &args[0], err, err_size), *y = x ? desc(user, &args[1], err,
                                                                        err_size)
                                                                : NULL;
    if (!y)
        return -1;
    int same = fstat(x->fd, &a) == 0 && fstat(y->fd, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
    *result = p2_scalar(WEFT_CT_BOOL, (uint64_t)same);
    return 0;
}

HOST(desc_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_DESCRIPTOR); return 0; }

/* ---- directory listings ------------------------------------------------------------- */

static void dir_free(weft_wasip2_t *w, void *obj)
{
    (void)w;
    if (obj)
        closedir(obj);
}

static const p2_ops_t dir_ops = {dir_free, NULL, NULL, NULL, NULL};

/* read-directory: a stream of the entries as they are while it is read,
 * without "." and ".." (the spec leaves them out) */
DESC_HOST(read_directory, "b")
{
    if (d->type != DT_P2_DIR)
        return fs_err(result, WASI_ENOTDIR, err, err_size);
    if (!(d->flags & DF_READ))
        return fs_err(result, WASI_EBADF, err, err_size);
    int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        int e = host_err();
        if (fd >= 0)
            close(fd);
        return fs_err(result, e, err, err_size);
    }
    weft_cval_t v;
    if (p2_own(user, P2_DIR_STREAM, dir, &dir_ops, &v, err, err_size) != 0)
        return -1;
    return p2_ok(result, &v, err, err_size);
}

/* Map of WASI filetypes (wasi_dirent_type) to descriptor-types. */
static const uint8_t p1_type[8] = {DT_P2_UNKNOWN, DT_P2_BLOCK, DT_P2_CHAR, DT_P2_DIR,
                                   DT_P2_FILE,    DT_P2_SOCKET, DT_P2_SOCKET, DT_P2_SYMLINK};

/* -> result<option<directory-entry>, error-code>; a name that is not
 * UTF-8 is illegal-byte-sequence (a string cannot carry it). */
HOST(read_directory_entry, "b")
{
    UNUSED;
    DIR *dir = p2_need(user, &args[0], P2_DIR_STREAM, "directory-entry-stream", err, err_size);
    if (!dir)
        return -1;
    struct dirent *ent;
    do {
        errno = 0;
        ent = readdir(dir);
    } while (ent && (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0));
    if (!ent && errno)
        return fs_err(result, host_err(), err, err_size);
    weft_cval_t opt = {0}, rec = {0};
    if (!ent)
        return p2_case(&opt, WEFT_CT_OPTION, 0, NULL) ? p2_oom(err, err_size)
                                                      : p2_ok(result, &opt, err, err_size);
    size_t n = strlen(ent->d_name);
    if (!weft_cval_utf8_ok(ent->d_name, n))
        return fs_err(result, WASI_EILSEQ, err, err_size);
    uint8_t t = wasi_dirent_type(dir, ent);
    if (p2_items(&rec, WEFT_CT_RECORD, 2) != 0)
        return p2_oom(err, err_size);
    rec.items[0] = p2_scalar(WEFT_CT_ENUM, 0);
    rec.items[0].index = t < 8 ? p1_type[t] : DT_P2_UNKNOWN;
    if (p2_bytes(&rec.items[1], WEFT_CT_STRING, ent->d_name, n) != 0 ||
        p2_case(&opt, WEFT_CT_OPTION, 1, &rec) != 0) {
        weft_cval_free(&rec);
        return p2_oom(err, err_size);
    }
    return p2_ok(result, &opt, err, err_size);
}

HOST(dir_stream_drop, NULL)
{
    UNUSED;
    p2_drop(user, (uint32_t)args[0].of.u, P2_DIR_STREAM);
    return 0;
}

/* ---- filesystem-error-code, preopens -------------------------------------------------- */

HOST(filesystem_error_code, "b")
{
    UNUSED;
    int code = p2_error_fs(user, (uint32_t)args[0].of.u);
    if (code < 0)
        return p2_case(result, WEFT_CT_OPTION, 0, NULL) ? p2_oom(err, err_size) : 0;
    weft_cval_t c = p2_scalar(WEFT_CT_ENUM, 0);
    c.index = (uint32_t)code;
    return p2_case(result, WEFT_CT_OPTION, 1, &c) ? p2_oom(err, err_size) : 0;
}

/* get-directories: every preopen, each call with new handles (duplicates
 * of the preopen's descriptor: dropping one closes only it) */
HOST(get_directories, "")
{
    weft_wasip2_t *w = user;
    UNUSED;
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_LIST;
    if (w->npreopens && !(result->items = calloc(w->npreopens, sizeof *result->items)))
        return p2_oom(err, err_size);
    for (size_t i = 0; i < w->npreopens; i++) {
        const struct p2_preopen *p = &w->preopens[i];
        weft_cval_t *t = &result->items[result->n];
        int fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, err_size, "get-directories: %s: %s", p->name, strerror(errno));
            return -1;
        }
        if (p2_items(t, WEFT_CT_TUPLE, 2) != 0) {
            close(fd);
            return p2_oom(err, err_size);
        }
        result->n++;
        if (new_desc(w, fd, DT_P2_DIR, DF_READ | DF_MUTATE, &t->items[0], err, err_size) != 0 ||
            p2_bytes(&t->items[1], WEFT_CT_STRING, p->name, strlen(p->name)) != 0)
            return err[0] ? -1 : p2_oom(err, err_size);
    }
    return 0;
}

int weft_wasip2_preopen(weft_wasip2_t *w, const char *host_path, const char *guest_path,
                        char *msg, size_t msg_size)
{
    const char *name = guest_path ? guest_path : host_path;
    if (!host_path || !weft_cval_utf8_ok(name, strlen(name))) {
        snprintf(msg, msg_size, "a preopen needs a host path and a UTF-8 guest name");
        return WEFT_EARG;
    }
    struct p2_preopen *nv = realloc(w->preopens, (w->npreopens + 1) * sizeof *nv);
    if (!nv)
        goto oom;
    w->preopens = nv;
    int fd = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msg_size, "cannot open preopened directory %s: %s", host_path,
                 strerror(errno));
        return WEFT_EARG;
    }
    char *copy = strdup(name);
    if (!copy) {
        close(fd);
        goto oom;
    }
    if (w->npreopens == 0)
        wasi_path_probe(&w->walk, fd);
    w->preopens[w->npreopens++] = (struct p2_preopen){fd, copy};
    return 0;
oom:
    snprintf(msg, msg_size, "out of memory");
    return WEFT_ENOMEM;
}

void p2_fs_delete(weft_wasip2_t *w)
{
    for (size_t i = 0; i < w->npreopens; i++) {
        close(w->preopens[i].fd);
        free(w->preopens[i].name);
    }
    free(w->preopens);
}

#define FS_T "wasi:filesystem/types@0.2"
#define DESC(m) "[method]descriptor." m
static const p2_def_t fs_funcs[] = {
    {FS_T, DESC("read-via-stream"), read_via_stream},
    {FS_T, DESC("write-via-stream"), write_via_stream},
    {FS_T, DESC("append-via-stream"), append_via_stream},
    {FS_T, DESC("advise"), advise},
    {FS_T, DESC("sync-data"), sync_data},
    {FS_T, DESC("get-flags"), get_flags},
    {FS_T, DESC("get-type"), get_type},
    {FS_T, DESC("set-size"), set_size},
    {FS_T, DESC("set-times"), set_times},
    {FS_T, DESC("read"), read_at},
    {FS_T, DESC("write"), write_at},
    {FS_T, DESC("read-directory"), read_directory},
    {FS_T, DESC("sync"), sync_all},
    {FS_T, DESC("create-directory-at"), create_directory_at},
    {FS_T, DESC("stat"), stat_desc},
    {FS_T, DESC("stat-at"), stat_at},
    {FS_T, DESC("set-times-at"), set_times_at},
    {FS_T, DESC("link-at"), link_at},
    {FS_T, DESC("open-at"), open_at},
    {FS_T, DESC("readlink-at"), readlink_at},
    {FS_T, DESC("remove-directory-at"), remove_directory_at},
    {FS_T, DESC("rename-at"), rename_at},
    {FS_T, DESC("symlink-at"), symlink_at},
    {FS_T, DESC("unlink-file-at"), unlink_file_at},
    {FS_T, DESC("is-same-object"), is_same_object},
    {FS_T, DESC("metadata-hash"), metadata_hash},
    {FS_T, DESC("metadata-hash-at"), metadata_hash_at},
    {FS_T, "[resource-drop]descriptor", desc_drop},
    {FS_T, "[method]directory-entry-stream.read-directory-entry", read_directory_entry},
    {FS_T, "[resource-drop]directory-entry-stream", dir_stream_drop},
    {FS_T, "filesystem-error-code", filesystem_error_code},
    {"wasi:filesystem/preopens@0.2", "get-directories", get_directories},
};

int p2_fs_define(weft_wasip2_t *w, weft_clinker_t *l)
{
    return p2_define(w, l, fs_funcs, sizeof fs_funcs / sizeof fs_funcs[0]);
}
