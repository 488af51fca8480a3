import { afterEach, describe, expect, it } from "vitest";
import { startEmulator, DEFAULT_ACCOUNT_ID } from "../../emulator";
import { codes, harness, messages, type Harness } from "./helpers";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const OTHER_ACCOUNT = "ffffffffffffffffffffffffffffffff";

describe("startEmulator", () => {
  it("returns the API base URL, origin, account and a random edit token by default", async () => {
    h = await harness();
    const { emu } = h;
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/client\/v4$/);
    expect(emu.url.startsWith(emu.origin)).toBe(true);
    expect(emu.accountId).toBe(DEFAULT_ACCOUNT_ID);
    expect(emu.token).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(emu.tokens).toEqual([{ token: emu.token, permission: "edit" }]);
    const other = await startEmulator();
    try {
      expect(other.token).not.toBe(emu.token);
      expect(other.url).not.toBe(emu.url);
    } finally {
      await other.close();
    }
  });

  it("uses the given account and tokens; token is the first edit token", async () => {
    h = await harness({
      accountId: OTHER_ACCOUNT,
      tokens: [
        { token: "reader", permission: "read" },
        { token: "writer", permission: "edit" },
      ],
    });
    expect(h.emu.accountId).toBe(OTHER_ACCOUNT);
    expect(h.emu.token).toBe("writer");
    expect((await h.api("GET", "/secrets_store/stores", { token: "reader" })).status).toBe(200);
  });

  it("rejects bad options with clear errors", async () => {
    await expect(startEmulator({ accountId: "not-hex" })).rejects.toThrow(/accountId must be 32 lowercase hex/);
    await expect(startEmulator({ tokens: [] })).rejects.toThrow(/at least one token/);
    await expect(startEmulator({ tokens: [{ token: "a b", permission: "edit" }] })).rejects.toThrow(/without whitespace/);
    await expect(startEmulator({ tokens: [{ token: "t", permission: "admin" as "edit" }] })).rejects.toThrow(/"read", "edit" or "workers"/);
    await expect(
      startEmulator({
        tokens: [
          { token: "t", permission: "edit" },
          { token: "t", permission: "read" },
        ],
      }),
    ).rejects.toThrow(/twice/);
    await expect(startEmulator({ quota: -1 })).rejects.toThrow(/quota must be a whole number/);
    await expect(startEmulator({ rateLimit: 0 })).rejects.toThrow(/rateLimit/);
    await expect(startEmulator({ pendingMs: -1 })).rejects.toThrow(/pendingMs must be a whole number/);
    await expect(startEmulator({ pendingMs: 1.5 })).rejects.toThrow(/pendingMs must be a whole number/);
    h = await harness();
    const port = Number(new URL(h.emu.origin).port);
    await expect(startEmulator({ port })).rejects.toThrow(`Port ${port} on 127.0.0.1 is already in use`);
  });
});

