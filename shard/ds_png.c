// BDD100K MOTS bitmask reader (libpng): one RGBA PNG per frame, R = category (1-based index into
// the 8 BDD classes, 0 = background), G = truncated<<3 | occluded<<2 | crowd<<1 | ignored,
// instance id = B<<8 | A (0 = background). Each instance becomes one RLE, built in a single
// column-major pass over the frame.
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "shard/datasets_internal.h"

static const char *const k_bdd_bitmask_classes[] = {"pedestrian", "rider", "car", "truck",
                                                    "bus", "train", "motorcycle", "bicycle"};

typedef struct stem {
    char *name; // points into a shard_strvec (extension cut off in a copy)
    int64_t index;
} stem;

static int stem_cmp(const void *a, const void *b) {
    return strcmp(((const stem *)a)->name, ((const stem *)b)->name);
}

// Reads an 8-bit RGBA PNG into *buf (grown as needed; *cap in bytes). When *w and *h are set
// (non-zero) the header must give that size, checked before anything is allocated.
static rt_status read_rgba(const char *path, uint8_t **buf, size_t *cap, int32_t *w, int32_t *h,
                           const char *size_from) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return rt_error_set(RT_ERR_DECODE, "%s: not a readable PNG: %s", path, img.message);
    rt_status st = RT_OK;
    // The channels are data, not colours: refuse anything libpng would have to convert.
    if (img.format != PNG_FORMAT_RGBA) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: not an 8-bit RGBA PNG (a BDD100K bitmask)", path);
        goto fail;
    }
    if (*w && *h && ((int32_t)img.height != *h || (int32_t)img.width != *w)) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: size %ux%u (h x w) differs from the image size "
                          "%dx%d%s%s", path, img.height, img.width, *h, *w,
                          size_from ? " of " : "", size_from ? size_from : "");
        goto fail;
    }
    if (img.width == 0 || img.height == 0 || img.width > 16384 || img.height > 16384) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: size %ux%u is not supported", path, img.width,
                          img.height);
        goto fail;
    }
    size_t need = PNG_IMAGE_SIZE(img);
    if (need > *cap) {
        uint8_t *nb = rt_realloc(*buf, need);
        if (!nb) {
            st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        *buf = nb;
        *cap = need;
    }
    if (!png_image_finish_read(&img, NULL, *buf, 0, NULL))
        return rt_error_set(RT_ERR_DECODE, "%s: %s", path, img.message);
    *w = (int32_t)img.width;
    *h = (int32_t)img.height;
    return RT_OK;
fail:
    png_image_free(&img);
    return st;
}

typedef struct inst {
    uint32_t id;
    uint8_t cat, attr;
    uint64_t end; // column-major index just past the last run so far
    shard_gt_object obj;
} inst;

static int inst_cmp(const void *a, const void *b) {
    uint32_t x = ((const inst *)a)->id, y = ((const inst *)b)->id;
    return (x > y) - (x < y);
}

// One frame: every instance's RLE in one column-major pass, then hand them to the builder in
// instance-id order.
static rt_status frame_objects(const shard_dataset *ds, shard_gt_builder *b, const char *png,
                               const uint8_t *px, int32_t w, int32_t h, int64_t frame,
                               int32_t *slot, inst **insts, size_t *cap) {
    size_t n = 0;
    rt_status st = RT_OK;
    uint64_t total = (uint64_t)w * (uint64_t)h;
    for (int32_t x = 0; x < w; x++) {
        int32_t y = 0;
        while (y < h) {
            const uint8_t *p = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
            uint32_t id = (uint32_t)p[2] << 8 | p[3];
            int32_t y0 = y;
            for (y++; y < h; y++) {
                const uint8_t *q = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
                if (((uint32_t)q[2] << 8 | q[3]) != id) break;
            }
            if (id == 0) continue;
            // Every pixel of the run must agree on category and attributes.
            for (int32_t yy = y0; yy < y; yy++) {
                const uint8_t *q = px + ((size_t)yy * (size_t)w + (size_t)x) * 4;
                if (q[0] != p[0] || q[1] != p[1]) {
                    st = rt_error_set(RT_ERR_FORMAT, "%s: pixel (row %d, col %d): instance %u "
                                      "has category/attributes %u/%u here and %u/%u elsewhere",
                                      png, yy, x, id, q[0], q[1], p[0], p[1]);
                    goto fail;
                }
            }
            if (slot[id] < 0) {
                if (p[0] < 1 || p[0] > RT_COUNTOF(k_bdd_bitmask_classes)) {
                    st = rt_error_set(RT_ERR_FORMAT, "%s: pixel (row %d, col %d): unknown "
                                      "category %u for instance %u (R must be 1..8)", png, y0,
                                      x, p[0], id);
                    goto fail;
                }
                if (n == *cap) {
                    size_t nc = *cap ? 2 * *cap : 32;
                    inst *ni = rt_realloc(*insts, nc * sizeof *ni);
                    if (!ni) {
                        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", png);
                        goto fail;
                    }
                    *insts = ni;
                    *cap = nc;
                }
                inst *in = &(*insts)[n];
                memset(in, 0, sizeof *in);
                in->id = id;
                in->cat = p[0];
                in->attr = p[1];
                rt_rle_init(&in->obj.mask);
                slot[id] = (int32_t)n++;
            }
            inst *in = &(*insts)[slot[id]];
            if (in->cat != p[0] || in->attr != p[1]) {
                st = rt_error_set(RT_ERR_FORMAT, "%s: pixel (row %d, col %d): instance %u has "
                                  "category/attributes %u/%u here and %u/%u elsewhere", png, y0,
                                  x, id, p[0], p[1], in->cat, in->attr);
                goto fail;
            }
            uint64_t start = (uint64_t)x * (uint64_t)h + (uint64_t)y0;
            rt_rle *r = &in->obj.mask;
            if ((st = rt_rle_reserve(r, r->n + 3)) != RT_OK) goto fail;
            // Runs are maximal in column-major order, except across a column boundary.
            if (r->n > 0 && start == in->end) {
                r->counts[r->n - 1] += (uint32_t)(y - y0);
            } else {
                r->counts[r->n++] = (uint32_t)(start - in->end);
                r->counts[r->n++] = (uint32_t)(y - y0);
            }
            in->end = start + (uint64_t)(y - y0);
        }
    }
    // Instance-id order, so the objects of a frame do not depend on where they first appear.
    if (n > 1) qsort(*insts, n, sizeof **insts, inst_cmp);
    for (size_t i = 0; i < n; i++) {
        inst *in = &(*insts)[i];
        slot[in->id] = -1;
        rt_rle *r = &in->obj.mask;
        if (st == RT_OK) st = rt_rle_reserve(r, r->n + 1);
        if (st != RT_OK) {
            rt_rle_free(r);
            continue;
        }
        r->counts[r->n++] = (uint32_t)(total - in->end);
        r->h = (uint32_t)h;
        r->w = (uint32_t)w;
        const char *name = k_bdd_bitmask_classes[in->cat - 1];
        const shard_class_rule *rule = shard_class_lookup(ds, NULL, name);
        bool crowd = in->attr & 2, ignored = in->attr & 1;
        if (!rule || rule->class_index == SHARD_CLASS_DROP) {
            rt_rle_free(r);
            continue;
        }
        in->obj.track_id = (int32_t)in->id;
        in->obj.class_index = rule->class_index;
        in->obj.crowd = crowd;
        in->obj.ignore = rule->ignore || crowd || ignored;
        st = shard_gtb_add(b, frame, (int32_t)frame, 0, &in->obj);
    }
    return st;
fail:
    for (size_t i = 0; i < n; i++) {
        slot[(*insts)[i].id] = -1;
        rt_rle_free(&(*insts)[i].obj.mask);
    }
    return st;
}

