"""Website health check: fetches the page at $site and raises unless it
contains $expected. Runs unchanged on AWS Lambda and on evbus."""
import os
import urllib.request


def lambda_handler(event, context):
    site = os.environ["site"]
    expected = os.environ["expected"]
    print("Checking %s at %s" % (site, event.get("time", "now")))
    with urllib.request.urlopen(site, timeout=5) as response:
        body = response.read().decode("utf-8", "replace")
    if expected not in body:
        raise Exception("Validation failed: %r not found on %s" % (expected, site))
    print("Check passed")
    return {"site": site, "status": "ok"}
