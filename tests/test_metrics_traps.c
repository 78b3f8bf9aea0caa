// TrackEval protocol traps (METRICS.md §6): exact thresholds, ignore regions, empty sequences,
// classes without detections, overlapping results, gap-frame quirks and input errors.
#include "tests/metrics_util.h"

enum { CAR = 1, PED = 2 };

static merge_metrics_params te_params(void) {
    return merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
}

// Evaluates videos v[0..n) and returns the combined rows of car and pedestrian.
static void eval(tvideo *v, int n, merge_metrics_params p, merge_te_row rows[2],
                 merge_video_result *res) {
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_totals t;
    merge_totals_init(&t, &p);
    for (int i = 0; i < n; i++) {
        merge_video_result r;
        CHECK_EQ_INT(tv_run(mv, &v[i], i, &r), RT_OK);
        if (res) res[i] = r;
        merge_totals_add(&t, &r);
    }
    merge_totals_te_row(&t, 0, &rows[0]);
    merge_totals_te_row(&t, 1, &rows[1]);
    merge_video_free(&mv);
}

static void test_iou_exactly_half(void) {
    // GT column 0 rows 0-3; result rows 0-1 of it: IoU 2/4 = 0.5 is a match everywhere.
    tvideo v;
    tv_init(&v, 1);
    tv_rect(&v, 1, 0, 1, CAR, 0, 4, 4, 0, 3, 0, 0);
    tv_rect(&v, 0, 0, 7, CAR, 1, 4, 4, 0, 1, 0, 0);
    merge_te_row r[2];
    eval(&v, 1, te_params(), r, NULL);
    CHECK_EQ_INT(r[0].CLR_TP, 1);
    CHECK_EQ_INT(r[0].CLR_FP, 0);
    CHECK_EQ_INT(r[0].IDTP, 1);
    CHECK_EQ_INT(r[0].HOTA_TP[9], 1);  // α = 0.5000000000000001, reached through the −ε
    CHECK_EQ_INT(r[0].HOTA_TP[10], 0); // α = 0.55
    CHECK_NEAR(r[0].MOTP, 0.5, 0);
    tv_free(&v);
}

static void test_ignore_ioa(void) {
    // Ignore region: column 0. An unmatched result half inside (IoA exactly 0.5) stays a false
    // positive; one two thirds inside is removed; the ignore row itself is no GT object.
    for (int inside = 0; inside < 2; inside++) {
        tvideo v;
        tv_init(&v, 1);
        tobj *ig = tv_new(&v, 1, 0, 10000, 10);
        uint8_t m[16] = {0}, d[16] = {0};
        for (int y = 0; y < 4; y++) m[y * 4] = 1;
        rt_rle_encode(&ig->m, m, 4, 4);
        ig->o.ignore = 1;
        tobj *det = tv_new(&v, 0, 0, 3, CAR);
        d[0] = d[1] = d[4] = 1; // (0,0) (0,1) (1,0): 2 of 3 inside
        if (!inside) d[5] = 1;  // plus (1,1): 2 of 4 inside
        rt_rle_encode(&det->m, d, 4, 4);
        merge_te_row r[2];
        eval(&v, 1, te_params(), r, NULL);
        CHECK_EQ_INT(r[0].CLR_FP, inside ? 0 : 1);
        CHECK_EQ_INT(r[0].CLR_FN, 0);
        CHECK_EQ_INT(r[0].HOTA_FP[0], inside ? 0 : 1);
        CHECK_EQ_INT(r[0].IDFP, inside ? 0 : 1);
        tv_free(&v);
    }
}

static void test_ignore_union(void) {
    // TrackEval compares with the union of the ignore regions: 50% in each of two regions is
    // 100% of the union, so the result goes.
    tvideo v;
    tv_init(&v, 1);
    tv_rect(&v, 1, 0, 10000, 10, 0, 4, 8, 0, 3, 0, 1);
    tv_rect(&v, 1, 0, 10001, 10, 0, 4, 8, 0, 3, 2, 3);
    v.o[0].o.ignore = v.o[1].o.ignore = 1;
    tv_rect(&v, 0, 0, 5, PED, 1, 4, 8, 0, 3, 1, 2);
    merge_te_row r[2];
    eval(&v, 1, te_params(), r, NULL);
    CHECK_EQ_INT(r[1].CLR_FP, 0);
    tv_free(&v);
}

