// Text annotation readers: KITTI MOTS / MOTS20 / synth instance files (`frame obj_id class_id h w
// rle`), KITTI and MOTChallenge seqmaps, seqinfo.ini and synth classes.txt.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shard/datasets_internal.h"

// KITTI MOTS / MOTS20 class id of "don't care" regions (object id 10000).
#define KITTI_IGNORE_CLASS 10

// Splits `line` (modified in place) at spaces and tabs; returns the number of tokens found (at
// most `max`; one more than `max` means "too many").
static int split_ws(char *line, char **tok, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (n == max) return max + 1;
        tok[n++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

// Next line of a NUL-terminated buffer: returns it NUL-terminated (a trailing '\r' removed) and
// advances *cursor; NULL at the end.
static char *next_line(char **cursor) {
    char *s = *cursor;
    if (!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = s + strlen(s);
    }
    size_t n = strlen(s);
    if (n && s[n - 1] == '\r') s[n - 1] = '\0';
    return s;
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static const char *const k_cols[] = {"frame", "obj_id", "class_id", "height", "width", "rle"};

rt_status shard_gt_read_txt(const shard_dataset *ds, const shard_dataset_video *v,
                            int frame_base, shard_gt **out) {
    *out = NULL;
    const char *path = v->gt_path;
    char *text = NULL;
    shard_gt_builder b;
    shard_gtb_init(&b, path, SHARD_PLACE_LINE, v->frames);
    b.frame_base = frame_base;
    rt_status st = shard_gtb_expect_image_size(&b, v);
    if (st != RT_OK) goto done;
    if ((st = shard_read_text(path, &text, NULL)) != RT_OK) goto done;
    char *cursor = text, *line;
    for (int ln = 1; (line = next_line(&cursor)) != NULL; ln++) {
        char *tok[6];
        int n = split_ws(line, tok, 6);
        if (n == 0) continue; // blank lines (e.g. a trailing one) carry nothing
        if (n != 6) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: expected 6 columns (frame obj_id "
                              "class_id height width rle), found %s%d", path, ln,
                              n > 6 ? "more than " : "", n > 6 ? 6 : n);
            goto done;
        }
        int64_t val[5];
        static const int64_t lo[5] = {INT32_MIN, 0, 0, 1, 1};
        for (int c = 0; c < 5; c++) {
            if (!parse_i64(tok[c], lo[c], INT32_MAX, &val[c])) {
                st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: column %d (%s): '%.40s' is not "
                                  "an integer%s", path, ln, c + 1, k_cols[c], tok[c],
                                  c >= 3 ? " >= 1" : c >= 1 ? " >= 0" : "");
                goto done;
            }
        }
        int32_t obj_id = (int32_t)val[1], class_id = (int32_t)val[2];
        if (obj_id / 1000 != class_id) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: class_id %d does not match obj_id %d "
                              "(class_id must be obj_id / 1000)", path, ln, class_id, obj_id);
            goto done;
        }
        if ((uint64_t)val[3] * (uint64_t)val[4] > UINT32_MAX) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: mask size %lldx%lld is too large",
                              path, ln, (long long)val[3], (long long)val[4]);
            goto done;
        }
        shard_gt_object o = {.track_id = obj_id, .class_index = -1};
        rt_rle_init(&o.mask);
        st = rt_rle_from_string(&o.mask, (uint32_t)val[3], (uint32_t)val[4], tok[5],
                                strlen(tok[5]));
        if (st != RT_OK) {
            rt_rle_free(&o.mask);
            st = rt_error_wrap(st, "%s: line %d", path, ln);
            goto done;
        }
        if (class_id == KITTI_IGNORE_CLASS) {
            o.ignore = true;
        } else {
            char id[16];
            snprintf(id, sizeof id, "%d", class_id);
            // KITTI MOTS / MOTS20 class names, so that a job may map "car" as well as "1".
            const char *name = ds->format == SHARD_FMT_SYNTH ? NULL
                               : class_id == 1              ? "car"
                               : class_id == 2              ? "pedestrian"
                                                            : NULL;
            const shard_class_rule *r = shard_class_lookup(ds, id, name);
            // Unmapped classes are not evaluated by TrackEval's MOTS protocols: drop them.
            if (!r || r->class_index == SHARD_CLASS_DROP) {
                // Still checked: a malformed line is an error whatever its class.
                st = shard_gtb_check(&b, val[0] - frame_base, ln, 0, &o.mask);
                rt_rle_free(&o.mask);
                if (st != RT_OK) goto done;
                continue;
            }
            o.class_index = r->class_index;
            o.ignore = r->ignore;
        }
        if ((st = shard_gtb_add(&b, val[0] - frame_base, ln, 0, &o)) != RT_OK) goto done;
    }
    st = shard_gtb_finish(&b, out);
done:
    rt_free(text);
    shard_gtb_free(&b);
    return st;
}

