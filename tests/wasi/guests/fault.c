/*
 * fault.c — bad guest pointers: every function given a pointer or a
 * length reaching past the end of linear memory returns FAULT, writes
 * nothing and leaves the guest running. Run with a preopen "/box"
 * (an empty directory) and stdin at end of file. Functions whose libc
 * wrapper would itself read a bad string (strlen) are called through raw
 * imports. The test script checks
 * that the marker text below never reaches stdout.
 */
#include <string.h>

#include "check.h"

#define FAULT __WASI_ERRNO_FAULT

static const char marker[] = "MUST-NOT-APPEAR\n";

int main(void)
{
    const uint32_t end = MEM_END;
    __wasi_size_t n = 12345;
    __wasi_ciovec_t good = {(const uint8_t *)marker, sizeof marker - 1};
    __wasi_ciovec_t past = {AT(end - 4), 16};
    static __wasi_ciovec_t at_end[1];

    /* fd_write: iovec array straddling the end, buffer past the end,
     * result pointer past the end (checked before writing) */
    CHECK_EQ(__wasi_fd_write(1, AT(end - 4), 1, &n), FAULT);
    CHECK_EQ(__wasi_fd_write(1, AT(end), 1, &n), FAULT);
    CHECK_EQ(__wasi_fd_write(1, &past, 1, &n), FAULT);
    CHECK_EQ(__wasi_fd_write(1, &good, 1, AT(end - 2)), FAULT);
    CHECK_EQ(__wasi_fd_write(1, &good, 1, AT(0xfffffffcu)), FAULT);
    __wasi_ciovec_t two[2] = {good, past};
    CHECK_EQ(__wasi_fd_write(1, two, 2, &n), FAULT); /* the good one is not written either */
    CHECK_EQ(__wasi_fd_write(1, two, 0x20000000u, &n), __WASI_ERRNO_INVAL);
    CHECK_EQ(n, 12345);
    at_end[0] = past;
    CHECK_EQ(__wasi_fd_pwrite(1, at_end, 1, 0, &n), FAULT);

    __wasi_iovec_t rpast = {AT(end - 1), 2};
    CHECK_EQ(__wasi_fd_read(0, &rpast, 1, &n), FAULT);
    CHECK_EQ(__wasi_fd_read(0, AT(end), 1, &n), FAULT);
    CHECK_EQ(__wasi_fd_pread(0, &rpast, 1, 0, &n), FAULT);

    /* results written by the host */
    CHECK_EQ(__wasi_args_sizes_get(AT(end - 2), &n), FAULT);
    CHECK_EQ(__wasi_args_sizes_get(&n, AT(end)), FAULT);
    CHECK_EQ(__wasi_args_get(AT(end - 2), AT(0)), FAULT);
    uint8_t *argvp[8];
    CHECK_EQ(__wasi_args_get(argvp, AT(end - 1)), FAULT);
    CHECK_EQ(__wasi_environ_sizes_get(AT(end), AT(end)), FAULT);
    CHECK_EQ(__wasi_environ_get(AT(end), AT(end)), 0); /* no variables: nothing to write */
    CHECK_EQ(__wasi_clock_time_get(0, 0, AT(end - 4)), FAULT);
    CHECK_EQ(__wasi_clock_res_get(1, AT(end)), FAULT);
    CHECK_EQ(__wasi_random_get(AT(end - 10), 100), FAULT);
    CHECK_EQ(__wasi_random_get(AT(0xfffffff0u), 0x20), FAULT);
    CHECK_EQ(__wasi_fd_fdstat_get(1, AT(end - 8)), FAULT);
    CHECK_EQ(__wasi_fd_filestat_get(3, AT(end - 32)), FAULT);
    CHECK_EQ(__wasi_fd_prestat_get(3, AT(end - 4)), FAULT);
    CHECK_EQ(__wasi_fd_prestat_dir_name(3, AT(end - 1), 4), FAULT);
    /* stdin is /dev/null, which may seek (a directory may not) */
    CHECK_EQ(__wasi_fd_seek(0, 0, __WASI_WHENCE_CUR, AT(end - 4)), FAULT);
    CHECK_EQ(__wasi_fd_tell(0, AT(end)), FAULT);
    CHECK_EQ(__wasi_fd_readdir(3, AT(end - 10), 100, 0, &n), FAULT);
    uint8_t dbuf[128];
    CHECK_EQ(__wasi_fd_readdir(3, dbuf, sizeof dbuf, 0, AT(end)), FAULT);

    /* paths */
    __wasi_fd_t fd;
    __wasi_filestat_t fs;
    extern int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t,
                                 int32_t, int32_t) __attribute__((
        __import_module__("wasi_snapshot_preview1"), __import_name__("path_open")));
    extern int32_t raw_path_create_directory(int32_t, int32_t, int32_t) __attribute__((
        __import_module__("wasi_snapshot_preview1"), __import_name__("path_create_directory")));
    extern int32_t raw_path_symlink(int32_t, int32_t, int32_t, int32_t, int32_t) __attribute__((
        __import_module__("wasi_snapshot_preview1"), __import_name__("path_symlink")));
    CHECK_EQ(raw_path_open(3, 0, (int32_t)(end - 2), 5, 1, -1, -1, 0, (int32_t)(uintptr_t)&fd),
             FAULT);
    CHECK_EQ(raw_path_open(3, 0, (int32_t)(uintptr_t) "x", 1, 1, -1, -1, 0, (int32_t)(end - 1)),
             FAULT);
    CHECK_EQ(raw_path_create_directory(3, (int32_t)end, 3), FAULT);
    CHECK_EQ(raw_path_create_directory(3, 16, -1), __WASI_ERRNO_NAMETOOLONG);
    CHECK_EQ(__wasi_path_filestat_get(3, 0, ".", AT(end - 63)), FAULT);
    CHECK_EQ(__wasi_path_readlink(3, "x", AT(end - 1), 16, &n), FAULT);
    CHECK_EQ(raw_path_symlink((int32_t)end, 4, 3, (int32_t)(uintptr_t) "x", 1), FAULT);
    CHECK_EQ(__wasi_path_filestat_get(3, 0, "x", &fs), __WASI_ERRNO_NOENT); /* nothing made */

    /* poll_oneoff: subscriptions, events or count out of bounds */
    __wasi_subscription_t sub;
    __wasi_event_t ev;
    memset(&sub, 0, sizeof sub);
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    CHECK_EQ(__wasi_poll_oneoff(AT(end - 40), &ev, 1, &n), FAULT);
    CHECK_EQ(__wasi_poll_oneoff(&sub, AT(end - 16), 1, &n), FAULT);
    CHECK_EQ(__wasi_poll_oneoff(&sub, &ev, 1, AT(end)), FAULT);
    CHECK_EQ(__wasi_poll_oneoff(&sub, &ev, 0x10000000u, &n), __WASI_ERRNO_INVAL);

    /* still alive, descriptors intact */
    __wasi_filestat_t alive;
    CHECK_EQ(__wasi_fd_filestat_get(3, &alive), 0);
    CHECK_EQ(alive.filetype, __WASI_FILETYPE_DIRECTORY);
    return check_result("fault");
}
