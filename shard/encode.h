// encode — writing RGB frames as a video file (H.264 in MP4 via libavcodec/libx264) or as a
// folder of JPEG files (libavcodec's MJPEG encoder), for `pcan synth` and `pcan render`.
//
//     shard_encoder *e;
//     shard_encoder_params p = shard_encoder_default_params();
//     p.width = 320; p.height = 192; p.fps = 10;
//     if (shard_encoder_open("out/0000.mp4", &p, &e) != RT_OK) { ... rt_error() ... }
//     for each frame: shard_encoder_write(e, rgb, stride);
//     shard_encoder_close(&e, true);     // true: finish and publish under the final name
//
// Outputs appear only when complete: a video is written to "<path>.tmp.<pid>" and renamed by
// close(commit = true) after fsync; a JPEG folder is filled with temp-named files that are each
// fsynced and renamed. close(commit = false) removes what was written. Encoding is bit-exact
// (single-threaded encoder, bitexact flags), so the same frames give the same bytes.
// Not thread-safe; one encoder per thread. Allocates at open; write() does not allocate.
#ifndef PCAN_SHARD_ENCODE_H
#define PCAN_SHARD_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/core.h"

typedef enum shard_encoder_kind {
    SHARD_ENCODER_H264_MP4,   // path is the .mp4 file
    SHARD_ENCODER_JPEG_FOLDER, // path is a folder; frames are 000000.jpg, 000001.jpg, ...
} shard_encoder_kind;

typedef struct shard_encoder_params {
    shard_encoder_kind kind;
    int width, height; // even sizes for H.264 (yuv420p)
    int fps;
    int crf;     // H.264 quality (default 18; lower is better)
    int quality; // JPEG qscale 2..31 (default 2; lower is better)
} shard_encoder_params;

typedef struct shard_encoder shard_encoder;

shard_encoder_params shard_encoder_default_params(void);

// RT_ERR_INVAL for bad sizes, RT_ERR_IO when the file cannot be created, RT_ERR_DECODE (codec
// errors) with the file named.
rt_status shard_encoder_open(const char *path, const shard_encoder_params *params,
                             shard_encoder **out);
// Encodes one packed RGB frame (width*height*3 bytes, rows `stride` bytes apart).
// The frame buffer must stay readable SHARD_ENCODER_PADDING bytes past its last pixel: swscale's
// SIMD converters read whole vectors and run past the end of a tightly sized buffer.
#define SHARD_ENCODER_PADDING 64
rt_status shard_encoder_write(shard_encoder *e, const uint8_t *rgb, int stride);
// Flushes and closes. With commit, the output appears under its final name (status returned);
// without, everything written is removed. Accepts NULL; sets *e to NULL.
rt_status shard_encoder_close(shard_encoder **e, bool commit);

#endif
