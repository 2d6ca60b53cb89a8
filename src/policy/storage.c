/* SPEC §4: snapshot support of VM volumes, and the restore/clone capability
 * table.
 *
 * The VolumeSnapshotClass choice follows KubeVirt's snapshot controller
 * (pkg/storage/snapshot/snapshot.go, getVolumeSnapshotClassName): the
 * StorageClass must exist; a StorageProfile of the same name with a non-empty
 * status.snapshotClass wins (and when that class does not exist there is
 * none); otherwise the VolumeSnapshotClasses whose driver equals the
 * provisioner: one -> it, several -> the one carrying the
 * snapshot.storage.kubernetes.io/is-default-class annotation (KubeVirt looks
 * at the key only; a "true" value is preferred here when several carry it),
 * several without -> ambiguous (KubeVirt errors and skips the disk). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/json.h"
#include "policy/internal.h"
#include "policy/storage.h"

#define VSC_DEFAULT_ANN "snapshot.storage.kubernetes.io/is-default-class"
#define SC_DEFAULT_ANN "storageclass.kubernetes.io/is-default-class"
#define SC_DEFAULT_ANN_BETA "storageclass.beta.kubernetes.io/is-default-class"

const char *kvg_snap_support_name(kvg_snap_support s)
{
    switch (s) {
    case KVG_SNAP_SUPPORTED: return "supported";
    case KVG_SNAP_NONE: return "none";
    case KVG_SNAP_AMBIGUOUS: return "ambiguous";
    case KVG_SNAP_UNKNOWN: return "unknown";
    }
    return "?";
}

const char *kvg_tristate_name(kvg_tristate t)
{
    return t == KVG_YES ? "yes" : t == KVG_NO ? "no" : "unknown";
}

/* ---- capability table ----------------------------------------------------- */

#define Y KVG_YES
#define N KVG_NO

/* Conservative booleans of shared/reference/storage-capabilities.yaml:
 * {provisioner, snapshot, restore, clone, online_snapshot}. Capabilities that
 * need a newer release or a special configuration (`when_configured`: thin
 * LVM, HPP reflink pools, thin TopoLVM classes) stay "no" here; config
 * overrides them per StorageClass. */
static const kvg_capability builtin[] = {
    {"zfs.csi.openebs.io", Y, Y, Y, Y},
    {"local.csi.openebs.io", Y, N, N, Y}, /* LVM: restore only thin, >= 4.4 */
    {"openebs.io/local", N, N, N, N},     /* hostpath LocalPV, not CSI */
    {"rbd.csi.ceph.com", Y, Y, Y, Y},
    {"cephfs.csi.ceph.com", Y, Y, Y, Y},
    {"driver.longhorn.io", Y, Y, Y, Y},
    {"hostpath.csi.k8s.io", Y, Y, Y, N},  /* tar snapshots: not point-in-time */
    {"kubevirt.io.hostpath-provisioner", N, N, N, N},
    {"kubevirt.io/hostpath-provisioner", N, N, N, N}, /* legacy, non-CSI */
    {"topolvm.io", N, N, N, N},           /* only thin device classes */
    {"topolvm.cybozu.com", N, N, N, N},   /* legacy name of topolvm.io */
    {"ebs.csi.aws.com", Y, Y, Y, Y},
    {"pd.csi.storage.gke.io", Y, Y, Y, Y},
    {"disk.csi.azure.com", Y, Y, Y, Y},
    {"csi.vsphere.vmware.com", Y, Y, N, Y},
    {"nfs.csi.k8s.io", Y, Y, Y, N},       /* tar snapshots */
    {"rancher.io/local-path", N, N, N, N},
    {NULL, KVG_UNKNOWN, KVG_UNKNOWN, KVG_UNKNOWN, KVG_UNKNOWN},
};

#undef Y
#undef N

const kvg_capability *kvg_capability_builtin(void)
{
    return builtin;
}

/* Exact name first; then a provisioner ending in ".<key>" (Rook and ODF
 * prefix the ceph-csi driver names with their namespace). */
static const kvg_capability *builtin_find(const char *prov)
{
    size_t plen;
    if (!prov || !*prov)
        return NULL;
    for (const kvg_capability *c = builtin; c->provisioner; c++)
        if (!strcmp(c->provisioner, prov))
            return c;
    plen = strlen(prov);
    for (const kvg_capability *c = builtin; c->provisioner; c++) {
        size_t klen = strlen(c->provisioner);
        if (plen > klen + 1 && prov[plen - klen - 1] == '.' &&
            !strcmp(prov + plen - klen, c->provisioner))
            return c;
    }
    return NULL;
}

