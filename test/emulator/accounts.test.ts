/**
 * One emulator serving several accounts (`EmulatorOptions.accounts`, the CLI's repeated
 * `--account`): each account keeps its own stores, secrets, Workers and quota; one token reaches
 * them all; `GET /accounts` lists them; the data directory keeps them all.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startEmulator, type EmulatorSeed, type RunningEmulator } from "../../emulator";
import { cliStarted, codes, harness, sha256, uploadForm, type CallOptions, type Harness } from "./helpers";

const ROOT = path.resolve(__dirname, "../..");
const A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
const B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2";
const C = "ccccccccccccccccccccccccccccccc3";
const UNSERVED = "ddddddddddddddddddddddddddddddd4";

const tmpDirs: string[] = [];
const running: Array<RunningEmulator | Harness> = [];
const children: ChildProcess[] = [];

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cf-emu-accounts-"));
  tmpDirs.push(dir);
  return dir;
}

async function open(options: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = await harness(options);
  running.push(h);
  return h;
}

afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** An API call in account `account`: `inAccount(h, B, "GET", "/secrets_store/stores")`. */
const inAccount = (h: Harness, account: string, method: string, p: string, o?: CallOptions) => h.call(method, `/accounts/${account}${p}`, o);

const seedWith = (storeId: string, value: string): EmulatorSeed => ({
  stores: [{ name: "default_secrets_store", id: storeId }],
  secrets: [{ store: "default_secrets_store", name: "API_KEY", value, scopes: ["workers"] }],
  workers: [{ name: "app", bindings: [{ name: "API_KEY", type: "secrets_store_secret", store_id: storeId, secret_name: "API_KEY" }] }],
});

