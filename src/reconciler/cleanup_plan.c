/* Restore cleanup planning (SPEC §7; see kvguard/cleanup.h).
 *
 * Pure: reads the view, never acts. Every "keep" verdict names its reason,
 * since an operator reading events must be able to tell why a claim stays. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/buf.h"
#include "kvguard/cleanup.h"
#include "kvguard/json.h"
#include "kvguard/kubevirt.h"

#define ZFS_DRIVER "zfs.csi.openebs.io"
#define ZFS_PV_LABEL "openebs.io/persistent-volume"

static const char *const gate_names[] = {
    "NotComplete", "Done", "NoTarget", "WaitForBound", "StartVM", "Proceed",
    "UnknownClaims",
};
static const char *const verdict_names[] = {
    "Gone", "InUse", "Unprovable", "Delete", "RollbackThenDelete",
};

const char *kvg_cleanup_gate_name(kvg_cleanup_gate g)
{
    return (unsigned)g < sizeof gate_names / sizeof *gate_names ? gate_names[g] : "?";
}

const char *kvg_claim_verdict_name(kvg_claim_verdict v)
{
    return (unsigned)v < sizeof verdict_names / sizeof *verdict_names
               ? verdict_names[v] : "?";
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    kvg_buf b;
    kvg_buf_init(&b, 1 << 16);
    va_list ap;
    va_start(ap, fmt);
    kvg_err e = kvg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (e) {
        kvg_buf_free(&b);
        return NULL;
    }
    return kvg_buf_steal(&b, NULL);
}

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

/* ---- which claims did the restore replace? ------------------------------- */

typedef struct name_list {
    char **names;
    size_t n;
} name_list;

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

static bool names_has(const name_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], s))
            return true;
    return false;
}

static kvg_err names_add(name_list *l, const char *s)
{
    if (names_has(l, s))
        return KVG_OK;
    char **p = realloc(l->names, (l->n + 1) * sizeof *p);
    if (!p)
        return KVG_ENOMEM;
    l->names = p;
    if (!(p[l->n] = strdup(s)))
        return KVG_ENOMEM;
    l->n++;
    return KVG_OK;
}

static int add_claim(const char *claim, const char *volume, void *ud)
{
    (void)volume;
    return names_add(ud, claim) ? -1 : 0;
}

/* From the webhook's annotation: a JSON list of claim names. */
static kvg_err claims_from_annotation(const char *text, name_list *out, bool *ok)
{
    json_object *arr = NULL;
    *ok = false;
    if (kvg_json_parse(text, strlen(text), 4, &arr, NULL) ||
        !json_object_is_type(arr, json_type_array)) {
        json_object_put(arr);
        return KVG_OK;
    }
    kvg_err e = KVG_OK;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n && !e; i++) {
        const char *s = kvg_json_as_str(json_object_array_get_idx(arr, i));
        if (!s || !*s) {
            names_free(out);
            json_object_put(arr);
            return KVG_OK;
        }
        e = names_add(out, s);
    }
    json_object_put(arr);
    *ok = !e;
    return e;
}

/* From the snapshot content: the source VM spec as it was at snapshot time. */
static bool claims_from_content(const kvg_view *v, const char *ns,
                                const json_object *restore, name_list *out)
{
    const char *snap_name = kvg_json_str(restore, "spec", "virtualMachineSnapshotName", NULL);
    const json_object *snap = snap_name ? kvg_view_get(v, KVG_KIND_VMSNAPSHOT, ns, snap_name) : NULL;
    const char *content_name = kvg_json_str(snap, "status", "virtualMachineSnapshotContentName", NULL);
    const json_object *content = content_name
        ? kvg_view_get(v, KVG_KIND_VMSNAPSHOTCONTENT, ns, content_name) : NULL;
    json_object *src = kvg_json_path(content, "spec", "source", "virtualMachine", NULL);
    if (!src)
        return false;
    return kvg_vm_each_claim(src, add_claim, out) == 0;
}

/* ---- is a claim in use? ---------------------------------------------------- */

typedef struct use_probe {
    const char *claim;
    const char *user; /* name of the first user found (borrowed from the view) */
} use_probe;

