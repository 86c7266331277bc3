/*
 * files.c — file system functions inside a preopened directory (guest
 * name "."), through wasi-libc and through the raw __wasi_* calls where
 * the exact errno or struct matters. The test script starts it in an
 * empty temporary directory and afterwards checks what it left on the
 * host: data/moved.txt ("HELLO, wasi!!\n" after pwrite), hard.txt (a hard
 * link to it), data/link -> moved.txt, times.txt with mtime 1234567890,
 * trunc.txt of 3 bytes, append.txt "ab\ncd\n", and no "gone*" files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    CHECK_EQ(fputs(text, f) >= 0, 1);
    CHECK_EQ(fclose(f), 0);
}

static void check_content(const char *path, const char *want)
{
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK_EQ(n, (ssize_t)strlen(want));
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "content of %s: \"%s\", expected \"%s\"\n", path, buf, want);
        check_failures++;
    }
    close(fd);
}

/* The preopen's number, found by its name ".". */
static __wasi_fd_t preopen_fd(void)
{
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        char name[64] = {0};
        if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
        CHECK_EQ(ps.tag, __WASI_PREOPENTYPE_DIR);
        if (ps.u.dir.pr_name_len >= sizeof name) continue;
        CHECK_EQ(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len), 0);
        if (strcmp(name, ".") == 0) return fd;
    }
    CHECK(!"no preopen named .");
    return 3;
}

static void test_read_write_seek(void)
{
    write_file("hello.txt", "hello, wasi!\n");
    check_content("hello.txt", "hello, wasi!\n");

    int fd = open("hello.txt", O_RDWR);
    CHECK(fd >= 0);
    __wasi_filesize_t pos = 99;
    CHECK_EQ(__wasi_fd_tell(fd, &pos), 0);
    CHECK_EQ(pos, 0);
    CHECK_EQ(__wasi_fd_seek(fd, 7, __WASI_WHENCE_SET, &pos), 0);
    CHECK_EQ(pos, 7);
    char buf[16] = {0};
    CHECK_EQ(read(fd, buf, 4), 4);
    CHECK(memcmp(buf, "wasi", 4) == 0);
    CHECK_EQ(__wasi_fd_seek(fd, -2, __WASI_WHENCE_END, &pos), 0);
    CHECK_EQ(pos, 11);
    CHECK_EQ(__wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos), 0);
    CHECK_EQ(pos, 11);
    CHECK_EQ(__wasi_fd_seek(fd, -100, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_INVAL);
    CHECK_EQ(__wasi_fd_seek(fd, 0, 3, &pos), __WASI_ERRNO_INVAL);

    /* pread/pwrite leave the offset alone */
    __wasi_size_t n = 0;
    char pb[5] = {0};
    __wasi_iovec_t iov = {(uint8_t *)pb, 5};
    CHECK_EQ(__wasi_fd_pread(fd, &iov, 1, 0, &n), 0);
    CHECK_EQ(n, 5);
    CHECK(memcmp(pb, "hello", 5) == 0);
    __wasi_ciovec_t ciov[2] = {{(const uint8_t *)"HEL", 3}, {(const uint8_t *)"LO", 2}};
    CHECK_EQ(__wasi_fd_pwrite(fd, ciov, 2, 0, &n), 0);
    CHECK_EQ(n, 5);
    CHECK_EQ(__wasi_fd_tell(fd, &pos), 0);
    CHECK_EQ(pos, 11);
    /* write at the offset, then append through a scatter list */
    __wasi_ciovec_t tail[2] = {{(const uint8_t *)"!", 1}, {(const uint8_t *)"!\n", 2}};
    CHECK_EQ(__wasi_fd_write(fd, tail, 2, &n), 0);
    CHECK_EQ(n, 3);

    __wasi_fdstat_t st;
    CHECK_EQ(__wasi_fd_fdstat_get(fd, &st), 0);
    CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_REGULAR_FILE);
    CHECK_EQ(st.fs_flags, 0);
    CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_READ);
    CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE);
    CHECK_EQ(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), 0);
    CHECK_EQ(__wasi_fd_fdstat_get(fd, &st), 0);
    CHECK_EQ(st.fs_flags, __WASI_FDFLAGS_NONBLOCK);
    CHECK_EQ(__wasi_fd_fdstat_set_flags(fd, 0), 0);
    CHECK_EQ(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_SYNC), __WASI_ERRNO_NOTSUP);
    CHECK_EQ(__wasi_fd_sync(fd), 0);
    CHECK_EQ(__wasi_fd_datasync(fd), 0);
    CHECK_EQ(__wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_SEQUENTIAL), 0);
    CHECK_EQ(__wasi_fd_advise(fd, 0, 0, 6), __WASI_ERRNO_INVAL);

    /* rights only shrink; a dropped right is enforced */
    CHECK_EQ(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE, 0), 0);
    CHECK_EQ(__wasi_fd_write(fd, tail, 1, &n), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base, 0), __WASI_ERRNO_NOTCAPABLE);
    CHECK_EQ(close(fd), 0);
    CHECK_EQ(__wasi_fd_close(fd), __WASI_ERRNO_BADF);
    check_content("hello.txt", "HELLO, wasi!!\n");
}

