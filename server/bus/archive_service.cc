#include "server/bus/archive_service.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/aws_error.h"
#include "server/common/json.h"
#include "server/common/logging.h"
#include "server/storage/keys.h"

namespace evbus::bus {
namespace {

constexpr char kArchiveKind[] = "archive";
constexpr char kReplayKind[] = "replay";

bool ValidName(absl::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_') {
      return false;
    }
  }
  return true;
}

absl::Status NameError(absl::string_view value, absl::string_view field,
                       size_t max) {
  return common::ConstraintViolation({common::ConstraintClause(
      value, field,
      value.empty() ? "have length greater than or equal to 1"
      : value.size() > max
          ? absl::StrCat("have length less than or equal to ", max)
          : "satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")});
}

bool Active(const std::string& state) {
  return state == "STARTING" || state == "RUNNING" || state == "CANCELLING";
}

// The last path segment of an ARN ("...:archive/name" → "name").
std::string LastSegment(const std::string& arn) {
  size_t slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

// Inserts "replay-name" after "region" (AWS's position).
std::string WithReplayName(const std::string& envelope,
                           const std::string& replay) {
  absl::StatusOr<common::Json> doc = common::ParseJson(envelope);
  if (!doc.ok() || !doc->is_object()) return envelope;
  common::Json out = common::Json::object();
  bool placed = false;
  for (auto& [k, v] : doc->items()) {
    if (k == "replay-name") continue;
    if (k == "resources" && !placed) {
      out["replay-name"] = replay;
      placed = true;
    }
    out[k] = v;
    if (k == "region") {
      out["replay-name"] = replay;
      placed = true;
    }
  }
  if (!placed) out["replay-name"] = replay;
  return common::DumpJson(out);
}

}  // namespace

ArchiveService::ArchiveService(storage::Store& store, common::Clock& clock,
                               RuleRegistry& rules, BusService& buses,
                               ArchiveOptions options)
    : store_(store),
      clock_(clock),
      rules_(rules),
      buses_(buses),
      options_(std::move(options)) {}

ArchiveService::~ArchiveService() { Stop(); }

std::string ArchiveService::ArchiveArn(const std::string& name) const {
  return absl::StrCat("arn:aws:events:", options_.region, ":", options_.account,
                      ":archive/", name);
}

std::string ArchiveService::ReplayArn(const std::string& name) const {
  return absl::StrCat("arn:aws:events:", options_.region, ":", options_.account,
                      ":replay/", name);
}

absl::Status ArchiveService::Load() {
  std::vector<evbus::v1::Archive> archives;
  std::vector<evbus::v1::Replay> replays;
  for (const char* kind : {kArchiveKind, kReplayKind}) {
    std::string prefix = storage::keys::CatalogPrefix(kind);
    absl::Status s = store_.Scan(
        storage::Family::kCatalog, prefix, storage::keys::PrefixEnd(prefix),
        [&](absl::string_view, absl::string_view value) {
          if (std::string_view(kind) == kArchiveKind) {
            evbus::v1::Archive a;
            if (a.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
              archives.push_back(std::move(a));
            }
          } else {
            evbus::v1::Replay r;
            if (r.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
              replays.push_back(std::move(r));
            }
          }
          return true;
        });
    if (!s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  for (auto& a : archives) {
    std::string name = a.archive_name();
    archives_[name].archive = std::move(a);
  }
  for (auto& r : replays) {
    std::string name = r.replay_name();
    auto state = std::make_unique<ReplayState>();
    state->replay = std::move(r);
    bool resume = Active(state->replay.state());
    if (state->replay.state() == "CANCELLING") {
      state->replay.set_state("CANCELLED");
      resume = false;
    }
    replays_[name] = std::move(state);
    if (resume) LaunchLocked(name);
  }
  return absl::OkStatus();
}

void ArchiveService::Stop() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [name, r] : replays_) {
      if (r->thread.joinable()) threads.push_back(std::move(r->thread));
    }
  }
  for (std::thread& t : threads) t.join();
}

absl::StatusOr<std::string> ArchiveService::ArchiveRulePattern(
    const std::string& pattern) const {
  common::Json doc = common::Json::object();
  if (!pattern.empty()) {
    absl::StatusOr<common::Json> parsed = common::ParseJson(pattern);
    if (!parsed.ok() || !parsed->is_object()) {
      return common::AwsError(
          absl::StatusCode::kInvalidArgument, "InvalidEventPatternException",
          "Event pattern is not valid. Reason: Filter is not an object");
    }
    doc = *std::move(parsed);
  }
  doc["replay-name"] = common::Json::array({{{"exists", false}}});
  return common::DumpJson(doc);
}

