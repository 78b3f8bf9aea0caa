// evaluate — scores a pcan archive against a dataset's ground truth (the adapter between
// shard/datasets and merge/metrics). Used by `pcan eval` and by the merge stage of `pcan run` /
// `pcan merge`.
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
// Class mapping: the metric classes are, for trackeval and youtube-vis, every class of ds->classes
// (YouTube-VIS category id = class index + 1), for bdd100k the protocol's 8 (absent ones report
// empty rows); params.classes, when given, keeps only those names (RT_ERR_CONFIG for a name the
// dataset does not have); GT objects carry their ds class, results the ds class of
// the same name as their archive label (results of other classes still take part in
// de-overlapping). BDD100K GT objects marked crowd are ignore regions. Frames the annotations do
// not cover (shard_gt_frame.annotated false) are skipped. Results are de-overlapped by score.
//
// youtube-vis (merge/vis.h, YTVOSeval; merge_evaluate only): a result track is every row of one
// track id in the video; its category is the label it has most often (ties: the lower class
// index) and its score the mean of its per-frame scores (merge_vis_track_label_score); its masks
// are the de-overlapped masks on the frames the annotations cover (annotated frames, in order).
// GT tracks are the video's GT track ids with their class; crowd GT are VIS's iscrowd. Track
// areas are computed from the masks.
//
// The per-video step (GT + the archive's rows of one video → merge_video_result, with the class
// mapping and the missing/failed handling above) is merge_evaluator_video; merge_evaluate runs
// it serially and merge_evaluate_collective runs it on every rank of a communicator (trackeval,
// bdd100k), so both give the same doubles.
//
// Not thread-safe per archive (the reader is serial). Errors: RT_ERR_CONFIG (no dataset class
// matches the protocol's), RT_ERR_SHAPE (results and ground truth of different sizes), the GT
// readers' and archive reader's errors, metrics errors (the message names the video and frame).
#ifndef PCAN_MERGE_EVALUATE_H
#define PCAN_MERGE_EVALUATE_H

#include <mpi.h>
#include <stdio.h>

#include "merge/archive.h"
#include "merge/metrics.h"
#include "merge/vis.h"
#include "shard/datasets.h"

typedef struct merge_eval_params {
    merge_protocol protocol;
    FILE *log; // notes on missing / extra videos (NULL: silent)
    // Called after each video with its result, in video-id order (per-video tables); may be
    // NULL. merge_evaluate_collective calls it on rank 0 only.
    void (*on_video)(void *ctx, const char *video, const merge_metrics_params *classes,
                     const merge_video_result *r);
    void *ctx;
    // Only these class names (NULL / 0: every class the protocol evaluates). Borrowed.
    const char *const *classes;
    size_t n_classes;
} merge_eval_params;

merge_eval_params merge_eval_default_params(merge_protocol protocol);

// Plain data (no pointers): may be sent between ranks as bytes.
typedef struct merge_eval_summary {
    merge_protocol protocol;
    // TrackEval combines classes (cls_comb_cls_av, cls_comb_det_av) for its datasets other than
    // KittiMOTS and MOTSChallenge: false for kitti-mots and mots20 datasets.
    bool combine_classes;
    merge_totals totals;   // totals.params names the classes (trackeval, bdd100k)
    merge_vis_stats vis;   // youtube-vis
    size_t n_videos;       // dataset videos evaluated
    size_t n_missing;      // of these, without results in the archive
    size_t n_no_gt;        // archive videos skipped for lack of ground truth
    uint64_t n_masks;      // GT + result masks passed to the metrics
} merge_eval_summary;

// Serial: every dataset video with ground truth in id order. Not collective.
rt_status merge_evaluate(const shard_dataset *ds, merge_archive *ar, const merge_eval_params *params,
                         merge_eval_summary **out);
void merge_eval_summary_free(merge_eval_summary **s);

