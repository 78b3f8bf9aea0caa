// Loading a PCAN model: every tensor of the weight file becomes a layer (convolutions with
// BatchNorm folded, reordered once by oneDNN; fully connected layers and buffers copied), then
// the file is closed.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/model_internal.h"
#include "runtime/weights.h"

rt_model_params rt_model_default_params(void) {
    rt_model_params p;
    p.score_thr = p.nms_iou = p.mask_thr = NAN;
    p.max_per_img = -1;
    p.init_score_thr = p.obj_score_thr = p.match_score_thr = p.memo_momentum = NAN;
    p.memo_tracklet_frames = p.memo_backdrop_frames = -1;
    p.max_width = p.max_height = 0;
    return p;
}

static float *copy_floats(const float *src, size_t n) {
    float *d = rt_malloc(n * sizeof *d);
    if (d) memcpy(d, src, n * sizeof *d);
    return d;
}

static rt_status load_fc(rt_weights *w, const char *prefix, int in, int out, rt_fc *fc) {
    char key[RT_WEIGHTS_KEY_MAX];
    const float *wt, *b;
    snprintf(key, sizeof key, "%s.weight", prefix);
    rt_status st = rt_weights_get(w, key, 2, (const int64_t[]){out, in}, &wt);
    if (st != RT_OK) return st;
    snprintf(key, sizeof key, "%s.bias", prefix);
    if ((st = rt_weights_get(w, key, 1, (const int64_t[]){out}, &b)) != RT_OK) return st;
    fc->in = in;
    fc->out = out;
    fc->w = copy_floats(wt, (size_t)in * out);
    fc->b = copy_floats(b, (size_t)out);
    if (!fc->w || !fc->b) return rt_error_set(RT_ERR_NOMEM, "out of memory loading %s", prefix);
    return RT_OK;
}

// ConvTranspose2d(in, out, 2, stride 2): weight [in,out,2,2], bias [out].
static rt_status load_upsample(rt_weights *w, const char *prefix, int in, int out,
                               rt_upsample2x *u) {
    char key[RT_WEIGHTS_KEY_MAX];
    const float *wt, *b;
    snprintf(key, sizeof key, "%s.weight", prefix);
    rt_status st = rt_weights_get(w, key, 4, (const int64_t[]){in, out, 2, 2}, &wt);
    if (st != RT_OK) return st;
    snprintf(key, sizeof key, "%s.bias", prefix);
    if ((st = rt_weights_get(w, key, 1, (const int64_t[]){out}, &b)) != RT_OK) return st;
    u->in = in;
    u->out = out;
    u->w = rt_malloc((size_t)in * out * 4 * sizeof *u->w);
    u->b = copy_floats(b, (size_t)out);
    if (!u->w || !u->b) return rt_error_set(RT_ERR_NOMEM, "out of memory loading %s", prefix);
    for (int ic = 0; ic < in; ic++)
        for (int oc = 0; oc < out; oc++)
            for (int k = 0; k < 4; k++)
                u->w[((size_t)oc * 4 + k) * in + ic] = wt[((size_t)ic * out + oc) * 4 + k];
    return RT_OK;
}

static void free_upsample(rt_upsample2x *u) {
    rt_free(u->w);
    rt_free(u->b);
    memset(u, 0, sizeof *u);
}

static void free_fc(rt_fc *fc) {
    rt_free(fc->w);
    rt_free(fc->b);
    memset(fc, 0, sizeof *fc);
}

// Every layer reads and writes oneDNN's blocked layout: a plain input or output would send
// oneDNN to its reference kernels (measured ~100x slower); stream.c reorders at the few places
// where our own code needs plain matrices.
typedef struct conv_spec {
    int in, out, k, stride, pad, relu, residual, transposed, chunk;
} conv_spec;

