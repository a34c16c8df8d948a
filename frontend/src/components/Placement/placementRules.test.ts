import { describe, expect, it } from "vitest";

import { clickModule, clickSlot, isModuleSelected, isSlotSelected, positionOf, positionText } from "./placementRules";
import type { PickerRules, Placement } from "./placementRules";

const rules: PickerRules = {
  words: new Set(["attn", "mlp", "gate", "up", "down"]),
  positions: ["before", "after", "beside"],
  takesModules: true,
  takesLayers: true,
  reason: null,
};

// The paper's AdapterH: before gate and up, after down (a per-module position from the API).
const paperAdapterH: Placement = {
  modules: null,
  layers: "all",
  position: { gate: "before", up: "before", down: "after" },
};

describe("per-module positions", () => {
  it("reads each word's own position and names the words of the map", () => {
    expect(positionOf(paperAdapterH, "gate")).toBe("before");
    expect(positionOf(paperAdapterH, "down")).toBe("after");
    expect(isModuleSelected(paperAdapterH, "up")).toBe(true);
    expect(isModuleSelected(paperAdapterH, "attn")).toBe(false);
    expect(positionText(paperAdapterH)).toBe("gate before, up before, down after");
  });

  it("a slot click sets only that word's position and keeps the others", () => {
    const next = clickSlot(paperAdapterH, "mlp", "after");
    expect(next.position).toEqual({ gate: "before", up: "before", down: "after", mlp: "after" });
    expect(isSlotSelected(next, "mlp", "after")).toBe(true);
    expect(isSlotSelected(next, "mlp", "before")).toBe(false);
    expect(clickSlot(next, "mlp", "after").position).toEqual(paperAdapterH.position);
  });

  it("a module click removes the word from the map; the last one leaves the method's default", () => {
    let p = clickModule(paperAdapterH, "gate", rules);
    expect(p.position).toEqual({ up: "before", down: "after" });
    p = clickModule(clickModule(p, "up", rules), "down", rules);
    expect(p).toEqual({ modules: null, layers: "all", position: null });
  });

  it("one shared position keeps today's behaviour", () => {
    const p: Placement = { modules: ["mlp"], layers: "all", position: "after" };
    expect(positionOf(p, "mlp")).toBe("after");
    expect(positionText(p)).toBe("after");
    expect(clickSlot(p, "attn", "before")).toEqual({ modules: ["attn"], layers: "all", position: "before" });
  });
});