static const kvg_capability *override_find(const kvg_capability *arr,
                                           size_t n, const char *name)
{
    if (!arr || !name)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (arr[i].provisioner && !strcmp(arr[i].provisioner, name))
            return &arr[i];
    return NULL;
}

/* Fill the UNKNOWN fields of out from layer l. */
static void merge(kvg_capability *out, kvg_capability_src *src,
                  const kvg_capability *l, const char *layer)
{
    if (!l)
        return;
#define MERGE(f)                                      \
    if (out->f == KVG_UNKNOWN && l->f != KVG_UNKNOWN) { \
        out->f = l->f;                                \
        src->f = layer;                               \
    }
    MERGE(snapshot)
    MERGE(restore)
    MERGE(clone)
    MERGE(online_snapshot)
#undef MERGE
}

void kvg_capability_for(const kvg_policy_config *cfg, const char *storage_class,
                        const char *provisioner, kvg_capability *out,
                        kvg_capability_src *src)
{
    kvg_capability_src local;
    const kvg_capability *b = builtin_find(provisioner);
    if (!src)
        src = &local;
    memset(src, 0, sizeof *src);
    out->provisioner = provisioner;
    out->snapshot = out->restore = out->clone = out->online_snapshot = KVG_UNKNOWN;
    if (cfg) {
        merge(out, src, override_find(cfg->storageclass_overrides,
                                      cfg->n_storageclass_overrides, storage_class),
              "StorageClass override in config");
        merge(out, src, override_find(cfg->provisioner_overrides,
                                      cfg->n_provisioner_overrides, provisioner),
              "provisioner override in config");
    }
    merge(out, src, b, "built-in capability table");
    src->builtin_key = b ? b->provisioner : NULL;
}

/* ---- StorageClass and VolumeSnapshotClass --------------------------------- */

typedef struct default_sc {
    const char *name, *created;
} default_sc;

static bool annotated_true(const json_object *o, const char *key)
{
    const char *v = kvg_json_str(o, "metadata", "annotations", key, NULL);
    return v && !strcmp(v, "true");
}

static int each_default_sc(const json_object *sc, void *ud)
{
    default_sc *d = ud;
    const char *name = kvg_json_str(sc, "metadata", "name", NULL);
    const char *created = kvg_json_str(sc, "metadata", "creationTimestamp", NULL);
    if (!name || !(annotated_true(sc, SC_DEFAULT_ANN) ||
                   annotated_true(sc, SC_DEFAULT_ANN_BETA)))
        return 0;
    /* Several defaults: Kubernetes (>= 1.26) uses the newest one; RFC 3339
     * UTC timestamps compare as strings; ties go to the smaller name. */
    if (!d->name || (created && (!d->created || strcmp(created, d->created) > 0)) ||
        (created && d->created && !strcmp(created, d->created) &&
         strcmp(name, d->name) < 0)) {
        d->name = name;
        d->created = created;
    }
    return 0;
}

const char *kvg_storage_default_class(const kvg_view *v)
{
    default_sc d = {NULL, NULL};
    kvg_view_each(v, KVG_KIND_STORAGECLASS, NULL, each_default_sc, &d);
    return d.name;
}

typedef struct vsc_match {
    const char *driver;
    size_t n;
    const char *first, *annotated, *annotated_true;
} vsc_match;

static int each_vsc(const json_object *vsc, void *ud)
{
    vsc_match *m = ud;
    const char *driver = kvg_json_str(vsc, "driver", NULL);
    const char *name = kvg_json_str(vsc, "metadata", "name", NULL);
    json_object *ann = kvg_json_path(vsc, "metadata", "annotations", NULL);
    if (!driver || !name || strcmp(driver, m->driver))
        return 0;
    m->n++;
    if (!m->first)
        m->first = name;
    if (ann && json_object_object_get_ex(ann, VSC_DEFAULT_ANN, NULL)) {
        if (!m->annotated)
            m->annotated = name;
        if (!m->annotated_true && annotated_true(vsc, VSC_DEFAULT_ANN))
            m->annotated_true = name;
    }
    return 0;
}

