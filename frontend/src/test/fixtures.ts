/** Catalogue responses captured from the real API (GET /models, /methods, /benchmarks). */
import type { BaseModelsPublic, BenchmarksPublic, MethodPublic, MethodsPublic } from "../client";
import benchmarksJson from "./fixtures/benchmarks.json";
import methodsJson from "./fixtures/methods.json";
import modelsJson from "./fixtures/models.json";

export const models = (modelsJson as unknown as BaseModelsPublic).data;
export const methods = (methodsJson as unknown as MethodsPublic).data;
export const benchmarks = (benchmarksJson as unknown as BenchmarksPublic).data;

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
