/* Test helper: run a command, feed it stdin, capture stdout and stderr. */
#ifndef KVG_TEST_RUN_H
#define KVG_TEST_RUN_H

#include <stddef.h>

typedef struct kvg_run_result {
    int status;  /* exit code; 128+N when killed by signal N; -1 on failure */
    char *out;   /* stdout, NUL-terminated (owned) */
    size_t out_len;
    char *err;   /* stderr, NUL-terminated (owned) */
    size_t err_len;
} kvg_run_result;

/* argv[0] is the program path, NULL-terminated. input may be NULL (stdin is
 * then empty). The child is killed after timeout_s seconds (0: 60). Returns 0
 * when the command ran, -1 when it could not be started. */
int kvg_run(const char *const argv[], const char *input, size_t input_len,
            int timeout_s, kvg_run_result *r);
void kvg_run_result_free(kvg_run_result *r);

#endif
