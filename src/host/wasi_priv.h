/*
 * wasi_priv.h — what the WASI preview 1 files of host/ share: the context
 * (struct weft_wasi), its descriptor table, the WASI errno list, guest
 * memory helpers and the tables of host functions each file contributes.
 *
 * wasi.c holds the context, args/environ, clocks, random, proc_* and the
 * define table; wasi_fd.c the descriptor table and fd_*; wasi_path.c the
 * sandboxed path resolution and path_*; wasi_poll.c poll_oneoff.
 *
 * Invariants: a slot of the table is free iff host == -1; a guest number
 * maps to at most one slot; every guest pointer is checked against the
 * guest's memory before anything is read, written or done on the host.
 * Every host function returns a WASI errno (uint16 in an i32), never a
 * host errno, and never traps except proc_exit and when fuel runs out
 * (wasi_charge).
 */
#ifndef WEFT_HOST_WASI_PRIV_H
#define WEFT_HOST_WASI_PRIV_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "weft/wasi.h"
#include "weft/weft.h"

/* WASI errnos, numbered as in the preview 1 witx. XX(name, value, host
 * errno that maps to it, or 0 when none does). The host column builds the
 * host → WASI table (wasi_errno); EXDEV from path resolution is mapped to
 * NOTCAPABLE by wasi_path.c itself, since elsewhere it means XDEV. */
#define WASI_ERRNO_MAP(XX)                                                    \
    XX(SUCCESS, 0, 0) XX(2BIG, 1, E2BIG) XX(ACCES, 2, EACCES)                 \
    XX(ADDRINUSE, 3, EADDRINUSE) XX(ADDRNOTAVAIL, 4, EADDRNOTAVAIL)            \
    XX(AFNOSUPPORT, 5, EAFNOSUPPORT) XX(AGAIN, 6, EAGAIN)                     \
    XX(ALREADY, 7, EALREADY) XX(BADF, 8, EBADF) XX(BADMSG, 9, EBADMSG)        \
    XX(BUSY, 10, EBUSY) XX(CANCELED, 11, ECANCELED) XX(CHILD, 12, ECHILD)     \
    XX(CONNABORTED, 13, ECONNABORTED) XX(CONNREFUSED, 14, ECONNREFUSED)       \
    XX(CONNRESET, 15, ECONNRESET) XX(DEADLK, 16, EDEADLK)                     \
    XX(DESTADDRREQ, 17, EDESTADDRREQ) XX(DOM, 18, EDOM) XX(DQUOT, 19, EDQUOT) \
    XX(EXIST, 20, EEXIST) XX(FAULT, 21, EFAULT) XX(FBIG, 22, EFBIG)           \
    XX(HOSTUNREACH, 23, EHOSTUNREACH) XX(IDRM, 24, EIDRM) XX(ILSEQ, 25, EILSEQ) \
    XX(INPROGRESS, 26, EINPROGRESS) XX(INTR, 27, EINTR) XX(INVAL, 28, EINVAL) \
    XX(IO, 29, EIO) XX(ISCONN, 30, EISCONN) XX(ISDIR, 31, EISDIR)             \
    XX(LOOP, 32, ELOOP) XX(MFILE, 33, EMFILE) XX(MLINK, 34, EMLINK)           \
    XX(MSGSIZE, 35, EMSGSIZE) XX(MULTIHOP, 36, EMULTIHOP)                     \
    XX(NAMETOOLONG, 37, ENAMETOOLONG) XX(NETDOWN, 38, ENETDOWN)               \
    XX(NETRESET, 39, ENETRESET) XX(NETUNREACH, 40, ENETUNREACH)               \
    XX(NFILE, 41, ENFILE) XX(NOBUFS, 42, ENOBUFS) XX(NODEV, 43, ENODEV)       \
    XX(NOENT, 44, ENOENT) XX(NOEXEC, 45, ENOEXEC) XX(NOLCK, 46, ENOLCK)       \
    XX(NOLINK, 47, ENOLINK) XX(NOMEM, 48, ENOMEM) XX(NOMSG, 49, ENOMSG)       \
    XX(NOPROTOOPT, 50, ENOPROTOOPT) XX(NOSPC, 51, ENOSPC) XX(NOSYS, 52, ENOSYS) \
    XX(NOTCONN, 53, ENOTCONN) XX(NOTDIR, 54, ENOTDIR)                         \
    XX(NOTEMPTY, 55, ENOTEMPTY) XX(NOTRECOVERABLE, 56, ENOTRECOVERABLE)       \
    XX(NOTSOCK, 57, ENOTSOCK) XX(NOTSUP, 58, ENOTSUP) XX(NOTTY, 59, ENOTTY)   \
    XX(NXIO, 60, ENXIO) XX(OVERFLOW, 61, EOVERFLOW)                           \
    XX(OWNERDEAD, 62, EOWNERDEAD) XX(PERM, 63, EPERM) XX(PIPE, 64, EPIPE)     \
    XX(PROTO, 65, EPROTO) XX(PROTONOSUPPORT, 66, EPROTONOSUPPORT)             \
    XX(PROTOTYPE, 67, EPROTOTYPE) XX(RANGE, 68, ERANGE) XX(ROFS, 69, EROFS)   \
    XX(SPIPE, 70, ESPIPE) XX(SRCH, 71, ESRCH) XX(STALE, 72, ESTALE)           \
    XX(TIMEDOUT, 73, ETIMEDOUT) XX(TXTBSY, 74, ETXTBSY) XX(XDEV, 75, EXDEV)   \
    XX(NOTCAPABLE, 76, 0)

