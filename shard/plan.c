#include "shard/plan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/sha256.h"
#include "shard/mpiutil.h"

shard_plan_params shard_plan_default_params(void) {
    shard_plan_params p;
    memset(&p, 0, sizeof p);
    p.resume = true;
    p.retries = 1;
    p.spool_params = shard_spool_default_params();
    return p;
}

void shard_plan_init(shard_plan *p) { memset(p, 0, sizeof *p); }

static void free_videos(shard_plan *p) {
    for (size_t i = 0; i < p->n; i++) {
        rt_free(p->videos[i].id);
        rt_free(p->videos[i].source);
    }
    rt_free(p->videos);
    p->videos = NULL;
    p->n = p->cap = 0;
}

void shard_plan_free(shard_plan *p) {
    if (!p) return;
    free_videos(p);
    rt_free(p->hash);
    rt_free(p->state);
    rt_free(p->attempts);
    rt_free(p->order);
    shard_plan_init(p);
}

rt_status shard_plan_add(shard_plan *p, const char *id, const char *source, int64_t frames) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        shard_plan_video *v = rt_realloc(p->videos, cap * sizeof *v);
        if (!v) return rt_error_set(RT_ERR_NOMEM, "plan: out of memory");
        p->videos = v;
        p->cap = cap;
    }
    shard_plan_video *v = &p->videos[p->n];
    v->id = rt_strdup(id);
    v->source = rt_strdup(source ? source : "");
    v->frames = frames;
    if (!v->id || !v->source) {
        rt_free(v->id);
        rt_free(v->source);
        return rt_error_set(RT_ERR_NOMEM, "plan: out of memory");
    }
    p->n++;
    return RT_OK;
}

static int cmp_video(const void *a, const void *b) {
    return strcmp(((const shard_plan_video *)a)->id, ((const shard_plan_video *)b)->id);
}

// Serialised list: per video i64 frames, then id and source with their NULs.
static rt_status pack(const shard_plan *p, void **out, size_t *len) {
    size_t n = 8;
    for (size_t i = 0; i < p->n; i++)
        n += 8 + strlen(p->videos[i].id) + 1 + strlen(p->videos[i].source) + 1;
    char *b = rt_malloc(n), *w = b;
    if (!b) return rt_error_set(RT_ERR_NOMEM, "plan: out of memory");
    uint64_t count = p->n;
    memcpy(w, &count, 8), w += 8;
    for (size_t i = 0; i < p->n; i++) {
        memcpy(w, &p->videos[i].frames, 8), w += 8;
        size_t a = strlen(p->videos[i].id) + 1, s = strlen(p->videos[i].source) + 1;
        memcpy(w, p->videos[i].id, a), w += a;
        memcpy(w, p->videos[i].source, s), w += s;
    }
    *out = b;
    *len = n;
    return RT_OK;
}

static rt_status unpack(shard_plan *p, const char *b, size_t len) {
    free_videos(p);
    uint64_t count;
    memcpy(&count, b, 8);
    const char *r = b + 8, *end = b + len;
    for (uint64_t i = 0; i < count; i++) {
        int64_t frames;
        memcpy(&frames, r, 8);
        r += 8;
        const char *id = r;
        r += strlen(id) + 1;
        const char *src = r;
        r += strlen(src) + 1;
        RT_ASSERT(r <= end);
        rt_status st = shard_plan_add(p, id, src, frames);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

rt_status shard_plan_share(shard_plan *p, MPI_Comm comm) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    rt_status st = RT_OK;
    void *buf = NULL;
    size_t len = 0;
    if (rank == 0) {
        if (p->n) qsort(p->videos, p->n, sizeof *p->videos, cmp_video);
        for (size_t i = 1; i < p->n && st == RT_OK; i++)
            if (!strcmp(p->videos[i].id, p->videos[i - 1].id))
                st = rt_error_set(RT_ERR_INVAL, "two videos have the id '%s' (%s and %s)",
                                  p->videos[i].id, p->videos[i - 1].source, p->videos[i].source);
        if (st == RT_OK) st = pack(p, &buf, &len);
    }
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) return st;
    st = shard_mpi_bcast_bytes(&buf, &len, 0, comm);
    if (st != RT_OK) {
        if (rank == 0) rt_free(buf);
        return st;
    }
    if (rank != 0) st = unpack(p, buf, len);
    rt_free(buf);
    return shard_mpi_agree(st, comm);
}

void shard_resume_hash(const char *weights_sha256, const char *config, const char *id,
                       uint8_t out[SHARD_SPOOL_HASH_LEN]) {
    char head[256];
    int n = snprintf(head, sizeof head, "pcan-resume\narchive-version 1\nweights %s\n",
                     weights_sha256 ? weights_sha256 : "");
    rt_sha256 s;
    rt_sha256_init(&s);
    rt_sha256_update(&s, head, (size_t)n);
    if (config) rt_sha256_update(&s, config, strlen(config));
    rt_sha256_update(&s, "video ", 6);
    rt_sha256_update(&s, id, strlen(id));
    rt_sha256_update(&s, "\n", 1);
    rt_sha256_final(&s, out);
}

