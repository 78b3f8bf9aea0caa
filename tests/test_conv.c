// test_conv — oneDNN convolution/deconvolution layers against a naive double reference, layouts,
// fusion, batch chunking, determinism across thread counts, and no allocation after warm-up.
// PCAN_BENCH=1 adds the 3x3 256->256 @184x320 benchmark against one sgemm 2048^3.
#include <cblas.h>
#include <omp.h>

#include "runtime/ops_conv.h"
#include "runtime/ops_gemm.h"
#include "tests/ref_ops.h"
#include "tests/test.h"

typedef struct conv_case {
    const char *name;
    int n, c, h, w, k, kh, kw, stride, pad, dil;
    int relu, residual, transposed, bias;
    rt_layout in_layout, out_layout;
    int chunk;
} conv_case;

static double run_case(const conv_case *t, int threads, float **out_plain, int *out_n) {
    ref_rng rng = {0x1234567ull + (uint64_t)t->c * 131 + (uint64_t)t->k};
    rt_conv_params p = rt_conv_default_params();
    p.in_channels = t->c;
    p.out_channels = t->k;
    p.kernel_h = t->kh;
    p.kernel_w = t->kw;
    p.stride = t->stride;
    p.pad = t->pad;
    p.dilation = t->dil;
    p.relu = t->relu;
    p.residual = t->residual;
    p.transposed = t->transposed;
    p.out_layout = t->out_layout;
    p.batch_chunk = t->chunk;
    p.name = t->name;
    size_t wn = (size_t)t->k * t->c * t->kh * t->kw;
    float *wts = malloc(wn * sizeof(float)), *bias = malloc((size_t)t->k * sizeof(float));
    float scale = 1.0f / sqrtf((float)(t->c * t->kh * t->kw));
    ref_fill(&rng, wts, wn, -scale, scale);
    ref_fill(&rng, bias, (size_t)t->k, -0.5f, 0.5f);
    rt_conv *conv = NULL;
    CHECK_EQ_INT(rt_conv_init(&conv, &p, wts, t->bias ? bias : NULL), RT_OK);
    if (!conv) {
        free(wts);
        free(bias);
        return INFINITY;
    }
    int oh, ow;
    rt_conv_out_size(conv, t->h, t->w, &oh, &ow);
    size_t xn = (size_t)t->n * t->c * t->h * t->w, yn = (size_t)t->n * t->k * oh * ow;
    float *x = malloc(xn * sizeof(float)), *res = malloc(yn * sizeof(float));
    float *ref = malloc(yn * sizeof(float)), *got = malloc(yn * sizeof(float));
    ref_fill(&rng, x, xn, -1.0f, 1.0f);
    ref_fill(&rng, res, yn, -1.0f, 1.0f);
    if (t->transposed)
        ref_deconv2d(x, t->n, t->c, t->h, t->w, wts, t->bias ? bias : NULL, t->k, t->kh, t->kw,
                     t->stride, t->pad, t->dil, t->relu, ref, oh, ow);
    else
        ref_conv2d(x, t->n, t->c, t->h, t->w, wts, t->bias ? bias : NULL, t->k, t->kh, t->kw,
                   t->stride, t->pad, t->dil, t->residual ? res : NULL, t->relu, ref, oh, ow);

    rt_threads_set(threads);
    rt_arena arena;
    CHECK_EQ_INT(rt_arena_init(&arena, (xn + 2 * yn) * sizeof(float) + (1 << 20)), RT_OK);
    rt_tensor xp = rt_tensor_view(x, t->n, t->c, t->h, t->w), xt, yt, rt_;
    rt_tensor rp = rt_tensor_view(res, t->n, t->k, oh, ow), yp = rt_tensor_view(got, t->n, t->k, oh, ow);
    CHECK_EQ_INT(rt_tensor_alloc(&xt, &arena, t->n, t->c, t->h, t->w, t->in_layout), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&yt, &arena, t->n, t->k, oh, ow, t->out_layout), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&rt_, &arena, t->n, t->k, oh, ow, t->out_layout), RT_OK);
    CHECK_EQ_INT(rt_tensor_reorder(&xp, &xt), RT_OK);
    CHECK_EQ_INT(rt_tensor_reorder(&rp, &rt_), RT_OK);
    rt_status st = rt_conv_forward(conv, &xt, t->residual ? &rt_ : NULL, &yt);
    CHECK_MSG(st == RT_OK, "%s: %s", t->name, rt_error());
    // Running again (cached primitive) must not allocate and must give the same bits.
    float *first = malloc(yn * sizeof(float));
    CHECK_EQ_INT(rt_tensor_reorder(&yt, &yp), RT_OK);
    memcpy(first, got, yn * sizeof(float));
    uint64_t allocs = rt_alloc_count();
    st = rt_conv_forward(conv, &xt, t->residual ? &rt_ : NULL, &yt);
    CHECK_EQ_INT(st, RT_OK);
    CHECK_EQ_INT(rt_alloc_count(), allocs);
    CHECK_EQ_INT(rt_tensor_reorder(&yt, &yp), RT_OK);
    CHECK_MSG(memcmp(first, got, yn * sizeof(float)) == 0, "%s: rerun changed bits", t->name);
    double terms = (double)t->c * t->kh * t->kw;
    double err = ref_max_err(got, ref, yn, 1e-6 * terms + 1e-5, 1e-4);
    CHECK_MSG(err <= 1.0, "%s (%s): error %.3g x tolerance", t->name, rt_conv_impl(conv), err);
    if (out_plain) {
        *out_plain = first;
        *out_n = (int)yn;
    } else {
        free(first);
    }
    rt_arena_free(&arena);
    rt_conv_free(&conv);
    CHECK(conv == NULL);
    free(x);
    free(res);
    free(ref);
    free(got);
    free(wts);
    free(bias);
    return err;
}

