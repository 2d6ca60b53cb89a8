/* kvguard: the cluster view.
 *
 * A read-only, in-memory picture of the objects kvguard needs, indexed by
 * kind, namespace and name. Two backends fill it: `files` (a directory of
 * manifests, loaded once) and `kube` (list+watch informers). The policy engine
 * and the reconciler only ever read it through kvg_view.
 *
 * Concurrency: writers (watch threads) change one kind at a time under a write
 * lock; readers bracket every use with kvg_view_begin()/kvg_view_end() (a read
 * lock), and objects returned in between are valid only until kvg_view_end().
 * A relist is swapped in whole, so readers never see half of one.
 * Brackets nest (per thread); a thread inside a bracket must not call the
 * kvg_store_* writers (it would wait for itself). */
#ifndef KVGUARD_VIEW_H
#define KVGUARD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "kvguard/error.h"

typedef enum kvg_kind {
    KVG_KIND_VM,                  /* kubevirt.io VirtualMachine */
    KVG_KIND_VMI,                 /* kubevirt.io VirtualMachineInstance */
    KVG_KIND_VMSNAPSHOT,          /* snapshot.kubevirt.io VirtualMachineSnapshot */
    KVG_KIND_VMSNAPSHOTCONTENT,   /* snapshot.kubevirt.io VirtualMachineSnapshotContent */
    KVG_KIND_VMRESTORE,           /* snapshot.kubevirt.io VirtualMachineRestore */
    KVG_KIND_VMCLONE,             /* clone.kubevirt.io VirtualMachineClone */
    KVG_KIND_DATAVOLUME,          /* cdi.kubevirt.io DataVolume */
    KVG_KIND_STORAGEPROFILE,      /* cdi.kubevirt.io StorageProfile (cluster) */
    KVG_KIND_PVC,                 /* core PersistentVolumeClaim */
    KVG_KIND_PV,                  /* core PersistentVolume (cluster) */
    KVG_KIND_STORAGECLASS,        /* storage.k8s.io StorageClass (cluster) */
    KVG_KIND_VOLUMESNAPSHOTCLASS, /* snapshot.storage.k8s.io (cluster) */
    KVG_KIND_VOLUMESNAPSHOT,      /* snapshot.storage.k8s.io VolumeSnapshot */
    KVG_KIND_POD,                 /* core Pod */
    KVG_KIND_ZFSVOLUME,           /* zfs.openebs.io ZFSVolume */
    KVG_KIND_ZFSSNAPSHOT,         /* zfs.openebs.io ZFSSnapshot */
    KVG_KIND_COUNT
} kvg_kind;

typedef struct kvg_kind_info {
    kvg_kind kind;
    const char *group;    /* "" for the core group */
    const char *name;     /* "VirtualMachine" */
    const char *resource; /* "virtualmachines" */
    /* versions the upstream project serves, preferred first, NULL-terminated */
    const char *const *versions;
    bool namespaced;
} kvg_kind_info;

const kvg_kind_info *kvg_kind_info_get(kvg_kind kind);
/* Map an apiVersion group + kind name to a kvg_kind; KVG_ENOTFOUND otherwise.
 * Also accepts zfs-localpv's pre-0.6 group "openebs.io" for ZFSVolume and
 * ZFSSnapshot (same fields; kvg_kind_info_get gives the current group). */
kvg_err kvg_kind_from_gk(const char *group, const char *kind, kvg_kind *out);
/* Same, from an object's "apiVersion" (group/version or "v1") and "kind". */
kvg_err kvg_kind_of_object(const json_object *obj, kvg_kind *out);

typedef enum kvg_kind_state {
    KVG_KIND_UNSYNCED = 0, /* not (yet) listed, or stale: facts unknown */
    KVG_KIND_SYNCED,       /* listed and watched (or loaded from files) */
    KVG_KIND_ABSENT,       /* the API does not serve this kind (CRD missing) */
} kvg_kind_state;

typedef struct kvg_store kvg_store; /* writer side, owned by a backend */
typedef struct kvg_view kvg_view;   /* reader side */

/* --- writer side --------------------------------------------------------- */
kvg_err kvg_store_new(kvg_store **out);
void kvg_store_free(kvg_store *s);
const kvg_view *kvg_store_view(const kvg_store *s);
/* Insert or replace by namespace/name; takes ownership of obj (also on error).
 * The object is pruned (managedFields etc.) to keep memory low. */
kvg_err kvg_store_put(kvg_store *s, kvg_kind kind, json_object *obj);
kvg_err kvg_store_delete(kvg_store *s, kvg_kind kind, const char *ns,
                         const char *name);
/* Atomically replace every object of a kind (relist). Takes ownership of
 * objs[0..n) and of nothing else; the array itself stays the caller's. */
kvg_err kvg_store_replace(kvg_store *s, kvg_kind kind, json_object **objs,
                          size_t n);
