/** Bounding how many operations run at once (`--parallel`). */

/** A concurrency limit: at most `n` of the functions given to it run at once. */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

/** Creates a {@link Limit} of `n` concurrent tasks. */
export function createLimit(n: number): Limit {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (active >= n) return;
    const start = queue.shift();
    if (start) start();
  };
  return <T>(fn: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        active++;
        fn()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}
