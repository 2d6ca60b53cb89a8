/* Test helper: libcurl TLS client (see tls_client.h). */
#include "tls_client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

void kvg_tc_init(kvg_tc *c, int port, const char *ca_file)
{
    memset(c, 0, sizeof *c);
    c->curl = curl_easy_init();
    snprintf(c->base, sizeof c->base, "https://localhost:%d", port);
    snprintf(c->ca_file, sizeof c->ca_file, "%s", ca_file);
    char entry[64];
    snprintf(entry, sizeof entry, "localhost:%d:127.0.0.1", port);
    c->resolve = curl_slist_append(NULL, entry);
}

void kvg_tc_free(kvg_tc *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->resolve);
    memset(c, 0, sizeof *c);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    kvg_tc_resp *r = ud;
    size_t add = size * n;
    char *p = realloc(r->body, r->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + r->len, data, add);
    r->body = p;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static void copy_header(char *dst, size_t n, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return;
    const char *v = colon + 1;
    while (v < line + len && *v == ' ')
        v++;
    size_t vl = (size_t)(line + len - v);
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    snprintf(dst, n, "%.*s", (int)vl, v);
}

typedef struct xfer {
    kvg_tc *c;
    kvg_tc_resp *r;
} xfer;

static void read_tls_info(kvg_tc *c, kvg_tc_resp *r);

/* TLS details are read while the connection is surely alive: during the
 * transfer (a FORBID_REUSE connection is gone after curl_easy_perform). */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    kvg_tc_resp *r = x->r;
    size_t len = size * n;
    if (!r->tls_version[0])
        read_tls_info(x->c, r);
    if (!strncasecmp(line, "Content-Type:", 13))
        copy_header(r->content_type, sizeof r->content_type, line, len);
    else if (!strncasecmp(line, "Allow:", 6))
        copy_header(r->allow, sizeof r->allow, line, len);
    else if (!strncasecmp(line, "Connection:", 11))
        copy_header(r->connection, sizeof r->connection, line, len);
    return len;
}

/* "5a:4E:..." -> "5a4e..." without leading zeros, so both sources agree. */
static void normalize_serial(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (; *in && o + 1 < n; in++)
        if (isxdigit((unsigned char)*in) && !(o == 0 && *in == '0'))
            out[o++] = (char)tolower((unsigned char)*in);
    out[o] = '\0';
}

static void read_tls_info(kvg_tc *c, kvg_tc_resp *r)
{
    struct curl_tlssessioninfo *ti = NULL;
    if (curl_easy_getinfo(c->curl, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
        ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals) {
        SSL *ssl = ti->internals;
        snprintf(r->tls_version, sizeof r->tls_version, "%s", SSL_get_version(ssl));
        X509 *peer = SSL_get1_peer_certificate(ssl);
        if (peer) {
            BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(peer), NULL);
            char *hex = bn ? BN_bn2hex(bn) : NULL;
            if (hex)
                normalize_serial(hex, r->serial, sizeof r->serial);
            OPENSSL_free(hex);
            BN_free(bn);
            X509_free(peer);
        }
    }
}

void kvg_tc_do(kvg_tc *c, const kvg_tc_req *req, kvg_tc_resp *r)
{
    memset(r, 0, sizeof *r);
    char url[512];
    snprintf(url, sizeof url, "%s%s", c->base, req->path);
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve);
    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    xfer x = {c, r};
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    if (req->tls_min || req->tls_max)
        curl_easy_setopt(h, CURLOPT_SSLVERSION, req->tls_min | req->tls_max);
    if (req->fresh) {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    struct curl_slist *hdrs = NULL;
    char ct[160];
    if (req->content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", req->content_type);
        hdrs = curl_slist_append(hdrs, ct);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type:"); /* none at all */
    }
    if (req->no_expect)
        hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (!strcmp(req->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    } else if (strcmp(req->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    r->curl_err = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->num_connects);
    curl_slist_free_all(hdrs);
    if (!r->body)
        r->body = calloc(1, 1);
}

void kvg_tc_resp_free(kvg_tc_resp *r)
{
    free(r->body);
    r->body = NULL;
}

void kvg_tc_get(kvg_tc *c, const char *path, kvg_tc_resp *r)
{
    kvg_tc_req req = {.method = "GET", .path = path};
    kvg_tc_do(c, &req, r);
}

void kvg_tc_post_json(kvg_tc *c, const char *path, const char *body, kvg_tc_resp *r)
{
    kvg_tc_req req = {.method = "POST", .path = path,
                      .content_type = "application/json", .body = body,
                      .len = strlen(body)};
    kvg_tc_do(c, &req, r);
}

bool kvg_tc_file_serial(const char *pem_path, char *out, size_t n)
{
    FILE *f = fopen(pem_path, "r");
    if (!f)
        return false;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return false;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex)
        normalize_serial(hex, out, n);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    return hex != NULL;
}
