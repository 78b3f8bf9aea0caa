// model_config — the typed model configuration stored as YAML in every weights file.
//
//     rt_model_config cfg;
//     if (rt_model_config_parse(text, strlen(text), "w.h5:config", &cfg) != RT_OK)
//         fprintf(stderr, "pcan: %s\n", rt_error());   // "w.h5:config:7:14: key 'fpn.num_outs': ..."
//
// The YAML has exactly the sections and keys of the struct below; the official model's
// (rt_model_config_to_yaml of rt_model_config_default, reals as written in PCAN's config):
//
//   name: pcan-r50-bdd100k-mots
//   classes: [pedestrian, rider, car, truck, bus, train, motorcycle, bicycle]
//   input: {scale: [1296, 720], mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375],
//           to_rgb: true, pad_divisor: 32}
//   backbone: {depth: 50, stage_blocks: [3, 4, 6, 3], stem_channels: 64, base_channels: 64}
//   fpn: {in_channels: [256, 512, 1024, 2048], out_channels: 256, num_outs: 5}
//   rpn: {feat_channels: 256, anchor_scales: [8.0], anchor_ratios: [0.5, 1.0, 2.0],
//         anchor_strides: [4, 8, 16, 32, 64], nms_pre: 1000, max_per_img: 1000, nms_thr: 0.7}
//   roi: {featmap_strides: [4, 8, 16, 32], finest_scale: 56, bbox_roi_size: 7, mask_roi_size: 14,
//         bbox_fc_channels: 1024, bbox_num_fcs: 2, bbox_stds: [0.1, 0.1, 0.2, 0.2],
//         mask_num_convs: 4, mask_channels: 256, track_num_convs: 4, track_channels: 256,
//         track_gn_groups: 32, track_num_fcs: 1, track_fc_channels: 1024, embed_channels: 256}
//   pcam: {prototypes: 30, iterations: 3, levels: 2}
//   refine: {channels: 256, num_convs: 4, pos_protos: 10, neg_protos: 10, stages: 6}
//   test: {score_thr: 0.5, nms_iou: 0.5, max_per_img: 100, mask_thr: 0.5}
//   tracker: {init_score_thr: 0.7, obj_score_thr: 0.3, match_score_thr: 0.5,
//             memo_tracklet_frames: 10, memo_backdrop_frames: 1, memo_momentum: 0.8,
//             nms_conf_thr: 0.5, nms_backdrop_iou_thr: 0.3, nms_class_iou_thr: 0.7,
//             with_cats: true}
//
// Parsing is strict: every key must be present, unknown
// and duplicate keys, wrong types (a quoted number, a real where an integer is wanted), lists of
// the wrong length, out-of-range values and inconsistent values (depth vs stage_blocks, FPN inputs
// vs backbone widths, GroupNorm groups vs channels, ...) are RT_ERR_CONFIG errors citing
// source:line:column and the dotted key name. rt_model_config_default() is the official
// PCAN R50 BDD100K MOTS model. The struct is a plain value (fixed arrays, no heap): copy it freely,
// no free needed. All functions are thread-safe (no shared state).
//
// Reals are kept as double, exactly as written in the YAML; the network casts where PyTorch
// compares in float32. Values that PCAN-FACTS calls fixed constants (EM temperature 20, fusion
// 0.75/0.25, refine momentum 0.95, the five frame-level prototype buffers mu0..mu4, RoIAlign
// aligned with adaptive sampling) are not configuration.
#ifndef PCAN_RUNTIME_MODEL_CONFIG_H
#define PCAN_RUNTIME_MODEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/core.h"

#define RT_MODEL_NAME_MAX 128   // bytes of a name, including the NUL
#define RT_MODEL_MAX_CLASSES 64
#define RT_MODEL_STAGES 4       // ResNet stages C2..C5 = FPN inputs = RoI feature levels
#define RT_MODEL_MAX_LEVELS 6   // FPN outputs (P2..P6 for the official model)
#define RT_MODEL_MAX_ANCHOR_PARAMS 8
#define RT_MODEL_FRAME_PROTO_BUFFERS 5 // mu0..mu4 exist whatever pcam.levels says

