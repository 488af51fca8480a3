/**
 * The Worker routes wrangler calls beyond upload and settings: secrets (put, list, get, delete,
 * bulk), service metadata, versions, deployments and the workers.dev subdomain; and the shape of
 * `…/settings` against the OpenAPI subset's schema.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { codes, harness, messages, settingsForm, sha256, uploadForm, type Harness } from "./helpers";
import { component, violations } from "./openapi";

let h: Harness;
const tmpDirs: string[] = [];
afterEach(async () => {
  await h?.close();
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const S = "/workers/scripts";
const WRANGLER = { "user-agent": "wrangler/4.155.0" };

/** A Worker "w" with a plain_text, a kv_namespace, a store binding and one secret_text. */
async function withWorker(options: Parameters<typeof harness>[0] = {}): Promise<string> {
  h = await harness(options);
  const store = await h.store();
  await h.secrets(store, [{ name: "STORE_KEY", value: "store-value" }]);
  // A new secret is pending for a while (the default window); bind it once it is active.
  await h.waitActive(store);
  const r = await h.api("PUT", `${S}/w`, {
    rawBody: uploadForm({
      main_module: "index.js",
      compatibility_date: "2025-06-01",
      bindings: [
        { type: "plain_text", name: "GREETING", text: "hello" },
        { type: "kv_namespace", name: "KV", namespace_id: "b".repeat(32) },
        { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "STORE_KEY" },
        { type: "secret_text", name: "OLD", text: "old-value" },
      ],
    }),
  });
  expect(r.status).toBe(200);
  return store;
}

const bindingHash = async (binding: string) => (await h.hook("GET", `/accounts/${h.emu.accountId}/workers/scripts/w/bindings/${binding}/sha256`)).body.sha256;
const bindings = async () => (await h.api("GET", `${S}/w/settings`)).body.result.bindings as Array<Record<string, unknown>>;
const versionId = async () => (await h.api("GET", `${S}/w/deployments`)).body.result.deployments[0].versions[0].version_id as string;

