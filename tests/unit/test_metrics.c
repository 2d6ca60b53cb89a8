/* Unit tests of the Prometheus registry (src/server/metrics.c). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/metrics.h"
#include "testlib.h"

static char *render(void)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_metrics_render(&b), KVG_OK);
    size_t n;
    char *s = kvg_buf_steal(&b, &n);
    return s ? s : strdup("");
}

static void setup(void) { kvg_metrics_reset(); }

START_TEST(counter_and_gauge_render)
{
    ck_assert_int_eq(kvg_metrics_register("t_requests_total", KVG_METRIC_COUNTER,
                                          "Requests.\nSecond line \\ here.", NULL, 0),
                     KVG_OK);
    ck_assert_int_eq(kvg_metrics_register("t_in_flight", KVG_METRIC_GAUGE, "Now.", NULL, 0),
                     KVG_OK);
    kvg_metrics_inc("t_requests_total", "code=\"200\"", 1);
    kvg_metrics_inc("t_requests_total", "code=\"200\"", 2);
    kvg_metrics_inc("t_requests_total", "code=\"404\"", 1);
    kvg_metrics_inc("t_requests_total", "code=\"404\"", -5); /* counters never go down */
    kvg_metrics_inc("t_in_flight", "", 3);
    kvg_metrics_inc("t_in_flight", "", -1);
    kvg_metrics_set("t_in_flight", "", 0.25);
    kvg_metrics_inc("t_unknown", "", 1); /* ignored, no crash */
    char *out = render();
    ck_assert_str_eq(out,
                     "# HELP t_requests_total Requests.\\nSecond line \\\\ here.\n"
                     "# TYPE t_requests_total counter\n"
                     "t_requests_total{code=\"200\"} 3\n"
                     "t_requests_total{code=\"404\"} 1\n"
                     "# HELP t_in_flight Now.\n"
                     "# TYPE t_in_flight gauge\n"
                     "t_in_flight 0.25\n");
    free(out);
}
END_TEST

START_TEST(register_validates)
{
    ck_assert_int_eq(kvg_metrics_register("bad name", KVG_METRIC_COUNTER, "", NULL, 0),
                     KVG_EINVAL);
    ck_assert_int_eq(kvg_metrics_register("9lives", KVG_METRIC_GAUGE, "", NULL, 0),
                     KVG_EINVAL);
    double unsorted[] = {1, 0.5};
    ck_assert_int_eq(kvg_metrics_register("h", KVG_METRIC_HISTOGRAM, "", unsorted, 2),
                     KVG_EINVAL);
    ck_assert_int_eq(kvg_metrics_register("h", KVG_METRIC_HISTOGRAM, "", NULL, 0),
                     KVG_EINVAL);
    ck_assert_int_eq(kvg_metrics_register("c", KVG_METRIC_COUNTER, "x", NULL, 0), KVG_OK);
    ck_assert_int_eq(kvg_metrics_register("c", KVG_METRIC_COUNTER, "x", NULL, 0), KVG_OK);
    ck_assert_int_eq(kvg_metrics_register("c", KVG_METRIC_GAUGE, "x", NULL, 0), KVG_EEXIST);
    /* wrong-type updates are ignored */
    kvg_metrics_observe("c", "", 1);
    kvg_metrics_set("c", "", 7);
    char *out = render();
    ck_assert_str_eq(out, "# HELP c x\n# TYPE c counter\n");
    free(out);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative)
{
    ck_assert_uint_eq(kvg_metrics_webhook_buckets_n, 8);
    ck_assert(kvg_metrics_webhook_buckets[0] == 0.005);
    ck_assert(kvg_metrics_webhook_buckets[7] == 25);
    ck_assert_int_eq(kvg_metrics_register("lat_seconds", KVG_METRIC_HISTOGRAM, "L.",
                                          kvg_metrics_webhook_buckets,
                                          kvg_metrics_webhook_buckets_n),
                     KVG_OK);
    kvg_metrics_observe("lat_seconds", "webhook=\"validate\"", 0.001);
    kvg_metrics_observe("lat_seconds", "webhook=\"validate\"", 0.005); /* le is inclusive */
    kvg_metrics_observe("lat_seconds", "webhook=\"validate\"", 0.3);
    kvg_metrics_observe("lat_seconds", "webhook=\"validate\"", 100);
    kvg_metrics_observe("lat_seconds", "", 2);
    char *out = render();
    ck_assert_str_eq(out,
                     "# HELP lat_seconds L.\n# TYPE lat_seconds histogram\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"0.005\"} 2\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"0.025\"} 2\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"0.1\"} 2\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"0.5\"} 3\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"1\"} 3\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"2.5\"} 3\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"10\"} 3\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"25\"} 3\n"
                     "lat_seconds_bucket{webhook=\"validate\",le=\"+Inf\"} 4\n"
                     "lat_seconds_sum{webhook=\"validate\"} 100.306\n"
                     "lat_seconds_count{webhook=\"validate\"} 4\n"
                     "lat_seconds_bucket{le=\"0.005\"} 0\n"
                     "lat_seconds_bucket{le=\"0.025\"} 0\n"
                     "lat_seconds_bucket{le=\"0.1\"} 0\n"
                     "lat_seconds_bucket{le=\"0.5\"} 0\n"
                     "lat_seconds_bucket{le=\"1\"} 0\n"
                     "lat_seconds_bucket{le=\"2.5\"} 1\n"
                     "lat_seconds_bucket{le=\"10\"} 1\n"
                     "lat_seconds_bucket{le=\"25\"} 1\n"
                     "lat_seconds_bucket{le=\"+Inf\"} 1\n"
                     "lat_seconds_sum 2\n"
                     "lat_seconds_count 1\n");
    free(out);
}
END_TEST

