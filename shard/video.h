// video — decode one video (a container file or a folder of images) into packed RGB frames.
//
//     shard_video_params p = shard_video_default_params();
//     shard_video *v = NULL;
//     if (shard_video_open(path, &p, &v) != RT_OK) { report(rt_error()); return; }
//     shard_frame f;
//     rt_status s;
//     while ((s = shard_video_read(v, &f)) == RT_OK)
//         use(f.rgb, f.width, f.height, f.index);     // [H,W,3] uint8, RGB, row-major
//     if (s != SHARD_VIDEO_END) report(rt_error());    // names the file and the frame
//     shard_video_close(&v);
//
// Inputs
// - A regular file: anything libavformat/libavcodec open (mp4, mkv, avi, webm, mov; H.264, HEVC,
//   MPEG-4, VP8/VP9, MJPEG, ...). The best video stream is decoded; other streams are discarded
//   by the demuxer. Only the local `file` protocol is allowed (no URLs). Frames are returned in
//   decode output order, one per decoded picture; no frame-rate conversion or duplication.
// - A directory: an image sequence. Files ending in .jpg, .jpeg or .png (any case) are frames;
//   every other entry (other extensions, names starting with '.', subdirectories) is ignored.
//   Frames are sorted in natural order (runs of digits compare as numbers: frame2.jpg before
//   frame10.jpg; equal numbers with different zero padding fall back to byte order). Each file
//   is decoded with libavcodec (mjpeg or png decoder, chosen by extension; one decoder per kind,
//   single-threaded because each frame is its own packet and an error must name its file).
//
// Conversion: libswscale to RGB24 at the source size (bilinear, accurate rounding, full chroma
// interpolation). The deprecated yuvj* formats are mapped to their yuv* twins with full range,
// so swscale never logs the "deprecated pixel format" warning. YUV coefficients follow the
// frame's colour-space tag (BT.709, BT.2020, ...); untagged frames use BT.601 (what JPEG uses).
// Alpha is dropped; 16-bit PNG samples keep their high byte (as OpenCV does).
//
// JPEG and OpenCV: the reference pipeline reads frames with cv2.imread (libjpeg-turbo), whose
// IDCT and "fancy" (triangle-filter) chroma upsampling differ from libavcodec + swscale: on a
// noisy 1280x720 4:2:0 JPEG plain swscale was off by up to 90 levels (mean 1.37) at sharp colour
// edges. So 4:2:0 and 4:2:2 pictures from the mjpeg decoder get libjpeg's upsampling here
// (reimplemented) and only then the YUV 4:4:4 -> RGB step; what remains is IDCT/rounding:
// measured max 3, mean 0.05 levels (1280x720, 4:2:0 and 4:2:2, grey, baseline, progressive,
// restart markers; tests/test_video.c checks max <= 3 on a committed OpenCV-made fixture).
// PNGs (8 or 16 bits, grey, palette, alpha) decode exactly as OpenCV's.
// Effect on results (measured on the 18-frame tiny fixture video saved as JPEG q90, `pcan infer`
// on the JPEG folder vs on OpenCV's decode of it saved as PNG): 193 of 209 detections agree
// (same label, box within 2 px, at most 0.8 px apart), 9 of 18 frames give identical detection
// sets, and track ids diverge after the first differing decision. The tiny model has random
// weights and sits near its thresholds (fixtures need margins of 1e-6); for bit-identical
// parity with the reference, feed PNG frames or videos rather than JPEG.
//
// Metadata (shard_video_info): width and height (of the first frame, which every later frame
// must match), fps, the frame count and how it was obtained (`frames_source`): EXACT for
// folders (number of image files), CONTAINER when the container stores it (mp4/mov/avi), else
// ESTIMATED from duration × fps (mkv/webm), UNKNOWN (0) when neither is known. Reading always
// ends at the real end of the stream, whatever the count said. Folders report
// params.folder_fps (0 = unknown).
//
// Errors (all with a message naming the path, and the frame index where there is one):
// - RT_ERR_IO: the path does not exist or cannot be read; a folder frame cannot be read.
// - RT_ERR_FORMAT: not a video (no demuxer, no video stream, no decoder); empty folder or one
//   with no image files; zero frames; absurd size (> params.max_side on a side or
//   > params.max_pixels pixels; checked from the container or image header before decoding);
//   a frame whose size differs from the first (mixed folder
//   sizes, mid-stream resolution change).
// - RT_ERR_DECODE: a packet or image the decoder rejects, a packet the demuxer marks corrupt,
//   or a read error in the middle of the file (truncated data), or an MP4/MOV that ends before
//   all the packets its sample table lists (cut at a packet boundary). A file cut short
//   elsewhere can end early without an error when the format has no index to compare with
//   (Matroska/WebM, raw streams): `frames` then exceeds what was read, and callers that know
//   the expected count (ground truth) should compare. Edit lists can make an intact MP4
//   return fewer frames than `frames` too (the count includes hidden samples), without error.
//   A corrupt frame mid-stream FAILS the video rather than being skipped: skipping would
//   silently shift every later frame index against the ground truth. By default this includes pictures the decoder repaired:
//   a video frame whose decode_error_flags are set (concealed macroblocks), and a folder image
//   the decoder rejects in its strict mode (AV_EF_EXPLODE: a JPEG without its end marker, a
//   broken scan). OpenCV would return such pictures with a warning; params.accept_concealed = 1
//   does the same. Damage that leaves no trace in the decoder is not detected. Every loop is
//   bounded (params.max_packets_per_frame packets may pass without a picture), so a hostile
//   file cannot hang the reader.
// - RT_ERR_NOMEM, RT_ERR_INVAL (bad arguments or params).
// The frame index in a message is the index the failed read would have returned; decoders with
// a delay (B-frames, frame threads) may have choked on a packet of a slightly later frame.
// After an error the reader is finished: every later read returns the same status.
//
// Memory does not grow with the video's length: one packet and one decoded picture are held at a
// time, the RGB buffer is allocated at open and reused, and shard_video_read makes no rt_malloc
// calls (libav's own buffer pools are reused too) except when a folder image is larger than any
// before it (the file buffer grows) or the pixel format changes mid-stream (a new swscale
// context). A folder holds its list of file names (~20 bytes a frame).
//
// Thread safety: a shard_video is used by one thread at a time; different readers are
// independent. libav's log level is process-wide and is left to the program (cmd/).
// Not collective (no MPI).
#ifndef PCAN_SHARD_VIDEO_H
#define PCAN_SHARD_VIDEO_H

