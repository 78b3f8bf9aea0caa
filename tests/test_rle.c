// COCO RLE: the known strings of METRICS.md §1.1, round trips and naive pixel references.
#include "runtime/rle.h"
#include "tests/test.h"

// Deterministic generator so failures reproduce.
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

// Random mask of a few kinds: sparse noise, dense noise, rectangles (long runs).
static void random_mask(uint8_t *m, uint32_t h, uint32_t w, int kind) {
    size_t n = (size_t)h * w;
    memset(m, 0, n);
    if (kind == 0 || kind == 1) {
        uint32_t pct = kind == 0 ? 10 : 70;
        for (size_t i = 0; i < n; i++) m[i] = rng() % 100 < pct;
    } else if (h && w) {
        int rects = 1 + (int)(rng() % 3);
        for (int r = 0; r < rects; r++) {
            uint32_t y0 = rng() % h, x0 = rng() % w;
            uint32_t y1 = y0 + rng() % (h - y0), x1 = x0 + rng() % (w - x0);
            for (uint32_t y = y0; y <= y1; y++)
                for (uint32_t x = x0; x <= x1; x++) m[(size_t)y * w + x] = (uint8_t)(1 + rng() % 255);
        }
    }
}

static void naive_bbox(const uint8_t *m, uint32_t h, uint32_t w, double bb[4]) {
    uint32_t xs = w, ys = h, xe = 0, ye = 0;
    int any = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if (m[(size_t)y * w + x]) {
                any = 1;
                xs = RT_MIN(xs, x), xe = RT_MAX(xe, x), ys = RT_MIN(ys, y), ye = RT_MAX(ye, y);
            }
    if (!any) {
        bb[0] = bb[1] = bb[2] = bb[3] = 0;
        return;
    }
    // A run crossing from the bottom of column x to the top of column x+1 spans the full height.
    for (uint32_t x = 0; x + 1 < w; x++)
        if (m[(size_t)(h - 1) * w + x] && m[x + 1]) ys = 0, ye = h - 1;
    bb[0] = xs, bb[1] = ys, bb[2] = xe - xs + 1, bb[3] = ye - ys + 1;
}

static uint64_t naive_count(const uint8_t *a, const uint8_t *b, size_t n, int op) {
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int x = a[i] != 0, y = b ? b[i] != 0 : 1;
        c += op == 0 ? (x && y) : (x || y);
    }
    return c;
}

static void check_string(uint32_t h, uint32_t w, const uint32_t *counts, size_t n, const char *s) {
    rt_rle r, q;
    rt_rle_init(&r);
    rt_rle_init(&q);
    CHECK_EQ_INT(rt_rle_set_counts(&r, h, w, counts, n), RT_OK);
    char buf[128];
    CHECK_EQ_INT(rt_rle_to_string(&r, buf, sizeof buf), strlen(s));
    CHECK_EQ_STR(buf, s);
    CHECK_EQ_INT(rt_rle_from_string(&q, h, w, s, strlen(s)), RT_OK);
    CHECK_EQ_INT(q.n, n);
    for (size_t i = 0; i < n && i < q.n; i++) CHECK_EQ_INT(q.counts[i], counts[i]);
    rt_rle_free(&r);
    rt_rle_free(&q);
}

static void test_known_strings(void) {
    check_string(5, 2, (uint32_t[]){2, 2, 1, 1, 4}, 5, "221O3");
    check_string(3, 5, (uint32_t[]){15}, 1, "?");
    check_string(4, 4, (uint32_t[]){16}, 1, "`0");
    check_string(5, 10, (uint32_t[]){50}, 1, "b1");
    check_string(10, 10, (uint32_t[]){100}, 1, "T3");
    check_string(5, 13, (uint32_t[]){0, 50, 5, 10}, 4, "0b15hN");
    check_string(6, 8, (uint32_t[]){0, 2, 4, 2, 40}, 5, "0240T1");
    check_string(0, 0, (uint32_t[]){0}, 1, "0");

    rt_rle r;
    rt_rle_init(&r);
    CHECK_EQ_INT(rt_rle_from_string(&r, 5, 2, "221O3", 5), RT_OK);
    CHECK_EQ_INT(rt_rle_area(&r), 3);
    double bb[4];
    rt_rle_bbox(&r, bb);
    CHECK(bb[0] == 0 && bb[1] == 0 && bb[2] == 2 && bb[3] == 4);
    rt_rle_free(&r);
    rt_rle_free(&r); // idempotent
    rt_rle_free(NULL);
}

