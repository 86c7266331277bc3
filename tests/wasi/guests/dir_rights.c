/*
 * dir_rights.c — the rights model of directory descriptors (docs/wasi.md,
 * "Rights"): a directory holds directory rights as base and hands on
 * directory and file rights as inheriting; it is never read, written,
 * seeked or told like a file, and asking to open one for writing is ISDIR,
 * not a quiet downgrade. The checks of wasi-testsuite's directory_seek,
 * dir_fd_op_failures and path_open_preopen, written here so `make test`
 * needs no download. The test script preopens an empty scratch directory
 * as "box"; the guest leaves it empty.
 */
#include <dirent.h>
#include <string.h>

#include "check.h"

/* What a directory's base must hold, in every runtime that follows the
 * others (the list path_open_preopen checks). */
static const __wasi_rights_t DIR_BASE =
    __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |
    __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN |
    __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK | __WASI_RIGHTS_PATH_RENAME_SOURCE |
    __WASI_RIGHTS_PATH_RENAME_TARGET | __WASI_RIGHTS_PATH_SYMLINK |
    __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_UNLINK_FILE |
    __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES |
    __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES;
/* ... and what it must hand on besides. */
static const __wasi_rights_t FILE_RIGHTS =
    __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
    __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_TELL |
    __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |
    __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |
    __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_POLL_FD_READWRITE;
/* Rights a directory must never hold: it is not a byte stream. */
static const __wasi_rights_t STREAM_ONLY =
    __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
    __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |
    __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_POLL_FD_READWRITE;
/* What wasi-libc asks for in open(O_RDONLY): everything but write rights. */
static const __wasi_rights_t NOT_WRITE =
    ~(__wasi_rights_t)(__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE |
                       __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE);

static __wasi_fd_t find_preopen(const char *want)
{
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        char name[256] = {0};
        if (__wasi_fd_prestat_get(fd, &ps) != 0 || ps.u.dir.pr_name_len >= sizeof name) continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len) != 0) continue;
        if (strcmp(name, want) == 0) return fd;
    }
    CHECK(!"preopen not found");
    return 3;
}

static __wasi_fdstat_t fdstat(__wasi_fd_t fd)
{
    __wasi_fdstat_t st;
    memset(&st, 0, sizeof st);
    CHECK_EQ(__wasi_fd_fdstat_get(fd, &st), 0);
    return st;
}

/* Checks what a directory descriptor refuses, as dir_fd_op_failures does,
 * with weft's own answers: POSIX's for read and write, NOTCAPABLE for the
 * rights a directory never holds. */
