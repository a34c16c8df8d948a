import { errorMessage } from "../../api";

/** Loading and error lines for a query, so each screen says the same thing the same way. */
export default function QueryState({
  isPending,
  error,
  what,
}: {
  readonly isPending: boolean;
  readonly error: unknown;
  readonly what: string;
}) {
  if (error) {
    return (
      <p className="error" role="alert">
        Could not load {what}: {errorMessage(error)}
      </p>
    );
  }
  if (isPending) return <p className="muted">Loading {what}…</p>;
  return null;
}
