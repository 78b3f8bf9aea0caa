// A video stream: the per-frame PCAN step (PCAN-FACTS §2) and the state that changes while a
// video plays. Every buffer is carved from one arena when the first frame fixes the size, for
// the worst case (rpn.max_per_img proposals, test.max_per_img detections), so later frames
// never allocate.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model_internal.h"
#include "runtime/ops.h"
#include "runtime/ops_box.h"
#include "runtime/ops_gemm.h"
#include "runtime/ops_pcam.h"
#include "runtime/ops_roi.h"
#include "runtime/preprocess.h"
#include "runtime/tracker.h"

#define EM_TEMPERATURE  20.0f // E-step logits scale, frame-level and refine EM
#define FUSE_KEEP       0.75f // P <- 0.75 P + 0.25 R; memory <- 0.75 P + 0.25 memory
#define INIT_KEEP       0.5f  // frame-level initialiser U <- 0.5 U + 0.5 protos
#define REFINE_MOMENTUM 0.95f
#define MAX_LEVELS      RT_MODEL_MAX_LEVELS
#define MAX_PCAM        2 // frame-level PCAM levels of the released model (>= pcam.levels)
// Initial RLE capacity per result, in runs per image column; masks pasted from a 28x28 map
// rarely need more, and a result that does grows its buffer once.
#define RLE_RUNS_PER_COLUMN 32
// A batch that makes rt_conv_prepare create both the chunk and the batch-1 primitives.
#define ROI_PREPARE_BATCH (RT_ROI_BATCH_CHUNK + 1)

typedef struct shape {
    int c, h, w;
} shape;

struct rt_stream {
    const rt_model *m;
    rt_stream_params params;
    int frame;
    int src_w, src_h; // 0 until the first frame
    rt_preprocess pp;
    rt_tracker *tracker;
    rt_arena arena;
    size_t planned; // bytes the plan needs (first pass)
    int planning;

    // shapes for this frame size
    int H, W; // network input (padded)
    shape stem, pool, t1_max, t2_max, ds_max, pp_max, cs[RT_MODEL_STAGES], p[MAX_LEVELS];
    int max_props, max_dets, cand_max, mc_max;

    // state that lives for the video
    float *bank[MAX_PCAM], *ustate[MAX_PCAM];
    float *pos_mu, *neg_mu;

    // per-frame buffers
    float *input, *stem_out, *pool_out, *t1, *t2, *ds, *ping, *pong, *cst[RT_MODEL_STAGES];
    float *lat[RT_MODEL_STAGES], *pl[MAX_LEVELS];
    float *pcam_work, *pcam_protos, *pcam_r, *pcam_plain;
    float *rpn_feat, *rpn_cls_b, *rpn_reg_b, *rpn_cls, *rpn_reg, *rpn_scores, *anchors[MAX_LEVELS];
    int *order, *order_tmp, *cand_lvl, *keep, *mc_labels;
    float *cand_scores, *cand_anchor, *cand_delta, *cand_boxes;
    float *props, *prop_scores;
    void *nms_ws;
    float *roi7, *fc_a, *fc_b, *cls, *reg, *dec;
    float *mc_boxes, *mc_scores;
    float *det_boxes, *det_scores, *net_boxes;
    int *det_labels;
    float *mask_feats_b, *mask_feats, *mh_a, *mh_b, *mh_up, *mask_pred_b, *mask_pred;
    float *up_in, *up_out, *up_y; // plain scratch of the 2x upsampling
    float *tr_a, *tr_b, *tr_plain, *tf_a, *tf_b, *embeds;
    float *xa, *xb, *m28, *m14a, *m14b, *ba, *bb, *ctxv, *pos_pre, *neg_pre, *pos, *neg, *em_work,
        *mucat, *pz, *nz, *x259, *x259_b, *r1, *r2, *r3, *rup, *rlog_b, *refine_pred, *ctx,
        *mu_mean;
    float *prob;
    uint8_t *mask_img;
    rt_result *items;
    int nitems;
    rt_frame_results results;

    double stage_s[RT_STAGE_COUNT];
    double t_mark;
    rt_stream_probe_fn probe;
    void *probe_ctx;
    float *probe_buf; // plain copies of blocked maps, only while probing
    size_t probe_cap;
};

const char *rt_stage_name(rt_stage stage) {
    switch (stage) {
#define RT_X_STAGE_NAME(name, text)                                                                \
    case RT_STAGE_##name: return text;
        RT_STAGE_LIST(RT_X_STAGE_NAME)
#undef RT_X_STAGE_NAME
    case RT_STAGE_COUNT: break;
    }
    return "?";
}

// Charges the time since the last mark to `stage`.
static void stage_done(rt_stream *s, rt_stage stage) {
    double t = rt_now();
    s->stage_s[stage] += t - s->t_mark;
    s->t_mark = t;
}

void rt_stream_stage_seconds(const rt_stream *s, double seconds[RT_STAGE_COUNT]) {
    memcpy(seconds, s->stage_s, sizeof s->stage_s);
}

void rt_stream_set_probe(rt_stream *s, rt_stream_probe_fn fn, void *ctx) {
    s->probe = fn;
    s->probe_ctx = ctx;
}

static void probe_raw(rt_stream *s, const char *name, rt_probe_type type, const void *data,
                      int ndim, const int *dims) {
    if (s->probe) s->probe(s->probe_ctx, name, type, data, ndim, dims);
}

static void probe_f(rt_stream *s, const char *name, const float *data, int ndim, int d0, int d1,
                    int d2, int d3) {
    int dims[4] = {d0, d1, d2, d3};
    probe_raw(s, name, RT_PROBE_F32, data, ndim, dims);
}

// A tensor of either layout, as plain [n,c,h,w] (n dropped when 1).
static void probe_t(rt_stream *s, const char *name, const rt_tensor *t) {
    if (!s->probe) return;
    const float *data = t->data;
    if (t->layout != RT_LAYOUT_NCHW) {
        size_t need = rt_tensor_numel(t);
        if (need > s->probe_cap) {
            float *b = rt_realloc(s->probe_buf, need * sizeof *b);
            if (!b) return;
            s->probe_buf = b;
            s->probe_cap = need;
        }
        rt_tensor plain = {s->probe_buf, t->n, t->c, t->h, t->w, RT_LAYOUT_NCHW};
        if (rt_tensor_reorder(t, &plain) != RT_OK) return;
        data = s->probe_buf;
    }
    if (t->n == 1)
        probe_f(s, name, data, 3, t->c, t->h, t->w, 0);
    else
        probe_f(s, name, data, 4, t->n, t->c, t->h, t->w);
}

rt_stream_params rt_stream_default_params(void) {
    rt_stream_params p = {RT_PROTOTYPE_MEMORY_VIDEO, 0, NULL, true};
    return p;
}

// ---------------------------------------------------------------------------------------------
// Buffer planning: the same code runs twice, first adding up sizes, then carving the arena.

static size_t floats_of(int n, int c, int h, int w) {
    size_t cp = (size_t)(c + RT_BLOCK - 1) / RT_BLOCK * RT_BLOCK; // enough for either layout
    return (size_t)n * cp * (size_t)h * (size_t)w;
}

static void *slot(rt_stream *s, size_t bytes) {
    if (s->planning) {
        s->planned += (bytes + 127) / 64 * 64 + 64;
        return NULL;
    }
    void *p = rt_arena_alloc(&s->arena, bytes ? bytes : 1);
    RT_ASSERT(p); // the plan sized the arena
    memset(p, 0, bytes);
    return p;
}

#define FSLOT(ptr, n) ((ptr) = slot(s, (size_t)(n) * sizeof(float)))
#define ISLOT(ptr, n) ((ptr) = slot(s, (size_t)(n) * sizeof(int)))

static shape conv_out(const rt_conv *c, shape in) {
    shape o;
    rt_conv_out_size(c, in.h, in.w, &o.h, &o.w);
    o.c = rt_conv_get_params(c)->out_channels;
    return o;
}

static size_t shape_floats(shape a) { return floats_of(1, a.c, a.h, a.w); }

static void keep_max(shape *mx, shape a) {
    if (shape_floats(a) > shape_floats(*mx)) *mx = a;
}

