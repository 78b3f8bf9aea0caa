// Video and image-sequence decoding into packed RGB (see video.h for the contract).
//
// Both kinds of input share one shape: `next_picture` leaves the next decoded AVFrame in
// v->pic (or returns SHARD_VIDEO_END / an error), `convert` turns it into v->rgb. The first
// picture is decoded by shard_video_open so that the size is known and checked before anything
// is sized from it.
#include "shard/video.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

// A folder frame larger than this is refused before it is read (an 16384² PNG is far smaller).
#define FOLDER_MAX_FILE_BYTES ((int64_t)1 << 30)
#define SWS_FLAGS (SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)

enum image_kind { IMAGE_JPEG, IMAGE_PNG, IMAGE_KINDS };

struct shard_video {
    shard_video_info info;
    shard_video_params params;
    char *path;

    // Container files.
    AVFormatContext *fmt;
    int stream;
    int64_t start_pts;
    AVCodecContext *cc;
    AVPacket *pkt;
    int flushing; // the demuxer is at its end and the decoder has been told
    int64_t packets_read;  // of the video stream
    int check_packets;     // the container's sample table is exact: fewer packets = truncated

    // Folders: names[i] points into name_blob, sorted naturally.
    char *name_blob;
    char **names;
    int64_t n_names;
    char *file_path; // dir + "/" + longest name, rebuilt per frame
    size_t dir_len;
    uint8_t *file_buf; // one file's bytes + AV_INPUT_BUFFER_PADDING_SIZE zeros
    size_t file_cap;
    AVCodecContext *image_cc[IMAGE_KINDS];

    // Both.
    AVFrame *pic;
    struct SwsContext *sws;
    int sws_key[4]; // format, width, full range, colour space of the current sws context
    uint8_t *rgb;
    int pic_is_jpeg;    // v->pic came from the mjpeg decoder
    uint8_t *chroma;    // [2,H,W] JPEG chroma upsampled to full size (allocated on first use)
    int *colsum;        // [W] one row of vertical sums for the upsampler
    int64_t next_index; // index of the next picture next_picture will produce
    int primed;         // v->rgb holds picture 0, not yet returned by shard_video_read
    double primed_seconds;
    rt_status sticky;   // once an error or the end is reached, every read returns it
    char sticky_msg[512];
};

shard_video_params shard_video_default_params(void) {
    shard_video_params p = {
        .threads = 1,
        .folder_fps = 0.0,
        .max_side = 16384,
        .max_pixels = (int64_t)1 << 28,
        .max_packets_per_frame = 4096,
        .accept_concealed = 0,
    };
    return p;
}

static const char *averr(int ret, char *buf, size_t cap) {
    if (av_strerror(ret, buf, cap) < 0) snprintf(buf, cap, "libav error %d", ret);
    return buf;
}

// libav's errno-style codes are I/O; its tagged codes (INVALIDDATA, EOF, ...) are format errors.
static rt_status open_status(int ret) {
    if (ret == AVERROR(ENOMEM)) return RT_ERR_NOMEM;
    if (ret < 0 && ret > -4096 && ret != AVERROR(EINVAL) && ret != AVERROR(ENOSYS)) return RT_ERR_IO;
    return RT_ERR_FORMAT;
}

static rt_status check_size(const shard_video *v, int w, int h, const char *where) {
    const shard_video_params *p = &v->params;
    if (w <= 0 || h <= 0)
        return rt_error_set(RT_ERR_FORMAT, "%s: %s has no valid size (%dx%d)", v->path, where, w,
                            h);
    if (w > p->max_side || h > p->max_side || (int64_t)w * h > p->max_pixels)
        return rt_error_set(RT_ERR_FORMAT,
                            "%s: %s is %dx%d, larger than allowed (at most %d on a side and "
                            "%lld pixels)",
                            v->path, where, w, h, p->max_side, (long long)p->max_pixels);
    return RT_OK;
}

// ---------------------------------------------------------------------------------------------
// Colour conversion

static int sws_colorspace(enum AVColorSpace cs) {
    switch (cs) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    default: return SWS_CS_DEFAULT; // BT.601: JPEG, SD video, and anything untagged
    }
}

// The deprecated full-range yuvj* formats become their yuv* twins plus an explicit full range;
// swscale then has nothing to warn about.
static enum AVPixelFormat unjpeg(enum AVPixelFormat f, int *full_range) {
    switch (f) {
    case AV_PIX_FMT_YUVJ420P: *full_range = 1; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: *full_range = 1; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: *full_range = 1; return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: *full_range = 1; return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P: *full_range = 1; return AV_PIX_FMT_YUV411P;
    default: return f;
    }
}

