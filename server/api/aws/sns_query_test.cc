#include "server/api/aws/sns_query.h"

#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "evbus/v1/delivery.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/grpc/topic_service.h"
#include "server/common/clock.h"
#include "server/common/json.h"
#include "server/metrics/registry.h"
#include "server/storage/store.h"
#include "server/topics/topic_service.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace evbus::api::aws {
namespace {

using ::evbus::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Pair;

using Form = std::vector<std::pair<std::string, std::string>>;

constexpr char kTopicArn[] = "arn:aws:sns:us-east-1:000000000000:orders";
constexpr char kUuid[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

// The body with its RequestId replaced by "ID".
std::string WithoutRequestId(const std::string& body) {
  return std::regex_replace(body, std::regex("<RequestId>[^<]*</RequestId>"),
                            "<RequestId>ID</RequestId>");
}

std::string Wrap(const std::string& action, const std::string& result) {
  return absl::StrCat(
      "<", action,
      "Response xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">",
      result.empty() ? ""
                     : absl::StrCat("<", action, "Result>", result, "</",
                                    action, "Result>"),
      "<ResponseMetadata><RequestId>ID</RequestId></ResponseMetadata></",
      action, "Response>");
}

// The value of <element> in `xml` (the first one), or "".
std::string ElementText(const std::string& xml, const std::string& element) {
  std::smatch m;
  if (std::regex_search(
          xml, m, std::regex("<" + element + ">([^<]*)</" + element + ">"))) {
    return m[1];
  }
  return "";
}

TEST(ParseFormEncodedTest, DecodesPairsInOrder) {
  EXPECT_THAT(ParseFormEncoded("Action=Publish&Message=a+b%2Bc%2bd&Subject="
                               "%E2%9C%93"),
              ElementsAre(Pair("Action", "Publish"), Pair("Message", "a b+c+d"),
                          Pair("Subject", "\xE2\x9C\x93")));
}

TEST(ParseFormEncodedTest, EdgeCases) {
  // Repeated keys keep their order; a pair without '=' has an empty value;
  // empty pairs are skipped; only the first '=' splits.
  EXPECT_THAT(ParseFormEncoded("a=1&&a=2&flag&e=&=v&k=x=y&"),
              ElementsAre(Pair("a", "1"), Pair("a", "2"), Pair("flag", ""),
                          Pair("e", ""), Pair("", "v"), Pair("k", "x=y")));
  // Malformed escapes are kept literally; escaped '&' and '=' are data.
  EXPECT_THAT(
      ParseFormEncoded("p=%zz%2&q=%&r=%26%3D%25"),
      ElementsAre(Pair("p", "%zz%2"), Pair("q", "%"), Pair("r", "&=%")));
  // Keys are decoded too.
  EXPECT_THAT(ParseFormEncoded("Attributes.entry.1.key%3Dx=1"),
              ElementsAre(Pair("Attributes.entry.1.key=x", "1")));
  EXPECT_THAT(ParseFormEncoded(""), IsEmpty());
}

class SnsQueryTest : public ::testing::Test {
 protected:
  SnsQueryTest() : clock_(absl::FromUnixSeconds(1721134800)) {
    absl::StatusOr<std::unique_ptr<storage::Store>> store =
        storage::Store::Open({.path = dir_.Join("db")});
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    // No dispatcher: Publish only writes the delivery tasks.
    service_ = std::make_unique<topics::TopicService>(
        *store_, clock_, registry_, topics::TopicServiceOptions{});
    EXPECT_THAT(service_->Load(), IsOk());
    topics_ = std::make_unique<api::TopicServiceImpl>(*service_);
    tags_ = std::make_unique<TagStore>(*store_);
  }

  AwsHttpResponse Call(const std::string& body) {
    return HandleSnsQuery(ParseFormEncoded(body), caller_, *topics_, *tags_);
  }

  // Calls, expects 200 text/xml, and returns the body without RequestId.
  std::string Ok(const std::string& body) {
    AwsHttpResponse r = Call(body);
    EXPECT_EQ(r.status, 200) << body << "\n" << r.body;
    EXPECT_EQ(r.content_type, "text/xml");
    return WithoutRequestId(r.body);
  }

  std::string CreateOrders() {
    std::string out =
        Ok("Action=CreateTopic&Version=2010-03-31&Name=orders"
           "&Attributes.entry.1.key=DisplayName"
           "&Attributes.entry.1.value=Orders+%3C%26%3E"
           "&Tags.member.1.Key=team&Tags.member.1.Value=a");
    return ElementText(out, "TopicArn");
  }

  evbus::testing::TempDir dir_;
  common::ManualClock clock_;
  metrics::Registry registry_;
  AwsCaller caller_{.access_key_id = "AKID",
                    .region = "us-east-1",
                    .account = "000000000000"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<topics::TopicService> service_;
  std::unique_ptr<api::TopicServiceImpl> topics_;
  std::unique_ptr<TagStore> tags_;
};

TEST_F(SnsQueryTest, CreateTopicSubscribeAndListSubscriptionsByTopic) {
  AwsHttpResponse created = Call(
      "Action=CreateTopic&Version=2010-03-31&Name=orders"
      "&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Orders");
  EXPECT_EQ(created.status, 200);
  EXPECT_EQ(created.content_type, "text/xml");
  EXPECT_THAT(
      created.body,
      MatchesRegex(absl::StrCat(
          "<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/"
          "2010-03-31/\"><CreateTopicResult><TopicArn>"
          "arn:aws:sns:us-east-1:000000000000:orders</TopicArn>"
          "</CreateTopicResult><ResponseMetadata><RequestId>",
          kUuid, "</RequestId></ResponseMetadata></CreateTopicResponse>")));

  // The endpoint's '&' travels as %26 and comes back escaped in XML.
  std::string subscribed =
      Ok("Action=Subscribe&Version=2010-03-31"
         "&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aorders"
         "&Protocol=http&Endpoint=http%3A%2F%2F127.0.0.1%3A9%2Fhook%3Fa%3D1%"
         "26b%3D2"
         "&Attributes.entry.1.key=RawMessageDelivery"
         "&Attributes.entry.1.value=true&ReturnSubscriptionArn=true");
  std::string sub_arn = ElementText(subscribed, "SubscriptionArn");
  EXPECT_THAT(sub_arn, MatchesRegex(absl::StrCat(kTopicArn, ":", kUuid)));
  EXPECT_EQ(subscribed,
            Wrap("Subscribe", absl::StrCat("<SubscriptionArn>", sub_arn,
                                           "</SubscriptionArn>")));

  EXPECT_EQ(
      Ok(absl::StrCat("Action=ListSubscriptionsByTopic&Version=2010-03-31"
                      "&TopicArn=",
                      kTopicArn)),
      Wrap("ListSubscriptionsByTopic",
           absl::StrCat("<Subscriptions><member><SubscriptionArn>", sub_arn,
                        "</SubscriptionArn><Owner>000000000000</Owner>"
                        "<Protocol>http</Protocol><Endpoint>"
                        "http://127.0.0.1:9/hook?a=1&amp;b=2</Endpoint>"
                        "<TopicArn>",
                        kTopicArn, "</TopicArn></member></Subscriptions>")));
  // ListSubscriptions has the same shape over every topic.
  EXPECT_THAT(Ok("Action=ListSubscriptions"),
              HasSubstr(absl::StrCat("<ListSubscriptionsResult><Subscriptions>"
                                     "<member><SubscriptionArn>",
                                     sub_arn, "</SubscriptionArn>")));

  std::string attributes = Ok(absl::StrCat(
      "Action=GetSubscriptionAttributes&SubscriptionArn=", sub_arn));
  EXPECT_THAT(attributes,
              HasSubstr("<entry><key>RawMessageDelivery</key><value>true"
                        "</value></entry>"));
  EXPECT_THAT(attributes, HasSubstr("<entry><key>PendingConfirmation</key>"
                                    "<value>false</value></entry>"));

  EXPECT_EQ(Ok(absl::StrCat("Action=Unsubscribe&SubscriptionArn=", sub_arn)),
            Wrap("Unsubscribe", ""));
  EXPECT_EQ(
      Ok(absl::StrCat("Action=ListSubscriptionsByTopic&TopicArn=", kTopicArn)),
      Wrap("ListSubscriptionsByTopic", "<Subscriptions></Subscriptions>"));
}

TEST_F(SnsQueryTest, TopicsListAttributesAndDelete) {
  EXPECT_EQ(CreateOrders(), kTopicArn);
  EXPECT_EQ(CreateOrders(), kTopicArn);  // idempotent
  Ok(absl::StrCat("Action=Subscribe&TopicArn=", kTopicArn,
                  "&Protocol=email&Endpoint=ops%40example.com"));

  EXPECT_EQ(
      Ok("Action=ListTopics&Version=2010-03-31"),
      Wrap("ListTopics", absl::StrCat("<Topics><member><TopicArn>", kTopicArn,
                                      "</TopicArn></member></Topics>")));

  // Texts are escaped; counts are computed.
  EXPECT_EQ(
      Ok(absl::StrCat("Action=GetTopicAttributes&TopicArn=", kTopicArn)),
      Wrap("GetTopicAttributes",
           absl::StrCat(
               "<Attributes><entry><key>TopicArn</key><value>", kTopicArn,
               "</value></entry><entry><key>Owner</key><value>000000000000"
               "</value></entry><entry><key>DisplayName</key><value>Orders "
               "&lt;&amp;&gt;</value></entry><entry><key>"
               "SubscriptionsConfirmed</key><value>1</value></entry><entry>"
               "<key>SubscriptionsPending</key><value>0</value></entry>"
               "<entry><key>SubscriptionsDeleted</key><value>0</value>"
               "</entry><entry><key>EffectiveDeliveryPolicy</key><value>"
               "{&quot;http&quot;:{&quot;defaultHealthyRetryPolicy&quot;:{"
               "&quot;minDelayTarget&quot;:20,&quot;maxDelayTarget&quot;:20,"
               "&quot;numRetries&quot;:3,&quot;numMaxDelayRetries&quot;:0,"
               "&quot;numNoDelayRetries&quot;:0,&quot;numMinDelayRetries&quot;"
               ":0,&quot;backoffFunction&quot;:&quot;linear&quot;},&quot;"
               "disableSubscriptionOverrides&quot;:false,&quot;"
               "defaultRequestPolicy&quot;:{&quot;headerContentType&quot;:"
               "&quot;text/plain; charset=UTF-8&quot;}}}</value></entry>"
               "</Attributes>")));

  EXPECT_EQ(Ok(absl::StrCat("Action=DeleteTopic&TopicArn=", kTopicArn)),
            Wrap("DeleteTopic", ""));
  EXPECT_EQ(Ok("Action=ListTopics"), Wrap("ListTopics", "<Topics></Topics>"));
}

TEST_F(SnsQueryTest, PublishWithMessageAttributes) {
  CreateOrders();
  Ok(absl::StrCat("Action=Subscribe&TopicArn=", kTopicArn,
                  "&Protocol=http&Endpoint=http%3A%2F%2F127.0.0.1%3A9%2Fh"));
  std::string out = Ok(absl::StrCat(
      "Action=Publish&Version=2010-03-31&TopicArn=", kTopicArn,
      "&Message=%7B%22id%22%3A1%7D&Subject=New+order",
      "&MessageAttributes.entry.1.Name=kind"
      "&MessageAttributes.entry.1.Value.DataType=String"
      "&MessageAttributes.entry.1.Value.StringValue=created"
      "&MessageAttributes.entry.2.Name=blob"
      "&MessageAttributes.entry.2.Value.DataType=Binary"
      "&MessageAttributes.entry.2.Value.BinaryValue=AAEC%2F%2B8%3D"));
  std::string id = ElementText(out, "MessageId");
  EXPECT_THAT(id, MatchesRegex(kUuid));
  EXPECT_EQ(out,
            Wrap("Publish", absl::StrCat("<MessageId>", id, "</MessageId>")));

  // One delivery task for the http subscriber, its SNS envelope carrying
  // the attributes (the binary one decoded, then re-encoded by SNS).
  std::vector<evbus::v1::DeliveryTask> tasks;
  ASSERT_THAT(store_->Scan(storage::Family::kQueue, "", "",
                           [&](absl::string_view, absl::string_view v) {
                             tasks.emplace_back();
                             EXPECT_TRUE(tasks.back().ParseFromArray(
                                 v.data(), static_cast<int>(v.size())));
                             return true;
                           }),
              IsOk());
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].event_id(), id);
  absl::StatusOr<common::Json> envelope =
      common::ParseJson(tasks[0].envelope_json());
  ASSERT_TRUE(envelope.ok()) << tasks[0].envelope_json();
  EXPECT_EQ((*envelope)["Message"], "{\"id\":1}");
  EXPECT_EQ((*envelope)["Subject"], "New order");
  EXPECT_EQ((*envelope)["MessageAttributes"]["kind"]["Value"], "created");
  EXPECT_EQ((*envelope)["MessageAttributes"]["blob"]["Type"], "Binary");
  EXPECT_EQ((*envelope)["MessageAttributes"]["blob"]["Value"], "AAEC/+8=");

  // TargetArn works as TopicArn.
  out = Ok(
      absl::StrCat("Action=Publish&TargetArn=", kTopicArn, "&Message=hello"));
  EXPECT_THAT(ElementText(out, "MessageId"), MatchesRegex(kUuid));

  // A binary value that is not base64.
  AwsHttpResponse r =
      Call(absl::StrCat("Action=Publish&TopicArn=", kTopicArn,
                        "&Message=x&MessageAttributes.entry.1.Name=b"
                        "&MessageAttributes.entry.1.Value.DataType=Binary"
                        "&MessageAttributes.entry.1.Value.BinaryValue=%21%21"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidParameterValue");

  // The service's own validation (empty message).
  r = Call(absl::StrCat("Action=Publish&TopicArn=", kTopicArn));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidParameter");
  EXPECT_EQ(ElementText(r.body, "Message"), "Invalid parameter: Empty message");
}

TEST_F(SnsQueryTest, NotFoundErrorXml) {
  AwsHttpResponse r = Call(
      "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3A"
      "missing&Message=hi");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "text/xml");
  EXPECT_THAT(
      r.body,
      MatchesRegex(absl::StrCat(
          "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
          "<Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does "
          "not exist</Message></Error><RequestId>",
          kUuid, "</RequestId></ErrorResponse>")));

  r = Call("Action=GetTopicAttributes&TopicArn=missing");
  EXPECT_EQ(r.status, 404);
  r = Call("Action=Unsubscribe&SubscriptionArn=" + std::string(kTopicArn) +
           ":nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ElementText(r.body, "Message"), "Subscription does not exist");
  r = Call("Action=GetSubscriptionAttributes&SubscriptionArn=x");
  EXPECT_EQ(r.status, 404);
}

TEST_F(SnsQueryTest, ParameterAndActionErrors) {
  AwsHttpResponse r = Call("Action=Frobnicate&Version=2010-03-31");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidAction");
  EXPECT_EQ(ElementText(r.body, "Message"),
            "The action Frobnicate is not valid for this endpoint.");

  r = Call("Version=2010-03-31");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "MissingAction");

  CreateOrders();
  r = Call(absl::StrCat("Action=Subscribe&TopicArn=", kTopicArn,
                        "&Protocol=sms&Endpoint=%2B15550100"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidParameter");
  EXPECT_THAT(ElementText(r.body, "Message"),
              HasSubstr("does not support this protocol string: sms"));

  r = Call("Action=ListSubscriptionsByTopic");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Message"), "Invalid parameter: TopicArn");

  r = Call("Action=ListSubscriptions&NextToken=abc");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Message"), "Invalid parameter: NextToken");

  r = Call("Action=CreateTopic&Name=bad%20name");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidParameter");

  r = Call("Action=CreateTopic&Name=t&Attributes.entry.1.value=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Message"),
            "Invalid parameter: Attributes.entry.1.key");

  r = Call(absl::StrCat("Action=Publish&TopicArn=", kTopicArn,
                        "&PhoneNumber=%2B15550100&Message=x"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidParameter");
}

}  // namespace
}  // namespace evbus::api::aws
