#include "app.h"

#include <csignal>
#include <fstream>

#include "status.h"

#ifndef RAFTKV_VERSION
#define RAFTKV_VERSION "unknown"
#endif

namespace raftkv::bench {

namespace {

void print_summary(const Options& options, const Summary& summary, std::ostream& out) {
  out << (options.json ? format_summary_json(summary) : format_summary_text(summary));
}

bool write_csv(const std::string& path, const std::vector<Summary>& rows, std::ostream& err) {
  std::ofstream file(path);
  file << format_sweep_csv(rows);
  file.close();
  if (!file) {
    err << "raftkv-bench: cannot write " << path << "\n";
    return false;
  }
  return true;
}

}  // namespace

AppResult run_app(const Options& options, uv_loop_t* loop, std::ostream& out, std::ostream& err) {
  // A server closing a connection mid-write must be an error we count, not
  // a SIGPIPE that kills the bench.
  std::signal(SIGPIPE, SIG_IGN);
  AppResult result;
  RunConfig config = options.run;
  if (options.leader_only) {
    std::string why;
    auto leader = find_leader(loop, config.endpoints, config.connect_deadline_ms, &why);
    if (!leader) {
      err << "raftkv-bench: cannot find the leader: " << why << "\n";
      result.exit_code = 1;
      return result;
    }
    config.endpoints = {*leader};
  }
  const auto progress = [&err](const std::string& line) { err << line << std::flush; };
  std::vector<std::size_t> counts = options.sweep;
  if (counts.empty()) counts.push_back(config.clients);
  for (const std::size_t clients : counts) {
    config.clients = clients;
    if (!options.sweep.empty() && config.progress) err << "--- " << clients << " clients ---\n";
    RunResult run = run_benchmark(loop, config, progress);
    if (!run.ok) {
      err << "raftkv-bench: " << run.failure << "\n";
      result.exit_code = 1;
      return result;
    }
    if (!run.note.empty()) err << "raftkv-bench: " << run.note << "\n";
    result.runs.push_back(run.summary);
    if (options.sweep.empty() || options.json) print_summary(options, run.summary, out);
  }
  if (!options.sweep.empty()) {
    if (!options.json) out << format_sweep_table(result.runs);
    if (!options.csv_path.empty() && !write_csv(options.csv_path, result.runs, err))
      result.exit_code = 1;
  }
  return result;
}

int bench_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Options options;
  std::string error;
  switch (parse_options(argc, argv, &options, &error)) {
    case ParseOutcome::kHelp:
      out << usage_text();
      return 0;
    case ParseOutcome::kVersion:
      out << "raftkv-bench " RAFTKV_VERSION "\n";
      return 0;
    case ParseOutcome::kError:
      err << "raftkv-bench: " << error << "\n";
      return 2;
    case ParseOutcome::kRun:
      break;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  const int code = run_app(options, &loop, out, err).exit_code;
  uv_loop_close(&loop);
  return code;
}

}  // namespace raftkv::bench
