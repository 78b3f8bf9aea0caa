// pcan export — an archive's tracks in dataset formats (merge/export.h).
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "merge/export.h"

int cmd_export_main(int argc, char **argv) {
    const char *archive = NULL, *format = NULL, *classes = NULL;
    merge_export_params p = merge_export_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            if (archive) return cmd_usage_error("export", "unexpected argument '%s'", a);
            archive = a;
            continue;
        }
        if (!val) return cmd_usage_error("export", "%s needs a value", a);
        i++;
        char *end;
        if (!strcmp(a, "--format")) format = val;
        else if (!strcmp(a, "--out")) p.dir = val;
        else if (!strcmp(a, "--classes")) classes = val;
        else if (!strcmp(a, "--annotations")) p.ytvis_annotations = val;
        else if (!strcmp(a, "--min-score")) {
            p.min_score = strtod(val, &end);
            if (*end || end == val) return cmd_usage_error("export", "--min-score: not a number: '%s'", val);
        } else if (!strcmp(a, "--min-track-len")) {
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 1000000000)
                return cmd_usage_error("export", "--min-track-len: expected a positive integer, got '%s'", val);
            p.min_track_len = (int)n;
        } else {
            return cmd_usage_error("export", "unknown option '%s'", a);
        }
    }
    if (!archive) return cmd_usage_error("export", "missing ARCHIVE");
    if (!format) return cmd_usage_error("export", "missing --format F");
    if (!p.dir) return cmd_usage_error("export", "missing --out DIR");
    if (merge_export_format_parse(format, &p.format) != RT_OK)
        return cmd_usage_error("export", "--format: %s", rt_error());
    // --classes a,b: split a copy at the commas.
    char *list = NULL;
    const char *names[64];
    if (classes) {
        if (!(list = rt_malloc(strlen(classes) + 1))) return CMD_EXIT_RUNTIME;
        strcpy(list, classes);
        for (char *s = strtok(list, ","); s && p.n_classes < 64; s = strtok(NULL, ","))
            names[p.n_classes++] = s;
        p.classes = names;
    }
    merge_archive *ar = NULL;
    int rc = CMD_EXIT_USAGE;
    if (merge_archive_open(archive, &ar) != RT_OK) {
        fprintf(stderr, "pcan export: %s\n", rt_error());
        goto done;
    }
    rt_status st = merge_export(ar, &p);
    if (st != RT_OK) {
        fprintf(stderr, "pcan export: %s\n", rt_error());
        rc = st == RT_ERR_CONFIG ? CMD_EXIT_USAGE : CMD_EXIT_RUNTIME;
        goto done;
    }
    fprintf(stderr, "pcan export: wrote %s (%s)\n", p.dir, format);
    rc = CMD_EXIT_OK;
done:
    merge_archive_close(&ar);
    rt_free(list);
    return rc;
}
