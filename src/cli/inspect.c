/*
 * src/cli/inspect.c — `weft inspect`: validate a module and describe it.
 *
 * Prints the validation result (with the engine's message naming section and
 * offset when it fails), then imports and exports with their types, the
 * limits of memories and tables, and the custom sections, as text or, with
 * --json, as one JSON object (jansson) for scripts. It also says whether
 * `weft run` can link the module: against which ABI profiles (abi.c), or
 * every import none of them provides. Everything comes from
 * the public module API; guest-chosen names are escaped when printed as
 * text. Exit code 1 when the module does not load, so scripts can use it as
 * a validator. A component (weft/component.h) is described at the WIT level
 * instead: its imports and exports with their component-level types.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <weft/component.h>

#include "cli.h"
#include "weft/cosmictron.h"
#include "weft/node.h"

void cli_inspect_usage(FILE *out)
{
    fprintf(out,
            "usage: weft inspect [--json] MODULE.wasm\n"
            "\n"
            "Decodes and validates MODULE, says whether weft run can link it (against\n"
            "which ABI profiles, or which imports none provides and why), then lists its\n"
            "imports and exports with their types, memory and table limits, and custom\n"
            "sections. MODULE - reads the module from stdin. weft reads binary modules\n"
            "only: convert a .wat file with wat2wasm (Debian package wabt). A component\n"
            "(docs/components.md) is described by its WIT-level imports and exports.\n"
            "\n"
            "options:\n"
            "  --json      print one JSON object instead of text:\n"
            "              {\"module\", \"size\", \"valid\", \"error\": {\"code\", \"message\"}\n"
            "              (when not valid), \"links\", \"abi\" (the profiles it uses),\n"
            "              \"link_errors\": [{\"module\", \"name\", \"kind\", \"problem\",\n"
            "              \"message\"}], \"imports\", \"exports\", \"custom_sections\"}\n"
            "              each import/export: {\"module\" (imports), \"name\", \"kind\", and\n"
            "              \"params\"+\"results\" (func), \"element\"+\"limits\" (table),\n"
            "              \"limits\" (memory, in 64 KiB pages), \"type\"+\"mutable\" (global)}\n"
            "  -h, --help  show this help\n"
            "\n"
            "exit codes: 0 valid module (whether or not it links: see \"links\"),\n"
            "1 unreadable, malformed or invalid module, 2 usage error\n");
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

/* ---- JSON (--json) -------------------------------------------------------- */

/* A WebAssembly name as a JSON string. A valid module's names are UTF-8;
 * should one not be, it is escaped like the text output (\xx) rather than
 * dropped, so the object stays complete. */
static json_t *json_name(const char *name, size_t len)
{
    json_t *s = json_stringn(name, len);
    if (s)
        return s;
    char *buf = malloc(len * 3 + 1);
    if (!buf)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, 4, "\\%02x", c);
    }
    s = json_stringn(buf, n);
    free(buf);
    return s;
}

static json_t *json_limits(weft_limits_t l)
{
    json_t *o = json_object();
    json_object_set_new(o, "min", json_integer(l.min));
    json_object_set_new(o, "max", l.has_max ? json_integer(l.max) : json_null());
    return o;
}

static json_t *json_types(const weft_functype_t *ft, int results)
{
    json_t *a = json_array();
    size_t n = results ? weft_functype_nresults(ft) : weft_functype_nparams(ft);
    for (size_t i = 0; i < n; i++) {
        weft_valtype_t t = results ? weft_functype_result(ft, i) : weft_functype_param(ft, i);
        json_array_append_new(a, json_string(weft_valtype_name(t)));
    }
    return a;
}

static json_t *json_desc(const weft_externdesc_t *d)
{
    json_t *o = json_object();
    if (d->module)
        json_object_set_new(o, "module", json_name(d->module, d->module_len));
    json_object_set_new(o, "name", json_name(d->name, d->name_len));
    json_object_set_new(o, "kind", json_string(weft_externkind_name(d->kind)));
    switch (d->kind) {
    case WEFT_EXTERN_FUNC:
        if (d->functype) {
            json_object_set_new(o, "params", json_types(d->functype, 0));
            json_object_set_new(o, "results", json_types(d->functype, 1));
        }
        break;
    case WEFT_EXTERN_TABLE:
        json_object_set_new(o, "element", json_string(weft_valtype_name(d->valtype)));
        json_object_set_new(o, "limits", json_limits(d->limits));
        break;
    case WEFT_EXTERN_MEMORY:
        json_object_set_new(o, "limits", json_limits(d->limits));
        break;
    case WEFT_EXTERN_GLOBAL:
        json_object_set_new(o, "type", json_string(weft_valtype_name(d->valtype)));
        json_object_set_new(o, "mutable", json_boolean(d->mutable_));
        break;
    }
    return o;
}

