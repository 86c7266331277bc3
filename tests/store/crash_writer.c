/*
 * crash_writer.c — the process that crash_test.sh kills with SIGKILL, and
 * the checker it runs afterwards.
 *
 *   crash_writer write DIR START BATCH   puts key N -> value(N) for N = START,
 *       START+1, ... forever; BATCH calls (nested transactions) per durable
 *       commit, BATCH 1 meaning one plain write transaction per call. Only
 *       after a commit returned 0 does it print the committed N's, one per
 *       line, and flush: a printed N is a promise that it is durable.
 *   crash_writer check DIR FILE...       reopens DIR (it must open cleanly and
 *       take a write), and checks every complete line of every FILE is
 *       present with its value. Prints how many it checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/db.h"
#include "weft/error.h"

#define CTX (const uint8_t *)"crash", 5
#define VAL_LEN 100

static size_t key_of(unsigned long n, char *key)
{
    return (size_t)sprintf(key, "%012lu", n);
}

static void val_of(unsigned long n, uint8_t *val)
{
    char digits[32];
    int len = sprintf(digits, "%lu:", n);
    for (int i = 0; i < VAL_LEN; i++)
        val[i] = (uint8_t)digits[i % len];
}

static int put_one(weft_txn_t *t, unsigned long n)
{
    char key[32];
    uint8_t val[VAL_LEN];
    size_t kn = key_of(n, key);
    val_of(n, val);
    return weft_txn_put(t, WEFT_SPACE_KV, CTX, (const uint8_t *)key, kn, val, VAL_LEN);
}

static int run_write(const char *dir, unsigned long start, int batch)
{
    weft_db_t *db;
    char msg[256];
    int rc = weft_db_open(dir, 0, &db, msg, sizeof msg);
    if (rc != 0) {
        fprintf(stderr, "crash_writer: open: %s\n", msg);
        return 1;
    }
    for (unsigned long n = start;; n += (unsigned long)batch) {
        weft_txn_t *t, *call;
        rc = weft_txn_begin(db, WEFT_TXN_WRITE, &t);
        for (int i = 0; rc == 0 && i < batch; i++) {
            if (batch == 1) {
                rc = put_one(t, n);
                break;
            }
            rc = weft_txn_begin_nested(t, &call);
            if (rc == 0 && (rc = put_one(call, n + (unsigned long)i)) == 0)
                rc = weft_txn_commit(call);
            else if (rc != 0 && call)
                weft_txn_abort(call);
        }
        if (rc == 0) {
            rc = weft_txn_commit(t);
        } else if (t) {
            weft_txn_abort(t);
        }
        if (rc != 0 && !weft_db_retryable(rc)) {
            fprintf(stderr, "crash_writer: error %d: %s\n", rc, weft_db_errmsg(db));
            return 1;
        }
        if (rc != 0) {
            n -= (unsigned long)batch; /* map grew: redo the batch */
            continue;
        }
        for (int i = 0; i < batch; i++)
            printf("%lu\n", n + (unsigned long)i);
        fflush(stdout);
    }
}

static int run_check(const char *dir, int nfiles, char **files)
{
    weft_db_t *db;
    weft_txn_t *t;
    char msg[256], line[64], key[32];
    uint8_t val[VAL_LEN];
    unsigned long checked = 0;
    int rc = weft_db_open(dir, 0, &db, msg, sizeof msg);
    if (rc != 0) {
        fprintf(stderr, "check: reopen failed: %s\n", msg);
        return 1;
    }
    if ((rc = weft_txn_begin(db, WEFT_TXN_WRITE, &t)) != 0 ||
        (rc = weft_txn_put(t, WEFT_SPACE_META, NULL, 0, (const uint8_t *)"checked", 7,
                           (const uint8_t *)"1", 1)) != 0 ||
        (rc = weft_txn_commit(t)) != 0) {
        fprintf(stderr, "check: write after reopen: %s\n", weft_db_errmsg(db));
        return 1;
    }
    if ((rc = weft_txn_begin(db, WEFT_TXN_READ, &t)) != 0)
        return 1;
    for (int f = 0; f < nfiles; f++) {
        FILE *in = fopen(files[f], "r");
        if (!in) {
            perror(files[f]);
            return 1;
        }
        while (fgets(line, sizeof line, in)) {
            size_t len = strlen(line);
            if (len == 0 || line[len - 1] != '\n')
                break; /* cut short by the kill: never fully printed */
            unsigned long n = strtoul(line, NULL, 10);
            const uint8_t *v;
            size_t vn;
            size_t kn = key_of(n, key);
            val_of(n, val);
            rc = weft_txn_get(t, WEFT_SPACE_KV, CTX, (const uint8_t *)key, kn, &v, &vn);
            if (rc != 0 || vn != VAL_LEN || memcmp(v, val, VAL_LEN) != 0) {
                fprintf(stderr, "check: %s: committed N=%lu is %s\n", files[f], n,
                        rc ? "missing" : "corrupt");
                return 1;
            }
            checked++;
        }
        fclose(in);
    }
    weft_txn_abort(t);
    weft_db_close(db);
    printf("%lu\n", checked);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "write") == 0)
    {
        int batch = atoi(argv[4]);
        return run_write(argv[2], strtoul(argv[3], NULL, 10), batch > 0 ? batch : 1);
    }
    if (argc >= 3 && strcmp(argv[1], "check") == 0)
        return run_check(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: crash_writer write DIR START BATCH | check DIR FILE...\n");
    return 2;
}