// Shapes of everything for a W x H network input.
static void plan_shapes(rt_stream *s) {
    const rt_model *m = s->m;
    const rt_model_config *c = &m->cfg;
    shape in = {3, s->H, s->W};
    s->stem = conv_out(m->stem, in);
    s->pool.c = s->stem.c;
    s->pool.h = rt_pool_out_size(s->stem.h, 3, 2, 1);
    s->pool.w = rt_pool_out_size(s->stem.w, 3, 2, 1);
    shape x = s->pool;
    memset(&s->t1_max, 0, sizeof(shape) * 4);
    for (int i = 0; i < m->nblocks; i++) {
        const rt_block *b = &m->blocks[i];
        shape t1 = conv_out(b->conv1, x), t2 = conv_out(b->conv2, t1), o = conv_out(b->conv3, t2);
        keep_max(&s->t1_max, t1);
        keep_max(&s->t2_max, t2);
        if (b->down) keep_max(&s->ds_max, conv_out(b->down, x));
        bool last = i + 1 == m->nblocks || m->blocks[i + 1].stage != b->stage;
        if (last)
            s->cs[b->stage] = o;
        else
            keep_max(&s->pp_max, o);
        x = o;
    }
    int C = c->fpn.out_channels;
    for (int i = 0; i < RT_MODEL_STAGES; i++) s->p[i] = (shape){C, s->cs[i].h, s->cs[i].w};
    for (int i = RT_MODEL_STAGES; i < m->nlevels; i++) {
        s->p[i].c = C;
        s->p[i].h = rt_pool_out_size(s->p[i - 1].h, 1, 2, 0);
        s->p[i].w = rt_pool_out_size(s->p[i - 1].w, 1, 2, 0);
    }
    s->cand_max = 0;
    for (int i = 0; i < m->nlevels; i++) {
        int n = s->p[i].h * s->p[i].w * m->anchors_per_loc;
        s->cand_max += RT_MIN(n, c->rpn.nms_pre);
    }
    s->max_props = c->rpn.max_per_img;
    s->max_dets = c->test.max_per_img;
    s->mc_max = s->max_props * m->nclasses;
}

static void plan_buffers(rt_stream *s) {
    const rt_model *m = s->m;
    const rt_model_config *c = &m->cfg;
    const int C = c->fpn.out_channels, nc = m->nclasses, A = m->anchors_per_loc;
    const int R = s->max_props, D = s->max_dets;
    const int ms = c->roi.mask_roi_size, n14 = ms * ms, n28 = 4 * n14;
    const int kp = c->refine.pos_protos, kn = c->refine.neg_protos, rc = c->refine.channels;

    FSLOT(s->input, floats_of(1, 3, s->H, s->W));
    FSLOT(s->stem_out, shape_floats(s->stem));
    FSLOT(s->pool_out, shape_floats(s->pool));
    FSLOT(s->t1, shape_floats(s->t1_max));
    FSLOT(s->t2, shape_floats(s->t2_max));
    FSLOT(s->ds, shape_floats(s->ds_max));
    FSLOT(s->ping, shape_floats(s->pp_max));
    FSLOT(s->pong, shape_floats(s->pp_max));
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        FSLOT(s->cst[i], shape_floats(s->cs[i]));
        FSLOT(s->lat[i], shape_floats(s->p[i]));
    }
    size_t pcam_work = 0, rpn_n = 0;
    for (int i = 0; i < m->nlevels; i++) {
        int n = s->p[i].h * s->p[i].w;
        FSLOT(s->pl[i], shape_floats(s->p[i]));
        FSLOT(s->anchors[i], (size_t)n * A * 4);
        if (i < c->pcam.levels) {
            FSLOT(s->bank[i], (size_t)C * n);
            FSLOT(s->ustate[i], (size_t)C * c->pcam.prototypes);
            pcam_work = RT_MAX(pcam_work, rt_em_work_floats(n, c->pcam.prototypes));
        }
        rpn_n = RT_MAX(rpn_n, (size_t)n);
    }
    FSLOT(s->pcam_work, pcam_work);
    FSLOT(s->pcam_protos, (size_t)C * c->pcam.prototypes);
    FSLOT(s->pcam_r, (size_t)C * s->p[0].h * s->p[0].w);
    FSLOT(s->pcam_plain, (size_t)C * s->p[0].h * s->p[0].w);
    FSLOT(s->rpn_feat, floats_of(1, c->rpn.feat_channels, s->p[0].h, s->p[0].w));
    FSLOT(s->rpn_cls_b, floats_of(1, A, s->p[0].h, s->p[0].w));
    FSLOT(s->rpn_reg_b, floats_of(1, 4 * A, s->p[0].h, s->p[0].w));
    FSLOT(s->rpn_cls, rpn_n * A);
    FSLOT(s->rpn_reg, rpn_n * A * 4);
    FSLOT(s->rpn_scores, rpn_n * A);
    ISLOT(s->order, rpn_n * A);
    ISLOT(s->order_tmp, RT_MAX(rpn_n * A, (size_t)s->mc_max));
    size_t ncand = (size_t)RT_MAX(s->cand_max, s->mc_max);
    FSLOT(s->cand_scores, s->cand_max);
    FSLOT(s->cand_anchor, (size_t)s->cand_max * 4);
    FSLOT(s->cand_delta, (size_t)s->cand_max * 4);
    FSLOT(s->cand_boxes, (size_t)s->cand_max * 4);
    ISLOT(s->cand_lvl, s->cand_max);
    ISLOT(s->keep, ncand);
    s->nms_ws = slot(s, rt_nms_workspace_size((int)ncand));
    FSLOT(s->props, (size_t)R * 4);
    FSLOT(s->prop_scores, R);

    int fcw = c->roi.bbox_fc_channels;
    FSLOT(s->roi7, floats_of(R, C, c->roi.bbox_roi_size, c->roi.bbox_roi_size));
    FSLOT(s->fc_a, (size_t)R * RT_MAX(fcw, c->roi.track_fc_channels));
    FSLOT(s->fc_b, (size_t)R * RT_MAX(fcw, c->roi.track_fc_channels));
    FSLOT(s->cls, (size_t)R * (nc + 1));
    FSLOT(s->reg, (size_t)R * 4 * nc);
    FSLOT(s->dec, (size_t)R * 4 * nc);
    FSLOT(s->mc_boxes, (size_t)s->mc_max * 4);
    FSLOT(s->mc_scores, s->mc_max);
    ISLOT(s->mc_labels, s->mc_max);
    FSLOT(s->det_boxes, (size_t)D * 4);
    FSLOT(s->det_scores, D);
    FSLOT(s->net_boxes, (size_t)D * 4);
    ISLOT(s->det_labels, D);

    int mc = c->roi.mask_channels, tc = c->roi.track_channels;
    FSLOT(s->mask_feats_b, floats_of(D, C, ms, ms));
    FSLOT(s->mask_feats, (size_t)D * C * n14);
    FSLOT(s->mh_a, floats_of(D, mc, ms, ms));
    FSLOT(s->mh_b, floats_of(D, mc, ms, ms));
    FSLOT(s->mh_up, floats_of(D, mc, 2 * ms, 2 * ms));
    FSLOT(s->mask_pred_b, floats_of(D, nc, 2 * ms, 2 * ms));
    FSLOT(s->mask_pred, (size_t)D * nc * n28);
    int upc = RT_MAX(mc, rc);
    FSLOT(s->up_in, (size_t)D * upc * n14);
    FSLOT(s->up_out, (size_t)D * upc * n28);
    FSLOT(s->up_y, (size_t)4 * upc * n14);
    FSLOT(s->tr_a, floats_of(D, tc, c->roi.bbox_roi_size, c->roi.bbox_roi_size));
    FSLOT(s->tr_b, floats_of(D, tc, c->roi.bbox_roi_size, c->roi.bbox_roi_size));
    FSLOT(s->tr_plain, floats_of(D, tc, c->roi.bbox_roi_size, c->roi.bbox_roi_size));
    FSLOT(s->tf_a, (size_t)D * c->roi.track_fc_channels);
    FSLOT(s->tf_b, (size_t)D * c->roi.track_fc_channels);
    FSLOT(s->embeds, (size_t)D * c->roi.embed_channels);

    int kmax = RT_MAX(kp, kn);
    FSLOT(s->xa, (size_t)D * C * n14);
    FSLOT(s->xb, (size_t)D * C * n14);
    FSLOT(s->m28, (size_t)D * n28);
    FSLOT(s->m14a, (size_t)D * n14);
    FSLOT(s->m14b, (size_t)D * n14);
    FSLOT(s->ba, (size_t)D * n14);
    FSLOT(s->bb, (size_t)D * n14);
    FSLOT(s->ctxv, (size_t)D * C);
    FSLOT(s->pos_pre, (size_t)D * C * kp);
    FSLOT(s->neg_pre, (size_t)D * C * kn);
    FSLOT(s->pos, (size_t)D * C * kp);
    FSLOT(s->neg, (size_t)D * C * kn);
    FSLOT(s->em_work, (size_t)D * rt_em_work_floats(n14, RT_MAX(kmax, kp + kn)));
    FSLOT(s->mucat, (size_t)C * (kp + kn));
    FSLOT(s->pz, (size_t)D * n14);
    FSLOT(s->nz, (size_t)D * n14);
    FSLOT(s->x259, (size_t)D * (C + 3) * n14);
    FSLOT(s->x259_b, floats_of(D, C + 3, ms, ms));
    FSLOT(s->r1, floats_of(D, rc, ms, ms));
    FSLOT(s->r2, floats_of(D, rc, ms, ms));
    FSLOT(s->r3, floats_of(D, rc, ms, ms));
    FSLOT(s->rup, floats_of(D, rc, 2 * ms, 2 * ms));
    FSLOT(s->rlog_b, floats_of(D, 1, 2 * ms, 2 * ms));
    FSLOT(s->refine_pred, (size_t)D * n28);
    FSLOT(s->ctx, (size_t)D * rc);
    FSLOT(s->mu_mean, (size_t)C * kmax);
    FSLOT(s->prob, n28);
    s->mask_img = slot(s, (size_t)s->src_w * s->src_h);
    s->items = slot(s, (size_t)D * sizeof *s->items);
}

