/* Test helper: a real TLS client (libcurl + OpenSSL) for kvguard serve,
 * verifying the server against a CA file. */
#ifndef KVG_TEST_TLS_CLIENT_H
#define KVG_TEST_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

typedef struct kvg_tc {
    CURL *curl;            /* one handle = one keep-alive connection */
    char base[64];         /* "https://localhost:PORT" */
    char ca_file[512];
    struct curl_slist *resolve;
} kvg_tc;

typedef struct kvg_tc_resp {
    long code;             /* HTTP status; 0 when the transfer failed */
    CURLcode curl_err;
    char *body;            /* NUL-terminated (owned) */
    size_t len;
    char content_type[128];
    char allow[64];        /* Allow header */
    char connection[32];   /* Connection header */
    long num_connects;     /* new connections this transfer needed */
    char tls_version[16];  /* "TLSv1.3" */
    char serial[128];      /* served leaf serial, lowercase hex without ':' (new connections) */
} kvg_tc_resp;

/* Connects to localhost (resolved to 127.0.0.1), verifying against ca_file. */
void kvg_tc_init(kvg_tc *c, int port, const char *ca_file);
void kvg_tc_free(kvg_tc *c);

typedef struct kvg_tc_req {
    const char *method;    /* "GET" / "POST" */
    const char *path;
    const char *content_type;   /* NULL: no header */
    const char *body;
    size_t len;
    long tls_min, tls_max; /* CURL_SSLVERSION_* values; 0: defaults */
    bool fresh;            /* new connection, closed after */
    bool no_expect;        /* suppress "Expect: 100-continue" */
} kvg_tc_req;

/* Performs the request; the response fields are filled even on failure. */
void kvg_tc_do(kvg_tc *c, const kvg_tc_req *req, kvg_tc_resp *r);
void kvg_tc_resp_free(kvg_tc_resp *r);

/* Shorthands. */
void kvg_tc_get(kvg_tc *c, const char *path, kvg_tc_resp *r);
void kvg_tc_post_json(kvg_tc *c, const char *path, const char *body, kvg_tc_resp *r);

/* Serial of the first certificate in a PEM file, in the same format. */
bool kvg_tc_file_serial(const char *pem_path, char *out, size_t n);

#endif
