/**
 * `npm run bench -- [--secrets 100] [--workers 5] [--account-workers 5] [--latency-ms 50]
 * [--pending-ms N] [--parallel default,128] [--shape per-binding|per-worker|both] [--no-floor]
 * [--wrangler 10] [--json FILE]`
 *
 * A program with N secrets, each bound into one of W Workers, in an account of `--account-workers`
 * Workers (the others bind nothing of the program's; refresh and destroy read them all for the
 * usage index), in two shapes:
 * - `per-binding`: one `WorkerSecretBinding` per binding (the shape of the README's first example);
 * - `per-worker`: one `WorkerSecretBindings` per Worker.
 * Each shape runs through preview, up (create), a no-op up, a rotation of every value, refresh and
 * destroy, with the real pulumi CLI against the emulator (with `--latency-ms` added per request and
 * a `--pending-ms` window during which new or changed secrets stay `pending` and cannot be bound),
 * with the first `--parallel` setting; each further `--parallel` setting runs the create and the destroy once more,
 * on a fresh emulator and stack.
 *
 * The engine floor runs in the same bench run: `scripts/bench-floor`, the same resource graph (as
 * many dynamic resources, the same dependencies and secret inputs) with a dynamic provider whose
 * check/diff/create/read/update/delete answer at once with no I/O, through the same CLI and the
 * same steps ("rotate" changes one input of every resource). Per step: ours, floor, ratio.
 *
 * Per step: wall seconds of the CLI command, API requests (reads = GET, writes = the rest, 429s)
 * and the dynamic provider process's peak memory (see {@link ProviderPeak}). Then the wrangler loop
 * (`wrangler secrets-store secret create` per secret, the value on stdin) against the same
 * emulator, scaled to N, and its ratio to the per-worker create (`--wrangler 0` skips it).
 *
 * Prints Markdown tables to stdout; `--json FILE` also writes every number to FILE.
 * Numbers, not assertions: tests never assert timings.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startEmulator, type RunningEmulator } from "../emulator";
import { deployWorker, requestLog } from "../tools/emulator-client";
import { REPO_ROOT, stageProgram } from "../tools/packed-package";
import { findPulumi, PulumiStack } from "../tools/pulumi-cli";

type Shape = "per-binding" | "per-worker";
type Program = "ours" | "floor";

interface Options {
  secrets: number;
  workers: number;
  accountWorkers: number;
  latencyMs: number;
  /** The emulator's pending window; undefined: the emulator's default. */
  pendingMs: number | undefined;
  parallel: string[];
  shapes: Shape[];
  floor: boolean;
  wrangler: number;
  json: string | undefined;
}

interface Row {
  program: Program;
  shape: Shape;
  parallel: string;
  step: string;
  seconds: number;
  requests: number;
  reads: number;
  writes: number;
  rateLimited: number;
  /** Peak resident memory (VmHWM) of the dynamic provider process, MiB; 0 if none was seen. */
  providerPeakMiB: number;
  /** CPU time (user + system) of the dynamic provider process, seconds, as last sampled: less noisy than wall time on a busy machine. */
  providerCpuSeconds: number;
  /** The CLI's first error line when the step failed. */
  failed?: string;
}

const USAGE =
  "npm run bench -- [--secrets 100] [--workers 5] [--account-workers 5] [--latency-ms 50] [--pending-ms N] [--parallel default,128] [--shape per-binding|per-worker|both] [--no-floor] [--wrangler 10] [--json FILE]";

