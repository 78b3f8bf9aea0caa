// The job's dataset and metrics as shard/ and merge/ take them (cmd/job.h).
#include "cmd/job.h"

#include <string.h>

shard_dataset_params cmd_job_dataset_params(const cmd_job *job) {
    shard_dataset_params p = shard_dataset_default_params();
    // The job's format names are shard's (the parser accepts only those).
    rt_status st = shard_dataset_format_parse(cmd_dataset_format_name(job->dataset.format),
                                              &p.format);
    RT_ASSERT(st == RT_OK);
    (void)st;
    p.root = job->dataset.root;
    p.gt = job->dataset.gt;
    p.split = job->dataset.split;
    p.include = (const char *const *)job->dataset.include.items;
    p.n_include = (size_t)job->dataset.include.count;
    p.exclude = (const char *const *)job->dataset.exclude.items;
    p.n_exclude = (size_t)job->dataset.exclude.count;
    return p;
}

rt_status cmd_job_dataset_init(const cmd_job *job, const shard_dataset_params *p,
                               const char *const *classes, size_t n_classes, shard_dataset **out) {
    size_t nm = (size_t)job->dataset.n_classes;
    if (nm == 0) return shard_dataset_init(p, out);
    shard_class_map_entry *map = rt_malloc(nm * sizeof *map);
    if (!map) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nm; i++)
        map[i] = (shard_class_map_entry){job->dataset.classes[i].from, job->dataset.classes[i].to};
    shard_dataset_params q = *p;
    q.classes = classes;
    q.n_classes = n_classes;
    q.class_map = map;
    q.n_class_map = nm;
    rt_status st = shard_dataset_init(&q, out);
    rt_free(map);
    return st;
}

rt_status cmd_job_check_classes(const cmd_job *job, const char *const *classes, size_t n_classes) {
    for (int i = 0; i < job->dataset.n_classes; i++) {
        const char *to = job->dataset.classes[i].to;
        bool ok = !strcmp(to, "ignore") || !strcmp(to, "drop");
        for (size_t c = 0; c < n_classes && !ok; c++) ok = !strcmp(to, classes[c]);
        if (ok) continue;
        char names[1024] = "";
        for (size_t c = 0, len = 0; c < n_classes && len < sizeof names; c++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", c ? ", " : "",
                                    classes[c]);
        return rt_error_set(RT_ERR_CONFIG,
                            "%s: dataset.classes.%s: '%s' is not a class of the model (%s), "
                            "'ignore' or 'drop'",
                            job->path, job->dataset.classes[i].from, to, names);
    }
    return RT_OK;
}

bool cmd_job_dataset_has_gt(const cmd_job *job) {
    cmd_dataset_format f = job->dataset.format;
    return job->dataset.gt || f == CMD_DATASET_KITTI_MOTS || f == CMD_DATASET_MOTS20 ||
           f == CMD_DATASET_SYNTH || f == CMD_DATASET_BDD100K_MOTS ||
           f == CMD_DATASET_YOUTUBE_VIS;
}

merge_protocol cmd_job_protocol(const cmd_job *job) {
    switch (job->metrics.protocol) {
    case CMD_METRICS_BDD100K: return MERGE_PROTOCOL_BDD100K;
    case CMD_METRICS_YOUTUBE_VIS: return MERGE_PROTOCOL_YOUTUBE_VIS;
    default: return MERGE_PROTOCOL_TRACKEVAL;
    }
}
