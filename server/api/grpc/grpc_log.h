// File: server/api/grpc/grpc_log.h
//
// Routes gRPC core's own log lines into evbusd's log (common/logging.h),
// at most 20 a minute: gRPC logs one ERROR line per failed TLS handshake,
// so that anyone who can connect to the gRPC port could otherwise grow the
// log without bound (QA L-2). Failed handshakes and all other lines have a
// budget each (a flood of the first does not hide the second). Dropped
// lines are counted and the count is logged with the next line let
// through.
//
// Thread safety: call InstallGrpcLogSink once, before the server starts.
#pragma once

#include <cstdint>

namespace evbus::api {

inline constexpr uint64_t kGrpcLogLinesPerMinute = 20;

// gRPC's log lines from now on go through the limiters into EVBUS_LOG, as
// "gRPC: <message> (<file>:<line>)", at their own severity.
void InstallGrpcLogSink();

}  // namespace evbus::api
