import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "../../api";
import type { DatasetPublic, UploadError } from "../../client";
import { renderWithProviders } from "../../test/render";
import { uploadDataset } from "../../upload";
import UploadDatasetZone from "./UploadDatasetZone";
import UploadProblemsTable, { isUploadError } from "./UploadProblemsTable";

vi.mock("../../upload", () => ({ uploadDataset: vi.fn() }));
const upload = vi.mocked(uploadDataset);

const refusal: UploadError = {
  detail: "3 records are not usable; nothing was stored",
  problems: [
    { row: 7, field: "output", message: "missing" },
    { row: 2, field: "output", message: "empty" },
    { row: 2, field: "instruction", message: "empty" },
    { row: null, field: null, message: "the file has duplicate records" },
  ],
};

function rowsOf(table: HTMLElement): string[][] {
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((tr) => within(tr).getAllByRole("cell").map((td) => td.textContent ?? ""));
}

afterEach(() => upload.mockReset());

describe("UploadProblemsTable", () => {
  it("lists the problems by row, then field, under the service's detail", () => {
    renderWithProviders(<UploadProblemsTable error={refusal} />);
    expect(screen.getByText(refusal.detail)).toBeInTheDocument();
    expect(rowsOf(screen.getByRole("table", { name: "Upload problems" }))).toEqual([
      ["—", "—", "the file has duplicate records"],
      ["2", "instruction", "empty"],
      ["2", "output", "empty"],
      ["7", "output", "missing"],
    ]);
  });

  it("recognises the UploadError body and nothing else", () => {
    expect(isUploadError(refusal)).toBe(true);
    expect(isUploadError({ detail: "too large" })).toBe(false);
    expect(isUploadError("text")).toBe(false);
  });
});

describe("UploadDatasetZone", () => {
  const file = () => new File(['{"instruction": "a"}\n'], "bad.jsonl", { type: "application/json" });
  const input = () => document.querySelector('input[type="file"]') as HTMLInputElement;

  it("shows a 422 refusal as a table by row and field", async () => {
    upload.mockRejectedValue(new ApiError(422, refusal));
    renderWithProviders(<UploadDatasetZone teamId={3} />);
    fireEvent.change(input(), { target: { files: [file()] } });
    const table = await screen.findByRole("table", { name: "Upload problems" });
    expect(rowsOf(table)).toHaveLength(4);
    expect(upload).toHaveBeenCalledWith(expect.objectContaining({ team_id: 3 }), expect.any(Function));
  });

  it("shows a 413 without problems as its detail", async () => {
    upload.mockRejectedValue(new ApiError(413, { detail: "the file is over the 1 GiB limit", problems: [] }));
    renderWithProviders(<UploadDatasetZone teamId={3} />);
    fireEvent.change(input(), { target: { files: [file()] } });
    expect(await screen.findByText("the file is over the 1 GiB limit")).toBeInTheDocument();
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("accepts a dropped file and reports progress, then the stored row count", async () => {
    let report: (f: number) => void = () => {};
    let finish: (d: DatasetPublic) => void = () => {};
    upload.mockImplementation(
      (_fields, onProgress) =>
        new Promise((resolve) => {
          report = onProgress;
          finish = resolve;
        }),
    );
    renderWithProviders(<UploadDatasetZone teamId={1} />);
    fireEvent.drop(screen.getByTestId("dropzone"), { dataTransfer: { files: [file()] } });
    await waitFor(() => expect(upload).toHaveBeenCalled());
    report(0.5);
    await waitFor(() => expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50"));
    finish({ name: "bad.jsonl", row_count: 1234, dropped_rows: 2 } as DatasetPublic);
    expect(await screen.findByRole("status")).toHaveTextContent("Stored “bad.jsonl”: 1,234 rows, 2 duplicate rows dropped.");
  });
});
