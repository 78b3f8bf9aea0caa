// synth_frames — raw RGB frames of one `pcan synth` video, for tools/make_fixtures.py.
//
//     build/tools/synth_frames SEED easy|normal|hard FRAMES VIDEO OUT.rgb
//
// Writes frames 0..FRAMES-1 of video VIDEO (0-based) of `pcan synth --seed SEED --frames FRAMES
// --difficulty D` (default 320x192) as uint8 [FRAMES,192,320,3] to OUT.rgb, before any encoder
// touches them: the exact pixels that shard_synth_video_render gives and that tests/test_parity
// renders again (a JPEG or H.264 round trip would tie the fixture to a decoder). Prints one
// line per frame with the number of ground-truth objects visible in it. Exit 0 ok, 1 failure
// (message on stderr), 2 usage.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/core.h"
#include "shard/synth.h"

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: synth_frames SEED easy|normal|hard FRAMES VIDEO OUT.rgb\n");
        return 2;
    }
    shard_synth_params p = shard_synth_default_params();
    p.seed = strtoull(argv[1], NULL, 10);
    if (!strcmp(argv[2], "easy"))
        p.difficulty = SHARD_SYNTH_EASY;
    else if (!strcmp(argv[2], "hard"))
        p.difficulty = SHARD_SYNTH_HARD;
    else if (!strcmp(argv[2], "normal"))
        p.difficulty = SHARD_SYNTH_NORMAL;
    else {
        fprintf(stderr, "synth_frames: difficulty '%s' is not easy, normal or hard\n", argv[2]);
        return 2;
    }
    p.frames = atoi(argv[3]);
    int video = atoi(argv[4]);
    p.videos = video + 1;
    if (p.frames < 1 || video < 0) {
        fprintf(stderr, "synth_frames: FRAMES must be >= 1 and VIDEO >= 0\n");
        return 2;
    }
    size_t hw = (size_t)p.width * (size_t)p.height;
    uint8_t *rgb = rt_malloc(hw * 3);
    int16_t *ids = rt_malloc(hw * sizeof *ids);
    shard_synth_video *v = NULL;
    FILE *f = NULL;
    int rc = 1;
    if (!rgb || !ids) {
        fprintf(stderr, "synth_frames: out of memory\n");
        goto fail;
    }
    if (shard_synth_video_init(&p, video, &v) != RT_OK) {
        fprintf(stderr, "synth_frames: %s\n", rt_error());
        goto fail;
    }
    if (!(f = fopen(argv[5], "wb"))) {
        fprintf(stderr, "synth_frames: cannot create %s\n", argv[5]);
        goto fail;
    }
    int nobj = shard_synth_video_objects(v);
    for (int t = 0; t < p.frames; t++) {
        shard_synth_video_render(v, t, rgb, ids);
        if (fwrite(rgb, 1, hw * 3, f) != hw * 3) {
            fprintf(stderr, "synth_frames: cannot write %s\n", argv[5]);
            goto fail;
        }
        int visible = 0;
        for (int i = 0; i < nobj; i++)
            for (size_t k = 0; k < hw; k++)
                if (ids[k] == i) {
                    visible++;
                    break;
                }
        printf("frame %d visible %d\n", t, visible);
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "synth_frames: cannot write %s\n", argv[5]);
        goto fail;
    }
    f = NULL;
    rc = 0;
fail:
    if (f) fclose(f);
    shard_synth_video_free(&v);
    rt_free(rgb);
    rt_free(ids);
    return rc;
}
