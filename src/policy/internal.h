/* Internal interface of the policy engine, shared by its source files.
 *
 * engine.c    kvg_policy_decide(): exclusions, cluster-state check, dispatch
 *             by kind to the per-kind deciders below; kvg_ctx_*().
 * rules.c     the rule table (ids, names, defaults) and kvg_rule_find().
 * storage.c   SPEC §4: snapshot support of a volume, capability table lookup
 *             (declarations in storage.h).
 * power.c     SPEC §5: power state of a VM.
 * snapshot.c  VirtualMachineSnapshot rules and mutation.
 * restore.c   VirtualMachineRestore rules and mutation.
 * clone.c     VirtualMachineClone rules, strategy and mutation.
 * clone_render.c  SPEC §6: the pure clone -> target VM rendering.
 * datavolume.c    DataVolume clone rules and mutation.
 * patch.c     JSONPatch building (RFC 6902, paths escaped per RFC 6901).
 *
 * How a decider is written (see snapshot.c for a complete one):
 *
 *     if (kvg_ctx_should_run(c, KVG_RULE_X)) {     // records SKIP when off
 *         ...look things up in c->view...
 *         kvg_ctx_explain(c, "  input: ...");     // optional detail lines
 *         kvg_ctx_invalid(c, "spec.x", "bad");     // optional, field errors
 *         kvg_ctx_rule(c, KVG_RULE_X, KVG_OUTCOME_FAIL, "what, which, remedy");
 *     }
 *
 * Every rule that runs calls kvg_ctx_rule (or _strict) exactly once. The
 * engine applies the action in force, builds the denial/warnings, keeps one
 * result per rule in decision.results and writes the --explain text. */
#ifndef KVG_POLICY_INTERNAL_H
#define KVG_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "kvguard/json.h"
#include "kvguard/kubevirt.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"

/* Everything one decision needs; lives on the stack of kvg_policy_decide. */
typedef struct kvg_ctx {
    const kvg_policy_config *cfg;
    const kvg_view *view;
    const kvg_request *req;
    const kvg_decide_opts *opts;
    kvg_decision *out;
    kvg_err err; /* first ENOMEM seen; the decision is then abandoned */

    /* engine private: use the functions below, not these fields */
    bool lookups;            /* false: cluster view unusable, L rules skip */
    bool denied;             /* an enforced failure has been recorded */
    json_object *pending;    /* causes of the rule being evaluated */
    size_t cap_results, cap_warnings;
} kvg_ctx;

/* Record the outcome of one rule and apply its action in force:
 *   FAIL    + enforce -> deny (first denial's message wins, 403 Forbidden
 *             unless the rule set a 422 via kvg_ctx_invalid);
 *   FAIL    + warn    -> admission warning (truncated to < 120 chars);
 *   FAIL    + audit   -> recorded only (and an audit annotation);
 *   UNKNOWN           -> treated as FAIL by rules that refuse data loss, as
 *                        a warning otherwise: kvg_ctx_rule_strict for the
 *                        first, kvg_ctx_rule for the second (UNKNOWN with an
 *                        enforce action then warns instead of denying).
 * The message is printf-formatted and says what, which object, and the remedy.
 * The denial message and warnings are prefixed with the rule name.
 * Returns the action in force (OFF means the rule should not even run;
 * call kvg_ctx_should_run first). */