describe("auth", () => {
  it("answers 401 (9106) without credentials", async () => {
    h = await harness();
    const r = await h.api("GET", "/secrets_store/stores", { token: null });
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual([9106]);
    expect(messages(r)).toBe("Missing X-Auth-Key, X-Auth-Email or Authorization headers");
  });

  it("answers 401 (1000) for an unknown token and 400 (6003/6111) for a malformed Authorization header", async () => {
    h = await harness();
    const unknown = await h.api("GET", "/secrets_store/stores", { token: "not-a-token" });
    expect(unknown.status).toBe(401);
    expect(codes(unknown)).toEqual([1000]);
    const basic = await h.api("GET", "/secrets_store/stores", { token: null, headers: { authorization: "Basic abc" } });
    expect(basic.status).toBe(400);
    expect(basic.body.errors).toEqual([
      { code: 6003, message: "Invalid request headers", error_chain: [{ code: 6111, message: "Invalid format for Authorization header" }] },
    ]);
  });

  it("accepts X-Auth-Email + X-Auth-Key, the key standing for a token with its permission", async () => {
    h = await harness({
      tokens: [
        { token: "edit-key", permission: "edit" },
        { token: "read-key", permission: "read" },
      ],
    });
    const as = (key: string, email = "me@example.com") => ({ token: null, headers: { "x-auth-email": email, "x-auth-key": key } });
    expect((await h.api("POST", "/secrets_store/stores", { body: { name: "s" }, ...as("edit-key") })).status).toBe(200);
    expect((await h.api("GET", "/secrets_store/stores", as("read-key"))).status).toBe(200);
    expect((await h.api("POST", "/secrets_store/stores", { body: { name: "t" }, ...as("read-key") })).status).toBe(403);
    expect((await h.api("GET", "/secrets_store/stores", as("nope"))).status).toBe(401);
    const noEmail = await h.api("GET", "/secrets_store/stores", { token: null, headers: { "x-auth-key": "edit-key" } });
    expect(noEmail.status).toBe(400);
    expect(noEmail.body.errors[0].error_chain[0].code).toBe(6102);
  });

  it("lets a read token read metadata but nothing else (403, 10000), changing nothing", async () => {
    h = await harness({
      tokens: [
        { token: "writer", permission: "edit" },
        { token: "reader", permission: "read" },
      ],
    });
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "A", value: "v" }]);
    const read = { token: "reader" };
    for (const path of [
      "/secrets_store/stores",
      `/secrets_store/stores/${store}`,
      `/secrets_store/stores/${store}/secrets`,
      `/secrets_store/stores/${store}/secrets/${s.id}`,
      "/secrets_store/quota",
    ]) {
      expect((await h.api("GET", path, read)).status, path).toBe(200);
    }
    const writes: Array<[string, string, unknown]> = [
      ["POST", "/secrets_store/stores", { name: "x" }],
      ["DELETE", `/secrets_store/stores/${store}?force=true`, undefined],
      ["POST", `/secrets_store/stores/${store}/secrets`, [{ name: "B", value: "v", scopes: ["workers"] }]],
      ["PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { value: "changed" }],
      ["DELETE", `/secrets_store/stores/${store}/secrets/${s.id}`, undefined],
      ["DELETE", `/secrets_store/stores/${store}/secrets`, { ids: [s.id] }],
      ["POST", `/secrets_store/stores/${store}/secrets/${s.id}/duplicate`, { name: "C", scopes: ["workers"] }],
    ];
    for (const [method, path, body] of writes) {
      const r = await h.api(method, path, { ...read, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(codes(r)).toEqual([10000]);
      expect(messages(r)).toBe("Authentication error");
    }
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(1);
    expect((await h.api("GET", "/secrets_store/stores")).body.result).toHaveLength(1);
  });

  it("refuses another account's id (403) and routes no malformed account id (404 7003)", async () => {
    h = await harness();
    const other = await h.call("GET", `/accounts/${OTHER_ACCOUNT}/secrets_store/stores`);
    expect(other.status).toBe(403);
    expect(codes(other)).toEqual([10000]);
    const bad = await h.call("GET", "/accounts/not-an-account/secrets_store/stores");
    expect(bad.status).toBe(404);
    expect(codes(bad)).toEqual([7003, 7000]);
    expect(messages(bad)).toMatch(/^Could not route to \/accounts\/not-an-account\/secrets_store\/stores, perhaps your object identifier is invalid\?/);
  });
});