// The masks of the tiny worked example (METRICS.md §5), 6×8, as rectangles.
static void test_tiny_example_strings(void) {
    static const struct {
        const char *s;
        uint32_t y0, y1, x0, x1;
    } cases[] = {
        {"0240T1", 0, 1, 0, 1},   {"324000k0", 3, 4, 0, 2}, {"n04>", 0, 3, 5, 5},
        {"X1240", 4, 5, 6, 7},    {"3240Q1", 3, 4, 0, 1},   {"n02`0", 0, 1, 5, 5},
        {"g0150=", 5, 5, 3, 4},
    };
    for (size_t c = 0; c < RT_COUNTOF(cases); c++) {
        uint8_t m[48] = {0};
        for (uint32_t y = cases[c].y0; y <= cases[c].y1; y++)
            for (uint32_t x = cases[c].x0; x <= cases[c].x1; x++) m[y * 8 + x] = 1;
        rt_rle r;
        rt_rle_init(&r);
        CHECK_EQ_INT(rt_rle_encode(&r, m, 6, 8), RT_OK);
        char buf[64];
        rt_rle_to_string(&r, buf, sizeof buf);
        CHECK_EQ_STR(buf, cases[c].s);
        CHECK_EQ_INT(rt_rle_area(&r), (cases[c].y1 - cases[c].y0 + 1) * (cases[c].x1 - cases[c].x0 + 1));
        rt_rle_free(&r);
    }
}

static void test_round_trips(void) {
    static const uint32_t sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {6, 8}, {13, 17}, {32, 5}, {40, 64}};
    uint8_t *m = malloc(40 * 64), *d = malloc(40 * 64);
    char *s = malloc(40 * 64 * 8);
    rt_rle r, q;
    rt_rle_init(&r);
    rt_rle_init(&q);
    for (int it = 0; it < 300; it++) {
        uint32_t h = sizes[it % 7][0], w = sizes[it % 7][1];
        random_mask(m, h, w, it % 3);
        CHECK_EQ_INT(rt_rle_encode(&r, m, h, w), RT_OK);
        uint64_t sum = 0;
        for (size_t i = 0; i < r.n; i++) {
            sum += r.counts[i];
            if (i > 0) CHECK(r.counts[i] > 0); // canonical
        }
        CHECK_EQ_INT(sum, (uint64_t)h * w);
        size_t len = rt_rle_to_string(&r, NULL, 0);
        CHECK_EQ_INT(rt_rle_to_string(&r, s, len + 1), len);
        CHECK_EQ_INT(strlen(s), len);
        CHECK_EQ_INT(rt_rle_from_string(&q, h, w, s, len), RT_OK);
        CHECK(rt_rle_equal(&r, &q));
        CHECK_EQ_INT(q.n, r.n);
        memset(d, 7, (size_t)h * w);
        rt_rle_decode(&q, d);
        for (size_t i = 0; i < (size_t)h * w; i++) CHECK_EQ_INT(d[i], m[i] != 0);
        CHECK_EQ_INT(rt_rle_area(&r), naive_count(m, NULL, (size_t)h * w, 0));
        double bb[4], nb[4];
        rt_rle_bbox(&r, bb);
        naive_bbox(m, h, w, nb);
        CHECK_MSG(bb[0] == nb[0] && bb[1] == nb[1] && bb[2] == nb[2] && bb[3] == nb[3],
                  "bbox %g %g %g %g vs naive %g %g %g %g (%ux%u)", bb[0], bb[1], bb[2], bb[3],
                  nb[0], nb[1], nb[2], nb[3], h, w);
    }
    rt_rle_free(&r);
    rt_rle_free(&q);
    free(m), free(d), free(s);
}

static void test_truncated_output(void) {
    rt_rle r;
    rt_rle_init(&r);
    CHECK_EQ_INT(rt_rle_set_counts(&r, 5, 13, (uint32_t[]){0, 50, 5, 10}, 4), RT_OK);
    char buf[4];
    CHECK_EQ_INT(rt_rle_to_string(&r, buf, sizeof buf), 6);
    CHECK_EQ_STR(buf, "0b1");
    rt_rle_free(&r);
}

