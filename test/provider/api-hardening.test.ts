/**
 * The API client against servers that misbehave (issues #19, #20), each a tiny node:http server on
 * 127.0.0.1: ids that would change a URL, a huge body, plain http:// to a remote host, a long
 * Retry-After, and 429s from load this process did not make (two limiters on one token stand for
 * two processes).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { CloudflareApiError } from "../../provider/api/error";
import { RateLimiter } from "../../provider/api/rate-limit";
import { cfRequest, MAX_RESPONSE_BYTES, type ApiSettings } from "../../provider/api/request";
import { deleteSecret, findSecretByName, getStore, listSecrets, patchSecret } from "../../provider/api/secrets-store";
import { getScriptSettings, listScripts } from "../../provider/api/workers";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const STORE = "fedcba9876543210fedcba9876543210";

interface Server {
  baseUrl: string;
  /** `METHOD path` of every request received. */
  requests: string[];
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server on 127.0.0.1 that answers with `handler` and logs every request. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Server> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const s: Server = {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(s);
  return s;
}

const ok = (res: http.ServerResponse, result: unknown, info?: unknown) =>
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ success: true, errors: [], messages: [], result, result_info: info }));

const settings = (baseUrl: string, extra: Partial<ApiSettings> = {}): ApiSettings => ({ apiToken: `token-${Math.random()}`, baseUrl, ...extra });

/** The CloudflareApiError `call` rejects with (the test fails when it resolves or throws something else). */
async function apiFailure(call: Promise<unknown>): Promise<CloudflareApiError> {
  const outcome = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(CloudflareApiError);
  return outcome as CloudflareApiError;
}

const secret = (id: string, name: string) => ({
  id,
  name,
  store_id: STORE,
  created: "2025-01-01T00:00:00Z",
  modified: "2025-01-01T00:00:00Z",
  status: "active",
});

describe("ids and names from the API are checked before they go into a URL", () => {
  it("a secret id '..' fails the answer, and no PATCH or DELETE is sent", async () => {
    const api = await serve((req, res) => (req.method === "GET" ? ok(res, [secret("..", "db_password")], { total_count: 1 }) : ok(res, null)));
    const s = settings(api.baseUrl);
    const err = await apiFailure(findSecretByName(s, ACCOUNT, STORE, "db_password"));
    expect(err.message).toMatch(/^Cloudflare API 200: unexpected response shape: 0\.id: must be 32 lowercase hex characters \(a Cloudflare id\)/);
    await apiFailure(listSecrets(s, ACCOUNT, STORE));
    // Even given such an id (from an old state), the client refuses to build the URL.
    for (const id of ["..", ".", "a/b", "a\\b", "../../stores/" + STORE]) {
      const patch = await apiFailure(patchSecret(s, ACCOUNT, STORE, id, { value: "new-value-1234" }));
      expect(patch.message).toMatch(/refused to send: the path segment "[^"]+" is "\." or "\.\." or holds "\/" or "\\" once decoded/);
      expect(patch.status).toBeUndefined();
      await apiFailure(deleteSecret(s, ACCOUNT, STORE, id));
    }
    expect(api.requests.filter((r) => !r.startsWith("GET "))).toEqual([]);
  });

  it("a store id, a store binding's store_id and a Worker name that break Cloudflare's rules fail the answer", async () => {
    const api = await serve((req, res) => {
      if (req.url?.includes("/stores/")) return ok(res, { id: "../" + STORE, name: "s", created: "x", modified: "x" });
      if (req.url?.endsWith("/settings")) return ok(res, { bindings: [{ type: "secrets_store_secret", name: "KEY", store_id: "..", secret_name: "k" }] });
      return ok(res, [{ id: "good-worker" }, { id: "../evil" }]);
    });
    const s = settings(api.baseUrl);
    expect((await apiFailure(getStore(s, ACCOUNT, STORE))).message).toMatch(/id: must be 32 lowercase hex characters/);
    expect((await apiFailure(getScriptSettings(s, ACCOUNT, "good-worker"))).message).toMatch(/bindings\.0\.store_id: must be 32 lowercase hex characters/);
    expect((await apiFailure(listScripts(s, ACCOUNT))).message).toMatch(/1\.id: must be a Worker name/);
  });
});

