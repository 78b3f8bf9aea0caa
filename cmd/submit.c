// pcan submit — fill slurm/pcan.sbatch for a job and hand it to sbatch.
//
// The template is never edited: its @KEY@ fields are replaced in a copy written next to the
// archive (<archive>.sbatch, or --script PATH). A template line whose field has no value (only
// --partition is optional) is dropped, so Slurm's default applies. `sbatch` is run as
// `$PCAN_SBATCH` when that is set (tests use a stand-in), and its --parsable answer is printed.
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/submit.h"

#include "cmd/cmd.h"
#include "cmd/job.h"
#include "runtime/fsutil.h"

typedef struct submit_opts {
    const char *job_path, *template_dir, *script, *partition, *time;
    long nodes, ntasks_per_node, cpus_per_task;
    bool dry_run, merge_after;
} submit_opts;

// Single-quoted for bash; the template runs the paths as words.
void cmd_shell_quote(const char *s, char *out, size_t cap) {
    size_t o = 0;
    if (o + 1 < cap) out[o++] = '\'';
    for (; *s && o + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *s;
        }
    }
    if (o + 1 < cap) out[o++] = '\'';
    out[o] = 0;
}

static rt_status read_text(const char *path, char **text) {
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = rt_malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    bool big = buf && n == (1 << 16) - 1;
    fclose(f);
    if (!buf) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
    if (big) {
        rt_free(buf);
        return rt_error_set(RT_ERR_FORMAT, "%s: template larger than 64 KiB", path);
    }
    buf[n] = 0;
    *text = buf;
    return RT_OK;
}

// Writes `tmpl` to `out` with every @KEY@ replaced; a line naming a field whose value is NULL is
// dropped; an unknown @KEY@ is an error (a template and a pcan that do not match).
static rt_status fill(const char *tmpl, const char *tmpl_path, const cmd_sbatch_field *fields,
                      int n, FILE *out) {
    int line_no = 1;
    for (const char *line = tmpl; *line; line_no++) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);
        bool drop = false;
        for (int i = 0; i < n; i++) {
            char tag[64];
            snprintf(tag, sizeof tag, "@%s@", fields[i].key);
            const char *hit = strstr(line, tag);
            if (hit && hit < line + len && !fields[i].value) drop = true;
        }
        for (size_t k = 0; !drop && k < len;) {
            if (line[k] == '@') {
                int i = 0;
                for (; i < n; i++) {
                    size_t kl = strlen(fields[i].key);
                    if (k + kl + 1 < len && !strncmp(line + k + 1, fields[i].key, kl) &&
                        line[k + 1 + kl] == '@')
                        break;
                }
                if (i < n) {
                    fputs(fields[i].value, out);
                    k += strlen(fields[i].key) + 2;
                    continue;
                }
                // An @ that starts an upper-case @NAME@ we do not know is a mismatch.
                size_t j = k + 1;
                while (j < len && ((line[j] >= 'A' && line[j] <= 'Z') || line[j] == '_')) j++;
                if (j > k + 1 && j < len && line[j] == '@')
                    return rt_error_set(RT_ERR_FORMAT, "%s:%d: unknown template field %.*s",
                                        tmpl_path, line_no, (int)(j - k + 1), line + k);
            }
            fputc(line[k], out);
            k++;
        }
        line += len;
    }
    return RT_OK;
}

static int parse_long(const char *opt, const char *val, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (!*val || *end || errno || v < lo || v > hi)
        return cmd_usage_error("submit", "%s: expected an integer in %ld..%ld, got '%s'", opt, lo,
                               hi, val);
    *out = v;
    return 0;
}

static bool valid_time(const char *t) {
    // Slurm accepts several forms; we take the documented HH:MM:SS and D-HH:MM:SS.
    int d, h, m, s;
    char c;
    if (sscanf(t, "%d-%d:%d:%d%c", &d, &h, &m, &s, &c) == 4)
        return d >= 0 && h < 24 && m < 60 && s < 60;
    if (sscanf(t, "%d:%d:%d%c", &h, &m, &s, &c) == 3)
        return h >= 0 && m >= 0 && m < 60 && s >= 0 && s < 60;
    return false;
}

