#include "shard/mpiutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MSG_CAP 2048

rt_status shard_mpi_idle_barrier(MPI_Comm comm) {
    MPI_Request req;
    if (MPI_Ibarrier(comm, &req) != MPI_SUCCESS) return rt_error_set(RT_ERR_MPI, "MPI_Ibarrier failed");
    for (;;) {
        int done = 0;
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return rt_error_set(RT_ERR_MPI, "MPI_Test failed");
        if (done) return RT_OK;
        usleep(1000);
    }
}

rt_status shard_mpi_agree(rt_status local, MPI_Comm comm) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = local == RT_OK ? size : rank, first = size;
    // Ranks often arrive here at very different times (rank 0 listed a dataset, another rank ran
    // a long last video): wait without spinning a core, then reduce.
    if (shard_mpi_idle_barrier(comm) != RT_OK ||
        MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return rt_error_set(RT_ERR_MPI, "MPI_Allreduce failed");
    if (first == size) return RT_OK;
    struct {
        int status;
        char msg[MSG_CAP];
    } m;
    memset(&m, 0, sizeof m);
    if (rank == first) {
        m.status = (int)local;
        snprintf(m.msg, sizeof m.msg, "%s", rt_error());
    }
    if (MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, comm) != MPI_SUCCESS)
        return rt_error_set(RT_ERR_MPI, "MPI_Bcast failed");
    m.msg[MSG_CAP - 1] = '\0';
    return rt_error_set((rt_status)m.status, "%s", m.msg);
}

rt_status shard_mpi_bcast_bytes(void **buf, size_t *len, int root, MPI_Comm comm) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    unsigned long long n = rank == root ? (unsigned long long)*len : 0;
    if (MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, comm) != MPI_SUCCESS)
        return rt_error_set(RT_ERR_MPI, "MPI_Bcast failed");
    rt_status st = RT_OK;
    if (rank != root) {
        *buf = rt_malloc((size_t)n);
        *len = (size_t)n;
        if (!*buf) st = rt_error_set(RT_ERR_NOMEM, "out of memory for %llu bytes", n);
    }
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) {
        if (rank != root) rt_free(*buf), *buf = NULL;
        return st;
    }
    // MPI counts are int: send in pieces of 1 GiB.
    for (unsigned long long off = 0; off < n;) {
        int piece = (int)RT_MIN(n - off, 1ull << 30);
        if (MPI_Bcast((char *)*buf + off, piece, MPI_BYTE, root, comm) != MPI_SUCCESS)
            return rt_error_set(RT_ERR_MPI, "MPI_Bcast failed");
        off += (unsigned long long)piece;
    }
    return RT_OK;
}

