/* kvguard reconcile: the companion reconciler (SPEC §6, §7). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kvguard/config.h"
#include "kvguard/log.h"
#include "kvguard/reconciler.h"

static atomic_bool stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: kvguard reconcile [--config F] [--kubeconfig F [--context C]]\n"
            "                         [--metrics-listen ADDR:PORT] [--resync SECONDS]\n"
            "       kvguard reconcile --report [--cluster-state DIR]\n\n"
            "Cleans up after VirtualMachineRestores (ZFS rollback, then deletion of the\n"
            "old claims) and finishes CDI clone fallbacks. With --report (files backend)\n"
            "it prints what it would do with every restore and acts on nothing.\n");
}

typedef struct args {
    const char *metrics_listen;
    double resync_s;
    bool report, help;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--report")) {
            a->report = true;
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            a->help = true;
        } else if (!strcmp(arg, "--metrics-listen") && val) {
            a->metrics_listen = val;
            i++;
        } else if (!strcmp(arg, "--resync") && val && atof(val) > 0) {
            a->resync_s = atof(val);
            i++;
        } else {
            fprintf(stderr, "kvguard reconcile: unexpected argument '%s'\n", arg);
            return -1;
        }
    }
    return 0;
}

static int run(kvg_config *cfg, const args *a)
{
    kvg_diag d = {{0}};
    kvg_err e;
    if (a->report) {
        if (cfg->cluster_mode == KVG_CLUSTER_FILES && !cfg->cluster_state_dir &&
            !(cfg->cluster_state_dir = strdup(KVG_DEFAULT_STATE_DIR)))
            return 2;
        e = kvg_reconcile_report(cfg, stdout, &d);
    } else {
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        kvg_reconcile_opts o = {.metrics_listen = a->metrics_listen,
                                .resync_s = a->resync_s, .stop = &stop_requested};
        e = kvg_reconcile_run(cfg, &o, &d);
    }
    if (e) {
        fprintf(stderr, "kvguard reconcile: %s\n", d.msg[0] ? d.msg : kvg_strerror(e));
        return e == KVG_ECONFIG || e == KVG_EPARSE || e == KVG_ENOTFOUND ? 2 : 1;
    }
    return 0;
}

int kvg_cmd_reconcile(int argc, char **argv)
{
    kvg_config cfg;
    args a = {.metrics_listen = "0.0.0.0:8080", .resync_s = 2};
    int rc = 2;
    if (!kvg_cli_config("reconcile", &cfg, &argc, argv))
        return 2;
    if (parse_args(argc, argv, &a)) {
        usage(stderr);
    } else if (a.help) {
        usage(stdout);
        rc = 0;
    } else {
        rc = run(&cfg, &a);
    }
    kvg_config_free(&cfg);
    return rc;
}