/* The text of a bad import's problem, as `weft run` prints it. */
static json_t *json_problem(const weft_bad_import_t *b)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    cli_link_print_problem(f, b);
    json_t *s = fclose(f) == 0 ? json_stringn(text, len) : NULL;
    free(text);
    return s;
}

/* The whole description. `module` is NULL when loading failed; then
 * err_code/err_msg say why. */
static json_t *json_module(const char *path, size_t size, const weft_module_t *module,
                           const char *err_code, const char *err_msg)
{
    json_t *root = json_object();
    json_object_set_new(root, "module", json_name(path, strlen(path)));
    json_object_set_new(root, "size", json_integer((json_int_t)size));
    json_object_set_new(root, "valid", json_boolean(module != NULL));
    if (!module) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_string(err_code));
        json_object_set_new(e, "message", json_name(err_msg, strlen(err_msg)));
        json_object_set_new(root, "error", e);
        return root;
    }
    json_t *a = json_array();
    weft_link_report_t link;
    if (weft_profile_check(module, &link) == 0) {
        json_object_set_new(root, "links", json_boolean(link.nbad == 0));
        for (size_t i = 0; i < weft_profile_count(); i++)
            if (link.used & (1u << i))
                json_array_append_new(a, json_string(weft_profile_name(i)));
        json_object_set_new(root, "abi", a);
        /* the guest ABI its calls would run under (docs/node.md "Guest ABIs") */
        const char *guest = NULL;
        char why[512];
        if (link.nbad == 0 && weft_node_abi_bind(module, NULL, &guest, why, sizeof why) == 0)
            json_object_set_new(root, "guest_abi", json_string(guest));
        else if (link.nbad == 0)
            json_object_set_new(root, "guest_abi_error", json_string(why));
        a = json_array();
        for (size_t i = 0; i < link.nbad; i++) {
            json_t *e = json_desc(&link.bad[i].import);
            json_object_set_new(e, "problem",
                                json_string(weft_link_problem_name(link.bad[i].problem)));
            json_object_set_new(e, "message", json_problem(&link.bad[i]));
            json_array_append_new(a, e);
        }
        json_object_set_new(root, "link_errors", a);
        a = json_array();
        weft_link_report_free(&link);
    }
    for (size_t i = 0, n = weft_module_import_count(module); i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) == 0)
            json_array_append_new(a, json_desc(&d));
    }
    json_object_set_new(root, "imports", a);
    a = json_array();
    for (size_t i = 0, n = weft_module_export_count(module); i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_export(module, i, &d) == 0)
            json_array_append_new(a, json_desc(&d));
    }
    json_object_set_new(root, "exports", a);
    /* every memory and table, exported or not, imports first */
    a = json_array();
    for (size_t i = 0, n = weft_module_memory_count(module); i < n; i++) {
        weft_limits_t l;
        if (weft_module_memory(module, i, &l) == 0) json_array_append_new(a, json_limits(l));
    }
    json_object_set_new(root, "memories", a);
    a = json_array();
    for (size_t i = 0, n = weft_module_table_count(module); i < n; i++) {
        weft_valtype_t elem;
        weft_limits_t l;
        if (weft_module_table(module, i, &elem, &l) != 0) continue;
        json_t *t = json_object();
        json_object_set_new(t, "element", json_string(weft_valtype_name(elem)));
        json_object_set_new(t, "limits", json_limits(l));
        json_array_append_new(a, t);
    }
    json_object_set_new(root, "tables", a);
    a = json_array();
    for (size_t i = 0, n = weft_module_custom_count(module); i < n; i++) {
        const char *name;
        size_t name_len, data_len;
        const uint8_t *data;
        if (weft_module_custom(module, i, &name, &name_len, &data, &data_len) != 0)
            continue;
        json_t *c = json_object();
        json_object_set_new(c, "name", json_name(name, name_len));
        json_object_set_new(c, "size", json_integer((json_int_t)data_len));
        json_array_append_new(a, c);
    }
    json_object_set_new(root, "custom_sections", a);
    return root;
}

/* Prints the JSON description; returns 0, or -1 when out of memory. */
static int print_json(const char *path, size_t size, const weft_module_t *module,
                      const char *err_code, const char *err_msg)
{
    json_t *root = json_module(path, size, module, err_code, err_msg);
    /* Out of memory while building only drops members (json_object_set_new
     * ignores a NULL value); a CLI reports the failure of the dump alone. */
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text)
        return -1;
    puts(text);
    free(text);
    return 0;
}

/* ---- text -------------------------------------------------------------------- */

