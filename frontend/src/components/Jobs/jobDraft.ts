/**
 * The New job form's state, and its translation to and from the job config. The state is built
 * on the generated config types and starts from the API's defaults (GET /jobs/defaults) or a
 * stored job's config; everything method-specific comes from the catalogue entry (MethodPublic).
 */
import type {
  DecodingConfigOutput,
  EvaluationConfigOutput,
  JobConfig,
  JobConfigCreate,
  JobDefaults,
  MethodPresetPublic,
  MethodPublic,
  TrainingConfigOutput,
} from "../../client";
import { defaultPlacement, pickerRules, placementForConfig } from "../Placement/placementRules";
import type { Placement } from "../Placement/placementRules";
import { parseJsonText, widgetFor, widgetValue } from "./schemaWidgets";

/** A config section as the form holds it: a field may be empty (null) while the user types. */
export type Editable<T> = { [K in keyof T]: T[K] | null };

export type TrainingFields = Editable<TrainingConfigOutput>;
export type EvaluationFields = Editable<Omit<EvaluationConfigOutput, "decoding" | "benchmarks">> &
  Pick<EvaluationConfigOutput, "benchmarks">;
export type DecodingFields = Editable<DecodingConfigOutput>;

export type JobDraft = Pick<JobDefaults, "name" | "base_model" | "dataset_id"> & {
  method: string;
  placement: Placement;
  /** each catalogue param's widget value (see schemaWidgets.widgetValue) */
  params: Record<string, unknown>;
  training: TrainingFields;
  evaluation: EvaluationFields;
  decoding: DecodingFields;
};

export function defaultParams(method: MethodPublic): Record<string, unknown> {
  return Object.fromEntries(method.params.map((p) => [p.name, widgetValue(widgetFor(p.schema), p.schema.default)]));
}

/**
 * The adapter params to send: simple ones (numbers, flags, choices) always, so the stored
 * config shows the values the run used; JSON ones only when changed from the default. A
 * nullable value set to "not set" where the default is something else goes as null.
 */
export function paramsForConfig(method: MethodPublic, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of method.params) {
    const widget = widgetFor(p.schema);
    const v = values[p.name];
    if (widget.kind === "json") {
      const text = typeof v === "string" ? v : "";
      if (text.trim() === "" || text === widgetValue(widget, p.schema.default)) continue;
      out[p.name] = parseJsonText(text);
    } else if (v === null) {
      // "not set" chosen where the default is a value; an emptied required input is the browser's to refuse
      if ("nullable" in widget && widget.nullable && p.schema.default !== null) out[p.name] = null;
    } else if (v !== undefined && !(typeof v === "number" && Number.isNaN(v))) {
      out[p.name] = v;
    }
  }
  return out;
}

export function draftForMethod(draft: JobDraft, method: MethodPublic): JobDraft {
  return {
    ...draft,
    method: method.name,
    placement: defaultPlacement(method),
    params: defaultParams(method),
    training: { ...draft.training, learning_rate: method.default_learning_rate },
  };
}

/** The presets "as in the paper" the catalogue lists, each once, in catalogue order. */
export function presetsOf(methods: readonly MethodPublic[]): MethodPresetPublic[] {
  const seen = new Set<string>();
  return methods.flatMap((m) => m.presets ?? []).filter((p) => !seen.has(p.name) && Boolean(seen.add(p.name)));
}

/**
 * A draft with a preset laid over it: the preset's whole adapter (method, placement, params
 * over the method's defaults) and its training and evaluation settings; the run, the dataset
 * and the benchmarks stay the user's. Null when the catalogue lacks the preset's method.
 */
export function draftForPreset(draft: JobDraft, preset: MethodPresetPublic, methods: readonly MethodPublic[]): JobDraft | null {
  const method = methods.find((m) => m.name === preset.adapter.method);
  if (!method) return null;
  const params = defaultParams(method);
  for (const [k, v] of Object.entries(preset.adapter.params ?? {})) {
    const p = method.params.find((x) => x.name === k);
    params[k] = p ? widgetValue(widgetFor(p.schema), v) : v;
  }
  const { decoding, ...evaluation } = preset.evaluation as { decoding?: Record<string, unknown> } & Record<string, unknown>;
  return {
    ...draft,
    method: method.name,
    placement: structuredClone(preset.adapter.placement) as Placement,
    params,
    training: { ...draft.training, ...(preset.training as Partial<TrainingFields>) },
    evaluation: { ...draft.evaluation, ...(evaluation as Partial<EvaluationFields>), benchmarks: draft.evaluation.benchmarks },
    decoding: { ...draft.decoding, ...(decoding as Partial<DecodingFields>) },
  };
}