kvg_action kvg_ctx_rule(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Same, but UNKNOWN is handled as FAIL (data-loss rules). */
kvg_action kvg_ctx_rule_strict(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The rule's action is not OFF and, for rules marked L, the cluster view can
 * be used (it is synced, or onClusterStateUnavailable: allow skips them). */
bool kvg_ctx_enabled(const kvg_ctx *c, kvg_rule_id id);
/* kvg_ctx_enabled, and when false records the rule as SKIP (with the reason:
 * "off" or "cluster state unavailable") so that it appears in the results. */
bool kvg_ctx_should_run(kvg_ctx *c, kvg_rule_id id);
/* Record a rule as SKIP (not applicable), e.g. "not a CREATE". */
void kvg_ctx_skip(kvg_ctx *c, kvg_rule_id id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Add a field cause (details.causes) and make a denial 422 Invalid. Call it
 * before kvg_ctx_rule of the same rule: the causes are used only when that
 * rule's failure is the (first) enforced denial, dropped otherwise. */
void kvg_ctx_invalid(kvg_ctx *c, const char *field, const char *message);
/* Same with an explicit metav1.CauseType ("FieldValueNotFound",
 * "FieldValueRequired", "FieldValueInvalid", ...). */
void kvg_ctx_cause(kvg_ctx *c, const char *type, const char *field,
                   const char *message);
/* Add a plain warning (not tied to a failing rule), e.g. "will use CDI copy".
 * Deduplicated, truncated to < 120 chars. */
void kvg_ctx_warn(kvg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append one line to the --explain text when requested (newline added). */
void kvg_ctx_explain(kvg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Patches (mutate path): append one operation. value is taken (owned), NULL
 * for "remove". The path must already be escaped (RFC 6901, see patch.h). */
void kvg_ctx_patch(kvg_ctx *c, const char *op, const char *path, json_object *value);
/* Append the operations a mutation built into ops (kvg_patch_set and
 * friends of patch.h); built is what building them returned: on an error
 * (KVG_ENOMEM) the decision is abandoned, never answered with part of the
 * patch. ops stays the caller's. */
void kvg_ctx_patch_ops(kvg_ctx *c, kvg_err built, const json_object *ops);
/* Patch so that metadata.annotations[key] == value on the request object
 * (kvg_patch_set_annotation of patch.h): nothing when it already is
 * (idempotent under reinvocation), "add /metadata/annotations" with a new map
 * when there is none, "add .../<key escaped>" when the key is missing,
 * "replace" when it differs. */
void kvg_ctx_patch_annotation(kvg_ctx *c, const char *key, const char *value);
/* An audit annotation (decision.annotations), e.g. "clone-strategy" -> "cdi". */
void kvg_ctx_annotate(kvg_ctx *c, const char *key, const char *value);
/* "namespace/name" of the request object, for messages (generateName gives
 * "namespace/prefix*"). Written into buf, which is returned. */
const char *kvg_ctx_objname(const kvg_ctx *c, char *buf, size_t len);

/* ---- malformed input ------------------------------------------------------ */

typedef enum kvg_field_state {
    KVG_FIELD_MISSING = 0, /* absent (or null) somewhere along the path */
    KVG_FIELD_OK,          /* present with the wanted type (*out set) */
    KVG_FIELD_WRONG_TYPE,  /* the value, or an object on the way, has another type */
} kvg_field_state;

/* Look up a dotted path ("spec.source.name") under root and check the type
 * of the value. `bad` (optional, >= 128 bytes) receives the dotted prefix
 * that has the wrong type, e.g. "spec.source" when source is a string. */
kvg_field_state kvg_field_get(const json_object *root, const char *dotted,
                              json_type want, json_object **out, char *bad,
                              size_t bad_len);
/* "string", "object", "array", ... */
const char *kvg_json_type_name(json_type t);

/* KubeVirt's limit on list lengths in a VM spec (arrayLenMax in virt-api). */
#define KVG_MAX_LIST 256

/* The *-immutable rules: on UPDATE, spec must equal oldObject's spec
 * (KubeVirt's "spec in immutable after creation", 422 on field spec). */
void kvg_ctx_immutable(kvg_ctx *c, kvg_rule_id id);

/* Per-kind deciders: validation when !c->opts->mutate, else mutation. */
void kvg_decide_snapshot(kvg_ctx *c);
void kvg_decide_restore(kvg_ctx *c);
void kvg_decide_clone(kvg_ctx *c);
void kvg_decide_datavolume(kvg_ctx *c);

#endif
