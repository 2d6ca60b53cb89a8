/* Events and annotation patches written by the reconciler. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kvguard/json.h"
#include "kvguard/kubevirt.h"
#include "kvguard/log.h"
#include "reconciler/internal.h"

static void rfc3339_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_object *involved(const json_object *obj)
{
    json_object *io = json_object_new_object();
    const char *keys[] = {"apiVersion", "kind"};
    for (int i = 0; i < 2; i++) {
        const char *v = kvg_json_str(obj, keys[i], NULL);
        json_object_object_add(io, keys[i], json_object_new_string(v ? v : ""));
    }
    json_object_object_add(io, "name", json_object_new_string(kvg_obj_name(obj)));
    json_object_object_add(io, "namespace", json_object_new_string(kvg_obj_namespace(obj)));
    json_object_object_add(io, "uid", json_object_new_string(kvg_obj_uid(obj)));
    return io;
}

void kvg_rec_event(kvg_rec *r, const json_object *obj, bool warning,
                   const char *reason, const char *fmt, ...)
{
    char msg[1024], now[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kvg_logf_kv(warning ? KVG_LOG_WARN : KVG_LOG_INFO, "reconcile.event", NULL,
                "%s %s/%s: %s: %s", kvg_json_str(obj, "kind", NULL) ? kvg_json_str(obj, "kind", NULL) : "",
                kvg_obj_namespace(obj), kvg_obj_name(obj), reason, msg);
    if (!r->kube || r->dry_run)
        return;
    rfc3339_now(now, sizeof now);
    json_object *ev = json_object_new_object(), *meta = json_object_new_object();
    char gen[300];
    snprintf(gen, sizeof gen, "%.200s.", kvg_obj_name(obj));
    json_object_object_add(meta, "generateName", json_object_new_string(gen));
    json_object_object_add(meta, "namespace", json_object_new_string(kvg_obj_namespace(obj)));
    json_object_object_add(ev, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(ev, "kind", json_object_new_string("Event"));
    json_object_object_add(ev, "metadata", meta);
    json_object_object_add(ev, "involvedObject", involved(obj));
    json_object_object_add(ev, "reason", json_object_new_string(reason));
    json_object_object_add(ev, "message", json_object_new_string(msg));
    json_object_object_add(ev, "type", json_object_new_string(warning ? "Warning" : "Normal"));
    json_object *src = json_object_new_object();
    json_object_object_add(src, "component", json_object_new_string("kvguard-reconciler"));
    json_object_object_add(ev, "source", src);
    json_object_object_add(ev, "reportingComponent", json_object_new_string("kvguard.io/reconciler"));
    json_object_object_add(ev, "reportingInstance", json_object_new_string(r->identity));
    json_object_object_add(ev, "firstTimestamp", json_object_new_string(now));
    json_object_object_add(ev, "lastTimestamp", json_object_new_string(now));
    json_object_object_add(ev, "count", json_object_new_int(1));
    kvg_kube_resource events = {.group = "", .version = "v1", .resource = "events",
                                .namespaced = true};
    kvg_diag d;
    if (kvg_kube_create(r->kube, &events, kvg_obj_namespace(obj), ev, NULL, NULL, &d))
        kvg_logf(KVG_LOG_WARN, "reconcile.event_failed", "%s", d.msg);
    json_object_put(ev);
}

kvg_err kvg_rec_annotate(kvg_rec *r, kvg_kind k, const json_object *obj, ...)
{
    json_object *ann = json_object_new_object();
    va_list ap;
    va_start(ap, obj);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *val = va_arg(ap, const char *);
        json_object_object_add(ann, key, val ? json_object_new_string(val) : NULL);
    }
    va_end(ap);
    json_object *patch = json_object_new_object(), *meta = json_object_new_object();
    json_object_object_add(meta, "annotations", ann);
    json_object_object_add(patch, "metadata", meta);
    kvg_err e = KVG_OK;
    if (r->kube && !r->dry_run) {
        kvg_diag d;
        e = kvg_kube_patch(r->kube, &r->res[k], kvg_obj_namespace(obj), kvg_obj_name(obj),
                           NULL, KVG_PATCH_MERGE, json_object_to_json_string(patch),
                           NULL, NULL, &d);
        if (e)
            kvg_logf(KVG_LOG_WARN, "reconcile.annotate_failed", "%s", d.msg);
    }
    json_object_put(patch);
    return e;
}
