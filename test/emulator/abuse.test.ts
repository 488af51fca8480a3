/**
 * The emulator under abuse: oversized and malformed bodies at every write route, prototype
 * pollution through form field names and JSON keys. Every answer must be a clean 4xx envelope,
 * nothing may change, and the server must keep serving.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, MAX_SECRETS_BODY_BYTES, MAX_UPLOAD_BODY_BYTES } from "../../emulator";
import { assign, bracketSegments, jsonShapeProblem } from "../../emulator/body";
import { API_ROUTES } from "../../emulator/server";
import { codes, harness, messages, settingsForm, uploadForm, type Harness } from "./helpers";
import { rawHttp, type RawReply } from "./raw-http";
import type { Json } from "../../tools/emulator-client";
import { must } from "../must";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const MiB = 1024 * 1024;

/** A failure envelope: `{success:false, errors:[{code,message}], messages:[], result:null}`. */
function expectEnvelope(r: { status: number; body: Json }, what: string): void {
  expect(r.status, what).toBeGreaterThanOrEqual(400);
  expect(r.status, what).toBeLessThan(500);
  expect(r.body, what).toMatchObject({ success: false, messages: [], result: null });
  expect(r.body.errors.length, what).toBeGreaterThan(0);
  for (const e of r.body.errors) {
    expect(typeof e.code, what).toBe("number");
    expect(typeof e.message, what).toBe("string");
  }
}

const health = async () => (await h.hook("GET", "/health")).status;

