// export — writes an archive's tracks in dataset formats, for other tools and pseudo-labels.
//
//     merge_export_params p = merge_export_default_params();
//     p.format = MERGE_EXPORT_SCALABEL; p.dir = "out/pseudo"; p.min_score = 0.5;
//     p.min_track_len = 5;
//     if (merge_export(ar, &p) != RT_OK) fprintf(stderr, "%s\n", rt_error());
//
// What is written (METRICS.md §1). Every video of the archive with status ok is exported; failed
// videos are skipped (nothing is written for them). A video's frames are 0 .. frames-1 of the
// archive's /videos entry (or up to its last row when that is later).
//   kitti-mots  DIR/<video>.txt, one line per object and frame: "frame obj_id class h w rle",
//               frames 0-based, obj_id = class·1000 + instance, instance = the track id; in a
//               video with a track id ≥ 1000 (after the filters) the instances are the tracks
//               renumbered 1..n in ascending track id, so class = obj_id / 1000 as KITTI MOTS
//               readers require; only when a video keeps ≥ 1000 tracks is obj_id class·1000 +
//               id % 1000 + 100000·(id / 1000) (unique per class, which TrackEval accepts).
//               Class ids: when the archive's classes contain "car" or "pedestrian", car = 1,
//               pedestrian = 2 and the others 3, 4, ... in archive order (10 is skipped, it
//               means "ignore"); otherwise class index + 1. DIR/classes.txt lists the names in
//               id order (one name per line, line n = id n), which `--format synth` reads.
//   mots20      the same lines with 1-based frames, DIR/<video>.txt.
//   scalabel    DIR/<video>.json: BDD100K MOTS results as bdd100k/scalabel read them (a list of
//               frames; the folder is what `bdd100k.eval.run -t seg_track -r` and our
//               bdd100k-mots reader take as a per-video annotation folder). One frame object per
//               line, every frame of the video (empty ones with "labels":[]), in this key order:
//               {"name":"<video>-<frameIndex+1, 7 digits>.jpg","videoName":..,"frameIndex":f,
//                "labels":[{"id":"<track id>","category":"<class name>","score":s,
//                           "rle":{"counts":"<COCO string>","size":[h,w]}}, ...]}
//               labels in ascending track id; ids are the archive's track ids (≥ 1, never "0");
//               score is the row's float32 score printed with 9 significant digits (exact).
//   bdd-bitmask DIR/<video>/<video>-<frameIndex+1, 7 digits>.png for every frame: 8-bit RGBA,
//               R = category id (1-based in pedestrian, rider, car, truck, bus, train,
//               motorcycle, bicycle; 0 = background), G = attributes (0: we have none),
//               B = instance id >> 8, A = instance id & 255; instance id = track id (when a
//               video has a track id above 65535, its ids are renumbered 1..n in ascending
//               track id). Masks are painted in ascending score order (the de-overlapped masks
//               are disjoint, so the painting order shows only in what was cut). Kept classes
//               that are not BDD100K classes are RT_ERR_CONFIG (leave them out with `classes`).
//   youtube-vis DIR/results.json, one list for the whole archive (written incrementally), one
//               entry per line and per track, videos in archive order, tracks in ascending id:
//               {"video_id":v,"category_id":c,"score":s,"segmentations":[RLE or null per
//               frame]} with RLE {"size":[h,w],"counts":"..."}. As the VIS tools expect
//               (MaskTrack R-CNN's results2json_videoseg): score = mean of the track's per-frame
//               scores (the frames written), category = the most frequent class over those
//               frames (ties: the lower class index), score with 17 significant digits.
//               video_id and category_id come from `ytvis_annotations` (the dataset's
//               YouTube-VIS JSON: the video whose file_names folder is the archive id, the
//               category of the same name) when given; otherwise video_id is the archive id
//               when every archive id is a positive decimal number, else the 1-based position in
//               the archive's video list, and category_id = class index + 1.
// Masks are de-overlapped by score first (higher score wins each pixel, ties: the higher track
// id) and objects left with an empty mask are dropped. Filters: classes (names) and min_score
// drop rows before de-overlapping; min_track_len drops the tracks that, de-overlapped with the
// rows those two filters keep, are left in fewer frames (the rest are then de-overlapped again
// without them, which only gives them pixels back: every exported track has at least
// min_track_len frames in the export).
//
// Streaming: one video at a time (memory bounded by the largest video; the youtube-vis file is
// appended per video). Every file is written atomically (temp name, fsync, rename): a failed
// export leaves whole files or none, and never touches the archive.
// Parts: with n_parts > 1 the call writes only the videos whose index in the archive is
// ≡ part (mod n_parts), and classes.txt only in part 0; so several processes (ranks) can
// export one finished archive together. youtube-vis writes one file: only part 0 writes it
// (whole), other parts do nothing.
// Not thread-safe per archive; not collective. Errors: RT_ERR_CONFIG (format, class names,
// annotations file), RT_ERR_IO (path in the message), RT_ERR_FORMAT (a row with track id < 1
// or a frame outside the video), the archive reader's errors, RT_ERR_NOMEM.
#ifndef PCAN_MERGE_EXPORT_H
#define PCAN_MERGE_EXPORT_H

#include <stddef.h>

#include "merge/archive.h"

typedef enum merge_export_format {
    MERGE_EXPORT_KITTI_MOTS,
    MERGE_EXPORT_MOTS20,
    MERGE_EXPORT_SCALABEL,
    MERGE_EXPORT_BDD_BITMASK,
    MERGE_EXPORT_YOUTUBE_VIS,
} merge_export_format;

typedef struct merge_export_params {
    merge_export_format format;
    const char *dir;          // created when missing
    double min_score;         // 0
    int min_track_len;        // 1
    const char *const *classes; // names kept; n_classes == 0: all
    size_t n_classes;
    const char *ytvis_annotations; // youtube-vis only: the dataset's JSON for the ids (NULL)
    int part, n_parts;        // 0, 1: everything
} merge_export_params;

merge_export_params merge_export_default_params(void);
// "kitti-mots", "mots20", "scalabel", "bdd-bitmask", "youtube-vis" → format; RT_ERR_CONFIG
// naming the valid ones otherwise.
rt_status merge_export_format_parse(const char *name, merge_export_format *out);
const char *merge_export_format_name(merge_export_format f);
// Writes the export described above. Not collective.
rt_status merge_export(merge_archive *ar, const merge_export_params *params);

#endif
