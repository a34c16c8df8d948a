import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { JobPublic } from "../../client";
import benchmarksJson from "../../test/fixtures/benchmarks.json";
import datasetsJson from "../../test/fixtures/datasets.json";
import defaultsJson from "../../test/fixtures/defaults.json";
import jobJson from "../../test/fixtures/job.json";
import methodsJson from "../../test/fixtures/methods.json";
import modelsJson from "../../test/fixtures/models.json";
import { ESTIMATE, callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import NewJobPage from "./NewJobPage";

/** A job created through REST with fields the form does not show (captured from the API). */
const source = jobJson as unknown as JobPublic;

function fakeApi(defaults: unknown = defaultsJson) {
  const bodies: Record<string, unknown> = {};
  const record = (key: string) => async (request: Request) => {
    bodies[key] = await request.json();
    return { status: 201, body: { ...source, id: 99, name: "the copy" } };
  };
  const fetchMock = stubApiFetch({
    "GET /api/v1/models": { body: modelsJson },
    "GET /api/v1/methods": { body: methodsJson },
    "GET /api/v1/benchmarks": { body: benchmarksJson },
    "GET /api/v1/datasets": { body: datasetsJson },
    "GET /api/v1/jobs/defaults": { body: defaults },
    [`GET /api/v1/jobs/${source.id}`]: { body: source },
    "POST /api/v1/methods/estimate": ESTIMATE,
    [`POST /api/v1/jobs/${source.id}/clone`]: record("clone"),
    "POST /api/v1/jobs": record("create"),
  });
  return { fetchMock, bodies };
}

function field(name: string): HTMLInputElement {
  const el = document.querySelector(`[name="${name}"]`);
  if (!el) throw new Error(`no field ${name}`);
  return el as HTMLInputElement;
}

afterEach(() => vi.unstubAllGlobals());

describe("NewJobPage: a new job", () => {
  it("starts from the API's defaults (GET /jobs/defaults), not from constants of its own", async () => {
    const changed = structuredClone(defaultsJson);
    changed.training.batch_size = 7;
    changed.training.lr_scheduler = "cosine";
    changed.evaluation.decoding.max_new_tokens = 99;
    const { bodies } = fakeApi(changed);
    renderWithProviders(<NewJobPage />, { route: "/jobs/new" });
    await screen.findByRole("form", { name: "New job" });
    expect(field("training.batch_size").value).toBe("7");
    expect(field("training.lr_scheduler").value).toBe(JSON.stringify("cosine"));
    expect(field("evaluation.max_new_tokens").value).toBe("99");
    // the method the API starts from, with its catalogue defaults
    expect(document.querySelector('[data-method="lora"]')).toHaveAttribute("aria-pressed", "true");
    expect(field("params.r").value).toBe("32");
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    await waitFor(() => expect(bodies.create).toBeDefined());
    const { config } = bodies.create as { config: { training: Record<string, unknown>; evaluation: { decoding: Record<string, unknown> } } };
    expect(config.training).toMatchObject({ batch_size: 7, lr_scheduler: "cosine", epochs: 3 });
    expect(config.training).not.toHaveProperty("max_steps"); // null: the API's default
    expect(config.evaluation.decoding.max_new_tokens).toBe(99);
  });
});

describe("NewJobPage: clone and edit", () => {
  it("the source job really has settings the form does not show", () => {
    expect(source.config.training).toMatchObject({ prompt_template: "chat", lr_scheduler: "cosine", weight_decay: 0.01, save_steps: 3 });
    expect(source.config.evaluation).toMatchObject({ batch_size: 2 });
  });

  it("submits through the API's clone with only what was changed, so REST-set fields are kept", async () => {
    const { fetchMock, bodies } = fakeApi();
    renderWithProviders(<NewJobPage />, { route: `/jobs/new?clone=${source.id}` });
    await screen.findByRole("form", { name: "New job" });
    expect(field("name").value).toBe(`${source.name} (copy)`);
    expect(field("training.max_steps").value).toBe("6");
    fireEvent.change(field("training.batch_size"), { target: { value: "8" } });
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    await waitFor(() => expect(bodies.clone).toBeDefined());
    expect(bodies.clone).toEqual({ name: `${source.name} (copy)`, overrides: { training: { batch_size: 8 } } });
    expect(callsOf(fetchMock)).not.toContain("POST /api/v1/jobs");
  });

  it("a clone onto another method sends that method's whole adapter", async () => {
    const { bodies } = fakeApi();
    renderWithProviders(<NewJobPage />, { route: `/jobs/new?clone=${source.id}` });
    await screen.findByRole("form", { name: "New job" });
    fireEvent.click(document.querySelector('[data-method="lora"]') as HTMLElement);
    fireEvent.change(field("params.r"), { target: { value: "4" } });
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    await waitFor(() => expect(bodies.clone).toBeDefined());
    const { overrides } = bodies.clone as { overrides: Record<string, Record<string, unknown>> };
    expect(overrides.adapter).toMatchObject({ method: "lora", placement: { modules: ["q", "k", "v", "up", "down"] }, params: { r: 4, alpha: 64 } });
    // the learning rate follows the new method, as in the form; nothing else is sent
    expect(overrides).toEqual({ adapter: overrides.adapter, training: { learning_rate: 0.0003 } });
  });

  it("a new job (no clone) is created with the form's config", async () => {
    const { bodies } = fakeApi();
    renderWithProviders(<NewJobPage />, { route: "/jobs/new" });
    await screen.findByRole("form", { name: "New job" });
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    await waitFor(() => expect(bodies.create).toBeDefined());
    expect(bodies.clone).toBeUndefined();
    expect((bodies.create as { config: { adapter: { method: string } } }).config.adapter.method).toBe("lora");
  });
});
