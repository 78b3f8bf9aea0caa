// ops_box — anchors, delta decoding, IoU and NMS (see ops_box.h).
#include "runtime/ops_box.h"

#include <math.h>
#include <string.h>

void rt_anchors(float stride, const float *scales, int nscale, const float *ratios, int nratio,
                int fh, int fw, float *out) {
    const int A = nratio * nscale;
    float base[64 * 4];
    RT_ASSERT(A <= 64);
    for (int r = 0; r < nratio; r++) {
        float hr = sqrtf(ratios[r]), wr = 1.0f / hr;
        for (int s = 0; s < nscale; s++) {
            // mmdet: ws = (w * w_ratios[:, None] * scales[None, :]); then ±0.5·ws around 0.
            float ws = stride * wr * scales[s], hs = stride * hr * scales[s];
            float *b = base + (r * nscale + s) * 4;
            b[0] = -0.5f * ws;
            b[1] = -0.5f * hs;
            b[2] = 0.5f * ws;
            b[3] = 0.5f * hs;
        }
    }
    for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++) {
            float sx = (float)x * stride, sy = (float)y * stride;
            float *o = out + ((size_t)y * fw + x) * A * 4;
            for (int a = 0; a < A; a++) {
                o[a * 4 + 0] = base[a * 4 + 0] + sx;
                o[a * 4 + 1] = base[a * 4 + 1] + sy;
                o[a * 4 + 2] = base[a * 4 + 2] + sx;
                o[a * 4 + 3] = base[a * 4 + 3] + sy;
            }
        }
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
// Plain comparisons: fminf/fmaxf are library calls at -O2 without -ffinite-math-only, and this
// is NMS's inner loop. Boxes are finite here (decoded and clipped).
static inline float minf(float a, float b) { return a < b ? a : b; }
static inline float maxf(float a, float b) { return a > b ? a : b; }

void rt_delta_decode(const float *boxes, const float *deltas, int n, int k, const float means[4],
                     const float stds[4], float max_w, float max_h, float *out) {
    // np.abs(np.log(16 / 1000)), rounded to float32 as torch.clamp does with a Python float.
    const float max_ratio = (float)4.135166556742356;
    for (int i = 0; i < n; i++) {
        const float *r = boxes + (size_t)i * 4;
        float px = (r[0] + r[2]) * 0.5f, py = (r[1] + r[3]) * 0.5f;
        float pw = r[2] - r[0], ph = r[3] - r[1];
        for (int j = 0; j < k; j++) {
            const float *d = deltas + ((size_t)i * k + j) * 4;
            float dx = d[0] * stds[0] + means[0], dy = d[1] * stds[1] + means[1];
            float dw = d[2] * stds[2] + means[2], dh = d[3] * stds[3] + means[3];
            dw = clampf(dw, -max_ratio, max_ratio);
            dh = clampf(dh, -max_ratio, max_ratio);
            float gw = pw * expf(dw), gh = ph * expf(dh);
            float gx = px + pw * dx, gy = py + ph * dy;
            float *o = out + ((size_t)i * k + j) * 4;
            o[0] = gx - gw * 0.5f;
            o[1] = gy - gh * 0.5f;
            o[2] = gx + gw * 0.5f;
            o[3] = gy + gh * 0.5f;
            if (max_w > 0 && max_h > 0) {
                o[0] = clampf(o[0], 0.0f, max_w);
                o[1] = clampf(o[1], 0.0f, max_h);
                o[2] = clampf(o[2], 0.0f, max_w);
                o[3] = clampf(o[3], 0.0f, max_h);
            }
        }
    }
}

void rt_box_iou(const float *a, int n, const float *b, int m, float *out) {
    for (int i = 0; i < n; i++) {
        const float *p = a + (size_t)i * 4;
        float area_a = (p[2] - p[0]) * (p[3] - p[1]);
        for (int j = 0; j < m; j++) {
            const float *q = b + (size_t)j * 4;
            float area_b = (q[2] - q[0]) * (q[3] - q[1]);
            float w = minf(p[2], q[2]) - maxf(p[0], q[0]);
            float h = minf(p[3], q[3]) - maxf(p[1], q[1]);
            w = w < 0 ? 0 : w;
            h = h < 0 ? 0 : h;
            float inter = w * h;
            float uni = area_a + area_b - inter;
            if (uni < 1e-6f) uni = 1e-6f;
            out[(size_t)i * m + j] = inter / uni;
        }
    }
}

// Descending by score, ties by index; NaN scores sort last.
static int before(const float *s, int a, int b) {
    float x = s[a], y = s[b];
    if (isnan(x) || isnan(y)) return !isnan(x) || (isnan(y) && a < b);
    return x > y || (x == y && a < b);
}

void rt_argsort_desc(const float *scores, int n, int *order, int *tmp) {
    for (int i = 0; i < n; i++) order[i] = i;
    // Bottom-up merge sort: stable, no allocation, O(n log n).
    int *src = order, *dst = tmp;
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = RT_MIN(lo + width, n), hi = RT_MIN(lo + 2 * width, n);
            int i = lo, j = mid, o = lo;
            while (i < mid && j < hi) dst[o++] = before(scores, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid) dst[o++] = src[i++];
            while (j < hi) dst[o++] = src[j++];
        }
        int *t = src;
        src = dst;
        dst = t;
    }
    if (src != order) memcpy(order, src, sizeof(int) * (size_t)n);
}

size_t rt_nms_workspace_size(int n) {
    size_t b = (size_t)(n > 0 ? n : 0) * (2 * sizeof(int) + 1 + 5 * sizeof(float));
    return (b + 63) / 64 * 64 + 64;
}

int rt_nms(const float *boxes, const float *scores, const int *idxs, int n, float thr, int *keep,
           void *workspace) {
    if (n <= 0) return 0;
    // Workspace: sorted boxes [n,4] + areas [n] (floats), order [n], tmp [n], removed [n].
    float *sb = workspace, *area = sb + (size_t)n * 4;
    int *order = (int *)(area + n), *tmp = order + n;
    unsigned char *removed = (unsigned char *)(tmp + n);
    float offset_unit = 0.0f;
    if (idxs) {
        float mx = -INFINITY;
        for (size_t i = 0; i < (size_t)n * 4; i++)
            if (boxes[i] > mx) mx = boxes[i];
        offset_unit = mx + 1.0f;
    }
    rt_argsort_desc(scores, n, order, tmp);
    for (int r = 0; r < n; r++) {
        const float *b = boxes + (size_t)order[r] * 4;
        float off = idxs ? (float)idxs[order[r]] * offset_unit : 0.0f;
        float *o = sb + (size_t)r * 4;
        o[0] = b[0] + off;
        o[1] = b[1] + off;
        o[2] = b[2] + off;
        o[3] = b[3] + off;
        area[r] = (o[2] - o[0]) * (o[3] - o[1]);
        removed[r] = 0;
    }
    int kept = 0;
    for (int r = 0; r < n; r++) {
        if (removed[r]) continue;
        keep[kept++] = order[r];
        const float *a = sb + (size_t)r * 4;
        for (int s = r + 1; s < n; s++) {
            if (removed[s]) continue;
            const float *b = sb + (size_t)s * 4;
            float w = maxf(minf(a[2], b[2]) - maxf(a[0], b[0]), 0.0f);
            float h = maxf(minf(a[3], b[3]) - maxf(a[1], b[1]), 0.0f);
            float inter = w * h;
            if (inter > thr * (area[r] + area[s] - inter)) removed[s] = 1;
        }
    }
    return kept;
}
