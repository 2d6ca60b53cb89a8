/* VirtualMachineRestore (snapshot.kubevirt.io v1alpha1 and v1beta1): the
 * rules of SPEC §3 and the pre-restore-claims annotation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"
#include "policy/storage.h"

#define PRE_RESTORE_CLAIMS "kvguard.io/pre-restore-claims"

typedef struct restore_facts {
    char self[320];
    const char *ns, *name;          /* of the restore */
    const char *target;             /* spec.target.name */
    const char *snap_name;          /* spec.virtualMachineSnapshotName */
    const json_object *snap;        /* the VirtualMachineSnapshot */
    const json_object *content;     /* its VirtualMachineSnapshotContent */
    const char *content_name;
    const json_object *vm;          /* the existing target VM, or NULL */
    bool target_ok;                 /* spec.target is a kubevirt.io VM */
} restore_facts;

/* ---- restore-target-ref (KubeVirt's vmrestore admitter) ------------------- */

/* KubeVirt splits each patch on ',' and ':' (after trimming '{' and '}') and
 * looks at the "path" values: same allow/deny on the same input. */
static void check_patch(kvg_ctx *c, const char *patch, size_t *n)
{
    size_t len = strlen(patch), b = 0, e = len;
    while (b < e && (patch[b] == '{' || patch[b] == '}'))
        b++;
    while (e > b && (patch[e - 1] == '{' || patch[e - 1] == '}'))
        e--;
    for (size_t s = b; s <= e;) {
        size_t t = s, colons = 0, colon = 0;
        char kv[512], msg[640];
        while (t < e && patch[t] != ',') {
            if (patch[t] == ':' && colons++ == 0)
                colon = t;
            t++;
        }
        snprintf(kv, sizeof kv, "%.*s", (int)(t - s), patch + s);
        if (colons != 1) {
            snprintf(msg, sizeof msg, "patch format is not valid - one \":\" "
                     "expected in a single key-value json patch: %s", kv);
            kvg_ctx_invalid(c, "spec.patches", msg);
            (*n)++;
        } else {
            size_t kb = s, ke = colon, vb = colon + 1, ve = t;
            while (kb < ke && (patch[kb] == ' ' || patch[kb] == '\t' || patch[kb] == '\n'))
                kb++;
            while (ke > kb && (patch[ke - 1] == ' ' || patch[ke - 1] == '\t' || patch[ke - 1] == '\n'))
                ke--;
            while (vb < ve && (patch[vb] == ' ' || patch[vb] == '\t' || patch[vb] == '\n'))
                vb++;
            if (ke - kb == 6 && !strncmp(patch + kb, "\"path\"", 6)) {
                const char *v = patch + vb;
                size_t vl = ve - vb;
#define HAS(p) (vl >= sizeof(p) - 1 && !strncmp(v, p, sizeof(p) - 1))
                if (!HAS("\"/metadata/labels/") && !HAS("\"/metadata/annotations/") &&
                    !HAS("\"/spec/")) {
                    snprintf(msg, sizeof msg, "patching is valid only for "
                             "elements under /spec/ only: %s", kv);
                    kvg_ctx_invalid(c, "spec.patches", msg);
                    (*n)++;
                }
#undef HAS
            }
        }
        s = t + 1;
    }
}

static size_t check_patches(kvg_ctx *c)
{
    json_object *arr;
    size_t n = 0, len;
    kvg_field_state st = kvg_field_get(c->req->object, "spec.patches",
                                       json_type_array, &arr, NULL, 0);
    if (st == KVG_FIELD_MISSING)
        return 0;
    if (st == KVG_FIELD_WRONG_TYPE) {
        kvg_ctx_invalid(c, "spec.patches", "must be a list of strings");
        return 1;
    }
    len = json_object_array_length(arr);
    if (len > KVG_MAX_LIST) {
        kvg_ctx_invalid(c, "spec.patches", "too many patches");
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        const char *p = kvg_json_as_str(json_object_array_get_idx(arr, i));
        if (!p) {
            kvg_ctx_invalid(c, "spec.patches", "must be a list of strings");
            n++;
            continue;
        }
        check_patch(c, p, &n);
    }
    return n;
}

