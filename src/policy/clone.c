/* VirtualMachineClone rules, strategy and mutation (SPEC §3, §6).
 *
 * Validation computes the facts first (source, strategy, the CDI plan) and
 * then records the rules in table order: clone-spec, clone-source-exists,
 * clone-target-free, clone-strategy, clone-fallback-source-stopped,
 * clone-fallback-disabled. KubeVirt's own checks (clone-spec) follow its
 * admitter (pkg/virt-api/webhooks/validating-webhook/admitters/
 * vmclone-admitter.go): same allow/deny on the same input, plus the checks
 * kvguard adds (source apiGroup matching the kind, patches that are JSON
 * patch operations on paths KubeVirt's restore accepts and that apply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/clone.h"
#include "kvguard/kubevirt.h"
#include "policy/filters.h"
#include "policy/internal.h"
#include "policy/patch.h"
#include "policy/storage.h"

#define VM_KIND "VirtualMachine"
#define VMSNAP_KIND "VirtualMachineSnapshot"
#define KUBEVIRT_GROUP "kubevirt.io"
#define SNAPSHOT_GROUP "snapshot.kubevirt.io"

typedef enum strategy {
    STRAT_NONE = 0, /* not decided (no lookups, or the source is unusable) */
    STRAT_SNAPSHOT,
    STRAT_CDI,
    STRAT_UNKNOWN, /* some input could not be verified */
} strategy;

typedef struct clone_facts {
    const json_object *obj, *spec;
    const char *ns;
    char self[320];
    const char *src_kind, *src_name, *tgt_name;
    /* lookups */
    bool looked_up;
    const json_object *vm;       /* the source VM (VM source) */
    const json_object *snapshot; /* VirtualMachineSnapshot source */
    const json_object *content;  /* its VirtualMachineSnapshotContent */
    const json_object *src_vm;   /* the VM whose disks are cloned */
    kvg_outcome source;          /* clone-source-exists */
    char source_msg[512];
    /* clone-strategy */
    strategy strat;
    char strat_msg[512];
    /* the first volume that forces cdi, for remedies and the warning */
    char cdi_volume[128], cdi_sc[128], cdi_prov[160];
    bool cdi_no_restore; /* snapshots work but the provisioner cannot restore */
    /* the CDI plan */
    kvg_err render_err;
    kvg_diag render_diag;
    bool denied;
} clone_facts;

static const char *str_or(const char *s, const char *def)
{
    return s && *s ? s : def;
}

/* Remember whether a recorded rule denied the request. */
static void note_denial(clone_facts *f, kvg_action a, kvg_outcome o, bool strict)
{
    if (a == KVG_ACTION_ENFORCE &&
        (o == KVG_OUTCOME_FAIL || (strict && o == KVG_OUTCOME_UNKNOWN)))
        f->denied = true;
}

/* ---- clone-spec ------------------------------------------------------------ */

typedef struct spec_check {
    kvg_ctx *c;
    int n;
    char first[400];
} spec_check;

static void problem(spec_check *s, const char *field, const char *msg)
{
    kvg_ctx_invalid(s->c, field, msg);
    if (s->n++ == 0)
        snprintf(s->first, sizeof s->first, "%.120s: %.270s", field, msg);
}

static void filter_problem(void *ud, const char *field, const char *msg)
{
    problem(ud, field, msg);
}

static void check_filters(spec_check *s, const json_object *spec)
{
    static const struct {
        const char *a, *b, *field; /* path under spec; KubeVirt's field name */
    } F[] = {
        {"annotationFilters", NULL, "spec.annotations"},
        {"labelFilters", NULL, "spec.labels"},
        {"template", "annotationFilters", "spec.template.annotations"},
        {"template", "labelFilters", "spec.template.labels"},
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        json_object *l = kvg_json_path(spec, F[i].a, F[i].b, NULL);
        /* every filter is a regular expression tried on every key: bound the work */
        if (json_object_is_type(l, json_type_array) && json_object_array_length(l) > KVG_MAX_LIST) {
            char msg[96];
            snprintf(msg, sizeof msg, "at most %d filters", KVG_MAX_LIST);
            problem(s, F[i].field, msg);
            continue;
        }
        kvg_filters_validate(l, F[i].field, filter_problem, s);
    }
}

static bool str_field(spec_check *s, const json_object *o, const char *key,
                      const char *field, const char **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex((json_object *)o, key, &v) || !v)
        return true;
    if (!json_object_is_type(v, json_type_string)) {
        problem(s, field, "must be a string");
        return false;
    }
    *out = json_object_get_string(v);
    return true;
}

