// model — the public face of the engine: an immutable PCAN model and per-video streams.
//
//     rt_model *model;
//     rt_model_params mp = rt_model_default_params();
//     if (rt_model_open("models/pcan.h5", &mp, &model) != RT_OK) { ... rt_error() ... }
//     rt_stream *s;
//     rt_stream_params sp = rt_stream_default_params();
//     rt_stream_init(model, &sp, &s);              // one per video (or per rank in `rank` mode)
//     for each frame: rt_stream_step(s, &image, &res); use res->items[0..res->count) ...
//     rt_stream_free(&s);
//     rt_model_close(&model);
//
// The model's weights are read-only after open; its layers cache oneDNN primitives per input
// size, so the streams of one model must step one at a time (one rank runs one video at a time).
// A stream owns everything that changes while a video plays (activation arena, frame-level
// memory, refine-head prototype buffers, tracker). After its first frame,
// rt_stream_step does not allocate. Results are only tracked detections (PCAN-FACTS §4.2),
// with track ids >= 1 (the tracker's id + 1), boxes in source pixels and masks as COCO RLE at
// source resolution, in ascending track-id order.
#ifndef PCAN_RUNTIME_MODEL_H
#define PCAN_RUNTIME_MODEL_H

#include <stdint.h>

#include "runtime/core.h"
#include "runtime/model_config.h"
#include "runtime/rle.h"

typedef struct rt_model rt_model;
typedef struct rt_stream rt_stream;

// Overrides of the weights' test/tracker settings; NaN or -1 keep the weights' value.
typedef struct rt_model_params {
    double score_thr, nms_iou, mask_thr;
    int max_per_img;
    double init_score_thr, obj_score_thr, match_score_thr, memo_momentum;
    int memo_tracklet_frames, memo_backdrop_frames;
    int max_width, max_height; // frames larger than this are refused (0 = no limit)
} rt_model_params;

typedef enum rt_prototype_memory {
    RT_PROTOTYPE_MEMORY_VIDEO, // refine-head buffers reset at every stream start (default)
    RT_PROTOTYPE_MEMORY_RANK,  // buffers carried over from the previous stream (official drift)
} rt_prototype_memory;

typedef struct rt_stream_params {
    rt_prototype_memory prototype_memory;
    // Benchmarks only: keep exactly this many detections per frame (the top candidates of the
    // class NMS whatever their score); 0 = the model's rules.
    int force_detections;
    // In RANK mode: the stream whose refine-head buffers this one continues (NULL = the
    // weights' values). The caller keeps the previous stream alive until this init returns.
    const rt_stream *previous;
    // Ablation (default true): false replaces the instance-level PCAM's refined masks by the FCN
    // mask head's logits of each detection's class; the head still runs and its prototype
    // buffers still advance, so only the pasted masks (and the tracker's memory masks) change.
    bool refine_head;
} rt_stream_params;

// A frame: packed RGB uint8, row-major, `stride` bytes per row. Borrowed for the call.
typedef struct rt_image {
    int width, height, stride;
    const uint8_t *rgb;
} rt_image;

typedef struct rt_result {
    int32_t track_id; // >= 1
    int16_t label;    // index into the model's classes
    float score;
    float box[4]; // x1 y1 x2 y2, source pixels
    rt_rle mask;  // source resolution
} rt_result;

typedef struct rt_frame_results {
    int frame; // 0-based index in the stream
    int count;
    rt_result *items; // owned by the stream; valid until the next step or free
} rt_frame_results;

// The stages of a frame, for timing (pcan bench).
#define RT_STAGE_LIST(X)                                                                           \
    X(PREPROCESS, "preprocess")                                                                    \
    X(BACKBONE, "backbone") X(FPN, "fpn") X(PCAM, "pcam") X(RPN, "rpn") X(BOX_HEAD, "box head")    \
        X(MASK_HEAD, "mask head") X(TRACK_HEAD, "track head") X(TRACKER, "tracker")                \
            X(REFINE, "refine head") X(PASTE, "paste")
typedef enum rt_stage {
#define RT_X_STAGE(name, text) RT_STAGE_##name,
    RT_STAGE_LIST(RT_X_STAGE)
#undef RT_X_STAGE
        RT_STAGE_COUNT
} rt_stage;
const char *rt_stage_name(rt_stage stage);

rt_model_params rt_model_default_params(void);
rt_stream_params rt_stream_default_params(void);

// Opens a pcan weights file. RT_ERR_IO / RT_ERR_FORMAT / RT_ERR_SHAPE / RT_ERR_CONFIG with the
// file and the tensor or key in the message.
rt_status rt_model_open(const char *path, const rt_model_params *params, rt_model **out);
void rt_model_close(rt_model **model);

// Class names and count, the weights' sha256 and name, for archives and exports.
int rt_model_num_classes(const rt_model *model);
const char *rt_model_class_name(const rt_model *model, int label);
const char *rt_model_name(const rt_model *model);
const char *rt_model_sha256(const rt_model *model);
// The effective configuration: the weights' config with the params' overrides applied.
const rt_model_config *rt_model_config_of(const rt_model *model);

rt_status rt_stream_init(const rt_model *model, const rt_stream_params *params, rt_stream **out);
void rt_stream_free(rt_stream **stream);

// Runs one frame. Frames of one stream must share one size; the first frame sizes the stream's
// buffers (allocates), later ones do not allocate. RT_ERR_INVAL for a frame larger than the
// params allow or of a different size than the first.
rt_status rt_stream_step(rt_stream *stream, const rt_image *frame, const rt_frame_results **out);

// Seconds each stage took in the last step (wall clock).
void rt_stream_stage_seconds(const rt_stream *stream, double seconds[RT_STAGE_COUNT]);
// Floating-point operations of the convolutions of the backbone, FPN and RPN for this stream's
// frame size (2 per multiply-add); 0 before the first frame.
double rt_stream_dense_flops(const rt_stream *stream);

// Test support: a probe sees every intermediate of the step, by name ("input", "stem", "c2",
// "p2", "fused_p2", "bank_p2", "frame_protos.0", "proposals", "det_bboxes", "mask_pred",
// "embeds", "track_order", "refine_logits", ... — see stream.c), as a plain row-major array of
// `type` with `ndim` dims. Data is borrowed for the call. Setting a probe may make later steps
// allocate (blocked maps are copied out); NULL removes it.
typedef enum rt_probe_type { RT_PROBE_F32, RT_PROBE_I32, RT_PROBE_U8 } rt_probe_type;
typedef void (*rt_stream_probe_fn)(void *ctx, const char *name, rt_probe_type type,
                                   const void *data, int ndim, const int *dims);
void rt_stream_set_probe(rt_stream *stream, rt_stream_probe_fn fn, void *ctx);

#endif
