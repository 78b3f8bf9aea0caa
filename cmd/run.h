// run — `pcan run JOB.yaml` (and `pcan merge JOB.yaml`): the distributed batch run.
//
//     mpirun -np N pcan run job.yaml      # or srun, or one process without a launcher
//
// Phases (every rank unless said):
//   1. MPI_Init; rank 0 loads and validates the job and reads the weights' identity (sha256 of
//      the file, `name`, classes); any problem → every rank returns CMD_EXIT_USAGE before any
//      work starts. The job text is broadcast and parsed on every rank.
//   2. hooks.setup (the engine: open the model) on every rank; a failure anywhere → exit 2.
//   3. rank 0 lists the videos (hooks.list); shard_plan_share / shard_plan_scan (resume).
//   4. threads per rank are set (OpenMP and OpenBLAS); SIGTERM/SIGUSR1/SIGINT set a flag;
//      shard_coord_run runs the videos with hooks.process.
//   5. unless interrupted: merge_archive_write builds the archive from the spool.
// Exit codes: 0 ok, 1 runtime failure, 2 bad job/weights/outputs, 3 some videos failed,
// 4 interrupted (resumable). Every rank returns the same code; no rank calls exit().
//
// The hooks make the distributed machinery independent of the engine: cmd_run_main uses the
// dataset reader and the engine (cmd/run_engine.c);
// tests pass a deterministic processor of their own.
#ifndef PCAN_CMD_RUN_H
#define PCAN_CMD_RUN_H

#include "cmd/job.h"
#include "runtime/model_config.h"
#include "runtime/sha256.h"
#include "shard/coord.h"
#include "shard/plan.h"
#include "shard/video.h"

typedef struct cmd_run_hooks {
    // Rank 0 only: appends the job's videos to `plan` (any order). NULL: the dataset reader.
    rt_status (*list)(void *ctx, const cmd_job *job, shard_plan *plan);
    // Every rank, before any video: loads what `process` needs. `threads` is this rank's thread
    // count. A failure is reported as an input-contract error (exit 2). NULL: nothing to do.
    rt_status (*setup)(void *ctx, const cmd_job *job, int threads);
    // Runs one video (see shard/coord.h). NULL: no engine in this build (exit 1).
    shard_process_fn process;
    // Every rank, exactly once at the end, whether or not setup ran or succeeded (it may free
    // ctx). NULL: nothing.
    void (*teardown)(void *ctx);
    void *ctx;
} cmd_run_hooks;

// `pcan run` with the given hooks; argv[0] is "run". Initialises and finalises MPI when it is
// not initialised yet (a test that re-executes itself under mpirun calls it like this).
int cmd_run(int argc, char **argv, const cmd_run_hooks *hooks);

// The weights' identity, without loading the tensors: what the resume hash and the archive's
// attributes need (rank 0 reads it and broadcasts it as bytes: no pointers).
typedef struct cmd_weights_id {
    char sha256[RT_SHA256_HEX_LEN + 1];
    char name[RT_MODEL_NAME_MAX];
    int n_classes;
    char classes[RT_MODEL_MAX_CLASSES][RT_MODEL_NAME_MAX];
} cmd_weights_id;

// Reads the file's sha256, `name` and config's classes. RT_ERR_IO / RT_ERR_FORMAT naming it.
rt_status cmd_weights_id_read(const char *path, cmd_weights_id *id);
// The class names as the string list shard/ and merge/ take; `out` has RT_MODEL_MAX_CLASSES.
size_t cmd_weights_id_classes(const cmd_weights_id *id, const char **out);

// Everything `pcan run` checks before any work, also what `pcan check` runs: loads the job
// (cmd_job_load; `job` is the caller's to free, also on failure), validates it against the file
// system, reads the weights' identity and checks dataset.classes against their classes.
// RT_ERR_CONFIG / RT_ERR_IO with the message to print.
rt_status cmd_run_preflight(const char *path, cmd_job *job, cmd_weights_id *id);

// The canonical text of the job's model.* keys and dataset.format that the resume hash covers
// (see shard/plan.h), into buf (truncated to cap).
void cmd_run_config_text(const cmd_job *job, char *buf, size_t cap);

// One video through the engine, shared by `pcan run` (the hooks below) and `pcan infer`.
typedef struct cmd_video_run_params {
    rt_model *model;
    rt_stream_params stream; // how the video's stream is made (from rt_stream_default_params())
    // Once, after the video is opened and before the stream is made (may be NULL).
    void (*on_open)(void *ctx, const shard_video_info *info);
    // Every frame in order with its results (borrowed for the call); an error stops the video.
    rt_status (*on_frame)(void *ctx, int64_t frame, const rt_frame_results *res);
    void *ctx;
} cmd_video_run_params;

// Decodes `source` (shard/video) and steps a new stream over every frame. *stream receives the
// stream once it is made, also after a later failure, for the caller to free or keep (RANK
// mode); it stays NULL when the video cannot be opened or the stream not made. Errors: the
// decoder's, the engine's wrapped as "<source>: frame N: ...", on_frame's. Not collective.
rt_status cmd_video_run(const char *source, const cmd_video_run_params *params,
                        rt_stream **stream);

// Synthetic rows for merge benchmarks and tests (`pcan _spool-synth`, tests/test_run.c): the
// rows of video `id`, frame f, a deterministic function of both, in descending track id, with
// 3-count masks of CMD_SYNTH_ROWS_W x CMD_SYNTH_ROWS_H pixels whose counts live in `counts`.
// Returns their number (0..3).
#define CMD_SYNTH_ROWS_W 32
#define CMD_SYNTH_ROWS_H 24
uint32_t cmd_synth_seed(const char *id);
int cmd_synth_rows(const char *id, int f, rt_result out[3], uint32_t counts[3][3]);

// Fills the engine's hooks (cmd/run_engine.c; ctx is allocated here and freed by teardown).
// false when out of memory.
bool cmd_run_engine_hooks(cmd_run_hooks *out);

#endif
