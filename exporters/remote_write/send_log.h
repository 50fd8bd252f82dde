#pragma once
// SendLog: what a remote write WAL's sender did with the records of a Take the WAL has not
// acknowledged yet (exporters/remote_write/sample_queue.cc), so that a restart, kill -9
// included, sends the receiver again only what it may not hold, and exactly as it was sent:
//   "g S O S O ...\n"  these records went out as one request (appended before it is sent);
//   "f S O S O ...\n"  these records were delivered or dropped for good.
// (S, O) is a record's segment id and offset in the WAL: its identity across restarts.
//
// Why: a Take sends several requests at once and the WAL acknowledges it whole. Without the
// "f" lines a restart would send requests the receiver already stored, older than requests of
// the same series it stored after them (refused as out of order). Without the "g" lines a
// request of several collections cut short by the restart would be sent again one collection
// at a time, and the first part would be older than the rest the receiver may already hold.
//
// Each line is one append; a line without its newline (a crash mid-write) is ignored, as are
// lines that do not parse. At most `max_places` places are loaded. The file is rewritten when
// the WAL's cursor moves past records it names, and emptied when the WAL is.
//
// Thread-safety: none; the owner serializes every call.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lookout::remote_write {

using WalPlace = std::pair<uint64_t, uint64_t>;  // (segment id, offset)

struct SendLogState {
  std::set<WalPlace> finished;
  std::vector<std::vector<WalPlace>> groups;  // disjoint, each in WAL order, none finished
};

// Parses the file's text (bad lines skipped). A group with a finished member is finished
// whole (it had one outcome); groups that share a record are joined.
SendLogState ParseSendLog(std::string_view text, size_t max_places);

class SendLog {
 public:
  SendLog(std::string path, size_t max_places);
  ~SendLog();
  SendLog(const SendLog&) = delete;
  SendLog& operator=(const SendLog&) = delete;

  bool finished(const WalPlace& p) const { return state_.finished.count(p) > 0; }
  // The group `p` belongs to (loaded, or written by Sending), or nullptr.
  const std::vector<WalPlace>* group_of(const WalPlace& p) const;
  // The furthest record any group names ({0, 0} when none).
  WalPlace furthest_grouped() const;

  void Sending(const std::vector<WalPlace>& places);   // several records as one request
  void Finished(const std::vector<WalPlace>& places);  // delivered or dropped for good
  // The WAL's cursor moved past `upto` (everything when `all`): forgets those, rewrites the file.
  void Forget(const WalPlace& upto, bool all);

 private:
  void AddGroup(std::vector<WalPlace> places);
  void Rewrite();  // the file holds exactly state_
  void Append(char kind, const std::vector<WalPlace>& places);
  bool WriteAll(const std::string& text);

  const std::string path_;
  const size_t max_places_;
  SendLogState state_;
  std::map<WalPlace, size_t> group_index_;  // record -> index in state_.groups
  int fd_ = -1;                             // appended to; -1 when it cannot be written
  bool written_ = false;                    // anything in the file since the last rewrite
};

}  // namespace lookout::remote_write
