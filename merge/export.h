// export — writes an archive's tracks in dataset formats, for other tools and pseudo-labels.
//
//     merge_export_params p = merge_export_default_params();
//     p.format = MERGE_EXPORT_KITTI_MOTS; p.dir = "out/kitti"; p.min_score = 0.5;
//     if (merge_export(ar, &p) != RT_OK) fprintf(stderr, "%s\n", rt_error());
//
// Formats (METRICS.md §1):
//   kitti-mots  DIR/<video>.txt, one line per object and frame: "frame obj_id class h w rle",
//               frames 0-based, obj_id = class·1000 + track id (track ids ≥ 1000 are written as
//               class·1000 + id % 1000 + 1000·(id / 1000)·100 so ids stay unique per class).
//               Class ids: when the archive's classes contain "car" or "pedestrian", car = 1,
//               pedestrian = 2 and the others 3, 4, ... in archive order (10 is skipped, it
//               means "ignore"); otherwise class index + 1. DIR/classes.txt lists the names in
//               id order (one name per line, line n = id n), which `--format synth` reads.
//   mots20      the same lines with 1-based frames, DIR/<video>.txt.
// Other formats (scalabel, bdd-bitmask, youtube-vis) are not written yet: RT_ERR_CONFIG.
// Masks are de-overlapped by score first (higher score wins each pixel) and objects left with
// an empty mask are dropped. Filters: min_score (rows below are dropped before de-overlapping),
// min_track_len (tracks with fewer kept frames in the video are dropped), classes (names).
// Streams over videos (memory bounded by the largest video); every file is written atomically.
// Failed archive videos are skipped. Not thread-safe per archive. Errors: RT_ERR_CONFIG,
// RT_ERR_IO (path in the message), the archive reader's errors, RT_ERR_NOMEM.
#ifndef PCAN_MERGE_EXPORT_H
#define PCAN_MERGE_EXPORT_H

#include <stddef.h>

#include "merge/archive.h"

typedef enum merge_export_format {
    MERGE_EXPORT_KITTI_MOTS,
    MERGE_EXPORT_MOTS20,
} merge_export_format;

typedef struct merge_export_params {
    merge_export_format format;
    const char *dir;          // created when missing
    double min_score;         // 0
    int min_track_len;        // 1
    const char *const *classes; // names kept; n_classes == 0: all
    size_t n_classes;
} merge_export_params;

merge_export_params merge_export_default_params(void);
// "kitti-mots", "mots20" → format; RT_ERR_CONFIG otherwise.
rt_status merge_export_format_parse(const char *name, merge_export_format *out);
rt_status merge_export(merge_archive *ar, const merge_export_params *params);

#endif
