// Streaming loader throughput vs the plain tools, on the same shard files in the same run:
//   page cache: ShardStream (mmap, as storage.io: auto does on local disks, and pread;
//               CRC32C check of every record, records gathered into shuffled batches) vs
//               `cat FILES > /dev/null` with the files cached (one untimed pass first);
//               and with features decoded to f32 batches, as the trainer takes them;
//   O_DIRECT:   ShardStream with direct_io vs `dd if=FILE of=/dev/null bs=4M iflag=direct`.
// It also times the floor of any shuffling loader: the mapped records memcpy'd in a random
// order into batch buffers by the same number of threads, with no checks and no decoding.
// Alternating order, medians of --runs; prints each ratio of throughputs (≥ 1: faster).
//
//   loader_vs_cat 'shards/fm-*' [--runs 5] [--batch 256] [--threads 2] [--window-mb 16] [--no-direct]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/shard/shard_dataset.h"
#include "storage/stream/shard_stream.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double timed_shell(const std::string& cmd) {
  const auto t0 = std::chrono::steady_clock::now();
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "failed: %s\n", cmd.c_str());
    std::exit(1);
  }
  return seconds_since(t0);
}

// Seconds per epoch in steady state: one untimed epoch first (buffers allocated and
// reused after it, as in a training run), then `timed` epochs; the read-ahead is two windows,
// so the timed epochs cannot have been read before their clock starts.
double timed_epoch(const std::shared_ptr<const ty::ShardSet>& set, ty::StreamOptions o, int timed = 3) {
  o.epochs = 1 + timed;
  o.prefetch_bytes = 2 * o.shuffle_window_bytes;
  auto s = ty::ShardStream::open(set, o);
  if (!s.ok() || !(*s)->seek(0, 0).ok()) {
    std::fprintf(stderr, "stream: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.epochs * (*s)->steps_per_epoch(); ++i) {
    if (i == (*s)->steps_per_epoch()) t0 = std::chrono::steady_clock::now();
    ty::Batch batch;
    absl::Status st = (*s)->next(batch);
    if (!st.ok()) {
      std::fprintf(stderr, "stream: %s\n", st.ToString().c_str());
      std::exit(1);
    }
  }
  return seconds_since(t0) / timed;
}

// The floor of any shuffling loader over the page cache: the records, mapped, copied in a
// random order into batch buffers by `threads` threads — no checks, no decoding.
double timed_bare_gather(const ty::ShardSet& set, int threads, int64_t batch) {
  std::vector<const char*> records;
  std::vector<std::pair<void*, size_t>> maps;
  for (int i = 0; i < set.shards(); ++i) {
    const ty::ShardReader& r = set.reader(i);
    const int fd = ::open(r.path().c_str(), O_RDONLY);
    void* m = ::mmap(nullptr, static_cast<size_t>(r.file_bytes()), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) std::exit(1);
    maps.emplace_back(m, static_cast<size_t>(r.file_bytes()));
    for (int64_t k = 0; k < r.records(); ++k) records.push_back(static_cast<const char*>(m) + r.record_offset(k));
  }
  std::mt19937_64 gen(1);
  std::shuffle(records.begin(), records.end(), gen);
  const size_t bytes = static_cast<size_t>(set.payload_bytes()) + 4;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::vector<char> out(static_cast<size_t>(batch) * bytes);
      for (size_t b = t * batch; b < records.size(); b += static_cast<size_t>(batch) * threads)
        for (size_t i = 0; i < static_cast<size_t>(batch) && b + i < records.size(); ++i)
          std::memcpy(out.data() + i * bytes, records[b + i], bytes);
    });
  for (std::thread& w : workers) w.join();
  const double s = seconds_since(t0);
  for (auto [m, n] : maps) ::munmap(m, n);
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s GLOB [--runs N] [--batch B] [--threads T] [--window-mb W] [--no-direct]\n",
                 argv[0]);
    return 2;
  }
  int runs = 5, threads = 2;
  int64_t batch = 256, window_mb = 16;
  bool direct = true;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::atoi(argv[++i]);
    else if (a == "--batch" && i + 1 < argc)
      batch = std::atoll(argv[++i]);
    else if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--no-direct")
      direct = false;
    else if (a == "--window-mb" && i + 1 < argc)
      window_mb = std::atoll(argv[++i]);
  }
  auto paths = ty::expand_glob(argv[1]);
  if (!paths.ok()) {
    std::fprintf(stderr, "%s\n", paths.status().ToString().c_str());
    return 1;
  }
  auto set = ty::ShardSet::open(*paths, ty::ShardSetOptions{0, false});
  if (!set.ok()) {
    std::fprintf(stderr, "%s\n", set.status().ToString().c_str());
    return 1;
  }
  int64_t bytes = 0;
  std::string files;
  for (int i = 0; i < (*set)->shards(); ++i) {
    bytes += (*set)->reader(i).file_bytes();
    files += " '" + (*set)->reader(i).path() + "'";
  }
  ty::StreamOptions o;
  o.global_batch = batch;
  o.reader_threads = threads;
  o.shuffle_window_bytes = window_mb << 20;
  o.raw_records = true;  // records read, checked and batched; decoding is measured apart
  std::printf("%zu shards, %.1f MB, %ld records, batch %ld, %d reader threads, %ld MB windows\n", paths->size(),
              bytes / 1e6, static_cast<long>((*set)->size()), static_cast<long>(batch), threads,
              static_cast<long>(window_mb));
  timed_shell("cat" + files + " > /dev/null");  // warm the cache
  const std::string dd_cmd = "for f in" + files + "; do dd if=\"$f\" of=/dev/null bs=4M iflag=direct status=none; done";
  struct Line {
    const char* name;
    ty::StreamOptions options;
    bool vs_dd;
    std::vector<double> ours, peer;
  };
  std::vector<Line> lines;
  auto with = [&](ty::FileIo io, bool decode, bool odirect) {
    ty::StreamOptions x = o;
    x.io = io;
    x.raw_records = !decode;
    x.direct_io = odirect;
    return x;
  };
  lines.push_back(
      {"page cache, mmap (storage.io auto on local disks)", with(ty::FileIo::kMmap, false, false), false, {}, {}});
  lines.push_back({"page cache, pread", with(ty::FileIo::kPread, false, false), false, {}, {}});
  lines.push_back({"page cache, mmap, decoded to f32 batches", with(ty::FileIo::kMmap, true, false), false, {}, {}});
  if (direct) lines.push_back({"O_DIRECT (storage.direct_io)", with(ty::FileIo::kPread, false, true), true, {}, {}});
  for (int r = 0; r < runs; ++r) {
    for (Line& l : lines) {  // alternating which of the pair goes first
      const std::string peer = l.vs_dd ? dd_cmd : "cat" + files + " > /dev/null";
      if (r % 2 == 0) l.ours.push_back(timed_epoch(*set, l.options));
      l.peer.push_back(timed_shell(peer));
      if (r % 2 == 1) l.ours.push_back(timed_epoch(*set, l.options));
    }
  }
  std::vector<double> floor, floor_cat;  // the floor and cat, alternating, in the same runs
  for (int r = 0; r < runs; ++r) {
    if (r % 2 == 0) floor.push_back(timed_bare_gather(**set, threads, batch));
    floor_cat.push_back(timed_shell("cat" + files + " > /dev/null"));
    if (r % 2 == 1) floor.push_back(timed_bare_gather(**set, threads, batch));
  }
  const double mb = bytes / 1e6;
  std::printf("%-50s %.4f s (%.0f MB/s): ratio to cat %.2f\n", "floor: bare shuffled memcpy gather, mapped",
              median(floor), mb / median(floor), median(floor_cat) / median(floor));
  for (const Line& l : lines)
    std::printf("%-50s loader %.4f s (%.0f MB/s), %s %.4f s (%.0f MB/s): ratio %.2f\n", l.name, median(l.ours),
                mb / median(l.ours), l.vs_dd ? "dd iflag=direct" : "cat", median(l.peer), mb / median(l.peer),
                median(l.peer) / median(l.ours));
  return 0;
}
