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
  for (const std::string& p : paths) {
    f.nodes_[p] |= kLeaf;
    for (size_t i = p.find('.'); i != std::string::npos;
         i = p.find('.', i + 1)) {
      f.nodes_[p.substr(0, i)] |= kDescend;
    }
  }
  return f;
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
    simdjson::dom::object root;
    if (doc.get(root) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("Event is not a JSON object");
    }
    WalkObject(root);
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

  uint8_t Flags() const {
    if (filter_ == nullptr) return PathFilter::kLeaf | PathFilter::kDescend;
    return filter_->Lookup(path_);
  }

  // Pushes ".key" onto the current path; returns the old length.
  size_t PushKey(std::string_view key) {
    const size_t old = path_.size();
    if (!path_.empty()) path_.push_back('.');
    path_.append(key);
    return old;
  }

  void WalkObject(simdjson::dom::object obj) {
    for (simdjson::dom::key_value_pair kv : obj) {
      const size_t old = PushKey(kv.key);
      const uint8_t flags = Flags();
      if (flags != 0) WalkValue(kv.value, flags);
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

  void WalkValue(simdjson::dom::element v, uint8_t flags) {
    switch (v.type()) {
      case simdjson::dom::element_type::OBJECT:
        if ((flags & PathFilter::kDescend) != 0) {
          simdjson::dom::object obj;
          if (v.get(obj) == simdjson::SUCCESS) WalkObject(obj);
        }
        return;
      case simdjson::dom::element_type::ARRAY: {
        const uint32_t id = next_array_id_++;
        uint32_t index = 0;
        simdjson::dom::array arr;
        if (v.get(arr) != simdjson::SUCCESS) return;
        for (simdjson::dom::element e : arr) {
          PushArray(id, index++);
          WalkValue(e, flags);
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
    WalkSlowObject(*doc);
    Finish();
    return absl::OkStatus();
  }

  void WalkSlowObject(const internal::PatternJson& obj) {
    for (const auto& [key, value] : obj.members) {
      const size_t old = PushKey(key);
      const uint8_t flags = Flags();
      if (flags != 0) WalkSlowValue(value, flags);
      path_.resize(old);
    }
  }

  void WalkSlowValue(const internal::PatternJson& v, uint8_t flags) {
    using Kind = internal::PatternJson::Kind;
    switch (v.kind) {
      case Kind::kObject:
        if ((flags & PathFilter::kDescend) != 0) WalkSlowObject(v);
        return;
      case Kind::kArray: {
        const uint32_t id = next_array_id_++;
        uint32_t index = 0;
        for (const internal::PatternJson& e : v.items) {
          PushArray(id, index++);
          WalkSlowValue(e, flags);
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
        auto res = std::from_chars(v.text.data(), v.text.data() + v.text.size(), d);
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
