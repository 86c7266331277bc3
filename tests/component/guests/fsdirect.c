/*
 * fsdirect.c — the core module of the `fsdirect` test component
 * (fsdirect.wit): wasi:filesystem called directly, for the answers the
 * preview 1 adapter never asks for (tests/component/fs_test.sh): handles
 * compared (is-same-object, metadata-hash), escapes (not-permitted),
 * symlink texts and directory names that are not UTF-8
 * (illegal-byte-sequence), a file used as a directory, and a dropped
 * descriptor used again (a trap). Written against the canonical ABI by
 * hand: results that flatten to more than one value come back through a
 * return area (discriminant, then the payload at its alignment).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FS "wasi:filesystem/types@0.2.3"
#define IMP(m, n) __attribute__((import_module(m), import_name(n)))
#define DESC(m) "[method]descriptor." m

IMP("wasi:filesystem/preopens@0.2.3", "get-directories") void get_directories(uint8_t *ret);
IMP(FS, DESC("open-at"))
void open_at(int32_t, int32_t pflags, const char *, size_t, int32_t oflags, int32_t dflags,
             uint8_t *ret);
IMP(FS, DESC("is-same-object")) int32_t is_same(int32_t, int32_t);
IMP(FS, DESC("metadata-hash")) void mhash(int32_t, uint8_t *ret);
IMP(FS, DESC("metadata-hash-at"))
void mhash_at(int32_t, int32_t pflags, const char *, size_t, uint8_t *ret);
IMP(FS, DESC("symlink-at"))
void symlink_at(int32_t, const char *, size_t, const char *, size_t, uint8_t *ret);
IMP(FS, DESC("readlink-at")) void readlink_at(int32_t, const char *, size_t, uint8_t *ret);
IMP(FS, DESC("read-directory")) void read_directory(int32_t, uint8_t *ret);
IMP(FS, DESC("get-type")) void get_type(int32_t, uint8_t *ret);
IMP(FS, "[method]directory-entry-stream.read-directory-entry") void read_entry(int32_t,
                                                                                uint8_t *ret);
IMP(FS, "[resource-drop]descriptor") void desc_drop(int32_t);
IMP(FS, "[resource-drop]directory-entry-stream") void dir_drop(int32_t);

enum { OPEN_DIRECTORY = 2, READ = 1, FOLLOW = 1 };

#include "answer.h"

/* " WHAT=N" */
static void said(buf_t *b, const char *what, uint64_t n)
{
    if (b->len) puts_(b, " ");
    puts_(b, what);
    puts_(b, "=");
    putu(b, n);
}

