/* A VFS for SQLITE_OS_OTHER builds that run only in-memory databases:
 * files cannot be opened; time and randomness come from libc. */
#include <string.h>
#include <time.h>
#include "sqlite3.h"

static int m_open(sqlite3_vfs *v, const char *n, sqlite3_file *f, int fl, int *o)
{ (void)v; (void)n; (void)fl; (void)o; f->pMethods = 0; return SQLITE_CANTOPEN; }
static int m_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; (void)n; (void)s; return SQLITE_OK; }
static int m_access(sqlite3_vfs *v, const char *n, int fl, int *r) { (void)v; (void)n; (void)fl; *r = 0; return SQLITE_OK; }
static int m_full(sqlite3_vfs *v, const char *n, int len, char *out)
{ (void)v; sqlite3_snprintf(len, out, "%s", n); return SQLITE_OK; }
static int m_rand(sqlite3_vfs *v, int n, char *out)
{ (void)v; for (int i = 0; i < n; i++) out[i] = (char)(i * 131 + 7); return n; }
static int m_sleep(sqlite3_vfs *v, int us) { (void)v; return us; }
static int m_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    (void)v;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *t = (sqlite3_int64)210866760000000LL + (sqlite3_int64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return SQLITE_OK;
}
static int m_time(sqlite3_vfs *v, double *t)
{ sqlite3_int64 i; m_time64(v, &i); *t = i / 86400000.0; return SQLITE_OK; }
static int m_err(sqlite3_vfs *v, int n, char *z) { (void)v; (void)n; (void)z; return 0; }

static sqlite3_vfs memvfs = {
    2, sizeof(sqlite3_file), 512, 0, "memonly", 0, m_open, m_delete, m_access, m_full,
    0, 0, 0, 0, m_rand, m_sleep, m_time, m_err, m_time64,
};
int sqlite3_os_init(void) { return sqlite3_vfs_register(&memvfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }
