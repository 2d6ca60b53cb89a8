/* The generated cluster population of the cache benchmarks. */
#ifndef KVG_BENCH_POPULATION_H
#define KVG_BENCH_POPULATION_H

#include "kvguard/buf.h"
#include "kvguard/view.h"

/* Appends object number i of a kind, as JSON, to b. */
typedef void (*kvg_bench_gen_fn)(kvg_buf *b, int i);

typedef struct kvg_bench_kind {
    const char *name;
    kvg_kind kind;
    kvg_bench_gen_fn gen;
    int n; /* how many the issue asks for */
} kvg_bench_kind;

#define KVG_BENCH_POPULATION_KINDS 5
extern const kvg_bench_kind KVG_BENCH_POPULATION[KVG_BENCH_POPULATION_KINDS];

#endif
