/* The config loader: defaults, every key, every refusal with its exact
 * "FILE:LINE: key 'a.b': reason", and the common command-line flags. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/config.h"
#include "testlib.h"

static kvg_config cfg;

static void setup(void)
{
    ck_assert_int_eq(kvg_config_init(&cfg), KVG_OK);
}

static void teardown(void)
{
    kvg_config_free(&cfg);
}

static kvg_err load(const char *yaml, kvg_diag *d)
{
    return kvg_config_load_text(&cfg, yaml, strlen(yaml), "t.yaml", d);
}

static void load_ok(const char *yaml)
{
    kvg_diag d = {{0}};
    ck_assert_msg(load(yaml, &d) == KVG_OK, "refused: %s", d.msg);
}

static kvg_rule_id rule(const char *name)
{
    kvg_rule_id id;
    ck_assert_int_eq(kvg_rule_find(name, &id), KVG_OK);
    return id;
}

START_TEST(defaults)
{
    ck_assert_str_eq(cfg.listen, "0.0.0.0:8443");
    ck_assert_ptr_null(cfg.tls_cert);
    ck_assert_ptr_null(cfg.tls_key);
    ck_assert_str_eq(cfg.tls_min_version, "1.2");
    ck_assert_uint_eq(cfg.max_body_bytes, 7u << 20);
    ck_assert_uint_eq(cfg.workers, 0);
    ck_assert_uint_eq(cfg.idle_timeout_s, 120);
    ck_assert_uint_eq(cfg.shutdown_delay_s, 5);
    ck_assert_uint_eq(cfg.drain_timeout_s, 10);
    ck_assert_int_eq(cfg.log_level, KVG_LOG_INFO);
    ck_assert_ptr_null(cfg.audit_log);
    ck_assert_int_eq(cfg.cluster_mode, KVG_CLUSTER_FILES);
    ck_assert_ptr_null(cfg.cluster_state_dir);
    ck_assert_ptr_null(cfg.kubeconfig);
    ck_assert_uint_eq(cfg.stale_after_s, 120);
    for (int i = 0; i < KVG_RULE_COUNT; i++)
        ck_assert_int_eq(cfg.policy.actions[i], KVG_ACTION_DEFAULT);
    ck_assert_ptr_null(cfg.policy.excluded_namespaces);
    ck_assert_uint_eq(cfg.policy.n_provisioner_overrides, 0);
    ck_assert_int_eq(cfg.policy.on_unavailable, KVG_UNAVAILABLE_DENY);
    ck_assert(cfg.policy.clone_fallback_enabled);
    ck_assert(cfg.restore_cleanup);
    ck_assert(!cfg.dry_run);
    ck_assert(!cfg.start_after_restore);
    ck_assert_str_eq(cfg.rollback_image, "debian:12-slim");
    ck_assert_str_eq(cfg.rollback_namespace, "kvguard-rollback");
    ck_assert_ptr_null(cfg.zfs_snapshot_namespace);
    ck_assert_str_eq(cfg.lease_name, "kvguard-reconciler");
    ck_assert_str_eq(cfg.lease_namespace, "kvguard-system");
    ck_assert_uint_eq(cfg.lease_duration_s, 15);
    ck_assert_uint_eq(cfg.renew_deadline_s, 10);
    ck_assert_uint_eq(cfg.retry_period_s, 2);
    ck_assert(!cfg.clone_start_after);
    ck_assert_ptr_null(cfg.clone_labels);
}
END_TEST

static const char every_key[] =
    "listen: \"[::1]:9443\"\n"
    "tls:\n"
    "  certFile: /c.crt\n"
    "  keyFile: /c.key\n"
    "  minVersion: 1.3\n"
    "maxBodyBytes: 1048576\n"
    "workers: 4\n"
    "idleTimeoutSeconds: 300\n"
    "shutdownDelaySeconds: 0\n"
    "drainTimeoutSeconds: 30\n"
    "logLevel: debug\n"
    "audit: {file: /var/log/a.log, maxBytes: 0}\n"
    "cluster:\n"
    "  mode: kube\n"
    "  stateDir: /state\n"
    "  kubeconfig: /kc\n"
    "  context: prod\n"
    "  staleAfterSeconds: 300\n"
    "policy:\n"
    "  excludedNamespaces: [kube-system, \"scratch\"]\n"
    "  rules:\n"
    "    snapshot-volume-support: warn\n"
    "    snapshot-source-ref: off\n"
    "    clone-strategy: \"audit\"\n"
    "  onClusterStateUnavailable: allow\n"
    "  cloneFallback: {enabled: false}\n"
    "  capabilities:\n"
    "    provisioners:\n"
    "      local.csi.openebs.io: {snapshot: true, restore: false}\n"
    "      rancher.io/local-path: {clone: true, onlineSnapshot: false}\n"
    "    storageClasses:\n"
    "      thin: {restore: true}\n"
    "reconciler:\n"
    "  restoreCleanup: false\n"
    "  dryRun: true\n"
    "  startAfterRestore: yes\n"
    "  rollbackJob: {image: \"busybox:1\", namespace: ops}\n"
    "  zfsSnapshotNamespace: openebs\n"
    "  leaderElection:\n"
    "    leaseName: l\n"
    "    leaseNamespace: lns\n"
    "    leaseDurationSeconds: 30\n"
    "    renewDeadlineSeconds: 20\n"
    "    retryPeriodSeconds: 5\n"
    "  cloneFallback:\n"
    "    startAfterClone: true\n"
    "    labels: {team: db, kubevirt.io/os: \"linux\"}\n";

START_TEST(every_key_loads)
{
    load_ok(every_key);
    ck_assert_str_eq(cfg.listen, "[::1]:9443");
    ck_assert_str_eq(cfg.tls_cert, "/c.crt");
    ck_assert_str_eq(cfg.tls_key, "/c.key");
    ck_assert_str_eq(cfg.tls_min_version, "1.3");
    ck_assert_uint_eq(cfg.max_body_bytes, 1048576);
    ck_assert_uint_eq(cfg.workers, 4);
    ck_assert_uint_eq(cfg.idle_timeout_s, 300);
    ck_assert_uint_eq(cfg.shutdown_delay_s, 0);
    ck_assert_uint_eq(cfg.drain_timeout_s, 30);
    ck_assert_int_eq(cfg.log_level, KVG_LOG_DEBUG);
    ck_assert_str_eq(cfg.audit_log, "/var/log/a.log");
    ck_assert_uint_eq(cfg.audit_log_max_bytes, 0);
    ck_assert_int_eq(cfg.cluster_mode, KVG_CLUSTER_KUBE);
    ck_assert_str_eq(cfg.cluster_state_dir, "/state");
    ck_assert_str_eq(cfg.kubeconfig, "/kc");
    ck_assert_str_eq(cfg.kube_context, "prod");
    ck_assert_uint_eq(cfg.stale_after_s, 300);
    ck_assert_str_eq(cfg.policy.excluded_namespaces[0], "kube-system");
    ck_assert_str_eq(cfg.policy.excluded_namespaces[1], "scratch");
    ck_assert_ptr_null(cfg.policy.excluded_namespaces[2]);
    ck_assert_int_eq(cfg.policy.actions[rule("snapshot-volume-support")],
                     KVG_ACTION_WARN);
    ck_assert_int_eq(cfg.policy.actions[rule("snapshot-source-ref")],
                     KVG_ACTION_OFF);
    ck_assert_int_eq(cfg.policy.actions[rule("clone-strategy")], KVG_ACTION_AUDIT);
    ck_assert_int_eq(cfg.policy.actions[rule("snapshot-source-exists")],
                     KVG_ACTION_DEFAULT);
    ck_assert_int_eq(cfg.policy.on_unavailable, KVG_UNAVAILABLE_ALLOW);
    ck_assert(!cfg.policy.clone_fallback_enabled);
    ck_assert_uint_eq(cfg.policy.n_provisioner_overrides, 2);
    const kvg_capability *p = cfg.policy.provisioner_overrides;
    ck_assert_str_eq(p[0].provisioner, "local.csi.openebs.io");
    ck_assert_int_eq(p[0].snapshot, KVG_YES);
    ck_assert_int_eq(p[0].restore, KVG_NO);
    ck_assert_int_eq(p[0].clone, KVG_UNKNOWN);
    ck_assert_int_eq(p[0].online_snapshot, KVG_UNKNOWN);
    ck_assert_str_eq(p[1].provisioner, "rancher.io/local-path");
    ck_assert_int_eq(p[1].clone, KVG_YES);
    ck_assert_int_eq(p[1].online_snapshot, KVG_NO);
    ck_assert_uint_eq(cfg.policy.n_storageclass_overrides, 1);
    ck_assert_str_eq(cfg.policy.storageclass_overrides[0].provisioner, "thin");
    ck_assert_int_eq(cfg.policy.storageclass_overrides[0].restore, KVG_YES);
    ck_assert(!cfg.restore_cleanup);
    ck_assert(cfg.dry_run);
    ck_assert(cfg.start_after_restore);
    ck_assert_str_eq(cfg.rollback_image, "busybox:1");
    ck_assert_str_eq(cfg.rollback_namespace, "ops");
    ck_assert_str_eq(cfg.zfs_snapshot_namespace, "openebs");
    ck_assert_str_eq(cfg.lease_name, "l");
    ck_assert_str_eq(cfg.lease_namespace, "lns");
    ck_assert_uint_eq(cfg.lease_duration_s, 30);
    ck_assert_uint_eq(cfg.renew_deadline_s, 20);
    ck_assert_uint_eq(cfg.retry_period_s, 5);
    ck_assert(cfg.clone_start_after);
    ck_assert_str_eq(cfg.clone_labels[0], "team=db");
    ck_assert_str_eq(cfg.clone_labels[1], "kubevirt.io/os=linux");
    ck_assert_ptr_null(cfg.clone_labels[2]);
}
END_TEST

/* Loading twice (a second file, or the same keys again) replaces values and
 * capability entries by name instead of leaking or duplicating them. */
