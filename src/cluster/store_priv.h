/* Private interface between the store and the files backend. */
#ifndef KVG_CLUSTER_STORE_PRIV_H
#define KVG_CLUSTER_STORE_PRIV_H

#include "kvguard/view.h"

/* A json object owned (and freed) by the store, for the files backend to
 * remember where each object was defined ("kind/ns/name" -> "file: document
 * N (line L)"), so that a duplicate error can name both places even across
 * several kvg_files_load_text calls. Created on first use; NULL on ENOMEM. */
json_object *kvg_store_origins(kvg_store *s);

#endif
