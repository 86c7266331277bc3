/*
 * cache.c — choosing the tier at load, and the code cache (docs/jit.md
 * "Code memory, tiering, cache").
 *
 * A cache file holds a module's compiled code (jit_compile_module's one
 * mapping, position-independent: helpers, the instance and the store are
 * reached through r14) and each function's entry offset. It is named and
 * keyed by the BLAKE3 of the module's bytes, the engine's build id
 * (build_id.h: a hash of the engine's sources and the compiler) and the
 * CPU's feature bits (cpuid leaves 1 and 7), and ends with a BLAKE3 of
 * everything before it. A file is mapped only when every key matches and
 * the checksum does; otherwise it is ignored, with a note, and the module
 * is compiled again (and the file replaced, under WEFT_TIER_JIT). The
 * file is read whole into memory and checked there, then copied into a
 * fresh mapping made read-execute, so a file changed after the check is
 * never what runs.
 *
 * The checksum finds damage, not malice: a file in the cache is trusted as
 * the rest of the data directory is.
 *
 * Layout (host byte order: the CPU key pins the machine):
 *   header_t, then uint32_t entry[nfuncs] (JIT_NO_ENTRY: interpreted),
 *   then code_len bytes of code, then 32 bytes of BLAKE3 of all before.
 *   Code compiled for guard regions (header_t.guarded) starts with the
 *   module's out-of-bounds trap stub (weft_module.jit_oob, jit/guard.c),
 *   and is mapped only where guard regions can be had.
 */
#define _GNU_SOURCE /* O_CLOEXEC, O_TMPFILE, strdup, mkostemp */
#include "jit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build_id.h"
#include "weft/blake3.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#define JIT_NO_ENTRY UINT32_MAX
#define HASH_LEN WEFT_BLAKE3_OUT_LEN

typedef struct {
    char magic[8];            /* "weftjit1" */
    char build_id[64];        /* WEFT_BUILD_ID, hex */
    uint32_t cpu[4];          /* cpuid 1 ecx, edx; 7.0 ebx, ecx */
    uint8_t module_hash[HASH_LEN];
    uint64_t module_len;
    uint32_t nfuncs;          /* defined functions */
    uint32_t guarded;         /* compiled without bounds checks: its trap stub at offset 0 */
    uint64_t code_len;
} header_t;

static const char magic[8] = {'w', 'e', 'f', 't', 'j', 'i', 't', '1'};

static void cpu_bits(uint32_t out[4])
{
    memset(out, 0, 4 * sizeof *out);
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        out[0] = c & ~(1u << 27); /* OSXSAVE follows the kernel, not the CPU */
        out[1] = d;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        out[2] = b;
        out[3] = c;
    }
#endif
}

static void hash(const void *p, size_t len, uint8_t out[HASH_LEN])
{
    weft_blake3_t h;
    weft_blake3_init(&h);
    weft_blake3_update(&h, p, len);
    weft_blake3_finalize(&h, out, HASH_LEN);
}

static void set_note(weft_module_t *m, int status, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(m->jit_cache_note);
    m->jit_cache_note = strdup(buf);
    m->jit_cache_status = status;
}

/* The module's file in dir: MODULEHASH-BUILDID-CPU.jit (the key, so that
 * builds and machines sharing a directory keep a file each). */
static char *cache_path(const char *dir, const header_t *h)
{
    char hex[2 * HASH_LEN + 1];
    for (size_t i = 0; i < HASH_LEN; i++) snprintf(hex + 2 * i, 3, "%02x", h->module_hash[i]);
    uint8_t cpu[HASH_LEN];
    hash(h->cpu, sizeof h->cpu, cpu);
    size_t n = strlen(dir) + 2 * HASH_LEN + 16 + 8 + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s-%.16s-%02x%02x%02x%02x.jit", dir, hex, h->build_id, cpu[0], cpu[1],
                 cpu[2], cpu[3]);
    return p;
}

