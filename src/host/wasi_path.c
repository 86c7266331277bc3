/*
 * wasi_path.c — sandboxed path resolution and the path_* functions.
 *
 * Every guest path is relative to a directory descriptor and may never
 * leave it: not by `..`, not by an absolute path, not through a symlink,
 * wherever in the path the symlink sits. wasi_resolve() opens a path with
 * Linux openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so the kernel
 * enforces this atomically (concurrent renames included); where openat2 is
 * missing (ENOSYS, or WEFT_WASI_FORCE_WALK set for tests) walk() resolves
 * one component at a time with O_NOFOLLOW, expanding symlinks itself and
 * keeping the stack of directories it went through, so `..` pops back to a
 * descriptor it holds rather than asking the kernel for a parent.
 *
 * The operations (wasi_op_*, shared with preview 2's wasip2_fs.c, which
 * maps their WASI errnos to its error codes) acting on a last component
 * (mkdir, unlink, rename, link, symlink, readlink) resolve its parent that way and call the *at()
 * syscall with a single name, which never follows a symlink; a last
 * component of `.` or `..` is checked for containment, then refused with
 * the errno POSIX gives. Escapes are NOTCAPABLE and touch nothing.
 *
 * Fuel (wasi_priv.h): each function charges its paths once they are
 * copied and checked, before resolving them; path_readlink also the bytes
 * it writes back. Resolution itself is bounded (4 KiB paths, 40 symlinks).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif
#ifndef HAVE_OPENAT2_H
struct open_how {
    uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_BENEATH 0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#include "wasi_priv.h"

#define MAX_SYMLINKS 40 /* expansions in one resolution, as Linux's ELOOP limit */

/* ---- resolution -------------------------------------------------------- */

/* Expands the symlink `name` in `dir` in front of `next` (the rest of the
 * path after it). Replaces *rest with the new path, *p at its start. */
static int expand_link(int dir, const char *name, const char *next, char **rest, char **p)
{
    char target[WASI_MAX_PATH + 1];
    ssize_t n = readlinkat(dir, name, target, WASI_MAX_PATH);
    if (n < 0) return wasi_errno(errno);
    if (n >= (ssize_t)WASI_MAX_PATH) return WASI_ENAMETOOLONG;
    if (n == 0) return WASI_ENOENT;
    if (target[0] == '/') return WASI_ENOTCAPABLE; /* absolute: always outside */
    size_t tail = strlen(next);
    if ((size_t)n + tail > 2 * WASI_MAX_PATH) return WASI_ENAMETOOLONG;
    char *s = malloc((size_t)n + tail + 1);
    if (!s) return WASI_ENOMEM;
    memcpy(s, target, (size_t)n);
    memcpy(s + n, next, tail + 1);
    free(*rest);
    *rest = *p = s;
    return WASI_ESUCCESS;
}

