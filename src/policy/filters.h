/* KubeVirt VirtualMachineClone label/annotation filters.
 *
 * Syntax (KubeVirt's admitter): a filter may start with '!' (negation) and
 * may end with '*'; '!' anywhere else, '*' anywhere but the end, and a lone
 * "!" are refused.
 *
 * Matching (KubeVirt's clone controller, vm-target.go): "*" alone keeps
 * everything; any other filter is a Go regular expression matched anywhere
 * in the key (unanchored), so "anotherKey/" followed by a star keeps every key containing
 * "anotherKey"; negations win over inclusions; a filter list that is absent
 * keeps every key, a present but empty one keeps none; a filter that is not
 * a valid regular expression matches nothing (KubeVirt logs and moves on). */
#ifndef KVG_POLICY_FILTERS_H
#define KVG_POLICY_FILTERS_H

#include <stdbool.h>

#include "kvguard/error.h"
#include "kvguard/json.h"

/* Validate one filter list (a json array or NULL). For every problem, cb is
 * called with a KubeVirt-style message; returns the number of problems.
 * field is the KubeVirt field name ("spec.labels", "spec.template.annotations"). */
typedef void (*kvg_filter_problem_fn)(void *ud, const char *field, const char *message);
int kvg_filters_validate(const json_object *filters, const char *field,
                         kvg_filter_problem_fn cb, void *ud);

/* Does the filter list keep this key? filters NULL (absent) keeps everything. */
bool kvg_filters_keep(const json_object *filters, const char *key);

/* A filter list compiled once for many keys (each regular expression is
 * compiled once, not per key). NULL filters (absent) keep everything. */
typedef struct kvg_filter_set kvg_filter_set;
kvg_err kvg_filter_set_compile(const json_object *filters, kvg_filter_set **out);
bool kvg_filter_set_keep(const kvg_filter_set *fs, const char *key);
void kvg_filter_set_free(kvg_filter_set *fs);

/* One regular expression matched anywhere in s, with Go RE2 semantics for
 * the constructs label filters use; false when the expression is invalid. */
bool kvg_filter_regex_match(const char *re, const char *s);

#endif
