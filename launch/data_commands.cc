// `trainyard data import idx|csv|text|parallel` and `trainyard data inspect`; both take
// s3://bucket/prefix paths as well as files.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <glob.h>

#include "absl/strings/str_cat.h"
#include "launch/command_support.h"
#include "launch/commands.h"
#include "storage/s3/s3_client.h"
#include "storage/shard/parallel_import.h"
#include "storage/shard/shard_dataset.h"
#include "storage/shard/shard_import.h"
#include "storage/shard/shard_reader.h"
#include "worker/job/exit_codes.h"

namespace ty {
namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  trainyard data import idx --images FILE --labels FILE --out PREFIX [--shard-mb N]\n"
    "  trainyard data import csv --file FILE --out PREFIX [--target COLUMN] [--task classification|regression] "
    "[--shard-mb N]\n"
    "  trainyard data import text --file FILE --out PREFIX [--tokens bytes|words|sentencepiece] [--vocab-size N]\n"
    "                             [--spm MODEL] [--seq-len N] [--shard-mb N]\n"
    "                             [--val-fraction F] [--test-fraction F]   (then PREFIX-train-*, -val-*, -test-*)\n"
    "  trainyard data import parallel --source FILE --target FILE --out PREFIX\n"
    "                                 [--vocab-size N [--separate-vocab] | --spm MODEL |\n"
    "                                  --spm-source MODEL --spm-target MODEL] [--max-len L] [--val-fraction F]\n"
    "                                 [--test-fraction F | --test-source FILE --test-target FILE] [--shard-mb N]\n"
    "  trainyard data inspect PATH_OR_GLOB...\n"
    "PREFIX and PATH_OR_GLOB may be s3://bucket/key on an S3-compatible store (AWS_ENDPOINT_URL; credentials from\n"
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or ~/.aws/credentials)\n";

// "--key value" pairs, and "--switch" alone (stored as "1"); returns an error message for
// anything else.
std::string parse_flags(const std::vector<std::string>& a, size_t from, const std::vector<std::string>& allowed,
                        std::map<std::string, std::string>& out, const std::vector<std::string>& switches = {}) {
  for (size_t i = from; i < a.size(); ++i) {
    const std::string& k = a[i];
    bool ok = false, is_switch = false;
    for (const auto& name : allowed) ok = ok || k == "--" + name;
    for (const auto& name : switches) is_switch = is_switch || k == "--" + name;
    if (is_switch) {
      out.insert_or_assign(k.substr(2), std::string(1, '1'));
      continue;
    }
    if (!ok) return "unknown argument " + k;
    if (i + 1 >= a.size()) return k + " needs a value";
    out[k.substr(2)] = a[++i];
  }
  return "";
}

// A whole decimal number in [lo, hi] ("1e3" and "12abc" are not).
bool parse_count(const std::string& text, int64_t lo, int64_t hi, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  const int64_t v = std::stoll(text);
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

// A fraction in [0, 1) written as a plain decimal ("0.05"; not "5%", "1e-2" or "nan").
bool parse_fraction(const std::string& text, double& out) {
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789.") != std::string::npos) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !(v >= 0 && v < 1)) return false;
  out = v;
  return true;
}

// The first of PREFIX-*.tyshard that exists, or "".
std::string existing_shards(const std::string& prefix) {
  if (is_s3_url(prefix)) {
    auto found = expand_glob(prefix + "-[0-9]*.tyshard");
    return found.ok() ? found->front() : "";
  }
  glob_t g{};
  const std::string pattern = prefix + "-[0-9]*.tyshard";
  std::string first;
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc > 0) first = g.gl_pathv[0];
  globfree(&g);
  return first;
}

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "trainyard data: %s\n%s", msg.c_str(), kUsage);
  return 2;
}

int report(const absl::StatusOr<std::vector<std::string>>& written, int64_t shard_mb) {
  if (!written.ok()) {
    std::fprintf(stderr, "trainyard: error: %s\n", std::string(written.status().message()).c_str());
    return static_cast<int>(exit_code_for(written.status()));
  }
  int64_t records = 0;
  for (const auto& path : *written) {
    auto r = ShardReader::open(path);
    if (r.ok()) records += r->records();
  }
  if (records == 0) {
    for (const auto& path : *written) std::remove(path.c_str());
    std::fprintf(stderr, "trainyard: error: the input holds no records; nothing written\n");
    return static_cast<int>(ExitCode::kUserError);
  }
  std::printf("wrote %zu shard(s), %ld records (target %ld MiB per shard):\n", written->size(),
              static_cast<long>(records), static_cast<long>(shard_mb));
  for (const auto& path : *written) std::printf("  %s\n", path.c_str());
  return 0;
}