START_TEST(label_values_are_escaped)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_metrics_label_escape("a\"b\\c\nd", &b), KVG_OK);
    ck_assert_str_eq(b.data, "a\\\"b\\\\c\\nd");
    kvg_buf_reset(&b);
    ck_assert_int_eq(kvg_metrics_label_escape("", &b), KVG_OK);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(kvg_metrics_label_escape(NULL, &b), KVG_EINVAL);
    kvg_buf_free(&b);
}
END_TEST

START_TEST(special_values)
{
    kvg_metrics_register("g", KVG_METRIC_GAUGE, "", NULL, 0);
    kvg_metrics_set("g", "a=\"1\"", INFINITY);
    kvg_metrics_set("g", "a=\"2\"", -INFINITY);
    kvg_metrics_set("g", "a=\"3\"", 1e300);
    kvg_metrics_set("g", "a=\"4\"", 1826831717);
    char *out = render();
    ck_assert_str_eq(out, "# HELP g \n# TYPE g gauge\n"
                          "g{a=\"1\"} +Inf\ng{a=\"2\"} -Inf\ng{a=\"3\"} 1e+300\n"
                          "g{a=\"4\"} 1826831717\n");
    free(out);
}
END_TEST

#define THREADS 8
#define ITERS 20000

static void *hammer(void *arg)
{
    long id = (long)arg;
    char labels[32];
    snprintf(labels, sizeof labels, "t=\"%ld\"", id % 2);
    for (int i = 0; i < ITERS; i++) {
        kvg_metrics_inc("cc_total", labels, 1);
        kvg_metrics_inc("cc_gauge", "", 1);
        kvg_metrics_inc("cc_gauge", "", -1);
        kvg_metrics_observe("cc_seconds", labels, 0.01);
        if (i % 1000 == 0) {
            kvg_buf b;
            kvg_buf_init(&b, 0);
            kvg_metrics_render(&b);
            kvg_buf_free(&b);
        }
    }
    return NULL;
}

START_TEST(concurrent_updates_lose_nothing)
{
    kvg_metrics_register("cc_total", KVG_METRIC_COUNTER, "", NULL, 0);
    kvg_metrics_register("cc_gauge", KVG_METRIC_GAUGE, "", NULL, 0);
    kvg_metrics_register("cc_seconds", KVG_METRIC_HISTOGRAM, "",
                         kvg_metrics_webhook_buckets, kvg_metrics_webhook_buckets_n);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = render();
    char want[128];
    snprintf(want, sizeof want, "cc_total{t=\"0\"} %d\n", THREADS / 2 * ITERS);
    ck_assert_ptr_nonnull(strstr(out, want));
    snprintf(want, sizeof want, "cc_total{t=\"1\"} %d\n", THREADS / 2 * ITERS);
    ck_assert_ptr_nonnull(strstr(out, want));
    ck_assert_ptr_nonnull(strstr(out, "cc_gauge 0\n"));
    snprintf(want, sizeof want, "cc_seconds_bucket{t=\"1\",le=\"0.025\"} %d\n",
             THREADS / 2 * ITERS);
    ck_assert_ptr_nonnull(strstr(out, want));
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, setup);
    tcase_add_test(tc, counter_and_gauge_render);
    tcase_add_test(tc, register_validates);
    tcase_add_test(tc, histogram_buckets_are_cumulative);
    tcase_add_test(tc, label_values_are_escaped);
    tcase_add_test(tc, special_values);
    tcase_add_test(tc, concurrent_updates_lose_nothing);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
