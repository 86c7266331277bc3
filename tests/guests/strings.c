/*
 * tests/guests/strings.c — qsort, bsearch, string functions, function pointers.
 *
 * Sorts integers, strings and records with comparators passed by pointer
 * (call_indirect in wasm), dispatches through tables of function pointers
 * and exercises the <string.h>, <ctype.h> and formatting functions. Every
 * comparator is a total order (ties broken by a unique key): glibc's qsort
 * is stable and musl's is not, and the output must not depend on that.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 2024;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int cmp_int(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_int_desc(const void *a, const void *b)
{
    return cmp_int(b, a);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct {
    char name[16];
    int32_t score;
    uint32_t id; /* unique: the tie-breaker */
} record_t;

static int cmp_record(const void *a, const void *b)
{
    const record_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1; /* best first */
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->id > y->id) - (x->id < y->id);
}

static int32_t op_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static int32_t op_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static int32_t op_mul(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
static int32_t op_max(int32_t a, int32_t b) { return a > b ? a : b; }
static int32_t op_xor(int32_t a, int32_t b) { return a ^ b; }

typedef int32_t (*binop_t)(int32_t, int32_t);

static const struct {
    const char *name;
    binop_t fn;
} ops[] = {{"add", op_add}, {"sub", op_sub}, {"mul", op_mul}, {"max", op_max}, {"xor", op_xor}};

/* A fold through a function pointer handed down as an argument. */
static int32_t fold(const int32_t *v, size_t n, int32_t init, binop_t f)
{
    for (size_t i = 0; i < n; i++)
        init = f(init, v[i]);
    return init;
}

static void sorting(void)
{
    enum { N = 5000 };
    static int32_t v[N];
    for (int i = 0; i < N; i++)
        v[i] = (int32_t)(next() % 100000) - 50000;
    qsort(v, N, sizeof v[0], cmp_int);
    int sorted = 1;
    for (int i = 1; i < N; i++)
        sorted &= v[i - 1] <= v[i];
    printf("ints sorted: %d, min %" PRId32 " median %" PRId32 " max %" PRId32 "\n", sorted, v[0],
           v[N / 2], v[N - 1]);
    for (int i = 0; i < 10; i++) {
        int32_t key = v[next() % N];
        int32_t *hit = bsearch(&key, v, N, sizeof v[0], cmp_int);
        printf("bsearch %" PRId32 ": %s\n", key, hit && *hit == key ? "found" : "MISSING");
    }
    int32_t absent = 50001;
    printf("bsearch 50001: %s\n", bsearch(&absent, v, N, sizeof v[0], cmp_int) ? "found" : "absent");
    qsort(v, N, sizeof v[0], cmp_int_desc);
    printf("desc: %" PRId32 " %" PRId32 " %" PRId32 "\n", v[0], v[1], v[N - 1]);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        printf("fold %s = %" PRId32 "\n", ops[i].name, fold(v, N, 1, ops[i].fn));

    static const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "kiwi",
                                  "lemon", "mango", "apricot", "Zebra", "zebra", "", "a", "ab"};
    const char *w[sizeof words / sizeof words[0]];
    memcpy(w, words, sizeof words);
    size_t nw = sizeof w / sizeof w[0];
    qsort(w, nw, sizeof w[0], cmp_str);
    for (size_t i = 0; i < nw; i++)
        printf("%s[%s]", i ? " " : "words: ", w[i]);
    putchar('\n');

    record_t rec[300];
    for (int i = 0; i < 300; i++) {
        snprintf(rec[i].name, sizeof rec[i].name, "p%03u", (unsigned)(next() % 50));
        rec[i].score = (int32_t)(next() % 20);
        rec[i].id = (uint32_t)i;
    }
    qsort(rec, 300, sizeof rec[0], cmp_record);
    for (int i = 0; i < 300; i += 23)
        printf("rank %3d: %s score %2" PRId32 " id %3" PRIu32 "\n", i, rec[i].name, rec[i].score,
               rec[i].id);
}