#include <stdint.h>

#include "runtime/core.h"

// Returned by shard_video_read at the end of the stream. Positive, so it is neither RT_OK nor
// an error (`s < 0`); rt_error() is not changed by it.
#define SHARD_VIDEO_END ((rt_status)1)

typedef struct shard_video_params {
    int threads;                  // decoder threads for container files (default 1; 0 = auto)
    double folder_fps;            // fps reported for image folders (default 0 = unknown)
    int max_side;                 // refuse larger widths/heights (default 16384)
    int64_t max_pixels;           // refuse larger width × height (default 2^28)
    int max_packets_per_frame;    // packets without a picture before giving up (default 4096)
    int accept_concealed;         // 1: return pictures the decoder repaired (see Errors);
                                  // default 0
} shard_video_params;

shard_video_params shard_video_default_params(void);

typedef enum shard_video_count {
    SHARD_VIDEO_COUNT_UNKNOWN = 0, // frames == 0
    SHARD_VIDEO_COUNT_EXACT,       // folder: the number of image files
    SHARD_VIDEO_COUNT_CONTAINER,   // stored by the container (may still disagree with the data)
    SHARD_VIDEO_COUNT_ESTIMATED,   // duration × fps, rounded
} shard_video_count;

typedef struct shard_video_info {
    const char *path;     // as given to shard_video_open; owned by the reader
    int is_folder;        // 1 for an image sequence
    int width, height;    // of every frame
    double fps;           // 0 when unknown
    int64_t frames;       // see frames_source
    shard_video_count frames_source;
    const char *codec;    // libavcodec's name ("h264", "mjpeg", "png", ...); static string
} shard_video_info;

typedef struct shard_frame {
    const uint8_t *rgb;   // [height, width, 3], stride width*3; owned by the reader, valid until
                          // the next read or close
    int width, height;
    int64_t index;        // 0-based position in the stream
    double seconds;       // presentation time (container timestamp; index / fps for folders;
                          // -1 when unknown)
    const char *name;     // folder: the frame's file name (no directory); NULL for files
} shard_frame;

typedef struct shard_video shard_video;

// Opens `path` (file or folder), decodes the first frame to learn and check the size, and sets
// *out. `params` may be NULL for the defaults. Returns RT_OK or an error above (*out stays
// NULL). Not collective.
rt_status shard_video_open(const char *path, const shard_video_params *params,
                           shard_video **out);
// Closes the reader and frees everything; accepts NULL and sets *v to NULL.
void shard_video_close(shard_video **v);
// The next frame into *frame: RT_OK, SHARD_VIDEO_END at the end, or an error (see above).
rt_status shard_video_read(shard_video *v, shard_frame *frame);
// Borrowed; valid until close.
const shard_video_info *shard_video_info_get(const shard_video *v);

#endif
