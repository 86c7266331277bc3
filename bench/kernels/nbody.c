/*
 * bench/kernels/nbody.c — floating point: a small gravitational n-body run.
 *
 * One heavy central body and a few light ones, started from positions and
 * velocities drawn from a fixed pseudo-random sequence, advanced with a
 * symplectic Euler step. Each step does every pairwise force (f64 mul, add,
 * div, sqrt) on a struct array. The checksum is the bit pattern of the final
 * energy mixed with the positions, so any rounding difference shows; both
 * builds therefore use -ffp-contract=off (with contraction on, clang folds
 * the constant first step with fused multiply-adds and the bits differ).
 */
#include "kernel.h"

#define NBODIES 6

typedef struct {
    double x, y, z, vx, vy, vz, mass;
} body_t;

static body_t bodies[NBODIES];
static volatile uint32_t run_steps = 3000000;
static volatile uint32_t check_steps = 1000;

static uint32_t rng_state;

/* A uniform double in [-1, 1) from a 32-bit xorshift generator. */
static double rand_unit(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (double)rng_state / 2147483648.0 - 1.0;
}

static void init(void)
{
    rng_state = 0x9e3779b9u;
    bodies[0] = (body_t){0, 0, 0, 0, 0, 0, 40.0};
    for (int i = 1; i < NBODIES; i++) {
        double r = 2.0 + 3.0 * (double)i;
        bodies[i].x = r;
        bodies[i].y = rand_unit();
        bodies[i].z = rand_unit() * 0.1;
        bodies[i].vx = rand_unit() * 0.05;
        bodies[i].vy = __builtin_sqrt(40.0 / r) * (1.0 + 0.1 * rand_unit());
        bodies[i].vz = rand_unit() * 0.01;
        bodies[i].mass = 0.01 + 0.05 * (rand_unit() + 1.0);
    }
}

static void advance(double dt)
{
    for (int i = 0; i < NBODIES; i++) {
        body_t *a = &bodies[i];
        for (int j = i + 1; j < NBODIES; j++) {
            body_t *b = &bodies[j];
            double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * __builtin_sqrt(d2));
            a->vx -= dx * b->mass * mag;
            a->vy -= dy * b->mass * mag;
            a->vz -= dz * b->mass * mag;
            b->vx += dx * a->mass * mag;
            b->vy += dy * a->mass * mag;
            b->vz += dz * a->mass * mag;
        }
    }
    for (int i = 0; i < NBODIES; i++) {
        body_t *a = &bodies[i];
        a->x += dt * a->vx;
        a->y += dt * a->vy;
        a->z += dt * a->vz;
    }
}

static double energy(void)
{
    double e = 0.0;
    for (int i = 0; i < NBODIES; i++) {
        const body_t *a = &bodies[i];
        e += 0.5 * a->mass * (a->vx * a->vx + a->vy * a->vy + a->vz * a->vz);
        for (int j = i + 1; j < NBODIES; j++) {
            const body_t *b = &bodies[j];
            double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
            e -= a->mass * b->mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static uint64_t bits(double d)
{
    union {
        double d;
        uint64_t u;
    } v = {.d = d};
    return v.u;
}

static uint64_t simulate(uint32_t steps)
{
    init();
    for (uint32_t s = 0; s < steps; s++)
        advance(0.001);
    uint64_t sum = bits(energy());
    for (int i = 0; i < NBODIES; i++)
        sum = sum * 1000003u ^ bits(bodies[i].x) ^ bits(bodies[i].y) ^ bits(bodies[i].z);
    return sum;
}

long long run(void)
{
    return (long long)simulate(run_steps);
}

long long check(void)
{
    return (long long)simulate(check_steps);
}
