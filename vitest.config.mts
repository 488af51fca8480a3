import { configDefaults, defineConfig } from "vitest/config";

/**
 * `unit` (`npm run test:unit`): the suites that run in process from TypeScript source: the
 * provider's runtime and API client against an emulator started in the test process, and the
 * emulator's own suites. They need neither the `pulumi` CLI, nor the packed package, nor `dist/`.
 * The emulator's crash trials are left out (`!(crash)`): they run the built CLI, `dist/emulator/cli.js`.
 */
const UNIT = [
  "test/unit/**/*.test.ts",
  "test/emulator/!(crash).test.ts",
  "test/provider/api-client.test.ts",
  "test/provider/api-hardening.test.ts",
  "test/provider/pagination.test.ts",
  "test/provider/redaction.test.ts",
  "test/clients/cloudflare-sdk.test.ts",
];

export default defineConfig({
  test: {
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "./test/summary-reporter.ts"],
    // Every test file is in exactly one project: `e2e` is everything `unit` is not, so `npm test`
    // (plain `vitest run`: both projects) runs each once, and a new file runs there by default.
    projects: [
      {
        test: {
          name: "unit",
          include: UNIT,
          // In process against a local emulator: a test still running after this is stuck.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...UNIT],
          // What runs out of process: the `pulumi` CLI, the packed package through the rig, wrangler,
          // the built emulator CLI. The CLI is found and the package packed once, before any of them
          // starts (and only when one of them is in the run).
          globalSetup: ["./test/global-setup.ts"],
          // End-to-end tests run several real `pulumi` commands each; a loaded 2-core machine needs room.
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
