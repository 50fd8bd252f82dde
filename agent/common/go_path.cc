#include "agent/common/go_path.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

namespace lookout {
namespace {

// utf8.DecodeRuneInString: the rune and its length; (0xFFFD, 1) for a bad byte, (0xFFFD, 0) at
// the end.
std::pair<char32_t, size_t> DecodeRune(std::string_view s) {
  if (s.empty()) return {0xFFFD, 0};
  const auto c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return {c, 1};
  size_t len = 0;
  char32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return {0xFFFD, 1};
  }
  if (s.size() < len) return {0xFFFD, 1};
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[k]);
    if ((cc & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return {0xFFFD, 1};
  }
  return {cp, len};
}

struct Chunk {
  bool star = false;
  std::string_view chunk, rest;
};

Chunk ScanChunk(std::string_view pattern) {
  Chunk c;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    c.star = true;
  }
  bool inrange = false;
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const char ch = pattern[i];
    if (ch == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (ch == '[') {
      inrange = true;
    } else if (ch == ']') {
      inrange = false;
    } else if (ch == '*' && !inrange) {
      break;
    }
  }
  c.chunk = pattern.substr(0, i);
  c.rest = pattern.substr(i);
  return c;
}

// getEsc: one (possibly escaped) character of a class. False for ErrBadPattern.
bool GetEsc(std::string_view& chunk, char32_t& r) {
  if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') return false;
  if (chunk[0] == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) return false;
  }
  const auto [rr, n] = DecodeRune(chunk);
  r = rr;
  bool ok = !(rr == 0xFFFD && n == 1);
  chunk.remove_prefix(n);
  if (chunk.empty()) ok = false;
  return ok;
}

enum class ChunkResult { kMatch, kNoMatch, kBadPattern };

// matchChunk: whether `chunk` matches a prefix of `s` (rest gets what is left).
ChunkResult MatchChunk(std::string_view chunk, std::string_view s, std::string_view& rest) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char32_t r = 0;
        if (!failed) {
          const auto [rr, n] = DecodeRune(s);
          r = rr;
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        bool negated = false;
        if (!chunk.empty() && chunk[0] == '^') {
          negated = true;
          chunk.remove_prefix(1);
        }
        bool match = false;
        int nrange = 0;
        while (true) {
          if (!chunk.empty() && chunk[0] == ']' && nrange > 0) {
            chunk.remove_prefix(1);
            break;
          }
          char32_t lo = 0, hi = 0;
          if (!GetEsc(chunk, lo)) return ChunkResult::kBadPattern;
          hi = lo;
          if (chunk[0] == '-') {
            chunk.remove_prefix(1);
            if (!GetEsc(chunk, hi)) return ChunkResult::kBadPattern;
          }
          if (lo <= r && r <= hi) match = true;
          ++nrange;
        }
        if (match == negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] == '/') failed = true;
          s.remove_prefix(DecodeRune(s).second);
        }
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) return ChunkResult::kBadPattern;
        [[fallthrough]];
      default:
        if (!failed) {
          if (chunk[0] != s[0]) failed = true;
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
    }
  }
  if (failed) return ChunkResult::kNoMatch;
  rest = s;
  return ChunkResult::kMatch;
}

bool HasMeta(std::string_view p) { return p.find_first_of("*?[\\") != std::string_view::npos; }

// glob(dir, pattern, matches): the names in dir matching pattern, sorted, appended as paths.
bool GlobDir(const std::string& dir, std::string_view pattern, std::vector<std::string>& m) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return true;  // ignore I/O error
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return true;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    const auto matched = GoPathMatch(pattern, n);
    if (!matched) return false;
    if (*matched) m.push_back(GoJoinPath(dir, n));
  }
  return true;
}

std::optional<std::vector<std::string>> GlobWithLimit(const std::string& pattern, int depth) {
  if (!GoPathMatch(pattern, "")) return std::nullopt;  // well-formed?
  if (!HasMeta(pattern)) {
    struct stat st {};
    if (::lstat(pattern.c_str(), &st) != 0) return std::vector<std::string>{};
    return std::vector<std::string>{pattern};
  }
  // filepath.Split: dir keeps its trailing '/'.
  const size_t slash = pattern.rfind('/');
  const std::string file = slash == std::string::npos ? pattern : pattern.substr(slash + 1);
  // cleanGlobPath of the directory part ("" -> ".", "/" stays, else its trailing '/' dropped)
  std::string dir;
  if (slash == std::string::npos) {
    dir = ".";
  } else if (slash == 0) {
    dir = "/";
  } else {
    dir = pattern.substr(0, slash);
  }
  std::vector<std::string> matches;
  if (!HasMeta(dir)) {
    if (!GlobDir(dir, file, matches)) return std::nullopt;
    return matches;
  }
  if (dir == pattern || depth > 10000) return std::nullopt;
  auto dirs = GlobWithLimit(dir, depth + 1);
  if (!dirs) return std::nullopt;
  for (const auto& d : *dirs) {
    if (!GlobDir(d, file, matches)) return std::nullopt;
  }
  return matches;
}

}  // namespace

std::string GoCleanPath(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  const size_t n = path.size();
  std::string out;
  out.reserve(n);
  size_t r = 0;
  size_t dotdot = 0;
  if (rooted) {
    out += '/';
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/' || (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))) {
      ++r;  // an empty or a "." element
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (out.size() > dotdot) {
        size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') --w;
        out.resize(w);
      } else if (!rooted) {
        if (!out.empty()) out += '/';
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out += '/';
      for (; r < n && path[r] != '/'; ++r) out += path[r];
    }
  }
  if (out.empty()) return ".";
  return out;
}

std::string GoJoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty() && name.empty()) return "";
  if (dir.empty()) return GoCleanPath(name);
  if (name.empty()) return GoCleanPath(dir);
  std::string j(dir);
  j += '/';
  j.append(name);
  return GoCleanPath(j);
}

std::optional<bool> GoPathMatch(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    const Chunk c = ScanChunk(pattern);
    pattern = c.rest;
    if (c.star && c.chunk.empty()) return name.find('/') == std::string_view::npos;
    std::string_view t;
    const ChunkResult r = MatchChunk(c.chunk, name, t);
    if (r == ChunkResult::kMatch && (t.empty() || !pattern.empty())) {
      name = t;
      continue;
    }
    if (r == ChunkResult::kBadPattern) return std::nullopt;
    bool advanced = false;
    if (c.star) {
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        const ChunkResult r2 = MatchChunk(c.chunk, name.substr(i + 1), t);
        if (r2 == ChunkResult::kMatch) {
          if (pattern.empty() && !t.empty()) continue;
          name = t;
          advanced = true;
          break;
        }
        if (r2 == ChunkResult::kBadPattern) return std::nullopt;
      }
    }
    if (advanced) continue;
    while (!pattern.empty()) {  // the rest of the pattern must still be well-formed
      const Chunk c2 = ScanChunk(pattern);
      pattern = c2.rest;
      std::string_view ignored;
      if (MatchChunk(c2.chunk, "", ignored) == ChunkResult::kBadPattern) return std::nullopt;
    }
    return false;
  }
  return name.empty();
}

std::optional<std::vector<std::string>> GoGlob(const std::string& pattern) {
  return GlobWithLimit(pattern, 0);
}

}  // namespace lookout
