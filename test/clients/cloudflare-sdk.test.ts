/**
 * The official `cloudflare` SDK (7.3.0) against the emulator: every `secretsStore` method, list
 * iteration that ends cleanly, and the Workers settings resources.
 */
import Cloudflare, { BadRequestError, ConflictError, NotFoundError, toFile } from "cloudflare";
import { afterEach, describe, expect, it } from "vitest";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator";
import { sha256, uploadForm } from "../emulator/helpers";
import { emulatorFetch, type Json } from "../../tools/emulator-client";

let emu: RunningEmulator;
let cf: Cloudflare;
let account_id: string;

async function start(options: EmulatorOptions = {}): Promise<void> {
  emu = await startEmulator({ port: 0, ...options });
  cf = new Cloudflare({ apiToken: emu.token, baseURL: emu.url });
  account_id = emu.accountId;
}

afterEach(async () => {
  await emu?.close();
});

const hook = (path: string): Promise<Json> => emulatorFetch(emu, `/__emulator${path}`);
const requests = async (): Promise<Array<{ method: string; path: string; status: number }>> => hook("/requests");
const clearRequests = () => emulatorFetch(emu, "/__emulator/requests", { method: "DELETE" });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** List the store's secrets with the SDK until none is pending (a new secret is pending for about a second), as a client that binds one must. */
async function waitActive(storeId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await collect(cf.secretsStore.stores.secrets.list(storeId, { account_id }))).every((s) => s.status === "active")) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`secrets of store ${storeId} still pending`);
}