static int is_symlink_at(int dir, const char *name)
{
    struct stat st;
    return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* The fallback resolver: `path` beneath `dirfd`, opened with `flags`. */
static int walk(int dirfd, const char *path, int flags, mode_t mode, int *out)
{
    const int follow = !(flags & O_NOFOLLOW);
    int *stack = NULL; /* directories entered below dirfd, innermost last */
    size_t depth = 0, cap = 0;
    int links = 0, fd = -1, rc = WASI_ESUCCESS;
    char *rest = strdup(path), *p = rest;
    if (!rest) return WASI_ENOMEM;

    for (;;) {
        int top = depth ? stack[depth - 1] : dirfd;
        while (*p == '/') p++;
        if (!*p) { /* the path named the directory we stand in */
            fd = openat(top, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC, mode);
            if (fd < 0) rc = wasi_errno(errno);
            break;
        }
        char *next = strchr(p, '/');
        const int last = next == NULL; /* "a/" is not last: it must be a directory */
        if (!next) next = p + strlen(p);
        char comp[NAME_MAX + 1];
        size_t clen = (size_t)(next - p);
        if (clen > NAME_MAX) {
            rc = WASI_ENAMETOOLONG;
            break;
        }
        memcpy(comp, p, clen);
        comp[clen] = '\0';
        if (strcmp(comp, ".") == 0) {
            p = next;
            continue;
        }
        if (strcmp(comp, "..") == 0) {
            if (depth == 0) {
                rc = WASI_ENOTCAPABLE;
                break;
            }
            close(stack[--depth]);
            p = next;
            continue;
        }

        if (last) {
            fd = openat(top, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
            if (fd >= 0) {
                struct stat st;
                /* O_PATH|O_NOFOLLOW opens a symlink itself: follow it by hand */
                if (!follow || !(flags & O_PATH) || fstat(fd, &st) != 0 || !S_ISLNK(st.st_mode))
                    break;
                close(fd);
                fd = -1;
            } else if (!follow || (errno != ELOOP && errno != ENOTDIR) || !is_symlink_at(top, comp)) {
                rc = wasi_errno(errno);
                break;
            }
        } else {
            struct stat st;
            int sub = openat(top, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 || fstat(sub, &st) != 0) {
                rc = wasi_errno(errno);
                if (sub >= 0) close(sub);
                break;
            }
            if (S_ISDIR(st.st_mode)) {
                if (depth == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    int *grown = realloc(stack, ncap * sizeof *grown);
                    if (!grown) {
                        close(sub);
                        rc = WASI_ENOMEM;
                        break;
                    }
                    stack = grown;
                    cap = ncap;
                }
                stack[depth++] = sub;
                p = next;
                continue;
            }
            close(sub);
            if (!S_ISLNK(st.st_mode)) {
                rc = WASI_ENOTDIR;
                break;
            }
        }
        /* comp is a symlink to follow */
        if (++links > MAX_SYMLINKS) {
            rc = WASI_ELOOP;
            break;
        }
        if ((rc = expand_link(top, comp, next, &rest, &p))) break;
    }

    while (depth) close(stack[--depth]);
    free(stack);
    free(rest);
    if (rc == WASI_ESUCCESS) *out = fd;
    return rc;
}

/* Opens `path` beneath directory `dirfd` with open(2) `flags` (O_CLOEXEC
 * added; `mode` used with O_CREAT). Returns a WASI errno, the descriptor
 * in *out on success. WASI_EINTR when a signal cut the open short (of a
 * FIFO, which waits for its other end): path_open decides what next. */
int wasi_resolve(int *no_openat2, int dirfd, const char *path, int flags, mode_t mode, int *out)
{
    if (!*no_openat2) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = (uint64_t)(flags | O_CLOEXEC);
        how.mode = (flags & O_CREAT) ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        /* EAGAIN: a rename raced with the lookup; the kernel asks to retry */
        for (int tries = 0; tries < 16; tries++) {
            long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
            if (fd >= 0) {
                *out = (int)fd;
                return WASI_ESUCCESS;
            }
            if (errno == EAGAIN) continue;
            if (errno == ENOSYS) break;
            return errno == EXDEV ? WASI_ENOTCAPABLE : wasi_errno(errno);
        }
        if (errno != ENOSYS) return WASI_EAGAIN;
        *no_openat2 = 1;
    }
    return walk(dirfd, path, flags, mode, out);
}

void wasi_path_probe(int *no_openat2, int dirfd)
{
    struct open_how how;
    if (*no_openat2) return;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dirfd, ".", &how, sizeof how);
    if (fd >= 0)
        close((int)fd);
    else if (errno == ENOSYS || errno == EPERM)
        *no_openat2 = 1;
}

/* ---- guest paths ------------------------------------------------------- */

int wasi_path_check(const char *path, size_t len)
{
    if (len > WASI_MAX_PATH) return WASI_ENAMETOOLONG;
    if (memchr(path, '\0', len)) return WASI_EINVAL;
    if (len == 0) return WASI_ENOENT;
    if (path[0] == '/') return WASI_ENOTCAPABLE;
    return WASI_ESUCCESS;
}

/* Copies a guest path into buf (WASI_MAX_PATH + 1 bytes) and checks it
 * (wasi_path_check): FAULT when out of bounds. */