absl::Status ArchiveService::PersistArchive(const evbus::v1::Archive& a) {
  storage::WriteBatch batch;
  evbus::v1::Archive stored = a;
  stored.clear_event_count();
  stored.clear_size_bytes();
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kArchiveKind, a.archive_name()),
            stored.SerializeAsString());
  return store_.Write(batch, /*sync=*/true);
}

absl::Status ArchiveService::PersistReplay(const evbus::v1::Replay& r) {
  storage::WriteBatch batch;
  batch.Put(storage::Family::kCatalog,
            storage::keys::CatalogKey(kReplayKind, r.replay_name()),
            r.SerializeAsString());
  return store_.Write(batch, /*sync=*/true);
}

void ArchiveService::FillCountsLocked(evbus::v1::Archive* archive) const {
  int64_t count = 0, bytes = 0;
  std::string prefix = storage::keys::ArchivePrefix(archive->archive_name());
  absl::Status s = store_.Scan(storage::Family::kArchive, prefix,
                               storage::keys::PrefixEnd(prefix),
                               [&](absl::string_view, absl::string_view v) {
                                 ++count;
                                 bytes += static_cast<int64_t>(v.size());
                                 return true;
                               });
  if (!s.ok()) EVBUS_LOG(WARNING) << "archive count: " << s;
  archive->set_event_count(count);
  archive->set_size_bytes(bytes);
}

absl::StatusOr<evbus::v1::Archive> ArchiveService::CreateArchive(
    const evbus::v1::CreateArchiveRequest& req) {
  if (!ValidName(req.archive_name(), 48)) {
    return NameError(req.archive_name(), "archiveName", 48);
  }
  if (req.description().size() > 512) {
    return common::ConstraintViolation(
        {common::ConstraintClause(req.description(), "description",
                                  "have length less than or equal to 512")});
  }
  if (req.retention_days() < 0) {
    return common::ConstraintViolation({common::ConstraintClause(
        absl::StrCat(req.retention_days()), "retentionDays",
        "have value greater than or equal to 0")});
  }
  if (req.event_source_arn().empty()) {
    return common::ConstraintViolation({common::ConstraintClause(
        "", "eventSourceArn", "have length greater than or equal to 1")});
  }
  absl::StatusOr<std::string> bus = buses_.ResolveBus(req.event_source_arn());
  if (!bus.ok()) return bus.status();
  absl::StatusOr<std::string> pattern = ArchiveRulePattern(req.event_pattern());
  if (!pattern.ok()) return pattern.status();
  absl::MutexLock lock(&mu_);
  if (archives_.count(req.archive_name()) > 0) {
    return common::ResourceAlreadyExists(
        absl::StrCat("Archive ", req.archive_name(), " already exists."));
  }
  evbus::v1::Rule rule;
  rule.set_name(kArchiveRulePrefix + req.archive_name());
  rule.set_event_bus_name(*bus);
  rule.set_event_pattern(*pattern);
  rule.set_state("ENABLED");
  rule.set_managed_by(kArchiveManager);
  rule.set_description(
      absl::StrCat("Archive ", req.archive_name(), " (managed by evbus)"));
  absl::StatusOr<std::string> arn = rules_.PutRule(rule);
  if (!arn.ok()) return arn.status();  // e.g. an invalid pattern
  evbus::v1::Archive a;
  a.set_archive_name(req.archive_name());
  a.set_archive_arn(ArchiveArn(req.archive_name()));
  a.set_event_source_arn(buses_.BusArn(*bus));
  a.set_event_bus_name(*bus);
  a.set_description(req.description());
  a.set_event_pattern(req.event_pattern());
  a.set_retention_days(req.retention_days());
  a.set_state("ENABLED");
  a.set_creation_time_ms(absl::ToUnixMillis(clock_.Now()));
  absl::Status s = PersistArchive(a);
  if (!s.ok()) return s;
  archives_[a.archive_name()].archive = a;
  return a;
}

