/*
 * store_bench.c — durable commits per second of weft_store (not a test).
 *
 *   store_bench [DIR] [SECONDS]
 *
 * One caller; every call writes one 100-byte value under a fresh key. Runs
 * batch sizes 1 (one plain write transaction, fsync'd, per call), 10 and 100
 * (calls as nested transactions in one durable batch commit), then batch 1
 * with WEFT_DB_NOSYNC for scale. Each for SECONDS (default 2). DIR (default
 * a new ./store-bench-XXXXXX, removed afterwards) decides the file system
 * measured: fsync cost is the whole story, so note the disk with the numbers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "weft/db.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run(const char *dir, unsigned flags, int batch, double seconds, unsigned long *key)
{
    weft_db_t *db;
    char msg[256], k[32];
    uint8_t val[100];
    unsigned long commits = 0, calls = 0;
    memset(val, 'v', sizeof val);
    if (weft_db_open(dir, flags, &db, msg, sizeof msg) != 0) {
        fprintf(stderr, "store_bench: %s\n", msg);
        return 1;
    }
    double t0 = now(), t1 = t0;
    while (t1 - t0 < seconds) {
        weft_txn_t *t, *call;
        int rc = weft_txn_begin(db, WEFT_TXN_WRITE, &t);
        for (int i = 0; rc == 0 && i < batch; i++) {
            size_t kn = (size_t)sprintf(k, "%016lu", (*key)++);
            if (batch == 1) {
                rc = weft_txn_put(t, WEFT_SPACE_KV, (const uint8_t *)"bench", 5,
                                  (const uint8_t *)k, kn, val, sizeof val);
                break;
            }
            if ((rc = weft_txn_begin_nested(t, &call)) != 0)
                break;
            rc = weft_txn_put(call, WEFT_SPACE_KV, (const uint8_t *)"bench", 5,
                              (const uint8_t *)k, kn, val, sizeof val);
            if (rc == 0)
                rc = weft_txn_commit(call);
            else
                weft_txn_abort(call);
        }
        if (rc == 0)
            rc = weft_txn_commit(t);
        else
            weft_txn_abort(t);
        if (rc != 0 && !weft_db_retryable(rc)) {
            fprintf(stderr, "store_bench: error %d: %s\n", rc, weft_db_errmsg(db));
            weft_db_close(db);
            return 1;
        }
        if (rc == 0) {
            commits++;
            calls += (unsigned long)batch;
        }
        t1 = now();
    }
    double dt = t1 - t0;
    printf("batch %3d%s: %9.0f commits/s %10.0f calls/s  (%lu calls in %.2f s)\n", batch,
           (flags & WEFT_DB_NOSYNC) ? " nosync" : "       ", (double)commits / dt,
           (double)calls / dt, calls, dt);
    fflush(stdout);
    weft_db_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    char tmpl[] = "store-bench-XXXXXX";
    char path[4096];
    const char *dir = argc > 1 && argv[1][0] ? argv[1] : NULL;
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    unsigned long key = 0;
    int made = 0, rc = 0;
    struct statfs sf;

    if (!dir) {
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            return 1;
        }
        dir = tmpl;
        made = 1;
    }
    if (statfs(dir, &sf) == 0)
        printf("store_bench: %s (file system magic 0x%lx), 100-byte values, one caller\n", dir,
               (unsigned long)sf.f_type);
    static const int batches[] = {1, 10, 100};
    for (size_t i = 0; i < 3 && rc == 0; i++)
        rc = run(dir, 0, batches[i], seconds, &key);
    if (rc == 0)
        rc = run(dir, WEFT_DB_NOSYNC, 1, seconds, &key);
    if (made) {
        snprintf(path, sizeof path, "%s/data.mdb", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/lock.mdb", dir);
        unlink(path);
        rmdir(dir);
    }
    return rc;
}