static void test_empty_sequences(void) {
    tvideo v[3];
    // 0: GT only (no results at all); 1: results only; 2: nothing at all, 5 frames.
    tv_init(&v[0], 3);
    for (int f = 0; f < 3; f++) tv_rect(&v[0], 1, f, 1, CAR, 0, 4, 4, 0, 1, 0, 1);
    tv_init(&v[1], 2);
    tv_rect(&v[1], 0, 0, 1, CAR, 1, 4, 4, 0, 1, 0, 1);
    tv_rect(&v[1], 0, 1, 1, CAR, 1, 4, 4, 0, 1, 0, 1);
    tv_init(&v[2], 5);
    merge_te_row r[2];
    merge_video_result res[3];
    eval(v, 3, te_params(), r, res);
    merge_te_row s;
    merge_video_te_row(&res[0], 0, &s);
    CHECK_EQ_INT(s.CLR_FN, 3);
    CHECK_EQ_INT(s.ML, 1);
    CHECK(s.MLR == 1.0 && s.MOTA == 0.0 && s.HOTA == 0.0 && s.LocA == 1.0 && s.LocA0 == 1.0);
    CHECK_EQ_INT(s.CLR_Frames, 0); // TrackEval's early return skips it
    CHECK_EQ_INT(s.IDFN, 3);
    CHECK_EQ_INT(s.HOTA_FN[18], 3);
    merge_video_te_row(&res[1], 0, &s);
    CHECK_EQ_INT(s.CLR_FP, 2);
    CHECK(s.MOTA == 0.0 && s.MLR == 1.0); // printed 0 although the formula would give -2
    CHECK_EQ_INT(s.IDFP, 2);
    // Combined: recomputed from pooled counts.
    CHECK_EQ_INT(r[0].CLR_FN, 3);
    CHECK_EQ_INT(r[0].CLR_FP, 2);
    CHECK_NEAR(r[0].MOTA, -2.0 / 3.0, 1e-15);
    CHECK_EQ_INT(r[0].CLR_Frames, 0);
    CHECK(r[0].HOTA == 0.0 && r[0].LocA == 1.0);
    // A class nobody has: zeros, LocA 1, no NaN anywhere.
    CHECK_EQ_INT(r[1].CLR_TP + r[1].CLR_FN + r[1].CLR_FP, 0);
    CHECK(r[1].HOTA == 0.0 && r[1].MOTA == 0.0 && r[1].IDF1 == 0.0 && r[1].LocA == 1.0);
    CHECK(!isnan(r[1].MOTP) && !isnan(r[1].AssA) && !isnan(r[1].DetRe));
    // Class average over car and the empty pedestrian class: the empty class counts unless
    // ignore_empty.
    merge_te_row avg, avg2;
    merge_te_class_average(r, 2, false, &avg);
    CHECK_NEAR(avg.MOTA, r[0].MOTA / 2, 1e-15);
    merge_te_class_average(r, 2, true, &avg2);
    CHECK_NEAR(avg2.MOTA, r[0].MOTA, 1e-15);
    for (int i = 0; i < 3; i++) tv_free(&v[i]);
}

static void test_fragments(void) {
    // g1 in frames 0-2, g2 only in frame 1. Frame 1's results hold only g2 (case a) or nothing
    // (case b). Absence of g1's match with other results present breaks the track; a frame
    // without results of the class does not (TrackEval's quirk).
    for (int gap_empty = 0; gap_empty < 2; gap_empty++) {
        tvideo v;
        tv_init(&v, 3);
        for (int f = 0; f < 3; f++) tv_rect(&v, 1, f, 1, PED, 0, 6, 6, 0, 1, 0, 1);
        tv_rect(&v, 1, 1, 2, PED, 0, 6, 6, 4, 5, 4, 5);
        tv_rect(&v, 0, 0, 9, PED, 1, 6, 6, 0, 1, 0, 1);
        if (!gap_empty) tv_rect(&v, 0, 1, 8, PED, 1, 6, 6, 4, 5, 4, 5);
        tv_rect(&v, 0, 2, 9, PED, 1, 6, 6, 0, 1, 0, 1);
        merge_te_row r[2];
        eval(&v, 1, te_params(), r, NULL);
        CHECK_EQ_INT(r[1].Frag, gap_empty ? 0 : 1);
        CHECK_EQ_INT(r[1].IDSW, 0);
        CHECK_EQ_INT(r[1].CLR_FN, gap_empty ? 2 : 1);
        tv_free(&v);
    }
}

static void test_overlapping_results(void) {
    // r1 (score 0.9) is the GT object; r2 (score 0.5) covers it and more. De-overlapped, r2
    // keeps only its own part: r1 matches with IoU 1 and r2 is a false positive.
    tvideo v;
    tv_init(&v, 1);
    tv_rect(&v, 1, 0, 1, CAR, 0, 4, 4, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 2, CAR, 0.5, 4, 4, 0, 3, 0, 3);
    tv_rect(&v, 0, 0, 1, CAR, 0.9, 4, 4, 0, 1, 0, 1);
    merge_te_row r[2];
    eval(&v, 1, te_params(), r, NULL);
    CHECK_EQ_INT(r[0].CLR_TP, 1);
    CHECK_EQ_INT(r[0].CLR_FP, 1);
    CHECK_NEAR(r[0].MOTP, 1.0, 0);
    // Without de-overlapping, TrackEval's rule: overlapping results are an error.
    merge_metrics_params p = te_params();
    p.deoverlap = false;
    merge_video *mv;
    merge_video_init(&mv, &p);
    merge_video_result res;
    CHECK_EQ_INT(tv_run(mv, &v, 7, &res), RT_ERR_FORMAT);
    CHECK_CONTAINS(rt_error(), "video 7 frame 0: result masks overlap");
    merge_video_free(&mv);
    tv_free(&v);
}

