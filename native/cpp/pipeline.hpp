// The pipeline: limits, the front end (decode, tokenize, structure), the selected
// passes in their fixed order, artifacts written under temporary names and renamed
// only when complete, and the manifest. The ABI layer is its only caller.
#pragma once
#include <cstdint>
#include <string>

#include "weir_native.h"

namespace weir {

struct Request {
  std::string name;
  const uint8_t *source;
  size_t source_len;
  weir_settings settings;
  std::string out_dir;
  const uint8_t *cancel; // may be null
};

struct Response {
  int32_t status;
  std::string body; // the manifest, or a message
};

Response run_pipeline(const Request &req);

} // namespace weir