START_TEST(stale_after_zero_disables)
{
    load_ok("cluster:\n  staleAfterSeconds: 0\n");
    ck_assert_uint_eq(cfg.stale_after_s, 0);
}
END_TEST

START_TEST(load_twice)
{
    load_ok(every_key);
    load_ok("policy:\n  excludedNamespaces: [x]\n  capabilities:\n"
            "    provisioners:\n      local.csi.openebs.io: {clone: true}\n"
            "reconciler:\n  cloneFallback:\n    labels: {a: b}\n");
    ck_assert_str_eq(cfg.policy.excluded_namespaces[0], "x");
    ck_assert_ptr_null(cfg.policy.excluded_namespaces[1]);
    ck_assert_uint_eq(cfg.policy.n_provisioner_overrides, 2);
    ck_assert_int_eq(cfg.policy.provisioner_overrides[0].clone, KVG_YES);
    ck_assert_int_eq(cfg.policy.provisioner_overrides[0].snapshot, KVG_UNKNOWN);
    ck_assert_str_eq(cfg.clone_labels[0], "a=b");
    ck_assert_str_eq(cfg.tls_cert, "/c.crt"); /* untouched keys stay */
}
END_TEST

START_TEST(empty_and_null)
{
    load_ok("");
    load_ok("# only a comment\n");
    load_ok("---\n");
    load_ok("listen:\ntls:\npolicy:\n  rules:\n");
    ck_assert_str_eq(cfg.listen, "0.0.0.0:8443");
}
END_TEST

