import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import type { MethodParamPublic, MethodPublic } from "../../client";
import { methods } from "../../test/fixtures";
import MethodParamsFields from "./MethodParamsFields";
import SchemaField from "./SchemaField";
import { defaultParams, paramsForConfig } from "./jobDraft";
import { widgetFor } from "./schemaWidgets";
import type { Fragment } from "./schemaWidgets";

// Fragments in the catalogue's words (the API's MethodParamPublic.schema).
const scaling: Fragment = {
  anyOf: [{ type: "number" }, { type: "string", enum: ["learned"] }],
  default: 1.0,
  description: "s in x + s·up(f(down(x))): a number, or 'learned' for a trainable scalar starting at 1",
};
const initLora: Fragment = {
  anyOf: [{ type: "boolean" }, { type: "string", enum: ["gaussian", "pissa"] }],
  default: true,
  description: "How to initialize the weights of the adapter layers.",
};
const rank: Fragment = { type: "integer", minimum: 1, default: 32, description: "rank of the low-rank update" };
const dropout: Fragment = { type: "number", minimum: 0, exclusiveMaximum: 1, default: 0.05, description: "dropout" };
const nonLinearity: Fragment = { type: "string", enum: ["tanh", "relu"], default: "tanh", description: "activation" };
const hidden: Fragment = { anyOf: [{ type: "integer", minimum: 1 }, { type: "null" }], default: null, description: "width" };
const targets: Fragment = { anyOf: [{ type: "array", items: { type: "string" } }, { type: "string" }, { type: "null" }], default: null, description: "modules" };

describe("widgetFor", () => {
  it("picks the widget from the fragment", () => {
    expect(widgetFor({ type: "boolean", default: false })).toEqual({ kind: "checkbox" });
    expect(widgetFor(rank)).toEqual({ kind: "number", nullable: false, integer: true, min: 1 });
    // an exclusive bound of a real number cannot be an input's min/max: the API judges 1 itself
    expect(widgetFor(dropout)).toEqual({ kind: "number", nullable: false, integer: false, min: 0, max: 1 });
    expect(widgetFor({ type: "integer", exclusiveMinimum: 0 })).toMatchObject({ min: 1 });
    expect(widgetFor(nonLinearity)).toEqual({ kind: "select", options: ["tanh", "relu"], nullable: false });
    expect(widgetFor(hidden)).toEqual({ kind: "number", nullable: true, integer: true, min: 1 });
    expect(widgetFor(scaling)).toEqual({ kind: "number-or-choice", number: { integer: false }, choices: ["learned"], nullable: false });
    expect(widgetFor(initLora)).toEqual({ kind: "select", options: [true, false, "gaussian", "pissa"], nullable: false });
    expect(widgetFor({ type: "string", default: "x" })).toEqual({ kind: "text", nullable: false });
    expect(widgetFor(targets)).toEqual({ kind: "json", shape: "a JSON value" });
    expect(widgetFor({ type: "object", default: {} })).toEqual({ kind: "json", shape: "a JSON object" });
    expect(widgetFor({ default: null, description: "anything" })).toEqual({ kind: "json", shape: "a JSON value" });
  });
});

function Field({ schema, initial, onChange }: { schema: Fragment; initial: unknown; onChange: (v: unknown) => void }) {
  const [value, setValue] = useState(initial);
  return (
    <SchemaField
      label="p"
      name="params.p"
      schema={schema}
      value={value}
      onChange={(v) => {
        setValue(v);
        onChange(v);
      }}
    />
  );
}

function input(name: string): HTMLInputElement {
  const el = document.querySelector(`[name="${name}"]`);
  if (!el) throw new Error(`no field ${name}`);
  return el as HTMLInputElement;
}

