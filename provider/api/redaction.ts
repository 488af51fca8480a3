/**
 * The secrets the API client itself holds (the API token in use), kept so an error message can be
 * scrubbed of them (`redact` in `runtime/failures.ts`). It lives beside the client, not in the
 * runtime, so the client does not import the runtime (whose `config.ts` imports the client).
 */

const registered = new Set<string>();

/**
 * Remembers `value` (for example the API token of a request) so no error this process shows
 * repeats it. Cheap to call on every request: a set insertion. Values shorter than 4 characters
 * are not kept (see `redact`).
 */
export function registerSecretForRedaction(value: string): void {
  if (value.length >= 4) registered.add(value);
}

/** Every value given to {@link registerSecretForRedaction} in this process. */
export function registeredSecrets(): Iterable<string> {
  return registered.values();
}
