"""The deployment files under deploy/ against the real binaries and tools.

* systemd: the unit's settings, `systemd-analyze verify` on a copy whose
  ExecStart points at the built evbusd (only empty output passes), and the
  unit's exact command line (with the sample config) starting a daemon.
* container: the Dockerfile's shape, its runtime packages against the
  shared libraries the built binaries link (readelf + dpkg), and its
  ENTRYPOINT and HEALTHCHECK commands run against a daemon.
* Kubernetes: every manifest parsed (PyYAML, Debian's python3-yaml) with
  the fields that matter checked, the stack's event pattern linted, the
  container command plus the StatefulSet's args started, and
  `kubectl kustomize` when kubectl is installed.
* Prometheus/Grafana: the config, the alerting rules and the dashboard;
  `promtool` checks and rule unit tests when promtool is installed; and every
  evbus_* metric name, label matcher, `by (...)` label and legend/annotation
  label they use exists on a live evbusd's /metrics after the test caused
  the series (rule deliveries that succeed, fail, retry and dead-letter; a
  function that succeeds and fails; an alarm).

Standard library only (PyYAML is optional: without it the YAML structure
checks skip and say which Debian package to add). Every wait is bounded.
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest

from evbus_harness import EVBUS, EVBUSD, Daemon, cli, entry
from receiver import Receiver

try:
    import yaml
except ImportError:  # Debian: python3-yaml
    yaml = None

ROOT = os.path.abspath(os.environ.get(
    "EVBUS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")))
DEPLOY = os.path.join(ROOT, "deploy")
UNIT = os.path.join(DEPLOY, "systemd", "evbusd.service")
SAMPLE_CONFIG = os.path.join(DEPLOY, "systemd", "evbusd.json")
DEFAULT_FILE = os.path.join(DEPLOY, "systemd", "evbusd.default")
DOCKERFILE = os.path.join(DEPLOY, "container", "Dockerfile")
K8S = os.path.join(DEPLOY, "kubernetes")
PROM = os.path.join(DEPLOY, "prometheus")
ALERTS = os.path.join(PROM, "evbus-alerts.yml")
DASHBOARD = os.path.join(PROM, "grafana-dashboard.json")

NO_YAML = ("PyYAML is not installed for /usr/bin/python3: add the Debian "
           "package python3-yaml to scripts/install-deps.sh")

# Labels Prometheus adds to every scraped series (not on /metrics itself).
TARGET_LABELS = {"instance", "job"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def which(name):
    return shutil.which(name, path=os.environ.get("PATH", "") +
                        ":/usr/sbin:/usr/bin:/sbin:/bin")


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


# --------------------------------------------------------------------------
# Parsers for the files.

def unit_settings(text):
    """[(section, key, value)] of a systemd unit (no continuation lines)."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def dockerfile_instructions(text):
    """[(INSTRUCTION, args)] with continuation lines joined, comments and the
    parser directive dropped."""
    out, buf = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment inside a continued instruction
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def docker_stages(instructions):
    stages, current = [], None
    for ins, args in instructions:
        if ins == "FROM":
            current = {"from": args, "ins": []}
            stages.append(current)
        elif current is not None:
            current["ins"].append((ins, args))
    return stages


def exec_form(args):
    """The JSON array of an exec-form ENTRYPOINT/CMD, or None."""
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def alert_blocks(text):
    """[(alert, expr, text of the rule)] from evbus-alerts.yml, by lines, so
    the metric checks do not need PyYAML. Expressions are one line each
    (test_prometheus_files checks that against the parsed YAML)."""
    blocks = []
    parts = re.split(r"(?m)^\s*- alert:\s*", text)
    for part in parts[1:]:
        name = part.splitlines()[0].strip()
        m = re.search(r"(?m)^\s*expr:\s*(.+?)\s*$", part)
        blocks.append((name, m.group(1) if m else None, part))
    return blocks