static const conv_case cases[] = {
    // name n c h w k kh kw s p d relu res tr bias in out chunk
    {"stem 7x7/2 3->64", 1, 3, 33, 45, 64, 7, 7, 2, 3, 1, 1, 0, 0, 1, RT_LAYOUT_NCHW,
     RT_LAYOUT_NCHW8C, 0},
    {"3x3 64->64", 1, 64, 15, 17, 64, 3, 3, 1, 1, 1, 1, 0, 0, 1, RT_LAYOUT_NCHW8C,
     RT_LAYOUT_NCHW8C, 0},
    {"1x1 64->256 residual", 1, 64, 13, 11, 256, 1, 1, 1, 0, 1, 1, 1, 0, 1, RT_LAYOUT_NCHW8C,
     RT_LAYOUT_NCHW8C, 0},
    {"3x3/2 128->128 odd", 1, 128, 17, 19, 128, 3, 3, 2, 1, 1, 1, 0, 0, 1, RT_LAYOUT_NCHW8C,
     RT_LAYOUT_NCHW8C, 0},
    {"3x3 259->256 refine conv1", 2, 259, 14, 14, 256, 3, 3, 1, 1, 1, 0, 0, 0, 1,
     RT_LAYOUT_NCHW8C, RT_LAYOUT_NCHW8C, 0},
    {"1x1/2 256->512 downsample", 1, 256, 10, 12, 512, 1, 1, 2, 0, 1, 0, 0, 0, 1,
     RT_LAYOUT_NCHW8C, RT_LAYOUT_NCHW8C, 0},
    {"3x3 no bias plain in/out", 1, 40, 9, 7, 24, 3, 3, 1, 1, 1, 0, 0, 0, 0, RT_LAYOUT_NCHW,
     RT_LAYOUT_NCHW, 0},
    {"3x3 dilation 2", 1, 32, 12, 13, 16, 3, 3, 1, 2, 2, 1, 0, 0, 1, RT_LAYOUT_NCHW8C,
     RT_LAYOUT_NCHW8C, 0},
    {"1x1 256->3 rpn cls to plain", 1, 256, 12, 20, 3, 1, 1, 1, 0, 1, 0, 0, 0, 1,
     RT_LAYOUT_NCHW8C, RT_LAYOUT_NCHW, 0},
    {"3x3 batch 5 in chunks of 2", 5, 64, 9, 9, 32, 3, 3, 1, 1, 1, 1, 0, 0, 1,
     RT_LAYOUT_NCHW8C, RT_LAYOUT_NCHW8C, 2},
    {"deconv 2x2/2 256->256 relu", 2, 256, 7, 7, 256, 2, 2, 2, 0, 1, 1, 0, 1, 1,
     RT_LAYOUT_NCHW8C, RT_LAYOUT_NCHW8C, 0},
    {"deconv 3x3/2 pad 1 odd", 1, 16, 5, 6, 8, 3, 3, 2, 1, 1, 0, 0, 1, 1, RT_LAYOUT_NCHW,
     RT_LAYOUT_NCHW, 0},
};

