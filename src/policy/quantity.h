/* Kubernetes resource quantities ("10Gi", "1.5G", "500M", "1e3", "100m").
 *
 * Grammar (k8s.io/apimachinery resource.Quantity):
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits "." | digits "." digits | "." digits
 *   suffix   ::= "" | m | k | M | G | T | P | E          (decimal SI)
 *              | Ki | Mi | Gi | Ti | Pi | Ei             (binary SI)
 *              | (e|E) [+-] digits                       (decimal exponent)
 * Values are kept in thousandths (milli units) as a 128-bit integer, exact
 * to 20 significant digits and rounded up beyond (as Kubernetes rounds
 * values below 1m up); values up to 10^35 fit, larger ones are refused. */
#ifndef KVG_POLICY_QUANTITY_H
#define KVG_POLICY_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "kvguard/error.h"

typedef struct kvg_quantity {
    __int128 milli; /* value * 1000, rounded up (towards +inf) */
} kvg_quantity;

/* Parse a quantity. Errors: KVG_EPARSE (syntax, with the reason in d),
 * KVG_ETOOBIG (beyond 10^35). */
kvg_err kvg_quantity_parse(const char *s, kvg_quantity *out, kvg_diag *d);
/* -1, 0, 1 as a <, ==, > b. */
int kvg_quantity_cmp(const kvg_quantity *a, const kvg_quantity *b);
/* Whole units, rounded up like Quantity.Value(); saturates at INT64_MAX. */
int64_t kvg_quantity_value(const kvg_quantity *q);

#endif
