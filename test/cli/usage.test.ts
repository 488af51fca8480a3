/**
 * Knowing where each secret is used, and never breaking a Worker, through the real `pulumi` CLI:
 * Workers deployed by real `wrangler deploy` (not by the program) bind the program's secret, and
 * every change that would leave one of them without it is refused, naming it, with no DELETE.
 * Steps share one stack and run in order.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaks, sha256 } from "../rig/bytes";
import { deployWorker, type StoreSecretEntry } from "../rig/wrangler";
import { changes, CliStack, errors } from "./stack";

const STORE = "5".repeat(32);
const [V1, V2, V3] = ["billing-value-one-1111", "billing-value-two-2222", "billing-value-three-3333"];
const PROGRAM = path.join(__dirname, "programs", "usage");
const isSecretDelete = (r: { method: string; path: string }) => r.method === "DELETE" && r.path.includes("/secrets");

describe("usage index and safety rails, with Workers deployed by wrangler", () => {
  let stack: CliStack;
  let home: string;
  // A deploy script run right after `pulumi up` waits for the secrets it binds to be active, as wrangler users must.
  const deploy = async (name: string, secrets: StoreSecretEntry[]) => {
    await stack.settled();
    return deployWorker(stack.emu, home, path.join(home, name), name, secrets);
  };
  const binding = (binding: string, secretName: string): StoreSecretEntry => ({ binding, store_id: STORE, secret_name: secretName });
  const names = async () => (await stack.secrets()).map((s) => s.name).sort();
  const resolves = (script: string, name: string) => stack.bindingSha256(script, name);
  const up = async (config: Record<string, string> = {}) => {
    await stack.configure(config);
    const result = await stack.requestsDuring(() => stack.up());
    expect(leaks(result.result.stdout + result.result.stderr, [V1, V2, V3, stack.emu.token])).toEqual([]);
    return result;
  };

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "usage-wrangler-"));
    stack = await CliStack.start(PROGRAM, { stores: [{ name: "default_secrets_store", id: STORE }] }, { secrets: { billingValue: V1 } });
    // The Worker this program binds into is deployed by wrangler from its own repository.
    await deploy("api-worker", []);
  });
  afterAll(async () => {
    const values = [V1, V2, V3, stack.emu.token];
    // Only the default provider's config holds them (encrypted); no resource of ours does.
    const ours = ((await stack.export(true)).deployment.resources ?? []).filter((r) => !r.type.startsWith("pulumi:providers:"));
    expect(leaks(JSON.stringify(ours), values)).toEqual([]);
    expect(leaks(stack.pulumi.storedText(), values)).toEqual([]);
    await stack.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  let noOpRequests: string[] = [];
  const requestLines = (requests: Array<{ method: string; path: string }>) =>
    requests.map((r) => `${r.method} ${r.path.replace(/^.*\/accounts\/[0-9a-f]+/, "")}`).sort();

  it("up binds the secret into the wrangler-deployed Worker, keeping its var and KV bindings", async () => {
    const { result } = await up();
    expect(errors(result)).toBe("");
    expect(await resolves("api-worker", "BILLING")).toBe(sha256(V1));
    expect(await resolves("api-worker", "BILLING_PREVIOUS")).toBe(sha256(V1));
    expect((await stack.bindings("api-worker")).map((b) => b.name).sort()).toEqual(["BILLING", "BILLING_PREVIOUS", "CACHE", "GREETING"]);
    const noOp = await up();
    expect(noOp.writes).toEqual([]);
    noOpRequests = requestLines(noOp.requests);
  });

  it("wrangler deploy drops the API-added bindings; refresh sees it and up restores them", async () => {
    await deploy("api-worker", []);
    expect(await resolves("api-worker", "BILLING")).toBeUndefined();
    const refresh = await stack.refresh();
    expect(refresh.ok).toBe(true);
    expect(changes(refresh)).toEqual(expect.arrayContaining(["delete api-billing", "delete api-billing-previous"]));
    const { result } = await up();
    expect(changes(result)).toEqual(expect.arrayContaining(["create api-billing", "create api-billing-previous"]));
    expect(await resolves("api-worker", "BILLING")).toBe(sha256(V1));
    expect((await stack.bindings("api-worker")).map((b) => b.name).sort()).toEqual(["BILLING", "BILLING_PREVIOUS", "CACHE", "GREETING"]);
  });

  it("another Worker, deployed by wrangler, binds the secret; a no-op up still makes the same requests and no index", async () => {
    await deploy("shop-worker", [binding("BILLING", "billing_key")]);
    expect(await resolves("shop-worker", "BILLING")).toBe(sha256(V1));
    const { requests, writes } = await up();
    expect(writes).toEqual([]);
    expect(requestLines(requests)).toEqual(noOpRequests);
    expect(requestLines(requests)).not.toContain("GET /workers/scripts");
  });

  it("refresh fills `boundBy` (one list of Workers, one read each); the stack output marks what this program manages", async () => {
    const { result, requests } = await stack.requestsDuring(() => stack.refresh("--skip-preview"));
    expect(result.ok).toBe(true);
    const lines = requestLines(requests);
    expect(lines.filter((l) => l === "GET /workers/scripts")).toHaveLength(1);
    expect(lines.filter((l) => /^GET \/workers\/scripts\/[^/]+\/settings$/.test(l)).sort()).toEqual([
      "GET /workers/scripts/api-worker/settings",
      "GET /workers/scripts/shop-worker/settings",
    ]);
    const state = await stack.resource("StoreSecret", "billing");
    expect(state?.outputs?.boundBy).toEqual([
      { scriptName: "api-worker", bindingName: "BILLING", secretName: "billing_key" },
      { scriptName: "api-worker", bindingName: "BILLING_PREVIOUS", secretName: "billing_key_previous_v1" },
      { scriptName: "shop-worker", bindingName: "BILLING", secretName: "billing_key" },
    ]);
    await up();
    expect((await stack.outputs()).boundBy).toEqual([
      { scriptName: "api-worker", bindingName: "BILLING", secretName: "billing_key", managed: true },
      { scriptName: "api-worker", bindingName: "BILLING_PREVIOUS", secretName: "billing_key_previous_v1", managed: true },
      { scriptName: "shop-worker", bindingName: "BILLING", secretName: "billing_key", managed: false },
    ]);
  });

  it("removing the `workers` scope fails at preview, naming the wrangler-deployed Worker, with no write", async () => {
    await stack.configure({ billingScopes: '["ai_gateway"]' });
    const { result, writes } = await stack.requestsDuring(() => stack.preview());
    await stack.pulumi.removeConfig("billingScopes");
    expect(result.ok).toBe(false);
    expect(errors(result)).toMatch(/Refusing to remove the `workers` scope from secret "billing_key": .*Worker "shop-worker" binds "billing_key" as BILLING/);
    expect(errors(result)).toMatch(/deleteWhenBound: true/);
    expect(writes).toEqual([]);
  });

  it("rotations leave no instant where a binding resolves to nothing (polled every 20 ms)", async () => {
    for (const [value, previous] of [
      [V2, V1],
      [V3, V2],
    ] as const) {
      await stack.configure({}, { billingValue: value });
      const gaps: string[] = [];
      let samples = 0;
      let running = true;
      const poll = (async () => {
        while (running) {
          const seen = await Promise.all([resolves("api-worker", "BILLING"), resolves("api-worker", "BILLING_PREVIOUS"), resolves("shop-worker", "BILLING")]);
          samples += 1;
          seen.forEach((s, i) => s === undefined && gaps.push(`${["BILLING", "BILLING_PREVIOUS", "shop BILLING"][i]} at sample ${samples}`));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const { result } = await stack.requestsDuring(() => stack.up()).finally(() => (running = false));
      await poll;
      expect(result.ok).toBe(true);
      expect(gaps).toEqual([]);
      expect(samples).toBeGreaterThan(20);
      await stack.settled();
      expect(await resolves("api-worker", "BILLING")).toBe(sha256(value));
      expect(await resolves("api-worker", "BILLING_PREVIOUS")).toBe(sha256(previous));
    }
    // The second rotation made a new copy, moved the fallback to it, then deleted the old copy.
    expect((await stack.outputs()).previousName).toBe("billing_key_previous_v2");
    expect(await names()).toEqual(["billing_key", "billing_key_previous_v2"]);
  });

  it("turning keepPrevious off while a wrangler-deployed Worker binds the copy is refused, with no DELETE", async () => {
    await deploy("shop-worker", [binding("BILLING", "billing_key"), binding("BILLING_PREVIOUS", "billing_key_previous_v2")]);
    const { result, requests } = await up({ keepPrevious: "false" });
    expect(result.ok).toBe(false);
    expect(errors(result)).toMatch(
      /Refusing to delete "billing_key_previous_v2", a previous-value copy of secret "billing_key".*Worker "shop-worker" binds "billing_key_previous_v2" as BILLING_PREVIOUS \(not managed by this program\)/,
    );
    expect(requests.filter(isSecretDelete)).toEqual([]);
    expect(await resolves("shop-worker", "BILLING_PREVIOUS")).toBe(sha256(V2));
    // Moving the binding first, as the message says, lets the next up finish.
    await deploy("shop-worker", [binding("BILLING", "billing_key")]);
    const { result: finished } = await up();
    expect(errors(finished)).toBe("");
    expect(await names()).toEqual(["billing_key"]);
  });

  it("a rename is refused at the old secret's delete while a wrangler-deployed Worker binds it; the stack config opt-in deletes it", async () => {
    const { result, requests } = await up({ billingName: "billing_key_v2" });
    expect(result.ok).toBe(false);
    expect(errors(result)).toMatch(
      /Refusing to delete secret "billing_key" .*Worker "shop-worker" binds "billing_key" as BILLING \(not managed by this program\)/,
    );
    expect(requests.filter(isSecretDelete)).toEqual([]);
    // This program's binding moved to the new name; the other Worker still reads the old one.
    expect(await resolves("api-worker", "BILLING")).toBe(sha256(V3));
    expect(await resolves("shop-worker", "BILLING")).toBe(sha256(V3));
    expect(await names()).toEqual(["billing_key", "billing_key_v2"]);

    const accepted = await up({ "cloudflare-secrets-store:deleteWhenBound": "true" });
    await stack.pulumi.removeConfig("cloudflare-secrets-store:deleteWhenBound");
    expect(errors(accepted.result)).toBe("");
    expect(accepted.requests.filter(isSecretDelete)).toHaveLength(1);
    expect(await names()).toEqual(["billing_key_v2"]);
    expect(await resolves("shop-worker", "BILLING")).toBeUndefined();
  });

  it("removing a secret that a wrangler-deployed Worker binds is refused with no DELETE; with deleteWhenBound it is deleted", async () => {
    await deploy("shop-worker", [binding("BILLING", "billing_key_v2")]);
    const { result, requests } = await up({ withBilling: "false" });
    expect(result.ok).toBe(false);
    expect(errors(result)).toMatch(
      /Refusing to delete secret "billing_key_v2" .*Worker "shop-worker" binds "billing_key_v2" as BILLING \(not managed by this program\)/,
    );
    expect(requests.filter(isSecretDelete)).toEqual([]);
    expect(await resolves("shop-worker", "BILLING")).toBe(sha256(V3));
    // This program's own binding went first.
    expect((await stack.bindings("api-worker")).map((b) => b.name).sort()).toEqual(["CACHE", "GREETING"]);

    // The opt-in, recorded by an up while the resource is still in the program, then the removal.
    expect(errors((await up({ withBilling: "true", deleteWhenBound: "true" })).result)).toBe("");
    const removed = await up({ withBilling: "false" });
    expect(errors(removed.result)).toBe("");
    expect(removed.requests.filter(isSecretDelete)).toHaveLength(1);
    expect(await names()).toEqual([]);
  });
});
