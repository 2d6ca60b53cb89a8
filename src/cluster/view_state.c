/* Why the cluster view is not synced, in words, for the admission message
 * and /readyz: both must tell an operator whether kvguard is still starting
 * (kinds not listed yet) or has lost the apiserver (stale kinds, and since
 * when), because the fixes differ. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kvguard/view.h"

typedef struct names {
    char *buf;
    size_t len, n;
} names;

static void add_name(names *l, kvg_kind kind)
{
    const kvg_kind_info *ki = kvg_kind_info_get(kind);
    if (!ki || l->n >= l->len)
        return;
    int w = snprintf(l->buf + l->n, l->len - l->n, "%s%s", l->n ? ", " : "",
                     ki->name);
    if (w > 0)
        l->n += (size_t)w < l->len - l->n ? (size_t)w : l->len - l->n - 1;
}

void kvg_view_describe_unsynced(const kvg_view *v, char *buf, size_t len)
{
    char unlisted[384] = "", stale[384] = "";
    names u = {unlisted, sizeof unlisted, 0}, s = {stale, sizeof stale, 0};
    double oldest = 0, age;
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    kvg_view_begin(v);
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        if (kvg_view_stale(v, (kvg_kind)k, &age)) {
            add_name(&s, (kvg_kind)k);
            if (age > oldest)
                oldest = age;
        } else if (kvg_view_state(v, (kvg_kind)k) == KVG_KIND_UNSYNCED) {
            add_name(&u, (kvg_kind)k);
        }
    }
    kvg_view_end(v);
    if (!s.n) {
        snprintf(buf, len, "%s", unlisted);
        return;
    }
    /* the view keeps monotonic times; people read wall-clock ones */
    time_t since = time(NULL) - (time_t)oldest;
    struct tm tm;
    char when[32] = "?";
    if (gmtime_r(&since, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(buf, len, "%s%scache stale, no contact with the apiserver since "
             "%s (%.0f s ago): %s", unlisted, u.n ? "; " : "", when, oldest,
             stale);
}
