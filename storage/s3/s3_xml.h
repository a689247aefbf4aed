// The little XML that S3 answers with (ListObjectsV2 pages, multipart ids, error documents),
// read by tag: no general parser, since the store's documents are flat and known.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ty {

// The text of each <tag>...</tag> in `xml`, in order, with the five XML entities decoded.
std::vector<std::string> xml_texts(std::string_view xml, std::string_view tag);
// The first one, or "".
std::string xml_text(std::string_view xml, std::string_view tag);
// `s` with & < > " ' escaped, for documents we send.
std::string xml_escape(std::string_view s);

}  // namespace ty
