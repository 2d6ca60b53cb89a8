/* VirtualMachineSnapshot (snapshot.kubevirt.io v1alpha1 and v1beta1):
 * the rules of SPEC §3 and the VMI -> VM source mutation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"
#include "policy/storage.h"

/* Facts gathered once and shared by the rules of one decision. */
typedef struct snap_facts {
    char self[320];           /* "ns/name" of the snapshot */
    const char *ns;
    const char *vm_name;      /* spec.source.name */
    const json_object *vm;    /* the source VM (view), NULL when missing */
    kvg_volume_info *vols;    /* its snapshottable volumes */
    size_t n_vols;
    bool vols_bad;            /* spec.template.spec.volumes is malformed */
} snap_facts;

/* ---- snapshot-source-ref -------------------------------------------------- */

/* KubeVirt's checks (pkg/storage/admitters/vmsnapshot.go) with its cause
 * types, messages and fields. Returns true when the reference is usable. */
static bool source_ref(kvg_ctx *c, snap_facts *f)
{
    json_object *v;
    char bad[128];
    const char *group, *kind;
    kvg_field_state st;
    if (!kvg_ctx_should_run(c, KVG_RULE_SNAPSHOT_SOURCE_REF))
        return true; /* off: take the reference as it is */
    st = kvg_field_get(c->req->object, "spec.source", json_type_object, &v,
                       bad, sizeof bad);
    if (st == KVG_FIELD_WRONG_TYPE) {
        kvg_ctx_invalid(c, bad, "must be an object");
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_REF, KVG_OUTCOME_FAIL,
                     "VirtualMachineSnapshot %s: %s must be an object "
                     "(spec.source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: <vm>})",
                     f->self, bad);
        return false;
    }
    st = kvg_field_get(c->req->object, "spec.source.apiGroup", json_type_string,
                       &v, bad, sizeof bad);
    if (st != KVG_FIELD_OK) {
        bool missing = st == KVG_FIELD_MISSING;
        kvg_ctx_cause(c, missing ? "FieldValueNotFound" : "FieldValueInvalid",
                      "spec.source.apiGroup",
                      missing ? "missing apiGroup" : "invalid apiGroup");
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_REF, KVG_OUTCOME_FAIL,
                     "VirtualMachineSnapshot %s: spec.source.apiGroup: %s; set "
                     "it to kubevirt.io", f->self,
                     missing ? "missing apiGroup" : "must be a string");
        return false;
    }
    group = json_object_get_string(v);
    kind = kvg_json_str(c->req->object, "spec", "source", "kind", NULL);
    if (strcmp(group, "kubevirt.io")) {
        kvg_ctx_invalid(c, "spec.source.apiGroup", "invalid apiGroup");
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_REF, KVG_OUTCOME_FAIL,
                     "VirtualMachineSnapshot %s: invalid apiGroup \"%s\" in "
                     "spec.source: only kubevirt.io VirtualMachines can be "
                     "snapshotted", f->self, group);
        return false;
    }
    if (!kind || strcmp(kind, "VirtualMachine")) {
        bool vmi = kind && !strcmp(kind, "VirtualMachineInstance");
        kvg_ctx_invalid(c, "spec.source.kind", "invalid kind");
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_REF, KVG_OUTCOME_FAIL,
                     "VirtualMachineSnapshot %s: invalid kind \"%s\" in "
                     "spec.source: use kind VirtualMachine%s", f->self,
                     kind ? kind : "",
                     vmi ? " (this VMI has no owning VirtualMachine that "
                           "kvguard's mutating webhook could substitute)"
                         : "");
        return false;
    }
    kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_REF, KVG_OUTCOME_PASS,
                 "kubevirt.io VirtualMachine");
    return true;
}

/* ---- snapshot-source-exists ----------------------------------------------- */

