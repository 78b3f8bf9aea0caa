// The engine's hooks for `pcan run`: decode each video with shard/video and run rt_stream_step
// on every frame (runtime/model.h).
//
// Per rank: setup opens the model once (read-only, shared by the rank's OpenMP threads);
// process makes one stream per video. With `prototype_memory: rank` each video's stream
// continues the previous video's refine-head buffers (the official drift; results then depend
// on which videos a rank ran, see DESIGN.md), so the previous stream is kept until the next one
// has been initialised from it.
#include <math.h>
#include <string.h>

#include "cmd/run.h"
#include "runtime/model.h"
#include "shard/video.h"

typedef struct engine {
    rt_model *model;
    rt_stream *previous; // RANK mode: the last video's stream
    rt_prototype_memory memory;
    bool refine_head;
} engine;

static rt_status engine_setup(void *ctx, const cmd_job *job, int threads) {
    engine *e = ctx;
    (void)threads; // cmd/run.c already set OpenMP/OpenBLAS threads for this rank
    memset(e, 0, sizeof *e);
    rt_model_params mp = rt_model_default_params();
    mp.score_thr = job->model.test.score_thr;
    mp.nms_iou = job->model.test.nms_iou;
    mp.mask_thr = job->model.test.mask_thr;
    mp.max_per_img = job->model.test.max_per_img;
    mp.init_score_thr = job->model.tracker.init_score_thr;
    mp.obj_score_thr = job->model.tracker.obj_score_thr;
    mp.match_score_thr = job->model.tracker.match_score_thr;
    mp.memo_momentum = job->model.tracker.memo_momentum;
    mp.memo_tracklet_frames = job->model.tracker.memo_tracklet_frames;
    mp.memo_backdrop_frames = job->model.tracker.memo_backdrop_frames;
    e->memory = job->model.prototype_memory == CMD_PROTOTYPE_MEMORY_RANK
                    ? RT_PROTOTYPE_MEMORY_RANK
                    : RT_PROTOTYPE_MEMORY_VIDEO;
    e->refine_head = job->model.refine_head;
    return rt_model_open(job->model.weights, &mp, &e->model);
}

// Frees everything including the context itself (cmd_run calls it exactly once).
static void engine_teardown(void *ctx) {
    engine *e = ctx;
    if (!e) return;
    rt_stream_free(&e->previous);
    rt_model_close(&e->model);
    rt_free(e);
}

rt_status cmd_video_run(const char *source, const cmd_video_run_params *p, rt_stream **stream) {
    *stream = NULL;
    shard_video *dec = NULL;
    shard_video_params vp = shard_video_default_params();
    rt_status st = shard_video_open(source, &vp, &dec);
    if (st != RT_OK) return st;
    if (p->on_open) p->on_open(p->ctx, shard_video_info_get(dec));
    if ((st = rt_stream_init(p->model, &p->stream, stream)) != RT_OK) goto done;
    shard_frame f;
    while ((st = shard_video_read(dec, &f)) == RT_OK) {
        rt_image img = {f.width, f.height, f.width * 3, f.rgb};
        const rt_frame_results *res = NULL;
        if ((st = rt_stream_step(*stream, &img, &res)) != RT_OK) {
            rt_error_wrap(st, "%s: frame %lld", source, (long long)f.index);
            goto done;
        }
        if ((st = p->on_frame(p->ctx, f.index, res)) != RT_OK) goto done;
    }
    if (st == SHARD_VIDEO_END) st = RT_OK;
done:
    shard_video_close(&dec);
    return st;
}

static void engine_on_open(void *ctx, const shard_video_info *info) {
    shard_sink_set_info(ctx, info->width, info->height, info->fps);
}

static rt_status engine_on_frame(void *ctx, int64_t frame, const rt_frame_results *res) {
    return shard_sink_frame(ctx, (int)frame, res->items, res->count);
}

static rt_status engine_process(void *ctx, const shard_plan_video *v, shard_sink *sink) {
    engine *e = ctx;
    cmd_video_run_params p = {.model = e->model,
                              .stream = rt_stream_default_params(),
                              .on_open = engine_on_open,
                              .on_frame = engine_on_frame,
                              .ctx = sink};
    p.stream.prototype_memory = e->memory;
    p.stream.refine_head = e->refine_head;
    p.stream.previous = e->memory == RT_PROTOTYPE_MEMORY_RANK ? e->previous : NULL;
    rt_stream *s = NULL;
    rt_status st = cmd_video_run(v->source, &p, &s);
    // RANK mode keeps the stream for the next video, also after a failure (the drift follows
    // what the rank ran); VIDEO mode frees it. Without a new stream the previous one stays.
    if (e->memory == RT_PROTOTYPE_MEMORY_RANK && s) {
        rt_stream_free(&e->previous);
        e->previous = s;
    } else {
        rt_stream_free(&s);
    }
    return st;
}

bool cmd_run_engine_hooks(cmd_run_hooks *out) {
    memset(out, 0, sizeof *out);
    engine *e = rt_calloc(1, sizeof *e);
    if (!e) return false;
    out->setup = engine_setup;
    out->process = engine_process;
    out->teardown = engine_teardown;
    out->ctx = e;
    return true;
}
