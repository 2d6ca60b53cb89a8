/* Restore cleanup planning (SPEC §7): which claims are old, when it is safe
 * to act, which ZFS snapshot is newest, and the rollback Job. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/cleanup.h"
#include "kvguard/json.h"
#include "kvguard/view.h"
#include "testlib.h"

/* A VM restored onto new claim "restored-disk"; "old-disk" is what it used
 * before, on ZFS with two snapshots of its PV. */
static const char base_state[] =
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: openebs-zfspv}\n"
    "provisioner: zfs.csi.openebs.io\nvolumeBindingMode: WaitForFirstConsumer\n"
    "---\napiVersion: kubevirt.io/v1\nkind: VirtualMachine\n"
    "metadata: {name: vm1, namespace: vms, uid: vm-uid}\n"
    "spec:\n  runStrategy: Halted\n  template:\n    spec:\n      volumes:\n"
    "      - name: rootdisk\n        persistentVolumeClaim: {claimName: restored-disk}\n"
    "      - name: cloudinit\n        cloudInitNoCloud: {userData: x}\n"
    "---\napiVersion: v1\nkind: PersistentVolumeClaim\n"
    "metadata: {name: restored-disk, namespace: vms, uid: new-uid}\n"
    "spec: {storageClassName: openebs-zfspv, volumeName: pv-new}\n"
    "status: {phase: Bound}\n"
    "---\napiVersion: v1\nkind: PersistentVolumeClaim\n"
    "metadata: {name: old-disk, namespace: vms, uid: old-uid}\n"
    "spec: {storageClassName: openebs-zfspv, volumeName: pv-old}\n"
    "status: {phase: Bound}\n"
    "---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-old}\n"
    "spec:\n  storageClassName: openebs-zfspv\n"
    "  csi: {driver: zfs.csi.openebs.io, volumeHandle: pv-old}\n"
    "---\napiVersion: zfs.openebs.io/v1\nkind: ZFSVolume\n"
    "metadata: {name: pv-old, namespace: openebs}\n"
    "spec: {poolName: zfspv-pool, ownerNodeID: node-2, capacity: '10737418240'}\n"
    "---\napiVersion: zfs.openebs.io/v1\nkind: ZFSSnapshot\n"
    "metadata:\n  name: snapshot-older\n  namespace: openebs\n"
    "  creationTimestamp: '2026-01-01T10:00:00Z'\n"
    "  labels: {openebs.io/persistent-volume: pv-old}\n"
    "---\napiVersion: zfs.openebs.io/v1\nkind: ZFSSnapshot\n"
    "metadata:\n  name: snapshot-newest\n  namespace: openebs\n"
    "  creationTimestamp: '2026-02-01T10:00:00Z'\n"
    "  labels: {openebs.io/persistent-volume: pv-old}\n"
    "---\napiVersion: zfs.openebs.io/v1\nkind: ZFSSnapshot\n"
    "metadata:\n  name: snapshot-of-other-pv\n  namespace: openebs\n"
    "  creationTimestamp: '2026-03-01T10:00:00Z'\n"
    "  labels: {openebs.io/persistent-volume: pv-other}\n";

static const char restore_done[] =
    "{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineRestore\","
    "\"metadata\":{\"name\":\"r1\",\"namespace\":\"vms\",\"annotations\":"
    "{\"kvguard.io/pre-restore-claims\":\"[\\\"old-disk\\\"]\"}},"
    "\"spec\":{\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\","
    "\"name\":\"vm1\"},\"virtualMachineSnapshotName\":\"snap1\"},"
    "\"status\":{\"complete\":true}}";

static kvg_store *store;

static void load(const char *extra)
{
    ck_assert_int_eq(kvg_store_new(&store), KVG_OK);
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_files_load_text(store, base_state, strlen(base_state), "base", &d) == KVG_OK,
                  "%s", d.msg);
    if (extra)
        ck_assert_msg(kvg_files_load_text(store, extra, strlen(extra), "extra", &d) == KVG_OK,
                      "%s", d.msg);
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_state(store, (kvg_kind)k, KVG_KIND_SYNCED);
}

static json_object *parse(const char *json)
{
    json_object *o;
    ck_assert_int_eq(kvg_json_parse(json, strlen(json), 0, &o, NULL), KVG_OK);
    return o;
}

/* Plans restore_done over the loaded store; `claims` (a JSON list) replaces
 * its pre-restore-claims annotation, `edit` changes it further. */
