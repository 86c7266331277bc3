/*
 * basic.c — the core module of the `basic` test component (basic.wit),
 * written against the canonical ABI by hand (no bindings generator): the
 * core names and signatures are those wit-component expects for the world's
 * exports ("add", "greet", "cabi_post_greet", "cabi_realloc") and imports
 * (module "weft:test/host@0.1.0", field "log").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("weft:test/host@0.1.0"), import_name("log")))
void host_log(const char *p, size_t n);

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    (void)old_size;
    (void)align; /* malloc's alignment (16) covers every canonical ABI type */
    return realloc(old, new_size ? new_size : 1);
}

__attribute__((export_name("add"))) uint32_t add(uint32_t a, uint32_t b) { return a + b; }

static uint32_t ret_area[4];

/* greet(name) -> "hello, " + name; the result (ptr, len) is returned
 * through memory (2 flat values > MAX_FLAT_RESULTS) and freed by
 * cabi_post_greet after the host copied it. */
__attribute__((export_name("greet"))) uint32_t *greet(char *name, size_t len)
{
    host_log(name, len);
    char *out = malloc(len + 7);
    memcpy(out, "hello, ", 7);
    memcpy(out + 7, name, len);
    free(name); /* the argument was allocated by the host through cabi_realloc */
    ret_area[0] = (uint32_t)(uintptr_t)out;
    ret_area[1] = (uint32_t)(len + 7);
    return ret_area;
}

__attribute__((export_name("cabi_post_greet"))) void post_greet(uint32_t *ret)
{
    free((void *)(uintptr_t)ret[0]);
}

__attribute__((export_name("point-sum"))) int64_t point_sum(int32_t x, int32_t y)
{
    return (int64_t)x + y;
}

/* sign: discriminant u8 at 0, payload (u64 | f64) at 8 */
static uint64_t sign_area[2];

__attribute__((export_name("classify"))) uint8_t *classify(int64_t n)
{
    uint8_t *p = (uint8_t *)sign_area;
    memset(sign_area, 0, sizeof sign_area);
    if (n < 0) {
        p[0] = 0;
        sign_area[1] = (uint64_t)(-(n + 1)) + 1;
    } else if (n == 0) {
        p[0] = 1;
    } else {
        double d = (double)n;
        p[0] = 2;
        memcpy(&sign_area[1], &d, 8);
    }
    return p;
}