/* Batches, for many objects of one kind (a LIST arriving in pages, a
 * directory of manifests): begin; add every object as it arrives (taken
 * over, also on error; pruned - and for compact kinds serialized and its
 * tree freed - right away, so a batch never holds every object as a tree);
 * then either replace (the kind becomes exactly the batch, swapped in whole:
 * readers see the old list until then) or merge (every object put, replacing
 * same-named ones), or abort. All three free b. After a failed add, later
 * adds only free their object and replace/merge return that error, changing
 * nothing (running out of memory while linking may leave part of a merge
 * in). kvg_store_put and kvg_store_replace are batches of their own. */
typedef struct kvg_store_batch kvg_store_batch;
kvg_err kvg_store_batch_begin(kvg_store *s, kvg_kind kind, kvg_store_batch **out);
kvg_err kvg_store_batch_add(kvg_store_batch *b, json_object *obj);
kvg_err kvg_store_batch_replace(kvg_store_batch *b);
kvg_err kvg_store_batch_merge(kvg_store_batch *b);
void kvg_store_batch_abort(kvg_store_batch *b);
void kvg_store_set_state(kvg_store *s, kvg_kind kind, kvg_kind_state st);
/* Memory mode of a kind, for objects put from now on. json-c spends
 * ~0.5-0.8 KiB per JSON object node, so a pruned PV or PVC costs 6-10 KiB as
 * a tree but ~1 KiB as compact text. With compact on, the store keeps the
 * text and readers get a tree parsed on first use in their bracket (the same
 * pointer for repeated lookups until their thread's outermost kvg_view_end;
 * a reader MUST bracket). Each thread also keeps its most recently used
 * trees between brackets (at most 64 objects / 256 KiB of text), so the
 * objects a burst of requests is about are parsed once; a bracket that
 * iterates a compact kind holds a parsed copy of every object it visited
 * until it ends (kvg_view_each_mentioning avoids most of that).
 * Default: on for the kinds a cluster has by the thousand (VM, VMI,
 * VMSnapshot, VMSnapshotContent, DataVolume, PVC, PV, VolumeSnapshot, Pod,
 * ZFSVolume, ZFSSnapshot), off for the rest (StorageClass, StorageProfile,
 * VolumeSnapshotClass, VMRestore, VMClone). Figures: docs/performance.md. */
void kvg_store_set_compact(kvg_store *s, kvg_kind kind, bool on);
void kvg_store_set_resource_version(kvg_store *s, kvg_kind kind,
                                    const char *rv);
/* Staleness (kube backend). The informer calls kvg_store_touch whenever it
 * hears from the apiserver about a kind: a successful list (setting SYNCED
 * touches too), a watch event or bookmark, a watch that ran to its timeout.
 * A SYNCED kind not touched for longer than the window is stale: it reads
 * UNSYNCED in kvg_view_state and kvg_view_synced (admission, /readyz and the
 * reconciler then treat it as not synced) until the next touch, with no
 * writer involved: the clock is read by the readers. Quiet kinds stay fresh
 * through watches that run to their timeout (the informer keeps those
 * shorter than the window), not through object changes. seconds <= 0 (the
 * default): never stale. Thread-safe, lock-free. */
void kvg_store_set_stale_after(kvg_store *s, double seconds);
void kvg_store_touch(kvg_store *s, kvg_kind kind);

/* --- reader side --------------------------------------------------------- */
void kvg_view_begin(const kvg_view *v);
void kvg_view_end(const kvg_view *v);
/* ns is NULL (or "") for cluster-scoped kinds. Borrowed; NULL when missing. */
const json_object *kvg_view_get(const kvg_view *v, kvg_kind kind,
                                const char *ns, const char *name);
/* Calls fn for every object of kind (in namespace ns, or all when ns NULL);
 * stops early when fn returns non-zero and returns that value. Order: by
 * namespace, then by name, each in order of first insertion (for the files
 * backend: sorted file order, then document order). ns is ignored for
 * cluster-scoped kinds. */
typedef int (*kvg_view_fn)(const json_object *obj, void *ud);
int kvg_view_each(const kvg_view *v, kvg_kind kind, const char *ns,
                  kvg_view_fn fn, void *ud);
/* Lookups on this thread that failed for lack of memory (a compact object
 * could not be parsed, so it looked missing). A reader compares the count
 * before and after a decision and discards the decision if it moved. */
unsigned long kvg_view_failed_lookups(void);
/* Free the trees this thread keeps between brackets (outside any bracket):
 * for a thread about to idle for long, and for tests that count blocks. */
void kvg_view_drop_parsed(void);
/* Same, but objects whose stored form cannot mention `needle` as a whole
 * JSON string (a name, a claim name, a label key) may be skipped without
 * being parsed: a prefilter that keeps scans of compact kinds cheap. fn
 * still sees only real objects and must check them itself; it may also see
 * objects that do not mention the needle. */