static void test_conv_vs_reference(void) {
    for (size_t i = 0; i < RT_COUNTOF(cases); i++) {
        double e = run_case(&cases[i], 2, NULL, NULL);
        printf("  %-32s max err %.3f x tol\n", cases[i].name, e);
    }
}

// Chunked and whole-batch runs of the same images give the same bits (per-image kernels).
static void test_conv_chunk_bits(void) {
    conv_case a = cases[9], b = cases[9];
    b.chunk = 0;
    float *ya = NULL, *yb = NULL;
    int na = 0, nb = 0;
    run_case(&a, 2, &ya, &na);
    run_case(&b, 2, &yb, &nb);
    CHECK_EQ_INT(na, nb);
    if (ya && yb && na == nb)
        CHECK_MSG(memcmp(ya, yb, (size_t)na * sizeof(float)) == 0,
                  "chunked and whole-batch convolution differ in bits");
    free(ya);
    free(yb);
}

static void test_conv_threads_bits(void) {
    static const conv_case d[] = {
        {"det 3x3 256->256", 1, 256, 23, 40, 256, 3, 3, 1, 1, 1, 1, 0, 0, 1, RT_LAYOUT_NCHW8C,
         RT_LAYOUT_NCHW8C, 0},
        {"det stem", 1, 3, 64, 96, 64, 7, 7, 2, 3, 1, 1, 0, 0, 1, RT_LAYOUT_NCHW,
         RT_LAYOUT_NCHW8C, 0},
        {"det 1x1 residual", 1, 128, 20, 24, 512, 1, 1, 1, 0, 1, 1, 1, 0, 1, RT_LAYOUT_NCHW8C,
         RT_LAYOUT_NCHW8C, 0},
        {"det deconv", 3, 64, 14, 14, 64, 2, 2, 2, 0, 1, 1, 0, 1, 1, RT_LAYOUT_NCHW8C,
         RT_LAYOUT_NCHW8C, 0},
    };
    for (size_t i = 0; i < RT_COUNTOF(d); i++) {
        float *y1 = NULL, *y2 = NULL;
        int n1 = 0, n2 = 0;
        run_case(&d[i], 1, &y1, &n1);
        run_case(&d[i], 2, &y2, &n2);
        CHECK_EQ_INT(n1, n2);
        if (y1 && y2 && n1 == n2)
            CHECK_MSG(memcmp(y1, y2, (size_t)n1 * sizeof(float)) == 0,
                      "%s: 1 and 2 threads differ", d[i].name);
        free(y1);
        free(y2);
    }
}

