#include "snapshot_report.h"

#include <filesystem>

#include "command_text.h"

namespace raftkv::dump {
namespace {

std::string file_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// The problem without its leading "FILE: ", which the line already names.
std::string problem_after_name(const SnapshotReport& report) {
  const std::string prefix = report.path + ": ";
  if (report.problem.rfind(prefix, 0) == 0) return report.problem.substr(prefix.size());
  return report.problem;
}

}  // namespace

std::vector<SnapshotReport> check_snapshots(const std::vector<std::string>& paths) {
  std::vector<SnapshotReport> reports;
  for (const std::string& path : paths) {
    SnapshotReport report;
    report.path = path;
    storage::parse_snapshot_file_name(file_name(path), &report.index, &report.term);
    report.header_ok = storage::read_snapshot_header(path, &report.info, &report.problem);
    // Verify only: the pairs are not printed (a snapshot can be huge).
    if (report.header_ok)
      report.ok = storage::read_snapshot(path, &report.info, {}, &report.problem);
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string snapshot_text(const SnapshotReport& report) {
  std::string out = "snapshot " + file_name(report.path) + ": ";
  if (!report.header_ok) return out + problem_after_name(report);
  const pb::SnapshotMeta& meta = report.info.meta;
  out += "index " + std::to_string(meta.index()) + " term " + std::to_string(meta.term()) +
         ", members [" + members_text(meta.config()) + "], " +
         std::to_string(report.info.pair_count) + " pairs, " +
         std::to_string(report.info.file_bytes) + " bytes, ";
  return out + (report.ok ? "ok" : problem_after_name(report));
}

std::string snapshot_json(const SnapshotReport& report) {
  std::string out =
      "{\"type\":\"snapshot\",\"present\":true,\"file\":" + json_string(file_name(report.path));
  if (report.header_ok) {
    const pb::SnapshotMeta& meta = report.info.meta;
    out += ",\"index\":" + std::to_string(meta.index()) +
           ",\"term\":" + std::to_string(meta.term()) +
           ",\"members\":" + members_json(meta.config()) +
           ",\"pairs\":" + std::to_string(report.info.pair_count) +
           ",\"bytes\":" + std::to_string(report.info.file_bytes);
  } else {
    out +=
        ",\"index\":" + std::to_string(report.index) + ",\"term\":" + std::to_string(report.term);
  }
  out += ",\"status\":";
  if (report.ok) return out + "\"ok\"}";
  return out + "\"corrupt\",\"problem\":" + json_string(report.problem) + "}";
}

}  // namespace raftkv::dump
