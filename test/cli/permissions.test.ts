/**
 * Tokens that cannot do the job, through the real `pulumi` CLI: a read-only token previews (check
 * and diff only read) and `up` fails naming the missing permission, with no write applied; a token
 * for another account, and an unknown or revoked token, fail the preview with a message that says
 * so, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaks } from "../rig/bytes";
import type { RequestLogEntry } from "../../tools/emulator-client";
import { failuresOf, hexId, SpecStack, type Spec } from "./spec-stack";
import { must } from "../must";

const STORE = hexId("permissions-store");
const EDIT = "edit-token-permissions-0123456789abcdefABCD";
const READ = "read-token-permissions-0123456789abcdefABCD";
const WORKER = "api-worker";
const VALUES = { a: "permissions value A 4711", b: "permissions value B 0815" };

const spec = (value: "a" | "b", extra: boolean): Spec => ({
  stores: [],
  secrets: [
    { key: "secret", name: "api_key", storeId: STORE, valueKey: value, scopes: ["workers"] },
    ...(extra ? [{ key: "extra", name: "extra_key", storeId: STORE, valueKey: "a", scopes: ["workers"] }] : []),
  ],
  bindings: [{ key: "binding", scriptName: WORKER, bindingName: "API_KEY", storeId: STORE, secretKey: "secret" }],
});

/** Requests that changed something: a write Cloudflare accepted. */
const applied = (requests: RequestLogEntry[]) => requests.filter((r) => r.method !== "GET" && r.status >= 200 && r.status < 300);
const text = (d: { stdout: string; stderr: string }) => d.stdout + d.stderr;

describe("tokens without the permission or the account: named in the message, nothing written", () => {
  let stack: SpecStack;

  beforeAll(async () => {
    stack = await SpecStack.start(
      { stores: [{ name: "default_secrets_store", id: STORE }], workers: [{ name: WORKER, bindings: [{ type: "plain_text", name: "MODE", text: "prod" }] }] },
      {
        emulator: {
          tokens: [
            { token: EDIT, permission: "edit" },
            { token: READ, permission: "read" },
          ],
        },
      },
    );
    await stack.apply(spec("a", false), VALUES);
    const up = await stack.cli.up();
    expect(up.ok, text(up)).toBe(true);
  }, 180_000);

  afterAll(async () => {
    if (!stack) return;
    // At rest nothing is in plaintext (the stack config holds the values and tokens encrypted).
    expect(leaks(stack.cli.pulumi.storedText(), [VALUES.a, VALUES.b, EDIT, READ])).toEqual([]);
    await stack.close();
  });

  it("a read-only token: preview works; up fails naming the missing permission, and writes nothing", async () => {
    await stack.apply(spec("b", true), VALUES);
    await stack.cli.pulumi.setConfig("cloudflare:apiToken", READ, true);
    const preview = await stack.cli.requestsDuring(() => stack.cli.preview());
    expect(preview.result.ok, text(preview.result)).toBe(true);
    expect(preview.writes).toEqual([]);

    const up = await stack.cli.requestsDuring(() => stack.cli.up());
    expect(up.result.ok).toBe(false);
    const failures = failuresOf(up.result).filter((f) => f.name);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(f.message).toMatch(/403.*Authentication error.*'Account Secrets Store Edit' permission/s);
    expect(applied(up.requests)).toEqual([]);
    expect(leaks(text(up.result), [VALUES.a, VALUES.b, READ])).toEqual([]);
    console.log(`read-only token: ${up.writes.length} write(s) refused with 403, 0 applied; the message: ${must(failures[0], "a failure").message.trim()}`);

    // With the edit token back, the same up goes through.
    await stack.cli.pulumi.setConfig("cloudflare:apiToken", EDIT, true);
    const fixed = await stack.cli.up();
    expect(fixed.ok, text(fixed)).toBe(true);
  }, 120_000);

  it("a token for another account: the preview says the token has no access to that account, and nothing is written", async () => {
    const other = "f".repeat(32);
    await stack.cli.configure({ "cloudflare-secrets-store:accountId": other });
    try {
      const preview = await stack.cli.requestsDuring(() => stack.cli.preview());
      expect(preview.result.ok).toBe(false);
      expect(text(preview.result)).toMatch(new RegExp(`The API token has no access to account ${other}.*belongs to another account`, "s"));
      expect(text(preview.result)).toMatch(/cloudflare-secrets-store:accountId/);
      const up = await stack.cli.requestsDuring(() => stack.cli.up());
      expect(up.result.ok).toBe(false);
      expect(up.writes).toEqual([]);
    } finally {
      await stack.cli.configure({ "cloudflare-secrets-store:accountId": stack.emu.accountId });
    }
  }, 120_000);

  it("an unknown or revoked token: the preview says the token was refused, and nothing is written", async () => {
    const revoked = "revoked-token-0123456789abcdefABCDEFGHIJ";
    await stack.cli.pulumi.setConfig("cloudflare:apiToken", revoked, true);
    try {
      const up = await stack.cli.requestsDuring(() => stack.cli.up());
      expect(up.result.ok).toBe(false);
      expect(text(up.result)).toMatch(/Cloudflare refused the API token: it is unknown, revoked or malformed.*cloudflare:apiToken/s);
      expect(up.requests.filter((r) => r.method !== "GET")).toEqual([]);
      expect(leaks(text(up.result), [revoked])).toEqual([]);
    } finally {
      await stack.cli.pulumi.setConfig("cloudflare:apiToken", EDIT, true);
    }
    const after = await stack.cli.requestsDuring(() => stack.cli.up());
    expect(after.result.ok, text(after.result)).toBe(true);
    expect(after.writes).toEqual([]);
  }, 120_000);
});