static uint64_t u64_at(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* open-at: the handle, or -1 - the error-code */
static int64_t open(int32_t dir, int32_t pflags, const char *path, int32_t oflags)
{
    _Alignas(8) uint8_t ret[16];
    open_at(dir, pflags, path, strlen(path), oflags, READ, ret);
    return ret[0] ? -1 - (int64_t)ret[4] : (int64_t)u32_at(ret + 4);
}

/* open-at's error-code, or 99 when it opened */
static uint64_t open_err(int32_t dir, int32_t pflags, const char *path)
{
    int64_t h = open(dir, pflags, path, 0);
    if (h >= 0) {
        desc_drop((int32_t)h);
        return 99;
    }
    return (uint64_t)(-1 - h);
}

/* 1 when metadata-hash(of) and metadata-hash-at(dir, path) agree */
static uint64_t same_hash(int32_t of, int32_t dir, const char *path)
{
    _Alignas(8) uint8_t a[24], c[24];
    mhash(of, a);
    mhash_at(dir, 0, path, strlen(path), c);
    return !a[0] && !c[0] && u64_at(a + 8) == u64_at(c + 8) && u64_at(a + 16) == u64_at(c + 16);
}

static uint64_t symlink_err(int32_t dir, const char *target, const char *path)
{
    _Alignas(8) uint8_t ret[8];
    symlink_at(dir, target, strlen(target), path, strlen(path), ret);
    return ret[0] ? ret[1] : 99;
}

/* the box preopen, or -1 */
static int32_t find_box(uint64_t *count)
{
    _Alignas(8) uint8_t ret[8];
    get_directories(ret);
    const uint8_t *list = (const uint8_t *)(uintptr_t)u32_at(ret);
    int32_t box = -1;
    *count = u32_at(ret + 4);
    for (uint32_t i = 0; i < *count; i++) {
        const uint8_t *e = list + 12 * i;
        const char *name = (const char *)(uintptr_t)u32_at(e + 4);
        if (u32_at(e + 8) == 3 && memcmp(name, "box", 3) == 0)
            box = (int32_t)u32_at(e);
        else
            desc_drop((int32_t)u32_at(e));
        free((void *)name);
    }
    free((void *)list);
    return box;
}

__attribute__((export_name("probe"))) void *probe(void)
{
    _Alignas(8) uint8_t ret[24];
    buf_t b = {0};
    uint64_t n;
    int32_t box = find_box(&n);
    said(&b, "preopens", n);
    if (box < 0)
        return answer(&b);
    int64_t dot = open(box, 0, ".", OPEN_DIRECTORY), f = open(box, 0, "f.txt", 0);
    if (dot < 0 || f < 0) {
        said(&b, "open-failed", (uint64_t)(dot < 0 ? -1 - dot : -1 - f));
        return answer(&b);
    }
    said(&b, "same-dot", (uint64_t)is_same(box, (int32_t)dot));
    said(&b, "same-file", (uint64_t)is_same(box, (int32_t)f));
    said(&b, "hash-dot", same_hash(box, box, "."));
    said(&b, "hash-file", same_hash((int32_t)f, box, "f.txt"));
    said(&b, "hash-other", same_hash((int32_t)f, box, "."));
    said(&b, "escape", open_err(box, FOLLOW, "../outside"));
    said(&b, "absolute", open_err(box, FOLLOW, "/etc/passwd"));
    said(&b, "link-out", open_err(box, FOLLOW, "out_link"));
    said(&b, "in-file", open_err((int32_t)f, 0, "x"));
    said(&b, "abs-link", symlink_err(box, "/etc", "new_link"));
    said(&b, "up-link", symlink_err(box, "../outside", "new_link"));

    readlink_at(box, "good_link", 9, ret);
    said(&b, "good-link", ret[0] ? ret[4] : u32_at(ret + 8) == 5 &&
                                             memcmp((void *)(uintptr_t)u32_at(ret + 4),
                                                    "f.txt", 5) == 0);
    if (!ret[0]) free((void *)(uintptr_t)u32_at(ret + 4));
    readlink_at(box, "bad_link", 8, ret);
    said(&b, "bad-link", ret[0] ? ret[4] : 99);

    /* box's own entries (no "." or ".."), then names/ with a bad name */
    read_directory(box, ret);
    uint64_t entries = 0;
    if (!ret[0]) {
        int32_t s = (int32_t)u32_at(ret + 4);
        for (;;) {
            read_entry(s, ret);
            if (ret[0] || !ret[4]) break;
            entries++;
            free((void *)(uintptr_t)u32_at(ret + 12));
        }
        dir_drop(s);
    }
    said(&b, "entries", entries);
    int64_t names = open(box, 0, "names", OPEN_DIRECTORY);
    read_directory((int32_t)names, ret);
    if (names >= 0 && !ret[0]) {
        int32_t s = (int32_t)u32_at(ret + 4);
        read_entry(s, ret);
        said(&b, "bad-name", ret[0] ? ret[4] : 99);
        dir_drop(s);
        desc_drop((int32_t)names);
    }
    desc_drop((int32_t)dot);
    desc_drop((int32_t)f);
    desc_drop(box);
    return answer(&b);
}

__attribute__((export_name("use-after-drop"))) void *use_after_drop(void)
{
    _Alignas(8) uint8_t ret[8];
    buf_t b = {0};
    uint64_t n;
    int32_t box = find_box(&n);
    desc_drop(box);
    get_type(box, ret); /* traps */
    said(&b, "type", ret[1]);
    return answer(&b);
}

POST_RETURN("probe", post_probe)
POST_RETURN("use-after-drop", post_use_after_drop)
