import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { LeaderboardPublic, LeaderboardRow } from "../../client";
import { benchmarks, methods } from "../../test/fixtures";
import { renderWithProviders, stubApiFetch } from "../../test/render";
import LeaderboardPage, { examplesText, placementText } from "./LeaderboardPage";

function row(overrides: Partial<LeaderboardRow>): LeaderboardRow {
  return {
    rank: 1,
    job_id: 1,
    job_name: "run",
    published: false,
    published_table: null,
    base_model: "tiny:llama",
    method: "lora",
    placement: { modules: ["q", "v"], layers: "all" },
    accuracy: 50,
    scores: { svamp: 50 },
    examples: 1000,
    examples_full: 1000,
    sampled: false,
    scoring: "paper",
    decoding: "paper: 4 beams, 256 new tokens",
    prompt_template: "llm-adapters",
    trainable_parameters: 1000,
    trainable_percent: 0.1,
    peak_memory_bytes: null,
    wall_seconds: null,
    owner_email: "a@example.com",
    finished_at: null,
    ...overrides,
  };
}

// As the service ranks them with samples apart: full-set rows, then the sample.
const ROWS: LeaderboardRow[] = [
  row({ rank: 1, job_id: 7, job_name: "full-run", accuracy: 55, scoring: "strict", decoding: "greedy, 256 new tokens", prompt_template: "alpaca" }),
  row({
    rank: 2,
    job_id: null,
    job_name: "LLaMA-7B LoRA (published)",
    published: true,
    published_table: "LLM-Adapters README, arithmetic table (math_10k)",
    accuracy: 52.1,
    trainable_parameters: null,
    examples: null,
    examples_full: null,
  }),
  row({ rank: 3, job_id: 9, job_name: "twenty", accuracy: 90, examples: 20, examples_full: 1000, sampled: true, trainable_parameters: 50000 }),
];

function board(samples: "apart" | "together"): LeaderboardPublic {
  const data = samples === "apart" ? ROWS : [ROWS[2], ROWS[0], ROWS[1]].map((r, i) => ({ ...(r as LeaderboardRow), rank: i + 1 }));
  return { scope: "svamp", benchmarks: ["svamp"], samples, harness_scopes: ["harness:boolq_local"], data, count: data.length };
}

function stub() {
  return stubApiFetch({
    "GET /api/v1/leaderboard": (request) => {
      const samples = new URL(request.url).searchParams.get("samples") === "together" ? "together" : "apart";
      return { body: board(samples) };
    },
    "GET /api/v1/benchmarks": { body: { data: benchmarks, count: benchmarks.length, suites: ["arithmetic", "commonsense"] } },
    "GET /api/v1/methods": { body: { data: methods, count: methods.length } },
  });
}

function leaderboardQueries(fetchMock: ReturnType<typeof stub>): URLSearchParams[] {
  return fetchMock.mock.calls
    .map(([input, init]) => (input instanceof Request ? input : new Request(input, init)))
    .filter((r) => new URL(r.url).pathname === "/api/v1/leaderboard")
    .map((r) => new URL(r.url).searchParams);
}

const bodyRows = () => within(screen.getByRole("table", { name: "Leaderboard" })).getAllByRole("row").slice(1);
const runNames = () => bodyRows().map((tr) => (tr.querySelectorAll("td")[2] as HTMLElement).textContent ?? "");

afterEach(() => vi.unstubAllGlobals());

describe("LeaderboardPage", () => {
  it("shows what every score rests on: examples, rule, decoding and prompt", async () => {
    stub();
    renderWithProviders(<LeaderboardPage />);
    await screen.findByText("full-run");
    const headers = within(screen.getByRole("table", { name: "Leaderboard" })).getAllByRole("columnheader").map((h) => h.textContent);
    expect(headers).toEqual(expect.arrayContaining(["Examples", "Evaluated with", "Trainable", "Finished"]));

    const [full, published, sample] = bodyRows() as [HTMLElement, HTMLElement, HTMLElement];
    expect(within(full).getByText("1,000 of 1,000")).toBeInTheDocument();
    expect(within(full).getByText("strict")).toBeInTheDocument();
    expect(within(full).getByText("greedy, 256 new tokens")).toBeInTheDocument();
    expect(within(full).getByText("alpaca")).toBeInTheDocument();
    expect(within(full).queryByText("sample")).not.toBeInTheDocument();

    expect(within(sample).getByText("20 of 1,000")).toBeInTheDocument();
    expect(within(sample).getByText("sample")).toHaveClass("badge-sample");
    expect(sample).toHaveClass("sampled");

    expect(within(published).getByText("published")).toBeInTheDocument();
    expect(within(published).getByText("LLM-Adapters README, arithmetic table (math_10k)")).toBeInTheDocument();
    expect(within(published).getByText("paper: 4 beams, 256 new tokens")).toBeInTheDocument();
    expect(within(published).getByText("full test set")).toBeInTheDocument(); // what a published score rests on
  });

  it("offers the team's lm-evaluation-harness tasks as scopes and asks for the one picked", async () => {
    const fetchMock = stub();
    renderWithProviders(<LeaderboardPage />);
    await screen.findByText("full-run");
    const scope = screen.getByRole("combobox", { name: "Scope" });
    const group = within(scope).getByRole("group", { name: "lm-evaluation-harness" });
    expect(within(group).getAllByRole("option").map((o) => o.textContent)).toEqual(["harness (average)", "boolq_local"]);
    fireEvent.change(scope, { target: { value: "harness:boolq_local" } });
    await waitFor(() => expect(leaderboardQueries(fetchMock).at(-1)?.get("scope")).toBe("harness:boolq_local"));
  });

  it("asks for samples apart by default and together when the user ticks the box", async () => {
    const fetchMock = stub();
    renderWithProviders(<LeaderboardPage />);
    await screen.findByText("full-run");
    expect(leaderboardQueries(fetchMock).at(-1)?.get("samples")).toBe("apart");
    expect(runNames()).toEqual(["full-run", expect.stringContaining("LLaMA-7B LoRA (published)"), "twenty"]);

    fireEvent.click(screen.getByRole("checkbox", { name: /rank runs scored on a sample/i }));
    await waitFor(() => expect(leaderboardQueries(fetchMock).at(-1)?.get("samples")).toBe("together"));
    await waitFor(() => expect(runNames()[0]).toBe("twenty"));
  });

  it("keeps samples after full-set rows when sorting by a column in the page", async () => {
    stub();
    renderWithProviders(<LeaderboardPage />);
    await screen.findByText("full-run");
    // Examples is sorted here, not by the service: ascending would put the 20-example run first.
    fireEvent.click(screen.getByRole("button", { name: "Examples" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Examples" }).closest("th")).toHaveAttribute("aria-sort"));
    expect(runNames().at(-1)).toBe("twenty");
  });
});

describe("leaderboard cells", () => {
  it("writes one position per module", () => {
    expect(placementText({ modules: ["gate", "up", "down"], position: { gate: "before", up: "before", down: "after" } })).toBe(
      "before gate, before up, after down",
    );
    expect(placementText({ position: { up: "beside", down: "beside" }, layers: [0, 1] })).toBe("beside up, beside down · layers 0,1");
    expect(placementText({ modules: ["mlp"], position: "after" })).toBe("after mlp");
  });

  it("says when the full set's size is unknown", () => {
    expect(examplesText({ examples: 600, examples_full: null })).toBe("600 of ?");
    expect(examplesText({ examples: null, examples_full: null })).toBe("—");
  });
});
