/**
 * The names of the arguments a program marked secret, passed to the provider under
 * `__secretInputs` ({@link SECRET_INPUTS_KEY}): the engine strips secret markers before a dynamic
 * provider sees its inputs, so only the program can tell the provider which inputs its errors must
 * never repeat. Names only, never a value.
 */
import * as pulumi from "@pulumi/pulumi";
import { SECRET_INPUTS_KEY } from "../fields/wire";

export { SECRET_INPUTS_KEY };

/** The keys of `args` whose value is secret (`pulumi.secret(...)`, `config.requireSecret(...)`, or derived from one). */
export function secretInputNames(args: object): pulumi.Output<string[]> {
  const entries = Object.entries(args).filter(([, v]) => v !== undefined);
  const marked = Promise.all(entries.map(async ([key, v]) => ((await pulumi.isSecret(pulumi.output(v))) ? key : undefined)));
  return pulumi.output(marked.then((keys) => keys.filter((k): k is string => k !== undefined)));
}
