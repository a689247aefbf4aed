// Text as Python's str sees it, for metrics that must agree with Python tools (sacreBLEU):
// code points decoded from UTF-8, and the whitespace that str.split() and str.rstrip() use.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ty {

// The offset of the first byte that is not valid UTF-8, or nullopt when `s` is valid.
std::optional<size_t> first_invalid_utf8(std::string_view s);

// Code points of `s`; an invalid byte decodes as U+FFFD.
std::u32string decode_utf8(std::string_view s);

// Python's str.isspace() for the characters str.split() separates on.
bool is_python_space(char32_t c);

// str.split() with no argument on UTF-8 text: runs of whitespace separate, none kept.
std::vector<std::string_view> split_python_words(std::string_view s);

// words[begin, end) joined by single spaces (Python's " ".join).
std::string join_words(const std::vector<std::string_view>& words, size_t begin, size_t end);

// str.rstrip() with no argument on UTF-8 text.
std::string_view rstrip_python(std::string_view s);

}  // namespace ty
