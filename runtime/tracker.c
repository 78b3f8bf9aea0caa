// The QDTrack-style tracker of the released PCAN model (PCAN-FACTS.md §4). See tracker.h.
//
// Pool bound (why init can allocate everything once):
//   Claim: after every update, each live track has last_frame in (F - T, F], where F is that
//   update's frame id and T = memo_tracklet_frames, and at most T * max_det tracks are alive.
//   - A track's last_frame is set only by an update (creation or match), to that update's frame.
//   - Expiry runs at the end of every update and removes exactly the tracks with
//     F - last_frame >= T, so the survivors have last_frame in (F - T, F].
//   - Updates happen on strictly increasing frame ids (match refuses a frame id that does not
//     increase, and update must follow the match of the same frame), so at most T distinct update
//     frames lie in (F - T, F].
//   - One update gives last_frame = F to at most one track per kept detection with id >= 0: ids
//     are distinct within a frame (a matched memo column is closed for the later rows; new ids
//     are fresh), and kept <= n <= max_det. A track updated again later leaves its old frame.
//   Hence live tracks <= T * max_det after each update. Between updates nothing is added.
//   During an update the existing tracks are refreshed and expired before the new ones are
//   inserted (the same final state as the reference, which inserts first and expires last,
//   because new tracks have last_frame = F and never expire when T >= 1; with T = 0 every track
//   expires at once, so none is stored). The pool therefore never holds more than T * max_det.
//   The memo seen by match is those tracks plus at most memo_backdrop_frames * max_det
//   backdrops. The empty-frame path (no update) only delays expiry; it adds nothing.
//   The stress test in tests/test_tracker.c reaches the bound exactly.
#include "runtime/tracker.h"

#include <limits.h>
#include <math.h>
#include <string.h>

typedef struct track_slot {
    int id;
    int label;
    int last_frame;
    float box[4];
    float score;
} track_slot;

typedef struct backdrop_entry {
    int label;
    float box[4];
    float score;
} backdrop_entry;

struct rt_tracker {
    rt_tracker_params p;
    // Thresholds as float32, as the reference compares float32 tensors with Python scalars.
    float init_thr, obj_thr, match_thr, conf_thr, bd_iou_thr, cls_iou_thr;
    float mom_old, mom_new; // (float)(1 - m), (float)m
    int cap;                // track slots: T * max_det
    int memo_cap;           // cap + B * max_det

    // Track pool: payloads by slot; `order` lists live slots in creation (dict) order.
    float *t_embed;  // [cap, D]
    float *t_feat;   // [cap, mask_feat_size]
    float *t_mpred;  // [cap, mask_pred_size]
    float *t_refine; // [cap, refine_pred_size]
    track_slot *t_info;
    int *order;
    int n_tracks;
    int *free_slots; // stack
    int n_free;
    int peak_tracks;

    // Backdrops: a ring of B groups of up to max_det entries; b_head is the newest group.
    float *b_embed;        // [B * max_det, D]
    backdrop_entry *b_ent; // [B * max_det]
    int *b_count;          // [B]
    int b_head, b_groups;

    // Per-frame scratch and the match result, [max_det] unless noted.
    int *sorted;
    unsigned char *valid;
    int *kept;
    int *ids;
    int *match_slot; // slot of the matched track, -1 otherwise
    float *kept_box; // [max_det, 4] copies, to check update gets the same detections
    float *kept_score;
    int *kept_label;
    const float **ref_feat;
    const float **ref_mpred;
    // Memo and similarity, [memo_cap] and [max_det, memo_cap].
    const float **memo_embed;
    int *memo_label;
    int *memo_id;
    int *memo_slot;
    unsigned char *memo_taken;
    float *sim;  // f = E·Mᵀ, then S
    float *d2t;
    int sim_rows, sim_cols;

    int next_id;
    int last_frame_id; // of the last non-empty match since reset, -1 before
    bool pending;      // a match waits for its update
    int pending_frame;
    int n_kept;
    int n_in;
};

