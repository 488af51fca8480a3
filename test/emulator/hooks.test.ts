import { afterEach, describe, expect, it } from "vitest";
import { codes, harness, messages, sha256, type Harness } from "./helpers";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const usage = async () => (await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage as number;
const createSecret = (store: string, name: string) =>
  h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: [{ name, value: `value-of-${name}`, scopes: ["workers"] }] });

describe("request log", () => {
  it("records method, path with query, and status of API requests only: never bodies or headers", async () => {
    h = await harness();
    const store = await h.store();
    await createSecret(store, "LOGGED");
    await h.api("GET", `/secrets_store/stores/${store}/secrets?per_page=1&search=LOG`);
    await h.api("GET", "/secrets_store/quota", { token: "wrong" });
    await h.hook("GET", "/health");
    const log = (await h.hook("GET", "/requests")).body;
    const A = `/client/v4/accounts/${h.emu.accountId}/secrets_store`;
    expect(log).toEqual([
      { method: "POST", path: `${A}/stores`, status: 200 },
      { method: "POST", path: `${A}/stores/${store}/secrets`, status: 200 },
      { method: "GET", path: `${A}/stores/${store}/secrets?per_page=1&search=LOG`, status: 200 },
      { method: "GET", path: `${A}/quota`, status: 401 },
    ]);
    expect(JSON.stringify(log)).not.toContain("value-of-LOGGED");
    expect(JSON.stringify(log)).not.toContain(h.emu.token);
    expect((await h.hook("DELETE", "/requests")).status).toBe(200);
    expect((await h.hook("GET", "/requests")).body).toEqual([]);
  });
});

describe("secret sha256 hook", () => {
  it("answers {sha256} of the stored UTF-8 value, 404 for an unknown id", async () => {
    h = await harness();
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "U", value: "naïve ✓" }]);
    expect((await h.hook("GET", `/secrets/${s.id}/sha256`)).body).toEqual({ sha256: sha256("naïve ✓") });
    const missing = await h.hook("GET", `/secrets/${"0".repeat(32)}/sha256`);
    expect(missing.status).toBe(404);
    expect(messages(missing)).toMatch(/secret_not_found/);
  });
});

describe("faults", () => {
  it("error-before answers 5xx and applies nothing; the rule is used up after `times`", async () => {
    h = await harness();
    const store = await h.store();
    expect((await h.hook("POST", "/faults", { method: "POST", path: "/secrets$", mode: "error-before", times: 2 })).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const r = await createSecret(store, "A");
      expect(r.status).toBe(500);
      expect(codes(r)).toEqual([1000]);
      expect(messages(r)).toMatch(/nothing was applied/);
    }
    expect(await usage()).toBe(0);
    expect((await createSecret(store, "A")).status).toBe(200);
    expect((await h.hook("GET", "/faults")).body).toEqual([]);
  });

  it("error-after applies the change, then answers 5xx", async () => {
    h = await harness();
    const store = await h.store();
    await h.hook("POST", "/faults", { path: "/secrets$", mode: "error-after", status: 503 });
    const r = await createSecret(store, "APPLIED");
    expect(r.status).toBe(503);
    expect(messages(r)).toMatch(/the request was applied/);
    const list = await h.api("GET", `/secrets_store/stores/${store}/secrets`);
    expect(list.body.result.map((s: { name: string }) => s.name)).toEqual(["APPLIED"]);
  });

  it("reset drops the connection without a response and applies nothing", async () => {
    h = await harness();
    const store = await h.store();
    await h.hook("POST", "/faults", { method: "post", path: `stores/${store}/secrets`, mode: "reset" });
    await expect(createSecret(store, "NEVER")).rejects.toThrow();
    expect(await usage()).toBe(0);
    const log = (await h.hook("GET", "/requests")).body;
    expect(log.find((e: { method: string; path: string }) => e.method === "POST" && e.path.endsWith("/secrets"))).toMatchObject({ status: 0 });
  });

  it("delay:<ms> answers normally after the pause; 429 answers rate-limited with Retry-After: 1", async () => {
    h = await harness();
    await h.hook("POST", "/faults", [
      { path: "/quota", mode: "delay:300" },
      { path: "/stores\\?", mode: "429" },
    ]);
    const t = Date.now();
    const slow = await h.api("GET", "/secrets_store/quota");
    expect(slow.status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(295);
    const limited = await h.api("GET", "/secrets_store/stores?page=1");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(codes(limited)).toEqual([971]);
    expect((await h.api("GET", "/secrets_store/stores?page=1")).status).toBe(200);
  });

  it("matches the method and the path regex (query included) only", async () => {
    h = await harness();
    const store = await h.store();
    await h.hook("POST", "/faults", { method: "GET", path: "per_page=7", mode: "error-before", times: 5 });
    expect((await createSecret(store, "A")).status).toBe(200);
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets?per_page=8`)).status).toBe(200);
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets?per_page=7`)).status).toBe(500);
    expect((await h.hook("GET", "/faults")).body).toEqual([{ method: "GET", path: "per_page=7", mode: "error-before", remaining: 4, status: 500 }]);
    expect((await h.hook("DELETE", "/faults")).status).toBe(200);
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets?per_page=7`)).status).toBe(200);
  });

  it("rejects bad rules and adds none of a bad batch", async () => {
    h = await harness();
    for (const rule of [
      { path: "x", mode: "explode" },
      { path: "(", mode: "reset" },
      { path: "x", mode: "reset", times: 0 },
      { path: "x", mode: "error-before", status: 404 },
      { mode: "reset" },
      [{ path: "ok", mode: "reset" }, { path: "x", mode: "delay:soon" }],
    ]) {
      const r = await h.hook("POST", "/faults", rule);
      expect(r.status, JSON.stringify(rule)).toBe(400);
      expect(r.body.success).toBe(false);
    }
    expect((await h.hook("GET", "/faults")).body).toEqual([]);
  });
});

describe("reset", () => {
  it("restores the startup (seeded) state and clears the log and the faults", async () => {
    h = await harness({
      seed: {
        stores: [{ name: "seeded", id: "a".repeat(32) }],
        secrets: [{ store: "seeded", name: "SEEDED", value: "seed-value", scopes: ["workers"] }],
      },
    });
    const store = "a".repeat(32);
    const seeded = (await h.api("GET", `/secrets_store/stores/${store}/secrets`)).body.result[0];
    await createSecret(store, "LATER");
    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${seeded.id}`, { body: { value: "changed" } });
    await h.hook("POST", "/faults", { path: ".", mode: "error-before", times: 100 });
    expect((await h.hook("POST", "/reset")).status).toBe(200);
    expect((await h.hook("GET", "/faults")).body).toEqual([]);
    expect((await h.hook("GET", "/requests")).body).toEqual([]);
    const after = await h.api("GET", `/secrets_store/stores/${store}/secrets`);
    expect(after.body.result.map((s: { name: string }) => s.name)).toEqual(["SEEDED"]);
    expect((await h.hook("GET", `/secrets/${seeded.id}/sha256`)).body.sha256).toBe(sha256("seed-value"));
  });
});

describe("hook routing", () => {
  it("serves health without a token and answers unknown hooks with 404", async () => {
    h = await harness();
    expect((await h.hook("GET", "/health")).body).toEqual({ ok: true, accountId: h.emu.accountId });
    const r = await h.hook("GET", "/nope");
    expect(r.status).toBe(404);
    expect(r.body.success).toBe(false);
  });
});
