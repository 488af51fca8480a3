/**
 * WorkerSecretBinding's (and WorkerSecretBindings') runtime in process: a binding merges into a
 * Worker's existing bindings and its removal takes only itself; a binding its secret's scopes
 * would make Cloudflare refuse fails the preview; a write waits for a pending secret.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { STORE_ID, UnitRig } from "./harness";

const sha256 = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");
const STRIPE = "sk_live_unit_binding_value";
const LEGACY = "legacy-secret-text-value";
const WORKER = "api-worker";

/** A store with an active `workers` secret and an `ai_gateway`-only one; a Worker with bindings of four kinds. */
async function start(options: { pendingMs?: number } = {}): Promise<UnitRig> {
  const started = await UnitRig.start({
    emulator: {
      pendingMs: options.pendingMs ?? 0,
      seed: {
        stores: [{ name: "default_secrets_store", id: STORE_ID }],
        secrets: [
          { store: "default_secrets_store", name: "stripe_api_key", value: STRIPE, scopes: ["workers"] },
          { store: "default_secrets_store", name: "legacy_key", value: "legacy-store-value", scopes: ["workers"] },
          { store: "default_secrets_store", name: "gateway_only", value: "gw", scopes: ["ai_gateway"] },
        ],
      },
    },
  });
  await started.deployWorker(WORKER, [
    { type: "plain_text", name: "GREETING", text: "hello" },
    { type: "secret_text", name: "LEGACY_TOKEN", text: LEGACY },
    { type: "kv_namespace", name: "CACHE", namespace_id: "0f2ac74b498b48028cb68387c421e279" },
    { type: "secrets_store_secret", name: "LEGACY_KEY", store_id: STORE_ID, secret_name: "legacy_key" },
  ]);
  return started;
}

/** Bindings other than `except`, as comparable JSON. */
const others = (bindings: Array<Record<string, unknown>>, ...except: string[]) =>
  bindings
    .filter((b) => !except.includes(String(b.name)))
    .map((b) => JSON.stringify(b))
    .sort();

let rig: UnitRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const bindingArgs = (over: Record<string, unknown> = {}) => ({
  scriptName: WORKER,
  bindingName: "STRIPE_KEY",
  storeId: STORE_ID,
  secretName: "stripe_api_key",
  ...over,
});

