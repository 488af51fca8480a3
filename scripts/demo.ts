/**
 * `npm run demo`: the embedded Cloudflare API emulator, a deployed Worker, and examples/basic run
 * through preview, up, a no-op up, a value change, refresh and destroy. Uses a `pulumi` CLI when
 * one is on PATH, otherwise the engine harness (real SDK and dynamic provider host).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startEmulator, type RunningEmulator } from "../emulator";
import { runEngine, type Operation } from "../test/engine";
import { deployWorker, emulatorFetch, requestLog } from "../test/rig/emulator-client";
import { REPO_ROOT, stageProgram } from "../test/rig/package";

const STACK = "dev";
const WORKER = "api-worker";
const PASSPHRASE = "demo-passphrase";
const SECRETS = { stripeKey: "sk_live_demo_first_4f9a", openaiKey: "sk-demo-openai-7c21" };
const ROTATED = "sk_live_demo_second_b6e0";

interface Step {
  title: string;
  operation: Operation;
  secrets?: Record<string, string>;
}

const STEPS: Step[] = [
  { title: "preview", operation: "preview" },
  { title: "up", operation: "up" },
  { title: "up again (expect no changes)", operation: "up" },
  { title: "up with a new stripeKey (a rotation)", operation: "up", secrets: { stripeKey: ROTATED } },
  { title: "refresh", operation: "refresh", secrets: { stripeKey: ROTATED } },
  { title: "destroy", operation: "destroy", secrets: { stripeKey: ROTATED } },
];


const writes = (log: Array<{ method: string }>) => log.filter((r) => r.method !== "GET").length;

/** The demo program: the `main` of the root Pulumi.yaml. */
function demoProgram(): string {
  const yaml = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
  const main = /^main:\s*(\S+)\s*$/m.exec(yaml)?.[1];
  if (!main) throw new Error("The root Pulumi.yaml names no `main` program directory.");
  return main.replace(/\/$/, "");
}

function hasPulumiCli(): boolean {
  return spawnSync("pulumi", ["version"], { stdio: "ignore" }).status === 0;
}

/** The same steps with the real Pulumi CLI: local file backend, passphrase secrets provider. */
function runWithPulumiCli(programDir: string, emu: RunningEmulator): void {
  const backend = fs.mkdtempSync(path.join(os.tmpdir(), "cfss-demo-backend-"));
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_SKIP_UPDATE_CHECK: "true" };
  const pulumi = (...args: string[]) => execFileSync("pulumi", [...args, "--cwd", programDir, "--non-interactive"], { env, stdio: "inherit" });
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "typescript@5"], { cwd: programDir, stdio: "ignore" });
  pulumi("stack", "init", STACK, "--secrets-provider", "passphrase");
  pulumi("config", "set", "--secret", "cloudflare:apiToken", emu.token);
  pulumi("config", "set", "cloudflare-secrets-store:accountId", emu.accountId);
  pulumi("config", "set", "cloudflare-secrets-store:apiBaseUrl", emu.url);
  pulumi("config", "set", "workerName", WORKER);
  for (const [k, v] of Object.entries(SECRETS)) pulumi("config", "set", "--secret", k, v);
  for (const step of STEPS) {
    console.log(`\n━━ ${step.title} ━━`);
    for (const [k, v] of Object.entries(step.secrets ?? {})) pulumi("config", "set", "--secret", k, v);
    if (step.operation === "preview") pulumi("preview", "--diff");
    else pulumi(step.operation, "--yes", "--skip-preview", ...(step.operation === "up" ? ["--diff"] : []));
  }
}

