// BDD100K MOTS protocol (scalabel + py-motmetrics semantics, METRICS.md §3) on hand-derived
// cases: switches, carry-over, misses and FM, MT at exactly 0.8, per-region crowd IoA, classes
// with only false positives (−inf MOTA counted as 0 in AVERAGE), pooled OVERALL, MAX_DET.
#include "shard/image.h"
#include "tests/metrics_util.h"

enum { PED = 1, CAR = 3 };
#define NROWS (8 + 3 + 2)
enum { AVG = 11, ALL = 12, HUMAN = 8, VEHICLE = 9 };

static void bdd_eval(tvideo *v, int n, merge_metrics_params p, merge_bdd_row rows[NROWS]) {
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_totals t;
    merge_totals_init(&t, &p);
    for (int i = 0; i < n; i++) {
        merge_video_result r;
        CHECK_EQ_INT(tv_run(mv, &v[i], i, &r), RT_OK);
        merge_totals_add(&t, &r);
    }
    merge_totals_bdd_rows(&t, rows);
    merge_video_free(&mv);
}

static merge_metrics_params bdd(void) { return merge_metrics_default_params(MERGE_PROTOCOL_BDD100K); }

static void test_switch_miss_carry(void) {
    // One pedestrian in 4 frames; results: id 1, id 2 (switch), nothing (miss), id 2 (carried).
    // A car false positive in frame 0 (no car in the GT at all).
    tvideo v;
    tv_init(&v, 4);
    for (int f = 0; f < 4; f++) tv_rect(&v, 1, f, 1, PED, 0, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 1, PED, 1, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 1, 2, PED, 1, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 3, 2, PED, 1, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 9, CAR, 1, 6, 6, 4, 5, 4, 5);
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, bdd(), r);
    const merge_bdd_row *ped = &r[0], *car = &r[2];
    CHECK_NEAR(ped->MOTA, 50, 1e-12);
    CHECK_NEAR(ped->MOTP, 100, 1e-12);
    CHECK_NEAR(ped->IDF1, 400.0 / 7.0, 1e-12); // IDTP 2 (o1↔h2), objects 4, predictions 3
    CHECK_EQ_INT(ped->IDSw, 1);
    CHECK_EQ_INT(ped->FN, 1);
    CHECK_EQ_INT(ped->FP, 0);
    CHECK_EQ_INT(ped->MT, 0);
    CHECK_EQ_INT(ped->PT, 1); // 3 of 4
    CHECK_EQ_INT(ped->FM, 1);
    CHECK(isinf(car->MOTA) && car->MOTA < 0); // FPs over zero objects
    CHECK(isnan(car->MOTP));
    CHECK_NEAR(car->IDF1, 0, 0);
    CHECK_EQ_INT(car->FP, 1);
    CHECK(isnan(r[1].MOTA) && isnan(r[1].IDF1)); // rider: no accumulator at all
    // Groups pool their classes; AVERAGE: means over 8 classes with NaN/inf as 0.
    CHECK_NEAR(r[HUMAN].MOTA, 50, 1e-12);
    CHECK(isinf(r[VEHICLE].MOTA));
    CHECK_NEAR(r[AVG].MOTA, 50.0 / 8, 1e-12);
    CHECK_NEAR(r[AVG].MOTP, 100.0 / 8, 1e-12);
    CHECK_NEAR(r[AVG].IDF1, 400.0 / 7.0 / 8, 1e-12);
    CHECK_EQ_INT(r[AVG].IDSw, 1);
    CHECK_EQ_INT(r[AVG].FP, 1);
    // OVERALL pools all classes: errors 1 + 1 + 1 over 4 objects; IDF1 2·2/(4 + 4).
    CHECK_NEAR(r[ALL].MOTA, 25, 1e-12);
    CHECK_NEAR(r[ALL].MOTP, 100, 1e-12);
    CHECK_NEAR(r[ALL].IDF1, 50, 1e-12);
    CHECK_EQ_INT(r[ALL].FN, 1);
    tv_free(&v);
}

static void test_mt_boundary(void) {
    // Tracked in 4 of 5 frames: MT for motmetrics (≥ 0.8), PT for TrackEval (> 0.8).
    tvideo v;
    tv_init(&v, 5);
    for (int f = 0; f < 5; f++) tv_rect(&v, 1, f, 1, PED, 0, 6, 6, 0, 1, 0, 1);
    for (int f = 0; f < 4; f++) tv_rect(&v, 0, f, 1, PED, 1, 6, 6, 0, 1, 0, 1);
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, bdd(), r);
    CHECK_EQ_INT(r[0].MT, 1);
    CHECK_EQ_INT(r[0].FM, 0); // a miss after the last tracked frame is no fragmentation
    merge_metrics_params te = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
    te.class_id[1] = PED;
    merge_video *mv;
    merge_video_init(&mv, &te);
    merge_video_result res;
    CHECK_EQ_INT(tv_run(mv, &v, 0, &res), RT_OK);
    CHECK_EQ_INT(res.te[1].mt, 0);
    CHECK_EQ_INT(res.te[1].pt, 1);
    merge_video_free(&mv);
    tv_free(&v);
}