static void check_source_target(spec_check *s, clone_facts *f)
{
    json_object *src = kvg_json_path(f->spec, "source", NULL);
    json_object *tgt = kvg_json_path(f->spec, "target", NULL);
    const char *group = NULL, *kind = NULL, *name = NULL;
    if (!src) {
        problem(s, "spec.source", "Source cannot be nil");
        return;
    }
    if (!json_object_is_type(src, json_type_object)) {
        problem(s, "spec.source", "must be an object");
        return;
    }
    str_field(s, src, "apiGroup", "spec.source.apiGroup", &group);
    str_field(s, src, "kind", "spec.source.kind", &kind);
    str_field(s, src, "name", "spec.source.name", &name);
    bool vm = kind && !strcmp(kind, VM_KIND), snap = kind && !strcmp(kind, VMSNAP_KIND);
    if (!vm && !snap)
        problem(s, "spec.source.kind",
                "Source kind is not supported: use VirtualMachine or VirtualMachineSnapshot");
    if (!group || !*group)
        problem(s, "spec.source.apiGroup", "Source's APIGroup cannot be empty");
    else if ((vm && strcmp(group, KUBEVIRT_GROUP)) || (snap && strcmp(group, SNAPSHOT_GROUP)))
        problem(s, "spec.source.apiGroup", vm ? "a VirtualMachine source has apiGroup kubevirt.io"
                                              : "a VirtualMachineSnapshot source has apiGroup "
                                                "snapshot.kubevirt.io");
    if (!kind || !*kind)
        problem(s, "spec.source.kind", "Source's Kind cannot be empty");
    if (!name || !*name)
        problem(s, "spec.source.name", "Source's name cannot be empty");
    f->src_kind = kind;
    f->src_name = name;
    if (!tgt)
        return;
    if (!json_object_is_type(tgt, json_type_object)) {
        problem(s, "spec.target", "must be an object");
        return;
    }
    const char *tkind = NULL, *tname = NULL, *tgroup = NULL;
    str_field(s, tgt, "apiGroup", "spec.target.apiGroup", &tgroup);
    str_field(s, tgt, "kind", "spec.target.kind", &tkind);
    str_field(s, tgt, "name", "spec.target.name", &tname);
    if (!tkind || strcmp(tkind, VM_KIND))
        problem(s, "spec.target.kind", "Target kind is not supported: use VirtualMachine");
    if (vm && tkind && !strcmp(tkind, VM_KIND) && tname && name && !strcmp(tname, name))
        problem(s, "spec.target.name", "Target name cannot be equal to source name when both are VirtualMachines");
    f->tgt_name = tname && *tname ? tname : NULL;
}

static void check_macs(spec_check *s, const json_object *spec)
{
    json_object *macs = kvg_json_path(spec, "newMacAddresses", NULL);
    char field[300], msg[400];
    if (!macs)
        return;
    if (!json_object_is_type(macs, json_type_object)) {
        problem(s, "spec.newMacAddresses", "must be a map of interface name to MAC address");
        return;
    }
    json_object_object_foreach(macs, iface, v) {
        const char *mac = kvg_json_as_str(v);
        snprintf(field, sizeof field, "spec.newMacAddresses.%s", iface);
        if (!mac) {
            problem(s, field, "must be a string");
        } else if (!kvg_clone_mac_valid(mac)) {
            snprintf(msg, sizeof msg, "interface %s has malformed MAC address (%s).", iface, mac);
            problem(s, field, msg);
        }
    }
}

/* Each patch is one RFC 6902 operation, on a path KubeVirt's restore (which
 * applies a clone's patches) accepts: /spec/, /metadata/labels/,
 * /metadata/annotations/. */
