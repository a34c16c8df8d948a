import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import DeleteDatasetButton from "./DeleteDatasetButton";

afterEach(() => vi.unstubAllGlobals());

describe("DeleteDatasetButton", () => {
  it("asks first, then shows the 409 detail of a dataset a job uses", async () => {
    const detail = "dataset 7 is used by a job; delete those jobs first";
    const fetchMock = stubApiFetch({ "DELETE /api/v1/datasets/7": { status: 409, body: { detail } } });
    renderWithProviders(<DeleteDatasetButton datasetId={7} name="tiny-arithmetic" />);
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(screen.getByRole("group", { name: "Delete “tiny-arithmetic”?" })).toBeInTheDocument();
    expect(fetchMock).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Yes, delete" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(detail);
    await waitFor(() => expect(callsOf(fetchMock)).toEqual(["DELETE /api/v1/datasets/7"]));
  });
});
