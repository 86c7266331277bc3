/*
 * blocked.c — test guest of tests/nx/timeout_test.sh: a WASI program that
 * blocks in one host call, so that --timeout or Ctrl-C must cut the call
 * itself short (issue 9, "timeouts that do not time out").
 *
 *   weft run [--dir D::/d] blocked.wasm read        read(0) (an idle pipe)
 *   weft run --dir D::/d blocked.wasm open PATH      open a FIFO with no writer
 *
 * Prints "blocking" on stderr before the call, and "returned" after it
 * through its own fd_write import with no wasm call or loop in between,
 * since the engine looks at the interrupt flag at those: a host call that
 * ignored the interrupt is seen by that line.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) int32_t
raw_fd_write(int32_t fd, const void *iovs, int32_t n, uint32_t *out);

static const char returned[] = "returned\n";

int main(int argc, char **argv)
{
    uint32_t iov[2] = {(uint32_t)(uintptr_t)returned, sizeof returned - 1}, n;
    if (argc < 2) return 64;
    write(2, "blocking\n", 9);
    long r;
    if (strcmp(argv[1], "read") == 0) {
        char b[1];
        r = read(0, b, 1);
    } else if (strcmp(argv[1], "open") == 0 && argc == 3) {
        r = open(argv[2], O_RDONLY);
    } else {
        return 64;
    }
    raw_fd_write(2, iov, 1, &n);
    return r < 0 ? 1 : 0;
}
