/**
 * Checks a response against a schema of the OpenAPI subset (test/emulator/fixtures, a verbatim
 * copy of the project's reference `cloudflare-openapi-subset.json`). Covers what that file uses:
 * $ref, type, nullable, enum, required (writeOnly properties are not required in responses),
 * properties, items, maxItems, maxLength, allOf, and oneOf/anyOf (read as "at least one": the
 * subset's binding union ends with a catch-all object, so more than one alternative can match).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The parts of an OpenAPI schema object that {@link violations} reads. */
interface Schema {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  required?: string[];
  writeOnly?: boolean;
  properties?: Record<string, Schema>;
  items?: Schema;
  maxItems?: number;
  maxLength?: number;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
}

const SPEC = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures/cloudflare-openapi-subset.json"), "utf8")) as {
  components: { schemas: Record<string, Schema> };
  paths: Record<string, unknown>;
};

/** A named component schema, e.g. `workers_script-and-version-settings-response`. */
export function component(name: string): Schema {
  const schema = SPEC.components.schemas[name];
  if (!schema) throw new Error(`no schema ${name} in the OpenAPI subset`);
  return schema;
}

function resolve(schema: Schema): Schema {
  if (typeof schema.$ref !== "string") return schema;
  return resolve(component(schema.$ref.replace("#/components/schemas/", "")));
}

function typeOk(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    default:
      return typeof value === type;
  }
}

/** Every way `value` breaks `schema` (a response: writeOnly fields may be absent), with JSON paths. */
export function violations(schema: Schema, value: unknown, at = "$"): string[] {
  const s = resolve(schema);
  if (value === null) return s.nullable ? [] : [`${at}: null where the schema has ${s.type ?? "a value"} (not nullable)`];
  const out: string[] = [];
  for (const part of s.allOf ?? []) out.push(...violations(part, value, at));
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives && !alternatives.some((alt) => violations(alt, value, at).length === 0))
    out.push(`${at}: matches none of its ${alternatives.length} alternatives`);
  if (s.type && !typeOk(s.type, value)) return [...out, `${at}: ${JSON.stringify(value)} is not of type ${s.type}`];
  if (s.enum && !s.enum.includes(value)) out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (typeof value === "string" && s.maxLength !== undefined && value.length > s.maxLength) out.push(`${at}: longer than ${s.maxLength}`);
  if (Array.isArray(value)) {
    if (s.maxItems !== undefined && value.length > s.maxItems) out.push(`${at}: more than ${s.maxItems} items`);
    const items = s.items;
    if (items) value.forEach((item, i) => out.push(...violations(items, item, `${at}[${i}]`)));
  }
  if (typeOk("object", value)) {
    const obj = value as Record<string, unknown>;
    const props: Record<string, Schema> = s.properties ?? {};
    for (const key of s.required ?? []) {
      if (!(key in obj) && !resolve(props[key] ?? {}).writeOnly) out.push(`${at}.${key}: required`);
    }
    for (const [key, prop] of Object.entries(props)) if (key in obj) out.push(...violations(prop, obj[key], `${at}.${key}`));
  }
  return out;
}