START_TEST(example_config_loads)
{
    char path[4096];
    kvg_diag d = {{0}};
    kvg_config def;
    snprintf(path, sizeof path, "%s/examples/config/kvguard.yaml", KVG_SOURCE_DIR);
    ck_assert_msg(kvg_config_load(&cfg, path, &d) == KVG_OK, "%s", d.msg);
    /* it documents the defaults: everything but the examples matches */
    ck_assert_int_eq(kvg_config_init(&def), KVG_OK);
    ck_assert_str_eq(cfg.listen, def.listen);
    ck_assert_uint_eq(cfg.max_body_bytes, def.max_body_bytes);
    ck_assert_uint_eq(cfg.idle_timeout_s, def.idle_timeout_s);
    ck_assert_uint_eq(cfg.stale_after_s, def.stale_after_s);
    ck_assert_uint_eq(cfg.audit_log_max_bytes, def.audit_log_max_bytes);
    ck_assert_str_eq(cfg.rollback_image, def.rollback_image);
    ck_assert_uint_eq(cfg.lease_duration_s, def.lease_duration_s);
    for (int i = 0; i < KVG_RULE_COUNT; i++) {
        const kvg_rule_info *info = kvg_rule_info_get((kvg_rule_id)i);
        if (cfg.policy.actions[i] != KVG_ACTION_DEFAULT)
            ck_assert_msg(cfg.policy.actions[i] == info->default_action,
                          "example sets %s to %s, default is %s", info->name,
                          kvg_action_name(cfg.policy.actions[i]),
                          kvg_action_name(info->default_action));
    }
    kvg_config_free(&def);
}
END_TEST