function parseArgs(argv: string[]): Options {
  const known = new Set(["secrets", "workers", "account-workers", "latency-ms", "pending-ms", "parallel", "shape", "wrangler", "json"]);
  const values = new Map<string, string>();
  let floor = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--no-floor") {
      floor = false;
      continue;
    }
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const name = arg.replace(/^--/, "");
    const value = argv[i + 1];
    if (!arg.startsWith("--") || !known.has(name) || value === undefined) throw new Error(`bad argument ${arg}\nusage: ${USAGE}`);
    values.set(name, value);
    i++;
  }
  const int = (name: string, fallback: number): number => {
    const raw = values.get(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} wants a whole number >= 0, got ${raw}`);
    return n;
  };
  const secrets = int("secrets", 100);
  const workers = Math.max(1, int("workers", 5));
  const shape = values.get("shape") ?? "both";
  if (!["per-binding", "per-worker", "both"].includes(shape)) throw new Error(`--shape wants per-binding, per-worker or both, got ${shape}`);
  return {
    secrets,
    workers,
    accountWorkers: int("account-workers", workers),
    latencyMs: int("latency-ms", 50),
    pendingMs: values.has("pending-ms") ? int("pending-ms", 0) : undefined,
    parallel: (values.get("parallel") ?? "default,128").split(","),
    shapes: shape === "both" ? ["per-binding", "per-worker"] : [shape as Shape],
    floor,
    wrangler: int("wrangler", Math.min(secrets, 10)),
    json: values.get("json"),
  };
}

/**
 * Peak memory of the dynamic provider during one CLI command. Every 100 ms (and once more right
 * before the command's end is awaited) it lists /proc, keeps the processes whose command line
 * contains `dynamic-provider` (the SDK's provider host, `@pulumi/pulumi/cmd/dynamic-provider`, which
 * the `pulumi-resource-pulumi-nodejs` plugin script `exec`s into node) and that descend from this
 * command's `pulumi` process (so other engineers' runs on the same machine are not counted), and
 * reads VmHWM, the kernel's high-water mark of the process's resident set, from
 * /proc/<pid>/status. VmHWM only grows, so sampling every 100 ms loses at most what the process
 * grew in its last 100 ms. Linux only: elsewhere it reports 0.
 */
class ProviderPeak {
  private peakKiB = 0;
  /** Per provider pid, its last sampled utime + stime in clock ticks. */
  private readonly cpuTicks = new Map<number, number>();
  private cliPid: number | undefined;
  private readonly timer = setInterval(() => this.sample(), 100);

  setCli(pid: number | undefined): void {
    this.cliPid = pid;
  }

  stop(): { peakMiB: number; cpuSeconds: number } {
    this.sample();
    clearInterval(this.timer);
    const ticks = [...this.cpuTicks.values()].reduce((a, b) => a + b, 0);
    return { peakMiB: Math.round(this.peakKiB / 1024), cpuSeconds: ticks / CLOCK_TICKS };
  }

  private sample(): void {
    if (this.cliPid === undefined || !fs.existsSync("/proc")) return;
    const parents = new Map<number, number>();
    const cpu = new Map<number, number>();
    const providers: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
        // After it: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        parents.set(Number(entry), Number(fields[1]));
        cpu.set(Number(entry), Number(fields[11] ?? 0) + Number(fields[12] ?? 0));
        if (fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("dynamic-provider")) providers.push(Number(entry));
      } catch {
        // the process ended between the listing and the read
      }
    }
    for (const pid of providers) {
      let p: number | undefined = pid;
      for (let depth = 0; p !== undefined && p > 1 && p !== this.cliPid && depth < 16; depth++) p = parents.get(p);
      if (p !== this.cliPid) continue;
      this.cpuTicks.set(pid, Math.max(this.cpuTicks.get(pid) ?? 0, cpu.get(pid) ?? 0));
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (hwm) this.peakKiB = Math.max(this.peakKiB, Number(hwm[1]));
      } catch {
        // ended meanwhile
      }
    }
  }
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface StepSpec {
  step: string;
  args: string[];
  generation: string;
}

const FULL_STEPS: StepSpec[] = [
  { step: "preview", args: ["preview"], generation: "1" },
  { step: "up (create)", args: ["up", "--yes"], generation: "1" },
  { step: "up (no change)", args: ["up", "--yes"], generation: "1" },
  { step: "up (rotate every value)", args: ["up", "--yes"], generation: "2" },
  { step: "refresh", args: ["refresh", "--yes"], generation: "2" },
  { step: "destroy", args: ["destroy", "--yes"], generation: "2" },
];

/**
 * One program (ours against a fresh emulator, or the floor, which needs none) through `steps`, on a
 * fresh staged program directory and stack.
 */
async function runProgram(o: Options, program: Program, shape: Shape, parallel: string, steps: StepSpec[]): Promise<Row[]> {
  const emu =
    program === "ours"
      ? await startEmulator({
          port: 0,
          latencyMs: o.latencyMs,
          ...(o.pendingMs !== undefined ? { pendingMs: o.pendingMs } : {}),
          quota: Math.max(100, o.secrets * 2),
          seed: {
            stores: [{ name: "default_secrets_store" }],
            workers: [
              ...Array.from({ length: o.workers }, (_, i) => ({ name: `bench-worker-${i}`, bindings: [] })),
              ...Array.from({ length: Math.max(0, o.accountWorkers - o.workers) }, (_, i) => ({ name: `other-worker-${i}`, bindings: [] })),
            ],
          },
        })
      : undefined;
  const source = path.join(REPO_ROOT, "scripts", program === "ours" ? "bench-program" : "bench-floor");
  const programDir = stageProgram(source, { name: `bench-${program}-${shape}-${parallel}-${process.pid}` });
  const stack = new PulumiStack({ programDir, stack: "bench", passphrase: "bench" });
  const extra = parallel === "default" ? [] : ["--parallel", parallel];
  const rows: Row[] = [];
  try {
    await stack.init();
    if (emu) {
      await stack.setConfig("cloudflare:apiToken", emu.token, true);
      await stack.setConfig("cloudflare-secrets-store:accountId", emu.accountId);
      await stack.setConfig("cloudflare-secrets-store:apiBaseUrl", emu.url);
    }
    await stack.setConfig("count", String(o.secrets));
    await stack.setConfig("workers", String(o.workers));
    await stack.setConfig("shape", shape);
    for (const { step, args, generation } of steps) {
      await stack.setConfig("generation", generation);
      const before = emu ? (await requestLog(emu)).length : 0;
      const peak = new ProviderPeak();
      stack.onSpawn = (child) => peak.setCli(child.pid);
      const result = await stack.run([...args, ...extra]).finally(() => (stack.onSpawn = undefined));
      const { peakMiB: providerPeakMiB, cpuSeconds: providerCpuSeconds } = peak.stop();
      const failed = result.code === 0 ? undefined : (/error: (.*)/.exec(result.stdout + result.stderr)?.[1] ?? `exit ${result.code}`).slice(0, 200);
      const requests = emu ? (await requestLog(emu)).slice(before) : [];
      const writes = requests.filter((r) => r.method !== "GET").length;
      if (process.env.BENCH_DETAIL && requests.length > 0) {
        const pathShape = (p: string) =>
          p
            .replace(/[0-9a-f]{32}/g, ":id")
            .replace(/(bench|other)-worker-\d+/, ":$1-worker")
            .replace(/\?.*/, "");
        const counts = new Map<string, number>();
        for (const r of requests) {
          const key = `${r.method} ${pathShape(r.path)} ${r.status}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        console.error(`[${shape} ${parallel}] ${step}: ${[...counts].map(([k, n]) => `${n}× ${k}`).join("; ")}`);
      }
      rows.push({
        program,
        shape,
        parallel,
        step: parallel === "default" ? step : `${step}, --parallel ${parallel}`,
        seconds: result.ms / 1000,
        requests: requests.length,
        reads: requests.length - writes,
        writes,
        rateLimited: requests.filter((r) => r.status === 429).length,
        providerPeakMiB,
        providerCpuSeconds,
        ...(failed ? { failed } : {}),
      });
      if (process.env.BENCH_PROGRESS)
        console.error(`${program} ${shape} ${step} ${parallel}: ${(result.ms / 1000).toFixed(1)} s${failed ? ` FAILED ${failed}` : ""}`);
    }
  } finally {
    await emu?.close();
    fs.rmSync(programDir, { recursive: true, force: true });
  }
  return rows;
}

