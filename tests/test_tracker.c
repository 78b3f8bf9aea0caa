// Tracker (PCAN-FACTS.md §4) on hand-made scenarios: every test checks ids, references and the
// internal state. Embeddings are chosen so that the bi-softmax numbers are easy to recompute here
// in double.
#include "runtime/tracker.h"
#include "tests/test.h"

#include <stdbool.h>

#define MAXN 100
#define D 4
#define FS 3
#define PS 2
#define RS 1

// One frame's detections. Payload values carry a tag (frame * 100 + detection index) so that
// references can be traced back to the frame they came from.
typedef struct frame {
    int n;
    float boxes[MAXN * 4], scores[MAXN], embeds[MAXN * D];
    float feats[MAXN * FS], mpreds[MAXN * PS], refine[MAXN * RS];
    int labels[MAXN];
    int tag;
} frame;

static void fr_init(frame *f, int frame_id) {
    memset(f, 0, sizeof *f);
    f->tag = frame_id * 100;
}

static int fr_add(frame *f, float x1, float y1, float x2, float y2, float score, int label,
                  float e0, float e1, float e2, float e3) {
    int i = f->n++;
    float *b = f->boxes + 4 * i, *e = f->embeds + D * i;
    b[0] = x1, b[1] = y1, b[2] = x2, b[3] = y2;
    e[0] = e0, e[1] = e1, e[2] = e2, e[3] = e3;
    f->scores[i] = score;
    f->labels[i] = label;
    for (int k = 0; k < FS; k++) f->feats[i * FS + k] = (float)(f->tag + i) + 0.25f * (float)k;
    for (int k = 0; k < PS; k++) f->mpreds[i * PS + k] = -(float)(f->tag + i) - 0.5f * (float)k;
    return i;
}

// A box in column `c` of a grid: disjoint for different c.
static int fr_add_at(frame *f, int c, float score, int label, float e0, float e1, float e2,
                     float e3) {
    float x = 20.0f * (float)c;
    return fr_add(f, x, 0, x + 10, 10, score, label, e0, e1, e2, e3);
}

static rt_tracker_dets fr_dets(const frame *f) {
    rt_tracker_dets d = {f->n, f->boxes, f->scores, f->labels, f->embeds, f->feats, f->mpreds};
    return d;
}

static rt_tracker_params small_params(void) {
    rt_tracker_params p = rt_tracker_default_params();
    p.embed_dim = D;
    p.mask_feat_size = FS;
    p.mask_pred_size = PS;
    p.refine_pred_size = RS;
    p.max_det = 8;
    return p;
}

static rt_tracker *new_tracker(const rt_tracker_params *p) {
    rt_tracker *t = NULL;
    rt_status st = rt_tracker_init(&t, p);
    CHECK_MSG(st == RT_OK, "init: %s", rt_error());
    return t;
}

// match + update of one frame, the refine output tagged like the frame; *m gets the match.
static void step(rt_tracker *t, int frame_id, frame *f, rt_tracker_match_result *m) {
    rt_tracker_dets d = fr_dets(f);
    rt_status st = rt_tracker_match(t, frame_id, &d, m);
    CHECK_MSG(st == RT_OK, "match frame %d: %s", frame_id, rt_error());
    for (int k = 0; k < m->n; k++) f->refine[k] = 0.5f + (float)(f->tag + m->index[k]);
    st = rt_tracker_update(t, frame_id, &d, f->refine);
    CHECK_MSG(st == RT_OK, "update frame %d: %s", frame_id, rt_error());
}

static int match_only(rt_tracker *t, int frame_id, frame *f, rt_tracker_match_result *m) {
    rt_tracker_dets d = fr_dets(f);
    rt_status st = rt_tracker_match(t, frame_id, &d, m);
    CHECK_MSG(st == RT_OK, "match frame %d: %s", frame_id, rt_error());
    return st;
}

static void update_only(rt_tracker *t, int frame_id, frame *f, const rt_tracker_match_result *m) {
    rt_tracker_dets d = fr_dets(f);
    for (int k = 0; k < m->n; k++) f->refine[k] = 0.5f + (float)(f->tag + m->index[k]);
    rt_status st = rt_tracker_update(t, frame_id, &d, f->refine);
    CHECK_MSG(st == RT_OK, "update frame %d: %s", frame_id, rt_error());
}

// The track with this id, or a zeroed struct with id -9 when there is none.
static rt_tracker_track find_track(const rt_tracker *t, int id) {
    rt_tracker_track tr;
    for (int i = 0; i < rt_tracker_num_tracks(t); i++) {
        rt_tracker_get_track(t, i, &tr);
        if (tr.id == id) return tr;
    }
    memset(&tr, 0, sizeof tr);
    tr.id = -9;
    return tr;
}

// Recomputes the gated bi-softmax of `det` embeddings against `memo` embeddings in double.
static void ref_bisoftmax(int n, int m, const float *det, const float *memo, const int *dl,
                          const int *ml, double *s) {
    double f[16 * 16], r[16 * 16];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double x = 0;
            for (int k = 0; k < D; k++) x += (double)det[i * D + k] * memo[j * D + k];
            f[i * m + j] = x;
        }
    for (int i = 0; i < n; i++) {
        double z = 0;
        for (int j = 0; j < m; j++) z += exp(f[i * m + j]);
        for (int j = 0; j < m; j++) r[i * m + j] = exp(f[i * m + j]) / z;
    }
    for (int j = 0; j < m; j++) {
        double z = 0;
        for (int i = 0; i < n; i++) z += exp(f[i * m + j]);
        for (int i = 0; i < n; i++)
            s[i * m + j] = (r[i * m + j] + exp(f[i * m + j]) / z) / 2 * (dl[i] == ml[j]);
    }
}

static void check_scores(const rt_tracker *t, int n, int m, const double *want) {
    int rows = -1, cols = -1;
    const float *s = rt_tracker_last_scores(t, &rows, &cols);
    CHECK_EQ_INT(rows, n);
    CHECK_EQ_INT(cols, m);
    if (!s || rows != n || cols != m) return;
    for (int i = 0; i < n * m; i++) CHECK_NEAR(s[i], want[i], 2e-6);
}

