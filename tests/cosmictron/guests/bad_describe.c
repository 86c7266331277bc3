/*
 * bad_describe.c — a Cosmictron module whose description is wrong (a
 * private table's owner column is a String, not bytes): a node must refuse
 * it at deploy, naming the table and the column (cosm_e2e.py bad_deploy).
 */
#include "cosmictron.h"

static const cosm_column_t cols[] = {{"owner", COSM_T(COSM_STRING)}, {"note", COSM_T(COSM_STRING)}};
static const cosm_table_t tables[] = {{"notes", cols, 2, 1, NULL, 0, NULL, 0, 0, 0, 0}};
static const cosm_reducer_t reducers[] = {{"noop", NULL, 0}};
COSM_MODULE(tables, 1, reducers, 1)

COSM_REDUCER(noop)
{
    return datastore_table_id_from_name("notes", 5) == 0 ? 0 : 1;
}
