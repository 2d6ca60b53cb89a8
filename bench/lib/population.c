/* The population of issue 3 (2,000 VMs, 2,000 VMIs, 10,000 PVCs, PVs and
 * Pods) as the apiserver returns them: status, annotations, managedFields.
 * Shared by the cache benchmarks (bench_cache_rss loads it into a store,
 * bench_informer_rss serves it to a real `kvguard serve`). */
#include <stdbool.h>
#include <stdio.h>

#include "population.h"

static void uid(char *out, int i, int salt)
{
    snprintf(out, 37, "%08x-%04x-4%03x-8%03x-%012x", (unsigned)(i * 2654435761u),
             (unsigned)salt & 0xffff, (unsigned)i & 0xfff,
             (unsigned)(salt * 7) & 0xfff, (unsigned)(i * 40503u + salt));
}

#define TS "\"2026-10-01T10:00:00Z\""

/* managedFields as server-side apply / controllers leave them. */
static const char MF[] =
    "[{\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{"
    "\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:a\":{},\"f:b\":{}},"
    "\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{\"f:accessModes\":{},"
    "\"f:resources\":{\"f:requests\":{\".\":{},\"f:storage\":{}}}}},"
    "\"manager\":\"kubectl-client-side-apply\",\"operation\":\"Update\","
    "\"time\":" TS "},{\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\","
    "\"fieldsV1\":{\"f:status\":{\"f:conditions\":{\".\":{},"
    "\"k:{\\\"type\\\":\\\"Ready\\\"}\":{\".\":{},\"f:lastTransitionTime\":{},"
    "\"f:status\":{},\"f:type\":{}}},\"f:phase\":{}}},\"manager\":"
    "\"kube-controller-manager\",\"operation\":\"Update\",\"subresource\":"
    "\"status\",\"time\":" TS "}]";

