/* The C ABI of the Weir native pipeline compiler.
 *
 * Every entry point returns a status code and never lets a C++ exception, an
 * allocation failure or invalid input cross this boundary. Buffers the library
 * hands out are owned by the caller and released with weir_native_free. The
 * library keeps no global mutable state: calls may run on any number of threads
 * at once. */
#ifndef WEIR_NATIVE_H
#define WEIR_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum weir_status {
  WEIR_OK = 0,            /* out holds the manifest (JSON, UTF-8); it may say "failed" */
  WEIR_INVALID_ARGUMENT = 1, /* out holds a message */
  WEIR_OUT_OF_MEMORY = 2, /* out may be empty */
  WEIR_CANCELLED = 3,     /* out holds a message; no artifact was left behind */
  WEIR_IO = 4,            /* out holds a message naming the path */
  WEIR_INTERNAL = 5       /* out holds a message */
};

enum weir_pass {
  WEIR_PASS_TOKENIZE = 1u << 0,
  WEIR_PASS_OUTLINE = 1u << 1,
  WEIR_PASS_METRICS = 1u << 2,
  WEIR_PASS_STRIP = 1u << 3,
  WEIR_PASS_CALLGRAPH = 1u << 4
};

typedef struct weir_buf {
  uint8_t *ptr; /* owned by the caller once returned; free with weir_native_free */
  size_t len;
} weir_buf;

typedef struct weir_settings {
  uint32_t passes;          /* bit set of weir_pass */
  uint8_t strip_docstrings; /* 0 or 1 */
  uint8_t strip_comments;   /* 0 or 1 */
  uint64_t max_input_bytes; /* the input is refused above this */
  uint32_t max_depth;       /* bracket nesting and indentation depth */
  uint64_t max_wall_ms;     /* the compile gives up after this long */
} weir_settings;

/* Runs the pipeline over `source` (the file's bytes) and writes the artifacts and
 * manifest.json into `out_dir` (which must exist). `name` is the input's name
 * (UTF-8, not NUL-terminated). `cancel` points at a byte the caller owns and may
 * set to non-zero from another thread at any time; it is read atomically. On
 * return `*out` holds the manifest or an error message. */
int32_t weir_native_compile(const uint8_t *name, size_t name_len,
                            const uint8_t *source, size_t source_len,
                            const weir_settings *settings,
                            const uint8_t *out_dir, size_t out_dir_len,
                            const uint8_t *cancel, weir_buf *out);

/* Releases a buffer returned by the library. Null is allowed. */
void weir_native_free(uint8_t *ptr, size_t len);

/* The library's version, a static NUL-terminated string. */
const char *weir_native_version(void);

#ifdef __cplusplus
}
#endif
#endif
