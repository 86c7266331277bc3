/*
 * sandbox.c — attempts to leave the preopened directory "box", each of
 * which must fail with the right errno (mostly NOTCAPABLE) without
 * touching the host. The test script builds the scene first:
 *
 *   T/outside/secret.txt            "top secret", mtime 1000000000
 *   T/box/inner.txt                 "inner"
 *   T/box/sub/                      a directory
 *   T/box/etc_link -> /etc          absolute, outside
 *   T/box/up -> ..                  the parent of the preopen
 *   T/box/out_file -> ../outside/secret.txt
 *   T/box/abs_file -> T/outside/secret.txt
 *   T/box/victim_link -> ../outside/secret.txt
 *   T/box/sub/deep_up -> ../../outside
 *   T/box/in_link -> inner.txt      stays inside: must work
 *
 * and afterwards checks that T holds only box/ and outside/, that
 * outside/ holds only secret.txt, unchanged, and that inner.txt is intact.
 * Nothing here ever writes to /etc, even if the sandbox were broken.
 */
#include <string.h>

#include "check.h"

#define NOTCAP __WASI_ERRNO_NOTCAPABLE

static const __wasi_rights_t R = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
                                 __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_READDIR |
                                 __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_FILESTAT_GET;
static const __wasi_rights_t W = __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE;
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

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

/* path_open for reading: the errno. */
static int open_r(__wasi_fd_t dir, __wasi_lookupflags_t follow, const char *path)
{
    __wasi_fd_t fd;
    int rc = __wasi_path_open(dir, follow, path, 0, R, R, 0, &fd);
    if (rc == 0) CHECK_EQ(__wasi_fd_close(fd), 0);
    return rc;
}

/* path_open that would create or truncate: the errno. */
static int open_w(__wasi_fd_t dir, __wasi_lookupflags_t follow, const char *path)
{
    __wasi_fd_t fd;
    int rc = __wasi_path_open(dir, follow, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R | W,
                              0, 0, &fd);
    if (rc == 0) CHECK_EQ(__wasi_fd_close(fd), 0);
    return rc;
}

