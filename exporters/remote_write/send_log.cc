#include "exporters/remote_write/send_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>

#include "agent/common/log.h"

namespace lookout::remote_write {
namespace {

// A few Takes' worth of lines; anything longer is not a file this code wrote.
constexpr std::streamsize kMaxFileBytes = 16 << 20;

// "k N N N N": the kind and the places, or false.
bool ParseLine(std::string_view line, char& kind, std::vector<WalPlace>& places) {
  places.clear();
  if (line.size() < 2 || (line[0] != 'f' && line[0] != 'g') || line[1] != ' ') return false;
  kind = line[0];
  std::vector<uint64_t> numbers;
  const char* p = line.data() + 2;
  const char* end = line.data() + line.size();
  while (p < end) {
    uint64_t v = 0;
    const auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc{}) return false;
    numbers.push_back(v);
    p = next;
    if (p < end && *p++ != ' ') return false;
  }
  if (numbers.empty() || numbers.size() % 2 != 0) return false;
  for (size_t i = 0; i < numbers.size(); i += 2) places.emplace_back(numbers[i], numbers[i + 1]);
  std::sort(places.begin(), places.end());
  places.erase(std::unique(places.begin(), places.end()), places.end());
  return kind == 'f' || places.size() >= 2;
}

std::string Line(char kind, const std::vector<WalPlace>& places) {
  std::string out(1, kind);
  for (const auto& [seg, off] : places) fmt::format_to(std::back_inserter(out), " {} {}", seg, off);
  out += '\n';
  return out;
}

}  // namespace

SendLogState ParseSendLog(std::string_view text, size_t max_places) {
  SendLogState s;
  std::vector<std::vector<WalPlace>> groups;
  size_t places_read = 0;
  std::vector<WalPlace> places;
  while (places_read < max_places) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;  // no line, or one cut short by a crash
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    char kind = 0;
    if (!ParseLine(line, kind, places)) continue;
    places_read += places.size();
    if (kind == 'f') {
      s.finished.insert(places.begin(), places.end());
    } else {
      groups.push_back(places);
    }
  }
  // Join groups that share a record (a group sent again inside a bigger one), then drop the
  // finished ones: a group had one outcome, so one finished member finishes it.
  std::map<WalPlace, size_t> owner;
  for (size_t i = 0; i < groups.size(); ++i) {
    std::vector<WalPlace> joined = groups[i];
    for (const WalPlace& p : groups[i]) {
      const auto it = owner.find(p);
      if (it == owner.end() || groups[it->second].empty()) continue;
      const size_t j = it->second;
      joined.insert(joined.end(), groups[j].begin(), groups[j].end());
      groups[j].clear();
    }
    std::sort(joined.begin(), joined.end());
    joined.erase(std::unique(joined.begin(), joined.end()), joined.end());
    for (const WalPlace& p : joined) owner[p] = i;
    groups[i] = std::move(joined);
  }
  for (auto& g : groups) {
    if (g.empty()) continue;
    const bool done =
        std::any_of(g.begin(), g.end(), [&](const WalPlace& p) { return s.finished.count(p) > 0; });
    if (done) {
      s.finished.insert(g.begin(), g.end());
    } else {
      s.groups.push_back(std::move(g));
    }
  }
  return s;
}

SendLog::SendLog(std::string path, size_t max_places)
    : path_(std::move(path)), max_places_(max_places) {
  std::ifstream in(path_, std::ios::binary);
  if (in) {
    std::string text(static_cast<size_t>(kMaxFileBytes), '\0');
    in.read(text.data(), kMaxFileBytes);
    text.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    SendLogState loaded = ParseSendLog(text, max_places_);
    state_.finished = std::move(loaded.finished);
    for (auto& g : loaded.groups) AddGroup(std::move(g));
    written_ = !text.empty();
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    Log(LogLevel::kWarn, "remote write WAL: cannot write its send log",
        {{"path", path_}, {"err", std::strerror(errno)}});
  }
  Rewrite();  // what was read, and nothing else: no cut line for the next one to join
}

SendLog::~SendLog() {
  if (fd_ >= 0) ::close(fd_);
}

const std::vector<WalPlace>* SendLog::group_of(const WalPlace& p) const {
  const auto it = group_index_.find(p);
  return it == group_index_.end() ? nullptr : &state_.groups[it->second];
}

WalPlace SendLog::furthest_grouped() const {
  WalPlace far{0, 0};
  for (const auto& g : state_.groups) {
    if (!g.empty()) far = std::max(far, g.back());
  }
  return far;
}

void SendLog::AddGroup(std::vector<WalPlace> places) {
  std::sort(places.begin(), places.end());
  places.erase(std::unique(places.begin(), places.end()), places.end());
  // A request that holds a group sent before holds all of it: one group.
  for (const WalPlace& p : std::vector<WalPlace>(places)) {
    const auto it = group_index_.find(p);
    if (it == group_index_.end()) continue;
    std::vector<WalPlace>& old = state_.groups[it->second];
    places.insert(places.end(), old.begin(), old.end());
    for (const WalPlace& q : old) group_index_.erase(q);
    old.clear();  // left empty: indices stay valid until Forget compacts
  }
  std::sort(places.begin(), places.end());
  places.erase(std::unique(places.begin(), places.end()), places.end());
  for (const WalPlace& p : places) group_index_[p] = state_.groups.size();
  state_.groups.push_back(std::move(places));
}

void SendLog::Sending(const std::vector<WalPlace>& places) {
  if (places.size() < 2) return;  // one record is sent again as it was
  AddGroup(places);
  Append('g', places);
}

void SendLog::Finished(const std::vector<WalPlace>& places) {
  state_.finished.insert(places.begin(), places.end());
  Append('f', places);
}

void SendLog::Forget(const WalPlace& upto, bool all) {
  if (all) {
    state_.finished.clear();
    state_.groups.clear();
  } else {
    state_.finished.erase(state_.finished.begin(), state_.finished.upper_bound(upto));
    std::erase_if(state_.groups, [&](const auto& g) { return g.empty() || g.back() <= upto; });
  }
  group_index_.clear();
  for (size_t i = 0; i < state_.groups.size(); ++i) {
    for (const WalPlace& p : state_.groups[i]) group_index_[p] = i;
  }
  Rewrite();
}

void SendLog::Rewrite() {
  std::string rest;
  if (!state_.finished.empty()) {
    rest = Line('f', std::vector<WalPlace>(state_.finished.begin(), state_.finished.end()));
  }
  for (const auto& g : state_.groups) {
    if (!g.empty()) rest += Line('g', g);
  }
  if (fd_ < 0 || (rest.empty() && !written_)) return;  // nothing to rewrite: no syscalls
  if (::ftruncate(fd_, 0) != 0 || !WriteAll(rest)) {
    Log(LogLevel::kWarn, "remote write WAL: cannot rewrite its send log",
        {{"path", path_}, {"err", std::strerror(errno)}});
    ::close(fd_);
    fd_ = -1;
    return;
  }
  written_ = !rest.empty();
}

void SendLog::Append(char kind, const std::vector<WalPlace>& places) {
  if (fd_ < 0 || places.empty()) return;
  written_ = true;
  if (WriteAll(Line(kind, places))) return;
  // A line cut short would join the next one: stop writing (a restart then sends these
  // requests again, at least once).
  Log(LogLevel::kWarn, "remote write WAL: cannot append to its send log",
      {{"path", path_}, {"err", std::strerror(errno)}});
  ::close(fd_);
  fd_ = -1;
}

bool SendLog::WriteAll(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace lookout::remote_write
