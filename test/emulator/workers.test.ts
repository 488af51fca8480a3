import { afterEach, describe, expect, it } from "vitest";
import { codes, harness, messages, settingsForm, sha256, uploadForm, type Harness, type RawBody } from "./helpers";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const S = "/workers/scripts";

/**
 * A harness with a store holding WORKERS_KEY (workers scope) and GATEWAY_KEY (ai_gateway only).
 * The pending window is off (pendingMs 0): these tests bind the secrets right after creating them
 * and are about bindings, not propagation (pending.test.ts covers the window).
 */
async function withStore(options: Parameters<typeof harness>[0] = {}) {
  h = await harness({ pendingMs: 0, ...options });
  const store = await h.store();
  await h.secrets(store, [
    { name: "WORKERS_KEY", value: "workers-secret-value", scopes: ["workers"] },
    { name: "GATEWAY_KEY", value: "gateway-secret-value", scopes: ["ai_gateway"] },
  ]);
  return store;
}

async function upload(name: string, metadata: Record<string, unknown>, token?: string) {
  return h.api("PUT", `${S}/${name}`, { rawBody: uploadForm(metadata), token });
}

const bindingHash = (script: string, binding: string) => h.hook("GET", `/accounts/${h.emu.accountId}/workers/scripts/${script}/bindings/${binding}/sha256`);
const patchSettings = (script: string, settings: Record<string, unknown>, token?: string) =>
  h.api("PATCH", `${S}/${script}/settings`, { rawBody: settingsForm(settings), token });
const settings = async (script: string) => (await h.api("GET", `${S}/${script}/settings`)).body.result;

