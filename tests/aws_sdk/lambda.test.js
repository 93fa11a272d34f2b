// Lambda (restJson1: /2015-03-31/functions...) through @aws-sdk/client-lambda.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";

import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  DeleteFunctionEventInvokeConfigCommand,
  GetFunctionEventInvokeConfigCommand,
  PutFunctionEventInvokeConfigCommand,
  UpdateFunctionEventInvokeConfigCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  ListFunctionsCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";

import { ACCOUNT, REGION, bytesJson, expectAwsError, jsonBytes, pythonZip, startEnv, waitFor } from "./harness.js";

const T = { timeout: 60000 };
let env;
let lambda;
const zip = pythonZip();
const ROLE = `arn:aws:iam::${ACCOUNT}:role/lambda-role`;

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

test("CreateFunction returns a FunctionConfiguration; the waiter sees Active; a duplicate → 409", T, async () => {
  const cfg = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: "created",
      Runtime: "python3.12",
      Role: ROLE,
      Handler: "app.handler",
      Code: { ZipFile: zip },
    }),
  );
  assert.equal(cfg.FunctionName, "created");
  assert.equal(cfg.FunctionArn, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:created`);
  assert.equal(cfg.Runtime, "python3.12");
  assert.equal(cfg.Handler, "app.handler");
  assert.equal(cfg.Timeout, 3);
  assert.equal(cfg.MemorySize, 128);
  assert.equal(cfg.Version, "$LATEST");
  assert.equal(typeof cfg.CodeSha256, "string");
  assert.ok(cfg.CodeSize > 0);
  assert.match(cfg.LastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  assert.ok(["Active", "Pending"].includes(cfg.State), `State ${cfg.State}`);

  const w = await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 2 }, {
    FunctionName: "created",
  });
  assert.equal(w.state, "SUCCESS");

  const dup = await expectAwsError(
    lambda.send(
      new CreateFunctionCommand({ FunctionName: "created", Role: ROLE, Runtime: "python3.12", Handler: "app.handler", Code: { ZipFile: zip } }),
    ),
    "ResourceConflictException",
    ResourceConflictException,
  );
  assert.equal(dup.$metadata.httpStatusCode, 409);
});

test("CreateFunction and GetFunction echo the Role given", T, async () => {
  const cfg = await lambda.send(
    new CreateFunctionCommand({ FunctionName: "role-echo", Runtime: "python3.12", Role: ROLE, Handler: "app.handler", Code: { ZipFile: zip } }),
  );
  assert.equal(cfg.Role, ROLE);
  const got = await lambda.send(new GetFunctionCommand({ FunctionName: "role-echo" }));
  assert.equal(got.Configuration.Role, ROLE);
});

test("CodeSize and CodeSha256 describe the uploaded ZIP (size, base64 SHA-256)", T, async () => {
  const cfg = await lambda.send(
    new CreateFunctionCommand({ FunctionName: "code-hash", Runtime: "python3.12", Role: ROLE, Handler: "app.handler", Code: { ZipFile: zip } }),
  );
  assert.equal(cfg.CodeSize, zip.length, "CodeSize = bytes of the deployment package");
  assert.equal(cfg.CodeSha256, createHash("sha256").update(zip).digest("base64"), "CodeSha256 = base64 SHA-256 of the package");
});

test("UpdateFunctionCode (ZipFile) and UpdateFunctionConfiguration take effect on the next Invoke", T, async () => {
  await lambda.send(
    new CreateFunctionCommand({ FunctionName: "updated", Runtime: "python3.12", Role: ROLE, Handler: "app.handler", Code: { ZipFile: zip } }),
  );
  const v2 = pythonZip(
    'import os\n\ndef handler(event, context):\n    return {"version": 2, "color": os.environ.get("COLOR")}\n',
  );
  const code = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: "updated", ZipFile: v2 }));
  assert.equal(code.FunctionName, "updated");
  const conf = await lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: "updated",
      Timeout: 7,
      Environment: { Variables: { COLOR: "blue" } },
    }),
  );
  assert.equal(conf.Timeout, 7);
  assert.deepEqual(conf.Environment?.Variables, { COLOR: "blue" });
  await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 2 }, { FunctionName: "updated" });
  const r = await lambda.send(new InvokeCommand({ FunctionName: "updated", Payload: jsonBytes({}) }));
  assert.equal(r.FunctionError, undefined, new TextDecoder().decode(r.Payload));
  assert.deepEqual(bytesJson(r.Payload), { version: 2, color: "blue" });
});

test("UpdateFunctionCode with DryRun changes nothing; Timeout or MemorySize 0 is refused, not the default", T, async () => {
  await lambda.send(
    new CreateFunctionCommand({ FunctionName: "dry", Runtime: "python3.12", Role: ROLE, Handler: "app.handler", Code: { ZipFile: zip }, Timeout: 30 }),
  );
  const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "dry" }));
  const v2 = pythonZip('def handler(event, context):\n    return "v2"\n');
  const dry = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: "dry", ZipFile: v2, DryRun: true }));
  assert.equal(dry.CodeSha256, before.CodeSha256);
  const r = await lambda.send(new InvokeCommand({ FunctionName: "dry", Payload: jsonBytes({ x: 1 }) }));
  assert.notEqual(bytesJson(r.Payload), "v2");
  await expectAwsError(lambda.send(new UpdateFunctionCodeCommand({ FunctionName: "nope", ZipFile: v2, DryRun: true })), "ResourceNotFoundException");

  for (const [member, path, min] of [["Timeout", "timeout", 1], ["MemorySize", "memorySize", 128]]) {
    const err = await expectAwsError(
      lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: "dry", [member]: 0 })),
      "ValidationException",
    );
    assert.equal(
      err.message,
      `1 validation error detected: Value '0' at '${path}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
    );
  }
  const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "dry" }));
  assert.equal(after.Timeout, 30);
});