static int path_copy(weft_memory_t *mem, uint32_t ptr, uint32_t len, char *buf)
{
    if (!mem) return WASI_EFAULT;
    if (len > WASI_MAX_PATH) return WASI_ENAMETOOLONG;
    if (weft_memory_read(mem, ptr, buf, len) != 0) return WASI_EFAULT;
    buf[len] = '\0';
    return wasi_path_check(buf, len);
}

/* Charges a call that works on paths of len1 and len2 bytes (0: none). */
static int path_charge(weft_caller_t *caller, uint32_t len1, uint32_t len2)
{
    return wasi_charge(caller, WASI_FUEL_CALL + WASI_FUEL(len1) + WASI_FUEL(len2));
}

/* The guest directory `fd`, which must hold `rights`. */
static int dir_get(weft_wasi_t *w, uint32_t fd, uint64_t rights, wasi_fd_t **out)
{
    int rc = wasi_fd_get(w, fd, 0, out);
    if (rc) return rc;
    if ((*out)->type != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
    return ((*out)->rights & rights) == rights ? WASI_ESUCCESS : WASI_ENOTCAPABLE;
}

/* A path split for an *at() call: the directory holding the last
 * component, opened O_PATH beneath the guest directory, and that name. */
typedef struct {
    int dir;
    const char *name;
    int trailing; /* the guest wrote "name/": it must be a directory */
} at_t;

/* Fills `at` for `path` (modified in place). A last component of "." or
 * "..": when the whole path stays inside, returns dot_err or dotdot_err,
 * the errno the operation gives on such a name. */
static int split_at(int *walk, int dirfd, char *path, int dot_err, int dotdot_err, at_t *at)
{
    size_t len = strlen(path);
    at->dir = -1;
    at->trailing = 0;
    while (len > 1 && path[len - 1] == '/') {
        path[--len] = '\0';
        at->trailing = 1;
    }
    char *slash = strrchr(path, '/');
    at->name = slash ? slash + 1 : path;
    if (strcmp(at->name, ".") == 0 || strcmp(at->name, "..") == 0) {
        int fd, rc = wasi_resolve(walk, dirfd, path, O_PATH | O_DIRECTORY, 0, &fd);
        if (rc) return rc;
        close(fd);
        return at->name[1] ? dotdot_err : dot_err;
    }
    if (!slash) return wasi_resolve(walk, dirfd, ".", O_PATH | O_DIRECTORY, 0, &at->dir);
    *slash = '\0';
    int rc = wasi_resolve(walk, dirfd, path, O_PATH | O_DIRECTORY, 0, &at->dir);
    *slash = '/';
    return rc;
}

static void at_close(at_t *at)
{
    if (at->dir >= 0) close(at->dir);
    at->dir = -1;
}

/* For a name written with a trailing slash where a directory cannot be
 * meant (a new link, a file to unlink): what POSIX answers. */
static int trailing_err(const at_t *at, int if_dir)
{
    struct stat st;
    if (fstatat(at->dir, at->name, &st, AT_SYMLINK_NOFOLLOW) != 0) return wasi_errno(errno);
    return S_ISDIR(st.st_mode) ? if_dir : WASI_ENOTDIR;
}

/* ---- operations on paths (preview 1 here, preview 2 in wasip2_fs.c) ---- */

int wasi_op_mkdir(int *walk, int dirfd, char *path)
{
    at_t at;
    int rc = split_at(walk, dirfd, path, WASI_EEXIST, WASI_EEXIST, &at);
    if (!rc) rc = mkdirat(at.dir, at.name, 0777) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
    at_close(&at);
    return rc;
}

int wasi_op_rmdir(int *walk, int dirfd, char *path)
{
    at_t at;
    int rc = split_at(walk, dirfd, path, WASI_EINVAL, WASI_ENOTEMPTY, &at);
    if (!rc)
        rc = unlinkat(at.dir, at.name, AT_REMOVEDIR) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
    at_close(&at);
    return rc;
}

int wasi_op_unlink(int *walk, int dirfd, char *path)
{
    at_t at;
    int rc = split_at(walk, dirfd, path, WASI_EISDIR, WASI_EISDIR, &at);
    if (!rc && at.trailing)
        rc = trailing_err(&at, WASI_EISDIR);
    else if (!rc)
        rc = unlinkat(at.dir, at.name, 0) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
    at_close(&at);
    return rc;
}

/* How many directories `dir` lies below `base` (following ".." up from
 * dir until base's inode), or -1 if it is not below it. O(depth) opens;
 * only symlink creation pays it. */
static int depth_below(int base, int dir)
{
    struct stat bst, st, up;
    int depth = 0, cur;
    if (fstat(base, &bst) != 0 || (cur = openat(dir, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    for (; depth <= (int)WASI_MAX_PATH; depth++) {
        if (fstat(cur, &st) != 0) break;
        if (st.st_dev == bst.st_dev && st.st_ino == bst.st_ino) {
            close(cur);
            return depth;
        }
        int parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0 || fstat(parent, &up) != 0 ||
            (up.st_dev == st.st_dev && up.st_ino == st.st_ino)) { /* reached "/" */
            if (parent >= 0) close(parent);
            break;
        }
        close(cur);
        cur = parent;
    }
    close(cur);
    return -1;
}

/* 1 when symlink content `target`, read from a directory `depth` levels
 * below the base, climbs above the base (judged by its text, as the
 * kernel would walk it when each name is a plain directory). */
static int climbs_out(const char *target, int depth)
{
    const char *p = target;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0) return 1;
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            depth++;
        }
        p += len;
        while (*p == '/') p++;
    }
    return 0;
}

