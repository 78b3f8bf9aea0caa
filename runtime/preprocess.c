#include "runtime/preprocess.h"

#include <math.h>
#include <string.h>

#define COEF_BITS  11
#define COEF_SCALE (1 << COEF_BITS)

void rt_preprocess_size(const rt_preprocess_params *p, int src_w, int src_h, int *new_w,
                        int *new_h) {
    double lo = RT_MIN(p->scale[0], p->scale[1]), hi = RT_MAX(p->scale[0], p->scale[1]);
    double s = fmin(hi / RT_MAX(src_w, src_h), lo / RT_MIN(src_w, src_h));
    *new_w = (int)(src_w * s + 0.5);
    *new_h = (int)(src_h * s + 0.5);
}

// OpenCV rounds float coefficients to short with round-half-even (cvRound).
static int16_t coef(float x) { return (int16_t)lrintf(x * COEF_SCALE); }

// Resize tables: the per-column source offsets and weights, the per-row source rows and weights,
// computed as OpenCV computes them (the scale in double, the fraction in float).
typedef struct tables {
    int *xofs;
    int16_t *alpha;
    int *yofs;
    int16_t *beta;
    int xmax; // first destination element that copies the last source pixel
    int area; // exact 2x downscale: OpenCV switches to its 2x2 averaging
} tables;

static void tables_fill(tables *t, int sw, int sh, int dw, int dh, int cn) {
    double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
    int xmax = dw;
    for (int dx = 0; dx < dw; dx++) {
        float fx = (float)((dx + 0.5) * scale_x - 0.5);
        int sx = (int)floorf(fx);
        fx -= (float)sx;
        if (sx < 0) fx = 0, sx = 0;
        if (sx + 1 >= sw) {
            xmax = RT_MIN(xmax, dx);
            if (sx >= sw - 1) fx = 0, sx = sw - 1;
        }
        for (int k = 0; k < cn; k++) {
            t->xofs[dx * cn + k] = sx * cn + k;
            t->alpha[(dx * cn + k) * 2] = coef(1.f - fx);
            t->alpha[(dx * cn + k) * 2 + 1] = coef(fx);
        }
    }
    t->xmax = xmax * cn;
    for (int dy = 0; dy < dh; dy++) {
        float fy = (float)((dy + 0.5) * scale_y - 0.5);
        int sy = (int)floorf(fy);
        fy -= (float)sy;
        t->yofs[dy] = sy;
        t->beta[dy * 2] = coef(1.f - fy);
        t->beta[dy * 2 + 1] = coef(fy);
    }
    t->area =
        fabs(scale_x - 2.0) < 2.220446049250313e-16 && fabs(scale_y - 2.0) < 2.220446049250313e-16;
}

