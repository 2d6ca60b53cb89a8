/* Fuzz target: the cluster-state loader, kvg_files_load_text(), into a
 * fresh store, then one read of each kind (a loaded object must be usable). */
#include <stdint.h>
#include <stdlib.h>

#include "kvguard/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kvg_store *s = NULL;
    if (kvg_store_new(&s) != KVG_OK)
        return 0;
    kvg_diag d = {{0}};
    kvg_err err = kvg_files_load_text(s, (const char *)data, size, "fuzz.yaml", &d);
    if (err != KVG_OK && d.msg[0] == '\0')
        abort();
    const kvg_view *v = kvg_store_view(s);
    kvg_view_begin(v);
    size_t n = 0;
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        n += kvg_view_count(v, (kvg_kind)k);
    kvg_view_end(v);
    if (err != KVG_OK && n != 0)
        abort(); /* on error nothing of the stream is added */
    kvg_store_free(s);
    return 0;
}
