/* loadgen: a bounded HTTPS load generator for kvguard benchmarks.
 *
 * Sends AdmissionReview bodies (cycled) to one URL at a fixed concurrency
 * with libcurl multi, over keep-alive connections (or a fresh TLS handshake
 * per request with --no-keepalive), and prints one result line:
 *   conc=16 requests=20000 errors=0 rps=12345.6 p50_us=.. p99_us=.. p999_us=.. server_cpu_us_per_req=..
 * Bounded by --requests and --seconds, whichever comes first. Loopback only. */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "kvguard/buf.h"

#define MAX_BODIES 64

typedef struct opts {
    const char *url, *cacert;
    const char *bodies[MAX_BODIES];
    size_t n_bodies;
    int concurrency;
    long requests;
    double seconds;
    bool keepalive;
    int server_pid;
} opts;

typedef struct body {
    char *data;
    size_t len;
} body;

typedef struct slot {
    CURL *easy;
    struct curl_slist *headers;
    double started;
} slot;

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static int usage(void)
{
    fprintf(stderr, "usage: loadgen --url URL --cacert F --body F [--body F...] "
                    "[--concurrency N] [--requests N] [--seconds S] "
                    "[--no-keepalive] [--server-pid PID]\n");
    return 2;
}

static int parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){.concurrency = 1, .requests = 10000, .seconds = 10, .keepalive = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-keepalive")) {
            o->keepalive = false;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--url")) o->url = v;
        else if (!strcmp(a, "--cacert")) o->cacert = v;
        else if (!strcmp(a, "--body") && o->n_bodies < MAX_BODIES) o->bodies[o->n_bodies++] = v;
        else if (!strcmp(a, "--concurrency")) o->concurrency = atoi(v);
        else if (!strcmp(a, "--requests")) o->requests = atol(v);
        else if (!strcmp(a, "--seconds")) o->seconds = atof(v);
        else if (!strcmp(a, "--server-pid")) o->server_pid = atoi(v);
        else return usage();
    }
    if (!o->url || !o->cacert || !o->n_bodies || o->concurrency < 1 ||
        o->concurrency > 1024 || o->requests < 1 || o->seconds <= 0)
        return usage();
    return 0;
}

/* utime + stime of a process in microseconds, 0 when unknown. */
static double process_cpu_us(int pid)
{
    if (pid <= 0)
        return 0;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL;
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static void setup_easy(slot *s, const opts *o, const body *b)
{
    curl_easy_reset(s->easy);
    curl_easy_setopt(s->easy, CURLOPT_URL, o->url);
    curl_easy_setopt(s->easy, CURLOPT_CAINFO, o->cacert);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, b->data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)b->len);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(s->easy, CURLOPT_FORBID_REUSE, o->keepalive ? 0L : 1L);
    curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, o->keepalive ? 0L : 1L);
    /* without keep-alive, a full handshake each time (no session resumption) */
    curl_easy_setopt(s->easy, CURLOPT_SSL_SESSIONID_CACHE, o->keepalive ? 1L : 0L);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    s->started = kvg_bench_now();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p * (double)(n - 1) + 0.5);
    return sorted[i];
}

static int load_bodies(const opts *o, body *bodies)
{
    for (size_t i = 0; i < o->n_bodies; i++) {
        kvg_buf b;
        kvg_diag d;
        kvg_buf_init(&b, 0);
        if (kvg_buf_read_file(&b, o->bodies[i], &d)) {
            fprintf(stderr, "loadgen: %s\n", d.msg);
            return 1;
        }
        bodies[i].data = kvg_buf_steal(&b, &bodies[i].len);
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    body bodies[MAX_BODIES];
    if (parse_args(argc, argv, &o) || load_bodies(&o, bodies))
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)o.concurrency);
    slot *slots = calloc((size_t)o.concurrency, sizeof *slots);
    double *lat = calloc((size_t)o.requests, sizeof *lat);
    long started = 0, done = 0, errors = 0;
    double t0 = kvg_bench_now(), cpu0 = process_cpu_us(o.server_pid);
    for (int i = 0; i < o.concurrency && started < o.requests; i++) {
        slots[i].easy = curl_easy_init();
        slots[i].headers = curl_slist_append(NULL, "Content-Type: application/json");
        setup_easy(&slots[i], &o, &bodies[started++ % (long)o.n_bodies]);
        curl_multi_add_handle(multi, slots[i].easy);
    }
    int running = 1;
    while (running && done < o.requests) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            slot *s;
            long code = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (m->data.result != CURLE_OK || code != 200)
                errors++;
            lat[done++] = kvg_bench_now() - s->started;
            curl_multi_remove_handle(multi, s->easy);
            if (started < o.requests && kvg_bench_now() - t0 < o.seconds) {
                setup_easy(s, &o, &bodies[started++ % (long)o.n_bodies]);
                curl_multi_add_handle(multi, s->easy);
                running = 1;
            }
        }
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double elapsed = kvg_bench_now() - t0, cpu = process_cpu_us(o.server_pid) - cpu0;
    qsort(lat, (size_t)done, sizeof *lat, cmp_double);
    printf("conc=%d keepalive=%d requests=%ld errors=%ld seconds=%.2f rps=%.1f "
           "p50_us=%.0f p99_us=%.0f p999_us=%.0f server_cpu_us_per_req=%.1f\n",
           o.concurrency, o.keepalive, done, errors, elapsed, (double)done / elapsed,
           pct(lat, done, 0.50) * 1e6, pct(lat, done, 0.99) * 1e6,
           pct(lat, done, 0.999) * 1e6, done && o.server_pid ? cpu / (double)done : 0.0);
    for (int i = 0; i < o.concurrency; i++) {
        if (slots[i].easy)
            curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].headers);
    }
    for (size_t i = 0; i < o.n_bodies; i++)
        free(bodies[i].data);
    free(slots);
    free(lat);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
