// ESLint flat config: ESLint's and typescript-eslint's recommended rules, the two type-aware rules
// that catch a forgotten `await`, no `!` assertions, and the layering of provider/ (below).
// Layout is Prettier's (`.prettierrc.json`), not ESLint's.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

// The layers of provider/, bottom up:
//   api/        HTTP calls to Cloudflare; imports nothing else of provider/.
//   runtime/    what the serialized shims run at call time (check, diff, create, ...); imports api/.
//   resources/  the classes a Pulumi program constructs; reaches the runtime only through the shim
//               (resources/shim.ts), which `require`s `pulumi-cloudflare-secrets-store/runtime` at call
//               time (a call, which this rule does not see, so the shim keeps working).
//   fields/     each resource's fields declared once, and the wire constants both sides share
//               (fields/wire.ts); imports only types from runtime/ and resources/.
//   index.ts    the package's entry point: re-exports resources/ (and api/error).
// Nothing in provider/ (the published package) imports emulator/, test/, tools/ or scripts/.
// Each pattern matches an import's text (relative or the package's own name), not the resolved
// file: `^\.{1,2}/(?:.*/)?runtime(?:/|$)` is any relative import through a `runtime` directory.
const RESTRICTED_IMPORTS = "@typescript-eslint/no-restricted-imports";
const NOT_OUTSIDE_PROVIDER = {
  regex: "^\\.{1,2}/(?:.*/)?(?:emulator|test|tools|scripts)(?:/|$)|^pulumi-cloudflare-secrets-store/emulator$",
  message:
    "Layering: provider/ is the published provider and must not import emulator/, test/, tools/ or scripts/. Move the code both need into provider/ (or pass it in from the caller).",
};
const layer = (files, ...patterns) => ({ files, rules: { [RESTRICTED_IMPORTS]: ["error", { patterns: [NOT_OUTSIDE_PROVIDER, ...patterns] }] } });

export default defineConfig(
  globalIgnores(["dist/", ".rig/", ".cache/", "coverage/", "tools/pulumi-cli/"]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // A leading `_` marks a parameter or binding left unused on purpose.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // The serialized provider shims require the installed package's runtime at call time, by design.
      "@typescript-eslint/no-require-imports": ["error", { allow: ["^pulumi-cloudflare-secrets-store/runtime$"] }],
      // Check a possibly missing value (a guard, a default, destructuring with a default, a `NonEmpty`
      // tuple, or in tests `must(value, what)` from test/must.ts) instead of asserting it with `!`.
      "@typescript-eslint/no-non-null-assertion": "error",
    },
  },
  // Layering (see the comment at the top). Flat config replaces a rule's options for a file rather
  // than merging them, so each layer's list repeats NOT_OUTSIDE_PROVIDER.
  layer(["provider/**"]),
  layer(["provider/api/**"], {
    regex: "^\\.{1,2}/(?:.*/)?(?:runtime|resources)(?:/|$)|^\\.\\.(?:/index)?$|^pulumi-cloudflare-secrets-store(?:/.*)?$",
    message:
      "Layering: provider/api/ is the bottom layer (HTTP calls to Cloudflare) and must not import provider/runtime/, provider/resources/ or the package's entry points. Move what it needs into provider/api/, or do that work in provider/runtime/.",
  }),
  layer(["provider/runtime/**"], {
    regex: "^\\.{1,2}/(?:.*/)?resources(?:/|$)|^\\.\\.(?:/index)?$|^pulumi-cloudflare-secrets-store$",
    message:
      "Layering: provider/runtime/ (what the shims run at call time) must not import provider/resources/ (the program-side classes) or provider/index.ts (which loads them). Move what both need into provider/runtime/ or provider/api/.",
  }),
  layer(["provider/fields/**"], {
    regex: "^\\.{1,2}/(?:.*/)?(?:runtime|resources)(?:/|$)|^\\.\\.(?:/index)?$|^pulumi-cloudflare-secrets-store(?:/.*)?$",
    // Types only: a declaration's field types are the ones the resources and the runtime use.
    allowTypeImports: true,
    message:
      "Layering: provider/fields/ (each resource's fields, and what the program and provider sides share) is imported by both sides, so it may import only types from provider/runtime/ or provider/resources/. Move the value into provider/fields/.",
  }),
  layer(["provider/resources/**"], {
    regex: "^\\.{1,2}/(?:.*/)?runtime(?:/|$)|^pulumi-cloudflare-secrets-store/runtime$",
    // `import type` is erased by the compiler, so it loads nothing of the runtime into the program.
    // The shim needs one (`ResourceKind`: a kind must be a key of the runtime's `providers`), and
    // store-secret.ts's `SecretScope` is built on the runtime's `Scope`.
    allowTypeImports: true,
    message:
      "Layering: provider/resources/ (the program side) must not import provider/runtime/; it reaches the runtime only through resources/shim.ts, which requires `pulumi-cloudflare-secrets-store/runtime` at call time. Use `import type` for a type; move a value both sides need out of provider/runtime/.",
  }),
  {
    files: ["**/*.ts", "**/*.mts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  {
    // Plain CommonJS scripts (run by `node`, or staged as a Pulumi program).
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