// Collective over comm: the same as merge_evaluate on the archive at `archive_path` (every rank
// opens it read-only with the serial reader, so it must be complete and closed), with the
// videos shared among the ranks. The per-video results are computed in rounds: each rank
// evaluates a contiguous block of the round's videos, the results travel to rank 0 as plain
// bytes (MPI_Gatherv) and rank 0 folds them in video-id order, so the doubles are those of
// merge_evaluate on any number of ranks; memory is bounded by one round. Every rank returns the
// same summary (broadcast from rank 0) and the same status (agreed). `ds` must be the same
// dataset on every rank. youtube-vis: rank 0 alone runs merge_evaluate on the archive (YTVOSeval
// ranks a category's detections over all videos) and the summary is broadcast; the other ranks
// wait idle in shard_mpi_agree (memory and time as merge_evaluate's, on rank 0).
rt_status merge_evaluate_collective(const shard_dataset *ds, const char *archive_path,
                                    const merge_eval_params *params, MPI_Comm comm,
                                    merge_eval_summary **out);

// ---- The per-video step ------------------------------------------------------------------------

typedef struct merge_evaluator merge_evaluator;

// The metric classes for `ds` under params->protocol, and the mapping of the archive's result
// labels (ar's classes attribute) to them. Borrows ds and ar for its lifetime. RT_ERR_CONFIG,
// RT_ERR_NOMEM.
rt_status merge_evaluator_init(const shard_dataset *ds, merge_archive *ar,
                               const merge_eval_params *params, merge_evaluator **out);
void merge_evaluator_free(merge_evaluator **ev);
// The evaluated classes (what merge_totals_init needs).
const merge_metrics_params *merge_evaluator_classes(const merge_evaluator *ev);
// Evaluates dataset video `index` (which must have ground truth) against its rows in the
// archive; a video missing from the archive or failed there counts with no results (*missing
// set, a note on params.log). Adds the masks passed to the metrics to *n_masks.
rt_status merge_evaluator_video(merge_evaluator *ev, size_t index, merge_video_result *out,
                                bool *missing, uint64_t *n_masks);

// The same evaluation with results read by a dataset reader instead of an archive: `res` lists
// the result videos (e.g. a `pcan export scalabel` folder opened as bdd100k-mots), matched to
// `ds` by video id; its objects are results of the ds class of the same name (ignore regions
// and objects of other classes are left out), all with score 0 (exports are de-overlapped
// already, so no mask is cut). Videos of `ds` missing from `res` count as all missed. This is
// how pseudo-labels are scored against the true ground truth. trackeval or bdd100k only
// (RT_ERR_CONFIG for youtube-vis, whose results are a file: merge_evaluate_vis_results). Errors
// as merge_evaluate.
rt_status merge_evaluate_dataset(const shard_dataset *ds, const shard_dataset *res,
                                 const merge_eval_params *params, merge_eval_summary **out);

// The same with the tracks of a YouTube-VIS results file (shard_vis_results, opened against
// `ds`; e.g. what `pcan export --format youtube-vis --annotations` wrote). youtube-vis: each
// track as the file gives it (its category, its score, its masks on the annotated frames), in
// file order (which breaks score ties, as in YTVOSeval); for an export of an archive this is
// exactly what merge_evaluate computes from the archive, as long as no row's mask was wholly cut
// by de-overlapping (the export leaves those frames out of the track's mean score and majority
// class, and a track cut everywhere is not written). trackeval / bdd100k: per frame, the tracks
// with a mask there as objects of their one category (track id = 1-based position among the
// video's tracks in the file, score = the track's): equal to the archive's numbers when every
// track keeps one class. Tracks of unmapped categories are left out; a video without tracks is
// evaluated with no results (not counted missing: the file cannot tell). Tracks of video ids
// that are no dataset video are noted on the log. Errors as merge_evaluate_dataset.
rt_status merge_evaluate_vis_results(const shard_dataset *ds, const shard_vis_results *res,
                                     const merge_eval_params *params, merge_eval_summary **out);

#endif
