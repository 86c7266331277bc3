/*
 * tests/guests/arith.c — integer and floating-point arithmetic and printf.
 *
 * Built natively (gcc) and to wasm32-wasi (clang); tests/guests/compare.sh
 * requires identical stdout and exit status. Thousands of doubles and floats
 * from a fixed generator are printed with %f %e %g %a and round-tripped
 * through strtod, so the engine's float ops and wasi-libc's printf are
 * checked together. Only operations both libcs round exactly are used (no
 * sin/exp/pow), NaNs are printed from constants only (x86 and wasm give
 * computed NaNs different signs), and every integer type has a fixed width.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
    /* xorshift64*: a fixed sequence on every platform. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1du;
}

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static float bits_to_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static void integers(void)
{
    static const int32_t a32[] = {0, 1, -1, 7, -7, 100, -100, 12345, INT32_MAX, INT32_MIN + 1};
    static const int32_t b32[] = {1, -1, 2, -2, 3, 7, -7, 255, 65536, INT32_MAX};
    int n = (int)(sizeof a32 / sizeof a32[0]);
    uint64_t h = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            int32_t a = a32[i], b = b32[j];
            printf("%" PRId32 " %" PRId32 ": + %" PRId32 " - %" PRId32 " * %" PRId32
                   " / %" PRId32 " %% %" PRId32 " & %" PRIx32 " | %" PRIx32 " ^ %" PRIx32 "\n",
                   a, b, (int32_t)((uint32_t)a + (uint32_t)b),
                   (int32_t)((uint32_t)a - (uint32_t)b), (int32_t)((uint32_t)a * (uint32_t)b),
                   a / b, a % b, (uint32_t)(a & b), (uint32_t)(a | b), (uint32_t)(a ^ b));
        }
    }
    for (int i = 0; i < 2000; i++) {
        uint64_t x = next(), y = next() | 1;
        int64_t sx = (int64_t)x, sy = (int64_t)y;
        unsigned s = (unsigned)(y % 64);
        h = h * 31 + x / y;
        h = h * 31 + x % y;
        h = h * 31 + (uint64_t)(sy == -1 ? 0 : sx / sy);
        h = h * 31 + (uint64_t)(sy == -1 ? 0 : sx % sy);
        h = h * 31 + (x << s) + (x >> s) + (uint64_t)(sx >> s);
        h = h * 31 + ((x << s) | (x >> ((64 - s) & 63)));
        h = h * 31 + (uint64_t)__builtin_popcountll(x) + (uint64_t)__builtin_clzll(y) +
            (uint64_t)__builtin_ctzll(y);
        uint32_t x32 = (uint32_t)x, y32 = (uint32_t)y;
        h = h * 31 + x32 / y32 + x32 % y32 + (x32 >> (s & 31)) + (uint32_t)((int32_t)x32 >> (s & 31));
        h = h * 31 + (uint64_t)(int64_t)(int8_t)x + (uint64_t)(int64_t)(int16_t)x +
            (uint64_t)(int64_t)(int32_t)x;
        if (i % 250 == 0)
            printf("int64 step %d: %016" PRIx64 "\n", i, h);
    }
    printf("int64 hash %016" PRIx64 "\n", h);
}

/* One double, every way printf has. %f only for magnitudes that print in
 * a sane width (both libcs print the exact decimal expansion anyway). */
static void print_double(double d)
{
    printf("%.17g | %e | %.3e | %g | %.10g", d, d, d, d, d);
    /* Subnormals in %a: glibc writes 0x0.xxxp-1022, musl normalises. */
    if (fpclassify(d) != FP_SUBNORMAL)
        printf(" | %a | %.3a", d, d);
    if (fabs(d) < 1e20)
        printf(" | %f | %.12f", d, d);
    printf(" | %+.0f\n", fabs(d) < 1e30 ? d : 0.0);
}

