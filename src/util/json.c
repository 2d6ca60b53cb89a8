/* json-c helpers, JSON parsing with limits, base64 (see kvguard/json.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kvguard/json.h"

static json_object *path_walk(const json_object *o, va_list ap)
{
    json_object *cur = (json_object *)o;
    const char *key;
    while (cur && (key = va_arg(ap, const char *)) != NULL) {
        json_object *next = NULL;
        if (!json_object_is_type(cur, json_type_object) ||
            !json_object_object_get_ex(cur, key, &next))
            return NULL;
        cur = next;
    }
    return cur;
}

json_object *kvg_json_path(const json_object *o, ...)
{
    va_list ap;
    va_start(ap, o);
    json_object *r = path_walk(o, ap);
    va_end(ap);
    return r;
}

const char *kvg_json_str(const json_object *o, ...)
{
    va_list ap;
    va_start(ap, o);
    json_object *r = path_walk(o, ap);
    va_end(ap);
    return kvg_json_as_str(r);
}

bool kvg_json_bool(bool def, const json_object *o, ...)
{
    va_list ap;
    va_start(ap, o);
    json_object *r = path_walk(o, ap);
    va_end(ap);
    return json_object_is_type(r, json_type_boolean) ? json_object_get_boolean(r)
                                                     : def;
}

int64_t kvg_json_int(int64_t def, const json_object *o, ...)
{
    va_list ap;
    va_start(ap, o);
    json_object *r = path_walk(o, ap);
    va_end(ap);
    if (json_object_is_type(r, json_type_int))
        return json_object_get_int64(r);
    if (json_object_is_type(r, json_type_double)) {
        double v = json_object_get_double(r);
        if (v >= -9.2e18 && v <= 9.2e18 && v == (double)(int64_t)v)
            return (int64_t)v;
    }
    return def;
}

json_object *kvg_json_array(const json_object *o, ...)
{
    va_list ap;
    va_start(ap, o);
    json_object *r = path_walk(o, ap);
    va_end(ap);
    return json_object_is_type(r, json_type_array) ? r : NULL;
}

const char *kvg_json_as_str(const json_object *o)
{
    return json_object_is_type(o, json_type_string)
               ? json_object_get_string((json_object *)o)
               : NULL;
}

bool kvg_json_str_eq(const json_object *o, const char *key, const char *want)
{
    const char *s = kvg_json_str(o, key, NULL);
    return s && want && !strcmp(s, want);
}

kvg_err kvg_json_set(json_object *obj, const char *key, json_object *val)
{
    if (!obj || !val || json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return KVG_ENOMEM;
    }
    return KVG_OK;
}

kvg_err kvg_json_set_str(json_object *obj, const char *key, const char *s)
{
    /* json_object_new_string(NULL) would crash in strlen */
    return kvg_json_set(obj, key, s ? json_object_new_string(s) : NULL);
}

kvg_err kvg_json_push(json_object *arr, json_object *val)
{
    if (!arr || !val || json_object_array_add(arr, val) != 0) {
        json_object_put(val);
        return KVG_ENOMEM;
    }
    return KVG_OK;
}

json_object *kvg_json_child(json_object *obj, const char *key)
{
    json_object *child = json_object_new_object();
    return kvg_json_set(obj, key, child) == KVG_OK ? child : NULL;
}

kvg_err kvg_json_copy(const json_object *src, json_object **out)
{
    *out = NULL; /* json-c refuses a non-NULL destination */
    if (!src)
        return KVG_OK;
    return json_object_deep_copy((json_object *)src, out, NULL) == 0 ? KVG_OK : KVG_ENOMEM;
}

/* Line and column of byte offset `off`, for error messages. */
static void offset_position(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

kvg_err kvg_json_parse(const char *text, size_t len, int max_depth,
                       json_object **out, kvg_diag *d)
{
    *out = NULL;
    if (len > (size_t)INT32_MAX)
        return kvg_diag_set(d, KVG_ETOOBIG, "JSON text larger than 2 GiB");
    json_tokener *tok = json_tokener_new_ex(max_depth > 0 ? max_depth : 64);
    if (!tok)
        return KVG_ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* A bare number or literal may go on: a NUL byte ends the input. */
        obj = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(obj);
            json_tokener_free(tok);
            return kvg_diag_set(d, KVG_EPARSE, "not JSON: unexpected end of input");
        }
        jerr = json_tokener_success;
    }
    json_tokener_free(tok);
    int line, col;
    if (jerr != json_tokener_success) {
        offset_position(text, used, &line, &col);
        return kvg_diag_set(d, KVG_EPARSE, "not JSON: line %d column %d: %s",
                            line, col, json_tokener_error_desc(jerr));
    }
    for (size_t i = used; i < len; i++) {
        if (!strchr(" \t\r\n", text[i])) {
            json_object_put(obj);
            offset_position(text, i, &line, &col);
            return kvg_diag_set(d, KVG_EPARSE,
                                "not JSON: line %d column %d: trailing data "
                                "after the JSON value", line, col);
        }
    }
    *out = obj;
    return KVG_OK;
}

kvg_err kvg_json_to_buf(json_object *o, kvg_buf *b)
{
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (!s)
        return KVG_ENOMEM;
    return kvg_buf_append(b, s, len);
}

kvg_err kvg_base64_encode(const void *data, size_t len, kvg_buf *out)
{
    if (len > (size_t)INT32_MAX / 2)
        return KVG_ETOOBIG;
    size_t need = 4 * ((len + 2) / 3);
    unsigned char *tmp = malloc(need + 1);
    if (!tmp)
        return KVG_ENOMEM;
    EVP_EncodeBlock(tmp, data, (int)len);
    kvg_err e = kvg_buf_append(out, tmp, need);
    free(tmp);
    return e;
}

kvg_err kvg_base64_decode(const char *text, size_t len, kvg_buf *out)
{
    /* Strip whitespace: PEM-style and line-wrapped base64 are common. */
    char *clean = malloc(len + 1);
    if (!clean)
        return KVG_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", text[i]))
            clean[n++] = text[i];
    clean[n] = '\0';
    kvg_err e = KVG_OK;
    if (n % 4 != 0 || n > (size_t)INT32_MAX) {
        e = KVG_EPARSE;
        goto done;
    }
    size_t pad = 0;
    if (n >= 1 && clean[n - 1] == '=')
        pad++;
    if (n >= 2 && clean[n - 2] == '=')
        pad++;
    unsigned char *bin = malloc(n / 4 * 3 + 1);
    if (!bin) {
        e = KVG_ENOMEM;
        goto done;
    }
    int got = EVP_DecodeBlock(bin, (unsigned char *)clean, (int)n);
    if (got < 0 || (size_t)got < pad)
        e = KVG_EPARSE;
    else
        e = kvg_buf_append(out, bin, (size_t)got - pad);
    free(bin);
done:
    free(clean);
    return e;
}