static rt_status make_conv(const conv_spec *s, const char *name, const float *wt, const float *b,
                           rt_conv **out) {
    rt_conv_params p = rt_conv_default_params();
    p.in_channels = s->in;
    p.out_channels = s->out;
    p.kernel_h = p.kernel_w = s->k;
    p.stride = s->stride ? s->stride : 1;
    p.pad = s->pad;
    p.relu = s->relu;
    p.residual = s->residual;
    p.transposed = s->transposed;
    p.batch_chunk = s->chunk;
    p.out_layout = RT_LAYOUT_NCHW8C; // oneDNN zeroes the padding lanes of blocked outputs
    p.name = name;
    return rt_conv_init(out, &p, wt, b);
}

// A convolution with a bias (keys <prefix>.weight/.bias).
static rt_status load_conv(rt_weights *w, const char *prefix, const conv_spec *s, rt_conv **out) {
    char key[RT_WEIGHTS_KEY_MAX];
    const float *wt, *b = NULL;
    int64_t shape[4] = {s->out, s->in, s->k, s->k};
    if (s->transposed) shape[0] = s->in, shape[1] = s->out;
    snprintf(key, sizeof key, "%s.weight", prefix);
    rt_status st = rt_weights_get(w, key, 4, shape, &wt);
    if (st != RT_OK) return st;
    snprintf(key, sizeof key, "%s.bias", prefix);
    if ((st = rt_weights_get(w, key, 1, (const int64_t[]){s->out}, &b)) != RT_OK) return st;
    return make_conv(s, prefix, wt, b, out);
}

// A convolution without bias followed by BatchNorm, folded (weights.h).
static rt_status load_conv_bn(rt_weights *w, const char *conv, const char *bn, const conv_spec *s,
                              rt_conv **out) {
    size_t n = (size_t)s->out * s->in * s->k * s->k;
    float *wt = rt_malloc(n * sizeof *wt), *b = rt_malloc((size_t)s->out * sizeof *b);
    rt_status st;
    if (!wt || !b)
        st = rt_error_set(RT_ERR_NOMEM, "out of memory loading %s", conv);
    else if ((st = rt_weights_get_conv_bn(w, conv, bn, s->out, s->in, s->k, s->k, wt, b)) == RT_OK)
        st = make_conv(s, conv, wt, b, out);
    rt_free(wt);
    rt_free(b);
    return st;
}

static rt_status load_backbone(rt_model *m, rt_weights *w) {
    const rt_model_config *c = &m->cfg;
    char a[RT_WEIGHTS_KEY_MAX], b[RT_WEIGHTS_KEY_MAX];
    conv_spec s = {3, c->backbone.stem_channels, 7, 2, 3, 1, 0, 0, 0};
    rt_status st = load_conv_bn(w, "backbone.conv1", "backbone.bn1", &s, &m->stem);
    if (st != RT_OK) return st;
    int in = c->backbone.stem_channels;
    for (int l = 0; l < RT_MODEL_STAGES; l++) {
        int planes = c->backbone.base_channels << l, out = 4 * planes;
        for (int k = 0; k < c->backbone.stage_blocks[l]; k++) {
            if (m->nblocks == RT_MAX_BLOCKS)
                return rt_error_set(RT_ERR_CONFIG, "more than %d backbone blocks", RT_MAX_BLOCKS);
            rt_block *blk = &m->blocks[m->nblocks++];
            blk->stage = l;
            blk->stride = k == 0 && l > 0 ? 2 : 1;
            conv_spec s1 = {in, planes, 1, 1, 0, 1, 0, 0, 0};
            conv_spec s2 = {planes, planes, 3, blk->stride, 1, 1, 0, 0, 0};
            conv_spec s3 = {planes, out, 1, 1, 0, 1, 1, 0, 0};
            for (int j = 1; j <= 3; j++) {
                snprintf(a, sizeof a, "backbone.layer%d.%d.conv%d", l + 1, k, j);
                snprintf(b, sizeof b, "backbone.layer%d.%d.bn%d", l + 1, k, j);
                rt_conv **dst = j == 1 ? &blk->conv1 : j == 2 ? &blk->conv2 : &blk->conv3;
                if ((st = load_conv_bn(w, a, b, j == 1 ? &s1 : j == 2 ? &s2 : &s3, dst)) != RT_OK)
                    return st;
            }
            if (k == 0 && (l > 0 || in != out)) {
                conv_spec sd = {in, out, 1, blk->stride, 0, 0, 0, 0, 0};
                snprintf(a, sizeof a, "backbone.layer%d.%d.downsample.0", l + 1, k);
                snprintf(b, sizeof b, "backbone.layer%d.%d.downsample.1", l + 1, k);
                if ((st = load_conv_bn(w, a, b, &sd, &blk->down)) != RT_OK) return st;
            }
            in = out;
        }
    }
    return RT_OK;
}

