#pragma once
// Result<T>: a value or an error message, for the data path where exceptions must not cross
// I/O boundaries. Errors carry a short machine-readable `reason` (used as a metric label) and a
// human-readable `detail` (used in logs).

#include <string>
#include <utility>
#include <variant>

namespace lookout {

struct Error {
  std::string reason;  // bounded vocabulary: "open", "parse", "truncated", "too_large", ...
  std::string detail;  // free text for logs
  // Set by a collector that left out the entries it could not read and kept the rest
  // (Collector::Collect): the caller keeps its output but still counts the failure.
  bool partial = false;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result with no value.
struct Ok {};
using Status = Result<Ok>;

inline Error MakeError(std::string reason, std::string detail) {
  return Error{std::move(reason), std::move(detail), false};
}

// A collector's error that keeps the collector's other series (see Error::partial).
inline Error MakePartialError(std::string reason, std::string detail) {
  return Error{std::move(reason), std::move(detail), true};
}

}  // namespace lookout
