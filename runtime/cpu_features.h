// Can this CPU run code compiled for a Halide target string? Checks the target's arch
// against this build's and each CPU-feature token against the running CPU.
#pragma once

#include <string>

namespace qembed::detail {

// Returns true if supported; otherwise false with the reason in *why.
bool cpu_supports_target(const std::string& target, std::string* why);

}  // namespace qembed::detail
