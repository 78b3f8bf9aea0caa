// Shared by tests/test_metrics*.c: build videos from KITTI-MOTS style lines or rectangles and
// run them through merge/metrics.
#ifndef PCAN_TESTS_METRICS_UTIL_H
#define PCAN_TESTS_METRICS_UTIL_H

#include "merge/metrics.h"
#include "tests/test.h"

typedef struct tobj {
    int frame, is_gt;
    merge_object o;
    rt_rle m;
} tobj;

typedef struct tvideo {
    tobj *o;
    int n, cap, frames;
} tvideo;

static inline void tv_init(tvideo *v, int frames) {
    v->cap = 256;
    v->o = calloc((size_t)v->cap, sizeof *v->o);
    v->n = 0;
    v->frames = frames;
}

static inline void tv_free(tvideo *v) {
    for (int i = 0; i < v->n; i++) rt_rle_free(&v->o[i].m);
    free(v->o);
    v->o = NULL;
}

static inline tobj *tv_new(tvideo *v, int is_gt, int frame, int64_t id, int cls) {
    if (v->n == v->cap) {
        v->cap *= 2;
        v->o = realloc(v->o, (size_t)v->cap * sizeof *v->o);
        if (!v->o) abort();
    }
    tobj *t = &v->o[v->n++];
    memset(t, 0, sizeof *t);
    rt_rle_init(&t->m);
    t->frame = frame;
    t->is_gt = is_gt;
    t->o.id = id;
    t->o.cls = cls;
    return t;
}

// Rows y0..y1 and columns x0..x1 (inclusive) of an h×w image.
static inline void tv_rect(tvideo *v, int is_gt, int frame, int64_t id, int cls, double score,
                           int h, int w, int y0, int y1, int x0, int x1) {
    tobj *t = tv_new(v, is_gt, frame, id, cls);
    uint8_t *m = calloc((size_t)h * w, 1);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) m[y * w + x] = 1;
    if (rt_rle_encode(&t->m, m, (uint32_t)h, (uint32_t)w) != RT_OK) abort();
    free(m);
    t->o.score = score;
}

// KITTI MOTS txt lines "frame id class h w rle"; class 10 is an ignore region in GT. Results get
// score 1 - 0.01·line so that earlier lines win overlaps.
static inline void tv_kitti(tvideo *v, int is_gt, const char *text, int frame_offset) {
    char line[512];
    int k = 0;
    while (*text) {
        size_t n = strcspn(text, "\n");
        memcpy(line, text, n);
        line[n] = 0;
        text += n + (text[n] == '\n');
        int f, cls;
        long long id;
        unsigned h, w;
        char rle[256];
        if (sscanf(line, "%d %lld %d %u %u %255s", &f, &id, &cls, &h, &w, rle) != 6) continue;
        tobj *t = tv_new(v, is_gt, f + frame_offset, id, cls);
        if (rt_rle_from_string(&t->m, h, w, rle, strlen(rle)) != RT_OK) abort();
        t->o.ignore = is_gt && cls == 10;
        t->o.score = 1.0 - 0.01 * k++;
    }
}

static inline rt_status tv_run(merge_video *mv, tvideo *v, int64_t vid, merge_video_result *out) {
    merge_object *gt = calloc((size_t)v->n + 1, sizeof *gt), *res = calloc((size_t)v->n + 1, sizeof *res);
    merge_video_begin(mv, vid);
    rt_status st = RT_OK;
    for (int f = 0; f < v->frames && st == RT_OK; f++) {
        size_t ng = 0, nr = 0;
        for (int i = 0; i < v->n; i++) {
            if (v->o[i].frame != f) continue;
            v->o[i].o.mask = &v->o[i].m;
            if (v->o[i].is_gt) gt[ng++] = v->o[i].o;
            else res[nr++] = v->o[i].o;
        }
        merge_frame fr = {gt, ng, res, nr};
        st = merge_video_add_frame(mv, &fr);
    }
    if (st == RT_OK) st = merge_video_finish(mv, out);
    free(gt);
    free(res);
    return st;
}

#endif
