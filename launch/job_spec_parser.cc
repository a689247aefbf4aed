#include "launch/job_spec_parser.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "launch/spec_reader.h"
#include "runtime/status.h"

namespace ty {
namespace {

constexpr int64_t kBig = int64_t{1} << 40;

absl::Status apply_override(YAML::Node& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": expected key.path=value"));
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("--set ", path, ": cannot parse value '", text, "': ", e.msg));
  }
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  YAML::Node cur = root;
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.empty()) return absl::InvalidArgumentError(absl::StrCat("--set ", path, ": empty key segment"));
    if (cur.IsDefined() && !cur.IsNull() && !cur.IsMap())
      return absl::InvalidArgumentError(absl::StrCat("--set ", path, ": '", walked, "' is not a map"));
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

const std::vector<std::string> kActivations = {"relu", "leaky_relu", "gelu", "tanh", "sigmoid"};
const std::vector<std::string> kLayerTypes = {"linear", "conv2d", "maxpool", "avgpool", "relu", "leaky_relu", "gelu",
                                              "tanh", "sigmoid", "dropout", "flatten", "batchnorm", "layernorm", "residual"};

absl::Status read_layers(const YAML::Node& list, const std::string& key, std::vector<LayerSpec>& out);

absl::Status read_layer(const YAML::Node& n, const std::string& key, LayerSpec& l) {
  SpecReader r(n, key);
  if (!r.has("type")) return absl::InvalidArgumentError(absl::StrCat(key, ".type: missing (allowed: linear, conv2d, ...)"));
  r.choice("type", l.type, kLayerTypes)
      .integer("out", l.out, 1, kBig)
      .integer("kernel", l.kernel, 1, 1024)
      .integer("stride", l.stride, 0, 1024)
      .integer("padding", l.padding, -1, 1024)
      .integer("size", l.size, 1, 1024)
      .real("p", l.p, 0, 1, false, true)
      .real("slope", l.slope, 0, 1);
  TY_RETURN_IF_ERROR(r.status());
  if ((l.type == "linear" || l.type == "conv2d") && !r.has("out"))
    return absl::InvalidArgumentError(absl::StrCat(key, ".out: required for ", l.type));
  YAML::Node body = r.node("layers");
  if (l.type == "residual") {
    if (body.IsNull()) return absl::InvalidArgumentError(absl::StrCat(key, ".layers: a residual needs its body layers"));
    TY_RETURN_IF_ERROR(read_layers(body, key + ".layers", l.layers));
  }
  return r.finish();
}

absl::Status read_layers(const YAML::Node& list, const std::string& key, std::vector<LayerSpec>& out) {
  if (!list.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(key, ": expected a list of layers"));
  out.clear();
  for (size_t i = 0; i < list.size(); ++i) {
    LayerSpec l;
    TY_RETURN_IF_ERROR(read_layer(list[i], absl::StrCat(key, "[", i, "]"), l));
    out.push_back(l);
  }
  return absl::OkStatus();
}

