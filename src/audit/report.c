/* kvguard audit: the readiness report (docs/audit.md). Every verdict comes
 * from kvg_policy_decide() on a synthesized CREATE request, so the report
 * cannot drift from what the webhook answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/audit.h"
#include "kvguard/json.h"
#include "kvguard/kubevirt.h"
#include "policy/internal.h"
#include "policy/storage.h"

#define AUDIT_UID "kvguard-audit"
#define AUDIT_USER "kvguard-audit"

typedef struct rb {
    const kvg_policy_config *cfg;
    const kvg_view *v;
    kvg_err err;
    size_t refused;
    /* summary counters */
    size_t vms, snap_ok, clone_ok, restore_yes, pending, pending_refused,
        completed;
} rb;

void kvg_audit_report_opts_init(kvg_audit_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_results = 1000;
}

/* ---- json building: the first failure sticks in b->err ------------------- */

static json_object *add(rb *b, json_object *o, const char *key, json_object *v)
{
    if (!o || !v || json_object_object_add(o, key, v)) {
        json_object_put(v);
        b->err = KVG_ENOMEM;
        return NULL;
    }
    return v;
}

static json_object *push(rb *b, json_object *arr, json_object *v)
{
    if (!arr || !v || json_object_array_add(arr, v)) {
        json_object_put(v);
        b->err = KVG_ENOMEM;
        return NULL;
    }
    return v;
}

static void add_str(rb *b, json_object *o, const char *key, const char *s)
{
    add(b, o, key, json_object_new_string(s ? s : ""));
}

static void add_int(rb *b, json_object *o, const char *key, size_t n)
{
    add(b, o, key, json_object_new_int64((int64_t)n));
}

/* ---- collecting objects in a stable order --------------------------------- */

typedef struct objlist {
    const json_object **items;
    size_t n, cap;
    bool oom;
} objlist;

static int collect(const json_object *obj, void *ud)
{
    objlist *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        const json_object **p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            l->oom = true;
            return 1;
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = obj;
    return 0;
}

static int by_ns_name(const void *a, const void *b)
{
    const json_object *x = *(const json_object *const *)a;
    const json_object *y = *(const json_object *const *)b;
    int c = strcmp(kvg_obj_namespace(x), kvg_obj_namespace(y));
    return c ? c : strcmp(kvg_obj_name(x), kvg_obj_name(y));
}

static kvg_err list_kind(const kvg_view *v, kvg_kind kind, const char *ns,
                         objlist *l)
{
    memset(l, 0, sizeof *l);
    kvg_view_each(v, kind, ns, collect, l);
    if (l->oom) {
        free(l->items);
        return KVG_ENOMEM;
    }
    if (l->n > 1)
        qsort(l->items, l->n, sizeof *l->items, by_ns_name);
    return KVG_OK;
}

/* ---- one engine decision -------------------------------------------------- */

/* What a rule result did to the request: "deny", "warn", "audit" or "none".
 * The engine downgrades an unverifiable (unknown) result of a rule that only
 * adds a check beyond KubeVirt's own from deny to a warning "<id>: ...", so
 * the action alone does not tell; the warnings do. */
static const char *effect(const kvg_rule_result *r, const char *id,
                          const kvg_decision *dec)
{
    size_t n = strlen(id);
    if (r->outcome != KVG_OUTCOME_FAIL && r->outcome != KVG_OUTCOME_UNKNOWN)
        return "none";
    switch (r->action) {
    case KVG_ACTION_AUDIT:
        return "audit";
    case KVG_ACTION_WARN:
        return "warn";
    case KVG_ACTION_ENFORCE:
        for (size_t i = 0; i < dec->n_warnings; i++)
            if (dec->warnings[i] && !strncmp(dec->warnings[i], id, n) &&
                dec->warnings[i][n] == ':')
                return "warn";
        return "deny";
    default:
        return "none";
    }
}

/* {"allowed","message","blockedBy":[ids],"rules":[...],"warnings":[...]};
 * blockedBy: the rules whose effect is deny. */
static json_object *decision_json(rb *b, const kvg_decision *dec)
{
    json_object *o = json_object_new_object(), *rules, *blocked, *warn;
    add(b, o, "allowed", json_object_new_boolean(dec->allowed));
    add_str(b, o, "message", dec->message);
    blocked = add(b, o, "blockedBy", json_object_new_array());
    rules = add(b, o, "rules", json_object_new_array());
    for (size_t i = 0; i < dec->n_results; i++) {
        const kvg_rule_result *r = &dec->results[i];
        const kvg_rule_info *info = kvg_rule_info_get(r->rule);
        const char *id = info ? info->name : "unknown";
        json_object *ro = push(b, rules, json_object_new_object());
        add_str(b, ro, "id", id);
        add_str(b, ro, "action", kvg_action_name(r->action));
        add_str(b, ro, "outcome", kvg_outcome_name(r->outcome));
        add_str(b, ro, "message", r->message);
        add_str(b, ro, "effect", effect(r, id, dec));
        if (!strcmp(effect(r, id, dec), "deny"))
            push(b, blocked, json_object_new_string(id));
    }
    warn = add(b, o, "warnings", json_object_new_array());
    for (size_t i = 0; i < dec->n_warnings; i++)
        push(b, warn, json_object_new_string(dec->warnings[i] ? dec->warnings[i] : ""));
    return o;
}