static int vm_probe(const json_object *vm, void *ud)
{
    use_probe *p = ud;
    if (!kvg_vm_uses_claim(vm, p->claim))
        return 0;
    p->user = kvg_obj_name(vm);
    return 1;
}

static int pod_probe(const json_object *pod, void *ud)
{
    use_probe *p = ud;
    if (!kvg_pod_live(pod) || !kvg_pod_uses_claim(pod, p->claim))
        return 0;
    p->user = kvg_obj_name(pod);
    return 1;
}

static bool kinds_synced(const kvg_view *v, const kvg_kind *kinds, size_t n,
                         const char **missing)
{
    for (size_t i = 0; i < n; i++)
        if (kvg_view_state(v, kinds[i]) == KVG_KIND_UNSYNCED) {
            *missing = kvg_kind_info_get(kinds[i])->name;
            return false;
        }
    return true;
}

/* Fills IN_USE / UNPROVABLE verdicts; returns true when the claim is free. */
static bool claim_free(const kvg_view *v, const char *ns, const json_object *pvc,
                       kvg_claim_plan *cp)
{
    static const kvg_kind needed[] = {KVG_KIND_VM, KVG_KIND_POD, KVG_KIND_DATAVOLUME};
    const char *missing = NULL;
    if (!kinds_synced(v, needed, 3, &missing)) {
        cp->verdict = KVG_CLAIM_UNPROVABLE;
        cp->reason = xprintf("%s objects are not in the cache yet: cannot prove "
                             "claim %s/%s unused", missing, ns, cp->claim);
        return false;
    }
    use_probe p = {.claim = cp->claim};
    if (kvg_view_each_mentioning(v, KVG_KIND_VM, ns, cp->claim, vm_probe, &p)) {
        cp->verdict = KVG_CLAIM_IN_USE;
        cp->reason = xprintf("claim %s/%s is still used by VirtualMachine %s",
                             ns, cp->claim, p.user);
        return false;
    }
    if (kvg_view_each_mentioning(v, KVG_KIND_POD, ns, cp->claim, pod_probe, &p)) {
        cp->verdict = KVG_CLAIM_IN_USE;
        cp->reason = xprintf("claim %s/%s is still mounted by pod %s", ns,
                             cp->claim, p.user);
        return false;
    }
    const json_object *owner = kvg_owner_of_kind(pvc, "DataVolume");
    const char *dv_name = owner ? kvg_json_str(owner, "name", NULL) : NULL;
    const json_object *dv = dv_name ? kvg_view_get(v, KVG_KIND_DATAVOLUME, ns, dv_name) : NULL;
    if (dv) {
        /* CDI re-creates the claim of a live DataVolume: delete the owner. */
        free(cp->delete_kind);
        free(cp->delete_name);
        free(cp->delete_uid);
        cp->delete_kind = xstrdup("DataVolume");
        cp->delete_name = xstrdup(dv_name);
        cp->delete_uid = xstrdup(kvg_obj_uid(dv));
    }
    return true;
}

/* ---- ZFS ----------------------------------------------------------------- */

typedef struct newest_probe {
    const char *pv;
    const json_object *best;
} newest_probe;

static int newer_snapshot(const json_object *snap, void *ud)
{
    newest_probe *p = ud;
    const char *pv = kvg_obj_label(snap, ZFS_PV_LABEL);
    if (!pv || strcmp(pv, p->pv) || kvg_json_path(snap, "metadata", "deletionTimestamp", NULL))
        return 0;
    if (!p->best) {
        p->best = snap;
        return 0;
    }
    const char *a = kvg_json_str(snap, "metadata", "creationTimestamp", NULL);
    const char *b = kvg_json_str(p->best, "metadata", "creationTimestamp", NULL);
    int c = strcmp(a ? a : "", b ? b : ""); /* RFC 3339 UTC sorts as text */
    if (c > 0 || (c == 0 && strcmp(kvg_obj_name(snap), kvg_obj_name(p->best)) > 0))
        p->best = snap;
    return 0;
}

const json_object *kvg_zfs_newest_snapshot(const kvg_view *view, const char *pv,
                                           const char *ns)
{
    newest_probe p = {.pv = pv};
    kvg_view_each(view, KVG_KIND_ZFSSNAPSHOT, ns, newer_snapshot, &p);
    return p.best;
}

typedef struct zv_probe {
    const char *name;
    const json_object *found;
} zv_probe;

