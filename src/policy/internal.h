/* Internal interface of the policy engine, shared by its source files.
 *
 * engine.c    kvg_policy_decide(): exclusions, cluster-state check, dispatch
 *             by kind to the per-kind deciders below; kvg_ctx_rule().
 * rules.c     the rule table (ids, names, defaults) and kvg_rule_find().
 * storage.c   SPEC §4: snapshot support of a volume, capability table lookup.
 * power.c     SPEC §5: power state of a VM.
 * snapshot.c  VirtualMachineSnapshot rules and mutation.
 * restore.c   VirtualMachineRestore rules and mutation.
 * clone.c     VirtualMachineClone rules, strategy and mutation.
 * clone_render.c  SPEC §6: the pure clone -> target VM rendering.
 * datavolume.c    DataVolume clone rules and mutation.
 * patch.c     JSONPatch building (RFC 6902, paths escaped per RFC 6901). */
#ifndef KVG_POLICY_INTERNAL_H
#define KVG_POLICY_INTERNAL_H

#include <stdbool.h>

#include "kvguard/json.h"
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
} kvg_ctx;

/* Record the outcome of one rule and apply its action in force:
 *   FAIL    + enforce -> deny (first denial's message wins, 403 Forbidden
 *             unless the rule set a 422 via kvg_ctx_invalid);
 *   FAIL    + warn    -> admission warning (truncated to < 120 chars);
 *   FAIL    + audit   -> recorded only;
 *   UNKNOWN           -> treated as FAIL by rules that refuse data loss, as
 *                        a warning otherwise: the caller decides which by
 *                        passing FAIL or UNKNOWN plus `deny_on_unknown`.
 * The message is printf-formatted and says what, which object, and the remedy.
 * Returns the action in force (OFF means the rule should not even run;
 * call kvg_ctx_enabled first for expensive checks). */
kvg_action kvg_ctx_rule(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Same, but UNKNOWN is handled as FAIL (data-loss rules). */
kvg_action kvg_ctx_rule_strict(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool kvg_ctx_enabled(const kvg_ctx *c, kvg_rule_id id);
/* Add a field cause (details.causes) and make a denial 422 Invalid. */
void kvg_ctx_invalid(kvg_ctx *c, const char *field, const char *message);
/* Add a plain warning (not tied to a failing rule), e.g. "will use CDI copy". */
void kvg_ctx_warn(kvg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append to the --explain text when requested. */
void kvg_ctx_explain(kvg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Patches (mutate path): append one operation. value is taken (owned). */
void kvg_ctx_patch(kvg_ctx *c, const char *op, const char *path, json_object *value);
/* An audit annotation (decision.annotations), e.g. "clone-strategy" -> "cdi". */
void kvg_ctx_annotate(kvg_ctx *c, const char *key, const char *value);

/* Per-kind deciders: validation when !c->opts->mutate, else mutation. */
void kvg_decide_snapshot(kvg_ctx *c);
void kvg_decide_restore(kvg_ctx *c);
void kvg_decide_clone(kvg_ctx *c);
void kvg_decide_datavolume(kvg_ctx *c);

#endif
