/**
 * `preview` and `up`: runs the program against the monitor and turns each registration into steps
 * by the Go engine's rules (`pkg/resource/deploy/step_generator.go`, `step_executor.go`):
 *
 * - Registrations are processed one at a time (check, then diff for existing resources); the
 *   resulting steps run concurrently, at most `--parallel` at once, and the registration is
 *   answered when its step is done, so outputs flow to dependents.
 * - same / create / update / replace; a replacement re-checks the inputs without the old ones and is
 *   create-before-delete (old copy deleted at the end) unless the resource option or the provider's
 *   diff asks for delete-before-replace, which first deletes the dependents that would be replaced.
 * - A resource with init errors (a partial create) is updated on the next `up` even without changes.
 * - Resources no longer registered, and old copies of replaced ones, are deleted after everything
 *   else, in reverse dependency order. The first failure stops the deployment: nothing new starts,
 *   no deletes run, the state keeps what happened.
 * - Preview calls only check and diff; outputs returned to the program are the checked inputs, with
 *   unknowns where values are not known and an unknown id for creates.
 */
import * as crypto from "node:crypto";
import type { Project, StackConfig } from "./config";
import { deleteResource, dependenciesOf, scheduleDeletes } from "./deletes";
import { createLimit, type Limit } from "./limit";
import { MonitorTerminating, startMonitor, type MonitorHandler, type Registered, type Registration } from "./monitor";
import { applyIgnoreChanges, pathContains } from "./paths";
import { launchProgram, type ProgramResult } from "./program";
import { failureMessage, PartialFailure, type CheckFailure, type DynamicProvider } from "./provider";
import { Bailed, describeChanges, type Report, type StepOp, type StepRecord } from "./report";
import type { ResourceState, StateFile } from "./state";
import { createUrn, DYNAMIC_PROVIDER_TYPE, isDynamicType, isProviderType, ROOT_STACK_TYPE } from "./urn";
import { changedKeys, deepEqual, markAdditionalSecrets, renderValue, stripSecrets, UNKNOWN, type Props } from "./values";

/** What a preview or an update runs with. */
export interface DeployOptions {
  programDir: string;
  project: Project;
  stack: string;
  config: StackConfig;
  dryRun: boolean;
  parallel: number;
  env?: NodeJS.ProcessEnv;
  state: StateFile;
  provider: DynamicProvider;
  report: Report;
}

/** Runs a preview or an update; returns the stack outputs. */
export async function runDeployment(options: DeployOptions): Promise<Props | undefined> {
  const deployment = new Deployment(options);
  const monitor = await startMonitor(deployment, {
    project: options.project.name,
    stack: options.stack,
    dryRun: options.dryRun,
    parallel: options.parallel,
    config: options.config,
  });
  try {
    options.provider.warmUp();
    const program = launchProgram({
      ...options,
      monitorAddress: monitor.address,
      onOutput: (message) => deployment.log({ severity: "info", message, urn: deployment.stackUrn }),
    });
    // Like the engine, stop the program once the deployment has failed; running steps still finish.
    deployment.onStop = () => program.kill();
    await deployment.finish(await program.done);
  } finally {
    await monitor.close();
  }
  return deployment.stackOutputs();
}

interface DiffOutcome {
  changes: boolean;
  replaceKeys: string[];
  deleteBeforeReplace: boolean;
  /** Changed input names the engine knows of (only when the provider's diff answered "unknown"). */
  changedKeys: string[];
}

interface ReplacePlan {
  /** `cbd`: create, then delete the old copy at the end; `dbr`: delete first; `recreate`: already deleted. */
  kind: "cbd" | "dbr" | "recreate";
  replaceKeys: string[];
  /** The engine's changed keys (see {@link DiffOutcome}). */
  changedKeys: string[];
  /** Dependents to delete first (delete-before-replace), in dependency order. */
  dependents: Array<{ res: ResourceState; keys: string[] }>;
}

type Execute = () => Promise<Registered>;

