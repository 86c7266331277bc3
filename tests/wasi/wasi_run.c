/*
 * wasi_run.c — the WASI tests' driver: runs one WASI command module under
 * weft_engine + weft_host and exits with the guest's status.
 *
 *   wasi_run [--dir HOST[::GUEST]]... [--env NAME=VALUE]... MODULE [ARGS...]
 *
 * The guest sees argv = MODULE ARGS..., only the --env variables, the
 * driver's own stdin/stdout/stderr and the --dir preopens (from fd 3, in
 * order; GUEST defaults to HOST). Exit status: the guest's proc_exit
 * status, 0 when _start returns, 125 on a trap, 126 when the module cannot
 * be loaded or linked, 2 on a usage error. Uses only the public API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/wasi.h"
#include "weft/weft.h"

#define MAX_ITEMS 64

static int usage(void)
{
    fprintf(stderr, "usage: wasi_run [--dir HOST[::GUEST]]... [--env NAME=VALUE]... "
                    "MODULE [ARGS...]\n");
    return 2;
}

static unsigned char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) goto fail;
    fclose(f);
    *out_len = (size_t)len;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

int main(int argc, char **argv)
{
    weft_wasi_preopen_t dirs[MAX_ITEMS];
    const char *env[MAX_ITEMS];
    size_t ndirs = 0, nenv = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc) return usage();
        if (strcmp(argv[i], "--dir") == 0 && ndirs < MAX_ITEMS) {
            char *spec = argv[++i], *sep = strstr(spec, "::");
            if (sep) *sep = '\0';
            dirs[ndirs].host_path = spec;
            dirs[ndirs].guest_path = sep ? sep + 2 : spec;
            ndirs++;
        } else if (strcmp(argv[i], "--env") == 0 && nenv < MAX_ITEMS) {
            env[nenv++] = argv[++i];
        } else {
            return usage();
        }
    }
    if (i >= argc) return usage();

    char msg[256];
    int status = 126;
    size_t len = 0;
    unsigned char *bytes = read_file(argv[i], &len);
    weft_engine_t *engine = weft_engine_new();
    weft_module_t *module = NULL;
    weft_store_t *store = NULL;
    weft_linker_t *linker = NULL;
    weft_wasi_t *wasi = NULL;
    weft_instance_t *inst = NULL;
    weft_extern_t start;
    if (!bytes) {
        fprintf(stderr, "wasi_run: cannot read %s\n", argv[i]);
        goto done;
    }
    if (!engine || weft_module_new(engine, bytes, len, &module, msg, sizeof msg) != 0) {
        fprintf(stderr, "wasi_run: %s: %s\n", argv[i], engine ? msg : "out of memory");
        goto done;
    }
    weft_wasi_config_t cfg = weft_wasi_config_default();
    cfg.argv = (const char *const *)(argv + i);
    cfg.argc = (size_t)(argc - i);
    cfg.env = env;
    cfg.nenv = nenv;
    cfg.preopens = dirs;
    cfg.npreopens = ndirs;
    if (weft_wasi_new(&cfg, &wasi, msg, sizeof msg) != 0) {
        fprintf(stderr, "wasi_run: %s\n", msg);
        goto done;
    }
    store = weft_store_new(engine);
    linker = store ? weft_linker_new(store) : NULL;
    if (!linker || weft_wasi_define(wasi, linker) != 0) {
        fprintf(stderr, "wasi_run: out of memory\n");
        goto done;
    }
    int rc = weft_linker_instantiate(linker, module, &inst);
    if (rc != 0) {
        fprintf(stderr, "wasi_run: instantiation failed: %s: %s\n", weft_strerror(rc),
                rc == WEFT_ETRAP ? weft_store_trap_message(store) : weft_store_errmsg(store));
        goto done;
    }
    if (weft_instance_export(inst, "_start", &start) != 0 || start.kind != WEFT_EXTERN_FUNC) {
        fprintf(stderr, "wasi_run: no _start function\n");
        goto done;
    }
    rc = weft_func_call(store, start.of.func, NULL, 0, NULL, 0);
    if (rc == 0) {
        status = 0;
    } else if (rc == WEFT_ETRAP && weft_store_trap(store) == WEFT_TRAP_EXIT) {
        status = weft_store_exit_status(store);
    } else if (rc == WEFT_ETRAP) {
        fprintf(stderr, "wasi_run: trap: %s\n", weft_store_trap_message(store));
        status = 125;
    } else {
        fprintf(stderr, "wasi_run: call failed: %s\n", weft_strerror(rc));
    }
done:
    fflush(stdout);
    weft_linker_delete(linker);
    weft_store_delete(store);
    weft_wasi_delete(wasi);
    weft_module_delete(module);
    weft_engine_delete(engine);
    free(bytes);
    return status;
}
