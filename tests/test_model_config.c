// Model config YAML: the contract's text parses to the official defaults, write/parse round trips,
// and every kind of bad input is refused with the key and line:column in the message.
#include "runtime/model_config.h"
#include "tests/test.h"

// The config exactly as the weight-file contract shows it (comment included).
static const char k_contract[] =
    "name: pcan-r50-bdd100k-mots\n"
    "classes: [pedestrian, rider, car, truck, bus, train, motorcycle, bicycle]\n"
    "input:    {scale: [1296, 720], mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], "
    "to_rgb: true, pad_divisor: 32}\n"
    "backbone: {depth: 50, stage_blocks: [3, 4, 6, 3], stem_channels: 64, base_channels: 64}\n"
    "          # bottleneck ResNet, style pytorch; stage i has planes base*2^i\n"
    "fpn:      {in_channels: [256, 512, 1024, 2048], out_channels: 256, num_outs: 5}\n"
    "rpn:      {feat_channels: 256, anchor_scales: [8], anchor_ratios: [0.5, 1.0, 2.0], "
    "anchor_strides: [4, 8, 16, 32, 64],\n"
    "           nms_pre: 1000, max_per_img: 1000, nms_thr: 0.7}\n"
    "roi:      {featmap_strides: [4, 8, 16, 32], finest_scale: 56, bbox_roi_size: 7, "
    "mask_roi_size: 14,\n"
    "           bbox_fc_channels: 1024, bbox_num_fcs: 2, bbox_stds: [0.1, 0.1, 0.2, 0.2],\n"
    "           mask_num_convs: 4, mask_channels: 256,\n"
    "           track_num_convs: 4, track_channels: 256, track_gn_groups: 32, track_num_fcs: 1,\n"
    "           track_fc_channels: 1024, embed_channels: 256}\n"
    "pcam:     {prototypes: 30, iterations: 3, levels: 2}\n"
    "refine:   {channels: 256, num_convs: 4, pos_protos: 10, neg_protos: 10, stages: 6}\n"
    "test:     {score_thr: 0.5, nms_iou: 0.5, max_per_img: 100, mask_thr: 0.5}\n"
    "tracker:  {init_score_thr: 0.7, obj_score_thr: 0.3, match_score_thr: 0.5, "
    "memo_tracklet_frames: 10,\n"
    "           memo_backdrop_frames: 1, memo_momentum: 0.8, nms_conf_thr: 0.5, "
    "nms_backdrop_iou_thr: 0.3,\n"
    "           nms_class_iou_thr: 0.7, with_cats: true}\n";

static rt_status parse(const char *text, rt_model_config *c) {
    return rt_model_config_parse(text, strlen(text), "cfg.yaml", c);
}

// The contract text with the first occurrence of `from` replaced by `to`.
static rt_status parse_edited(const char *from, const char *to, rt_model_config *c) {
    static char buf[8192];
    const char *at = strstr(k_contract, from);
    if (!at) {
        test_fail(__FILE__, __LINE__, "'%s' not in the contract text", from);
        return RT_OK;
    }
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - k_contract), k_contract, to, at + strlen(from));
    return parse(buf, c);
}

static void test_contract_is_default(void) {
    rt_model_config c, d = rt_model_config_default();
    CHECK_EQ_INT(rt_model_config_validate(&d), RT_OK);
    CHECK_EQ_INT(parse(k_contract, &c), RT_OK);
    CHECK(rt_model_config_equal(&c, &d));
    CHECK_EQ_INT(c.num_classes, 8);
    CHECK_EQ_STR(c.classes[7], "bicycle");
    CHECK_EQ_INT(c.rpn.anchor_strides[4], 64);
    CHECK(c.rpn.nms_thr == 0.7);
    CHECK(c.input.std[1] == 57.12);
    CHECK(c.tracker.with_cats);
}

