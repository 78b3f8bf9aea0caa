// evaluate — scores a pcan archive against a dataset's ground truth (the adapter between
// shard/datasets and merge/metrics). Used by `pcan eval` and the run's merge stage.
//
//     merge_eval_params p = merge_eval_default_params(MERGE_PROTOCOL_TRACKEVAL);
//     merge_eval_summary *s;
//     if (merge_evaluate(ds, ar, &p, &s) != RT_OK) fprintf(stderr, "%s\n", rt_error());
//     ... s->totals (merge_totals_te_row / merge_totals_bdd_rows), s->n_missing ...
//     merge_eval_summary_free(&s);
//
// Videos are walked in the dataset's id order (strcmp), one at a time: memory is bounded by the
// largest video. Every dataset video with ground truth is evaluated; one missing from the archive
// (or marked failed there) counts with no results (all FN) and is counted in n_missing and
// named on `params.log`. Archive videos without ground truth are counted in n_no_gt, named on
// the log and skipped.
//
// Class mapping: the metric classes are the protocol's (merge_metrics_default_params) restricted
// to the names present in ds->classes; GT objects carry their ds class, results the ds class of
// the same name as their archive label (results of other classes still take part in
// de-overlapping). BDD100K GT objects marked crowd are ignore regions. Frames the annotations do
// not cover (shard_gt_frame.annotated false) are skipped. Results are de-overlapped by score.
//
// Not thread-safe per archive (the reader is serial). Errors: RT_ERR_CONFIG (no dataset class
// matches the protocol's), the GT readers' and archive reader's errors, metrics errors (the
// message names the video and frame).
#ifndef PCAN_MERGE_EVALUATE_H
#define PCAN_MERGE_EVALUATE_H

#include <stdio.h>

#include "merge/archive.h"
#include "merge/metrics.h"
#include "shard/datasets.h"

typedef struct merge_eval_params {
    merge_protocol protocol;
    FILE *log; // notes on missing / extra videos (NULL: silent)
    // Called after each video with its result (per-video tables); may be NULL.
    void (*on_video)(void *ctx, const char *video, const merge_metrics_params *classes,
                     const merge_video_result *r);
    void *ctx;
} merge_eval_params;

merge_eval_params merge_eval_default_params(merge_protocol protocol);

typedef struct merge_eval_summary {
    merge_totals totals;   // totals.params names the classes
    size_t n_videos;       // dataset videos evaluated
    size_t n_missing;      // of these, without results in the archive
    size_t n_no_gt;        // archive videos skipped for lack of ground truth
    uint64_t n_masks;      // GT + result masks passed to the metrics
} merge_eval_summary;

rt_status merge_evaluate(const shard_dataset *ds, merge_archive *ar, const merge_eval_params *params,
                         merge_eval_summary **out);
void merge_eval_summary_free(merge_eval_summary **s);

#endif
