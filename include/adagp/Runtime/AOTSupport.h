/*===- AOTSupport.h - Helpers of ahead-of-time compiled models ----*- C -*-===//
 *
 * `adagp-compile --target=cpu` generates a small C interface for each model
 * (see lib/Target/CPU/AOTCInterface.cpp): entry points that wrap the
 * compiled functions, and a table describing the model's globals. The
 * generated code keeps to thin forwarding functions and calls these
 * helpers for everything else, so that the logic lives in ordinary,
 * testable C++ rather than in hand-built LLVM IR.
 *
 * The runtime library is linked statically into each model's shared
 * library, so every model has its own copy of this state.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ADAGP_RUNTIME_AOTSUPPORT_H
#define ADAGP_RUNTIME_AOTSUPPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One global of a compiled model. The generated header declares the same
/// layout as `<prefix>_parameter`; the generated table is an array of these.
typedef struct adagp_aot_parameter {
  const char *name;     /* as in the model (the ONNX initializer name) */
  const char *dtype;    /* NumPy type string: "f4", "f8", "i4", "i8" */
  int64_t rank;         /* number of dimensions */
  const int64_t *shape; /* `rank` sizes; NULL when rank is 0 */
  int64_t num_elements; /* product of the sizes */
  int64_t num_bytes;    /* num_elements times the element size */
  void *data;           /* the global's memory in the library */
} adagp_aot_parameter;

/* Status codes of the parameter accessors. */
#define ADAGP_AOT_OK 0
#define ADAGP_AOT_UNKNOWN_NAME (-1)
#define ADAGP_AOT_WRONG_SIZE (-2)
#define ADAGP_AOT_NULL_ARGUMENT (-3)

/// Serialise the entry points of a compiled model: the kernels cache
/// oneDNN primitives whose data pointers are rebound on every call, so two
/// calls must never run at the same time.
void adagp_aot_lock(void);
void adagp_aot_unlock(void);

/// The entry of `table` named `name`, or NULL.
const adagp_aot_parameter *
adagp_aot_find_parameter(const adagp_aot_parameter *table, int64_t count,
                         const char *name);

/// Copies `bytes` bytes from `data` into the global `name` (under the
/// lock). Returns ADAGP_AOT_OK or an error status.
int adagp_aot_set_parameter(const adagp_aot_parameter *table, int64_t count,
                            const char *name, const void *data, size_t bytes);

/// Copies the global `name` into `data`, which holds `bytes` bytes.
int adagp_aot_get_parameter(const adagp_aot_parameter *table, int64_t count,
                            const char *name, void *data, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* ADAGP_RUNTIME_AOTSUPPORT_H */
