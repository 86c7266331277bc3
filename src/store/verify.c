/*
 * verify.c — weft_db_verify: checks a whole data file, read-only.
 *
 * Two parts. First the two meta pages, read with pread (no map, so no
 * fault): magic, version, and roots among the pages each one counts; pages
 * past the end of the file must all be free (see db.c). Then everything reachable from the newest meta, through LMDB in
 * one read transaction, every call under the fault guard (guard.h): each
 * named database (a space), every entry (LMDB reads each leaf and branch
 * page on the way; a value's bytes, overflow pages included, are checked to
 * lie inside the file), keys in order and in weft's encoding (db.c: context
 * byte, long keys' tail and BLAKE3 tag), entry counts against LMDB's own,
 * and the free list (page numbers in range, none twice). Last, pages are
 * counted: two metas, the pages each tree says it has, and the free ones
 * must make up the file's pages exactly, or a tree lost or shares pages.
 *
 * What it cannot see: LMDB keeps no checksums, so a changed byte inside a
 * value (or a key changed into another well-formed key in order) reads as
 * valid data. docs/store.md lists what is and is not detected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard.h"
#include "store.h"
#include "weft/blake3.h"
#include "weft/error.h"

#define MAX_PROBLEMS 40 /* then only counted */
#define HEAD_LEN 480    /* as db.c */
#define TAG_LEN 16
#define LONG_LEN (HEAD_LEN + TAG_LEN)
#define ENC_MAX (1 + 255 + WEFT_DB_PART_KEY_MAX)
#define META_MAGIC 0xBEEFC0DEu /* LMDB 0.9's file format */
#define META_VERSION 1u

typedef struct {
    weft_db_t *db;
    weft_verify_fn report;
    void *user;
    int problems;
    int fd;
    uint64_t file_bytes;
    unsigned psize;
    uint64_t last_pg; /* of the meta LMDB uses */
    uint8_t *free_map; /* a bit per page: listed as free */
    uint64_t pages;    /* pages the trees say they use */
    uint64_t free_pages;
} vstate_t;

static void say(vstate_t *vs, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(vstate_t *vs, int problem, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    if (problem && ++vs->problems > MAX_PROBLEMS)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (vs->report)
        vs->report(vs->user, problem, line);
}

static uint64_t get_n(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n); /* native endianness and width, as LMDB wrote them */
    if (n == 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        v = w;
    }
    return v;
}

/* ---- meta pages --------------------------------------------------------- */

/* LMDB 0.9's meta page: a 16-byte page header (pgno, pad, flags, lower,
 * upper), then magic, version, address, mapsize, two database records
 * (free list and main: pad, flags, depth, branch, leaf, overflow, entries,
 * root) and the last page and txnid; S = sizeof(size_t) wide fields. */
static void check_metas(vstate_t *vs)
{
    const size_t S = sizeof(size_t), DB = 8 + 5 * S, HDR = 16;
    const size_t dbs = HDR + 8 + 2 * S, last = dbs + 2 * DB, len = last + 2 * S;
    uint8_t buf[256];
    for (unsigned i = 0; i < 2; i++) {
        ssize_t n = pread(vs->fd, buf, len, (off_t)i * vs->psize);
        if (n != (ssize_t)len) {
            say(vs, 1, "meta page %u: cannot be read (%s)", i, n < 0 ? strerror(errno) : "short file");
            continue;
        }
        uint32_t magic = (uint32_t)get_n(buf + HDR, 4), version = (uint32_t)get_n(buf + HDR + 4, 4);
        uint64_t lastpg = get_n(buf + last, S), txnid = get_n(buf + last + S, S);
        uint64_t roots[2] = {get_n(buf + dbs + 8 + 4 * S, S), get_n(buf + dbs + DB + 8 + 4 * S, S)};
        if (magic != META_MAGIC || version != META_VERSION) {
            say(vs, 1, "meta page %u: not an LMDB meta page (magic %08x, version %u)", i, magic,
                version);
            continue;
        }
        for (int d = 0; d < 2; d++)
            if (roots[d] != (uint64_t)-1 && (roots[d] < 2 || roots[d] > lastpg))
                say(vs, 1, "meta page %u (txn %ju): the %s tree's root, page %ju, is not a data "
                           "page (2..%ju)", i, (uintmax_t)txnid, d ? "main" : "free list",
                    (uintmax_t)roots[d], (uintmax_t)lastpg);
    }
}

/* ---- trees, through LMDB ------------------------------------------------ */

