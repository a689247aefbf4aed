#include "models/fid.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {

// Fortran's LAPACK: character arguments carry hidden lengths after the others (gfortran's
// convention: size_t each).
using Dsyevd = void (*)(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len,
                        size_t uplo_len);

// LAPACK is opened when FID first needs it, not linked: Debian's liblapack.so.3 is often
// OpenBLAS, which starts its threads when it is loaded, and threads started before the
// trainer blocks its signals would take a SIGTERM meant for its checkpoint-and-stop watcher.
absl::StatusOr<Dsyevd> lapack_dsyevd() {
  static const std::pair<Dsyevd, std::string> found = []() -> std::pair<Dsyevd, std::string> {
    std::string why;
    for (const char* name : {"liblapack.so.3", "liblapack.so"}) {
      void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (lib == nullptr) {
        why = dlerror();
        continue;
      }
      if (void* f = dlsym(lib, "dsyevd_")) return {reinterpret_cast<Dsyevd>(f), ""};
      why = absl::StrCat(name, " has no dsyevd_");
    }
    return {nullptr, why};
  }();
  if (found.first == nullptr)
    return absl::FailedPreconditionError(absl::StrCat(
        "FID's matrix square root needs LAPACK's dsyevd (Debian's liblapack3; launch/setup.sh installs it): ",
        found.second));
  return found.first;
}

}  // namespace

void FeatureMomentsAccumulator::add(const float* f, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = f + r * d_;
    for (int64_t i = 0; i < d_; ++i) {
      const double xi = x[i];
      sum_[static_cast<size_t>(i)] += xi;
      double* row = &outer_[static_cast<size_t>(i * d_)];
      for (int64_t j = i; j < d_; ++j) row[j] += xi * x[j];  // the upper triangle
    }
  }
  n_ += rows;
}

absl::StatusOr<FeatureMoments> FeatureMomentsAccumulator::moments() const {
  if (n_ < 2) return absl::InvalidArgumentError(absl::StrCat("FID needs at least 2 feature vectors, got ", n_));
  FeatureMoments m;
  m.n = n_;
  m.d = d_;
  m.mean.resize(static_cast<size_t>(d_));
  for (int64_t i = 0; i < d_; ++i) m.mean[static_cast<size_t>(i)] = sum_[static_cast<size_t>(i)] / double(n_);
  m.covariance.resize(static_cast<size_t>(d_ * d_));
  // (Σ x xᵀ - n mu muᵀ) / (n - 1)
  for (int64_t i = 0; i < d_; ++i)
    for (int64_t j = i; j < d_; ++j) {
      const double c = (outer_[static_cast<size_t>(i * d_ + j)] -
                        double(n_) * m.mean[static_cast<size_t>(i)] * m.mean[static_cast<size_t>(j)]) /
                       double(n_ - 1);
      m.covariance[static_cast<size_t>(i * d_ + j)] = m.covariance[static_cast<size_t>(j * d_ + i)] = c;
    }
  return m;
}

absl::Status symmetric_eigen(std::vector<double> m, int64_t d, std::vector<double>& values,
                             std::vector<double>* vectors) {
  absl::StatusOr<Dsyevd> dsyevd_ = lapack_dsyevd();
  if (!dsyevd_.ok()) return dsyevd_.status();
  const int n = static_cast<int>(d);
  const char* job = vectors ? "V" : "N";
  values.assign(static_cast<size_t>(d), 0.0);
  int info = 0, lwork = -1, liwork = -1, iwork_size = 0;
  double work_size = 0;
  // (Row-major symmetric is column-major symmetric: the same array.)
  (*dsyevd_)(job, "U", &n, m.data(), &n, values.data(), &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1);
  if (info != 0) return absl::InternalError(absl::StrCat("LAPACK dsyevd workspace query failed (info ", info, ")"));
  lwork = static_cast<int>(work_size);
  liwork = iwork_size;
  std::vector<double> work(static_cast<size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  (*dsyevd_)(job, "U", &n, m.data(), &n, values.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  if (info != 0)
    return absl::InternalError(absl::StrCat("LAPACK dsyevd did not converge on a ", d, " x ", d, " matrix (info ",
                                            info, ")"));
  if (!vectors) return absl::OkStatus();
  // Column-major eigenvectors: column k is m[k * d .. k * d + d); as row-major, row k. Hand
  // them back as columns of a row-major matrix.
  vectors->assign(static_cast<size_t>(d * d), 0.0);
  for (int64_t k = 0; k < d; ++k)
    for (int64_t i = 0; i < d; ++i) (*vectors)[static_cast<size_t>(i * d + k)] = m[static_cast<size_t>(k * d + i)];
  return absl::OkStatus();
}

absl::StatusOr<double> frechet_distance(const FeatureMoments& a, const FeatureMoments& b) {
  if (a.d != b.d || a.d <= 0)
    return absl::InvalidArgumentError(absl::StrCat("FID of features of dimension ", a.d, " and ", b.d));
  const int64_t d = a.d;
  const auto at = [d](const std::vector<double>& m, int64_t i, int64_t j) { return m[static_cast<size_t>(i * d + j)]; };
  // S_a^½ = V diag(√l) Vᵀ
  std::vector<double> l, v;
  if (absl::Status st = symmetric_eigen(a.covariance, d, l, &v); !st.ok()) return st;
  std::vector<double> root(static_cast<size_t>(d * d), 0.0);
  for (int64_t k = 0; k < d; ++k) {
    const double s = std::sqrt(std::max(l[static_cast<size_t>(k)], 0.0));
    if (s == 0) continue;
    for (int64_t i = 0; i < d; ++i) {
      const double vik = at(v, i, k) * s;
      for (int64_t j = 0; j < d; ++j) root[static_cast<size_t>(i * d + j)] += vik * at(v, j, k);
    }
  }
  // M = S_a^½ S_b S_a^½
  std::vector<double> t(static_cast<size_t>(d * d), 0.0), m(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k) {
      const double r = at(root, i, k);
      for (int64_t j = 0; j < d; ++j) t[static_cast<size_t>(i * d + j)] += r * at(b.covariance, k, j);
    }
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k) {
      const double r = at(t, i, k);
      for (int64_t j = 0; j < d; ++j) m[static_cast<size_t>(i * d + j)] += r * at(root, k, j);
    }
  for (int64_t i = 0; i < d; ++i)  // symmetric up to rounding: make it exactly so
    for (int64_t j = i + 1; j < d; ++j)
      m[static_cast<size_t>(i * d + j)] = m[static_cast<size_t>(j * d + i)] =
          0.5 * (at(m, i, j) + at(m, j, i));
  std::vector<double> mu;
  if (absl::Status st = symmetric_eigen(m, d, mu, nullptr); !st.ok()) return st;
  double trace_root = 0, trace_a = 0, trace_b = 0, mean_gap = 0;
  for (double e : mu) trace_root += std::sqrt(std::max(e, 0.0));
  for (int64_t i = 0; i < d; ++i) {
    trace_a += at(a.covariance, i, i);
    trace_b += at(b.covariance, i, i);
    const double g = a.mean[static_cast<size_t>(i)] - b.mean[static_cast<size_t>(i)];
    mean_gap += g * g;
  }
  return std::max(0.0, mean_gap + trace_a + trace_b - 2 * trace_root);
}

}  // namespace ty
