/* Resident memory of a real `kvguard serve` in kube mode (issue 3): the
 * tests' fake apiserver serves the population of bench/lib (2,000 VMs,
 * 2,000 VMIs, 10,000 PVCs, PVs and Pods, as the apiserver returns them) and
 * every other kind empty; kvguard lists and watches it through its informers
 * until /readyz, then this reports the server's VmRSS and VmHWM, idle and
 * after a burst of reviews about those objects.
 *
 *   bench_informer_rss [scale]     (scale 1 = the counts)
 * A benchmark: it reports, it never fails on numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "fakeapi.h"
#include "population.h"
#include "proc.h"
#include "testlib.h"
#include "tls_client.h"

static void resource_of(kvg_kind kind, const char **group, const char **resource)
{
    const kvg_kind_info *ki = kvg_kind_info_get(kind);
    *group = ki->group;
    *resource = ki->resource;
}

static size_t serve_population(kvg_fakeapi *fa, double scale)
{
    kvg_buf b;
    size_t total = 0;
    kvg_buf_init(&b, 0);
    for (int k = 0; k < KVG_BENCH_POPULATION_KINDS; k++) {
        const kvg_bench_kind *pk = &KVG_BENCH_POPULATION[k];
        const char *group, *resource;
        resource_of(pk->kind, &group, &resource);
        int n = (int)(pk->n * scale);
        for (int i = 0; i < n; i++) {
            kvg_buf_reset(&b);
            pk->gen(&b, i);
            kvg_fakeapi_put(fa, group, resource, b.data);
        }
        total += (size_t)n;
    }
    kvg_buf_free(&b);
    return total;
}

static void write_kubeconfig(const char *dir, const kvg_fakeapi *fa)
{
    kvg_kube_config kc;
    kvg_fakeapi_config(fa, &kc);
    char *ca = strndup(kc.ca.data ? kc.ca.data : "", kc.ca.len);
    kvg_test_write_file(dir, "api-ca.crt", ca);
    free(ca);
    char text[2048];
    snprintf(text, sizeof text,
             "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
             "contexts:\n- name: t\n  context: {cluster: fake, user: u}\n"
             "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
             "    certificate-authority: %s/api-ca.crt\n"
             "users:\n- name: u\n  user: {token: test-token}\n",
             kvg_fakeapi_url(fa), dir);
    kvg_test_write_file(dir, "kubeconfig", text);
    kvg_kube_config_free(&kc);
}

/* A snapshot review of VM i (the VM, its VMI, claims, PVs and pod exist). */
static void snapshot_review(char *out, size_t len, int i)
{
    snprintf(out, len,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
             "\"request\":{\"uid\":\"00000000-0000-0000-0000-%012d\",\"kind\":{\"group\":"
             "\"snapshot.kubevirt.io\",\"version\":\"v1beta1\",\"kind\":"
             "\"VirtualMachineSnapshot\"},\"resource\":{\"group\":\"snapshot.kubevirt.io\","
             "\"version\":\"v1beta1\",\"resource\":\"virtualmachinesnapshots\"},"
             "\"name\":\"snap-%d\",\"namespace\":\"tenant-%03d\",\"operation\":\"CREATE\","
             "\"userInfo\":{\"username\":\"bench\"},\"object\":{\"apiVersion\":"
             "\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
             "\"metadata\":{\"name\":\"snap-%d\",\"namespace\":\"tenant-%03d\"},\"spec\":"
             "{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\","
             "\"name\":\"vm-%05d\"}}},\"dryRun\":false}}",
             i, i, i % 200, i, i % 200, i);
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    char *dir = kvg_test_mkdtemp();
    kvg_fakeapi *fa = kvg_fakeapi_start();
    kvg_fakeapi_serve_kinds(fa);
    size_t objects = serve_population(fa, scale);
    write_kubeconfig(dir, fa);
    if (kvg_proc_make_certs(dir, "certs") != 0)
        return 1;

    char kc[600], cert[600], key[600];
    snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
    snprintf(cert, sizeof cert, "%s/certs/tls.crt", dir);
    snprintf(key, sizeof key, "%s/certs/tls.key", dir);
    const char *args[] = {"serve", "--listen", "127.0.0.1:0", "--tls-cert", cert,
                          "--tls-key", key, "--kubeconfig", kc, NULL};
    kvg_proc p;
    double t0 = kvg_bench_now();
    if (kvg_proc_start(&p, dir, "serve", args) != 0 || kvg_proc_wait_port(&p, 30000) != 0) {
        fprintf(stderr, "bench: kvguard serve did not start\n");
        kvg_proc_dump_log(&p);
        kvg_proc_kill(&p);
        return 1;
    }
    char ca[600];
    snprintf(ca, sizeof ca, "%s/certs/ca.crt", dir);
    kvg_tc c;
    kvg_tc_init(&c, p.port, ca);
    kvg_tc_resp r = {0};
    for (;;) {
        kvg_tc_get(&c, "/readyz", &r);
        long code = r.code;
        kvg_tc_resp_free(&r);
        if (code == 200)
            break;
        if (kvg_bench_now() - t0 > 600) {
            fprintf(stderr, "bench: not ready after 600 s\n");
            kvg_proc_dump_log(&p);
            kvg_proc_kill(&p);
            return 1;
        }
        usleep(100 * 1000);
    }
    double synced = kvg_bench_now() - t0;
    sleep(1);
    long idle = kvg_bench_status_kib(p.pid, "VmRSS"), hwm_sync = kvg_bench_status_kib(p.pid, "VmHWM");

    int vms = (int)(2000 * scale), denied = 0, reviews = vms < 1000 ? vms : 1000;
    char body[2048];
    double t1 = kvg_bench_now();
    for (int i = 0; i < reviews; i++) {
        snapshot_review(body, sizeof body, i * (vms / reviews));
        kvg_tc_post_json(&c, "/validate", body, &r);
        if (r.code != 200 || !r.body || !strstr(r.body, "\"allowed\":true"))
            denied++;
        kvg_tc_resp_free(&r);
    }
    double reviewed = kvg_bench_now() - t1;
    long busy = kvg_bench_status_kib(p.pid, "VmRSS");

    printf("objects served: %zu (%.1fx the issue's counts)\n", objects, scale);
    printf("kvguard serve (kube mode): synced in %.1f s; VmRSS idle %.1f MiB "
           "(peak while listing %.1f MiB); after %d snapshot reviews of distinct VMs "
           "(%.0f us each, one keep-alive connection, %d not allowed) %.1f MiB; "
           "VmHWM %.1f MiB\n",
           synced, idle / 1024.0, hwm_sync / 1024.0, reviews, reviewed * 1e6 / reviews, denied,
           busy / 1024.0, kvg_bench_status_kib(p.pid, "VmHWM") / 1024.0);
    kvg_tc_free(&c);
    kvg_proc_signal(&p, 15);
    kvg_proc_wait_exit(&p, 30000);
    kvg_fakeapi_stop(fa);
    kvg_test_rmtree(dir);
    free(dir);
    return 0;
}
