/** Seeded randomness for the randomised suites, so that a failing run can be replayed. */
import * as crypto from "node:crypto";

/** A seeded PRNG (mulberry32): the same seed gives the same sequence of numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a randomised suite: `$envName` when set (to replay a run), else a fresh one. Printed either way. */
export function suiteSeed(envName: string, suite: string): number {
  const fromEnv = process.env[envName];
  const seed = fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) : crypto.randomInt(1, 2 ** 31 - 1);
  if (!Number.isInteger(seed)) throw new Error(`${envName} must be an integer seed (got ${fromEnv})`);
  console.log(`${suite}: seed ${seed} (replay with ${envName}=${seed})`);
  return seed;
}