static void resize_rows(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh, int cn,
                        const tables *t, int *rows) {
    int width = dw * cn;
    int *r0 = rows, *r1 = rows + width;
    int prev0 = -1, prev1 = -1;
    for (int dy = 0; dy < dh; dy++) {
        int sy0 = RT_MIN(RT_MAX(t->yofs[dy], 0), sh - 1);
        int sy1 = RT_MIN(RT_MAX(t->yofs[dy] + 1, 0), sh - 1);
        int *rows2[2] = {r0, r1};
        int want[2] = {sy0, sy1};
        int have[2] = {prev0, prev1};
        for (int k = 0; k < 2; k++) {
            if (want[k] == have[k]) continue;
            // horizontal pass of source row want[k]
            const uint8_t *s = src + (size_t)want[k] * sw * cn;
            int *d = rows2[k];
            int x = 0;
            for (; x < t->xmax; x++)
                d[x] = s[t->xofs[x]] * t->alpha[2 * x] + s[t->xofs[x] + cn] * t->alpha[2 * x + 1];
            for (; x < width; x++) d[x] = s[t->xofs[x]] * COEF_SCALE;
        }
        prev0 = sy0;
        prev1 = sy1;
        int b0 = t->beta[2 * dy], b1 = t->beta[2 * dy + 1];
        uint8_t *o = dst + (size_t)dy * width;
        // OpenCV's SSE2 path and its matching scalar tail: 16-bit high multiplies, round by 2.
        for (int x = 0; x < width; x++) {
            int v = ((b0 * (r0[x] >> 4)) >> 16) + ((b1 * (r1[x] >> 4)) >> 16);
            v = (v + 2) >> 2;
            o[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

static void resize_area2(const uint8_t *src, int sw, uint8_t *dst, int dw, int dh, int cn) {
    for (int dy = 0; dy < dh; dy++) {
        const uint8_t *s0 = src + (size_t)(2 * dy) * sw * cn, *s1 = s0 + (size_t)sw * cn;
        uint8_t *o = dst + (size_t)dy * dw * cn;
        for (int dx = 0; dx < dw; dx++)
            for (int k = 0; k < cn; k++) {
                int i = 2 * dx * cn + k;
                o[dx * cn + k] = (uint8_t)((s0[i] + s0[i + cn] + s1[i] + s1[i + cn] + 2) >> 2);
            }
    }
}

static rt_status tables_alloc(tables *t, int dw, int dh, int cn) {
    memset(t, 0, sizeof *t);
    t->xofs = rt_malloc((size_t)dw * cn * sizeof *t->xofs);
    t->alpha = rt_malloc((size_t)dw * cn * 2 * sizeof *t->alpha);
    t->yofs = rt_malloc((size_t)dh * sizeof *t->yofs);
    t->beta = rt_malloc((size_t)dh * 2 * sizeof *t->beta);
    if (!t->xofs || !t->alpha || !t->yofs || !t->beta)
        return rt_error_set(RT_ERR_NOMEM, "out of memory (resize tables)");
    return RT_OK;
}

static void tables_free(tables *t) {
    rt_free(t->xofs);
    rt_free(t->alpha);
    rt_free(t->yofs);
    rt_free(t->beta);
    memset(t, 0, sizeof *t);
}

rt_status rt_resize_linear_u8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh,
                              int cn) {
    if (sw < 1 || sh < 1 || dw < 1 || dh < 1 || cn < 1)
        return rt_error_set(RT_ERR_INVAL, "resize %dx%d -> %dx%d: bad size", sw, sh, dw, dh);
    tables t;
    rt_status st = tables_alloc(&t, dw, dh, cn);
    int *rows = st == RT_OK ? rt_malloc((size_t)dw * cn * 2 * sizeof *rows) : NULL;
    if (st == RT_OK && !rows) st = rt_error_set(RT_ERR_NOMEM, "out of memory (resize rows)");
    if (st == RT_OK) {
        tables_fill(&t, sw, sh, dw, dh, cn);
        if (t.area)
            resize_area2(src, sw, dst, dw, dh, cn);
        else
            resize_rows(src, sw, sh, dst, dw, dh, cn, &t, rows);
    }
    rt_free(rows);
    tables_free(&t);
    return st;
}

rt_status rt_preprocess_init(rt_preprocess *pp, const rt_preprocess_params *p, int src_w,
                             int src_h) {
    memset(pp, 0, sizeof *pp);
    pp->p = *p;
    if (src_w < 1 || src_h < 1 || p->pad_divisor < 1)
        return rt_error_set(RT_ERR_INVAL, "preprocess: bad frame size %dx%d", src_w, src_h);
    pp->src_w = src_w;
    pp->src_h = src_h;
    rt_preprocess_size(p, src_w, src_h, &pp->new_w, &pp->new_h);
    if (pp->new_w < 1 || pp->new_h < 1)
        return rt_error_set(RT_ERR_INVAL, "preprocess: %dx%d resizes to nothing", src_w, src_h);
    int d = p->pad_divisor;
    pp->pad_w = (pp->new_w + d - 1) / d * d;
    pp->pad_h = (pp->new_h + d - 1) / d * d;
    pp->scale_factor[0] = pp->scale_factor[2] = (float)pp->new_w / (float)src_w;
    pp->scale_factor[1] = pp->scale_factor[3] = (float)pp->new_h / (float)src_h;
    if (pp->new_w == src_w && pp->new_h == src_h) return RT_OK;

    tables t;
    rt_status st = tables_alloc(&t, pp->new_w, pp->new_h, 3);
    if (st == RT_OK) {
        tables_fill(&t, src_w, src_h, pp->new_w, pp->new_h, 3);
        pp->mode = t.area ? 2 : 1;
        pp->xofs = t.xofs;
        pp->alpha = t.alpha;
        pp->yofs = t.yofs;
        pp->beta = t.beta;
        pp->xmax = t.xmax;
        pp->rows = rt_malloc((size_t)pp->new_w * 3 * 2 * sizeof *pp->rows);
        pp->resized = rt_malloc((size_t)pp->new_w * pp->new_h * 3);
        if (!pp->rows || !pp->resized)
            st = rt_error_set(RT_ERR_NOMEM, "out of memory (preprocess)");
    } else {
        tables_free(&t);
    }
    if (st != RT_OK) rt_preprocess_free(pp);
    return st;
}

void rt_preprocess_free(rt_preprocess *pp) {
    if (!pp) return;
    rt_free(pp->xofs);
    rt_free(pp->alpha);
    rt_free(pp->yofs);
    rt_free(pp->beta);
    rt_free(pp->rows);
    rt_free(pp->resized);
    memset(pp, 0, sizeof *pp);
}

void rt_preprocess_run(rt_preprocess *pp, const rt_image *frame, float *out) {
    RT_ASSERT(frame->width == pp->src_w && frame->height == pp->src_h);
    const uint8_t *img = frame->rgb;
    int stride = frame->stride;
    if (pp->mode) {
        // The resizers take packed rows; frames with padding are rare (decoders give packed).
        RT_ASSERT(stride == pp->src_w * 3);
        tables t = {pp->xofs, pp->alpha, pp->yofs, pp->beta, pp->xmax, pp->mode == 2};
        if (pp->mode == 2)
            resize_area2(img, pp->src_w, pp->resized, pp->new_w, pp->new_h, 3);
        else
            resize_rows(img, pp->src_w, pp->src_h, pp->resized, pp->new_w, pp->new_h, 3, &t,
                        pp->rows);
        img = pp->resized;
        stride = pp->new_w * 3;
    }
    size_t plane = (size_t)pp->pad_w * pp->pad_h;
    for (int c = 0; c < 3; c++) {
        float mean = pp->p.mean[c], std = pp->p.std[c];
        float *o = out + c * plane;
        for (int y = 0; y < pp->pad_h; y++) {
            float *row = o + (size_t)y * pp->pad_w;
            if (y >= pp->new_h) {
                memset(row, 0, (size_t)pp->pad_w * sizeof *row);
                continue;
            }
            const uint8_t *s = img + (size_t)y * stride + c;
            int x = 0;
            for (; x < pp->new_w; x++) row[x] = ((float)s[3 * x] - mean) / std;
            for (; x < pp->pad_w; x++) row[x] = 0.f;
        }
    }
}
