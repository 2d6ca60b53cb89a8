/* Unit tests: the cluster view store (src/cluster/store.c, kinds.c, prune.c). */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvguard/json.h"
#include "kvguard/view.h"
#include "testlib.h"

static json_object *obj_of(const char *kind, const char *api, const char *ns,
                           const char *name, const char *uid, const char *label)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"metadata\":{\"name\":\"%s\"%s%s%s"
             "%s%s%s,\"labels\":{\"l\":\"%s\"}}}",
             api, kind, name, ns ? ",\"namespace\":\"" : "", ns ? ns : "", ns ? "\"" : "",
             uid ? ",\"uid\":\"" : "", uid ? uid : "", uid ? "\"" : "", label ? label : "");
    json_object *o = json_tokener_parse(text);
    ck_assert_ptr_nonnull(o);
    return o;
}

static json_object *vm(const char *ns, const char *name, const char *label)
{
    return obj_of("VirtualMachine", "kubevirt.io/v1", ns, name, NULL, label);
}

static const char *label_of(const json_object *o)
{
    return kvg_json_str(o, "metadata", "labels", "l", NULL);
}

static kvg_store *new_store(void)
{
    kvg_store *s = NULL;
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* ---- kinds ------------------------------------------------------------------ */

START_TEST(kinds_table)
{
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        const kvg_kind_info *ki = kvg_kind_info_get((kvg_kind)k);
        ck_assert_ptr_nonnull(ki);
        ck_assert_int_eq(ki->kind, k);
        ck_assert_ptr_nonnull(ki->versions);
        ck_assert_ptr_nonnull(ki->versions[0]);
        kvg_kind back;
        ck_assert_int_eq(kvg_kind_from_gk(ki->group, ki->name, &back), KVG_OK);
        ck_assert_int_eq(back, k);
    }
    ck_assert_ptr_null(kvg_kind_info_get(KVG_KIND_COUNT));
    ck_assert_ptr_null(kvg_kind_info_get((kvg_kind)-1));
    ck_assert_str_eq(kvg_kind_info_get(KVG_KIND_VMSNAPSHOT)->versions[0], "v1beta1");
    ck_assert_str_eq(kvg_kind_info_get(KVG_KIND_VMSNAPSHOT)->versions[1], "v1alpha1");
    ck_assert_ptr_null(kvg_kind_info_get(KVG_KIND_VMSNAPSHOT)->versions[2]);
    ck_assert_str_eq(kvg_kind_info_get(KVG_KIND_VM)->versions[1], "v1alpha3");
    ck_assert(!kvg_kind_info_get(KVG_KIND_PV)->namespaced);
    ck_assert(!kvg_kind_info_get(KVG_KIND_STORAGECLASS)->namespaced);
    ck_assert(!kvg_kind_info_get(KVG_KIND_STORAGEPROFILE)->namespaced);
    ck_assert(!kvg_kind_info_get(KVG_KIND_VOLUMESNAPSHOTCLASS)->namespaced);
    ck_assert(kvg_kind_info_get(KVG_KIND_ZFSSNAPSHOT)->namespaced);
    ck_assert(kvg_kind_info_get(KVG_KIND_POD)->namespaced);
    ck_assert_str_eq(kvg_kind_info_get(KVG_KIND_PVC)->group, "");
    ck_assert_str_eq(kvg_kind_info_get(KVG_KIND_PVC)->resource, "persistentvolumeclaims");
}
END_TEST

START_TEST(kinds_of_object)
{
    kvg_kind k;
    json_object *o = obj_of("PersistentVolumeClaim", "v1", "a", "x", NULL, NULL);
    ck_assert_int_eq(kvg_kind_of_object(o, &k), KVG_OK);
    ck_assert_int_eq(k, KVG_KIND_PVC);
    json_object_put(o);
    o = obj_of("VirtualMachine", "kubevirt.io/v1alpha3", "a", "x", NULL, NULL);
    ck_assert_int_eq(kvg_kind_of_object(o, &k), KVG_OK);
    ck_assert_int_eq(k, KVG_KIND_VM);
    json_object_put(o);
    /* pre-0.6 zfs-localpv group */
    o = obj_of("ZFSSnapshot", "openebs.io/v1alpha1", "openebs", "x", NULL, NULL);
    ck_assert_int_eq(kvg_kind_of_object(o, &k), KVG_OK);
    ck_assert_int_eq(k, KVG_KIND_ZFSSNAPSHOT);
    json_object_put(o);
    /* a VM kind in the wrong group, a core kind we do not track */
    o = obj_of("VirtualMachine", "example.com/v1", "a", "x", NULL, NULL);
    ck_assert_int_eq(kvg_kind_of_object(o, &k), KVG_ENOTFOUND);
    json_object_put(o);
    o = obj_of("ConfigMap", "v1", "a", "x", NULL, NULL);
    ck_assert_int_eq(kvg_kind_of_object(o, &k), KVG_ENOTFOUND);
    json_object_put(o);
    o = json_tokener_parse("{\"kind\":\"Pod\"}");
    ck_assert_int_eq(kvg_kind_of_object(o, &k), KVG_ENOTFOUND);
    json_object_put(o);
    o = json_tokener_parse("{\"apiVersion\":\"/v1\",\"kind\":\"Pod\"}");
    ck_assert_int_eq(kvg_kind_of_object(o, &k), KVG_ENOTFOUND);
    json_object_put(o);
    ck_assert_int_eq(kvg_kind_of_object(NULL, &k), KVG_EINVAL);
    ck_assert_int_eq(kvg_kind_from_gk("storage.k8s.io", "StorageClass", &k), KVG_OK);
    ck_assert_int_eq(k, KVG_KIND_STORAGECLASS);
    ck_assert_int_eq(kvg_kind_from_gk("", "StorageClass", &k), KVG_ENOTFOUND);
}
END_TEST

