/**
 * The engine harness: a stand-in for the Pulumi engine that runs whole Pulumi TypeScript programs
 * with the real `@pulumi/pulumi` SDK and performs every operation through the real dynamic provider
 * host, keeping a passphrase-encrypted checkpoint per stack.
 */
import * as path from "node:path";
import { passphraseFromEnv } from "./crypto";
import { readCheckpoint, statePath, type Checkpoint, type ResourceState } from "./state";
import { ROOT_STACK_TYPE, urnName } from "./urn";
import type { Props } from "./values";

export { runEngine, type EngineOptions, type EngineResult } from "./run";
export { setStackConfig as setConfig, loadProject } from "./config";
export { statePath, type Checkpoint, type ResourceState } from "./state";
export type { Operation, StepRecord, StepOp, Failure, PropertyChange } from "./report";
export type { Diagnostic } from "./monitor";
export { isSecret, stripSecrets, type Props } from "./values";

/** A stack's checkpoint with secrets decrypted (`undefined` if the stack has none). */
export async function readState(programDir: string, stack: string, passphrase?: string): Promise<Checkpoint | undefined> {
  return readCheckpoint(statePath(path.resolve(programDir), stack), passphrase ?? passphraseFromEnv(process.env));
}

/** The resources of a checkpoint by resource name (excluding old copies pending deletion). */
export function resourcesByName(checkpoint: Checkpoint | undefined): Map<string, ResourceState> {
  const map = new Map<string, ResourceState>();
  for (const r of checkpoint?.resources ?? []) if (!r.delete) map.set(urnName(r.urn), r);
  return map;
}

/** The stack outputs recorded in a checkpoint (secrets still wrapped). */
export function stackOutputs(checkpoint: Checkpoint | undefined): Props {
  return checkpoint?.resources.find((r) => r.type === ROOT_STACK_TYPE)?.outputs ?? {};
}
