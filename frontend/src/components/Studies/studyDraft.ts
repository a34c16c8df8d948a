/**
 * The New study form's state and the study it posts (DESIGN.md "Studies"): a base job config
 * built from the scale fields, and axes (a dotted path with values, or labelled variants).
 */
import type { PathAxisInput, StudyCreate, VariantsAxisInput } from "../../client";

export interface PathAxisDraft {
  kind: "path";
  name: string;
  path: string;
  values: string; // comma-separated; each value read as JSON when it parses (3, true, ["q","v"])
}

export interface VariantDraft {
  label: string;
  set: string; // a partial job config as JSON
}

export interface VariantsAxisDraft {
  kind: "variants";
  name: string;
  variants: VariantDraft[];
}

export type AxisDraft = PathAxisDraft | VariantsAxisDraft;

export interface ScaleDraft {
  baseModel: string;
  datasetId: number | null;
  method: string;
  steps: number;
  trainExamples: number | null; // when given, sets the steps: ceil(examples / batch size)
  evalExamples: number;
  maxNewTokens: number | null; // greedy decoding capped at this many tokens; null = the method's default
  benchmarks: string; // comma-separated
  seeds: string; // comma-separated integers
}

/** Splits at commas outside brackets and quotes, so `["q","v"], ["q","k","v"]` is two values. */
export function splitValues(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === "[" || ch === "{")) depth += 1;
    if (!quoted && (ch === "]" || ch === "}")) depth -= 1;
    if (ch === "," && depth === 0 && !quoted) {
      out.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out.map((v) => v.trim()).filter((v) => v !== "");
}

/** "8" → 8, "true" → true, '["q","v"]' → ["q","v"], "adapterp" → "adapterp". */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const parseValues = (text: string): unknown[] => splitValues(text).map(parseValue);

/** Problems the form can name before asking the server (which checks every cell anyway). */
export function axisProblems(axes: readonly AxisDraft[]): string[] {
  const problems: string[] = [];
  axes.forEach((axis, i) => {
    const where = `axis ${i + 1}${axis.name ? ` (${axis.name})` : ""}`;
    if (axis.kind === "path") {
      if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$/.test(axis.path.trim())) {
        problems.push(`${where}: the path must be dotted, such as training.seed or adapter.params.r`);
      }
      if (!parseValues(axis.values).length) problems.push(`${where}: give at least one value`);
    } else {
      if (!axis.variants.length) problems.push(`${where}: add at least one variant`);
      axis.variants.forEach((v, j) => {
        if (!v.label.trim()) problems.push(`${where}, variant ${j + 1}: give it a label`);
        try {
          const parsed: unknown = JSON.parse(v.set || "{}");
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            problems.push(`${where}, variant ${j + 1}: "set" must be a JSON object`);
          }
        } catch (e) {
          problems.push(`${where}, variant ${j + 1}: "set" is not valid JSON (${(e as Error).message})`);
        }
      });
    }
  });
  return problems;
}

export function axisSize(axis: AxisDraft): number {
  return axis.kind === "path" ? parseValues(axis.values).length : axis.variants.length;
}

/** The number of cells: the product of the axes' sizes (seeds count as an axis). */
export function cellCount(axes: readonly AxisDraft[], seeds: number): number {
  return axes.reduce((n, a) => n * axisSize(a), 1) * Math.max(seeds, 1);
}

export function seedList(text: string): number[] {
  return splitValues(text)
    .map(Number)
    .filter((n) => Number.isInteger(n));
}

/** Examples per optimiser step of the form's studies (the paper's batch size). */
export const STUDY_BATCH_SIZE = 16;

/** The steps each cell trains: from the training examples when given, else the steps field. */
export function stepsOf(scale: ScaleDraft): number {
  return scale.trainExamples ? Math.max(1, Math.ceil(scale.trainExamples / STUDY_BATCH_SIZE)) : scale.steps;
}

/** The base job config every cell starts from, from the scale fields. */
export function baseConfig(scale: ScaleDraft): Record<string, unknown> {
  const benchmarks = splitValues(scale.benchmarks);
  const steps = stepsOf(scale);
  const evaluation: Record<string, unknown> = {
    benchmarks,
    max_examples: scale.evalExamples,
    every_n_steps: Math.max(1, Math.round(steps / 4)),
  };
  if (scale.maxNewTokens) {
    evaluation.decoding = { preset: "custom", strategy: "greedy", max_new_tokens: scale.maxNewTokens };
  }
  return {
    base_model: scale.baseModel,
    dataset_id: scale.datasetId,
    adapter: { method: scale.method },
    training: scale.trainExamples ? { max_steps: steps, batch_size: STUDY_BATCH_SIZE } : { max_steps: steps },
    evaluation,
  };
}

/** The study to post, or null while the form cannot make one. */
export function buildStudy(name: string, scale: ScaleDraft, axes: readonly AxisDraft[]): StudyCreate | null {
  if (!name.trim() || !scale.baseModel || scale.datasetId === null || axisProblems(axes).length) return null;
  const out: Array<PathAxisInput | VariantsAxisInput> = axes.map((axis) =>
    axis.kind === "path"
      ? { name: axis.name.trim() || null, path: axis.path.trim(), values: parseValues(axis.values) }
      : {
          name: axis.name.trim() || null,
          variants: axis.variants.map((v) => ({ label: v.label.trim(), set: JSON.parse(v.set || "{}") as Record<string, unknown> })),
        },
  );
  const seeds = seedList(scale.seeds);
  if (seeds.length > 1) out.push({ name: "seed", path: "training.seed", values: seeds });
  const base = baseConfig(scale);
  if (seeds.length === 1) (base.training as Record<string, unknown>).seed = seeds[0];
  return { name: name.trim(), base, axes: out };
}
