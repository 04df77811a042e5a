/*
 * Re-vendors the Kafka message definitions this directory holds from a clone of apache/kafka:
 *
 *   node lib/kafka/messages/vendor.ts <path to apache/kafka .git> [revision, default HEAD]
 *   npx biome format --write lib/kafka/messages
 *
 * and writes index.ts, which imports each file as a JSON module. *
 * It copies each definition listed in MESSAGE_FILES from
 * clients/src/main/resources/common/message/, strips the `//` comment lines (every comment in those
 * files is a whole line), checks that the rest parses as JSON, and records the commit in README.md.
 * The version history lives in those comments: read it upstream at the commit README.md names.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MESSAGE_FILES } from './files.ts';

const SOURCE_DIR = 'clients/src/main/resources/common/message';

function git(gitDir: string, ...args: string[]): string {
  return execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
}

/** Drops whole-line `//` comments; throws if anything else would make the text invalid JSON. */
export function stripComments(text: string): unknown {
  const kept = text.split('\n').filter((line) => !/^\s*\/\//.test(line));
  return JSON.parse(kept.join('\n'));
}

/** index.ts: every vendored definition as a JSON module import, in MESSAGE_FILES order. */
function indexModule(): string {
  const imports = MESSAGE_FILES.map((name) => `import ${name} from './${name}.json' with { type: 'json' };`);
  return [
    '// Written by vendor.ts: do not edit by hand.',
    ...imports,
    '',
    '/** The vendored apache/kafka message definitions, as parsed JSON (validated by protocol/schema.ts). */',
    `export const MESSAGE_DEFINITIONS: readonly unknown[] = [${MESSAGE_FILES.join(', ')}];`,
    '',
  ].join('\n');
}

function main(): void {
  const [gitDir, revision = 'HEAD'] = process.argv.slice(2);
  if (gitDir === undefined) {
    throw new Error('usage: node lib/kafka/messages/vendor.ts <apache/kafka git dir> [revision]');
  }
  const commit = git(gitDir, 'rev-parse', `${revision}^{commit}`).trim();
  const here = import.meta.dirname;
  for (const name of MESSAGE_FILES) {
    const definition = stripComments(git(gitDir, 'show', `${commit}:${SOURCE_DIR}/${name}.json`));
    writeFileSync(join(here, `${name}.json`), `${JSON.stringify(definition, null, 2)}\n`);
  }
  writeFileSync(join(here, 'index.ts'), indexModule());
  const date = git(gitDir, 'show', '-s', '--format=%cs', commit).trim();
  writeFileSync(
    join(here, 'README.md'),
    [
      '# Kafka message definitions',
      '',
      `Vendored from apache/kafka commit \`${commit}\` (${date}), \`${SOURCE_DIR}/\`,`,
      'with the `//` comment lines stripped (Apache License 2.0, as upstream). The version history of',
      'each message is in those comments: read it upstream at that commit.',
      '',
      'Regenerate with `node lib/kafka/messages/vendor.ts <apache/kafka git dir> [revision]`, then',
      '`npx biome format --write lib/kafka/messages`. `lib/kafka/protocol/schema.ts` interprets these',
      'files; nothing is generated from them.',
      '',
    ].join('\n'),
  );
  process.stdout.write(`vendored ${MESSAGE_FILES.length} definitions from ${commit}\n`);
}

if (import.meta.main) {
  main();
}
