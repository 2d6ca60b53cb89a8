/* Unit tests of SPEC §4 (src/policy/storage.c): every branch of the
 * claim -> StorageClass -> provisioner -> VolumeSnapshotClass resolution,
 * the VM status fallback, malformed volumes, and the capability table with
 * its overrides. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/policy.h"
#include "kvguard/view.h"
#include "policy/internal.h"
#include "policy/storage.h"
#include "testlib.h"

/* Storage every test shares: zfs with one snapshot class, ceph (Rook
 * prefixed) with two classes of which one is the default, longhorn with two
 * classes and no default, hostpath with none; "openebs-hostpath" is the
 * default StorageClass. */
static const char *BASE =
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata: {name: openebs-zfspv}\nprovisioner: zfs.csi.openebs.io\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata: {name: rook-ceph-block}\nprovisioner: rook-ceph.rbd.csi.ceph.com\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata: {name: longhorn}\nprovisioner: driver.longhorn.io\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata: {name: longhorn-profiled}\nprovisioner: driver.longhorn.io\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata: {name: zfs-bad-profile}\nprovisioner: zfs.csi.openebs.io\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata: {name: zfs-empty-profile}\nprovisioner: zfs.csi.openebs.io\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata: {name: no-provisioner}\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    "metadata:\n  name: openebs-hostpath\n"
    "  creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
    "  annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}\n"
    "provisioner: openebs.io/local\n---\n"
    "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n"
    "metadata: {name: zfspv-snapclass}\ndriver: zfs.csi.openebs.io\ndeletionPolicy: Delete\n---\n"
    "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n"
    "metadata: {name: ceph-a}\ndriver: rook-ceph.rbd.csi.ceph.com\ndeletionPolicy: Delete\n---\n"
    "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n"
    "metadata:\n  name: ceph-b\n"
    "  annotations: {snapshot.storage.kubernetes.io/is-default-class: \"true\"}\n"
    "driver: rook-ceph.rbd.csi.ceph.com\ndeletionPolicy: Delete\n---\n"
    "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n"
    "metadata: {name: longhorn-snap}\ndriver: driver.longhorn.io\ndeletionPolicy: Delete\n---\n"
    "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n"
    "metadata: {name: longhorn-bak}\ndriver: driver.longhorn.io\ndeletionPolicy: Delete\n---\n"
    "apiVersion: cdi.kubevirt.io/v1beta1\nkind: StorageProfile\n"
    "metadata: {name: longhorn-profiled}\nstatus: {snapshotClass: longhorn-snap}\n---\n"
    "apiVersion: cdi.kubevirt.io/v1beta1\nkind: StorageProfile\n"
    "metadata: {name: zfs-bad-profile}\nstatus: {snapshotClass: gone-class}\n---\n"
    "apiVersion: cdi.kubevirt.io/v1beta1\nkind: StorageProfile\n"
    "metadata: {name: zfs-empty-profile}\nstatus: {snapshotClass: \"\"}\n";

static kvg_store *store;
static const kvg_view *view;

static void load(const char *extra)
{
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_store_new(&store), KVG_OK);
    ck_assert_msg(kvg_files_load_text(store, BASE, strlen(BASE), "base", &d) == KVG_OK,
                  "base: %s", d.msg);
    if (extra)
        ck_assert_msg(kvg_files_load_text(store, extra, strlen(extra), "extra", &d) == KVG_OK,
                      "extra: %s", d.msg);
    view = kvg_store_view(store);
}

static void unload(void)
{
    kvg_store_free(store);
    store = NULL;
}

static char *pvc(const char *name, const char *sc_line, const char *phase)
{
    char *s = NULL;
    ck_assert_int_ge(asprintf(&s, "apiVersion: v1\nkind: PersistentVolumeClaim\n"
                              "metadata: {name: %s, namespace: ns}\n"
                              "spec:\n  accessModes: [ReadWriteOnce]\n%s\n"
                              "status: {phase: %s}\n---\n",
                              name, sc_line ? sc_line : "", phase), 0);
    return s;
}

