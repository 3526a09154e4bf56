/* classify.c: run a LeNet-5 compiled by adagp-compile from a C program.
 *
 *   adagp-compile models/lenet5.onnx --target=cpu --batch-size 4 -o lenet5.so
 *   cc -std=c99 -I. examples/c-api/classify.c ./lenet5.so \
 *      -Wl,-rpath,'$ORIGIN' -o classify
 *   ./classify images.npy logits.npy [--threads N] [--parameters]
 *
 * Reads a batch of images (a float32 .npy array of shape
 * [LENET5_BATCH_SIZE, 1, 28, 28]), runs lenet5_forward, writes the logits
 * as a float32 .npy array and prints each image's most likely class.
 * --parameters lists the model's globals as lenet5_parameters() describes
 * them. Everything the program knows about the model comes from lenet5.h.
 */

#include "lenet5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a C-order float32 .npy file into a new buffer; returns the number
 * of elements, or -1 with a message on stderr. Only what NumPy writes for
 * np.save(file, array.astype(np.float32)) is accepted. */
static long read_npy_f32(const char *path, float **data, long shape[8],
                         int *rank) {
  FILE *file = fopen(path, "rb");
  unsigned char magic[10];
  char header[4096];
  unsigned long header_len;
  long count = 1;
  const char *p;
  if (!file) {
    perror(path);
    return -1;
  }
  if (fread(magic, 1, 10, file) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0 ||
      magic[6] != 1) {
    fprintf(stderr, "%s: not a version 1 .npy file\n", path);
    fclose(file);
    return -1;
  }
  header_len = magic[8] | (unsigned long)magic[9] << 8;
  if (header_len >= sizeof header ||
      fread(header, 1, header_len, file) != header_len) {
    fprintf(stderr, "%s: bad .npy header\n", path);
    fclose(file);
    return -1;
  }
  header[header_len] = '\0';
  if (!strstr(header, "'descr': '<f4'") ||
      !strstr(header, "'fortran_order': False")) {
    fprintf(stderr, "%s: expected a C-order float32 array\n", path);
    fclose(file);
    return -1;
  }
  p = strstr(header, "'shape': (");
  *rank = 0;
  for (p = p ? p + 10 : header; *p && *p != ')' && *rank < 8;) {
    char *end;
    long d = strtol(p, &end, 10);
    if (end == p)
      break;
    shape[(*rank)++] = d;
    count *= d;
    p = end;
    while (*p == ',' || *p == ' ')
      ++p;
  }
  *data = malloc(count * sizeof(float));
  if (!*data || fread(*data, sizeof(float), count, file) != (size_t)count) {
    fprintf(stderr, "%s: cannot read %ld floats\n", path, count);
    free(*data);
    fclose(file);
    return -1;
  }
  fclose(file);
  return count;
}

/* Writes a float32 array of the given shape as a version 1 .npy file. */
static int write_npy_f32(const char *path, const float *data, const long *shape,
                         int rank) {
  char header[256];
  long count = 1;
  int i, n;
  FILE *file = fopen(path, "wb");
  if (!file) {
    perror(path);
    return -1;
  }
  n = sprintf(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
  for (i = 0; i < rank; ++i) {
    n += sprintf(header + n, "%ld,%s", shape[i], i + 1 < rank ? " " : "");
    count *= shape[i];
  }
  n += sprintf(header + n, "), }");
  /* The header is padded with spaces to a multiple of 64 bytes (magic and
   * length included) and ends with a newline. */
  while ((10 + n + 1) % 64 != 0)
    header[n++] = ' ';
  header[n++] = '\n';
  fwrite("\x93NUMPY\x01\x00", 1, 8, file);
  fputc(n & 0xff, file);
  fputc(n >> 8, file);
  fwrite(header, 1, n, file);
  fwrite(data, sizeof(float), count, file);
  if (fclose(file) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}

static void list_parameters(void) {
  const lenet5_parameter *params = lenet5_parameters();
  int64_t i, total = 0;
  for (i = 0; i < lenet5_num_parameters(); ++i) {
    int64_t d;
    printf("%-14s %s [", params[i].name, params[i].dtype);
    for (d = 0; d < params[i].rank; ++d)
      printf("%s%lld", d ? ", " : "", (long long)params[i].shape[d]);
    printf("]\n");
    total += params[i].num_elements;
  }
  printf("%lld values in %lld globals\n", (long long)total,
         (long long)lenet5_num_parameters());
}

int main(int argc, char **argv) {
  const char *input_path = NULL, *output_path = NULL;
  long shape[8];
  int rank, i;
  float *images = NULL;
  static float logits[LENET5_FORWARD_LOGITS_ELEMENTS];
  const long logits_shape[2] = {
      LENET5_BATCH_SIZE, LENET5_FORWARD_LOGITS_ELEMENTS / LENET5_BATCH_SIZE};

  for (i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      lenet5_set_num_threads(atoi(argv[++i]));
    else if (strcmp(argv[i], "--parameters") == 0)
      list_parameters();
    else if (!input_path)
      input_path = argv[i];
    else if (!output_path)
      output_path = argv[i];
  }
  if (!input_path || !output_path) {
    fprintf(stderr,
            "usage: %s images.npy logits.npy [--threads N] "
            "[--parameters]\n",
            argv[0]);
    return 2;
  }

  if (read_npy_f32(input_path, &images, shape, &rank) !=
      LENET5_FORWARD_INPUT_ELEMENTS) {
    fprintf(stderr, "%s: expected %d images of 1x28x28\n", input_path,
            LENET5_BATCH_SIZE);
    free(images);
    return 1;
  }

  lenet5_forward(images, logits);

  for (i = 0; i < LENET5_BATCH_SIZE; ++i) {
    const float *row = logits + i * logits_shape[1];
    int best = 0, c;
    for (c = 1; c < logits_shape[1]; ++c)
      if (row[c] > row[best])
        best = c;
    printf("image %d: class %d\n", i, best);
  }
  free(images);
  return write_npy_f32(output_path, logits, logits_shape, 2) == 0 ? 0 : 1;
}