static size_t check_overrides(kvg_ctx *c)
{
    json_object *arr;
    size_t n = 0, len;
    char field[96];
    kvg_field_state st = kvg_field_get(c->req->object, "spec.volumeRestoreOverrides",
                                       json_type_array, &arr, NULL, 0);
    if (st == KVG_FIELD_MISSING)
        return 0;
    if (st == KVG_FIELD_WRONG_TYPE) {
        kvg_ctx_invalid(c, "spec.volumeRestoreOverrides", "must be a list");
        return 1;
    }
    len = json_object_array_length(arr);
    if (len > KVG_MAX_LIST) {
        kvg_ctx_invalid(c, "spec.volumeRestoreOverrides", "too many overrides");
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *vol = kvg_json_str(o, "volumeName", NULL);
        const char *rn = kvg_json_str(o, "restoreName", NULL);
        if (!json_object_is_type(o, json_type_object)) {
            snprintf(field, sizeof field, "spec.volumeRestoreOverrides[%zu]", i);
            kvg_ctx_invalid(c, field, "must be an object");
            n++;
            continue;
        }
        if (!vol || !*vol) {
            snprintf(field, sizeof field,
                     "spec.volumeRestoreOverrides[%zu].volumeName", i);
            kvg_ctx_cause(c, "FieldValueRequired", field, "must provide a volume name");
            n++;
        }
        /* Go: an absent or null map is nil; {} is not. */
        if ((!rn || !*rn) && !kvg_json_path(o, "labels", NULL) &&
            !kvg_json_path(o, "annotations", NULL)) {
            snprintf(field, sizeof field, "spec.volumeRestoreOverrides[%zu]", i);
            kvg_ctx_cause(c, "FieldValueRequired", field,
                          "must provide at least one overriden field");
            n++;
        }
    }
    return n;
}

/* An optional enum field: absent is fine, else one of the values. */
static size_t check_enum(kvg_ctx *c, const char *field, const char *what,
                         const char *const *values)
{
    json_object *v;
    char msg[320];
    kvg_field_state st = kvg_field_get(c->req->object, field, json_type_string,
                                       &v, NULL, 0);
    if (st == KVG_FIELD_MISSING)
        return 0;
    if (st == KVG_FIELD_OK)
        for (const char *const *p = values; *p; p++)
            if (!strcmp(json_object_get_string(v), *p))
                return 0;
    snprintf(msg, sizeof msg, "%s \"%s\" doesn't exist", what,
             st == KVG_FIELD_OK ? json_object_get_string(v) : "(not a string)");
    kvg_ctx_invalid(c, field, msg);
    return 1;
}

/* The first pending cause message, for the rule message. */
static const char *first_cause(const kvg_ctx *c, const char **field)
{
    json_object *cause = c->pending && json_object_array_length(c->pending)
                             ? json_object_array_get_idx(c->pending, 0) : NULL;
    *field = kvg_json_str(cause, "field", NULL);
    return kvg_json_str(cause, "message", NULL);
}

