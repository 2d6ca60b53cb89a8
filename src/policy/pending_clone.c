/* Placeholder for kvg_decide_clone() until src/policy/clone.c lands (the
 * `clone` engineer's part). The commit that adds clone.c deletes this file.
 * Until then VirtualMachineClone requests are allowed unchecked and --explain says so:
 * nothing here pretends to check anything. */
#include "policy/internal.h"

void kvg_decide_clone(kvg_ctx *c)
{
    kvg_ctx_explain(c, "VirtualMachineClone rules are not built into this kvguard yet: allowed");
}