static rt_tensor T(float *data, int n, shape sh, rt_layout layout) {
    rt_tensor t = {data, n, sh.c, sh.h, sh.w, layout};
    return t;
}

// Prepares a chain of RoI-batch convolutions for a chunk plus a batch-1 tail; *last describes
// the last output (data NULL).
static rt_status prepare_chain(rt_conv *const *convs, int n, shape in, rt_layout layout,
                               rt_tensor *last) {
    rt_tensor x = T(NULL, ROI_PREPARE_BATCH, in, layout);
    for (int i = 0; i < n; i++) {
        rt_status st = rt_conv_prepare(convs[i], &x);
        if (st != RT_OK) return st;
        x = T(NULL, ROI_PREPARE_BATCH, conv_out(convs[i], (shape){x.c, x.h, x.w}),
              RT_LAYOUT_NCHW8C);
    }
    *last = x;
    return RT_OK;
}

static double conv_flops(const rt_conv *c, shape in) {
    const rt_conv_params *p = rt_conv_get_params(c);
    shape o = conv_out(c, in);
    double per_out = 2.0 * p->in_channels * p->kernel_h * p->kernel_w;
    // A transposed conv does the same multiply-adds per input pixel as a conv per output pixel.
    double pixels = p->transposed ? (double)in.h * in.w : (double)o.h * o.w;
    return per_out * p->out_channels * pixels;
}

double rt_stream_dense_flops(const rt_stream *s) {
    if (!s->src_w) return 0;
    const rt_model *m = s->m;
    double f = conv_flops(m->stem, (shape){3, s->H, s->W});
    shape in = s->pool;
    for (int i = 0; i < m->nblocks; i++) {
        const rt_block *b = &m->blocks[i];
        shape t1 = conv_out(b->conv1, in), t2 = conv_out(b->conv2, t1);
        f += conv_flops(b->conv1, in) + conv_flops(b->conv2, t1) + conv_flops(b->conv3, t2);
        if (b->down) f += conv_flops(b->down, in);
        in = conv_out(b->conv3, t2);
    }
    for (int i = 0; i < RT_MODEL_STAGES; i++)
        f += conv_flops(m->lateral[i], s->cs[i]) + conv_flops(m->fpn[i], s->p[i]);
    for (int i = 0; i < m->nlevels; i++) {
        shape r = conv_out(m->rpn_conv, s->p[i]);
        f += conv_flops(m->rpn_conv, s->p[i]) + conv_flops(m->rpn_cls, r) +
             conv_flops(m->rpn_reg, r);
    }
    return f;
}

// Creates every primitive for this input size now, so that the first frame pays, not later ones.
static rt_status prepare_convs(rt_stream *s) {
    const rt_model *m = s->m;
    rt_status st;
    rt_tensor x = T(s->input, 1, (shape){3, s->H, s->W}, RT_LAYOUT_NCHW);
    if ((st = rt_conv_prepare(m->stem, &x)) != RT_OK) return st;
    shape in = s->pool;
    for (int i = 0; i < m->nblocks; i++) {
        const rt_block *b = &m->blocks[i];
        shape t1 = conv_out(b->conv1, in), t2 = conv_out(b->conv2, t1);
        rt_tensor a = T(NULL, 1, in, RT_LAYOUT_NCHW8C), ta = T(NULL, 1, t1, RT_LAYOUT_NCHW8C),
                  tb = T(NULL, 1, t2, RT_LAYOUT_NCHW8C);
        if ((st = rt_conv_prepare(b->conv1, &a)) != RT_OK ||
            (st = rt_conv_prepare(b->conv2, &ta)) != RT_OK ||
            (st = rt_conv_prepare(b->conv3, &tb)) != RT_OK ||
            (b->down && (st = rt_conv_prepare(b->down, &a)) != RT_OK))
            return st;
        in = conv_out(b->conv3, t2);
    }
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        rt_tensor a = T(NULL, 1, s->cs[i], RT_LAYOUT_NCHW8C),
                  l = T(NULL, 1, s->p[i], RT_LAYOUT_NCHW8C);
        if ((st = rt_conv_prepare(m->lateral[i], &a)) != RT_OK ||
            (st = rt_conv_prepare(m->fpn[i], &l)) != RT_OK)
            return st;
    }
    // RoI layers run in chunks plus batch-1 tails: prepare one of each.
    const rt_model_config *c = &m->cfg;
    const int C = c->fpn.out_channels, ms = c->roi.mask_roi_size, b7 = c->roi.bbox_roi_size;
    rt_tensor y;
    if ((st = prepare_chain(m->mask_convs, c->roi.mask_num_convs, (shape){C, ms, ms},
                            RT_LAYOUT_NCHW8C, &y)) != RT_OK)
        return st;
    rt_conv *mask_tail[1] = {m->mask_logits};
    if ((st = prepare_chain(mask_tail, 1, (shape){m->mask_up.out, 2 * ms, 2 * ms}, RT_LAYOUT_NCHW8C,
                            &y)) != RT_OK ||
        (st = prepare_chain(m->track_convs, c->roi.track_num_convs, (shape){C, b7, b7},
                            RT_LAYOUT_NCHW8C, &y)) != RT_OK)
        return st;
    rt_conv *ref_head[1] = {m->ref_conv1};
    if ((st = prepare_chain(ref_head, 1, (shape){C + 3, ms, ms}, RT_LAYOUT_NCHW8C, &y)) != RT_OK ||
        (st = prepare_chain(m->ref_convs, c->refine.num_convs - 1, (shape){y.c, y.h, y.w}, y.layout,
                            &y)) != RT_OK)
        return st;
    rt_conv *ref_tail[1] = {m->ref_logits};
    if ((st = prepare_chain(ref_tail, 1, (shape){m->ref_up.out, 2 * ms, 2 * ms}, RT_LAYOUT_NCHW8C,
                            &y)) != RT_OK)
        return st;
    for (int i = 0; i < m->nlevels; i++) {
        rt_tensor p = T(NULL, 1, s->p[i], RT_LAYOUT_NCHW8C);
        shape f = conv_out(m->rpn_conv, s->p[i]);
        rt_tensor ft = T(NULL, 1, f, RT_LAYOUT_NCHW8C);
        if ((st = rt_conv_prepare(m->rpn_conv, &p)) != RT_OK ||
            (st = rt_conv_prepare(m->rpn_cls, &ft)) != RT_OK ||
            (st = rt_conv_prepare(m->rpn_reg, &ft)) != RT_OK)
            return st;
    }
    return RT_OK;
}

