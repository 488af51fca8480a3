/**
 * The pending window (issue #17): after a create, a duplicate or a value change a secret is
 * `pending` for `pendingMs * (1 + random * 0.5)` ms, in every answer; during it a Worker write that
 * binds the secret is refused with 400 10182 (settings PATCH, script upload, version upload, and
 * so `wrangler deploy`: test/clients/wrangler.test.ts runs it), and existing bindings still read
 * the previous value.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_PENDING_MS } from "../../emulator";
import { cliStarted, codes, harness, messages, settingsForm, sha256, uploadForm, type Harness } from "./helpers";

let h: Harness | undefined;
const tmpDirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(prefix = "cf-emu-pending-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

const S = "/workers/scripts";
const notFound = (binding: string, store: string, secret: string) =>
  `Secrets Store binding '${binding}' references store '${store}' and secret '${secret}' which were not found.`;
const storeBinding = (store: string, secret = "KEY", name = "API_KEY") => ({ type: "secrets_store_secret", name, store_id: store, secret_name: secret });

async function statusOf(hh: Harness, store: string, id: string): Promise<{ get: string; list: string }> {
  const get = (await hh.api("GET", `/secrets_store/stores/${store}/secrets/${id}`)).body.result.status;
  const list = (await hh.api("GET", `/secrets_store/stores/${store}/secrets?per_page=100`)).body.result.find((s: { id: string }) => s.id === id).status;
  return { get, list };
}

describe("the pending window", () => {
  it("defaults to 1,000 ms (jittered up to +50%): pending in every answer during it, active after", async () => {
    expect(DEFAULT_PENDING_MS).toBe(1000);
    h = await harness();
    const store = await h.store();
    const created = Date.now();
    const [s] = await h.secrets(store, [{ name: "KEY", value: "v1" }]);
    expect(s.status).toBe("pending");
    expect(await statusOf(h, store, s.id)).toEqual({ get: "pending", list: "pending" });
    // A scopes or comment change starts no window and says what the window says.
    const scoped = await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { comment: "c" } });
    expect(scoped.body.result.status).toBe("pending");
    // Ordering by status sees the window too.
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets?order=status`)).body.result[0].status).toBe("pending");
    const waited = await h.waitActive(store);
    const elapsed = Date.now() - created;
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(1500 + 1000); // the window is at most 1,500 ms; the rest is polling slack
    expect(waited).toBeGreaterThan(0);
    expect(await statusOf(h, store, s.id)).toEqual({ get: "active", list: "active" });
    expect((await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { comment: "d" } })).body.result.status).toBe("active");
  });

  it("a duplicate and a value change start a window of their own; the answer that starts one says pending", async () => {
    h = await harness({ pendingMs: 300 });
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "KEY", value: "v1" }]);
    await h.waitActive(store);
    const dup = await h.api("POST", `/secrets_store/stores/${store}/secrets/${s.id}/duplicate`, { body: { name: "COPY", scopes: ["workers"] } });
    expect(dup.body.result.status).toBe("pending");
    expect(await statusOf(h, store, dup.body.result.id)).toEqual({ get: "pending", list: "pending" });
    expect(await statusOf(h, store, s.id)).toEqual({ get: "active", list: "active" });
    await h.waitActive(store);
    const changed = await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { value: "v2" } });
    expect(changed.body.result.status).toBe("pending");
    expect(await statusOf(h, store, s.id)).toEqual({ get: "pending", list: "pending" });
    expect((await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { scopes: ["workers", "dex"] } })).body.result.status).toBe(
      "pending",
    );
    await h.waitActive(store);
    expect(await statusOf(h, store, s.id)).toEqual({ get: "active", list: "active" });
  });

  it("pendingMs 0 turns it off; seeded secrets start active", async () => {
    // The window off is what this test checks.
    h = await harness({ pendingMs: 0, seed: { stores: [{ name: "s" }], secrets: [{ store: "s", name: "SEEDED", value: "v", scopes: ["workers"] }] } });
    const store = (await h.api("GET", "/secrets_store/stores")).body.result[0].id;
    const seeded = (await h.api("GET", `/secrets_store/stores/${store}/secrets`)).body.result[0];
    expect(seeded.status).toBe("active");
    const [s] = await h.secrets(store, [{ name: "NEW", value: "v" }]);
    expect(s.status).toBe("pending");
    expect(await statusOf(h, store, s.id)).toEqual({ get: "active", list: "active" });
    const patched = await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { value: "v2" } });
    expect(patched.body.result.status).toBe("pending");
    expect(await statusOf(h, store, s.id)).toEqual({ get: "active", list: "active" });
    expect((await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js", bindings: [storeBinding(store, "NEW")] }) })).status).toBe(200);
  });
});

describe("bindings to a pending secret: 400 10182", () => {
  it("is refused on a settings PATCH, a script upload and a version upload during the window, and accepted after it", async () => {
    h = await harness({ pendingMs: 600 });
    const running = h; // `h` as this test set it, for the closures below
    const store = await h.store();
    expect((await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js" }) })).status).toBe(200);
    await h.secrets(store, [{ name: "KEY", value: "v1" }]);
    const writes = {
      "settings PATCH": () => running.api("PATCH", `${S}/w/settings`, { rawBody: settingsForm({ bindings: [storeBinding(store)] }) }),
      "script upload": () => running.api("PUT", `${S}/w2`, { rawBody: uploadForm({ main_module: "index.js", bindings: [storeBinding(store)] }) }),
      "version upload": () => running.api("POST", `${S}/w/versions`, { rawBody: uploadForm({ main_module: "index.js", bindings: [storeBinding(store)] }) }),
    };
    for (const [what, write] of Object.entries(writes)) {
      const r = await write();
      expect(r.status, what).toBe(400);
      expect(r.body.errors, what).toEqual([{ code: 10182, message: notFound("API_KEY", store, "KEY"), source: { pointer: "/bindings/0" } }]);
    }
    // Nothing was applied.
    expect((await h.api("GET", `${S}/w/settings`)).body.result.bindings).toEqual([]);
    expect((await h.api("GET", `${S}/w2/settings`)).status).toBe(404);
    // A missing secret is refused the same way.
    const missing = await h.api("PATCH", `${S}/w/settings`, { rawBody: settingsForm({ bindings: [storeBinding(store, "NOPE")] }) });
    expect(missing.body.errors[0]).toMatchObject({ code: 10182, message: notFound("API_KEY", store, "NOPE") });

    await h.waitActive(store);
    for (const [what, write] of Object.entries(writes)) expect((await write()).status, what).toBe(200);
    expect((await h.hook("GET", `/accounts/${h.emu.accountId}/workers/scripts/w/bindings/API_KEY/sha256`)).body.sha256).toBe(sha256("v1"));
  });
});

describe("a value change while bindings exist", () => {
  it("keeps existing bindings on the previous value until the window ends; the secret hook reports the new one", async () => {
    h = await harness({ pendingMs: 500 });
    const running = h; // `h` as this test set it, for the closure below
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "KEY", value: "old-value" }]);
    await h.waitActive(store);
    expect((await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js", bindings: [storeBinding(store)] }) })).status).toBe(200);
    const binding = async () => (await running.hook("GET", `/accounts/${running.emu.accountId}/workers/scripts/w/bindings/API_KEY/sha256`)).body.sha256;
    expect(await binding()).toBe(sha256("old-value"));

    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { value: "new-value" } });
    // Twice within one window: the Worker still reads the value from before the first change.
    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { value: "newer-value" } });
    expect((await h.hook("GET", `/secrets/${s.id}/sha256`)).body.sha256).toBe(sha256("newer-value"));
    expect(await binding()).toBe(sha256("old-value"));

    // The stricter choice: a settings PATCH re-sends the whole list, so re-sending the existing
    // binding to a secret whose value change is pending is refused too (10182); inherit is not re-checked.
    const resent = await h.api("PATCH", `${S}/w/settings`, {
      rawBody: settingsForm({ bindings: [storeBinding(store), { type: "plain_text", name: "P", text: "p" }] }),
    });
    expect(resent.status).toBe(400);
    expect(codes(resent)).toEqual([10182]);
    expect(messages(resent)).toBe(notFound("API_KEY", store, "KEY"));
    const inherited = await h.api("PATCH", `${S}/w/settings`, {
      rawBody: settingsForm({
        bindings: [
          { type: "inherit", name: "API_KEY" },
          { type: "plain_text", name: "P", text: "p" },
        ],
      }),
    });
    expect(inherited.status).toBe(200);
    expect(await binding()).toBe(sha256("old-value"));

    await h.waitActive(store);
    expect(await binding()).toBe(sha256("newer-value"));
  });

  it("keeps the previous value encrypted in the data directory across a restart, and drops it after the window", async () => {
    const dir = tmpDir();
    const tokens = [{ token: "t", permission: "edit" as const }];
    h = await harness({ dataDir: dir, tokens, pendingMs: 3000 });
    const store = await h.store();
    const old = `CANARY-old-${Date.now()}`;
    const [s] = await h.secrets(store, [{ name: "KEY", value: old }]);
    await h.close();
    // Restarted with the window off, the secret created under a 3 s window is still pending (the end is stored).
    h = await harness({ dataDir: dir, tokens, pendingMs: 0 });
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`)).body.result.status).toBe("pending");
    await h.close();
    // A state file from an older emulator: `status` but no `pendingUntil` → active.
    const file = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8"));
    delete file.secrets[0].pendingUntil;
    file.secrets[0].status = "pending";
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(file), { mode: 0o600 });
    h = await harness({ dataDir: dir, tokens, pendingMs: 3000 });
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`)).body.result.status).toBe("active");
    expect((await h.api("PUT", `${S}/w`, { rawBody: uploadForm({ main_module: "index.js", bindings: [storeBinding(store)] }) })).status).toBe(200);
    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { value: "CANARY-new" } });
    await h.close();

    const raw = fs.readFileSync(path.join(dir, "state.json"));
    for (const needle of [old, "CANARY-new"]) expect(raw.includes(Buffer.from(needle)), needle).toBe(false);
    const stored = JSON.parse(raw.toString("utf8")).secrets[0];
    expect(stored.previousValue).toMatchObject({ iv: expect.any(String), tag: expect.any(String), data: expect.any(String) });
    expect(stored.status).toBeUndefined();

    h = await harness({ dataDir: dir, tokens, pendingMs: 0 });
    const running = h; // `h` as this test set it, for the closure below
    const binding = async () => (await running.hook("GET", `/accounts/${running.emu.accountId}/workers/scripts/w/bindings/API_KEY/sha256`)).body.sha256;
    expect(await binding()).toBe(sha256(old));
    await h.waitActive(store);
    expect(await binding()).toBe(sha256("CANARY-new"));
    // Any later write drops the spent previous value from the file.
    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${s.id}`, { body: { comment: "later" } });
    expect(JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")).secrets[0].previousValue).toBeUndefined();
  });
});

describe("the CLI's --pending-ms", () => {
  function startCli(args: string[]) {
    const root = path.resolve(__dirname, "../..");
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "emulator/cli.ts"), "--port", "0", "--token", "cli-token", ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    return cliStarted(child);
  }

  it("sets the window: 0 binds at once, 60000 refuses the binding (10182)", async () => {
    const [off, long] = await Promise.all([startCli(["--pending-ms", "0"]), startCli(["--pending-ms=60000"])]);
    for (const [cli, expected] of [
      [off, 200],
      [long, 400],
    ] as const) {
      const account = "0123456789abcdef0123456789abcdef";
      const call = async (method: string, p: string, body: string | FormData) => {
        const r = await fetch(`${cli.url}/accounts/${account}${p}`, { method, headers: { authorization: "Bearer cli-token" }, body });
        return { status: r.status, body: (await r.json()) as { result: { id: string }; errors: Array<{ code: number }> } };
      };
      const store = (await call("POST", "/secrets_store/stores", JSON.stringify({ name: "s" }))).body.result.id;
      await call("POST", `/secrets_store/stores/${store}/secrets`, JSON.stringify([{ name: "KEY", value: "v", scopes: ["workers"] }]));
      const up = await call("PUT", `${S}/w`, uploadForm({ main_module: "index.js", bindings: [storeBinding(store)] }));
      expect(up.status, cli.lines.join("\n")).toBe(expected);
      if (expected === 400) expect(up.body.errors.map((e) => e.code)).toEqual([10182]);
    }
  });
});
