// ESLint flat config: ESLint's and typescript-eslint's recommended rules, the two type-aware rules
// that catch a forgotten `await`, and no `!` assertions. Layout is Prettier's (`.prettierrc.json`),
// not ESLint's.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

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
