// Job specs: the examples parse; every kind of bad spec fails naming the key.
#include "worker/job/parser.h"

#include <fstream>
#include <map>

#include "gtest/gtest.h"

namespace ty {
namespace {

const char kBase[] = "data: {train: /tmp/x-images-idx3-ubyte}\n";

std::string error_of(const std::string& yaml, std::vector<std::string> sets = {}) {
  auto s = parse_job_spec(yaml, sets, "job.yaml");
  return s.ok() ? "OK" : std::string(s.status().message());
}

void expect_error(const std::string& yaml, std::vector<std::string> sets, const std::string& want) {
  const std::string got = error_of(yaml, sets);
  EXPECT_NE(got.find(want), std::string::npos) << "got: " << got << "\nwant: " << want;
}

std::string example(const std::string& name) {
  return std::string(TRAINYARD_SOURCE_DIR) + "/examples/" + name + ".yaml";
}

TEST(JobSpec, ExamplesParseWithTheirValues) {
  for (const char* name : {"fashion_mnist_mlp", "fashion_mnist_cnn"}) {
    auto s = load_job_spec(example(name), {});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->name, name);
    EXPECT_EQ(s->data.batch_size, 128);
    EXPECT_EQ(s->optimizer.name, OptimizerKind::kAdam);
    EXPECT_FLOAT_EQ(s->optimizer.lr, 1e-3f);
    EXPECT_EQ(s->train.epochs, 10);
  }
  auto cnn = load_job_spec(example("fashion_mnist_cnn"), {});
  ASSERT_EQ(cnn->model.conv.size(), 2u);
  EXPECT_EQ(cnn->model.kind, ModelKind::kCnn);
  EXPECT_EQ(cnn->model.conv[1].channels, 64);
  EXPECT_FLOAT_EQ(cnn->model.dropout, 0.25f);
}

TEST(JobSpec, DefaultsAndOverrides) {
  auto s = parse_job_spec(
      kBase, {"model.hidden=[64, 32]", "optimizer.betas=[0.8, 0.99]", "train.seed=9", "schedule.kind=cosine",
              "runtime.threads=1", "model.layers=null", "storage.io=pread", "train.seed=18446744073709551615"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->model.hidden, (std::vector<int64_t>{64, 32}));
  EXPECT_FLOAT_EQ(s->optimizer.betas[0], 0.8f);
  EXPECT_EQ(s->train.seed, 18446744073709551615u);
  EXPECT_EQ(s->schedule.kind, ScheduleKind::kCosine);
  EXPECT_EQ(s->storage.io, IoMode::kPread);
  EXPECT_EQ(s->data.batch_size, 64);
  EXPECT_EQ(s->name, "");  // from the file name in load_job_spec
  EXPECT_NE(s->spec_yaml.find("hidden"), std::string::npos);
}

TEST(JobSpec, EnvIsReadAndNeverWrittenBack) {
  auto s = parse_job_spec(std::string(kBase) + "env: {AWS_SECRET_ACCESS_KEY: hunter2, UCX_TLS: tcp, N: 3}\n",
                          {"env.AWS_REGION=eu-west-1"}, "job.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->env, (std::map<std::string, std::string>{
                        {"AWS_SECRET_ACCESS_KEY", "hunter2"}, {"UCX_TLS", "tcp"}, {"N", "3"}, {"AWS_REGION", "eu-west-1"}}));
  EXPECT_EQ(s->spec_yaml.find("hunter2"), std::string::npos) << s->spec_yaml;  // the run directory's copy
  EXPECT_NE(s->spec_yaml.find("AWS_SECRET_ACCESS_KEY: <not shown>"), std::string::npos) << s->spec_yaml;
  expect_error(std::string(kBase) + "env: [A]\n", {}, "env: expected a map");
  expect_error(std::string(kBase) + "env: {9LIVES: x}\n", {}, "env: '9LIVES' is not a variable name");
  expect_error(std::string(kBase) + "env: {A-B: x}\n", {}, "env: 'A-B' is not a variable name");
  expect_error(std::string(kBase) + "env: {TRAINYARD_RANK: '3'}\n", {}, "env.TRAINYARD_RANK: TRAINYARD_*");
  expect_error(std::string(kBase) + "env: {A: [1, 2]}\n", {}, "env.A: expected a text value");
  expect_error(std::string(kBase) + "env: {OMPI_COMM_WORLD_RANK: '1'}\n", {}, "env.OMPI_COMM_WORLD_RANK: OMPI_*");
  // A value is never echoed in an error, and an override's is applied into the resolved text.
  EXPECT_EQ(error_of(kBase, {"env.KEY=[hunter2"}).find("hunter2"), std::string::npos) << error_of(kBase, {"env.KEY=[hunter2"});
  EXPECT_EQ(error_of(std::string(kBase) + "env: [hunter2]\n").find("hunter2"), std::string::npos);
  absl::StatusOr<std::string> resolved = resolved_spec_text(kBase, {"env.KEY=hunter2", "train.seed=4"}, "job.yaml");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  auto again = parse_job_spec(*resolved, {}, "job.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->env.at("KEY"), "hunter2");
  EXPECT_EQ(again->train.seed, 4u);
}

TEST(JobSpec, UnknownKeysAnywhere) {
  expect_error(std::string(kBase) + "modle: {}\n", {}, "unknown key 'modle'");
  expect_error(std::string(kBase) + "optimizer: {lr: 0.1, momentun: 0.9}\n", {}, "unknown key 'optimizer.momentun'");
  expect_error(kBase, {"train.epoch=3"}, "unknown key 'train.epoch' (allowed in train: accumulate_steps, clip_grad_norm, d_steps, epochs,");
  expect_error(std::string(kBase) + "model: {kind: cnn, conv: [{channels: 3, pol: max}]}\n", {},
               "unknown key 'model.conv[0].pol'");
  expect_error(std::string(kBase) + "model: {kind: layers, layers: [{type: linear, out: 3, act: relu}]}\n", {},
               "unknown key 'model.layers[0].act'");
  // A misspelled section says so, not "data.train: required".
  expect_error("dat:\n  train: x\n", {}, "unknown key 'dat' (allowed at the top level:");
}

TEST(JobSpec, WrongTypes) {
  expect_error(kBase, {"data.batch_size=abc"}, "data.batch_size: expected an integer, got 'abc'");
  expect_error(kBase, {"optimizer.lr=[1]"}, "optimizer.lr: expected a number, got a list");
  expect_error(kBase, {"optimizer.nesterov=maybe"}, "optimizer.nesterov: expected true or false");
  expect_error(kBase, {"model.hidden=5"}, "model.hidden: expected a list of integers");
  expect_error(std::string(kBase) + "train: 5\n", {}, "train: expected a map of keys, got '5'");
  expect_error(kBase, {"data.batch_size=1.5"}, "expected an integer, got '1.5'");
  expect_error(kBase, {"train.seed=-1"}, "train.seed: expected an integer from 0 to 2^64 - 1");
}

TEST(JobSpec, OutOfRangeAndChoices) {
  const std::pair<const char*, const char*> cases[] = {
      {"optimizer.lr=-1", "optimizer.lr: -1 is out of range (allowed: (0, 1000])"},
      {"validation.fraction=1", "validation.fraction: 1 is out of range (allowed: [0, 1))"},
      {"data.batch_size=0", "data.batch_size: 0 is out of range (allowed: 1 to"},
      {"model.dropout=1.5", "model.dropout"},
      {"model.hidden=[10, 0]", "model.hidden[1]"},
      {"optimizer.name=rmsprop", "optimizer.name: 'rmsprop' is not allowed (allowed: sgd, adam, adamw)"},
      {"runtime.device=tpu", "runtime.device: 'tpu' is not allowed"},
      {"storage.io=bogus", "storage.io: 'bogus' is not allowed (allowed: auto, pread, mmap)"},
      {"data.normalize=minmax", "data.normalize: 'minmax' is not allowed (allowed: none, standardize, symmetric)"},
      {"optimizer.nesterov=true", "optimizer.nesterov: needs optimizer.momentum > 0"},
      {"model.kind=layers", "model.layers: required"},
      {"optimizer.betas=[0.9]", "optimizer.betas: expected a list of 2 numbers"},
  };
  for (const auto& [set, want] : cases) expect_error(kBase, {set}, want);
}

TEST(JobSpec, SettingsThatWouldBeIgnoredAreErrors) {
  expect_error(std::string(kBase) + "train: {epochs: 2}\ntrain: {epochs: 5}\n", {},
               "train: given twice (the second at line 3)");
  expect_error(std::string(kBase) + "optimizer:\n  lr: 0.1\n  lr: 0.2\n", {}, "optimizer.lr: given twice");
  expect_error(std::string(kBase) + "---\ntrain: {epochs: 2}\n", {}, "holds 2 YAML documents");
  expect_error(std::string(kBase) + "model: {conv: [{channels: 8}]}\n", {},
               "model.conv: only used with model.kind: cnn (kind is mlp)");
  expect_error(std::string(kBase) + "model: {layers: [{type: relu}]}\n", {},
               "model.layers: only used with model.kind: layers");
  // A GAN's keys only with a GAN, and its optimizers only under optimizer.generator/discriminator.
  expect_error(std::string(kBase) + "gan: {sample_every_steps: 10}\n", {}, "gan: for model.kind gan (kind is mlp)");
  expect_error(std::string(kBase) + "optimizer: {generator: {lr: 0.1}}\n", {},
               "optimizer.generator: for model.kind gan (kind is mlp)");
  expect_error(std::string(kBase) + "model: {latent: 10}\n", {}, "model.latent: for model.kind gan");
  const std::string gan_data = "data: {train: /tmp/x-images-idx3-ubyte, normalize: symmetric}\n";
  const std::string gan = gan_data + "model: {kind: gan}\n";
  expect_error(gan + "optimizer: {lr: 0.1}\n", {},
               "optimizer.lr: a GAN's optimizers are optimizer.generator.* and optimizer.discriminator.*");
  expect_error(gan + "validation: {fraction: 0.1}\n", {}, "validation.fraction: a GAN has no validation loss");
  expect_error(gan_data + "model: {kind: gan, generator: [{type: relu}], discriminator: 7}\n", {},
               "model.discriminator: expected `dcgan` or a list of layers");
  expect_error(std::string(kBase) + "model: {kind: layers, layers: [{type: relu, out: 3}]}\n", {},
               "model.layers[0].out: not used by a relu layer (only by linear, conv2d, conv_transpose2d)");
  expect_error(std::string(kBase) + "model: {kind: layers, layers: [{type: linear, out: 3, layers: []}]}\n", {},
               "model.layers[0].layers: only a residual layer has a body");
  expect_error(std::string(kBase) + "model: {kind: layers, layers: [{type: relu}, {type: conv3d, out: 3}]}\n", {},
               "model.layers[1].type: \"conv3d\" is not a layer type (allowed: `linear`, `conv2d`");
  expect_error(std::string(kBase) + "model: {kind: layers, layers: [{type: conv2d, kernel: 5}]}\n", {},
               "model.layers[0].out: required for conv2d");
  expect_error(kBase, {"data.task=regression"}, "data.task: regression needs CSV data, but data.train is IDX");
  expect_error(kBase, {"runtime.precision=bf16"}, "runtime.precision: bf16 runs on CUDA devices only");
  expect_error(kBase, {"runtime.device=cuda", "model.sync_batch_norm=true"},
               "model.sync_batch_norm: runs on the CPU only");
}

// parallel.pipeline: the partition is a rule or a list of cut points; shapes a schedule
// cannot run are refused at spec time, naming the key.
TEST(JobSpec, PipelineKeys) {
  auto spec = parse_job_spec(kBase,
                             {"parallel.pipeline.stages=3", "parallel.pipeline.partition=[2, 5]",
                              "parallel.pipeline.schedule=gpipe", "data.batch_size=60"},
                             "job.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->parallel.pipeline.partition.kind, PartitionKind::kCuts);
  EXPECT_EQ(spec->parallel.pipeline.partition.cuts, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(spec->parallel.pipeline.microbatches_or_default(), 6);
  EXPECT_EQ(spec->parallel.pipeline.schedule, PipelineScheduleKind::kGPipe);
  auto uniform = parse_job_spec(kBase, {"parallel.pipeline.partition=uniform"}, "job.yaml");
  ASSERT_TRUE(uniform.ok()) << uniform.status();
  EXPECT_EQ(uniform->parallel.pipeline.partition.kind, PartitionKind::kUniform);
  EXPECT_EQ(uniform->parallel.pipeline.microbatches_or_default(), 1);  // no pipeline: whole batches
  expect_error(kBase, {"parallel.pipeline.stages=4", "parallel.pipeline.microbatches=2"},
               "parallel.pipeline.microbatches: 1f1b needs at least as many micro-batches as stages (4), got 2");
  expect_error(kBase, {"parallel.pipeline.stages=3", "parallel.pipeline.partition=[2]"},
               "parallel.pipeline.partition: 1 cut points for parallel.pipeline.stages 3; give 2");
  expect_error(kBase, {"parallel.pipeline.stages=3", "parallel.pipeline.partition=[4, 4]"},
               "parallel.pipeline.partition[1]: cut points must ascend from 1 (each stage holds at least one layer)");
  expect_error(kBase, {"parallel.pipeline.stages=2", "parallel.pipeline.partition=[0]"},
               "parallel.pipeline.partition[0]: cut points must ascend from 1");
  expect_error(kBase, {"parallel.pipeline.stages=2", "parallel.pipeline.partition=[]"},
               "parallel.pipeline.partition: an empty list of cut points");
  expect_error(kBase, {"parallel.pipeline.partition=cuts"}, "parallel.pipeline.partition: expected `parameters`");
  expect_error(kBase, {"parallel.pipeline.partition=[3]"}, "cut points need parallel.pipeline.stages > 1");
  expect_error(kBase, {"parallel.pipeline.stages=2", "data.batch_size=6"},
               "data.batch_size: 6 does not divide into 4 micro-batches (parallel.pipeline.microbatches)");
  expect_error(kBase, {"parallel.pipeline.schedule=2f2b"}, "parallel.pipeline.schedule: '2f2b' is not allowed");
}

TEST(JobSpec, InputsThatOnceAborted) {
  expect_error(std::string(kBase) + "? [a, b]\n: 1\n", {}, "a key must be a plain name, got a list");
  expect_error(std::string(kBase) + "train: {? {x: 1} : 2}\n", {}, "train: line 2: a key must be a plain name");
  expect_error("data: {train: /data/x.csv.gz}\n", {}, "data.train: /data/x.csv.gz is a compressed CSV file");
  auto upper = parse_job_spec("data: {train: /data/X.CSV}\n", {});
  ASSERT_TRUE(upper.ok()) << upper.status();
}

TEST(JobSpec, RunNames) {
  EXPECT_TRUE(valid_run_name("fashion_mnist-2.v1"));
  EXPECT_FALSE(valid_run_name(""));
  EXPECT_FALSE(valid_run_name("../../../x"));
  EXPECT_FALSE(valid_run_name(".hidden"));
  EXPECT_FALSE(valid_run_name(std::string(129, 'a')));
  EXPECT_TRUE(valid_run_name(std::string(128, 'a')));
  expect_error(std::string(kBase) + "name: ../../../x\n", {}, "name: '../../../x' is not allowed");
  expect_error(std::string(kBase) + "name: \"\"\n", {}, "name: '' is not allowed");
}

TEST(JobSpec, UsesNeedTheirData) {
  expect_error("model: {kind: mlp}\n", {}, "data.train: required");
  auto eval_only = parse_job_spec("data: {test: /tmp/t-images-idx3-ubyte}\n", {}, "job.yaml", SpecUse::kEval);
  EXPECT_TRUE(eval_only.ok()) << eval_only.status();
  auto eval_without_test = parse_job_spec(kBase, {}, "job.yaml", SpecUse::kEval);
  EXPECT_NE(eval_without_test.status().message().find("data.test: required for eval"), std::string::npos);
}

TEST(JobSpec, SyntaxErrorsMissingFilesAndBadOverrides) {
  expect_error("model: {kind: mlp\n", {}, "job.yaml:");
  expect_error("model: {kind: mlp\n", {}, "YAML syntax error");
  expect_error(kBase, {"noequals"}, "--set noequals: expected key.path=value");
  expect_error(kBase, {"data.train.x=1"}, "'data.train' is not a map");
  expect_error("- a\n- b\n", {}, "expected a map of keys at the top level, got a list");
  auto missing = load_job_spec("/nonexistent/job.yaml", {});
  EXPECT_NE(missing.status().message().find("/nonexistent/job.yaml: cannot open"), std::string::npos);
  auto dir = load_job_spec("/tmp", {});
  EXPECT_NE(dir.status().message().find("/tmp: is a directory"), std::string::npos) << dir.status();
  auto zeros = load_job_spec("/dev/zero", {});
  EXPECT_NE(zeros.status().message().find("larger than 1048576 bytes"), std::string::npos) << zeros.status();
}

TEST(JobSpec, NameComesFromTheFileUnlessGiven) {
  const std::string path = testing::TempDir() + "/my job.v2.yaml";
  std::ofstream(path) << kBase;
  auto from_file = load_job_spec(path, {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->name, "my_job");
  std::ofstream(path) << kBase << "name: job\n";
  auto given = load_job_spec(path, {});
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->name, "job");
}

}  // namespace
}  // namespace ty
