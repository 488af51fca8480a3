import { afterEach, describe, expect, it } from "vitest";
import { Rig } from "../rig";
import { Managed } from "../rig/lifecycle";
import { must } from "../must";

describe("SecretsStore through the real dynamic provider host", () => {
  let rig: Rig;
  afterEach(() => rig?.close());

  it("adopts the store Cloudflare made for the account instead of creating a second one", async () => {
    rig = await Rig.start({ emulator: { seed: { stores: [{ name: "default_secrets_store" }] } } });
    const existing = must((await rig.api<Array<{ id: string }>>("GET", "/secrets_store/stores"))[0], "the seeded store");
    const store = new Managed(rig, "SecretsStore", "main");

    const before = (await rig.requests()).length;
    const { failures } = await store.check({ name: "default_secrets_store" });
    const [failure] = failures;
    expect(failure?.reason).toContain(existing.id);
    expect(failure?.reason).toContain("adopt: true");
    const limit = await store.check({ name: "my_store" });
    expect(limit.failures[0]?.reason).toMatch(/limit of 1 store.*"default_secrets_store".*adopt: true/);
    expect(await rig.writesSince(before)).toEqual([]);

    expect(await store.up({ name: "default_secrets_store", adopt: true })).toBe("create");
    expect(store.id).toBe(existing.id);
    expect(store.outputs).toMatchObject({ name: "default_secrets_store", accountId: rig.emulator.accountId });
    expect(await rig.writesSince(before)).toEqual([]);
    expect(await store.up({ name: "default_secrets_store", adopt: true })).toBe("same");
  });

  it("creates a store when the account has none; renaming replaces it delete-first", async () => {
    rig = await Rig.start();
    const store = new Managed(rig, "SecretsStore", "main");
    expect(await store.up({ name: "first" })).toBe("create");
    expect((await rig.api<Array<{ name: string }>>("GET", "/secrets_store/stores")).map((s) => s.name)).toEqual(["first"]);
    const preview = await store.preview({ name: "second" });
    expect(preview.diff).toMatchObject({ replaces: ["name"], deleteBeforeReplace: true });
    expect(await store.up({ name: "second" })).toBe("replace");
    expect((await rig.api<Array<{ name: string }>>("GET", "/secrets_store/stores")).map((s) => s.name)).toEqual(["second"]);
  });

  it("refuses to delete a store that holds secrets, saying how many; forceDestroy deletes it", async () => {
    rig = await Rig.start();
    const store = new Managed(rig, "SecretsStore", "main");
    await store.up({ name: "busy" });
    await rig.api("POST", `/secrets_store/stores/${store.id}/secrets`, [
      { name: "a", value: "1", scopes: ["workers"] },
      { name: "b", value: "2", scopes: ["workers"] },
    ]);
    const err = await rig.host.delete(store.id, store.urn, store.outputs).catch((e: Error) => e);
    expect(String(err)).toMatch(/still holds 2 secret\(s\) \(a, b\).*forceDestroy: true/);
    expect(await rig.api("GET", `/secrets_store/stores/${store.id}`)).toMatchObject({ name: "busy" });

    expect(await store.up({ name: "busy", forceDestroy: true })).toBe("update");
    await store.destroy();
    expect(await rig.api("GET", "/secrets_store/stores")).toEqual([]);
  });

  it("refresh drops a store deleted outside Pulumi", async () => {
    rig = await Rig.start();
    const store = new Managed(rig, "SecretsStore", "main");
    await store.up({ name: "gone_soon" });
    await rig.api("DELETE", `/secrets_store/stores/${store.id}`);
    expect(await store.refresh()).toBe(false);
  });
});
