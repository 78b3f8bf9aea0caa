// Driver for xcheck_detailed.py: args OUT_DIR COMBINE (length gt.txt tracker.txt)...; writes
// TrackEval's <class>_summary.txt and <class>_detailed.csv into OUT_DIR through merge/report.h,
// the sequences named 0000, 0001, ... (COMBINE 1: with the class combinations).
#include "merge/report.h"
#include "tests/metrics_util.h"

test_state test_g;
void test_fail(const char *file, int line, const char *fmt, ...) {
    (void)file, (void)line, (void)fmt;
}

static char *slurp(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 3 || (argc - 3) % 3) {
        fprintf(stderr, "usage: detailed_drv OUT_DIR COMBINE (length gt.txt tracker.txt)...\n");
        return 2;
    }
    merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
    merge_video *mv;
    if (merge_video_init(&mv, &p) != RT_OK) return 1;
    merge_eval_summary *s = calloc(1, sizeof *s);
    s->protocol = MERGE_PROTOCOL_TRACKEVAL;
    s->combine_classes = atoi(argv[2]) != 0;
    merge_totals_init(&s->totals, &p);
    size_t ns = (size_t)(argc - 3) / 3;
    merge_video_result *res = calloc(ns ? ns : 1, sizeof *res);
    char **names = calloc(ns ? ns : 1, sizeof *names);
    for (size_t i = 0; i < ns; i++) {
        tvideo v;
        tv_init(&v, atoi(argv[3 + 3 * i]));
        char *g = slurp(argv[4 + 3 * i]), *t = slurp(argv[5 + 3 * i]);
        if (!g || !t) return fprintf(stderr, "cannot read %s\n", argv[4 + 3 * i]), 1;
        tv_kitti(&v, 1, g, 0);
        tv_kitti(&v, 0, t, 0);
        if (tv_run(mv, &v, (int64_t)i, &res[i]) != RT_OK) {
            fprintf(stderr, "%s\n", rt_error());
            return 1;
        }
        merge_totals_add(&s->totals, &res[i]);
        names[i] = malloc(16);
        snprintf(names[i], 16, "%04zu", i);
        tv_free(&v);
        free(g);
        free(t);
    }
    s->n_videos = ns;
    merge_report_table t;
    merge_report_table_make(s, &t);
    if (merge_report_write_summaries(argv[1], &t, s) != RT_OK ||
        merge_report_write_detailed(argv[1], &t, s, (const char *const *)names, res, ns) != RT_OK) {
        fprintf(stderr, "%s\n", rt_error());
        return 1;
    }
    return 0;
}