static void target_ref(kvg_ctx *c, restore_facts *f)
{
    static const char *const restore_policies[] = {"InPlace", "RandomizeNames", NULL};
    static const char *const ownership_policies[] = {"Vm", "None", NULL};
    json_object *v;
    char bad[128];
    const char *group, *kind, *cmsg, *cfield;
    size_t n = 0;
    kvg_field_state st;
    f->target_ok = false;
    if (!kvg_ctx_should_run(c, KVG_RULE_RESTORE_TARGET_REF)) {
        kind = kvg_json_str(c->req->object, "spec", "target", "kind", NULL);
        f->target_ok = kind && !strcmp(kind, "VirtualMachine");
        return;
    }
    st = kvg_field_get(c->req->object, "spec.target", json_type_object, &v, bad,
                       sizeof bad);
    if (st == KVG_FIELD_WRONG_TYPE) {
        kvg_ctx_invalid(c, bad, "must be an object");
        n++;
    } else if (kvg_field_get(c->req->object, "spec.target.apiGroup",
                             json_type_string, &v, bad, sizeof bad) != KVG_FIELD_OK) {
        kvg_ctx_cause(c, "FieldValueNotFound", "spec.target.apiGroup",
                      "missing apiGroup");
        n++;
    } else if (strcmp((group = json_object_get_string(v)), "kubevirt.io")) {
        kvg_ctx_invalid(c, "spec.target.apiGroup", "invalid apiGroup");
        n++;
    } else if (!(kind = kvg_json_str(c->req->object, "spec", "target", "kind", NULL)) ||
               strcmp(kind, "VirtualMachine")) {
        kvg_ctx_invalid(c, "spec.target.kind", "invalid kind");
        n++;
    } else {
        f->target_ok = true;
        if (!f->target || !*f->target) {
            kvg_ctx_cause(c, "FieldValueRequired", "spec.target.name",
                          "must name the target VirtualMachine");
            n++;
        }
        n += check_patches(c);
        n += check_overrides(c);
        n += check_enum(c, "spec.volumeRestorePolicy", "volume restore policy",
                        restore_policies);
        n += check_enum(c, "spec.volumeOwnershipPolicy", "volume ownership policy",
                        ownership_policies);
    }
    if (!n) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_REF, KVG_OUTCOME_PASS,
                     "kubevirt.io VirtualMachine %s", f->target);
        return;
    }
    cmsg = first_cause(c, &cfield);
    kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_REF, KVG_OUTCOME_FAIL,
                 "VirtualMachineRestore %s: %s: %s%s", f->self,
                 cfield ? cfield : "spec", cmsg ? cmsg : "invalid",
                 n > 1 ? " (and more: see details.causes)" : "");
}

/* ---- restore-snapshot-ready ----------------------------------------------- */

static void snapshot_ready(kvg_ctx *c, restore_facts *f)
{
    const char *phase, *err;
    if (!kvg_ctx_should_run(c, KVG_RULE_RESTORE_SNAPSHOT_READY))
        return;
    if (!f->snap_name || !*f->snap_name) {
        kvg_ctx_cause(c, "FieldValueRequired", "spec.virtualMachineSnapshotName",
                      "must name a VirtualMachineSnapshot");
        kvg_ctx_rule(c, KVG_RULE_RESTORE_SNAPSHOT_READY, KVG_OUTCOME_FAIL,
                     "VirtualMachineRestore %s: spec.virtualMachineSnapshotName "
                     "is empty; name the VirtualMachineSnapshot to restore", f->self);
        return;
    }
    if (!f->snap) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_SNAPSHOT_READY, KVG_OUTCOME_FAIL,
                     "VirtualMachineRestore %s: VirtualMachineSnapshot %s/%s "
                     "does not exist", f->self, f->ns, f->snap_name);
        return;
    }
    phase = kvg_json_str(f->snap, "status", "phase", NULL);
    if (phase && !strcmp(phase, "Failed")) {
        err = kvg_json_str(f->snap, "status", "error", "message", NULL);
        kvg_ctx_rule(c, KVG_RULE_RESTORE_SNAPSHOT_READY, KVG_OUTCOME_FAIL,
                     "VirtualMachineRestore %s: VirtualMachineSnapshot %s/%s "
                     "failed%s%s; take a new snapshot", f->self, f->ns,
                     f->snap_name, err ? ": " : "", err ? err : "");
        return;
    }
    if (!kvg_json_bool(false, f->snap, "status", "readyToUse", NULL)) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_SNAPSHOT_READY, KVG_OUTCOME_FAIL,
                     "VirtualMachineRestore %s: VirtualMachineSnapshot %s/%s "
                     "is not ready (phase %s, readyToUse not true); wait for "
                     "it to become ready", f->self, f->ns, f->snap_name,
                     phase && *phase ? phase : "none yet");
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_RESTORE_SNAPSHOT_READY, KVG_OUTCOME_PASS,
                 "VirtualMachineSnapshot %s is ready", f->snap_name);
}

/* ---- restore-target-powered-off ------------------------------------------- */

