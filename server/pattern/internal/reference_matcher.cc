#include "server/pattern/internal/reference_matcher.h"

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/common/json.h"
#include "server/pattern/internal/case_fold.h"
#include "server/pattern/internal/ip.h"
#include "server/pattern/internal/wildcard.h"

namespace evbus::pattern::internal {
namespace {

using common::Json;

struct RefLeaf {
  std::string path;
  const Json* value;
  std::vector<std::pair<int, int>> positions;  // (array id, index)
};

void Flatten(const Json& v, const std::string& path,
             std::vector<std::pair<int, int>>* stack, int* next_id,
             std::vector<RefLeaf>* out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      Flatten(it.value(), path.empty() ? it.key() : path + "." + it.key(),
              stack, next_id, out);
    }
  } else if (v.is_array()) {
    const int id = (*next_id)++;
    int i = 0;
    for (const Json& e : v) {
      stack->emplace_back(id, i++);
      Flatten(e, path, stack, next_id, out);
      stack->pop_back();
    }
  } else {
    out->push_back({path, &v, *stack});
  }
}

bool Consistent(const RefLeaf& a, const RefLeaf& b) {
  for (const auto& [ia, xa] : a.positions) {
    for (const auto& [ib, xb] : b.positions) {
      if (ia == ib && xa != xb) return false;
    }
  }
  return true;
}

using SubRuleMap = std::vector<std::pair<std::string, const Json*>>;

void Put(SubRuleMap* r, const std::string& path, const Json* list) {
  for (auto& [p, l] : *r) {
    if (p == path) {
      l = list;
      return;
    }
  }
  r->emplace_back(path, list);
}

void Expand(const Json& obj, const std::string& prefix,
            std::vector<SubRuleMap>* rules) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const Json& v = it.value();
    if (it.key() == "$or" && v.is_array() && !v.empty() && v[0].is_object()) {
      std::vector<SubRuleMap> out;
      for (const Json& alt : v) {
        std::vector<SubRuleMap> branch = *rules;
        Expand(alt, prefix, &branch);
        out.insert(out.end(), branch.begin(), branch.end());
      }
      *rules = std::move(out);
      continue;
    }
    const std::string path =
        prefix.empty() ? it.key() : prefix + "." + it.key();
    if (v.is_object()) {
      Expand(v, path, rules);
    } else {
      for (auto& r : *rules) Put(&r, path, &v);
    }
  }
}

double Num(const Json& j) { return j.get<double>(); }

bool GlobMatch(const std::string& pattern, const std::string& s) {
  auto g = Glob::Compile(pattern);
  return g.ok() && g->Matches(s);
}

