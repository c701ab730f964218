#include "dump.h"

#include <google/protobuf/text_format.h>

#include <filesystem>
#include <vector>

#include "command_text.h"
#include "snapshot_report.h"
#include "storage/recovery.h"
#include "storage/snapshot_recovery.h"

namespace raftkv::dump {
namespace {

using storage::DirScan;
using storage::ScannedRecord;
using storage::SegmentScan;

std::string file_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// Fields of HardState beyond term and vote (added by later versions of the
// core), as " name=value" pairs, so the dump never hides persisted state.
std::string extra_fields(const pb::HardState& state, bool json) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  state.GetReflection()->ListFields(state, &fields);
  std::string out;
  for (const auto* field : fields) {
    if (field->name() == "term" || field->name() == "vote") continue;
    std::string value;
    google::protobuf::TextFormat::PrintFieldValueToString(state, field, -1, &value);
    out += json ? ",\"" + field->name() + "\":" + value : " " + field->name() + "=" + value;
  }
  return out;
}

// A problem found, in the order found: kind is "corrupt", "torn" or "stale".
struct Problem {
  const char* kind;
  std::string message;
};

// Prints what replay_log walks, in text or JSON lines, and keeps the log's
// extent for the snapshot rules.
class Printer : public storage::ExtentBuilder {
 public:
  Printer(const Options& options, std::ostream& out) : options_(options), out_(out) {}

  void hard_state(const DirScan& scan) {
    const pb::HardState& state = scan.hard_state;
    if (!scan.hard_state_ok) {
      const char* what = scan.hard_state_present ? "unreadable" : "none";
      if (options_.json)
        out_ << "{\"type\":\"hard_state\",\"present\":false}\n";
      else
        out_ << "hard state: " << what << "\n";
    } else if (options_.json) {
      out_ << "{\"type\":\"hard_state\",\"present\":true,\"term\":" << state.term()
           << ",\"vote\":" << state.vote() << extra_fields(state, true) << "}\n";
    } else {
      out_ << "hard state: term=" << state.term() << " vote=" << state.vote()
           << extra_fields(state, false) << "\n";
    }
  }

  void snapshots(const std::vector<SnapshotReport>& reports, const DirScan& scan) {
    if (reports.empty()) {
      // Say so explicitly rather than print nothing.
      out_ << (options_.json ? "{\"type\":\"snapshot\",\"present\":false}"
                             : "snapshot: no snapshot")
           << "\n";
    }
    for (const SnapshotReport& report : reports) {
      out_ << (options_.json ? snapshot_json(report) : snapshot_text(report)) << "\n";
    }
    // Unfinished writes: not a problem (recovery removes them), but shown.
    for (const std::string& tmp : scan.snapshot_tmps) {
      std::error_code ignored;
      const auto bytes = std::filesystem::file_size(tmp, ignored);
      if (options_.json) {
        out_ << "{\"type\":\"snapshot_tmp\",\"file\":" << json_string(file_name(tmp))
             << ",\"bytes\":" << bytes << "}\n";
      } else {
        out_ << "snapshot tmp " << file_name(tmp) << ": " << bytes
             << " bytes, an unfinished write (removed at the next start)\n";
      }
    }
  }

  void on_segment(const SegmentScan& segment) override {
    ExtentBuilder::on_segment(segment);
    if (options_.json) {
      out_ << "{\"type\":\"segment\",\"file\":" << json_string(file_name(segment.path))
           << ",\"first_index\":" << segment.first_index << ",\"version\":" << segment.version
           << ",\"records\":" << segment.records.size() << ",\"bytes\":" << segment.file_bytes
           << "}\n";
      return;
    }
    out_ << "segment " << file_name(segment.path) << ": first index " << segment.first_index
         << ", format version " << segment.version << ", " << segment.records.size() << " records, "
         << segment.file_bytes << " bytes\n";
  }

  void on_truncate(std::uint64_t keep_through, const SegmentScan& segment,
                   const ScannedRecord& record) override {
    ExtentBuilder::on_truncate(keep_through, segment, record);
    if (!in_range(keep_through + 1)) return;
    if (options_.json) {
      out_ << "{\"type\":\"truncate\",\"keep_through\":" << keep_through
           << ",\"file\":" << json_string(file_name(segment.path))
           << ",\"offset\":" << record.offset << "}\n";
      return;
    }
    out_ << "truncate: entries from " << keep_through + 1 << " on are replaced ("
         << file_name(segment.path) << " offset " << record.offset << ")\n";
  }

  void on_entry(const SegmentScan& segment, const ScannedRecord& record) override {
    ExtentBuilder::on_entry(segment, record);
    const pb::Entry& entry = record.entry;
    if (!in_range(entry.index())) return;
    if (options_.json) {
      out_ << "{\"type\":\"entry\",\"index\":" << entry.index() << ",\"term\":" << entry.term()
           << ",\"entry_type\":" << json_string(entry_type_name(entry.type()))
           << ",\"command\":" << command_json(entry)
           << ",\"file\":" << json_string(file_name(segment.path))
           << ",\"offset\":" << record.offset << "}\n";
      return;
    }
    const std::string command = command_text(entry);
    out_ << "entry " << entry.index() << " term=" << entry.term() << " "
         << entry_type_name(entry.type()) << (command.empty() ? "" : " ") << command << "\n";
  }