/* ---- put / get / delete --------------------------------------------------- */

static int count_cb(const json_object *o, void *ud)
{
    (void)o;
    (*(int *)ud)++;
    return 0;
}

START_TEST(put_get_namespaces)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, vm("a", "vm1", "a1")), KVG_OK);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, vm("b", "vm1", "b1")), KVG_OK);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, vm("b", "vm2", "b2")), KVG_OK);
    kvg_view_begin(v);
    ck_assert_str_eq(label_of(kvg_view_get(v, KVG_KIND_VM, "a", "vm1")), "a1");
    ck_assert_str_eq(label_of(kvg_view_get(v, KVG_KIND_VM, "b", "vm1")), "b1");
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_VM, "a", "vm2"));
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_VM, "c", "vm1"));
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_VMI, "a", "vm1"));
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_VM, NULL, "vm1"));
    int n = 0;
    ck_assert_int_eq(kvg_view_each(v, KVG_KIND_VM, "b", count_cb, &n), 0);
    ck_assert_int_eq(n, 2);
    n = 0;
    kvg_view_each(v, KVG_KIND_VM, NULL, count_cb, &n);
    ck_assert_int_eq(n, 3);
    n = 0;
    kvg_view_each(v, KVG_KIND_VM, "", count_cb, &n);
    ck_assert_int_eq(n, 3);
    n = 0;
    kvg_view_each(v, KVG_KIND_VM, "nope", count_cb, &n);
    ck_assert_int_eq(n, 0);
    kvg_view_end(v);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_VM), 3);

    /* same key replaces */
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, vm("a", "vm1", "a1-new")), KVG_OK);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_VM), 3);
    kvg_view_begin(v);
    ck_assert_str_eq(label_of(kvg_view_get(v, KVG_KIND_VM, "a", "vm1")), "a1-new");
    kvg_view_end(v);

    ck_assert_int_eq(kvg_store_delete(s, KVG_KIND_VM, "b", "vm1"), KVG_OK);
    ck_assert_int_eq(kvg_store_delete(s, KVG_KIND_VM, "b", "vm1"), KVG_ENOTFOUND);
    ck_assert_int_eq(kvg_store_delete(s, KVG_KIND_VM, "zz", "vm1"), KVG_ENOTFOUND);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_VM), 2);
    ck_assert_int_eq(kvg_store_delete(s, KVG_KIND_VM, "b", "vm2"), KVG_OK);
    kvg_view_begin(v);
    n = 0;
    kvg_view_each(v, KVG_KIND_VM, "b", count_cb, &n);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_VM, "a", "vm1"));
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

START_TEST(put_rejects_bad_objects)
{
    kvg_store *s = new_store();
    /* every rejected object is freed (ASan/valgrind would see a leak) */
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, vm(NULL, "x", "")), KVG_EINVAL);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, vm("", "x", "")), KVG_EINVAL);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, json_tokener_parse("{\"metadata\":{}}")),
                     KVG_EINVAL);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, json_tokener_parse("[1]")), KVG_EINVAL);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VM, NULL), KVG_EINVAL);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_COUNT, vm("a", "x", "")), KVG_EINVAL);
    ck_assert_int_eq(kvg_store_delete(s, KVG_KIND_VM, "a", NULL), KVG_EINVAL);
    ck_assert_uint_eq(kvg_view_count(kvg_store_view(s), KVG_KIND_VM), 0);
    kvg_store_free(s);
    kvg_store_free(NULL);
}
END_TEST

START_TEST(cluster_scoped)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    /* a namespace on a cluster-scoped object is ignored, as the API does */
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_STORAGECLASS,
                                   obj_of("StorageClass", "storage.k8s.io/v1", "junk",
                                          "openebs-zfspv", NULL, "sc")),
                     KVG_OK);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_PV,
                                   obj_of("PersistentVolume", "v1", NULL, "pv1", NULL, "pv")),
                     KVG_OK);
    kvg_view_begin(v);
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_STORAGECLASS, NULL, "openebs-zfspv"));
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_STORAGECLASS, "", "openebs-zfspv"));
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_STORAGECLASS, "any", "openebs-zfspv"));
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_PV, NULL, "pv1"));
    int n = 0;
    kvg_view_each(v, KVG_KIND_PV, "ns-ignored", count_cb, &n);
    ck_assert_int_eq(n, 1);
    kvg_view_end(v);
    ck_assert_int_eq(kvg_store_delete(s, KVG_KIND_PV, "whatever", "pv1"), KVG_OK);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_PV), 0);
    kvg_store_free(s);
}
END_TEST