/** What a preset sets, in words, one line per part, for the user to read before editing. */
export function describePreset(preset: MethodPresetPublic): string[] {
  const show = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`)
      .join(", ");
  const { placement, params, method } = preset.adapter;
  const where = { modules: placement.modules ?? "default", position: placement.position ?? "default", layers: placement.layers };
  const { decoding, ...evaluation } = preset.evaluation as { decoding?: Record<string, unknown> } & Record<string, unknown>;
  return [
    `method ${method}`,
    `placement: ${show(where)}`,
    `params: ${show(params ?? {})}`,
    `training: ${show(preset.training)}`,
    `evaluation: ${show(evaluation)}${decoding ? `, decoding ${show(decoding)}` : ""}`,
  ];
}

function splitEvaluation(evaluation: EvaluationConfigOutput): { evaluation: EvaluationFields; decoding: DecodingFields } {
  const { decoding, ...rest } = evaluation;
  return { evaluation: { ...rest, benchmarks: [...rest.benchmarks] }, decoding: { ...decoding } };
}

/** A new job's draft: the API's defaults, with the method's own params and placement. */
export function newDraft(
  defaults: JobDefaults,
  method: MethodPublic | undefined,
  baseModel: string,
  datasetId: number | null,
): JobDraft {
  const draft: JobDraft = {
    name: "",
    base_model: baseModel,
    dataset_id: datasetId,
    method: "",
    placement: { ...defaults.adapter.placement },
    params: {},
    training: { ...defaults.training },
    ...splitEvaluation(defaults.evaluation),
  };
  return method ? draftForMethod(draft, method) : draft;
}

function dropNulls<T extends object>(o: T): Partial<{ [K in keyof T]: NonNullable<T[K]> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<{
    [K in keyof T]: NonNullable<T[K]>;
  }>;
}

/** The training section as the form sends it: empty fields left out (they take the API's defaults). */
export function trainingForConfig(training: TrainingFields): Partial<TrainingConfigOutput> {
  return dropNulls(training);
}

/** The job config the form sends (JobCreate.config); empty fields take the API's defaults. */
export function configFromDraft(draft: JobDraft, method: MethodPublic, family: string | undefined): JobConfigCreate {
  const rules = pickerRules(method, family);
  return {
    name: draft.name.trim() || `${draft.method}-${draft.base_model.split(/[:/]/).pop() ?? "model"}`,
    base_model: draft.base_model,
    dataset_id: draft.dataset_id as number,
    adapter: {
      method: draft.method,
      placement: placementForConfig(draft.placement, rules),
      params: paramsForConfig(method, draft.params),
    },
    training: trainingForConfig(draft.training),
    evaluation: {
      ...dropNulls(draft.evaluation),
      benchmarks: draft.evaluation.benchmarks,
      decoding: dropNulls(draft.decoding),
    },
  };
}

/** A stored job's config (complete, as JobPublic gives it) turned back into a draft. */
export function draftFromConfig(config: JobConfig, methods: readonly MethodPublic[]): JobDraft {
  const method = methods.find((m) => m.name === config.adapter.method);
  const params = method ? defaultParams(method) : {};
  for (const [k, v] of Object.entries(config.adapter.params)) {
    const p = method?.params.find((x) => x.name === k);
    params[k] = p ? widgetValue(widgetFor(p.schema), v) : v;
  }
  return {
    name: config.name ? `${config.name} (copy)` : "",
    base_model: config.base_model,
    dataset_id: config.dataset_id,
    method: config.adapter.method,
    // as stored: a shorthand position ("after_mlp") or a layer range is the API's to read
    placement: structuredClone(config.adapter.placement),
    params,
    training: { ...config.training },
    ...splitEvaluation(config.evaluation),
  };
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return Boolean(v) && typeof v === "object" && !Array.isArray(v);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What `after` changes in `before`, in the API's merge form: objects nest, a dropped key is null. */
function changes(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [b, a] = [before[key], after[key]];
    if (sameValue(b, a)) continue;
    if (isPlainObject(b) && isPlainObject(a)) {
      const inner = changes(b, a);
      if (Object.keys(inner).length) out[key] = inner;
    } else {
      out[key] = a === undefined ? null : a;
    }
  }
  return out;
}

/**
 * The overrides for POST /jobs/{id}/clone: only what the user changed in the form, so every
 * field of the stored config the form does not show (set through REST) is kept by the API.
 * `before` is the config the form would have sent untouched, `after` the one it sends now.
 * A new method gets its whole adapter (the API starts a new method from its defaults); a method
 * parameter set back to its default is sent as that default, not as null.
 */
export function cloneOverrides(before: object, after: object, method: MethodPublic): Record<string, unknown> {
  const overrides = changes(obj(before), obj(after));
  const [adapterBefore, adapterAfter] = [obj(obj(before).adapter), obj(obj(after).adapter)];
  if (adapterBefore.method !== adapterAfter.method) {
    overrides.adapter = adapterAfter;
  } else {
    const params = obj(obj(overrides.adapter).params);
    for (const p of method.params) {
      if (params[p.name] === null && p.schema.default !== null) params[p.name] = p.schema.default;
    }
  }
  return overrides;
}
