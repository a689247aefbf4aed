#include "models/text_metrics/tokenizer_13a.h"

#include "absl/strings/str_replace.h"
#include "models/text_metrics/python_text.h"

namespace ty {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_period_or_comma(char c) { return c == '.' || c == ','; }

// [\{-\~\[-\` -\&\(-\+\:-\@\/]
bool is_spaced_symbol(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 0x7B && u <= 0x7E) || (u >= 0x5B && u <= 0x60) || (u >= 0x20 && u <= 0x26) ||
         (u >= 0x28 && u <= 0x2B) || (u >= 0x3A && u <= 0x40) || u == 0x2F;
}

// One re.sub pass of a two-character pattern `(first)(second)` with replacement
// `lead \1 mid \2 tail`.
template <typename First, typename Second>
std::string replace_pairs(const std::string& s, First first, Second second, const char* lead,
                          const char* mid, const char* tail) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (size_t i = 0; i < s.size();) {
    if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
      out += lead;
      out += s[i];
      out += mid;
      out += s[i + 1];
      out += tail;
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return out;
}

}  // namespace

std::string tokenize_13a(std::string_view line) {
  std::string s(line);
  // Each replacement runs over the whole line before the next, as str.replace does.
  for (const auto& [from, to] : {std::pair{"<skipped>", ""}, {"-\n", ""}, {"\n", " "},
                                 {"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}})
    s = absl::StrReplaceAll(s, {{from, to}});

  std::string spaced = " ";
  spaced.reserve(s.size() * 2 + 2);
  for (const char c : s) {
    if (is_spaced_symbol(c)) {
      spaced += ' ';
      spaced += c;
      spaced += ' ';
    } else {
      spaced += c;
    }
  }
  spaced += ' ';

  const auto not_digit = [](char c) { return !is_digit(c); };
  s = replace_pairs(spaced, not_digit, is_period_or_comma, "", " ", " ");
  s = replace_pairs(s, is_period_or_comma, not_digit, " ", " ", "");
  s = replace_pairs(s, is_digit, [](char c) { return c == '-'; }, "", " ", " ");
  const std::vector<std::string_view> words = split_python_words(s);
  return join_words(words, 0, words.size());
}

}  // namespace ty