static void test_open_flags(__wasi_fd_t dir)
{
    __wasi_fd_t fd;
    const __wasi_rights_t rw = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE |
                               __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |
                               __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |
                               __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES;
    CHECK_EQ(__wasi_path_open(dir, 0, "hello.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, rw,
                              0, 0, &fd),
             __WASI_ERRNO_EXIST);
    CHECK_EQ(__wasi_path_open(dir, 0, "hello.txt", __WASI_OFLAGS_DIRECTORY, rw, 0, 0, &fd),
             __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_path_open(dir, 0, "missing.txt", 0, rw, 0, 0, &fd), __WASI_ERRNO_NOENT);
    CHECK_EQ(__wasi_path_open(dir, 0, "", 0, rw, 0, 0, &fd), __WASI_ERRNO_NOENT);
    CHECK_EQ(__wasi_path_open(dir, 0, "missing/x", __WASI_OFLAGS_CREAT, rw, 0, 0, &fd),
             __WASI_ERRNO_NOENT);
    CHECK_EQ(__wasi_path_open(dir, 0, "hello.txt/x", 0, rw, 0, 0, &fd), __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_path_open(dir, 0, "hello.txt", 0x10, rw, 0, 0, &fd), __WASI_ERRNO_INVAL);
    /* a file descriptor is not a directory for path_* */
    CHECK_EQ(__wasi_path_open(dir, 0, "hello.txt", 0, rw, 0, 0, &fd), 0);
    __wasi_fd_t fd2;
    CHECK_EQ(__wasi_path_open(fd, 0, "x", 0, rw, 0, 0, &fd2), __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_fd_readdir(fd, AT(0), 0, 0, AT(0)), __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_fd_prestat_get(fd, AT(0)), __WASI_ERRNO_BADF);

    /* truncate, allocate, filestat */
    __wasi_filestat_t fs;
    CHECK_EQ(__wasi_path_open(dir, 0, "trunc.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, rw,
                              0, 0, &fd2),
             0);
    CHECK_EQ(__wasi_fd_allocate(fd2, 0, 100), 0);
    CHECK_EQ(__wasi_fd_filestat_get(fd2, &fs), 0);
    CHECK_EQ(fs.size, 100);
    CHECK_EQ(fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
    CHECK_EQ(fs.nlink, 1);
    CHECK_EQ(__wasi_fd_filestat_set_size(fd2, 3), 0);
    CHECK_EQ(__wasi_fd_filestat_get(fd2, &fs), 0);
    CHECK_EQ(fs.size, 3);
    CHECK_EQ(__wasi_path_filestat_get(dir, 0, "trunc.txt", &fs), 0);
    CHECK_EQ(fs.size, 3);
    CHECK_EQ(__wasi_fd_close(fd2), 0);

    /* O_TRUNC empties an existing file */
    write_file("gone1.txt", "some text");
    CHECK_EQ(__wasi_path_open(dir, 0, "gone1.txt", __WASI_OFLAGS_TRUNC, rw, 0, 0, &fd2), 0);
    CHECK_EQ(__wasi_fd_filestat_get(fd2, &fs), 0);
    CHECK_EQ(fs.size, 0);
    CHECK_EQ(__wasi_fd_close(fd2), 0);
    CHECK_EQ(unlink("gone1.txt"), 0);

    /* append */
    CHECK_EQ(__wasi_path_open(dir, 0, "append.txt", __WASI_OFLAGS_CREAT, rw, 0,
                              __WASI_FDFLAGS_APPEND, &fd2),
             0);
    __wasi_fdstat_t st;
    CHECK_EQ(__wasi_fd_fdstat_get(fd2, &st), 0);
    CHECK_EQ(st.fs_flags, __WASI_FDFLAGS_APPEND);
    __wasi_ciovec_t a = {(const uint8_t *)"ab\n", 3}, c = {(const uint8_t *)"cd\n", 3};
    __wasi_size_t n;
    __wasi_filesize_t pos;
    CHECK_EQ(__wasi_fd_write(fd2, &a, 1, &n), 0);
    CHECK_EQ(__wasi_fd_seek(fd2, 0, __WASI_WHENCE_SET, &pos), 0);
    CHECK_EQ(__wasi_fd_write(fd2, &c, 1, &n), 0);
    CHECK_EQ(__wasi_fd_close(fd2), 0);
    check_content("append.txt", "ab\ncd\n");

    /* other sync modes open; dsync is reported */
    CHECK_EQ(__wasi_path_open(dir, 0, "append.txt", 0, rw, 0, __WASI_FDFLAGS_DSYNC, &fd2), 0);
    CHECK_EQ(__wasi_fd_fdstat_get(fd2, &st), 0);
    CHECK_EQ(st.fs_flags, __WASI_FDFLAGS_DSYNC);
    CHECK_EQ(__wasi_fd_close(fd2), 0);
    CHECK_EQ(__wasi_path_open(dir, 0, "append.txt", 0, rw, 0,
                              __WASI_FDFLAGS_SYNC | __WASI_FDFLAGS_RSYNC | __WASI_FDFLAGS_NONBLOCK,
                              &fd2),
             0);
    CHECK_EQ(__wasi_fd_fdstat_get(fd2, &st), 0);
    CHECK_EQ(st.fs_flags, __WASI_FDFLAGS_SYNC | __WASI_FDFLAGS_RSYNC | __WASI_FDFLAGS_NONBLOCK);
    CHECK_EQ(__wasi_fd_close(fd2), 0);

    /* renumber: fd2 takes fd's place, fd's old file is closed */
    CHECK_EQ(__wasi_path_open(dir, 0, "append.txt", 0, rw, 0, 0, &fd2), 0);
    CHECK_EQ(__wasi_fd_renumber(fd2, fd), 0);
    CHECK_EQ(__wasi_fd_filestat_get(fd2, &fs), __WASI_ERRNO_BADF);
    CHECK_EQ(__wasi_fd_filestat_get(fd, &fs), 0);
    CHECK_EQ(fs.size, 6);
    CHECK_EQ(__wasi_fd_renumber(fd, 1000), __WASI_ERRNO_BADF);
    CHECK_EQ(__wasi_fd_close(fd), 0);
}

static void test_times(__wasi_fd_t dir)
{
    write_file("times.txt", "t");
    __wasi_filestat_t fs;
    const __wasi_timestamp_t t = 1234567890ull * 1000000000ull;
    CHECK_EQ(__wasi_path_filestat_set_times(dir, 0, "times.txt", t, t + 5,
                                            __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
             0);
    CHECK_EQ(__wasi_path_filestat_get(dir, 0, "times.txt", &fs), 0);
    CHECK_EQ(fs.atim, t);
    CHECK_EQ(fs.mtim, t + 5);
    CHECK_EQ(__wasi_path_filestat_set_times(dir, 0, "times.txt", t, t,
                                            __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
             __WASI_ERRNO_INVAL);
    int fd = open("times.txt", O_RDONLY);
    CHECK_EQ(__wasi_fd_filestat_set_times(fd, 0, t, __WASI_FSTFLAGS_MTIM), 0);
    CHECK_EQ(__wasi_fd_filestat_get(fd, &fs), 0);
    CHECK_EQ(fs.mtim, t);
    CHECK_EQ(fs.atim, t); /* omitted: unchanged */
    CHECK_EQ(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM_NOW), 0);
    CHECK_EQ(__wasi_fd_filestat_get(fd, &fs), 0);
    CHECK(fs.atim > t);
    CHECK_EQ(fs.mtim, t);
    close(fd);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists data/ with a raw fd_readdir and a tiny buffer, so entries cross
 * buffer ends and come back truncated. */
static void test_readdir(__wasi_fd_t dir)
{
    char name[32];
    CHECK_EQ(mkdir("data", 0755), 0);
    CHECK_EQ(mkdir("data", 0755), -1);
    CHECK_EQ(errno, EEXIST);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "data/f%02d", i);
        write_file(name, "x");
    }
    __wasi_fd_t d;
    CHECK_EQ(__wasi_path_open(dir, 0, "data", __WASI_OFLAGS_DIRECTORY,
                              __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN, 0, 0, &d),
             0);
    __wasi_fdstat_t st;
    CHECK_EQ(__wasi_fd_fdstat_get(d, &st), 0);
    CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    char *names[64];
    int count = 0, calls = 0;
    uint8_t buf[70];
    __wasi_dircookie_t cookie = 0;
    for (;;) {
        __wasi_size_t used = 0;
        CHECK_EQ(__wasi_fd_readdir(d, buf, sizeof buf, cookie, &used), 0);
        calls++;
        size_t off = 0;
        while (off + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t ent;
            memcpy(&ent, buf + off, sizeof ent);
            if (off + sizeof ent + ent.d_namlen > used) break; /* truncated */
            if (count < 64) {
                names[count] = strndup((char *)buf + off + sizeof ent, ent.d_namlen);
                count++;
            }
            int isdot = ent.d_namlen <= 2 && buf[off + sizeof ent] == '.';
            CHECK_EQ(ent.d_type, isdot ? __WASI_FILETYPE_DIRECTORY : __WASI_FILETYPE_REGULAR_FILE);
            cookie = ent.d_next;
            off += sizeof ent + ent.d_namlen;
        }
        if (used < sizeof buf || calls > 200) break;
    }
    CHECK_EQ(count, 42);
    qsort(names, (size_t)count, sizeof names[0], cmp_str);
    CHECK(count > 2 && strcmp(names[0], ".") == 0 && strcmp(names[1], "..") == 0);
    CHECK(count == 42 && strcmp(names[2], "f00") == 0 && strcmp(names[41], "f39") == 0);
    for (int i = 0; i < count; i++) free(names[i]);

    /* going back to an earlier cookie and starting over work */
    __wasi_size_t used = 0;
    CHECK_EQ(__wasi_fd_readdir(d, buf, sizeof buf, 3, &used), 0);
    CHECK(used > sizeof(__wasi_dirent_t));
    __wasi_dirent_t ent;
    memcpy(&ent, buf, sizeof ent);
    CHECK_EQ(ent.d_next, 4);
    CHECK_EQ(__wasi_fd_readdir(d, buf, sizeof buf, 1000, &used), 0);
    CHECK_EQ(used, 0);
    CHECK_EQ(__wasi_fd_read(d, &(__wasi_iovec_t){buf, 4}, 1, &used), __WASI_ERRNO_ISDIR);
    CHECK_EQ(__wasi_fd_close(d), 0);

    /* libc's own readdir over the same directory */
    DIR *dp = opendir("data");
    CHECK(dp != NULL);
    int n = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp)) != NULL) n++;
    CHECK_EQ(n, 42);
    if (dp) closedir(dp);

    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "data/f%02d", i);
        CHECK_EQ(unlink(name), 0);
    }
}