static void gen_vm(kvg_buf *b, int i)
{
    char u[40], u2[40];
    uid(u, i, 1);
    uid(u2, i, 2);
    kvg_buf_printf(b,
        "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
        "\"metadata\":{\"annotations\":{\"kubevirt.io/latest-observed-api-version\":"
        "\"v1\",\"kubevirt.io/storage-observed-api-version\":\"v1\"},"
        "\"creationTimestamp\":" TS ",\"finalizers\":[\"kubevirt.io/"
        "virtualMachineControllerFinalize\"],\"generation\":3,\"labels\":{\"app\":"
        "\"web\",\"kubevirt.io/vm\":\"vm-%05d\"},\"managedFields\":%s,\"name\":"
        "\"vm-%05d\",\"namespace\":\"tenant-%03d\",\"resourceVersion\":\"%d\","
        "\"uid\":\"%s\"},\"spec\":{\"dataVolumeTemplates\":[{\"metadata\":"
        "{\"creationTimestamp\":null,\"name\":\"vm-%05d-rootdisk\"},\"spec\":"
        "{\"source\":{\"http\":{\"url\":\"https://images.example.com/fedora-40.qcow2\"}},"
        "\"storage\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":"
        "{\"storage\":\"20Gi\"}},\"storageClassName\":\"zfs-local\"}}}],"
        "\"runStrategy\":\"Always\",\"template\":{\"metadata\":{\"creationTimestamp\":"
        "null,\"labels\":{\"kubevirt.io/vm\":\"vm-%05d\"}},\"spec\":{\"architecture\":"
        "\"amd64\",\"domain\":{\"cpu\":{\"cores\":2,\"sockets\":1,\"threads\":1},"
        "\"devices\":{\"disks\":[{\"disk\":{\"bus\":\"virtio\"},\"name\":\"rootdisk\"},"
        "{\"disk\":{\"bus\":\"virtio\"},\"name\":\"datadisk\"},{\"disk\":{\"bus\":"
        "\"virtio\"},\"name\":\"cloudinitdisk\"}],\"interfaces\":[{\"macAddress\":"
        "\"02:00:00:%02x:%02x:01\",\"masquerade\":{},\"name\":\"default\"}],\"rng\":{}},"
        "\"firmware\":{\"serial\":\"%s\",\"uuid\":\"%s\"},\"machine\":{\"type\":"
        "\"q35\"},\"memory\":{\"guest\":\"4Gi\"},\"resources\":{\"requests\":"
        "{\"memory\":\"4Gi\"}}},\"networks\":[{\"name\":\"default\",\"pod\":{}}],"
        "\"terminationGracePeriodSeconds\":180,\"volumes\":[{\"dataVolume\":{\"name\":"
        "\"vm-%05d-rootdisk\"},\"name\":\"rootdisk\"},{\"name\":\"datadisk\","
        "\"persistentVolumeClaim\":{\"claimName\":\"vm-%05d-data\"}},"
        "{\"cloudInitNoCloud\":{\"userData\":\"#cloud-config\\nuser: fedora\\n"
        "ssh_authorized_keys:\\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/"
        "Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q ops@example\\n\"},\"name\":"
        "\"cloudinitdisk\"}]}}},\"status\":{\"conditions\":[{\"lastProbeTime\":null,"
        "\"lastTransitionTime\":" TS ",\"status\":\"True\",\"type\":\"Ready\"},"
        "{\"lastProbeTime\":null,\"lastTransitionTime\":null,\"message\":\"All of "
        "the VMI's DVs are bound and not running\",\"reason\":\"AllDVsReady\","
        "\"status\":\"True\",\"type\":\"DataVolumesReady\"},{\"lastProbeTime\":null,"
        "\"lastTransitionTime\":null,\"status\":\"True\",\"type\":\"LiveMigratable\"}],"
        "\"created\":true,\"desiredGeneration\":3,\"observedGeneration\":3,"
        "\"printableStatus\":\"Running\",\"ready\":true,\"runStrategy\":\"Always\","
        "\"volumeSnapshotStatuses\":[{\"enabled\":true,\"name\":\"rootdisk\"},"
        "{\"enabled\":true,\"name\":\"datadisk\"},{\"enabled\":false,\"name\":"
        "\"cloudinitdisk\",\"reason\":\"Snapshot is not supported for this "
        "volumeSource type [cloudinitdisk]\"}]}}",
        i, MF, i, i % 200, 1000 + i, u, i, i, (i >> 8) & 0xff, i & 0xff, u2, u, i,
        i);
}

