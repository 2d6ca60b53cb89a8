/* Benchmark (not a test): kvg_policy_decide() alone, on realistic requests
 * against a cluster view of about 11,000 objects (50 namespaces x 40 VMs,
 * each VM with a PVC and a DataVolume, half of them running, a snapshot and
 * its content for every other VM). Prints p50/p99/max latency per request
 * type, three times: every kind kept as json-c trees; the default layout
 * (bulk kinds compact) with the thread's parsed trees warm, as for a burst
 * of requests about one VM; and the same with them dropped before every
 * decision, as for a request about an object nobody asked about lately.
 * Usage: bench_policy_decide [iterations per type, default 20000] */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "measure.h"
#include "kvguard/json.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"

#define NAMESPACES 50
#define VMS_PER_NS 40

static json_object *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_object *J(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_object *o = json_tokener_parse(buf);
    if (!o) {
        fprintf(stderr, "bad JSON: %s\n", buf);
        exit(1);
    }
    return o;
}

static void put(kvg_store *s, kvg_kind k, json_object *o)
{
    if (kvg_store_put(s, k, o)) {
        fprintf(stderr, "store put failed\n");
        exit(1);
    }
}

static void fill(kvg_store *s)
{
    put(s, KVG_KIND_STORAGECLASS, J("{\"metadata\":{\"name\":\"openebs-zfspv\"},\"provisioner\":\"zfs.csi.openebs.io\"}"));
    put(s, KVG_KIND_STORAGECLASS, J("{\"metadata\":{\"name\":\"openebs-lvmpv\"},\"provisioner\":\"local.csi.openebs.io\"}"));
    put(s, KVG_KIND_STORAGECLASS, J("{\"metadata\":{\"name\":\"openebs-hostpath\",\"annotations\":"
                                    "{\"storageclass.kubernetes.io/is-default-class\":\"true\"}},"
                                    "\"provisioner\":\"openebs.io/local\"}"));
    put(s, KVG_KIND_VOLUMESNAPSHOTCLASS, J("{\"metadata\":{\"name\":\"zfspv-snapclass\"},\"driver\":\"zfs.csi.openebs.io\"}"));
    put(s, KVG_KIND_VOLUMESNAPSHOTCLASS, J("{\"metadata\":{\"name\":\"lvmpv-snapclass\"},\"driver\":\"local.csi.openebs.io\"}"));
    for (int n = 0; n < NAMESPACES; n++) {
        for (int v = 0; v < VMS_PER_NS; v++) {
            const char *sc = v % 5 == 0 ? "openebs-lvmpv" : "openebs-zfspv";
            bool on = v % 2 == 0;
            put(s, KVG_KIND_VM, J(
                "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
                "\"metadata\":{\"name\":\"vm-%d\",\"namespace\":\"ns-%d\",\"uid\":\"uid-%d-%d\"},"
                "\"spec\":{\"runStrategy\":\"%s\",\"dataVolumeTemplates\":[{\"metadata\":{\"name\":\"vm-%d-dv\"},"
                "\"spec\":{\"storage\":{\"storageClassName\":\"%s\"},\"source\":{\"blank\":{}}}}],"
                "\"template\":{\"spec\":{\"domain\":{\"devices\":{\"disks\":[{\"name\":\"root\"},"
                "{\"name\":\"data\"}],\"interfaces\":[{\"name\":\"default\",\"masquerade\":{}}]}},"
                "\"networks\":[{\"name\":\"default\",\"pod\":{}}],"
                "\"volumes\":[{\"name\":\"root\",\"dataVolume\":{\"name\":\"vm-%d-dv\"}},"
                "{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"vm-%d-data\"}},"
                "{\"name\":\"cloudinit\",\"cloudInitNoCloud\":{\"userData\":\"#cloud-config\"}}]}}},"
                "\"status\":{\"printableStatus\":\"%s\"}}",
                v, n, n, v, on ? "Always" : "Halted", v, sc, v, v, on ? "Running" : "Stopped"));
            put(s, KVG_KIND_DATAVOLUME, J(
                "{\"metadata\":{\"name\":\"vm-%d-dv\",\"namespace\":\"ns-%d\"},"
                "\"spec\":{\"storage\":{\"storageClassName\":\"%s\"},\"source\":{\"blank\":{}}}}", v, n, sc));
            for (int k = 0; k < 2; k++)
                put(s, KVG_KIND_PVC, J(
                    "{\"metadata\":{\"name\":\"vm-%d-%s\",\"namespace\":\"ns-%d\"},"
                    "\"spec\":{\"storageClassName\":\"%s\",\"accessModes\":[\"ReadWriteOnce\"],"
                    "\"resources\":{\"requests\":{\"storage\":\"20Gi\"}}},"
                    "\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"20Gi\"}}}",
                    v, k ? "data" : "dv", n, sc));
            if (on)
                put(s, KVG_KIND_VMI, J(
                    "{\"metadata\":{\"name\":\"vm-%d\",\"namespace\":\"ns-%d\",\"ownerReferences\":"
                    "[{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"name\":\"vm-%d\","
                    "\"controller\":true}]},\"status\":{\"phase\":\"Running\",\"conditions\":"
                    "[{\"type\":\"AgentConnected\",\"status\":\"True\"}]}}", v, n, v));
            if (v % 2 == 1) {
                put(s, KVG_KIND_VMSNAPSHOT, J(
                    "{\"metadata\":{\"name\":\"snap-%d\",\"namespace\":\"ns-%d\",\"uid\":\"suid-%d-%d\"},"
                    "\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-%d\"}},"
                    "\"status\":{\"phase\":\"Succeeded\",\"readyToUse\":true,\"sourceUID\":\"uid-%d-%d\","
                    "\"virtualMachineSnapshotContentName\":\"content-%d\"}}", v, n, n, v, v, n, v, v));
                put(s, KVG_KIND_VMSNAPSHOTCONTENT, J(
                    "{\"metadata\":{\"name\":\"content-%d\",\"namespace\":\"ns-%d\"},"
                    "\"spec\":{\"virtualMachineSnapshotName\":\"snap-%d\",\"source\":{\"virtualMachine\":"
                    "{\"metadata\":{\"name\":\"vm-%d\",\"uid\":\"uid-%d-%d\"}}},\"volumeBackups\":["
                    "{\"volumeName\":\"root\",\"persistentVolumeClaim\":{\"metadata\":{\"name\":\"vm-%d-dv\"},"
                    "\"spec\":{\"storageClassName\":\"%s\"}}},"
                    "{\"volumeName\":\"data\",\"persistentVolumeClaim\":{\"metadata\":{\"name\":\"vm-%d-data\"},"
                    "\"spec\":{\"storageClassName\":\"%s\"}}}]}}", v, n, v, v, n, v, v, sc, v, sc));
            }
        }
    }
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_state(s, (kvg_kind)k, KVG_KIND_SYNCED);
}

