// Shards: write/read round trips across shards and chunks, and a clear error (file, record,
// byte offset) for every kind of damage, without trusting sizes read from the file.
#include <cstring>
#include <fstream>
#include <functional>
#include <map>

#include "gtest/gtest.h"
#include "storage/batch.h"
#include "storage/shard/crc32c.h"
#include "storage/shard/shard_dataset.h"
#include "storage/shard/shard_import.h"
#include "storage/shard/shard_reader.h"
#include "storage/shard/shard_writer.h"
#include "storage/shard/vocabulary.h"
#include "storage/stream/shard_set.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

ShardSchema schema() {
  ShardSchema s;
  s.fields.push_back({"x", DType::kU8, {1, 3, 5}});
  s.fields.push_back({"y", DType::kI32, {}});
  return s;
}

std::vector<char> record(int i) {
  std::vector<char> r(19);
  for (int k = 0; k < 15; ++k) r[k] = static_cast<char>(i * 7 + k);
  const int32_t label = i % 4;
  std::memcpy(r.data() + 15, &label, 4);
  return r;
}

class Shards : public TempDirTest {
 protected:
  std::vector<std::string> write(int n, ShardWriterOptions o) {
    ShardWriter w(path("d"), schema(), o);
    for (int i = 0; i < n; ++i) EXPECT_TRUE(w.add(record(i).data()).ok());
    auto paths = w.finish();
    EXPECT_TRUE(paths.ok()) << paths.status();
    return *paths;
  }
  std::string bytes(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void put(const std::string& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }
};

TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c_extend(crc32c("1234", 4), "56789", 5), 0xE3069283u);
}

// Long buffers take the three-stream path (blocks of 128 and 4096 bytes joined by shifts);
// byte by byte takes the one-stream path: both must agree for every length and start.
TEST(Crc32c, ThreeStreamsAgreeWithByteAtATime) {
  std::string data(40100, '\0');
  uint32_t x = 12345;
  for (char& c : data) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
  for (size_t len : {383u, 384u, 385u, 788u, 1000u, 12287u, 12288u, 12289u, 13000u, 39999u}) {
    for (size_t start : {0u, 1u, 7u}) {
      uint32_t slow = 0;
      for (size_t i = 0; i < len; ++i) slow = crc32c_extend(slow, data.data() + start + i, 1);
      EXPECT_EQ(crc32c(data.data() + start, len), slow) << "length " << len << " start " << start;
    }
  }
}

TEST_F(Shards, RoundTripAcrossShardsAndChunks) {
  ShardWriterOptions o;
  o.chunk_bytes = 100;       // 4 records (23 bytes each) per chunk
  o.shard_bytes = 3 * 4096;  // a few chunks per shard
  auto paths = write(50, o);
  ASSERT_GT(paths.size(), 1u);
  int64_t total = 0;
  for (const auto& p : paths) {
    auto r = ShardReader::open(p);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->schema(), schema());
    ASSERT_TRUE(r->verify().ok());
    for (int64_t i = 0; i < r->records(); i += 4) EXPECT_EQ(r->record_offset(i) % 4096, 0) << p << " record " << i;
    std::vector<char> out(r->records() * 15 + r->records() * 4);
    ASSERT_TRUE(r->read(0, r->records(), out.data()).ok());
    for (int64_t i = 0; i < r->records(); ++i)
      ASSERT_EQ(std::vector<char>(out.begin() + i * 19, out.begin() + (i + 1) * 19), record(total + i));
    total += r->records();
  }
  EXPECT_EQ(total, 50);
  auto ds = ShardDataset::open(paths);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 50);
  EXPECT_EQ((*ds)->num_classes(), 4);
  EXPECT_EQ((*ds)->sample_shape(), (Shape{1, 3, 5}));
  Tensor x = Tensor::empty(host_memory(), {1, 1, 3, 5}), y = Tensor::empty(host_memory(), {1}, DType::kI32);
  const int64_t idx = 13;
  (*ds)->gather(&idx, 1, x, y);
  EXPECT_FLOAT_EQ(x.at(2), static_cast<uint8_t>(13 * 7 + 2) / 255.0f);
  EXPECT_EQ(y.data<int32_t>()[0], 1);
}