static int zv_match(const json_object *zv, void *ud)
{
    zv_probe *p = ud;
    if (strcmp(kvg_obj_name(zv), p->name))
        return 0;
    p->found = zv;
    return 1;
}

/* Decides DELETE vs ROLLBACK vs UNPROVABLE for a free, bound claim. */
static kvg_err plan_zfs(const kvg_view *v, const json_object *pvc,
                        const kvg_cleanup_opts *o, kvg_claim_plan *cp)
{
    const char *pv_name = kvg_json_str(pvc, "spec", "volumeName", NULL);
    if (!pv_name || !*pv_name) {
        cp->verdict = KVG_CLAIM_DELETE;
        cp->reason = xprintf("claim %s was never bound: nothing to roll back", cp->claim);
        return KVG_OK;
    }
    const json_object *pv = kvg_view_get(v, KVG_KIND_PV, NULL, pv_name);
    const char *driver = kvg_json_str(pv, "spec", "csi", "driver", NULL);
    bool zfs = driver && !strcmp(driver, ZFS_DRIVER);
    if (!pv && kvg_view_state(v, KVG_KIND_PV) != KVG_KIND_SYNCED) {
        cp->verdict = KVG_CLAIM_UNPROVABLE;
        cp->reason = xprintf("PersistentVolume %s is not in the cache: cannot tell "
                             "whether its dataset needs a rollback", pv_name);
        return KVG_OK;
    }
    if (zfs && kvg_view_state(v, KVG_KIND_ZFSSNAPSHOT) == KVG_KIND_UNSYNCED) {
        cp->verdict = KVG_CLAIM_UNPROVABLE;
        cp->reason = xprintf("ZFSSnapshots are not in the cache yet: cannot tell "
                             "whether PV %s needs a rollback", pv_name);
        return KVG_OK;
    }
    const json_object *snap = kvg_zfs_newest_snapshot(v, pv_name, o->zfs_namespace);
    if (!snap) {
        cp->verdict = KVG_CLAIM_DELETE;
        cp->reason = xprintf("no ZFSSnapshot labelled %s=%s: delete claim %s",
                             ZFS_PV_LABEL, pv_name, cp->claim);
        return KVG_OK;
    }
    const char *dataset = kvg_json_str(pv, "spec", "csi", "volumeHandle", NULL);
    zv_probe zp = {.name = dataset ? dataset : pv_name};
    kvg_view_each(v, KVG_KIND_ZFSVOLUME, kvg_obj_namespace(snap), zv_match, &zp);
    if (!zp.found)
        kvg_view_each(v, KVG_KIND_ZFSVOLUME, NULL, zv_match, &zp);
    const char *pool = kvg_json_str(zp.found, "spec", "poolName", NULL);
    const char *node = kvg_json_str(zp.found, "spec", "ownerNodeID", NULL);
    if (!pool || !*pool || !node || !*node) {
        cp->verdict = KVG_CLAIM_UNPROVABLE;
        cp->reason = xprintf("ZFSSnapshot %s exists but ZFSVolume %s (pool, owner "
                             "node) is %s: cannot roll back, keeping claim %s",
                             kvg_obj_name(snap), zp.name,
                             zp.found ? "incomplete" : "not found", cp->claim);
        return KVG_OK;
    }
    kvg_rollback *rb = &cp->rollback;
    rb->pv = xstrdup(pv_name);
    rb->dataset = xstrdup(zp.name);
    rb->pool = xstrdup(pool);
    rb->node = xstrdup(node);
    rb->snapshot = xstrdup(kvg_obj_name(snap));
    rb->zfs_namespace = xstrdup(kvg_obj_namespace(zp.found));
    if (!rb->pv || !rb->dataset || !rb->pool || !rb->node || !rb->snapshot || !rb->zfs_namespace)
        return KVG_ENOMEM;
    cp->verdict = KVG_CLAIM_ROLLBACK;
    cp->reason = xprintf("roll %s/%s back to @%s on node %s, then delete claim %s",
                         pool, zp.name, rb->snapshot, node, cp->claim);
    return KVG_OK;
}

