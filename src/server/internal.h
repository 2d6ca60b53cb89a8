/* kvguard server internals: the reloadable TLS credentials. */
#ifndef KVG_SERVER_INTERNAL_H
#define KVG_SERVER_INTERNAL_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "kvguard/error.h"

typedef struct kvg_tls_store kvg_tls_store;

/* Loads cert+key (PEM; ECDSA or RSA; the cert file may hold a chain) and
 * starts a watcher thread that re-reads them every poll_ms when their stat
 * (device, inode, size, mtime - through symlinks) changes. A new pair is
 * swapped in only if it parses and the key matches the certificate. */
kvg_err kvg_tls_store_start(const char *cert_path, const char *key_path,
                            unsigned poll_ms, kvg_tls_store **out, kvg_diag *d);
/* Stops the watcher and frees everything; no handshake may run any more. */
void kvg_tls_store_free(kvg_tls_store *s);

/* The gnutls_certificate_retrieve_function2 given to libmicrohttpd. It has
 * no closure argument, hence one active store per process. */
int kvg_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
                     int nreqs, const gnutls_pk_algorithm_t *pk_algos,
                     int pk_algos_length, gnutls_pcert_st **pcert,
                     unsigned int *pcert_length, gnutls_privkey_t *privkey);
/* A TLS session ended (connection closed): drops its credentials reference. */
void kvg_tls_session_closed(gnutls_session_t session);

/* Serial (hex) of the certificate served now, for logs and tests. */
void kvg_tls_store_serial(kvg_tls_store *s, char *out, size_t n);

/* Checks that a PEM key file matches a PEM certificate file (both parse). */
kvg_err kvg_tls_check_pair(const char *cert_pem, size_t cert_len,
                           const char *key_pem, size_t key_len, kvg_diag *d);

#endif
