/*
 * weft/profile.h — ABI profiles: the import namespaces a node provides to
 * guests, each with its functions and their types, and the check of a
 * module's imports against them (DESIGN: "ABI profiles as tables of
 * import names per profile").
 *
 * Two tables. A *profile* here is one namespace row: an import module
 * name ("nx", "env") and the functions one host library provides under
 * it; two rows may share a name (Calimero and Faasm both import from
 * `env`), and then the function names tell them apart. A *guest ABI*
 * ("nx", "calimero", ...) is a set of rows: the ABI a module is bound
 * to decides how its calls get input and give output (src/node/abi.h).
 * A module's ABI is the first one, in table order, whose rows provide
 * every row it uses (so a module importing only WASI is an nx module), or
 * the one its manifest or `--abi` names (weft_abi_choose).
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef WEFT_PROFILE_H
#define WEFT_PROFILE_H

#include <stddef.h>

#include "module.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The profiles, by index: the namespace ("nx") and a title for people
 * ("the Numax host API"); NULL past the end. Static storage. */
size_t weft_profile_count(void);
const char *weft_profile_name(size_t i);
const char *weft_profile_title(size_t i);

typedef enum {
    WEFT_LINK_UNKNOWN_NAMESPACE, /* no profile has the import's module name */
    WEFT_LINK_UNKNOWN_NAME,      /* the profile has no function of that name */
    WEFT_LINK_NOT_A_FUNCTION,    /* profiles provide functions only */
    WEFT_LINK_WRONG_TYPE,        /* a function of another type (see expected) */
} weft_link_problem_t;

typedef struct {
    weft_externdesc_t import;  /* names borrowed from the module */
    weft_link_problem_t problem;
    weft_functype_t *expected; /* WEFT_LINK_WRONG_TYPE: the profile's type (owned) */
} weft_bad_import_t;

typedef struct {
    weft_bad_import_t *bad; /* every import no profile provides, in module order */
    size_t nbad;
    unsigned used; /* bit i: the module imports from profile i */
} weft_link_report_t;

/* Checks every import of `module` against the profiles. Returns 0 (out
 * filled; nbad 0 when the module links) or WEFT_ENOMEM. Free out with
 * weft_link_report_free; it borrows names from the module. */
int weft_profile_check(const weft_module_t *module, weft_link_report_t *out);
void weft_link_report_free(weft_link_report_t *r);
/* 1 when the module imports anything from namespace `ns` ("nx"), else 0. */
int weft_profile_imported(const weft_module_t *module, const char *ns);
/* 1 when a module whose check is `rep` uses a row whose functions need
 * the node's data directory (nx's database, Calimero's storage, ...). */
int weft_profile_needs_store(const weft_link_report_t *rep);

/* The guest ABIs, by index, in the order detection tries them: the name
 * ("nx", "calimero") and a title for people; NULL past the end. */
size_t weft_abi_count(void);
const char *weft_abi_name(size_t i);
const char *weft_abi_title(size_t i);
/* The index of the ABI called `name`, or -1. */
int weft_abi_find(const char *name);
/* The ABI of a module whose imports were checked into `rep`: the one
 * named `want` (a manifest's "abi", `--abi`), or when want is NULL the
 * first ABI providing every row the module uses. Returns its index, or -1
 * with msg saying why: no ABI called `want` (naming the ABIs), an import
 * `want` does not provide, or imports no single ABI provides (naming one
 * import of each ABI they come from). Bad imports (rep->nbad) are the
 * caller's to report; they do not count here. */
int weft_abi_choose(const weft_module_t *module, const weft_link_report_t *rep, const char *want,
                    char *msg, size_t msg_size);
/* "unknown_namespace", "unknown_name", "not_a_function", "wrong_type". */
const char *weft_link_problem_name(weft_link_problem_t p);

#ifdef __cplusplus
}
#endif
#endif