static rt_status stream_setup(rt_stream *s, int w, int h) {
    const rt_model *m = s->m;
    const rt_model_config *c = &m->cfg;
    rt_preprocess_params pp = {
        {c->input.scale[0], c->input.scale[1]},
        {(float)c->input.mean[0], (float)c->input.mean[1], (float)c->input.mean[2]},
        {(float)c->input.std[0], (float)c->input.std[1], (float)c->input.std[2]},
        c->input.pad_divisor};
    rt_status st = rt_preprocess_init(&s->pp, &pp, w, h);
    if (st != RT_OK) return st;
    s->src_w = w;
    s->src_h = h;
    s->W = s->pp.pad_w;
    s->H = s->pp.pad_h;
    plan_shapes(s);
    if (s->pool.h < 1 || s->p[m->nlevels - 1].h < 1 || s->p[m->nlevels - 1].w < 1)
        return rt_error_set(RT_ERR_INVAL, "frame %dx%d is too small for the network", w, h);
    s->planning = 1;
    s->planned = 0;
    plan_buffers(s);
    s->planning = 0;
    if ((st = rt_arena_init(&s->arena, s->planned)) != RT_OK) return st;
    plan_buffers(s);
    for (int i = 0; i < m->nlevels; i++) {
        float scales[RT_MODEL_MAX_ANCHOR_PARAMS], ratios[RT_MODEL_MAX_ANCHOR_PARAMS];
        for (int k = 0; k < c->rpn.num_anchor_scales; k++)
            scales[k] = (float)c->rpn.anchor_scales[k];
        for (int k = 0; k < c->rpn.num_anchor_ratios; k++)
            ratios[k] = (float)c->rpn.anchor_ratios[k];
        rt_anchors((float)c->rpn.anchor_strides[i], scales, c->rpn.num_anchor_scales, ratios,
                   c->rpn.num_anchor_ratios, s->p[i].h, s->p[i].w, s->anchors[i]);
    }
    uint32_t runs = (uint32_t)RLE_RUNS_PER_COLUMN * (uint32_t)w + 64;
    for (int i = 0; i < s->max_dets; i++) {
        rt_rle_init(&s->items[i].mask);
        if ((st = rt_rle_reserve(&s->items[i].mask, runs)) != RT_OK) return st;
    }
    s->nitems = s->max_dets;
    return prepare_convs(s);
}

rt_status rt_stream_init(const rt_model *m, const rt_stream_params *params, rt_stream **out) {
    *out = NULL;
    rt_stream *s = rt_calloc(1, sizeof *s);
    if (!s) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    s->m = m;
    s->params = params ? *params : rt_stream_default_params();
    const rt_model_config *c = &m->cfg;
    int C = c->fpn.out_channels, kp = c->refine.pos_protos, kn = c->refine.neg_protos;
    rt_status st = RT_OK;
    s->pos_mu = rt_malloc((size_t)C * kp * sizeof(float));
    s->neg_mu = rt_malloc((size_t)C * kn * sizeof(float));
    if (!s->pos_mu || !s->neg_mu) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    const rt_stream *prev = s->params.previous;
    bool carry = s->params.prototype_memory == RT_PROTOTYPE_MEMORY_RANK && prev;
    memcpy(s->pos_mu, carry ? prev->pos_mu : m->pos_mu, (size_t)C * kp * sizeof(float));
    memcpy(s->neg_mu, carry ? prev->neg_mu : m->neg_mu, (size_t)C * kn * sizeof(float));
    s->params.previous = NULL;

    rt_tracker_params tp = rt_tracker_default_params();
    tp.init_score_thr = c->tracker.init_score_thr;
    tp.obj_score_thr = c->tracker.obj_score_thr;
    tp.match_score_thr = c->tracker.match_score_thr;
    tp.memo_tracklet_frames = c->tracker.memo_tracklet_frames;
    tp.memo_backdrop_frames = c->tracker.memo_backdrop_frames;
    tp.memo_momentum = c->tracker.memo_momentum;
    tp.nms_conf_thr = c->tracker.nms_conf_thr;
    tp.nms_backdrop_iou_thr = c->tracker.nms_backdrop_iou_thr;
    tp.nms_class_iou_thr = c->tracker.nms_class_iou_thr;
    tp.with_cats = c->tracker.with_cats;
    tp.embed_dim = c->roi.embed_channels;
    tp.mask_feat_size = C * c->roi.mask_roi_size * c->roi.mask_roi_size;
    tp.mask_pred_size = m->nclasses * 4 * c->roi.mask_roi_size * c->roi.mask_roi_size;
    tp.refine_pred_size = 4 * c->roi.mask_roi_size * c->roi.mask_roi_size;
    tp.max_det = c->test.max_per_img;
    if ((st = rt_tracker_init(&s->tracker, &tp)) != RT_OK) goto fail;
    *out = s;
    return RT_OK;
fail:
    rt_stream_free(&s);
    return st;
}

void rt_stream_free(rt_stream **sp) {
    rt_stream *s = sp ? *sp : NULL;
    if (!s) return;
    for (int i = 0; i < s->nitems; i++) rt_rle_free(&s->items[i].mask);
    rt_free(s->probe_buf);
    rt_tracker_free(&s->tracker);
    rt_preprocess_free(&s->pp);
    rt_arena_free(&s->arena);
    rt_free(s->pos_mu);
    rt_free(s->neg_mu);
    rt_free(s);
    *sp = NULL;
}

// ---------------------------------------------------------------------------------------------
// The stages

static rt_status run_backbone(rt_stream *s) {
    const rt_model *m = s->m;
    rt_status st;
    rt_tensor x = T(s->input, 1, (shape){3, s->H, s->W}, RT_LAYOUT_NCHW);
    rt_tensor stem = T(s->stem_out, 1, s->stem, RT_LAYOUT_NCHW8C);
    rt_tensor pool = T(s->pool_out, 1, s->pool, RT_LAYOUT_NCHW8C);
    if ((st = rt_conv_forward(m->stem, &x, NULL, &stem)) != RT_OK ||
        (st = rt_maxpool2d(&stem, 3, 2, 1, &pool)) != RT_OK)
        return st;
    probe_t(s, "stem", &pool);
    rt_tensor in = pool;
    int flip = 0;
    for (int i = 0; i < m->nblocks; i++) {
        const rt_block *b = &m->blocks[i];
        shape t1s = conv_out(b->conv1, (shape){in.c, in.h, in.w}), t2s = conv_out(b->conv2, t1s);
        shape os = conv_out(b->conv3, t2s);
        bool last = i + 1 == m->nblocks || m->blocks[i + 1].stage != b->stage;
        float *dst = last ? s->cst[b->stage] : (flip ^= 1) ? s->ping : s->pong;
        rt_tensor t1 = T(s->t1, 1, t1s, RT_LAYOUT_NCHW8C), t2 = T(s->t2, 1, t2s, RT_LAYOUT_NCHW8C);
        rt_tensor out = T(dst, 1, os, RT_LAYOUT_NCHW8C), res = in;
        if ((st = rt_conv_forward(b->conv1, &in, NULL, &t1)) != RT_OK ||
            (st = rt_conv_forward(b->conv2, &t1, NULL, &t2)) != RT_OK)
            return st;
        if (b->down) {
            res = T(s->ds, 1, os, RT_LAYOUT_NCHW8C);
            if ((st = rt_conv_forward(b->down, &in, NULL, &res)) != RT_OK) return st;
        }
        if ((st = rt_conv_forward(b->conv3, &t2, &res, &out)) != RT_OK) return st;
        if (last) {
            char name[16];
            snprintf(name, sizeof name, "c%d", b->stage + 2);
            probe_t(s, name, &out);
        }
        in = out;
    }
    return RT_OK;
}

