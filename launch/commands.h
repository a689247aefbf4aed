// The `trainyard` subcommands. Each returns the process exit code: 0 success, 1 the job
// failed while running, 2 bad usage or a bad spec (nothing was trained).
#pragma once

#include <string>
#include <vector>

namespace ty {

int train_command(const std::vector<std::string>& args);
int eval_command(const std::vector<std::string>& args);
// trainyard generate JOB.yaml --weights FILE --prompt TEXT ...: a language model's text.
int generate_command(const std::vector<std::string>& args);
// trainyard bleu HYP REF...: corpus BLEU (and chrF) as sacreBLEU computes them.
int bleu_command(const std::vector<std::string>& args);
// trainyard translate JOB.yaml --weights FILE [--input FILE] [--beam N]: a seq2seq model's
// translation of each line.
int translate_command(const std::vector<std::string>& args);
// trainyard sample JOB.yaml --weights FILE --out GRID.png [--n N] [--seed S]: a GAN's samples.
int sample_command(const std::vector<std::string>& args);
// trainyard fid JOB.yaml --weights FILE [--classifier C] [--samples FILE]: a GAN's FID.
int fid_command(const std::vector<std::string>& args);
// `data import idx|csv ...`, `data inspect PATH...`
int data_command(const std::vector<std::string>& args);
// The coordinator daemon and the commands that talk to it (coordinator_commands.cc).
int coordinator_command(const std::vector<std::string>& args);
int worker_command(const std::vector<std::string>& args);
int wait_command(const std::vector<std::string>& args);
int logs_command(const std::vector<std::string>& args);
int workers_command(const std::vector<std::string>& args);
int submit_command(const std::vector<std::string>& args);
int jobs_command(const std::vector<std::string>& args);
// `status JOB` and `cancel JOB`.
int job_command(const std::string& command, const std::vector<std::string>& args);

}  // namespace ty
