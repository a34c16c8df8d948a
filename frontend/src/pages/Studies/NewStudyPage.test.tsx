import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import datasetsJson from "../../test/fixtures/datasets.json";
import methodsJson from "../../test/fixtures/methods.json";
import modelsJson from "../../test/fixtures/models.json";
import { studyPlan, studyPresetBuilt, studyPresets } from "../../test/fixtures";
import { callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import NewStudyPage from "./NewStudyPage";

function fakeApi() {
  const bodies: Record<string, unknown[]> = { plan: [], create: [], build: [] };
  const fetchMock = stubApiFetch({
    "GET /api/v1/models": { body: modelsJson },
    "GET /api/v1/methods": { body: methodsJson },
    "GET /api/v1/datasets": { body: datasetsJson },
    "GET /api/v1/studies/presets": { body: studyPresets },
    "POST /api/v1/studies/presets/series-placement": async (r) => {
      bodies.build?.push(await r.json());
      return { body: studyPresetBuilt };
    },
    "POST /api/v1/studies/plan": async (r) => {
      const body = (await r.json()) as { axes: unknown[] };
      bodies.plan?.push(body);
      if (JSON.stringify(body).includes('"values":[0,8]')) {
        return { status: 422, body: { detail: "cell 0 (rank=0): adapter.params.r: must be at least 1" } };
      }
      return { body: studyPlan };
    },
    "POST /api/v1/studies": async (r) => {
      bodies.create?.push(await r.json());
      return { status: 201, body: { id: 5 } };
    },
  });
  return { fetchMock, bodies };
}

afterEach(() => vi.unstubAllGlobals());

describe("NewStudyPage", () => {
  it("builds a preset at the chosen scale, shows cells and estimate, then launches it", async () => {
    const { fetchMock, bodies } = fakeApi();
    renderWithProviders(<NewStudyPage />);
    // The first preset and its finding, from the API.
    const first = studyPresets.data[0]!;
    expect(await screen.findByText(new RegExp(first.finding.slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))).toBeTruthy();
    const summary = await screen.findByRole("region", { name: "Before launch" });
    await waitFor(() => expect(within(summary).getByTestId("plan-cells").textContent).toBe(String(studyPlan.count)));
    for (const cell of studyPlan.cells) expect(within(summary).getByText(cell.title)).toBeTruthy();
    const scale = bodies.build?.at(-1) as Record<string, unknown>;
    expect(scale).toMatchObject({ base_model: "demo:smollm2-135m", steps: 40, eval_examples: 20, benchmarks: ["svamp"] });
    fireEvent.click(screen.getByRole("button", { name: `Launch ${studyPlan.count} cells` }));
    await waitFor(() => expect(bodies.create?.length).toBe(1));
    expect(bodies.create?.[0]).toMatchObject({ name: studyPresetBuilt.name, preset: first.name, axes: studyPresetBuilt.axes });
    expect(callsOf(fetchMock)).toContain("POST /api/v1/studies");
    // Training examples instead of steps, and a cap on the answers' length, reach the preset's scale.
    fireEvent.change(document.querySelector('[name="train-examples"]') as HTMLInputElement, { target: { value: "64" } });
    fireEvent.change(document.querySelector('[name="max-new-tokens"]') as HTMLInputElement, { target: { value: "8" } });
    expect((document.querySelector('[name="steps"]') as HTMLInputElement).value).toBe("4");
    await waitFor(() => expect(bodies.build?.at(-1)).toMatchObject({ train_examples: 64, batch_size: 16, max_new_tokens: 8 }));
    expect(bodies.build?.at(-1)).not.toHaveProperty("steps");
  });

  it("takes axes of one's own and shows the server's error naming the cell", async () => {
    const { bodies } = fakeApi();
    renderWithProviders(<NewStudyPage />);
    fireEvent.click(await screen.findByRole("tab", { name: "My own axes" }));
    const values = document.querySelector('[name="axis-0-values"]') as HTMLInputElement;
    await waitFor(() => expect(bodies.plan?.length).toBeGreaterThan(0));
    expect(bodies.plan?.at(-1)).toMatchObject({ axes: [{ name: "rank", path: "adapter.params.r", values: [4, 8] }] });
    fireEvent.change(values, { target: { value: "0, 8" } });
    expect(await screen.findByText(/cell 0 \(rank=0\): adapter.params.r/)).toBeTruthy();
    expect((screen.getByRole("button", { name: /Launch/ }) as HTMLButtonElement).disabled).toBe(true);
    // A path that is not dotted is named before asking the server.
    const path = document.querySelector('[name="axis-0-path"]') as HTMLInputElement;
    fireEvent.change(path, { target: { value: "rank" } });
    expect(await screen.findByText(/axis 1 \(rank\): the path must be dotted/)).toBeTruthy();
  });
});
