// The tokenization BLEU is reported with: mteval-v13a's, as sacreBLEU's default `13a`
// tokenizer computes it (WMT's standard), so that scores compare with published ones.
#pragma once

#include <string>
#include <string_view>

namespace ty {

// A line of UTF-8 text -> its tokens joined by single spaces.
//  1. drops "<skipped>" and "-\n", turns "\n" into a space, unescapes &quot; &amp; &lt; &gt;
//     (in that order, each over the whole line);
//  2. puts spaces around ASCII punctuation and symbols other than ' - . and ,;
//  3. splits "." and "," from a preceding non-digit, then from a following non-digit;
//  4. splits "-" after a digit;
//  5. collapses whitespace (Python's set of whitespace characters).
// Steps 2-4 replay Python's re.sub scans (left to right, matches do not overlap); on UTF-8
// bytes they give the same text as on code points, since they only test ASCII characters.
std::string tokenize_13a(std::string_view line);

}  // namespace ty
