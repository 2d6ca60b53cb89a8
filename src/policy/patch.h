/* JSONPatch (RFC 6902) building and applying, JSON pointers (RFC 6901).
 *
 * Builders append operations to a json-c array the caller owns; the mutating
 * deciders hand them to kvg_ctx_patch(). Every builder is idempotent by
 * construction: it compares with the current object and emits nothing when
 * the object already has the wanted value, so a reinvoked webhook (apiserver
 * reinvocationPolicy IfNeeded) returns an empty patch the second time.
 *
 * The applier is complete (add, remove, replace, move, copy, test) because
 * the clone rendering applies the user's spec.patches with it. */
#ifndef KVG_POLICY_PATCH_H
#define KVG_POLICY_PATCH_H

#include <stdbool.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"
#include "kvguard/json.h"

/* Append "/" + token escaped per RFC 6901 (~ -> ~0, / -> ~1). */
kvg_err kvg_jsonptr_append(kvg_buf *b, const char *token);

/* Resolve a JSON pointer ("" is the whole document). Borrowed result; NULL
 * when the pointer is malformed or does not resolve. */
json_object *kvg_jsonptr_get(const json_object *doc, const char *ptr);

/* Append {"op": op, "path": path[, "value": value]} to ops. value is taken
 * (also on error); NULL for "remove". A NULL op, path, or value of another
 * op is read as a construction that failed in the caller: KVG_ENOMEM. */
kvg_err kvg_patch_op(json_object *ops, const char *op, const char *path,
                     json_object *value);

/* Make obj[tokens...] == value with the fewest operations: when the value is
 * already there, nothing; when the leaf exists, one "replace"; when a prefix
 * of the path is missing (or null), one "add" of the missing subtree, e.g.
 * add /metadata/annotations {"k":"v"}. value is taken (NULL: KVG_ENOMEM, its
 * construction failed). tokens are unescaped object keys; a non-object on
 * the way is replaced. */
kvg_err kvg_patch_set(json_object *ops, const json_object *obj,
                      const char *const *tokens, size_t n, json_object *value);

/* kvg_patch_set for a string at metadata.annotations[key]. */
kvg_err kvg_patch_set_annotation(json_object *ops, const json_object *obj,
                                 const char *key, const char *value);

/* Check one operation object (op name, path syntax, value/from presence).
 * The diag says what is wrong. */
kvg_err kvg_patch_check_op(const json_object *op, kvg_diag *d);

/* Apply a patch (array of operations) to *doc, atomically: on error *doc is
 * untouched and d names the failing operation. *doc may be replaced (a patch
 * on the root path). The caller owns *doc before and after. */
kvg_err kvg_patch_apply(json_object **doc, const json_object *ops, kvg_diag *d);

#endif