/** The state of one preview or update, and the {@link MonitorHandler} the program talks to. */
class Deployment implements MonitorHandler {
  readonly stackUrn: string;
  onStop?: () => void;
  private readonly oldList: readonly ResourceState[];
  /** Old resources by URN (old copies pending deletion excluded). */
  private readonly olds = new Map<string, ResourceState>();
  /** New resource states, in the order their steps finished. */
  private readonly news: ResourceState[] = [];
  /** Old states that left the snapshot (superseded by a new state, or deleted). */
  private readonly gone = new Set<ResourceState>();
  /** Old copies awaiting deletion (`delete: true`). */
  private readonly pendingDelete = new Set<ResourceState>();
  /** Old states matched by a registration (the others are deleted at the end). */
  private readonly claimed = new Set<ResourceState>();
  private readonly seen = new Set<string>();
  /** Dependents deleted ahead of a delete-before-replace: re-created when registered, with these keys. */
  private readonly recreate = new Map<string, string[]>();
  private providerRef?: string;
  private generator: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly limit: Limit;

  constructor(private readonly o: DeployOptions) {
    this.stackUrn = createUrn(o.stack, o.project.name, undefined, ROOT_STACK_TYPE, `${o.project.name}-${o.stack}`);
    this.oldList = o.state.checkpoint.resources;
    for (const r of this.oldList) {
      if (r.delete) this.pendingDelete.add(r);
      else this.olds.set(r.urn, r);
    }
    this.limit = createLimit(o.parallel);
  }

  private get stopped(): boolean {
    return this.o.report.failed;
  }

  /** The stack outputs registered by the program (or kept from the last update). */
  stackOutputs(): Props | undefined {
    return this.news.find((r) => r.urn === this.stackUrn)?.outputs;
  }

  registerResource(reg: Registration): Promise<Registered> {
    const urn = createUrn(this.o.stack, this.o.project.name, reg.parent, reg.type, reg.name);
    const generated = this.generator.then(() => {
      if (this.stopped) throw new MonitorTerminating();
      return this.generate(reg, urn);
    });
    this.generator = generated.catch(() => undefined);
    const done = this.track(generated.then((execute) => execute()));
    return done.catch((err: unknown) => {
      if (!(err instanceof Bailed) && !(err instanceof MonitorTerminating)) this.o.report.fail(urn, failureMessage(err));
      this.onStop?.();
      throw new MonitorTerminating();
    });
  }

  async registerResourceOutputs(urn: string, outputs: Props): Promise<void> {
    const state = this.news.find((r) => r.urn === urn);
    if (!state) throw new Error(`cannot register outputs of unknown resource ${urn}`);
    state.outputs = outputs;
    await this.save();
  }

  /** Program output and SDK logs; after a failure the program is being stopped and its noise is dropped. */
  log(diagnostic: Parameters<MonitorHandler["log"]>[0]): void {
    if (!this.stopped) this.o.report.diagnostic(diagnostic);
  }

  /** After the program exited: waits for running steps, deletes what is condemned, writes the final state. */
  async finish(program: ProgramResult): Promise<void> {
    await this.idle();
    if (!program.ok && !this.stopped) {
      this.o.report.fail(this.stackUrn, program.error ?? "the program failed", { diagnostic: program.error !== undefined });
    }
    if (!this.stopped) await this.deleteCondemned();
    if (!this.o.dryRun) {
      for (const urn of this.recreate.keys()) if (!this.seen.has(urn)) this.o.report.step({ op: "delete", urn });
    }
    await this.save();
  }

  // ---- step generation (one registration at a time) ----

  private async generate(reg: Registration, urn: string): Promise<Execute> {
    const fail = (message: string) => this.o.report.fail(urn, message);
    if (reg.remote) throw fail(`${reg.type}: remote components are not supported by the engine harness`);
    if (reg.parent && !this.seen.has(reg.parent)) throw fail(`could not find parent resource ${reg.parent}`);
    if (this.seen.has(urn)) throw fail(`Duplicate resource URN '${urn}'; try giving it a unique name`);
    this.seen.add(urn);
    if (reg.importId) {
      throw fail("the `import` resource option is not supported by the engine harness (nor by Pulumi for dynamic resources, pulumi/pulumi#16175)");
    }
    const old = [urn, ...reg.aliasUrns].map((u) => this.olds.get(u)).find((r) => r !== undefined);
    if (old) this.claimed.add(old);
    if (!reg.custom) return this.componentStep(reg, urn, old);
    if (isProviderType(reg.type) || reg.provider) {
      throw fail("explicit provider resources are not supported by the engine harness: dynamic resources use the default provider");
    }
    if (!isDynamicType(reg.type)) {
      throw fail(`the engine harness has no provider plugin for package '${reg.type.split(":")[0]}': it runs dynamic resources only`);
    }
    return this.customStep(reg, urn, old, this.defaultProviderRef());
  }