static void powered_off(kvg_ctx *c, restore_facts *f)
{
    kvg_power pw;
    const char *policy;
    if (!kvg_ctx_should_run(c, KVG_RULE_RESTORE_TARGET_POWERED_OFF))
        return;
    if (!f->vm) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_POWERED_OFF, KVG_OUTCOME_PASS,
                     "target VM %s does not exist: it will be created", f->target);
        return;
    }
    kvg_vm_power(c->view, f->vm, &pw);
    kvg_ctx_explain(c, "  target power: %s (%s)", pw.on ? "on" : "off", pw.why);
    if (!pw.on) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_POWERED_OFF, KVG_OUTCOME_PASS,
                     "target VM is powered off (%s)", pw.why);
        return;
    }
    policy = kvg_json_str(c->req->object, "spec", "targetReadinessPolicy", NULL);
    if (policy && !strcmp(policy, "StopTarget")) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_POWERED_OFF, KVG_OUTCOME_PASS,
                     "target VM is on; targetReadinessPolicy StopTarget stops it");
        kvg_ctx_warn(c, "restore-target-powered-off: VM %s/%s is running and "
                     "will be stopped (StopTarget)", f->ns, f->target);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_POWERED_OFF, KVG_OUTCOME_FAIL,
                 "target VM %s/%s is running (%s): KubeVirt would wait 5 "
                 "minutes and then fail the restore; stop VM %s/%s first, or "
                 "use targetReadinessPolicy: StopTarget", f->ns, f->target,
                 pw.why, f->ns, f->target);
}

/* ---- restore-target-identity ---------------------------------------------- */

static bool backend_storage(const json_object *vm)
{
    return kvg_json_bool(false, vm, "spec", "template", "spec", "domain",
                         "devices", "tpm", "persistent", NULL) ||
           kvg_json_bool(false, vm, "spec", "template", "spec", "domain",
                         "firmware", "bootloader", "efi", "persistent", NULL);
}

static void identity(kvg_ctx *c, restore_facts *f)
{
    const char *src_uid, *uid;
    const json_object *src_vm;
    bool different;
    if (!kvg_ctx_should_run(c, KVG_RULE_RESTORE_TARGET_IDENTITY))
        return;
    if (!f->snap) {
        kvg_ctx_skip(c, KVG_RULE_RESTORE_TARGET_IDENTITY, "no snapshot");
        return;
    }
    src_vm = kvg_json_path(f->content, "spec", "source", "virtualMachine", NULL);
    src_uid = kvg_json_str(f->snap, "status", "sourceUID", NULL);
    if (!src_uid)
        src_uid = kvg_json_str(src_vm, "metadata", "uid", NULL);
    uid = kvg_json_str(f->vm, "metadata", "uid", NULL);
    if (f->vm && (!src_uid || !uid)) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_IDENTITY, KVG_OUTCOME_UNKNOWN,
                     "cannot verify VM %s/%s is the snapshot's source (no %s)",
                     f->ns, f->target, !uid ? "VM uid" : "sourceUID");
        return;
    }
    different = !f->vm || strcmp(uid, src_uid);
    if (f->vm && different) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_IDENTITY, KVG_OUTCOME_FAIL,
                     "VM %s/%s (uid %s) is not the source of VirtualMachineSnapshot "
                     "%s (sourceUID %s): restoring would replace another VM's "
                     "disks; restore to a new VM name in spec.target.name instead",
                     f->ns, f->target, uid, f->snap_name, src_uid);
        return;
    }
    if (different && src_vm && backend_storage(src_vm)) {
        kvg_ctx_invalid(c, "spec", "Restore to a different VM is not supported "
                        "when snapshotted VM has backend storage (persistent TPM or EFI)");
        kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_IDENTITY, KVG_OUTCOME_FAIL,
                     "restore to a different VM is not supported when the "
                     "snapshotted VM has backend storage (persistent TPM or "
                     "EFI); restore onto the source VM instead");
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_RESTORE_TARGET_IDENTITY, KVG_OUTCOME_PASS, "%s",
                 f->vm ? "target VM is the snapshot's source" : "new VM");
}

/* ---- restore-storage-restorable ------------------------------------------- */

typedef struct backup_verdict {
    const char *volume, *claim, *sc, *prov, *src;
    kvg_tristate restore;
    bool sc_missing;
} backup_verdict;

