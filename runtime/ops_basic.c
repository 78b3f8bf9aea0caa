// ops_basic — pooling, resizing, GroupNorm, elementwise, sigmoid, softmax (see ops.h).
#include <float.h>
#include <math.h>
#include <string.h>

#include "runtime/ops.h"

// Both layouts are handled as a stack of "planes" [H][W][V]: V = 1 for NCHW (one plane per
// channel), V = 8 for nChw8c (one plane per channel block). Spatial ops then read the V lanes of
// a pixel together, and zero padding lanes stay zero under max/mean/bilinear/nearest.
typedef struct planes {
    long count; // n * channel planes
    int v;      // lanes per pixel
} planes;

static planes planes_of(const rt_tensor *t) {
    planes p;
    p.v = t->layout == RT_LAYOUT_NCHW8C ? RT_BLOCK : 1;
    p.count = (long)t->n * (rt_tensor_cpad(t) / p.v);
    return p;
}

static rt_status check_nc(const char *op, const rt_tensor *x, const rt_tensor *y) {
    if (x->n != y->n || x->c != y->c || x->layout != y->layout)
        return rt_error_set(RT_ERR_SHAPE, "%s: input [%d,%d,%d,%d] layout %d vs output "
                            "[%d,%d,%d,%d] layout %d", op, x->n, x->c, x->h, x->w,
                            (int)x->layout, y->n, y->c, y->h, y->w, (int)y->layout);
    return RT_OK;
}

int rt_pool_out_size(int in, int k, int stride, int pad) {
    int span = in + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

// One plane of max pooling with V lanes per pixel (constant V at the call sites so the lane
// loops vectorise). NaN propagates like PyTorch's max_pool2d.
static inline void maxpool_plane(const float *in, int H, int W, int V, int k, int stride, int pad,
                                 float *out, int oh, int ow) {
    for (int oy = 0; oy < oh; oy++) {
        int y0 = oy * stride - pad, y1 = RT_MIN(y0 + k, H);
        y0 = RT_MAX(y0, 0);
        for (int ox = 0; ox < ow; ox++) {
            int x0 = ox * stride - pad, x1 = RT_MIN(x0 + k, W);
            x0 = RT_MAX(x0, 0);
            float m[RT_BLOCK];
            for (int l = 0; l < V; l++) m[l] = -INFINITY;
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) {
                    const float *s = in + ((size_t)iy * W + ix) * V;
#pragma omp simd
                    for (int l = 0; l < V; l++) m[l] = (s[l] > m[l] || s[l] != s[l]) ? s[l] : m[l];
                }
            float *o = out + ((size_t)oy * ow + ox) * V;
            for (int l = 0; l < V; l++) o[l] = m[l];
        }
    }
}

rt_status rt_maxpool2d(const rt_tensor *x, int k, int stride, int pad, rt_tensor *y) {
    rt_status st = check_nc("maxpool2d", x, y);
    if (st != RT_OK) return st;
    if (k <= 0 || stride <= 0 || pad < 0 || 2 * pad > k)
        return rt_error_set(RT_ERR_INVAL, "maxpool2d: kernel %d stride %d pad %d", k, stride, pad);
    int oh = rt_pool_out_size(x->h, k, stride, pad), ow = rt_pool_out_size(x->w, k, stride, pad);
    if (y->h != oh || y->w != ow)
        return rt_error_set(RT_ERR_SHAPE, "maxpool2d: output %dx%d, expected %dx%d", y->h, y->w,
                            oh, ow);
    planes p = planes_of(x);
    const int H = x->h, W = x->w;
    const size_t in_plane = (size_t)H * W * p.v, out_plane = (size_t)oh * ow * p.v;
#pragma omp parallel for schedule(static) if (p.count * out_plane > 32768)
    for (long pl = 0; pl < p.count; pl++) {
        const float *in = x->data + (size_t)pl * in_plane;
        float *out = y->data + (size_t)pl * out_plane;
        if (p.v == RT_BLOCK)
            maxpool_plane(in, H, W, RT_BLOCK, k, stride, pad, out, oh, ow);
        else
            maxpool_plane(in, H, W, 1, k, stride, pad, out, oh, ow);
    }
    return RT_OK;
}

