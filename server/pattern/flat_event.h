// File: server/pattern/flat_event.h
//
// FlatEvent: an event (the full envelope JSON object) flattened once into
// (path, leaf value) pairs, shared by every rule it is matched against.
//
//  * path = object keys joined with '.', so {"a":{"b":1}} and {"a.b":1} give
//    the same path "a.b";
//  * arrays are transparent: each element contributes to the same path, and an
//    empty array contributes nothing; objects are never leaves;
//  * every leaf remembers which element of which enclosing array it came from,
//    so that the array-consistency rule can be applied;
//  * strings holding JSON are not parsed.
//
// Events are read by a single-pass scanner (the fast path) that walks the text
// once, guided by a PathFilter (normally taken from
// RuleMatcher::path_filter()): kept subtrees are flattened, other subtrees are
// skipped without being materialised. Skipped parts are still validated as
// strictly as simdjson does (grammar, escapes, UTF-8, number ranges). Anything
// the scanner does not handle (invalid JSON, numbers out of range, very deep
// nesting, lone surrogate escapes) is handed to simdjson's DOM parser, so
// results and error messages are those of the DOM parse for every input.
//
// Thread safety: FlatEvent is an immutable value once built (thread-safe to
// share for reading). FlatEventParser is thread-compatible: use one per
// thread; it reuses its buffers so steady-state parsing does not allocate.
//
// Example:
//   absl::StatusOr<FlatEvent> ev = FlatEvent::Parse(R"({"source":"a"})");
//   FlatEventParser parser;                       // per worker thread
//   FlatEvent scratch;
//   absl::Status s = parser.Parse(json, &matcher->path_filter(), &scratch);
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/pattern/internal/strings.h"

namespace evbus::pattern {

enum class ValueKind : uint8_t { kString, kNumber, kTrue, kFalse, kNull };

// Position of a leaf inside one array: the array (numbered per event) and the
// element index.
struct ArrayPos {
  uint32_t array_id;
  uint32_t index;
};

// The set of field paths worth flattening, as a trie over key segments (a
// dotted event key such as "a.b" walks two levels). Empty filter = keep
// everything. Thread-safe for concurrent reads once built.
class PathFilter {
 public:
  static constexpr uint32_t kAll = ~0u;       // node: keep the whole subtree
  static constexpr uint32_t kNone = ~0u - 1;  // node: skip the subtree
  static constexpr uint8_t kLeaf = 1;         // a rule names this path
  static constexpr uint8_t kDescend = 2;      // a rule names a path below

  PathFilter() = default;
  // `paths` are full dot-joined field paths, e.g. "detail.state".
  static PathFilter FromPaths(std::span<const std::string> paths);

  bool keep_all() const { return nodes_.empty(); }
  // Identifies this filter's trie (copies share it; 0 for a default-built
  // filter). FlatEvent::filter_id() tells which filter an event was parsed
  // with, and so whether its leaves' `node`s are nodes of this filter.
  uint64_t id() const { return id_; }
  uint32_t root() const { return nodes_.empty() ? kAll : 0; }
  // The node reached from `node` through object key `key` (kNone if no rule
  // path continues that way).
  uint32_t Child(uint32_t node, std::string_view key) const;
  // As Child(), for a key known to hold no '.' (a single segment).
  uint32_t ChildOfSegment(uint32_t node, std::string_view segment) const;
  uint8_t Flags(uint32_t node) const {
    return node == kAll ? (kLeaf | kDescend) : nodes_[node].flags;
  }