/** Every step of one program and shape: the full sequence with the first `--parallel`, then a create and a destroy per further setting. */
async function runShape(o: Options, program: Program, shape: Shape): Promise<Row[]> {
  const [first = "default", ...others] = o.parallel;
  const rows = await runProgram(o, program, shape, first, FULL_STEPS);
  const createAndDestroy = FULL_STEPS.filter((s) => s.step === "up (create)" || s.step === "destroy");
  for (const parallel of others) rows.push(...(await runProgram(o, program, shape, parallel, createAndDestroy)));
  return rows;
}

/** `wrangler secrets-store secret create` × n against the emulator, the value on stdin: seconds in all. */
async function runWranglerLoop(o: Options): Promise<number> {
  const emu: RunningEmulator = await startEmulator({
    port: 0,
    latencyMs: o.latencyMs,
    ...(o.pendingMs !== undefined ? { pendingMs: o.pendingMs } : {}),
    quota: 1000,
    seed: { stores: [{ name: "default_secrets_store" }] },
  });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "bench-wrangler-"));
  const bin = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
  try {
    const stores = (await (
      await fetch(`${emu.url}/accounts/${emu.accountId}/secrets_store/stores`, { headers: { authorization: `Bearer ${emu.token}` } })
    ).json()) as {
      result: Array<{ id: string }>;
    };
    const storeId = stores.result[0]?.id;
    if (!storeId) throw new Error("the emulator listed no store");
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

/** Resources each program declares (besides the stack): the store, the secrets and the binding resources. */
const resourceCount = (o: Options, shape: Shape): number => 1 + o.secrets + (shape === "per-binding" ? o.secrets : Math.min(o.workers, o.secrets));

const ratio = (a: number, b: number): number | undefined => (b > 0 ? a / b : undefined);
const fmt = (n: number | undefined, digits = 1): string => (n === undefined ? "–" : n.toFixed(digits));

interface Comparison {
  step: string;
  oursSeconds: number;
  floorSeconds?: number;
  secondsRatio?: number;
  oursPeakMiB: number;
  floorPeakMiB?: number;
  oursCpuSeconds: number;
  floorCpuSeconds?: number;
  cpuRatio?: number;
  memoryRatio?: number;
}

function compare(ours: Row[], floor: Row[]): { steps: Comparison[]; peak: { oursMiB: number; floorMiB?: number; ratio?: number } } {
  const steps = ours.map((r): Comparison => {
    const f = floor.find((x) => x.step === r.step);
    return {
      step: r.step,
      oursSeconds: r.seconds,
      oursPeakMiB: r.providerPeakMiB,
      oursCpuSeconds: r.providerCpuSeconds,
      ...(f
        ? {
            floorSeconds: f.seconds,
            secondsRatio: ratio(r.seconds, f.seconds),
            floorPeakMiB: f.providerPeakMiB,
            memoryRatio: ratio(r.providerPeakMiB, f.providerPeakMiB),
            floorCpuSeconds: f.providerCpuSeconds,
            cpuRatio: ratio(r.providerCpuSeconds, f.providerCpuSeconds),
          }
        : {}),
    };
  });
  const oursMiB = Math.max(0, ...ours.map((r) => r.providerPeakMiB));
  const floorMiB = floor.length > 0 ? Math.max(0, ...floor.map((r) => r.providerPeakMiB)) : undefined;
  return { steps, peak: { oursMiB, ...(floorMiB !== undefined ? { floorMiB, ratio: ratio(oursMiB, floorMiB) } : {}) } };
}

function table(o: Options, shape: Shape, ours: Row[], floor: Row[], cmp: ReturnType<typeof compare>): string {
  const lines = [
    `### ${shape}: ${shape === "per-binding" ? `one WorkerSecretBinding per binding` : `one WorkerSecretBindings per Worker`} (${resourceCount(o, shape)} resources)`,
    "",
    "| step | requests | reads | writes | 429s | seconds | floor s | × floor | provider MiB | floor MiB | × floor | provider CPU s | floor CPU s | × floor |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const [i, r] of ours.entries()) {
    const c = cmp.steps[i];
    lines.push(
      `| ${r.step}${r.failed ? ` **FAILED: ${r.failed.replace(/\|/g, "\\|")}**` : ""} | ${r.requests} | ${r.reads} | ${r.writes} | ${r.rateLimited} | ${fmt(r.seconds)} | ${fmt(c?.floorSeconds)} | ${fmt(c?.secondsRatio)} | ${r.providerPeakMiB} | ${c?.floorPeakMiB ?? "–"} | ${fmt(c?.memoryRatio)} | ${fmt(r.providerCpuSeconds)} | ${fmt(c?.floorCpuSeconds)} | ${fmt(c?.cpuRatio)} |`,
    );
  }
  const floorFailed = floor.filter((r) => r.failed);
  for (const r of floorFailed) lines.push("", `floor step ${r.step} FAILED: ${r.failed}`);
  lines.push(
    "",
    `Provider peak memory over all steps: ours ${cmp.peak.oursMiB} MiB, floor ${cmp.peak.floorMiB ?? "–"} MiB, ${fmt(cmp.peak.ratio, 2)}× the floor.`,
    "",
  );
  return lines.join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const cli = findPulumi();
  const pending =
    o.pendingMs === undefined ? "the emulator's default (1000 ms, jittered ×1–1.5)" : o.pendingMs === 0 ? "0 (off)" : `${o.pendingMs} ms (jittered ×1–1.5)`;
  const header = [
    `## Benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- ${o.secrets} secrets bound into ${o.workers} Worker(s) of ${Math.max(o.workers, o.accountWorkers)} in the account; shapes: ${o.shapes.join(", ")}`,
    `- emulator: latency ${o.latencyMs} ms per request, pending window ${pending}`,
    `- pulumi: ${cli}; --parallel ${o.parallel.join(", then the create with --parallel ")}`,
    `- engine floor: ${o.floor ? "scripts/bench-floor, the same resource graph with a no-op dynamic provider" : "off (--no-floor)"}`,
    `- machine: ${os.cpus().length} CPUs, node ${process.version}`,
    "",
    "Seconds: wall time of the CLI command. Reads: GET requests; writes: every other method. Provider MiB: peak resident memory (VmHWM) of the dynamic provider process; provider CPU s: its user + system CPU time.",
    "",
  ].join("\n");
  console.log(header);
  const all: Row[] = [];
  const shapes: Record<string, { resources: number; ours: Row[]; floor: Row[]; comparison: ReturnType<typeof compare> }> = {};
  for (const shape of o.shapes) {
    const ours = await runShape(o, "ours", shape);
    const floor = o.floor ? await runShape(o, "floor", shape) : [];
    const comparison = compare(ours, floor);
    all.push(...ours, ...floor);
    shapes[shape] = { resources: resourceCount(o, shape), ours, floor, comparison };
    console.log(table(o, shape, ours, floor, comparison));
  }
  const wranglerSeconds = o.wrangler > 0 ? await runWranglerLoop(o) : undefined;
  const scaled = wranglerSeconds === undefined ? undefined : (wranglerSeconds / o.wrangler) * o.secrets;
  const create = all.find(
    (r) => r.program === "ours" && r.shape === (o.shapes.includes("per-worker") ? "per-worker" : o.shapes[0]) && r.step === "up (create)",
  );
  const wranglerRatio = scaled !== undefined && create ? ratio(scaled, create.seconds) : undefined;
  if (wranglerSeconds !== undefined && scaled !== undefined) {
    console.log(
      `wrangler loop: ${o.wrangler} × \`wrangler secrets-store secret create\` in ${wranglerSeconds.toFixed(1)} s (${(wranglerSeconds / o.wrangler).toFixed(2)} s each) → ${scaled.toFixed(0)} s for ${o.secrets} secrets (scaled)` +
        (wranglerRatio !== undefined && create ? `, ${wranglerRatio.toFixed(1)}× \`pulumi up\` creating them (${create.shape})` : ""),
    );
  }
  if (o.json) {
    const doc = {
      options: o,
      pulumi: cli,
      cpus: os.cpus().length,
      date: new Date().toISOString(),
      shapes,
      wrangler: { runs: o.wrangler, seconds: wranglerSeconds, scaledSeconds: scaled, ratioToCreate: wranglerRatio, createShape: create?.shape },
    };
    fs.writeFileSync(o.json, JSON.stringify(doc, null, 2) + "\n");
    console.log(`\nJSON: ${o.json}`);
  }
  if (all.some((r) => r.failed)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