/* `target` is the link's content. Following a link is confined anyway,
 * but a content that is absolute or climbs above `dirfd` by its `..`s is
 * refused (NOTCAPABLE): it could only name a host path outside, and a
 * host tool following the link later would leave the sandbox. */
int wasi_op_symlink(int *walk, int dirfd, const char *target, char *path)
{
    at_t at;
    int rc = split_at(walk, dirfd, path, WASI_EEXIST, WASI_EEXIST, &at);
    if (rc) goto done;
    if (at.trailing) {
        rc = trailing_err(&at, WASI_EEXIST);
        if (rc == WASI_ENOTDIR) rc = WASI_EEXIST;
        goto done;
    }
    int depth = depth_below(dirfd, at.dir);
    if (target[0] == '/' || depth < 0 || climbs_out(target, depth)) {
        rc = WASI_ENOTCAPABLE;
        goto done;
    }
    rc = symlinkat(target, at.dir, at.name) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
done:
    at_close(&at);
    return rc;
}

int wasi_op_readlink(int *walk, int dirfd, char *path, char content[WASI_MAX_PATH], size_t *n)
{
    at_t at;
    int rc = split_at(walk, dirfd, path, WASI_EINVAL, WASI_EINVAL, &at);
    if (!rc && at.trailing) rc = WASI_EINVAL;
    if (!rc) {
        ssize_t k = readlinkat(at.dir, at.name, content, WASI_MAX_PATH);
        if (k < 0)
            rc = wasi_errno(errno);
        else
            *n = (size_t)k;
    }
    at_close(&at);
    return rc;
}

int wasi_op_rename(int *walk, int old_dir, char *old_path, int new_dir, char *new_path)
{
    at_t from = {-1, NULL, 0}, to = {-1, NULL, 0};
    int rc;
    if ((rc = split_at(walk, old_dir, old_path, WASI_EBUSY, WASI_EBUSY, &from))) goto done;
    if ((rc = split_at(walk, new_dir, new_path, WASI_EBUSY, WASI_EBUSY, &to))) goto done;
    if (from.trailing || to.trailing) {
        struct stat st;
        if (fstatat(from.dir, from.name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = wasi_errno(errno);
            goto done;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc = WASI_ENOTDIR;
            goto done;
        }
    }
    rc = renameat(from.dir, from.name, to.dir, to.name) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
done:
    at_close(&from);
    at_close(&to);
    return rc;
}

/* Hard link to an already resolved descriptor: AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH, so without it go through the descriptor's
 * /proc/self/fd entry (the documented way to link an O_PATH descriptor);
 * both name only `fd`, which wasi_resolve confined. */
static int link_fd(int fd, const at_t *to)
{
    if (linkat(fd, "", to->dir, to->name, AT_EMPTY_PATH) == 0) return WASI_ESUCCESS;
    if (errno != ENOENT && errno != EPERM) return wasi_errno(errno);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, to->dir, to->name, AT_SYMLINK_FOLLOW) == 0) return WASI_ESUCCESS;
    return wasi_errno(errno);
}

