/* DataVolume clone rules and mutations (SPEC §3): CDI clones from
 * spec.source.pvc or spec.source.snapshot; every other source is ignored.
 *
 * These rules add checks beyond CDI's own webhook (which since CDI 1.60 no
 * longer looks at cluster state): what they cannot verify they report as a
 * warning (SPEC: datavolume-clone-* warn on unknown). Sizes are compared the
 * way CDI's clone validation does (ValidateRequestedCloneSize: the source
 * claim's request against the target's request). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/kubevirt.h"
#include "policy/internal.h"
#include "policy/patch.h"
#include "policy/quantity.h"
#include "policy/storage.h"

#define CONTENT_TYPE_ANN "cdi.kubevirt.io/storage.contentType"

typedef enum dv_source { SRC_NONE, SRC_PVC, SRC_SNAPSHOT } dv_source;

typedef struct dv_facts {
    const json_object *obj, *spec;
    char self[320];
    const char *ns;
    dv_source src;
    const char *src_ns, *src_name;
    const json_object *src_pvc;  /* the source claim (pvc source) */
    const json_object *snapshot; /* the source VolumeSnapshot */
    const char *api;             /* "pvc" or "storage": where the target's claim spec is */
    const json_object *target;   /* spec.pvc or spec.storage (may be NULL) */
} dv_facts;

static const char *str_or(const char *s, const char *def)
{
    return s && *s ? s : def;
}

static void init_facts(kvg_ctx *c, dv_facts *f)
{
    memset(f, 0, sizeof *f);
    f->obj = c->req->object;
    f->spec = kvg_json_path(f->obj, "spec", NULL);
    f->ns = str_or(c->req->namespace_, str_or(kvg_json_str(f->obj, "metadata", "namespace", NULL), "default"));
    kvg_ctx_objname(c, f->self, sizeof f->self);
    json_object *pvc = kvg_json_path(f->spec, "source", "pvc", NULL);
    json_object *snap = kvg_json_path(f->spec, "source", "snapshot", NULL);
    if (json_object_is_type(pvc, json_type_object)) {
        f->src = SRC_PVC;
        f->src_name = kvg_json_str(pvc, "name", NULL);
        f->src_ns = str_or(kvg_json_str(pvc, "namespace", NULL), f->ns);
    } else if (json_object_is_type(snap, json_type_object)) {
        f->src = SRC_SNAPSHOT;
        f->src_name = kvg_json_str(snap, "name", NULL);
        f->src_ns = str_or(kvg_json_str(snap, "namespace", NULL), f->ns);
    }
    if (json_object_is_type(kvg_json_path(f->spec, "pvc", NULL), json_type_object)) {
        f->api = "pvc";
        f->target = kvg_json_path(f->spec, "pvc", NULL);
    } else if (json_object_object_get_ex((json_object *)f->spec, "storage", NULL)) {
        f->api = "storage";
        f->target = kvg_json_path(f->spec, "storage", NULL); /* may be null */
    }
}

/* The size CDI compares against: the claim's request, else its capacity. */
static const char *claim_size(const json_object *pvc)
{
    const char *s = kvg_json_str(pvc, "spec", "resources", "requests", "storage", NULL);
    return s ? s : kvg_json_str(pvc, "status", "capacity", "storage", NULL);
}

static const char *target_size(const dv_facts *f)
{
    return kvg_json_str(f->target, "resources", "requests", "storage", NULL);
}

static const char *volume_mode(const json_object *spec_holder_spec)
{
    return str_or(kvg_json_str(spec_holder_spec, "volumeMode", NULL), "Filesystem");
}

/* ---- datavolume-clone-source ---------------------------------------------- */

static void rule_source(kvg_ctx *c, dv_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE))
        return;
    if (f->src != SRC_PVC) {
        kvg_ctx_skip(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE, "not a PVC clone");
        return;
    }
    if (!f->src_name || !*f->src_name) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE, KVG_OUTCOME_FAIL,
                     "DataVolume %s: spec.source.pvc.name is empty: name the PVC to clone", f->self);
        return;
    }
    if (!f->src_pvc) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE, KVG_OUTCOME_FAIL,
                     "source PVC %s/%s does not exist yet: CDI waits for it", f->src_ns, f->src_name);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE, KVG_OUTCOME_PASS, "PVC %s/%s exists",
                 f->src_ns, f->src_name);
}

