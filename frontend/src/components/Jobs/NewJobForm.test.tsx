import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { DatasetPublic, MethodPublic } from "../../client";
import { benchmarks, defaults, method, methods, models, restJob } from "../../test/fixtures";
import { ESTIMATE, JOB_ESTIMATE, renderWithProviders, stubApiFetch, stubEstimateFetch } from "../../test/render";
import { DecodingConfig_OutputSchema, EvaluationConfig_OutputSchema, TrainingConfig_OutputSchema } from "../../client/schemas.gen";
import NewJobForm from "./NewJobForm";
import { draftFromConfig, newDraft } from "./jobDraft";

const dataset: DatasetPublic = {
  id: 7,
  team_id: 1,
  name: "tiny-arithmetic",
  filename: "tiny.jsonl",
  format: "jsonl",
  size_bytes: 2800,
  row_count: 32,
  dropped_rows: 0,
  token_stats: { count: 32 },
  created_at: "2026-01-01T00:00:00Z",
  in_use: false,
};

/** A method the UI has never heard of, shaped like a catalogue entry. */
const newcomer: MethodPublic = {
  name: "shiny",
  family: "other",
  description: "Shiny: a method invented after this dashboard was written.",
  params: [
    { name: "sparkle", schema: { type: "integer", minimum: 0, default: 7, description: "how much it sparkles" } },
    { name: "mode", schema: { type: "string", enum: ["soft", "hard"], default: "soft", description: "sparkle mode" } },
    { name: "glow", schema: { type: "boolean", default: true, description: "" } },
    { name: "pattern", schema: { type: "object", default: { a: 1 }, description: "free-form" } },
  ],
  extra_params_from: null,
  placement_words: ["q", "v"],
  accepts_raw_module_names: false,
  positions: [],
  takes_layers: true,
  default_placement: { modules: ["q", "v"], layers: "all", position: null },
  default_learning_rate: 0.001,
  peft_type: null,
  refused_families: {},
  words_by_family: { llama: ["q", "v"] },
};

function renderForm(extraMethods: MethodPublic[] = [], onSubmit = vi.fn(), submitError: string | null = null) {
  const all = [...methods, ...extraMethods];
  renderWithProviders(
    <NewJobForm
      models={models}
      methods={all}
      datasets={[dataset]}
      benchmarks={benchmarks}
      initialDraft={newDraft(defaults, method("lora"), "tiny:llama", dataset.id)}
      submitError={submitError}
      onSubmit={onSubmit}
    />,
  );
  return onSubmit;
}

function field(name: string): HTMLInputElement {
  const el = document.querySelector(`[name="${name}"]`);
  if (!el) throw new Error(`no field ${name}`);
  return el as HTMLInputElement;
}