function multipart(boundary: string, parts: Array<[string, string]>, close = true): Buffer {
  const text = parts.map(([name, value]) => `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join("");
  return Buffer.from(close ? `${text}--${boundary}--\r\n` : text);
}

/** A deterministic stream of pseudo-random bytes (xorshift32). */
function garbage(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

interface BadBody {
  name: string;
  contentType?: string;
  body: Buffer;
  /** Declare this Content-Length instead of the body's (the rest is never sent). */
  contentLength?: number;
}

/** A batch of bodies no write route may accept; `limit` is the route's body limit. */
function badBodies(limit: number): BadBody[] {
  const json = "application/json";
  const boundary = "----emulator-abuse-boundary";
  const mp = `multipart/form-data; boundary=${boundary}`;
  const deepJson = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
  return [
    { name: "truncated JSON", contentType: json, body: Buffer.from('{"name": "abc", "value": [1, 2') },
    { name: "deeply nested JSON", contentType: json, body: Buffer.from(deepJson) },
    { name: "deep unbalanced JSON", contentType: json, body: Buffer.from('{"a":'.repeat(50_000)) },
    { name: "__proto__ key", contentType: json, body: Buffer.from('{"__proto__": {"polluted": "yes"}, "name": "x", "ids": ["x"]}') },
    {
      name: "nested __proto__ key",
      contentType: json,
      body: Buffer.from('[{"name": "x", "value": "v", "scopes": ["workers"], "__proto__": {"polluted": "yes"}}]'),
    },
    { name: "JSON null", contentType: json, body: Buffer.from("null") },
    { name: "JSON string", contentType: json, body: Buffer.from('"just a string"') },
    { name: "JSON number", contentType: json, body: Buffer.from("42") },
    { name: "empty body", contentType: json, body: Buffer.alloc(0) },
    { name: "whitespace body", contentType: "text/plain", body: Buffer.from(" \r\n\t ") },
    { name: "binary garbage", contentType: "application/octet-stream", body: garbage(4096, 7) },
    { name: "invalid UTF-8", contentType: json, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xfd, 0x22, 0x3a, 0xc0, 0x80, 0x7d]) },
    { name: "NUL bytes", contentType: json, body: Buffer.from('{"name":"\u0000\u0000","value":"\u0000"', "utf8") },
    { name: "JSON sent as multipart", contentType: mp, body: Buffer.from('{"name":"x"}') },
    { name: "multipart without boundary", contentType: "multipart/form-data", body: multipart(boundary, [["settings", "{}"]]) },
    { name: "multipart with the wrong boundary", contentType: "multipart/form-data; boundary=other", body: multipart(boundary, [["settings", "{}"]]) },
    {
      name: "truncated multipart",
      contentType: mp,
      body: multipart(
        boundary,
        [
          ["metadata", '{"main_module":"index.js"}'],
          ["settings", "{}"],
        ],
        false,
      ).subarray(0, 90),
    },
    {
      name: "multipart with non-JSON parts",
      contentType: mp,
      body: multipart(boundary, [
        ["metadata", "{oops"],
        ["settings", "{oops"],
        ["index.js", "x"],
      ]),
    },
    {
      name: "multipart with deep JSON parts",
      contentType: mp,
      body: multipart(boundary, [
        ["metadata", deepJson],
        ["settings", deepJson],
        ["index.js", "x"],
      ]),
    },
    {
      name: "multipart with polluting bracket fields",
      contentType: mp,
      body: multipart(boundary, [
        ["settings[__proto__][polluted]", "yes"],
        ["metadata[constructor][prototype][polluted]", "yes"],
      ]),
    },
    {
      name: "multipart with a huge bracket index",
      contentType: mp,
      body: multipart(boundary, [
        ["settings[tags][999999999]", "x"],
        ["metadata[tags][999999999]", "x"],
      ]),
    },
    { name: "body over the route's limit (declared)", contentType: json, body: Buffer.from('{"name":'), contentLength: limit + 1 },
  ];
}

/** A concrete path for a route pattern, aimed at things that do not exist where the route ignores bodies. */
function concretePath(pattern: string, ids: { account: string; store: string; secret: string }, method: string): string {
  const ignoresBody = method === "DELETE" && !pattern.endsWith("/stores/:store_id/secrets");
  return `/client/v4${pattern}`
    .replace(":account_id", ids.account)
    .replace(":store_id", ignoresBody ? "0".repeat(32) : ids.store)
    .replace(":secret_id", ignoresBody ? "0".repeat(32) : ids.secret)
    .replace(":script_name", ignoresBody ? "no-such-worker" : "w")
    .replace(":secret_name", "NO_SUCH_SECRET");
}

describe("malformed bodies", () => {
  it("every write route (and the faults hook) answers each bad body with a clean 4xx envelope, changes nothing, and keeps serving", async () => {
    h = await harness({ acceptBracketMultipart: true });
    const store = await h.store();
    const [secret] = await h.secrets(store, [{ name: "KEPT", value: "kept-value" }]);
    expect(
      (
        await h.api("PUT", "/workers/scripts/w", {
          rawBody: uploadForm({ main_module: "index.js", bindings: [{ type: "secret_text", name: "S", text: "t" }] }),
        })
      ).status,
    ).toBe(200);
    const before = JSON.stringify([
      (await h.api("GET", `/secrets_store/stores/${store}/secrets`)).body.result,
      (await h.api("GET", "/workers/scripts/w/settings")).body.result,
    ]);
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

    const writeRoutes = API_ROUTES.filter((r) => r.method !== "GET");
    // Every write route the emulator serves is in this batch: a new one cannot skip it.
    expect(writeRoutes.length).toBeGreaterThanOrEqual(17);
    const targets = [
      ...writeRoutes.map((r) => ({
        method: r.method,
        path: concretePath(r.path, { account: h.emu.accountId, store, secret: secret.id }, r.method),
        limit: r.bodyLimit?.bytes ?? MAX_BODY_BYTES,
        hook: false,
      })),
      { method: "POST", path: "/__emulator/faults", limit: MAX_BODY_BYTES, hook: true },
    ];
    const failures: string[] = [];
    let sent = 0;
    for (const target of targets) {
      const auth = target.hook ? h.emu.hookToken : h.emu.token;
      for (const bad of badBodies(target.limit)) {
        const headers: Record<string, string> = { authorization: `Bearer ${auth}`, ...(bad.contentType ? { "content-type": bad.contentType } : {}) };
        const r: RawReply = await rawHttp(h.emu.origin, {
          method: target.method,
          path: target.path,
          headers,
          body: bad.body,
          contentLength: bad.contentLength,
        });
        sent++;
        const what = `${target.method} ${target.path} with ${bad.name}`;
        try {
          expectEnvelope(r, what);
        } catch {
          failures.push(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(350);
    expect(await health()).toBe(200);
    const after = JSON.stringify([
      (await h.api("GET", `/secrets_store/stores/${store}/secrets`)).body.result,
      (await h.api("GET", "/workers/scripts/w/settings")).body.result,
    ]);
    expect(after.replace(/"status":"\w+"/g, "")).toBe(before.replace(/"status":"\w+"/g, ""));
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await h.hook("GET", "/faults")).body).toEqual([]);
  });

  it("refuses JSON nested deeper than 64 levels, which could never be stored or answered again", async () => {
    h = await harness();
    await h.api("PUT", "/workers/scripts/w", { rawBody: uploadForm({ main_module: "index.js" }) });
    const nested = `${"[".repeat(100_000)}"leaf"${"]".repeat(100_000)}`;
    const form = new FormData();
    form.append(
      "settings",
      new Blob([`{"bindings":[{"type":"kv_namespace","name":"KV","namespace_id":"x","extra":${nested}}]}`], { type: "application/json" }),
      "settings",
    );
    const r = await h.api("PATCH", "/workers/scripts/w/settings", { rawBody: form });
    expect(r.status).toBe(400);
    expect(messages(r)).toMatch(/nested deeper than 64 levels/);
    const ok = await h.api("PATCH", "/workers/scripts/w/settings", {
      rawBody: settingsForm({ bindings: [{ type: "kv_namespace", name: "KV", namespace_id: "x", extra: [[["fine"]]] }] }),
    });
    expect(ok.status).toBe(200);
    expect((await h.api("GET", "/workers/scripts/w/settings")).status).toBe(200);
    expect(jsonShapeProblem(JSON.parse(`${"[".repeat(65)}${"]".repeat(65)}`))).toMatch(/deeper/);
    expect(jsonShapeProblem(JSON.parse(`${"[".repeat(64)}${"]".repeat(64)}`))).toBeUndefined();
  });
});

describe("body size limits", () => {
  it("answers 413 as soon as a declared Content-Length is over the limit, closes the connection, and keeps serving", async () => {
    h = await harness();
    const path = `/client/v4/accounts/${h.emu.accountId}/secrets_store/stores`;
    const t = Date.now();
    // 1 KiB of a body declared as 1 MiB + 1: the answer must not wait for the rest.
    const r = await rawHttp(h.emu.origin, {
      method: "POST",
      path,
      headers: { authorization: `Bearer ${h.emu.token}`, "content-type": "application/json" },
      body: Buffer.alloc(1024, 0x20),
      contentLength: MAX_BODY_BYTES + 1,
      closeWithinMs: 2000,
    });
    expect(r.status).toBe(413);
    expect(codes({ status: r.status, headers: new Headers(), body: r.body })).toEqual([1000]);
    expect(r.body.errors[0].message).toMatch(/at most 1 MiB/);
    expect(r.headers.connection).toBe("close");
    expect(r.closed).toBe(true);
    expect(Date.now() - t).toBeLessThan(1500);
    expect((await h.hook("GET", "/requests")).body).toEqual([{ method: "POST", path, status: 413 }]);
    expect(await health()).toBe(200);
    expect((await h.api("GET", "/secrets_store/stores")).body.result).toEqual([]);
  });

  it("answers 413 while a chunked body streams past the limit, without reading the rest", async () => {
    h = await harness();
    const chunks = Array.from({ length: 24 }, () => Buffer.alloc(64 * 1024, 0x20)); // 1.5 MiB, never terminated
    const r = await rawHttp(h.emu.origin, {
      method: "PATCH",
      path: `/client/v4/accounts/${h.emu.accountId}/secrets_store/stores/${"a".repeat(32)}/secrets/${"b".repeat(32)}`,
      headers: { authorization: `Bearer ${h.emu.token}` },
      chunks,
      closeWithinMs: 2000,
    });
    expect(r.status).toBe(413);
    expect(r.closed).toBe(true);
    // The hooks have their own 1 MiB limit.
    const hook = await rawHttp(h.emu.origin, {
      method: "POST",
      path: "/__emulator/faults",
      headers: { authorization: `Bearer ${h.emu.hookToken}` },
      chunks,
      closeWithinMs: 2000,
    });
    expect(hook.status).toBe(413);
    expect(hook.closed).toBe(true);
    expect(await health()).toBe(200);
  });

  it("gives Worker uploads 32 MiB (413 code 10027 beyond) and secret creation 8 MiB", async () => {
    h = await harness();
    const big = "x".repeat(5 * MiB);
    const upload = await h.api("PUT", "/workers/scripts/big", {
      rawBody: uploadForm({ main_module: "index.js" }, { "index.js": `export default {}; // ${big}` }),
    });
    expect(upload.status).toBe(200);
    const over = await rawHttp(h.emu.origin, {
      method: "PUT",
      path: `/client/v4/accounts/${h.emu.accountId}/workers/scripts/big`,
      headers: { authorization: `Bearer ${h.emu.token}`, "content-type": "multipart/form-data; boundary=x" },
      body: "--x\r\n",
      contentLength: MAX_UPLOAD_BODY_BYTES + 1,
    });
    expect(over.status).toBe(413);
    expect(over.body.errors[0]).toMatchObject({ code: 10027, message: expect.stringMatching(/exceeded the size limit of 32 MiB/) });

    const store = await h.store();
    const values = Array.from({ length: 40 }, (_, i) => ({ name: `BIG_${i}`, value: "v".repeat(65_536), scopes: ["workers"] }));
    const created = await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: values });
    expect(created.status).toBe(200);
    expect(created.body.result).toHaveLength(40);
    const declared = await rawHttp(h.emu.origin, {
      method: "POST",
      path: `/client/v4/accounts/${h.emu.accountId}/secrets_store/stores/${store}/secrets`,
      headers: { authorization: `Bearer ${h.emu.token}` },
      body: "[",
      contentLength: MAX_SECRETS_BODY_BYTES + 1,
    });
    expect(declared.status).toBe(413);
    expect(await health()).toBe(200);
  });

  it("a fetch client sending too much gets the 413 envelope too", async () => {
    h = await harness();
    const r = await h.api("POST", "/secrets_store/stores", {
      rawBody: JSON.stringify({ name: "x".repeat(2 * MiB) }),
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(413);
    expect(codes(r)).toEqual([1000]);
    expect((await h.api("POST", "/secrets_store/stores", { body: { name: "fine" } })).status).toBe(200);
  });

  it("logs a client that gives up mid-body as status 0 and carries on", async () => {
    h = await harness();
    const path = `/client/v4/accounts/${h.emu.accountId}/secrets_store/stores`;
    await expect(
      rawHttp(h.emu.origin, {
        method: "POST",
        path,
        headers: { authorization: `Bearer ${h.emu.token}` },
        body: '{"name":',
        contentLength: 100,
        timeoutMs: 200,
      }),
    ).rejects.toThrow(/no answer/);
    await new Promise((r) => setTimeout(r, 100));
    expect((await h.hook("GET", "/requests")).body).toEqual([{ method: "POST", path, status: 0 }]);
    expect(await health()).toBe(200);
  });
});