// Three tracks found again in a shuffled frame; references point at the tracks' stored
// payloads from frame 0; the similarity matrix equals the double-precision bi-softmax.
static void test_bisoftmax_three_tracks(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f0, f1;
    fr_init(&f0, 0);
    fr_add_at(&f0, 0, 0.9f, 0, 3, 0, 0, 0);
    fr_add_at(&f0, 1, 0.85f, 0, 0, 3, 0, 0);
    fr_add_at(&f0, 2, 0.8f, 0, 0, 0, 3, 0);
    step(t, 0, &f0, &m);
    CHECK_EQ_INT(m.n, 3);
    for (int k = 0; k < 3; k++) {
        CHECK_EQ_INT(m.index[k], k);
        CHECK_EQ_INT(m.ids[k], k);
    }
    int rows, cols;
    CHECK(rt_tracker_last_scores(t, &rows, &cols) == NULL && rows == 0 && cols == 0);
    CHECK_EQ_INT(rt_tracker_num_tracks(t), 3);
    CHECK_EQ_INT(rt_tracker_next_id(t), 3);

    // Frame 1 lists them as (track 2, track 0, track 1) with scores giving the sorted order
    // (track 0, track 1, track 2), at moved boxes.
    fr_init(&f1, 1);
    fr_add_at(&f1, 5, 0.8f, 0, 0.5f, 0, 2, 0);
    fr_add_at(&f1, 3, 0.95f, 0, 2, 0.5f, 0, 0);
    fr_add_at(&f1, 4, 0.9f, 0, 0, 2, 0.5f, 0);
    const float *stored_feat[3], *stored_pred[3];
    for (int i = 0; i < 3; i++) {
        rt_tracker_track tr = find_track(t, i);
        stored_feat[i] = tr.mask_feat;
        stored_pred[i] = tr.mask_pred;
        CHECK_EQ_INT(tr.last_frame, 0);
        CHECK_NEAR(tr.refine_pred[0], 0.5 + i, 0);
    }
    match_only(t, 1, &f1, &m);
    CHECK_EQ_INT(m.n_in, 3);
    CHECK_EQ_INT(m.sorted[0], 1);
    CHECK_EQ_INT(m.sorted[1], 2);
    CHECK_EQ_INT(m.sorted[2], 0);
    CHECK_EQ_INT(m.n, 3);
    for (int k = 0; k < 3; k++) {
        CHECK_EQ_INT(m.ids[k], k);
        CHECK(m.ref_mask_feat[k] == stored_feat[k]);
        CHECK(m.ref_mask_pred[k] == stored_pred[k]);
        CHECK_NEAR(m.ref_mask_feat[k][0], k, 0); // frame 0, detection k
        CHECK_NEAR(m.ref_mask_pred[k][1], -(k + 0.5), 0);
    }
    float det[3 * D], memo[3 * D];
    int dl[3] = {0, 0, 0}, ml[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        memcpy(det + k * D, f1.embeds + m.index[k] * D, sizeof(float) * D);
        memcpy(memo + k * D, f0.embeds + k * D, sizeof(float) * D);
    }
    double want[9];
    ref_bisoftmax(3, 3, det, memo, dl, ml, want);
    check_scores(t, 3, 3, want);
    update_only(t, 1, &f1, &m);
    for (int i = 0; i < 3; i++) {
        rt_tracker_track tr = find_track(t, i);
        CHECK_EQ_INT(tr.last_frame, 1);
        CHECK_NEAR(tr.mask_feat[0], 100 + m.index[i], 0); // replaced by frame 1's
        CHECK_NEAR(tr.refine_pred[0], 100.5 + m.index[i], 0);
        CHECK_NEAR(tr.box[0], f1.boxes[4 * m.index[i]], 0);
    }
    rt_tracker_free(&t);
    CHECK(t == NULL);
    rt_tracker_free(&t);
    rt_tracker_free(NULL);
}

// Two detections want the same track: the higher score takes it and the column is closed for
// the other (which starts a new track). And a case where the row softmax alone (0.60) would
// match but the column softmax vetoes it because a lower-scored detection fits far better.
static void test_bisoftmax_contested(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f0, f1, f2;
    fr_init(&f0, 0);
    fr_add_at(&f0, 0, 0.9f, 0, 1, 0, 0, 0);
    fr_add_at(&f0, 1, 0.9f, 0, 0, 1, 0, 0);
    step(t, 0, &f0, &m);

    fr_init(&f1, 1);
    fr_add_at(&f1, 0, 0.9f, 0, 5, 0, 0, 0);
    fr_add_at(&f1, 2, 0.85f, 0, 4.9f, 0, 0, 0);
    match_only(t, 1, &f1, &m);
    CHECK_EQ_INT(m.n, 2);
    CHECK_EQ_INT(m.ids[0], 0);
    CHECK_EQ_INT(m.ids[1], 2); // S to track 0 was 0.73, but the column was taken
    int rows, cols;
    const float *s = rt_tracker_last_scores(t, &rows, &cols);
    CHECK(s && s[2] > 0.7f && s[3] < 0.5f); // row 1: (0.734, 0.254), kept intact for reading
    CHECK(m.ref_mask_feat[1] == f1.feats + FS * 1); // own payload
    update_only(t, 1, &f1, &m);
    CHECK_EQ_INT(rt_tracker_num_tracks(t), 3);

    // Tracks now: 0 ≈ [4.2,0,0,0], 1 = [0,1,0,0] (not updated), 2 = [4.9,0,0,0].
    fr_init(&f2, 2);
    fr_add_at(&f2, 0, 0.9f, 1, 1, 0, 0, 0);   // label 1: nothing to match, new id 3
    fr_add_at(&f2, 4, 0.85f, 0, 0, 1.2f, 0, 0); // weak on track 1
    fr_add_at(&f2, 1, 0.8f, 0, 0, 3, 0, 0);     // strong on track 1
    match_only(t, 2, &f2, &m);
    CHECK_EQ_INT(m.n, 3);
    CHECK_EQ_INT(m.ids[0], 3);
    CHECK_EQ_INT(m.ids[1], 4); // the veto: row softmax 0.62 on track 1, bi-softmax 0.38
    CHECK_EQ_INT(m.ids[2], 1);
    float det[3 * D], memo[3 * D];
    int dl[3], ml[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        memcpy(det + k * D, f2.embeds + m.index[k] * D, sizeof(float) * D);
        dl[k] = f2.labels[m.index[k]];
        rt_tracker_track tr;
        rt_tracker_get_track(t, k, &tr);
        memcpy(memo + k * D, tr.embed, sizeof(float) * D);
    }
    double want[9];
    ref_bisoftmax(3, 3, det, memo, dl, ml, want);
    check_scores(t, 3, 3, want);
    CHECK(want[3 + 1] < 0.5 && want[3 + 1] > 0.3);
    update_only(t, 2, &f2, &m);
    rt_tracker_free(&t);
}