START_TEST(uid_index)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    kvg_store_put(s, KVG_KIND_VMI,
                  obj_of("VirtualMachineInstance", "kubevirt.io/v1", "a", "x", "uid-1", "one"));
    kvg_view_begin(v);
    ck_assert_str_eq(label_of(kvg_view_get_by_uid(v, KVG_KIND_VMI, "uid-1")), "one");
    ck_assert_ptr_null(kvg_view_get_by_uid(v, KVG_KIND_VM, "uid-1"));
    kvg_view_end(v);
    /* recreated under the same name: the old uid is gone */
    kvg_store_put(s, KVG_KIND_VMI,
                  obj_of("VirtualMachineInstance", "kubevirt.io/v1", "a", "x", "uid-2", "two"));
    kvg_view_begin(v);
    ck_assert_ptr_null(kvg_view_get_by_uid(v, KVG_KIND_VMI, "uid-1"));
    ck_assert_str_eq(label_of(kvg_view_get_by_uid(v, KVG_KIND_VMI, "uid-2")), "two");
    kvg_view_end(v);
    kvg_store_delete(s, KVG_KIND_VMI, "a", "x");
    kvg_view_begin(v);
    ck_assert_ptr_null(kvg_view_get_by_uid(v, KVG_KIND_VMI, "uid-2"));
    ck_assert_ptr_null(kvg_view_get_by_uid(v, KVG_KIND_VMI, NULL));
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

/* ---- replace ----------------------------------------------------------------- */

static int stop_at_second(const json_object *o, void *ud)
{
    (void)o;
    return ++(*(int *)ud) == 2 ? 42 : 0;
}

START_TEST(replace_whole_kind)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    kvg_store_put(s, KVG_KIND_PVC, obj_of("PersistentVolumeClaim", "v1", "a", "old", "u0", ""));
    kvg_store_put(s, KVG_KIND_VM, vm("a", "untouched", "keep"));
    json_object *objs[3] = {
        obj_of("PersistentVolumeClaim", "v1", "a", "p1", "u1", "g1"),
        obj_of("PersistentVolumeClaim", "v1", "b", "p2", "u2", "g1"),
        obj_of("PersistentVolumeClaim", "v1", "b", "p3", "u3", "g1"),
    };
    ck_assert_int_eq(kvg_store_replace(s, KVG_KIND_PVC, objs, 3), KVG_OK);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_PVC), 3);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_VM), 1);
    kvg_view_begin(v);
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_PVC, "a", "old"));
    ck_assert_ptr_null(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u0"));
    ck_assert_ptr_nonnull(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u3"));
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_PVC, "b", "p2"));
    int n = 0;
    ck_assert_int_eq(kvg_view_each(v, KVG_KIND_PVC, NULL, stop_at_second, &n), 42);
    ck_assert_int_eq(n, 2);
    kvg_view_end(v);
    /* an empty relist empties the kind */
    ck_assert_int_eq(kvg_store_replace(s, KVG_KIND_PVC, NULL, 0), KVG_OK);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_PVC), 0);
    /* a bad object fails the whole relist and keeps the old state */
    kvg_store_put(s, KVG_KIND_PVC, obj_of("PersistentVolumeClaim", "v1", "a", "keep", NULL, ""));
    json_object *bad[2] = {obj_of("PersistentVolumeClaim", "v1", "a", "ok", NULL, ""),
                           obj_of("PersistentVolumeClaim", "v1", NULL, "nons", NULL, "")};
    ck_assert_int_eq(kvg_store_replace(s, KVG_KIND_PVC, bad, 2), KVG_EINVAL);
    kvg_view_begin(v);
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_PVC, "a", "keep"));
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_PVC, "a", "ok"));
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

/* ---- state ---------------------------------------------------------------- */

START_TEST(state_and_resource_version)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    ck_assert(!kvg_view_synced(v));
    ck_assert_int_eq(kvg_view_state(v, KVG_KIND_VM), KVG_KIND_UNSYNCED);
    ck_assert(kvg_view_last_sync(v, KVG_KIND_VM) == 0);
    for (int k = 0; k < KVG_KIND_COUNT - 1; k++)
        kvg_store_set_state(s, (kvg_kind)k, KVG_KIND_SYNCED);
    ck_assert(!kvg_view_synced(v));
    kvg_store_set_state(s, KVG_KIND_ZFSSNAPSHOT, KVG_KIND_ABSENT);
    ck_assert(kvg_view_synced(v));
    ck_assert_int_eq(kvg_view_state(v, KVG_KIND_ZFSSNAPSHOT), KVG_KIND_ABSENT);
    double t1 = kvg_view_last_sync(v, KVG_KIND_VM);
    ck_assert(t1 > 0);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ck_assert(t1 <= (double)ts.tv_sec + 1);
    usleep(2000);
    kvg_store_put(s, KVG_KIND_VM, vm("a", "x", ""));
    ck_assert(kvg_view_last_sync(v, KVG_KIND_VM) > t1);
    kvg_store_set_state(s, KVG_KIND_VM, KVG_KIND_UNSYNCED);
    ck_assert(!kvg_view_synced(v));

    char rv[8];
    ck_assert_int_eq(kvg_view_resource_version(v, KVG_KIND_VM, rv, sizeof rv), KVG_OK);
    ck_assert_str_eq(rv, "");
    kvg_store_set_resource_version(s, KVG_KIND_VM, "12345");
    ck_assert_int_eq(kvg_view_resource_version(v, KVG_KIND_VM, rv, sizeof rv), KVG_OK);
    ck_assert_str_eq(rv, "12345");
    kvg_store_set_resource_version(s, KVG_KIND_VM, "123456789");
    ck_assert_int_eq(kvg_view_resource_version(v, KVG_KIND_VM, rv, sizeof rv), KVG_ETOOBIG);
    kvg_store_set_resource_version(s, KVG_KIND_VM, NULL);
    ck_assert_int_eq(kvg_view_resource_version(v, KVG_KIND_VM, rv, sizeof rv), KVG_OK);
    ck_assert_str_eq(rv, "");
    /* bad arguments are harmless */
    kvg_store_set_state(s, KVG_KIND_COUNT, KVG_KIND_SYNCED);
    ck_assert_int_eq(kvg_view_state(v, KVG_KIND_COUNT), KVG_KIND_UNSYNCED);
    ck_assert_uint_eq(kvg_view_count(NULL, KVG_KIND_VM), 0);
    kvg_store_free(s);
}
END_TEST

