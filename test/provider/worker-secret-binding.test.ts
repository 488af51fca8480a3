import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaks, Rig, sha256 } from "../rig";
import { Managed } from "../rig/lifecycle";

const STRIPE = "sk_live_binding_test_value";
const STRIPE_NEW = "sk_live_binding_other_value";
const LEGACY = "legacy-secret-text-value";
const WORKER = "api-worker";

/** Bindings other than `except`, as comparable JSON. */
const others = (bindings: Array<Record<string, unknown>>, except: string) =>
  bindings
    .filter((b) => b.name !== except)
    .map((b) => JSON.stringify(b))
    .sort();

describe("WorkerSecretBinding through the real dynamic provider host", () => {
  let rig: Rig;
  let storeId: string;
  const binding = (name: string) => new Managed(rig, "WorkerSecretBinding", name);

  beforeAll(async () => {
    storeId = "5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60";
    // Seeded secrets are active at once; one made through the API is pending for a while, and a
    // Worker deploy that binds it would be refused (that is tested in test/cli/pending.test.ts).
    rig = await Rig.start({
      emulator: {
        tokens: [
          { token: "edit-token-binding-tests-000000000000000", permission: "edit" },
          { token: "read-token-binding-tests-000000000000000", permission: "read" },
        ],
        seed: {
          stores: [{ name: "default_secrets_store", id: storeId }],
          secrets: [
            { store: "default_secrets_store", name: "stripe_api_key", value: STRIPE, scopes: ["workers"] },
            { store: "default_secrets_store", name: "stripe_api_key_v2", value: STRIPE_NEW, scopes: ["workers"] },
            { store: "default_secrets_store", name: "legacy_key", value: "legacy-store-value", scopes: ["workers"] },
            { store: "default_secrets_store", name: "gateway_only", value: "gw", scopes: ["ai_gateway"] },
          ],
          // A Worker whose deploy was interrupted before any upload: Cloudflare answers 404 10222, "has no versions".
          workers: [{ name: "half-deployed", noVersions: true }],
        },
      },
    });
    await rig.deployWorker(WORKER, [
      { type: "plain_text", name: "GREETING", text: "hello" },
      { type: "secret_text", name: "LEGACY_TOKEN", text: LEGACY },
      { type: "kv_namespace", name: "CACHE", namespace_id: "0f2ac74b498b48028cb68387c421e279" },
      { type: "secrets_store_secret", name: "LEGACY_KEY", store_id: storeId, secret_name: "legacy_key" },
    ]);
  });
  afterAll(async () => {
    const transcript = rig.transcript();
    expect(leaks(transcript, [STRIPE, STRIPE_NEW, LEGACY, rig.emulator.token])).toEqual([]);
    await rig.close();
  });

  it("adds, swaps and removes one binding; every other binding and the secret_text value survive", async () => {
    const before = await rig.workerBindings(WORKER);
    const legacySha = await rig.bindingSha256(WORKER, "LEGACY_TOKEN");
    expect(legacySha).toBe(sha256(LEGACY));

    const b = binding("api-stripe");
    const args = { scriptName: WORKER, bindingName: "STRIPE_KEY", storeId, secretName: "stripe_api_key" };
    expect(await b.up(args)).toBe("create");
    expect(b.outputs.wranglerConfig).toEqual({ binding: "STRIPE_KEY", store_id: storeId, secret_name: "stripe_api_key" });
    expect(b.outputs.workersScriptBinding).toEqual({ type: "secrets_store_secret", name: "STRIPE_KEY", storeId, secretName: "stripe_api_key" });
    expect(await rig.bindingSha256(WORKER, "STRIPE_KEY")).toBe(sha256(STRIPE));
    expect(others(await rig.workerBindings(WORKER), "STRIPE_KEY")).toEqual(others(before, "STRIPE_KEY"));
    expect(await rig.bindingSha256(WORKER, "LEGACY_TOKEN")).toBe(legacySha);

    const mark = (await rig.requests()).length;
    expect(await b.up({ ...args, secretName: "stripe_api_key_v2" })).toBe("update");
    expect((await rig.writesSince(mark)).map((w) => w.method)).toEqual(["PATCH"]);
    expect(await rig.bindingSha256(WORKER, "STRIPE_KEY")).toBe(sha256(STRIPE_NEW));
    expect(others(await rig.workerBindings(WORKER), "STRIPE_KEY")).toEqual(others(before, "STRIPE_KEY"));
    expect(await rig.bindingSha256(WORKER, "LEGACY_TOKEN")).toBe(legacySha);

    await b.destroy();
    expect((await rig.workerBindings(WORKER)).map((x) => JSON.stringify(x)).sort()).toEqual(others(before, ""));
    expect(await rig.bindingSha256(WORKER, "LEGACY_TOKEN")).toBe(legacySha);
    expect(await rig.bindingSha256(WORKER, "LEGACY_KEY")).toBe(sha256("legacy-store-value"));
  });

  it("ten bindings created concurrently on one Worker all land, nothing else lost", async () => {
    const before = await rig.workerBindings(WORKER);
    const ten = Array.from({ length: 10 }, (_, i) => binding(`parallel-${i}`));
    const steps = await Promise.all(ten.map((b, i) => b.up({ scriptName: WORKER, bindingName: `KEY_${i}`, storeId, secretName: "stripe_api_key" })));
    expect(steps).toEqual(Array(10).fill("create"));
    const after = await rig.workerBindings(WORKER);
    expect(
      after
        .filter((x) => String(x.name).startsWith("KEY_"))
        .map((x) => x.name)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `KEY_${i}`).sort());
    expect(
      after
        .filter((x) => !String(x.name).startsWith("KEY_"))
        .map((x) => JSON.stringify(x))
        .sort(),
    ).toEqual(before.map((x) => JSON.stringify(x)).sort());
    await Promise.all(ten.map((b) => b.destroy()));
    expect((await rig.workerBindings(WORKER)).map((x) => JSON.stringify(x)).sort()).toEqual(before.map((x) => JSON.stringify(x)).sort());
  });

  it("preview catches every mistake with a fix, and writes nothing", async () => {
    const b = binding("bad");
    const ok = { scriptName: WORKER, bindingName: "STRIPE_KEY", storeId, secretName: "stripe_api_key" };
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ bindingName: "stripe-key" }, "bindingName", /not a JavaScript identifier.*for example "STRIPE_KEY"/],
      [{ bindingName: "1KEY" }, "bindingName", /not a JavaScript identifier/],
      [{ scriptName: "no-such-worker" }, "scriptName", /Worker "no-such-worker" does not exist.*Deploy it first/],
      [{ scriptName: "half-deployed" }, "scriptName", /Worker "half-deployed" does not exist.*Deploy it first/],
      [{ bindingName: "GREETING" }, "bindingName", /already has a binding named "GREETING" \(plain_text\).*another `bindingName`/],
      [{ secretName: "missing_secret" }, "secretName", /does not exist in store.*no StoreSecret in this deployment creates it/],
      [{ secretName: "gateway_only" }, "secretName", /`workers` scope.*\[ai_gateway\].*Add "workers"/],
    ];
    const mark = (await rig.requests()).length;
    for (const [over, property, reason] of cases) {
      const { failures } = await b.check({ ...ok, ...over });
      expect(failures.map((f) => f.property)).toEqual([property]);
      expect(failures[0]?.reason).toMatch(reason);
    }
    expect(await rig.writesSince(mark)).toEqual([]);
  });

  it("adopts an identical existing binding instead of failing", async () => {
    const b = binding("adopted-legacy");
    const args = { scriptName: WORKER, bindingName: "LEGACY_KEY", storeId, secretName: "legacy_key" };
    expect((await b.check(args)).failures).toEqual([]);
    expect(await b.up(args)).toBe("create");
    expect(await rig.bindingSha256(WORKER, "LEGACY_KEY")).toBe(sha256("legacy-store-value"));
  });

  it("refresh sees a binding a wrangler deploy dropped, and the next up puts it back", async () => {
    await rig.deployWorker("wrangler-managed", [{ type: "plain_text", name: "MODE", text: "prod" }]);
    const b = binding("wrangler-stripe");
    const args = { scriptName: "wrangler-managed", bindingName: "STRIPE_KEY", storeId, secretName: "stripe_api_key" };
    await b.up(args);
    // wrangler deploy replaces the binding list with what its own config declares.
    await rig.deployWorker("wrangler-managed", [{ type: "plain_text", name: "MODE", text: "prod" }]);
    expect(await b.refresh()).toBe(false);
    expect(await b.up(args)).toBe("create");
    expect(await rig.bindingSha256("wrangler-managed", "STRIPE_KEY")).toBe(sha256(STRIPE));

    // Someone points it elsewhere: refresh records it, up swaps it back in one PATCH.
    await rig.deployWorker("wrangler-managed", [
      { type: "plain_text", name: "MODE", text: "prod" },
      { type: "secrets_store_secret", name: "STRIPE_KEY", store_id: storeId, secret_name: "stripe_api_key_v2" },
    ]);
    expect(await b.refresh()).toBe(true);
    expect(b.outputs.secretName).toBe("stripe_api_key_v2");
    expect(await b.up(args)).toBe("update");
    expect(await rig.bindingSha256("wrangler-managed", "STRIPE_KEY")).toBe(sha256(STRIPE));
  });

  it("deleting a binding whose Worker is gone succeeds", async () => {
    await rig.deployWorker("short-lived", []);
    const b = binding("short");
    await b.up({ scriptName: "short-lived", bindingName: "STRIPE_KEY", storeId, secretName: "stripe_api_key" });
    await rig.api("DELETE", "/workers/scripts/short-lived");
    await b.destroy();
  });

  it("a read-only token fails with the permission it needs, and nothing is half-applied", async () => {
    await rig.restartHost({
      "cloudflare:apiToken": "read-token-binding-tests-000000000000000",
      "cloudflare-secrets-store:accountId": rig.emulator.accountId,
      "cloudflare-secrets-store:apiBaseUrl": rig.emulator.url,
    });
    const before = await rig.workerBindings(WORKER);
    const b = binding("read-only");
    const err = await b.up({ scriptName: WORKER, bindingName: "RO_KEY", storeId, secretName: "stripe_api_key" }).catch((e: Error) => e);
    expect(String(err)).toMatch(/403/);
    expect(String(err)).toContain("Account Secrets Store Edit");
    expect(await rig.workerBindings(WORKER)).toEqual(before);
    await rig.restartHost();
  });
});