absl::Status read_model(SpecReader& root, ModelSpec& m) {
  SpecReader r(root.node("model"), "model");
  r.choice("kind", m.kind, {"mlp", "cnn", "layers"})
      .choice("activation", m.activation, kActivations)
      .real("dropout", m.dropout, 0, 1, false, true)
      .flag("sync_batch_norm", m.sync_batch_norm)
      .integers("hidden", m.hidden, 1, kBig);
  TY_RETURN_IF_ERROR(r.status());
  YAML::Node conv = r.node("conv");
  if (!conv.IsNull()) {
    if (!conv.IsSequence()) return absl::InvalidArgumentError("model.conv: expected a list of conv blocks");
    m.conv.clear();
    for (size_t i = 0; i < conv.size(); ++i) {
      ConvBlockSpec b;
      SpecReader c(conv[i], absl::StrCat("model.conv[", i, "]"));
      c.integer("channels", b.channels, 1, 1 << 20)
          .integer("kernel", b.kernel, 1, 1024)
          .integer("stride", b.stride, 1, 1024)
          .integer("padding", b.padding, -1, 1024)
          .choice("pool", b.pool, {"max", "avg", "none"})
          .integer("pool_size", b.pool_size, 1, 1024)
          .flag("batch_norm", b.batch_norm)
          .flag("residual", b.residual);
      TY_RETURN_IF_ERROR(c.finish());
      m.conv.push_back(b);
    }
  }
  YAML::Node layers = r.node("layers");
  if (!layers.IsNull()) TY_RETURN_IF_ERROR(read_layers(layers, "model.layers", m.layers));
  if (m.kind == "layers" && m.layers.empty())
    return absl::InvalidArgumentError("model.layers: required when model.kind is layers");
  if (m.kind != "layers" && !m.layers.empty())
    return absl::InvalidArgumentError(absl::StrCat("model.layers: only used with model.kind: layers (kind is ", m.kind, ")"));
  return r.finish();
}