static int g_dbi_open(vstate_t *vs, MDB_txn *t, const char *name, MDB_dbi *dbi)
{
    int rc;
    STORE_GUARDED(store_map(vs->db), rc, mdb_dbi_open(t, name, 0, dbi));
    return rc;
}

static int g_stat(vstate_t *vs, MDB_txn *t, MDB_dbi dbi, MDB_stat *ms)
{
    int rc;
    STORE_GUARDED(store_map(vs->db), rc, mdb_stat(t, dbi, ms));
    return rc;
}

static int g_cursor_open(vstate_t *vs, MDB_txn *t, MDB_dbi dbi, MDB_cursor **cur)
{
    int rc;
    STORE_GUARDED(store_map(vs->db), rc, mdb_cursor_open(t, dbi, cur));
    return rc;
}

static int g_cursor_get(vstate_t *vs, MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
    int rc;
    STORE_GUARDED(store_map(vs->db), rc, mdb_cursor_get(cur, k, v, op));
    return rc;
}

static const char *why(int rc)
{
    return rc == STORE_FAULT ? store_fault_text() : mdb_strerror(rc);
}

/* 1 when v lies inside the file (or outside the map), else reports. */
static int inside(vstate_t *vs, const MDB_val *v, const char *name, uint64_t entry, const char *what)
{
    const store_map_t *m = store_map(vs->db);
    uintptr_t p = (uintptr_t)v->mv_data, end = p + v->mv_size;
    if (p < m->lo || p >= m->hi || (end >= p && end - m->lo <= vs->file_bytes))
        return 1;
    say(vs, 1, "%s, entry %ju: its %s (%zu bytes at byte %ju) runs past the end of the file", name,
        (uintmax_t)entry, what, v->mv_size, (uintmax_t)(p - m->lo));
    return 0;
}

/* LMDB 0.9's page header: pgno (size_t), pad (u16), flags (u16), then
 * lower and upper (u16 each) or, for an overflow page, its page count. */
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define PAGE_HDR (sizeof(size_t) + 8)
#define PAGE_KINDS 0x6f /* branch, leaf, overflow, meta, leaf2, subpage */

/* Checks the header of the page holding p (inside the file): its number
 * must be its place, its flags must have `flag`, and an overflow run must
 * be long enough for `size` bytes. NULL when it is so. */