static void judge_backup(kvg_ctx *c, const json_object *vb, backup_verdict *bv)
{
    const json_object *spec = kvg_json_path(vb, "persistentVolumeClaim", "spec", NULL);
    const json_object *scobj;
    kvg_capability cap;
    kvg_capability_src src;
    memset(bv, 0, sizeof *bv);
    bv->volume = kvg_json_str(vb, "volumeName", NULL);
    bv->claim = kvg_json_str(vb, "persistentVolumeClaim", "metadata", "name", NULL);
    bv->sc = kvg_json_str(spec, "storageClassName", NULL);
    if (!bv->sc || !*bv->sc)
        bv->sc = kvg_storage_default_class(c->view); /* the restored PVC gets it */
    scobj = bv->sc ? kvg_view_get(c->view, KVG_KIND_STORAGECLASS, NULL, bv->sc) : NULL;
    bv->sc_missing = !scobj;
    bv->prov = kvg_json_str(scobj, "provisioner", NULL);
    kvg_capability_for(c->cfg, bv->sc, bv->prov, &cap, &src);
    bv->restore = cap.restore;
    bv->src = src.restore;
    kvg_ctx_explain(c, "  backup %s: PVC %s -> StorageClass %s -> provisioner "
                    "%s -> restore %s (%s)", bv->volume ? bv->volume : "?",
                    bv->claim ? bv->claim : "?", bv->sc ? bv->sc : "(none)",
                    bv->prov ? bv->prov : "(unknown)",
                    kvg_tristate_name(bv->restore), bv->src ? bv->src : "no entry");
}

static void restorable(kvg_ctx *c, restore_facts *f)
{
    json_object *arr;
    backup_verdict first_no = {0}, first_unknown = {0}, bv;
    bool have_no = false, have_unknown = false;
    size_t n;
    if (!kvg_ctx_should_run(c, KVG_RULE_RESTORE_STORAGE_RESTORABLE))
        return;
    if (!f->snap) {
        kvg_ctx_skip(c, KVG_RULE_RESTORE_STORAGE_RESTORABLE, "no snapshot");
        return;
    }
    if (!f->content) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_STORAGE_RESTORABLE, KVG_OUTCOME_UNKNOWN,
                     "content %s not found: restorability not checked",
                     f->content_name ? f->content_name : "?");
        return;
    }
    arr = kvg_json_array(f->content, "spec", "volumeBackups", NULL);
    n = arr ? json_object_array_length(arr) : 0;
    if (n > KVG_MAX_LIST)
        n = KVG_MAX_LIST;
    for (size_t i = 0; i < n; i++) {
        judge_backup(c, json_object_array_get_idx(arr, i), &bv);
        if (bv.restore == KVG_NO && !have_no) {
            first_no = bv;
            have_no = true;
        } else if (bv.restore == KVG_UNKNOWN && !have_unknown) {
            first_unknown = bv;
            have_unknown = true;
        }
    }
    if (have_no) {
        const char *hint = kvg_capability_hint(first_no.prov);
        char how[256] = "";
        if (hint)
            snprintf(how, sizeof how, "%s (config: policy.capabilities.storageClasses."
                     "%s: {restore: true})", hint, first_no.sc);
        kvg_ctx_rule(c, KVG_RULE_RESTORE_STORAGE_RESTORABLE, KVG_OUTCOME_FAIL,
                     "restoring VirtualMachineSnapshot %s/%s onto VM %s/%s: volume %s "
                     "(PVC %s, StorageClass %s, provisioner %s) cannot be restored: the "
                     "provisioner cannot create a volume from a snapshot (%s), so the "
                     "restored VM would not boot; %s",
                     f->ns, f->snap_name, f->ns, f->target ? f->target : "?",
                     first_no.volume ? first_no.volume : "?",
                     first_no.claim ? first_no.claim : "?", first_no.sc,
                     first_no.prov ? first_no.prov : "?", first_no.src,
                     hint ? how : "restore onto storage that supports it, or copy "
                                  "the data with a CDI clone instead");
        return;
    }
    if (have_unknown) {
        if (first_unknown.sc_missing)
            kvg_ctx_rule(c, KVG_RULE_RESTORE_STORAGE_RESTORABLE, KVG_OUTCOME_UNKNOWN,
                         "volume %s: StorageClass %s not found, restore unchecked",
                         first_unknown.volume ? first_unknown.volume : "?",
                         first_unknown.sc ? first_unknown.sc : "(none)");
        else
            kvg_ctx_rule(c, KVG_RULE_RESTORE_STORAGE_RESTORABLE, KVG_OUTCOME_UNKNOWN,
                         "volume %s: %s not in capability table, restore unchecked",
                         first_unknown.volume ? first_unknown.volume : "?",
                         first_unknown.prov ? first_unknown.prov : "(unknown)");
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_RESTORE_STORAGE_RESTORABLE, KVG_OUTCOME_PASS,
                 "%zu volume backup%s restorable", n, n == 1 ? "" : "s");
}

