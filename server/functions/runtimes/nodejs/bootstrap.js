'use strict';
// evbus Node.js runtime interface client (CommonJS, built-in modules only, Node 20).
//
// Contract with evbusd (see ../README.md and spec lambda-cloudwatch-sns.md 1-2):
//  * started as `node bootstrap.js`, cwd = a per-environment work dir;
//  * env: AWS_LAMBDA_RUNTIME_API=host:port, _HANDLER=`path/to/module.nested.fn`,
//    LAMBDA_TASK_ROOT (code dir), AWS_LAMBDA_FUNCTION_NAME/_VERSION/_MEMORY_SIZE,
//    AWS_LAMBDA_LOG_GROUP_NAME/_LOG_STREAM_NAME, AWS_REGION, plus the user's variables;
//  * init: load the module (extensionless, .js as CJS or ESM per package.json "type",
//    .mjs, .cjs, then require.resolve); on failure POST /2018-06-01/runtime/init/error
//    {"errorType","errorMessage","trace"}, log it and exit(1);
//  * loop: GET /runtime/invocation/next (keep-alive, no timeout), run the handler
//    (promise or callback, first wins), POST /invocation/<id>/response (JSON) or
//    /invocation/<id>/error with header Lambda-Runtime-Function-Error-Type: Unhandled;
//  * an uncaught exception (exit 129) or unhandled rejection (exit 128) fails the
//    in-flight invocation, or init if no invocation has started, then exits;
//  * console.* write `<ISO ts>\t<request id>\t<LEVEL>\t<message>` lines to stdout.
const fs = require('fs');
const http = require('http');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const [API_HOST, API_PORT] = (() => {
  const a = process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001';
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), Number(a.slice(i + 1))];
})();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let currentId; // request id of the invocation in flight (undefined between invokes)
let answered = true; // whether the in-flight invocation already got a response/error
let initDone = false;

// ---- logging ---------------------------------------------------------------
function writeLog(level, args) {
  const msg = util.format(...args).replace(/\n/g, '\r');
  process.stdout.write(`${new Date().toISOString()}\t${currentId}\t${level}\t${msg}\n`);
}
for (const [fn, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'],
  ['error', 'ERROR'], ['debug', 'DEBUG'], ['trace', 'TRACE']]) {
  console[fn] = (...args) => writeLog(level, args);
}
console.fatal = (...args) => writeLog('FATAL', args);

// ---- Runtime API -----------------------------------------------------------
function call(method, urlPath, body, headers, attempt = 0) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: API_HOST, port: API_PORT, method, agent, path: '/2018-06-01/runtime' + urlPath,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body), ...(headers || {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject); // no req.setTimeout: /next blocks until an event exists
    req.end(body);
  }).catch((e) => { // stale keep-alive socket or daemon hiccup: reconnect a few times
    if (attempt >= 4) throw e;
    process.stderr.write(`runtime: ${method} ${urlPath} failed (${e.message}), reconnecting\n`);
    return new Promise((r) => setTimeout(r, 100 * (attempt + 1)))
      .then(() => call(method, urlPath, body, headers, attempt + 1));
  });
}