static void gen_vmi(kvg_buf *b, int i)
{
    char u[40], owner[40];
    uid(u, i, 3);
    uid(owner, i, 1);
    kvg_buf_printf(b,
        "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstance\","
        "\"metadata\":{\"annotations\":{\"kubevirt.io/latest-observed-api-version\":"
        "\"v1\",\"kubevirt.io/storage-observed-api-version\":\"v1\","
        "\"kubevirt.io/vm-generation\":\"3\"},\"creationTimestamp\":" TS ","
        "\"finalizers\":[\"kubevirt.io/virtualMachineControllerFinalize\","
        "\"foregroundDeleteVirtualMachine\"],\"generation\":12,\"labels\":{"
        "\"kubevirt.io/nodeName\":\"node-%02d\",\"kubevirt.io/vm\":\"vm-%05d\"},"
        "\"managedFields\":%s,\"name\":\"vm-%05d\",\"namespace\":\"tenant-%03d\","
        "\"ownerReferences\":[{\"apiVersion\":\"kubevirt.io/v1\","
        "\"blockOwnerDeletion\":true,\"controller\":true,\"kind\":\"VirtualMachine\","
        "\"name\":\"vm-%05d\",\"uid\":\"%s\"}],\"resourceVersion\":\"%d\",\"uid\":"
        "\"%s\"},\"spec\":{\"architecture\":\"amd64\",\"domain\":{\"cpu\":{\"cores\":"
        "2,\"model\":\"host-model\",\"sockets\":1,\"threads\":1},\"devices\":"
        "{\"disks\":[{\"disk\":{\"bus\":\"virtio\"},\"name\":\"rootdisk\"},{\"disk\":"
        "{\"bus\":\"virtio\"},\"name\":\"datadisk\"}],\"interfaces\":[{\"macAddress\":"
        "\"02:00:00:00:00:01\",\"masquerade\":{},\"name\":\"default\"}]},"
        "\"features\":{\"acpi\":{\"enabled\":true}},\"firmware\":{\"uuid\":\"%s\"},"
        "\"machine\":{\"type\":\"pc-q35-rhel9.2.0\"},\"memory\":{\"guest\":\"4Gi\"},"
        "\"resources\":{\"requests\":{\"memory\":\"4Gi\"}}},\"evictionStrategy\":"
        "\"LiveMigrate\",\"networks\":[{\"name\":\"default\",\"pod\":{}}],"
        "\"volumes\":[{\"dataVolume\":{\"name\":\"vm-%05d-rootdisk\"},\"name\":"
        "\"rootdisk\"},{\"name\":\"datadisk\",\"persistentVolumeClaim\":"
        "{\"claimName\":\"vm-%05d-data\"}}]},\"status\":{\"activePods\":"
        "{\"%s\":\"node-%02d\"},\"conditions\":[{\"lastProbeTime\":null,"
        "\"lastTransitionTime\":" TS ",\"status\":\"True\",\"type\":\"Ready\"},"
        "{\"lastProbeTime\":null,\"lastTransitionTime\":null,\"status\":\"True\","
        "\"type\":\"LiveMigratable\"},{\"lastProbeTime\":" TS ",\"lastTransitionTime\":"
        "null,\"status\":\"True\",\"type\":\"AgentConnected\"}],\"currentCPUTopology\":"
        "{\"cores\":2,\"sockets\":1,\"threads\":1},\"guestOSInfo\":{\"id\":\"fedora\","
        "\"kernelRelease\":\"6.8.5-301.fc40.x86_64\",\"name\":\"Fedora Linux\","
        "\"prettyName\":\"Fedora Linux 40 (Cloud Edition)\",\"version\":\"40\"},"
        "\"interfaces\":[{\"infoSource\":\"domain, guest-agent\",\"interfaceName\":"
        "\"eth0\",\"ipAddress\":\"10.244.%d.%d\",\"ipAddresses\":[\"10.244.%d.%d\"],"
        "\"mac\":\"02:00:00:00:00:01\",\"name\":\"default\",\"queueCount\":1}],"
        "\"launcherContainerImageVersion\":\"quay.io/kubevirt/virt-launcher:v1.5.0\","
        "\"machine\":{\"type\":\"pc-q35-rhel9.2.0\"},\"memory\":{\"guestAtBoot\":"
        "\"4Gi\",\"guestCurrent\":\"4Gi\",\"guestRequested\":\"4Gi\"},"
        "\"migrationMethod\":\"BlockMigration\",\"migrationTransport\":\"Unix\","
        "\"nodeName\":\"node-%02d\",\"phase\":\"Running\",\"phaseTransitionTimestamps\":"
        "[{\"phase\":\"Pending\",\"phaseTransitionTimestamp\":" TS "},{\"phase\":"
        "\"Scheduling\",\"phaseTransitionTimestamp\":" TS "},{\"phase\":\"Scheduled\","
        "\"phaseTransitionTimestamp\":" TS "},{\"phase\":\"Running\","
        "\"phaseTransitionTimestamp\":" TS "}],\"qosClass\":\"Burstable\","
        "\"runtimeUser\":107,\"selinuxContext\":\"none\",\"volumeStatus\":"
        "[{\"name\":\"datadisk\",\"persistentVolumeClaimInfo\":{\"accessModes\":"
        "[\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"50Gi\"},\"claimName\":"
        "\"vm-%05d-data\",\"filesystemOverhead\":\"0.055\",\"requests\":{\"storage\":"
        "\"50Gi\"},\"volumeMode\":\"Filesystem\"},\"target\":\"vdb\"},{\"name\":"
        "\"rootdisk\",\"persistentVolumeClaimInfo\":{\"accessModes\":"
        "[\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"20Gi\"},\"claimName\":"
        "\"vm-%05d-rootdisk\",\"filesystemOverhead\":\"0.055\",\"requests\":"
        "{\"storage\":\"20Gi\"},\"volumeMode\":\"Filesystem\"},\"target\":\"vda\"}]}}",
        i % 40, i, MF, i, i % 200, i, owner, 5000 + i, u, u, i, i, u, i % 40,
        (i >> 8) & 0xff, i & 0xff, (i >> 8) & 0xff, i & 0xff, i % 40, i, i);
}

