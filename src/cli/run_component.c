/*
 * src/cli/run_component.c — `weft run COMPONENT.wasm`: a component run as
 * a WASI preview 2 command (issue 15, docs/components.md).
 *
 * Loads the component (weft/component.h), instantiates it against the
 * WASI preview 2 subset of weft/wasip2.h with the run's arguments, --env
 * variables and the process's standard streams (imports outside the subset
 * are bound to functions that trap when called), and calls its
 * `wasi:cli/run@0.2.x#run` export, or the function --invoke names (one
 * without parameters; its result is printed). This runs the component
 * directly in the process: the node-layer path (`weft run` of a module is
 * one call of a one-call node) comes with the component ABI adapter.
 * --fuel and --max-memory bound the store as for modules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/component.h>
#include <weft/wasip2.h>

#include "cli.h"
#include "run.h"

/* The value of a result, as text ("42", "\"text\"", "ok", ...). */
static void print_cval(FILE *out, const weft_cval_t *v)
{
    switch (v->kind) {
    case WEFT_CT_S8: case WEFT_CT_S16: case WEFT_CT_S32: case WEFT_CT_S64:
        fprintf(out, "%lld", (long long)v->of.s);
        break;
    case WEFT_CT_STRING:
        fputc('"', out);
        cli_print_name(out, v->str, v->len);
        fputc('"', out);
        break;
    case WEFT_CT_F32: {
        float f;
        memcpy(&f, &v->of.f32_bits, 4);
        fprintf(out, "%g", f);
        break;
    }
    case WEFT_CT_F64: {
        double d;
        memcpy(&d, &v->of.f64_bits, 8);
        fprintf(out, "%g", d);
        break;
    }
    case WEFT_CT_LIST:
        if (v->str) {
            cli_print_name(out, v->str, v->len);
            break;
        }
        /* fall through */
    case WEFT_CT_RECORD: case WEFT_CT_TUPLE:
        fputc(v->kind == WEFT_CT_LIST ? '[' : '(', out);
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                fputs(", ", out);
            print_cval(out, &v->items[i]);
        }
        fputc(v->kind == WEFT_CT_LIST ? ']' : ')', out);
        break;
    case WEFT_CT_VARIANT: case WEFT_CT_OPTION: case WEFT_CT_RESULT: case WEFT_CT_ENUM:
        fprintf(out, "case %u", v->index);
        if (v->n) {
            fputc('(', out);
            print_cval(out, &v->items[0]);
            fputc(')', out);
        }
        break;
    default:
        fprintf(out, "%llu", (unsigned long long)v->of.u);
    }
}

/* "wasi:cli/run@0.2.x#run" when the component exports that interface. */
static int find_run(const weft_component_t *c, char *out, size_t size)
{
    for (size_t i = 0; i < weft_component_export_count(c); i++) {
        weft_cextern_t e;
        weft_component_export(c, i, &e);
        if (e.sort == WEFT_CSORT_INSTANCE && strncmp(e.name, "wasi:cli/run@0.2.", 17) == 0) {
            snprintf(out, size, "%s#run", e.name);
            return 0;
        }
    }
    return -1;
}

int cli_run_component(const run_opts_t *o, const uint8_t *bytes, size_t len)
{
    int status = CLI_EXIT_ERROR, rc, has = 0;
    char msg[512] = "", fn[300];
    weft_engine_t *engine = weft_engine_new();
    weft_component_t *c = NULL;
    weft_store_t *store = NULL;
    weft_clinker_t *l = NULL;
    weft_wasip2_t *w = NULL;
    weft_cinstance_t *inst = NULL;
    weft_cval_t result = {0};
    /* argv[0]: the file name without directories, as for modules */
    const char *name = strcmp(o->path, "-") == 0 ? "stdin" : cli_file_name(o->path);
    const char **argv = calloc((size_t)o->nargs + 2, sizeof *argv);
    if (!engine || !name || !argv) {
        cli_error("out of memory");
        goto done;
    }
    rc = weft_component_new(engine, bytes, len, &c, msg, sizeof msg);
    if (rc) {
        cli_error("%s: %s: %s", o->path, weft_strerror(rc), msg);
        goto done;
    }
    argv[0] = name;
    for (int i = 0; i < o->nargs; i++)
        argv[i + 1] = o->args[i];
    weft_wasip2_config_t cfg = {argv, (size_t)o->nargs + 1, o->env, o->nenv, 0, 1, 2};
    if (!(store = weft_store_new(engine)) || !(l = weft_clinker_new()) ||
        !(w = weft_wasip2_new(&cfg)) || weft_wasip2_define(w, l) != 0) {
        cli_error("out of memory");
        goto done;
    }
    if (o->has_max_memory || o->has_max_stack) {
        weft_limits_config_t lim = {0};
        lim.max_memory_pages = o->has_max_memory ? (uint32_t)(o->max_memory / 65536) : 65536;
        lim.max_table_elems = 10000000;
        lim.max_call_depth = 10000;
        lim.max_stack_bytes = o->has_max_stack ? o->max_stack : 8u << 20;
        weft_store_set_limits(store, &lim);
    }
    if (o->has_fuel)
        weft_store_set_fuel(store, o->fuel);
    weft_clinker_stub_missing(l, 1);
    rc = weft_cinstance_new(c, store, l, &inst, msg, sizeof msg);
    if (rc) {
        cli_error("%s: %s", o->path, msg);
        status = rc == WEFT_ETRAP ? CLI_EXIT_TRAP : CLI_EXIT_ERROR;
        goto done;
    }
    if (o->invoke)
        snprintf(fn, sizeof fn, "%s", o->invoke);
    else if (find_run(c, fn, sizeof fn) != 0) {
        cli_error("%s: the component exports no wasi:cli/run@0.2 (use --invoke FUNCTION)", o->path);
        goto done;
    }
    rc = weft_cinstance_call(inst, fn, NULL, 0, &result, &has);
    fflush(stdout);
    if (rc == WEFT_ETRAP && weft_store_trap(store) == WEFT_TRAP_EXIT) {
        status = weft_store_exit_status(store);
    } else if (rc == WEFT_ETRAP) {
        cli_error("%s: trap: %s", o->path, weft_cinstance_errmsg(inst));
        status = CLI_EXIT_TRAP;
    } else if (rc) {
        cli_error("%s: %s: %s", o->path, fn, weft_cinstance_errmsg(inst));
    } else if (!o->invoke) {
        status = has && result.kind == WEFT_CT_RESULT && result.index == 1 ? CLI_EXIT_ERROR
                                                                         : CLI_EXIT_OK;
    } else {
        if (has) {
            print_cval(stdout, &result);
            putchar('\n');
        }
        status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    }
done:
    weft_cval_free(&result);
    weft_cinstance_delete(inst);
    weft_clinker_delete(l);
    weft_wasip2_delete(w);
    weft_store_delete(store);
    weft_component_delete(c);
    weft_engine_delete(engine);
    free(argv);
    return status;
}
