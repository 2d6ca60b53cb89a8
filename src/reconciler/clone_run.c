/* CDI clone fallback (SPEC §6): finish what the webhook decided.
 *
 * For a VirtualMachineClone annotated kvguard.io/clone-strategy=cdi the
 * reconciler creates the target VM rendered by kvg_clone_render() (the same
 * pure function the webhook validated), owned by the clone so that deleting
 * the clone before it succeeds removes the VM; it then follows the VM's
 * DataVolumes and mirrors their phase and progress on the clone. On success
 * the ownerReference is dropped: the VM no longer depends on the clone. On
 * failure it deletes the VM it created and its DataVolumes, never the source. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/clone.h"
#include "kvguard/json.h"
#include "kvguard/kubevirt.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"
#include "reconciler/internal.h"

#define ANN_PHASE "kvguard.io/clone-phase"
#define ANN_PROGRESS "kvguard.io/clone-progress"
#define ANN_MESSAGE "kvguard.io/clone-message"

static void set_phase(kvg_rec *r, const json_object *clone, const char *phase,
                      const char *progress, const char *message)
{
    const char *cur = kvg_obj_annotation(clone, ANN_PHASE);
    const char *curp = kvg_obj_annotation(clone, ANN_PROGRESS);
    if (cur && !strcmp(cur, phase) && curp && progress && !strcmp(curp, progress))
        return;
    kvg_rec_annotate(r, KVG_KIND_VMCLONE, clone, ANN_PHASE, phase, ANN_PROGRESS, progress,
                     ANN_MESSAGE, message, NULL);
}

static kvg_rec_result fail(kvg_rec *r, const json_object *clone, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static kvg_rec_result fail(kvg_rec *r, const json_object *clone, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kvg_rec_event(r, clone, true, "CloneFailed", "%s", msg);
    kvg_metrics_inc("kvguard_clone_fallback_total", "result=\"failed\"", 1);
    set_phase(r, clone, "Failed", NULL, msg);
    return KVG_REC_DONE;
}

static json_object *owner_ref(const json_object *clone)
{
    json_object *ref = json_object_new_object();
    const char *av = kvg_json_str(clone, "apiVersion", NULL);
    json_object_object_add(ref, "apiVersion", json_object_new_string(av ? av : "clone.kubevirt.io/v1beta1"));
    json_object_object_add(ref, "kind", json_object_new_string("VirtualMachineClone"));
    json_object_object_add(ref, "name", json_object_new_string(kvg_obj_name(clone)));
    json_object_object_add(ref, "uid", json_object_new_string(kvg_obj_uid(clone)));
    json_object *refs = json_object_new_array();
    json_object_array_add(refs, ref);
    return refs;
}

/* Renders and creates the target VM once the source is powered off. */
static kvg_rec_result create_target(kvg_rec *r, const json_object *clone, const char *ns)
{
    const char *src_name = kvg_json_str(clone, "spec", "source", "name", NULL);
    json_object *vm = NULL;
    kvg_diag d = {{0}};
    kvg_power pw = {0};
    kvg_view_begin(r->view);
    const json_object *src = src_name ? kvg_view_get(r->view, KVG_KIND_VM, ns, src_name) : NULL;
    kvg_err e = KVG_ENOTFOUND;
    if (src) {
        kvg_vm_power(r->view, src, &pw);
        e = pw.on ? KVG_OK : kvg_clone_render(r->view, src, clone, &vm, &d);
    }
    kvg_view_end(r->view);
    if (!src)
        return fail(r, clone, "source VirtualMachine %s does not exist", src_name ? src_name : "");
    if (pw.on) {
        set_phase(r, clone, "Pending", "0%", "waiting for the source VM to be stopped");
        kvg_rec_event(r, clone, true, "SourceRunning",
                      "source VM %s is running (%s): stop it to let CDI copy its disks", src_name, pw.why);
        return KVG_REC_WAIT;
    }
    if (e)
        return fail(r, clone, "cannot render the target VM: %s", d.msg);
    json_object_object_add(kvg_json_path(vm, "metadata", NULL), "ownerReferences", owner_ref(clone));
    kvg_rec_result res = KVG_REC_WAIT;
    if (r->dry_run) {
        kvg_logf(KVG_LOG_INFO, "clone.dry_run", "would create VirtualMachine %s/%s for clone %s",
                 ns, kvg_obj_name(vm), kvg_obj_name(clone));
    } else if ((e = kvg_kube_create(r->kube, &r->res[KVG_KIND_VM], ns, vm, NULL, NULL, &d)) &&
               e != KVG_EEXIST) {
        kvg_rec_event(r, clone, true, "CreateTargetFailed", "creating VM %s: %s", kvg_obj_name(vm), d.msg);
        res = KVG_REC_RETRY;
    } else {
        kvg_metrics_inc("kvguard_clone_fallback_total", "result=\"started\"", 1);
        kvg_rec_event(r, clone, false, "CloneStarted",
                      "created VirtualMachine %s/%s; CDI copies its disks from %s",
                      ns, kvg_obj_name(vm), src_name);
        set_phase(r, clone, "Pending", "0%", NULL);
    }
    json_object_put(vm);
    return res;
}

