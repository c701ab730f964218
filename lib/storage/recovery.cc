#include "storage/recovery.h"

#include <unistd.h>

#include <cinttypes>

#include "storage/file_util.h"
#include "storage/hard_state_file.h"
#include "util/log.h"

namespace raftkv::storage {

std::string corrupt_at(const std::string& file, std::uint64_t offset, const std::string& why) {
  return file + ": corrupt record at offset " + std::to_string(offset) + " (" + why + ")";
}

namespace {

void scan_hard_state(const std::string& dir, DirScan* out) {
  std::string bytes;
  const int rc = read_whole_file(join_path(dir, kHardStateName), &bytes);
  if (rc == -ENOENT) return;
  out->hard_state_present = true;
  if (rc != 0) {
    out->hard_state_problem = "cannot read: " + errno_text(rc);
    return;
  }
  out->hard_state_ok =
      decode_hard_state(bytes, &out->hard_state, &out->hard_state_problem, &out->hard_state_offset);
}

}  // namespace

int scan_dir(const std::string& dir, DirScan* out) {
  *out = DirScan{};
  out->dir = dir;
  std::vector<std::string> names;
  if (const int rc = list_dir(dir, &names); rc != 0) return rc;
  for (const std::string& name : names) {
    std::uint64_t first = 0;
    // Names are zero-padded, so sorted names are sorted first indexes.
    if (parse_segment_file_name(name, &first)) {
      out->segments.push_back(scan_segment(join_path(dir, name), first));
    } else if (name == kHardStateTmpName) {
      out->tmp_present = true;
    }
  }
  scan_hard_state(dir, out);
  return 0;
}

std::string check_hard_state(const DirScan& scan) {
  const std::string path = join_path(scan.dir, kHardStateName);
  if (scan.hard_state_present && !scan.hard_state_ok) {
    return corrupt_at(path, scan.hard_state_offset, scan.hard_state_problem);
  }
  // The writer creates hardstate before any segment, so its absence next
  // to segments means it was lost: refuse rather than forget a vote.
  if (!scan.hard_state_present && !scan.segments.empty()) {
    return corrupt_at(path, 0, "missing, but the log has segments");
  }
  return "";
}

namespace {

// Index rules of one record given the log's last index so far.
std::string check_record(const SegmentScan& segment, const ScannedRecord& record, bool first,
                         std::uint64_t last) {
  const std::uint64_t index = record.entry.index();
  if (first && index != segment.first_index) {
    return "first record has index " + std::to_string(index) + ", file name says " +
           std::to_string(segment.first_index);
  }
  if (index < segment.first_index || index == 0) {
    return "index " + std::to_string(index) + " below the segment's first index";
  }
  if (index > last + 1) {
    return "index gap: log ends at " + std::to_string(last) + ", record has index " +
           std::to_string(index) + (first ? " (a segment is missing)" : "");
  }
  return "";
}

std::string replay_segment(const SegmentScan& segment, bool is_last, std::uint64_t* last,
                           LogVisitor* visitor) {
  if (segment.tail == TailState::kCorrupt) {
    return corrupt_at(segment.path, segment.problem_offset, segment.problem);
  }
  if (segment.tail == TailState::kTorn && !is_last) {
    return corrupt_at(segment.path, segment.problem_offset,
                      segment.problem + ", in a segment that is not the last");
  }
  if (segment.records.empty() && !is_last) {
    return corrupt_at(segment.path, kSegmentHeaderBytes,
                      "segment holds no record but is not the last");
  }
  for (std::size_t i = 0; i < segment.records.size(); ++i) {
    const ScannedRecord& record = segment.records[i];
    const std::string problem = check_record(segment, record, i == 0, *last);
    if (!problem.empty()) return corrupt_at(segment.path, record.offset, problem);
    if (record.entry.index() <= *last) {
      *last = record.entry.index() - 1;
      visitor->on_truncate(*last, segment, record);
    }
    visitor->on_entry(segment, record);
    *last = record.entry.index();
  }
  return "";
}

}  // namespace

std::string replay_log(const DirScan& scan, LogVisitor* visitor) {
  std::uint64_t last = 0;  // snapshots will start this at the snapshot's index
  for (std::size_t i = 0; i < scan.segments.size(); ++i) {
    visitor->on_segment(scan.segments[i]);
    const std::string problem =
        replay_segment(scan.segments[i], i + 1 == scan.segments.size(), &last, visitor);
    if (!problem.empty()) return problem;
  }
  return "";
}

std::string torn_tail(const DirScan& scan) {
  if (scan.segments.empty()) return "";
  const SegmentScan& last = scan.segments.back();
  if (last.tail == TailState::kTorn) {
    return last.path + ": torn record at offset " + std::to_string(last.problem_offset) + " (" +
           last.problem + ")";
  }
  if (last.records.empty()) {
    return last.path + ": torn record at offset " + std::to_string(last.valid_bytes) +
           " (segment holds no record)";
  }
  return "";
}

namespace {

class Assembler : public LogVisitor {
 public:
  explicit Assembler(std::vector<pb::Entry>* entries) : entries_(entries) {}
  void on_truncate(std::uint64_t keep_through, const SegmentScan&, const ScannedRecord&) override {
    entries_->resize(keep_through);  // entries hold indexes 1..n at positions 0..n-1
  }
  void on_entry(const SegmentScan&, const ScannedRecord& record) override {
    entries_->push_back(record.entry);
  }

