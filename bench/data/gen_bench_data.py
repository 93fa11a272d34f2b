#!/usr/bin/env python3
"""Deterministic events and rule sets for `evbus-bench match` (pattern engine).

Writes into --out-dir (stdlib only; same --seed => byte-identical files):

  events.jsonl              --events EventBridge envelopes, one per line, ~1 KB,
                            20-40 leaf fields, nested objects and arrays
                            (objects inside arrays, string and number arrays)
  rules-exact-prefix.json   5 rules: exact and prefix only
  rules-anything-but.json   5 rules per operator family ...
  rules-numeric.json
  rules-wildcard.json
  rules-equals-ignore-case.json
  rules-suffix.json
  rules-mixed-10k.json      --mixed rules (default 10,000): exact, prefix,
                            numeric, wildcard, anything-but (plus a few suffix /
                            equals-ignore-case / exists) over a few dozen paths

Rule files are JSON arrays of pattern objects (rule id = array index).
event-ruler's benchmark rules (shared/bench/cl2-rules.json) are read by
`evbus-bench match` as they are; pair them with citylots-like events from
shared/bench/gen_citylots_synth.py (gunzip its output first).

Usage: python3 bench/data/gen_bench_data.py --out-dir /tmp/evbus-bench-data
"""
import argparse
import json
import os
import random
import sys

SOURCES = ["aws.ec2", "aws.s3", "aws.lambda", "aws.ecs", "aws.rds", "aws.iam",
           "com.shop.orders", "com.shop.payments", "com.shop.inventory",
           "com.shop.shipping", "com.crm.customers", "com.crm.tickets",
           "org.iot.sensors", "org.iot.gateways", "net.ads.clicks",
           "net.ads.impressions", "io.build.pipelines", "io.build.artifacts",
           "io.auth.sessions", "io.auth.tokens"]
DETAIL_TYPES = ["Instance State-change Notification", "Object Created",
                "Object Deleted", "Order Placed", "Order Shipped",
                "Order Cancelled", "Payment Authorized", "Payment Failed",
                "Stock Level Changed", "Customer Updated", "Ticket Opened",
                "Ticket Closed", "Sensor Reading", "Gateway Heartbeat",
                "Click", "Impression", "Pipeline Started", "Pipeline Finished",
                "Session Started", "Token Revoked", "Task State Change",
                "Function Invoked", "DB Snapshot Event", "Policy Attached"]
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1",
           "eu-central-1", "ap-south-1", "ap-northeast-1", "sa-east-1"]
STATES = ["pending", "running", "stopping", "stopped", "terminated",
          "shutting-down", "rebooting", "failed", "succeeded", "queued"]
TIERS = ["free", "basic", "pro", "enterprise", "internal"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "INR", "BRL", "CAD", "AUD"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "IN", "BR", "CA", "AU", "ES", "IT",
             "NL", "SE", "MX", "KR"]
CITIES = ["Seattle", "Berlin", "Paris", "London", "Tokyo", "Mumbai", "Recife",
          "Toronto", "Sydney", "Madrid", "Milan", "Amsterdam", "Stockholm",
          "Monterrey", "Seoul", "Austin", "Denver", "Lyon", "Osaka", "Porto"]
CATEGORIES = ["books", "electronics", "garden", "toys", "grocery", "apparel",
              "sports", "beauty", "automotive", "music"]
DEVICES = ["ios", "android", "web", "desktop", "tv", "watch"]
TAGS = ["prod", "staging", "dev", "canary", "blue", "green", "critical",
        "batch", "realtime", "eu", "us", "apac", "beta", "legacy", "gold"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
         "hotel", "india", "juliet", "kilo", "lima", "mike", "november",
         "oscar", "papa", "quebec", "romeo", "sierra", "tango"]

