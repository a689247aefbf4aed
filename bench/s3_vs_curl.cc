// Object-store throughput against curl, on the same objects of the same server in the same
// run (bench/s3_vs_curl.sh starts a one-node Swift with s3api on loopback and runs this):
//   loader:  ShardStream over s3:// shards — ranged GETs of up to 16 MiB pinned to the ETag,
//            --in-flight readers, every record's CRC32C checked, records gathered into
//            shuffled batches as they are stored (raw records: no decoding) — against curl
//            fetching the same objects in 16 MiB ranges to /dev/null (SigV4 signed by curl), at
//            its fastest setting measured here: `--parallel` with 2, 4 or IN_FLIGHT transfers, or
//            IN_FLIGHT curl processes.
//   upload:  S3Client::upload of a checkpoint-sized buffer (multipart, 16 MiB parts, 4 in
//            flight, SHA-256 signed payloads) against `curl --parallel --parallel-max 4`
//            PUTting the same bytes as 16 MiB objects from /dev/shm (signed likewise; the
//            payloads' SHA-256, which curl would not compute, is computed before its clock starts).
// Steady state: one untimed pass of each first; alternating order; medians of --runs.
//
//   s3_vs_curl --endpoint http://127.0.0.1:PORT --bucket B --netrc FILE [--mb 512] [--runs 5]
//              [--in-flight 8] [--upload-mb 256] [--part-mb 16] [--upload-parallel 4]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "storage/s3/s3_client.h"
#include "storage/s3/sigv4.h"
#include "storage/shard/shard_writer.h"
#include "storage/stream/shard_stream.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void die(const std::string& what) {
  std::fprintf(stderr, "s3_vs_curl: %s\n", what.c_str());
  std::exit(1);
}