rt_status cmd_sbatch_template(const char *template_dir, const char *name, char *out, size_t cap) {
    if (template_dir) {
        snprintf(out, cap, "%s/%s", template_dir, name);
        if (access(out, R_OK) == 0) return RT_OK;
        return rt_error_set(RT_ERR_IO, "%s: %s", out, strerror(errno));
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(out, cap, "%s/../slurm/%s", exe, name);
        if (access(out, R_OK) == 0) return RT_OK;
        snprintf(out, cap, "%s/../share/pcan/slurm/%s", exe, name);
        if (access(out, R_OK) == 0) return RT_OK;
    }
    return rt_error_set(RT_ERR_IO,
                        "cannot find the template slurm/%s next to pcan; "
                        "give --template-dir DIR",
                        name);
}

void cmd_self_exe(char *out, size_t cap) {
    snprintf(out, cap, "pcan");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        snprintf(out, cap, "%s", exe);
    }
}

rt_status cmd_sbatch_fill(const char *template_path, const cmd_sbatch_field *fields, int n,
                          const char *script) {
    char *tmpl = NULL;
    rt_status st = read_text(template_path, &tmpl);
    if (st != RT_OK) return st;
    if (!script) {
        st = fill(tmpl, template_path, fields, n, stdout);
    } else {
        rt_atomic_file af;
        st = rt_atomic_open(&af, script);
        if (st == RT_OK) {
            st = fill(tmpl, template_path, fields, n, af.f);
            if (st == RT_OK)
                st = rt_atomic_commit(&af);
            else
                rt_atomic_abort(&af);
        }
    }
    rt_free(tmpl);
    return st;
}

// Fills template `name` into `script`; on dry runs prints it instead.
static rt_status write_script(const submit_opts *o, const cmd_job *job, const char *name,
                              const char *script, const char *log) {
    char tpath[PATH_MAX + 64];
    rt_status st = cmd_sbatch_template(o->template_dir, name, tpath, sizeof tpath);
    if (st != RT_OK) return st;
    char exe[PATH_MAX];
    cmd_self_exe(exe, sizeof exe);
    char q_exe[3 * PATH_MAX], q_job[3 * PATH_MAX], nodes[24], tpn[24], cpt[24], jname[64];
    cmd_shell_quote(exe, q_exe, sizeof q_exe);
    cmd_shell_quote(job->path, q_job, sizeof q_job);
    snprintf(nodes, sizeof nodes, "%ld", o->nodes);
    snprintf(tpn, sizeof tpn, "%ld", o->ntasks_per_node);
    snprintf(cpt, sizeof cpt, "%ld", o->cpus_per_task);
    // The job name: the job file's base name without .yaml.
    const char *base = strrchr(job->path, '/');
    base = base ? base + 1 : job->path;
    snprintf(jname, sizeof jname, "pcan-%.50s", base);
    char *dot = strrchr(jname, '.');
    if (dot && dot != jname) *dot = 0;
    for (char *c = jname; *c; c++)
        if (*c == ' ' || *c == '\'' || *c == '"') *c = '_';
    const cmd_sbatch_field fields[] = {
        {"NAME", jname},        {"NODES", nodes},  {"NTASKS_PER_NODE", tpn},
        {"CPUS_PER_TASK", cpt}, {"TIME", o->time}, {"PARTITION", o->partition},
        {"LOG", log},           {"PCAN", q_exe},   {"JOB", q_job},
    };
    int nf = (int)(sizeof fields / sizeof fields[0]);
    return cmd_sbatch_fill(tpath, fields, nf, o->dry_run ? NULL : script);
}

rt_status cmd_sbatch_submit(const char *script, const char *dep, char *id, size_t cap) {
    const char *sb = getenv("PCAN_SBATCH");
    if (!sb || !*sb) sb = "sbatch";
    char q_script[3 * PATH_MAX], cmd[4 * PATH_MAX];
    cmd_shell_quote(script, q_script, sizeof q_script);
    snprintf(cmd, sizeof cmd, "%s --parsable %s%s %s", sb, dep ? "--dependency=afterok:" : "",
             dep ? dep : "", q_script);
    FILE *p = popen(cmd, "r");
    if (!p) return rt_error_set(RT_ERR_IO, "cannot run %s: %s", sb, strerror(errno));
    char line[256] = "";
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    int rc = pclose(p);
    if (rc != 0 || !line[0])
        return rt_error_set(RT_ERR_IO, "%s %s failed (status %d)", sb, script, rc);
    line[strcspn(line, ";\r\n")] = 0; // "id;cluster" on federated setups
    snprintf(id, cap, "%s", line);
    return RT_OK;
}

