/**
 * The engine floor for `npm run bench`: the bench program's resource graph (one store, N secrets,
 * and one binding per secret or one bindings resource per Worker, with the same dependencies and
 * secret inputs), but every resource is a `pulumi.dynamic.Resource` whose provider answers at once
 * with no I/O. What `pulumi` and the dynamic provider host cost for that many resources, so the
 * bench can say how far above it the real provider is.
 */
import * as pulumi from "@pulumi/pulumi";

const cfg = new pulumi.Config();
const count = cfg.requireNumber("count");
const workers = cfg.getNumber("workers") ?? 1;
const generation = cfg.require("generation");
const shape = cfg.get("shape") ?? "per-worker";

type Props = Record<string, unknown>;

// Captures nothing, so every resource serializes the same small provider.
const noop: pulumi.dynamic.ResourceProvider = {
  async check(_olds: Props, news: Props) {
    return { inputs: news };
  },
  async diff(_id: string, olds: Props, news: Props) {
    const changed = Object.keys(news).filter((k) => k !== "__provider" && JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes: changed.length > 0 };
  },
  async create(inputs: Props) {
    return { id: String(inputs.name), outs: inputs };
  },
  async read(id: string, props?: Props) {
    return { id, props: props ?? {} };
  },
  async update(_id: string, _olds: Props, news: Props) {
    return { outs: news };
  },
  async delete() {
    // nothing to delete
  },
};

class Noop extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  constructor(name: string, props: Record<string, pulumi.Input<unknown>>) {
    super(noop, name, props, undefined, "floor:index:Noop");
  }
}

const store = new Noop("main", { name: "default_secrets_store", generation });
const byWorker: Array<Record<string, pulumi.Output<string>>> = Array.from({ length: workers }, () => ({}));
for (let i = 0; i < count; i++) {
  const secret = new Noop(`secret-${i}`, {
    storeId: store.id,
    name: `bench_secret_${i}`,
    value: pulumi.secret(`bench-value-${i}-${generation}`),
    scopes: ["workers"],
  });
  if (shape === "per-binding") {
    new Noop(`binding-${i}`, {
      name: `bench-worker-${i % workers}/SECRET_${i}`,
      storeId: store.id,
      secretName: secret.name,
      generation,
    });
  } else {
    const bindings = byWorker[i % workers];
    if (bindings) bindings[`SECRET_${i}`] = secret.name;
  }
}
if (shape !== "per-binding") {
  byWorker.forEach((bindings, w) => new Noop(`bindings-${w}`, { name: `bench-worker-${w}`, storeId: store.id, bindings, generation }));
}
