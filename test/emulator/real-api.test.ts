/**
 * Behaviours users hit on the real API (emulator/README.md, "Behaviour on the real API"), one
 * test each: 10053 for a binding name used twice, Cloudflare's 10021 for a store binding without
 * authorization (scope or token), 10222 for a Worker without versions, Retry-After on every 429;
 * and auth decided on the headers before any body byte is read (issue #20).
 */
import { afterEach, describe, expect, it } from "vitest";
import { codes, harness, settingsForm, uploadForm, type Harness } from "./helpers";
import { rawHttp } from "./raw-http";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const S = "/workers/scripts";
const UNAUTHORIZED = "failed to fetch secrets store binding due to authorization error - check deploy permissions and secret scopes";
const inUse = (name: string) => `Binding name '${name}' already in use. Please use a different name and try again.`;
const NO_VERSIONS = "This Worker has no versions, which means this Worker has no content or versioned settings.";
const MiB = 1024 * 1024;

/**
 * A store with WORKERS_KEY (workers scope) and GATEWAY_KEY (ai_gateway only). The pending window
 * is off (pendingMs 0): these tests bind the secrets at once and are not about propagation.
 */
async function withStore(options: Parameters<typeof harness>[0] = {}): Promise<string> {
  h = await harness({ pendingMs: 0, ...options });
  const store = await h.store();
  await h.secrets(store, [
    { name: "WORKERS_KEY", value: "w", scopes: ["workers"] },
    { name: "GATEWAY_KEY", value: "g", scopes: ["ai_gateway"] },
  ]);
  return store;
}

