import * as os from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { HOOK_TOKEN_HEADER, startEmulator } from "../../emulator";
import { isLoopbackAddress } from "../../emulator/routes/hooks";
import { emulatorFetch } from "../../tools/emulator-client";
import { codes, harness, messages, sha256, type Harness } from "./helpers";
import { rawHttp } from "./raw-http";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const usage = async () => (await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage as number;
const createSecret = (store: string, name: string) =>
  h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: [{ name, value: `value-of-${name}`, scopes: ["workers"] }] });

describe("request log", () => {
  it("records method, path without query, and status of API requests only: never bodies, headers or query strings", async () => {
    h = await harness();
    const store = await h.store();
    await createSecret(store, "LOGGED");
    await h.api("GET", `/secrets_store/stores/${store}/secrets?per_page=1&search=LOG`);
    await h.api("GET", "/secrets_store/quota", { token: "wrong" });
    await h.api("GET", "/secrets_store/quota?token=SECRET-IN-QUERY&cf_token=x", { token: null });
    await h.hook("GET", "/health");
    const log = (await h.hook("GET", "/requests")).body;
    const A = `/client/v4/accounts/${h.emu.accountId}/secrets_store`;
    expect(log).toEqual([
      { method: "POST", path: `${A}/stores`, status: 200 },
      { method: "POST", path: `${A}/stores/${store}/secrets`, status: 200 },
      { method: "GET", path: `${A}/stores/${store}/secrets`, status: 200 },
      { method: "GET", path: `${A}/quota`, status: 401 },
      { method: "GET", path: `${A}/quota`, status: 401 },
    ]);
    expect(JSON.stringify(log)).not.toContain("SECRET-IN-QUERY");
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
      [
        { path: "ok", mode: "reset" },
        { path: "x", mode: "delay:soon" },
      ],
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
  it("serves health with the hook token and answers unknown hooks with 404", async () => {
    h = await harness();
    expect((await h.hook("GET", "/health")).body).toEqual({ ok: true, accountId: h.emu.accountId });
    const r = await h.hook("GET", "/nope");
    expect(r.status).toBe(404);
    expect(r.body.success).toBe(false);
  });
});

describe("hook access", () => {
  const HOOKS: Array<[string, string]> = [
    ["GET", "/health"],
    ["GET", "/requests"],
    ["DELETE", "/requests"],
    ["GET", "/faults"],
    ["POST", "/faults"],
    ["DELETE", "/faults"],
    ["POST", "/reset"],
    ["GET", `/secrets/${"0".repeat(32)}/sha256`],
    ["GET", `/accounts/${"0".repeat(32)}/workers/scripts/w/bindings/B/sha256`],
  ];

  it("needs the hook token on every hook: 401 envelopes without it, with a wrong one, or with an API token", async () => {
    h = await harness();
    expect(h.emu.hookToken).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(h.emu.hookToken).not.toBe(h.emu.token);
    await h.secrets(await h.store(), [{ name: "A", value: "v" }]);
    await h.hook("POST", "/faults", { path: "never-matches", mode: "reset", times: 5 });
    for (const [method, path] of HOOKS) {
      for (const [token, code] of [
        [null, 9106],
        ["wrong-token", 1000],
        [h.emu.token, 1000],
      ] as const) {
        const r = await h.hook(method, path, method === "POST" ? { path: "x", mode: "reset" } : undefined, token);
        expect(r.status, `${method} ${path} with ${token}`).toBe(401);
        expect(codes(r)).toEqual([code]);
      }
    }
    const missing = await h.hook("GET", "/requests", undefined, null);
    expect(messages(missing)).toMatch(/Missing hook token: send Authorization: Bearer <hook token>/);
    // Nothing was reset, cleared or added by the refused calls.
    expect((await h.hook("GET", "/faults")).body).toEqual([expect.objectContaining({ path: "never-matches", remaining: 5 })]);
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(1);
    expect((await h.hook("GET", "/requests")).body.map((r: { status: number }) => r.status)).toEqual([200, 200, 200]);
  });

  it("takes the token as Authorization: Bearer or X-Emulator-Hook-Token, and a chosen hookToken", async () => {
    h = await harness({ hookToken: "my-hook-token" });
    expect(h.emu.hookToken).toBe("my-hook-token");
    const viaHeader = await fetch(`${h.emu.origin}/__emulator/health`, { headers: { [HOOK_TOKEN_HEADER]: "my-hook-token" } });
    expect(viaHeader.status).toBe(200);
    expect((await h.hook("GET", "/health")).status).toBe(200);
    expect(await emulatorFetch(h.emu, "/__emulator/health")).toEqual({ ok: true, accountId: h.emu.accountId });
    expect((await fetch(`${h.emu.origin}/__emulator/health`, { headers: { [HOOK_TOKEN_HEADER]: "nope" } })).status).toBe(401);
    await expect(startEmulator({ hookToken: "has space" })).rejects.toThrow(/hookToken must be a non-empty string without whitespace/);
    await expect(startEmulator({ hookToken: "t", hooks: false })).rejects.toThrow(/hooks are off/);
  });

  it("answers a refused hook at once, without reading its body, and closes the connection", async () => {
    h = await harness();
    const r = await rawHttp(h.emu.origin, { method: "POST", path: "/__emulator/faults", body: "{", contentLength: 50 * 1024 * 1024, closeWithinMs: 2000 });
    expect(r.status).toBe(401);
    expect(r.closed).toBe(true);
    expect((await h.hook("GET", "/health")).status).toBe(200);
  });

  it("with hooks: false, every hook path answers 404 and hookToken is undefined; the API works", async () => {
    h = await harness({ hooks: false, tokens: [{ token: "api-token", permission: "edit" }] });
    expect(h.emu.hookToken).toBeUndefined();
    for (const [method, path] of HOOKS) {
      for (const token of [null, "api-token"]) {
        const r = await h.hook(method, path, undefined, token);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(codes(r)).toEqual([7003, 7000]);
      }
    }
    expect((await h.api("GET", "/secrets_store/quota")).status).toBe(200);
  });

  it("refuses clients that are not on loopback (403) unless hooksAllowRemote", async () => {
    const address = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    // The test needs one non-loopback IPv4 interface to come from (CI machines and containers have one).
    expect(address, "no non-loopback IPv4 interface on this machine").toBeDefined();
    for (const allowRemote of [false, true]) {
      const emu = await startEmulator({ host: "0.0.0.0", hooksAllowRemote: allowRemote });
      try {
        const { port } = new URL(emu.origin);
        const origin = `http://${address}:${port}`;
        const headers = { authorization: `Bearer ${emu.hookToken}` };
        const remote = await rawHttp(origin, { method: "GET", path: "/__emulator/requests", headers, localAddress: address });
        const local = await rawHttp(emu.origin, { method: "GET", path: "/__emulator/requests", headers });
        expect(local.status).toBe(200);
        if (allowRemote) {
          expect(remote.status).toBe(200);
        } else {
          expect(remote.status).toBe(403);
          expect(remote.body).toMatchObject({
            success: false,
            result: null,
            errors: [{ code: 10000, message: expect.stringMatching(/loopback clients only/) }],
          });
        }
        // The API itself answers remote clients either way.
        const api = await rawHttp(origin, {
          method: "GET",
          path: `/client/v4/accounts/${emu.accountId}/secrets_store/quota`,
          headers: { authorization: `Bearer ${emu.token}` },
          localAddress: address,
        });
        expect(api.status).toBe(200);
      } finally {
        await emu.close();
      }
    }
  });

  it("counts 127.0.0.0/8, ::1 and IPv4-mapped 127.x as loopback, nothing else", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of [
      undefined,
      "",
      "10.0.0.1",
      "192.0.2.2",
      "::ffff:10.0.0.1",
      "fd00::2",
      "::",
      "0.0.0.0",
      "128.0.0.1",
      "127.0.0.1.evil",
      "::ffff:127.0.0.1:80",
    ]) {
      expect(isLoopbackAddress(a), String(a)).toBe(false);
    }
  });
});
