// test_ops — pooling, nearest/bilinear resize, GroupNorm, elementwise and softmax against naive
// references, in both tensor layouts; hand-checked PyTorch index rules; no allocation.
#include "runtime/ops.h"
#include "runtime/ops_gemm.h"
#include "tests/ref_ops.h"
#include "tests/test.h"

static rt_arena g_arena;

// A plain random tensor and its copy in `layout` (both from the arena).
static rt_tensor make(int n, int c, int h, int w, rt_layout layout, ref_rng *rng, rt_tensor *plain) {
    rt_tensor p, t;
    CHECK_EQ_INT(rt_tensor_alloc(&p, &g_arena, n, c, h, w, RT_LAYOUT_NCHW), RT_OK);
    ref_fill(rng, p.data, rt_tensor_size(&p), -2, 2);
    CHECK_EQ_INT(rt_tensor_alloc(&t, &g_arena, n, c, h, w, layout), RT_OK);
    CHECK_EQ_INT(rt_tensor_reorder(&p, &t), RT_OK);
    if (plain) *plain = p;
    return t;
}

// Compares tensor t (any layout) with plain reference values.
static double diff_plain(const rt_tensor *t, const float *ref) {
    double m = 0;
    for (int n = 0; n < t->n; n++)
        for (int c = 0; c < t->c; c++)
            for (int y = 0; y < t->h; y++)
                for (int x = 0; x < t->w; x++) {
                    size_t pi = (((size_t)n * t->c + c) * t->h + y) * t->w + x;
                    double d = fabs((double)t->data[rt_tensor_index(t, n, c, y, x)] - ref[pi]);
                    if (isnan(d)) return INFINITY;
                    if (d > m) m = d;
                }
    return m;
}

static void test_reorder_roundtrip(void) {
    ref_rng rng = {1};
    rt_tensor p, b, q;
    b = make(2, 13, 5, 7, RT_LAYOUT_NCHW8C, &rng, &p);
    CHECK_EQ_INT(rt_tensor_cpad(&b), 16);
    // Padding lanes are zero.
    for (int y = 0; y < 5; y++)
        for (int l = 13; l < 16; l++)
            CHECK(b.data[rt_tensor_image_size(&b) + ((size_t)1 * 35 + y * 7) * 8 + (l - 8)] == 0.0f);
    CHECK_EQ_INT(rt_tensor_alloc(&q, &g_arena, 2, 13, 5, 7, RT_LAYOUT_NCHW), RT_OK);
    CHECK_EQ_INT(rt_tensor_reorder(&b, &q), RT_OK);
    CHECK(memcmp(p.data, q.data, rt_tensor_bytes(&p)) == 0);
    q.c = 12;
    CHECK_EQ_INT(rt_tensor_reorder(&b, &q), RT_ERR_SHAPE);
    rt_tensor s = rt_tensor_slice(&b, 1, 1);
    CHECK(s.data == b.data + rt_tensor_image_size(&b));
}

static void ref_maxpool(const float *x, int NC, int H, int W, int k, int s, int p, float *y, int OH, int OW) {
    for (int c = 0; c < NC; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float m = -INFINITY;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int iy = oy * s - p + i, ix = ox * s - p + j;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W && x[((size_t)c * H + iy) * W + ix] > m)
                            m = x[((size_t)c * H + iy) * W + ix];
                    }
                y[((size_t)c * OH + oy) * OW + ox] = m;
            }
}

static void test_maxpool(void) {
    static const int cfg[][6] = {{20, 13, 17, 3, 2, 1}, {11, 23, 40, 1, 2, 0}, {8, 8, 8, 3, 2, 1}};
    for (size_t i = 0; i < RT_COUNTOF(cfg); i++)
        for (int L = 0; L < 2; L++) {
            ref_rng rng = {11 + i};
            int C = cfg[i][0], H = cfg[i][1], W = cfg[i][2], k = cfg[i][3], s = cfg[i][4], p = cfg[i][5];
            rt_tensor xp, x = make(1, C, H, W, (rt_layout)L, &rng, &xp), y;
            int oh = rt_pool_out_size(H, k, s, p), ow = rt_pool_out_size(W, k, s, p);
            CHECK_EQ_INT(rt_tensor_alloc(&y, &g_arena, 1, C, oh, ow, (rt_layout)L), RT_OK);
            float *ref = calloc((size_t)C * oh * ow, 4);
            ref_maxpool(xp.data, C, H, W, k, s, p, ref, oh, ow);
            CHECK_EQ_INT(rt_maxpool2d(&x, k, s, p, &y), RT_OK);
            CHECK(diff_plain(&y, ref) == 0.0);
            free(ref);
        }
    CHECK_EQ_INT(rt_pool_out_size(23, 1, 2, 0), 12);
    CHECK_EQ_INT(rt_pool_out_size(368, 3, 2, 1), 184);
}

