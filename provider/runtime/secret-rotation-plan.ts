/**
 * The rotation plan of a StoreSecret: the value versions, and with `rotation.keepPrevious` the copy
 * that holds the previous value after this deployment. Three names: the copies' base (the
 * `rotation.previousName` argument, kept in the state field `previousName`), the full name of
 * the copy holding version n (`<base>_v<n>`, kept in `copyName`), and the `previousName` output,
 * which the PreviousSecretCopy resource reports.
 */
import { copyNameFor } from "./previous-secret-copy";
import { MAX_SECRET_NAME_LENGTH, secretNameProblem, UNKNOWN, type CheckFailure } from "./rules";
import type { StoreSecretState } from "../fields/store-secret";

type SecretState = StoreSecretState;

/**
 * The full name of the previous-value copy the state says a secret has: `copyName`, or, in a state
 * without it (written by an earlier build, which kept the copy's full name in `previousName`),
 * `previousName`.
 */
export function currentCopy(p: Partial<SecretState>): string | undefined {
  return p.copyName ?? p.previousName;
}

/**
 * The full name of the copy a secret with `keepPrevious` has after this deployment:
 * `<copyBase>_v<n>`, holding version n, the value that is live before the deployment writes (on a
 * create, the first value). An existing copy is kept while it still holds the live value: no value
 * change and the same base (the state's `previousName`). (While the value is unknown at preview,
 * so is the copy.)
 */
export function plannedCopyName(olds: Partial<SecretState>, copyBase: string, name: string, storeId: unknown, valueChanged: boolean, version: number): string {
  const creates = olds.name === undefined || olds.name !== name || olds.storeId !== storeId;
  const current = creates ? undefined : currentCopy(olds);
  if (current !== undefined && !valueChanged && olds.previousName === copyBase) return current;
  return copyNameFor(copyBase, creates ? version : (olds.valueVersion ?? 1));
}

/** The value version the state records (1 before the first rotation, and for states without one). */
export const versionOf = (p: Partial<SecretState>): number => (typeof p.valueVersion === "number" ? p.valueVersion : 1);

/**
 * Sets the rotation fields of the checked `inputs` (`rotation`, the copies' base in
 * `previousName`, `copyName`, `rotationPlan`) and adds a failure for a copy name that cannot be
 * used. `valueChanged`: this deployment writes a new value version.
 */
export function planRotation(
  olds: Partial<SecretState>,
  inputs: Record<string, unknown>,
  rotation: { keepPrevious: boolean; previousName?: string } | undefined,
  name: string | undefined,
  storeId: unknown,
  valueChanged: boolean,
  failures: CheckFailure[],
): void {
  if (rotation) {
    inputs.rotation = rotation;
    if (rotation.keepPrevious && name !== undefined) {
      const copyBase = rotation.previousName ?? `${name}_previous`;
      inputs.previousName = copyBase; // the state field `previousName` keeps the base

      const copyName =
        inputs.value === UNKNOWN && olds.name !== undefined
          ? UNKNOWN
          : plannedCopyName(olds, copyBase, name, storeId, valueChanged, Number(inputs.valueVersion));
      inputs.copyName = copyName;
      const problem =
        copyName.length > MAX_SECRET_NAME_LENGTH
          ? `The previous-value copy's name (\`${rotation.previousName === undefined ? 'name + "_previous"' : "rotation.previousName"}\` + "_v" + the version it holds) would be ${copyName.length} characters long; at most ${MAX_SECRET_NAME_LENGTH} are allowed. Shorten \`name\`, or set a shorter \`rotation.previousName\`.`
          : secretNameProblem("rotation.previousName", copyBase);
      if (problem && !(rotation.previousName === undefined && secretNameProblem("name", name))) failures.push({ property: "rotation", reason: problem });
      if (inputs.previousName === name) {
        failures.push({
          property: "rotation",
          reason:
            "`rotation.previousName` must differ from `name`: it names the copies that keep the previous value. Choose another name, or leave it out to use `<name>_previous`.",
        });
      }
    }
  }

  // What a rotation will do, in words a reviewer sees in `pulumi preview --diff` (never the value).
  // Only a rotation has it, so a preview with no value change stays empty.
  if (valueChanged) {
    const live = olds.valueVersion ?? 1;
    inputs.rotationPlan =
      typeof inputs.copyName !== "string"
        ? `write version ${inputs.valueVersion} (no previous copy kept)`
        : inputs.copyName === currentCopy(olds)
          ? `keep ${inputs.copyName} (it holds version ${live}, the live value), then write version ${inputs.valueVersion}`
          : `copy the live value (version ${live}) to ${inputs.copyName}, then write version ${inputs.valueVersion}; the fallback bindings move to ${inputs.copyName} before ${currentCopy(olds) ?? "the old copy"} is deleted`;
  }
}
