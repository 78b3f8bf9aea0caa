#include "shard/coord.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shard/mpiutil.h"

// Messages are two or six int64 values; tags keep them apart from anything else on `comm`.
// Worker -> rank 0 (TAG_UP): {kind, video index, failed?, frames, 0, 0}; PROGRESS carries the
// frames processed since the last one (sent at most once a second, so rank 0's frames/s moves
// while long videos run).
// Rank 0 -> worker (TAG_DOWN): {kind, video index}
// Protocol: a worker sends REQ and gets TASK or NOTASK for each; it may be sent INTERRUPT at any
// time. Its last message is BYE, answered by END, after which rank 0 sends it nothing. So every
// posted receive is matched and nothing is left in flight at the end.
enum { TAG_UP = 7101, TAG_DOWN = 7102 };
enum { UP_REQ = 1, UP_DONE, UP_INT, UP_FATAL, UP_BYE, UP_PROGRESS };
enum { DOWN_TASK = 1, DOWN_NOTASK, DOWN_INTERRUPT, DOWN_END };

typedef struct coord {
    const shard_plan *plan;
    const shard_coord_params *p;
    MPI_Comm comm;
    int rank, size;
    bool interrupted, fatal;
    shard_spool_entry entry;
    // Counts of this call (rank 0: all ranks' reports; workers: their own). `frames` counts every
    // processed frame (for frames/s), `done_frames` those of committed videos.
    long videos, failed;
    long long frames, done_frames, unreported;
    double last_report;
    // Rank 0.
    size_t q;
    int byes;
    bool *bye;
    MPI_Request up_req;
    bool up_posted;
    int64_t up_msg[6];
    double t0, last_print, todo_frames;
    bool unknown_lengths;
    // Workers.
    MPI_Request down_req;
    bool down_posted, no_more, outstanding, ended, int_sent, bye_sent;
    int64_t down_msg[2];
    long next;
} coord;

struct shard_sink {
    coord *c;
    shard_spool_entry *e;
};

shard_coord_params shard_coord_default_params(void) {
    shard_coord_params p;
    memset(&p, 0, sizeof p);
    p.spool_params = shard_spool_default_params();
    p.progress_every = 10;
    return p;
}

static FILE *logf_(const coord *c) { return c->p->log ? c->p->log : stderr; }

static void send_down(coord *c, int to, int64_t kind, int64_t idx) {
    int64_t m[2] = {kind, idx};
    MPI_Send(m, 2, MPI_INT64_T, to, TAG_DOWN, c->comm);
}

static void send_up(coord *c, int64_t kind, int64_t idx, int64_t failed, int64_t frames) {
    if (c->bye_sent) return;
    int64_t m[6] = {kind, idx, failed, frames, 0, 0};
    MPI_Send(m, 6, MPI_INT64_T, 0, TAG_UP, c->comm);
    if (kind == UP_BYE) c->bye_sent = true;
}

static bool stop_requested(const coord *c) { return c->p->stop && *c->p->stop; }

// ---------------------------------------------------------------------------------------------
// Rank 0

static void fmt_eta(double s, char *buf, size_t cap) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, cap, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lds", t);
}

static void progress(coord *c, bool force) {
    double now = rt_now();
    if (!force && (c->p->progress_every <= 0 || now - c->last_print < c->p->progress_every))
        return;
    c->last_print = now;
    const shard_plan *pl = c->plan;
    double el = now - c->t0, fps = el > 0 ? (double)c->frames / el : 0;
    // Frames still to do: from the plan's lengths when all are known, else from the average
    // length of the videos finished so far.
    double left = c->todo_frames - (double)c->frames;
    if (c->unknown_lengths)
        left = c->videos ? (double)c->done_frames / (double)c->videos *
                                   (double)(pl->n_order - (size_t)c->videos) -
                               (double)(c->frames - c->done_frames)
                         : -1;
    if (left < 0 && c->videos) left = 0;
    char eta[32];
    fmt_eta(fps > 0 && left >= 0 ? left / fps : -1, eta, sizeof eta);
    long before = (long)(pl->n_done + pl->n_failed + pl->n_crashed);
    fprintf(logf_(c), "pcan: %ld/%zu videos (%ld failed), %.1f frames/s on %d rank%s, ETA %s\n",
            before + c->videos, pl->n, (long)(pl->n_failed + pl->n_crashed) + c->failed, fps,
            c->size, c->size == 1 ? "" : "s", eta);
    fflush(logf_(c));
}