# Optional detail fields: (path, generator). Each event takes a random subset.
def _opt_fields():
    return [
        ("detail.state", lambda r: r.choice(STATES)),
        ("detail.previous-state", lambda r: r.choice(STATES)),
        ("detail.instance-id", lambda r: "i-%017x" % r.getrandbits(68)),
        ("detail.user.name", lambda r: r.choice(WORDS) + "." + r.choice(WORDS)),
        ("detail.user.id", lambda r: "u-%06d" % r.randrange(1000000)),
        ("detail.user.tier", lambda r: r.choice(TIERS)),
        ("detail.user.email", lambda r: "%s%d@%s.example.com" % (
            r.choice(WORDS), r.randrange(1000), r.choice(WORDS))),
        ("detail.user.age", lambda r: r.randrange(13, 95)),
        ("detail.order.id", lambda r: "ord-%08d" % r.randrange(10**8)),
        ("detail.order.total", lambda r: round(r.uniform(0.5, 5000), 2)),
        ("detail.order.currency", lambda r: r.choice(CURRENCIES)),
        ("detail.order.coupon", lambda r: r.choice([None, "SPRING%d" % r.randrange(30), "VIP"])),
        ("detail.address.country", lambda r: r.choice(COUNTRIES)),
        ("detail.address.city", lambda r: r.choice(CITIES)),
        ("detail.address.zip", lambda r: "%05d" % r.randrange(100000)),
        ("detail.metrics.latency-ms", lambda r: round(r.expovariate(1 / 120.0), 3)),
        ("detail.metrics.count", lambda r: r.randrange(0, 10000)),
        ("detail.metrics.ratio", lambda r: round(r.random(), 4)),
        ("detail.metrics.temperature", lambda r: round(r.gauss(21, 8), 2)),
        ("detail.device.type", lambda r: r.choice(DEVICES)),
        ("detail.device.os-version", lambda r: "%d.%d.%d" % (
            r.randrange(1, 18), r.randrange(10), r.randrange(20))),
        ("detail.device.ip", lambda r: "%d.%d.%d.%d" % (
            r.choice([10, 172, 192, 52, 34]), r.randrange(256), r.randrange(256), r.randrange(256))),
        ("detail.bucket.name", lambda r: "%s-%s-%s" % (
            r.choice(WORDS), r.choice(["logs", "data", "assets", "backup"]), r.choice(REGIONS))),
        ("detail.object.key", lambda r: "%s/%s/%04d/%s.%s" % (
            r.choice(["uploads", "logs", "images", "exports"]), r.choice(WORDS),
            r.randrange(10000), r.choice(WORDS), r.choice(["jpg", "png", "csv", "json", "gz", "txt"]))),
        ("detail.object.size", lambda r: r.randrange(0, 10**9)),
        ("detail.priority", lambda r: r.randrange(1, 6)),
        ("detail.category", lambda r: r.choice(CATEGORIES)),
        ("detail.message", lambda r: " ".join(r.choice(WORDS) for _ in range(r.randrange(4, 12)))),
        ("detail.enabled", lambda r: r.random() < 0.5),
        ("detail.version", lambda r: r.randrange(1, 40)),
        ("detail.correlation-id", lambda r: "%08x-%04x-%04x" % (
            r.getrandbits(32), r.getrandbits(16), r.getrandbits(16))),
        ("detail.environment", lambda r: r.choice(["prod", "staging", "dev", "test"])),
    ]

OPT_FIELDS = _opt_fields()
OPT_PATHS = [p for p, _ in OPT_FIELDS]


def set_path(obj, path, value):
    parts = path.split(".")
    for p in parts[:-1]:
        obj = obj.setdefault(p, {})
    obj[parts[-1]] = value


