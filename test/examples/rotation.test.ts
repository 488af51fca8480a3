import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaks, sha256 } from "../rig/bytes";
import { changes, ExampleStack } from "./stack";

const WORKER = "api-worker";
const [A, B, C, D] = ["sk_live_rot_A_1111", "sk_live_rot_B_2222", "sk_live_rot_C_3333", "sk_live_rot_D_4444"];

describe("examples/rotation: rotation and scope changes as reviewed, reversible changes", () => {
  let stack: ExampleStack;
  const current = () => stack.bindingSha256(WORKER, "STRIPE_KEY");
  const previous = () => stack.bindingSha256(WORKER, "STRIPE_KEY_PREVIOUS");
  const copies = async (name = "stripe_api_key_previous") => (await stack.secrets()).filter((s) => s.name === name);
  /** Every secret in the store: the current one and its copy, nothing left over by a retried rotation. */
  const names = async () => (await stack.secrets()).map((s) => s.name).sort();
  const up = async (key: string, config: Record<string, string> = {}) => {
    const result = await stack.run("up", { secrets: { stripeKey: key }, config });
    expect(leaks(result.text, [A, B, C, D])).toEqual([]);
    return result;
  };
  const fault = (rule: Record<string, unknown>) =>
    stack.hook("/__emulator/faults", { method: "POST", body: rule });

  beforeAll(async () => {
    stack = await ExampleStack.start("rotation", {
      stores: [{ name: "default_secrets_store" }],
      workers: [{ name: WORKER, bindings: [{ type: "plain_text", name: "GREETING", text: "hi" }] }],
    });
  });
  afterAll(async () => {
    expect(leaks(stack.stateBytes(), [A, B, C, D, stack.emu.token])).toEqual([]);
    await stack.close();
  });

  it("the previous copy exists from creation, so the fallback binding is valid from the first up", async () => {
    const result = await up(A);
    expect(result.ok).toBe(true);
    expect(await current()).toBe(sha256(A));
    expect(await previous()).toBe(sha256(A));
    expect(result.outputs.stripePreviousName).toBe("stripe_api_key_previous");
  });

  it("a rotation shows in the preview without a value; up copies the live key, then writes the new one", async () => {
    const preview = await stack.run("preview", { secrets: { stripeKey: B } });
    expect(preview.ok).toBe(true);
    expect(preview.text).toMatch(/valueVersion: 1 => 2/);
    expect(leaks(preview.text, [A, B])).toEqual([]);

    const result = await up(B);
    expect(changes(result)).toContain("update stripe");
    expect(await current()).toBe(sha256(B));
    expect(await previous()).toBe(sha256(A));
    expect(await names()).toEqual(["stripe_api_key", "stripe_api_key_previous"]);
  });

  it("reverting the config rotates back: the old key is current, the bad one is kept as previous", async () => {
    const result = await up(A);
    expect(result.outputs.stripeValueVersion).toBe(3);
    expect(await current()).toBe(sha256(A));
    expect(await previous()).toBe(sha256(B));
  });

  it("a fault after the duplicate applied never leaves a second copy", async () => {
    await fault({ method: "POST", path: "/duplicate$", mode: "error-after", times: 1 });
    const before = (await stack.requests()).length;
    // The client finds the copy that landed instead of sending the duplicate again.
    expect((await up(C)).ok).toBe(true);
    const log = (await stack.requests()).slice(before);
    expect(log.filter((r) => r.path.endsWith("/duplicate")).map((r) => r.status)).toEqual([500]);
    expect((await up(C)).ok).toBe(true);
    expect(await current()).toBe(sha256(C));
    expect(await previous()).toBe(sha256(A));
    expect(await names()).toEqual(["stripe_api_key", "stripe_api_key_previous"]);
  });

  it("an up interrupted after the copy, before the value write, is completed by the next up", async () => {
    await fault({ method: "PATCH", path: "/secrets/[0-9a-f]{32}$", mode: "error-after", status: 500, times: 1 });
    const failed = await up(D);
    expect(failed.ok).toBe(false);
    const finished = await up(D);
    expect(finished.ok).toBe(true);
    expect(await current()).toBe(sha256(D));
    expect(await previous()).toBe(sha256(C)); // not D: the copy made before the interruption is kept
    expect(await names()).toEqual(["stripe_api_key", "stripe_api_key_previous"]);
  });

  it("removing `workers` from a bound secret fails at preview, naming the binding, with no write", async () => {
    const before = (await stack.requests()).length;
    const preview = await stack.run("preview", { secrets: { stripeKey: D }, config: { scopes: '["ai_gateway"]' } });
    expect(preview.ok).toBe(false);
    const messages = preview.failures.map((f) => `${f.urn} ${f.message}`).join("\n");
    expect(messages).toMatch(/stripe-current/);
    expect(messages).toMatch(/STRIPE_KEY.*`workers` scope/);
    expect((await stack.requests()).slice(before).filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("a rename keeps the value; bindings move to the new name before the old secret is deleted", async () => {
    const before = (await stack.requests()).length;
    const result = await up(D, { secretName: "stripe_live_key" });
    expect(result.ok).toBe(true);
    expect(await current()).toBe(sha256(D));
    expect(await previous()).toBe(sha256(D)); // the new secret's copy starts as a duplicate of its first value
    const log = (await stack.requests()).slice(before);
    const bindingMoved = log.findIndex((r) => r.method === "PATCH" && r.path.endsWith(`/workers/scripts/${WORKER}/settings`));
    const oldDeleted = log.findIndex((r) => r.method === "DELETE" && /\/secrets\/[0-9a-f]{32}$/.test(r.path));
    expect(bindingMoved).toBeGreaterThanOrEqual(0);
    expect(oldDeleted).toBeGreaterThan(bindingMoved);
    expect(await names()).toEqual(["stripe_live_key", "stripe_live_key_previous"]);
  });

  it("keepPrevious: false removes the fallback binding first, then the copy", async () => {
    const before = (await stack.requests()).length;
    const result = await up(D, { secretName: "stripe_live_key", keepPrevious: "false" });
    expect(result.ok).toBe(true);
    const log = (await stack.requests()).slice(before);
    const unbound = log.findIndex((r) => r.method === "PATCH" && r.path.endsWith("/settings"));
    const copyDeleted = log.findIndex((r) => r.method === "DELETE");
    expect(unbound).toBeGreaterThanOrEqual(0);
    expect(copyDeleted).toBeGreaterThan(unbound);
    expect((await stack.bindings(WORKER)).map((b) => b.name).sort()).toEqual(["GREETING", "STRIPE_KEY"]);
    expect(await copies("stripe_live_key_previous")).toEqual([]);
    expect(await current()).toBe(sha256(D));
  });

  it("destroy removes the secret, its bindings, and leaves the Worker's own binding", async () => {
    const result = await stack.run("destroy", { secrets: { stripeKey: D }, config: { secretName: "stripe_live_key", keepPrevious: "false" } });
    expect(result.ok).toBe(true);
    expect(await stack.secrets()).toEqual([]);
    expect((await stack.bindings(WORKER)).map((b) => b.name)).toEqual(["GREETING"]);
  });
});
