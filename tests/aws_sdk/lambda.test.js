// Lambda (restJson1: /2015-03-31/functions...) through @aws-sdk/client-lambda.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";

import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  waitUntilFunctionActiveV2,
} from "@aws-sdk/client-lambda";

import { ACCOUNT, REGION, bytesJson, expectAwsError, jsonBytes, pythonZip, startEnv, waitFor } from "./harness.js";

const T = { timeout: 60000 };
let env;
let lambda;
const zip = pythonZip();

before(async () => {
  env = await startEnv();
  lambda = new LambdaClient(env.daemon.clientConfig());
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: "echo",
      Runtime: "python3.12",
      Role: "any-role-string",
      Handler: "app.handler",
      Code: { ZipFile: zip },
      Description: "echoes its event",
      Timeout: 10,
      Environment: { Variables: { HOOK_URL: env.receiver.url("/echo") } },
    }),
  );
});

after(async () => {
  lambda?.destroy();
  await env?.close();
});

test("CreateFunction returns a FunctionConfiguration; the waiter sees Active", T, async () => {
  const cfg = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: "created",
      Runtime: "python3.12",
      Role: "arn:aws:iam::000000000000:role/lambda-role",
      Handler: "app.handler",
      Code: { ZipFile: zip },
    }),
  );
  assert.equal(cfg.FunctionName, "created");
  assert.equal(cfg.FunctionArn, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:created`);
  assert.equal(cfg.Runtime, "python3.12");
  assert.equal(cfg.Handler, "app.handler");
  assert.equal(cfg.Role, "arn:aws:iam::000000000000:role/lambda-role");
  assert.equal(cfg.Timeout, 3);
  assert.equal(cfg.MemorySize, 128);
  assert.equal(cfg.Version, "$LATEST");
  assert.equal(cfg.CodeSize, zip.length);
  assert.equal(cfg.CodeSha256, createHash("sha256").update(zip).digest("base64"));
  assert.equal(typeof cfg.LastModified, "string");
  assert.ok(["Active", "Pending"].includes(cfg.State), `State ${cfg.State}`);

  const w = await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 2 }, {
    FunctionName: "created",
  });
  assert.equal(w.state, "SUCCESS");

  const dup = await expectAwsError(
    lambda.send(
      new CreateFunctionCommand({ FunctionName: "created", Role: "r", Runtime: "python3.12", Handler: "app.handler", Code: { ZipFile: zip } }),
    ),
    "ResourceConflictException",
    ResourceConflictException,
  );
  assert.equal(dup.$metadata.httpStatusCode, 409);
});

test("GetFunction, GetFunctionConfiguration, ListFunctions", T, async () => {
  const f = await lambda.send(new GetFunctionCommand({ FunctionName: "echo" }));
  assert.equal(f.Configuration.FunctionName, "echo");
  assert.equal(f.Configuration.State, "Active");
  assert.equal(f.Configuration.Description, "echoes its event");
  assert.equal(f.Configuration.Timeout, 10);
  assert.deepEqual(f.Configuration.Environment?.Variables, { HOOK_URL: env.receiver.url("/echo") });

  const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "echo" }));
  assert.equal(c.FunctionArn, f.Configuration.FunctionArn);
  assert.equal(c.State, "Active");

  // By ARN too.
  const byArn = await lambda.send(new GetFunctionCommand({ FunctionName: f.Configuration.FunctionArn }));
  assert.equal(byArn.Configuration.FunctionName, "echo");

  const list = await lambda.send(new ListFunctionsCommand({}));
  const names = list.Functions.map((x) => x.FunctionName);
  assert.ok(names.includes("echo"), `echo in ${names}`);
});

test("Invoke RequestResponse → StatusCode 200 and the handler's result", T, async () => {
  const r = await lambda.send(new InvokeCommand({ FunctionName: "echo", Payload: jsonBytes({ a: 1, s: "x" }) }));
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, undefined);
  assert.ok(r.Payload instanceof Uint8Array, "Payload is bytes");
  assert.deepEqual(bytesJson(r.Payload), { echo: { a: 1, s: "x" }, function: "echo" });
  if (r.ExecutedVersion !== undefined) assert.equal(r.ExecutedVersion, "$LATEST");
});

test("Invoke a failing handler → FunctionError Unhandled with errorType in the payload", T, async () => {
  const r = await lambda.send(new InvokeCommand({ FunctionName: "echo", Payload: jsonBytes({ fail: true }) }));
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, "Unhandled");
  const body = bytesJson(r.Payload);
  assert.equal(body.errorType, "ValueError");
  assert.equal(body.errorMessage, "asked to fail");
});

test('Invoke with LogType "Tail" → LogResult (base64) with the REPORT line', T, async () => {
  const r = await lambda.send(
    new InvokeCommand({ FunctionName: "echo", LogType: "Tail", Payload: jsonBytes({ tail: true }) }),
  );
  assert.equal(r.StatusCode, 200);
  assert.equal(typeof r.LogResult, "string");
  const log = Buffer.from(r.LogResult, "base64").toString("utf8");
  assert.match(log, /REPORT RequestId: /);
  assert.match(log, /handling/);
});

test("Invoke InvocationType Event → 202, and the function runs", T, async () => {
  const r = await lambda.send(
    new InvokeCommand({ FunctionName: "echo", InvocationType: "Event", Payload: jsonBytes({ async: 7 }) }),
  );
  assert.equal(r.StatusCode, 202);
  assert.ok(!r.Payload || r.Payload.length === 0, "no payload for an async invoke");
  await waitFor(
    () => env.receiver.received("/echo").some((x) => JSON.parse(x.body).async === 7),
    { timeoutMs: 30000, what: "the async invocation to reach the receiver" },
  );
});

test("Invoke with a payload that is not JSON → an error, never a hang", T, async () => {
  const err = await expectAwsError(
    lambda.send(new InvokeCommand({ FunctionName: "echo", Payload: new TextEncoder().encode("{not json") })),
    "InvalidRequestContentException",
  );
  assert.equal(err.$metadata.httpStatusCode, 400);
});

test("DeleteFunction; then GetFunction and Invoke → ResourceNotFoundException (404)", T, async () => {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: "doomed",
      Runtime: "python3.12",
      Role: "r",
      Handler: "app.handler",
      Code: { ZipFile: zip },
    }),
  );
  await lambda.send(new DeleteFunctionCommand({ FunctionName: "doomed" }));
  const err = await expectAwsError(
    lambda.send(new GetFunctionCommand({ FunctionName: "doomed" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  assert.equal(err.$metadata.httpStatusCode, 404);
  await expectAwsError(
    lambda.send(new InvokeCommand({ FunctionName: "doomed", Payload: jsonBytes({}) })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  await expectAwsError(
    lambda.send(new DeleteFunctionCommand({ FunctionName: "doomed" })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  const list = await lambda.send(new ListFunctionsCommand({}));
  assert.ok(!list.Functions.some((x) => x.FunctionName === "doomed"));
});