describe("several accounts", () => {
  it("keeps each account's stores, secrets, Workers and quota apart; one token reaches all; /accounts lists them", async () => {
    const h = await open({ accountId: A, accounts: [{ accountId: B }], quota: 2, pendingMs: 0 });
    expect(h.emu.accountId).toBe(A);
    expect(h.emu.accountIds).toEqual([A, B]);

    const accounts = await h.call("GET", "/accounts");
    expect(accounts.status).toBe(200);
    expect(accounts.body.result.map((a: { id: string }) => a.id)).toEqual([A, B]);
    expect(accounts.body.result_info).toMatchObject({ count: 2, total_count: 2 });
    const memberships = await h.call("GET", "/memberships");
    expect(memberships.body.result.map((m: { account: { id: string } }) => m.account.id)).toEqual([A, B]);

    // The same store name in both accounts (one store per account each): two different stores.
    const storeA = (await inAccount(h, A, "POST", "/secrets_store/stores", { body: { name: "main" } })).body.result;
    const storeB = (await inAccount(h, B, "POST", "/secrets_store/stores", { body: { name: "main" } })).body.result;
    expect(storeA.account_id).toBe(A);
    expect(storeB.account_id).toBe(B);
    expect(storeA.id).not.toBe(storeB.id);
    // A store of A is not found through B.
    expect((await inAccount(h, B, "GET", `/secrets_store/stores/${storeA.id}`)).status).toBe(404);

    const put = (account: string, store: string, items: Array<{ name: string; value: string }>) =>
      inAccount(h, account, "POST", `/secrets_store/stores/${store}/secrets`, { body: items.map((i) => ({ scopes: ["workers"], ...i })) });
    const [secretA] = (await put(A, storeA.id, [{ name: "K", value: "in-a" }])).body.result;
    const [secretB] = (await put(B, storeB.id, [{ name: "K", value: "in-b" }])).body.result;
    // The quota (2) is per account: A's two secrets leave B's quota alone.
    expect((await put(A, storeA.id, [{ name: "K2", value: "x" }])).status).toBe(200);
    expect(codes(await put(A, storeA.id, [{ name: "K3", value: "x" }]))).toEqual([1003]);
    expect((await inAccount(h, A, "GET", "/secrets_store/quota")).body.result).toEqual({ secrets: { quota: 2, usage: 2 } });
    expect((await inAccount(h, B, "GET", "/secrets_store/quota")).body.result).toEqual({ secrets: { quota: 2, usage: 1 } });

    // Workers: one name in both accounts, each bound to its own account's secret.
    for (const [account, store] of [
      [A, storeA.id],
      [B, storeB.id],
    ] as const) {
      const upload = uploadForm({ main_module: "index.js", bindings: [{ type: "secrets_store_secret", name: "K", store_id: store, secret_name: "K" }] });
      expect((await inAccount(h, account, "PUT", "/workers/scripts/app", { rawBody: upload })).status).toBe(200);
    }
    // A binding to another account's store is refused (that store is not found in this account).
    const cross = uploadForm({ main_module: "index.js", bindings: [{ type: "secrets_store_secret", name: "K", store_id: storeA.id, secret_name: "K" }] });
    expect((await inAccount(h, B, "PUT", "/workers/scripts/other", { rawBody: cross })).status).toBe(400);

    const binding = async (account: string) => (await h.hook("GET", `/accounts/${account}/workers/scripts/app/bindings/K/sha256`)).body.sha256;
    expect(await binding(A)).toBe(sha256("in-a"));
    expect(await binding(B)).toBe(sha256("in-b"));
    // The secret hook finds a secret in any account.
    expect((await h.hook("GET", `/secrets/${secretA.id}/sha256`)).body.sha256).toBe(sha256("in-a"));
    expect((await h.hook("GET", `/secrets/${secretB.id}/sha256`)).body.sha256).toBe(sha256("in-b"));

    // Deleting in B leaves A alone.
    expect((await inAccount(h, B, "DELETE", `/secrets_store/stores/${storeB.id}/secrets/${secretB.id}`)).status).toBe(202);
    expect((await inAccount(h, A, "GET", `/secrets_store/stores/${storeA.id}/secrets`)).body.result.map((s: { name: string }) => s.name)).toEqual(["K", "K2"]);
    expect((await inAccount(h, B, "GET", "/workers/scripts")).body.result.map((w: { id: string }) => w.id)).toEqual(["app"]);

    // An account the emulator does not serve: 403 10000 as before; a malformed id: 404.
    expect(codes(await inAccount(h, UNSERVED, "GET", "/secrets_store/stores"))).toEqual([10000]);
    expect((await inAccount(h, "not-an-account", "GET", "/secrets_store/stores")).status).toBe(404);
    expect((await h.hook("GET", `/accounts/${UNSERVED}/workers/scripts/app/bindings/K/sha256`)).status).toBe(404);
  });

  it("seeds each account from its own seed, and reset goes back to every account's startup state", async () => {
    const storeA = "a0000000000000000000000000000000";
    const storeB = "b0000000000000000000000000000000";
    const h = await open({ accountId: A, seed: seedWith(storeA, "seed-a"), accounts: [{ accountId: B, seed: seedWith(storeB, "seed-b") }, { accountId: C }] });
    expect(h.emu.accountIds).toEqual([A, B, C]);
    const binding = async (account: string) => (await h.hook("GET", `/accounts/${account}/workers/scripts/app/bindings/API_KEY/sha256`)).body.sha256;
    expect(await binding(A)).toBe(sha256("seed-a"));
    expect(await binding(B)).toBe(sha256("seed-b"));
    expect((await inAccount(h, C, "GET", "/secrets_store/stores")).body.result).toEqual([]);

    const [secretB] = (await inAccount(h, B, "GET", `/secrets_store/stores/${storeB}/secrets`)).body.result;
    expect((await inAccount(h, B, "PATCH", `/secrets_store/stores/${storeB}/secrets/${secretB.id}`, { body: { value: "changed" } })).status).toBe(200);
    expect((await inAccount(h, C, "POST", "/secrets_store/stores", { body: { name: "new" } })).status).toBe(200);
    expect((await h.hook("POST", "/reset")).status).toBe(200);
    expect((await h.hook("GET", `/secrets/${secretB.id}/sha256`)).body.sha256).toBe(sha256("seed-b"));
    expect((await inAccount(h, C, "GET", "/secrets_store/stores")).body.result).toEqual([]);
  });

  it("refuses bad account lists and names the account whose seed is bad", async () => {
    await expect(startEmulator({ accountId: A, accounts: [{ accountId: A }] })).rejects.toThrow(/listed twice/);
    await expect(startEmulator({ accounts: [{ accountId: B }, { accountId: B }] })).rejects.toThrow(/listed twice/);
    await expect(startEmulator({ accounts: [{ accountId: "nope" }] })).rejects.toThrow(/32 lowercase hex/);
    await expect(
      startEmulator({ accounts: [{ accountId: B, seed: { secrets: [{ store: "missing", name: "X", value: "v", scopes: ["workers"] }] } }] }),
    ).rejects.toThrow(new RegExp(`account ${B}: Invalid seed`));
  });
});