rt_tracker_params rt_tracker_default_params(void) {
    rt_tracker_params p = {
        .init_score_thr = 0.7,
        .obj_score_thr = 0.3,
        .match_score_thr = 0.5,
        .memo_tracklet_frames = 10,
        .memo_backdrop_frames = 1,
        .memo_momentum = 0.8,
        .nms_conf_thr = 0.5,
        .nms_backdrop_iou_thr = 0.3,
        .nms_class_iou_thr = 0.7,
        .with_cats = true,
        .embed_dim = 256,
        .mask_feat_size = 256 * 14 * 14,
        .mask_pred_size = 8 * 28 * 28,
        .refine_pred_size = 28 * 28,
        .max_det = 100,
    };
    return p;
}

static rt_status check_params(const rt_tracker_params *p) {
    const struct {
        const char *name;
        double v;
    } thr[] = {
        {"init_score_thr", p->init_score_thr},   {"obj_score_thr", p->obj_score_thr},
        {"match_score_thr", p->match_score_thr}, {"nms_conf_thr", p->nms_conf_thr},
        {"nms_backdrop_iou_thr", p->nms_backdrop_iou_thr},
        {"nms_class_iou_thr", p->nms_class_iou_thr},
    };
    for (size_t i = 0; i < RT_COUNTOF(thr); i++)
        if (!isfinite(thr[i].v))
            return rt_error_set(RT_ERR_CONFIG, "tracker: %s is not a finite number", thr[i].name);
    if (!(p->memo_momentum >= 0.0 && p->memo_momentum <= 1.0))
        return rt_error_set(RT_ERR_CONFIG, "tracker: memo_momentum %g is outside [0, 1]",
                            p->memo_momentum);
    const struct {
        const char *name;
        int v, lo;
    } ints[] = {
        {"memo_tracklet_frames", p->memo_tracklet_frames, 0},
        {"memo_backdrop_frames", p->memo_backdrop_frames, 0},
        {"embed_dim", p->embed_dim, 1},
        {"mask_feat_size", p->mask_feat_size, 1},
        {"mask_pred_size", p->mask_pred_size, 1},
        {"refine_pred_size", p->refine_pred_size, 1},
        {"max_det", p->max_det, 1},
    };
    for (size_t i = 0; i < RT_COUNTOF(ints); i++)
        if (ints[i].v < ints[i].lo)
            return rt_error_set(RT_ERR_CONFIG, "tracker: %s is %d, must be >= %d", ints[i].name,
                                ints[i].v, ints[i].lo);
    // Keeps every slot count an int and leaves room for the byte sizes checked at init.
    long long slots = ((long long)p->memo_tracklet_frames + p->memo_backdrop_frames) * p->max_det;
    if (slots > INT_MAX / 2 || (long long)p->max_det * slots > INT_MAX)
        return rt_error_set(RT_ERR_CONFIG,
                            "tracker: memo_tracklet_frames %d + memo_backdrop_frames %d times "
                            "max_det %d is too large",
                            p->memo_tracklet_frames, p->memo_backdrop_frames, p->max_det);
    return RT_OK;
}

// rt_malloc of count * size bytes, NULL on overflow or exhaustion.
static void *alloc_array(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    return rt_malloc(count * size);
}

