// Job specs: the examples parse; every kind of bad spec fails naming the key.
#include "launch/job_spec_parser.h"

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

TEST(JobSpec, ExamplesParseWithTheirValues) {
  for (const char* name : {"fashion_mnist_mlp", "fashion_mnist_cnn"}) {
    auto s = load_job_spec(std::string(TRAINYARD_SOURCE_DIR) + "/examples/" + name + ".yaml", {});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->name, name);
    EXPECT_EQ(s->data.batch_size, 128);
    EXPECT_EQ(s->optimizer.name, "adam");
    EXPECT_FLOAT_EQ(s->optimizer.lr, 1e-3f);
    EXPECT_EQ(s->train.epochs, 10);
  }
  auto cnn = load_job_spec(std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_cnn.yaml", {});
  ASSERT_EQ(cnn->model.conv.size(), 2u);
  EXPECT_EQ(cnn->model.conv[1].channels, 64);
  EXPECT_FLOAT_EQ(cnn->model.dropout, 0.25f);
}

TEST(JobSpec, DefaultsAndOverrides) {
  auto s = parse_job_spec(kBase, {"model.hidden=[64, 32]", "optimizer.betas=[0.8, 0.99]", "train.seed=9",
                                  "schedule.kind=cosine", "runtime.threads=1", "model.layers=null"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->model.hidden, (std::vector<int64_t>{64, 32}));
  EXPECT_FLOAT_EQ(s->optimizer.beta1, 0.8f);
  EXPECT_EQ(s->train.seed, 9u);
  EXPECT_EQ(s->schedule.kind, "cosine");
  EXPECT_EQ(s->data.batch_size, 64);
  EXPECT_NE(s->spec_yaml.find("hidden"), std::string::npos);
}

TEST(JobSpec, UnknownKeysAnywhere) {
  expect_error(std::string(kBase) + "modle: {}\n", {}, "unknown key 'modle'");
  expect_error(std::string(kBase) + "optimizer: {lr: 0.1, momentun: 0.9}\n", {}, "unknown key 'optimizer.momentun'");
  expect_error(kBase, {"train.epoch=3"}, "unknown key 'train.epoch' (allowed here: clip_grad_norm, epochs,");
  expect_error(std::string(kBase) + "model: {kind: cnn, conv: [{channels: 3, pol: max}]}\n", {},
               "unknown key 'model.conv[0].pol'");
  expect_error(std::string(kBase) + "model: {kind: layers, layers: [{type: linear, out: 3, act: relu}]}\n", {},
               "unknown key 'model.layers[0].act'");
}

TEST(JobSpec, WrongTypes) {
  expect_error(kBase, {"data.batch_size=abc"}, "data.batch_size: expected an integer, got 'abc'");
  expect_error(kBase, {"optimizer.lr=[1]"}, "optimizer.lr: expected a number, got a list");
  expect_error(kBase, {"optimizer.nesterov=maybe"}, "optimizer.nesterov: expected true or false");
  expect_error(kBase, {"model.hidden=5"}, "model.hidden: expected a list of integers");
  expect_error(std::string(kBase) + "train: 5\n", {}, "train: expected a map of keys, got '5'");
  expect_error(kBase, {"data.batch_size=1.5"}, "expected an integer, got '1.5'");
}

TEST(JobSpec, OutOfRangeAndChoices) {
  expect_error(kBase, {"optimizer.lr=-1"}, "optimizer.lr: -1 is out of range (allowed: (0, 1000])");
  expect_error(kBase, {"validation.fraction=1"}, "validation.fraction: 1 is out of range (allowed: [0, 1))");
  expect_error(kBase, {"data.batch_size=0"}, "data.batch_size: 0 is out of range (allowed: 1 to");
  expect_error(kBase, {"model.dropout=1.5"}, "model.dropout");
  expect_error(kBase, {"model.hidden=[10, 0]"}, "model.hidden[1]");
  expect_error(kBase, {"optimizer.name=rmsprop"}, "optimizer.name: 'rmsprop' is not allowed (allowed: sgd, adam, adamw)");
  expect_error(kBase, {"runtime.device=tpu"}, "runtime.device: 'tpu' is not allowed");
  expect_error(kBase, {"data.normalize=minmax"}, "data.normalize: 'minmax' is not allowed (allowed: none, standardize)");
  expect_error(kBase, {"optimizer.nesterov=true"}, "optimizer.nesterov: needs optimizer.momentum > 0");
  expect_error(kBase, {"model.kind=layers"}, "model.layers: required");
  expect_error(kBase, {"optimizer.betas=[0.9]"}, "optimizer.betas: expected a list of 2 numbers");
}

TEST(JobSpec, SyntaxErrorsMissingKeysAndBadOverrides) {
  expect_error("model: {kind: mlp\n", {}, "job.yaml:");
  expect_error("model: {kind: mlp\n", {}, "YAML syntax error");
  expect_error("model: {kind: mlp}\n", {}, "data.train: required");
  expect_error(kBase, {"noequals"}, "--set noequals: expected key.path=value");
  expect_error(kBase, {"data.train.x=1"}, "'data.train' is not a map");
  expect_error("- a\n- b\n", {}, "expected a YAML map at the top level");
  auto missing = load_job_spec("/nonexistent/job.yaml", {});
  EXPECT_NE(missing.status().message().find("/nonexistent/job.yaml: cannot open"), std::string::npos);
}

}  // namespace
}  // namespace ty
