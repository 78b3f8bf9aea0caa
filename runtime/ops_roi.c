// ops_roi — RoIAlign and mask pasting (see ops_roi.h).
#include "runtime/ops_roi.h"

#include <math.h>
#include <string.h>

void rt_roi_levels(const float *boxes, int n, float finest_scale, int nlevels, int *levels) {
    for (int i = 0; i < n; i++) {
        const float *b = boxes + (size_t)i * 4;
        float scale = sqrtf((b[2] - b[0]) * (b[3] - b[1]));
        float l = floorf(log2f(scale / finest_scale + 1e-6f));
        if (!(l >= 0.0f)) l = 0.0f; // also maps NaN (degenerate box) to the finest level
        if (l > (float)(nlevels - 1)) l = (float)(nlevels - 1);
        levels[i] = (int)l;
    }
}

// Per-axis sample of the separable bilinear grid: mmcv's bilinear_interpolate splits into an
// independent y and x part (validity, low/high index, the two weights), and its weights are
// the products hy·hx, hy·lx, ly·hx, ly·lx of these, so tabulating the axes gives the same bits.
typedef struct axis_sample {
    int lo, hi, valid;
    float l, h; // weight of hi (l) and of lo (h = 1 − l)
} axis_sample;

static axis_sample axis_at(float v, int size) {
    axis_sample a = {0, 0, 0, 0.0f, 0.0f};
    if (v < -1.0f || v > (float)size) return a;
    if (v <= 0) v = 0;
    a.valid = 1;
    a.lo = (int)v;
    if (a.lo >= size - 1) {
        a.hi = a.lo = size - 1;
        v = (float)a.lo;
    } else {
        a.hi = a.lo + 1;
    }
    a.l = v - (float)a.lo;
    a.h = 1.0f - a.l;
    return a;
}

// Axis tables up to this many samples (out size x grid) live on the stack; larger RoIs (only
// possible for boxes far beyond the image) use the per-sample path.
#define ROI_AXIS_MAX 512

typedef struct roi_geom {
    float y0, x0, bh, bw, count;
    int gh, gw;
} roi_geom;

static roi_geom roi_geometry(const float *box, float scale, int sr, int aligned, int OH, int OW) {
    roi_geom g;
    const float offset = aligned ? 0.5f : 0.0f;
    float x0 = box[0] * scale - offset, y0 = box[1] * scale - offset;
    float x1 = box[2] * scale - offset, y1 = box[3] * scale - offset;
    float rw = x1 - x0, rh = y1 - y0;
    if (!aligned) {
        rw = fmaxf(rw, 1.0f);
        rh = fmaxf(rh, 1.0f);
    }
    g.x0 = x0;
    g.y0 = y0;
    g.bh = rh / (float)OH;
    g.bw = rw / (float)OW;
    g.gh = sr > 0 ? sr : (int)ceilf(rh / (float)OH);
    g.gw = sr > 0 ? sr : (int)ceilf(rw / (float)OW);
    if (g.gh < 0) g.gh = 0; // NaN/negative sizes: no samples
    if (g.gw < 0) g.gw = 0;
    g.count = (float)RT_MAX(g.gh * g.gw, 1);
    return g;
}

// Sample coordinate of bin p, sample i, in mmcv's float evaluation order.
static float sample_coord(float start, int p, float bin, int i, int grid) {
    return start + (float)p * bin + ((float)i + 0.5f) * bin / (float)grid;
}

// Where a group of 8 channels lives: element (pixel i, lane l) at base[i*ps + l*ls]. A group is
// one nChw8c block (ps 8, ls 1) or 8 consecutive NCHW planes (ps 1, ls H·W); the output side
// likewise. Processing 8 channels per pass shares the sample tables and weights among them.
typedef struct lanes {
    size_t ps, ls;
} lanes;