describe("upload and list", () => {
  it("uploads a Worker (multipart metadata + module) and lists it", async () => {
    const store = await withStore();
    const r = await upload("my-worker", {
      main_module: "index.js",
      compatibility_date: "2025-06-01",
      compatibility_flags: ["nodejs_compat"],
      bindings: [
        { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "WORKERS_KEY" },
        { type: "secret_text", name: "LEGACY", text: "legacy-text-value" },
        { type: "plain_text", name: "GREETING", text: "hi" },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.result).toMatchObject({ id: "my-worker", compatibility_date: "2025-06-01", has_modules: true });
    const list = await h.api("GET", S);
    expect(list.body.result.map((w: { id: string }) => w.id)).toEqual(["my-worker"]);
    expect(await settings("my-worker")).toMatchObject({
      compatibility_date: "2025-06-01",
      compatibility_flags: ["nodejs_compat"],
      bindings: [
        { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "WORKERS_KEY" },
        { type: "secret_text", name: "LEGACY" },
        { type: "plain_text", name: "GREETING", text: "hi" },
      ],
    });
    expect(JSON.stringify(await settings("my-worker"))).not.toContain("legacy-text-value");
    expect((await bindingHash("my-worker", "API_KEY")).body.sha256).toBe(sha256("workers-secret-value"));
    expect((await bindingHash("my-worker", "LEGACY")).body.sha256).toBe(sha256("legacy-text-value"));
  });

  it("rejects bad uploads", async () => {
    h = await harness();
    const cases: Array<[string, RawBody, RegExp]> = [
      ["Bad_Name", uploadForm({ main_module: "index.js" }), /Invalid Worker name/],
      ["w", uploadForm({ compatibility_date: "2025-01-01" }), /main_module/],
      ["w", uploadForm({ main_module: "missing.js" }), /No such module "missing.js"/],
      ["w", uploadForm({ main_module: "index.js", compatibility_date: "June" }), /YYYY-MM-DD/],
      ["w", JSON.stringify({ main_module: "index.js" }), /multipart\/form-data/],
    ];
    for (const [name, body, message] of cases) {
      const r = await h.api("PUT", `${S}/${name}`, { rawBody: body });
      expect(r.status, String(message)).toBe(400);
      expect(codes(r)[0]).toBe(10021);
      expect(messages(r)).toMatch(message);
    }
    const noMeta = new FormData();
    noMeta.append("index.js", new Blob(["x"]), "index.js");
    expect(messages(await h.api("PUT", `${S}/w`, { rawBody: noMeta }))).toMatch(/Missing metadata part/);
    expect((await h.api("GET", S)).body.result).toEqual([]);
  });

  it("a new upload replaces the bindings; keep_bindings keeps the named types", async () => {
    h = await harness();
    await upload("w", {
      main_module: "index.js",
      bindings: [
        { type: "secret_text", name: "A", text: "a-value" },
        { type: "plain_text", name: "P", text: "p" },
      ],
    });
    await upload("w", { main_module: "index.js", bindings: [{ type: "plain_text", name: "Q", text: "q" }], keep_bindings: ["secret_text"] });
    expect((await settings("w")).bindings).toEqual([
      { type: "plain_text", name: "Q", text: "q" },
      { type: "secret_text", name: "A" },
    ]);
    expect((await bindingHash("w", "A")).body.sha256).toBe(sha256("a-value"));
    await upload("w", { main_module: "index.js" });
    expect((await settings("w")).bindings).toEqual([]);
  });

  it("deletes a Worker; every script route answers 404 (10007) for a Worker that does not exist", async () => {
    h = await harness();
    await upload("gone", { main_module: "index.js" });
    expect((await h.api("DELETE", `${S}/gone`)).status).toBe(200);
    for (const [method, path, options] of [
      ["DELETE", `${S}/gone`, {}],
      ["GET", `${S}/gone/settings`, {}],
      ["PATCH", `${S}/gone/settings`, { rawBody: settingsForm({}) }],
      ["GET", `${S}/gone/script-settings`, {}],
      ["PATCH", `${S}/gone/script-settings`, { body: { logpush: true } }],
    ] as const) {
      const r = await h.api(method, path, options);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(codes(r)).toEqual([10007]);
      expect(messages(r)).toBe("This Worker does not exist on your account.");
    }
  });
});

describe("PATCH /settings", () => {
  it("takes one JSON part named settings (SDK 5.x, our provider); bindings replace the whole list", async () => {
    const store = await withStore();
    await upload("w", {
      main_module: "index.js",
      bindings: [
        { type: "secret_text", name: "OLD", text: "old-text" },
        { type: "plain_text", name: "GONE", text: "x" },
      ],
    });
    const r = await patchSettings("w", {
      bindings: [
        { type: "secret_text", name: "OLD" },
        { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "WORKERS_KEY" },
      ],
      compatibility_date: "2025-07-01",
    });
    expect(r.status).toBe(200);
    expect(r.body.result.bindings).toEqual([
      { type: "secret_text", name: "OLD" },
      { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "WORKERS_KEY" },
    ]);
    expect(r.body.result.compatibility_date).toBe("2025-07-01");
    expect((await bindingHash("w", "OLD")).body.sha256).toBe(sha256("old-text"));
    expect((await bindingHash("w", "GONE")).status).toBe(404);
  });

  const bracketForm = (store: string) => {
    const form = new FormData();
    for (const [k, v] of [
      ["settings[bindings][][type]", "secrets_store_secret"],
      ["settings[bindings][][name]", "MY_SECRET"],
      ["settings[bindings][][store_id]", store],
      ["settings[bindings][][secret_name]", "WORKERS_KEY"],
      ["settings[bindings][][type]", "plain_text"],
      ["settings[bindings][][name]", "GREETING"],
      ["settings[bindings][][text]", "hi"],
      ["settings[compatibility_date]", "2025-06-01"],
      ["settings[compatibility_flags][]", "nodejs_compat"],
      ["settings[compatibility_flags][]", "no_global_navigator"],
      ["settings[logpush]", "true"],
      ["settings[limits][cpu_ms]", "50"],
    ] as const) {
      form.append(k, v);
    }
    return form;
  };

  it("answers bracket-notation fields (SDK 7.x) as Cloudflare does: 400 missing settings part (10201)", async () => {
    const store = await withStore();
    await upload("w", { main_module: "index.js" });
    const r = await h.api("PATCH", `${S}/w/settings`, { rawBody: bracketForm(store) });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual([10201]);
    expect(messages(r)).toBe("Missing settings part in multipart upload. Ensure you include a settings part in the upload.");
    expect((await settings("w")).bindings).toEqual([]);
  });

  it("with acceptBracketMultipart, rebuilds bracket-notation fields, splitting array elements when a key repeats", async () => {
    const store = await withStore({ acceptBracketMultipart: true });
    await upload("w", { main_module: "index.js" });
    const r = await h.api("PATCH", `${S}/w/settings`, { rawBody: bracketForm(store) });
    expect(r.status).toBe(200);
    expect(r.body.result).toMatchObject({
      bindings: [
        { type: "secrets_store_secret", name: "MY_SECRET", store_id: store, secret_name: "WORKERS_KEY" },
        { type: "plain_text", name: "GREETING", text: "hi" },
      ],
      compatibility_date: "2025-06-01",
      compatibility_flags: ["nodejs_compat", "no_global_navigator"],
      logpush: true,
      limits: { cpu_ms: 50 },
    });
  });

  it("keeps secret values sent back as {name, type} or inherit (renaming with old_name), and sets new text", async () => {
    h = await harness();
    await upload("w", {
      main_module: "index.js",
      bindings: [
        { type: "secret_text", name: "KEEP", text: "keep-me" },
        { type: "secret_text", name: "INHERIT", text: "inherit-me" },
        { type: "secret_text", name: "RENAME_ME", text: "rename-me" },
        { type: "secret_text", name: "REPLACE", text: "replace-me" },
      ],
    });
    const r = await patchSettings("w", {
      bindings: [
        { type: "secret_text", name: "KEEP" },
        { type: "inherit", name: "INHERIT" },
        { type: "inherit", name: "RENAMED", old_name: "RENAME_ME" },
        { type: "secret_text", name: "REPLACE", text: "replaced" },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.result.bindings).toEqual([
      { type: "secret_text", name: "KEEP" },
      { type: "secret_text", name: "INHERIT" },
      { type: "secret_text", name: "RENAMED" },
      { type: "secret_text", name: "REPLACE" },
    ]);
    for (const [binding, value] of [
      ["KEEP", "keep-me"],
      ["INHERIT", "inherit-me"],
      ["RENAMED", "rename-me"],
      ["REPLACE", "replaced"],
    ] as const) {
      expect((await bindingHash("w", binding)).body.sha256, binding).toBe(sha256(value));
    }
    const body = JSON.stringify((await h.api("GET", `${S}/w/settings`)).body);
    for (const value of ["keep-me", "inherit-me", "rename-me", "replaced"]) expect(body).not.toContain(value);
  });

  it("leaves the bindings alone when the patch has no bindings key", async () => {
    h = await harness();
    await upload("w", { main_module: "index.js", bindings: [{ type: "plain_text", name: "P", text: "p" }] });
    const r = await patchSettings("w", { compatibility_date: "2026-01-01", tags: ["t1"] });
    expect(r.body.result).toMatchObject({ bindings: [{ type: "plain_text", name: "P", text: "p" }], compatibility_date: "2026-01-01", tags: ["t1"] });
  });

  it("rejects bad bindings with clear errors and applies nothing", async () => {
    const store = await withStore({ maxStores: 1 });
    await upload("w", { main_module: "index.js", compatibility_date: "2025-03-03", bindings: [{ type: "secret_text", name: "KEEP", text: "original" }] });
    const cases: Array<[unknown[], number, RegExp]> = [
      [
        [{ type: "secrets_store_secret", name: "B", store_id: "0".repeat(32), secret_name: "WORKERS_KEY" }],
        10182,
        /Secrets Store binding 'B' references store '0{32}' and secret 'WORKERS_KEY' which were not found/,
      ],
      [
        [{ type: "secrets_store_secret", name: "B", store_id: store, secret_name: "NOPE" }],
        10182,
        new RegExp(`binding 'B' references store '${store}' and secret 'NOPE' which were not found`),
      ],
      [
        [{ type: "secrets_store_secret", name: "B", store_id: store, secret_name: "GATEWAY_KEY" }],
        10021,
        /^failed to fetch secrets store binding due to authorization error - check deploy permissions and secret scopes$/,
      ],
      [[{ type: "secrets_store_secret", name: "B", secret_name: "WORKERS_KEY" }], 10021, /needs "store_id" and "secret_name"/],
      [
        [
          { type: "plain_text", name: "X", text: "1" },
          { type: "plain_text", name: "X", text: "2" },
        ],
        10053,
        /^Binding name 'X' already in use\. Please use a different name and try again\.$/,
      ],
      [[{ type: "secret_text", name: "NEW" }], 10021, /Binding "NEW" \(secret_text\) needs a "text" value/],
      [[{ type: "inherit", name: "NOTHING" }], 10021, /no binding named "NOTHING" to inherit from/],
      [[{ type: "plain_text", name: "P" }], 10021, /needs a "text" string/],
      [[{ type: "secret_text" }], 10021, /at bindings\.0\.name/],
    ];
    for (const [bindings, code, message] of cases) {
      const r = await patchSettings("w", { bindings, compatibility_date: "2030-01-01" });
      expect(r.status, JSON.stringify(bindings)).toBe(400);
      expect(codes(r)[0]).toBe(code);
      expect(messages(r)).toMatch(message);
    }
    const after = await settings("w");
    expect(after.bindings).toEqual([{ type: "secret_text", name: "KEEP" }]);
    expect(after.compatibility_date).toBe("2025-03-03");
    expect((await bindingHash("w", "KEEP")).body.sha256).toBe(sha256("original"));
  });

  it("refuses a read token (binding a store secret is a write) and changes nothing", async () => {
    const store = await withStore({
      tokens: [
        { token: "edit", permission: "edit" },
        { token: "read", permission: "read" },
      ],
    });
    await upload("w", { main_module: "index.js" }, "edit");
    const r = await patchSettings("w", { bindings: [{ type: "secrets_store_secret", name: "B", store_id: store, secret_name: "WORKERS_KEY" }] }, "read");
    expect(r.status).toBe(403);
    expect(codes(r)).toEqual([10000]);
    expect((await upload("w", { main_module: "index.js", bindings: [{ type: "plain_text", name: "P", text: "p" }] }, "read")).status).toBe(403);
    expect((await h.api("DELETE", `${S}/w`, { token: "read" })).status).toBe(403);
    expect((await h.api("GET", `${S}/w/settings`, { token: "read" })).body.result.bindings).toEqual([]);
  });

  it("needs multipart with a settings part", async () => {
    h = await harness();
    await upload("w", { main_module: "index.js" });
    const json = await h.api("PATCH", `${S}/w/settings`, { body: { bindings: [] } });
    expect(json.status).toBe(400);
    expect(messages(json)).toMatch(/multipart\/form-data/);
    const other = new FormData();
    other.append("metadata", "{}");
    expect(codes(await h.api("PATCH", `${S}/w/settings`, { rawBody: other }))).toEqual([10201]);
    const broken = new FormData();
    broken.append("settings", "{not json");
    expect(messages(await h.api("PATCH", `${S}/w/settings`, { rawBody: broken }))).toMatch(/must hold JSON/);
  });
});

describe("/script-settings", () => {
  it("reads and patches script-level settings as JSON; bindings are not part of it", async () => {
    h = await harness();
    await upload("w", { main_module: "index.js", bindings: [{ type: "plain_text", name: "P", text: "p" }] });
    expect((await h.api("GET", `${S}/w/script-settings`)).body.result).toEqual({
      logpush: false,
      observability: { enabled: false },
      tags: [],
      tail_consumers: [],
    });
    const r = await h.api("PATCH", `${S}/w/script-settings`, {
      rawBody: JSON.stringify({ logpush: true, tags: ["a"], tail_consumers: [{ service: "tail" }], bindings: [] }),
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual({ logpush: true, observability: { enabled: false }, tags: ["a"], tail_consumers: [{ service: "tail" }] });
    expect((await settings("w")).bindings).toEqual([{ type: "plain_text", name: "P", text: "p" }]);
    expect((await h.api("PATCH", `${S}/w/script-settings`, { body: { logpush: "maybe" } })).status).toBe(400);
  });
});

describe("binding sha256 hook", () => {
  it("resolves a store binding at request time: follows value edits, fails once the secret or its scope is gone", async () => {
    const store = await withStore();
    await upload("w", {
      main_module: "index.js",
      bindings: [
        { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "WORKERS_KEY" },
        { type: "plain_text", name: "PLAIN", text: "plain-value" },
        { type: "kv_namespace", name: "KV", namespace_id: "a".repeat(32) },
      ],
    });
    const list = await h.api("GET", `/secrets_store/stores/${store}/secrets?search=WORKERS_KEY`);
    const id = list.body.result[0].id;
    expect((await bindingHash("w", "API_KEY")).body.sha256).toBe(sha256("workers-secret-value"));
    expect((await bindingHash("w", "PLAIN")).body.sha256).toBe(sha256("plain-value"));

    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${id}`, { body: { value: "rotated" } });
    expect((await bindingHash("w", "API_KEY")).body.sha256).toBe(sha256("rotated"));

    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${id}`, { body: { scopes: ["ai_gateway"] } });
    const noScope = await bindingHash("w", "API_KEY");
    expect(noScope.status).toBe(404);
    expect(messages(noScope)).toMatch(/no longer has the "workers" scope/);

    await h.api("DELETE", `/secrets_store/stores/${store}/secrets/${id}`);
    const gone = await bindingHash("w", "API_KEY");
    expect(gone.status).toBe(404);
    expect(messages(gone)).toMatch(/secret "WORKERS_KEY" does not exist in store/);

    expect((await bindingHash("w", "MISSING")).status).toBe(404);
    expect((await bindingHash("w", "KV")).status).toBe(400);
    expect((await bindingHash("nope", "API_KEY")).status).toBe(404);
    expect((await h.hook("GET", `/accounts/${"f".repeat(32)}/workers/scripts/w/bindings/PLAIN/sha256`)).status).toBe(404);
  });
});
