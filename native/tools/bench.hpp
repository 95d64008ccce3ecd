// What the CPU-time drivers in this folder share: the process's CPU clock, reading a
// file whole, and the list of files to run over. Header-only: each driver is one
// translation unit compiled by hand (see its opening comment).
#pragma once
#include <time.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace weir_bench {

// Seconds of CPU time this process has used: what a shared machine leaves fair.
inline double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

inline std::string slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The paths listed in `listfile`, one a line, blank lines skipped.
inline std::vector<std::string> listed(const std::string &listfile) {
  std::vector<std::string> paths;
  std::ifstream list(listfile);
  for (std::string l; std::getline(list, l);)
    if (!l.empty()) paths.push_back(l);
  return paths;
}

} // namespace weir_bench