describe("secretsStore.stores", () => {
  it("create, list (iterated to the end), get, delete with and without force", async () => {
    await start({ maxStores: 3 });
    const created = await cf.secretsStore.stores.create({ account_id, name: "sdk-store" });
    expect(created).toMatchObject({ name: "sdk-store", account_id, id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    await cf.secretsStore.stores.create({ account_id, name: "b-store" });
    await cf.secretsStore.stores.create({ account_id, name: "a-store" });

    await clearRequests();
    const all = await collect(cf.secretsStore.stores.list({ account_id, per_page: 1, order: "name", direction: "asc" }));
    expect(all.map((s) => s.name)).toEqual(["a-store", "b-store", "sdk-store"]);
    const log = await requests();
    expect(log.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // Pages 1-3 hold one store each; the SDK stops at the empty page 4. The log keeps no query strings.
    expect(log.map((r) => r.path)).toEqual(Array(4).fill(`/client/v4/accounts/${account_id}/secrets_store/stores`));
    expect(await collect(cf.secretsStore.stores.list({ account_id }))).toHaveLength(3);

    expect(await cf.secretsStore.stores.get(created.id, { account_id })).toEqual(created);

    await cf.secretsStore.stores.secrets.create(created.id, { account_id, body: [{ name: "IN_STORE", value: "v", scopes: ["workers"] }] });
    const refused = await cf.secretsStore.stores.delete(created.id, { account_id }, { maxRetries: 0 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).status).toBe(409);
    expect((refused as ConflictError).errors[0]?.message).toMatch(/^store_not_empty/);

    await cf.secretsStore.stores.delete(created.id, { account_id, force: true });
    await expect(cf.secretsStore.stores.get(created.id, { account_id })).rejects.toBeInstanceOf(NotFoundError);
    expect((await cf.secretsStore.quota.get({ account_id })).secrets.usage).toBe(0);
  });

  it("a 409 reaches the emulator three times with the SDK's default retries (no x-should-retry)", async () => {
    await start();
    const store = await cf.secretsStore.stores.create({ account_id, name: "s" });
    await cf.secretsStore.stores.secrets.create(store.id, { account_id, body: [{ name: "A", value: "v", scopes: ["workers"] }] });
    await clearRequests();
    await expect(cf.secretsStore.stores.delete(store.id, { account_id })).rejects.toBeInstanceOf(ConflictError);
    expect((await requests()).map((r) => `${r.method} ${r.status}`)).toEqual(["DELETE 409", "DELETE 409", "DELETE 409"]);
  });
});

describe("secretsStore.stores.secrets and quota", () => {
  it("create, list with filters (iterated to the end), get, edit, duplicate, delete, bulkDelete, quota", async () => {
    await start();
    const store = await cf.secretsStore.stores.create({ account_id, name: "sdk" });
    const created = await collect(
      cf.secretsStore.stores.secrets.create(store.id, {
        account_id,
        body: [
          { name: "SDK_KEY", value: "sdk-value-1", scopes: ["workers"], comment: "from sdk" },
          { name: "SDK_KEY_2", value: "sdk-value-2", scopes: ["workers", "ai_gateway"] },
          { name: "OTHER", value: "other", scopes: ["dex"] },
        ],
      }),
    );
    expect(created.map((s) => [s.name, s.status, s.scopes])).toEqual([
      ["SDK_KEY", "pending", ["workers"]],
      ["SDK_KEY_2", "pending", ["ai_gateway", "workers"]],
      ["OTHER", "pending", ["dex"]],
    ]);
    const [key, key2, other] = created as [(typeof created)[0], (typeof created)[0], (typeof created)[0]];

    await clearRequests();
    const filtered = await collect(
      cf.secretsStore.stores.secrets.list(store.id, { account_id, per_page: 1, search: "SDK", scopes: ["workers"], order: "name", direction: "desc" }),
    );
    expect(filtered.map((s) => s.name)).toEqual(["SDK_KEY_2", "SDK_KEY"]);
    // Two matching secrets at one per page, then the empty page 3 ends the iteration.
    expect((await requests()).map((r) => `${r.method} ${r.path}`)).toEqual(
      Array(3).fill(`GET /client/v4/accounts/${account_id}/secrets_store/stores/${store.id}/secrets`),
    );
    // Still in their pending window (the default, 1 to 1.5 s), then active.
    expect((await collect(cf.secretsStore.stores.secrets.list(store.id, { account_id }))).map((s) => s.status)).toEqual(["pending", "pending", "pending"]);
    await waitActive(store.id);
    expect((await collect(cf.secretsStore.stores.secrets.list(store.id, { account_id }))).map((s) => s.status)).toEqual(["active", "active", "active"]);

    const got = await cf.secretsStore.stores.secrets.get(key.id, { account_id, store_id: store.id });
    expect(got).toMatchObject({ id: key.id, name: "SDK_KEY", comment: "from sdk", store_id: store.id, status: "active" });

    const edited = await cf.secretsStore.stores.secrets.edit(key.id, {
      account_id,
      store_id: store.id,
      value: "edited-value",
      scopes: ["workers", "ai_gateway"],
      comment: "edited",
    });
    expect(edited).toMatchObject({ scopes: ["ai_gateway", "workers"], comment: "edited" });
    expect((await hook(`/secrets/${key.id}/sha256`)).sha256).toBe(sha256("edited-value"));
    expect(await cf.secretsStore.stores.secrets.edit(key.id, { account_id, store_id: store.id })).toMatchObject({ comment: "edited" });

    const dup = await cf.secretsStore.stores.secrets.duplicate(key.id, {
      account_id,
      store_id: store.id,
      name: "SDK_KEY_DUP",
      scopes: ["workers"],
      comment: "dup",
    });
    expect(dup).toMatchObject({ name: "SDK_KEY_DUP", comment: "dup", scopes: ["workers"] });
    expect((await hook(`/secrets/${dup.id}/sha256`)).sha256).toBe(sha256("edited-value"));

    expect(await cf.secretsStore.quota.get({ account_id })).toEqual({ secrets: { quota: 100, usage: 4 } });

    await cf.secretsStore.stores.secrets.delete(other.id, { account_id, store_id: store.id });
    await expect(cf.secretsStore.stores.secrets.get(other.id, { account_id, store_id: store.id })).rejects.toBeInstanceOf(NotFoundError);

    // The typed call has no way to pass ids: it sends no body, which the emulator refuses.
    await expect(cf.secretsStore.stores.secrets.bulkDelete(store.id, { account_id })).rejects.toBeInstanceOf(BadRequestError);
    await cf.secretsStore.stores.secrets.bulkDelete(store.id, { account_id }, { body: [key.id, key2.id] });
    const left = await collect(cf.secretsStore.stores.secrets.list(store.id, { account_id }));
    expect(left.map((s) => s.name)).toEqual(["SDK_KEY_DUP"]);
    expect(await cf.secretsStore.quota.get({ account_id })).toEqual({ secrets: { quota: 100, usage: 1 } });
  });

  it("surfaces validation errors as BadRequestError with Cloudflare-style codes", async () => {
    await start();
    const store = await cf.secretsStore.stores.create({ account_id, name: "s" });
    const err = await collect(
      cf.secretsStore.stores.secrets.create(store.id, { account_id, body: [{ name: "has space", value: "v", scopes: ["workers"] }] }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).errors[0]).toMatchObject({ code: 1001, message: expect.stringMatching(/^invalid_secret_name/) });
    const second = await cf.secretsStore.stores.create({ account_id, name: "again" }).catch((e: unknown) => e);
    expect((second as BadRequestError).errors[0]).toMatchObject({ code: 1003, message: expect.stringMatching(/^maximum_stores_exceeded/) });
  });
});

describe("workers settings", () => {
  async function withWorker(): Promise<string> {
    const store = await cf.secretsStore.stores.create({ account_id, name: "s" });
    await collect(cf.secretsStore.stores.secrets.create(store.id, { account_id, body: [{ name: "SDK_KEY", value: "bound-value", scopes: ["workers"] }] }));
    // The tests bind SDK_KEY: wait until its pending window has ended.
    await waitActive(store.id);
    const res = await fetch(`${emu.url}/accounts/${account_id}/workers/scripts/sdk-worker`, {
      method: "PUT",
      headers: { authorization: `Bearer ${emu.token}` },
      body: uploadForm({ main_module: "index.js", compatibility_date: "2025-01-01", bindings: [{ type: "secret_text", name: "LEGACY", text: "legacy" }] }),
    });
    expect(res.status).toBe(200);
    return store.id;
  }

  const bindings = (storeId: string) => [
    { type: "secrets_store_secret" as const, name: "MY_SECRET", store_id: storeId, secret_name: "SDK_KEY" },
    { type: "plain_text" as const, name: "GREETING", text: "hi" },
  ];

  it("scriptAndVersionSettings.get reads /settings; edit with a JSON settings part replaces the bindings", async () => {
    await start();
    const storeId = await withWorker();
    const before = await cf.workers.scripts.scriptAndVersionSettings.get("sdk-worker", { account_id });
    expect(before.bindings).toEqual([{ type: "secret_text", name: "LEGACY" }]);
    expect(before.compatibility_date).toBe("2025-01-01");

    const settings = await toFile(Buffer.from(JSON.stringify({ bindings: bindings(storeId), compatibility_date: "2025-06-01" })), "settings", {
      type: "application/json",
    });
    const after = await cf.workers.scripts.scriptAndVersionSettings.edit("sdk-worker", { account_id, settings: settings as never });
    expect(after.bindings).toEqual(bindings(storeId));
    expect(after.compatibility_date).toBe("2025-06-01");
    expect((await hook(`/accounts/${account_id}/workers/scripts/sdk-worker/bindings/MY_SECRET/sha256`)).sha256).toBe(sha256("bound-value"));
    expect((await requests()).filter((r) => r.path.endsWith("/settings")).map((r) => r.method)).toEqual(["GET", "PATCH"]);
  });

  it("scriptAndVersionSettings.edit with a settings object (bracket-notation fields) fails as on Cloudflare", async () => {
    await start();
    const storeId = await withWorker();
    const err = await cf.workers.scripts.scriptAndVersionSettings
      .edit("sdk-worker", { account_id, settings: { bindings: bindings(storeId), compatibility_date: "2025-06-01", compatibility_flags: ["nodejs_compat"] } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).errors[0]).toMatchObject({ code: 10201, message: expect.stringMatching(/^Missing settings part/) });
    expect((await cf.workers.scripts.scriptAndVersionSettings.get("sdk-worker", { account_id })).bindings).toEqual([{ type: "secret_text", name: "LEGACY" }]);
  });

  it("scriptAndVersionSettings.edit with a settings object works when the emulator accepts bracket notation", async () => {
    await start({ acceptBracketMultipart: true });
    const storeId = await withWorker();
    const after = await cf.workers.scripts.scriptAndVersionSettings.edit("sdk-worker", {
      account_id,
      settings: { bindings: bindings(storeId), compatibility_date: "2025-06-01", compatibility_flags: ["nodejs_compat"] },
    });
    expect(after).toMatchObject({ bindings: bindings(storeId), compatibility_date: "2025-06-01", compatibility_flags: ["nodejs_compat"] });
  });

  it("settings.get/edit use /script-settings (JSON, no bindings)", async () => {
    await start();
    await withWorker();
    expect(await cf.workers.scripts.settings.get("sdk-worker", { account_id })).toMatchObject({ logpush: false, tags: [] });
    const edited = await cf.workers.scripts.settings.edit("sdk-worker", { account_id, logpush: true, tags: ["t1"] });
    expect(edited).toMatchObject({ logpush: true, tags: ["t1"] });
    expect((await requests()).filter((r) => r.path.endsWith("/script-settings")).map((r) => `${r.method} ${r.status}`)).toEqual(["GET 200", "PATCH 200"]);
    expect((await cf.workers.scripts.scriptAndVersionSettings.get("sdk-worker", { account_id })).bindings).toEqual([{ type: "secret_text", name: "LEGACY" }]);
  });
});
