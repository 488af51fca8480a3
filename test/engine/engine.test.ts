/**
 * The engine harness, end to end: the fixture program (`fixtures/items`) runs with the real SDK and
 * the real dynamic provider host; its provider writes a fake cloud (a JSON file with a log of every
 * write), so each test checks both what the harness reports and what the provider really did.
 */
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSecret, readState, resourcesByName, runEngine, setConfig, stackOutputs, type EngineResult, type Operation } from "./index";

const REPO_ROOT = path.resolve(__dirname, "../..");
const FIXTURE = path.join(__dirname, "fixtures", "items");
const WORK = path.join(REPO_ROOT, ".rig", "engine-tests");
const PASSPHRASE = "engine-test-passphrase";
const STACK = "dev";
const SECRET = "hunter2-plaintext-secret-value";

interface Cloud {
  items: Record<string, Record<string, unknown>>;
  log: string[];
}

/** A fresh copy of the fixture inside the repository (so `@pulumi/pulumi` resolves), with its cloud file configured. */
async function newProgram(): Promise<string> {
  const dir = path.join(WORK, `items-${crypto.randomBytes(4).toString("hex")}`);
  fs.cpSync(FIXTURE, dir, { recursive: true });
  await setConfig(dir, STACK, "cloudFile", path.join(dir, "cloud.json"), { secret: false });
  return dir;
}

function run(dir: string, operation: Operation, config: Record<string, string> = {}): Promise<EngineResult> {
  return runEngine({ operation, programDir: dir, stack: STACK, config, passphrase: PASSPHRASE });
}

function cloud(dir: string): Cloud {
  const file = path.join(dir, "cloud.json");
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Cloud) : { items: {}, log: [] };
}

async function resources(dir: string) {
  return resourcesByName(await readState(dir, STACK, PASSPHRASE));
}

/** The ops of the non-hidden steps, by resource name (several joined with `+`, in order). */
function ops(result: EngineResult): Record<string, string> {
  const byName: Record<string, string> = {};
  for (const s of result.steps.filter((step) => !step.hidden)) byName[s.name] = byName[s.name] ? `${byName[s.name]}+${s.op}` : s.op;
  return byName;
}

function expectOk(result: EngineResult): void {
  expect(result.failures, result.text).toEqual([]);
  expect(result.ok).toBe(true);
}

beforeAll(() => fs.mkdirSync(WORK, { recursive: true }));