static void source_exists(kvg_ctx *c, snap_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_SNAPSHOT_SOURCE_EXISTS))
        return;
    if (!f->vm_name || !*f->vm_name) {
        bool wrong = kvg_field_get(c->req->object, "spec.source.name", json_type_string,
                                   NULL, NULL, 0) == KVG_FIELD_WRONG_TYPE;
        kvg_ctx_cause(c, wrong ? "FieldValueInvalid" : "FieldValueRequired",
                      "spec.source.name", wrong ? "must be a string" : "missing name");
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_EXISTS, KVG_OUTCOME_FAIL,
                     "VirtualMachineSnapshot %s: spec.source.name %s; name the "
                     "VirtualMachine to snapshot", f->self,
                     wrong ? "must be a string" : "is empty");
        return;
    }
    if (!f->vm) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_EXISTS, KVG_OUTCOME_FAIL,
                     "VirtualMachineSnapshot %s: VirtualMachine %s/%s does not "
                     "exist; fix spec.source.name or create the VM first",
                     f->self, f->ns, f->vm_name);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_SOURCE_EXISTS, KVG_OUTCOME_PASS,
                 "VirtualMachine %s/%s exists", f->ns, f->vm_name);
}

/* ---- snapshot-volume-support ---------------------------------------------- */

static void explain_volume(kvg_ctx *c, const kvg_volume_info *vi)
{
    const kvg_claim_storage *st = &vi->st;
    kvg_ctx_explain(c, "  volume %s: %s %s%s -> StorageClass %s (%s) -> "
                    "provisioner %s -> VolumeSnapshotClass %s [%s: %s]",
                    vi->volume, vi->type, vi->claim,
                    vi->claim_found ? (vi->claim_bound ? " (Bound)" : " (not Bound)") : "",
                    st->storage_class ? st->storage_class : "(none)",
                    st->sc_source ? st->sc_source : "unresolved",
                    st->provisioner ? st->provisioner : "(unknown)",
                    st->snapshot_class ? st->snapshot_class : "(none)",
                    kvg_snap_support_name(st->support), st->why);
}

/* The remedy for a volume KubeVirt would skip. */
static void remedy(const kvg_ctx *c, const kvg_volume_info *vi, char *buf,
                   size_t len)
{
    const kvg_claim_storage *st = &vi->st;
    kvg_capability cap;
    if (st->support == KVG_SNAP_AMBIGUOUS) {
        snprintf(buf, len, "annotate one of them with "
                 "snapshot.storage.kubernetes.io/is-default-class: \"true\"");
        return;
    }
    if (st->support == KVG_SNAP_UNKNOWN) {
        snprintf(buf, len, "kvguard cannot verify it and refuses a snapshot "
                 "that might silently miss this disk");
        return;
    }
    if (vi->from_status || !st->storage_class || !st->provisioner) {
        snprintf(buf, len, "move the disk to a StorageClass whose provisioner "
                 "has a VolumeSnapshotClass");
        return;
    }
    kvg_capability_for(c->cfg, st->storage_class, st->provisioner, &cap, NULL);
    if (cap.snapshot == KVG_NO)
        snprintf(buf, len, "provisioner %s cannot take snapshots: move the "
                 "disk to a StorageClass that can, or remove it from the VM",
                 st->provisioner);
    else
        snprintf(buf, len, "create a VolumeSnapshotClass with driver %s",
                 st->provisioner);
}

static bool volume_bad(const kvg_volume_info *vi)
{
    return vi->st.support != KVG_SNAP_SUPPORTED;
}

