#include "tests/common/formula.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


rt_model_config test_tiny_config(void) {
    rt_model_config c = rt_model_config_default();
    snprintf(c.name, sizeof c.name, "pcan-tiny-test");
    c.num_classes = 3;
    snprintf(c.classes[0], sizeof c.classes[0], "pedestrian");
    snprintf(c.classes[1], sizeof c.classes[1], "car");
    snprintf(c.classes[2], sizeof c.classes[2], "bicycle");
    c.input.scale[0] = 160;
    c.input.scale[1] = 96;
    for (int i = 0; i < 4; i++) c.backbone.stage_blocks[i] = 1;
    c.backbone.depth = 14;
    c.backbone.stem_channels = 8;
    c.backbone.base_channels = 8;
    for (int i = 0; i < 4; i++) c.fpn.in_channels[i] = 32 << i;
    c.fpn.out_channels = 32;
    c.rpn.feat_channels = 32;
    c.rpn.nms_pre = 50;
    c.rpn.max_per_img = 100;
    c.roi.bbox_fc_channels = 32;
    c.roi.mask_channels = 32;
    c.roi.track_channels = 32;
    c.roi.track_gn_groups = 8;
    c.roi.track_fc_channels = 32;
    c.roi.embed_channels = 32;
    c.pcam.prototypes = 8;
    c.refine.channels = 32;
    c.refine.pos_protos = 4;
    c.refine.neg_protos = 4;
    c.test.max_per_img = 20;
    c.tracker.memo_tracklet_frames = 3;
    return c;
}

void test_write_formula_weights(const char *path, const rt_model_config *cfg,
                                const test_override *ov, int nov) {
    if (rt_weights_formula_write(path, cfg, ov, nov) != RT_OK) {
        fprintf(stderr, "formula weights: %s\n", rt_error());
        exit(1);
    }
}