// PyTorch's legacy nearest index (upsample_nearest2d with size given, scales unset).
static int nearest_src(int dst, int in, int out) {
    if (in == out) return dst;
    if (out == 2 * in) return dst >> 1;
    float scale = (float)in / (float)out;
    int s = (int)floorf((float)dst * scale);
    return RT_MIN(s, in - 1);
}

static rt_status upsample_nearest(const rt_tensor *x, rt_tensor *y, int add) {
    rt_status st = check_nc("upsample_nearest", x, y);
    if (st != RT_OK) return st;
    if ((x->h == 0 || x->w == 0) && y->h * y->w > 0)
        return rt_error_set(RT_ERR_SHAPE, "upsample_nearest: empty input %dx%d", x->h, x->w);
    planes p = planes_of(x);
    const int v = p.v, OH = y->h, OW = y->w;
    const size_t in_plane = (size_t)x->h * x->w * v, out_plane = (size_t)OH * OW * v;
#pragma omp parallel for schedule(static) if (p.count * out_plane > 32768)
    for (long pl = 0; pl < p.count; pl++) {
        const float *in = x->data + (size_t)pl * in_plane;
        float *out = y->data + (size_t)pl * out_plane;
        for (int oy = 0; oy < OH; oy++) {
            const float *row = in + (size_t)nearest_src(oy, x->h, OH) * x->w * v;
            float *o = out + (size_t)oy * OW * v;
            for (int ox = 0; ox < OW; ox++) {
                const float *s = row + (size_t)nearest_src(ox, x->w, OW) * v;
                if (add)
                    for (int l = 0; l < v; l++) o[(size_t)ox * v + l] += s[l];
                else
                    for (int l = 0; l < v; l++) o[(size_t)ox * v + l] = s[l];
            }
        }
    }
    return RT_OK;
}

rt_status rt_upsample_nearest(const rt_tensor *x, rt_tensor *y) { return upsample_nearest(x, y, 0); }

rt_status rt_upsample_nearest_add(const rt_tensor *x, rt_tensor *y) {
    return upsample_nearest(x, y, 1);
}

// PyTorch area_pixel_compute_source_index for linear modes, align_corners=False.
static void bilinear_index(int dst, int in, int out, int *i0, int *i1, float *l0, float *l1) {
    float scale = (float)in / (float)out;
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    int i = (int)src;
    *i0 = i;
    *i1 = i + (i < in - 1 ? 1 : 0);
    *l1 = src - (float)i;
    *l0 = 1.0f - *l1;
}

rt_status rt_resize_bilinear(const rt_tensor *x, rt_tensor *y) {
    rt_status st = check_nc("resize_bilinear", x, y);
    if (st != RT_OK) return st;
    if ((x->h == 0 || x->w == 0) && y->h * y->w > 0)
        return rt_error_set(RT_ERR_SHAPE, "resize_bilinear: empty input %dx%d", x->h, x->w);
    planes p = planes_of(x);
    const int v = p.v, OH = y->h, OW = y->w, W = x->w;
    const size_t in_plane = (size_t)x->h * W * v, out_plane = (size_t)OH * OW * v;
#pragma omp parallel for schedule(static) if (p.count * out_plane > 32768)
    for (long pl = 0; pl < p.count; pl++) {
        const float *in = x->data + (size_t)pl * in_plane;
        float *out = y->data + (size_t)pl * out_plane;
        for (int oy = 0; oy < OH; oy++) {
            int y0, y1;
            float wy0, wy1;
            bilinear_index(oy, x->h, OH, &y0, &y1, &wy0, &wy1);
            for (int ox = 0; ox < OW; ox++) {
                int x0, x1;
                float wx0, wx1;
                bilinear_index(ox, W, OW, &x0, &x1, &wx0, &wx1);
                const float *a = in + ((size_t)y0 * W + x0) * v, *b = in + ((size_t)y0 * W + x1) * v;
                const float *c = in + ((size_t)y1 * W + x0) * v, *d = in + ((size_t)y1 * W + x1) * v;
                float *o = out + ((size_t)oy * OW + ox) * v;
                for (int l = 0; l < v; l++)
                    o[l] = wy0 * (wx0 * a[l] + wx1 * b[l]) + wy1 * (wx0 * c[l] + wx1 * d[l]);
            }
        }
    }
    return RT_OK;
}

