/*
 * tables_schema.c — a module's description (docs/cosmictron.md, "Schema")
 * parsed into a weft_schema_t (weft/tables.h): tables with their columns,
 * primary key, unique columns, indexes, visibility and owner column, and
 * reducers with their argument types.
 *
 * The description is untrusted guest output: it is read with the BSATN
 * reader only, every name is checked ([A-Za-z_][A-Za-z0-9_]*, at most 63
 * bytes: names become parts of store keys and JSON fields), and every
 * column index is checked against its table. A bad description is refused
 * with a message naming the table and what is wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tables_priv.h"
#include "weft/error.h"

int tables_fail(char *msg, size_t size, const char *fmt, ...)
{
    if (msg && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, size, fmt, ap);
        va_end(ap);
    }
    return WEFT_EARG;
}

static int name_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || n > WEFT_TABLES_MAX_NAME) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

/* Reads a name into out (NUL-terminated); 0 when absent or not a name. */
static int get_name(weft_bsatn_reader_t *r, char out[WEFT_TABLES_MAX_NAME + 1])
{
    uint32_t n;
    const uint8_t *p = weft_bsatn_get_str(r, &n);
    if (!p || !name_ok(p, n)) return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

/* A Struct type held in a bytes value: its columns (names and types). */
static int get_struct(weft_bsatn_reader_t *r, const uint8_t **out, size_t *out_len,
                      schema_col_t *cols, size_t max, size_t *out_n)
{
    uint32_t n;
    size_t used;
    const uint8_t *p = weft_bsatn_get_bytes(r, &n);
    if (!p || weft_bsatn_type_check(p, n, &used) != 0 || used != n || p[0] != WEFT_BSATN_STRUCT)
        return 0;
    weft_bsatn_reader_t tr;
    weft_bsatn_reader_init(&tr, p + 1, n - 1);
    uint32_t nf = weft_bsatn_get_u32(&tr);
    if (nf > max) return 0;
    for (uint32_t i = 0; i < nf; i++) {
        if (!get_name(&tr, cols[i].name)) return 0;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(cols[j].name, cols[i].name) == 0) return 0;
        cols[i].type = weft_bsatn_get_type(&tr, &cols[i].type_len);
        if (!cols[i].type) return 0;
    }
    *out = p;
    *out_len = n;
    *out_n = nf;
    return 1;
}

/* An Option<u32> column index, checked against the table: -1 for None. */
static int get_opt_col(weft_bsatn_reader_t *r, const schema_table_t *t, int *out)
{
    uint8_t some = weft_bsatn_get_u8(r);
    if (r->err || some > 1) return 0;
    *out = -1;
    if (!some) return 1;
    uint32_t c = weft_bsatn_get_u32(r);
    if (r->err || c >= t->ncols) return 0;
    *out = (int)c;
    return 1;
}