/* "links: yes, against ..." or "links: no" and every bad import. */
static int print_links(const weft_module_t *module)
{
    weft_link_report_t link;
    if (weft_profile_check(module, &link) != 0)
        return -1;
    if (link.nbad) {
        printf("links:      no, weft run refuses it: %zu bad import%s:\n", link.nbad,
               link.nbad == 1 ? "" : "s");
        cli_link_print(stdout, &link, SIZE_MAX);
    } else if (!link.used) {
        puts("links:      yes (no imports)");
    } else {
        fputs("links:      yes, against ", stdout);
        for (size_t i = 0, shown = 0; i < weft_profile_count(); i++) {
            if (!(link.used & (1u << i)))
                continue;
            printf("%s%s (%s)", shown++ ? " and " : "", weft_profile_name(i), weft_profile_title(i));
        }
        putchar('\n');
    }
    const char *guest = NULL;
    char why[512];
    if (link.nbad == 0 && weft_node_abi_bind(module, NULL, &guest, why, sizeof why) == 0)
        printf("guest ABI:  %s\n", guest);
    else if (link.nbad == 0)
        printf("guest ABI:  none, weft run refuses it: %s\n", why);
    weft_link_report_free(&link);
    return 0;
}

/* A Cosmictron module's tables and reducers (docs/cosmictron.md), read by
 * running its __describe_module__ in a sandbox of its own. */
static void print_cosm_schema(weft_engine_t *engine, weft_module_t *module)
{
    const char *guest = NULL;
    char why[512];
    weft_schema_t *s;
    if (weft_node_abi_bind(module, NULL, &guest, why, sizeof why) != 0 ||
        strcmp(guest, "cosmictron") != 0)
        return;
    if (weft_cosmictron_describe(engine, module, &s, why, sizeof why) != 0) {
        printf("schema:     refused at deploy: %s\n", why);
        return;
    }
    weft_bsatn_buf_t b;
    weft_bsatn_buf_init(&b);
    weft_schema_describe(s, &b);
    weft_bsatn_put_u8(&b, 0);
    printf("schema:\n");
    for (char *p = (char *)b.p, *nl; p && (nl = strchr(p, '\n')) != NULL; p = nl + 1)
        printf("  %.*s\n", (int)(nl - p), p);
    weft_bsatn_buf_fini(&b);
    weft_schema_delete(s);
}

static void print_text(const weft_module_t *module)
{
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
    n = weft_module_memory_count(module);
    printf("memories (%zu)%s\n", n, n ? ":" : "");
    for (size_t i = 0; i < n; i++) {
        weft_limits_t l;
        if (weft_module_memory(module, i, &l) != 0) continue;
        printf("  memory %zu: ", i);
        print_limits(stdout, l, "pages of 64 KiB");
        putchar('\n');
    }
    n = weft_module_table_count(module);
    printf("tables (%zu)%s\n", n, n ? ":" : "");
    for (size_t i = 0; i < n; i++) {
        weft_valtype_t elem;
        weft_limits_t l;
        if (weft_module_table(module, i, &elem, &l) != 0) continue;
        printf("  table %zu: %s, ", i, weft_valtype_name(elem));
        print_limits(stdout, l, "elements");
        putchar('\n');
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
}

/* ---- components (docs/components.md) ------------------------------------- */

/* "  func add: func(a: u32) -> u32"; an instance's exports one a line below it. */
static void print_cextern(const weft_cextern_t *e, int indent)
{
    printf("%*s%-8s ", indent, "", weft_csort_name(e->sort));
    cli_print_name(stdout, e->name, e->name_len);
    if (e->sort == WEFT_CSORT_INSTANCE && e->type) {
        putchar('\n');
        for (size_t i = 0, n = weft_ctype_extern_count(e->type, 0); i < n; i++) {
            weft_cextern_t x;
            if (weft_ctype_extern(e->type, 0, i, &x) == 0)
                print_cextern(&x, indent + 4);
        }
        return;
    }
    if (e->type) {
        fputs(": ", stdout);
        weft_ctype_print(e->type, stdout);
    }
    putchar('\n');
}

/* weft inspect of a component: validation, then imports and exports. */
static int inspect_component(const char *path, const uint8_t *bytes, size_t len, int json)
{
    weft_engine_t *engine = weft_engine_new();
    weft_component_t *c = NULL;
    char msg[512] = "";
    int status = CLI_EXIT_ERROR;
    if (!engine) {
        cli_error("out of memory");
        return status;
    }
    int rc = weft_component_new(engine, bytes, len, &c, msg, sizeof msg);
    if (json) {
        json_t *root = json_object(), *a;
        json_object_set_new(root, "component", json_name(path, strlen(path)));
        json_object_set_new(root, "size", json_integer((json_int_t)len));
        json_object_set_new(root, "valid", json_boolean(rc == 0));
        if (rc != 0) {
            json_t *e = json_object();
            json_object_set_new(e, "code", json_string(weft_errname(rc)));
            json_object_set_new(e, "message", json_name(msg, strlen(msg)));
            json_object_set_new(root, "error", e);
        } else {
            weft_component_stats_t st;
            /* "imports" and "exports", as GET /v1/apps/{id} shows them */
            char *wit = weft_node_component_describe(c);
            a = wit ? json_loads(wit, 0, NULL) : NULL;
            free(wit);
            json_object_update(root, a);
            json_decref(a);
            weft_component_stats(c, &st);
            json_t *o = json_object();
            json_object_set_new(o, "core_modules", json_integer((json_int_t)st.core_modules));
            json_object_set_new(o, "core_instances", json_integer((json_int_t)st.core_instances));
            json_object_set_new(o, "components", json_integer((json_int_t)st.components));
            json_object_set_new(o, "instances", json_integer((json_int_t)st.instances));
            json_object_set_new(root, "definitions", o);
        }
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!text) {
            cli_error("out of memory");
            goto done;
        }
        puts(text);
        free(text);
    } else if (rc != 0) {
        printf("component:  %s (%zu bytes)\nvalidation: FAILED, %s: %s\n", path, len,
               weft_strerror(rc), msg);
    } else {
        weft_component_stats_t st;
        weft_component_stats(c, &st);
        printf("component:  %s (%zu bytes)\nvalidation: ok\n", path, len);
        printf("contents:   %zu core modules, %zu core instances, %zu components, "
               "%zu instances\n", st.core_modules, st.core_instances, st.components,
               st.instances);
        size_t n = weft_component_import_count(c);
        printf("imports (%zu)%s\n", n, n ? ":" : "");
        for (size_t i = 0; i < n; i++) {
            weft_cextern_t e;
            if (weft_component_import(c, i, &e) == 0)
                print_cextern(&e, 2);
        }
        n = weft_component_export_count(c);
        printf("exports (%zu)%s\n", n, n ? ":" : "");
        for (size_t i = 0; i < n; i++) {
            weft_cextern_t e;
            if (weft_component_export(c, i, &e) == 0)
                print_cextern(&e, 2);
        }
    }
    if (rc == 0)
        status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
done:
    weft_component_delete(c);
    weft_engine_delete(engine);
    return status;
}

