/**
 * Redaction holds in every form an API can echo a value in (issue #20): each value shape × each
 * echo shape leaks nothing once redacted, and leaks without redaction (so the check can fail).
 * In process (`redact` on messages built here) and through the emulator's `echo` fault (the real
 * client, its error wrapped by `scrubbed` as the provider's methods are). The API token in use is
 * redacted too.
 */
import * as crypto from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { cfRequest } from "../../provider/api/request";
import { createSecret, listStores, patchSecret } from "../../provider/api/secrets-store";
import { MIN_REDACTED_PREFIX, redact, registerSecretForRedaction, scrubbed } from "../../provider/runtime/failures";
import { emulatorFetch } from "../../tools/emulator-client";
import { z } from "zod";
import { must } from "../must";

const REDACTED = "[secret value redacted]";
/** The emulator's echo limit (emulator/faults.ts): the body's first 4 KiB, then `…`. */
const ECHO_LIMIT = 4096;

/** A deterministic text of `n` characters that needs every kind of escape. */
function mixed(n: number): string {
  const alphabet = 'abcXYZ019 "\\/+=&<>?%äü€\n\t';
  let x = 12345;
  let out = "";
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

const VALUES: Record<string, string> = {
  "a PEM key with newlines": crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  'pa"ss\\word': 'pa"ss\\word',
  "non-ASCII text": "pässwörd-ü€",
  "a 6-digit value": "482913",
  "a 5,000-character value": mixed(5000),
};

const NAME = "api_key_name";
const body = (value: string) => ({ name: NAME, value, scopes: ["workers"] });
const jsonEscaped = (v: string) => JSON.stringify(v).slice(1, -1);
const asciiJson = (text: string) => text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
/** An echo's length limit, as the emulator applies it. */
const cut = (text: string, at = ECHO_LIMIT) => (text.length > at ? `${text.slice(0, at)}…` : text);

/** The characters of `encoded` (the base64 of `whole`) that encode only the bytes of `part` inside it. */
function base64Segment(whole: string, part: string, encoded: string): string {
  const offset = Buffer.byteLength(whole.slice(0, whole.indexOf(part)));
  return encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + Buffer.byteLength(part))) / 6));
}

