/*
 * tabledef.h — one TableDef of a schema description (docs/cosmictron.md
 * "Schema"), for the Cosmictron tests that write schemas by hand: the table
 * as data, put_table() writes its BSATN. Columns are named in the primary
 * key, owner, unique columns and indexes, so a table reads as declared.
 * Include after ../unit/test.h and bufs.h.
 */
#ifndef WEFT_TESTS_COSMICTRON_TABLEDEF_H
#define WEFT_TESTS_COSMICTRON_TABLEDEF_H

#include <string.h>

#include "weft/tables.h"

#define DEF_MAX 8

typedef struct {
    const char *name;
    const char *type; /* its BSATN type bytes (none of them 0) */
} def_col_t;

typedef struct {
    const char *name;
    const char *cols[DEF_MAX]; /* ends at the first NULL */
} def_index_t;

typedef struct {
    const char *name;
    def_col_t cols[DEF_MAX];     /* ends at the first without a name */
    const char *pk;              /* NULL: no primary key */
    const char *unique[DEF_MAX]; /* ends at the first NULL */
    def_index_t idx[DEF_MAX];    /* ends at the first without a name */
    int private_;                /* 0: public */
    const char *owner;           /* NULL: no owner column */
    int replicated;              /* written from WEFT_SCHEMA_VERSION_REPL on */
} def_table_t;

static uint32_t def_col(const def_table_t *t, const char *name)
{
    for (uint32_t i = 0; i < DEF_MAX && t->cols[i].name; i++)
        if (strcmp(t->cols[i].name, name) == 0) return i;
    FAIL("table %s has no column %s", t->name, name);
    return 0;
}

static void def_put_col_list(buf_t *d, const def_table_t *t, const char *const *names)
{
    uint32_t n = 0;
    while (n < DEF_MAX && names[n]) n++;
    weft_bsatn_put_u32(d, n);
    for (uint32_t i = 0; i < n; i++) weft_bsatn_put_u32(d, def_col(t, names[i]));
}

static void def_put_option_col(buf_t *d, const def_table_t *t, const char *name)
{
    weft_bsatn_put_u8(d, name != NULL);
    if (name) weft_bsatn_put_u32(d, def_col(t, name));
}

/* A product type of the named columns (a row's, a reducer's arguments),
 * as bytes: cols ends at the first without a name. */
static void def_put_product(buf_t *d, const def_col_t *cols)
{
    weft_bsatn_buf_t p;
    uint32_t n = 0;
    weft_bsatn_buf_init(&p);
    while (n < DEF_MAX && cols[n].name) n++;
    weft_bsatn_put_u8(&p, 0x40);
    weft_bsatn_put_u32(&p, n);
    for (uint32_t i = 0; i < n; i++) {
        weft_bsatn_put_str(&p, cols[i].name);
        weft_bsatn_put_raw(&p, cols[i].type, strlen(cols[i].type));
    }
    weft_bsatn_put_bytes(d, p.p, p.len);
    weft_bsatn_buf_fini(&p);
}

/* t's TableDef, as a description of schema version `version` has it. */
static void put_table(buf_t *d, const def_table_t *t, uint32_t version)
{
    uint32_t nidx = 0;
    weft_bsatn_put_str(d, t->name);
    def_put_product(d, t->cols);
    def_put_option_col(d, t, t->pk);
    def_put_col_list(d, t, t->unique);
    while (nidx < DEF_MAX && t->idx[nidx].name) nidx++;
    weft_bsatn_put_u32(d, nidx);
    for (uint32_t x = 0; x < nidx; x++) {
        weft_bsatn_put_str(d, t->idx[x].name);
        def_put_col_list(d, t, t->idx[x].cols);
    }
    weft_bsatn_put_u8(d, !t->private_);
    def_put_option_col(d, t, t->owner);
    if (version >= WEFT_SCHEMA_VERSION_REPL) weft_bsatn_put_u8(d, t->replicated != 0);
}

#endif
