/* Test helpers: temporary directories and files. All abort the test (via
 * Check's ck_assert) on failure, so callers need no error handling. */
#ifndef KVG_TEST_FIXTURES_H
#define KVG_TEST_FIXTURES_H

#include <stddef.h>

/* mkdtemp under $TMPDIR (or /tmp); returns a malloc'ed path. */
char *kvg_fx_tmpdir(void);
/* Write text to dir/rel, creating parent directories. */
void kvg_fx_write(const char *dir, const char *rel, const char *text);
/* mkdir -p dir/rel */
void kvg_fx_mkdir(const char *dir, const char *rel);
/* symlink(target, dir/rel) */
void kvg_fx_symlink(const char *target, const char *dir, const char *rel);
/* rm -rf dir (does not follow symlinks) and free(dir). */
void kvg_fx_rmrf(char *dir);
/* Read a whole file (NUL-terminated, malloc'ed); NULL when unreadable. */
char *kvg_fx_read(const char *path, size_t *len);

#endif