static void test_empty_full_zero(void) {
    uint8_t m[12];
    rt_rle r, f, z;
    rt_rle_init(&r);
    rt_rle_init(&f);
    rt_rle_init(&z);
    memset(m, 0, sizeof m);
    CHECK_EQ_INT(rt_rle_encode(&r, m, 3, 4), RT_OK);
    CHECK_EQ_INT(r.n, 1);
    CHECK_EQ_INT(r.counts[0], 12);
    CHECK_EQ_INT(rt_rle_area(&r), 0);
    double bb[4];
    rt_rle_bbox(&r, bb);
    CHECK(bb[0] == 0 && bb[1] == 0 && bb[2] == 0 && bb[3] == 0);
    memset(m, 1, sizeof m);
    CHECK_EQ_INT(rt_rle_encode(&f, m, 3, 4), RT_OK);
    CHECK_EQ_INT(f.n, 2);
    CHECK_EQ_INT(f.counts[0], 0);
    CHECK_EQ_INT(f.counts[1], 12);
    rt_rle_bbox(&f, bb);
    CHECK(bb[0] == 0 && bb[1] == 0 && bb[2] == 4 && bb[3] == 3);
    CHECK_EQ_INT(rt_rle_area(&f), 12);
    CHECK(rt_rle_iou_pair(&f, &f, false) == 1.0);
    CHECK(rt_rle_iou_pair(&r, &f, false) == 0.0);
    CHECK(rt_rle_iou_pair(&r, &f, true) == 0.0); // empty detection: its box is empty
    CHECK_EQ_INT(rt_rle_encode(&z, m, 0, 0), RT_OK);
    CHECK_EQ_INT(z.n, 1);
    CHECK_EQ_INT(z.counts[0], 0);
    CHECK_EQ_INT(rt_rle_area(&z), 0);
    rt_rle_bbox(&z, bb);
    CHECK(bb[2] == 0 && bb[3] == 0);
    CHECK_EQ_INT(rt_rle_from_string(&z, 0, 0, "", 0), RT_OK);
    CHECK_EQ_INT(z.n, 0);
    CHECK(rt_rle_iou_pair(&z, &f, true) == 0.0);
    rt_rle_free(&r);
    rt_rle_free(&f);
    rt_rle_free(&z);
}

static void test_iou_naive(void) {
    enum { H = 11, W = 9, N = 6 };
    uint8_t m[2 * N][H * W];
    rt_rle r[2 * N];
    for (int it = 0; it < 60; it++) {
        for (int i = 0; i < 2 * N; i++) {
            rt_rle_init(&r[i]);
            random_mask(m[i], H, W, (it + i) % 3);
            CHECK_EQ_INT(rt_rle_encode(&r[i], m[i], H, W), RT_OK);
        }
        uint8_t crowd[N];
        for (int g = 0; g < N; g++) crowd[g] = rng() % 2;
        double o[N * N];
        CHECK_EQ_INT(rt_rle_iou(r, N, r + N, N, crowd, o), RT_OK);
        for (int d = 0; d < N; d++) {
            for (int g = 0; g < N; g++) {
                uint64_t in = naive_count(m[d], m[N + g], H * W, 0);
                uint64_t un = naive_count(m[d], m[N + g], H * W, 1);
                uint64_t ad = naive_count(m[d], NULL, H * W, 0);
                double bd[4], bg[4];
                naive_bbox(m[d], H, W, bd);
                naive_bbox(m[N + g], H, W, bg);
                double iw = fmin(bd[0] + bd[2], bg[0] + bg[2]) - fmax(bd[0], bg[0]);
                double ih = fmin(bd[1] + bd[3], bg[1] + bg[3]) - fmax(bd[1], bg[1]);
                double want = 0;
                if (iw > 0 && ih > 0 && in > 0) want = (double)in / (double)(crowd[g] ? ad : un);
                CHECK_MSG(o[d * N + g] == want, "iou[%d][%d] %.17g vs %.17g", d, g, o[d * N + g],
                          want);
                CHECK(rt_rle_iou_pair(&r[d], &r[N + g], crowd[g]) == want);
                CHECK_EQ_INT(rt_rle_intersection(&r[d], &r[N + g]), in);
            }
        }
        for (int i = 0; i < 2 * N; i++) rt_rle_free(&r[i]);
    }
}

