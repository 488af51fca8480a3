import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leaks, sha256 } from "../rig/bytes";
import { changes, CliStack, errors } from "./stack";

const WORKER = "api-worker";
const [A, B, C, D] = ["sk_live_rot_A_1111", "sk_live_rot_B_2222", "sk_live_rot_C_3333", "sk_live_rot_D_4444"];

describe("examples/rotation through the real pulumi CLI: rotation and scope changes as reviewed, reversible changes", () => {
  let stack: CliStack;
  const current = () => stack.bindingSha256(WORKER, "STRIPE_KEY");
  const previous = () => stack.bindingSha256(WORKER, "STRIPE_KEY_PREVIOUS");
  /** Every secret in the store: the current one and its copy, nothing left over by a retried rotation. */
  const names = async () => (await stack.secrets()).map((s) => s.name).sort();
  const up = async (key: string, config: Record<string, string> = {}) => {
    await stack.configure(config, { stripeKey: key });
    const result = await stack.up();
    expect(leaks(result.stdout + result.stderr, [A, B, C, D])).toEqual([]);
    return result;
  };

  beforeAll(async () => {
    stack = await CliStack.start("rotation", {
      stores: [{ name: "default_secrets_store" }],
      workers: [{ name: WORKER, bindings: [{ type: "plain_text", name: "GREETING", text: "hi" }] }],
    });
  });
  afterAll(async () => {
    const values = [A, B, C, D, stack.emu.token];
    // Only the default provider's config holds them (encrypted); no resource of ours does.
    const exported = await stack.export(true);
    const ours = (exported.deployment.resources ?? []).filter((r) => !r.type.startsWith("pulumi:providers:"));
    expect(leaks(JSON.stringify(ours), values)).toEqual([]);
    expect(leaks(stack.pulumi.storedText(), values)).toEqual([]);
    await stack.close();
  });

  it("the previous copy exists from creation, so the fallback binding is valid from the first up", async () => {
    const result = await up(A);
    expect(errors(result)).toBe("");
    expect(await current()).toBe(sha256(A));
    expect(await previous()).toBe(sha256(A));
    // Each copy is named for the value version it holds.
    expect((await stack.outputs()).stripePreviousName).toBe("stripe_api_key_previous_v1");
  });

  it("a rotation shows in the preview without a value; up copies the live key, then writes the new one", async () => {
    await stack.configure({}, { stripeKey: B });
    const preview = await stack.pulumi.run(["preview", "--diff"]);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/valueVersion\s*:\s*1 => 2/);
    // The preview names the plan, without a value: the copy made at creation already holds version 1.
    expect(preview.stdout).toMatch(/rotationPlan\s*:\s*"keep stripe_api_key_previous_v1 \(it holds version 1, the live value\), then write version 2"/);
    expect(leaks(preview.stdout + preview.stderr, [A, B])).toEqual([]);

    const result = await up(B);
    expect(changes(result)).toContain("update stripe");
    // Once done, the next preview is empty again.
    const quiet = await stack.pulumi.run(["preview", "--diff", "--expect-no-changes"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).not.toMatch(/rotationPlan/);
    expect(await current()).toBe(sha256(B));
    expect(await previous()).toBe(sha256(A));
    expect(await names()).toEqual(["stripe_api_key", "stripe_api_key_previous_v1"]);
  });

  it("reverting the config rotates back: the old key is current, the bad one is kept as previous", async () => {
    await stack.configure({}, { stripeKey: A });
    const preview = await stack.pulumi.run(["preview", "--diff"]);
    expect(preview.stdout).toMatch(
      /rotationPlan\s*:[^\n]*"copy the live value \(version 2\) to stripe_api_key_previous_v2, then write version 3; the fallback bindings move to stripe_api_key_previous_v2 before stripe_api_key_previous_v1 is deleted"/,
    );
    // The copy's name, its resource's replacement and the fallback binding's move are all in the preview.
    expect(preview.stdout).toMatch(/copyName\s*:\s*"stripe_api_key_previous_v1" => "stripe_api_key_previous_v2"/);
    expect(preview.stdout).toMatch(/PreviousSecretCopy: \(replace\)/);
    expect(preview.stdout).toMatch(/secretName\s*:\s*"stripe_api_key_previous_v1" => "stripe_api_key_previous_v2"/);
    const { result, requests } = await stack.requestsDuring(() => up(A));
    expect(result.ok).toBe(true);
    // The fallback moves to the new copy before the old copy is deleted.
    const moved = requests.findIndex((r) => r.method === "PATCH" && r.path.endsWith(`/workers/scripts/${WORKER}/settings`));
    const oldCopyDeleted = requests.findIndex((r) => r.method === "DELETE");
    expect(moved).toBeGreaterThanOrEqual(0);
    expect(oldCopyDeleted).toBeGreaterThan(moved);
    expect((await stack.outputs()).stripeValueVersion).toBe(3);
    expect((await stack.outputs()).stripePreviousName).toBe("stripe_api_key_previous_v2");
    expect(await current()).toBe(sha256(A));
    expect(await previous()).toBe(sha256(B));
    expect(await names()).toEqual(["stripe_api_key", "stripe_api_key_previous_v2"]);
  });

  it("a fault after the duplicate applied never leaves a second copy", async () => {
    await stack.fault({ method: "POST", path: "/duplicate$", mode: "error-after", times: 1 });
    const first = await stack.requestsDuring(() => up(C));
    // The client finds the copy that landed instead of sending the duplicate again.
    expect(first.result.ok).toBe(true);
    expect(first.requests.filter((r) => r.path.endsWith("/duplicate")).map((r) => r.status)).toEqual([500]);
    expect((await up(C)).ok).toBe(true);
    expect(await current()).toBe(sha256(C));
    expect(await previous()).toBe(sha256(A));
    expect(await names()).toEqual(["stripe_api_key", "stripe_api_key_previous_v3"]);
  });

  it("an up interrupted after the copy, before the value write, is completed by the next up", async () => {
    await stack.fault({ method: "PATCH", path: "/secrets/[0-9a-f]{32}$", mode: "error-after", status: 500, times: 1 });
    const failed = await up(D);
    expect(failed.ok).toBe(false);
    expect(errors(failed)).toMatch(/stripe/);
    const finished = await up(D);
    expect(finished.ok).toBe(true);
    expect(await current()).toBe(sha256(D));
    expect(await previous()).toBe(sha256(C)); // not D: the copy made before the interruption is kept
    expect(await names()).toEqual(["stripe_api_key", "stripe_api_key_previous_v4"]);
  });

  it("removing `workers` from a bound secret fails at preview, naming the Workers and bindings, with no write", async () => {
    await stack.configure({ scopes: '["ai_gateway"]' });
    const preview = await stack.requestsDuring(() => stack.preview());
    await stack.pulumi.removeConfig("scopes");
    expect(preview.result.ok).toBe(false);
    const messages = errors(preview.result);
    expect(messages).toMatch(/Refusing to remove the `workers` scope from secret "stripe_api_key"/);
    expect(messages).toMatch(/Worker "api-worker" binds "stripe_api_key" as STRIPE_KEY/);
    expect(messages).toMatch(/Worker "api-worker" binds "stripe_api_key_previous_v4" as STRIPE_KEY_PREVIOUS/);
    expect(preview.writes).toEqual([]);
  });

  it("a rename keeps the value; bindings move to the new name before the old secret is deleted", async () => {
    const { result, requests } = await stack.requestsDuring(() => up(D, { secretName: "stripe_live_key" }));
    expect(errors(result)).toBe("");
    expect(await current()).toBe(sha256(D));
    expect(await previous()).toBe(sha256(D)); // the new secret's copy starts as a duplicate of its first value
    const bindingMoved = requests.findIndex((r) => r.method === "PATCH" && r.path.endsWith(`/workers/scripts/${WORKER}/settings`));
    const oldDeleted = requests.findIndex((r) => r.method === "DELETE" && /\/secrets\/[0-9a-f]{32}$/.test(r.path));
    expect(bindingMoved).toBeGreaterThanOrEqual(0);
    expect(oldDeleted).toBeGreaterThan(bindingMoved);
    expect(await names()).toEqual(["stripe_live_key", "stripe_live_key_previous_v1"]);
  });

  it("keepPrevious: false removes the fallback binding first, then the copy", async () => {
    const { result, requests } = await stack.requestsDuring(() => up(D, { keepPrevious: "false" }));
    expect(errors(result)).toBe("");
    const unbound = requests.findIndex((r) => r.method === "PATCH" && r.path.endsWith("/settings"));
    const copyDeleted = requests.findIndex((r) => r.method === "DELETE");
    expect(unbound).toBeGreaterThanOrEqual(0);
    expect(copyDeleted).toBeGreaterThan(unbound);
    expect((await stack.bindings(WORKER)).map((b) => b.name).sort()).toEqual(["GREETING", "STRIPE_KEY"]);
    expect(await names()).toEqual(["stripe_live_key"]);
    expect(await current()).toBe(sha256(D));
  });

  it("destroy removes the secret, its bindings, and leaves the Worker's own binding", async () => {
    expect((await stack.destroy()).ok).toBe(true);
    expect(await stack.secrets()).toEqual([]);
    expect((await stack.bindings(WORKER)).map((b) => b.name)).toEqual(["GREETING"]);
  });
});
