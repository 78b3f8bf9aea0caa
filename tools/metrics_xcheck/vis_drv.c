// Driver for xcheck_ytvis.py: reads track lines on stdin, prints the 12 YTVOSeval stats.
#include "merge/vis.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { char kind; long vid; int cat, crowd; double score; int T; rt_rle *m[16]; } tr;
int main(void) {
    static char line[1 << 20];
    tr *t = calloc(4096, sizeof *t); int n = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *p = line; int used; unsigned h, w;
        tr *x = &t[n];
        if (sscanf(p, "%c %ld %d %d %lf %d %u %u%n", &x->kind, &x->vid, &x->cat, &x->crowd, &x->score, &x->T, &h, &w, &used) != 8) continue;
        p += used;
        for (int f = 0; f < x->T; f++) {
            char tok[65536]; int u2; sscanf(p, "%65535s%n", tok, &u2); p += u2;
            if (!strcmp(tok, "-")) { x->m[f] = NULL; continue; }
            x->m[f] = malloc(sizeof(rt_rle)); rt_rle_init(x->m[f]);
            if (rt_rle_from_string(x->m[f], h, w, tok, strlen(tok)) != RT_OK) { fprintf(stderr, "%s\n", rt_error()); return 1; }
        }
        n++;
    }
    int32_t cats[3] = {1, 2, 3};
    merge_vis *e; merge_vis_init(&e, cats, 3);
    for (long vid = 1; vid < 100; vid++) {
        merge_vis_track g[4096], r[4096]; size_t ng = 0, nr = 0;
        for (int i = 0; i < n; i++) {
            if (t[i].vid != vid) continue;
            merge_vis_track k = {t[i].cat, (uint8_t)t[i].crowd, t[i].score, -1, (const rt_rle *const *)t[i].m, (size_t)t[i].T};
            if (t[i].kind == 'G') g[ng++] = k; else r[nr++] = k;
        }
        if (ng + nr == 0) continue;
        if (merge_vis_add_video(e, vid, g, ng, r, nr) != RT_OK) { fprintf(stderr, "%s\n", rt_error()); return 1; }
    }
    merge_vis_stats s; merge_vis_summarize(e, &s);
    for (int i = 0; i < MERGE_VIS_NSTATS; i++) printf("%.17g\n", s.v[i]);
    return 0;
}
