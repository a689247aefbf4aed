#include "models/text_metrics/tokenizer_13a.h"

#include <gtest/gtest.h>

#include "models/text_metrics/python_text.h"

namespace ty {
namespace {

TEST(Tokenizer13a, SplitsPunctuationAsMteval) {
  EXPECT_EQ(tokenize_13a("The dog bit the man."), "The dog bit the man .");
  EXPECT_EQ(tokenize_13a("It wasn't surprising."), "It wasn't surprising .");
  EXPECT_EQ(tokenize_13a("(hi) \"quoted\" a/b x;y"), "( hi ) \" quoted \" a / b x ; y");
  EXPECT_EQ(tokenize_13a("3.5, 1,000 and x.y"), "3.5 , 1,000 and x . y");
  EXPECT_EQ(tokenize_13a("1-2 a-b 3 -4"), "1 - 2 a-b 3 -4");
  EXPECT_EQ(tokenize_13a(""), "");
}

TEST(Tokenizer13a, UnescapesInOrderAndDropsSkipped) {
  EXPECT_EQ(tokenize_13a("a &amp;lt; b &quot;c&quot;"), "a < b \" c \"");
  EXPECT_EQ(tokenize_13a("x<skipped>y wo-\nrd\nz"), "xy word z");
}

TEST(Tokenizer13a, NonAsciiTextAndWhitespace) {
  // U+00A0 and U+3000 separate words as in Python's str.split().
  EXPECT_EQ(tokenize_13a("caf\xC3\xA9.\xC2\xA0na\xC3\xAFve,\xE3\x80\x80" "fin"), "caf\xC3\xA9 . na\xC3\xAFve , fin");
}

TEST(PythonText, SplitStripAndValidate) {
  EXPECT_EQ(split_python_words("  a\tb\xE2\x80\x83" "c\n").size(), 3u);  // U+2003 em space
  EXPECT_EQ(rstrip_python("ab \xC2\x85"), "ab");                        // U+0085
  EXPECT_EQ(first_invalid_utf8("ok \xC3\xA9"), std::nullopt);
  EXPECT_EQ(first_invalid_utf8("ok \xC3("), 3u);
  EXPECT_EQ(first_invalid_utf8("\xED\xA0\x80"), 0u);  // a surrogate
  EXPECT_EQ(decode_utf8("a\xC3\xA9\xF0\x9F\x98\x80").size(), 3u);
}

}  // namespace
}  // namespace ty
