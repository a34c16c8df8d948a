import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../api";
import { usersChangePassword } from "../../client";
import type { UserPublic } from "../../client";

/** Shown instead of the studio after signing in with a one-time (invitation) password: the API
 * refuses everything else until a password of the person's own is set. */
export default function SetPasswordPage({ user }: { readonly user: UserPublic }) {
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const mismatch = again.length > 0 && next !== again;
  const change = useMutation({
    mutationFn: async () =>
      (await usersChangePassword({ body: { current_password: current, new_password: next } })).data,
    onSuccess: (data) => {
      queryClient.setQueryData(["me"], data);
      void queryClient.invalidateQueries();
    },
  });
  return (
    <div className="signin">
      <form
        className="card signin-card"
        aria-label="Set your password"
        onSubmit={(e) => {
          e.preventDefault();
          if (!mismatch) change.mutate();
        }}
      >
        <h1>
          Adapter <span>Studio</span>
        </h1>
        <p>
          Welcome, {user.full_name || user.email}. You signed in with a one-time password from your team's owner: choose
          a password of your own to continue.
        </p>
        <label>
          One-time password
          <input
            type="password"
            name="current_password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
        <label>
          New password <span className="muted small">(at least 12 characters, not a common one)</span>
          <input
            type="password"
            name="new_password"
            autoComplete="new-password"
            required
            minLength={12}
            value={next}
            onChange={(e) => setNext(e.target.value)}
          />
        </label>
        <label>
          New password again
          <input
            type="password"
            name="new_password_again"
            autoComplete="new-password"
            required
            value={again}
            aria-invalid={mismatch}
            onChange={(e) => setAgain(e.target.value)}
          />
        </label>
        {mismatch && <p className="error small">The two new passwords differ.</p>}
        {change.isError && (
          <p className="error" role="alert">
            {errorMessage(change.error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={change.isPending || mismatch}>
          {change.isPending ? "Saving…" : "Set password and continue"}
        </button>
      </form>
    </div>
  );
}
