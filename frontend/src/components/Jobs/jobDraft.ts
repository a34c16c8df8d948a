/**
 * The New job form's state, and its translation to and from the job config of DESIGN.md.
 * Everything method-specific comes from the catalogue entry (MethodPublic).
 */
import type { MethodParamPublic, MethodPublic } from "../../client";
import { defaultPlacement, pickerRules, placementForConfig, placementFromConfig } from "../Placement/placementRules";
import type { Placement } from "../Placement/placementRules";

export interface TrainingDraft {
  epochs: number | null;
  max_steps: number | null;
  learning_rate: number | null;
  batch_size: number | null;
  micro_batch_size: number | null;
  cutoff_len: number | null;
  val_set_size: number | null;
  warmup_steps: number | null;
  seed: number | null;
  train_on_inputs: boolean;
  precision: string;
  quantization: string;
  gradient_checkpointing: boolean;
  packing: boolean;
}

export interface EvaluationDraft {
  benchmarks: string[];
  every_n_steps: number | null;
  max_examples: number | null;
  strategy: string;
  num_beams: number | null;
  max_new_tokens: number | null;
}

export interface JobDraft {
  name: string;
  base_model: string;
  dataset_id: number | null;
  method: string;
  placement: Placement;
  /** typed values for simple params; the text typed for the others */
  params: Record<string, unknown>;
  training: TrainingDraft;
  evaluation: EvaluationDraft;
}

export const DEFAULT_TRAINING: TrainingDraft = {
  epochs: 3,
  max_steps: null,
  learning_rate: 3e-4,
  batch_size: 16,
  micro_batch_size: 4,
  cutoff_len: 256,
  val_set_size: 120,
  warmup_steps: 100,
  seed: 42,
  train_on_inputs: true,
  precision: "auto",
  quantization: "none",
  gradient_checkpointing: false,
  packing: false,
};

export const DEFAULT_EVALUATION: EvaluationDraft = {
  benchmarks: [],
  every_n_steps: null,
  max_examples: null,
  strategy: "greedy",
  num_beams: 4,
  max_new_tokens: 256,
};

export type ParamKind =
  | { kind: "bool" }
  | { kind: "int" }
  | { kind: "float" }
  | { kind: "select"; options: readonly unknown[] }
  | { kind: "text" };