static void strings(void)
{
    char buf[256];
    strcpy(buf, "Hello");
    strcat(buf, ", ");
    const char *volatile tail = "WebAssembly world!!!"; /* opaque to the compiler */
    strncat(buf, tail, 17);
    printf("buf='%s' len=%zu\n", buf, strlen(buf));
    printf("strchr o: %s | strrchr o: %s | strstr Assembly: %s | strstr xyz: %s\n",
           strchr(buf, 'o'), strrchr(buf, 'o'), strstr(buf, "Assembly"),
           strstr(buf, "xyz") ? "found" : "(null)");
    printf("strcmp: %d %d %d strncmp: %d memcmp: %d\n", strcmp("abc", "abd") < 0,
           strcmp("b", "a") > 0, strcmp("same", "same"), strncmp("abcdef", "abcxyz", 3),
           memcmp("\x01\x02", "\x01\x03", 2) < 0);
    printf("strspn %zu strcspn %zu\n", strspn("123abc", "0123456789"), strcspn("hello, world", ",!"));

    char list[] = "alpha, beta;gamma  delta,,epsilon";
    int n = 0;
    for (char *t = strtok(list, ",; "); t; t = strtok(NULL, ",; "))
        printf("token %d: %s\n", n++, t);

    char m[32] = "0123456789abcdefghij";
    memmove(m + 5, m, 10);
    printf("memmove overlap fwd: %s\n", m);
    memmove(m, m + 7, 10);
    printf("memmove overlap back: %s\n", m);
    memset(m + 3, '-', 4);
    printf("memset: %s\n", m);

    for (const char *s = "Mixed Case 123 _x!"; *s; s++)
        putchar(isalpha((unsigned char)*s) ? toupper((unsigned char)*s)
                                           : isdigit((unsigned char)*s) ? '#' : *s);
    putchar('\n');

    char *end;
    printf("strtol: %ld %ld %ld", strtol("  -42xyz", &end, 10), strtol("0x1F", NULL, 16),
           strtol("0777", NULL, 8));
    printf(" rest='%s'\n", end);
    printf("strtoul(\"ff\",16)=%lu strtoll=%lld atoi=%d\n", strtoul("ff", NULL, 16),
           strtoll("-9000000000", NULL, 10), atoi("  77 trombones"));

    printf("[%5d] [%-5d] [%05d] [%+d] [%x] [%X] [%o] [%#x] [%#o] [%c] [%%] [%*d] [%-*s] [%.3s]\n",
           42, 42, 42, 42, 255, 255, 8, 255, 8, 'A', 6, 7, 6, "ab", "truncate");
    printf("[%10.4f] [%-10.2e] [%hhd] [%hd] [%lld] [%llu] [%zu] [%s]\n", 3.14159265, 12345.678,
           (signed char)200, (short)70000, (long long)INT64_MIN, (unsigned long long)UINT64_MAX,
           (size_t)12345, "");

    char small[8];
    const char *volatile text = "overflowing text";
    int would = snprintf(small, sizeof small, "%s", text);
    printf("snprintf truncates: '%s' would be %d\n", small, would);

    char *dup = strdup("duplicate me");
    dup[0] = 'D';
    printf("strdup: %s\n", dup);
    free(dup);

    int a, b;
    char word[16];
    int got = sscanf("12 34 words", "%d %d %15s", &a, &b, word);
    printf("sscanf: %d -> %d %d %s\n", got, a, b, word);
}

/* Function pointers in a struct: a tiny state machine. */
typedef struct machine machine_t;
typedef void (*state_t)(machine_t *, char);
struct machine {
    state_t state;
    int words, digits;
};

static void in_space(machine_t *m, char c);
static void in_word(machine_t *m, char c);
static void in_number(machine_t *m, char c);

static void in_space(machine_t *m, char c)
{
    if (isalpha((unsigned char)c)) {
        m->words++;
        m->state = in_word;
    } else if (isdigit((unsigned char)c)) {
        m->digits++;
        m->state = in_number;
    }
}

static void in_word(machine_t *m, char c)
{
    if (!isalnum((unsigned char)c))
        m->state = in_space;
}

static void in_number(machine_t *m, char c)
{
    if (isdigit((unsigned char)c))
        return;
    m->state = in_space;
    in_space(m, c); /* the character after a number may start a word */
}

int main(void)
{
    sorting();
    strings();
    machine_t m = {in_space, 0, 0};
    const char *text = "there are 3 apples and 12 pears in 2 baskets, 1000 in all";
    for (const char *p = text; *p; p++)
        m.state(&m, *p);
    printf("state machine: %d words, %d numbers\n", m.words, m.digits);
    return 0;
}
