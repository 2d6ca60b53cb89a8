/* What every subcommand does first (see cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kvguard/informer.h"
#include "kvguard/log.h"

#ifndef KVG_DEFAULT_STATE_DIR
#define KVG_DEFAULT_STATE_DIR "examples/cluster"
#endif

bool kvg_cli_config(const char *cmd, kvg_config *cfg, int *argc, char **argv)
{
    kvg_diag d = {{0}};
    if (kvg_config_init(cfg)) {
        fprintf(stderr, "kvguard %s: out of memory\n", cmd);
        return false;
    }
    if (kvg_config_from_args(cfg, argc, argv, &d)) {
        fprintf(stderr, "kvguard %s: %s\n", cmd, d.msg);
        kvg_config_free(cfg);
        return false;
    }
    kvg_log_set_level(cfg->log_level);
    return true;
}

kvg_err kvg_cli_open_view(kvg_config *cfg, long sync_timeout_s, kvg_store **store,
                          kvg_informers **inf, kvg_diag *d)
{
    kvg_err e;
    if (cfg->cluster_mode == KVG_CLUSTER_FILES && !cfg->cluster_state_dir &&
        !(cfg->cluster_state_dir = strdup(KVG_DEFAULT_STATE_DIR)))
        return KVG_ENOMEM;
    if ((e = kvg_cluster_open(cfg, store, inf, d)) || !*inf)
        return e;
    return kvg_informers_wait_synced(*inf, sync_timeout_s * 1000, d);
}