/* ---- datavolume-clone-size ------------------------------------------------ */

static void rule_size(kvg_ctx *c, dv_facts *f)
{
    const char *src_size = NULL, *what = NULL;
    char obj[400];
    if (!kvg_ctx_should_run(c, KVG_RULE_DATAVOLUME_CLONE_SIZE))
        return;
    if (f->src == SRC_PVC) {
        src_size = f->src_pvc ? claim_size(f->src_pvc) : NULL;
        snprintf(obj, sizeof obj, "source PVC %s/%s", f->src_ns, str_or(f->src_name, "?"));
        what = f->src_pvc ? "has no size" : "is not in the cluster view";
    } else {
        src_size = f->snapshot ? kvg_json_str(f->snapshot, "status", "restoreSize", NULL) : NULL;
        snprintf(obj, sizeof obj, "source VolumeSnapshot %s/%s", f->src_ns, str_or(f->src_name, "?"));
        what = f->snapshot ? "has no status.restoreSize" : "is not in the cluster view";
    }
    const char *tsize = target_size(f);
    if (!tsize) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SIZE, KVG_OUTCOME_PASS,
                     "no target size: CDI sizes the clone from its source");
        return;
    }
    kvg_quantity tq, sq;
    kvg_diag d = {{0}};
    if (kvg_quantity_parse(tsize, &tq, &d) != KVG_OK) {
        kvg_ctx_invalid(c, f->api && !strcmp(f->api, "pvc") ? "spec.pvc.resources.requests.storage"
                                                            : "spec.storage.resources.requests.storage", d.msg);
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SIZE, KVG_OUTCOME_FAIL, "DataVolume %s: target size %s",
                     f->self, d.msg);
        return;
    }
    if (!src_size) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SIZE, KVG_OUTCOME_UNKNOWN,
                     "cannot compare size %s: %s %s", tsize, obj, what);
        return;
    }
    if (kvg_quantity_parse(src_size, &sq, &d) != KVG_OK) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SIZE, KVG_OUTCOME_UNKNOWN,
                     "cannot compare sizes: %s: %s", obj, d.msg);
        return;
    }
    if (kvg_quantity_cmp(&tq, &sq) < 0) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SIZE, KVG_OUTCOME_FAIL,
                     "DataVolume %s requests %s, smaller than %s (%s): CDI refuses the clone; request at "
                     "least %s", f->self, tsize, obj, src_size, src_size);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SIZE, KVG_OUTCOME_PASS, "target %s >= source %s", tsize,
                 src_size);
}

/* ---- datavolume-clone-content --------------------------------------------- */

static void rule_content(kvg_ctx *c, dv_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_DATAVOLUME_CLONE_CONTENT))
        return;
    if (f->src != SRC_PVC) {
        kvg_ctx_skip(c, KVG_RULE_DATAVOLUME_CLONE_CONTENT, "not a PVC clone");
        return;
    }
    const char *tct = str_or(kvg_json_str(f->spec, "contentType", NULL), "kubevirt");
    if (!f->src_pvc) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_CONTENT, KVG_OUTCOME_UNKNOWN,
                     "cannot check contentType: PVC %s/%s is not in the cluster view",
                     f->src_ns, str_or(f->src_name, "?"));
        return;
    }
    const char *sct = str_or(kvg_obj_annotation(f->src_pvc, CONTENT_TYPE_ANN), "kubevirt");
    if (strcmp(sct, tct)) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_CONTENT, KVG_OUTCOME_FAIL,
                     "DataVolume %s has contentType %s but source PVC %s/%s holds %s content (%s): CDI "
                     "refuses the clone; set spec.contentType: %s", f->self, tct, f->src_ns, f->src_name,
                     sct, CONTENT_TYPE_ANN, sct);
        return;
    }
    /* CDI: different volume modes are only allowed for KubeVirt disk images */
    const char *smode = volume_mode(kvg_json_path(f->src_pvc, "spec", NULL));
    const char *tmode = kvg_json_str(f->target, "volumeMode", NULL);
    if (strcmp(tct, "kubevirt") && tmode && strcmp(smode, tmode)) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_CONTENT, KVG_OUTCOME_FAIL,
                     "DataVolume %s: contentType %s cannot be cloned from %s PVC %s/%s to a %s volume; "
                     "use the same volumeMode", f->self, tct, smode, f->src_ns, f->src_name, tmode);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_CONTENT, KVG_OUTCOME_PASS, "contentType %s on both sides", tct);
}

