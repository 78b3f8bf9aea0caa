#include "shard/encode.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/fsutil.h"

struct shard_encoder {
    shard_encoder_params p;
    char *path;     // final name (file or folder)
    char *tmp_path; // H.264: temp file being written
    AVFormatContext *fmt;
    AVCodecContext *codec;
    AVStream *stream;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    int64_t next_pts;
    int frames;
};

shard_encoder_params shard_encoder_default_params(void) {
    shard_encoder_params p = {0};
    p.kind = SHARD_ENCODER_H264_MP4;
    p.fps = 10;
    p.crf = 18;
    p.quality = 2;
    return p;
}

static rt_status av_fail(const shard_encoder *e, const char *what, int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(err, buf, sizeof buf);
    return rt_error_set(RT_ERR_DECODE, "%s: %s: %s", e->path, what, buf);
}

static void encoder_release(shard_encoder *e) {
    if (e->fmt) {
        if (e->fmt->pb) avio_closep(&e->fmt->pb);
        avformat_free_context(e->fmt);
    }
    avcodec_free_context(&e->codec);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    sws_freeContext(e->sws);
    rt_free(e->path);
    rt_free(e->tmp_path);
    rt_free(e);
}

static rt_status open_codec(shard_encoder *e) {
    bool jpeg = e->p.kind == SHARD_ENCODER_JPEG_FOLDER;
    const AVCodec *c =
        jpeg ? avcodec_find_encoder(AV_CODEC_ID_MJPEG) : avcodec_find_encoder_by_name("libx264");
    if (!c)
        return rt_error_set(RT_ERR_DECODE, "%s: libavcodec has no %s encoder", e->path,
                            jpeg ? "MJPEG" : "libx264");
    if (!(e->codec = avcodec_alloc_context3(c))) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    e->codec->width = e->p.width;
    e->codec->height = e->p.height;
    e->codec->time_base = (AVRational){1, e->p.fps};
    e->codec->framerate = (AVRational){e->p.fps, 1};
    e->codec->pix_fmt = jpeg ? AV_PIX_FMT_YUVJ444P : AV_PIX_FMT_YUV420P;
    e->codec->thread_count = 1; // bit-exact output
    e->codec->flags |= AV_CODEC_FLAG_BITEXACT;
    if (jpeg) {
        e->codec->flags |= AV_CODEC_FLAG_QSCALE;
        e->codec->global_quality = FF_QP2LAMBDA * e->p.quality;
        e->codec->qmin = e->codec->qmax = e->p.quality;
    } else {
        e->codec->gop_size = 2 * e->p.fps;
        av_opt_set_int(e->codec->priv_data, "crf", e->p.crf, 0);
        av_opt_set(e->codec->priv_data, "preset", "medium", 0);
        av_opt_set(e->codec->priv_data, "x264-params", "threads=1:sliced-threads=0", 0);
        if (e->fmt->oformat->flags & AVFMT_GLOBALHEADER)
            e->codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }
    int rc = avcodec_open2(e->codec, c, NULL);
    if (rc < 0) return av_fail(e, "cannot open encoder", rc);
    if (!(e->frame = av_frame_alloc()) || !(e->pkt = av_packet_alloc()))
        return rt_error_set(RT_ERR_NOMEM, "out of memory");
    e->frame->format = e->codec->pix_fmt;
    e->frame->width = e->p.width;
    e->frame->height = e->p.height;
    if ((rc = av_frame_get_buffer(e->frame, 0)) < 0) return av_fail(e, "frame buffer", rc);
    // Full-range BT.601 for JPEG (as decoders assume), limited range for H.264.
    e->sws = sws_getContext(e->p.width, e->p.height, AV_PIX_FMT_RGB24, e->p.width, e->p.height,
                            jpeg ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P,
                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT, NULL, NULL, NULL);
    if (!e->sws)
        return rt_error_set(RT_ERR_DECODE, "%s: cannot create the colour converter", e->path);
    if (jpeg) {
        const int *coef = sws_getCoefficients(SWS_CS_ITU601);
        sws_setColorspaceDetails(e->sws, coef, 0, coef, 1, 0, 1 << 16, 1 << 16);
    }
    return RT_OK;
}