int import_parallel_command(std::map<std::string, std::string>& f, const ShardWriterOptions& o, int64_t shard_mb) {
  if (!f.count("source") || !f.count("target")) return usage_error("missing --source or --target");
  ParallelImportOptions p;
  if (f.count("vocab-size") && !parse_count(f["vocab-size"], 8, 1 << 20, p.vocab_size))
    return usage_error("--vocab-size " + f["vocab-size"] + ": expected a whole number from 8 to 1048576");
  if (f.count("spm")) p.spm = f["spm"];
  if (f.count("spm-source")) p.spm_source = f["spm-source"];
  if (f.count("spm-target")) p.spm_target = f["spm-target"];
  p.separate_vocab = f.count("separate-vocab") > 0;
  if (f.count("max-len") && !parse_count(f["max-len"], 2, 1 << 16, p.max_len))
    return usage_error("--max-len " + f["max-len"] + ": expected a whole number from 2 to 65536");
  for (const auto& [flag, into] :
       {std::pair<const char*, double*>{"val-fraction", &p.val_fraction}, {"test-fraction", &p.test_fraction}})
    if (f.count(flag) && !parse_fraction(f[flag], *into))
      return usage_error(std::string("--") + flag + " " + f[flag] + ": expected a fraction from 0 to below 1");
  if (f.count("test-source")) p.test_source = f["test-source"];
  if (f.count("test-target")) p.test_target = f["test-target"];
  std::fprintf(stderr, "importing %s -> %s%s\n", f["source"].c_str(), f["target"].c_str(),
               p.vocab_size == 0           ? ""
               : p.separate_vocab ? " (training a SentencePiece model per side first)"
                                  : " (training a joint SentencePiece model first)");
  auto result = import_parallel(f["source"], f["target"], p, f["out"], o);
  if (!result.ok()) return report(result.status(), shard_mb);
  const int rc = report(result->shards, shard_mb);
  if (rc == 0)
    std::printf("pairs: %ld written; left out: %ld longer than --max-len %ld, %ld with an empty side\n"
                "vocabulary: %s.vocab and %s.model%s\n",
                static_cast<long>(result->pairs), static_cast<long>(result->too_long), static_cast<long>(p.max_len),
                static_cast<long>(result->empty), f["out"].c_str(), f["out"].c_str(),
                p.separate_vocab || !p.spm_source.empty()
                    ? absl::StrCat(" (the target's); the source's: ", f["out"], ".source.vocab and ", f["out"],
                                   ".source.model")
                          .c_str()
                    : "");
  return rc;
}

int import_command(const std::vector<std::string>& a);