static rt_status run_fpn(rt_stream *s) {
    const rt_model *m = s->m;
    rt_status st;
    rt_tensor lat[RT_MODEL_STAGES];
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        rt_tensor c = T(s->cst[i], 1, s->cs[i], RT_LAYOUT_NCHW8C);
        lat[i] = T(s->lat[i], 1, s->p[i], RT_LAYOUT_NCHW8C);
        if ((st = rt_conv_forward(m->lateral[i], &c, NULL, &lat[i])) != RT_OK) return st;
    }
    for (int i = RT_MODEL_STAGES - 1; i > 0; i--)
        if ((st = rt_upsample_nearest_add(&lat[i], &lat[i - 1])) != RT_OK) return st;
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        rt_tensor p = T(s->pl[i], 1, s->p[i], RT_LAYOUT_NCHW8C);
        if ((st = rt_conv_forward(m->fpn[i], &lat[i], NULL, &p)) != RT_OK) return st;
    }
    for (int i = RT_MODEL_STAGES; i < m->nlevels; i++) {
        rt_tensor a = T(s->pl[i - 1], 1, s->p[i - 1], RT_LAYOUT_NCHW8C);
        rt_tensor b = T(s->pl[i], 1, s->p[i], RT_LAYOUT_NCHW8C);
        if ((st = rt_maxpool2d(&a, 1, 2, 0, &b)) != RT_OK) return st;
    }
    for (int i = 0; i < m->nlevels && s->probe; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i + 2);
        rt_tensor p = T(s->pl[i], 1, s->p[i], RT_LAYOUT_NCHW8C);
        probe_t(s, name, &p);
    }
    return RT_OK;
}

// Frame-level PCAM (§3.1) on the first pcam.levels pyramid levels, in place. The maps are
// blocked; the EM works on plain [C,N] copies.
static rt_status run_frame_pcam(rt_stream *s) {
    const rt_model_config *c = &s->m->cfg;
    const int C = c->fpn.out_channels, K = c->pcam.prototypes;
    rt_status st;
    for (int i = 0; i < c->pcam.levels; i++) {
        int N = s->p[i].h * s->p[i].w;
        size_t n = (size_t)C * N;
        rt_tensor blocked = T(s->pl[i], 1, s->p[i], RT_LAYOUT_NCHW8C);
        rt_tensor plain = T(s->pcam_plain, 1, s->p[i], RT_LAYOUT_NCHW);
        if ((st = rt_tensor_reorder(&blocked, &plain)) != RT_OK) return st;
        if (s->frame == 0) {
            memcpy(s->bank[i], s->pcam_plain, n * sizeof(float));
            memcpy(s->ustate[i], s->m->mu[i], (size_t)C * K * sizeof(float));
        }
        memcpy(s->pcam_protos, s->ustate[i], (size_t)C * K * sizeof(float));
        rt_em(s->bank[i], C, N, NULL, s->pcam_protos, K, c->pcam.iterations, EM_TEMPERATURE,
              s->pcam_work);
        rt_pcam_readout(s->pcam_plain, C, N, s->pcam_protos, K, s->pcam_r, s->pcam_work);
        rt_axpby(1 - FUSE_KEEP, s->pcam_r, FUSE_KEEP, s->pcam_plain, n);
        rt_axpby(FUSE_KEEP, s->pcam_plain, 1 - FUSE_KEEP, s->bank[i], n);
        rt_axpby(1 - INIT_KEEP, s->pcam_protos, INIT_KEEP, s->ustate[i], (size_t)C * K);
        if ((st = rt_tensor_reorder(&plain, &blocked)) != RT_OK) return st;
        if (s->probe) {
            char name[24];
            snprintf(name, sizeof name, "fused_p%d", i + 2);
            probe_t(s, name, &plain);
            snprintf(name, sizeof name, "bank_p%d", i + 2);
            probe_f(s, name, s->bank[i], 3, C, s->p[i].h, s->p[i].w, 0);
            snprintf(name, sizeof name, "frame_protos.%d", i);
            probe_f(s, name, s->pcam_protos, 2, C, K, 0, 0);
            snprintf(name, sizeof name, "frame_mus.%d", i);
            probe_f(s, name, s->ustate[i], 2, C, K, 0, 0);
        }
    }
    return RT_OK;
}

// RPN proposals (§A.2): per-level top nms_pre by score, decode, clip, NMS per level, top
// max_per_img. Returns the number of proposals.
static rt_status run_rpn(rt_stream *s, int *nprops) {
    const rt_model *m = s->m;
    const rt_model_config *c = &m->cfg;
    const int A = m->anchors_per_loc;
    rt_status st;
    int n = 0;
    for (int l = 0; l < m->nlevels; l++) {
        rt_tensor p = T(s->pl[l], 1, s->p[l], RT_LAYOUT_NCHW8C);
        shape fs = conv_out(m->rpn_conv, s->p[l]);
        rt_tensor f = T(s->rpn_feat, 1, fs, RT_LAYOUT_NCHW8C);
        rt_tensor cls_b = T(s->rpn_cls_b, 1, (shape){A, fs.h, fs.w}, RT_LAYOUT_NCHW8C);
        rt_tensor reg_b = T(s->rpn_reg_b, 1, (shape){4 * A, fs.h, fs.w}, RT_LAYOUT_NCHW8C);
        rt_tensor cls = T(s->rpn_cls, 1, (shape){A, fs.h, fs.w}, RT_LAYOUT_NCHW);
        rt_tensor reg = T(s->rpn_reg, 1, (shape){4 * A, fs.h, fs.w}, RT_LAYOUT_NCHW);
        if ((st = rt_conv_forward(m->rpn_conv, &p, NULL, &f)) != RT_OK ||
            (st = rt_conv_forward(m->rpn_cls, &f, NULL, &cls_b)) != RT_OK ||
            (st = rt_conv_forward(m->rpn_reg, &f, NULL, &reg_b)) != RT_OK ||
            (st = rt_tensor_reorder(&cls_b, &cls)) != RT_OK ||
            (st = rt_tensor_reorder(&reg_b, &reg)) != RT_OK)
            return st;
        int hw = fs.h * fs.w, total = hw * A;
        // scores in anchor order (y, x, a): permute [A,H,W] -> [H,W,A]
        float *scores = s->rpn_scores;
        for (int pos = 0; pos < hw; pos++)
            for (int a = 0; a < A; a++) scores[pos * A + a] = s->rpn_cls[a * hw + pos];
        rt_sigmoid(scores, scores, (size_t)total);
        int take = total;
        if (total > c->rpn.nms_pre) {
            rt_argsort_desc(scores, total, s->order, s->order_tmp);
            take = c->rpn.nms_pre;
        } else {
            for (int i = 0; i < total; i++) s->order[i] = i;
        }
        for (int k = 0; k < take; k++) {
            int idx = s->order[k], pos = idx / A, a = idx % A;
            s->cand_scores[n + k] = scores[idx];
            memcpy(&s->cand_anchor[(size_t)(n + k) * 4], &s->anchors[l][(size_t)idx * 4],
                   4 * sizeof(float));
            for (int j = 0; j < 4; j++)
                s->cand_delta[(size_t)(n + k) * 4 + j] = s->rpn_reg[(size_t)(4 * a + j) * hw + pos];
            s->cand_lvl[n + k] = l;
        }
        n += take;
    }
    static const float zero4[4] = {0, 0, 0, 0}, one4[4] = {1, 1, 1, 1};
    rt_delta_decode(s->cand_anchor, s->cand_delta, n, 1, zero4, one4, (float)s->pp.new_w,
                    (float)s->pp.new_h, s->cand_boxes);
    int kept = rt_nms(s->cand_boxes, s->cand_scores, s->cand_lvl, n, (float)c->rpn.nms_thr, s->keep,
                      s->nms_ws);
    kept = RT_MIN(kept, c->rpn.max_per_img);
    for (int i = 0; i < kept; i++) {
        memcpy(&s->props[(size_t)i * 4], &s->cand_boxes[(size_t)s->keep[i] * 4], 4 * sizeof(float));
        s->prop_scores[i] = s->cand_scores[s->keep[i]];
    }
    *nprops = kept;
    probe_f(s, "proposals", s->props, 2, kept, 4, 0, 0);
    probe_f(s, "proposal_scores", s->prop_scores, 1, kept, 0, 0, 0);
    return RT_OK;
}

