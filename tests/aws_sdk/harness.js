// Test harness for the AWS SDK suite: a real evbusd on loopback (port 0,
// temporary data dir, manual clock), a loopback HTTP receiver that records
// what targets are sent, the evbus CLI for what has no AWS API (the manual
// clock), SDK client configuration, and a stored-ZIP writer for function
// code. Every wait is bounded. Node 18+ (no dependencies beyond node:*).
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BIN_DIR =
  process.env.EVBUS_BIN_DIR || path.resolve(HERE, "..", "..", "build", "bin");
export const EVBUSD = path.join(BIN_DIR, "evbusd");
export const EVBUS = path.join(BIN_DIR, "evbus");

export const CLOCK_START = "2026-03-01T12:00:00Z";
export const ACCOUNT = "000000000000";
export const REGION = "us-east-1";
// Any role: evbus does not assume roles.
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/x`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` (sync or async) until it returns a truthy value; returns it.
// Throws after `timeoutMs` with `what` and the last value or error.
export async function waitFor(fn, { timeoutMs = 20000, intervalMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const detail = lastErr ? `last error: ${lastErr.stack || lastErr}` : `last value: ${JSON.stringify(last)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
}

// ---------------------------------------------------------------------------
// The daemon

export class Daemon {
  constructor({ extraArgs = [] } = {}) {
    this.extraArgs = extraArgs;
    this.proc = null;
    this.dir = null;
    this.grpc = null;
    this.http = null;
    this.endpoint = null;
    this.logPath = null;
    this.exited = null; // {code, signal} once the process is gone
  }

  // Starts evbusd and waits (bounded) for its ready file. `dir`: the
  // directory of an earlier run to start on again (see restart()).
  async start({ timeoutMs = 20000, dir = null } = {}) {
    if (dir) {
      this.dir = dir;
      fs.rmSync(path.join(dir, "ready"), { force: true });
    } else {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "evbus-sdk-"));
      // Functions run as other users when evbusd runs as root: they must be
      // able to reach their code below the data directory.
      fs.chmodSync(this.dir, 0o755);
    }
    const data = path.join(this.dir, "data");
    if (!dir) {
      fs.mkdirSync(data, { mode: 0o755 });
      fs.chmodSync(data, 0o755);
    }
    const ready = path.join(this.dir, "ready");
    this.logPath = path.join(this.dir, "evbusd.log");
    const log = fs.openSync(this.logPath, "a");
    const args = [
      "--data-dir", data,
      "--grpc-listen", "127.0.0.1:0",
      "--http-listen", "127.0.0.1:0",
      "--ready-file", ready,
      "--clock", "manual",
      "--clock-start", CLOCK_START,
      ...this.extraArgs,
    ];
    this.proc = spawn(EVBUSD, args, { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    this.proc.on("exit", (code, signal) => {
      this.exited = { code, signal };
    });
    this.proc.on("error", (err) => {
      this.exited = { code: null, signal: null, error: err };
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) {
        const text = this.log();
        await this.stop(); // removes the temporary dir
        throw new Error(`evbusd exited early (${JSON.stringify(this.exited)}):\n${text}`);
      }
      if (fs.existsSync(ready)) {
        let info;
        try {
          info = JSON.parse(fs.readFileSync(ready, "utf8"));
        } catch {
          info = null; // written atomically, but be safe
        }
        if (info && info.grpc && info.http) {
          this.grpc = info.grpc;
          this.http = info.http;
          this.endpoint = `http://${info.http}`;
          return this;
        }
      }
      await sleep(25);
    }
    const text = this.log();
    await this.stop();
    throw new Error(`evbusd not ready in ${timeoutMs} ms:\n${text}`);
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  // Last `n` lines of the daemon's log (for assertion messages).
  logTail(n = 40) {
    return this.log().split("\n").slice(-n).join("\n");
  }

  // SIGTERM, then SIGKILL after `graceMs`; removes the temporary dir.
  // Stops evbusd with SIGTERM and starts it again on the same data
  // directory (new ports: clients must be made again from clientConfig()).
  async restart({ timeoutMs = 20000 } = {}) {
    const dir = this.dir;
    await this.stop({ keepData: true });
    this.exited = null;
    return this.start({ timeoutMs, dir });
  }

  async stop({ graceMs = 6000, keepData = false } = {}) {
    if (this.proc && !this.exited) {
      const gone = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      const kill = setTimeout(() => {
        if (!this.exited) this.proc.kill("SIGKILL");
      }, graceMs);
      let giveUp;
      await Promise.race([gone, new Promise((r) => (giveUp = setTimeout(r, graceMs + 4000)))]);
      clearTimeout(kill);
      clearTimeout(giveUp);
    }
    if (this.dir && !keepData && !process.env.EVBUS_KEEP_DATA) {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // The options every AWS SDK client gets: only an endpoint override.
  clientConfig(extra = {}) {
    return {
      endpoint: this.endpoint,
      region: REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      // One attempt, bounded sockets: a server bug must surface as itself,
      // never as a retry storm or a hang.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5000, requestTimeout: 30000 },
      ...extra,
    };
  }

  // Runs `evbus --endpoint <grpc> ...args`; resolves {code, stdout, stderr}.
  cli(args, { timeoutMs = 30000, check = true } = {}) {
    return runCli(["--endpoint", this.grpc, ...args], { timeoutMs, check });
  }

  // `evbus clock advance <duration>` (no AWS API moves the manual clock).
  async advance(duration) {
    await this.cli(["clock", "advance", duration]);
  }

  async clockNow() {
    const r = await this.cli(["clock", "get"]);
    return JSON.parse(r.stdout).Time;
  }

  // A raw HTTP request to the AWS endpoint (bounded); resolves
  // {status, headers, text}.
  async raw(pathname, { method = "POST", headers = {}, body, timeoutMs = 10000 } = {}) {
    const res = await fetch(this.endpoint + pathname, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  }
}

export function runCli(args, { timeoutMs = 30000, check = true } = {}) {
  return new Promise((resolve, reject) => {
    execFile(EVBUS, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      if (check && (err || code !== 0)) {
        reject(new Error(`evbus ${args.join(" ")} failed (${err && (err.code ?? err.signal)}):\n${stdout}${stderr}`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------
// The receiver: a loopback HTTP server that records every request.

export class Receiver {
  constructor() {
    this.requests = [];
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        this.requests.push({
          method: req.method,
          path: req.url,
          headers: req.headers, // lower-case names
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        });
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("ok");
      });
    });
    this.server.keepAliveTimeout = 1000;
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  url(p = "/") {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  received(p) {
    return this.requests.filter((r) => p === undefined || r.path === p);
  }

  // Waits (bounded) until at least `count` requests reached `p`.
  async waitFor(p, { count = 1, timeoutMs = 20000 } = {}) {
    return waitFor(() => (this.received(p).length >= count ? this.received(p) : null), {
      timeoutMs,
      intervalMs: 50,
      what: `${count} request(s) to ${p} (got ${this.received(p).length})`,
    });
  }

  async close() {
    if (this.server.closeAllConnections) this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

// One daemon + receiver for a test file: call in before()/after().
export async function startEnv({ extraArgs = [] } = {}) {
  const receiver = await new Receiver().start();
  const daemon = new Daemon({ extraArgs });
  try {
    await daemon.start();
  } catch (err) {
    await receiver.close();
    throw err;
  }
  return {
    daemon,
    receiver,
    // Stops both; fails (so the file's run fails) when evbusd died during
    // the tests, with the tail of its log.
    async close() {
      const died = daemon.exited;
      await receiver.close();
      const log = died ? daemon.logTail(60) : "";
      await daemon.stop();
      if (died) throw new Error(`evbusd died during the tests (${JSON.stringify(died)}):\n${log}`);
    },
  };
}

// ---------------------------------------------------------------------------
// A stored (uncompressed) ZIP writer with CRC-32, for CreateFunction's
// Code.ZipFile. files: {name: string|Uint8Array}. Returns a Uint8Array.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function makeZip(files) {
  const enc = new TextEncoder();
  const locals = [];
  const centrals = [];
  let offset = 0;
  // 2026-03-01 12:00:00 in MS-DOS format.
  const dosTime = (12 << 11) | (0 << 5) | 0;
  const dosDate = ((2026 - 1980) << 9) | (3 << 5) | 1;
  for (const [name, content] of Object.entries(files)) {
    const nameBytes = enc.encode(name);
    const data = typeof content === "string" ? enc.encode(content) : content;
    const crc = crc32(data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed to extract
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); // compressed size
    local.writeUInt32LE(data.length, 22); // uncompressed size
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28); // extra length
    locals.push(local, Buffer.from(nameBytes), Buffer.from(data));

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central directory signature
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: UNIX, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk number start
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(((0o100644 << 16) >>> 0), 38); // external: -rw-r--r--
    central.writeUInt32LE(offset, 42); // local header offset
    centrals.push(central, Buffer.from(nameBytes));

    offset += 30 + nameBytes.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const count = Object.keys(files).length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0, 4); // this disk
  eocd.writeUInt16LE(0, 6); // disk with central directory
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(centralSize, 12);
  eocd.writeUInt32LE(offset, 16);
  eocd.writeUInt16LE(0, 20); // comment length
  return new Uint8Array(Buffer.concat([...locals, ...centrals, eocd]));
}

// A Python handler (app.handler) shared by the suites:
//  * POSTs the event as JSON to $HOOK_URL when that variable is set;
//  * prints a log line; raises when event["fail"] is truthy;
//  * returns {"echo": event, "function": <name>}.
export const PY_HANDLER = `import json
import os
import urllib.request


def handler(event, context):
    print("handling", json.dumps(event))
    hook = os.environ.get("HOOK_URL")
    if hook:
        req = urllib.request.Request(
            hook, data=json.dumps(event).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event, "function": context.function_name}
`;

export function pythonZip(source = PY_HANDLER) {
  return makeZip({ "app.py": source });
}

// JSON bytes for Lambda Invoke payloads; and back.
export const jsonBytes = (v) => new TextEncoder().encode(JSON.stringify(v));
export const bytesJson = (b) => JSON.parse(new TextDecoder().decode(b));

// Asserts that `promise` rejects with an SDK error named `name` (and, when
// given, an instance of `cls`). Returns the error.
export async function expectAwsError(promise, name, cls) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  if (!err) throw new Error(`expected ${name}, but the call succeeded`);
  const info = `got ${err.name}: ${err.message} (HTTP ${err.$metadata?.httpStatusCode})`;
  if (err.name !== name) {
    const e = new Error(`expected ${name}, ${info}`);
    e.cause = err;
    throw e;
  }
  if (cls && !(err instanceof cls)) {
    throw new Error(`expected an instance of ${cls.name}, ${info}`);
  }
  return err;
}