// libjpeg's "fancy" chroma upsampling, written from its description: a triangle filter where
// each output sample is 3/4 of the nearest input sample plus 1/4 of the next nearest (edges
// repeat), with libjpeg's alternating rounding biases. 4:2:0 and 4:2:2 JPEG pictures go through
// it so that they match OpenCV (libjpeg-turbo) instead of swscale's interpolation, which
// differs by up to ~90 levels at sharp colour edges.
static void fancy_row(const int *sum, int n, int bias_even, int bias_odd, int shift,
                      uint8_t *out, int out_w) {
    for (int i = 0; i < n; i++) {
        int left = sum[i > 0 ? i - 1 : 0], right = sum[i + 1 < n ? i + 1 : n - 1];
        int x = 2 * i;
        if (x < out_w) out[x] = (uint8_t)((3 * sum[i] + left + bias_even) >> shift);
        if (x + 1 < out_w) out[x + 1] = (uint8_t)((3 * sum[i] + right + bias_odd) >> shift);
    }
}

// [ch,cw] plane (stride in_stride) -> [h,w]; vertical 2x when v2 (4:2:0), else 4:2:2.
static void fancy_upsample(const uint8_t *in, int in_stride, int cw, int ch, int v2, uint8_t *out,
                           int w, int h, int *sum) {
    for (int y = 0; y < h; y++) {
        uint8_t *o = out + (size_t)y * (size_t)w;
        if (!v2) {
            const uint8_t *r = in + (size_t)y * (size_t)in_stride;
            for (int i = 0; i < cw; i++) sum[i] = r[i];
            fancy_row(sum, cw, 1, 2, 2, o, w);
            continue;
        }
        int j = y / 2;
        int nb = (y & 1) ? RT_MIN(j + 1, ch - 1) : RT_MAX(j - 1, 0);
        const uint8_t *r0 = in + (size_t)j * (size_t)in_stride;
        const uint8_t *r1 = in + (size_t)nb * (size_t)in_stride;
        for (int i = 0; i < cw; i++) sum[i] = 3 * r0[i] + r1[i];
        fancy_row(sum, cw, 8, 7, 4, o, w);
    }
}

// 16-bit big-endian layouts (what the PNG decoder gives): samples per pixel and whether grey.
static int high_byte_layout(int format, int *samples, int *grey) {
    switch (format) {
    case AV_PIX_FMT_RGB48BE: *samples = 3; *grey = 0; return 1;
    case AV_PIX_FMT_RGBA64BE: *samples = 4; *grey = 0; return 1;
    case AV_PIX_FMT_GRAY16BE: *samples = 1; *grey = 1; return 1;
    case AV_PIX_FMT_YA16BE: *samples = 2; *grey = 1; return 1;
    default: return 0;
    }
}