/* The decided clone strategy. The annotation key is shared with the audit
 * note of a failing clone-strategy rule (action audit), whose value is a
 * message: only the two strategy names count. */
static const char *clone_strategy(const kvg_decision *dec)
{
    const char *s = kvg_json_str(dec->annotations, "clone-strategy", NULL);
    if (s && (!strcmp(s, "snapshot") || !strcmp(s, "cdi")))
        return s;
    return "unknown";
}

/* The engine on a CREATE of obj (a synthesized or an existing object). */
static json_object *decide_create(rb *b, const char *api_version,
                                  const char *kind, const char *resource,
                                  const char *ns, const char *name,
                                  const json_object *obj, bool *allowed)
{
    char group[128] = "";
    const char *slash = strchr(api_version, '/');
    kvg_request q = {.uid = AUDIT_UID, .kind = kind, .resource = resource,
                     .sub_resource = "", .namespace_ = ns, .name = name,
                     .operation = KVG_OP_CREATE, .username = AUDIT_USER,
                     .object = obj};
    kvg_decide_opts dopts = {.explain = true}; /* keeps PASS messages */
    kvg_decision dec;
    json_object *o = NULL;
    if (slash && (size_t)(slash - api_version) < sizeof group)
        memcpy(group, api_version, (size_t)(slash - api_version));
    q.group = group;
    q.version = slash ? slash + 1 : api_version;
    kvg_decision_init(&dec);
    if (kvg_policy_decide(b->cfg, b->v, &q, &dopts, &dec)) {
        b->err = KVG_ENOMEM;
    } else {
        *allowed = dec.allowed;
        o = decision_json(b, &dec);
        if (!strcmp(kind, "VirtualMachineClone"))
            add_str(b, o, "strategy", clone_strategy(&dec));
    }
    kvg_decision_free(&dec);
    if (!*allowed)
        b->refused++;
    return o;
}

/* ---- a VirtualMachine ------------------------------------------------------ */

static json_object *synth(rb *b, const char *api_version, const char *kind,
                          const char *ns, const char *vm_name)
{
    json_object *o = json_object_new_object(), *md, *spec, *src;
    add_str(b, o, "apiVersion", api_version);
    add_str(b, o, "kind", kind);
    md = add(b, o, "metadata", json_object_new_object());
    add_str(b, md, "name", AUDIT_UID);
    add_str(b, md, "namespace", ns);
    spec = add(b, o, "spec", json_object_new_object());
    src = add(b, spec, "source", json_object_new_object());
    add_str(b, src, "apiGroup", "kubevirt.io");
    add_str(b, src, "kind", "VirtualMachine");
    add_str(b, src, "name", vm_name);
    if (!strcmp(kind, "VirtualMachineClone")) {
        /* no target name: KubeVirt generates one, so a name clash of ours
         * cannot be reported as a blocker */
        json_object *tgt = add(b, spec, "target", json_object_new_object());
        add_str(b, tgt, "apiGroup", "kubevirt.io");
        add_str(b, tgt, "kind", "VirtualMachine");
    }
    return o;
}

static json_object *vm_check(rb *b, const char *api_version, const char *kind,
                             const char *resource, const char *ns,
                             const char *vm_name, bool *allowed)
{
    json_object *req = synth(b, api_version, kind, ns, vm_name), *o;
    *allowed = false;
    o = b->err ? NULL : decide_create(b, api_version, kind, resource, ns,
                                      AUDIT_UID, req, allowed);
    json_object_put(req);
    return o ? o : json_object_new_object();
}

static json_object *power_json(rb *b, const json_object *vm)
{
    kvg_power p;
    json_object *o = json_object_new_object();
    kvg_vm_power(b->v, vm, &p);
    add_str(b, o, "state", p.on ? "running" : "stopped");
    add_str(b, o, "runIntent", p.intent);
    add_str(b, o, "vmiPhase", p.vmi_phase);
    add_str(b, o, "why", p.why);
    return o;
}


