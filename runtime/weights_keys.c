// rt_weights_expected: the state_dict of the released PCAN model (mmdet 2.10 module tree,
// PCAN-FACTS §6.2), computed from a config. Order is PyTorch's: a module's own parameters and
// buffers before its children, children in construction order.
#include "runtime/weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct builder {
    rt_weight_spec *specs;
    int n, cap;
    bool nomem;
} builder;

static void __attribute__((format(printf, 4, 5)))
add(builder *b, rt_dtype dtype, const int64_t *dims_and_ndim, const char *fmt, ...) {
    if (b->nomem) return;
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 512;
        rt_weight_spec *p = rt_realloc(b->specs, (size_t)cap * sizeof *p);
        if (!p) {
            b->nomem = true;
            return;
        }
        b->specs = p;
        b->cap = cap;
    }
    rt_weight_spec *s = &b->specs[b->n++];
    memset(s, 0, sizeof *s);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(s->key, sizeof s->key, fmt, ap);
    va_end(ap);
    RT_ASSERT(len > 0 && len < (int)sizeof s->key);
    s->dtype = dtype;
    s->ndim = (int)dims_and_ndim[0];
    for (int i = 0; i < s->ndim; i++) s->shape[i] = dims_and_ndim[1 + i];
}

// Shapes as compound literals: {ndim, d0, d1, ...}.
#define S0 ((const int64_t[]){0})
#define S1(a) ((const int64_t[]){1, (a)})
#define S2(a, b) ((const int64_t[]){2, (a), (b)})
#define S3(a, b, c) ((const int64_t[]){3, (a), (b), (c)})
#define S4(a, b, c, d) ((const int64_t[]){4, (a), (b), (c), (d)})

static void add_bn(builder *b, int64_t c, const char *prefix) {
    add(b, RT_DTYPE_F32, S1(c), "%s.weight", prefix);
    add(b, RT_DTYPE_F32, S1(c), "%s.bias", prefix);
    add(b, RT_DTYPE_F32, S1(c), "%s.running_mean", prefix);
    add(b, RT_DTYPE_F32, S1(c), "%s.running_var", prefix);
    add(b, RT_DTYPE_I64, S0, "%s.num_batches_tracked", prefix);
}

static void add_conv(builder *b, int64_t out, int64_t in, int64_t k, bool bias, const char *prefix) {
    add(b, RT_DTYPE_F32, S4(out, in, k, k), "%s.weight", prefix);
    if (bias) add(b, RT_DTYPE_F32, S1(out), "%s.bias", prefix);
}

static void add_linear(builder *b, int64_t out, int64_t in, const char *prefix) {
    add(b, RT_DTYPE_F32, S2(out, in), "%s.weight", prefix);
    add(b, RT_DTYPE_F32, S1(out), "%s.bias", prefix);
}

static void add_backbone(builder *b, const rt_model_config *c) {
    char p[RT_WEIGHTS_KEY_MAX];
    add_conv(b, c->backbone.stem_channels, 3, 7, false, "backbone.conv1");
    add_bn(b, c->backbone.stem_channels, "backbone.bn1");
    int64_t in = c->backbone.stem_channels;
    for (int l = 0; l < RT_MODEL_STAGES; l++) {
        int64_t planes = (int64_t)c->backbone.base_channels << l, out = 4 * planes;
        for (int k = 0; k < c->backbone.stage_blocks[l]; k++) {
            // mmdet's ResLayer: block 0 gets a projection when the stride is not 1 (stages 2-4)
            // or the width changes.
            bool down = k == 0 && (l > 0 || in != out);
            snprintf(p, sizeof p, "backbone.layer%d.%d.conv1", l + 1, k);
            add_conv(b, planes, in, 1, false, p);
            snprintf(p, sizeof p, "backbone.layer%d.%d.bn1", l + 1, k);
            add_bn(b, planes, p);
            snprintf(p, sizeof p, "backbone.layer%d.%d.conv2", l + 1, k);
            add_conv(b, planes, planes, 3, false, p);
            snprintf(p, sizeof p, "backbone.layer%d.%d.bn2", l + 1, k);
            add_bn(b, planes, p);
            snprintf(p, sizeof p, "backbone.layer%d.%d.conv3", l + 1, k);
            add_conv(b, out, planes, 1, false, p);
            snprintf(p, sizeof p, "backbone.layer%d.%d.bn3", l + 1, k);
            add_bn(b, out, p);
            if (down) {
                snprintf(p, sizeof p, "backbone.layer%d.%d.downsample.0", l + 1, k);
                add_conv(b, out, in, 1, false, p);
                snprintf(p, sizeof p, "backbone.layer%d.%d.downsample.1", l + 1, k);
                add_bn(b, out, p);
            }
            in = out;
        }
    }
}

