/*
 * tailcall.c — a guest built with clang -mtail-call (tests/guests): a
 * threaded interpreter whose handlers end by calling the dispatcher, which
 * calls the next handler through a table, ten million steps deep. clang 14
 * emits those calls as return_call and return_call_indirect (only calls
 * with no branch before the return: the stop is a handler, chosen without
 * a branch), which run in constant stack; as plain calls the program would
 * trap with "call stack exhausted". Natively gcc -O2 turns them into jumps.
 */
#include <stdio.h>
#include <stdlib.h>

typedef struct vm vm_t;
typedef unsigned (*handler_t)(const vm_t *vm, unsigned pc, unsigned x, unsigned long n);
struct vm {
    const unsigned char *code; /* four ops, run in a cycle */
    const handler_t *table;    /* op -> handler; entry 3 stops */
};

__attribute__((noinline)) static unsigned dispatch(const vm_t *vm, unsigned pc, unsigned x, unsigned long n)
{
    unsigned op = n == 0 ? 3u : vm->code[pc & 3];
    return vm->table[op](vm, pc + 1, x, n - 1);
}
__attribute__((noinline)) static unsigned op_add(const vm_t *vm, unsigned pc, unsigned x, unsigned long n)
{
    return dispatch(vm, pc, x + 7, n);
}
__attribute__((noinline)) static unsigned op_mul(const vm_t *vm, unsigned pc, unsigned x, unsigned long n)
{
    return dispatch(vm, pc, x * 31, n);
}
__attribute__((noinline)) static unsigned op_xor(const vm_t *vm, unsigned pc, unsigned x, unsigned long n)
{
    return dispatch(vm, pc, x ^ (x >> 3), n);
}
__attribute__((noinline)) static unsigned op_stop(const vm_t *vm, unsigned pc, unsigned x, unsigned long n)
{
    (void)vm, (void)pc, (void)n;
    return x;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
    static const unsigned char code[4] = {0, 1, 2, 1};
    static const handler_t table[4] = {op_add, op_mul, op_xor, op_stop};
    const vm_t vm = {code, table};
    printf("vm(%lu steps) = %u\n", n, dispatch(&vm, 0, 1, n));
    printf("vm(%lu steps) = %u\n", n / 3, dispatch(&vm, 1, 5, n / 3));
    return 0;
}