absl::Status read_spec(const YAML::Node& doc, JobSpec& s) {
  SpecReader root(doc, "");
  root.str("name", s.name);
  TY_RETURN_IF_ERROR(root.status());
  TY_RETURN_IF_ERROR(read_model(root, s.model));

  SpecReader d(root.node("data"), "data");
  d.str("train", s.data.train)
      .str("train_labels", s.data.train_labels)
      .str("test", s.data.test)
      .str("test_labels", s.data.test_labels)
      .choice("format", s.data.format, {"auto", "idx", "csv", "shards"})
      .str("target", s.data.target)
      .choice("task", s.data.task, {"classification", "regression"})
      .integer("num_classes", s.data.num_classes, 0, 1 << 24)
      .integer("batch_size", s.data.batch_size, 1, 1 << 20)
      .integer("train_subset", s.data.train_subset, 0, kBig)
      .choice("normalize", s.data.normalize, {"none", "standardize"})
      .choice("remainder", s.data.remainder, {"partial", "drop", "pad"});
  TY_RETURN_IF_ERROR(d.finish());
  if (s.data.train.empty()) return absl::InvalidArgumentError("data.train: required (a path to IDX images or a CSV file)");

  SpecReader o(root.node("optimizer"), "optimizer");
  std::vector<float> betas{s.optimizer.beta1, s.optimizer.beta2};
  o.choice("name", s.optimizer.name, {"sgd", "adam", "adamw"})
      .real("lr", s.optimizer.lr, 0, 1e3, true)
      .real("momentum", s.optimizer.momentum, 0, 1, false, true)
      .flag("nesterov", s.optimizer.nesterov)
      .real("weight_decay", s.optimizer.weight_decay, 0, 1e3)
      .reals("betas", betas, 2, 0, 1)
      .real("eps", s.optimizer.eps, 0, 1, true);
  TY_RETURN_IF_ERROR(o.finish());
  s.optimizer.beta1 = betas[0];
  s.optimizer.beta2 = betas[1];
  if (s.optimizer.nesterov && s.optimizer.momentum == 0)
    return absl::InvalidArgumentError("optimizer.nesterov: needs optimizer.momentum > 0");

  SpecReader sc(root.node("schedule"), "schedule");
  sc.choice("kind", s.schedule.kind, {"constant", "step", "cosine"})
      .integer("step_size", s.schedule.step_size, 1, kBig)
      .real("gamma", s.schedule.gamma, 0, 1e3, true)
      .real("min_lr", s.schedule.min_lr, 0, 1e3)
      .integer("warmup_steps", s.schedule.warmup_steps, 0, kBig);
  TY_RETURN_IF_ERROR(sc.finish());

  SpecReader t(root.node("train"), "train");
  t.integer("epochs", s.train.epochs, 1, 1 << 24)
      .integer("max_steps", s.train.max_steps, 0, kBig)
      .u64("seed", s.train.seed)
      .choice("loss", s.train.loss, {"auto", "cross_entropy", "mse", "bce_with_logits"})
      .real("label_smoothing", s.train.label_smoothing, 0, 1, false, true)
      .real("clip_grad_norm", s.train.clip_grad_norm, 0, 1e9);
  TY_RETURN_IF_ERROR(t.finish());

  SpecReader ck(root.node("checkpoint"), "checkpoint");
  ck.integer("every_steps", s.checkpoint.every_steps, 0, kBig)
      .real("every_minutes", s.checkpoint.every_minutes, 0, 1e6)
      .integer("keep", s.checkpoint.keep, 1, 1000)
      .flag("at_end", s.checkpoint.at_end);
  TY_RETURN_IF_ERROR(ck.finish());

  SpecReader sto(root.node("storage"), "storage");
  sto.choice("on_corrupt", s.data.on_corrupt, {"error", "skip"})
      .choice("loader", s.storage.loader, {"auto", "stream", "memory"})
      .integer("prefetch_mb", s.storage.prefetch_mb, 1, 1 << 20)
      .integer("shuffle_window_mb", s.storage.shuffle_window_mb, 1, 1 << 20)
      .integer("reader_threads", s.storage.reader_threads, 1, 64)
      .flag("direct_io", s.storage.direct_io)
      .choice("io", s.storage.io, {"auto", "pread", "mmap"});
  TY_RETURN_IF_ERROR(sto.finish());

  SpecReader cm(root.node("comm"), "comm");
  cm.choice("backend", s.comm.backend, {"auto", "mpi", "none"})
      .integer("timeout_s", s.comm.timeout_s, 1, 1 << 24)
      .real("bucket_mb", s.comm.bucket_mb, 0, 1 << 16, true);
  TY_RETURN_IF_ERROR(cm.finish());

  SpecReader v(root.node("validation"), "validation");
  v.real("fraction", s.validation_fraction, 0, 1, false, true);
  TY_RETURN_IF_ERROR(v.finish());

  SpecReader rt(root.node("runtime"), "runtime");
  rt.integer("threads", s.runtime_threads, 0, 1024)
      .choice("device", s.runtime_device, {"cpu", "cuda"})
      .flag("allow_tf32", s.runtime_allow_tf32)
      .flag("cudnn_benchmark", s.runtime_cudnn_benchmark)
      .choice("precision", s.runtime_precision, {"fp32", "bf16", "fp16"});
  TY_RETURN_IF_ERROR(rt.finish());

  SpecReader lg(root.node("log"), "log");
  lg.integer("every_steps", s.log_every_steps, 1, kBig);
  TY_RETURN_IF_ERROR(lg.finish());
  return root.finish();
}

}  // namespace

absl::StatusOr<JobSpec> parse_job_spec(const std::string& text, const std::vector<std::string>& overrides,
                                       const std::string& source) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", e.mark.line + 1, ":", e.mark.column + 1,
                                                   ": YAML syntax error: ", e.msg));
  }
  if (!doc || doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  if (!doc.IsMap()) return absl::InvalidArgumentError(absl::StrCat(source, ": expected a YAML map at the top level"));
  for (const std::string& o : overrides) TY_RETURN_IF_ERROR(apply_override(doc, o));
  JobSpec spec;
  absl::Status st = read_spec(doc, spec);
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat(source, ": ", st.message()));
  YAML::Emitter out;
  out << doc;
  spec.spec_yaml = out.c_str();
  return spec;
}

absl::StatusOr<JobSpec> load_job_spec(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the job spec"));
  std::stringstream ss;
  ss << in.rdbuf();
  TY_ASSIGN_OR_RETURN(JobSpec spec, parse_job_spec(ss.str(), overrides, path));
  if (spec.name == "job") {
    std::string stem = path.substr(path.find_last_of('/') + 1);
    spec.name = stem.substr(0, stem.find('.'));
  }
  return spec;
}

}  // namespace ty
