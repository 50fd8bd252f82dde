#pragma once
// Clock: injected wherever code reads the time, so tests control it. Implementations must be
// thread-safe.

#include <chrono>

namespace lookout {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for timestamps exposed to users).
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time (for durations and deadlines).
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace lookout
