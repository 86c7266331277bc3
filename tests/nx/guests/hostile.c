/*
 * hostile.c — a hostile guest of the whole nx ABI, run by
 * tests/nx/hostile_test.sh through `weft run --data-dir`:
 *
 *   weft run --data-dir DIR hostile.wasm SEED [CALLS]
 *
 * From SEED, a deterministic pseudo-random sequence of CALLS (default 2000
 * to 3999) nx calls, each with valid arguments on a small pool of keys
 * (so that state builds up and reads see real data) or with one hostile
 * argument that stays inside linear memory: keys, prefixes, fields, values,
 * RGA ids, event names and log messages at and just over their limits,
 * reserved __nx/ keys, keys of one CRDT type read as another, RGA ids of
 * the wrong length, not base32 text, naming seq 0 or never issued (ids are
 * text, docs/nx.md; the guest encodes and decodes them itself to make such
 * ids and to check the ones the host gives), out_cap 0, tiny, at the end of memory
 * or over 10 MiB, output buffers over their own inputs, empty ranges at
 * the end of memory, huge counter deltas, cursors and limits. Such calls
 * must return an nx code, never trap; where docs/nx.md fixes the code the
 * guest checks it, and it checks every result's bounds and every page's
 * encoding. Each mismatch prints "hostile: MISMATCH ..." on stderr.
 *
 * A running FNV-1a hash of every result and of every output the host can
 * make deterministic (not time, random bytes, node or RGA ids) is printed
 * on stdout at the end as "hostile SEED hash HEX mismatches N", so two
 * runs of a seed on fresh data directories must print the same line. Then,
 * for about 40% of the seeds, one last call chosen by the seed has a range
 * outside linear memory (or is nx.abort) and must trap: the guest first
 * prints "hostile: expect trap: nx.FN" on stderr. Exit status: 0 at the
 * end, 2 when a check failed or the last call did not trap, 3 (set by
 * weft run) for the trap.
 *
 * Memory layout: no malloc after start-up, so memory never grows while
 * the calls run; main grows it by SCRATCH bytes first, and every output
 * lands in that scratch area, which ends at the end of memory (outputs
 * "at the end of memory" land there too), or in the first 4 KiB (the far
 * end of the 1 MiB stack, which the guest never reaches). Outputs the host
 * cannot reproduce (random bytes, node and RGA ids) are overwritten with a
 * fixed byte once read, since later calls read scratch bytes as input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>

#include "nx.h"

#define MIB (1024u * 1024u)
#define SCRATCH (11u * MIB)  /* > 10 MiB + 1, the largest output buffer */
#define LOW_OUT 4096u        /* outputs at address 0 stay below this */
#define NOWANT 0x7fffffff    /* no expected result for this call */
#define NIDS 64

/* ---- deterministic randomness and the running hash ---------------------- */

static uint64_t rng;
static uint64_t hash = 0xcbf29ce484222325ull;
static int mismatches;
static int sync_on;
static uint32_t scratch; /* first byte of the scratch area */

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t below(uint32_t n) { return (uint32_t)(rnd() % n); }
static int chance(uint32_t percent) { return below(100) < percent; }

static void mix(const void *p, uint32_t n)
{
    const uint8_t *b = p;
    for (uint32_t i = 0; i < n; i++) hash = (hash ^ b[i]) * 0x100000001b3ull;
}

static void mix32(uint32_t v) { mix(&v, sizeof v); }

/* Hashes an output: all of it up to 4 KiB, else its ends and length (a
 * byte-by-byte hash of 10 MiB would dominate the run). */
static void mix_out(uint32_t ptr, uint32_t n)
{
    const uint8_t *b = (const uint8_t *)(uintptr_t)ptr;
    if (n <= 4096) {
        mix(b, n);
    } else {
        mix(b, 2048);
        mix(b + n - 2048, 2048);
        mix32(n);
    }
}

static uint32_t mem_end(void) { return (uint32_t)(__builtin_wasm_memory_size(0) * 65536u); }

/* ---- messages (write(2) only: stdio would allocate) --------------------- */

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...)
{
    static char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
    if (n > 0) write(fd, line, (size_t)n);
}

/* ---- the functions -------------------------------------------------------- */

/* Range slots of a function's arguments, in argument order. */
enum { K, F, V, ID, PFX, AFT, HIN, NAME, PAY, MSG, ENV, OUT, OID, RND };

enum {
    DB_GET, DB_SET, DB_DELETE, DB_EXISTS, DB_SCAN, DB_SCAN_AFTER, DB_KEYS, DB_KEYS_AFTER,
    G_INC, G_VALUE, PN_INC, PN_DEC, PN_VALUE, LWW_SET, LWW_GET, MAP_SET, MAP_REMOVE, MAP_GET,
    MAP_CONTAINS, MAP_ENTRIES, OR_ADD, OR_REMOVE, OR_CONTAINS, OR_ELEMENTS, RGA_INSERT,
    RGA_DELETE, RGA_VALUES, TIME_NOW, TIME_MONO, RANDOM, SHA256, BLAKE3, ENV_GET, MODULE_ID,
    CAPS, EVENT, NODE_ID, PEERS, LOG_V2, LOG, ABORT, NFUNCS
};

