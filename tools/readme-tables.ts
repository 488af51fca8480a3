/**
 * Writes the README's argument and output tables from the resources' declarations
 * (provider/fields), between the markers
 *   <!-- generated: <Kind> arguments --> … <!-- end generated -->
 *   <!-- generated: <Kind> outputs --> … <!-- end generated -->
 * `tsx tools/readme-tables.ts` rewrites them; with `--check` (part of `npm run lint`) it changes
 * nothing and fails when a table is out of date.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DECLARATIONS, type ResourceKind } from "../provider/fields";
import type { Declaration, FieldSpec } from "../provider/fields/declare";

const README = path.join(__dirname, "..", "README.md");
const MARKER = /<!-- generated: (\w+) (arguments|outputs) -->\n[\s\S]*?<!-- end generated -->/g;

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const row = (name: string, f: FieldSpec, doc: string) => `| \`${name}\` | ${cell(f.type)} | ${cell(doc)} |`;

/** The table of `kind`'s arguments or outputs, as Markdown. */
export function table(kind: ResourceKind, which: "arguments" | "outputs"): string {
  const d: Declaration = DECLARATIONS[kind];
  const fields = Object.entries(d).filter(([, f]) => !f.hidden && (which === "arguments" ? f.arg !== undefined : f.out !== undefined));
  const outDoc = (f: FieldSpec) => f.outDoc ?? (f.arg !== undefined ? "The argument, as passed." : f.doc);
  const rows = fields.map(([name, f]) => row(name, f, which === "outputs" ? outDoc(f) : f.doc));
  return [`| ${which === "arguments" ? "argument" : "output"} | type | |`, "|---|---|---|", ...rows].join("\n");
}

/** `text` with every generated table written again. */
export function regenerate(text: string): string {
  return text.replace(MARKER, (_whole, kind: string, which: "arguments" | "outputs") => {
    if (!(kind in DECLARATIONS)) throw new Error(`README.md: no resource kind ${kind} (a generated table's marker)`);
    return `<!-- generated: ${kind} ${which} -->\n${table(kind as ResourceKind, which)}\n<!-- end generated -->`;
  });
}

if (require.main === module) {
  const text = fs.readFileSync(README, "utf8");
  const next = regenerate(text);
  if (process.argv.includes("--check")) {
    if (next !== text) {
      console.error("README.md: the argument/output tables are out of date with provider/fields. Run `npm run -s readme-tables`.");
      process.exit(1);
    }
  } else if (next !== text) {
    fs.writeFileSync(README, next);
    console.log("README.md: tables written.");
  }
}