static void check_patches(spec_check *s, const json_object *spec)
{
    json_object *list = kvg_json_path(spec, "patches", NULL);
    char field[64], msg[KVG_DIAG_MAX + 64];
    if (!list)
        return;
    if (!json_object_is_type(list, json_type_array)) {
        problem(s, "spec.patches", "must be a list of JSON patch strings");
        return;
    }
    size_t n = json_object_array_length(list);
    if (n > KVG_MAX_LIST) {
        snprintf(msg, sizeof msg, "at most %d patches", KVG_MAX_LIST);
        problem(s, "spec.patches", msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = kvg_json_as_str(json_object_array_get_idx(list, i));
        json_object *op = NULL;
        kvg_diag d = {{0}};
        snprintf(field, sizeof field, "spec.patches[%zu]", i);
        if (!text) {
            problem(s, field, "must be a string");
            continue;
        }
        if (kvg_json_parse(text, strlen(text), 16, &op, &d) != KVG_OK ||
            kvg_patch_check_op(op, &d) != KVG_OK) {
            snprintf(msg, sizeof msg, "not a JSON patch operation: %s", d.msg);
            problem(s, field, msg);
        } else {
            const char *path = kvg_json_str(op, "path", NULL);
            if (strncmp(path, "/spec/", 6) && strncmp(path, "/metadata/labels/", 17) &&
                strncmp(path, "/metadata/annotations/", 22)) {
                snprintf(msg, sizeof msg, "path %s: KubeVirt patches only /spec/, "
                         "/metadata/labels/ and /metadata/annotations/", path);
                problem(s, field, msg);
            }
        }
        json_object_put(op);
    }
}

static void check_serial(spec_check *s, const json_object *spec)
{
    json_object *v = kvg_json_path(spec, "newSMBiosSerial", NULL);
    if (v && !json_object_is_type(v, json_type_string))
        problem(s, "spec.newSMBiosSerial", "must be a string");
}

/* Returns true when the source reference is usable for lookups. */
static bool clone_spec(kvg_ctx *c, clone_facts *f, bool run)
{
    spec_check s = {.c = c};
    if (!f->spec) {
        problem(&s, "spec", json_object_object_get_ex((json_object *)f->obj, "spec", NULL)
                                ? "must be an object" : "spec is required");
    } else {
        check_filters(&s, f->spec);
        check_source_target(&s, f);
        check_macs(&s, f->spec);
        check_serial(&s, f->spec);
        check_patches(&s, f->spec);
    }
    if (!run)
        return s.n == 0;
    if (s.n) {
        kvg_action a = kvg_ctx_rule(c, KVG_RULE_CLONE_SPEC, KVG_OUTCOME_FAIL,
                                    "VirtualMachineClone %s is invalid: %s%s", f->self, s.first,
                                    s.n > 1 ? " (and more: see details.causes)" : "");
        note_denial(f, a, KVG_OUTCOME_FAIL, false);
        return false;
    }
    kvg_ctx_rule(c, KVG_RULE_CLONE_SPEC, KVG_OUTCOME_PASS, "source, target, filters, MACs and patches are valid");
    return true;
}

/* ---- source lookups ------------------------------------------------------- */

/* A VM source: it exists. A snapshot source: it exists, is ready, and its
 * content holds a volume backup for every claim volume of the VM it saved
 * (else KubeVirt silently skipped that disk and the clone would lack it). */
static int backup_missing(const char *claim, const char *volume, void *ud)
{
    clone_facts *f = ud;
    json_object *backups = kvg_json_array(f->content, "spec", "volumeBackups", NULL);
    size_t n = backups ? json_object_array_length(backups) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *b = json_object_array_get_idx(backups, i);
        const char *vn = kvg_json_str(b, "volumeName", NULL);
        if (vn && !strcmp(vn, volume) && str_or(kvg_json_str(b, "volumeSnapshotName", NULL), NULL))
            return 0;
    }
    snprintf(f->source_msg, sizeof f->source_msg,
             "VirtualMachineSnapshot %s/%s has no backup of volume %s (claim %s): KubeVirt "
             "skipped it, so a clone would lack that disk; clone the VM instead, or snapshot "
             "it again once its StorageClass has a VolumeSnapshotClass",
             f->ns, f->src_name, volume, claim);
    return 1;
}

static void lookup_source(kvg_ctx *c, clone_facts *f)
{
    f->looked_up = true;
    f->source = KVG_OUTCOME_PASS;
    if (!strcmp(f->src_kind, VM_KIND)) {
        f->vm = f->src_vm = kvg_view_get(c->view, KVG_KIND_VM, f->ns, f->src_name);
        if (!f->vm) {
            f->source = KVG_OUTCOME_FAIL;
            snprintf(f->source_msg, sizeof f->source_msg,
                     "source VirtualMachine %s/%s does not exist; create it first or fix spec.source.name",
                     f->ns, f->src_name);
        } else {
            snprintf(f->source_msg, sizeof f->source_msg, "VirtualMachine %s/%s exists", f->ns, f->src_name);
        }
        return;
    }
    f->snapshot = kvg_view_get(c->view, KVG_KIND_VMSNAPSHOT, f->ns, f->src_name);
    if (!f->snapshot) {
        f->source = KVG_OUTCOME_FAIL;
        snprintf(f->source_msg, sizeof f->source_msg,
                 "source VirtualMachineSnapshot %s/%s does not exist", f->ns, f->src_name);
        return;
    }
    if (!kvg_json_bool(false, f->snapshot, "status", "readyToUse", NULL)) {
        f->source = KVG_OUTCOME_FAIL;
        snprintf(f->source_msg, sizeof f->source_msg,
                 "source VirtualMachineSnapshot %s/%s is not ready to use (phase %s); wait for "
                 "status.readyToUse: true", f->ns, f->src_name,
                 str_or(kvg_json_str(f->snapshot, "status", "phase", NULL), "unset"));
        return;
    }
    const char *cname = kvg_json_str(f->snapshot, "status", "virtualMachineSnapshotContentName", NULL);
    f->content = cname ? kvg_view_get(c->view, KVG_KIND_VMSNAPSHOTCONTENT, f->ns, cname) : NULL;
    if (!f->content) {
        f->source = KVG_OUTCOME_UNKNOWN;
        snprintf(f->source_msg, sizeof f->source_msg,
                 "cannot verify VirtualMachineSnapshot %s/%s: its VirtualMachineSnapshotContent %s "
                 "is not in the cluster view, so kvguard cannot tell which disks it holds",
                 f->ns, f->src_name, str_or(cname, "(none in status)"));
        return;
    }
    f->src_vm = kvg_json_path(f->content, "spec", "source", "virtualMachine", NULL);
    if (f->src_vm && kvg_vm_each_claim(f->src_vm, backup_missing, f)) {
        f->source = KVG_OUTCOME_FAIL;
        return;
    }
    snprintf(f->source_msg, sizeof f->source_msg,
             "VirtualMachineSnapshot %s/%s is ready with a backup of every claim volume",
             f->ns, f->src_name);
}