typedef struct bad_case {
    const char *yaml;
    const char *msg; /* the exact diagnostic */
} bad_case;

static const bad_case bad_cases[] = {
    {"foo: 1\n", "t.yaml:1: key 'foo': unknown key"},
    {"listen: 8443\n",
     "t.yaml:1: key 'listen': must be a string like 0.0.0.0:8443 (got int)"},
    {"listen: \"8443\"\n", "t.yaml:1: key 'listen': '8443' is not ADDR:PORT"},
    {"listen: \"0.0.0.0:70000\"\n",
     "t.yaml:1: key 'listen': '0.0.0.0:70000': port must be 0-65535"},
    {"listen: \"1.2.3.4:-1\"\n",
     "t.yaml:1: key 'listen': '1.2.3.4:-1': port must be 0-65535"},
    {"listen: \"1.2.3.4:\"\n",
     "t.yaml:1: key 'listen': '1.2.3.4:': port must be 0-65535"},
    {"listen: \"::1:8443\"\n",
     "t.yaml:1: key 'listen': '::1:8443': write an IPv6 address as [ADDR]:PORT"},
    {"tls: [1]\n", "t.yaml:1: key 'tls': must be a mapping (got array)"},
    {"tls:\n  certFile: /c\n  keyFIle: /k\n",
     "t.yaml:3: key 'tls.keyFIle': unknown key"},
    {"tls:\n  minVersion: 1.1\n",
     "t.yaml:2: key 'tls.minVersion': '1.1' is not 1.2 or 1.3"},
    {"tls:\n  minVersion: true\n",
     "t.yaml:2: key 'tls.minVersion': must be \"1.2\" or \"1.3\" (got boolean)"},
    {"tls:\n  certFile: \"\"\n", "t.yaml:2: key 'tls.certFile': must not be empty"},
    {"maxBodyBytes: -5\n",
     "t.yaml:1: key 'maxBodyBytes': must not be negative (got -5)"},
    {"maxBodyBytes: 7Mi\n",
     "t.yaml:1: key 'maxBodyBytes': must be an integer (got string)"},
    {"maxBodyBytes: 1.5\n",
     "t.yaml:1: key 'maxBodyBytes': must be an integer (got double)"},
    {"maxBodyBytes: 10\n",
     "t.yaml:1: key 'maxBodyBytes': must be between 1024 and 268435456 (got 10)"},
    {"workers: 5000\n",
     "t.yaml:1: key 'workers': must be between 0 and 1024 (got 5000)"},
    {"\n\nidleTimeoutSeconds: 60\n",
     "t.yaml:3: key 'idleTimeoutSeconds': must be between 91 and 86400 (got 60)"},
    {"shutdownDelaySeconds: -1\n",
     "t.yaml:1: key 'shutdownDelaySeconds': must not be negative (got -1)"},
    {"drainTimeoutSeconds: \"10\"\n",
     "t.yaml:1: key 'drainTimeoutSeconds': must be an integer (got string)"},
    {"logLevel: verbose\n",
     "t.yaml:1: key 'logLevel': 'verbose' is not debug, info, warn or error"},
    {"audit:\n  file: 3\n", "t.yaml:2: key 'audit.file': must be a string (got int)"},
    {"audit:\n  maxBytes: big\n",
     "t.yaml:2: key 'audit.maxBytes': must be an integer (got string)"},
    {"cluster:\n  mode: api\n", "t.yaml:2: key 'cluster.mode': 'api' is not files or kube"},
    {"cluster:\n  stateDir: [a]\n",
     "t.yaml:2: key 'cluster.stateDir': must be a string (got array)"},
    {"cluster:\n  kubeConfig: /x\n", "t.yaml:2: key 'cluster.kubeConfig': unknown key"},
    {"cluster:\n  staleAfterSeconds: -1\n",
     "t.yaml:2: key 'cluster.staleAfterSeconds': must not be negative (got -1)"},
    {"cluster:\n  staleAfterSeconds: 2m\n",
     "t.yaml:2: key 'cluster.staleAfterSeconds': must be an integer (got string)"},
    {"cluster:\n  staleAfterSeconds: 90000\n",
     "t.yaml:2: key 'cluster.staleAfterSeconds': must be between 0 and 86400 "
     "(got 90000)"},
    {"policy:\n  rules:\n    snapshot-volume-support: enforce\n    no-such-rule: warn\n",
     "t.yaml:4: key 'policy.rules.no-such-rule': unknown rule"},
    {"policy:\n  rules:\n    snapshot-volume-support: block\n",
     "t.yaml:3: key 'policy.rules.snapshot-volume-support': 'block' is not "
     "enforce, warn, audit or off"},
    {"policy:\n  rules:\n    snapshot-volume-support: true\n",
     "t.yaml:3: key 'policy.rules.snapshot-volume-support': must be enforce, "
     "warn, audit or off (got boolean)"},
    {"policy:\n  rules: [a]\n",
     "t.yaml:2: key 'policy.rules': must be a mapping of rule id to action (got array)"},
    {"policy:\n  excludedNamespaces: kube-system\n",
     "t.yaml:2: key 'policy.excludedNamespaces': must be a list of strings (got string)"},
    {"policy:\n  excludedNamespaces: [a, 1]\n",
     "t.yaml:2: key 'policy.excludedNamespaces': item 2 must be a non-empty string"},
    {"policy:\n  onClusterStateUnavailable: ignore\n",
     "t.yaml:2: key 'policy.onClusterStateUnavailable': 'ignore' is not deny or allow"},
    {"policy:\n  cloneFallback:\n    enabled: \"yes\"\n",
     "t.yaml:3: key 'policy.cloneFallback.enabled': must be true or false (got string)"},
    {"policy:\n  cloneFallback:\n    startAfterClone: true\n",
     "t.yaml:3: key 'policy.cloneFallback.startAfterClone': unknown key"},
    {"policy:\n  capabilities:\n    provisioners:\n      x.csi:\n"
     "        snapshot: yes\n        restor: true\n",
     "t.yaml:6: key 'policy.capabilities.provisioners.x.csi.restor': unknown key "
     "(snapshot, restore, clone, onlineSnapshot)"},
    {"policy:\n  capabilities:\n    storageClasses:\n      thin: {restore: 1}\n",
     "t.yaml:4: key 'policy.capabilities.storageClasses.thin.restore': must be "
     "true or false (got int)"},
    {"policy:\n  capabilities:\n    storageClasses:\n      thin: true\n",
     "t.yaml:4: key 'policy.capabilities.storageClasses.thin': must be a mapping "
     "(got boolean)"},
    {"policy:\n  capabilities:\n    drivers: {}\n",
     "t.yaml:3: key 'policy.capabilities.drivers': unknown key"},
    {"reconciler:\n  dryRun: 1\n",
     "t.yaml:2: key 'reconciler.dryRun': must be true or false (got int)"},
    {"reconciler:\n  rollbackJob:\n    image: \"\"\n",
     "t.yaml:3: key 'reconciler.rollbackJob.image': must not be empty"},
    {"reconciler:\n  leaderElection:\n    leaseDurationSeconds: 5\n",
     "t.yaml:2: key 'reconciler.leaderElection': leaseDurationSeconds (5) must "
     "be greater than renewDeadlineSeconds (10)"},
    {"reconciler:\n  leaderElection:\n    retryPeriodSeconds: 10\n",
     "t.yaml:2: key 'reconciler.leaderElection': renewDeadlineSeconds (10) must "
     "be greater than retryPeriodSeconds (10)"},
    {"reconciler:\n  leaderElection:\n    retryPeriodSeconds: 0\n",
     "t.yaml:3: key 'reconciler.leaderElection.retryPeriodSeconds': must be "
     "between 1 and 3600 (got 0)"},
    {"reconciler:\n  cloneFallback:\n    labels:\n      team: 7\n",
     "t.yaml:4: key 'reconciler.cloneFallback.labels.team': label values must "
     "be strings (got int); quote it"},
    {"reconciler:\n  cloneFallback:\n    labels: [a=b]\n",
     "t.yaml:3: key 'reconciler.cloneFallback.labels': must be a mapping of "
     "label to value (got array)"},
    {"a: 1\n---\nb: 2\n",
     "t.yaml:2: a second YAML document: the config is one mapping"},
    {"- a\n- b\n", "t.yaml:1: the config must be a mapping of keys (got array)"},
    {"just a string\n",
     "t.yaml:1: the config must be a mapping of keys (got string)"},
};