/* ---- datavolume-clone-volume-mode ----------------------------------------- */

static void rule_volume_mode(kvg_ctx *c, dv_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE))
        return;
    if (f->src != SRC_PVC) {
        kvg_ctx_skip(c, KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE, "not a PVC clone");
        return;
    }
    if (!f->src_pvc) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE, KVG_OUTCOME_UNKNOWN,
                     "cannot compare volume modes: PVC %s/%s is not in the cluster view", f->src_ns,
                     str_or(f->src_name, "?"));
        return;
    }
    const char *smode = volume_mode(kvg_json_path(f->src_pvc, "spec", NULL));
    const char *tmode = kvg_json_str(f->target, "volumeMode", NULL);
    if (!tmode && f->api && !strcmp(f->api, "pvc"))
        tmode = "Filesystem"; /* a PVC without volumeMode is a filesystem */
    if (!tmode) {
        /* storage API: CDI fills the mode from the StorageProfile */
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE, KVG_OUTCOME_PASS,
                     "target volumeMode left to CDI (source is %s)", smode);
        return;
    }
    if (strcmp(smode, tmode)) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE, KVG_OUTCOME_FAIL,
                     "%s->%s clone of PVC %s/%s forces a slow host-assisted copy", smode, tmode,
                     f->src_ns, f->src_name);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE, KVG_OUTCOME_PASS, "%s on both sides", smode);
}

/* ---- datavolume-clone-source-in-use --------------------------------------- */

typedef struct use_scan {
    const kvg_view *view;
    const char *claim;
    const char *pod, *phase, *vm; /* the first user found */
} use_scan;

/* A live pod that mounts the claim writable (CDI's own source pods mount
 * it read-only and are fine). */
static int each_pod(const json_object *pod, void *ud)
{
    use_scan *u = ud;
    const char *phase = kvg_json_str(pod, "status", "phase", NULL);
    if (!phase || (strcmp(phase, "Running") && strcmp(phase, "Pending")))
        return 0;
    json_object *vols = kvg_json_array(pod, "spec", "volumes", NULL);
    size_t n = vols ? json_object_array_length(vols) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(vols, i);
        const char *claim = kvg_json_str(v, "persistentVolumeClaim", "claimName", NULL);
        if (!claim || strcmp(claim, u->claim) || kvg_json_bool(false, v, "persistentVolumeClaim", "readOnly", NULL))
            continue;
        u->pod = kvg_obj_name(pod);
        u->phase = phase;
        u->vm = kvg_obj_label(pod, "vm.kubevirt.io/name");
        return 1;
    }
    return 0;
}

static int each_vm(const json_object *vm, void *ud)
{
    use_scan *u = ud;
    kvg_power pw;
    if (!kvg_vm_uses_claim(vm, u->claim))
        return 0;
    kvg_vm_power(u->view, vm, &pw);
    if (!pw.on)
        return 0;
    u->vm = kvg_obj_name(vm);
    return 1;
}