/* ---- clone-strategy --------------------------------------------------------- */

static void first_cdi(clone_facts *f, const char *volume, const char *sc, const char *prov,
                      bool no_restore)
{
    if (f->cdi_volume[0])
        return;
    snprintf(f->cdi_volume, sizeof f->cdi_volume, "%s", volume);
    snprintf(f->cdi_sc, sizeof f->cdi_sc, "%s", str_or(sc, "(none)"));
    snprintf(f->cdi_prov, sizeof f->cdi_prov, "%s", str_or(prov, "(unknown)"));
    f->cdi_no_restore = no_restore;
}

/* One volume with its snapshot support known: can KubeVirt restore it? */
static void judge_restore(kvg_ctx *c, clone_facts *f, const char *volume, const char *sc,
                          const char *prov, bool *unknown)
{
    kvg_capability cap;
    kvg_capability_src src;
    kvg_capability_for(c->cfg, sc, prov, &cap, &src);
    kvg_ctx_explain(c, "    restore capability of %s: %s (%s)", str_or(prov, "(unknown)"),
                    kvg_tristate_name(cap.restore), str_or(src.restore, "not in any table"));
    if (cap.restore == KVG_YES)
        return;
    if (cap.restore == KVG_NO) {
        first_cdi(f, volume, sc, prov, true);
        return;
    }
    if (!*unknown)
        snprintf(f->strat_msg, sizeof f->strat_msg,
                 "cannot tell whether provisioner %s (StorageClass %s, volume %s) can restore from "
                 "snapshots: add it to the capability overrides in the config",
                 str_or(prov, "(unknown)"), str_or(sc, "(none)"), volume);
    *unknown = true;
}

static void strategy_of_vm(kvg_ctx *c, clone_facts *f, bool *unknown)
{
    kvg_volume_info *vols = NULL;
    size_t n = 0;
    kvg_err e = kvg_storage_vm_volumes(c->view, f->src_vm, f->ns, &vols, &n);
    if (e == KVG_ENOMEM) {
        c->err = e;
        return;
    }
    if (e != KVG_OK) {
        *unknown = true;
        snprintf(f->strat_msg, sizeof f->strat_msg,
                 "VirtualMachine %s/%s: spec.template.spec.volumes is malformed (not a list of at "
                 "most %d volume objects)", f->ns, f->src_name, KVG_MAX_LIST);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const kvg_volume_info *vi = &vols[i];
        const kvg_claim_storage *st = &vi->st;
        kvg_ctx_explain(c, "  volume %s: %s %s -> StorageClass %s -> provisioner %s -> "
                        "VolumeSnapshotClass %s [%s: %s]", vi->volume, vi->type, vi->claim,
                        str_or(st->storage_class, "(none)"), str_or(st->provisioner, "(unknown)"),
                        str_or(st->snapshot_class, "(none)"), kvg_snap_support_name(st->support),
                        st->why);
        switch (st->support) {
        case KVG_SNAP_SUPPORTED:
            judge_restore(c, f, vi->volume, st->storage_class, st->provisioner, unknown);
            break;
        case KVG_SNAP_NONE:
        case KVG_SNAP_AMBIGUOUS:
            first_cdi(f, vi->volume, st->storage_class, st->provisioner, false);
            break;
        case KVG_SNAP_UNKNOWN:
            if (!*unknown)
                snprintf(f->strat_msg, sizeof f->strat_msg,
                         "cannot tell whether volume %s (%s %s) of VM %s/%s can be snapshotted: %s",
                         vi->volume, vi->type, vi->claim, f->ns, f->src_name, st->why);
            *unknown = true;
            break;
        }
    }
    free(vols);
}

/* A snapshot source: every volume backup must be restorable. */
static void strategy_of_snapshot(kvg_ctx *c, clone_facts *f, bool *unknown)
{
    json_object *backups = kvg_json_array(f->content, "spec", "volumeBackups", NULL);
    size_t n = backups ? json_object_array_length(backups) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *b = json_object_array_get_idx(backups, i);
        const char *vol = str_or(kvg_json_str(b, "volumeName", NULL), "?");
        const char *sc = kvg_json_str(b, "persistentVolumeClaim", "spec", "storageClassName", NULL);
        kvg_claim_storage cs;
        memset(&cs, 0, sizeof cs);
        kvg_storage_resolve_class(c->view, sc, &cs);
        kvg_ctx_explain(c, "  volume backup %s: StorageClass %s -> provisioner %s", vol,
                        str_or(sc, "(none)"), str_or(cs.provisioner, "(unknown)"));
        if (!cs.provisioner && sc && !cs.sc_found) {
            if (!*unknown)
                snprintf(f->strat_msg, sizeof f->strat_msg,
                         "cannot tell whether volume backup %s can be restored: StorageClass %s is "
                         "not in the cluster view", vol, sc);
            *unknown = true;
            continue;
        }
        judge_restore(c, f, vol, sc, cs.provisioner, unknown);
    }
}