static void plan_loaded(const char *claims, void (*edit)(json_object *), bool start,
                        kvg_cleanup_plan *p)
{
    json_object *r = parse(restore_done);
    if (claims)
        json_object_object_add(kvg_json_path(r, "metadata", "annotations", NULL),
                               KVG_ANN_PRE_RESTORE_CLAIMS, json_object_new_string(claims));
    if (edit)
        edit(r);
    kvg_cleanup_opts o = {.start_after_restore = start};
    const kvg_view *v = kvg_store_view(store);
    kvg_view_begin(v);
    ck_assert_int_eq(kvg_cleanup_plan_make(v, r, &o, p), KVG_OK);
    kvg_view_end(v);
    json_object_put(r);
}

/* Plans restore_done (optionally edited by `edit`) over base + extra. */
static void plan(const char *extra, void (*edit)(json_object *), bool start,
                 kvg_cleanup_plan *p)
{
    load(extra);
    plan_loaded(NULL, edit, start, p);
}

static void teardown(void)
{
    kvg_store_free(store);
    store = NULL;
}

static const kvg_claim_plan *claim(const kvg_cleanup_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_claims; i++)
        if (!strcmp(p->claims[i].claim, name))
            return &p->claims[i];
    ck_abort_msg("claim %s not planned", name);
    return NULL;
}

static void not_complete(json_object *r)
{
    json_object_object_del(r, "status");
}

START_TEST(incomplete_restore_is_left_alone)
{
    kvg_cleanup_plan p;
    plan(NULL, not_complete, false, &p);
    ck_assert_int_eq(p.gate, KVG_GATE_NOT_COMPLETE);
    ck_assert_uint_eq(p.n_claims, 0);
    kvg_cleanup_plan_free(&p);
}
END_TEST

static void mark_done(json_object *r)
{
    json_object *ann = kvg_json_path(r, "metadata", "annotations", NULL);
    json_object_object_add(ann, KVG_ANN_CLEANUP_PHASE, json_object_new_string("Done"));
}

