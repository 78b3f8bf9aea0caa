// tracker — the QDTrack-style tracker of the released PCAN model (QuasiDenseSegFeatEmbedTracker;
// PCAN-FACTS.md §4), one per video.
//
//     rt_tracker_params p = rt_tracker_default_params();   // the fixed_pcan config values
//     rt_tracker *t = NULL;
//     if (rt_tracker_init(&t, &p) != RT_OK) ...;           // all storage, worst case, here
//     for each video:
//         rt_tracker_reset(t);                             // next id 0, no tracks, no backdrops
//         for each frame with n > 0 detections:
//             rt_tracker_match(t, frame_id, &dets, &m);    // ids + reference payloads
//             ... refine head on m.n kept detections, reading m.ref_mask_feat/ref_mask_pred ...
//             rt_tracker_update(t, frame_id, &dets, refine_preds);
//         // frames with n == 0: call neither (calling them is a documented no-op)
//     rt_tracker_free(&t);
//
// match() and update() never allocate; the bound that makes this possible is proved in
// tracker.c (at most memo_tracklet_frames x max_det live tracks).
//
// Numerics follow the PyTorch code in float32: thresholds are compared as float32 (like a
// float32 tensor against a Python scalar, so an IoU of exactly 0.3f is not "> 0.3"), IoU is mmdet
// bbox_overlaps (no +1, union clamped to 1e-6), the embedding momentum is
// (float)(1-m)·old + (float)m·new. Dot products are accumulated in double in index order and
// rounded to float; softmaxes subtract the maximum first. No threads; results depend only on
// the inputs. PyTorch's exp differs from libm's in the last bit, so a similarity within an ulp of
// match_score_thr can decide differently: on ~9,000 random frames checked against the SysCV/pcan
// tracker (torch 1.13 CPU), ids, references, tracks and backdrops agreed except for one such tie
// (S = 0.5 here, 0.50000006 there).
//
// Ties (both documented deviations from "unspecified" in PyTorch): equal scores keep their input
// order (stable sort), and a row maximum shared by several memo entries picks the first one in
// memo order (tracks in creation order, then backdrops), which is what torch.max does on CPU.
//
// Thread safety: a tracker is used by one thread at a time. Distinct trackers are independent.
#ifndef PCAN_RUNTIME_TRACKER_H
#define PCAN_RUNTIME_TRACKER_H

#include <stdbool.h>

#include "runtime/core.h"

typedef struct rt_tracker rt_tracker;

typedef struct rt_tracker_params {
    // The model config's `tracker:` section. Thresholds are given as the config's numbers and
    // compared in float32.
    double init_score_thr;       // 0.7: an unmatched detection above this starts a track
    double obj_score_thr;        // 0.3
    double match_score_thr;      // 0.5: bi-softmax score needed to match
    int memo_tracklet_frames;    // 10: a track unseen for this many frames is dropped
    int memo_backdrop_frames;    // 1: frames of unmatched detections kept as backdrops
    double memo_momentum;        // 0.8: weight of the new embedding
    double nms_conf_thr;         // 0.5
    double nms_backdrop_iou_thr; // 0.3
    double nms_class_iou_thr;    // 0.7
    bool with_cats;              // true: only same-label memo entries can match
    // Sizes (floats per detection).
    int embed_dim;        // 256: track head embedding
    int mask_feat_size;   // 256*14*14: mask RoI features (the refine head's key/reference)
    int mask_pred_size;   // 8*28*28: FCN mask head logits, all classes
    int refine_pred_size; // 28*28: refine head logits
    int max_det;          // 100: detections per frame (rcnn max_per_img)
} rt_tracker_params;

// The released fixed_pcan values (PCAN-FACTS.md §1.3) and the BDD model's sizes.
rt_tracker_params rt_tracker_default_params(void);

// One frame's detections, in the detector's order. All arrays are borrowed for the call (and,
// for mask_feats/mask_preds, for as long as the match result's references are used).
typedef struct rt_tracker_dets {
    int n;                   // 0..max_det
    const float *boxes;      // [n,4] x1,y1,x2,y2 in original-image pixels
    const float *scores;     // [n]
    const int *labels;       // [n] class index
    const float *embeds;     // [n,embed_dim]
    const float *mask_feats; // [n,mask_feat_size]
    const float *mask_preds; // [n,mask_pred_size]
} rt_tracker_dets;

