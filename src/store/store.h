/*
 * store.h — private interface of src/store/ (weft_store).
 *
 * Only tests and the store itself include this file. It exposes the knobs
 * that the public weft/db.h keeps fixed, so tests can exercise them: the
 * initial map size (the map-growth test starts with a tiny map).
 */
#ifndef WEFT_STORE_STORE_H
#define WEFT_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/db.h"

/* Initial map size of weft_db_open, bytes. A data file that is already
 * larger keeps its own size. */
/* LMDB's map is reserved address space; the file grows only as pages are
 * used. So start big on 64-bit hosts (few calls ever see the map fill), and
 * small where address space is scarce. */
#if UINTPTR_MAX > 0xffffffffu
#define STORE_DEFAULT_MAP_SIZE ((size_t)1 << 30) /* 1 GiB */
#else
#define STORE_DEFAULT_MAP_SIZE ((size_t)64 << 20)
#endif

/* weft_db_open with an explicit initial map size (rounded up to 64 KiB). */
int store_open(const char *dir, unsigned flags, size_t map_size, weft_db_t **out, char *out_msg,
               size_t msg_size);

/* The current map size of db, bytes (for tests and logs). */
size_t store_map_size(weft_db_t *db);

#endif