static const struct {
    const char *name;
    uint8_t nslots;
    uint8_t slot[4];
} fns[NFUNCS] = {
    [DB_GET] = {"db_get", 2, {K, OUT}},
    [DB_SET] = {"db_set", 2, {K, V}},
    [DB_DELETE] = {"db_delete", 1, {K}},
    [DB_EXISTS] = {"db_exists", 1, {K}},
    [DB_SCAN] = {"db_scan", 2, {PFX, OUT}},
    [DB_SCAN_AFTER] = {"db_scan_after", 3, {PFX, AFT, OUT}},
    [DB_KEYS] = {"db_keys", 2, {PFX, OUT}},
    [DB_KEYS_AFTER] = {"db_keys_after", 3, {PFX, AFT, OUT}},
    [G_INC] = {"crdt_gcounter_inc", 1, {K}},
    [G_VALUE] = {"crdt_gcounter_value", 2, {K, OUT}},
    [PN_INC] = {"crdt_pncounter_inc", 1, {K}},
    [PN_DEC] = {"crdt_pncounter_dec", 1, {K}},
    [PN_VALUE] = {"crdt_pncounter_value", 2, {K, OUT}},
    [LWW_SET] = {"crdt_lww_set", 2, {K, V}},
    [LWW_GET] = {"crdt_lww_get", 2, {K, OUT}},
    [MAP_SET] = {"crdt_lww_map_set", 3, {K, F, V}},
    [MAP_REMOVE] = {"crdt_lww_map_remove", 2, {K, F}},
    [MAP_GET] = {"crdt_lww_map_get", 3, {K, F, OUT}},
    [MAP_CONTAINS] = {"crdt_lww_map_contains", 2, {K, F}},
    [MAP_ENTRIES] = {"crdt_lww_map_entries", 2, {K, OUT}},
    [OR_ADD] = {"crdt_orset_add", 2, {K, F}},
    [OR_REMOVE] = {"crdt_orset_remove", 2, {K, F}},
    [OR_CONTAINS] = {"crdt_orset_contains", 2, {K, F}},
    [OR_ELEMENTS] = {"crdt_orset_elements", 2, {K, OUT}},
    [RGA_INSERT] = {"crdt_rga_insert", 4, {K, ID, V, OID}},
    [RGA_DELETE] = {"crdt_rga_delete", 2, {K, ID}},
    [RGA_VALUES] = {"crdt_rga_values", 2, {K, OUT}},
    [TIME_NOW] = {"time_now", 0, {0}},
    [TIME_MONO] = {"time_monotonic", 0, {0}},
    [RANDOM] = {"random_bytes", 1, {RND}},
    [SHA256] = {"hash_sha256", 2, {HIN, OUT}},
    [BLAKE3] = {"hash_blake3", 2, {HIN, OUT}},
    [ENV_GET] = {"env_get", 2, {ENV, OUT}},
    [MODULE_ID] = {"module_id", 1, {OUT}},
    [CAPS] = {"host_capabilities", 1, {OUT}},
    [EVENT] = {"event_emit", 2, {NAME, PAY}},
    [NODE_ID] = {"net_node_id", 1, {OUT}},
    [PEERS] = {"net_peers", 1, {OUT}},
    [LOG_V2] = {"host_log_v2", 1, {MSG}},
    [LOG] = {"host_log", 1, {MSG}},
    [ABORT] = {"abort", 1, {MSG}},
};

static int is_crdt(int f) { return f >= G_INC && f <= RGA_VALUES; }

/* ---- argument material ------------------------------------------------------ */

static uint8_t pat[MIB + 8192]; /* deterministic bytes, never an output */
static char names[MIB + 16];    /* 'a' * n: event names, env names */

typedef struct {
    const char *s;
    uint32_t n;
} str_t;

#define STR(x) {x, (uint32_t)(sizeof x - 1)}

/* Shared by db and every CRDT type, so that types collide. */
static const str_t keys[] = {
    STR("a"), STR("b"), STR("ctr"), STR("reg"), STR("map"), STR("set"), STR("seq"), STR(""),
    STR("__nx"), STR("_"), STR("\0\xff\x01"), STR("k/1"), STR("k/2"), STR("k/10"),
};
#define NKEYS (sizeof keys / sizeof keys[0])
static const str_t reserved[] = {STR("__nx/"), STR("__nx/x"), STR("__nx/node/identity"),
                                 STR("__nx/\xff")};
static const str_t prefixes[] = {STR(""), STR("k"), STR("k/"), STR("_"), STR("__nx"), STR("zz"),
                                 STR("\0")};
static const str_t fields[] = {STR("f0"), STR("f1"), STR("f2"), STR(""), STR("\xff"),
                               STR("__nx/f")};
static const str_t envs[] = {STR("NX_HOSTILE_A"), STR("NUMAX_HOSTILE_B"), STR("NX_MISSING"),
                             STR("nx_hostile_a"), STR("PATH"),           STR("NX_HOSTILE_A="),
                             STR("NX_"),          STR("NX_HOSTILE_A\0"), STR("HOME")};
static const str_t events[] = {STR("note.added"), STR("a:b-c_d.e"), STR("x"),
                               STR("bad name"),   STR("bad/name"),  STR("\xc3\xa9")};

static struct {
    uint8_t id[NX_CRDT_ID_LEN]; /* text, as the host gave it */
    uint32_t key;               /* index into keys[] */
} ids[NIDS];
static uint32_t nids;
static uint8_t node_id[32];     /* this node's, from net_node_id's hex */
static uint8_t probe_text[64]; /* net_node_id's answer at start */

/* ---- RGA ids: text of the 40-byte id (docs/nx.md) -------------------------
 * The 40 bytes (origin node id, u64 seq little-endian) in RFC 4648 base32,
 * lowercase, unpadded: 64 characters a-z 2-7, 5 bytes to 8 characters. */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static void id_encode(const uint8_t raw[40], uint8_t text[64])
{
    for (int g = 0; g < 8; g++) {
        uint64_t v = 0;
        for (int i = 0; i < 5; i++) v = v << 8 | raw[5 * g + i];
        for (int i = 0; i < 8; i++) text[8 * g + i] = (uint8_t)b32[(v >> (35 - 5 * i)) & 31];
    }
}

