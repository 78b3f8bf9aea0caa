// pcan render ARCHIVE --video ID --out FILE.mp4 [--contact-sheet FILE.png] — draw one video's
// tracked results over its frames.
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "merge/archive.h"
#include "merge/render.h"
#include "runtime/h5util.h"
#include "shard/encode.h"
#include "shard/image.h"
#include "shard/video.h"

#define SHEET_COLUMNS    4
#define SHEET_TILE_WIDTH 320
#define SHEET_TILES      16 // default number of frames on the sheet

typedef struct render_opts {
    const char *archive, *video, *out, *sheet, *source;
    int every, fps;
} render_opts;

// Nearest-neighbour downscale of a frame into its tile of the sheet.
static void put_tile(uint8_t *sheet, int sw, const uint8_t *rgb, int w, int h, int tx, int ty,
                     int tw, int th) {
    for (int y = 0; y < th; y++) {
        int sy = (int)((int64_t)y * h / th);
        for (int x = 0; x < tw; x++) {
            int sx = (int)((int64_t)x * w / tw);
            memcpy(sheet + ((size_t)(ty + y) * sw + tx + x) * 3, rgb + ((size_t)sy * w + sx) * 3,
                   3);
        }
    }
}

static int render(const render_opts *o) {
    merge_archive *ar = NULL;
    shard_video *dec = NULL;
    shard_encoder *enc = NULL;
    merge_archive_rows rows;
    uint8_t *frame = NULL, *padded = NULL, *scratch = NULL, *sheet = NULL;
    const char **classes = NULL;
    int rc = CMD_EXIT_RUNTIME;
    rt_status st;
    merge_archive_rows_init(&rows);
    rt_h5_quiet();
    if (merge_archive_open(o->archive, &ar) != RT_OK) {
        fprintf(stderr, "pcan render: %s\n", rt_error());
        return CMD_EXIT_USAGE;
    }
    long vi = merge_archive_find(ar, o->video);
    if (vi < 0) {
        fprintf(stderr, "pcan render: %s: no video '%s'\n", o->archive, o->video);
        rc = CMD_EXIT_USAGE;
        goto done;
    }
    const merge_archive_video *v = merge_archive_video_at(ar, (size_t)vi);
    if (v->status != MERGE_VIDEO_OK) {
        fprintf(stderr, "pcan render: video '%s' failed in this run: %s\n", v->id, v->error);
        goto done;
    }
    if ((st = merge_archive_read_rows(ar, (size_t)vi, &rows)) != RT_OK) {
        fprintf(stderr, "pcan render: %s\n", rt_error());
        goto done;
    }
    size_t nc = merge_archive_num_classes(ar);
    classes = rt_calloc(nc ? nc : 1, sizeof *classes);
    if (!classes) goto done;
    for (size_t i = 0; i < nc; i++) classes[i] = merge_archive_class(ar, i);

    const char *source = o->source ? o->source : v->source;
    shard_video_params vp = shard_video_default_params();
    vp.accept_concealed = 1; // a picture for people: show what the decoder can
    if ((st = shard_video_open(source, &vp, &dec)) != RT_OK) {
        fprintf(stderr, "pcan render: %s\n", rt_error());
        goto done;
    }
    const shard_video_info *info = shard_video_info_get(dec);
    int w = info->width, h = info->height, ew = w + (w & 1), eh = h + (h & 1);
    if (w != v->width || h != v->height) {
        fprintf(stderr, "pcan render: %s is %dx%d but the archive's results are %dx%d\n", source, w,
                h, v->width, v->height);
        goto done;
    }
    // H.264 needs even sizes: odd frames are padded by a black row/column for the encoder.
    frame = rt_calloc((size_t)ew * eh * 3 + SHARD_ENCODER_PADDING, 1);
    padded = (ew != w || eh != h) ? rt_calloc((size_t)ew * eh * 3 + SHARD_ENCODER_PADDING, 1) : NULL;
    scratch = rt_malloc((size_t)w * h);
    if (!frame || !scratch || (!padded && (ew != w || eh != h))) goto done;
    if (o->out) {
        shard_encoder_params ep = shard_encoder_default_params();
        ep.width = ew;
        ep.height = eh;
        ep.fps = o->fps > 0 ? o->fps : v->fps >= 1 ? (int)(v->fps + 0.5) : 10;
        if ((st = shard_encoder_open(o->out, &ep, &enc)) != RT_OK) {
            fprintf(stderr, "pcan render: %s\n", rt_error());
            goto done;
        }
    }
    int every =
        o->every > 0 ? o->every : (int)RT_MAX(1, (v->frames + SHEET_TILES - 1) / SHEET_TILES);
    int ntiles = (int)((v->frames + every - 1) / every), tw = RT_MIN(w, SHEET_TILE_WIDTH);
    int th = (int)((int64_t)h * tw / w), sw = SHEET_COLUMNS * tw;
    int sh = ((ntiles + SHEET_COLUMNS - 1) / SHEET_COLUMNS) * th;
    if (o->sheet && ntiles > 0 && !(sheet = rt_calloc((size_t)sw * sh * 3, 1))) goto done;

    shard_frame f;
    uint64_t r = 0;
    int tile = 0;
    static const uint8_t white[3] = {255, 255, 255};
    while ((st = shard_video_read(dec, &f)) == RT_OK) {
        memcpy(frame, f.rgb, (size_t)w * h * 3);
        while (r < rows.n && rows.frame[r] < f.index) r++;
        uint64_t first = r;
        while (r < rows.n && rows.frame[r] == f.index) r++;
        merge_render_frame(frame, w, h, &rows, first, r - first, classes, nc, scratch);
        const uint8_t *out = frame;
        if (padded) {
            for (int y = 0; y < h; y++)
                memcpy(padded + (size_t)y * ew * 3, frame + (size_t)y * w * 3, (size_t)w * 3);
            out = padded;
        }
        if (enc && (st = shard_encoder_write(enc, out, ew * 3)) != RT_OK) {
            fprintf(stderr, "pcan render: %s\n", rt_error());
            goto done;
        }
        if (sheet && f.index % every == 0 && tile < ntiles) {
            int tx = (tile % SHEET_COLUMNS) * tw, ty = (tile / SHEET_COLUMNS) * th;
            put_tile(sheet, sw, frame, w, h, tx, ty, tw, th);
            char label[32];
            snprintf(label, sizeof label, "#%lld", (long long)f.index);
            merge_render_text(sheet, sw, sh, tx + 3, ty + 3, 1, label, white);
            tile++;
        }
    }
    if (st != SHARD_VIDEO_END) {
        fprintf(stderr, "pcan render: %s\n", rt_error());
        goto done;
    }
    if (enc && (st = shard_encoder_close(&enc, true)) != RT_OK) {
        fprintf(stderr, "pcan render: %s\n", rt_error());
        goto done;
    }
    if (sheet) {
        shard_image img = {sheet, sw, sh, 3, 8, (size_t)sw * 3};
        if ((st = shard_png_write(o->sheet, &img)) != RT_OK) {
            fprintf(stderr, "pcan render: %s\n", rt_error());
            goto done;
        }
    }
    if (o->out) fprintf(stderr, "pcan render: wrote %s\n", o->out);
    if (o->sheet) fprintf(stderr, "pcan render: wrote %s (%d frames)\n", o->sheet, tile);
    rc = CMD_EXIT_OK;
done:
    shard_encoder_close(&enc, false);
    shard_video_close(&dec);
    merge_archive_rows_free(&rows);
    merge_archive_close(&ar);
    rt_free(classes);
    rt_free(frame);
    rt_free(padded);
    rt_free(scratch);
    rt_free(sheet);
    return rc;
}