static rt_status roi_extract(rt_stream *s, const float *boxes, int n, int size, float *out,
                             rt_layout layout) {
    const rt_model_config *c = &s->m->cfg;
    rt_tensor feats[RT_MODEL_STAGES];
    float strides[RT_MODEL_STAGES];
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        feats[i] = T(s->pl[i], 1, s->p[i], RT_LAYOUT_NCHW8C);
        strides[i] = (float)c->roi.featmap_strides[i];
    }
    rt_tensor o = T(out, n, (shape){c->fpn.out_channels, size, size}, layout);
    return rt_roi_align_fpn(feats, strides, RT_MODEL_STAGES, boxes, n, (float)c->roi.finest_scale,
                            0, &o, NULL);
}

// Box head and multiclass NMS: detections in original-image coordinates. Returns their count.
static rt_status run_box_head(rt_stream *s, int R, int *ndets) {
    const rt_model *m = s->m;
    const rt_model_config *c = &m->cfg;
    const int nc = m->nclasses;
    rt_status st;
    *ndets = 0;
    if (R == 0) return RT_OK;
    if ((st = roi_extract(s, s->props, R, c->roi.bbox_roi_size, s->roi7, RT_LAYOUT_NCHW)) != RT_OK)
        return st;
    const float *x = s->roi7;
    float *bufs[2] = {s->fc_a, s->fc_b};
    int in = c->fpn.out_channels * c->roi.bbox_roi_size * c->roi.bbox_roi_size;
    for (int i = 0; i < c->roi.bbox_num_fcs; i++) {
        rt_linear(x, R, in, m->bbox_fc[i].w, m->bbox_fc[i].b, m->bbox_fc[i].out, 1, bufs[i & 1]);
        x = bufs[i & 1];
        in = m->bbox_fc[i].out;
    }
    rt_linear(x, R, in, m->bbox_cls.w, m->bbox_cls.b, nc + 1, 0, s->cls);
    rt_linear(x, R, in, m->bbox_reg.w, m->bbox_reg.b, 4 * nc, 0, s->reg);
    rt_softmax(s->cls, (size_t)R, (size_t)nc + 1, 1);
    float stds[4], zero4[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4; k++) stds[k] = (float)c->roi.bbox_stds[k];
    rt_delta_decode(s->props, s->reg, R, nc, zero4, stds, (float)s->pp.new_w, (float)s->pp.new_h,
                    s->dec);
    const float *sf = s->pp.scale_factor;
    const int force = s->params.force_detections;
    const float thr = force ? -1.0f : (float)c->test.score_thr;
    int n = 0;
    for (int r = 0; r < R; r++)
        for (int k = 0; k < nc; k++) {
            float score = s->cls[(size_t)r * (nc + 1) + k];
            if (!(score > thr)) continue;
            const float *b = &s->dec[((size_t)r * nc + k) * 4];
            for (int j = 0; j < 4; j++) s->mc_boxes[(size_t)n * 4 + j] = b[j] / sf[j];
            s->mc_scores[n] = score;
            s->mc_labels[n] = k;
            n++;
        }
    if (n == 0) return RT_OK;
    int kept = rt_nms(s->mc_boxes, s->mc_scores, s->mc_labels, n, (float)c->test.nms_iou, s->keep,
                      s->nms_ws);
    kept = RT_MIN(kept, force ? RT_MIN(force, s->max_dets) : s->max_dets);
    for (int i = 0; i < kept; i++) {
        int k = s->keep[i];
        memcpy(&s->det_boxes[(size_t)i * 4], &s->mc_boxes[(size_t)k * 4], 4 * sizeof(float));
        s->det_scores[i] = s->mc_scores[k];
        s->det_labels[i] = s->mc_labels[k];
        for (int j = 0; j < 4; j++) s->net_boxes[i * 4 + j] = s->det_boxes[i * 4 + j] * sf[j];
    }
    *ndets = kept;
    probe_f(s, "det_bboxes", s->det_boxes, 2, kept, 4, 0, 0);
    probe_f(s, "det_scores", s->det_scores, 1, kept, 0, 0, 0);
    probe_raw(s, "det_labels", RT_PROBE_I32, s->det_labels, 1, (int[]){kept});
    return RT_OK;
}

// A chain of convolutions over a RoI batch, ping-ponging between two buffers; returns the last
// output tensor.
static rt_status conv_chain(rt_conv *const *convs, int nconv, rt_tensor in, float *a, float *b,
                            int n, rt_tensor *out, const rt_model *m, int track) {
    rt_status st;
    for (int i = 0; i < nconv; i++) {
        shape os = conv_out(convs[i], (shape){in.c, in.h, in.w});
        rt_tensor y = T(i & 1 ? b : a, n, os, RT_LAYOUT_NCHW8C);
        if ((st = rt_conv_forward(convs[i], &in, NULL, &y)) != RT_OK) return st;
        if (track && (st = rt_group_norm(&y, m->cfg.roi.track_gn_groups, m->track_gn_w[i],
                                         m->track_gn_b[i], 1e-5f, 1)) != RT_OK)
            return st;
        in = y;
    }
    *out = in;
    return RT_OK;
}

// y = relu(ConvTranspose2d 2x2 s2 (x) + b): per RoI, Y[(oc,i,j), pixel] = W·X[:, pixel], then
// each value goes to output pixel (2y+i, 2x+j). x and y blocked; plain copies in between.
static rt_status run_upsample(rt_stream *s, const rt_upsample2x *u, const rt_tensor *x,
                              rt_tensor *y) {
    const int n = x->n, h = x->h, w = x->w, hw = h * w;
    rt_status st;
    rt_tensor xp = T(s->up_in, n, (shape){u->in, h, w}, RT_LAYOUT_NCHW);
    rt_tensor yp = T(s->up_out, n, (shape){u->out, 2 * h, 2 * w}, RT_LAYOUT_NCHW);
    if ((st = rt_tensor_reorder(x, &xp)) != RT_OK) return st;
    for (int r = 0; r < n; r++) {
        rt_gemm(0, 0, 4 * u->out, hw, u->in, 1.0f, u->w, u->in, xp.data + (size_t)r * u->in * hw,
                hw, 0.0f, s->up_y, hw);
        for (int oc = 0; oc < u->out; oc++) {
            float *o = yp.data + ((size_t)r * u->out + oc) * 4 * hw;
            for (int k = 0; k < 4; k++) {
                const float *src = s->up_y + ((size_t)oc * 4 + k) * hw;
                int di = k >> 1, dj = k & 1;
                for (int py = 0; py < h; py++)
                    for (int px = 0; px < w; px++) {
                        float v = src[py * w + px] + u->b[oc];
                        o[(size_t)(2 * py + di) * 2 * w + 2 * px + dj] = v > 0.0f ? v : 0.0f;
                    }
            }
        }
    }
    return rt_tensor_reorder(&yp, y);
}

static rt_status run_mask_and_track(rt_stream *s, int n) {
    const rt_model *m = s->m;
    const rt_model_config *c = &m->cfg;
    const int C = c->fpn.out_channels, ms = c->roi.mask_roi_size, b7 = c->roi.bbox_roi_size;
    rt_status st;
    rt_tensor xb = T(s->mask_feats_b, n, (shape){C, ms, ms}, RT_LAYOUT_NCHW8C);
    rt_tensor xp = T(s->mask_feats, n, (shape){C, ms, ms}, RT_LAYOUT_NCHW), y;
    if ((st = roi_extract(s, s->net_boxes, n, ms, s->mask_feats_b, RT_LAYOUT_NCHW8C)) != RT_OK ||
        (st = rt_tensor_reorder(&xb, &xp)) != RT_OK)
        return st;
    if ((st = conv_chain(m->mask_convs, c->roi.mask_num_convs, xb, s->mh_a, s->mh_b, n, &y, m,
                         0)) != RT_OK)
        return st;
    rt_tensor up = T(s->mh_up, n, (shape){m->mask_up.out, 2 * y.h, 2 * y.w}, RT_LAYOUT_NCHW8C);
    shape ls = conv_out(m->mask_logits, (shape){up.c, up.h, up.w});
    rt_tensor lg = T(s->mask_pred_b, n, ls, RT_LAYOUT_NCHW8C);
    rt_tensor lp = T(s->mask_pred, n, ls, RT_LAYOUT_NCHW);
    if ((st = run_upsample(s, &m->mask_up, &y, &up)) != RT_OK ||
        (st = rt_conv_forward(m->mask_logits, &up, NULL, &lg)) != RT_OK ||
        (st = rt_tensor_reorder(&lg, &lp)) != RT_OK)
        return st;
    probe_t(s, "mask_feats", &xp);
    probe_t(s, "mask_pred", &lp);
    stage_done(s, RT_STAGE_MASK_HEAD);

    rt_tensor x = T(s->roi7, n, (shape){C, b7, b7}, RT_LAYOUT_NCHW8C);
    if ((st = roi_extract(s, s->net_boxes, n, b7, s->roi7, RT_LAYOUT_NCHW8C)) != RT_OK) return st;
    if ((st = conv_chain(m->track_convs, c->roi.track_num_convs, x, s->tr_a, s->tr_b, n, &y, m,
                         1)) != RT_OK)
        return st;
    rt_tensor flat = T(s->tr_plain, n, (shape){y.c, y.h, y.w}, RT_LAYOUT_NCHW);
    if ((st = rt_tensor_reorder(&y, &flat)) != RT_OK) return st;
    const float *f = flat.data;
    int in = y.c * y.h * y.w;
    float *bufs[2] = {s->tf_a, s->tf_b};
    for (int i = 0; i < c->roi.track_num_fcs; i++) {
        rt_linear(f, n, in, m->track_fc[i].w, m->track_fc[i].b, m->track_fc[i].out, 1, bufs[i & 1]);
        f = bufs[i & 1];
        in = m->track_fc[i].out;
    }
    rt_linear(f, n, in, m->track_embed.w, m->track_embed.b, c->roi.embed_channels, 0, s->embeds);
    probe_f(s, "embeds", s->embeds, 2, n, c->roi.embed_channels, 0, 0);
    stage_done(s, RT_STAGE_TRACK_HEAD);
    return RT_OK;
}

