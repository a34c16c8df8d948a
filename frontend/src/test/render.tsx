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