static void test_fm(void) {
    // Tracked, missed, missed, tracked, missed: one fragmentation.
    tvideo v;
    tv_init(&v, 5);
    for (int f = 0; f < 5; f++) tv_rect(&v, 1, f, 1, PED, 0, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 1, PED, 1, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 3, 1, PED, 1, 6, 6, 0, 1, 0, 1);
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, bdd(), r);
    CHECK_EQ_INT(r[0].FM, 1);
    CHECK_EQ_INT(r[0].FN, 3);
    CHECK_EQ_INT(r[0].PT, 1); // 2 of 5 = 0.4
    tv_free(&v);
}

static void test_carry_over_at_half(void) {
    // o1 is a 4×4 block. Frame 0: h1 exact. Frame 1: h2 (listed first) and h1 each cover half
    // of it (IoU exactly 0.5, a valid pair for motmetrics): the previous match h1 is carried.
    tvideo v;
    tv_init(&v, 2);
    for (int f = 0; f < 2; f++) tv_rect(&v, 1, f, 1, PED, 0, 6, 6, 0, 3, 0, 3);
    tv_rect(&v, 0, 0, 1, PED, 1, 6, 6, 0, 3, 0, 3);
    tv_rect(&v, 0, 1, 2, PED, 1, 6, 6, 0, 3, 0, 1);
    tv_rect(&v, 0, 1, 1, PED, 1, 6, 6, 0, 3, 2, 3);
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, bdd(), r);
    CHECK_EQ_INT(r[0].IDSw, 0);
    CHECK_EQ_INT(r[0].FP, 1);
    CHECK_EQ_INT(r[0].FN, 0);
    CHECK_NEAR(r[0].MOTP, 100 * (1 - 0.5 / 2), 1e-12); // distances 0 and 0.5
    tv_free(&v);
}

static void test_crowd_per_region(void) {
    // Crowd regions R1 (columns 0-1) and R2 (columns 2-3). A result over columns 1-2 is half in
    // each: scalabel keeps it (per region IoA 0.5 is not > 0.5); TrackEval's union removes it.
    // A result in column 0 only (fully in R1, unmatched) goes in both.
    tvideo v;
    tv_init(&v, 1);
    tv_rect(&v, 1, 0, 100, PED, 0, 4, 8, 0, 3, 0, 1);
    tv_rect(&v, 1, 0, 101, CAR, 0, 4, 8, 0, 3, 2, 3);
    v.o[0].o.ignore = v.o[1].o.ignore = 1;
    tv_rect(&v, 0, 0, 5, PED, 1, 4, 8, 0, 3, 1, 2);
    tv_rect(&v, 0, 0, 6, PED, 0.5, 4, 8, 0, 3, 0, 0);
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, bdd(), r);
    CHECK_EQ_INT(r[0].FP, 1);
    merge_metrics_params te = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
    te.class_id[1] = PED;
    merge_video *mv;
    merge_video_init(&mv, &te);
    merge_video_result res;
    CHECK_EQ_INT(tv_run(mv, &v, 0, &res), RT_OK);
    CHECK_EQ_INT(res.te[1].clr_fp, 0);
    merge_video_free(&mv);
    tv_free(&v);
}

static void test_max_det(void) {
    // With max_det 2 the result with the largest id is dropped before evaluation.
    tvideo v;
    tv_init(&v, 1);
    for (int k = 0; k < 3; k++) {
        tv_rect(&v, 1, 0, k + 1, PED, 0, 6, 6, 2 * k, 2 * k + 1, 0, 1);
        tv_rect(&v, 0, 0, k == 0 ? 7 : 2 * k + 1, PED, 1, 6, 6, 2 * k, 2 * k + 1, 0, 1);
    }
    merge_metrics_params p = bdd();
    p.max_det = 2;
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, p, r);
    CHECK_EQ_INT(r[0].FN, 1);
    CHECK_EQ_INT(r[0].FP, 0);
    CHECK_NEAR(r[0].MOTA, 100 * (1 - 1.0 / 3), 1e-12);
    tv_free(&v);
}