// Instance-level PCAM (§3.2) on the R kept detections; writes refine_pred [R,1,28,28] logits
// and advances the stream's pos_mu/neg_mu.
static rt_status run_refine(rt_stream *s, const rt_tracker_match_result *mr) {
    const rt_model *m = s->m;
    const rt_model_config *c = &m->cfg;
    const int C = c->fpn.out_channels, ms = c->roi.mask_roi_size, n14 = ms * ms, n28 = 4 * n14;
    const int nc = m->nclasses, kp = c->refine.pos_protos, kn = c->refine.neg_protos;
    const int R = mr->n, rc = c->refine.channels, stages = c->refine.stages;
    const size_t feat = (size_t)C * n14;
    rt_status st;
    for (int r = 0; r < R; r++) {
        int idx = mr->index[r], label = s->det_labels[idx];
        memcpy(s->xb + r * feat, s->mask_feats + (size_t)idx * feat, feat * sizeof(float));
        memcpy(s->xa + r * feat, mr->ref_mask_feat[r], feat * sizeof(float));
        memcpy(s->m28 + (size_t)r * n28, s->mask_pred + ((size_t)idx * nc + label) * n28,
               n28 * sizeof(float));
    }
    rt_tensor m28 = T(s->m28, R, (shape){1, 2 * ms, 2 * ms}, RT_LAYOUT_NCHW);
    rt_tensor m14b = T(s->m14b, R, (shape){1, ms, ms}, RT_LAYOUT_NCHW);
    if ((st = rt_resize_bilinear(&m28, &m14b)) != RT_OK) return st;
    for (int r = 0; r < R; r++) {
        int label = s->det_labels[mr->index[r]];
        memcpy(s->m28 + (size_t)r * n28, mr->ref_mask_pred[r] + (size_t)label * n28,
               n28 * sizeof(float));
    }
    rt_tensor m14a = T(s->m14a, R, (shape){1, ms, ms}, RT_LAYOUT_NCHW);
    if ((st = rt_resize_bilinear(&m28, &m14a)) != RT_OK) return st;
    // Binarise with the float32 sigmoid (tiny negative logits round to exactly 0.5).
    rt_sigmoid(s->m14a, s->ba, (size_t)R * n14);
    rt_sigmoid(s->m14b, s->bb, (size_t)R * n14);
    for (size_t i = 0; i < (size_t)R * n14; i++) {
        s->ba[i] = s->ba[i] >= 0.5f ? 1.0f : 0.0f;
        s->bb[i] = s->bb[i] >= 0.5f ? 1.0f : 0.0f;
    }
    for (int r = 0; r < R; r++)
        rt_masked_mean(s->xa + r * feat, C, n14, s->ba + (size_t)r * n14, 1e-5f,
                       s->ctxv + (size_t)r * C);
    rt_em_batch(s->xa, R, C, n14, s->ba, 0, s->pos_mu, s->pos_pre, kp, stages, EM_TEMPERATURE,
                s->em_work);
    rt_em_batch(s->xa, R, C, n14, s->ba, 1, s->neg_mu, s->neg_pre, kn, stages, EM_TEMPERATURE,
                s->em_work);
    if (s->probe) {
        probe_f(s, "ref_feats", s->xa, 4, R, C, ms, ms);
        probe_f(s, "refine_m_a", s->m14a, 3, R, ms, ms, 0);
        probe_f(s, "refine_m_b", s->m14b, 3, R, ms, ms, 0);
        probe_f(s, "refine_context", s->ctxv, 2, R, C, 0, 0);
        probe_f(s, "refine_pos_pre", s->pos_pre, 3, R, C, kp, 0);
        probe_f(s, "refine_neg_pre", s->neg_pre, 3, R, C, kn, 0);
    }
    memcpy(s->pos, s->pos_pre, (size_t)R * C * kp * sizeof(float));
    memcpy(s->neg, s->neg_pre, (size_t)R * C * kn * sizeof(float));
    rt_em_batch(s->xb, R, C, n14, s->bb, 0, NULL, s->pos, kp, stages, EM_TEMPERATURE, s->em_work);
    rt_em_batch(s->xb, R, C, n14, s->bb, 1, NULL, s->neg, kn, stages, EM_TEMPERATURE, s->em_work);

    // Momentum update of the buffers (used from the next frame on): mean over RoIs in order.
    float *buf[2] = {s->pos_mu, s->neg_mu};
    const float *src[2] = {s->pos, s->neg};
    int ks[2] = {kp, kn};
    for (int b = 0; b < 2; b++) {
        size_t len = (size_t)C * ks[b];
        memset(s->mu_mean, 0, len * sizeof(float));
        for (int r = 0; r < R; r++)
            for (size_t i = 0; i < len; i++) s->mu_mean[i] += src[b][r * len + i];
        for (size_t i = 0; i < len; i++)
            buf[b][i] =
                buf[b][i] * REFINE_MOMENTUM + (s->mu_mean[i] / (float)R) * (1 - REFINE_MOMENTUM);
    }

    if (s->probe) {
        probe_f(s, "refine_pos", s->pos, 3, R, C, kp, 0);
        probe_f(s, "refine_neg", s->neg, 3, R, C, kn, 0);
        probe_f(s, "refine_pos_mu", s->pos_mu, 2, C, kp, 0, 0);
        probe_f(s, "refine_neg_mu", s->neg_mu, 2, C, kn, 0, 0);
    }
    // Foreground/background attention maps and the 259-channel input.
    for (int r = 0; r < R; r++) {
        for (int ch = 0; ch < C; ch++) {
            memcpy(s->mucat + (size_t)ch * (kp + kn), s->pos + ((size_t)r * C + ch) * kp,
                   kp * sizeof(float));
            memcpy(s->mucat + (size_t)ch * (kp + kn) + kp, s->neg + ((size_t)r * C + ch) * kn,
                   kn * sizeof(float));
        }
        rt_pcam_fg_bg(s->xb + r * feat, C, n14, s->mucat, kp, kn, s->pz + (size_t)r * n14,
                      s->nz + (size_t)r * n14, s->em_work);
        float *x = s->x259 + (size_t)r * (C + 3) * n14;
        memcpy(x, s->xb + r * feat, feat * sizeof(float));
        memcpy(x + feat, s->pz + (size_t)r * n14, n14 * sizeof(float));
        memcpy(x + feat + n14, s->nz + (size_t)r * n14, n14 * sizeof(float));
        memcpy(x + feat + 2 * n14, s->m14b + (size_t)r * n14, n14 * sizeof(float));
    }
    rt_tensor xp = T(s->x259, R, (shape){C + 3, ms, ms}, RT_LAYOUT_NCHW);
    rt_tensor x = T(s->x259_b, R, (shape){C + 3, ms, ms}, RT_LAYOUT_NCHW8C);
    rt_tensor y1 = T(s->r1, R, (shape){rc, ms, ms}, RT_LAYOUT_NCHW8C);
    if ((st = rt_tensor_reorder(&xp, &x)) != RT_OK ||
        (st = rt_conv_forward(m->ref_conv1, &x, NULL, &y1)) != RT_OK)
        return st;
    // + conv2(context), broadcast over the RoI, in the blocked layout
    rt_linear(s->ctxv, R, C, m->ref_conv2.w, m->ref_conv2.b, rc, 0, s->ctx);
    const int nb = rt_tensor_cpad(&y1) / RT_BLOCK;
    for (int r = 0; r < R; r++)
        for (int ch = 0; ch < rc; ch++) {
            float v = s->ctx[(size_t)r * rc + ch];
            float *p = s->r1 + (((size_t)r * nb + ch / RT_BLOCK) * n14) * RT_BLOCK + ch % RT_BLOCK;
            for (int i = 0; i < n14; i++) p[(size_t)i * RT_BLOCK] += v;
        }
    rt_tensor y;
    if ((st = conv_chain(m->ref_convs, c->refine.num_convs - 1, y1, s->r2, s->r3, R, &y, m, 0)) !=
        RT_OK)
        return st;
    rt_tensor up = T(s->rup, R, (shape){m->ref_up.out, 2 * y.h, 2 * y.w}, RT_LAYOUT_NCHW8C);
    rt_tensor lg = T(s->rlog_b, R, (shape){1, 2 * ms, 2 * ms}, RT_LAYOUT_NCHW8C);
    rt_tensor lp = T(s->refine_pred, R, (shape){1, 2 * ms, 2 * ms}, RT_LAYOUT_NCHW);
    if ((st = run_upsample(s, &m->ref_up, &y, &up)) != RT_OK ||
        (st = rt_conv_forward(m->ref_logits, &up, NULL, &lg)) != RT_OK ||
        (st = rt_tensor_reorder(&lg, &lp)) != RT_OK)
        return st;
    probe_f(s, "refine_pos_z", s->pz, 3, R, ms, ms, 0);
    probe_f(s, "refine_logits", s->refine_pred, 3, R, 2 * ms, 2 * ms, 0);
    if (!s->params.refine_head) {
        for (int r = 0; r < R; r++) {
            int idx = mr->index[r], label = s->det_labels[idx];
            memcpy(s->refine_pred + (size_t)r * n28, s->mask_pred + ((size_t)idx * nc + label) * n28,
                   n28 * sizeof(float));
        }
    }
    probe_f(s, "mask_final", s->refine_pred, 3, R, 2 * ms, 2 * ms, 0);
    return RT_OK;
}

