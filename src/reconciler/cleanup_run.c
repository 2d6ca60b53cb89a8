/* Carries out restore cleanup plans (SPEC §7 steps 2-4).
 *
 * Every step is recorded on the VirtualMachineRestore (annotation
 * kvguard.io/cleanup-state, one entry per old claim) right after it is taken,
 * and every step is idempotent: the rollback Job has a deterministic name
 * (AlreadyExists means "already started"), deletes carry a uid precondition
 * (NotFound means "already deleted"). So a crash, a restart or a new leader
 * resumes where the last one stopped, without rolling back or deleting twice. */
#include <stdlib.h>
#include <string.h>

#include "kvguard/cleanup.h"
#include "kvguard/json.h"
#include "kvguard/kubevirt.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"
#include "reconciler/internal.h"

typedef struct restore_run {
    kvg_rec *r;
    json_object *restore;   /* borrowed */
    json_object *state;     /* claim -> {step, job, reason}; owned */
} restore_run;

static const char *claim_step(restore_run *rr, const char *claim)
{
    return kvg_json_str(rr->state, claim, "step", NULL);
}

static bool step_final(const char *step)
{
    static const char *const finals[] = {"deleted", "gone", "kept", "rollback-failed", NULL};
    for (int i = 0; step && finals[i]; i++)
        if (!strcmp(step, finals[i]))
            return true;
    return false;
}

/* Records a step and writes the state through at once (crash safety). */
static kvg_err set_step(restore_run *rr, const char *claim, const char *step,
                        const char *job, const char *reason)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "step", json_object_new_string(step));
    if (job)
        json_object_object_add(e, "job", json_object_new_string(job));
    if (reason)
        json_object_object_add(e, "reason", json_object_new_string(reason));
    json_object_object_add(rr->state, claim, e);
    return kvg_rec_annotate(rr->r, KVG_KIND_VMRESTORE, rr->restore, KVG_ANN_CLEANUP_STATE,
                            json_object_to_json_string_ext(rr->state, JSON_C_TO_STRING_PLAIN),
                            KVG_ANN_CLEANUP_PHASE, "Cleaning", NULL);
}

static kvg_kube_resource pvc_or_dv(kvg_rec *r, const char *kind)
{
    return r->res[strcmp(kind, "DataVolume") ? KVG_KIND_PVC : KVG_KIND_DATAVOLUME];
}

static kvg_rec_result delete_claim(restore_run *rr, const kvg_claim_plan *c)
{
    kvg_rec *r = rr->r;
    const char *ns = kvg_obj_namespace(rr->restore);
    if (r->dry_run) {
        kvg_logf(KVG_LOG_INFO, "cleanup.dry_run", "would delete %s %s/%s (%s)",
                 c->delete_kind, ns, c->delete_name, c->reason);
        kvg_metrics_inc("kvguard_pvc_cleanup_total", "result=\"dry-run\"", 1);
        return KVG_REC_WAIT;
    }
    kvg_kube_resource res = pvc_or_dv(r, c->delete_kind);
    kvg_kube_delete_opts o = {.uid = c->delete_uid, .propagation = "Background"};
    kvg_diag d;
    kvg_err e = kvg_kube_delete(r->kube, &res, ns, c->delete_name, &o, NULL, &d);
    if (e && e != KVG_ENOTFOUND) {
        kvg_rec_event(r, rr->restore, true, "ClaimDeleteFailed", "deleting %s %s: %s",
                      c->delete_kind, c->delete_name, d.msg);
        kvg_metrics_inc("kvguard_pvc_cleanup_total", "result=\"error\"", 1);
        return KVG_REC_RETRY;
    }
    kvg_metrics_inc("kvguard_pvc_cleanup_total", "result=\"deleted\"", 1);
    kvg_rec_event(r, rr->restore, false, "ClaimDeleted", "deleted %s %s/%s: %s",
                  c->delete_kind, ns, c->delete_name, c->reason);
    return set_step(rr, c->claim, "deleted", NULL, c->reason) ? KVG_REC_RETRY : KVG_REC_DONE;
}

