import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { GenerationPublic } from "../../client";
import { restJob } from "../../test/fixtures";
import { renderWithProviders } from "../../test/render";
import PlaygroundPage from "./PlaygroundPage";
import { sseParser } from "./streamGeneration";

afterEach(() => vi.unstubAllGlobals());

const WAIT = { timeout: 8000 };
const JOB = { ...restJob, status: "succeeded" };

const EARLIER: GenerationPublic = {
  id: 3,
  job_id: JOB.id,
  prompt: "What is 2 + 3?",
  status: "succeeded",
  base_output: "2 + 3 is a sum.",
  adapter_output: "5",
  error: null,
  created_at: "2026-12-03T10:00:00Z",
  max_new_tokens: 32,
  temperature: 0.7,
  top_p: 0.9,
};

/** The route's events as the API writes them (backend/app/api/routes/playground.py). */
function transcript(answer: GenerationPublic): string {
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  return [
    event("generation", { ...answer, status: "running", base_output: null, adapter_output: null }),
    event("token", { side: "adapter", text: "4" }),
    event("token", { side: "adapter", text: "2" }),
    event("done", { side: "adapter", finish_reason: "stop", completion_tokens: 2 }),
    event("token", { side: "base", text: "12 + 30 " }),
    event("token", { side: "base", text: "is 1230" }),
    event("done", { side: "base", finish_reason: "length", completion_tokens: 8 }),
    event("end", answer),
  ].join("");
}

/** fetch() answering the page's calls; the stream comes in pieces cut mid-event. */
function stubPlayground(stream: (body: unknown) => Response) {
  const history: GenerationPublic[] = [EARLIER];
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"), init);
    const url = new URL(request.url);
    const key = `${request.method} ${url.pathname}`;
    if (key === "GET /api/v1/jobs") return json({ data: [JOB], count: 1 });
    if (key === "GET /api/v1/playground") return json({ data: history, count: history.length });
    if (key === "POST /api/v1/playground/stream") {
      const body = JSON.parse(await request.text());
      const response = stream(body);
      if (response.ok) history.unshift({ ...EARLIER, id: 4, prompt: body.prompt, adapter_output: "42", base_output: "12 + 30 is 1230" });
      return response;
    }
    return json({ detail: `no stub for ${key}` }, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

function chunked(text: string, size = 17): Response {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

describe("PlaygroundPage", () => {
  it("streams the adapter's and the base model's answers side by side with the chosen settings", async () => {
    let sent: Record<string, unknown> = {};
    const answer = { ...EARLIER, id: 4, prompt: "What is 12 + 30?", adapter_output: "42", base_output: "12 + 30 is 1230" };
    stubPlayground((body) => {
      sent = body as Record<string, unknown>;
      return chunked(transcript(answer));
    });
    renderWithProviders(<PlaygroundPage />, { route: `/playground?job=${JOB.id}` });
    await screen.findByRole("option", { name: new RegExp(`#${JOB.id}`) }, WAIT);
    fireEvent.change(screen.getByLabelText(/Temperature/), { target: { value: "0.7" } });
    fireEvent.change(screen.getByLabelText(/Top-p/), { target: { value: "0.9" } });
    fireEvent.change(screen.getByLabelText(/Max new tokens/), { target: { value: "8" } });
    fireEvent.click(screen.getByRole("button", { name: "Generate" }));

    await waitFor(() => expect(screen.getByTestId("base-output").textContent).toBe("12 + 30 is 1230"), WAIT);
    expect(screen.getByTestId("adapter-output").textContent).toBe("42");
    expect(sent).toEqual({ job_id: JOB.id, prompt: "What is 12 + 30?", max_new_tokens: 8, temperature: 0.7, top_p: 0.9 });
    expect(screen.getByText("(cut at the token limit)")).toBeTruthy();
    // The history is read again and shows the new prompt first, with its settings.
    await waitFor(() => expect(screen.getAllByTestId("history-entry")).toHaveLength(2), WAIT);
    const [newest] = screen.getAllByTestId("history-entry");
    expect(within(newest).getByText("What is 12 + 30?")).toBeTruthy();
    expect(within(newest).getByText(/temperature 0.7, top-p 0.9, ≤ 32 tokens/)).toBeTruthy();
  });

  it("lists earlier prompts with both answers and asks one again with its settings", async () => {
    stubPlayground(() => chunked(""));
    renderWithProviders(<PlaygroundPage />, { route: "/playground" });
    const entry = await screen.findByTestId("history-entry", {}, WAIT);
    expect(within(entry).getByLabelText("adapter answer").textContent).toBe("5");
    expect(within(entry).getByLabelText("base answer").textContent).toBe("2 + 3 is a sum.");
    fireEvent.click(within(entry).getByRole("button", { name: "Ask again" }));
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("What is 2 + 3?");
    expect((screen.getByLabelText(/Temperature/) as HTMLInputElement).value).toBe("0.7");
    expect((screen.getByLabelText(/Max new tokens/) as HTMLInputElement).value).toBe("32");
    await waitFor(() => expect((screen.getByRole("combobox") as HTMLSelectElement).value).toBe(String(JOB.id)), WAIT);
  });

  it("says why when the inference service is unreachable", async () => {
    const reason = "the inference service at http://127.0.0.1:8001 is unreachable (ConnectError); is it running?";
    stubPlayground(() => new Response(JSON.stringify({ detail: reason }), { status: 503, headers: { "Content-Type": "application/json" } }));
    renderWithProviders(<PlaygroundPage />, { route: `/playground?job=${JOB.id}` });
    await screen.findByRole("option", { name: new RegExp(`#${JOB.id}`) }, WAIT);
    fireEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect((await screen.findByRole("alert", {}, WAIT)).textContent).toBe(reason);
  });
});

describe("sseParser", () => {
  it("emits whole events whatever the chunk boundaries", () => {
    const seen: [string, string][] = [];
    const push = sseParser((event, data) => seen.push([event, data]));
    const text = 'event: token\ndata: {"side":"adapter","text":"a\\n"}\n\nevent: end\ndata: {}\n\n';
    for (const ch of text) push(ch);
    expect(seen).toEqual([
      ["token", '{"side":"adapter","text":"a\\n"}'],
      ["end", "{}"],
    ]);
  });
});
