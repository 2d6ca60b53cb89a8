/* YAML stream -> json-c documents, with the line of every key (json.h).
 *
 * Built on libyaml's event parser. Scalars are resolved like Kubernetes'
 * YAML reader (go-yaml v2): quoted scalars are strings; plain scalars become
 * null, booleans (true/false/yes/no/on/off), integers or floats when they
 * look like one, strings otherwise. Aliases are refused: they are how
 * "billion laughs" documents blow up memory, and no manifest needs them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "kvguard/json.h"

#define YAML_MAX_DEPTH 64

typedef struct frame {
    json_object *node;  /* object or array being filled (borrowed) */
    char *key;          /* pending mapping key, owned */
    int key_line;
    size_t path_len;    /* length of this node's path in ctx.path */
    size_t index;       /* next sequence index */
} frame;

typedef struct yctx {
    const char *name;
    kvg_yaml_docs *out;
    bool want_lines;
    kvg_diag *d;
    frame stack[YAML_MAX_DEPTH];
    int depth;
    json_object *root;
    int doc_line;
    kvg_buf path;
} yctx;

static bool is_one_of(const char *v, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(v, *words))
            return true;
    return false;
}

static json_object *resolve_number(const char *v)
{
    const char *p = v + (*v == '-' || *v == '+');
    if (!*p)
        return NULL;
    char *end;
    errno = 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) {
        long long n = strtoll(p + 2, &end, p[1] == 'x' ? 16 : 8);
        if (*end || end == p + 2 || errno)
            return NULL;
        return json_object_new_int64(*v == '-' ? -n : n);
    }
    size_t i = 0, digits = 0;
    while (p[i] >= '0' && p[i] <= '9')
        i++, digits++;
    if (!p[i] && digits) {
        long long n = strtoll(v, &end, 10);
        if (!errno)
            return json_object_new_int64(n);
        return json_object_new_double(strtod(v, NULL));
    }
    /* float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    if (p[i] == '.') {
        i++;
        while (p[i] >= '0' && p[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return NULL;
    if (p[i] == 'e' || p[i] == 'E') {
        i++;
        if (p[i] == '-' || p[i] == '+')
            i++;
        size_t exp = 0;
        while (p[i] >= '0' && p[i] <= '9')
            i++, exp++;
        if (!exp)
            return NULL;
    }
    if (p[i])
        return NULL;
    double dv = strtod(v, &end);
    if (*end || !isfinite(dv))
        return NULL;
    return json_object_new_double(dv);
}

static json_object *resolve_plain(const char *v, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                        "on", "On", "ON", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no", "No",
                                         "NO", "off", "Off", "OFF", NULL};
    if (strlen(v) != len) /* embedded NUL: keep the bytes */
        return json_object_new_string_len(v, (int)len);
    if (is_one_of(v, nulls))
        return NULL;
    if (is_one_of(v, trues))
        return json_object_new_boolean(1);
    if (is_one_of(v, falses))
        return json_object_new_boolean(0);
    json_object *n = resolve_number(v);
    return n ? n : json_object_new_string_len(v, (int)len);
}

/* Returns the value; *is_null tells a resolved null from an allocation failure. */
static json_object *scalar_value(const yaml_event_t *ev, bool *is_null)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    *is_null = false;
    if (len > (size_t)INT32_MAX)
        return NULL;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    bool str_tag = tag && (!strcmp(tag, "!") || !strcmp(tag, YAML_STR_TAG));
    if (!plain || str_tag)
        return json_object_new_string_len(v, (int)len);
    json_object *r = resolve_plain(v, len);
    if (!r)
        *is_null = true;
    return r;
}

static kvg_err fail_at(yctx *c, const yaml_mark_t *m, const char *what)
{
    return kvg_diag_set(c->d, KVG_EPARSE, "%s:%zu:%zu: %s", c->name,
                        m->line + 1, m->column + 1, what);
}

/* Appends "/<segment>" to the path, escaped as a JSON pointer (~0, ~1). */
static kvg_err path_push(kvg_buf *path, const char *seg)
{
    kvg_err e = kvg_buf_append(path, "/", 1);
    for (const char *s = seg; !e && *s; s++) {
        if (*s == '~')
            e = kvg_buf_append(path, "~0", 2);
        else if (*s == '/')
            e = kvg_buf_append(path, "~1", 2);
        else
            e = kvg_buf_append(path, s, 1);
    }
    return e;
}

static void path_truncate(kvg_buf *path, size_t len)
{
    path->len = len;
    if (path->data)
        path->data[len] = '\0';
}

/* Attach v (may be NULL for a YAML null) to the current container and set
 * ctx.path to v's path. Takes ownership of v. */
static kvg_err attach(yctx *c, json_object *v, int line)
{
    if (c->depth == 0) {
        c->root = v;
        return KVG_OK;
    }
    frame *f = &c->stack[c->depth - 1];
    path_truncate(&c->path, f->path_len);
    kvg_err e;
    if (json_object_is_type(f->node, json_type_array)) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", f->index++);
        e = path_push(&c->path, idx);
        if (!e && json_object_array_add(f->node, v))
            e = KVG_ENOMEM, json_object_put(v);
    } else if (json_object_object_get_ex(f->node, f->key, NULL)) {
        /* go-yaml (kubectl) refuses these too; silently keeping one hides typos */
        kvg_diag_set(c->d, KVG_EPARSE, "%s:%d: mapping key \"%s\" already defined",
                     c->name, f->key_line, f->key);
        json_object_put(v);
        return KVG_EPARSE;
    } else {
        line = f->key_line;
        e = path_push(&c->path, f->key);
        if (!e && json_object_object_add(f->node, f->key, v))
            e = KVG_ENOMEM, json_object_put(v);
        free(f->key);
        f->key = NULL;
    }
    if (!e && c->want_lines)
        e = json_object_object_add(c->out->lines, c->path.data,
                                   json_object_new_int(line))
                ? KVG_ENOMEM
                : KVG_OK;
    return e;
}