static void interrupt_all(coord *c) {
    if (c->interrupted) return;
    c->interrupted = true;
    for (int r = 1; r < c->size; r++)
        if (!c->bye[r]) send_down(c, r, DOWN_INTERRUPT, 0);
}

static void post_up(coord *c) {
    if (c->byes < c->size - 1 && !c->up_posted) {
        MPI_Irecv(c->up_msg, 6, MPI_INT64_T, MPI_ANY_SOURCE, TAG_UP, c->comm, &c->up_req);
        c->up_posted = true;
    }
}

static void handle_up(coord *c, int src) {
    int64_t *m = c->up_msg;
    switch (m[0]) {
    case UP_REQ:
        if (!c->interrupted && !c->fatal && c->q < c->plan->n_order)
            send_down(c, src, DOWN_TASK, (int64_t)c->plan->order[c->q++]);
        else
            send_down(c, src, DOWN_NOTASK, 0);
        break;
    case UP_DONE:
        c->videos++;
        c->failed += m[2] != 0;
        c->done_frames += m[3];
        break;
    case UP_PROGRESS:
        c->frames += m[3];
        break;
    case UP_INT:
        interrupt_all(c);
        break;
    case UP_FATAL:
        c->fatal = true;
        interrupt_all(c);
        break;
    case UP_BYE:
        c->bye[src] = true;
        c->byes++;
        send_down(c, src, DOWN_END, 0);
        break;
    default:
        RT_ASSERT(!"unknown coordination message");
    }
}

static void serve0(coord *c) {
    if (stop_requested(c)) interrupt_all(c);
    while (c->up_posted) {
        int flag = 0;
        MPI_Status st;
        MPI_Test(&c->up_req, &flag, &st);
        if (!flag) break;
        c->up_posted = false;
        handle_up(c, st.MPI_SOURCE);
        post_up(c);
    }
    progress(c, false);
}

// ---------------------------------------------------------------------------------------------
// Workers

static void post_down(coord *c) {
    if (!c->ended && !c->down_posted) {
        MPI_Irecv(c->down_msg, 2, MPI_INT64_T, 0, TAG_DOWN, c->comm, &c->down_req);
        c->down_posted = true;
    }
}

static void poll_worker(coord *c) {
    if (stop_requested(c) && !c->interrupted) c->interrupted = true;
    if (c->interrupted && !c->int_sent) {
        send_up(c, UP_INT, 0, 0, 0);
        c->int_sent = true;
    }
    while (c->down_posted) {
        int flag = 0;
        MPI_Test(&c->down_req, &flag, MPI_STATUS_IGNORE);
        if (!flag) break;
        c->down_posted = false;
        switch (c->down_msg[0]) {
        case DOWN_TASK:
            if (!c->interrupted) c->next = (long)c->down_msg[1];
            c->outstanding = false;
            break;
        case DOWN_NOTASK:
            c->no_more = true;
            c->outstanding = false;
            break;
        case DOWN_INTERRUPT:
            c->interrupted = true;
            c->int_sent = true; // rank 0 knows
            break;
        case DOWN_END:
            c->ended = true;
            break;
        default:
            RT_ASSERT(!"unknown coordination message");
        }
        post_down(c);
    }
}

static void poll(coord *c) {
    if (c->rank == 0)
        serve0(c);
    else
        poll_worker(c);
}

// ---------------------------------------------------------------------------------------------
// Sink and per-video work

