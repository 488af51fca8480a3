/**
 * One request budget per API token in this process, shared by every request: Cloudflare allows
 * 1,200 requests per 5 minutes per user. A large deployment waits for room in the window instead of
 * failing with 429; a 429's `Retry-After` pauses every request, not only the one that got it, and
 * slows this process down while other processes share the token (see {@link RateLimiter}).
 */

/** A budget: at most `requests` per `windowMs`. */
export interface RateBudget {
  requests: number;
  windowMs: number;
}

/** Cloudflare's global API limit. */
export const CLOUDFLARE_RATE_BUDGET: RateBudget = { requests: 1200, windowMs: 300_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Of the budget, the share a window of successes gives back after a 429 (additive increase): a
 * tenth, so a halved rate is whole again after about five windows without 429s.
 */
export const RECOVERY_PER_WINDOW = 0.1;

/**
 * The least share of the budget 429s lower the rate to: a quarter, so up to four processes on one
 * token together fit it at their floor, and a run of injected or unrelated 429s (three in a row on
 * every write) never slows a process to a request per window; beyond that, `Retry-After` paces it.
 */
export const MIN_SHARE = 0.25;

/**
 * A sliding-window limiter with a shared pause and AIMD pacing. Other processes may use the same
 * token (Cloudflare counts per user), so a 429 can come while this process is within its budget:
 * then the number of requests this process allows itself per window halves (multiplicative
 * decrease, once per congestion), and each success gives back a little (additive increase, about
 * {@link RECOVERY_PER_WINDOW} of the budget per window), up to the budget. Processes that share a
 * token thus settle on shares that together fit it, and all of them finish.
 */
export class RateLimiter {
  private readonly sent: number[] = [];
  private pausedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  /** Requests per window this limiter allows now: at most the budget, at least 1. */
  private allowed: number;
  /** When {@link throttled} last halved {@link allowed}. */
  private lastDecrease = -Infinity;

  constructor(readonly budget: RateBudget) {
    this.allowed = budget.requests;
  }

  /** Requests per window this limiter lets through now (the budget unless 429s lowered it). */
  get rate(): number {
    return Math.max(1, Math.floor(this.allowed));
  }

  /**
   * Waits until one more request fits in the budget and no pause is in force, then counts it.
   * Resolves to the time it was counted (pass it to {@link throttled}).
   */
  acquire(): Promise<number> {
    // One waiter at a time, so requests leave in the order they asked.
    const turn = this.queue.then(() => this.waitForRoom());
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** Pauses every request for `ms` (a 429's Retry-After, capped by the caller's retry budget). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  /**
   * A request counted at `sentAt` got a 429: halve the rate, unless it was sent before the last
   * halving (requests in flight together meet the same congestion, and it counts once).
   */
  throttled(sentAt: number): void {
    if (sentAt <= this.lastDecrease) return;
    this.allowed = Math.max(this.budget.requests * MIN_SHARE, 1, this.allowed / 2);
    this.lastDecrease = Date.now();
  }

  /** A request got an answer other than 429: give back a little of the rate (see {@link RECOVERY_PER_WINDOW}). */
  succeeded(): void {
    if (this.allowed >= this.budget.requests) return;
    // About `allowed` successes fit in a window, so each gives back 1/allowed of the window's share.
    this.allowed = Math.min(this.budget.requests, this.allowed + (RECOVERY_PER_WINDOW * this.budget.requests) / this.allowed);
  }

  private async waitForRoom(): Promise<number> {
    for (;;) {
      const now = Date.now();
      while ((this.sent[0] ?? Infinity) <= now - this.budget.windowMs) this.sent.shift();
      // The request whose leaving the window makes room for one more (the oldest, unless the rate was lowered).
      const blocking = this.sent[this.sent.length - this.rate];
      const wait = Math.max(this.pausedUntil - now, blocking !== undefined ? blocking + this.budget.windowMs - now : 0);
      if (wait <= 0) {
        this.sent.push(now);
        return now;
      }
      await sleep(wait);
    }
  }
}

const limiters = new Map<string, RateLimiter>();

/** The limiter of one API token (and budget) in this process. */
export function limiterFor(apiToken: string, budget: RateBudget = CLOUDFLARE_RATE_BUDGET): RateLimiter {
  const key = `${budget.requests}/${budget.windowMs}/${apiToken}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new RateLimiter(budget);
    limiters.set(key, limiter);
  }
  return limiter;
}
