/*
 * src/cli/util.c — helpers shared by the commands of the `weft` CLI.
 *
 * Number parsing is strict: the whole string must be consumed, no leading
 * blanks, no octal surprise for a leading 0. Printing escapes every byte of
 * a guest-supplied name that is not printable ASCII, so a hostile module
 * cannot write terminal control sequences through `weft inspect`.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "weft/weft.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("weft: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_usage_hint(const char *cmd)
{
    fprintf(stderr, "weft: see 'weft %s%s--help' for usage\n", cmd ? cmd : "", cmd ? " " : "");
}

int cli_read_file(const char *path, uint8_t **out, size_t *out_len)
{
    int from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return -1;
    /* Grow as we go rather than trusting fseek/ftell: works on pipes too. */
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        goto fail;
    for (;;) {
        if (len == cap) {
            uint8_t *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!bigger) {
                errno = ENOMEM;
                goto fail;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                if (errno == 0)
                    errno = EIO;
                goto fail;
            }
            break;
        }
    }
    if (!from_stdin)
        fclose(f);
    *out = buf;
    *out_len = len;
    return 0;

fail: {
    int saved = errno;
    free(buf);
    if (!from_stdin)
        fclose(f);
    errno = saved;
    return -1;
}
}

int cli_is_wat(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    /* "(module", "(func" and the like, or a comment: ";;" or "(;". A binary
     * module starts with "\0asm", so the two cannot be confused. */
    return i < len && (p[i] == '(' || (p[i] == ';' && i + 1 < len && p[i + 1] == ';'));
}

void cli_wat_error(const char *path)
{
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
    const char *src = strcmp(path, "-") == 0 ? "FILE.wat" : path;
    size_t n = strlen(src);
    if (n > 4 && strcmp(src + n - 4, ".wat") == 0)
        n -= 4;
    cli_error("%s is WebAssembly text format (.wat); weft runs binary modules: convert it with "
              "`wat2wasm %s -o %.*s.wasm` (Debian package wabt)",
              name, src, (int)n, src);
}

/* Splits "[-](0x<hex>|<dec>)" into sign and magnitude. Returns 0 or -1. */
static int parse_magnitude(const char *s, int *out_neg, uint64_t *out_mag)
{
    int neg = 0, base = 10;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    /* strtoull would accept blanks and a second sign here: refuse them. */
    if (base == 16 ? !isxdigit((unsigned char)*s) : !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno == ERANGE || *end != '\0')
        return -1;
    *out_neg = neg;
    *out_mag = v;
    return 0;
}

int cli_parse_i32(const char *s, int32_t *out)
{
    int neg;
    uint64_t mag;
    if (parse_magnitude(s, &neg, &mag) != 0)
        return -1;
    if (neg) {
        if (mag > (uint64_t)INT32_MAX + 1)
            return -1;
        *out = (int32_t)(uint32_t)(0u - (uint32_t)mag);
    } else {
        if (mag > UINT32_MAX)
            return -1;
        *out = (int32_t)(uint32_t)mag;
    }
    return 0;
}

int cli_parse_i64(const char *s, int64_t *out)
{
    int neg;
    uint64_t mag;
    if (parse_magnitude(s, &neg, &mag) != 0)
        return -1;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = (int64_t)(0u - mag);
    } else {
        *out = (int64_t)mag;
    }
    return 0;
}

int cli_parse_f32(const char *s, float *out)
{
    if (*s == '\0' || isspace((unsigned char)*s))
        return -1;
    char *end;
    float v = strtof(s, &end);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

int cli_parse_f64(const char *s, double *out)
{
    if (*s == '\0' || isspace((unsigned char)*s))
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* The v128 shapes an argument may name, as the text format spells them. */
static const struct {
    const char *name;
    unsigned lanes, bytes; /* lane count and width */
    char kind;             /* 'i' or 'f' */
} v128_shapes[] = {
    {"i8x16", 16, 1, 'i'}, {"i16x8", 8, 2, 'i'}, {"i32x4", 4, 4, 'i'},
    {"i64x2", 2, 8, 'i'},  {"f32x4", 4, 4, 'f'}, {"f64x2", 2, 8, 'f'},
};

/* One lane of a v128 argument into its `bytes` bytes at out. An integer
 * lane takes -2^(w-1) .. 2^w-1 (a negative one as its two's complement). */
static int parse_v128_lane(const char *s, unsigned bytes, char kind, uint8_t *out)
{
    if (kind == 'f') {
        float f;
        double d;
        if (bytes == 4 ? cli_parse_f32(s, &f) : cli_parse_f64(s, &d))
            return -1;
        memcpy(out, bytes == 4 ? (void *)&f : (void *)&d, bytes);
        return 0;
    }
    int neg;
    uint64_t mag;
    if (parse_magnitude(s, &neg, &mag) != 0)
        return -1;
    unsigned bits = bytes * 8;
    uint64_t max = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
    if (neg ? mag > (max >> 1) + 1 : mag > max)
        return -1;
    uint64_t v = neg ? 0u - mag : mag;
    memcpy(out, &v, bytes); /* little-endian: the low bytes */
    return 0;
}

int cli_parse_v128(const char *s, uint8_t out[16])
{
    uint8_t v[16];
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) { /* 16 bytes in memory order */
        s += 2;
        if (strlen(s) != 32)
            return -1;
        for (unsigned i = 0; i < 16; i++) {
            char pair[3] = {s[2 * i], s[2 * i + 1], 0};
            if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1]))
                return -1;
            v[i] = (uint8_t)strtoul(pair, NULL, 16);
        }
        memcpy(out, v, 16);
        return 0;
    }
    for (size_t k = 0; k < sizeof v128_shapes / sizeof v128_shapes[0]; k++) {
        size_t n = strlen(v128_shapes[k].name);
        if (strncmp(s, v128_shapes[k].name, n) != 0 || (s[n] != ':' && s[n] != ' '))
            continue;
        /* lanes separated by ',' or blanks (as weft run prints a result) */
        const char *p = s + n + 1;
        for (unsigned i = 0; i < v128_shapes[k].lanes; i++) {
            while (*p == ' ')
                p++;
            if (i > 0 && *p == ',')
                p++;
            while (*p == ' ')
                p++;
            char lane[64];
            size_t len = strcspn(p, ", ");
            if (len == 0 || len >= sizeof lane)
                return -1;
            memcpy(lane, p, len);
            lane[len] = '\0';
            if (parse_v128_lane(lane, v128_shapes[k].bytes, v128_shapes[k].kind,
                                v + i * v128_shapes[k].bytes) != 0)
                return -1;
            p += len;
        }
        while (*p == ' ')
            p++;
        if (*p != '\0') /* too many lanes, or a trailing ',' */
            return -1;
        memcpy(out, v, 16);
        return 0;
    }
    return -1;
}

