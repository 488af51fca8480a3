/**
 * One request budget per API token in this process, shared by every request: Cloudflare allows
 * 1,200 requests per 5 minutes per user. A large deployment waits for room in the window instead of
 * failing with 429, and a 429's `Retry-After` pauses every request, not only the one that got it.
 */

/** A budget: at most `requests` per `windowMs`. */
export interface RateBudget {
  requests: number;
  windowMs: number;
}

/** Cloudflare's global API limit. */
export const CLOUDFLARE_RATE_BUDGET: RateBudget = { requests: 1200, windowMs: 300_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sliding-window limiter with a shared pause. */
export class RateLimiter {
  private readonly sent: number[] = [];
  private pausedUntil = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly budget: RateBudget) {}

  /** Waits until one more request fits in the budget and no pause is in force, then counts it. */
  acquire(): Promise<void> {
    // One waiter at a time, so requests leave in the order they asked.
    const turn = this.queue.then(() => this.waitForRoom());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Pauses every request for `ms` (a 429's Retry-After). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  private async waitForRoom(): Promise<void> {
    for (;;) {
      const now = Date.now();
      while ((this.sent[0] ?? Infinity) <= now - this.budget.windowMs) this.sent.shift();
      const oldest = this.sent[0];
      const full = oldest !== undefined && this.sent.length >= this.budget.requests;
      const wait = Math.max(this.pausedUntil - now, full ? oldest + this.budget.windowMs - now : 0);
      if (wait <= 0) {
        this.sent.push(now);
        return;
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
