import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { NavLink } from "react-router";

import { authLogout } from "../../client";
import type { UserPublic } from "../../client";
import SwitchTeamSelect from "./SwitchTeamSelect";

const SCREENS = [
  { to: "/datasets", label: "Datasets" },
  { to: "/jobs/new", label: "New job" },
  { to: "/jobs", label: "Jobs", end: true },
  { to: "/studies", label: "Studies" },
  { to: "/compare", label: "Compare" },
  { to: "/leaderboard", label: "Leaderboard" },
  { to: "/playground", label: "Playground" },
  { to: "/settings", label: "Settings" },
];

export default function AppShell({
  user,
  children,
}: {
  readonly user: UserPublic;
  readonly children: ReactNode;
}) {
  const queryClient = useQueryClient();
  const signOut = useMutation({
    mutationFn: () => authLogout(),
    onSettled: () => {
      queryClient.clear();
      void queryClient.invalidateQueries({ queryKey: ["me"] });
    },
  });
  return (
    <div className="shell">
      <nav className="nav" aria-label="Screens">
        <div className="brand">
          Adapter <span>Studio</span>
        </div>
        <ul>
          {SCREENS.map((s) => (
            <li key={s.to}>
              <NavLink to={s.to} end={s.end}>
                {s.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="nav-foot">
          <SwitchTeamSelect />
          <div className="who" title={user.email}>
            {user.full_name || user.email}
          </div>
          <button type="button" className="link" onClick={() => signOut.mutate()}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="content">{children}</main>
    </div>
  );
}
