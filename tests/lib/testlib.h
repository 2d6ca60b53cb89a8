/* Helpers shared by kvguard's test programs. */
#ifndef KVG_TESTLIB_H
#define KVG_TESTLIB_H

#include <stddef.h>

#include <check.h>

/* Reads a file below the source tree (path relative to KVG_SOURCE_DIR);
 * aborts the test on failure. Free with free(). */
char *kvg_test_read_source(const char *rel, size_t *len);
/* Creates a fresh temporary directory; returns its path (static storage per
 * call site is not needed: caller frees). */
char *kvg_test_mkdtemp(void);
/* Writes text to dir/name, creating intermediate directories. */
void kvg_test_write_file(const char *dir, const char *name, const char *text);
/* rm -rf dir (only below /tmp). */
void kvg_test_rmtree(const char *dir);
/* Runs every test of s (CK_NORMAL: forked unless CK_FORK=no), frees it;
 * the exit status of a test program's main(). */
int kvg_test_run(Suite *s);

#endif