TEST_F(Shards, ACorruptRecordIsNamedWithItsOffsetOrSkipped) {
  auto paths = write(20, {});
  auto r = ShardReader::open(paths[0]);
  ASSERT_TRUE(r.ok());
  const int64_t at = r->record_offset(7);
  std::string b = bytes(paths[0]);
  b[at + 3] ^= 0x40;
  put(paths[0], b);
  auto again = ShardReader::open(paths[0]);
  ASSERT_TRUE(again.ok());
  absl::Status st = again->verify();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find(paths[0] + ": record 7 at byte offset " + std::to_string(at)), std::string::npos) << st;
  EXPECT_FALSE(ShardDataset::open(paths).ok());
  auto skipped = ShardDataset::open(paths, {true});
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ((*skipped)->size(), 19);
  EXPECT_NE((*skipped)->describe().find("1 corrupt records skipped"), std::string::npos);
}

TEST_F(Shards, DamagedHeaderFooterAndIndexAreRefused) {
  auto paths = write(10, {});
  const std::string good = bytes(paths[0]);
  struct Case {
    std::string name, want;
    std::function<void(std::string&)> damage;
  } cases[] = {
      {"magic", "wrong magic", [](std::string& b) { b[0] = 'X'; }},
      {"header crc", "header checksum mismatch", [](std::string& b) { b[18] ^= 1; }},  // the first field name
      {"truncated", "bad shard footer", [](std::string& b) { b.resize(b.size() - 7); }},
      {"short", "too short for a shard", [](std::string& b) { b.resize(100); }},
      {"index offset", "does not fit the file",
       [](std::string& b) {
         const uint64_t huge = uint64_t{1} << 62;
         std::memcpy(b.data() + b.size() - 40, &huge, 8);
       }},
      {"chunk count", "does not fit the file",
       [](std::string& b) {
         const uint64_t huge = uint64_t{1} << 60;
         std::memcpy(b.data() + b.size() - 32, &huge, 8);
       }},
      {"index crc", "index checksum mismatch", [](std::string& b) { b[b.size() - 45] ^= 1; }},
  };
  for (const Case& c : cases) {
    std::string b = good;
    c.damage(b);
    put(paths[0], b);
    auto r = ShardReader::open(paths[0]);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find(paths[0]), std::string::npos) << c.name << ": " << r.status();
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << c.name << ": " << r.status();
  }
  EXPECT_FALSE(expand_glob(path("nothing-*")).ok());
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

TextImportOptions text_options(const std::string& tokens, int64_t seq_len) {
  TextImportOptions o;
  o.tokens = tokens;
  o.seq_len = seq_len;
  return o;
}

TEST_F(Shards, TextImportCutsTokenStreamsIntoNextTokenRecords) {
  const std::string file = TempDirTest::write("t.txt", "b a b c b a\nd");
  auto paths = import_text(file, text_options("words", 3), path("w"));
  ASSERT_TRUE(paths.ok()) << paths.status();
  std::ifstream vocab(path("w") + ".vocab");
  std::vector<std::string> v;
  for (std::string l; std::getline(vocab, l);) v.push_back(l);
  EXPECT_EQ(v, (std::vector<std::string>{"b", "a", "c", "d"}));  // by frequency, then name
  auto r = ShardReader::open((*paths)[0]);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->records(), 2);  // 7 tokens: [0..3], [3..6]
  std::vector<int32_t> out(12);
  ASSERT_TRUE(r->read(0, 2, out.data()).ok());
  // ids: b=0 a=1 b=0 c=2 b=0 a=1 d=3
  EXPECT_EQ(out, (std::vector<int32_t>{0, 1, 0, 1, 0, 2, 2, 0, 1, 0, 1, 3}));
  auto bytes = import_text(file, text_options("bytes", 4), path("b"));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_FALSE(import_text(file, text_options("bytes", 100), path("x")).ok());
  EXPECT_FALSE(import_text(file, text_options("letters", 4), path("x")).ok());
}

