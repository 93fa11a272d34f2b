#include "server/pattern/internal/wildcard.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/pattern/internal/case_fold.h"

namespace evbus::pattern::internal {

absl::StatusOr<Glob> Glob::Compile(std::string_view pattern) {
  Glob g;
  g.segments_.emplace_back();
  size_t pos = 0;
  size_t index = 0;  // UTF-16 index of the character at `pos`
  bool last_was_star = false;
  while (pos < pattern.size()) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(pattern, &pos);
    if (cp == '*') {
      if (last_was_star) {
        return absl::InvalidArgumentError(
            absl::StrCat("Consecutive wildcard characters at pos ", index));
      }
      g.segments_.emplace_back();
      last_was_star = true;
      ++index;
      continue;
    }
    last_was_star = false;
    if (cp == '\\') {
      ++index;
      if (pos >= pattern.size() ||
          (pattern[pos] != '*' && pattern[pos] != '\\')) {
        return absl::InvalidArgumentError(
            absl::StrCat("Invalid escape character at pos ", index));
      }
      g.segments_.back().push_back(pattern[pos]);
      ++pos;
      ++index;
      continue;
    }
    g.segments_.back().append(pattern.substr(start, pos - start));
    index += cp >= 0x10000 ? 2 : 1;
  }
  return g;
}

bool Glob::Matches(std::string_view s) const {
  const size_t n = segments_.size();
  const std::string& first = segments_.front();
  if (n == 1) return s == first;
  const std::string& last = segments_.back();
  if (s.size() < first.size() + last.size()) return false;
  if (s.substr(0, first.size()) != first) return false;
  if (s.substr(s.size() - last.size()) != last) return false;
  // Middle segments: greedy leftmost placement is optimal for globs whose
  // only metacharacter is '*'.
  size_t pos = first.size();
  const size_t end = s.size() - last.size();
  for (size_t i = 1; i + 1 < n; ++i) {
    const std::string& seg = segments_[i];
    if (seg.empty()) continue;
    const std::string_view window = s.substr(0, end);
    const size_t found = window.find(seg, pos);
    if (found == std::string_view::npos) return false;
    pos = found + seg.size();
  }
  return true;
}

namespace {

// NFA model of event-ruler's ByteMachine for a set of wildcard patterns.
// Pattern k is a token sequence (bytes and stars). NFA states:
//   begin(k)        : nothing consumed yet
//   after(k, t)     : token t (a byte) was just consumed
//   loop(k, t)      : inside the star at token t
// Encoded as (k << 20) | (t << 2) | kind.
struct Tok {
  bool star;
  uint8_t byte;
};

constexpr uint32_t kBegin = 0;
constexpr uint32_t kAfter = 1;
constexpr uint32_t kLoop = 2;

uint32_t Encode(uint32_t k, uint32_t t, uint32_t kind) {
  return (k << 20) | (t << 2) | kind;
}

class ComplexityModel {
 public:
  explicit ComplexityModel(const std::vector<const Glob*>& globs) {
    for (const Glob* g : globs) {
      std::vector<Tok> toks;
      const auto& segs = g->segments();
      for (size_t i = 0; i < segs.size(); ++i) {
        if (i > 0) toks.push_back({true, 0});
        for (char c : segs[i]) toks.push_back({false, static_cast<uint8_t>(c)});
      }
      pats_.push_back(std::move(toks));
    }
  }

  // Index of the next token to consume from `state`.
  uint32_t NextPos(uint32_t state) const {
    return (state & 3) == kBegin ? 0 : ((state >> 2) & 0x3FFFF) + 1;
  }

  void Step(uint32_t state, uint8_t byte, std::vector<uint32_t>* out) const {
    const uint32_t k = state >> 20;
    const std::vector<Tok>& t = pats_[k];
    if ((state & 3) == kLoop) out->push_back(state);
    const uint32_t pos = NextPos(state);
    if (pos >= t.size()) return;
    if (!t[pos].star) {
      if (t[pos].byte == byte) out->push_back(Encode(k, pos, kAfter));
      return;
    }
    out->push_back(Encode(k, pos, kLoop));
    if (pos + 1 < t.size() && !t[pos + 1].star && t[pos + 1].byte == byte) {
      out->push_back(Encode(k, pos + 1, kAfter));
    }
  }

  // The star-loop state reachable from `state` on any byte, or ~0u.
  uint32_t StarNext(uint32_t state) const {
    const uint32_t k = state >> 20;
    const uint32_t pos = NextPos(state);
    if (pos < pats_[k].size() && pats_[k][pos].star) {
      return Encode(k, pos, kLoop);
    }
    return ~0u;
  }

  size_t size() const { return pats_.size(); }

 private:
  std::vector<std::vector<Tok>> pats_;
};

}  // namespace

int WildcardComplexity(const std::vector<const Glob*>& globs, int cap) {
  if (globs.empty()) return 0;
  ComplexityModel model(globs);
  // Alphabet: every byte that appears literally, plus one byte that appears
  // nowhere (all such bytes behave alike).
  std::vector<uint8_t> alphabet;
  {
    bool seen[256] = {};
    for (const Glob* g : globs) {
      for (const std::string& seg : g->segments()) {
        for (char c : seg) seen[static_cast<uint8_t>(c)] = true;
      }
    }
    int other = -1;
    for (int b = 0; b < 256; ++b) {
      if (seen[b]) {
        alphabet.push_back(static_cast<uint8_t>(b));
      } else if (other < 0) {
        other = b;
      }
    }
    if (other >= 0) alphabet.push_back(static_cast<uint8_t>(other));
  }
  constexpr size_t kBudget = 200000;
  absl::flat_hash_set<std::vector<uint32_t>> visited;
  std::deque<std::vector<uint32_t>> queue;
  std::vector<uint32_t> start;
  for (uint32_t k = 0; k < model.size(); ++k)
    start.push_back(Encode(k, 0, kBegin));
  std::vector<uint32_t> next;
  auto expand = [&](const std::vector<uint32_t>& from) {
    for (uint8_t b : alphabet) {
      next.clear();
      for (uint32_t s : from) model.Step(s, b, &next);
      if (next.empty()) continue;
      std::sort(next.begin(), next.end());
      next.erase(std::unique(next.begin(), next.end()), next.end());
      if (visited.insert(next).second) queue.push_back(next);
    }
  };
  expand(start);
  int best = 0;
  while (!queue.empty()) {
    if (visited.size() > kBudget) return cap + 1;
    std::vector<uint32_t> cur = std::move(queue.front());
    queue.pop_front();
    int size = static_cast<int>(cur.size());
    for (uint32_t s : cur) {
      const uint32_t star = model.StarNext(s);
      if (star != ~0u && !std::binary_search(cur.begin(), cur.end(), star)) {
        ++size;
      }
    }
    best = std::max(best, size);
    if (best > cap) return cap + 1;
    expand(cur);
  }
  return best;
}

}  // namespace evbus::pattern::internal
