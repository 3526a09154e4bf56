/*===- Host.h - The compiled training loop's host interface ---------*- C -*-===
 *
 * ADA-GP's compiled @train loop (--adagp-lower-schedule) asks the host for
 * batches and reports every step through these two functions; a program
 * that runs @train installs its callbacks with adagp_set_host first. On the
 * accelerator the same two exchanges are the RECV and SEND instructions.
 *
 * Pointers passed to the callbacks are valid only during the call. Tensor
 * data is dense and row-major, in the model's element type.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ADAGP_RUNTIME_HOST_H
#define ADAGP_RUNTIME_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct adagp_host {
  void *context;
  /* Writes the next batch into `inputs` and `labels` and returns the epoch
   * it belongs to (0-based), or a negative number when training is over.
   * Between epochs the host may evaluate the model or save a checkpoint:
   * every global is up to date when this is called. */
  int64_t (*next_batch)(void *context, void *inputs, int64_t *labels);
  /* One finished step: mode 0 = BP, 1 = GP; the training loss; in BP steps
   * the predictor's loss and quality (cosine similarity of predicted and
   * true gradients), NaN in GP steps. */
  void (*report)(void *context, int64_t mode, float loss, float predictor_loss,
                 float quality);
} adagp_host;

/* Installs the callbacks (copied); null removes them. Without a host,
 * next_batch ends training at once and reports are dropped. */
void adagp_set_host(const adagp_host *host);

/* Called by compiled code: buffer addresses as 64-bit integers. */
void adagp_host_next_batch(int64_t inputs, int64_t labels, int64_t epoch);
void adagp_host_report(int64_t mode, int64_t loss, int64_t predictor_loss,
                       int64_t quality);

#ifdef __cplusplus
}
#endif

#endif /* ADAGP_RUNTIME_HOST_H */
