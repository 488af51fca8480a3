/**
 * What users see, through the real `pulumi` CLI:
 * - representative bad inputs fail the preview naming the property and the fix, with no write and
 *   without repeating what was passed (the generated volume runs through the provider host in
 *   test/provider/bad-input.test.ts);
 * - an API error that echoes the request body (the emulator's `echo` fault) never puts the value
 *   in the CLI's output, in `pulumi stack export --show-secrets` (initErrors included) or in the
 *   backend's files. The value comes from the environment (`valueFrom`) and the token too, so
 *   nothing in the stack's config holds them and any occurrence would be a leak.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaks } from "../rig/bytes";
import { failuresOf, hexId, SpecStack, type SpecRaw } from "./spec-stack";
import { must } from "../must";

const STORE = hexId("messages-store");
const VALUE = "messages-value-from-env-sk_live_31337";
const LONG_NAME = "n".repeat(10_000);
const text = (d: { stdout: string; stderr: string }) => d.stdout + d.stderr;

describe("messages through the real pulumi CLI: named, nothing written, no value repeated", () => {
  let stack: SpecStack;

  beforeAll(async () => {
    stack = await SpecStack.start(
      {
        stores: [{ name: "default_secrets_store", id: STORE }],
        secrets: [{ store: STORE, name: "source", value: "source-value-for-copies", scopes: ["workers"] }],
      },
      { env: { MESSAGES_SECRET: VALUE } },
    );
  }, 120_000);
  afterAll(() => stack?.close());

  const raw = (args: Record<string, unknown>, valueKey?: string, secret?: string[]): SpecRaw => ({
    kind: "StoreSecret",
    key: "bad",
    args: { storeId: STORE, name: "bad_input", scopes: ["workers"], ...args },
    valueKey,
    secret,
  });

  const cases: Array<[string, SpecRaw, Record<string, string>, RegExp, string[]]> = [
    [
      "a missing storeId (was: `Unexpected struct type.`)",
      raw({ storeId: undefined }, "v"),
      { v: "value-for-a-missing-store" },
      /`storeId` is required: it must be the id of a store, for example `store.id`/,
      [],
    ],
    [
      "a 10,000-character name",
      raw({ name: LONG_NAME }, "v"),
      { v: "value-for-a-long-name" },
      /`name` is 10000 characters long; at most 255 are allowed\. Shorten it\./,
      [],
    ],
    [
      "an unknown extra property (a typo)",
      raw({ scope: ["workers"] }, "v"),
      { v: "value-for-a-typo" },
      /`scope` is not an argument of StoreSecret\. Remove it/,
      [],
    ],
    [
      "a duplicateOf source that does not exist (was: found only at up)",
      raw({ duplicateOf: { secretId: "d".repeat(32) } }),
      {},
      /`duplicateOf.secretId` d{32} is not a secret in store/,
      [],
    ],
    // The engine prints the value of the property a failure names, redacted when it is secret.
    [
      "a secret pasted into `name` by mistake (marked secret)",
      raw({ name: "sk_live/Zm9v+YmFy=" }, "v", ["name"]),
      { v: "value-for-a-pasted-name" },
      /`name` may only contain letters, digits, `_` and `-`/,
      ["sk_live/Zm9v+YmFy="],
    ],
    // A lone surrogate (a string cut inside an emoji) cannot be encoded: the SDK's protobuf encoder
    // drops it on the way to the engine, so the program marks it (U+FFFD) for check to refuse;
    // otherwise the secret would be created with other text than the program's, silently.
    ["a value with a lone surrogate", raw({}, "v"), { v: "abc\ud83ddef-lone-surrogate" }, /`value`.*(lone UTF-16 surrogate|surrogate)/s, []],
  ];

  for (const [label, resource, values, reason, hidden] of cases) {
    it(`${label}: the preview fails naming the property, with no write`, async () => {
      await stack.apply({ stores: [], secrets: [], bindings: [], raw: [resource] }, values);
      const preview = await stack.cli.requestsDuring(() => stack.cli.preview());
      expect(preview.result.ok, text(preview.result)).toBe(false);
      const errs = failuresOf(preview.result);
      expect(errs.map((e) => e.message).join("\n")).toMatch(reason);
      expect(text(preview.result)).not.toMatch(/Unexpected struct type|unhandled exception/);
      expect(preview.writes).toEqual([]);
      // Our reasons never repeat an input; the engine prints the named property's value itself
      // (redacted when it is secret: the value always, other inputs when the program marks them).
      const reasons = errs.map((e) => e.message.split("has a problem:").slice(1).join("")).join("\n");
      expect(leaks(reasons, [...hidden, LONG_NAME.slice(0, 300)])).toEqual([]);
      // (The raw arguments themselves sit in this test's plain stack config, which `--json` prints.)
      expect(
        leaks(
          errs.map((e) => e.message).join("\n") + preview.result.stderr,
          hidden.filter((h) => h.startsWith("sk_")),
        ),
      ).toEqual([]);
      expect(
        leaks(
          text(preview.result),
          Object.values(values).filter((v) => v.length >= 6),
        ),
      ).toEqual([]);
    }, 120_000);
  }

  it("an error that echoes the request body: the value is in no output, no export and no file", async () => {
    await stack.apply(
      { stores: [], secrets: [{ key: "echoed", name: "echoed", storeId: STORE, valueFromEnv: "MESSAGES_SECRET", scopes: ["workers"] }], bindings: [] },
      {},
    );
    await stack.cli.hook("/__emulator/faults", { method: "POST", body: { method: "POST", path: `/stores/${STORE}/secrets$`, mode: "echo", times: 10 } });
    const failed = await stack.cli.up();
    await stack.cli.hook("/__emulator/faults", { method: "DELETE" });
    expect(failed.ok).toBe(false);
    const message = failuresOf(failed).find((f) => f.name === "echoed")?.message ?? "";
    // The echo happened (the body is in the message) and the value in it was redacted.
    expect(message).toMatch(/Invalid request body \(injected fault: nothing was applied\).*\[secret value redacted\]/s);
    expect(await stack.cli.leaked([VALUE], failed)).toEqual([]);
    const exported = JSON.stringify(await stack.cli.export(true));
    expect(leaks(exported, [VALUE])).toEqual([]);

    const fixed = await stack.cli.up();
    expect(fixed.ok, text(fixed)).toBe(true);
    const live = must(
      must((await stack.live()).stores[0], "a live store").secrets.find((s) => s.name === "echoed"),
      "the live secret echoed",
    );
    expect(await stack.cli.secretSha256(live.id)).toMatch(/^[0-9a-f]{64}$/);
    expect(await stack.cli.leaked([VALUE], fixed)).toEqual([]);
  }, 120_000);

  it("an error that echoes the request body never repeats an input the program marked secret", async () => {
    const COMMENT = "rotation runbook https://wiki.example/secret-path-42";
    await stack.apply(
      {
        stores: [],
        secrets: [],
        bindings: [],
        raw: [
          {
            kind: "StoreSecret",
            key: "marked",
            args: { storeId: STORE, name: "marked_comment", scopes: ["workers"], comment: COMMENT },
            valueKey: "m",
            secret: ["comment"],
          },
        ],
      },
      { m: "marked-comment-value-0001" },
    );
    await stack.cli.hook("/__emulator/faults", { method: "POST", body: { method: "POST", path: `/stores/${STORE}/secrets$`, mode: "echo", times: 10 } });
    const failed = await stack.cli.up();
    await stack.cli.hook("/__emulator/faults", { method: "DELETE" });
    expect(failed.ok).toBe(false);
    const message = failuresOf(failed).find((f) => f.name === "marked")?.message ?? "";
    // The echo happened and both the value and the secret comment in it were redacted.
    expect(message).toMatch(/Invalid request body \(injected fault: nothing was applied\).*\[secret value redacted\]/s);
    // (The raw arguments themselves sit in this test's plain stack config, which `--json` prints; so only the errors are searched.)
    const errorText = failuresOf(failed)
      .map((f) => f.message)
      .join("\n");
    expect(leaks(errorText + failed.stderr, [COMMENT, "marked-comment-value-0001"])).toEqual([]);
    const fixed = await stack.cli.up();
    expect(fixed.ok, text(fixed)).toBe(true);
  }, 300_000);
});
