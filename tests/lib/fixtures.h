/* Test helpers for directory trees (complements testlib.h): symbolic links
 * and empty directories. Both abort the test program on failure. */
#ifndef KVG_TEST_FIXTURES_H
#define KVG_TEST_FIXTURES_H

/* mkdir -p dir/rel */
void kvg_fx_mkdir(const char *dir, const char *rel);
/* symlink(target, dir/rel), creating the parent directories of dir/rel. */
void kvg_fx_symlink(const char *target, const char *dir, const char *rel);

#endif
