/* Private interface between the store and the files backend. */
#ifndef KVG_CLUSTER_STORE_PRIV_H
#define KVG_CLUSTER_STORE_PRIV_H

#include "kvguard/view.h"

/* A json object owned (and freed) by the store, for the files backend to
 * remember where each object was defined ("kind/ns/name" -> "file: document
 * N (line L)"), so that a duplicate error can name both places even across
 * several kvg_files_load_text calls. Created on first use; NULL on ENOMEM. */
json_object *kvg_store_origins(kvg_store *s);

/* Give back to the system the heap pages a load or a relist left free:
 * parsing holds a whole list (or file) as json-c trees, ~10x their text,
 * and glibc keeps what is freed mapped, so without this the process would
 * stay at the peak of its largest load. A few ms; call after loads only. */
void kvg_heap_trim(void);

#endif