describe("WorkerSecretBinding", () => {
  it("create merges into the Worker's bindings: every other binding, and the secret_text value, survive", async () => {
    rig = await start();
    const before = await rig.workerBindings(WORKER);
    const binding = rig.resource("WorkerSecretBinding", "stripe");
    expect(await binding.up(bindingArgs())).toBe("create");

    expect(binding.id).toBe(`${rig.emulator.accountId}/${WORKER}/STRIPE_KEY`);
    expect(binding.outputs.wranglerConfig).toEqual({ binding: "STRIPE_KEY", store_id: STORE_ID, secret_name: "stripe_api_key" });
    const after = await rig.workerBindings(WORKER);
    expect(after.find((b) => b.name === "STRIPE_KEY")).toEqual({
      type: "secrets_store_secret",
      name: "STRIPE_KEY",
      store_id: STORE_ID,
      secret_name: "stripe_api_key",
    });
    expect(others(after, "STRIPE_KEY")).toEqual(others(before));
    expect(await rig.bindingSha256(WORKER, "STRIPE_KEY")).toBe(sha256(STRIPE));
    expect(await rig.bindingSha256(WORKER, "LEGACY_TOKEN")).toBe(sha256(LEGACY));

    // A later deployment with the same program changes nothing; a refresh reads it back.
    await rig.restart();
    expect(await binding.up(bindingArgs())).toBe("same");
    const outputs = binding.outputs;
    expect(await binding.refresh()).toBe(true);
    expect(binding.outputs).toEqual(outputs);
  });

  it("destroy removes only its own binding", async () => {
    rig = await start();
    const binding = rig.resource("WorkerSecretBinding", "stripe");
    await binding.up(bindingArgs());
    const withIt = await rig.workerBindings(WORKER);

    await rig.restart();
    await binding.destroy();
    const after = await rig.workerBindings(WORKER);
    expect(after.map((b) => b.name)).not.toContain("STRIPE_KEY");
    expect(others(after)).toEqual(others(withIt, "STRIPE_KEY"));
    expect(await rig.bindingSha256(WORKER, "LEGACY_TOKEN")).toBe(sha256(LEGACY));
  });

  it("a binding to a secret without the `workers` scope fails the preview, naming secretName, the scopes and the fix", async () => {
    rig = await start();
    const { failures } = await rig.resource("WorkerSecretBinding", "gw").check(bindingArgs({ bindingName: "GW", secretName: "gateway_only" }));
    expect(failures).toEqual([
      {
        property: "secretName",
        reason: expect.stringMatching(
          /^Binding "GW" on Worker "api-worker" needs secret "gateway_only" to have the `workers` scope, but its scopes are \[ai_gateway\]/,
        ),
      },
    ]);
    expect(failures[0]?.reason).toMatch(/Add "workers" to the secret's `scopes`\.$/);

    // The same when the scopes come from a StoreSecret of this deployment, checked first (it names that resource).
    await rig.restart();
    const secret = await rig.resource("StoreSecret", "token").check({ storeId: STORE_ID, name: "ai_token", value: "v", scopes: ["ai_gateway"] });
    expect(secret.failures).toEqual([]);
    const planned = await rig.resource("WorkerSecretBinding", "token").check(bindingArgs({ bindingName: "AI", secretName: "ai_token" }));
    expect(planned.failures.map((f) => f.property)).toEqual(["secretName"]);
    expect(planned.failures[0]?.reason).toMatch(/its scopes are \[ai_gateway\] \(set by StoreSecret "ai_token" in this deployment\)/);
    expect(await rig.workerBindings(WORKER)).toHaveLength(4);
  });

  it("a Worker that does not exist, a name another kind of binding holds, and a secret that does not exist fail the preview", async () => {
    const started = await start();
    rig = started;
    const check = (over: Record<string, unknown>) => started.resource("WorkerSecretBinding", "b").check(bindingArgs(over));

    const noWorker = (await check({ scriptName: "no-such-worker" })).failures;
    expect(noWorker.map((f) => f.property)).toEqual(["scriptName"]);
    expect(noWorker[0]?.reason).toMatch(/Worker "no-such-worker" does not exist in account [0-9a-f]{32}\. Deploy it first/);

    const taken = (await check({ bindingName: "GREETING" })).failures;
    expect(taken.map((f) => f.property)).toEqual(["bindingName"]);
    expect(taken[0]?.reason).toMatch(/already has a binding named "GREETING" \(plain_text\) that this resource does not manage\. Choose another `bindingName`/);

    const noSecret = (await check({ secretName: "no_such_secret" })).failures;
    expect(noSecret.map((f) => f.property)).toEqual(["secretName"]);
    expect(noSecret[0]?.reason).toMatch(/Secret "no_such_secret" does not exist in store [0-9a-f]{32}, and no StoreSecret in this deployment creates it/);
  });

  it("a secret created in the same deployment is bound once it is active (a short pending window)", async () => {
    rig = await start({ pendingMs: 300 });
    const secret = rig.resource("StoreSecret", "fresh");
    await secret.up({ storeId: STORE_ID, name: "fresh_key", value: "fresh-value", scopes: ["workers"] });
    expect(secret.outputs.status).toBe("pending");

    const binding = rig.resource("WorkerSecretBinding", "fresh");
    expect(await binding.up(bindingArgs({ bindingName: "FRESH", secretName: "fresh_key" }))).toBe("create");
    expect(await rig.bindingSha256(WORKER, "FRESH")).toBe(sha256("fresh-value"));
  });
});

describe("WorkerSecretBindings", () => {
  it("sets several bindings in one write and keeps the Worker's others; destroy removes only its own", async () => {
    rig = await start();
    const before = await rig.workerBindings(WORKER);
    const bindings = rig.resource("WorkerSecretBindings", "all");
    const args = { scriptName: WORKER, storeId: STORE_ID, bindings: { STRIPE_KEY: "stripe_api_key", STRIPE_KEY_2: "stripe_api_key" } };
    expect(await bindings.up(args)).toBe("create");

    const after = await rig.workerBindings(WORKER);
    expect(others(after, "STRIPE_KEY", "STRIPE_KEY_2")).toEqual(others(before));
    expect(await rig.bindingSha256(WORKER, "STRIPE_KEY")).toBe(sha256(STRIPE));
    expect(await rig.bindingSha256(WORKER, "STRIPE_KEY_2")).toBe(sha256(STRIPE));

    await rig.restart();
    await bindings.destroy();
    expect(others(await rig.workerBindings(WORKER))).toEqual(others(before));
  });
});

describe("the harness", () => {
  it("restart is a new provider process: the runtime's modules are evaluated again", async () => {
    rig = await start();
    const first = rig.runtime;
    await rig.restart();
    expect(rig.runtime).not.toBe(first);
    expect(rig.runtime.providers).not.toBe(first.providers);
  });
});
