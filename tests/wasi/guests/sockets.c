/*
 * sockets.c — the sock_* calls on descriptors that are not sockets: BADF
 * for a closed one, NOTSOCK for any other, as POSIX says (wasi-testsuite's
 * sock_shutdown-invalid_fd and sock_shutdown-not_sock, and the same for
 * sock_accept, sock_recv and sock_send). The test script preopens an empty
 * scratch directory as "box" (fd 3) and gives /dev/null as stdin.
 *
 *   sockets.wasm            the checks above
 *   sockets.wasm stdin      stdin is a socket: every call is NOTSUP
 *                           (weft implements no socket calls), not NOTSOCK
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

/* The four calls on `fd`, each expected to give `want`. */
static void check_all(__wasi_fd_t fd, int want)
{
    uint8_t buf[4];
    __wasi_iovec_t iov = {buf, sizeof buf};
    __wasi_ciovec_t ciov = {buf, sizeof buf};
    __wasi_size_t n = 99;
    __wasi_roflags_t roflags = 0;
    __wasi_fd_t conn = 99;
    CHECK_EQ(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD), want);
    CHECK_EQ(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR), want);
    CHECK_EQ(__wasi_sock_accept(fd, 0, &conn), want);
    CHECK_EQ(__wasi_sock_recv(fd, &iov, 1, 0, &n, &roflags), want);
    CHECK_EQ(__wasi_sock_send(fd, &ciov, 1, 0, &n), want);
    CHECK_EQ(n, 99); /* no result written on failure */
    CHECK_EQ(conn, 99);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "stdin") == 0) {
        __wasi_fdstat_t st;
        CHECK_EQ(__wasi_fd_fdstat_get(0, &st), 0);
        CHECK_EQ(st.fs_filetype, __WASI_FILETYPE_SOCKET_STREAM);
        CHECK(st.fs_rights_base & __WASI_RIGHTS_SOCK_SHUTDOWN);
        check_all(0, __WASI_ERRNO_NOTSUP);
        return check_result("sockets stdin");
    }

    /* through wasi-libc, as the suite's C tests do */
    errno = 0;
    CHECK_EQ(shutdown(STDOUT_FILENO, SHUT_RD), -1);
    CHECK_EQ(errno, ENOTSOCK);
    errno = 0;
    CHECK_EQ(shutdown(40, SHUT_RD), -1);
    CHECK_EQ(errno, EBADF);

    check_all(0, __WASI_ERRNO_NOTSOCK); /* /dev/null */
    check_all(1, __WASI_ERRNO_NOTSOCK);
    check_all(3, __WASI_ERRNO_NOTSOCK); /* the preopened directory */

    __wasi_fd_t f;
    CHECK_EQ(__wasi_path_open(3, 0, "f.txt", __WASI_OFLAGS_CREAT,
                              __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &f),
             0);
    check_all(f, __WASI_ERRNO_NOTSOCK); /* a regular file */
    CHECK_EQ(__wasi_fd_close(f), 0);
    check_all(f, __WASI_ERRNO_BADF); /* closed */
    CHECK_EQ(__wasi_path_unlink_file(3, "f.txt"), 0);

    check_all(40, __WASI_ERRNO_BADF);          /* never opened */
    check_all(0xffffffffu, __WASI_ERRNO_BADF); /* far past the table */
    return check_result("sockets");
}
