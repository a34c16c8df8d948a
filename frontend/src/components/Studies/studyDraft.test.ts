import { describe, expect, it } from "vitest";

import { axisProblems, buildStudy, cellCount, parseValues, splitValues } from "./studyDraft";
import type { AxisDraft, ScaleDraft } from "./studyDraft";

const SCALE: ScaleDraft = {
  baseModel: "tiny:llama",
  datasetId: 3,
  method: "lora",
  steps: 40,
  trainExamples: null,
  evalExamples: 20,
  maxNewTokens: null,
  benchmarks: "svamp, gsm8k",
  seeds: "1",
};

describe("study draft", () => {
  it("splits values at top-level commas and reads JSON where it parses", () => {
    expect(splitValues('["q","v"], ["q","k","v"]')).toEqual(['["q","v"]', '["q","k","v"]']);
    expect(parseValues('4, 8, true, adapterp, ["q","v"]')).toEqual([4, 8, true, "adapterp", ["q", "v"]]);
    expect(parseValues(" , ")).toEqual([]);
  });

  it("counts cells as the product of the axes and the seeds", () => {
    const axes: AxisDraft[] = [
      { kind: "path", name: "r", path: "adapter.params.r", values: "4, 8, 16" },
      { kind: "variants", name: "where", variants: [{ label: "a", set: "{}" }, { label: "b", set: "{}" }] },
    ];
    expect(cellCount(axes, 1)).toBe(6);
    expect(cellCount(axes, 3)).toBe(18);
  });

  it("names each problem by axis and variant", () => {
    const problems = axisProblems([
      { kind: "path", name: "r", path: "r", values: "" },
      { kind: "variants", name: "v", variants: [{ label: "", set: "{nope" }, { label: "x", set: "[1]" }] },
    ]);
    expect(problems).toEqual([
      "axis 1 (r): the path must be dotted, such as training.seed or adapter.params.r",
      "axis 1 (r): give at least one value",
      "axis 2 (v), variant 1: give it a label",
      expect.stringContaining('axis 2 (v), variant 1: "set" is not valid JSON'),
      'axis 2 (v), variant 2: "set" must be a JSON object',
    ]);
  });

  it("builds the study the API takes, several seeds as a seed axis", () => {
    const axes: AxisDraft[] = [
      { kind: "variants", name: "method", variants: [{ label: "LoRA", set: '{"adapter": {"method": "lora"}}' }] },
    ];
    const study = buildStudy("m", { ...SCALE, seeds: "1, 2" }, axes);
    expect(study).toEqual({
      name: "m",
      base: {
        base_model: "tiny:llama",
        dataset_id: 3,
        adapter: { method: "lora" },
        training: { max_steps: 40 },
        evaluation: { benchmarks: ["svamp", "gsm8k"], max_examples: 20, every_n_steps: 10 },
      },
      axes: [
        { name: "method", variants: [{ label: "LoRA", set: { adapter: { method: "lora" } } }] },
        { name: "seed", path: "training.seed", values: [1, 2] },
      ],
    });
    expect((buildStudy("m", SCALE, axes)?.base.training as Record<string, unknown>).seed).toBe(1);
    expect(buildStudy("m", { ...SCALE, datasetId: null }, axes)).toBeNull();
    expect(buildStudy("m", SCALE, [{ kind: "path", name: "", path: "x", values: "1" }])).toBeNull();
  });

  it("takes the steps from the training examples and caps the answers' length when asked", () => {
    const axes: AxisDraft[] = [{ kind: "path", name: "r", path: "adapter.params.r", values: "4" }];
    const base = buildStudy("m", { ...SCALE, trainExamples: 100, maxNewTokens: 8 }, axes)?.base;
    expect(base?.training).toEqual({ max_steps: 7, batch_size: 16, seed: 1 });
    expect(base?.evaluation).toMatchObject({
      every_n_steps: 2,
      decoding: { preset: "custom", strategy: "greedy", max_new_tokens: 8 },
    });
    expect((buildStudy("m", SCALE, axes)?.base.evaluation as Record<string, unknown>).decoding).toBeUndefined();
  });
});