/** How to render a catalogue parameter, read from its type string and choices. */
export function paramKind(p: MethodParamPublic): ParamKind {
  if (p.choices && p.choices.length) return { kind: "select", options: p.choices };
  const t = p.type.trim();
  if (t === "bool") return { kind: "bool" };
  if (t === "int") return { kind: "int" };
  if (t === "float") return { kind: "float" };
  const literal = t.match(/^Literal\[(.*)\]$/);
  if (literal?.[1]) {
    const options = literal[1].split(",").map((s) => s.trim().replace(/^['"]|['"]$/g, ""));
    return { kind: "select", options };
  }
  if (t === "str" && typeof p.default === "string") return { kind: "text" };
  return { kind: "text" };
}

function defaultFormValue(p: MethodParamPublic): unknown {
  const k = paramKind(p);
  if (k.kind === "text") {
    if (p.default === null || p.default === undefined) return "";
    return typeof p.default === "string" ? p.default : JSON.stringify(p.default);
  }
  return p.default;
}

export function defaultParams(method: MethodPublic): Record<string, unknown> {
  return Object.fromEntries(method.params.map((p) => [p.name, defaultFormValue(p)]));
}

/** Text typed for a complex parameter: JSON when it parses (numbers, lists, true), else a string. */
function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The adapter params to send: simple ones (numbers, flags, choices) always, so the stored
 * config shows the values the run used; free-text ones only when changed from the default.
 */
export function paramsForConfig(method: MethodPublic, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of method.params) {
    const v = values[p.name];
    const k = paramKind(p);
    if (k.kind === "text") {
      const text = typeof v === "string" ? v : "";
      if (text === defaultFormValue(p) || text.trim() === "") continue;
      out[p.name] = parseText(text);
    } else if (v !== null && v !== undefined && !(typeof v === "number" && Number.isNaN(v))) {
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

export function newDraft(method: MethodPublic | undefined, baseModel: string, datasetId: number | null): JobDraft {
  const draft: JobDraft = {
    name: "",
    base_model: baseModel,
    dataset_id: datasetId,
    method: "",
    placement: { modules: null, layers: "all", position: null },
    params: {},
    training: { ...DEFAULT_TRAINING },
    evaluation: { ...DEFAULT_EVALUATION, benchmarks: [] },
  };
  return method ? draftForMethod(draft, method) : draft;
}

function dropNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** The job config of DESIGN.md, in its dataset_id form. */
export function configFromDraft(draft: JobDraft, method: MethodPublic, family: string | undefined): Record<string, unknown> {
  const rules = pickerRules(method, family);
  const { strategy, num_beams, max_new_tokens, ...evaluation } = draft.evaluation;
  return {
    name: draft.name.trim() || `${draft.method}-${draft.base_model.split(/[:/]/).pop() ?? "model"}`,
    base_model: draft.base_model,
    dataset_id: draft.dataset_id,
    adapter: {
      method: draft.method,
      placement: placementForConfig(draft.placement, rules),
      params: paramsForConfig(method, draft.params),
    },
    training: dropNulls({ ...draft.training }),
    evaluation: {
      ...dropNulls({ ...evaluation }),
      benchmarks: draft.evaluation.benchmarks,
      decoding: dropNulls({ strategy, num_beams, max_new_tokens }),
    },
  };
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function numOrNull(v: unknown, fallback: number | null): number | null {
  return typeof v === "number" ? v : v === null ? null : fallback;
}

/** A stored job config turned back into a draft (clone-and-edit). */
export function draftFromConfig(config: Record<string, unknown>, methods: readonly MethodPublic[]): JobDraft {
  const adapter = obj(config.adapter);
  const methodName = String(adapter.method ?? "");
  const method = methods.find((m) => m.name === methodName);
  const training = obj(config.training);
  const evaluation = obj(config.evaluation);
  const decoding = obj(evaluation.decoding);
  const params = method ? defaultParams(method) : {};
  for (const [k, v] of Object.entries(obj(adapter.params))) {
    const p = method?.params.find((x) => x.name === k);
    params[k] = p && paramKind(p).kind === "text" && typeof v !== "string" ? JSON.stringify(v) : v;
  }
  const t: TrainingDraft = { ...DEFAULT_TRAINING };
  for (const key of Object.keys(t) as (keyof TrainingDraft)[]) {
    const v = training[key];
    if (v !== undefined) (t as unknown as Record<string, unknown>)[key] = v;
  }
  const fallbackPlacement = method ? defaultPlacement(method) : { modules: null, layers: "all" as const, position: null };
  const name = typeof config.name === "string" ? config.name : "";
  return {
    name: name ? `${name} (copy)` : "",
    base_model: String(config.base_model ?? ""),
    dataset_id: typeof config.dataset_id === "number" ? config.dataset_id : null,
    method: methodName,
    placement: placementFromConfig(adapter.placement, fallbackPlacement),
    params,
    training: t,
    evaluation: {
      benchmarks: Array.isArray(evaluation.benchmarks) ? evaluation.benchmarks.map(String) : [],
      every_n_steps: numOrNull(evaluation.every_n_steps, null),
      max_examples: numOrNull(evaluation.max_examples, null),
      strategy: typeof decoding.strategy === "string" ? decoding.strategy : "greedy",
      num_beams: numOrNull(decoding.num_beams, 4),
      max_new_tokens: numOrNull(decoding.max_new_tokens, 256),
    },
  };
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
export function cloneOverrides(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  method: MethodPublic,
): Record<string, unknown> {
  const overrides = changes(before, after);
  const [adapterBefore, adapterAfter] = [obj(before.adapter), obj(after.adapter)];
  if (adapterBefore.method !== adapterAfter.method) {
    overrides.adapter = adapterAfter;
  } else {
    const params = obj(obj(overrides.adapter).params);
    for (const p of method.params) {
      if (params[p.name] === null && p.default !== null) params[p.name] = p.default;
    }
  }
  return overrides;
}
