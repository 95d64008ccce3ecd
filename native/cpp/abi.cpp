// The C ABI: argument checks, and the catch-all that keeps every C++ exception and
// allocation failure on this side of the boundary.
#include <cstdlib>
#include <cstring>
#include <new>

#include "pipeline.hpp"
#include "weir_native.h"

namespace {

int32_t give(weir_buf *out, int32_t status, const std::string &body) {
  out->ptr = nullptr;
  out->len = 0;
  if (body.empty()) return status;
  auto *p = static_cast<uint8_t *>(malloc(body.size()));
  if (!p) return WEIR_OUT_OF_MEMORY;
  memcpy(p, body.data(), body.size());
  out->ptr = p;
  out->len = body.size();
  return status;
}

} // namespace

extern "C" int32_t weir_native_compile(const uint8_t *name, size_t name_len,
                                       const uint8_t *source, size_t source_len,
                                       const weir_settings *settings, const uint8_t *out_dir,
                                       size_t out_dir_len, const uint8_t *cancel,
                                       weir_buf *out) {
  if (!out) return WEIR_INVALID_ARGUMENT;
  out->ptr = nullptr;
  out->len = 0;
  try {
    if ((!name && name_len) || (!source && source_len) || !settings || !out_dir ||
        out_dir_len == 0)
      return give(out, WEIR_INVALID_ARGUMENT, "a required argument is null or empty");
    if (memchr(out_dir, 0, out_dir_len))
      return give(out, WEIR_INVALID_ARGUMENT, "the artifact directory contains a NUL byte");
    if (settings->passes == 0 || (settings->passes & ~uint32_t(0x1F)))
      return give(out, WEIR_INVALID_ARGUMENT, "settings.passes selects no known pass");
    weir::Request req{std::string(reinterpret_cast<const char *>(name), name_len),
                      source ? source : reinterpret_cast<const uint8_t *>(""),
                      source_len,
                      *settings,
                      std::string(reinterpret_cast<const char *>(out_dir), out_dir_len),
                      cancel};
    weir::Response r = weir::run_pipeline(req);
    return give(out, r.status, r.body);
  } catch (const std::bad_alloc &) {
    return WEIR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    try {
      return give(out, WEIR_INTERNAL, e.what());
    } catch (...) {
      return WEIR_INTERNAL;
    }
  } catch (...) {
    return WEIR_INTERNAL;
  }
}

extern "C" void weir_native_free(uint8_t *ptr, size_t len) {
  (void)len;
  free(ptr);
}

extern "C" const char *weir_native_version(void) { return "weir-native 0.1.0"; }
