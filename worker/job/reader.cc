#include "worker/job/reader.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ty {
namespace {

absl::Status bad(const std::string& key, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", what));
}

bool parse_int(const YAML::Node& n, int64_t& v) {
  if (!n.IsScalar() || n.Scalar().empty()) return false;
  const std::string& s = n.Scalar();
  char* end = nullptr;
  errno = 0;
  v = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end == s.c_str() + s.size();
}

bool parse_real(const YAML::Node& n, double& v) {
  if (!n.IsScalar() || n.Scalar().empty()) return false;
  const std::string& s = n.Scalar();
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(v);
}

bool in_range(double v, const Range& r) {
  return v >= r.lo && v <= r.hi && !(r.lo_open && v == r.lo) && !(r.hi_open && v == r.hi);
}

struct ValueReader {
  const YAML::Node& n;
  const std::string& key;
  const Range& r;
  const FieldRef& f;

  std::string allowed() const { return allowed_text(f, r); }
  absl::Status scalar_expected(const char* what) const {
    return bad(key, absl::StrCat("expected ", what, ", got ", describe(n)));
  }

  absl::Status operator()(std::string* out) const {
    if (!n.IsScalar()) return scalar_expected("a string");
    *out = n.Scalar();
    return absl::OkStatus();
  }
  absl::Status operator()(bool* out) const {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    if (s == "true" || s == "yes" || s == "on")
      *out = true;
    else if (s == "false" || s == "no" || s == "off")
      *out = false;
    else
      return scalar_expected("true or false");
    return absl::OkStatus();
  }
  absl::Status operator()(int64_t* out) const {
    int64_t v;
    if (!parse_int(n, v)) return scalar_expected("an integer");
    if (!in_range(static_cast<double>(v), r))
      return bad(key, absl::StrCat(v, " is out of range (allowed: ", allowed(), ")"));
    *out = v;
    return absl::OkStatus();
  }
  absl::Status operator()(uint64_t* out) const {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || s[0] == '-' || errno != 0 || end != s.c_str() + s.size())
      return scalar_expected("an integer from 0 to 2^64 - 1");
    *out = v;
    return absl::OkStatus();
  }
  absl::Status operator()(float* out) const {
    double v;
    if (!parse_real(n, v)) return scalar_expected("a number");
    if (!in_range(v, r)) return bad(key, absl::StrCat(n.Scalar(), " is out of range (allowed: ", allowed(), ")"));
    *out = static_cast<float>(v);
    return absl::OkStatus();
  }
  absl::Status operator()(std::vector<int64_t>* out) const {
    if (!n.IsSequence()) return scalar_expected("a list of integers");
    std::vector<int64_t> v;
    for (size_t i = 0; i < n.size(); ++i) {
      int64_t x;
      if (!parse_int(n[i], x) || !in_range(static_cast<double>(x), r))
        return bad(absl::StrCat(key, "[", i, "]"),
                   absl::StrCat("expected an integer ", allowed_text(&x, r), ", got ", describe(n[i])));
      v.push_back(x);
    }
    *out = std::move(v);
    return absl::OkStatus();
  }
  absl::Status operator()(std::vector<float>* out) const {
    if (!n.IsSequence() || (r.count > 0 && n.size() != r.count))
      return scalar_expected(absl::StrCat("a list of ", r.count, " numbers").c_str());
    std::vector<float> v;
    for (size_t i = 0; i < n.size(); ++i) {
      double x;
      float fx = 0;
      if (!parse_real(n[i], x) || !in_range(x, r))
        return bad(absl::StrCat(key, "[", i, "]"),
                   absl::StrCat("expected a number in ", allowed_text(&fx, r), ", got ", describe(n[i])));
      v.push_back(static_cast<float>(x));
    }
    *out = std::move(v);
    return absl::OkStatus();
  }
  absl::Status operator()(PartitionSpec* out) const {
    if (n.IsSequence()) {
      std::vector<int64_t> cuts;
      for (size_t i = 0; i < n.size(); ++i) {
        int64_t x;
        if (!parse_int(n[i], x) || x < 0)
          return bad(absl::StrCat(key, "[", i, "]"), absl::StrCat("expected a layer index, got ", describe(n[i])));
        cuts.push_back(x);
      }
      if (cuts.empty()) return bad(key, "an empty list of cut points; give P − 1 of them, or a rule (parameters)");
      *out = {PartitionKind::kCuts, std::move(cuts)};
      return absl::OkStatus();
    }
    PartitionKind kind;
    if (!n.IsScalar() || !parse_enum(n.Scalar(), kind) || kind == PartitionKind::kCuts)
      return bad(key, absl::StrCat("expected ", allowed(), ", got ", describe(n)));
    *out = {kind, {}};
    return absl::OkStatus();
  }
  absl::Status operator()(const EnumRef& e) const {
    if (!n.IsScalar()) return scalar_expected("one of the names listed in the README");
    for (size_t i = 0; i < e.names.size(); ++i)
      if (n.Scalar() == e.names[i]) {
        e.set(e.field, static_cast<int>(i));
        return absl::OkStatus();
      }
    return bad(key, absl::StrCat("'", n.Scalar(), "' is not allowed (allowed: ", absl::StrJoin(e.names, ", "), ")"));
  }
};