static void decide_strategy(kvg_ctx *c, clone_facts *f)
{
    bool unknown = false;
    if (f->source != KVG_OUTCOME_PASS || !f->src_vm)
        return; /* no usable source: nothing to decide */
    if (f->vm)
        strategy_of_vm(c, f, &unknown);
    else
        strategy_of_snapshot(c, f, &unknown);
    if (unknown) {
        f->strat = STRAT_UNKNOWN;
    } else if (f->cdi_volume[0]) {
        f->strat = STRAT_CDI;
        snprintf(f->strat_msg, sizeof f->strat_msg,
                 "cdi: volume %s (StorageClass %s, provisioner %s) %s", f->cdi_volume, f->cdi_sc,
                 f->cdi_prov, f->cdi_no_restore ? "cannot be restored from a snapshot"
                                                 : "has no usable VolumeSnapshotClass");
    } else {
        f->strat = STRAT_SNAPSHOT;
        snprintf(f->strat_msg, sizeof f->strat_msg,
                 "snapshot: every claim volume can be snapshotted and restored; KubeVirt clones it");
    }
}

/* The CDI plan must render (claims present, patches apply). The snapshot
 * path applies spec.patches too (through its restore): check them there as
 * well, on the rendering. */
static void check_plan(kvg_ctx *c, clone_facts *f)
{
    json_object *target = NULL;
    if (f->strat != STRAT_CDI && f->strat != STRAT_SNAPSHOT)
        return;
    if (!f->vm)
        return; /* a snapshot source has no CDI plan */
    memset(&f->render_diag, 0, sizeof f->render_diag);
    f->render_err = kvg_clone_render(c->view, f->vm, f->obj, &target, &f->render_diag);
    if (f->render_err == KVG_ENOMEM)
        c->err = KVG_ENOMEM;
    if (f->render_err == KVG_OK) {
        json_object *dvts = kvg_json_array(target, "spec", "dataVolumeTemplates", NULL);
        kvg_ctx_explain(c, "  CDI plan: target VM %s with %zu DataVolume(s)",
                        kvg_json_str(target, "metadata", "name", NULL),
                        dvts ? json_object_array_length(dvts) : 0);
    }
    json_object_put(target);
}

static bool render_failed_on(const clone_facts *f, const char *prefix)
{
    return f->render_err == KVG_EINVAL && !strncmp(f->render_diag.msg, prefix, strlen(prefix));
}

/* ---- the rules, in table order -------------------------------------------- */

static void rule_source_exists(kvg_ctx *c, clone_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_CLONE_SOURCE_EXISTS))
        return;
    kvg_outcome o = f->source;
    const char *msg = f->source_msg;
    char buf[KVG_DIAG_MAX + 128];
    /* a claim of the source VM that the CDI plan cannot find */
    if (o == KVG_OUTCOME_PASS && f->strat == STRAT_CDI && f->render_err == KVG_EINVAL &&
        !render_failed_on(f, "spec.")) {
        snprintf(buf, sizeof buf, "VirtualMachine %s/%s cannot be copied with CDI: %s", f->ns,
                 f->src_name, f->render_diag.msg);
        o = KVG_OUTCOME_FAIL;
        msg = buf;
    }
    kvg_action a = kvg_ctx_rule_strict(c, KVG_RULE_CLONE_SOURCE_EXISTS, o, "%s", msg);
    note_denial(f, a, o, true);
}

static void rule_target_free(kvg_ctx *c, clone_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_CLONE_TARGET_FREE))
        return;
    if (!f->tgt_name) {
        kvg_ctx_rule(c, KVG_RULE_CLONE_TARGET_FREE, KVG_OUTCOME_PASS,
                     "no target name: KubeVirt generates one");
        return;
    }
    if (kvg_view_get(c->view, KVG_KIND_VM, f->ns, f->tgt_name)) {
        kvg_action a = kvg_ctx_rule(c, KVG_RULE_CLONE_TARGET_FREE, KVG_OUTCOME_FAIL,
                                    "target VirtualMachine %s/%s already exists: choose another "
                                    "spec.target.name (a clone never overwrites a VM)",
                                    f->ns, f->tgt_name);
        note_denial(f, a, KVG_OUTCOME_FAIL, false);
        return;
    }
    kvg_ctx_rule(c, KVG_RULE_CLONE_TARGET_FREE, KVG_OUTCOME_PASS, "no VirtualMachine %s/%s yet",
                 f->ns, f->tgt_name);
}

