/* kvguard: engine configuration defaults and the small enum <-> name maps the
 * config loader, the codec and the audit records share. */
#include <stdlib.h>
#include <string.h>

#include "kvguard/policy.h"

static const char *const action_names[] = {
    [KVG_ACTION_OFF] = "off",
    [KVG_ACTION_AUDIT] = "audit",
    [KVG_ACTION_WARN] = "warn",
    [KVG_ACTION_ENFORCE] = "enforce",
};

kvg_err kvg_action_parse(const char *s, kvg_action *out)
{
    if (!s || !out)
        return KVG_EINVAL;
    for (int a = KVG_ACTION_OFF; a <= KVG_ACTION_ENFORCE; a++) {
        if (!strcmp(s, action_names[a])) {
            *out = (kvg_action)a;
            return KVG_OK;
        }
    }
    return KVG_EINVAL;
}

const char *kvg_action_name(kvg_action a)
{
    if (a >= KVG_ACTION_OFF && a <= KVG_ACTION_ENFORCE)
        return action_names[a];
    return "default";
}

const char *kvg_operation_name(kvg_operation op)
{
    switch (op) {
    case KVG_OP_CREATE: return "CREATE";
    case KVG_OP_UPDATE: return "UPDATE";
    case KVG_OP_DELETE: return "DELETE";
    case KVG_OP_CONNECT: return "CONNECT";
    }
    return "UNKNOWN";
}

void kvg_policy_config_init(kvg_policy_config *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < KVG_RULE_COUNT; i++)
        c->actions[i] = KVG_ACTION_DEFAULT;
    c->on_unavailable = KVG_UNAVAILABLE_DENY;
    c->clone_fallback_enabled = true;
}

static void free_caps(kvg_capability *caps, size_t n)
{
    /* The loader strdup()s every name; the built-in table is never here. */
    for (size_t i = 0; i < n; i++)
        free((char *)caps[i].provisioner);
    free(caps);
}

void kvg_policy_config_free(kvg_policy_config *c)
{
    if (!c)
        return;
    if (c->excluded_namespaces) {
        for (char **p = c->excluded_namespaces; *p; p++)
            free(*p);
        free(c->excluded_namespaces);
    }
    free_caps(c->provisioner_overrides, c->n_provisioner_overrides);
    free_caps(c->storageclass_overrides, c->n_storageclass_overrides);
    kvg_policy_config_init(c);
}
