/**
 * `npx tsx scripts/bench.ts [count] [latencyMs]` (after `npm run build`): runs a program with
 * `count` secrets, each bound into one Worker, through preview, up, a no-op up, a rotation of
 * every value, refresh and destroy, against the emulator with added latency. Prints wall time and
 * API requests (reads / writes) per step. Numbers, not assertions: tests never assert timings.
 */
import * as path from "node:path";
import { startEmulator } from "../emulator";
import { runEngine, type Operation } from "../test/engine";
import { requestLog } from "../test/rig/emulator-client";
import { REPO_ROOT, stageProgram } from "../test/rig/package";

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const latencyMs = Number(process.argv[3] ?? 25);
  const emu = await startEmulator({ port: 0, latencyMs, quota: Math.max(100, count * 2), seed: { stores: [{ name: "default_secrets_store" }], workers: [{ name: "bench-worker", bindings: [] }] } });
  const programDir = stageProgram(path.join(REPO_ROOT, "scripts/bench-program"), { name: "bench" });
  const log = () => requestLog(emu);
  const steps: Array<[string, Operation, string]> = [
    ["preview", "preview", "1"],
    ["up (create)", "up", "1"],
    ["up (no change)", "up", "1"],
    ["up (rotate every value)", "up", "2"],
    ["refresh", "refresh", "2"],
    ["destroy", "destroy", "2"],
  ];
  console.log(`${count} secrets + ${count} bindings on one Worker, emulator latency ${latencyMs} ms per request\n`);
  console.log("step                      seconds  requests  reads  writes");
  try {
    for (const [title, operation, generation] of steps) {
      const before = (await log()).length;
      const result = await runEngine({
        operation,
        programDir,
        stack: "bench",
        passphrase: "bench",
        config: { count: String(count), generation, "cloudflare-secrets-store:accountId": emu.accountId, "cloudflare-secrets-store:apiBaseUrl": emu.url },
        secrets: { "cloudflare:apiToken": emu.token },
      });
      if (!result.ok) throw new Error(`${title} failed:\n${result.text}`);
      const requests = (await log()).slice(before);
      const writes = requests.filter((r) => r.method !== "GET").length;
      console.log(
        `${title.padEnd(25)} ${(result.durationMs / 1000).toFixed(1).padStart(7)}  ${String(requests.length).padStart(8)}  ${String(requests.length - writes).padStart(5)}  ${String(writes).padStart(6)}`,
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
