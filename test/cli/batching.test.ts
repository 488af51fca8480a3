/**
 * The shape of the README's first example (one `WorkerSecretBinding` per binding) batches like one
 * `WorkerSecretBindings` per Worker: the binding steps of one deployment that target one Worker
 * reach the API as one read and one write (or a few), on `up` and on `destroy`. Counts, not times.
 */
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RequestLogEntry } from "../../tools/emulator-client";
import { REPO_ROOT } from "../../tools/packed-package";
import { CliStack } from "./stack";

const SECRETS = 100;
const WORKERS = 5;
const workerNames = Array.from({ length: WORKERS }, (_, i) => `bench-worker-${i}`);

let stack: CliStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const count = (log: RequestLogEntry[], method: string, pathPattern: RegExp) => log.filter((r) => r.method === method && pathPattern.test(r.path)).length;
const SETTINGS = /\/workers\/scripts\/[^/]+\/settings$/;

describe("per-binding resources batch per Worker", () => {
  it(`${SECRETS} secrets, each with its own WorkerSecretBinding on one of ${WORKERS} Workers: a few settings writes per Worker on up and on destroy`, async () => {
    const started = await CliStack.start(
      path.join(REPO_ROOT, "scripts", "bench-program"),
      {
        stores: [{ name: "default_secrets_store" }],
        workers: workerNames.map((name) => ({ name, bindings: [{ type: "plain_text", name: "MODE", text: "live" }] })),
      },
      { config: { count: String(SECRETS), workers: String(WORKERS), shape: "per-binding", generation: "1" } },
    );
    stack = started;

    // Enough parallel steps that the engine, not its worker pool, sets the pace (at Pulumi's default
    // of 4 per core, each step holds a slot until its write is done, and that bounds any batch).
    const up = await started.requestsDuring(() => started.up("--parallel", "128"));
    expect(up.result.ok, up.result.stderr).toBe(true);
    // Before, batches closed between two engine steps: 43 creates of 1–3 secrets. A batch goes
    // after 5 s, or when the engine's calls pause; on a loaded machine both come sooner (CI saw 6).
    expect(count(up.requests, "POST", /\/secrets$/)).toBeLessThanOrEqual(10);
    expect(count(up.requests, "PATCH", SETTINGS)).toBeLessThanOrEqual(3 * WORKERS);
    for (const name of workerNames) {
      const bindings = await started.bindings(name);
      expect(bindings.filter((b) => b.type === "secrets_store_secret")).toHaveLength(SECRETS / WORKERS);
      expect(bindings.find((b) => b.name === "MODE")).toMatchObject({ type: "plain_text" });
    }

    // Before: 50 settings writes (165 requests in all), one per one to three bindings.
    const destroy = await started.requestsDuring(() => started.destroy("--parallel", "128"));
    expect(destroy.result.ok, destroy.result.stderr).toBe(true);
    expect(count(destroy.requests, "PATCH", SETTINGS)).toBeLessThanOrEqual(3 * WORKERS);
    expect(destroy.requests.length).toBeLessThanOrEqual(6 * WORKERS + 6);
    for (const name of workerNames) expect(await started.bindings(name)).toEqual([{ type: "plain_text", name: "MODE", text: "live" }]);
  });
});
