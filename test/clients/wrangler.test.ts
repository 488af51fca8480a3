/**
 * wrangler 4 against the emulator, run on the Node 22 that runs this test (wrangler refuses Node
 * 20), values piped on stdin as a user or CI would: `wrangler secrets-store … --remote`, and
 * `wrangler deploy`, `secret put`, `secret bulk` and `secret list` on a module Worker whose
 * config has secrets_store_secrets, vars and a kv_namespaces entry.
 * Independent commands run in parallel: each wrangler start costs about a second.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { sha256 } from "../emulator/helpers";
import { emulatorFetch, requestLog, type Json } from "../../tools/emulator-client";
import { deployWorker, ok, runWrangler, type WranglerRun } from "../rig/wrangler";
import { must } from "../must";

let emu: RunningEmulator;
let home: string;

function wrangler(args: string[], stdin = ""): Promise<WranglerRun> {
  return runWrangler(emu, home, home, ["secrets-store", ...args, "--remote"], stdin);
}

const api = async (p: string) =>
  ((await (await fetch(`${emu.url}/accounts/${emu.accountId}${p}`, { headers: { authorization: `Bearer ${emu.token}` } })).json()) as { result: Json }).result;
const secretHash = async (id: string) => (await emulatorFetch<{ sha256: string }>(emu, `/__emulator/secrets/${id}/sha256`)).sha256;

beforeAll(async () => {
  expect(Number(process.versions.node.split(".")[0]), "wrangler 4 needs Node >= 22: run the tests with `npx vitest`").toBeGreaterThanOrEqual(22);
  emu = await startEmulator({ port: 0 });
  home = fs.mkdtempSync(path.join(os.tmpdir(), "wrangler-home-"));
});

afterAll(async () => {
  await emu?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe("wrangler secrets-store --remote (steps share one emulator, in order)", () => {
  let storeId: string;
  let S: string;
  let apiKeyId: string;
  let otherId: string;
  let copyId: string;

  it("store create", async () => {
    const created = ok(await wrangler(["store", "create", "wrangler-store"]));
    storeId = /Created store! \(Name: wrangler-store, ID: ([0-9a-f]{32})\)/.exec(created.stdout)?.[1] ?? "";
    expect(storeId, created.stdout).toMatch(/^[0-9a-f]{32}$/);
    S = `/secrets_store/stores/${storeId}`;
    expect(await api(S)).toMatchObject({ id: storeId, name: "wrangler-store" });
  });

  it("store list; secret create with values piped on stdin; a second store is refused (1003)", async () => {
    const [list, apiKey, other, secondStore] = await Promise.all([
      wrangler(["store", "list"]),
      wrangler(["secret", "create", storeId, "--name", "API_KEY", "--scopes", "workers", "--comment", "created via stdin"], "piped-secret-value\n"),
      wrangler(["secret", "create", storeId, "--name", "OTHER_KEY", "--scopes", "workers,ai_gateway"], "other value\n"),
      wrangler(["store", "create", "second-store"]),
    ]);
    expect(ok(list).stdout).toContain(storeId);
    expect(ok(apiKey).stdout).toMatch(/Created secret! \(ID: [0-9a-f]{32}\)/);
    ok(other);
    expect(secondStore.code).toBe(1);
    expect(secondStore.stderr).toMatch(/maximum_stores_exceeded.*\[code: 1003\]/);

    const secrets: Array<{ id: string; name: string; scopes: string[]; comment: string }> = await api(`${S}/secrets`);
    const byName = Object.fromEntries(secrets.map((s) => [s.name, s]));
    expect(byName.API_KEY).toMatchObject({ scopes: ["workers"], comment: "created via stdin" });
    expect(byName.OTHER_KEY).toMatchObject({ scopes: ["ai_gateway", "workers"] });
    apiKeyId = must(byName.API_KEY, "the secret API_KEY").id;
    otherId = must(byName.OTHER_KEY, "the secret OTHER_KEY").id;
    expect(await secretHash(apiKeyId)).toBe(sha256("piped-secret-value"));
    expect(await secretHash(otherId)).toBe(sha256("other value"));
  });

  it("secret list and get; an unknown secret (1001) and a non-empty store delete (409) fail with exit 1", async () => {
    const [secretList, get, unknown, storeDelete] = await Promise.all([
      wrangler(["secret", "list", storeId]),
      wrangler(["secret", "get", storeId, "--secret-id", apiKeyId]),
      wrangler(["secret", "get", storeId, "--secret-id", "0".repeat(32)]),
      wrangler(["store", "delete", storeId]),
    ]);
    expect(ok(secretList).stdout).toContain(apiKeyId);
    expect(secretList.stdout).toContain(otherId);
    expect(ok(get).stdout).toMatch(/API_KEY.*active/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/secret_not_found.*\[code: 1001\]/);
    expect(storeDelete.code).toBe(1);
    expect(storeDelete.stderr).toMatch(/store_not_empty.*\[code: 1003\]/);
    expect(await api(S)).toMatchObject({ id: storeId });
  });

  it("secret update: new value on stdin, scopes and comment", async () => {
    ok(
      await wrangler(
        ["secret", "update", storeId, "--secret-id", apiKeyId, "--scopes", "workers,ai_gateway", "--comment", "updated comment"],
        "rotated-value\n",
      ),
    );
    expect(await secretHash(apiKeyId)).toBe(sha256("rotated-value"));
    expect(await api(`${S}/secrets/${apiKeyId}`)).toMatchObject({ scopes: ["ai_gateway", "workers"], comment: "updated comment" });
  });

  it("secret duplicate: the same value under a new name", async () => {
    const dup = ok(await wrangler(["secret", "duplicate", storeId, "--secret-id", apiKeyId, "--name", "API_KEY_COPY", "--scopes", "workers"]));
    copyId = /Duplicated secret! \(ID: ([0-9a-f]{32})\)/.exec(dup.stdout)?.[1] ?? "";
    expect(copyId, dup.stdout).toMatch(/^[0-9a-f]{32}$/);
    expect(await secretHash(copyId)).toBe(sha256("rotated-value"));
    expect(await api(`${S}/secrets/${copyId}`)).toMatchObject({ name: "API_KEY_COPY", scopes: ["workers"], comment: "" });
  });

  it("secret delete, then store delete; an empty store list exits 1", async () => {
    (await Promise.all([apiKeyId, otherId, copyId].map((id) => wrangler(["secret", "delete", storeId, "--secret-id", id])))).forEach(ok);
    expect(await api(`${S}/secrets`)).toEqual([]);
    ok(await wrangler(["store", "delete", storeId]));
    const empty = await wrangler(["store", "list"]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/List request returned no stores/);

    const log = await requestLog(emu);
    expect(log.filter((r) => r.method === "POST" && r.path.endsWith("/secrets")).map((r) => r.status)).toEqual([200, 200]);
    expect(log.filter((r) => r.method === "PATCH").map((r) => r.status)).toEqual([200]);
    expect(log.filter((r) => r.method === "DELETE").map((r) => r.status)).toEqual([409, 202, 202, 202, 200]);
  });
});

describe("wrangler deploy and Worker secrets (steps share one emulator, in order)", () => {
  const STORE = "5".repeat(32);
  let target: RunningEmulator;
  let project: string;
  let tomlProject: string;

  const run = (args: string[], stdin = "", cwd = project) => runWrangler(target, home, cwd, args, stdin);
  const result = async (p: string) => (await emulatorFetch(target, `/client/v4/accounts/${target.accountId}${p}`)).result;
  const bindings = async (worker = "deployed-worker"): Promise<Array<Record<string, unknown>>> =>
    (await result(`/workers/scripts/${worker}/settings`)).bindings;
  const bindingHash = async (binding: string, worker = "deployed-worker") =>
    (await emulatorFetch<{ sha256: string }>(target, `/__emulator/accounts/${target.accountId}/workers/scripts/${worker}/bindings/${binding}/sha256`)).sha256;
  const CONFIG_BINDINGS = [
    { name: "GREETING", type: "plain_text", text: "hello from vars" },
    { name: "CACHE", type: "kv_namespace", namespace_id: "c".repeat(32) },
    { name: "API_KEY", type: "secrets_store_secret", store_id: STORE, secret_name: "STRIPE_KEY" },
  ];
  const sorted = (list: Array<Record<string, unknown>>) => [...list].sort((a, b) => String(a.name).localeCompare(String(b.name)));

  beforeAll(async () => {
    target = await startEmulator({
      port: 0,
      seed: {
        stores: [{ name: "default_secrets_store", id: STORE }],
        secrets: [
          { store: STORE, name: "STRIPE_KEY", value: "sk_live_from_the_store", scopes: ["workers"] },
          { store: STORE, name: "ADDED_BY_API", value: "api-added-value", scopes: ["workers"] },
        ],
      },
    });
    const worker = "export default { async fetch(req, env) { return new Response(await env.API_KEY.get()); } };\n";
    project = fs.mkdtempSync(path.join(home, "deploy-jsonc-"));
    fs.writeFileSync(path.join(project, "index.js"), worker);
    fs.writeFileSync(
      path.join(project, "wrangler.jsonc"),
      `// A module Worker with a Secrets Store binding, a var and a KV namespace.
{
  "name": "deployed-worker",
  "main": "index.js",
  "compatibility_date": "2025-06-01",
  "vars": { "GREETING": "hello from vars" },
  "kv_namespaces": [{ "binding": "CACHE", "id": "${"c".repeat(32)}" }],
  "secrets_store_secrets": [{ "binding": "API_KEY", "store_id": "${STORE}", "secret_name": "STRIPE_KEY" }],
}
`,
    );
    tomlProject = fs.mkdtempSync(path.join(home, "deploy-toml-"));
    fs.writeFileSync(path.join(tomlProject, "index.js"), worker);
    fs.writeFileSync(
      path.join(tomlProject, "wrangler.toml"),
      `name = "toml-worker"
main = "index.js"
compatibility_date = "2025-06-01"

[vars]
GREETING = "hello from toml"

[[kv_namespaces]]
binding = "CACHE"
id = "${"d".repeat(32)}"

[[secrets_store_secrets]]
binding = "API_KEY"
store_id = "${STORE}"
secret_name = "STRIPE_KEY"
`,
    );
  });

  afterAll(async () => {
    await target?.close();
  });

  it("wrangler deploy (wrangler.jsonc and wrangler.toml): the Workers get the secrets_store_secret, plain_text and kv_namespace bindings", async () => {
    const [jsonc, toml] = await Promise.all([run(["deploy"]), run(["deploy"], "", tomlProject)]);
    ok(jsonc);
    ok(toml);
    const version = /Current Version ID: ([0-9a-f-]{36})/.exec(jsonc.stdout)?.[1];
    expect(version, jsonc.stdout).toBeDefined();
    expect(jsonc.stdout).toContain("https://deployed-worker.emulator.workers.dev");
    expect(sorted(await bindings())).toEqual(sorted(CONFIG_BINDINGS));
    expect(sorted(await bindings("toml-worker"))).toEqual(
      sorted([
        { name: "GREETING", type: "plain_text", text: "hello from toml" },
        { name: "CACHE", type: "kv_namespace", namespace_id: "d".repeat(32) },
        { name: "API_KEY", type: "secrets_store_secret", store_id: STORE, secret_name: "STRIPE_KEY" },
      ]),
    );
    expect(await bindingHash("API_KEY")).toBe(sha256("sk_live_from_the_store"));
    expect(await bindingHash("GREETING")).toBe(sha256("hello from vars"));
    expect((await result("/workers/scripts/deployed-worker/settings")).compatibility_date).toBe("2025-06-01");
    expect((await result("/workers/scripts/deployed-worker/deployments")).deployments[0].versions).toEqual([{ version_id: version, percentage: 100 }]);
    // No route wrangler needed is missing: the only 404s are its "does this Worker exist yet?" probes.
    const log = await requestLog(target);
    const failed = log.filter((r) => r.status >= 400).map((r) => `${r.method} ${r.path.replace(/.*\/workers\//, "")} ${r.status}`);
    expect(new Set(failed)).toEqual(
      new Set(
        ["deployed-worker", "toml-worker"].flatMap((w) => [
          `GET services/${w} 404`,
          `GET scripts/${w}/secrets 404`,
          `GET scripts/${w}/deployments 404`,
          `GET scripts/${w}/settings 404`,
        ]),
      ),
    );
  });

  it("wrangler secret put: the value from stdin; every other binding survives; the binding yields the value", async () => {
    const put = ok(await run(["secret", "put", "LEGACY_TOKEN"], "legacy-secret-value\n"));
    expect(put.stdout).toContain("Success! Uploaded secret LEGACY_TOKEN");
    expect(sorted(await bindings())).toEqual(sorted([...CONFIG_BINDINGS, { name: "LEGACY_TOKEN", type: "secret_text" }]));
    expect(await bindingHash("LEGACY_TOKEN")).toBe(sha256("legacy-secret-value"));
    expect(await bindingHash("API_KEY")).toBe(sha256("sk_live_from_the_store"));
  });

  it("wrangler secret bulk (JSON file) and secret list", async () => {
    fs.writeFileSync(path.join(project, "secrets.json"), JSON.stringify({ BULK_A: "bulk-a-value", BULK_B: "bulk-b-value", LEGACY_TOKEN: "legacy-rotated" }));
    const bulk = ok(await run(["secret", "bulk", "secrets.json"]));
    expect(bulk.stdout).toMatch(/3 secrets successfully created/);
    expect(await bindingHash("BULK_A")).toBe(sha256("bulk-a-value"));
    expect(await bindingHash("BULK_B")).toBe(sha256("bulk-b-value"));
    expect(await bindingHash("LEGACY_TOKEN")).toBe(sha256("legacy-rotated"));
    const list = ok(await run(["secret", "list"]));
    expect(JSON.parse(list.stdout.slice(list.stdout.indexOf("[")))).toEqual([
      { name: "LEGACY_TOKEN", type: "secret_text" },
      { name: "BULK_A", type: "secret_text" },
      { name: "BULK_B", type: "secret_text" },
    ]);
    expect(list.stdout).not.toContain("bulk-a-value");
    expect(sorted(await bindings()).filter((b) => b.type !== "secret_text")).toEqual(sorted(CONFIG_BINDINGS));
  });

  it("wrangler deploy replaces the binding list: a binding added through the API and not in the config is dropped", async () => {
    const form = new FormData();
    const current = (await bindings()).map((b) => (b.type === "secret_text" ? { name: b.name, type: b.type } : b));
    const added = [...current, { type: "secrets_store_secret", name: "ADDED_BY_API", store_id: STORE, secret_name: "ADDED_BY_API" }];
    form.append("settings", new Blob([JSON.stringify({ bindings: added })], { type: "application/json" }), "settings");
    await emulatorFetch(target, `/client/v4/accounts/${target.accountId}/workers/scripts/deployed-worker/settings`, { method: "PATCH", body: form });
    expect(await bindingHash("ADDED_BY_API")).toBe(sha256("api-added-value"));

    const before = (await requestLog(target)).length;
    const redeploy = ok(await run(["deploy"]));
    expect(redeploy.stderr + redeploy.stdout).toMatch(/last updated via the script API/);
    const names = (await bindings()).map((b) => b.name);
    expect(names).not.toContain("ADDED_BY_API");
    // The config's bindings, plus the secret_text ones: wrangler deploy keeps secrets (keep_bindings).
    expect(sorted(await bindings())).toEqual(
      sorted([...CONFIG_BINDINGS, ...["LEGACY_TOKEN", "BULK_A", "BULK_B"].map((name) => ({ name, type: "secret_text" }))]),
    );
    expect(await bindingHash("LEGACY_TOKEN")).toBe(sha256("legacy-rotated"));
    // An existing Worker gets a new version, then a deployment of it.
    const writes = (await requestLog(target))
      .slice(before)
      .filter((r) => r.method !== "GET")
      .map((r) => `${r.method} ${r.path.replace(/.*\/workers\//, "")} ${r.status}`);
    expect(writes).toEqual([
      "POST scripts/deployed-worker/versions 200",
      "POST scripts/deployed-worker/deployments 200",
      "PATCH scripts/deployed-worker/script-settings 200",
      "POST scripts/deployed-worker/subdomain 200",
    ]);
  });
});

describe("wrangler deploy during a secret's pending window (test/emulator/pending.test.ts has the window's rules)", () => {
  const notFound = (binding: string, store: string, secret: string) =>
    `Secrets Store binding '${binding}' references store '${store}' and secret '${secret}' which were not found.`;

  it("refuses real `wrangler deploy` during the window (exit 1, code 10182), and deploys after it", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "wrangler-home-"));
    // A long window: wrangler's start-up (a second or more, 25 s on a loaded 2-core machine) must fall inside it.
    const emu = await startEmulator({ port: 0, pendingMs: 30_000 });
    try {
      const create = await fetch(`${emu.url}/accounts/${emu.accountId}/secrets_store/stores`, {
        method: "POST",
        headers: { authorization: `Bearer ${emu.token}` },
        body: JSON.stringify({ name: "s" }),
      });
      const store = ((await create.json()) as { result: { id: string } }).result.id;
      const createdAt = Date.now();
      await fetch(`${emu.url}/accounts/${emu.accountId}/secrets_store/stores/${store}/secrets`, {
        method: "POST",
        headers: { authorization: `Bearer ${emu.token}` },
        body: JSON.stringify([{ name: "KEY", value: "deployed-value", scopes: ["workers"] }]),
      });
      const entry = { binding: "API_KEY", store_id: store, secret_name: "KEY" };
      const dir = path.join(home, "project");
      const refused = await deployWorker(emu, home, dir, "pending-worker", [entry]).then(
        () => undefined,
        (err: Error) => err.message,
      );
      expect(Date.now() - createdAt, "wrangler ran past the window").toBeLessThan(30_000);
      expect(refused).toBeDefined();
      expect(refused).toContain(notFound("API_KEY", store, "KEY"));
      expect(refused).toMatch(/10182/);

      // Wait for active as a deploy script would, then deploy again from the same project.
      const list = async () =>
        (
          (await (
            await fetch(`${emu.url}/accounts/${emu.accountId}/secrets_store/stores/${store}/secrets`, { headers: { authorization: `Bearer ${emu.token}` } })
          ).json()) as {
            result: Array<{ status: string }>;
          }
        ).result;
      while ((await list()).some((s) => s.status !== "active")) await new Promise((resolve) => setTimeout(resolve, 200));
      const deployed = await runWrangler(emu, home, dir, ["deploy"]);
      expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
      const hash = await fetch(`${emu.origin}/__emulator/accounts/${emu.accountId}/workers/scripts/pending-worker/bindings/API_KEY/sha256`, {
        headers: { authorization: `Bearer ${emu.hookToken}` },
      });
      expect(((await hash.json()) as { sha256: string }).sha256).toBe(sha256("deployed-value"));
    } finally {
      await emu.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
