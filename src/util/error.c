/* Error codes and diagnostics (see kvguard/error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kvguard/error.h"

static const char *const err_strings[] = {
#define KVG_ERR_STR(name, s) s,
    KVG_ERRNO_MAP(KVG_ERR_STR)
#undef KVG_ERR_STR
};

static const char *const err_names[] = {
#define KVG_ERR_NAME(name, s) #name,
    KVG_ERRNO_MAP(KVG_ERR_NAME)
#undef KVG_ERR_NAME
};

const char *kvg_strerror(kvg_err err)
{
    if ((unsigned)err >= KVG_ERR_COUNT)
        return "unknown error";
    return err_strings[err];
}

const char *kvg_err_name(kvg_err err)
{
    if ((unsigned)err >= KVG_ERR_COUNT)
        return "EUNKNOWN";
    return err_names[err];
}

kvg_err kvg_diag_set(kvg_diag *d, kvg_err err, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return err;
}

void kvg_diag_prefix(kvg_diag *d, const char *fmt, ...)
{
    if (!d)
        return;
    char prefix[KVG_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* shift the old message right, keeping the tail when it no longer fits */
    size_t old = strnlen(d->msg, sizeof d->msg - 1);
    if (plen >= sizeof d->msg)
        plen = sizeof d->msg - 1;
    size_t keep = old < sizeof d->msg - 1 - plen ? old : sizeof d->msg - 1 - plen;
    memmove(d->msg + plen, d->msg, keep);
    memcpy(d->msg, prefix, plen);
    d->msg[plen + keep] = '\0';
}