/* ---- pruning ---------------------------------------------------------------- */

START_TEST(prune_common)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    json_object *o = json_tokener_parse(
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\","
        "\"metadata\":{\"name\":\"p\",\"namespace\":\"a\",\"managedFields\":[{\"manager\":"
        "\"kubectl\"}],\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
        "\"{}\",\"pv.kubernetes.io/bind-completed\":\"yes\"}},"
        "\"spec\":{\"storageClassName\":\"openebs-zfspv\"},\"status\":{\"phase\":\"Bound\"}}");
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_PVC, o), KVG_OK);
    kvg_view_begin(v);
    const json_object *p = kvg_view_get(v, KVG_KIND_PVC, "a", "p");
    ck_assert_ptr_null(kvg_json_path(p, "metadata", "managedFields", NULL));
    ck_assert_ptr_null(kvg_json_path(p, "metadata", "annotations",
                                     "kubectl.kubernetes.io/last-applied-configuration", NULL));
    ck_assert_str_eq(kvg_json_str(p, "metadata", "annotations", "pv.kubernetes.io/bind-completed",
                                  NULL),
                     "yes");
    ck_assert_str_eq(kvg_json_str(p, "spec", "storageClassName", NULL), "openebs-zfspv");
    ck_assert_str_eq(kvg_json_str(p, "status", "phase", NULL), "Bound");
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

static void assert_keys(const json_object *o, const char *const *want)
{
    size_t n = 0;
    for (; want[n]; n++)
        ck_assert_msg(kvg_json_path(o, want[n], NULL) != NULL ||
                          json_object_object_get_ex(o, want[n], NULL),
                      "key %s missing", want[n]);
    ck_assert_int_eq(json_object_object_length(o), n);
}

START_TEST(prune_vmi_and_pvc)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    json_object *vmi = json_tokener_parse(
        "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstance\",\"metadata\":"
        "{\"name\":\"vm1\",\"namespace\":\"vms\",\"uid\":\"u1\",\"ownerReferences\":[{\"kind\":"
        "\"VirtualMachine\",\"name\":\"vm1\"}],\"annotations\":{\"a\":\"b\"}},\"spec\":"
        "{\"domain\":{}},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
        "\"AgentConnected\",\"status\":\"True\"}],\"guestOSInfo\":{\"id\":\"fedora\"},"
        "\"interfaces\":[]}}");
    json_object *pvc = json_tokener_parse(
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
        "\"d\",\"namespace\":\"vms\",\"annotations\":{\"cdi.kubevirt.io/storage.contentType\":"
        "\"kubevirt\",\"cdi.kubevirt.io/storage.pod.phase\":\"Succeeded\","
        "\"cdi.kubevirt.io/storage.condition.running\":\"false\","
        "\"cdi.kubevirt.io/storage.import.endpoint\":\"https://x\","
        "\"cdi.kubevirt.io/storage.populator.progress\":\"100%\",\"mine\":\"kept\"}},"
        "\"spec\":{\"storageClassName\":\"zfs\"},\"status\":{\"phase\":\"Bound\"}}");
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_VMI, vmi), KVG_OK);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_PVC, pvc), KVG_OK);
    kvg_view_begin(v);
    const json_object *i = kvg_view_get(v, KVG_KIND_VMI, "vms", "vm1");
    static const char *const top[] = {"apiVersion", "kind", "metadata", "status", NULL};
    static const char *const meta[] = {"name", "namespace", "uid", "ownerReferences",
                                       "annotations", NULL};
    static const char *const status[] = {"phase", "conditions", NULL};
    assert_keys(i, top);
    assert_keys(kvg_json_path(i, "metadata", NULL), meta);
    assert_keys(kvg_json_path(i, "status", NULL), status);
    const json_object *c = kvg_view_get(v, KVG_KIND_PVC, "vms", "d");
    static const char *const ann[] = {"cdi.kubevirt.io/storage.contentType", "mine", NULL};
    assert_keys(kvg_json_path(c, "metadata", "annotations", NULL), ann);
    ck_assert_str_eq(kvg_json_str(c, "spec", "storageClassName", NULL), "zfs");
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

