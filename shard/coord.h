// coord — runs a plan's videos on every rank: dynamic scheduling, per-video commit, progress,
// interruption.
//
//     static rt_status process(void *ctx, const shard_plan_video *v, shard_sink *sink) {
//         ... open v->source ...
//         shard_sink_set_info(sink, width, height, fps);
//         for each frame f:
//             rt_status st = shard_sink_frame(sink, f, results, n);
//             if (st != RT_OK) return st;          // RT_ERR_INTERRUPTED: stop now
//         return RT_OK;                            // or an error: the video is committed failed
//     }
//     shard_coord_params cp = shard_coord_default_params();
//     cp.spool = dir; cp.process = process; cp.ctx = &engine; cp.stop = &flag;
//     shard_coord_stats stats;
//     shard_coord_run(&plan, &cp, MPI_COMM_WORLD, &stats);   // collective
//
// Scheduling. Rank 0 holds the plan's order (longest first) and hands videos out one at a time
// to the ranks that ask. Rank 0 runs videos too: it answers requests between its own frames
// (inside shard_sink_frame) by MPI_Test polling and, when idle, polls with a 1 ms sleep, so no
// rank ever blocks a core in a receive. A worker asks for its next video when it starts one, so
// it rarely waits for rank 0's frame to end. Only the calling (main) thread makes MPI calls; the
// processor may use threads of its own but must call the sink from the main thread.
//
// Per video: an attempt marker is created, the processor runs, and the result is committed to
// the spool (ok, or failed with the processor's rt_error() message when it returns an error).
// The processor's status decides: RT_OK → committed ok; RT_ERR_INTERRUPTED → nothing committed
// and the marker removed (a clean stop is not a crash); any other error → committed failed.
//
// Interruption. `*stop` (set by a signal handler, see cmd/run.c) is checked at every frame and
// while waiting. A rank that sees it stops after its current frame and tells rank 0, which tells
// every other rank to stop after their current frame; then all ranks leave together and
// stats.interrupted is set on every rank. The spool never holds a partial entry under a final
// name. A rank whose commit fails (disk full) stops the same way with stats.fatal set.
//
// Progress: rank 0 prints "pcan: D/T videos (F failed), X frames/s, ETA ..." to `log` every
// `progress_every` seconds (0 = never) and once at the end; `verbose` adds a line per video from
// every rank ("[rank 1] 0002: 120 frames, 3.2 s, ok").
//
// Collective over `comm`; returns the same status on all ranks (RT_OK unless MPI itself fails;
// video failures, interruption and commit failures are reported in the stats).
#ifndef PCAN_SHARD_COORD_H
#define PCAN_SHARD_COORD_H

#include <mpi.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "runtime/model.h"
#include "shard/plan.h"
#include "shard/spool.h"

typedef struct shard_sink shard_sink;

// Runs one video. Called on the main thread of the rank that got the video.
typedef rt_status (*shard_process_fn)(void *ctx, const shard_plan_video *video, shard_sink *sink);

// Source size and rate, before the first frame (masks are checked against the size).
void shard_sink_set_info(shard_sink *sink, int width, int height, double fps);
// Records one frame's results (borrowed for the call; may be empty) and services the
// coordination. Frames must increase. RT_ERR_INTERRUPTED when the run must stop now (the
// processor returns it unchanged); RT_ERR_INVAL / RT_ERR_NOMEM from the spool entry (the
// processor returns it and the video is committed failed).
rt_status shard_sink_frame(shard_sink *sink, int frame, const rt_result *items, int n);
// True when the run has been asked to stop (for processors with long steps between frames).
bool shard_sink_should_stop(shard_sink *sink);

typedef struct shard_coord_params {
    const char *spool;
    shard_spool_params spool_params;
    shard_process_fn process;
    void *ctx;
    volatile sig_atomic_t *stop; // may be NULL
    double progress_every;       // seconds; 0 = no periodic line
    bool verbose;
    FILE *log; // default stderr
} shard_coord_params;

shard_coord_params shard_coord_default_params(void);

typedef struct shard_coord_stats {
    long videos;      // run in this call (all ranks), committed ok or failed
    long failed;      // of which failed
    long long frames; // frames processed (all ranks; includes videos stopped half way)
    double seconds;   // wall time of the call
    bool interrupted; // a stop was requested (signal) on some rank
    bool fatal;       // some rank could not commit (see its stderr)
} shard_coord_stats;

// Collective. See above.
rt_status shard_coord_run(const shard_plan *plan, const shard_coord_params *params, MPI_Comm comm,
                          shard_coord_stats *stats);

// Threads for this rank: `job_threads` when > 0, else $SLURM_CPUS_PER_TASK when set, else the
// online cores of this node divided by the ranks on this node (MPI_Comm_split_type SHARED),
// at least 1. Collective (the split).
int shard_threads_per_rank(int job_threads, MPI_Comm comm);

#endif