static void test_deoverlap_naive(void) {
    enum { H = 9, W = 7, N = 6 };
    uint64_t s = 12345;
    rt_rle in[N], out[N];
    const rt_rle *pin[N];
    uint8_t m[N][H * W], got[H * W];
    double score[N];
    for (int it = 0; it < 50; it++) {
        for (int i = 0; i < N; i++) {
            rt_rle_init(&in[i]);
            rt_rle_init(&out[i]);
            memset(m[i], 0, sizeof m[i]);
            for (int p = 0; p < H * W; p++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                m[i][p] = (s >> 60) < 5;
            }
            rt_rle_encode(&in[i], m[i], H, W);
            pin[i] = &in[i];
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            score[i] = (double)((s >> 61) % 4) / 4; // many ties
        }
        CHECK_EQ_INT(merge_masks_deoverlap(pin, score, N, out), RT_OK);
        // Naive painting: ascending score, ties in index order, later paint wins.
        int owner[H * W];
        for (int p = 0; p < H * W; p++) owner[p] = -1;
        for (int pass = 0; pass < N; pass++) {
            for (int i = 0; i < N; i++) {
                int rank = 0;
                for (int j = 0; j < N; j++)
                    rank += score[j] < score[i] || (score[j] == score[i] && j < i);
                if (rank != pass) continue;
                for (int p = 0; p < H * W; p++)
                    if (m[i][p]) owner[p] = i;
            }
        }
        for (int i = 0; i < N; i++) {
            rt_rle_decode(&out[i], got);
            for (int p = 0; p < H * W; p++) CHECK_EQ_INT(got[p], owner[p] == i);
            rt_rle_free(&in[i]);
            rt_rle_free(&out[i]);
        }
    }
}

static void test_input_errors(void) {
    merge_metrics_params p = te_params();
    merge_video *mv;
    merge_video_init(&mv, &p);
    merge_video_result res;
    tvideo v;
    tv_init(&v, 2);
    tv_rect(&v, 1, 1, 5, CAR, 0, 4, 4, 0, 0, 0, 0);
    tv_rect(&v, 1, 1, 5, PED, 0, 4, 4, 3, 3, 3, 3);
    CHECK_EQ_INT(tv_run(mv, &v, 3, &res), RT_ERR_FORMAT);
    CHECK_CONTAINS(rt_error(), "video 3 frame 1: gt id 5 twice");
    tv_free(&v);
    tv_init(&v, 1);
    tv_rect(&v, 1, 0, 5, CAR, 0, 4, 4, 0, 0, 0, 0);
    tv_rect(&v, 0, 0, 5, CAR, 0, 4, 5, 0, 0, 0, 0);
    CHECK_EQ_INT(tv_run(mv, &v, 3, &res), RT_ERR_SHAPE);
    CHECK_CONTAINS(rt_error(), "result mask 0 is 4x5, not 4x4");
    tv_free(&v);
    tv_init(&v, 1);
    tv_rect(&v, 1, 0, 5, CAR, 0, 4, 4, 0, 1, 0, 1);
    tv_rect(&v, 1, 0, 10000, 10, 0, 4, 4, 1, 2, 1, 2);
    v.o[1].o.ignore = 1;
    CHECK_EQ_INT(tv_run(mv, &v, 3, &res), RT_ERR_FORMAT);
    CHECK_CONTAINS(rt_error(), "ground-truth masks overlap");
    tv_free(&v);
    tv_init(&v, 1);
    tv_rect(&v, 0, 0, 5, CAR, 0, 4, 4, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 5, PED, 0, 4, 4, 2, 3, 2, 3);
    CHECK_EQ_INT(tv_run(mv, &v, 3, &res), RT_ERR_FORMAT);
    CHECK_CONTAINS(rt_error(), "result id 5 twice");
    tv_free(&v);
    merge_video_free(&mv);
}

int main(void) {
    TEST_RUN(test_iou_exactly_half);
    TEST_RUN(test_ignore_ioa);
    TEST_RUN(test_ignore_union);
    TEST_RUN(test_empty_sequences);
    TEST_RUN(test_fragments);
    TEST_RUN(test_overlapping_results);
    TEST_RUN(test_deoverlap_naive);
    TEST_RUN(test_input_errors);
    return test_finish();
}
