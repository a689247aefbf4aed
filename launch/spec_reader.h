// Reads a YAML map into typed fields, one key at a time, and reports what is wrong with a
// message naming the full key path and what is allowed: wrong types, values out of range,
// choices outside their list, and (at finish) keys nobody asked for.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "yaml-cpp/yaml.h"

namespace ty {

class SpecReader {
 public:
  // `node` must be a map or absent; `path` is its key path ("" at the root).
  SpecReader(const YAML::Node& node, std::string path);

  absl::Status status() const { return status_; }
  bool has(const std::string& key) const;
  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  YAML::Node node(const std::string& k);

  // Each reads `k` into `out` when present; out keeps its default otherwise.
  SpecReader& str(const std::string& k, std::string& out);
  SpecReader& choice(const std::string& k, std::string& out, const std::vector<std::string>& allowed);
  SpecReader& flag(const std::string& k, bool& out);
  SpecReader& integer(const std::string& k, int64_t& out, int64_t lo, int64_t hi);
  SpecReader& integer(const std::string& k, int& out, int64_t lo, int64_t hi);
  SpecReader& u64(const std::string& k, uint64_t& out);
  // lo/hi bounds; `hi_open` excludes hi, `lo_open` excludes lo.
  SpecReader& real(const std::string& k, float& out, double lo, double hi, bool lo_open = false, bool hi_open = false);
  SpecReader& integers(const std::string& k, std::vector<int64_t>& out, int64_t lo, int64_t hi);
  SpecReader& reals(const std::string& k, std::vector<float>& out, size_t count, double lo, double hi);

  // Fails on keys that were never read, listing those that exist here.
  absl::Status finish();
  void fail(const std::string& msg);

 private:
  bool take(const std::string& k, YAML::Node& out);
  YAML::Node node_;
  std::string path_;
  std::set<std::string> known_;
  absl::Status status_;
};

}  // namespace ty
