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

// One bilinear sample: the up-to-4 element offsets (within a channel plane, in pixels) and
// weights, mmcv's bilinear_interpolate. Returns 0 when the sample is outside (value 0).
static int bilinear_sample(int H, int W, float y, float x, int off[4], float wt[4]) {
    if (y < -1.0f || y > (float)H || x < -1.0f || x > (float)W) return 0;
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int y_low = (int)y, x_low = (int)x, y_high, x_high;
    if (y_low >= H - 1) {
        y_high = y_low = H - 1;
        y = (float)y_low;
    } else {
        y_high = y_low + 1;
    }
    if (x_low >= W - 1) {
        x_high = x_low = W - 1;
        x = (float)x_low;
    } else {
        x_high = x_low + 1;
    }
    float ly = y - (float)y_low, lx = x - (float)x_low, hy = 1.0f - ly, hx = 1.0f - lx;
    off[0] = y_low * W + x_low;
    off[1] = y_low * W + x_high;
    off[2] = y_high * W + x_low;
    off[3] = y_high * W + x_high;
    wt[0] = hy * hx;
    wt[1] = hy * lx;
    wt[2] = ly * hx;
    wt[3] = ly * lx;
    return 1;
}

// Accumulates one RoI into out image `o` (channels of feat), mmcv's per-output summation order.
static void roi_align_one(const rt_tensor *feat, float scale, const float *box, int sr,
                          int aligned, const rt_tensor *out, float *o) {
    const int H = feat->h, W = feat->w, C = feat->c, OH = out->h, OW = out->w;
    const int fv = feat->layout == RT_LAYOUT_NCHW8C ? RT_BLOCK : 1;
    const int ov = out->layout == RT_LAYOUT_NCHW8C ? RT_BLOCK : 1;
    const size_t fhw = (size_t)H * W, ohw = (size_t)OH * OW;
    const float offset = aligned ? 0.5f : 0.0f;
    float x0 = box[0] * scale - offset, y0 = box[1] * scale - offset;
    float x1 = box[2] * scale - offset, y1 = box[3] * scale - offset;
    float rw = x1 - x0, rh = y1 - y0;
    if (!aligned) {
        rw = fmaxf(rw, 1.0f);
        rh = fmaxf(rh, 1.0f);
    }
    float bh = rh / (float)OH, bw = rw / (float)OW;
    int gh = sr > 0 ? sr : (int)ceilf(rh / (float)OH);
    int gw = sr > 0 ? sr : (int)ceilf(rw / (float)OW);
    float count = (float)RT_MAX(gh * gw, 1);
    for (int ph = 0; ph < OH; ph++)
        for (int pw = 0; pw < OW; pw++) {
            size_t pix = (size_t)ph * OW + pw;
            // Zero this bin for every channel (padding lanes of a blocked output included).
            if (ov == 1)
                for (int c = 0; c < C; c++) o[(size_t)c * ohw + pix] = 0.0f;
            else
                for (int cb = 0; cb < rt_tensor_cpad(out) / RT_BLOCK; cb++)
                    memset(o + ((size_t)cb * ohw + pix) * RT_BLOCK, 0, RT_BLOCK * sizeof(float));
            for (int iy = 0; iy < gh; iy++) {
                const float y = y0 + (float)ph * bh + ((float)iy + 0.5f) * bh / (float)gh;
                for (int ix = 0; ix < gw; ix++) {
                    const float x = x0 + (float)pw * bw + ((float)ix + 0.5f) * bw / (float)gw;
                    int off[4];
                    float wt[4];
                    // An outside sample adds exactly 0 (mmcv adds a 0 value): skip it.
                    if (!bilinear_sample(H, W, y, x, off, wt)) continue;
                    for (int c = 0; c < C; c++) {
                        const float *f = feat->data + (fv == 1 ? (size_t)c * fhw
                                                               : (size_t)(c / RT_BLOCK) * fhw * RT_BLOCK +
                                                                     (size_t)(c % RT_BLOCK));
                        float v = wt[0] * f[(size_t)off[0] * fv] + wt[1] * f[(size_t)off[1] * fv] +
                                  wt[2] * f[(size_t)off[2] * fv] + wt[3] * f[(size_t)off[3] * fv];
                        float *d = o + (ov == 1 ? (size_t)c * ohw + pix
                                                : ((size_t)(c / RT_BLOCK) * ohw + pix) * RT_BLOCK +
                                                      (size_t)(c % RT_BLOCK));
                        *d += v;
                    }
                }
            }
            for (int c = 0; c < C; c++) {
                float *d = o + (ov == 1 ? (size_t)c * ohw + pix
                                        : ((size_t)(c / RT_BLOCK) * ohw + pix) * RT_BLOCK +
                                              (size_t)(c % RT_BLOCK));
                *d /= count;
            }
        }
}

rt_status rt_roi_align(const rt_tensor *feat, float spatial_scale, const float *boxes, int n,
                       const int *out_index, int sampling_ratio, int aligned, rt_tensor *out) {
    if (feat->c != out->c || feat->n < 1 || feat->h <= 0 || feat->w <= 0)
        return rt_error_set(RT_ERR_SHAPE, "roi_align: feature [%d,%d,%d,%d], output channels %d",
                            feat->n, feat->c, feat->h, feat->w, out->c);
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
    if (n > out->n)
        return rt_error_set(RT_ERR_SHAPE, "roi_align_fpn: %d boxes, output holds %d", n, out->n);
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