static void test_upsample_nearest(void) {
    // PyTorch: 5 -> 12 picks floor(i*5/12) = 0 0 0 1 1 2 2 2 3 3 4 4; 2x picks i>>1.
    static const int want12[12] = {0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4};
    float src[5] = {0, 1, 2, 3, 4}, dst[12];
    rt_tensor x = rt_tensor_view(src, 1, 1, 1, 5), y = rt_tensor_view(dst, 1, 1, 1, 12);
    CHECK_EQ_INT(rt_upsample_nearest(&x, &y), RT_OK);
    for (int i = 0; i < 12; i++) CHECK_EQ_INT((int)dst[i], want12[i]);
    // Both layouts, non-integer factor in one axis, plus the fused add.
    for (int L = 0; L < 2; L++) {
        ref_rng rng = {3};
        int C = 19, H = 12, W = 20, OH = 23, OW = 40;
        rt_tensor xp, xs = make(1, C, H, W, (rt_layout)L, &rng, &xp), yp, ys = make(1, C, OH, OW, (rt_layout)L, &rng, &yp);
        float *ref = malloc((size_t)C * OH * OW * 4);
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    int iy = (int)floorf(oy * ((float)H / OH)), ix = ox >> 1;
                    if (iy > H - 1) iy = H - 1;
                    ref[((size_t)c * OH + oy) * OW + ox] = yp.data[((size_t)c * OH + oy) * OW + ox] +
                                                           xp.data[((size_t)c * H + iy) * W + ix];
                }
        CHECK_EQ_INT(rt_upsample_nearest_add(&xs, &ys), RT_OK);
        CHECK(diff_plain(&ys, ref) == 0.0);
        free(ref);
    }
}

static void test_resize_bilinear(void) {
    float src[2] = {10, 20}, dst[4];
    rt_tensor x = rt_tensor_view(src, 1, 1, 1, 2), y = rt_tensor_view(dst, 1, 1, 1, 4);
    CHECK_EQ_INT(rt_resize_bilinear(&x, &y), RT_OK);
    CHECK_NEAR(dst[0], 10, 0);
    CHECK_NEAR(dst[1], 12.5, 1e-6);
    CHECK_NEAR(dst[2], 17.5, 1e-6);
    CHECK_NEAR(dst[3], 20, 0);
    // 28 -> 14 is the 2x2 mean (exact factor 2, refine head), in both layouts.
    for (int L = 0; L < 2; L++) {
        ref_rng rng = {4};
        rt_tensor mp, m = make(3, 1, 28, 28, (rt_layout)L, &rng, &mp), o;
        CHECK_EQ_INT(rt_tensor_alloc(&o, &g_arena, 3, 1, 14, 14, (rt_layout)L), RT_OK);
        CHECK_EQ_INT(rt_resize_bilinear(&m, &o), RT_OK);
        float ref[3 * 14 * 14];
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 14; i++)
                for (int j = 0; j < 14; j++) {
                    const float *p = mp.data + (size_t)n * 784;
                    ref[(n * 14 + i) * 14 + j] = 0.25f * (p[2 * i * 28 + 2 * j] + p[2 * i * 28 + 2 * j + 1] +
                                                          p[(2 * i + 1) * 28 + 2 * j] + p[(2 * i + 1) * 28 + 2 * j + 1]);
                }
        CHECK(diff_plain(&o, ref) < 2e-6);
    }
}

static void test_group_norm(void) {
    for (int L = 0; L < 2; L++)
        for (int relu = 0; relu < 2; relu++) {
            ref_rng rng = {5};
            const int N = 2, C = 64, H = 7, W = 7, G = 32;
            rt_tensor xp, x = make(N, C, H, W, (rt_layout)L, &rng, &xp);
            float gamma[64], beta[64];
            ref_fill(&rng, gamma, 64, 0.5f, 1.5f);
            ref_fill(&rng, beta, 64, -1, 1);
            float *ref = malloc((size_t)N * C * H * W * 4);
            int cg = C / G, hw = H * W;
            for (int n = 0; n < N; n++)
                for (int g = 0; g < G; g++) {
                    double s = 0, ss = 0;
                    const float *p = xp.data + ((size_t)n * C + g * cg) * hw;
                    for (int i = 0; i < cg * hw; i++) s += p[i];
                    double mean = s / (cg * hw);
                    for (int i = 0; i < cg * hw; i++) ss += (p[i] - mean) * (p[i] - mean);
                    double rstd = 1 / sqrt(ss / (cg * hw) + 1e-5);
                    for (int i = 0; i < cg * hw; i++) {
                        int c = g * cg + i / hw;
                        double v = (p[i] - mean) * rstd * gamma[c] + beta[c];
                        ref[((size_t)n * C + g * cg) * hw + i] = (float)(relu && v < 0 ? 0 : v);
                    }
                }
            CHECK_EQ_INT(rt_group_norm(&x, G, gamma, beta, 1e-5f, relu), RT_OK);
            CHECK(diff_plain(&x, ref) < 1e-5);
            free(ref);
        }
    float d[30];
    rt_tensor t = rt_tensor_view(d, 1, 30, 1, 1);
    CHECK_EQ_INT(rt_group_norm(&t, 4, NULL, NULL, 1e-5f, 0), RT_ERR_SHAPE);
}