START_TEST(prune_pod)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    json_object *o = json_tokener_parse(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"virt-launcher-x\","
        "\"namespace\":\"vms\",\"uid\":\"u\",\"labels\":{\"kubevirt.io/created-by\":\"vmi-uid\"},"
        "\"annotations\":{\"a\":\"b\"},\"ownerReferences\":[{\"kind\":"
        "\"VirtualMachineInstance\",\"uid\":\"vmi-uid\"}],\"resourceVersion\":\"9\","
        "\"deletionTimestamp\":\"2026-01-01T00:00:00Z\",\"managedFields\":[]},"
        "\"spec\":{\"nodeName\":\"node1\",\"containers\":[{\"name\":\"compute\"}],"
        "\"volumes\":[{\"name\":\"private\",\"emptyDir\":{}},{\"name\":\"disk0\","
        "\"persistentVolumeClaim\":{\"claimName\":\"pvc-a\",\"readOnly\":false},"
        "\"extra\":1},{\"name\":\"cm\",\"configMap\":{\"name\":\"x\"}}]},"
        "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"conditions\":[]}}");
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_POD, o), KVG_OK);
    kvg_view_begin(v);
    const json_object *p = kvg_view_get(v, KVG_KIND_POD, "vms", "virt-launcher-x");
    ck_assert_ptr_nonnull(p);
    static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
    static const char *const meta[] = {"name",   "namespace",       "uid",
                                       "labels", "ownerReferences", "deletionTimestamp",
                                       NULL};
    static const char *const spec[] = {"nodeName", "volumes", NULL};
    static const char *const status[] = {"phase", NULL};
    static const char *const vol[] = {"name", "persistentVolumeClaim", NULL};
    assert_keys(p, top);
    assert_keys(kvg_json_path(p, "metadata", NULL), meta);
    assert_keys(kvg_json_path(p, "spec", NULL), spec);
    assert_keys(kvg_json_path(p, "status", NULL), status);
    json_object *vols = kvg_json_array(p, "spec", "volumes", NULL);
    ck_assert_uint_eq(json_object_array_length(vols), 1);
    json_object *v0 = json_object_array_get_idx(vols, 0);
    assert_keys(v0, vol);
    ck_assert_str_eq(kvg_json_str(v0, "persistentVolumeClaim", "claimName", NULL), "pvc-a");
    ck_assert_ptr_nonnull(kvg_view_get_by_uid(v, KVG_KIND_POD, "u"));
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

/* Stored objects are compacted (smaller json-c tables): every key must still
 * be found, and the object must equal what was put (minus pruned fields). */
START_TEST(compaction_keeps_content)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    char text[8192];
    int n = snprintf(text, sizeof text,
                     "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\","
                     "\"metadata\":{\"name\":\"pv\",\"uid\":\"u\",\"labels\":{");
    for (int i = 0; i < 40; i++) /* more keys than json-c's default 16 slots */
        n += snprintf(text + n, sizeof text - (size_t)n, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i);
    snprintf(text + n, sizeof text - (size_t)n,
             "}},\"spec\":{\"csi\":{\"driver\":\"zfs.csi.openebs.io\",\"volumeHandle\":\"pv\"},"
             "\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"10Gi\"},"
             "\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":"
             "[{\"key\":\"openebs.io/nodeid\",\"operator\":\"In\",\"values\":[\"node1\"]}]}]}}}}");
    json_object *orig = json_tokener_parse(text);
    ck_assert_ptr_nonnull(orig);
    json_object *copy = NULL;
    ck_assert_int_eq(json_object_deep_copy(orig, &copy, NULL), 0);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_PV, copy), KVG_OK);
    kvg_view_begin(v);
    const json_object *p = kvg_view_get(v, KVG_KIND_PV, NULL, "pv");
    ck_assert(json_object_equal((json_object *)p, orig));
    char key[16], val[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "v%d", i);
        ck_assert_str_eq(kvg_json_str(p, "metadata", "labels", key, NULL), val);
    }
    ck_assert_ptr_null(kvg_json_str(p, "metadata", "labels", "k40", NULL));
    ck_assert_str_eq(kvg_json_str(p, "spec", "csi", "driver", NULL), "zfs.csi.openebs.io");
    kvg_view_end(v);
    json_object_put(orig);
    kvg_store_free(s);
}
END_TEST

/* ---- compact kinds ---------------------------------------------------------- */