static void restore_blocker(rb *b, json_object *blockers, const kvg_volume_info *vi,
                            kvg_tristate t)
{
    char msg[512];
    const char *sc = vi->st.storage_class && *vi->st.storage_class
                         ? vi->st.storage_class : "unknown";
    const char *prov = vi->st.provisioner && *vi->st.provisioner
                           ? vi->st.provisioner : "unknown";
    if (t == KVG_NO)
        snprintf(msg, sizeof msg, "volume %s: provisioner %s (StorageClass %s) "
                 "cannot create a volume from a snapshot", vi->volume, prov, sc);
    else
        snprintf(msg, sizeof msg, "volume %s: cannot tell whether it can be "
                 "restored from a snapshot (StorageClass %s, provisioner %s)",
                 vi->volume, sc, prov);
    push(b, blockers, json_object_new_string(msg));
}

static json_object *volume_json(rb *b, const kvg_volume_info *vi,
                                const kvg_capability *cap)
{
    json_object *o = json_object_new_object();
    add_str(b, o, "name", vi->volume);
    add_str(b, o, "type", vi->type);
    add_str(b, o, "claim", vi->claim);
    add_str(b, o, "storageClass", vi->st.storage_class);
    add_str(b, o, "provisioner", vi->st.provisioner);
    add_str(b, o, "volumeSnapshotClass", vi->st.snapshot_class);
    add_str(b, o, "snapshot", kvg_snap_support_name(vi->st.support));
    add_str(b, o, "why", vi->st.why);
    add_str(b, o, "restore", kvg_tristate_name(cap->restore));
    add_str(b, o, "clone", kvg_tristate_name(cap->clone));
    return o;
}

/* volumes[] and restore{storage, blockers[]} */
static void vm_storage(rb *b, json_object *e, const json_object *vm,
                       const char *ns, bool running)
{
    json_object *vols = add(b, e, "volumes", json_object_new_array());
    json_object *rst = add(b, e, "restore", json_object_new_object());
    json_object *blockers = json_object_new_array();
    kvg_volume_info *vi = NULL;
    kvg_tristate all = KVG_YES;
    size_t n = 0;
    if (kvg_storage_vm_volumes(b->v, vm, ns, &vi, &n) != KVG_OK) {
        all = KVG_UNKNOWN;
        push(b, blockers, json_object_new_string(
                              "spec.template.spec.volumes is malformed"));
    }
    for (size_t i = 0; i < n; i++) {
        kvg_capability cap;
        kvg_capability_for(b->cfg, vi[i].st.storage_class, vi[i].st.provisioner,
                           &cap, NULL);
        push(b, vols, volume_json(b, &vi[i], &cap));
        if (cap.restore != KVG_YES)
            restore_blocker(b, blockers, &vi[i], cap.restore);
        if (cap.restore == KVG_NO)
            all = KVG_NO;
        else if (cap.restore == KVG_UNKNOWN && all == KVG_YES)
            all = KVG_UNKNOWN;
    }
    free(vi);
    if (running)
        push(b, blockers, json_object_new_string(
                 "running: a restore onto it waits until it is stopped (stop it, "
                 "or set targetReadinessPolicy: StopTarget)"));
    add_str(b, rst, "storage", kvg_tristate_name(all));
    add_str(b, rst, "now", all == KVG_YES && !running ? "possible" : "blocked");
    add(b, rst, "blockers", blockers);
    if (all == KVG_YES)
        b->restore_yes++;
}

static json_object *vm_entry(rb *b, const json_object *vm)
{
    const char *ns = kvg_obj_namespace(vm), *name = kvg_obj_name(vm);
    json_object *e = json_object_new_object(), *power;
    bool ok;
    add_str(b, e, "namespace", ns);
    add_str(b, e, "name", name);
    add_str(b, e, "uid", kvg_obj_uid(vm));
    power = add(b, e, "power", power_json(b, vm));
    vm_storage(b, e, vm, ns, kvg_json_str_eq(power, "state", "running"));
    add(b, e, "snapshot", vm_check(b, "snapshot.kubevirt.io/v1beta1",
                                   "VirtualMachineSnapshot",
                                   "virtualmachinesnapshots", ns, name, &ok));
    b->snap_ok += ok;
    add(b, e, "clone", vm_check(b, "clone.kubevirt.io/v1beta1",
                                "VirtualMachineClone", "virtualmachineclones",
                                ns, name, &ok));
    b->clone_ok += ok;
    return e;
}

/* ---- existing objects ------------------------------------------------------ */