 private:
  // A child key by its fingerprint: its size and its first and last
  // min(size, 8) bytes, which hold the whole key up to 16 bytes.
  struct Slot {
    uint64_t head = 0;
    uint64_t tail = 0;
    uint32_t size = ~0u;  // ~0u: an empty slot (matches no key)
    uint32_t child = kNone;
    std::string key;  // compared in full when longer than 16 bytes
  };
  struct Node {
    internal::StringMap<uint32_t> children;
    // The same children in a collision-free table indexed by a hash of the
    // fingerprint, so that a lookup is one probe and one compare (no loop,
    // few branches); empty if none was found (then `children` is used).
    std::vector<Slot> slots;
    uint64_t seed = 0;
    int shift = 0;  // slot index = hash >> shift
    // Bit i: some child key is i bytes long (bit 63: 63 or more), so most
    // keys that are no child are told apart by their length alone (valid
    // when `slots` is not empty).
    uint64_t key_lengths = 0;
    // Position of this node's path among all nodes' dot-joined paths in
    // string order (so leaves can be sorted by path without comparing text).
    uint32_t rank = 0;
    uint8_t flags = 0;
  };
  static constexpr size_t kMaxSlotChildren = 64;
  friend class FlatEventParser;  // looks up keys read in place (SlotChild)
  static void BuildSlots(Node* n);
  static uint32_t SlotChild(const Node& n, std::string_view key, uint64_t head,
                            uint64_t tail);
  uint32_t ChildSegment(uint32_t node, std::string_view key) const;
  std::vector<Node> nodes_;
  uint64_t id_ = 0;
};

class FlatEvent {
 public:
  struct Leaf {
    uint32_t path_offset = 0;
    uint32_t path_size = 0;
    uint32_t text_offset = 0;  // string contents or number literal
    uint32_t text_size = 0;
    uint32_t pos_offset = 0;  // into positions
    uint32_t pos_size = 0;
    double number = 0;  // kNumber: the value (+-inf when too large)
    ValueKind kind = ValueKind::kNull;
    // The PathFilter node of the leaf's path when the event was parsed with
    // a filter (see filter_id()), else PathFilter::kAll.
    uint32_t node = PathFilter::kAll;
  };

  FlatEvent() = default;

  // Flattens the whole event. Errors: InvalidArgument when `event_json` is not
  // valid JSON or its top level is not an object.
  static absl::StatusOr<FlatEvent> Parse(std::string_view event_json);
  // Flattens only paths kept by `filter` (see PathFilter).
  static absl::StatusOr<FlatEvent> Parse(std::string_view event_json,
                                         const PathFilter& filter);

  // Leaves, sorted by path (document order within one path).
  size_t size() const { return leaves_.size(); }
  const Leaf& leaf(size_t i) const { return leaves_[i]; }
  const std::vector<Leaf>& leaves() const { return leaves_; }

  std::string_view path(const Leaf& l) const {
    return std::string_view(arena_).substr(l.path_offset, l.path_size);
  }
  std::string_view text(const Leaf& l) const {
    return std::string_view(arena_).substr(l.text_offset, l.text_size);
  }
  std::span<const ArrayPos> positions(const Leaf& l) const {
    return std::span<const ArrayPos>(positions_.data() + l.pos_offset,
                                     l.pos_size);
  }

  // [begin, end) of the leaves at `path` (empty range when absent).
  std::pair<size_t, size_t> FindPath(std::string_view path) const;

  // PathFilter::id() of the filter the event was parsed with (0: none).
  uint64_t filter_id() const { return filter_id_; }

  // True unless the two leaves sit in different elements of a common array.
  bool Consistent(const Leaf& a, const Leaf& b) const;

  // Removes every leaf; keeps capacity.
  void Clear();

 private:
  friend class FlatEventParser;
  std::string arena_;
  std::vector<Leaf> leaves_;
  std::vector<ArrayPos> positions_;
  uint64_t filter_id_ = 0;
};

// Reusable event parser (holds simdjson state and buffers).
class FlatEventParser {
 public:
  struct Options {
    // Always parse with simdjson's DOM, bypassing the single-pass scanner.
    // Default false. The results are the same either way; this exists so that
    // tests and benchmarks can compare the two paths.
    bool force_dom = false;
    // The text is known to be valid JSON with no number a double cannot
    // hold and no integer beyond 64 bits (evbusd's envelopes built from a
    // PutEvents entry, whose Detail was checked and re-serialised): values
    // the filter leaves out are skipped by their quotes and brackets without
    // being checked, and UTF-8 is not checked again (kept strings included).
    // On such text the result is the checking parse's. Elsewhere it may
    // differ: invalid text may be flattened instead of rejected, and a
    // skipped 1e400, which sends the checking parse to its slow reader (the
    // one that gives kept numbers their literal text), is not seen at all.
    // Default false.
    bool trusted = false;
  };

  FlatEventParser();
  explicit FlatEventParser(const Options& options);
  ~FlatEventParser();
  FlatEventParser(const FlatEventParser&) = delete;
  FlatEventParser& operator=(const FlatEventParser&) = delete;

  // Flattens `event_json` into `*out` (previous contents are replaced).
  // `filter` may be null (keep everything). Errors: InvalidArgument for
  // malformed JSON or a top level that is not an object; `*out` is then empty.
  absl::Status Parse(std::string_view event_json, const PathFilter* filter,
                     FlatEvent* out);

  // How many Parse calls were answered by simdjson's DOM parser (fallbacks
  // from the scanner, or every call with Options::force_dom).
  uint64_t DomParseCountForTesting() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace evbus::pattern