static void rule_in_use(kvg_ctx *c, dv_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE_IN_USE))
        return;
    if (f->src != SRC_PVC || !f->src_name || !*f->src_name) {
        kvg_ctx_skip(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE_IN_USE, "not a PVC clone");
        return;
    }
    use_scan u = {.view = c->view, .claim = f->src_name};
    if (kvg_view_each_mentioning(c->view, KVG_KIND_POD, f->src_ns, f->src_name, each_pod, &u) ||
        kvg_view_each_mentioning(c->view, KVG_KIND_VM, f->src_ns, f->src_name, each_vm, &u)) {
        char user[400];
        if (u.pod)
            snprintf(user, sizeof user, "pod %s/%s (%s)%s%s", f->src_ns, u.pod, u.phase,
                     u.vm ? " of VM " : "", u.vm ? u.vm : "");
        else
            snprintf(user, sizeof user, "running VM %s/%s", f->src_ns, u.vm);
        char fix[300];
        if (u.vm)
            snprintf(fix, sizeof fix, "stop VM %s/%s first", f->src_ns, u.vm);
        else
            snprintf(fix, sizeof fix, "stop pod %s/%s first", f->src_ns, u.pod);
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE_IN_USE, KVG_OUTCOME_FAIL,
                     "DataVolume %s clones PVC %s/%s, which is in use by %s: the clone would hang in "
                     "CloneScheduled; %s", f->self, f->src_ns, f->src_name, user, fix);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_CLONE_SOURCE_IN_USE, KVG_OUTCOME_PASS,
                 "no running pod or VM writes to PVC %s/%s", f->src_ns, f->src_name);
}

/* ---- datavolume-snapshot-restorable --------------------------------------- */

/* The StorageClass the target claim gets: explicit, else the default. */
static const char *target_class(kvg_ctx *c, const dv_facts *f)
{
    const char *sc = kvg_json_str(f->target, "storageClassName", NULL);
    return sc ? sc : kvg_storage_default_class(c->view);
}

static void rule_snapshot_restorable(kvg_ctx *c, dv_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE))
        return;
    if (f->src != SRC_SNAPSHOT) {
        kvg_ctx_skip(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, "not a snapshot clone");
        return;
    }
    if (!f->snapshot) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, KVG_OUTCOME_FAIL,
                     "DataVolume %s clones VolumeSnapshot %s/%s, which does not exist", f->self,
                     f->src_ns, str_or(f->src_name, "?"));
        return;
    }
    if (!kvg_json_bool(false, f->snapshot, "status", "readyToUse", NULL)) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, KVG_OUTCOME_FAIL,
                     "VolumeSnapshot %s/%s is not ready to use: wait for status.readyToUse: true before "
                     "cloning it into DataVolume %s", f->src_ns, f->src_name, f->self);
        return;
    }
    /* CDI restores with the snapshot's own driver (a temporary claim in its
     * class when the target's class differs), so that driver must restore. */
    const char *vscn = kvg_json_str(f->snapshot, "spec", "volumeSnapshotClassName", NULL);
    const json_object *vsc = vscn ? kvg_view_get(c->view, KVG_KIND_VOLUMESNAPSHOTCLASS, NULL, vscn) : NULL;
    const char *driver = vsc ? kvg_json_str(vsc, "driver", NULL) : NULL;
    const char *sc = target_class(c, f);
    kvg_claim_storage cs;
    memset(&cs, 0, sizeof cs);
    kvg_storage_resolve_class(c->view, sc, &cs);
    const char *prov = driver ? driver : cs.provisioner;
    if (!prov) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, KVG_OUTCOME_UNKNOWN,
                     "cannot tell which provisioner restores VolumeSnapshot %s/%s: %s", f->src_ns,
                     f->src_name, sc ? cs.why : "no StorageClass and no default");
        return;
    }
    kvg_capability cap;
    kvg_capability_for(c->cfg, driver ? NULL : sc, prov, &cap, NULL);
    if (cap.restore == KVG_NO) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, KVG_OUTCOME_FAIL,
                     "DataVolume %s cannot be restored from VolumeSnapshot %s/%s: provisioner %s cannot "
                     "create a volume from a snapshot; clone the source PVC instead", f->self, f->src_ns,
                     f->src_name, prov);
        return;
    }
    if (cap.restore == KVG_UNKNOWN) {
        kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, KVG_OUTCOME_UNKNOWN,
                     "cannot tell whether provisioner %s restores snapshots: add it to the capability "
                     "overrides", prov);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, KVG_OUTCOME_PASS,
                 "VolumeSnapshot %s/%s is ready; provisioner %s restores it", f->src_ns, f->src_name, prov);
}

