/* broken_pipe.c — stdout is a pipe whose reader quits after one line:
 * the guest must see EPIPE (and exit 3), never the host die of SIGPIPE.
 * Seeking the pipe is ESPIPE, as POSIX says (not NOTCAPABLE). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

int main(void)
{
    if (lseek(1, 0, SEEK_CUR) != -1 || errno != ESPIPE) {
        fprintf(stderr, "lseek on a pipe: %s\n", strerror(errno));
        return 4;
    }
    for (int i = 0; i < 1000000; i++) {
        if (printf("line %d\n", i) < 0 || fflush(stdout) != 0)
            return errno == EPIPE ? 3 : 5;
    }
    return 0;
}
