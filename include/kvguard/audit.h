/* kvguard: policy auditing.
 *
 * 1. The audit trail: one JSON line per admission decision (the record is
 *    formatted by kvg_audit_format() in admission.h) written through a sink
 *    that never blocks the admission path: kvg_audit_sink_write() copies the
 *    line into a bounded in-memory queue and returns; a writer thread drains
 *    the queue to stderr or to a file rotated by size (file -> file.1 -> ...).
 *    A full queue drops the record and counts it in kvguard_audit_dropped_total
 *    (plus a rate-limited warning log line); a failed open/write counts in
 *    kvguard_audit_write_errors_total and never reaches the caller.
 *
 * 2. The readiness report of `kvguard audit` (docs/audit.md): what kvguard
 *    would decide, today, about snapshotting, restoring and cloning every VM,
 *    and about every pending snapshot/restore/clone/DataVolume, computed by
 *    running the policy engine on synthesized CREATE requests. */
#ifndef KVGUARD_AUDIT_H
#define KVGUARD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "kvguard/buf.h"
#include "kvguard/config.h"
#include "kvguard/error.h"
#include "kvguard/kube.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"

/* ---- audit trail sink ---------------------------------------------------- */

typedef struct kvg_audit_sink kvg_audit_sink;

typedef struct kvg_audit_sink_opts {
    const char *path;      /* NULL or "": stderr (through the log writer) */
    size_t max_bytes;      /* rotate before a file would exceed it; 0: never */
    unsigned keep;         /* rotated files kept (file.1 .. file.keep): 3 */
    size_t queue_len;      /* records queued at most: 4096 */
    size_t max_line;       /* longer records are dropped: 1 MiB */
    bool start_paused;     /* tests: the writer drains only after _resume() */
} kvg_audit_sink_opts;

void kvg_audit_sink_opts_init(kvg_audit_sink_opts *o);

/* Open the sink of a configuration (audit.file, audit.maxBytes). An
 * unwritable file is not an error here: it is counted and retried on every
 * record, so admission keeps working. Errors: KVG_ENOMEM, KVG_EIO (thread). */
kvg_err kvg_audit_sink_open(const kvg_config *cfg, kvg_audit_sink **out,
                            kvg_diag *d);
kvg_err kvg_audit_sink_open_opts(const kvg_audit_sink_opts *o,
                                 kvg_audit_sink **out, kvg_diag *d);

/* Queue one record (without newline; the sink adds it). Never blocks on I/O.
 * KVG_OK queued; KVG_EUNAVAIL dropped (queue full, counted), KVG_ETOOBIG
 * dropped (longer than max_line, counted), KVG_ENOMEM dropped (counted),
 * KVG_EINVAL (NULL sink or line). Thread-safe. */
kvg_err kvg_audit_sink_write(kvg_audit_sink *s, const char *line, size_t len);

/* Let a sink opened with start_paused drain. */
void kvg_audit_sink_resume(kvg_audit_sink *s);

/* Wait until every queued record is written (or failed), up to timeout_ms:
 * KVG_ETIMEOUT otherwise (e.g. a paused sink). */
kvg_err kvg_audit_sink_flush(kvg_audit_sink *s, long timeout_ms);

typedef struct kvg_audit_sink_stats {
    uint64_t written;      /* records written */
    uint64_t dropped;      /* queue full, too long, out of memory */
    uint64_t write_errors; /* open/write/rotate failures (record lost) */
    uint64_t rotations;
    size_t queued;         /* records waiting now */
} kvg_audit_sink_stats;

void kvg_audit_sink_stats_get(kvg_audit_sink *s, kvg_audit_sink_stats *out);

/* Write what is queued, stop the writer, close the file and free s. NULL is
 * a no-op. */
void kvg_audit_sink_close(kvg_audit_sink *s);

/* ---- `kvguard audit` report ---------------------------------------------- */

typedef struct kvg_audit_report_opts {
    const char *namespace_; /* NULL: every namespace */
    /* Unix seconds stamped into PolicyReport results; 0: now. Golden tests
     * pin it (`kvguard audit` reads KVG_AUDIT_TIME). */
    long long now_s;
    size_t max_results;     /* PolicyReport results per namespace: 1000 */
} kvg_audit_report_opts;

void kvg_audit_report_opts_init(kvg_audit_report_opts *o);

/* Build the report (the stable JSON document of docs/audit.md) over view,
 * holding its read section. *refused is set to how many decisions (the
 * synthesized snapshot/clone of each VM and every pending object) would be
 * denied. The caller owns *out. */
kvg_err kvg_audit_report_build(const kvg_policy_config *cfg,
                               const kvg_view *view,
                               const kvg_audit_report_opts *o,
                               json_object **out, size_t *refused,
                               kvg_diag *d);

/* Renderings of a built report, appended to out. */
kvg_err kvg_audit_render_table(const json_object *report, kvg_buf *out);
kvg_err kvg_audit_render_json(const json_object *report, kvg_buf *out);
/* A `v1` List (JSON, which `kubectl apply -f` takes) of wgpolicyk8s.io/
 * v1alpha2 PolicyReports named "kvguard", one per namespace with a VM or a
 * pending object. */
kvg_err kvg_audit_render_policyreports(const json_object *report,
                                       const kvg_audit_report_opts *o,
                                       kvg_buf *out);
/* The same List as an object (caller owns *out). */
kvg_err kvg_audit_policyreports(const json_object *report,
                                const kvg_audit_report_opts *o,
                                json_object **out);

/* ---- keeping PolicyReports up to date in the cluster ----------------------- */

/* Label and name of the PolicyReports kvguard owns. */
#define KVG_AUDIT_REPORT_NAME "kvguard"
#define KVG_AUDIT_MANAGED_LABEL "app.kubernetes.io/managed-by"

typedef struct kvg_audit_publish_stats {
    size_t created, updated, deleted, failed;
} kvg_audit_publish_stats;

/* Make the cluster's kvguard PolicyReports equal those of `list` (from
 * kvg_audit_policyreports): create or replace the report "kvguard" of every
 * namespace in it, and delete kvguard's reports (name and managed-by label)
 * in other namespaces of the scope (scope_ns, or every namespace when NULL),
 * so there is never more than one report per namespace. Keeps going past a
 * failed namespace (counted in st->failed; d holds the first error) and then
 * returns KVG_EAPI; KVG_OK when everything was applied. */
kvg_err kvg_audit_publish(kvg_kube_client *client, const json_object *list,
                          const char *scope_ns, kvg_audit_publish_stats *st,
                          kvg_diag *d);

#endif
