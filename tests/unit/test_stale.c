/* Unit tests: staleness of the cluster view (kvg_store_touch,
 * kvg_store_set_stale_after, the reader side in store.c and view_state.c).
 * Windows are a fraction of a second; the sleeps are well past them. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvguard/view.h"
#include "testlib.h"

static kvg_store *s;
static const kvg_view *v;

static void setup(void)
{
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    v = kvg_store_view(s);
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_state(s, (kvg_kind)k, KVG_KIND_SYNCED);
}

static void teardown(void)
{
    kvg_store_free(s);
}

static bool starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(never_stale_by_default)
{
    sleep_ms(50);
    ck_assert(kvg_view_synced(v));
    ck_assert(!kvg_view_stale(v, KVG_KIND_VM, NULL));
    ck_assert_int_eq(kvg_view_state(v, KVG_KIND_VM), KVG_KIND_SYNCED);
}
END_TEST

START_TEST(stale_without_contact_then_fresh_on_touch)
{
    kvg_store_set_stale_after(s, 0.2);
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_touch(s, (kvg_kind)k);
    ck_assert(kvg_view_synced(v));
    /* every kind but VirtualMachine keeps hearing from the apiserver */
    for (int i = 0; i < 6; i++) {
        sleep_ms(100);
        for (int k = 0; k < KVG_KIND_COUNT; k++)
            if (k != KVG_KIND_VM)
                kvg_store_touch(s, (kvg_kind)k);
    }
    double age = 0;
    ck_assert(kvg_view_stale(v, KVG_KIND_VM, &age));
    ck_assert_msg(age >= 0.2 && age < 30, "age %.3f", age);
    ck_assert(!kvg_view_stale(v, KVG_KIND_PVC, NULL));
    /* every reader sees it as not synced: admission, /readyz, reconciler */
    ck_assert_int_eq(kvg_view_state(v, KVG_KIND_VM), KVG_KIND_UNSYNCED);
    ck_assert_int_eq(kvg_view_state(v, KVG_KIND_PVC), KVG_KIND_SYNCED);
    ck_assert(!kvg_view_synced(v));
    char why[800];
    kvg_view_describe_unsynced(v, why, sizeof why);
    ck_assert_msg(starts(why, "cache stale, no contact with the apiserver "
                             "since 20") &&
                  strstr(why, "s ago): VirtualMachine") &&
                  !strstr(why, "PersistentVolumeClaim"), "%s", why);
    /* contact again: fresh at once, no writer needed */
    kvg_store_touch(s, KVG_KIND_VM);
    ck_assert(!kvg_view_stale(v, KVG_KIND_VM, &age));
    ck_assert(age == 0);
    ck_assert(kvg_view_synced(v));
    kvg_view_describe_unsynced(v, why, sizeof why);
    ck_assert_str_eq(why, "");
}
END_TEST

START_TEST(a_relist_is_contact)
{
    kvg_store_set_stale_after(s, 0.1);
    sleep_ms(250);
    ck_assert(!kvg_view_synced(v));
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_state(s, (kvg_kind)k, KVG_KIND_SYNCED);
    ck_assert(kvg_view_synced(v));
}
END_TEST

START_TEST(absent_and_unlisted_kinds_are_not_stale)
{
    kvg_store_set_stale_after(s, 0.1);
    kvg_store_set_state(s, KVG_KIND_ZFSVOLUME, KVG_KIND_ABSENT);
    kvg_store_set_state(s, KVG_KIND_POD, KVG_KIND_UNSYNCED);
    sleep_ms(250);
    /* the absent kind has no cache to age; the unlisted one is reported as
     * not listed, not as stale */
    ck_assert(!kvg_view_stale(v, KVG_KIND_ZFSVOLUME, NULL));
    ck_assert_int_eq(kvg_view_state(v, KVG_KIND_ZFSVOLUME), KVG_KIND_ABSENT);
    ck_assert(!kvg_view_stale(v, KVG_KIND_POD, NULL));
    char why[800];
    kvg_view_describe_unsynced(v, why, sizeof why);
    ck_assert_msg(starts(why, "Pod; cache stale") &&
                  !strstr(why, "ZFSVolume"), "%s", why);
}
END_TEST

START_TEST(window_zero_turns_it_off)
{
    kvg_store_set_stale_after(s, 0.1);
    sleep_ms(250);
    ck_assert(!kvg_view_synced(v));
    kvg_store_set_stale_after(s, 0);
    ck_assert(kvg_view_synced(v));
}
END_TEST

START_TEST(describe_fits_small_buffers)
{
    kvg_store_set_stale_after(s, 0.1);
    sleep_ms(250);
    char small[24];
    kvg_view_describe_unsynced(v, small, sizeof small);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    kvg_view_describe_unsynced(v, small, 0); /* nothing written, no crash */
    kvg_view_describe_unsynced(NULL, small, sizeof small);
    ck_assert(!kvg_view_stale(NULL, KVG_KIND_VM, NULL));
}
END_TEST

int main(void)
{
    Suite *su = suite_create("stale");
    TCase *t = tcase_create("stale");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, never_stale_by_default);
    tcase_add_test(t, stale_without_contact_then_fresh_on_touch);
    tcase_add_test(t, a_relist_is_contact);
    tcase_add_test(t, absent_and_unlisted_kinds_are_not_stale);
    tcase_add_test(t, window_zero_turns_it_off);
    tcase_add_test(t, describe_fits_small_buffers);
    suite_add_tcase(su, t);
    return kvg_test_run(su);
}