static rt_status convert(shard_video *v, const AVFrame *f, int64_t index) {
    int samples, grey;
    if (high_byte_layout(f->format, &samples, &grey)) {
        // Keep the high byte, as libpng's strip_16 (and so OpenCV) does; swscale would round.
        int w = v->info.width;
        for (int y = 0; y < v->info.height; y++) {
            const uint8_t *in = f->data[0] + (ptrdiff_t)y * f->linesize[0];
            uint8_t *out = v->rgb + (size_t)y * (size_t)w * 3;
            for (int x = 0; x < w; x++, in += 2 * samples, out += 3) {
                out[0] = in[0];
                out[1] = grey ? in[0] : in[2];
                out[2] = grey ? in[0] : in[4];
            }
        }
        return RT_OK;
    }
    int full = f->color_range == AVCOL_RANGE_JPEG;
    enum AVPixelFormat src = unjpeg((enum AVPixelFormat)f->format, &full);
    const uint8_t *planes[4] = {f->data[0], f->data[1], f->data[2], NULL};
    int strides[4] = {f->linesize[0], f->linesize[1], f->linesize[2], 0};
    if (v->pic_is_jpeg && (src == AV_PIX_FMT_YUV420P || src == AV_PIX_FMT_YUV422P)) {
        int w = v->info.width, h = v->info.height;
        size_t plane = (size_t)w * (size_t)h;
        if (!v->chroma) {
            v->chroma = rt_malloc(2 * plane);
            v->colsum = rt_malloc((size_t)w * sizeof *v->colsum);
            if (!v->chroma || !v->colsum)
                return rt_error_set(RT_ERR_NOMEM, "%s: frame %lld: out of memory", v->path,
                                    (long long)index);
        }
        int v2 = src == AV_PIX_FMT_YUV420P;
        int cw = (w + 1) / 2, ch = v2 ? (h + 1) / 2 : h;
        for (int c = 0; c < 2; c++) {
            uint8_t *out = v->chroma + (size_t)c * plane;
            fancy_upsample(f->data[1 + c], f->linesize[1 + c], cw, ch, v2, out, w, h, v->colsum);
            planes[1 + c] = out;
            strides[1 + c] = w;
        }
        src = AV_PIX_FMT_YUV444P;
    }
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(src);
    int is_yuv = desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3;
    // RGB is always full range; so is grey unless tagged otherwise (PNG leaves it untagged).
    if (!is_yuv) full = desc && (desc->flags & AV_PIX_FMT_FLAG_RGB)
                            ? 1 : f->color_range != AVCOL_RANGE_MPEG;
    int space = sws_colorspace(f->colorspace);
    int w = v->info.width, h = v->info.height;
    int key[4] = {src, w, full, space};
    if (!v->sws || memcmp(key, v->sws_key, sizeof key) != 0) {
        // Only a pixel-format or colour change mid-stream gets here after the first picture.
        struct SwsContext *s = sws_getCachedContext(v->sws, w, h, src, w, h, AV_PIX_FMT_RGB24,
                                                    SWS_FLAGS, NULL, NULL, NULL);
        if (!s) {
            v->sws = NULL;
            const char *name = av_get_pix_fmt_name(src);
            return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: cannot convert pixel format %s "
                                "to RGB", v->path, (long long)index, name ? name : "?");
        }
        v->sws = s;
        // Only YUV sources have coefficients; for RGB and grey the range alone matters.
        const int *coef = sws_getCoefficients(is_yuv ? space : SWS_CS_DEFAULT);
        sws_setColorspaceDetails(s, coef, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                 1 << 16, 1 << 16);
        memcpy(v->sws_key, key, sizeof key);
    }
    uint8_t *dst[4] = {v->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {3 * w, 0, 0, 0};
    int rows = sws_scale(v->sws, planes, strides, 0, h, dst, dst_stride);
    if (rows != h)
        return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: RGB conversion produced %d of %d rows",
                            v->path, (long long)index, rows, h);
    return RT_OK;
}

// ---------------------------------------------------------------------------------------------
// Container files

