import { describe, expect, it } from "vitest";

import { evalProgressText } from "./format";

describe("evalProgressText", () => {
  const progress = { benchmark: "svamp", step: 0, done: 12, total: 20 };

  it("names the benchmark and the examples done while a running job evaluates", () => {
    expect(evalProgressText({ status: "running", phase: "evaluating", eval_progress: progress })).toBe(
      "evaluating svamp 12/20",
    );
  });

  it("says nothing while training, after the job, or before any evaluation", () => {
    expect(evalProgressText({ status: "running", phase: "training", eval_progress: progress })).toBeNull();
    expect(evalProgressText({ status: "succeeded", phase: "evaluating", eval_progress: progress })).toBeNull();
    expect(evalProgressText({ status: "running", phase: "evaluating", eval_progress: null })).toBeNull();
  });
});
