// test_ops_box — anchors, delta decoding, IoU and NMS on hand-checked values (mmdet/mmcv rules:
// strict IoU > thr, float32 class offsets, stable ties) and NMS against a naive greedy loop.
#include "runtime/ops_box.h"
#include "tests/ref_ops.h"
#include "tests/test.h"

static void test_anchors(void) {
    const float scales[1] = {8}, ratios[3] = {0.5f, 1.0f, 2.0f};
    const int fh = 3, fw = 4;
    float a[3 * 4 * 3 * 4];
    rt_anchors(4.0f, scales, 1, ratios, 3, fh, fw, a);
    // Location (x=0,y=0): ratio 0.5 is wide: w = 4·sqrt(2)·8, h = 4/sqrt(2)·8.
    CHECK_NEAR(a[0], -0.5 * 4 * 8 * sqrt(2.0), 1e-4);
    CHECK_NEAR(a[1], -0.5 * 4 * 8 / sqrt(2.0), 1e-4);
    CHECK_NEAR(a[2], 0.5 * 4 * 8 * sqrt(2.0), 1e-4);
    // (x=1, y=2), ratio 1: [-16,-16,16,16] + (4, 8).
    const float *b = a + ((2 * fw + 1) * 3 + 1) * 4;
    CHECK_NEAR(b[0], -12, 0);
    CHECK_NEAR(b[1], -8, 0);
    CHECK_NEAR(b[2], 20, 0);
    CHECK_NEAR(b[3], 24, 0);
    // Ratio 2 is tall.
    const float *c = a + 2 * 4;
    CHECK(c[3] - c[1] > c[2] - c[0]);
}

static void test_delta_decode(void) {
    const float means[4] = {0, 0, 0, 0}, stds[4] = {1, 1, 1, 1};
    float box[4] = {0, 0, 10, 20}, d[8] = {0.1f, -0.2f, logf(2.0f), 0, 0, 0, 10.0f, -10.0f};
    float out[8];
    rt_delta_decode(box, d, 1, 2, means, stds, 100, 100, out);
    // px 5, py 10, pw 10, ph 20 -> gx 6, gy 6, gw 20, gh 20 -> [-4,-4,16,16] clipped at 0.
    CHECK_NEAR(out[0], 0, 0);
    CHECK_NEAR(out[1], 0, 0);
    CHECK_NEAR(out[2], 16, 1e-5);
    CHECK_NEAR(out[3], 16, 1e-5);
    // dw, dh clamped to ±ln(1000/16).
    rt_delta_decode(box, d, 1, 2, means, stds, 0, 0, out);
    CHECK_NEAR(out[6] - out[4], 10 * 1000.0 / 16, 1e-2);
    CHECK_NEAR(out[7] - out[5], 20 * 16 / 1000.0, 1e-5);
    // Second-stage stds.
    const float s2[4] = {0.1f, 0.1f, 0.2f, 0.2f};
    float d2[4] = {1, 1, 0, 0};
    rt_delta_decode(box, d2, 1, 1, means, s2, 0, 0, out);
    CHECK_NEAR(out[0], 1, 1e-6);
    CHECK_NEAR(out[1], 2, 1e-6);
}

static void test_iou(void) {
    float a[8] = {0, 0, 10, 10, 1, 1, 1, 1}, b[8] = {5, 0, 15, 10, 20, 20, 30, 30};
    float o[4];
    rt_box_iou(a, 2, b, 2, o);
    CHECK_NEAR(o[0], 1.0 / 3.0, 1e-7);
    CHECK_NEAR(o[1], 0, 0);
    CHECK_NEAR(o[2], 0, 0); // zero-area box: 0 / 1e-6
    float z[4] = {1, 1, 1, 1}, zz;
    rt_box_iou(z, 1, z, 1, &zz);
    CHECK_NEAR(zz, 0, 0);
}