rt_status rt_tracker_init(rt_tracker **out, const rt_tracker_params *params) {
    RT_ASSERT(out && *out == NULL && params);
    rt_status st = check_params(params);
    if (st != RT_OK) return st;
    rt_tracker *t = rt_calloc(1, sizeof *t);
    if (!t) return rt_error_set(RT_ERR_NOMEM, "tracker: out of memory");
    t->p = *params;
    const rt_tracker_params *p = &t->p;
    t->init_thr = (float)p->init_score_thr;
    t->obj_thr = (float)p->obj_score_thr;
    t->match_thr = (float)p->match_score_thr;
    t->conf_thr = (float)p->nms_conf_thr;
    t->bd_iou_thr = (float)p->nms_backdrop_iou_thr;
    t->cls_iou_thr = (float)p->nms_class_iou_thr;
    t->mom_old = (float)(1.0 - p->memo_momentum);
    t->mom_new = (float)p->memo_momentum;
    t->cap = p->memo_tracklet_frames * p->max_det;
    int nbd = p->memo_backdrop_frames * p->max_det;
    t->memo_cap = t->cap + nbd;
    size_t cap = (size_t)t->cap, D = (size_t)p->embed_dim, nd = (size_t)p->max_det;
    size_t mc = (size_t)t->memo_cap;

    // The large payload arrays stay untouched until slots are used (malloc, not calloc).
    if (!(t->t_embed = alloc_array(cap, D * sizeof(float)))) goto fail;
    if (!(t->t_feat = alloc_array(cap, (size_t)p->mask_feat_size * sizeof(float)))) goto fail;
    if (!(t->t_mpred = alloc_array(cap, (size_t)p->mask_pred_size * sizeof(float)))) goto fail;
    if (!(t->t_refine = alloc_array(cap, (size_t)p->refine_pred_size * sizeof(float))))
        goto fail;
    if (!(t->t_info = alloc_array(cap, sizeof *t->t_info))) goto fail;
    if (!(t->order = alloc_array(cap, sizeof *t->order))) goto fail;
    if (!(t->free_slots = alloc_array(cap, sizeof *t->free_slots))) goto fail;
    if (!(t->b_embed = alloc_array((size_t)nbd, D * sizeof(float)))) goto fail;
    if (!(t->b_ent = alloc_array((size_t)nbd, sizeof *t->b_ent))) goto fail;
    if (!(t->b_count = alloc_array((size_t)p->memo_backdrop_frames, sizeof *t->b_count)))
        goto fail;
    if (!(t->sorted = alloc_array(nd, sizeof(int)))) goto fail;
    if (!(t->valid = alloc_array(nd, 1))) goto fail;
    if (!(t->kept = alloc_array(nd, sizeof(int)))) goto fail;
    if (!(t->ids = alloc_array(nd, sizeof(int)))) goto fail;
    if (!(t->match_slot = alloc_array(nd, sizeof(int)))) goto fail;
    if (!(t->kept_box = alloc_array(nd, 4 * sizeof(float)))) goto fail;
    if (!(t->kept_score = alloc_array(nd, sizeof(float)))) goto fail;
    if (!(t->kept_label = alloc_array(nd, sizeof(int)))) goto fail;
    if (!(t->ref_feat = alloc_array(nd, sizeof(float *)))) goto fail;
    if (!(t->ref_mpred = alloc_array(nd, sizeof(float *)))) goto fail;
    if (!(t->memo_embed = alloc_array(mc, sizeof(float *)))) goto fail;
    if (!(t->memo_label = alloc_array(mc, sizeof(int)))) goto fail;
    if (!(t->memo_id = alloc_array(mc, sizeof(int)))) goto fail;
    if (!(t->memo_slot = alloc_array(mc, sizeof(int)))) goto fail;
    if (!(t->memo_taken = alloc_array(mc, 1))) goto fail;
    if (!(t->sim = alloc_array(nd * mc, sizeof(float)))) goto fail;
    if (!(t->d2t = alloc_array(nd * mc, sizeof(float)))) goto fail;
    rt_tracker_reset(t);
    *out = t;
    return RT_OK;
fail:
    rt_tracker_free(&t);
    return rt_error_set(RT_ERR_NOMEM,
                        "tracker: out of memory for %d track slots of %d+%d+%d+%d floats",
                        params->memo_tracklet_frames * params->max_det, params->embed_dim,
                        params->mask_feat_size, params->mask_pred_size,
                        params->refine_pred_size);
}