START_TEST(refused)
{
    const bad_case *c = &bad_cases[_i];
    kvg_diag d = {{0}};
    ck_assert_msg(load(c->yaml, &d) == KVG_ECONFIG, "case %d accepted:\n%s", _i,
                  c->yaml);
    ck_assert_str_eq(d.msg, c->msg);
}
END_TEST

/* YAML syntax errors and aliases come from the loader, with file and line. */
START_TEST(refused_yaml)
{
    kvg_diag d = {{0}};
    ck_assert_int_eq(load("tls:\n  certFile: [\n", &d), KVG_ECONFIG);
    ck_assert_msg(!strncmp(d.msg, "t.yaml:", 7), "%s", d.msg);
    ck_assert_int_eq(load("a: &x 1\nlisten: *x\n", &d), KVG_ECONFIG);
    ck_assert_msg(strstr(d.msg, "t.yaml:2") && strstr(d.msg, "alias"), "%s", d.msg);
}
END_TEST

START_TEST(load_missing_file)
{
    kvg_diag d = {{0}};
    ck_assert_int_ne(kvg_config_load(&cfg, "/nonexistent/kvguard.yaml", &d), KVG_OK);
    ck_assert_msg(strstr(d.msg, "/nonexistent/kvguard.yaml"), "%s", d.msg);
}
END_TEST

