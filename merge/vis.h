// vis — YouTube-VIS video instance segmentation AP/AR as youtubevos/cocoapi's YTVOSeval computes
// it (iouType 'segm'; METRICS.md §4).
//
//     merge_vis *e;
//     merge_vis_init(&e, cat_ids, n_cats);
//     for each video in ascending video id:
//         merge_vis_add_video(e, video_id, gt_tracks, n_gt, result_tracks, n_res);
//     merge_vis_stats s;
//     merge_vis_summarize(e, &s);      // s.v[MERGE_VIS_AP] ... (−1 where undefined)
//     merge_vis_free(&e);
//
// A track is one object over the whole video: one mask per frame or NULL. The IoU of two tracks
// sums |d∩g| and |d∪g| over the frames both lists have (a frame with only one mask adds its area
// to the union; masks of different sizes add nothing); the detections of a (video, category) are
// matched greedily in descending score order (stable in input order) to the best unmatched GT
// with IoU ≥ t for t = 0.50:0.05:0.95, non-ignored GT first; crowd GT are ignored and may take
// several detections. A track's area is the mean of its non-zero per-frame areas; area ranges
// all, small (< 128²), medium, large (> 256²). Precision is interpolated at 101 recall points
// over the detections of all videos of a category (stable sort by score).
//
// Memory: per video only its tracks; across videos one small record per detection kept (≤ 100
// per video and category). Results must list tracks in the order of the results file (it
// decides ties). Not thread-safe per object; not collective.
// Errors: RT_ERR_INVAL (video ids not ascending, unknown category, duplicate video),
// RT_ERR_NOMEM.
#ifndef PCAN_MERGE_VIS_H
#define PCAN_MERGE_VIS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"
#include "runtime/rle.h"

typedef struct merge_vis_track {
    int32_t cls;                 // category id
    uint8_t iscrowd;             // GT only
    double score;                // results only
    double avg_area;             // < 0: computed from the masks (the GT file's `areas` otherwise)
    const rt_rle *const *masks;  // [n_frames], NULL entries for frames without the object
    size_t n_frames;
} merge_vis_track;

enum {
    MERGE_VIS_AP, MERGE_VIS_AP50, MERGE_VIS_AP75, MERGE_VIS_APS, MERGE_VIS_APM, MERGE_VIS_APL,
    MERGE_VIS_AR1, MERGE_VIS_AR10, MERGE_VIS_AR100, MERGE_VIS_ARS, MERGE_VIS_ARM, MERGE_VIS_ARL,
    MERGE_VIS_NSTATS
};

typedef struct merge_vis_stats {
    double v[MERGE_VIS_NSTATS]; // fractions; −1 when no category has a non-ignored GT
} merge_vis_stats;

// Printable names ("AP", "AP50", ... "ARl") in stats order.
const char *merge_vis_stat_name(int i);

typedef struct merge_vis merge_vis;

rt_status merge_vis_init(merge_vis **e, const int32_t *cat_ids, size_t n_cats);
void merge_vis_free(merge_vis **e);
// Borrowed tracks; nothing kept after the call returns.
rt_status merge_vis_add_video(merge_vis *e, int64_t video_id, const merge_vis_track *gt,
                              size_t n_gt, const merge_vis_track *res, size_t n_res);
rt_status merge_vis_summarize(merge_vis *e, merge_vis_stats *out);

// A result track's category and score from its per-frame rows (the rule `pcan eval` and the
// youtube-vis export share): the label it has most often, ties to the lower label; the mean of
// its scores (summed in row order, as double). n ≥ 1.
void merge_vis_track_label_score(const int16_t *labels, const float *scores, size_t n,
                                 int16_t *label, double *score);

#endif