static kvg_err plan_claim(const kvg_view *v, const char *ns, const char *claim,
                          const kvg_cleanup_opts *o, kvg_claim_plan *cp)
{
    memset(cp, 0, sizeof *cp);
    if (!(cp->claim = strdup(claim)))
        return KVG_ENOMEM;
    const json_object *pvc = kvg_view_get(v, KVG_KIND_PVC, ns, claim);
    if (!pvc && kvg_view_state(v, KVG_KIND_PVC) != KVG_KIND_SYNCED) {
        cp->verdict = KVG_CLAIM_UNPROVABLE;
        cp->reason = xprintf("claims are not in the cache yet: cannot plan %s", claim);
        return cp->reason ? KVG_OK : KVG_ENOMEM;
    }
    if (!pvc || kvg_json_path(pvc, "metadata", "deletionTimestamp", NULL)) {
        cp->verdict = KVG_CLAIM_GONE;
        cp->reason = xprintf("claim %s/%s is already %s", ns, claim,
                             pvc ? "being deleted" : "gone");
        return cp->reason ? KVG_OK : KVG_ENOMEM;
    }
    cp->uid = xstrdup(kvg_obj_uid(pvc));
    cp->delete_kind = xstrdup("PersistentVolumeClaim");
    cp->delete_name = xstrdup(claim);
    cp->delete_uid = xstrdup(kvg_obj_uid(pvc));
    kvg_err e = KVG_OK;
    if (claim_free(v, ns, pvc, cp))
        e = plan_zfs(v, pvc, o, cp);
    if (!e && (!cp->reason || !cp->uid || !cp->delete_kind || !cp->delete_name))
        e = KVG_ENOMEM;
    return e;
}

/* ---- the gate: may we act at all yet? ----------------------------------- */

typedef struct bound_probe {
    const kvg_view *v;
    const char *ns;
    kvg_buf pending;
    size_t n_pending, n_wffc;
} bound_probe;

static bool waits_for_first_consumer(const kvg_view *v, const json_object *pvc)
{
    const char *sc_name = kvg_json_str(pvc, "spec", "storageClassName", NULL);
    const json_object *sc = sc_name ? kvg_view_get(v, KVG_KIND_STORAGECLASS, NULL, sc_name) : NULL;
    return kvg_json_str_eq(sc, "volumeBindingMode", "WaitForFirstConsumer");
}

static int check_bound(const char *claim, const char *volume, void *ud)
{
    (void)volume;
    bound_probe *p = ud;
    const json_object *pvc = kvg_view_get(p->v, KVG_KIND_PVC, p->ns, claim);
    if (kvg_json_str_eq(kvg_json_path(pvc, "status", NULL), "phase", "Bound"))
        return 0;
    p->n_pending++;
    if (pvc && waits_for_first_consumer(p->v, pvc))
        p->n_wffc++;
    kvg_buf_printf(&p->pending, "%s%s (%s)", p->pending.len ? ", " : "", claim,
                   pvc ? "not Bound" : "not created yet");
    return 0;
}

static bool vm_on(const kvg_view *v, const json_object *vm)
{
    kvg_power pw;
    kvg_vm_power(v, vm, &pw);
    return pw.on;
}

static kvg_err decide_gate(const kvg_view *v, const char *ns, const json_object *vm,
                           const kvg_cleanup_opts *o, kvg_cleanup_plan *p)
{
    bound_probe bp = {.v = v, .ns = ns};
    kvg_buf_init(&bp.pending, 1 << 16);
    kvg_vm_each_claim(vm, check_bound, &bp);
    if (bp.n_pending == 0) {
        p->gate = KVG_GATE_PROCEED;
        p->reason = xprintf("every claim of VirtualMachine %s/%s is Bound", ns, p->vm);
    } else if (bp.n_pending == bp.n_wffc && o->start_after_restore && !vm_on(v, vm)) {
        p->gate = KVG_GATE_START_VM;
        p->reason = xprintf("claims wait for a first consumer: starting VirtualMachine "
                            "%s/%s (%s)", ns, p->vm, bp.pending.data);
    } else {
        p->gate = KVG_GATE_WAIT_BOUND;
        p->reason = xprintf("waiting for the restored claims to be Bound before "
                            "touching old ones: %s%s", bp.pending.data,
                            bp.n_wffc ? "; they wait for a first consumer: start the VM "
                                        "or enable startAfterRestore" : "");
    }
    kvg_buf_free(&bp.pending);
    return p->reason ? KVG_OK : KVG_ENOMEM;
}