// n = 1: the column softmax is 1, so S = (d2t + 1) / 2 >= 0.5 and a lone detection takes its
// best same-class track even with no affinity (ties: the first track). M = 1: the row softmax
// is 1 and the higher score wins the lone track even though the other detection is closer.
static void test_single_row_and_column(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f0, f1, f2;
    fr_init(&f0, 0);
    fr_add_at(&f0, 0, 0.9f, 0, 1, 0, 0, 0);
    fr_add_at(&f0, 1, 0.9f, 0, 0, 1, 0, 0);
    step(t, 0, &f0, &m);

    fr_init(&f1, 1);
    fr_add_at(&f1, 3, 0.75f, 0, 0, 0, 1, 0); // orthogonal to both: f = (0, 0)
    match_only(t, 1, &f1, &m);
    CHECK_EQ_INT(m.ids[0], 0);
    double want[2] = {0.75, 0.75};
    check_scores(t, 1, 2, want);
    update_only(t, 1, &f1, &m);

    fr_init(&f2, 2);
    fr_add_at(&f2, 3, 0.75f, 0, -3, 1, 0, 0); // f = (-0.6, 1): leaning to track 1
    match_only(t, 2, &f2, &m);
    CHECK_EQ_INT(m.ids[0], 1);
    int rows, cols;
    const float *s = rt_tracker_last_scores(t, &rows, &cols);
    CHECK(s && rows == 1 && cols == 2 && s[0] >= 0.5f && s[1] > s[0]);
    update_only(t, 2, &f2, &m);
    rt_tracker_free(&t);

    // M = 1.
    t = new_tracker(&p);
    fr_init(&f0, 0);
    fr_add_at(&f0, 0, 0.9f, 0, 1, 0, 0, 0);
    step(t, 0, &f0, &m);
    fr_init(&f1, 1);
    fr_add_at(&f1, 1, 0.9f, 0, 0, 0, 0, 0); // f = 0
    fr_add_at(&f1, 2, 0.8f, 0, 1, 0, 0, 0); // f = 1
    match_only(t, 1, &f1, &m);
    CHECK_EQ_INT(m.ids[0], 0);
    CHECK_EQ_INT(m.ids[1], 1);
    double w1[2] = {(1 + 1 / (1 + exp(1.0))) / 2, (1 + 1 / (1 + exp(-1.0))) / 2};
    check_scores(t, 2, 1, w1);
    update_only(t, 1, &f1, &m);
    rt_tracker_free(&t);
}

// The class gate is applied after the softmaxes: a detection of class 1 that looks like the
// class-0 track still matches the class-1 track at (0.018 + 1) / 2 = 0.509; a class-2 one
// matches nothing and starts a track.
static void test_class_gating(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f0, f1, f2;
    fr_init(&f0, 0);
    fr_add_at(&f0, 0, 0.9f, 0, 1, 0, 0, 0);
    fr_add_at(&f0, 1, 0.9f, 1, 0, 1, 0, 0);
    step(t, 0, &f0, &m);

    fr_init(&f1, 1);
    fr_add_at(&f1, 2, 0.9f, 1, 4, 0, 0, 0);
    match_only(t, 1, &f1, &m);
    CHECK_EQ_INT(m.ids[0], 1);
    double want[2] = {0, (1 / (1 + exp(4.0)) + 1) / 2};
    check_scores(t, 1, 2, want);
    update_only(t, 1, &f1, &m);
    CHECK_EQ_INT(find_track(t, 1).label, 1);

    fr_init(&f2, 2);
    fr_add_at(&f2, 2, 0.9f, 2, 4, 0, 0, 0);
    match_only(t, 2, &f2, &m);
    CHECK_EQ_INT(m.ids[0], 2);
    double w2[2] = {0, 0};
    check_scores(t, 1, 2, w2);
    update_only(t, 2, &f2, &m);

    // with_cats off: the same detection takes track 0.
    rt_tracker_free(&t);
    p.with_cats = false;
    t = new_tracker(&p);
    step(t, 0, &f0, &m);
    match_only(t, 1, &f1, &m);
    CHECK_EQ_INT(m.ids[0], 0);
    rt_tracker_free(&t);
}

// Duplicate removal in sorted order: IoU > 0.7 against any earlier detection, even one that was
// itself removed (the chain: d2 overlaps only the removed d1 by more than 0.7; against d0 it is
// exactly 0.7f, which is not "> 0.7"); below obj_score_thr the threshold is 0.3.
static void test_duplicates(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f;
    fr_init(&f, 0);
    fr_add(&f, 0, 0, 10, 10, 0.9f, 0, 1, 0, 0, 0);     // d0
    fr_add(&f, 0, 0, 10, 8, 0.8f, 1, 0, 1, 0, 0);      // d1: IoU(d0) = 0.8
    fr_add(&f, 0, 1.5f, 10, 8.5f, 0.75f, 2, 0, 0, 1, 0); // d2: IoU(d0) = 0.7, IoU(d1) = 0.76
    fr_add(&f, 20, 0, 30, 10, 0.95f, 0, 0, 0, 0, 1);   // d3
    fr_add(&f, 20, 0, 30, 5, 0.25f, 0, 1, 1, 0, 0);    // d4: IoU(d3) = 0.5 > 0.3
    fr_add(&f, 20, 5, 30, 10, 0.35f, 0, 0, 1, 1, 0);   // d5: IoU(d3) = 0.5 <= 0.7
    step(t, 0, &f, &m);
    const int sorted[6] = {3, 0, 1, 2, 5, 4};
    const int valid[6] = {1, 1, 0, 0, 1, 0};
    CHECK_EQ_INT(m.n_in, 6);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(m.sorted[i], sorted[i]);
        CHECK_EQ_INT(m.valid[i], valid[i]);
    }
    CHECK_EQ_INT(m.n, 3);
    CHECK_EQ_INT(m.index[0], 3);
    CHECK_EQ_INT(m.index[1], 0);
    CHECK_EQ_INT(m.index[2], 5);
    CHECK_EQ_INT(m.ids[0], 0);
    CHECK_EQ_INT(m.ids[1], 1);
    CHECK_EQ_INT(m.ids[2], -1);
    // d5 is unmatched but overlaps d3 by 0.5 > 0.3: not a backdrop.
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 0);
    CHECK_EQ_INT(rt_tracker_num_tracks(t), 2);
    CHECK_NEAR(find_track(t, 1).mask_feat[0], 0, 0);
    CHECK_NEAR(find_track(t, 0).mask_feat[0], 3, 0);
    rt_tracker_free(&t);

    // IoU exactly 0.7f is not a duplicate; just above it is.
    t = new_tracker(&p);
    fr_init(&f, 0);
    fr_add(&f, 0, 0, 10, 10, 0.9f, 0, 1, 0, 0, 0);
    fr_add(&f, 0, 0, 10, 7, 0.8f, 0, 0, 1, 0, 0);               // 70 / 100
    fr_add(&f, 20, 0, 30, 10, 0.8f, 0, 0, 1, 0, 0);
    fr_add(&f, 20, 0, 30, nextafterf(7, 8), 0.75f, 0, 0, 1, 0, 0); // just above 0.7f
    step(t, 0, &f, &m);
    CHECK_EQ_INT(m.n, 3);
    CHECK_EQ_INT(m.valid[3], 0);
    CHECK_EQ_INT(m.index[1], 1);
    rt_tracker_free(&t);

    // Equal scores keep their input order.
    t = new_tracker(&p);
    fr_init(&f, 0);
    for (int i = 0; i < 5; i++) fr_add_at(&f, i, i == 2 ? 0.95f : 0.8f, 0, 1, 0, 0, 0);
    step(t, 0, &f, &m);
    const int ties[5] = {2, 0, 1, 3, 4};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(m.sorted[i], ties[i]);
        CHECK_EQ_INT(m.ids[i], i);
    }
    rt_tracker_free(&t);
}