/* ---- flags ------------------------------------------------------------------ */

#define ARGV(...) {__VA_ARGS__, NULL}
#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

START_TEST(flags_all)
{
    char *argv[] = ARGV("serve", "--listen", "127.0.0.1:9443", "--tls-cert=/c",
                        "pos", "--tls-key", "/k", "--cluster-state", "/s",
                        "--log-level=debug", "--other", "--context", "ctx");
    int argc = NARGS(argv);
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_config_from_args(&cfg, &argc, argv, &d) == KVG_OK, "%s", d.msg);
    ck_assert_str_eq(cfg.listen, "127.0.0.1:9443");
    ck_assert_str_eq(cfg.tls_cert, "/c");
    ck_assert_str_eq(cfg.tls_key, "/k");
    ck_assert_str_eq(cfg.cluster_state_dir, "/s");
    ck_assert_int_eq(cfg.cluster_mode, KVG_CLUSTER_FILES);
    ck_assert_int_eq(cfg.log_level, KVG_LOG_DEBUG);
    ck_assert_str_eq(cfg.kube_context, "ctx");
    /* ours removed, the command's own kept in order */
    ck_assert_int_eq(argc, 3);
    ck_assert_str_eq(argv[0], "serve");
    ck_assert_str_eq(argv[1], "pos");
    ck_assert_str_eq(argv[2], "--other");
    ck_assert_ptr_null(argv[3]);
}
END_TEST

