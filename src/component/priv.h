/*
 * src/component/priv.h — the component library's internal structures.
 *
 * A component owns a copy of its bytes (names and labels point into it),
 * every type it defines (one list, freed together), and the core modules
 * it nests. Types are resolved to pointers while decoding, so a type never
 * refers to an index of some scope after the load; primitive types are
 * shared static objects. Each type caches its canonical ABI facts (size,
 * alignment, flattening) computed once when it is defined.
 */
#ifndef WEFT_COMPONENT_PRIV_H
#define WEFT_COMPONENT_PRIV_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/component.h>
#include <weft/module.h>
#include <weft/utf8.h>

/* More than this many flat values is "overflows" for every use (the
 * largest limit is MAX_FLAT_PARAMS). */
#define CT_FLAT_CAP 17

typedef struct {
    const char *label; /* NUL-terminated (copied) */
    const weft_ctype_t *type;
} ct_field_t;

typedef struct cinit cinit_t;

struct weft_ctype {
    uint8_t kind;          /* weft_ctype_kind_t */
    uint32_t n;            /* fields / cases / labels / elements / params */
    ct_field_t *fields;
    const weft_ctype_t *a; /* list, option elem; result ok; own/borrow resource; func result */
    const weft_ctype_t *b; /* result err */
    int has_result;        /* func */
    /* instance and component types: exports, then imports */
    weft_cextern_t *exports, *imports;
    uint32_t nexports, nimports;
    /* resources */
    int local;             /* defined here (resource.new allowed), not imported/abstract */
    uint32_t id;           /* distinct per resource type of the component */
    int32_t dtor;          /* core func index, -1: none */
    /* canonical ABI, computed at definition */
    uint32_t size, align;
    uint32_t nflat;        /* may exceed CT_FLAT_CAP (then only CT_FLAT_CAP kept) */
    uint8_t flat[CT_FLAT_CAP];
    int has_ptr;           /* contains a string or list */
    int has_borrow;        /* contains a borrow handle */
    uint32_t depth;        /* value types nested inside (0 for a primitive) */
    /* a component definition: what instantiating it does (instance.c) */
    const cinit_t *inits;
    uint32_t ninits;
};

/* A primitive type's static object, or NULL when kind is not primitive. */
const weft_ctype_t *ct_prim(int kind);
int ct_is_prim(int kind);
/* How deep value types may nest: lifting, lowering, printing and
 * comparing recurse along the nesting, so a guest must not choose it. */
#define CT_MAX_DEPTH 100

/* Computes size/align/flat/has_ptr/depth of t from its parts; returns 0,
 * -1 when the size passes the 2^28 bound (CanonicalABI.md element size),
 * -3 when it nests deeper than CT_MAX_DEPTH. */
int ct_layout(weft_ctype_t *t);
/* Structural equality (resources by identity). */
int ct_equal(const weft_ctype_t *a, const weft_ctype_t *b);
/* ct_equal where a resource of b whose id is from[i] stands for to[i]:
 * the type imports a component instantiation supplies (Binary.md: the
 * actual type is substituted for the import). */
int ct_equal_subst(const weft_ctype_t *a, const weft_ctype_t *b, const uint32_t *from,
                   const weft_ctype_t *const *to, size_t n);
uint32_t ct_align_to(uint32_t x, uint32_t a);
/* Discriminant byte size for n cases (1, 2 or 4). */
uint32_t ct_disc_size(uint32_t n);
/* How the 4 core types join for a variant's flattening. */
uint8_t ct_join(uint8_t a, uint8_t b);

/* What instantiating a component does, in definition order: each
 * initializer adds to the runtime index spaces exactly what its definition
 * added to the static ones (instance.c replays them). The outermost
 * component's are c->inits, a nested component's hang off its type. */
typedef enum {
    INIT_CORE_MODULE,       /* idx: c->modules[idx] */
    INIT_CORE_INSTANTIATE,  /* idx: core module; args: (name, core instance) */
    INIT_CORE_INLINE,       /* args: (name, core sort, index) */
    INIT_ALIAS_CORE_EXPORT, /* idx: core instance, name, sort: core sort */
    INIT_ALIAS_EXPORT,      /* idx: instance, name, sort */
    INIT_ALIAS_OTHER,       /* outer alias of a core module: not instantiable */
    INIT_ALIAS_COMPONENT,   /* outer alias of a component definition: type */
    INIT_CANON_LIFT,        /* idx: core func, opts, type */
    INIT_CANON_LOWER,       /* idx: func, opts */
    INIT_RESOURCE_NEW,      /* type: the resource */
    INIT_RESOURCE_DROP,
    INIT_RESOURCE_REP,
    INIT_IMPORT,            /* name, sort, type */
    INIT_EXPORT,            /* name, sort, idx */
    INIT_INSTANCE_INLINE,   /* args: (name, sort, index) */
    INIT_INSTANTIATE,       /* idx: component; args: (name, sort, index) */
    INIT_COMPONENT,         /* a nested component definition: type (with its inits) */
} cinit_op_t;

typedef struct {
    const char *name;
    int sort; /* component sort, or 0x100 + core sort */
    uint32_t idx;
} cinit_arg_t;

struct cinit {
    uint8_t op;
    int sort;
    uint32_t idx;
    const char *name;
    const weft_ctype_t *type;
    cinit_arg_t *args;
    uint32_t nargs;
    int32_t memory, realloc, post; /* canon options: indices, -1 = none */
};

struct weft_component {
    /* references beyond the owner's: one per top-level instance, so a kept
     * instance (src/node/call.c) never outlives its types and names */
    atomic_int refs;
    uint8_t *bytes;
    size_t len;
    void *arena;                /* every allocation of the decoder (types, names, lists) */
    weft_module_t **modules;    /* every nested core module */
    size_t nmodules, cap_modules;
    weft_functype_t **functypes; /* every synthesized core function type */
    size_t nfunctypes, cap_functypes;
    weft_cextern_t *imports, *exports;
    size_t nimports, nexports;
    const weft_ctype_t **outer_types; /* outer component's type index space */
    size_t nouter_types;
    weft_component_stats_t stats;
    cinit_t *inits;
    size_t ninits, cap_inits;
    uint32_t next_resource_id;
};

#endif