static void rule_strategy(kvg_ctx *c, clone_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_CLONE_STRATEGY))
        return;
    if (f->strat == STRAT_NONE) {
        kvg_ctx_skip(c, KVG_RULE_CLONE_STRATEGY, "no usable source");
        return;
    }
    if (f->strat == STRAT_UNKNOWN) {
        kvg_action a = kvg_ctx_rule_strict(c, KVG_RULE_CLONE_STRATEGY, KVG_OUTCOME_UNKNOWN,
                                           "VirtualMachineClone %s: %s; kvguard refuses to pick a "
                                           "clone method it cannot verify", f->self, f->strat_msg);
        note_denial(f, a, KVG_OUTCOME_UNKNOWN, true);
        return;
    }
    const char *s = f->strat == STRAT_CDI ? "cdi" : "snapshot";
    kvg_ctx_annotate(c, "clone-strategy", s);
    kvg_ctx_rule(c, KVG_RULE_CLONE_STRATEGY, KVG_OUTCOME_PASS, "%s", f->strat_msg);
}

static void rule_source_stopped(kvg_ctx *c, clone_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_CLONE_FALLBACK_SOURCE_STOPPED))
        return;
    if (f->strat != STRAT_CDI || !f->vm) {
        kvg_ctx_skip(c, KVG_RULE_CLONE_FALLBACK_SOURCE_STOPPED, "not a CDI copy of a VM");
        return;
    }
    kvg_power pw;
    kvg_vm_power(c->view, f->vm, &pw);
    if (!pw.on) {
        kvg_ctx_rule(c, KVG_RULE_CLONE_FALLBACK_SOURCE_STOPPED, KVG_OUTCOME_PASS,
                     "VM %s/%s is powered off (%s)", f->ns, f->src_name, pw.why);
        return;
    }
    char remedy[320];
    if (f->cdi_no_restore)
        snprintf(remedy, sizeof remedy, "stop VM %s/%s first (provisioner %s cannot restore snapshots, "
                 "so only a CDI copy of the stopped disks can clone it)", f->ns, f->src_name, f->cdi_prov);
    else
        snprintf(remedy, sizeof remedy, "stop VM %s/%s, or add a VolumeSnapshotClass for provisioner %s",
                 f->ns, f->src_name, f->cdi_prov);
    kvg_action a = kvg_ctx_rule(c, KVG_RULE_CLONE_FALLBACK_SOURCE_STOPPED, KVG_OUTCOME_FAIL,
                                "VM %s/%s is running (%s) and volume %s (StorageClass %s) must be "
                                "copied by CDI, which cannot copy a disk in use: %s",
                                f->ns, f->src_name, pw.why, f->cdi_volume, f->cdi_sc, remedy);
    note_denial(f, a, KVG_OUTCOME_FAIL, false);
}

static void rule_fallback_disabled(kvg_ctx *c, clone_facts *f)
{
    if (!kvg_ctx_should_run(c, KVG_RULE_CLONE_FALLBACK_DISABLED))
        return;
    if (f->strat != STRAT_CDI) {
        kvg_ctx_skip(c, KVG_RULE_CLONE_FALLBACK_DISABLED, "not a CDI copy");
        return;
    }
    kvg_action a = KVG_ACTION_OFF;
    if (!f->vm) {
        a = kvg_ctx_rule(c, KVG_RULE_CLONE_FALLBACK_DISABLED, KVG_OUTCOME_FAIL,
                         "VirtualMachineSnapshot %s/%s cannot be cloned: volume %s (StorageClass %s, "
                         "provisioner %s) cannot be restored from it and a snapshot has no disks CDI "
                         "could copy; clone the stopped VM instead", f->ns, f->src_name,
                         f->cdi_volume, f->cdi_sc, f->cdi_prov);
    } else if (!c->cfg->clone_fallback_enabled) {
        a = kvg_ctx_rule(c, KVG_RULE_CLONE_FALLBACK_DISABLED, KVG_OUTCOME_FAIL,
                         "VM %s/%s cannot be cloned by KubeVirt (volume %s, StorageClass %s, "
                         "provisioner %s: %s) and the CDI fallback is disabled in kvguard's config; "
                         "add a VolumeSnapshotClass for provisioner %s or enable the clone fallback",
                         f->ns, f->src_name, f->cdi_volume, f->cdi_sc, f->cdi_prov,
                         f->cdi_no_restore ? "no restore from snapshots" : "no VolumeSnapshotClass",
                         f->cdi_prov);
    } else {
        kvg_ctx_rule(c, KVG_RULE_CLONE_FALLBACK_DISABLED, KVG_OUTCOME_PASS,
                     "the CDI fallback is enabled");
        return;
    }
    note_denial(f, a, KVG_OUTCOME_FAIL, false);
}

/* clone-spec again for what only the rendering shows: patches that do not
 * apply to this source VM. Called before any rule is recorded. */
static void spec_render_problem(kvg_ctx *c, clone_facts *f, bool *spec_ok)
{
    if (!*spec_ok || !render_failed_on(f, "spec."))
        return;
    const char *field = strncmp(f->render_diag.msg, "spec.patches", 12) ? "spec" : "spec.patches";
    kvg_ctx_invalid(c, field, f->render_diag.msg);
    kvg_action a = kvg_ctx_rule(c, KVG_RULE_CLONE_SPEC, KVG_OUTCOME_FAIL,
                                "VirtualMachineClone %s is invalid for VM %s/%s: %s", f->self, f->ns,
                                f->src_name, f->render_diag.msg);
    note_denial(f, a, KVG_OUTCOME_FAIL, false);
    *spec_ok = false;
}

