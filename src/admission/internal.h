/* kvguard: shared between the files of src/admission only. */
#ifndef KVG_ADMISSION_INTERNAL_H
#define KVG_ADMISSION_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"

/* The common JSON of an AdmissionReview body (an object) straight to a
 * json-c tree identical to json-c's own parse. KVG_EUNSUPPORTED: declined
 * (anything unusual or malformed), parse it with json-c instead;
 * KVG_ENOMEM. Never a partial tree. */
kvg_err kvg_review_parse_fast(const char *body, size_t len, json_object **out);

#endif
