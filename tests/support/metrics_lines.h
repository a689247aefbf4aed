// Reading what a run wrote, for end-to-end tests: a metrics.jsonl's records of one kind.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace ty {

// The lines of `path` (a metrics.jsonl) whose "kind" is `kind`, in order.
inline std::vector<std::string> lines_of_kind(const std::string& path, const std::string& kind) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (l.find("\"kind\":\"" + kind + "\"") != std::string::npos) out.push_back(l);
  return out;
}

}  // namespace ty