/* 0 with raw set, or -1 when text is not 64 characters of the alphabet. */
static int id_decode(const uint8_t *text, uint32_t n, uint8_t raw[40])
{
    if (n != 64) return -1;
    for (int g = 0; g < 8; g++) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) {
            uint8_t ch = text[8 * g + i];
            const char *d = ch ? strchr(b32, ch) : NULL;
            if (!d) return -1;
            v = v << 5 | (uint64_t)(d - b32);
        }
        for (int i = 0; i < 5; i++) raw[5 * g + i] = (uint8_t)(v >> (32 - 8 * i));
    }
    return 0;
}

typedef struct {
    uint32_t p, n;
} range_t;

static range_t R(const void *p, uint32_t n) { return (range_t){(uint32_t)(uintptr_t)p, n}; }

/* An input range of `n` bytes at the end of memory, with scratch bytes. */
static range_t at_end(uint32_t n) { return (range_t){mem_end() - n, n}; }

/* A copy of `in` in the scratch area, for outputs that overlap it. */
static range_t to_scratch(range_t in, uint32_t off)
{
    uint8_t *dst = (uint8_t *)(uintptr_t)(scratch + off);
    memmove(dst, (const void *)(uintptr_t)in.p, in.n);
    return (range_t){scratch + off, in.n};
}

/* ---- one call --------------------------------------------------------------- */

typedef struct {
    int f;
    range_t r[4];
    uint64_t scalar; /* cursor or delta */
    uint32_t limit;
    uint32_t key;  /* keys[] index of slot K, or NKEYS when hostile */
    int want;      /* the documented result, or NOWANT (expected()) */
    const char *what; /* the hostile argument, for messages */
} call_t;

static int64_t invoke(const call_t *c)
{
    const range_t *r = c->r;
#define P(i) ((void *)(uintptr_t)r[i].p)
#define N(i) (r[i].n)
    switch (c->f) {
    case DB_GET: return nx_db_get(P(0), N(0), P(1), N(1));
    case DB_SET: return nx_db_set(P(0), N(0), P(1), N(1));
    case DB_DELETE: return nx_db_delete(P(0), N(0));
    case DB_EXISTS: return nx_db_exists(P(0), N(0));
    case DB_SCAN: return nx_db_scan(P(0), N(0), c->scalar, c->limit, P(1), N(1));
    case DB_SCAN_AFTER: return nx_db_scan_after(P(0), N(0), P(1), N(1), c->limit, P(2), N(2));
    case DB_KEYS: return nx_db_keys(P(0), N(0), c->scalar, c->limit, P(1), N(1));
    case DB_KEYS_AFTER: return nx_db_keys_after(P(0), N(0), P(1), N(1), c->limit, P(2), N(2));
    case G_INC: return nx_crdt_gcounter_inc(P(0), N(0), c->scalar);
    case G_VALUE: return nx_crdt_gcounter_value(P(0), N(0), P(1), N(1));
    case PN_INC: return nx_crdt_pncounter_inc(P(0), N(0), c->scalar);
    case PN_DEC: return nx_crdt_pncounter_dec(P(0), N(0), c->scalar);
    case PN_VALUE: return nx_crdt_pncounter_value(P(0), N(0), P(1), N(1));
    case LWW_SET: return nx_crdt_lww_set(P(0), N(0), P(1), N(1));
    case LWW_GET: return nx_crdt_lww_get(P(0), N(0), P(1), N(1));
    case MAP_SET: return nx_crdt_lww_map_set(P(0), N(0), P(1), N(1), P(2), N(2));
    case MAP_REMOVE: return nx_crdt_lww_map_remove(P(0), N(0), P(1), N(1));
    case MAP_GET: return nx_crdt_lww_map_get(P(0), N(0), P(1), N(1), P(2), N(2));
    case MAP_CONTAINS: return nx_crdt_lww_map_contains(P(0), N(0), P(1), N(1));
    case MAP_ENTRIES: return nx_crdt_lww_map_entries(P(0), N(0), P(1), N(1));
    case OR_ADD: return nx_crdt_orset_add(P(0), N(0), P(1), N(1));
    case OR_REMOVE: return nx_crdt_orset_remove(P(0), N(0), P(1), N(1));
    case OR_CONTAINS: return nx_crdt_orset_contains(P(0), N(0), P(1), N(1));
    case OR_ELEMENTS: return nx_crdt_orset_elements(P(0), N(0), P(1), N(1));
    case RGA_INSERT:
        return nx_crdt_rga_insert(P(0), N(0), P(1), N(1), P(2), N(2), P(3), N(3));
    case RGA_DELETE: return nx_crdt_rga_delete(P(0), N(0), P(1), N(1));
    case RGA_VALUES: return nx_crdt_rga_values(P(0), N(0), P(1), N(1));
    case TIME_NOW: return (int64_t)nx_time_now();
    case TIME_MONO: return (int64_t)nx_time_monotonic();
    case RANDOM: return nx_random_bytes(P(0), N(0));
    case SHA256: return nx_hash_sha256(P(0), N(0), P(1), N(1));
    case BLAKE3: return nx_hash_blake3(P(0), N(0), P(1), N(1));
    case ENV_GET: return nx_env_get(P(0), N(0), P(1), N(1));
    case MODULE_ID: return nx_module_id(P(0), N(0));
    case CAPS: return nx_host_capabilities(P(0), N(0));
    case EVENT: return nx_event_emit(P(0), N(0), P(1), N(1));
    case NODE_ID: return nx_net_node_id(P(0), N(0));
    case PEERS: return nx_net_peers(P(0), N(0));
    case LOG_V2: return nx_host_log_v2(P(0), N(0));
    case LOG: nx_host_log(P(0), N(0)); return 0;
    case ABORT: nx_abort(P(0), N(0));
    }
#undef P
#undef N
    return 0;
}

/* ---- argument generators (every range stays inside memory) ---------------- */