absl::StatusOr<evbus::v1::Archive> ArchiveService::DescribeArchive(
    const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = archives_.find(name);
  if (it == archives_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Archive ", name, " does not exist."));
  }
  evbus::v1::Archive a = it->second.archive;
  FillCountsLocked(&a);
  return a;
}

absl::StatusOr<evbus::v1::Archive> ArchiveService::UpdateArchive(
    const evbus::v1::UpdateArchiveRequest& req) {
  if (!req.has_description() && !req.has_event_pattern() &&
      !req.has_retention_days()) {
    return common::ValidationError(
        "At least one of EventPattern, RetentionDays or Description must be "
        "provided.");
  }
  absl::MutexLock lock(&mu_);
  auto it = archives_.find(req.archive_name());
  if (it == archives_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Archive ", req.archive_name(), " does not exist."));
  }
  evbus::v1::Archive a = it->second.archive;
  if (req.has_description()) a.set_description(req.description());
  if (req.has_retention_days()) {
    if (req.retention_days() < 0) {
      return common::ConstraintViolation({common::ConstraintClause(
          absl::StrCat(req.retention_days()), "retentionDays",
          "have value greater than or equal to 0")});
    }
    a.set_retention_days(req.retention_days());
  }
  if (req.has_event_pattern()) {
    absl::StatusOr<std::string> pattern =
        ArchiveRulePattern(req.event_pattern());
    if (!pattern.ok()) return pattern.status();
    evbus::v1::Rule rule;
    rule.set_name(kArchiveRulePrefix + a.archive_name());
    rule.set_event_bus_name(a.event_bus_name());
    rule.set_event_pattern(*pattern);
    rule.set_state("ENABLED");
    rule.set_managed_by(kArchiveManager);
    rule.set_description(
        absl::StrCat("Archive ", a.archive_name(), " (managed by evbus)"));
    absl::StatusOr<std::string> arn = rules_.PutRule(rule);
    if (!arn.ok()) return arn.status();
    a.set_event_pattern(req.event_pattern());
  }
  absl::Status s = PersistArchive(a);
  if (!s.ok()) return s;
  it->second.archive = a;
  FillCountsLocked(&a);
  return a;
}

absl::StatusOr<evbus::v1::ListArchivesResponse> ArchiveService::ListArchives(
    const evbus::v1::ListArchivesRequest& req) const {
  if (req.limit() < 0 || req.limit() > 100) {
    return common::ConstraintViolation(
        {common::ConstraintClause(absl::StrCat(req.limit()), "limit",
                                  "have value less than or equal to 100")});
  }
  size_t max = req.limit() == 0 ? 100 : static_cast<size_t>(req.limit());
  std::string after;
  if (!req.next_token().empty() &&
      !absl::WebSafeBase64Unescape(req.next_token(), &after)) {
    return common::ValidationError("The NextToken provided is invalid.");
  }
  evbus::v1::ListArchivesResponse out;
  absl::ReaderMutexLock lock(&mu_);
  for (auto it = after.empty() ? archives_.begin()
                               : archives_.upper_bound(after);
       it != archives_.end(); ++it) {
    const evbus::v1::Archive& a = it->second.archive;
    if (!absl::StartsWith(a.archive_name(), req.name_prefix())) continue;
    if (!req.state().empty() && a.state() != req.state()) continue;
    if (!req.event_source_arn().empty() &&
        a.event_source_arn() != req.event_source_arn()) {
      continue;
    }
    if (static_cast<size_t>(out.archives_size()) == max) {
      out.set_next_token(absl::WebSafeBase64Escape(
          out.archives(out.archives_size() - 1).archive_name()));
      break;
    }
    evbus::v1::Archive copy = a;
    FillCountsLocked(&copy);
    *out.add_archives() = std::move(copy);
  }
  return out;
}

