// metrics — MOTS metrics that agree with the reference evaluators (METRICS.md).
//
// Two protocols:
//   MERGE_PROTOCOL_TRACKEVAL  TrackEval's KittiMOTS / MOTSChallenge: HOTA (19 α), CLEAR (MOTSA,
//                             sMOTSA, MOTSP, IDSW, Frag, MT/PT/ML with TrackEval's quirks) and
//                             Identity (IDF1), per class, sequences pooled as TrackEval pools them.
//   MERGE_PROTOCOL_BDD100K    bdd100k `-t seg_track` (scalabel + py-motmetrics accumulators): per
//                             class MOTA/MOTP/IDF1 (BDD's MOTSA/MOTSP/IDF1), FP, FN, IDSw, MT, PT,
//                             ML, FM; super-categories, AVERAGE (the m-metrics) and OVERALL rows.
//
// Streaming use, one video at a time (memory is bounded by the largest video):
//
//     merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
//     merge_video *v;  merge_video_init(&v, &p);
//     merge_totals tot;  merge_totals_init(&tot, &p);
//     for each video, in video-id order:
//         merge_video_begin(v, video_id);
//         for every frame of the video (empty frames too; they count as CLR_Frames):
//             merge_video_add_frame(v, &frame);        // masks are only borrowed for the call
//         merge_video_finish(v, &result);              // plain data: can be sent between ranks
//         merge_totals_add(&tot, &result);             // fold in video-id order → same doubles
//     merge_te_row row;  merge_totals_te_row(&tot, class_index, &row);
//     merge_video_free(&v);
//
// Result masks are de-overlapped first (params.deoverlap, DESIGN.md): painted in ascending score
// order so that a higher score wins each pixel; on equal scores the later object wins; a result
// left with no pixel is dropped (it is not in the painted map exports and converters write).
//
// Numbers are fractions (0.75), not percentages, except in merge_bdd_row where, as scalabel
// reports them, MOTA/MOTP/IDF1 are ×100. Field names follow the reference tools (TrackEval's
// MOTA is printed as MOTSA for masks; see METRICS.md §2).
//
// What the dataset adapter must do (the reference loaders' rules, METRICS.md §1-3):
//   KITTI MOTS / MOTS20: GT rows of class 10 (id 10000) become objects with ignore = 1; frames
//     are 0-based (KITTI) or 1-based (MOTS20), and every frame of the seqmap length is passed,
//     empty ones too. Result rows of any class are passed (other classes are not evaluated but
//     still compete for pixels).
//   BDD100K: GT labels of the 8 classes with crowd or ignored set, and the distractors mapped
//     by bdd100k_to_scalabel (other person → pedestrian, other vehicle → car, trailer → truck),
//     become ignore = 1; predictions marked crowd/ignored are dropped; non-digit GT ids are
//     renumbered per video; frames are paired by frameIndex.
// After an error the video's state is undefined: begin it again (or skip it).
//
// Thread safety: objects are independent; use one merge_video per thread. Not collective: no MPI.
// With deoverlap off, overlapping results of evaluated classes make BDD100K drop every result of
// that frame (scalabel's rule) and TrackEval fail (below).
// Errors: RT_ERR_SHAPE (masks of different sizes in a frame), RT_ERR_FORMAT (duplicate ids in
// a frame, overlapping GT masks when params.check_gt_overlap, overlapping results when
// deoverlap is off for TrackEval), RT_ERR_NOMEM. Objects of classes not in params are not evaluated (results
// of such classes still take part in de-overlapping).
#ifndef PCAN_MERGE_METRICS_H
#define PCAN_MERGE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"
#include "runtime/rle.h"

#define MERGE_HOTA_ALPHAS 19
#define MERGE_MAX_CLASSES 16
#define MERGE_MAX_GROUPS 8
#define MERGE_NAME_MAX 24

typedef enum merge_protocol {
    MERGE_PROTOCOL_TRACKEVAL = 0,
    MERGE_PROTOCOL_BDD100K = 1,
    MERGE_PROTOCOL_YOUTUBE_VIS = 2, // evaluated by merge/vis.h, not by merge_video
} merge_protocol;

// One ground-truth object or one result in a frame.
typedef struct merge_object {
    int64_t id;         // track id, unique within the frame among non-ignore objects
    int32_t cls;        // dataset class id (KITTI: 1 car, 2 pedestrian; BDD: 1..8)
    uint8_t ignore;     // GT only: ignore / crowd region (KITTI class 10, BDD crowd|ignored)
    double score;       // results only: decides de-overlap order
    const rt_rle *mask; // borrowed
} merge_object;

typedef struct merge_frame {
    const merge_object *gt;
    size_t n_gt;
    const merge_object *res;
    size_t n_res;
} merge_frame;

