#include "worker/job/parser.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "worker/job/keys.h"
#include "worker/job/layer_types.h"
#include "worker/job/reader.h"

namespace ty {
namespace {

constexpr size_t kMaxSpecBytes = 1 << 20;

#define TY_JOB_RETURN_IF_ERROR(expr)                      \
  do {                                                    \
    if (absl::Status _st = (expr); !_st.ok()) return _st; \
  } while (0)

absl::Status invalid(const std::string& msg) { return absl::InvalidArgumentError(msg); }

absl::Status apply_override(YAML::Node& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    return invalid(absl::StrCat("--set ", assignment, ": expected key.path=value"));
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // (An `env` value may be a secret: never echoed.)
    return invalid(absl::StrCat("--set ", path, ": cannot parse value ",
                                absl::StartsWith(path, "env.") ? "(not shown)" : "'" + text + "'", ": ", e.msg));
  }
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  YAML::Node cur = root;
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.empty()) return invalid(absl::StrCat("--set ", path, ": empty key segment"));
    if (cur.IsDefined() && !cur.IsNull() && !cur.IsMap())
      return invalid(absl::StrCat("--set ", path, ": '", walked, "' is not a map"));
    walked += (walked.empty() ? "" : ".") + p;
    if (i + 1 == parts.size()) {
      cur[p] = value;
    } else {
      if (!cur[p] || cur[p].IsNull()) cur[p] = YAML::Node(YAML::NodeType::Map);
      cur.reset(cur[p]);
    }
  }
  return absl::OkStatus();
}

// Reads the keys of `table` present under `map` into `out`; paths are relative to `map`,
// errors prefixed with `where`.
template <typename T>
absl::Status read_table(const YAML::Node& map, const std::vector<Key<T>>& table, const std::string& where, T& out) {
  for (const Key<T>& k : table) {
    YAML::Node n = node_at(map, k.path);
    if (!n || n.IsNull()) continue;
    TY_JOB_RETURN_IF_ERROR(read_value(n, absl::StrCat(where, k.path), k.field(out), k.range));
  }
  return absl::OkStatus();
}

template <typename T>
std::vector<std::string> key_names(const std::vector<Key<T>>& table) {
  std::vector<std::string> out;
  for (const Key<T>& k : table) out.emplace_back(k.path);
  return out;
}

absl::Status read_layers(const YAML::Node& list, const std::string& where, std::vector<LayerSpec>& out);

absl::Status read_layer(const YAML::Node& n, const std::string& where, LayerSpec& l) {
  std::vector<std::string> names = key_names(layer_keys());
  names.emplace_back(kResidualBodyKey);
  TY_JOB_RETURN_IF_ERROR(check_element_keys(n, where, names));
  if (!n["type"] || n["type"].IsNull())
    return invalid(absl::StrCat(where, ".type: missing (allowed: ", layer_type_names(), ")"));
  TY_JOB_RETURN_IF_ERROR(read_table(n, layer_keys(), where + ".", l));
  const LayerTypeInfo* type = find_layer_type(l.type);
  if (!type)
    return invalid(
        absl::StrCat(where, ".type: \"", l.type, "\" is not a layer type (allowed: ", layer_type_names(), ")"));
  for (const Key<LayerSpec>& k : layer_keys()) {
    const std::string_view key = k.path;
    if (key != "type" && n[std::string(key)] &&
        std::find(type->keys.begin(), type->keys.end(), key) == type->keys.end())
      return invalid(absl::StrCat(where, ".", std::string(key), ": not used by a ", l.type, " layer (only by ",
                                  layer_types_taking(key), ")"));
  }
  for (std::string_view key : type->required)
    if (!n[std::string(key)]) return invalid(absl::StrCat(where, ".", std::string(key), ": required for ", l.type));
  const YAML::Node body = n[std::string(kResidualBodyKey)];
  if (!type->body) {
    if (body) return invalid(absl::StrCat(where, ".layers: only a residual layer has a body"));
    return absl::OkStatus();
  }
  if (!body || body.IsNull()) return invalid(absl::StrCat(where, ".layers: a residual needs its body layers"));
  return read_layers(body, where + ".layers", l.layers);
}

absl::Status read_layers(const YAML::Node& list, const std::string& where, std::vector<LayerSpec>& out) {
  if (!list.IsSequence()) return invalid(absl::StrCat(where, ": expected a list of layers, got ", describe(list)));
  out.clear();
  for (size_t i = 0; i < list.size(); ++i) {
    LayerSpec l;
    TY_JOB_RETURN_IF_ERROR(read_layer(list[i], absl::StrCat(where, "[", i, "]"), l));
    out.push_back(std::move(l));
  }
  return absl::OkStatus();
}