describe("PUT/GET/DELETE …/scripts/:name/secrets", () => {
  it("adds or replaces one secret_text binding, keeping every other binding, and never answers its text", async () => {
    const store = await withWorker();
    const v0 = await versionId();
    const put = await h.api("PUT", `${S}/w/secrets`, { body: { name: "NEW_SECRET", text: "new-value", type: "secret_text" }, headers: WRANGLER });
    expect(put.status).toBe(200);
    expect(put.body.result).toEqual({ name: "NEW_SECRET", type: "secret_text" });
    const replaced = await h.api("PUT", `${S}/w/secrets`, { body: { name: "OLD", text: "rotated-value", type: "secret_text" } });
    expect(replaced.status).toBe(200);
    expect(await bindings()).toEqual([
      { type: "plain_text", name: "GREETING", text: "hello" },
      { type: "kv_namespace", name: "KV", namespace_id: "b".repeat(32) },
      { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "STORE_KEY" },
      { type: "secret_text", name: "OLD" },
      { type: "secret_text", name: "NEW_SECRET" },
    ]);
    expect(await bindingHash("NEW_SECRET")).toBe(sha256("new-value"));
    expect(await bindingHash("OLD")).toBe(sha256("rotated-value"));
    expect(await bindingHash("API_KEY")).toBe(sha256("store-value"));
    expect(await versionId()).not.toBe(v0);

    const list = await h.api("GET", `${S}/w/secrets`);
    expect(list.body.result).toEqual([
      { name: "OLD", type: "secret_text" },
      { name: "NEW_SECRET", type: "secret_text" },
    ]);
    expect((await h.api("GET", `${S}/w/secrets/NEW_SECRET`)).body.result).toEqual({ name: "NEW_SECRET", type: "secret_text" });
    for (const body of [JSON.stringify(list.body), JSON.stringify(put.body), JSON.stringify((await h.api("GET", `${S}/w/settings`)).body)]) {
      expect(body).not.toContain("new-value");
      expect(body).not.toContain("rotated-value");
    }
  });

  it("deletes one secret (wrangler's ?url_encoded=true), keeping the rest; 404 10056 for a secret that is not there", async () => {
    await withWorker();
    await h.api("PUT", `${S}/w/secrets`, { body: { name: "MY SECRET/1", text: "odd-name", type: "secret_text" } });
    expect((await h.api("DELETE", `${S}/w/secrets/${encodeURIComponent("MY SECRET/1")}?url_encoded=true`)).status).toBe(200);
    expect((await h.api("DELETE", `${S}/w/secrets/OLD`)).body).toEqual({ success: true, errors: [], messages: [], result: null });
    expect((await bindings()).map((b) => b.name)).toEqual(["GREETING", "KV", "API_KEY"]);
    for (const [method, p] of [
      ["DELETE", `${S}/w/secrets/OLD`],
      ["GET", `${S}/w/secrets/OLD`],
      ["DELETE", `${S}/w/secrets/GREETING`],
    ] as const) {
      const r = await h.api(method, p);
      expect(r.status, `${method} ${p}`).toBe(404);
      expect(codes(r)).toEqual([10056]);
    }
    expect(messages(await h.api("GET", `${S}/w/secrets/OLD`))).toBe("Binding 'OLD' not found.");
    expect((await h.api("GET", `${S}/w/secrets`)).body.result).toEqual([]);
  });

  it("refuses a name a non-secret binding holds (400 10053), bad bodies (400 10021), a missing Worker (404 10007) and a read token (403)", async () => {
    await withWorker({
      tokens: [
        { token: "edit", permission: "edit" },
        { token: "read", permission: "read" },
      ],
    });
    const before = await bindings();
    const clash = await h.api("PUT", `${S}/w/secrets`, { body: { name: "GREETING", text: "x", type: "secret_text" } });
    expect(clash.status).toBe(400);
    expect(clash.body.errors).toEqual([{ code: 10053, message: "Binding name 'GREETING' already in use. Please use a different name and try again." }]);
    for (const body of [
      { name: "A", type: "secret_text" },
      { name: "", text: "x", type: "secret_text" },
      { name: "A", text: "x", type: "plain_text" },
      { name: "A", text: 5, type: "secret_text" },
      undefined,
    ]) {
      const r = await h.api("PUT", `${S}/w/secrets`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(codes(r)[0]).toBe(10021);
    }
    const missing = await h.api("PUT", `${S}/nope/secrets`, { body: { name: "A", text: "x", type: "secret_text" } });
    expect(missing.status).toBe(404);
    expect(codes(missing)).toEqual([10007]);
    expect((await h.api("GET", `${S}/nope/secrets`)).status).toBe(404);
    expect((await h.api("PUT", `${S}/w/secrets`, { token: "read", body: { name: "A", text: "x", type: "secret_text" } })).status).toBe(403);
    expect((await h.api("GET", `${S}/w/secrets`, { token: "read" })).status).toBe(200);
    expect(await bindings()).toEqual(before);
  });

  it("takes a secret_key binding and never answers its key material", async () => {
    await withWorker();
    const key = {
      name: "SIGNING",
      type: "secret_key",
      format: "raw",
      algorithm: { name: "HMAC", hash: "SHA-256" },
      usages: ["sign"],
      key_base64: Buffer.from("k".repeat(32)).toString("base64"),
    };
    const r = await h.api("PUT", `${S}/w/secrets`, { body: key });
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual({ name: "SIGNING", type: "secret_key", format: "raw", algorithm: { name: "HMAC", hash: "SHA-256" }, usages: ["sign"] });
    expect(JSON.stringify((await h.api("GET", `${S}/w/secrets`)).body)).not.toContain(key.key_base64);
  });
});

describe("PATCH …/scripts/:name/secrets-bulk", () => {
  it("applies a JSON merge patch: objects create or replace, null deletes, absent names stay", async () => {
    await withWorker();
    await h.api("PUT", `${S}/w/secrets`, { body: { name: "STAYS", text: "stays-value", type: "secret_text" } });
    const r = await h.api("PATCH", `${S}/w/secrets-bulk`, {
      headers: { "content-type": "application/merge-patch+json" },
      body: {
        secrets: {
          B1: { name: "B1", text: "bulk-one", type: "secret_text" },
          OLD: { name: "OLD", text: "old-replaced", type: "secret_text" },
          GONE_ALREADY: null,
        },
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual({
      OLD: { name: "OLD", type: "secret_text" },
      STAYS: { name: "STAYS", type: "secret_text" },
      B1: { name: "B1", type: "secret_text" },
    });
    expect(await bindingHash("B1")).toBe(sha256("bulk-one"));
    expect(await bindingHash("OLD")).toBe(sha256("old-replaced"));
    expect(await bindingHash("STAYS")).toBe(sha256("stays-value"));

    const del = await h.api("PATCH", `${S}/w/secrets-bulk`, { body: { secrets: { OLD: null, STAYS: null } } });
    expect(del.body.result).toEqual({ B1: { name: "B1", type: "secret_text" } });
    expect((await bindings()).map((b) => b.name)).toEqual(["GREETING", "KV", "API_KEY", "B1"]);
    expect(JSON.stringify(del.body)).not.toContain("bulk-one");
    expect((await h.api("PATCH", `${S}/w/secrets-bulk`, { body: {} })).body.result).toEqual({ B1: { name: "B1", type: "secret_text" } });
  });

  it("applies nothing when any entry is bad", async () => {
    await withWorker();
    const before = await bindings();
    const cases: Array<[unknown, number, RegExp]> = [
      [{ secrets: { A: { name: "B", text: "x", type: "secret_text" } } }, 10021, /its name "B" must equal its key/],
      [
        { secrets: { A: { name: "A", text: "x", type: "secret_text" }, GREETING: { name: "GREETING", text: "x", type: "secret_text" } } },
        10053,
        /Binding name 'GREETING' already in use/,
      ],
      [{ secrets: { A: { name: "A", type: "secret_text" } } }, 10021, /secrets\.A\.text/],
      [{ secrets: ["A"] }, 10021, /Invalid request body at secrets/],
    ];
    for (const [body, code, message] of cases) {
      const r = await h.api("PATCH", `${S}/w/secrets-bulk`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(codes(r)).toContain(code);
      expect(messages(r)).toMatch(message);
    }
    expect(await bindings()).toEqual(before);
    const missing = await h.api("PATCH", `${S}/nope/secrets-bulk`, { body: { secrets: { A: { name: "A", text: "x", type: "secret_text" } } } });
    expect(codes(missing)).toEqual([10007]);
  });
});

describe("…/settings against the OpenAPI schema", () => {
  const SETTINGS = component("workers_script-and-version-settings-response");
  const SCRIPT_SETTINGS = component("workers_script-settings-response");

  it("answers objects, arrays and strings where the schema has them: limits, observability, placement, tail_consumers, compatibility_date", async () => {
    h = await harness();
    expect((await h.api("PUT", `${S}/bare`, { rawBody: uploadForm({ main_module: "index.js" }) })).status).toBe(200);
    const got = await h.api("GET", `${S}/bare/settings`);
    expect(violations(SETTINGS, got.body)).toEqual([]);
    expect(got.body.result).toMatchObject({
      limits: {},
      observability: { enabled: false },
      placement: {},
      tail_consumers: [],
      compatibility_date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    // The upload's date when it has one.
    await h.api("PUT", `${S}/dated`, { rawBody: uploadForm({ main_module: "index.js", compatibility_date: "2024-09-23" }) });
    expect((await h.api("GET", `${S}/dated/settings`)).body.result.compatibility_date).toBe("2024-09-23");

    // Cleared with null, they still come back in the schema's shape.
    const cleared = await h.api("PATCH", `${S}/bare/settings`, {
      rawBody: settingsForm({ limits: null, observability: null, placement: null, tail_consumers: null }),
    });
    expect(cleared.status).toBe(200);
    expect(violations(SETTINGS, cleared.body)).toEqual([]);
    const set = await h.api("PATCH", `${S}/bare/settings`, {
      rawBody: settingsForm({
        limits: { cpu_ms: 50 },
        observability: { enabled: true },
        placement: { mode: "smart" },
        tail_consumers: [{ service: "t" }],
        bindings: [{ type: "secret_text", name: "S", text: "v" }],
      }),
    });
    expect(violations(SETTINGS, set.body)).toEqual([]);
    expect(set.body.result).toMatchObject({
      limits: { cpu_ms: 50 },
      observability: { enabled: true },
      placement: { mode: "smart" },
      tail_consumers: [{ service: "t" }],
    });
    expect(violations(SCRIPT_SETTINGS, (await h.api("GET", `${S}/bare/script-settings`)).body)).toEqual([]);

    // The check itself sees the old nulls.
    const old = {
      ...got.body,
      result: { ...got.body.result, limits: null, observability: null, placement: null, tail_consumers: null, compatibility_date: null },
    };
    expect(violations(SETTINGS, old)).toEqual([
      "$.result.compatibility_date: null where the schema has string (not nullable)",
      "$.result.limits: null where the schema has object (not nullable)",
      "$.result.observability: null where the schema has object (not nullable)",
      "$.result.placement: null where the schema has object (not nullable)",
      "$.result.tail_consumers: null where the schema has array (not nullable)",
    ]);
  });
});

describe("service, versions, deployments, subdomain", () => {
  it("service metadata: 404 10090 before the first upload; then the script's tag and who deployed it last", async () => {
    h = await harness();
    const none = await h.api("GET", "/workers/services/w");
    expect(none.status).toBe(404);
    expect(codes(none)).toEqual([10090]);
    await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js" }), headers: WRANGLER });
    const service = (await h.api("GET", "/workers/services/w")).body.result;
    expect(service).toMatchObject({
      id: "w",
      default_environment: { environment: "production", script: { id: "w", tag: expect.stringMatching(/^[0-9a-f]{32}$/), last_deployed_from: "wrangler" } },
    });
    await h.api("PATCH", `${S}/w/settings`, { rawBody: settingsForm({ tags: ["x"] }) });
    expect((await h.api("GET", "/workers/services/w")).body.result.default_environment.script.last_deployed_from).toBe("api");
  });

  it("a version uploaded with POST …/versions changes nothing until a deployment sends it all traffic", async () => {
    await withWorker();
    const before = await bindings();
    const current = await versionId();
    const form = uploadForm({
      main_module: "index.js",
      compatibility_date: "2026-02-02",
      bindings: [{ type: "plain_text", name: "ONLY", text: "one" }],
      keep_bindings: ["secret_text"],
    });
    const version = await h.api("POST", `${S}/w/versions?bindings_inherit=strict`, { rawBody: form, headers: WRANGLER });
    expect(version.status).toBe(200);
    expect(version.body.result).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      resources: { bindings: [{ name: "ONLY" }, { name: "OLD", type: "secret_text" }] },
    });
    expect(await bindings()).toEqual(before);

    for (const [body, status] of [
      [
        {
          strategy: "percentage",
          versions: [
            { version_id: version.body.result.id, percentage: 50 },
            { version_id: current, percentage: 50 },
          ],
        },
        400,
      ],
      [{ strategy: "percentage", versions: [{ version_id: version.body.result.id, percentage: 90 }] }, 400],
      [{ strategy: "percentage", versions: [{ version_id: "00000000-0000-0000-0000-000000000000", percentage: 100 }] }, 404],
    ] as const) {
      expect((await h.api("POST", `${S}/w/deployments`, { body })).status, JSON.stringify(body)).toBe(status);
    }
    const deployed = await h.api("POST", `${S}/w/deployments`, {
      body: { strategy: "percentage", versions: [{ version_id: version.body.result.id, percentage: 100 }], annotations: { "workers/message": "m" } },
    });
    expect(deployed.status).toBe(200);
    expect(deployed.body.result).toMatchObject({
      strategy: "percentage",
      versions: [{ version_id: version.body.result.id, percentage: 100 }],
      annotations: { "workers/message": "m" },
    });
    expect(await versionId()).toBe(version.body.result.id);
    expect(await bindings()).toEqual([
      { type: "plain_text", name: "ONLY", text: "one" },
      { type: "secret_text", name: "OLD" },
    ]);
    expect((await h.api("GET", `${S}/w/settings`)).body.result.compatibility_date).toBe("2026-02-02");
    expect(await bindingHash("OLD")).toBe(sha256("old-value"));
    expect((await h.api("GET", "/workers/services/w")).body.result.default_environment.script.last_deployed_from).toBe("wrangler");
  });

  it("keeps an undeployed version's secret texts encrypted at rest, and across a restart", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cf-emu-versions-"));
    tmpDirs.push(dir);
    h = await harness({ dataDir: dir, tokens: [{ token: "t", permission: "edit" }] });
    await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js" }) });
    const canary = `CANARY-version-${Date.now()}`;
    const version = await h.api("POST", `${S}/w/versions`, {
      rawBody: uploadForm({ main_module: "index.js", bindings: [{ type: "secret_text", name: "V", text: canary }] }),
    });
    await h.close();
    expect(fs.readFileSync(path.join(dir, "state.json"), "utf8")).not.toContain(canary);
    h = await harness({ dataDir: dir, tokens: [{ token: "t", permission: "edit" }] });
    expect(
      (await h.api("POST", `${S}/w/deployments`, { body: { strategy: "percentage", versions: [{ version_id: version.body.result.id, percentage: 100 }] } }))
        .status,
    ).toBe(200);
    expect(await bindingHash("V")).toBe(sha256(canary));
  });

  it("serves the workers.dev subdomain of the account and of a script", async () => {
    await withWorker();
    expect((await h.api("GET", "/workers/subdomain")).body.result).toEqual({ subdomain: "emulator" });
    expect((await h.api("GET", `${S}/w/subdomain`)).body.result).toEqual({ enabled: false, previews_enabled: false });
    const r = await h.api("POST", `${S}/w/subdomain`, {
      body: { enabled: true, previews_enabled: false },
      headers: { "cloudflare-workers-script-api-date": "2025-08-01" },
    });
    expect(r.body.result).toEqual({ enabled: true, previews_enabled: false });
    expect((await h.api("GET", "/workers/workers/w")).body.result).toMatchObject({ name: "w", subdomain: { enabled: true, previews_enabled: false } });
    expect((await h.api("POST", `${S}/w/subdomain`, { body: { enabled: "yes" } })).status).toBe(400);
    expect(codes(await h.api("GET", "/workers/workers/nope"))).toEqual([10007]);
  });
});
