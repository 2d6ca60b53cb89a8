/* kvguard: the policy engine.
 *
 * Pure: a decoded admission request and a read-only cluster view in, a
 * decision out. No I/O, no globals, no clock. The server, `kvguard review`,
 * `kvguard audit`, the reconciler and the tests all call kvg_policy_decide(). */
#ifndef KVGUARD_POLICY_H
#define KVGUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"
#include "kvguard/view.h"

typedef enum kvg_action {
    KVG_ACTION_DEFAULT = -1, /* only in config overrides: keep the rule's default */
    KVG_ACTION_OFF = 0,
    KVG_ACTION_AUDIT,   /* allow, record only */
    KVG_ACTION_WARN,    /* allow with an admission warning */
    KVG_ACTION_ENFORCE, /* deny */
} kvg_action;

kvg_err kvg_action_parse(const char *s, kvg_action *out);
const char *kvg_action_name(kvg_action a);

typedef enum kvg_operation {
    KVG_OP_CREATE,
    KVG_OP_UPDATE,
    KVG_OP_DELETE,
    KVG_OP_CONNECT,
} kvg_operation;

const char *kvg_operation_name(kvg_operation op);

/* One AdmissionRequest, decoded. Every pointer is borrowed from the decoded
 * review and lives as long as it. */
typedef struct kvg_request {
    const char *uid;
    const char *group, *version, *kind; /* request.kind */
    const char *resource, *sub_resource;
    const char *namespace_, *name; /* name may be "" (generateName) */
    kvg_operation operation;
    const char *username;
    const json_object *groups; /* array of strings or NULL */
    bool dry_run;
    const json_object *object;     /* request.object or NULL */
    const json_object *old_object; /* request.oldObject or NULL */
} kvg_request;

/* ---- rules ---------------------------------------------------------------- */

typedef enum kvg_rule_id {
    /* VirtualMachineSnapshot */
    KVG_RULE_SNAPSHOT_SOURCE_REF,
    KVG_RULE_SNAPSHOT_SOURCE_EXISTS,
    KVG_RULE_SNAPSHOT_VOLUME_SUPPORT,
    KVG_RULE_SNAPSHOT_VM_BUSY,
    KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY,
    KVG_RULE_SNAPSHOT_BACKEND_STORAGE,
    KVG_RULE_SNAPSHOT_IMMUTABLE,
    /* VirtualMachineRestore */
    KVG_RULE_RESTORE_TARGET_REF,
    KVG_RULE_RESTORE_SNAPSHOT_READY,
    KVG_RULE_RESTORE_TARGET_POWERED_OFF,
    KVG_RULE_RESTORE_TARGET_IDENTITY,
    KVG_RULE_RESTORE_STORAGE_RESTORABLE,
    KVG_RULE_RESTORE_IN_PROGRESS,
    KVG_RULE_RESTORE_IMMUTABLE,
    /* VirtualMachineClone */
    KVG_RULE_CLONE_SPEC,
    KVG_RULE_CLONE_SOURCE_EXISTS,
    KVG_RULE_CLONE_TARGET_FREE,
    KVG_RULE_CLONE_STRATEGY,
    KVG_RULE_CLONE_FALLBACK_SOURCE_STOPPED,
    KVG_RULE_CLONE_FALLBACK_DISABLED,
    /* DataVolume */
    KVG_RULE_DATAVOLUME_CLONE_SOURCE,
    KVG_RULE_DATAVOLUME_CLONE_SIZE,
    KVG_RULE_DATAVOLUME_CLONE_CONTENT,
    KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE,
    KVG_RULE_DATAVOLUME_CLONE_SOURCE_IN_USE,
    KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE,
    /* not a rule of SPEC §3 table, but reported like one */
    KVG_RULE_CLUSTER_STATE, /* onClusterStateUnavailable */
    KVG_RULE_COUNT
} kvg_rule_id;

typedef struct kvg_rule_info {
    kvg_rule_id id;
    const char *name;        /* "snapshot-volume-support" */
    const char *object_kind; /* "VirtualMachineSnapshot" */
    bool needs_lookup;       /* L in the spec */
    kvg_action default_action;
    const char *summary;     /* one line, for docs and --explain */
} kvg_rule_info;