// ---------------------------------------------------------------------------------------------
// Scan

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct listing {
    char **names;
    size_t n, cap;
} listing;

static void listing_free(listing *l) {
    for (size_t i = 0; i < l->n; i++) rt_free(l->names[i]);
    rt_free(l->names);
    memset(l, 0, sizeof *l);
}

static rt_status list_dir(const char *dir, listing *l) {
    DIR *d = opendir(dir);
    if (!d) return rt_error_set(RT_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    rt_status st = RT_OK;
    while ((de = readdir(d)) && st == RT_OK) {
        if (de->d_name[0] == '.') continue;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 256;
            char **q = rt_realloc(l->names, cap * sizeof *q);
            if (!q) {
                st = rt_error_set(RT_ERR_NOMEM, "plan: out of memory");
                break;
            }
            l->names = q;
            l->cap = cap;
        }
        if (!(l->names[l->n] = rt_strdup(de->d_name)))
            st = rt_error_set(RT_ERR_NOMEM, "plan: out of memory");
        else
            l->n++;
    }
    closedir(d);
    if (st == RT_OK && l->n) qsort(l->names, l->n, sizeof *l->names, cmp_str);
    return st;
}

static int listed(const listing *l, const char *name) {
    return l->n && bsearch(&name, l->names, l->n, sizeof *l->names, cmp_str) != NULL;
}

// Verification results, reduced with MPI_MAX (each entry is verified by exactly one rank).
enum { V_NONE = 0, V_BAD = 1, V_STALE = 2, V_OK = 3, V_FAILED = 4 };

static int verify(const shard_plan *p, size_t i, const char *path, shard_spool_entry *e,
                  bool verbose) {
    if (shard_spool_read(path, e, false) != RT_OK) {
        fprintf(stderr, "pcan: %s; the video will be recomputed\n", rt_error());
        return V_BAD;
    }
    if (strcmp(e->meta.id, p->videos[i].id) != 0) {
        fprintf(stderr, "pcan: %s holds video '%s', not '%s'; recomputing\n", path, e->meta.id,
                p->videos[i].id);
        return V_BAD;
    }
    if (memcmp(e->meta.hash, p->hash[i], SHARD_SPOOL_HASH_LEN) != 0) {
        if (verbose)
            fprintf(stderr, "pcan: %s was made with other weights or settings; recomputing\n",
                    path);
        return V_STALE;
    }
    return e->meta.status == SHARD_VIDEO_OK ? V_OK : V_FAILED;
}

static void sort_order(shard_plan *p) {
    // Unknown lengths first (they may be long), then longest first, then by id. qsort cannot
    // carry the plan to its comparator, so the keys are copied out and merge-sorted.
    typedef struct key {
        int64_t frames;
        size_t idx;
        const char *id;
    } key;
    key *k = rt_malloc(p->n_order * sizeof *k + 1);
    RT_ASSERT(k);
    for (size_t i = 0; i < p->n_order; i++)
        k[i] = (key){p->videos[p->order[i]].frames, p->order[i], p->videos[p->order[i]].id};
    size_t n = p->n_order;
    // Bottom-up merge sort (stable, O(n log n)).
    key *tmp = rt_malloc(n * sizeof *tmp + 1);
    RT_ASSERT(tmp);
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = RT_MIN(lo + w, n), hi = RT_MIN(lo + 2 * w, n), i = lo, j = mid, o = lo;
            while (i < mid || j < hi) {
                int take_left;
                if (i >= mid) take_left = 0;
                else if (j >= hi) take_left = 1;
                else {
                    int64_t fa = k[i].frames, fb = k[j].frames;
                    int c;
                    if ((fa < 0) != (fb < 0)) c = fa < 0 ? -1 : 1;
                    else if (fa != fb) c = fa > fb ? -1 : 1;
                    else c = strcmp(k[i].id, k[j].id);
                    take_left = c <= 0;
                }
                tmp[o++] = take_left ? k[i++] : k[j++];
            }
        }
        memcpy(k, tmp, n * sizeof *k);
    }
    for (size_t i = 0; i < n; i++) p->order[i] = k[i].idx;
    rt_free(tmp);
    rt_free(k);
}

static rt_status commit_crashed(const shard_plan *p, size_t i, const shard_plan_params *pp,
                                shard_spool_entry *e) {
    char msg[128];
    snprintf(msg, sizeof msg, "crashed %u times", p->attempts[i]);
    rt_status st = shard_spool_entry_begin(e, p->videos[i].id, p->videos[i].source, p->hash[i]);
    if (st == RT_OK) st = shard_spool_entry_fail(e, msg);
    e->meta.attempts = p->attempts[i];
    if (st == RT_OK) st = shard_spool_commit(pp->spool, e, &pp->spool_params);
    return st;
}

