/**
 * The job config's training, evaluation and decoding fields as the New job form lays them out.
 * Each field's type, bounds, choices and description come from the OpenAPI document (the
 * generated schemas); this module only says where a field goes and what it is called. A field
 * the API adds later shows up under "Advanced settings" without a change here.
 */
import {
  DecodingConfig_OutputSchema,
  EvaluationConfig_OutputSchema,
  TrainingConfig_OutputSchema,
} from "../../client/schemas.gen";
import type { Fragment } from "./schemaWidgets";

export type FieldSchema = Fragment & { readonly title?: string };
export type Section = "training" | "evaluation" | "decoding";

const SCHEMAS: Record<Section, Record<string, FieldSchema>> = {
  training: TrainingConfig_OutputSchema.properties,
  evaluation: EvaluationConfig_OutputSchema.properties,
  decoding: DecodingConfig_OutputSchema.properties,
};

/** Fields in the main part of the form; the others of a section go under "Advanced settings". */
const MAIN: Record<Section, readonly string[]> = {
  training: ["epochs", "max_steps", "learning_rate", "batch_size", "micro_batch_size", "cutoff_len"],
  evaluation: ["every_n_steps", "max_examples"],
  decoding: [],
};

/** Not set in the dashboard: benchmarks have their own picker; benchmark files are the
 * installation's; lm-evaluation-harness tasks live in task folders on the worker (set them in
 * the config JSON, docs/integrations.md). */
const NOT_SHOWN: Record<Section, readonly string[]> = {
  training: [],
  evaluation: ["benchmarks", "decoding", "data_dir", "harness"],
  decoding: [],
};

/** The order of the advanced fields that exist today; any other comes after them. */
const ADVANCED_ORDER = [
  "val_set_size",
  "warmup_ratio",
  "warmup_steps",
  "lr_scheduler",
  "weight_decay",
  "seed",
  "precision",
  "quantization",
  "prompt_template",
  "logging_steps",
  "save_steps",
  "batch_size",
  "scoring",
  "preset",
  "strategy",
  "num_beams",
  "max_new_tokens",
];

const LABELS: Record<string, string> = {
  "training.max_steps": "Max steps",
  "training.learning_rate": "Learning rate",
  "training.batch_size": "Batch size",
  "training.micro_batch_size": "Micro batch size",
  "training.cutoff_len": "Cutoff length (tokens)",
  "training.val_set_size": "Validation rows (fraction or count)",
  "training.warmup_ratio": "Warm-up (fraction of the steps)",
  "training.warmup_steps": "Warm-up steps",
  "training.lr_scheduler": "Learning-rate schedule",
  "training.weight_decay": "Weight decay",
  "training.prompt_template": "Prompt template",
  "training.logging_steps": "Log every N steps",
  "training.save_steps": "Checkpoint every N steps",
  "training.train_on_inputs": "Train on inputs",
  "training.processes": "Processes (one GPU each)",
  "training.gradient_checkpointing": "Gradient checkpointing",
  "training.auto_micro_batch": "Raise the micro-batch to fill the GPU",
  "training.resume": "Resume from the last checkpoint",
  "evaluation.every_n_steps": "Evaluate every N steps",
  "evaluation.max_examples": "Max examples per benchmark",
  "evaluation.batch_size": "Generation batch size",
  "evaluation.scoring": "Scoring rule",
  "decoding.preset": "Decoding preset",
  "decoding.strategy": "Decoding",
  "decoding.num_beams": "Beams",
  "decoding.max_new_tokens": "Max new tokens",
};

export interface ConfigField {
  readonly section: Section;
  readonly key: string;
  readonly schema: FieldSchema;
  readonly label: string;
  /** the input's name; decoding fields keep their evaluation.* names */
  readonly name: string;
  readonly isFlag: boolean;
}

function field(section: Section, key: string): ConfigField {
  const schema = SCHEMAS[section][key] as FieldSchema;
  const prefix = section === "decoding" ? "evaluation" : section;
  return {
    section,
    key,
    schema,
    label: LABELS[`${section}.${key}`] ?? schema.title ?? key,
    name: `${prefix}.${key}`,
    isFlag: schema.type === "boolean",
  };
}

export function mainFields(section: Section): ConfigField[] {
  return MAIN[section].filter((k) => k in SCHEMAS[section]).map((k) => field(section, k));
}

export function advancedFields(section: Section): ConfigField[] {
  const rank = (k: string) => (ADVANCED_ORDER.includes(k) ? ADVANCED_ORDER.indexOf(k) : ADVANCED_ORDER.length);
  return Object.keys(SCHEMAS[section])
    .filter((k) => !MAIN[section].includes(k) && !NOT_SHOWN[section].includes(k))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((k) => field(section, k));
}
