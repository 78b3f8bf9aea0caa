// archive — the columnar result archive (format "pcan-archive", version 1; DESIGN.md): written
// from a spool folder with parallel HDF5, read back serially.
//
//     merge_archive_params p = merge_archive_default_params();
//     p.spool = "/out/run.spool"; p.path = "/out/run.h5"; p.ids = ids; p.n_ids = n; ...
//     merge_archive_stats s;
//     merge_archive_write(&p, MPI_COMM_WORLD, &s);            // collective
//
//     merge_archive *ar;
//     merge_archive_open("/out/run.h5", &ar);                  // serial, any process
//     for (size_t v = 0; v < merge_archive_num_videos(ar); v++) {
//         const merge_archive_video *info = merge_archive_video_at(ar, v);
//         merge_archive_rows rows;  merge_archive_rows_init(&rows);
//         merge_archive_read_rows(ar, v, &rows);               // that video's rows
//         ...
//         merge_archive_rows_free(&rows);
//     }
//     merge_archive_close(&ar);
//
// Layout: root attributes format, version, software, model, model_sha256, job (the job YAML),
// job_path (the job file, absolute: relative paths in `job` resolve against its folder; absent
// when the params give none), created (UTC, ISO 8601), ranks, classes (string array), prototype_memory; /videos compound [V]
// {id, source, frames, height, width, fps, status (enum ok|failed), error, attempts, seconds,
// row_start, row_count}, ordered by id; /results/{video u32, frame i32, track_id i32, label i16,
// score f32, box f32[N,4], rle_start u64[N+1], rle u32[M]}, rows ordered by video, frame, track
// id. Strings are fixed-length (sized to the longest value) so that every rank creates identical
// types; readable with h5py/h5dump. Failed videos keep their metadata and error (cut to 1000
// bytes) but no rows.
//
// Writing (all ranks, MPI-IO driver): rank 0 reads every entry's metadata (the manifest),
// computes row offsets and broadcasts them; all ranks create the file, attributes and datasets
// collectively with identical arguments; each rank then reads a contiguous share of the entries
// (balanced by size), verifies their checksums and hashes, and writes its rows with independent
// I/O into contiguous, unfiltered datasets; rank 0 writes /videos. The file is written as
// "<dir>/.<name>.tmp" and renamed by rank 0 after the collective close, so a reader never sees a
// partial archive. Deterministic: the same spool gives the same data on any number of ranks
// (only `created`, `ranks` and the per-video `seconds` differ between runs).
//
// Errors (agreed on all ranks): RT_ERR_IO, RT_ERR_FORMAT (a missing, corrupt or stale spool
// entry, naming it), RT_ERR_HDF5, RT_ERR_MPI, RT_ERR_NOMEM. The reader: RT_ERR_IO/RT_ERR_FORMAT
// naming the file (not an archive, unknown version, inconsistent columns).
#ifndef PCAN_MERGE_ARCHIVE_H
#define PCAN_MERGE_ARCHIVE_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"

#define MERGE_ARCHIVE_FORMAT "pcan-archive"
#define MERGE_ARCHIVE_VERSION 1

// Every string must be identical on all ranks (they become attributes written collectively).
typedef struct merge_archive_params {
    const char *spool; // the spool folder
    const char *path;  // the archive to write
    // The videos to include, sorted by id (rank 0's list is used). Every one must have a valid
    // entry with the expected hash (RT_ERR_FORMAT otherwise).
    const char *const *ids;
    size_t n_ids;
    // true: ignore ids and take every valid entry in the spool whose hash matches (others are
    // skipped with a note on stderr).
    bool all_in_spool;
    const char *weights_sha256, *config; // for the expected resume hash (shard_resume_hash)
    const char *software, *model_name, *job_text, *prototype_memory;
    const char *job_path; // NULL: no job_path attribute
    const char *const *classes;
    size_t n_classes;
    size_t batch_bytes; // rows buffered per rank before a write (default 64 MiB)
    // Optional and collective: called on every rank once the archive is complete and closed
    // under its temp name `tmp_path`, before the rename, to add to it (the run's /metrics with
    // merge_archive_add_metrics). An error (agreed) removes the file: no archive appears.
    rt_status (*finish)(void *ctx, const char *tmp_path, MPI_Comm comm);
    void *finish_ctx;
} merge_archive_params;

merge_archive_params merge_archive_default_params(void);

typedef struct merge_archive_stats {
    long videos, failed, skipped; // skipped: entries left out in all_in_spool mode
    unsigned long long rows, rle;
    double seconds;
} merge_archive_stats;

