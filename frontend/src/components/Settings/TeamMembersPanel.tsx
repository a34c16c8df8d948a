import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../api";
import { teamsAddMember, teamsRemoveMember } from "../../client";
import type { MemberAdd, TeamPublic } from "../../client";
import InviteMemberForm from "./InviteMemberForm";
import { teamMembersQuery } from "../../queries";
import ConfirmButton from "../Layout/ConfirmButton";
import QueryState from "../Layout/QueryState";

type Role = NonNullable<MemberAdd["role"]>;

/** One team's members; owners add someone by email and remove members (the API decides). */
export default function TeamMembersPanel({ team }: { readonly team: TeamPublic }) {
  const queryClient = useQueryClient();
  const members = useQuery(teamMembersQuery(team.id));
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["teams"] });

  const add = useMutation({
    mutationFn: async (body: MemberAdd) => (await teamsAddMember({ path: { team_id: team.id }, body })).data,
    onSuccess: () => {
      setEmail("");
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: async (userId: number) =>
      (await teamsRemoveMember({ path: { team_id: team.id, user_id: userId } })).data,
    onSuccess: () => void refresh(),
  });

  const rows = members.data?.data ?? [];
  return (
    <div className="members">
      <h3>
        Members of {team.name}{" "}
        {team.role !== "owner" && <span className="muted small">(only an owner can change them)</span>}
      </h3>
      <QueryState isPending={members.isPending} error={members.error} what="members" />
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="middle" aria-label="Members">
            <thead>
              <tr>
                <th>Email</th>
                <th>Name</th>
                <th>Role</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={m.user_id} data-user-id={m.user_id}>
                  <td>{m.email}</td>
                  <td>{m.full_name || <span className="muted">—</span>}</td>
                  <td>
                    <span className={`badge role-${m.role}`}>{m.role}</span>
                  </td>
                  <td className="actions">
                    <ConfirmButton
                      label="Remove"
                      question={`Remove ${m.email} from ${team.name}?`}
                      busy={remove.isPending && remove.variables === m.user_id}
                      onConfirm={() => remove.mutate(m.user_id)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {remove.isError && (
        <p className="error-box" role="alert">
          {errorMessage(remove.error)}
        </p>
      )}
      <form
        className="inline-form"
        aria-label="Add member"
        onSubmit={(e) => {
          e.preventDefault();
          if (email.trim()) add.mutate({ email: email.trim(), role });
        }}
      >
        <label>
          Email
          <input name="member_email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Role
          <select name="member_role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="member">member</option>
            <option value="owner">owner</option>
          </select>
        </label>
        <button type="submit" disabled={!email.trim() || add.isPending}>
          {add.isPending ? "Adding…" : "Add member"}
        </button>
      </form>
      {add.isError && (
        <p className="error-box" role="alert">
          {errorMessage(add.error)}
        </p>
      )}
      {team.role === "owner" && <InviteMemberForm team={team} onInvited={() => void refresh()} />}
    </div>
  );
}
