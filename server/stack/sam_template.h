// File: server/stack/sam_template.h
//
// SAM / CloudFormation templates → evbus stack files: the resource types
// that map onto evbus (AWS::Serverless::Function with its Schedule,
// ScheduleV2, EventBridgeRule and CloudWatchEvent events, AWS::Events::Rule,
// AWS::Events::EventBus, AWS::SNS::Topic, AWS::SNS::Subscription,
// AWS::CloudWatch::Alarm, AWS::Scheduler::Schedule), with !Ref,
// !GetAtt X.Arn and !Sub (and their Fn:: long forms) resolved for the
// names the template defines. Types evbus cannot run (IAM roles, S3
// buckets, CloudTrail trails, ...) are listed in `skipped`, or are errors
// with `strict`. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "yaml-cpp/yaml.h"

namespace evbus::stack {

// True when `root` looks like a SAM / CloudFormation template
// (AWSTemplateFormatVersion or Transform: AWS::Serverless-2016-10-31, or a
// Resources map with Type members).
bool IsSamTemplate(const YAML::Node& root);

struct SamOptions {
  std::string stack_name;  // default: the file name without extension
  std::string account = "000000000000";
  std::string region = "us-east-1";
  bool strict = false;
};

// Returns the equivalent evbus stack (docs/stack-reference.md) as a YAML
// node; `skipped` gets "LogicalId (Type)" for every resource left out.
// InvalidArgument "<LogicalId>.<Property>: <problem>" for what cannot be
// converted.
absl::StatusOr<YAML::Node> ConvertSamTemplate(
    const YAML::Node& root, const SamOptions& options,
    std::vector<std::string>* skipped);

}  // namespace evbus::stack
