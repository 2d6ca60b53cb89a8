/* The rule table of SPEC §3: ids, names, object kinds, whether the rule
 * needs cluster lookups (L), default actions, one-line summaries. */
#include <string.h>

#include "policy/internal.h"

#define R(id_, name_, kind_, l_, act_, sum_) \
    [id_] = {id_, name_, kind_, l_, act_, sum_}

static const kvg_rule_info rules[KVG_RULE_COUNT] = {
    /* VirtualMachineSnapshot */
    R(KVG_RULE_SNAPSHOT_SOURCE_REF, "snapshot-source-ref",
      "VirtualMachineSnapshot", false, KVG_ACTION_ENFORCE,
      "spec.source.apiGroup present and kubevirt.io, kind VirtualMachine (as KubeVirt)"),
    R(KVG_RULE_SNAPSHOT_SOURCE_EXISTS, "snapshot-source-exists",
      "VirtualMachineSnapshot", true, KVG_ACTION_ENFORCE,
      "the source VM exists in the namespace"),
    R(KVG_RULE_SNAPSHOT_VOLUME_SUPPORT, "snapshot-volume-support",
      "VirtualMachineSnapshot", true, KVG_ACTION_ENFORCE,
      "every PVC/DataVolume/memoryDump volume resolves to a VolumeSnapshotClass"),
    R(KVG_RULE_SNAPSHOT_VM_BUSY, "snapshot-vm-busy",
      "VirtualMachineSnapshot", true, KVG_ACTION_ENFORCE,
      "the VM has no restore and no other snapshot in progress"),
    R(KVG_RULE_SNAPSHOT_ONLINE_CONSISTENCY, "snapshot-online-consistency",
      "VirtualMachineSnapshot", true, KVG_ACTION_WARN,
      "a running VM without AgentConnected=True gives a crash-consistent snapshot only"),
    R(KVG_RULE_SNAPSHOT_BACKEND_STORAGE, "snapshot-backend-storage",
      "VirtualMachineSnapshot", true, KVG_ACTION_WARN,
      "the VM has persistent TPM/EFI (backend storage)"),
    R(KVG_RULE_SNAPSHOT_IMMUTABLE, "snapshot-immutable",
      "VirtualMachineSnapshot", false, KVG_ACTION_ENFORCE,
      "UPDATE may not change spec"),
    /* VirtualMachineRestore */
    R(KVG_RULE_RESTORE_TARGET_REF, "restore-target-ref",
      "VirtualMachineRestore", false, KVG_ACTION_ENFORCE,
      "target apiGroup/kind, patches, overrides and policies as KubeVirt"),
    R(KVG_RULE_RESTORE_SNAPSHOT_READY, "restore-snapshot-ready",
      "VirtualMachineRestore", true, KVG_ACTION_ENFORCE,
      "the VirtualMachineSnapshot exists, is not Failed and is readyToUse"),
    R(KVG_RULE_RESTORE_TARGET_POWERED_OFF, "restore-target-powered-off",
      "VirtualMachineRestore", true, KVG_ACTION_ENFORCE,
      "an existing target VM is powered off (or targetReadinessPolicy: StopTarget)"),
    R(KVG_RULE_RESTORE_TARGET_IDENTITY, "restore-target-identity",
      "VirtualMachineRestore", true, KVG_ACTION_ENFORCE,
      "an existing target VM is the snapshot's source (uid == status.sourceUID)"),
    R(KVG_RULE_RESTORE_STORAGE_RESTORABLE, "restore-storage-restorable",
      "VirtualMachineRestore", true, KVG_ACTION_ENFORCE,
      "every volume backup's provisioner can create a volume from a snapshot"),
    R(KVG_RULE_RESTORE_IN_PROGRESS, "restore-in-progress",
      "VirtualMachineRestore", true, KVG_ACTION_ENFORCE,
      "no other incomplete restore targets the same VM"),
    R(KVG_RULE_RESTORE_IMMUTABLE, "restore-immutable",
      "VirtualMachineRestore", false, KVG_ACTION_ENFORCE,
      "UPDATE may not change spec"),
    /* VirtualMachineClone */
    R(KVG_RULE_CLONE_SPEC, "clone-spec", "VirtualMachineClone", false,
      KVG_ACTION_ENFORCE,
      "source/target kinds and names, filters, MACs and patches as KubeVirt"),
    R(KVG_RULE_CLONE_SOURCE_EXISTS, "clone-source-exists",
      "VirtualMachineClone", true, KVG_ACTION_ENFORCE,
      "the source VM, or the ready source snapshot with every volume backed up, exists"),
    R(KVG_RULE_CLONE_TARGET_FREE, "clone-target-free", "VirtualMachineClone",
      true, KVG_ACTION_ENFORCE, "no VM with the target name exists"),
    /* "—" in the spec: a decided strategy never denies, it only ever fails
     * when its input is unknown, and SPEC §3 denies on unknown there (the
     * clone would otherwise silently skip a disk): hence enforce. */
    R(KVG_RULE_CLONE_STRATEGY, "clone-strategy", "VirtualMachineClone", true,
      KVG_ACTION_ENFORCE,
      "decides snapshot (KubeVirt clones) or cdi (host-assisted copy fallback)"),
    R(KVG_RULE_CLONE_FALLBACK_SOURCE_STOPPED, "clone-fallback-source-stopped",
      "VirtualMachineClone", true, KVG_ACTION_ENFORCE,
      "a cdi clone needs the source VM powered off"),
    R(KVG_RULE_CLONE_FALLBACK_DISABLED, "clone-fallback-disabled",
      "VirtualMachineClone", true, KVG_ACTION_ENFORCE,
      "a cdi clone is refused when the fallback is off or the source is a snapshot"),
    /* DataVolume */
    R(KVG_RULE_DATAVOLUME_CLONE_SOURCE, "datavolume-clone-source",
      "DataVolume", true, KVG_ACTION_WARN,
      "source.pvc names an existing PVC"),
    R(KVG_RULE_DATAVOLUME_CLONE_SIZE, "datavolume-clone-size", "DataVolume",
      true, KVG_ACTION_ENFORCE, "target size >= source size"),
    R(KVG_RULE_DATAVOLUME_CLONE_CONTENT, "datavolume-clone-content",
      "DataVolume", true, KVG_ACTION_ENFORCE,
      "contentType of source and target match"),
    R(KVG_RULE_DATAVOLUME_CLONE_VOLUME_MODE, "datavolume-clone-volume-mode",
      "DataVolume", true, KVG_ACTION_WARN,
      "Block<->Filesystem forces a slow host-assisted copy"),
    R(KVG_RULE_DATAVOLUME_CLONE_SOURCE_IN_USE, "datavolume-clone-source-in-use",
      "DataVolume", true, KVG_ACTION_ENFORCE,
      "the source PVC is not mounted read-write by a running pod/VM"),
    R(KVG_RULE_DATAVOLUME_SNAPSHOT_RESTORABLE, "datavolume-snapshot-restorable",
      "DataVolume", true, KVG_ACTION_ENFORCE,
      "source.snapshot exists, is ready, and the target provisioner can restore it"),
    /* Its effective action follows onClusterStateUnavailable unless a rule
     * action is configured for it (see kvg_policy_action). */
    R(KVG_RULE_CLUSTER_STATE, "cluster-state", "*", true, KVG_ACTION_ENFORCE,
      "the cluster view is synced (onClusterStateUnavailable)"),
};

