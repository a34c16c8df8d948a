import { fireEvent, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Route, Routes } from "react-router";

import { callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import DeleteJobButton from "./DeleteJobButton";

afterEach(() => vi.unstubAllGlobals());

function renderOnJobPage() {
  renderWithProviders(
    <Routes>
      <Route path="/" element={<DeleteJobButton jobId={12} name="tiny-lora" />} />
      <Route path="/jobs" element={<p>the jobs list</p>} />
    </Routes>,
  );
}

describe("DeleteJobButton", () => {
  it("deletes the job after a confirm and goes to /jobs", async () => {
    const fetchMock = stubApiFetch({ "DELETE /api/v1/jobs/12": { body: { message: "job 12 deleted" } } });
    renderOnJobPage();
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, delete" }));
    expect(await screen.findByText("the jobs list")).toBeInTheDocument();
    expect(callsOf(fetchMock)).toEqual(["DELETE /api/v1/jobs/12"]);
  });

  it("stays and shows the detail when the API refuses", async () => {
    stubApiFetch({ "DELETE /api/v1/jobs/12": { status: 409, body: { detail: "job 12 is running: cancel it first" } } });
    renderOnJobPage();
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, delete" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("job 12 is running: cancel it first");
    expect(screen.queryByText("the jobs list")).toBeNull();
  });
});