 private:
  std::vector<pb::Entry>* entries_;
};

// Removes `path` durably; false with `error` set on failure.
bool remove_file(const std::string& dir, const std::string& path, std::string* error) {
  const int rc = ::unlink(path.c_str()) == 0 ? fsync_dir(dir) : -errno;
  if (rc != 0) *error = path + ": cannot remove: " + errno_text(rc);
  return rc == 0;
}

// Repairs the end of the log (see the rules in recovery.h). Drops removed
// segments from `scan` so that the layout reflects the disk.
bool repair_tail(DirScan* scan, std::string* error) {
  if (scan->segments.empty()) return true;
  const SegmentScan& last = scan->segments.back();
  const std::string why = torn_tail(*scan);
  if (why.empty()) return true;
  if (last.records.empty()) {
    RKV_WARN("storage", "%s; removing the segment", why.c_str());
    if (!remove_file(scan->dir, last.path, error)) return false;
    scan->segments.pop_back();
    return true;
  }
  RKV_WARN("storage", "%s; truncating to %" PRIu64 " bytes", why.c_str(), last.valid_bytes);
  if (const int rc = truncate_file(last.path, last.valid_bytes); rc != 0) {
    *error = last.path + ": cannot truncate torn tail: " + errno_text(rc);
    return false;
  }
  return true;
}

bool finish_dir(const DirScan& scan, std::string* error) {
  if (scan.tmp_present) {
    const std::string tmp = join_path(scan.dir, kHardStateTmpName);
    RKV_INFO("storage", "%s: removing an interrupted hard state update", tmp.c_str());
    if (!remove_file(scan.dir, tmp, error)) return false;
  }
  if (!scan.hard_state_present) {
    // A fresh member: create hardstate now so that its absence is
    // corruption from here on.
    RKV_INFO("storage", "%s: new data directory", scan.dir.c_str());
    const int rc = replace_file_atomically(scan.dir, kHardStateName, encode_hard_state({}));
    if (rc != 0) {
      *error = join_path(scan.dir, kHardStateName) + ": cannot create: " + errno_text(rc);
      return false;
    }
  }
  return true;
}

}  // namespace

bool recover_dir(const std::string& dir, RecoveredState* out, LogLayout* layout,
                 std::string* error) {
  if (const int rc = make_dirs(dir); rc != 0) {
    *error = dir + ": cannot create data directory: " + errno_text(rc);
    return false;
  }
  DirScan scan;
  if (const int rc = scan_dir(dir, &scan); rc != 0) {
    *error = dir + ": cannot read data directory: " + errno_text(rc);
    return false;
  }
  *error = check_hard_state(scan);
  if (!error->empty()) return false;
  *out = RecoveredState{};
  Assembler assembler(&out->entries);
  *error = replay_log(scan, &assembler);
  if (!error->empty()) return false;
  if (!repair_tail(&scan, error) || !finish_dir(scan, error)) return false;
  out->hard_state = scan.hard_state;
  *layout = LogLayout{};
  for (const SegmentScan& segment : scan.segments)
    layout->segment_firsts.push_back(segment.first_index);
  if (!scan.segments.empty()) layout->last_segment_bytes = scan.segments.back().valid_bytes;
  layout->last_index = out->entries.empty() ? 0 : out->entries.back().index();
  return true;
}

}  // namespace raftkv::storage
