// spool — the per-video result file ("spool entry"): what `pcan run` commits for every video and
// what `pcan infer` writes for one. The merge stage turns a spool folder into the archive.
//
//     shard_spool_entry e;
//     shard_spool_entry_init(&e);
//     shard_spool_entry_begin(&e, "0002", "/data/image_02/0002", hash);   // per video
//     e.meta.width = 1242; e.meta.height = 375; e.meta.fps = 10;
//     for each frame: shard_spool_entry_add(&e, frame, results->items, results->count);
//     e.meta.seconds = ...;
//     if (shard_spool_commit("/out/run.spool", &e, &params) != RT_OK) report(rt_error());
//     ...
//     shard_spool_read("/out/run.spool/0002.pcr", &e, false);     // verified or an error
//     shard_spool_entry_free(&e);
//
// Why a small binary file and not HDF5: a dataset has up to ~100k videos, so the spool holds
// ~100k small files that are written once each and all read back at merge time. An HDF5 file
// costs a few KB of metadata and ~1 ms of library work to create or open, and a truncated one
// can be unreadable in ways the library reports poorly. This format is one header, one metadata
// block and the result columns laid out exactly as the archive's /results columns, so merge reads
// each column with one read() and writes it with one H5Dwrite, and every byte is covered by a
// checksum that detects truncated or garbled files (which are then recomputed, never trusted).
//
// Layout (all integers and floats little-endian; the writer refuses big-endian hosts):
//   0   magic "PCANSPL\n" (8 bytes)
//   8   u32 version (SHARD_SPOOL_VERSION; readers refuse other versions)
//   12  u32 meta_len      16  u64 data_len
//   24  u32 crc32c(meta)  28  u32 crc32c(data)
//   32  meta: hash[32], u32 status, u32 attempts, i64 frames, i32 width, i32 height, f64 fps,
//       f64 seconds, u64 n_rows, u64 n_rle, then id, source, error as (u32 length, bytes)
//   32+meta_len  data: i32 frame[n_rows], i32 track_id[n_rows], i16 label[n_rows],
//       f32 score[n_rows], f32 box[n_rows][4], u32 rle_len[n_rows], u32 rle[n_rle]
// The file size must be exactly 32 + meta_len + data_len. Rows are sorted by (frame, track id);
// row i's mask is the next rle_len[i] counts of `rle` (COCO RLE counts, column-major, at the
// video's width x height; rle_len 0 = no mask).
//
// Files in a spool folder (names from shard_spool_key(id): the id with characters outside
// [A-Za-z0-9._-] and a leading '.' percent-encoded; very long ids shortened with a hash suffix):
//   <key>.pcr            a committed entry (status ok or failed)
//   <key>.attempt.<n>    attempt markers, written before attempt n starts, removed on commit
//   .<key>.pcr.tmp.<pid> a commit in progress (removed by shard_spool_clean_temp)
// Commit is atomic: temp file in the same folder, write, fsync, rename, fsync the folder. A
// reader never sees a partial entry under a final name.
//
// Thread safety: entries are plain objects (one thread each). Not collective (no MPI).
// Errors: RT_ERR_IO (with path and strerror), RT_ERR_FORMAT (path and what is wrong: magic,
// version, size, checksum, field), RT_ERR_INVAL (rows out of order, mask of the wrong size),
// RT_ERR_NOMEM.
#ifndef PCAN_SHARD_SPOOL_H
#define PCAN_SHARD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"
#include "runtime/model.h"

#define SHARD_SPOOL_VERSION 1
#define SHARD_SPOOL_HASH_LEN 32
#define SHARD_SPOOL_KEY_MAX 256 // bytes of a key including the NUL
#define SHARD_SPOOL_SUFFIX ".pcr"

typedef enum shard_video_status {
    SHARD_VIDEO_OK = 0,
    SHARD_VIDEO_FAILED = 1,
} shard_video_status;

typedef struct shard_spool_meta {
    uint8_t hash[SHARD_SPOOL_HASH_LEN]; // the resume hash (shard_resume_hash)
    char *id;                           // owned
    char *source;                       // owned
    char *error;                        // owned; "" when status is ok
    int64_t frames;                     // frames processed (= decoded)
    int32_t width, height;              // source size; 0 when unknown (failed before decoding)
    double fps;                         // 0 when unknown
    shard_video_status status;
    uint32_t attempts; // how many times the video was started (1 normally)
    double seconds;    // wall time of the last attempt
    uint64_t n_rows, n_rle;
} shard_spool_meta;