describe("SchemaField", () => {
  it("a number carries the schema's bounds and step, and the description as help", () => {
    render(<Field schema={rank} initial={32} onChange={vi.fn()} />);
    const el = input("params.p");
    expect(el.type).toBe("number");
    expect(el.min).toBe("1");
    expect(el.step).toBe("1");
    expect(screen.getByText("rank of the low-rank update")).toHaveClass("field-help");
  });

  it("an enum is a select of its values", () => {
    const onChange = vi.fn();
    render(<Field schema={nonLinearity} initial="tanh" onChange={onChange} />);
    const select = input("params.p") as unknown as HTMLSelectElement;
    expect([...select.options].map((o) => o.text)).toEqual(["tanh", "relu"]);
    fireEvent.change(select, { target: { value: JSON.stringify("relu") } });
    expect(onChange).toHaveBeenLastCalledWith("relu");
  });

  it("a boolean is a checkbox", () => {
    const onChange = vi.fn();
    render(<Field schema={{ type: "boolean", default: true, description: "on or off" }} initial={true} onChange={onChange} />);
    fireEvent.click(input("params.p"));
    expect(onChange).toHaveBeenLastCalledWith(false);
    expect(screen.getByText("on or off")).toBeInTheDocument();
  });

  it("a number or 'learned' is a choice plus a number input", () => {
    const onChange = vi.fn();
    render(<Field schema={scaling} initial={1} onChange={onChange} />);
    const kind = input("params.p.kind") as unknown as HTMLSelectElement;
    expect([...kind.options].map((o) => o.text)).toEqual(["number", "learned"]);
    fireEvent.change(input("params.p"), { target: { value: "2.5" } });
    expect(onChange).toHaveBeenLastCalledWith(2.5);
    fireEvent.change(kind, { target: { value: JSON.stringify("learned") } });
    expect(onChange).toHaveBeenLastCalledWith("learned");
    expect(document.querySelector('[name="params.p"]')).toBeNull();
    fireEvent.change(kind, { target: { value: "number" } });
    expect(onChange).toHaveBeenLastCalledWith(1);
    expect(input("params.p").value).toBe("1");
  });

  it("a flag or a named initialisation is one select; nullable values offer 'not set'", () => {
    const onChange = vi.fn();
    render(<Field schema={initLora} initial={true} onChange={onChange} />);
    const select = input("params.p") as unknown as HTMLSelectElement;
    expect([...select.options].map((o) => o.text)).toEqual(["on", "off", "gaussian", "pissa"]);
    fireEvent.change(select, { target: { value: "false" } });
    expect(onChange).toHaveBeenLastCalledWith(false);
  });

  it("a shape without a widget is a JSON field described in words, never in type notation", () => {
    render(<Field schema={targets} initial="" onChange={vi.fn()} />);
    expect(input("params.p").placeholder).toBe("not set");
    expect(screen.getByText(/modules \(a JSON value\)/)).toBeInTheDocument();
    expect(document.body.textContent).not.toMatch(/list\[|str \||Literal|None/);
  });
});

describe("the real catalogue (GET /methods)", () => {
  it("every method's params render from their schemas, with no Python type text anywhere", () => {
    const kinds = new Set<string>();
    for (const m of methods) {
      const { unmount } = render(<MethodParamsFields method={m} values={defaultParams(m)} onChange={vi.fn()} />);
      for (const p of m.params) {
        kinds.add(widgetFor(p.schema).kind);
        expect(document.querySelector(`[name="params.${p.name}"], [name="params.${p.name}.kind"]`), `${m.name}.${p.name}`).not.toBeNull();
      }
      expect(document.body.textContent, m.name).not.toMatch(/Literal\[|Optional\[|\b(str|int|float|bool) \||\| None\b|\b(list|dict)\[/);
      unmount();
    }
    // the catalogue exercises every widget
    expect([...kinds].sort()).toEqual(["checkbox", "json", "number", "number-or-choice", "select", "text"]);
  });

  it("'not set' goes as null only where the schema allows null; an emptied required number is not sent", () => {
    const params: MethodParamPublic[] = [
      { name: "width", schema: { anyOf: [{ type: "integer" }, { type: "null" }], default: 8, description: "" } },
      { name: "r", schema: { type: "integer", minimum: 1, default: 32, description: "" } },
    ];
    const m = { ...(methods[0] as MethodPublic), params };
    expect(paramsForConfig(m, { width: null, r: null })).toEqual({ width: null });
  });

  it("an untouched form sends each simple param at its catalogue default and leaves JSON ones out", () => {
    for (const m of methods) {
      const sent = paramsForConfig(m, defaultParams(m));
      for (const p of m.params) {
        const kind = widgetFor(p.schema).kind;
        if (kind === "json" || p.schema.default === null) expect(sent, `${m.name}.${p.name}`).not.toHaveProperty(p.name);
        else expect(sent[p.name], `${m.name}.${p.name}`).toEqual(p.schema.default);
      }
    }
  });
});
