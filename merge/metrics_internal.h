// metrics_internal — shared between merge/metrics*.c only; not part of the merge API.
//
// A preprocessed sequence is one class of one video: for each frame that has anything of the
// class, the ground-truth and result ids (relabelled to 0..n-1 in ascending original id order, as
// TrackEval does) and the mask IoU matrix [n_g][n_t] (row = GT, column = result).
#ifndef PCAN_MERGE_METRICS_INTERNAL_H
#define PCAN_MERGE_METRICS_INTERNAL_H

#include "merge/hungarian.h"
#include "merge/metrics.h"

typedef struct merge_seq_frame {
    uint32_t n_g, n_t;
    size_t off_g, off_t, off_s;
} merge_seq_frame;

typedef struct merge_seq {
    size_t n_frames;
    const merge_seq_frame *fr;
    const int32_t *g, *t; // relabelled ids, indexed by off_g / off_t
    const double *sim;    // indexed by off_s
    size_t n_gt_ids, n_tr_ids, n_gt_dets, n_tr_dets;
} merge_seq;

// Growable scratch owned by merge_video; buffers are reused between calls.
typedef struct merge_buf {
    void *p;
    size_t cap; // bytes
} merge_buf;

// Makes b hold at least `bytes` (contents not kept) and returns b->p, or NULL with NOMEM set.
void *merge_buf_get(merge_buf *b, size_t bytes);
void merge_buf_free(merge_buf *b);

typedef struct merge_eval_scratch {
    merge_hungarian hung;
    merge_buf b[8];
} merge_eval_scratch;

// numpy's np.sum of a contiguous double array (pairwise summation, blocks of 8), so that the
// per-sequence values match TrackEval's to the last bit.
double merge_np_sum(const double *a, size_t n);

// The largest Σ P[g][k] over one-to-one pairings of rows and columns of the G×K matrix of
// non-negative integer counts (the IDTP of TrackEval's and py-motmetrics' identity metrics).
rt_status merge_max_pairing(const double *P, size_t G, size_t K, merge_eval_scratch *ws,
                            double *best);

// TrackEval HOTA + CLEAR + Identity for one sequence; `frames` is the sequence length.
rt_status merge_te_eval_seq(const merge_seq *s, int64_t frames, merge_eval_scratch *ws,
                            merge_te_seq *out);
// One py-motmetrics accumulator fed with every stored frame of `s`.
rt_status merge_bdd_eval_seq(const merge_seq *s, merge_eval_scratch *ws, merge_bdd_seq *out);

#endif