// Collective over comm. See above.
rt_status merge_archive_write(const merge_archive_params *params, MPI_Comm comm,
                              merge_archive_stats *stats);

// ---------------------------------------------------------------------------------------------
// /metrics: the evaluation of the archive against the dataset's ground truth (written by the
// merge stage of `pcan run` / `pcan merge` when the dataset has ground truth; see merge/report.h
// for the rows and columns).
//
//   /metrics           group; attributes protocol ("trackeval" | "bdd100k" | "youtube-vis"),
//                      mean_row (the name of the class-mean row: "cls_comb_cls_av", "AVERAGE"
//                      or "all"), videos (evaluated), missing (of these, without results),
//                      no_gt (archive videos without ground truth), masks (GT + result masks
//                      evaluated), all int64
//   /metrics/classes   compound [rows]: name (string), then one field per metric under the
//                      reference tool's name (HOTA, DetA, ..., MOTA, ..., IDF1, ... for
//                      trackeval; MOTA, MOTP, IDF1, FP, ... for bdd100k; AP, AP50, ... ARl for
//                      youtube-vis), float64 for rates, int64 for counts. Rows: the classes
//                      (bdd100k: then the super-categories), the mean row, (bdd100k: OVERALL);
//                      youtube-vis: the one row "all". Fractions as TrackEval gives them
//                      (0.75); bdd100k's MOTA/MOTP/IDF1 ×100 as scalabel gives them.
// The values are the exact doubles of `pcan eval` on the same archive and dataset.

typedef struct merge_archive_metrics {
    const char *protocol, *mean_row;
    int64_t videos, missing, no_gt, masks;
    size_t n_rows, n_cols;
    const char *const *row_names; // [n_rows]
    const char *const *col_names; // [n_cols]
    const char *col_types;        // [n_cols]: 'f' float64, 'i' int64
    const double *values;         // [n_rows][n_cols]
} merge_archive_metrics;

// Collective over comm: opens the closed archive at `path` with the MPI-IO driver and adds
// /metrics (group, attributes and table created by all ranks with identical arguments, the rows
// written by rank 0). Every rank must pass the same `m`. RT_ERR_HDF5 / RT_ERR_IO, agreed.
rt_status merge_archive_add_metrics(const char *path, const merge_archive_metrics *m,
                                    MPI_Comm comm);

// ---------------------------------------------------------------------------------------------
// Reader (serial; one thread per object; not collective)

typedef enum merge_video_status { MERGE_VIDEO_OK = 0, MERGE_VIDEO_FAILED = 1 } merge_video_status;

typedef struct merge_archive_video {
    char *id, *source, *error;
    int64_t frames;
    int32_t height, width;
    double fps;
    merge_video_status status;
    uint32_t attempts;
    double seconds;
    uint64_t row_start, row_count;
} merge_archive_video;

typedef struct merge_archive_rows {
    uint64_t n;
    int32_t *frame, *track_id;
    int16_t *label;
    float *score, *box; // box [n][4]
    uint64_t *rle_start; // [n+1], relative to `rle`
    uint32_t *rle;       // [rle_start[n]]
    uint64_t cap, rle_cap;
} merge_archive_rows;

typedef struct merge_archive merge_archive;

rt_status merge_archive_open(const char *path, merge_archive **out);
void merge_archive_close(merge_archive **ar);
size_t merge_archive_num_videos(const merge_archive *ar);
const merge_archive_video *merge_archive_video_at(const merge_archive *ar, size_t i);
// Index of the video with this id, or -1.
long merge_archive_find(const merge_archive *ar, const char *id);
uint64_t merge_archive_num_rows(const merge_archive *ar);
// Class names from the `classes` attribute (borrowed).
size_t merge_archive_num_classes(const merge_archive *ar);
const char *merge_archive_class(const merge_archive *ar, size_t i);

void merge_archive_rows_init(merge_archive_rows *r);
void merge_archive_rows_free(merge_archive_rows *r);
// Reads video i's rows into `r` (reusing its buffers). RT_ERR_HDF5 / RT_ERR_FORMAT / NOMEM.
rt_status merge_archive_read_rows(merge_archive *ar, size_t i, merge_archive_rows *r);
// Reads /metrics into *out (one allocation owning every string and array; free with
// merge_archive_metrics_free), or sets *out = NULL when the archive has none. Integer columns
// are read as doubles. RT_ERR_FORMAT naming the file when /metrics is malformed.
rt_status merge_archive_read_metrics(merge_archive *ar, merge_archive_metrics **out);
void merge_archive_metrics_free(merge_archive_metrics **m);

#endif