// Held-out shares: contiguous blocks of the token stream, no token in two of them, each
// split under its own prefix.
TEST_F(Shards, TextImportWritesTrainValAndTestBlocks) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += static_cast<char>('a' + i % 26);
  const std::string file = TempDirTest::write("s.txt", text);
  TextImportOptions o = text_options("bytes", 4);
  o.val_fraction = 0.2;
  o.test_fraction = 0.1;
  auto paths = import_text(file, o, path("s"));
  ASSERT_TRUE(paths.ok()) << paths.status();
  std::map<std::string, std::vector<int32_t>> x;  // split -> the x fields, in order
  for (const std::string& p : *paths) {
    const std::string split = p.substr(path("s").size() + 1, p.find('-', path("s").size() + 1) - path("s").size() - 1);
    auto r = ShardReader::open(p);
    ASSERT_TRUE(r.ok()) << r.status();
    std::vector<int32_t> rec(static_cast<size_t>(r->records() * 8));
    ASSERT_TRUE(r->read(0, r->records(), rec.data()).ok());
    for (int64_t i = 0; i < r->records(); ++i)
      x[split].insert(x[split].end(), rec.begin() + i * 8, rec.begin() + i * 8 + 4);
  }
  // 100 tokens: train [0, 70), val [70, 90), test [90, 100); records of 5 tokens, step 4.
  ASSERT_EQ(x.size(), 3u);
  EXPECT_EQ(x["train"].size(), 17u * 4);  // starts 0, 4, ..., 64
  EXPECT_EQ(x["val"].size(), 4u * 4);     // starts 70, 74, 78, 82
  EXPECT_EQ(x["test"].size(), 2u * 4);    // starts 90, 94
  EXPECT_EQ(x["val"][0], 'a' + 70 % 26);
  EXPECT_EQ(x["test"][0], 'a' + 90 % 26);
  o.val_fraction = 0.02;  // 2 tokens: less than a record
  auto tiny = import_text(file, o, path("t"));
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(std::string(tiny.status().message()).find("--val-fraction 0.02 is 2 tokens"), std::string::npos)
      << tiny.status();
  o.val_fraction = 0.5;
  o.test_fraction = 0.5;
  EXPECT_FALSE(import_text(file, o, path("u")).ok());
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