/** The error `call` rejects with (the test fails when it resolves). */
async function failureOf(call: Promise<unknown>): Promise<Error> {
  const outcome = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

/** An echo shape: the message an API sends back, and the encoded value as it stands in it (before any cut). */
type Echo = (value: string) => { message: string; segment: string };

const ECHOES: Record<string, Echo> = {
  raw: (v) => ({ message: cut(`Invalid value ${v} for ${NAME}`), segment: v }),
  "JSON body echoed": (v) => ({ message: cut(`Invalid request body: ${JSON.stringify(body(v))}`), segment: jsonEscaped(v) }),
  "ASCII-escaped JSON": (v) => ({ message: cut(`Invalid request body: ${asciiJson(JSON.stringify(body(v)))}`), segment: asciiJson(jsonEscaped(v)) }),
  "URL-encoded form": (v) => {
    const form = new URLSearchParams({ name: NAME, value: v }).toString();
    return { message: cut(`Invalid form: ${form}`), segment: new URLSearchParams({ value: v }).toString().slice("value=".length) };
  },
  "URL-encoded query": (v) => ({ message: cut(`Bad query ?name=${NAME}&value=${encodeURIComponent(v)}`), segment: encodeURIComponent(v) }),
  base64: (v) => {
    const json = JSON.stringify(body(v));
    const encoded = Buffer.from(json).toString("base64");
    return { message: cut(`Invalid body (base64) ${encoded}`), segment: base64Segment(json, jsonEscaped(v), encoded) };
  },
  base64url: (v) => {
    const json = `{"pad":"x","value":${JSON.stringify(v)}}`;
    const encoded = Buffer.from(json).toString("base64url");
    return { message: cut(`Invalid body (base64url) ${encoded}`), segment: base64Segment(json, jsonEscaped(v), encoded) };
  },
  "truncated mid-value": (v) => {
    const text = `Invalid request body: ${JSON.stringify(body(v))}`;
    const start = text.indexOf(jsonEscaped(v));
    return { message: cut(text, start + Math.min(jsonEscaped(v).length, MIN_REDACTED_PREFIX + 4)), segment: jsonEscaped(v) };
  },
};

/**
 * The runs of `segment` (the encoded value) that `text` still holds: every window of
 * min(16, its length) characters of it. Independent of `encodedForms`: it knows only the segment.
 */
function leaks(text: string, segment: string): string[] {
  const width = Math.min(MIN_REDACTED_PREFIX, segment.length);
  const found = new Set<string>();
  for (let i = 0; i + width <= segment.length; i++) {
    const window = segment.slice(i, i + width);
    if (text.includes(window)) found.add(window);
  }
  return [...found];
}

// The provider holds these values as it holds a secret's plaintext between check and create.
beforeAll(() => {
  for (const value of Object.values(VALUES)) registerSecretForRedaction(value);
});

describe("redact: every value shape × every echo shape", () => {
  const cases = Object.entries(VALUES).flatMap(([valueName, value]) =>
    Object.entries(ECHOES).map(([echoName, echo]) => ({ valueName, value, echoName, echo })),
  );

  it.each(cases)("$valueName, $echoName: 0 leaks redacted; leaks unredacted", ({ value, echo }) => {
    const { message, segment } = echo(value);
    // Redaction off (the message as the API sent it): the check finds the value, so it can fail.
    expect(leaks(message, segment).length).toBeGreaterThan(0);
    const redacted = redact(message);
    expect(leaks(redacted, segment)).toEqual([]);
    expect(redacted).toContain(REDACTED);
    // What is not secret stays readable.
    expect(redacted.slice(0, 8)).toBe(message.slice(0, 8));
  });

  it("a value shorter than 4 characters, and text that holds no value, stay as they are", () => {
    expect(redact("code 482 in abc")).toBe("code 482 in abc");
    expect(redact(`Invalid request body: {"name":"${NAME}"}`)).toBe(`Invalid request body: {"name":"${NAME}"}`);
  });
});

describe("the API token in use is redacted", () => {
  let server: http.Server;
  let baseUrl: string;

  beforeAll(async () => {
    // An API that echoes the request's headers in its error, as a misbehaving proxy might.
    server = http.createServer((req, res) => {
      const message = `bad request; headers: ${JSON.stringify(req.headers)}; base64: ${Buffer.from(String(req.headers.authorization)).toString("base64")}`;
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ success: false, errors: [{ code: 1001, message }], result: null }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("an error that echoes the Authorization header does not carry the token", async () => {
    const token = `tok_${crypto.randomBytes(20).toString("hex")}`;
    const call = () => cfRequest({ apiToken: token, baseUrl }, { method: "GET", path: "/user/tokens/verify", schema: z.unknown() });
    const raw = await failureOf(call());
    expect(raw.message).toContain(token);
    const err = await failureOf(scrubbed(call)());
    expect(err.message).toMatch(/Cloudflare API 400: bad request/);
    expect(err.message).not.toContain(token);
    expect(err.message).not.toContain(Buffer.from(`Bearer ${token}`).toString("base64").slice(12, 40));
    expect(err.stack).not.toContain(token);
  });
});

describe("through the emulator's echo fault", () => {
  let emu: RunningEmulator;
  let storeId: string;

  beforeAll(async () => {
    emu = await startEmulator({ seed: { stores: [{ name: "default_secrets_store" }] } });
    const api = { apiToken: emu.token, baseUrl: emu.url };
    const [store] = await listStores(api, emu.accountId);
    storeId = must(store, "the seeded store").id;
  });
  afterAll(() => emu.close());

  const echo = (method: string, path: string) => emulatorFetch(emu, "/__emulator/faults", { method: "POST", body: { method, path, mode: "echo", times: 2 } });

  it.each(Object.entries(VALUES))("create with %s: the echoed body is redacted", async (_name, value) => {
    const api = { apiToken: emu.token, baseUrl: emu.url };
    await echo("POST", "/secrets$");
    const send = () => createSecret(api, emu.accountId, storeId, { name: "echoed", value, scopes: ["workers"] });
    const raw = await failureOf(send());
    expect(raw.message).toContain("Invalid request body (injected fault: nothing was applied)");
    expect(leaks(raw.message, jsonEscaped(value)).length).toBeGreaterThan(0);
    const err = await failureOf(scrubbed(send)());
    expect(err.message).toContain("Invalid request body (injected fault: nothing was applied)");
    expect(err.message).toContain(REDACTED);
    for (const text of [err.message, err.stack ?? ""]) {
      expect(leaks(text, jsonEscaped(value))).toEqual([]);
      expect(leaks(text, value)).toEqual([]);
      expect(text).not.toContain(emu.token);
    }
  });

  it("a value PATCH whose body is echoed (the 5,000-character value, cut at 4 KiB)", async () => {
    const api = { apiToken: emu.token, baseUrl: emu.url };
    const secret = await createSecret(api, emu.accountId, storeId, { name: "patched", value: "first-value-1234", scopes: ["workers"] });
    const value = must(VALUES["a 5,000-character value"], "the 5,000-character value");
    await echo("PATCH", `/secrets/${secret.id}$`);
    const send = () => patchSecret(api, emu.accountId, storeId, secret.id, { value });
    const raw = await failureOf(send());
    expect(raw.message).toContain("…");
    expect(leaks(raw.message, jsonEscaped(value)).length).toBeGreaterThan(0);
    const err = await failureOf(scrubbed(send)());
    expect(err.message).toContain(REDACTED);
    expect(leaks(err.message, jsonEscaped(value))).toEqual([]);
  });
});