// RoIAlign of one channel group: nl input lanes, onl output lanes written (extra lanes get 0,
// for the padding of a blocked output). Per output the samples are summed in mmcv's (iy, ix)
// order; lanes are independent, so vectorising them keeps every lane's arithmetic.
static inline void roi_group(const float *f, lanes in, int nl, int H, int W, const axis_sample *ys,
                             const axis_sample *xs, int tabled, const roi_geom *g, int OH, int OW,
                             float *o, lanes out, int onl) {
    for (int ph = 0; ph < OH; ph++)
        for (int pw = 0; pw < OW; pw++) {
            float acc[RT_BLOCK] = {0};
            for (int iy = 0; iy < g->gh; iy++) {
                axis_sample ay = tabled ? ys[ph * g->gh + iy]
                                        : axis_at(sample_coord(g->y0, ph, g->bh, iy, g->gh), H);
                if (!ay.valid) continue;
                for (int ix = 0; ix < g->gw; ix++) {
                    axis_sample ax = tabled ? xs[pw * g->gw + ix]
                                            : axis_at(sample_coord(g->x0, pw, g->bw, ix, g->gw), W);
                    if (!ax.valid) continue; // an outside sample adds exactly 0
                    float w1 = ay.h * ax.h, w2 = ay.h * ax.l, w3 = ay.l * ax.h, w4 = ay.l * ax.l;
                    const float *p1 = f + ((size_t)ay.lo * W + ax.lo) * in.ps;
                    const float *p2 = f + ((size_t)ay.lo * W + ax.hi) * in.ps;
                    const float *p3 = f + ((size_t)ay.hi * W + ax.lo) * in.ps;
                    const float *p4 = f + ((size_t)ay.hi * W + ax.hi) * in.ps;
#pragma omp simd
                    for (int l = 0; l < nl; l++)
                        acc[l] += w1 * p1[l * in.ls] + w2 * p2[l * in.ls] + w3 * p3[l * in.ls] +
                                  w4 * p4[l * in.ls];
                }
            }
            float *d = o + ((size_t)ph * OW + pw) * out.ps;
            for (int l = 0; l < onl; l++) d[l * out.ls] = acc[l] / g->count;
        }
}

// RoIAlign of one box into output image `o` (layout of `out`).
static void roi_align_one(const rt_tensor *feat, float scale, const float *box, int sr,
                          int aligned, const rt_tensor *out, float *o) {
    const int H = feat->h, W = feat->w, C = feat->c, OH = out->h, OW = out->w;
    const size_t fhw = (size_t)H * W, ohw = (size_t)OH * OW;
    roi_geom g = roi_geometry(box, scale, sr, aligned, OH, OW);
    axis_sample ys[ROI_AXIS_MAX], xs[ROI_AXIS_MAX];
    const int tabled = (long)OH * g.gh <= ROI_AXIS_MAX && (long)OW * g.gw <= ROI_AXIS_MAX;
    if (tabled) {
        for (int ph = 0; ph < OH; ph++)
            for (int iy = 0; iy < g.gh; iy++)
                ys[ph * g.gh + iy] = axis_at(sample_coord(g.y0, ph, g.bh, iy, g.gh), H);
        for (int pw = 0; pw < OW; pw++)
            for (int ix = 0; ix < g.gw; ix++)
                xs[pw * g.gw + ix] = axis_at(sample_coord(g.x0, pw, g.bw, ix, g.gw), W);
    }
    const int bin = feat->layout == RT_LAYOUT_NCHW8C, bout = out->layout == RT_LAYOUT_NCHW8C;
    const lanes li = bin ? (lanes){RT_BLOCK, 1} : (lanes){1, fhw};
    const lanes lo = bout ? (lanes){RT_BLOCK, 1} : (lanes){1, ohw};
    for (int c0 = 0; c0 < C; c0 += RT_BLOCK) {
        const int nl = bin ? RT_BLOCK : RT_MIN(RT_BLOCK, C - c0);
        const int onl = bout ? RT_BLOCK : RT_MIN(RT_BLOCK, C - c0);
        const float *f = feat->data + (size_t)c0 * fhw;
        float *d = o + (size_t)c0 * ohw;
        // Constant lane geometry in the common cases so the compiler specialises the loops.
        if (bin && bout)
            roi_group(f, (lanes){RT_BLOCK, 1}, RT_BLOCK, H, W, ys, xs, tabled, &g, OH, OW, d,
                      (lanes){RT_BLOCK, 1}, RT_BLOCK);
        else if (bin)
            roi_group(f, (lanes){RT_BLOCK, 1}, RT_BLOCK, H, W, ys, xs, tabled, &g, OH, OW, d,
                      (lanes){1, ohw}, onl);
        else
            roi_group(f, li, nl, H, W, ys, xs, tabled, &g, OH, OW, d, lo, onl);
    }
}

