import { fireEvent, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import ExportPanel from "./ExportPanel";

afterEach(() => vi.unstubAllGlobals());

const MERGED_DONE = { format: "merged", status: "succeeded", phase: "saving", size_bytes: 2_500_000, seconds: 4.2 };

describe("ExportPanel", () => {
  it("offers the download of a finished export and shows one in progress", async () => {
    stubApiFetch({
      "GET /api/v1/jobs/7/exports": {
        body: { count: 2, data: [MERGED_DONE, { format: "gguf", status: "running", phase: "loading_model" }] },
      },
    });
    renderWithProviders(<ExportPanel jobId={7} />);
    expect(await screen.findByTestId("export-merged-status")).toHaveTextContent("succeeded · 2.5 MB in 4 s");
    expect(screen.getByRole("link", { name: "Download" })).toHaveAttribute("href", "/api/v1/jobs/7/exports/merged/download");
    expect(screen.getByTestId("export-gguf-status")).toHaveTextContent("running · loading model");
    expect(screen.getByRole("button", { name: "Exporting…" })).toBeDisabled();
  });

  it("starts an export and shows the API's reason when it refuses", async () => {
    const fetchMock = stubApiFetch({
      "GET /api/v1/jobs/7/exports": { body: { count: 0, data: [] } },
      "POST /api/v1/jobs/7/exports": {
        status: 422,
        body: { detail: "adapterp cannot be exported as a merged model: a bottleneck adapter ..." },
      },
    });
    renderWithProviders(<ExportPanel jobId={7} />);
    const panel = await screen.findByTestId("export-panel");
    const [mergedButton] = within(panel).getAllByRole("button", { name: "Export" });
    fireEvent.click(mergedButton);
    expect(await screen.findByRole("alert")).toHaveTextContent("adapterp cannot be exported as a merged model");
    expect(callsOf(fetchMock)).toContain("POST /api/v1/jobs/7/exports");
    expect(screen.queryByRole("link", { name: "Download" })).toBeNull();
  });
});
