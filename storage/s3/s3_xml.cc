#include "storage/s3/s3_xml.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace ty {

std::vector<std::string> xml_texts(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  const std::string t(tag), open = "<" + t + ">", close = "</" + t + ">";
  size_t at = 0;
  for (;;) {
    const size_t b = xml.find(open, at);
    if (b == std::string_view::npos) break;
    const size_t e = xml.find(close, b + open.size());
    if (e == std::string_view::npos) break;
    out.push_back(absl::StrReplaceAll(std::string(xml.substr(b + open.size(), e - b - open.size())),
                                      {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}));
    at = e + close.size();
  }
  return out;
}

std::string xml_text(std::string_view xml, std::string_view tag) {
  auto all = xml_texts(xml, tag);
  return all.empty() ? "" : all.front();
}

std::string xml_escape(std::string_view s) {
  return absl::StrReplaceAll(std::string(s), {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&apos;"}});
}

}  // namespace ty
