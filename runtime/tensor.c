// tensor — views, arena allocation and NCHW <-> nChw8c reorders (see tensor.h).
#include "runtime/tensor.h"

#include <string.h>

rt_tensor rt_tensor_view(float *data, int n, int c, int h, int w) {
    rt_tensor t = {data, n, c, h, w, RT_LAYOUT_NCHW};
    return t;
}

int rt_tensor_cpad(const rt_tensor *t) {
    if (t->layout == RT_LAYOUT_NCHW8C) return (t->c + RT_BLOCK - 1) / RT_BLOCK * RT_BLOCK;
    return t->c;
}

size_t rt_tensor_numel(const rt_tensor *t) {
    return (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

size_t rt_tensor_image_size(const rt_tensor *t) {
    return (size_t)rt_tensor_cpad(t) * (size_t)t->h * (size_t)t->w;
}

size_t rt_tensor_size(const rt_tensor *t) { return (size_t)t->n * rt_tensor_image_size(t); }

size_t rt_tensor_bytes(const rt_tensor *t) { return rt_tensor_size(t) * sizeof(float); }

size_t rt_tensor_index(const rt_tensor *t, int n, int c, int y, int x) {
    size_t hw = (size_t)t->h * (size_t)t->w;
    size_t base = (size_t)n * rt_tensor_image_size(t);
    if (t->layout == RT_LAYOUT_NCHW8C)
        return base + ((size_t)(c / RT_BLOCK) * hw + (size_t)y * (size_t)t->w + (size_t)x) *
                          RT_BLOCK + (size_t)(c % RT_BLOCK);
    return base + (size_t)c * hw + (size_t)y * (size_t)t->w + (size_t)x;
}

rt_tensor rt_tensor_slice(const rt_tensor *t, int i, int count) {
    RT_ASSERT(i >= 0 && count >= 0 && i + count <= t->n);
    rt_tensor s = *t;
    s.data = t->data ? t->data + (size_t)i * rt_tensor_image_size(t) : NULL;
    s.n = count;
    return s;
}

int rt_tensor_same_shape(const rt_tensor *a, const rt_tensor *b) {
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->layout == b->layout;
}

static void zero_block_padding(rt_tensor *t) {
    if (t->layout != RT_LAYOUT_NCHW8C || t->c % RT_BLOCK == 0) return;
    size_t hw = (size_t)t->h * (size_t)t->w;
    int last = t->c / RT_BLOCK, used = t->c % RT_BLOCK;
    for (int n = 0; n < t->n; n++) {
        float *p = t->data + (size_t)n * rt_tensor_image_size(t) + (size_t)last * hw * RT_BLOCK;
        for (size_t i = 0; i < hw; i++)
            memset(p + i * RT_BLOCK + used, 0, sizeof(float) * (size_t)(RT_BLOCK - used));
    }
}

size_t rt_tensor_alloc_size(int n, int c, int h, int w, rt_layout layout) {
    rt_tensor t = {NULL, n, c, h, w, layout};
    size_t b = rt_tensor_bytes(&t);
    return (b ? b : 1) + 64; // rt_arena_alloc aligns each block to 64 bytes
}

rt_status rt_tensor_alloc(rt_tensor *t, rt_arena *a, int n, int c, int h, int w, rt_layout layout) {
    if (n < 0 || c < 0 || h < 0 || w < 0)
        return rt_error_set(RT_ERR_SHAPE, "tensor [%d,%d,%d,%d]: negative dimension", n, c, h, w);
    rt_tensor r = {NULL, n, c, h, w, layout};
    size_t bytes = rt_tensor_bytes(&r);
    r.data = rt_arena_alloc(a, bytes ? bytes : 1);
    if (!r.data) return rt_error_status();
    zero_block_padding(&r);
    *t = r;
    return RT_OK;
}

void rt_tensor_zero(rt_tensor *t) {
    if (t->data) memset(t->data, 0, rt_tensor_bytes(t));
}

rt_status rt_tensor_reorder(const rt_tensor *src, rt_tensor *dst) {
    if (src->n != dst->n || src->c != dst->c || src->h != dst->h || src->w != dst->w)
        return rt_error_set(RT_ERR_SHAPE, "reorder: [%d,%d,%d,%d] into [%d,%d,%d,%d]", src->n,
                            src->c, src->h, src->w, dst->n, dst->c, dst->h, dst->w);
    if (src->layout == dst->layout) {
        if (src->data != dst->data) memcpy(dst->data, src->data, rt_tensor_bytes(src));
        return RT_OK;
    }
    const int to_blocked = dst->layout == RT_LAYOUT_NCHW8C;
    const rt_tensor *b = to_blocked ? dst : src;
    const int nb = rt_tensor_cpad(b) / RT_BLOCK, C = src->c;
    const size_t hw = (size_t)src->h * (size_t)src->w;
    const size_t plain_img = (size_t)C * hw, blk_img = rt_tensor_image_size(b);
    const long jobs = (long)src->n * nb;
#pragma omp parallel for schedule(static) if (jobs > 1 && hw * jobs > 65536)
    for (long j = 0; j < jobs; j++) {
        int n = (int)(j / nb), cb = (int)(j % nb);
        float *blk = b->data + (size_t)n * blk_img + (size_t)cb * hw * RT_BLOCK;
        float *pl = (to_blocked ? src->data : dst->data) + (size_t)n * plain_img;
        int c0 = cb * RT_BLOCK, cn = RT_MIN(RT_BLOCK, C - c0);
        if (to_blocked) {
            for (size_t i = 0; i < hw; i++) {
                float *o = blk + i * RT_BLOCK;
                int l = 0;
                for (; l < cn; l++) o[l] = pl[(size_t)(c0 + l) * hw + i];
                for (; l < RT_BLOCK; l++) o[l] = 0.0f;
            }
        } else {
            for (int l = 0; l < cn; l++) {
                float *o = pl + (size_t)(c0 + l) * hw;
                for (size_t i = 0; i < hw; i++) o[i] = blk[i * RT_BLOCK + l];
            }
        }
    }
    return RT_OK;
}
