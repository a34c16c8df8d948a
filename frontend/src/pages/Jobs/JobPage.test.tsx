import { screen, within } from "@testing-library/react";
import { Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { JobPublic } from "../../client";
import { restJob } from "../../test/fixtures";
import { renderWithProviders, stubApiFetch } from "../../test/render";
import JobPage from "./JobPage";

afterEach(() => vi.unstubAllGlobals());

// The page reads the job, then its parts: allow for a loaded machine running the whole suite.
const WAIT = { timeout: 8000 };

/** The paper's evaluation prompt keeps trailing spaces on some lines (here two after "Input:"). */
const PROMPTS = {
  template: "llm-adapters",
  training: "Below is an instruction.  \n\n                ### Instruction:\nAdd 2 and 3.\n\n### Response:\nThe answer is 5",
  evaluation: "Below is an instruction.  \n\n                ### Instruction:\nAdd 2 and 3.\n\n### Response:\n",
};

function renderJob(job: JobPublic, prompts: { status?: number; body: unknown }) {
  const base = `/api/v1/jobs/${job.id}`;
  stubApiFetch({
    [`GET ${base}`]: { body: job },
    [`GET ${base}/metrics`]: { body: { train: [], validation: [] } },
    [`GET ${base}/accuracy`]: {
      body: { benchmarks: { svamp: [{ step: 0, accuracy: 0.25, correct: 1, total: 4, scoring: job.scoring }] } },
    },
    [`GET ${base}/predictions`]: {
      body: {
        count: 1,
        data: [
          {
            benchmark: "svamp",
            index: 0,
            prompt: "q",
            output: "52.0/2",
            extracted: "2",
            gold: "26",
            correct: false,
            scoring: "paper",
            extracted_paper: "2",
            correct_paper: false,
            extracted_strict: "26",
            correct_strict: true,
          },
        ],
      },
    },
    [`GET ${base}/logs`]: { body: { data: [], count: 0 } },
    [`GET ${base}/prompts`]: prompts,
  });
  renderWithProviders(
    <Routes>
      <Route path="/jobs/:jobId" element={<JobPage />} />
    </Routes>,
    { route: `/jobs/${job.id}` },
  );
}

const finished: JobPublic = { ...restJob, status: "succeeded", results: { svamp: 0.75 }, best_accuracy: 0.75, scoring: "strict" };

describe("JobPage", () => {
  it("labels every score with its scoring rule and offers the results with it", async () => {
    renderJob(finished, { body: PROMPTS });
    const results = await screen.findByRole("table", { name: "Results" }, WAIT);
    const card = results.closest(".card") as HTMLElement;
    expect(within(card).getByTestId("scoring-rule")).toHaveTextContent("strict rule");
    expect(within(card).getByRole("link", { name: "CSV" })).toHaveAttribute("href", `/api/v1/jobs/${finished.id}/results?format=csv`);
    expect(within(screen.getByTestId("accuracy-chart")).getByTestId("scoring-rule")).toHaveTextContent("strict rule");
    expect(screen.getByText("75.0 % (strict rule)")).toBeInTheDocument();
    // predictions: the rule they were read with, and the other rule's reading in the row's tooltip
    const table = await screen.findByRole("table", { name: "Predictions" }, WAIT);
    expect(within(table).getByTitle("strict rule: extracted 26, correct")).toHaveTextContent("paper");
  });

  it("shows lm-evaluation-harness scores in the results table, marked as the harness's", async () => {
    const withHarness: JobPublic = { ...finished, results: { svamp: 0.75, "harness:boolq_local": 0.5 } };
    renderJob(withHarness, { body: PROMPTS });
    const results = await screen.findByRole("table", { name: "Results" }, WAIT);
    const row = within(results).getByText("boolq_local").closest("tr") as HTMLElement;
    expect(row).toHaveTextContent("50.0 %");
    expect(within(row).getByTestId("harness-result")).toHaveTextContent("lm-evaluation-harness");
    const svamp = within(results).getByText("svamp").closest("tr") as HTMLElement;
    expect(within(svamp).queryByTestId("harness-result")).toBeNull();
  });

  it("shows both rendered prompts verbatim, trailing spaces marked", async () => {
    renderJob(finished, { body: PROMPTS });
    const training = await screen.findByLabelText("Training prompt", {}, WAIT);
    const evaluation = screen.getByLabelText("Evaluation prompt");
    // textContent is the prompt itself: nothing trimmed, nothing added
    expect(training.textContent).toBe(PROMPTS.training);
    expect(evaluation.textContent).toBe(PROMPTS.evaluation);
    const marked = evaluation.querySelectorAll(".trailing-space");
    expect([...marked].map((m) => m.textContent)).toEqual(["  "]);
    expect(screen.getByTestId("job-prompts")).toHaveTextContent("llm-adapters template");
  });

  it("says when the prompts are not written yet", async () => {
    renderJob({ ...restJob, status: "queued" }, { status: 404, body: { detail: "no rendered prompts yet" } });
    expect(await screen.findByText(/rendered prompts appear when the job starts training/, {}, WAIT)).toBeInTheDocument();
  });
});
