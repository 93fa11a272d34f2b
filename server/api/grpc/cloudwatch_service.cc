#include "server/api/grpc/cloudwatch_service.h"

#include "server/api/grpc/status_conversion.h"
#include "server/metricstore/metric_queries.h"

namespace evbus::api {
namespace {

std::vector<std::string> Names(const evbus::v1::AlarmNamesRequest& request) {
  return {request.alarm_names().begin(), request.alarm_names().end()};
}

}  // namespace

grpc::Status CloudWatchServiceImpl::PutMetricData(
    grpc::ServerContext* context,
    const evbus::v1::PutMetricDataRequest* request,
    evbus::v1::PutMetricDataResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(metrics_.PutMetricData(*request));
}

grpc::Status CloudWatchServiceImpl::ListMetrics(
    grpc::ServerContext* context, const evbus::v1::ListMetricsRequest* request,
    evbus::v1::ListMetricsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  metricstore::Dimensions filter;
  for (const auto& d : request->dimensions()) {
    filter.emplace_back(d.name(), d.value());
  }
  // Pages of 500, as CloudWatch; the token is the index to continue at.
  std::vector<evbus::v1::Metric> all = metrics_.ListMetrics(
      request->namespace_(), request->metric_name(), filter);
  size_t start = 0;
  if (!request->next_token().empty()) {
    start = static_cast<size_t>(
        std::strtoull(request->next_token().c_str(), nullptr, 10));
  }
  for (size_t i = start; i < all.size() && i < start + 500; ++i) {
    *response->add_metrics() = std::move(all[i]);
  }
  if (start + 500 < all.size()) {
    response->set_next_token(std::to_string(start + 500));
  }
  return grpc::Status::OK;
}

grpc::Status CloudWatchServiceImpl::GetMetricStatistics(
    grpc::ServerContext* context,
    const evbus::v1::GetMetricStatisticsRequest* request,
    evbus::v1::GetMetricStatisticsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::GetMetricStatisticsResponse> r =
      metricstore::GetMetricStatistics(metrics_, *request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status CloudWatchServiceImpl::GetMetricData(
    grpc::ServerContext* context,
    const evbus::v1::GetMetricDataRequest* request,
    evbus::v1::GetMetricDataResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::GetMetricDataResponse> r =
      metricstore::GetMetricData(metrics_, *request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status CloudWatchServiceImpl::PutMetricAlarm(
    grpc::ServerContext* context,
    const evbus::v1::PutMetricAlarmRequest* request,
    evbus::v1::PutMetricAlarmResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(alarms_.PutMetricAlarm(*request));
}

grpc::Status CloudWatchServiceImpl::PutCompositeAlarm(
    grpc::ServerContext* context,
    const evbus::v1::PutCompositeAlarmRequest* request,
    evbus::v1::PutCompositeAlarmResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(alarms_.PutCompositeAlarm(*request));
}

grpc::Status CloudWatchServiceImpl::DescribeAlarms(
    grpc::ServerContext* context,
    const evbus::v1::DescribeAlarmsRequest* request,
    evbus::v1::DescribeAlarmsResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::DescribeAlarmsResponse> r =
      alarms_.DescribeAlarms(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status CloudWatchServiceImpl::DescribeAlarmHistory(
    grpc::ServerContext* context,
    const evbus::v1::DescribeAlarmHistoryRequest* request,
    evbus::v1::DescribeAlarmHistoryResponse* response) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<evbus::v1::DescribeAlarmHistoryResponse> r =
      alarms_.DescribeAlarmHistory(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status CloudWatchServiceImpl::SetAlarmState(
    grpc::ServerContext* context,
    const evbus::v1::SetAlarmStateRequest* request,
    evbus::v1::SetAlarmStateResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(alarms_.SetAlarmState(*request));
}

grpc::Status CloudWatchServiceImpl::DeleteAlarms(
    grpc::ServerContext* context, const evbus::v1::AlarmNamesRequest* request,
    evbus::v1::AlarmNamesResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(alarms_.DeleteAlarms(Names(*request)));
}

grpc::Status CloudWatchServiceImpl::EnableAlarmActions(
    grpc::ServerContext* context, const evbus::v1::AlarmNamesRequest* request,
    evbus::v1::AlarmNamesResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(alarms_.SetActionsEnabled(Names(*request), true));
}

grpc::Status CloudWatchServiceImpl::DisableAlarmActions(
    grpc::ServerContext* context, const evbus::v1::AlarmNamesRequest* request,
    evbus::v1::AlarmNamesResponse*) {
  if (grpc::Status denied = authorizer_->Check(context); !denied.ok()) {
    return denied;
  }
  return ToGrpcStatus(alarms_.SetActionsEnabled(Names(*request), false));
}

}  // namespace evbus::api