// A new track needs score > 0.7 (as float32: 0.7f itself is not enough). The rest become
// backdrops.
static void test_new_track_threshold(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f;
    fr_init(&f, 0);
    fr_add_at(&f, 0, 0.7f, 0, 1, 0, 0, 0);
    fr_add_at(&f, 1, nextafterf(0.7f, 1.0f), 0, 0, 1, 0, 0);
    fr_add_at(&f, 2, 0.69f, 0, 0, 0, 1, 0);
    step(t, 0, &f, &m);
    CHECK_EQ_INT(m.index[0], 1);
    CHECK_EQ_INT(m.ids[0], 0);
    CHECK_EQ_INT(m.ids[1], -1);
    CHECK_EQ_INT(m.ids[2], -1);
    CHECK_EQ_INT(rt_tracker_num_tracks(t), 1);
    CHECK_EQ_INT(rt_tracker_next_id(t), 1);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 2);
    rt_tracker_backdrop b;
    rt_tracker_get_backdrop(t, 0, &b);
    CHECK_NEAR(b.score, 0.7f, 0);
    rt_tracker_get_backdrop(t, 1, &b);
    CHECK_NEAR(b.score, 0.69f, 0);
    CHECK_NEAR(b.embed[2], 1, 0);
    rt_tracker_free(&t);
}

// A 0.6 detection is not output and becomes a backdrop (IoU exactly 0.3f with an earlier box
// still counts as "not > 0.3"); a 0.8 detection matching that backdrop starts a new track; a 0.62
// detection matching a backdrop stays -1 and becomes the new backdrop; one group is kept.
static void test_backdrops(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f0, f1, f2;
    fr_init(&f0, 0);
    fr_add(&f0, 0, 0, 10, 10, 0.9f, 0, 1, 0, 0, 0);       // T -> track 0
    fr_add(&f0, 40, 0, 50, 10, 0.6f, 0, 0, 5, 0, 0);      // P -> backdrop
    fr_add(&f0, 0, 0, 10, 3, 0.58f, 0, 0, 0, 0, 5);       // Q: IoU(T) = 0.3f -> backdrop
    fr_add(&f0, 0, 6, 10, 10, 0.55f, 0, 0, -5, 0, 0);     // R: IoU(T) = 0.4 -> dropped
    step(t, 0, &f0, &m);
    CHECK_EQ_INT(m.n, 4);
    CHECK_EQ_INT(m.ids[0], 0);
    for (int k = 1; k < 4; k++) CHECK_EQ_INT(m.ids[k], -1);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 2);
    rt_tracker_backdrop b;
    rt_tracker_get_backdrop(t, 0, &b);
    CHECK_NEAR(b.embed[1], 5, 0);
    CHECK_NEAR(b.box[0], 40, 0);
    rt_tracker_get_backdrop(t, 1, &b);
    CHECK_NEAR(b.embed[3], 5, 0);

    fr_init(&f1, 1);
    fr_add_at(&f1, 0, 0.9f, 0, 1, 0, 0, 0);  // Y -> track 0
    fr_add_at(&f1, 2, 0.8f, 0, 0, 5, 0, 0);  // X: best memo entry is backdrop P -> new id 1
    fr_add_at(&f1, 4, 0.65f, 0, 0, 0, 0, 5); // W: backdrop Q's twin, 0.65 -> stays -1
    match_only(t, 1, &f1, &m);
    CHECK_EQ_INT(m.ids[0], 0);
    CHECK_EQ_INT(m.ids[1], 1);
    CHECK_EQ_INT(m.ids[2], -1);
    CHECK(m.ref_mask_feat[1] == f1.feats + FS * 1);
    CHECK(m.ref_mask_feat[2] == f1.feats + FS * 2);
    int rows, cols;
    const float *s = rt_tracker_last_scores(t, &rows, &cols);
    CHECK_EQ_INT(rows, 3);
    CHECK_EQ_INT(cols, 3); // track 0, P, Q
    CHECK(s && s[3 + 1] > 0.5f && s[3 + 1] > s[3 + 0] && s[3 + 1] > s[3 + 2]);
    CHECK(s && s[6 + 2] > 0.5f);
    update_only(t, 1, &f1, &m);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 1); // only this frame's group: W
    rt_tracker_get_backdrop(t, 0, &b);
    CHECK_NEAR(b.score, 0.65f, 0);
    CHECK_EQ_INT(rt_tracker_num_tracks(t), 2);

    fr_init(&f2, 2);
    fr_add_at(&f2, 4, 0.62f, 0, 0, 0, 0, 5);
    match_only(t, 2, &f2, &m);
    CHECK_EQ_INT(m.ids[0], -1);
    update_only(t, 2, &f2, &m);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 1);
    rt_tracker_get_backdrop(t, 0, &b);
    CHECK_NEAR(b.score, 0.62f, 0);
    CHECK_EQ_INT(rt_tracker_next_id(t), 2);

    // Backdrops alone (no track) do not start a match: no similarity matrix, no ids.
    rt_tracker_free(&t);
    t = new_tracker(&p);
    frame g0, g1;
    fr_init(&g0, 0);
    fr_add_at(&g0, 0, 0.6f, 0, 0, 5, 0, 0);
    step(t, 0, &g0, &m);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 1);
    fr_init(&g1, 1);
    fr_add_at(&g1, 0, 0.6f, 0, 0, 5, 0, 0);
    match_only(t, 1, &g1, &m);
    CHECK(rt_tracker_last_scores(t, &rows, &cols) == NULL && rows == 0);
    CHECK_EQ_INT(m.ids[0], -1);
    update_only(t, 1, &g1, &m);

    // With two backdrop frames the older group follows the newer in memo order.
    rt_tracker_free(&t);
    p.memo_backdrop_frames = 2;
    t = new_tracker(&p);
    step(t, 0, &f0, &m);
    step(t, 1, &f1, &m);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 3);
    rt_tracker_get_backdrop(t, 0, &b);
    CHECK_NEAR(b.score, 0.65f, 0);
    rt_tracker_get_backdrop(t, 2, &b);
    CHECK_NEAR(b.score, 0.58f, 0);
    step(t, 2, &f2, &m);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 2);
    rt_tracker_free(&t);
}

