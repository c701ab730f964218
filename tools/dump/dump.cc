#include "dump.h"

#include <google/protobuf/text_format.h>

#include <filesystem>
#include <vector>

#include "command_text.h"
#include "storage/recovery.h"

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

// Prints what replay_log walks, in text or JSON lines.
class Printer : public storage::LogVisitor {
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
    // Snapshots come later; say so explicitly rather than print nothing.
    if (options_.json)
      out_ << "{\"type\":\"snapshot\",\"present\":false}\n";
    else
      out_ << "snapshot: no snapshot\n";
  }

  void on_segment(const SegmentScan& segment) override {
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
    last_ = keep_through;
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
    const pb::Entry& entry = record.entry;
    last_ = entry.index();
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

  void problem(const char* kind, const std::string& message) {
    if (options_.json) {
      out_ << "{\"type\":\"problem\",\"kind\":\"" << kind
           << "\",\"message\":" << json_string(message) << "}\n";
    } else {
      out_ << kind << ": " << message << "\n";
    }
  }

  void summary(const char* status) {
    if (options_.json) {
      out_ << "{\"type\":\"summary\",\"status\":\"" << status
           << "\",\"first_index\":" << (last_ > 0 ? 1 : 0) << ",\"last_index\":" << last_ << "}\n";
      return;
    }
    if (last_ == 0)
      out_ << "log: empty\n";
    else
      out_ << "log: entries 1.." << last_ << "\n";
    out_ << "status: " << status << "\n";
  }

 private:
  bool in_range(std::uint64_t index) const {
    return index >= options_.from && index <= options_.to;
  }

  const Options& options_;
  std::ostream& out_;
  std::uint64_t last_ = 0;  // the log's last index so far, truncations applied
};

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
  std::vector<std::pair<const char*, std::string>> problems;
  if (std::string bad = storage::check_hard_state(scan); !bad.empty()) {
    problems.emplace_back("corrupt", bad);
  }
  if (std::string bad = storage::replay_log(scan, &printer); !bad.empty()) {
    problems.emplace_back("corrupt", bad);
  } else if (std::string torn = storage::torn_tail(scan); !torn.empty()) {
    problems.emplace_back("torn", torn);
  }
  for (const auto& [kind, message] : problems) {
    printer.problem(kind, message);
    err << "raftkv-dump: " << message << "\n";
  }
  const bool corrupt = !problems.empty() && std::string(problems.front().first) == "corrupt";
  printer.summary(problems.empty() ? "intact" : corrupt ? "corrupt" : "torn");
  return problems.empty() ? 0 : 1;
}

}  // namespace raftkv::dump