function errorBody(err) {
  try {
    if (err instanceof Error || (err && typeof err.stack === 'string' && 'message' in err)) {
      const lines = String(err.stack || `${err.name}: ${err.message}`).split('\n');
      return { errorType: err.name, errorMessage: err.message, trace: lines };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (_) {
    return { errorType: 'handled', errorMessage: 'error value could not be formatted',
      trace: [] };
  }
}

// One log record per error, like Node RIC's `Invoke Error \t{...}` lines.
function logError(label, body) {
  const { errorType, errorMessage, trace } = body;
  console.error(label, JSON.stringify({ errorType, errorMessage, stack: trace }));
}

function postError(urlPath, body, typeHeader) {
  return call('POST', urlPath, JSON.stringify(body),
    { 'Lambda-Runtime-Function-Error-Type': typeHeader });
}

async function failInit(err) {
  const body = errorBody(err);
  logError('Uncaught Exception', body);
  try { await postError('/init/error', body, body.errorType); } finally { process.exit(1); }
}

function runtimeError(type, message, cause) {
  const e = new Error(message);
  e.name = type;
  if (cause && cause.stack) e.stack = `${type}: ${cause.stack}`;
  return e;
}

// ---- handler resolution (spec 1.5) ----------------------------------------
function isEsmPackage(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try { return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module'; } catch (_) { return false; }
    }
    if (path.dirname(d) === d) return false;
  }
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const isFile = (f) => fs.existsSync(f) && fs.statSync(f).isFile();
  const esm = (f) => import(pathToFileURL(f).href);
  if (isFile(base)) return require(base);
  if (isFile(base + '.js')) {
    return isEsmPackage(path.dirname(base)) ? esm(base + '.js') : require(base + '.js');
  }
  if (isFile(base + '.mjs')) return esm(base + '.mjs');
  if (isFile(base + '.cjs')) return require(base + '.cjs');
  const dir = path.resolve(appRoot, moduleRoot);
  return require(require.resolve(moduleName, { paths: [appRoot, dir] }));
}

async function loadHandler(handlerString) {
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  if (handlerString.includes('..')) {
    throw runtimeError('Runtime.MalformedHandlerName', `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const m = /^([^.]*)\.(.*)$/.exec(path.basename(handlerString));
  if (!m) throw runtimeError('Runtime.MalformedHandlerName', `Bad handler ${handlerString}`);
  let mod;
  try {
    mod = await loadModule(appRoot, path.dirname(handlerString), m[1]);
  } catch (e) {
    if (e instanceof SyntaxError) throw runtimeError('Runtime.UserCodeSyntaxError', String(e), e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw runtimeError('Runtime.ImportModuleError', String(e), e);
    }
    throw e; // module-scope exception: reported with its own name
  }
  const fn = m[2].split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (fn === undefined) throw runtimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  if (typeof fn !== 'function') throw runtimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  return fn;
}

// ---- invocation ------------------------------------------------------------
function makeContext(h, finish) {
  const env = process.env;
  const deadline = Number(h['lambda-runtime-deadline-ms'] || 0);
  const parse = (v) => { try { return v ? JSON.parse(v) : undefined; } catch (_) { return undefined; } };
  return {
    awsRequestId: h['lambda-runtime-aws-request-id'],
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parse(h['lambda-runtime-cognito-identity']),
    clientContext: parse(h['lambda-runtime-client-context']),
    tenantId: h['lambda-runtime-aws-tenant-id'],
    callbackWaitsForEmptyEventLoop: true, // accepted, not honoured (see README)
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: (err, result) => finish(err, result),
    succeed: (result) => finish(null, result),
    fail: (err) => finish(err == null ? 'handled' : err),
  };
}

async function invokeOnce(handler, next) {
  const h = next.headers;
  const id = h['lambda-runtime-aws-request-id'];
  currentId = id;
  answered = false;
  if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
  else delete process.env._X_AMZN_TRACE_ID;
  const outcome = await new Promise((resolve) => {
    let settled = false;
    const finish = (err, result) => {
      if (settled) return; // first of callback / promise / context.done wins
      settled = true;
      resolve(err != null ? { err } : { result });
    };
    let event;
    try {
      event = next.body ? JSON.parse(next.body) : null;
    } catch (e) {
      return finish(runtimeError('Runtime.UnmarshalError', `Unable to parse event: ${e.message}`));
    }
    try {
      const ret = handler(event, makeContext(h, finish), finish);
      if (ret && typeof ret.then === 'function') {
        ret.then((r) => finish(null, r), (e) => finish(e == null ? 'handled' : e));
      } else if (handler.length < 3) {
        finish(null, ret); // plain synchronous handler: its return value is the result
      }
    } catch (e) {
      finish(e == null ? 'handled' : e);
    }
  });
  if (answered) return; // an uncaught exception already failed this invocation
  let payload;
  if (!('err' in outcome)) {
    try {
      payload = JSON.stringify(outcome.result === undefined ? null : outcome.result);
    } catch (e) {
      outcome.err = runtimeError('Runtime.MarshalError', `Unable to stringify response body: ${e.message}`);
    }
  }
  answered = true;
  if ('err' in outcome) {
    const body = errorBody(outcome.err);
    logError('Invoke Error', body);
    await postError(`/invocation/${id}/error`, body, 'Unhandled');
  } else {
    await call('POST', `/invocation/${id}/response`, payload);
  }
}

// Uncaught errors: fail the in-flight invocation (or init), then exit like Node RIC.
async function fatal(err, code) {
  const body = errorBody(err);
  logError(code === 128 ? 'Unhandled Promise Rejection' : 'Uncaught Exception', body);
  try {
    if (!initDone) await postError('/init/error', body, body.errorType);
    else if (!answered) { answered = true; await postError(`/invocation/${currentId}/error`, body, 'Unhandled'); }
  } catch (_) { /* daemon gone: nothing more to report */ }
  process.exit(code);
}
process.on('uncaughtException', (e) => fatal(e, 129));
process.on('unhandledRejection', (reason) => {
  const e = runtimeError('Runtime.UnhandledPromiseRejection',
    reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason), reason);
  fatal(e, 128);
});

async function main() {
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || '');
  } catch (e) {
    return failInit(e);
  }
  initDone = true;
  for (;;) {
    const next = await call('GET', '/invocation/next');
    if (next.status !== 200) {
      process.stderr.write(`runtime: /next returned ${next.status}: ${next.body.slice(0, 200)}\n`);
      process.exit(1);
    }
    await invokeOnce(handler, next);
  }
}
main().catch((e) => {
  process.stderr.write(`runtime: fatal: ${e && e.stack}\n`);
  process.exit(1);
});