int main(void)
{
    const __wasi_fd_t box = find_preopen("/box");
    __wasi_filestat_t fs;

    /* `..`, absolute paths, `..` after a descent */
    CHECK_EQ(open_r(box, FOLLOW, "../outside/secret.txt"), NOTCAP);
    CHECK_EQ(open_r(box, 0, "../outside/secret.txt"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "../outside/secret.txt"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "../x"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "/etc/passwd"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "/"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, ".."), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "sub/../../outside/secret.txt"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "sub/../../x"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "sub/.././../outside"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "sub/.."), 0); /* back at the root: fine */
    CHECK_EQ(open_r(box, FOLLOW, "sub/../inner.txt"), 0);
    CHECK_EQ(open_r(box, FOLLOW, "./sub//..//inner.txt"), 0);

    /* symlinks in the middle of a path */
    CHECK_EQ(open_r(box, FOLLOW, "etc_link/passwd"), NOTCAP);
    CHECK_EQ(open_r(box, 0, "etc_link/passwd"), NOTCAP); /* intermediate: always followed */
    CHECK_EQ(open_r(box, FOLLOW, "up/outside/secret.txt"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "up/outside/secret.txt"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "up/x"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "sub/deep_up/secret.txt"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "sub/deep_up/secret.txt"), NOTCAP);

    /* a symlink as the last component */
    CHECK_EQ(open_r(box, FOLLOW, "out_file"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "out_file"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "abs_file"), NOTCAP);
    CHECK_EQ(open_w(box, FOLLOW, "abs_file"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "etc_link"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "up"), NOTCAP);
    CHECK_EQ(open_r(box, 0, "out_file"), __WASI_ERRNO_LOOP); /* O_NOFOLLOW on a symlink */
    CHECK_EQ(open_r(box, FOLLOW, "out_file/"), NOTCAP);
    CHECK_EQ(open_r(box, FOLLOW, "in_link"), 0);
    CHECK_EQ(open_r(box, FOLLOW, "inner.txt"), 0);

    /* stat: without follow a symlink describes itself, with follow it escapes */
    CHECK_EQ(__wasi_path_filestat_get(box, 0, "out_file", &fs), 0);
    CHECK_EQ(fs.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
    CHECK_EQ(__wasi_path_filestat_get(box, 0, "abs_file", &fs), 0);
    CHECK_EQ(fs.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
    CHECK_EQ(__wasi_path_filestat_get(box, FOLLOW, "out_file", &fs), NOTCAP);
    CHECK_EQ(__wasi_path_filestat_get(box, FOLLOW, "abs_file", &fs), NOTCAP);
    CHECK_EQ(__wasi_path_filestat_get(box, 0, "..", &fs), NOTCAP);
    CHECK_EQ(__wasi_path_filestat_get(box, 0, "../outside/secret.txt", &fs), NOTCAP);
    CHECK_EQ(__wasi_path_filestat_get(box, 0, "up/outside", &fs), NOTCAP);
    CHECK_EQ(__wasi_path_filestat_get(box, 0, "sub/deep_up/", &fs), NOTCAP);
    CHECK_EQ(__wasi_path_filestat_get(box, 0, ".", &fs), 0);
    CHECK_EQ(fs.filetype, __WASI_FILETYPE_DIRECTORY);
    CHECK_EQ(__wasi_path_filestat_get(box, FOLLOW, "in_link", &fs), 0);
    CHECK_EQ(fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
    CHECK_EQ(__wasi_path_filestat_set_times(box, FOLLOW, "out_file", 0, 0,
                                            __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW),
             NOTCAP);
    CHECK_EQ(__wasi_path_filestat_set_times(box, 0, "../outside/secret.txt", 0, 0,
                                            __WASI_FSTFLAGS_MTIM_NOW),
             NOTCAP);
    /* readlink shows a link's text, wherever it points */
    char buf[64] = {0};
    __wasi_size_t used = 0;
    CHECK_EQ(__wasi_path_readlink(box, "etc_link", (uint8_t *)buf, sizeof buf, &used), 0);
    CHECK_EQ(used, 4);
    CHECK(memcmp(buf, "/etc", 4) == 0);
    CHECK_EQ(__wasi_path_readlink(box, "up/up", (uint8_t *)buf, sizeof buf, &used), NOTCAP);
    CHECK_EQ(__wasi_path_readlink(box, "..", (uint8_t *)buf, sizeof buf, &used), NOTCAP);

    /* directories */
    CHECK_EQ(__wasi_path_create_directory(box, "../newdir"), NOTCAP);
    CHECK_EQ(__wasi_path_create_directory(box, "up/newdir"), NOTCAP);
    CHECK_EQ(__wasi_path_create_directory(box, "sub/deep_up/newdir"), NOTCAP);
    CHECK_EQ(__wasi_path_create_directory(box, "/tmp/newdir"), NOTCAP);
    CHECK_EQ(__wasi_path_create_directory(box, ".."), NOTCAP);
    CHECK_EQ(__wasi_path_remove_directory(box, ".."), NOTCAP);
    CHECK_EQ(__wasi_path_remove_directory(box, "up/outside"), NOTCAP);
    CHECK_EQ(__wasi_path_remove_directory(box, "etc_link/"), __WASI_ERRNO_NOTDIR);

    /* unlink: through links never; the link itself is the guest's to remove */
    CHECK_EQ(__wasi_path_unlink_file(box, "../outside/secret.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_unlink_file(box, "up/outside/secret.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_unlink_file(box, "sub/deep_up/secret.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_unlink_file(box, "victim_link/"), __WASI_ERRNO_NOTDIR);
    CHECK_EQ(__wasi_path_unlink_file(box, "victim_link"), 0);

    /* rename: neither end may leave */
    CHECK_EQ(__wasi_path_rename(box, "inner.txt", box, "../stolen.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_rename(box, "inner.txt", box, "up/stolen.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_rename(box, "inner.txt", box, "sub/deep_up/stolen.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_rename(box, "../outside/secret.txt", box, "got.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_rename(box, "up/outside/secret.txt", box, "got.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_rename(box, "sub/deep_up", box, "got"), 0); /* the link moves */
    CHECK_EQ(__wasi_path_rename(box, "got", box, "sub/deep_up"), 0);
    CHECK_EQ(__wasi_path_rename(box, "..", box, "got"), NOTCAP);

    /* hard links */
    CHECK_EQ(__wasi_path_link(box, 0, "../outside/secret.txt", box, "hard"), NOTCAP);
    CHECK_EQ(__wasi_path_link(box, 0, "up/outside/secret.txt", box, "hard"), NOTCAP);
    CHECK_EQ(__wasi_path_link(box, FOLLOW, "out_file", box, "hard"), NOTCAP);
    CHECK_EQ(__wasi_path_link(box, FOLLOW, "abs_file", box, "hard"), NOTCAP);
    CHECK_EQ(__wasi_path_link(box, 0, "inner.txt", box, "../hard"), NOTCAP);
    CHECK_EQ(__wasi_path_link(box, 0, "inner.txt", box, "sub/deep_up/hard"), NOTCAP);

    /* symlinks: new name inside only; text may not lead outside */
    CHECK_EQ(__wasi_path_symlink("inner.txt", box, "../newlink"), NOTCAP);
    CHECK_EQ(__wasi_path_symlink("inner.txt", box, "up/newlink"), NOTCAP);
    CHECK_EQ(__wasi_path_symlink("/etc/passwd", box, "newlink"), NOTCAP);
    CHECK_EQ(__wasi_path_symlink("../outside/secret.txt", box, "newlink"), NOTCAP);
    CHECK_EQ(__wasi_path_symlink("sub/../../outside", box, "newlink"), NOTCAP);
    CHECK_EQ(__wasi_path_symlink("../..", box, "sub/newlink"), NOTCAP);
    CHECK_EQ(__wasi_path_symlink("../inner.txt", box, "sub/gone_link"), 0);
    CHECK_EQ(open_r(box, FOLLOW, "sub/gone_link"), 0);
    CHECK_EQ(__wasi_path_unlink_file(box, "sub/gone_link"), 0);

    /* a directory the guest opened confines like a preopen */
    __wasi_fd_t sub;
    CHECK_EQ(__wasi_path_open(box, 0, "sub", __WASI_OFLAGS_DIRECTORY,
                              R | __WASI_RIGHTS_PATH_CREATE_FILE, R | W, 0, &sub),
             0);
    CHECK_EQ(open_r(sub, FOLLOW, "../inner.txt"), NOTCAP);
    CHECK_EQ(open_r(sub, FOLLOW, "deep_up/secret.txt"), NOTCAP);
    CHECK_EQ(__wasi_path_filestat_get(sub, 0, "..", &fs), NOTCAP);
    CHECK_EQ(__wasi_fd_close(sub), 0);

    /* malformed paths */
    char longpath[5000];
    memset(longpath, 'a', sizeof longpath);
    CHECK_EQ(__wasi_path_open(box, 0, longpath, 0, R, 0, 0, &sub), __WASI_ERRNO_NAMETOOLONG);
    CHECK_EQ(__wasi_path_open(box, 0, "", 0, R, 0, 0, &sub), __WASI_ERRNO_NOENT);
    /* a NUL inside the path: call the import with an explicit length */
    extern int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t,
                                 int32_t, int32_t) __attribute__((
        __import_module__("wasi_snapshot_preview1"), __import_name__("path_open")));
    static const char nul[] = "inner.txt\0../x";
    CHECK_EQ(raw_path_open((int32_t)box, 0, (int32_t)(uintptr_t)nul, sizeof nul - 1, 0,
                           (int64_t)R, 0, 0, (int32_t)(uintptr_t)&sub),
             __WASI_ERRNO_INVAL);
    return check_result("sandbox");
}