static int parse_table(weft_bsatn_reader_t *r, weft_schema_t *s, size_t ti, char *msg, size_t size)
{
    schema_table_t *t = &s->tables[ti];
    if (!get_name(r, t->name))
        return tables_fail(msg, size,
                           "table %zu: a name must be [A-Za-z_][A-Za-z0-9_]*, at most %u bytes", ti,
                           WEFT_TABLES_MAX_NAME);
    t->row_pre[0] = 'r'; /* tables_row_prefix */
    t->row_pre_len = 1 + strlen(t->name) + 1;
    memcpy(t->row_pre + 1, t->name, t->row_pre_len - 1);
    for (size_t j = 0; j < ti; j++)
        if (strcmp(s->tables[j].name, t->name) == 0)
            return tables_fail(msg, size, "table %s: declared twice", t->name);
    if (!get_struct(r, &t->row, &t->row_len, t->cols, MAX_COLUMNS, &t->ncols))
        return tables_fail(msg, size,
                           "table %s: the row type must be a Struct of 1 to %u columns with "
                           "distinct names",
                           t->name, MAX_COLUMNS);
    if (!get_opt_col(r, t, &t->pk))
        return tables_fail(msg, size, "table %s: primary key is not a column", t->name);
    uint32_t nu = weft_bsatn_get_u32(r);
    if (r->err || nu > MAX_COLUMNS)
        return tables_fail(msg, size, "table %s: bad unique column list", t->name);
    for (uint32_t i = 0; i < nu; i++) {
        uint32_t c = weft_bsatn_get_u32(r);
        if (r->err || c >= t->ncols)
            return tables_fail(msg, size, "table %s: unique column %u is not a column", t->name, c);
        for (size_t j = 0; j < t->nunique; j++)
            if (t->unique[j] == c)
                return tables_fail(msg, size, "table %s: column %s is unique twice", t->name,
                                   t->cols[c].name);
        if ((int)c == t->pk) continue; /* the primary key is unique already */
        t->unique[t->nunique++] = c;
    }
    uint32_t ni = weft_bsatn_get_u32(r);
    if (r->err || ni > MAX_INDEXES)
        return tables_fail(msg, size, "table %s: at most %u indexes", t->name, MAX_INDEXES);
    for (uint32_t i = 0; i < ni; i++) {
        schema_index_t *x = &t->idx[i];
        if (!get_name(r, x->name))
            return tables_fail(msg, size, "table %s: index %u has a bad name", t->name, i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(t->idx[j].name, x->name) == 0)
                return tables_fail(msg, size, "table %s: index %s declared twice", t->name, x->name);
        uint32_t nc = weft_bsatn_get_u32(r);
        if (r->err || nc == 0 || nc > MAX_INDEX_COLUMNS)
            return tables_fail(msg, size, "table %s: index %s needs 1 to %u columns", t->name,
                               x->name, MAX_INDEX_COLUMNS);
        for (uint32_t j = 0; j < nc; j++) {
            x->cols[j] = weft_bsatn_get_u32(r);
            if (r->err || x->cols[j] >= t->ncols)
                return tables_fail(msg, size, "table %s: index %s names no column", t->name, x->name);
        }
        x->ncols = nc;
        x->on_pk = nc == 1 && (int)x->cols[0] == t->pk;
        size_t tl = strlen(t->name) + 1, xl = strlen(x->name) + 1; /* with their NULs */
        x->pre[0] = 'i';
        memcpy(x->pre + 1, t->name, tl);
        memcpy(x->pre + 1 + tl, x->name, xl);
        x->pre_len = 1 + tl + xl;
        t->nidx++;
    }
    t->public_ = weft_bsatn_get_bool(r);
    if (r->err) return tables_fail(msg, size, "table %s: bad public flag", t->name);
    if (!get_opt_col(r, t, &t->owner))
        return tables_fail(msg, size, "table %s: owner is not a column", t->name);
    if (t->owner >= 0) {
        const schema_col_t *c = &t->cols[t->owner];
        if (c->type_len != 1 || c->type[0] != WEFT_BSATN_BYTES)
            return tables_fail(msg, size, "table %s: owner column %s must be of type bytes",
                               t->name, c->name);
        if (t->public_)
            return tables_fail(msg, size, "table %s: an owner column is for private tables", t->name);
    }
    if (s->version >= WEFT_SCHEMA_VERSION_REPL) {
        t->replicated = weft_bsatn_get_bool(r);
        if (r->err) return tables_fail(msg, size, "table %s: bad replicated flag", t->name);
        if (t->replicated && t->pk < 0)
            return tables_fail(msg, size,
                               "table %s: a replicated table needs a primary key (rows "
                               "replicate by it)",
                               t->name);
    }
    return 0;
}

