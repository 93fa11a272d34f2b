// File: server/api/aws/sns_query.h
//
// SNS over awsQuery, the protocol @aws-sdk/client-sns v3 speaks
// (shared/spec/lambda-cloudwatch-sns.md §5, §7.3): POST / with a
// form-encoded body Action=<Op>&Version=2010-03-31&..., where lists are
// Name.member.N and maps Name.entry.N.key / .value (MessageAttributes:
// .entry.N.Name / .Value.DataType / .Value.StringValue / .Value.BinaryValue,
// the binary value in base64). Each action converts the parameters to the
// evbus.v1 request, calls api::TopicServiceImpl in-process, and answers in
// XML:
//
//   200 text/xml
//   <XResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
//     <XResult>...</XResult>          (absent for actions without output)
//     <ResponseMetadata><RequestId>uuid</RequestId></ResponseMetadata>
//   </XResponse>
//
// Actions: CreateTopic, ListTopics, DeleteTopic, GetTopicAttributes,
// Subscribe, Unsubscribe, ListSubscriptions, ListSubscriptionsByTopic,
// GetSubscriptionAttributes, Publish, and the tags of topics (TagResource,
// UntagResource, ListTagsForResource; CreateTopic's Tags, which for an
// existing topic must be tags it has: "Topic already exists with different
// tags") kept in a TagStore.
//
// Errors are awsQuery <ErrorResponse> documents (aws_http.h QueryError):
//   400 InvalidParameter      — a bad or missing parameter (the service's
//                               "Invalid parameter: ..." texts);
//   400 InvalidParameterValue — a MessageAttributes BinaryValue that is not
//                               base64;
//   404 NotFound              — unknown topic or subscription;
//   404 ResourceNotFound      — the tag calls' unknown topic;
//   400 TagLimitExceeded      — more than 50 tags on a topic;
//   400 InvalidAction         — "The action X is not valid for this
//                               endpoint.";
//   400 MissingAction         — no Action parameter;
//   500 InternalError         — the store failed.
//
// Thread safety: thread-safe (as TopicServiceImpl).
//
// Example:
//   std::vector<std::pair<std::string, std::string>> params =
//       ParseFormEncoded(request.body);
//   AwsHttpResponse r = HandleSnsQuery(params, caller, topic_service, tags);
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/api/aws/aws_http.h"
#include "server/api/aws/tag_store.h"
#include "server/api/grpc/topic_service.h"

namespace evbus::api::aws {

// Decodes an application/x-www-form-urlencoded body (or query string) into
// (key, value) pairs in order; a key may repeat. '+' is a space, %XX a byte;
// a malformed escape ("%", "%2", "%zz") is kept literally. A pair without
// '=' has an empty value; empty pairs ("a=1&&b=2") are skipped. Never fails.
std::vector<std::pair<std::string, std::string>> ParseFormEncoded(
    absl::string_view body);

// Handles one SNS call; `params` is the decoded form (ParseFormEncoded), and
// must contain Action. Never fails: every error is an awsQuery error
// response. `caller.account` is the Owner of topics and subscriptions whose
// ARN does not name an account.
AwsHttpResponse HandleSnsQuery(
    const std::vector<std::pair<std::string, std::string>>& params,
    const AwsCaller& caller, api::TopicServiceImpl& topics, TagStore& tags);

// A small HTML page (title and one paragraph, escaped), not cached.
AwsHttpResponse UnsubscribePage(int status, absl::string_view title,
                                absl::string_view text);

// The page behind the unsubscribe link of SNS email, GET
// /unsubscribe.html?SubscriptionArn=A&Endpoint=E[&Token=T] (no signature:
// the caller checks T, the link token, when signatures are required):
// removes subscription A when its endpoint is E and says so in HTML (200);
// 404 when there is no such subscription, 400 without SubscriptionArn.
AwsHttpResponse HandleUnsubscribePage(
    const std::vector<std::pair<std::string, std::string>>& query,
    api::TopicServiceImpl& topics);

}  // namespace evbus::api::aws