static void volume_support(kvg_ctx *c, snap_facts *f)
{
    const kvg_volume_info *first = NULL;
    size_t n_bad = 0, n_unknown = 0;
    char fix[256];
    if (!kvg_ctx_should_run(c, KVG_RULE_SNAPSHOT_VOLUME_SUPPORT))
        return;
    if (f->vols_bad) {
        kvg_ctx_rule_strict(c, KVG_RULE_SNAPSHOT_VOLUME_SUPPORT, KVG_OUTCOME_FAIL,
                            "VirtualMachine %s/%s: spec.template.spec.volumes is "
                            "malformed (not a list of at most %d volume objects); "
                            "cannot tell which disks the snapshot would contain",
                            f->ns, f->vm_name, KVG_MAX_LIST);
        return;
    }
    for (size_t i = 0; i < f->n_vols; i++) {
        const kvg_volume_info *vi = &f->vols[i];
        explain_volume(c, vi);
        if (!volume_bad(vi))
            continue;
        if (vi->st.support == KVG_SNAP_UNKNOWN)
            n_unknown++;
        else
            n_bad++;
        /* Report a definite failure before an unknown. */
        if (!first || (first->st.support == KVG_SNAP_UNKNOWN &&
                       vi->st.support != KVG_SNAP_UNKNOWN))
            first = vi;
    }
    if (!first) {
        kvg_ctx_rule_strict(c, KVG_RULE_SNAPSHOT_VOLUME_SUPPORT, KVG_OUTCOME_PASS,
                            "%zu snapshottable volume%s, each with a VolumeSnapshotClass",
                            f->n_vols, f->n_vols == 1 ? "" : "s");
        return;
    }
    remedy(c, first, fix, sizeof fix);
    kvg_ctx_rule_strict(
        c, KVG_RULE_SNAPSHOT_VOLUME_SUPPORT,
        n_bad ? KVG_OUTCOME_FAIL : KVG_OUTCOME_UNKNOWN,
        "the snapshot would contain no data for volume %s of VM %s/%s (%s %s, "
        "StorageClass %s, provisioner %s): %s; %s%s",
        first->volume, f->ns, f->vm_name, first->type, first->claim,
        first->st.storage_class ? first->st.storage_class : "(none)",
        first->st.provisioner ? first->st.provisioner : "(unknown)",
        first->st.why, fix,
        n_bad + n_unknown > 1 ? " (and other volumes: see --explain)" : "");
}

/* ---- snapshot-vm-busy ----------------------------------------------------- */

typedef struct busy_scan {
    const char *vm, *self;
    const char *found;
} busy_scan;

/* KubeVirt: a snapshot progresses until it is Succeeded or Failed; before
 * its controller writes a phase it has none. */
static bool snapshot_in_progress(const json_object *s)
{
    const char *phase = kvg_json_str(s, "status", "phase", NULL);
    if (kvg_json_bool(false, s, "status", "readyToUse", NULL))
        return false;
    return !phase || !*phase || !strcmp(phase, "InProgress");
}

static int each_snapshot(const json_object *s, void *ud)
{
    busy_scan *b = ud;
    const char *name = kvg_json_str(s, "metadata", "name", NULL);
    const char *src = kvg_json_str(s, "spec", "source", "name", NULL);
    const char *kind = kvg_json_str(s, "spec", "source", "kind", NULL);
    if (!name || !src || strcmp(src, b->vm) || !strcmp(name, b->self))
        return 0;
    if (kind && strcmp(kind, "VirtualMachine"))
        return 0;
    if (!snapshot_in_progress(s))
        return 0;
    b->found = name;
    return 1;
}

static void vm_busy(kvg_ctx *c, snap_facts *f)
{
    const char *restore, *locker;
    const char *self = c->req->name && *c->req->name ? c->req->name
                       : kvg_json_str(c->req->object, "metadata", "name", NULL);
    busy_scan b = {f->vm_name, self ? self : "", NULL};
    if (!kvg_ctx_should_run(c, KVG_RULE_SNAPSHOT_VM_BUSY))
        return;
    restore = kvg_json_str(f->vm, "status", "restoreInProgress", NULL);
    if (restore && *restore) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_VM_BUSY, KVG_OUTCOME_FAIL,
                     "VM %s/%s has VirtualMachineRestore %s in progress "
                     "(status.restoreInProgress); wait until it completes",
                     f->ns, f->vm_name, restore);
        return;
    }
    locker = kvg_json_str(f->vm, "status", "snapshotInProgress", NULL);
    if (locker && *locker && strcmp(locker, b.self)) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_VM_BUSY, KVG_OUTCOME_FAIL,
                     "VM %s/%s is being snapshotted by VirtualMachineSnapshot "
                     "%s (status.snapshotInProgress); wait until it completes",
                     f->ns, f->vm_name, locker);
        return;
    }
    kvg_view_each_mentioning(c->view, KVG_KIND_VMSNAPSHOT, f->ns, f->vm_name, each_snapshot, &b);
    if (b.found) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_VM_BUSY, KVG_OUTCOME_FAIL,
                     "VM %s/%s already has VirtualMachineSnapshot %s in "
                     "progress; wait until it is Succeeded or Failed",
                     f->ns, f->vm_name, b.found);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_VM_BUSY, KVG_OUTCOME_PASS,
                 "no restore or other snapshot in progress");
}