/* With follow the source is resolved (confined) to what it finally names. */
int wasi_op_link(int *walk, int old_dir, int follow, char *old_path, int new_dir, char *new_path)
{
    at_t from = {-1, NULL, 0}, to = {-1, NULL, 0};
    int rc, src = -1;
    if (follow) {
        if ((rc = wasi_resolve(walk, old_dir, old_path, O_PATH, 0, &src))) goto done;
    } else {
        if ((rc = split_at(walk, old_dir, old_path, WASI_EPERM, WASI_EPERM, &from))) goto done;
        if (from.trailing) {
            rc = trailing_err(&from, WASI_EPERM);
            goto done;
        }
    }
    if ((rc = split_at(walk, new_dir, new_path, WASI_EEXIST, WASI_EEXIST, &to))) goto done;
    if (to.trailing) {
        rc = trailing_err(&to, WASI_EEXIST);
        if (rc == WASI_ENOTDIR) rc = WASI_EEXIST;
        goto done;
    }
    if (follow)
        rc = link_fd(src, &to);
    else
        rc = linkat(from.dir, from.name, to.dir, to.name, 0) == 0 ? WASI_ESUCCESS
                                                                   : wasi_errno(errno);
done:
    if (src >= 0) close(src);
    at_close(&from);
    at_close(&to);
    return rc;
}

/* Without follow a final symlink is described itself, wherever it points. */
int wasi_op_stat(int *walk, int dirfd, int follow, const char *path, struct stat *st)
{
    int fd, rc = wasi_resolve(walk, dirfd, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, &fd);
    if (rc) return rc;
    rc = fstat(fd, st) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
    close(fd);
    return rc;
}

int wasi_op_set_times(int *walk, int dirfd, int follow, const char *path,
                      const struct timespec ts[2])
{
    int fd, rc = wasi_resolve(walk, dirfd, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, &fd);
    if (rc) return rc;
    if (utimensat(fd, "", ts, AT_EMPTY_PATH | (follow ? 0 : AT_SYMLINK_NOFOLLOW)) != 0)
        rc = wasi_errno(errno);
    close(fd);
    return rc;
}

int wasi_open_mode(int rd, int wr, int must_open)
{
    if (rd && wr) return O_RDWR;
    if (wr) return O_WRONLY;
    return rd || must_open ? O_RDONLY : O_PATH;
}

/* Opening a FIFO blocks until its other end opens: an embedder stops the
 * wait with weft_store_interrupt and a signal (weft/wasi.h), and the call
 * then traps; any other signal's EINTR just opens again. */
int wasi_op_open(weft_caller_t *caller, int *walk, int dirfd, const char *path, int flags,
                 int *out, struct stat *st)
{
    int rc, fd = -1;
    for (;;) {
        if (caller && (rc = weft_caller_check_interrupt(caller))) return rc;
        if ((rc = wasi_resolve(walk, dirfd, path, flags, 0666, &fd)) != WASI_EINTR) break;
    }
    if (rc) return rc;
    if (fstat(fd, st) != 0) {
        rc = wasi_errno(errno);
    } else if ((flags & O_PATH) && (flags & O_NOFOLLOW) && S_ISLNK(st->st_mode)) {
        rc = WASI_ELOOP; /* as open(O_NOFOLLOW) on a symlink */
    } else {
        *out = fd;
        return WASI_ESUCCESS;
    }
    close(fd);
    return rc;
}

/* ---- path_* functions -------------------------------------------------- */

/* The start of a path_* function on one directory and one path: the
 * directory (holding `rights`), the path copied into buf and checked,
 * the call charged. */
static int one_path(weft_caller_t *caller, weft_wasi_t *w, uint32_t fd, uint64_t rights,
                    uint32_t ptr, uint32_t len, char *buf, wasi_fd_t **d)
{
    int rc = dir_get(w, fd, rights, d);
    if (!rc) rc = path_copy(wasi_memory(caller), ptr, len, buf);
    if (!rc) rc = path_charge(caller, len, 0);
    return rc;
}