bool StartsWith(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}
bool EndsWith(const std::string& s, const std::string& p) {
  return s.size() >= p.size() &&
         s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::vector<const Json*> AsList(const Json& j) {
  std::vector<const Json*> out;
  if (j.is_array()) {
    for (const Json& e : j) out.push_back(&e);
  } else {
    out.push_back(&j);
  }
  return out;
}

// Whether matcher `m` (an element of a value list) accepts leaf value `v`.
bool Accepts(const Json& m, const Json& v) {
  if (m.is_string()) {
    if (!v.is_string()) return false;
    const std::string a = m.get<std::string>();
    const std::string b = v.get<std::string>();
    if (a == b) return true;
    auto ia = ParseIp(a);
    auto ib = ParseIp(b);
    return ia.has_value() && ib.has_value() && *ia == *ib;
  }
  if (m.is_number()) return v.is_number() && Num(m) == Num(v);
  if (m.is_boolean()) return v.is_boolean() && m.get<bool>() == v.get<bool>();
  if (m.is_null()) return v.is_null();
  const std::string op = m.begin().key();
  const Json& arg = m.begin().value();
  const bool str = v.is_string();
  const std::string s = str ? v.get<std::string>() : std::string();
  if (op == "exactly") return str && s == arg.get<std::string>();
  if (op == "prefix" || op == "suffix") {
    if (!str) return false;
    const bool pre = op == "prefix";
    if (arg.is_object()) {
      const std::string p = FoldCase(arg.begin().value().get<std::string>());
      const std::string f = FoldCase(s);
      return pre ? StartsWith(f, p) : EndsWith(f, p);
    }
    return pre ? StartsWith(s, arg.get<std::string>())
               : EndsWith(s, arg.get<std::string>());
  }
  if (op == "equals-ignore-case") {
    return str && FoldCase(s) == FoldCase(arg.get<std::string>());
  }
  if (op == "wildcard") return str && GlobMatch(arg.get<std::string>(), s);
  if (op == "exists") return arg.get<bool>();
  if (op == "cidr") {
    if (!str) return false;
    auto c = ParseCidr(arg.get<std::string>());
    auto ip = ParseIp(s);
    return c.ok() && ip.has_value() && c->Contains(*ip);
  }
  if (op == "numeric") {
    if (!v.is_number()) return false;
    const double x = Num(v);
    for (size_t i = 0; i + 1 < arg.size(); i += 2) {
      const std::string o = arg[i].get<std::string>();
      const double y = Num(arg[i + 1]);
      bool ok = false;
      if (o == "=") ok = x == y;
      if (o == "<") ok = x < y;
      if (o == "<=") ok = x <= y;
      if (o == ">") ok = x > y;
      if (o == ">=") ok = x >= y;
      if (!ok) return false;
    }
    return true;
  }
  if (op == "anything-but") {
    if (arg.is_object()) {
      const std::string sub = arg.begin().key();
      const Json& vals = arg.begin().value();
      if (!str) return true;
      for (const Json* e : AsList(vals)) {
        const std::string t = e->get<std::string>();
        if (sub == "prefix" && StartsWith(s, t)) return false;
        if (sub == "suffix" && EndsWith(s, t)) return false;
        if (sub == "equals-ignore-case" && FoldCase(s) == FoldCase(t)) {
          return false;
        }
        if (sub == "wildcard" && GlobMatch(t, s)) return false;
      }
      return true;
    }
    for (const Json* e : AsList(arg)) {
      if (e->is_string() && str && e->get<std::string>() == s) return false;
      if (e->is_number() && v.is_number() && Num(*e) == Num(v)) return false;
    }
    return true;
  }
  return false;
}

bool IsAbsentMatcher(const Json& m) {
  return m.is_object() && m.begin().key() == "exists" &&
         m.begin().value().is_boolean() && !m.begin().value().get<bool>();
}

struct Search {
  const std::vector<RefLeaf>& leaves;
  std::vector<std::vector<int>> options;  // leaf index, or -1 for "absent"
  std::vector<std::string> paths;
  std::vector<int> chosen;

  bool Run(size_t i) {
    if (i == options.size()) {
      for (size_t f = 0; f < chosen.size(); ++f) {
        if (chosen[f] != -1) continue;
        for (const RefLeaf& l : leaves) {
          if (l.path != paths[f]) continue;
          bool consistent = true;
          for (int c : chosen) {
            if (c >= 0 && !Consistent(l, leaves[c])) consistent = false;
          }
          if (consistent) return false;
        }
      }
      return true;
    }
    for (int o : options[i]) {
      if (o >= 0) {
        bool ok = true;
        for (int c : chosen) {
          if (c >= 0 && !Consistent(leaves[o], leaves[c])) ok = false;
        }
        if (!ok) continue;
      }
      chosen.push_back(o);
      if (Run(i + 1)) return true;
      chosen.pop_back();
    }
    return false;
  }
};

}  // namespace

bool ReferenceMatches(std::string_view pattern_json,
                      std::string_view event_json) {
  auto pattern = common::ParseJson(std::string(pattern_json), "pattern");
  auto event = common::ParseJson(std::string(event_json), "event");
  if (!pattern.ok() || !event.ok() || !pattern->is_object() ||
      !event->is_object()) {
    return false;
  }
  std::vector<RefLeaf> leaves;
  std::vector<std::pair<int, int>> stack;
  int next_id = 0;
  Flatten(*event, "", &stack, &next_id, &leaves);

  std::vector<SubRuleMap> rules(1);
  Expand(*pattern, "", &rules);
  for (const SubRuleMap& rule : rules) {
    Search search{leaves, {}, {}, {}};
    for (const auto& [path, list] : rule) {
      std::vector<int> opts;
      bool absent_ok = false;
      for (const Json& m : *list) {
        if (IsAbsentMatcher(m)) absent_ok = true;
      }
      for (size_t l = 0; l < leaves.size(); ++l) {
        if (leaves[l].path != path) continue;
        for (const Json& m : *list) {
          if (!IsAbsentMatcher(m) && Accepts(m, *leaves[l].value)) {
            opts.push_back(static_cast<int>(l));
            break;
          }
        }
      }
      if (absent_ok) opts.push_back(-1);
      search.options.push_back(std::move(opts));
      search.paths.push_back(path);
    }
    if (search.Run(0)) return true;
  }
  return false;
}

}  // namespace evbus::pattern::internal