void rt_tracker_free(rt_tracker **pt) {
    if (!pt || !*pt) return;
    rt_tracker *t = *pt;
    void *bufs[] = {
        t->t_embed,  t->t_feat,      t->t_mpred,    t->t_refine,   t->t_info,     t->order,
        t->free_slots, t->b_embed,   t->b_ent,      t->b_count,    t->sorted,     t->valid,
        t->kept,     t->ids,         t->match_slot, t->kept_box,   t->kept_score, t->kept_label,
        (void *)t->ref_feat, (void *)t->ref_mpred, (void *)t->memo_embed, t->memo_label,
        t->memo_id,  t->memo_slot,   t->memo_taken, t->sim,        t->d2t,
    };
    for (size_t i = 0; i < RT_COUNTOF(bufs); i++) rt_free(bufs[i]);
    rt_free(t);
    *pt = NULL;
}

void rt_tracker_reset(rt_tracker *t) {
    RT_ASSERT(t);
    t->n_tracks = 0;
    // Lowest slot first, so that slot use (and thus resident memory) is the same every video.
    t->n_free = t->cap;
    for (int i = 0; i < t->cap; i++) t->free_slots[i] = t->cap - 1 - i;
    t->b_head = 0;
    t->b_groups = 0;
    t->sim_rows = t->sim_cols = 0;
    t->next_id = 0;
    t->last_frame_id = -1;
    t->pending = false;
    t->n_kept = 0;
    t->n_in = 0;
}

// mmdet bbox_overlaps (mode iou, no +1), in float32 in the same operation order.
static float box_iou(const float *a, const float *b) {
    float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    w = w < 0.0f ? 0.0f : w;
    h = h < 0.0f ? 0.0f : h;
    float overlap = w * h;
    float uni = area_a + area_b - overlap;
    uni = fmaxf(uni, 1e-6f);
    return overlap / uni;
}

// Four interleaved double partial sums (k mod 4), combined in a fixed order: deterministic, and
// not bound by the latency of one long add chain (the worst case is 100 x 1100 x 256 products).
static float dot(const float *a, const float *b, int n) {
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    int k = 0;
    for (; k + 4 <= n; k += 4)
        for (int l = 0; l < 4; l++) s[l] += (double)a[k + l] * (double)b[k + l];
    for (; k < n; k++) s[k & 3] += (double)a[k] * (double)b[k];
    return (float)((s[0] + s[1]) + (s[2] + s[3]));
}

static rt_status check_dets(const rt_tracker *t, int frame_id, const rt_tracker_dets *d) {
    const int D = t->p.embed_dim;
    if (!d->boxes || !d->scores || !d->labels || !d->embeds || !d->mask_feats || !d->mask_preds)
        return rt_error_set(RT_ERR_INVAL, "tracker: frame %d: a detection array is NULL",
                            frame_id);
    for (int i = 0; i < d->n; i++) {
        for (int k = 0; k < 4; k++)
            if (!isfinite(d->boxes[i * 4 + k]))
                return rt_error_set(RT_ERR_INVAL,
                                    "tracker: frame %d: detection %d has a non-finite box",
                                    frame_id, i);
        if (!isfinite(d->scores[i]))
            return rt_error_set(RT_ERR_INVAL,
                                "tracker: frame %d: detection %d has a non-finite score",
                                frame_id, i);
        const float *e = d->embeds + (size_t)i * D;
        for (int k = 0; k < D; k++)
            if (!isfinite(e[k]))
                return rt_error_set(RT_ERR_INVAL,
                                    "tracker: frame %d: detection %d has a non-finite "
                                    "embedding value at %d",
                                    frame_id, i, k);
    }
    return RT_OK;
}