rt_status shard_seqmap_read_kitti(const char *path, shard_strvec *seqs, int64_t **lengths) {
    char *text = NULL;
    int64_t *len = NULL;
    size_t cap = 0;
    rt_status st = shard_read_text(path, &text, NULL);
    if (st != RT_OK) return st;
    char *cursor = text, *line;
    for (int ln = 1; (line = next_line(&cursor)) != NULL; ln++) {
        char *tok[4];
        int n = split_ws(line, tok, 4);
        if (n == 0) continue;
        int64_t first, last;
        if (n != 4) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: expected 4 columns (sequence, unused, "
                              "first frame, last frame), found %s%d", path, ln,
                              n > 4 ? "more than " : "", n > 4 ? 4 : n);
            goto fail;
        }
        if (!parse_i64(tok[2], 0, INT32_MAX, &first) || !parse_i64(tok[3], 0, INT32_MAX, &last)
            || last < first) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: bad frame range '%.20s %.20s'", path,
                              ln, tok[2], tok[3]);
            goto fail;
        }
        for (size_t i = 0; i < seqs->n; i++) {
            if (strcmp(seqs->v[i], tok[0]) == 0) {
                st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: sequence '%s' listed twice", path,
                                  ln, tok[0]);
                goto fail;
            }
        }
        if (seqs->n == cap) {
            cap = cap ? 2 * cap : 32;
            int64_t *nl = rt_realloc(len, cap * sizeof *nl);
            if (!nl) {
                st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            len = nl;
        }
        len[seqs->n] = last + 1; // TrackEval: the length is the last frame + 1
        if ((st = shard_strvec_push(seqs, tok[0])) != RT_OK) goto fail;
    }
    if (seqs->n == 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: no sequences", path);
        goto fail;
    }
    rt_free(text);
    *lengths = len;
    return RT_OK;
fail:
    rt_free(text);
    rt_free(len);
    shard_strvec_free(seqs);
    return st;
}

rt_status shard_seqmap_read_mot(const char *path, shard_strvec *seqs) {
    char *text = NULL;
    rt_status st = shard_read_text(path, &text, NULL);
    if (st != RT_OK) return st;
    char *cursor = text, *line;
    bool header = true;
    for (int ln = 1; (line = next_line(&cursor)) != NULL; ln++) {
        char *tok[1];
        int n = split_ws(line, tok, 1);
        if (n == 0) continue;
        if (header) {
            header = false;
            if (strcmp(tok[0], "name") == 0 && n == 1) continue;
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: expected the header 'name'", path, ln);
            goto fail;
        }
        if (n > 1) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: expected one sequence name", path, ln);
            goto fail;
        }
        for (size_t i = 0; i < seqs->n; i++) {
            if (strcmp(seqs->v[i], tok[0]) == 0) {
                st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: sequence '%s' listed twice", path,
                                  ln, tok[0]);
                goto fail;
            }
        }
        if ((st = shard_strvec_push(seqs, tok[0])) != RT_OK) goto fail;
    }
    if (seqs->n == 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: no sequences", path);
        goto fail;
    }
    rt_free(text);
    return RT_OK;
fail:
    rt_free(text);
    shard_strvec_free(seqs);
    return st;
}

rt_status shard_seqinfo_length(const char *path, int64_t *len) {
    char *text = NULL;
    rt_status st = shard_read_text(path, &text, NULL);
    if (st != RT_OK) return st;
    *len = -1;
    char *cursor = text, *line;
    for (int ln = 1; (line = next_line(&cursor)) != NULL; ln++) {
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        char *tok[2];
        if (split_ws(line, tok, 1) != 1 || strcmp(tok[0], "seqLength") != 0) continue;
        int n = split_ws(eq + 1, tok, 1);
        if (n != 1 || !parse_i64(tok[0], 0, INT32_MAX, len)) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: seqLength is not a count", path, ln);
            *len = -1;
        }
        break;
    }
    rt_free(text);
    return st;
}

rt_status shard_read_class_names(const char *path, shard_strvec *names) {
    char *text = NULL;
    rt_status st = shard_read_text(path, &text, NULL);
    if (st != RT_OK) return st;
    char *cursor = text, *line;
    int blank_at = 0;
    for (int ln = 1; (line = next_line(&cursor)) != NULL; ln++) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = '\0';
        while (*line == ' ' || *line == '\t') line++;
        if (!*line) {
            if (!blank_at) blank_at = ln;
            continue;
        }
        // Class ids are line numbers: a blank line before a name would shift them silently.
        if (blank_at) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: blank line (class ids are line "
                              "numbers)", path, blank_at);
            goto fail;
        }
        for (size_t i = 0; i < names->n; i++) {
            if (strcmp(names->v[i], line) == 0) {
                st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: class '%s' listed twice", path,
                                  ln, line);
                goto fail;
            }
        }
        if (names->n == 9) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: line %d: more than 9 classes (class id 10 marks "
                              "ignore regions)", path, ln);
            goto fail;
        }
        if ((st = shard_strvec_push(names, line)) != RT_OK) goto fail;
    }
    if (names->n == 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: no class names", path);
        goto fail;
    }
    rt_free(text);
    return RT_OK;
fail:
    rt_free(text);
    shard_strvec_free(names);
    return st;
}
