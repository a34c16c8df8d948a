import { useQueryClient } from "@tanstack/react-query";

import { useTeam } from "../../team";

export default function SwitchTeamSelect() {
  const { teamId, teams, setTeamId } = useTeam();
  const queryClient = useQueryClient();
  if (teams.length === 0) return null;
  return (
    <label className="team-switch">
      <span>Team</span>
      <select
        value={teamId ?? ""}
        onChange={(e) => {
          setTeamId(Number(e.target.value));
          void queryClient.invalidateQueries();
        }}
      >
        {teams.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  );
}