// With obj_score_thr above the detection score, a confident match is suppressed (-2): neither a
// track update nor a backdrop (dead with the released config, kept for fidelity).
static void test_suppressed(void) {
    rt_tracker_params p = small_params();
    p.obj_score_thr = 0.95;
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f0, f1;
    fr_init(&f0, 0);
    fr_add_at(&f0, 0, 0.99f, 0, 1, 0, 0, 0);
    step(t, 0, &f0, &m);
    fr_init(&f1, 1);
    fr_add_at(&f1, 0, 0.9f, 0, 1, 0, 0, 0);
    step(t, 1, &f1, &m);
    CHECK_EQ_INT(m.ids[0], -2);
    CHECK(m.ref_mask_feat[0] == f1.feats);
    CHECK_EQ_INT(find_track(t, 0).last_frame, 0);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 0);
    CHECK_EQ_INT(rt_tracker_next_id(t), 1);
    rt_tracker_free(&t);
}

// Runs: track A at frame 0, a filler track every frame 1..last_filler, A's twin at frame `back`.
static int expiry_run(int last_filler, int back, bool empty_between) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f;
    fr_init(&f, 0);
    fr_add_at(&f, 0, 0.9f, 0, 1, 0, 0, 0);
    step(t, 0, &f, &m);
    for (int i = 1; i <= last_filler && !empty_between; i++) {
        fr_init(&f, i);
        fr_add_at(&f, 1, 0.9f, 1, 0, 1, 0, 0);
        step(t, i, &f, &m);
        CHECK_EQ_INT(m.ids[0], 1);
        // Track 0 lives while frame - 0 < 10.
        CHECK_EQ_INT(find_track(t, 0).id, i < 10 ? 0 : -9);
    }
    if (empty_between)
        for (int i = 1; i < back; i++) {
            fr_init(&f, i);
            step(t, i, &f, &m); // n = 0: both calls are no-ops
            CHECK_EQ_INT(m.n, 0);
        }
    fr_init(&f, back);
    fr_add_at(&f, 0, 0.9f, 0, 1, 0, 0, 0);
    step(t, back, &f, &m);
    int id = m.ids[0];
    rt_tracker_free(&t);
    return id;
}

// Expiry at frame_id - last_frame >= 10, checked after each update: a track last seen at frame
// 0 survives the update of frame 9, so it is found again at frame 10 (9 frames missed); after the
// update of frame 10 it is gone, so at frame 11 (10 frames missed) it gets a new id. Frames
// without detections run no update, so they do not age tracks at all.
static void test_expiry(void) {
    CHECK_EQ_INT(expiry_run(9, 10, false), 0);
    CHECK_EQ_INT(expiry_run(10, 11, false), 2);
    CHECK_EQ_INT(expiry_run(0, 15, true), 0);
}

// embed <- (float)(1-0.8)·old + (float)0.8·new, each product rounded: the values PyTorch gives.
static void test_momentum(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f0, f1;
    fr_init(&f0, 0);
    fr_add_at(&f0, 0, 0.9f, 3, 1, 2, 3, 4);
    step(t, 0, &f0, &m);
    fr_init(&f1, 1);
    fr_add_at(&f1, 1, 0.8f, 3, 5, 6, 7, 8);
    step(t, 1, &f1, &m);
    CHECK_EQ_INT(m.ids[0], 0);
    rt_tracker_track tr = find_track(t, 0);
    const float want[4] = {4.199999809265137f, 5.200000286102295f, 6.199999809265137f,
                           7.200000286102295f};
    for (int k = 0; k < 4; k++) CHECK(tr.embed[k] == want[k]);
    CHECK_NEAR(tr.score, 0.8f, 0);
    CHECK_NEAR(tr.box[0], 20, 0);
    CHECK_EQ_INT(tr.label, 3);
    CHECK_NEAR(tr.mask_pred[1], -100.5, 0);
    rt_tracker_free(&t);

    p.memo_momentum = 0.5;
    t = new_tracker(&p);
    step(t, 0, &f0, &m);
    step(t, 1, &f1, &m);
    tr = find_track(t, 0);
    for (int k = 0; k < 4; k++) CHECK(tr.embed[k] == (float)(k + 1) * 0.5f + (float)(k + 5) * 0.5f);
    rt_tracker_free(&t);
}