absl::Status read_model_lists(const YAML::Node& doc, ModelSpec& m) {
  const YAML::Node conv = node_at(doc, kConvBlocksKey);
  if (conv && !conv.IsNull()) {
    if (m.kind != ModelKind::kCnn)
      return invalid(absl::StrCat("model.conv: only used with model.kind: cnn (kind is ", name_of(m.kind), ")"));
    if (!conv.IsSequence())
      return invalid(absl::StrCat("model.conv: expected a list of conv blocks, got ", describe(conv)));
    m.conv.clear();
    for (size_t i = 0; i < conv.size(); ++i) {
      const std::string where = absl::StrCat("model.conv[", i, "]");
      TY_JOB_RETURN_IF_ERROR(check_element_keys(conv[i], where, key_names(conv_block_keys())));
      ConvBlockSpec b;
      TY_JOB_RETURN_IF_ERROR(read_table(conv[i], conv_block_keys(), where + ".", b));
      m.conv.push_back(b);
    }
  }
  const YAML::Node layers = node_at(doc, kLayersKey);
  if (layers && !layers.IsNull()) {
    if (m.kind != ModelKind::kLayers)
      return invalid(absl::StrCat("model.layers: only used with model.kind: layers (kind is ", name_of(m.kind), ")"));
    TY_JOB_RETURN_IF_ERROR(read_layers(layers, "model.layers", m.layers));
  }
  if (m.kind == ModelKind::kLayers && m.layers.empty())
    return invalid("model.layers: required when model.kind is layers");
  for (const auto& [key, out] : {std::pair{kGeneratorKey, &m.generator}, std::pair{kDiscriminatorKey, &m.discriminator}}) {
    const YAML::Node net = node_at(doc, key);
    if (!net || net.IsNull()) continue;
    if (m.kind != ModelKind::kGan)
      return invalid(absl::StrCat(key, ": only used with model.kind: gan (kind is ", name_of(m.kind), ")"));
    if (net.IsScalar() && net.Scalar() == "dcgan") continue;  // the built-in network (an empty list)
    if (!net.IsSequence())
      return invalid(absl::StrCat(key, ": expected `dcgan` or a list of layers, got ", describe(net)));
    TY_JOB_RETURN_IF_ERROR(read_layers(net, key, *out));
    if (out->empty()) return invalid(absl::StrCat(key, ": an empty list; write `dcgan` for the built-in network"));
  }
  return absl::OkStatus();
}

// A GAN's keys and the plain optimizer's: each set only where it is used.
absl::Status check_gan_keys(const YAML::Node& doc, const JobSpec& s) {
  const bool gan = s.model.kind == ModelKind::kGan;
  auto given = [&](const std::string& key) {
    const YAML::Node n = node_at(doc, key);
    return n && !n.IsNull();
  };
  if (gan) {
    for (const char* key : {"optimizer.name", "optimizer.lr", "optimizer.momentum", "optimizer.nesterov",
                            "optimizer.weight_decay", "optimizer.decay_all", "optimizer.betas", "optimizer.eps"})
      if (given(key))
        return invalid(absl::StrCat(key, ": a GAN's optimizers are optimizer.generator.* and optimizer.discriminator.*"));
    if (s.validation_fraction > 0)
      return invalid("validation.fraction: a GAN has no validation loss (it is scored by FID on data.test)");
    return absl::OkStatus();
  }
  for (const char* key : {"model.latent", "model.channels", "model.conditional", "optimizer.generator",
                          "optimizer.discriminator", "gan"})
    if (given(key))
      return invalid(absl::StrCat(key, ": for model.kind gan (kind is ", name_of(s.model.kind), ")"));
  return absl::OkStatus();
}