/* A VM "vm" in "ns" with the given volumes JSON and extra spec/status JSON. */
static json_object *vm_json(const char *volumes, const char *extra_spec,
                            const char *status)
{
    char *text = NULL;
    json_object *o;
    ck_assert_int_ge(asprintf(&text,
                              "{\"metadata\":{\"name\":\"vm\",\"namespace\":\"ns\"},"
                              "\"spec\":{%s%s\"template\":{\"spec\":{\"volumes\":%s}}}%s%s}",
                              extra_spec ? extra_spec : "", extra_spec ? "," : "",
                              volumes, status ? ",\"status\":" : "",
                              status ? status : ""), 0);
    o = json_tokener_parse(text);
    ck_assert_msg(o != NULL, "bad JSON %s", text);
    free(text);
    return o;
}

/* Resolve the single volume of a VM. */
static kvg_volume_info one(json_object *vm)
{
    kvg_volume_info *vols = NULL, vi;
    size_t n = 0;
    ck_assert_int_eq(kvg_storage_vm_volumes(view, vm, "ns", &vols, &n), KVG_OK);
    ck_assert_uint_eq(n, 1);
    vi = vols[0];
    free(vols);
    return vi;
}

#define PVC_VOL "[{\"name\":\"disk\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}]"
#define DV_VOL "[{\"name\":\"disk\",\"dataVolume\":{\"name\":\"dv\"}}]"

static kvg_volume_info pvc_case(const char *sc_line, const char *phase)
{
    char *p = pvc("c", sc_line, phase);
    load(p);
    free(p);
    json_object *vm = vm_json(PVC_VOL, NULL, NULL);
    kvg_volume_info vi = one(vm);
    json_object_put(vm);
    return vi;
}