  private async customStep(reg: Registration, urn: string, old: ResourceState | undefined, provider: string): Promise<Execute> {
    const recreating = this.recreate.get(urn);
    if (old && recreating) {
      const inputs = await this.check(reg, urn, {}, reg.object);
      return this.replaceStep(reg, urn, old, inputs, provider, { kind: "recreate", replaceKeys: recreating, changedKeys: [], dependents: [] });
    }
    const news = old ? this.ignoreChanges(reg, urn, old) : reg.object;
    const inputs = await this.check(reg, urn, old ? old.inputs : {}, news);
    if (!old) return this.createStep(reg, urn, inputs, provider);

    const diff = await this.diff(reg, urn, old, inputs);
    if (diff.changes && diff.replaceKeys.length > 0) {
      if (reg.protect && old.protect) {
        throw this.o.report.fail(
          urn,
          `unable to replace resource "${urn}"\nas it is currently marked for protection. To unprotect the resource, ` +
            "remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`",
        );
      }
      const replacement = await this.check(reg, urn, {}, reg.object);
      const deleteFirst = reg.deleteBeforeReplace ?? diff.deleteBeforeReplace;
      const dependents = deleteFirst ? await this.dependentReplacements(old) : [];
      return this.replaceStep(reg, urn, old, replacement, provider, {
        kind: deleteFirst ? "dbr" : "cbd",
        replaceKeys: diff.replaceKeys,
        changedKeys: diff.changedKeys,
        dependents,
      });
    }
    if (diff.changes) return this.updateStep(reg, urn, old, inputs, provider, diff.changedKeys);
    if ((old.initErrors?.length ?? 0) > 0) return this.updateStep(reg, urn, old, inputs, provider, []);
    return this.sameStep(reg, urn, old, inputs, provider);
  }

  private ignoreChanges(reg: Registration, urn: string, old: ResourceState): Props {
    try {
      return applyIgnoreChanges(reg.object, old.inputs, reg.ignoreChanges);
    } catch (err) {
      throw this.o.report.fail(urn, failureMessage(err));
    }
  }

  /** Check; failures are reported (as the engine prints them) and stop the deployment. */
  private async check(reg: Registration, urn: string, olds: Props, news: Props): Promise<Props> {
    const { inputs, failures } = await this.o.provider.check(urn, olds, news);
    if (failures.length === 0) return inputs;
    const bailed = failures.map((f) => this.o.report.fail(urn, checkFailureMessage(reg, f, news, inputs)));
    throw bailed[0];
  }

  /** Diff, with the engine's fallback for an unknown answer and `replaceOnChanges` / init errors applied. */
  private async diff(reg: Registration, urn: string, old: ResourceState, inputs: Props): Promise<DiffOutcome> {
    const result = await this.o.provider.diff(urn, old.id ?? "", old.outputs, inputs);
    let changes = result.changes === "some";
    let engineKeys: string[] = [];
    if (result.changes === "unknown") {
      engineKeys = changedKeys(old.inputs, applyIgnoreChanges(inputs, old.inputs, reg.ignoreChanges));
      changes = engineKeys.length > 0;
    }
    const replaceKeys = [...result.replaces];
    const hasInitErrors = (old.initErrors?.length ?? 0) > 0;
    if (changes || hasInitErrors) {
      // Like the engine, replaceOnChanges only sees the changed keys it knows: the provider's diff
      // through the dynamic provider host reports none.
      for (const k of engineKeys) {
        if (reg.replaceOnChanges.some((p) => pathContains(p, k)) && !replaceKeys.includes(k)) replaceKeys.push(k);
      }
      if (hasInitErrors && reg.replaceOnChanges.some((p) => pathContains(p, "#initerror"))) {
        replaceKeys.push("#initerror");
        changes = true;
      }
    }
    return { changes, replaceKeys, deleteBeforeReplace: result.deleteBeforeReplace, changedKeys: engineKeys };
  }

