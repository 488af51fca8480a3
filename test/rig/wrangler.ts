/**
 * Real wrangler 4 against an emulator, the way a user's CI runs it: the token, account and API URL
 * in the environment, on the Node 22 that runs the tests (wrangler refuses older Node).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";

const WRANGLER = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

export interface WranglerRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `wrangler <args>` in `cwd` against `target`, with `stdin` piped in; `home` is its HOME (config, caches). */
export function runWrangler(target: RunningEmulator, home: string, cwd: string, args: string[], stdin = ""): Promise<WranglerRun> {
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      // Node 22's on-disk compile cache: wrangler's bundle loads in about half the time after the first run.
      NODE_COMPILE_CACHE: path.join(home, ".node-compile-cache"),
      CI: "true",
      NO_COLOR: "1",
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_API_BASE_URL: target.url,
      CLOUDFLARE_API_TOKEN: target.token,
      CLOUDFLARE_ACCOUNT_ID: target.accountId,
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

/** The run, or an error with everything wrangler printed when it failed. */
export function ok(run: WranglerRun): WranglerRun {
  if (run.code !== 0) throw new Error(`wrangler exited ${run.code}\n${run.stdout}\n${run.stderr}`);
  return run;
}

/** A wrangler.jsonc's `secrets_store_secrets` entry. */
export interface StoreSecretEntry {
  binding: string;
  store_id: string;
  secret_name: string;
}

/**
 * Writes a module Worker project (`index.js` and `wrangler.jsonc`, with a var, a KV namespace and
 * these `secrets_store_secrets`) into `dir`, and runs `wrangler deploy` there.
 */
export async function deployWorker(target: RunningEmulator, home: string, dir: string, name: string, secrets: StoreSecretEntry[]): Promise<WranglerRun> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "index.js"), "export default { async fetch(req, env) { return new Response(env.GREETING); } };\n");
  const config = {
    name,
    main: "index.js",
    compatibility_date: "2025-06-01",
    vars: { GREETING: `hello from ${name}` },
    kv_namespaces: [{ binding: "CACHE", id: "c".repeat(32) }],
    secrets_store_secrets: secrets,
  };
  fs.writeFileSync(path.join(dir, "wrangler.jsonc"), `// Deployed by wrangler, not by the Pulumi program.\n${JSON.stringify(config, null, 2)}\n`);
  return ok(await runWrangler(target, home, dir, ["deploy"]));
}
