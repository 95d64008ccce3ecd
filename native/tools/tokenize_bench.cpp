// CPU-time driver for the tokenizer alone: what CPython's `tokenize.tokenize` does
// (decode the bytes as tokenize.py finds their encoding, then yield every token with
// its type, string, start and end, ENCODING to ENDMARKER), in memory, writing nothing.
// The `tokenize` pass adds formatting tokens.jsonl and hashing it; this is the
// tokenizer that pass and the front end share. scripts/bench-tokenizer.sh builds it
// against the library cargo built and runs it beside tokenize_cpython.py:
//
//   g++ -O2 -std=c++17 native/tools/tokenize_bench.cpp LIBWEIR_NATIVE_A -o tokenize_bench
//   tokenize_bench LISTFILE [REPEATS]
//
// Prints the bytes, tokens, process CPU seconds of the best repeat and MB/s of CPU time.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "../cpp/text.hpp"
#include "../cpp/tokenizer.hpp"
#include "bench.hpp"

namespace {

using weir_bench::cpu_now;
using weir_bench::slurp;

// Counts the stream, as a consumer that reads each token's fields once would.
struct Counter : weir::TokenObserver {
  size_t count = 0;
  uint64_t check = 0;
  void tokens(const weir::Token *batch, size_t n) override {
    for (size_t i = 0; i < n; i++)
      check += batch[i].srow + batch[i].ecol + batch[i].len + uint64_t(batch[i].type);
    this->count += n;
  }
};

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::cerr << "usage: tokenize_bench LISTFILE [REPEATS]\n";
    return 2;
  }
  std::vector<std::string> sources;
  for (const std::string &path : weir_bench::listed(argv[1])) sources.push_back(slurp(path));
  int repeats = argc > 2 ? std::stoi(argv[2]) : 3;
  size_t bytes = 0;
  for (auto &s : sources) bytes += s.size();
  double best = 1e30;
  Counter last;
  for (int r = 0; r < repeats; r++) {
    Counter counter;
    double t0 = cpu_now();
    for (auto &src : sources) {
      weir::Decoded decoded;
      weir::DecodeError err;
      if (!weir::decode_source(src, decoded, err)) continue;
      weir::TokenizeLimits limits;
      limits.max_depth = 200;
      limits.observer = &counter;
      weir::TokenizeResult out;
      weir::TokenStream stream(decoded.text, limits, out);
      while (stream.step()) {
      }
    }
    best = std::min(best, cpu_now() - t0);
    last = counter;
  }
  std::printf("bytes %zu tokens %zu check %llu cpu_s %.4f MB/s %.1f\n", bytes, last.count,
              (unsigned long long)last.check, best, bytes / best / 1e6);
  return 0;
}