static void doubles(void)
{
    static const double special[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1.0 / 3.0, 2.0 / 3.0, 0.5, 1.5, 2.5, -2.5,
        123456789.0, 1e10, 1e-10, 1e22, 1e23, 1e100, 1e-100, 1e300, 1e-300, DBL_MAX,
        DBL_MIN, DBL_EPSILON, 3.141592653589793, 2.718281828459045, 9007199254740993.0,
        0.000123456, 999999.9999995, 1e15 + 0.3, 5e-324 * 0 + 4.9406564584124654e-320,
        INFINITY, -INFINITY,
    };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        print_double(special[i]);
    printf("nan: %f %e %g %a %F\n", (double)NAN, (double)NAN, (double)NAN, (double)NAN,
           (double)NAN);
    printf("-nan: %f %g\n", -(double)NAN, -(double)NAN);
    printf("inf: %f %e %g %a %F %5.1f|\n", (double)INFINITY, (double)INFINITY,
           (double)INFINITY, (double)INFINITY, (double)-INFINITY, (double)INFINITY);

    /* Random bit patterns: every exponent, every mantissa. */
    int mismatches = 0;
    for (int i = 0; i < 1500; i++) {
        double d = bits_to_double(next());
        if (isnan(d))
            continue;
        if (i % 3 == 0)
            print_double(d);
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", d);
        if (strtod(buf, NULL) != d)
            mismatches++;
        snprintf(buf, sizeof buf, "%a", d);
        if (strtod(buf, NULL) != d)
            mismatches++;
    }
    printf("round-trip mismatches: %d\n", mismatches);

    /* Human-sized values: arithmetic, exact library functions. */
    double acc = 0, prod = 1;
    for (int i = 1; i <= 600; i++) {
        double x = (double)(int64_t)(next() % 2000001) / 1000.0 - 1000.0;
        double y = (double)(int64_t)(next() % 20001) / 100.0 + 0.01; /* after x */
        acc += x * y - x / y;
        prod *= 1.0 + x / 1e6;
        if (i % 20 == 0)
            printf("x=%.3f y=%.2f  x+y=%.17g x-y=%.17g x*y=%.17g x/y=%.17g sqrt|x|=%.17g "
                   "fmod=%.17g floor=%g ceil=%g trunc=%g round=%g rint=%g min=%g max=%g\n",
                   x, y, x + y, x - y, x * y, x / y, sqrt(fabs(x)), fmod(x, y), floor(x / y),
                   ceil(x / y), trunc(x / y), round(x / y), rint(x / y), fmin(x, y), fmax(x, y));
    }
    int e;
    double m = frexp(acc, &e), ip;
    double fp = modf(acc, &ip);
    printf("acc=%.17g prod=%.17g frexp=(%.17g, %d) ldexp=%.17g modf=(%.17g, %.17g)\n", acc, prod,
           m, e, ldexp(m, e), ip, fp);
    printf("copysign %g %g, hypot-free norm %.17g\n", copysign(3.0, -0.0), copysign(-2.0, 1.0),
           sqrt(3.0 * 3.0 + 4.0 * 4.0));

    /* Conversions between integers and doubles. */
    for (int i = 0; i < 12; i++) {
        double mant = (double)(int64_t)(next() >> 11);
        double d = ldexp(mant, -(int)(next() % 60)) - 1000.0;
        int64_t t = (int64_t)d;
        uint32_t u = (uint32_t)fabs(fmod(d, 4294967296.0));
        uint64_t big = next(); /* sequenced: argument order is unspecified */
        printf("(int64)%.17g = %" PRId64 ", (uint32)=%" PRIu32 ", (double)(uint64)%" PRIu64
               " = %.17g\n",
               d, t, u, big, (double)big);
    }
}

static void floats(void)
{
    float sum = 0, prod = 1;
    for (int i = 0; i < 800; i++) {
        float f = bits_to_float((uint32_t)next());
        if (isnan(f))
            continue;
        if (i % 8 == 0)
            printf("f32 %.9g %e %a %g\n", (double)f, (double)f, (double)f, (double)f);
        float x = (float)(int32_t)(next() % 20001) / 100.0f - 100.0f;
        sum += x * 0.5f;
        prod *= 1.0f + x / 1000.0f;
        if (i % 100 == 0)
            printf("f32 x=%.9g sum=%.9g prod=%.9g sqrt=%.9g x/3=%.9g (double)x/3=%.17g\n",
                   (double)x, (double)sum, (double)prod, (double)sqrtf(fabsf(x)),
                   (double)(x / 3.0f), (double)x / 3.0);
    }
    printf("FLT_MAX %a FLT_MIN %a FLT_EPSILON %a\n", (double)FLT_MAX, (double)FLT_MIN,
           (double)FLT_EPSILON);
}

int main(void)
{
    integers();
    doubles();
    floats();
    printf("atoi %d strtol %ld strtoll %lld strtoull %llu strtod %.17g\n", atoi("-1234"),
           (long)strtol("-0x7fff", NULL, 16), strtoll("9223372036854775807", NULL, 10),
           strtoull("18446744073709551615", NULL, 10), strtod("1e-5", NULL));
    return 0;
}
