/**
 * StoreSecret's runtime in process: what `pulumi preview` reports for bad inputs, and what `up`,
 * a value change and `refresh` leave in Cloudflare and in the state.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { CheckFailed, STORE_ID, UnitRig } from "./harness";

const sha256 = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");
const VALUE = "sk_live_unit_value_0001";
const VALUE_2 = "sk_live_unit_value_0002";

let rig: UnitRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const secretArgs = (over: Record<string, unknown> = {}) => ({ storeId: STORE_ID, name: "stripe_api_key", value: VALUE, scopes: ["workers"], ...over });

describe("StoreSecret check: a bad input fails the preview, naming the field, the rule and the fix", () => {
  it("a name with a space and a dot", async () => {
    rig = await UnitRig.start();
    const bad = "stripe key.v1";
    const { failures } = await rig.resource("StoreSecret", "s").check(secretArgs({ name: bad }));
    expect(failures).toHaveLength(1);
    const [f] = failures;
    expect(f?.property).toBe("name");
    // The rule (which characters), where the bad ones are, and what to do; never the name itself.
    expect(f?.reason).toMatch(/may only contain letters, digits, `_` and `-`/);
    expect(f?.reason).toMatch(/a space \(U\+0020\) at position 7, "\." at position 11/);
    expect(f?.reason).toMatch(/Replace those/);
    expect(f?.reason).not.toContain(bad);
  });

  it("an unknown scope, and a scope in the wrong case", async () => {
    rig = await UnitRig.start();
    const { failures } = await rig.resource("StoreSecret", "s").check(secretArgs({ scopes: ["worker", "Workers"] }));
    expect(failures.map((f) => f.property)).toEqual(["scopes", "scopes"]);
    expect(failures[0]?.reason).toMatch(/unknown scope "worker" \(item 1\).*Use any of: workers, ai_gateway/);
    expect(failures[1]?.reason).toMatch(/unknown scope "Workers" \(item 2\)\. Write it exactly "workers"/);
  });

  it("a value over the documented 1,024 bytes, unless allowLargeValue; never over the API's 65,536", async () => {
    rig = await UnitRig.start();
    const secret = rig.resource("StoreSecret", "s");
    const large = "x".repeat(1025);
    const { failures } = await secret.check(secretArgs({ value: large }));
    expect(failures).toHaveLength(1);
    expect(failures[0]?.property).toBe("value");
    expect(failures[0]?.reason).toMatch(/`value` is 1025 bytes in UTF-8; Secrets Store documents a limit of 1024 bytes/);
    expect(failures[0]?.reason).toMatch(/set `allowLargeValue: true`/);
    expect(failures[0]?.reason).not.toContain(large);

    expect((await secret.check(secretArgs({ value: large, allowLargeValue: true }))).failures).toEqual([]);
    const tooLarge = (await secret.check(secretArgs({ value: "x".repeat(65537), allowLargeValue: true }))).failures;
    expect(tooLarge.map((f) => [f.property, f.reason])).toEqual([["value", expect.stringMatching(/the API accepts at most 65536/)]]);
  });

  it("a store that does not exist, and a missing value", async () => {
    rig = await UnitRig.start();
    const secret = rig.resource("StoreSecret", "s");
    const missingStore = (await secret.check(secretArgs({ storeId: "0".repeat(32) }))).failures;
    expect(missingStore.map((f) => f.property)).toEqual(["storeId"]);
    expect(missingStore[0]?.reason).toContain("0".repeat(32));

    const { value: _, ...noValue } = secretArgs();
    const missingValue = (await secret.check(noValue)).failures;
    expect(missingValue.map((f) => f.property)).toEqual(["value"]);
    expect(missingValue[0]?.reason).toMatch(/`value` is required\. Pass it from secret config/);
  });

  it("the failures reach `up` as one error and nothing is written", async () => {
    rig = await UnitRig.start();
    await expect(rig.resource("StoreSecret", "s").up(secretArgs({ name: "" }))).rejects.toThrow(CheckFailed);
    expect(await rig.api("GET", `/secrets_store/stores/${STORE_ID}/secrets`)).toEqual([]);
  });
});

describe("StoreSecret create, read, diff and update", () => {
  it("create then refresh round-trips every output; the value is written to Cloudflare and never in the state", async () => {
    rig = await UnitRig.start();
    const secret = rig.resource("StoreSecret", "s");
    expect(await secret.up(secretArgs({ comment: "Stripe live key" }))).toBe("create");

    expect(secret.id).toMatch(/^[0-9a-f]{32}$/);
    expect(secret.outputs).toMatchObject({
      storeId: STORE_ID,
      name: "stripe_api_key",
      scopes: ["workers"],
      comment: "Stripe live key",
      accountId: rig.emulator.accountId,
      valueVersion: 1,
      value: "written",
      boundBy: [],
    });
    expect(await rig.secretSha256(secret.id)).toBe(sha256(VALUE));
    // The inputs keep a fingerprint, the outputs only "written": the plaintext is in neither.
    expect(JSON.stringify([secret.inputs, secret.outputs])).not.toContain(VALUE);
    expect(secret.inputs.value).toMatch(/^scrypt2:/);

    // A later `pulumi refresh` (a new provider process) reads the same secret back.
    await rig.restart();
    const before = secret.outputs;
    expect(await secret.refresh()).toBe(true);
    expect(secret.outputs).toEqual({ ...before, status: "active" });
  });

  it("the same value again is no change; a new value is an update that bumps valueVersion and writes it", async () => {
    rig = await UnitRig.start();
    const secret = rig.resource("StoreSecret", "s");
    await secret.up(secretArgs());

    await rig.restart();
    const same = await secret.preview(secretArgs());
    expect(same.failures).toEqual([]);
    expect(same.diff).toEqual({ changes: false, replaces: [] });

    await rig.restart();
    const changed = await secret.preview(secretArgs({ value: VALUE_2 }));
    expect(changed.failures).toEqual([]);
    expect(changed.diff).toEqual({ changes: true, replaces: [] });
    expect(changed.inputs).toMatchObject({ valueVersion: 2, rotationPlan: "write version 2 (no previous copy kept)" });
    expect(JSON.stringify(changed)).not.toContain(VALUE_2);

    await rig.restart();
    const id = secret.id;
    expect(await secret.up(secretArgs({ value: VALUE_2 }))).toBe("update");
    expect(secret.id).toBe(id);
    expect(secret.outputs).toMatchObject({ valueVersion: 2, value: "written" });
    expect(await rig.secretSha256(id)).toBe(sha256(VALUE_2));
  });

  it("a rename is a replacement; a secret deleted outside Pulumi is gone at refresh", async () => {
    rig = await UnitRig.start();
    const secret = rig.resource("StoreSecret", "s");
    await secret.up(secretArgs());
    const first = secret.id;

    await rig.restart();
    const renamed = await secret.preview(secretArgs({ name: "stripe_key" }));
    expect(renamed.diff).toEqual({ changes: true, replaces: ["name"] });
    expect(await secret.up(secretArgs({ name: "stripe_key" }))).toBe("replace");
    expect(secret.id).not.toBe(first);
    const names = (await rig.api<Array<{ name: string }>>("GET", `/secrets_store/stores/${STORE_ID}/secrets`)).map((s) => s.name);
    expect(names).toEqual(["stripe_key"]);

    await rig.api("DELETE", `/secrets_store/stores/${STORE_ID}/secrets/${secret.id}`);
    expect(await secret.refresh()).toBe(false);
  });
});
