// YouTube-VIS AP/AR (YTVOSeval semantics): the worked example of METRICS.md §5 and properties.
#include "merge/vis.h"
#include "tests/test.h"

enum { H = 6, W = 8 };

static rt_rle *rect(int y0, int y1, int x0, int x1) {
    uint8_t m[H * W] = {0};
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) m[y * W + x] = 1;
    rt_rle *r = malloc(sizeof *r);
    rt_rle_init(r);
    rt_rle_encode(r, m, H, W);
    return r;
}

static void free_masks(rt_rle **m, int n) {
    for (int i = 0; i < n; i++)
        if (m[i]) {
            rt_rle_free(m[i]);
            free(m[i]);
        }
}

static void test_worked_example(void) {
    // GT A (category 1): a 2×2 block moving right; GT B (category 2): 2×2 in frames 0-1.
    rt_rle *a[3] = {rect(0, 1, 0, 1), rect(0, 1, 1, 2), rect(0, 1, 2, 3)};
    rt_rle *b[3] = {rect(3, 4, 4, 5), rect(3, 4, 4, 5), NULL};
    // Results: category 1 false positive (0.95) and a copy of A (0.90); category 2 (0.80):
    // frame 0 exact, frame 1 three of four pixels, frame 2 three pixels where B is absent.
    rt_rle *fp[3] = {rect(4, 5, 0, 0), rect(4, 5, 0, 0), rect(4, 5, 0, 0)};
    rt_rle *ca[3] = {rect(0, 1, 0, 1), rect(0, 1, 1, 2), rect(0, 1, 2, 3)};
    rt_rle *cb[3] = {rect(3, 4, 4, 5), NULL, rect(3, 5, 7, 7)};
    uint8_t m[H * W] = {0};
    m[3 * W + 4] = m[3 * W + 5] = m[4 * W + 4] = 1;
    cb[1] = malloc(sizeof(rt_rle));
    rt_rle_init(cb[1]);
    rt_rle_encode(cb[1], m, H, W);
    merge_vis_track gt[2] = {{1, 0, 0, -1, (const rt_rle *const *)a, 3},
                             {2, 0, 0, -1, (const rt_rle *const *)b, 3}};
    merge_vis_track res[3] = {{1, 0, 0.95, -1, (const rt_rle *const *)fp, 3},
                              {1, 0, 0.90, -1, (const rt_rle *const *)ca, 3},
                              {2, 0, 0.80, -1, (const rt_rle *const *)cb, 3}};
    int32_t cats[2] = {1, 2};
    merge_vis *e;
    CHECK_EQ_INT(merge_vis_init(&e, cats, 2), RT_OK);
    CHECK_EQ_INT(merge_vis_add_video(e, 1, gt, 2, res, 3), RT_OK);
    merge_vis_stats s;
    CHECK_EQ_INT(merge_vis_summarize(e, &s), RT_OK);
    CHECK_NEAR(s.v[MERGE_VIS_AP], 0.4, 1e-12);
    CHECK_NEAR(s.v[MERGE_VIS_AP50], 0.75, 1e-12);
    CHECK_NEAR(s.v[MERGE_VIS_AP75], 0.25, 1e-12);
    CHECK_NEAR(s.v[MERGE_VIS_APS], 0.4, 1e-12);
    CHECK(s.v[MERGE_VIS_APM] == -1 && s.v[MERGE_VIS_APL] == -1);
    CHECK_NEAR(s.v[MERGE_VIS_AR1], 0.15, 1e-12);
    CHECK_NEAR(s.v[MERGE_VIS_AR10], 0.65, 1e-12);
    CHECK_NEAR(s.v[MERGE_VIS_AR100], 0.65, 1e-12);
    CHECK_NEAR(s.v[MERGE_VIS_ARS], 0.65, 1e-12);
    CHECK(s.v[MERGE_VIS_ARM] == -1 && s.v[MERGE_VIS_ARL] == -1);
    CHECK_EQ_STR(merge_vis_stat_name(MERGE_VIS_AR100), "AR100");
    // Videos must come in ascending id order.
    CHECK_EQ_INT(merge_vis_add_video(e, 1, gt, 2, res, 3), RT_ERR_INVAL);
    merge_vis_track bad = gt[0];
    bad.cls = 9;
    CHECK_EQ_INT(merge_vis_add_video(e, 2, &bad, 1, NULL, 0), RT_ERR_INVAL);
    CHECK_CONTAINS(rt_error(), "unknown category 9");
    merge_vis_free(&e);
    merge_vis_free(&e);
    free_masks(a, 3), free_masks(b, 3), free_masks(fp, 3), free_masks(ca, 3), free_masks(cb, 3);
}

static void test_crowd(void) {
    // Video 3: GT a and a region c; results c (0.95), c again (0.93; results may overlap) and
    // a (0.90). Video 8: GT a, result a. As a crowd, c absorbs both of its detections.
    rt_rle *a[2] = {rect(0, 1, 0, 1), rect(0, 1, 0, 1)};
    rt_rle *c[2] = {rect(3, 5, 3, 7), rect(3, 5, 3, 7)};
    int32_t cats[1] = {1};
    for (int crowd = 1; crowd >= 0; crowd--) {
        merge_vis_track gt[2] = {{1, 0, 0, -1, (const rt_rle *const *)a, 2},
                                 {1, (uint8_t)crowd, 0, -1, (const rt_rle *const *)c, 2}};
        merge_vis_track res[3] = {{1, 0, 0.95, -1, (const rt_rle *const *)c, 2},
                                  {1, 0, 0.93, -1, (const rt_rle *const *)c, 2},
                                  {1, 0, 0.90, -1, (const rt_rle *const *)a, 2}};
        merge_vis *e;
        merge_vis_init(&e, cats, 1);
        CHECK_EQ_INT(merge_vis_add_video(e, 3, gt, 2, res, 3), RT_OK);
        if (crowd) CHECK_EQ_INT(merge_vis_add_video(e, 8, gt, 1, res + 2, 1), RT_OK);
        merge_vis_stats s;
        CHECK_EQ_INT(merge_vis_summarize(e, &s), RT_OK);
        if (crowd) {
            CHECK_NEAR(s.v[MERGE_VIS_AP], 1.0, 1e-12);
            CHECK_NEAR(s.v[MERGE_VIS_AR100], 1.0, 1e-12);
            CHECK_NEAR(s.v[MERGE_VIS_AR1], 0.5, 1e-12); // video 3's first detection is ignored
        } else {
            // TP, FP, TP over 2 GT: precision 1 up to recall 0.5 (51 points), then 2/3.
            CHECK_NEAR(s.v[MERGE_VIS_AP], (51.0 + 50.0 * (2.0 / 3.0)) / 101.0, 1e-12);
            CHECK_NEAR(s.v[MERGE_VIS_AR100], 1.0, 1e-12);
            CHECK_NEAR(s.v[MERGE_VIS_AR1], 0.5, 1e-12);
        }
        merge_vis_free(&e);
    }
    free_masks(a, 2), free_masks(c, 2);
}

int main(void) {
    TEST_RUN(test_worked_example);
    TEST_RUN(test_crowd);
    return test_finish();
}