/* Port 0 lets the kernel pick (tests of the server). */
START_TEST(flags_listen_port_0)
{
    char *argv[] = ARGV("serve", "--listen=127.0.0.1:0");
    int argc = NARGS(argv);
    ck_assert_int_eq(kvg_config_from_args(&cfg, &argc, argv, NULL), KVG_OK);
    ck_assert_str_eq(cfg.listen, "127.0.0.1:0");
}
END_TEST

START_TEST(flags_kubeconfig)
{
    char *argv[] = ARGV("review", "--kubeconfig=/kc", "-", "--", "--listen");
    int argc = NARGS(argv);
    ck_assert_int_eq(kvg_config_from_args(&cfg, &argc, argv, NULL), KVG_OK);
    ck_assert_int_eq(cfg.cluster_mode, KVG_CLUSTER_KUBE);
    ck_assert_str_eq(cfg.kubeconfig, "/kc");
    /* after "--" nothing is ours */
    ck_assert_int_eq(argc, 4);
    ck_assert_str_eq(argv[3], "--listen");
    ck_assert_str_eq(cfg.listen, "0.0.0.0:8443");
}
END_TEST

/* --config is loaded first wherever it stands; flags override the file. */
START_TEST(flags_override_config)
{
    char *dir = kvg_test_mkdtemp(), path[4096];
    kvg_test_write_file(dir, "c.yaml", "listen: \"1.2.3.4:1\"\nlogLevel: warn\n"
                                       "cluster: {mode: kube, kubeconfig: /kc}\n");
    snprintf(path, sizeof path, "--config=%s/c.yaml", dir);
    char *argv[] = ARGV("serve", "--listen", "5.6.7.8:2", path,
                        "--cluster-state", "/s");
    int argc = NARGS(argv);
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_config_from_args(&cfg, &argc, argv, &d) == KVG_OK, "%s", d.msg);
    ck_assert_str_eq(cfg.listen, "5.6.7.8:2");
    ck_assert_int_eq(cfg.log_level, KVG_LOG_WARN);
    ck_assert_int_eq(cfg.cluster_mode, KVG_CLUSTER_FILES);
    ck_assert_int_eq(argc, 1);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Relative file names in a config file start at the file's directory. */