static rt_status file_open(shard_video *v, const struct stat *st) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    if (st->st_size == 0)
        return rt_error_set(RT_ERR_FORMAT, "%s: not a video: the file is empty (0 bytes)",
                            v->path);
    size_t n = strlen(v->path) + 6;
    char *url = rt_malloc(n);
    if (!url) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", v->path);
    // "file:" so that a colon in the name is never taken for a protocol; only local files.
    snprintf(url, n, "file:%s", v->path);
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    av_dict_set(&opts, "pattern_type", "none", 0); // image2: "%d" in a name is literal
    int ret = avformat_open_input(&v->fmt, url, NULL, &opts);
    av_dict_free(&opts);
    rt_free(url);
    if (ret < 0)
        return rt_error_set(open_status(ret), "%s: not a readable video: %s", v->path,
                            averr(ret, eb, sizeof eb));
    ret = avformat_find_stream_info(v->fmt, NULL);
    if (ret < 0)
        return rt_error_set(RT_ERR_FORMAT, "%s: cannot read stream information: %s", v->path,
                            averr(ret, eb, sizeof eb));
    const AVCodec *dec = NULL;
    ret = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
    if (ret == AVERROR_STREAM_NOT_FOUND)
        return rt_error_set(RT_ERR_FORMAT, "%s: not a video: no video stream (format %s)",
                            v->path, v->fmt->iformat->name);
    if (ret < 0 || !dec) {
        int s = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        const char *codec = s >= 0 ? avcodec_get_name(v->fmt->streams[s]->codecpar->codec_id)
                                   : "?";
        return rt_error_set(RT_ERR_FORMAT, "%s: no decoder for video codec %s", v->path, codec);
    }
    v->stream = ret;
    for (unsigned i = 0; i < v->fmt->nb_streams; i++)
        if ((int)i != v->stream) v->fmt->streams[i]->discard = AVDISCARD_ALL;
    AVStream *s = v->fmt->streams[v->stream];
    // Checked before the decoder sizes anything from the header.
    if (s->codecpar->width > 0 || s->codecpar->height > 0) {
        rt_status rs = check_size(v, s->codecpar->width, s->codecpar->height, "the header");
        if (rs != RT_OK) return rs;
    }
    v->cc = avcodec_alloc_context3(dec);
    v->pkt = av_packet_alloc();
    if (!v->cc || !v->pkt) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", v->path);
    ret = avcodec_parameters_to_context(v->cc, s->codecpar);
    if (ret < 0)
        return rt_error_set(RT_ERR_FORMAT, "%s: bad codec parameters: %s", v->path,
                            averr(ret, eb, sizeof eb));
    v->cc->thread_count = v->params.threads;
    // The decoder itself refuses oversized pictures (a later SPS can announce a new size).
    v->cc->max_pixels = RT_MIN(v->params.max_pixels, (int64_t)INT_MAX);
    v->cc->pkt_timebase = s->time_base;
    ret = avcodec_open2(v->cc, dec, NULL);
    if (ret < 0)
        return rt_error_set(RT_ERR_FORMAT, "%s: cannot open the %s decoder: %s", v->path,
                            dec->name, averr(ret, eb, sizeof eb));

    v->info.codec = dec->name;
    v->pic_is_jpeg = dec->id == AV_CODEC_ID_MJPEG;
    AVRational fr = av_guess_frame_rate(v->fmt, s, NULL);
    if (fr.num > 0 && fr.den > 0) v->info.fps = av_q2d(fr);
    v->start_pts = s->start_time != AV_NOPTS_VALUE ? s->start_time : 0;
    if (s->nb_frames > 0) {
        v->info.frames = s->nb_frames;
        v->info.frames_source = SHARD_VIDEO_COUNT_CONTAINER;
        // MP4/MOV count samples exactly (one packet each, even those an edit list hides from
        // the output), so missing packets mean a cut file. AVI headers are not that reliable.
        v->check_packets = strstr(v->fmt->iformat->name, "mp4") != NULL;
    } else {
        double secs = -1;
        if (s->duration != AV_NOPTS_VALUE && s->duration > 0)
            secs = (double)s->duration * av_q2d(s->time_base);
        else if (v->fmt->duration != AV_NOPTS_VALUE && v->fmt->duration > 0)
            secs = (double)v->fmt->duration / AV_TIME_BASE;
        if (secs > 0 && v->info.fps > 0) {
            v->info.frames = (int64_t)llround(secs * v->info.fps);
            v->info.frames_source = SHARD_VIDEO_COUNT_ESTIMATED;
        }
    }
    return RT_OK;
}

static rt_status file_next(shard_video *v) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    long long at = (long long)v->next_index;
    for (int packets = 0; packets <= v->params.max_packets_per_frame;) {
        int ret = avcodec_receive_frame(v->cc, v->pic);
        if (ret == 0 && v->pic->decode_error_flags && !v->params.accept_concealed)
            return rt_error_set(RT_ERR_DECODE,
                                "%s: frame %lld: corrupt data (the decoder had to conceal "
                                "errors; error flags 0x%x)",
                                v->path, at, (unsigned)v->pic->decode_error_flags);
        if (ret == 0) return RT_OK;
        if (ret == AVERROR_EOF) return SHARD_VIDEO_END;
        if (ret != AVERROR(EAGAIN))
            return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: decode error: %s", v->path, at,
                                averr(ret, eb, sizeof eb));
        if (v->flushing)
            return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: decoder stalled while draining",
                                v->path, at);
        ret = av_read_frame(v->fmt, v->pkt);
        if (ret == AVERROR_EOF && v->check_packets && v->packets_read < v->info.frames)
            return rt_error_set(RT_ERR_DECODE,
                                "%s: frame %lld: the file ends after %lld of the %lld packets "
                                "its index lists (truncated file?)",
                                v->path, at, (long long)v->packets_read, (long long)v->info.frames);
        if (ret == AVERROR_EOF) {
            v->flushing = 1;
            ret = avcodec_send_packet(v->cc, NULL);
            if (ret < 0 && ret != AVERROR_EOF)
                return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: decoder flush failed: %s",
                                    v->path, at, averr(ret, eb, sizeof eb));
            continue;
        }
        if (ret < 0)
            return rt_error_set(RT_ERR_DECODE,
                                "%s: frame %lld: read error (truncated or corrupt file): %s",
                                v->path, at, averr(ret, eb, sizeof eb));
        packets++;
        if (v->pkt->stream_index != v->stream) {
            av_packet_unref(v->pkt);
            continue;
        }
        v->packets_read++;
        if (v->pkt->flags & AV_PKT_FLAG_CORRUPT) {
            av_packet_unref(v->pkt);
            return rt_error_set(RT_ERR_DECODE,
                                "%s: frame %lld: the demuxer marks the packet corrupt "
                                "(truncated file?)", v->path, at);
        }
        // receive_frame said EAGAIN, so the decoder accepts input now.
        ret = avcodec_send_packet(v->cc, v->pkt);
        av_packet_unref(v->pkt);
        if (ret < 0)
            return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: corrupt data: %s", v->path, at,
                                averr(ret, eb, sizeof eb));
    }
    return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: no picture after %d packets", v->path, at,
                        v->params.max_packets_per_frame);
}