static rt_model_config tiny(void) {
    rt_model_config c = rt_model_config_default();
    snprintf(c.name, sizeof c.name, "tiny \"test\" model: 3 classes");
    c.num_classes = 3;
    snprintf(c.classes[0], RT_MODEL_NAME_MAX, "car");
    snprintf(c.classes[1], RT_MODEL_NAME_MAX, "yes"); // must be quoted to stay a string
    snprintf(c.classes[2], RT_MODEL_NAME_MAX, "1st class");
    c.input.scale[0] = 160;
    c.input.scale[1] = 96;
    c.input.mean[0] = 1.0 / 3.0;
    c.input.std[2] = 1e-3;
    c.backbone.stage_blocks[0] = c.backbone.stage_blocks[1] = 1;
    c.backbone.stage_blocks[2] = c.backbone.stage_blocks[3] = 1;
    c.backbone.depth = 14;
    c.backbone.stem_channels = c.backbone.base_channels = 8;
    for (int i = 0; i < 4; i++) c.fpn.in_channels[i] = 32 << i;
    c.fpn.out_channels = 32;
    c.rpn.num_anchor_scales = 2;
    c.rpn.anchor_scales[1] = 4.5;
    c.roi.track_gn_groups = 8;
    c.roi.track_channels = 32;
    c.pcam.prototypes = 8;
    c.tracker.with_cats = false;
    return c;
}

static void test_round_trip(void) {
    rt_model_config cfgs[2] = {rt_model_config_default(), tiny()};
    for (int i = 0; i < 2; i++) {
        char text[8192];
        size_t need = rt_model_config_to_yaml(&cfgs[i], text, sizeof text);
        CHECK(need < sizeof text);
        CHECK_EQ_INT(strlen(text), need);
        rt_model_config back;
        CHECK_MSG(parse(text, &back) == RT_OK, "%s\n%s", rt_error(), text);
        CHECK(rt_model_config_equal(&back, &cfgs[i]));
        char small[10];
        CHECK_EQ_INT(rt_model_config_to_yaml(&cfgs[i], small, sizeof small), need);
        CHECK_EQ_INT(strlen(small), 9);
    }
    char text[8192];
    rt_model_config d = rt_model_config_default();
    rt_model_config_to_yaml(&d, text, sizeof text);
    CHECK_CONTAINS(text, "mean: [123.675, 116.28, 103.53]");
    CHECK_CONTAINS(text, "anchor_ratios: [0.5, 1.0, 2.0]");
    CHECK_CONTAINS(text, "classes: [pedestrian, rider, car, truck, bus, train, motorcycle, bicycle]");
}

#define REJECT(from, to, ...)                                                        \
    do {                                                                             \
        rt_model_config c_;                                                          \
        CHECK_EQ_INT(parse_edited(from, to, &c_), RT_ERR_CONFIG);                    \
        const char *needles_[] = {__VA_ARGS__};                                      \
        for (size_t k_ = 0; k_ < sizeof needles_ / sizeof *needles_; k_++)           \
            CHECK_CONTAINS(rt_error(), needles_[k_]);                                \
    } while (0)

static void test_rejects(void) {
    // Unknown, missing and duplicate keys.
    REJECT("pad_divisor: 32", "pad_divisor: 32, pad_value: 0", "cfg.yaml:3:", "'input.pad_value'");
    REJECT("name: pcan", "colour: red\nname: pcan", "cfg.yaml:1:1:", "unknown key 'colour'");
    REJECT("levels: 2}", "levels: 2, prototypes: 3}", "duplicate key 'pcam.prototypes'");
    REJECT(", with_cats: true}", "}", "missing key 'tracker.with_cats'", "cfg.yaml:17:11:");
    REJECT("pcam:     {prototypes: 30, iterations: 3, levels: 2}\n", "", "missing key 'pcam.");
    // Wrong types.
    REJECT("num_outs: 5", "num_outs: '5'", "key 'fpn.num_outs'", "expected an integer");
    REJECT("num_outs: 5", "num_outs: 5.0", "key 'fpn.num_outs'", "expected an integer");
    REJECT("nms_thr: 0.7", "nms_thr: high", "key 'rpn.nms_thr'", "expected a number");
    REJECT("nms_thr: 0.7", "nms_thr: .nan", "key 'rpn.nms_thr'");
    REJECT("nms_thr: 0.7", "nms_thr: 0x1", "key 'rpn.nms_thr'");
    REJECT("to_rgb: true", "to_rgb: 1", "key 'input.to_rgb'", "expected true or false");
    REJECT("scale: [1296, 720]", "scale: 1296", "key 'input.scale'", "expected a list");
    REJECT("scale: [1296, 720]", "scale: [1296, 720, 3]", "key 'input.scale'", "2 items, got 3");
    REJECT("fpn:      {", "fpn:      [1, 2]\nfpx:      {", "key 'fpn'", "expected a mapping");
    REJECT("classes: [pedestrian", "classes: pedestrian\nxx: [pedestrian", "'classes'");
    REJECT("rider", "car", "class 'car' is listed twice");
    // Bad values.
    REJECT("score_thr: 0.5", "score_thr: 1.5", "key 'test.score_thr'", "out of range");
    REJECT("iterations: 3", "iterations: 0", "key 'pcam.iterations'", "out of range");
    REJECT("depth: 50", "depth: 101", "key 'backbone.depth'", "cfg.yaml:4:19:", "depth 50");
    REJECT("depth: 50, stage_blocks: [3, 4, 6, 3]", "depth: 60, stage_blocks: [3, 4, 6, 2]",
           "key 'backbone.depth'", "has depth 47");
    REJECT("in_channels: [256, 512, 1024, 2048]", "in_channels: [256, 512, 1000, 2048]",
           "key 'fpn.in_channels'", "item 2 is 1000");
    REJECT("track_gn_groups: 32", "track_gn_groups: 48", "key 'roi.track_gn_groups'",
           "do not divide");
    REJECT("anchor_strides: [4, 8, 16, 32, 64]", "anchor_strides: [4, 8, 16, 32]",
           "key 'rpn.anchor_strides'", "fpn.num_outs is 5");
    REJECT("levels: 2", "levels: 6", "key 'pcam.levels'");
    REJECT("num_outs: 5", "num_outs: 9", "key 'fpn.num_outs'", "out of range");
    // Not YAML, or not a mapping.
    REJECT("stage_blocks: [3, 4, 6, 3]", "stage_blocks: [3, 4, 6, 3", "cfg.yaml:", "invalid YAML");
    rt_model_config c;
    CHECK_EQ_INT(parse("", &c), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "empty");
    CHECK_EQ_INT(parse("- a\n- b\n", &c), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "must be a mapping");
}