void shard_sink_set_info(shard_sink *sink, int width, int height, double fps) {
    sink->e->meta.width = width;
    sink->e->meta.height = height;
    sink->e->meta.fps = fps;
}

// Workers: sends the frames processed since the last report (when `force` or a second passed).
static void report_progress(coord *c, bool force) {
    if (!c->unreported) return;
    double now = rt_now();
    if (!force && now - c->last_report < 1.0) return;
    send_up(c, UP_PROGRESS, 0, 0, c->unreported);
    c->unreported = 0;
    c->last_report = now;
}

rt_status shard_sink_frame(shard_sink *sink, int frame, const rt_result *items, int n) {
    rt_status st = shard_spool_entry_add(sink->e, frame, items, n);
    if (st != RT_OK) return st;
    coord *c = sink->c;
    if (c->rank == 0)
        c->frames++;
    else {
        c->unreported++;
        report_progress(c, false);
    }
    poll(c);
    if (sink->c->interrupted || sink->c->fatal)
        return rt_error_set(RT_ERR_INTERRUPTED, "interrupted at frame %d", frame);
    return RT_OK;
}

bool shard_sink_should_stop(shard_sink *sink) {
    poll(sink->c);
    return sink->c->interrupted || sink->c->fatal;
}

// Runs video `idx` and commits it. Returns false when nothing was committed (interrupted or a
// fatal spool error).
static bool run_video(coord *c, size_t idx, bool *failed, int64_t *frames) {
    const shard_plan_video *v = &c->plan->videos[idx];
    const char *spool = c->p->spool;
    shard_spool_entry *e = &c->entry;
    uint32_t attempt = 0;
    rt_status st = shard_spool_attempt_begin(spool, v->id, &attempt);
    if (st == RT_OK) st = shard_spool_entry_begin(e, v->id, v->source, c->plan->hash[idx]);
    if (st != RT_OK) {
        fprintf(stderr, "pcan: [rank %d] %s\n", c->rank, rt_error());
        c->fatal = true;
        return false;
    }
    e->meta.attempts = attempt;
    shard_sink sink = {c, e};
    double t = rt_now();
    rt_error_clear();
    st = c->p->process(c->p->ctx, v, &sink);
    e->meta.seconds = rt_now() - t;
    if (st == RT_ERR_INTERRUPTED) {
        shard_spool_attempt_undo(spool, v->id, attempt);
        return false;
    }
    if (st != RT_OK) {
        const char *msg = rt_error();
        if (!*msg) msg = rt_status_text(st);
        if (shard_spool_entry_fail(e, msg) != RT_OK) {
            c->fatal = true;
            return false;
        }
    }
    if (shard_spool_commit(spool, e, &c->p->spool_params) != RT_OK) {
        fprintf(stderr, "pcan: [rank %d] %s\n", c->rank, rt_error());
        c->fatal = true;
        return false;
    }
    *failed = e->meta.status != SHARD_VIDEO_OK;
    *frames = e->meta.frames;
    if (c->p->verbose) {
        fprintf(logf_(c), "[rank %d] %s: %lld frames, %.2f s, %s%s\n", c->rank, v->id,
                (long long)e->meta.frames, e->meta.seconds, *failed ? "failed: " : "ok",
                *failed ? e->meta.error : "");
        fflush(logf_(c));
    } else if (*failed) {
        fprintf(logf_(c), "pcan: video %s failed: %s\n", v->id, e->meta.error);
        fflush(logf_(c));
    }
    return true;
}

static void run_rank0(coord *c) {
    for (size_t i = 0; i < c->plan->n_order; i++) {
        int64_t f = c->plan->videos[c->plan->order[i]].frames;
        c->todo_frames += (double)(f > 0 ? f : 0);
        if (f < 0) c->unknown_lengths = true;
    }
    post_up(c);
    for (;;) {
        serve0(c);
        if (c->interrupted || c->fatal || c->q >= c->plan->n_order) break;
        size_t idx = c->plan->order[c->q++];
        bool failed = false;
        int64_t frames = 0;
        if (run_video(c, idx, &failed, &frames)) {
            c->videos++;
            c->failed += failed;
            c->done_frames += frames;
        }
        if (c->fatal) interrupt_all(c);
    }
    while (c->byes < c->size - 1) {
        serve0(c);
        if (c->byes < c->size - 1) usleep(1000);
    }
}