static void header_of(const weft_module_t *m, header_t *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, magic, sizeof magic);
    memcpy(h->build_id, WEFT_BUILD_ID, sizeof h->build_id);
    cpu_bits(h->cpu);
    hash(m->bytes, m->len, h->module_hash);
    h->module_len = m->len;
    h->nfuncs = m->nfuncs - m->nfunc_imports;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    uint8_t *p = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) goto out;
    p = malloc((size_t)st.st_size + 1);
    if (!p) goto out;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    *len = got;
out:
    close(fd);
    return p;
}

/* Maps the module's code from its file; true on a hit. A file that is
 * there but wrong sets the note and status REJECTED. */
static bool cache_load(weft_module_t *m, const char *path, const header_t *want)
{
    size_t len = 0;
    uint8_t *p = read_file(path, &len);
    if (!p) return false;
    const char *why = NULL;
    header_t h;
    uint8_t sum[HASH_LEN];
    if (len < sizeof h + HASH_LEN) {
        why = "shorter than its header";
        goto reject;
    }
    memcpy(&h, p, sizeof h);
    hash(p, len - HASH_LEN, sum);
    if (memcmp(h.magic, magic, sizeof magic) != 0) why = "not a weft code cache file";
    else if (memcmp(sum, p + len - HASH_LEN, HASH_LEN) != 0) why = "checksum mismatch (damaged)";
    else if (memcmp(h.build_id, want->build_id, sizeof h.build_id) != 0) why = "made by another weft build";
    else if (memcmp(h.cpu, want->cpu, sizeof h.cpu) != 0) why = "made on a CPU with other features";
    else if (memcmp(h.module_hash, want->module_hash, HASH_LEN) != 0 || h.module_len != want->module_len ||
             h.nfuncs != want->nfuncs)
        why = "made for another module";
    else if (h.code_len == 0 || (len - HASH_LEN - sizeof h) / 4 < h.nfuncs ||
             len - HASH_LEN - sizeof h - 4 * (size_t)h.nfuncs != h.code_len)
        why = "sizes do not add up";
    if (why) goto reject;
    const uint8_t *entries = p + sizeof h, *code = entries + 4 * (size_t)h.nfuncs;
    for (uint32_t i = 0; i < h.nfuncs; i++) {
        uint32_t e;
        memcpy(&e, entries + 4 * (size_t)i, 4);
        if (e != JIT_NO_ENTRY && e >= h.code_len) {
            why = "an entry past the code";
            goto reject;
        }
    }
    /* Code without bounds checks runs only where memory 0 can be guarded
     * and the fault handler is in place (jit/guard.c); else it is
     * compiled again, with checks. */
    if (h.guarded && !(m->nmems && mem_guard_available() && jit_guard_install())) {
        free(p);
        set_note(m, WEFT_CODE_CACHE_REJECTED, "code cache: %s: compiled for guard regions, which "
                 "this process cannot have; ignored", path);
        return false;
    }
    size_t size;
    void *mapped = jit_map_code(code, h.code_len, &size);
    if (!mapped) { /* out of memory: compile as if there were no file */
        free(p);
        return false;
    }
    m->jit_code = mapped;
    m->jit_size = size;
    m->jit_guarded = h.guarded != 0;
    m->jit_oob = m->jit_guarded ? mapped : NULL;
    for (uint32_t i = 0; i < h.nfuncs; i++) {
        uint32_t e;
        memcpy(&e, entries + 4 * (size_t)i, 4);
        if (e == JIT_NO_ENTRY) continue;
        atomic_store(&m->funcs[i].jit, (uint8_t *)mapped + e);
        atomic_fetch_add(&m->jit_funcs, 1);
    }
    free(p);
    set_note(m, WEFT_CODE_CACHE_HIT, "code cache: %s: mapped, %u functions compiled", path,
             atomic_load(&m->jit_funcs));
    return true;
reject:
    free(p);
    set_note(m, WEFT_CODE_CACHE_REJECTED, "code cache: %s: %s; ignored", path, why);
    return false;
}

/* Writes len bytes of p to fd and syncs them. */
static bool write_all(int fd, const uint8_t *p, size_t len)
{
    size_t put = 0;
    while (put < len) {
        ssize_t w = write(fd, p + put, len - put);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        put += (size_t)w;
    }
    return fsync(fd) == 0;
}

