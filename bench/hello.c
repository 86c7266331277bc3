/*
 * bench/hello.c — the program bench/startup.sh starts over and over.
 *
 * The classic hello world through printf, built natively and to wasm32-wasi:
 * the native run is the floor, `weft run hello.wasm` adds decoding,
 * validating and compiling the module (wasi-libc's printf included),
 * instantiating it and WASI set-up. Kept minimal on purpose.
 */
#include <stdio.h>

int main(void)
{
    printf("Hello, world!\n");
    return 0;
}
