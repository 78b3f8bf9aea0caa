// Preprocessing: OpenCV-exact bilinear resize (against cv2 outputs in tests/data), keep-ratio
// sizes as mmcv computes them, normalisation as a float32 true division, zero padding.
#include "runtime/preprocess.h"
#include "tests/test.h"

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_resize_matches_opencv(void) {
    FILE *f = fopen("tests/data/resize_golden.bin", "rb");
    CHECK(f != NULL);
    if (!f) return;
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(n > 12 && memcmp(buf, "PCRZ", 4) == 0 && rd32(buf + 4) == 1);
    uint32_t cases = rd32(buf + 8);
    const uint8_t *p = buf + 12;
    for (uint32_t c = 0; c < cases; c++) {
        int sw = (int)rd32(p), sh = (int)rd32(p + 4), dw = (int)rd32(p + 8), dh = (int)rd32(p + 12),
            cn = (int)rd32(p + 16);
        p += 20;
        const uint8_t *src = p, *want = p + (size_t)sw * sh * cn;
        p = want + (size_t)dw * dh * cn;
        uint8_t *got = malloc((size_t)dw * dh * cn);
        CHECK_EQ_INT(rt_resize_linear_u8(src, sw, sh, got, dw, dh, cn), RT_OK);
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < (size_t)dw * dh * cn; i++)
            if (got[i] != want[i] && !bad++) first = i;
        CHECK_MSG(bad == 0, "%dx%d -> %dx%d: %zu of %d values differ (first at %zu: %d vs %d)",
                  sw, sh, dw, dh, bad, dw * dh * cn, first, got[first], want[first]);
        free(got);
    }
}

static rt_preprocess_params bdd_params(void) {
    rt_preprocess_params p = {{1296, 720}, {123.675f, 116.28f, 103.53f}, {58.395f, 57.12f, 57.375f}, 32};
    return p;
}

static void test_sizes(void) {
    rt_preprocess_params p = bdd_params();
    int w, h;
    rt_preprocess_size(&p, 1280, 720, &w, &h); // BDD: no resize
    CHECK(w == 1280 && h == 720);
    rt_preprocess_size(&p, 1920, 1080, &w, &h);
    CHECK(w == 1280 && h == 720);
    rt_preprocess_size(&p, 640, 480, &w, &h); // short side limits: s = 1.5
    CHECK(w == 960 && h == 720);
    rt_preprocess_size(&p, 375, 1242, &w, &h); // KITTI-like portrait: long side limits
    CHECK_EQ_INT(h, 1296);
    CHECK_EQ_INT(w, (int)(375 * (1296.0 / 1242) + 0.5));
    rt_preprocess pp;
    CHECK_EQ_INT(rt_preprocess_init(&pp, &p, 1280, 720), RT_OK);
    CHECK(pp.pad_w == 1280 && pp.pad_h == 736 && pp.mode == 0);
    CHECK(pp.scale_factor[0] == 1.f && pp.scale_factor[3] == 1.f);
    rt_preprocess_free(&pp);
    CHECK_EQ_INT(rt_preprocess_init(&pp, &p, 0, 720), RT_ERR_INVAL);
}

static void test_normalise_and_pad(void) {
    rt_preprocess_params p = {{64, 40}, {123.675f, 116.28f, 103.53f}, {58.395f, 57.12f, 57.375f}, 32};
    int W = 50, H = 30; // s = min(64/50, 40/30) = 1.28 -> 64x38, padded 64x64
    uint8_t *img = malloc((size_t)W * H * 3);
    for (int i = 0; i < W * H * 3; i++) img[i] = (uint8_t)(i * 7 + 3);
    rt_preprocess pp;
    CHECK_EQ_INT(rt_preprocess_init(&pp, &p, W, H), RT_OK);
    CHECK(pp.new_w == 64 && pp.new_h == 38 && pp.pad_w == 64 && pp.pad_h == 64 && pp.mode == 1);
    float *out = malloc(sizeof(float) * 3 * 64 * 64);
    uint8_t *resized = malloc(64 * 38 * 3);
    CHECK_EQ_INT(rt_resize_linear_u8(img, W, H, resized, 64, 38, 3), RT_OK);
    rt_image frame = {W, H, W * 3, img};
    uint64_t n0 = rt_alloc_count();
    rt_preprocess_run(&pp, &frame, out);
    CHECK_EQ_INT(rt_alloc_count(), n0);
    int bad = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) {
                float got = out[(c * 64 + y) * 64 + x];
                float want = y < 38 ? ((float)resized[(y * 64 + x) * 3 + c] - p.mean[c]) / p.std[c] : 0.f;
                bad += got != want;
            }
    CHECK_EQ_INT(bad, 0);
    rt_preprocess_free(&pp);
    rt_preprocess_free(&pp);
    free(img);
    free(out);
    free(resized);
}

int main(void) {
    TEST_RUN(test_resize_matches_opencv);
    TEST_RUN(test_sizes);
    TEST_RUN(test_normalise_and_pad);
    return test_finish();
}