absl::Status ArchiveService::DeleteArchive(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = archives_.find(name);
  if (it == archives_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Archive ", name, " does not exist."));
  }
  absl::Status r = rules_.DeleteRule(it->second.archive.event_bus_name(),
                                     kArchiveRulePrefix + name, /*force=*/true);
  if (!r.ok()) return r;
  storage::WriteBatch batch;
  batch.Delete(storage::Family::kCatalog,
               storage::keys::CatalogKey(kArchiveKind, name));
  std::string prefix = storage::keys::ArchivePrefix(name);
  batch.DeleteRange(storage::Family::kArchive, prefix,
                    storage::keys::PrefixEnd(prefix));
  std::string arrivals = storage::keys::ArchiveArrivalPrefix(name);
  batch.DeleteRange(storage::Family::kArchive, arrivals,
                    storage::keys::PrefixEnd(arrivals));
  absl::Status s = store_.Write(batch, /*sync=*/true);
  if (!s.ok()) return s;
  archives_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<evbus::v1::Replay> ArchiveService::StartReplay(
    const evbus::v1::StartReplayRequest& req) {
  if (!ValidName(req.replay_name(), 64)) {
    return NameError(req.replay_name(), "replayName", 64);
  }
  if (req.event_end_time_ms() <= req.event_start_time_ms()) {
    return common::ValidationError(
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be "
        "before EventEndTime.");
  }
  std::string archive_name = LastSegment(req.event_source_arn());
  absl::MutexLock lock(&mu_);
  auto a = archives_.find(archive_name);
  if (a == archives_.end() ||
      !absl::StrContains(req.event_source_arn(), ":archive/")) {
    return common::ValidationError(
        absl::StrCat("Parameter EventSourceArn is not valid. Reason: Archive ",
                     archive_name, " does not exist."));
  }
  absl::StatusOr<std::string> dest = buses_.ResolveBus(req.destination().arn());
  if (!dest.ok()) return dest.status();
  if (*dest != a->second.archive.event_bus_name()) {
    return common::ValidationError(
        "Parameter Destination.Arn is not valid. Reason: Cross event bus "
        "replay is not permitted.");
  }
  if (replays_.count(req.replay_name()) > 0) {
    return common::ResourceAlreadyExists(
        absl::StrCat("Replay ", req.replay_name(), " already exists."));
  }
  size_t active = 0;
  for (const auto& [n, r] : replays_) {
    if (Active(r->replay.state())) ++active;
  }
  if (active >= options_.max_active_replays) {
    return common::LimitExceeded(
        "The requested resource exceeds the maximum number allowed.");
  }
  auto state = std::make_unique<ReplayState>();
  evbus::v1::Replay& r = state->replay;
  r.set_replay_name(req.replay_name());
  r.set_replay_arn(ReplayArn(req.replay_name()));
  r.set_description(req.description());
  r.set_state("STARTING");
  r.set_event_source_arn(a->second.archive.archive_arn());
  *r.mutable_destination() = req.destination();
  r.set_event_start_time_ms(req.event_start_time_ms());
  r.set_event_end_time_ms(req.event_end_time_ms());
  r.set_replay_start_time_ms(absl::ToUnixMillis(clock_.Now()));
  absl::Status s = PersistReplay(r);
  if (!s.ok()) return s;
  evbus::v1::Replay copy = r;
  replays_[req.replay_name()] = std::move(state);
  LaunchLocked(req.replay_name());
  return copy;
}

void ArchiveService::LaunchLocked(const std::string& name) {
  if (stopping_) return;
  ReplayState& state = *replays_[name];
  state.thread = std::thread([this, name] { RunReplay(name); });
}

void ArchiveService::RunReplay(const std::string& name) {
  evbus::v1::Replay replay;
  {
    absl::MutexLock lock(&mu_);
    replay = replays_[name]->replay;
    replays_[name]->replay.set_state("RUNNING");
  }
  std::string archive = LastSegment(replay.event_source_arn());
  std::string bus;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto a = archives_.find(archive);
    if (a != archives_.end()) bus = a->second.archive.event_bus_name();
  }
  std::set<std::string> only_rules;
  for (const std::string& arn : replay.destination().filter_arns()) {
    only_rules.insert(LastSegment(arn));
  }
  std::string prefix = storage::keys::ArchivePrefix(archive);
  std::string end = prefix;
  storage::keys::AppendBigEndian64(
      &end, static_cast<uint64_t>(replay.event_end_time_ms()));
  // Resume right after the last event put back (its archive key), or at
  // the window's start.
  std::string cursor = prefix;
  if (replay.event_last_replayed_time_ms() > 0) {
    storage::keys::AppendBigEndian64(
        &cursor, static_cast<uint64_t>(replay.event_last_replayed_time_ms()));
    if (!replay.last_replayed_event_id().empty()) {
      cursor += replay.last_replayed_event_id();
      cursor.push_back('\0');
    }
  } else {
    storage::keys::AppendBigEndian64(
        &cursor, static_cast<uint64_t>(
                     std::max<int64_t>(0, replay.event_start_time_ms())));
  }
  int batches = 0;
  std::string final_state = "COMPLETED";
  std::string reason;
  // An archive deleted during the replay ends it FAILED, whatever was put
  // back by then (its events are gone, so COMPLETED would claim too much).
  auto archive_gone = [&] {
    absl::ReaderMutexLock lock(&mu_);
    return archives_.count(archive) == 0;
  };
  for (int round = 0; round < 10000000 && !bus.empty(); ++round) {
    {
      absl::ReaderMutexLock lock(&mu_);
      if (stopping_) return;  // progress saved; resumes at next start
      if (replays_[name]->cancel) {
        final_state = "CANCELLED";
        break;
      }
      if (archives_.count(archive) == 0) {
        bus.clear();  // FAILED below
        break;
      }
    }
    std::vector<BusService::ReplayedEvent> batch;
    std::string last_key;
    absl::Status s = store_.Scan(
        storage::Family::kArchive, cursor, end,
        [&](absl::string_view key, absl::string_view value) {
          BusService::ReplayedEvent e;
          absl::string_view rest = key.substr(prefix.size());
          e.event_time_ms =
              static_cast<int64_t>(storage::keys::ReadBigEndian64(rest));
          e.event_id = std::string(rest.substr(8));
          e.envelope_json = WithReplayName(std::string(value), name);
          batch.push_back(std::move(e));
          last_key = std::string(key);
          return batch.size() < options_.replay_batch;
        });
    if (!s.ok()) {
      final_state = "FAILED";
      reason = std::string(s.message());
      break;
    }
    if (batch.empty()) {
      if (archive_gone()) bus.clear();  // its events went with it: FAILED
      break;
    }
    s = buses_.PutReplayed(bus, batch, only_rules);
    if (!s.ok()) {
      final_state = "FAILED";
      reason = std::string(s.message());
      break;
    }
    cursor = last_key;
    cursor.push_back('\0');
    absl::ReleasableMutexLock lock(&mu_);
    evbus::v1::Replay& r = replays_[name]->replay;
    r.set_event_last_replayed_time_ms(batch.back().event_time_ms);
    r.set_last_replayed_event_id(batch.back().event_id);
    r.set_events_replayed(r.events_replayed() +
                          static_cast<int64_t>(batch.size()));
    absl::Status p = PersistReplay(r);
    if (!p.ok()) EVBUS_LOG(WARNING) << "replay progress: " << p;
    if (++batches == options_.stop_after_batches_for_testing) return;
    if (options_.after_replay_batch) {
      lock.Release();
      options_.after_replay_batch(name);
    }
  }
  if (bus.empty()) {
    final_state = "FAILED";
    reason = "The archive no longer exists.";
  }
  absl::MutexLock lock(&mu_);
  evbus::v1::Replay& r = replays_[name]->replay;
  r.set_state(final_state);
  r.set_state_reason(reason);
  r.set_replay_end_time_ms(absl::ToUnixMillis(clock_.Now()));
  absl::Status p = PersistReplay(r);
  if (!p.ok()) EVBUS_LOG(WARNING) << "replay state: " << p;
}

