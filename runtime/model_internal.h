// model_internal — the layers of a loaded PCAN model, shared by model.c (loading) and
// stream.c (the per-frame step). Not part of the public API.
#ifndef PCAN_RUNTIME_MODEL_INTERNAL_H
#define PCAN_RUNTIME_MODEL_INTERNAL_H

#include "runtime/model.h"
#include "runtime/model_config.h"
#include "runtime/ops_conv.h"

#define RT_MAX_BLOCKS     64 // bottleneck blocks in the backbone (ResNet-101 has 33)
#define RT_MAX_HEAD_CONVS 8
// RoI batches change size every frame: their layers run in chunks of this many RoIs plus batch-1
// tails, so no frame re-creates a primitive (ops_conv.h).
#define RT_ROI_BATCH_CHUNK 8

// A fully connected layer, weights copied out of the weight file.
typedef struct rt_fc {
    float *w; // [out, in]
    float *b; // [out]
    int in, out;
} rt_fc;

// The heads' 2x2 stride-2 transposed convolution (+ bias + ReLU), run as one GEMM per RoI:
// oneDNN's deconvolution ran about 8x below the GEMM rate on 14x14 RoI batches (measured with
// ONEDNN_VERBOSE on the R50 heads).
typedef struct rt_upsample2x {
    float *w; // [out*4, in]: row oc*4 + i*2 + j holds PyTorch's weight[:, oc, i, j]
    float *b; // [out]
    int in, out;
} rt_upsample2x;

typedef struct rt_block {
    rt_conv *conv1, *conv2, *conv3, *down; // down is NULL without a projection
    int stage, stride;
} rt_block;

struct rt_model {
    rt_model_config cfg; // with the params' overrides applied
    rt_model_params params;
    char name[RT_MODEL_NAME_MAX];
    char sha256[65];
    int nclasses, nlevels; // nlevels = fpn.num_outs

    rt_conv *stem;
    rt_block blocks[RT_MAX_BLOCKS];
    int nblocks;
    rt_conv *lateral[RT_MODEL_STAGES], *fpn[RT_MODEL_STAGES];
    rt_conv *rpn_conv, *rpn_cls, *rpn_reg;
    int anchors_per_loc;
    float *mu[RT_MODEL_FRAME_PROTO_BUFFERS]; // [C,K] frame-level initialisers (levels used)

    rt_fc bbox_fc[RT_MAX_HEAD_CONVS], bbox_cls, bbox_reg;
    rt_conv *mask_convs[RT_MAX_HEAD_CONVS], *mask_logits;
    rt_upsample2x mask_up;
    rt_conv *track_convs[RT_MAX_HEAD_CONVS];
    float *track_gn_w[RT_MAX_HEAD_CONVS], *track_gn_b[RT_MAX_HEAD_CONVS];
    rt_fc track_fc[RT_MAX_HEAD_CONVS], track_embed;

    rt_conv *ref_conv1, *ref_convs[RT_MAX_HEAD_CONVS], *ref_logits;
    rt_upsample2x ref_up;
    rt_fc ref_conv2;        // the 1x1 conv on the context vector, as a [C_out, C_in] matrix
    float *pos_mu, *neg_mu; // [C,Kp], [C,Kn] as loaded
};

#endif