static const char *rollback_namespace(const kvg_rec *r, const kvg_claim_plan *c)
{
    const char *ns = r->cfg->rollback_namespace;
    return ns && *ns ? ns : c->rollback.zfs_namespace;
}

static kvg_rec_result start_rollback(restore_run *rr, const kvg_claim_plan *c)
{
    kvg_rec *r = rr->r;
    kvg_rollback_job_opts o = {.image = r->cfg->rollback_image,
                               .namespace_ = rollback_namespace(r, c),
                               .restore_ns = kvg_obj_namespace(rr->restore),
                               .restore_name = kvg_obj_name(rr->restore)};
    json_object *job = NULL;
    if (kvg_rollback_job_render(&c->rollback, &o, &job))
        return KVG_REC_RETRY;
    const char *name = kvg_json_str(job, "metadata", "name", NULL);
    kvg_rec_result res = KVG_REC_WAIT;
    if (r->dry_run) {
        kvg_logf(KVG_LOG_INFO, "cleanup.dry_run", "would run Job %s/%s: %s",
                 o.namespace_, name, c->reason);
        kvg_metrics_inc("kvguard_zfs_rollback_total", "result=\"dry-run\"", 1);
    } else {
        kvg_kube_resource jobs = {.group = "batch", .version = "v1", .resource = "jobs",
                                  .namespaced = true};
        kvg_diag d;
        kvg_err e = kvg_kube_create(r->kube, &jobs, o.namespace_, job, NULL, NULL, &d);
        if (e && e != KVG_EEXIST) {
            kvg_rec_event(r, rr->restore, true, "RollbackFailed",
                          "creating rollback Job for claim %s: %s", c->claim, d.msg);
            res = KVG_REC_RETRY;
        } else {
            kvg_rec_event(r, rr->restore, false, "RollbackStarted", "%s (Job %s/%s)",
                          c->reason, o.namespace_, name);
            if (set_step(rr, c->claim, "rollback-started", name, c->reason))
                res = KVG_REC_RETRY;
        }
    }
    json_object_put(job);
    return res;
}

/* Job status: 1 succeeded, -1 failed, 0 running or unknown, -2 not found. */
static int job_outcome(kvg_rec *r, const char *ns, const char *name)
{
    kvg_kube_resource jobs = {.group = "batch", .version = "v1", .resource = "jobs",
                              .namespaced = true};
    json_object *job = NULL;
    kvg_diag d;
    kvg_err e = kvg_kube_get(r->kube, &jobs, ns, name, &job, NULL, &d);
    if (e == KVG_ENOTFOUND)
        return -2;
    if (e)
        return 0;
    int out = kvg_json_int(0, job, "status", "succeeded", NULL) > 0 ? 1
            : kvg_json_int(0, job, "status", "failed", NULL) > 0   ? -1
                                                                   : 0;
    json_object_put(job);
    return out;
}

static kvg_rec_result follow_rollback(restore_run *rr, const kvg_claim_plan *c)
{
    kvg_rec *r = rr->r;
    const char *job = kvg_json_str(rr->state, c->claim, "job", NULL);
    int out = job ? job_outcome(r, rollback_namespace(r, c), job) : -2;
    if (out == 0)
        return KVG_REC_WAIT;
    if (out == -2) /* gone before we saw its end (TTL): run it again */
        return start_rollback(rr, c);
    if (out < 0) {
        kvg_metrics_inc("kvguard_zfs_rollback_total", "result=\"failed\"", 1);
        kvg_rec_event(r, rr->restore, true, "RollbackFailed",
                      "rollback Job %s failed: keeping claim %s (see the Job's log; "
                      "it refuses when the snapshot is not the newest)", job, c->claim);
        return set_step(rr, c->claim, "rollback-failed", job, "rollback Job failed")
                   ? KVG_REC_RETRY : KVG_REC_DONE;
    }
    kvg_metrics_inc("kvguard_zfs_rollback_total", "result=\"succeeded\"", 1);
    kvg_rec_event(r, rr->restore, false, "RolledBack", "%s/%s rolled back to @%s",
                  c->rollback.pool, c->rollback.dataset, c->rollback.snapshot);
    if (set_step(rr, c->claim, "rolled-back", job, c->reason))
        return KVG_REC_RETRY;
    return delete_claim(rr, c);
}

