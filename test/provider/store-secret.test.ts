import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostCallError } from "../rig/host";
import { leaks, Rig, sha256 } from "../rig";
import { Managed } from "../rig/lifecycle";
import { must } from "../must";

const VALUE_1 = "sk_live_first_0123456789abcdef";
const VALUE_2 = "sk_live_second_fedcba9876543210";

describe("StoreSecret through the real dynamic provider host", () => {
  let rig: Rig;
  let storeId: string;

  beforeAll(async () => {
    rig = await Rig.start({ emulator: { seed: { stores: [{ name: "default_secrets_store" }] }, quota: 25 } });
    storeId = must((await rig.api<Array<{ id: string }>>("GET", "/secrets_store/stores"))[0], "a store").id;
  });
  afterAll(async () => {
    // Nothing any response or log line carried may contain a secret value or the token.
    const transcript = rig.transcript();
    expect(leaks(transcript, [VALUE_1, VALUE_2, rig.emulator.token])).toEqual([]);
    await rig.close();
  });

  const secretArgs = (over: Record<string, unknown> = {}) => ({
    storeId,
    name: "stripe_api_key",
    value: VALUE_1,
    scopes: ["workers"],
    comment: "Stripe live key",
    ...over,
  });

  it("creates, then a second up with the same inputs is a no-op with no write", async () => {
    const s = new Managed(rig, "StoreSecret", "stripe");
    expect(await s.up(secretArgs())).toBe("create");
    expect(s.id).toMatch(/^[0-9a-f]{32}$/);
    // The status is reported as Cloudflare answered the create (a new secret comes back `pending`); refresh updates it.
    expect(s.outputs).toMatchObject({ name: "stripe_api_key", storeId, scopes: ["workers"], comment: "Stripe live key", status: "pending" });
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_1));
    // The state keeps a salted fingerprint under the input `value`, never the value; the output says only "written".
    expect(String(s.inputs.value)).toMatch(/^scrypt2:[0-9a-f]{64}$/);
    expect(s.outputs.value).toBe("written");
    expect(JSON.stringify(s.inputs) + JSON.stringify(s.outputs)).not.toContain(VALUE_1);

    const before = (await rig.requests()).length;
    expect(await s.up(secretArgs({ scopes: ["workers"] }))).toBe("same");
    expect(await rig.writesSince(before)).toEqual([]);
  });

  it("a changed value is one PATCH and moves valueVersion; scope order never diffs", async () => {
    const s = new Managed(rig, "StoreSecret", "rotating");
    await s.up(secretArgs({ name: "rotating", scopes: ["workers", "ai_gateway"] }));
    expect(s.outputs.scopes).toEqual(["ai_gateway", "workers"]);
    expect(s.inputs.valueVersion).toBe(1);

    expect((await s.preview(secretArgs({ name: "rotating", scopes: ["ai-gateway", "workers"] }))).diff?.changes).toBe("none");

    const before = (await rig.requests()).length;
    expect(await s.up(secretArgs({ name: "rotating", value: VALUE_2, scopes: ["ai_gateway", "workers"] }))).toBe("update");
    const writes = await rig.writesSince(before);
    expect(writes.map((w) => w.method)).toEqual(["PATCH"]);
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_2));
    expect(s.inputs.valueVersion).toBe(2);
  });

  it("a scope or comment change patches in place", async () => {
    const s = new Managed(rig, "StoreSecret", "scoped");
    await s.up(secretArgs({ name: "scoped" }));
    const id = s.id;
    expect(await s.up(secretArgs({ name: "scoped", scopes: ["workers", "access"], comment: "new comment" }))).toBe("update");
    expect(s.id).toBe(id);
    const live = await rig.api("GET", `/secrets_store/stores/${storeId}/secrets/${id}`);
    expect(live).toMatchObject({ scopes: ["access", "workers"], comment: "new comment" });
    expect(await rig.secretSha256(id)).toBe(sha256(VALUE_1));
  });

  it("a rename replaces: the new secret is created with the value, then the old one deleted", async () => {
    const s = new Managed(rig, "StoreSecret", "renamed");
    await s.up(secretArgs({ name: "old_name" }));
    const oldId = s.id;
    const preview = await s.preview(secretArgs({ name: "new_name" }));
    expect(preview.diff).toMatchObject({ changes: "some", replaces: ["name"], deleteBeforeReplace: false });
    expect(await s.up(secretArgs({ name: "new_name" }))).toBe("replace");
    expect(s.id).not.toBe(oldId);
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_1));
    const names = (await rig.api<Array<{ name: string }>>("GET", `/secrets_store/stores/${storeId}/secrets`)).map((x) => x.name);
    expect(names).toContain("new_name");
    expect(names).not.toContain("old_name");
  });

  it("refresh notices an outside value change, and the next up writes the value from code again", async () => {
    const s = new Managed(rig, "StoreSecret", "drift");
    await s.up(secretArgs({ name: "drifting" }));
    await new Promise((r) => setTimeout(r, 20));
    await rig.api("PATCH", `/secrets_store/stores/${storeId}/secrets/${s.id}`, { value: "changed-in-dashboard" });
    expect(await s.refresh()).toBe(true);
    expect(String(s.outputs.drift)).toContain("modified outside Pulumi");
    expect(await s.up(secretArgs({ name: "drifting" }))).toBe("update");
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_1));
    expect(s.outputs.drift).toBeUndefined();
  });

  it("refresh drops a secret deleted outside Pulumi; the next up creates it again", async () => {
    const s = new Managed(rig, "StoreSecret", "vanishing");
    await s.up(secretArgs({ name: "vanishing" }));
    await rig.api("DELETE", `/secrets_store/stores/${storeId}/secrets/${s.id}`);
    expect(await s.refresh()).toBe(false);
    expect(await s.up(secretArgs({ name: "vanishing" }))).toBe("create");
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_1));
  });

  it("a name taken by a secret this resource does not own fails at preview; adopt takes it over", async () => {
    const [existing] = await rig.api<Array<{ id: string }>>("POST", `/secrets_store/stores/${storeId}/secrets`, [
      { name: "taken", value: "made-elsewhere", scopes: ["dex"] },
    ]);
    const s = new Managed(rig, "StoreSecret", "taken");
    const before = (await rig.requests()).length;
    const { failures } = await s.check(secretArgs({ name: "taken" }));
    expect(failures).toHaveLength(1);
    const failure = must(failures[0], "a failure");
    expect(failure.property).toBe("name");
    expect(failure.reason).toContain(must(existing, "the existing secret").id);
    expect(failure.reason).toContain("adopt: true");
    expect(await rig.writesSince(before)).toEqual([]);

    expect(await s.up(secretArgs({ name: "taken", adopt: true }))).toBe("create");
    expect(s.id).toBe(must(existing, "the existing secret").id);
    expect(s.outputs.scopes).toEqual(["workers"]);
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_1));
  });

  it("refresh after outside scope and comment edits; the next up restores them and the value", async () => {
    const s = new Managed(rig, "StoreSecret", "edited");
    await s.up(secretArgs({ name: "edited_outside" }));
    await new Promise((r) => setTimeout(r, 20));
    await rig.api("PATCH", `/secrets_store/stores/${storeId}/secrets/${s.id}`, { scopes: ["dex"], comment: "edited in the dashboard" });
    await s.refresh();
    expect(s.outputs).toMatchObject({ scopes: ["dex"], comment: "edited in the dashboard" });
    expect(await s.up(secretArgs({ name: "edited_outside" }))).toBe("update");
    expect(await rig.api("GET", `/secrets_store/stores/${storeId}/secrets/${s.id}`)).toMatchObject({ scopes: ["workers"], comment: "Stripe live key" });
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_1));
  });

  it("a create that fails after Cloudflare made the secret reports its id, and the next up completes it", async () => {
    const s = new Managed(rig, "StoreSecret", "half-created");
    const { inputs } = await s.check(secretArgs({ name: "half_created", rotation: { keepPrevious: true } }));
    // The secret is created; making its previous-value copy fails (the client's one re-send too).
    await rig.hook("POST", "/__emulator/faults", { method: "POST", path: "/duplicate$", mode: "error-before", times: 2 });
    const err = (await rig.host.create(s.urn, inputs).catch((e: unknown) => e)) as HostCallError;
    expect(err).toBeInstanceOf(HostCallError);
    expect(err.initFailed?.id).toMatch(/^[0-9a-f]{32}$/);
    expect(err.initFailed?.properties.__provider).toBe(rig.providers.StoreSecret);
    const initFailed = must(err.initFailed, "the failed create's initFailed");
    expect(await rig.secretSha256(initFailed.id)).toBe(sha256(VALUE_1));
    // The engine keeps it in the state and updates it on the next up: no second secret.
    const updated = await rig.host.update(initFailed.id, s.urn, initFailed.properties, inputs);
    expect(updated.properties.previousId).toMatch(/^[0-9a-f]{32}$/);
    const names = (await rig.api<Array<{ name: string }>>("GET", `/secrets_store/stores/${storeId}/secrets?search=half_created`)).map((x) => x.name).sort();
    expect(names).toEqual(["half_created", "half_created_previous_v1"]);
  });

  it("a previous-copy name taken by a secret that is not a copy fails at preview", async () => {
    await rig.api("POST", `/secrets_store/stores/${storeId}/secrets`, [{ name: "billing_key_previous_v1", value: "unrelated", scopes: ["workers"] }]);
    const s = new Managed(rig, "StoreSecret", "billing");
    const { failures } = await s.check(secretArgs({ name: "billing_key", rotation: { keepPrevious: true } }));
    expect(failures).toEqual([
      { property: "rotation", reason: expect.stringMatching(/"billing_key_previous_v1" is taken by another secret.*rotation.previousName/) },
    ]);
  });

  it("giving an adopted secret a value moves valueVersion and writes the value", async () => {
    await rig.api("POST", `/secrets_store/stores/${storeId}/secrets`, [{ name: "adopted_later", value: "from-dashboard", scopes: ["workers"] }]);
    const s = new Managed(rig, "StoreSecret", "adopted-later");
    await s.up({ storeId, name: "adopted_later", adopt: true, scopes: ["workers"] });
    expect(s.inputs.valueVersion).toBe(1);
    expect(await s.up(secretArgs({ name: "adopted_later", adopt: true }))).toBe("update");
    expect(s.inputs.valueVersion).toBe(2);
    expect(await rig.secretSha256(s.id)).toBe(sha256(VALUE_1));
  });

  it("bad names, sizes and scopes fail at preview naming the property, the rule and the fix, with no request", async () => {
    const s = new Managed(rig, "StoreSecret", "invalid");
    const before = (await rig.requests()).length;
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ name: "has space" }, "name", /letters, digits, `_` and `-`/],
      [{ value: "x".repeat(1025) }, "value", /1025 bytes.*1024.*allowLargeValue: true/],
      [{ value: "€".repeat(400) }, "value", /1200 bytes/],
      [{ value: "x".repeat(65537), allowLargeValue: true }, "value", /at most 65536/],
      [{ scopes: [] }, "scopes", /at least one scope/],
      [{ scopes: ["workers", "kv"] }, "scopes", /unknown scope "kv".*workers, ai_gateway/],
      [{ value: undefined }, "value", /`value` is required/],
    ];
    for (const [over, property, reason] of cases) {
      const { failures } = await s.check(secretArgs(over));
      expect(failures.map((f) => f.property)).toEqual([property]);
      expect(failures[0]?.reason).toMatch(reason);
    }
    expect((await s.check(secretArgs({ name: "large_value", value: "x".repeat(2000), allowLargeValue: true }))).failures).toEqual([]);
    expect(await rig.writesSince(before)).toEqual([]);
  });

  it("create without the plaintext in this process's memory fails clearly and writes nothing", async () => {
    const s = new Managed(rig, "StoreSecret", "amnesia");
    const { inputs } = await s.check(secretArgs({ name: "amnesia" }));
    await rig.restartHost();
    const before = (await rig.requests()).length;
    const err = await rig.host.create(s.urn, inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostCallError);
    expect((err as Error).message).toContain("not in this provider process's memory");
    expect(await rig.writesSince(before)).toEqual([]);
  });

  it("the quota check counts every secret this deployment creates and fails before any write", async () => {
    await rig.restartHost();
    const quota = await rig.api<{ secrets: { quota: number; usage: number } }>("GET", "/secrets_store/quota");
    const free = quota.secrets.quota - quota.secrets.usage;
    const before = (await rig.requests()).length;
    const results = [];
    for (let i = 0; i <= free; i++) {
      results.push(await new Managed(rig, "StoreSecret", `bulk${i}`).check(secretArgs({ name: `bulk_${i}` })));
    }
    expect(results.slice(0, free).every((r) => r.failures.length === 0)).toBe(true);
    const last = must(results[free]?.failures[0], `the failure of check ${free}`);
    expect(last.reason).toContain(`quota ${quota.secrets.quota}, in use ${quota.secrets.usage}, this deployment creates ${free + 1}`);
    expect(last.reason).toContain(`bulk_${free}`);
    expect(await rig.writesSince(before)).toEqual([]);
    await rig.restartHost();
  });

  it("a missing token or account id fails the preview naming both ways to set it", async () => {
    await rig.restartHost({ "cloudflare-secrets-store:apiBaseUrl": rig.emulator.url });
    const s = new Managed(rig, "StoreSecret", "unconfigured");
    const { failures } = await s.check(secretArgs({ name: "unconfigured" }));
    expect(failures[0]?.reason).toContain("cloudflare:apiToken");
    expect(failures[0]?.reason).toContain("CLOUDFLARE_API_TOKEN");
    await rig.restartHost({ "cloudflare:apiToken": rig.emulator.token, "cloudflare-secrets-store:apiBaseUrl": rig.emulator.url });
    const second = await s.check(secretArgs({ name: "unconfigured" }));
    expect(second.failures[0]).toMatchObject({ property: "accountId" });
    expect(second.failures[0]?.reason).toContain("cloudflare-secrets-store:accountId");
    expect(second.failures[0]?.reason).toContain("CLOUDFLARE_ACCOUNT_ID");
    await rig.restartHost();
  });

  it("delete removes the secret; a secret already gone counts as deleted", async () => {
    const s = new Managed(rig, "StoreSecret", "deleted");
    await s.up(secretArgs({ name: "deleted" }));
    const id = s.id;
    const outputs = s.outputs;
    await s.destroy();
    await expect(rig.api("GET", `/secrets_store/stores/${storeId}/secrets/${id}`)).rejects.toThrow(/404/);
    await rig.host.delete(id, s.urn, outputs);
  });

  it("the serialized provider is a small shim holding no token, account id, URL or value", () => {
    for (const text of Object.values(rig.providers)) {
      expect(text.length).toBeLessThan(4096);
      expect(text).toContain('require("pulumi-cloudflare-secrets-store/runtime")');
      expect(leaks(text, [rig.emulator.token, rig.emulator.accountId, rig.emulator.url, VALUE_1])).toEqual([]);
    }
    const installed = path.join(rig.programDir, "node_modules/pulumi-cloudflare-secrets-store/package.json");
    expect(JSON.parse(fs.readFileSync(installed, "utf8")).name).toBe("pulumi-cloudflare-secrets-store");
  });
});
