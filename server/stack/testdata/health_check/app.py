"""Fails (raises) when the site does not answer with the expected text."""
import os
import urllib.request

SITE = os.environ["site"]
EXPECTED = os.environ.get("expected", "OK")
ATTEMPTS = int(os.environ.get("attempts", "1"))


def lambda_handler(event, context):
    last_error = None
    for _ in range(ATTEMPTS):
        try:
            with urllib.request.urlopen(SITE, timeout=3) as response:
                body = response.read().decode("utf-8", "replace")
            if EXPECTED in body:
                return {"site": SITE, "status": "up"}
            last_error = f"{EXPECTED!r} not in the answer"
        except OSError as e:
            last_error = str(e)
    raise RuntimeError(f"{SITE} is down: {last_error}")