int cli_parse_size(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -1;
    }
    if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int cli_parse_duration(const char *s, uint64_t *out_ns)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {
        {"", 1000000000u}, {"ns", 1},           {"us", 1000},           {"ms", 1000000},
        {"s", 1000000000u}, {"m", 60000000000u}, {"h", 3600000000000u},
    };
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        if (v > UINT64_MAX / units[i].ns)
            return -1;
        *out_ns = (uint64_t)v * units[i].ns;
        return 0;
    }
    return -1;
}

void cli_print_name(FILE *out, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
            fputc(c, out);
        else
            fprintf(out, "\\%02x", c);
    }
}

static void print_types(FILE *out, const weft_functype_t *ft, int results)
{
    size_t n = results ? weft_functype_nresults(ft) : weft_functype_nparams(ft);
    if (results && n == 1) {
        fputs(weft_valtype_name(weft_functype_result(ft, 0)), out);
        return;
    }
    fputc('(', out);
    for (size_t i = 0; i < n; i++) {
        weft_valtype_t t = results ? weft_functype_result(ft, i) : weft_functype_param(ft, i);
        fprintf(out, "%s%s", i ? ", " : "", weft_valtype_name(t));
    }
    fputc(')', out);
}

void cli_print_functype(FILE *out, const weft_functype_t *ft)
{
    print_types(out, ft, 0);
    fputs(" -> ", out);
    print_types(out, ft, 1);
}

void cli_print_val(FILE *out, const weft_val_t *v)
{
    switch (v->type) {
    case WEFT_I32: fprintf(out, "%" PRId32, v->of.i32); break;
    case WEFT_I64: fprintf(out, "%" PRId64, v->of.i64); break;
    case WEFT_F32: fprintf(out, "%.9g", (double)weft_val_get_f32(v)); break;
    case WEFT_F64: fprintf(out, "%.17g", weft_val_get_f64(v)); break;
    case WEFT_FUNCREF: fputs(v->of.func ? "funcref" : "null", out); break;
    case WEFT_EXTERNREF: fputs(v->of.ref ? "externref" : "null", out); break;
    case WEFT_V128: { /* as the text format writes it: i32x4 and four lanes */
        uint32_t l[4];
        memcpy(l, v->of.v128, 16);
        fprintf(out, "i32x4 0x%08" PRIx32 " 0x%08" PRIx32 " 0x%08" PRIx32 " 0x%08" PRIx32, l[0], l[1], l[2], l[3]);
        break;
    }
    default: fprintf(out, "<%s>", weft_valtype_name(v->type)); break;
    }
}

/* The last component of path ("a/b.wasm/" -> "b.wasm/" minus slashes). */
const char *cli_file_name(const char *path)
{
    const char *end = path + strlen(path);
    while (end > path + 1 && end[-1] == '/')
        end--;
    const char *p = end;
    while (p > path && p[-1] != '/')
        p--;
    return p;
}

void cli_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *cli_data_dir(const char *given)
{
    const char *v;
    char buf[4096];
    if (given)
        return strdup(given);
    if ((v = getenv("WEFT_DATA_DIR")) && *v)
        return strdup(v);
    if ((v = getenv("XDG_DATA_HOME")) && *v) {
        snprintf(buf, sizeof buf, "%s/weft", v);
        return strdup(buf);
    }
    if ((v = getenv("HOME")) && *v) {
        snprintf(buf, sizeof buf, "%s/.local/share/weft", v);
        return strdup(buf);
    }
    return NULL;
}

/* indexed by WEFT_TIER_* */
static const char *const tier_names[] = {"interp", "jit", "auto"};

const char *cli_tier_name(int tier)
{
    return tier >= 0 && tier < (int)(sizeof tier_names / sizeof *tier_names) ? tier_names[tier] : "?";
}

int cli_default_tier(void)
{
    return weft_tier_available(WEFT_TIER_AUTO) ? WEFT_TIER_AUTO : WEFT_TIER_INTERP;
}

int cli_parse_tier(const char *s)
{
    int tier = -1;
    for (int t = 0; t < (int)(sizeof tier_names / sizeof *tier_names); t++)
        if (strcmp(s, tier_names[t]) == 0)
            tier = t;
    if (tier > 0 && !weft_tier_available(tier))
        cli_error("tier %s: the compiled tier is unavailable here (x86-64 Linux only); "
                  "running interpreted", s);
    return tier;
}