/* ---- entry point ---------------------------------------------------------- */

static kvg_err old_claims(const kvg_view *v, const char *ns, const json_object *restore,
                          const json_object *vm, kvg_cleanup_plan *p, name_list *out)
{
    const char *ann = kvg_obj_annotation(restore, KVG_ANN_PRE_RESTORE_CLAIMS);
    bool ok = false;
    name_list all = {0};
    kvg_err e = ann ? claims_from_annotation(ann, &all, &ok) : KVG_OK;
    p->old_claims_from_annotation = ok;
    if (!e && !ok)
        ok = claims_from_content(v, ns, restore, &all);
    for (size_t i = 0; !e && ok && i < all.n; i++)
        if (!kvg_vm_uses_claim(vm, all.names[i]))
            e = names_add(out, all.names[i]);
    names_free(&all);
    if (!e && !ok) {
        free(p->reason);
        p->gate = KVG_GATE_UNKNOWN_CLAIMS;
        p->reason = xprintf("cannot tell which claims restore %s/%s replaced: no "
                            "valid %s annotation and no snapshot content with the "
                            "source VM", ns, kvg_obj_name(restore), KVG_ANN_PRE_RESTORE_CLAIMS);
        if (!p->reason)
            e = KVG_ENOMEM;
    }
    return e;
}

kvg_err kvg_cleanup_plan_make(const kvg_view *view, const json_object *restore,
                              const kvg_cleanup_opts *opts, kvg_cleanup_plan *out)
{
    memset(out, 0, sizeof *out);
    const char *ns = kvg_obj_namespace(restore);
    const char *vm_name = kvg_json_str(restore, "spec", "target", "name", NULL);
    out->vm = xstrdup(vm_name ? vm_name : "");
    if (!out->vm)
        return KVG_ENOMEM;
    const char *phase = kvg_obj_annotation(restore, KVG_ANN_CLEANUP_PHASE);
    if (!kvg_json_bool(false, restore, "status", "complete", NULL) || !vm_name) {
        out->gate = KVG_GATE_NOT_COMPLETE;
        out->reason = xprintf(vm_name ? "restore is not complete" : "restore has no spec.target.name");
        return out->reason ? KVG_OK : KVG_ENOMEM;
    }
    if (phase && !strcmp(phase, "Done")) {
        out->gate = KVG_GATE_DONE;
        out->reason = xprintf("cleanup already done");
        return out->reason ? KVG_OK : KVG_ENOMEM;
    }
    const json_object *vm = kvg_view_get(view, KVG_KIND_VM, ns, vm_name);
    if (!vm) {
        out->gate = KVG_GATE_NO_TARGET;
        out->reason = xprintf("VirtualMachine %s/%s is gone: keeping every claim", ns, vm_name);
        return out->reason ? KVG_OK : KVG_ENOMEM;
    }
    kvg_err e = decide_gate(view, ns, vm, opts, out);
    name_list olds = {0};
    if (!e)
        e = old_claims(view, ns, restore, vm, out, &olds);
    if (!e && olds.n && !(out->claims = calloc(olds.n, sizeof *out->claims)))
        e = KVG_ENOMEM;
    for (size_t i = 0; !e && i < olds.n; i++) {
        e = plan_claim(view, ns, olds.names[i], opts, &out->claims[i]);
        out->n_claims++;
    }
    names_free(&olds);
    return e;
}

static void rollback_free(kvg_rollback *rb)
{
    free(rb->pv);
    free(rb->dataset);
    free(rb->pool);
    free(rb->node);
    free(rb->snapshot);
    free(rb->zfs_namespace);
}

void kvg_cleanup_plan_free(kvg_cleanup_plan *p)
{
    for (size_t i = 0; i < p->n_claims; i++) {
        kvg_claim_plan *c = &p->claims[i];
        free(c->claim);
        free(c->uid);
        free(c->delete_kind);
        free(c->delete_name);
        free(c->delete_uid);
        free(c->reason);
        rollback_free(&c->rollback);
    }
    free(p->claims);
    free(p->reason);
    free(p->vm);
    memset(p, 0, sizeof *p);
}
