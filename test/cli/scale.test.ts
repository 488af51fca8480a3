/**
 * A full account through the real pulumi CLI: 100 secrets bound into 5 Workers (one
 * WorkerSecretBindings each), at the default --parallel, in an account of 100 Workers (95 that
 * the program does not bind: the usage index reads them only in the runs that need it). Request counts come from the emulator's
 * log (counts, not timings: `npm run bench` measures time). Two engine runs per `up` and `refresh`
 * (the preview, then the update), each with its own provider process, so "per run" bounds double.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestLogEntry } from "../../tools/emulator-client";
import { REPO_ROOT } from "../../tools/packed-package";
import { CliStack, errors } from "./stack";

const SECRETS = 100;
const WORKERS = 5;
const ACCOUNT_WORKERS = 100;
const writes = (log: RequestLogEntry[]) => log.filter((r) => r.method !== "GET");
const count = (log: RequestLogEntry[], method: string, pattern: RegExp) => log.filter((r) => r.method === method && pattern.test(r.path)).length;
/** The usage index: one list of the account's Workers. */
const WORKER_LIST = /\/workers\/scripts$/;

describe(`${SECRETS} secrets bound into ${WORKERS} Workers in one pulumi up`, () => {
  let stack: CliStack;
  const run = async (op: "preview" | "up" | "refresh" | "destroy", generation = "1") => {
    await stack.configure({ generation });
    const { result, requests } = await stack.requestsDuring(() => stack[op]());
    expect(errors(result)).toBe("");
    expect(requests.filter((r) => r.status === 429)).toEqual([]);
    return requests;
  };

  beforeAll(async () => {
    const workers = [
      ...Array.from({ length: WORKERS }, (_, i) => ({ name: `bench-worker-${i}`, bindings: [{ type: "plain_text", name: "KEEP_ME", text: "yes" }] })),
      ...Array.from({ length: ACCOUNT_WORKERS - WORKERS }, (_, i) => ({
        name: `other-worker-${i}`,
        bindings: [{ type: "plain_text", name: "OWN", text: "yes" }],
      })),
    ];
    stack = await CliStack.start(
      path.join(REPO_ROOT, "scripts/bench-program"),
      { stores: [{ name: "default_secrets_store" }], workers },
      {
        config: { count: String(SECRETS), workers: String(WORKERS), shape: "per-worker" },
      },
    );
  });
  afterAll(() => stack.close());

  it("preview reads at most 5 times plus once per Worker, and writes nothing", async () => {
    const log = await run("preview");
    expect(writes(log)).toEqual([]);
    expect(log.length).toBeLessThanOrEqual(5 + WORKERS);
  });

  it("up creates everything in at most 80 requests: batched creates, one settings PATCH per Worker", async () => {
    const log = await run("up");
    expect(log.length).toBeLessThanOrEqual(80);
    expect(count(log, "POST", /\/secrets$/)).toBeLessThan(SECRETS / 4);
    expect(count(log, "PATCH", /\/settings$/)).toBe(WORKERS);
    expect((await stack.secrets()).length).toBe(SECRETS);
    for (let w = 0; w < WORKERS; w++) {
      const names = (await stack.bindings(`bench-worker-${w}`)).map((b) => b.name);
      expect(names).toContain("KEEP_ME");
      expect(names.length).toBe(1 + SECRETS / WORKERS);
    }
  });

  it("a no-op up writes nothing, reads each bound Worker once per engine run, and builds no usage index", async () => {
    const log = await run("up");
    expect(writes(log)).toEqual([]);
    expect(log.length).toBeLessThanOrEqual(2 * (1 + WORKERS));
    expect(count(log, "GET", WORKER_LIST)).toBe(0);
  });

  it("rotating every value is one PATCH per secret plus at most 10 other requests, with no 429", async () => {
    const log = await run("up", "2");
    expect(count(log, "PATCH", /\/secrets\/[0-9a-f]{32}$/)).toBe(SECRETS);
    expect(log.length - SECRETS).toBeLessThanOrEqual(10);
    expect(count(log, "GET", WORKER_LIST)).toBe(0);
  });

  it("refresh lists each store once per 100 secrets, and builds the usage index (1 list + 1 read per Worker) once, per engine run", async () => {
    const log = await run("refresh", "2");
    expect(writes(log)).toEqual([]);
    expect(count(log, "GET", /\/secrets$/)).toBeLessThanOrEqual(2);
    expect(count(log, "GET", WORKER_LIST)).toBeLessThanOrEqual(2);
    expect(count(log, "GET", /\/settings$/)).toBeLessThanOrEqual(2 * ACCOUNT_WORKERS);
    const outputs = (await stack.resource("StoreSecret", "secret-0"))?.outputs;
    expect(outputs?.boundBy).toEqual([{ scriptName: "bench-worker-0", bindingName: expect.any(String), secretName: outputs?.name }]);
  });

  it("destroy deletes in bulk and unbinds each Worker with one PATCH, keeping its other bindings", async () => {
    const log = await run("destroy", "2");
    const deletes = count(log, "DELETE", /\/secrets\/[0-9a-f]{32}$/) + count(log, "DELETE", /\/secrets$/);
    expect(deletes).toBeLessThan(SECRETS / 4);
    // Right before each delete request, the Workers are read again (another writer may have bound a
    // secret since): one usage index per delete batch, never one per secret.
    expect(count(log, "GET", WORKER_LIST)).toBeGreaterThanOrEqual(1);
    expect(count(log, "GET", WORKER_LIST)).toBeLessThanOrEqual(deletes);
    expect(count(log, "GET", /\/settings$/)).toBeLessThanOrEqual(ACCOUNT_WORKERS * deletes + WORKERS);
    expect(count(log, "PATCH", /\/settings$/)).toBe(WORKERS);
    expect(await stack.secrets()).toEqual([]);
    for (let w = 0; w < WORKERS; w++) expect((await stack.bindings(`bench-worker-${w}`)).map((b) => b.name)).toEqual(["KEEP_ME"]);
  });
});
