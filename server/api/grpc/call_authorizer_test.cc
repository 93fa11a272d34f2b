// The gRPC token, end to end: a real evbusd started with --grpc-token-file,
// and every method of every evbus.v1 service called through a generic stub
// without a token, with a wrong one and with the right one.
#include "server/api/grpc/call_authorizer.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "evbus/v1/cloudwatch.grpc.pb.h"
#include "evbus/v1/event_bus_service.grpc.pb.h"
#include "evbus/v1/function.grpc.pb.h"
#include "evbus/v1/topic.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/evbusd_process.h"
#include "tests/testing/temp_dir.h"

namespace evbus::api {
namespace {

constexpr char kToken[] = "s3cret-token-0123456789";

// Every "rpc Name(" of the proto files, for the count of methods the test
// must reach.
int RpcsInProtos() {
  const char* src = std::getenv("EVBUS_SOURCE_DIR");
  const std::string dir =
      std::string(src != nullptr ? src : ".") + "/proto/evbus/v1/";
  int n = 0;
  for (const char* file :
       {"event_bus_service.proto", "function.proto", "topic.proto",
        "cloudwatch.proto", "archive.proto", "connection.proto",
        "delivery.proto", "event.proto", "event_bus.proto", "rule.proto",
        "schedule.proto", "storage.proto"}) {
    std::ifstream in(dir + file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    const std::regex rpc(R"(\n\s*rpc\s+\w+\s*\()");
    n += static_cast<int>(std::distance(
        std::sregex_iterator(s.begin(), s.end(), rpc), std::sregex_iterator()));
  }
  return n;
}

// "/package.Service/Method" of every method of the services declared in
// the files of evbus's services (found through a message of each file, which
// also links its descriptors in).
std::vector<std::string> AllMethods() {
  std::vector<std::string> out;
  for (const google::protobuf::FileDescriptor* file :
       {evbus::v1::StackRecordRef::descriptor()->file(),
        evbus::v1::CreateFunctionRequest::descriptor()->file(),
        evbus::v1::CreateTopicRequest::descriptor()->file(),
        evbus::v1::PutMetricDataRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* d = file->service(s);
      for (int i = 0; i < d->method_count(); ++i) {
        out.push_back("/" + d->full_name() + "/" + d->method(i)->name());
      }
    }
  }
  return out;
}

class GrpcTokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string token_file = dir_->Join("token");
    std::ofstream(token_file) << kToken << "\n";
    daemon_ = new testing::EvbusdProcess(EVBUSD_PATH, dir_->path());
    // No ASSERT here: a failure in SetUpTestSuite would only skip the
    // tests; SetUp() fails each of them instead.
    ready_ = daemon_->Spawn("evbusd.log", {"--grpc-token-file", token_file}) &&
             daemon_->WaitReady(std::chrono::seconds(60));
  }
  void SetUp() override {
    ASSERT_TRUE(ready_) << "evbusd (" << EVBUSD_PATH << ") did not start; see "
                        << daemon_->log();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  // Calls `method` with an empty request and `authorization` (none when
  // empty); returns the status.
  static grpc::Status Call(const std::string& method,
                           const std::string& authorization) {
    auto channel = grpc::CreateChannel(daemon_->grpc(),
                                       grpc::InsecureChannelCredentials());
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    if (!authorization.empty()) {
      context.AddMetadata("authorization", authorization);
    }
    grpc::CompletionQueue cq;
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
        stub.PrepareUnaryCall(&context, method, request, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }

  static testing::TempDir* dir_;
  static testing::EvbusdProcess* daemon_;
  static bool ready_;
};

testing::TempDir* GrpcTokenTest::dir_ = nullptr;
testing::EvbusdProcess* GrpcTokenTest::daemon_ = nullptr;
bool GrpcTokenTest::ready_ = false;

TEST_F(GrpcTokenTest, EveryMethodRefusesACallWithoutTheToken) {
  const std::vector<std::string> methods = AllMethods();
  // A service or method added to the protos but not here fails this.
  ASSERT_EQ(static_cast<int>(methods.size()), RpcsInProtos());
  ASSERT_EQ(methods.size(), 84u);
  for (const std::string& method : methods) {
    grpc::Status none = Call(method, "");
    EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
    EXPECT_EQ(none.error_message(),
              "MissingAuthenticationTokenException: Missing Authentication "
              "Token")
        << method;
    for (const std::string& wrong :
         {std::string("Bearer s3cret-token-0123456788"),
          std::string("Bearer ") + kToken + "x", std::string(kToken),
          std::string("bearer ") + kToken, std::string("Basic ") + kToken}) {
      grpc::Status refused = Call(method, wrong);
      EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << method << " with " << wrong;
      EXPECT_EQ(refused.error_message(),
                "UnrecognizedClientException: The security token included in "
                "the request is invalid.")
          << method;
    }
  }
}

TEST_F(GrpcTokenTest, TheRightTokenReachesTheMethods) {
  const std::string bearer = std::string("Bearer ") + kToken;
  for (const char* method : {"/evbus.v1.EventBusService/ListEventBuses",
                             "/evbus.v1.EventBusService/ListRules",
                             "/evbus.v1.EventBusService/GetClock",
                             "/evbus.v1.FunctionService/ListFunctions",
                             "/evbus.v1.TopicService/ListTopics",
                             "/evbus.v1.CloudWatchService/DescribeAlarms"}) {
    grpc::Status s = Call(method, bearer);
    EXPECT_TRUE(s.ok()) << method << ": " << s.error_message();
  }
  // PutEvents (gRPC's callback API) and a method that validates its input:
  // past the token, the method's own answer.
  grpc::Status put = Call("/evbus.v1.EventBusService/PutEvents", bearer);
  EXPECT_NE(put.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << put.error_message();
  grpc::Status rule = Call("/evbus.v1.EventBusService/PutRule", bearer);
  EXPECT_EQ(rule.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << rule.error_message();
  // gRPC's own health service needs no token; server reflection (which
  // cannot check one) is off.
  EXPECT_TRUE(Call("/grpc.health.v1.Health/Check", "").ok());
  for (const char* reflection :
       {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
    EXPECT_EQ(Call(reflection, "").error_code(),
              grpc::StatusCode::UNIMPLEMENTED)
        << reflection;
    EXPECT_EQ(Call(reflection, bearer).error_code(),
              grpc::StatusCode::UNIMPLEMENTED)
        << reflection;
  }
}

TEST(CallAuthorizerTest, WithoutATokenEveryCallIsAccepted) {
  EXPECT_FALSE(CallAuthorizer().enabled());
  EXPECT_FALSE(CallAuthorizer::Open().enabled());
  EXPECT_TRUE(CallAuthorizer("0123456789abcdef").enabled());
  // A context no call stands behind (the AWS endpoint's in-process calls).
  grpc::ServerContext in_process;
  EXPECT_TRUE(CallAuthorizer("0123456789abcdef").Check(&in_process).ok());
  EXPECT_TRUE(CallAuthorizer().Check(&in_process).ok());
}

}  // namespace
}  // namespace evbus::api
