/*
 * resources.c — the core module of the `resources` test component
 * (resources.wit), against the canonical ABI by hand: an exported resource
 * is implemented with the [resource-new] import (rep -> handle), and its
 * methods receive the rep of a borrowed handle, its destructor the rep.
 * `live` counts the counters not yet destroyed.
 */
#include <stdint.h>
#include <stdlib.h>

#define IFACE "weft:test/counters@0.1.0"

__attribute__((import_module("[export]" IFACE), import_name("[resource-new]counter")))
int32_t counter_new(int32_t rep);

static uint32_t live_count;

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    (void)old_size;
    (void)align;
    return realloc(old, new_size ? new_size : 1);
}

__attribute__((export_name(IFACE "#[constructor]counter"))) int32_t ctor(uint32_t start)
{
    uint32_t *c = malloc(sizeof *c);
    *c = start;
    live_count++;
    return counter_new((int32_t)(uintptr_t)c);
}

__attribute__((export_name(IFACE "#[method]counter.inc"))) uint32_t inc(uint32_t *self)
{
    return ++*self;
}

__attribute__((export_name(IFACE "#peek"))) uint32_t peek(uint32_t *c) { return *c; }

__attribute__((export_name(IFACE "#live"))) uint32_t live(void) { return live_count; }

__attribute__((export_name(IFACE "#[dtor]counter"))) void dtor(uint32_t *self)
{
    live_count--;
    free(self);
}
