import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../api";
import { teamsInviteMember } from "../../client";
import type { InviteCreate, InviteCreated, TeamPublic } from "../../client";

type Role = NonNullable<InviteCreate["role"]>;

/** An owner invites someone who has no account yet: the API makes the account and answers a
 * one-time password, shown here once, that the person must replace at the first sign-in. */
export default function InviteMemberForm({ team, onInvited }: { readonly team: TeamPublic; readonly onInvited: () => void }) {
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [created, setCreated] = useState<InviteCreated | null>(null);
  const invite = useMutation({
    mutationFn: async (body: InviteCreate) => (await teamsInviteMember({ path: { team_id: team.id }, body })).data,
    onSuccess: (data) => {
      setCreated(data);
      setEmail("");
      setName("");
      onInvited();
    },
  });
  return (
    <>
      <form
        className="inline-form"
        aria-label="Invite someone new"
        onSubmit={(e) => {
          e.preventDefault();
          if (email.trim()) invite.mutate({ email: email.trim(), full_name: name.trim(), role });
        }}
      >
        <label>
          New person's email
          <input name="invite_email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Name
          <input name="invite_name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Role
          <select name="invite_role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="member">member</option>
            <option value="owner">owner</option>
          </select>
        </label>
        <button type="submit" disabled={!email.trim() || invite.isPending}>
          {invite.isPending ? "Inviting…" : "Invite (no account yet)"}
        </button>
      </form>
      {invite.isError && (
        <p className="error-box" role="alert">
          {errorMessage(invite.error)}
        </p>
      )}
      {created && (
        <div className="notice-box" role="status" data-testid="one-time-password">
          Account made for <strong>{created.member.email}</strong>. Give them this one-time password; it is shown only
          now, and they must choose their own at the first sign-in:{" "}
          <code className="secret">{created.one_time_password}</code>{" "}
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.one_time_password)}>
            Copy
          </button>{" "}
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
    </>
  );
}
