import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { JobAccuracy, JobMetrics, JobPublic } from "../../client";
import AccuracyCurves from "./AccuracyCurves";
import { CompareAccuracyCurves, CompareLossCurves } from "./CompareCurves";
import { LossCurves } from "./LossCurves";
import TokenHistogram from "./TokenHistogram";
import { mergeByStep } from "./series";

const accuracy: JobAccuracy = {
  benchmarks: {
    svamp: [
      { step: 2, accuracy: 0.25, correct: 1, total: 4 },
      { step: 4, accuracy: 0.5, correct: 2, total: 4 },
    ],
    gsm8k: [
      { step: 2, accuracy: 0, correct: 0, total: 4 },
      { step: 4, accuracy: 0.25, correct: 1, total: 4 },
      { step: 6, accuracy: 0.75, correct: 3, total: 4 },
    ],
  },
};

const metrics: JobMetrics = {
  train: [1, 2, 3, 4].map((step) => ({ step, epoch: step / 4, loss: 3 - step * 0.3, learning_rate: 3e-4, tokens_per_second: 100 })),
  validation: [{ step: 4, epoch: 1, loss: 2.1, learning_rate: null, tokens_per_second: null }],
};

function job(id: number, method: string): JobPublic {
  return { id, method, name: `run-${id}`, config: {}, status: "succeeded" } as unknown as JobPublic;
}

const lines = (container: HTMLElement) => container.querySelectorAll(".recharts-line");
const curves = (container: HTMLElement) => container.querySelectorAll("path.recharts-curve");

/** Recharts draws its series once its store has settled, a tick after mounting. */
async function expectCount(found: () => NodeListOf<Element>, n: number) {
  await waitFor(() => expect(found().length).toBeGreaterThan(0));
  expect(found()).toHaveLength(n);
}

describe("charts", () => {
  it("AccuracyCurves draws one line per benchmark", async () => {
    const { container } = render(<AccuracyCurves accuracy={accuracy} />);
    await expectCount(() => lines(container), 2);
    await expectCount(() => curves(container), 2);
    expect(container.querySelector('path[name="gsm8k"]')?.getAttribute("d")).toMatch(/^M/);
  });

  it("AccuracyCurves says so when nothing was evaluated", async () => {
    render(<AccuracyCurves accuracy={{ benchmarks: {} }} />);
    expect(screen.getByText("No evaluation yet.")).toBeInTheDocument();
  });

  it("LossCurves draws train and validation loss", async () => {
    const { container } = render(<LossCurves metrics={metrics} />);
    await expectCount(() => lines(container), 2);
  });

  it("CompareAccuracyCurves overlays one line per job on a benchmark", async () => {
    const runs = [
      { job: job(1, "series"), accuracy },
      { job: job(2, "lora"), accuracy: { benchmarks: { svamp: [{ step: 2, accuracy: 0.5, correct: 2, total: 4 }] } } },
      { job: job(3, "prefix"), accuracy: { benchmarks: {} } },
    ];
    const svamp = render(<CompareAccuracyCurves runs={runs} benchmark="svamp" />);
    await expectCount(() => lines(svamp.container), 2);
    svamp.unmount();
    const gsm8k = render(<CompareAccuracyCurves runs={runs} benchmark="gsm8k" />);
    await expectCount(() => lines(gsm8k.container), 1);
  });

  it("CompareLossCurves overlays the jobs' training loss", async () => {
    const { container } = render(<CompareLossCurves runs={[{ job: job(1, "series"), metrics }, { job: job(2, "lora"), metrics }]} />);
    await expectCount(() => lines(container), 2);
  });

  it("TokenHistogram draws the bins from the first filled one", async () => {
    const { container } = render(<TokenHistogram histogram={{ bin_width: 10, counts: [0, 0, 3, 5, 0, 1] }} tokenizer="bytes" />);
    // bins 20–29, 30–39, 40–49 (empty: no bar) and 50–59
    await expectCount(() => container.querySelectorAll(".recharts-bar-rectangle"), 3);
    const ticks = [...container.querySelectorAll(".recharts-xAxis-tick-labels text")].map((t) => t.textContent);
    expect(ticks[0]).toBe("20–29");
    expect(screen.getByText(/bins of 10, counted with bytes/)).toBeInTheDocument();
  });

  it("mergeByStep puts several series on one step axis", async () => {
    expect(mergeByStep({ a: [{ step: 2, value: 1 }], b: [{ step: 1, value: 3 }, { step: 2, value: 4 }] })).toEqual([
      { step: 1, b: 3 },
      { step: 2, a: 1, b: 4 },
    ]);
  });
});
