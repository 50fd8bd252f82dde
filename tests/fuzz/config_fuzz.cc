// Fuzzes the strict YAML config parser: any input either parses or raises ConfigError with a
// location; nothing else may escape (no crash, no other exception type).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    (void)lookout::ParseConfig(yaml, "fuzz.yaml");
  } catch (const lookout::ConfigError&) {
    // the expected way to reject input
  }
  return 0;
}
