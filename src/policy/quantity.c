/* Kubernetes resource quantity parsing (see quantity.h for the grammar). */
#include "policy/quantity.h"

#include <string.h>

#define LIMIT_EXP10 35 /* |value| < 10^35 units */
#define MANT_DIGITS 20

static __int128 pow10i(int n)
{
    __int128 v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

/* Binary (Ki..Ei) or decimal (m..E) suffix: multiplier as 2^bin * 10^dec. */
static bool suffix_scale(const char *s, int *bin, int *dec)
{
    static const struct {
        const char *s;
        int bin, dec;
    } T[] = {
        {"", 0, 0},   {"m", 0, -3}, {"k", 0, 3},   {"M", 0, 6},   {"G", 0, 9},
        {"T", 0, 12}, {"P", 0, 15}, {"E", 0, 18},  {"Ki", 10, 0}, {"Mi", 20, 0},
        {"Gi", 30, 0}, {"Ti", 40, 0}, {"Pi", 50, 0}, {"Ei", 60, 0},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(s, T[i].s)) {
            *bin = T[i].bin;
            *dec = T[i].dec;
            return true;
        }
    return false;
}

/* "e5", "E-3", "e+2": a decimal exponent (but a lone "E" is exa). */
static bool exponent_suffix(const char *s, int *dec)
{
    if ((s[0] != 'e' && s[0] != 'E') || !s[1])
        return false;
    const char *p = s + 1;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!*p)
        return false;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v < 100000)
            v = v * 10 + (*p - '0');
    }
    *dec = (int)(sign * v);
    return true;
}

kvg_err kvg_quantity_parse(const char *s, kvg_quantity *out, kvg_diag *d)
{
    if (!s || !*s)
        return kvg_diag_set(d, KVG_EPARSE, "empty quantity");
    const char *p = s;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    /* Up to MANT_DIGITS significant digits form an integer mantissa with a
     * power of ten; further digits only shift the exponent (before the dot)
     * or make the value round up (after the dot, when non-zero). */
    __int128 mant = 0;
    int exp10 = 0, ndigits = 0, sig = 0;
    bool dot = false, tail_nonzero = false;
    for (; (*p >= '0' && *p <= '9') || (*p == '.' && !dot); p++) {
        if (*p == '.') {
            dot = true;
            continue;
        }
        ndigits++;
        if (sig < MANT_DIGITS) {
            mant = mant * 10 + (*p - '0');
            sig += mant != 0;
            exp10 -= dot;
        } else if (!dot) {
            exp10++;
            tail_nonzero |= *p != '0';
        } else {
            tail_nonzero |= *p != '0';
        }
    }
    if (!ndigits)
        return kvg_diag_set(d, KVG_EPARSE, "quantity '%s': expected a number", s);
    int bin = 0, dec = 0;
    if (!suffix_scale(p, &bin, &dec) && !exponent_suffix(p, &dec))
        return kvg_diag_set(d, KVG_EPARSE,
                            "quantity '%s': unknown suffix '%s' (want Ki Mi Gi Ti Pi Ei, "
                            "m k M G T P E, or e<n>)", s, p);
    if (mant == 0) {
        out->milli = 0;
        return KVG_OK;
    }
    exp10 += dec + 3; /* milli units */
    /* value < 10^(sig + exp10) * 2^bin; refuse before anything overflows */
    if (sig + exp10 + (bin * 30103 + 99999) / 100000 > LIMIT_EXP10 + 3)
        return kvg_diag_set(d, KVG_ETOOBIG, "quantity '%s' is too large", s);
    __int128 v = mant << bin;
    bool lost = tail_nonzero;
    if (exp10 >= 0) {
        v *= pow10i(exp10);
    } else {
        for (int i = exp10; i < 0 && v; i++) {
            lost |= v % 10 != 0;
            v /= 10;
        }
    }
    if (lost && sign > 0)
        v += 1; /* round towards +inf, as Kubernetes does below 1m */
    out->milli = sign * v;
    return KVG_OK;
}

int kvg_quantity_cmp(const kvg_quantity *a, const kvg_quantity *b)
{
    return a->milli < b->milli ? -1 : a->milli > b->milli;
}

int64_t kvg_quantity_value(const kvg_quantity *q)
{
    __int128 v = q->milli / 1000;
    if (q->milli % 1000 > 0)
        v++;
    if (v > INT64_MAX)
        return INT64_MAX;
    if (v < INT64_MIN)
        return INT64_MIN;
    return (int64_t)v;
}
