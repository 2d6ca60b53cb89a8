/* kvguard: serving certificates for the webhook (`kvguard certs`).
 *
 * A throw-away self-signed CA (ECDSA P-256, CA:TRUE, keyCertSign) signs one
 * ECDSA P-256 serving certificate (serverAuth, the SANs given). The CA key is
 * never written: rotating means generating a new set and a new caBundle. */
#ifndef KVGUARD_CERTS_H
#define KVGUARD_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"

typedef struct kvg_certs_opts {
    const char *out_dir;       /* created if missing (parent must exist) */
    const char *const *dns;    /* DNS SANs, n_dns entries */
    size_t n_dns;
    const char *const *ips;    /* IPv4/IPv6 SANs, n_ips entries */
    size_t n_ips;
    unsigned days;             /* validity; 0 means 365 */
    bool force;                /* overwrite existing ca.crt/tls.crt/tls.key */
} kvg_certs_opts;

#define KVG_CERTS_MAX_DAYS 36500u

/* Checks a DNS SAN ("svc.ns.svc", "*.example.com"); false with d explaining. */
bool kvg_certs_dns_name_ok(const char *name, kvg_diag *d);

/* Generates and writes out_dir/{ca.crt,tls.crt,tls.key} (key mode 0600, each
 * file via a temporary file + rename, so a watcher never sees half a file).
 * Appends base64(ca.crt PEM), the webhook caBundle, to ca_bundle (may be
 * NULL). Refuses (KVG_EEXIST, naming the file) to overwrite unless force.
 * Bad options: KVG_EINVAL naming the option. */
kvg_err kvg_certs_generate(const kvg_certs_opts *o, kvg_buf *ca_bundle,
                           kvg_diag *d);

#endif