// Fills t->memo_* with the tracks (creation order) then the backdrops (newest group first).
static int build_memo(rt_tracker *t) {
    const int D = t->p.embed_dim, nd = t->p.max_det, B = t->p.memo_backdrop_frames;
    int m = 0;
    for (int k = 0; k < t->n_tracks; k++, m++) {
        int s = t->order[k];
        t->memo_embed[m] = t->t_embed + (size_t)s * D;
        t->memo_label[m] = t->t_info[s].label;
        t->memo_id[m] = t->t_info[s].id;
        t->memo_slot[m] = s;
    }
    for (int g = 0; g < t->b_groups; g++) {
        int gi = (t->b_head + g) % B;
        for (int e = 0; e < t->b_count[gi]; e++, m++) {
            int bi = gi * nd + e;
            t->memo_embed[m] = t->b_embed + (size_t)bi * D;
            t->memo_label[m] = t->b_ent[bi].label;
            t->memo_id[m] = -1;
            t->memo_slot[m] = -1;
        }
    }
    RT_ASSERT(m <= t->memo_cap);
    return m;
}

// S = (softmax_rows(f) + softmax_cols(f)) / 2, then the class gate; f is [n, m] in t->sim.
static void bisoftmax(rt_tracker *t, int n, int m) {
    float *f = t->sim, *r = t->d2t;
    for (int i = 0; i < n; i++) {
        const float *fi = f + (size_t)i * m;
        float *ri = r + (size_t)i * m;
        float mx = fi[0];
        for (int j = 1; j < m; j++) mx = fmaxf(mx, fi[j]);
        double sum = 0.0;
        for (int j = 0; j < m; j++) {
            ri[j] = expf(fi[j] - mx);
            sum += ri[j];
        }
        float fs = (float)sum;
        for (int j = 0; j < m; j++) ri[j] /= fs;
    }
    for (int j = 0; j < m; j++) {
        float mx = f[j];
        for (int i = 1; i < n; i++) mx = fmaxf(mx, f[(size_t)i * m + j]);
        double sum = 0.0;
        for (int i = 0; i < n; i++) sum += expf(f[(size_t)i * m + j] - mx);
        float fs = (float)sum;
        // Each column is rewritten after all of it was read, so f can hold S in place.
        for (int i = 0; i < n; i++) {
            size_t ij = (size_t)i * m + j;
            float t2d = expf(f[ij] - mx) / fs;
            float s = (r[ij] + t2d) / 2.0f;
            // Gate after the softmaxes, as the reference multiplies by the same-class mask.
            if (t->p.with_cats) s *= t->kept_label[i] == t->memo_label[j] ? 1.0f : 0.0f;
            f[ij] = s;
        }
    }
}