START_TEST(compact_kind_roundtrip)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    /* a tree stored before the switch stays readable */
    kvg_store_set_compact(s, KVG_KIND_PVC, false);
    kvg_store_put(s, KVG_KIND_PVC, obj_of("PersistentVolumeClaim", "v1", "a", "tree", "u0", "t"));
    kvg_store_set_compact(s, KVG_KIND_PVC, true);
    json_object *orig = json_tokener_parse(
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
        "\"p\",\"namespace\":\"a\",\"uid\":\"u1\",\"managedFields\":[{}],\"labels\":"
        "{\"l\":\"one\"}},\"spec\":{\"storageClassName\":\"openebs-zfspv\",\"resources\":"
        "{\"requests\":{\"storage\":\"10Gi\"}}},\"status\":{\"phase\":\"Bound\"}}");
    json_object *copy = NULL;
    json_object_deep_copy(orig, &copy, NULL);
    ck_assert_int_eq(kvg_store_put(s, KVG_KIND_PVC, copy), KVG_OK);
    json_object_object_del(kvg_json_path(orig, "metadata", NULL), "managedFields");

    kvg_view_begin(v);
    const json_object *p1 = kvg_view_get(v, KVG_KIND_PVC, "a", "p");
    ck_assert_ptr_nonnull(p1);
    ck_assert(json_object_equal((json_object *)p1, orig)); /* pruned, then intact */
    ck_assert_ptr_eq(kvg_view_get(v, KVG_KIND_PVC, "a", "p"), p1); /* parsed once */
    ck_assert_ptr_eq(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u1"), p1);
    kvg_view_begin(v); /* nested: still the same object */
    ck_assert_ptr_eq(kvg_view_get(v, KVG_KIND_PVC, "a", "p"), p1);
    kvg_view_end(v);
    /* the self-locking getters do not end the bracket (p1 stays valid) */
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_PVC), 2);
    (void)kvg_view_synced(v);
    ck_assert_str_eq(kvg_json_str(p1, "spec", "resources", "requests", "storage", NULL), "10Gi");
    ck_assert_str_eq(label_of(kvg_view_get(v, KVG_KIND_PVC, "a", "tree")), "t");
    int n = 0;
    kvg_view_each(v, KVG_KIND_PVC, "a", count_cb, &n);
    ck_assert_int_eq(n, 2);
    kvg_view_end(v);

    /* replaced under the same name: the uid index follows (uid of a compact value) */
    kvg_store_put(s, KVG_KIND_PVC, obj_of("PersistentVolumeClaim", "v1", "a", "p", "u2", "two"));
    kvg_view_begin(v);
    ck_assert_ptr_null(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u1"));
    ck_assert_str_eq(label_of(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u2")), "two");
    kvg_view_end(v);
    ck_assert_int_eq(kvg_store_delete(s, KVG_KIND_PVC, "a", "p"), KVG_OK);
    kvg_view_begin(v);
    ck_assert_ptr_null(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u2"));
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_PVC, "a", "p"));
    kvg_view_end(v);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_PVC), 1);

    /* a relist of a compact kind */
    json_object *objs[2] = {obj_of("PersistentVolumeClaim", "v1", "b", "r1", "u3", "r"),
                            obj_of("PersistentVolumeClaim", "v1", "b", "r2", "u4", "r")};
    ck_assert_int_eq(kvg_store_replace(s, KVG_KIND_PVC, objs, 2), KVG_OK);
    kvg_view_begin(v);
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_PVC, "a", "tree"));
    ck_assert_str_eq(label_of(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u4")), "r");
    kvg_view_end(v);
    json_object_put(orig);
    kvg_store_free(s);
}
END_TEST


/* Bulk kinds are compact by default, the few config kinds stay trees: seen
 * through the prefilter, which only compact values can take. */
START_TEST(compact_by_default)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    kvg_store_put(s, KVG_KIND_POD, obj_of("Pod", "v1", "a", "p", "u1", "x"));
    kvg_store_put(s, KVG_KIND_STORAGECLASS,
                  obj_of("StorageClass", "storage.k8s.io/v1", NULL, "sc", "u2", "x"));
    int pods = 0, classes = 0;
    kvg_view_begin(v);
    kvg_view_each_mentioning(v, KVG_KIND_POD, "a", "elsewhere", count_cb, &pods);
    kvg_view_each_mentioning(v, KVG_KIND_STORAGECLASS, NULL, "elsewhere", count_cb, &classes);
    kvg_view_end(v);
    ck_assert_int_eq(pods, 0);    /* compact: skipped unparsed */
    ck_assert_int_eq(classes, 1); /* tree: the callback decides */
    kvg_store_free(s);
}
END_TEST

/* A thread keeps parsed trees between brackets, found by the stored value's
 * address: once the store frees a replaced value, that address may hold
 * another object of the same size, and the cache must notice. */
START_TEST(parsed_trees_follow_replacements)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    static const char *const labels[] = {"one", "two", "six"};
    for (int i = 0; i < 300; i++) {
        const char *want = labels[i % 3];
        kvg_store_put(s, KVG_KIND_PVC, obj_of("PersistentVolumeClaim", "v1", "a", "p", "u", want));
        kvg_view_begin(v);
        const json_object *p = kvg_view_get(v, KVG_KIND_PVC, "a", "p");
        ck_assert_str_eq(label_of(p), want);
        ck_assert_ptr_eq(kvg_view_get_by_uid(v, KVG_KIND_PVC, "u"), p);
        kvg_view_end(v);
    }
    /* many objects through one thread: the kept set stays bounded and
     * every lookup still answers right */
    char name[32], label[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "n%d", i);
        snprintf(label, sizeof label, "l%d", i);
        kvg_store_put(s, KVG_KIND_PVC, obj_of("PersistentVolumeClaim", "v1", "b", name, NULL, label));
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 500; i += 7) {
            snprintf(name, sizeof name, "n%d", i);
            snprintf(label, sizeof label, "l%d", i);
            kvg_view_begin(v);
            ck_assert_str_eq(label_of(kvg_view_get(v, KVG_KIND_PVC, "b", name)), label);
            kvg_view_end(v);
        }
    kvg_view_drop_parsed();
    kvg_store_free(s);
}
END_TEST

typedef struct claim_scan {
    const char *claim;
    int calls, found;
} claim_scan;

static int uses_claim(const json_object *pod, void *ud)
{
    claim_scan *c = ud;
    c->calls++;
    const char *claim;
    json_object *vols = kvg_json_array(pod, "spec", "volumes", NULL);
    for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
        claim = kvg_json_str(json_object_array_get_idx(vols, i), "persistentVolumeClaim",
                             "claimName", NULL);
        if (claim && !strcmp(claim, c->claim))
            c->found++;
    }
    return 0;
}

static json_object *pod_with_claim(int i, const char *claim)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod%d\","
             "\"namespace\":\"a\"},\"spec\":{\"volumes\":[{\"name\":\"d\","
             "\"persistentVolumeClaim\":{\"claimName\":\"%s\"}}]}}", i, claim);
    json_object *o = json_tokener_parse(text);
    ck_assert_ptr_nonnull(o);
    return o;
}

/* The prefilter never hides an object that mentions the needle, and parses
 * none of those that do not. */