static range_t gen_key(call_t *c)
{
    uint32_t k = below(100);
    if (k < 80) {
        c->key = below(NKEYS);
        return R(keys[c->key].s, keys[c->key].n);
    }
    c->key = NKEYS;
    if (k < 85) return R(pat + below(64), NX_MAX_KEY);          /* the longest valid key */
    if (k < 90) return at_end(1 + below(32));                   /* scratch bytes at the end */
    if (k < 95) return (range_t){mem_end(), 0};                 /* "" at the very end */
    return (range_t){below(LOW_OUT), below(16)};                /* address 0 and up */
}

static range_t gen_field(void)
{
    uint32_t k = below(100);
    if (k < 80) {
        const str_t *s = &fields[below(sizeof fields / sizeof fields[0])];
        return R(s->s, s->n);
    }
    if (k < 88) return R(pat + below(64), 1024); /* the longest valid field */
    if (k < 94) return at_end(below(8));
    return R(pat + below(4096), 1 + below(40));
}

static range_t gen_value(void)
{
    uint32_t k = below(1000);
    if (k < 600) return R(pat + below(4096), below(64));
    if (k < 750) return (range_t){chance(50) ? mem_end() : (uint32_t)(uintptr_t)pat, 0};
    if (k < 900) return R(pat + below(4096), below(64 * 1024));
    if (k < 910) return R(pat + below(4096), NX_MAX_VALUE); /* the largest valid value */
    return at_end(below(256));
}

/* An output buffer of the ordinary kind: big enough for anything but
 * a 10 MiB page; sometimes a hostile cap (still inside memory). */
static range_t gen_out(call_t *c, int hostile)
{
    uint32_t off = below(64) * 8 + below(8);
    if (!hostile) return (range_t){scratch + off, 2 * MIB};
    switch (below(9)) {
    case 0: c->what = "out_cap 0"; return (range_t){chance(50) ? mem_end() : scratch + off, 0};
    case 1: c->what = "out_cap 0 at address 0"; return (range_t){0, 0};
    case 2: c->what = "tiny out_cap"; return (range_t){scratch + off, below(48)};
    case 3: {
        static const uint32_t caps[] = {1, 3, 4, 7, 8, 31, 32, 39, 40, 41, 63, 64, 65, 64 * 1024};
        c->what = "output at the end of memory";
        return at_end(caps[below(sizeof caps / sizeof caps[0])]);
    }
    case 4: c->what = "out_cap 10 MiB + 1"; return (range_t){scratch, NX_MAX_OUTPUT + 1};
    case 5: c->what = "out_cap 10 MiB"; return (range_t){scratch + off, NX_MAX_OUTPUT};
    case 6: c->what = "output at address 0"; return (range_t){below(64), below(LOW_OUT - 64)};
    case 7: c->what = "out_cap 1 MiB"; return (range_t){scratch + off, MIB};
    default: c->what = "output over the whole scratch"; return (range_t){scratch, SCRATCH};
    }
}

static range_t gen_id(call_t *c, int hostile, int for_insert)
{
    if (!hostile) {
        if (nids == 0 || (for_insert && chance(25))) return (range_t){0, 0}; /* head */
        uint32_t i = below(nids);
        /* prefer an id of this key: one of another key is "unknown" */
        for (uint32_t t = 0; t < 4 && c->key < NKEYS && ids[i].key != c->key; t++) i = below(nids);
        return R(ids[i].id, NX_CRDT_ID_LEN);
    }
    static uint8_t bad[64], raw[40];
    if (nids == 0 || id_decode(ids[below(nids)].id, 64, raw) != 0) memcpy(raw, pat + below(4096), 40);
    switch (below(7)) {
    case 0: {
        static const uint32_t lens[] = {1, 8, 32, 39, 40, 41, 63, 65};
        c->what = "RGA id of a wrong length";
        uint32_t n = lens[below(sizeof lens / sizeof lens[0])];
        return R(pat + below(4096), n);
    }
    case 1:
        c->what = "RGA id with seq 0";
        memset(raw + 32, 0, 8);
        id_encode(raw, bad);
        return R(bad, 64);
    case 2:
        c->what = "RGA id with a byte outside base32";
        raw[32] |= 1;
        id_encode(raw, bad);
        static const char outside[] = "ABZ0189=-_ \xff";
        bad[below(64)] = (uint8_t)outside[below(sizeof outside - 1)];
        return R(bad, 64);
    case 3:
        c->what = "RGA id with another seq";
        raw[32 + below(8)] ^= (uint8_t)(1 + below(255));
        if (!memcmp(raw + 32, "\0\0\0\0\0\0\0\0", 8)) raw[32] = 1;
        id_encode(raw, bad);
        return R(bad, 64);
    case 4:
        c->what = "RGA id as raw bytes";
        raw[32] |= 1;
        memcpy(bad, raw, 40);
        return R(bad, 40);
    case 5:
        c->what = "RGA id of another origin";
        raw[below(32)] ^= (uint8_t)(1 + below(255));
        raw[32] |= 1;
        id_encode(raw, bad);
        return R(bad, 64);
    default:
        c->what = "RGA id of 1 KiB";
        return R(pat, 1024);
    }
}

