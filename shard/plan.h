// plan — which videos a run must process: the job's video list, the resume hash of each, what
// the spool already holds, and the hand-out order (longest first).
//
//     shard_plan plan;
//     shard_plan_init(&plan);
//     if (rank == 0) for each listed video: shard_plan_add(&plan, id, source, frames);
//     shard_plan_share(&plan, comm);                       // collective: sorts, broadcasts
//     shard_plan_params pp = shard_plan_default_params();
//     pp.spool = "/out/run.spool"; pp.weights_sha256 = hex; pp.config = text;
//     shard_plan_scan(&plan, &pp, comm);                   // collective: verifies the spool
//     ... shard_coord_run(&plan, ...) ...
//     shard_plan_free(&plan);
//
// The resume hash (DESIGN.md) of video `id` is sha256 over the text
//   "pcan-resume\n" "archive-version <v>\n" "weights <sha256 hex>\n" <config> "video <id>\n"
// where <config> is the caller's canonical text of every model.* key of the job as resolved and
// dataset.format (cmd/run.c builds it), so that a spool entry is reused only for the same
// weights, model settings, dataset format, video and archive format.
//
// Scan: rank 0 removes leftover temp files, lists the spool folder once and counts attempt
// markers; every rank then fully reads and verifies (checksums, id, hash) its share of the
// existing entries, and rank 0 decides each video's state. Corrupt, truncated or stale entries
// are recomputed, never trusted. A video without an entry whose attempt markers number
// >= params.retries is committed (by rank 0) as failed with "crashed N times". Entries of
// failed videos are kept unless params.retry_failed.
//
// Collective where marked; `comm` is the run's communicator. Errors: RT_ERR_IO (spool folder),
// RT_ERR_INVAL (duplicate video ids), RT_ERR_NOMEM, RT_ERR_MPI. A collective function returns the
// same status on every rank.
#ifndef PCAN_SHARD_PLAN_H
#define PCAN_SHARD_PLAN_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"
#include "shard/spool.h"

typedef enum shard_plan_state {
    SHARD_PLAN_TODO = 0,
    SHARD_PLAN_DONE = 1,    // a valid entry with status ok
    SHARD_PLAN_FAILED = 2,  // a valid entry with status failed (kept)
    SHARD_PLAN_CRASHED = 3, // marked failed by this scan after too many crashed attempts
} shard_plan_state;

typedef struct shard_plan_video {
    char *id;       // owned
    char *source;   // owned; video file or frame folder
    int64_t frames; // -1 when unknown
} shard_plan_video;

typedef struct shard_plan {
    shard_plan_video *videos; // sorted by id after shard_plan_share
    size_t n, cap;
    uint8_t (*hash)[SHARD_SPOOL_HASH_LEN]; // [n] after shard_plan_scan
    uint8_t *state;                        // [n] shard_plan_state, rank 0 only
    uint32_t *attempts;                    // [n] attempt markers found, rank 0 only
    size_t *order;                         // rank 0: indices to run, longest first
    size_t n_order;
    size_t n_done, n_failed, n_crashed, n_corrupt; // rank 0: what the scan found
} shard_plan;

typedef struct shard_plan_params {
    const char *spool;          // folder (created when missing)
    const char *weights_sha256; // hex
    const char *config;         // canonical model config text (see above)
    bool resume;                // false: ignore existing entries and markers (default true)
    bool retry_failed;          // run failed videos again (default false)
    uint32_t retries;           // crashed attempts before a video is marked failed (default 1)
    shard_spool_params spool_params;
    bool verbose; // report every corrupt or stale entry on stderr (corrupt ones always are)
} shard_plan_params;

shard_plan_params shard_plan_default_params(void);

void shard_plan_init(shard_plan *p);
void shard_plan_free(shard_plan *p);
// Appends a video (copies the strings). Not collective. RT_ERR_NOMEM.
rt_status shard_plan_add(shard_plan *p, const char *id, const char *source, int64_t frames);
// Collective: sorts rank 0's list by id, refuses duplicate ids (RT_ERR_INVAL naming the id) and
// broadcasts it, replacing the other ranks' lists.
rt_status shard_plan_share(shard_plan *p, MPI_Comm comm);
// Collective: computes the hashes, scans and verifies the spool, sets the states and order.
rt_status shard_plan_scan(shard_plan *p, const shard_plan_params *params, MPI_Comm comm);

// sha256 of the text described above; not collective.
void shard_resume_hash(const char *weights_sha256, const char *config, const char *id,
                       uint8_t out[SHARD_SPOOL_HASH_LEN]);

#endif