rt_status rt_group_norm(rt_tensor *x, int groups, const float *gamma, const float *beta,
                        float eps, int relu) {
    if (groups <= 0 || x->c % groups != 0)
        return rt_error_set(RT_ERR_SHAPE, "group_norm: %d channels not divisible into %d groups",
                            x->c, groups);
    const int cg = x->c / groups;
    const size_t hw = (size_t)x->h * x->w;
    const int v = x->layout == RT_LAYOUT_NCHW8C ? RT_BLOCK : 1;
    const long jobs = (long)x->n * groups;
#pragma omp parallel for schedule(static) if (jobs > 1 && hw * cg * jobs > 32768)
    for (long j = 0; j < jobs; j++) {
        int n = (int)(j / groups), g = (int)(j % groups);
        double s = 0.0, ss = 0.0;
        for (int c = g * cg; c < (g + 1) * cg; c++) {
            const float *p = x->data + rt_tensor_index(x, n, c, 0, 0);
            for (size_t i = 0; i < hw; i++) {
                double t = p[i * v];
                s += t;
                ss += t * t;
            }
        }
        double cnt = (double)cg * (double)hw;
        double mean = cnt > 0 ? s / cnt : 0.0, var = cnt > 0 ? ss / cnt - mean * mean : 0.0;
        if (var < 0) var = 0;
        float rstd = (float)(1.0 / sqrt(var + (double)eps)), fmean = (float)mean;
        for (int c = g * cg; c < (g + 1) * cg; c++) {
            float sc = rstd * (gamma ? gamma[c] : 1.0f);
            float bi = (beta ? beta[c] : 0.0f) - sc * fmean;
            float *p = x->data + rt_tensor_index(x, n, c, 0, 0);
            for (size_t i = 0; i < hw; i++) {
                float t = p[i * v] * sc + bi;
                p[i * v] = relu && t < 0.0f ? 0.0f : t;
            }
        }
    }
    return RT_OK;
}

rt_status rt_add(const rt_tensor *a, const rt_tensor *b, rt_tensor *y) {
    if (!rt_tensor_same_shape(a, b) || !rt_tensor_same_shape(a, y))
        return rt_error_set(RT_ERR_SHAPE, "add: [%d,%d,%d,%d] + [%d,%d,%d,%d] -> [%d,%d,%d,%d] "
                            "(layouts %d %d %d)", a->n, a->c, a->h, a->w, b->n, b->c, b->h, b->w,
                            y->n, y->c, y->h, y->w, (int)a->layout, (int)b->layout,
                            (int)y->layout);
    const size_t n = rt_tensor_size(a);
    const float *pa = a->data, *pb = b->data;
    float *py = y->data;
#pragma omp parallel for schedule(static) if (n > 262144)
    for (size_t i = 0; i < n; i++) py[i] = pa[i] + pb[i];
    return RT_OK;
}

void rt_axpby(float alpha, const float *x, float beta, float *y, size_t n) {
#pragma omp parallel for schedule(static) if (n > 262144)
    for (size_t i = 0; i < n; i++) y[i] = alpha * x[i] + beta * y[i];
}

void rt_scale(float *x, size_t n, float s) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

void rt_sigmoid(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void rt_relu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (x[i] < 0.0f) x[i] = 0.0f;
}

static void softmax_strided(float *x, size_t len, size_t stride) {
    float m = -INFINITY;
    for (size_t i = 0; i < len; i++)
        if (x[i * stride] > m) m = x[i * stride];
    if (m == -INFINITY) m = 0.0f; // all -inf: exp gives 0s, sum 0 -> NaN like PyTorch
    float sum = 0.0f;
    for (size_t i = 0; i < len; i++) {
        float e = expf(x[i * stride] - m);
        x[i * stride] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (size_t i = 0; i < len; i++) x[i * stride] *= inv;
}

void rt_softmax(float *x, size_t outer, size_t len, size_t inner) {
    if (len == 0) return;
    const long jobs = (long)(outer * inner);
#pragma omp parallel for schedule(static) if (jobs * len > 65536)
    for (long j = 0; j < jobs; j++) {
        size_t o = (size_t)j / inner, i = (size_t)j % inner;
        softmax_strided(x + o * len * inner + i, len, inner);
    }
}
