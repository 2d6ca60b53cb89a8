/* Placeholder for kvg_decide_datavolume() until src/policy/datavolume.c lands (the
 * `clone` engineer's part). The commit that adds datavolume.c deletes this file.
 * Until then DataVolume requests are allowed unchecked and --explain says so:
 * nothing here pretends to check anything. */
#include "policy/internal.h"

void kvg_decide_datavolume(kvg_ctx *c)
{
    kvg_ctx_explain(c, "DataVolume rules are not built into this kvguard yet: allowed");
}
