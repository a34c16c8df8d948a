import { useState } from "react";

/**
 * A destructive action asked twice, inline: the button turns into a question with "Yes" and
 * "Keep" (no browser dialog, so it reads the same in every screen and in tests).
 */
export default function ConfirmButton({
  label,
  question,
  confirmLabel,
  busy = false,
  disabled = false,
  onConfirm,
}: {
  readonly label: string;
  readonly question: string;
  readonly confirmLabel?: string;
  readonly busy?: boolean;
  readonly disabled?: boolean;
  readonly onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="danger" disabled={disabled || busy} onClick={() => setAsking(true)}>
        {busy ? "Working…" : label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="confirm-question">{question}</span>
      <button
        type="button"
        className="danger-solid"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel ?? `Yes, ${label.toLowerCase()}`}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Keep
      </button>
    </span>
  );
}
