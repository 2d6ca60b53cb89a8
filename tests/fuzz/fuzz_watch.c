/* Fuzz target: the watch-stream parser, kvg_watch_parser_feed(), fed in
 * chunks whose sizes come from the input (first byte), then finished. */
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "kvguard/kube.h"

static kvg_err on_event(kvg_watch_event *ev, void *ud)
{
    (*(size_t *)ud)++;
    if (ev->type == KVG_WATCH_BOOKMARK && !ev->object)
        return KVG_OK;
    json_object_put(ev->object); /* ownership is ours */
    return KVG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1, events = 0;
    data++, size--;
    kvg_watch_parser p;
    kvg_watch_parser_init(&p, 1 << 16, on_event, &events);
    kvg_diag d = {{0}};
    kvg_err err = KVG_OK;
    for (size_t off = 0; off < size && !err; off += chunk)
        err = kvg_watch_parser_feed(&p, (const char *)data + off,
                                    size - off < chunk ? size - off : chunk, &d);
    if (!err)
        err = kvg_watch_parser_finish(&p, &d);
    kvg_watch_parser_free(&p);
    return 0;
}
