// `trainyard bleu HYP_FILE REF_FILE...`: corpus BLEU (and chrF) of a file of translations,
// one per line, against one or more reference files, as sacreBLEU's command line scores them.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "launch/commands.h"
#include "models/text_metrics/bleu.h"
#include "models/text_metrics/chrf.h"
#include "models/text_metrics/python_text.h"
#include "nlohmann/json.hpp"
#include "worker/job/exit_codes.h"

namespace ty {
namespace {

constexpr char kUsage[] =
    "usage: trainyard bleu HYP_FILE REF_FILE [REF_FILE ...] [--chrf] [--json] [--tokenize 13a|none]\n"
    "  Corpus BLEU as sacreBLEU computes it by default (13a tokens, 4-grams, exp smoothing,\n"
    "  closest reference length); each REF_FILE is one reference per line, aligned with HYP_FILE.\n"
    "  --chrf adds chrF2; --json prints one JSON object per metric instead of the text line.\n";

// The lines of a UTF-8 text file as Python's text mode reads them (sacreBLEU's command
// line): "\n", "\r\n" and a lone "\r" each end a line, a final line without one counted.
// References lose trailing whitespace, as sacreBLEU (2.2 and later) reads them, so a blank
// reference line is an absent reference.
absl::StatusOr<std::vector<std::string>> read_lines(const std::string& path, bool reference) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    const size_t next = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
    if (const auto bad = first_invalid_utf8(line))
      return absl::InvalidArgumentError(absl::StrCat(path, ":", lines.size() + 1, ": not UTF-8 text (byte ",
                                                     start + *bad, " of the file)"));
    lines.push_back(reference ? std::string(rstrip_python(line)) : std::move(line));
    start = next;
  }
  return lines;
}

int fail(const absl::Status& st) {
  std::fprintf(stderr, "trainyard bleu: error: %s\n", std::string(st.message()).c_str());
  return static_cast<int>(exit_code_for(st));
}

}  // namespace

int bleu_command(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  bool json = false, chrf = false;
  BleuOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--chrf") {
      chrf = true;
    } else if (args[i] == "--tokenize" && i + 1 < args.size() && (args[i + 1] == "13a" || args[i + 1] == "none")) {
      options.tokenize = args[++i] == "13a";
    } else if (args[i] == "-h" || args[i] == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (args[i].starts_with("-")) {
      std::fprintf(stderr, "trainyard bleu: error: unknown or incomplete option %s\n%s", args[i].c_str(), kUsage);
      return 2;
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.size() < 2) {
    std::fprintf(stderr, "trainyard bleu: error: needs a hypothesis file and at least one reference file\n%s",
                 kUsage);
    return 2;
  }
  auto hyps = read_lines(files[0], false);
  if (!hyps.ok()) return fail(hyps.status());
  std::vector<std::vector<std::string>> refs;
  for (size_t f = 1; f < files.size(); ++f) {
    auto lines = read_lines(files[f], true);
    if (!lines.ok()) return fail(lines.status());
    if (lines->size() != hyps->size())
      return fail(absl::InvalidArgumentError(absl::StrCat(files[0], " has ", hyps->size(), " lines but ", files[f],
                                                          " has ", lines->size(), "; they must align line by line")));
    refs.push_back(std::move(*lines));
  }
  auto bleu = corpus_bleu(*hyps, refs, options);
  if (!bleu.ok()) return fail(bleu.status());
  absl::StatusOr<ChrfScore> chrf_score = ChrfScore{};
  if (chrf) {
    chrf_score = corpus_chrf(*hyps, refs);
    if (!chrf_score.ok()) return fail(chrf_score.status());
  }
  if (!json) {
    std::printf("%s\n", bleu->format().c_str());
    if (chrf) std::printf("%s\n", chrf_score->format().c_str());
    return 0;
  }
  const std::string text = bleu->format();
  nlohmann::json j = {{"name", "BLEU"},
                      {"score", bleu->score},
                      {"signature", bleu->signature(options)},
                      {"verbose_score", text.substr(text.find(' ', 7) + 1)},
                      {"precisions", bleu->precisions},
                      {"counts", bleu->correct},
                      {"totals", bleu->total},
                      {"bp", bleu->bp},
                      {"ratio", bleu->ratio},
                      {"hyp_len", bleu->hyp_len},
                      {"ref_len", bleu->ref_len}};
  std::printf("%s\n", j.dump().c_str());
  if (chrf)
    std::printf("%s\n", nlohmann::json({{"name", chrf_score->name},
                                        {"score", chrf_score->score},
                                        {"signature", absl::StrCat("nrefs:", refs.size(),
                                                                   "|case:mixed|eff:yes|nc:6|nw:0|space:no")}})
                            .dump()
                            .c_str());
  return 0;
}

}  // namespace ty
