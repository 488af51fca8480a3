import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { dataDirProblem, dataFileProblem } from "../../emulator/persistence";
import { cliStarted, harness, settingsForm, sha256, uploadForm, type Harness } from "./helpers";
import { must } from "../must";

const ROOT = path.resolve(__dirname, "../..");
const tmpDirs: string[] = [];
const running: Array<RunningEmulator | Harness> = [];
const children: ChildProcess[] = [];

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cf-emu-test-"));
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

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe("persistence", () => {
  it("survives a restart, with values encrypted at rest under a 0600 key", async () => {
    const dir = tmpDir();
    const account = "abcdefabcdefabcdefabcdefabcdef12";
    const canary = `CANARY-secret-${Date.now()}`;
    const bindingCanary = `CANARY-binding-${Date.now()}`;
    // The window off (pendingMs 0): the Worker binds KEPT right after creating it; this test is about the data directory.
    let h = await open({ dataDir: dir, accountId: account, tokens: [{ token: "t", permission: "edit" }], pendingMs: 0 });
    const store = await h.store("kept");
    const [s] = await h.secrets(store, [{ name: "KEPT", value: canary, comment: "kept comment" }]);
    await h.api("PUT", "/workers/scripts/w", {
      rawBody: uploadForm({
        main_module: "index.js",
        bindings: [
          { type: "secret_text", name: "LEGACY", text: bindingCanary },
          { type: "secrets_store_secret", name: "API_KEY", store_id: store, secret_name: "KEPT" },
        ],
      }),
    });
    await h.close();

    const files = filesUnder(dir)
      .map((f) => path.basename(f))
      .sort();
    expect(files).toEqual(["key", "state.json"]);
    const key = fs.statSync(path.join(dir, "key"));
    expect(key.mode & 0o777).toBe(0o600);
    expect(key.size).toBe(32);
    for (const file of filesUnder(dir)) {
      const bytes = fs.readFileSync(file);
      for (const needle of [canary, bindingCanary]) {
        for (const encoded of [Buffer.from(needle), Buffer.from(Buffer.from(needle).toString("base64")), Buffer.from(Buffer.from(needle).toString("hex"))]) {
          expect(bytes.includes(encoded), `${needle} in ${file}`).toBe(false);
        }
      }
    }

    h = await open({ dataDir: dir, tokens: [{ token: "t", permission: "edit" }] });
    expect(h.emu.accountId).toBe(account);
    const got = await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`);
    expect(got.body.result).toMatchObject({ name: "KEPT", comment: "kept comment", scopes: ["workers"] });
    expect((await h.hook("GET", `/secrets/${s.id}/sha256`)).body.sha256).toBe(sha256(canary));
    const hook = (b: string) => h.hook("GET", `/accounts/${account}/workers/scripts/w/bindings/${b}/sha256`);
    expect((await hook("LEGACY")).body.sha256).toBe(sha256(bindingCanary));
    expect((await hook("API_KEY")).body.sha256).toBe(sha256(canary));
    // A binding kept by {name, type} after the restart still has its value.
    expect(
      (await h.api("PATCH", "/workers/scripts/w/settings", { rawBody: settingsForm({ bindings: [{ type: "secret_text", name: "LEGACY" }] }) })).status,
    ).toBe(200);
    expect((await hook("LEGACY")).body.sha256).toBe(sha256(bindingCanary));
  });

  it("persists every change, including deletes, and resets to the startup state", async () => {
    const dir = tmpDir();
    let h = await open({ dataDir: dir });
    const store = await h.store();
    const [a, b] = await h.secrets(store, [
      { name: "A", value: "a" },
      { name: "B", value: "b" },
    ]);
    await h.close();
    h = await open({ dataDir: dir });
    await h.api("DELETE", `/secrets_store/stores/${store}/secrets/${a.id}`);
    await h.api("PATCH", `/secrets_store/stores/${store}/secrets/${b.id}`, { body: { value: "b2" } });
    await h.secrets(store, [{ name: "C", value: "c" }]);
    await h.hook("POST", "/reset");
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets`)).body.result.map((s: { name: string }) => s.name)).toEqual(["A", "B"]);
    await h.api("DELETE", `/secrets_store/stores/${store}/secrets/${a.id}`);
    await h.close();
    h = await open({ dataDir: dir });
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets`)).body.result.map((s: { name: string }) => s.name)).toEqual(["B"]);
    expect((await h.hook("GET", `/secrets/${b.id}/sha256`)).body.sha256).toBe(sha256("b"));
  });

  it("refuses to start on another account's data, a wrong key, a missing key or a corrupt file", async () => {
    const dir = tmpDir();
    const h = await open({ dataDir: dir });
    await h.secrets(await h.store(), [{ name: "A", value: "v" }]);
    await h.close();
    await expect(startEmulator({ dataDir: dir, accountId: "f".repeat(32) })).rejects.toThrow(/holds the state of account/);

    const keyPath = path.join(dir, "key");
    const original = fs.readFileSync(keyPath);
    fs.writeFileSync(keyPath, Buffer.alloc(32, 7));
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(/cannot decrypt secret/);
    fs.writeFileSync(keyPath, Buffer.alloc(5));
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(/exactly 32 bytes/);
    fs.rmSync(keyPath);
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(/key .* is missing/);
    fs.writeFileSync(keyPath, original, { mode: 0o644 });
    fs.chmodSync(keyPath, 0o644);
    running.push(await startEmulator({ dataDir: dir }));
    expect(fs.statSync(keyPath).mode & 0o777).toBe(0o600);
    await must(running.pop(), "the emulator just started").close();

    fs.writeFileSync(path.join(dir, "state.json"), "{ truncated");
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(/not valid JSON/);
  });

  it("removes leftovers of interrupted writes and never leaves temp files behind", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "state.json.123.abcd.tmp"), "half a write");
    const h = await open({ dataDir: dir });
    await h.secrets(await h.store(), [{ name: "A", value: "v" }]);
    expect(fs.readdirSync(dir).sort()).toEqual(["key", "state.json"]);
  });

  it("never leaves a corrupt state file when killed mid-write", async () => {
    const dir = tmpDir();
    const cli = await startCli(["--port", "0", "--data", dir, "--quota", "10000", "--max-stores", "1", "--token", "kill-test"]);
    const url = cli.url;
    const account = "0123456789abcdef0123456789abcdef";
    const headers = { authorization: "Bearer kill-test" };
    const storeRes = await fetch(`${url}/accounts/${account}/secrets_store/stores`, { method: "POST", headers, body: JSON.stringify({ name: "s" }) });
    const storeId = ((await storeRes.json()) as { result: { id: string } }).result.id;
    let created = 0;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; ; i++) {
        const r = await fetch(`${url}/accounts/${account}/secrets_store/stores/${storeId}/secrets`, {
          method: "POST",
          headers,
          body: JSON.stringify([{ name: `S_${w}_${i}`, value: "x".repeat(2000), scopes: ["workers"] }]),
        }).catch(() => undefined);
        if (!r) return;
        if (r.status === 200) created++;
      }
    });
    await new Promise((r) => setTimeout(r, 700));
    cli.child.kill("SIGKILL");
    await Promise.all(writers);
    expect(created).toBeGreaterThan(5);
    const emu = await startEmulator({ dataDir: dir, tokens: [{ token: "t", permission: "edit" }] });
    running.push(emu);
    const quota = (await (await fetch(`${emu.url}/accounts/${account}/secrets_store/quota`, { headers: { authorization: "Bearer t" } })).json()) as {
      result: { secrets: { usage: number } };
    };
    // Every answered create was on disk before its answer; at most the in-flight ones were not answered.
    expect(quota.result.secrets.usage).toBeGreaterThanOrEqual(created);
    expect(quota.result.secrets.usage).toBeLessThanOrEqual(created + 8);
  });
});

describe("data directory safety", () => {
  it("creates a fresh data directory with mode 0700 and its files with 0600", async () => {
    const dir = path.join(tmpDir(), "nested", "data");
    const old = process.umask(0o022);
    try {
      await open({ dataDir: dir });
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ["key", "state.json"]) expect(fs.statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
  });

  it("refuses a directory its group or others can write, and deletes nothing in it", async () => {
    const dir = tmpDir();
    const leftover = path.join(dir, "state.json.1.abcd.tmp");
    fs.writeFileSync(leftover, "not ours to delete");
    for (const mode of [0o770, 0o707, 0o777]) {
      fs.chmodSync(dir, mode);
      await expect(startEmulator({ dataDir: dir }), mode.toString(8)).rejects.toThrow(
        `Refusing data directory ${dir}: its group or others can write it (mode 0${mode.toString(8)}); run: chmod 700 ${dir}`,
      );
    }
    expect(fs.existsSync(leftover)).toBe(true);
    expect(fs.existsSync(path.join(dir, "key"))).toBe(false);
    fs.chmodSync(dir, 0o750);
    await open({ dataDir: dir });
    expect(fs.existsSync(leftover)).toBe(false);
  });

  it("refuses a key or state file others can write, or one that is a symlink", async () => {
    const dir = tmpDir();
    const h = await open({ dataDir: dir });
    await h.store();
    await h.close();
    const key = path.join(dir, "key");
    const state = path.join(dir, "state.json");
    fs.chmodSync(key, 0o620);
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(`Refusing ${key}: its group or others can write it (mode 0620); run: chmod 600 ${key}`);
    fs.chmodSync(key, 0o600);
    fs.chmodSync(state, 0o602);
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(`Refusing ${state}: its group or others can write it (mode 0602)`);
    fs.chmodSync(state, 0o600);
    const elsewhere = path.join(tmpDir(), "key");
    fs.renameSync(key, elsewhere);
    fs.symlinkSync(elsewhere, key);
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(/Refusing .*key: it is not a regular file \(symlinks are not followed\)/);
    fs.rmSync(key);
    fs.renameSync(elsewhere, key);
    await open({ dataDir: dir });
  });

  it("refuses a directory or file owned by another user", () => {
    const dir = tmpDir();
    const file = path.join(dir, "key");
    fs.writeFileSync(file, Buffer.alloc(32), { mode: 0o600 });
    const me = must(process.getuid?.(), "a uid (process.getuid is POSIX-only)");
    expect(dataDirProblem(dir, me)).toBeUndefined();
    expect(dataFileProblem(file, me)).toBeUndefined();
    expect(dataFileProblem(path.join(dir, "absent"), me)).toBeUndefined();
    expect(dataDirProblem(dir, me + 1)).toBe(`Refusing data directory ${dir}: it is owned by uid ${me}, not by the user running the emulator (uid ${me + 1})`);
    expect(dataFileProblem(file, me + 1)).toBe(`Refusing ${file}: it is owned by uid ${me}, not by the user running the emulator (uid ${me + 1})`);
    expect(dataDirProblem(file, me)).toMatch(/it is not a directory/);
  });
});

describe("seed", () => {
  it("starts from a seed file (stores by name or id, active secrets, Workers with bindings)", async () => {
    const dir = tmpDir();
    const seedFile = path.join(dir, "seed.json");
    const storeId = "b".repeat(32);
    fs.writeFileSync(
      seedFile,
      JSON.stringify({
        stores: [{ name: "team", id: storeId }],
        secrets: [
          { store: "team", name: "ONE", value: "one", scopes: ["workers", "ai_gateway"], comment: "c" },
          { store: storeId, name: "TWO", value: "two", scopes: ["ai_gateway"] },
        ],
        workers: [
          { name: "app", compatibility_date: "2025-01-01", bindings: [{ type: "secrets_store_secret", name: "K", store_id: storeId, secret_name: "ONE" }] },
        ],
      }),
    );
    const h = await open({ seed: seedFile });
    const list = await h.api("GET", `/secrets_store/stores/${storeId}/secrets`);
    expect(list.body.result.map((s: { name: string; status: string; scopes: string[] }) => [s.name, s.status, s.scopes])).toEqual([
      ["ONE", "active", ["ai_gateway", "workers"]],
      ["TWO", "active", ["ai_gateway"]],
    ]);
    expect((await h.hook("GET", `/accounts/${h.emu.accountId}/workers/scripts/app/bindings/K/sha256`)).body.sha256).toBe(sha256("one"));
    expect((await h.api("GET", "/workers/scripts/app/settings")).body.result.compatibility_date).toBe("2025-01-01");
  });

  it("applies the API's rules to seeds", async () => {
    const bad = [
      [{ stores: [{ name: "a" }, { name: "b" }] }, /maximum_stores_exceeded/],
      [{ stores: [{ name: "a" }], secrets: [{ store: "zzz", name: "A", value: "v", scopes: ["workers"] }] }, /no seeded store/],
      [{ stores: [{ name: "a" }], secrets: [{ store: "a", name: "A", value: "v", scopes: ["ai-gateway"] }] }, /did you mean "ai_gateway"/],
      [{ stores: [{ name: "a", id: "X" }] }, /32 lowercase hex/],
      [
        { workers: [{ name: "w", bindings: [{ type: "secrets_store_secret", name: "K", store_id: "c".repeat(32), secret_name: "NOPE" }] }] },
        /which were not found/,
      ],
      [{ secretz: [] }, /Unrecognized key/],
    ] as const;
    for (const [seed, message] of bad) {
      await expect(startEmulator({ seed: seed as never }), JSON.stringify(seed)).rejects.toThrow(message);
    }
    await expect(startEmulator({ seed: "/no/such/seed.json" })).rejects.toThrow(/Cannot read seed file/);
  });

  it("leaves no state behind when it fails half-way", async () => {
    const dir = tmpDir();
    const seed = {
      stores: [{ name: "a" }],
      secrets: [
        { store: "a", name: "OK", value: "v", scopes: ["workers"] },
        { store: "a", name: "bad name", value: "v", scopes: ["workers"] },
      ],
    };
    await expect(startEmulator({ dataDir: dir, seed })).rejects.toThrow(/invalid_secret_name/);
    expect(fs.existsSync(path.join(dir, "state.json"))).toBe(false);
    const h = await open({ dataDir: dir, seed: { stores: [{ name: "good" }] } });
    expect((await h.api("GET", "/secrets_store/stores")).body.result.map((s: { name: string }) => s.name)).toEqual(["good"]);
  });

  it("is ignored when the data directory already holds state", async () => {
    const dir = tmpDir();
    let h = await open({ dataDir: dir, seed: { stores: [{ name: "first" }] } });
    await h.close();
    h = await open({ dataDir: dir, seed: { stores: [{ name: "second" }] } });
    expect((await h.api("GET", "/secrets_store/stores")).body.result.map((s: { name: string }) => s.name)).toEqual(["first"]);
  });
});

// ---------------------------------------------------------------------------------------------

interface Cli {
  child: ChildProcess;
  url: string;
  lines: string[];
}

function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "emulator/cli.ts"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return child;
}

async function startCli(args: string[], env: Record<string, string> = {}): Promise<Cli> {
  const child = spawnCli(args, env);
  return { child, ...(await cliStarted(child)) };
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, env);
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    must(child.stdout, "the CLI's stdout pipe").on("data", (d) => (stdout += d));
    must(child.stderr, "the CLI's stderr pipe").on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("CLI", () => {
  it("prints the URL, account and tokens, serves with them, and stops cleanly on SIGTERM", async () => {
    const account = "1234567890abcdef1234567890abcdef";
    const cli = await startCli([
      "--port",
      "0",
      "--account",
      account,
      "--token",
      "reader:read",
      "--token=writer:edit",
      "--quota",
      "5",
      "--latency-ms",
      "0",
      "--rate-limit",
      "50",
    ]);
    expect(cli.lines[0]).toMatch(/^Cloudflare API emulator listening on http:\/\/127\.0\.0\.1:\d+\/client\/v4$/);
    expect(cli.lines.slice(1, 4)).toEqual([`account: ${account}`, "token: reader", "token: writer"]);
    const hookToken = /^hook token: ([A-Za-z0-9_-]{40})$/.exec(cli.lines[4] ?? "")?.[1];
    expect(hookToken, cli.lines.join("\n")).toBeDefined();
    const origin = new URL(cli.url).origin;
    expect((await fetch(`${origin}/__emulator/health`, { headers: { authorization: `Bearer ${hookToken}` } })).status).toBe(200);
    expect((await fetch(`${origin}/__emulator/health`, { headers: { authorization: "Bearer writer" } })).status).toBe(401);
    const quota = await fetch(`${cli.url}/accounts/${account}/secrets_store/quota`, { headers: { authorization: "Bearer reader" } });
    expect(((await quota.json()) as { result: unknown }).result).toEqual({ secrets: { quota: 5, usage: 0 } });
    const write = await fetch(`${cli.url}/accounts/${account}/secrets_store/stores`, {
      method: "POST",
      headers: { authorization: "Bearer reader" },
      body: '{"name":"x"}',
    });
    expect(write.status).toBe(403);
    const exited = new Promise<number | null>((resolve) => cli.child.on("exit", (code) => resolve(code)));
    cli.child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("validates its flags with clear errors", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--port", "eighty"], /--port takes a whole number/],
      [["--port", "70000"], /--port must be at most 65535/],
      [["--account", "xyz"], /--account takes 32 lowercase hex/],
      [["--token"], /--token needs a value/],
      [["--token", ":read"], /--token takes TOKEN/],
      [["--frobnicate"], /Unknown option "--frobnicate"/],
      [["--rate-limit", "0"], /--rate-limit must be at least 1/],
      [["--hook-token"], /--hook-token needs a value/],
      [["--no-hooks", "--hook-token", "h"], /--hook-token and --no-hooks cannot be used together/],
      [["--no-hooks=yes"], /--no-hooks takes no value/],
      [["--pending-ms", "-1"], /--pending-ms needs a value|--pending-ms takes a whole number/],
      [["--pending-ms", "soon"], /--pending-ms takes a whole number/],
      [["--token", "t:admin"], /--token takes TOKEN/],
      [["--token-file", "/no/such/tokens"], /--token-file: cannot read \/no\/such\/tokens: ENOENT/],
      [["--hook-token-file", "/no/such/hook"], /--hook-token-file: cannot read \/no\/such\/hook: ENOENT/],
      [["--hook-token", "a", "--hook-token-file", "/dev/null"], /give the hook token once|--hook-token-file: the first line/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, message] = must(cases[i], `case ${i}`);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/Usage: cloudflare-api-emulator/);
    });
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--token TOKEN\[:PERM\]/);
    expect(help.stdout).toMatch(/read\s+\(GET only\) or workers/);
    expect(help.stdout).toMatch(/--token-file FILE/);
    expect(help.stdout).toMatch(/--pending-ms N/);
    expect(help.stdout).toMatch(/--hook-token TOKEN/);
    expect(help.stdout).toMatch(/--hook-token-file FILE/);
    expect(help.stdout).toMatch(/CLOUDFLARE_EMULATOR_TOKENS/);
    expect(help.stdout).toMatch(/CLOUDFLARE_EMULATOR_HOOK_TOKEN/);
    expect(help.stdout).toMatch(/--no-hooks/);
    expect(help.stdout).toMatch(/--hooks-allow-remote/);
  });

  it("takes --hook-token, prints hooks: off for --no-hooks, accepts --hooks-allow-remote", async () => {
    const [chosen, off] = await Promise.all([
      startCli(["--port", "0", "--hook-token", "cli-hook-token", "--hooks-allow-remote"]),
      startCli(["--port", "0", "--no-hooks", "--token", "t"]),
    ]);
    expect(chosen.lines).toContain("hook token: cli-hook-token");
    expect((await fetch(`${new URL(chosen.url).origin}/__emulator/health`, { headers: { authorization: "Bearer cli-hook-token" } })).status).toBe(200);
    expect(off.lines).toContain("hooks: off");
    expect(off.lines.join("\n")).not.toMatch(/hook token/);
    expect((await fetch(`${new URL(off.url).origin}/__emulator/health`, { headers: { authorization: "Bearer t" } })).status).toBe(404);
  });

  it("reads tokens from --token-file and --hook-token-file, keeping them out of argv and out of its output", async () => {
    const dir = tmpDir();
    const tokens = path.join(dir, "tokens");
    fs.writeFileSync(tokens, "# CI tokens\nfile-editor-token\n\nfile-reader-token:read\nfile-deployer:workers\n", { mode: 0o600 });
    const hookFile = path.join(dir, "hook");
    fs.writeFileSync(hookFile, "file-hook-token\n", { mode: 0o600 });
    const cli = await startCli(["--port", "0", "--token-file", tokens, "--hook-token-file", hookFile]);
    const out = cli.lines.join("\n");
    for (const secret of ["file-editor-token", "file-reader-token", "file-deployer", "file-hook-token"]) expect(out).not.toContain(secret);
    expect(cli.lines).toContain("token: (edit, from a file or CLOUDFLARE_EMULATOR_TOKENS; not printed)");
    expect(cli.lines).toContain("token: (workers, from a file or CLOUDFLARE_EMULATOR_TOKENS; not printed)");
    const origin = new URL(cli.url).origin;
    const stores = (t: string, method = "GET") =>
      fetch(`${cli.url}/accounts/0123456789abcdef0123456789abcdef/secrets_store/stores`, {
        method,
        headers: { authorization: `Bearer ${t}` },
        body: method === "GET" ? undefined : '{"name":"x"}',
      });
    expect((await stores("file-editor-token")).status).toBe(200);
    expect((await stores("file-reader-token")).status).toBe(200);
    expect((await stores("file-reader-token", "POST")).status).toBe(403);
    expect((await stores("file-deployer", "POST")).status).toBe(403);
    expect((await stores("file-editor-token", "POST")).status).toBe(200);
    expect((await fetch(`${origin}/__emulator/health`, { headers: { authorization: "Bearer file-hook-token" } })).status).toBe(200);
    const empty = path.join(dir, "empty");
    fs.writeFileSync(empty, "# nothing\n");
    const refused = await runCli(["--port", "0", "--token-file", empty]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--token-file: .* holds no token/);
  });

  it("reads tokens from CLOUDFLARE_EMULATOR_TOKENS and CLOUDFLARE_EMULATOR_HOOK_TOKEN when no token flag is given", async () => {
    const env = { CLOUDFLARE_EMULATOR_TOKENS: "env-editor, env-reader:read\nenv-deployer:workers", CLOUDFLARE_EMULATOR_HOOK_TOKEN: "env-hook-token" };
    const [fromEnv, flagsWin] = await Promise.all([startCli(["--port", "0"], env), startCli(["--port", "0", "--token", "flag-token"], env)]);
    const out = fromEnv.lines.join("\n");
    for (const secret of ["env-editor", "env-reader", "env-deployer", "env-hook-token"]) expect(out).not.toContain(secret);
    expect(fromEnv.lines.filter((l) => l.startsWith("token: "))).toHaveLength(3);
    expect(fromEnv.lines).toContain("hook token: (from a file or the environment; not printed)");
    const verify = (cli: Cli, t: string) => fetch(`${cli.url}/user/tokens/verify`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
    expect(await verify(fromEnv, "env-editor")).toBe(200);
    expect(await verify(fromEnv, "env-reader")).toBe(200);
    expect(await verify(fromEnv, "env-deployer")).toBe(200);
    expect((await fetch(`${new URL(fromEnv.url).origin}/__emulator/health`, { headers: { authorization: "Bearer env-hook-token" } })).status).toBe(200);
    // A --token flag wins over the variable: only the flag's token is accepted.
    expect(flagsWin.lines).toContain("token: flag-token");
    expect(await verify(flagsWin, "flag-token")).toBe(200);
    expect(await verify(flagsWin, "env-editor")).toBe(401);
    const bad = await runCli(["--port", "0"], { CLOUDFLARE_EMULATOR_TOKENS: "ok-token x:admin" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/CLOUDFLARE_EMULATOR_TOKENS takes TOKEN/);
  });

  it("exits 1 with a clear message on a data directory others can write", async () => {
    const dir = tmpDir();
    fs.chmodSync(dir, 0o777);
    const r = await runCli(["--port", "0", "--data", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cloudflare-api-emulator: Refusing data directory ${dir}: its group or others can write it (mode 0777); run: chmod 700 ${dir}\n`);
    expect(r.stdout).toBe("");
  });
});
