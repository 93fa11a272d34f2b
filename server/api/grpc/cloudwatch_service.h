// File: server/api/grpc/cloudwatch_service.h
//
// evbus.v1.CloudWatchService: CloudWatch's metric and alarm API over gRPC,
// a thin layer over metricstore::MetricStore (+ metric_queries) and
// alarms::AlarmService.
//
// Thread safety: thread-safe.
#pragma once

#include "evbus/v1/cloudwatch.grpc.pb.h"
#include "server/alarms/alarm_service.h"
#include "server/api/grpc/call_authorizer.h"
#include "server/metricstore/metric_store.h"

namespace evbus::api {

class CloudWatchServiceImpl final
    : public evbus::v1::CloudWatchService::Service {
 public:
  CloudWatchServiceImpl(metricstore::MetricStore& metrics,
                        alarms::AlarmService& alarms)
      : metrics_(metrics), alarms_(alarms) {}

  grpc::Status PutMetricData(grpc::ServerContext*,
                             const evbus::v1::PutMetricDataRequest* request,
                             evbus::v1::PutMetricDataResponse*) override;
  grpc::Status ListMetrics(grpc::ServerContext*,
                           const evbus::v1::ListMetricsRequest* request,
                           evbus::v1::ListMetricsResponse* response) override;
  grpc::Status GetMetricStatistics(
      grpc::ServerContext*,
      const evbus::v1::GetMetricStatisticsRequest* request,
      evbus::v1::GetMetricStatisticsResponse* response) override;
  grpc::Status GetMetricData(
      grpc::ServerContext*, const evbus::v1::GetMetricDataRequest* request,
      evbus::v1::GetMetricDataResponse* response) override;
  grpc::Status PutMetricAlarm(grpc::ServerContext*,
                              const evbus::v1::PutMetricAlarmRequest* request,
                              evbus::v1::PutMetricAlarmResponse*) override;
  grpc::Status PutCompositeAlarm(
      grpc::ServerContext*, const evbus::v1::PutCompositeAlarmRequest* request,
      evbus::v1::PutCompositeAlarmResponse*) override;
  grpc::Status DescribeAlarms(
      grpc::ServerContext*, const evbus::v1::DescribeAlarmsRequest* request,
      evbus::v1::DescribeAlarmsResponse* response) override;
  grpc::Status DescribeAlarmHistory(
      grpc::ServerContext*,
      const evbus::v1::DescribeAlarmHistoryRequest* request,
      evbus::v1::DescribeAlarmHistoryResponse* response) override;
  grpc::Status SetAlarmState(grpc::ServerContext*,
                             const evbus::v1::SetAlarmStateRequest* request,
                             evbus::v1::SetAlarmStateResponse*) override;
  grpc::Status DeleteAlarms(grpc::ServerContext*,
                            const evbus::v1::AlarmNamesRequest* request,
                            evbus::v1::AlarmNamesResponse*) override;
  grpc::Status EnableAlarmActions(grpc::ServerContext*,
                                  const evbus::v1::AlarmNamesRequest* request,
                                  evbus::v1::AlarmNamesResponse*) override;
  grpc::Status DisableAlarmActions(grpc::ServerContext*,
                                   const evbus::v1::AlarmNamesRequest* request,
                                   evbus::v1::AlarmNamesResponse*) override;

  // Every call must pass `authorizer` (which must outlive this service);
  // without one, every call is accepted.
  void SetAuthorizer(const CallAuthorizer* authorizer) {
    authorizer_ = authorizer;
  }

 private:
  const CallAuthorizer* authorizer_ = &CallAuthorizer::Open();
  metricstore::MetricStore& metrics_;
  alarms::AlarmService& alarms_;
};

}  // namespace evbus::api