static void test_nms_threshold_exact(void) {
    char ws[4096];
    int keep[4];
    // IoU exactly 0.5: inter 1, union 2. Strict rule keeps both at thr 0.5.
    float b1[8] = {0, 0, 2, 1, 0, 0, 1, 1}, s1[2] = {0.9f, 0.8f};
    CHECK_EQ_INT(rt_nms(b1, s1, NULL, 2, 0.5f, keep, ws), 2);
    CHECK_EQ_INT(rt_nms(b1, s1, NULL, 2, 0.49f, keep, ws), 1);
    CHECK_EQ_INT(keep[0], 0);
    // IoU 7/10 against thr 0.7f: 0.7f·10 rounds to 7.0f, 7 > 7 is false: kept.
    float b2[8] = {0, 0, 10, 1, 0, 0, 7, 1}, s2[2] = {0.5f, 0.6f};
    CHECK_EQ_INT(rt_nms(b2, s2, NULL, 2, 0.7f, keep, ws), 2);
    CHECK_EQ_INT(keep[0], 1); // descending score
    CHECK_EQ_INT(rt_nms(b2, s2, NULL, 2, 0.69f, keep, ws), 1);
    CHECK_EQ_INT(keep[0], 1);
    // Class offsets: identical boxes of different classes never suppress each other.
    float b3[12] = {0, 0, 5, 5, 0, 0, 5, 5, 0, 0, 5, 5}, s3[3] = {0.7f, 0.9f, 0.8f};
    int cls[3] = {0, 1, 0};
    CHECK_EQ_INT(rt_nms(b3, s3, cls, 3, 0.5f, keep, ws), 2);
    CHECK_EQ_INT(keep[0], 1);
    CHECK_EQ_INT(keep[1], 2);
    CHECK_EQ_INT(rt_nms(b3, s3, NULL, 3, 0.5f, keep, ws), 1);
    // Score ties: lower index first (stable).
    float s4[3] = {0.5f, 0.5f, 0.5f};
    float b4[12] = {0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21};
    CHECK_EQ_INT(rt_nms(b4, s4, NULL, 3, 0.5f, keep, ws), 3);
    CHECK(keep[0] == 0 && keep[1] == 1 && keep[2] == 2);
    CHECK_EQ_INT(rt_nms(b4, s4, NULL, 0, 0.5f, keep, ws), 0);
}

static const float *ref_scores;
static int by_score(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (ref_scores[i] != ref_scores[j]) return ref_scores[i] > ref_scores[j] ? -1 : 1;
    return i - j;
}

static void test_nms_random(void) {
    const int n = 600;
    float *boxes = malloc(n * 16), *scores = malloc(n * 4);
    int *keep = malloc(n * 4), *order = malloc(n * 4), *cls = malloc(n * 4);
    char *removed = calloc(n, 1);
    void *ws = malloc(rt_nms_workspace_size(n));
    ref_rng rng = {77};
    for (int i = 0; i < n; i++) {
        float x = ref_uniform(&rng, 0, 200), y = ref_uniform(&rng, 0, 200);
        float w = ref_uniform(&rng, 0, 60), h = ref_uniform(&rng, 0, 60);
        boxes[i * 4] = x, boxes[i * 4 + 1] = y, boxes[i * 4 + 2] = x + w, boxes[i * 4 + 3] = y + h;
        scores[i] = (float)(int)ref_uniform(&rng, 0, 300) / 300.0f; // many exact ties
        cls[i] = (int)ref_uniform(&rng, 0, 3);
    }
    for (int with_cls = 0; with_cls < 2; with_cls++) {
        int got = rt_nms(boxes, scores, with_cls ? cls : NULL, n, 0.6f, keep, ws);
        for (int i = 0; i < n; i++) order[i] = i;
        ref_scores = scores;
        qsort(order, n, sizeof(int), by_score);
        memset(removed, 0, n);
        int k = 0, mismatch = 0;
        for (int r = 0; r < n; r++) {
            int i = order[r];
            if (removed[i]) continue;
            if (k >= got || keep[k] != i) mismatch++;
            k++;
            for (int s = r + 1; s < n; s++) {
                int j = order[s];
                if (with_cls && cls[i] != cls[j]) continue;
                const float *a = boxes + i * 4, *b = boxes + j * 4;
                double w = fmin(a[2], b[2]) - fmax(a[0], b[0]), h = fmin(a[3], b[3]) - fmax(a[1], b[1]);
                double inter = (w > 0 ? w : 0) * (h > 0 ? h : 0);
                double uni = (a[2] - a[0]) * (double)(a[3] - a[1]) + (b[2] - b[0]) * (double)(b[3] - b[1]) - inter;
                if (inter > 0.6 * uni) removed[j] = 1;
            }
        }
        CHECK_EQ_INT(got, k);
        CHECK_EQ_INT(mismatch, 0);
        CHECK(got > 10 && got < n);
    }
    free(boxes);
    free(scores);
    free(keep);
    free(order);
    free(cls);
    free(removed);
    free(ws);
}

int main(void) {
    TEST_RUN(test_anchors);
    TEST_RUN(test_delta_decode);
    TEST_RUN(test_iou);
    TEST_RUN(test_nms_threshold_exact);
    TEST_RUN(test_nms_random);
    return test_finish();
}
