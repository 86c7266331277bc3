/* hello.c — a WASI preview 1 command, made a preview 2 component with jco's
 * command adapter (jco new --wasi-command): prints a line and exits 0. */
#include <stdio.h>

int main(void)
{
    printf("hello from a component\n");
    return 0;
}