typedef struct dv_tally {
    size_t total, succeeded, failed;
    double progress; /* sum of percentages */
    char failed_name[256];
} dv_tally;

static void tally_dvs(const kvg_view *v, const json_object *vm, dv_tally *t)
{
    json_object *dvts = kvg_json_array(vm, "spec", "dataVolumeTemplates", NULL);
    size_t n = dvts ? json_object_array_length(dvts) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = kvg_json_str(json_object_array_get_idx(dvts, i), "metadata", "name", NULL);
        const json_object *dv = name ? kvg_view_get(v, KVG_KIND_DATAVOLUME, kvg_obj_namespace(vm), name) : NULL;
        const char *phase = kvg_json_str(dv, "status", "phase", NULL);
        const char *prog = kvg_json_str(dv, "status", "progress", NULL);
        t->total++;
        if (phase && !strcmp(phase, "Succeeded")) {
            t->succeeded++;
            t->progress += 100;
        } else if (phase && !strcmp(phase, "Failed")) {
            t->failed++;
            snprintf(t->failed_name, sizeof t->failed_name, "%s", name);
        } else if (prog) {
            t->progress += atof(prog); /* "45.20%" */
        }
    }
}

/* Deletes the target VM (uid precondition) and the DataVolumes it owns. */
static void delete_target(kvg_rec *r, const json_object *vm)
{
    if (r->dry_run || !r->kube)
        return;
    const char *ns = kvg_obj_namespace(vm);
    kvg_kube_delete_opts o = {.uid = kvg_obj_uid(vm), .propagation = "Background"};
    kvg_diag d;
    json_object *dvts = kvg_json_array(vm, "spec", "dataVolumeTemplates", NULL);
    size_t n = dvts ? json_object_array_length(dvts) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = kvg_json_str(json_object_array_get_idx(dvts, i), "metadata", "name", NULL);
        kvg_view_begin(r->view);
        const json_object *dv = name ? kvg_view_get(r->view, KVG_KIND_DATAVOLUME, ns, name) : NULL;
        const json_object *own = dv ? kvg_owner_of_kind(dv, "VirtualMachine") : NULL;
        bool ours = own && kvg_json_str_eq(own, "uid", kvg_obj_uid(vm));
        char uid[128];
        snprintf(uid, sizeof uid, "%s", dv ? kvg_obj_uid(dv) : "");
        kvg_view_end(r->view);
        if (!ours)
            continue;
        kvg_kube_delete_opts dvo = {.uid = uid, .propagation = "Background"};
        if (kvg_kube_delete(r->kube, &r->res[KVG_KIND_DATAVOLUME], ns, name, &dvo, NULL, &d) &&
            d.msg[0])
            kvg_logf(KVG_LOG_WARN, "clone.delete_dv_failed", "%s", d.msg);
    }
    if (kvg_kube_delete(r->kube, &r->res[KVG_KIND_VM], ns, kvg_obj_name(vm), &o, NULL, &d))
        kvg_logf(KVG_LOG_WARN, "clone.delete_vm_failed", "%s", d.msg);
}

static kvg_rec_result succeed(kvg_rec *r, const json_object *clone, const json_object *vm)
{
    kvg_diag d;
    if (!r->dry_run) {
        /* The VM outlives its clone from now on; optionally start and label it. */
        json_object *patch = json_object_new_object(), *meta = json_object_new_object();
        json_object_object_add(meta, "ownerReferences", json_object_new_array());
        if (r->cfg->clone_labels) {
            json_object *labels = json_object_new_object();
            for (char **kv = r->cfg->clone_labels; *kv; kv++) {
                const char *eq = strchr(*kv, '=');
                if (!eq)
                    continue;
                char key[256];
                snprintf(key, sizeof key, "%.*s", (int)(eq - *kv), *kv);
                json_object_object_add(labels, key, json_object_new_string(eq + 1));
            }
            json_object_object_add(meta, "labels", labels);
        }
        json_object_object_add(patch, "metadata", meta);
        if (r->cfg->clone_start_after) {
            json_object *spec = json_object_new_object();
            json_object_object_add(spec, "runStrategy", json_object_new_string("Always"));
            json_object_object_add(patch, "spec", spec);
        }
        kvg_err e = kvg_kube_patch(r->kube, &r->res[KVG_KIND_VM], kvg_obj_namespace(vm),
                                   kvg_obj_name(vm), NULL, KVG_PATCH_MERGE,
                                   json_object_to_json_string(patch), NULL, NULL, &d);
        json_object_put(patch);
        if (e) {
            kvg_logf(KVG_LOG_WARN, "clone.release_failed", "%s", d.msg);
            return KVG_REC_RETRY;
        }
    }
    kvg_metrics_inc("kvguard_clone_fallback_total", "result=\"succeeded\"", 1);
    kvg_rec_event(r, clone, false, "CloneSucceeded", "VirtualMachine %s cloned with CDI",
                  kvg_obj_name(vm));
    set_phase(r, clone, "Succeeded", "100%", NULL);
    return KVG_REC_DONE;
}

