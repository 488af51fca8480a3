import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaks, Rig, sha256 } from "../rig";
import { Managed } from "../rig/lifecycle";
import { must } from "../must";

const VALUE = "sk-openai-duplicate-source";

describe("StoreSecret without a value in the program: duplicateOf, adopt, rename", () => {
  let rig: Rig;
  let storeId: string;
  let source: Managed;
  const secret = (name: string) => new Managed(rig, "StoreSecret", name);

  beforeAll(async () => {
    rig = await Rig.start({ emulator: { seed: { stores: [{ name: "default_secrets_store" }] } } });
    storeId = must((await rig.api<Array<{ id: string }>>("GET", "/secrets_store/stores"))[0], "a store").id;
    source = secret("openai");
    await source.up({ storeId, name: "openai_key", value: VALUE, scopes: ["workers"] });
  });
  afterAll(async () => {
    expect(leaks(rig.transcript(), [VALUE, rig.emulator.token])).toEqual([]);
    await rig.close();
  });

  it("duplicateOf creates a copy with other scopes and comment; Cloudflare copies the value", async () => {
    const copy = secret("openai-gateway");
    const before = (await rig.requests()).length;
    await copy.up({ storeId, name: "openai_key_gateway", duplicateOf: { secretId: source.id }, scopes: ["ai-gateway"], comment: "for AI Gateway" });
    expect((await rig.writesSince(before)).map((w) => `${w.method} ${w.path.split("/").pop()}`)).toEqual(["POST duplicate"]);
    expect(await rig.secretSha256(copy.id)).toBe(sha256(VALUE));
    expect(copy.outputs).toMatchObject({ scopes: ["ai_gateway"], comment: "for AI Gateway" });
    expect(copy.inputs.value).toBeUndefined();
    expect((await copy.check({ storeId, name: "x", value: "v", duplicateOf: { secretId: source.id }, scopes: ["workers"] })).failures[0]?.reason).toMatch(
      /either `value` or `duplicateOf`/,
    );
  });

  it("renaming a duplicated secret copies it under the new name, so the value is kept", async () => {
    const copy = secret("renamed-copy");
    await copy.up({ storeId, name: "dup_before", duplicateOf: { secretId: source.id }, scopes: ["workers"] });
    const oldId = copy.id;
    expect(await copy.up({ storeId, name: "dup_after", duplicateOf: { secretId: source.id }, scopes: ["workers"] })).toBe("replace");
    expect(await rig.secretSha256(copy.id)).toBe(sha256(VALUE));
    await expect(rig.secretSha256(oldId)).rejects.toThrow(/404/);
  });

  it("a rename copies the old secret, not the source it was first duplicated from", async () => {
    const src = secret("moving-source");
    await src.up({ storeId, name: "moving_source", value: "version-one", scopes: ["workers"] });
    const copy = secret("frozen-copy");
    await copy.up({ storeId, name: "frozen_before", duplicateOf: { secretId: src.id }, scopes: ["workers"] });
    await src.up({ storeId, name: "moving_source", value: "version-two", scopes: ["workers"] });
    expect(await copy.up({ storeId, name: "frozen_after", duplicateOf: { secretId: src.id }, scopes: ["workers"] })).toBe("replace");
    expect(await rig.secretSha256(copy.id)).toBe(sha256("version-one"));
  });

  it("renaming an adopted secret without a value duplicates it, then deletes the old one", async () => {
    await rig.api("POST", `/secrets_store/stores/${storeId}/secrets`, [{ name: "legacy_name", value: "value-set-in-dashboard", scopes: ["workers"] }]);
    const adopted = secret("adopted");
    await adopted.up({ storeId, name: "legacy_name", adopt: true, scopes: ["workers"] });
    expect(await rig.secretSha256(adopted.id)).toBe(sha256("value-set-in-dashboard"));
    await rig.restartHost(); // the rename is a later `pulumi up`, with a fresh provider process
    const before = (await rig.requests()).length;
    expect(await adopted.up({ storeId, name: "modern_name", adopt: true, scopes: ["workers"] })).toBe("replace");
    const writes = (await rig.writesSince(before)).map((w) => `${w.method} ${w.path.split("/").pop()}`);
    expect(writes[0]).toBe("POST duplicate");
    expect(writes.at(-1)).toMatch(/^DELETE [0-9a-f]{32}$/);
    expect(await rig.secretSha256(adopted.id)).toBe(sha256("value-set-in-dashboard"));
    const names = (await rig.api<Array<{ name: string }>>("GET", `/secrets_store/stores/${storeId}/secrets`)).map((s) => s.name);
    expect(names).toContain("modern_name");
    expect(names).not.toContain("legacy_name");
  });

  it("adopt without a value fails at preview when there is nothing to adopt", async () => {
    const before = (await rig.requests()).length;
    const { failures } = await secret("ghost").check({ storeId, name: "no_such_secret", adopt: true, scopes: ["workers"] });
    expect(failures).toEqual([{ property: "adopt", reason: expect.stringMatching(/does not exist in store .* nothing to adopt.*`value`/) }]);
    expect(await rig.writesSince(before)).toEqual([]);
  });
});
