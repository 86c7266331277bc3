/*
 * tests/guests/recursion.c — deep but bounded recursion.
 *
 * Recursion 5000 frames deep with a buffer in every frame (so wasm keeps a
 * frame on its shadow stack in linear memory too), Ackermann, mutual
 * recursion, a recursive-descent parser over deeply nested parentheses, a
 * binary search tree, Hanoi and permutations. The depths stay well below
 * weft's default call-depth limit (10,000 frames) and the 1 MiB stack the
 * build gives wasm programs; the exhaustion cases are tests/cli's.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opaque to the optimiser: the frame buffer must really exist. */
__attribute__((noinline)) static uint32_t touch(volatile uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t h = seed;
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(h >> 3);
        h = h * 16777619u ^ p[i];
    }
    return h;
}

__attribute__((noinline)) static uint32_t deep(uint32_t n)
{
    volatile uint8_t frame[48];
    uint32_t h = touch(frame, sizeof frame, n);
    if (n == 0)
        return h;
    uint32_t below = deep(n - 1);
    return below * 31u + frame[n % sizeof frame] + h; /* frame is still ours */
}

static uint32_t ack(uint32_t m, uint32_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static int is_odd(uint32_t n);
__attribute__((noinline)) static int is_even(uint32_t n)
{
    return n == 0 ? 1 : is_odd(n - 1);
}
__attribute__((noinline)) static int is_odd(uint32_t n)
{
    return n == 0 ? 0 : is_even(n - 1);
}

/* expr := term (('+'|'-') term)*; term := factor (('*') factor)*;
 * factor := digit | '(' expr ')' — all arithmetic mod 2^32. */
static const char *src;
static uint32_t expr(void);

static uint32_t factor(void)
{
    if (*src == '(') {
        src++;
        uint32_t v = expr();
        if (*src == ')')
            src++;
        return v;
    }
    return (uint32_t)(*src++ - '0');
}

static uint32_t term(void)
{
    uint32_t v = factor();
    while (*src == '*') {
        src++;
        v *= factor();
    }
    return v;
}

static uint32_t expr(void)
{
    uint32_t v = term();
    while (*src == '+' || *src == '-') {
        char op = *src++;
        uint32_t r = term();
        v = op == '+' ? v + r : v - r;
    }
    return v;
}

typedef struct node {
    int32_t key;
    struct node *left, *right;
} node_t;

static node_t *insert(node_t *t, int32_t key)
{
    if (!t) {
        t = calloc(1, sizeof *t);
        t->key = key;
    } else if (key < t->key) {
        t->left = insert(t->left, key);
    } else if (key > t->key) {
        t->right = insert(t->right, key);
    }
    return t;
}

static uint64_t inorder(const node_t *t, uint64_t h, uint32_t *count)
{
    if (!t)
        return h;
    h = inorder(t->left, h, count);
    h = h * 1000003u + (uint32_t)t->key;
    ++*count;
    return inorder(t->right, h, count);
}

static int height(const node_t *t)
{
    if (!t)
        return 0;
    int l = height(t->left), r = height(t->right);
    return 1 + (l > r ? l : r);
}

static void destroy(node_t *t)
{
    if (!t)
        return;
    destroy(t->left);
    destroy(t->right);
    free(t);
}

static uint64_t hanoi(int n, int from, int to, int via, uint64_t *h)
{
    if (n == 0)
        return 0;
    uint64_t moves = hanoi(n - 1, from, via, to, h);
    *h = *h * 7 + (uint64_t)(from * 3 + to);
    return moves + 1 + hanoi(n - 1, via, to, from, h);
}

static void permute(char *s, int k, int n, uint64_t *count, uint64_t *h)
{
    if (k == n) {
        ++*count;
        for (int i = 0; i < n; i++)
            *h = *h * 131 + (uint8_t)s[i];
        return;
    }
    for (int i = k; i < n; i++) {
        char t = s[k];
        s[k] = s[i];
        s[i] = t;
        permute(s, k + 1, n, count, h);
        s[i] = s[k];
        s[k] = t;
    }
}

int main(void)
{
    for (uint32_t n = 1000; n <= 5000; n += 2000)
        printf("deep(%" PRIu32 ") = %08" PRIx32 "\n", n, deep(n));
    printf("ack(2, 300) = %" PRIu32 ", ack(3, 6) = %" PRIu32 "\n", ack(2, 300), ack(3, 6));
    printf("is_even(4001) = %d, is_odd(3999) = %d\n", is_even(4001), is_odd(3999));

    /* (((...(1+2)*3-4...))) nested 1500 deep. */
    enum { NEST = 1500 };
    char *text = malloc(NEST * 5 + 8);
    size_t len = 0;
    for (int i = 0; i < NEST; i++)
        text[len++] = '(';
    text[len++] = '7';
    for (int i = 0; i < NEST; i++) {
        text[len++] = "+-*"[i % 3];
        text[len++] = (char)('1' + i % 9);
        text[len++] = ')';
    }
    text[len] = '\0';
    src = text;
    uint32_t v = expr();
    printf("nested expression of %zu chars = %" PRIu32 " (parsed to the end: %s)\n", len, v,
           *src ? "no" : "yes");
    free(text);

    node_t *root = NULL;
    uint32_t seed = 99;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1664525u + 1013904223u;
        root = insert(root, (int32_t)(seed >> 8) % 100000);
    }
    uint32_t count = 0;
    uint64_t h = inorder(root, 0, &count);
    printf("tree: %" PRIu32 " keys, height %d, in-order hash %016" PRIx64 "\n", count,
           height(root), h);
    destroy(root);
    /* A degenerate tree: a list 3000 nodes long, walked recursively. */
    root = NULL;
    for (int i = 0; i < 3000; i++)
        root = insert(root, i);
    count = 0;
    h = inorder(root, 0, &count);
    printf("list tree: %" PRIu32 " keys, height %d, hash %016" PRIx64 "\n", count, height(root), h);
    destroy(root);

    uint64_t hh = 0, moves = hanoi(20, 0, 2, 1, &hh);
    printf("hanoi(20) = %" PRIu64 " moves, hash %016" PRIx64 "\n", moves, hh);
    char letters[] = "weftrun!";
    uint64_t perms = 0, ph = 0;
    permute(letters, 0, (int)strlen(letters), &perms, &ph);
    printf("permutations of %s: %" PRIu64 ", hash %016" PRIx64 "\n", letters, perms, ph);
    return 0;
}
