/**
 * `npm run bench -- [--secrets 100] [--workers 5] [--account-workers 5] [--latency-ms 50]
 * [--parallel default,128] [--shape per-worker|per-binding] [--wrangler 10] [--json]`: a program with
 * N secrets, each bound into one of W Workers (one WorkerSecretBindings per Worker, or one
 * WorkerSecretBinding each), in an account of `--account-workers` Workers (the others bind nothing
 * of the program's; refresh and destroy read them all for the usage index), through
 * preview, up (create), a no-op up, a rotation of every value, refresh and destroy, with the real
 * pulumi CLI against the emulator (with added latency per request), once per `--parallel` setting.
 * For each step: wall time, API requests (reads, writes, 429s) and the provider process's peak
 * memory. Then the wrangler loop (`wrangler secrets-store secret create` per secret, the value on
 * stdin) against the same emulator, scaled to N, and its ratio to the create step.
 * Numbers, not assertions: tests never assert timings.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startEmulator, type RunningEmulator } from "../emulator";
import { deployWorker, requestLog } from "../tools/emulator-client";
import { REPO_ROOT, stageProgram } from "../tools/packed-package";
import { findPulumi, PulumiStack } from "../tools/pulumi-cli";

interface Options {
  secrets: number;
  workers: number;
  accountWorkers: number;
  latencyMs: number;
  parallel: string[];
  wrangler: number;
  shape: string;
  json: boolean;
}

interface Row {
  parallel: string;
  step: string;
  seconds: number;
  requests: number;
  reads: number;
  writes: number;
  rateLimited: number;
  providerPeakMiB: number;
  /** The CLI's first error line when the step failed. */
  failed?: string;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const secrets = Number(get("secrets") ?? 100);
  return {
    secrets,
    workers: Number(get("workers") ?? 5),
    accountWorkers: Number(get("account-workers") ?? get("workers") ?? 5),
    latencyMs: Number(get("latency-ms") ?? 50),
    parallel: (get("parallel") ?? "default,128").split(","),
    wrangler: Number(get("wrangler") ?? Math.min(secrets, 10)),
    shape: get("shape") ?? "per-worker",
    json: argv.includes("--json"),
  };
}

/** Peak resident memory (VmHWM) of the dynamic provider processes seen while `fn` runs, in MiB. */
async function withProviderPeak<T>(fn: () => Promise<T>): Promise<{ result: T; peakMiB: number }> {
  let peakKiB = 0;
  const sample = () => {
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        if (!fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("dynamic-provider")) continue;
        const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
      } catch {
        // the process ended between the listing and the read
      }
    }
  };
  const timer = setInterval(sample, 100);
  try {
    const result = await fn();
    return { result, peakMiB: Math.round(peakKiB / 1024) };
  } finally {
    clearInterval(timer);
  }
}

async function runPulumi(o: Options, parallel: string): Promise<Row[]> {
  const workers = [
    ...Array.from({ length: o.workers }, (_, i) => ({ name: `bench-worker-${i}`, bindings: [] })),
    ...Array.from({ length: Math.max(0, o.accountWorkers - o.workers) }, (_, i) => ({ name: `other-worker-${i}`, bindings: [] })),
  ];
  const emu = await startEmulator({
    port: 0,
    latencyMs: o.latencyMs,
    quota: Math.max(100, o.secrets * 2),
    seed: { stores: [{ name: "default_secrets_store" }], workers },
  });
  const programDir = stageProgram(path.join(REPO_ROOT, "scripts/bench-program"), { name: `bench-${parallel}` });
  const stack = new PulumiStack({ programDir, stack: "bench", passphrase: "bench" });
  const extra = parallel === "default" ? [] : ["--parallel", parallel];
  const steps: Array<[string, string[], string]> = [
    ["preview", ["preview"], "1"],
    ["up (create)", ["up", "--yes"], "1"],
    ["up (no change)", ["up", "--yes"], "1"],
    ["up (rotate every value)", ["up", "--yes"], "2"],
    ["refresh", ["refresh", "--yes"], "2"],
    ["destroy", ["destroy", "--yes"], "2"],
  ];
  const rows: Row[] = [];
  try {
    await stack.init();
    await stack.setConfig("cloudflare:apiToken", emu.token, true);
    await stack.setConfig("cloudflare-secrets-store:accountId", emu.accountId);
    await stack.setConfig("cloudflare-secrets-store:apiBaseUrl", emu.url);
    await stack.setConfig("count", String(o.secrets));
    await stack.setConfig("workers", String(o.workers));
    await stack.setConfig("shape", o.shape);
    for (const [step, args, generation] of steps) {
      await stack.setConfig("generation", generation);
      const before = (await requestLog(emu)).length;
      const { result, peakMiB } = await withProviderPeak(() => stack.run([...args, ...extra]));
      const failed = result.code === 0 ? undefined : (/error: (.*)/.exec(result.stdout + result.stderr)?.[1] ?? `exit ${result.code}`).slice(0, 160);
      const requests = (await requestLog(emu)).slice(before);
      const writes = requests.filter((r) => r.method !== "GET").length;
      if (process.env.BENCH_DETAIL) {
        const shape = (p: string) =>
          p
            .replace(/[0-9a-f]{32}/g, ":id")
            .replace(/(bench|other)-worker-\d+/, ":$1-worker")
            .replace(/\?.*/, "");
        const counts = new Map<string, number>();
        for (const r of requests) counts.set(`${r.method} ${shape(r.path)} ${r.status}`, (counts.get(`${r.method} ${shape(r.path)} ${r.status}`) ?? 0) + 1);
        console.error(`[${parallel}] ${step}: ${[...counts].map(([k, n]) => `${n}× ${k}`).join("; ")}`);
      }
      rows.push({
        parallel,
        step,
        seconds: result.ms / 1000,
        requests: requests.length,
        reads: requests.length - writes,
        writes,
        rateLimited: requests.filter((r) => r.status === 429).length,
        providerPeakMiB: peakMiB,
        ...(failed ? { failed } : {}),
      });
    }
  } finally {
    await emu.close();
    fs.rmSync(programDir, { recursive: true, force: true });
  }
  return rows;
}