// depth: the layer count of custom blocks, or a family name (the reference's tiny config).
static void test_depth_rule(void) {
    rt_model_config c;
    CHECK_EQ_INT(parse_edited("depth: 50, stage_blocks: [3, 4, 6, 3]",
                              "depth: 14, stage_blocks: [1, 1, 1, 1]", &c), RT_OK);
    CHECK_EQ_INT(parse_edited("depth: 50, stage_blocks: [3, 4, 6, 3]",
                              "depth: 50, stage_blocks: [1, 1, 1, 1]", &c), RT_OK);
    CHECK_EQ_INT(parse_edited("depth: 50, stage_blocks: [3, 4, 6, 3]",
                              "depth: 101, stage_blocks: [3, 4, 23, 3]", &c), RT_OK);
    CHECK_EQ_INT(parse_edited("depth: 50, stage_blocks: [3, 4, 6, 3]",
                              "depth: 18, stage_blocks: [1, 1, 1, 1]", &c), RT_ERR_CONFIG);
}

// The shipped configs of the Python reference must load here too.
static void test_reference_configs(void) {
    const char *files[] = {"tools/ref/configs/r50.yaml", "tools/ref/configs/tiny.yaml"};
    for (size_t i = 0; i < RT_COUNTOF(files); i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) {
            printf("note: %s not found, not checked\n", files[i]);
            continue;
        }
        static char text[16384];
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        rt_model_config c;
        rt_status st = rt_model_config_parse(text, n, files[i], &c);
        CHECK_MSG(st == RT_OK, "%s", rt_error());
        if (i == 0) {
            rt_model_config d = rt_model_config_default();
            CHECK(st == RT_OK && rt_model_config_equal(&c, &d));
        }
    }
}

static void test_validate_struct(void) {
    rt_model_config c = rt_model_config_default();
    c.roi.track_gn_groups = 0;
    CHECK_EQ_INT(rt_model_config_validate(&c), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "roi.track_gn_groups");
    c = rt_model_config_default();
    c.test.mask_thr = -0.1;
    CHECK_EQ_INT(rt_model_config_validate(&c), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "test.mask_thr");
    c = rt_model_config_default();
    c.num_classes = 0;
    CHECK_EQ_INT(rt_model_config_validate(&c), RT_ERR_CONFIG);
}

static void test_alloc_failure(void) {
    rt_model_config c;
    rt_alloc_fail_after(1);
    CHECK_EQ_INT(parse(k_contract, &c), RT_ERR_NOMEM);
    rt_alloc_fail_after(0);
}

int main(void) {
    TEST_RUN(test_contract_is_default);
    TEST_RUN(test_round_trip);
    TEST_RUN(test_rejects);
    TEST_RUN(test_depth_rule);
    TEST_RUN(test_reference_configs);
    TEST_RUN(test_validate_struct);
    TEST_RUN(test_alloc_failure);
    return test_finish();
}