typedef struct merge_metrics_params {
    merge_protocol protocol;
    size_t n_classes; // evaluated classes, reported in this order
    int32_t class_id[MERGE_MAX_CLASSES];
    char class_name[MERGE_MAX_CLASSES][MERGE_NAME_MAX];
    int group_of_class[MERGE_MAX_CLASSES]; // super-category index, -1 for none (BDD)
    size_t n_groups;
    char group_name[MERGE_MAX_GROUPS][MERGE_NAME_MAX];
    bool deoverlap;        // de-overlap results by score (default true)
    bool check_gt_overlap; // overlapping GT masks are an error (TrackEval: true; BDD: false)
    size_t max_det;        // BDD: keep the results with the max_det smallest ids per frame (100)
} merge_metrics_params;

// TRACKEVAL: KITTI MOTS (car = 1, pedestrian = 2); for MOTS20 keep only pedestrian
// (n_classes = 1, class_id[0] = 2). BDD100K: the 8 seg_track classes, ids 1..8 in the order
// pedestrian, rider, car, truck, bus, train, motorcycle, bicycle, and the groups human, vehicle,
// bike.
merge_metrics_params merge_metrics_default_params(merge_protocol protocol);

// ---- Per-video partial results (plain data, fixed size) --------------------------------------

// TrackEval's per-sequence values for one class. `early` marks the sequences TrackEval returns
// from before computing its final fields (1: no tracker dets, 2: no GT dets).
typedef struct merge_te_seq {
    int64_t clr_tp, clr_fn, clr_fp, idsw, mt, pt, ml, frag, clr_frames;
    double motp_sum;
    int64_t idtp, idfn, idfp;
    int64_t hota_tp[MERGE_HOTA_ALPHAS], hota_fn[MERGE_HOTA_ALPHAS], hota_fp[MERGE_HOTA_ALPHAS];
    double ass_a[MERGE_HOTA_ALPHAS], ass_re[MERGE_HOTA_ALPHAS], ass_pr[MERGE_HOTA_ALPHAS];
    double loc_a[MERGE_HOTA_ALPHAS];
    int64_t dets, gt_dets, ids, gt_ids; // TrackEval's Count metric (after ignore removal)
    int early;
} merge_te_seq;

// One py-motmetrics accumulator (one video, one class).
typedef struct merge_bdd_seq {
    int has_events; // scalabel skips accumulators without events
    int64_t matches, switches, misses, fps;
    int64_t mt, pt, ml, frag;
    int64_t idtp, objects, predictions;
    double d_sum; // Σ distance (1 − IoU) over MATCH and SWITCH events
} merge_bdd_seq;

typedef struct merge_video_result {
    int64_t video_id;
    int64_t frames;
    merge_te_seq te[MERGE_MAX_CLASSES];
    merge_bdd_seq bdd[MERGE_MAX_CLASSES];
} merge_video_result;

// ---- Per-video evaluation ---------------------------------------------------------------------

typedef struct merge_video merge_video;

rt_status merge_video_init(merge_video **v, const merge_metrics_params *params);
void merge_video_free(merge_video **v);
// Starts a new video (keeps buffers).
void merge_video_begin(merge_video *v, int64_t video_id);
rt_status merge_video_add_frame(merge_video *v, const merge_frame *frame);
// Evaluates the video; `v` may then begin the next one.
rt_status merge_video_finish(merge_video *v, merge_video_result *out);

// ---- Totals over videos -----------------------------------------------------------------------

typedef struct merge_te_total {
    int64_t clr_tp, clr_fn, clr_fp, idsw, mt, pt, ml, frag, clr_frames;
    double motp_sum;
    int64_t idtp, idfn, idfp;
    int64_t hota_tp[MERGE_HOTA_ALPHAS], hota_fn[MERGE_HOTA_ALPHAS], hota_fp[MERGE_HOTA_ALPHAS];
    // Σ value·HOTA_TP per α (TrackEval's TP-weighted combination)
    double ass_a_w[MERGE_HOTA_ALPHAS], ass_re_w[MERGE_HOTA_ALPHAS], ass_pr_w[MERGE_HOTA_ALPHAS];
    double loc_a_w[MERGE_HOTA_ALPHAS];
    int64_t dets, gt_dets, ids, gt_ids;
} merge_te_total;

typedef struct merge_bdd_total {
    int64_t accs; // accumulators with events
    int64_t matches, switches, misses, fps, mt, pt, ml, frag, idtp, objects, predictions;
    double motp_w; // Σ motp_v·detections_v over accumulators with detections
} merge_bdd_total;

typedef struct merge_totals {
    merge_metrics_params params;
    int64_t videos;
    merge_te_total te[MERGE_MAX_CLASSES];
    merge_bdd_total bdd[MERGE_MAX_CLASSES];
} merge_totals;

void merge_totals_init(merge_totals *t, const merge_metrics_params *params);
// Adds one video. Folding the videos in video-id order gives the same doubles on any number of
// ranks.
void merge_totals_add(merge_totals *t, const merge_video_result *r);
// a += b (totals over disjoint sets of videos). Integer fields are exact; the weighted sums may
// differ from a single fold in the last bits.
void merge_totals_combine(merge_totals *a, const merge_totals *b);