static rt_status load_neck_rpn(rt_model *m, rt_weights *w) {
    const rt_model_config *c = &m->cfg;
    char p[RT_WEIGHTS_KEY_MAX];
    int C = c->fpn.out_channels;
    rt_status st;
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        conv_spec lat = {c->fpn.in_channels[i], C, 1, 1, 0, 0, 0, 0, 0};
        snprintf(p, sizeof p, "neck.lateral_convs.%d.conv", i);
        if ((st = load_conv(w, p, &lat, &m->lateral[i])) != RT_OK) return st;
        conv_spec out = {C, C, 3, 1, 1, 0, 0, 0, 0};
        snprintf(p, sizeof p, "neck.fpn_convs.%d.conv", i);
        if ((st = load_conv(w, p, &out, &m->fpn[i])) != RT_OK) return st;
    }
    int F = c->rpn.feat_channels, A = c->rpn.num_anchor_scales * c->rpn.num_anchor_ratios;
    m->anchors_per_loc = A;
    conv_spec rc = {C, F, 3, 1, 1, 1, 0, 0, 0};
    conv_spec cls = {F, A, 1, 1, 0, 0, 0, 0, 0};
    conv_spec reg = {F, 4 * A, 1, 1, 0, 0, 0, 0, 0};
    if ((st = load_conv(w, "rpn_head.rpn_conv", &rc, &m->rpn_conv)) != RT_OK ||
        (st = load_conv(w, "rpn_head.rpn_cls", &cls, &m->rpn_cls)) != RT_OK ||
        (st = load_conv(w, "rpn_head.rpn_reg", &reg, &m->rpn_reg)) != RT_OK)
        return st;
    int K = c->pcam.prototypes;
    for (int i = 0; i < RT_MODEL_FRAME_PROTO_BUFFERS; i++) {
        char key[8];
        snprintf(key, sizeof key, "mu%d", i);
        if (i >= c->pcam.levels) {
            if ((st = rt_weights_skip(w, key)) != RT_OK) return st;
            continue;
        }
        const float *mu;
        if ((st = rt_weights_get(w, key, 3, (const int64_t[]){1, C, K}, &mu)) != RT_OK) return st;
        if (!(m->mu[i] = copy_floats(mu, (size_t)C * K)))
            return rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    return RT_OK;
}