/* path_create_directory, path_remove_directory, path_unlink_file (fd,
 * path, path_len): directory fd, holding `right`, and op on the path. */
static int one_path_op(weft_caller_t *caller, weft_wasi_t *w, weft_raw_t *args, uint64_t right,
                       int (*op)(int *walk, int dirfd, char *path))
{
    char path[WASI_MAX_PATH + 1];
    wasi_fd_t *d;
    int rc = one_path(caller, w, ARG32(0), right, ARG32(1), ARG32(2), path, &d);
    RETURN_ERRNO_OR_TRAP(rc ? rc : op(&w->no_openat2, d->host, path));
}

static int fn_path_create_directory(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return one_path_op(caller, user, args, WASI_RIGHT_PATH_CREATE_DIRECTORY, wasi_op_mkdir);
}

static int fn_path_remove_directory(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return one_path_op(caller, user, args, WASI_RIGHT_PATH_REMOVE_DIRECTORY, wasi_op_rmdir);
}

static int fn_path_unlink_file(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return one_path_op(caller, user, args, WASI_RIGHT_PATH_UNLINK_FILE, wasi_op_unlink);
}

/* path_symlink(old_path, old_len, fd, new_path, new_len): old_path is the
 * link's content (wasi_op_symlink says which are refused). */
static int fn_path_symlink(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    char target[WASI_MAX_PATH + 1], path[WASI_MAX_PATH + 1];
    wasi_fd_t *d;
    int rc;
    if ((rc = dir_get(w, ARG32(2), WASI_RIGHT_PATH_SYMLINK, &d))) RETURN_ERRNO(rc);
    if ((rc = path_copy(wasi_memory(caller), ARG32(0), ARG32(1), target))) RETURN_ERRNO(rc);
    if ((rc = path_copy(wasi_memory(caller), ARG32(3), ARG32(4), path))) RETURN_ERRNO(rc);
    if ((rc = path_charge(caller, ARG32(1), ARG32(4)))) return rc;
    RETURN_ERRNO(wasi_op_symlink(&w->no_openat2, d->host, target, path));
}

/* path_readlink(fd, path, path_len, buf, buf_len, bufused): the content
 * is truncated to buf_len, as readlink(2) does, without a NUL. */
static int fn_path_readlink(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    char path[WASI_MAX_PATH + 1], content[WASI_MAX_PATH];
    weft_memory_t *mem = wasi_memory(caller);
    uint32_t buf = ARG32(3), buf_len = ARG32(4), used = ARG32(5);
    wasi_fd_t *d;
    size_t n = 0;
    if (!mem || !weft_memory_ptr(mem, buf, buf_len) || !weft_memory_ptr(mem, used, 4))
        RETURN_ERRNO(WASI_EFAULT);
    int rc = one_path(caller, w, ARG32(0), WASI_RIGHT_PATH_READLINK, ARG32(1), ARG32(2), path, &d);
    if (!rc) rc = wasi_op_readlink(&w->no_openat2, d->host, path, content, &n);
    if (rc) RETURN_ERRNO_OR_TRAP(rc);
    if (n > buf_len) n = buf_len;
    if ((rc = wasi_charge(caller, WASI_FUEL(n)))) return rc;
    weft_memory_write(mem, buf, content, n);
    RETURN_ERRNO(wasi_store_u32(mem, used, (uint32_t)n));
}

/* Two directories and two paths: path_rename's and path_link's start. */
static int two_paths(weft_caller_t *caller, weft_wasi_t *w, uint32_t ofd, uint64_t orights,
                     uint32_t optr, uint32_t olen, char *opath, wasi_fd_t **od, uint32_t nfd,
                     uint64_t nrights, uint32_t nptr, uint32_t nlen, char *npath, wasi_fd_t **nd)
{
    weft_memory_t *mem = wasi_memory(caller);
    int rc = dir_get(w, ofd, orights, od);
    if (!rc) rc = dir_get(w, nfd, nrights, nd);
    if (!rc) rc = path_copy(mem, optr, olen, opath);
    if (!rc) rc = path_copy(mem, nptr, nlen, npath);
    if (!rc) rc = path_charge(caller, olen, nlen);
    return rc;
}

