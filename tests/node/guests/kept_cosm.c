/*
 * kept_cosm.c — a Cosmictron module for the kept-instance test
 * (tests/node/test_node_kept.c): the reducer `scribble` logs what the
 * instance holds (scribble.h) and changes it all, and opens a row iterator
 * it never closes: the next call must see none of it (its first iterator
 * gets the same id). `noop` does nothing (bench/nodecall.c's Cosmictron
 * row).
 */
#include "cosmictron.h"
#include "scribble.h"

static const cosm_column_t note[] = {{"id", COSM_T(COSM_U32)}};
static const cosm_table_t tables[] = {{"note", note, 1, .pk = 0, .public_ = 1, .owner = -1}};
static const cosm_reducer_t reducers[] = {{"scribble", NULL, 0}, {"noop", NULL, 0}};
COSM_MODULE(tables, 1, reducers, 2)

/* nothing: what a call costs (bench/nodecall.c) */
COSM_REDUCER(noop) { return 0; }

COSM_REDUCER(scribble)
{
    char out[160];
    char *p = scribble_state(out);
    int32_t t = datastore_table_id_from_name("note", 4);
    int64_t it = t < 0 ? -1 : datastore_scan(t);
    p = scribble_num(p, " iter=", it < 0 ? 0 : (unsigned long)it);
    *p = '\0';
    cosm_log(COSM_INFO, out);
    return 0;
}
