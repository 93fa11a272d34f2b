// File: server/api/shapes/schedule_shapes.h
//
// EventBridge Scheduler's JSON shapes (AWS member names) ↔ evbus.v1
// Schedule / ScheduleGroup protos, shared by the CLI and the AWS-compatible
// endpoint. Input is type-checked member by member (a ValidationException
// naming the member, never an exception). Pure; thread-safe.
#pragma once

#include "absl/status/statusor.h"
#include "evbus/v1/schedule.pb.h"
#include "server/common/json.h"

namespace evbus::api::shapes {

// How timestamps are written: ISO 8601 strings (the CLI) or epoch seconds
// (the AWS wire protocols).
enum class TimeStyle { kIso, kEpochSeconds };

common::Json TimeValue(int64_t ms, TimeStyle style);
// Epoch seconds (number) or RFC 3339 (string) → ms.
absl::StatusOr<int64_t> ParseTimeValue(const common::Json& v,
                                       absl::string_view member);

absl::StatusOr<evbus::v1::ScheduleTarget> ScheduleTargetFromJson(
    const common::Json& j);

// The members of CreateSchedule / UpdateSchedule (Name comes from the
// caller: the REST path or --name).
absl::StatusOr<evbus::v1::Schedule> ScheduleFromJson(const common::Json& j);

common::Json ScheduleToJson(const evbus::v1::Schedule& s, TimeStyle style);
common::Json ScheduleSummaryToJson(const evbus::v1::Schedule& s,
                                   TimeStyle style);
common::Json ScheduleGroupToJson(const evbus::v1::ScheduleGroup& g,
                                 TimeStyle style);

}  // namespace evbus::api::shapes
