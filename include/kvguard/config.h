/* kvguard: configuration (YAML file, every key optional; flags override). */
#ifndef KVGUARD_CONFIG_H
#define KVGUARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "kvguard/error.h"
#include "kvguard/log.h"
#include "kvguard/policy.h"

typedef enum kvg_cluster_mode {
    KVG_CLUSTER_FILES = 0, /* default: the shipped example state */
    KVG_CLUSTER_KUBE,
} kvg_cluster_mode;

typedef struct kvg_config {
    /* server */
    char *listen;             /* "0.0.0.0:8443" */
    char *tls_cert, *tls_key; /* PEM files */
    char *tls_min_version;    /* "1.2" (default) or "1.3" */
    size_t max_body_bytes;    /* 7 MiB */
    unsigned workers;         /* 0: the cgroup CPU quota */
    unsigned idle_timeout_s;  /* keep-alive idle timeout, > 90 (default 120) */
    unsigned shutdown_delay_s;  /* SIGTERM: keep answering, readyz false (5) */
    unsigned drain_timeout_s;   /* then drain in-flight within (10) */
    kvg_log_level log_level;
    char *audit_log;          /* NULL: stderr */
    size_t audit_log_max_bytes; /* rotation size */

    /* cluster view */
    kvg_cluster_mode cluster_mode;
    char *cluster_state_dir;  /* files mode */
    char *kubeconfig;         /* kube mode; NULL: in-cluster */
    char *kube_context;
    /* kube mode: a kind without contact with the apiserver this long is
     * stale, i.e. not synced (120; 0: never). See kvg_informers_opts. */
    unsigned stale_after_s;

    /* engine */
    kvg_policy_config policy;

    /* reconciler */
    bool restore_cleanup;     /* true */
    bool dry_run;             /* false */
    bool start_after_restore; /* false */
    char *rollback_image;     /* image with a shell and chroot */
    char *rollback_namespace; /* "kvguard-system" */
    char *zfs_snapshot_namespace; /* NULL: any namespace */
    char *lease_name, *lease_namespace;
    unsigned lease_duration_s, renew_deadline_s, retry_period_s; /* 15/10/2 */
    bool clone_start_after;   /* post-clone: start the target VM */
    char **clone_labels;      /* post-clone: "k=v", NULL-terminated */
} kvg_config;

/* Defaults (allocates the default strings). */
kvg_err kvg_config_init(kvg_config *c);
void kvg_config_free(kvg_config *c);
/* Load a YAML file over the current values. Unknown keys and wrong types are
 * refused: d says "FILE:LINE: key 'a.b': reason". */
kvg_err kvg_config_load(kvg_config *c, const char *path, kvg_diag *d);
kvg_err kvg_config_load_text(kvg_config *c, const char *text, size_t len,
                             const char *name, kvg_diag *d);

/* Command-line flags common to all commands (SPEC §2). Parses and removes the
 * recognised ones from argv (compacting it); `--config F` is loaded first,
 * then the other flags override. Unknown --flags are left for the command. */
kvg_err kvg_config_from_args(kvg_config *c, int *argc, char **argv,
                             kvg_diag *d);

#endif