test("function event invoke config: Put replaces, Update merges, Get/Update/Delete of none → 404", T, async () => {
  await lambda.send(
    new CreateFunctionCommand({ FunctionName: "eic", Runtime: "python3.12", Role: ROLE, Handler: "app.handler", Code: { ZipFile: zip } }),
  );
  await expectAwsError(lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: "eic" })), "ResourceNotFoundException");
  await expectAwsError(
    lambda.send(new UpdateFunctionEventInvokeConfigCommand({ FunctionName: "eic", MaximumRetryAttempts: 0 })),
    "ResourceNotFoundException",
  );
  await lambda.send(
    new PutFunctionEventInvokeConfigCommand({ FunctionName: "eic", MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 120 }),
  );
  const updated = await lambda.send(new UpdateFunctionEventInvokeConfigCommand({ FunctionName: "eic", MaximumRetryAttempts: 0 }));
  assert.equal(updated.MaximumRetryAttempts, 0);
  assert.equal(updated.MaximumEventAgeInSeconds, 120);
  const got = await lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: "eic" }));
  assert.equal(got.MaximumEventAgeInSeconds, 120);
  // Put without a member resets it.
  const put = await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: "eic", MaximumRetryAttempts: 2 }));
  assert.equal(put.MaximumEventAgeInSeconds, 21600);
  await lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: "eic" }));
  await expectAwsError(lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: "eic" })), "ResourceNotFoundException");
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

test("Invoke with a Qualifier that names no version or alias → ResourceNotFoundException", T, async () => {
  const ok = await lambda.send(new InvokeCommand({ FunctionName: "echo", Qualifier: "$LATEST", Payload: jsonBytes({ q: 1 }) }));
  assert.equal(ok.StatusCode, 200);
  const err = await expectAwsError(
    lambda.send(new InvokeCommand({ FunctionName: "echo", Qualifier: "7", Payload: jsonBytes({ q: 2 }) })),
    "ResourceNotFoundException",
    ResourceNotFoundException,
  );
  assert.equal(err.$metadata.httpStatusCode, 404);
});

