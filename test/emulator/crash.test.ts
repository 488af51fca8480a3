/**
 * Crash safety: 100 kill -9 trials of an emulator started with --data, at random moments during
 * writes (and some during start-up). After every kill the data directory must load, with every
 * acknowledged write in it. Seeded: the seed is printed; CRASH_SEED=<seed> replays a run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { suiteSeed } from "../rig/random";
import { runCrashTrials } from "./crash-trials";

const ROOT = path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "dist/emulator/cli.js");

/** Newest modification time under `dir` of files ending in `.ts`. */
function newestSource(dir: string): number {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .map((e) => (e.isDirectory() ? newestSource(path.join(dir, e.name)) : e.name.endsWith(".ts") ? fs.statSync(path.join(dir, e.name)).mtimeMs : 0))
    .reduce((a, b) => Math.max(a, b), 0);
}

describe("crash safety", () => {
  it("100 kill -9 trials during writes leave 0 corrupt data directories and lose no acknowledged write", async () => {
    // The trials run the built CLI (plain node starts it far faster than tsx): it must be current.
    expect(fs.existsSync(CLI), "dist/emulator/cli.js is missing: run `npm run -s build` first").toBe(true);
    expect(fs.statSync(CLI).mtimeMs, "dist/ is older than emulator/: run `npm run -s build` first").toBeGreaterThanOrEqual(
      newestSource(path.join(ROOT, "emulator")),
    );

    const seed = suiteSeed("CRASH_SEED", "crash-safety");
    const report = await runCrashTrials({ trials: 100, lanes: 4, seed, cli: CLI });
    console.log(
      `crash-safety: ${report.trials} kill -9 trials (${report.killedDuringStartup} during start-up), ` +
        `${report.acknowledgedWrites} acknowledged writes, ${report.corrupt.length} corrupt data directories, ` +
        `${report.lost.length} lost writes, ${(report.wallMs / 1000).toFixed(1)} s [seed ${seed}]`,
    );
    expect(report.trials).toBe(100);
    expect(report.corrupt, `seed ${seed}`).toEqual([]);
    expect(report.lost, `seed ${seed}`).toEqual([]);
    // The kills landed while writes were going on: on average at least two writes got through per trial.
    expect(report.acknowledgedWrites).toBeGreaterThan(2 * (report.trials - report.killedDuringStartup));
  }, 120_000);
});