def dashboard_queries(dash):
    """[(panel title, expr, legendFormat)] of every panel target, and the
    templating queries (legend None)."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if "expr" in t:
                    out.append((p.get("title"), t["expr"],
                                t.get("legendFormat")))
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if var.get("type") == "query" and q:
            out.append(("variable " + var["name"], q, None))
    return out


METRIC_NAME = re.compile(r"\bevbus_[A-Za-z0-9_]+")
SELECTOR = re.compile(r"\b(evbus_[A-Za-z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
TEMPLATE_LABEL = re.compile(r"\{\{\s*\$?labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}"
                            r"|\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class Exposition:
    """Families, label names and label values of a /metrics text."""

    def __init__(self, text):
        self.types = {}
        self.labels = {}      # family -> set of label names
        self.values = {}      # (family, label) -> set of values
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(None, 3)
                self.types[name] = kind.strip()
                self.labels.setdefault(name, set())
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
            if not m:
                continue
            family = self.family_of(m.group(1))
            if family is None:
                continue
            for label, _, value in MATCHER.findall(m.group(3) or ""):
                self.labels[family].add(label)
                self.values.setdefault((family, label), set()).add(value)

    def family_of(self, name):
        """The family a metric name used in PromQL belongs to, or None."""
        if name in self.types:
            return name
        for suffix in HISTOGRAM_SUFFIXES:
            base = name[:-len(suffix)]
            if name.endswith(suffix) and self.types.get(base) == "histogram":
                return base
        return None


class DaemonAt(Daemon):
    """A Daemon started with an exact command line (plus --ready-file)."""

    def __init__(self, argv):
        super().__init__()
        self.argv = argv

    def start(self, timeout=20):
        ready = self.data_dir + ".ready"
        self.log_path = self.data_dir + ".log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv + ["--ready-file", ready],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("evbusd %s exited with %s:\n%s" % (
                    " ".join(self.argv), self.proc.returncode, self.log()))
            if os.path.exists(ready):
                with open(ready) as f:
                    info = json.load(f)
                self.grpc, self.http = info["grpc"], info["http"]
                return self
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait(timeout=10)
        raise AssertionError("evbusd not ready in %ss:\n%s" % (timeout,
                                                                self.log()))


def local_command(argv, data_dir, replacements=None):
    """A deployment's evbusd command line made runnable here: the built
    binary, the data directory in a temp dir, every listener on
    127.0.0.1:0, and the given path replacements."""
    out = []
    for a in argv:
        if a in ("/usr/local/bin/evbusd", "evbusd"):
            a = EVBUSD
        elif a == "/var/lib/evbus/data":
            a = data_dir
        elif re.fullmatch(r"(127\.0\.0\.1|0\.0\.0\.0|\[::\]):\d+", a):
            a = "127.0.0.1:0"
        elif replacements and a in replacements:
            a = replacements[a]
        out.append(a)
    return out


# --------------------------------------------------------------------------
# systemd

class SystemdUnitTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="evbus-deploy-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def settings(self):
        return unit_settings(read(UNIT))

    def test_unit_settings(self):
        service = {}
        for section, key, value in self.settings():
            if section == "Service":
                service.setdefault(key, []).append(value)
        want = {
            "Type": "simple", "User": "evbus", "Group": "evbus",
            "DynamicUser": "no", "StateDirectory": "evbus",
            "ProtectSystem": "strict", "ProtectHome": "true",
            "PrivateTmp": "true", "NoNewPrivileges": "true",
            "Restart": "on-failure", "RestartSec": "2",
            "LimitNOFILE": "65536", "Delegate": "memory pids",
            "KillMode": "mixed", "TimeoutStopSec": "15",
        }
        for key, value in want.items():
            self.assertEqual(service.get(key), [value], key)
        # /sys/fs/cgroup must stay writable for the functions' cgroups.
        self.assertNotIn("ProtectControlGroups", service)
        argv = shlex.split(service["ExecStart"][0])
        self.assertEqual(argv[0], "/usr/local/bin/evbusd")
        flags = dict(zip(argv[1::2], argv[2::2]))
        self.assertEqual(flags["--data-dir"], "/var/lib/evbus/data")
        self.assertEqual(flags["--grpc-listen"], "127.0.0.1:4010")
        self.assertEqual(flags["--http-listen"], "127.0.0.1:4011")
        install = [(k, v) for s, k, v in self.settings() if s == "Install"]
        self.assertIn(("WantedBy", "multi-user.target"), install)
        config = json.loads(read(SAMPLE_CONFIG))
        for key in ("data_dir", "grpc_listen", "http_listen", "region",
                    "account", "smtp_url", "smtp_from", "log_level"):
            self.assertIn(key, config)
        self.assertEqual(config["data_dir"], flags["--data-dir"])

    def copy_unit(self, extra=""):
        """The unit with ExecStart on the built binary (systemd-analyze
        checks that the command exists and is executable)."""
        text = read(UNIT).replace("/usr/local/bin/evbusd",
                                  os.path.abspath(EVBUSD))
        path = os.path.join(self.dir, "evbusd.service")
        with open(path, "w") as f:
            f.write(text + extra)
        return path

    def verify(self, path):
        r = run([which("systemd-analyze"), "verify", path], cwd=self.dir,
                timeout=120, env=dict(os.environ, SYSTEMD_PAGER="cat",
                                      SYSTEMD_COLORS="0"))
        return r.returncode, (r.stdout + r.stderr).strip()

    @unittest.skipUnless(which("systemd-analyze"),
                         "systemd-analyze is not installed (Debian package "
                         "systemd); the unit is not verified")
    def test_systemd_analyze_verify(self):
        rc, out = self.verify(self.copy_unit())
        self.assertEqual((rc, out), (0, ""),
                         "systemd-analyze verify complained:\n" + out)
        # The check is meaningful: this systemd reports an unknown key.
        rc, out = self.verify(self.copy_unit("BogusEvbusKey=1\n"))
        self.assertIn("BogusEvbusKey", out)

    def test_unit_command_line_runs(self):
        """ExecStart with EVBUSD_OPTS from evbusd.default (the sample JSON
        config) starts evbusd, which serves and exits 0 on SIGTERM within
        TimeoutStopSec."""
        exec_start = [v for s, k, v in self.settings()
                      if s == "Service" and k == "ExecStart"][0]
        m = re.search(r'(?m)^EVBUSD_OPTS="([^"]*)"', read(DEFAULT_FILE))
        self.assertIsNotNone(m, "evbusd.default sets EVBUSD_OPTS")
        argv = []
        for word in shlex.split(exec_start):
            argv += shlex.split(m.group(1)) if word == "$EVBUSD_OPTS" else [word]
        self.assertIn("/etc/evbus/evbusd.json", argv)
        d = DaemonAt([])
        self.addCleanup(d.cleanup)
        d.argv = local_command(argv, os.path.join(d.data_dir, "data"),
                               {"/etc/evbus/evbusd.json": SAMPLE_CONFIG})
        d.start()
        self.assertEqual(d.http_get("/readyz")[0], 200)
        self.assertEqual(d.cli_json("health"), {"Status": "SERVING"})
        bus = d.cli_json("describe-event-bus")
        config = json.loads(read(SAMPLE_CONFIG))
        self.assertIn(":%s:%s:" % (config["region"], config["account"]),
                      bus["Arn"])
        self.assertEqual(d.stop(timeout=15), 0)


# --------------------------------------------------------------------------
# container

class ContainerTest(unittest.TestCase):

    def setUp(self):
        self.stages = docker_stages(dockerfile_instructions(read(DOCKERFILE)))
        self.runtime = self.stages[-1]

    def runtime_ins(self, name):
        return [a for i, a in self.runtime["ins"] if i == name]

    def runtime_packages(self):
        pkgs = set()
        for args in self.runtime_ins("RUN"):
            for m in re.finditer(r"apt-get install((?:\s+[^&;|]+))", args):
                pkgs |= {w for w in m.group(1).split()
                         if not w.startswith("-")}
        return pkgs

    def test_dockerfile_shape(self):
        self.assertEqual(len(self.stages), 2)
        build, runtime = self.stages
        self.assertRegex(build["from"], r"^debian:bookworm-slim\s+AS\s+\w+")
        self.assertEqual(runtime["from"], "debian:bookworm-slim")
        build_runs = " ".join(a for i, a in build["ins"] if i == "RUN")
        self.assertIn("./scripts/install-deps.sh", build_runs)
        self.assertIn("./scripts/build.sh", build_runs)
        pkgs = self.runtime_packages()
        self.assertTrue({"python3", "nodejs", "ca-certificates"} <= pkgs, pkgs)
        self.assertFalse({p for p in pkgs if p.endswith("-dev")})
        copies = " ".join(self.runtime_ins("COPY"))
        self.assertRegex(copies, r"build/bin/evbusd\b")
        self.assertRegex(copies, r"build/bin/evbus\b")
        self.assertIn("/usr/local/bin/", copies)
        user = self.runtime_ins("USER")[-1].split(":")[0]
        self.assertNotIn(user, ("0", "root"))
        self.assertEqual(self.runtime_ins("VOLUME"), ["/var/lib/evbus"])
        self.assertEqual(" ".join(self.runtime_ins("EXPOSE")).split(),
                         ["4010", "4011"])
        entry_point = exec_form(self.runtime_ins("ENTRYPOINT")[-1])
        self.assertEqual(entry_point[0], "/usr/local/bin/evbusd")
        flags = dict(zip(entry_point[1::2], entry_point[2::2]))
        self.assertEqual(flags, {"--grpc-listen": "0.0.0.0:4010",
                                 "--http-listen": "0.0.0.0:4011",
                                 "--data-dir": "/var/lib/evbus/data"})
        health = self.runtime_ins("HEALTHCHECK")[-1]
        self.assertIsNotNone(exec_form(health.split("CMD", 1)[1].strip()))

    @unittest.skipUnless(which("readelf") and which("dpkg"),
                         "readelf (binutils) or dpkg missing: cannot map the "
                         "binaries' libraries to Debian packages")
    def test_runtime_packages_cover_linked_libraries(self):
        """Every shared library evbusd and evbus link directly comes from a
        package the runtime stage installs (or one every Debian image has)."""
        base = {"libc6", "libgcc-s1", "libstdc++6"}
        pkgs = self.runtime_packages() | base
        missing = {}
        for binary in (EVBUSD, EVBUS):
            needed = re.findall(r"\(NEEDED\).*\[(.+?)\]",
                                run(["readelf", "-d", binary]).stdout)
            self.assertTrue(needed, binary)
            resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)",
                                       run(["ldd", binary]).stdout, re.M))
            for lib in needed:
                path = resolved.get(lib)
                self.assertIsNotNone(path, "%s: %s not found" % (binary, lib))
                owner = self.owner(path)
                if owner not in pkgs:
                    missing[lib] = owner
        self.assertEqual(missing, {}, "add these packages to the runtime "
                         "stage of deploy/container/Dockerfile")

    def owner(self, path):
        """The Debian package owning a library path (merged /usr aware)."""
        real = os.path.realpath(path)
        candidates = []
        for p in (path, real):
            candidates.append(p)
            if p.startswith("/usr/lib/"):
                candidates.append(p[len("/usr"):])
            elif p.startswith("/lib/"):
                candidates.append("/usr" + p)
        for c in candidates:
            r = run(["dpkg", "-S", c], timeout=30)
            if r.returncode == 0:
                return r.stdout.split(":")[0].strip()
        return "(no package owns %s)" % path

    def test_entrypoint_and_healthcheck_run(self):
        """The image's ENTRYPOINT command line starts evbusd here (listeners
        on 127.0.0.1:0), and its HEALTHCHECK command reports it healthy."""
        d = DaemonAt([])
        self.addCleanup(d.cleanup)
        d.argv = local_command(exec_form(self.runtime_ins("ENTRYPOINT")[-1]),
                               os.path.join(d.data_dir, "data"))
        d.start()
        health = exec_form(self.runtime_ins("HEALTHCHECK")[-1]
                           .split("CMD", 1)[1].strip())
        health = [EVBUS if a == "/usr/local/bin/evbus" else
                  d.grpc if a == "127.0.0.1:4010" else a for a in health]
        r = run(health, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(d.stop(timeout=10), 0)


# --------------------------------------------------------------------------
# Kubernetes

@unittest.skipIf(yaml is None, NO_YAML)
class KubernetesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.objects = {}
        cls.files = sorted(glob.glob(os.path.join(K8S, "*.yaml")))
        for path in cls.files:
            for doc in yaml_docs(path):
                cls.objects.setdefault(doc["kind"], []).append(doc)

    def one(self, kind, name=None):
        objs = [o for o in self.objects.get(kind, [])
                if name is None or o["metadata"]["name"] == name]
        self.assertEqual(len(objs), 1, "%s %s" % (kind, name))
        return objs[0]

    def test_every_manifest_has_identity(self):
        self.assertGreaterEqual(len(self.files), 5)
        for kind, objs in self.objects.items():
            for o in objs:
                self.assertTrue(o.get("apiVersion"), kind)
                if kind != "Kustomization":
                    self.assertTrue(o["metadata"]["name"], kind)
        kust = self.one("Kustomization")
        listed = set(kust["resources"])
        on_disk = {os.path.basename(p) for p in self.files} - {
            "kustomization.yaml"}
        self.assertEqual(listed, on_disk)

    def statefulset(self):
        return self.one("StatefulSet", "evbus")

    def container(self):
        containers = self.statefulset()["spec"]["template"]["spec"][
            "containers"]
        self.assertEqual(len(containers), 1)
        return containers[0]

    def test_statefulset(self):
        sts = self.statefulset()
        self.assertEqual(sts["apiVersion"], "apps/v1")
        spec = sts["spec"]
        self.assertEqual(spec["replicas"], 1)
        pod_labels = spec["template"]["metadata"]["labels"]
        for k, v in spec["selector"]["matchLabels"].items():
            self.assertEqual(pod_labels.get(k), v)
        claims = {c["metadata"]["name"]: c
                  for c in spec["volumeClaimTemplates"]}
        c = self.container()
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"grpc": 4010, "http": 4011})
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in c:
                self.assertIn(c[probe]["httpGet"]["port"], ("http", 4011))
        self.assertIn("requests", c["resources"])
        self.assertIn("memory", c["resources"]["limits"])
        pod_sc = spec["template"]["spec"]["securityContext"]
        self.assertTrue(pod_sc["runAsNonRoot"])
        self.assertNotEqual(pod_sc.get("runAsUser", 1), 0)
        self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        data = claims[mounts["/var/lib/evbus"]]
        self.assertEqual(data["spec"]["resources"]["requests"]["storage"],
                         "10Gi")
        self.assertEqual(data["spec"]["accessModes"], ["ReadWriteOnce"])
        # The stack file: --stack /etc/evbus/stack.yaml from the ConfigMap.
        args = c["args"]
        self.assertEqual(args[args.index("--stack") + 1],
                         "/etc/evbus/stack.yaml")
        volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
        cm_name = volumes[mounts["/etc/evbus"]]["configMap"]["name"]
        cm = self.one("ConfigMap", cm_name)
        self.assertIn("stack.yaml", cm["data"])
        # The governing service is headless.
        gov = self.one("Service", spec["serviceName"])
        self.assertEqual(gov["spec"].get("clusterIP"), "None")

    def test_services(self):
        svc = self.one("Service", "evbus")
        self.assertEqual(svc["spec"]["type"], "ClusterIP")
        ports = {p["name"]: p for p in svc["spec"]["ports"]}
        self.assertEqual({n: p["port"] for n, p in ports.items()},
                         {"grpc": 4010, "http": 4011})
        container_ports = {p["name"] for p in self.container()["ports"]}
        for p in ports.values():
            self.assertIn(p["targetPort"], container_ports | {4010, 4011})
        pod_labels = self.statefulset()["spec"]["template"]["metadata"][
            "labels"]
        for s in self.objects["Service"]:
            for k, v in s["spec"]["selector"].items():
                self.assertEqual(pod_labels.get(k), v, s["metadata"]["name"])

    def test_servicemonitor(self):
        sm = self.one("ServiceMonitor")
        self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        endpoints = sm["spec"]["endpoints"]
        self.assertEqual([(e["port"], e["path"]) for e in endpoints],
                         [("http", "/metrics")])
        # It selects the ClusterIP service exactly once (not the headless
        # one too, which would scrape the pod twice).
        want = sm["spec"]["selector"]["matchLabels"]
        selected = [s["metadata"]["name"] for s in self.objects["Service"]
                    if all(s["metadata"].get("labels", {}).get(k) == v
                           for k, v in want.items())]
        self.assertEqual(selected, ["evbus"])

    def stack(self):
        return yaml.safe_load(self.one("ConfigMap", "evbus-stack")["data"][
            "stack.yaml"])

    def test_stack_shape_and_pattern(self):
        stack = self.stack()
        buses = {b["name"] for b in stack["buses"]}
        self.assertTrue(stack["rules"])
        tmp = tempfile.mkdtemp(prefix="evbus-deploy-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for rule in stack["rules"]:
            self.assertIn(rule["bus"], buses | {"default"})
            self.assertTrue(rule["targets"])
            for t in rule["targets"]:
                self.assertTrue(t["id"] and t["arn"])
            path = os.path.join(tmp, rule["name"] + ".json")
            with open(path, "w") as f:
                json.dump(rule["pattern"], f)
            r = cli("patterns", "lint", path, check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_pod_command_runs(self):
        """The image's ENTRYPOINT plus the StatefulSet's args, with the
        ConfigMap's stack at the --stack path, start evbusd; the probes'
        paths answer 200."""
        entry_point = None
        for ins, args in dockerfile_instructions(read(DOCKERFILE)):
            if ins == "ENTRYPOINT":
                entry_point = exec_form(args)
        c = self.container()
        d = DaemonAt([])
        self.addCleanup(d.cleanup)
        stack_path = d.data_dir + ".stack.yaml"
        with open(stack_path, "w") as f:
            f.write(self.one("ConfigMap", "evbus-stack")["data"]["stack.yaml"])
        self.addCleanup(os.remove, stack_path)
        d.argv = local_command(entry_point + c["args"],
                               os.path.join(d.data_dir, "data"),
                               {"/etc/evbus/stack.yaml": stack_path})
        d.start()
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in c:
                path = c[probe]["httpGet"]["path"]
                self.assertEqual(d.http_get(path)[0], 200, probe)
        grace = self.statefulset()["spec"]["template"]["spec"].get(
            "terminationGracePeriodSeconds", 30)
        self.assertEqual(d.stop(timeout=grace), 0)

    @unittest.skipUnless(which("kubectl"),
                         "kubectl is not installed (not a Debian package); "
                         "the kustomization is not rendered")
    def test_kustomize_renders(self):
        r = run([which("kubectl"), "kustomize", K8S], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        kinds = sorted(d["kind"] for d in yaml.safe_load_all(r.stdout) if d)
        self.assertEqual(kinds, ["ConfigMap", "Service", "Service",
                                 "ServiceMonitor", "StatefulSet"])


# --------------------------------------------------------------------------
# Prometheus and Grafana: files

class PrometheusFilesTest(unittest.TestCase):

    @unittest.skipIf(yaml is None, NO_YAML)
    def test_prometheus_files(self):
        config = yaml_docs(os.path.join(PROM, "prometheus.yml"))[0]
        jobs = {j["job_name"]: j for j in config["scrape_configs"]}
        job = jobs["evbus"]
        self.assertEqual(job.get("metrics_path", "/metrics"), "/metrics")
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        self.assertEqual(targets, ["127.0.0.1:4011"])
        self.assertIn("evbus-alerts.yml", config["rule_files"])
        rules = [r for g in yaml_docs(ALERTS)[0]["groups"]
                 for r in g["rules"]]
        by_name = {r["alert"]: r for r in rules}
        self.assertEqual(len(by_name), len(rules), "alert names are unique")
        for r in rules:
            self.assertIn(r["labels"]["severity"], ("critical", "warning"))
            self.assertTrue(r["annotations"]["summary"])
        # The line-based reader used by the metric checks agrees.
        self.assertEqual([(n, e) for n, e, _ in alert_blocks(read(ALERTS))],
                         [(r["alert"], r["expr"]) for r in rules])
        exprs = {" ".join(r["expr"].split()): r for r in rules}
        for want, for_ in [
                ("increase(evbus_dead_letter_invocations_total[10m]) > 0", None),
                ("evbus_delivery_queue_depth > 10000", "10m"),
                ("evbus_store_healthy == 0", None),
                ("increase(evbus_function_errors_total[5m]) > 0", None),
                ('evbus_alarm_state{state="ALARM"} == 1', None),
                ('increase(evbus_emails_total{result="failed"}[15m]) > 0',
                 None)]:
            self.assertIn(want, sorted(exprs))
            if for_:
                self.assertEqual(exprs[want].get("for"), for_)

    def test_grafana_dashboard(self):
        dash = json.loads(read(DASHBOARD))
        self.assertGreaterEqual(dash["schemaVersion"], 36)
        self.assertTrue(dash["uid"] and dash["title"])
        ids = []

        def walk(panels):
            for p in panels:
                ids.append(p["id"])
                g = p["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
                if p["type"] != "row":
                    self.assertTrue(p["targets"], p["title"])
                    for t in p["targets"]:
                        self.assertTrue(t["expr"].strip(), p["title"])
                        self.assertEqual(t["datasource"]["type"], "prometheus")
                walk(p.get("panels", []))

        walk(dash["panels"])
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        exprs = " ".join(e for _, e, _ in dashboard_queries(dash))
        self.assertIn("histogram_quantile(0.99", exprs)
        self.assertIn("evbus_put_events_latency_seconds_bucket", exprs)

    @unittest.skipUnless(which("promtool"),
                         "promtool is not installed (Debian package "
                         "prometheus)")
    def test_promtool(self):
        tmp = tempfile.mkdtemp(prefix="evbus-deploy-")
        self.addCleanup(shutil.rmtree, tmp, True)
        promtool = which("promtool")
        for argv in (["check", "config", "prometheus.yml"],
                     ["check", "rules", "evbus-alerts.yml"],
                     ["test", "rules", "evbus-alerts.test.yml"]):
            r = run([promtool] + argv, cwd=PROM, timeout=120)
            self.assertEqual(r.returncode, 0, "promtool %s:\n%s%s" % (
                " ".join(argv), r.stdout, r.stderr))
        # Every dashboard query parses as PromQL (Grafana's variables
        # replaced by values of the right kind).
        rules = []
        for i, (title, expr, _) in enumerate(
                dashboard_queries(json.loads(read(DASHBOARD)))):
            if expr.startswith("label_values("):
                continue  # Grafana's own function, not PromQL
            promql = (expr.replace("$__rate_interval", "5m")
                      .replace("$__range", "1h").replace("$instance", ".*"))
            rules.append("      - record: dashboard:query_%d\n"
                         "        expr: %s\n" % (i, json.dumps(promql)))
        path = os.path.join(tmp, "dashboard-queries.yml")
        with open(path, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n" +
                    "".join(rules))
        r = run([promtool, "check", "rules", path], timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


# --------------------------------------------------------------------------
# Prometheus and Grafana: every name they use exists on a live evbusd

HANDLER = '''
def handler(event, context):
    if event.get("fail"):
        raise Exception("deploy test failure")
    return {"ok": True}
'''


class MetricNamesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        cls.addClassCleanup(cls.receiver.close)
        cls.work = tempfile.mkdtemp(prefix="evbus-deploy-fn-")
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        cls.d = Daemon()
        cls.addClassCleanup(cls.d.cleanup)
        cls.addClassCleanup(cls.stop_daemon)
        cls.d.start()
        cls.exercise()

    @classmethod
    def stop_daemon(cls):
        # SIGTERM first: evbusd stops its function environments itself.
        try:
            cls.d.stop(timeout=15)
        except Exception:
            pass

    @classmethod
    def exercise(cls):
        """Cause every labelled family the files use: deliveries that
        succeed (log target), fail for good without retries, and retry
        (webhooks answering 503), an event that matches; a function that
        succeeds and one that fails (invocations, errors, duration, cold
        start); an alarm (evbus_alarm_state). evbus_emails_total and the
        unlabelled families exist from the start."""
        d, r = cls.d, cls.receiver
        r.script("/down", [], default=(503, {}, 0))
        r.script("/retry", [], default=(503, {}, 0))
        d.cli("put-rule", "--name", "deploy-check", "--event-pattern",
              json.dumps({"source": ["deploy.test"]}))
        d.cli("put-targets", "--rule", "deploy-check", "--targets",
              json.dumps([
                  {"Id": "log", "Arn": "log:deploy-check"},
                  {"Id": "down", "Arn": r.url("/down"),
                   "RetryPolicy": {"MaximumRetryAttempts": 0}},
                  {"Id": "retry", "Arn": r.url("/retry"),
                   "RetryPolicy": {"MaximumRetryAttempts": 1}}]))
        d.put_events([entry(source="deploy.test"), entry()])
        with open(os.path.join(cls.work, "app.py"), "w") as f:
            f.write(HANDLER)
        d.cli("create-function", "--function-name", "deploy-fn",
              "--runtime", "python3", "--handler", "app.handler",
              "--code", cls.work, "--timeout", "10")
        for payload in ({}, {"fail": True}):
            d.cli("invoke", "--function-name", "deploy-fn", "--payload",
                  json.dumps(payload), "/dev/null", timeout=60)
        d.cli("put-metric-alarm", "--alarm-name", "deploy-fn-errors",
              "--namespace", "AWS/Lambda", "--metric-name", "Errors",
              "--dimensions", "Name=FunctionName,Value=deploy-fn",
              "--statistic", "Sum", "--period", "60",
              "--evaluation-periods", "1", "--threshold", "0",
              "--comparison-operator", "GreaterThanThreshold")

    def used_names(self):
        names = {}
        for path in (ALERTS, DASHBOARD):
            for name in METRIC_NAME.findall(read(path)):
                names.setdefault(name, set()).add(os.path.basename(path))
        return names

    def scrape_until(self, done, timeout=30):
        """/metrics, polled until done(Exposition) or the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            status, text = self.d.http_get("/metrics")
            self.assertEqual(status, 200)
            exp = Exposition(text)
            if done(exp) or time.monotonic() > deadline:
                return exp, text
            time.sleep(0.2)

    def test_metric_names_exist(self):
        names = self.used_names()
        # The extraction finds what the files are about (guards the regex).
        for must in ("evbus_dead_letter_invocations_total",
                     "evbus_delivery_queue_depth", "evbus_store_healthy",
                     "evbus_function_errors_total", "evbus_alarm_state",
                     "evbus_emails_total",
                     "evbus_put_events_latency_seconds_bucket",
                     "evbus_function_duration_seconds_bucket"):
            self.assertIn(must, names)
        exp, text = self.scrape_until(
            lambda e: all(e.family_of(n) for n in names) and
            e.values.get(("evbus_dead_letter_invocations_total", "target")))
        missing = {n: sorted(files) for n, files in names.items()
                   if exp.family_of(n) is None}
        self.assertEqual(missing, {}, "metric names not on /metrics:\n" +
                         "\n".join(l for l in text.splitlines()
                                   if l.startswith("# TYPE")))
        for name in names:
            if name.endswith("_bucket"):
                # Histograms: the bucket series really are exposed.
                self.assertRegex(text, r"(?m)^%s\{" % re.escape(name))

    def check_expr(self, exp, where, expr, template_labels=()):
        """Label matchers, by()/without() labels and the labels a legend or
        an annotation prints exist on the families the expression uses."""
        families = {exp.family_of(n) for n in METRIC_NAME.findall(expr)}
        families.discard(None)
        known = set(TARGET_LABELS)
        for f in families:
            known |= exp.labels[f]
            if exp.types[f] == "histogram":
                known.add("le")
        problems = []
        for name, matchers in SELECTOR.findall(expr):
            family = exp.family_of(name)
            for label, op, value in MATCHER.findall(matchers):
                if label in TARGET_LABELS:
                    continue
                if label not in exp.labels.get(family, ()):
                    problems.append("%s has no label %s" % (name, label))
                elif op == "=" and value not in exp.values[(family, label)]:
                    problems.append("%s{%s=%r}: values are %s" % (
                        name, label, value,
                        sorted(exp.values[(family, label)])))
        grouped = set()
        for group in GROUPING.findall(expr):
            for label in filter(None, (s.strip() for s in group.split(","))):
                grouped.add(label)
                if label not in known:
                    problems.append("by/without label %s is unknown" % label)
        allowed = grouped if re.search(r"\bby\s*\(", expr) else known
        for label in template_labels:
            if label not in allowed:
                problems.append("prints label %s, which the result does not "
                                "have" % label)
        self.assertEqual(problems, [], "%s: %s" % (where, expr))

    def test_labels_exist(self):
        names = self.used_names()
        exp, _ = self.scrape_until(
            lambda e: all(e.family_of(n) for n in names) and
            e.values.get(("evbus_dead_letter_invocations_total", "target")))
        checked = 0
        for alert, expr, block in alert_blocks(read(ALERTS)):
            self.assertIsNotNone(expr, alert)
            labels = re.findall(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", block)
            with self.subTest(alert=alert):
                self.check_expr(exp, alert, expr, labels)
            checked += 1
        for title, expr, legend in dashboard_queries(
                json.loads(read(DASHBOARD))):
            labels = [a or b for a, b in TEMPLATE_LABEL.findall(legend or "")]
            with self.subTest(panel=title):
                self.check_expr(exp, title, expr, labels)
            checked += 1
        self.assertGreater(checked, 20)


if __name__ == "__main__":
    unittest.main()