describe("several accounts in a data directory", () => {
  it("round-trips every account, encrypted, and still reads a single-account (version 1) file", async () => {
    const dir = tmpDir();
    // One account first: the version 1 file older emulators write.
    let h = await open({ dataDir: dir, accountId: A, pendingMs: 0 });
    const storeA = await h.store("main");
    const [secretA] = await h.secrets(storeA, [{ name: "K", value: "CANARY-a" }]);
    await h.close();
    const v1 = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8"));
    expect(v1).toMatchObject({ version: 1, accountId: A });

    // Reopened with a second account: A's state is read from version 1, B is new (and seeded).
    h = await open({ dataDir: dir, accounts: [{ accountId: B, seed: { stores: [{ name: "main" }] } }], pendingMs: 0 });
    expect(h.emu.accountIds).toEqual([A, B]);
    expect((await h.hook("GET", `/secrets/${secretA.id}/sha256`)).body.sha256).toBe(sha256("CANARY-a"));
    const [storeB] = (await inAccount(h, B, "GET", "/secrets_store/stores")).body.result;
    const [secretB] = (
      await inAccount(h, B, "POST", `/secrets_store/stores/${storeB.id}/secrets`, { body: [{ name: "K", value: "CANARY-b", scopes: ["workers"] }] })
    ).body.result;
    const upload = uploadForm({ main_module: "index.js", bindings: [{ type: "secret_text", name: "T", text: "CANARY-text-b" }] });
    expect((await inAccount(h, B, "PUT", "/workers/scripts/app", { rawBody: upload })).status).toBe(200);
    await h.close();

    const raw = fs.readFileSync(path.join(dir, "state.json"), "utf8");
    const v2 = JSON.parse(raw);
    expect(v2.version).toBe(2);
    expect(v2.accounts.map((a: { accountId: string }) => a.accountId)).toEqual([A, B]);
    for (const canary of ["CANARY-a", "CANARY-b", "CANARY-text-b"]) expect(raw.includes(canary), canary).toBe(false);

    // Reopened without naming B: every stored account is still served, values intact.
    h = await open({ dataDir: dir, pendingMs: 0 });
    expect(h.emu.accountIds).toEqual([A, B]);
    expect((await h.hook("GET", `/secrets/${secretA.id}/sha256`)).body.sha256).toBe(sha256("CANARY-a"));
    expect((await h.hook("GET", `/secrets/${secretB.id}/sha256`)).body.sha256).toBe(sha256("CANARY-b"));
    expect((await h.hook("GET", `/accounts/${B}/workers/scripts/app/bindings/T/sha256`)).body.sha256).toBe(sha256("CANARY-text-b"));
    expect((await inAccount(h, A, "GET", "/workers/scripts")).body.result).toEqual([]);
    await h.close();

    // The first account is still pinned: another first account is refused.
    await expect(startEmulator({ dataDir: dir, accountId: B })).rejects.toThrow(/holds the state of account/);
    // A sealed value moved to the other account does not decrypt (values are bound to their account).
    const swapped = JSON.parse(raw);
    const [a0, b0] = swapped.accounts;
    [a0.secrets[0].value, b0.secrets[0].value] = [b0.secrets[0].value, a0.secrets[0].value];
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(swapped));
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(/cannot decrypt secret/);
  });
});

describe("CLI with several accounts", () => {
  it("takes --account repeatedly, seeds the account named before each --seed, and prints every account", async () => {
    const dir = tmpDir();
    const seedA = path.join(dir, "a.json");
    const seedB = path.join(dir, "b.json");
    fs.writeFileSync(seedA, JSON.stringify({ stores: [{ name: "store-a" }] }));
    fs.writeFileSync(seedB, JSON.stringify({ stores: [{ name: "store-b" }] }));
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(ROOT, "emulator/cli.ts"),
        "--port",
        "0",
        "--seed",
        seedA,
        "--account",
        A,
        "--account",
        B,
        "--seed",
        seedB,
        "--account",
        C,
        "--token",
        "tok",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: process.env },
    );
    children.push(child);
    const cli = await cliStarted(child);
    expect(cli.lines.slice(1, 4)).toEqual([`account: ${A}`, `account: ${B}`, `account: ${C}`]);
    const get = async (p: string) =>
      ((await (await fetch(`${cli.url}${p}`, { headers: { authorization: "Bearer tok" } })).json()) as { result: Array<{ id: string; name: string }> }).result;
    expect((await get("/accounts")).map((a) => a.id)).toEqual([A, B, C]);
    expect((await get(`/accounts/${A}/secrets_store/stores`)).map((s) => s.name)).toEqual(["store-a"]);
    expect((await get(`/accounts/${B}/secrets_store/stores`)).map((s) => s.name)).toEqual(["store-b"]);
    expect(await get(`/accounts/${C}/secrets_store/stores`)).toEqual([]);
    child.kill("SIGTERM");
  });

  it("refuses an account given twice and a second seed for one account", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "emulator/cli.ts"), "--port", "0", ...args], {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
        });
        children.push(child);
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ code, stderr }));
      });
    const twice = await run(["--account", A, "--account", A]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/--account a+1 is given twice/);
    const seeds = await run(["--account", A, "--account", B, "--seed", "x.json", "--seed", "y.json"]);
    expect(seeds.code).toBe(2);
    expect(seeds.stderr).toMatch(/--seed is given twice for account b+2/);
  });
});
