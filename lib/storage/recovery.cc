#include "storage/recovery.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <utility>

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

int scan_dir(const std::string& dir, DirScan* out, const SegmentHook& hook) {
  *out = DirScan{};
  out->dir = dir;
  std::vector<std::string> names;
  if (const int rc = list_dir(dir, &names); rc != 0) return rc;
  // Names are zero-padded, so sorted names are sorted first indexes.
  std::vector<std::pair<std::string, std::uint64_t>> segments;
  for (const std::string& name : names) {
    std::uint64_t first = 0;
    std::uint64_t term = 0;
    if (parse_segment_file_name(name, &first)) {
      segments.emplace_back(join_path(dir, name), first);
    } else if (name == kHardStateTmpName) {
      out->tmp_present = true;
    } else if (parse_snapshot_tmp_name(name, &first, &term)) {
      out->snapshot_tmps.push_back(join_path(dir, name));
    }
  }
  for (std::size_t i = 0; i < segments.size(); ++i) {
    out->segments.push_back(scan_segment(segments[i].first, segments[i].second));
    if (hook) hook(out->segments.back(), i + 1 == segments.size());
  }
  out->snapshots = list_snapshots(dir);
  scan_hard_state(dir, out);
  return 0;
}

std::string check_hard_state(const DirScan& scan) {
  const std::string path = join_path(scan.dir, kHardStateName);
  if (scan.hard_state_present && !scan.hard_state_ok) {
    return corrupt_at(path, scan.hard_state_offset, scan.hard_state_problem);
  }
  // The writer creates hardstate before any segment or snapshot, so its
  // absence next to them means it was lost: refuse rather than forget a vote.
  if (!scan.hard_state_present && !scan.segments.empty()) {
    return corrupt_at(path, 0, "missing, but the log has segments");
  }
  if (!scan.hard_state_present && !scan.snapshots.empty()) {
    return corrupt_at(path, 0, "missing, but the directory has snapshots");
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

std::string LogReplay::add(const SegmentScan& segment, bool is_last) {
  // The log starts at the first segment's first index.
  if (!std::exchange(started_, true)) last_ = segment.first_index - 1;
  visitor_->on_segment(segment);
  return replay_segment(segment, is_last, &last_, visitor_);
}

std::string replay_log(const DirScan& scan, LogVisitor* visitor) {
  LogReplay replay(visitor);
  for (std::size_t i = 0; i < scan.segments.size(); ++i) {
    const std::string problem = replay.add(scan.segments[i], i + 1 == scan.segments.size());
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

void ExtentBuilder::on_segment(const SegmentScan& segment) {
  if (extent_.first_segment.empty()) extent_.first_segment = segment.path;
}

void ExtentBuilder::on_truncate(std::uint64_t keep_through, const SegmentScan&,
                                const ScannedRecord&) {
  // replay_log never truncates below the first segment's first index.
  extent_.terms.resize(keep_through + 1 - extent_.first);
}

void ExtentBuilder::on_entry(const SegmentScan&, const ScannedRecord& record) {
  if (extent_.empty()) extent_.first = record.entry.index();
  extent_.terms.push_back(record.entry.term());
}

namespace {

// The entries after `floor`, alongside the whole log's extent.
class Assembler : public ExtentBuilder {
 public:
  Assembler(std::vector<pb::Entry>* entries, std::uint64_t floor)
      : entries_(entries), floor_(floor) {}
  void on_truncate(std::uint64_t keep_through, const SegmentScan& segment,
                   const ScannedRecord& record) override {
    ExtentBuilder::on_truncate(keep_through, segment, record);
    while (!entries_->empty() && entries_->back().index() > keep_through) entries_->pop_back();
  }
  void on_entry(const SegmentScan& segment, const ScannedRecord& record) override {
    ExtentBuilder::on_entry(segment, record);
    if (record.entry.index() > floor_) entries_->push_back(record.entry);
  }

 private:
  std::vector<pb::Entry>* entries_;
  std::uint64_t floor_;
};

// The highest index a snapshot of `dir` may hold: the newest one whose
// header reads. Recovery chooses it or an older one, so entries up to it
// need not be kept while scanning (0: keep them all).
std::uint64_t snapshot_floor(const std::string& dir) {
  for (const std::string& path : list_snapshots(dir)) {
    SnapshotInfo info;
    std::string problem;
    if (read_snapshot_header(path, &info, &problem)) return info.meta.index();
  }
  return 0;
}

// Frees a replayed segment's records but its last: whether a segment held
// any record still matters (torn_tail, repair_tail), the records do not.
void release_records(SegmentScan* segment) {
  if (segment->records.size() <= 1) return;
  std::vector<ScannedRecord> last;
  last.push_back(std::move(segment->records.back()));
  segment->records.swap(last);
}

// Scans `dir` and replays its log into `entries` (those after `floor`) as
// each segment is read, freeing its records once replayed: the peak is one
// segment's records plus the entries kept, not every record of the log
// twice, and that memory is free again before the snapshot is loaded.
// `replay_error`: the log's fatal problem, "" if none (the scan goes on, so
// that the hard state's problem, checked first, can still be reported).
int scan_and_assemble(const std::string& dir, std::uint64_t floor, DirScan* scan,
                      std::vector<pb::Entry>* entries, LogExtent* extent,
                      std::string* replay_error) {
  entries->clear();
  Assembler assembler(entries, floor);
  LogReplay replay(&assembler);
  replay_error->clear();
  const int rc = scan_dir(dir, scan, [&](SegmentScan& segment, bool last) {
    if (replay_error->empty()) *replay_error = replay.add(segment, last);
    release_records(&segment);
  });
  *extent = assembler.extent();
  return rc;
}

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

// Removes every *.snap.tmp: at open nothing can be writing one (we hold
// the directory lock), so each is an interrupted snapshot write or receive.
bool remove_snapshot_tmps(const DirScan& scan, std::string* error) {
  for (const std::string& tmp : scan.snapshot_tmps) {
    RKV_INFO("storage", "%s: removing an interrupted snapshot write", tmp.c_str());
    if (!remove_file(scan.dir, tmp, error)) return false;
  }
  return true;
}

// Deletes every segment, newest first, so that a crash half way leaves a
// log that still starts where it did (never a gap at the front).
bool drop_log(DirScan* scan, const std::string& why, std::string* error) {
  RKV_WARN("storage", "%s", why.c_str());
  while (!scan->segments.empty()) {
    if (!remove_file(scan->dir, scan->segments.back().path, error)) return false;
    scan->segments.pop_back();
  }
  return true;
}

// Chooses the snapshot (snapshot_recovery.h), feeding `sink` on the way.
bool choose_snapshot(const DirScan& scan, const LogExtent& log, SnapshotSink* sink,
                     SnapshotPlan* plan, std::string* error) {
  auto load = [sink](const std::string& path, SnapshotInfo* info, std::string* problem) {
    if (sink == nullptr) return read_snapshot(path, info, {}, problem);
    const bool ok = read_snapshot(
        path, info,
        [sink](std::string_view key, std::string_view value) { sink->pair(key, value); }, problem);
    if (!ok) sink->discard();
    return ok;
  };
  if (!plan_snapshot_recovery(scan.snapshots, log, load, plan, error)) return false;
  for (const std::string& skipped : plan->skipped) {
    RKV_WARN("storage", "%s; using an older snapshot (the file is left in place)", skipped.c_str());
  }
  return true;
}

void fill_layout(const DirScan& scan, const LogExtent& log, const RecoveredState& state,
                 LogLayout* layout) {
  *layout = LogLayout{};
  for (const SegmentScan& segment : scan.segments) {
    layout->segment_firsts.push_back(segment.first_index);
    layout->segment_bytes.push_back(segment.valid_bytes);
  }
  if (!scan.segments.empty()) layout->last_segment_bytes = scan.segments.back().valid_bytes;
  const std::uint64_t snapshot_index = state.snapshot ? state.snapshot->meta.index() : 0;
  // What is on disk, including entries not kept in memory (at or below the
  // snapshot's index): the writer appends after the log's true end.
  if (log.empty() || scan.segments.empty()) {
    layout->last_index = snapshot_index;
    layout->first_writable = snapshot_index + 1;
  } else {
    layout->last_index = std::max(snapshot_index, log.last());
    layout->first_writable = log.first;
  }
}

}  // namespace

bool recover_dir(const std::string& dir, RecoveredState* out, LogLayout* layout, std::string* error,
                 SnapshotSink* sink) {
  if (const int rc = make_dirs(dir); rc != 0) {
    *error = dir + ": cannot create data directory: " + errno_text(rc);
    return false;
  }
  *out = RecoveredState{};
  std::uint64_t floor = snapshot_floor(dir);
  DirScan scan;
  LogExtent log;
  std::string replay_error;
  if (const int rc = scan_and_assemble(dir, floor, &scan, &out->entries, &log, &replay_error);
      rc != 0) {
    *error = dir + ": cannot read data directory: " + errno_text(rc);
    return false;
  }
  *error = check_hard_state(scan);
  if (error->empty()) *error = replay_error;
  if (!error->empty()) return false;
  // Every refusal comes before the first change to the directory.
  SnapshotPlan plan;
  if (!choose_snapshot(scan, log, sink, &plan, error)) return false;
  const std::uint64_t chosen = plan.snapshot ? plan.snapshot->meta.index() : 0;
  if (chosen < floor && !plan.drop_log) {
    // A fallback to an older snapshot (or none): it needs entries the
    // first pass did not keep. Rare (a damaged snapshot), so read again.
    floor = chosen;
    if (const int rc = scan_and_assemble(dir, floor, &scan, &out->entries, &log, &replay_error);
        rc != 0 || !replay_error.empty()) {
      *error = rc != 0 ? dir + ": cannot read data directory: " + errno_text(rc) : replay_error;
      return false;
    }
  }
  if (!remove_snapshot_tmps(scan, error)) return false;
  if (plan.drop_log) {
    if (!drop_log(&scan, plan.drop_reason, error)) return false;
    out->entries.clear();
  } else if (!repair_tail(&scan, error)) {
    return false;
  }
  if (!finish_dir(scan, error)) return false;
  out->hard_state = scan.hard_state;
  out->snapshot = std::move(plan.snapshot);
  fill_layout(scan, plan.drop_log ? LogExtent{} : log, *out, layout);
  return true;
}

}  // namespace raftkv::storage
