/**
 * Crash-safety trials: run the emulator CLI (`dist/emulator/cli.js`, plain node: it starts in a
 * fifth of the time tsx needs) on a data directory, write to it from several clients, kill -9 it
 * at a random moment, then load the directory in-process and check it: it must load, hold no
 * leftover temp file, and hold every acknowledged write (or the one write that was in flight).
 *
 * Lanes run in parallel, each on its own data directory that carries over from trial to trial.
 * Randomness comes from one seed, so a failing run can be replayed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { emulatorFetch } from "../../tools/emulator-client";
import { sha256 } from "../rig/bytes";
import { prng } from "../rig/random";
import { cliStarted } from "./helpers";
import { must } from "../must";

export interface CrashOptions {
  trials: number;
  lanes: number;
  seed: number;
  /** Path of the built CLI (dist/emulator/cli.js). */
  cli: string;
  /** Writers per trial (each sequential: at most one request in flight). */
  writers?: number;
}

export interface CrashReport {
  /** Trials run (fewer than asked when a lane stopped at a corrupt directory). */
  trials: number;
  /** Trials killed while the emulator was still starting (creating its key and first state). */
  killedDuringStartup: number;
  /** Writes answered 2xx before the kills, over all trials. */
  acknowledgedWrites: number;
  /** Data directories that failed to load after a kill (with why); a lane stops at its first. */
  corrupt: string[];
  /** Acknowledged writes missing after a kill, temp files left behind (with where). */
  lost: string[];
  wallMs: number;
}

const TOKEN = "crash-token";
const HOOK_TOKEN = "crash-hook-token";
const ACCOUNT = "0123456789abcdef0123456789abcdef";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What each writer last had acknowledged, and what it had in flight, per target. */
interface WriterLedger {
  acked: { secret: string; binding: string };
  inflight?: { target: "secret" | "binding"; value: string };
}

interface Lane {
  index: number;
  dir: string;
  random: () => number;
  storeId?: string;
  /** Secret ids of the writers' own store secrets, by writer. */
  secretIds: string[];
  ledgers: WriterLedger[];
}

