// WebhookExecutor against a real HTTP server on 127.0.0.1 (cpp-httplib).
#include "server/targets/webhook_executor.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace evbus::targets {
namespace {

using ::testing::HasSubstr;

class Receiver {
 public:
  Receiver() {
    server_.Post("/ok",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   // Handlers run on several server threads at once.
                   absl::MutexLock lock(&mu_);
                   last_.body = req.body;
                   last_.content_type = req.get_header_value("Content-Type");
                   last_.user_agent = req.get_header_value("User-Agent");
                   last_.custom = req.get_header_value("X-Custom");
                   res.status = 200;
                 });
    server_.Post("/status/(\\d+)",
                 [](const httplib::Request& req, httplib::Response& res) {
                   res.status = std::stoi(req.matches[1]);
                   if (res.status == 429 || res.status == 503) {
                     res.set_header("Retry-After", "7");
                   }
                   res.set_content("nope", "text/plain");
                 });
    server_.Post("/slow400",
                 [](const httplib::Request&, httplib::Response& res) {
                   std::this_thread::sleep_for(std::chrono::milliseconds(400));
                   res.status = 200;
                 });
    server_.Post("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  struct Seen {
    std::string body, content_type, user_agent, custom;
  };
  // The last request to /ok.
  Seen Last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

 private:
  absl::Mutex mu_;
  Seen last_ ABSL_GUARDED_BY(mu_);
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

DeliveryResult DeliverAndWait(WebhookExecutor& w, DeliveryRequest r) {
  absl::Notification done;
  DeliveryResult result;
  w.Deliver(std::move(r), [&](DeliveryResult got) {
    result = std::move(got);
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  return result;
}

class WebhookExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(webhooks_.Start().ok()); }
  Receiver receiver_;
  WebhookExecutor webhooks_{WebhookOptions{}};
};

TEST_F(WebhookExecutorTest, DeliversWithEventBridgeHeaders) {
  DeliveryRequest r;
  r.url = receiver_.Url("/ok");
  r.payload = R"({"a":1})";
  r.headers = {{"X-Custom", "yes"}};
  DeliveryResult res = DeliverAndWait(webhooks_, r);
  EXPECT_EQ(res.outcome, Outcome::kSuccess);
  Receiver::Seen seen = receiver_.Last();
  EXPECT_EQ(seen.body, R"({"a":1})");
  EXPECT_EQ(seen.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(seen.user_agent, "Amazon/EventBridge/ApiDestinations");
  EXPECT_EQ(seen.custom, "yes");
}

TEST_F(WebhookExecutorTest, ClassifiesStatuses) {
  DeliveryRequest r;
  r.url = receiver_.Url("/status/500");
  DeliveryResult res = DeliverAndWait(webhooks_, r);
  EXPECT_EQ(res.outcome, Outcome::kRetryable);
  EXPECT_EQ(res.error_code, "ERROR_FROM_TARGET");
  EXPECT_EQ(res.http_status, 500);
  EXPECT_THAT(res.error_message, HasSubstr("HTTP 500: nope"));

  r.url = receiver_.Url("/status/429");
  res = DeliverAndWait(webhooks_, r);
  EXPECT_EQ(res.outcome, Outcome::kRetryable);
  EXPECT_EQ(res.error_code, "THROTTLING");
  ASSERT_TRUE(res.retry_after.has_value());
  EXPECT_EQ(*res.retry_after, absl::Seconds(7));

  r.url = receiver_.Url("/status/400");
  res = DeliverAndWait(webhooks_, r);
  EXPECT_EQ(res.outcome, Outcome::kPermanent);
  EXPECT_EQ(res.http_status, 400);
}

TEST_F(WebhookExecutorTest, TimeoutIsRetryable) {
  DeliveryRequest r;
  r.url = receiver_.Url("/slow");
  r.timeout = absl::Milliseconds(200);
  DeliveryResult res = DeliverAndWait(webhooks_, r);
  EXPECT_EQ(res.outcome, Outcome::kRetryable);
  EXPECT_EQ(res.error_code, "TIMEOUT");
}

TEST_F(WebhookExecutorTest, RefusedConnectionIsRetryable) {
  DeliveryRequest r;
  r.url = "http://127.0.0.1:1/x";
  DeliveryResult res = DeliverAndWait(webhooks_, r);
  EXPECT_EQ(res.outcome, Outcome::kRetryable);
  EXPECT_EQ(res.error_code, "CONNECTION_FAILURE");
}

// Delivers `count` copies of `request` at once over `webhooks`, waits (at
// most 30 s) for every answer, and returns how many succeeded and the first
// error.
std::pair<int, std::string> DeliverAll(WebhookExecutor& webhooks,
                                       const DeliveryRequest& request,
                                       int count) {
  absl::Mutex mu;
  int done = 0;
  int ok = 0;
  std::string first_error;
  for (int i = 0; i < count; ++i) {
    webhooks.Deliver(request, [&](DeliveryResult res) {
      absl::MutexLock l(&mu);
      if (res.outcome == Outcome::kSuccess) {
        ++ok;
      } else if (first_error.empty()) {
        first_error = res.error_code + ": " + res.error_message;
      }
      ++done;
    });
  }
  absl::MutexLock l(&mu);
  auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done == count; };
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30)));
  return {ok, first_error};
}