static void test_names(__wasi_fd_t dir)
{
    /* rename, hard link, symlink, readlink */
    CHECK_EQ(rename("hello.txt", "data/moved.txt"), 0);
    CHECK_EQ(access("hello.txt", F_OK), -1);
    CHECK_EQ(errno, ENOENT);
    check_content("data/moved.txt", "HELLO, wasi!!\n");
    CHECK_EQ(__wasi_path_link(dir, 0, "data/moved.txt", dir, "hard.txt"), 0);
    __wasi_filestat_t fs, fs2;
    CHECK_EQ(__wasi_path_filestat_get(dir, 0, "hard.txt", &fs), 0);
    CHECK_EQ(fs.nlink, 2);
    CHECK_EQ(__wasi_path_link(dir, 0, "data/moved.txt", dir, "hard.txt"), __WASI_ERRNO_EXIST);
    CHECK_EQ(__wasi_path_link(dir, 0, "data", dir, "dirlink"), __WASI_ERRNO_PERM);

    CHECK_EQ(__wasi_path_symlink("moved.txt", dir, "data/link"), 0);
    CHECK_EQ(__wasi_path_symlink("moved.txt", dir, "data/link"), __WASI_ERRNO_EXIST);
    char buf[64] = {0};
    __wasi_size_t used = 0;
    CHECK_EQ(__wasi_path_readlink(dir, "data/link", (uint8_t *)buf, sizeof buf, &used), 0);
    CHECK_EQ(used, 9);
    CHECK(memcmp(buf, "moved.txt", 9) == 0);
    CHECK_EQ(__wasi_path_readlink(dir, "data/link", (uint8_t *)buf, 4, &used), 0);
    CHECK_EQ(used, 4);
    CHECK_EQ(__wasi_path_readlink(dir, "data/moved.txt", (uint8_t *)buf, sizeof buf, &used),
             __WASI_ERRNO_INVAL);
    CHECK_EQ(__wasi_path_filestat_get(dir, 0, "data/link", &fs), 0);
    CHECK_EQ(fs.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
    CHECK_EQ(__wasi_path_filestat_get(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "data/link", &fs2), 0);
    CHECK_EQ(fs2.filetype, __WASI_FILETYPE_REGULAR_FILE);
    CHECK_EQ(fs2.size, 14);
    check_content("data/link", "HELLO, wasi!!\n");
    __wasi_fd_t fd;
    CHECK_EQ(__wasi_path_open(dir, 0, "data/link", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd),
             __WASI_ERRNO_LOOP);
    /* a link through a symlink that stays inside, with follow */
    CHECK_EQ(__wasi_path_link(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "data/link", dir,
                              "gone2.txt"),
             0);
    CHECK_EQ(__wasi_path_filestat_get(dir, 0, "gone2.txt", &fs), 0);
    CHECK_EQ(fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
    CHECK_EQ(fs.nlink, 3);
    CHECK_EQ(__wasi_path_unlink_file(dir, "gone2.txt"), 0);

    /* directories */
    CHECK_EQ(__wasi_path_create_directory(dir, "gone3"), 0);
    CHECK_EQ(__wasi_path_create_directory(dir, "gone3/sub/"), 0);
    CHECK_EQ(__wasi_path_create_directory(dir, "gone3"), __WASI_ERRNO_EXIST);
    CHECK_EQ(__wasi_path_create_directory(dir, "."), __WASI_ERRNO_EXIST);
    CHECK_EQ(__wasi_path_remove_directory(dir, "gone3"), __WASI_ERRNO_NOTEMPTY);
    CHECK_EQ(__wasi_path_unlink_file(dir, "gone3"), __WASI_ERRNO_ISDIR);
    CHECK_EQ(__wasi_path_remove_directory(dir, "hard.txt"), __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_path_remove_directory(dir, "gone3/sub/"), 0);
    CHECK_EQ(__wasi_path_rename(dir, "gone3", dir, "gone4"), 0);
    CHECK_EQ(__wasi_path_remove_directory(dir, "gone3"), __WASI_ERRNO_NOENT);
    CHECK_EQ(__wasi_path_remove_directory(dir, "gone4"), 0);
    CHECK_EQ(__wasi_path_unlink_file(dir, "nothing"), __WASI_ERRNO_NOENT);
    CHECK_EQ(__wasi_path_unlink_file(dir, "hard.txt/"), __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_path_rename(dir, "nothing", dir, "x"), __WASI_ERRNO_NOENT);

    /* libc stat agrees */
    struct stat sb;
    CHECK_EQ(stat("data/moved.txt", &sb), 0);
    CHECK_EQ(sb.st_size, 14);
    CHECK(S_ISREG(sb.st_mode));
    CHECK_EQ(lstat("data/link", &sb), 0);
    CHECK(S_ISLNK(sb.st_mode));
}

int main(void)
{
    __wasi_fd_t dir = preopen_fd();
    __wasi_fdstat_t st;
    CHECK_EQ(__wasi_fd_fdstat_get(dir, &st), 0);
    CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    test_read_write_seek();
    test_open_flags(dir);
    test_times(dir);
    test_readdir(dir);
    test_names(dir);
    return check_result("files");
}
