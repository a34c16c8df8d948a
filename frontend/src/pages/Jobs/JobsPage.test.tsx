import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { JobStatusSchema } from "../../client/schemas.gen";
import methodsJson from "../../test/fixtures/methods.json";
import { restJob } from "../../test/fixtures";
import { renderWithProviders, stubApiFetch } from "../../test/render";
import JobsPage from "./JobsPage";

afterEach(() => vi.unstubAllGlobals());

describe("JobsPage", () => {
  it("filters by the API's job states (the JobStatus enum), and asks the API for that state", async () => {
    const asked: (string | null)[] = [];
    stubApiFetch({
      "GET /api/v1/methods": { body: methodsJson },
      "GET /api/v1/jobs": (request) => {
        asked.push(new URL(request.url).searchParams.get("status"));
        return { body: { data: [restJob], count: 1 } };
      },
    });
    renderWithProviders(<JobsPage />, { route: "/jobs" });
    await screen.findByText(restJob.name);
    const select = screen.getByRole("combobox", { name: "Status" });
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["any", ...JobStatusSchema.enum]);
    fireEvent.change(select, { target: { value: "cancelled" } });
    await waitFor(() => expect(asked).toContain("cancelled"));
  });
});