// An empty frame: match and update are no-ops (no backdrop refresh, no expiry, no id use).
static void test_empty_frame(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f, e;
    fr_init(&f, 0);
    fr_add_at(&f, 0, 0.9f, 0, 1, 0, 0, 0);
    fr_add_at(&f, 1, 0.6f, 0, 0, 1, 0, 0);
    step(t, 0, &f, &m);
    fr_init(&e, 1);
    rt_tracker_dets d = fr_dets(&e);
    CHECK_EQ_INT(rt_tracker_match(t, 1, &d, &m), RT_OK);
    CHECK_EQ_INT(m.n, 0);
    CHECK_EQ_INT(m.n_in, 0);
    CHECK_EQ_INT(rt_tracker_update(t, 1, &d, NULL), RT_OK);
    rt_tracker_dets nul = {0};
    CHECK_EQ_INT(rt_tracker_match(t, 1, &nul, &m), RT_OK);
    CHECK_EQ_INT(rt_tracker_update(t, 1, &nul, NULL), RT_OK);
    CHECK_EQ_INT(rt_tracker_num_tracks(t), 1);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 1);
    CHECK_EQ_INT(rt_tracker_next_id(t), 1);
    int rows, cols;
    rt_tracker_last_scores(t, &rows, &cols);
    CHECK_EQ_INT(rows, 0);
    fr_init(&f, 2);
    fr_add_at(&f, 0, 0.9f, 0, 1, 0, 0, 0);
    step(t, 2, &f, &m);
    CHECK_EQ_INT(m.ids[0], 0);
    CHECK_EQ_INT(rt_tracker_num_backdrops(t), 0); // refreshed by frame 2's (empty) group
    rt_tracker_free(&t);
}

static void test_reset(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f;
    for (int v = 0; v < 2; v++) {
        rt_tracker_reset(t);
        CHECK_EQ_INT(rt_tracker_num_tracks(t), 0);
        CHECK_EQ_INT(rt_tracker_num_backdrops(t), 0);
        CHECK_EQ_INT(rt_tracker_next_id(t), 0);
        for (int i = 0; i < 3; i++) {
            fr_init(&f, i);
            fr_add_at(&f, i, 0.9f, i, 1, 0, 0, 0); // a new label each frame: a new track
            fr_add_at(&f, 5, 0.6f, 0, 0, 1, 0, 0);
            step(t, i, &f, &m);
            CHECK_EQ_INT(m.ids[0], i);
        }
        CHECK_EQ_INT(rt_tracker_num_tracks(t), 3);
        CHECK_EQ_INT(rt_tracker_num_backdrops(t), 1);
    }
    rt_tracker_free(&t);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rnd(void) { // [0, 1)
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)(rng_state >> 40) / (float)(1 << 24);
}

// 100 new tracks every frame for 50 frames (the label cycles with period 11 so nothing matches):
// the pool fills to exactly memo_tracklet_frames * max_det and stays there; then 50 frames of
// random detections. No allocation in any match or update.
static void test_pool_stress(void) {
    rt_tracker_params p = rt_tracker_default_params();
    p.embed_dim = 16;
    p.mask_feat_size = 8;
    p.mask_pred_size = 8;
    p.refine_pred_size = 4;
    rt_tracker *t = new_tracker(&p);
    CHECK_EQ_INT(rt_tracker_capacity(t), 1000);
    enum { N = 100, E = 16 };
    static float boxes[N * 4], scores[N], embeds[N * E], feats[N * 8], preds[N * 8], ref[N * 4];
    static int labels[N];
    rt_tracker_dets d = {N, boxes, scores, labels, embeds, feats, preds};
    rt_tracker_match_result m;
    uint64_t a0 = rt_alloc_count();
    int next = 0;
    for (int fi = 0; fi < 50; fi++) {
        for (int i = 0; i < N; i++) {
            float x = 20.0f * (float)(i % 10), y = 20.0f * (float)(i / 10);
            boxes[4 * i] = x, boxes[4 * i + 1] = y, boxes[4 * i + 2] = x + 10,
                      boxes[4 * i + 3] = y + 10;
            scores[i] = 0.9f;
            labels[i] = fi % 11;
            for (int k = 0; k < E; k++) embeds[i * E + k] = rnd();
        }
        CHECK_EQ_INT(rt_tracker_match(t, fi, &d, &m), RT_OK);
        CHECK_EQ_INT(m.n, N);
        for (int k = 0; k < N; k++) CHECK_EQ_INT(m.ids[k], next + k);
        next += N;
        CHECK_EQ_INT(rt_tracker_update(t, fi, &d, ref), RT_OK);
        CHECK_EQ_INT(rt_tracker_num_tracks(t), RT_MIN(N * (fi + 1), 1000));
    }
    CHECK_EQ_INT(rt_tracker_peak_tracks(t), 1000);
    for (int fi = 50; fi < 100; fi++) {
        for (int i = 0; i < N; i++) {
            float x = 200 * rnd(), y = 200 * rnd();
            boxes[4 * i] = x, boxes[4 * i + 1] = y, boxes[4 * i + 2] = x + 5 + 30 * rnd(),
                      boxes[4 * i + 3] = y + 5 + 30 * rnd();
            scores[i] = 0.5f + 0.5f * rnd();
            labels[i] = (int)(8 * rnd());
            for (int k = 0; k < E; k++) embeds[i * E + k] = 4 * rnd() - 2;
        }
        CHECK_EQ_INT(rt_tracker_match(t, fi, &d, &m), RT_OK);
        for (int a = 0; a < m.n; a++)
            for (int b = a + 1; b < m.n; b++) CHECK(m.ids[a] < 0 || m.ids[a] != m.ids[b]);
        CHECK_EQ_INT(rt_tracker_update(t, fi, &d, ref), RT_OK);
        CHECK(rt_tracker_num_tracks(t) <= 1000);
        CHECK(rt_tracker_num_backdrops(t) <= N);
    }
    CHECK_EQ_INT(rt_alloc_count(), a0);
    rt_tracker_free(&t);
}

