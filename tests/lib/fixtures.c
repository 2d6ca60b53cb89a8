/* Test helpers for directory trees (see fixtures.h). */
#include "fixtures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
    fprintf(stderr, "test fixture: %s %s: %s\n", what, path, strerror(errno));
    abort();
}

static void mkdir_p(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) && errno != EEXIST)
            die("mkdir", path);
        *p = c;
        if (!c)
            return;
    }
}

void kvg_fx_mkdir(const char *dir, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    mkdir_p(path);
}

void kvg_fx_symlink(const char *target, const char *dir, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir_p(path);
    *slash = '/';
    if (symlink(target, path))
        die("symlink", path);
}
