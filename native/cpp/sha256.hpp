// SHA-256 (FIPS 180-4), streaming, for the manifest's digests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace weir {

class Sha256 {
public:
  Sha256();
  void update(const void *data, size_t n);
  std::string hex(); // finishes; call once

private:
  void blocks(const uint8_t *p, size_t n); // n whole 64-byte blocks
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

} // namespace weir