/* Snapshot class from the StorageProfile; true when the profile decided. */
static bool from_profile(const kvg_view *v, kvg_claim_storage *out)
{
    const json_object *sp = kvg_view_get(v, KVG_KIND_STORAGEPROFILE, NULL,
                                         out->storage_class);
    const char *cls = kvg_json_str(sp, "status", "snapshotClass", NULL);
    if (!cls || !*cls)
        return false;
    if (!kvg_view_get(v, KVG_KIND_VOLUMESNAPSHOTCLASS, NULL, cls)) {
        out->support = KVG_SNAP_NONE;
        snprintf(out->why, sizeof out->why,
                 "StorageProfile %s names VolumeSnapshotClass %s, which does "
                 "not exist", out->storage_class, cls);
        return true;
    }
    out->snapshot_class = cls;
    out->support = KVG_SNAP_SUPPORTED;
    snprintf(out->why, sizeof out->why, "StorageProfile %s status.snapshotClass",
             out->storage_class);
    return true;
}

static void from_driver(const kvg_view *v, kvg_claim_storage *out)
{
    vsc_match m = {out->provisioner, 0, NULL, NULL, NULL};
    kvg_view_each(v, KVG_KIND_VOLUMESNAPSHOTCLASS, NULL, each_vsc, &m);
    out->n_matching = m.n;
    if (m.n == 0) {
        out->support = KVG_SNAP_NONE;
        snprintf(out->why, sizeof out->why,
                 "no VolumeSnapshotClass has driver %s", out->provisioner);
    } else if (m.n == 1) {
        out->support = KVG_SNAP_SUPPORTED;
        out->snapshot_class = m.first;
        snprintf(out->why, sizeof out->why,
                 "the only VolumeSnapshotClass with driver %s", out->provisioner);
    } else if (m.annotated) {
        out->support = KVG_SNAP_SUPPORTED;
        out->snapshot_class = m.annotated_true ? m.annotated_true : m.annotated;
        snprintf(out->why, sizeof out->why,
                 "the default (" VSC_DEFAULT_ANN ") of %zu classes with driver %s",
                 m.n, out->provisioner);
    } else {
        out->support = KVG_SNAP_AMBIGUOUS;
        snprintf(out->why, sizeof out->why,
                 "%zu VolumeSnapshotClasses have driver %s and none is annotated "
                 VSC_DEFAULT_ANN, m.n, out->provisioner);
    }
}

void kvg_storage_resolve_class(const kvg_view *v, const char *storage_class,
                               kvg_claim_storage *out)
{
    const json_object *sc;
    out->storage_class = storage_class;
    out->provisioner = NULL;
    out->snapshot_class = NULL;
    out->n_matching = 0;
    out->sc_found = false;
    if (!storage_class || !*storage_class) {
        out->support = KVG_SNAP_NONE;
        snprintf(out->why, sizeof out->why, "no StorageClass");
        return;
    }
    if (!(sc = kvg_view_get(v, KVG_KIND_STORAGECLASS, NULL, storage_class))) {
        out->support = KVG_SNAP_UNKNOWN;
        snprintf(out->why, sizeof out->why, "StorageClass %s is not in the "
                 "cluster view", storage_class);
        return;
    }
    out->sc_found = true;
    out->provisioner = kvg_json_str(sc, "provisioner", NULL);
    if (!out->provisioner || !*out->provisioner) {
        out->provisioner = NULL;
        out->support = KVG_SNAP_NONE;
        snprintf(out->why, sizeof out->why, "StorageClass %s has no provisioner",
                 storage_class);
        return;
    }
    if (!from_profile(v, out))
        from_driver(v, out);
}

/* ---- claims --------------------------------------------------------------- */

/* StorageClass name in a PVC-like spec (PVC spec, DataVolume spec.pvc or
 * spec.storage). Returns NULL when absent; "" counts as set. */
static const char *spec_class(const json_object *spec)
{
    return kvg_json_str(spec, "storageClassName", NULL);
}