/* path_rename(fd, old_path, old_len, new_fd, new_path, new_len). */
static int fn_path_rename(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    char old_path[WASI_MAX_PATH + 1], new_path[WASI_MAX_PATH + 1];
    wasi_fd_t *od, *nd;
    int rc = two_paths(caller, w, ARG32(0), WASI_RIGHT_PATH_RENAME_SOURCE, ARG32(1), ARG32(2),
                       old_path, &od, ARG32(3), WASI_RIGHT_PATH_RENAME_TARGET, ARG32(4), ARG32(5),
                       new_path, &nd);
    RETURN_ERRNO_OR_TRAP(rc ? rc
                            : wasi_op_rename(&w->no_openat2, od->host, old_path, nd->host,
                                             new_path));
}

/* path_link(old_fd, old_flags, old_path, old_len, new_fd, new_path,
 * new_len). */
static int fn_path_link(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    char old_path[WASI_MAX_PATH + 1], new_path[WASI_MAX_PATH + 1];
    const int follow = (ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW) != 0;
    wasi_fd_t *od, *nd;
    int rc = two_paths(caller, w, ARG32(0), WASI_RIGHT_PATH_LINK_SOURCE, ARG32(2), ARG32(3),
                       old_path, &od, ARG32(4), WASI_RIGHT_PATH_LINK_TARGET, ARG32(5), ARG32(6),
                       new_path, &nd);
    RETURN_ERRNO_OR_TRAP(rc ? rc
                            : wasi_op_link(&w->no_openat2, od->host, follow, old_path, nd->host,
                                           new_path));
}

/* path_filestat_get(fd, flags, path, path_len, buf). */
static int fn_path_filestat_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    char path[WASI_MAX_PATH + 1];
    uint8_t b[WASI_FILESTAT_SIZE];
    weft_memory_t *mem = wasi_memory(caller);
    const int follow = (ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW) != 0;
    struct stat st;
    wasi_fd_t *d;
    if (!mem || !weft_memory_ptr(mem, ARG32(4), sizeof b)) RETURN_ERRNO(WASI_EFAULT);
    int rc = one_path(caller, w, ARG32(0), WASI_RIGHT_PATH_FILESTAT_GET, ARG32(2), ARG32(3), path,
                      &d);
    if (!rc) rc = wasi_op_stat(&w->no_openat2, d->host, follow, path, &st);
    if (rc) RETURN_ERRNO_OR_TRAP(rc);
    wasi_filestat_encode(&st, b);
    weft_memory_write(mem, ARG32(4), b, sizeof b);
    RETURN_ERRNO(WASI_ESUCCESS);
}

/* path_filestat_set_times(fd, flags, path, path_len, atim, mtim, fst). */
static int fn_path_filestat_set_times(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    char path[WASI_MAX_PATH + 1];
    const int follow = (ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW) != 0;
    struct timespec ts[2];
    wasi_fd_t *d;
    int rc = one_path(caller, w, ARG32(0), WASI_RIGHT_PATH_FILESTAT_SET_TIMES, ARG32(2), ARG32(3),
                      path, &d);
    if (!rc) rc = wasi_times(ARG64(4), ARG64(5), ARG32(6), ts);
    RETURN_ERRNO_OR_TRAP(rc ? rc : wasi_op_set_times(&w->no_openat2, d->host, follow, path, ts));
}

/* path_open(fd, dirflags, path, path_len, oflags, rights_base,
 * rights_inheriting, fdflags, out_fd). The new descriptor gets the rights
 * asked for that the directory can pass on (silently narrowed, so a guest
 * asking for "everything" works), then cut to those of what it opened
 * (wasi_fd_add: a directory keeps no file rights). The host access mode
 * follows the rights: read rights → read, write rights or append → write
 * (a directory then fails with ISDIR); neither → O_PATH, a descriptor good
 * for stat, times and as a directory for further paths. */
