/**
 * examples/fleet: one emulator serving three accounts, the example staged with the packed
 * package, and its `rotate.ts` (the Automation API over the real `pulumi` CLI, a local file
 * backend, passphrase secrets) rotating one shared credential in all three, two at a time; then
 * one account failing, and `--retry-failed` rerunning only it.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type EmulatorSeed, type RunningEmulator } from "../../emulator";
import { emulatorFetch } from "../../tools/emulator-client";
import { REPO_ROOT, stageProgram } from "../../tools/packed-package";
import { cliPath, findPulumi } from "../../tools/pulumi-cli";
import type { ResultsFile } from "../../examples/fleet/rotate";
import { sha256 } from "../rig/bytes";
import { PASSPHRASE } from "./stack";
import { must } from "../must";

const ACCOUNTS = ["f1eed000000000000000000000000001", "f1eed000000000000000000000000002", "f1eed000000000000000000000000003"];
const [A, B, C] = ACCOUNTS as [string, string, string];

/** What every account starts with: the store the program adopts, and the Worker it binds into. */
const SEED: EmulatorSeed = {
  stores: [{ name: "default_secrets_store" }],
  workers: [{ name: "app", bindings: [{ type: "plain_text", name: "MODE", text: "prod" }] }],
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("examples/fleet: rotate.ts over three accounts of one emulator", () => {
  let emu: RunningEmulator;
  let programDir: string;
  let backendDir: string;

  beforeAll(async () => {
    emu = await startEmulator({
      port: 0,
      accountId: A,
      seed: SEED,
      accounts: [
        { accountId: B, seed: SEED },
        { accountId: C, seed: SEED },
      ],
    });
    programDir = stageProgram(path.join(REPO_ROOT, "examples", "fleet"));
    backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-backend-"));
  });

  afterAll(async () => {
    await emu?.close();
    if (programDir) fs.rmSync(programDir, { recursive: true, force: true });
    if (backendDir) fs.rmSync(backendDir, { recursive: true, force: true });
  });

  /** `npx tsx rotate.ts <args>` in the staged example, as its README says, with the value in FLEET_SECRET. */
  function rotate(value: string, ...args: string[]): Promise<Run> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: cliPath(),
      PULUMI_HOME: path.join(backendDir, ".pulumi-home"),
      PULUMI_BACKEND_URL: `file://${backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SUPPRESS_COPILOT_LINK: "true",
      CLOUDFLARE_API_TOKEN: emu.token,
      CLOUDFLARE_API_BASE_URL: emu.url,
      FLEET_SECRET: value,
    };
    delete env.CLOUDFLARE_ACCOUNT_ID;
    const pulumiRoot = path.dirname(path.dirname(findPulumi()));
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "rotate.ts", "--pulumi-root", pulumiRoot, ...args], { cwd: programDir, env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  const api = <T>(account: string, p: string) => emulatorFetch<{ result: T }>(emu, `/client/v4/accounts/${account}${p}`).then((r) => r.result);

  /** sha256 of the account's shared secret (the secret hook) and of what the Worker's binding yields now. */
  async function hashes(account: string): Promise<{ secret: string; binding: string }> {
    const [store] = await api<Array<{ id: string }>>(account, "/secrets_store/stores");
    const secrets = await api<Array<{ id: string; name: string }>>(account, `/secrets_store/stores/${must(store, `a store in ${account}`).id}/secrets`);
    const secret = secrets.find((s) => s.name === "shared_api_key");
    if (!secret) throw new Error(`no shared_api_key in account ${account}`);
    const bySecret = await emulatorFetch<{ sha256: string }>(emu, `/__emulator/secrets/${secret.id}/sha256`);
    const byBinding = await emulatorFetch<{ sha256: string }>(emu, `/__emulator/accounts/${account}/workers/scripts/app/bindings/SHARED_API_KEY/sha256`);
    return { secret: bySecret.sha256, binding: byBinding.sha256 };
  }

  /** Bindings keep the previous value while a change is pending (about 1–1.5 s): wait until each resolves to `value`. */
  async function bindingsResolveTo(value: string, accounts: string[]): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (const account of accounts) {
      for (;;) {
        const h = await hashes(account);
        expect(h.secret, `secret of ${account}`).toBe(sha256(value));
        if (h.binding === sha256(value)) break;
        if (Date.now() > deadline) throw new Error(`the binding of ${account} does not resolve to the new value`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** The full pulumi output of every stack (rotate.ts writes it to fleet-logs/), for failure messages. */
  const logs = (): string => {
    const dir = path.join(programDir, "fleet-logs");
    return fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), "utf8").slice(-4000)}`)
          .join("\n")
      : "";
  };
  const results = (): ResultsFile => JSON.parse(fs.readFileSync(path.join(programDir, "fleet-results.json"), "utf8")) as ResultsFile;
  /** The summary table's row of a stack, split into cells. */
  const row = (out: string, stack: string) =>
    out
      .split("\n")
      .find((l) => l.startsWith(`${stack} `))
      ?.split(/\s{2,}/);

  it("rotates all three two at a time, reports one failed account, and retries only it", async () => {
    const stacks = ACCOUNTS.map((a) => `fleet-${a}`);

    // First run: each stack adopts its account's store, creates the secret and binds it.
    const first = await rotate("fleet-value-1", "--accounts", ACCOUNTS.join(","), "--concurrency", "2");
    expect(first.code, first.stdout + first.stderr + logs()).toBe(0);
    await bindingsResolveTo("fleet-value-1", ACCOUNTS);

    // The rotation: a new value, one change per stack.
    const second = await rotate("fleet-value-2", "--accounts", ACCOUNTS.join(","), "--concurrency", "2");
    expect(second.code, second.stdout + second.stderr + logs()).toBe(0);
    expect(second.stdout).toMatch(/Rotating FLEET_SECRET in 3 stacks, 2 at a time/);
    for (const s of stacks) {
      expect(second.stdout).toMatch(new RegExp(`start +${s} \\(account `));
      expect(second.stdout).toMatch(new RegExp(`done +${s} changed \\(1 change\\)`));
      expect(row(second.stdout, s)?.slice(2, 4)).toEqual(["changed", "1"]);
    }
    expect(second.stdout).toMatch(/3 stacks: 3 changed, 0 unchanged, 0 failed/);
    await bindingsResolveTo("fleet-value-2", ACCOUNTS);
    expect(results().results.map((r) => [r.stack, r.accountId, r.result, r.changes])).toEqual(stacks.map((s, i) => [s, ACCOUNTS[i], "changed", 1]));
    // The value never entered Pulumi: not in the backend, the stack config files, the results or the output.
    const stored = [backendDir, programDir].flatMap((d) =>
      filesUnder(d)
        .filter((f) => !f.includes("node_modules"))
        .map((f) => fs.readFileSync(f, "utf8")),
    );
    for (const text of [...stored, first.stdout, first.stderr, second.stdout, second.stderr]) {
      expect(text.includes("fleet-value-1") || text.includes("fleet-value-2")).toBe(false);
    }

    // B's secret PATCH fails once: B fails, A and C rotate; the exit code says so.
    await emulatorFetch(emu, "/__emulator/faults", {
      method: "POST",
      body: { method: "PATCH", path: `/accounts/${B}/secrets_store/stores/[^/]+/secrets/[^/?]+`, mode: "error-before", times: 1 },
    });
    const third = await rotate("fleet-value-3", "--accounts", ACCOUNTS.join(","), "--concurrency", "2");
    expect(third.code, third.stdout + third.stderr + logs()).toBe(1);
    expect(third.stdout).toMatch(/3 stacks: 2 changed, 0 unchanged, 1 failed/);
    const failedRow = row(third.stdout, `fleet-${B}`);
    expect(failedRow?.slice(1, 4)).toEqual([B, "failed", "0"]);
    expect(failedRow?.[5]).toMatch(/injected fault|Internal server error/);
    expect(failedRow?.[5]).not.toMatch(/\n/);
    expect(third.stdout).toMatch(new RegExp(`FAILED +fleet-${B} failed: `));
    expect(third.stdout).toMatch(/--retry-failed/);
    expect(results().results.find((r) => r.accountId === B)).toMatchObject({
      result: "failed",
      error: expect.stringMatching(/injected fault|Internal server error/),
    });
    await bindingsResolveTo("fleet-value-3", [A, C]);
    expect((await hashes(B)).secret).toBe(sha256("fleet-value-2"));

    // --retry-failed reruns B only, which now succeeds; the results file keeps A's and C's results.
    const retry = await rotate("fleet-value-3", "--retry-failed", "--concurrency", "2");
    expect(retry.code, retry.stdout + retry.stderr + logs()).toBe(0);
    expect(retry.stdout).toMatch(/Rotating FLEET_SECRET in 1 stack, 1 at a time/);
    expect(retry.stdout).not.toMatch(new RegExp(`fleet-${A}|fleet-${C}`));
    expect(row(retry.stdout, `fleet-${B}`)?.slice(2, 4)).toEqual(["changed", "1"]);
    expect(retry.stdout).toMatch(/1 stack: 1 changed, 0 unchanged, 0 failed/);
    await bindingsResolveTo("fleet-value-3", [B]);
    expect(
      results()
        .results.map((r) => [r.stack, r.result])
        .sort(),
    ).toEqual(stacks.map((s) => [s, "changed"]).sort());

    // Nothing left to retry; the same value again changes nothing anywhere.
    const none = await rotate("fleet-value-3", "--retry-failed");
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/Nothing to retry/);
    const same = await rotate("fleet-value-3", "--accounts", ACCOUNTS.join(","), "--concurrency", "3");
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/3 stacks: 0 changed, 3 unchanged, 0 failed/);
  });

  it("refuses bad usage with exit 2 before touching any stack", async () => {
    const noValue = await rotate("", "--accounts", A);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/FLEET_SECRET is not set/);
    const badId = await rotate("v", "--accounts", "not-an-account");
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/32 lowercase hex/);
    const both = await rotate("v", "--accounts", A, "--retry-failed");
    expect(both.code).toBe(2);
  });
});

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
