/*
 * sgd.c — HOGWILD-style stochastic gradient descent on the Faasm ABI
 * (sdk/faasm.h), the Faasm paper's own workload in small: a linear model
 * of D weights is shared Faasm state ("weights"); main chains WORKERS
 * workers (__faasm_chain_ptr), each training on its own shard of
 * generated data without locks, writing through the pointer
 * __faasm_read_state_ptr gives it and exchanging updates with the others
 * every BATCH samples; main then reports the model's mean squared error.
 * Input: the number of epochs (default 5). See README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faasm.h"

#define D 8
#define WORKERS 4
#define SHARD 500
#define BATCH 50
#define RATE 0.05f

static const float truth[D] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f, 0.0f, -2.0f};

/* Sample i of the generated data set: features in [-1, 1), label the
 * true model's value plus a little noise. Deterministic in i. */
static float sample(unsigned i, float x[D])
{
    unsigned s = i * 2654435761u + 12345u;
    float y = 0;
    for (int k = 0; k < D; k++) {
        s = s * 1664525u + 1013904223u;
        x[k] = (float)(s >> 8) / 8388608.0f - 1.0f;
        y += truth[k] * x[k];
    }
    s = s * 1664525u + 1013904223u;
    return y + ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.01f;
}

static int epochs(void)
{
    char buf[16] = {0};
    int32_t n = __faasm_read_input((uint8_t *)buf, sizeof buf - 1);
    int e = n > 0 ? atoi(buf) : 0;
    return e > 0 ? e : 5;
}

/* A worker: input is its index and the epochs, as two ints. */
static int worker(void)
{
    int arg[2] = {0, 5};
    __faasm_read_input((uint8_t *)arg, sizeof arg);
    float *w = (float *)faasm_get_state("weights", D * sizeof(float), 0);
    float x[D];
    for (int e = 0; e < arg[1]; e++) {
        for (unsigned j = 0; j < SHARD; j++) {
            float y = sample((unsigned)arg[0] * SHARD + j, x), pred = 0;
            for (int k = 0; k < D; k++) pred += w[k] * x[k];
            float g = (pred - y) * RATE;
            for (int k = 0; k < D; k++) w[k] -= g * x[k]; /* no lock: HOGWILD */
            if (j % BATCH == BATCH - 1) {
                /* exchange: this worker's writes out, the others' in */
                faasm_lock_state_read("weights");
                faasm_unlock_state_read("weights");
            }
        }
    }
    return 0;
}

int main(void)
{
    int e = epochs();
    float zero[D] = {0};
    faasm_set_state("weights", zero, sizeof zero);
    uint32_t ids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        int arg[2] = {i, e};
        ids[i] = __faasm_chain_ptr(worker, (const uint8_t *)arg, sizeof arg);
    }
    for (int i = 0; i < WORKERS; i++)
        if (faasm_await_call(ids[i]) != 0) return 1;
    float w[D], x[D], mse = 0;
    __faasm_read_state("weights", (uint8_t *)w, sizeof w);
    for (unsigned i = 0; i < WORKERS * SHARD; i++) {
        float y = sample(i, x), pred = 0;
        for (int k = 0; k < D; k++) pred += w[k] * x[k];
        mse += (pred - y) * (pred - y);
    }
    mse /= WORKERS * SHARD;
    char out[256];
    int n = snprintf(out, sizeof out, "mse %.5f weights", mse);
    for (int k = 0; k < D; k++) n += snprintf(out + n, sizeof out - (size_t)n, " %.2f", w[k]);
    snprintf(out + n, sizeof out - (size_t)n, "\n");
    faasm_write_call_output(out, strlen(out));
    return 0;
}
