// The job the multi-rank integration tests train: the Fashion-MNIST MLP example on a
// 20,000-image subset, a global batch of 96 (that 1, 2 and 3 ranks split evenly), a
// loss record every step, and SGD with momentum (its update is linear in the gradient,
// so N ranks follow one rank's trajectory to rounding). `trainyard train` arguments for
// `steps` steps, ending in a space.
#pragma once

#include <string>

namespace ty {

inline std::string mlp_job_args(int steps) {
  return std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_mlp.yaml --set train.max_steps=" +
         std::to_string(steps) +
         " --set log.every_steps=1 --set data.batch_size=96 --set data.train_subset=20000 "
         "--set validation.fraction=0 --set data.test= --set runtime.threads=1 --set comm.bucket_mb=0.2 "
         "--set optimizer.name=sgd --set optimizer.lr=0.05 --set optimizer.momentum=0.9 ";
}

}  // namespace ty