static void test_iou_rules(void) {
    // Different sizes: -1 when the boxes overlap, 0 when they do not.
    rt_rle a, b, c;
    rt_rle_init(&a);
    rt_rle_init(&b);
    rt_rle_init(&c);
    CHECK_EQ_INT(rt_rle_from_string(&a, 6, 8, "0240T1", 6), RT_OK);    // rows 0-1, cols 0-1
    CHECK_EQ_INT(rt_rle_set_counts(&b, 4, 4, (uint32_t[]){0, 2, 14}, 3), RT_OK); // rows 0-1 col 0
    CHECK_EQ_INT(rt_rle_from_string(&c, 6, 8, "X1240", 5), RT_OK);     // rows 4-5, cols 6-7
    CHECK(rt_rle_iou_pair(&a, &b, false) == -1.0);
    double o[2];
    const rt_rle gts[2] = {b, c};
    CHECK_EQ_INT(rt_rle_iou(&a, 1, gts, 2, NULL, o), RT_OK);
    CHECK(o[0] == -1.0 && o[1] == 0.0);
    // Boxes overlap but masks do not: 0. An L-shape and the pixel in its corner.
    uint8_t l[16] = {1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    uint8_t p[16] = {0};
    p[5] = 1;
    rt_rle rl, rp;
    rt_rle_init(&rl);
    rt_rle_init(&rp);
    rt_rle_encode(&rl, l, 4, 4);
    rt_rle_encode(&rp, p, 4, 4);
    CHECK(rt_rle_iou_pair(&rp, &rl, false) == 0.0);
    CHECK(rt_rle_iou_pair(&rp, &rl, true) == 0.0);
    // IoA: a 2×2 detection half inside a crowd region gives exactly 0.5.
    uint8_t dm[16] = {0}, gm[16] = {0};
    dm[0] = dm[1] = dm[4] = dm[5] = 1;
    gm[0] = gm[4] = gm[8] = gm[12] = 1;
    rt_rle rd, rg;
    rt_rle_init(&rd);
    rt_rle_init(&rg);
    rt_rle_encode(&rd, dm, 4, 4);
    rt_rle_encode(&rg, gm, 4, 4);
    CHECK(rt_rle_iou_pair(&rd, &rg, true) == 0.5);
    CHECK(rt_rle_iou_pair(&rd, &rg, false) == 2.0 / 6.0);
    // Empty lists: nothing written, no error.
    CHECK_EQ_INT(rt_rle_iou(&a, 0, gts, 2, NULL, o), RT_OK);
    rt_rle *all[] = {&a, &b, &c, &rl, &rp, &rd, &rg};
    for (size_t i = 0; i < RT_COUNTOF(all); i++) rt_rle_free(all[i]);
}

static void test_merge_subtract(void) {
    enum { H = 7, W = 10, N = 5 };
    uint8_t m[N][H * W], got[H * W];
    rt_rle r[N], out, sub;
    rt_rle_init(&out);
    rt_rle_init(&sub);
    for (int it = 0; it < 60; it++) {
        for (int i = 0; i < N; i++) {
            rt_rle_init(&r[i]);
            random_mask(m[i], H, W, (it + i) % 3);
            rt_rle_encode(&r[i], m[i], H, W);
        }
        for (int n = 1; n <= N; n++) {
            for (int inter = 0; inter < 2; inter++) {
                CHECK_EQ_INT(rt_rle_merge(&out, r, (size_t)n, inter), RT_OK);
                CHECK(out.h == H && out.w == W);
                rt_rle_decode(&out, got);
                for (int p = 0; p < H * W; p++) {
                    int want = inter ? 1 : 0;
                    for (int i = 0; i < n; i++) want = inter ? want && m[i][p] : want || m[i][p];
                    CHECK_EQ_INT(got[p], want);
                }
            }
        }
        CHECK_EQ_INT(rt_rle_subtract(&sub, &r[0], &r[1]), RT_OK);
        rt_rle_decode(&sub, got);
        for (int p = 0; p < H * W; p++) CHECK_EQ_INT(got[p], m[0][p] && !m[1][p]);
        for (size_t i = 1; i < sub.n; i++) CHECK(sub.counts[i] > 0);
        for (int i = 0; i < N; i++) rt_rle_free(&r[i]);
    }
    // Nothing to merge, or different sizes: an empty 0×0 RLE.
    CHECK_EQ_INT(rt_rle_merge(&out, NULL, 0, false), RT_OK);
    CHECK(out.h == 0 && out.w == 0 && out.n == 0);
    rt_rle two[2];
    rt_rle_init(&two[0]);
    rt_rle_init(&two[1]);
    rt_rle_set_counts(&two[0], 2, 2, (uint32_t[]){4}, 1);
    rt_rle_set_counts(&two[1], 2, 3, (uint32_t[]){6}, 1);
    CHECK_EQ_INT(rt_rle_merge(&out, two, 2, false), RT_OK);
    CHECK(out.h == 0 && out.w == 0 && out.n == 0);
    CHECK_EQ_INT(rt_rle_subtract(&sub, &two[0], &two[1]), RT_ERR_SHAPE);
    rt_rle_free(&two[0]);
    rt_rle_free(&two[1]);
    rt_rle_free(&out);
    rt_rle_free(&sub);
}

static void test_malformed(void) {
    rt_rle r;
    rt_rle_init(&r);
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 8, "0240 T1", 7), RT_ERR_FORMAT);
    CHECK_CONTAINS(rt_error(), "bad character 0x20 at offset 4");
    CHECK(r.h == 0 && r.w == 0 && r.n == 0);
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 8, "0240Tp", 6), RT_ERR_FORMAT); // 'p' = 112
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 8, "/", 1), RT_ERR_FORMAT);      // '/' = 47
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 8, "0240T", 5), RT_ERR_FORMAT);  // ends in a value
    CHECK_CONTAINS(rt_error(), "ends inside the value at offset 4");
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 8, "0240T2", 6), RT_ERR_FORMAT); // sums to 80
    CHECK_CONTAINS(rt_error(), "add up to 80");
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 8, "0240T1", 6), RT_OK);
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 7, "0240T1", 6), RT_ERR_FORMAT); // wrong size
    CHECK_EQ_INT(rt_rle_from_string(&r, 1, 1, "000O", 4), RT_ERR_FORMAT);   // count -1
    CHECK_CONTAINS(rt_error(), "out of range");
    CHECK_EQ_INT(rt_rle_from_string(&r, 1, 1, "O", 1), RT_ERR_FORMAT);      // first count -1
    CHECK_EQ_INT(rt_rle_from_string(&r, 1, 1, "ooooooooo0", 10), RT_ERR_FORMAT); // too long
    CHECK_EQ_INT(rt_rle_set_counts(&r, 2, 2, (uint32_t[]){1, 2}, 2), RT_ERR_FORMAT);
    CHECK_EQ_INT(rt_rle_encode(&r, NULL, 70000, 70000), RT_ERR_SHAPE);
    rt_rle_free(&r);
}

