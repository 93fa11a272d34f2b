"""Owner tag: when a RunInstances CloudTrail record arrives, tag the new
instances with the user who launched them. On AWS the tagging call would be
ec2.create_tags; here it goes to the tagging webhook at $TAGGING_URL (your
inventory system, or a local stand-in), so the handler runs without an AWS
account."""
import json
import os
import urllib.request

TAG_KEY = os.environ.get("TAG_KEY", "Owner")


def owner_of(detail):
    identity = detail.get("userIdentity", {})
    if identity.get("type") == "IAMUser" and identity.get("userName"):
        return identity["userName"]
    arn = identity.get("arn", "")
    return arn.rsplit("/", 1)[-1] if arn else "unknown"


def lambda_handler(event, context):
    detail = event["detail"]
    items = detail.get("responseElements", {}).get("instancesSet", {}).get("items", [])
    instance_ids = [item["instanceId"] for item in items]
    owner = owner_of(detail)
    print("Tagging %s with %s=%s" % (instance_ids, TAG_KEY, owner))
    if instance_ids:
        body = json.dumps({"Resources": instance_ids,
                           "Tags": [{"Key": TAG_KEY, "Value": owner}]}).encode()
        request = urllib.request.Request(
            os.environ["TAGGING_URL"], data=body, method="POST",
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).read()
    return {"instances": instance_ids, "owner": owner}