typedef struct rt_model_config {
    char name[RT_MODEL_NAME_MAX];
    int num_classes; // = len(classes)
    char classes[RT_MODEL_MAX_CLASSES][RT_MODEL_NAME_MAX];
    struct {
        int scale[2];     // (long side, short side) limits of the keep-ratio resize
        double mean[3];   // RGB
        double std[3];    // RGB
        bool to_rgb;
        int pad_divisor;
    } input;
    struct {
        // 3 * sum(stage_blocks) + 2, or the bottleneck family 50/101/152 (which must come with
        // its standard stage_blocks when those are 3-4-6-3, 3-4-23-3 or 3-8-36-3).
        int depth;
        int stage_blocks[RT_MODEL_STAGES];
        int stem_channels;
        int base_channels; // stage i: planes base*2^i, output 4*base*2^i channels
    } backbone;
    struct {
        int in_channels[RT_MODEL_STAGES];
        int out_channels;
        int num_outs;
    } fpn;
    struct {
        int feat_channels;
        int num_anchor_scales;
        double anchor_scales[RT_MODEL_MAX_ANCHOR_PARAMS];
        int num_anchor_ratios;
        double anchor_ratios[RT_MODEL_MAX_ANCHOR_PARAMS];
        int anchor_strides[RT_MODEL_MAX_LEVELS]; // fpn.num_outs entries
        int nms_pre;
        int max_per_img;
        double nms_thr;
    } rpn;
    struct {
        int featmap_strides[RT_MODEL_STAGES];
        int finest_scale;
        int bbox_roi_size; // also the track head's RoI size
        int mask_roi_size;
        int bbox_fc_channels;
        int bbox_num_fcs;
        double bbox_stds[4];
        int mask_num_convs;
        int mask_channels;
        int track_num_convs;
        int track_channels;
        int track_gn_groups;
        int track_num_fcs;
        int track_fc_channels;
        int embed_channels;
    } roi;
    struct {
        int prototypes;
        int iterations;
        int levels;
    } pcam;
    struct {
        int channels;
        int num_convs; // conv1 plus num_convs-1 further 3x3 convs
        int pos_protos;
        int neg_protos;
        int stages;
    } refine;
    struct {
        double score_thr;
        double nms_iou;
        int max_per_img;
        double mask_thr;
    } test;
    struct {
        double init_score_thr;
        double obj_score_thr;
        double match_score_thr;
        int memo_tracklet_frames;
        int memo_backdrop_frames;
        double memo_momentum;
        double nms_conf_thr;
        double nms_backdrop_iou_thr;
        double nms_class_iou_thr;
        bool with_cats;
    } tracker;
} rt_model_config;

// The official PCAN R50 BDD100K MOTS configuration (PCAN-FACTS §1).
rt_model_config rt_model_config_default(void);

// Parses YAML `text` (`len` bytes, need not be NUL-terminated) into *out. `source` prefixes
// error locations ("source:line:column"). On error *out is unspecified and RT_ERR_CONFIG is
// returned with the message set (RT_ERR_NOMEM if libyaml runs out of memory).
rt_status rt_model_config_parse(const char *text, size_t len, const char *source,
                                 rt_model_config *out);

// Checks the values of an already filled struct (ranges and cross-key consistency); the parser
// calls it. RT_ERR_CONFIG naming the key.
rt_status rt_model_config_validate(const rt_model_config *c);

// Writes `c` as YAML in the layout of the contract (one flow mapping per section) that
// rt_model_config_parse reads back to an identical struct (reals in shortest round-trip form).
// snprintf-style: returns the length the text needs (excluding the NUL) and writes at most
// `cap` bytes including the NUL.
size_t rt_model_config_to_yaml(const rt_model_config *c, char *buf, size_t cap);

// true when every field is equal (names compared as strings).
bool rt_model_config_equal(const rt_model_config *a, const rt_model_config *b);

#endif
