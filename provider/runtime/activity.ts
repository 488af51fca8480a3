/**
 * When the engine last called this provider. The engine readies steps one at a time (a check, a
 * diff, then a create or delete; each step also writes the checkpoint), so the creates, deletes
 * and binding changes of one deployment reach the provider spread out: one call every 20–100 ms,
 * more on a loaded machine. A batch is held while calls keep coming, and goes when they pause: the
 * engine has nothing more ready, or (at a low `--parallel`) every slot is taken by a step waiting
 * for a batch.
 */
let lastCall = 0;
/** The usual gap between two calls (a moving average of gaps under a second). */
let usualGapMs = 50;

/** Records an engine call (check, diff, create, read, update or delete of any resource). */
export function noteCall(): void {
  const now = Date.now();
  const gap = now - lastCall;
  if (gap < 1000) usualGapMs = 0.8 * usualGapMs + 0.2 * gap;
  lastCall = now;
}

/** How long a pause in the engine's calls means nothing more is ready: a few usual gaps, 250–600 ms. */
export const quietMs = (): number => Math.min(600, Math.max(250, 4 * usualGapMs));

/** Whether the engine called this provider within the last {@link quietMs}. */
export const engineBusy = (): boolean => Date.now() - lastCall < quietMs();
