// image — PNG files read and written with libpng: frames, masks and label maps.
//
//     shard_image img = {0};
//     if (shard_png_read("gt/000001.png", SHARD_PNG_RAW, &img) != RT_OK) report(rt_error());
//     // img.depth 16, img.channels 1: KITTI-MOTS instance map, values class*1000+id
//     const uint16_t *px = (const uint16_t *)(img.data + y * img.stride) + x;
//     shard_image_free(&img);
//
//     shard_image out = {.data = rgb, .width = w, .height = h, .channels = 3, .depth = 8,
//                        .stride = 3 * (size_t)w};
//     shard_png_write("render/000001.png", &out);   // atomic: temp, fsync, rename
//
// Reading modes:
// - SHARD_PNG_RGB: 8-bit RGB whatever is stored (palette and grey expanded, alpha dropped,
//   16-bit reduced by dropping the low byte, as OpenCV's cv2.imread(IMREAD_COLOR) does; the
//   result matches OpenCV's (after BGR->RGB) byte for byte).
// - SHARD_PNG_RAW: the stored samples: grey or palette index (1 channel; a palette is NOT
//   expanded, so DAVIS/YouTube-VIS-style masks give instance ids), grey+alpha (2), RGB (3),
//   RGBA (4); depth 8 (1, 2 and 4-bit samples are unpacked to one byte each, not rescaled) or
//   16 (host-order uint16). Transparency chunks are ignored.
// Writing: depth 8 with 1, 3 or 4 channels, or depth 16 with 1 channel (KITTI-MOTS maps); rows
// `stride` bytes apart; default zlib level. The file appears under its name only when complete
// (runtime/fsutil.h).
//
// Errors: RT_ERR_IO (cannot open/read/write/rename), RT_ERR_FORMAT (not a PNG, size over
// 16384 on a side or 2^28 pixels), RT_ERR_DECODE (libpng rejects the data: truncated file, bad
// CRC, bad zlib stream; the message is libpng's), RT_ERR_INVAL (bad image description),
// RT_ERR_NOMEM. Every message names the file.
// Thread-safe on distinct images (libpng keeps no global state; errors use longjmp internally
// and never escape). Not collective.
#ifndef PCAN_SHARD_IMAGE_H
#define PCAN_SHARD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"

typedef struct shard_image {
    uint8_t *data;   // [height rows of stride bytes]; owned when filled by shard_png_read
    int width, height;
    int channels;    // 1..4
    int depth;       // bits per sample: 8 or 16
    size_t stride;   // bytes between rows
} shard_image;

typedef enum shard_png_mode {
    SHARD_PNG_RGB = 0,
    SHARD_PNG_RAW = 1,
} shard_png_mode;

// Reads `path` into *img (data allocated with rt_malloc, stride = width*channels*depth/8).
// *img is overwritten; on error it is left zeroed. Not collective.
rt_status shard_png_read(const char *path, shard_png_mode mode, shard_image *img);
// Writes *img (borrowed) to `path` atomically. Not collective.
rt_status shard_png_write(const char *path, const shard_image *img);
// Frees data read by shard_png_read and zeroes *img; accepts NULL and a zeroed image.
void shard_image_free(shard_image *img);

#endif