beforeEach(() => {
  stubEstimateFetch();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("NewJobForm", () => {
  it("offers the paper's presets; picking one fills the form, says what it set, and stays editable", () => {
    const onSubmit = renderForm();
    const picker = field("preset") as unknown as HTMLSelectElement;
    const labels = [...picker.options].map((o) => o.text);
    expect(labels).toEqual(expect.arrayContaining(["Series adapter, as in the paper", "LoRA, as in the paper", "AdapterH, as in the paper's code"]));

    fireEvent.change(picker, { target: { value: "paper-adapterh" } });
    const summary = screen.getByTestId("preset-summary");
    expect(summary).toHaveTextContent("AdapterH, as in the paper's code");
    expect(summary).toHaveTextContent('position {"gate":"before","up":"before","down":"after"}');
    expect(summary).toHaveTextContent("prompt_template llm-adapters");
    expect(summary).toHaveTextContent("scoring paper");
    expect(field("params.bottleneck_size").value).toBe("256");
    expect(field("training.prompt_template").value).toBe(JSON.stringify("llm-adapters"));
    // the advanced fields it set are shown, not hidden in a closed section
    expect(document.querySelector("details.advanced")).toHaveAttribute("open");

    fireEvent.change(field("params.bottleneck_size"), { target: { value: "8" } });
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    const config = onSubmit.mock.calls[0]?.[0];
    expect(config.adapter.method).toBe("series");
    expect(config.adapter.placement).toEqual({
      modules: ["gate", "up", "down"],
      layers: "all",
      position: { gate: "before", up: "before", down: "after" },
    });
    expect(config.adapter.params).toMatchObject({ bottleneck_size: 8, init: "bert", bias: false, scaling: 1 });
    expect(config.training).toMatchObject({ prompt_template: "llm-adapters", epochs: 3, batch_size: 16 });
    expect(config.evaluation).toMatchObject({ scoring: "paper", decoding: { preset: "paper" } });

    // another method card leaves the preset: its summary goes
    fireEvent.click(document.querySelector('[data-method="lora"]') as HTMLElement);
    expect(screen.queryByTestId("preset-summary")).toBeNull();
    expect((field("preset") as unknown as HTMLSelectElement).value).toBe("");
  });

  it("renders the chosen method's params from the catalogue with the paper's defaults", async () => {
    renderForm();
    expect(field("params.r").value).toBe("32");
    expect(field("params.alpha").value).toBe("64");
    expect(field("params.dropout").value).toBe("0.05");
    fireEvent.click(document.querySelector('[data-method="series"]') as HTMLElement);
    expect(field("params.bottleneck_size").value).toBe("256");
    expect(within(screen.getByTestId("method-params")).getByDisplayValue("tanh")).toBeInTheDocument();
    expect(document.querySelector('[name="params.r"]')).toBeNull();
    // the learning rate follows the method's default
    fireEvent.click(document.querySelector('[data-method="prefix"]') as HTMLElement);
    expect(field("training.learning_rate").value).toBe("0.03");
    expect(field("params.num_virtual_tokens").value).toBe("10");
  });

  it("shows each method card's one-line description and its parameter estimate", async () => {
    renderForm();
    const card = document.querySelector('[data-method="series"]') as HTMLElement;
    expect(card).toHaveTextContent(/bottleneck/);
    await waitFor(() => expect(screen.getByTestId("estimate-series")).toHaveTextContent("2,192 trainable (2.04 %)"));
  });

  it("estimates the whole job for the chosen method: parameters, peak memory with its parts, time", async () => {
    const bodies: Record<string, unknown>[] = [];
    stubApiFetch({
      "POST /api/v1/methods/estimate": ESTIMATE,
      "POST /api/v1/estimates": async (request) => {
        bodies.push((await request.json()) as Record<string, unknown>);
        return JOB_ESTIMATE;
      },
    });
    renderForm();
    fireEvent.click(document.querySelector('[data-method="series"]') as HTMLElement);
    await waitFor(() => expect(bodies.map((b) => (b.config as { adapter: { method: string } }).adapter.method)).toContain("series"));
    await waitFor(() => expect(screen.getByTestId("estimate-memory")).toHaveTextContent("1.4 GiB"));
    expect(screen.getByTestId("estimate-memory")).toHaveAttribute("title", expect.stringContaining("activations 826.3 MiB"));
    expect(screen.getByTestId("estimate-parts")).toHaveTextContent("frozen weights 513.1 MiB · adapter 25.3 MiB");
    expect(screen.getByTestId("estimate-params")).toHaveTextContent("6.64M");
    expect(screen.getByTestId("estimate-step")).toHaveTextContent("2.2 s");
    expect(screen.getByTestId("estimate-total")).toHaveTextContent("31 s (14 steps)");
    expect(screen.getByTestId("job-estimate")).toHaveTextContent("as celery@gpu-1 measured it");
    // The config the form would submit, with its dataset (for the step count); asked once the
    // form pauses, for the method now chosen.
    const last = bodies[bodies.length - 1] as { config: { adapter: { method: string }; dataset_id: number } };
    expect(last.config.adapter.method).toBe("series");
    expect(last.config.dataset_id).toBe(7);
  });

  it("renders a method it has never seen, with its params, and submits them", async () => {
    const onSubmit = renderForm([newcomer]);
    fireEvent.click(screen.getByRole("button", { name: /Other peft methods/ }));
    fireEvent.click(document.querySelector('[data-method="shiny"]') as HTMLElement);
    expect(screen.getByText("shiny parameters")).toBeInTheDocument();
    expect(field("params.sparkle").value).toBe("7");
    expect(field("params.mode").value).toBe(JSON.stringify("soft"));
    expect(field("params.glow").checked).toBe(true);
    expect(field("params.pattern").value).toBe('{"a":1}');
    // its placement comes from words_by_family
    expect(screen.getByRole("button", { name: "q" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("button", { name: "k" })).toHaveAttribute("aria-disabled", "true");

    fireEvent.change(field("params.sparkle"), { target: { value: "9" } });
    fireEvent.change(field("params.mode"), { target: { value: JSON.stringify("hard") } });
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    const config = onSubmit.mock.calls[0]?.[0];
    expect(config.adapter).toEqual({
      method: "shiny",
      placement: { modules: ["q", "v"], layers: "all", position: null },
      params: { sparkle: 9, mode: "hard", glow: true },
    });
    expect(config.training.learning_rate).toBe(0.001);
  });

  it("builds the DESIGN.md job config from the form", () => {
    const onSubmit = renderForm();
    fireEvent.click(document.querySelector('[data-method="series"]') as HTMLElement);
    fireEvent.change(field("params.bottleneck_size"), { target: { value: "8" } });
    fireEvent.change(field("training.max_steps"), { target: { value: "6" } });
    fireEvent.click(field("benchmark.svamp"));
    fireEvent.change(field("evaluation.every_n_steps"), { target: { value: "2" } });
    fireEvent.change(field("evaluation.max_new_tokens"), { target: { value: "4" } });
    fireEvent.click(screen.getByRole("button", { name: "layer 1" }));
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    const config = onSubmit.mock.calls[0]?.[0];
    expect(config).toMatchObject({
      base_model: "tiny:llama",
      dataset_id: 7,
      adapter: {
        method: "series",
        placement: { modules: ["mlp"], layers: [0], position: "after" },
        params: { bottleneck_size: 8, non_linearity: "tanh" },
      },
      training: { max_steps: 6, batch_size: 16, micro_batch_size: 4, learning_rate: 0.0003 },
      evaluation: { benchmarks: ["svamp"], every_n_steps: 2, decoding: { strategy: "greedy", max_new_tokens: 4 } },
    });
    expect(config.training).not.toHaveProperty("epochs", null);
  });

  it("prefix tuning sends no modules", () => {
    const onSubmit = renderForm();
    fireEvent.click(document.querySelector('[data-method="prefix"]') as HTMLElement);
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    expect(onSubmit.mock.calls[0]?.[0].adapter.placement).toEqual({ modules: null, layers: "all", position: null });
  });

  it("shows the service's refusal next to the form", () => {
    renderForm([], vi.fn(), "layer 5 is beyond the model, which has 2 layers");
    expect(screen.getByTestId("submit-error")).toHaveTextContent("layer 5 is beyond the model");
  });

  it("shows the API's refusal of the adapter settings and does not submit while it stands", async () => {
    const detail = "placement.modules is an empty list; leave it out for the method's default";
    stubEstimateFetch(async (request) => {
      const body = (await request.json()) as { adapter: { placement?: { modules?: string[] | null } } };
      return body.adapter.placement?.modules?.length === 0 ? { status: 422, body: { detail } } : ESTIMATE;
    });
    const onSubmit = renderForm();
    fireEvent.click(document.querySelector('[data-method="series"]') as HTMLElement);
    await waitFor(() => expect(screen.getByTestId("estimate-series")).toHaveTextContent("trainable"));
    expect(screen.queryByTestId("adapter-problem")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "after MLP" }));
    expect(await screen.findByTestId("adapter-problem")).toHaveTextContent(detail);
    expect(screen.getByRole("button", { name: "Start training" })).toBeDisabled();
    fireEvent.click(screen.getByRole("button", { name: "after MLP" }));
    await waitFor(() => expect(screen.queryByTestId("adapter-problem")).toBeNull());
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });

  it("shows every training, evaluation and decoding field of the config's schema, its description as help", () => {
    renderForm();
    const sections: [string, Record<string, { description?: string; type?: string }>][] = [
      ["training", TrainingConfig_OutputSchema.properties],
      ["evaluation", EvaluationConfig_OutputSchema.properties],
      ["evaluation", DecodingConfig_OutputSchema.properties], // decoding fields keep their evaluation.* names
    ];
    const notShown = ["evaluation.benchmarks", "evaluation.decoding", "evaluation.data_dir", "evaluation.harness"];
    for (const [prefix, properties] of sections) {
      for (const [key, schema] of Object.entries(properties)) {
        const name = `${prefix}.${key}`;
        if (notShown.includes(name)) continue;
        const input = field(name);
        const box = (input.closest(".check-field") ?? input.closest(".field") ?? input.closest("label")) as HTMLElement;
        expect(box.querySelector(".field-help")?.textContent, name).toContain(schema.description);
      }
    }
    // choices and bounds come from the schema too
    const schedules = [...(field("training.lr_scheduler") as unknown as HTMLSelectElement).options].map((o) => o.text);
    expect(schedules).toEqual(TrainingConfig_OutputSchema.properties.lr_scheduler.enum);
    expect(field("training.cutoff_len").min).toBe(String(TrainingConfig_OutputSchema.properties.cutoff_len.minimum));
  });

  it("a stored config comes back as the same form (clone and edit)", () => {
    const draft = draftFromConfig(restJob.config, methods);
    expect(draft.name).toBe("rest-series (copy)");
    expect(draft.placement).toEqual({ modules: ["mlp"], layers: [1], position: "after" });
    expect(draft.params.bottleneck_size).toBe(8);
    expect(draft.params.non_linearity).toBe("tanh");
    expect(draft.training.max_steps).toBe(6);
    expect(draft.training.epochs).toBe(3);
    expect(draft.decoding.max_new_tokens).toBe(4);
    // every field of the stored config, also those set through REST only
    expect(draft.training).toEqual(restJob.config.training);
    expect(draft.evaluation.batch_size).toBe(2);
  });

  it("flags an invalid value beside its field as it is typed, and holds the submit", () => {
    const onSubmit = renderForm();
    fireEvent.change(field("training.learning_rate"), { target: { value: "-1" } });
    const box = field("training.learning_rate").closest("label") as HTMLElement;
    expect(within(box).getByRole("alert")).toHaveTextContent("Learning rate must be greater than 0");
    expect(field("training.learning_rate")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByRole("button", { name: "Start training" })).toBeDisabled();
    expect(screen.getByText(/Fix Learning rate \(marked in red\)/)).toBeInTheDocument();
    fireEvent.change(field("training.learning_rate"), { target: { value: "0.001" } });
    expect(within(box).queryByRole("alert")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Start training" }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });

  it("shows the training plan of the chosen dataset and its warnings", async () => {
    const asked: unknown[] = [];
    stubApiFetch({
      "POST /api/v1/methods/estimate": ESTIMATE,
      "POST /api/v1/jobs/plan": async (request) => {
        const body = (await request.json()) as { training: { warmup_steps?: number } };
        asked.push(body);
        const long = body.training.warmup_steps === 100;
        return {
          body: {
            rows: 32,
            validation_rows: 3,
            training_rows: 29,
            steps_per_epoch: 2,
            total_steps: 6,
            warmup_steps: long ? 100 : 1,
            peak_fraction: long ? 0.05 : 1,
            warnings: long ? ["warm-up (100 steps) is as long as training (6 steps): the learning rate never reaches its peak (it stops at 5 % of it)"] : [],
          },
        };
      },
    });
    renderForm();
    await waitFor(() => expect(screen.getByTestId("training-plan")).toHaveTextContent("29 trained on"));
    expect(screen.getByTestId("plan-total-steps")).toHaveTextContent("6 steps in all");
    expect(screen.queryByTestId("plan-warnings")).toBeNull();
    fireEvent.change(field("training.warmup_steps"), { target: { value: "100" } });
    await waitFor(() => expect(screen.getByTestId("plan-warnings")).toHaveTextContent("never reaches its peak"));
    expect(asked.at(-1)).toMatchObject({ dataset_id: dataset.id, training: { warmup_steps: 100, warmup_ratio: 0.05 } });
  });
});
