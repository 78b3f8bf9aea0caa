// test_ops_roi — RoIAlign (hand-checked values, naive bilinear loop, both layouts, level
// mapping) and mask pasting (hand-checked box, naive full-image grid_sample).
#include "runtime/ops_gemm.h"
#include "runtime/ops_roi.h"
#include "tests/ref_ops.h"
#include "tests/test.h"

static void test_roi_align_hand(void) {
    float ramp[64], out[4];
    for (int i = 0; i < 64; i++) ramp[i] = (float)i; // value = 8y + x
    rt_tensor f = rt_tensor_view(ramp, 1, 1, 8, 8), o = rt_tensor_view(out, 1, 1, 2, 2);
    float box[4] = {0, 0, 4, 4};
    CHECK_EQ_INT(rt_roi_align(&f, 1.0f, box, 1, NULL, 2, 1, &o), RT_OK);
    CHECK_NEAR(out[0], 4.5, 0);
    CHECK_NEAR(out[1], 6.5, 0);
    CHECK_NEAR(out[2], 20.5, 0);
    CHECK_NEAR(out[3], 22.5, 0);
    // Entirely outside (x > W): zeros. Zero-size box: grid 0, count 1, output 0.
    float far[4] = {20, 20, 30, 30}, zero[4] = {3, 3, 3, 3};
    CHECK_EQ_INT(rt_roi_align(&f, 1.0f, far, 1, NULL, 0, 1, &o), RT_OK);
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], 0, 0);
    CHECK_EQ_INT(rt_roi_align(&f, 1.0f, zero, 1, NULL, 0, 1, &o), RT_OK);
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], 0, 0);
}

// Naive mmcv RoIAlign for one channel plane, double accumulation.
static double naive_bilinear(const float *p, int H, int W, double y, double x) {
    if (y < -1.0 || y > H || x < -1.0 || x > W) return 0;
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int y0 = (int)y, x0 = (int)x, y1, x1;
    if (y0 >= H - 1) y1 = y0 = H - 1, y = y0; else y1 = y0 + 1;
    if (x0 >= W - 1) x1 = x0 = W - 1, x = x0; else x1 = x0 + 1;
    double ly = y - y0, lx = x - x0;
    return (1 - ly) * (1 - lx) * p[y0 * W + x0] + (1 - ly) * lx * p[y0 * W + x1] +
           ly * (1 - lx) * p[y1 * W + x0] + ly * lx * p[y1 * W + x1];
}

static void naive_roi_align(const float *f, int C, int H, int W, float scale, const float *b,
                            int oh, int ow, float *out) {
    double x0 = b[0] * scale - 0.5, y0 = b[1] * scale - 0.5;
    double rw = b[2] * scale - 0.5 - x0, rh = b[3] * scale - 0.5 - y0;
    int gh = (int)ceil(rh / oh), gw = (int)ceil(rw / ow);
    for (int c = 0; c < C; c++)
        for (int ph = 0; ph < oh; ph++)
            for (int pw = 0; pw < ow; pw++) {
                double s = 0;
                for (int iy = 0; iy < gh; iy++)
                    for (int ix = 0; ix < gw; ix++)
                        s += naive_bilinear(f + (size_t)c * H * W, H, W,
                                            y0 + (ph + (iy + 0.5) / gh) * rh / oh,
                                            x0 + (pw + (ix + 0.5) / gw) * rw / ow);
                int cnt = gh * gw > 1 ? gh * gw : 1;
                out[((size_t)c * oh + ph) * ow + pw] = (float)(s / cnt);
            }
}

