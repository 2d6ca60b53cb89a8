/* Every input a fuzzer once crashed on (tests/fuzz/regressions/<target>/)
 * replayed through the same code as the fuzz target (the target's source is
 * compiled in here, under another name), in the normal and sanitizer builds:
 * a crash, an abort of the target's own checks or a leak fails the test. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define LLVMFuzzerTestOneInput fuzz_admit_one
#define LLVMFuzzerInitialize fuzz_admit_init
#include "../fuzz/fuzz_admit.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_files_one
#include "../fuzz/fuzz_files.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_kubeconfig_one
#include "../fuzz/fuzz_kubeconfig.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_watch_one
#include "../fuzz/fuzz_watch.c"
#undef LLVMFuzzerTestOneInput

typedef int (*one_fn)(const uint8_t *, size_t);

/* Runs every file of tests/fuzz/regressions/<target>; returns how many. */
static int replay(const char *target, one_fn fn)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/regressions/%s", KVG_SOURCE_DIR, target);
    DIR *dp = opendir(dir);
    ck_assert_msg(dp != NULL, "cannot open %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.')
            continue;
        char rel[1200];
        snprintf(rel, sizeof rel, "tests/fuzz/regressions/%s/%s", target, e->d_name);
        size_t len;
        char *data = kvg_test_read_source(rel, &len);
        fprintf(stderr, "replaying %s\n", rel);
        fn((const uint8_t *)data, len);
        free(data);
        n++;
    }
    closedir(dp);
    return n;
}

START_TEST(admit_inputs)
{
    fuzz_admit_init(NULL, NULL);
    replay("admit", fuzz_admit_one);
    kvg_store_free(store);
    store = NULL;
}
END_TEST

START_TEST(config_inputs) { replay("config", fuzz_config_one); }
END_TEST

START_TEST(files_inputs)
{
    /* the first crash found: "annotations" a string, pruned as an object */
    ck_assert_int_ge(replay("files", fuzz_files_one), 1);
}
END_TEST

START_TEST(kubeconfig_inputs) { replay("kubeconfig", fuzz_kubeconfig_one); }
END_TEST

START_TEST(watch_inputs) { replay("watch", fuzz_watch_one); }
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz_regressions");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, admit_inputs);
    tcase_add_test(tc, config_inputs);
    tcase_add_test(tc, files_inputs);
    tcase_add_test(tc, kubeconfig_inputs);
    tcase_add_test(tc, watch_inputs);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
