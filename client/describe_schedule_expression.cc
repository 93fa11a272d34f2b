#include "client/describe_schedule_expression.h"

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "client/output.h"
#include "server/common/json.h"
#include "server/scheduler/schedule_expression.h"

namespace evbus::cli {

int RunDescribeScheduleExpression(const std::string& expression,
                                  const std::string& time_zone,
                                  std::optional<absl::Time> start, int count,
                                  std::ostream& out, std::ostream& err) {
  if (count < 1 || count > kMaxDescribeCount) {
    err << "--count must be between 1 and " << kMaxDescribeCount << "\n";
    return 1;
  }
  absl::StatusOr<scheduler::ScheduleExpression> e =
      scheduler::ScheduleExpression::Parse(
          expression, scheduler::Dialect::kScheduler, time_zone);
  if (!e.ok()) {
    err << e.status().message() << "\n";
    return 1;
  }
  const absl::Time anchor = start.value_or(absl::Now());
  common::Json times = common::Json::array();
  absl::Time after = anchor;
  for (int i = 0; i < count; ++i) {
    std::optional<absl::Time> next = e->NextFireAfter(after, anchor);
    if (!next.has_value()) break;
    times.push_back(
        absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", *next, e->time_zone()));
    after = *next;
  }
  common::Json doc = common::Json::object();
  doc["Expression"] = expression;
  doc["Timezone"] = time_zone.empty() ? std::string("UTC") : time_zone;
  doc["NextFireTimes"] = std::move(times);
  Render(doc, "json", out);
  return 0;
}

}  // namespace evbus::cli
