#include "server/topics/filter_policy_limits.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "server/common/json.h"

namespace evbus::topics {
namespace {

// The value combinations of `policy` (an object): the product, over its
// keys, of the number of values each allows (nested objects multiply in
// their own, `$or` adds up its branches'), as SNS counts them. Stops
// counting past `cap`.
int64_t Combinations(const common::Json& policy, int64_t cap) {
  int64_t product = 1;
  for (const auto& [key, value] : policy.items()) {
    int64_t n = 1;
    if (key == "$or" && value.is_array()) {
      n = 0;
      for (const common::Json& branch : value) {
        if (branch.is_object()) n += Combinations(branch, cap);
      }
    } else if (value.is_object()) {
      n = Combinations(value, cap);
    } else if (value.is_array()) {
      n = std::max<int64_t>(1, static_cast<int64_t>(value.size()));
    }
    product = std::min(cap + 1, product * n);
  }
  return product;
}

// Whether an operator object named `name` ({"wildcard": ...} in a key's
// list) appears in `v`; `in_list`: `v` is an element of a key's list.
bool UsesOperator(const common::Json& v, absl::string_view name, bool in_list) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      if (in_list && key == name) return true;
      if (key == "$or" && value.is_array()) {
        for (const common::Json& branch : value) {
          if (UsesOperator(branch, name, false)) return true;
        }
      } else if (UsesOperator(value, name, false)) {
        return true;
      }
    }
  } else if (v.is_array()) {
    for (const common::Json& x : v) {
      if (UsesOperator(x, name, true)) return true;
    }
  }
  return false;
}

}  // namespace

absl::Status CheckFilterPolicyLimits(absl::string_view policy,
                                     absl::string_view scope) {
  absl::StatusOr<common::Json> doc = common::ParseJson(policy);
  if (!doc.ok() || !doc->is_object()) return absl::OkStatus();
  if (scope == "MessageAttributes") {
    int keys = 0;
    for (const auto& [key, value] : doc->items()) {
      if (value.is_object()) {
        return absl::InvalidArgumentError(
            "Filter policy scope MessageAttributes does not support nested "
            "filter policy");
      }
      if (key != "$or") ++keys;
    }
    if (keys > kMaxFilterPolicyKeys) {
      return absl::InvalidArgumentError(
          absl::StrCat("FilterPolicy: Filter policy can not have more than ",
                       kMaxFilterPolicyKeys, " keys"));
    }
  }
  if (UsesOperator(*doc, "wildcard", false)) {
    return absl::InvalidArgumentError(
        "FilterPolicy: Unrecognized match type wildcard");
  }
  if (Combinations(*doc, kMaxFilterPolicyCombinations) >
      kMaxFilterPolicyCombinations) {
    return absl::InvalidArgumentError(
        "FilterPolicy: Filter policy is too complex");
  }
  return absl::OkStatus();
}

}  // namespace evbus::topics