const kvg_rule_info *kvg_rule_info_get(kvg_rule_id id);
kvg_err kvg_rule_find(const char *name, kvg_rule_id *out);

/* ---- capabilities (SPEC §4) ------------------------------------------------ */

typedef enum kvg_tristate { KVG_UNKNOWN = -1, KVG_NO = 0, KVG_YES = 1 } kvg_tristate;

typedef struct kvg_capability {
    const char *provisioner; /* or StorageClass name, see kvg_policy_config */
    kvg_tristate snapshot, restore, clone, online_snapshot;
} kvg_capability;

/* Built-in table seeded from shared/reference/storage-capabilities.yaml.
 * NULL-terminated by provisioner == NULL. */
const kvg_capability *kvg_capability_builtin(void);

/* ---- configuration of the engine ------------------------------------------ */

typedef enum kvg_on_unavailable {
    KVG_UNAVAILABLE_DENY = 0,
    KVG_UNAVAILABLE_ALLOW,
} kvg_on_unavailable;

typedef struct kvg_policy_config {
    kvg_action actions[KVG_RULE_COUNT]; /* KVG_ACTION_DEFAULT = rule default */
    char **excluded_namespaces;         /* NULL-terminated or NULL */
    kvg_capability *provisioner_overrides; size_t n_provisioner_overrides;
    kvg_capability *storageclass_overrides; size_t n_storageclass_overrides;
    kvg_on_unavailable on_unavailable;
    bool clone_fallback_enabled; /* default true */
} kvg_policy_config;

/* Defaults: every action DEFAULT, no exclusions, deny when unavailable,
 * fallback enabled. Does not allocate. */
void kvg_policy_config_init(kvg_policy_config *c);
/* Frees what kvg_config_load() allocated inside c. */
void kvg_policy_config_free(kvg_policy_config *c);
/* The action in force for a rule after overrides. */
kvg_action kvg_policy_action(const kvg_policy_config *c, kvg_rule_id id);

/* ---- decision ------------------------------------------------------------- */

typedef enum kvg_outcome {
    KVG_OUTCOME_PASS,    /* checked and fine */
    KVG_OUTCOME_FAIL,    /* checked and violated */
    KVG_OUTCOME_UNKNOWN, /* could not be verified (missing facts) */
    KVG_OUTCOME_SKIP,    /* not applicable, or action off */
} kvg_outcome;

const char *kvg_outcome_name(kvg_outcome o);

typedef struct kvg_rule_result {
    kvg_rule_id rule;
    kvg_action action;  /* the action in force */
    kvg_outcome outcome;
    char *message;      /* owned; NULL on PASS/SKIP unless explaining */
} kvg_rule_result;

typedef struct kvg_decision {
    bool allowed;
    int code;           /* HTTP-style status code for status.code: 200, 403, 422 */
    char *reason;       /* "Forbidden", "Invalid", ... (owned, may be NULL) */
    char *message;      /* denial message (owned, may be NULL) */
    char **warnings;    /* owned, n_warnings entries, each < 120 chars */
    size_t n_warnings;
    json_object *causes;  /* details.causes array for 422, or NULL (owned) */
    json_object *patch;   /* JSONPatch array (mutate path) or NULL (owned) */
    kvg_rule_result *results; /* every rule evaluated, in order (owned) */
    size_t n_results;
    json_object *annotations; /* audit annotations, e.g. clone strategy (owned) */
    kvg_buf explain;      /* human explanation when requested */
} kvg_decision;

void kvg_decision_init(kvg_decision *d);
void kvg_decision_free(kvg_decision *d);

typedef struct kvg_decide_opts {
    bool mutate;  /* run the mutating path (patches) instead of validation */
    bool explain; /* fill decision.explain and keep PASS messages */
} kvg_decide_opts;

/* The one entry point. Never fails on bad objects (those become denials);
 * returns an error only for KVG_ENOMEM or KVG_EINVAL (NULL arguments). */
kvg_err kvg_policy_decide(const kvg_policy_config *cfg, const kvg_view *view,
                          const kvg_request *req, const kvg_decide_opts *opts,
                          kvg_decision *out);

/* Does kvguard handle this group/kind at all (webhook routing, tests)? */
bool kvg_policy_handles(const char *group, const char *kind);

#endif
