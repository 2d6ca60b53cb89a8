/* Private interface between the store and its per-thread cache of trees
 * parsed from compact values (parsed.c). */
#ifndef KVG_CLUSTER_PARSED_H
#define KVG_CLUSTER_PARSED_H

#include <json-c/json.h>

/* The tree of a compact stored value (a json string), parsed on this
 * thread's first use and cached: the same pointer until the thread's
 * outermost bracket ends, and possibly after. Borrowed; NULL when out of
 * memory. Call only inside a bracket (the store's read lock). */
const json_object *kvg_parsed_get(const json_object *val);
/* The thread's outermost bracket ended: trim the cache to its budget. */
void kvg_parsed_bracket_closed(void);
/* A fresh tree of a compact value, owned by the caller (NULL on ENOMEM). */
json_object *kvg_parsed_parse(const json_object *val);

#endif