static kvg_err on_container_start(yctx *c, const yaml_event_t *ev, bool map)
{
    if (c->depth > 0) {
        frame *f = &c->stack[c->depth - 1];
        if (json_object_is_type(f->node, json_type_object) && !f->key)
            return fail_at(c, &ev->start_mark,
                           "complex mapping keys are not supported");
    }
    if (c->depth >= YAML_MAX_DEPTH)
        return fail_at(c, &ev->start_mark, "nesting deeper than 64 levels");
    json_object *node = map ? json_object_new_object() : json_object_new_array();
    if (!node)
        return KVG_ENOMEM;
    kvg_err e = attach(c, node, (int)ev->start_mark.line + 1);
    if (e)
        return e;
    frame *f = &c->stack[c->depth++];
    memset(f, 0, sizeof *f);
    f->node = node;
    f->path_len = c->path.len;
    return KVG_OK;
}

static kvg_err on_scalar(yctx *c, const yaml_event_t *ev)
{
    frame *f = c->depth ? &c->stack[c->depth - 1] : NULL;
    if (f && json_object_is_type(f->node, json_type_object) && !f->key) {
        f->key = strndup((const char *)ev->data.scalar.value,
                         ev->data.scalar.length);
        f->key_line = (int)ev->start_mark.line + 1;
        return f->key ? KVG_OK : KVG_ENOMEM;
    }
    bool is_null;
    json_object *v = scalar_value(ev, &is_null);
    if (!v && !is_null)
        return KVG_ENOMEM;
    return attach(c, v, (int)ev->start_mark.line + 1);
}

static void stack_clear(yctx *c)
{
    for (int i = 0; i < c->depth; i++)
        free(c->stack[i].key);
    c->depth = 0;
}

static kvg_err push_doc(yctx *c)
{
    kvg_yaml_docs *o = c->out;
    kvg_yaml_doc *docs = realloc(o->docs, (o->count + 1) * sizeof *docs);
    if (!docs)
        return KVG_ENOMEM;
    o->docs = docs;
    docs[o->count].obj = c->root;
    docs[o->count].index = (int)o->count;
    docs[o->count].line = c->doc_line;
    o->count++;
    c->root = NULL;
    return KVG_OK;
}

static kvg_err on_event(yctx *c, const yaml_event_t *ev)
{
    char idx[32];
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        c->doc_line = (int)ev->start_mark.line + 1;
        kvg_buf_reset(&c->path);
        snprintf(idx, sizeof idx, "%zu", c->out->count);
        return path_push(&c->path, idx);
    case YAML_DOCUMENT_END_EVENT:
        return push_doc(c);
    case YAML_MAPPING_START_EVENT:
        return on_container_start(c, ev, true);
    case YAML_SEQUENCE_START_EVENT:
        return on_container_start(c, ev, false);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        free(c->stack[c->depth - 1].key);
        c->depth--;
        return KVG_OK;
    case YAML_SCALAR_EVENT:
        return on_scalar(c, ev);
    case YAML_ALIAS_EVENT:
        return fail_at(c, &ev->start_mark,
                       "YAML aliases (*name) are not supported");
    default:
        return KVG_OK;
    }
}

kvg_err kvg_yaml_parse_ex(const char *data, size_t len, const char *name,
                          bool want_lines, kvg_yaml_docs *out, kvg_diag *d)
{
    memset(out, 0, sizeof *out);
    yctx c = {.name = name ? name : "<input>", .out = out,
              .want_lines = want_lines, .d = d};
    kvg_buf_init(&c.path, 1 << 20);
    if (want_lines && !(out->lines = json_object_new_object()))
        return KVG_ENOMEM;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return KVG_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    kvg_err e = KVG_OK;
    for (bool done = false; !e && !done;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            char what[512];
            snprintf(what, sizeof what, "%s%s%s",
                     p.problem ? p.problem : "invalid YAML",
                     p.context ? " " : "", p.context ? p.context : "");
            e = fail_at(&c, &p.problem_mark, what);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        e = on_event(&c, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    stack_clear(&c);
    json_object_put(c.root);
    kvg_buf_free(&c.path);
    if (e) {
        if (e == KVG_ENOMEM)
            kvg_diag_set(d, e, "%s: out of memory", c.name);
        kvg_yaml_docs_free(out);
    }
    return e;
}

kvg_err kvg_yaml_parse(const char *data, size_t len, const char *name,
                       kvg_yaml_docs *out, kvg_diag *d)
{
    return kvg_yaml_parse_ex(data, len, name, true, out, d);
}

void kvg_yaml_docs_free(kvg_yaml_docs *docs)
{
    for (size_t i = 0; i < docs->count; i++)
        json_object_put(docs->docs[i].obj);
    free(docs->docs);
    json_object_put(docs->lines);
    memset(docs, 0, sizeof *docs);
}

int kvg_yaml_line(const kvg_yaml_docs *docs, const char *path)
{
    json_object *v;
    if (!docs->lines || !json_object_object_get_ex(docs->lines, path, &v))
        return 0;
    return json_object_get_int(v);
}