describe("response bodies are capped", () => {
  it(`a body that never ends fails after ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB, and reading stops`, async () => {
    let written = 0;
    const api = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const more = () => {
        // Up to 4 times the cap: the client must give up long before.
        while (written < 4 * MAX_RESPONSE_BYTES && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    });
    const err = await apiFailure(cfRequest(settings(api.baseUrl), { method: "GET", path: "/huge", schema: z.unknown() }));
    expect(err.message).toBe(
      "Cloudflare API 200: response body larger than 16 MiB: stopped reading (no answer of this API is that large) (GET /client/v4/huge).",
    );
    expect(api.requests).toHaveLength(1);
    expect(written).toBeLessThan(4 * MAX_RESPONSE_BYTES);
  });

  it("a Content-Length over the cap fails before the body is read", async () => {
    const api = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(MAX_RESPONSE_BYTES + 1) });
      res.write("{");
    });
    const err = await apiFailure(cfRequest(settings(api.baseUrl), { method: "GET", path: "/declared", schema: z.unknown() }));
    expect(err.message).toMatch(/response body larger than 16 MiB/);
  });
});

describe("http:// only for loopback", () => {
  const get = (baseUrl: string) => cfRequest(settings(baseUrl, { retry: { maxAttempts: 1 } }), { method: "GET", path: "/accounts", schema: z.unknown() });

  it("an http:// base URL to another host fails before any request, naming the setting and the fix", async () => {
    // 10.255.255.1 does not answer: a request would hang, the check answers at once.
    const err = await apiFailure(get("http://10.255.255.1/client/v4"));
    expect(err.message).toBe(
      "Cloudflare API request failed: the API base URL is http:// to 10.255.255.1, which would send the API token unencrypted; http:// is accepted only for a loopback host (127.0.0.0/8, localhost, [::1]). " +
        "Set cloudflare-secrets-store:apiBaseUrl (or CLOUDFLARE_API_BASE_URL) to an https:// URL, for example https://api.cloudflare.com/client/v4 (GET /accounts).",
    );
    expect((await apiFailure(get("http://user:pw@api.cloudflare.com/client/v4"))).message).not.toContain("pw");
    expect((await apiFailure(get("ftp://127.0.0.1/client/v4"))).message).toMatch(
      /the API base URL must be https:\/\/ \(it is ftp:\/\/\): set cloudflare-secrets-store:apiBaseUrl/,
    );
    expect((await apiFailure(get("not a url"))).message).toMatch(
      /the API base URL is not a URL: set cloudflare-secrets-store:apiBaseUrl \(or CLOUDFLARE_API_BASE_URL\)/,
    );
  });

  it("loopback hosts are accepted (the request is sent)", async () => {
    const api = await serve((_req, res) => ok(res, []));
    await expect(get(api.baseUrl)).resolves.toEqual({ result: [], resultInfo: undefined });
    // Nothing listens there: a connection error, not the http:// refusal.
    for (const url of ["http://127.0.0.2:1/client/v4", "http://[::1]:1/client/v4", "http://localhost:1/client/v4"]) {
      expect((await apiFailure(get(url))).message).not.toMatch(/base URL/);
    }
  });
});

/** A 429 as Cloudflare sends it. */
const tooMany = (res: http.ServerResponse, retryAfter: string) =>
  res.writeHead(429, { "content-type": "application/json", "retry-after": retryAfter }).end(
    JSON.stringify({
      success: false,
      errors: [{ code: 971, message: "Please wait and consider throttling your request speed" }],
      messages: [],
      result: null,
    }),
  );