static void test_softmax(void) {
    // Large logits (20·mᵀμ of raw FPN features reach 1e4+) must not overflow.
    float z[6] = {1e4f, 1e4f + 1, -1e4f, 1, 2, 3};
    rt_softmax(z, 2, 3, 1);
    double e = exp(-1.0);
    CHECK_NEAR(z[0], e / (1 + e), 1e-6);
    CHECK_NEAR(z[1], 1 / (1 + e), 1e-6);
    CHECK_NEAR(z[2], 0, 0);
    double s = exp(1) + exp(2) + exp(3);
    CHECK_NEAR(z[3], exp(1) / s, 1e-6);
    CHECK_NEAR(z[5], exp(3) / s, 1e-6);
    // Strided axis: [outer 2, len 3, inner 2]; each (o, i) column sums to 1.
    float w[12];
    ref_rng rng = {6};
    ref_fill(&rng, w, 12, -50, 50);
    rt_softmax(w, 2, 3, 2);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 2; i++) CHECK_NEAR(w[o * 6 + i] + w[o * 6 + 2 + i] + w[o * 6 + 4 + i], 1, 1e-6);
}

static void test_elementwise(void) {
    float a[5] = {-100, -1, 0, 1, 100}, y[5];
    rt_sigmoid(a, y, 5);
    CHECK_NEAR(y[0], 0, 1e-30);
    CHECK_NEAR(y[1], 1 / (1 + exp(1)), 1e-7);
    CHECK_NEAR(y[2], 0.5, 0);
    CHECK_NEAR(y[4], 1, 0);
    float b[5] = {1, 1, 1, 1, 1};
    rt_axpby(0.25f, a, 0.75f, b, 5);
    CHECK_NEAR(b[4], 25.75, 0);
    rt_relu(a, 5);
    CHECK(a[0] == 0 && a[4] == 100);
    ref_rng rng = {7};
    rt_tensor p1, t1 = make(1, 10, 3, 3, RT_LAYOUT_NCHW8C, &rng, &p1), p2, t2 = make(1, 10, 3, 3, RT_LAYOUT_NCHW8C, &rng, &p2);
    CHECK_EQ_INT(rt_add(&t1, &t2, &t1), RT_OK);
    float ref[90];
    for (int i = 0; i < 90; i++) ref[i] = p1.data[i] + p2.data[i];
    CHECK(diff_plain(&t1, ref) == 0);
    CHECK_EQ_INT(rt_add(&t1, &p2, &t1), RT_ERR_SHAPE);
}

// After one warm-up pass, the ops allocate nothing.
static void test_no_alloc(void) {
    ref_rng rng = {8};
    rt_tensor x = make(1, 64, 40, 40, RT_LAYOUT_NCHW8C, &rng, NULL), y, u, r;
    CHECK_EQ_INT(rt_tensor_alloc(&y, &g_arena, 1, 64, 20, 20, RT_LAYOUT_NCHW8C), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&u, &g_arena, 1, 64, 40, 40, RT_LAYOUT_NCHW8C), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&r, &g_arena, 1, 64, 40, 40, RT_LAYOUT_NCHW), RT_OK);
    uint64_t a0 = rt_alloc_count();
    for (int rep = 0; rep < 2; rep++) {
        rt_maxpool2d(&x, 3, 2, 1, &y);
        rt_upsample_nearest(&y, &u);
        rt_resize_bilinear(&u, &y);
        rt_group_norm(&u, 32, NULL, NULL, 1e-5f, 1);
        rt_tensor_reorder(&u, &r);
        rt_softmax(r.data, 64, 1600, 1);
    }
    CHECK_EQ_INT(rt_alloc_count(), a0);
}

int main(void) {
    rt_threads_set(2);
    if (rt_arena_init(&g_arena, 64u << 20) != RT_OK) return 1;
    TEST_RUN(test_reorder_roundtrip);
    TEST_RUN(test_maxpool);
    TEST_RUN(test_upsample_nearest);
    TEST_RUN(test_resize_bilinear);
    TEST_RUN(test_group_norm);
    TEST_RUN(test_softmax);
    TEST_RUN(test_elementwise);
    TEST_RUN(test_no_alloc);
    rt_arena_free(&g_arena);
    return test_finish();
}
