/* kvguard: server settings derived from the environment or the config:
 * the default worker count and the TLS priority string.
 *
 * Workers follow the cgroup CPU quota: a pod limited to 2 CPUs on a 64-core node must not run 64 threads that the
 * CFS quota then throttles (Go's automaxprocs and the JVM do the same). */
#include "kvguard/server.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* TLS 1.3 first, 1.2 allowed; AEAD ciphers with ECDHE only. */
static const char prio_tls12[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
    "%SERVER_PRECEDENCE";
static const char prio_tls13[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:%SERVER_PRECEDENCE";

/* CPUs allowed by quota/period, rounded up; 0 when unlimited or unknown. */
static unsigned quota_cpus(double quota, double period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    double cpus = ceil(quota / period);
    return cpus > 4096 ? 4096 : (unsigned)cpus;
}

static unsigned cgroup_v2(const char *root)
{
    char path[512], max[32];
    double period;
    snprintf(path, sizeof path, "%s/cpu.max", root);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%31s %lf", max, &period);
    fclose(f);
    if (n != 2 || !strcmp(max, "max"))
        return 0;
    double quota;
    return sscanf(max, "%lf", &quota) == 1 ? quota_cpus(quota, period) : 0;
}

static double read_number(const char *root, const char *name)
{
    char path[512];
    double v = -1;
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lf", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static unsigned cgroup_v1(const char *root)
{
    static const char *const dirs[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", root, dirs[i]);
        double quota = read_number(dir, "cpu.cfs_quota_us");
        double period = read_number(dir, "cpu.cfs_period_us");
        if (quota != -1 || period != -1)
            return quota_cpus(quota, period);
    }
    return 0;
}

unsigned kvg_server_default_workers(const char *cgroup_root)
{
    if (!cgroup_root)
        cgroup_root = "/sys/fs/cgroup";
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cpus = online > 0 ? (unsigned)online : 1;
    unsigned quota = cgroup_v2(cgroup_root);
    if (!quota)
        quota = cgroup_v1(cgroup_root);
    if (quota && quota < cpus)
        cpus = quota;
    return cpus ? cpus : 1;
}

kvg_err kvg_server_tls_priorities(const char *min_version, const char **out,
                                  kvg_diag *d)
{
    if (!min_version || !*min_version || !strcmp(min_version, "1.2"))
        *out = prio_tls12;
    else if (!strcmp(min_version, "1.3"))
        *out = prio_tls13;
    else
        return kvg_diag_set(d, KVG_ECONFIG,
                            "tls_min_version '%s': expected \"1.2\" or \"1.3\"",
                            min_version);
    return KVG_OK;
}
