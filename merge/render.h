// render — draws tracked results over video frames: masks coloured by track id, boxes, and
// "id class" labels, for `pcan render` (an MP4 and a contact sheet).
//
//     merge_render_frame(rgb, w, h, &rows, first, count, classes, n_classes, scratch);
//
// Masks are painted in ascending score order so that a higher score wins a pixel, the rule the
// metrics and exports use (DESIGN.md). Colours are a pure function of the track id, so a track
// keeps its colour across frames and renders. Text uses a built-in 5x7 font, scaled with the
// frame height. Nothing here allocates; the caller passes a w*h byte scratch buffer.
// Thread-safe on distinct buffers. Not collective.
#ifndef PCAN_MERGE_RENDER_H
#define PCAN_MERGE_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "merge/archive.h"

// The display colour of a track (RGB).
void merge_render_track_colour(int32_t track_id, uint8_t rgb[3]);

// Draws rows [first, first+count) of `rows` (all of one frame) onto the packed RGB frame.
// Rows whose mask size differs from w x h are drawn without their mask.
void merge_render_frame(uint8_t *rgb, int w, int h, const merge_archive_rows *rows,
                        uint64_t first, uint64_t count, const char *const *classes,
                        size_t n_classes, uint8_t *scratch);

// Draws `text` with its top-left corner at (x, y), `scale` pixels per font pixel, in `rgb`
// over a dark box; clipped to the frame.
void merge_render_text(uint8_t *rgb, int w, int h, int x, int y, int scale, const char *text,
                       const uint8_t colour[3]);

#endif