rt_status rt_roi_align(const rt_tensor *feat, float spatial_scale, const float *boxes, int n,
                       const int *out_index, int sampling_ratio, int aligned, rt_tensor *out) {
    if (feat->c != out->c || feat->n < 1 || feat->h <= 0 || feat->w <= 0 ||
        (long)out->h * out->w > RT_ROI_MAX_BINS)
        return rt_error_set(RT_ERR_SHAPE, "roi_align: feature [%d,%d,%d,%d], output [%d,%d,%d,%d] "
                            "(at most %d bins)", feat->n, feat->c, feat->h, feat->w, out->n,
                            out->c, out->h, out->w, RT_ROI_MAX_BINS);
    for (int i = 0; i < n; i++) {
        int oi = out_index ? out_index[i] : i;
        if (oi < 0 || oi >= out->n)
            return rt_error_set(RT_ERR_SHAPE, "roi_align: output index %d outside [0,%d)", oi,
                                out->n);
    }
    const size_t img = rt_tensor_image_size(out);
#pragma omp parallel for schedule(dynamic, 4) if (n > 1)
    for (int i = 0; i < n; i++) {
        int oi = out_index ? out_index[i] : i;
        roi_align_one(feat, spatial_scale, boxes + (size_t)i * 4, sampling_ratio, aligned, out,
                      out->data + (size_t)oi * img);
    }
    return RT_OK;
}

rt_status rt_roi_align_fpn(const rt_tensor *feats, const float *strides, int nlevels,
                           const float *boxes, int n, float finest_scale, int sampling_ratio,
                           rt_tensor *out, int *levels) {
    if (n > out->n || (long)out->h * out->w > RT_ROI_MAX_BINS)
        return rt_error_set(RT_ERR_SHAPE, "roi_align_fpn: %d boxes into [%d,%d,%d,%d] (at most "
                            "%d bins)", n, out->n, out->c, out->h, out->w, RT_ROI_MAX_BINS);
    for (int l = 0; l < nlevels; l++)
        if (feats[l].c != out->c || feats[l].h <= 0 || feats[l].w <= 0)
            return rt_error_set(RT_ERR_SHAPE, "roi_align_fpn: level %d is [%d,%d,%d,%d], output "
                                "channels %d", l, feats[l].n, feats[l].c, feats[l].h, feats[l].w,
                                out->c);
    const size_t img = rt_tensor_image_size(out);
#pragma omp parallel for schedule(dynamic, 4) if (n > 1)
    for (int i = 0; i < n; i++) {
        int lv;
        rt_roi_levels(boxes + (size_t)i * 4, 1, finest_scale, nlevels, &lv);
        if (levels) levels[i] = lv;
        roi_align_one(&feats[lv], 1.0f / strides[lv], boxes + (size_t)i * 4, sampling_ratio, 1,
                      out, out->data + (size_t)i * img);
    }
    return RT_OK;
}