/* ---- restore-in-progress -------------------------------------------------- */

typedef struct progress_scan {
    const json_object *target;
    const char *self;
    const char *found;
} progress_scan;

/* Both have the same string at key, or both lack it. */
static bool same_str(const json_object *a, const json_object *b, const char *key)
{
    const char *x = kvg_json_str(a, key, NULL), *y = kvg_json_str(b, key, NULL);
    return (!x && !y) || (x && y && !strcmp(x, y));
}

static int each_restore(const json_object *r, void *ud)
{
    progress_scan *p = ud;
    const char *name = kvg_json_str(r, "metadata", "name", NULL);
    json_object *target = kvg_json_path(r, "spec", "target", NULL);
    if (!name || !strcmp(name, p->self))
        return 0;
    if (kvg_json_bool(false, r, "status", "complete", NULL))
        return 0;
    /* View objects are shared: compare field by field with the typed
     * getters rather than with json_object_equal on them. */
    if (!same_str(target, p->target, "name") || !same_str(target, p->target, "kind") ||
        !same_str(target, p->target, "apiGroup"))
        return 0;
    p->found = name;
    return 1;
}

static void in_progress(kvg_ctx *c, restore_facts *f)
{
    progress_scan p = {kvg_json_path(c->req->object, "spec", "target", NULL),
                       f->name ? f->name : "", NULL};
    char msg[320];
    if (!kvg_ctx_should_run(c, KVG_RULE_RESTORE_IN_PROGRESS))
        return;
    kvg_view_each(c->view, KVG_KIND_VMRESTORE, f->ns, each_restore, &p);
    if (!p.found) {
        kvg_ctx_rule(c, KVG_RULE_RESTORE_IN_PROGRESS, KVG_OUTCOME_PASS,
                     "no other incomplete restore of %s", f->target ? f->target : "?");
        return;
    }
    snprintf(msg, sizeof msg, "VirtualMachineRestore \"%s\" in progress", p.found);
    kvg_ctx_invalid(c, "spec.target", msg);
    kvg_ctx_rule(c, KVG_RULE_RESTORE_IN_PROGRESS, KVG_OUTCOME_FAIL,
                 "VirtualMachineRestore %s/%s of VM %s is still in progress "
                 "(status.complete not true); wait for it to complete or delete it",
                 f->ns, p.found, f->target ? f->target : "?");
}

/* ---- validation ----------------------------------------------------------- */

static void gather(kvg_ctx *c, restore_facts *f)
{
    char buf[320];
    const json_object *obj = c->req->object;
    kvg_ctx_objname(c, f->self, sizeof f->self);
    f->ns = c->req->namespace_ ? c->req->namespace_ : "";
    f->name = c->req->name && *c->req->name ? c->req->name
              : kvg_json_str(obj, "metadata", "name", NULL);
    f->target = kvg_json_str(obj, "spec", "target", "name", NULL);
    f->snap_name = kvg_json_str(obj, "spec", "virtualMachineSnapshotName", NULL);
    if (!c->lookups)
        return;
    if (f->snap_name && *f->snap_name)
        f->snap = kvg_view_get(c->view, KVG_KIND_VMSNAPSHOT, f->ns, f->snap_name);
    if (f->snap) {
        /* KubeVirt's GetVMSnapshotContentName. */
        f->content_name = kvg_json_str(f->snap, "status",
                                       "virtualMachineSnapshotContentName", NULL);
        if (!f->content_name) {
            const char *uid = kvg_json_str(f->snap, "metadata", "uid", NULL);
            snprintf(buf, sizeof buf, "vmsnapshot-content-%s", uid ? uid : "");
            f->content = kvg_view_get(c->view, KVG_KIND_VMSNAPSHOTCONTENT, f->ns, buf);
            f->content_name = kvg_json_str(f->content, "metadata", "name", NULL);
        } else {
            f->content = kvg_view_get(c->view, KVG_KIND_VMSNAPSHOTCONTENT, f->ns,
                                      f->content_name);
        }
    }
    if (f->target_ok && f->target && *f->target)
        f->vm = kvg_view_get(c->view, KVG_KIND_VM, f->ns, f->target);
}