rt_status shard_encoder_open(const char *path, const shard_encoder_params *params,
                             shard_encoder **out) {
    *out = NULL;
    if (params->width <= 0 || params->height <= 0 || params->width > 16384 ||
        params->height > 16384 || params->fps <= 0 || params->fps > 1000)
        return rt_error_set(RT_ERR_INVAL, "%s: bad encoder size %dx%d at %d fps", path,
                            params->width, params->height, params->fps);
    if (params->kind == SHARD_ENCODER_H264_MP4 && (params->width % 2 || params->height % 2))
        return rt_error_set(RT_ERR_INVAL, "%s: H.264 needs even sizes, got %dx%d", path,
                            params->width, params->height);
    shard_encoder *e = rt_calloc(1, sizeof *e);
    if (!e) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    e->p = *params;
    rt_status st = RT_OK;
    if (!(e->path = rt_strdup(path))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (params->kind == SHARD_ENCODER_JPEG_FOLDER) {
        if ((st = rt_mkdir_p(path)) != RT_OK) goto fail;
        if ((st = open_codec(e)) != RT_OK) goto fail;
        *out = e;
        return RT_OK;
    }
    size_t n = strlen(path) + 32;
    if (!(e->tmp_path = rt_malloc(n))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(e->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    int rc = avformat_alloc_output_context2(&e->fmt, NULL, "mp4", e->tmp_path);
    if (rc < 0 || !e->fmt) {
        st = av_fail(e, "cannot create the MP4 muxer", rc);
        goto fail;
    }
    e->fmt->flags |= AVFMT_FLAG_BITEXACT;
    if ((st = open_codec(e)) != RT_OK) goto fail;
    if (!(e->stream = avformat_new_stream(e->fmt, NULL))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    e->stream->time_base = e->codec->time_base;
    if ((rc = avcodec_parameters_from_context(e->stream->codecpar, e->codec)) < 0) {
        st = av_fail(e, "codec parameters", rc);
        goto fail;
    }
    if ((rc = avio_open(&e->fmt->pb, e->tmp_path, AVIO_FLAG_WRITE)) < 0) {
        st = rt_error_set(RT_ERR_IO, "%s: cannot create: %s", path, av_err2str(rc));
        goto fail;
    }
    if ((rc = avformat_write_header(e->fmt, NULL)) < 0) {
        st = av_fail(e, "cannot write the MP4 header", rc);
        goto fail;
    }
    *out = e;
    return RT_OK;
fail:
    if (e->tmp_path) unlink(e->tmp_path);
    encoder_release(e);
    return st;
}

// Sends a frame (NULL flushes) and writes every packet the encoder returns.
static rt_status drain(shard_encoder *e, AVFrame *frame) {
    int rc = avcodec_send_frame(e->codec, frame);
    if (rc < 0) return av_fail(e, "encode", rc);
    for (;;) {
        rc = avcodec_receive_packet(e->codec, e->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return RT_OK;
        if (rc < 0) return av_fail(e, "encode", rc);
        if (e->p.kind == SHARD_ENCODER_JPEG_FOLDER) {
            char name[4400];
            snprintf(name, sizeof name, "%s/%06d.jpg", e->path, e->frames);
            rt_status st = rt_write_file_atomic(name, e->pkt->data, (size_t)e->pkt->size);
            av_packet_unref(e->pkt);
            if (st != RT_OK) return st;
        } else {
            // Without a duration the MP4 edit list cuts the last frame off.
            if (e->pkt->duration <= 0) e->pkt->duration = 1;
            av_packet_rescale_ts(e->pkt, e->codec->time_base, e->stream->time_base);
            e->pkt->stream_index = e->stream->index;
            rc = av_interleaved_write_frame(e->fmt, e->pkt);
            if (rc < 0) return av_fail(e, "write", rc);
        }
    }
}

rt_status shard_encoder_write(shard_encoder *e, const uint8_t *rgb, int stride) {
    int rc = av_frame_make_writable(e->frame);
    if (rc < 0) return av_fail(e, "frame buffer", rc);
    const uint8_t *src[4] = {rgb, NULL, NULL, NULL};
    int src_stride[4] = {stride, 0, 0, 0};
    sws_scale(e->sws, src, src_stride, 0, e->p.height, e->frame->data, e->frame->linesize);
    e->frame->pts = e->next_pts++;
    rt_status st = drain(e, e->frame);
    if (st == RT_OK) e->frames++;
    return st;
}

rt_status shard_encoder_close(shard_encoder **ep, bool commit) {
    shard_encoder *e = ep ? *ep : NULL;
    if (!e) return RT_OK;
    *ep = NULL;
    rt_status st = RT_OK;
    if (commit) st = drain(e, NULL);
    if (e->p.kind == SHARD_ENCODER_H264_MP4) {
        if (commit && st == RT_OK) {
            int rc = av_write_trailer(e->fmt);
            if (rc < 0) st = av_fail(e, "cannot finish the MP4", rc);
        }
        if (e->fmt->pb) {
            avio_flush(e->fmt->pb);
            avio_closep(&e->fmt->pb);
        }
        if (commit && st == RT_OK) {
            // Reopen to fsync: avio gives no file descriptor.
            FILE *f = fopen(e->tmp_path, "rb+");
            if (!f || fsync(fileno(f)) != 0)
                st = rt_error_set(RT_ERR_IO, "%s: fsync: %s", e->path, strerror(errno));
            if (f) fclose(f);
        }
        if (commit && st == RT_OK && rename(e->tmp_path, e->path) != 0)
            st = rt_error_set(RT_ERR_IO, "%s: rename: %s", e->path, strerror(errno));
        if (!commit || st != RT_OK) unlink(e->tmp_path);
    } else if (!commit) {
        for (int i = 0; i < e->frames; i++) {
            char name[4400];
            snprintf(name, sizeof name, "%s/%06d.jpg", e->path, i);
            unlink(name);
        }
        rmdir(e->path);
    }
    encoder_release(e);
    return st;
}