enum {
#define XX(name, value, host) WASI_E##name = (value),
    WASI_ERRNO_MAP(XX)
#undef XX
};

/* File types (filetype, u8). */
enum {
    WASI_FILETYPE_UNKNOWN = 0,
    WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2,
    WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4,
    WASI_FILETYPE_SOCKET_DGRAM = 5,
    WASI_FILETYPE_SOCKET_STREAM = 6,
    WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/* fdflags (u16), oflags (u16), lookupflags (u32), fstflags (u16). */
#define WASI_FDFLAG_APPEND 0x1u
#define WASI_FDFLAG_DSYNC 0x2u
#define WASI_FDFLAG_NONBLOCK 0x4u
#define WASI_FDFLAG_RSYNC 0x8u
#define WASI_FDFLAG_SYNC 0x10u
#define WASI_FDFLAG_ALL 0x1fu
#define WASI_FDFLAG_SYNCS (WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC)

#define WASI_OFLAG_CREAT 0x1u
#define WASI_OFLAG_DIRECTORY 0x2u
#define WASI_OFLAG_EXCL 0x4u
#define WASI_OFLAG_TRUNC 0x8u

#define WASI_LOOKUP_SYMLINK_FOLLOW 0x1u

#define WASI_FST_ATIM 0x1u
#define WASI_FST_ATIM_NOW 0x2u
#define WASI_FST_MTIM 0x4u
#define WASI_FST_MTIM_NOW 0x8u

/* Rights (u64), the bits of the witx `rights` flags. */
#define WASI_RIGHT_FD_DATASYNC (1ull << 0)
#define WASI_RIGHT_FD_READ (1ull << 1)
#define WASI_RIGHT_FD_SEEK (1ull << 2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define WASI_RIGHT_FD_SYNC (1ull << 4)
#define WASI_RIGHT_FD_TELL (1ull << 5)
#define WASI_RIGHT_FD_WRITE (1ull << 6)
#define WASI_RIGHT_FD_ADVISE (1ull << 7)
#define WASI_RIGHT_FD_ALLOCATE (1ull << 8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY (1ull << 9)
#define WASI_RIGHT_PATH_CREATE_FILE (1ull << 10)
#define WASI_RIGHT_PATH_LINK_SOURCE (1ull << 11)
#define WASI_RIGHT_PATH_LINK_TARGET (1ull << 12)
#define WASI_RIGHT_PATH_OPEN (1ull << 13)
#define WASI_RIGHT_FD_READDIR (1ull << 14)
#define WASI_RIGHT_PATH_READLINK (1ull << 15)
#define WASI_RIGHT_PATH_RENAME_SOURCE (1ull << 16)
#define WASI_RIGHT_PATH_RENAME_TARGET (1ull << 17)
#define WASI_RIGHT_PATH_FILESTAT_GET (1ull << 18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define WASI_RIGHT_FD_FILESTAT_GET (1ull << 21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE (1ull << 22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES (1ull << 23)
#define WASI_RIGHT_PATH_SYMLINK (1ull << 24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY (1ull << 25)
#define WASI_RIGHT_PATH_UNLINK_FILE (1ull << 26)
#define WASI_RIGHT_POLL_FD_READWRITE (1ull << 27)
#define WASI_RIGHT_SOCK_SHUTDOWN (1ull << 28)
#define WASI_RIGHT_SOCK_ACCEPT (1ull << 29)
#define WASI_RIGHTS_ALL ((1ull << 30) - 1)
/* A terminal must not claim seek/tell: wasi-libc's isatty() tells a tty
 * by a character device without them. */
#define WASI_RIGHTS_TTY (WASI_RIGHTS_ALL & ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL))

/* The rights that mean something on each kind of descriptor (docs/wasi.md,
 * "Rights"). A descriptor's base rights never leave the set of its type
 * (wasi_rights_of): a directory is never read, written, seeked or polled
 * as a byte stream, a file never names a path. A directory's inheriting
 * rights are what path_open may hand on, directory and file rights alike;
 * a file's are empty. fd_sync stays on directories (a rename or a new name
 * is made durable by syncing its directory); fd_datasync does not, since
 * path_open counts it as a write right, and a directory cannot be opened
 * for writing. */
#define WASI_RIGHTS_DIR                                                                          \
    (WASI_RIGHT_FD_SYNC | WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |       \
     WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET | WASI_RIGHT_PATH_OPEN |          \
     WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_READLINK | WASI_RIGHT_PATH_RENAME_SOURCE |          \
     WASI_RIGHT_PATH_RENAME_TARGET | WASI_RIGHT_PATH_FILESTAT_GET |                              \
     WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                    \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_PATH_SYMLINK |   \
     WASI_RIGHT_PATH_REMOVE_DIRECTORY | WASI_RIGHT_PATH_UNLINK_FILE)
#define WASI_RIGHTS_FILE                                                                         \
    (WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |                          \
     WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_TELL |                  \
     WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE | WASI_RIGHT_FD_ALLOCATE |                       \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_SIZE |                              \
     WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_SOCK (WASI_RIGHTS_FILE | WASI_RIGHT_SOCK_SHUTDOWN | WASI_RIGHT_SOCK_ACCEPT)

/* The rights a descriptor of WASI filetype `type` can hold. */
static inline uint64_t wasi_rights_of(uint8_t type)
{
    switch (type) {
    case WASI_FILETYPE_DIRECTORY: return WASI_RIGHTS_DIR;
    case WASI_FILETYPE_SOCKET_DGRAM:
    case WASI_FILETYPE_SOCKET_STREAM: return WASI_RIGHTS_SOCK;
    default: return WASI_RIGHTS_FILE;
    }
}

/* Guest-visible sizes of the witx structs used here. */
#define WASI_IOVEC_SIZE 8
#define WASI_FDSTAT_SIZE 24
#define WASI_FILESTAT_SIZE 64
#define WASI_PRESTAT_SIZE 8
#define WASI_DIRENT_SIZE 24
#define WASI_SUBSCRIPTION_SIZE 48
#define WASI_EVENT_SIZE 32

/* Implementation limits (guest input never allocates without bound). */
#define WASI_MAX_FDS 65536u      /* entries of the descriptor table */
#define WASI_MAX_PATH 4096u      /* bytes of one guest path */
#define WASI_MAX_IOVS 1024u      /* iovecs of one read or write (IOV_MAX) */
#define WASI_MAX_SUBSCRIPTIONS 4096u

/* A standard stream kept in memory (weft_wasi_config_t.stdio_memory):
 * a regular file of its own for the guest (read, write, seek, stat, poll)
 * without a host descriptor or a system call. stdin's bytes are the
 * embedder's (`ro`, borrowed) and it is read-only, as a file opened
 * O_RDONLY: writing it is BADF. stdout's and stderr's grow in `p` up to
 * `max` bytes. */
typedef struct {
    uint8_t *p;           /* owned (stdout, stderr); NULL until written */
    const uint8_t *ro;    /* stdin's bytes, borrowed; NULL for the others */
    size_t len, cap, max; /* bytes held, allocated, allowed */
    uint64_t pos;         /* the stream's offset (may pass len, as lseek's) */
    uint16_t flags;       /* APPEND, NONBLOCK as fd_fdstat_set_flags set them */
    int read_only;
    uint64_t atim, mtim;  /* as fd_filestat_set_times set them */
} wasi_mem_t;

/* The bound of a memory stream whose embedder gave none. */
#define WASI_MEM_MAX ((size_t)1 << 32)

/* The `host` of a slot holding a memory stream. */
#define WASI_HOST_MEMORY (-2)

/* One slot of the descriptor table. */
typedef struct {
    int host;            /* host descriptor; -1 = free slot; WASI_HOST_MEMORY: `mem` */
    wasi_mem_t *mem;     /* a memory stream (of struct weft_wasi's mem), else NULL */
    int owned;           /* close `host` when the slot is freed (not stdio) */
    uint8_t type;        /* WASI filetype, fixed at open */
    uint16_t sync_flags; /* DSYNC/RSYNC/SYNC as the guest asked (Linux folds RSYNC into SYNC) */
    uint64_t rights, inheriting;
    char *preopen;       /* guest name of a preopened directory, else NULL */
    DIR *dir;            /* fd_readdir stream on a separate open of the directory */
    uint64_t dir_pos;    /* index of the next entry of `dir` (the cookie) */
    uint64_t budget;     /* bytes the guest may write through it; 0: no bound */
    uint64_t written;    /* bytes written so far, counted against budget */
} wasi_fd_t;

struct weft_wasi {
    char **argv, **env;         /* copies, NUL-terminated strings */
    size_t argc, nenv;
    size_t argv_bytes, env_bytes; /* sum of strlen + 1 */
    wasi_fd_t *fds;
    uint32_t nfds;              /* slots in fds (free ones included) */
    int no_openat2;             /* resolve paths by walking: no kernel openat2 */
    int stdio_host[3];          /* the config's standard streams */
    unsigned stdio_used;        /* weft_wasi_stdio_used: set by wasi_fd_get */
    unsigned stdio_flagged;     /* weft_wasi_stdio_flagged: fd_fdstat_set_flags reached them */
    int stdio_memory;           /* the standard streams are mem[] */
    wasi_mem_t mem[3];
};

/* A host function of the table: name, parameter types as a string of 'i'
 * (i32) and 'I' (i64), whether it returns an i32 errno. */
typedef struct {
    const char *name;
    const char *params;
    int has_result;
    weft_host_raw_fn_t fn;
} wasi_func_t;

extern const wasi_func_t wasi_fd_funcs[];
extern const size_t wasi_fd_nfuncs;
extern const wasi_func_t wasi_path_funcs[];
extern const size_t wasi_path_nfuncs;
extern const wasi_func_t wasi_poll_funcs[];
extern const size_t wasi_poll_nfuncs;

/* ---- wasi.c ------------------------------------------------------------ */

/* The WASI errno for a host errno (IO for one WASI has no name for). */
int wasi_errno(int host_errno);
/* The calling instance's memory ("memory", else memory 0), or NULL. */
weft_memory_t *wasi_memory(weft_caller_t *caller);
/* The host clock for a WASI clock id, or -1 when the id is unknown. */
int wasi_clock_host(uint32_t id);
/* Current time of a host clock in ns. */
uint64_t wasi_clock_now(int host_clock);

/* ---- wasi_fd.c --------------------------------------------------------- */

/* Looks up guest fd `fd` and checks it holds every right in `rights`.
 * Returns 0 with the slot in *out, BADF or NOTCAPABLE. */
int wasi_fd_get(weft_wasi_t *w, uint32_t fd, uint64_t rights, wasi_fd_t **out);
/* Puts host descriptor `host` (owned by the table from now on, closed on
 * failure too) in the lowest free slot >= 3, with `rights` cut to those of
 * `type` (wasi_rights_of) and `inheriting` kept only for a directory.
 * Returns 0 with the guest number in *out, or MFILE / NOMEM. */
int wasi_fd_add(weft_wasi_t *w, int host, uint8_t type, uint64_t rights, uint64_t inheriting,
                uint16_t sync_flags, uint32_t *out);
/* Frees a slot (closing what it owns). */
void wasi_fd_release(wasi_fd_t *e);
/* WASI filetype of a stat result. */
uint8_t wasi_filetype(const struct stat *st);
/* Encodes st as a 64-byte filestat. */
void wasi_filestat_encode(const struct stat *st, uint8_t out[WASI_FILESTAT_SIZE]);
/* The WASI filetype of a directory entry of `dir` (fstatat when the file
 * system does not say). */
uint8_t wasi_dirent_type(DIR *dir, const struct dirent *ent);
/* writev (pwritev when positioned) that gives EPIPE instead of SIGPIPE
 * when the reader of a pipe or socket is gone; errno in *out_err. */
ssize_t wasi_write_nosigpipe(int fd, const struct iovec *iov, int n, int positioned,
                             off_t offset, int *out_err);
/* Converts fstflags + times into a utimensat() pair; INVAL on a bad mix. */
int wasi_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);

/* ---- wasi_mem.c -------------------------------------------------------- */

/* The memory stream's side of fd_read / fd_pread (write 0) and fd_write /
 * fd_pwrite (write 1) over checked host iovecs: the bytes moved in *n, or
 * an errno (BADF writing stdin, FBIG past its bound, NOMEM). */
int wasi_mem_io(wasi_mem_t *m, int write, const struct iovec *iov, uint32_t niovs,
                int positioned, uint64_t offset, size_t *n);
/* fd_seek: the new offset in *out, or INVAL. */
int wasi_mem_seek(wasi_mem_t *m, int64_t delta, int whence, uint64_t *out);
/* fd_filestat_set_size and fd_allocate (grows only): an errno. */
int wasi_mem_resize(wasi_mem_t *m, uint64_t size, int grow_only);
/* fd_filestat_get's 64 bytes for stream i. */
void wasi_mem_filestat(const wasi_mem_t *m, int i, uint8_t out[WASI_FILESTAT_SIZE]);
/* fd_filestat_set_times (times as wasi_times gives them). */
void wasi_mem_set_times(wasi_mem_t *m, const struct timespec ts[2]);

/* ---- wasi_path.c ------------------------------------------------------- *
 *
 * Confined path resolution and the operations on paths, shared by preview
 * 1 (path_*) and preview 2 (wasip2_fs.c). `walk` points at the caller's
 * flag "resolve by the fallback walk" (weft_wasi's no_openat2): set by
 * wasi_path_probe or the first ENOSYS, or by the embedder for tests.
 * Paths are NUL-terminated, checked with wasi_path_check first; those
 * passed as `char *` are modified in place. Every function returns a WASI
 * errno (escapes: NOTCAPABLE, touching nothing) unless it says otherwise. */

/* Tries openat2 once on directory `dirfd`; if the kernel (or a seccomp
 * filter) refuses it, paths are resolved by the fallback walk from then
 * on, rather than every open failing. */
void wasi_path_probe(int *walk, int dirfd);
/* NAMETOOLONG, INVAL (a NUL inside), NOENT (empty), NOTCAPABLE (absolute:
 * a sandbox has no root to start from), or SUCCESS for path[0..len). */
int wasi_path_check(const char *path, size_t len);
/* Opens `path` beneath directory `dirfd` with open(2) `flags` (O_CLOEXEC
 * added; `mode` used with O_CREAT), the descriptor in *out. EINTR when a
 * signal cut the open short (of a FIFO, which waits for its other end). */
int wasi_resolve(int *walk, int dirfd, const char *path, int flags, mode_t mode, int *out);
/* The open(2) access mode for read and write access; neither: O_RDONLY
 * when must_open (create, truncate, directory), else O_PATH. */
int wasi_open_mode(int rd, int wr, int must_open);
/* wasi_resolve for path_open / open-at: retried on EINTR, seeing the
 * caller's interrupt (its nonzero, negative, is returned as it is), then
 * fstat into *st; an O_PATH | O_NOFOLLOW open of a symlink is LOOP. */
int wasi_op_open(weft_caller_t *caller, int *walk, int dirfd, const char *path, int flags,
                 int *out, struct stat *st);
int wasi_op_mkdir(int *walk, int dirfd, char *path);
int wasi_op_rmdir(int *walk, int dirfd, char *path);
int wasi_op_unlink(int *walk, int dirfd, char *path);
/* A symlink at `path` holding `target`, refused (NOTCAPABLE) when the
 * target is absolute or climbs above dirfd. */
int wasi_op_symlink(int *walk, int dirfd, const char *target, char *path);
/* The content of symlink `path` (not NUL-terminated) and its length. */
int wasi_op_readlink(int *walk, int dirfd, char *path, char content[WASI_MAX_PATH], size_t *n);
int wasi_op_rename(int *walk, int old_dir, char *old_path, int new_dir, char *new_path);
int wasi_op_link(int *walk, int old_dir, int follow, char *old_path, int new_dir,
                 char *new_path);
int wasi_op_stat(int *walk, int dirfd, int follow, const char *path, struct stat *st);
int wasi_op_set_times(int *walk, int dirfd, int follow, const char *path,
                      const struct timespec ts[2]);

/* ---- little-endian access to encoded guest structs --------------------- */

static inline void wasi_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void wasi_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void wasi_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t wasi_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline uint32_t wasi_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t wasi_get_u64(const uint8_t *p)
{
    return (uint64_t)wasi_get_u32(p) | (uint64_t)wasi_get_u32(p + 4) << 32;
}

/* Writes a u32 / u64 result to guest memory; FAULT when out of bounds. */
static inline int wasi_store_u32(weft_memory_t *mem, uint32_t ptr, uint32_t v)
{
    uint8_t *p = mem ? weft_memory_ptr(mem, ptr, 4) : NULL;
    if (!p) return WASI_EFAULT;
    wasi_put_u32(p, v);
    return WASI_ESUCCESS;
}

static inline int wasi_store_u64(weft_memory_t *mem, uint32_t ptr, uint64_t v)
{
    uint8_t *p = mem ? weft_memory_ptr(mem, ptr, 8) : NULL;
    if (!p) return WASI_EFAULT;
    wasi_put_u64(p, v);
    return WASI_ESUCCESS;
}

/* ---- fuel for host work (docs/nx.md, "Fuel") ----------------------------
 *
 * The nx model (src/host/nx_priv.h), for the functions whose work grows
 * with a guest-chosen size: WASI_FUEL_CALL per call, WASI_FUEL(len) =
 * ceil(len / 16) per variable-length range moved between guest memory and
 * the host (iovec arrays and buffers, paths, random bytes, strings, the
 * bytes fd_allocate reserves) and WASI_FUEL_ENTRY per directory entry
 * fd_readdir steps over or delivers. Requested lengths count, not what the
 * kernel did (a pipe read's count depends on timing). Fixed-size results
 * (a u32, a filestat) are covered by the call; functions of constant work
 * (clocks, fd_seek, fdstat, sched_yield, ...) are charged nothing beyond
 * the instruction that calls them, which keeps them at their old cost when
 * fuel is off. A charged function charges after its own checks (EBADF,
 * EFAULT, ... cost nothing extra) and before the work. */
#define WASI_FUEL_CALL 8u
#define WASI_FUEL_ENTRY 4u
#define WASI_FUEL(len) (((uint64_t)(len) + 15u) / 16u)

/* Charges `units` of fuel. Returns 0, or (negative) the out-of-fuel trap the
 * callback must return instead of an errno (RETURN_ERRNO_OR_TRAP). Free
 * when fuel is off. */
static inline int wasi_charge(weft_caller_t *caller, uint64_t units)
{
    return weft_caller_consume_fuel(caller, units);
}

/* Arguments of a host function: the i32 / i64 parameter `i`, unsigned. */
#define ARG32(i) ((uint32_t)args[i].i32)
#define ARG64(i) ((uint64_t)args[i].i64)
/* Ends a host function with WASI errno `e`. */
#define RETURN_ERRNO(e)                          \
    do {                                         \
        args[0].i32 = (int32_t)(e);              \
        return 0;                                \
    } while (0)
/* The same for a helper that returns a WASI errno (>= 0) or, negative, a
 * trap from wasi_charge that the callback returns as it is. */
#define RETURN_ERRNO_OR_TRAP(e)                  \
    do {                                         \
        int e_ = (e);                            \
        if (e_ < 0) return e_;                   \
        RETURN_ERRNO(e_);                        \
    } while (0)

#endif