static void test_roi_align_random(void) {
    const int C = 19, H = 23, W = 31, R = 40, OUT = 7;
    ref_rng rng = {21};
    float *fp = malloc((size_t)C * H * W * 4), *boxes = malloc(R * 16);
    ref_fill(&rng, fp, (size_t)C * H * W, -1, 1);
    for (int i = 0; i < R; i++) {
        // stride 4 feature: image is 124 x 92; boxes may stick out of it.
        float x = ref_uniform(&rng, -20, 130), y = ref_uniform(&rng, -20, 100);
        float w = ref_uniform(&rng, 0, 90), h = ref_uniform(&rng, 0, 90);
        boxes[i * 4] = x, boxes[i * 4 + 1] = y, boxes[i * 4 + 2] = x + w, boxes[i * 4 + 3] = y + h;
    }
    // Two huge boxes take the untabled per-sample path (7 bins x 79 samples > 512).
    const float huge[8] = {-1000, -900, 1200, 1300, -1100, 20, 1150, 2300};
    memcpy(boxes, huge, sizeof huge);
    float *ref = malloc((size_t)R * C * OUT * OUT * 4);
    for (int i = 0; i < R; i++)
        naive_roi_align(fp, C, H, W, 0.25f, boxes + i * 4, OUT, OUT, ref + (size_t)i * C * OUT * OUT);
    rt_arena a;
    CHECK_EQ_INT(rt_arena_init(&a, 8u << 20), RT_OK);
    rt_tensor plain = rt_tensor_view(fp, 1, C, H, W);
    for (int li = 0; li < 2; li++)
        for (int lo = 0; lo < 2; lo++) {
            rt_tensor f, o, op;
            CHECK_EQ_INT(rt_tensor_alloc(&f, &a, 1, C, H, W, (rt_layout)li), RT_OK);
            CHECK_EQ_INT(rt_tensor_reorder(&plain, &f), RT_OK);
            CHECK_EQ_INT(rt_tensor_alloc(&o, &a, R, C, OUT, OUT, (rt_layout)lo), RT_OK);
            CHECK_EQ_INT(rt_tensor_alloc(&op, &a, R, C, OUT, OUT, RT_LAYOUT_NCHW), RT_OK);
            CHECK_EQ_INT(rt_roi_align(&f, 0.25f, boxes, R, NULL, 0, 1, &o), RT_OK);
            CHECK_EQ_INT(rt_tensor_reorder(&o, &op), RT_OK);
            double e = ref_max_err(op.data, ref, (size_t)R * C * OUT * OUT, 3e-5, 1e-5); // float vs double sample positions
            CHECK_MSG(e <= 1.0, "layouts %d->%d: error %.3g x tol", li, lo, e);
            if (lo == 1) { // padding lanes of the blocked output stay zero
                size_t hw = OUT * OUT;
                CHECK(o.data[(size_t)2 * 8 * hw * 8 + 7] == 0.0f);
            }
            rt_arena_reset(&a);
        }
    rt_arena_free(&a);
    free(fp);
    free(boxes);
    free(ref);
}

static void test_roi_levels_fpn(void) {
    float b[7 * 4] = {0, 0, 111, 111, 0, 0, 112, 112, 0, 0, 223, 223, 0, 0, 224, 224,
                      0, 0, 448, 448, 0, 0, 1280, 720, 5, 5, 5, 5};
    int lv[7];
    rt_roi_levels(b, 7, 56.0f, 4, lv);
    static const int want[7] = {0, 1, 1, 2, 3, 3, 0};
    for (int i = 0; i < 7; i++) CHECK_EQ_INT(lv[i], want[i]);
    // rt_roi_align_fpn == rt_roi_align on the mapped level.
    ref_rng rng = {31};
    rt_arena a;
    CHECK_EQ_INT(rt_arena_init(&a, 16u << 20), RT_OK);
    rt_tensor feats[4];
    const float strides[4] = {4, 8, 16, 32};
    for (int l = 0; l < 4; l++) {
        CHECK_EQ_INT(rt_tensor_alloc(&feats[l], &a, 1, 16, 184 >> l, 320 >> l, RT_LAYOUT_NCHW8C), RT_OK);
        ref_fill(&rng, feats[l].data, rt_tensor_size(&feats[l]), -1, 1);
    }
    rt_tensor o1, o2;
    CHECK_EQ_INT(rt_tensor_alloc(&o1, &a, 7, 16, 7, 7, RT_LAYOUT_NCHW), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&o2, &a, 7, 16, 7, 7, RT_LAYOUT_NCHW), RT_OK);
    int got[7];
    CHECK_EQ_INT(rt_roi_align_fpn(feats, strides, 4, b, 7, 56.0f, 0, &o1, got), RT_OK);
    for (int i = 0; i < 7; i++) {
        CHECK_EQ_INT(got[i], want[i]);
        CHECK_EQ_INT(rt_roi_align(&feats[want[i]], 1.0f / strides[want[i]], b + i * 4, 1, &i, 0, 1, &o2), RT_OK);
    }
    CHECK(memcmp(o1.data, o2.data, rt_tensor_bytes(&o1)) == 0);
    rt_arena_free(&a);
}

static double naive_grid_sample(const float *p, int mh, int mw, double ix, double iy) {
    int x0 = (int)floor(ix), y0 = (int)floor(iy);
    double s = 0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int x = x0 + dx, y = y0 + dy;
            if (x < 0 || x >= mw || y < 0 || y >= mh) continue;
            s += p[y * mw + x] * (1 - fabs(ix - x)) * (1 - fabs(iy - y));
        }
    return s;
}

