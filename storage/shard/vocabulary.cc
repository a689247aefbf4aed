#include "storage/shard/vocabulary.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {

// How byte_tokens() in text_import.cc writes byte b.
std::string byte_token(int b) {
  return std::isprint(b) && b != ' ' ? std::string(1, static_cast<char>(b))
                                     : absl::StrCat("<0x", absl::Hex(b, absl::kZeroPad2), ">");
}

}  // namespace

absl::StatusOr<Vocabulary> Vocabulary::load(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat(path, ": no vocabulary (data import text writes it beside the shards it makes)"));
  std::vector<std::string> tokens;
  for (std::string line; std::getline(in, line);) tokens.push_back(line);
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty vocabulary"));
  Vocabulary v = of(std::move(tokens));
  const std::string model =
      path.size() > 6 && path.ends_with(".vocab") ? path.substr(0, path.size() - 6) + ".model" : "";
  if (!model.empty() && std::filesystem::exists(model)) {
    std::string error;
    std::shared_ptr<const SentencePieceModel> spm = SentencePieceModel::load(model, &error);
    if (!spm) return absl::InvalidArgumentError(absl::StrCat(model, ": not a SentencePiece model (", error, ")"));
    if (spm->size() != v.size())
      return absl::InvalidArgumentError(
          absl::StrCat(model, ": ", spm->size(), " pieces, but ", path, " lists ", v.size(), " tokens"));
    v.spm_ = std::move(spm);
  }
  return v;
}

Vocabulary Vocabulary::of(std::vector<std::string> tokens) {
  Vocabulary v;
  v.tokens_ = std::move(tokens);
  v.bytes_ = v.tokens_.size() == 256;
  for (int b = 0; b < 256 && v.bytes_; ++b) v.bytes_ = v.tokens_[b] == byte_token(b);
  return v;
}

absl::StatusOr<std::vector<int32_t>> Vocabulary::encode(const std::string& text) const {
  if (spm_) return spm_->encode(text);
  std::vector<int32_t> ids;
  if (bytes_) {
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::unordered_map<std::string, int32_t> index;
  for (size_t i = 0; i < tokens_.size(); ++i) index.emplace(tokens_[i], static_cast<int32_t>(i));
  std::istringstream words(text);
  for (std::string w; words >> w;) {
    auto it = index.find(w);
    if (it == index.end()) return absl::InvalidArgumentError(absl::StrCat("'", w, "' is not in the vocabulary"));
    ids.push_back(it->second);
  }
  return ids;
}

std::string Vocabulary::decode(const std::vector<int32_t>& ids) const {
  if (spm_) return spm_->decode(ids);
  std::string out;
  for (int32_t id : ids) {
    if (bytes_) {
      out.push_back(static_cast<char>(id));
      continue;
    }
    if (!out.empty()) out.push_back(' ');
    out += id >= 0 && id < size() ? tokens_[id] : "<?>";
  }
  return out;
}

}  // namespace ty