static void gen_pvc(kvg_buf *b, int i)
{
    char u[40], owner[40];
    uid(u, i, 5);
    uid(owner, i, 6);
    int vmno = i / 2;
    const char *suffix = i % 2 ? "data" : "rootdisk";
    kvg_buf_printf(b,
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":"
        "{\"annotations\":{\"cdi.kubevirt.io/storage.condition.running\":\"false\","
        "\"cdi.kubevirt.io/storage.condition.running.message\":\"Import Complete\","
        "\"cdi.kubevirt.io/storage.condition.running.reason\":\"Completed\","
        "\"cdi.kubevirt.io/storage.contentType\":\"kubevirt\","
        "\"cdi.kubevirt.io/storage.import.endpoint\":\"https://images.example.com/"
        "fedora-40.qcow2\",\"cdi.kubevirt.io/storage.pod.phase\":\"Succeeded\","
        "\"cdi.kubevirt.io/storage.pod.restarts\":\"0\","
        "\"cdi.kubevirt.io/storage.populator.progress\":\"100.0%%\","
        "\"pv.kubernetes.io/bind-completed\":\"yes\","
        "\"pv.kubernetes.io/bound-by-controller\":\"yes\","
        "\"volume.beta.kubernetes.io/storage-provisioner\":\"zfs.csi.openebs.io\","
        "\"volume.kubernetes.io/storage-provisioner\":\"zfs.csi.openebs.io\"},"
        "\"creationTimestamp\":" TS ",\"finalizers\":[\"kubernetes.io/pvc-protection\"],"
        "\"labels\":{\"app\":\"containerized-data-importer\","
        "\"app.kubernetes.io/component\":\"storage\",\"app.kubernetes.io/managed-by\":"
        "\"cdi-controller\"},\"managedFields\":%s,\"name\":\"vm-%05d-%s\","
        "\"namespace\":\"tenant-%03d\",\"ownerReferences\":[{\"apiVersion\":"
        "\"cdi.kubevirt.io/v1beta1\",\"blockOwnerDeletion\":true,\"controller\":true,"
        "\"kind\":\"DataVolume\",\"name\":\"vm-%05d-%s\",\"uid\":\"%s\"}],"
        "\"resourceVersion\":\"%d\",\"uid\":\"%s\"},\"spec\":{\"accessModes\":"
        "[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"21Gi\"}},"
        "\"storageClassName\":\"zfs-local\",\"volumeMode\":\"Filesystem\","
        "\"volumeName\":\"pvc-%s\"},\"status\":{\"accessModes\":[\"ReadWriteOnce\"],"
        "\"capacity\":{\"storage\":\"21Gi\"},\"phase\":\"Bound\"}}",
        MF, vmno, suffix, vmno % 200, vmno, suffix, owner, 9000 + i, u, u);
}