static void add_heads(builder *b, const rt_model_config *c) {
    char p[RT_WEIGHTS_KEY_MAX];
    const int64_t f = c->fpn.out_channels, ncls = c->num_classes;
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        snprintf(p, sizeof p, "neck.lateral_convs.%d.conv", i);
        add_conv(b, f, c->fpn.in_channels[i], 1, true, p);
    }
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        snprintf(p, sizeof p, "neck.fpn_convs.%d.conv", i);
        add_conv(b, f, f, 3, true, p);
    }

    const int64_t a = (int64_t)c->rpn.num_anchor_scales * c->rpn.num_anchor_ratios;
    add_conv(b, c->rpn.feat_channels, f, 3, true, "rpn_head.rpn_conv");
    add_conv(b, a, c->rpn.feat_channels, 1, true, "rpn_head.rpn_cls");
    add_conv(b, 4 * a, c->rpn.feat_channels, 1, true, "rpn_head.rpn_reg");

    // BBoxHead creates fc_cls/fc_reg before ConvFCBBoxHead adds the shared FCs.
    const int64_t roi7 = (int64_t)c->roi.bbox_roi_size * c->roi.bbox_roi_size;
    const int64_t bfc = c->roi.bbox_fc_channels;
    add_linear(b, ncls + 1, bfc, "roi_head.bbox_head.fc_cls");
    add_linear(b, 4 * ncls, bfc, "roi_head.bbox_head.fc_reg");
    for (int i = 0; i < c->roi.bbox_num_fcs; i++) {
        snprintf(p, sizeof p, "roi_head.bbox_head.shared_fcs.%d", i);
        add_linear(b, bfc, i == 0 ? f * roi7 : bfc, p);
    }

    const int64_t mc = c->roi.mask_channels;
    for (int i = 0; i < c->roi.mask_num_convs; i++) {
        snprintf(p, sizeof p, "roi_head.mask_head.convs.%d.conv", i);
        add_conv(b, mc, i == 0 ? f : mc, 3, true, p);
    }
    // ConvTranspose2d weights are [in, out, kh, kw].
    add(b, RT_DTYPE_F32, S4(mc, mc, 2, 2), "roi_head.mask_head.upsample.weight");
    add(b, RT_DTYPE_F32, S1(mc), "roi_head.mask_head.upsample.bias");
    add_conv(b, ncls, mc, 1, true, "roi_head.mask_head.conv_logits");

    const int64_t tc = c->roi.track_channels, tfc = c->roi.track_fc_channels;
    for (int i = 0; i < c->roi.track_num_convs; i++) {
        snprintf(p, sizeof p, "roi_head.track_head.convs.%d.conv", i);
        add_conv(b, tc, i == 0 ? f : tc, 3, false, p);
        add(b, RT_DTYPE_F32, S1(tc), "roi_head.track_head.convs.%d.gn.weight", i);
        add(b, RT_DTYPE_F32, S1(tc), "roi_head.track_head.convs.%d.gn.bias", i);
    }
    for (int i = 0; i < c->roi.track_num_fcs; i++) {
        snprintf(p, sizeof p, "roi_head.track_head.fcs.%d", i);
        add_linear(b, tfc, i == 0 ? tc * roi7 : tfc, p);
    }
    add_linear(b, c->roi.embed_channels, tfc, "roi_head.track_head.fc_embed");

    // EMMatchHeadPlus: in_channels are the mask RoI features (= FPN width); conv1 sees them plus
    // pos_z, neg_z and the key mask logits (with_mask_key True, with_mask_ref False).
    const int64_t rc = c->refine.channels;
    add(b, RT_DTYPE_F32, S3(1, f, c->refine.pos_protos), "roi_head.refine_head.pos_mu");
    add(b, RT_DTYPE_F32, S3(1, f, c->refine.neg_protos), "roi_head.refine_head.neg_mu");
    add_conv(b, rc, f + 3, 3, true, "roi_head.refine_head.conv1.conv");
    add_conv(b, rc, f, 1, true, "roi_head.refine_head.conv2.conv");
    for (int i = 0; i < c->refine.num_convs - 1; i++) {
        snprintf(p, sizeof p, "roi_head.refine_head.convs.%d.conv", i);
        add_conv(b, rc, rc, 3, true, p);
    }
    add(b, RT_DTYPE_F32, S4(rc, rc, 2, 2), "roi_head.refine_head.upsample.weight");
    add(b, RT_DTYPE_F32, S1(rc), "roi_head.refine_head.upsample.bias");
    add_conv(b, 1, rc, 1, true, "roi_head.refine_head.conv_logits");
}

rt_status rt_weights_expected(const rt_model_config *cfg, rt_weight_spec **specs, int *n) {
    *specs = NULL;
    *n = 0;
    rt_status st = rt_model_config_validate(cfg);
    if (st != RT_OK) return st;
    builder b = {0};
    // Top-level buffers come first: the frame-level prototype initialisers (always five).
    for (int i = 0; i < RT_MODEL_FRAME_PROTO_BUFFERS; i++)
        add(&b, RT_DTYPE_F32, S3(1, cfg->fpn.out_channels, cfg->pcam.prototypes), "mu%d", i);
    add_backbone(&b, cfg);
    add_heads(&b, cfg);
    if (b.nomem) {
        rt_free(b.specs);
        return rt_error_set(RT_ERR_NOMEM, "no memory for the expected tensor list");
    }
    *specs = b.specs;
    *n = b.n;
    return RT_OK;
}