// One layer object used at 1 then 2 threads (the primitive is re-created for the new count)
// and on a second input size, then back: same bits for the same input each time.
static void test_conv_recreate(void) {
    rt_conv_params p = rt_conv_default_params();
    p.in_channels = 32;
    p.out_channels = 48;
    p.kernel_h = p.kernel_w = 3;
    p.pad = 1;
    p.relu = 1;
    p.name = "recreate";
    ref_rng rng = {77};
    float *w = malloc(48 * 32 * 9 * 4), b[48];
    ref_fill(&rng, w, 48 * 32 * 9, -0.1f, 0.1f);
    ref_fill(&rng, b, 48, -0.1f, 0.1f);
    rt_conv *conv = NULL;
    CHECK_EQ_INT(rt_conv_init(&conv, &p, w, b), RT_OK);
    rt_arena a;
    CHECK_EQ_INT(rt_arena_init(&a, 4u << 20), RT_OK);
    rt_tensor x, y, x2, y2;
    CHECK_EQ_INT(rt_tensor_alloc(&x, &a, 1, 32, 20, 24, RT_LAYOUT_NCHW8C), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&y, &a, 1, 48, 20, 24, RT_LAYOUT_NCHW8C), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&x2, &a, 1, 32, 11, 9, RT_LAYOUT_NCHW8C), RT_OK);
    CHECK_EQ_INT(rt_tensor_alloc(&y2, &a, 1, 48, 11, 9, RT_LAYOUT_NCHW8C), RT_OK);
    ref_fill(&rng, x.data, rt_tensor_size(&x), -1, 1);
    ref_fill(&rng, x2.data, rt_tensor_size(&x2), -1, 1);
    size_t yb = rt_tensor_bytes(&y);
    float *first = malloc(yb);
    rt_threads_set(1);
    CHECK_EQ_INT(rt_conv_forward(conv, &x, NULL, &y), RT_OK);
    memcpy(first, y.data, yb);
    rt_threads_set(2);
    CHECK_EQ_INT(rt_conv_prepare(conv, &x), RT_OK);
    uint64_t n0 = rt_alloc_count();
    CHECK_EQ_INT(rt_conv_forward(conv, &x, NULL, &y), RT_OK);
    CHECK_EQ_INT(rt_alloc_count(), n0); // prepared: no allocation on the frame path
    CHECK(memcmp(first, y.data, yb) == 0);
    CHECK_EQ_INT(rt_conv_forward(conv, &x2, NULL, &y2), RT_OK);
    CHECK_EQ_INT(rt_conv_forward(conv, &x, NULL, &y), RT_OK);
    CHECK(memcmp(first, y.data, yb) == 0);
    free(first);
    free(w);
    rt_arena_free(&a);
    rt_conv_free(&conv);
}

static void test_conv_errors(void) {
    rt_conv_params p = rt_conv_default_params();
    p.in_channels = 8;
    p.out_channels = 8;
    p.kernel_h = p.kernel_w = 3;
    p.pad = 1;
    p.name = "backbone.layer1.0.conv2";
    float w[8 * 8 * 9] = {0};
    rt_conv *conv = NULL;
    p.groups = 2;
    CHECK_EQ_INT(rt_conv_init(&conv, &p, w, NULL), RT_ERR_CONFIG);
    CHECK(conv == NULL);
    p.groups = 1;
    CHECK_EQ_INT(rt_conv_init(&conv, &p, w, NULL), RT_OK);
    float buf[16 * 4 * 4] = {0}, out[8 * 4 * 4];
    rt_tensor x = rt_tensor_view(buf, 1, 16, 4, 4), y = rt_tensor_view(out, 1, 8, 4, 4);
    y.layout = RT_LAYOUT_NCHW8C;
    CHECK_EQ_INT(rt_conv_forward(conv, &x, NULL, &y), RT_ERR_SHAPE);
    CHECK_CONTAINS(rt_error(), "backbone.layer1.0.conv2");
    x.c = 8;
    y.h = 3;
    CHECK_EQ_INT(rt_conv_forward(conv, &x, NULL, &y), RT_ERR_SHAPE);
    y.h = 4;
    CHECK_EQ_INT(rt_conv_forward(conv, &x, &y, &y), RT_ERR_INVAL);
    CHECK_EQ_INT(rt_conv_forward(conv, &x, NULL, &y), RT_OK);
    rt_conv_free(&conv);
    rt_conv_free(&conv);
    CHECK(conv == NULL);
}