static void lookup(kvg_ctx *c, dv_facts *f)
{
    if (!f->src_name || !*f->src_name)
        return;
    if (f->src == SRC_PVC)
        f->src_pvc = kvg_view_get(c->view, KVG_KIND_PVC, f->src_ns, f->src_name);
    else if (f->src == SRC_SNAPSHOT)
        f->snapshot = kvg_view_get(c->view, KVG_KIND_VOLUMESNAPSHOT, f->src_ns, f->src_name);
}

static void validate(kvg_ctx *c)
{
    dv_facts f;
    init_facts(c, &f);
    static const kvg_rule_id ALL[] = {
        KVG_RULE_DATAVOLUME_CLONE_SOURCE, KVG_RULE_DATAVOLUME_CLONE_SIZE,
        KVG_RULE_DATAVOLUME_CLONE_CONTENT, KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE,
        KVG_RULE_DATAVOLUME_CLONE_SOURCE_IN_USE, KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE};
    const char *skip = c->req->operation != KVG_OP_CREATE ? "not a CREATE"
                       : f.src == SRC_NONE                 ? "not a clone (no spec.source.pvc or .snapshot)"
                       : !c->lookups                       ? "cluster state unavailable"
                                                           : NULL;
    if (skip) {
        for (size_t i = 0; i < sizeof ALL / sizeof ALL[0]; i++)
            if (kvg_ctx_should_run(c, ALL[i]))
                kvg_ctx_skip(c, ALL[i], "%s", skip);
        return;
    }
    lookup(c, &f);
    rule_source(c, &f);
    rule_size(c, &f);
    rule_content(c, &f);
    rule_volume_mode(c, &f);
    rule_in_use(c, &f);
    rule_snapshot_restorable(c, &f);
}

/* ---- mutation ---------------------------------------------------------------- */

static void mutate(kvg_ctx *c)
{
    dv_facts f;
    init_facts(c, &f);
    if (c->req->operation != KVG_OP_CREATE || f.src != SRC_PVC)
        return;
    json_object *ops = json_object_new_array();
    if (!ops) {
        c->err = KVG_ENOMEM;
        return;
    }
    kvg_err e = KVG_OK;
    /* CDI's validator refuses an empty namespace: it means "the DataVolume's" */
    const char *srcns = kvg_json_str(f.spec, "source", "pvc", "namespace", NULL);
    if (!srcns || !*srcns) {
        const char *tok[] = {"spec", "source", "pvc", "namespace"};
        e = kvg_patch_set(ops, f.obj, tok, 4, json_object_new_string(f.ns));
        kvg_ctx_explain(c, "  source.pvc.namespace -> %s", f.ns);
    }
    if (e == KVG_OK && f.api && !target_size(&f) && c->lookups && f.src_name && *f.src_name) {
        const json_object *pvc = kvg_view_get(c->view, KVG_KIND_PVC, f.src_ns, f.src_name);
        const char *size = pvc ? kvg_json_str(pvc, "status", "capacity", "storage", NULL) : NULL;
        if (pvc && !size)
            size = claim_size(pvc);
        if (size) {
            const char *tok[] = {"spec", f.api, "resources", "requests", "storage"};
            e = kvg_patch_set(ops, f.obj, tok, 5, json_object_new_string(size));
            kvg_ctx_explain(c, "  spec.%s size -> %s (source PVC %s/%s)", f.api, size, f.src_ns, f.src_name);
        } else {
            kvg_ctx_explain(c, "  size not set: source PVC %s/%s %s", f.src_ns, f.src_name,
                            pvc ? "has no size" : "not in the cluster view");
        }
    }
    kvg_ctx_patch_ops(c, e, ops);
    json_object_put(ops);
}

void kvg_decide_datavolume(kvg_ctx *c)
{
    if (c->opts->mutate)
        mutate(c);
    else
        validate(c);
}
