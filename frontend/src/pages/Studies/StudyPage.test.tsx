import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { StudyCellPublic, StudyPlotPublic, StudyPublic } from "../../client";
import { restJob } from "../../test/fixtures";
import { callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import StudyPage from "./StudyPage";

function cell(index: number, r: string, seed: string, status: StudyCellPublic["status"], acc: number | null): StudyCellPublic {
  return {
    index,
    labels: { rank: r, seed },
    values: { rank: Number(r), seed: Number(seed) },
    config: restJob.config,
    state: "submitted",
    status,
    job_id: 40 + index,
    fraction: status === "running" ? 0.5 : 1,
    phase: status === "running" ? "training" : null,
    error: null,
    accuracy: acc === null ? {} : { svamp: acc / 100 },
    examples: acc === null ? {} : { svamp: 20 },
    scoring: "paper",
    trainable_parameters: 1000 * Number(r),
    total_parameters: 100000,
    peak_memory_bytes: 2 ** 20 * Number(r),
    wall_seconds: 30,
  };
}

const stat = (mean: number, std = 0, n = 1) => ({ mean, std, n });

const STUDY: StudyPublic = {
  id: 7,
  team_id: 1,
  name: "rank sweep",
  description: null,
  preset: "lora-rank",
  finding: "Accuracy rises with the rank up to a point.",
  owner_id: 1,
  owner_email: "a@example.com",
  created_at: "2026-12-03T09:00:00Z",
  updated_at: "2026-12-03T09:10:00Z",
  status: "active",
  state: "running",
  axes: ["rank", "seed"],
  seed_axis: "seed",
  max_active_cells: 2,
  spec: { name: "rank sweep", description: null, base: {}, axes: [] },
  cells: [cell(0, "4", "1", "succeeded", 40), cell(1, "4", "2", "succeeded", 50), cell(2, "8", "1", "running", null)],
  progress: { total: 3, succeeded: 2, reused: 0, running: 1, queued: 0, pending: 0, failed: 0, cancelled: 0, fraction: 2 / 3 },
  results: {
    axes: ["rank"],
    benchmarks: ["svamp"],
    seed_axis: "seed",
    scoring: ["paper"],
    best: { svamp: [0], average: [0] },
    rows: [
      {
        labels: { rank: "4" },
        cells: [0, 1],
        runs: 2,
        accuracy: { svamp: stat(45, 7.07, 2) },
        average: stat(45, 7.07, 2),
        examples: { svamp: 20 },
        trainable_parameters: 4000,
        trainable_percent: 4,
        peak_memory_bytes: stat(4 * 2 ** 20),
        wall_seconds: stat(30),
      },
    ],
  },
};

const PLOT: StudyPlotPublic = {
  axes: ["rank", "seed"],
  benchmarks: ["svamp"],
  seed_axis: "seed",
  data: STUDY.cells.map((c) => ({
    index: c.index,
    job_id: c.job_id,
    labels: c.labels,
    values: c.values,
    status: c.status,
    accuracy: Object.fromEntries(Object.entries(c.accuracy).map(([b, a]) => [b, 100 * a])),
    average: c.accuracy.svamp === undefined ? null : 100 * c.accuracy.svamp,
    curves: { svamp: [{ step: 0, accuracy: 5 }, { step: 10, accuracy: 100 * (c.accuracy.svamp ?? 0.1) }] },
    trainable_parameters: c.trainable_parameters,
    peak_memory_bytes: c.peak_memory_bytes,
    wall_seconds: c.wall_seconds,
    pareto: { trainable_parameters: c.index === 1, peak_memory_bytes: c.index === 1, wall_seconds: c.index === 1 },
  })),
};

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  return renderWithProviders(
    <Routes>
      <Route path="/studies/:studyId" element={<StudyPage />} />
    </Routes>,
    { route: "/studies/7" },
  );
}

describe("StudyPage", () => {
  it("shows progress, the paper's finding, the table with the best marked, plots and exports", async () => {
    stubApiFetch({ "GET /api/v1/studies/7": { body: STUDY }, "GET /api/v1/studies/7/plot": { body: PLOT } });
    renderPage();
    expect(await screen.findByText("rank sweep")).toBeTruthy();
    expect(screen.getByTestId("study-progress").textContent).toContain("2 succeeded · 1 running — of 3 cells");
    expect(screen.getByText(/Accuracy rises with the rank/)).toBeTruthy();
    const results = screen.getByRole("region", { name: "Results" });
    const best = within(results).getAllByLabelText("best in column");
    expect(best).toHaveLength(2); // svamp and the average
    expect(within(results).getAllByText("45.0 ± 7.1")).toHaveLength(2);
    expect(within(results).getByText("n=20")).toBeTruthy();
    expect(within(results).getByTestId("scoring-rule").textContent).toBe("paper rule");
    const links = within(results).getAllByRole("link").map((a) => a.getAttribute("href"));
    expect(links).toEqual(["/api/v1/studies/7/results?format=csv", "/api/v1/studies/7/results?format=md", "/api/v1/studies/7/results?format=tex"]);
    await screen.findByRole("figure", { name: "Accuracy against trainable parameters" });
    expect(screen.getByRole("figure", { name: "Accuracy curves of the cells" })).toBeTruthy();
    const cells = screen.getByRole("region", { name: "Cells" });
    expect(within(cells).getByRole("link", { name: "#42" }).getAttribute("href")).toBe("/jobs/42");
  });

  it("cancels only after confirmation", async () => {
    const fetchMock = stubApiFetch({
      "GET /api/v1/studies/7": { body: STUDY },
      "GET /api/v1/studies/7/plot": { body: PLOT },
      "POST /api/v1/studies/7/cancel": { body: { ...STUDY, status: "cancelled", state: "cancelled" } },
    });
    renderPage();
    fireEvent.click(await screen.findByRole("button", { name: "Cancel" }));
    expect(callsOf(fetchMock)).not.toContain("POST /api/v1/studies/7/cancel");
    fireEvent.click(screen.getByRole("button", { name: "Cancel study" }));
    await waitFor(() => expect(callsOf(fetchMock)).toContain("POST /api/v1/studies/7/cancel"));
  });

  it("before any cell has finished: one note for the plots, no scoring rule to name", async () => {
    const fresh: StudyPublic = {
      ...STUDY,
      cells: STUDY.cells.map((c) => ({ ...c, status: "queued", accuracy: {}, examples: {} })),
      results: { ...STUDY.results, benchmarks: [], scoring: [], best: {}, rows: STUDY.results.rows.map((r) => ({ ...r, accuracy: {}, average: null })) },
    };
    const plot: StudyPlotPublic = { ...PLOT, benchmarks: [], data: PLOT.data.map((p) => ({ ...p, accuracy: {}, average: null, curves: {} })) };
    stubApiFetch({ "GET /api/v1/studies/7": { body: fresh }, "GET /api/v1/studies/7/plot": { body: plot } });
    renderPage();
    expect(await screen.findByText(/No cell has finished yet: the plots appear as cells end/)).toBeTruthy();
    expect(screen.queryByRole("figure")).toBeNull();
    const results = screen.getByRole("region", { name: "Results" });
    expect(within(results).queryByText(/Scored with/)).toBeNull();
    expect(within(results).getByText(/best in its column/)).toBeTruthy();
  });
});
