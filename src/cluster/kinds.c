/* kvguard: the table of kinds the cluster view tracks.
 *
 * Versions are the ones the upstream projects serve, preferred (storage)
 * version first; the informers use them for discovery, the files backend
 * accepts an object in any version of a known group/kind. */
#include <string.h>

#include "kvguard/json.h"
#include "kvguard/view.h"

static const char *const v_kubevirt[] = {"v1", "v1alpha3", NULL};
static const char *const v_snapshot[] = {"v1beta1", "v1alpha1", NULL};
static const char *const v_clone[] = {"v1beta1", "v1alpha1", NULL};
static const char *const v_cdi[] = {"v1beta1", NULL};
static const char *const v_v1[] = {"v1", NULL};

static const kvg_kind_info kinds[KVG_KIND_COUNT] = {
    {KVG_KIND_VM, "kubevirt.io", "VirtualMachine", "virtualmachines", v_kubevirt, true},
    {KVG_KIND_VMI, "kubevirt.io", "VirtualMachineInstance", "virtualmachineinstances",
     v_kubevirt, true},
    {KVG_KIND_VMSNAPSHOT, "snapshot.kubevirt.io", "VirtualMachineSnapshot",
     "virtualmachinesnapshots", v_snapshot, true},
    {KVG_KIND_VMSNAPSHOTCONTENT, "snapshot.kubevirt.io", "VirtualMachineSnapshotContent",
     "virtualmachinesnapshotcontents", v_snapshot, true},
    {KVG_KIND_VMRESTORE, "snapshot.kubevirt.io", "VirtualMachineRestore",
     "virtualmachinerestores", v_snapshot, true},
    {KVG_KIND_VMCLONE, "clone.kubevirt.io", "VirtualMachineClone", "virtualmachineclones",
     v_clone, true},
    {KVG_KIND_DATAVOLUME, "cdi.kubevirt.io", "DataVolume", "datavolumes", v_cdi, true},
    {KVG_KIND_STORAGEPROFILE, "cdi.kubevirt.io", "StorageProfile", "storageprofiles", v_cdi,
     false},
    {KVG_KIND_PVC, "", "PersistentVolumeClaim", "persistentvolumeclaims", v_v1, true},
    {KVG_KIND_PV, "", "PersistentVolume", "persistentvolumes", v_v1, false},
    {KVG_KIND_STORAGECLASS, "storage.k8s.io", "StorageClass", "storageclasses", v_v1, false},
    {KVG_KIND_VOLUMESNAPSHOTCLASS, "snapshot.storage.k8s.io", "VolumeSnapshotClass",
     "volumesnapshotclasses", v_v1, false},
    {KVG_KIND_VOLUMESNAPSHOT, "snapshot.storage.k8s.io", "VolumeSnapshot", "volumesnapshots",
     v_v1, true},
    {KVG_KIND_POD, "", "Pod", "pods", v_v1, true},
    {KVG_KIND_ZFSVOLUME, "zfs.openebs.io", "ZFSVolume", "zfsvolumes", v_v1, true},
    {KVG_KIND_ZFSSNAPSHOT, "zfs.openebs.io", "ZFSSnapshot", "zfssnapshots", v_v1, true},
};

const kvg_kind_info *kvg_kind_info_get(kvg_kind kind)
{
    if ((int)kind < 0 || kind >= KVG_KIND_COUNT)
        return NULL;
    return &kinds[kind];
}

/* zfs-localpv before 0.6 served its CRDs as group "openebs.io" (see
 * reference/storage-examples/zfssnapshot-docs-snapshot-md.yaml); the fields are
 * identical, so dumps from such clusters still load. */
static const char *canonical_group(const char *group, const char *kind)
{
    if (strcmp(group, "openebs.io") == 0 &&
        (strcmp(kind, "ZFSVolume") == 0 || strcmp(kind, "ZFSSnapshot") == 0))
        return "zfs.openebs.io";
    return group;
}

kvg_err kvg_kind_from_gk(const char *group, const char *kind, kvg_kind *out)
{
    if (!group || !kind || !out)
        return KVG_EINVAL;
    group = canonical_group(group, kind);
    for (int i = 0; i < KVG_KIND_COUNT; i++) {
        if (strcmp(kinds[i].group, group) == 0 && strcmp(kinds[i].name, kind) == 0) {
            *out = kinds[i].kind;
            return KVG_OK;
        }
    }
    return KVG_ENOTFOUND;
}

kvg_err kvg_kind_of_object(const json_object *obj, kvg_kind *out)
{
    if (!obj || !out)
        return KVG_EINVAL;
    const char *api = kvg_json_str(obj, "apiVersion", NULL);
    const char *kind = kvg_json_str(obj, "kind", NULL);
    if (!api || !kind)
        return KVG_ENOTFOUND;
    const char *slash = strchr(api, '/');
    if (!slash) /* "v1": the core group */
        return kvg_kind_from_gk("", kind, out);
    size_t glen = (size_t)(slash - api);
    char group[256];
    if (glen == 0 || glen >= sizeof group)
        return KVG_ENOTFOUND;
    memcpy(group, api, glen);
    group[glen] = '\0';
    return kvg_kind_from_gk(group, kind, out);
}
