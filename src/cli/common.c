/* What every subcommand does first (see cli.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "kvguard/log.h"

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