rt_status rt_tracker_match(rt_tracker *t, int frame_id, const rt_tracker_dets *dets,
                           rt_tracker_match_result *out) {
    RT_ASSERT(t && dets && out);
    memset(out, 0, sizeof *out);
    out->sorted = t->sorted;
    out->valid = t->valid;
    out->index = t->kept;
    out->ids = t->ids;
    out->ref_mask_feat = t->ref_feat;
    out->ref_mask_pred = t->ref_mpred;
    const int n = dets->n, D = t->p.embed_dim;
    if (n < 0 || n > t->p.max_det)
        return rt_error_set(RT_ERR_INVAL, "tracker: frame %d: %d detections (0..%d allowed)",
                            frame_id, n, t->p.max_det);
    if (n == 0) return RT_OK; // the reference skips the tracker on empty frames
    if (frame_id < 0 || frame_id <= t->last_frame_id)
        return rt_error_set(RT_ERR_INVAL,
                            "tracker: frame id %d after frame %d (must increase within a video)",
                            frame_id, t->last_frame_id);
    rt_status st = check_dets(t, frame_id, dets);
    if (st != RT_OK) return st;
    if (t->next_id > INT_MAX - n)
        return rt_error_set(RT_ERR_INVAL, "tracker: frame %d: track ids exhausted", frame_id);
    t->last_frame_id = frame_id;
    t->pending = true;
    t->pending_frame = frame_id;
    t->n_in = n;

    // 1. Descending score, stable (insertion sort; n <= max_det).
    const float *sc = dets->scores;
    for (int i = 0; i < n; i++) {
        int key = i, j = i - 1;
        while (j >= 0 && sc[t->sorted[j]] < sc[key]) {
            t->sorted[j + 1] = t->sorted[j];
            j--;
        }
        t->sorted[j + 1] = key;
    }
    // 2. Duplicates: against every earlier detection, valid or not.
    int nk = 0;
    for (int i = 0; i < n; i++) {
        const int di = t->sorted[i];
        const float thr = sc[di] < t->obj_thr ? t->bd_iou_thr : t->cls_iou_thr;
        bool ok = true;
        for (int j = 0; j < i && ok; j++)
            if (box_iou(dets->boxes + 4 * di, dets->boxes + 4 * t->sorted[j]) > thr) ok = false;
        t->valid[i] = ok;
        if (ok) t->kept[nk++] = di;
    }
    t->n_kept = nk;
    // 3. Defaults: no id, the detection's own payload as reference.
    for (int k = 0; k < nk; k++) {
        const int di = t->kept[k];
        t->ids[k] = -1;
        t->match_slot[k] = -1;
        memcpy(t->kept_box + 4 * k, dets->boxes + 4 * di, 4 * sizeof(float));
        t->kept_score[k] = sc[di];
        t->kept_label[k] = dets->labels[di];
        t->ref_feat[k] = dets->mask_feats + (size_t)di * t->p.mask_feat_size;
        t->ref_mpred[k] = dets->mask_preds + (size_t)di * t->p.mask_pred_size;
    }
    // 4. Bi-softmax matching, only when there is at least one track (backdrops alone do not
    // start a match).
    t->sim_rows = t->sim_cols = 0;
    if (nk > 0 && t->n_tracks > 0) {
        const int m = build_memo(t);
        for (int k = 0; k < nk; k++) {
            const float *e = dets->embeds + (size_t)t->kept[k] * D;
            for (int j = 0; j < m; j++) t->sim[(size_t)k * m + j] = dot(e, t->memo_embed[j], D);
        }
        bisoftmax(t, nk, m);
        t->sim_rows = nk;
        t->sim_cols = m;
        // Greedy in score order; a column taken by a track match reads as 0 for later rows.
        memset(t->memo_taken, 0, (size_t)m);
        for (int k = 0; k < nk; k++) {
            const float *s = t->sim + (size_t)k * m;
            int best = 0;
            float conf = t->memo_taken[0] ? 0.0f : s[0];
            for (int j = 1; j < m; j++) {
                float v = t->memo_taken[j] ? 0.0f : s[j];
                if (v > conf) { // first maximum wins
                    conf = v;
                    best = j;
                }
            }
            if (!(conf > t->match_thr) || t->memo_id[best] < 0) continue;
            if (t->kept_score[k] > t->obj_thr) {
                const int slot = t->memo_slot[best];
                t->ids[k] = t->memo_id[best];
                t->match_slot[k] = slot;
                t->memo_taken[best] = 1;
                t->ref_feat[k] = t->t_feat + (size_t)slot * t->p.mask_feat_size;
                t->ref_mpred[k] = t->t_mpred + (size_t)slot * t->p.mask_pred_size;
            } else if (conf > t->conf_thr) {
                t->ids[k] = -2;
            }
        }
    }
    // 5. New ids in sorted order, including detections that matched a backdrop.
    for (int k = 0; k < nk; k++)
        if (t->ids[k] == -1 && t->kept_score[k] > t->init_thr) t->ids[k] = t->next_id++;

    out->n_in = n;
    out->n = nk;
    return RT_OK;
}

