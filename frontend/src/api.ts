/**
 * Configuration of the generated client (src/client) — not a wrapper around it.
 *
 * Same origin in production (FastAPI serves the build) and through Vite's proxy in development,
 * so URLs stay relative; the browser session is an httpOnly cookie, hence `credentials`.
 * Every failed call becomes an `ApiError` carrying the status and the service's JSON body.
 */
import { client } from "./client/client.gen";

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    super(detailOf(body) ?? `request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

function detailOf(body: unknown): string | null {
  if (typeof body === "string" && body) return body;
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      // FastAPI's own validation errors: [{loc, msg}, ...]
      return detail
        .map((d: { loc?: unknown[]; msg?: string }) =>
          [d.loc?.slice(1).join("."), d.msg].filter(Boolean).join(": "),
        )
        .join("; ");
    }
  }
  return null;
}

/** A readable sentence for any error a query or mutation may raise. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return detailOf(error) ?? String(error);
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

let configured = false;

export function configureClient(): void {
  if (configured) return;
  configured = true;
  client.setConfig({ baseUrl: "", credentials: "include", throwOnError: true });
  client.interceptors.error.use((error, response) => new ApiError(response?.status ?? 0, error));
}

configureClient();

export { client };
