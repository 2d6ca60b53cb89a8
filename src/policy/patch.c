/* JSONPatch (RFC 6902) and JSON pointers (RFC 6901) on json-c objects. */
#include "policy/patch.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PTR_TOKEN_MAX 1024

kvg_err kvg_jsonptr_append(kvg_buf *b, const char *token)
{
    kvg_err e = kvg_buf_puts(b, "/");
    for (const char *p = token; e == KVG_OK && *p; p++) {
        if (*p == '~')
            e = kvg_buf_puts(b, "~0");
        else if (*p == '/')
            e = kvg_buf_puts(b, "~1");
        else
            e = kvg_buf_append(b, p, 1);
    }
    return e;
}

/* Next reference token of a pointer: *pp points at '/', on return past the
 * token. Unescaped into tok. Returns false on a bad escape or overlong token. */
static bool next_token(const char **pp, char tok[PTR_TOKEN_MAX])
{
    const char *p = *pp + 1;
    size_t n = 0;
    for (; *p && *p != '/'; p++) {
        char c = *p;
        if (c == '~') {
            if (p[1] == '0')
                c = '~';
            else if (p[1] == '1')
                c = '/';
            else
                return false;
            p++;
        }
        if (n + 1 >= PTR_TOKEN_MAX)
            return false;
        tok[n++] = c;
    }
    tok[n] = '\0';
    *pp = p;
    return true;
}

