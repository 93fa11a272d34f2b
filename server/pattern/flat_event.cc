#include "server/pattern/flat_event.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "server/pattern/internal/pattern_json.h"
// g++ 12 reports false -Wdangling-pointer positives from simdjson's inline DOM
// accessors (tape_ref temporaries) once they are inlined into this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include "simdjson.h"

namespace evbus::pattern {

PathFilter PathFilter::FromPaths(std::span<const std::string> paths) {
  PathFilter f;
  if (paths.empty()) {
    // A filter that keeps nothing: a root without children.
    f.nodes_.emplace_back();
    return f;
  }
  f.nodes_.emplace_back();
  for (const std::string& p : paths) {
    uint32_t node = 0;
    size_t start = 0;
    while (true) {
      const size_t dot = p.find('.', start);
      const std::string_view seg = std::string_view(p).substr(
          start, dot == std::string::npos ? std::string::npos : dot - start);
      f.nodes_[node].flags |= kDescend;
      auto it = f.nodes_[node].children.find(seg);
      uint32_t next = 0;
      if (it == f.nodes_[node].children.end()) {
        next = static_cast<uint32_t>(f.nodes_.size());
        f.nodes_[node].children.emplace(std::string(seg), next);
        f.nodes_[node].length_mask |= uint64_t{1}
                                      << std::min<size_t>(seg.size(), 63);
        f.nodes_.emplace_back();
      } else {
        next = it->second;
      }
      node = next;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    f.nodes_[node].flags |= kLeaf;
  }
  f.nodes_[0].flags &= static_cast<uint8_t>(~kLeaf);
  for (Node& n : f.nodes_) {
    if (n.children.size() > kFewChildren) continue;
    for (const auto& [key, child] : n.children) n.few.emplace_back(key, child);
  }
  return f;
}

uint32_t PathFilter::ChildSegment(uint32_t node, std::string_view key) const {
  const Node& n = nodes_[node];
  if ((n.length_mask & (uint64_t{1} << std::min<size_t>(key.size(), 63))) ==
      0) {
    return kNone;
  }
  if (n.children.size() <= kFewChildren) {
    for (const auto& [k, child] : n.few) {
      if (k.size() == key.size() &&
          std::memcmp(k.data(), key.data(), key.size()) == 0) {
        return child;
      }
    }
    return kNone;
  }
  auto it = n.children.find(key);
  return it == n.children.end() ? kNone : it->second;
}

uint32_t PathFilter::Child(uint32_t node, std::string_view key) const {
  if (node == kAll) return kAll;
  if (node == kNone) return kNone;
  if (key.find('.') == std::string_view::npos) return ChildSegment(node, key);
  size_t start = 0;
  while (node != kNone) {
    const size_t dot = key.find('.', start);
    node = ChildSegment(node, key.substr(start, dot == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return node;
}

std::pair<size_t, size_t> FlatEvent::FindPath(std::string_view p) const {
  auto lo = std::lower_bound(
      leaves_.begin(), leaves_.end(), p,
      [this](const Leaf& l, std::string_view v) { return path(l) < v; });
  auto hi = lo;
  while (hi != leaves_.end() && path(*hi) == p) ++hi;
  return {static_cast<size_t>(lo - leaves_.begin()),
          static_cast<size_t>(hi - leaves_.begin())};
}

bool FlatEvent::Consistent(const Leaf& a, const Leaf& b) const {
  if (a.pos_size == 0 || b.pos_size == 0) return true;
  const ArrayPos* pa = positions_.data() + a.pos_offset;
  const ArrayPos* pb = positions_.data() + b.pos_offset;
  const ArrayPos* ea = pa + a.pos_size;
  const ArrayPos* eb = pb + b.pos_size;
  while (pa != ea && pb != eb) {
    if (pa->array_id == pb->array_id) {
      if (pa->index != pb->index) return false;
      ++pa;
      ++pb;
    } else if (pa->array_id < pb->array_id) {
      ++pa;
    } else {
      ++pb;
    }
  }
  return true;
}

void FlatEvent::Clear() {
  arena_.clear();
  leaves_.clear();
  positions_.clear();
}

class FlatEventParser::Impl {
 public:
  absl::Status Parse(std::string_view json, const PathFilter* filter,
                     FlatEvent* out) {
    out->Clear();
    filter_ = (filter == nullptr || filter->keep_all()) ? nullptr : filter;
    const uint32_t root =
        filter_ == nullptr ? PathFilter::kAll : filter_->root();
    out_ = out;
    path_.clear();
    stack_.clear();
    next_array_id_ = 0;
    cached_version_ = ~0u;
    stack_version_ = 0;

    const size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
    if (buffer_.size() < needed) buffer_.resize(needed);
    std::memcpy(buffer_.data(), json.data(), json.size());
    std::memset(buffer_.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);

    simdjson::dom::element doc;
    const simdjson::error_code err =
        parser_.parse(buffer_.data(), json.size(), false).get(doc);
    if (err == simdjson::NUMBER_ERROR) {
      // A number outside what simdjson converts (e.g. 1e400): use the
      // slower reader, which keeps number literals.
      return ParseSlow(json);
    }
    if (err != simdjson::SUCCESS) {
      out->Clear();
      return absl::InvalidArgumentError(absl::StrCat(
          "Event is not valid JSON: ", simdjson::error_message(err)));
    }
    if (!doc.is_object()) {
      out->Clear();
      return absl::InvalidArgumentError("Event is not a JSON object");
    }
    simdjson::dom::object root_object;
    if (doc.get(root_object) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("Event is not a JSON object");
    }
    const uint32_t root_node = root;
    WalkObject(root_object, root_node);
    Finish();
    return absl::OkStatus();
  }

 private:
  void Finish() {
    FlatEvent* out = out_;
    std::stable_sort(out->leaves_.begin(), out->leaves_.end(),
                     [out](const FlatEvent::Leaf& a, const FlatEvent::Leaf& b) {
                       return out->path(a) < out->path(b);
                     });
  }

  uint32_t ChildNode(uint32_t node, std::string_view key) const {
    return filter_ == nullptr ? PathFilter::kAll : filter_->Child(node, key);
  }
  uint8_t Flags(uint32_t node) const {
    return filter_ == nullptr ? (PathFilter::kLeaf | PathFilter::kDescend)
                              : filter_->Flags(node);
  }

  // Pushes ".key" onto the current path; returns the old length.
  size_t PushKey(std::string_view key) {
    const size_t old = path_.size();
    if (!path_.empty()) path_.push_back('.');
    path_.append(key);
    return old;
  }

  void WalkObject(simdjson::dom::object obj, uint32_t node) {
    for (simdjson::dom::key_value_pair kv : obj) {
      const uint32_t child = ChildNode(node, kv.key);
      if (child == PathFilter::kNone) continue;
      const size_t old = PushKey(kv.key);
      WalkValue(kv.value, child);
      path_.resize(old);
    }
  }

  void PushArray(uint32_t id, uint32_t index) {
    stack_.push_back({id, index});
    ++stack_version_;
  }
  void PopArray() {
    stack_.pop_back();
    ++stack_version_;
  }

  void WalkValue(simdjson::dom::element v, uint32_t node) {
    const uint8_t flags = Flags(node);
    switch (v.type()) {
      case simdjson::dom::element_type::OBJECT:
        if ((flags & PathFilter::kDescend) != 0) {
          simdjson::dom::object obj;
          if (v.get(obj) == simdjson::SUCCESS) WalkObject(obj, node);
        }
        return;
      case simdjson::dom::element_type::ARRAY: {
        const uint32_t id = next_array_id_++;
        uint32_t index = 0;
        simdjson::dom::array arr;
        if (v.get(arr) != simdjson::SUCCESS) return;
        for (simdjson::dom::element e : arr) {
          PushArray(id, index++);
          WalkValue(e, node);
          PopArray();
        }
        return;
      }
      default:
        break;
    }
    if ((flags & PathFilter::kLeaf) == 0) return;
    switch (v.type()) {
      case simdjson::dom::element_type::STRING: {
        std::string_view s;
        if (v.get(s) != simdjson::SUCCESS) return;
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kString);
        SetText(&leaf, s);
        return;
      }
      case simdjson::dom::element_type::INT64: {
        int64_t i = 0;
        if (v.get(i) != simdjson::SUCCESS) return;
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kNumber);
        leaf.number = static_cast<double>(i);
        return;
      }
      case simdjson::dom::element_type::UINT64: {
        uint64_t u = 0;
        if (v.get(u) != simdjson::SUCCESS) return;
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kNumber);
        leaf.number = static_cast<double>(u);
        return;
      }
      case simdjson::dom::element_type::DOUBLE: {
        double d = 0;
        if (v.get(d) != simdjson::SUCCESS) return;
        AddLeaf(ValueKind::kNumber).number = d;
        return;
      }
      case simdjson::dom::element_type::BOOL: {
        bool b = false;
        if (v.get(b) != simdjson::SUCCESS) return;
        AddLeaf(b ? ValueKind::kTrue : ValueKind::kFalse);
        return;
      }
      case simdjson::dom::element_type::NULL_VALUE:
        AddLeaf(ValueKind::kNull);
        return;
      default:
        return;
    }
  }

  // Slow path over internal::PatternJson (keeps number literals).
  absl::Status ParseSlow(std::string_view json) {
    absl::StatusOr<internal::PatternJson> doc =
        internal::ParsePatternJson(json);
    if (!doc.ok()) {
      out_->Clear();
      return absl::InvalidArgumentError(
          absl::StrCat("Event is not valid JSON: ", doc.status().message()));
    }
    if (!doc->is_object()) {
      out_->Clear();
      return absl::InvalidArgumentError("Event is not a JSON object");
    }
    WalkSlowObject(*doc,
                   filter_ == nullptr ? PathFilter::kAll : filter_->root());
    Finish();
    return absl::OkStatus();
  }

  void WalkSlowObject(const internal::PatternJson& obj, uint32_t node) {
    for (const auto& [key, value] : obj.members) {
      const uint32_t child = ChildNode(node, key);
      if (child == PathFilter::kNone) continue;
      const size_t old = PushKey(key);
      WalkSlowValue(value, child);
      path_.resize(old);
    }
  }

  void WalkSlowValue(const internal::PatternJson& v, uint32_t node) {
    const uint8_t flags = Flags(node);
    using Kind = internal::PatternJson::Kind;
    switch (v.kind) {
      case Kind::kObject:
        if ((flags & PathFilter::kDescend) != 0) WalkSlowObject(v, node);
        return;
      case Kind::kArray: {
        const uint32_t id = next_array_id_++;
        uint32_t index = 0;
        for (const internal::PatternJson& e : v.items) {
          PushArray(id, index++);
          WalkSlowValue(e, node);
          PopArray();
        }
        return;
      }
      default:
        break;
    }
    if ((flags & PathFilter::kLeaf) == 0) return;
    switch (v.kind) {
      case Kind::kString:
        SetText(&AddLeaf(ValueKind::kString), v.text);
        return;
      case Kind::kNumber: {
        FlatEvent::Leaf& leaf = AddLeaf(ValueKind::kNumber);
        double d = 0;
        auto res =
            std::from_chars(v.text.data(), v.text.data() + v.text.size(), d);
        if (res.ec == std::errc::result_out_of_range) {
          const bool neg = !v.text.empty() && v.text.front() == '-';
          const bool tiny = v.text.find("e-") != std::string::npos ||
                            v.text.find("E-") != std::string::npos;
          d = tiny ? 0.0
                   : (neg ? -std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::infinity());
        }
        leaf.number = d;
        SetText(&leaf, v.text);
        return;
      }
      case Kind::kTrue:
        AddLeaf(ValueKind::kTrue);
        return;
      case Kind::kFalse:
        AddLeaf(ValueKind::kFalse);
        return;
      case Kind::kNull:
        AddLeaf(ValueKind::kNull);
        return;
      default:
        return;
    }
  }

  void SetText(FlatEvent::Leaf* leaf, std::string_view s) {
    leaf->text_offset = static_cast<uint32_t>(out_->arena_.size());
    leaf->text_size = static_cast<uint32_t>(s.size());
    out_->arena_.append(s);
  }

  FlatEvent::Leaf& AddLeaf(ValueKind kind) {
    FlatEvent::Leaf& leaf = out_->leaves_.emplace_back();
    leaf.kind = kind;
    leaf.path_offset = static_cast<uint32_t>(out_->arena_.size());
    leaf.path_size = static_cast<uint32_t>(path_.size());
    out_->arena_.append(path_);
    if (!stack_.empty()) {
      if (cached_version_ != stack_version_) {
        cached_offset_ = static_cast<uint32_t>(out_->positions_.size());
        out_->positions_.insert(out_->positions_.end(), stack_.begin(),
                                stack_.end());
        cached_version_ = stack_version_;
      }
      leaf.pos_offset = cached_offset_;
      leaf.pos_size = static_cast<uint32_t>(stack_.size());
    }
    return leaf;
  }

  simdjson::dom::parser parser_;
  std::string buffer_;
  const PathFilter* filter_ = nullptr;
  FlatEvent* out_ = nullptr;
  std::string path_;
  std::vector<ArrayPos> stack_;
  uint32_t next_array_id_ = 0;
  uint32_t stack_version_ = 0;
  uint32_t cached_version_ = ~0u;
  uint32_t cached_offset_ = 0;
};

FlatEventParser::FlatEventParser() : impl_(std::make_unique<Impl>()) {}
FlatEventParser::~FlatEventParser() = default;

absl::Status FlatEventParser::Parse(std::string_view event_json,
                                    const PathFilter* filter, FlatEvent* out) {
  return impl_->Parse(event_json, filter, out);
}

absl::StatusOr<FlatEvent> FlatEvent::Parse(std::string_view event_json) {
  FlatEventParser parser;
  FlatEvent out;
  absl::Status s = parser.Parse(event_json, nullptr, &out);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<FlatEvent> FlatEvent::Parse(std::string_view event_json,
                                           const PathFilter& filter) {
  FlatEventParser parser;
  FlatEvent out;
  absl::Status s = parser.Parse(event_json, &filter, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace evbus::pattern

#pragma GCC diagnostic pop
