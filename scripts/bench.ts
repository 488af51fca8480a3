/**
 * `npm run bench -- [count] [latencyMs]`: a program with `count` secrets, each bound into one
 * Worker, through preview, up, a no-op up, a rotation of every value, refresh and destroy, with the
 * real pulumi CLI against the emulator with added latency. Prints wall time and API requests
 * (reads / writes) per step. Numbers, not assertions: tests never assert timings.
 */
import * as path from "node:path";
import { startEmulator } from "../emulator";
import { requestLog } from "../test/rig/emulator-client";
import { REPO_ROOT, stageProgram } from "../test/rig/package";
import { PulumiStack } from "../tools/pulumi-cli";

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const latencyMs = Number(process.argv[3] ?? 25);
  const emu = await startEmulator({ port: 0, latencyMs, quota: Math.max(100, count * 2), seed: { stores: [{ name: "default_secrets_store" }], workers: [{ name: "bench-worker", bindings: [] }] } });
  const programDir = stageProgram(path.join(REPO_ROOT, "scripts/bench-program"), { name: "bench" });
  const stack = new PulumiStack({ programDir, stack: "bench", passphrase: "bench" });
  const steps: Array<[string, string[], string]> = [
    ["preview", ["preview"], "1"],
    ["up (create)", ["up", "--yes"], "1"],
    ["up (no change)", ["up", "--yes"], "1"],
    ["up (rotate every value)", ["up", "--yes"], "2"],
    ["refresh", ["refresh", "--yes"], "2"],
    ["destroy", ["destroy", "--yes"], "2"],
  ];
  console.log(`${count} secrets + ${count} bindings on one Worker, emulator latency ${latencyMs} ms per request, real pulumi CLI\n`);
  console.log("step                      seconds  requests  reads  writes");
  try {
    await stack.init();
    await stack.setConfig("cloudflare:apiToken", emu.token, true);
    await stack.setConfig("cloudflare-secrets-store:accountId", emu.accountId);
    await stack.setConfig("cloudflare-secrets-store:apiBaseUrl", emu.url);
    await stack.setConfig("count", String(count));
    for (const [title, args, generation] of steps) {
      await stack.setConfig("generation", generation);
      const before = (await requestLog(emu)).length;
      const result = await stack.run(args);
      if (result.code !== 0) throw new Error(`${title} failed:\n${result.stdout}\n${result.stderr}`);
      const requests = (await requestLog(emu)).slice(before);
      const writes = requests.filter((r) => r.method !== "GET").length;
      console.log(
        `${title.padEnd(25)} ${(result.ms / 1000).toFixed(1).padStart(7)}  ${String(requests.length).padStart(8)}  ${String(requests.length - writes).padStart(5)}  ${String(writes).padStart(6)}`,
      );
    }
  } finally {
    await emu.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
