#include "server/bus/envelope.h"

#include "server/common/check.h"

namespace evbus::bus {

std::string FormatEventTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string BuildEnvelope(const EnvelopeFields& f) {
  EVBUS_CHECK(f.detail != nullptr);
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
  envelope["detail"] = *f.detail;
  return common::DumpJson(envelope);
}

}  // namespace evbus::bus
