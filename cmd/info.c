// pcan info FILE — summarise a pcan weights file or archive; reject anything else (exit 2).
#include <errno.h>
#include <hdf5.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "merge/archive.h"
#include "runtime/h5util.h"

rt_status cmd_h5_probe(const char *path, char *format, size_t cap, int *version) {
    struct stat sb;
    if (stat(path, &sb) != 0) return rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return rt_error_set(RT_ERR_FORMAT, "%s: not a regular file", path);
    rt_h5_quiet();
    if (H5Fis_hdf5(path) <= 0)
        return rt_error_set(RT_ERR_FORMAT,
                            "%s: not an HDF5 file (expected a pcan weights file "
                            "or archive)",
                            path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return rt_error_set(RT_ERR_FORMAT, "%s: cannot open as HDF5 (truncated?)", path);
    long long v = 0;
    rt_status st = rt_h5_attr_string(f, "format", format, cap);
    if (st == RT_OK) st = rt_h5_attr_int(f, "version", &v);
    if (st != RT_OK) rt_error_wrap(RT_ERR_FORMAT, "%s: not a pcan file", path);
    *version = (int)v;
    H5Fclose(f);
    return st;
}

typedef struct info_walk {
    long long tensors;
    long long elements;
    int list;
} info_walk;

static void print_shape(hid_t d) {
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    hsize_t dims[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(s, dims, NULL);
    printf("[");
    for (int i = 0; i < nd; i++) printf("%s%llu", i ? "," : "", (unsigned long long)dims[i]);
    printf("]");
    H5Sclose(s);
}

static const char *type_text(hid_t t) {
    H5T_class_t c = H5Tget_class(t);
    size_t n = H5Tget_size(t);
    if (c == H5T_FLOAT) return n == 4 ? "float32" : n == 8 ? "float64" : "float";
    if (c == H5T_INTEGER) {
        int s = H5Tget_sign(t) == H5T_SGN_2;
        return n == 1   ? (s ? "int8" : "uint8")
               : n == 2 ? (s ? "int16" : "uint16")
               : n == 4 ? (s ? "int32" : "uint32")
                        : (s ? "int64" : "uint64");
    }
    if (c == H5T_COMPOUND) return "compound";
    if (c == H5T_STRING) return "string";
    return "other";
}

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *oi, void *ctx) {
    info_walk *w = ctx;
    if (oi->type != H5O_TYPE_DATASET) return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0) return 0;
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    w->tensors++;
    w->elements += n;
    if (w->list) {
        printf("  %-60s %-8s ", name, type_text(t));
        print_shape(d);
        printf("\n");
    }
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return 0;
}

static void print_attrs(hid_t f) {
    static const char *const names[] = {"name",          "software", "model", "model_sha256",
                                        "source_sha256", "created",  "ranks", "prototype_memory",
                                        "classes",       NULL};
    for (int i = 0; names[i]; i++) {
        if (!rt_h5_attr_exists(f, names[i])) continue;
        char *s = NULL;
        long long v;
        if (rt_h5_attr_string_alloc(f, names[i], &s) == RT_OK) {
            printf("%s: %s\n", names[i], s);
            rt_free(s);
        } else if (rt_h5_attr_int(f, names[i], &v) == RT_OK) {
            printf("%s: %lld\n", names[i], v);
        }
    }
}

static void print_config(hid_t f, const char *attr) {
    char *cfg = NULL;
    if (rt_h5_attr_string_alloc(f, attr, &cfg) != RT_OK) return;
    printf("%s: |\n", attr);
    for (char *line = strtok(cfg, "\n"); line; line = strtok(NULL, "\n")) printf("  %s\n", line);
    rt_free(cfg);
}

static int info_weights(hid_t f, int list) {
    print_attrs(f);
    print_config(f, "config");
    info_walk w = {0, 0, 0};
    H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit, &w, H5O_INFO_BASIC);
    printf("tensors: %lld (%lld values)\n", w.tensors, w.elements);
    if (list) {
        w.list = 1;
        H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit, &w, H5O_INFO_BASIC);
    }
    return CMD_EXIT_OK;
}

