/* Benchmark: resident memory of the cluster view with the population of
 * issue 3 (2,000 VMs, 2,000 VMIs, 10,000 PVCs, PVs and Pods), as json-c trees
 * and with every kind compact (kvg_store_set_compact), plus what reading a
 * compact kind costs. Objects are the example cluster's (larry's VM, VMI,
 * claim, PV and virt-launcher pod) with a typical managedFields added, each
 * under a unique name and uid, spread over 50 namespaces.
 *
 *   bench_view_memory            both modes, each in its own child process
 *   bench_view_memory trees|compact */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "kvguard/buf.h"
#include "kvguard/json.h"
#include "kvguard/view.h"

static const char MANAGED_FIELDS[] =
    "[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
    "\"time\":\"2026-11-10T08:01:44Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":"
    "{\"f:annotations\":{\".\":{},\"f:pv.kubernetes.io/bind-completed\":{}}},\"f:spec\":"
    "{\"f:volumeName\":{}}}},{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\","
    "\"apiVersion\":\"v1\",\"time\":\"2026-11-10T08:01:44Z\",\"fieldsType\":\"FieldsV1\","
    "\"fieldsV1\":{\"f:status\":{\"f:accessModes\":{},\"f:capacity\":{\".\":{},\"f:storage\":{}},"
    "\"f:phase\":{}}},\"subresource\":\"status\"}]";

static void load(const char *rel, kvg_yaml_docs *docs)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", KVG_SOURCE_DIR, rel);
    kvg_buf b;
    kvg_diag d;
    kvg_buf_init(&b, 0);
    if (kvg_buf_read_file(&b, path, &d) || kvg_yaml_parse(b.data, b.len, path, docs, &d)) {
        fprintf(stderr, "%s\n", d.msg);
        exit(2);
    }
    kvg_buf_free(&b);
}

static json_object *find(const kvg_yaml_docs *docs, const char *kind)
{
    for (size_t i = 0; i < docs->count; i++)
        if (kvg_json_str_eq(docs->docs[i].obj, "kind", kind))
            return docs->docs[i].obj;
    fprintf(stderr, "no %s in the example\n", kind);
    exit(2);
}

static json_object *variant(const json_object *tmpl, int i, const json_object *mf)
{
    json_object *o = NULL, *m = NULL;
    json_object_deep_copy((json_object *)tmpl, &o, NULL);
    json_object_deep_copy((json_object *)mf, &m, NULL);
    json_object *meta = kvg_json_path(o, "metadata", NULL);
    char buf[64];
    snprintf(buf, sizeof buf, "obj-%06d", i);
    json_object_object_add(meta, "name", json_object_new_string(buf));
    snprintf(buf, sizeof buf, "%08x-5a1e-4c0d-9e2b-%012d", (unsigned)i, i);
    json_object_object_add(meta, "uid", json_object_new_string(buf));
    if (json_object_object_get_ex(meta, "namespace", NULL)) {
        snprintf(buf, sizeof buf, "ns-%02d", i % 50);
        json_object_object_add(meta, "namespace", json_object_new_string(buf));
    }
    json_object_object_add(meta, "managedFields", m);
    return o;
}

static int count_cb(const json_object *o, void *ud)
{
    (void)o;
    (*(size_t *)ud)++;
    return 0;
}

/* Mean cost of a lookup in its own bracket, as an admission request does:
 * over `count` distinct objects (stride 1) or the same one (stride 0). */
static double get_us(const kvg_view *v, kvg_kind kind, int count, int stride)
{
    int gets = 5000;
    double t0 = kvg_bench_now();
    for (int i = 0; i < gets; i++) {
        char name[32], ns[16];
        int k = (i * stride) % count;
        snprintf(name, sizeof name, "obj-%06d", k);
        snprintf(ns, sizeof ns, "ns-%02d", k % 50);
        kvg_view_begin(v);
        if (!kvg_view_get(v, kind, ns, name))
            abort();
        kvg_view_end(v);
    }
    return (kvg_bench_now() - t0) * 1e6 / gets;
}