// Checks that involve more than one key.
absl::Status check_spec(const JobSpec& s, SpecUse use, bool name_given) {
  if (name_given && !valid_run_name(s.name))
    return invalid(absl::StrCat("name: '", s.name,
                                "' is not allowed (a letter or digit, then up to 127 letters, "
                                "digits, '.', '_' or '-')"));
  if (use == SpecUse::kTrain && s.data.train.empty())
    return invalid("data.train: required (IDX images, a CSV file, shards, or a .txt file)");
  if (use == SpecUse::kEval && s.data.test.empty()) return invalid("data.test: required for eval");
  for (const auto& [key, path] : {std::pair{"data.train", s.data.train}, std::pair{"data.val", s.data.val},
                                  std::pair{"data.test", s.data.test}}) {
    if (path.empty()) continue;
    auto format = resolve_data_format(s.data, key, path);
    if (!format.ok()) return format.status();
    if (*format == DataFormat::kIdx && s.data.task == TaskKind::kRegression)
      return invalid(absl::StrCat("data.task: regression needs CSV data, but ", key, " is IDX (class labels)"));
  }
  if (s.data.val_fraction + s.data.test_fraction >= 1)
    return invalid(absl::StrCat("data.val_fraction ", s.data.val_fraction, " + data.test_fraction ",
                                s.data.test_fraction, " leave no training text"));
  if (!s.data.train.empty()) {
    auto format = resolve_data_format(s.data, "data.train", s.data.train);
    const bool text = format.ok() && *format == DataFormat::kText;
    if (!text && (s.data.val_fraction > 0 || s.data.test_fraction > 0))
      return invalid(absl::StrCat(s.data.val_fraction > 0 ? "data.val_fraction" : "data.test_fraction",
                                  ": for text data.train (a .txt file); shards and other data name data.val and "
                                  "data.test, or take validation.fraction"));
    for (const auto& [key, path] : {std::pair{"data.val", s.data.val}, std::pair{"data.test", s.data.test}})
      if (text && !path.empty())
        return invalid(absl::StrCat(key, ": with text data.train the held-out blocks come from the same file (",
                                    std::string(key) == "data.val" ? "data.val_fraction" : "data.test_fraction",
                                    "); leave ", key, " out"));
  }
  if (s.optimizer.nesterov && s.optimizer.momentum == 0)
    return invalid("optimizer.nesterov: needs optimizer.momentum > 0");
  if (s.train.loss == LossKind::kCrossEntropy && s.data.task == TaskKind::kRegression)
    return invalid("train.loss: cross_entropy needs class labels; data.task is regression");
  if (s.runtime.device == RunDevice::kCpu && s.runtime.precision != Precision::kFp32)
    return invalid(absl::StrCat("runtime.precision: ", name_of(s.runtime.precision),
                                " runs on CUDA devices only; set runtime.device: cuda or runtime.precision: fp32"));
  if (s.model.tie_embeddings && s.model.kind != ModelKind::kRnn && s.model.kind != ModelKind::kTransformer &&
      s.model.kind != ModelKind::kSeq2seq)
    return invalid(absl::StrCat("model.tie_embeddings: for model.kind rnn, transformer or seq2seq (kind is ",
                                name_of(s.model.kind), ")"));
  if (s.model.embeddings != Seq2seqEmbeddings::kAuto && s.model.kind != ModelKind::kSeq2seq)
    return invalid(absl::StrCat("model.embeddings: for model.kind seq2seq (kind is ", name_of(s.model.kind), ")"));
  if (s.model.kind == ModelKind::kGan) {
    if (s.parallel.pipeline.stages > 1)
      return invalid("model.kind: gan not with parallel.pipeline.stages > 1; train it data-parallel");
    if (s.train.accumulate_steps > 1)
      return invalid("train.accumulate_steps: a GAN's step is train.d_steps discriminator updates and one generator "
                     "update, each on one batch; leave accumulate_steps at 1");
    if (s.runtime.precision == Precision::kFp16)
      return invalid("runtime.precision: fp16 (with its loss scaling) is not for GANs; use bf16 or fp32");
    if (s.data.normalize != Normalization::kSymmetric)
      return invalid(absl::StrCat("data.normalize: a GAN's generator gives tanh's [-1, 1]; set data.normalize: "
                                  "symmetric (it is ",
                                  name_of(s.data.normalize), ")"));
  } else if (s.train.d_steps != 1) {
    return invalid(absl::StrCat("train.d_steps: for model.kind gan (kind is ", name_of(s.model.kind), ")"));
  }
  if (const PipelineSpec& p = s.parallel.pipeline; p.stages > 1) {
    if (s.model.kind == ModelKind::kSeq2seq)
      return invalid("model.kind: seq2seq not with parallel.pipeline.stages > 1 (every decoder block needs the "
                     "encoder's output); train it data-parallel");
    if (s.model.tie_embeddings)
      return invalid(
          "model.tie_embeddings: not with parallel.pipeline.stages > 1 (the first and last stages would "
          "share the table)");
    const int64_t m = p.microbatches_or_default();
    if (p.schedule == PipelineScheduleKind::kOneFOneB && m < p.stages)
      return invalid(
          absl::StrCat("parallel.pipeline.microbatches: 1f1b needs at least as many micro-batches as "
                       "stages (",
                       p.stages, "), got ", m, "; raise it or set parallel.pipeline.schedule: gpipe"));
    if (p.partition.kind == PartitionKind::kCuts && static_cast<int64_t>(p.partition.cuts.size()) != p.stages - 1)
      return invalid(absl::StrCat("parallel.pipeline.partition: ", p.partition.cuts.size(),
                                  " cut points for parallel.pipeline.stages ", p.stages, "; give ", p.stages - 1));
    for (size_t i = 0; i < p.partition.cuts.size(); ++i)
      if (p.partition.cuts[i] < 1 || (i > 0 && p.partition.cuts[i] <= p.partition.cuts[i - 1]))
        return invalid(absl::StrCat("parallel.pipeline.partition[", i,
                                    "]: cut points must ascend from 1 (each stage "
                                    "holds at least one layer), got [",
                                    absl::StrJoin(p.partition.cuts, ", "), "]"));
    if (s.model.sync_batch_norm)
      return invalid(
          "model.sync_batch_norm: not with parallel.pipeline.stages > 1 (micro-batches would not share "
          "statistics)");
    if (s.runtime.precision == Precision::kFp16)
      return invalid(
          "runtime.precision: fp16 not yet with parallel.pipeline.stages > 1 (the stages would skip "
          "overflowing steps apart); use bf16");
  } else if (p.partition.kind == PartitionKind::kCuts && !p.partition.cuts.empty()) {
    return invalid("parallel.pipeline.partition: cut points need parallel.pipeline.stages > 1");
  }
  if (const int64_t m = s.parallel.pipeline.microbatches_or_default(); s.data.batch_size % m != 0)
    return invalid(absl::StrCat("data.batch_size: ", s.data.batch_size, " does not divide into ", m,
                                " micro-batches (parallel.pipeline.microbatches)"));
  if (s.runtime.device == RunDevice::kCuda && s.model.sync_batch_norm)
    return invalid("model.sync_batch_norm: runs on the CPU only; with runtime.device: cuda set it false");
  return absl::OkStatus();
}