START_TEST(cleaned_restore_is_not_repeated)
{
    kvg_cleanup_plan p;
    plan(NULL, mark_done, false, &p);
    ck_assert_int_eq(p.gate, KVG_GATE_DONE);
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(newest_zfs_snapshot_is_rolled_back_on_owner_node)
{
    kvg_cleanup_plan p;
    plan(NULL, NULL, false, &p);
    ck_assert_int_eq(p.gate, KVG_GATE_PROCEED);
    ck_assert(p.old_claims_from_annotation);
    ck_assert_uint_eq(p.n_claims, 1);
    const kvg_claim_plan *c = claim(&p, "old-disk");
    ck_assert_int_eq(c->verdict, KVG_CLAIM_ROLLBACK);
    ck_assert_str_eq(c->rollback.snapshot, "snapshot-newest");
    ck_assert_str_eq(c->rollback.node, "node-2");
    ck_assert_str_eq(c->rollback.pool, "zfspv-pool");
    ck_assert_str_eq(c->rollback.dataset, "pv-old");
    ck_assert_str_eq(c->delete_kind, "PersistentVolumeClaim");
    ck_assert_str_eq(c->delete_uid, "old-uid");
    kvg_cleanup_plan_free(&p);
}
END_TEST

/* Seed edge case: a restore after a restore; the old claim is itself a
 * restored clone and has no snapshot of its own. */
START_TEST(claim_without_snapshot_is_deleted)
{
    const char *extra =
        "apiVersion: v1\nkind: PersistentVolumeClaim\n"
        "metadata: {name: second-old, namespace: vms, uid: u2}\n"
        "spec: {storageClassName: openebs-zfspv, volumeName: pv-second}\n"
        "status: {phase: Bound}\n---\napiVersion: v1\nkind: PersistentVolume\n"
        "metadata: {name: pv-second}\nspec: {csi: {driver: zfs.csi.openebs.io, volumeHandle: pv-second}}\n";
    kvg_cleanup_plan p;
    load(extra);
    plan_loaded("[\"second-old\"]", NULL, false, &p);
    ck_assert_int_eq(claim(&p, "second-old")->verdict, KVG_CLAIM_DELETE);
    ck_assert_ptr_nonnull(strstr(claim(&p, "second-old")->reason, "no ZFSSnapshot"));
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(pending_restored_claim_blocks_everything)
{
    const char *extra =
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n"
        "metadata: {name: vm1, namespace: vms}\n"
        "spec:\n  runStrategy: Halted\n  template:\n    spec:\n      volumes:\n"
        "      - name: rootdisk\n        persistentVolumeClaim: {claimName: pending-disk}\n"
        "---\napiVersion: v1\nkind: PersistentVolumeClaim\n"
        "metadata: {name: pending-disk, namespace: vms}\n"
        "spec: {storageClassName: openebs-zfspv}\nstatus: {phase: Pending}\n";
    /* the VM in `extra` replaces the base one (same name): load base only,
     * then put the edited objects */
    ck_assert_int_eq(kvg_store_new(&store), KVG_OK);
    ck_assert_int_eq(kvg_files_load_text(store, base_state, strlen(base_state), "b", NULL), KVG_OK);
    kvg_store *tmp;
    ck_assert_int_eq(kvg_store_new(&tmp), KVG_OK);
    ck_assert_int_eq(kvg_files_load_text(tmp, extra, strlen(extra), "e", NULL), KVG_OK);
    const kvg_view *tv = kvg_store_view(tmp);
    json_object *vm = NULL, *pvc = NULL;
    json_object_deep_copy((json_object *)kvg_view_get(tv, KVG_KIND_VM, "vms", "vm1"), &vm, NULL);
    json_object_deep_copy((json_object *)kvg_view_get(tv, KVG_KIND_PVC, "vms", "pending-disk"), &pvc, NULL);
    kvg_store_free(tmp);
    ck_assert_int_eq(kvg_store_put(store, KVG_KIND_VM, vm), KVG_OK);
    ck_assert_int_eq(kvg_store_put(store, KVG_KIND_PVC, pvc), KVG_OK);
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_state(store, (kvg_kind)k, KVG_KIND_SYNCED);

    for (int start = 0; start < 2; start++) {
        kvg_cleanup_plan p;
        plan_loaded(NULL, NULL, start, &p);
        ck_assert_int_eq(p.gate, start ? KVG_GATE_START_VM : KVG_GATE_WAIT_BOUND);
        ck_assert_ptr_nonnull(strstr(p.reason, "pending-disk"));
        kvg_cleanup_plan_free(&p);
    }
}
END_TEST

START_TEST(claim_used_by_another_vm_is_kept)
{
    const char *extra =
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n"
        "metadata: {name: other-vm, namespace: vms}\n"
        "spec:\n  template:\n    spec:\n      volumes:\n"
        "      - name: shared\n        dataVolume: {name: old-disk}\n";
    kvg_cleanup_plan p;
    plan(extra, NULL, false, &p);
    const kvg_claim_plan *c = claim(&p, "old-disk");
    ck_assert_int_eq(c->verdict, KVG_CLAIM_IN_USE);
    ck_assert_ptr_nonnull(strstr(c->reason, "other-vm"));
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(claim_mounted_by_live_pod_is_kept)
{
    const char *extra =
        "apiVersion: v1\nkind: Pod\nmetadata: {name: backup-agent, namespace: vms}\n"
        "spec:\n  volumes:\n  - name: d\n    persistentVolumeClaim: {claimName: old-disk}\n"
        "status: {phase: Running}\n";
    kvg_cleanup_plan p;
    plan(extra, NULL, false, &p);
    ck_assert_int_eq(claim(&p, "old-disk")->verdict, KVG_CLAIM_IN_USE);
    ck_assert_ptr_nonnull(strstr(claim(&p, "old-disk")->reason, "backup-agent"));
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(claim_of_finished_pod_is_free)
{
    const char *extra =
        "apiVersion: v1\nkind: Pod\nmetadata: {name: old-launcher, namespace: vms}\n"
        "spec:\n  volumes:\n  - name: d\n    persistentVolumeClaim: {claimName: old-disk}\n"
        "status: {phase: Succeeded}\n";
    kvg_cleanup_plan p;
    plan(extra, NULL, false, &p);
    ck_assert_int_eq(claim(&p, "old-disk")->verdict, KVG_CLAIM_ROLLBACK);
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(snapshot_without_zfsvolume_is_unprovable)
{
    kvg_cleanup_plan p;
    load(NULL);
    ck_assert_int_eq(kvg_store_delete(store, KVG_KIND_ZFSVOLUME, "openebs", "pv-old"), KVG_OK);
    plan_loaded(NULL, NULL, false, &p);
    ck_assert_int_eq(claim(&p, "old-disk")->verdict, KVG_CLAIM_UNPROVABLE);
    ck_assert_ptr_nonnull(strstr(claim(&p, "old-disk")->reason, "not found"));
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(unsynced_pods_make_claims_unprovable)
{
    kvg_cleanup_plan p;
    load(NULL);
    kvg_store_set_state(store, KVG_KIND_POD, KVG_KIND_UNSYNCED);
    plan_loaded(NULL, NULL, false, &p);
    ck_assert_int_eq(claim(&p, "old-disk")->verdict, KVG_CLAIM_UNPROVABLE);
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(datavolume_owned_claim_deletes_the_datavolume)
{
    const char *extra =
        "apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\n"
        "metadata: {name: old-dv, namespace: vms, uid: dv-uid}\n"
        "---\napiVersion: v1\nkind: PersistentVolumeClaim\n"
        "metadata:\n  name: old-dv\n  namespace: vms\n  uid: pvc-dv-uid\n"
        "  ownerReferences: [{apiVersion: cdi.kubevirt.io/v1beta1, kind: DataVolume, name: old-dv, uid: dv-uid}]\n"
        "spec: {}\nstatus: {phase: Bound}\n";
    kvg_cleanup_plan p;
    load(extra);
    plan_loaded("[\"old-dv\"]", NULL, false, &p);
    const kvg_claim_plan *c = claim(&p, "old-dv");
    ck_assert_int_eq(c->verdict, KVG_CLAIM_DELETE);
    ck_assert_str_eq(c->delete_kind, "DataVolume");
    ck_assert_str_eq(c->delete_uid, "dv-uid");
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(current_claims_are_never_old_and_gone_ones_are_reported)
{
    kvg_cleanup_plan p;
    load(NULL);
    plan_loaded("[\"old-disk\",\"restored-disk\",\"gone-disk\"]", NULL, false, &p);
    ck_assert_uint_eq(p.n_claims, 2);
    ck_assert_int_eq(claim(&p, "gone-disk")->verdict, KVG_CLAIM_GONE);
    for (size_t i = 0; i < p.n_claims; i++)
        ck_assert_str_ne(p.claims[i].claim, "restored-disk");
    kvg_cleanup_plan_free(&p);
}
END_TEST

static void no_annotation(json_object *r)
{
    json_object_object_del(kvg_json_path(r, "metadata", NULL), "annotations");
}

START_TEST(claims_come_from_snapshot_content_without_annotation)
{
    const char *extra =
        "apiVersion: snapshot.kubevirt.io/v1beta1\nkind: VirtualMachineSnapshot\n"
        "metadata: {name: snap1, namespace: vms}\n"
        "status: {virtualMachineSnapshotContentName: content1, readyToUse: true}\n"
        "---\napiVersion: snapshot.kubevirt.io/v1beta1\nkind: VirtualMachineSnapshotContent\n"
        "metadata: {name: content1, namespace: vms}\n"
        "spec:\n  source:\n    virtualMachine:\n      metadata: {name: vm1}\n"
        "      spec:\n        template:\n          spec:\n            volumes:\n"
        "            - name: rootdisk\n              persistentVolumeClaim: {claimName: old-disk}\n";
    kvg_cleanup_plan p;
    plan(extra, no_annotation, false, &p);
    ck_assert(!p.old_claims_from_annotation);
    ck_assert_uint_eq(p.n_claims, 1);
    ck_assert_int_eq(claim(&p, "old-disk")->verdict, KVG_CLAIM_ROLLBACK);
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(no_claim_source_means_unknown)
{
    kvg_cleanup_plan p;
    plan(NULL, no_annotation, false, &p);
    ck_assert_int_eq(p.gate, KVG_GATE_UNKNOWN_CLAIMS);
    ck_assert_uint_eq(p.n_claims, 0);
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(malformed_annotation_is_not_trusted)
{
    kvg_cleanup_plan p;
    load(NULL);
    plan_loaded("[\"a\", 3", NULL, false, &p);
    ck_assert(!p.old_claims_from_annotation);
    ck_assert_int_eq(p.gate, KVG_GATE_UNKNOWN_CLAIMS);
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(missing_target_vm_keeps_everything)
{
    kvg_cleanup_plan p;
    load(NULL);
    ck_assert_int_eq(kvg_store_delete(store, KVG_KIND_VM, "vms", "vm1"), KVG_OK);
    plan_loaded(NULL, NULL, false, &p);
    ck_assert_int_eq(p.gate, KVG_GATE_NO_TARGET);
    ck_assert_uint_eq(p.n_claims, 0);
    kvg_cleanup_plan_free(&p);
}
END_TEST

START_TEST(rollback_job_runs_on_owner_node_without_recursion)
{
    kvg_rollback rb = {.pv = "pv-old", .dataset = "pv-old", .pool = "zfspv-pool",
                       .node = "node-2", .snapshot = "snapshot-newest"};
    kvg_rollback_job_opts o = {.image = "openebs/zfs-driver:2.7.1",
                               .namespace_ = "openebs", .restore_ns = "vms",
                               .restore_name = "r1"};
    json_object *job, *again;
    ck_assert_int_eq(kvg_rollback_job_render(&rb, &o, &job), KVG_OK);
    ck_assert_int_eq(kvg_rollback_job_render(&rb, &o, &again), KVG_OK);
    ck_assert_str_eq(kvg_json_str(job, "metadata", "name", NULL),
                     kvg_json_str(again, "metadata", "name", NULL));
    ck_assert_str_eq(kvg_json_str(job, "metadata", "namespace", NULL), "openebs");
    ck_assert_int_eq(kvg_json_int(-1, job, "spec", "backoffLimit", NULL), 0);
    json_object *pod = kvg_json_path(job, "spec", "template", "spec", NULL);
    ck_assert_str_eq(kvg_json_str(pod, "nodeSelector", "openebs.io/nodeid", NULL), "node-2");
    ck_assert_str_eq(kvg_json_str(pod, "restartPolicy", NULL), "Never");
    json_object *c = json_object_array_get_idx(kvg_json_array(pod, "containers", NULL), 0);
    ck_assert(kvg_json_bool(false, c, "securityContext", "privileged", NULL));
    const char *script = kvg_json_as_str(json_object_array_get_idx(kvg_json_array(c, "args", NULL), 0));
    ck_assert_ptr_nonnull(strstr(script, "zfs rollback \"$TARGET\""));
    ck_assert_ptr_null(strstr(script, "rollback -r"));
    ck_assert_ptr_null(strstr(script, "rollback -R"));
    ck_assert_ptr_nonnull(strstr(script, "REFUSE"));
    ck_assert_ptr_null(strstr(script, "zfspv-pool")); /* values only via env */
    json_object *env = kvg_json_array(c, "env", NULL);
    ck_assert_int_eq(json_object_array_length(env), 3);
    ck_assert_str_eq(kvg_json_str(json_object_array_get_idx(env, 0), "value", NULL), "zfspv-pool");
    ck_assert_str_eq(kvg_json_str(json_object_array_get_idx(env, 2), "value", NULL), "snapshot-newest");
    rb.snapshot = "snapshot-older";
    json_object *other;
    ck_assert_int_eq(kvg_rollback_job_render(&rb, &o, &other), KVG_OK);
    ck_assert_str_ne(kvg_json_str(job, "metadata", "name", NULL),
                     kvg_json_str(other, "metadata", "name", NULL));
    rb.node = NULL;
    json_object *bad;
    ck_assert_int_eq(kvg_rollback_job_render(&rb, &o, &bad), KVG_EINVAL);
    json_object_put(job);
    json_object_put(again);
    json_object_put(other);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cleanup");
    TCase *tc = tcase_create("plan");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, incomplete_restore_is_left_alone);
    tcase_add_test(tc, cleaned_restore_is_not_repeated);
    tcase_add_test(tc, newest_zfs_snapshot_is_rolled_back_on_owner_node);
    tcase_add_test(tc, claim_without_snapshot_is_deleted);
    tcase_add_test(tc, pending_restored_claim_blocks_everything);
    tcase_add_test(tc, claim_used_by_another_vm_is_kept);
    tcase_add_test(tc, claim_mounted_by_live_pod_is_kept);
    tcase_add_test(tc, claim_of_finished_pod_is_free);
    tcase_add_test(tc, snapshot_without_zfsvolume_is_unprovable);
    tcase_add_test(tc, unsynced_pods_make_claims_unprovable);
    tcase_add_test(tc, datavolume_owned_claim_deletes_the_datavolume);
    tcase_add_test(tc, current_claims_are_never_old_and_gone_ones_are_reported);
    tcase_add_test(tc, claims_come_from_snapshot_content_without_annotation);
    tcase_add_test(tc, no_claim_source_means_unknown);
    tcase_add_test(tc, malformed_annotation_is_not_trusted);
    tcase_add_test(tc, missing_target_vm_keeps_everything);
    tcase_add_test(tc, rollback_job_runs_on_owner_node_without_recursion);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
