#include "launch/spec_reader.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty {
namespace {

std::string show(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "nothing";
}

bool parse_int(const YAML::Node& n, int64_t& v) {
  if (!n.IsScalar()) return false;
  try {
    size_t used = 0;
    const std::string s = n.Scalar();
    v = std::stoll(s, &used, 10);
    return used == s.size();
  } catch (...) {
    return false;
  }
}

bool parse_real(const YAML::Node& n, double& v) {
  if (!n.IsScalar()) return false;
  try {
    size_t used = 0;
    const std::string s = n.Scalar();
    v = std::stod(s, &used);
    return used == s.size() && std::isfinite(v);
  } catch (...) {
    return false;
  }
}

std::string range_text(double lo, double hi, bool lo_open, bool hi_open) {
  return absl::StrCat(lo_open ? "(" : "[", lo, ", ", hi, hi_open ? ")" : "]");
}

}  // namespace

SpecReader::SpecReader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    status_ = absl::InvalidArgumentError(absl::StrCat(path_.empty() ? "the job spec" : path_,
                                                      ": expected a map of keys, got ", show(node_)));
}

void SpecReader::fail(const std::string& msg) {
  if (status_.ok()) status_ = absl::InvalidArgumentError(msg);
}

bool SpecReader::has(const std::string& k) const {
  return node_ && node_.IsMap() && node_[k] && !node_[k].IsNull();
}

YAML::Node SpecReader::node(const std::string& k) {
  known_.insert(k);
  return has(k) ? YAML::Node(node_[k]) : YAML::Node();
}

bool SpecReader::take(const std::string& k, YAML::Node& out) {
  known_.insert(k);
  if (!status_.ok() || !has(k)) return false;
  out = node_[k];
  return true;
}

SpecReader& SpecReader::str(const std::string& k, std::string& out) {
  YAML::Node n;
  if (!take(k, n)) return *this;
  if (!n.IsScalar()) {
    fail(absl::StrCat(key(k), ": expected a string, got ", show(n)));
    return *this;
  }
  out = n.Scalar();
  return *this;
}

SpecReader& SpecReader::choice(const std::string& k, std::string& out, const std::vector<std::string>& allowed) {
  std::string v = out;
  str(k, v);
  if (!status_.ok()) return *this;
  for (const auto& a : allowed)
    if (a == v) {
      out = v;
      return *this;
    }
  fail(absl::StrCat(key(k), ": '", v, "' is not allowed (allowed: ", absl::StrJoin(allowed, ", "), ")"));
  return *this;
}

SpecReader& SpecReader::flag(const std::string& k, bool& out) {
  YAML::Node n;
  if (!take(k, n)) return *this;
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "true" || s == "yes" || s == "on") out = true;
  else if (s == "false" || s == "no" || s == "off") out = false;
  else fail(absl::StrCat(key(k), ": expected true or false, got ", show(n)));
  return *this;
}

SpecReader& SpecReader::integer(const std::string& k, int64_t& out, int64_t lo, int64_t hi) {
  YAML::Node n;
  if (!take(k, n)) return *this;
  int64_t v;
  if (!parse_int(n, v)) {
    fail(absl::StrCat(key(k), ": expected an integer, got ", show(n)));
  } else if (v < lo || v > hi) {
    fail(absl::StrCat(key(k), ": ", v, " is out of range (allowed: ", lo, " to ", hi, ")"));
  } else {
    out = v;
  }
  return *this;
}

SpecReader& SpecReader::integer(const std::string& k, int& out, int64_t lo, int64_t hi) {
  int64_t v = out;
  integer(k, v, lo, hi);
  out = static_cast<int>(v);
  return *this;
}

SpecReader& SpecReader::u64(const std::string& k, uint64_t& out) {
  int64_t v = static_cast<int64_t>(out);
  integer(k, v, 0, INT64_MAX);
  out = static_cast<uint64_t>(v);
  return *this;
}

SpecReader& SpecReader::real(const std::string& k, float& out, double lo, double hi, bool lo_open, bool hi_open) {
  YAML::Node n;
  if (!take(k, n)) return *this;
  double v;
  if (!parse_real(n, v)) {
    fail(absl::StrCat(key(k), ": expected a number, got ", show(n)));
  } else if (v < lo || v > hi || (lo_open && v == lo) || (hi_open && v == hi)) {
    fail(absl::StrCat(key(k), ": ", n.Scalar(), " is out of range (allowed: ", range_text(lo, hi, lo_open, hi_open), ")"));
  } else {
    out = static_cast<float>(v);
  }
  return *this;
}

SpecReader& SpecReader::integers(const std::string& k, std::vector<int64_t>& out, int64_t lo, int64_t hi) {
  YAML::Node n;
  if (!take(k, n)) return *this;
  if (!n.IsSequence()) {
    fail(absl::StrCat(key(k), ": expected a list of integers, got ", show(n)));
    return *this;
  }
  std::vector<int64_t> v;
  for (size_t i = 0; i < n.size(); ++i) {
    int64_t x;
    if (!parse_int(n[i], x) || x < lo || x > hi) {
      fail(absl::StrCat(key(k), "[", i, "]: expected an integer from ", lo, " to ", hi, ", got ", show(n[i])));
      return *this;
    }
    v.push_back(x);
  }
  out = v;
  return *this;
}

SpecReader& SpecReader::reals(const std::string& k, std::vector<float>& out, size_t count, double lo, double hi) {
  YAML::Node n;
  if (!take(k, n)) return *this;
  if (!n.IsSequence() || n.size() != count) {
    fail(absl::StrCat(key(k), ": expected a list of ", count, " numbers, got ", show(n)));
    return *this;
  }
  std::vector<float> v;
  for (size_t i = 0; i < n.size(); ++i) {
    double x;
    if (!parse_real(n[i], x) || x < lo || x >= hi) {
      fail(absl::StrCat(key(k), "[", i, "]: expected a number in [", lo, ", ", hi, "), got ", show(n[i])));
      return *this;
    }
    v.push_back(static_cast<float>(x));
  }
  out = v;
  return *this;
}

absl::Status SpecReader::finish() {
  if (!status_.ok() || !node_ || !node_.IsMap()) return status_;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string k = it->first.as<std::string>();
    if (!known_.count(k))
      return absl::InvalidArgumentError(absl::StrCat("unknown key '", key(k), "' (allowed here: ",
                                                     absl::StrJoin(known_, ", "), ")"));
  }
  return absl::OkStatus();
}

}  // namespace ty
