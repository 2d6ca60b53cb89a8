/* Helpers shared by kvguard's test programs (see testlib.h). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvguard/buf.h"
#include "testlib.h"

static void die(const char *what, const char *path)
{
    fprintf(stderr, "test helper: %s %s: %s\n", what, path, strerror(errno));
    abort();
}

char *kvg_test_read_source(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", KVG_SOURCE_DIR, rel);
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_buf_read_file(&b, path, NULL))
        die("cannot read", path);
    return kvg_buf_steal(&b, len);
}

char *kvg_test_mkdtemp(void)
{
    char tmpl[] = "/tmp/kvguard-test-XXXXXX";
    if (!mkdtemp(tmpl))
        die("mkdtemp", tmpl);
    return strdup(tmpl);
}

static void mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) && errno != EEXIST)
            die("mkdir", path);
        *p = '/';
    }
}

void kvg_test_write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mkdirs(path);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f))
        die("write", path);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

void kvg_test_rmtree(const char *dir)
{
    if (!dir || strncmp(dir, "/tmp/", 5))
        return;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int kvg_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
