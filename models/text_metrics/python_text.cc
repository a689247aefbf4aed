#include "models/text_metrics/python_text.h"

namespace ty {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at s[i]; returns its length in bytes (1 for an invalid byte, which
// then reads as U+FFFD).
size_t decode_one(std::string_view s, size_t i, char32_t* out) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *out = b0;
    return 1;
  }
  size_t len;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07;
  } else {
    *out = kReplacement;
    return 1;
  }
  if (i + len > s.size()) {
    *out = kReplacement;
    return 1;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      *out = kReplacement;
      return 1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    *out = kReplacement;
    return 1;
  }
  *out = cp;
  return len;
}

}  // namespace

std::optional<size_t> first_invalid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = decode_one(s, i, &cp);
    if (cp == kReplacement && n == 1 && static_cast<unsigned char>(s[i]) >= 0x80) return i;
    i += n;
  }
  return std::nullopt;
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    i += decode_one(s, i, &cp);
    out.push_back(cp);
  }
  return out;
}

bool is_python_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

std::vector<std::string_view> split_python_words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t start = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = decode_one(s, i, &cp);
    if (is_python_space(cp)) {
      if (in_word) words.push_back(s.substr(start, i - start));
      in_word = false;
    } else if (!in_word) {
      start = i;
      in_word = true;
    }
    i += n;
  }
  if (in_word) words.push_back(s.substr(start));
  return words;
}

std::string join_words(const std::vector<std::string_view>& words, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += ' ';
    out += words[i];
  }
  return out;
}

std::string_view rstrip_python(std::string_view s) {
  size_t end = 0;  // one past the last non-space code point
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = decode_one(s, i, &cp);
    i += n;
    if (!is_python_space(cp)) end = i;
  }
  return s.substr(0, end);
}

}  // namespace ty