rt_status shard_gt_read_bitmasks(const shard_dataset *ds, const shard_dataset_video *v,
                                 shard_gt **out) {
    *out = NULL;
    const char *dir = v->gt_path;
    shard_strvec pngs = {0}, images = {0};
    stem *stems = NULL;
    int32_t *slot = NULL;
    inst *insts = NULL;
    size_t inst_cap = 0, buf_cap = 0;
    uint8_t *buf = NULL;
    char *path = NULL, *first_png = NULL;
    shard_gt_builder b;
    shard_gtb_init(&b, dir, SHARD_PLACE_PNG, v->frames);
    rt_status st = shard_gtb_expect_image_size(&b, v);
    if (st != RT_OK) goto done;
    static const char *const png_ext[] = {"png", NULL};
    if ((st = shard_list_dir(dir, SHARD_LIST_FILES, png_ext, &pngs)) != RT_OK) goto done;
    if (v->source) {
        st = shard_list_dir(v->source, SHARD_LIST_FILES, shard_image_exts, &images);
        if (st != RT_OK) goto done;
        if (!(stems = rt_malloc((images.n ? images.n : 1) * sizeof *stems))) goto nomem;
        for (size_t i = 0; i < images.n; i++) {
            *(char *)shard_path_ext(images.v[i]) = '\0';
            stems[i] = (stem){images.v[i], (int64_t)i};
        }
        qsort(stems, images.n, sizeof *stems, stem_cmp);
    } else if (b.n_frames < 0) {
        b.n_frames = (int64_t)pngs.n;
    }
    if (!(slot = rt_malloc(65536 * sizeof *slot))) goto nomem;
    memset(slot, 0xff, 65536 * sizeof *slot); // -1: instance not seen in this frame
    for (size_t k = 0; k < pngs.n; k++) {
        rt_free(path);
        if (!(path = shard_path_join(dir, pngs.v[k]))) {
            st = rt_error_status();
            goto done;
        }
        int64_t frame = (int64_t)k;
        if (v->source) {
            *(char *)shard_path_ext(pngs.v[k]) = '\0';
            stem key = {pngs.v[k], 0};
            stem *hit = images.n ? bsearch(&key, stems, images.n, sizeof *stems, stem_cmp) : NULL;
            if (!hit) {
                st = rt_error_set(RT_ERR_FORMAT, "%s: no frame '%s.*' in %s for this bitmask",
                                  path, pngs.v[k], v->source);
                goto done;
            }
            frame = hit->index;
        }
        // The first PNG sets the size when there are no frames to take it from.
        int32_t w = b.width, h = b.height;
        st = read_rgba(path, &buf, &buf_cap, &w, &h, b.size_from ? b.size_from : first_png);
        if (st != RT_OK) goto done;
        if (b.height == 0 && b.width == 0) {
            b.height = h;
            b.width = w;
            if (!(first_png = rt_strdup(path))) goto nomem;
        }
        if ((st = shard_gtb_mark(&b, frame)) != RT_OK) goto done;
        st = frame_objects(ds, &b, path, buf, w, h, frame, slot, &insts, &inst_cap);
        if (st != RT_OK) goto done;
    }
    st = shard_gtb_finish(&b, out);
    goto done;
nomem:
    st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", dir);
done:
    rt_free(path);
    rt_free(first_png);
    rt_free(buf);
    rt_free(slot);
    rt_free(insts);
    rt_free(stems);
    shard_strvec_free(&pngs);
    shard_strvec_free(&images);
    shard_gtb_free(&b);
    return st;
}