def make_event(rng, i):
    src = rng.choice(SOURCES)
    ev = {
        "version": "0",
        "id": "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                              rng.getrandbits(16), rng.getrandbits(16),
                                              rng.getrandbits(48)),
        "detail-type": rng.choice(DETAIL_TYPES),
        "source": src,
        "account": "%012d" % rng.randrange(10**12),
        "time": "2024-%02d-%02dT%02d:%02d:%02dZ" % (rng.randrange(1, 13), rng.randrange(1, 29),
                                                    rng.randrange(24), rng.randrange(60),
                                                    rng.randrange(60)),
        "region": rng.choice(REGIONS),
        "resources": ["arn:aws:%s:%s:%012d:thing/%s-%d" % (
            src.split(".")[-1], rng.choice(REGIONS), rng.randrange(10**12),
            rng.choice(WORDS), rng.randrange(1000)) for _ in range(rng.randrange(0, 3))],
        "detail": {},
    }
    n_opt = rng.randrange(12, 26)
    for path, gen in sorted(rng.sample(OPT_FIELDS, n_opt), key=lambda f: OPT_PATHS.index(f[0])):
        set_path(ev, path, gen(rng))
    detail = ev["detail"]
    # Arrays: of strings, of numbers, of objects (array consistency matters).
    detail["tags"] = rng.sample(TAGS, rng.randrange(0, 5))
    if rng.random() < 0.6:
        detail["items"] = [{"sku": "SKU-%05d" % rng.randrange(100000),
                            "qty": rng.randrange(1, 10),
                            "price": round(rng.uniform(1, 500), 2),
                            "category": rng.choice(CATEGORIES)}
                           for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.3:
        detail["readings"] = [round(rng.uniform(-20, 60), 1) for _ in range(rng.randrange(1, 6))]
    # Pad towards ~1 KB with a free-text field no rule looks at.
    line = json.dumps(ev, separators=(",", ":"))
    target = rng.randrange(900, 1150)
    if len(line) < target:
        pad = target - len(line) - len(',"note":""')
        if pad > 0:
            words = []
            while sum(len(w) + 1 for w in words) < pad:
                words.append(rng.choice(WORDS))
            detail["note"] = " ".join(words)[:pad]
    return ev


def count_leaves(v):
    if isinstance(v, dict):
        return sum(count_leaves(x) for x in v.values())
    if isinstance(v, list):
        return sum(count_leaves(x) for x in v)
    return 1


# ----------------------------------------------------------------- small sets

def small_sets():
    return {
        "rules-exact-prefix.json": [
            {"source": ["com.shop.orders"], "detail-type": ["Order Placed"]},
            {"source": [{"prefix": "aws."}], "detail": {"state": ["running", "stopped"]}},
            {"detail": {"address": {"country": ["DE", "FR"]}, "user": {"tier": ["pro"]}}},
            {"region": [{"prefix": "eu-"}], "detail": {"category": ["books"]}},
            {"source": ["org.iot.sensors"], "detail": {"device": {"type": ["ios", "android"]}}},
        ],
        "rules-anything-but.json": [
            {"source": ["com.shop.orders"], "detail": {"state": [{"anything-but": ["running", "pending"]}]}},
            {"detail": {"user": {"tier": [{"anything-but": "free"}]}}},
            {"region": [{"anything-but": {"prefix": "us-"}}]},
            {"detail": {"priority": [{"anything-but": [1, 2, 3]}]}},
            {"detail": {"address": {"country": [{"anything-but": {"suffix": "E"}}]}}},
        ],
        "rules-numeric.json": [
            {"detail": {"order": {"total": [{"numeric": [">", 1000]}]}}},
            {"detail": {"metrics": {"latency-ms": [{"numeric": [">=", 250, "<", 1000]}]}}},
            {"detail": {"user": {"age": [{"numeric": ["<", 18]}]}}},
            {"detail": {"items": {"price": [{"numeric": [">", 100, "<=", 200]}]}}},
            {"detail": {"metrics": {"temperature": [{"numeric": ["<", 0]}, {"numeric": [">", 35]}]}}},
        ],
        "rules-wildcard.json": [
            {"detail": {"object": {"key": [{"wildcard": "uploads/*.jpg"}]}}},
            {"source": [{"wildcard": "aws.*"}], "detail": {"state": [{"wildcard": "*ing"}]}},
            {"detail": {"bucket": {"name": [{"wildcard": "*-logs-eu-*"}]}}},
            {"resources": [{"wildcard": "arn:aws:*:us-east-1:*"}]},
            {"detail": {"user": {"email": [{"wildcard": "alpha*@*.example.com"}]}}},
        ],
        "rules-equals-ignore-case.json": [
            {"source": [{"equals-ignore-case": "COM.SHOP.ORDERS"}]},
            {"detail": {"state": [{"equals-ignore-case": "Running"}]}},
            {"detail": {"address": {"city": [{"equals-ignore-case": "berlin"}, {"equals-ignore-case": "PARIS"}]}}},
            {"detail-type": [{"equals-ignore-case": "order placed"}]},
            {"detail": {"device": {"type": [{"equals-ignore-case": "IOS"}]}}},
        ],
        "rules-suffix.json": [
            {"detail": {"object": {"key": [{"suffix": ".png"}]}}},
            {"source": [{"suffix": ".orders"}]},
            {"detail": {"user": {"email": [{"suffix": "alpha.example.com"}]}}},
            {"region": [{"suffix": "-1"}], "detail": {"bucket": {"name": [{"suffix": "eu-west-1"}]}}},
            {"detail": {"device": {"os-version": [{"suffix": ".0"}]}}},
        ],
    }


# ----------------------------------------------------------------- 10k mixed

STRING_VALUES = {
    "detail.state": STATES, "detail.previous-state": STATES,
    "detail.user.tier": TIERS, "detail.order.currency": CURRENCIES,
    "detail.address.country": COUNTRIES, "detail.address.city": CITIES,
    "detail.category": CATEGORIES, "detail.device.type": DEVICES,
    "detail.environment": ["prod", "staging", "dev", "test"],
    "detail.tags": TAGS, "detail.items.category": CATEGORIES,
    "region": REGIONS,
}
NUMERIC_PATHS = {  # path: (lo, hi)
    "detail.order.total": (0, 5000), "detail.metrics.latency-ms": (0, 800),
    "detail.metrics.count": (0, 10000), "detail.metrics.ratio": (0, 1),
    "detail.metrics.temperature": (-10, 50), "detail.user.age": (13, 95),
    "detail.priority": (1, 6), "detail.version": (1, 40),
    "detail.object.size": (0, 10**9), "detail.items.price": (1, 500),
    "detail.items.qty": (1, 10), "detail.readings": (-20, 60),
}
PREFIX_SOURCES = {
    "detail.user.id": lambda r: "u-%0*d" % (r.randrange(2, 5), r.randrange(100)),
    "detail.order.id": lambda r: "ord-%0*d" % (r.randrange(2, 5), r.randrange(100)),
    "detail.address.zip": lambda r: "%0*d" % (r.randrange(2, 4), r.randrange(100)),
    "detail.object.key": lambda r: r.choice(["uploads/", "logs/", "images/", "exports/"]) + r.choice(WORDS)[:r.randrange(1, 4)],
    "detail.instance-id": lambda r: "i-%x" % r.randrange(16 ** 3),
    "detail.items.sku": lambda r: "SKU-%0*d" % (r.randrange(2, 4), r.randrange(100)),
    "detail.bucket.name": lambda r: r.choice(WORDS) + "-" + r.choice(["logs", "data"]),
    "detail.device.os-version": lambda r: "%d." % r.randrange(1, 18),
}
WILDCARD_SOURCES = {
    "detail.object.key": lambda r: "%s/*/%s*.%s" % (
        r.choice(["uploads", "logs", "images", "exports"]), r.choice(WORDS)[:2],
        r.choice(["jpg", "png", "csv", "json"])),
    "detail.user.email": lambda r: "%s*@%s.example.com" % (r.choice(WORDS), r.choice(WORDS)),
    "detail.bucket.name": lambda r: "*-%s-%s" % (r.choice(["logs", "data", "assets"]), r.choice(REGIONS)),
    "resources": lambda r: "arn:aws:*:%s:*" % r.choice(REGIONS),
    "detail.message": lambda r: "*%s %s*" % (r.choice(WORDS), r.choice(WORDS)),
    "detail.user.name": lambda r: "%s.*" % r.choice(WORDS),
}


def nest(flat):
    """{"a.b": v} -> {"a": {"b": v}}."""
    out = {}
    for path, v in flat.items():
        set_path(out, path, v)
    return out


def numeric_cond(rng, path):
    lo, hi = NUMERIC_PATHS[path]
    a = rng.uniform(lo, hi)
    if isinstance(lo, int) and isinstance(hi, int) and hi - lo > 20:
        a = int(a)
    else:
        a = round(a, 2)
    form = rng.randrange(4)
    if form == 0:
        return [{"numeric": [">", a]}]
    if form == 1:
        return [{"numeric": ["<=", a]}]
    b = a + (hi - lo) * rng.uniform(0.02, 0.3)
    b = int(b) if isinstance(a, int) else round(b, 2)
    if b <= a:
        b = a + (1 if isinstance(a, int) else 0.01)
    if form == 2:
        return [{"numeric": [">=", a, "<", b]}]
    return [{"numeric": ["=", a]}] if rng.random() < 0.3 else [{"numeric": [">", a, "<=", b]}]


def condition(rng, kind):
    """Returns (path, value list) of the given operator kind."""
    if kind == "exact":
        path = rng.choice(list(STRING_VALUES))
        vals = STRING_VALUES[path]
        return path, sorted(set(rng.choice(vals) for _ in range(rng.randrange(1, 4))))
    if kind == "prefix":
        path = rng.choice(list(PREFIX_SOURCES))
        return path, [{"prefix": PREFIX_SOURCES[path](rng)}]
    if kind == "numeric":
        path = rng.choice(list(NUMERIC_PATHS))
        return path, numeric_cond(rng, path)
    if kind == "wildcard":
        path = rng.choice(list(WILDCARD_SOURCES))
        return path, [{"wildcard": WILDCARD_SOURCES[path](rng)}]
    if kind == "anything-but":
        path = rng.choice(list(STRING_VALUES))
        vals = STRING_VALUES[path]
        r = rng.random()
        if r < 0.6:
            return path, [{"anything-but": sorted(set(rng.choice(vals) for _ in range(rng.randrange(1, 4))))}]
        if r < 0.8:
            return path, [{"anything-but": {"prefix": rng.choice(vals)[:2]}}]
        return path, [{"anything-but": rng.choice(vals)}]
    if kind == "suffix":
        path = "detail.object.key"
        return path, [{"suffix": "." + rng.choice(["jpg", "png", "csv", "json", "gz", "txt"])}]
    if kind == "equals-ignore-case":
        path = rng.choice(["detail.address.city", "detail.state", "detail.category"])
        return path, [{"equals-ignore-case": rng.choice(STRING_VALUES[path]).upper()}]
    if kind == "exists":
        path = rng.choice(OPT_PATHS)
        return path, [{"exists": rng.random() < 0.8}]
    raise ValueError(kind)


MIXED_KINDS = (["exact"] * 30 + ["prefix"] * 20 + ["numeric"] * 20 +
               ["wildcard"] * 12 + ["anything-but"] * 12 + ["suffix"] * 2 +
               ["equals-ignore-case"] * 2 + ["exists"] * 2)


def mixed_rule(rng):
    flat = {}
    # Most rules pin the source and/or detail-type (as real rules do).
    # Every rule pins the source (as real rules do); half the detail-type.
    if rng.random() < 0.92:
        flat["source"] = [rng.choice(SOURCES)]
    else:
        flat["source"] = [{"prefix": rng.choice(["aws.", "com.shop.", "org.iot.", "io."])}]
    if rng.random() < 0.5:
        flat["detail-type"] = sorted(set(rng.choice(DETAIL_TYPES) for _ in range(rng.randrange(1, 3))))
    for _ in range(rng.randrange(1, 4)):
        path, vals = condition(rng, rng.choice(MIXED_KINDS))
        if path in flat or any(p.startswith(path + ".") or path.startswith(p + ".") for p in flat):
            continue
        flat[path] = vals
    if rng.random() < 0.03:  # a few $or rules
        a_path, a_vals = condition(rng, "exact")
        b_path, b_vals = condition(rng, "numeric")
        if a_path not in flat and b_path not in flat and a_path != b_path:
            out = nest(flat)
            out["$or"] = [nest({a_path: a_vals}), nest({b_path: b_vals})]
            return out
    return nest(flat)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--mixed", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)

    rng = random.Random(a.seed)
    total = 0
    leaves = 0
    with open(os.path.join(a.out_dir, "events.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for i in range(a.events):
            ev = make_event(rng, i)
            line = json.dumps(ev, separators=(",", ":"))
            total += len(line) + 1
            leaves += count_leaves(ev)
            f.write(line + "\n")

    for name, rules in small_sets().items():
        with open(os.path.join(a.out_dir, name), "w", encoding="utf-8") as f:
            json.dump(rules, f, indent=1)
            f.write("\n")

    rng = random.Random(a.seed + 1)
    mixed = [mixed_rule(rng) for _ in range(a.mixed)]
    with open(os.path.join(a.out_dir, "rules-mixed-10k.json"), "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(r, separators=(",", ":")) for r in mixed))
        f.write("\n]\n")
    mixed_paths = set()

    def walk(o, prefix):
        for k, v in o.items():
            if k == "$or":
                for b in v:
                    walk(b, prefix)
            elif isinstance(v, dict):
                walk(v, prefix + k + ".")
            else:
                mixed_paths.add(prefix + k)
    for r in mixed:
        walk(r, "")
    print("events=%d avg_bytes=%.0f avg_leaves=%.1f mixed_rules=%d mixed_paths=%d -> %s" % (
        a.events, total / max(1, a.events), leaves / max(1, a.events), a.mixed,
        len(mixed_paths), a.out_dir), file=sys.stderr)


if __name__ == "__main__":
    main()
