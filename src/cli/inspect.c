/*
 * src/cli/inspect.c — `weft inspect`: validate a module and describe it.
 *
 * Prints the validation result (with the engine's message naming section and
 * offset when it fails), then imports and exports with their types, the
 * limits of memories and tables, and the custom sections. Everything comes
 * from the public module API; guest-chosen names are escaped when printed.
 * Exit code 1 when the module does not load, so scripts can use it as a
 * validator.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_inspect_usage(FILE *out)
{
    fprintf(out,
            "usage: weft inspect MODULE.wasm\n"
            "\n"
            "Decodes and validates MODULE, then lists its imports and exports with their\n"
            "types, memory and table limits, and custom sections.\n"
            "\n"
            "options:\n"
            "  -h, --help  show this help\n"
            "\n"
            "exit codes: 0 valid module, 1 unreadable, malformed or invalid module,\n"
            "2 usage error\n");
}

static void print_limits(FILE *out, weft_limits_t l, const char *unit)
{
    fprintf(out, "min %" PRIu32 " %s", l.min, unit);
    if (l.has_max)
        fprintf(out, ", max %" PRIu32, l.max);
    else
        fputs(", no max", out);
}

/* One import or export: "  func env.log: (i32) -> ()". */
static void print_desc(FILE *out, const weft_externdesc_t *d)
{
    fprintf(out, "  %-6s ", weft_externkind_name(d->kind));
    if (d->module) {
        cli_print_name(out, d->module, d->module_len);
        fputc('.', out);
    }
    cli_print_name(out, d->name, d->name_len);
    fputs(": ", out);
    switch (d->kind) {
    case WEFT_EXTERN_FUNC:
        if (d->functype)
            cli_print_functype(out, d->functype);
        break;
    case WEFT_EXTERN_TABLE:
        fprintf(out, "%s, ", weft_valtype_name(d->valtype));
        print_limits(out, d->limits, "elements");
        break;
    case WEFT_EXTERN_MEMORY:
        print_limits(out, d->limits, "pages of 64 KiB");
        break;
    case WEFT_EXTERN_GLOBAL:
        fprintf(out, "%s %s", d->mutable_ ? "mut" : "const", weft_valtype_name(d->valtype));
        break;
    }
    fputc('\n', out);
}

int cli_inspect(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cli_inspect_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error("inspect: unknown option '%s'", argv[i]);
            cli_inspect_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        if (path) {
            cli_error("inspect: one module at a time");
            cli_inspect_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        path = argv[i];
    }
    if (!path) {
        cli_error("inspect: missing MODULE.wasm");
        cli_inspect_usage(stderr);
        return CLI_EXIT_USAGE;
    }

    int status = CLI_EXIT_ERROR;
    uint8_t *bytes = NULL;
    size_t len = 0;
    weft_engine_t *engine = NULL;
    weft_module_t *module = NULL;
    char msg[512];

    if (cli_read_file(path, &bytes, &len) != 0) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    engine = weft_engine_new();
    if (!engine) {
        cli_error("out of memory");
        goto done;
    }
    printf("module:     %s (%zu bytes)\n", path, len);
    msg[0] = '\0';
    int rc = weft_module_new(engine, bytes, len, &module, msg, sizeof msg);
    if (rc != 0) {
        module = NULL;
        printf("validation: FAILED, %s: %s\n", weft_strerror(rc), msg[0] ? msg : "(no detail)");
        goto done;
    }
    printf("validation: ok\n");

    size_t n = weft_module_import_count(module);
    printf("imports (%zu)%s\n", n, n ? ":" : "");
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) == 0)
            print_desc(stdout, &d);
    }
    n = weft_module_export_count(module);
    printf("exports (%zu)%s\n", n, n ? ":" : "");
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_export(module, i, &d) == 0)
            print_desc(stdout, &d);
    }
    n = weft_module_custom_count(module);
    printf("custom sections (%zu)%s\n", n, n ? ":" : "");
    for (size_t i = 0; i < n; i++) {
        const char *name;
        size_t name_len, data_len;
        const uint8_t *data;
        if (weft_module_custom(module, i, &name, &name_len, &data, &data_len) != 0)
            continue;
        fputs("  ", stdout);
        cli_print_name(stdout, name, name_len);
        printf(": %zu bytes\n", data_len);
    }
    status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;

done:
    if (module)
        weft_module_delete(module);
    if (engine)
        weft_engine_delete(engine);
    free(bytes);
    return status;
}