static void run_worker(coord *c) {
    c->next = -1;
    post_down(c);
    send_up(c, UP_REQ, 0, 0, 0);
    c->outstanding = true;
    while (!c->interrupted && !c->fatal) {
        poll_worker(c);
        if (c->next < 0) {
            if (c->no_more && !c->outstanding) break;
            usleep(1000);
            continue;
        }
        size_t cur = (size_t)c->next;
        c->next = -1;
        if (!c->no_more && !c->outstanding) {
            send_up(c, UP_REQ, 0, 0, 0);
            c->outstanding = true;
        }
        bool failed = false;
        int64_t frames = 0;
        bool committed = run_video(c, cur, &failed, &frames);
        report_progress(c, true);
        if (committed) {
            c->videos++;
            c->failed += failed;
            c->done_frames += frames;
            send_up(c, UP_DONE, (int64_t)cur, failed, frames);
        }
    }
    report_progress(c, true);
    if (c->fatal) send_up(c, UP_FATAL, 0, 0, 0);
    else if (c->interrupted && !c->int_sent) send_up(c, UP_INT, 0, 0, 0);
    send_up(c, UP_BYE, 0, 0, 0);
    while (!c->ended) {
        poll_worker(c);
        if (!c->ended) usleep(1000);
    }
}

rt_status shard_coord_run(const shard_plan *plan, const shard_coord_params *params, MPI_Comm comm,
                          shard_coord_stats *stats) {
    coord c;
    memset(&c, 0, sizeof c);
    c.plan = plan;
    c.p = params;
    c.comm = comm;
    MPI_Comm_rank(comm, &c.rank);
    MPI_Comm_size(comm, &c.size);
    shard_spool_entry_init(&c.entry);
    c.t0 = c.last_print = rt_now();
    rt_status st = RT_OK;
    if (c.rank == 0) {
        c.bye = rt_calloc((size_t)c.size, sizeof *c.bye);
        if (!c.bye) st = rt_error_set(RT_ERR_NOMEM, "coord: out of memory");
    }
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) return st;
    if (c.rank == 0)
        run_rank0(&c);
    else
        run_worker(&c);
    // Rank 0 counted every rank's videos; the flags are combined from all. Ranks that finished
    // early wait here for the last video without spinning.
    shard_mpi_idle_barrier(comm);
    long long mine[5] = {c.rank == 0 ? c.videos : 0, c.rank == 0 ? c.failed : 0,
                         c.rank == 0 ? c.frames : 0, c.interrupted, c.fatal};
    long long all[5];
    if (MPI_Allreduce(mine, all, 5, MPI_LONG_LONG, MPI_SUM, comm) != MPI_SUCCESS)
        st = rt_error_set(RT_ERR_MPI, "MPI_Allreduce failed");
    if (c.rank == 0 && c.p->progress_every > 0) progress(&c, true);
    memset(stats, 0, sizeof *stats);
    stats->videos = (long)all[0];
    stats->failed = (long)all[1];
    stats->frames = all[2];
    stats->interrupted = all[3] > 0;
    stats->fatal = all[4] > 0;
    stats->seconds = rt_now() - c.t0;
    rt_free(c.bye);
    shard_spool_entry_free(&c.entry);
    return st;
}

int shard_threads_per_rank(int job_threads, MPI_Comm comm) {
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    if (job_threads > 0) return job_threads;
    const char *s = getenv("SLURM_CPUS_PER_TASK");
    if (s && atoi(s) > 0) return atoi(s);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    return (int)RT_MAX(1, cores / RT_MAX(1, local));
}