START_TEST(single_class_by_driver)
{
    kvg_volume_info vi = pvc_case("  storageClassName: openebs-zfspv", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert_str_eq(vi.st.snapshot_class, "zfspv-snapclass");
    ck_assert_str_eq(vi.st.provisioner, "zfs.csi.openebs.io");
    ck_assert_str_eq(vi.st.sc_source, "PVC spec.storageClassName");
    ck_assert_str_eq(vi.type, "persistentVolumeClaim");
    ck_assert(vi.claim_found && vi.claim_bound);
    ck_assert_uint_eq(vi.st.n_matching, 1);
    ck_assert_msg(strstr(vi.st.why, "only") != NULL, "%s", vi.st.why);
    unload();
}
END_TEST

START_TEST(default_among_several)
{
    kvg_volume_info vi = pvc_case("  storageClassName: rook-ceph-block", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert_str_eq(vi.st.snapshot_class, "ceph-b");
    ck_assert_uint_eq(vi.st.n_matching, 2);
    ck_assert_msg(strstr(vi.st.why, "default") != NULL, "%s", vi.st.why);
    unload();
}
END_TEST

START_TEST(ambiguous_without_default)
{
    kvg_volume_info vi = pvc_case("  storageClassName: longhorn", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_AMBIGUOUS);
    ck_assert_ptr_null(vi.st.snapshot_class);
    ck_assert_msg(strstr(vi.st.why, "2 VolumeSnapshotClasses") != NULL, "%s", vi.st.why);
    unload();
}
END_TEST

START_TEST(default_annotation_key_is_enough)
{
    /* KubeVirt checks the annotation key only. */
    const char *extra =
        "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n"
        "metadata:\n  name: longhorn-third\n"
        "  annotations: {snapshot.storage.kubernetes.io/is-default-class: \"false\"}\n"
        "driver: driver.longhorn.io\ndeletionPolicy: Delete\n---\n";
    char *p = pvc("c", "  storageClassName: longhorn", "Bound");
    char *all = NULL;
    ck_assert_int_ge(asprintf(&all, "%s%s", extra, p), 0);
    load(all);
    json_object *vm = vm_json(PVC_VOL, NULL, NULL);
    kvg_volume_info vi = one(vm);
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert_str_eq(vi.st.snapshot_class, "longhorn-third");
    json_object_put(vm);
    free(p);
    free(all);
    unload();
}
END_TEST

START_TEST(no_class_for_driver)
{
    kvg_volume_info vi = pvc_case("  storageClassName: openebs-hostpath", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE);
    ck_assert_str_eq(vi.st.provisioner, "openebs.io/local");
    ck_assert_msg(strstr(vi.st.why, "no VolumeSnapshotClass has driver openebs.io/local"),
                  "%s", vi.st.why);
    unload();
}
END_TEST

START_TEST(storage_profile_wins)
{
    /* longhorn has two classes and no default, but the profile names one. */
    kvg_volume_info vi = pvc_case("  storageClassName: longhorn-profiled", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert_str_eq(vi.st.snapshot_class, "longhorn-snap");
    ck_assert_msg(strstr(vi.st.why, "StorageProfile") != NULL, "%s", vi.st.why);
    unload();
}
END_TEST

START_TEST(storage_profile_missing_class)
{
    kvg_volume_info vi = pvc_case("  storageClassName: zfs-bad-profile", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE);
    ck_assert_msg(strstr(vi.st.why, "gone-class") != NULL, "%s", vi.st.why);
    unload();
}
END_TEST

START_TEST(storage_profile_empty_falls_back)
{
    kvg_volume_info vi = pvc_case("  storageClassName: zfs-empty-profile", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert_str_eq(vi.st.snapshot_class, "zfspv-snapclass");
    unload();
}
END_TEST

START_TEST(storage_class_without_provisioner)
{
    kvg_volume_info vi = pvc_case("  storageClassName: no-provisioner", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE);
    unload();
}
END_TEST

START_TEST(empty_class_name_is_none)
{
    kvg_volume_info vi = pvc_case("  storageClassName: \"\"", "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE);
    unload();
}
END_TEST

START_TEST(bound_pvc_without_class_is_none)
{
    kvg_volume_info vi = pvc_case(NULL, "Bound");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE);
    ck_assert_ptr_null(vi.st.storage_class);
    ck_assert_str_eq(vi.st.sc_source, "bound PVC without storageClassName");
    unload();
}
END_TEST

START_TEST(unbound_pvc_without_class_gets_default)
{
    kvg_volume_info vi = pvc_case(NULL, "Pending");
    ck_assert_str_eq(vi.st.storage_class, "openebs-hostpath");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE); /* hostpath has no class */
    ck_assert(vi.claim_found && !vi.claim_bound);
    unload();
}
END_TEST

START_TEST(storage_class_missing_uses_vm_status)
{
    char *p = pvc("c", "  storageClassName: vanished", "Bound");
    load(p);
    free(p);
    json_object *vm = vm_json(PVC_VOL, NULL,
                              "{\"volumeSnapshotStatuses\":[{\"name\":\"disk\",\"enabled\":true}]}");
    kvg_volume_info vi = one(vm);
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert(vi.from_status);
    json_object_put(vm);
    vm = vm_json(PVC_VOL, NULL,
                 "{\"volumeSnapshotStatuses\":[{\"name\":\"disk\",\"enabled\":false,"
                 "\"reason\":\"No VolumeSnapshotClass: Volume snapshots are not configured\"}]}");
    vi = one(vm);
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE);
    ck_assert_msg(strstr(vi.st.why, "not configured") != NULL, "%s", vi.st.why);
    json_object_put(vm);
    /* neither tells: unknown, saying what is missing */
    vm = vm_json(PVC_VOL, NULL, NULL);
    vi = one(vm);
    ck_assert_int_eq(vi.st.support, KVG_SNAP_UNKNOWN);
    ck_assert_msg(strstr(vi.st.why, "vanished") != NULL, "%s", vi.st.why);
    json_object_put(vm);
    unload();
}
END_TEST

START_TEST(pvc_missing_uses_vm_status)
{
    load(NULL);
    json_object *vm = vm_json(PVC_VOL, NULL,
                              "{\"volumeSnapshotStatuses\":[{\"name\":\"other\",\"enabled\":true},"
                              "{\"name\":\"disk\",\"enabled\":true}]}");
    kvg_volume_info vi = one(vm);
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert(vi.from_status && !vi.claim_found);
    json_object_put(vm);
    vm = vm_json(PVC_VOL, NULL, NULL);
    vi = one(vm);
    ck_assert_int_eq(vi.st.support, KVG_SNAP_UNKNOWN);
    ck_assert_msg(strstr(vi.st.why, "PVC c is not in the cluster view"), "%s", vi.st.why);
    json_object_put(vm);
    unload();
}
END_TEST

static kvg_volume_info dv_case(const char *objects, const char *extra_spec)
{
    load(objects);
    json_object *vm = vm_json(DV_VOL, extra_spec, NULL);
    kvg_volume_info vi = one(vm);
    json_object_put(vm);
    return vi;
}

START_TEST(dv_spec_pvc_class)
{
    kvg_volume_info vi = dv_case(
        "apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\n"
        "metadata: {name: dv, namespace: ns}\n"
        "spec: {pvc: {storageClassName: openebs-zfspv}, source: {blank: {}}}\n", NULL);
    ck_assert_str_eq(vi.st.sc_source, "DataVolume spec.pvc.storageClassName");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert(vi.dv_found);
    unload();
}
END_TEST

START_TEST(dv_spec_storage_class)
{
    kvg_volume_info vi = dv_case(
        "apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\n"
        "metadata: {name: dv, namespace: ns}\n"
        "spec: {storage: {storageClassName: longhorn}, source: {blank: {}}}\n", NULL);
    ck_assert_str_eq(vi.st.sc_source, "DataVolume spec.storage.storageClassName");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_AMBIGUOUS);
    unload();
}
END_TEST

START_TEST(dv_template_class)
{
    /* The DataVolume names no class: the VM's dataVolumeTemplate does. */
    kvg_volume_info vi = dv_case(
        "apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\n"
        "metadata: {name: dv, namespace: ns}\nspec: {storage: {}, source: {blank: {}}}\n",
        "\"dataVolumeTemplates\":[{\"metadata\":{\"name\":\"dv\"},"
        "\"spec\":{\"pvc\":{\"storageClassName\":\"rook-ceph-block\"}}}]");
    ck_assert_str_eq(vi.st.sc_source, "VM dataVolumeTemplates spec.pvc.storageClassName");
    ck_assert_str_eq(vi.st.snapshot_class, "ceph-b");
    unload();
}
END_TEST

START_TEST(dv_template_without_dv)
{
    kvg_volume_info vi = dv_case(NULL,
        "\"dataVolumeTemplates\":[{\"metadata\":{\"name\":\"dv\"},"
        "\"spec\":{\"storage\":{\"storageClassName\":\"openebs-zfspv\"}}}]");
    ck_assert_str_eq(vi.st.sc_source, "VM dataVolumeTemplates spec.storage.storageClassName");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert(!vi.dv_found);
    unload();
}
END_TEST

START_TEST(dv_falls_back_to_pvc)
{
    char *p = pvc("dv", "  storageClassName: openebs-zfspv", "Bound");
    char *all = NULL;
    ck_assert_int_ge(asprintf(&all,
        "apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\n"
        "metadata: {name: dv, namespace: ns}\nspec: {storage: {}, source: {blank: {}}}\n---\n%s", p), 0);
    kvg_volume_info vi = dv_case(all, NULL);
    ck_assert_str_eq(vi.st.sc_source, "PVC spec.storageClassName");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_SUPPORTED);
    ck_assert(vi.claim_found);
    free(p);
    free(all);
    unload();
}
END_TEST