static void gen_pv(kvg_buf *b, int i)
{
    char u[40], claim[40], own[40];
    uid(u, i, 7);
    uid(claim, i, 5);
    uid(own, i, 8);
    int vmno = i / 2;
    kvg_buf_printf(b,
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":"
        "{\"annotations\":{\"pv.kubernetes.io/provisioned-by\":\"zfs.csi.openebs.io\","
        "\"volume.kubernetes.io/provisioner-deletion-secret-name\":\"\","
        "\"volume.kubernetes.io/provisioner-deletion-secret-namespace\":\"\"},"
        "\"creationTimestamp\":" TS ",\"finalizers\":[\"external-provisioner.volume."
        "kubernetes.io/finalizer\",\"kubernetes.io/pv-protection\"],\"managedFields\":"
        "%s,\"name\":\"pvc-%s\",\"resourceVersion\":\"%d\",\"uid\":\"%s\"},\"spec\":"
        "{\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"21Gi\"},"
        "\"claimRef\":{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\","
        "\"name\":\"vm-%05d-%s\",\"namespace\":\"tenant-%03d\",\"resourceVersion\":"
        "\"%d\",\"uid\":\"%s\"},\"csi\":{\"driver\":\"zfs.csi.openebs.io\",\"fsType\":"
        "\"zfs\",\"volumeAttributes\":{\"openebs.io/cas-type\":\"localpv-zfs\","
        "\"openebs.io/poolname\":\"zfspv-pool\",\"storage.kubernetes.io/"
        "csiProvisionerIdentity\":\"1727776800000-1234-zfs.csi.openebs.io\"},"
        "\"volumeHandle\":\"pvc-%s\"},\"nodeAffinity\":{\"required\":"
        "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"openebs.io/nodeid\","
        "\"operator\":\"In\",\"values\":[\"node-%02d\"]}]}]}},"
        "\"persistentVolumeReclaimPolicy\":\"Delete\",\"storageClassName\":"
        "\"zfs-local\",\"volumeMode\":\"Filesystem\"},\"status\":"
        "{\"lastPhaseTransitionTime\":" TS ",\"phase\":\"Bound\"}}",
        MF, claim, 20000 + i, u, vmno, i % 2 ? "data" : "rootdisk", vmno % 200,
        9000 + i, claim, claim, vmno % 40);
    (void)own;
}