static double now_s(void) { return omp_get_wtime(); }

static void bench(void) {
    const int C = 256, H = 184, W = 320;
    rt_conv_params p = rt_conv_default_params();
    p.in_channels = p.out_channels = C;
    p.kernel_h = p.kernel_w = 3;
    p.pad = 1;
    p.name = "bench";
    size_t wn = (size_t)C * C * 9, xn = (size_t)C * H * W;
    float *w = malloc(wn * 4), *b = calloc(C, 4);
    ref_rng rng = {42};
    ref_fill(&rng, w, wn, -0.02f, 0.02f);
    rt_conv *conv = NULL;
    rt_conv_init(&conv, &p, w, b);
    rt_arena arena;
    rt_arena_init(&arena, 2 * xn * 4 + 4096);
    rt_tensor x, y;
    rt_tensor_alloc(&x, &arena, 1, C, H, W, RT_LAYOUT_NCHW8C);
    rt_tensor_alloc(&y, &arena, 1, C, H, W, RT_LAYOUT_NCHW8C);
    ref_fill(&rng, x.data, xn, -1, 1);
    const int n = 2048;
    float *A = malloc((size_t)n * n * 4), *B = malloc((size_t)n * n * 4), *Cm = malloc((size_t)n * n * 4);
    ref_fill(&rng, A, (size_t)n * n, -1, 1);
    ref_fill(&rng, B, (size_t)n * n, -1, 1);
    double conv_gf = 2.0 * C * C * 9 * H * W * 1e-9, gemm_gf = 2.0 * n * n * n * 1e-9;
    for (int threads = 1; threads <= 2; threads++) {
        rt_threads_set(threads);
        rt_conv_forward(conv, &x, NULL, &y); // warm-up (creates the primitive)
        for (int rep = 0; rep < 2; rep++) {
            double t0 = now_s();
            rt_conv_forward(conv, &x, NULL, &y);
            double t1 = now_s();
            // One plain multi-threaded OpenBLAS call, as PERF.md's calibration.
            openblas_set_num_threads(threads);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n,
                        0.0f, Cm, n);
            double t2 = now_s();
            rt_threads_set(threads);
            double t3 = now_s();
            rt_gemm(0, 0, n, n, n, 1.0f, A, n, B, n, 0.0f, Cm, n);
            double t4 = now_s();
            printf("BENCH threads %d: conv 3x3 256->256 @184x320 %.1f GFLOP/s (%s), "
                   "sgemm 2048^3 %.1f GFLOP/s, ratio %.2f; rt_gemm tiled 2048^3 %.1f GFLOP/s\n",
                   threads, conv_gf / (t1 - t0), rt_conv_impl(conv), gemm_gf / (t2 - t1),
                   (conv_gf / (t1 - t0)) / (gemm_gf / (t2 - t1)), gemm_gf / (t4 - t3));
        }
    }
    rt_conv_free(&conv);
    rt_arena_free(&arena);
    free(w);
    free(b);
    free(A);
    free(B);
    free(Cm);
}

int main(void) {
    TEST_RUN(test_conv_vs_reference);
    TEST_RUN(test_conv_chunk_bits);
    TEST_RUN(test_conv_threads_bits);
    TEST_RUN(test_conv_recreate);
    TEST_RUN(test_conv_errors);
    const char *b = getenv("PCAN_BENCH");
    if (b && *b == '1') bench();
    return test_finish();
}
