#include "server/bus/envelope.h"

#include "server/common/check.h"
#include "server/common/json_canonical.h"

namespace evbus::bus {

std::string FormatEventTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

namespace {

// The envelope by concatenation (the PutEvents hot path): the same bytes as
// the document path below, without building a tree. False when a field is
// not valid UTF-8 (the document path then replaces the bad bytes).
bool AppendEnvelope(const EnvelopeFields& f, std::string_view detail_json,
                    std::string* out) {
  out->reserve(detail_json.size() + f.detail_type.size() + f.source.size() +
               256);
  out->append(R"({"version":"0","id":)");
  bool ok = common::AppendJsonString(f.id, out);
  out->append(R"(,"detail-type":)");
  ok = ok && common::AppendJsonString(f.detail_type, out);
  out->append(R"(,"source":)");
  ok = ok && common::AppendJsonString(f.source, out);
  out->append(R"(,"account":)");
  ok = ok && common::AppendJsonString(f.account, out);
  out->append(R"(,"time":)");
  ok = ok && common::AppendJsonString(FormatEventTime(f.time), out);
  out->append(R"(,"region":)");
  ok = ok && common::AppendJsonString(f.region, out);
  if (f.replay_name.has_value()) {
    out->append(R"(,"replay-name":)");
    ok = ok && common::AppendJsonString(*f.replay_name, out);
  }
  out->append(R"(,"resources":[)");
  for (size_t i = 0; i < f.resources.size(); ++i) {
    if (i > 0) out->push_back(',');
    ok = ok && common::AppendJsonString(f.resources[i], out);
  }
  out->append(R"(],"detail":)");
  out->append(detail_json);
  out->push_back('}');
  return ok;
}

}  // namespace

std::string BuildEnvelope(const EnvelopeFields& f) {
  EVBUS_CHECK(f.detail != nullptr || !f.detail_json.empty());
  if (f.detail == nullptr) {
    std::string out;
    if (AppendEnvelope(f, f.detail_json, &out)) return out;
  }
  common::Json envelope = common::Json::object();
  envelope["version"] = "0";
  envelope["id"] = f.id;
  envelope["detail-type"] = f.detail_type;
  envelope["source"] = f.source;
  envelope["account"] = f.account;
  envelope["time"] = FormatEventTime(f.time);
  envelope["region"] = f.region;
  if (f.replay_name.has_value()) envelope["replay-name"] = *f.replay_name;
  envelope["resources"] = f.resources;
  if (f.detail != nullptr) {
    envelope["detail"] = *f.detail;
  } else {
    absl::StatusOr<common::Json> detail = common::ParseJson(
        absl::string_view(f.detail_json.data(), f.detail_json.size()));
    EVBUS_CHECK(detail.ok());
    envelope["detail"] = *std::move(detail);
  }
  return common::DumpJson(envelope);
}

}  // namespace evbus::bus