/* RFC 6901 array index: "0" or digits without a leading zero. */
static bool parse_index(const char *tok, size_t *out)
{
    if (!tok[0] || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
        return false;
    size_t v = 0;
    for (const char *p = tok; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return true;
}

static json_object *child(json_object *o, const char *tok)
{
    if (json_object_is_type(o, json_type_object)) {
        json_object *v = NULL;
        return json_object_object_get_ex(o, tok, &v) ? v : NULL;
    }
    if (json_object_is_type(o, json_type_array)) {
        size_t i;
        if (!parse_index(tok, &i) || i >= json_object_array_length(o))
            return NULL;
        return json_object_array_get_idx(o, i);
    }
    return NULL;
}

json_object *kvg_jsonptr_get(const json_object *doc, const char *ptr)
{
    json_object *cur = (json_object *)doc;
    char tok[PTR_TOKEN_MAX];
    if (!ptr || (*ptr && *ptr != '/'))
        return NULL;
    while (cur && *ptr) {
        if (!next_token(&ptr, tok))
            return NULL;
        cur = child(cur, tok);
    }
    return cur;
}

kvg_err kvg_patch_op(json_object *ops, const char *op, const char *path,
                     json_object *value)
{
    bool remove = op && !strcmp(op, "remove");
    json_object *o = json_object_new_object();
    kvg_err e;
    /* A NULL op, path or value (but for "remove"): its construction failed
     * in the caller, KVG_ENOMEM from the helpers. */
    if ((e = kvg_json_set_str(o, "op", op)) == KVG_OK &&
        (e = kvg_json_set_str(o, "path", path)) == KVG_OK && !remove) {
        e = kvg_json_set(o, "value", value);
        value = NULL;
    }
    json_object_put(value); /* not taken: an error, or given with "remove" */
    if (e == KVG_OK)
        return kvg_json_push(ops, o);
    json_object_put(o);
    return e;
}

kvg_err kvg_patch_set(json_object *ops, const json_object *obj,
                      const char *const *tokens, size_t n, json_object *value)
{
    kvg_buf path;
    if (!value)
        return KVG_ENOMEM; /* its construction failed in the caller */
    kvg_buf_init(&path, 0);
    json_object *cur = (json_object *)obj;
    kvg_err e = KVG_OK;
    size_t i = 0;
    for (; i < n; i++) {
        json_object *next = NULL;
        if (!json_object_is_type(cur, json_type_object) ||
            !json_object_object_get_ex(cur, tokens[i], &next) ||
            (i + 1 < n && !json_object_is_type(next, json_type_object)))
            break;
        if ((e = kvg_jsonptr_append(&path, tokens[i])) != KVG_OK)
            goto out;
        cur = next;
    }
    if (i == n) { /* the leaf exists */
        if (json_object_equal(cur, value))
            goto out;
        e = kvg_patch_op(ops, "replace", path.data, value);
        value = NULL;
        goto out;
    }
    /* tokens[i] is missing or not an object: add it with the rest nested. */
    bool exists = json_object_is_type(cur, json_type_object) &&
                  json_object_object_get_ex(cur, tokens[i], NULL);
    if ((e = kvg_jsonptr_append(&path, tokens[i])) != KVG_OK)
        goto out;
    for (size_t j = n; j-- > i + 1;) {
        json_object *wrap = json_object_new_object();
        e = kvg_json_set(wrap, tokens[j], value);
        value = wrap;
        if (e != KVG_OK)
            goto out;
    }
    e = kvg_patch_op(ops, exists ? "replace" : "add", path.data, value);
    value = NULL;
out:
    json_object_put(value);
    kvg_buf_free(&path);
    return e;
}

kvg_err kvg_patch_set_annotation(json_object *ops, const json_object *obj,
                                 const char *key, const char *value)
{
    const char *tokens[] = {"metadata", "annotations", key};
    return kvg_patch_set(ops, obj, tokens, 3, value ? json_object_new_string(value) : NULL);
}

/* ---- checking and applying ----------------------------------------------- */

static bool ptr_valid(const char *ptr)
{
    char tok[PTR_TOKEN_MAX];
    if (*ptr && *ptr != '/')
        return false;
    while (*ptr)
        if (!next_token(&ptr, tok))
            return false;
    return true;
}

static const char *const OPS[] = {"add", "remove", "replace", "move", "copy", "test", NULL};

kvg_err kvg_patch_check_op(const json_object *op, kvg_diag *d)
{
    if (!json_object_is_type((json_object *)op, json_type_object))
        return kvg_diag_set(d, KVG_EINVAL, "a patch operation must be a JSON object");
    const char *name = kvg_json_str(op, "op", NULL);
    if (!name)
        return kvg_diag_set(d, KVG_EINVAL, "missing string field 'op'");
    bool known = false;
    for (size_t i = 0; OPS[i]; i++)
        known |= strcmp(OPS[i], name) == 0;
    if (!known)
        return kvg_diag_set(d, KVG_EINVAL, "unknown op '%s' (want add, remove, replace, move, copy or test)", name);
    const char *path = kvg_json_str(op, "path", NULL);
    if (!path)
        return kvg_diag_set(d, KVG_EINVAL, "op '%s': missing string field 'path'", name);
    if (!ptr_valid(path))
        return kvg_diag_set(d, KVG_EINVAL, "op '%s': path '%s' is not a JSON pointer (RFC 6901)", name, path);
    bool needs_value = !strcmp(name, "add") || !strcmp(name, "replace") || !strcmp(name, "test");
    if (needs_value && !json_object_object_get_ex((json_object *)op, "value", NULL))
        return kvg_diag_set(d, KVG_EINVAL, "op '%s' on '%s': missing field 'value'", name, path);
    if (!strcmp(name, "move") || !strcmp(name, "copy")) {
        const char *from = kvg_json_str(op, "from", NULL);
        if (!from || !ptr_valid(from))
            return kvg_diag_set(d, KVG_EINVAL, "op '%s' on '%s': missing or malformed 'from'", name, path);
    }
    return KVG_OK;
}

/* Split a pointer into its parent container and last token. */
static kvg_err locate_parent(json_object *doc, const char *path, json_object **parent,
                             char last[PTR_TOKEN_MAX], kvg_diag *d)
{
    const char *slash = strrchr(path, '/');
    size_t plen = (size_t)(slash - path);
    char *ppath = strndup(path, plen);
    if (!ppath)
        return KVG_ENOMEM;
    *parent = kvg_jsonptr_get(doc, ppath);
    free(ppath);
    if (!*parent)
        return kvg_diag_set(d, KVG_EINVAL, "path '%s': parent does not exist", path);
    const char *p = slash;
    if (!next_token(&p, last))
        return kvg_diag_set(d, KVG_EINVAL, "path '%s': bad escape", path);
    return KVG_OK;
}

static kvg_err array_insert(json_object *arr, size_t idx, json_object *v)
{
    size_t len = json_object_array_length(arr);
    if (json_object_array_add(arr, NULL) != 0)
        return KVG_ENOMEM;
    for (size_t i = len; i > idx; i--) {
        json_object *prev = json_object_array_get_idx(arr, i - 1);
        json_object_array_put_idx(arr, i, json_object_get(prev));
    }
    json_object_array_put_idx(arr, idx, v);
    return KVG_OK;
}

/* add: value is taken. */
static kvg_err op_add(json_object **doc, const char *path, json_object *value, kvg_diag *d)
{
    if (!*path) {
        json_object_put(*doc);
        *doc = value;
        return KVG_OK;
    }
    json_object *parent;
    char last[PTR_TOKEN_MAX];
    kvg_err e = locate_parent(*doc, path, &parent, last, d);
    if (e != KVG_OK) {
        json_object_put(value);
        return e;
    }
    if (json_object_is_type(parent, json_type_object)) {
        /* not kvg_json_set: a NULL value is JSON null here */
        if (json_object_object_add(parent, last, value) != 0) {
            json_object_put(value);
            return KVG_ENOMEM;
        }
        return KVG_OK;
    }
    if (json_object_is_type(parent, json_type_array)) {
        size_t len = json_object_array_length(parent), idx;
        if (!strcmp(last, "-"))
            idx = len;
        else if (!parse_index(last, &idx) || idx > len) {
            json_object_put(value);
            return kvg_diag_set(d, KVG_EINVAL, "path '%s': array index out of range (length %zu)", path, len);
        }
        e = array_insert(parent, idx, value);
        if (e != KVG_OK)
            json_object_put(value);
        return e;
    }
    json_object_put(value);
    return kvg_diag_set(d, KVG_EINVAL, "path '%s': parent is neither an object nor an array", path);
}

/* remove: when out is not NULL the removed value is handed over (move). */
static kvg_err op_remove(json_object **doc, const char *path, json_object **out, kvg_diag *d)
{
    if (!*path)
        return kvg_diag_set(d, KVG_EINVAL, "cannot remove the whole document");
    json_object *parent;
    char last[PTR_TOKEN_MAX];
    kvg_err e = locate_parent(*doc, path, &parent, last, d);
    if (e != KVG_OK)
        return e;
    json_object *v = child(parent, last);
    if (!v && !(json_object_is_type(parent, json_type_object) &&
                json_object_object_get_ex(parent, last, NULL)))
        return kvg_diag_set(d, KVG_EINVAL, "path '%s' does not exist", path);
    if (out)
        *out = json_object_get(v);
    if (json_object_is_type(parent, json_type_object)) {
        json_object_object_del(parent, last);
    } else {
        size_t idx;
        parse_index(last, &idx);
        json_object_array_del_idx(parent, idx, 1);
    }
    return KVG_OK;
}

static bool exists(json_object *doc, const char *path)
{
    if (!*path)
        return true;
    if (kvg_jsonptr_get(doc, path))
        return true;
    /* a key whose value is JSON null still exists */
    json_object *parent;
    char last[PTR_TOKEN_MAX];
    if (locate_parent(doc, path, &parent, last, NULL) != KVG_OK)
        return false;
    return json_object_is_type(parent, json_type_object) &&
           json_object_object_get_ex(parent, last, NULL);
}

static kvg_err apply_one(json_object **doc, const json_object *op, kvg_diag *d)
{
    kvg_err e = kvg_patch_check_op(op, d);
    if (e != KVG_OK)
        return e;
    const char *name = kvg_json_str(op, "op", NULL);
    const char *path = kvg_json_str(op, "path", NULL);
    const char *from = kvg_json_str(op, "from", NULL);
    json_object *value = NULL, *v = kvg_json_path(op, "value", NULL);

    if (!strcmp(name, "add")) {
        if ((e = kvg_json_copy(v, &value)) != KVG_OK)
            return e;
        return op_add(doc, path, value, d);
    }
    if (!strcmp(name, "remove"))
        return op_remove(doc, path, NULL, d);
    if (!strcmp(name, "replace")) {
        if (!exists(*doc, path))
            return kvg_diag_set(d, KVG_EINVAL, "replace: path '%s' does not exist", path);
        if (*path && (e = op_remove(doc, path, NULL, d)) != KVG_OK)
            return e;
        if ((e = kvg_json_copy(v, &value)) != KVG_OK)
            return e;
        return op_add(doc, path, value, d);
    }
    if (!strcmp(name, "test")) {
        if (!exists(*doc, path))
            return kvg_diag_set(d, KVG_EINVAL, "test: path '%s' does not exist", path);
        if (!json_object_equal(kvg_jsonptr_get(*doc, path), v))
            return kvg_diag_set(d, KVG_EINVAL, "test: value at '%s' differs", path);
        return KVG_OK;
    }
    /* move / copy */
    if (!exists(*doc, from))
        return kvg_diag_set(d, KVG_EINVAL, "%s: from '%s' does not exist", name, from);
    if (!strcmp(name, "move")) {
        size_t fl = strlen(from);
        if (!strncmp(path, from, fl) && path[fl] == '/')
            return kvg_diag_set(d, KVG_EINVAL, "move: '%s' is inside '%s'", path, from);
        if (!strcmp(path, from))
            return KVG_OK;
        if ((e = op_remove(doc, from, &value, d)) != KVG_OK)
            return e;
        return op_add(doc, path, value, d);
    }
    if ((e = kvg_json_copy(kvg_jsonptr_get(*doc, from), &value)) != KVG_OK)
        return e;
    return op_add(doc, path, value, d);
}

kvg_err kvg_patch_apply(json_object **doc, const json_object *ops, kvg_diag *d)
{
    if (!doc || !json_object_is_type((json_object *)ops, json_type_array))
        return kvg_diag_set(d, KVG_EINVAL, "a JSON patch must be an array of operations");
    json_object *work = NULL;
    kvg_err e = kvg_json_copy(*doc, &work);
    if (e != KVG_OK)
        return e;
    size_t n = json_object_array_length((json_object *)ops);
    for (size_t i = 0; i < n; i++) {
        e = apply_one(&work, json_object_array_get_idx((json_object *)ops, i), d);
        if (e != KVG_OK) {
            kvg_diag_prefix(d, "operation %zu", i);
            json_object_put(work);
            return e;
        }
    }
    json_object_put(*doc);
    *doc = work;
    return KVG_OK;
}