static kvg_rec_result act_on_claim(restore_run *rr, const kvg_claim_plan *c)
{
    const char *step = claim_step(rr, c->claim);
    if (step_final(step))
        return KVG_REC_DONE;
    switch (c->verdict) {
    case KVG_CLAIM_GONE:
        return set_step(rr, c->claim, "gone", NULL, c->reason) ? KVG_REC_RETRY : KVG_REC_DONE;
    case KVG_CLAIM_IN_USE:
        kvg_metrics_inc("kvguard_pvc_cleanup_total", "result=\"skipped\"", 1);
        kvg_rec_event(rr->r, rr->restore, true, "ClaimInUse", "%s: keeping it", c->reason);
        return set_step(rr, c->claim, "kept", NULL, c->reason) ? KVG_REC_RETRY : KVG_REC_DONE;
    case KVG_CLAIM_UNPROVABLE:
        if (!step || strcmp(step, "waiting"))
            kvg_rec_event(rr->r, rr->restore, true, "ClaimUnprovable", "%s", c->reason);
        if (!step || strcmp(step, "waiting"))
            set_step(rr, c->claim, "waiting", NULL, c->reason);
        return KVG_REC_WAIT;
    case KVG_CLAIM_DELETE:
        return delete_claim(rr, c);
    case KVG_CLAIM_ROLLBACK:
        if (step && !strcmp(step, "rolled-back"))
            return delete_claim(rr, c);
        if (step && !strcmp(step, "rollback-started"))
            return follow_rollback(rr, c);
        return start_rollback(rr, c);
    }
    return KVG_REC_RETRY;
}

static kvg_rec_result proceed(restore_run *rr, const kvg_cleanup_plan *p)
{
    kvg_rec_result worst = KVG_REC_DONE;
    for (size_t i = 0; i < p->n_claims && !atomic_load(rr->r->stop); i++) {
        kvg_rec_result res = act_on_claim(rr, &p->claims[i]);
        if (res > worst)
            worst = res;
    }
    if (worst != KVG_REC_DONE || rr->r->dry_run)
        return worst == KVG_REC_DONE ? KVG_REC_WAIT : worst;
    kvg_rec_event(rr->r, rr->restore, false, "CleanupDone",
                  "restore cleanup finished for VirtualMachine %s (%zu old claims)",
                  p->vm, p->n_claims);
    kvg_rec_annotate(rr->r, KVG_KIND_VMRESTORE, rr->restore, KVG_ANN_CLEANUP_PHASE, "Done", NULL);
    return KVG_REC_DONE;
}

/* Moves the phase annotation (and says why) only when it changes. */
static void report_phase(restore_run *rr, const char *phase, bool warning,
                         const char *reason, const char *why)
{
    const char *cur = kvg_obj_annotation(rr->restore, KVG_ANN_CLEANUP_PHASE);
    if (cur && !strcmp(cur, phase))
        return;
    kvg_rec_event(rr->r, rr->restore, warning, reason, "%s", why);
    kvg_rec_annotate(rr->r, KVG_KIND_VMRESTORE, rr->restore, KVG_ANN_CLEANUP_PHASE, phase, NULL);
}

