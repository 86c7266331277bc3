/*
 * bench/dbbench_native.c — the baseline of dbbench.c: the same N sets and
 * N gets straight on LMDB, in one write transaction committed durably.
 *
 *   dbbench_native DIR [N]
 *
 * DIR is created if absent (a fresh one per run, like weft's data dir).
 * Keys go plain into one named database (weft prefixes each with its
 * context); the map is fixed at 4 GiB up front, so this side never pays
 * for growing it. Prints "checksum HEX", which must equal the guest's.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "dbbench.h"

static int die(const char *what, int rc)
{
    fprintf(stderr, "dbbench_native: %s: %s\n", what, mdb_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    char key[DBB_KEY_LEN];
    uint8_t val[DBB_VAL_LEN];
    uint64_t h = 0xcbf29ce484222325ull;
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: dbbench_native DIR [N]\n");
        return 2;
    }
    uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : DBB_DEFAULT_N;
    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST) {
        perror(argv[1]);
        return 1;
    }
    if ((rc = mdb_env_create(&env)) != 0)
        return die("mdb_env_create", rc);
    if ((rc = mdb_env_set_maxdbs(env, 1)) != 0 ||
        (rc = mdb_env_set_mapsize(env, (size_t)4 << 30)) != 0)
        return die("mdb_env_set", rc);
    if ((rc = mdb_env_open(env, argv[1], 0, 0600)) != 0)
        return die("mdb_env_open", rc);
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
        return die("mdb_txn_begin", rc);
    if ((rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &dbi)) != 0)
        return die("mdb_dbi_open", rc);
    for (uint32_t i = 0; i < n; i++) {
        dbb_key(i, key);
        dbb_val(i, val);
        k.mv_data = key;
        k.mv_size = DBB_KEY_LEN;
        v.mv_data = val;
        v.mv_size = DBB_VAL_LEN;
        if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
            return die("mdb_put", rc);
    }
    for (uint32_t i = 0; i < n; i++) {
        dbb_key(i, key);
        k.mv_data = key;
        k.mv_size = DBB_KEY_LEN;
        if ((rc = mdb_get(txn, dbi, &k, &v)) != 0)
            return die("mdb_get", rc);
        h = dbb_mix(h, v.mv_data, (uint32_t)v.mv_size);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return die("mdb_txn_commit", rc);
    mdb_env_close(env);
    printf("checksum %016llx\n", (unsigned long long)h);
    return 0;
}
