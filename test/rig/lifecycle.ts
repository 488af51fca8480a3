/**
 * One resource driven through the host the way the engine drives it: check, then diff against
 * the state, then create / update / replace; read for refresh; delete for destroy. Every
 * response is kept in `transcript` so tests can search it for leaked secrets.
 */
import type { CheckFailure, DiffResult, Props } from "./host";
import type { Kind, Rig } from "./index";

/** What `up` did to the resource. */
export type UpOutcome = "create" | "update" | "replace" | "same";

export class CheckFailed extends Error {
  constructor(readonly failures: CheckFailure[]) {
    super(failures.map((f) => `${f.property}: ${f.reason}`).join("\n"));
  }
}

export class Managed {
  id = "";
  inputs: Props = {};
  outputs: Props = {};
  readonly transcript: string[] = [];

  constructor(
    readonly rig: Rig,
    readonly kind: Kind,
    readonly name: string,
  ) {
    rig.transcripts.push(this.transcript);
  }

  get urn(): string {
    return this.rig.urn(this.kind, this.name);
  }

  private record<T>(value: T): T {
    this.transcript.push(JSON.stringify(value));
    return value;
  }

  /** Check only (preview): returns the checked inputs and failures. */
  async check(news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    return this.record(await this.rig.host.check(this.urn, this.inputs, this.rig.props(this.kind, news)));
  }

  /** Check and diff only, as `pulumi preview` does. */
  async preview(news: Props): Promise<{ inputs: Props; failures: CheckFailure[]; diff?: DiffResult }> {
    const checked = await this.check(news);
    if (checked.failures.length || !this.id) return checked;
    return { ...checked, diff: this.record(await this.rig.host.diff(this.id, this.urn, this.outputs, checked.inputs)) };
  }

  /** Check, diff and apply, as `pulumi up` does for this resource. Errors are kept in the transcript too. */
  async up(news: Props): Promise<UpOutcome> {
    try {
      return await this.apply(news);
    } catch (err) {
      this.record(String(err));
      throw err;
    }
  }

  private async apply(news: Props): Promise<UpOutcome> {
    const { inputs, failures } = await this.check(news);
    if (failures.length) throw new CheckFailed(failures);
    if (!this.id) {
      const created = this.record(await this.rig.host.create(this.urn, inputs));
      Object.assign(this, { id: created.id, inputs, outputs: created.properties });
      return "create";
    }
    const diff = this.record(await this.rig.host.diff(this.id, this.urn, this.outputs, inputs));
    if (diff.changes === "none") {
      this.inputs = inputs;
      return "same";
    }
    if (diff.replaces.length) {
      // The engine checks a replacement afresh, without olds, when it plans the steps: before any delete.
      const fresh = this.record(await this.rig.host.check(this.urn, {}, this.rig.props(this.kind, news)));
      if (fresh.failures.length) throw new CheckFailed(fresh.failures);
      if (diff.deleteBeforeReplace) await this.rig.host.delete(this.id, this.urn, this.outputs);
      const created = this.record(await this.rig.host.create(this.urn, fresh.inputs));
      if (!diff.deleteBeforeReplace) await this.rig.host.delete(this.id, this.urn, this.outputs);
      Object.assign(this, { id: created.id, inputs: fresh.inputs, outputs: created.properties });
      return "replace";
    }
    const updated = this.record(await this.rig.host.update(this.id, this.urn, this.outputs, inputs));
    Object.assign(this, { inputs, outputs: updated.properties });
    return "update";
  }

  /** Refresh: read; returns false when the object is gone (and forgets it). */
  async refresh(): Promise<boolean> {
    const read = this.record(await this.rig.host.read(this.id, this.urn, this.outputs, this.inputs));
    if (!read.id) {
      Object.assign(this, { id: "", inputs: {}, outputs: {} });
      return false;
    }
    this.outputs = read.properties;
    if (read.inputs) this.inputs = read.inputs;
    return true;
  }

  async destroy(): Promise<void> {
    await this.rig.host.delete(this.id, this.urn, this.outputs);
    Object.assign(this, { id: "", inputs: {}, outputs: {} });
  }
}
