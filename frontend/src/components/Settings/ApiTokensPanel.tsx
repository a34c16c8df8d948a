import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../api";
import { tokensCreateToken, tokensRevokeToken } from "../../client";
import type { TokenCreated } from "../../client";
import { formatDate } from "../../format";
import { tokensQuery } from "../../queries";
import ConfirmButton from "../Layout/ConfirmButton";
import QueryState from "../Layout/QueryState";
import CreateByNameForm from "./CreateByNameForm";

/** The user's API tokens: list, create (the secret is shown once), revoke. */
export default function ApiTokensPanel() {
  const queryClient = useQueryClient();
  const tokens = useQuery(tokensQuery());
  const [name, setName] = useState("");
  // The secret lives only here, in this component's state: the list never carries it.
  const [created, setCreated] = useState<TokenCreated | null>(null);

  const create = useMutation({
    mutationFn: async (tokenName: string) => (await tokensCreateToken({ body: { name: tokenName } })).data,
    onSuccess: (token) => {
      setCreated(token);
      setName("");
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: number) => (await tokensRevokeToken({ path: { token_id: id } })).data,
    onSuccess: (_message, id) => {
      if (created?.id === id) setCreated(null);
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
    },
  });

  const rows = tokens.data?.data ?? [];
  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="muted small">
        For scripts and the command line: send one in the header{" "}
        <code>Authorization: Bearer &lt;token&gt;</code>. The studio stores only a hash, so a token is shown once, when it is created.
      </p>
      <CreateByNameForm
        formLabel="New API token"
        label="Token name"
        inputName="token_name"
        placeholder="e.g. ci"
        submitLabel="Create token"
        value={name}
        pending={create.isPending}
        onChange={setName}
        onSubmit={(n) => create.mutate(n)}
      />
      {create.isError && (
        <p className="error-box" role="alert">
          {errorMessage(create.error)}
        </p>
      )}
      {created && <ShownOnceToken token={created} onDismiss={() => setCreated(null)} />}
      {revoke.isError && (
        <p className="error-box" role="alert">
          {errorMessage(revoke.error)}
        </p>
      )}
      <QueryState isPending={tokens.isPending} error={tokens.error} what="tokens" />
      {tokens.isSuccess && rows.length === 0 && <p className="empty">No API tokens yet.</p>}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="middle" aria-label="API tokens">
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Created</th>
                <th>Last used</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id} data-token-id={t.id} className={t.revoked_at ? "revoked" : undefined}>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td className="nowrap">{formatDate(t.created_at)}</td>
                  <td className="nowrap">{t.last_used_at ? formatDate(t.last_used_at) : <span className="muted">never</span>}</td>
                  <td className="nowrap">
                    {t.revoked_at ? (
                      <span className="badge badge-failed" title={formatDate(t.revoked_at)}>
                        revoked
                      </span>
                    ) : (
                      <span className="badge badge-succeeded">active</span>
                    )}
                  </td>
                  <td className="actions">
                    {!t.revoked_at && (
                      <ConfirmButton
                        label="Revoke"
                        question={`Revoke “${t.name}”?`}
                        busy={revoke.isPending && revoke.variables === t.id}
                        onConfirm={() => revoke.mutate(t.id)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ShownOnceToken({ token, onDismiss }: { readonly token: TokenCreated; readonly onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token.token);
      setCopied(true);
    } catch {
      // No clipboard (an insecure origin): select the text so that Ctrl+C copies it.
      const input = document.getElementById("new-token-value") as HTMLInputElement | null;
      input?.select();
    }
  };
  return (
    <div className="token-once" role="region" aria-label="New token">
      <p className="token-warning">
        <strong>Copy the token “{token.name}” now.</strong> It will not be shown again: the studio keeps only
        its hash.
      </p>
      <div className="token-copy">
        <input
          id="new-token-value"
          data-testid="new-token"
          className="mono"
          readOnly
          value={token.token}
          aria-label="Token value"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" onClick={() => void copy()}>
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" onClick={onDismiss}>
          I have copied it
        </button>
      </div>
    </div>
  );
}