static void test_videos_pool(void) {
    // Two videos: counts add; MOTP pools Σ motp_v·det_v / Σ det_v; ids do not carry across.
    tvideo v[2];
    for (int i = 0; i < 2; i++) {
        tv_init(&v[i], 2);
        for (int f = 0; f < 2; f++) tv_rect(&v[i], 1, f, 1, PED, 0, 4, 4, 0, 1, 0, 1);
    }
    tv_rect(&v[0], 0, 0, 4, PED, 1, 4, 4, 0, 1, 0, 1);
    tv_rect(&v[0], 0, 1, 4, PED, 1, 4, 4, 0, 1, 0, 1);
    tv_rect(&v[1], 0, 0, 1, PED, 1, 4, 4, 0, 1, 0, 0); // IoU 0.5
    merge_bdd_row r[NROWS];
    bdd_eval(v, 2, bdd(), r);
    CHECK_EQ_INT(r[0].IDSw, 0);
    CHECK_EQ_INT(r[0].FN, 1);
    CHECK_NEAR(r[0].MOTA, 75, 1e-12);
    CHECK_NEAR(r[0].MOTP, 100 * (1 - 0.5 / 3), 1e-12);
    CHECK_NEAR(r[0].IDF1, 100 * 2.0 * 3 / (4 + 3), 1e-12);
    for (int i = 0; i < 2; i++) tv_free(&v[i]);
}

static void test_overlapping_predictions(void) {
    // Frame 0: h1 (0.9) is the pedestrian; h2 (0.5) covers it and more; a result of a class the
    // protocol does not evaluate (99) overlaps both. Frame 1: h1 alone.
    tvideo v;
    tv_init(&v, 2);
    for (int f = 0; f < 2; f++) tv_rect(&v, 1, f, 1, PED, 0, 4, 4, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 1, PED, 0.9, 4, 4, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 2, PED, 0.5, 4, 4, 0, 1, 0, 3);
    tv_rect(&v, 0, 0, 3, 99, 0.1, 4, 4, 0, 3, 0, 3);
    tv_rect(&v, 0, 1, 1, PED, 0.9, 4, 4, 0, 1, 0, 1);
    // De-overlapped (what pcan eval does): h2 keeps columns 2-3 and is a false positive.
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, bdd(), r);
    CHECK_EQ_INT(r[0].FP, 1);
    CHECK_EQ_INT(r[0].FN, 0);
    CHECK_NEAR(r[0].MOTP, 100, 1e-12);
    // As scalabel reads raw masks: frame 0's predictions all go (FN), frame 1 matches.
    merge_metrics_params p = bdd();
    p.deoverlap = false;
    bdd_eval(&v, 1, p, r);
    CHECK_EQ_INT(r[0].FP, 0);
    CHECK_EQ_INT(r[0].FN, 1);
    CHECK_NEAR(r[0].MOTA, 50, 1e-12);
    // Only the other-class result overlapping: nothing is dropped.
    tvideo w;
    tv_init(&w, 1);
    tv_rect(&w, 1, 0, 1, PED, 0, 4, 4, 0, 1, 0, 1);
    tv_rect(&w, 0, 0, 1, PED, 0.9, 4, 4, 0, 1, 0, 1);
    tv_rect(&w, 0, 0, 3, 99, 0.1, 4, 4, 0, 3, 0, 3);
    bdd_eval(&w, 1, p, r);
    CHECK_EQ_INT(r[0].FN, 0);
    CHECK_NEAR(r[0].MOTA, 100, 1e-12);
    tv_free(&w);
    tv_free(&v);
}

static void test_empty_sequences(void) {
    // 0: nothing at all (no accumulator events); 1: a pedestrian in 2 frames, no results;
    // 2: one pedestrian result, no GT.
    tvideo v[3];
    tv_init(&v[0], 3);
    tv_init(&v[1], 2);
    for (int f = 0; f < 2; f++) tv_rect(&v[1], 1, f, 1, PED, 0, 4, 4, 0, 1, 0, 1);
    tv_init(&v[2], 1);
    tv_rect(&v[2], 0, 0, 5, PED, 1, 4, 4, 0, 1, 0, 1);
    merge_bdd_row r[NROWS];
    bdd_eval(v, 3, bdd(), r);
    CHECK_EQ_INT(r[0].FN, 2);
    CHECK_EQ_INT(r[0].FP, 1);
    CHECK_EQ_INT(r[0].ML, 1);
    CHECK_NEAR(r[0].MOTA, 100 * (1 - 3.0 / 2.0), 1e-12);
    CHECK(isnan(r[0].MOTP)); // no detections
    CHECK_NEAR(r[0].IDF1, 0, 0);
    CHECK_NEAR(r[AVG].MOTA, 100 * (1 - 3.0 / 2.0) / 8, 1e-12);
    CHECK_NEAR(r[AVG].MOTP, 0, 0); // NaN counts as 0
    // Only empty videos: every row NaN, AVERAGE 0.
    bdd_eval(v, 1, bdd(), r);
    CHECK(isnan(r[0].MOTA) && isnan(r[ALL].MOTA));
    CHECK_NEAR(r[AVG].MOTA, 0, 0);
    for (int i = 0; i < 3; i++) tv_free(&v[i]);
}