int weft_schema_parse(const uint8_t *p, size_t len, weft_schema_t **out, char *msg, size_t size)
{
    weft_bsatn_reader_t r;
    int rc = WEFT_ENOMEM;
    if (!out) return WEFT_EARG;
    *out = NULL;
    if (!p && len) return tables_fail(msg, size, "no description");
    weft_schema_t *s = calloc(1, sizeof *s);
    if (!s) return WEFT_ENOMEM;
    s->bytes = malloc(len ? len : 1);
    if (!s->bytes) goto fail;
    if (len) memcpy(s->bytes, p, len);
    s->len = len;
    weft_bsatn_reader_init(&r, s->bytes, len);
    uint32_t version = weft_bsatn_get_u32(&r);
    if (r.err || version < WEFT_SCHEMA_VERSION || version > WEFT_SCHEMA_VERSION_REPL) {
        rc = tables_fail(msg, size, "schema: version %u, this weft reads versions %u and %u",
                         version, WEFT_SCHEMA_VERSION, WEFT_SCHEMA_VERSION_REPL);
        goto fail;
    }
    s->version = version;
    uint32_t nt = weft_bsatn_get_u32(&r);
    /* a table takes more than 16 bytes: the count is checked before the
     * allocation, so a forged count cannot ask for gigabytes */
    if (r.err || nt > (len - r.off) / 16) {
        rc = tables_fail(msg, size, "schema: bad table count");
        goto fail;
    }
    s->tables = calloc(nt ? nt : 1, sizeof *s->tables);
    if (!s->tables) goto fail;
    s->ntables = nt;
    for (size_t i = 0; i < nt; i++)
        if ((rc = parse_table(&r, s, i, msg, size)) != 0) goto fail;
    uint32_t nr = weft_bsatn_get_u32(&r);
    if (r.err || nr > (len - r.off) / 5) {
        rc = tables_fail(msg, size, "schema: bad reducer count");
        goto fail;
    }
    s->reducers = calloc(nr ? nr : 1, sizeof *s->reducers);
    if (!s->reducers) goto fail;
    s->nreducers = nr;
    for (size_t i = 0; i < nr; i++) {
        schema_reducer_t *x = &s->reducers[i];
        schema_col_t cols[MAX_COLUMNS];
        size_t ncols;
        if (!get_name(&r, x->name)) {
            rc = tables_fail(msg, size, "reducer %zu: bad name", i);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->reducers[j].name, x->name) == 0) {
                rc = tables_fail(msg, size, "reducer %s: declared twice", x->name);
                goto fail;
            }
        /* no arguments: an empty bytes value */
        if (r.off + 4 <= len && memcmp(s->bytes + r.off, "\0\0\0\0", 4) == 0) {
            r.off += 4;
            continue;
        }
        if (!get_struct(&r, &x->args, &x->args_len, cols, MAX_COLUMNS, &ncols)) {
            rc = tables_fail(msg, size, "reducer %s: arguments must be a Struct type (or empty)",
                             x->name);
            goto fail;
        }
    }
    if (r.off != len) {
        rc = tables_fail(msg, size, "schema: %zu bytes after the description", len - r.off);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    weft_schema_delete(s);
    return rc;
}

void weft_schema_delete(weft_schema_t *s)
{
    if (!s) return;
    free(s->tables);
    free(s->reducers);
    free(s->bytes);
    free(s);
}

const uint8_t *weft_schema_bytes(const weft_schema_t *s, size_t *out_len)
{
    *out_len = s->len;
    return s->bytes;
}

const schema_table_t *tables_table(const weft_schema_t *s, uint32_t tid)
{
    return tid < s->ntables ? &s->tables[tid] : NULL;
}

size_t weft_schema_table_count(const weft_schema_t *s)
{
    return s->ntables;
}