static const char *check_page(vstate_t *vs, const void *p, int flag, size_t size)
{
    const store_map_t *m = store_map(vs->db);
    uintptr_t at = (uintptr_t)p - m->lo;
    const uint8_t *page = (const uint8_t *)(m->lo + at / vs->psize * vs->psize);
    size_t pgno;
    uint16_t flags;
    uint32_t pages;
    memcpy(&pgno, page, sizeof pgno);
    memcpy(&flags, page + sizeof(size_t) + 2, 2);
    memcpy(&pages, page + sizeof(size_t) + 4, 4);
    if (pgno != at / vs->psize)
        return "a page's header names another page";
    /* exactly one kind: a leaf also marked overflow reads fine, but a write
     * copying it would write it out as an overflow run from a one-page
     * buffer */
    if ((flags & PAGE_KINDS) != flag)
        return flag == P_LEAF ? "a leaf page whose kind is damaged"
                              : "an overflow page whose kind is damaged";
    if (flag == P_OVERFLOW && (uint64_t)pages * vs->psize < PAGE_HDR + size)
        return "an overflow run shorter than its value";
    return NULL;
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* weft's encoding of one entry of space s (db.c): NULL when well formed,
 * else what is wrong. */
static const char *check_entry(int s, const MDB_val *k, const MDB_val *v)
{
    const uint8_t *key = k->mv_data, *val = v->mv_data;
    size_t klen = k->mv_size, vlen = v->mv_size, enc_len = klen;
    int has_ctx = s != WEFT_SPACE_MODULES && s != WEFT_SPACE_META;
    if (klen == 0)
        return "empty key";
    if (klen > HEAD_LEN) {
        uint8_t tag[WEFT_BLAKE3_OUT_LEN];
        weft_blake3_t h;
        size_t n;
        if (klen != LONG_LEN)
            return "key of an impossible length";
        if (vlen < 2 || (n = (size_t)val[0] | (size_t)val[1] << 8) == 0 ||
            n > ENC_MAX - HEAD_LEN || 2 + n > vlen)
            return "long key whose tail is damaged";
        weft_blake3_init(&h);
        weft_blake3_update(&h, key, HEAD_LEN);
        weft_blake3_update(&h, val + 2, n);
        weft_blake3_finalize(&h, tag, TAG_LEN);
        if (memcmp(tag, key + HEAD_LEN, TAG_LEN) != 0)
            return "long key whose tag does not match its bytes";
        enc_len = HEAD_LEN + n;
        vlen -= 2 + n;
    }
    if (has_ctx ? key[0] == 0 : key[0] != 0)
        return has_ctx ? "key without a context" : "node-wide key with a context";
    if (enc_len < 1u + key[0])
        return "key shorter than its context";
    size_t key_max = s == WEFT_SPACE_CRDT_PARTS ? WEFT_DB_PART_KEY_MAX : WEFT_DB_KEY_MAX;
    if (enc_len - 1 - key[0] > key_max)
        return "key longer than the store allows";
    if (vlen > (s == WEFT_SPACE_KV ? (size_t)1 << 20 : (size_t)256 << 20))
        return "value longer than the store allows";
    return NULL;
}

/* Walks one named database (space s, or -1 for an unexpected one).
 * Returns 0, or STORE_FAULT/LMDB's code when the walk had to stop. */
static int walk_tree(vstate_t *vs, MDB_txn *t, MDB_dbi dbi, const char *name, int s)
{
    MDB_cursor *cur = NULL;
    MDB_stat ms;
    MDB_val k, v;
    uint8_t prev[512];
    size_t prev_len = 0;
    uint64_t n = 0;
    uintptr_t leaf = UINTPTR_MAX; /* the leaf page last checked */
    int rc, bad = 0;

    if ((rc = g_stat(vs, t, dbi, &ms)) != 0) {
        say(vs, 1, "%s: cannot read its record: %s", name, why(rc));
        return rc;
    }
    vs->pages += ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages;
    if ((rc = g_cursor_open(vs, t, dbi, &cur)) != 0) {
        say(vs, 1, "%s: %s", name, why(rc));
        return rc;
    }
    for (rc = g_cursor_get(vs, cur, &k, &v, MDB_FIRST); rc == 0;
         rc = g_cursor_get(vs, cur, &k, &v, MDB_NEXT)) {
        n++;
        if (!inside(vs, &k, name, n, "key") || !inside(vs, &v, name, n, "value")) {
            bad++;
            continue;
        }
        if (k.mv_size > sizeof prev) {
            say(vs, 1, "%s, entry %ju: key of %zu bytes (LMDB allows 511)", name, (uintmax_t)n,
                k.mv_size);
            bad++;
            continue;
        }
        if (n > 1 && bytes_cmp(prev, prev_len, k.mv_data, k.mv_size) >= 0) {
            say(vs, 1, "%s, entry %ju: key out of order", name, (uintmax_t)n);
            bad++;
        }
        memcpy(prev, k.mv_data, k.mv_size);
        prev_len = k.mv_size;
        const store_map_t *m = store_map(vs->db);
        const char *wrong = NULL;
        if ((uintptr_t)k.mv_data >= m->lo && (uintptr_t)k.mv_data < m->hi &&
            ((uintptr_t)k.mv_data - m->lo) / vs->psize != leaf) { /* once per leaf page */
            leaf = ((uintptr_t)k.mv_data - m->lo) / vs->psize;
            wrong = check_page(vs, k.mv_data, P_LEAF, 0);
        }
        if (!wrong && (uintptr_t)v.mv_data >= m->lo && (uintptr_t)v.mv_data < m->hi &&
            ((uintptr_t)v.mv_data - m->lo) % vs->psize == PAGE_HDR) /* no node starts there */
            wrong = check_page(vs, v.mv_data, P_OVERFLOW, v.mv_size);
        if (!wrong && s >= 0)
            wrong = check_entry(s, &k, &v);
        if (wrong) {
            say(vs, 1, "%s, entry %ju: %s", name, (uintmax_t)n, wrong);
            bad++;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        say(vs, 1, "%s: the walk stopped after %ju of %zu entries: %s", name, (uintmax_t)n,
            ms.ms_entries, why(rc));
        return rc;
    }
    if (n != ms.ms_entries)
        say(vs, 1, "%s: %ju entries found, but its record says %zu", name, (uintmax_t)n,
            ms.ms_entries);
    else if (!bad)
        say(vs, 0, "%s: %ju entries, %zu pages, depth %u", name, (uintmax_t)n,
            ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages, ms.ms_depth);
    return 0;
}

/* The free list (LMDB's database 0): txnid -> [count, page numbers]. */
static int walk_free(vstate_t *vs, MDB_txn *t)
{
    MDB_cursor *cur = NULL;
    MDB_stat ms;
    MDB_val k, v;
    const size_t S = sizeof(size_t);
    int rc;
    if ((rc = g_stat(vs, t, 0, &ms)) != 0 || (rc = g_cursor_open(vs, t, 0, &cur)) != 0) {
        say(vs, 1, "free list: %s", why(rc));
        return rc;
    }
    vs->pages += ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages;
    for (rc = g_cursor_get(vs, cur, &k, &v, MDB_FIRST); rc == 0;
         rc = g_cursor_get(vs, cur, &k, &v, MDB_NEXT)) {
        if (!inside(vs, &v, "free list", 0, "value"))
            continue;
        const uint8_t *p = v.mv_data;
        uint64_t count = v.mv_size >= S ? get_n(p, S) : 0;
        if (v.mv_size < S || v.mv_size != (count + 1) * S) {
            say(vs, 1, "free list: a record of %zu bytes does not hold %ju page numbers",
                v.mv_size, (uintmax_t)count);
            continue;
        }
        for (uint64_t i = 1; i <= count; i++) {
            uint64_t pg = get_n(p + i * S, S);
            if (pg < 2 || pg > vs->last_pg) {
                say(vs, 1, "free list: page %ju is not a data page (2..%ju)", (uintmax_t)pg,
                    (uintmax_t)vs->last_pg);
                continue;
            }
            if (vs->free_map[pg / 8] & (1u << (pg % 8))) {
                say(vs, 1, "free list: page %ju is listed twice", (uintmax_t)pg);
                continue;
            }
            vs->free_map[pg / 8] |= (uint8_t)(1u << (pg % 8));
            vs->free_pages++;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        say(vs, 1, "free list: the walk stopped: %s", why(rc));
        return rc;
    }
    return 0;
}

/* A free page keeps the header it had in use. When the header names the
 * page itself (it began a page or an overflow run; other pages of a run
 * hold data), its flags must be those of a branch, leaf or overflow page:
 * LMDB may go by them when it takes the page again, and a damaged one
 * makes it write past its own buffers. Read with pread. */
static void check_free_headers(vstate_t *vs, uint64_t have)
{
    uint8_t hdr[PAGE_HDR];
    for (uint64_t pg = 2; pg < have && pg <= vs->last_pg; pg++) {
        size_t pgno;
        uint16_t flags;
        if (!(vs->free_map[pg / 8] & (1u << (pg % 8))) ||
            pread(vs->fd, hdr, sizeof hdr, (off_t)(pg * vs->psize)) != (ssize_t)sizeof hdr)
            continue;
        memcpy(&pgno, hdr, sizeof pgno);
        memcpy(&flags, hdr + sizeof(size_t) + 2, 2);
        flags &= PAGE_KINDS;
        if (pgno == pg && flags != 0x01 && flags != P_LEAF && flags != P_OVERFLOW)
            say(vs, 1, "free page %ju: its header is damaged (flags %#x)", (uintmax_t)pg, flags);
    }
}

static int abort_call(MDB_txn *t)
{
    mdb_txn_abort(t);
    return 0;
}

static int g_txn_begin(vstate_t *vs, MDB_txn **t)
{
    int rc;
    STORE_GUARDED(store_map(vs->db), rc, mdb_txn_begin(store_env(vs->db), NULL, MDB_RDONLY, t));
    return rc;
}

static void walk_all(vstate_t *vs)
{
    MDB_env *env = store_env(vs->db);
    MDB_txn *t = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi main_dbi, dbi;
    MDB_envinfo before, after;
    MDB_val k, v;
    int rc, seen[WEFT_SPACE_COUNT] = {0};
    char name[512];

    if ((rc = g_txn_begin(vs, &t)) != 0) {
        say(vs, 1, "cannot begin a read transaction: %s", why(rc));
        return;
    }
    mdb_env_info(env, &before);
    vs->last_pg = before.me_last_pgno;
    if ((vs->free_map = calloc(vs->last_pg / 8 + 1, 1)) == NULL) {
        say(vs, 1, "out of memory for %ju pages", (uintmax_t)vs->last_pg + 1);
        goto done;
    }
    if ((rc = walk_free(vs, t)) != 0)
        goto done;
    /* The file may end before the last page only by free pages (db.c). */
    uint64_t missing = 0, have = vs->file_bytes / vs->psize;
    for (uint64_t pg = have; pg <= vs->last_pg; pg++)
        missing += !(vs->free_map[pg / 8] & (1u << (pg % 8)));
    if (missing)
        say(vs, 1, "data.mdb ends after %ju pages, but %ju of the pages up to the last one (%ju) "
                   "are in use: the file was truncated", (uintmax_t)have, (uintmax_t)missing,
            (uintmax_t)vs->last_pg);
    check_free_headers(vs, have);
    if ((rc = g_dbi_open(vs, t, NULL, &main_dbi)) != 0 ||
        (rc = walk_tree(vs, t, main_dbi, "main database", -1)) != 0)
        goto done;
    /* The main database's keys name the spaces; any other name is damage
     * (a flipped byte in a name loses that space). */
    if ((rc = g_cursor_open(vs, t, main_dbi, &cur)) != 0)
        goto done;
    for (rc = g_cursor_get(vs, cur, &k, &v, MDB_FIRST); rc == 0;
         rc = g_cursor_get(vs, cur, &k, &v, MDB_NEXT)) {
        int s = -1;
        if (k.mv_size >= sizeof name || !inside(vs, &k, "main database", 0, "key"))
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        for (int i = 0; i < WEFT_SPACE_COUNT; i++)
            if (strcmp(name, store_space_names[i]) == 0)
                s = i;
        if (s < 0) {
            say(vs, 1, "main database: unexpected database '%.64s'", name);
            continue;
        }
        seen[s] = 1;
        if ((rc = g_dbi_open(vs, t, name, &dbi)) != 0) {
            say(vs, 1, "space %s: cannot open: %s", name, why(rc));
            if (rc == STORE_FAULT)
                goto done;
            continue;
        }
        char label[sizeof name + 8];
        snprintf(label, sizeof label, "space %s", name);
        if ((rc = walk_tree(vs, t, dbi, label, s)) == STORE_FAULT)
            goto done;
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if (rc != MDB_NOTFOUND) {
        say(vs, 1, "main database: the walk stopped: %s", why(rc));
        goto done;
    }
    /* Not damage: a space newer than the directory is made by its next
     * writable open. (A damaged name shows as an unexpected database.) */
    for (int i = 0; i < WEFT_SPACE_COUNT; i++)
        if (!seen[i])
            say(vs, 0, "space %s: absent (made by the next writable open)", store_space_names[i]);
    mdb_env_info(env, &after);
    if (after.me_last_txnid != before.me_last_txnid ||
        mdb_txn_id(t) != (size_t)before.me_last_txnid) {
        say(vs, 0, "pages not counted: the directory changed during the check");
    } else if (!vs->problems && 2 + vs->pages + vs->free_pages != vs->last_pg + 1) {
        say(vs, 1, "pages: the file uses %ju pages, but the trees hold %ju, the free list %ju "
                   "and the meta pages 2", (uintmax_t)vs->last_pg + 1, (uintmax_t)vs->pages,
            (uintmax_t)vs->free_pages);
    } else if (!vs->problems) {
        say(vs, 0, "pages: %ju in use, %ju free, of %ju", (uintmax_t)vs->pages + 2,
            (uintmax_t)vs->free_pages, (uintmax_t)vs->last_pg + 1);
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    {
        int arc;
        STORE_GUARDED(store_map(vs->db), arc, abort_call(t));
        (void)arc;
    }
}

int weft_db_verify(weft_db_t *db, weft_verify_fn report, void *user)
{
    vstate_t vs;
    MDB_stat est;
    struct stat st;
    int rc;

    if (!db)
        return WEFT_EARG;
    memset(&vs, 0, sizeof vs);
    vs.db = db;
    vs.report = report;
    vs.user = user;
    if ((rc = mdb_env_get_fd(store_env(db), &vs.fd)) != 0 || fstat(vs.fd, &st) != 0 ||
        (rc = mdb_env_stat(store_env(db), &est)) != 0)
        return weft_db_set_error(db, WEFT_EIO, "verify %s: cannot read data.mdb: %s",
                                 weft_db_dir(db), rc ? mdb_strerror(rc) : strerror(errno));
    vs.file_bytes = (uint64_t)st.st_size;
    vs.psize = est.ms_psize;
    check_metas(&vs);
    walk_all(&vs);
    free(vs.free_map);
    if (vs.problems > MAX_PROBLEMS && report) {
        char line[96];
        snprintf(line, sizeof line, "... and %d more problems", vs.problems - MAX_PROBLEMS);
        report(user, 1, line);
    }
    if (vs.problems)
        return weft_db_set_error(db, WEFT_EDAMAGED, "data directory %s is damaged: %d problem%s",
                                 weft_db_dir(db), vs.problems, vs.problems == 1 ? "" : "s");
    return 0;
}