rt_status rt_tracker_update(rt_tracker *t, int frame_id, const rt_tracker_dets *dets,
                            const float *refine_preds) {
    RT_ASSERT(t && dets);
    if (dets->n == 0) return RT_OK; // the reference skips the tracker on empty frames
    if (!t->pending || frame_id != t->pending_frame || dets->n != t->n_in)
        return rt_error_set(RT_ERR_INVAL,
                            "tracker: update of frame %d with %d detections does not follow "
                            "its match",
                            frame_id, dets->n);
    const int nk = t->n_kept;
    if (!dets->boxes || !dets->scores || !dets->labels || !dets->embeds || !dets->mask_feats ||
        !dets->mask_preds || (nk > 0 && !refine_preds))
        return rt_error_set(RT_ERR_INVAL, "tracker: frame %d: an update array is NULL",
                            frame_id);
    for (int k = 0; k < nk; k++) {
        const int di = t->kept[k];
        if (memcmp(dets->boxes + 4 * di, t->kept_box + 4 * k, 4 * sizeof(float)) != 0 ||
            memcmp(dets->scores + di, t->kept_score + k, sizeof(float)) != 0 ||
            dets->labels[di] != t->kept_label[k])
            return rt_error_set(RT_ERR_INVAL,
                                "tracker: frame %d: update detection %d differs from the one "
                                "matched",
                                frame_id, di);
    }
    const rt_tracker_params *p = &t->p;
    const int D = p->embed_dim, T = p->memo_tracklet_frames;
    const size_t fs = (size_t)p->mask_feat_size, ps = (size_t)p->mask_pred_size,
                 rs = (size_t)p->refine_pred_size;

    // 1. Matched tracks take the new detection; the embedding is a momentum average. Each
    // product is rounded to float before the sum (ISO C mode: no FMA contraction).
    for (int k = 0; k < nk; k++) {
        const int s = t->match_slot[k];
        if (s < 0) continue;
        const int di = t->kept[k];
        track_slot *ts = &t->t_info[s];
        RT_ASSERT(ts->id == t->ids[k]);
        memcpy(ts->box, t->kept_box + 4 * k, sizeof ts->box);
        ts->score = t->kept_score[k];
        ts->label = t->kept_label[k];
        ts->last_frame = frame_id;
        float *e = t->t_embed + (size_t)s * D;
        const float *ne = dets->embeds + (size_t)di * D;
        for (int c = 0; c < D; c++) {
            float keep = t->mom_old * e[c];
            float add = t->mom_new * ne[c];
            e[c] = keep + add;
        }
        memcpy(t->t_feat + s * fs, dets->mask_feats + di * fs, fs * sizeof(float));
        memcpy(t->t_mpred + s * ps, dets->mask_preds + di * ps, ps * sizeof(float));
        memcpy(t->t_refine + s * rs, refine_preds + k * rs, rs * sizeof(float));
    }
    // 2. Expiry (before inserting the new tracks; see the pool bound at the top).
    int live = 0;
    for (int k = 0; k < t->n_tracks; k++) {
        const int s = t->order[k];
        if (frame_id - t->t_info[s].last_frame >= T)
            t->free_slots[t->n_free++] = s;
        else
            t->order[live++] = s;
    }
    t->n_tracks = live;
    // 3. New tracks, appended in sorted order (creation order is the memo order).
    for (int k = 0; k < nk && T > 0; k++) {
        if (t->ids[k] < 0 || t->match_slot[k] >= 0) continue;
        RT_ASSERT(t->n_free > 0);
        const int s = t->free_slots[--t->n_free];
        const int di = t->kept[k];
        track_slot *ts = &t->t_info[s];
        ts->id = t->ids[k];
        ts->label = t->kept_label[k];
        ts->last_frame = frame_id;
        memcpy(ts->box, t->kept_box + 4 * k, sizeof ts->box);
        ts->score = t->kept_score[k];
        memcpy(t->t_embed + (size_t)s * D, dets->embeds + (size_t)di * D, D * sizeof(float));
        memcpy(t->t_feat + s * fs, dets->mask_feats + di * fs, fs * sizeof(float));
        memcpy(t->t_mpred + s * ps, dets->mask_preds + di * ps, ps * sizeof(float));
        memcpy(t->t_refine + s * rs, refine_preds + k * rs, rs * sizeof(float));
        t->order[t->n_tracks++] = s;
    }
    RT_ASSERT(t->n_tracks <= t->cap);
    if (t->n_tracks > t->peak_tracks) t->peak_tracks = t->n_tracks;
    // 4. Backdrops: unmatched (-1, not -2) detections not overlapping any earlier kept one by
    // more than nms_backdrop_iou_thr form the newest group; the oldest group beyond
    // memo_backdrop_frames falls out (an empty group counts as a frame too).
    const int B = p->memo_backdrop_frames;
    if (B > 0) {
        const int g = (t->b_head + B - 1) % B;
        int cnt = 0;
        for (int k = 0; k < nk; k++) {
            if (t->ids[k] != -1) continue;
            bool ok = true;
            for (int j = 0; j < k && ok; j++)
                if (box_iou(t->kept_box + 4 * k, t->kept_box + 4 * j) > t->bd_iou_thr) ok = false;
            if (!ok) continue;
            const int bi = g * p->max_det + cnt++;
            backdrop_entry *be = &t->b_ent[bi];
            be->label = t->kept_label[k];
            be->score = t->kept_score[k];
            memcpy(be->box, t->kept_box + 4 * k, sizeof be->box);
            memcpy(t->b_embed + (size_t)bi * D, dets->embeds + (size_t)t->kept[k] * D,
                   D * sizeof(float));
        }
        t->b_count[g] = cnt;
        t->b_head = g;
        if (t->b_groups < B) t->b_groups++;
    }
    t->pending = false;
    return RT_OK;
}