static void init_facts(kvg_ctx *c, clone_facts *f)
{
    memset(f, 0, sizeof *f);
    f->obj = c->req->object;
    f->spec = kvg_json_path(f->obj, "spec", NULL);
    if (f->spec && !json_object_is_type((json_object *)f->spec, json_type_object))
        f->spec = NULL;
    f->ns = c->req->namespace_ && *c->req->namespace_
                ? c->req->namespace_
                : str_or(kvg_json_str(f->obj, "metadata", "namespace", NULL), "default");
    kvg_ctx_objname(c, f->self, sizeof f->self);
}

static void validate(kvg_ctx *c)
{
    clone_facts f;
    init_facts(c, &f);
    bool create = c->req->operation == KVG_OP_CREATE;
    bool spec_run = kvg_ctx_should_run(c, KVG_RULE_CLONE_SPEC);
    bool spec_ok = clone_spec(c, &f, false);
    bool lookups = create && spec_ok && c->lookups;
    if (lookups) {
        lookup_source(c, &f);
        decide_strategy(c, &f);
        check_plan(c, &f);
        if (c->err)
            return;
    }
    /* KubeVirt's controller updates its clones (finalizers, labels): a spec
     * that did not change was judged at CREATE and must not block them. */
    if (spec_run && !create &&
        json_object_equal(kvg_json_path(c->req->object, "spec", NULL),
                          kvg_json_path(c->req->old_object, "spec", NULL))) {
        kvg_ctx_skip(c, KVG_RULE_CLONE_SPEC, "UPDATE without a spec change");
        spec_run = false;
    }
    if (spec_run) {
        bool ok_before = spec_ok;
        spec_render_problem(c, &f, &spec_ok);
        if (ok_before == spec_ok)
            spec_ok = clone_spec(c, &f, true);
    }
    const kvg_rule_id lrules[] = {KVG_RULE_CLONE_SOURCE_EXISTS, KVG_RULE_CLONE_TARGET_FREE,
                                  KVG_RULE_CLONE_STRATEGY, KVG_RULE_CLONE_FALLBACK_SOURCE_STOPPED,
                                  KVG_RULE_CLONE_FALLBACK_DISABLED};
    if (!f.looked_up) {
        for (size_t i = 0; i < sizeof lrules / sizeof lrules[0]; i++)
            if (kvg_ctx_should_run(c, lrules[i]))
                kvg_ctx_skip(c, lrules[i], !create ? "not a CREATE"
                                                   : !spec_ok ? "the clone spec is invalid"
                                                              : "cluster state unavailable");
        return;
    }
    rule_source_exists(c, &f);
    rule_target_free(c, &f);
    rule_strategy(c, &f);
    rule_source_stopped(c, &f);
    rule_fallback_disabled(c, &f);
    if (f.strat == STRAT_CDI && f.vm && !f.denied) {
        if (f.cdi_no_restore)
            kvg_ctx_warn(c, "VM %s/%s will be cloned with CDI host-assisted copy (StorageClass %s cannot restore snapshots)",
                         f.ns, f.src_name, f.cdi_sc);
        else
            kvg_ctx_warn(c, "VM %s/%s will be cloned with CDI host-assisted copy (StorageClass %s has no snapshots)",
                         f.ns, f.src_name, f.cdi_sc);
    }
}

/* ---- mutation ---------------------------------------------------------------- */

static kvg_err set_str(json_object *ops, const json_object *obj, const char *a, const char *b,
                       const char *c3, const char *value)
{
    const char *tokens[] = {a, b, c3};
    return kvg_patch_set(ops, obj, tokens, 3, json_object_new_string(value));
}

/* The owning snapshot of a VirtualMachineSnapshotContent. */
static const char *content_owner(const json_object *content)
{
    const char *s = kvg_json_str(content, "spec", "virtualMachineSnapshotName", NULL);
    if (s && *s)
        return s;
    const json_object *o = kvg_owner_of_kind(content, VMSNAP_KIND);
    return o ? kvg_json_str(o, "name", NULL) : NULL;
}

