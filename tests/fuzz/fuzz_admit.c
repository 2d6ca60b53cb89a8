/* Fuzz target: the whole review path, kvg_admit() (AdmissionReview decoder,
 * policy engine, response encoder, JSONPatch), validating and mutating,
 * against the example cluster loaded once. The first input byte picks the
 * webhook; the rest is the request body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/admission.h"
#include "kvguard/log.h"
#include "kvguard/view.h"

static kvg_store *store;
static kvg_policy_config policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    kvg_diag d = {{0}};
    kvg_log_set_level(KVG_LOG_ERROR);
    kvg_policy_config_init(&policy);
    if (kvg_files_load(KVG_SOURCE_DIR "/examples/cluster", &store, &d) != KVG_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    kvg_admit_opts opts = {.mutate = data[0] & 1, .explain = (data[0] & 2) != 0};
    kvg_buf out, explain;
    kvg_buf_init(&out, 0);
    kvg_buf_init(&explain, 0);
    opts.explain_out = opts.explain ? &explain : NULL;
    kvg_admit_result res;
    memset(&res, 0, sizeof res);
    kvg_diag d = {{0}};
    kvg_err err = kvg_admit(&policy, kvg_store_view(store), (const char *)data + 1,
                            size - 1, &opts, &out, &res, &d);
    /* Every outcome is an answer: a review, or a 400 error body. */
    if (err == KVG_OK && (res.http_status != 200 || out.len == 0))
        abort();
    if (err == KVG_EPARSE && (res.http_status != 400 || out.len == 0))
        abort();
    kvg_buf_free(&out);
    kvg_buf_free(&explain);
    return 0;
}
