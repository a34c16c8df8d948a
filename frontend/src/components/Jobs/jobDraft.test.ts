import { describe, expect, it } from "vitest";

import { method } from "../../test/fixtures";
import { cloneOverrides } from "./jobDraft";

const series = {
  name: "run-a (copy)",
  base_model: "tiny:llama",
  dataset_id: 7,
  adapter: { method: "series", placement: { modules: ["mlp"], layers: [1], position: "after" }, params: { bottleneck_size: 8, init: "random" } },
  training: { max_steps: 6, batch_size: 4, epochs: 3 },
  evaluation: { benchmarks: ["svamp"], decoding: { strategy: "greedy", max_new_tokens: 4 } },
};

describe("cloneOverrides", () => {
  it("an untouched form changes nothing", () => {
    expect(cloneOverrides(series, structuredClone(series), method("series"))).toEqual({});
  });

  it("sends only the fields the user changed, nested as the API merges them", () => {
    const edited = structuredClone(series);
    edited.training.batch_size = 8;
    edited.evaluation.decoding.max_new_tokens = 16;
    edited.evaluation.benchmarks = ["svamp", "gsm8k"];
    expect(cloneOverrides(series, edited, method("series"))).toEqual({
      training: { batch_size: 8 },
      evaluation: { benchmarks: ["svamp", "gsm8k"], decoding: { max_new_tokens: 16 } },
    });
  });

  it("a cleared optional field goes as null, so the copy does not keep the old value", () => {
    const { max_steps: _gone, ...training } = series.training;
    expect(cloneOverrides(series, { ...series, training }, method("series"))).toEqual({ training: { max_steps: null } });
  });

  it("a method parameter set back to its default is sent as that default", () => {
    const edited = structuredClone(series);
    delete (edited.adapter.params as Record<string, unknown>).init;
    expect(cloneOverrides(series, edited, method("series"))).toEqual({ adapter: { params: { init: "zero" } } });
  });

  it("a new method takes its whole adapter: the API starts a new method from its defaults", () => {
    const lora = { method: "lora", placement: { modules: ["q", "v"], layers: [1], position: null }, params: { r: 4, bottleneck_size: 8 } };
    const overrides = cloneOverrides(series, { ...series, adapter: lora }, method("lora"));
    // bottleneck_size is in both configs, but the API drops the old method's params: it must be sent
    expect(overrides).toEqual({ adapter: lora });
  });
});
