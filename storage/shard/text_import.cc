#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/shard/shard_import.h"

namespace ty {
namespace {

// Token ids of the file and the vocabulary (id -> token text).
struct Tokens {
  std::vector<int32_t> ids;
  std::vector<std::string> vocab;
};

Tokens byte_tokens(const std::string& text) {
  Tokens t;
  for (int b = 0; b < 256; ++b)
    t.vocab.push_back(std::isprint(b) && b != ' ' ? std::string(1, char(b))
                                                  : absl::StrCat("<0x", absl::Hex(b, absl::kZeroPad2), ">"));
  for (unsigned char c : text) t.ids.push_back(c);
  return t;
}

Tokens word_tokens(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  std::map<std::string, int64_t> freq;
  for (const auto& w : words) ++freq[w];
  std::vector<std::pair<std::string, int64_t>> order(freq.begin(), freq.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  Tokens t;
  std::map<std::string, int32_t> id;
  for (const auto& [w, n] : order) {
    id[w] = static_cast<int32_t>(t.vocab.size());
    t.vocab.push_back(w);
  }
  for (const auto& w : words) t.ids.push_back(id[w]);
  return t;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> import_text(const std::string& path, const TextImportOptions& o,
                                                     const std::string& out_prefix, ShardWriterOptions options) {
  if (o.tokens != "bytes" && o.tokens != "words")
    return absl::InvalidArgumentError(absl::StrCat("--tokens '", o.tokens, "' (allowed: bytes, words)"));
  if (o.seq_len < 1 || o.seq_len > (1 << 20))
    return absl::InvalidArgumentError(absl::StrCat("--seq-len ", o.seq_len, " (allowed: 1 to 1048576)"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Tokens t = o.tokens == "bytes" ? byte_tokens(text) : word_tokens(text);
  const int64_t per = o.seq_len + 1;
  if (static_cast<int64_t>(t.ids.size()) < per)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", t.ids.size(), " tokens, fewer than one record of ", per));
  {
    std::ofstream vocab(out_prefix + ".vocab");
    for (const auto& w : t.vocab) vocab << w << "\n";
    if (!vocab) return absl::UnavailableError(absl::StrCat(out_prefix, ".vocab: cannot write"));
  }
  ShardSchema schema;
  schema.fields.push_back({"x", DType::kI32, {o.seq_len}});
  schema.fields.push_back({"y", DType::kI32, {o.seq_len}});
  ShardWriter writer(out_prefix, schema, options);
  std::vector<int32_t> rec(2 * o.seq_len);
  // Records advance by seq_len tokens: every token (but the first) is a target once.
  for (int64_t start = 0; start + per <= static_cast<int64_t>(t.ids.size()); start += o.seq_len) {
    std::copy(t.ids.begin() + start, t.ids.begin() + start + o.seq_len, rec.begin());
    std::copy(t.ids.begin() + start + 1, t.ids.begin() + start + per, rec.begin() + o.seq_len);
    TY_RETURN_IF_ERROR(writer.add(rec.data()));
  }
  return writer.finish();
}

}  // namespace ty