int kvg_view_each_mentioning(const kvg_view *v, kvg_kind kind, const char *ns,
                             const char *needle, kvg_view_fn fn, void *ud);
size_t kvg_view_count(const kvg_view *v, kvg_kind kind);
/* A stale kind reads UNSYNCED (see kvg_store_set_stale_after). */
kvg_kind_state kvg_view_state(const kvg_view *v, kvg_kind kind);
/* True when every kind is SYNCED (and not stale) or ABSENT. */
bool kvg_view_synced(const kvg_view *v);
/* Whether kind is SYNCED but stale; *age_s (may be NULL): seconds since the
 * last contact with the apiserver (0 when not stale). */
bool kvg_view_stale(const kvg_view *v, kvg_kind kind, double *age_s);
/* Why the view is not synced, for messages: the kinds not listed yet, then
 * the stale ones with the time of the last contact, e.g.
 * "Pod; cache stale, no contact with the apiserver since
 * 2026-11-22T00:10:03Z (42 s ago): VirtualMachine, PersistentVolumeClaim".
 * "" when synced. */
void kvg_view_describe_unsynced(const kvg_view *v, char *buf, size_t len);
/* Monotonic seconds of the last successful (re)list or watch event, 0 never. */
double kvg_view_last_sync(const kvg_view *v, kvg_kind kind);

/* The object of `kind` whose metadata.uid is uid (borrowed; NULL when none).
 * ns is not needed: uids are unique in a cluster. */
const json_object *kvg_view_get_by_uid(const kvg_view *v, kvg_kind kind,
                                       const char *uid);
/* The resourceVersion last set with kvg_store_set_resource_version, copied
 * into buf ("" when none); KVG_ETOOBIG when it does not fit. */
kvg_err kvg_view_resource_version(const kvg_view *v, kvg_kind kind, char *buf,
                                  size_t len);

/* --- pruning -------------------------------------------------------------
 * kvg_store_put/replace prune every object before storing it, so readers
 * must not rely on anything removed here:
 *   every kind: metadata.managedFields and the annotation
 *     kubectl.kubernetes.io/last-applied-configuration are removed;
 *     everything else is kept.
 *   Pod: only these are kept
 *     apiVersion, kind,
 *     metadata.{name, namespace, uid, labels, ownerReferences,
 *               deletionTimestamp},
 *     spec.nodeName,
 *     spec.volumes[] that have persistentVolumeClaim or dataVolume, as
 *       {name, persistentVolumeClaim (whole: claimName, readOnly)} or
 *       {name, dataVolume (whole)}; other volumes are dropped,
 *     status.phase.
 *   VirtualMachineInstance: only apiVersion, kind, metadata (whole, as
 *     above) and status.{phase, conditions} are kept.
 *   PersistentVolumeClaim: CDI's progress annotations
 *     (cdi.kubevirt.io/storage.{condition,pod,import,populator}.*) are removed.
 * Exposed for backends that want to prune before queueing an object. */
void kvg_prune_object(kvg_kind kind, json_object *obj);

/* Sets kvguard_cache_objects{kind} and kvguard_cache_last_sync_seconds{kind}
 * (Unix time) from the view; called when /metrics is scraped. */
void kvg_view_metrics_update(const kvg_view *v);

/* --- files backend ------------------------------------------------------- */
/* Load every *.yaml, *.yml, *.json below dir (multi-document YAML, kind: List)
 * into a new store; every kind is marked SYNCED. Objects of kinds kvguard does
 * not track are ignored. Errors name file, document index and line.
 * Details:
 *  - files are read in byte-wise sorted path order; symlinks are followed,
 *    directory loops are refused; entries whose name starts with '.' are
 *    skipped (a ConfigMap mount's ..data/..2026_* twins would load twice);
 *  - `kind: List` and `<Kind>List` documents contribute their items (items
 *    without apiVersion/kind inherit them from a `<Kind>List`);
 *  - a namespaced object without metadata.namespace goes to "default"; the
 *    namespace of a cluster-scoped object is ignored;
 *  - the same kind/namespace/name twice is an error naming both places;
 *  - a document with neither apiVersion nor kind is not a Kubernetes object
 *    and is ignored (as are empty documents); one with only one of them is an
 *    error, as is a List item without them;
 *  - on error nothing is returned (kvg_files_load) or nothing of the stream
 *    is added (kvg_files_load_text).
 * Messages look like
 *  "examples/x.yaml: document 2 (line 40): metadata.name is missing". */
kvg_err kvg_files_load(const char *dir, kvg_store **out, kvg_diag *d);
/* Same, for one in-memory stream (tests, fuzzing), added to an existing
 * store; kinds still UNSYNCED are marked SYNCED. */
kvg_err kvg_files_load_text(kvg_store *s, const char *text, size_t len,
                            const char *name, kvg_diag *d);

#endif
