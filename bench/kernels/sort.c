/*
 * bench/kernels/sort.c — sorting: quicksort and heapsort of random integers.
 *
 * Fills an array with xorshift numbers, sorts it with an introsort-style
 * quicksort (median of three, insertion sort for short runs, recursion on
 * the smaller side so the depth stays O(log n)), then sorts a copy with
 * heapsort and checks both agree. Data-dependent branches, swaps and
 * indexed loads/stores. The checksum weights each element by its position,
 * so it certifies the order, not just the contents.
 */
#include "kernel.h"

#define MAXN (1u << 20)

static uint32_t a[MAXN];
static uint32_t b[MAXN];
static volatile uint32_t run_n = MAXN;
static volatile uint32_t run_rounds = 3;
static volatile uint32_t check_n = 500;

static void swap(uint32_t *v, uint32_t i, uint32_t j)
{
    uint32_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void insertion_sort(uint32_t *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = v[i], j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void quicksort(uint32_t *v, uint32_t n)
{
    while (n > 16) {
        uint32_t mid = n / 2, last = n - 1;
        if (v[mid] < v[0])
            swap(v, mid, 0);
        if (v[last] < v[0])
            swap(v, last, 0);
        if (v[last] < v[mid])
            swap(v, last, mid);
        uint32_t pivot = v[mid];
        uint32_t i = 0, j = last;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i >= j)
                break;
            swap(v, i, j);
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j+1, n). Recurse on the smaller part. */
        uint32_t left = j + 1, right = n - left;
        if (left < right) {
            quicksort(v, left);
            v += left;
            n = right;
        } else {
            quicksort(v + left, right);
            n = left;
        }
    }
    insertion_sort(v, n);
}

static void sift_down(uint32_t *v, uint32_t root, uint32_t n)
{
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && v[child + 1] > v[child])
            child++;
        if (v[root] >= v[child])
            return;
        swap(v, root, child);
        root = child;
    }
}

static void heapsort(uint32_t *v, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(v, i, n);
    for (uint32_t end = n; end-- > 1;) {
        swap(v, 0, end);
        sift_down(v, 0, end);
    }
}

static uint64_t sort_round(uint32_t n, uint32_t seed)
{
    uint32_t x = seed;
    for (uint32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        a[i] = x % 1000000007u;
        b[i] = a[i];
    }
    quicksort(a, n);
    heapsort(b, n);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (a[i] != b[i] || (i > 0 && a[i - 1] > a[i]))
            return 0xbad; /* the two sorts disagree or the order is wrong */
        sum += (uint64_t)a[i] * (i + 1);
    }
    return sum;
}

long long run(void)
{
    uint64_t acc = 0;
    uint32_t rounds = run_rounds;
    for (uint32_t r = 0; r < rounds; r++)
        acc = acc * 7 + sort_round(run_n, 0x2545f491u + r);
    return (long long)acc;
}

long long check(void)
{
    return (long long)sort_round(check_n, 0x2545f491u);
}