// Region of pixels that can be nonzero (mmdet's skip_empty bounds for one box).
static void paste_region(const float box[4], int img_h, int img_w, int *x0, int *y0, int *x1,
                         int *y1) {
    float fx0 = floorf(box[0]) - 1.0f, fy0 = floorf(box[1]) - 1.0f;
    float fx1 = ceilf(box[2]) + 1.0f, fy1 = ceilf(box[3]) + 1.0f;
    *x0 = fx0 < 0 ? 0 : (fx0 > (float)img_w ? img_w : (int)fx0);
    *y0 = fy0 < 0 ? 0 : (fy0 > (float)img_h ? img_h : (int)fy0);
    *x1 = fx1 > (float)img_w ? img_w : (fx1 < 0 ? 0 : (int)fx1);
    *y1 = fy1 > (float)img_h ? img_h : (fy1 < 0 ? 0 : (int)fy1);
    if (!(box[2] - box[0] > 0) || !(box[3] - box[1] > 0)) *x1 = *x0; // NaN/empty: nothing
}

// grid_sample (bilinear, zeros, align_corners=False) of prob at normalised (gx, gy).
static float grid_sample_at(const float *p, int mh, int mw, float gx, float gy) {
    float ix = ((gx + 1.0f) * (float)mw - 1.0f) / 2.0f;
    float iy = ((gy + 1.0f) * (float)mh - 1.0f) / 2.0f;
    float fx = floorf(ix), fy = floorf(iy);
    int xw = (int)fx, yn = (int)fy, xe = xw + 1, ys = yn + 1;
    float nw = ((float)xe - ix) * ((float)ys - iy), ne = (ix - (float)xw) * ((float)ys - iy);
    float sw = ((float)xe - ix) * (iy - (float)yn), se = (ix - (float)xw) * (iy - (float)yn);
    float v = 0.0f;
    int in_xw = xw >= 0 && xw < mw, in_xe = xe >= 0 && xe < mw;
    int in_yn = yn >= 0 && yn < mh, in_ys = ys >= 0 && ys < mh;
    if (in_yn && in_xw) v += p[yn * mw + xw] * nw;
    if (in_yn && in_xe) v += p[yn * mw + xe] * ne;
    if (in_ys && in_xw) v += p[ys * mw + xw] * sw;
    if (in_ys && in_xe) v += p[ys * mw + xe] * se;
    return v;
}

static void paste(const float *prob, int mh, int mw, const float box[4], int img_h, int img_w,
                  float thr, uint8_t *mask, float *fout) {
    if (mask) memset(mask, 0, (size_t)img_h * img_w);
    if (fout) memset(fout, 0, (size_t)img_h * img_w * sizeof(float));
    int x0, y0, x1, y1;
    paste_region(box, img_h, img_w, &x0, &y0, &x1, &y1);
    if (x1 <= x0 || y1 <= y0) return;
    const float bw = box[2] - box[0], bh = box[3] - box[1];
#pragma omp parallel for schedule(static) if ((long)(y1 - y0) * (x1 - x0) > 65536)
    for (int py = y0; py < y1; py++) {
        float gy = ((float)py + 0.5f - box[1]) / bh * 2.0f - 1.0f;
        for (int px = x0; px < x1; px++) {
            float gx = ((float)px + 0.5f - box[0]) / bw * 2.0f - 1.0f;
            float v = grid_sample_at(prob, mh, mw, gx, gy);
            size_t o = (size_t)py * img_w + px;
            if (mask) mask[o] = v >= thr;
            if (fout) fout[o] = v;
        }
    }
}

void rt_mask_paste(const float *prob, int mh, int mw, const float box[4], int img_h, int img_w,
                   float thr, uint8_t *mask) {
    paste(prob, mh, mw, box, img_h, img_w, thr, mask, NULL);
}

void rt_mask_paste_float(const float *prob, int mh, int mw, const float box[4], int img_h,
                         int img_w, float *out) {
    paste(prob, mh, mw, box, img_h, img_w, 0.0f, NULL, out);
}
