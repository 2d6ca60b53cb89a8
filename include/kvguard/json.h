/* kvguard: small json-c helpers and the YAML -> json-c loader.
 *
 * Thread-safety rule for objects that live in the cluster view: they are
 * shared by many reader threads, and json-c mutates an object when it is
 * serialized (json_object_to_json_string caches the text inside it) or when
 * json_object_get_string() is called on a non-string. So readers only use the
 * typed getters below (which check the type first) and json_object_deep_copy()
 * before serializing or modifying anything taken from the view. */
#ifndef KVGUARD_JSON_H
#define KVGUARD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"

/* Walk a path of object keys: kvg_json_path(o, "spec", "source", NULL).
 * Returns NULL when any step is missing or not an object. */
json_object *kvg_json_path(const json_object *o, ...);
/* As kvg_json_path, but the result must be a string; NULL otherwise. */
const char *kvg_json_str(const json_object *o, ...);
/* Boolean at path; `def` when missing or not a boolean. */
bool kvg_json_bool(bool def, const json_object *o, ...);
/* Integer at path (json int, or a double with integral value); `def` otherwise. */
int64_t kvg_json_int(int64_t def, const json_object *o, ...);
/* Array at path, or NULL. */
json_object *kvg_json_array(const json_object *o, ...);

/* Non-NULL string getter on an object already in hand: NULL unless string. */
const char *kvg_json_as_str(const json_object *o);
/* Same object key present and equal to a string. */
bool kvg_json_str_eq(const json_object *o, const char *key, const char *want);

/* ---- building objects -----------------------------------------------------
 * json-c constructors return NULL, and its adds -1, when memory runs out; a
 * value whose add failed still belongs to the caller. These helpers take val
 * in every case (put when the add fails) and read a NULL val or container as
 * an earlier construction that failed, so that a build is a chain with one
 * check and a failure anywhere surfaces as KVG_ENOMEM, never as a smaller
 * object:
 *     if ((e = kvg_json_set_str(o, "kind", kind)) ||
 *         (e = kvg_json_set(o, "spec", json_object_new_object())))
 *         return e;
 * (A JSON null value is added with json_object_object_add(o, key, NULL).) */

/* obj[key] = val. val is taken; NULL obj or val: KVG_ENOMEM. */
kvg_err kvg_json_set(json_object *obj, const char *key, json_object *val);
/* obj[key] = a copy of the string s; NULL s (a failed serialization): KVG_ENOMEM. */
kvg_err kvg_json_set_str(json_object *obj, const char *key, const char *s);
/* Append val to the array arr. val is taken; NULL arr or val: KVG_ENOMEM. */
kvg_err kvg_json_push(json_object *arr, json_object *val);
/* obj[key] = a new empty object, returned (borrowed from obj); NULL when obj
 * is NULL or memory runs out. */
json_object *kvg_json_child(json_object *obj, const char *key);
/* Deep copy of src into *out (a new reference, caller owns); src NULL gives
 * *out NULL and KVG_OK. The source is not modified (json-c's prototype is not
 * const), so it may be an object of the shared cluster view. */
kvg_err kvg_json_copy(const json_object *src, json_object **out);

/* Parse JSON text (exactly one value, nothing but whitespace after it).
 * max_depth 0 means 64. Errors name the line and column. */
kvg_err kvg_json_parse(const char *text, size_t len, int max_depth,
                       json_object **out, kvg_diag *d);

/* Serialize compactly into b (appends). Safe only on objects the caller owns. */
kvg_err kvg_json_to_buf(json_object *o, kvg_buf *b);

/* One YAML (or JSON, which is YAML) document. Line numbers are 1-based. */
typedef struct kvg_yaml_doc {
    json_object *obj; /* owned by the array; NULL for an empty document */
    int index;        /* 0-based document index in the stream */
    int line;         /* line where the document starts */
} kvg_yaml_doc;

typedef struct kvg_yaml_docs {
    kvg_yaml_doc *docs;
    size_t count;
    /* line of every mapping key, by JSON-pointer-like path "/0/spec/source/name"
     * (first segment is the document index). Used for config errors. */
    json_object *lines; /* object: path -> int; owned */
} kvg_yaml_docs;

/* Parse a YAML stream (multi-document). Scalars become json-c strings, ints,
 * doubles, booleans or null following YAML 1.2 core schema rules for plain
 * scalars; quoted scalars are always strings. Anchors/aliases are refused
 * (bomb protection). `name` is used in error messages: "name:LINE:COL: ...". */
kvg_err kvg_yaml_parse(const char *data, size_t len, const char *name,
                       kvg_yaml_docs *out, kvg_diag *d);
/* As kvg_yaml_parse; with want_lines false, docs.lines stays NULL (saves
 * memory when loading large cluster-state files). */
kvg_err kvg_yaml_parse_ex(const char *data, size_t len, const char *name,
                          bool want_lines, kvg_yaml_docs *out, kvg_diag *d);
void kvg_yaml_docs_free(kvg_yaml_docs *docs);
/* Line of the key at `path` ("/0/cluster/mode"), or 0 when unknown. */
int kvg_yaml_line(const kvg_yaml_docs *docs, const char *path);

/* base64 (standard alphabet, padded). */
kvg_err kvg_base64_encode(const void *data, size_t len, kvg_buf *out);
kvg_err kvg_base64_decode(const char *text, size_t len, kvg_buf *out);

#endif
