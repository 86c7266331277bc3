/* hello.c — the smallest WASI command: printf through fd_write, exit 0. */
#include <stdio.h>

int main(void)
{
    printf("hello, %s\n", "wasi");
    return 0;
}
