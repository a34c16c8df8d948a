import { useState } from "react";

import { errorMessage } from "../../api";

/**
 * A destructive action asked twice, inline: the button turns into a question with "Yes" and
 * "Keep" (no browser dialog, so it reads the same in every screen and in tests). `error`, when
 * given, is the failed action's error, shown under the button (e.g. a 409's reason).
 */
export default function ConfirmButton({
  label,
  question,
  confirmLabel,
  busy = false,
  disabled = false,
  error = null,
  onConfirm,
}: {
  readonly label: string;
  readonly question: string;
  readonly confirmLabel?: string;
  readonly busy?: boolean;
  readonly disabled?: boolean;
  readonly error?: unknown;
  readonly onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const failure = error != null && (
    <p className="error-box action-error" role="alert">
      {errorMessage(error)}
    </p>
  );
  if (!asking) {
    return (
      <>
        <button type="button" className="danger" disabled={disabled || busy} onClick={() => setAsking(true)}>
          {busy ? "Working…" : label}
        </button>
        {failure}
      </>
    );
  }
  return (
    <>
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
      {failure}
    </>
  );
}
