/*
 * node_app.c — the app the node layer's tests deploy (a WASI reactor using
 * nx): each export is one behaviour a test needs. Input is stdin, output
 * stdout; keys and values are what the tests check in the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#include "nx.h"

/* Reads all of stdin into buf (NUL-terminated); returns its length. */
static size_t read_input(char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(0, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return n;
}

/* echo: stdout = stdin. */
__attribute__((export_name("echo"))) void echo(void)
{
    static char buf[65536];
    size_t n = read_input(buf, sizeof buf);
    fwrite(buf, 1, n, stdout);
    fflush(stdout);
}

/* put: input "key=value"; stores it and emits event "put" with the key. */
__attribute__((export_name("put"))) void put(void)
{
    char buf[4096];
    read_input(buf, sizeof buf);
    char *eq = strchr(buf, '=');
    if (!eq)
        exit(2);
    *eq = '\0';
    nx_db_set(buf, (uint32_t)strlen(buf), eq + 1, (uint32_t)strlen(eq + 1));
    nx_event_emit("put", 3, buf, (uint32_t)strlen(buf));
    fprintf(stderr, "stored %s\n", buf);
}

/* get: input a key; output its value, exit 1 when absent. */
__attribute__((export_name("get"))) void get(void)
{
    char key[1024], val[4096];
    read_input(key, sizeof key);
    fprintf(stderr, "get %s\n", key);
    int32_t n = nx_db_get(key, (uint32_t)strlen(key), val, sizeof val);
    if (n < 0)
        exit(1);
    fwrite(val, 1, (size_t)n, stdout);
    fflush(stdout);
}

/* put_then_trap / put_then_exit: write, emit, then fail. */
__attribute__((export_name("put_then_trap"))) void put_then_trap(void)
{
    nx_db_set("doomed", 6, "x", 1);
    nx_event_emit("doomed", 6, "", 0);
    nx_log("about to trap");
    __builtin_trap();
}

__attribute__((export_name("put_then_exit"))) void put_then_exit(void)
{
    nx_db_set("doomed", 6, "x", 1);
    exit(3);
}

/* count: increments the decimal counter under "count"; outputs the new value. */
__attribute__((export_name("count"))) void count(void)
{
    char buf[32];
    int32_t n = nx_db_get("count", 5, buf, sizeof buf - 1);
    long v = 0;
    if (n > 0) {
        buf[n] = '\0';
        v = strtol(buf, NULL, 10);
    }
    int len = snprintf(buf, sizeof buf, "%ld", v + 1);
    nx_db_set("count", 5, buf, (uint32_t)len);
    fwrite(buf, 1, (size_t)len, stdout);
    fflush(stdout);
}

/* add: numeric arguments and result. */
__attribute__((export_name("add"))) int add(int a, int b)
{
    return a + b;
}

/* spin: never returns (the watchdog must stop it). */
__attribute__((export_name("spin"))) void spin(void)
{
    volatile unsigned x = 0;
    for (;;)
        x++;
}

/* shout: writes n bytes of output, n from the input. */
__attribute__((export_name("shout"))) void shout(void)
{
    char buf[32];
    read_input(buf, sizeof buf);
    long n = strtol(buf, NULL, 10);
    static char chunk[4096];
    memset(chunk, 'a', sizeof chunk);
    for (long i = 0; i < n; i += (long)sizeof chunk)
        fwrite(chunk, 1, (size_t)(n - i < (long)sizeof chunk ? n - i : (long)sizeof chunk), stdout);
    fflush(stdout);
}

/* bump: a CRDT write (GCounter +1). */
__attribute__((export_name("bump"))) void bump(void)
{
    nx_crdt_gcounter_inc("hits", 4, 1);
}

/* every_write: one call of each nx function that writes (the six CRDTs'
 * ops, the store's set and delete, an event, a log line) and of each
 * CRDT read; output "ok", or the first that failed and its result. */
#define TRY(expr)                                                                 \
    do {                                                                          \
        int32_t rc_ = (expr);                                                     \
        if (rc_ < 0) {                                                            \
            printf("%s: %d", #expr, (int)rc_);                                    \
            fflush(stdout);                                                       \
            return;                                                               \
        }                                                                         \
    } while (0)
__attribute__((export_name("every_write"))) void every_write(void)
{
    char id[NX_CRDT_ID_LEN], out[256];
    TRY(nx_crdt_gcounter_inc("g", 1, 2));
    TRY(nx_crdt_pncounter_inc("p", 1, 5));
    TRY(nx_crdt_pncounter_dec("p", 1, 2));
    TRY(nx_crdt_lww_set("r", 1, "v", 1));
    TRY(nx_crdt_lww_map_set("m", 1, "f", 1, "v", 1));
    TRY(nx_crdt_lww_map_remove("m", 1, "f", 1));
    TRY(nx_crdt_orset_add("s", 1, "e", 1));
    TRY(nx_crdt_orset_remove("s", 1, "e", 1));
    TRY(nx_crdt_rga_insert("l", 1, "", 0, "x", 1, id, sizeof id));
    TRY(nx_crdt_rga_insert("l", 1, id, sizeof id, "y", 1, out, sizeof out));
    TRY(nx_crdt_rga_delete("l", 1, id, sizeof id));
    TRY(nx_crdt_gcounter_value("g", 1, out, sizeof out));
    TRY(nx_crdt_pncounter_value("p", 1, out, sizeof out));
    TRY(nx_crdt_lww_get("r", 1, out, sizeof out));
    TRY(nx_crdt_lww_map_contains("m", 1, "f", 1));
    TRY(nx_crdt_lww_map_entries("m", 1, out, sizeof out));
    TRY(nx_crdt_orset_contains("s", 1, "e", 1));
    TRY(nx_crdt_orset_elements("s", 1, out, sizeof out));
    TRY(nx_crdt_rga_values("l", 1, out, sizeof out));
    TRY(nx_db_set("w", 1, "1", 1));
    TRY(nx_db_delete("w", 1));
    TRY(nx_event_emit("w", 1, "", 0));
    TRY(nx_host_log_v2("w", 1));
    printf("ok");
    fflush(stdout);
}

/* env: input a variable name; output "wasi=VALUE nx=VALUE" as the guest
 * sees it through WASI getenv and nx env_get ("-" when unset). */
__attribute__((export_name("env"))) void env(void)
{
    char name[128], val[256];
    read_input(name, sizeof name);
    const char *w = getenv(name);
    int32_t n = nx_env_get(name, (uint32_t)strlen(name), val, sizeof val - 1);
    if (n >= 0)
        val[n] = '\0';
    printf("wasi=%s nx=%s", w ? w : "-", n >= 0 ? val : "-");
    fflush(stdout);
}

/* bin: two keys with a NUL byte in them, "a\0x" and "a\0y". */
__attribute__((export_name("bin"))) void bin(void)
{
    nx_db_set("a\0x", 3, "1", 1);
    nx_db_set("a\0y", 3, "2", 1);
}

/* yell: writes n bytes to stderr, n from the input. */
__attribute__((export_name("yell"))) void yell(void)
{
    char buf[32];
    read_input(buf, sizeof buf);
    long n = strtol(buf, NULL, 10);
    static char chunk[4096];
    memset(chunk, 'e', sizeof chunk);
    for (long i = 0; i < n; i += (long)sizeof chunk)
        fwrite(chunk, 1, (size_t)(n - i < (long)sizeof chunk ? n - i : (long)sizeof chunk), stderr);
}

/* grow: grows the memory by the input's count of 64 KiB pages; prints what
 * memory.grow answered (-1: refused). */
__attribute__((export_name("grow"))) void grow(void)
{
    char buf[32];
    read_input(buf, sizeof buf);
    long r = (long)__builtin_wasm_memory_grow(0, (unsigned long)strtol(buf, NULL, 10));
    printf("%ld", r == (long)(unsigned long)-1 ? -1L : r);
    fflush(stdout);
}

/* fill: input n; stores n values of 1 MiB under "big0".."big<n-1>", then
 * "filled" = n: past 64 MiB an overlay refuses the call's writes
 * (docs/node.md "Writes"), which then run in a nested transaction. */
__attribute__((export_name("fill"))) void fill(void)
{
    static char big[1 << 20];
    char buf[32], key[16];
    size_t len = read_input(buf, sizeof buf);
    long n = strtol(buf, NULL, 10);
    for (long i = 0; i < n; i++) {
        memset(big, 'a' + (int)(i % 26), sizeof big);
        int kl = snprintf(key, sizeof key, "big%ld", i);
        if (nx_db_set(key, (uint32_t)kl, big, sizeof big) != 0)
            exit(4);
    }
    nx_db_set("filled", 6, buf, (uint32_t)len);
}

/* ryw: read-your-writes inside one call: writes and deletes under "ryw/",
 * then lists the keys there and reads "ryw/b" back; output
 * "KEY,KEY,...;b=VALUE". */
__attribute__((export_name("ryw"))) void ryw(void)
{
    nx_db_set("ryw/a", 5, "1", 1);
    nx_db_set("ryw/b", 5, "2", 1);
    nx_db_delete("ryw/a", 5);
    nx_db_delete("ryw/y", 5);
    nx_db_set("ryw/c", 5, "3", 1);
    static unsigned char page[4096];
    int32_t n = nx_db_keys("ryw/", 4, 0, 100, page, sizeof page);
    if (n < 4)
        exit(5);
    uint32_t count, off = 4;
    memcpy(&count, page, 4);
    for (uint32_t i = 0; i < count && off + 4 <= (uint32_t)n; i++) {
        uint32_t kl;
        memcpy(&kl, page + off, 4);
        printf("%s%.*s", i ? "," : "", (int)kl, (const char *)page + off + 4);
        off += 4 + kl;
    }
    char val[16];
    int32_t vl = nx_db_get("ryw/b", 5, val, sizeof val);
    printf(";b=%.*s", vl > 0 ? (int)vl : 0, val);
    fflush(stdout);
}

/* meet: input "r" or "w": opens the FIFO "fifo" of the first preopened
 * directory (fd 3) for reading or writing, which blocks until another call
 * opens its other end, then stores "met" = the input. Two calls meet only
 * when their guests run at the same time (test_node.c). WASI's own call,
 * not open(): libc's path resolution would make the app 47 KB larger. */
__attribute__((export_name("meet"))) void meet(void)
{
    char buf[8];
    size_t n = read_input(buf, sizeof buf);
    __wasi_rights_t rights = buf[0] == 'w' ? __WASI_RIGHTS_FD_WRITE : __WASI_RIGHTS_FD_READ;
    __wasi_fd_t fd;
    if (__wasi_path_open(3, 0, "fifo", 0, rights, 0, 0, &fd) != 0)
        exit(4);
    (void)__wasi_fd_close(fd);
    nx_db_set("met", 3, buf, (uint32_t)n);
}