const rt_tracker_params *rt_tracker_get_params(const rt_tracker *t) {
    return &t->p;
}

int rt_tracker_next_id(const rt_tracker *t) {
    return t->next_id;
}

int rt_tracker_num_tracks(const rt_tracker *t) {
    return t->n_tracks;
}

void rt_tracker_get_track(const rt_tracker *t, int i, rt_tracker_track *out) {
    RT_ASSERT(i >= 0 && i < t->n_tracks && out);
    const int s = t->order[i];
    const track_slot *ts = &t->t_info[s];
    out->id = ts->id;
    out->label = ts->label;
    out->last_frame = ts->last_frame;
    memcpy(out->box, ts->box, sizeof out->box);
    out->score = ts->score;
    out->embed = t->t_embed + (size_t)s * t->p.embed_dim;
    out->mask_feat = t->t_feat + (size_t)s * t->p.mask_feat_size;
    out->mask_pred = t->t_mpred + (size_t)s * t->p.mask_pred_size;
    out->refine_pred = t->t_refine + (size_t)s * t->p.refine_pred_size;
}

int rt_tracker_num_backdrops(const rt_tracker *t) {
    int n = 0;
    for (int g = 0; g < t->b_groups; g++)
        n += t->b_count[(t->b_head + g) % t->p.memo_backdrop_frames];
    return n;
}

void rt_tracker_get_backdrop(const rt_tracker *t, int i, rt_tracker_backdrop *out) {
    RT_ASSERT(i >= 0 && out);
    const int B = t->p.memo_backdrop_frames;
    for (int g = 0; g < t->b_groups; g++) {
        const int gi = (t->b_head + g) % B;
        if (i < t->b_count[gi]) {
            const int bi = gi * t->p.max_det + i;
            out->label = t->b_ent[bi].label;
            memcpy(out->box, t->b_ent[bi].box, sizeof out->box);
            out->score = t->b_ent[bi].score;
            out->embed = t->b_embed + (size_t)bi * t->p.embed_dim;
            return;
        }
        i -= t->b_count[gi];
    }
    RT_ASSERT(!"backdrop index out of range");
}

const float *rt_tracker_last_scores(const rt_tracker *t, int *rows, int *cols) {
    *rows = t->sim_rows;
    *cols = t->sim_cols;
    return t->sim_rows > 0 ? t->sim : NULL;
}

int rt_tracker_capacity(const rt_tracker *t) {
    return t->cap;
}

int rt_tracker_peak_tracks(const rt_tracker *t) {
    return t->peak_tracks;
}