static void check_not_a_stream(__wasi_fd_t d)
{
    uint8_t buf[16];
    __wasi_iovec_t iov = {buf, sizeof buf};
    __wasi_ciovec_t ciov = {buf, sizeof buf};
    __wasi_size_t n;
    __wasi_filesize_t pos;
    CHECK_EQ(__wasi_fd_read(d, &iov, 1, &n), __WASI_ERRNO_ISDIR);
    CHECK_EQ(__wasi_fd_pread(d, &iov, 1, 0, &n), __WASI_ERRNO_ISDIR);
    CHECK_EQ(__wasi_fd_write(d, &ciov, 1, &n), __WASI_ERRNO_BADF);
    CHECK_EQ(__wasi_fd_pwrite(d, &ciov, 1, 0, &n), __WASI_ERRNO_BADF);
    CHECK_EQ(__wasi_fd_seek(d, 0, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_seek(d, 0, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_seek(d, 0, __WASI_WHENCE_END, &pos), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_tell(d, &pos), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_allocate(d, 0, 1), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_filestat_set_size(d, 0), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_advise(d, 0, 0, __WASI_ADVICE_NORMAL), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_fdstat_set_flags(d, 0), __WASI_ERRNO_NOTCAPABLE);
}

/* The preopen: its rights, its prestat, what it refuses. */
static void test_preopen(__wasi_fd_t pre)
{
    __wasi_fdstat_t st = fdstat(pre);
    CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    CHECK_EQ(st.fs_rights_base & DIR_BASE, DIR_BASE);
    CHECK_EQ(st.fs_rights_base & STREAM_ONLY, 0);
    CHECK_EQ(st.fs_rights_inheriting & (DIR_BASE | FILE_RIGHTS), DIR_BASE | FILE_RIGHTS);

    __wasi_filestat_t fst;
    CHECK_EQ(__wasi_fd_filestat_get(pre, &fst), 0);
    CHECK_EQ(fst.filetype, __WASI_FILETYPE_DIRECTORY);
    CHECK_EQ(__wasi_fd_sync(pre), 0); /* makes new names durable: kept */

    __wasi_prestat_t ps;
    CHECK_EQ(__wasi_fd_prestat_get(pre, &ps), 0);
    uint8_t name[8] = {0};
    CHECK_EQ(__wasi_fd_prestat_dir_name(pre, name, 0), __WASI_ERRNO_NAMETOOLONG);
    CHECK_EQ(__wasi_fd_prestat_dir_name(pre, name, ps.u.dir.pr_name_len + 1), 0);
    CHECK(memcmp(name, "box", 3) == 0);

    check_not_a_stream(pre);
    /* and rights only shrink: a directory cannot take file rights back */
    CHECK_EQ(__wasi_fd_fdstat_set_rights(pre, st.fs_rights_base | __WASI_RIGHTS_FD_SEEK,
                                         st.fs_rights_inheriting),
             __WASI_ERRNO_NOTCAPABLE);
}

/* Opening the preopen's own directory again, as path_open_preopen does. */
static void test_open_dot(__wasi_fd_t pre)
{
    __wasi_fdstat_t pst = fdstat(pre), st;
    __wasi_fd_t fd;
    /* with its own rights: a directory's base holds no write right */
    CHECK_EQ(__wasi_path_open(pre, 0, ".", 0, pst.fs_rights_base, pst.fs_rights_inheriting, 0,
                              &fd),
             0);
    st = fdstat(fd);
    CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    CHECK_EQ(st.fs_rights_base, pst.fs_rights_base);
    CHECK_EQ(st.fs_rights_inheriting, pst.fs_rights_inheriting);
    CHECK_EQ(__wasi_fd_close(fd), 0);

    CHECK_EQ(__wasi_path_open(pre, 0, ".", 0, 0, 0, 0, &fd), 0);
    CHECK_EQ(fdstat(fd).fs_rights_base, 0);
    CHECK_EQ(__wasi_fd_close(fd), 0);
    CHECK_EQ(__wasi_path_open(pre, 0, ".", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd), 0);
    CHECK_EQ(__wasi_fd_close(fd), 0);
    /* a read right is asked for, and dropped: directories are not read */
    CHECK_EQ(__wasi_path_open(pre, 0, ".", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ, 0, 0,
                              &fd),
             0);
    CHECK_EQ(fdstat(fd).fs_rights_base, 0);
    CHECK_EQ(__wasi_fd_close(fd), 0);

    /* write rights on a directory: ISDIR, with O_DIRECTORY or without */
    const __wasi_rights_t rw = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE;
    CHECK_EQ(__wasi_path_open(pre, 0, ".", __WASI_OFLAGS_DIRECTORY, rw, 0, 0, &fd),
             __WASI_ERRNO_ISDIR);
    CHECK_EQ(__wasi_path_open(pre, 0, ".", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_WRITE, 0, 0,
                              &fd),
             __WASI_ERRNO_ISDIR);
    CHECK_EQ(__wasi_path_open(pre, 0, ".", 0, rw, 0, 0, &fd), __WASI_ERRNO_ISDIR);
    CHECK_EQ(__wasi_path_open(pre, 0, ".", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR, 0,
                              __WASI_FDFLAGS_APPEND, &fd),
             __WASI_ERRNO_ISDIR);
}

/* A subdirectory asked for with file rights gets directory rights, as
 * directory_seek checks; what it hands on still opens files. */
static void test_subdirectory(__wasi_fd_t pre)
{
    __wasi_fdstat_t pst = fdstat(pre), st;
    __wasi_fd_t d, f, g;
    __wasi_filesize_t pos = 7;
    CHECK_EQ(__wasi_path_create_directory(pre, "sub"), 0);

    CHECK_EQ(__wasi_path_open(pre, 0, "sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_SEEK, 0, 0,
                              &d),
             0);
    CHECK(d > 2);
    st = fdstat(d);
    CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    CHECK_EQ(st.fs_rights_base & __WASI_RIGHTS_FD_SEEK, 0);
    CHECK_EQ(__wasi_fd_seek(d, 0, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(pos, 7); /* nothing written back on failure */
    CHECK_EQ(__wasi_fd_close(d), 0);

    /* the way wasi-libc opens a directory: all but write rights */
    CHECK_EQ(__wasi_path_open(pre, 0, "sub", __WASI_OFLAGS_DIRECTORY,
                              NOT_WRITE & pst.fs_rights_inheriting, pst.fs_rights_inheriting, 0,
                              &d),
             0);
    st = fdstat(d);
    CHECK_EQ(st.fs_rights_base, pst.fs_rights_base);
    CHECK_EQ(st.fs_rights_inheriting, pst.fs_rights_inheriting);
    check_not_a_stream(d);

    /* a file opened through it gets file rights, and hands on nothing */
    CHECK_EQ(__wasi_path_open(d, 0, "f.txt", __WASI_OFLAGS_CREAT, pst.fs_rights_inheriting,
                              pst.fs_rights_inheriting, 0, &f),
             0);
    st = fdstat(f);
    CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_REGULAR_FILE);
    CHECK_EQ(st.fs_rights_base, FILE_RIGHTS);
    CHECK_EQ(st.fs_rights_inheriting, 0);
    __wasi_ciovec_t ciov = {(const uint8_t *)"abc", 3};
    __wasi_size_t n = 0;
    CHECK_EQ(__wasi_fd_write(f, &ciov, 1, &n), 0);
    CHECK_EQ(n, 3);
    CHECK_EQ(__wasi_fd_seek(f, 0, __WASI_WHENCE_CUR, &pos), 0);
    CHECK_EQ(pos, 3);
    CHECK_EQ(__wasi_fd_close(f), 0);
    /* a file is no directory to open paths through */
    CHECK_EQ(__wasi_path_open(d, 0, "f.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &f), 0);
    CHECK_EQ(__wasi_path_open(f, 0, "x", 0, 0, 0, 0, &g), __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_fd_close(f), 0);

    /* wasi-libc on top: opendir reads it, unlink and rmdir clean up */
    DIR *dir = fdopendir(d);
    CHECK(dir != NULL);
    int entries = 0;
    for (struct dirent *e; dir && (e = readdir(dir));) entries += strcmp(e->d_name, "f.txt") == 0;
    CHECK_EQ(entries, 1);
    if (dir) closedir(dir);
    CHECK_EQ(__wasi_path_unlink_file(pre, "sub/f.txt"), 0);
    CHECK_EQ(__wasi_path_remove_directory(pre, "sub"), 0);
}

/* The standard streams hold the rights of what they are: file rights for
 * a file, a pipe or a terminal (less seek and tell), nothing to hand on. */
static void test_stdio(void)
{
    for (__wasi_fd_t fd = 0; fd < 3; fd++) {
        __wasi_fdstat_t st = fdstat(fd);
        CHECK_EQ(st.fs_rights_base & ~FILE_RIGHTS, 0);
        CHECK_EQ(st.fs_rights_inheriting, 0);
    }
}

int main(void)
{
    __wasi_fd_t pre = find_preopen("box");
    test_stdio();
    test_preopen(pre);
    test_open_dot(pre);
    test_subdirectory(pre);
    return check_result("dir_rights");
}