describe("Retry-After is capped by the retry budget", () => {
  it("Retry-After: 86400 fails at once with the 429's code, message and Retry-After, and does not stall later requests", async () => {
    const api = await serve((req, res) => (req.url?.endsWith("/limited") ? tooMany(res, "86400") : ok(res, "fine")));
    const s = settings(api.baseUrl);
    const err = await apiFailure(cfRequest(s, { method: "GET", path: "/limited", schema: z.unknown() }));
    expect(err.status).toBe(429);
    expect(err.message).toBe(
      "Cloudflare API 429: Please wait and consider throttling your request speed [code: 971]; rate limited: Retry-After: 86400 asks for a longer wait than the 90 s left of the retry budget (GET /client/v4/limited).",
    );
    // The same token's next request goes out: the limiter was not paused for a day (the test would time out).
    await expect(cfRequest(s, { method: "GET", path: "/other", schema: z.string() })).resolves.toMatchObject({ result: "fine" });
  }, 20_000);

  it("a Retry-After within the budget is waited, then the request succeeds", async () => {
    let calls = 0;
    const api = await serve((_req, res) => (++calls === 1 ? tooMany(res, "1") : ok(res, "fine")));
    await expect(cfRequest(settings(api.baseUrl), { method: "GET", path: "/once", schema: z.string() })).resolves.toMatchObject({ result: "fine" });
    expect(calls).toBe(2);
  });

  it("a 429 on every attempt fails with the attempts made and the last Retry-After", async () => {
    const api = await serve((_req, res) => tooMany(res, "0"));
    const err = await apiFailure(cfRequest(settings(api.baseUrl, { retry: { maxAttempts: 2 } }), { method: "GET", path: "/always", schema: z.unknown() }));
    expect(err.message).toBe(
      "Cloudflare API 429: Please wait and consider throttling your request speed [code: 971]; rate limited: still refused after 2 attempts (last Retry-After: 0) (GET /client/v4/always).",
    );
    expect(api.requests).toHaveLength(2);
  });

  it("a Retry-After beyond a small budget fails without waiting it", async () => {
    const api = await serve((_req, res) => tooMany(res, "30"));
    const err = await apiFailure(cfRequest(settings(api.baseUrl, { retry: { maxTotalMs: 5_000 } }), { method: "GET", path: "/x", schema: z.unknown() }));
    expect(err.message).toMatch(/\[code: 971\]; rate limited: Retry-After: 30 asks for a longer wait than the 5 s left of the retry budget/);
    expect(api.requests).toHaveLength(1);
  });
});

describe("one token's budget across processes (AIMD)", () => {
  it("two processes that each think they own the budget all finish, with a bounded number of 429s", async () => {
    // The token's real limit: LIMIT requests per fixed window, whoever sends them (as Cloudflare counts per user).
    const LIMIT = 10;
    const WINDOW_MS = 300;
    let windowStart = Date.now();
    let inWindow = 0;
    let refused = 0;
    let served = 0;
    const api = await serve((_req, res) => {
      const now = Date.now();
      if (now - windowStart >= WINDOW_MS) {
        windowStart = now;
        inWindow = 0;
      }
      if (++inWindow > LIMIT) {
        refused++;
        return tooMany(res, "1");
      }
      served++;
      ok(res, "fine");
    });
    const PER_PROCESS = 80;
    // Each "process" has its own limiter with the whole budget, on the same token.
    const processes = [0, 1].map(() => {
      const limiter = new RateLimiter({ requests: LIMIT, windowMs: WINDOW_MS });
      return { limiter, api: { apiToken: "shared-token", baseUrl: api.baseUrl, limiter, retry: { maxAttempts: 50, maxTotalMs: 120_000 } } };
    });
    const results = await Promise.all(
      processes.flatMap((p) => Array.from({ length: PER_PROCESS }, (_, i) => cfRequest(p.api, { method: "GET", path: `/r/${i}`, schema: z.string() }))),
    );
    expect(results).toHaveLength(2 * PER_PROCESS);
    expect(served).toBe(2 * PER_PROCESS);
    // Without AIMD each process sends its whole budget every window and about half of all requests get 429.
    expect(refused).toBeLessThan(PER_PROCESS / 2);
    // The 429s lowered each process's rate below the budget.
    for (const p of processes) expect(p.limiter.rate).toBeLessThanOrEqual(LIMIT);
  }, 120_000);

  it("the rate halves once per congestion and recovers additively on successes", () => {
    const limiter = new RateLimiter({ requests: 100, windowMs: 1000 });
    expect(limiter.rate).toBe(100);
    const sentAt = Date.now() - 10;
    limiter.throttled(sentAt);
    expect(limiter.rate).toBe(50);
    // Another 429 of a request sent before the halving: the same congestion.
    limiter.throttled(sentAt);
    expect(limiter.rate).toBe(50);
    // A window's worth of successes (about 50) gives back a tenth of the budget.
    for (let i = 0; i < 50; i++) limiter.succeeded();
    expect(limiter.rate).toBeGreaterThanOrEqual(59);
    expect(limiter.rate).toBeLessThanOrEqual(61);
    for (let i = 0; i < 10_000; i++) limiter.succeeded();
    expect(limiter.rate).toBe(100);
  });

  it("429s in a row never lower the rate below a quarter of the budget", () => {
    const limiter = new RateLimiter({ requests: 1200, windowMs: 300_000 });
    for (let i = 0; i < 60; i++) limiter.throttled(Date.now() + i);
    expect(limiter.rate).toBe(300);
  });
});
