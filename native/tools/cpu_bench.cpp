// CPU-time driver for the native library, for benchmarks on a shared machine where
// wall time says little. Links against the built static library:
//
//   g++ -O2 -std=c++17 native/tools/cpu_bench.cpp LIBWEIR_NATIVE_A -o cpu_bench
//
// where LIBWEIR_NATIVE_A is $CARGO_TARGET_DIR/debug/build/weir-native-*/out/libweir_native.a.
//
//   cpu_bench LISTFILE OUT_ROOT PASSES [DOCSTRINGS COMMENTS [keep]]
//
// PASSES is the weir_pass bit set (31: all); DOCSTRINGS and COMMENTS are 0 or 1 (1
// by default). Every file is compiled into OUT_ROOT (one directory, reused), or with
// `keep` into OUT_ROOT/<index>/ with the manifests (times removed) in
// OUT_ROOT/manifests.jsonl, for comparing outputs. Prints the bytes, the process CPU
// seconds spent inside weir_native_compile and MB/s of CPU time.
#include <sys/stat.h>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "../cpp/weir_native.h"
#include "bench.hpp"

namespace {

using weir_bench::cpu_now;
using weir_bench::slurp;

// The manifest without its timings, which differ from run to run.
std::string timeless(const std::string &m) {
  static const std::regex times("\"(time_us|frontend_us)\":[0-9]+");
  return std::regex_replace(m, times, "\"$1\":0");
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::cerr << "usage: cpu_bench LISTFILE OUT_ROOT PASSES [DOCSTRINGS COMMENTS [keep]]\n";
    return 2;
  }
  std::vector<std::string> files = weir_bench::listed(argv[1]);
  std::string root = argv[2];
  weir_settings s{};
  s.passes = uint32_t(std::stoul(argv[3]));
  s.strip_docstrings = argc > 4 ? uint8_t(std::stoi(argv[4])) : 1;
  s.strip_comments = argc > 5 ? uint8_t(std::stoi(argv[5])) : 1;
  s.max_input_bytes = 256u << 20;
  s.max_depth = 200;
  s.max_wall_ms = 600000;
  bool keep = argc > 6 && std::string(argv[6]) == "keep";
  mkdir(root.c_str(), 0755);
  std::ofstream manifests;
  if (keep) manifests.open(root + "/manifests.jsonl");
  double cpu = 0;
  size_t bytes = 0;
  for (size_t i = 0; i < files.size(); i++) {
    std::string src = slurp(files[i]);
    std::string dir = keep ? root + "/" + std::to_string(i) : root;
    mkdir(dir.c_str(), 0755);
    weir_buf out{};
    double t0 = cpu_now();
    int32_t st = weir_native_compile(reinterpret_cast<const uint8_t *>(files[i].data()),
                                     files[i].size(), reinterpret_cast<const uint8_t *>(src.data()),
                                     src.size(), &s, reinterpret_cast<const uint8_t *>(dir.data()),
                                     dir.size(), nullptr, &out);
    cpu += cpu_now() - t0;
    bytes += src.size();
    if (keep)
      manifests << st << " " << timeless(std::string(reinterpret_cast<char *>(out.ptr), out.len))
                << "\n";
    weir_native_free(out.ptr, out.len);
  }
  printf("%zu bytes, %.3f s CPU, %.1f MB/s\n", bytes, cpu, double(bytes) / 1e6 / cpu);
  return 0;
}
