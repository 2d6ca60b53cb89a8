/* Resident memory of the cluster view cache (issue 3): 2,000 VMs, 2,000 VMIs,
 * 10,000 PVCs, 10,000 PVs and 10,000 pods of realistic size (status,
 * annotations, managedFields as the apiserver returns them), loaded the way
 * the informers load them: LIST pages of 500 parsed from JSON text, each item
 * pruned with kvg_informer_prepare as it arrives (pods without a claim are
 * not kept) and added to a kvg_store_batch, committed at the end.
 *
 * Prints VmRSS before and after (and per kind), VmHWM (peak), and the JSON
 * size of the objects. A benchmark: it reports, it never fails on numbers.
 *   bench_cache_rss [scale [text|trees]]   (scale 1 = the counts; "text"
 *   also sums the kept objects' size as compact JSON, slower; "trees" keeps
 *   every kind as json-c trees, the store's layout before compact kinds) */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "kvguard/buf.h"
#include "kvguard/informer.h"
#include "kvguard/json.h"
#include "kvguard/view.h"
#include "population.h"

#define PAGE 500

typedef kvg_bench_gen_fn gen_fn;

static size_t json_bytes, pruned_bytes;

/* Size of the pruned object as compact JSON text, to compare the json-c tree
 * with a text representation. Serializes a copy: json-c caches the text in
 * the object it serializes, which would inflate the measurement. */
static void count_pruned(json_object *o)
{
    json_object *copy = NULL;
    if (json_object_deep_copy(o, &copy, NULL) == 0)
        pruned_bytes += strlen(json_object_to_json_string_ext(
            copy, JSON_C_TO_STRING_PLAIN));
    json_object_put(copy);
}

/* One kind, as an informer lists it: pages of JSON text, parsed, items
 * detached and pruned one by one, then swapped in whole. */
static bool count_text;

static void load(kvg_store *s, kvg_kind kind, gen_fn gen, int n)
{
    kvg_store_batch *r = NULL;
    kvg_buf page;
    kvg_buf_init(&page, 256u << 20);
    if (kvg_store_batch_begin(s, kind, &r) != KVG_OK)
        exit(1);
    for (int start = 0; start < n; start += PAGE) {
        kvg_buf_reset(&page);
        kvg_buf_puts(&page, "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":"
                            "\"1\"},\"items\":[");
        for (int i = start; i < n && i < start + PAGE; i++) {
            if (i > start)
                kvg_buf_puts(&page, ",");
            size_t before = page.len;
            gen(&page, i);
            json_bytes += page.len - before;
        }
        kvg_buf_puts(&page, "]}");
        json_object *list = NULL;
        kvg_diag d;
        if (kvg_json_parse(page.data, page.len, 128, &list, &d) != KVG_OK) {
            fprintf(stderr, "bench: bad JSON: %s\n", d.msg);
            exit(1);
        }
        json_object *arr = kvg_json_array(list, "items", NULL);
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            json_object *it = json_object_get(json_object_array_get_idx(arr, k));
            json_object_array_put_idx(arr, k, NULL);
            if (!kvg_informer_prepare(kind, it)) {
                json_object_put(it);
                continue;
            }
            if (count_text)
                count_pruned(it);
            if (kvg_store_batch_add(r, it) != KVG_OK) {
                fprintf(stderr, "bench: relist failed\n");
                exit(1);
            }
        }
        json_object_put(list);
    }
    kvg_buf_free(&page);
    if (kvg_store_batch_replace(r) != KVG_OK) {
        fprintf(stderr, "bench: commit failed\n");
        exit(1);
    }
    kvg_store_set_state(s, kind, KVG_KIND_SYNCED);
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    count_text = argc > 2 && strcmp(argv[2], "text") == 0;
    bool trees = argc > 2 && strcmp(argv[2], "trees") == 0;
    const kvg_bench_kind *plan = KVG_BENCH_POPULATION;
    kvg_store *s;
    if (kvg_store_new(&s) != KVG_OK)
        return 1;
    for (int k = 0; trees && k < KVG_KIND_COUNT; k++)
        kvg_store_set_compact(s, (kvg_kind)k, false);
    malloc_trim(0);
    long before = kvg_bench_status_kib(0, "VmRSS");
    printf("%-24s %8s %10s %12s %10s\n", "kind", "objects", "JSON KiB",
           "RSS +KiB", "B/object");
    long prev = before;
    int total = 0;
    for (size_t i = 0; i < KVG_BENCH_POPULATION_KINDS; i++) {
        int n = (int)(plan[i].n * scale);
        size_t jb = json_bytes;
        load(s, plan[i].kind, plan[i].gen, n);
        malloc_trim(0);
        long now = kvg_bench_status_kib(0, "VmRSS");
        printf("%-24s %8d %10zu %12ld %10.0f\n", plan[i].name, n,
               (json_bytes - jb) / 1024, now - prev,
               n ? (now - prev) * 1024.0 / n : 0.0);
        prev = now;
        total += n;
    }
    long after = kvg_bench_status_kib(0, "VmRSS");
    printf("\nobjects %d, JSON as listed %.1f MiB\n", total, json_bytes / 1048576.0);
    if (count_text)
        printf("kept objects as compact JSON text: %.1f MiB\n",
               pruned_bytes / 1048576.0);
    printf("VmRSS before %.1f MiB, after %.1f MiB (cache %.1f MiB), VmHWM %.1f MiB\n",
           before / 1024.0, after / 1024.0, (after - before) / 1024.0,
           kvg_bench_status_kib(0, "VmHWM") / 1024.0);
    kvg_store_free(s);
    return 0;
}