// What match() decided. Every array lives in the tracker and stays valid until the next
// rt_tracker_match/update/reset/free on it.
typedef struct rt_tracker_match_result {
    int n_in;                   // dets->n
    const int *sorted;          // [n_in] detection index in descending score order (stable)
    const unsigned char *valid; // [n_in] per sorted position: 1 kept, 0 removed as a duplicate
    int n;                      // kept detections
    const int *index;           // [n] detection index of each kept detection, in sorted order
    // [n] track id (>= 0: matched or new), -1 (unmatched, score <= init_score_thr: not
    // output; may become a backdrop) or -2 (suppressed; unreachable with the released config).
    const int *ids;
    // [n] the reference payload for the refine head: the matched track's stored mask_feat /
    // mask_pred (pointers into the tracker, valid until the next update/reset/free) or, for an
    // unmatched or new detection, its own row of dets->mask_feats / dets->mask_preds.
    const float *const *ref_mask_feat;
    const float *const *ref_mask_pred;
} rt_tracker_match_result;

// Allocates a tracker holding every buffer it will ever need. *t must be NULL.
// Returns RT_OK, RT_ERR_CONFIG (bad parameter, message names it) or RT_ERR_NOMEM (*t stays
// NULL). Memory is about memo_tracklet_frames * max_det * (mask_feat + mask_pred + refine_pred
// + embed) floats (≈230 MB of address space for BDD), allocated untouched: pages become
// resident only as track slots are first used.
rt_status rt_tracker_init(rt_tracker **t, const rt_tracker_params *params);
// Accepts NULL and *t == NULL; sets *t to NULL.
void rt_tracker_free(rt_tracker **t);
// Start of a video: next id 0, no tracks, no backdrops, no frame seen. Never fails.
void rt_tracker_reset(rt_tracker *t);

// §4.1: sorts by score, removes duplicates, matches against the tracks (then backdrops) with the
// bi-softmax, gives new ids to unmatched detections above init_score_thr. Advances the next id.
// frame_id must be >= 0 and greater than that of the last non-empty match since reset.
// dets->n == 0 is a no-op (empty result, no state change), equivalent to the reference code
// skipping the tracker on a frame without detections.
// Returns RT_OK or RT_ERR_INVAL (n > max_det, non-finite box/score/embedding, NULL array,
// frame id not increasing), leaving the tracker unchanged on error. Never allocates.
rt_status rt_tracker_match(rt_tracker *t, int frame_id, const rt_tracker_dets *dets,
                           rt_tracker_match_result *out);

// §4.3, for the frame just matched: `dets` must be the same detections passed to match (the
// kept ones are read through the match's permutation) and refine_preds [m.n, refine_pred_size]
// the refine head output for the kept detections in kept (sorted) order. Matched tracks take
// the detection's box, label, mask_feat, mask_pred, refine_pred and a momentum-averaged
// embedding; new ids become tracks; surviving unmatched (-1) detections form the newest
// backdrop group; tracks with frame_id - last_frame >= memo_tracklet_frames are dropped.
// dets->n == 0 is a no-op (no backdrop refresh, no expiry), like skipping the call.
// Invalidates the match result's pointers into the tracker. Returns RT_OK or RT_ERR_INVAL (no
// pending match, a different frame_id or n, NULL array), leaving the tracker unchanged on
// error. Never allocates.
rt_status rt_tracker_update(rt_tracker *t, int frame_id, const rt_tracker_dets *dets,
                            const float *refine_preds);

// Read-only view of the state, for tests and diagnostics. Pointers are valid until the next
// update/reset/free.
typedef struct rt_tracker_track {
    int id;
    int label;
    int last_frame;
    float box[4];
    float score;
    const float *embed;       // [embed_dim]
    const float *mask_feat;   // [mask_feat_size]
    const float *mask_pred;   // [mask_pred_size]
    const float *refine_pred; // [refine_pred_size]
} rt_tracker_track;

typedef struct rt_tracker_backdrop {
    int label;
    float box[4];
    float score;
    const float *embed; // [embed_dim]
} rt_tracker_backdrop;

const rt_tracker_params *rt_tracker_get_params(const rt_tracker *t);
int rt_tracker_next_id(const rt_tracker *t);
// Live tracks in memo (creation) order; i in [0, rt_tracker_num_tracks).
int rt_tracker_num_tracks(const rt_tracker *t);
void rt_tracker_get_track(const rt_tracker *t, int i, rt_tracker_track *out);
// Backdrops in memo order (newest group first); i in [0, rt_tracker_num_backdrops).
int rt_tracker_num_backdrops(const rt_tracker *t);
void rt_tracker_get_backdrop(const rt_tracker *t, int i, rt_tracker_backdrop *out);
// The similarity matrix of the last match that had tracks, [*rows, *cols] row-major, after the
// bi-softmax and the class gate and before the greedy assignment; NULL with 0x0 when the last
// match had no tracks to match against. Valid until the next match/reset/free.
const float *rt_tracker_last_scores(const rt_tracker *t, int *rows, int *cols);
// Capacity of the track pool (memo_tracklet_frames * max_det) and the most tracks alive at
// once since init.
int rt_tracker_capacity(const rt_tracker *t);
int rt_tracker_peak_tracks(const rt_tracker *t);

#endif