describe("routing and bodies", () => {
  it("answers unknown routes with Cloudflare's 404 envelope (7003, 7000), even without a token", async () => {
    h = await harness();
    for (const path of [`${h.emu.url}/zones`, `${h.emu.url}/accounts/${h.emu.accountId}/secrets_store/stores/x/y/z`, `${h.emu.origin}/elsewhere`]) {
      const res = await fetch(path);
      const body = (await res.json()) as { success: boolean; errors: Array<{ code: number }> };
      expect(res.status, path).toBe(404);
      expect(body.success).toBe(false);
      expect(body.errors.map((e) => e.code)).toEqual([7003, 7000]);
    }
  });

  it("answers a known path with the wrong method with 405 (7001)", async () => {
    h = await harness();
    const r = await h.api("PUT", "/secrets_store/stores");
    expect(r.status).toBe(405);
    expect(codes(r)).toEqual([7001]);
    expect(messages(r)).toBe("Method PUT not available for that URI.");
  });

  it("parses JSON whatever the Content-Type says (wrangler sends text/plain) and ignores unknown headers", async () => {
    h = await harness();
    const r = await h.api("POST", "/secrets_store/stores", {
      rawBody: JSON.stringify({ name: "plain" }),
      headers: { "content-type": "text/plain;charset=UTF-8", "api-version": "2026-11-21", "x-stainless-retry-count": "0", "x-whatever": "1" },
    });
    expect(r.status).toBe(200);
    expect(r.body.result.name).toBe("plain");
    const pretty = await h.api("POST", `/secrets_store/stores/${r.body.result.id}/secrets`, {
      rawBody: JSON.stringify([{ name: "A", value: "v", scopes: ["workers"] }], null, 2),
    });
    expect(pretty.status).toBe(200);
  });

  it("answers malformed JSON with 400 (6007)", async () => {
    h = await harness();
    const r = await h.api("POST", "/secrets_store/stores", { rawBody: "{name:", headers: { "content-type": "application/json" } });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual([6007]);
  });

  it("serves /accounts, /memberships and /user/tokens/verify for account discovery", async () => {
    h = await harness();
    const accounts = await h.call("GET", "/accounts?page=1");
    expect(accounts.body.result).toEqual([{ id: h.emu.accountId, name: expect.any(String), type: "standard" }]);
    expect(accounts.body.result_info).toMatchObject({ page: 1, count: 1, total_count: 1 });
    const memberships = await h.call("GET", "/memberships?page=1");
    expect(memberships.body.result[0].account.id).toBe(h.emu.accountId);
    const verify = await h.call("GET", "/user/tokens/verify");
    expect(verify.body.result).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), status: "active" });
    expect(JSON.stringify(verify.body)).not.toContain(h.emu.token);
    expect((await h.call("GET", "/user/tokens/verify", { token: "bogus" })).status).toBe(401);
  });
});

describe("rate limit", () => {
  it("allows N requests per window per token, then 429 (971) with Retry-After until the window ends", async () => {
    h = await harness({
      rateLimit: 3,
      rateLimitWindowMs: 1500,
      tokens: [
        { token: "a", permission: "edit" },
        { token: "b", permission: "edit" },
      ],
    });
    const get = (token: string) => h.api("GET", "/secrets_store/quota", { token });
    for (let i = 0; i < 3; i++) expect((await get("a")).status).toBe(200);
    await h.hook("GET", "/requests");
    const limited = await get("a");
    expect(limited.status).toBe(429);
    expect(codes(limited)).toEqual([971]);
    expect(messages(limited)).toMatch(/Please wait and consider throttling your request speed/);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect((await h.api("POST", "/secrets_store/stores", { token: "a", body: { name: "x" } })).status).toBe(429);
    expect((await get("b")).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await get("a")).status).toBe(200);
    expect((await h.api("GET", "/secrets_store/stores", { token: "a" })).body.result).toEqual([]);
  });
});

describe("latency", () => {
  it("adds latencyMs to every API response but not to hooks", async () => {
    h = await harness({ latencyMs: 250 });
    let t = Date.now();
    await h.api("GET", "/secrets_store/quota");
    expect(Date.now() - t).toBeGreaterThanOrEqual(245);
    t = Date.now();
    await h.api("GET", "/secrets_store/quota", { token: null });
    expect(Date.now() - t).toBeGreaterThanOrEqual(245);
    t = Date.now();
    await h.hook("GET", "/requests");
    expect(Date.now() - t).toBeLessThan(200);
  });
});
