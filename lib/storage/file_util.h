// Small blocking file helpers for open-time recovery and the dump tool.
// Never called from the loop once the Wal is running: the async writer uses
// the libuv threadpool (fs_request.h) instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace raftkv::storage {

// The text of errno `err` ("No space left on device").
std::string errno_text(int err);

// Reads the whole file. Returns 0, or a negative errno (-ENOENT if missing).
int read_whole_file(const std::string& path, std::string* out);

// Names of the entries in `dir` (without "." and ".."), sorted.
int list_dir(const std::string& dir, std::vector<std::string>* names);

// fsync()s a directory so that creates, renames and unlinks in it are
// durable (etcd-io/etcd#6368: a rename is not durable until its directory is).
int fsync_dir(const std::string& dir);

// Creates `dir` and any missing parents (each creation made durable in its
// parent). Returns 0 if it exists or was created.
int make_dirs(const std::string& dir);

// Cuts the file to `size` bytes and fdatasync()s it.
int truncate_file(const std::string& path, std::uint64_t size);

// Writes `data` to path + ".tmp", fdatasyncs it, renames it over `path`
// and fsyncs the directory: after a crash either the old or the new
// contents are visible, never a mix.
int replace_file_atomically(const std::string& dir, const std::string& name,
                            const std::string& data);

std::string join_path(const std::string& dir, const std::string& name);

}  // namespace raftkv::storage
