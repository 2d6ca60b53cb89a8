/* kvguard: the TLS admission webhook server (libmicrohttpd + GnuTLS).
 *
 * Endpoints: POST /validate, POST /mutate (AdmissionReview, kvg_admit()),
 * GET /healthz, GET /readyz, GET /metrics. The certificate and key are
 * re-read when their files change and used for new handshakes; credentials
 * still referenced by a connection are freed only when it closes.
 *
 * Lifecycle: kvg_server_start() -> ... -> kvg_server_request_shutdown()
 * (readyz false at once) -> kvg_server_wait() (keeps answering for
 * shutdown_delay_s, stops accepting, drains in-flight requests within
 * drain_timeout_s) -> kvg_server_free(). */
#ifndef KVGUARD_SERVER_H
#define KVGUARD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "kvguard/config.h"
#include "kvguard/error.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"

typedef struct kvg_server kvg_server;

/* cfg, policy and view are borrowed and must outlive the server. Listens on
 * cfg->listen ("HOST:PORT", "[V6]:PORT"; port 0 picks a free port, see
 * kvg_server_port()) and logs a "server.listening" line with the port. */
kvg_err kvg_server_start(const kvg_config *cfg, const kvg_policy_config *policy,
                         const kvg_view *view, kvg_server **out, kvg_diag *d);
/* Async-signal-safe: only sets a flag and writes to a pipe. */
void kvg_server_request_shutdown(kvg_server *s);
/* Blocks until shutdown was requested, then runs the graceful sequence.
 * KVG_ETIMEOUT when requests were still in flight at the drain deadline. */
kvg_err kvg_server_wait(kvg_server *s);
void kvg_server_free(kvg_server *s);
uint16_t kvg_server_port(const kvg_server *s);
bool kvg_server_ready(const kvg_server *s);

/* Benchmark aid, off by default (kvguard serve --bench-baseline): enables
 * POST /baseline, which reads the request like /validate (same headers
 * check, same body cap) but answers a fixed "allowed" AdmissionReview
 * without decoding or policy, so bench/run.sh can measure the cost of TLS +
 * HTTP alone on the same server. Process-wide; call before kvg_server_start.
 * Never enable it in a cluster: /baseline allows everything. */
void kvg_server_set_bench_baseline(bool on);

/* Worker threads for cfg->workers == 0: the cgroup CPU quota (v2 cpu.max,
 * v1 cfs_quota_us/cfs_period_us, rounded up), else the online CPUs; >= 1.
 * cgroup_root is normally "/sys/fs/cgroup" (tests pass a fake tree). */
unsigned kvg_server_default_workers(const char *cgroup_root);

/* The GnuTLS priority string for a minimum version "1.2" or "1.3". */
kvg_err kvg_server_tls_priorities(const char *min_version, const char **out,
                                  kvg_diag *d);

#endif
