/*
 * bench/kernels/matmul.c — floating point: f32 matrix multiplication.
 *
 * C = A * B for 128 x 128 matrices, in i-k-j order so the inner loop
 * runs along rows (what compilers vectorise: gcc natively, clang for
 * wasm with -msimd128, see bench/CMakeLists.txt's *-simd.wasm builds).
 * Each round perturbs one element of A so no round repeats the last. The
 * checksum mixes the bit patterns of C's diagonal after every round, so
 * any rounding difference shows; the lanes never change the order of a
 * sum (each c[i][j] adds its k terms in order), so vector and scalar
 * builds agree bit for bit (both with -ffp-contract=off: no fused
 * multiply-adds).
 */
#include "kernel.h"

#define N 128

static float a[N][N], b[N][N], c[N][N];
static volatile uint32_t run_rounds = 500;
static volatile uint32_t check_rounds = 2;

static void init(void)
{
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            seed = seed * 1664525u + 1013904223u;
            a[i][j] = (float)(seed >> 22) / 1024.0f - 0.5f;
            seed = seed * 1664525u + 1013904223u;
            b[i][j] = (float)(seed >> 22) / 1024.0f - 0.5f;
        }
}

static uint32_t bits(float f)
{
    union {
        float f;
        uint32_t u;
    } v = {f};
    return v.u;
}

static long long rounds(uint32_t n)
{
    uint64_t sum = 0;
    init();
    for (uint32_t r = 0; r < n; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) c[i][j] = 0.0f;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                float aik = a[i][k];
                for (int j = 0; j < N; j++) c[i][j] += aik * b[k][j];
            }
        for (int i = 0; i < N; i++) sum = sum * 31u + bits(c[i][i]);
        a[r % N][(r * 7u) % N] += 1.0f / 256.0f;
    }
    return (long long)(sum >> 1);
}

long long run(void) { return rounds(run_rounds); }
long long check(void) { return rounds(check_rounds); }