// ---------------------------------------------------------------------------------------------
// Image folders

static int image_kind_of(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return -1;
    if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")) return IMAGE_JPEG;
    if (!strcasecmp(dot, ".png")) return IMAGE_PNG;
    return -1;
}

// Runs of digits compare by value, the rest byte by byte; ties ("7" vs "007") by plain strcmp
// so that the order is total and does not depend on readdir.
static int natural_cmp(const char *a0, const char *b0) {
    const unsigned char *a = (const unsigned char *)a0, *b = (const unsigned char *)b0;
    while (*a && *b) {
        if (isdigit(*a) && isdigit(*b)) {
            while (*a == '0') a++;
            while (*b == '0') b++;
            const unsigned char *ae = a, *be = b;
            while (isdigit(*ae)) ae++;
            while (isdigit(*be)) be++;
            if (ae - a != be - b) return ae - a < be - b ? -1 : 1;
            int c = memcmp(a, b, (size_t)(ae - a));
            if (c) return c < 0 ? -1 : 1;
            a = ae;
            b = be;
        } else {
            if (*a != *b) return *a < *b ? -1 : 1;
            a++;
            b++;
        }
    }
    if (*a || *b) return *a ? 1 : -1;
    return strcmp(a0, b0);
}

static int natural_qsort(const void *x, const void *y) {
    return natural_cmp(*(char *const *)x, *(char *const *)y);
}

static int is_regular(int dfd, const struct dirent *e) {
    if (e->d_type == DT_REG) return 1;
    if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK) return 0;
    struct stat st;
    return fstatat(dfd, e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

// Collects the image names into one blob (offsets first, turned into pointers once the blob
// stops moving), then sorts them.
static rt_status folder_list(shard_video *v) {
    rt_status s = RT_OK;
    size_t *offs = NULL;
    size_t blob_len = 0, blob_cap = 0, offs_cap = 0, longest = 0;
    int64_t n = 0, ignored = 0;
    DIR *d = opendir(v->path);
    if (!d) return rt_error_set(RT_ERR_IO, "%s: cannot open folder: %s", v->path, strerror(errno));
    int dfd = dirfd(d);
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (image_kind_of(e->d_name) < 0 || !is_regular(dfd, e)) {
            ignored++;
            continue;
        }
        size_t len = strlen(e->d_name);
        if (blob_len + len + 1 > blob_cap) {
            size_t cap = RT_MAX(blob_cap * 2, blob_len + len + 1 + 4096);
            char *nb = rt_realloc(v->name_blob, cap);
            if (!nb) goto nomem;
            v->name_blob = nb;
            blob_cap = cap;
        }
        if ((size_t)n == offs_cap) {
            size_t cap = RT_MAX(offs_cap * 2, 256);
            size_t *no = rt_realloc(offs, cap * sizeof *offs);
            if (!no) goto nomem;
            offs = no;
            offs_cap = cap;
        }
        memcpy(v->name_blob + blob_len, e->d_name, len + 1);
        offs[n++] = blob_len;
        blob_len += len + 1;
        longest = RT_MAX(longest, len);
        errno = 0;
    }
    if (errno) {
        s = rt_error_set(RT_ERR_IO, "%s: cannot list folder: %s", v->path, strerror(errno));
        goto done;
    }
    if (n == 0) {
        s = rt_error_set(RT_ERR_FORMAT,
                         ignored ? "%s: no frames: the folder has no .jpg/.jpeg/.png files "
                                   "(%lld other entries ignored)"
                                 : "%s: no frames: the folder is empty",
                         v->path, (long long)ignored);
        goto done;
    }
    v->names = rt_malloc((size_t)n * sizeof *v->names);
    v->dir_len = strlen(v->path);
    v->file_path = rt_malloc(v->dir_len + longest + 2);
    if (!v->names || !v->file_path) goto nomem;
    for (int64_t i = 0; i < n; i++) v->names[i] = v->name_blob + offs[i];
    qsort(v->names, (size_t)n, sizeof *v->names, natural_qsort);
    v->n_names = n;
    memcpy(v->file_path, v->path, v->dir_len);
    v->file_path[v->dir_len] = '/';
    goto done;
nomem:
    s = rt_error_set(RT_ERR_NOMEM, "%s: out of memory listing the folder", v->path);
done:
    rt_free(offs);
    closedir(d);
    return s;
}

