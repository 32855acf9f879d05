/**
 * Tiny building blocks for validating parsed JSON by hand: a rule says what a value must be (`expected`, used in
 * messages), whether a value has the right shape at its top (`accepts`), and how to check what is inside it.
 * No schema library: these few combinators keep the hot path free of heavy imports.
 */

import { suggestName } from './suggest-name.js';

/** One step of a property path: an object key or an array index. */
export type PathSegment = string | number;

/** What a rule reports problems to. `fail` throws; `warn` collects. */
export interface RuleContext {
  /** `hint` replaces the generic "see the reference" hint. */
  fail(path: readonly PathSegment[], problem: string, hint?: string): never;
  warn(path: readonly PathSegment[], message: string): void;
}

/** A check of one JSON value. */
export interface Rule {
  /** Reads after "must be": "a string", "one of `none`, `stopContainer`". */
  readonly expected: string;
  /** The JSON kinds this rule can accept; a value of another kind is reported by kind, else by value. */
  readonly kinds: readonly JsonKind[];
  accepts(value: unknown): boolean;
  checkInside?(value: unknown, path: readonly PathSegment[], context: RuleContext): void;
}

export type JsonKind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

export function kindOf(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const kind = typeof value;
  return kind === 'string' || kind === 'number' || kind === 'boolean' ? kind : 'object';
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return kindOf(value) === 'object';
}

/** `containerEnv.FOO`, `mounts[2].target`, `portsAttributes["3000"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

function describeValue(rule: Rule, value: unknown): string {
  const kind = kindOf(value);
  if (!rule.kinds.includes(kind) || kind === 'array' || kind === 'object') return kind;
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Check `value` against `rule`, reporting the first problem at `path`. */
export function checkValue(rule: Rule, value: unknown, path: readonly PathSegment[], context: RuleContext): void {
  if (!rule.accepts(value)) context.fail(path, `must be ${rule.expected} (got ${describeValue(rule, value)})`);
  rule.checkInside?.(value, path, context);
}

function simple(expected: string, kind: JsonKind, test?: (value: never) => boolean): Rule {
  return {
    expected,
    kinds: [kind],
    accepts: (value) => kindOf(value) === kind && (test === undefined || test(value as never)),
  };
}

export const anyString = simple('a string', 'string');
export const anyBoolean = simple('a boolean', 'boolean');
export const jsonNull = simple('null', 'null');
export const anyObject = simple('an object', 'object');

export function integerIn(min: number, max: number, expected?: string): Rule {
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return simple(expected ?? `an integer ${range}`, 'number', (value: number) => Number.isInteger(value) && value >= min && value <= max);
}

/** A string matching `pattern` (and `test`, given the match, when set). */
export function matching(pattern: RegExp, expected: string, test?: (match: RegExpExecArray) => boolean): Rule {
  return simple(expected, 'string', (value: string) => {
    const match = pattern.exec(value);
    return match !== null && (test === undefined || test(match));
  });
}

export function oneOfValues(values: readonly (string | boolean)[]): Rule {
  const kinds = [...new Set(values.map(kindOf))];
  return {
    expected: `one of ${values.map((value) => `\`${String(value)}\``).join(', ')}`,
    kinds,
    accepts: (value) => values.includes(value as string | boolean),
  };
}

export function arrayOf(item: Rule, expected = 'an array'): Rule {
  return {
    expected,
    kinds: ['array'],
    accepts: Array.isArray,
    checkInside(value, path, context) {
      (value as unknown[]).forEach((entry, index) => checkValue(item, entry, [...path, index], context));
    },
  };
}

/** An object whose keys are free (env names, port numbers) and whose values all follow `valueRule`. */
export function mapOf(valueRule: Rule, expected = 'an object'): Rule {
  return {
    expected,
    kinds: ['object'],
    accepts: isPlainObject,
    checkInside(value, path, context) {
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
        checkValue(valueRule, entry, [...path, key], context);
      }
    },
  };
}

export interface ShapeOptions {
  required?: readonly string[];
  /** Cross-property checks once every property is known to have the right type. */
  refine?(value: Record<string, unknown>, path: readonly PathSegment[], context: RuleContext): void;
}

/** An object with known properties; unknown ones are warned about and ignored, not rejected. */
export function shapeOf(properties: Readonly<Record<string, Rule>>, options: ShapeOptions = {}, expected = 'an object'): Rule {
  const known = Object.keys(properties);
  return {
    expected,
    kinds: ['object'],
    accepts: isPlainObject,
    checkInside(value, path, context) {
      const object = value as Record<string, unknown>;
      for (const name of options.required ?? []) {
        if (object[name] === undefined) context.fail(path, `needs \`${name}\``);
      }
      for (const [key, entry] of Object.entries(object)) {
        const rule = Object.hasOwn(properties, key) ? properties[key] : undefined;
        if (rule === undefined) context.warn([...path, key], unknownPropertyMessage([...path, key], known));
        else checkValue(rule, entry, [...path, key], context);
      }
      options.refine?.(object, path, context);
    },
  };
}

/** The first rule that accepts the value's top decides how its inside is checked. */
export function anyOf(rules: readonly Rule[], expected: string): Rule {
  return {
    expected,
    kinds: [...new Set(rules.flatMap((rule) => rule.kinds))],
    accepts: (value) => rules.some((rule) => rule.accepts(value)),
    checkInside(value, path, context) {
      rules.find((rule) => rule.accepts(value))?.checkInside?.(value, path, context);
    },
  };
}

/** `unknown property \`imagee\` (ignored; did you mean \`image\`?)` */
export function unknownPropertyMessage(path: readonly PathSegment[], known: readonly string[]): string {
  const name = path[path.length - 1];
  const suggestion = typeof name === 'string' ? suggestName(name, known) : undefined;
  const didYouMean = suggestion === undefined ? '' : `; did you mean \`${suggestion}\`?`;
  return `unknown property \`${formatPath(path)}\` (ignored${didYouMean})`;
}