describe("10053: a binding name used twice in one write", () => {
  it("refuses two bindings of one name in an upload, a version upload and a settings PATCH", async () => {
    await withStore();
    const twice = [
      { type: "plain_text", name: "X", text: "1" },
      { type: "secret_text", name: "X", text: "2" },
    ];
    expect((await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js" }) })).status).toBe(200);
    for (const r of [
      await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js", bindings: twice }) }),
      await h.api("POST", `${S}/w/versions`, { rawBody: uploadForm({ main_module: "index.js", bindings: twice }) }),
      await h.api("PATCH", `${S}/w/settings`, { rawBody: settingsForm({ bindings: twice }) }),
    ]) {
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([{ code: 10053, message: inUse("X"), source: { pointer: "/bindings/1" } }]);
    }
  });

  it("refuses an upload whose var takes the name of a secret it keeps (keep_bindings), as wrangler deploy users hit it", async () => {
    h = await harness();
    const first = await h.api("PUT", `${S}/w`, {
      rawBody: uploadForm({ main_module: "index.js", bindings: [{ type: "secret_text", name: "TOKEN", text: "s" }] }),
    });
    expect(first.status).toBe(200);
    const r = await h.api("PUT", `${S}/w`, {
      rawBody: uploadForm({
        main_module: "index.js",
        bindings: [{ type: "plain_text", name: "TOKEN", text: "var" }],
        keep_bindings: ["secret_text", "secret_key"],
      }),
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([{ code: 10053, message: inUse("TOKEN") }]);
    expect((await h.api("GET", `${S}/w/settings`)).body.result.bindings).toEqual([{ type: "secret_text", name: "TOKEN" }]);
  });
});

describe("10021: a store binding without authorization", () => {
  it("answers Cloudflare's message for a secret without the workers scope", async () => {
    const store = await withStore();
    const r = await h.api("PUT", `${S}/w`, {
      rawBody: uploadForm({ main_module: "index.js", bindings: [{ type: "secrets_store_secret", name: "B", store_id: store, secret_name: "GATEWAY_KEY" }] }),
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([{ code: 10021, message: UNAUTHORIZED, source: { pointer: "/bindings/0" } }]);
  });

  it("a workers token edits Workers, only reads Secrets Store, and gets 10021 when its write binds a store secret", async () => {
    const store = await withStore({
      tokens: [
        { token: "admin", permission: "edit" },
        { token: "deployer", permission: "workers" },
      ],
    });
    const bind = { type: "secrets_store_secret", name: "B", store_id: store, secret_name: "WORKERS_KEY" };
    // Reads of Secrets Store: allowed. Writes: 403 10000.
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets`, { token: "deployer" })).status).toBe(200);
    const write = await h.api("POST", `/secrets_store/stores/${store}/secrets`, { token: "deployer", body: [{ name: "N", value: "v", scopes: ["workers"] }] });
    expect(write.status).toBe(403);
    expect(codes(write)).toEqual([10000]);
    // Workers without store bindings: allowed.
    const plain = await h.api("PUT", `${S}/w`, {
      token: "deployer",
      rawBody: uploadForm({ main_module: "index.js", bindings: [{ type: "plain_text", name: "P", text: "p" }] }),
    });
    expect(plain.status).toBe(200);
    // Any write that binds a store secret: 10021, wherever bindings are written.
    for (const r of [
      await h.api("PUT", `${S}/w`, { token: "deployer", rawBody: uploadForm({ main_module: "index.js", bindings: [bind] }) }),
      await h.api("POST", `${S}/w/versions`, { token: "deployer", rawBody: uploadForm({ main_module: "index.js", bindings: [bind] }) }),
      await h.api("PATCH", `${S}/w/settings`, { token: "deployer", rawBody: settingsForm({ bindings: [bind] }) }),
    ]) {
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([{ code: 10021, message: UNAUTHORIZED, source: { pointer: "/bindings/0" } }]);
    }
    // The edit token binds it; the workers token may then keep it by inherit (not re-checked).
    expect((await h.api("PATCH", `${S}/w/settings`, { token: "admin", rawBody: settingsForm({ bindings: [bind] }) })).status).toBe(200);
    const kept = await h.api("PATCH", `${S}/w/settings`, {
      token: "deployer",
      rawBody: settingsForm({
        bindings: [
          { type: "inherit", name: "B" },
          { type: "plain_text", name: "P", text: "p2" },
        ],
      }),
    });
    expect(kept.status).toBe(200);
  });
});

describe("10222: a Worker whose deploy was interrupted before any upload", () => {
  it("is listed but answers 404 10222 on its settings until an upload gives it a version", async () => {
    h = await harness({ seed: { workers: [{ name: "half-deployed", noVersions: true }] } });
    expect((await h.api("GET", S)).body.result.map((w: { id: string }) => w.id)).toEqual(["half-deployed"]);
    for (const r of [
      await h.api("GET", `${S}/half-deployed/settings`),
      await h.api("PATCH", `${S}/half-deployed/settings`, { rawBody: settingsForm({ bindings: [] }) }),
      await h.api("GET", `${S}/half-deployed/script-settings`),
      await h.api("PATCH", `${S}/half-deployed/script-settings`, { body: { logpush: true } }),
      await h.api("GET", `${S}/half-deployed/deployments`),
    ]) {
      expect(r.status).toBe(404);
      expect(r.body.errors).toEqual([{ code: 10222, message: NO_VERSIONS }]);
    }
    // A missing Worker is still 10007.
    expect(codes(await h.api("GET", `${S}/nope/settings`))).toEqual([10007]);
    expect((await h.api("PUT", `${S}/half-deployed`, { rawBody: uploadForm({ main_module: "index.js" }) })).status).toBe(200);
    expect((await h.api("GET", `${S}/half-deployed/settings`)).status).toBe(200);
  });

  it("refuses a seed that gives such a Worker bindings", async () => {
    await expect(
      harness({ seed: { workers: [{ name: "x", noVersions: true, bindings: [{ name: "P", type: "plain_text", text: "p" }] }] } }).then((hh) => hh.close()),
    ).rejects.toThrow(/noVersions has no bindings/);
  });
});

describe("Retry-After on every 429", () => {
  it("the rate limiter, the 429 fault and an echo fault with status 429 all carry it", async () => {
    h = await harness({ rateLimit: 1 });
    await h.hook("POST", "/faults", { path: "/quota", mode: "echo", status: 429 });
    const echoed = await h.api("GET", "/secrets_store/quota");
    expect(echoed.status).toBe(429);
    expect(echoed.headers.get("retry-after")).toBe("1");
    // A faulted request never reaches the rate limiter: the next one is the first it counts.
    expect((await h.api("GET", "/secrets_store/quota")).status).toBe(200);
    const limited = await h.api("GET", "/secrets_store/quota");
    expect(limited.status).toBe(429);
    expect(codes(limited)).toEqual([971]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await h.hook("POST", "/reset");
    await h.hook("POST", "/faults", { path: "/quota", mode: "429" });
    const fault = await h.api("GET", "/secrets_store/quota");
    expect(fault.status).toBe(429);
    expect(fault.headers.get("retry-after")).toBe("1");
  });
});

describe("auth on the headers, before the body (issue #20)", () => {
  it("answers an unauthenticated upload that announces 32 MiB with 401 after 1 KiB, and closes the connection", async () => {
    h = await harness();
    const path = `/client/v4/accounts/${h.emu.accountId}/workers/scripts/w`;
    for (const headers of [{}, { authorization: "Bearer wrong-token" }] as Array<Record<string, string>>) {
      const r = await rawHttp(h.emu.origin, {
        method: "PUT",
        path,
        headers: { ...headers, "content-type": "multipart/form-data; boundary=x" },
        body: Buffer.alloc(1024, 0x61),
        contentLength: 32 * MiB,
        timeoutMs: 3000,
        closeWithinMs: 2000,
      });
      expect(r.status).toBe(401);
      expect(codes({ status: r.status, headers: new Headers(), body: r.body })).toEqual(["authorization" in headers ? 1000 : 9106]);
      expect(r.headers.connection).toBe("close");
      expect(r.closed).toBe(true);
    }
    const log = (await h.hook("GET", "/requests")).body;
    expect(log).toEqual([
      { method: "PUT", path, status: 401 },
      { method: "PUT", path, status: 401 },
    ]);
  });

  it("answers a slow chunked body that never ends with 401 (no token) or 403 (read token, another account) at once", async () => {
    h = await harness({
      tokens: [
        { token: "edit", permission: "edit" },
        { token: "read", permission: "read" },
      ],
    });
    const chunks = [Buffer.alloc(512, 0x20)];
    const secrets = `/client/v4/accounts/${h.emu.accountId}/secrets_store/stores/${"a".repeat(32)}/secrets`;
    const cases: Array<[string, Record<string, string>, number]> = [
      [secrets, {}, 401],
      [secrets, { authorization: "Bearer read" }, 403],
      [`/client/v4/accounts/${"f".repeat(32)}/secrets_store/stores`, { authorization: "Bearer edit" }, 403],
    ];
    for (const [path, headers, status] of cases) {
      const r = await rawHttp(h.emu.origin, { method: "POST", path, headers, chunks, timeoutMs: 3000, closeWithinMs: 2000 });
      expect(r.status, `${path} ${JSON.stringify(headers)}`).toBe(status);
      expect(r.closed).toBe(true);
    }
  });

  it("keeps the connection of a refused request whose small body is still on its way: the client gets the answer, not a reset", async () => {
    h = await harness({ tokens: [{ token: "read", permission: "read" }] });
    const settings = `/client/v4/accounts/${h.emu.accountId}/workers/scripts/w/settings`;
    const body = `--x\r\ncontent-disposition: form-data; name="settings"\r\n\r\n${JSON.stringify({ bindings: [] })}\r\n--x--\r\n`;
    for (const [headers, status] of [
      [{ authorization: "Bearer read" }, 403],
      [{ authorization: "Bearer wrong-token" }, 401],
    ] as Array<[Record<string, string>, number]>) {
      const r = await rawHttp(h.emu.origin, {
        method: "PATCH",
        path: settings,
        headers: { ...headers, "content-type": "multipart/form-data; boundary=x" },
        body,
        bodyAfterAnswer: true,
        closeWithinMs: 300,
      });
      expect(r.status).toBe(status);
      expect(r.headers.connection).not.toBe("close");
      expect(r.closed).toBe(false);
    }
    // A small body that never comes does not hold the connection: it is closed after 2 s.
    const stalled = await rawHttp(h.emu.origin, {
      method: "PATCH",
      path: settings,
      headers: { authorization: "Bearer read" },
      contentLength: 100,
      closeWithinMs: 4000,
    });
    expect(stalled.status).toBe(403);
    expect(stalled.closed).toBe(true);
  });

  it("keeps the connection of a refused request without a body, and serves authenticated bodies as before", async () => {
    h = await harness();
    const r = await rawHttp(h.emu.origin, { method: "GET", path: `/client/v4/accounts/${h.emu.accountId}/secrets_store/stores`, closeWithinMs: 300 });
    expect(r.status).toBe(401);
    expect(r.headers.connection).not.toBe("close");
    expect(r.closed).toBe(false);
    const created = await h.api("POST", "/secrets_store/stores", { body: { name: "main" } });
    expect(created.status).toBe(200);
  });
});