int cli_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, end_of_options = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!end_of_options && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
                cli_inspect_usage(stdout);
                return CLI_EXIT_OK;
            }
            if (strcmp(arg, "--json") == 0) {
                json = 1;
                continue;
            }
            if (strcmp(arg, "--") == 0) {
                end_of_options = 1;
                continue;
            }
            cli_error("inspect: unknown option '%s'", arg);
            cli_usage_hint("inspect");
            return CLI_EXIT_USAGE;
        }
        if (path) {
            cli_error("inspect: one module at a time");
            cli_usage_hint("inspect");
            return CLI_EXIT_USAGE;
        }
        path = arg;
    }
    if (!path) {
        cli_error("inspect: missing MODULE.wasm");
        cli_usage_hint("inspect");
        return CLI_EXIT_USAGE;
    }

    int status = CLI_EXIT_ERROR;
    uint8_t *bytes = NULL;
    size_t len = 0;
    weft_engine_t *engine = NULL;
    weft_module_t *module = NULL;
    char msg[512];

    if (cli_read_file(path, &bytes, &len) != 0) {
        snprintf(msg, sizeof msg, "cannot read %s: %s", path, strerror(errno));
        cli_error("%s", msg);
        if (json)
            print_json(path, 0, NULL, weft_errname(WEFT_EIO), msg);
        goto done;
    }
    if (weft_is_component(bytes, len)) {
        status = inspect_component(path, bytes, len, json);
        goto done;
    }
    engine = weft_engine_new();
    if (!engine) {
        cli_error("out of memory");
        goto done;
    }
    msg[0] = '\0';
    int rc = weft_module_new(engine, bytes, len, &module, msg, sizeof msg);
    if (rc != 0) {
        module = NULL;
        if (cli_is_wat(bytes, len)) {
            cli_wat_error(path);
            snprintf(msg, sizeof msg, "WebAssembly text format (.wat): weft reads binary "
                                      "modules; convert it with wat2wasm (Debian package wabt)");
        }
        if (!msg[0])
            snprintf(msg, sizeof msg, "%s", weft_strerror(rc));
        if (json)
            print_json(path, len, NULL, weft_errname(rc), msg);
        else
            printf("module:     %s (%zu bytes)\nvalidation: FAILED, %s: %s\n", path, len,
                   weft_strerror(rc), msg);
        goto done;
    }
    if (json) {
        if (print_json(path, len, module, NULL, NULL) != 0) {
            cli_error("out of memory");
            goto done;
        }
    } else {
        printf("module:     %s (%zu bytes)\nvalidation: ok\n", path, len);
        if (print_links(module) != 0) {
            cli_error("out of memory");
            goto done;
        }
        print_cosm_schema(engine, module);
        print_text(module);
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