  void problem(const Problem& found) {
    if (options_.json) {
      out_ << "{\"type\":\"problem\",\"kind\":\"" << found.kind
           << "\",\"message\":" << json_string(found.message) << "}\n";
    } else {
      out_ << found.kind << ": " << found.message << "\n";
    }
  }

  // `recovered_from`: the snapshot recovery would start from (nullptr: the
  // log alone, or recovery would refuse: `refused`).
  void summary(const char* status, const storage::SnapshotInfo* recovered_from, bool refused) {
    const storage::LogExtent& log = extent();
    const std::uint64_t snapshot_index = recovered_from ? recovered_from->meta.index() : 0;
    if (options_.json) {
      out_ << "{\"type\":\"summary\",\"status\":\"" << status << "\",\"first_index\":" << log.first
           << ",\"last_index\":" << log.last() << ",\"snapshot_index\":" << snapshot_index << "}\n";
      return;
    }
    if (log.empty())
      out_ << "log: empty\n";
    else
      out_ << "log: entries " << log.first << ".." << log.last() << "\n";
    if (refused) {
      out_ << "recovery: refused\n";
    } else if (recovered_from) {
      out_ << "recovery: from " << file_name(recovered_from->path) << " (index " << snapshot_index
           << " term " << recovered_from->meta.term() << "), then the log\n";
    } else {
      out_ << "recovery: from the log alone\n";
    }
    out_ << "status: " << status << "\n";
  }

 private:
  bool in_range(std::uint64_t index) const {
    return index >= options_.from && index <= options_.to;
  }

  const Options& options_;
  std::ostream& out_;
};

// The snapshot rules of recovery (storage/snapshot_recovery.h) over the
// verification results the dump already has. Adds the refusal or the stale
// log to `problems`; a refusal caused by a corrupt snapshot replaces that
// snapshot's own line. Returns false if recovery would refuse.
bool check_recovery(const DirScan& scan, const storage::LogExtent& log,
                    const std::vector<SnapshotReport>& reports, storage::SnapshotPlan* plan,
                    std::vector<Problem>* problems) {
  auto load = [&reports](const std::string& path, storage::SnapshotInfo* info, std::string* error) {
    for (const SnapshotReport& report : reports) {
      if (report.path != path) continue;
      *info = report.info;
      *error = report.problem;
      return report.ok;
    }
    return false;
  };
  std::string refusal;
  if (storage::plan_snapshot_recovery(scan.snapshots, log, load, plan, &refusal)) {
    if (plan->drop_log) problems->push_back({"stale", plan->drop_reason});
    return true;
  }
  for (Problem& problem : *problems) {
    if (refusal.rfind(problem.message, 0) == 0) {
      problem.message = refusal;
      return false;
    }
  }
  problems->push_back({"corrupt", refusal});
  return false;
}

}  // namespace

int run_dump(const Options& options, std::ostream& out, std::ostream& err) {
  DirScan scan;
  // scan_dir only reads: it never creates, repairs or locks anything.
  if (const int rc = storage::scan_dir(options.data_dir, &scan); rc != 0) {
    err << "raftkv-dump: " << options.data_dir
        << ": cannot read data directory: " << std::generic_category().message(-rc) << "\n";
    return 1;
  }
  Printer printer(options, out);
  printer.hard_state(scan);
  const std::vector<SnapshotReport> reports = check_snapshots(scan.snapshots);
  printer.snapshots(reports, scan);
  std::vector<Problem> problems;
  bool refused = false;
  if (std::string bad = storage::check_hard_state(scan); !bad.empty()) {
    problems.push_back({"corrupt", bad});
    refused = true;
  }
  for (const SnapshotReport& report : reports) {
    if (!report.ok) problems.push_back({"corrupt", report.problem});
  }
  storage::SnapshotPlan plan;
  if (std::string bad = storage::replay_log(scan, &printer); !bad.empty()) {
    problems.push_back({"corrupt", bad});
    refused = true;
  } else if (!check_recovery(scan, printer.extent(), reports, &plan, &problems)) {
    refused = true;
  } else if (std::string torn = storage::torn_tail(scan); !torn.empty() && !plan.drop_log) {
    problems.push_back({"torn", torn});
  }
  bool corrupt = false;
  for (const Problem& problem : problems) {
    printer.problem(problem);
    err << "raftkv-dump: " << problem.message << "\n";
    corrupt = corrupt || std::string(problem.kind) == "corrupt";
  }
  const char* status = problems.empty() ? "intact" : corrupt ? "corrupt" : problems.front().kind;
  printer.summary(status, plan.snapshot ? &*plan.snapshot : nullptr, refused);
  return problems.empty() ? 0 : 1;
}

}  // namespace raftkv::dump
