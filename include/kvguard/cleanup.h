/* kvguard: restore cleanup planning (SPEC §7), pure.
 *
 * Given the cluster view and one VirtualMachineRestore, decide what may be
 * done with the claims the restore left behind. The reconciler carries the
 * plan out (and records progress on the restore); the planner never does I/O,
 * so every safety decision is unit-tested here.
 *
 * Invariant: a claim is only ever planned for deletion when the view proves
 * it unused: no VM spec or template references it, no live DataVolume owner
 * keeps it, no non-terminated pod mounts it, and every claim of the restored
 * VM is Bound (a Pending clone still needs its origin). */
#ifndef KVGUARD_CLEANUP_H
#define KVGUARD_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "kvguard/error.h"
#include "kvguard/view.h"

/* Annotations the webhook and the reconciler write on a VirtualMachineRestore. */
#define KVG_ANN_PRE_RESTORE_CLAIMS "kvguard.io/pre-restore-claims"
#define KVG_ANN_CLEANUP_PHASE "kvguard.io/cleanup-phase"
#define KVG_ANN_CLEANUP_STATE "kvguard.io/cleanup-state"

typedef enum kvg_cleanup_gate {
    KVG_GATE_NOT_COMPLETE, /* the restore has not finished: nothing to do */
    KVG_GATE_DONE,         /* cleaned before (phase annotation Done) */
    KVG_GATE_NO_TARGET,    /* the target VM is gone: keep everything */
    KVG_GATE_WAIT_BOUND,   /* some restored claim is not Bound yet */
    KVG_GATE_START_VM,     /* claims wait for a first consumer: start the VM */
    KVG_GATE_PROCEED,      /* every restored claim is Bound: act on claims */
    KVG_GATE_UNKNOWN_CLAIMS, /* cannot tell which claims were replaced */
} kvg_cleanup_gate;

typedef enum kvg_claim_verdict {
    KVG_CLAIM_GONE,        /* already deleted */
    KVG_CLAIM_IN_USE,      /* keep: reason says who uses it */
    KVG_CLAIM_UNPROVABLE,  /* keep: the view cannot prove it is unused */
    KVG_CLAIM_DELETE,      /* delete it (no ZFS snapshot to roll back to) */
    KVG_CLAIM_ROLLBACK,    /* roll its dataset back, then delete it */
} kvg_claim_verdict;

typedef struct kvg_rollback {
    char *pv;        /* PersistentVolume name (label value on ZFSSnapshots) */
    char *dataset;   /* ZFSVolume name: the dataset under the pool */
    char *pool;      /* ZFSVolume spec.poolName */
    char *node;      /* ZFSVolume spec.ownerNodeID */
    char *snapshot;  /* newest ZFSSnapshot name */
    char *zfs_namespace; /* where the ZFSVolume lives (OpenEBS namespace) */
} kvg_rollback;

typedef struct kvg_claim_plan {
    char *claim;          /* PVC name (in the restore's namespace) */
    char *uid;            /* PVC uid, for the delete precondition */
    kvg_claim_verdict verdict;
    /* When the PVC is owned by a DataVolume nobody uses, the DataVolume is
     * deleted instead (CDI would otherwise re-create the claim). */
    char *delete_kind;    /* "PersistentVolumeClaim" or "DataVolume" */
    char *delete_name, *delete_uid;
    kvg_rollback rollback; /* for KVG_CLAIM_ROLLBACK */
    char *reason;          /* human explanation of the verdict */
} kvg_claim_plan;

typedef struct kvg_cleanup_plan {
    kvg_cleanup_gate gate;
    char *reason;          /* why this gate: names the pending claims, etc. */
    char *vm;              /* target VM name */
    kvg_claim_plan *claims;
    size_t n_claims;
    bool old_claims_from_annotation; /* else from the snapshot content */
} kvg_cleanup_plan;

typedef struct kvg_cleanup_opts {
    bool start_after_restore;
    const char *zfs_namespace; /* NULL: any namespace */
} kvg_cleanup_opts;

/* Plans the cleanup of `restore` (a VirtualMachineRestore from the view or the
 * API). Caller holds the view's read section. Errors: KVG_ENOMEM; malformed
 * restores are a plan with gate NOT_COMPLETE and a reason. */
kvg_err kvg_cleanup_plan_make(const kvg_view *view, const json_object *restore,
                              const kvg_cleanup_opts *opts, kvg_cleanup_plan *out);
void kvg_cleanup_plan_free(kvg_cleanup_plan *p);

const char *kvg_cleanup_gate_name(kvg_cleanup_gate g);
const char *kvg_claim_verdict_name(kvg_claim_verdict v);

/* The newest ZFSSnapshot labelled openebs.io/persistent-volume=pv (creation
 * time, then name); NULL when there is none. */
const json_object *kvg_zfs_newest_snapshot(const kvg_view *view, const char *pv,
                                           const char *ns);

typedef struct kvg_rollback_job_opts {
    const char *image;
    const char *namespace_;  /* where the Job runs */
    const char *restore_ns, *restore_name; /* for labels */
    json_object *tolerations; /* borrowed; NULL: tolerate everything */
} kvg_rollback_job_opts;

/* Renders the batch/v1 Job that runs `zfs rollback POOL/DATASET@SNAP` on the
 * owner node (no -r/-R; refuses unless SNAP is the newest snapshot). The
 * name is deterministic so that a restarted reconciler finds its Job. */
kvg_err kvg_rollback_job_render(const kvg_rollback *rb,
                                const kvg_rollback_job_opts *opts,
                                json_object **job);

#endif