rt_status shard_plan_scan(shard_plan *p, const shard_plan_params *pp, MPI_Comm comm) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    rt_status st = RT_OK;
    listing l = {0};
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    uint8_t *has = NULL, *mine = NULL;

    rt_free(p->hash);
    p->hash = rt_malloc(p->n * sizeof *p->hash + 1);
    has = rt_calloc(p->n + 1, 1);
    mine = rt_calloc(p->n + 1, 1);
    if (!p->hash || !has || !mine) st = rt_error_set(RT_ERR_NOMEM, "plan: out of memory");
    for (size_t i = 0; st == RT_OK && i < p->n; i++)
        shard_resume_hash(pp->weights_sha256, pp->config, p->videos[i].id, p->hash[i]);
    if (rank == 0) {
        rt_free(p->state);
        rt_free(p->attempts);
        rt_free(p->order);
        p->state = rt_calloc(p->n + 1, 1);
        p->attempts = rt_calloc(p->n + 1, sizeof *p->attempts);
        p->order = rt_calloc(p->n + 1, sizeof *p->order);
        p->n_order = p->n_done = p->n_failed = p->n_crashed = p->n_corrupt = 0;
        if (st == RT_OK && (!p->state || !p->attempts || !p->order))
            st = rt_error_set(RT_ERR_NOMEM, "plan: out of memory");
        if (st == RT_OK) st = shard_spool_mkdir(pp->spool);
        if (st == RT_OK) st = shard_spool_clean_temp(pp->spool);
        if (st == RT_OK) st = list_dir(pp->spool, &l);
        char key[SHARD_SPOOL_KEY_MAX], name[SHARD_SPOOL_KEY_MAX + 32];
        for (size_t i = 0; st == RT_OK && i < p->n; i++) {
            shard_spool_key(p->videos[i].id, key);
            snprintf(name, sizeof name, "%s%s", key, SHARD_SPOOL_SUFFIX);
            has[i] = pp->resume && listed(&l, name);
            uint32_t a = 0;
            for (;;) {
                snprintf(name, sizeof name, "%s.attempt.%u", key, a + 1);
                if (!listed(&l, name)) break;
                a++;
            }
            p->attempts[i] = a;
        }
    }
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) goto done;
    if (MPI_Bcast(has, (int)p->n, MPI_BYTE, 0, comm) != MPI_SUCCESS) {
        st = rt_error_set(RT_ERR_MPI, "MPI_Bcast failed");
        goto done;
    }
    // Each rank verifies every size-th existing entry.
    size_t k = 0;
    char path[4400];
    for (size_t i = 0; i < p->n; i++) {
        if (!has[i]) continue;
        if (k++ % (size_t)size != (size_t)rank) continue;
        if (shard_spool_path(pp->spool, p->videos[i].id, path, sizeof path) != RT_OK) {
            mine[i] = V_BAD;
            continue;
        }
        mine[i] = (uint8_t)verify(p, i, path, &e, pp->verbose);
    }
    if (MPI_Reduce(rank == 0 ? MPI_IN_PLACE : mine, mine, (int)p->n, MPI_UNSIGNED_CHAR, MPI_MAX, 0,
                   comm) != MPI_SUCCESS) {
        st = rt_error_set(RT_ERR_MPI, "MPI_Reduce failed");
        goto done;
    }
    if (rank == 0) {
        for (size_t i = 0; i < p->n && st == RT_OK; i++) {
            int v = mine[i];
            if (v == V_BAD) p->n_corrupt++;
            if (v == V_OK) {
                p->state[i] = SHARD_PLAN_DONE;
                p->n_done++;
                continue;
            }
            if (v == V_FAILED && !pp->retry_failed) {
                p->state[i] = SHARD_PLAN_FAILED;
                p->n_failed++;
                continue;
            }
            if (!pp->resume || pp->retry_failed || v == V_FAILED) {
                if (p->attempts[i]) st = shard_spool_attempt_clear(pp->spool, p->videos[i].id);
                p->attempts[i] = 0;
            }
            if (pp->retries > 0 && p->attempts[i] >= pp->retries) {
                st = commit_crashed(p, i, pp, &e);
                p->state[i] = SHARD_PLAN_CRASHED;
                p->n_crashed++;
                continue;
            }
            p->state[i] = SHARD_PLAN_TODO;
            p->order[p->n_order++] = i;
        }
        if (st == RT_OK) sort_order(p);
    }
    st = shard_mpi_agree(st, comm);
done:
    listing_free(&l);
    shard_spool_entry_free(&e);
    rt_free(has);
    rt_free(mine);
    return st;
}
