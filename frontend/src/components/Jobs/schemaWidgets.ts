/**
 * Which input a value gets, read from its JSON-Schema fragment: a method parameter's schema in
 * the catalogue (GET /methods) or a job-config field's schema in the OpenAPI document. The
 * fragment words are those of the API (type, enum, anyOf, items, minimum/maximum and their
 * exclusive forms, default, description); anything the widgets cannot offer is a JSON text field,
 * and the API checks every value again.
 */

/** The fragment words the widgets read (the API's ParamSchema, and pydantic's field schemas). */
export interface Fragment {
  type?: string | null;
  enum?: readonly unknown[] | null;
  anyOf?: readonly Fragment[] | null;
  items?: Fragment | null;
  minimum?: number | null;
  maximum?: number | null;
  exclusiveMinimum?: number | null;
  exclusiveMaximum?: number | null;
  default?: unknown;
  description?: string | null;
  /** A nested section (e.g. evaluation.harness): not a widget of its own. */
  $ref?: string | null;
}

export interface NumberRule {
  integer: boolean;
  /** the inclusive bounds an <input type="number"> can carry (an exclusive integer bound is moved by one) */
  min?: number;
  max?: number;
}

export type Widget =
  | { kind: "checkbox" }
  | ({ kind: "number"; nullable: boolean } & NumberRule)
  /** a number, or one of a few words ("learned") */
  | { kind: "number-or-choice"; number: NumberRule; choices: readonly unknown[]; nullable: boolean }
  | { kind: "select"; options: readonly unknown[]; nullable: boolean }
  | { kind: "text"; nullable: boolean }
  /** any other shape (lists, objects, unions of those): the value typed as JSON */
  | { kind: "json"; shape: string };

const isNull = (f: Fragment) => f.type === "null" && !f.enum;
const isNumeric = (f: Fragment) => (f.type === "integer" || f.type === "number") && !f.enum;

function numberRule(f: Fragment): NumberRule {
  const integer = f.type === "integer";
  const step = integer ? 1 : 0;
  const low = [f.minimum, f.exclusiveMinimum == null ? null : f.exclusiveMinimum + step].filter((v): v is number => v != null);
  const high = [f.maximum, f.exclusiveMaximum == null ? null : f.exclusiveMaximum - step].filter((v): v is number => v != null);
  return {
    integer,
    ...(low.length ? { min: Math.max(...low) } : {}),
    ...(high.length ? { max: Math.min(...high) } : {}),
  };
}

const numberWords = (n: number) => (Math.abs(n) >= 1e4 || (n !== 0 && Math.abs(n) < 1e-3) ? n.toExponential() : String(n));

/**
 * What is wrong with a number typed into a field of schema `schema`, in the API's words ("must be
 * greater than 0"), or null: the bounds and integer rule of the schema's numeric member, so a
 * value is flagged beside its field as it is typed instead of after submitting.
 */
export function numberProblem(schema: Fragment, value: number): string | null {
  if (Number.isNaN(value)) return "must be a number";
  const members = schema.anyOf?.length ? schema.anyOf : [schema];
  const f = members.find(isNumeric);
  if (!f) return null;
  if (f.type === "integer" && !Number.isInteger(value)) return "must be a whole number";
  if (f.minimum != null && value < f.minimum) return `must be at least ${numberWords(f.minimum)}`;
  if (f.exclusiveMinimum != null && value <= f.exclusiveMinimum) return `must be greater than ${numberWords(f.exclusiveMinimum)}`;
  if (f.maximum != null && value > f.maximum) return `must be at most ${numberWords(f.maximum)}`;
  if (f.exclusiveMaximum != null && value >= f.exclusiveMaximum) return `must be less than ${numberWords(f.exclusiveMaximum)}`;
  return null;
}

/** The shape of a JSON field in words (shown instead of any type notation). */
function shapeWords(f: Fragment): string {
  if (f.type === "array") return "a JSON list";
  if (f.type === "object") return "a JSON object";
  return "a JSON value";
}

export function widgetFor(schema: Fragment): Widget {
  const members = schema.anyOf?.length ? schema.anyOf : [schema];
  const nullable = members.some(isNull);
  const rest = members.filter((m) => !isNull(m));
  if (rest.length === 1) {
    const m = rest[0] as Fragment;
    if (m.enum?.length) return { kind: "select", options: m.enum, nullable };
    if (m.type === "boolean") return nullable ? { kind: "select", options: [true, false], nullable } : { kind: "checkbox" };
    if (isNumeric(m)) return { kind: "number", nullable, ...numberRule(m) };
    if (m.type === "string") return { kind: "text", nullable };
    return { kind: "json", shape: shapeWords(m) };
  }
  const numbers = rest.filter(isNumeric);
  const enums = rest.filter((m) => m.enum?.length);
  const booleans = rest.filter((m) => m.type === "boolean" && !m.enum);
  const choices = enums.flatMap((m) => m.enum ?? []);
  if (rest.length && numbers.length === 0 && enums.length + booleans.length === rest.length) {
    return { kind: "select", options: [...(booleans.length ? [true, false] : []), ...choices], nullable };
  }
  if (numbers.length === 1 && enums.length === rest.length - 1 && choices.length) {
    return { kind: "number-or-choice", number: numberRule(numbers[0] as Fragment), choices, nullable };
  }
  return { kind: "json", shape: "a JSON value" };
}

/** The value a widget holds for `value`: JSON fields hold the text typed, the others the value. */
export function widgetValue(widget: Widget, value: unknown): unknown {
  if (widget.kind !== "json") return value;
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Text typed in a JSON field: the JSON value when it parses, else the text as a string. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** How a select shows an option: the word itself, "on"/"off" for a flag, "not set" for null. */
export function optionLabel(option: unknown): string {
  if (option === null) return "not set";
  if (option === true) return "on";
  if (option === false) return "off";
  return typeof option === "string" ? option : JSON.stringify(option);
}