const kvg_rule_info *kvg_rule_info_get(kvg_rule_id id)
{
    if ((int)id < 0 || id >= KVG_RULE_COUNT)
        return NULL;
    return &rules[id];
}

kvg_err kvg_rule_find(const char *name, kvg_rule_id *out)
{
    if (!name || !out)
        return KVG_EINVAL;
    for (int i = 0; i < KVG_RULE_COUNT; i++) {
        if (!strcmp(rules[i].name, name)) {
            *out = (kvg_rule_id)i;
            return KVG_OK;
        }
    }
    return KVG_ENOTFOUND;
}

const char *kvg_outcome_name(kvg_outcome o)
{
    switch (o) {
    case KVG_OUTCOME_PASS: return "pass";
    case KVG_OUTCOME_FAIL: return "fail";
    case KVG_OUTCOME_UNKNOWN: return "unknown";
    case KVG_OUTCOME_SKIP: return "skip";
    }
    return "?";
}

kvg_action kvg_policy_action(const kvg_policy_config *c, kvg_rule_id id)
{
    const kvg_rule_info *ri = kvg_rule_info_get(id);
    kvg_action a = KVG_ACTION_DEFAULT;
    if (!ri)
        return KVG_ACTION_OFF;
    if (c) {
        a = c->actions[id];
        if (a < KVG_ACTION_DEFAULT || a > KVG_ACTION_ENFORCE)
            a = KVG_ACTION_DEFAULT; /* never trust a corrupt override */
    }
    if (a != KVG_ACTION_DEFAULT)
        return a;
    if (id == KVG_RULE_CLUSTER_STATE && c)
        return c->on_unavailable == KVG_UNAVAILABLE_ALLOW ? KVG_ACTION_WARN
                                                          : KVG_ACTION_ENFORCE;
    return ri->default_action;
}

typedef struct handled_kind {
    const char *group, *kind;
} handled_kind;

static const handled_kind handled[] = {
    {"snapshot.kubevirt.io", "VirtualMachineSnapshot"},
    {"snapshot.kubevirt.io", "VirtualMachineRestore"},
    {"clone.kubevirt.io", "VirtualMachineClone"},
    {"cdi.kubevirt.io", "DataVolume"},
};

bool kvg_policy_handles(const char *group, const char *kind)
{
    if (!group || !kind)
        return false;
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
        if (!strcmp(group, handled[i].group) && !strcmp(kind, handled[i].kind))
            return true;
    return false;
}