static void test_errors(void) {
    rt_tracker_params p = small_params();
    rt_tracker *t = NULL;
    p.memo_momentum = 1.5;
    CHECK_EQ_INT(rt_tracker_init(&t, &p), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "memo_momentum");
    CHECK(t == NULL);
    p = small_params();
    p.max_det = 0;
    CHECK_EQ_INT(rt_tracker_init(&t, &p), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "max_det");
    p = small_params();
    p.memo_tracklet_frames = 1 << 30;
    CHECK_EQ_INT(rt_tracker_init(&t, &p), RT_ERR_CONFIG);
    p = small_params();
    p.init_score_thr = NAN;
    CHECK_EQ_INT(rt_tracker_init(&t, &p), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "init_score_thr");

    // Every allocation failure during init is reported and leaks nothing.
    p = small_params();
    for (uint64_t k = 1;; k++) {
        rt_alloc_fail_after(k);
        rt_status st = rt_tracker_init(&t, &p);
        rt_alloc_fail_after(0);
        if (st == RT_OK) break;
        CHECK_EQ_INT(st, RT_ERR_NOMEM);
        CHECK(t == NULL);
        if (k > 100) break;
    }
    CHECK(t != NULL);

    rt_tracker_match_result m;
    frame f;
    fr_init(&f, 0);
    fr_add_at(&f, 0, 0.9f, 0, 1, 0, 0, 0);
    rt_tracker_dets d = fr_dets(&f);
    CHECK_EQ_INT(rt_tracker_update(t, 0, &d, f.refine), RT_ERR_INVAL); // no match yet
    CHECK_CONTAINS(rt_error(), "does not follow");
    f.scores[0] = NAN;
    CHECK_EQ_INT(rt_tracker_match(t, 0, &d, &m), RT_ERR_INVAL);
    CHECK_CONTAINS(rt_error(), "non-finite score");
    f.scores[0] = 0.9f;
    f.embeds[2] = INFINITY;
    CHECK_EQ_INT(rt_tracker_match(t, 0, &d, &m), RT_ERR_INVAL);
    CHECK_CONTAINS(rt_error(), "embedding");
    f.embeds[2] = 0;
    d.n = p.max_det + 1;
    CHECK_EQ_INT(rt_tracker_match(t, 0, &d, &m), RT_ERR_INVAL);
    d.n = 1;
    d.embeds = NULL;
    CHECK_EQ_INT(rt_tracker_match(t, 0, &d, &m), RT_ERR_INVAL);
    d = fr_dets(&f);
    CHECK_EQ_INT(rt_tracker_next_id(t), 0); // failed calls changed nothing
    step(t, 0, &f, &m);
    CHECK_EQ_INT(m.ids[0], 0);
    CHECK_EQ_INT(rt_tracker_match(t, 0, &d, &m), RT_ERR_INVAL); // frame id not increasing
    CHECK_CONTAINS(rt_error(), "must increase");
    CHECK_EQ_INT(rt_tracker_match(t, 1, &d, &m), RT_OK);
    CHECK_EQ_INT(rt_tracker_update(t, 2, &d, f.refine), RT_ERR_INVAL); // another frame
    f.boxes[0] += 1;
    CHECK_EQ_INT(rt_tracker_update(t, 1, &d, f.refine), RT_ERR_INVAL); // other detections
    CHECK_CONTAINS(rt_error(), "differs");
    f.boxes[0] -= 1;
    CHECK_EQ_INT(rt_tracker_update(t, 1, &d, NULL), RT_ERR_INVAL);
    CHECK_EQ_INT(rt_tracker_update(t, 1, &d, f.refine), RT_OK);
    CHECK_EQ_INT(rt_tracker_update(t, 1, &d, f.refine), RT_ERR_INVAL); // twice
    CHECK_EQ_INT(find_track(t, 0).last_frame, 1);
    rt_tracker_free(&t);
}

// The released defaults, and that a full-size tracker can be made (its pages stay untouched).
static void test_defaults(void) {
    rt_tracker_params p = rt_tracker_default_params();
    CHECK_NEAR(p.init_score_thr, 0.7, 0);
    CHECK_NEAR(p.obj_score_thr, 0.3, 0);
    CHECK_NEAR(p.match_score_thr, 0.5, 0);
    CHECK_EQ_INT(p.memo_tracklet_frames, 10);
    CHECK_EQ_INT(p.memo_backdrop_frames, 1);
    CHECK_NEAR(p.memo_momentum, 0.8, 0);
    CHECK_NEAR(p.nms_conf_thr, 0.5, 0);
    CHECK_NEAR(p.nms_backdrop_iou_thr, 0.3, 0);
    CHECK_NEAR(p.nms_class_iou_thr, 0.7, 0);
    CHECK(p.with_cats);
    CHECK_EQ_INT(p.embed_dim, 256);
    CHECK_EQ_INT(p.mask_feat_size, 256 * 14 * 14);
    CHECK_EQ_INT(p.mask_pred_size, 8 * 28 * 28);
    CHECK_EQ_INT(p.refine_pred_size, 28 * 28);
    CHECK_EQ_INT(p.max_det, 100);
    rt_tracker *t = new_tracker(&p);
    CHECK_EQ_INT(rt_tracker_capacity(t), 1000);
    CHECK_EQ_INT(rt_tracker_get_params(t)->max_det, 100);
    rt_tracker_free(&t);
    // memo_tracklet_frames 0: nothing is ever remembered, every frame starts new ids.
    p = small_params();
    p.memo_tracklet_frames = 0;
    t = new_tracker(&p);
    rt_tracker_match_result m;
    frame f;
    for (int i = 0; i < 3; i++) {
        fr_init(&f, i);
        fr_add_at(&f, 0, 0.9f, 0, 1, 0, 0, 0);
        step(t, i, &f, &m);
        CHECK_EQ_INT(m.ids[0], i);
        CHECK_EQ_INT(rt_tracker_num_tracks(t), 0);
    }
    rt_tracker_free(&t);
}

// Reads the integers after the first word of `line` into v (at most cap); returns the count.
static int parse_ints(const char *line, int *v, int cap) {
    const char *p = strchr(line, ' ');
    int n = 0;
    while (p && n < cap) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p) break;
        v[n++] = (int)x;
        p = end;
    }
    return n;
}

static int parse_floats(const char *p, float *v, int cap) {
    int n = 0;
    while (n < cap) {
        char *end;
        float x = strtof(p, &end);
        if (end == p) break;
        v[n++] = x;
        p = end;
    }
    return n;
}

static bool next_line(FILE *f, char *buf, int cap, const char *want) {
    if (!fgets(buf, cap, f)) return false;
    return strncmp(buf, want, strlen(want)) == 0;
}