/* Rewrites the source reference (kind and name) as patched. */
static kvg_err mutate_source(kvg_ctx *c, clone_facts *f, json_object *ops, const char **kind,
                             const char **name)
{
    const char *to_kind = NULL, *to_name = NULL, *to_group = NULL;
    if (!*kind || !*name)
        return KVG_OK;
    if (!strcmp(*kind, "VirtualMachineSnapshotContent")) {
        const json_object *content = kvg_view_get(c->view, KVG_KIND_VMSNAPSHOTCONTENT, f->ns, *name);
        to_name = content ? content_owner(content) : NULL;
        to_kind = VMSNAP_KIND, to_group = SNAPSHOT_GROUP;
        if (!to_name)
            kvg_ctx_explain(c, "  source VirtualMachineSnapshotContent %s/%s: %s, not mutated", f->ns,
                            *name, content ? "no owning VirtualMachineSnapshot" : "not found");
    } else if (!strcmp(*kind, "VirtualMachineInstance")) {
        const json_object *vmi = kvg_view_get(c->view, KVG_KIND_VMI, f->ns, *name);
        const json_object *owner = vmi ? kvg_owner_of_kind(vmi, VM_KIND) : NULL;
        to_name = owner ? kvg_json_str(owner, "name", NULL) : NULL;
        /* a VMI missing from the view: KubeVirt names it after its VM */
        if (!vmi && kvg_view_get(c->view, KVG_KIND_VM, f->ns, *name))
            to_name = *name;
        to_kind = VM_KIND, to_group = KUBEVIRT_GROUP;
        if (!to_name)
            kvg_ctx_explain(c, "  source VirtualMachineInstance %s/%s: %s, not mutated", f->ns, *name,
                            vmi ? "not owned by a VirtualMachine" : "not found");
    }
    if (!to_name)
        return KVG_OK;
    kvg_err e = set_str(ops, f->obj, "spec", "source", "apiGroup", to_group);
    if (e == KVG_OK)
        e = set_str(ops, f->obj, "spec", "source", "kind", to_kind);
    if (e == KVG_OK)
        e = set_str(ops, f->obj, "spec", "source", "name", to_name);
    char note[600];
    snprintf(note, sizeof note, "%s/%s -> %s/%s", *kind, *name, to_kind, to_name);
    kvg_ctx_annotate(c, "clone-source", note);
    kvg_ctx_explain(c, "  source %s", note);
    *kind = to_kind;
    *name = to_name;
    return e;
}

static kvg_err mutate_target(kvg_ctx *c, clone_facts *f, json_object *ops, const char *src_name)
{
    const char *tname = kvg_json_str(f->spec, "target", "name", NULL);
    char gen[300];
    if (tname && *tname)
        return KVG_OK;
    if (!src_name || kvg_clone_target_name(src_name, str_or(c->req->uid, f->self), gen, sizeof gen))
        return KVG_OK;
    json_object *tgt = kvg_json_path(f->spec, "target", NULL);
    kvg_err e;
    if (!json_object_is_type(tgt, json_type_object)) {
        json_object *v = json_object_new_object();
        const char *tokens[] = {"spec", "target"};
        if ((e = kvg_json_set_str(v, "apiGroup", KUBEVIRT_GROUP)) ||
            (e = kvg_json_set_str(v, "kind", VM_KIND)) ||
            (e = kvg_json_set_str(v, "name", gen))) {
            json_object_put(v);
            return e;
        }
        e = kvg_patch_set(ops, f->obj, tokens, 2, v);
    } else {
        e = set_str(ops, f->obj, "spec", "target", "name", gen);
    }
    kvg_ctx_explain(c, "  target name %s (KubeVirt's form, derived from the request uid)", gen);
    return e;
}

static void mutate(kvg_ctx *c)
{
    clone_facts f;
    init_facts(c, &f);
    if (c->req->operation != KVG_OP_CREATE || !f.spec)
        return;
    json_object *ops = json_object_new_array();
    if (!ops) {
        c->err = KVG_ENOMEM;
        return;
    }
    const char *kind = kvg_json_str(f.spec, "source", "kind", NULL);
    const char *name = kvg_json_str(f.spec, "source", "name", NULL);
    kvg_err e = KVG_OK;
    if (c->lookups)
        e = mutate_source(c, &f, ops, &kind, &name);
    /* KubeVirt names the target after the VM the clone copies */
    const char *vm_name = name;
    if (c->lookups && kind && name && !strcmp(kind, VMSNAP_KIND)) {
        const json_object *snap = kvg_view_get(c->view, KVG_KIND_VMSNAPSHOT, f.ns, name);
        vm_name = str_or(kvg_json_str(snap, "spec", "source", "name", NULL), name);
    }
    if (e == KVG_OK)
        e = mutate_target(c, &f, ops, vm_name);
    /* the strategy, on the source as mutated */
    if (e == KVG_OK && c->lookups && kind && name && *name &&
        (!strcmp(kind, VM_KIND) || !strcmp(kind, VMSNAP_KIND))) {
        f.src_kind = kind;
        f.src_name = name;
        lookup_source(c, &f);
        decide_strategy(c, &f);
        if (f.strat == STRAT_CDI || f.strat == STRAT_SNAPSHOT) {
            const char *s = f.strat == STRAT_CDI ? "cdi" : "snapshot";
            e = kvg_patch_set_annotation(ops, f.obj, KVG_CLONE_STRATEGY_KEY, s);
            kvg_ctx_annotate(c, "clone-strategy", s);
            kvg_ctx_explain(c, "  strategy %s", f.strat_msg);
        } else if (f.strat == STRAT_UNKNOWN) {
            kvg_ctx_explain(c, "  strategy not decided: %s", f.strat_msg);
        }
    }
    kvg_ctx_patch_ops(c, e, ops);
    json_object_put(ops);
}

void kvg_decide_clone(kvg_ctx *c)
{
    if (c->opts->mutate)
        mutate(c);
    else
        validate(c);
}
