/**
 * Responses captured from the real API by frontend/scripts/capture_fixtures.py (GET /models,
 * /methods, /benchmarks, /datasets, /jobs/defaults, and a job created through REST).
 */
import type {
  BaseModelsPublic,
  BenchmarksPublic,
  DatasetsPublic,
  JobDefaults,
  JobPublic,
  MethodPublic,
  MethodsPublic,
  StudyConfig,
  StudyPlanPublic,
  StudyPresetsPublic,
} from "../client";
import benchmarksJson from "./fixtures/benchmarks.json";
import datasetsJson from "./fixtures/datasets.json";
import defaultsJson from "./fixtures/defaults.json";
import jobJson from "./fixtures/job.json";
import methodsJson from "./fixtures/methods.json";
import modelsJson from "./fixtures/models.json";
import studyPlanJson from "./fixtures/study_plan.json";
import studyPresetBuiltJson from "./fixtures/study_preset_built.json";
import studyPresetsJson from "./fixtures/study_presets.json";

export const models = (modelsJson as unknown as BaseModelsPublic).data;
export const methods = (methodsJson as unknown as MethodsPublic).data;
export const benchmarks = (benchmarksJson as unknown as BenchmarksPublic).data;
export const datasets = (datasetsJson as unknown as DatasetsPublic).data;
/** GET /jobs/defaults: the config a new job starts from */
export const defaults = defaultsJson as unknown as JobDefaults;
/** a job created through REST with settings the New job form does not show */
export const restJob = jobJson as unknown as JobPublic;

/** GET /studies/presets */
export const studyPresets = studyPresetsJson as unknown as StudyPresetsPublic;
/** POST /studies/presets/lora-rank at a small scale on tiny:llama */
export const studyPresetBuilt = studyPresetBuiltJson as unknown as StudyConfig;
/** POST /studies/plan of that study: five cells with their estimates */
export const studyPlan = studyPlanJson as unknown as StudyPlanPublic;

export function method(name: string): MethodPublic {
  const m = methods.find((x) => x.name === name);
  if (!m) throw new Error(`no method ${name} in the fixture`);
  return m;
}

export function model(reference: string) {
  const m = models.find((x) => x.reference === reference);
  if (!m) throw new Error(`no model ${reference} in the fixture`);
  return m;
}