test("CreateFunction without Role → ValidationException naming 'role' (required by the model)", T, async () => {
  const err = await expectAwsError(
    lambda.send(new CreateFunctionCommand({ FunctionName: "no-role", Runtime: "python3.12", Handler: "app.handler", Code: { ZipFile: zip } })),
    "ValidationException",
  );
  assert.equal(err.message, "1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null");
  await expectAwsError(lambda.send(new GetFunctionCommand({ FunctionName: "no-role" })), "ResourceNotFoundException");
});

test("CreateFunction of a .zip without Runtime or Handler → InvalidParameterValueException", T, async () => {
  for (const missing of ["Runtime", "Handler"]) {
    const input = { FunctionName: "half-made", Role: ROLE, Runtime: "python3.12", Handler: "app.handler", Code: { ZipFile: zip } };
    delete input[missing];
    const err = await expectAwsError(lambda.send(new CreateFunctionCommand(input)), "InvalidParameterValueException");
    assert.equal(err.message, "Runtime and Handler are mandatory parameters for functions created with deployment packages.");
  }
  await expectAwsError(lambda.send(new GetFunctionCommand({ FunctionName: "half-made" })), "ResourceNotFoundException");
});

test("function names in every documented form: name:$LATEST, partial ARN, full ARN; another qualifier → 404", T, async () => {
  for (const name of ["echo:$LATEST", `${ACCOUNT}:function:echo`, `${ACCOUNT}:function:echo:$LATEST`,
                      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:echo`]) {
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    assert.equal(got.Configuration.FunctionName, "echo", name);
    const r = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: jsonBytes({ form: name }) }));
    assert.equal(r.StatusCode, 200, name);
    assert.equal(r.FunctionError, undefined, name);
  }
  await expectAwsError(lambda.send(new GetFunctionCommand({ FunctionName: "echo", Qualifier: "1" })), "ResourceNotFoundException");
  await expectAwsError(lambda.send(new GetFunctionCommand({ FunctionName: "echo:live" })), "ResourceNotFoundException");
  await expectAwsError(lambda.send(new InvokeCommand({ FunctionName: "echo:live" })), "ResourceNotFoundException");
  await expectAwsError(lambda.send(new GetFunctionCommand({ FunctionName: "echo:" })), "ValidationException");
});

test("RevisionId: returned, changes with every update, a stale one → 412 PreconditionFailedException; Publish → refused", T, async () => {
  const created = await lambda.send(
    new CreateFunctionCommand({ FunctionName: "rev", Runtime: "python3.12", Role: ROLE, Handler: "app.handler", Code: { ZipFile: zip } }),
  );
  assert.match(created.RevisionId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const got = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "rev" }));
  assert.equal(got.RevisionId, created.RevisionId);
  const updated = await lambda.send(
    new UpdateFunctionConfigurationCommand({ FunctionName: "rev", Timeout: 9, RevisionId: created.RevisionId }),
  );
  assert.notEqual(updated.RevisionId, created.RevisionId);
  const err = await expectAwsError(
    lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: "rev", Timeout: 11, RevisionId: created.RevisionId })),
    "PreconditionFailedException",
  );
  assert.equal(err.$metadata.httpStatusCode, 412);
  await expectAwsError(
    lambda.send(new UpdateFunctionCodeCommand({ FunctionName: "rev", ZipFile: zip, RevisionId: created.RevisionId })),
    "PreconditionFailedException",
  );
  const code = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: "rev", ZipFile: zip, RevisionId: updated.RevisionId }));
  assert.notEqual(code.RevisionId, updated.RevisionId);
  assert.equal((await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "rev" }))).Timeout, 9);

  const publish = await expectAwsError(
    lambda.send(new UpdateFunctionCodeCommand({ FunctionName: "rev", ZipFile: zip, Publish: true })),
    "InvalidParameterValueException",
  );
  assert.match(publish.message, /Publish is not supported/);
  await expectAwsError(
    lambda.send(
      new CreateFunctionCommand({ FunctionName: "rev2", Runtime: "python3.12", Role: ROLE, Handler: "app.handler", Code: { ZipFile: zip }, Publish: true }),
    ),
    "InvalidParameterValueException",
  );
});
