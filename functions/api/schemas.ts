import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { openapi } from './openapi.ts';

// Every pattern in the document is ASCII, so non-Unicode regexps are equivalent — and much faster on
// megabytes of base64.
const ajv = new Ajv2020({
  allErrors: false,
  strict: true,
  strictTypes: false,
  // `oneOf: [{ required: ['value'] }, { required: ['valueBase64'] }]` names properties defined beside it.
  strictRequired: false,
  verbose: true,
  unicodeRegExp: false,
});
ajv.addVocabulary(['x-rule']);
// OpenAPI's `byte` format: padded base64 (RFC 4648 §4), checked in linear time on values of megabytes.
ajv.addFormat('byte', {
  type: 'string',
  validate: (value: string) => value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value),
});
for (const [name, schema] of Object.entries(openapi.components.schemas)) {
  ajv.addSchema(schema, `#/components/schemas/${name}`);
}

const compiled = new Map<string, ValidateFunction>();

function validatorFor(schema: string): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.getSchema(`#/components/schemas/${schema}`);
    if (validate === undefined) throw new Error(`no schema ${schema}`);
    compiled.set(schema, validate);
  }
  return validate;
}

/** "records[2].partition" from ajv's "/records/2/partition". */
function fieldOf(error: ErrorObject, root: string): string {
  let field = root;
  for (const part of error.instancePath.split('/').slice(1)) {
    field += /^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`;
  }
  return field;
}

const ruleOf = (error: ErrorObject) => (error.parentSchema as { 'x-rule'?: string } | undefined)?.['x-rule'];

function describe(error: ErrorObject, root: string): string {
  const field = fieldOf(error, root);
  const params = error.params as Record<string, unknown>;
  const rule = ruleOf(error);
  if (rule !== undefined && ['pattern', 'format', 'not', 'anyOf', 'oneOf', 'const'].includes(error.keyword))
    return `${field} ${rule}`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field}.${String(params.additionalProperty)} is not a known field`;
    case 'required':
      return `${field}.${String(params.missingProperty)} is required`;
    case 'dependentRequired':
      return `${field}.${String(params.missingProperty)} is required when ${String(params.property)} is given`;
    case 'type':
      return `${field} must be of type ${String(params.type)}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

/**
 * Validates `value` against a schema of the OpenAPI document; throws InvalidArgumentError whose
 * message names the offending field.
 *
 * @example
 * validate('CreateTopicRequest', body); // throws "body.partitions must be <= 1000"
 */
export function validate<T>(
  schema: keyof typeof openapi.components.schemas,
  value: unknown,
  root = 'body',
): T {
  const check = validatorFor(schema);
  if (!check(value)) {
    const errors = check.errors ?? [];
    // A failed anyOf or oneOf lists each alternative's error before its own: its rule says what was expected.
    const first =
      errors.find((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && ruleOf(e) !== undefined) ??
      errors[0];
    throw new InvalidArgumentError(first === undefined ? `${root} is invalid` : describe(first, root));
  }
  return value as T;
}

/** The ajv instance with the document's schemas, for contract tests. */
export function contractValidator(): typeof ajv {
  return ajv;
}
