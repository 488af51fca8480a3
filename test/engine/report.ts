/**
 * What an operation did, collected while it runs: the steps (in the order they finished), the
 * diagnostics and failures, and the display text, streamed line by line as Pulumi's non-interactive
 * output is. Step records only ever hold rendered (secret-masked) values.
 */
import type { Diagnostic } from "./monitor";
import { formatStep, formatSummary, formatDiagnostics, formatOutputs, header } from "./display";
import { urnName, urnType } from "./urn";
import { renderValue, type Props } from "./values";

/** The engine operations. */
export type Operation = "preview" | "up" | "refresh" | "destroy";

/** `delete-replaced` is the deletion of a replaced resource's old copy (shown, not counted). */
export type StepOp = "same" | "create" | "update" | "replace" | "delete" | "delete-replaced";

/** One changed property, values already rendered for display (`[secret]` for secrets). */
export interface PropertyChange {
  key: string;
  kind: "add" | "update" | "delete";
  from?: string;
  to?: string;
  /** The change forces a replacement. */
  replaces?: boolean;
}

/** One step of the operation. */
export interface StepRecord {
  op: StepOp;
  urn: string;
  type: string;
  name: string;
  /** Changed input (or, on refresh, output) property names. */
  changedKeys?: string[];
  /** The properties that force a replacement. */
  replaceKeys?: string[];
  deleteBeforeReplace?: boolean;
  changes?: PropertyChange[];
  /** The step was attempted and failed. */
  failed?: boolean;
  /** Not displayed or counted (the default provider), as in Pulumi's display. */
  hidden?: boolean;
}

/** A failure that makes the operation fail. */
export interface Failure {
  urn?: string;
  message: string;
}

/** Thrown once a failure has been recorded: the deployment stops, nothing more needs reporting. */
export class Bailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** Collects the result of one operation and renders it. */
export class Report {
  readonly steps: StepRecord[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly failures: Failure[] = [];
  private readonly lines: string[] = [];

  constructor(
    readonly operation: Operation,
    readonly stack: string,
    private readonly onLine?: (line: string) => void,
  ) {
    this.emit(header(operation, stack), "");
  }

  /** True once anything failed. */
  get failed(): boolean {
    return this.failures.length > 0;
  }

  /** Records a finished (or failed) step and prints it. */
  step(record: Omit<StepRecord, "type" | "name">): void {
    const full: StepRecord = { ...record, type: urnType(record.urn), name: urnName(record.urn) };
    this.steps.push(full);
    if (!full.hidden && full.op !== "same") this.emit(...formatStep(this.operation, full));
  }

  /** Records a diagnostic (shown at the end, grouped by resource). */
  diagnostic(d: Diagnostic): void {
    this.diagnostics.push({ ...d, message: stripAnsi(d.message) });
  }

  /** Records a failure (and, unless told otherwise, its error diagnostic); returns a {@link Bailed} to throw. */
  fail(urn: string | undefined, message: string, options: { diagnostic: boolean } = { diagnostic: true }): Bailed {
    const failure: Failure = { urn, message };
    this.failures.push(failure);
    if (options.diagnostic) this.diagnostic({ severity: "error", message, urn });
    return new Bailed(failure);
  }

  /** Prints diagnostics, outputs and the summary; returns the whole text. */
  finish(stackUrn: string, outputs: Props | undefined, durationMs: number): string {
    this.emit(...formatDiagnostics(this.diagnostics, stackUrn));
    if (outputs && Object.keys(outputs).length > 0) this.emit(...formatOutputs(outputs));
    this.emit(...formatSummary(this.operation, this.steps, durationMs));
    return this.text;
  }

  /** Everything printed so far. */
  get text(): string {
    return this.lines.map((l) => `${l}\n`).join("");
  }

  private emit(...lines: string[]): void {
    for (const line of lines) {
      if (line === "" && this.lines.at(-1) === "") continue;
      this.lines.push(line);
      this.onLine?.(line);
    }
  }
}

/** Removes terminal color codes (the SDK colors stack traces when it thinks it may). */
function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

/** The property changes between two maps, rendered without secret values. */
export function describeChanges(olds: Props, news: Props, keys: readonly string[], replaceKeys: readonly string[] = []): PropertyChange[] {
  return keys.map((key) => {
    const kind = !(key in olds) ? "add" : !(key in news) ? "delete" : "update";
    const change: PropertyChange = { key, kind, replaces: replaceKeys.includes(key) || undefined };
    if (key === "__provider") return change; // the serialized provider: pages of code, never useful inline
    if (kind !== "add") change.from = renderValue(olds[key]);
    if (kind !== "delete") change.to = renderValue(news[key]);
    return change;
  });
}