  /** The not-yet-registered dependents a delete-before-replace of `root` would replace (the engine's `calculateDependentReplacements`). */
  private async dependentReplacements(root: ResourceState): Promise<ReplacePlan["dependents"]> {
    const replaceSet = new Set([root.urn]);
    const found: ReplacePlan["dependents"] = [];
    for (const d of this.transitiveDependents(root)) {
      if (!d.custom || !isDynamicType(d.type) || !d.id) continue;
      let affected = false;
      const inputs: Props = {};
      for (const [k, v] of Object.entries(d.inputs)) {
        const hit = (d.propertyDependencies?.[k] ?? []).some((u) => replaceSet.has(u));
        affected ||= hit;
        inputs[k] = hit ? UNKNOWN : v;
      }
      if (!affected) continue;
      const diff = await this.o.provider.diff(d.urn, d.id, d.outputs, inputs);
      if (diff.replaces.length > 0) {
        found.push({ res: d, keys: diff.replaces });
        replaceSet.add(d.urn);
      }
    }
    return found;
  }

  private transitiveDependents(root: ResourceState): ResourceState[] {
    const affected = new Set([root.urn]);
    const result: ResourceState[] = [];
    for (const r of this.oldList) {
      if (r === root || r.delete || this.gone.has(r) || this.seen.has(r.urn)) continue;
      if ([...dependenciesOf(r, { parent: false })].some((u) => affected.has(u))) {
        affected.add(r.urn);
        result.push(r);
      }
    }
    return result;
  }

  // ---- steps ----

  private componentStep(reg: Registration, urn: string, old: ResourceState | undefined): Execute {
    return async () => {
      const inputs = reg.object;
      const op: StepOp = !old ? "create" : deepEqual(old.inputs, inputs) ? "same" : "update";
      const keys = old && op === "update" ? changedKeys(old.inputs, inputs) : undefined;
      this.put(old, this.newState(reg, urn, { inputs, outputs: old?.outputs ?? {} }));
      await this.save();
      this.o.report.step({ op, urn, changedKeys: keys, changes: old && keys ? describeChanges(old.inputs, inputs, keys) : undefined });
      return { urn, id: "", outputs: {} };
    };
  }

  private sameStep(reg: Registration, urn: string, old: ResourceState, inputs: Props, provider: string): Execute {
    return async () => {
      const outputs = this.secretOutputs(reg, urn, old.outputs);
      this.put(old, this.newState(reg, urn, { id: old.id, inputs, outputs, provider }));
      await this.save();
      this.o.report.step({ op: "same", urn });
      return { urn, id: old.id ?? "", outputs };
    };
  }

  private createStep(reg: Registration, urn: string, inputs: Props, provider: string): Execute {
    return () =>
      this.execute(
        { op: "create", urn },
        async () => {
          if (this.o.dryRun) return { urn, id: "", outputs: this.secretOutputs(reg, urn, inputs) };
          const created = await this.o.provider.create(urn, inputs);
          const outputs = this.secretOutputs(reg, urn, created.outputs);
          this.put(undefined, this.newState(reg, urn, { id: created.id, inputs, outputs, provider }));
          return { urn, id: created.id, outputs };
        },
        (e) => this.put(undefined, this.partialState(reg, urn, inputs, provider, e)),
      );
  }

  private updateStep(reg: Registration, urn: string, old: ResourceState, inputs: Props, provider: string, engineKeys: string[]): Execute {
    const id = old.id ?? "";
    return () =>
      this.execute(
        { op: "update", urn, ...displayChanges(old, inputs, engineKeys, [], !old.initErrors?.length) },
        async () => {
          if (this.o.dryRun) return { urn, id, outputs: this.secretOutputs(reg, urn, inputs) };
          const updated = await this.o.provider.update(urn, id, old.outputs, inputs);
          const outputs = this.secretOutputs(reg, urn, updated.outputs);
          this.put(old, this.newState(reg, urn, { id, inputs, outputs, provider }));
          return { urn, id, outputs };
        },
        (e) => this.put(old, this.partialState(reg, urn, inputs, provider, e)),
      );
  }