static void validate_create(kvg_ctx *c)
{
    restore_facts f;
    memset(&f, 0, sizeof f);
    f.target = kvg_json_str(c->req->object, "spec", "target", "name", NULL);
    kvg_ctx_objname(c, f.self, sizeof f.self);
    target_ref(c, &f);
    gather(c, &f);
    snapshot_ready(c, &f);
    if (f.target_ok) {
        powered_off(c, &f);
        identity(c, &f);
    } else {
        kvg_ctx_skip(c, KVG_RULE_RESTORE_TARGET_POWERED_OFF, "no valid target");
        kvg_ctx_skip(c, KVG_RULE_RESTORE_TARGET_IDENTITY, "no valid target");
    }
    restorable(c, &f);
    in_progress(c, &f);
}

/* ---- mutation: record the target's claims for the reconciler -------------- */

static void mutate_claims(kvg_ctx *c)
{
    const char *ns = c->req->namespace_ ? c->req->namespace_ : "";
    const char *target = kvg_json_str(c->req->object, "spec", "target", "name", NULL);
    const json_object *vm;
    json_object *list, *vols;
    size_t n;
    if (c->req->operation != KVG_OP_CREATE || !target || !*target)
        return;
    if (!c->lookups) {
        kvg_ctx_explain(c, "  pre-restore claims: cluster state unavailable");
        return;
    }
    if (!(vm = kvg_view_get(c->view, KVG_KIND_VM, ns, target))) {
        kvg_ctx_explain(c, "  pre-restore claims: VM %s/%s does not exist yet", ns, target);
        return;
    }
    if (!(list = json_object_new_array())) {
        c->err = KVG_ENOMEM;
        return;
    }
    vols = kvg_json_array(vm, "spec", "template", "spec", "volumes", NULL);
    n = vols ? json_object_array_length(vols) : 0;
    for (size_t i = 0; i < n && i < KVG_MAX_LIST; i++) {
        json_object *vol = json_object_array_get_idx(vols, i);
        const char *claim = kvg_json_str(vol, "persistentVolumeClaim", "claimName", NULL);
        bool dup = false;
        if (!claim)
            claim = kvg_json_str(vol, "dataVolume", "name", NULL);
        if (!claim || !*claim)
            continue;
        for (size_t j = 0; j < json_object_array_length(list); j++)
            if (!strcmp(json_object_get_string(json_object_array_get_idx(list, j)), claim))
                dup = true;
        if (!dup && kvg_json_push(list, json_object_new_string(claim))) {
            json_object_put(list);
            c->err = KVG_ENOMEM;
            return;
        }
    }
    /* NULL when json-c runs out of memory (found by tests/unit/
     * test_alloc_failure.c: json_object_new_string(NULL) crashed) */
    const char *text = json_object_to_json_string_ext(
        list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text)
        kvg_ctx_patch_annotation(c, PRE_RESTORE_CLAIMS, text);
    else
        c->err = KVG_ENOMEM;
    json_object_put(list);
}

void kvg_decide_restore(kvg_ctx *c)
{
    if (c->opts->mutate) {
        mutate_claims(c);
        return;
    }
    if (c->req->operation == KVG_OP_UPDATE) {
        kvg_ctx_immutable(c, KVG_RULE_RESTORE_IMMUTABLE);
        return;
    }
    validate_create(c);
}
