"""Tags the instances of a RunInstances CloudTrail record with their owner."""
import os

TAG_KEY = os.environ.get("TAG_KEY", "Owner")


def owner_of(detail):
    identity = detail.get("userIdentity", {})
    if identity.get("type") == "IAMUser":
        return identity.get("userName", "unknown")
    arn = identity.get("arn", "")
    return arn.rsplit("/", 1)[-1] if arn else "unknown"


def lambda_handler(event, context):
    detail = event["detail"]
    items = detail.get("responseElements", {}).get("instancesSet", {}).get("items", [])
    ids = [item["instanceId"] for item in items]
    owner = owner_of(detail)
    tagged = False
    if ids:
        try:
            import boto3
        except ImportError:  # no AWS SDK here: report what would be tagged
            boto3 = None
        if boto3 is not None:
            boto3.client("ec2").create_tags(
                Resources=ids, Tags=[{"Key": TAG_KEY, "Value": owner}])
            tagged = True
    print(f"{TAG_KEY}={owner} for {ids} (tagged: {tagged})")
    return {"instances": ids, "owner": owner, "tagged": tagged}
