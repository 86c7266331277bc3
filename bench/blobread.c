/*
 * blobread.c — what a read transaction per piece costs a blob's reader
 * (src/node/blobs.c answers GET /v1/blobs/{id} a 64 KiB piece at a time,
 * each from a read transaction of its own). Stores a blob of SIZE_MIB
 * MiB in a fresh data directory DIR, then reads it whole RUNS times in
 * pieces of PIECE_KIB KiB, alternating a read transaction per piece and
 * one for all pieces; prints each run's CPU time (the process's: a
 * shared machine's wall time is mostly waiting) and the medians.
 *
 *   build/bench/blobread DIR [PIECE_KIB=64] [SIZE_MIB=64] [RUNS=7]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/blobs.h>
#include <weft/db.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine is shared */
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "blobread: %s failed (%d)\n", what, rc);
    exit(1);
}

/* Reads blob id (size bytes) whole in pieces; one transaction for all
 * when `one`. Returns the milliseconds; *sum gets a checksum of the bytes. */
static double read_all(weft_db_t *db, const uint8_t *id, uint64_t size, uint8_t *p,
                       size_t piece, int one, unsigned *sum)
{
    weft_txn_t *txn = NULL;
    int rc;
    double t0 = now_ms();
    if (one && (rc = weft_txn_begin(db, WEFT_TXN_READ, &txn)) != 0) die("txn_begin", rc);
    for (uint64_t off = 0; off < size; off += piece) {
        size_t got;
        if (!one && (rc = weft_txn_begin(db, WEFT_TXN_READ, &txn)) != 0) die("txn_begin", rc);
        if ((rc = weft_blob_read(txn, id, off, p, piece, &got)) != 0) die("blob_read", rc);
        if (!one) weft_txn_abort(txn);
        *sum += got ? p[got / 2] : 0;
    }
    if (one) weft_txn_abort(txn);
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: blobread DIR [PIECE_KIB=64] [SIZE_MIB=64] [RUNS=7]\n");
        return 2;
    }
    size_t piece = (size_t)(argc > 2 ? atoi(argv[2]) : 64) * 1024;
    uint64_t size = (uint64_t)(argc > 3 ? atoi(argv[3]) : 64) << 20;
    int runs = argc > 4 ? atoi(argv[4]) : 7;
    if (piece == 0 || size == 0 || runs < 1 || runs > 100) {
        fprintf(stderr, "blobread: PIECE_KIB and SIZE_MIB over 0, RUNS 1 to 100\n");
        return 2;
    }
    weft_db_t *db;
    char msg[256];
    int rc;
    if (weft_db_open(argv[1], WEFT_DB_NOSYNC, &db, msg, sizeof msg) != 0) {
        fprintf(stderr, "blobread: %s\n", msg);
        return 1;
    }
    /* the blob: 1 MiB pieces, each a different pattern */
    uint8_t *buf = malloc(1u << 20), *p = malloc(piece), id[32];
    if (!buf || !p) die("malloc", 0);
    weft_blob_writer_t *w;
    weft_txn_t *txn;
    if ((rc = weft_blob_writer_new(&w)) != 0) die("writer_new", rc);
    if ((rc = weft_txn_begin(db, WEFT_TXN_WRITE, &txn)) != 0) die("txn_begin", rc);
    for (uint64_t off = 0; off < size; off += 1u << 20) {
        for (size_t i = 0; i < (1u << 20); i++) buf[i] = (uint8_t)(i * 7 + off / 251 + i / 4093);
        if ((rc = weft_blob_write(w, txn, buf, 1u << 20)) != 0) die("blob_write", rc);
    }
    uint64_t got_size;
    if ((rc = weft_blob_close(w, txn, id, &got_size)) != 0) die("blob_close", rc);
    if ((rc = weft_txn_commit(txn)) != 0) die("txn_commit", rc);
    weft_blob_writer_free(w);

    double per[100], one[100];
    unsigned s1 = 0, s2 = 0;
    for (int r = 0; r < runs; r++) {
        per[r] = read_all(db, id, got_size, p, piece, 0, &s1);
        one[r] = read_all(db, id, got_size, p, piece, 1, &s2);
        printf("run %d: a txn per piece %.2f ms, one txn %.2f ms\n", r + 1, per[r], one[r]);
    }
    if (s1 != s2) die("the two reads differ", 0);
    qsort(per, (size_t)runs, sizeof *per, cmp);
    qsort(one, (size_t)runs, sizeof *one, cmp);
    uint64_t pieces = (got_size + piece - 1) / piece;
    printf("%llu MiB in %zu KiB pieces (%llu): medians a txn per piece %.2f ms, one txn %.2f "
           "ms, %.2f us more per piece\n",
           (unsigned long long)(got_size >> 20), piece / 1024, (unsigned long long)pieces,
           per[runs / 2], one[runs / 2], (per[runs / 2] - one[runs / 2]) * 1e3 / (double)pieces);
    free(buf);
    free(p);
    weft_db_close(db);
    return 0;
}