static kvg_rec_result start_vm(restore_run *rr, const kvg_cleanup_plan *p)
{
    kvg_rec *r = rr->r;
    const char *ns = kvg_obj_namespace(rr->restore);
    report_phase(rr, "StartingVM", false, "StartingVM", p->reason);
    if (r->dry_run)
        return KVG_REC_WAIT;
    kvg_view_begin(r->view);
    const json_object *vm = kvg_view_get(r->view, KVG_KIND_VM, ns, p->vm);
    const char *rs = kvg_json_str(vm, "spec", "runStrategy", NULL);
    bool has_running = kvg_json_path(vm, "spec", "running", NULL) != NULL;
    kvg_view_end(r->view);
    kvg_diag d;
    kvg_err e;
    /* Halted and running:false VMs start by intent; Manual ones only
     * through virt-api's start subresource. */
    if ((rs && !strcmp(rs, "Halted")) || has_running) {
        const char *patch = has_running ? "{\"spec\":{\"running\":true}}"
                                        : "{\"spec\":{\"runStrategy\":\"Always\"}}";
        e = kvg_kube_patch(r->kube, &r->res[KVG_KIND_VM], ns, p->vm, NULL, KVG_PATCH_MERGE,
                           patch, NULL, NULL, &d);
    } else {
        e = kvg_kube_vm_start(r->kube, ns, p->vm, NULL, &d);
    }
    if (e) {
        kvg_rec_event(r, rr->restore, true, "StartVMFailed", "starting VM %s: %s", p->vm, d.msg);
        return KVG_REC_RETRY;
    }
    return KVG_REC_WAIT;
}

static kvg_rec_result run_plan(restore_run *rr, const kvg_cleanup_plan *p)
{
    switch (p->gate) {
    case KVG_GATE_NOT_COMPLETE:
        return KVG_REC_WAIT;
    case KVG_GATE_DONE:
        return KVG_REC_DONE;
    case KVG_GATE_NO_TARGET:
    case KVG_GATE_UNKNOWN_CLAIMS:
        report_phase(rr, "Skipped", true, "CleanupSkipped", p->reason);
        return KVG_REC_DONE;
    case KVG_GATE_WAIT_BOUND:
        report_phase(rr, "WaitingForBound", false, "WaitingForBound", p->reason);
        return KVG_REC_WAIT;
    case KVG_GATE_START_VM:
        return start_vm(rr, p);
    case KVG_GATE_PROCEED:
        return proceed(rr, p);
    }
    return KVG_REC_RETRY;
}

kvg_rec_result kvg_rec_restore(kvg_rec *r, json_object *restore)
{
    if (!r->cfg->restore_cleanup)
        return KVG_REC_DONE;
    const char *phase = kvg_obj_annotation(restore, KVG_ANN_CLEANUP_PHASE);
    if (phase && (!strcmp(phase, "Done") || !strcmp(phase, "Skipped")))
        return KVG_REC_DONE;
    restore_run rr = {.r = r, .restore = restore};
    const char *st = kvg_obj_annotation(restore, KVG_ANN_CLEANUP_STATE);
    if (!st || kvg_json_parse(st, strlen(st), 8, &rr.state, NULL) ||
        !json_object_is_type(rr.state, json_type_object)) {
        json_object_put(rr.state);
        rr.state = json_object_new_object();
    }
    kvg_cleanup_opts o = {.start_after_restore = r->cfg->start_after_restore,
                          .zfs_namespace = r->cfg->zfs_snapshot_namespace};
    kvg_cleanup_plan p;
    kvg_view_begin(r->view);
    kvg_err e = kvg_cleanup_plan_make(r->view, restore, &o, &p);
    kvg_view_end(r->view);
    kvg_rec_result res = e ? KVG_REC_RETRY : run_plan(&rr, &p);
    kvg_metrics_inc("kvguard_reconcile_total",
                    res == KVG_REC_RETRY ? "controller=\"restore-cleanup\",result=\"error\""
                                         : "controller=\"restore-cleanup\",result=\"success\"", 1);
    if (!e)
        kvg_cleanup_plan_free(&p);
    json_object_put(rr.state);
    return res;
}