typedef struct shard_spool_entry {
    shard_spool_meta meta;
    // Columns [meta.n_rows] (box [n_rows][4]) and rle [meta.n_rle]; owned, grown geometrically
    // and kept across shard_spool_entry_begin so that a worker reusing one entry stops
    // allocating once it has seen its largest video.
    int32_t *frame, *track_id;
    int16_t *label;
    float *score, *box;
    uint32_t *rle_len, *rle;
    uint64_t rows_cap, rle_cap;
} shard_spool_entry;

typedef struct shard_spool_params {
    bool durable; // fsync file and folder on commit (default true; tests generating many
                  // entries may turn it off)
} shard_spool_params;

shard_spool_params shard_spool_default_params(void);

void shard_spool_entry_init(shard_spool_entry *e);
// Frees the columns and strings; `e` is left as after init. Accepts NULL.
void shard_spool_entry_free(shard_spool_entry *e);
// Starts a new video: copies id and source, sets the hash, clears rows and every other field
// (status ok, attempts 1, error ""). Keeps the capacity. RT_ERR_NOMEM.
rt_status shard_spool_entry_begin(shard_spool_entry *e, const char *id, const char *source,
                                  const uint8_t hash[SHARD_SPOOL_HASH_LEN]);
// Marks the entry failed with this message (rows are kept: they are what was done before the
// failure, and merge drops them). RT_ERR_NOMEM.
rt_status shard_spool_entry_fail(shard_spool_entry *e, const char *error);
// Appends one frame's results. Frames must come in increasing order (RT_ERR_INVAL otherwise);
// items are stored in ascending track id whatever their order. A mask must be meta.height x
// meta.width when those are set (RT_ERR_INVAL), or have no counts. Updates meta.frames to
// frame + 1 when larger. RT_ERR_NOMEM when growing fails.
rt_status shard_spool_entry_add(shard_spool_entry *e, int frame, const rt_result *items, int n);
// Row i's mask counts (borrowed) and their number.
const uint32_t *shard_spool_row_rle(const shard_spool_entry *e, uint64_t row, uint32_t *n);

// The file-name key of a video id (see above); `out` holds SHARD_SPOOL_KEY_MAX bytes.
void shard_spool_key(const char *id, char out[SHARD_SPOOL_KEY_MAX]);
// "<dir>/<key>.pcr" into out; RT_ERR_INVAL when it does not fit in cap.
rt_status shard_spool_path(const char *dir, const char *id, char *out, size_t cap);

// Creates the spool folder (and missing parents). RT_ERR_IO.
rt_status shard_spool_mkdir(const char *dir);
// Writes the entry atomically as <dir>/<key>.pcr (replacing an older one), then removes the
// video's attempt markers. RT_ERR_IO with the path; the temp file is removed on failure.
rt_status shard_spool_commit(const char *dir, const shard_spool_entry *e,
                             const shard_spool_params *params);
// Reads and verifies a committed entry into `e` (replacing its content, reusing capacity).
// meta_only: reads the header and metadata only (checks the meta checksum and the file size;
// the row checksum is not read). RT_ERR_IO / RT_ERR_FORMAT naming the path and the problem.
rt_status shard_spool_read(const char *path, shard_spool_entry *e, bool meta_only);

// Attempt markers. shard_spool_attempt_begin creates <key>.attempt.<n> for the next free n and
// returns n in *attempt (1 for the first). shard_spool_attempt_count counts the markers.
// shard_spool_attempt_clear removes them all (commit does it too). RT_ERR_IO.
rt_status shard_spool_attempt_begin(const char *dir, const char *id, uint32_t *attempt);
rt_status shard_spool_attempt_count(const char *dir, const char *id, uint32_t *count);
rt_status shard_spool_attempt_clear(const char *dir, const char *id);
// Removes the last marker only (an attempt that was interrupted cleanly is not a crash).
rt_status shard_spool_attempt_undo(const char *dir, const char *id, uint32_t attempt);
// Removes leftover ".<key>.pcr.tmp.*" files (commits killed half way). Call before any rank
// starts work. RT_ERR_IO.
rt_status shard_spool_clean_temp(const char *dir);

#endif