double timed_shell(const std::string& cmd) {
  const auto t0 = std::chrono::steady_clock::now();
  if (std::system(cmd.c_str()) != 0) die("failed: " + cmd);
  return seconds_since(t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

constexpr int64_t kRange = int64_t{16} << 20;

// A curl config that fetches (or uploads) each item; options repeat per transfer.
std::string curl_config(const std::string& netrc, const std::vector<std::string>& transfers) {
  std::string cfg;
  for (size_t i = 0; i < transfers.size(); ++i) {
    if (i > 0) cfg += "next\n";
    cfg += "netrc-file = \"" + netrc + "\"\naws-sigv4 = \"aws:amz:us-east-1:s3\"\nsilent\nfail\n" + transfers[i];
  }
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint, bucket, netrc;
  int64_t mb = 512, upload_mb = 256;
  int runs = 5, in_flight = 8, up_parallel = 4;
  int64_t part_mb = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--endpoint") endpoint = v;
    else if (k == "--bucket") bucket = v;
    else if (k == "--netrc") netrc = v;
    else if (k == "--mb") mb = std::atoll(v.c_str());
    else if (k == "--upload-mb") upload_mb = std::atoll(v.c_str());
    else if (k == "--runs") runs = std::atoi(v.c_str());
    else if (k == "--in-flight") in_flight = std::atoi(v.c_str());
    else if (k == "--part-mb") part_mb = std::atoll(v.c_str());
    else if (k == "--upload-parallel") up_parallel = std::atoi(v.c_str());
    else die("unknown flag " + k);
  }
  if (endpoint.empty() || bucket.empty() || netrc.empty()) die("need --endpoint, --bucket and --netrc");
  ty::set_s3_endpoint(endpoint);
  auto client_or = ty::shared_s3_client();
  if (!client_or.ok()) die(std::string(client_or.status().message()));
  ty::S3Client& client = **client_or;
  if (auto st = client.create_bucket(bucket); !st.ok()) die(std::string(st.message()));

  // Shards of 64 MiB, records of 4092 bytes + CRC, written locally and uploaded (untimed).
  const std::string dir = (std::filesystem::temp_directory_path() / ("s3_vs_curl_" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  ty::ShardSchema schema;
  schema.fields.push_back({"x", ty::DType::kU8, {4088}});
  schema.fields.push_back({"y", ty::DType::kI32, {}});
  ty::ShardWriterOptions wo;
  wo.shard_bytes = int64_t{64} << 20;
  std::vector<std::string> urls;
  {
    ty::ShardWriter w(dir + "/s", schema, wo);
    std::mt19937 gen(1);
    std::vector<char> rec(4092);
    for (int64_t i = 0; i < (mb << 20) / 4096; ++i) {
      for (auto& c : rec) c = static_cast<char>(gen());
      const int32_t label = static_cast<int32_t>(i % 10);
      std::memcpy(rec.data() + 4088, &label, 4);
      if (!w.add(rec.data()).ok()) die("shard write");
    }
    auto paths = w.finish();
    if (!paths.ok()) die(std::string(paths.status().message()));
    for (const std::string& p : *paths) {
      std::ifstream in(p, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const ty::S3Url u{bucket, "bench/" + std::filesystem::path(p).filename().string()};
      if (auto st = client.upload(u, bytes.data(), static_cast<int64_t>(bytes.size())); !st.ok())
        die(std::string(st.message()));
      urls.push_back(u.str());
    }
  }
  std::filesystem::remove_all(dir);
  auto set = ty::ShardSet::open(urls, ty::ShardSetOptions{10, false});
  if (!set.ok()) die(std::string(set.status().message()));
  int64_t total = 0;
  std::vector<std::string> gets;
  for (int i = 0; i < (*set)->shards(); ++i) {
    const int64_t size = (*set)->reader(i).file_bytes();
    total += size;
    for (int64_t at = 0; at < size; at += kRange)
      gets.push_back("url = \"" + endpoint + "/" + bucket + "/bench/" +
                     std::filesystem::path(urls[i]).filename().string() + "\"\nrange = \"" + std::to_string(at) + "-" +
                     std::to_string(std::min(size, at + kRange) - 1) + "\"\noutput = \"/dev/null\"\n" +
                     "header = \"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"\n");
  }
  const std::string get_cfg = "/dev/shm/s3_vs_curl_get.cfg";
  std::ofstream(get_cfg) << curl_config(netrc, gets);
  // The peer at its best: one curl with parallel transfers (2, 4 or IN_FLIGHT at a time), or
  // IN_FLIGHT curls side by side (a process and connection each), whichever is fastest here.
  std::vector<std::pair<std::string, std::string>> peers;  // (name, command)
  for (int p : {2, 4, in_flight})
    peers.emplace_back("--parallel-max " + std::to_string(p),
                       "curl -s --no-progress-meter --parallel --parallel-max " + std::to_string(p) + " -K " + get_cfg);
  std::vector<std::string> one_cfgs;
  for (size_t i = 0; i < gets.size(); ++i) {
    one_cfgs.push_back("/dev/shm/s3_vs_curl_get" + std::to_string(i) + ".cfg");
    std::ofstream(one_cfgs.back()) << curl_config(netrc, {gets[i]});
  }
  peers.emplace_back(std::to_string(in_flight) + " processes", "ls /dev/shm/s3_vs_curl_get[0-9]*.cfg | xargs -P " +
                                                                   std::to_string(in_flight) + " -n 1 curl -s -K");
  std::string curl_get;
  double best = 1e30;
  std::printf("curl:");
  for (const auto& [name, cmd] : peers) {
    timed_shell(cmd);
    const double t = std::min(timed_shell(cmd), timed_shell(cmd));
    std::printf(" %s %.0f MB/s;", name.c_str(), total / t / 1e6);
    if (t < best) {
      best = t;
      curl_get = cmd;
    }
  }
  std::printf(" the peer is the fastest\n");

  ty::StreamOptions o;
  o.global_batch = 256;
  o.raw_records = true;
  o.remote_requests = in_flight;
  o.shuffle_window_bytes = int64_t{64} << 20;
  o.prefetch_bytes = 2 * in_flight * kRange;
  auto epoch = [&] {
    ty::StreamOptions e = o;
    e.epochs = 1;
    auto s = ty::ShardStream::open(*set, e);
    if (!s.ok()) die(std::string(s.status().message()));
    const auto t0 = std::chrono::steady_clock::now();
    if (!(*s)->seek(0, 0).ok()) die("seek");
    for (int64_t i = 0; i < (*s)->steps_per_epoch(); ++i) {
      ty::Batch b;
      if (absl::Status st = (*s)->next(b); !st.ok()) die(std::string(st.message()));
    }
    return seconds_since(t0);
  };
  std::printf("loader: %d objects, %.0f MiB, %d requests in flight, %zu ranges of <= 16 MiB for curl\n",
              (*set)->shards(), total / 1048576.0, in_flight, gets.size());
  epoch();
  timed_shell(curl_get);  // untimed passes
  std::vector<double> ours, theirs;
  for (int r = 0; r < runs; ++r) {
    if (r % 2 == 0) {
      ours.push_back(epoch());
      theirs.push_back(timed_shell(curl_get));
    } else {
      theirs.push_back(timed_shell(curl_get));
      ours.push_back(epoch());
    }
    std::printf("  run %d: trainyard %.0f MB/s, curl %.0f MB/s\n", r, total / ours.back() / 1e6,
                total / theirs.back() / 1e6);
  }
  for (const std::string& f : one_cfgs) std::remove(f.c_str());
  const double ty_rate = total / median(ours) / 1e6, curl_rate = total / median(theirs) / 1e6;
  std::printf("loader from the store: trainyard %.0f MB/s, curl %.0f MB/s: %.2fx curl (target >= 0.8)\n", ty_rate,
              curl_rate, ty_rate / curl_rate);

  // Upload: one checkpoint-sized buffer.
  const int64_t bytes = upload_mb << 20;
  std::string data(static_cast<size_t>(bytes), '\0');
  {
    std::mt19937_64 gen(2);
    for (size_t i = 0; i + 8 <= data.size(); i += 8) {
      const uint64_t v = gen();
      std::memcpy(data.data() + i, &v, 8);
    }
  }
  std::vector<std::string> puts;
  for (int64_t at = 0, part = 0; at < bytes; at += kRange, ++part) {
    const std::string file = "/dev/shm/s3_vs_curl_part" + std::to_string(part);
    std::ofstream(file, std::ios::binary).write(data.data() + at, std::min(kRange, bytes - at));
    // (The payload's SHA-256 given to curl, which would not compute it.)
    puts.push_back("url = \"" + endpoint + "/" + bucket + "/bench-curl/part" + std::to_string(part) +
                   "\"\nupload-file = \"" + file + "\"\noutput = \"/dev/null\"\nheader = \"x-amz-content-sha256: " +
                   ty::sha256_hex(data.data() + at, static_cast<size_t>(std::min(kRange, bytes - at))) + "\"\n");
  }
  const std::string put_cfg = "/dev/shm/s3_vs_curl_put.cfg";
  std::ofstream(put_cfg) << curl_config(netrc, puts);
  const std::string curl_put = "curl -s --no-progress-meter --parallel --parallel-max 4 -K " + put_cfg;
  auto upload = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    if (auto st = client.upload(ty::S3Url{bucket, "bench-ty/weights.bin"}, data.data(), bytes, part_mb << 20, up_parallel); !st.ok())
      die(std::string(st.message()));
    return seconds_since(t0);
  };
  upload();
  timed_shell(curl_put);
  ours.clear();
  theirs.clear();
  for (int r = 0; r < runs; ++r) {
    if (r % 2 == 0) {
      ours.push_back(upload());
      theirs.push_back(timed_shell(curl_put));
    } else {
      theirs.push_back(timed_shell(curl_put));
      ours.push_back(upload());
    }
    std::printf("  run %d: trainyard %.0f MB/s, curl %.0f MB/s\n", r, bytes / ours.back() / 1e6,
                bytes / theirs.back() / 1e6);
  }
  for (size_t p = 0; p < puts.size(); ++p) std::remove(("/dev/shm/s3_vs_curl_part" + std::to_string(p)).c_str());
  const double ty_up = bytes / median(ours) / 1e6, curl_up = bytes / median(theirs) / 1e6;
  std::printf("checkpoint upload (%ld MiB): trainyard %.0f MB/s, curl %.0f MB/s: %.2fx curl (target >= 0.8)\n",
              static_cast<long>(upload_mb), ty_up, curl_up, ty_up / curl_up);
  return 0;
}
