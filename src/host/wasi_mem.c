/*
 * wasi_mem.c — standard streams in memory (weft_wasi_config_t.stdio_memory).
 *
 * A node's call gets its input on stdin and gives its output on stdout:
 * kept in memory, they cost the call no system call (memory files cost
 * a write of the input, the guest's reads and writes, a read of the output
 * and a truncate and seek of each stream used: bench/RESULTS.md, "Calls").
 * Each stream behaves as a regular file would: an offset that reads and
 * writes move, seeks (also past the end: a write there fills the gap with
 * zeros), APPEND, a size, times. wasi_fd.c and wasi_poll.c call these
 * where a slot holds a stream (wasi_fd_t.mem) instead of a descriptor;
 * rights, fuel and the write budget are checked there, as for any slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wasi_priv.h"

static const uint8_t *mem_bytes(const wasi_mem_t *m)
{
    return m->ro ? m->ro : m->p;
}

/* Makes room for `size` bytes (size <= m->max) and one more, so that
 * weft_wasi_stdio_take can hand the buffer over with room for a NUL. */
static int reserve(wasi_mem_t *m, size_t size)
{
    if (size < m->cap) return WASI_ESUCCESS;
    size_t cap = m->cap ? m->cap : 256;
    while (cap <= size) cap = cap > SIZE_MAX / 4 ? size + 1 : cap * 2;
    if (cap > m->max + 1) cap = m->max + 1;
    uint8_t *p = realloc(m->p, cap);
    if (!p) return WASI_ENOMEM;
    m->p = p;
    m->cap = cap;
    return WASI_ESUCCESS;
}

int wasi_mem_io(wasi_mem_t *m, int write, const struct iovec *iov, uint32_t niovs,
                int positioned, uint64_t offset, size_t *n)
{
    uint64_t at = positioned ? offset : m->pos;
    *n = 0;
    if (!write) {
        const uint8_t *src = mem_bytes(m);
        for (uint32_t i = 0; i < niovs && at < m->len; i++) {
            size_t k = iov[i].iov_len < m->len - at ? iov[i].iov_len : (size_t)(m->len - at);
            memcpy(iov[i].iov_base, src + at, k);
            at += k;
            *n += k;
        }
        if (!positioned) m->pos = at;
        return WASI_ESUCCESS;
    }
    if (m->read_only) return WASI_EBADF;
    uint64_t total = 0;
    for (uint32_t i = 0; i < niovs; i++) total += iov[i].iov_len;
    if (total == 0) return WASI_ESUCCESS;
    if (!positioned && (m->flags & WASI_FDFLAG_APPEND)) at = m->len;
    if (at > m->max || total > m->max - at) return WASI_EFBIG;
    size_t end = (size_t)(at + total);
    int rc = reserve(m, end);
    if (rc) return rc;
    if (at > m->len) memset(m->p + m->len, 0, (size_t)at - m->len);
    for (uint32_t i = 0; i < niovs; i++) {
        if (iov[i].iov_len) memcpy(m->p + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    if (end > m->len) m->len = end;
    if (!positioned) m->pos = at;
    *n = (size_t)total;
    return WASI_ESUCCESS;
}

int wasi_mem_seek(wasi_mem_t *m, int64_t delta, int whence, uint64_t *out)
{
    int64_t base = whence == 0 ? 0 : whence == 1 ? (int64_t)m->pos : (int64_t)m->len;
    if ((delta > 0 && base > INT64_MAX - delta) || base + delta < 0) return WASI_EINVAL;
    m->pos = (uint64_t)(base + delta);
    *out = m->pos;
    return WASI_ESUCCESS;
}

int wasi_mem_resize(wasi_mem_t *m, uint64_t size, int grow_only)
{
    if (m->read_only) return grow_only ? WASI_EBADF : WASI_EINVAL; /* as for O_RDONLY */
    if (size > m->max) return WASI_EFBIG;
    if (grow_only && size <= m->len) return WASI_ESUCCESS;
    if (size > m->len) {
        int rc = reserve(m, (size_t)size);
        if (rc) return rc;
        memset(m->p + m->len, 0, (size_t)size - m->len);
    }
    m->len = (size_t)size;
    return WASI_ESUCCESS;
}

void wasi_mem_filestat(const wasi_mem_t *m, int i, uint8_t out[WASI_FILESTAT_SIZE])
{
    memset(out, 0, WASI_FILESTAT_SIZE);
    wasi_put_u64(out + 8, (uint64_t)i + 1); /* an inode number per stream */
    out[16] = WASI_FILETYPE_REGULAR_FILE;
    wasi_put_u64(out + 24, 1);
    wasi_put_u64(out + 32, m->len);
    wasi_put_u64(out + 40, m->atim);
    wasi_put_u64(out + 48, m->mtim);
    wasi_put_u64(out + 56, m->mtim > m->atim ? m->mtim : m->atim);
}

void wasi_mem_set_times(wasi_mem_t *m, const struct timespec ts[2])
{
    uint64_t *t[2] = {&m->atim, &m->mtim};
    for (int i = 0; i < 2; i++) {
        if (ts[i].tv_nsec == UTIME_OMIT) continue;
        *t[i] = ts[i].tv_nsec == UTIME_NOW
                    ? wasi_clock_now(CLOCK_REALTIME)
                    : (uint64_t)ts[i].tv_sec * 1000000000u + (uint64_t)ts[i].tv_nsec;
    }
}