function spawnCli(cli: string, dir: string): ChildProcess {
  const args = [cli, "--port", "0", "--data", dir, "--token", TOKEN, "--hook-token", HOOK_TOKEN, "--quota", "100000", "--rate-limit", "1000000"];
  return spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

async function call(url: string, method: string, apiPath: string, body?: unknown, form?: FormData): Promise<number> {
  const res = await fetch(`${url}/accounts/${ACCOUNT}${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}` },
    body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * One writer: a loop of writes until the emulator dies. Its own store secret and its own Worker
 * secret get increasing values (what the check looks for); churn writes in between change the
 * state's size and shape (temporary secrets, settings).
 */
async function writer(url: string, lane: Lane, w: number, trial: number): Promise<number> {
  const ledger = must(lane.ledgers[w], `the ledger of writer ${w}`);
  const S = `/secrets_store/stores/${lane.storeId}/secrets`;
  let acknowledged = 0;
  for (let seq = 0; ; seq++) {
    const value = `t${trial}-w${w}-s${seq}`;
    try {
      switch (seq % 4) {
        case 0:
          ledger.inflight = { target: "secret", value };
          if ((await call(url, "PATCH", `${S}/${lane.secretIds[w]}`, { value })) !== 200) throw new Error("secret patch refused");
          ledger.acked.secret = value;
          break;
        case 1:
          ledger.inflight = { target: "binding", value };
          if ((await call(url, "PUT", "/workers/scripts/crash/secrets", { name: `WS_${w}`, text: value, type: "secret_text" })) !== 200)
            throw new Error("secret put refused");
          ledger.acked.binding = value;
          break;
        case 2: {
          ledger.inflight = undefined;
          const name = `TMP_${w}`;
          await call(url, "POST", S, [{ name, value: value.repeat(200), scopes: ["workers"] }]);
          break;
        }
        default: {
          ledger.inflight = undefined;
          const form = new FormData();
          form.append("settings", new Blob([JSON.stringify({ tags: [value], compatibility_date: "2025-06-01" })], { type: "application/json" }), "settings");
          await call(url, "PATCH", "/workers/scripts/crash/settings", undefined, form);
          const list = await fetch(`${url}/accounts/${ACCOUNT}${S}?search=TMP_${w}`, { headers: { authorization: `Bearer ${TOKEN}` } });
          const tmp = ((await list.json()) as { result?: Array<{ id: string; name: string }> }).result?.find((s) => s.name === `TMP_${w}`);
          if (tmp) await call(url, "DELETE", `${S}/${tmp.id}`);
        }
      }
      ledger.inflight = undefined;
      acknowledged++;
    } catch {
      return acknowledged; // the emulator is gone (or refused): this trial's writing is over
    }
  }
}

/** Create the lane's store, the writers' secrets and the Worker, in-process (never killed). */
async function setUpLane(lane: Lane, writers: number): Promise<void> {
  const emu = await openLane(lane);
  try {
    const api = (method: string, p: string, body?: unknown) => emulatorFetch(emu, `/client/v4/accounts/${ACCOUNT}${p}`, { method, body });
    const stores = (await api("GET", "/secrets_store/stores")).result as Array<{ id: string }>;
    lane.storeId = stores[0]?.id ?? (await api("POST", "/secrets_store/stores", { name: "crash" })).result.id;
    const wanted = Array.from({ length: writers }, (_, w) => ({ name: `W_${w}`, value: "initial", scopes: ["workers"] }));
    const existing = (await api("GET", `/secrets_store/stores/${lane.storeId}/secrets?per_page=100`)).result as Array<{ id: string; name: string }>;
    const missing = wanted.filter((s) => !existing.some((e) => e.name === s.name));
    const created = missing.length
      ? ((await api("POST", `/secrets_store/stores/${lane.storeId}/secrets`, missing)).result as Array<{ id: string; name: string }>)
      : [];
    const all = [...existing, ...created];
    lane.secretIds = wanted.map(
      (s) =>
        must(
          all.find((e) => e.name === s.name),
          `the secret ${s.name}`,
        ).id,
    );
    const form = new FormData();
    form.append(
      "metadata",
      new Blob([JSON.stringify({ main_module: "index.js", bindings: wanted.map((s, w) => ({ type: "secret_text", name: `WS_${w}`, text: "initial" })) })]),
    );
    form.append("index.js", new Blob(["export default {}"], { type: "application/javascript+module" }), "index.js");
    await api("PUT", "/workers/scripts/crash", form);
    for (let w = 0; w < writers; w++) {
      await api("PATCH", `/secrets_store/stores/${lane.storeId}/secrets/${lane.secretIds[w]}`, { value: "initial" });
    }
    lane.ledgers = Array.from({ length: writers }, () => ({ acked: { secret: "initial", binding: "initial" } }));
  } finally {
    await emu.close();
  }
}

function openLane(lane: Lane): Promise<RunningEmulator> {
  return startEmulator({ dataDir: lane.dir, tokens: [{ token: TOKEN, permission: "edit" }], hookToken: HOOK_TOKEN, quota: 100_000 });
}

/**
 * Load the lane's directory after a kill and check it, adding what is wrong to the report;
 * false when the directory does not load (it is corrupt: the lane cannot go on).
 */
async function check(lane: Lane, report: CrashReport, trial: number): Promise<boolean> {
  const where = `lane ${lane.index} trial ${trial}`;
  let emu: RunningEmulator;
  try {
    emu = await openLane(lane);
  } catch (err) {
    report.corrupt.push(`${where}: ${(err as Error).message}`);
    return false;
  }
  try {
    const leftovers = fs.readdirSync(lane.dir).filter((f) => f.endsWith(".tmp"));
    if (leftovers.length) report.lost.push(`${where}: temp files left after load: ${leftovers.join(", ")}`);
    if (!lane.storeId) return true;
    for (const [w, ledger] of lane.ledgers.entries()) {
      const allowed = (target: "secret" | "binding") => [ledger.acked[target], ...(ledger.inflight?.target === target ? [ledger.inflight.value] : [])];
      const secretHash = (await emulatorFetch<{ sha256: string }>(emu, `/__emulator/secrets/${lane.secretIds[w]}/sha256`)).sha256;
      if (!allowed("secret").some((v) => sha256(v) === secretHash)) report.lost.push(`${where}: secret W_${w} is not ${allowed("secret").join(" or ")}`);
      const bindingHash = (await emulatorFetch<{ sha256: string }>(emu, `/__emulator/accounts/${ACCOUNT}/workers/scripts/crash/bindings/WS_${w}/sha256`))
        .sha256;
      if (!allowed("binding").some((v) => sha256(v) === bindingHash))
        report.lost.push(`${where}: Worker secret WS_${w} is not ${allowed("binding").join(" or ")}`);
      // What is on disk now is what the next trial starts from.
      const onDisk = (target: "secret" | "binding", hash: string) => allowed(target).find((v) => sha256(v) === hash) ?? ledger.acked[target];
      ledger.acked = { secret: onDisk("secret", secretHash), binding: onDisk("binding", bindingHash) };
      ledger.inflight = undefined;
    }
    return true;
  } finally {
    await emu.close();
  }
}

async function runLane(lane: Lane, trials: number[], options: CrashOptions, report: CrashReport): Promise<void> {
  const writers = options.writers ?? 6;
  for (const trial of trials) {
    report.trials++;
    const first = trial === trials[0];
    const child = spawnCli(options.cli, lane.dir);
    const up = cliStarted(child).then((started) => started.url);
    up.catch(() => undefined);
    if (first || lane.random() < 0.1) {
      // Killed while starting: creating the key and the first state, or loading them.
      await sleep(Math.floor(lane.random() * 150));
      await kill9(child);
      report.killedDuringStartup++;
      if (!(await check(lane, report, trial))) return;
      if (first) await setUpLane(lane, writers);
      continue;
    }
    let url: string;
    try {
      url = await up;
    } catch (err) {
      // The emulator itself refused the directory the last kill left behind.
      report.corrupt.push(`lane ${lane.index} trial ${trial}: ${(err as Error).message}`);
      return;
    }
    const running = Array.from({ length: writers }, (_, w) => writer(url, lane, w, trial));
    await sleep(20 + Math.floor(lane.random() * 380));
    await kill9(child);
    report.acknowledgedWrites += (await Promise.all(running)).reduce((a, b) => a + b, 0);
    if (!(await check(lane, report, trial))) return;
  }
}

/** Run `trials` kill -9 trials over `lanes` parallel data directories; see the module comment. */
export async function runCrashTrials(options: CrashOptions): Promise<CrashReport> {
  const started = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "cf-emu-crash-"));
  const report: CrashReport = { trials: 0, killedDuringStartup: 0, acknowledgedWrites: 0, corrupt: [], lost: [], wallMs: 0 };
  const master = prng(options.seed);
  try {
    const lanes: Lane[] = Array.from({ length: options.lanes }, (_, index) => ({
      index,
      dir: path.join(root, `lane-${index}`),
      random: prng(Math.floor(master() * 2 ** 32)),
      secretIds: [],
      ledgers: [],
    }));
    const perLane = lanes.map((_, i) => Array.from({ length: options.trials }, (_, t) => t).filter((t) => t % options.lanes === i));
    await Promise.all(lanes.map((lane, i) => runLane(lane, perLane[i] ?? [], options, report)));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    report.wallMs = Date.now() - started;
  }
  return report;
}
