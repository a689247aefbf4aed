// `data import parallel`: aligned lines become (source, target) records padded with "</s>",
// splits are disjoint, long pairs are counted out, and bad input is refused by name.
#include "storage/shard/parallel_import.h"

#include <fstream>

#include "gtest/gtest.h"
#include "storage/shard/sentencepiece_model.h"
#include "storage/shard/shard_dataset.h"
#include "storage/shard/shard_reader.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class ParallelImport : public TempDirTest {
 protected:
  // The first n aligned verses of the example corpus (Spanish source, English target).
  void corpus(int n) {
    for (const auto& [side, name] : {std::pair{"es", "src.txt"}, {"en", "tgt.txt"}}) {
      std::ifstream in(std::string("/usr/local/share/trainyard/bible-en-es/train.") + side);
      ASSERT_TRUE(in) << "the corpus is missing: run launch/setup.sh";
      std::string text;
      std::string line;
      for (int i = 0; i < n && std::getline(in, line); ++i) text += line + "\n";
      write(name, text);
    }
  }
  // The corpus's first source and target lines.
  std::pair<std::string, std::string> first_pair() {
    std::ifstream src(path("src.txt")), tgt(path("tgt.txt"));
    std::pair<std::string, std::string> out;
    std::getline(src, out.first);
    std::getline(tgt, out.second);
    return out;
  }
  ParallelImportOptions options() {
    ParallelImportOptions o;
    o.vocab_size = 400;
    o.max_len = 64;
    return o;
  }
};

