/* Internal interface of the reconciler (`kvguard reconcile`).
 *
 * run.c       the loop: cluster view, leader election, per-key retries,
 *             metrics/health endpoint, SIGTERM.
 * leader.c    Lease-based leader election (coordination.k8s.io/v1).
 * cleanup_run.c  carries out a restore cleanup plan (cleanup_plan.c).
 * clone_run.c    CDI clone fallback: creates the target VM, tracks its
 *             DataVolumes, reflects phase and progress, cancels.
 * events.c    core/v1 Events on the objects the reconciler acts on. */
#ifndef KVG_RECONCILER_INTERNAL_H
#define KVG_RECONCILER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include <json-c/json.h>

#include "kvguard/config.h"
#include "kvguard/kube.h"
#include "kvguard/view.h"

typedef struct kvg_rec {
    const kvg_config *cfg;
    kvg_kube_client *kube;        /* NULL in files mode (report only) */
    const kvg_view *view;
    const atomic_bool *leader;    /* act only while true */
    const atomic_bool *stop;
    bool dry_run;
    char identity[128];           /* this replica, for events and the lease */
    kvg_kube_resource res[KVG_KIND_COUNT]; /* served version per kind */
} kvg_rec;

typedef enum kvg_rec_result {
    KVG_REC_DONE,    /* nothing more to do for this key */
    KVG_REC_WAIT,    /* waiting on the cluster: look again at the next resync */
    KVG_REC_RETRY,   /* failed: retry with backoff */
} kvg_rec_result;

/* Reconcile one VirtualMachineRestore (a deep copy, owned by the caller). */
kvg_rec_result kvg_rec_restore(kvg_rec *r, json_object *restore);
/* Reconcile one VirtualMachineClone annotated with the cdi strategy. */
kvg_rec_result kvg_rec_clone(kvg_rec *r, json_object *clone);
/* Cancel: target VMs of clones that no longer exist and never succeeded. */
void kvg_rec_clone_orphans(kvg_rec *r);

/* Event on obj (apiVersion/kind/name/namespace/uid taken from it). */
void kvg_rec_event(kvg_rec *r, const json_object *obj, bool warning,
                   const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Merge-patch metadata.annotations of obj (kind k) with key/value pairs
 * (NULL-terminated; a NULL value removes the key). */
kvg_err kvg_rec_annotate(kvg_rec *r, kvg_kind k, const json_object *obj, ...);

/* Leader election. */
typedef struct kvg_leader kvg_leader;
kvg_err kvg_leader_start(kvg_kube_client *kube, const kvg_config *cfg,
                         const char *identity, atomic_bool *is_leader,
                         kvg_leader **out, kvg_diag *d);
/* Stops renewing and releases the lease (so a standby takes over at once). */
void kvg_leader_stop(kvg_leader *l);

#endif
