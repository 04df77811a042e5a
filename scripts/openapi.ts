/** Writes docs/openapi.json from functions/api/openapi.ts (`npm run openapi`). */
import { writeFileSync } from 'node:fs';
import { openapi } from '../functions/api/openapi.ts';

export const OPENAPI_PATH = new URL('../docs/openapi.json', import.meta.url);

export function renderOpenapi(): string {
  return `${JSON.stringify(openapi, null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(OPENAPI_PATH, renderOpenapi());
  console.log('wrote docs/openapi.json');
}
