/**
 * Cloudflare keeps a secret `pending` after it is created, copied or given a new value, and refuses
 * to bind it until it is `active` (10182). Every flow that writes a secret and then binds it runs
 * here, through the real pulumi CLI, with windows of 0, 3 and 10 seconds: each `up` exits 0, every
 * binding then resolves to the right value, and a further `up` writes nothing.
 */
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sha256 } from "../rig/bytes";
import { CliStack, errors } from "./stack";
import { must } from "../must";

const PROGRAM = path.join(__dirname, "programs", "pending");
const SEED = {
  stores: [{ name: "default_secrets_store" }],
  workers: [{ name: "api-worker", bindings: [{ type: "plain_text", name: "MODE", text: "prod" }] }, { name: "shop-worker" }],
};
const [A, B, ADOPTED] = ["pending-value-A-0001", "pending-value-B-0002", "pending-adopted-0003"];

describe("secrets that are pending for a while are bound once active, in every flow", () => {
  let stack: CliStack;
  afterEach(() => stack?.close());

  const shaOfSecret = async (name: string) => {
    const secret = (await stack.secrets()).find((s) => s.name === name);
    return secret && stack.secretSha256(secret.id);
  };
  const expectBindings = async (apiName: string, api: string, previous: string, copy: string) => {
    await stack.settled();
    expect(await stack.bindingSha256("api-worker", "API_KEY")).toBe(sha256(api));
    expect(await shaOfSecret(apiName)).toBe(sha256(api));
    expect(await stack.bindingSha256("api-worker", "API_KEY_PREVIOUS")).toBe(sha256(previous));
    expect(await stack.bindingSha256("api-worker", "MODE")).toBe(sha256("prod"));
    expect(await stack.bindingSha256("shop-worker", "API_KEY_COPY")).toBe(sha256(copy));
    expect(await stack.bindingSha256("shop-worker", "ADOPTED_KEY")).toBe(sha256(ADOPTED));
  };

  for (const pendingMs of [0, 3000, 10_000]) {
    it(`window of ${pendingMs} ms: first up, adopt of a pending secret, duplicateOf, per-Worker bindings, rotation with a fallback, rename`, async () => {
      stack = await CliStack.start(PROGRAM, SEED, { secrets: { apiValue: A }, emulator: { pendingMs } });
      // A secret made just before the run (by wrangler or another stack): still pending when adopted.
      const [store] = await stack.stores();
      await stack.hook(`/client/v4/accounts/${stack.emu.accountId}/secrets_store/stores/${must(store, "a store").id}/secrets`, {
        method: "POST",
        body: [{ name: "adopted_key", value: ADOPTED, scopes: ["workers"] }],
      });

      const first = await stack.up();
      expect(errors(first)).toBe("");
      await expectBindings("api_key", A, A, A);

      await stack.configure({}, { apiValue: B });
      const rotated = await stack.up();
      expect(errors(rotated)).toBe("");
      await expectBindings("api_key", B, A, A);

      await stack.configure({ apiName: "api_key_renamed" });
      const renamed = await stack.up();
      expect(errors(renamed)).toBe("");
      // The renamed secret starts a new history: its copy holds its first value, and the duplicate is made again from it.
      await expectBindings("api_key_renamed", B, B, B);

      const again = await stack.requestsDuring(() => stack.up());
      expect(errors(again.result)).toBe("");
      expect(again.writes).toEqual([]);
    });
  }

  it("a secret still pending at the deadline fails the binding with a message that says what to do, and the next up finishes it", async () => {
    stack = await CliStack.start(PROGRAM, SEED, {
      secrets: { apiValue: A },
      config: { "cloudflare-secrets-store:pendingTimeoutSeconds": "1" },
      emulator: { pendingMs: 6000 },
    });
    const [store] = await stack.stores();
    await stack.hook(`/client/v4/accounts/${stack.emu.accountId}/secrets_store/stores/${must(store, "a store").id}/secrets`, {
      method: "POST",
      body: [{ name: "adopted_key", value: ADOPTED, scopes: ["workers"] }],
    });
    const failed = await stack.up();
    expect(failed.ok).toBe(false);
    expect(errors(failed)).toMatch(
      /Secret "(api_key|api_key_previous_v1|api_key_copy|adopted_key)" in store [0-9a-f]{32}.* is still "pending" after waiting 1 s, so the binding change on Worker "(api|shop)-worker" \(.+\) was not written: Cloudflare refuses to bind a secret until it is "active".*run `pulumi up` again in a minute.*pendingTimeoutSeconds 120/s,
    );
    // Nothing half-applied: no binding is recorded that the Workers do not have.
    const { deployment } = await stack.export();
    const recorded = (deployment.resources ?? []).filter((r) => r.type.endsWith(":WorkerSecretBinding"));
    for (const r of recorded) {
      const outputs = r.outputs as { scriptName: string; bindingName: string };
      expect((await stack.bindings(outputs.scriptName)).map((b) => b.name)).toContain(outputs.bindingName);
    }

    await stack.settled();
    const finished = await stack.up();
    expect(errors(finished)).toBe("");
    await expectBindings("api_key", A, A, A);
  });
});