static int fn_path_open(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    char path[WASI_MAX_PATH + 1];
    weft_memory_t *mem = wasi_memory(caller);
    const uint32_t dirflags = ARG32(1), oflags = ARG32(4), fdflags = ARG32(7), out = ARG32(8);
    wasi_fd_t *d;
    struct stat st;
    int rc, fd = -1;
    if (!mem || !weft_memory_ptr(mem, out, 4)) RETURN_ERRNO(WASI_EFAULT);
    uint64_t need = WASI_RIGHT_PATH_OPEN;
    if (oflags & WASI_OFLAG_CREAT) need |= WASI_RIGHT_PATH_CREATE_FILE;
    if (oflags & WASI_OFLAG_TRUNC) need |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
    if ((rc = one_path(caller, w, ARG32(0), need, ARG32(2), ARG32(3), path, &d)))
        RETURN_ERRNO_OR_TRAP(rc);
    if ((oflags & ~0xfu) || (fdflags & ~WASI_FDFLAG_ALL)) RETURN_ERRNO(WASI_EINVAL);
    uint64_t rights = ARG64(5) & d->inheriting, inheriting = ARG64(6) & d->inheriting;

    const uint64_t read_rights = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR;
    const uint64_t write_rights = WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_DATASYNC |
                                  WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_SET_SIZE;
    int flags = wasi_open_mode((rights & read_rights) != 0,
                               (rights & write_rights) != 0 || (fdflags & WASI_FDFLAG_APPEND),
                               (oflags & (WASI_OFLAG_CREAT | WASI_OFLAG_TRUNC |
                                          WASI_OFLAG_DIRECTORY)) != 0);
    /* With write rights the kernel answers ISDIR for a directory, as POSIX
     * open(O_RDWR | O_DIRECTORY) does: write rights are never dropped
     * quietly (docs/wasi.md, "Rights"). */
    if (oflags & WASI_OFLAG_DIRECTORY) flags |= O_DIRECTORY;
    if (oflags & WASI_OFLAG_CREAT) flags |= O_CREAT;
    if (oflags & WASI_OFLAG_EXCL) flags |= O_EXCL;
    if (oflags & WASI_OFLAG_TRUNC) flags |= O_TRUNC;
    if (!(dirflags & WASI_LOOKUP_SYMLINK_FOLLOW)) flags |= O_NOFOLLOW;
    if (!(flags & O_PATH)) {
        if (fdflags & WASI_FDFLAG_APPEND) flags |= O_APPEND;
        if (fdflags & WASI_FDFLAG_NONBLOCK) flags |= O_NONBLOCK;
        if (fdflags & WASI_FDFLAG_DSYNC) flags |= O_DSYNC;
        if (fdflags & (WASI_FDFLAG_SYNC | WASI_FDFLAG_RSYNC)) flags |= O_SYNC;
    }
    if ((rc = wasi_op_open(caller, &w->no_openat2, d->host, path, flags, &fd, &st)))
        RETURN_ERRNO_OR_TRAP(rc);
    uint32_t gfd;
    rc = wasi_fd_add(w, fd, wasi_filetype(&st), rights, inheriting,
                     (uint16_t)(fdflags & WASI_FDFLAG_SYNCS), &gfd);
    /* the table owns fd now, or closed it */
    RETURN_ERRNO(rc ? rc : wasi_store_u32(mem, out, gfd));
}

const wasi_func_t wasi_path_funcs[] = {
    {"path_create_directory", "iii", 1, fn_path_create_directory},
    {"path_filestat_get", "iiiii", 1, fn_path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi", 1, fn_path_filestat_set_times},
    {"path_link", "iiiiiii", 1, fn_path_link},
    {"path_open", "iiiiiIIii", 1, fn_path_open},
    {"path_readlink", "iiiiii", 1, fn_path_readlink},
    {"path_remove_directory", "iii", 1, fn_path_remove_directory},
    {"path_rename", "iiiiii", 1, fn_path_rename},
    {"path_symlink", "iiiii", 1, fn_path_symlink},
    {"path_unlink_file", "iii", 1, fn_path_unlink_file},
};
const size_t wasi_path_nfuncs = sizeof wasi_path_funcs / sizeof wasi_path_funcs[0];
