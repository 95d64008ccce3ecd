// libFuzzer target at the library's C ABI: any bytes as a Python source, every pass,
// settings varied by the first byte. The ABI must return a known status, a manifest
// on WEIR_OK, and never crash, leak past ASan or hit undefined behaviour.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../cpp/weir_native.h"

static std::string out_dir() {
  static std::string dir = [] {
    const char *base = getenv("WEIR_FUZZ_DIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/weir-fuzz.XXXXXX";
    char *d = mkdtemp(&tmpl[0]);
    if (!d) abort();
    return std::string(d);
  }();
  return dir;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  weir_settings s{};
  uint8_t flags = size ? data[0] : 0;
  s.passes = 0x1F;
  s.strip_docstrings = flags & 1;
  s.strip_comments = (flags >> 1) & 1;
  s.max_input_bytes = 1 << 20;
  s.max_depth = (flags & 4) ? 200 : 1 + (flags >> 3);
  s.max_wall_ms = 10000;
  uint8_t cancel = 0;
  std::string dir = out_dir();
  weir_buf out{nullptr, 0};
  const char name[] = "fuzz.py";
  int32_t st = weir_native_compile(reinterpret_cast<const uint8_t *>(name), sizeof name - 1,
                                   data, size, &s,
                                   reinterpret_cast<const uint8_t *>(dir.data()), dir.size(),
                                   &cancel, &out);
  if (st != WEIR_OK) {
    fprintf(stderr, "status %d: %.*s\n", st, int(out.len), out.ptr ? (const char *)out.ptr : "");
    abort();
  }
  if (out.len == 0 || out.ptr[0] != '{') abort();
  weir_native_free(out.ptr, out.len);
  return 0;
}
