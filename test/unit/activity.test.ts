/**
 * When a held batch goes (provider/runtime/activity.ts with the Batcher): on the engine's pause, or
 * at once when every slot the engine was seen to run waits on it. Fake timers: what is asserted
 * is which batches ran and with what, at which point of the engine's calls.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Batcher } from "../../provider/runtime/batch";

type Activity = typeof import("../../provider/runtime/activity");

let activity: Activity;
let batches: string[][];
let release: () => void;
/** Batches from now on stay running (their steps too) until `release()`. */
let holdRuns: () => void;
let batcher: Batcher<string, string>;

beforeEach(async () => {
  vi.useFakeTimers();
  vi.resetModules();
  activity = await import("../../provider/runtime/activity");
  const batch = await import("../../provider/runtime/batch");
  batches = [];
  let gate = Promise.resolve();
  release = () => undefined;
  batcher = new batch.Batcher<string, string>(
    async (_key, items) => {
      batches.push([...items]);
      await gate;
      return items.map((value) => ({ ok: true as const, value }));
    },
    { maxItems: 100, windowMs: 150, maxWaitMs: 10_000, holdWhile: activity.engineBusy },
  );
  holdRuns = () => {
    gate = new Promise((resolve) => (release = resolve));
  };
});

afterEach(() => {
  vi.useRealTimers();
});

/** One engine step: a call (a check, then the create), counted running until its batch settles. */
async function step(item: string): Promise<void> {
  activity.noteCall();
  void activity.runStep(() => batcher.add("worker", item));
  await vi.advanceTimersByTimeAsync(30);
}

describe("a held batch", () => {
  it("waits for the engine's pause, then goes at once when as many steps wait as at that pause", async () => {
    // The first round: the limit is not known, so the batch waits for the calls to pause.
    for (const item of ["a", "b", "c"]) await step(item);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(activity.quietMs());
    expect(batches).toEqual([["a", "b", "c"]]);

    // Three steps waited at that pause: three waiting again is every slot, so it goes without a pause.
    for (const item of ["d", "e"]) await step(item);
    expect(batches).toHaveLength(1);
    await step("f");
    expect(batches).toEqual([
      ["a", "b", "c"],
      ["d", "e", "f"],
    ]);
  });

  it("drops that limit when more steps wait at once: the pause was the program's, not the engine's", async () => {
    for (const item of ["a", "b"]) await step(item);
    await vi.advanceTimersByTimeAsync(activity.quietMs());
    expect(batches).toEqual([["a", "b"]]);

    // The next batch stays running, so its two steps keep their slots while more arrive.
    holdRuns();
    for (const item of ["c", "d"]) await step(item);
    expect(batches).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    // A third step while two are running: the engine runs more than two, so nothing goes early now.
    for (const item of ["e", "f", "g"]) await step(item);
    expect(batches).toHaveLength(2);
    release();
    await vi.advanceTimersByTimeAsync(activity.quietMs());
    expect(batches).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e", "f", "g"],
    ]);
  });
});