static void test_alloc_failure(void) {
    rt_rle r;
    rt_rle_init(&r);
    uint8_t m[4] = {1, 0, 1, 0};
    rt_alloc_fail_after(1);
    CHECK_EQ_INT(rt_rle_encode(&r, m, 2, 2), RT_ERR_NOMEM);
    CHECK_EQ_INT(rt_rle_encode(&r, m, 2, 2), RT_OK);
    // Capacity is reused: no further allocation for a mask with as many runs.
    uint64_t n0 = rt_alloc_count();
    CHECK_EQ_INT(rt_rle_encode(&r, m, 2, 2), RT_OK);
    CHECK_EQ_INT(rt_rle_from_string(&r, 6, 8, "0240T1", 6), RT_OK);
    CHECK_EQ_INT(rt_alloc_count(), n0);
    rt_rle_free(&r);
}

int main(void) {
    TEST_RUN(test_known_strings);
    TEST_RUN(test_tiny_example_strings);
    TEST_RUN(test_round_trips);
    TEST_RUN(test_truncated_output);
    TEST_RUN(test_empty_full_zero);
    TEST_RUN(test_iou_naive);
    TEST_RUN(test_iou_rules);
    TEST_RUN(test_merge_subtract);
    TEST_RUN(test_malformed);
    TEST_RUN(test_alloc_failure);
    return test_finish();
}