describe("a stack's life: preview, up, update, replace, delete, refresh, destroy", () => {
  let dir: string;
  let config: Record<string, string> = {};
  const logLength = { before: 0 };
  const newLog = () => cloud(dir).log.slice(logLength.before);
  const up = async (changes: Record<string, string> = {}) => {
    config = { ...config, ...changes };
    logLength.before = cloud(dir).log.length;
    const result = await run(dir, "up", config);
    expectOk(result);
    return result;
  };

  beforeAll(async () => {
    dir = await newProgram();
    await setConfig(dir, STACK, "aSecret", SECRET, { secret: true, passphrase: PASSPHRASE });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("preview plans the creates and performs none", async () => {
    const result = await run(dir, "preview");
    expectOk(result);
    expect(ops(result)).toEqual({
      "engine-fixture-dev": "create",
      a: "create",
      b: "create",
      extra: "create",
      "extra-first": "create",
      "extra-second": "create",
    });
    expect(result.text).toContain("+ 6 to create");
    expect(cloud(dir).log).toEqual([]);
    expect(fs.existsSync(result.statePath)).toBe(false);
  });

  it("up creates everything and outputs flow to dependents", async () => {
    const result = await up();
    expect(result.text).toContain("+ 6 created");
    const items = cloud(dir).items;
    const byName = Object.fromEntries(Object.entries(items).map(([id, item]) => [item.name, { id, ...item }]));
    expect(byName.beta.ref).toBe(byName.alpha.id);
    expect(byName.delta.ref).toBe(byName.gamma.id);
    expect(result.outputs.aId).toBe(byName.alpha.id);
    expect(result.outputs.bRef).toBe(byName.alpha.id);
    const state = await resources(dir);
    expect(state.get("b")?.id).toBe(byName.beta.id);
    expect(state.get("b")?.dependencies).toContain(state.get("a")?.urn);
    expect(state.get("extra-first")?.parent).toBe(state.get("extra")?.urn);
  });

  it("keeps secrets secret: encrypted in the state and the config file, never printed", async () => {
    const checkpoint = await readState(dir, STACK, PASSPHRASE);
    const a = resourcesByName(checkpoint).get("a");
    expect(isSecret(a?.inputs.secret) && a?.inputs.secret.value).toBe(SECRET);
    expect(isSecret(a?.outputs.secret) && a?.outputs.secret.value).toBe(SECRET);
    const b = resourcesByName(checkpoint).get("b");
    expect(isSecret(b?.outputs.value)).toBe(true); // additionalSecretOutputs
    expect(isSecret(b?.inputs.value)).toBe(false);
    expect(isSecret(stackOutputs(checkpoint).secretEcho)).toBe(true);
    const statePath = path.join(dir, ".pulumi", "stacks", `${STACK}.json`);
    expect(fs.readFileSync(statePath, "utf8")).not.toContain(SECRET);
    expect(fs.readFileSync(path.join(dir, `Pulumi.${STACK}.yaml`), "utf8")).not.toContain(SECRET);
    const result = await run(dir, "preview", config);
    expect(result.text).toContain("secretEcho: [secret]");
    expect(result.text).not.toContain(SECRET);
    await expect(readState(dir, STACK, "wrong passphrase")).rejects.toThrow(/incorrect passphrase/);
  });

  it("a second up changes nothing and makes no provider writes", async () => {
    const result = await up();
    expect(new Set(Object.values(ops(result)))).toEqual(new Set(["same"]));
    expect(result.text).toContain("6 unchanged");
    expect(newLog()).toEqual([]);
  });

  it("an input change updates in place and shows the change", async () => {
    const result = await up({ aValue: "2", strictRef: "true" });
    expect(ops(result)).toMatchObject({ a: "update", b: "update", extra: "same" });
    expect(result.steps.find((s) => s.name === "a")?.changedKeys).toEqual(["value"]);
    expect(result.text).toContain('~ value: "1" => "2"');
    expect(newLog()).toEqual([expect.stringMatching(/^update (alpha|beta) /), expect.stringMatching(/^update (alpha|beta) /)]);
  });

  it("a replacement is create-before-delete, old copies deleted last, dependents first", async () => {
    const before = await resources(dir);
    const result = await up({ aName: "alpha2" });
    expect(ops(result)).toMatchObject({ a: "replace+delete-replaced", b: "replace+delete-replaced" });
    expect(result.steps.find((s) => s.name === "a" && s.op === "replace")?.replaceKeys).toEqual(["name"]);
    expect(result.text).toContain('+- name: "alpha" => "alpha2" (forces replacement)');
    const oldA = before.get("a")?.id;
    const oldB = before.get("b")?.id;
    const log = newLog();
    expect(log.slice(0, 2)).toEqual([expect.stringMatching(/^create alpha2 /), expect.stringMatching(/^create beta /)]);
    expect(log.slice(2)).toEqual([`delete beta ${oldB}`, `delete alpha ${oldA}`]);
    const after = await resources(dir);
    expect(after.get("b")?.inputs.ref).toBe(after.get("a")?.id);
    expect((await readState(dir, STACK, PASSPHRASE))?.resources.some((r) => r.delete)).toBe(false);
  });

  it("delete-before-replace deletes first, and first the dependents it would replace", async () => {
    const before = await resources(dir);
    const result = await up({ aName: "alpha3", dbr: "true" });
    expect(ops(result)).toMatchObject({ a: "replace", b: "replace" });
    expect(result.steps.find((s) => s.name === "a")?.deleteBeforeReplace).toBe(true);
    expect(newLog()).toEqual([
      `delete beta ${before.get("b")?.id}`,
      `delete alpha2 ${before.get("a")?.id}`,
      expect.stringMatching(/^create alpha3 /),
      expect.stringMatching(/^create beta /),
    ]);
  });

  it("resources removed from the program are deleted after everything else, dependents first", async () => {
    const before = await resources(dir);
    const result = await up({ withExtra: "false", bValue: "9" });
    expect(ops(result)).toMatchObject({ b: "update", extra: "delete", "extra-first": "delete", "extra-second": "delete" });
    const order = result.steps.filter((s) => !s.hidden && s.op !== "same").map((s) => s.name);
    expect(order).toEqual(["b", "extra-second", "extra-first", "extra"]);
    expect(newLog()).toEqual([
      expect.stringMatching(/^update beta /),
      `delete delta ${before.get("extra-second")?.id}`,
      `delete gamma ${before.get("extra-first")?.id}`,
    ]);
    expect([...(await resources(dir)).keys()].filter((n) => n.startsWith("extra"))).toEqual([]);
  });

  it("refresh picks up an outside change and drops a vanished resource", async () => {
    const state = await resources(dir);
    const file = path.join(dir, "cloud.json");
    const data = JSON.parse(fs.readFileSync(file, "utf8")) as Cloud;
    data.items[state.get("a")?.id as string].value = "changed outside";
    delete data.items[state.get("b")?.id as string];
    fs.writeFileSync(file, JSON.stringify(data));
    const result = await run(dir, "refresh");
    expectOk(result);
    expect(ops(result)).toMatchObject({ a: "update", b: "delete" });
    expect(result.text).toContain('~ value: "2" => "changed outside"');
    const after = await resources(dir);
    expect(after.get("a")?.outputs.value).toBe("changed outside");
    expect(after.has("b")).toBe(false);
  });

  it("destroy deletes everything and empties the state", async () => {
    const result = await run(dir, "destroy");
    expectOk(result);
    expect(Object.values(ops(result)).every((op) => op === "delete")).toBe(true);
    expect(cloud(dir).items).toEqual({});
    expect((await readState(dir, STACK, PASSPHRASE))?.resources).toEqual([]);
  });
});

describe("failures", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("a check failure fails the preview with its message and writes nothing", async () => {
    const dir = await newProgram();
    dirs.push(dir);
    const result = await run(dir, "preview", { badSize: "true" });
    expect(result.ok).toBe(false);
    const message = "pulumi-nodejs:dynamic/fixture:Item resource 'bad': property size value {-1} has a problem: size must not be negative";
    expect(result.failures.map((f) => f.message)).toEqual([message]);
    expect(result.text).toContain(`error: ${message}`);
    expect(fs.existsSync(result.statePath)).toBe(false);
    expect(fs.existsSync(path.join(dir, "cloud.json"))).toBe(false);
  });

  it("an interrupted create (partial initialization) leaves a state the next up completes", async () => {
    const dir = await newProgram();
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, "cloud.json"), JSON.stringify({ nextId: 1, items: {}, log: [], failInit: ["beta"] }));
    const first = await run(dir, "up");
    expect(first.ok).toBe(false);
    expect(first.failures[0].message).toContain("beta was created but did not become ready");
    expect(first.text).toContain("**creating failed**");
    const b = (await resources(dir)).get("b");
    expect(b?.id).toMatch(/^item-/);
    expect(b?.initErrors).toEqual(["the item is not ready"]);

    const second = await run(dir, "up");
    expectOk(second);
    expect(ops(second).b).toBe("update");
    const after = (await resources(dir)).get("b");
    expect(after?.id).toBe(b?.id);
    expect(after?.initErrors).toBeUndefined();
    expect(cloud(dir).items[b?.id as string].ready).toBe(true);
    expect(Object.keys(cloud(dir).items)).toHaveLength(4);
  });

  it("the CLI prints the plan, masks secrets and exits non-zero on failure", async () => {
    const dir = await newProgram();
    dirs.push(dir);
    const cli = path.join(__dirname, "cli.ts");
    const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const env = { ...process.env, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
    await promisify(execFile)(tsx, [cli, "config", "set", "--secret", "aSecret", SECRET, dir, "--stack", STACK], { env });
    const failed = await promisify(execFile)(tsx, [cli, "preview", dir, "--stack", STACK, "--config", "badSize=true"], { env }).then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain("Previewing update (dev):");
    expect(failed?.stdout).toContain("has a problem: size must not be negative");
    const ok = await promisify(execFile)(tsx, [cli, "preview", dir, "--stack", STACK], { env });
    expect(ok.stdout).toContain("+ 6 to create");
    expect(ok.stdout).not.toContain(SECRET);
  });
});