/* Gives the complete unnamed file fd (O_TMPFILE) the name path, replacing
 * a file there (a rejected one: unlinked first, so a reader meanwhile
 * finds none and compiles). EEXIST after that is another thread's copy of
 * the same code, stored meanwhile: as good as this one. */
static bool link_unnamed(int fd, const char *path)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) return true;
    if (errno != EEXIST || (unlink(path) != 0 && errno != ENOENT)) return false;
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 || errno == EEXIST;
}

/* Writes the module's compiled code (jit_compile_module's mapping) to
 * path in dir: an unnamed file (O_TMPFILE) named only once complete, so a
 * process killed while writing it leaves nothing in the cache (a named
 * temporary file stayed there for good). Where the file system has no
 * O_TMPFILE, a temporary file of its own (threads may store the same
 * module at once) renamed over path. */
static bool cache_store(weft_module_t *m, const char *dir, const char *path, header_t *h)
{
    uint32_t n = h->nfuncs;
    h->code_len = m->jit_size; /* whole pages: the tail is zeros */
    h->guarded = m->jit_guarded;
    size_t len = sizeof *h + 4 * (size_t)n + h->code_len + HASH_LEN;
    uint8_t *p = malloc(len);
    size_t tn = strlen(path) + 8;
    char *tmp = malloc(tn);
    bool ok = false;
    if (!p || !tmp) goto out;
    memcpy(p, h, sizeof *h);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = atomic_load(&m->funcs[i].jit);
        uint32_t off = e ? (uint32_t)(e - (const uint8_t *)m->jit_code) : JIT_NO_ENTRY;
        memcpy(p + sizeof *h + 4 * (size_t)i, &off, 4);
    }
    memcpy(p + sizeof *h + 4 * (size_t)n, m->jit_code, h->code_len);
    hash(p, len - HASH_LEN, p + len - HASH_LEN);
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600); /* as mkostemp makes it */
    if (fd >= 0) {
        ok = write_all(fd, p, len) && link_unnamed(fd, path);
        ok = close(fd) == 0 && ok;
        goto out;
    }
    snprintf(tmp, tn, "%s.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) goto out;
    ok = write_all(fd, p, len);
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
out:
    free(p);
    free(tmp);
    return ok;
}

void jit_load_tier(weft_module_t *m, int tier, const char *dir)
{
    if (!jit_supported() || (tier != WEFT_TIER_JIT && tier != WEFT_TIER_AUTO)) return;
    header_t h;
    char *path = NULL;
    if (dir) {
        header_of(m, &h);
        path = cache_path(dir, &h);
        if (path && cache_load(m, path, &h)) {
            free(path);
            return;
        }
    }
    if (tier == WEFT_TIER_AUTO) {
        for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
            atomic_store_explicit(&m->funcs[i].hot, JIT_HOT_COUNT, memory_order_relaxed);
        if (path && m->jit_cache_status != WEFT_CODE_CACHE_REJECTED)
            set_note(m, WEFT_CODE_CACHE_MISS, "code cache: %s: none; compiling hot functions", path);
    } else {
        jit_compile_module(m);
        if (path && m->jit_code) {
            bool rejected = m->jit_cache_status == WEFT_CODE_CACHE_REJECTED;
            char *why = rejected ? m->jit_cache_note : NULL;
            m->jit_cache_note = NULL;
            if (cache_store(m, dir, path, &h))
                set_note(m, rejected ? WEFT_CODE_CACHE_REJECTED : WEFT_CODE_CACHE_STORED,
                         "%s%scode cache: %s: compiled %u functions, stored", why ? why : "",
                         why ? "; " : "", path, atomic_load(&m->jit_funcs));
            else
                set_note(m, rejected ? WEFT_CODE_CACHE_REJECTED : WEFT_CODE_CACHE_FAILED,
                         "%s%scode cache: %s: cannot write (%s)", why ? why : "", why ? "; " : "",
                         path, strerror(errno));
            free(why);
        }
    }
    free(path);
}