START_TEST(each_mentioning_prefilters_compact_kinds)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    for (int i = 0; i < 50; i++)
        kvg_store_put(s, KVG_KIND_POD, pod_with_claim(i, i % 10 == 3 ? "data-x" : "data-y"));
    /* a name that contains the needle is not the needle */
    kvg_store_put(s, KVG_KIND_POD, pod_with_claim(99, "data-x-2"));
    claim_scan c = {"data-x", 0, 0};
    kvg_view_begin(v);
    kvg_view_each_mentioning(v, KVG_KIND_POD, "a", "data-x", uses_claim, &c);
    ck_assert_int_eq(c.found, 5);
    ck_assert_int_eq(c.calls, 5);
    /* a needle JSON would escape cannot filter: every object is seen */
    claim_scan q = {"da\"ta", 0, 0};
    kvg_view_each_mentioning(v, KVG_KIND_POD, "a", q.claim, uses_claim, &q);
    ck_assert_int_eq(q.calls, 51);
    claim_scan all = {"data-y", 0, 0};
    kvg_view_each_mentioning(v, KVG_KIND_POD, NULL, NULL, uses_claim, &all);
    ck_assert_int_eq(all.calls, 51);
    ck_assert_int_eq(all.found, 45);
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

/* A paged relist: readers see the old list until commit; abort keeps it. */
START_TEST(relist_in_pages)
{
    kvg_store *s = new_store();
    const kvg_view *v = kvg_store_view(s);
    kvg_store_put(s, KVG_KIND_PV, obj_of("PersistentVolume", "v1", NULL, "old", "u0", "o"));
    kvg_store_batch *r = NULL;
    ck_assert_int_eq(kvg_store_batch_begin(s, KVG_KIND_PV, &r), KVG_OK);
    ck_assert_int_eq(kvg_store_batch_add(r, obj_of("PersistentVolume", "v1", NULL, "a", "u1", "n")),
                     KVG_OK);
    ck_assert_int_eq(kvg_store_batch_add(r, obj_of("PersistentVolume", "v1", NULL, "b", "u2", "n")),
                     KVG_OK);
    kvg_view_begin(v);
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_PV, NULL, "old"));
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_PV, NULL, "a"));
    kvg_view_end(v);
    ck_assert_int_eq(kvg_store_batch_replace(r), KVG_OK);
    kvg_view_begin(v);
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_PV, NULL, "old"));
    ck_assert_str_eq(label_of(kvg_view_get_by_uid(v, KVG_KIND_PV, "u2")), "n");
    kvg_view_end(v);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_PV), 2);

    /* abort, and a bad object: the list in place stays */
    ck_assert_int_eq(kvg_store_batch_begin(s, KVG_KIND_PV, &r), KVG_OK);
    kvg_store_batch_add(r, obj_of("PersistentVolume", "v1", NULL, "c", "u3", "n"));
    kvg_store_batch_abort(r);
    ck_assert_int_eq(kvg_store_batch_begin(s, KVG_KIND_PV, &r), KVG_OK);
    ck_assert_int_eq(kvg_store_batch_add(r, json_tokener_parse("{\"kind\":\"PersistentVolume\"}")),
                     KVG_EINVAL);
    ck_assert_int_eq(kvg_store_batch_add(r, obj_of("PersistentVolume", "v1", NULL, "d", "u4", "n")),
                     KVG_EINVAL);
    ck_assert_int_eq(kvg_store_batch_replace(r), KVG_EINVAL);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_PV), 2);
    kvg_view_begin(v);
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_PV, NULL, "a"));
    ck_assert_ptr_null(kvg_view_get(v, KVG_KIND_PV, NULL, "c"));
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

/* ---- concurrency --------------------------------------------------------------- */

#define RELIST_N 40
#define READERS 4

typedef struct race {
    kvg_store *s;
    int ms;
    atomic_bool stop;
    atomic_long reads;
    atomic_long mixed; /* iterations that saw more than one generation */
    atomic_long relists;
    atomic_long max_gen_seen;
} race;

typedef struct gen_check {
    char gen[32];
    int n;
    bool mixed;
} gen_check;

static int gen_cb(const json_object *o, void *ud)
{
    gen_check *g = ud;
    const char *l = label_of(o);
    if (!l)
        g->mixed = true;
    else if (g->n == 0)
        snprintf(g->gen, sizeof g->gen, "%s", l);
    else if (strcmp(g->gen, l) != 0)
        g->mixed = true;
    g->n++;
    return 0;
}

