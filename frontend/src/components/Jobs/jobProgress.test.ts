import { describe, expect, it } from "vitest";

import type { JobPublic } from "../../client";
import { restJob } from "../../test/fixtures";
import { phaseProgress } from "./jobProgress";

const job = (over: Partial<JobPublic>): JobPublic => ({ ...restJob, ...over });

describe("phaseProgress", () => {
  it("says a queued job's place in the queue", () => {
    expect(phaseProgress(job({ status: "queued", queue_position: 1 }))).toMatchObject({ label: "queued · next to start", detail: "" });
    const third = phaseProgress(job({ status: "queued", queue_position: 3 }));
    expect(third.label).toBe("queued · 3rd in the queue");
    expect(third.detail).toBe("2 jobs ahead of it");
    expect(third.fraction).toBeNull();
  });

  it("shows training with its steps and its own ETA", () => {
    const p = phaseProgress(job({ status: "running", phase: "training", step: 15, total_steps: 60, eta_seconds: 150 }));
    expect(p).toEqual({ label: "training", fraction: 0.25, detail: "step 15 of 60", eta: "about 2 min 30 s left, evaluations included" });
  });

  it("never shows the training bar at 100 % (or its ETA) while evaluating", () => {
    const last = phaseProgress(job({ status: "running", phase: "evaluating", step: 60, total_steps: 60, eta_seconds: 0 }));
    expect(last.label).toBe("final evaluation");
    expect(last.fraction).toBeNull();
    expect(last.eta).toBeNull();
    expect(last.detail).toBe("svamp");
    const first = phaseProgress(job({ status: "running", phase: "evaluating", step: 0, total_steps: 60 }));
    expect(first.label).toBe("evaluating before training");
    const middle = phaseProgress(job({ status: "running", phase: "evaluating", step: 20, total_steps: 60 }));
    expect(middle).toMatchObject({ label: "evaluating at step 20", detail: "svamp · training at step 20 of 60" });
  });

  it("names the other phases and the end states", () => {
    expect(phaseProgress(job({ status: "running", phase: "loading_model" })).label).toBe("loading the model");
    expect(phaseProgress(job({ status: "succeeded", total_steps: 60, step: 60 })).fraction).toBe(1);
    expect(phaseProgress(job({ status: "cancelled", step: 3, total_steps: 6 }))).toMatchObject({ fraction: 0.5, detail: "stopped at step 3 of 6" });
  });
});
