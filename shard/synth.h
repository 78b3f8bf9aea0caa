// synth — synthetic MOTS videos with exact ground truth, for the demo model and for tests.
//
//     shard_synth_params p = shard_synth_default_params();
//     p.videos = 8; p.frames = 60; p.seed = 1;
//     if (shard_synth_write("data/synth", &p, progress_fn, NULL) != RT_OK) ... rt_error() ...
//
// Every video is a textured background that pans, with 2–8 objects of exactly three classes
// (1 car, 2 pedestrian, 3 bicycle: distinct shapes, colours and textures) that enter, leave,
// cross and occlude each other. Objects are painted far to near, so ground-truth masks are the
// visible parts and never overlap. Slivers (fewer than `min_visible` pixels or less than a tenth
// of the object) become the frame's ignore region (KITTI-MOTS id 10000, class 10), as KITTI
// marks what annotators cannot label. Difficulty: easy (few, slow, distinct objects), normal,
// hard (more objects, objects of a class look alike, objects travel together so occlusions
// last longer).
//
// Layout written under `out` (the `synth` dataset format):
//   classes.txt               "car", "pedestrian", "bicycle", one per line (class id = line)
//   instances_txt/<id>.txt    KITTI-MOTS lines: frame obj_id class_id h w rle (0-based frames,
//                             obj_id = class_id*1000 + instance)
//   videos/<id>.mp4           H.264 (or frames/<id>/000000.jpg ... with `jpeg`)
//   synth.yaml                the parameters, to regenerate the set
// Video ids are 4-digit ("0000"). Every file is written atomically. The output is a pure
// function of the parameters (our own PRNG, bit-exact encoders): the same seed gives the same
// bytes.
#ifndef PCAN_SHARD_SYNTH_H
#define PCAN_SHARD_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/core.h"

typedef enum shard_synth_difficulty {
    SHARD_SYNTH_EASY,
    SHARD_SYNTH_NORMAL,
    SHARD_SYNTH_HARD,
} shard_synth_difficulty;

typedef struct shard_synth_params {
    int videos;     // number of videos (>= 1)
    int frames;     // frames per video (>= 1)
    uint64_t seed;
    int width, height; // default 320x192 (even)
    int fps;           // default 10
    shard_synth_difficulty difficulty;
    bool jpeg;         // JPEG frame folders instead of MP4 files
    int first_video;   // index of the first video id (to extend a set); default 0
    int min_visible;   // pixels below which a visible part becomes ignore region; default 16
} shard_synth_params;

#define SHARD_SYNTH_CLASSES 3

shard_synth_params shard_synth_default_params(void);
const char *shard_synth_class_name(int class_id); // 1..3
const char *shard_synth_difficulty_name(shard_synth_difficulty d);

// Called after each video (may be NULL).
typedef void (*shard_synth_progress)(int done, int total, void *ctx);

// Writes the dataset. RT_ERR_INVAL for bad parameters, RT_ERR_IO / RT_ERR_DECODE naming the
// file on output errors (finished videos stay; the failing one leaves nothing).
rt_status shard_synth_write(const char *out, const shard_synth_params *params,
                            shard_synth_progress progress, void *ctx);

// Renders frame `t` of video `index` into rgb (width*height*3) and, when `ids` is not NULL,
// the visible object index per pixel (-1 background). Returns the number of objects. Exposed
// for tests.
typedef struct shard_synth_video shard_synth_video;
rt_status shard_synth_video_init(const shard_synth_params *params, int index,
                                 shard_synth_video **out);
int shard_synth_video_objects(const shard_synth_video *v);
// KITTI-MOTS class id (1..3) and object id of object i.
int shard_synth_object_class(const shard_synth_video *v, int i);
int shard_synth_object_id(const shard_synth_video *v, int i);
void shard_synth_video_render(const shard_synth_video *v, int t, uint8_t *rgb, int16_t *ids);
void shard_synth_video_free(shard_synth_video **v);

#endif
