// File: server/api/shapes/alarm_shapes.h
//
// CloudWatch's MetricAlarm and CompositeAlarm JSON shapes (AWS member
// names), shared by the CLI and the AWS-compatible endpoint. Pure;
// thread-safe.
#pragma once

#include "evbus/v1/cloudwatch.pb.h"
#include "server/api/shapes/schedule_shapes.h"
#include "server/common/json.h"

namespace evbus::api::shapes {

// [{"Name":..,"Value":..}].
common::Json DimensionsToJson(
    const google::protobuf::RepeatedPtrField<evbus::v1::Dimension>& dims);

// A MetricDataQuery: {"Id", "MetricStat": {"Metric", "Period", "Stat",
// "Unit"?}?, "Expression"?, "Label"?, "ReturnData", "Period"?}.
common::Json MetricDataQueryToJson(const evbus::v1::MetricDataQuery& q);

// A MetricAlarm as DescribeAlarms returns it (a metric math alarm with
// "Metrics" in place of MetricName, Namespace, Statistic, Dimensions,
// Period and Unit).
common::Json MetricAlarmToJson(const evbus::v1::MetricAlarm& a,
                               TimeStyle style);

// A composite alarm (alarm_rule set) as DescribeAlarms returns it in
// CompositeAlarms.
common::Json CompositeAlarmToJson(const evbus::v1::MetricAlarm& a,
                                  TimeStyle style);

// Either kind as DescribeAlarms returns it for ChildrenOfAlarmName and
// ParentsOfAlarmName (DescribeAlarmsResponse.summaries): AlarmName,
// AlarmArn, StateValue and StateUpdatedTimestamp.
common::Json AlarmSummaryToJson(const evbus::v1::MetricAlarm& a,
                                TimeStyle style);

}  // namespace evbus::api::shapes