START_TEST(dv_without_class_or_pvc_gets_default)
{
    kvg_volume_info vi = dv_case(
        "apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\n"
        "metadata: {name: dv, namespace: ns}\nspec: {storage: {}, source: {blank: {}}}\n", NULL);
    ck_assert_str_eq(vi.st.storage_class, "openebs-hostpath");
    ck_assert_int_eq(vi.st.support, KVG_SNAP_NONE);
    ck_assert_msg(strstr(vi.st.sc_source, "default") != NULL, "%s", vi.st.sc_source);
    unload();
}
END_TEST

START_TEST(dv_nothing_known_is_unknown)
{
    kvg_volume_info vi = dv_case(NULL, NULL);
    ck_assert_int_eq(vi.st.support, KVG_SNAP_UNKNOWN);
    unload();
}
END_TEST

START_TEST(memory_dump_and_ignored_types)
{
    char *p = pvc("dump", "  storageClassName: openebs-zfspv", "Bound");
    load(p);
    free(p);
    json_object *vm = vm_json(
        "[{\"name\":\"cd\",\"containerDisk\":{\"image\":\"x\"}},"
        "{\"name\":\"ci\",\"cloudInitNoCloud\":{\"userData\":\"#cloud-config\"}},"
        "{\"name\":\"empty\",\"emptyDisk\":{\"capacity\":\"1Gi\"}},"
        "{\"name\":\"cm\",\"configMap\":{\"name\":\"x\"}},"
        "{\"name\":\"mem\",\"memoryDump\":{\"claimName\":\"dump\"}}]", NULL, NULL);
    kvg_volume_info *vols = NULL;
    size_t n = 0;
    ck_assert_int_eq(kvg_storage_vm_volumes(view, vm, "ns", &vols, &n), KVG_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(vols[0].type, "memoryDump");
    ck_assert_str_eq(vols[0].volume, "mem");
    ck_assert_int_eq(vols[0].st.support, KVG_SNAP_SUPPORTED);
    free(vols);
    json_object_put(vm);
    unload();
}
END_TEST

START_TEST(malformed_volumes)
{
    kvg_volume_info *vols = NULL;
    size_t n = 7;
    load(NULL);
    json_object *vm = vm_json("\"not a list\"", NULL, NULL);
    ck_assert_int_eq(kvg_storage_vm_volumes(view, vm, "ns", &vols, &n), KVG_EINVAL);
    ck_assert_ptr_null(vols);
    json_object_put(vm);
    vm = vm_json("[1, 2]", NULL, NULL);
    ck_assert_int_eq(kvg_storage_vm_volumes(view, vm, "ns", &vols, &n), KVG_EINVAL);
    json_object_put(vm);
    /* 257 volumes: over KubeVirt's list limit */
    {
        json_object *big = json_object_new_array();
        for (int i = 0; i < KVG_MAX_LIST + 1; i++)
            json_object_array_add(big, json_tokener_parse(
                "{\"name\":\"d\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}"));
        vm = vm_json("[]", NULL, NULL);
        json_object *tspec = json_object_object_get(
            json_object_object_get(json_object_object_get(vm, "spec"), "template"), "spec");
        json_object_object_add(tspec, "volumes", big);
        ck_assert_int_eq(kvg_storage_vm_volumes(view, vm, "ns", &vols, &n), KVG_EINVAL);
        json_object_put(vm);
    }
    /* no volumes at all, or a VM without spec: nothing to snapshot */
    vm = json_tokener_parse("{\"metadata\":{\"name\":\"vm\"}}");
    ck_assert_int_eq(kvg_storage_vm_volumes(view, vm, "ns", &vols, &n), KVG_OK);
    ck_assert_uint_eq(n, 0);
    json_object_put(vm);
    /* volume sources of the wrong type are ignored, names may be missing */
    vm = vm_json("[{\"persistentVolumeClaim\":\"c\"},"
                 "{\"dataVolume\":{\"name\":5}}]", NULL, NULL);
    ck_assert_int_eq(kvg_storage_vm_volumes(view, vm, "ns", &vols, &n), KVG_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(vols[0].volume, "");
    ck_assert_str_eq(vols[0].claim, "");
    ck_assert_int_eq(vols[0].st.support, KVG_SNAP_UNKNOWN);
    free(vols);
    json_object_put(vm);
    unload();
}
END_TEST

START_TEST(newest_default_storage_class)
{
    load("apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
         "metadata:\n  name: newer-default\n"
         "  creationTimestamp: \"2025-06-01T00:00:00Z\"\n"
         "  annotations: {storageclass.beta.kubernetes.io/is-default-class: \"true\"}\n"
         "provisioner: zfs.csi.openebs.io\n");
    ck_assert_str_eq(kvg_storage_default_class(view), "newer-default");
    unload();
    load(NULL);
    ck_assert_str_eq(kvg_storage_default_class(view), "openebs-hostpath");
    unload();
}
END_TEST

/* ---- capabilities --------------------------------------------------------- */

START_TEST(builtin_table)
{
    kvg_capability cap;
    kvg_capability_src src;
    kvg_capability_for(NULL, NULL, "zfs.csi.openebs.io", &cap, &src);
    ck_assert(cap.snapshot == KVG_YES && cap.restore == KVG_YES && cap.clone == KVG_YES);
    ck_assert_str_eq(src.builtin_key, "zfs.csi.openebs.io");
    kvg_capability_for(NULL, NULL, "local.csi.openebs.io", &cap, &src);
    ck_assert(cap.snapshot == KVG_YES && cap.restore == KVG_NO && cap.clone == KVG_NO);
    kvg_capability_for(NULL, NULL, "openebs.io/local", &cap, NULL);
    ck_assert(cap.snapshot == KVG_NO && cap.restore == KVG_NO);
    kvg_capability_for(NULL, NULL, "rancher.io/local-path", &cap, NULL);
    ck_assert(cap.snapshot == KVG_NO && cap.clone == KVG_NO);
    kvg_capability_for(NULL, NULL, "nfs.csi.k8s.io", &cap, NULL);
    ck_assert(cap.online_snapshot == KVG_NO && cap.restore == KVG_YES);
    kvg_capability_for(NULL, NULL, "csi.vsphere.vmware.com", &cap, NULL);
    ck_assert(cap.restore == KVG_YES && cap.clone == KVG_NO);
    /* every entry of the table is complete */
    for (const kvg_capability *c = kvg_capability_builtin(); c->provisioner; c++)
        ck_assert_msg(c->snapshot != KVG_UNKNOWN && c->restore != KVG_UNKNOWN &&
                      c->clone != KVG_UNKNOWN && c->online_snapshot != KVG_UNKNOWN,
                      "%s", c->provisioner);
}
END_TEST

START_TEST(rook_prefix_matches_by_suffix)
{
    kvg_capability cap;
    kvg_capability_src src;
    kvg_capability_for(NULL, NULL, "rook-ceph.rbd.csi.ceph.com", &cap, &src);
    ck_assert(cap.restore == KVG_YES);
    ck_assert_str_eq(src.builtin_key, "rbd.csi.ceph.com");
    kvg_capability_for(NULL, NULL, "openshift-storage.cephfs.csi.ceph.com", &cap, &src);
    ck_assert(cap.restore == KVG_YES);
    /* a suffix needs the dot: "xrbd.csi.ceph.com" is another driver */
    kvg_capability_for(NULL, NULL, "xrbd.csi.ceph.com", &cap, &src);
    ck_assert(cap.restore == KVG_UNKNOWN);
    ck_assert_ptr_null(src.builtin_key);
    ck_assert_ptr_null(src.restore);
    kvg_capability_for(NULL, NULL, NULL, &cap, &src);
    ck_assert(cap.snapshot == KVG_UNKNOWN);
    kvg_capability_for(NULL, NULL, "", &cap, &src);
    ck_assert(cap.snapshot == KVG_UNKNOWN);
}
END_TEST

START_TEST(overrides_layer_per_field)
{
    kvg_policy_config cfg;
    kvg_capability prov[] = {{"local.csi.openebs.io", KVG_UNKNOWN, KVG_UNKNOWN, KVG_YES, KVG_UNKNOWN},
                             {"example.com/new", KVG_YES, KVG_YES, KVG_UNKNOWN, KVG_UNKNOWN}};
    kvg_capability scs[] = {{"lvm-thin", KVG_UNKNOWN, KVG_YES, KVG_UNKNOWN, KVG_UNKNOWN},
                            {"lvm-odd", KVG_UNKNOWN, KVG_NO, KVG_NO, KVG_UNKNOWN}};
    kvg_capability cap;
    kvg_capability_src src;
    kvg_policy_config_init(&cfg);
    cfg.provisioner_overrides = prov;
    cfg.n_provisioner_overrides = 2;
    cfg.storageclass_overrides = scs;
    cfg.n_storageclass_overrides = 2;
    /* StorageClass override for restore, provisioner override for clone,
     * built-in for snapshot */
    kvg_capability_for(&cfg, "lvm-thin", "local.csi.openebs.io", &cap, &src);
    ck_assert(cap.restore == KVG_YES && cap.clone == KVG_YES && cap.snapshot == KVG_YES);
    ck_assert_str_eq(src.restore, "StorageClass override in config");
    ck_assert_str_eq(src.clone, "provisioner override in config");
    ck_assert_str_eq(src.snapshot, "built-in capability table");
    /* the StorageClass layer beats the provisioner layer */
    kvg_capability_for(&cfg, "lvm-odd", "local.csi.openebs.io", &cap, &src);
    ck_assert(cap.clone == KVG_NO && cap.restore == KVG_NO);
    /* other classes of the same provisioner: built-in restore no */
    kvg_capability_for(&cfg, "lvm-thick", "local.csi.openebs.io", &cap, &src);
    ck_assert(cap.restore == KVG_NO && cap.clone == KVG_YES);
    /* an unknown provisioner made known by config; the rest stays unknown */
    kvg_capability_for(&cfg, NULL, "example.com/new", &cap, &src);
    ck_assert(cap.restore == KVG_YES && cap.clone == KVG_UNKNOWN);
    ck_assert_ptr_null(src.clone);
}
END_TEST

START_TEST(hints)
{
    ck_assert_ptr_nonnull(kvg_capability_hint("local.csi.openebs.io"));
    ck_assert_ptr_null(kvg_capability_hint("zfs.csi.openebs.io"));
    ck_assert_ptr_null(kvg_capability_hint(NULL));
    ck_assert_str_eq(kvg_snap_support_name(KVG_SNAP_AMBIGUOUS), "ambiguous");
    ck_assert_str_eq(kvg_tristate_name(KVG_UNKNOWN), "unknown");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("storage");
    TCase *snap = tcase_create("snapshot-support");
    TCase *cap = tcase_create("capability");
    tcase_add_test(snap, single_class_by_driver);
    tcase_add_test(snap, default_among_several);
    tcase_add_test(snap, ambiguous_without_default);
    tcase_add_test(snap, default_annotation_key_is_enough);
    tcase_add_test(snap, no_class_for_driver);
    tcase_add_test(snap, storage_profile_wins);
    tcase_add_test(snap, storage_profile_missing_class);
    tcase_add_test(snap, storage_profile_empty_falls_back);
    tcase_add_test(snap, storage_class_without_provisioner);
    tcase_add_test(snap, empty_class_name_is_none);
    tcase_add_test(snap, bound_pvc_without_class_is_none);
    tcase_add_test(snap, unbound_pvc_without_class_gets_default);
    tcase_add_test(snap, storage_class_missing_uses_vm_status);
    tcase_add_test(snap, pvc_missing_uses_vm_status);
    tcase_add_test(snap, dv_spec_pvc_class);
    tcase_add_test(snap, dv_spec_storage_class);
    tcase_add_test(snap, dv_template_class);
    tcase_add_test(snap, dv_template_without_dv);
    tcase_add_test(snap, dv_falls_back_to_pvc);
    tcase_add_test(snap, dv_without_class_or_pvc_gets_default);
    tcase_add_test(snap, dv_nothing_known_is_unknown);
    tcase_add_test(snap, memory_dump_and_ignored_types);
    tcase_add_test(snap, malformed_volumes);
    tcase_add_test(snap, newest_default_storage_class);
    tcase_add_test(cap, builtin_table);
    tcase_add_test(cap, rook_prefix_matches_by_suffix);
    tcase_add_test(cap, overrides_layer_per_field);
    tcase_add_test(cap, hints);
    suite_add_tcase(s, snap);
    suite_add_tcase(s, cap);
    return kvg_test_run(s);
}
