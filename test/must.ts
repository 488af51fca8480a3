/**
 * `value`, or a clear failure naming `what` when it is missing: the tests' stand-in for a `!`
 * assertion (the linter refuses `!`), for an array item or a lookup the test expects to be there.
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, found ${String(value)}`);
  return value;
}
