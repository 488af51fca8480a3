import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { CloudflareApiError } from "../../provider/api/error";
import type { ApiSettings } from "../../provider/api/request";
import * as api from "../../provider/api/secrets-store";
import { sha256 } from "../rig/bytes";
import { emulatorFetch } from "../../tools/emulator-client";
import { must } from "../must";

const VALUE = "client-test-value-9f8e7d";

describe("API client against the emulator's fault hooks", () => {
  let emu: RunningEmulator;
  let settings: ApiSettings;
  let storeId: string;

  const hook = (method: string, path: string, body?: unknown) => emulatorFetch(emu, path, { method, body });
  const fault = (rule: Record<string, unknown>) => hook("POST", "/__emulator/faults", rule);
  const log = async () => (await hook("GET", "/__emulator/requests")) as Array<{ method: string; path: string; status: number }>;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, quota: 500 });
    settings = { apiToken: emu.token, baseUrl: emu.url, retry: { baseDelayMs: 20, maxDelayMs: 100 } };
    storeId = (await api.createStore(settings, emu.accountId, "client-tests")).id;
  });
  afterAll(() => emu.close());
  beforeEach(async () => {
    await hook("DELETE", "/__emulator/faults");
    await hook("DELETE", "/__emulator/requests");
  });

  it("shows Cloudflare's error_chain after the error it explains", async () => {
    // A token with a space makes a malformed Authorization header: Cloudflare answers 6003, caused by 6111.
    const err = await api.listStores({ ...settings, apiToken: "two words" }, emu.accountId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudflareApiError);
    expect((err as Error).message).toContain("Invalid request headers [code: 6003] ← Invalid format for Authorization header [code: 6111]");
    expect((err as Error).message).not.toContain("two words");
  });

  it("retries 503s on reads and returns the result", async () => {
    await fault({ method: "GET", path: "/quota", mode: "error-before", status: 503, times: 2 });
    const quota = await api.getQuota(settings, emu.accountId);
    expect(quota.secrets.quota).toBe(500);
    expect((await log()).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it("honours Retry-After on a 429, for writes too", async () => {
    await fault({ method: "POST", path: "/secrets$", mode: "429", times: 1 });
    const started = Date.now();
    const secret = await api.createSecret(settings, emu.accountId, storeId, { name: "after_429", value: VALUE, scopes: ["workers"] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // the emulator sends Retry-After: 1
    expect((await log()).map((r) => r.status)).toEqual([429, 200]);
    expect(secret.name).toBe("after_429");
  });

  it("a create that fails after Cloudflare applied it is looked up, never sent twice", async () => {
    await fault({ method: "POST", path: "/secrets$", mode: "error-after", times: 1 });
    const secret = await api.createSecret(settings, emu.accountId, storeId, { name: "error_after", value: VALUE, scopes: ["workers"] });
    const all = await api.listSecrets(settings, emu.accountId, storeId, { search: "error_after" });
    expect(all.filter((s) => s.name === "error_after")).toHaveLength(1);
    expect(must(all[0], "a listed secret").id).toBe(secret.id);
    expect((await log()).filter((r) => r.method === "POST")).toHaveLength(1);
    const sum = await hook("GET", `/__emulator/secrets/${secret.id}/sha256`);
    expect(sum.sha256).toBe(sha256(VALUE));
  });

  it("a create whose connection is reset before it applied is sent again after the lookup finds nothing", async () => {
    await fault({ method: "POST", path: "/secrets$", mode: "reset", times: 1 });
    const secret = await api.createSecret(settings, emu.accountId, storeId, { name: "after_reset", value: VALUE, scopes: ["workers"] });
    expect(secret.name).toBe("after_reset");
    const posts = (await log()).filter((r) => r.method === "POST");
    expect(posts).toHaveLength(2);
    expect((await api.listSecrets(settings, emu.accountId, storeId, { search: "after_reset" })).length).toBe(1);
  });

  it("reads every page of a list", async () => {
    await api.createSecret(settings, emu.accountId, storeId, { name: "page_seed", value: VALUE, scopes: ["workers"] });
    const names = Array.from({ length: 230 }, (_, i) => `paged_${String(i).padStart(3, "0")}`);
    for (let i = 0; i < names.length; i += 50) {
      await fetch(`${emu.url}/accounts/${emu.accountId}/secrets_store/stores/${storeId}/secrets`, {
        method: "POST",
        headers: { authorization: `Bearer ${emu.token}` },
        body: JSON.stringify(names.slice(i, i + 50).map((name) => ({ name, value: VALUE, scopes: ["workers"] }))),
      });
    }
    await hook("DELETE", "/__emulator/requests");
    const listed = await api.listSecrets(settings, emu.accountId, storeId, { search: "paged_" });
    expect(listed.map((s) => s.name).sort()).toEqual(names);
    expect((await log()).length).toBe(3);
  });

  it("errors carry status, Cloudflare's codes and messages, method and path, and no body or token", async () => {
    await api.createSecret(settings, emu.accountId, storeId, { name: "dup_name", value: VALUE, scopes: ["workers"] });
    const err = await api.createSecret(settings, emu.accountId, storeId, { name: "dup_name", value: VALUE, scopes: ["workers"] }).catch((e) => e);
    expect(err).toBeInstanceOf(CloudflareApiError);
    expect(err.status).toBe(409);
    expect(err.errors[0].message).toContain("secret_name_already_exists");
    expect(err.message).toContain(`POST /client/v4/accounts/${emu.accountId}/secrets_store/stores/${storeId}/secrets`);
    expect(err.message).toMatch(/\[code: \d+\]/);
    expect(err.message).not.toContain(VALUE);
    expect(err.message).not.toContain(emu.token);
  });

  it("bounds the total time: a hung request is abandoned when the budget runs out", async () => {
    await fault({ method: "GET", path: "/quota", mode: "delay:5000", times: 1 });
    const started = Date.now();
    const err = await api.getQuota({ ...settings, retry: { maxTotalMs: 800 } }, emu.accountId).catch((e) => e);
    expect(err).toBeInstanceOf(CloudflareApiError);
    expect(err.status).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("gives up within the retry budget", async () => {
    await fault({ method: "GET", path: "/quota", mode: "error-before", status: 503, times: 100 });
    const err = await api.getQuota({ ...settings, retry: { maxAttempts: 3, baseDelayMs: 10 } }, emu.accountId).catch((e) => e);
    expect(err).toBeInstanceOf(CloudflareApiError);
    expect(err.status).toBe(503);
    expect((await log()).length).toBe(3);
  });
});