bool kvg_storage_pvc_class(const kvg_view *v, const char *ns, const char *claim,
                           kvg_claim_storage *out)
{
    const json_object *pvc = claim ? kvg_view_get(v, KVG_KIND_PVC, ns, claim) : NULL;
    const char *sc;
    const char *phase;
    if (!pvc)
        return false;
    sc = spec_class(kvg_json_path(pvc, "spec", NULL));
    phase = kvg_json_str(pvc, "status", "phase", NULL);
    if (sc) {
        out->storage_class = sc;
        out->sc_source = "PVC spec.storageClassName";
    } else if (!phase || strcmp(phase, "Bound")) {
        /* An unbound claim without a class gets the default one
         * (retroactive default StorageClass assignment). */
        out->storage_class = kvg_storage_default_class(v);
        out->sc_source = "default StorageClass (unbound PVC without storageClassName)";
    } else {
        /* KubeVirt looks up StorageClass "" and finds none. */
        out->storage_class = NULL;
        out->sc_source = "bound PVC without storageClassName";
    }
    return true;
}

static const json_object *dv_template(const json_object *vm, const char *name)
{
    json_object *arr = kvg_json_array(vm, "spec", "dataVolumeTemplates", NULL);
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (n > KVG_MAX_LIST)
        n = KVG_MAX_LIST;
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(arr, i);
        const char *tn = kvg_json_str(t, "metadata", "name", NULL);
        if (tn && !strcmp(tn, name))
            return t;
    }
    return NULL;
}

/* The class named in a DataVolume spec (or template spec): spec.pvc, then
 * spec.storage; NULL when neither names a non-empty one. */
static const char *dv_spec_class(const json_object *spec, const char **where)
{
    const char *sc = spec_class(kvg_json_path(spec, "pvc", NULL));
    if (sc && *sc) {
        *where = "pvc";
        return sc;
    }
    sc = spec_class(kvg_json_path(spec, "storage", NULL));
    if (sc && *sc) {
        *where = "storage";
        return sc;
    }
    return NULL;
}

/* Returns false when nothing names the class (the caller falls back). */
static bool dv_class(const kvg_view *v, const json_object *vm, const char *ns,
                     kvg_volume_info *vi)
{
    const json_object *dv = kvg_view_get(v, KVG_KIND_DATAVOLUME, ns, vi->claim);
    const json_object *tpl = dv_template(vm, vi->claim);
    const char *where = NULL, *sc;
    vi->dv_found = dv != NULL;
    if (dv && (sc = dv_spec_class(kvg_json_path(dv, "spec", NULL), &where))) {
        vi->st.storage_class = sc;
        vi->st.sc_source = !strcmp(where, "pvc") ? "DataVolume spec.pvc.storageClassName"
                                                 : "DataVolume spec.storage.storageClassName";
        return true;
    }
    if (tpl && (sc = dv_spec_class(kvg_json_path(tpl, "spec", NULL), &where))) {
        vi->st.storage_class = sc;
        vi->st.sc_source = !strcmp(where, "pvc")
                               ? "VM dataVolumeTemplates spec.pvc.storageClassName"
                               : "VM dataVolumeTemplates spec.storage.storageClassName";
        return true;
    }
    if (kvg_storage_pvc_class(v, ns, vi->claim, &vi->st)) {
        vi->claim_found = true;
        return true;
    }
    if (dv || tpl) {
        /* CDI will create the PVC in the default StorageClass. */
        vi->st.storage_class = kvg_storage_default_class(v);
        vi->st.sc_source = "default StorageClass (DataVolume names none)";
        return true;
    }
    return false;
}

/* KubeVirt's own verdict, kept in VM status.volumeSnapshotStatuses. */
static bool from_vm_status(const json_object *vm, kvg_volume_info *vi)
{
    json_object *arr = kvg_json_array(vm, "status", "volumeSnapshotStatuses", NULL);
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (n > KVG_MAX_LIST)
        n = KVG_MAX_LIST;
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(arr, i);
        const char *name = kvg_json_str(s, "name", NULL);
        if (!name || strcmp(name, vi->volume))
            continue;
        vi->from_status = true;
        vi->status_reason = kvg_json_str(s, "reason", NULL);
        if (kvg_json_bool(false, s, "enabled", NULL)) {
            vi->st.support = KVG_SNAP_SUPPORTED;
            snprintf(vi->st.why, sizeof vi->st.why,
                     "VM status.volumeSnapshotStatuses says enabled");
        } else {
            vi->st.support = KVG_SNAP_NONE;
            snprintf(vi->st.why, sizeof vi->st.why,
                     "VM status.volumeSnapshotStatuses: %s",
                     vi->status_reason ? vi->status_reason : "not enabled");
        }
        return true;
    }
    return false;
}

