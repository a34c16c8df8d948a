import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";

/** Renders inside a fresh QueryClient (no retries) and a router, at `route` (default "/"). */
export function renderWithProviders(ui: ReactElement, { route = "/" }: { route?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[route]}>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );
}

type Reply = { status?: number; body: unknown };
type Handler = (request: Request) => Reply | Promise<Reply>;

export const ESTIMATE: Reply = { body: { trainable_parameters: 2192, total_parameters: 107200, trainable_percent: 2.04 } };

const MiB = 2 ** 20;
/** POST /estimates' answer for LoRA on the demo model (the engine's figures, rounded). */
export const JOB_ESTIMATE: Reply = {
  body: {
    trainable_parameters: 6635520,
    total_parameters: 141150528,
    trainable_percent: 4.7,
    memory: {
      weights: Math.round(513.1 * MiB),
      adapter: Math.round(25.3 * MiB),
      gradients: Math.round(25.3 * MiB),
      optimizer: Math.round(50.6 * MiB),
      activations: Math.round(826.3 * MiB),
      runtime: 0,
      total: Math.round(513.1 * MiB) + 2 * Math.round(25.3 * MiB) + Math.round(50.6 * MiB) + Math.round(826.3 * MiB),
    },
    device: {
      kind: "cuda",
      name: "NVIDIA H200",
      dtype: "bfloat16",
      matmul_flops: 7e14,
      memory_bytes: 140 * 2 ** 30,
      runtime_bytes: 0,
      threads: null,
      source: "worker",
      worker: "celery@gpu-1",
      measured_at: "2026-12-03T07:00:00Z",
    },
    dtype: "bfloat16",
    sequence_tokens: 256,
    tokens_per_step: 4096,
    flops_per_step: 1.2e12,
    seconds_per_step: 2.2,
    total_steps: 14,
    total_seconds: 30.8,
    train_examples: 28,
    notes: [],
  },
};

/**
 * fetch() answering POST /methods/estimate like the API does (`estimate` may answer per
 * request, e.g. a 422 naming a problem), and 404 for anything else.
 */
export function stubEstimateFetch(estimate: Reply | Handler = ESTIMATE) {
  return stubApiFetch({ "POST /api/v1/methods/estimate": estimate });
}

/**
 * fetch() answering "METHOD /api/v1/path" from `routes` (a Reply or a function of the Request),
 * and 404 for anything else; the mock records every call for assertions.
 */
export function stubApiFetch(routes: Record<string, Reply | Handler>) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const key = `${request.method} ${new URL(request.url).pathname}`;
    const route = routes[key];
    const reply = route === undefined ? { status: 404, body: { detail: `no stub for ${key}` } } : typeof route === "function" ? await route(request) : route;
    return new Response(JSON.stringify(reply.body), {
      status: reply.status ?? 200,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

/** The "METHOD path" of every call a stubApiFetch mock received. */
export function callsOf(fetchMock: ReturnType<typeof stubApiFetch>): string[] {
  return fetchMock.mock.calls.map(([input, init]) => {
    const request = input instanceof Request ? input : new Request(input, init);
    return `${request.method} ${new URL(request.url).pathname}`;
  });
}