// The class-mean row of /metrics: a few headline fields (TrackEval rates ×100 as TrackEval prints
// them; bdd100k's are already ×100; youtube-vis's fractions as YTVOSeval prints them).
static void info_metrics(merge_archive *a) {
    merge_archive_metrics *m = NULL;
    if (merge_archive_read_metrics(a, &m) != RT_OK) {
        printf("metrics: unreadable (%s)\n", rt_error());
        return;
    }
    if (!m) return;
    bool te = !strcmp(m->protocol, "trackeval"), vis = !strcmp(m->protocol, "youtube-vis");
    static const char *const te_show[][2] = {{"HOTA", "HOTA"},   {"DetA", "DetA"},
                                             {"AssA", "AssA"},   {"MOTA", "MOTSA"},
                                             {"sMOTA", "sMOTSA"}, {"IDF1", "IDF1"},
                                             {"IDSW", "IDSW"}};
    static const char *const bdd_show[][2] = {
        {"MOTA", "mMOTSA"}, {"MOTP", "mMOTSP"}, {"IDF1", "mIDF1"}, {"IDSw", "IDSw"}};
    static const char *const vis_show[][2] = {
        {"AP", "AP"}, {"AP50", "AP50"}, {"AP75", "AP75"}, {"AR1", "AR1"}, {"AR10", "AR10"}};
    const char *const(*show)[2] = te ? te_show : vis ? vis_show : bdd_show;
    size_t n_show = te ? RT_COUNTOF(te_show) : vis ? RT_COUNTOF(vis_show) : RT_COUNTOF(bdd_show);
    printf("metrics: %s, %lld videos (%lld without results), %s:", m->protocol,
           (long long)m->videos, (long long)m->missing, m->mean_row);
    for (size_t r = 0; r < m->n_rows; r++) {
        if (strcmp(m->row_names[r], m->mean_row)) continue;
        for (size_t k = 0; k < n_show; k++) {
            const char *key = show[k][0], *label = show[k][1];
            for (size_t c = 0; c < m->n_cols; c++) {
                if (strcmp(m->col_names[c], key)) continue;
                double x = m->values[r * m->n_cols + c];
                if (m->col_types[c] == 'i') printf(" %s %lld", label, (long long)x);
                else printf(" %s %.3f", label, te ? 100.0 * x : x);
            }
        }
    }
    printf("\n");
    merge_archive_metrics_free(&m);
}

// The /videos summary through the archive reader; `list` adds one line per video.
static void info_videos(const char *path, int list) {
    merge_archive *a = NULL;
    if (merge_archive_open(path, &a) != RT_OK) {
        printf("videos: unreadable (%s)\n", rt_error());
        return;
    }
    size_t n = merge_archive_num_videos(a), failed = 0;
    long long frames = 0;
    double seconds = 0;
    for (size_t i = 0; i < n; i++) {
        const merge_archive_video *v = merge_archive_video_at(a, i);
        failed += v->status != MERGE_VIDEO_OK;
        frames += v->frames;
        seconds += v->seconds;
    }
    printf("classes:");
    for (size_t i = 0; i < merge_archive_num_classes(a); i++)
        printf("%s %s", i ? "," : "", merge_archive_class(a, i));
    printf("\n");
    printf("videos: %zu (%zu ok, %zu failed)\n", n, n - failed, failed);
    printf("frames: %lld (%.1f s of processing)\n", frames, seconds);
    printf("results: %llu rows\n", (unsigned long long)merge_archive_num_rows(a));
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < 20; i++) {
        const merge_archive_video *v = merge_archive_video_at(a, i);
        if (v->status == MERGE_VIDEO_OK) continue;
        printf("  failed: %s: %s\n", v->id, v->error);
        shown++;
    }
    if (failed > shown) printf("  ... and %zu more failed videos\n", failed - shown);
    info_metrics(a);
    if (list)
        for (size_t i = 0; i < n; i++) {
            const merge_archive_video *v = merge_archive_video_at(a, i);
            printf("  %-24s %6lld frames %5dx%-5d %6llu rows  %s\n", v->id, (long long)v->frames,
                   v->width, v->height, (unsigned long long)v->row_count,
                   v->status == MERGE_VIDEO_OK ? "ok" : "failed");
        }
    merge_archive_close(&a);
}

static int info_archive(hid_t f, const char *path, int list) {
    print_attrs(f);
    info_videos(path, list);
    info_walk w = {0, 0, 1};
    if (list) H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit, &w, H5O_INFO_BASIC);
    print_config(f, "job");
    return CMD_EXIT_OK;
}

int cmd_info_main(int argc, char **argv) {
    const char *path = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--list"))
            list = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return cmd_usage_error("info", "unknown option '%s'", argv[i]);
        else if (path)
            return cmd_usage_error("info", "expected one file");
        else
            path = argv[i];
    }
    if (!path) return cmd_usage_error("info", "missing FILE");
    char format[64];
    int version;
    if (cmd_h5_probe(path, format, sizeof format, &version) != RT_OK) {
        fprintf(stderr, "pcan info: %s\n", rt_error());
        return CMD_EXIT_USAGE;
    }
    int is_weights = !strcmp(format, "pcan-weights"), is_archive = !strcmp(format, "pcan-archive");
    if (!is_weights && !is_archive) {
        fprintf(stderr,
                "pcan info: %s: unknown format '%s' (expected pcan-weights or "
                "pcan-archive)\n",
                path, format);
        return CMD_EXIT_USAGE;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "pcan info: %s: cannot open\n", path);
        return CMD_EXIT_USAGE;
    }
    printf("file: %s\nformat: %s\nversion: %d\n", path, format, version);
    int rc = is_weights ? info_weights(f, list) : info_archive(f, path, list);
    H5Fclose(f);
    return rc;
}
