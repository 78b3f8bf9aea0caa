#include "merge/render.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_DRAWN 255 // rows per frame with a mask (the owner map holds a byte per pixel)

// 5x7 glyphs, one byte per row, bit 4 = leftmost column. Letters are drawn upper case.
typedef struct glyph {
    char c;
    uint8_t rows[7];
} glyph;

static const glyph FONT[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
    {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
    {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
    {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}},
    {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
    {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
    {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}},
};

static const uint8_t *glyph_rows(char c) {
    char u = (char)toupper((unsigned char)c);
    for (size_t i = 0; i < RT_COUNTOF(FONT); i++)
        if (FONT[i].c == u) return FONT[i].rows;
    return NULL; // space and anything unknown: blank
}

void merge_render_track_colour(int32_t track_id, uint8_t rgb[3]) {
    // Golden-ratio hue steps keep neighbouring ids apart; fixed saturation and value.
    double hue = fmod((double)(uint32_t)track_id * 0.6180339887498949, 1.0) * 6.0;
    double s = 0.75, v = 0.95, f = hue - floor(hue);
    double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double r, g, b;
    switch ((int)floor(hue) % 6) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
    }
    rgb[0] = (uint8_t)lround(r * 255);
    rgb[1] = (uint8_t)lround(g * 255);
    rgb[2] = (uint8_t)lround(b * 255);
}

static void fill_rect(uint8_t *rgb, int w, int h, int x0, int y0, int x1, int y1,
                      const uint8_t c[3], int alpha256) {
    x0 = RT_MAX(x0, 0), y0 = RT_MAX(y0, 0), x1 = RT_MIN(x1, w), y1 = RT_MIN(y1, h);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            for (int k = 0; k < 3; k++)
                p[k] = (uint8_t)((p[k] * (256 - alpha256) + c[k] * alpha256) >> 8);
        }
}

void merge_render_text(uint8_t *rgb, int w, int h, int x, int y, int scale, const char *text,
                       const uint8_t colour[3]) {
    static const uint8_t dark[3] = {0, 0, 0};
    int n = (int)strlen(text), cw = 6 * scale;
    fill_rect(rgb, w, h, x - scale, y - scale, x + n * cw + scale, y + 8 * scale, dark, 160);
    for (int i = 0; i < n; i++) {
        const uint8_t *g = glyph_rows(text[i]);
        if (!g) continue;
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (g[r] & (0x10 >> col))
                    fill_rect(rgb, w, h, x + i * cw + col * scale, y + r * scale,
                              x + i * cw + (col + 1) * scale, y + (r + 1) * scale, colour, 256);
    }
}

static void draw_box(uint8_t *rgb, int w, int h, const float box[4], int t, const uint8_t c[3]) {
    int x0 = (int)floorf(box[0]), y0 = (int)floorf(box[1]);
    int x1 = (int)ceilf(box[2]), y1 = (int)ceilf(box[3]);
    fill_rect(rgb, w, h, x0, y0, x1, y0 + t, c, 256);
    fill_rect(rgb, w, h, x0, y1 - t, x1, y1, c, 256);
    fill_rect(rgb, w, h, x0, y0, x0 + t, y1, c, 256);
    fill_rect(rgb, w, h, x1 - t, y0, x1, y1, c, 256);
}

void merge_render_frame(uint8_t *rgb, int w, int h, const merge_archive_rows *rows, uint64_t first,
                        uint64_t count, const char *const *classes, size_t n_classes,
                        uint8_t *scratch) {
    uint64_t order[MAX_DRAWN];
    int n = (int)RT_MIN(count, (uint64_t)MAX_DRAWN);
    for (int i = 0; i < n; i++) order[i] = first + (uint64_t)i;
    // ascending score (stable): the highest score is painted last and owns its pixels
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && rows->score[order[j - 1]] > rows->score[order[j]]; j--) {
            uint64_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    memset(scratch, 0, (size_t)w * h);
    for (int i = 0; i < n; i++) {
        uint64_t r = order[i], start = rows->rle_start[r], end = rows->rle_start[r + 1];
        uint64_t total = 0;
        for (uint64_t k = start; k < end; k++) total += rows->rle[k];
        if (total != (uint64_t)w * h) continue; // not this frame's size
        uint64_t pos = 0;
        for (uint64_t k = start; k < end; k++) {
            uint64_t len = rows->rle[k];
            if ((k - start) & 1)
                for (uint64_t p = pos; p < pos + len; p++) {
                    uint64_t x = p / (uint64_t)h, y = p % (uint64_t)h; // column-major
                    scratch[y * (uint64_t)w + x] = (uint8_t)(i + 1);
                }
            pos += len;
        }
    }
    uint8_t colours[MAX_DRAWN][3];
    for (int i = 0; i < n; i++) merge_render_track_colour(rows->track_id[order[i]], colours[i]);
    for (size_t q = 0; q < (size_t)w * h; q++) {
        if (!scratch[q]) continue;
        const uint8_t *c = colours[scratch[q] - 1];
        uint8_t *p = rgb + q * 3;
        for (int k = 0; k < 3; k++) p[k] = (uint8_t)((p[k] * 115 + c[k] * 141) >> 8);
    }
    int scale = RT_MAX(1, h / 240), thick = RT_MAX(1, h / 360);
    for (int i = 0; i < n; i++) {
        uint64_t r = order[i];
        const float *box = rows->box + r * 4;
        draw_box(rgb, w, h, box, thick, colours[i]);
        char label[96];
        int16_t l = rows->label[r];
        snprintf(label, sizeof label, "%d %s", rows->track_id[r],
                 l >= 0 && (size_t)l < n_classes ? classes[l] : "?");
        int ty = (int)box[1] - 9 * scale;
        if (ty < 0) ty = (int)box[1] + 2 * scale;
        merge_render_text(rgb, w, h, (int)box[0] + scale, ty, scale, label, colours[i]);
    }
}
