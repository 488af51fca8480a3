/**
 * Several stacks in one account, through the real pulumi CLI: they share the account's one store
 * and the same Workers, run at the same moment, and another writer binds a secret while one stack
 * deletes it. No write may lose another writer's work.
 */
import * as fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import * as path from "node:path";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator";
import { emulatorFetch, requestLog, type RequestLogEntry } from "../../tools/emulator-client";
import { stageProgram } from "../../tools/packed-package";
import { PulumiStack, type Deployment } from "../../tools/pulumi-cli";
import { sha256 } from "../rig/bytes";
import { PASSPHRASE, errors } from "./stack";
import { must } from "../must";

const PROGRAM = path.join(__dirname, "programs", "shared");
const WORKERS = ["shared-worker-a", "shared-worker-b"];
const SEED = {
  stores: [{ name: "default_secrets_store" }],
  workers: WORKERS.map((name) => ({ name, bindings: [{ type: "plain_text", name: "OWN", text: name }] })),
};
const writes = (log: RequestLogEntry[]) => log.filter((r) => r.method !== "GET");

describe("stacks that share an account's store and Workers", () => {
  let emu: RunningEmulator | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await emu?.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  const start = async (options: EmulatorOptions) => {
    emu = await startEmulator({ port: 0, seed: SEED, ...options });
    return emu;
  };
  /** A stack of the shared program with its own state, prefix and token. */
  const stackOf = async (e: RunningEmulator, prefix: string, count: number, token: string, config: Record<string, string> = {}) => {
    const programDir = stageProgram(PROGRAM);
    dirs.push(programDir);
    const stack = new PulumiStack({
      programDir,
      stack: prefix,
      passphrase: PASSPHRASE,
      env: { CLOUDFLARE_API_TOKEN: token, CLOUDFLARE_ACCOUNT_ID: e.accountId, CLOUDFLARE_API_BASE_URL: e.url },
    });
    await stack.init();
    for (const [k, v] of Object.entries({ prefix, count: String(count), ...config })) await stack.setConfig(k, v);
    return stack;
  };
  const secretsOf = async (e: RunningEmulator) => {
    const [store] = (await emulatorFetch(e, `/client/v4/accounts/${e.accountId}/secrets_store/stores`)).result as Array<{ id: string }>;
    return store
      ? ((await emulatorFetch(e, `/client/v4/accounts/${e.accountId}/secrets_store/stores/${store.id}/secrets?per_page=100`)).result as Array<{
          id: string;
          name: string;
        }>)
      : [];
  };
  const bindingsOf = async (e: RunningEmulator, worker: string) =>
    ((await emulatorFetch(e, `/client/v4/accounts/${e.accountId}/workers/scripts/${worker}/settings`)).result.bindings as Array<{ name: string }>)
      .map((b) => b.name)
      .sort();
  const bindingSha = (e: RunningEmulator, worker: string, binding: string) =>
    emulatorFetch<{ sha256: string }>(e, `/__emulator/accounts/${e.accountId}/workers/scripts/${worker}/bindings/${binding}/sha256`).then(
      (r) => r.sha256,
      () => undefined,
    );
  const expectAllOk = (runs: Deployment[]) => expect(runs.map(errors)).toEqual(runs.map(() => ""));

  it("4 stacks binding 6 secrets each into the same 2 Workers at the same moment: every binding is there, a further up writes nothing, and concurrent destroys keep the Workers' own bindings", async () => {
    const tokens = ["a", "b", "c", "d"].map((k) => ({ token: `shared-token-${k}-0123456789abcdef012345`, permission: "edit" as const }));
    const e = await start({ latencyMs: 30, tokens });
    const prefixes = ["alpha", "bravo", "charlie", "delta"];
    const stacks = await Promise.all(prefixes.map((p, i) => stackOf(e, p, 6, must(tokens[i], `token ${i}`).token, { workers: WORKERS.join(",") })));

    expectAllOk(await Promise.all(stacks.map((s) => s.up())));
    for (const prefix of prefixes) {
      for (let i = 0; i < 6; i++) {
        const worker = must(WORKERS[i % 2], `Worker ${i % 2}`);
        expect(await bindingSha(e, worker, `${prefix.toUpperCase()}_${i}`), `${worker} ${prefix.toUpperCase()}_${i}`).toBe(sha256(`${prefix}-value-${i}-1`));
      }
    }
    for (const w of WORKERS) expect(await bindingSha(e, w, "OWN")).toBe(sha256(w));

    for (const s of stacks) {
      const before = (await requestLog(e)).length;
      expectAllOk([await s.up()]);
      expect(writes((await requestLog(e)).slice(before))).toEqual([]);
    }

    expectAllOk(await Promise.all(stacks.map((s) => s.destroy())));
    expect(await secretsOf(e)).toEqual([]);
    for (const w of WORKERS) expect(await bindingsOf(e, w)).toEqual(["OWN"]);
    // The adopted store is the account's, shared: every destroy released it, none deleted it.
    expect(((await emulatorFetch(e, `/client/v4/accounts/${e.accountId}/secrets_store/stores`)).result as unknown[]).length).toBe(1);
  });

  it("a secret another writer binds while a stack deletes it is not deleted: the delete reads the Workers again and names the binding", async () => {
    const e = await start({});
    const stack = await stackOf(e, "race", 1, e.token, { workers: must(WORKERS[0], "a Worker") });
    expectAllOk([await stack.up()]);
    const [secret] = await secretsOf(e);

    // Hold the delete's Workers list for 3 s: another writer binds the secret meanwhile (after this
    // stack removed its own binding, which made it read that Worker).
    await emulatorFetch(e, "/__emulator/faults", { method: "POST", body: { method: "GET", path: "/workers/scripts$", mode: "delay:3000", times: 1 } });
    await stack.setConfig("count", "0");
    const removal = stack.up();
    for (let i = 0; i < 400; i++) {
      const log = await requestLog(e);
      if (log.some((r) => r.method === "PATCH" && r.path.endsWith(`/scripts/${WORKERS[0]}/settings`))) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const current = (await emulatorFetch(e, `/client/v4/accounts/${e.accountId}/workers/scripts/${WORKERS[0]}/settings`)).result.bindings as Array<
      Record<string, unknown>
    >;
    const form = new FormData();
    const keep = current.filter((b) => b.name !== "RACE_0").map((b) => (b.type === "secret_text" ? { name: b.name, type: b.type } : b));
    const other = { type: "secrets_store_secret", name: "OTHER_USE", store_id: (secret as unknown as { store_id: string }).store_id, secret_name: "race_0" };
    form.append("settings", new Blob([JSON.stringify({ bindings: [...keep, other] })], { type: "application/json" }), "settings");
    const bound = await fetch(`${e.url}/accounts/${e.accountId}/workers/scripts/${WORKERS[0]}/settings`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${e.token}` },
      body: form,
    });
    expect(bound.status).toBe(200);

    const refused = await removal;
    expect(refused.ok).toBe(false);
    expect(errors(refused)).toMatch(/Refusing to delete secret "race_0".*Worker "shared-worker-a" binds "race_0" as OTHER_USE/s);
    expect((await secretsOf(e)).map((s) => s.name)).toEqual(["race_0"]);
    expect(await bindingSha(e, must(WORKERS[0], "a Worker"), "OTHER_USE")).toBe(sha256("race-value-0-1"));
  });

  it("two stacks that together pass the quota: the one that loses fails with Cloudflare's quota message, nothing half-made, and converges once there is room", async () => {
    const e = await start({ quota: 10 });
    const [one, two] = await Promise.all([stackOf(e, "one", 6, e.token), stackOf(e, "two", 6, e.token)]);
    // Each fits alone, so each preview passes.
    for (const s of [one, two]) expect(errors(await s.preview())).toBe("");
    const runs = await Promise.all([one.up(), two.up()]);
    const failed = runs.filter((r) => !r.ok);
    expect(failed).toHaveLength(1);
    // Cloudflare's refusal at the create, or this provider's at the loser's preview when the winner had already created.
    expect(errors(must(failed[0], "the failed run"))).toMatch(
      /quota_exceeded: the account uses \d+ of its 10 secrets.*\[code: 1003\]|quota 10, in use \d+, this deployment creates \d+/s,
    );

    // Nothing half-made: every secret the loser's state records exists, and every secret of its prefix is in its state.
    const loser = must(runs[0], "the first run").ok ? two : one;
    const prefix = loser === one ? "one" : "two";
    const recorded = ((await loser.export()).deployment.resources ?? []).filter((r) => r.type.endsWith(":StoreSecret")).map((r) => r.id);
    const live = (await secretsOf(e)).filter((s) => s.name.startsWith(`${prefix}_`)).map((s) => s.id);
    expect([...recorded].sort()).toEqual([...live].sort());

    // Room is freed; the loser converges on its next up, and then writes nothing.
    const winner = loser === one ? two : one;
    expectAllOk([await winner.destroy()]);
    expectAllOk([await loser.up()]);
    expect((await secretsOf(e)).filter((s) => s.name.startsWith(`${prefix}_`))).toHaveLength(6);
    const before = (await requestLog(e)).length;
    expectAllOk([await loser.up()]);
    expect(writes((await requestLog(e)).slice(before))).toEqual([]);
  });

  // Its own timeout: the limit makes the rotation wait for a second window (60 s) at least.
  it("4 stacks rotating 50 values each on one token, under a limit of 150 requests per 60 s, all finish", { timeout: 900_000 }, async () => {
    const e = await start({ quota: 1000, rateLimit: 150, rateLimitWindowMs: 60_000 });
    const stacks = await Promise.all(["r1", "r2", "r3", "r4"].map((p) => stackOf(e, p, 50, e.token)));
    expectAllOk(await Promise.all(stacks.map((s) => s.up())));
    await emulatorFetch(e, "/__emulator/requests", { method: "DELETE" });
    for (const s of stacks) await s.setConfig("generation", "2");
    const started = Date.now();
    expectAllOk(await Promise.all(stacks.map((s) => s.up())));
    const seconds = (Date.now() - started) / 1000;
    const log = await requestLog(e);
    const limited = log.filter((r) => r.status === 429).length;
    // For the closing note: the run's time, its 429s, and the time the limit allows at best.
    console.log(`rotation of 4 x 50 values under 150 requests / 60 s: ${seconds.toFixed(1)} s, ${log.length} requests, ${limited} answered 429`);
    expect(log.filter((r) => r.method === "PATCH" && /\/secrets\/[0-9a-f]{32}$/.test(r.path) && r.status === 200)).toHaveLength(200);
  });
});