static rt_status image_decoder(shard_video *v, int kind, AVCodecContext **out) {
    if (v->image_cc[kind]) {
        *out = v->image_cc[kind];
        return RT_OK;
    }
    const AVCodec *dec = avcodec_find_decoder(kind == IMAGE_JPEG ? AV_CODEC_ID_MJPEG
                                                                 : AV_CODEC_ID_PNG);
    if (!dec) return rt_error_set(RT_ERR_FORMAT, "%s: libavcodec has no %s decoder", v->path,
                                  kind == IMAGE_JPEG ? "JPEG" : "PNG");
    AVCodecContext *cc = avcodec_alloc_context3(dec);
    if (!cc) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", v->path);
    // One packet in, one picture out, so that every error belongs to one file.
    cc->thread_count = 1;
    cc->max_pixels = RT_MIN(v->params.max_pixels, (int64_t)INT_MAX);
    // Strict: a truncated JPEG (missing EOI) or a broken scan is an error rather than a
    // patched-up picture.
    if (!v->params.accept_concealed) cc->err_recognition |= AV_EF_EXPLODE;
    int ret = avcodec_open2(cc, dec, NULL);
    if (ret < 0) {
        char eb[AV_ERROR_MAX_STRING_SIZE];
        avcodec_free_context(&cc);
        return rt_error_set(RT_ERR_FORMAT, "%s: cannot open the %s decoder: %s", v->path,
                            dec->name, averr(ret, eb, sizeof eb));
    }
    v->image_cc[kind] = cc;
    *out = cc;
    return RT_OK;
}

// Reads the whole file into v->file_buf (grown geometrically, so only a handful of times).
static rt_status read_file(shard_video *v, const char *path, long long at, size_t *len) {
    rt_status s = RT_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rt_error_set(RT_ERR_IO, "%s: frame %lld: cannot open: %s", path, at,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s = rt_error_set(RT_ERR_IO, "%s: frame %lld: %s", path, at, strerror(errno));
        goto done;
    }
    if (st.st_size <= 0 || st.st_size > FOLDER_MAX_FILE_BYTES) {
        s = rt_error_set(st.st_size <= 0 ? RT_ERR_DECODE : RT_ERR_FORMAT,
                         "%s: frame %lld: unreadable image: file size %lld bytes", path, at,
                         (long long)st.st_size);
        goto done;
    }
    size_t need = (size_t)st.st_size + AV_INPUT_BUFFER_PADDING_SIZE;
    if (need > v->file_cap) {
        size_t cap = RT_MAX(need, v->file_cap * 2);
        uint8_t *nb = rt_realloc(v->file_buf, cap);
        if (!nb) {
            s = rt_error_set(RT_ERR_NOMEM, "%s: frame %lld: out of memory", path, at);
            goto done;
        }
        v->file_buf = nb;
        v->file_cap = cap;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, v->file_buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s = rt_error_set(RT_ERR_IO, "%s: frame %lld: read failed: %s", path, at,
                             strerror(errno));
            goto done;
        }
        if (r == 0) break; // shrank under us: decode what is there
        got += (size_t)r;
    }
    memset(v->file_buf + got, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    *len = got;
done:
    close(fd);
    return s;
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

// The size a PNG or JPEG header announces, so that an absurd one is refused with a clear
// message before the decoder allocates for it. 0 when not found (the decoder then decides).
static void peek_image_size(const uint8_t *b, size_t n, int kind, int64_t *w, int64_t *h) {
    *w = *h = 0;
    if (kind == IMAGE_PNG) {
        if (n >= 24 && !memcmp(b + 12, "IHDR", 4)) {
            *w = be32(b + 16);
            *h = be32(b + 20);
        }
        return;
    }
    // JPEG: walk the marker segments after SOI up to the first SOFn.
    size_t i = 2;
    while (i + 9 < n && b[i] == 0xFF) {
        uint8_t m = b[i + 1];
        if (m == 0xFF) { // fill byte
            i++;
            continue;
        }
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            *h = be16(b + i + 5);
            *w = be16(b + i + 7);
            return;
        }
        i += 2 + be16(b + i + 2);
    }
}

