import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { JobPublic } from "../../client";
import ConfigDiffTable from "./ConfigDiffTable";
import { diffConfigs, flattenConfig } from "./configDiff";

const series = {
  name: "a",
  base_model: "tiny:llama",
  adapter: { method: "series", placement: { modules: ["mlp"], layers: "all", position: "after" }, params: { bottleneck_size: 8 } },
  training: { epochs: 3, max_steps: 6 },
};
const lora = {
  name: "b",
  base_model: "tiny:llama",
  adapter: { method: "lora", placement: { modules: ["q", "v"], layers: "all", position: null }, params: { r: 4 } },
  training: { epochs: 3, max_steps: 6 },
};

const job = (id: number, config: Record<string, unknown>) => ({ id, name: String(config.name), config }) as unknown as JobPublic;

describe("config diff", () => {
  it("flattens nested configs to dotted paths, keeping lists whole", () => {
    expect(flattenConfig(series)).toEqual({
      name: "a",
      base_model: "tiny:llama",
      "adapter.method": "series",
      "adapter.placement.modules": ["mlp"],
      "adapter.placement.layers": "all",
      "adapter.placement.position": "after",
      "adapter.params.bottleneck_size": 8,
      "training.epochs": 3,
      "training.max_steps": 6,
    });
  });

  it("marks the paths whose values differ, including keys only one config has", () => {
    const rows = Object.fromEntries(diffConfigs([series, lora]).map((r) => [r.path, r.differs]));
    expect(rows["adapter.method"]).toBe(true);
    expect(rows["adapter.placement.modules"]).toBe(true);
    expect(rows["adapter.params.r"]).toBe(true);
    expect(rows["adapter.params.bottleneck_size"]).toBe(true);
    expect(rows["adapter.placement.layers"]).toBe(false);
    expect(rows["training.epochs"]).toBe(false);
  });

  it("orders the adapter's settings first", () => {
    const paths = diffConfigs([series, lora]).map((r) => r.path);
    expect(paths.indexOf("adapter.method")).toBeLessThan(paths.indexOf("training.epochs"));
  });

  it("highlights differing rows and can hide the rest", () => {
    render(<ConfigDiffTable jobs={[job(1, series), job(2, lora)]} />);
    const row = (path: string) => screen.getByText(path).closest("tr") as HTMLElement;
    expect(row("adapter.method")).toHaveClass("differs");
    expect(row("adapter.method")).toHaveTextContent("series");
    expect(row("adapter.method")).toHaveTextContent("lora");
    expect(row("training.epochs")).not.toHaveClass("differs");
    expect(screen.getByTestId("diff-count")).toHaveTextContent("6 of 10 settings differ");
    fireEvent.click(screen.getByRole("checkbox", { name: "Only what differs" }));
    expect(screen.queryByText("training.epochs")).toBeNull();
  });
});