/* Fills the call's ranges: valid ones, then at most one hostile. */
static void gen_call(call_t *c, int f)
{
    memset(c, 0, sizeof *c);
    c->f = f;
    c->key = NKEYS;
    static const uint64_t scalars[] = {0, 1, 2, 7, 1000, 1ull << 32, 1ull << 63,
                                       (1ull << 63) - 1, ~0ull, ~0ull - 1};
    c->scalar = chance(70) ? below(10) : scalars[below(sizeof scalars / sizeof scalars[0])];
    static const uint32_t limits[] = {0, 1, 2, 3, 10, 100, 0x7fffffff, 0xffffffff};
    c->limit = limits[below(sizeof limits / sizeof limits[0])];

    int nslots = fns[f].nslots;
    int bad = nslots && chance(60) ? (int)below((uint32_t)nslots) : -1;
    for (int i = 0; i < nslots; i++) {
        int h = i == bad;
        range_t *r = &c->r[i];
        switch (fns[f].slot[i]) {
        case K:
            if (!h) {
                *r = gen_key(c);
            } else if (chance(50)) {
                c->what = "key over 1024 bytes";
                *r = R(pat + below(64), NX_MAX_KEY + 1 + (chance(20) ? below(MIB) : 0));
            } else {
                const str_t *s = &reserved[below(sizeof reserved / sizeof reserved[0])];
                c->what = "reserved key";
                *r = R(s->s, s->n);
            }
            break;
        case F:
            *r = gen_field();
            if (h) {
                c->what = "field or element over 1024 bytes";
                *r = R(pat + below(64), 1025 + (chance(20) ? below(MIB) : 0));
            }
            break;
        case V:
            *r = gen_value();
            if (h) {
                c->what = "value over 1 MiB";
                *r = R(pat + below(4096), NX_MAX_VALUE + 1 + below(4096));
            }
            break;
        case ID:
            *r = gen_id(c, h, f == RGA_INSERT);
            if (!h && f == RGA_DELETE && r->n == 0) { /* no id yet: an unknown one */
                static uint8_t unknown[64], raw[40];
                memcpy(raw, pat + 100, 40);
                raw[32] |= 1;
                id_encode(raw, unknown);
                *r = R(unknown, 64);
            }
            break;
        case PFX:
        case AFT:
            if (!h) {
                if (chance(75)) {
                    const str_t *s = &prefixes[below(sizeof prefixes / sizeof prefixes[0])];
                    *r = R(s->s, s->n);
                } else {
                    *r = gen_key(c);
                }
            } else if (chance(50)) {
                c->what = "prefix or start_after over 1024 bytes";
                *r = R(pat + below(64), NX_MAX_KEY + 1);
            } else {
                const str_t *s = &reserved[below(sizeof reserved / sizeof reserved[0])];
                c->what = "reserved prefix or start_after";
                *r = R(s->s, s->n);
            }
            break;
        case HIN:
            /* a megabyte hashed is most of a seed's time: one hostile
             * input in five is that big (still several a seed), the
             * others up to 64 KiB */
            if (!h)
                *r = R(pat + below(4096), below(4096));
            else if (chance(20))
                *r = R(pat, chance(50) ? MIB : MIB + 4096);
            else
                *r = R(pat + below(4096), 4096 + below(60 * 1024));
            if (h) c->what = "big hash input";
            break;
        case NAME:
            if (!h) {
                const str_t *s = &events[below(3)];
                *r = R(s->s, s->n);
            } else {
                uint32_t k = below(5);
                c->what = "bad event name";
                if (k == 0) {
                    *r = R(names, 1025);
                } else if (k == 1) {
                    *r = (range_t){mem_end(), 0};
                } else if (k == 2) {
                    *r = R(names, 1024); /* the longest valid name */
                } else {
                    const str_t *s = &events[3 + below(3)];
                    *r = R(s->s, s->n);
                }
            }
            break;
        case PAY:
            *r = gen_value();
            if (h) {
                c->what = "payload over 1 MiB";
                *r = R(pat, NX_MAX_VALUE + 1);
            }
            break;
        case MSG:
            *r = R(pat + below(4096), below(200));
            if (h) {
                uint32_t k = below(4);
                c->what = "long log message";
                if (k == 0) *r = R(pat, NX_MAX_LOG);
                if (k == 1) *r = R(pat, NX_MAX_LOG + 1);
                if (k == 2) *r = R(pat, MIB);
                if (k == 3) *r = at_end(below(64));
                if (f == LOG_V2 && chance(50)) { /* -3 instead of a trap */
                    static const range_t bad[] = {{0, 0x80000000u}, {0xffffffffu, 1},
                                                  {0xfffffff0u, 0x20}, {16, 0xffffffffu}};
                    c->what = "unreadable host_log_v2 message";
                    *r = bad[below(4)];
                    if (chance(50)) *r = (range_t){mem_end() - below(4), 4 + below(8)};
                }
            }
            break;
        case ENV:
            if (!h) {
                const str_t *s = &envs[below(sizeof envs / sizeof envs[0])];
                *r = R(s->s, s->n);
            } else {
                c->what = "long env name";
                *r = R(names, chance(50) ? 1025 : MIB);
            }
            break;
        case OUT:
            *r = gen_out(c, h);
            if (!h && i > 0 && chance(10)) { /* output over its own input */
                uint32_t d = below(16);
                c->r[0] = to_scratch(c->r[0], 8 * MIB + d);
                *r = (range_t){scratch + 8 * MIB + below(2) * below(8), MIB};
                c->what = "output over its input";
            }
            break;
        case OID:
            *r = (range_t){scratch + below(64), NX_CRDT_ID_LEN + below(8)};
            if (h) {
                c->what = "out_id_cap < 64";
                *r = (range_t){scratch + below(64), below(NX_CRDT_ID_LEN)};
            }
            break;
        case RND: {
            /* the limit, 1 MiB, now and then: the host draws it 256 bytes
             * a getrandom, which made it most of a seed's system time */
            static const uint32_t lens[] = {0, 1, 16, 32, 4096, 65536, MIB};
            *r = (range_t){scratch + below(64), lens[chance(3) ? 6 : below(6)]};
            if (h) {
                c->what = "random_bytes over 1 MiB";
                *r = (range_t){scratch, MIB + 1 + below(MIB)};
            }
            break;
        }
        }
    }
    if (bad >= 0 && !c->what) c->what = "hostile argument";
}