static rt_status load_heads(rt_model *m, rt_weights *w) {
    const rt_model_config *c = &m->cfg;
    const int C = c->fpn.out_channels, nc = m->nclasses;
    char p[RT_WEIGHTS_KEY_MAX];
    rt_status st;
    int r7 = c->roi.bbox_roi_size * c->roi.bbox_roi_size;
    if (c->roi.bbox_num_fcs > RT_MAX_HEAD_CONVS || c->roi.mask_num_convs > RT_MAX_HEAD_CONVS ||
        c->roi.track_num_convs > RT_MAX_HEAD_CONVS || c->roi.track_num_fcs > RT_MAX_HEAD_CONVS ||
        c->refine.num_convs > RT_MAX_HEAD_CONVS)
        return rt_error_set(RT_ERR_CONFIG, "more than %d layers in a RoI head", RT_MAX_HEAD_CONVS);

    int in = C * r7, fcw = c->roi.bbox_fc_channels;
    for (int i = 0; i < c->roi.bbox_num_fcs; i++) {
        snprintf(p, sizeof p, "roi_head.bbox_head.shared_fcs.%d", i);
        if ((st = load_fc(w, p, i ? fcw : in, fcw, &m->bbox_fc[i])) != RT_OK) return st;
    }
    int last = c->roi.bbox_num_fcs ? fcw : in;
    if ((st = load_fc(w, "roi_head.bbox_head.fc_cls", last, nc + 1, &m->bbox_cls)) != RT_OK ||
        (st = load_fc(w, "roi_head.bbox_head.fc_reg", last, 4 * nc, &m->bbox_reg)) != RT_OK)
        return st;

    int mc = c->roi.mask_channels;
    for (int i = 0; i < c->roi.mask_num_convs; i++) {
        conv_spec s = {i ? mc : C, mc, 3, 1, 1, 1, 0, 0, RT_ROI_BATCH_CHUNK};
        snprintf(p, sizeof p, "roi_head.mask_head.convs.%d.conv", i);
        if ((st = load_conv(w, p, &s, &m->mask_convs[i])) != RT_OK) return st;
    }
    int min = c->roi.mask_num_convs ? mc : C;
    conv_spec lg = {mc, nc, 1, 1, 0, 0, 0, 0, RT_ROI_BATCH_CHUNK};
    if ((st = load_upsample(w, "roi_head.mask_head.upsample", min, mc, &m->mask_up)) != RT_OK ||
        (st = load_conv(w, "roi_head.mask_head.conv_logits", &lg, &m->mask_logits)) != RT_OK)
        return st;

    int tc = c->roi.track_channels;
    for (int i = 0; i < c->roi.track_num_convs; i++) {
        // No bias: GroupNorm follows.
        conv_spec s = {i ? tc : C, tc, 3, 1, 1, 0, 0, 0, RT_ROI_BATCH_CHUNK};
        const float *wt, *g, *b;
        snprintf(p, sizeof p, "roi_head.track_head.convs.%d.conv.weight", i);
        if ((st = rt_weights_get(w, p, 4, (const int64_t[]){tc, s.in, 3, 3}, &wt)) != RT_OK)
            return st;
        snprintf(p, sizeof p, "roi_head.track_head.convs.%d.gn.weight", i);
        if ((st = rt_weights_get(w, p, 1, (const int64_t[]){tc}, &g)) != RT_OK) return st;
        snprintf(p, sizeof p, "roi_head.track_head.convs.%d.gn.bias", i);
        if ((st = rt_weights_get(w, p, 1, (const int64_t[]){tc}, &b)) != RT_OK) return st;
        snprintf(p, sizeof p, "roi_head.track_head.convs.%d", i);
        if ((st = make_conv(&s, p, wt, NULL, &m->track_convs[i])) != RT_OK) return st;
        m->track_gn_w[i] = copy_floats(g, (size_t)tc);
        m->track_gn_b[i] = copy_floats(b, (size_t)tc);
        if (!m->track_gn_w[i] || !m->track_gn_b[i])
            return rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    int flat = (c->roi.track_num_convs ? tc : C) * r7, tf = c->roi.track_fc_channels;
    for (int i = 0; i < c->roi.track_num_fcs; i++) {
        snprintf(p, sizeof p, "roi_head.track_head.fcs.%d", i);
        if ((st = load_fc(w, p, i ? tf : flat, tf, &m->track_fc[i])) != RT_OK) return st;
    }
    if ((st = load_fc(w, "roi_head.track_head.fc_embed", c->roi.track_num_fcs ? tf : flat,
                      c->roi.embed_channels, &m->track_embed)) != RT_OK)
        return st;

    int rc = c->refine.channels, kp = c->refine.pos_protos, kn = c->refine.neg_protos;
    const float *mu;
    if ((st = rt_weights_get(w, "roi_head.refine_head.pos_mu", 3, (const int64_t[]){1, C, kp},
                             &mu)) != RT_OK)
        return st;
    if (!(m->pos_mu = copy_floats(mu, (size_t)C * kp))) return rt_error_set(RT_ERR_NOMEM, "oom");
    if ((st = rt_weights_get(w, "roi_head.refine_head.neg_mu", 3, (const int64_t[]){1, C, kn},
                             &mu)) != RT_OK)
        return st;
    if (!(m->neg_mu = copy_floats(mu, (size_t)C * kn))) return rt_error_set(RT_ERR_NOMEM, "oom");
    conv_spec c1 = {C + 3, rc, 3, 1, 1, 0, 0, 0, RT_ROI_BATCH_CHUNK};
    if ((st = load_conv(w, "roi_head.refine_head.conv1.conv", &c1, &m->ref_conv1)) != RT_OK)
        return st;
    {
        const float *wt, *b;
        if ((st = rt_weights_get(w, "roi_head.refine_head.conv2.conv.weight", 4,
                                 (const int64_t[]){rc, C, 1, 1}, &wt)) != RT_OK ||
            (st = rt_weights_get(w, "roi_head.refine_head.conv2.conv.bias", 1,
                                 (const int64_t[]){rc}, &b)) != RT_OK)
            return st;
        m->ref_conv2.in = C;
        m->ref_conv2.out = rc;
        m->ref_conv2.w = copy_floats(wt, (size_t)rc * C);
        m->ref_conv2.b = copy_floats(b, (size_t)rc);
        if (!m->ref_conv2.w || !m->ref_conv2.b) return rt_error_set(RT_ERR_NOMEM, "oom");
    }
    for (int i = 0; i < c->refine.num_convs - 1; i++) {
        conv_spec s = {rc, rc, 3, 1, 1, 1, 0, 0, RT_ROI_BATCH_CHUNK};
        snprintf(p, sizeof p, "roi_head.refine_head.convs.%d.conv", i);
        if ((st = load_conv(w, p, &s, &m->ref_convs[i])) != RT_OK) return st;
    }
    conv_spec rlg = {rc, 1, 1, 1, 0, 0, 0, 0, RT_ROI_BATCH_CHUNK};
    if ((st = load_upsample(w, "roi_head.refine_head.upsample", rc, rc, &m->ref_up)) != RT_OK ||
        (st = load_conv(w, "roi_head.refine_head.conv_logits", &rlg, &m->ref_logits)) != RT_OK)
        return st;
    return RT_OK;
}

// Job overrides of the weights' test and tracker settings.
static rt_status apply_params(rt_model *m, const rt_model_params *p) {
    rt_model_config *c = &m->cfg;
    if (!isnan(p->score_thr)) c->test.score_thr = p->score_thr;
    if (!isnan(p->nms_iou)) c->test.nms_iou = p->nms_iou;
    if (!isnan(p->mask_thr)) c->test.mask_thr = p->mask_thr;
    if (p->max_per_img >= 0) c->test.max_per_img = p->max_per_img;
    if (!isnan(p->init_score_thr)) c->tracker.init_score_thr = p->init_score_thr;
    if (!isnan(p->obj_score_thr)) c->tracker.obj_score_thr = p->obj_score_thr;
    if (!isnan(p->match_score_thr)) c->tracker.match_score_thr = p->match_score_thr;
    if (!isnan(p->memo_momentum)) c->tracker.memo_momentum = p->memo_momentum;
    if (p->memo_tracklet_frames >= 0) c->tracker.memo_tracklet_frames = p->memo_tracklet_frames;
    if (p->memo_backdrop_frames >= 0) c->tracker.memo_backdrop_frames = p->memo_backdrop_frames;
    m->params = *p;
    return rt_model_config_validate(c);
}

rt_status rt_model_open(const char *path, const rt_model_params *params, rt_model **out) {
    rt_weights *w = NULL;
    rt_model *m = NULL;
    rt_status st;
    *out = NULL;
    if ((st = rt_weights_open(path, &w)) != RT_OK) return st;
    if ((st = rt_weights_validate(w)) != RT_OK) goto fail;
    if (!(m = rt_calloc(1, sizeof *m))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    m->cfg = *rt_weights_config(w);
    m->nclasses = m->cfg.num_classes;
    m->nlevels = m->cfg.fpn.num_outs;
    snprintf(m->name, sizeof m->name, "%s", rt_weights_name(w));
    snprintf(m->sha256, sizeof m->sha256, "%s", rt_weights_sha256(w));
    rt_model_params def = rt_model_default_params();
    if ((st = apply_params(m, params ? params : &def)) != RT_OK) {
        rt_error_wrap(st, "%s: job settings", path);
        goto fail;
    }
    if ((st = load_backbone(m, w)) != RT_OK || (st = load_neck_rpn(m, w)) != RT_OK ||
        (st = load_heads(m, w)) != RT_OK || (st = rt_weights_check_all_used(w)) != RT_OK) {
        rt_error_wrap(st, "%s", path);
        goto fail;
    }
    rt_weights_close(&w);
    *out = m;
    return RT_OK;
fail:
    rt_model_close(&m);
    rt_weights_close(&w);
    return st;
}

void rt_model_close(rt_model **mp) {
    rt_model *m = mp ? *mp : NULL;
    if (!m) return;
    rt_conv_free(&m->stem);
    for (int i = 0; i < m->nblocks; i++) {
        rt_conv_free(&m->blocks[i].conv1);
        rt_conv_free(&m->blocks[i].conv2);
        rt_conv_free(&m->blocks[i].conv3);
        rt_conv_free(&m->blocks[i].down);
    }
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        rt_conv_free(&m->lateral[i]);
        rt_conv_free(&m->fpn[i]);
    }
    rt_conv_free(&m->rpn_conv);
    rt_conv_free(&m->rpn_cls);
    rt_conv_free(&m->rpn_reg);
    for (int i = 0; i < RT_MODEL_FRAME_PROTO_BUFFERS; i++) rt_free(m->mu[i]);
    for (int i = 0; i < RT_MAX_HEAD_CONVS; i++) {
        free_fc(&m->bbox_fc[i]);
        rt_conv_free(&m->mask_convs[i]);
        rt_conv_free(&m->track_convs[i]);
        rt_free(m->track_gn_w[i]);
        rt_free(m->track_gn_b[i]);
        free_fc(&m->track_fc[i]);
        rt_conv_free(&m->ref_convs[i]);
    }
    free_fc(&m->bbox_cls);
    free_fc(&m->bbox_reg);
    free_upsample(&m->mask_up);
    rt_conv_free(&m->mask_logits);
    free_fc(&m->track_embed);
    rt_conv_free(&m->ref_conv1);
    free_fc(&m->ref_conv2);
    free_upsample(&m->ref_up);
    rt_conv_free(&m->ref_logits);
    rt_free(m->pos_mu);
    rt_free(m->neg_mu);
    rt_free(m);
    *mp = NULL;
}

int rt_model_num_classes(const rt_model *m) { return m->nclasses; }

const char *rt_model_class_name(const rt_model *m, int label) {
    return label >= 0 && label < m->nclasses ? m->cfg.classes[label] : "?";
}

const char *rt_model_name(const rt_model *m) { return m->name; }
const char *rt_model_sha256(const rt_model *m) { return m->sha256; }
const rt_model_config *rt_model_config_of(const rt_model *m) { return &m->cfg; }