/* A virt-launcher pod for the first 2,000, ordinary app pods after. */
static void gen_pod(kvg_buf *b, int i)
{
    char u[40], owner[40];
    uid(u, i, 9);
    uid(owner, i, 3);
    bool launcher = i < 2000;
    kvg_buf_printf(b,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"annotations\":"
        "{\"kubectl.kubernetes.io/default-container\":\"compute\","
        "\"kubevirt.io/domain\":\"vm-%05d\",\"kubevirt.io/migrationTransportUnix\":"
        "\"true\",\"post.hook.backup.velero.io/command\":\"[\\\"/usr/bin/virt-freezer\\\","
        " \\\"--unfreeze\\\"]\",\"pre.hook.backup.velero.io/command\":"
        "\"[\\\"/usr/bin/virt-freezer\\\", \\\"--freeze\\\"]\"},\"creationTimestamp\":"
        TS ",\"generateName\":\"%s-\",\"labels\":{\"kubevirt.io\":\"virt-launcher\","
        "\"kubevirt.io/created-by\":\"%s\",\"kubevirt.io/nodeName\":\"node-%02d\","
        "\"vm.kubevirt.io/name\":\"vm-%05d\"},\"managedFields\":%s,\"name\":"
        "\"%s-%05d-x7k2p\",\"namespace\":\"tenant-%03d\",\"ownerReferences\":"
        "[{\"apiVersion\":\"kubevirt.io/v1\",\"blockOwnerDeletion\":true,"
        "\"controller\":true,\"kind\":\"VirtualMachineInstance\",\"name\":\"vm-%05d\","
        "\"uid\":\"%s\"}],\"resourceVersion\":\"%d\",\"uid\":\"%s\"},\"spec\":"
        "{\"automountServiceAccountToken\":false,\"containers\":[{\"command\":"
        "[\"/usr/bin/virt-launcher-monitor\",\"--qemu-timeout\",\"313s\",\"--name\","
        "\"vm-%05d\",\"--uid\",\"%s\",\"--namespace\",\"tenant-%03d\","
        "\"--kubevirt-share-dir\",\"/var/run/kubevirt\",\"--ephemeral-disk-dir\","
        "\"/var/run/kubevirt-ephemeral-disks\",\"--container-disk-dir\","
        "\"/var/run/kubevirt/container-disks\",\"--grace-period-seconds\",\"195\","
        "\"--hook-sidecars\",\"0\",\"--ovmf-path\",\"/usr/share/OVMF\"],\"env\":"
        "[{\"name\":\"XDG_CACHE_HOME\",\"value\":\"/var/run/kubevirt-private\"},"
        "{\"name\":\"XDG_CONFIG_HOME\",\"value\":\"/var/run/kubevirt-private\"},"
        "{\"name\":\"XDG_RUNTIME_DIR\",\"value\":\"/var/run\"},{\"name\":\"POD_NAME\","
        "\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":"
        "\"metadata.name\"}}}],\"image\":\"quay.io/kubevirt/virt-launcher:v1.5.0\","
        "\"imagePullPolicy\":\"IfNotPresent\",\"name\":\"compute\",\"resources\":"
        "{\"limits\":{\"devices.kubevirt.io/kvm\":\"1\",\"devices.kubevirt.io/tun\":"
        "\"1\",\"devices.kubevirt.io/vhost-net\":\"1\"},\"requests\":{\"cpu\":"
        "\"200m\",\"devices.kubevirt.io/kvm\":\"1\",\"ephemeral-storage\":\"50M\","
        "\"memory\":\"4413Mi\"}},\"securityContext\":{\"capabilities\":{\"add\":"
        "[\"NET_BIND_SERVICE\"],\"drop\":[\"ALL\"]},\"privileged\":false,"
        "\"runAsGroup\":107,\"runAsNonRoot\":true,\"runAsUser\":107},"
        "\"terminationMessagePath\":\"/dev/termination-log\","
        "\"terminationMessagePolicy\":\"File\",\"volumeMounts\":[{\"mountPath\":"
        "\"/var/run/kubevirt-private\",\"name\":\"private\"},{\"mountPath\":"
        "\"/var/run/kubevirt\",\"name\":\"public\"},{\"mountPath\":"
        "\"/var/run/kubevirt-ephemeral-disks\",\"name\":\"ephemeral-disks\"},"
        "{\"mountPath\":\"/var/run/kubevirt/sockets\",\"name\":\"sockets\"},"
        "{\"mountPath\":\"/var/run/kubevirt-private/vmi-disks/rootdisk\",\"name\":"
        "\"rootdisk\"},{\"mountPath\":\"/var/run/kubevirt-private/vmi-disks/datadisk\","
        "\"name\":\"datadisk\"}]}],\"dnsPolicy\":\"ClusterFirst\","
        "\"enableServiceLinks\":false,\"hostname\":\"vm-%05d\",\"nodeName\":"
        "\"node-%02d\",\"nodeSelector\":{\"kubernetes.io/arch\":\"amd64\","
        "\"kubevirt.io/schedulable\":\"true\"},\"preemptionPolicy\":"
        "\"PreemptLowerPriority\",\"priority\":0,\"readinessGates\":[{\"conditionType\":"
        "\"kubevirt.io/virtual-machine-unpaused\"}],\"restartPolicy\":\"Never\","
        "\"schedulerName\":\"default-scheduler\",\"securityContext\":{\"fsGroup\":107,"
        "\"runAsGroup\":107,\"runAsNonRoot\":true,\"runAsUser\":107},"
        "\"serviceAccountName\":\"default\",\"terminationGracePeriodSeconds\":210,"
        "\"tolerations\":[{\"effect\":\"NoExecute\",\"key\":\"node.kubernetes.io/"
        "not-ready\",\"operator\":\"Exists\",\"tolerationSeconds\":300},{\"effect\":"
        "\"NoExecute\",\"key\":\"node.kubernetes.io/unreachable\",\"operator\":"
        "\"Exists\",\"tolerationSeconds\":300}],\"volumes\":[{\"emptyDir\":{},"
        "\"name\":\"private\"},{\"emptyDir\":{},\"name\":\"public\"},{\"emptyDir\":{},"
        "\"name\":\"sockets\"},{\"emptyDir\":{},\"name\":\"virt-bin-share-dir\"},"
        "{\"emptyDir\":{},\"name\":\"libvirt-runtime\"},{\"emptyDir\":{},\"name\":"
        "\"ephemeral-disks\"},{\"emptyDir\":{},\"name\":\"container-disks\"},"
        "{\"emptyDir\":{},\"name\":\"hotplug-disks\"}%s%05d%s%05d%s]},\"status\":"
        "{\"conditions\":[{\"lastProbeTime\":null,\"lastTransitionTime\":" TS ","
        "\"status\":\"True\",\"type\":\"kubevirt.io/virtual-machine-unpaused\"},"
        "{\"lastProbeTime\":null,\"lastTransitionTime\":" TS ",\"status\":\"True\","
        "\"type\":\"Initialized\"},{\"lastProbeTime\":null,\"lastTransitionTime\":" TS
        ",\"status\":\"True\",\"type\":\"Ready\"},{\"lastProbeTime\":null,"
        "\"lastTransitionTime\":" TS ",\"status\":\"True\",\"type\":"
        "\"ContainersReady\"},{\"lastProbeTime\":null,\"lastTransitionTime\":" TS ","
        "\"status\":\"True\",\"type\":\"PodScheduled\"}],\"containerStatuses\":"
        "[{\"containerID\":\"containerd://%s\",\"image\":\"quay.io/kubevirt/"
        "virt-launcher:v1.5.0\",\"imageID\":\"quay.io/kubevirt/virt-launcher@sha256:"
        "0f3b1c2d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef\","
        "\"lastState\":{},\"name\":\"compute\",\"ready\":true,\"restartCount\":0,"
        "\"started\":true,\"state\":{\"running\":{\"startedAt\":" TS "}}}],"
        "\"hostIP\":\"192.168.1.%d\",\"phase\":\"Running\",\"podIP\":\"10.244.%d.%d\","
        "\"podIPs\":[{\"ip\":\"10.244.%d.%d\"}],\"qosClass\":\"Burstable\","
        "\"startTime\":" TS "}}",
        i, launcher ? "virt-launcher" : "app", u, i % 40, i, MF,
        launcher ? "virt-launcher-vm" : "app", i, i % 200, i, owner, 30000 + i, u, i,
        owner, i % 200, i, i % 40,
        launcher ? ",{\"name\":\"rootdisk\",\"persistentVolumeClaim\":{\"claimName\":\"vm-"
                 : ",{\"configMap\":{\"name\":\"app-config-",
        i, launcher ? "-rootdisk\"}},{\"name\":\"datadisk\",\"persistentVolumeClaim\":"
                      "{\"claimName\":\"vm-"
                    : "\"},\"name\":\"config\"},{\"projected\":{\"sources\":"
                      "[{\"serviceAccountToken\":{\"path\":\"token\"}}]},\"name\":\"kube-"
                      "api-access-",
        i, launcher ? "-data\"}}" : "\"}",
        u, i % 250, (i >> 8) & 0xff, i & 0xff, (i >> 8) & 0xff, i & 0xff);
}

const kvg_bench_kind KVG_BENCH_POPULATION[KVG_BENCH_POPULATION_KINDS] = {
    {"VirtualMachine", KVG_KIND_VM, gen_vm, 2000},
    {"VirtualMachineInstance", KVG_KIND_VMI, gen_vmi, 2000},
    {"PersistentVolumeClaim", KVG_KIND_PVC, gen_pvc, 10000},
    {"PersistentVolume", KVG_KIND_PV, gen_pv, 10000},
    {"Pod", KVG_KIND_POD, gen_pod, 10000},
};
