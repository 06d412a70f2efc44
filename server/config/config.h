// Reads Options from the command line, LIVEFEED_* environment variables and a config file
// (--config), in that order of precedence, over the defaults of options.h.
// The only file that includes Boost.Program_options.
#pragma once

#include <string>
#include <vector>

#include "config/options.h"

namespace livefeed {

struct LoadResult {
  enum class Outcome { kRun, kExitOk, kExitUsage } outcome = Outcome::kRun;
  Options options;
  std::string message;  // For kExitOk (--help) or kExitUsage (what was wrong).
};

// `environ` style: a null-terminated array of "NAME=value".
LoadResult LoadOptions(int argc, const char* const* argv, const char* const* environment,
                       const std::string& default_web_root);

// The long names of every option, as --help lists them.
std::vector<std::string> OptionNames();

}  // namespace livefeed