int cmd_submit_main(int argc, char **argv) {
    submit_opts o = {.nodes = 1, .ntasks_per_node = 1, .cpus_per_task = 1, .time = "24:00:00"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--nodes") || !strcmp(a, "--ntasks-per-node") ||
                     !strcmp(a, "--cpus-per-task") || !strcmp(a, "--time") ||
                     !strcmp(a, "--partition") || !strcmp(a, "--script") ||
                     !strcmp(a, "--template-dir");
        if (takes && !val) return cmd_usage_error("submit", "%s needs a value", a);
        if (!strcmp(a, "--nodes")) {
            if (parse_long(a, val, 1, 100000, &o.nodes)) return CMD_EXIT_USAGE;
        } else if (!strcmp(a, "--ntasks-per-node")) {
            if (parse_long(a, val, 1, 4096, &o.ntasks_per_node)) return CMD_EXIT_USAGE;
        } else if (!strcmp(a, "--cpus-per-task")) {
            if (parse_long(a, val, 1, 4096, &o.cpus_per_task)) return CMD_EXIT_USAGE;
        } else if (!strcmp(a, "--time")) {
            if (!valid_time(val))
                return cmd_usage_error("submit",
                                       "--time: expected HH:MM:SS or D-HH:MM:SS, got '%s'", val);
            o.time = val;
        } else if (!strcmp(a, "--partition")) {
            o.partition = val;
        } else if (!strcmp(a, "--script")) {
            o.script = val;
        } else if (!strcmp(a, "--template-dir")) {
            o.template_dir = val;
        } else if (!strcmp(a, "--dry-run")) {
            o.dry_run = true;
            continue;
        } else if (!strcmp(a, "--merge-after")) {
            o.merge_after = true;
            continue;
        } else if (a[0] == '-' && a[1]) {
            return cmd_usage_error("submit", "unknown option %s", a);
        } else if (!o.job_path) {
            o.job_path = a;
            continue;
        } else {
            return cmd_usage_error("submit", "one job file only (got '%s' too)", a);
        }
        i++;
    }
    if (!o.job_path) return cmd_usage_error("submit", "missing JOB.yaml");
    if (o.partition) {
        for (const char *c = o.partition; *c; c++)
            if (!(*c == '-' || *c == '_' || *c == ',' || (*c >= '0' && *c <= '9') ||
                  (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                return cmd_usage_error("submit", "--partition: unexpected character in '%s'",
                                       o.partition);
    }

    // The same strict parser as `pcan run`: a bad job fails here, not hours later in the queue.
    cmd_job job;
    if (cmd_job_load(o.job_path, &job) != RT_OK) {
        fprintf(stderr, "pcan submit: %s\n", rt_error());
        cmd_job_free(&job);
        return CMD_EXIT_USAGE;
    }
    int rc = CMD_EXIT_OK;
    char script[PATH_MAX + 32], mscript[PATH_MAX + 32], log[PATH_MAX + 32], mlog[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s", o.script ? o.script : "");
    if (!o.script) snprintf(script, sizeof script, "%s.sbatch", job.output.archive);
    snprintf(mscript, sizeof mscript, "%s.merge.sbatch", job.output.archive);
    // %j is Slurm's job id; append mode keeps every restart of a requeued job in one log.
    snprintf(log, sizeof log, "%s.%%j.log", job.output.archive);
    snprintf(mlog, sizeof mlog, "%s.merge.%%j.log", job.output.archive);

    char id[128], mid[128];
    if (write_script(&o, &job, "pcan.sbatch", script, log) != RT_OK) goto fail;
    if (o.merge_after) {
        if (o.dry_run) printf("# ---- merge job (--dependency=afterok:<run job id>) ----\n");
        if (write_script(&o, &job, "merge.sbatch", mscript, mlog) != RT_OK) goto fail;
    }
    if (o.dry_run) goto done;
    if (cmd_sbatch_submit(script, NULL, id, sizeof id) != RT_OK) goto fail;
    printf("%s\n", id);
    fprintf(stderr, "pcan submit: job %s (%s), log %s\n", id, script, log);
    if (o.merge_after) {
        if (cmd_sbatch_submit(mscript, id, mid, sizeof mid) != RT_OK) goto fail;
        printf("%s\n", mid);
        fprintf(stderr, "pcan submit: merge job %s after %s (%s)\n", mid, id, mscript);
    }
    goto done;
fail:
    fprintf(stderr, "pcan submit: %s\n", rt_error());
    rc = rt_error_status() == RT_ERR_FORMAT ? CMD_EXIT_USAGE : CMD_EXIT_RUNTIME;
done:
    cmd_job_free(&job);
    return rc;
}
