#pragma once
// Where the SLO engine's state outlives the process: one directory per agent (a hostPath in the
// DaemonSet), locked with flock(2) so two agents never share it (as the span queue's), holding
// one file, `slo-state`, replaced atomically: written to a temporary file, fdatasync'ed, renamed
// over the old one, then the directory fsync'ed, so a crash at any point leaves either the old
// or the new file whole.
//
// File layout (all integers and doubles in the writing host's byte order, recorded in the
// header; the file is node-local):
//   "lookout-slo-state\n"  magic
//   u32 format version, u32 byte-order mark 0x01020304
//   u64 payload length, u32 CRC-32 (zlib) of the payload
//   payload: the engine's (agent/slo/slo_engine.cc, SloEngine::EncodeState)
// Load refuses, with a reason: "too_large" (over max_bytes, checked before reading), "truncated"
// (shorter than its header says), "corrupt" (bad magic, CRC, byte order), "version" (another
// format version). A missing file is not an error: Load returns an empty string.
//
// Thread-safety: Save() and Load() from one thread at a time (the engine's).

#include <memory>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout::slo {

class StateDirectory {
 public:
  static constexpr uint32_t kFormatVersion = 1;
  // Creates the directory if needed and locks it. Errors: "io" (cannot create, open or write),
  // "locked" (another process holds it).
  static Result<std::unique_ptr<StateDirectory>> Open(const std::string& directory);
  ~StateDirectory();
  StateDirectory(const StateDirectory&) = delete;
  StateDirectory& operator=(const StateDirectory&) = delete;

  // The payload of the last saved file, "" when there is none.
  Result<std::string> Load(size_t max_bytes) const;
  // Replaces the file with one holding `payload`; returns the bytes written.
  Result<size_t> Save(std::string_view payload);
  // The file's bytes for `payload`: header and payload (what Save writes; tests and the fuzzer
  // build files with it).
  static std::string EncodeFile(std::string_view payload);
  const std::string& path() const { return path_; }

 private:
  explicit StateDirectory(std::string directory);
  std::string directory_;
  std::string path_;
  int lock_fd_ = -1;
};

}  // namespace lookout::slo