// `env`: a map of NAME: scalar. Its values are replaced by "<not shown>" in `doc`, which
// becomes the spec saved in the run directory.
absl::Status read_env(YAML::Node& doc, JobSpec& s) {
  YAML::Node env = doc[kEnvKey];
  if (!env || env.IsNull()) return absl::OkStatus();
  // (Its values may be secrets: errors never show them.)
  if (!env.IsMap())
    return invalid(absl::StrCat("env: expected a map of NAME: value, got a ", env.IsSequence() ? "list" : "scalar"));
  if (env.size() > 256) return invalid("env: at most 256 variables");
  for (auto it = env.begin(); it != env.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
    bool ok = !name.empty() && name.size() <= 128 && !absl::ascii_isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok) return invalid(absl::StrCat("env: '", name, "' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"));
    for (const char* launcher : {"TRAINYARD_", "OMPI_", "PMIX_", "SLURM_"})
      if (absl::StartsWith(name, launcher))
        return invalid(absl::StrCat("env.", name, ": ", launcher, "* variables are the launcher's, not the job's"));
    if (!it->second.IsScalar())
      return invalid(
          absl::StrCat("env.", name, ": expected a text value, got a ", it->second.IsMap() ? "map" : "list"));
    const std::string value = it->second.Scalar();
    if (value.size() > 65536 || value.find('\0') != std::string::npos)
      return invalid(absl::StrCat("env.", name, ": at most 64 KiB of text"));
    s.env[name] = value;
    it->second = "<not shown>";
  }
  return absl::OkStatus();
}

absl::StatusOr<YAML::Node> load_document(const std::string& text, const std::string& source) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    return invalid(absl::StrCat(source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg));
  }
  if (docs.size() > 1)
    return invalid(absl::StrCat(source, ": holds ", docs.size(),
                                " YAML documents; a job spec is one (remove the '---' lines after the first)"));
  YAML::Node doc = docs.empty() || docs[0].IsNull() ? YAML::Node(YAML::NodeType::Map) : docs[0];
  if (!doc.IsMap())
    return invalid(absl::StrCat(source, ": expected a map of keys at the top level, got ", describe(doc)));
  return doc;
}