static int cmp_result(const void *a, const void *b) {
    const rt_result *x = a, *y = b;
    return (x->track_id > y->track_id) - (x->track_id < y->track_id);
}

// Pastes the refined masks of tracked detections and fills the results.
static rt_status emit_results(rt_stream *s, const rt_tracker_match_result *mr) {
    const rt_model_config *c = &s->m->cfg;
    const int n28 = 4 * c->roi.mask_roi_size * c->roi.mask_roi_size,
              side = 2 * c->roi.mask_roi_size;
    const float *sf = s->pp.scale_factor;
    int k = 0;
    for (int r = 0; r < mr->n; r++) {
        if (mr->ids[r] < 0) continue;
        int idx = mr->index[r];
        rt_result *it = &s->items[k++];
        it->track_id = mr->ids[r] + 1;
        it->label = (int16_t)s->det_labels[idx];
        it->score = s->det_scores[idx];
        float box[4];
        for (int j = 0; j < 4; j++) {
            it->box[j] = s->det_boxes[idx * 4 + j];
            box[j] = (it->box[j] * sf[j]) / sf[j]; // as simple_test_refine pastes
        }
        rt_sigmoid(s->refine_pred + (size_t)r * n28, s->prob, (size_t)n28);
        rt_mask_paste(s->prob, side, side, box, s->src_h, s->src_w, (float)c->test.mask_thr,
                      s->mask_img);
        rt_status st =
            rt_rle_encode(&it->mask, s->mask_img, (uint32_t)s->src_h, (uint32_t)s->src_w);
        if (st != RT_OK) return st;
    }
    qsort(s->items, (size_t)k, sizeof *s->items, cmp_result);
    s->results.count = k;
    return RT_OK;
}

rt_status rt_stream_step(rt_stream *s, const rt_image *frame, const rt_frame_results **out) {
    rt_status st;
    *out = NULL;
    if (!frame || !frame->rgb || frame->width < 1 || frame->height < 1 ||
        frame->stride < frame->width * 3)
        return rt_error_set(RT_ERR_INVAL, "frame %d: bad image", s->frame);
    const rt_model_params *mp = &s->m->params;
    if ((mp->max_width && frame->width > mp->max_width) ||
        (mp->max_height && frame->height > mp->max_height))
        return rt_error_set(RT_ERR_INVAL, "frame %d is %dx%d, larger than the %dx%d allowed",
                            s->frame, frame->width, frame->height, mp->max_width, mp->max_height);
    if (!s->src_w) {
        if ((st = stream_setup(s, frame->width, frame->height)) != RT_OK) return st;
    } else if (frame->width != s->src_w || frame->height != s->src_h) {
        return rt_error_set(RT_ERR_INVAL, "frame %d is %dx%d; the video started at %dx%d", s->frame,
                            frame->width, frame->height, s->src_w, s->src_h);
    }
    s->t_mark = rt_now();
    memset(s->stage_s, 0, sizeof s->stage_s);
    rt_preprocess_run(&s->pp, frame, s->input);
    probe_f(s, "input", s->input, 3, 3, s->H, s->W, 0);
    stage_done(s, RT_STAGE_PREPROCESS);
    if ((st = run_backbone(s)) != RT_OK) return st;
    stage_done(s, RT_STAGE_BACKBONE);
    if ((st = run_fpn(s)) != RT_OK) return st;
    stage_done(s, RT_STAGE_FPN);
    if ((st = run_frame_pcam(s)) != RT_OK) return st;
    stage_done(s, RT_STAGE_PCAM);
    int nprops, n;
    if ((st = run_rpn(s, &nprops)) != RT_OK) return st;
    stage_done(s, RT_STAGE_RPN);
    if ((st = run_box_head(s, nprops, &n)) != RT_OK) return st;
    stage_done(s, RT_STAGE_BOX_HEAD);
    s->results.frame = s->frame;
    s->results.count = 0;
    s->results.items = s->items;
    if (n > 0) {
        // Without detections the tracker is neither matched nor updated (§2 step 7).
        if ((st = run_mask_and_track(s, n)) != RT_OK) return st;
        rt_tracker_dets d = {n,         s->det_boxes,  s->det_scores, s->det_labels,
                             s->embeds, s->mask_feats, s->mask_pred};
        rt_tracker_match_result mr;
        if ((st = rt_tracker_match(s->tracker, s->frame, &d, &mr)) != RT_OK) return st;
        if (s->probe) {
            int rows, cols;
            const float *sc = rt_tracker_last_scores(s->tracker, &rows, &cols);
            probe_raw(s, "track_order", RT_PROBE_I32, mr.sorted, 1, &n);
            probe_raw(s, "track_valid", RT_PROBE_U8, mr.valid, 1, &n);
            probe_raw(s, "track_index", RT_PROBE_I32, mr.index, 1, &mr.n);
            probe_raw(s, "track_ids", RT_PROBE_I32, mr.ids, 1, &mr.n);
            if (sc) probe_f(s, "match_scores", sc, 2, rows, cols, 0, 0);
        }
        stage_done(s, RT_STAGE_TRACKER);
        if (mr.n > 0 && (st = run_refine(s, &mr)) != RT_OK) return st;
        stage_done(s, RT_STAGE_REFINE);
        if ((st = emit_results(s, &mr)) != RT_OK) return st;
        stage_done(s, RT_STAGE_PASTE);
        if ((st = rt_tracker_update(s->tracker, s->frame, &d, s->refine_pred)) != RT_OK) return st;
        stage_done(s, RT_STAGE_TRACKER);
    }
    s->frame++;
    *out = &s->results;
    return RT_OK;
}