/* ---- snapshot-online-consistency ------------------------------------------ */

static bool agent_connected(const json_object *vmi)
{
    json_object *conds = kvg_json_array(vmi, "status", "conditions", NULL);
    size_t n = conds ? json_object_array_length(conds) : 0;
    for (size_t i = 0; i < n && i < KVG_MAX_LIST; i++) {
        json_object *cd = json_object_array_get_idx(conds, i);
        if (kvg_json_str_eq(cd, "type", "AgentConnected") &&
            kvg_json_str_eq(cd, "status", "True"))
            return true;
    }
    return false;
}

/* A volume whose storage cannot take a point-in-time snapshot while in use
 * (tar-based drivers), or NULL. */
static const kvg_volume_info *not_point_in_time(const kvg_ctx *c,
                                                const snap_facts *f)
{
    for (size_t i = 0; i < f->n_vols; i++) {
        kvg_capability cap;
        const kvg_volume_info *vi = &f->vols[i];
        if (!vi->st.provisioner)
            continue;
        kvg_capability_for(c->cfg, vi->st.storage_class, vi->st.provisioner,
                           &cap, NULL);
        if (cap.online_snapshot == KVG_NO)
            return vi;
    }
    return NULL;
}

static void online_consistency(kvg_ctx *c, snap_facts *f)
{
    kvg_power pw;
    const json_object *vmi;
    const kvg_volume_info *tar;
    if (!kvg_ctx_should_run(c, KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY))
        return;
    kvg_vm_power(c->view, f->vm, &pw);
    kvg_ctx_explain(c, "  power: %s (%s)", pw.on ? "on" : "off", pw.why);
    if (!pw.on) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY, KVG_OUTCOME_PASS,
                     "VM is powered off: offline snapshot");
        return;
    }
    if ((tar = not_point_in_time(c, f))) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY, KVG_OUTCOME_FAIL,
                     "VM %s/%s runs; %s snapshots copy a live disk: stop the VM",
                     f->ns, f->vm_name, tar->st.provisioner);
        return;
    }
    vmi = kvg_view_get(c->view, KVG_KIND_VMI, f->ns, f->vm_name);
    if (vmi && agent_connected(vmi)) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY, KVG_OUTCOME_PASS,
                     "guest agent connected: filesystems are frozen");
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY, KVG_OUTCOME_FAIL,
                 "VM %s/%s runs without guest agent: crash-consistent only",
                 f->ns, f->vm_name);
}

/* ---- snapshot-backend-storage --------------------------------------------- */

static void backend_storage(kvg_ctx *c, snap_facts *f)
{
    bool tpm, efi;
    if (!kvg_ctx_should_run(c, KVG_RULE_SNAPSHOT_BACKEND_STORAGE))
        return;
    tpm = kvg_json_bool(false, f->vm, "spec", "template", "spec", "domain",
                        "devices", "tpm", "persistent", NULL);
    efi = kvg_json_bool(false, f->vm, "spec", "template", "spec", "domain",
                        "firmware", "bootloader", "efi", "persistent", NULL);
    if (!tpm && !efi) {
        kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_BACKEND_STORAGE, KVG_OUTCOME_PASS,
                     "no persistent TPM/EFI");
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_SNAPSHOT_BACKEND_STORAGE, KVG_OUTCOME_FAIL,
                 "VM %s/%s has persistent %s: restorable onto this VM only",
                 f->ns, f->vm_name, tpm && efi ? "TPM+EFI" : tpm ? "TPM" : "EFI");
}

/* ---- validation ----------------------------------------------------------- */

static void skip_vm_rules(kvg_ctx *c, const char *why)
{
    static const kvg_rule_id ids[] = {
        KVG_RULE_SNAPSHOT_VOLUME_SUPPORT, KVG_RULE_SNAPSHOT_VM_BUSY,
        KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY, KVG_RULE_SNAPSHOT_BACKEND_STORAGE};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        kvg_ctx_skip(c, ids[i], "%s", why);
}