// A run name from a spec file's name: "fashion_mnist_cnn.yaml" -> "fashion_mnist_cnn".
std::string name_from_path(const std::string& path) {
  std::string stem = path.substr(path.find_last_of('/') + 1);
  stem = stem.substr(0, stem.find('.'));
  for (char& c : stem)
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  if (stem.empty() || !absl::ascii_isalnum(static_cast<unsigned char>(stem[0]))) stem = "job" + stem;
  return stem.substr(0, 128);
}

}  // namespace

bool valid_run_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || !absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

absl::StatusOr<DataFormat> resolve_data_format(const DataSpec& data, const std::string& key, const std::string& path) {
  if (data.format != DataFormat::kAuto) return data.format;
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".csv.gz") || absl::EndsWith(lower, ".csv.bz2") || absl::EndsWith(lower, ".csv.xz"))
    return invalid(
        absl::StrCat(key, ": ", path, " is a compressed CSV file; decompress it first (CSV is read uncompressed)"));
  if (absl::EndsWith(lower, ".csv")) return DataFormat::kCsv;
  if (absl::EndsWith(lower, ".txt")) return DataFormat::kText;
  if (absl::StrContains(path, "*") || absl::StrContains(lower, ".tyshard")) return DataFormat::kShards;
  return DataFormat::kIdx;
}

absl::StatusOr<JobSpec> parse_job_spec(const std::string& text, const std::vector<std::string>& overrides,
                                       const std::string& source, SpecUse use) {
  auto fail = [&](const absl::Status& st) { return absl::Status(st.code(), absl::StrCat(source, ": ", st.message())); };
  absl::StatusOr<YAML::Node> loaded = load_document(text, source);
  if (!loaded.ok()) return loaded.status();
  YAML::Node doc = *loaded;
  std::vector<std::string> leaves = key_names(job_keys());
  leaves.emplace_back(kConvBlocksKey);
  leaves.emplace_back(kLayersKey);
  leaves.emplace_back(kGeneratorKey);
  leaves.emplace_back(kDiscriminatorKey);
  leaves.emplace_back(kEnvKey);
  if (absl::Status st = check_keys(doc, leaves); !st.ok()) return fail(st);
  for (const std::string& o : overrides)
    if (absl::Status st = apply_override(doc, o); !st.ok()) return st;
  if (!overrides.empty())
    if (absl::Status st = check_keys(doc, leaves); !st.ok()) return fail(st);
  JobSpec spec;
  if (absl::Status st = read_table(doc, job_keys(), "", spec); !st.ok()) return fail(st);
  if (absl::Status st = read_model_lists(doc, spec.model); !st.ok()) return fail(st);
  if (absl::Status st = read_env(doc, spec); !st.ok()) return fail(st);
  if (absl::Status st = check_gan_keys(doc, spec); !st.ok()) return fail(st);
  const YAML::Node name = node_at(doc, "name");
  if (absl::Status st = check_spec(spec, use, name && !name.IsNull()); !st.ok()) return fail(st);
  YAML::Emitter out;
  out << doc;
  spec.spec_yaml = out.c_str();
  return spec;
}

absl::StatusOr<std::string> resolved_spec_text(const std::string& text, const std::vector<std::string>& overrides,
                                               const std::string& source) {
  absl::StatusOr<YAML::Node> loaded = load_document(text, source);
  if (!loaded.ok()) return loaded.status();
  YAML::Node doc = *loaded;
  for (const std::string& o : overrides)
    if (absl::Status st = apply_override(doc, o); !st.ok()) return st;
  YAML::Emitter out;
  out << doc;
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<JobSpec> load_job_spec(const std::string& path, const std::vector<std::string>& overrides, SpecUse use) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open the job spec: ", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return invalid(absl::StrCat(path, ": is a directory, not a job spec (a YAML file)"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the job spec: ", std::strerror(errno)));
  std::string text(kMaxSpecBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the job spec: ", std::strerror(errno)));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxSpecBytes)
    return invalid(absl::StrCat(path, ": larger than ", kMaxSpecBytes, " bytes; a job spec is a small YAML file"));
  if (text.find('\0') != std::string::npos)
    return invalid(absl::StrCat(path, ": holds NUL bytes; a job spec is a YAML text file"));
  absl::StatusOr<JobSpec> spec = parse_job_spec(text, overrides, path, use);
  if (!spec.ok()) return spec.status();
  if (spec->name.empty()) spec->name = name_from_path(path);
  return spec;
}

}  // namespace ty
