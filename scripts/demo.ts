/**
 * `npm run demo`: the embedded Cloudflare API emulator, a deployed Worker, and the root Pulumi.yaml's
 * program (examples/basic) run with the real `pulumi` CLI through preview, up, a no-op up, a value
 * change, refresh and destroy. What the CLI prints is shown as it prints it; after each step, one
 * line with the API requests it caused.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { startEmulator, type RunningEmulator } from "../emulator";
import { deployWorker, emulatorFetch, requestLog } from "../tools/emulator-client";
import { REPO_ROOT, stageProgram } from "../tools/packed-package";
import { findPulumi, PulumiStack } from "../tools/pulumi-cli";

const WORKER = "api-worker";
const SECRETS = { stripeKey: "sk_live_demo_first_4f9a", openaiKey: "sk-demo-openai-7c21" };
const ROTATED = "sk_live_demo_second_b6e0";

interface Step {
  title: string;
  args: string[];
  before?: (stack: PulumiStack) => Promise<void>;
}

const STEPS: Step[] = [
  { title: "preview", args: ["preview", "--diff"] },
  { title: "up", args: ["up", "--yes", "--diff"] },
  { title: "up again (expect no changes)", args: ["up", "--yes"] },
  { title: "up with a new stripeKey (a rotation)", args: ["up", "--yes", "--diff"], before: (s) => s.setConfig("stripeKey", ROTATED, true) },
  { title: "refresh", args: ["refresh", "--yes"] },
  { title: "destroy", args: ["destroy", "--yes"] },
];

const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

/** The demo program: the `main` of the root Pulumi.yaml. */
function demoProgram(): string {
  const yaml = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
  const main = /^main:\s*(\S+)\s*$/m.exec(yaml)?.[1];
  if (!main) throw new Error("The root Pulumi.yaml names no `main` program directory.");
  return main.replace(/\/$/, "");
}

async function run(emu: RunningEmulator, programDir: string): Promise<boolean> {
  const stack = new PulumiStack({ programDir, stack: "dev", passphrase: "demo-passphrase", onOutput: (chunk) => process.stdout.write(chunk) });
  await stack.init();
  await stack.setConfig("cloudflare:apiToken", emu.token, true);
  await stack.setConfig("cloudflare-secrets-store:accountId", emu.accountId);
  await stack.setConfig("cloudflare-secrets-store:apiBaseUrl", emu.url);
  for (const [k, v] of Object.entries(SECRETS)) await stack.setConfig(k, v, true);

  let ok = true;
  let exported = "";
  for (const step of STEPS) {
    console.log(`\n━━ ${step.title}: pulumi ${step.args.join(" ")} ━━`);
    await step.before?.(stack);
    const before = (await requestLog(emu)).length;
    const result = await stack.run(step.args);
    const log = (await requestLog(emu)).slice(before);
    const writes = log.filter((r) => r.method !== "GET").length;
    const passed = result.code === 0 && !(step.title.startsWith("up again") && writes > 0);
    console.log(
      `→ ${passed ? "✔" : "✘"} ${step.title}: exit ${result.code}; ${log.length} API request(s), ${writes} write(s); ${(result.ms / 1000).toFixed(1)} s`,
    );
    ok &&= passed;
    if (!passed) break;
    if (step.title.includes("rotation")) {
      // Like Cloudflare, the emulator keeps a changed value `pending` for a while (1 to 1.5 s); the Worker reads the new one once it is active.
      const waited = await untilActive(emu);
      const live = await emulatorFetch<{ sha256: string }>(emu, `/__emulator/accounts/${emu.accountId}/workers/scripts/${WORKER}/bindings/STRIPE_KEY/sha256`);
      const rotated = live.sha256 === sha256(ROTATED);
      console.log(
        `→ ${rotated ? "✔" : "✘"} env.STRIPE_KEY in ${WORKER} resolves to the new value once it is active (${(waited / 1000).toFixed(1)} s after the up)`,
      );
      ok &&= rotated;
    }
    if (step.title === "refresh") exported = JSON.stringify(await stack.export(true));
  }

  // What Pulumi keeps: no resource of this package holds a value or the token. The engine keeps the
  // whole stack config (secure values encrypted) as the default dynamic provider's inputs.
  const values = [emu.token, ...Object.values(SECRETS), ROTATED];
  const resources = (JSON.parse(exported || "{}") as { deployment?: { resources?: Array<{ type: string }> } }).deployment?.resources ?? [];
  const ours = resources.filter((r) => !r.type.startsWith("pulumi:providers:"));
  const inResources = values.filter((v) => JSON.stringify(ours).includes(v));
  const atRest = values.filter((v) => stack.storedText().includes(v));
  console.log(`\n→ ${inResources.length ? "✘" : "✔"} pulumi stack export --show-secrets: none of the ${ours.length} resources holds the token or a value`);
  console.log(`→ ${atRest.length ? "✘" : "✔"} backend files and Pulumi.dev.yaml: no token or value in plaintext (stack config is encrypted)`);
  console.log("  (the engine keeps the stack config, encrypted, as the default provider's inputs; examples/ci keeps values out of Pulumi with valueFrom)");
  return ok && inResources.length === 0 && atRest.length === 0 && exported !== "";
}

/** Waits until no secret of the account's store is `pending`; the milliseconds it waited. */
async function untilActive(emu: RunningEmulator): Promise<number> {
  const started = Date.now();
  const base = `/client/v4/accounts/${emu.accountId}/secrets_store/stores`;
  for (let i = 0; i < 300; i++) {
    const [store] = (await emulatorFetch<{ result: Array<{ id: string }> }>(emu, base)).result;
    const secrets = store ? (await emulatorFetch<{ result: Array<{ status: string }> }>(emu, `${base}/${store.id}/secrets?per_page=100`)).result : [];
    if (secrets.every((s) => s.status === "active")) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

async function main(): Promise<void> {
  console.log(`pulumi CLI: ${findPulumi()}`);
  const emu = await startEmulator({ port: 0, seed: { stores: [{ name: "default_secrets_store" }] } });
  console.log(`Cloudflare API emulator (embedded, in memory) at ${emu.url}, account ${emu.accountId}`);
  let ok: boolean;
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
    ok = await run(emu, programDir);
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
