// Fails early, with what to do, when the Node.js running the npm scripts is older than 22.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `Node.js 22 or later is needed (this is ${process.version}): @pulumi/pulumi, vitest and wrangler require it. ` +
      "On Linux x64, `npm ci` installs it for this repository's npm scripts; elsewhere, install Node.js 22 or later.",
  );
  process.exit(1);
}
