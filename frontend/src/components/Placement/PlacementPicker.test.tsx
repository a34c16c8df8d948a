import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import type { MethodPublic } from "../../client";
import { method } from "../../test/fixtures";
import PlacementPicker from "./PlacementPicker";
import { clickLayer, defaultPlacement, pickerRules } from "./placementRules";
import type { Placement } from "./placementRules";

const SLOTS = ["before attention", "after attention", "beside attention", "before MLP", "after MLP", "beside MLP"];
const LINEAR = ["q", "k", "v", "o", "gate", "up", "down"];

function spot(name: string): HTMLElement {
  return screen.getByRole("button", { name });
}

function clickable(name: string): boolean {
  return spot(name).getAttribute("aria-disabled") === "false";
}

function pressed(name: string): boolean {
  return spot(name).getAttribute("aria-pressed") === "true";
}

/** The picker with its state, as the form holds it. */
function Stateful({ m, family, numLayers = 4, onChange }: { m: MethodPublic; family: string; numLayers?: number; onChange?: (p: Placement) => void }) {
  const [placement, setPlacement] = useState<Placement>(defaultPlacement(m));
  return (
    <PlacementPicker
      method={m}
      family={family}
      numLayers={numLayers}
      placement={placement}
      onChange={(p) => {
        setPlacement(p);
        onChange?.(p);
      }}
    />
  );
}

describe("PlacementPicker: what can be clicked", () => {
  it("series on llama: before/after each sublayer and the o/gate/up/down outputs, never beside or q/k/v", () => {
    render(<Stateful m={method("series")} family="llama" />);
    expect(SLOTS.filter(clickable)).toEqual(["before attention", "after attention", "before MLP", "after MLP"]);
    expect(LINEAR.filter(clickable)).toEqual(["o", "gate", "up", "down"]);
    expect(clickable("whole attention")).toBe(false);
    // the paper's best: after the MLP
    expect(pressed("after MLP")).toBe(true);
    expect(pressed("after attention")).toBe(false);
  });

  it("series on gpt2: the same places, but GPT-2 has no gate projection", () => {
    render(<Stateful m={method("series")} family="gpt2" />);
    expect(clickable("after MLP")).toBe(true);
    expect(clickable("gate")).toBe(false);
    expect(clickable("up")).toBe(true);
  });

  it("parallel adapters go beside a sublayer only", () => {
    render(<Stateful m={method("parallel")} family="llama" />);
    expect(SLOTS.filter(clickable)).toEqual(["beside attention", "beside MLP"]);
    expect(pressed("beside MLP")).toBe(true);
  });

  it("lora on llama: every linear layer and whole sublayers, no bottleneck slots", () => {
    render(<Stateful m={method("lora")} family="llama" />);
    expect(SLOTS.filter(clickable)).toEqual([]);
    expect(LINEAR.filter(clickable)).toEqual(LINEAR);
    expect(clickable("whole attention")).toBe(true);
    expect(clickable("whole MLP")).toBe(true);
    // the paper's best: Q, K, V, Up, Down
    expect(LINEAR.filter(pressed)).toEqual(["q", "k", "v", "up", "down"]);
  });

  it("lora on gpt2: no gate to click", () => {
    render(<Stateful m={method("lora")} family="gpt2" />);
    expect(LINEAR.filter(clickable)).toEqual(["q", "k", "v", "o", "up", "down"]);
  });

  it("prefix tuning takes no modules and says why; no layer strip", () => {
    render(<Stateful m={method("prefix")} family="llama" />);
    expect([...SLOTS, ...LINEAR, "whole attention", "whole MLP"].filter(clickable)).toEqual([]);
    expect(screen.getByTestId("placement-reason")).toHaveTextContent(/virtual tokens.*no modules/);
    expect(screen.queryByRole("group", { name: "Layers" })).toBeNull();
  });

  it("a method refused for a family shows the catalogue's reason", () => {
    render(<Stateful m={method("beft")} family="gpt2" />);
    expect(screen.getByTestId("placement-reason")).toHaveTextContent(/Conv1D/);
    expect(LINEAR.filter(clickable)).toEqual([]);
  });
});

