// Draws a seed's scenario: core options, timing regime, fault mix.
#pragma once

#include <cstdint>

#include "core/options.h"
#include "world.h"

namespace raftkv::sim {

Scenario make_scenario(std::uint64_t seed, std::size_t members, std::uint64_t steps,
                       const core::UnsafeTestFaults& faults, bool verbose);

}  // namespace raftkv::sim