static void test_mask_paste(void) {
    const int H = 40, W = 40;
    float ones[28 * 28];
    for (int i = 0; i < 28 * 28; i++) ones[i] = 1.0f;
    uint8_t *m = malloc(H * W);
    float box[4] = {10, 10, 20, 20};
    rt_mask_paste(ones, 28, 28, box, H, W, 0.5f, m);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = x >= 10 && x < 20 && y >= 10 && y < 20;
            CHECK_MSG(m[y * W + x] == in, "pixel (%d,%d) = %d", x, y, m[y * W + x]);
        }
    // Random probabilities, fractional boxes partly outside the image: naive full-image sample.
    const int IH = 60, IW = 90;
    ref_rng rng = {41};
    float prob[28 * 28];
    uint8_t *mk = malloc(IH * IW);
    float *fv = malloc(IH * IW * 4);
    for (int t = 0; t < 20; t++) {
        ref_fill(&rng, prob, 28 * 28, 0, 1);
        float x0 = ref_uniform(&rng, -10, 80), y0 = ref_uniform(&rng, -10, 50);
        float b[4] = {x0, y0, x0 + ref_uniform(&rng, 0.5f, 70), y0 + ref_uniform(&rng, 0.5f, 40)};
        rt_mask_paste(prob, 28, 28, b, IH, IW, 0.5f, mk);
        rt_mask_paste_float(prob, 28, 28, b, IH, IW, fv);
        int bad = 0;
        double maxd = 0;
        for (int y = 0; y < IH; y++)
            for (int x = 0; x < IW; x++) {
                double ix = (x + 0.5 - b[0]) * 28 / (b[2] - b[0]) - 0.5;
                double iy = (y + 0.5 - b[1]) * 28 / (b[3] - b[1]) - 0.5;
                double v = naive_grid_sample(prob, 28, 28, ix, iy);
                if (fabs(v - 0.5) > 1e-4 && mk[y * IW + x] != (v >= 0.5)) bad++;
                if (mk[y * IW + x] && fv[y * IW + x] < 0.5f) bad++;
                if (fv[y * IW + x] != 0.0f || v >= 0.5) maxd = fmax(maxd, fabs(v - fv[y * IW + x]));
            }
        CHECK_EQ_INT(bad, 0);
        CHECK_MSG(maxd < 1e-4, "paste float error %g", maxd);
    }
    free(m);
    free(mk);
    free(fv);
}

static void test_roi_no_alloc_threads(void) {
    ref_rng rng = {51};
    const int C = 64, H = 46, W = 80, R = 30;
    float *fp = malloc((size_t)C * H * W * 4), *boxes = malloc(R * 16);
    float *o1 = malloc((size_t)R * C * 196 * 4), *o2 = malloc((size_t)R * C * 196 * 4);
    ref_fill(&rng, fp, (size_t)C * H * W, -1, 1);
    for (int i = 0; i < R; i++) {
        float x = ref_uniform(&rng, 0, 300), y = ref_uniform(&rng, 0, 170);
        boxes[i * 4] = x, boxes[i * 4 + 1] = y;
        boxes[i * 4 + 2] = x + ref_uniform(&rng, 1, 100), boxes[i * 4 + 3] = y + ref_uniform(&rng, 1, 100);
    }
    rt_tensor f = rt_tensor_view(fp, 1, C, H, W), a = rt_tensor_view(o1, R, C, 14, 14), b = rt_tensor_view(o2, R, C, 14, 14);
    rt_threads_set(1);
    rt_roi_align(&f, 0.25f, boxes, R, NULL, 0, 1, &a);
    rt_threads_set(2);
    uint64_t n0 = rt_alloc_count();
    rt_roi_align(&f, 0.25f, boxes, R, NULL, 0, 1, &b);
    CHECK_EQ_INT(rt_alloc_count(), n0);
    CHECK(memcmp(o1, o2, (size_t)R * C * 196 * 4) == 0);
    free(fp);
    free(boxes);
    free(o1);
    free(o2);
}

int main(void) {
    rt_threads_set(2);
    TEST_RUN(test_roi_align_hand);
    TEST_RUN(test_roi_align_random);
    TEST_RUN(test_roi_levels_fpn);
    TEST_RUN(test_mask_paste);
    TEST_RUN(test_roi_no_alloc_threads);
    return test_finish();
}