describe("PlacementPicker: clicking", () => {
  it("toggles lora modules on and off", () => {
    const onChange = vi.fn();
    render(<Stateful m={method("lora")} family="llama" onChange={onChange} />);
    fireEvent.click(spot("o"));
    expect(pressed("o")).toBe(true);
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ modules: ["q", "k", "v", "up", "down", "o"], position: null }));
    fireEvent.click(spot("q"));
    expect(pressed("q")).toBe(false);
    expect(onChange.mock.lastCall?.[0].modules).toEqual(["k", "v", "up", "down", "o"]);
  });

  it("a series slot toggles at its position; another position starts over there", () => {
    const onChange = vi.fn();
    render(<Stateful m={method("series")} family="llama" onChange={onChange} />);
    fireEvent.click(spot("after MLP"));
    expect(pressed("after MLP")).toBe(false);
    // nothing chosen goes to the API as is: whether that is allowed is the API's answer
    expect(onChange.mock.lastCall?.[0]).toEqual({ modules: [], layers: "all", position: "after" });
    expect(screen.queryByRole("alert")).toBeNull();
    fireEvent.click(spot("after attention"));
    fireEvent.click(spot("after MLP"));
    expect(onChange.mock.lastCall?.[0]).toEqual({ modules: ["attn", "mlp"], layers: "all", position: "after" });
    fireEvent.click(spot("before MLP"));
    expect(onChange.mock.lastCall?.[0]).toEqual({ modules: ["mlp"], layers: "all", position: "before" });
    expect(pressed("after attention")).toBe(false);
  });

  it("a place the method does not offer does nothing", () => {
    const onChange = vi.fn();
    render(<Stateful m={method("series")} family="llama" onChange={onChange} />);
    fireEvent.click(spot("beside MLP"));
    fireEvent.click(spot("q"));
    expect(onChange).not.toHaveBeenCalled();
  });

  it("the layer strip has one cell per layer and narrows 'all' to a list", () => {
    const onChange = vi.fn();
    render(<Stateful m={method("lora")} family="llama" numLayers={4} onChange={onChange} />);
    const cells = screen.getAllByRole("button", { name: /^layer \d+$/ });
    expect(cells).toHaveLength(4);
    expect(cells.every((c) => c.getAttribute("aria-pressed") === "true")).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "layer 1" }));
    expect(onChange.mock.lastCall?.[0].layers).toEqual([0, 2, 3]);
    expect(screen.getByRole("button", { name: "layer 1" })).toHaveAttribute("aria-pressed", "false");
    fireEvent.click(screen.getByRole("button", { name: "layer 1" }));
    expect(onChange.mock.lastCall?.[0].layers).toBe("all");
    fireEvent.click(screen.getByRole("checkbox", { name: "All layers" }));
    expect(onChange.mock.lastCall?.[0].layers).toEqual([]);
  });
});

describe("PlacementPicker: raw module names", () => {
  it("adds the model's own module names when the method accepts them, and removes chips", () => {
    const onChange = vi.fn();
    render(<Stateful m={method("lora")} family="llama" onChange={onChange} />);
    const input = screen.getByPlaceholderText(/q_proj/);
    fireEvent.change(input, { target: { value: "lm_head, q" } });
    fireEvent.keyDown(input, { key: "Enter" });
    expect(onChange.mock.lastCall?.[0].modules).toEqual(["q", "k", "v", "up", "down", "lm_head"]);
    fireEvent.click(screen.getByRole("button", { name: "remove lm_head" }));
    expect(onChange.mock.lastCall?.[0].modules).toEqual(["q", "k", "v", "up", "down"]);
  });
});

describe("placement rules", () => {
  it("clickLayer keeps the list sorted and returns 'all' when full", () => {
    expect(clickLayer([2], 0, 3)).toEqual([0, 2]);
    expect(clickLayer([0, 2], 1, 3)).toBe("all");
    expect(clickLayer("all", 2, 3)).toEqual([0, 1]);
    // a range written through the API is not parsed here: a click starts a list there
    expect(clickLayer("0-1", 2, 3)).toEqual([2]);
  });

  it("the layer strip shows an API-written range as text and lights no cell", () => {
    const m = method("lora");
    render(<PlacementPicker method={m} family="llama" numLayers={4} placement={{ ...defaultPlacement(m), layers: "1-2" }} onChange={vi.fn()} />);
    expect(screen.getByText(/“1-2”, as set through the API/)).toBeInTheDocument();
    expect(screen.getAllByRole("button", { name: /^layer \d+$/ }).some((c) => c.getAttribute("aria-pressed") === "true")).toBe(false);
  });

  it("a new method is read from its catalogue entry alone", () => {
    const newcomer: MethodPublic = {
      ...method("lora"),
      name: "shiny",
      words_by_family: { llama: ["v", "down"] },
    };
    const rules = pickerRules(newcomer, "llama");
    expect([...rules.words]).toEqual(["v", "down"]);
  });
});
