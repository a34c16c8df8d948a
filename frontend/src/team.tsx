/** The team the screens work in: chosen in the header, kept in localStorage. */
import { useQuery } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState } from "react";
import type { ReactNode } from "react";

import type { TeamPublic } from "./client";
import { teamsQuery } from "./queries";

const STORAGE_KEY = "studio.teamId";

interface TeamContextValue {
  teamId: number | undefined;
  teams: readonly TeamPublic[];
  setTeamId: (id: number) => void;
}

const TeamContext = createContext<TeamContextValue>({
  teamId: undefined,
  teams: [],
  setTeamId: () => {},
});

function storedTeamId(): number | undefined {
  const raw = window.localStorage.getItem(STORAGE_KEY);
  const id = raw ? Number(raw) : NaN;
  return Number.isInteger(id) ? id : undefined;
}

export function TeamProvider({ children }: { children: ReactNode }) {
  const { data } = useQuery(teamsQuery());
  const [chosen, setChosen] = useState<number | undefined>(storedTeamId);
  const teams = useMemo(() => data?.data ?? [], [data]);
  // A stored id for a team the user left falls back to the first team.
  const teamId = teams.some((t) => t.id === chosen) ? chosen : teams[0]?.id;
  const setTeamId = useCallback((id: number) => {
    window.localStorage.setItem(STORAGE_KEY, String(id));
    setChosen(id);
  }, []);
  const value = useMemo(() => ({ teamId, teams, setTeamId }), [teamId, teams, setTeamId]);
  return <TeamContext.Provider value={value}>{children}</TeamContext.Provider>;
}

export function useTeam(): TeamContextValue {
  return useContext(TeamContext);
}
