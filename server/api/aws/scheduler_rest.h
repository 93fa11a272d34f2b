// File: server/api/aws/scheduler_rest.h
//
// EventBridge Scheduler's REST-JSON protocol (shared/spec/eventbridge.md
// §10.2): /schedules/{Name}, /schedule-groups/{Name} over the in-process
// EventBusServiceImpl. Timestamps are epoch seconds; errors carry
// X-Amzn-ErrorType and the status of their shape (404, 409, 402, 400, 500).
// Tags: /tags/{ResourceArn} (TagResource, UntagResource,
// ListTagsForResource) and CreateScheduleGroup's Tags, for schedule groups
// (the only taggable Scheduler resource), kept in `tags`.
//
// Thread safety: thread-safe.
#pragma once

#include "server/api/aws/aws_http.h"
#include "server/api/aws/tag_store.h"
#include "server/api/grpc/event_bus_service.h"

namespace evbus::api::aws {

// True when `request` is a Scheduler call (its path).
bool IsSchedulerPath(absl::string_view path);

AwsHttpResponse HandleScheduler(const AwsHttpRequest& request,
                                api::EventBusServiceImpl& events,
                                TagStore& tags);

// The HTTP status of a restJson1 error for `status`'s canonical code.
int RestStatusOf(const absl::Status& status);

}  // namespace evbus::api::aws