async function runWithHarness(programDir: string, emu: RunningEmulator): Promise<boolean> {
  console.log("No `pulumi` CLI on PATH: running the engine harness (real @pulumi/pulumi SDK and dynamic provider host, over gRPC).");
  const config = {
    "cloudflare-secrets-store:accountId": emu.accountId,
    "cloudflare-secrets-store:apiBaseUrl": emu.url,
    workerName: WORKER,
  };
  let ok = true;
  for (const step of STEPS) {
    console.log(`\n━━ ${step.title} ━━`);
    const before = await requestLog(emu);
    const result = await runEngine({
      operation: step.operation,
      programDir,
      stack: STACK,
      config,
      secrets: { "cloudflare:apiToken": emu.token, ...SECRETS, ...step.secrets },
      passphrase: PASSPHRASE,
      onLine: (line) => console.log(line),
    });
    const log = (await requestLog(emu)).slice(before.length);
    const counts = new Map<string, number>();
    for (const s of result.steps.filter((x) => !x.hidden)) counts.set(s.op, (counts.get(s.op) ?? 0) + 1);
    const summary = [...counts].map(([op, n]) => `${n} ${op}`).join(", ") || "nothing to do";
    console.log(`→ ${result.ok ? "✔" : "✘"} ${step.title}: ${summary}; ${log.length} API request(s), ${writes(log)} write(s); ${(result.durationMs / 1000).toFixed(1)} s`);
    if (step.title.startsWith("up again") && writes(log) > 0) {
      console.log("✘ the second up sent write requests");
      ok = false;
    }
    if (step.operation === "up" && result.ok && step.secrets?.stripeKey) {
      const stripe = result.outputs.stripeSecretId as string;
      const sum = await emulatorFetch(emu, `/__emulator/accounts/${emu.accountId}/workers/scripts/${WORKER}/bindings/STRIPE_KEY/sha256`);
      const expected = createHash("sha256").update(ROTATED).digest("hex");
      console.log(`→ ${sum.sha256 === expected ? "✔" : "✘"} env.STRIPE_KEY in ${WORKER} now resolves to the new value (secret ${stripe})`);
      ok &&= sum.sha256 === expected;
    }
    ok &&= result.ok;
    if (!result.ok) break;
  }
  // The state never holds the token or a secret value, not even encrypted.
  const stateDir = path.join(programDir, ".pulumi");
  const files = fs.readdirSync(stateDir, { recursive: true }).map((f) => path.join(stateDir, String(f))).filter((f) => fs.statSync(f).isFile());
  const bytes = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  const leaked = [emu.token, ...Object.values(SECRETS), ROTATED].filter((v) => bytes.includes(v));
  console.log(`\n→ ${leaked.length ? "✘" : "✔"} state files (${files.length}) contain neither the token nor any secret value`);
  return ok && leaked.length === 0;
}

async function main(): Promise<void> {
  const emu = await startEmulator({ port: 0, seed: { stores: [{ name: "default_secrets_store" }] } });
  console.log(`Cloudflare API emulator (embedded, in memory) at ${emu.url}, account ${emu.accountId}`);
  let ok = false;
  try {
    await deployWorker(
      emu,
      WORKER,
      [
        { type: "plain_text", name: "GREETING", text: "hello" },
        { type: "secret_text", name: "LEGACY_TOKEN", text: "legacy-worker-secret" },
      ],
      "export default { async fetch(req, env) { return new Response(await env.STRIPE_KEY.get()); } };",
    );
    console.log(`Deployed Worker "${WORKER}" with bindings GREETING (plain_text) and LEGACY_TOKEN (secret_text).`);
    const main = demoProgram();
    const programDir = stageProgram(path.join(REPO_ROOT, main), { name: "demo-basic" });
    console.log(`Staged ${main} (the root Pulumi.yaml's main) with the packed package at ${path.relative(REPO_ROOT, programDir)}`);
    if (hasPulumiCli()) {
      console.log("Using the pulumi CLI found on PATH.");
      runWithPulumiCli(programDir, emu);
      ok = true;
    } else {
      ok = await runWithHarness(programDir, emu);
    }
  } finally {
    await emu.close();
  }
  console.log(ok ? "\nDemo finished: every step succeeded." : "\nDemo failed.");
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
