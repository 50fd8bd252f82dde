#pragma once
// The one exception type for configuration mistakes (config file, SLO specs, flags): thrown at
// start-up or on reload, with the location ("file:line:column: key: what is wrong"), and caught
// by main to print and exit non-zero. Never thrown on the data path.

#include <stdexcept>

namespace lookout {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace lookout
