// PNG reading and writing with libpng (see image.h).
//
// libpng reports errors by longjmp. Each libpng call sequence runs inside one small "guarded"
// function that calls setjmp and keeps all of its state behind a pointer, so nothing the
// caller relies on is an automatic variable modified between setjmp and longjmp.
#include "shard/image.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "runtime/fsutil.h"

#define IMAGE_MAX_SIDE 16384
#define IMAGE_MAX_PIXELS ((int64_t)1 << 28)

typedef struct png_job {
    char msg[256];  // libpng's last error
    int too_big;    // set when the header is over the limits (checked before allocating)
    int no_memory;
    shard_png_mode mode;
    shard_image *img;
    png_bytep *rows;
} png_job;

static void on_error(png_structp png, png_const_charp msg) {
    png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    // Warnings (unknown chunks, bad ancillary CRCs) do not make a picture unusable.
    (void)png;
    (void)msg;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static int read_guarded(png_structp png, png_infop info, FILE *f, png_job *job) {
    if (setjmp(png_jmpbuf(png))) return -1;
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (int64_t)w * h > IMAGE_MAX_PIXELS) {
        snprintf(job->msg, sizeof job->msg, "%ux%u", (unsigned)w, (unsigned)h);
        job->too_big = 1;
        return -1;
    }
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (job->mode == SHARD_PNG_RGB) {
        // The same steps as OpenCV's IMREAD_COLOR: expand palette and small greys, keep the
        // high byte of 16-bit samples, drop alpha, grey to RGB.
        if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (depth == 16) png_set_strip_16(png);
        if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
        if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA)
            png_set_gray_to_rgb(png);
    } else {
        if (depth < 8) png_set_packing(png);
        if (depth == 16 && host_is_little_endian()) png_set_swap(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    shard_image *img = job->img;
    img->width = (int)w;
    img->height = (int)h;
    img->channels = png_get_channels(png, info);
    img->depth = png_get_bit_depth(png, info) == 16 ? 16 : 8;
    img->stride = png_get_rowbytes(png, info);
    img->data = rt_malloc(img->stride * h);
    job->rows = rt_malloc(h * sizeof *job->rows);
    if (!img->data || !job->rows) {
        job->no_memory = 1;
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++) job->rows[y] = img->data + (size_t)y * img->stride;
    png_read_image(png, job->rows);
    png_read_end(png, NULL);
    return 0;
}

rt_status shard_png_read(const char *path, shard_png_mode mode, shard_image *img) {
    if (!path || !img || (mode != SHARD_PNG_RGB && mode != SHARD_PNG_RAW))
        return rt_error_set(RT_ERR_INVAL, "shard_png_read: bad arguments");
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));
    rt_status s = RT_OK;
    png_structp png = NULL;
    png_infop info = NULL;
    png_job job = {.mode = mode, .img = img};
    uint8_t sig[8];
    if (fread(sig, 1, sizeof sig, f) != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        s = rt_error_set(RT_ERR_FORMAT, "%s: not a PNG file", path);
        goto done;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
    info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        s = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (read_guarded(png, info, f, &job) != 0) {
        if (job.no_memory)
            s = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
        else if (job.too_big)
            s = rt_error_set(RT_ERR_FORMAT, "%s: image is %s, larger than allowed (at most %d "
                             "on a side and %lld pixels)", path, job.msg, IMAGE_MAX_SIDE,
                             (long long)IMAGE_MAX_PIXELS);
        else if (feof(f))
            s = rt_error_set(RT_ERR_DECODE, "%s: unreadable PNG: the file is truncated (%s)",
                             path, job.msg);
        else
            s = rt_error_set(RT_ERR_DECODE, "%s: unreadable PNG: %s", path, job.msg);
    }
done:
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    rt_free(job.rows);
    fclose(f);
    if (s != RT_OK) shard_image_free(img);
    return s;
}

static int write_guarded(png_structp png, png_infop info, FILE *f, const shard_image *img) {
    if (setjmp(png_jmpbuf(png))) return -1;
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, img->depth,
                 types[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (img->depth == 16 && host_is_little_endian()) png_set_swap(png);
    for (int y = 0; y < img->height; y++) png_write_row(png, img->data + (size_t)y * img->stride);
    png_write_end(png, info);
    return 0;
}

rt_status shard_png_write(const char *path, const shard_image *img) {
    if (!path || !img || !img->data)
        return rt_error_set(RT_ERR_INVAL, "shard_png_write: NULL argument");
    int ok_shape = (img->depth == 8 && (img->channels == 1 || img->channels == 3 ||
                                        img->channels == 4)) ||
                   (img->depth == 16 && img->channels == 1);
    if (!ok_shape || img->width <= 0 || img->height <= 0 || img->width > IMAGE_MAX_SIDE ||
        img->height > IMAGE_MAX_SIDE ||
        (int64_t)img->width * img->height > IMAGE_MAX_PIXELS ||
        img->stride < (size_t)img->width * (size_t)img->channels * (size_t)(img->depth / 8))
        return rt_error_set(RT_ERR_INVAL,
                            "%s: cannot write a %dx%d image with %d channels of %d bits "
                            "(stride %zu) as PNG", path, img->width, img->height, img->channels,
                            img->depth, img->stride);
    rt_atomic_file af = {0};
    rt_status s = rt_atomic_open(&af, path);
    if (s != RT_OK) return s;
    png_job job = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info)
        s = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
    else if (write_guarded(png, info, af.f, img) != 0)
        s = rt_error_set(RT_ERR_IO, "%s: cannot write PNG: %s", path, job.msg);
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (s != RT_OK) {
        rt_atomic_abort(&af);
        return s;
    }
    return rt_atomic_commit(&af);
}

void shard_image_free(shard_image *img) {
    if (!img) return;
    rt_free(img->data);
    memset(img, 0, sizeof *img);
}
