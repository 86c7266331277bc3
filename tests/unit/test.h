/*
 * test.h — the unit tests' tiny framework (in the spirit of libuv's task.h).
 *
 * TEST(name) defines a test and registers it before main() runs (a GNU
 * constructor), so a test file needs no list. ASSERT_* macros print both
 * sides with file and line, then abandon the test with longjmp; cleanups
 * registered with test_defer() run afterwards whether the test passed or
 * not. Never assert inside a callback the engine runs (host functions): a
 * longjmp across the engine would leave it mid-call. Record what the
 * callback saw and assert after the call returns.
 */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct test_case {
    const char *name;
    void (*fn)(void);
    const char *file;
    int line;
    struct test_case *next;
} test_case_t;

void test_register(test_case_t *tc);

/* Reports a failure and leaves the running test. */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* Runs fn(arg) when the current test ends, pass or fail, in reverse order of
 * registration. At most 256 per test. */
void test_defer(void (*fn)(void *), void *arg);

#define TEST(name)                                                                        \
    static void test_fn_##name(void);                                                     \
    static test_case_t test_case_##name = {#name, test_fn_##name, __FILE__, __LINE__, 0}; \
    __attribute__((constructor)) static void test_reg_##name(void)                        \
    {                                                                                     \
        test_register(&test_case_##name);                                                 \
    }                                                                                     \
    static void test_fn_##name(void)

#define FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT_TRUE(c)                                        \
    do {                                                      \
        if (!(c))                                             \
            FAIL("ASSERT_TRUE(%s): false", #c);               \
    } while (0)

#define ASSERT_FALSE(c)                                       \
    do {                                                      \
        if (c)                                                \
            FAIL("ASSERT_FALSE(%s): true", #c);               \
    } while (0)

#define ASSERT_CMP_INT_(a, op, b)                                                      \
    do {                                                                               \
        long long ta_ = (long long)(a), tb_ = (long long)(b);                          \
        if (!(ta_ op tb_))                                                             \
            FAIL("%s %s %s: left = %lld, right = %lld", #a, #op, #b, ta_, tb_);        \
    } while (0)

#define ASSERT_CMP_U64_(a, op, b)                                                      \
    do {                                                                               \
        uint64_t ta_ = (uint64_t)(a), tb_ = (uint64_t)(b);                             \
        if (!(ta_ op tb_))                                                             \
            FAIL("%s %s %s: left = %" PRIu64 " (0x%" PRIx64 "), right = %" PRIu64      \
                 " (0x%" PRIx64 ")",                                                   \
                 #a, #op, #b, ta_, ta_, tb_, tb_);                                     \
    } while (0)

#define ASSERT_EQ_INT(a, b) ASSERT_CMP_INT_(a, ==, b)
#define ASSERT_NE_INT(a, b) ASSERT_CMP_INT_(a, !=, b)
#define ASSERT_LT_INT(a, b) ASSERT_CMP_INT_(a, <, b)
#define ASSERT_GT_INT(a, b) ASSERT_CMP_INT_(a, >, b)
#define ASSERT_EQ_U64(a, b) ASSERT_CMP_U64_(a, ==, b)
#define ASSERT_NE_U64(a, b) ASSERT_CMP_U64_(a, !=, b)
#define ASSERT_LT_U64(a, b) ASSERT_CMP_U64_(a, <, b)
#define ASSERT_GT_U64(a, b) ASSERT_CMP_U64_(a, >, b)

#define ASSERT_EQ_PTR(a, b)                                                  \
    do {                                                                     \
        const void *ta_ = (const void *)(a), *tb_ = (const void *)(b);       \
        if (ta_ != tb_)                                                      \
            FAIL("%s == %s: left = %p, right = %p", #a, #b, ta_, tb_);       \
    } while (0)

#define ASSERT_NULL(p)                                                       \
    do {                                                                     \
        const void *tp_ = (const void *)(p);                                 \
        if (tp_ != NULL)                                                     \
            FAIL("ASSERT_NULL(%s): got %p", #p, tp_);                        \
    } while (0)

#define ASSERT_NOT_NULL(p)                                                   \
    do {                                                                     \
        if ((p) == NULL)                                                     \
            FAIL("ASSERT_NOT_NULL(%s): got NULL", #p);                       \
    } while (0)

#define ASSERT_EQ_STR(a, b)                                                  \
    do {                                                                     \
        const char *ta_ = (a), *tb_ = (b);                                   \
        if (ta_ == NULL || tb_ == NULL || strcmp(ta_, tb_) != 0)             \
            FAIL("%s == %s: left = \"%s\", right = \"%s\"", #a, #b,          \
                 ta_ ? ta_ : "(null)", tb_ ? tb_ : "(null)");                \
    } while (0)

/* Compares len bytes; names the first differing offset. */
#define ASSERT_EQ_MEM(a, b, len)                                             \
    do {                                                                     \
        const unsigned char *ta_ = (const unsigned char *)(a);               \
        const unsigned char *tb_ = (const unsigned char *)(b);               \
        size_t tn_ = (len);                                                  \
        for (size_t ti_ = 0; ti_ < tn_; ti_++)                               \
            if (ta_[ti_] != tb_[ti_])                                        \
                FAIL("%s == %s (%zu bytes): differ at %zu: 0x%02x != 0x%02x", \
                     #a, #b, tn_, ti_, ta_[ti_], tb_[ti_]);                  \
    } while (0)

/* `hay` (a string, may be NULL) contains `needle`. */
#define ASSERT_CONTAINS(hay, needle)                                         \
    do {                                                                     \
        const char *th_ = (hay), *tn_ = (needle);                            \
        if (th_ == NULL || strstr(th_, tn_) == NULL)                         \
            FAIL("%s contains \"%s\": got \"%s\"", #hay, tn_,                \
                 th_ ? th_ : "(null)");                                      \
    } while (0)

#endif
