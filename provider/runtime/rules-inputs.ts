/**
 * Reading a program's inputs at check: the engine's unknown sentinel, a typed read of one input
 * that fails naming the property and the expected type, the inputs each kind takes, and the ids
 * every resource reads (`accountId`, `storeId`, a binding's target).
 */
import { z } from "zod";
import { DECLARATIONS, type ResourceKind } from "../fields";
import { allowedInputs, outputOnly } from "../fields/declare";
import { idProblem, scriptNameProblem } from "./rules-values";

/** The engine's placeholder for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const isUnknown = (v: unknown): boolean => v === UNKNOWN || (Array.isArray(v) && v.some(isUnknown));

export interface CheckFailure {
  property: string;
  reason: string;
}

/**
 * Reads `news[key]` with a zod schema. Unknown values (preview) pass as `undefined`; a wrong type
 * adds a failure naming the property and the expected type.
 */
export function field<T>(news: Record<string, unknown>, key: string, schema: z.ZodType<T>, failures: CheckFailure[], expected: string): T | undefined {
  const raw = news[key];
  if (isUnknown(raw)) return undefined;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  failures.push({
    property: key,
    reason: raw === undefined ? `\`${key}\` is required: it must be ${expected}.` : `\`${key}\` must be ${expected}, not ${typeName(raw)}.`,
  });
  return undefined;
}

/** A value's kind for messages (`a number`, `a list`), never the value itself. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return v.length === 0 ? "an empty string" : "a string";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/** `inputs` without keys whose value is undefined: the engine's wire format cannot carry them ("Unexpected struct type"). */
export function definedOnly<T extends Record<string, unknown>>(inputs: T): T {
  return Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The inputs each kind takes, from its declaration (../fields): its arguments, the output
 * placeholders its class passes as undefined, and what its own check stores, which
 * `ignoreChanges` may hand back (plus `__provider`). Anything else is a mistake in the program
 * and is refused, naming the key.
 */
export const ALLOWED_INPUTS = Object.fromEntries(Object.entries(DECLARATIONS).map(([kind, d]) => [kind, allowedInputs(d)])) as unknown as Record<
  ResourceKind,
  readonly string[]
>;

/** The inputs each kind takes that the program does not pass: left out of the "takes: …" hint. */
const OUTPUT_ONLY = Object.fromEntries(Object.entries(DECLARATIONS).map(([kind, d]) => [kind, new Set(outputOnly(d))])) as unknown as Record<
  ResourceKind,
  ReadonlySet<string>
>;

/** Adds a failure for every key of `news` that `kind` does not take. */
export function unknownInputs(kind: ResourceKind, news: Record<string, unknown>, failures: CheckFailure[]): void {
  const allowed = ALLOWED_INPUTS[kind];
  for (const key of Object.keys(news)) {
    if (key === "__provider" || allowed.includes(key)) continue;
    const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
    failures.push({
      property: shown,
      reason: `\`${shown}\` is not an argument of ${kind}. Remove it (a misspelling?); ${kind} takes: ${allowed.filter((k) => !OUTPUT_ONLY[kind].has(k)).join(", ")}.`,
    });
  }
}

/** Reads and checks the resource's own `accountId` (32 hex characters); undefined when absent, unknown or invalid. */
export function accountIdOf(news: Record<string, unknown>, failures: CheckFailure[]): string | undefined {
  const accountId = field(news, "accountId", z.string().optional(), failures, "a Cloudflare account id (32 hexadecimal characters)");
  if (accountId === undefined) return undefined;
  const problem = idProblem(
    "accountId",
    accountId,
    "a Cloudflare account id",
    "the id from the dashboard's URL, or leave `accountId` out to use the stack's `cloudflare-secrets-store:accountId`",
  );
  if (problem) {
    failures.push({ property: "accountId", reason: problem });
    return undefined;
  }
  return accountId;
}

/** `id` when it is a well-formed id; undefined when absent or unknown at preview, or malformed (then with a failure). */
export function validId(id: string | undefined, property: string, what: string, example: string, failures: CheckFailure[]): string | undefined {
  if (id === undefined || isUnknown(id)) return undefined;
  const problem = idProblem(property, id, what, example);
  if (problem) failures.push({ property, reason: problem });
  return problem ? undefined : id;
}

/** The checked `storeId` of a resource's inputs (undefined when missing, invalid or not known yet). */
export function storeIdOf(news: Record<string, unknown>, failures: CheckFailure[]): string | undefined {
  const storeId = field(news, "storeId", z.string(), failures, "the id of a store, for example `store.id`");
  return validId(storeId, "storeId", "a store id", "`store.id` of a SecretsStore", failures);
}

/** The checked `scriptName`, `storeId` and `accountId` that both binding resources take. */
export function bindingTargetOf(news: Record<string, unknown>, failures: CheckFailure[]): { scriptName?: string; storeId?: string; accountId?: string } {
  const scriptName = field(news, "scriptName", z.string(), failures, 'the name of a deployed Worker, for example "api-worker"');
  const problem = scriptName === undefined ? undefined : scriptNameProblem(scriptName);
  if (problem) failures.push({ property: "scriptName", reason: problem });
  return { scriptName, storeId: storeIdOf(news, failures), accountId: accountIdOf(news, failures) };
}