/* ---- what docs/nx.md fixes ---------------------------------------------------- */

static const uint8_t *bytes(range_t r) { return (const uint8_t *)(uintptr_t)r.p; }

/* The code for a key (or prefix) the guest may not use, else 0. */
static int key_code(range_t r)
{
    if (r.n > NX_MAX_KEY) return NX_ERR_INTERNAL;
    if (r.n >= 5 && memcmp(bytes(r), NX_RESERVED_PREFIX, 5) == 0) return NX_ERR_RESERVED_KEY;
    return 0;
}

static int id_bad(range_t r) /* not the text of an id with seq != 0 */
{
    static const uint8_t zero[8];
    uint8_t raw[40];
    return id_decode(bytes(r), r.n, raw) != 0 || memcmp(raw + 32, zero, 8) == 0;
}

static int event_name_ok(range_t r)
{
    if (r.n == 0 || r.n > 1024) return 0;
    for (uint32_t i = 0; i < r.n; i++) {
        uint8_t ch = bytes(r)[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.' || ch == ':'))
            return 0;
    }
    return 1;
}

static int env_allowed(range_t r)
{
    const uint8_t *b = bytes(r);
    if (!((r.n >= 3 && !memcmp(b, "NX_", 3)) || (r.n >= 6 && !memcmp(b, "NUMAX_", 6)))) return 0;
    for (uint32_t i = 0; i < r.n; i++)
        if (!((b[i] >= 'A' && b[i] <= 'Z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '_'))
            return 0;
    return 1;
}

/* The result docs/nx.md fixes for these arguments (checks in its order:
 * sync, key, the function's own inputs, buffer), or NOWANT when it depends
 * on the stored data. Every range is inside memory here. */
static int expected(const call_t *c)
{
    const range_t *r = c->r;
    int f = c->f, kc;
    if ((is_crdt(f) || f == NODE_ID || f == PEERS) && !sync_on) return NX_ERR_SYNC_DISABLED;
    switch (f) {
    case DB_GET: return key_code(r[0]) ? key_code(r[0]) : NOWANT;
    case DB_SET:
        if ((kc = key_code(r[0]))) return kc;
        return r[1].n > NX_MAX_VALUE ? NX_ERR_INTERNAL : 0;
    case DB_DELETE: return key_code(r[0]);
    case DB_EXISTS: return key_code(r[0]) ? key_code(r[0]) : NOWANT;
    case DB_SCAN:
    case DB_KEYS:
        if ((kc = key_code(r[0]))) return kc;
        return r[1].n < 4 ? NX_ERR_BUFFER_TOO_SMALL : NOWANT;
    case DB_SCAN_AFTER:
    case DB_KEYS_AFTER:
        if ((kc = key_code(r[0])) || (kc = key_code(r[1]))) return kc;
        return r[2].n < 4 ? NX_ERR_BUFFER_TOO_SMALL : NOWANT;
    case G_INC:
    case PN_INC:
    case PN_DEC:
        if ((kc = key_code(r[0]))) return kc;
        return c->scalar == 0 ? 0 : NOWANT;
    case G_VALUE:
    case PN_VALUE:
        if ((kc = key_code(r[0]))) return kc;
        return r[1].n < 8 ? NX_ERR_BUFFER_TOO_SMALL : NOWANT;
    case LWW_SET:
        if ((kc = key_code(r[0]))) return kc;
        return r[1].n > NX_MAX_VALUE ? NX_ERR_INTERNAL : NOWANT;
    case MAP_SET:
        if ((kc = key_code(r[0]))) return kc;
        return r[1].n > 1024 || r[2].n > NX_MAX_VALUE ? NX_ERR_INTERNAL : NOWANT;
    case MAP_REMOVE:
    case MAP_GET:
    case MAP_CONTAINS:
    case OR_ADD:
    case OR_REMOVE:
    case OR_CONTAINS:
        if ((kc = key_code(r[0]))) return kc;
        return r[1].n > 1024 ? NX_ERR_INTERNAL : NOWANT;
    case LWW_GET:
    case MAP_ENTRIES:
    case OR_ELEMENTS:
    case RGA_VALUES: return key_code(r[0]) ? key_code(r[0]) : NOWANT;
    case RGA_INSERT:
        if ((kc = key_code(r[0]))) return kc;
        if (r[2].n > NX_MAX_VALUE) return NX_ERR_INTERNAL;
        if (r[1].n != 0 && id_bad(r[1])) return NX_ERR_INTERNAL;
        return r[3].n < NX_CRDT_ID_LEN ? NX_ERR_BUFFER_TOO_SMALL : NOWANT;
    case RGA_DELETE:
        if ((kc = key_code(r[0]))) return kc;
        return id_bad(r[1]) ? NX_ERR_INTERNAL : NOWANT;
    case RANDOM: return r[0].n > NX_MAX_RANDOM ? NX_ERR_INTERNAL : (int)r[0].n;
    case SHA256:
    case BLAKE3: return r[1].n < 32 ? NX_ERR_BUFFER_TOO_SMALL : 32;
    case ENV_GET: return env_allowed(r[0]) ? NOWANT : NX_ERR_NOT_FOUND;
    case MODULE_ID: return r[0].n < 7 ? NX_ERR_BUFFER_TOO_SMALL : 7; /* "hostile" */
    case EVENT:
        return !event_name_ok(r[0]) || r[1].n > NX_MAX_VALUE ? NX_ERR_INTERNAL : NOWANT;
    case NODE_ID: return r[0].n < NX_NODE_ID_LEN ? NX_ERR_BUFFER_TOO_SMALL : NX_NODE_ID_LEN;
    case PEERS: return r[0].n < 4 ? NX_ERR_BUFFER_TOO_SMALL : 4;
    case LOG_V2: /* an empty message is "", wherever it points */
        return r[0].n == 0 || (r[0].p <= mem_end() && r[0].n <= mem_end() - r[0].p)
                   ? 0
                   : NX_ERR_INTERNAL;
    }
    return NOWANT;
}

/* ---- checking a result ---------------------------------------------------------- */

static uint32_t ncall;

static void mismatch(const call_t *c, int64_t rc, const char *why)
{
    mismatches++;
    say(2, "hostile: MISMATCH call %u %s (%s): result %lld: %s\n", ncall, fns[c->f].name,
        c->what ? c->what : "valid arguments", (long long)rc, why);
}

static uint32_t u32at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walks a page of `len` bytes: u32 count, then per row `nlen` length-
 * prefixed parts, each (u32 len, bytes), or for db_scan (lens_first) the
 * two u32 lengths first. 0 when it is well-formed. */
static int page_bad(const uint8_t *p, uint32_t len, int nlen, int lens_first, uint32_t max_rows)
{
    if (len < 4) return 1;
    uint32_t count = u32at(p), pos = 4;
    if (count > max_rows) return 1;
    for (uint32_t i = 0; i < count; i++) {
        if (lens_first) {
            if (len - pos < 8) return 1;
            uint32_t kl = u32at(p + pos), vl = u32at(p + pos + 4);
            pos += 8;
            if (kl > len - pos || vl > len - pos - kl) return 1;
            if (kl > NX_MAX_KEY || vl > NX_MAX_VALUE) return 1;
            if (kl >= 5 && !memcmp(p + pos, NX_RESERVED_PREFIX, 5)) return 1;
            pos += kl + vl;
            continue;
        }
        for (int part = 0; part < nlen; part++) {
            if (len - pos < 4) return 1;
            uint32_t n = u32at(p + pos);
            pos += 4;
            if (n > len - pos) return 1;
            pos += n;
        }
    }
    return pos != len;
}

static int64_t last_mono;

/* Checks and hashes one result. Every range is inside memory here. */
static void check(const call_t *c, int64_t rc)
{
    int f = c->f;
    mix32((uint32_t)f);
    if (f == TIME_NOW) {
        if (rc < 1600000000000ll) mismatch(c, rc, "not a Unix time in ms");
        return;
    }
    if (f == TIME_MONO) {
        if (rc < last_mono) mismatch(c, rc, "time_monotonic went back");
        last_mono = rc;
        return;
    }
    mix32((uint32_t)rc);
    int want = c->want;
    if (want != NOWANT && rc != want) {
        char why[64];
        snprintf(why, sizeof why, "want %d", want);
        mismatch(c, rc, why);
        return;
    }
    if (rc < 0) {
        if (rc < NX_ERR_SYNC_DISABLED) mismatch(c, rc, "not an nx code");
        if (rc == NX_ERR_SYNC_DISABLED && sync_on) mismatch(c, rc, "sync is on");
        if (rc == NX_ERR_RESERVED_KEY && want == NOWANT) mismatch(c, rc, "no reserved key");
        return;
    }
    /* the output range, if any */
    range_t out = {0, 0};
    for (int i = 0; i < fns[f].nslots; i++)
        if (fns[f].slot[i] == OUT || fns[f].slot[i] == OID || fns[f].slot[i] == RND)
            out = c->r[i];
    uint32_t cap = out.n < NX_MAX_OUTPUT ? out.n : NX_MAX_OUTPUT;
    const uint8_t *o = bytes(out);
    switch (f) {
    case DB_SET: case DB_DELETE: case G_INC: case PN_INC: case PN_DEC: case LWW_SET:
    case MAP_SET: case MAP_REMOVE: case OR_ADD: case OR_REMOVE: case RGA_DELETE: case EVENT:
    case LOG_V2: case LOG:
        if (rc != 0) mismatch(c, rc, "want 0 or an error");
        return;
    case DB_EXISTS: case MAP_CONTAINS: case OR_CONTAINS:
        if (rc > 1) mismatch(c, rc, "want 0 or 1");
        return;
    case G_VALUE: case PN_VALUE:
        if (rc != 8) mismatch(c, rc, "want 8");
        else mix_out(out.p, 8);
        return;
    case DB_GET: case LWW_GET: case MAP_GET: case ENV_GET: case MODULE_ID: case CAPS:
        if (rc > cap || rc > NX_MAX_VALUE + (f == CAPS ? MIB : 0)) mismatch(c, rc, "over out_cap");
        else mix_out(out.p, (uint32_t)rc);
        return;
    case DB_SCAN: case DB_SCAN_AFTER: case DB_KEYS: case DB_KEYS_AFTER: case MAP_ENTRIES:
    case OR_ELEMENTS: case RGA_VALUES: {
        if (rc > cap) {
            mismatch(c, rc, "over out_cap");
            return;
        }
        int bad;
        if (f == DB_SCAN || f == DB_SCAN_AFTER)
            bad = page_bad(o, (uint32_t)rc, 0, 1, c->limit);
        else if (f == DB_KEYS || f == DB_KEYS_AFTER)
            bad = page_bad(o, (uint32_t)rc, 1, 0, c->limit);
        else
            bad = page_bad(o, (uint32_t)rc, f == MAP_ENTRIES ? 2 : 1, 0, 0xffffffff);
        if (bad) mismatch(c, rc, "malformed page");
        else mix_out(out.p, (uint32_t)rc);
        return;
    }
    case RGA_INSERT: {
        uint8_t raw[40];
        static const uint8_t zero[8];
        if (rc != NX_CRDT_ID_LEN) {
            mismatch(c, rc, "want 64");
            return;
        }
        if (id_decode(o, 64, raw) != 0 || memcmp(raw + 32, zero, 8) == 0)
            mismatch(c, rc, "the id is not the text of an id");
        else if (memcmp(raw, node_id, 32) != 0)
            mismatch(c, rc, "the id's origin is not this node");
        if (nids < NIDS) {
            memcpy(ids[nids].id, o, 64);
            ids[nids++].key = c->key;
        } else {
            uint32_t i = below(NIDS);
            memcpy(ids[i].id, o, 64);
            ids[i].key = c->key;
        }
        memset((void *)o, 0x5a, 64); /* holds the node's id: not reproducible */
        return;
    }
    case RANDOM:
        memset((void *)o, 0xa5, out.n);
        return;
    case NODE_ID:
        if (memcmp(o, probe_text, 64) != 0) mismatch(c, rc, "another node id than at start");
        memset((void *)o, 0x3c, 64);
        return;
    case SHA256: case BLAKE3: case PEERS:
        mix_out(out.p, (uint32_t)rc);
        return;
    }
}

/* ---- the last call: a range outside memory -------------------------------------- */

/* Replaces range slot `i` of a generated call with one outside memory.
 * Kind 9, an empty range past the end, traps too (nx_guest accepts an
 * empty range only up to the end of memory). */
static void out_of_bounds(call_t *c, int i, uint32_t kind)
{
    uint32_t end = mem_end();
    range_t *r = &c->r[i];
    switch (kind) {
    case 0: *r = (range_t){end, 1}; c->what = "[end, +1)"; break;
    case 1: *r = (range_t){end - 3, 8}; c->what = "straddling the end"; break;
    case 2: *r = (range_t){end + 4096, 4}; c->what = "past the end"; break;
    case 3: *r = (range_t){16, 0xffffffffu}; c->what = "length 0xffffffff"; break;
    case 4: *r = (range_t){0, 0x80000000u}; c->what = "length 2^31"; break;
    case 5: *r = (range_t){0xffffffffu, 1}; c->what = "pointer 0xffffffff"; break;
    case 6: *r = (range_t){0xfffffff0u, 0x20}; c->what = "range wrapping 2^32"; break;
    case 7: *r = (range_t){scratch, end - scratch + 1}; c->what = "one byte over the end"; break;
    case 8: *r = (range_t){0xffffffffu, 0xffffffffu}; c->what = "both 0xffffffff"; break;
    default: *r = (range_t){end + 1, 0}; c->what = "empty range past the end"; break;
    }
}

static void last_call(void)
{
    call_t c;
    int f;
    do f = (int)below(NFUNCS);
    while (fns[f].nslots == 0 || f == LOG_V2);
    gen_call(&c, f);
    uint32_t kind = below(10);
    if (f == ABORT && chance(60)) {
        if (chance(50)) {
            c.r[0] = R("hostile: the last call", 22);
            say(2, "hostile: expect trap: nx.abort: hostile: the last call\n");
        } else { /* cut at 8 KiB */
            c.r[0] = R(names, MIB);
            say(2, "hostile: expect trap: nx.abort: %.64s\n", names);
        }
    } else {
        int i = (int)below(fns[f].nslots);
        out_of_bounds(&c, i, kind);
        say(2, "hostile: expect trap: nx.%s: guest range [%u, +%u) is outside linear memory "
               "(argument range %d, %s)\n",
            fns[f].name, c.r[i].p, c.r[i].n, i, c.what);
    }
    int64_t rc = invoke(&c);
    say(2, "hostile: MISMATCH the last call, nx.%s (%s), returned %lld instead of trapping\n",
        fns[f].name, c.what, (long long)rc);
    exit(2);
}

/* ---- main ----------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        say(2, "usage: hostile SEED [CALLS]\n");
        return 64;
    }
    uint64_t seed = strtoull(argv[1], NULL, 10);
    rng = seed * 0x2545f4914f6cdd1dull + 1;
    uint32_t calls = argc == 3 ? (uint32_t)strtoul(argv[2], NULL, 10) : 2000 + below(2000);
    int oob = below(100) < 40;

    /* the scratch area: the last SCRATCH bytes of memory, which never grows again */
    uint32_t old = (uint32_t)__builtin_wasm_memory_grow(0, SCRATCH / 65536);
    if (old == 0xffffffffu) {
        say(2, "hostile: cannot grow memory\n");
        return 2;
    }
    scratch = old * 65536u;
    for (uint32_t i = 0; i < sizeof pat; i++) pat[i] = (uint8_t)(i * 131 + (i >> 9));
    memset(names, 'a', sizeof names);
    uint32_t end0 = mem_end();

    /* the node id: 64 lowercase hex digits (docs/nx.md), kept as bytes to
     * check the origin of every RGA id */
    int32_t n = nx_net_node_id(probe_text, sizeof probe_text);
    sync_on = n != NX_ERR_SYNC_DISABLED;
    if (sync_on) {
        for (int i = 0; i < 64 && n == 64; i++) {
            uint8_t ch = probe_text[i];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0) n = -1;
            else node_id[i / 2] = (uint8_t)(i % 2 ? node_id[i / 2] | d : d << 4);
        }
        if (n != 64) {
            say(2, "hostile: net_node_id gave %d, not 64 hex digits\n", (int)n);
            return 2;
        }
    }
    mix32((uint32_t)sync_on);

    for (ncall = 0; ncall < calls; ncall++) {
        call_t c;
        int f;
        do f = (int)below(NFUNCS);
        while (f == ABORT);
        gen_call(&c, f);
        c.want = expected(&c); /* before the call: an output may overwrite its input */
        check(&c, invoke(&c));
    }
    if (mem_end() != end0) {
        say(2, "hostile: memory grew during the run\n");
        mismatches++;
    }
    say(1, "hostile %llu hash %016llx mismatches %d\n", (unsigned long long)seed,
        (unsigned long long)hash, mismatches);
    if (mismatches) return 2;
    if (oob) last_call();
    return 0;
}