static bool phase_done(const json_object *o)
{
    const char *ph = kvg_json_str(o, "status", "phase", NULL);
    return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

/* Finished objects are history: re-deciding their CREATE would report, for
 * instance, a succeeded clone's own target VM as a name clash. */
static bool completed(kvg_kind kind, const json_object *o)
{
    if (kvg_json_path(o, "metadata", "deletionTimestamp", NULL))
        return true;
    switch (kind) {
    case KVG_KIND_VMSNAPSHOT:
        return phase_done(o) || kvg_json_bool(false, o, "status", "readyToUse", NULL);
    case KVG_KIND_VMRESTORE:
        return kvg_json_bool(false, o, "status", "complete", NULL);
    default:
        return phase_done(o);
    }
}

static bool clone_datavolume(const json_object *dv)
{
    return kvg_json_path(dv, "spec", "source", "pvc", NULL) ||
           kvg_json_path(dv, "spec", "source", "snapshot", NULL);
}

static void pending_kind(rb *b, json_object *arr, kvg_kind kind, const char *ns)
{
    const kvg_kind_info *ki = kvg_kind_info_get(kind);
    objlist l;
    if ((b->err = b->err ? b->err : list_kind(b->v, kind, ns, &l)))
        return;
    for (size_t i = 0; i < l.n && !b->err; i++) {
        const json_object *o = l.items[i];
        const char *av = kvg_json_str(o, "apiVersion", NULL);
        json_object *e, *d;
        bool ok = false;
        if (kind == KVG_KIND_DATAVOLUME && !clone_datavolume(o))
            continue;
        if (completed(kind, o)) {
            b->completed++;
            continue;
        }
        b->pending++;
        e = push(b, arr, json_object_new_object());
        add_str(b, e, "kind", ki->name);
        add_str(b, e, "apiVersion", av);
        add_str(b, e, "namespace", kvg_obj_namespace(o));
        add_str(b, e, "name", kvg_obj_name(o));
        add_str(b, e, "uid", kvg_obj_uid(o));
        d = decide_create(b, av ? av : "", ki->name, ki->resource,
                          kvg_obj_namespace(o), kvg_obj_name(o), o, &ok);
        add(b, e, "decision", d ? d : json_object_new_object());
        if (!ok)
            b->pending_refused++;
    }
    free(l.items);
}

/* ---- the document ---------------------------------------------------------- */

static void summary(rb *b, json_object *doc)
{
    json_object *s = add(b, doc, "summary", json_object_new_object());
    add_int(b, s, "virtualMachines", b->vms);
    add_int(b, s, "snapshotAllowed", b->snap_ok);
    add_int(b, s, "cloneAllowed", b->clone_ok);
    add_int(b, s, "restoreStorageCapable", b->restore_yes);
    add_int(b, s, "pending", b->pending);
    add_int(b, s, "pendingRefused", b->pending_refused);
    add_int(b, s, "completedSkipped", b->completed);
    add_int(b, s, "refused", b->refused);
}

static void build(rb *b, const char *ns, json_object *doc)
{
    static const kvg_kind pending_kinds[] = {
        KVG_KIND_VMSNAPSHOT, KVG_KIND_VMRESTORE, KVG_KIND_VMCLONE,
        KVG_KIND_DATAVOLUME};
    json_object *vms, *pend;
    objlist l;
    add_str(b, doc, "apiVersion", "kvguard.io/v1alpha1");
    add_str(b, doc, "kind", "AuditReport");
    add_str(b, doc, "namespace", ns);
    vms = add(b, doc, "virtualMachines", json_object_new_array());
    if (!b->err && !(b->err = list_kind(b->v, KVG_KIND_VM, ns, &l))) {
        for (size_t i = 0; i < l.n && !b->err; i++) {
            push(b, vms, vm_entry(b, l.items[i]));
            b->vms++;
        }
        free(l.items);
    }
    pend = add(b, doc, "pending", json_object_new_array());
    for (size_t k = 0; k < sizeof pending_kinds / sizeof *pending_kinds; k++)
        pending_kind(b, pend, pending_kinds[k], ns);
    summary(b, doc);
}

kvg_err kvg_audit_report_build(const kvg_policy_config *cfg,
                               const kvg_view *view,
                               const kvg_audit_report_opts *o,
                               json_object **out, size_t *refused,
                               kvg_diag *d)
{
    rb b = {.cfg = cfg, .v = view};
    const char *ns = o && o->namespace_ && *o->namespace_ ? o->namespace_ : NULL;
    json_object *doc;
    if (!cfg || !view || !out)
        return kvg_diag_set(d, KVG_EINVAL, "audit report: no configuration "
                                           "or cluster view");
    if (!(doc = json_object_new_object()))
        return KVG_ENOMEM;
    kvg_view_begin(view);
    build(&b, ns, doc);
    kvg_view_end(view);
    if (b.err) {
        json_object_put(doc);
        return kvg_diag_set(d, b.err, "audit report: %s", kvg_strerror(b.err));
    }
    *out = doc;
    if (refused)
        *refused = b.refused;
    return KVG_OK;
}
