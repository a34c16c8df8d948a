import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../api";
import { teamsCreateTeam } from "../../client";
import { formatDate } from "../../format";
import { teamsQuery } from "../../queries";
import { useTeam } from "../../team";
import QueryState from "../Layout/QueryState";
import CreateByNameForm from "./CreateByNameForm";
import TeamMembersPanel from "./TeamMembersPanel";

/** My teams with my role in each, a form to found one, and the members of the selected team. */
export default function TeamsPanel() {
  const queryClient = useQueryClient();
  const { teamId } = useTeam();
  const teams = useQuery(teamsQuery());
  const [name, setName] = useState("");
  const [picked, setPicked] = useState<number | undefined>(undefined);

  const create = useMutation({
    mutationFn: async (teamName: string) => (await teamsCreateTeam({ body: { name: teamName } })).data,
    onSuccess: (team) => {
      setName("");
      setPicked(team.id);
      // The team switcher reads the same query: it lists the new team at once.
      void queryClient.invalidateQueries({ queryKey: ["teams"], exact: true });
    },
  });

  const rows = teams.data?.data ?? [];
  const selectedId = rows.some((t) => t.id === picked) ? picked : (teamId ?? rows[0]?.id);
  const selected = rows.find((t) => t.id === selectedId);
  return (
    <section className="card" aria-labelledby="teams-title">
      <h2 id="teams-title">Teams</h2>
      <p className="muted small">Everyone in a team sees its datasets and jobs; owners add and remove members.</p>
      <CreateByNameForm
        formLabel="New team"
        label="Team name"
        inputName="team_name"
        submitLabel="Create team"
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
      <QueryState isPending={teams.isPending} error={teams.error} what="teams" />
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="middle" aria-label="Teams">
            <thead>
              <tr>
                <th>Team</th>
                <th>My role</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr
                  key={t.id}
                  data-team-id={t.id}
                  className={`clickable${t.id === selectedId ? " selected" : ""}`}
                  aria-selected={t.id === selectedId}
                  onClick={() => setPicked(t.id)}
                >
                  <td>
                    <button type="button" className="link" onClick={() => setPicked(t.id)}>
                      {t.name}
                    </button>
                  </td>
                  <td>
                    <span className={`badge role-${t.role}`}>{t.role}</span>
                  </td>
                  <td className="nowrap">{formatDate(t.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected && <TeamMembersPanel key={selected.id} team={selected} />}
    </section>
  );
}
