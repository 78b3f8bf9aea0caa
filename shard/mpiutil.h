// mpiutil — small MPI helpers shared by shard/ and merge/: agreeing on a status, broadcasting
// byte buffers, waiting without burning a core, a monotonic clock.
//
// Every function here is collective over `comm` unless it says otherwise. They never call
// exit(): a failure is returned so that all ranks leave the phase together.
#ifndef PCAN_SHARD_MPIUTIL_H
#define PCAN_SHARD_MPIUTIL_H

#include <mpi.h>
#include <stddef.h>

#include "runtime/core.h"

// Collective. Every rank passes its local status; all return the status of the lowest-numbered
// rank that failed (RT_OK when none did), and that rank's rt_error() message becomes every
// rank's last error. So a failure seen by one rank (a file rank 0 could not read) is reported
// the same way everywhere.
rt_status shard_mpi_agree(rt_status local, MPI_Comm comm);

// Collective. Broadcasts `*len` bytes at `*buf` from `root`; on other ranks *buf is replaced by
// a new rt_malloc'd buffer (the caller frees it) and *len is set. RT_ERR_NOMEM / RT_ERR_MPI,
// agreed on all ranks.
rt_status shard_mpi_bcast_bytes(void **buf, size_t *len, int root, MPI_Comm comm);

// Collective. A barrier that waits by MPI_Ibarrier + MPI_Test + a 1 ms sleep, so that ranks
// waiting for a slow one do not spin a core each (ENV.md §2). RT_ERR_MPI.
rt_status shard_mpi_idle_barrier(MPI_Comm comm);

#endif