static void resolve_volume(const kvg_view *v, const json_object *vm,
                           const char *ns, kvg_volume_info *vi)
{
    bool named;
    memset(&vi->st, 0, sizeof vi->st);
    if (!strcmp(vi->type, "dataVolume")) {
        named = dv_class(v, vm, ns, vi);
    } else {
        named = kvg_storage_pvc_class(v, ns, vi->claim, &vi->st);
        vi->claim_found = named;
    }
    if (vi->claim_found) {
        const json_object *pvc = kvg_view_get(v, KVG_KIND_PVC, ns, vi->claim);
        const char *phase = kvg_json_str(pvc, "status", "phase", NULL);
        vi->claim_bound = phase && !strcmp(phase, "Bound");
    }
    if (named) {
        kvg_storage_resolve_class(v, vi->st.storage_class, &vi->st);
        if (vi->st.support != KVG_SNAP_UNKNOWN)
            return;
    }
    /* The claim or its StorageClass is not in the view. */
    if (from_vm_status(vm, vi))
        return;
    vi->st.support = KVG_SNAP_UNKNOWN;
    if (!named)
        snprintf(vi->st.why, sizeof vi->st.why,
                 "%s %s is not in the cluster view and the VM's "
                 "status.volumeSnapshotStatuses does not list volume %s",
                 !strcmp(vi->type, "dataVolume") ? "DataVolume/PVC" : "PVC",
                 vi->claim, vi->volume);
}

/* The claim a snapshottable volume refers to; *type NULL for other volume
 * types (and for a source that is not an object). */
static const char *volume_claim(const json_object *vol, const char **type)
{
    static const struct {
        const char *type, *key;
    } kinds[] = {{"persistentVolumeClaim", "claimName"},
                 {"dataVolume", "name"},
                 {"memoryDump", "claimName"}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_object *src = NULL;
        if (json_object_object_get_ex(vol, kinds[i].type, &src) &&
            json_object_is_type(src, json_type_object)) {
            *type = kinds[i].type;
            return kvg_json_str(src, kinds[i].key, NULL);
        }
    }
    *type = NULL;
    return NULL;
}

kvg_err kvg_storage_vm_volumes(const kvg_view *v, const json_object *vm,
                               const char *ns, kvg_volume_info **out, size_t *n)
{
    json_object *vols = NULL;
    size_t len, k = 0;
    kvg_field_state fs = kvg_field_get(vm, "spec.template.spec.volumes",
                                       json_type_array, &vols, NULL, 0);
    *out = NULL;
    *n = 0;
    if (fs == KVG_FIELD_MISSING)
        return KVG_OK;
    if (fs == KVG_FIELD_WRONG_TYPE)
        return KVG_EINVAL;
    len = json_object_array_length(vols);
    if (len > KVG_MAX_LIST)
        return KVG_EINVAL;
    if (len == 0)
        return KVG_OK;
    if (!(*out = calloc(len, sizeof **out)))
        return KVG_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        json_object *vol = json_object_array_get_idx(vols, i);
        const char *type, *claim;
        kvg_volume_info *vi;
        if (!json_object_is_type(vol, json_type_object)) {
            free(*out);
            *out = NULL;
            return KVG_EINVAL;
        }
        claim = volume_claim(vol, &type);
        if (!type)
            continue;
        vi = &(*out)[k++];
        vi->volume = kvg_json_str(vol, "name", NULL);
        if (!vi->volume)
            vi->volume = "";
        vi->type = type;
        vi->claim = claim ? claim : "";
        resolve_volume(v, vm, ns, vi);
    }
    *n = k;
    return KVG_OK;
}

typedef struct cap_hint {
    const char *provisioner, *hint;
} cap_hint;

static const cap_hint hints[] = {
    {"local.csi.openebs.io",
     "only thin-provisioned LVM (thinProvision: \"yes\", OpenEBS >= 4.4) can restore"},
    {"topolvm.io", "only thin TopoLVM device classes can restore"},
    {"topolvm.cybozu.com", "only thin TopoLVM device classes can restore"},
    {"kubevirt.io.hostpath-provisioner",
     "only HPP >= v0.25.0 with a reflink snapshot pool can restore"},
};

const char *kvg_capability_hint(const char *provisioner)
{
    const kvg_capability *b = builtin_find(provisioner);
    if (!b)
        return NULL;
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
        if (!strcmp(hints[i].provisioner, b->provisioner))
            return hints[i].hint;
    return NULL;
}
