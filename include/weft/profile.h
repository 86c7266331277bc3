/*
 * weft/profile.h — ABI profiles: the import namespaces a node provides to
 * guests, each with its functions and their types, and the check of a
 * module's imports against them (DESIGN: "ABI profiles as tables of
 * import names per profile"). Profiles today: WASI preview 1
 * (`wasi_snapshot_preview1`) and nx; each later ABI is one more row.
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
/* "unknown_namespace", "unknown_name", "not_a_function", "wrong_type". */
const char *weft_link_problem_name(weft_link_problem_t p);

#ifdef __cplusplus
}
#endif
#endif