static rt_status folder_next(shard_video *v) {
    char eb[AV_ERROR_MAX_STRING_SIZE];
    if (v->next_index >= v->n_names) return SHARD_VIDEO_END;
    long long at = (long long)v->next_index;
    const char *name = v->names[v->next_index];
    strcpy(v->file_path + v->dir_len + 1, name); // sized for the longest name at open
    const char *path = v->file_path;
    AVCodecContext *cc = NULL;
    v->pic_is_jpeg = image_kind_of(name) == IMAGE_JPEG;
    rt_status s = image_decoder(v, image_kind_of(name), &cc);
    if (s != RT_OK) return s;
    size_t len = 0;
    if ((s = read_file(v, path, at, &len)) != RT_OK) return s;
    if (len > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return rt_error_set(RT_ERR_FORMAT, "%s: frame %lld: file too large", path, at);
    int64_t pw, ph;
    peek_image_size(v->file_buf, len, image_kind_of(name), &pw, &ph);
    if (pw > v->params.max_side || ph > v->params.max_side || pw * ph > v->params.max_pixels)
        return rt_error_set(RT_ERR_FORMAT,
                            "%s: frame %lld: the image is %lldx%lld, larger than allowed (at "
                            "most %d on a side and %lld pixels)",
                            path, at, (long long)pw, (long long)ph, v->params.max_side,
                            (long long)v->params.max_pixels);
    v->pkt->data = v->file_buf;
    v->pkt->size = (int)len;
    // Without the key flag libavcodec's PNG decoder treats a packet as a delta frame and adds
    // the previous picture to it.
    v->pkt->flags = AV_PKT_FLAG_KEY;
    int ret = avcodec_send_packet(cc, v->pkt);
    v->pkt->data = NULL;
    v->pkt->size = 0;
    v->pkt->flags = 0;
    if (ret >= 0) ret = avcodec_receive_frame(cc, v->pic);
    if (ret == AVERROR(EAGAIN))
        return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: unreadable image: no picture in it",
                            path, at);
    if (ret < 0)
        return rt_error_set(RT_ERR_DECODE, "%s: frame %lld: unreadable image: %s", path, at,
                            averr(ret, eb, sizeof eb));
    return RT_OK;
}

// ---------------------------------------------------------------------------------------------
// Reader

// Decodes the next picture into v->pic and checks it against the first one's size.
static rt_status next_picture(shard_video *v) {
    av_frame_unref(v->pic);
    rt_status s = v->info.is_folder ? folder_next(v) : file_next(v);
    if (s != RT_OK) return s;
    int w = v->pic->width, h = v->pic->height;
    if (v->next_index == 0) {
        char where[300];
        if (v->info.is_folder)
            snprintf(where, sizeof where, "frame 0 (%s)", v->names[0]);
        else
            snprintf(where, sizeof where, "frame 0");
        if ((s = check_size(v, w, h, where)) != RT_OK) return s;
        v->info.width = w;
        v->info.height = h;
    } else if (w != v->info.width || h != v->info.height) {
        return rt_error_set(RT_ERR_FORMAT,
                            "%s: frame %lld is %dx%d but frame 0 is %dx%d (the frame size must "
                            "not change)",
                            v->info.is_folder ? v->file_path : v->path,
                            (long long)v->next_index, w, h, v->info.width, v->info.height);
    }
    return RT_OK;
}

static double picture_seconds(const shard_video *v, int64_t index) {
    if (v->info.is_folder) return v->info.fps > 0 ? (double)index / v->info.fps : -1.0;
    int64_t ts = v->pic->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) return -1.0;
    return (double)(ts - v->start_pts) * av_q2d(v->fmt->streams[v->stream]->time_base);
}

static rt_status folder_open(shard_video *v) {
    rt_status s = folder_list(v);
    if (s != RT_OK) return s;
    v->pkt = av_packet_alloc();
    if (!v->pkt) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", v->path);
    v->info.is_folder = 1;
    v->info.fps = v->params.folder_fps;
    v->info.frames = v->n_names;
    v->info.frames_source = SHARD_VIDEO_COUNT_EXACT;
    return RT_OK;
}

