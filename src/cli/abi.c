/*
 * src/cli/abi.c — printing what weft/profile.h found wrong with a module's
 * imports (`weft run` refuses such a module before anything runs; `weft
 * inspect` says whether a module links and against which profiles).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_link_print_problem(FILE *out, const weft_bad_import_t *b)
{
    const weft_externdesc_t *d = &b->import;
    switch (b->problem) {
    case WEFT_LINK_UNKNOWN_NAMESPACE:
        fputs("no ABI profile has the namespace '", out);
        cli_print_name(out, d->module, d->module_len);
        fputc('\'', out);
        break;
    case WEFT_LINK_UNKNOWN_NAME:
        cli_print_name(out, d->module, d->module_len);
        fputs(" has no function '", out);
        cli_print_name(out, d->name, d->name_len);
        fputc('\'', out);
        break;
    case WEFT_LINK_NOT_A_FUNCTION:
        cli_print_name(out, d->module, d->module_len);
        fprintf(out, " provides functions only, not a %s", weft_externkind_name(d->kind));
        break;
    case WEFT_LINK_WRONG_TYPE:
        fputs("expected ", out);
        cli_print_functype(out, b->expected);
        fputs(", module declares ", out);
        if (d->functype)
            cli_print_functype(out, d->functype);
        else
            fputs("another type", out);
        break;
    }
}

void cli_link_print(FILE *out, const weft_link_report_t *l, size_t max)
{
    for (size_t i = 0; i < l->nbad && i < max; i++) {
        const weft_externdesc_t *d = &l->bad[i].import;
        fprintf(out, "  %s ", weft_externkind_name(d->kind));
        cli_print_name(out, d->module, d->module_len);
        fputc('.', out);
        cli_print_name(out, d->name, d->name_len);
        if (d->kind == WEFT_EXTERN_FUNC && d->functype && l->bad[i].problem != WEFT_LINK_WRONG_TYPE) {
            fputs(": ", out);
            cli_print_functype(out, d->functype);
        }
        fputs(": ", out);
        cli_link_print_problem(out, &l->bad[i]);
        fputc('\n', out);
    }
    if (l->nbad > max)
        fprintf(out, "  ... %zu bad imports in all (weft inspect MODULE lists them all)\n",
                l->nbad);
}

void cli_abi_print_list(FILE *out)
{
    for (size_t i = 0; i < weft_profile_count(); i++)
        fprintf(out, "%s%s (%s)", i == 0 ? "" : i + 1 == weft_profile_count() ? " and " : ", ",
                weft_profile_name(i), weft_profile_title(i));
}
