/* Storage facts of the policy engine (storage.c): SPEC §4.
 *
 * Snapshot support of a VM volume, resolved the way KubeVirt's snapshot
 * controller does it (pkg/storage/snapshot: getVolumeStorageClass,
 * getStorageClassNameForDV, getVolumeSnapshotClassName), plus the
 * restore/clone capability table. Every string in the results is either
 * static or borrowed from the view / the VM object: valid while the caller
 * holds the view's read section and the VM. */
#ifndef KVG_POLICY_STORAGE_H
#define KVG_POLICY_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "kvguard/policy.h"
#include "kvguard/view.h"

typedef enum kvg_snap_support {
    KVG_SNAP_SUPPORTED = 0, /* a VolumeSnapshotClass was found */
    KVG_SNAP_NONE,          /* no VolumeSnapshotClass: KubeVirt skips the disk */
    KVG_SNAP_AMBIGUOUS,     /* several classes for the driver, none default */
    KVG_SNAP_UNKNOWN,       /* facts missing from the view */
} kvg_snap_support;

const char *kvg_snap_support_name(kvg_snap_support s);

/* The StorageClass -> provisioner -> VolumeSnapshotClass chain of one claim. */
typedef struct kvg_claim_storage {
    const char *storage_class; /* resolved name, NULL when none */
    const char *sc_source;     /* static: where the name came from */
    bool sc_found;             /* the StorageClass object is in the view */
    const char *provisioner;   /* StorageClass.provisioner, NULL when unknown */
    const char *snapshot_class;/* chosen VolumeSnapshotClass, NULL when none */
    size_t n_matching;         /* VolumeSnapshotClasses with driver == provisioner */
    kvg_snap_support support;
    char why[200];             /* why that class (or none): for --explain/messages */
} kvg_claim_storage;

/* One snapshottable volume of a VM (types persistentVolumeClaim, dataVolume,
 * memoryDump; the others are not listed). */
typedef struct kvg_volume_info {
    const char *volume;  /* spec.template.spec.volumes[].name ("" if missing) */
    const char *type;    /* "persistentVolumeClaim", "dataVolume", "memoryDump" */
    const char *claim;   /* claimName / DataVolume name ("" if missing) */
    bool claim_found;    /* the PVC is in the view */
    bool claim_bound;    /* its status.phase is Bound */
    bool dv_found;       /* dataVolume: the DataVolume is in the view */
    bool from_status;    /* decided by VM status.volumeSnapshotStatuses */
    const char *status_reason; /* its reason, borrowed (may be NULL) */
    kvg_claim_storage st;
} kvg_volume_info;

/* The volumes of vm (its namespace is ns) with their snapshot support.
 * *out is allocated (free() it); *n may be 0. More than KVG_MAX_LIST volumes
 * or a non-array spec.template.spec.volumes give KVG_EINVAL (the caller
 * denies, naming the field); KVG_ENOMEM on allocation failure. */
kvg_err kvg_storage_vm_volumes(const kvg_view *v, const json_object *vm,
                               const char *ns, kvg_volume_info **out,
                               size_t *n);

/* The default StorageClass (annotated storageclass.kubernetes.io/
 * is-default-class: "true"; the newest when several), NULL when none. */
const char *kvg_storage_default_class(const kvg_view *v);

/* Resolve a StorageClass name (NULL or "": none) to its provisioner and
 * VolumeSnapshotClass; sets every field of out but sc_source. */
void kvg_storage_resolve_class(const kvg_view *v, const char *storage_class,
                               kvg_claim_storage *out);

/* The StorageClass of a claim (PVC) in ns as KubeVirt sees it; fills
 * out->storage_class/sc_source only. Returns false when the PVC is missing. */
bool kvg_storage_pvc_class(const kvg_view *v, const char *ns,
                           const char *claim, kvg_claim_storage *out);

/* ---- restore / clone capability ------------------------------------------- */

/* Which layer decided each field of a capability (static phrases:
 * "StorageClass override", "provisioner override", "built-in table",
 * "built-in table (suffix of KEY)" is not produced: the key is in
 * builtin_key; NULL when the field is UNKNOWN). */
typedef struct kvg_capability_src {
    const char *snapshot, *restore, *clone, *online_snapshot;
    const char *builtin_key; /* the built-in entry used, NULL when none */
} kvg_capability_src;

/* The capability in force for a StorageClass (name may be NULL) whose
 * provisioner is `provisioner` (may be NULL): each field comes from the first
 * layer that knows it: per-StorageClass override, per-provisioner override,
 * built-in table (exact name, then suffix ".<key>", as Rook's
 * "rook-ceph.rbd.csi.ceph.com" for "rbd.csi.ceph.com"); else UNKNOWN.
 * out->provisioner is set to `provisioner`. src is optional. */
void kvg_capability_for(const kvg_policy_config *cfg, const char *storage_class,
                        const char *provisioner, kvg_capability *out,
                        kvg_capability_src *src);

const char *kvg_tristate_name(kvg_tristate t);
/* What turns a conservative "no" of the built-in table into "yes" for this
 * provisioner (the `when_configured` facts, e.g. "only thin-provisioned LVM
 * ... can restore"), or NULL. Static text; the caller adds the config key. */
const char *kvg_capability_hint(const char *provisioner);

#endif