// --out s3://bucket/prefix: the import runs into a local staging directory, then every file it
// wrote (shards, vocabularies, models) is uploaded next to the prefix and the directory removed.
int import_to_object_store(const std::vector<std::string>& a, const std::string& out) {
  auto url = parse_s3_url(out);
  if (!url.ok()) return usage_error("--out " + out + ": " + std::string(url.status().message()));
  auto client = shared_s3_client();
  if (!client.ok()) return fail(client.status());
  const size_t slash = url->key.rfind('/');
  const std::string name = slash == std::string::npos ? url->key : url->key.substr(slash + 1);
  const std::string folder = slash == std::string::npos ? "" : url->key.substr(0, slash + 1);
  if (name.empty()) return usage_error("--out " + out + ": give a prefix for the shards' names after the last '/'");
  // The bucket must exist and take our credentials: found out before the import's work.
  if (auto listed = (*client)->list(*url); !listed.ok()) return fail(listed.status());
  std::string stage = (std::filesystem::temp_directory_path() / "trainyard-import-XXXXXX").string();
  if (::mkdtemp(stage.data()) == nullptr) return fail(absl::UnavailableError("cannot create a staging directory in " +
                                                                             std::filesystem::temp_directory_path().string()));
  std::printf("staging in %s (removed after the upload)\n", stage.c_str());
  std::vector<std::string> local = a;
  for (size_t i = 0; i + 1 < local.size(); ++i)
    if (local[i] == "--out") local[i + 1] = stage + "/" + name;
  int rc = import_command(local);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(stage)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (size_t i = 0; rc == 0 && i < files.size(); ++i) {
    std::ifstream in(files[i], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const S3Url to{url->bucket, folder + files[i].filename().string()};
    absl::Status st = (*client)->upload(to, bytes.data(), static_cast<int64_t>(bytes.size()));
    if (!st.ok()) {
      std::fflush(stdout);
      rc = fail(st);
    } else {
      std::printf("uploaded %s (%zu bytes)\n", to.str().c_str(), bytes.size());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(stage, ec);
  return rc;
}

int import_command(const std::vector<std::string>& a) {
  if (a.size() < 2) return usage_error("import needs a source kind: idx, csv, text or parallel");
  std::map<std::string, std::string> f;
  const bool idx = a[1] == "idx", csv = a[1] == "csv", text = a[1] == "text", parallel = a[1] == "parallel";
  if (!idx && !csv && !text && !parallel)
    return usage_error("unknown source kind '" + a[1] + "' (allowed: idx, csv, text, parallel)");
  const std::string err =
      parse_flags(a, 2,
                  idx        ? std::vector<std::string>{"images", "labels", "out", "shard-mb"}
                  : csv      ? std::vector<std::string>{"file", "out", "target", "task", "shard-mb"}
                  : parallel ? std::vector<std::string>{"source", "target", "out", "vocab-size", "spm", "spm-source",
                                                        "spm-target", "max-len", "val-fraction", "test-fraction",
                                                        "test-source", "test-target", "shard-mb"}
                             : std::vector<std::string>{"file", "out", "tokens", "seq-len", "shard-mb", "val-fraction",
                                                        "test-fraction", "vocab-size", "spm"},
                  f, parallel ? std::vector<std::string>{"separate-vocab"} : std::vector<std::string>{});
  if (!err.empty()) return usage_error(err);
  if (!f.count("out")) return usage_error("missing --out PREFIX");
  if (is_s3_url(f["out"])) {
    if (const std::string clash = existing_shards(f["out"]); !clash.empty())
      return usage_error("--out " + f["out"] + ": shards of that prefix exist already (" + clash +
                         "); remove them or choose another prefix, so that no glob mixes two imports");
    return import_to_object_store(a, f["out"]);
  }
  ShardWriterOptions o;
  int64_t shard_mb = 256;
  if (f.count("shard-mb") && !parse_count(f["shard-mb"], 1, 1 << 20, shard_mb))
    return usage_error("--shard-mb " + f["shard-mb"] + ": expected a whole number of MiB from 1 to 1048576");
  // (A text import with held-out shares writes PREFIX-train-*, -val-* and -test-*.)
  for (const char* split : {"", "-train", "-val", "-test"})
    if (const std::string clash = existing_shards(f["out"] + split); !clash.empty())
      return usage_error("--out " + f["out"] + ": shards of that prefix exist already (" + clash +
                         "); remove them or choose another prefix, so that no glob mixes two imports");
  o.shard_bytes = shard_mb << 20;
  if (idx) {
    if (!f.count("images") || !f.count("labels")) return usage_error("missing --images or --labels");
    return report(import_idx(f["images"], f["labels"], f["out"], o), shard_mb);
  }
  if (parallel) return import_parallel_command(f, o, shard_mb);
  if (!f.count("file")) return usage_error("missing --file");
  if (text) {
    TextImportOptions t;
    if (f.count("tokens")) t.tokens = f["tokens"];
    if (f.count("vocab-size") && !parse_count(f["vocab-size"], 8, 1 << 20, t.vocab_size))
      return usage_error("--vocab-size " + f["vocab-size"] + ": expected a whole number from 8 to 1048576");
    if (f.count("spm")) t.spm = f["spm"];
    if (t.tokens == "sentencepiece" && (t.vocab_size > 0) == !t.spm.empty())
      return usage_error("--tokens sentencepiece: give --vocab-size N (train a model on the file) or --spm MODEL");
    if (t.tokens != "sentencepiece" && (t.vocab_size > 0 || !t.spm.empty()))
      return usage_error(std::string(t.vocab_size > 0 ? "--vocab-size" : "--spm") + ": for --tokens sentencepiece");
    if (f.count("seq-len") && !parse_count(f["seq-len"], 1, 1 << 20, t.seq_len))
      return usage_error("--seq-len " + f["seq-len"] + ": expected a whole number from 1 to 1048576");
    for (const auto& [flag, into] :
         {std::pair<const char*, double*>{"val-fraction", &t.val_fraction}, {"test-fraction", &t.test_fraction}})
      if (f.count(flag) && !parse_fraction(f[flag], *into))
        return usage_error(std::string("--") + flag + " " + f[flag] + ": expected a fraction from 0 to below 1");
    const int rc = report(import_text(f["file"], t, f["out"], o), shard_mb);
    if (rc == 0)
      std::printf("vocabulary: %s.vocab%s\n", f["out"].c_str(),
                  t.tokens == "sentencepiece" ? (" and " + f["out"] + ".model").c_str() : "");
    return rc;
  }
  CsvOptions c;
  if (f.count("target")) c.target = f["target"];
  if (f.count("task")) {
    if (f["task"] != "classification" && f["task"] != "regression")
      return usage_error("--task must be classification or regression");
    c.classification = f["task"] == "classification";
  }
  return report(import_csv(f["file"], c, f["out"], o), shard_mb);
}

int inspect_command(const std::vector<std::string>& a) {
  if (a.size() < 2) return usage_error("inspect needs at least one path");
  int64_t total = 0;
  for (size_t i = 1; i < a.size(); ++i) {
    auto paths = expand_glob(a[i]);
    if (!paths.ok()) return fail(paths.status());
    for (const auto& path : *paths) {
      auto r = ShardReader::open(path);
      absl::Status st = r.ok() ? r->verify() : r.status();
      if (!st.ok()) return fail(st);
      std::printf("%s: %ld records, %ld bytes, {%s}, checksums ok\n", path.c_str(), static_cast<long>(r->records()),
                  static_cast<long>(r->file_bytes()), r->schema().describe().c_str());
      total += r->records();
    }
  }
  std::printf("total: %ld records\n", static_cast<long>(total));
  return 0;
}

}  // namespace

int data_command(const std::vector<std::string>& args) {
  if (args.empty()) return usage_error("missing subcommand");
  if (args[0] == "import") return import_command(args);
  if (args[0] == "inspect") return inspect_command(args);
  return usage_error("unknown subcommand '" + args[0] + "'");
}

}  // namespace ty
