/*
 * bench/kernels/mandelbrot.c — floating point: the Mandelbrot set.
 *
 * Iterates z = z^2 + c in double precision over a grid of the complex plane
 * and sums the escape counts. Pure f64 multiply/add/compare in a data
 * dependent loop. IEEE-754 arithmetic without fused multiply-add gives the
 * same bits on every platform: both builds use -ffp-contract=off (clang may
 * otherwise fold a multiply-add at compile time with a single rounding).
 */
#include "kernel.h"

static volatile uint32_t run_size = 1800;
static volatile uint32_t check_size = 24;

#define MAX_ITER 255u

static uint64_t mandelbrot(uint32_t size)
{
    uint64_t total = 0;
    for (uint32_t y = 0; y < size; y++) {
        double ci = (double)y * 2.5 / (double)size - 1.25;
        for (uint32_t x = 0; x < size; x++) {
            double cr = (double)x * 3.0 / (double)size - 2.0;
            double zr = 0.0, zi = 0.0;
            uint32_t it = 0;
            while (it < MAX_ITER) {
                double zr2 = zr * zr, zi2 = zi * zi;
                if (zr2 + zi2 > 4.0)
                    break;
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                it++;
            }
            /* Position-weighted so a permuted image gives another sum. */
            total += (uint64_t)it * (y * size + x + 1);
        }
    }
    return total;
}

long long run(void)
{
    return (long long)mandelbrot(run_size);
}

long long check(void)
{
    return (long long)mandelbrot(check_size);
}