TEST_F(Shards, DatasetRefusesLabelShapesAndValuesItCannotTrainOn) {
  auto write_with = [&](const std::string& name, ShardField y, const std::vector<char>& yv) {
    ShardSchema s;
    s.fields.push_back({"x", DType::kF32, {2}});
    s.fields.push_back(y);
    ShardWriter w(path(name), s);
    std::vector<char> rec(8 + yv.size());
    std::memcpy(rec.data() + 8, yv.data(), yv.size());
    EXPECT_TRUE(w.add(rec.data()).ok());
    return *w.finish();
  };
  std::vector<char> ten(40, 0);
  auto wide = ShardDataset::open(write_with("wide", {"y", DType::kI32, {10}}, ten));
  EXPECT_NE(wide.status().message().find("class labels are one i32 per record"), std::string::npos) << wide.status();
  const int32_t huge = 1 << 30;
  std::vector<char> hv(4);
  std::memcpy(hv.data(), &huge, 4);
  auto big = ShardDataset::open(write_with("big", {"y", DType::kI32, {}}, hv));
  EXPECT_NE(big.status().message().find("label 1073741824 of record 0 outside"), std::string::npos) << big.status();
  ShardSchema too_many;
  too_many.fields.push_back({"x", DType::kF32, {1, 1, 1, 1, 1, 1, 1, 1, 1}});
  ShardWriter w(path("bad"), too_many);
  std::vector<char> rec(4);
  EXPECT_NE(w.add(rec.data()).message().find("at most 8 dimensions"), std::string::npos);
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

// Token records train as they are: i32 ids in and next tokens out, one label per position,
// the vocabulary from PREFIX.vocab, whether gathered in memory or streamed; an id outside
// the vocabulary is named with its file, record and offset.
TEST_F(Shards, TokenRecordsReadAsIdsAndNextTokens) {
  const std::string file = TempDirTest::write("v.txt", "b a b c b a d a b c b a d d a b");
  TextImportOptions o = text_options("words", 3);
  o.test_fraction = 0.25;
  auto paths = import_text(file, o, path("v"));
  ASSERT_TRUE(paths.ok()) << paths.status();
  const std::string train = (*paths)[0];
  ASSERT_NE(train.find("-train-"), std::string::npos) << train;
  EXPECT_EQ(token_vocab_size(train), 4);  // b a d c
  EXPECT_EQ(token_vocab_size(path("nothing") + "-00000.tyshard"), 0);
  auto mem = ShardDataset::open({train});
  auto set = ShardSet::open({train});
  ASSERT_TRUE(mem.ok()) << mem.status();
  ASSERT_TRUE(set.ok()) << set.status();
  for (const Dataset* d : {mem->get(), static_cast<const Dataset*>(set->get())}) {
    EXPECT_EQ(d->input_dtype(), DType::kI32);
    EXPECT_EQ(d->label_shape(), Shape{3});
    EXPECT_EQ(d->num_classes(), 4);
    EXPECT_NE(d->describe().find("vocabulary 4"), std::string::npos) << d->describe();
    const int64_t idx[] = {1};
    auto b = gather_batch(*d, idx, 1);
    ASSERT_TRUE(b.ok()) << b.status();
    // ids b=0 a=1 d=2 c=3: the stream 0 1 0 3 0 1 2 1 0 3 0 1 | 2 2 1 0; record 1 starts at 3.
    const Tensor& x = (*b)["x"];
    const Tensor& y = (*b)["y"];
    ASSERT_EQ(x.dtype(), DType::kI32);
    ASSERT_EQ(y.shape(), (Shape{1, 3}));
    EXPECT_EQ(std::vector<int32_t>(x.data<int32_t>(), x.data<int32_t>() + 3), (std::vector<int32_t>{3, 0, 1}));
    EXPECT_EQ(std::vector<int32_t>(y.data<int32_t>(), y.data<int32_t>() + 3), (std::vector<int32_t>{0, 1, 2}));
  }
  // A vocabulary smaller than the ids (data.num_classes) is refused naming the token.
  auto small = ShardSet::open({train}, ShardSetOptions{2});
  ASSERT_TRUE(small.ok()) << small.status();
  const int64_t idx[] = {1};
  auto bad = gather_batch(**small, idx, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("token 2 of record 1"), std::string::npos) << bad.status();
  EXPECT_NE(bad.status().message().find(train), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

// SentencePiece tokens: a model trained on the file (or given) is stored beside the shards
// with the vocabulary, and the vocabulary read back encodes and decodes through it.
TEST_F(Shards, SentencePieceImportStoresItsModelAndDecodesTheSameWay) {
  std::ifstream corpus("/usr/local/share/trainyard/kjv.txt");
  ASSERT_TRUE(corpus) << "the corpus is missing: run launch/setup.sh";
  std::string text;
  for (std::string line; std::getline(corpus, line) && text.size() < 60000;) text += line + "\n";
  const std::string file = TempDirTest::write("gen.txt", text);
  TextImportOptions o = text_options("sentencepiece", 16);
  o.vocab_size = 300;
  o.test_fraction = 0.1;
  auto paths = import_text(file, o, path("sp"));
  ASSERT_TRUE(paths.ok()) << paths.status();
  auto vocab = Vocabulary::load(path("sp") + ".vocab");
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->size(), 300);
  EXPECT_FALSE(vocab->bytes());
  auto ids = vocab->encode("And God said, Let there be light");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_LT(ids->size(), 20u);  // pieces, not characters
  EXPECT_EQ(vocab->decode(*ids), "And God said, Let there be light");
  EXPECT_EQ(token_vocab_size((*paths)[0]), 300);
  // The same model given with --spm: the same records.
  TextImportOptions again = text_options("sentencepiece", 16);
  again.spm = path("sp") + ".model";
  again.test_fraction = 0.1;
  auto repeat = import_text(file, again, path("sp2"));
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  auto a = ShardReader::open((*paths)[0]), b = ShardReader::open((*repeat)[0]);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->records(), b->records());
  std::vector<int32_t> ra(32), rb(32);
  ASSERT_TRUE(a->read(3, 1, ra.data()).ok());
  ASSERT_TRUE(b->read(3, 1, rb.data()).ok());
  EXPECT_EQ(ra, rb);
  TextImportOptions bad = text_options("sentencepiece", 16);
  bad.spm = file;  // not a model
  auto refused = import_text(file, bad, path("sp3"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not a SentencePiece model"), std::string::npos) << refused.status();
}

}  // namespace
}  // namespace ty
