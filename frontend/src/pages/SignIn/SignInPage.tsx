import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../api";
import { authLogin } from "../../client";

export default function SignInPage() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useMutation({
    mutationFn: async () => (await authLogin({ body: { email, password } })).data,
    onSuccess: (data) => {
      queryClient.setQueryData(["me"], data.user);
      void queryClient.invalidateQueries();
    },
  });
  return (
    <div className="signin">
      <form
        className="card signin-card"
        onSubmit={(e) => {
          e.preventDefault();
          login.mutate();
        }}
      >
        <h1>
          Adapter <span>Studio</span>
        </h1>
        <p className="muted">Parameter-efficient fine-tuning of language models. Sign in to continue.</p>
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {login.isError && (
          <p className="error" role="alert">
            {errorMessage(login.error)}
          </p>
        )}
        <button type="submit" className="primary" disabled={login.isPending}>
          {login.isPending ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted small">
          `studio up` prints the administrator's email and password the first time it starts.
        </p>
      </form>
    </div>
  );
}