static void run(bool compact)
{
    kvg_yaml_docs vm, pods;
    load("examples/cluster/vms/larry.yaml", &vm);
    load("examples/cluster/vms/pods.yaml", &pods);
    json_object *mf = json_tokener_parse(MANAGED_FIELDS);
    const struct {
        kvg_kind kind;
        json_object *tmpl;
        int n;
    } pop[] = {
        {KVG_KIND_VM, find(&vm, "VirtualMachine"), 2000},
        {KVG_KIND_VMI, find(&vm, "VirtualMachineInstance"), 2000},
        {KVG_KIND_PVC, find(&vm, "PersistentVolumeClaim"), 10000},
        {KVG_KIND_PV, find(&vm, "PersistentVolume"), 10000},
        {KVG_KIND_POD, json_object_array_get_idx(kvg_json_array(pods.docs[0].obj, "items", NULL), 0),
         10000},
    };
    kvg_store *s = NULL;
    kvg_store_new(&s);
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_compact(s, (kvg_kind)k, compact);
    malloc_trim(0);
    long base = kvg_bench_status_kib(0, "VmRSS");
    printf("%s:\n", compact ? "compact" : "trees");
    for (size_t p = 0; p < sizeof pop / sizeof pop[0]; p++) {
        long before = kvg_bench_status_kib(0, "VmRSS");
        double t0 = kvg_bench_now();
        for (int i = 0; i < pop[p].n; i++)
            kvg_store_put(s, pop[p].kind, variant(pop[p].tmpl, i, mf));
        double t1 = kvg_bench_now();
        malloc_trim(0);
        printf("  %-24s %6d: %+7.1f MiB  (%.1f us/put incl. building the object)\n",
               kvg_kind_info_get(pop[p].kind)->name, pop[p].n, (kvg_bench_status_kib(0, "VmRSS") - before) / 1024.0,
               (t1 - t0) * 1e6 / pop[p].n);
    }
    printf("  store total: %.1f MiB; process RSS %.1f MiB\n", (kvg_bench_status_kib(0, "VmRSS") - base) / 1024.0,
           kvg_bench_status_kib(0, "VmRSS") / 1024.0);

    const kvg_view *v = kvg_store_view(s);
    printf("  kvg_view_get, one per bracket: distinct PVCs %.2f us, VMs %.2f us; "
           "the same VM again %.2f us\n",
           get_us(v, KVG_KIND_PVC, 10000, 1), get_us(v, KVG_KIND_VM, 2000, 1),
           get_us(v, KVG_KIND_VM, 2000, 0));
    size_t n = 0;
    double t0 = kvg_bench_now();
    kvg_view_begin(v);
    kvg_view_each_mentioning(v, KVG_KIND_POD, "ns-07", "obj-000007", count_cb, &n);
    kvg_view_end(v);
    double t1 = kvg_bench_now();
    kvg_view_begin(v);
    kvg_view_each(v, KVG_KIND_POD, "ns-07", count_cb, &n);
    double t2 = kvg_bench_now();
    long peak = kvg_bench_status_kib(0, "VmRSS");
    kvg_view_each(v, KVG_KIND_POD, NULL, count_cb, &n);
    double t3 = kvg_bench_now();
    long peak_all = kvg_bench_status_kib(0, "VmRSS");
    kvg_view_end(v);
    printf("  scans of the Pods: of one namespace (200) for one claim "
           "(kvg_view_each_mentioning) %.3f ms, every one of the namespace %.2f ms, "
           "all 10,000 %.1f ms (RSS during that bracket +%.1f MiB)\n",
           (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, (peak_all - peak) / 1024.0);
    kvg_store_free(s);
    json_object_put(mf);
    kvg_yaml_docs_free(&vm);
    kvg_yaml_docs_free(&pods);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        run(!strcmp(argv[1], "compact"));
        return 0;
    }
    for (int mode = 0; mode < 2; mode++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            run(mode == 1);
            fflush(stdout);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    return 0;
}
