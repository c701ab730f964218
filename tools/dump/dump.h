// raftkv-dump's work: read a data directory with the storage module's own
// read-only scanner (storage/recovery.h), print it, report problems.
// Never writes to the directory: no repair, no lock, no hardstate creation.
#pragma once

#include <ostream>

#include "options.h"

namespace raftkv::dump {

// Prints the report on `out` and each problem also as one line on `err`.
// Returns the exit status: 0 intact, 1 corrupt, torn or unreadable.
int run_dump(const Options& options, std::ostream& out, std::ostream& err);

}  // namespace raftkv::dump
