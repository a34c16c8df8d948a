export default function StatusBadge({
  status,
  phase,
}: {
  readonly status: string;
  readonly phase?: string | null;
}) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {status}
      {status === "running" && phase ? ` · ${phase.replaceAll("_", " ")}` : ""}
    </span>
  );
}
