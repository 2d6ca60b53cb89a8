/* Fuzz target: the kubeconfig parser, kvg_kubeconfig_parse(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kvg_kube_config kc;
    memset(&kc, 0, sizeof kc);
    kvg_diag d = {{0}};
    kvg_err err = kvg_kubeconfig_parse((const char *)data, size, "/fuzz/kubeconfig",
                                       NULL, &kc, &d);
    if (err != KVG_OK && d.msg[0] == '\0')
        abort();
    if (err == KVG_OK)
        kvg_kube_config_free(&kc);
    return 0;
}