typedef struct bench_req {
    const char *name;
    const char *group, *version, *kind;
    kvg_operation op;
    bool mutate;
    json_object *obj, *old;
} bench_req;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(const kvg_policy_config *cfg, const kvg_view *v, const bench_req *b,
                int iters, bool cold)
{
    kvg_request req;
    kvg_decide_opts o = {.mutate = b->mutate};
    double *t = malloc(sizeof *t * (size_t)iters);
    bool allowed = false;
    memset(&req, 0, sizeof req);
    req.uid = "bench";
    req.group = b->group;
    req.version = b->version;
    req.kind = b->kind;
    req.namespace_ = "ns-23";
    req.name = kvg_json_str(b->obj, "metadata", "name", NULL);
    req.operation = b->op;
    req.object = b->obj;
    req.old_object = b->old;
    for (int i = 0; i < iters; i++) {
        kvg_decision d;
        if (cold)
            kvg_view_drop_parsed();
        double t0 = kvg_bench_now();
        kvg_decision_init(&d);
        if (kvg_policy_decide(cfg, v, &req, &o, &d)) {
            fprintf(stderr, "decide failed\n");
            exit(1);
        }
        allowed = d.allowed;
        kvg_decision_free(&d);
        t[i] = (kvg_bench_now() - t0) * 1e6;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    printf("%-34s %-7s %9.1f %9.1f %9.1f\n", b->name, allowed ? "allow" : "deny",
           t[iters / 2], t[(int)(iters * 0.99)], t[iters - 1]);
    free(t);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 20000;
    kvg_policy_config cfg;
    if (iters < 100)
        iters = 100;
    kvg_policy_config_init(&cfg);
    bench_req reqs[] = {
        {"snapshot CREATE (running, 2 disks)", "snapshot.kubevirt.io", "v1beta1",
         "VirtualMachineSnapshot", KVG_OP_CREATE, false,
         J("{\"metadata\":{\"name\":\"snap-new\",\"namespace\":\"ns-23\"},\"spec\":{\"source\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-12\"}}}"), NULL},
        {"snapshot CREATE (lvm, stopped)", "snapshot.kubevirt.io", "v1alpha1",
         "VirtualMachineSnapshot", KVG_OP_CREATE, false,
         J("{\"metadata\":{\"name\":\"snap-new\",\"namespace\":\"ns-23\"},\"spec\":{\"source\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-15\"}}}"), NULL},
        {"snapshot CREATE mutate (VMI source)", "snapshot.kubevirt.io", "v1beta1",
         "VirtualMachineSnapshot", KVG_OP_CREATE, true,
         J("{\"metadata\":{\"name\":\"snap-new\",\"namespace\":\"ns-23\"},\"spec\":{\"source\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachineInstance\",\"name\":\"vm-12\"}}}"), NULL},
        {"snapshot UPDATE (status)", "snapshot.kubevirt.io", "v1beta1",
         "VirtualMachineSnapshot", KVG_OP_UPDATE, false,
         J("{\"metadata\":{\"name\":\"snap-1\",\"namespace\":\"ns-23\"},\"spec\":{\"source\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-1\"}},\"status\":{\"phase\":\"Succeeded\"}}"),
         J("{\"metadata\":{\"name\":\"snap-1\",\"namespace\":\"ns-23\"},\"spec\":{\"source\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-1\"}}}")},
        {"restore CREATE (stopped target)", "snapshot.kubevirt.io", "v1beta1",
         "VirtualMachineRestore", KVG_OP_CREATE, false,
         J("{\"metadata\":{\"name\":\"restore-new\",\"namespace\":\"ns-23\"},\"spec\":{\"target\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-1\"},"
           "\"virtualMachineSnapshotName\":\"snap-1\"}}"), NULL},
        {"restore CREATE (lvm: denied)", "snapshot.kubevirt.io", "v1beta1",
         "VirtualMachineRestore", KVG_OP_CREATE, false,
         J("{\"metadata\":{\"name\":\"restore-new\",\"namespace\":\"ns-23\"},\"spec\":{\"target\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-5\"},"
           "\"virtualMachineSnapshotName\":\"snap-5\"}}"), NULL},
        {"restore CREATE mutate (claims)", "snapshot.kubevirt.io", "v1beta1",
         "VirtualMachineRestore", KVG_OP_CREATE, true,
         J("{\"metadata\":{\"name\":\"restore-new\",\"namespace\":\"ns-23\"},\"spec\":{\"target\":"
           "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-1\"},"
           "\"virtualMachineSnapshotName\":\"snap-1\"}}"), NULL},
        {"clone CREATE (VM source)", "clone.kubevirt.io", "v1beta1",
         "VirtualMachineClone", KVG_OP_CREATE, false,
         J("{\"metadata\":{\"name\":\"clone-new\",\"namespace\":\"ns-23\"},\"spec\":{"
           "\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-1\"},"
           "\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm-1-copy\"}}}"), NULL},
        {"DataVolume CREATE (pvc clone)", "cdi.kubevirt.io", "v1beta1", "DataVolume",
         KVG_OP_CREATE, false,
         J("{\"metadata\":{\"name\":\"dv-copy\",\"namespace\":\"ns-23\"},\"spec\":{"
           "\"source\":{\"pvc\":{\"namespace\":\"ns-23\",\"name\":\"vm-1-data\"}},"
           "\"storage\":{\"storageClassName\":\"openebs-zfspv\",\"resources\":{\"requests\":{\"storage\":\"20Gi\"}}}}}"), NULL},
    };
    static const struct { const char *title; bool trees, cold; } layouts[] = {
        {"every kind as json-c trees", true, false},
        {"default (bulk kinds compact), parsed trees warm", false, false},
        {"default (bulk kinds compact), parsed trees dropped before each decision", false, true},
    };
    for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
        kvg_store *s;
        size_t total = 0;
        if (kvg_store_new(&s))
            return 1;
        for (int k = 0; layouts[l].trees && k < KVG_KIND_COUNT; k++)
            kvg_store_set_compact(s, (kvg_kind)k, false);
        fill(s);
        for (int k = 0; k < KVG_KIND_COUNT; k++)
            total += kvg_view_count(kvg_store_view(s), (kvg_kind)k);
        printf("\nkvguard policy engine, %s: %zu objects in the view, %d decisions per type\n",
               layouts[l].title, total, iters);
        printf("%-34s %-7s %9s %9s %9s\n", "request", "result", "p50 us", "p99 us", "max us");
        for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
            run(&cfg, kvg_store_view(s), &reqs[i], iters, layouts[l].cold);
        kvg_view_drop_parsed();
        kvg_store_free(s);
    }
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        json_object_put(reqs[i].obj);
        json_object_put(reqs[i].old);
    }
    return 0;
}
