/**
 * When the engine last called this provider, and how many of its steps are waiting on it. The
 * engine readies steps one at a time (a check, a diff, then a create or delete; each step also
 * writes the checkpoint), so the creates, deletes and binding changes of one deployment reach the
 * provider spread out: one call every 20–100 ms, more on a loaded machine. A batch is held while
 * calls keep coming, and goes when they pause: the engine has nothing more ready, or every slot it
 * has (`--parallel`) is taken by a step waiting here.
 *
 * The second case is known without waiting once it has been seen: the engine runs at most
 * `--parallel` steps at once, so when a pause came with k steps waiting here, k steps waiting here
 * again means nothing more can come until one of them returns. That count is learnt from the
 * pauses (their largest), and dropped as soon as more than k steps wait at once: a pause that came
 * because the program had nothing more ready is not the engine's limit.
 */
let lastCall = 0;
/** The usual gap between two calls (a moving average of gaps under a second). */
let usualGapMs = 50;
/** Creates, updates and deletes of this deployment running now. */
let stepsRunning = 0;
/** Steps that were running when the engine last paused (the largest such count): its limit as seen. */
let slotsSeen: number | undefined;

/** Records an engine call (check, diff, create, read, update or delete of any resource). */
export function noteCall(): void {
  const now = Date.now();
  const gap = now - lastCall;
  if (gap < 1000) usualGapMs = 0.8 * usualGapMs + 0.2 * gap;
  lastCall = now;
}

/** Runs a step (a create, update or delete), counted as running until it settles. */
export async function runStep<R>(step: () => Promise<R>): Promise<R> {
  stepsRunning++;
  if (slotsSeen !== undefined && stepsRunning > slotsSeen) slotsSeen = undefined;
  try {
    return await step();
  } finally {
    stepsRunning--;
  }
}

/** How long a pause in the engine's calls means nothing more is ready: a few usual gaps, 250–600 ms. */
export const quietMs = (): number => Math.min(600, Math.max(250, 4 * usualGapMs));

/**
 * Whether more steps may be on their way: the engine called within the last {@link quietMs}, and
 * fewer steps are running than the engine was seen to run at most. A pause it sees with steps
 * running is where that limit is learnt.
 */
export function engineBusy(): boolean {
  if (slotsSeen !== undefined && stepsRunning >= slotsSeen) return false;
  if (Date.now() - lastCall < quietMs()) return true;
  if (stepsRunning > 0) slotsSeen = Math.max(slotsSeen ?? 0, stepsRunning);
  return false;
}