int weft_schema_table_find(const weft_schema_t *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (strlen(s->tables[i].name) == len && memcmp(s->tables[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

const char *weft_schema_table_name(const weft_schema_t *s, size_t tid)
{
    return tid < s->ntables ? s->tables[tid].name : NULL;
}

const uint8_t *weft_schema_row_type(const weft_schema_t *s, size_t tid, size_t *out_len)
{
    if (tid >= s->ntables) return NULL;
    *out_len = s->tables[tid].row_len;
    return s->tables[tid].row;
}

int weft_schema_table_replicated(const weft_schema_t *s, size_t tid)
{
    return tid < s->ntables && s->tables[tid].replicated;
}

int weft_schema_table_public(const weft_schema_t *s, size_t tid)
{
    return tid < s->ntables && s->tables[tid].public_;
}

size_t weft_schema_key_column(const weft_schema_t *s, size_t tid, int iid, size_t i,
                              const char **out_name, const uint8_t **out_type, size_t *out_len)
{
    const schema_table_t *tab = tables_table(s, (uint32_t)tid);
    size_t n = 0;
    uint32_t col = 0;
    if (tab && iid < 0 && tab->pk >= 0) {
        n = 1;
        col = (uint32_t)tab->pk;
    } else if (tab && iid >= 0 && (size_t)iid < tab->nidx) {
        n = tab->idx[iid].ncols;
        col = i < n ? tab->idx[iid].cols[i] : 0;
    }
    if (i < n) {
        *out_name = tab->cols[col].name;
        *out_type = tab->cols[col].type;
        *out_len = tab->cols[col].type_len;
    }
    return n;
}

int weft_schema_index_find(const weft_schema_t *s, size_t tid, const char *name, size_t len)
{
    if (tid >= s->ntables) return -1;
    const schema_table_t *t = &s->tables[tid];
    for (size_t i = 0; i < t->nidx; i++)
        if (strlen(t->idx[i].name) == len && memcmp(t->idx[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

size_t weft_schema_reducer_count(const weft_schema_t *s)
{
    return s->nreducers;
}

const char *weft_schema_reducer_name(const weft_schema_t *s, size_t i)
{
    return i < s->nreducers ? s->reducers[i].name : NULL;
}

const uint8_t *weft_schema_reducer_args(const weft_schema_t *s, size_t i, size_t *out_len)
{
    if (i >= s->nreducers) return NULL;
    *out_len = s->reducers[i].args_len;
    return s->reducers[i].args;
}

int weft_schema_reducer_find(const weft_schema_t *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->nreducers; i++)
        if (strlen(s->reducers[i].name) == len && memcmp(s->reducers[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

int weft_schema_describe(const weft_schema_t *s, weft_bsatn_buf_t *out)
{
    char line[256];
    for (size_t i = 0; i < s->ntables; i++) {
        const schema_table_t *t = &s->tables[i];
        snprintf(line, sizeof line, "table %s (%s%s", t->name, t->public_ ? "public" : "private",
                 t->replicated ? ", replicated" : "");
        weft_bsatn_put_raw(out, line, strlen(line));
        if (t->owner >= 0) {
            snprintf(line, sizeof line, ", owner %s", t->cols[t->owner].name);
            weft_bsatn_put_raw(out, line, strlen(line));
        }
        weft_bsatn_put_raw(out, "):", 2);
        for (size_t c = 0; c < t->ncols; c++) {
            snprintf(line, sizeof line, c ? ", %s " : " %s ", t->cols[c].name);
            weft_bsatn_put_raw(out, line, strlen(line));
            weft_bsatn_type_name(t->cols[c].type, t->cols[c].type_len, out);
            if ((int)c == t->pk) weft_bsatn_put_raw(out, " primary key", 12);
            for (size_t u = 0; u < t->nunique; u++)
                if (t->unique[u] == c) weft_bsatn_put_raw(out, " unique", 7);
        }
        for (size_t x = 0; x < t->nidx; x++) {
            snprintf(line, sizeof line, "; index %s (", t->idx[x].name);
            weft_bsatn_put_raw(out, line, strlen(line));
            for (size_t c = 0; c < t->idx[x].ncols; c++) {
                if (c) weft_bsatn_put_raw(out, ", ", 2);
                const char *cn = t->cols[t->idx[x].cols[c]].name;
                weft_bsatn_put_raw(out, cn, strlen(cn));
            }
            weft_bsatn_put_raw(out, ")", 1);
        }
        weft_bsatn_put_u8(out, '\n');
    }
    for (size_t i = 0; i < s->nreducers; i++) {
        snprintf(line, sizeof line, "reducer %s ", s->reducers[i].name);
        weft_bsatn_put_raw(out, line, strlen(line));
        if (s->reducers[i].args)
            weft_bsatn_type_name(s->reducers[i].args, s->reducers[i].args_len, out);
        else
            weft_bsatn_put_raw(out, "{}", 2);
        weft_bsatn_put_u8(out, '\n');
    }
    return out->err;
}