  private replaceStep(reg: Registration, urn: string, old: ResourceState, inputs: Props, provider: string, plan: ReplacePlan): Execute {
    for (const d of plan.dependents) this.recreate.set(d.res.urn, d.keys);
    const record: Omit<StepRecord, "type" | "name"> = {
      op: "replace",
      urn,
      replaceKeys: plan.replaceKeys,
      deleteBeforeReplace: plan.kind !== "cbd" || undefined,
      ...displayChanges(old, inputs, plan.changedKeys, plan.replaceKeys),
    };
    return () =>
      this.execute(
        record,
        async () => {
          if (this.o.dryRun) return { urn, id: "", outputs: this.secretOutputs(reg, urn, inputs) };
          if (plan.kind === "dbr") {
            for (const d of [...plan.dependents].reverse()) await this.deleteNow(d.res);
            await this.deleteNow(old);
          }
          const created = await this.o.provider.create(urn, inputs);
          const outputs = this.secretOutputs(reg, urn, created.outputs);
          this.put(undefined, this.newState(reg, urn, { id: created.id, inputs, outputs, provider }));
          if (plan.kind === "cbd") this.pendingDelete.add(old);
          return { urn, id: created.id, outputs };
        },
        (e) => {
          this.put(undefined, this.partialState(reg, urn, inputs, provider, e));
          if (plan.kind === "cbd") this.pendingDelete.add(old);
        },
      );
  }

  /**
   * Runs a step under the parallelism limit: saves the state and records the step when it succeeds;
   * on failure keeps what a partial failure reported, records the failure and stops the deployment.
   */
  private execute(
    record: Omit<StepRecord, "type" | "name">,
    run: () => Promise<Registered>,
    onPartial: (e: PartialFailure) => void,
  ): Promise<Registered> {
    return this.limit(async () => {
      if (this.stopped) throw new MonitorTerminating();
      try {
        const registered = await run();
        await this.save();
        this.o.report.step(record);
        return registered;
      } catch (err) {
        if (err instanceof Bailed || err instanceof MonitorTerminating) throw err;
        if (err instanceof PartialFailure) {
          onPartial(err);
          await this.save();
        }
        this.o.report.step({ ...record, failed: true });
        throw this.o.report.fail(record.urn, failureMessage(err));
      }
    });
  }

  /** Deletes what is condemned, in reverse dependency order (only listed in a preview). */
  private async deleteCondemned(): Promise<void> {
    const condemned = this.oldList.filter((r) => !this.gone.has(r) && (this.pendingDelete.has(r) || !this.claimed.has(r)));
    for (const layer of scheduleDeletes(condemned)) {
      await Promise.all(
        layer.map((r) =>
          this.limit(async () => {
            const op: StepOp = this.pendingDelete.has(r) ? "delete-replaced" : "delete";
            const hidden = isProviderType(r.type) || undefined;
            if (this.o.dryRun) {
              if (op === "delete") this.o.report.step({ op, urn: r.urn, hidden });
              return;
            }
            if (this.stopped) return;
            try {
              await this.deleteNow(r);
              this.o.report.step({ op, urn: r.urn, hidden });
            } catch (err) {
              this.o.report.step({ op, urn: r.urn, hidden, failed: true });
              this.o.report.fail(r.urn, failureMessage(err));
            }
          }),
        ),
      );
      if (this.stopped) return;
    }
  }

  private async deleteNow(r: ResourceState): Promise<void> {
    await deleteResource(this.o.provider, r);
    this.gone.add(r);
    await this.save();
  }

  // ---- state ----

  /** The default `pulumi-nodejs` provider resource (registered in the state on first use); its reference. */
  private defaultProviderRef(): string {
    if (this.providerRef) return this.providerRef;
    const urn = createUrn(this.o.stack, this.o.project.name, undefined, DYNAMIC_PROVIDER_TYPE, "default");
    const old = this.olds.get(urn);
    const id = old?.id ?? (this.o.dryRun ? UNKNOWN : crypto.randomUUID());
    if (old) this.claimed.add(old);
    this.seen.add(urn);
    this.put(old, { urn, custom: true, type: DYNAMIC_PROVIDER_TYPE, id, inputs: {}, outputs: {}, dependencies: [] });
    this.o.report.step({ op: old ? "same" : "create", urn, hidden: true });
    this.providerRef = `${urn}::${id}`;
    return this.providerRef;
  }

