/**
 * The engine flows users run beyond a plain `up`, through the real pulumi CLI: `ignoreChanges`,
 * `--replace` and `state taint`, update plans, a failed rotation, `--target`. Each test checks the
 * live objects through the emulator, not only what Pulumi reports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sha256 } from "../rig/bytes";
import { changes, CliStack, errors } from "./stack";
import { must } from "../must";

const PROGRAM = path.join(__dirname, "programs", "flows");
const SEED = {
  stores: [{ name: "default_secrets_store" }],
  workers: [{ name: "api-worker", bindings: [{ type: "plain_text", name: "MODE", text: "prod" }] }],
};
const [A, B, C] = ["flow-value-A-0001", "flow-value-B-0002", "flow-value-C-0003"];
const SECRET_PATCH = /\/secrets\/[0-9a-f]{32}$/;

describe("engine flows through the real pulumi CLI", () => {
  let stack: CliStack;
  afterEach(() => stack?.close());

  const start = async (config: Record<string, string> = {}) => {
    stack = await CliStack.start(PROGRAM, SEED, { secrets: { value: A }, config });
    const up = await stack.up();
    expect(errors(up)).toBe("");
  };
  const liveSecret = async () => (await stack.secrets()).find((s) => s.name === "api_key");
  const liveSecretId = async () => must(await liveSecret(), "the live api_key secret").id;
  const boundSha = () => stack.bindingSha256("api-worker", "API_KEY");

  /** After any flow: the state's ids point at live objects, and the Worker's own binding survived. */
  const expectStateMatchesLive = async () => {
    const secret = await stack.resource("StoreSecret", "secret");
    const store = await stack.resource("SecretsStore", "store");
    const live = await liveSecret();
    expect(live?.id).toBe(secret?.id);
    expect((await stack.stores()).map((s) => s.id)).toEqual([store?.id]);
    expect(await boundSha()).toBe(await stack.secretSha256(must(live, "the live api_key secret").id));
    expect((await stack.bindings("api-worker")).map((b) => b.name).sort()).toEqual(["API_KEY", "MODE"]);
  };

  it('ignoreChanges: ["value"] never writes the stored fingerprint as the value', async () => {
    await start();
    await stack.configure({ ignoreValue: "true" });
    const same = await stack.requestsDuring(() => stack.up());
    expect(same.result.ok).toBe(true);
    expect(same.writes).toEqual([]);

    await stack.configure({}, { value: B });
    for (let i = 0; i < 2; i++) {
      const ignored = await stack.requestsDuring(() => stack.up());
      expect(errors(ignored.result)).toBe("");
      expect(ignored.writes).toEqual([]);
    }
    expect(await stack.secretSha256(await liveSecretId())).toBe(sha256(A));
    expect((await stack.outputs()).valueVersion).toBe(1);

    // Un-ignoring writes the program's value once.
    await stack.configure({ ignoreValue: "false" });
    const written = await stack.requestsDuring(() => stack.up());
    expect(written.writes.map((r) => r.method)).toEqual(["PATCH"]);
    expect(await stack.secretSha256(await liveSecretId())).toBe(sha256(B));
    expect((await stack.outputs()).valueVersion).toBe(2);
  });

  it("--replace of an adopted StoreSecret, of the binding and of the store (forceDestroy) deletes nothing that the state keeps", async () => {
    await start({ adopt: "true", forceDestroy: "true" });
    for (const [type, name] of [
      ["StoreSecret", "secret"],
      ["WorkerSecretBinding", "binding"],
      ["SecretsStore", "store"],
    ] as const) {
      const urn = await stack.urn(type, name);
      const replaced = await stack.requestsDuring(() => stack.up("--replace", urn));
      expect(errors(replaced.result)).toBe("");
      expect(changes(replaced.result)).toContain(`replace ${name}`);
      expect(replaced.writes.filter((r) => r.method === "DELETE")).toEqual([]);
      await expectStateMatchesLive();
    }
    expect(await stack.secretSha256(await liveSecretId())).toBe(sha256(A));
    const after = await stack.requestsDuring(() => stack.up());
    expect(after.writes).toEqual([]);
  });

  it("state taint of the secret and the binding is a replacement that keeps both", async () => {
    await start({ adopt: "true" });
    await stack.taint("StoreSecret", "secret");
    await stack.taint("WorkerSecretBinding", "binding");
    const up = await stack.requestsDuring(() => stack.up());
    expect(errors(up.result)).toBe("");
    expect(up.writes.filter((r) => r.method === "DELETE")).toEqual([]);
    await expectStateMatchesLive();
  });

  it("--replace of a StoreSecret without adopt fails at preview, says to set adopt, and writes nothing", async () => {
    await start();
    const before = await liveSecret();
    const urn = await stack.urn("StoreSecret", "secret");
    const replaced = await stack.requestsDuring(() => stack.up("--replace", urn));
    expect(replaced.result.ok).toBe(false);
    expect(errors(replaced.result)).toMatch(/pulumi up --replace.*set `adopt: true` for that run/s);
    expect(replaced.writes).toEqual([]);
    expect(await liveSecret()).toEqual(before);
    await expectStateMatchesLive();
  });

  it("preview --save-plan then up --plan: on a new stack and for a rotation, one write per change", async () => {
    stack = await CliStack.start(PROGRAM, SEED, { secrets: { value: A }, config: { keepPrevious: "true" } });
    const plan = path.join(stack.programDir, "plan.json");
    expect((await stack.pulumi.run(["preview", "--save-plan", plan])).code).toBe(0);
    const created = await stack.requestsDuring(() => stack.up("--plan", plan));
    expect(errors(created.result)).toBe("");
    // create the secret, duplicate it as the previous copy, bind it
    expect(created.writes.map((r) => r.method).sort()).toEqual(["PATCH", "POST", "POST"]);

    await stack.configure({}, { value: B });
    fs.rmSync(plan);
    expect((await stack.pulumi.run(["preview", "--save-plan", plan])).code).toBe(0);
    const rotated = await stack.requestsDuring(() => stack.up("--plan", plan));
    expect(errors(rotated.result)).toBe("");
    expect(rotated.writes.filter((r) => r.method === "PATCH" && SECRET_PATCH.test(r.path))).toHaveLength(1);
    expect(await stack.secretSha256(await liveSecretId())).toBe(sha256(B));
  });

  it("a rotation whose value write failed after landing converges on the reverted value with one PATCH and one copy", async () => {
    await start({ keepPrevious: "true" });
    await stack.configure({}, { value: B });
    await stack.fault({ method: "PATCH", path: SECRET_PATCH.source, mode: "error-after", status: 500, times: 1 });
    const failed = await stack.up();
    expect(failed.ok).toBe(false);
    await stack.hook("/__emulator/faults", { method: "DELETE" });

    await stack.configure({}, { value: A });
    const reverted = await stack.requestsDuring(() => stack.up());
    expect(errors(reverted.result)).toBe("");
    expect(reverted.writes.filter((r) => r.method === "PATCH" && SECRET_PATCH.test(r.path))).toHaveLength(1);
    expect(await stack.secretSha256(await liveSecretId())).toBe(sha256(A));
    // The copy made at creation still holds version 1, the value that was live: kept, not copied again.
    expect((await stack.secrets()).map((s) => s.name).sort()).toEqual(["api_key", "api_key_previous_v1"]);
    const again = await stack.requestsDuring(() => stack.up());
    expect(again.writes).toEqual([]);
  });

  it("--target a secret's rotation, then keepPrevious: false leaves no previous copy behind", async () => {
    await start({ keepPrevious: "true" });
    // Two rotations run alone: the second makes a new copy that the copy's own resource never saw.
    for (const value of [B, C]) {
      await stack.configure({}, { value });
      const targeted = await stack.up("--target", await stack.urn("StoreSecret", "secret"));
      expect(errors(targeted)).toBe("");
      expect(await stack.secretSha256(await liveSecretId())).toBe(sha256(value));
    }
    expect((await stack.secrets()).map((s) => s.name).sort()).toEqual(["api_key", "api_key_previous_v1", "api_key_previous_v2"]);

    await stack.configure({ keepPrevious: "false" });
    const dropped = await stack.up();
    expect(errors(dropped)).toBe("");
    expect((await stack.secrets()).map((s) => s.name)).toEqual(["api_key"]);
  });
});