describe("prototype pollution", () => {
  it("with acceptBracketMultipart, refuses __proto__ / constructor / prototype field names with a 400 and leaves Object.prototype alone", async () => {
    h = await harness({ acceptBracketMultipart: true });
    await h.api("PUT", "/workers/scripts/w", { rawBody: uploadForm({ main_module: "index.js" }) });
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const fields: Array<Array<[string, string]>> = [
      [["settings[__proto__][account_id]", "polluted"]],
      [["settings[constructor][prototype][account_id]", "polluted"]],
      [
        ["settings[bindings][][__proto__][account_id]", "polluted"],
        ["settings[bindings][][name]", "B"],
      ],
      [
        ["settings[bindings][][name]", "B"],
        ["settings[bindings][][type]", "plain_text"],
        ["settings[bindings][][constructor]", "x"],
      ],
      [["settings[tags][prototype]", "x"]],
    ];
    for (const entries of fields) {
      const form = new FormData();
      for (const [k, v] of entries) form.append(k, v);
      const r = await h.api("PATCH", "/workers/scripts/w/settings", { rawBody: form });
      expect(r.status, JSON.stringify(entries)).toBe(400);
      expect(codes(r)).toEqual([10021]);
      expect(messages(r)).toMatch(/is not allowed/);
    }
    const metadata = new FormData();
    metadata.append("metadata[__proto__][main_module]", "index.js");
    metadata.append("index.js", new Blob(["x"]), "index.js");
    expect((await h.api("PUT", "/workers/scripts/w", { rawBody: metadata })).status).toBe(400);
    const json = await h.api("PATCH", "/workers/scripts/w/settings", { rawBody: settingsForm({}) });
    expect(json.status).toBe(200);
    const protoPart = new FormData();
    protoPart.append("settings", new Blob(['{"__proto__": {"account_id": "polluted"}, "tags": ["t"]}'], { type: "application/json" }), "settings");
    const proto = await h.api("PATCH", "/workers/scripts/w/settings", { rawBody: protoPart });
    expect(proto.status).toBe(400);
    expect(messages(proto)).toMatch(/"__proto__" is not allowed/);

    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).account_id).toBeUndefined();
    expect((await h.api("GET", "/workers/scripts/w/settings")).body.result.tags).toEqual([]);
  });

  it("builds objects from bracket fields with null prototypes and no holes", () => {
    const root = Object.create(null) as Record<string, unknown>;
    // Even without the segment check, an own-property walk never reaches Object.prototype.
    expect(assign(root, must(bracketSegments("s[__proto__][x]"), "segments"), "v")).toBe(true);
    expect(Object.getPrototypeOf(root.s)).toBeNull();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(assign(root, must(bracketSegments("s[list][0]"), "segments"), "a")).toBe(true);
    expect(assign(root, must(bracketSegments("s[list][5]"), "segments"), "b")).toBe(false);
    expect((root.s as Record<string, unknown>).list).toEqual(["a"]);
  });
});