int cmd_render_main(int argc, char **argv) {
    render_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--video") || !strcmp(a, "--out") ||
                     !strcmp(a, "--contact-sheet") || !strcmp(a, "--every") ||
                     !strcmp(a, "--source") || !strcmp(a, "--fps");
        if (takes && !val) return cmd_usage_error("render", "%s needs a value", a);
        if (!strcmp(a, "--video"))
            o.video = val;
        else if (!strcmp(a, "--out"))
            o.out = val;
        else if (!strcmp(a, "--contact-sheet"))
            o.sheet = val;
        else if (!strcmp(a, "--source"))
            o.source = val;
        else if (!strcmp(a, "--every") || !strcmp(a, "--fps")) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 100000)
                return cmd_usage_error("render", "%s: expected a positive integer, got '%s'", a,
                                       val);
            if (a[2] == 'e')
                o.every = (int)n;
            else
                o.fps = (int)n;
        } else if (a[0] == '-' && a[1]) {
            return cmd_usage_error("render", "unknown option '%s'", a);
        } else if (!o.archive) {
            o.archive = a;
            continue;
        } else {
            return cmd_usage_error("render", "unexpected argument '%s'", a);
        }
        i++;
    }
    if (!o.archive) return cmd_usage_error("render", "missing ARCHIVE");
    if (!o.video) return cmd_usage_error("render", "missing --video ID");
    if (!o.out && !o.sheet)
        return cmd_usage_error("render", "give --out FILE.mp4 and/or --contact-sheet FILE.png");
    return render(&o);
}