TEST_F(ParallelImport, RecordsDecodeToTheLinesTheyCameFrom) {
  corpus(600);
  ParallelImportOptions o = options();
  o.val_fraction = 0.1;
  o.test_fraction = 0.1;
  auto r = import_parallel(path("src.txt"), path("tgt.txt"), o, path("p"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->shards.size(), 3u);
  EXPECT_NE(r->shards[0].find("p-train-"), std::string::npos);
  EXPECT_NE(r->shards[1].find("p-val-"), std::string::npos);
  EXPECT_NE(r->shards[2].find("p-test-"), std::string::npos);
  EXPECT_EQ(r->pairs + r->too_long + r->empty, 600);
  EXPECT_GT(r->too_long, 0);  // some verses are longer than 63 pieces of a 400-piece model

  std::string error;
  auto model = SentencePieceModel::load(path("p.model"), &error);
  ASSERT_TRUE(model) << error;
  auto train = ShardReader::open(r->shards[0]);
  ASSERT_TRUE(train.ok()) << train.status();
  std::vector<int32_t> rec(128);
  ASSERT_TRUE(train->read(0, 1, rec.data()).ok());
  const auto [first_src, first_tgt] = first_pair();
  const int32_t eos = model->eos_id();
  auto side = [&](int offset) {
    std::vector<int32_t> ids;
    int k = 0;
    while (k < 64 && rec[offset + k] != eos) ids.push_back(rec[offset + k++]);
    for (; k < 64; ++k) EXPECT_EQ(rec[offset + k], eos) << "padding after the first </s>";
    return model->decode(ids);
  };
  EXPECT_EQ(side(0), first_src);
  EXPECT_EQ(side(64), first_tgt);
  // The splits are contiguous blocks: the test shard's records come from the last 60 lines.
  auto test = ShardReader::open(r->shards[2]);
  ASSERT_TRUE(test.ok());
  EXPECT_LE(test->records(), 60);
  EXPECT_GT(test->records(), 30);
}

TEST_F(ParallelImport, TestFilesAndTheSameModelGivenAgain) {
  corpus(300);
  ParallelImportOptions o = options();
  auto first = import_parallel(path("src.txt"), path("tgt.txt"), o, path("a"));
  ASSERT_TRUE(first.ok()) << first.status();
  ParallelImportOptions again;
  again.spm = path("a.model");
  again.max_len = 64;
  again.test_source = path("src.txt");
  again.test_target = path("tgt.txt");
  again.val_fraction = 0.5;
  // (--spm naming the output's own model: it stays in place.)
  auto r = import_parallel(path("src.txt"), path("tgt.txt"), again, path("a"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->shards.size(), 3u);
  auto whole = ShardReader::open(first->shards[0]), test = ShardReader::open(r->shards[2]);
  ASSERT_TRUE(whole.ok() && test.ok());
  EXPECT_EQ(test->records(), whole->records());  // the same lines, the same model
}

// --separate-vocab: a model per side, the source's beside the target's; each side's ids are
// its own model's, and a source id past the source's vocabulary is refused naming it.
TEST_F(ParallelImport, SeparateVocabulariesOnePerSide) {
  corpus(300);
  ParallelImportOptions o = options();
  o.vocab_size = 200;
  o.separate_vocab = true;
  auto r = import_parallel(path("src.txt"), path("tgt.txt"), o, path("p"));
  ASSERT_TRUE(r.ok()) << r.status();
  std::string error;
  auto source = SentencePieceModel::load(path("p.source.model"), &error);
  auto target = SentencePieceModel::load(path("p.model"), &error);
  ASSERT_TRUE(source && target) << error;
  EXPECT_EQ(source->size(), 200);
  EXPECT_EQ(source_vocab_size(r->shards[0]), 200);
  EXPECT_EQ(source_vocab_path(r->shards[0]), path("p.source.vocab"));
  auto shard = ShardReader::open(r->shards[0]);
  ASSERT_TRUE(shard.ok());
  std::vector<int32_t> rec(128);
  ASSERT_TRUE(shard->read(0, 1, rec.data()).ok());
  const auto [first_src, first_tgt] = first_pair();
  auto side = [&](int offset, const SentencePieceModel& m) {
    std::vector<int32_t> ids;
    for (int k = 0; k < 64 && rec[offset + k] != m.eos_id(); ++k) ids.push_back(rec[offset + k]);
    return m.decode(ids);
  };
  EXPECT_EQ(side(0, *source), first_src);
  EXPECT_EQ(side(64, *target), first_tgt);

  // The source's vocabulary cut to 50 pieces: the shards' larger source ids are refused.
  std::ifstream in(path("p.source.vocab"));
  std::string pieces, line;
  for (int i = 0; i < 50 && std::getline(in, line); ++i) pieces += line + "\n";
  write("p.source.vocab", pieces);
  auto data = ShardDataset::open({r->shards[0]});
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("source token"), std::string::npos) << data.status();
  EXPECT_NE(data.status().message().find(path("p.source.vocab")), std::string::npos) << data.status();

  // A joint import over it takes the source's files away again.
  ASSERT_TRUE(import_parallel(path("src.txt"), path("tgt.txt"), options(), path("p")).ok());
  EXPECT_EQ(source_vocab_path(r->shards[0]), "");
}

TEST_F(ParallelImport, RefusesBadInputByName) {
  write("src.txt", "uno\ndos\ntres\n");
  write("tgt.txt", "one\ntwo\n");
  auto r = import_parallel(path("src.txt"), path("tgt.txt"), options(), path("p"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("src.txt has 3 lines but " + path("tgt.txt") + " has 2"), std::string::npos)
      << r.status();
  ParallelImportOptions both = options();
  both.test_fraction = 0.1;
  both.test_source = path("src.txt");
  both.test_target = path("tgt.txt");
  r = import_parallel(path("src.txt"), path("src.txt"), both, path("p"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not both"), std::string::npos) << r.status();
  r = import_parallel(path("missing.txt"), path("tgt.txt"), options(), path("p"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("--source " + path("missing.txt")), std::string::npos) << r.status();
  // Vocabulary flags that do not go together: each refused, naming what to give.
  ParallelImportOptions neither = options(), half = options(), separate = options();
  neither.vocab_size = half.vocab_size = separate.vocab_size = 0;
  half.spm_source = separate.spm = path("a.model");
  separate.separate_vocab = true;
  for (const auto& [o, says] : {std::pair<const ParallelImportOptions*, const char*>{&neither, "--vocab-size N"},
                                {&half, "--spm-source and --spm-target go together"},
                                {&separate, "--separate-vocab"}}) {
    r = import_parallel(path("src.txt"), path("src.txt"), *o, path("p"));
    ASSERT_FALSE(r.ok()) << says;
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace ty