absl::StatusOr<evbus::v1::Replay> ArchiveService::DescribeReplay(
    const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = replays_.find(name);
  if (it == replays_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Replay ", name, " does not exist."));
  }
  return it->second->replay;
}

absl::StatusOr<evbus::v1::ListReplaysResponse> ArchiveService::ListReplays(
    const evbus::v1::ListReplaysRequest& req) const {
  size_t max = req.limit() <= 0 ? 100 : std::min(100, req.limit());
  std::string after;
  if (!req.next_token().empty() &&
      !absl::WebSafeBase64Unescape(req.next_token(), &after)) {
    return common::ValidationError("The NextToken provided is invalid.");
  }
  evbus::v1::ListReplaysResponse out;
  absl::ReaderMutexLock lock(&mu_);
  for (auto it = after.empty() ? replays_.begin() : replays_.upper_bound(after);
       it != replays_.end(); ++it) {
    const evbus::v1::Replay& r = it->second->replay;
    if (!absl::StartsWith(r.replay_name(), req.name_prefix())) continue;
    if (!req.state().empty() && r.state() != req.state()) continue;
    if (!req.event_source_arn().empty() &&
        r.event_source_arn() != req.event_source_arn()) {
      continue;
    }
    if (static_cast<size_t>(out.replays_size()) == max) {
      out.set_next_token(absl::WebSafeBase64Escape(
          out.replays(out.replays_size() - 1).replay_name()));
      break;
    }
    *out.add_replays() = r;
  }
  return out;
}