// ---- Tables -----------------------------------------------------------------------------------

// One TrackEval row (a class over all sequences, one sequence, or a class combination).
typedef struct merge_te_row {
    // HOTA: means over the 19 α, then the per-α arrays.
    double HOTA, DetA, AssA, DetRe, DetPr, AssRe, AssPr, LocA, OWTA;
    double HOTA0, LocA0, HOTALocA0;
    double a_HOTA[MERGE_HOTA_ALPHAS], a_DetA[MERGE_HOTA_ALPHAS], a_AssA[MERGE_HOTA_ALPHAS];
    double a_DetRe[MERGE_HOTA_ALPHAS], a_DetPr[MERGE_HOTA_ALPHAS], a_AssRe[MERGE_HOTA_ALPHAS];
    double a_AssPr[MERGE_HOTA_ALPHAS], a_LocA[MERGE_HOTA_ALPHAS], a_OWTA[MERGE_HOTA_ALPHAS];
    int64_t HOTA_TP[MERGE_HOTA_ALPHAS], HOTA_FN[MERGE_HOTA_ALPHAS], HOTA_FP[MERGE_HOTA_ALPHAS];
    // CLEAR (TrackEval names; for masks MOTA = MOTSA, MOTP = MOTSP, MODA = MODSA, sMOTA = sMOTSA).
    double MOTA, MOTP, MODA, CLR_Re, CLR_Pr, MTR, PTR, MLR, sMOTA, CLR_F1, FP_per_frame, MOTAL;
    double MOTP_sum;
    int64_t CLR_TP, CLR_FN, CLR_FP, IDSW, MT, PT, ML, Frag, CLR_Frames;
    // Identity
    double IDF1, IDR, IDP;
    int64_t IDTP, IDFN, IDFP;
    // Count (ids are per sequence, so IDs and GT_IDs add up over sequences as TrackEval sums them)
    int64_t Dets, GT_Dets, IDs, GT_IDs;
} merge_te_row;

// The α values (numpy arange(0.05, 0.99, 0.05)).
double merge_hota_alpha(size_t a);
// COMBINED row of class `cls` (index into params).
void merge_totals_te_row(const merge_totals *t, size_t cls, merge_te_row *row);
// Row of one sequence for class `cls`, as TrackEval prints it (early sequences keep zeros).
void merge_video_te_row(const merge_video_result *r, size_t cls, merge_te_row *row);
// TrackEval's cls_comb_cls_av over rows[0..n): integer fields summed, floats averaged (classes
// without any data count unless ignore_empty). Works for sequence rows and combined rows.
// n ≤ 4·MERGE_MAX_CLASSES.
void merge_te_class_average(const merge_te_row *rows, size_t n, bool ignore_empty,
                            merge_te_row *out);
// TrackEval's cls_comb_det_av: counts pooled over all classes, then recomputed.
void merge_totals_te_det_average(const merge_totals *t, merge_te_row *row);

// One scalabel row; MOTA, MOTP and IDF1 ×100 (NaN when undefined, as motmetrics gives them).
typedef struct merge_bdd_row {
    double MOTA, MOTP, IDF1;
    int64_t FP, FN, IDSw, MT, PT, ML, FM;
} merge_bdd_row;

// Rows in scalabel's order: the n_classes classes, the n_groups super-categories, AVERAGE
// (mMOTA = BDD's mMOTSA, mMOTP, mIDF1: class means with NaN/±inf as 0; integers summed), then
// OVERALL (all classes pooled). `rows` holds n_classes + n_groups + 2 entries.
void merge_totals_bdd_rows(const merge_totals *t, merge_bdd_row *rows);

// Field tables for printing and JSON, in the reference tools' order: TrackEval's summary fields
// (HOTA, then CLEAR, then Identity) and scalabel's columns. `mots_name` is the MOTS paper name
// (MOTSA, sMOTSA, MOTSP, MODSA, MOTSAL for TrackEval's MOTA, sMOTA, MOTP, MODA, MOTAL; BDD's
// MOTSA, MOTSP for scalabel's MOTA, MOTP), otherwise the same as `name`.
typedef struct merge_field {
    const char *name;
    const char *mots_name;
    size_t offset; // into merge_te_row or merge_bdd_row
    char type;     // 'f': double, 'i': int64_t
} merge_field;

const merge_field *merge_te_fields(size_t *n);
const merge_field *merge_bdd_fields(size_t *n);
// The field's value in `row` as a double.
double merge_field_value(const merge_field *f, const void *row);

// De-overlaps n masks (all of one size): out[i] = in[i] minus every mask painted after it,
// painting in ascending score order (stable, so on ties the later index wins). `out` holds n
// initialised RLEs, distinct from the inputs. Allocates its temporaries.
rt_status merge_masks_deoverlap(const rt_rle *const *in, const double *score, size_t n,
                                rt_rle *out);

#endif