  private newState(
    reg: Registration,
    urn: string,
    fields: { id?: string; inputs: Props; outputs: Props; provider?: string; initErrors?: string[] },
  ): ResourceState {
    return {
      urn,
      custom: reg.custom,
      type: reg.type,
      id: fields.id,
      parent: reg.parent,
      provider: fields.provider,
      inputs: fields.inputs,
      outputs: fields.outputs,
      dependencies: reg.dependencies,
      propertyDependencies: Object.keys(reg.propertyDependencies).length > 0 ? reg.propertyDependencies : undefined,
      protect: reg.protect || undefined,
      retainOnDelete: reg.retainOnDelete || undefined,
      additionalSecretOutputs: reg.additionalSecretOutputs.length > 0 ? reg.additionalSecretOutputs : undefined,
      initErrors: fields.initErrors,
    };
  }

  private partialState(reg: Registration, urn: string, inputs: Props, provider: string, e: PartialFailure): ResourceState {
    const outputs = this.secretOutputs(reg, urn, e.outputs);
    return this.newState(reg, urn, { id: e.id, inputs, outputs, provider, initErrors: e.reasons });
  }

  private secretOutputs(reg: Registration, urn: string, outputs: Props): Props {
    const marked = markAdditionalSecrets(outputs, reg.additionalSecretOutputs);
    for (const name of marked.missing) {
      this.o.report.diagnostic({ severity: "warning", urn, message: `Could not find property '${name}' listed in additional secret outputs.` });
    }
    return marked.outputs;
  }

  /** Puts a new state in the snapshot, in place of `old`. */
  private put(old: ResourceState | undefined, next: ResourceState): void {
    if (old) this.gone.add(old);
    this.news.push(next);
  }

  /** The snapshot: new states, then old states still in place (old copies marked `delete`). */
  private snapshot(): ResourceState[] {
    const kept = this.oldList
      .filter((r) => !this.gone.has(r))
      .map((r) => (this.pendingDelete.has(r) ? { ...r, delete: true } : r));
    return [...this.news, ...kept];
  }

  private save(): Promise<void> {
    return this.o.dryRun ? Promise.resolve() : this.o.state.save(this.snapshot());
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const forget = () => this.inflight.delete(p);
    p.then(forget, forget);
    return p;
  }

  private async idle(): Promise<void> {
    do await Promise.allSettled([this.generator, ...this.inflight]);
    while (this.inflight.size > 0);
  }
}

/**
 * What a step shows: the engine's changed keys, else the inputs that changed, else (when the
 * provider's diff found changes) the inputs that differ from the old outputs: drift found by a
 * refresh, which only the provider's diff sees. Replacement keys are always shown.
 */
function displayChanges(
  old: ResourceState,
  inputs: Props,
  engineKeys: readonly string[],
  replaceKeys: readonly string[] = [],
  providerSawChanges = true,
): Pick<StepRecord, "changedKeys" | "changes"> {
  let base = old.inputs;
  let keys = engineKeys.length > 0 ? [...engineKeys] : changedKeys(old.inputs, inputs);
  if (keys.length === 0 && providerSawChanges) {
    base = old.outputs;
    keys = Object.keys(inputs).filter((k) => k in old.outputs && !deepEqual(stripSecrets(old.outputs[k]), stripSecrets(inputs[k])));
  }
  keys = [...new Set([...keys, ...replaceKeys.filter((k) => k in inputs || k in base)])].sort();
  return { changedKeys: keys, changes: describeChanges(base, inputs, keys, replaceKeys) };
}

function checkFailureMessage(reg: Registration, f: CheckFailure, news: Props, inputs: Props): string {
  if (!f.property) return `${reg.type} resource '${reg.name}' has a problem: ${f.reason}`;
  const value = f.property in news ? news[f.property] : inputs[f.property];
  return `${reg.type} resource '${reg.name}': property ${f.property} value {${renderValue(value)}} has a problem: ${f.reason}`;
}