/** `wrangler secrets-store secret create` × n against the emulator, the value on stdin: seconds in all. */
async function runWranglerLoop(o: Options): Promise<number> {
  const emu: RunningEmulator = await startEmulator({ port: 0, latencyMs: o.latencyMs, quota: 1000, seed: { stores: [{ name: "default_secrets_store" }] } });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "bench-wrangler-"));
  const bin = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
  try {
    const storeId = (
      (await (await fetch(`${emu.url}/accounts/${emu.accountId}/secrets_store/stores`, { headers: { authorization: `Bearer ${emu.token}` } })).json()) as {
        result: Array<{ id: string }>;
      }
    ).result[0]!.id;
    await deployWorker(emu, "unused", []);
    const started = Date.now();
    for (let i = 0; i < o.wrangler; i++) {
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          [bin, "secrets-store", "secret", "create", storeId, "--name", `wrangler_${i}`, "--scopes", "workers", "--remote"],
          {
            cwd: home,
            env: {
              PATH: process.env.PATH,
              HOME: home,
              CI: "true",
              WRANGLER_SEND_METRICS: "false",
              CLOUDFLARE_API_BASE_URL: emu.url,
              CLOUDFLARE_API_TOKEN: emu.token,
              CLOUDFLARE_ACCOUNT_ID: emu.accountId,
            },
            stdio: ["pipe", "ignore", "ignore"],
          },
        );
        child.stdin.end(`wrangler-value-${i}\n`);
        child.on("close", resolve);
      });
      if (code !== 0) throw new Error(`wrangler secret create exited ${code}`);
    }
    return (Date.now() - started) / 1000;
  } finally {
    await emu.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const cli = findPulumi();
  const header = `${o.secrets} secrets bound into ${o.workers} Worker(s) (${o.shape}) of ${Math.max(o.workers, o.accountWorkers)} in the account, emulator latency ${o.latencyMs} ms per request; engine: pulumi CLI (${cli}); ${os.cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}`;
  if (!o.json) console.log(`${header}\n`);
  const rows: Row[] = [];
  for (const parallel of o.parallel) {
    const got = await runPulumi(o, parallel);
    rows.push(...got);
    if (!o.json) {
      console.log(`--parallel ${parallel}`);
      console.log("step                       seconds  requests  reads  writes  429s  provider MiB");
      for (const r of got) {
        console.log(
          `${r.step.padEnd(25)} ${r.seconds.toFixed(1).padStart(8)}  ${String(r.requests).padStart(8)}  ${String(r.reads).padStart(5)}  ${String(r.writes).padStart(6)}  ${String(r.rateLimited).padStart(4)}  ${String(r.providerPeakMiB).padStart(12)}${r.failed ? `  FAILED: ${r.failed}` : ""}`,
        );
      }
      console.log("");
    }
  }
  const wranglerSeconds = o.wrangler > 0 ? await runWranglerLoop(o) : undefined;
  const scaled = wranglerSeconds === undefined ? undefined : (wranglerSeconds / o.wrangler) * o.secrets;
  const create = rows.find((r) => r.parallel === o.parallel[0] && r.step === "up (create)");
  const ratio = scaled !== undefined && create ? scaled / create.seconds : undefined;
  if (o.json) {
    console.log(
      JSON.stringify({ header, rows, wrangler: { runs: o.wrangler, seconds: wranglerSeconds, scaledSeconds: scaled, ratioToCreate: ratio } }, null, 2),
    );
  } else if (wranglerSeconds !== undefined && scaled !== undefined) {
    console.log(
      `wrangler loop: ${o.wrangler} × \`wrangler secrets-store secret create\` in ${wranglerSeconds.toFixed(1)} s (${(wranglerSeconds / o.wrangler).toFixed(2)} s each) → ${scaled.toFixed(0)} s for ${o.secrets} secrets (scaled)`,
    );
    if (ratio !== undefined)
      console.log(
        `ratio: the wrangler loop takes ${ratio.toFixed(1)}× as long as \`pulumi up\` creating ${o.secrets} secrets and bindings (--parallel ${o.parallel[0]})`,
      );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
