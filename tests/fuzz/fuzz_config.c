/* Fuzz target: the YAML configuration loader, kvg_config_load_text(). */
#include <stdint.h>
#include <stdlib.h>

#include "kvguard/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kvg_config c;
    if (kvg_config_init(&c) != KVG_OK)
        return 0;
    kvg_diag d = {{0}};
    kvg_err err = kvg_config_load_text(&c, (const char *)data, size, "fuzz.yaml", &d);
    if (err != KVG_OK && d.msg[0] == '\0')
        abort(); /* every refusal names what is wrong */
    kvg_config_free(&c);
    return 0;
}
