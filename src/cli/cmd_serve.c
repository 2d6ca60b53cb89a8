/* kvguard serve: the admission webhook server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "kvguard/certs.h"
#include "kvguard/config.h"
#include "kvguard/informer.h"
#include "kvguard/log.h"
#include "kvguard/server.h"
#include "kvguard/view.h"

#ifndef KVG_DEFAULT_STATE_DIR
#define KVG_DEFAULT_STATE_DIR "examples/cluster"
#endif

/* The signal handler's only way to the server. A signal that arrives while
 * the server is still starting is remembered and honoured once it runs. */
static kvg_server *volatile g_server;
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_server)
        kvg_server_request_shutdown(g_server);
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: kvguard serve [--config F] [--listen ADDR:PORT] [--tls-cert F --tls-key F]\n"
            "                     [--cluster-state DIR | --kubeconfig F] [--log-level L]\n"
            "\n"
            "Runs the admission webhook over TLS: POST /validate, POST /mutate,\n"
            "GET /healthz, /readyz, /metrics. Without --tls-cert/--tls-key, a\n"
            "throw-away CA and certificate for localhost are generated in a\n"
            "temporary directory (logged). SIGTERM: readiness false, answer for\n"
            "shutdown_delay_s, stop accepting, drain within drain_timeout_s, exit 0.\n");
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The zero-setup demo: a CA + localhost certificate in a fresh temp dir,
 * removed again at exit. */
static char g_dev_dir[] = "/tmp/kvguard-certs-XXXXXX";

static void remove_dev_certs(void)
{
    static const char *const files[] = {"ca.crt", "tls.crt", "tls.key"};
    char path[sizeof g_dev_dir + 16];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dev_dir, files[i]);
        unlink(path);
    }
    rmdir(g_dev_dir);
}

static kvg_err generate_dev_certs(kvg_config *cfg, kvg_diag *d)
{
    char *dir = g_dev_dir;
    if (!mkdtemp(dir))
        return kvg_diag_set(d, KVG_EIO, "cannot create a temporary directory");
    const char *dns[] = {"localhost"}, *ips[] = {"127.0.0.1", "::1"};
    kvg_certs_opts o = {.out_dir = dir, .dns = dns, .n_dns = 1, .ips = ips,
                        .n_ips = 2, .days = 30};
    kvg_err err = kvg_certs_generate(&o, NULL, d);
    atexit(remove_dev_certs);
    if (err)
        return err;
    free(cfg->tls_cert);
    free(cfg->tls_key);
    cfg->tls_cert = malloc(strlen(dir) + 16);
    cfg->tls_key = malloc(strlen(dir) + 16);
    if (!cfg->tls_cert || !cfg->tls_key)
        return KVG_ENOMEM;
    sprintf(cfg->tls_cert, "%s/tls.crt", dir);
    sprintf(cfg->tls_key, "%s/tls.key", dir);
    kvg_logf(KVG_LOG_WARN, "tls.generated",
             "no --tls-cert/--tls-key: serving a throw-away certificate for "
             "localhost; its CA is %s/ca.crt", dir);
    return KVG_OK;
}

/* Files: loaded now. Kube: informers start listing; /readyz stays false
 * until every kind is synced. */
static kvg_err open_view(kvg_config *cfg, kvg_store **store,
                         kvg_informers **inf, kvg_diag *d)
{
    if (cfg->cluster_mode == KVG_CLUSTER_FILES &&
        (!cfg->cluster_state_dir || !*cfg->cluster_state_dir)) {
        free(cfg->cluster_state_dir);
        if (!(cfg->cluster_state_dir = strdup(KVG_DEFAULT_STATE_DIR)))
            return KVG_ENOMEM;
    }
    kvg_err err = kvg_cluster_open(cfg, store, inf, d);
    if (err)
        return err;
    if (!*inf)
        kvg_logf(KVG_LOG_INFO, "cluster.loaded", "cluster view loaded from %s",
                 cfg->cluster_state_dir);
    return KVG_OK;
}

static int run(kvg_config *cfg)
{
    kvg_diag d = {{0}};
    kvg_store *store = NULL;
    kvg_informers *inf = NULL;
    kvg_err err = KVG_OK;
    install_signals();
    if ((!cfg->tls_cert || !*cfg->tls_cert) && (!cfg->tls_key || !*cfg->tls_key))
        err = generate_dev_certs(cfg, &d);
    if (!err)
        err = open_view(cfg, &store, &inf, &d);
    kvg_server *srv = NULL;
    if (!err)
        err = kvg_server_start(cfg, &cfg->policy, kvg_store_view(store), &srv, &d);
    if (err) {
        kvg_logf(KVG_LOG_ERROR, "server.start", "%s", d.msg[0] ? d.msg : kvg_strerror(err));
        if (store)
            kvg_cluster_close(store, inf);
        return err == KVG_ECONFIG || err == KVG_EINVAL || err == KVG_EPARSE ? 2 : 1;
    }
    g_server = srv;
    if (g_stop)
        kvg_server_request_shutdown(srv);
    kvg_server_wait(srv);
    g_server = NULL;
    kvg_server_free(srv);
    kvg_cluster_close(store, inf);
    return 0;
}

int kvg_cmd_serve(int argc, char **argv)
{
    kvg_config cfg;
    if (!kvg_cli_config("serve", &cfg, &argc, argv))
        return 2;
    int rc = 0;
    for (int i = 1; !rc && i < argc; i++) {
        if (!strcmp(argv[i], "--bench-baseline")) {
            /* hidden: a benchmark aid (bench/run.sh), see server.h */
            kvg_server_set_bench_baseline(true);
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            rc = -1;
        } else {
            fprintf(stderr, "kvguard serve: unknown argument '%s'\n\n", argv[i]);
            usage(stderr);
            rc = 2;
        }
    }
    if (!rc)
        rc = run(&cfg);
    kvg_config_free(&cfg);
    return rc < 0 ? 0 : rc;
}
