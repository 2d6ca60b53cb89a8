/* What the benchmarks read off the clock and /proc. */
#ifndef KVG_BENCH_MEASURE_H
#define KVG_BENCH_MEASURE_H

#include <sys/types.h>

/* CLOCK_MONOTONIC in seconds. */
double kvg_bench_now(void);
/* A KiB field of /proc/PID/status ("VmRSS", "VmHWM"); pid 0 = this
 * process. -1 when it cannot be read. */
long kvg_bench_status_kib(pid_t pid, const char *key);

#endif
