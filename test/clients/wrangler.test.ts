/**
 * wrangler 4 (`wrangler secrets-store … --remote`) against the emulator, run on the Node 22 that
 * runs this test (wrangler refuses Node 20), values piped on stdin as a user or CI would.
 * Independent commands run in parallel: each wrangler start costs about a second.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { sha256 } from "../emulator/helpers";

const WRANGLER = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let emu: RunningEmulator;
let home: string;

function wrangler(args: string[], stdin = ""): Promise<Run> {
  const child = spawn(process.execPath, [WRANGLER, "secrets-store", ...args, "--remote"], {
    cwd: home,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      // Node 22's on-disk compile cache: wrangler's bundle loads in about half the time after the first run.
      NODE_COMPILE_CACHE: path.join(home, ".node-compile-cache"),
      CI: "true",
      NO_COLOR: "1",
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_API_BASE_URL: emu.url,
      CLOUDFLARE_API_TOKEN: emu.token,
      CLOUDFLARE_ACCOUNT_ID: emu.accountId,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

function ok(run: Run): Run {
  if (run.code !== 0) throw new Error(`wrangler exited ${run.code}\n${run.stdout}\n${run.stderr}`);
  return run;
}

const api = async (p: string) =>
  ((await (await fetch(`${emu.url}/accounts/${emu.accountId}${p}`, { headers: { authorization: `Bearer ${emu.token}` } })).json()) as any).result;
const secretHash = async (id: string) => ((await (await fetch(`${emu.origin}/__emulator/secrets/${id}/sha256`)).json()) as any).sha256 as string;

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
    apiKeyId = byName.API_KEY!.id;
    otherId = byName.OTHER_KEY!.id;
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
    ok(await wrangler(["secret", "update", storeId, "--secret-id", apiKeyId, "--scopes", "workers,ai_gateway", "--comment", "updated comment"], "rotated-value\n"));
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

    const log = (await (await fetch(`${emu.origin}/__emulator/requests`)).json()) as Array<{ method: string; path: string; status: number }>;
    expect(log.filter((r) => r.method === "POST" && r.path.endsWith("/secrets")).map((r) => r.status)).toEqual([200, 200]);
    expect(log.filter((r) => r.method === "PATCH").map((r) => r.status)).toEqual([200]);
    expect(log.filter((r) => r.method === "DELETE").map((r) => r.status)).toEqual([409, 202, 202, 202, 200]);
  });
});
