/* Watch stream parser: the apiserver sends one JSON object per line,
 * {"type":"ADDED","object":{...}}, in chunks cut anywhere. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kvguard/json.h"
#include "kvguard/kube.h"

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED",
                                         "BOOKMARK"};

const char *kvg_watch_type_name(kvg_watch_type t)
{
    return (unsigned)t < 4 ? type_names[t] : "UNKNOWN";
}

void kvg_watch_parser_init(kvg_watch_parser *p, size_t max_line,
                           kvg_watch_fn fn, void *ud)
{
    memset(p, 0, sizeof *p);
    p->max_line = max_line ? max_line : KVG_WATCH_MAX_LINE;
    /* +1: the buffer limit counts bytes, the line limit excludes '\n' */
    kvg_buf_init(&p->line, p->max_line + 1);
    p->fn = fn;
    p->ud = ud;
}

void kvg_watch_parser_free(kvg_watch_parser *p)
{
    if (p)
        kvg_buf_free(&p->line);
}

static kvg_err fail(kvg_watch_parser *p, kvg_err e, kvg_diag *d,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static kvg_err fail(kvg_watch_parser *p, kvg_err e, kvg_diag *d,
                    const char *fmt, ...)
{
    char msg[KVG_DIAG_MAX - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->err = e;
    return kvg_diag_set(d, e, "watch line %lu: %s", p->lineno, msg);
}

/* An ERROR event carries a Status: 410 (or reason Expired/Gone) means the
 * resourceVersion we resumed from was compacted away. */
static kvg_err error_event(kvg_watch_parser *p, const json_object *obj,
                           kvg_diag *d)
{
    const char *reason = kvg_json_str(obj, "reason", NULL);
    const char *msg = kvg_json_str(obj, "message", NULL);
    kvg_kube_status *st = &p->status;
    memset(st, 0, sizeof *st);
    st->code = (int)kvg_json_int(500, obj, "code", NULL);
    snprintf(st->reason, sizeof st->reason, "%s", reason ? reason : "");
    snprintf(st->message, sizeof st->message, "%s", msg ? msg : "");
    kvg_err e = kvg_kube_err_of_status(st->code, st->reason);
    if (e != KVG_EGONE)
        e = KVG_EAPI;
    return fail(p, e, d, "ERROR event %d %s: %s", st->code, st->reason,
                st->message[0] ? st->message : "(no message)");
}

static kvg_err parse_type(const char *s, kvg_watch_type *t)
{
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(s, type_names[i]) == 0) {
            *t = (kvg_watch_type)i;
            return KVG_OK;
        }
    return KVG_ENOTFOUND;
}

static kvg_err handle_line(kvg_watch_parser *p, const char *s, size_t n,
                           kvg_diag *d)
{
    json_object *root = NULL, *obj = NULL;
    kvg_diag jd;
    kvg_err e;
    while (n > 0 && strchr(" \t\r", s[n - 1]))
        n--;
    while (n > 0 && strchr(" \t\r", *s))
        s++, n--;
    if (n == 0)
        return KVG_OK; /* keep-alive blank lines */
    if (kvg_json_parse(s, n, 128, &root, &jd) != KVG_OK)
        return fail(p, KVG_EPARSE, d, "not a JSON event: %s", jd.msg);
    const char *type = kvg_json_str(root, "type", NULL);
    if (!type || !json_object_object_get_ex(root, "object", &obj) || !obj ||
        !json_object_is_type(obj, json_type_object)) {
        json_object_put(root);
        return fail(p, KVG_EPARSE, d, "event without a type or object");
    }
    if (strcmp(type, "ERROR") == 0) {
        e = error_event(p, obj, d);
        json_object_put(root);
        return e;
    }
    kvg_watch_event ev;
    if (parse_type(type, &ev.type) != KVG_OK) {
        e = fail(p, KVG_EPARSE, d, "unknown event type \"%.64s\"", type);
        json_object_put(root);
        return e;
    }
    ev.object = json_object_get(obj);
    json_object_put(root);
    e = p->fn ? p->fn(&ev, p->ud) : (json_object_put(ev.object), KVG_OK);
    if (e != KVG_OK)
        p->err = e;
    return e;
}

kvg_err kvg_watch_parser_feed(kvg_watch_parser *p, const char *data,
                              size_t len, kvg_diag *d)
{
    if (p->err != KVG_OK)
        return kvg_diag_set(d, p->err, "watch stream already failed");
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t seg = nl ? (size_t)(nl - data) : len;
        if (p->line.len + seg > p->max_line)
            return fail(p, KVG_ETOOBIG, d, "event exceeds %zu bytes",
                        p->max_line);
        if (!nl) {
            if (kvg_buf_append(&p->line, data, seg) != KVG_OK)
                return fail(p, KVG_ENOMEM, d, "out of memory");
            return KVG_OK;
        }
        p->lineno++;
        kvg_err e;
        if (p->line.len == 0) {
            /* whole line inside this chunk: parse in place, no copy */
            e = handle_line(p, data, seg, d);
        } else {
            if (kvg_buf_append(&p->line, data, seg) != KVG_OK)
                return fail(p, KVG_ENOMEM, d, "out of memory");
            e = handle_line(p, p->line.data, p->line.len, d);
            kvg_buf_reset(&p->line);
        }
        if (e != KVG_OK)
            return e;
        data += seg + 1;
        len -= seg + 1;
    }
    return KVG_OK;
}

kvg_err kvg_watch_parser_finish(kvg_watch_parser *p, kvg_diag *d)
{
    if (p->err != KVG_OK)
        return p->err;
    if (p->line.len == 0)
        return KVG_OK;
    /* the apiserver ends every event with '\n'; a final line without one
     * that is still a whole event is accepted, a cut one is not */
    p->lineno++;
    size_t n = p->line.len;
    kvg_err e = handle_line(p, p->line.data, n, d);
    kvg_buf_reset(&p->line);
    if (e == KVG_EPARSE)
        return fail(p, KVG_EIO, d, "stream ended inside an event");
    return e;
}
