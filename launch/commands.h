// The `trainyard` subcommands. Each returns the process exit code: 0 success, 1 the job
// failed while running, 2 bad usage or a bad spec (nothing was trained).
#pragma once

#include <string>
#include <vector>

namespace ty {

int train_command(const std::vector<std::string>& args);
int eval_command(const std::vector<std::string>& args);
// `data import idx|csv ...`, `data inspect PATH...`
int data_command(const std::vector<std::string>& args);

}  // namespace ty