absl::StatusOr<evbus::v1::Replay> ArchiveService::CancelReplay(
    const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = replays_.find(name);
  if (it == replays_.end()) {
    return common::ResourceNotFound(
        absl::StrCat("Replay ", name, " does not exist."));
  }
  evbus::v1::Replay& r = it->second->replay;
  if (r.state() != "STARTING" && r.state() != "RUNNING") {
    return common::AwsError(
        absl::StatusCode::kFailedPrecondition, "IllegalStatusException",
        absl::StrCat("Replay ", name,
                     " is not in a state that can be cancelled."));
  }
  it->second->cancel = true;
  r.set_state("CANCELLING");
  return r;
}

absl::Status ArchiveService::TrimArchives() {
  std::vector<std::pair<std::string, int>> retention;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, a] : archives_) {
      if (a.archive.retention_days() > 0) {
        retention.emplace_back(name, a.archive.retention_days());
      }
    }
  }
  if (retention.empty()) return absl::OkStatus();
  // Events are kept RetentionDays from their arrival. Keys are ordered by
  // the event's own time, which is never later than its arrival but for
  // events timed in the future, so the candidates are the events whose
  // time is before the cutoff; of those, the ones that arrived after it
  // (timed in the past by their sender) stay. Events archived before
  // arrival times were recorded have none: their time decides, as it did.
  constexpr size_t kMaxPerPass = 100000;
  storage::WriteBatch batch;
  const absl::Time now = clock_.Now();
  for (const auto& [name, days] : retention) {
    const int64_t cutoff = absl::ToUnixMillis(now - absl::Hours(24) * days);
    if (cutoff <= 0) continue;
    const std::string arrival_prefix =
        storage::keys::ArchiveArrivalPrefix(name);
    std::string arrival_end = arrival_prefix;
    storage::keys::AppendBigEndian64(&arrival_end,
                                     static_cast<uint64_t>(cutoff));
    // Arrival times of the candidates, by the key's part after the prefix.
    absl::flat_hash_map<std::string, int64_t> arrived;
    std::string last;  // the last suffix read when the map filled up
    absl::Status s = store_.Scan(
        storage::Family::kArchive, arrival_prefix, arrival_end,
        [&](absl::string_view key, absl::string_view value) {
          std::string suffix(key.substr(arrival_prefix.size()));
          arrived[suffix] =
              value.size() == 8
                  ? static_cast<int64_t>(storage::keys::ReadBigEndian64(value))
                  : 0;
          if (arrived.size() < kMaxPerPass) return true;
          last = std::move(suffix);
          return false;
        });
    if (!s.ok()) return s;
    const std::string prefix = storage::keys::ArchivePrefix(name);
    std::string end = prefix;
    if (last.empty()) {
      storage::keys::AppendBigEndian64(&end, static_cast<uint64_t>(cutoff));
    } else {
      // Only as far as the arrival times read reach (the next pass goes
      // on from there).
      end += last;
      end.push_back('\0');
    }
    size_t deleted = 0;
    s = store_.Scan(storage::Family::kArchive, prefix, end,
                    [&](absl::string_view key, absl::string_view) {
                      std::string suffix(key.substr(prefix.size()));
                      auto it = arrived.find(suffix);
                      if (it != arrived.end() && it->second >= cutoff) {
                        return true;  // arrived within the retention
                      }
                      batch.Delete(storage::Family::kArchive, key);
                      if (it != arrived.end()) {
                        batch.Delete(storage::Family::kArchive,
                                     arrival_prefix + suffix);
                      }
                      return ++deleted < kMaxPerPass;
                    });
    if (!s.ok()) return s;
  }
  if (batch.Empty()) return absl::OkStatus();
  return store_.Write(batch, /*sync=*/false);
}

bool ArchiveService::WaitReplayDoneForTesting(const std::string& name,
                                              absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = replays_.find(name);
    return it == replays_.end() || !Active(it->second->replay.state());
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

}  // namespace evbus::bus
