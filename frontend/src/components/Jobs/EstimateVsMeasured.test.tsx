import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { JobEstimatePublic, JobPublic } from "../../client";
import { JOB_ESTIMATE } from "../../test/render";
import EstimateVsMeasured from "./EstimateVsMeasured";

const estimate = JOB_ESTIMATE.body as JobEstimatePublic;

function job(over: Partial<JobPublic>): JobPublic {
  return { estimate, step: 14, trainable_parameters: null, peak_memory_bytes: null, seconds_per_step: null, wall_seconds: null, ...over } as JobPublic;
}

describe("EstimateVsMeasured", () => {
  it("puts each measured figure beside its estimate with the difference", () => {
    render(
      <EstimateVsMeasured
        job={job({
          trainable_parameters: 6635520,
          peak_memory_bytes: Math.round(estimate.memory.total * 1.1),
          seconds_per_step: 1.1,
          wall_seconds: 61.6,
          dtype: "float32",
        })}
      />,
    );
    const rows = screen.getAllByRole("row").map((r) => r.textContent);
    expect(rows[1]).toBe("Trainable parameters6.64M6.64M+0.0 %");
    expect(rows[2]).toBe("Peak memory1.4 GiB1.5 GiB+10 %");
    expect(rows[3]).toBe("Time per step2.2 s1.1 s-50 %");
    expect(rows[4]).toBe("Training time31 s15 s-50 %"); // 14 steps of 1.1 s
    expect(rows[5]).toBe("Precisionbfloat16float32differs"); // estimated for the GPU, ran elsewhere
    expect(screen.getByTestId("estimate-vs-measured")).toHaveTextContent("NVIDIA H200 (cuda, bfloat16)");
  });

  it("waits for the run's figures, and shows nothing for a job made before estimates", () => {
    render(<EstimateVsMeasured job={job({})} />);
    expect(screen.getAllByRole("row")[2]?.textContent).toBe("Peak memory1.4 GiB——");
    const { container } = render(<EstimateVsMeasured job={job({ estimate: null })} />);
    expect(container).toBeEmptyDOMElement();
  });
});