// One bitmask frame into objects: R = category, G & 3 = crowd/ignored, id = (B << 8) + A.
static void add_bitmask(tvideo *v, int is_gt, int frame, const char *path) {
    shard_image im;
    rt_status st = shard_png_read(path, SHARD_PNG_RAW, &im);
    CHECK_MSG(st == RT_OK, "%s", rt_error());
    if (st != RT_OK) return;
    CHECK(im.channels == 4 && im.depth == 8);
    size_t n = (size_t)im.width * im.height;
    uint8_t *m = calloc(n, 1);
    for (int id = 1; id < 65536; id++) {
        int any = 0, cat = 0, attr = 0;
        for (int y = 0; y < im.height; y++)
            for (int x = 0; x < im.width; x++) {
                const uint8_t *px = im.data + (size_t)y * im.stride + 4 * (size_t)x;
                int on = ((px[2] << 8) | px[3]) == id;
                m[(size_t)y * im.width + x] = (uint8_t)on;
                if (on) any = 1, cat = px[0], attr = px[1];
            }
        if (!any) continue;
        tobj *t = tv_new(v, is_gt, frame, id, cat);
        rt_rle_encode(&t->m, m, (uint32_t)im.height, (uint32_t)im.width);
        t->o.ignore = is_gt && (attr & 3);
        t->o.score = 1;
    }
    free(m);
    shard_image_free(&im);
}

static void test_bdd100k_testcase(void) {
    // bdd100k's own MOTS test case (tests/data/bdd100k_mots, BSD-3): its asserted numbers.
    tvideo v;
    tv_init(&v, 1);
    add_bitmask(&v, 1, 0, "tests/data/bdd100k_mots/gt/vid/a.png");
    add_bitmask(&v, 0, 0, "tests/data/bdd100k_mots/result/vid/a.png");
    merge_bdd_row r[NROWS];
    bdd_eval(&v, 1, bdd(), r);
    CHECK_NEAR(r[ALL].MOTA, 66.66666666666667, 1e-9);
    CHECK_NEAR(r[ALL].MOTP, 75.0, 1e-9);
    CHECK_NEAR(r[ALL].IDF1, 80.0, 1e-9);
    CHECK_EQ_INT(r[ALL].FP, 0);
    CHECK_EQ_INT(r[ALL].FN, 1);
    CHECK_EQ_INT(r[ALL].IDSw, 0);
    CHECK_EQ_INT(r[ALL].MT, 2);
    CHECK_EQ_INT(r[ALL].PT, 0);
    CHECK_EQ_INT(r[ALL].ML, 1);
    CHECK_EQ_INT(r[ALL].FM, 0);
    CHECK_NEAR(r[AVG].MOTA, 8.333333333333334, 1e-9);
    CHECK_NEAR(r[AVG].MOTP, 9.375, 1e-9);
    CHECK_NEAR(r[AVG].IDF1, 10.0, 1e-9);
    // Per-row MOTA column of its data frame (NaN shown as -1): pedestrian, human, OVERALL.
    CHECK_NEAR(r[0].MOTA, 66.66666667, 1e-8);
    CHECK_NEAR(r[HUMAN].MOTA, 66.66666667, 1e-8);
    for (int i = 1; i < 8; i++) CHECK(isnan(r[i].MOTA));
    CHECK(isnan(r[VEHICLE].MOTA) && isnan(r[10].MOTA));
    tv_free(&v);
}

int main(void) {
    TEST_RUN(test_bdd100k_testcase);
    TEST_RUN(test_switch_miss_carry);
    TEST_RUN(test_mt_boundary);
    TEST_RUN(test_fm);
    TEST_RUN(test_carry_over_at_half);
    TEST_RUN(test_crowd_per_region);
    TEST_RUN(test_max_det);
    TEST_RUN(test_videos_pool);
    TEST_RUN(test_overlapping_predictions);
    TEST_RUN(test_empty_sequences);
    return test_finish();
}