TEST(WebhookExecutorConcurrencyTest,
     ManyConcurrentDeliveriesOverFewConnections) {
  // The test receiver serves 8 connections at once (cpp-httplib's pool), so
  // the executor is limited to 8 per host: 200 deliveries reuse them.
  Receiver receiver;
  WebhookOptions options;
  options.max_host_connections = 8;
  WebhookExecutor webhooks(options);
  ASSERT_TRUE(webhooks.Start().ok());
  DeliveryRequest r;
  r.url = receiver.Url("/ok");
  r.payload = "{}";
  auto [ok, first_error] = DeliverAll(webhooks, r, 200);
  EXPECT_EQ(ok, 200) << first_error;
  webhooks.Stop();
}

// QA pass G: with more deliveries to one host than it has connections,
// libcurl queued the rest and counted their wait against their timeout, so
// they timed out unsent (and with hundreds of targets on one host nothing
// was delivered). Now a delivery's timeout starts when it gets a
// connection: 8 deliveries of 400 ms over 2 connections, each allowed 1 s,
// all succeed (the last pair waits 1.2 s before it is sent).
TEST(WebhookExecutorConcurrencyTest, WaitingForAConnectionIsNotATimeout) {
  Receiver receiver;
  WebhookOptions options;
  options.max_host_connections = 2;
  WebhookExecutor webhooks(options);
  ASSERT_TRUE(webhooks.Start().ok());
  DeliveryRequest r;
  r.url = receiver.Url("/slow400");
  r.payload = "{}";
  r.timeout = absl::Seconds(1);
  auto [ok, first_error] = DeliverAll(webhooks, r, 8);
  EXPECT_EQ(ok, 8) << first_error;
  webhooks.Stop();
}

// QA pass G: a target whose requests hang kept a healthy target on the
// same host waiting behind its whole queue. Waiting deliveries are taken
// in turn per URL: with 2 connections busy on slow requests and 4 more
// slow ones waiting, a delivery to another path is sent at the first free
// connection, so it finishes before most of the slow ones.
TEST(WebhookExecutorConcurrencyTest, TargetsOnOneHostTakeTurns) {
  Receiver receiver;
  WebhookOptions options;
  options.max_host_connections = 2;
  WebhookExecutor webhooks(options);
  ASSERT_TRUE(webhooks.Start().ok());
  absl::Mutex mu;
  std::vector<std::string> order;  // paths, in order of completion
  auto deliver = [&](const std::string& path) {
    DeliveryRequest r;
    r.url = receiver.Url(path);
    r.payload = "{}";
    r.timeout = absl::Seconds(10);
    webhooks.Deliver(std::move(r), [&, path](DeliveryResult res) {
      EXPECT_EQ(res.outcome, Outcome::kSuccess) << res.error_message;
      absl::MutexLock l(&mu);
      order.push_back(path);
    });
  };
  for (int i = 0; i < 6; ++i) deliver("/slow400");
  deliver("/ok");
  {
    absl::MutexLock l(&mu);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return order.size() == 7;
    };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30)));
    const size_t ok_at =
        std::find(order.begin(), order.end(), "/ok") - order.begin();
    // First come first served would finish it last (index 6).
    EXPECT_LE(ok_at, 3u);
  }
  webhooks.Stop();
}

TEST_F(WebhookExecutorTest, StopFailsPendingAsRetryable) {
  webhooks_.Stop();
  DeliveryRequest r;
  r.url = receiver_.Url("/ok");
  DeliveryResult res = DeliverAndWait(webhooks_, r);
  EXPECT_EQ(res.outcome, Outcome::kRetryable);
}

TEST(RetryAfterTest, Forms) {
  bool stop = false;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(*ParseRetryAfter("120", now, &stop), absl::Seconds(120));
  EXPECT_FALSE(stop);
  EXPECT_TRUE(ParseRetryAfter("-1", now, &stop).has_value());
  EXPECT_TRUE(stop);
  stop = false;
  // 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT.
  EXPECT_EQ(*ParseRetryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now, &stop),
            absl::Seconds(30));
  EXPECT_FALSE(ParseRetryAfter("soon", now, &stop).has_value());
}

}  // namespace
}  // namespace evbus::targets