// Random videos run through the Python reference tracker (tools/make_tracker_golden.py, decisions
// kept clear of every threshold): every frame's order, duplicates, ids and references, and the
// full track and backdrop state after each update, embeddings to the last bit.
static void test_golden(void) {
    FILE *f = fopen("tests/data/tracker_golden.txt", "r");
    CHECK_MSG(f != NULL, "tests/data/tracker_golden.txt: cannot open");
    if (!f) return;
    enum { G = 12, GD = 8 };
    static char line[4096];
    float boxes[G * 4], scores[G], embeds[G * GD], feats[G], preds[G], refine[G];
    int labels[G], iv[64];
    rt_tracker *t = NULL;
    rt_tracker_match_result m;
    int video = -1, fidx = 0, frames = 0, dim = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        if (strncmp(line, "video ", 6) == 0) {
            CHECK_EQ_INT(parse_ints(line, iv, 5), 5);
            rt_tracker_free(&t);
            rt_tracker_params p = small_params();
            p.memo_tracklet_frames = iv[0];
            p.memo_backdrop_frames = iv[1];
            p.with_cats = iv[2] != 0;
            p.embed_dim = dim = iv[3];
            p.mask_feat_size = p.mask_pred_size = p.refine_pred_size = 1;
            p.max_det = G;
            CHECK(dim <= GD);
            t = new_tracker(&p);
            video++;
            fidx = -1;
            continue;
        }
        CHECK_MSG(t && strncmp(line, "frame ", 6) == 0, "golden: unexpected line: %s", line);
        if (!t || strncmp(line, "frame ", 6) != 0 || test_g.failures > 20) break;
        CHECK_EQ_INT(parse_ints(line, iv, 2), 2);
        const int fid = iv[0], n = iv[1];
        fidx++;
        frames++;
        CHECK(n >= 0 && n <= G);
        for (int i = 0; i < n; i++) {
            float v[5 + GD];
            CHECK(next_line(f, line, sizeof line, "det "));
            const char *p = line + 4;
            char *end;
            for (int k = 0; k < 5; k++, p = end) v[k] = strtof(p, &end);
            labels[i] = (int)strtol(p, &end, 10);
            CHECK_EQ_INT(parse_floats(end, v + 5, dim), dim);
            memcpy(boxes + 4 * i, v, 4 * sizeof(float));
            scores[i] = v[4];
            memcpy(embeds + i * dim, v + 5, (size_t)dim * sizeof(float));
            feats[i] = (float)(1000 * fidx + i);
            preds[i] = -feats[i];
        }
        rt_tracker_dets d = {n, boxes, scores, labels, embeds, feats, preds};
        CHECK_EQ_INT(rt_tracker_match(t, fid, &d, &m), RT_OK);
        if (n == 0) {
            CHECK_EQ_INT(rt_tracker_update(t, fid, &d, NULL), RT_OK);
            continue;
        }
        CHECK(next_line(f, line, sizeof line, "sorted "));
        CHECK_EQ_INT(parse_ints(line, iv, 64), n);
        for (int i = 0; i < n; i++) CHECK_EQ_INT(m.sorted[i], iv[i]);
        CHECK(next_line(f, line, sizeof line, "valid "));
        parse_ints(line, iv, 64);
        for (int i = 0; i < n; i++) CHECK_EQ_INT(m.valid[i], iv[i]);
        CHECK(next_line(f, line, sizeof line, "ids "));
        CHECK_MSG(parse_ints(line, iv, 64) == m.n, "video %d frame %d: %d kept", video, fid, m.n);
        for (int k = 0; k < m.n; k++)
            CHECK_MSG(m.ids[k] == iv[k], "video %d frame %d: id[%d] %d, want %d", video, fid, k,
                      m.ids[k], iv[k]);
        CHECK(next_line(f, line, sizeof line, "ref "));
        parse_ints(line, iv, 64);
        for (int k = 0; k < m.n; k++) CHECK_EQ_INT((int)m.ref_mask_feat[k][0], iv[k]);
        for (int k = 0; k < m.n; k++) refine[k] = feats[m.index[k]] + 0.5f;
        CHECK_EQ_INT(rt_tracker_update(t, fid, &d, refine), RT_OK);
        int nt = 0, nb = 0;
        while (fgets(line, sizeof line, f) && strncmp(line, "end", 3) != 0) {
            float v[GD + 2];
            char *end;
            if (strncmp(line, "track ", 6) == 0) {
                CHECK_EQ_INT(parse_ints(line, iv, 3), 3);
                const char *p = line + 6;
                for (int k = 0; k < 3; k++, p = end) (void)strtol(p, &end, 10);
                CHECK_EQ_INT(parse_floats(p, v, dim + 2), dim + 2);
                if (nt >= rt_tracker_num_tracks(t)) {
                    CHECK_MSG(0, "video %d frame %d: too few tracks", video, fid);
                    nt++;
                    continue;
                }
                rt_tracker_track tr;
                rt_tracker_get_track(t, nt++, &tr);
                CHECK_EQ_INT(tr.id, iv[0]);
                CHECK_EQ_INT(tr.label, iv[1]);
                CHECK_EQ_INT(tr.last_frame, iv[2]);
                for (int k = 0; k < dim; k++) CHECK(tr.embed[k] == v[k]);
                CHECK(tr.mask_feat[0] == v[dim]);
                CHECK(tr.mask_pred[0] == -v[dim]);
                CHECK(tr.refine_pred[0] == v[dim + 1]);
            } else if (strncmp(line, "backdrop ", 9) == 0) {
                const char *p = line + 9;
                int label = (int)strtol(p, &end, 10);
                CHECK_EQ_INT(parse_floats(end, v, dim), dim);
                if (nb >= rt_tracker_num_backdrops(t)) {
                    CHECK_MSG(0, "video %d frame %d: too few backdrops", video, fid);
                    nb++;
                    continue;
                }
                rt_tracker_backdrop b;
                rt_tracker_get_backdrop(t, nb++, &b);
                CHECK_EQ_INT(b.label, label);
                for (int k = 0; k < dim; k++) CHECK(b.embed[k] == v[k]);
            } else {
                CHECK_MSG(0, "golden: unexpected line: %s", line);
            }
        }
        CHECK_MSG(nt == rt_tracker_num_tracks(t), "video %d frame %d: %d tracks, want %d", video,
                  fid, rt_tracker_num_tracks(t), nt);
        CHECK_EQ_INT(nb, rt_tracker_num_backdrops(t));
    }
    CHECK_EQ_INT(video, 5);
    CHECK(frames > 100);
    rt_tracker_free(&t);
    fclose(f);
}

int main(void) {
    TEST_RUN(test_bisoftmax_three_tracks);
    TEST_RUN(test_bisoftmax_contested);
    TEST_RUN(test_single_row_and_column);
    TEST_RUN(test_class_gating);
    TEST_RUN(test_duplicates);
    TEST_RUN(test_new_track_threshold);
    TEST_RUN(test_backdrops);
    TEST_RUN(test_suppressed);
    TEST_RUN(test_expiry);
    TEST_RUN(test_momentum);
    TEST_RUN(test_empty_frame);
    TEST_RUN(test_reset);
    TEST_RUN(test_pool_stress);
    TEST_RUN(test_errors);
    TEST_RUN(test_defaults);
    TEST_RUN(test_golden);
    return test_finish();
}