rt_status shard_video_open(const char *path, const shard_video_params *params,
                           shard_video **out) {
    if (!out || !path || !*path)
        return rt_error_set(RT_ERR_INVAL, "shard_video_open: %s", !out ? "out is NULL"
                                                                        : "empty path");
    *out = NULL;
    shard_video_params p = params ? *params : shard_video_default_params();
    if (p.threads < 0 || p.max_side <= 0 || p.max_pixels <= 0 || p.max_packets_per_frame <= 0 ||
        !(p.folder_fps >= 0))
        return rt_error_set(RT_ERR_INVAL, "%s: invalid video reader parameters", path);
    struct stat st;
    if (stat(path, &st) != 0)
        return rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return rt_error_set(RT_ERR_FORMAT, "%s: not a video file or a folder of images", path);

    rt_status s = RT_OK;
    shard_video *v = rt_calloc(1, sizeof *v);
    if (!v) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
    v->params = p;
    v->stream = -1;
    v->path = rt_strdup(path);
    v->pic = av_frame_alloc();
    if (!v->path || !v->pic) {
        s = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    v->info.path = v->path;
    s = S_ISDIR(st.st_mode) ? folder_open(v) : file_open(v, &st);
    if (s != RT_OK) goto fail;
    if (v->info.is_folder) v->info.codec = image_kind_of(v->names[0]) == IMAGE_JPEG ? "mjpeg"
                                                                                   : "png";

    s = next_picture(v);
    if (s == SHARD_VIDEO_END) {
        s = rt_error_set(RT_ERR_FORMAT, "%s: no frames: the video stream is empty", path);
        goto fail;
    }
    if (s != RT_OK) goto fail;
    v->rgb = rt_malloc((size_t)v->info.width * (size_t)v->info.height * 3 + 64);
    if (!v->rgb) {
        s = rt_error_set(RT_ERR_NOMEM, "%s: out of memory for %dx%d frames", path,
                         v->info.width, v->info.height);
        goto fail;
    }
    if ((s = convert(v, v->pic, 0)) != RT_OK) goto fail;
    v->primed = 1;
    v->primed_seconds = picture_seconds(v, 0);
    v->next_index = 1;
    *out = v;
    return RT_OK;
fail:
    shard_video_close(&v);
    return s;
}

static void fill_frame(const shard_video *v, shard_frame *f, int64_t index, double seconds) {
    f->rgb = v->rgb;
    f->width = v->info.width;
    f->height = v->info.height;
    f->index = index;
    f->seconds = seconds;
    f->name = v->info.is_folder ? v->names[index] : NULL;
}

rt_status shard_video_read(shard_video *v, shard_frame *frame) {
    if (!v || !frame) return rt_error_set(RT_ERR_INVAL, "shard_video_read: NULL argument");
    if (v->sticky != RT_OK) {
        if (v->sticky != SHARD_VIDEO_END) rt_error_set(v->sticky, "%s", v->sticky_msg);
        return v->sticky;
    }
    if (v->primed) {
        v->primed = 0;
        fill_frame(v, frame, 0, v->primed_seconds);
        return RT_OK;
    }
    int64_t index = v->next_index;
    rt_status s = next_picture(v);
    if (s == RT_OK) s = convert(v, v->pic, index);
    if (s != RT_OK) {
        v->sticky = s;
        if (s != SHARD_VIDEO_END) snprintf(v->sticky_msg, sizeof v->sticky_msg, "%s", rt_error());
        av_frame_unref(v->pic);
        return s;
    }
    v->next_index++;
    fill_frame(v, frame, index, picture_seconds(v, index));
    return RT_OK;
}

const shard_video_info *shard_video_info_get(const shard_video *v) { return v ? &v->info : NULL; }

void shard_video_close(shard_video **pv) {
    if (!pv || !*pv) return;
    shard_video *v = *pv;
    sws_freeContext(v->sws);
    av_frame_free(&v->pic);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->cc);
    for (int k = 0; k < IMAGE_KINDS; k++) avcodec_free_context(&v->image_cc[k]);
    avformat_close_input(&v->fmt);
    rt_free(v->rgb);
    rt_free(v->chroma);
    rt_free(v->colsum);
    rt_free(v->file_buf);
    rt_free(v->file_path);
    rt_free(v->names);
    rt_free(v->name_blob);
    rt_free(v->path);
    rt_free(v);
    *pv = NULL;
}
