/**
 * POST /api/v1/playground/stream: both answers token by token, as server-sent events.
 *
 * Why not the generated client or EventSource: the generated client reads a whole JSON body,
 * and EventSource only GETs; this reads the POST's body as it arrives and parses its events
 * (`generation`, `token`, `done`, `end`, `error`; see the route's documentation).
 */
import { ApiError } from "../../api";
import type { GenerationCreate, GenerationPublic } from "../../client";

export type Side = "adapter" | "base";

export interface StreamHandlers {
  onGeneration?: (g: GenerationPublic) => void;
  onToken: (side: Side, text: string) => void;
  onDone?: (side: Side, finishReason: string | null, tokens: number | null) => void;
}

/** Splits an SSE text stream into (event, data) pairs; `push` takes chunks cut anywhere. */
export function sseParser(emit: (event: string, data: string) => void) {
  let buffer = "";
  return (chunk: string) => {
    buffer += chunk;
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) emit(event, data.join("\n"));
    }
  };
}

/** Resolves with the stored generation (`end`); rejects with the service's reason. */
export async function streamGeneration(
  body: GenerationCreate,
  handlers: StreamHandlers,
  signal?: AbortSignal,
): Promise<GenerationPublic> {
  const response = await fetch("/api/v1/playground/stream", {
    method: "POST",
    credentials: "include",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) {
    let detail: unknown = null;
    try {
      detail = await response.json();
    } catch {
      detail = null;
    }
    throw new ApiError(response.status, detail);
  }
  let result: GenerationPublic | null = null;
  let failure: string | null = null;
  const push = sseParser((event, data) => {
    const value = JSON.parse(data);
    if (event === "generation") handlers.onGeneration?.(value as GenerationPublic);
    else if (event === "token") handlers.onToken(value.side as Side, value.text as string);
    else if (event === "done") handlers.onDone?.(value.side as Side, value.finish_reason ?? null, value.completion_tokens ?? null);
    else if (event === "end") result = value as GenerationPublic;
    else if (event === "error") failure = String(value.detail);
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    push(value);
  }
  if (failure !== null) throw new ApiError(502, { detail: failure });
  if (result === null) throw new ApiError(502, { detail: "the answer stream ended early" });
  return result;
}