static void *reader(void *arg)
{
    race *r = arg;
    const kvg_view *v = kvg_store_view(r->s);
    while (!atomic_load(&r->stop)) {
        gen_check g = {.n = 0};
        kvg_view_begin(v);
        kvg_view_each(v, KVG_KIND_VM, NULL, gen_cb, &g);
        size_t count = kvg_view_count(v, KVG_KIND_VM); /* nested lock: reentrant */
        /* lookups by name agree with the iteration */
        const json_object *first = kvg_view_get(v, KVG_KIND_VM, "ns0", "vm0");
        bool agree = first && label_of(first) && strcmp(label_of(first), g.gen) == 0;
        kvg_view_end(v);
        if (g.mixed || g.n != RELIST_N || count != RELIST_N || !agree)
            atomic_fetch_add(&r->mixed, 1);
        long gen = atol(g.gen);
        long prev = atomic_load(&r->max_gen_seen);
        while (gen > prev && !atomic_compare_exchange_weak(&r->max_gen_seen, &prev, gen))
            ;
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void relist(kvg_store *s, long gen)
{
    json_object *objs[RELIST_N];
    char ns[16], name[16], label[32];
    for (int i = 0; i < RELIST_N; i++) {
        snprintf(ns, sizeof ns, "ns%d", i % 3);
        snprintf(name, sizeof name, "vm%d", i);
        snprintf(label, sizeof label, "%ld", gen);
        objs[i] = vm(ns, name, label);
    }
    ck_assert_int_eq(kvg_store_replace(s, KVG_KIND_VM, objs, RELIST_N), KVG_OK);
}

static void *writer(void *arg)
{
    race *r = arg;
    long gen = 1;
    while (!atomic_load(&r->stop)) {
        relist(r->s, ++gen);
        /* other kinds change meanwhile (watch events) */
        kvg_store_put(r->s, KVG_KIND_PVC, obj_of("PersistentVolumeClaim", "v1", "a", "p", NULL, ""));
        kvg_store_delete(r->s, KVG_KIND_PVC, "a", "p");
        atomic_fetch_add(&r->relists, 1);
    }
    return NULL;
}

static void run_race(bool compact, int ms)
{
    race r = {.s = new_store(), .ms = ms};
    kvg_store_set_compact(r.s, KVG_KIND_VM, compact);
    kvg_store_set_compact(r.s, KVG_KIND_PVC, compact);
    relist(r.s, 1);
    pthread_t rd[READERS], wr;
    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&rd[i], NULL, reader, &r), 0);
    ck_assert_int_eq(pthread_create(&wr, NULL, writer, &r), 0);
    /* at least ms, and until both sides made progress (slow under valgrind);
     * 30 s without progress is starvation and fails below */
    for (int waited = 0; waited < 30000; waited += 10) {
        if (waited >= ms && atomic_load(&r.relists) >= 3 && atomic_load(&r.reads) >= 10 &&
            atomic_load(&r.max_gen_seen) > 1)
            break;
        usleep(10 * 1000);
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(rd[i], NULL);
    pthread_join(wr, NULL);
    fprintf(stderr, "store race (%s): %ld reads, %ld relists, max generation seen %ld\n",
            compact ? "compact" : "trees", atomic_load(&r.reads), atomic_load(&r.relists),
            atomic_load(&r.max_gen_seen));
    ck_assert_int_eq(atomic_load(&r.mixed), 0);
    ck_assert(atomic_load(&r.reads) >= 10);
    /* the writer was not starved by the readers, and readers saw its work */
    ck_assert(atomic_load(&r.relists) >= 3);
    ck_assert(atomic_load(&r.max_gen_seen) > 1);
    kvg_store_free(r.s);
}

START_TEST(readers_never_see_half_a_relist)
{
    run_race(false, 600);
}
END_TEST

START_TEST(readers_never_see_half_a_relist_compact)
{
    run_race(true, 600);
}
END_TEST

/* A reader that nests kvg_view_begin while a writer waits must not deadlock
 * (the lock prefers writers). */
typedef struct nest_ctx {
    kvg_store *s;
    atomic_bool reader_in;
    atomic_bool writer_done;
} nest_ctx;

static void *nest_writer(void *arg)
{
    nest_ctx *c = arg;
    while (!atomic_load(&c->reader_in))
        usleep(100);
    kvg_store_put(c->s, KVG_KIND_VM, vm("a", "w", ""));
    atomic_store(&c->writer_done, true);
    return NULL;
}

START_TEST(nested_begin_with_waiting_writer)
{
    nest_ctx c = {.s = new_store()};
    const kvg_view *v = kvg_store_view(c.s);
    pthread_t wr;
    ck_assert_int_eq(pthread_create(&wr, NULL, nest_writer, &c), 0);
    kvg_view_begin(v);
    atomic_store(&c.reader_in, true);
    usleep(50 * 1000); /* the writer is now queued on the lock */
    ck_assert(!atomic_load(&c.writer_done));
    kvg_view_begin(v);
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_VM), 0);
    kvg_view_end(v);
    ck_assert(!atomic_load(&c.writer_done));
    kvg_view_end(v);
    pthread_join(wr, NULL);
    ck_assert(atomic_load(&c.writer_done));
    ck_assert_uint_eq(kvg_view_count(v, KVG_KIND_VM), 1);
    kvg_store_free(c.s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, kinds_table);
    tcase_add_test(tc, kinds_of_object);
    tcase_add_test(tc, put_get_namespaces);
    tcase_add_test(tc, put_rejects_bad_objects);
    tcase_add_test(tc, cluster_scoped);
    tcase_add_test(tc, uid_index);
    tcase_add_test(tc, replace_whole_kind);
    tcase_add_test(tc, state_and_resource_version);
    tcase_add_test(tc, prune_common);
    tcase_add_test(tc, prune_pod);
    tcase_add_test(tc, prune_vmi_and_pvc);
    tcase_add_test(tc, compaction_keeps_content);
    tcase_add_test(tc, compact_kind_roundtrip);
    tcase_add_test(tc, compact_by_default);
    tcase_add_test(tc, parsed_trees_follow_replacements);
    tcase_add_test(tc, each_mentioning_prefilters_compact_kinds);
    tcase_add_test(tc, relist_in_pages);
    tcase_add_test(tc, readers_never_see_half_a_relist);
    tcase_add_test(tc, readers_never_see_half_a_relist_compact);
    tcase_add_test(tc, nested_begin_with_waiting_writer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kvg_test_run(suite());
}