static kvg_rec_result follow_target(kvg_rec *r, const json_object *clone, const json_object *vm)
{
    /* the annotation, not the label: a label value cannot hold every clone name */
    const char *made_for = kvg_obj_annotation(vm, KVG_CLONE_NAME_KEY);
    if (!made_for || strcmp(made_for, kvg_obj_name(clone)))
        return fail(r, clone, "target VirtualMachine %s exists and was not created for this clone",
                    kvg_obj_name(vm));
    dv_tally t = {0};
    kvg_view_begin(r->view);
    tally_dvs(r->view, vm, &t);
    kvg_view_end(r->view);
    if (t.failed) {
        delete_target(r, vm);
        return fail(r, clone, "DataVolume %s failed: the target VM and its DataVolumes were deleted",
                    t.failed_name);
    }
    if (t.succeeded == t.total)
        return succeed(r, clone, vm);
    char progress[32];
    snprintf(progress, sizeof progress, "%.1f%%", t.total ? t.progress / (double)t.total : 0.0);
    const char *cur = kvg_obj_annotation(clone, ANN_PHASE);
    if (!cur || strcmp(cur, "CloningVolumes"))
        kvg_rec_event(r, clone, false, "CloningVolumes", "CDI is copying %zu disk(s) of VM %s",
                      t.total, kvg_obj_name(vm));
    set_phase(r, clone, "CloningVolumes", progress, NULL);
    return KVG_REC_WAIT;
}

kvg_rec_result kvg_rec_clone(kvg_rec *r, json_object *clone)
{
    const char *strategy = kvg_obj_annotation(clone, KVG_CLONE_STRATEGY_KEY);
    const char *phase = kvg_obj_annotation(clone, ANN_PHASE);
    if (!strategy || strcmp(strategy, "cdi") ||
        (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
        return KVG_REC_DONE;
    if (kvg_json_path(clone, "metadata", "deletionTimestamp", NULL))
        return KVG_REC_DONE;
    const char *ns = kvg_obj_namespace(clone);
    const char *target = kvg_json_str(clone, "spec", "target", "name", NULL);
    if (!target || !*target)
        return fail(r, clone, "spec.target.name is empty");
    json_object *vm = NULL;
    kvg_view_begin(r->view);
    const json_object *found = kvg_view_get(r->view, KVG_KIND_VM, ns, target);
    if (found)
        json_object_deep_copy((json_object *)found, &vm, NULL);
    kvg_view_end(r->view);
    kvg_rec_result res;
    if (!vm && phase && strcmp(phase, "Pending"))
        res = fail(r, clone, "target VirtualMachine %s disappeared while cloning", target);
    else
        res = vm ? follow_target(r, clone, vm) : create_target(r, clone, ns);
    json_object_put(vm);
    kvg_metrics_inc("kvguard_reconcile_total",
                    res == KVG_REC_RETRY ? "controller=\"clone-fallback\",result=\"error\""
                                         : "controller=\"clone-fallback\",result=\"success\"", 1);
    return res;
}

/* ---- cancel ---------------------------------------------------------------- */

typedef struct orphans {
    const kvg_view *v;
    json_object *found; /* array of deep copies */
} orphans;

static int find_orphan(const json_object *vm, void *ud)
{
    orphans *o = ud;
    const json_object *ref = kvg_owner_of_kind(vm, "VirtualMachineClone");
    if (!ref || !kvg_obj_annotation(vm, KVG_CLONE_NAME_KEY))
        return 0;
    const char *uid = kvg_json_str(ref, "uid", NULL);
    if (uid && kvg_view_get_by_uid(o->v, KVG_KIND_VMCLONE, uid))
        return 0;
    json_object *copy = NULL;
    if (!json_object_deep_copy((json_object *)vm, &copy, NULL))
        json_object_array_add(o->found, copy);
    return 0;
}

void kvg_rec_clone_orphans(kvg_rec *r)
{
    orphans o = {.v = r->view, .found = json_object_new_array()};
    kvg_view_begin(r->view);
    if (kvg_view_state(r->view, KVG_KIND_VMCLONE) == KVG_KIND_SYNCED)
        kvg_view_each_mentioning(r->view, KVG_KIND_VM, NULL, KVG_CLONE_NAME_KEY, find_orphan, &o);
    kvg_view_end(r->view);
    size_t n = json_object_array_length(o.found);
    for (size_t i = 0; i < n; i++) {
        json_object *vm = json_object_array_get_idx(o.found, i);
        kvg_logf(KVG_LOG_INFO, "clone.cancel",
                 "clone of VM %s/%s was deleted before it succeeded: removing the target",
                 kvg_obj_namespace(vm), kvg_obj_name(vm));
        kvg_metrics_inc("kvguard_clone_fallback_total", "result=\"canceled\"", 1);
        delete_target(r, vm);
    }
    json_object_put(o.found);
}
