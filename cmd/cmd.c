// The subcommand table and the usage helpers every subcommand shares.
#include <stdarg.h>
#include <string.h>

#include "cmd/cmd.h"

const cmd_entry cmd_table[] = {
    {"check", "validate a job file and print the resolved job",
     "usage: pcan check [--quiet] JOB.yaml\n"
     "\n"
     "Validates the job's schema, that its inputs exist and its outputs are writable, and\n"
     "prints the resolved job (defaults filled in, paths absolute). Exit 0 when valid, 2 with\n"
     "file:line:column and the reason otherwise.\n",
     cmd_check_main},
    {"info", "summarise a pcan weights file or archive",
     "usage: pcan info [--list] FILE\n"
     "\n"
     "Prints the format, version and configuration of a pcan weights file (its tensors) or a\n"
     "pcan archive (its videos). --list lists every tensor or dataset. Any other file is\n"
     "rejected with exit 2.\n",
     cmd_info_main},
    {"synth", "write a synthetic MOTS dataset (videos + KITTI-MOTS ground truth)",
     "usage: pcan synth --out DIR --videos N --frames F --seed S [--size WxH]\n"
     "                  [--difficulty easy|normal|hard] [--jpeg] [--fps N] [--first K]\n"
     "\n"
     "Writes N videos of F frames (default 320x192 at 10 fps) with 2-8 moving objects of three\n"
     "classes (car, pedestrian, bicycle) that enter, leave, cross and occlude each other, and\n"
     "their exact ground truth: DIR/instances_txt/<id>.txt (KITTI-MOTS), DIR/classes.txt,\n"
     "DIR/videos/<id>.mp4 (H.264) or, with --jpeg, DIR/frames/<id>/*.jpg. --first K numbers\n"
     "the videos from K. The output is a pure function of the arguments.\n",
     cmd_synth_main},
    {"run", "run PCAN over a job's whole dataset (MPI; resumable)",
     "usage: [mpirun -np N | srun] pcan run [--verbose] [--retry-failed] JOB.yaml\n"
     "\n"
     "Runs every video of the job's dataset, one result file per video in the spool\n"
     "(output.spool), handing videos out longest first to the ranks that ask, then writes\n"
     "the columnar archive (output.archive). Rerunning resumes: committed videos with the\n"
     "same weights and model settings are not recomputed. SIGTERM/SIGUSR1 stop every rank\n"
     "after its current frame (exit 4). --retry-failed runs failed videos again; --verbose\n"
     "prints a line per video from every rank.\n"
     "Exit: 0 ok, 1 runtime failure, 2 bad job/weights/outputs, 3 some videos failed,\n"
     "4 interrupted (run again to resume).\n",
     cmd_run_main},
    {"merge", "rebuild a job's archive from its spool (MPI)",
     "usage: [mpirun -np N | srun] pcan merge [--verbose] JOB.yaml\n"
     "\n"
     "Writes output.archive from every entry in output.spool made with the job's weights and\n"
     "model settings, on any number of ranks (parallel HDF5). Exit 3 when the archive holds\n"
     "failed videos.\n",
     cmd_merge_main},
    {"submit", "submit a job to Slurm from slurm/pcan.sbatch (prints the job id)",
     "usage: pcan submit JOB.yaml [--nodes N] [--ntasks-per-node T] [--cpus-per-task C]\n"
     "                   [--time HH:MM:SS] [--partition P] [--script PATH] [--merge-after]\n"
     "                   [--template-dir DIR] [--dry-run]\n"
     "\n"
     "Checks JOB.yaml with the strict parser, fills the template slurm/pcan.sbatch (never edited\n"
     "in place) into <archive>.sbatch (or --script PATH) and runs sbatch on it; prints the job\n"
     "id. The job runs `srun --mpi=pmix pcan run JOB.yaml` on N x T ranks with C threads each,\n"
     "is requeued after a time-limit signal (USR1 120 s before) and resumes from the spool.\n"
     "--merge-after also submits slurm/merge.sbatch (pcan merge) with\n"
     "--dependency=afterok:<run job id>. --dry-run prints the filled script(s) and submits\n"
     "nothing. Defaults: 1 node, 1 task per node, 1 cpu per task, 24:00:00, default partition.\n"
     "$PCAN_SBATCH replaces the sbatch command.\n",
     cmd_submit_main},
    {"infer", "run PCAN on one video or frame folder into a one-video archive (no MPI launcher)",
     "usage: pcan infer VIDEO|FOLDER --weights W.h5 --out RESULTS.h5 [--id ID] [--threads N]\n"
     "                  [--quiet]\n"
     "\n"
     "Decodes a video file (any container/codec FFmpeg reads) or a folder of JPEG/PNG frames\n"
     "(natural order), runs PCAN on every frame and writes a one-video pcan archive, the format\n"
     "`pcan run` writes (readable by pcan info/eval/export/render and h5py). Progress goes to\n"
     "stderr. The video id defaults to the file name without extension or the folder name.\n"
     "Exit 0 ok, 1 the video cannot be processed (no output is left), 2 bad arguments or weights.\n",
     cmd_infer_main},
    {"bench", "time the per-frame step by stage (R50 and tiny, synthetic weights)",
     "usage: pcan bench [--r50 | --tiny] [--weights W.h5] [--size WxH] [--dets 20,100]\n"
     "                  [--threads 1,2] [--runs 5] [--warmup 1]\n"
     "\n"
     "Times every stage of the PCAN step on a synthetic frame (default 1280x720) with the heads\n"
     "forced to each --dets count, for the official R50 configuration with formula weights (or\n"
     "--weights) and the tiny test configuration, on each thread count: the median of --runs\n"
     "frames after --warmup, the backbone+FPN+RPN convolution rate next to an OpenBLAS sgemm\n"
     "2048^3 measured just before in the same process, peak RSS and allocations.\n",
     cmd_bench_main},
    {"render", "draw one video's tracks over its frames (MP4 and/or contact sheet PNG)",
     "usage: pcan render ARCHIVE --video ID [--out FILE.mp4] [--contact-sheet FILE.png]\n"
     "                   [--every N] [--source PATH] [--fps N]\n"
     "\n"
     "Reads the video's rows from a pcan archive and its frames from the source recorded in\n"
     "the archive (or --source), and draws masks coloured by track id (a higher score wins\n"
     "overlaps), boxes and 'id class' labels. --out writes an H.264 MP4; --contact-sheet a PNG\n"
     "grid of every N-th frame (default: 16 frames spread over the video).\n",
     cmd_render_main},
    {"eval", "score an archive against a dataset's ground truth (TrackEval / BDD100K / YouTube-VIS)",
     "usage: pcan eval --gt ROOT --format F [--split S] --results ARCHIVE\n"
     "                 [--protocol trackeval|bdd100k|youtube-vis] [--json OUT.json]\n"
     "                 [--summaries DIR] [--per-video] [--results-format F]\n"
     "       pcan eval --job JOB.yaml [any of the options above, which override the job]\n"
     "\n"
     "--results-format F: --results is a folder of result files in dataset format F (what\n"
     "pcan export writes, e.g. bdd100k-mots for a scalabel export) instead of an archive;\n"
     "youtube-vis: --results is a YouTube-VIS results JSON (or a folder with results.json, what\n"
     "pcan export --format youtube-vis --annotations writes), its ids those of --gt's JSON.\n"
     "Evaluates every dataset video with ground truth in id order (videos missing from the\n"
     "archive count as all missed; archive videos without ground truth are skipped; both are\n"
     "named on stderr). trackeval prints TrackEval's HOTA, CLEAR, Identity and Count tables per\n"
     "class in its layout and number format (x100, 5 significant digits; MOTA/MOTP/sMOTA are the\n"
     "MOTS paper's MOTSA/MOTSP/sMOTSA), then the class combinations cls_comb_cls_av and\n"
     "cls_comb_det_av except for kitti-mots and mots20 (TrackEval reports those classes\n"
     "separately); --per-video adds the sequence rows (keeps ~20 KB per video); --summaries\n"
     "writes TrackEval's <class>_summary.txt and <class>_detailed.csv files into DIR (the CSV:\n"
     "a row per sequence and COMBINED, every field with the per-alpha HOTA arrays, values as\n"
     "fractions in Python's repr; keeps the sequence results like --per-video, without printing\n"
     "them). bdd100k prints scalabel's seg_track table; youtube-vis prints YTVOSeval's AP/AR\n"
     "summary (a track's category is its most frequent label, its score the mean of its\n"
     "scores). --json writes the rows with the reference tools' field names at full precision.\n"
     "--job takes the dataset (format, root, gt, split, include/exclude, class map), the archive\n"
     "(output.archive) and metrics.protocol / metrics.classes from a job file.\n"
     "Exit 2: bad arguments or inputs; 1: runtime failure.\n",
     cmd_eval_main},
    {"export", "write an archive's tracks in dataset formats (results, pseudo-labels)",
     "usage: pcan export ARCHIVE --format F --out DIR [--min-score X] [--min-track-len N]\n"
     "                   [--classes a,b] [--annotations YTVIS.json]\n"
     "\n"
     "F: kitti-mots, mots20 (DIR/<video>.txt and DIR/classes.txt; car 1, pedestrian 2 when\n"
     "present, else class index + 1), scalabel (DIR/<video>.json, BDD100K MOTS), bdd-bitmask\n"
     "(DIR/<video>/<video>-NNNNNNN.png, RGBA), youtube-vis (DIR/results.json; --annotations\n"
     "gives the dataset's video and category ids). Masks are de-overlapped by score. Filters\n"
     "drop rows below --min-score, tracks shorter than --min-track-len frames and other classes.\n"
     "Failed videos are skipped. Exit 2: bad arguments or inputs; 1: runtime failure.\n",
     cmd_export_main},
    {"sweep", "a grid of job overrides and cluster shapes: expand, run a point, submit, report",
     "usage: pcan sweep expand SWEEP.yaml\n"
     "       [srun | mpirun -np N] pcan sweep point SWEEP.yaml K [--verbose] [--retry-failed]\n"
     "       pcan sweep submit SWEEP.yaml [--max-parallel P] [--time HH:MM:SS] [--partition P]\n"
     "                         [--template-dir DIR] [--dry-run]\n"
     "       pcan sweep report ARCHIVE... --out DIR [--metric NAME] [--axis KEY]\n"
     "\n"
     "A sweep file names a base job (a file, or a mapping inline) and a grid of overrides over\n"
     "model.* and run.* keys and the cluster shape (cluster.nodes, cluster.ntasks_per_node,\n"
     "cluster.cpus_per_task); every combination is a point with its own archive\n"
     "<folder>/<name>-<K>.h5. expand checks every point and lists index, shape, overrides and\n"
     "archive. point runs point K through `pcan run` (its effective job is written to\n"
     "<archive>.job.yaml). submit writes slurm/sweep.sbatch as a job array per cluster shape\n"
     "(--array=<points>%P) and prints the job ids ($PCAN_SBATCH replaces sbatch). report reads\n"
     "the archives' metrics (the class-mean row of the run's /metrics, TrackEval fields x100;\n"
     "evaluated from the job's ground truth for archives without them) and timing (frames/s =\n"
     "frames x ranks / summed per-video seconds; efficiency per cpu against the smallest\n"
     "ranks x threads of the same workload) into DIR/report.csv, DIR/report.md (also printed)\n"
     "and DIR/plot.svg: --metric (HOTA, DetA, sMOTSA, IDF1, ..., fps, efficiency; default HOTA\n"
     "or fps) against --axis (a job key, cluster.*, point; default the first key that varies).\n",
     cmd_sweep_main},
    // Internal (no summary: not listed by `pcan --help`).
    {"_spool-synth", NULL,
     "usage: pcan _spool-synth JOB.yaml --videos N [--frames F] [--first K]\n"
     "\n"
     "Internal, for benchmarks and tests of the merge stage: writes N tiny deterministic spool\n"
     "entries (ids sKKKKK.., 32x24, F frames, default 3) with the job's resume hash into the\n"
     "job's spool, without fsync, so that `pcan merge JOB.yaml` builds an archive of them.\n",
     cmd_spool_synth_main},
    {NULL, NULL, NULL, NULL},
};

void cmd_print_main_usage(FILE *f) {
    fprintf(f, "usage: pcan [--help | --version] COMMAND [ARGS]\n\n"
               "Multiple object tracking and segmentation (PCAN) over whole video datasets.\n\n"
               "Commands:\n");
    for (const cmd_entry *e = cmd_table; e->name; e++)
        if (e->summary) fprintf(f, "  %-10s %s\n", e->name, e->summary);
    fprintf(f, "\n`pcan COMMAND --help` describes a command.\n"
               "Exit codes: 0 ok, 1 runtime failure, 2 usage/config/input error,\n"
               "            3 finished with failed videos, 4 interrupted (resumable).\n");
}

const cmd_entry *cmd_find(const char *name) {
    for (const cmd_entry *e = cmd_table; e->name; e++)
        if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

void cmd_print_usage(const cmd_entry *e, FILE *f) { fputs(e->usage, f); }

int cmd_usage_error(const char *name, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "pcan %s: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    const cmd_entry *e = cmd_find(name);
    if (e) cmd_print_usage(e, stderr);
    return CMD_EXIT_USAGE;
}
