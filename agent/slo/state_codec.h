#pragma once
// The binary encoding of the SLO engine's state file: fixed-width little-endian host values
// (the file never leaves the node that wrote it; the header records the byte order), strings and
// blobs with a 32-bit length. The reader checks every length against what is left, so a
// truncated or corrupt file fails with reason "corrupt" instead of reading past its end; counts
// are bounded by the bytes left before anything is allocated for them.
//
// Not thread-safe; plain values.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace lookout::slo {

class StateWriter {
 public:
  template <typename T>
  void Put(T v) {
    static_assert(std::is_arithmetic_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void PutBytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  void PutString(std::string_view s) {
    Put(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  // A u32 written later (a length known once what follows is written): returns its offset.
  size_t Placeholder32() {
    const size_t at = out_.size();
    Put<uint32_t>(0);
    return at;
  }
  void Patch32(size_t at, uint32_t v) { std::memcpy(out_.data() + at, &v, sizeof v); }
  void Reserve(size_t n) { out_.reserve(n); }
  size_t size() const { return out_.size(); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}
  // Each Get fails (returns false, and every later Get too) when the input is short.
  template <typename T>
  bool Get(T* v) {
    static_assert(std::is_arithmetic_v<T>);
    if (!ok_ || in_.size() < sizeof(T)) return ok_ = false;
    std::memcpy(v, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool GetBytes(void* p, size_t n) {
    if (!ok_ || in_.size() < n) return ok_ = false;
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool GetString(std::string* s, size_t max_len) {
    uint32_t n = 0;
    if (!Get(&n) || n > max_len || n > in_.size()) return ok_ = false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  // A count of items of at least `min_item_bytes` each: refused when the rest of the input could
  // not hold that many (so a corrupt count cannot make the caller allocate gigabytes).
  bool GetCount(uint32_t* n, size_t min_item_bytes) {
    if (!Get(n)) return false;
    if (min_item_bytes > 0 && *n > in_.size() / min_item_bytes) return ok_ = false;
    return true;
  }
  bool Fail() { return ok_ = false; }
  bool ok() const { return ok_; }
  size_t left() const { return in_.size(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace lookout::slo
