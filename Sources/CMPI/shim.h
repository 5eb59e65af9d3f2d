// MPI for the `MPI` package trait (Open MPI: libopenmpi-dev; MPICH works the same way).
// The include path and the libraries come from pkg-config (module.modulemap links nothing
// itself: Open MPI's library is libmpi, MPICH's libmpich).
//
// Swift cannot import MPI_COMM_WORLD, MPI_DOUBLE or MPI_SUM: they are casts of incomplete
// types (Open MPI) or integer macros (MPICH). Each call the package makes is therefore
// wrapped here in a static inline function over plain C types, so no MPI handle reaches
// Swift and the same Swift code builds with either implementation.
#include <mpi.h>

/// MPI_Init_thread asking for MPI_THREAD_SERIALIZED; returns the MPI error code.
static inline int softmax_mpi_init(void) {
  int provided = 0;
  return MPI_Init_thread(0, 0, MPI_THREAD_SERIALIZED, &provided);
}

static inline int softmax_mpi_finalize(void) { return MPI_Finalize(); }

static inline int softmax_mpi_rank(void) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

static inline int softmax_mpi_size(void) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

static inline int softmax_mpi_send_doubles(const double *values, int count, int destination, int tag) {
  return MPI_Send(values, count, MPI_DOUBLE, destination, tag, MPI_COMM_WORLD);
}

static inline int softmax_mpi_receive_doubles(double *values, int count, int source, int tag) {
  return MPI_Recv(values, count, MPI_DOUBLE, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

static inline int softmax_mpi_broadcast_doubles(double *values, int count, int root) {
  return MPI_Bcast(values, count, MPI_DOUBLE, root, MPI_COMM_WORLD);
}

/// The element-wise minimum over all ranks, in place (exact: integers).
static inline int softmax_mpi_minimum_int64(long long *values, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
}

/// The element-wise maximum over all ranks, in place (exact: integers).
static inline int softmax_mpi_maximum_int64(long long *values, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
}