START_TEST(paths_relative_to_config_file)
{
    char *dir = kvg_test_mkdtemp(), path[4096], want[4200];
    kvg_diag d = {{0}};
    kvg_test_write_file(dir, "etc/c.yaml",
                        "tls: {certFile: certs/tls.crt, keyFile: /abs/tls.key}\n"
                        "audit: {file: audit.log}\n"
                        "cluster: {stateDir: ../state, kubeconfig: kc, "
                        "context: not/a/path}\n");
    snprintf(path, sizeof path, "%s/etc/c.yaml", dir);
    ck_assert_msg(kvg_config_load(&cfg, path, &d) == KVG_OK, "%s", d.msg);
    snprintf(want, sizeof want, "%s/etc/certs/tls.crt", dir);
    ck_assert_str_eq(cfg.tls_cert, want);
    ck_assert_str_eq(cfg.tls_key, "/abs/tls.key");
    snprintf(want, sizeof want, "%s/etc/audit.log", dir);
    ck_assert_str_eq(cfg.audit_log, want);
    snprintf(want, sizeof want, "%s/etc/../state", dir);
    ck_assert_str_eq(cfg.cluster_state_dir, want);
    snprintf(want, sizeof want, "%s/etc/kc", dir);
    ck_assert_str_eq(cfg.kubeconfig, want);
    ck_assert_str_eq(cfg.kube_context, "not/a/path");
    /* text without a file: left as written */
    kvg_config_free(&cfg);
    kvg_config_init(&cfg);
    load_ok("tls: {certFile: certs/tls.crt}\n");
    ck_assert_str_eq(cfg.tls_cert, "certs/tls.crt");
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(flags_bad_config_file)
{
    char *dir = kvg_test_mkdtemp(), path[4096], want[4200];
    kvg_test_write_file(dir, "c.yaml", "listen: \"1.2.3.4:1\"\nlisten2: 1\n");
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    char *argv[] = ARGV("serve", "--config", path);
    int argc = NARGS(argv);
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_config_from_args(&cfg, &argc, argv, &d), KVG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: key 'listen2': unknown key", path);
    ck_assert_str_eq(d.msg, want);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

typedef struct flag_case {
    const char *a, *b, *c; /* argv[1..3], NULL-padded */
    const char *msg;
} flag_case;

static const flag_case flag_cases[] = {
    {"--listen", NULL, NULL, "flag --listen needs a value"},
    {"--listen=", NULL, NULL, "flag --listen needs a value"},
    {"--tls-cert", "--listen", "1.2.3.4:5", "flag --tls-cert needs a value"},
    {"--config", NULL, NULL, "flag --config needs a value"},
    {"--listen", "nope", NULL, "flag --listen: 'nope' is not ADDR:PORT"},
    {"--log-level", "loud", NULL,
     "flag --log-level: 'loud' is not debug, info, warn or error"},
    {"--cluster-state=/s", "--kubeconfig", "/k",
     "flags --cluster-state and --kubeconfig exclude each other: pick one "
     "cluster view"},
};

START_TEST(flags_refused)
{
    const flag_case *c = &flag_cases[_i];
    char *argv[5] = {"serve", (char *)c->a, (char *)c->b, (char *)c->c, NULL};
    int argc = c->c ? 4 : c->b ? 3 : 2;
    kvg_diag d = {{0}};
    ck_assert_int_ne(kvg_config_from_args(&cfg, &argc, argv, &d), KVG_OK);
    ck_assert_str_eq(d.msg, c->msg);
}
END_TEST

START_TEST(names)
{
    kvg_action a;
    ck_assert_int_eq(kvg_action_parse("warn", &a), KVG_OK);
    ck_assert_int_eq(a, KVG_ACTION_WARN);
    ck_assert_int_ne(kvg_action_parse("Warn", &a), KVG_OK);
    ck_assert_str_eq(kvg_action_name(KVG_ACTION_ENFORCE), "enforce");
    ck_assert_str_eq(kvg_action_name(KVG_ACTION_OFF), "off");
    ck_assert_str_eq(kvg_action_name(KVG_ACTION_DEFAULT), "default");
    ck_assert_str_eq(kvg_operation_name(KVG_OP_CONNECT), "CONNECT");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("file");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, defaults);
    tcase_add_test(t, every_key_loads);
    tcase_add_test(t, load_twice);
    tcase_add_test(t, stale_after_zero_disables);
    tcase_add_test(t, empty_and_null);
    tcase_add_test(t, example_config_loads);
    tcase_add_loop_test(t, refused, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(t, refused_yaml);
    tcase_add_test(t, load_missing_file);
    suite_add_tcase(s, t);
    t = tcase_create("flags");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, flags_all);
    tcase_add_test(t, flags_listen_port_0);
    tcase_add_test(t, flags_kubeconfig);
    tcase_add_test(t, flags_override_config);
    tcase_add_test(t, flags_bad_config_file);
    tcase_add_test(t, paths_relative_to_config_file);
    tcase_add_loop_test(t, flags_refused, 0,
                        (int)(sizeof flag_cases / sizeof flag_cases[0]));
    tcase_add_test(t, names);
    suite_add_tcase(s, t);
    return kvg_test_run(s);
}
