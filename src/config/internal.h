/* Shared by the config loader's files (config.c, args.c). */
#ifndef KVG_CONFIG_INTERNAL_H
#define KVG_CONFIG_INTERNAL_H

#include <stddef.h>

#include "kvguard/config.h"

/* The rollback Job needs a shell and chroot(8) to run the host's zfs. */
#define KVG_DEFAULT_ROLLBACK_IMAGE "debian:12-slim"

/* Checks "ADDR:PORT" / "[V6]:PORT"; on error writes the reason into why. */
kvg_err kvg_cfg_check_listen(const char *s, char *why, size_t n);
/* Frees a NULL-terminated string vector (NULL is fine). */
void kvg_cfg_strv_free(char **v);

#endif