static void validate_create(kvg_ctx *c)
{
    snap_facts f;
    kvg_err e;
    memset(&f, 0, sizeof f);
    kvg_ctx_objname(c, f.self, sizeof f.self);
    f.ns = c->req->namespace_ ? c->req->namespace_ : "";
    f.vm_name = kvg_json_str(c->req->object, "spec", "source", "name", NULL);
    if (!source_ref(c, &f)) {
        kvg_ctx_skip(c, KVG_RULE_SNAPSHOT_SOURCE_EXISTS, "no valid source");
        skip_vm_rules(c, "no valid source");
        return;
    }
    if (c->lookups && f.vm_name && *f.vm_name)
        f.vm = kvg_view_get(c->view, KVG_KIND_VM, f.ns, f.vm_name);
    source_exists(c, &f);
    if (!f.vm) {
        skip_vm_rules(c, c->lookups ? "no source VM" : "cluster state unavailable");
        return;
    }
    e = kvg_storage_vm_volumes(c->view, f.vm, f.ns, &f.vols, &f.n_vols);
    if (e == KVG_ENOMEM) {
        c->err = e;
        return;
    }
    f.vols_bad = e != KVG_OK;
    volume_support(c, &f);
    vm_busy(c, &f);
    online_consistency(c, &f);
    backend_storage(c, &f);
    free(f.vols);
}

/* ---- mutation: VMI source -> its VirtualMachine --------------------------- */

static const char *owning_vm(const json_object *vmi)
{
    json_object *refs = kvg_json_array(vmi, "metadata", "ownerReferences", NULL);
    size_t n = refs ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n && i < KVG_MAX_LIST; i++) {
        json_object *r = json_object_array_get_idx(refs, i);
        const char *api = kvg_json_str(r, "apiVersion", NULL);
        if (kvg_json_str_eq(r, "kind", "VirtualMachine") && api &&
            !strncmp(api, "kubevirt.io/", 12) &&
            kvg_json_bool(false, r, "controller", NULL))
            return kvg_json_str(r, "name", NULL);
    }
    return NULL;
}

static void mutate_source(kvg_ctx *c)
{
    const json_object *obj = c->req->object;
    const char *kind = kvg_json_str(obj, "spec", "source", "kind", NULL);
    const char *group = kvg_json_str(obj, "spec", "source", "apiGroup", NULL);
    const char *name = kvg_json_str(obj, "spec", "source", "name", NULL);
    const char *ns = c->req->namespace_ ? c->req->namespace_ : "";
    const json_object *vmi;
    const char *vm;
    char note[400];
    if (c->req->operation != KVG_OP_CREATE || !kind ||
        strcmp(kind, "VirtualMachineInstance") || !name ||
        (group && strcmp(group, "kubevirt.io")))
        return; /* nothing to do; idempotent once the source is a VM */
    if (!c->lookups) {
        kvg_ctx_explain(c, "  source VMI %s/%s: cluster state unavailable, not mutated",
                        ns, name);
        return;
    }
    vmi = kvg_view_get(c->view, KVG_KIND_VMI, ns, name);
    if (!vmi || !(vm = owning_vm(vmi))) {
        kvg_ctx_explain(c, "  source VMI %s/%s: %s, not mutated", ns, name,
                        vmi ? "not owned by a VirtualMachine" : "not found");
        return;
    }
    if (!group)
        kvg_ctx_patch(c, "add", "/spec/source/apiGroup",
                      json_object_new_string("kubevirt.io"));
    kvg_ctx_patch(c, "replace", "/spec/source/kind",
                  json_object_new_string("VirtualMachine"));
    if (strcmp(vm, name))
        kvg_ctx_patch(c, "replace", "/spec/source/name", json_object_new_string(vm));
    snprintf(note, sizeof note, "VirtualMachineInstance/%s -> VirtualMachine/%s",
             name, vm);
    kvg_ctx_annotate(c, "snapshot-source", note);
}

void kvg_decide_snapshot(kvg_ctx *c)
{
    if (c->opts->mutate) {
        mutate_source(c);
        return;
    }
    if (c->req->operation == KVG_OP_UPDATE) {
        kvg_ctx_immutable(c, KVG_RULE_SNAPSHOT_IMMUTABLE);
        return;
    }
    validate_create(c);
}
