// `trainyard sample` and `trainyard fid`: a GAN's generator as a picture and as a score.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "launch/command_support.h"
#include "launch/commands.h"
#include "storage/png_grid.h"
#include "worker/job/parser.h"
#include "worker/trainer/datasets.h"
#include "worker/trainer/gan_task.h"

namespace ty {
namespace {

constexpr char kSampleUsage[] =
    "usage: trainyard sample JOB.yaml --weights FILE --out GRID.png [--n 64] [--seed S] [--set key.path=value ...]\n"
    "  writes n samples of the job's GAN generator as one PNG grid (8 to a row); the noise is the run's fixed\n"
    "  sample batch under seed S (default: train.seed), so the run's final weights give its last grid\n";
constexpr char kFidUsage[] =
    "usage: trainyard fid JOB.yaml --weights FILE [--classifier WEIGHTS] [--samples FILE] [--set key.path=value ...]\n"
    "  FID against the job's data.test images in the features of the CNN example's classifier (--classifier,\n"
    "  else gan.fid_classifier, else the run's own RUN_DIR/fid_classifier/weights.bin beside FILE), of\n"
    "  gan.fid_samples images of the generator in FILE, or of the images in --samples (IDX or shards, 8-bit\n"
    "  pixels, with labels), and the floor: as many training images against the test images\n";

// Pulls `--flag VALUE` / `--flag=VALUE` pairs named in `flags` out of `argv`; the rest stay.
std::string take_flags(const std::vector<std::string>& argv, const std::vector<std::string>& flags,
                       std::map<std::string, std::string>& values, std::vector<std::string>& rest) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string flag = argv[i], value;
    const size_t eq = flag.find('=');
    const bool inline_value = flag.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) flag = flag.substr(0, eq);
    if (std::find(flags.begin(), flags.end(), flag) == flags.end()) {
      rest.push_back(argv[i]);
      continue;
    }
    if (inline_value) {
      value = argv[i].substr(eq + 1);
    } else {
      if (i + 1 >= argv.size()) return flag + " needs a value";
      value = argv[++i];
    }
    values[flag] = value;
  }
  return "";
}

absl::StatusOr<int64_t> positive(const std::string& flag, const std::string& text) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v <= 0)
    return absl::InvalidArgumentError(absl::StrCat(flag, ": expected a positive whole number, got '", text, "'"));
  return v;
}

// Parses the arguments common to both; returns the exit code to stop with, or -1 to go on.
int parse(const std::vector<std::string>& argv, const char* command, const char* usage,
          const std::vector<std::string>& flags, std::map<std::string, std::string>& values, Args& a) {
  std::vector<std::string> rest;
  std::string err = take_flags(argv, flags, values, rest);
  if (err.empty()) err = parse_args(rest, true, a);
  if (!err.empty() || a.help) {
    std::fprintf(a.help ? stdout : stderr, "%s%s", a.help ? "" : absl::StrCat("trainyard ", command, ": ", err, "\n").c_str(),
                 usage);
    return a.help ? 0 : 2;
  }
  return -1;
}

absl::Status not_a_gan(const std::string& spec, const JobSpec& s, const char* command) {
  return absl::InvalidArgumentError(absl::StrCat(command, ": ", spec, " has model.kind ", name_of(s.model.kind),
                                                 "; ", command, " needs gan"));
}

}  // namespace

int sample_command(const std::vector<std::string>& argv) {
  std::map<std::string, std::string> v;
  Args a;
  if (int code = parse(argv, "sample", kSampleUsage, {"--out", "--n", "--seed"}, v, a); code >= 0) return code;
  if (!v.count("--out")) {
    std::fprintf(stderr, "trainyard sample: missing --out GRID.png\n%s", kSampleUsage);
    return 2;
  }
  int64_t n = 64;
  if (v.count("--n")) {
    auto parsed = positive("--n", v["--n"]);
    if (!parsed.ok()) return fail(parsed.status());
    n = *parsed;
  }
  if (v.count("--seed")) a.sets.push_back("train.seed=" + v["--seed"]);
  auto spec = load_job_spec(a.spec, a.sets, SpecUse::kTrain);
  if (!spec.ok()) return fail(spec.status());
  if (spec->model.kind != ModelKind::kGan) return fail(not_a_gan(a.spec, *spec, "sample"));
  auto trainer = open_trained(*spec, a.weights);
  if (!trainer.ok()) return fail(trainer.status());
  auto images = guard_runtime([&] { return (*trainer)->generate_images(n, spec->train.seed, kSampleNoise); });
  if (!images.ok()) return fail(images.status());
  if (absl::Status st = write_png_grid(v["--out"], *images); !st.ok()) return fail(st);
  std::fprintf(stderr, "trainyard sample: %ld samples (seed %lu) in %s\n", static_cast<long>(n),
               static_cast<unsigned long>(spec->train.seed), v["--out"].c_str());
  return 0;
}

int fid_command(const std::vector<std::string>& argv) {
  std::map<std::string, std::string> v;
  Args a;
  if (int code = parse(argv, "fid", kFidUsage, {"--classifier", "--samples"}, v, a); code >= 0) return code;
  auto spec = load_job_spec(a.spec, a.sets, SpecUse::kTrain);
  if (!spec.ok()) return fail(spec.status());
  if (spec->model.kind != ModelKind::kGan) return fail(not_a_gan(a.spec, *spec, "fid"));
  std::string classifier = v.count("--classifier") ? v["--classifier"] : spec->gan.fid_classifier;
  if (classifier.empty()) {
    classifier = (std::filesystem::path(a.weights).parent_path() / "fid_classifier" / "weights.bin").string();
    if (!std::filesystem::exists(classifier))
      return fail(absl::InvalidArgumentError(
          absl::StrCat("fid: no classifier: give --classifier WEIGHTS or gan.fid_classifier (", classifier,
                       ", the run's own, does not exist)")));
  }
  DatasetPtr samples;
  if (v.count("--samples")) {  // read as the job's images are: IDX or shards, to [-1, 1]
    JobSpec s = *spec;
    s.data.train = v["--samples"];
    s.data.train_labels.clear();
    s.data.val.clear();
    s.data.test.clear();
    s.data.train_subset = 0;
    s.validation_fraction = 0;
    s.storage.loader = LoaderKind::kMemory;
    auto loaded = load_job_data(s, true);
    if (!loaded.ok())
      return fail(absl::Status(loaded.status().code(), absl::StrCat("--samples: ", loaded.status().message())));
    samples = loaded->train;
  }
  auto trainer = open_trained(*spec, a.weights);
  if (!trainer.ok()) return fail(trainer.status());
  auto f = guard_runtime([&] { return (*trainer)->fid(classifier, samples.get(), stderr); });
  if (!f.ok()) return fail(f.status());
  std::printf("FID %.4f (%ld images; floor %.4f)\n", f->fid, static_cast<long>(f->samples), f->floor);
  return 0;
}

}  // namespace ty