std::string join_key(const std::string& prefix, const std::string& k) { return prefix.empty() ? k : prefix + "." + k; }

// Each key of `map` a scalar, none twice; `visit(key)` judges each.
template <typename Visit>
absl::Status for_each_key(const YAML::Node& map, const std::string& where, Visit visit) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Mark mark = it->first.Mark();
    if (!it->first.IsScalar())
      return absl::InvalidArgumentError(absl::StrCat(where.empty() ? "the job spec" : where, ": line ", mark.line + 1,
                                                     ": a key must be a plain name, got ", describe(it->first)));
    const std::string k = it->first.Scalar();
    if (!seen.insert(k).second)
      return absl::InvalidArgumentError(
          absl::StrCat(join_key(where, k), ": given twice (the second at line ", mark.line + 1, "); remove one"));
    if (absl::Status st = visit(k, it->second); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

std::string describe(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "nothing";
}

absl::Status read_value(const YAML::Node& n, const std::string& key, const FieldRef& f, const Range& r) {
  return std::visit(ValueReader{n, key, r, f}, f);
}

YAML::Node node_at(const YAML::Node& root, const std::string& path) {
  YAML::Node cur = root;
  for (const std::string& part : std::vector<std::string>(absl::StrSplit(path, '.'))) {
    if (!cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = cur[part];
    if (!next) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);
  }
  return cur;
}

absl::Status check_keys(const YAML::Node& doc, const std::vector<std::string>& leaves) {
  std::set<std::string> leaf_set(leaves.begin(), leaves.end()), sections;
  for (const std::string& l : leaves)
    for (size_t dot = l.find('.'); dot != std::string::npos; dot = l.find('.', dot + 1))
      sections.insert(l.substr(0, dot));
  // Children allowed under a section, for "allowed here".
  auto children = [&](const std::string& section) {
    std::set<std::string> out;
    for (const std::set<std::string>* s : {&leaf_set, &sections})
      for (const std::string& k : *s) {
        if (!section.empty() && k.rfind(section + ".", 0) != 0) continue;
        const std::string rest = section.empty() ? k : k.substr(section.size() + 1);
        if (rest.find('.') == std::string::npos) out.insert(rest);
      }
    return absl::StrJoin(out, ", ");
  };
  std::function<absl::Status(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& map,
                                                                                const std::string& where) {
    return for_each_key(map, where, [&](const std::string& k, const YAML::Node& value) -> absl::Status {
      const std::string full = join_key(where, k);
      if (leaf_set.count(full)) return absl::OkStatus();
      if (!sections.count(full))
        return absl::InvalidArgumentError(absl::StrCat("unknown key '", full, "' (allowed ",
                                                       where.empty() ? "at the top level" : "in " + where, ": ",
                                                       children(where), ")"));
      if (value.IsNull()) return absl::OkStatus();
      if (!value.IsMap())
        return absl::InvalidArgumentError(absl::StrCat(full, ": expected a map of keys, got ", describe(value),
                                                       " (keys here: ", children(full), ")"));
      return walk(value, full);
    });
  };
  if (!doc.IsMap()) return absl::InvalidArgumentError("the job spec: expected a map of keys at the top level");
  return walk(doc, "");
}

absl::Status check_element_keys(const YAML::Node& map, const std::string& where, const std::vector<std::string>& keys) {
  if (!map.IsMap())
    return absl::InvalidArgumentError(absl::StrCat(where, ": expected a map of keys, got ", describe(map)));
  return for_each_key(map, where, [&](const std::string& k, const YAML::Node&) -> absl::Status {
    for (const std::string& known : keys)
      if (known == k) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("unknown key '", where, ".", k, "' (allowed here: ", absl::StrJoin(keys, ", "), ")"));
  });
}

}  // namespace ty
