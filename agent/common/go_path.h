#pragma once
// Go's path/filepath semantics (Clean, Join, Match, Glob) for the paths node_exporter builds from
// its flags, so lookout names files (labels, help texts) and expands patterns exactly as it does.
// Pure functions except Glob (reads directories); thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lookout {

// filepath.Clean: the shortest equivalent path by lexical processing ("" -> ".").
std::string GoCleanPath(std::string_view path);

// filepath.Join(dir, name): the elements joined with '/', cleaned; "" elements are ignored.
std::string GoJoinPath(std::string_view dir, std::string_view name);

// filepath.Match: `*`, `?`, `[...]` / `[^...]` with ranges, `\` escapes; '/' never matched by a
// wildcard. nullopt for a malformed pattern (Go's ErrBadPattern).
std::optional<bool> GoPathMatch(std::string_view pattern, std::string_view name);

// filepath.Glob: the paths matching `pattern`, sorted per directory level; a pattern without
// wildcards gives itself when it exists (lstat). nullopt for a malformed pattern. Unreadable
// directories are skipped, as Go does.
std::optional<std::vector<std::string>> GoGlob(const std::string& pattern);

}  // namespace lookout
