#!/usr/bin/env node
// The `streambed` command. An installed package runs the built CLI (dist/, from `npm run build`,
// which `npm install` and `npm pack` run); a repository checkout that has not built yet runs the
// TypeScript source, which Node.js 22.18 and later run as it is.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
let cli;
try {
  cli = await import(existsSync(built) ? built.href : new URL('../lib/cli/main.ts', import.meta.url).href);
} catch (error) {
  if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  process.stderr.write(
    `streambed: dist/ is not built and Node.js ${process.version} cannot run TypeScript: run npm run build\n`,
  );
  process.exit(1);
}
await cli.runAsProcess();
